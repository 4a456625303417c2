"""Batch grading of a Gradescope export (``python -m grader.batch``).

The export is synthetic (tests/synthetic_export.py): submissions of tests/submissions/ and a
seeded bug, with invented people in a made-up submission_metadata.yml. The graded batch runs
``--fast`` through the session's shared sandbox, so the module's quick tests cost a few seconds.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from grader_bugs import BUGS
from helpers import ROOT, assert_valid_results
from synthetic_export import Entry, build_export, corpus, seeded_bug, sources
from test_submissions import EXPECTED, expected_scores

import grader.batch
from grader.batch import (
    GRADED,
    GRADER_ERROR,
    NO_RUNS,
    NOT_GRADED,
    REGRADE,
    REUSED,
    RUN_ITEMS,
    SKIPPED_BY_FAST,
    TIMED_OUT,
    WALL_CLOCK,
    WORD_ONLY,
    Options,
    Record,
    build_parser,
    item_column,
    main,
    run_batch,
    scores_figure,
)
from grader.export import ZipExport, open_export, parse_metadata
from grader.rubric import GROUPS, ITEMS
from grader.runner import GradeReport, ItemResult
from grader.sandbox import GraderError

HANG = "while True:  # never imports\n    pass\n"
NO_SANDBOX = SimpleNamespace(users=[])  # for a stand-in grade(), which needs no sandbox (nor grading users)
POINTS = {item.id: item.points for item in ITEMS}
ITEM = {item.id: item for item in ITEMS}
ALL_FILES = {f"{group.module}.py" for group in GROUPS.values()}


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    """The rows by submission id, after checking that no cell holds a line break (the file has
    one line per row)."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert not [c for row in rows for c in row if "\n" in c or "\r" in c]
    assert len(text.splitlines()) == len(rows)
    return {row["submission_id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}


def item_scores(row) -> dict[str, float]:
    """item id -> score, over the item columns the CSV has."""
    return {item.id: float(row[item_column(item)]) for item in ITEMS if item_column(item) in row}


def fast(scores: dict[str, float]) -> dict[str, float]:
    """The scores a --fast CSV shows: without the items --fast skips."""
    return {i: score for i, score in scores.items() if i not in {item.id for item in SKIPPED_BY_FAST}}


# --------------------------------------------------------------------------- one --fast batch
def hangs(folder) -> bool:
    numpy_ann = Path(folder) / "numpy_ann.py"
    return numpy_ann.is_file() and numpy_ann.read_text().startswith(HANG)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, sandbox):
    """Five submissions, two at a time: complete (twice), a corpus variant, a seeded bug and one
    whose numpy_ann.py never finishes importing.

    Nothing here depends on the machine's speed: the submissions that finish get the default
    limits (a unit group 600 s, where a busy machine needs seconds), and the one that hangs,
    which no limit lets finish, gets 1 s, so that its time-out costs a second."""
    base = tmp_path_factory.mktemp("batch")
    hanging = {"numpy_ann.py": HANG + (ROOT / "tests" / "submissions" / "complete" / "numpy_ann.py").read_text()}
    export = build_export(base, [Entry(corpus("complete"), recorded={"1.10": 0, "3.2": 0}),
                                 Entry(corpus("ann_extra_dropout"), submitters=2),
                                 Entry(seeded_bug(BUGS[0])),
                                 Entry(sources(hanging)),
                                 Entry(corpus("complete"))])
    real_grade, stream = grader.batch.grade, io.StringIO()

    def grade(folder, **options):
        return real_grade(folder, **({**options, "timeout": 1} if hangs(folder) else options))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("grader.batch.grade", grade)
        result = run_batch(export, base / "out", Options(fast=True), jobs=2, sandbox=sandbox, progress_stream=stream)
    return export, base / "out", result, stream.getvalue()


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_csv_has_a_row_per_submission_with_metadata(batch):
    export, out, _, _ = batch
    rows = read_csv(out / "grades.csv")
    assert list(rows) == ["100001", "100002", "100003", "100004", "100005"]
    metadata = yaml.safe_load((export / "submission_metadata.yml").read_text())
    for sub_id, row in rows.items():
        people = metadata[f"submission_{sub_id}"][":submitters"]
        assert row["names"] == "; ".join(p[":name"] for p in people)
        assert row["sids"] == "; ".join(p[":sid"] for p in people)
        assert row["emails"] == "; ".join(p[":email"] for p in people)
    assert rows["100002"]["names"].count(";") == 1  # a group submission
    # Gradescope recorded 42 - 2 - 2 for the first; a fast grade has no difference from it to show
    assert float(rows["100001"]["gradescope_score"]) == 38 and rows["100002"]["gradescope_score"] == ""
    assert "difference" not in rows["100001"]


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_csv_totals_equal_the_item_sums_out_of_the_graded_items(batch):
    """--fast: the items it skips have no column, and max is what the others are worth."""
    _, out, _, _ = batch
    for sub_id, row in read_csv(out / "grades.csv").items():
        scores = item_scores(row)
        assert set(scores) == {item.id for item in ITEMS} - {item.id for item in SKIPPED_BY_FAST}
        assert float(row["total"]) == pytest.approx(sum(scores.values())), sub_id
        assert float(row["max"]) == sum(POINTS[i] for i in scores) < sum(POINTS.values())
        assert all(0 <= score <= POINTS[i] for i, score in scores.items()), sub_id


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_scores_are_the_graders(batch):
    """The rows hold what grading each submission alone gives: the corpus' declared scores, and
    the seeded bug losing its item."""
    _, out, _, _ = batch
    rows = read_csv(out / "grades.csv")
    for sub_id, name in (("100001", "complete"), ("100002", "ann_extra_dropout"), ("100005", "complete")):
        want = fast(expected_scores(name, ALL_FILES, fast=True))
        assert item_scores(rows[sub_id]) == want, (sub_id, EXPECTED[name]["about"])
    bug = item_scores(rows["100003"])
    assert bug[BUGS[0].item] < POINTS[BUGS[0].item]
    assert all(score == 0 for i, score in bug.items() if GROUPS[ITEM[i].group].module + ".py" != BUGS[0].file)
    assert rows["100001"]["status"] == rows["100002"]["status"] == rows["100003"]["status"] == GRADED


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_same_submission_same_scores(batch):
    _, out, _, _ = batch
    rows = read_csv(out / "grades.csv")
    assert item_scores(rows["100001"]) == item_scores(rows["100005"])


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_a_timeout_is_recorded_and_the_batch_goes_on(batch):
    _, out, result, _ = batch
    row = read_csv(out / "grades.csv")["100004"]
    assert row["status"] == TIMED_OUT and "time limit" in row["message"]
    numpy_items = [item.id for item in ITEMS if item.group == "numpy_unit"]
    assert all(item_scores(row)[i] == 0 for i in numpy_items) and "1.1" in row["message"]
    assert sorted(result.graded) == ["100001", "100002", "100003", "100004", "100005"]


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_each_submission_gets_its_results_json(batch):
    _, out, _, _ = batch
    rows = read_csv(out / "grades.csv")
    for sub_id, row in rows.items():
        data = json.loads((out / "results" / f"{sub_id}.json").read_text())
        assert_valid_results(data)
        assert data["score"] == pytest.approx(float(row["total"]))
        assert data["extra_data"]["batch"]["status"] == row["status"]
        scores = {t["number"]: t["score"] for t in data["tests"]}
        assert fast(scores) == item_scores(row) and all(scores[item.id] == 0 for item in SKIPPED_BY_FAST)


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_summary_and_plot(batch):
    _, out, _, _ = batch
    summary = (out / "summary.md").read_text()
    for item in ITEMS:
        assert f"\n| {item.id} | " in summary
    assert "| 3.1 | PyTorchCNN.__init__: the 24-module architecture | 6 | 3.60 | 60% | 40% |" in summary
    assert "at z = 0" in summary.split("\n| 1.3 |")[1].split("\n")[0]  # the seeded bug's reason
    assert "5 submissions (4 graded, 1 timed out)" in summary
    graded = sum(POINTS.values()) - sum(item.points for item in SKIPPED_BY_FAST)
    assert f"## Totals (out of {graded})" in summary and "quartiles" in summary
    for item in SKIPPED_BY_FAST:  # not a mean of zeros
        assert f"| {item.id} | {item.name} | {item.points} | skipped (--fast) |" in summary
    for item in WORD_ONLY:
        assert f"| {item.id} | {item.name}, word only (--fast) | {item.points} | " in summary
    assert "## Needs attention" not in summary  # a time-out is the student's: final
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def marks(records, mode) -> dict[str, str]:
    """item id -> the words scores.png writes on the item's row (none for a unit item)."""
    items_axes = scores_figure(records, mode).axes[1]
    return {ITEMS[round(text.get_position()[1])].id: text.get_text() for text in items_axes.texts}


def test_the_plot_says_how_the_real_data_items_were_graded():
    """--fast: the items it skips are written out as skipped, with no bar (not a share of 0),
    and the judgements as checked for the word only; otherwise they are runs, or reused."""
    full_marks = {item.id: float(item.points) for item in ITEMS}
    rows = {mode: [Record("1", GRADED, scores=full_marks, total=sum(full_marks.values()), mode=mode)]
            for mode in ("fast", "full", "reuse-runs")}
    assert marks(rows["fast"], "fast") == {**{item.id: "skipped (--fast)" for item in SKIPPED_BY_FAST},
                                           **{item.id: "word only (--fast)" for item in WORD_ONLY}}
    assert len(scores_figure(rows["fast"], "fast").axes[1].patches) == len(ITEMS) - len(SKIPPED_BY_FAST)
    assert marks(rows["full"], "full") == {item.id: "real-data run" for item in RUN_ITEMS}
    assert marks(rows["reuse-runs"], "reuse-runs") == {item.id: "reused from Gradescope" for item in RUN_ITEMS}


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_progress_lines_without_a_terminal(batch):
    _, _, _, progress = batch
    lines = progress.strip().splitlines()
    assert lines[0] == "5 submissions: 5 to grade, 2 at a time"
    assert [line.split(" graded")[0] for line in lines[1:]] == [f"{n}/5" for n in range(1, 6)]
    assert all("ETA" in line and "to look at" in line for line in lines[1:])
    assert "1 to look at; 100004: timed out" in progress


@pytest.mark.slow  # the batch fixture grades five submissions: about 10 s
def test_a_rerun_skips_what_was_graded(batch, sandbox):
    export, out, _, _ = batch
    before = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    csv_before = read_csv(out / "grades.csv")
    again = run_batch(export, out, Options(fast=True), jobs=2, sandbox=sandbox, progress_stream=io.StringIO())
    assert again.graded == [] and again.skipped == sorted(csv_before)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()} == before
    after = read_csv(out / "grades.csv")
    for sub_id, row in csv_before.items():  # rebuilt from the results files
        assert {k: v for k, v in after[sub_id].items() if k != "seconds"} == \
            {k: v for k, v in row.items() if k != "seconds"}


