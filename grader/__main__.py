"""``python -m grader SUBMISSION [--results results.json] [--fast] [--user nobody] ...``."""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from . import submission
from .limits import memory_warning
from .report import clean, table, write_results
from .runner import add_grading_options, grade
from .sandbox import GraderError, exposure, grading_users

GRADED, CANNOT_GRADE, INCOMPLETE = 0, 2, 3  # the exit statuses
EPILOG = f"""examples:
  python -m grader submissions/alice --fast           the unit items only: seconds
  python -m grader submission.zip --results out.json  a full grade, the three scripts run on the real data

exit status:
  {GRADED}  graded, whatever the score (results written)
  {CANNOT_GRADE}  nothing graded: a bad path or option, or the grader itself failed (no results written)
  {INCOMPLETE}  graded, but a time limit stopped code that was still making progress: the grading machine ran out
     of time, not the student's code. Results are written with those items at 0 and flagged; regrade with
     the longer limits the table gives."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Grade a Fashion-MNIST homework submission (numpy_ann.py, pytorch_ann.py, pytorch_cnn.py; "
                    "any may be missing) against the 42-point rubric. The student's code runs in sandboxed, "
                    "time-limited processes that only report raw values; the grader scores them.")
    parser.add_argument("submission", help="a directory holding the student's files (searched recursively), "
                                           "or a .zip of them")
    parser.add_argument("--results", default="results.json",
                        help="where to write Gradescope's results.json (default: %(default)s)")
    parser.add_argument("--fast", action="store_true",
                        help="skip the real-data runs (their accuracy items score 0 and say so; the "
                             "judgements only check that the answer is one of the three words)")
    add_grading_options(parser, budget_help="time limit in seconds for the whole grade; what cannot run in time "
                                            "is reported as incomplete (default: %(default)s, about 3x a full grade "
                                            "on an idle 2-core CPU)")
    parser.add_argument("--jobs", type=int, default=1, help="groups graded at once (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr while grading")
    args = parser.parse_args(argv)
    if min(args.timeout, args.item_timeout, args.budget) <= 0 or args.jobs < 1:
        parser.error("--timeout, --item-timeout and --budget must be positive and --jobs at least 1")
    problem = submission.problem(args.submission)
    if problem:
        parser.error(problem)  # exit 2, before anything is graded or written
    if os.geteuid() == 0 and args.user is None:
        print("warning: running the student's code as root; grade untrusted work with --user nobody",
              file=sys.stderr)
    for warning in (memory_warning(args.memory, args.jobs), exposed_submission(args.user, args.submission)):
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    try:
        report = grade(args.submission, fast=args.fast, timeout=args.timeout, item_timeout=args.item_timeout,
                       budget=args.budget, jobs=args.jobs, data_dir=args.data_dir, user=args.user,
                       memory=args.memory, disk=args.disk, strict_thresholds=args.strict_thresholds,
                       accept_near_names=args.accept_near_names,
                       progress=None if args.quiet else Progress(sys.stderr))
    except GraderError as exc:
        # Once, on stderr with the warnings (a terminal shows both streams: printing it on each
        # showed it twice). Gradescope's autograder output, which staff read, has both streams.
        print(clean(f"GRADER ERROR (not the student's fault; nothing was graded): {exc}"), file=sys.stderr)
        return CANNOT_GRADE
    print(table(report))
    path = write_results(report, args.results, args.hidden_visibility)
    print(f"wrote {path}")
    return INCOMPLETE if report.incomplete else GRADED


def exposed_submission(user, path) -> str | None:
    """A warning when the grading user can read the submission where it lies: its code could then
    read whatever lies there beside it (the grader itself reads it as root, and copies it)."""
    try:
        exposed = exposure(grading_users(user), [path])
    except GraderError:
        return None  # grade() refuses, and says why
    return exposed and f"{exposed}; the student's code can read what is there"


class Progress:
    """Where a grade is, on stderr: each group as it starts and ends, a script's epochs as it trains.
    On a terminal the epoch line is rewritten in place; in a log (Gradescope's), one line every tenth
    of the run's epochs, so that minutes of training show without flooding the log."""

    def __init__(self, stream):
        self.stream, self.tty = stream, stream.isatty()
        self.start, self.lock, self.open_line = time.monotonic(), threading.Lock(), False

    def __call__(self, text: str):
        with self.lock:
            epoch = _epoch(text)
            line = f"[{time.monotonic() - self.start:4.0f} s] {text}"
            if epoch and self.tty:
                self.stream.write(f"\r{line}\033[K")
                self.open_line = True
            elif not epoch or epoch[0] == epoch[1] or epoch[0] % max(1, epoch[1] // 10) == 0:
                self.stream.write(("\n" if self.open_line else "") + line + "\n")
                self.open_line = False
            self.stream.flush()


def _epoch(text: str):
    """(epoch, epochs) of a progress line ``... epoch 12 / 60``, else None."""
    head, _, tail = text.rpartition(" epoch ")
    numbers = tail.split(" / ")
    return (int(numbers[0]), int(numbers[1])) if head and len(numbers) == 2 and all(map(str.isdigit, numbers)) \
        else None


if __name__ == "__main__":
    sys.exit(main())
