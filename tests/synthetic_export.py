"""A synthetic Gradescope export for the batch-grading tests and benchmarks.

The layout is Gradescope's "Export Submissions": ``assignment_<id>_export/`` holding
``submission_metadata.yml`` (Ruby-style symbol keys, as Gradescope writes it) and one folder
``submission_<id>/`` per submission. The people are invented (name lists below), the
e-mail addresses are on example.edu (RFC 2606), and the recorded Gradescope scores are
whatever the caller says.

    from synthetic_export import Entry, build_export, corpus, seeded_bug
    export = build_export(tmp_path, [Entry(corpus("complete")), Entry(seeded_bug(BUGS[0]))])

The sample class for a TA to try the tools on is written from these helpers by
``python -m samples.write`` (samples/README.md).
"""
from __future__ import annotations

import datetime
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
# Run as a script, or imported from inside tests/, Python puts tests/ on the path but not the
# repository root that holds grader/ (pytest and ``python -m`` from the root put both): add it.
if str(HERE.parent) not in sys.path:
    sys.path.append(str(HERE.parent))

from grader.rubric import ITEMS  # noqa: E402 - needs the path above

SUBMISSIONS = HERE / "submissions"
INDEPENDENT = SUBMISSIONS / "independent"  # a second, independently written correct numpy_ann.py
FIRST_NAMES = ("Avery", "Briar", "Corin", "Dalen", "Elowen", "Fennick", "Garrow", "Halden", "Isolde", "Jorvin",
               "Kestrel", "Liora", "Marlow", "Nerys", "Orrin", "Perrin", "Quillon", "Rowan", "Sorrel", "Tamsin")
LAST_NAMES = ("Ashgrove", "Brambleby", "Coldwater", "Dunmere", "Elderwick", "Fairhollow", "Greymantle",
              "Hollowell", "Ironvale", "Juniperly", "Kettlewood", "Larkspire", "Mossbury", "Nettlefield")
CREATED = datetime.datetime(2026, 10, 1, 23, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-7)))


@dataclass
class Entry:
    """One submission: what writes the student's files into its folder, and what Gradescope recorded."""
    write: Callable[[Path], object]
    recorded: dict[str, float] | None = None  # item id -> score in Gradescope's results (None: no results)
    submitters: int = 1                       # 2 for a group submission


def _materialize():
    """tests/submissions/materialize.py, which lives outside any package."""
    if str(SUBMISSIONS) not in sys.path:
        sys.path.insert(0, str(SUBMISSIONS))
    import materialize

    return materialize


def corpus_names() -> list[str]:
    """The submissions tests/submissions/expected.toml declares."""
    return list(_materialize().load_expectations())


def corpus(name: str) -> Callable[[Path], object]:
    """A submission of tests/submissions/expected.toml."""
    materialize = _materialize().materialize
    return lambda folder: materialize(name, folder)


def seeded_bug(bug) -> Callable[[Path], object]:
    """A seeded-bug submission of tests/grader_bugs.py (one file)."""
    from grader_bugs import write_submission

    return lambda folder: write_submission(bug, folder)


def sources(files: dict[str, str]) -> Callable[[Path], object]:
    """A submission of the given files: file name -> source text."""
    def write(folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    return write


def person(index: int) -> dict:
    # Both names cycle, at different lengths: neighbours do not share a family name, and no two of
    # the first 140 people share a whole name.
    first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index % len(LAST_NAMES)]
    return {":name": f"{first} {last}", ":sid": f"9{index:07d}", ":email": f"student{index:04d}@example.edu"}


def recorded_results(scores: dict[str, float]) -> dict:
    """A results.json as Gradescope keeps it: our item ids as test numbers, the given scores (others full)."""
    tests = [{"number": item.id, "name": f"{item.id} {item.name}", "max_score": item.points,
              "score": float(scores.get(item.id, item.points)),
              "output": "PASS  recorded by Gradescope" if scores.get(item.id, item.points) == item.points
              else "FAIL  recorded by Gradescope: below the threshold"}
             for item in ITEMS]
    return {"score": sum(t["score"] for t in tests), "tests": tests}


def build_export(dest: Path, entries: list[Entry], *, assignment_id: int = 4242, first_id: int = 100001,
                 zipped: bool = False) -> Path:
    """Write the export under ``dest``; return its folder, or its .zip when ``zipped``."""
    root = Path(dest) / f"assignment_{assignment_id}_export"
    metadata = {}
    for index, entry in enumerate(entries):
        key = f"submission_{first_id + index}"
        entry.write(root / key)
        (root / key).mkdir(parents=True, exist_ok=True)
        results = recorded_results(entry.recorded) if entry.recorded is not None else None
        metadata[key] = {":submitters": [person(2 * index + k) for k in range(entry.submitters)],
                         ":created_at": CREATED + datetime.timedelta(minutes=index),
                         ":score": results["score"] if results else None,
                         ":status": "processed" if results else "failed",
                         ":results": results}
    (root / "submission_metadata.yml").write_text(yaml.safe_dump(metadata, sort_keys=False), encoding="utf-8")
    if not zipped:
        return root
    archive = shutil.make_archive(str(root), "zip", root_dir=root.parent, base_dir=root.name)
    shutil.rmtree(root)
    return Path(archive)


def independent_numpy() -> Callable[[Path], object]:
    """The independently written numpy_ann.py (tests/submissions/independent/), alone."""
    return sources({"numpy_ann.py": (INDEPENDENT / "numpy_ann.py").read_text(encoding="utf-8")})


if __name__ == "__main__":  # a library for the tests; run, it says where the ready-made export is
    print("tests/synthetic_export.py builds exports for the tests. A sample class to try the tools on: "
          "samples/assignment_123_export/, rewritten by python -m samples.write (samples/README.md).")