# --------------------------------------------------------------------------- zip, --reuse-runs
@pytest.mark.slow  # seconds of batch waits and grades
def test_reuse_runs_from_a_zip_export(tmp_path, sandbox):
    recorded = {"1.10": 2, "2.6": 0, "2.7": 1, "3.2": 2, "3.3": 1}
    export = build_export(tmp_path, [Entry(corpus("complete"), recorded=recorded),
                                     Entry(seeded_bug(BUGS[0]))], zipped=True)
    assert export.suffix == ".zip" and export.is_file()
    out = tmp_path / "out"
    run_batch(export, out, Options(reuse_runs=True), jobs=2, sandbox=sandbox, progress_stream=io.StringIO())
    rows = read_csv(out / "grades.csv")
    assert {i.id for i in RUN_ITEMS} == set(recorded)  # the real-data items come from rubric.GROUPS
    full = item_scores(rows["100001"])
    assert {i: full[i] for i in recorded} == recorded
    assert all(full[item.id] == item.points for item in ITEMS if item.id not in recorded)
    assert rows["100001"]["reused"].split() == sorted(recorded, key=list(POINTS).index)
    assert rows["100001"]["mode"] == "reuse-runs" and rows["100001"]["difference"] == "0"
    tests = {t["number"]: t for t in json.loads((out / "results" / "100001.json").read_text())["tests"]}
    assert all(tests[i]["output"].startswith(REUSED) for i in recorded)
    assert not tests["1.1"]["output"].startswith(REUSED)
    assert rows["100001"]["status"] == GRADED and rows["100001"]["max"] == "42"
    # nothing recorded for the second: its run items score 0, and its status and message say so
    second = rows["100002"]
    assert second["status"] == NO_RUNS and second["reused"] == ""
    assert "no usable Gradescope score to reuse for " + ", ".join(recorded) in second["message"]
    assert all(item_scores(second)[i] == 0 for i in recorded)
    summary = (out / "summary.md").read_text()
    assert "| 3.3 | PyTorchCNN.report_my_judgement | 2 | 0.50 | 0% | 50% | 1 |" in summary
    assert f"2 submissions (1 {GRADED}, 1 {NO_RUNS})" in summary
    assert summary.split("## Needs attention")[1].count(f"| 100002 | {NO_RUNS} | ") == 1


