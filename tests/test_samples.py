"""The sample class (samples/assignment_123_export/, written by ``python -m samples.write``).

A TA tries the tools on it with the commands of samples/README.md, from the repository root and
with nothing set up: so the commands run here the same way, as subprocesses from the root, with
no PYTHONPATH. What each submission should get follows from what it is (samples/README.md):

    100001 ada    correct                     100005 emil       Adam instead of SGD (2.3)
    100002 goran  predict returns labels      100006 bruno      correct
    100003 chen   correct                     100007 farah      BatchNorm before pooling (3.1)
    100004 dara   no pytorch_cnn.py           100008 chen_copy  chen's work, disguised
"""
from __future__ import annotations

import csv
import filecmp
import json
import os
import subprocess
import sys

import pytest
from grader_bugs import BUGS
from helpers import ROOT, typed

from grader.batch import SKIPPED_BY_FAST, item_column
from grader.export import open_export
from grader.rubric import ITEMS

EXPORT = ROOT / "samples" / "assignment_123_export"
IDS = [f"1000{n:02d}" for n in range(1, 9)]
COPY = ("100003", "100008")  # chen and chen_copy
BUG = {b.name: b for b in BUGS}
# --fast: the items each submission does not score in full, and their scores. A seeded bug fails one
# check of its item (2.3 has five checks, 1.8 two, 3.1's module order is 2 of its 6 points); goran's
# accuracy goes through his predict, so his predict bug costs 1.9 too; dara's missing file costs
# every item of Part 3 that --fast grades. The correct ones and the copy score in full.
SHORT = {"100001": {}, "100002": {"1.8": 0.5, "1.9": 0.0}, "100003": {}, "100004": {"3.1": 0.0, "3.3": 0.0},
         "100005": {"2.3": 4.0}, "100006": {}, "100007": {"3.1": 4.0}, "100008": {}}
HINTS = {"100002": ("1.8", BUG["predict returns labels"]), "100005": ("2.3", BUG["Adam instead of SGD"]),
         "100007": ("3.1", BUG["BatchNorm before pooling"])}


def run(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    """``python ARGS`` as a TA runs it: from the repository root, PYTHONPATH unset."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def ok(command: list[str], tmp_path) -> subprocess.CompletedProcess:
    """A documented command (tests/test_docs.py counts it as run here), as a TA types it."""
    done = typed(command, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def read_csv(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def tree(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_the_committed_sample_is_what_the_command_writes(tmp_path):
    run("-m", "samples.write", "--into", tmp_path)
    written = tmp_path / "assignment_123_export"
    assert tree(written) == tree(EXPORT)
    files = [name for name in tree(EXPORT) if (EXPORT / name).is_file()]
    assert len(files) == 1 + 3 * 8 - 1  # the metadata, and three files a submission but dara's two
    _, differ, errors = filecmp.cmpfiles(EXPORT, written, files, shallow=False)
    assert (differ, errors) == ([], [])


def test_synthetic_export_runs_without_pythonpath(tmp_path):
    """The issue's complaint: run as a script, or imported from tests/, it could not find grader/."""
    assert "samples.write" in run(ROOT / "tests" / "synthetic_export.py", cwd=tmp_path).stdout
    run("-c", "import synthetic_class", cwd=ROOT / "tests")


def test_the_zipped_sample_holds_the_same_submissions(tmp_path):
    """samples/README.md zips it with ``python -m zipfile -c``: the batch must read that zip alike."""
    archive = tmp_path / "assignment_123_export.zip"
    run("-m", "zipfile", "-c", archive, "samples/assignment_123_export")
    with open_export(EXPORT) as folder, open_export(archive) as zipped:
        assert [s.id for s in zipped.submissions] == [s.id for s in folder.submissions] == IDS
        assert zipped.submissions == folder.submissions  # the metadata's people and scores too
        for sub in zipped.submissions:
            with zipped.checkout(sub) as (got, notes), folder.checkout(sub) as (want, _):
                assert notes == [] and tree(got) == tree(want)
                assert not filecmp.cmpfiles(want, got, tree(want), shallow=False)[1]


@pytest.mark.slow  # README's similarity command: seconds
def test_the_similarity_report_flags_exactly_the_copy(tmp_path):
    ok(["bash", "-c", "python -m grader.similarity samples/assignment_123_export --out /tmp/similarity"], tmp_path)
    out = tmp_path / "similarity"
    rows = read_csv(out / "similarity.csv")
    flagged = {(r["file"], r["submission_a"], r["submission_b"], r["why"]) for r in rows if r["flagged"] == "yes"}
    assert flagged == {("numpy_ann.py", *COPY, "near-identical"), ("pytorch_ann.py", *COPY, "near-identical")}
    # Not vacuous: the independent pairs were ranked too (all 28 of numpy_ann.py's), and not flagged.
    summary = {r["file"]: r for r in read_csv(out / "summary.csv")}
    assert summary["numpy_ann.py"]["pairs_ranked"] == "28"
    # The CNN's own code is one nn.Sequential and a word: too little to tell a copy, chen's among them.
    assert set(COPY) <= set(summary["pytorch_cnn.py"]["too_little_own_code"].split())


@pytest.mark.slow  # the sandbox's start and eight --fast grades: about 30 s on 2 cores
def test_the_fast_batch_gives_each_submission_its_grade(tmp_path):
    ok(["bash", "-c", "python -m grader.batch samples/assignment_123_export --out /tmp/grades --fast"], tmp_path)
    out = tmp_path / "grades"
    rows = {r["submission_id"]: r for r in read_csv(out / "grades.csv")}
    assert list(rows) == IDS
    fast_items = [item for item in ITEMS if item not in SKIPPED_BY_FAST]
    for sub_id, row in rows.items():
        short = {item.id: float(row[item_column(item)]) for item in fast_items
                 if float(row[item_column(item)]) < item.points}
        assert (row["status"], short) == ("graded", SHORT[sub_id]), sub_id
        lost = sum(item.points - short[item.id] for item in fast_items if item.id in short)
        assert (float(row["total"]), row["max"]) == (36 - lost, "36"), sub_id
    assert "pytorch_cnn.py not found" in rows["100004"]["message"]
    for sub_id, (item_id, bug) in HINTS.items():  # each seeded bug's hint reaches its student
        results = json.loads((out / "results" / f"{sub_id}.json").read_text(encoding="utf-8"))
        output = next(t["output"] for t in results["tests"] if t["number"] == item_id)
        assert f"Hint: {bug.hint}" in output, (sub_id, output)
