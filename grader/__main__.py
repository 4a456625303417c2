"""``python -m grader SUBMISSION [--results results.json] [--fast] [--user nobody] ...``.

Exit status: 0 when the submission was graded (whatever its score), 2 when the grader itself
could not grade (no results are written then: see ``GraderError``).
"""
from __future__ import annotations

import argparse
import os
import sys

from .limits import memory_warning
from .report import clean, table, write_results
from .runner import add_grading_options, grade
from .sandbox import GraderError, exposure, grading_users


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader",
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
    add_grading_options(parser, budget_help="time limit in seconds for the whole grade; what cannot run in "
                                            "time is reported as not graded (default: %(default)s, under "
                                            "Gradescope's default 10-minute limit)")
    parser.add_argument("--jobs", type=int, default=1, help="groups graded at once (default: %(default)s)")
    args = parser.parse_args(argv)
    if min(args.timeout, args.item_timeout, args.budget) <= 0 or args.jobs < 1:
        parser.error("--timeout, --item-timeout and --budget must be positive and --jobs at least 1")
    if os.geteuid() == 0 and args.user is None:
        print("warning: running the student's code as root; grade untrusted work with --user nobody",
              file=sys.stderr)
    for warning in (memory_warning(args.memory, args.jobs), exposed_submission(args.user, args.submission)):
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    try:
        report = grade(args.submission, fast=args.fast, timeout=args.timeout, item_timeout=args.item_timeout,
                       budget=args.budget, jobs=args.jobs, data_dir=args.data_dir, user=args.user,
                       memory=args.memory, disk=args.disk, strict_thresholds=args.strict_thresholds)
    except GraderError as exc:
        # Once, on stderr with the warnings (a terminal shows both streams: printing it on each
        # showed it twice). Gradescope's autograder output, which staff read, has both streams.
        print(clean(f"GRADER ERROR (not the student's fault; nothing was graded): {exc}"), file=sys.stderr)
        return 2
    print(table(report))
    path = write_results(report, args.results, args.hidden_visibility)
    print(f"wrote {path}")
    return 0


def exposed_submission(user, submission) -> str | None:
    """A warning when the grading user can read the submission where it lies: its code could then
    read whatever lies there beside it (the grader itself reads it as root, and copies it)."""
    try:
        exposed = exposure(grading_users(user), [submission])
    except GraderError:
        return None  # grade() refuses, and says why
    return exposed and f"{exposed}; the student's code can read what is there"


if __name__ == "__main__":
    sys.exit(main())
