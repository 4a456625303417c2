"""Code similarity across an export (``python -m grader.similarity``).

Two classes. The small one: a careful student's submission (tests/submissions/complete), a copy
of it with the variables renamed and the comments reworded, and a second student's
independently written numpy_ann.py (tests/submissions/independent); its boilerplate is
complete's files with the solutions taken out. The class that looks real
(tests/synthetic_class.py): eight independent students who completed the course's skeleton,
a ninth whose plot_train_val_metrics is copied from one of them, and a disguised copy of
another; its boilerplate is that skeleton with empty regions.
"""
from __future__ import annotations

import contextlib
import csv
import io
import re

import pytest
from copydetect.utils import hashed_kgrams
from helpers import ROOT
from synthetic_class import DISGUISED, MEMBERS, PARTIAL, class_export, member_files, submission_ids, write_skeleton
from synthetic_export import INDEPENDENT, Entry, build_export, corpus, independent_numpy, sources

from grader.rubric import ITEMS, SUBMISSION_FILES
from grader.runner import grade
from grader.similarity import (
    NOISE,
    Pair,
    boilerplate_hashes,
    default_boilerplate,
    default_max_common,
    fingerprint,
    flag,
    leave_out,
    main,
    own_code,
    reference_skeleton,
    strip_solutions,
)

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
    from release.build import write_handout

    used = default_boilerplate(tmp_path / "handout")
    assert "release build" in used.origin
    handout = write_handout(tmp_path / "built")
    assert sorted(p.name for p in used.folder.glob("*.py")) == sorted(SUBMISSION_FILES)
    for name in SUBMISSION_FILES:
        assert (used.folder / name).read_text() == (handout / name).read_text()
    (tmp_path / "fallback").mkdir()
    fallback = reference_skeleton(tmp_path / "fallback")
    for name in SUBMISSION_FILES:
        assert (fallback / name).read_text() == strip_solutions((ROOT / name).read_text())


def test_the_report_names_the_default_boilerplate(tmp_path):
    """Without --boilerplate, the release build's handout is the boilerplate, and stdout, summary.csv
    and summary.html say so."""
    from release.build import write_handout

    out = tmp_path / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([str(class_export(tmp_path, ("ada", "chen", "chen_copy"))), "--out", str(out)]) == 0
    origin = "the handout of python -m release build (release.build.write_handout)"
    assert f"boilerplate: {origin}: {out / 'boilerplate'}" in stdout.getvalue().splitlines()
    handout = write_handout(tmp_path / "built")
    for name in SUBMISSION_FILES:
        assert (out / "boilerplate" / name).read_text() == (handout / name).read_text()
    with (out / "summary.csv").open(newline="") as f:
        assert {(row["boilerplate"], row["boilerplate_folder"]) for row in csv.DictReader(f)} == \
            {(origin, str(out / "boilerplate"))}
    assert origin in (out / "summary.html").read_text()


