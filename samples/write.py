"""(Re)write the sample class: ``python -m samples.write``, from the repository root.

``samples/assignment_123_export/`` is a Gradescope "Export Submissions", unpacked: eight
submissions to try ``python -m grader.batch`` and ``python -m grader.similarity`` on
(samples/README.md says what each one is and what the tools report). All of it comes from the
test corpus, so the sample follows the tests: students of the synthetic class
(tests/synthetic_class.py), three of them with a seeded bug of tests/grader_bugs.py applied to
their own code and one without its CNN file, and a disguised copy; the people are invented, on
example.edu (tests/synthetic_export.py). tests/test_samples.py checks that the committed folder
is what this writes.

    python -m samples.write               # rewrite samples/assignment_123_export/
    python -m samples.write --into /tmp   # write /tmp/assignment_123_export/ instead
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_ID = 123  # the id README.md's examples use: assignment_123_export
NO_CNN = "handed in without pytorch_cnn.py"
# The class in submission order (ids 100001, 100002, ...): a student of the synthetic class, and
# what is changed (None: their work as it is; a name of tests/grader_bugs.py's BUGS: that bug).
# The copy is not next to its source, and the buggy work is mixed in, as in a real export.
CLASS = (
    ("ada", None),
    ("goran", "predict returns labels"),     # numpy_ann.py, item 1.8
    ("chen", None),
    ("dara", NO_CNN),
    ("emil", "Adam instead of SGD"),         # pytorch_ann.py, item 2.3
    ("bruno", None),
    ("farah", "BatchNorm before pooling"),   # pytorch_cnn.py, item 3.1
    ("chen_copy", None),                     # chen's work, disguised
)


def files(member: str, change: str | None) -> dict[str, str]:
    """The files of one submission: file name -> source text."""
    from grader_bugs import BUGS, mutate
    from synthetic_class import member_files

    found = member_files(member)
    if change == NO_CNN:
        del found["pytorch_cnn.py"]
    elif change is not None:
        bug = next(b for b in BUGS if b.name == change)
        found[bug.file] = mutate(bug, found[bug.file])  # raises if the bug's edit no longer matches
    return found


def write(into: Path) -> Path:
    """Write ``into/assignment_123_export/``, replacing what is there; return it."""
    from synthetic_export import Entry, build_export, sources

    export = into / f"assignment_{ASSIGNMENT_ID}_export"
    if export.exists():
        shutil.rmtree(export)  # a submission dropped from CLASS must not linger
    return build_export(into, [Entry(sources(files(member, change))) for member, change in CLASS],
                        assignment_id=ASSIGNMENT_ID)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.write", description=__doc__.split("\n\n")[0])
    parser.add_argument("--into", type=Path, default=ROOT / "samples",
                        help="the folder to write assignment_123_export/ into (default: samples/)")
    args = parser.parse_args(argv)
    # The corpus's helpers live with the tests, which are not a package: they import one another
    # by their plain names, so their folder goes on the path (benchmarks/batch.py does the same).
    sys.path.insert(0, str(ROOT / "tests"))
    print(f"wrote {write(args.into)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