def test_reuse_runs_needs_the_metadata(tmp_path, capsys):
    (tmp_path / "alice").mkdir()
    assert main([str(tmp_path), "--out", str(tmp_path / "out"), "--reuse-runs"]) == 2
    assert "submission_metadata.yml" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--out", str(tmp_path / "out"), "--reuse-runs", "--fast"])


# --------------------------------------------------------------------------- failures of the grade itself
@pytest.mark.slow  # seconds of batch waits and grades
def test_grader_errors_and_stuck_grades_are_recorded_and_retried(tmp_path, monkeypatch):
    """A stand-in for grade(): one submission raises GraderError, one never returns in time;
    the third is graded. The first two have no results file, so a rerun tries them again (the
    summary says so); --force regrades all three."""
    export = build_export(tmp_path, [Entry(sources({"numpy_ann.py": "# raises\n"})),
                                     Entry(sources({"numpy_ann.py": "# stuck\n"})),
                                     Entry(sources({"numpy_ann.py": "# fine\n"}))])
    release = threading.Event()

    def fake_grade(folder, **_):
        text = (Path(folder) / "numpy_ann.py").read_text()
        if "raises" in text:
            raise GraderError("the grader's copy of Fashion-MNIST is unusable:\n  train-images: truncated\r\n")
        if "stuck" in text:
            release.wait(30)
        return GradeReport([ItemResult(item, float(item.points), "PASS", "all checks passed") for item in ITEMS],
                           0.0, fast=True)

    monkeypatch.setattr("grader.batch.grade", fake_grade)
    out = tmp_path / "out"
    try:  # the stuck one waits whatever the limit; the others return at once, far within 1 s
        result = run_batch(export, out, Options(fast=True, wall_limit=1), jobs=2, sandbox=NO_SANDBOX,
                           progress_stream=io.StringIO())
    finally:
        release.set()
    rows = read_csv(out / "grades.csv")
    assert [rows[i]["status"] for i in ("100001", "100002", "100003")] == [GRADER_ERROR, WALL_CLOCK, GRADED]
    assert "Fashion-MNIST is unusable: train-images: truncated" in rows["100001"]["message"]  # on one line
    assert rows["100001"]["total"] == rows["100002"]["total"] == "" and rows["100003"]["total"] == "42"
    attention = (out / "summary.md").read_text().split("## Needs attention")[1]
    assert f"| 100001 | {GRADER_ERROR} | " in attention and f"| 100002 | {WALL_CLOCK} | " in attention
    assert "100003" not in attention and f"python -m grader.batch {export} --out {out} --fast" in attention
    assert sorted(p.name for p in (out / "results").iterdir()) == ["100003.json"]
    assert len(result.graded) == 3
    again = run_batch(export, out, Options(fast=True, wall_limit=5), jobs=2, sandbox=NO_SANDBOX,
                      progress_stream=io.StringIO())
    assert sorted(again.graded) == ["100001", "100002"] and again.skipped == ["100003"]
    assert read_csv(out / "grades.csv")["100002"]["status"] == GRADED
    stamp = (out / "results" / "100003.json").stat().st_mtime_ns
    forced = run_batch(export, out, Options(fast=True), jobs=2, force=True, sandbox=NO_SANDBOX,
                       progress_stream=io.StringIO())
    assert sorted(forced.graded) == ["100001", "100002", "100003"] and forced.skipped == []
    assert (out / "results" / "100003.json").stat().st_mtime_ns != stamp


