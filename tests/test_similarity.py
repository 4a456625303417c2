"""Code similarity across an export (``python -m grader.similarity``).

Three submissions: a careful student's (tests/submissions/complete), a copy of it with the
variables renamed and the comments reworded, and a second student's independently written
numpy_ann.py (tests/submissions/independent). The boilerplate is the skeleton those
submissions share: complete's files with its solutions taken out.
"""
from __future__ import annotations

import csv
import re

import pytest
from helpers import ROOT
from synthetic_export import INDEPENDENT, Entry, build_export, corpus, independent_numpy, sources

from grader.rubric import ITEMS, SUBMISSION_FILES
from grader.runner import grade
from grader.similarity import handout_boilerplate, main, reference_skeleton, strip_solutions

COMPLETE = ROOT / "tests" / "submissions" / "complete"
RENAMES = {"z1": "hidden_in", "a1": "hidden_out", "dW2": "grad_out", "X_batch": "xb", "y_batch": "yb",
           "train_loss": "loss_tr", "val_acc": "acc_va", "optimizer": "opt", "criterion": "loss_fn"}


def disguised(text: str) -> str:
    """A plagiarist's copy: the same code with variables renamed and comments reworded."""
    for old, new in RENAMES.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return re.sub(r"#(?! >>>| <<<)[^\n]*", "# my own work", text)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``python -m grader.similarity EXPORT --out DIR --boilerplate SKELETON``: the CSV's rows, and DIR."""
    base = tmp_path_factory.mktemp("similarity")
    skeleton = base / "skeleton"
    skeleton.mkdir()
    for name in SUBMISSION_FILES:
        (skeleton / name).write_text(strip_solutions((COMPLETE / name).read_text()))
    copy = {name: disguised((COMPLETE / name).read_text()) for name in SUBMISSION_FILES}
    export = build_export(base, [Entry(corpus("complete")), Entry(sources(copy)), Entry(independent_numpy())],
                          zipped=True)
    out = base / "out"
    assert main([str(export), "--out", str(out), "--boilerplate", str(skeleton)]) == 0
    with (out / "similarity.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return rows, out


def test_the_disguised_copy_tops_every_file(report):
    rows, _ = report
    for name in SUBMISSION_FILES:
        top = next(r for r in rows if r["file"] == name)
        assert (top["submission_a"], top["submission_b"]) == ("100001", "100002") and float(top["score"]) > 0.9, top
    assert {(r["submission_a"], r["submission_b"]) for r in rows[:3]} == {("100001", "100002")}
    assert {r["file"] for r in rows[:3]} == set(SUBMISSION_FILES)


def test_independent_correct_work_scores_low(report):
    rows, _ = report
    independent = [r for r in rows if "100003" in (r["submission_a"], r["submission_b"])]
    assert {r["file"] for r in independent} == {"numpy_ann.py"} and len(independent) == 2
    assert all(float(r["score"]) < 0.3 for r in independent), independent


def test_the_csv_and_the_html_report(report):
    rows, out = report
    assert len(rows) == 5  # three files of the copied pair, and the independent numpy_ann.py with each
    assert [int(r["rank"]) for r in rows] == list(range(1, 6))
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)
    assert all(float(r["score"]) == max(float(r["share_a"]), float(r["share_b"])) for r in rows)
    assert rows[0]["names_a"] and rows[0]["names_a"] != rows[0]["names_b"]  # the invented people
    html = (out / "similarity.html").read_text()
    assert "100002" in html and "highlight-red" in html  # the copy's code is shown
    assert sorted(p.name for p in (out / "sources" / "100003").iterdir()) == ["numpy_ann.py"]


def test_the_independent_submission_is_correct(sandbox):
    """It is a fair control only if it is right: full marks on every numpy unit item."""
    report = grade(INDEPENDENT, groups=["numpy_unit"], item_timeout=20, sandbox=sandbox)
    numpy_items = [item.id for item in ITEMS if item.group == "numpy_unit"]
    assert {r.item.id: r.score for r in report.results if r.item.id in numpy_items} == \
        {item.id: float(item.points) for item in ITEMS if item.id in numpy_items}


def test_solutions_are_stripped_from_the_boilerplate():
    text = ("def f(x):\n    # >>> YOUR CODE HERE >>>\n    y = x + 1\n    return y\n    # <<< END OF YOUR CODE <<<\n"
            "\n\ndef g():\n    # >>> YOUR CODE HERE >>>\n    # <<< END OF YOUR CODE <<<\n    return 2\n")
    assert strip_solutions(text) == ("def f(x):\n    # >>> YOUR CODE HERE >>>\n    # <<< END OF YOUR CODE <<<\n"
                                     "\n\ndef g():\n    # >>> YOUR CODE HERE >>>\n    # <<< END OF YOUR CODE <<<\n"
                                     "    return 2\n")
    assert strip_solutions("no markers\n") == "no markers\n"


def test_the_default_boilerplate_is_the_handout(tmp_path):
    folder = handout_boilerplate(tmp_path / "handout")
    assert sorted(p.name for p in folder.glob("*.py")) == sorted(SUBMISSION_FILES)
    (tmp_path / "fallback").mkdir()
    fallback = reference_skeleton(tmp_path / "fallback")
    for name in SUBMISSION_FILES:
        assert (fallback / name).read_text() == strip_solutions((ROOT / name).read_text())


def test_command_line_says_a_score_is_no_verdict(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "reason to look, not a verdict" in " ".join(capsys.readouterr().out.split())
