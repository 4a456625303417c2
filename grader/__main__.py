"""``python -m grader SUBMISSION_DIR [--results results.json] [--timeout SECONDS] [--fast]``."""
from __future__ import annotations

import argparse
import sys

from .report import table, write_results
from .runner import grade


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Grade a Fashion-MNIST homework submission (numpy_ann.py, pytorch_ann.py, "
                    "pytorch_cnn.py; any may be missing) against the 42-point rubric. The student's "
                    "code runs in separate, time-limited processes on scratch copies.")
    parser.add_argument("submission", help="directory holding the student's files (searched recursively)")
    parser.add_argument("--results", default="results.json",
                        help="where to write Gradescope's results.json (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="time limit in seconds for each real-data script run; the unit-check "
                             "groups get at most this too (default: %(default)s)")
    parser.add_argument("--item-timeout", type=float, default=30.0,
                        help="time limit in seconds for each unit item (default: %(default)s)")
    parser.add_argument("--fast", action="store_true",
                        help="skip the real-data runs (1.10, 2.6, 3.2 score 0 and say so; 2.7 and 3.3 "
                             "only check the answer is one of the three words)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="item groups graded at once (default: %(default)s)")
    parser.add_argument("--data-dir", default=None,
                        help="Fashion-MNIST directory (default: $FASHION_MNIST_DIR or the repository's data/)")
    parser.add_argument("--user", default=None,
                        help="run the student's code as this unprivileged user (needs root; "
                             "Gradescope's run_autograder uses 'nobody' when it can)")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.item_timeout <= 0 or args.jobs < 1:
        parser.error("--timeout and --item-timeout must be positive and --jobs at least 1")

    report = grade(args.submission, fast=args.fast, timeout=args.timeout, item_timeout=args.item_timeout,
                   jobs=args.jobs, data_dir=args.data_dir, user=args.user)
    print(table(report))
    path = write_results(report, args.results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