def test_command_line_says_a_score_is_no_verdict(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "reason to look, not a verdict" in text
    assert "--max-common" in text and "--boilerplate" in text and "--min-own-tokens" in text


# --------------------------------------------------------------------------- a class that looks real
IDS = submission_ids()
MEMBER = {sid: member for member, sid in IDS.items()}
# The copied pairs, and the files copied: the disguised copy copied all three files, the partial one a method.
COPIES = {frozenset({DISGUISED.source, "chen_copy"}): set(SUBMISSION_FILES),
          frozenset({PARTIAL.source, PARTIAL.author}): {PARTIAL.file}}


def members(row) -> frozenset:
    return frozenset({MEMBER[row["submission_a"]], MEMBER[row["submission_b"]]})


def copied(row) -> bool:
    return row["file"] in COPIES.get(members(row), ())


@pytest.fixture(scope="module")
def class_report(tmp_path_factory):
    """The class through the command line, the skeleton it was built from as --boilerplate and every
    pair in the CSV: (similarity.csv's rows, summary.csv's rows by file, stdout, the output folder)."""
    base = tmp_path_factory.mktemp("class")
    export, skeleton = class_export(base), write_skeleton(base / "skeleton")
    out, stdout = base / "out", io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([str(export), "--out", str(out), "--boilerplate", str(skeleton), "--top", "1000"]) == 0
    with (out / "similarity.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    with (out / "summary.csv").open(newline="") as f:
        summary = {row["file"]: row for row in csv.DictReader(f)}
    return rows, summary, stdout.getvalue(), out


def test_the_copies_are_flagged_and_come_first_in_their_file(class_report):
    rows, summary, *_ = class_report
    for name in SUBMISSION_FILES:
        in_file = [r for r in rows if r["file"] == name]
        copies = [r for r in in_file if copied(r)]
        assert [r["flagged"] for r in copies] == ["yes"] * len(copies), copies
        assert in_file[:len(copies)] == copies, (name, in_file[:len(copies) + 1])
        assert int(summary[name]["pairs_flagged"]) == len(copies)
    # Both copies are ranked where their own code is enough to compare: not a vacuous pass.
    assert {members(r) for r in rows if copied(r)} == set(COPIES)
    assert {r["file"] for r in rows if copied(r)} == {"numpy_ann.py", "pytorch_ann.py"}


def test_no_pair_of_independent_work_is_flagged(class_report):
    rows, *_ = class_report
    independent = [r for r in rows if not copied(r)]
    assert len(independent) > 60  # numpy_ann.py alone ranks 44 of them
    assert [r for r in independent if r["flagged"] == "yes"] == []


def test_the_cnn_has_too_little_own_code_to_compare(class_report):
    """Its student-written part is one nn.Sequential and one word: however it is built, what is not
    boilerplate or common is too little to tell a copy (chen_copy's CNN is one) from the solution space."""
    rows, summary, stdout, _ = class_report
    cnn = summary["pytorch_cnn.py"]
    assert sorted(cnn["too_little_own_code"].split()) == sorted(IDS.values())
    assert cnn["pairs_ranked"] == "0" and [r for r in rows if r["file"] == "pytorch_cnn.py"] == []
    assert "pytorch_cnn.py: 10 submissions, 0 pairs ranked" in stdout
    assert "too little own code to compare (under 250 tokens): 10" in stdout
    for name, row in summary.items():  # a file with too little own code is in no ranked pair
        little = set(row["too_little_own_code"].split())
        assert not [r for r in rows if r["file"] == name and {r["submission_a"], r["submission_b"]} & little]


def test_the_summary_names_the_boilerplate_and_shows_the_distribution(class_report):
    rows, summary, stdout, out = class_report
    skeleton = out.parent / "skeleton"
    assert f"boilerplate: given with --boilerplate: {skeleton}" in stdout.splitlines()
    assert {(row["boilerplate"], row["boilerplate_folder"]) for row in summary.values()} == \
        {("given with --boilerplate", str(skeleton))}
    assert {row["max_common"] for row in summary.values()} == {str(default_max_common(len(MEMBERS)))}
    for name, row in summary.items():
        flagged = sum(r["flagged"] == "yes" for r in rows if r["file"] == name)
        assert f"{name}: 10 submissions, {row['pairs_ranked']} pairs ranked, {flagged} flagged" in stdout
    page = (out / "summary.html").read_text()
    assert str(skeleton) in page and '<img src="scores.png"' in page and "not a verdict" in page
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_csv_is_sorted_by_score_with_a_flag(class_report):
    rows, summary, *_ = class_report
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)
    assert {r["flagged"] for r in rows} == {"yes", "no"}
    for r in rows:  # flagged: above the file's line, which is at least the floor
        above = float(r["score"]) > float(summary[r["file"]]["flag_above"])
        assert (r["flagged"] == "yes") == above, r


@pytest.mark.slow  # grades all ten students of the synthetic class: 6 s
def test_the_class_is_correct(sandbox, tmp_path):
    """Its submissions are fair controls only if they are right: full marks on every unit item."""
    groups = ["numpy_unit", "ann_unit", "cnn_unit"]
    full = {item.id: float(item.points) for item in ITEMS if item.group in groups}
    for member in MEMBERS:
        sources(member_files(member))(tmp_path / member)
        report = grade(tmp_path / member, groups=groups, item_timeout=20, sandbox=sandbox)
        assert {r.item.id: r.score for r in report.results if r.item.id in full} == full, member


# --------------------------------------------------------------------------- the parts
def test_common_code_is_code_in_more_than_max_common_submissions(tmp_path):
    """A line all five submissions hold is common code with max_common 4, not with 5; a line two
    hold stays own code; the boilerplate never counts."""
    provided = "def provided(x):\n    return x.total_of_all(1, 2, 3, 4, 5)\n"
    shared = "alpha = beta.gamma(1, 2, 3).zeta(4, 5, 6, 7, 8, 9, 10, 11, 12)\n"  # names normalise to one token
    pair = "kappa = [lam + 13 for lam in mu(14, 15, 16, 17, 18) if lam > 19 * 20]\n"
    texts = {"boilerplate/numpy_ann.py": provided, "shared.py": shared, "pair.py": pair}
    texts.update({f"{i}/numpy_ann.py": provided + shared + (pair if i < 2 else "") for i in range(5)})
    for name, text in texts.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    sources = {"numpy_ann.py": {str(i): tmp_path / str(i) / "numpy_ann.py" for i in range(5)}}
    hashes = boilerplate_hashes(tmp_path / "boilerplate")
    shared_kgrams, pair_kgrams = (fingerprint(tmp_path / name).hashes for name in ("shared.py", "pair.py"))
    assert shared_kgrams and pair_kgrams
    for max_common, common in ((4, True), (5, False)):
        own, used, _ = own_code(sources, hashes, max_common)
        kept = {sid: fp.hashes for sid, fp in own["numpy_ann.py"].items()}
        assert used == max_common
        assert all(bool(held & shared_kgrams) != common for held in kept.values()), max_common
        assert pair_kgrams <= kept["0"] & kept["1"] and not pair_kgrams & kept["2"]
        assert not set().union(*kept.values()) & hashes


def test_the_default_max_common():
    assert [default_max_common(n) for n in (10, 39, 40, 100, 300)] == [3, 3, 4, 10, 30]


def test_own_code_keeps_a_line_written_twice(tmp_path):
    """copydetect 0.5's own boilerplate removal drops repeated k-grams' second occurrences."""
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "f.py").write_text("def provided(x):\n    return x.total_of_all(1, 2, 3, 4, 5)\n")
    line = "y = q.w.e.r.t.y(9, 8, 7, 6, 5, 4, 3, 2, 1)\n"
    (tmp_path / "f.py").write_text((tmp_path / "b" / "f.py").read_text() + line + line)
    hashes = boilerplate_hashes(tmp_path / "b")
    fp = leave_out(fingerprint(tmp_path / "f.py"), hashes)
    assert sum(map(len, fp.hash_idx.values())) == sum(h not in hashes for h in hashed_kgrams(fp.filtered_code, NOISE))
    assert max(map(len, fp.hash_idx.values())) == 2