@pytest.mark.slow  # seconds of batch waits and grades
def test_a_regrade_is_named_and_graded_again_with_longer_limits(tmp_path, monkeypatch):
    """A stand-in for grade(): under the default limit, one submission's run is stopped while
    still making progress (the grading machine's time ran out, not the student's code), and
    its row says regrade, which items, and with what; a rerun with longer limits grades it
    again, and skips the final row. The grade's flags reach the CSV, and survive the rerun."""
    export = build_export(tmp_path, [Entry(sources({"numpy_ann.py": "# slow to train\n"})),
                                     Entry(sources({"numpy_ann.py": "# flagged\n"}))])
    stopped, flag = RUN_ITEMS[0].id, "2.3: trains as another submission does, line for line"

    def fake_grade(folder, *, timeout, **_):
        slow = "slow" in (Path(folder) / "numpy_ann.py").read_text() and timeout < 2 * Options().timeout
        results = [ItemResult(item, 0.0 if slow and item.id == stopped else float(item.points), "", "",
                              timed_out=slow and item.id == stopped, incomplete=slow and item.id == stopped)
                   for item in ITEMS]
        flagged = "flagged" in (Path(folder) / "numpy_ann.py").read_text()
        return GradeReport(results, 0.0, fast=False, flags=[flag] if flagged else [],
                           regrade={"timeout": 1800.0, "budget": 2400.0} if slow else {})

    monkeypatch.setattr("grader.batch.grade", fake_grade)
    out = tmp_path / "out"
    first = run_batch(export, out, Options(), sandbox=NO_SANDBOX, progress_stream=io.StringIO())
    rows = read_csv(out / "grades.csv")
    assert [rows[i]["status"] for i in ("100001", "100002")] == [REGRADE, GRADED] and len(first.graded) == 2
    longer = "--timeout 1800"  # the limits the grade found the run needs, over doubling the defaults
    assert f"regrade {stopped} with longer limits" in rows["100001"]["message"] and longer in rows["100001"]["message"]
    assert "--budget 2400" in rows["100001"]["message"]
    assert rows["100002"]["flags"] == flag and rows["100001"]["flags"] == ""
    summary = (out / "summary.md").read_text()
    assert f"2 submissions (1 {REGRADE}, 1 {GRADED})" in summary
    assert f"| 100001 | {REGRADE} | " in summary.split("## Needs attention")[1]
    assert f"python -m grader.batch {export} --out {out} {longer}" in summary and "--budget 2400" in summary
    # its results file is kept, but not taken as final: the next run grades it again; not a --fast
    # one, which would skip the very runs that need the time and call the row final
    assert json.loads((out / "results" / "100001.json").read_text())["extra_data"]["batch"]["status"] == REGRADE
    fast = run_batch(export, out, Options(fast=True), sandbox=NO_SANDBOX, progress_stream=io.StringIO())
    assert fast.graded == [] and read_csv(out / "grades.csv")["100001"]["status"] == REGRADE
    again = run_batch(export, out, Options(timeout=2 * Options().timeout), sandbox=NO_SANDBOX,
                      progress_stream=io.StringIO())
    assert again.graded == ["100001"] and again.skipped == ["100002"]
    rows = read_csv(out / "grades.csv")
    assert [rows[i]["status"] for i in ("100001", "100002")] == [GRADED, GRADED]
    assert rows["100001"]["total"] == "42" and rows["100002"]["flags"] == flag
    attention = (out / "summary.md").read_text().split("## Needs attention")[1]
    assert "| 100001 |" not in attention and f"| 100002 | {GRADED} | {flag} | " in attention