def scores_pairs(scores) -> list[Pair]:
    return [Pair("numpy_ann.py", str(i), str(i + 1000), s, s / 2, 0) for i, s in enumerate(scores)]


def test_a_flag_is_an_outlier_above_the_floor():
    background = [0.05, 0.1, 0.15, 0.2, 0.1, 0.12, 0.08, 0.18, 0.14, 0.11, 0.09, 0.13]
    pairs, median, above = flag(scores_pairs(background + [0.9]), floor=0.4, z_cut=3.5)
    assert [p.score for p in pairs if p.flagged] == [0.9]
    assert median == pytest.approx(0.12) and 0.4 <= above < 0.9
    # An outlier under the floor is not flagged; nor is anything among fewer than ten pairs.
    pairs, _, above = flag(scores_pairs([0.01] * 6 + [0.02] * 6 + [0.3]), floor=0.4, z_cut=3.5)
    assert not any(p.flagged for p in pairs) and above == 0.4 and max(p.z for p in pairs) > 3.5
    pairs, median, above = flag(scores_pairs([0.1] * 8 + [1.0]))
    assert not any(p.flagged for p in pairs) and median is None and above is None


def test_a_flag_when_most_pairs_share_nothing():
    """More than half the scores 0 (MAD 0): the mean absolute deviation sets the scale instead."""
    pairs, median, above = flag(scores_pairs([0.0] * 20 + [0.1, 0.2, 0.15, 0.05] + [0.95]))
    assert median == 0 and [p.score for p in pairs if p.flagged] == [0.95]
    pairs, _, above = flag(scores_pairs([0.3] * 12))
    assert not any(p.flagged for p in pairs) and above is None


def test_a_boilerplate_folder_without_python_files_is_refused(tmp_path, capsys):
    """Otherwise nothing would be left out, silently, and every pair would look alike."""
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(SystemExit) as exit_:
            main([str(tmp_path), "--out", str(tmp_path / "out"), "--boilerplate", str(folder)])
        assert exit_.value.code == 2 and "no folder holding .py files" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