def test_bad_submissions_each_get_a_row_and_the_batch_goes_on(tmp_path, sandbox):
    """Nothing submitted, a file misnamed, a zip that is not one: each is graded (nothing found
    scores 0), its message says what was missing or refused, and the batch goes on."""
    numpy_ann = (ROOT / "tests" / "submissions" / "complete" / "numpy_ann.py").read_text()
    export = build_export(tmp_path, [Entry(sources({})),
                                     Entry(sources({"numpyann.py": numpy_ann})),
                                     Entry(sources({"submission.zip": "not a zip archive\n"}))])
    out = tmp_path / "out"
    result = run_batch(export, out, Options(fast=True), sandbox=sandbox, progress_stream=io.StringIO())
    rows = read_csv(out / "grades.csv")
    assert sorted(result.graded) == list(rows) == ["100001", "100002", "100003"]
    for row in rows.values():
        assert row["status"] == GRADED and row["total"] == "0" and "numpy_ann.py" in row["message"]
        assert "flags" in row
    assert "submission.zip" in rows["100003"]["message"]


def test_an_interrupted_batch_writes_what_it_has(tmp_path, monkeypatch):
    export = build_export(tmp_path, [Entry(sources({"numpy_ann.py": "# one\n"})),
                                     Entry(sources({"numpy_ann.py": "# two\n"}))])

    def ctrl_c(*_args):  # where the main thread waits while the submissions are graded
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr("grader.batch.schedule", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_batch(export, tmp_path / "out", Options(fast=True), sandbox=NO_SANDBOX, progress_stream=io.StringIO())
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert [row["status"] for row in rows.values()] == [NOT_GRADED, NOT_GRADED]


# --------------------------------------------------------------------------- reading exports
def test_metadata_with_ruby_symbols_and_tags():
    text = """\
submission_7:
  :submitters:
  - :name: Orrin Mossbury
    :sid: '017'
    :email: orrin@example.edu
  :created_at: 2026-10-01 23:59:59.123456789 -07:00
  :score: !ruby/object:BigDecimal 18:0.3E2
  :status: processed
  :results: !ruby/hash:ActiveSupport::HashWithIndifferentAccess
    score: 30.0
    tests:
    - number: '1.10'
      score: 2.0
"""
    entry = parse_metadata(text)["submission_7"]
    assert entry["submitters"] == [{"name": "Orrin Mossbury", "sid": "017", "email": "orrin@example.edu"}]
    assert entry["results"]["tests"][0] == {"number": "1.10", "score": 2.0}


def test_a_hostile_zip_export_writes_nothing_outside_its_folder(tmp_path):
    """Member names with .., absolute paths, links and backslashes never reach the file system
    as such; the grader gets the submission's own files only."""
    archive = tmp_path / "export.zip"
    link = zipfile.ZipInfo("assignment_1_export/submission_2/pytorch_ann.py")
    link.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("assignment_1_export/submission_metadata.yml", "submission_2:\n  :submitters: []\n")
        z.writestr("assignment_1_export/submission_2/numpy_ann.py", "x = 1\n")
        z.writestr("assignment_1_export/submission_2/../../escaped/numpy_ann.py", "escaped\n")
        z.writestr("assignment_1_export/submission_2/sub\\..\\..\\numpy_ann.py", "backslashes\n")
        z.writestr("/assignment_1_export/submission_2/deep/../numpy_ann.py", "dots\n")
        z.writestr(link, "/etc/passwd")
        z.writestr("assignment_1_export/submission_2/notes.txt", "not read\n")
    with open_export(archive) as export:
        assert isinstance(export, ZipExport) and [s.id for s in export.submissions] == ["2"]
        with export.checkout(export.submissions[0]) as (folder, notes):
            written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
            assert written == ["numpy_ann.py"]
            assert (folder / "numpy_ann.py").read_text() == "x = 1\n"
        assert any("symbolic link" in n for n in notes) and sum("unusual file name" in n for n in notes) == 3
    assert not (tmp_path / "escaped").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["export.zip"]


def test_a_plain_folder_of_submission_folders(tmp_path):
    for name in ("bo", "al", "10", "9"):
        (tmp_path / name).mkdir()
    (tmp_path / ".git").mkdir()
    with open_export(tmp_path) as export:
        assert not export.has_metadata
        assert [s.id for s in export.submissions] == ["9", "10", "al", "bo"]
        with export.checkout(export.submissions[0]) as (folder, notes):
            assert folder == tmp_path / "9" and notes == []


# --------------------------------------------------------------------------- the command line
def test_help_gives_examples_that_parse_and_the_exit_statuses(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    examples = [line.split() for line in text.split("examples:")[1].split("exit status:")[0].splitlines()
                if line.strip().startswith("python -m grader.batch ")]
    assert len(examples) == 2 and examples[0][3].endswith(".zip") and "--reuse-runs" in examples[1]
    for example in examples:  # options that exist, and no mode clash
        build_parser().parse_args(example[3:])
    statuses = [line.split()[0] for line in text.split("exit status:")[1].splitlines() if line[:3].strip().isdigit()]
    assert statuses == ["0", "2"]


@pytest.mark.slow
def test_command_line_on_an_unpacked_export(tmp_path):
    export = build_export(tmp_path, [Entry(corpus("complete"), recorded={}), Entry(seeded_bug(BUGS[0]))])
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader.batch", str(export.parent), "--out", str(out), "--fast",
                           "--jobs", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "2 graded now, 0 skipped" in done.stdout and "2/2 graded" in done.stderr
    rows = read_csv(out / "grades.csv")
    assert item_scores(rows["100001"]) == fast(expected_scores("complete", ALL_FILES, fast=True))
    assert {p.name for p in out.iterdir()} >= {"grades.csv", "summary.md", "scores.png", "results"}
