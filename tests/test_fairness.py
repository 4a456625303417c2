"""A correct submission earns its points on any machine, and nothing a student or TA does by
mistake becomes a silent zero: thresholds judged within their noise, time never charged to the
student without a word, bad paths refused, near-named files named."""
from __future__ import annotations

import io
import json
import subprocess
import types
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import ROOT, filled_handout

from course import facts
from grader import runner
from grader.__main__ import CANNOT_GRADE, GRADED, INCOMPLETE, Progress
from grader.__main__ import main as grader_main
from grader.checks.runs import threshold_verdict
from grader.report import results_json, table
from grader.rubric import ITEM_BY_ID, ITEMS
from grader.runner import GradeReport, ItemResult, grade
from grader.sandbox import ChildResult
from grader.submission import collect


def context(strict=False):
    return types.SimpleNamespace(facts=facts, strict_thresholds=strict)


# --------------------------------------------------------------------------- thresholds and their noise
def test_an_accuracy_within_one_standard_error_of_the_threshold_earns_full_marks_and_says_so():
    said, passed, hint = threshold_verdict(context(), "pytorch_cnn", 0.835, 200)
    assert passed and not hint
    assert said == ("test accuracy 0.835 on the handout's 200 test images: within one standard error (0.025) of the "
                    "threshold 0.85 on 200 images, so full marks (the band is the test set's noise)")
    assert threshold_verdict(context(), "pytorch_cnn", 0.85, 200)[:2] == (
        "test accuracy 0.850 on the handout's 200 test images: at least the threshold 0.85", True)


def test_strict_thresholds_restore_the_handouts_literal_rule():
    said, passed, _ = threshold_verdict(context(strict=True), "pytorch_cnn", 0.835, 200)
    assert not passed and "the handout's threshold, strictly (--strict-thresholds)" in said
    assert threshold_verdict(context(strict=True), "pytorch_cnn", 0.85, 200)[1]


@pytest.mark.parametrize("module, accuracy", [("numpy_ann", 0.735), ("pytorch_ann", 0.770), ("pytorch_cnn", 0.820)])
def test_a_run_below_the_band_loses_the_item_with_a_hint(module, accuracy):
    said, passed, hint = threshold_verdict(context(), module, accuracy, 200)
    assert not passed and "below the threshold" in said and "more than one standard error" in said
    assert hint.startswith(f"a correct {module}.py reaches the threshold with the handout's settings: check")


def test_a_network_that_did_not_learn_is_told_so():
    _, passed, hint = threshold_verdict(context(), "pytorch_cnn", 0.105, 200, final_train_accuracy=0.11)
    assert not passed and hint.startswith("the network did not learn (its training accuracy ended at 0.11")
    assert "learning_rate=0.002, epochs=60" in hint


# --------------------------------------------------------------------------- time: slow or stuck
def child(progress, started=0.0, stopped=100.0):
    return ChildResult([], "", progress=progress, started=started, stopped=stopped, timed_out=True)


def test_a_script_printing_its_epochs_at_its_pace_is_still_making_progress():
    steady = [(10.0 * e, e, 60) for e in range(1, 10)]  # an epoch every 10 s, the last at 90 s
    assert runner.still_progressing(child(steady, stopped=100.0))
    assert not runner.still_progressing(child(steady, stopped=90.0 + runner.STALL_SECONDS + 1))  # silent since
    assert not runner.still_progressing(child([], stopped=100.0))  # no progress line in 100 s: stuck
    assert runner.still_progressing(child([], stopped=5.0))  # stopped 5 s in: too soon to tell, not charged
    slow = [(100.0 * e, e, 60) for e in range(1, 4)]  # an epoch every 100 s: three of them may pass in silence
    assert runner.still_progressing(child(slow, stopped=300.0 + 250))


def test_the_regrade_limits_come_from_the_pace_kept():
    steady = [(10.0 * e, e, 60) for e in range(1, 41)]  # 40 of 60 epochs in 400 s
    spec = types.SimpleNamespace(module="pytorch_cnn")
    found = runner.machine_time(spec, child(steady, stopped=405.0), "the time limit of 405 s", timeout=405,
                                budget=540, used=30, cut_by_budget=False)
    assert found.timeout == 60 * -(-1.5 * (600 + 60) // 60)  # 600 s of epochs and a minute, half as much again
    assert found.budget == 60 * -(-(30 + found.timeout + 10) // 60)  # a budget that fits the longer run
    assert "still training at a steady pace (epoch 40 of 60 after 405 s)" in found.student
    assert "not your code" in found.student
    assert found.staff.endswith(f"regrade with --timeout {found.timeout:g} --budget {found.budget:g}")
    cut = runner.machine_time(spec, child(steady, stopped=405.0), "the budget", timeout=600, budget=540, used=130,
                              cut_by_budget=True)
    assert cut.budget >= 130 + cut.timeout and f"--budget {cut.budget:g}" in cut.staff
    early = runner.machine_time(spec, child([], stopped=12.0), "the budget", timeout=600, budget=540, used=520,
                                cut_by_budget=True)
    assert "stopped 12 s after it started, too soon to show its pace" in early.student and early.budget > 540


STEADY = '''
if __name__ == "__main__":
    import time
    for epoch in range(1, 201):
        print(f"[{epoch} / 200] | Train Loss: 1.00000 | Train Accuracy: 0.10000 | Val Loss: 1.00000 | "
              f"Val Accuracy: 0.10000", flush=True)
        time.sleep(0.1)
'''
CRAWLING = STEADY.replace("201", "10001").replace("/ 200]", "/ 10000]")  # about 1,000 s of epochs
STUCK = '''
if __name__ == "__main__":
    import time
    for epoch in (1, 2):
        print(f"[{epoch} / 250] | Train Loss: 1.00000 | Train Accuracy: 0.10000 | Val Loss: 1.00000 | "
              f"Val Accuracy: 0.10000", flush=True)
    while True:
        time.sleep(1)
'''


@pytest.mark.slow  # three script runs stopped by an 8 s limit
def test_a_limit_stopping_a_steady_script_marks_the_grade_incomplete_and_a_crawling_or_stuck_one_scores_zero(
        tmp_path, sandbox, monkeypatch):
    monkeypatch.setattr(runner, "STALL_SECONDS", 4.0)  # 8 s limits: a stall of 4 s is a hang here
    # time_needed adds a minute for the prediction and the plot, over 5 times an 8 s limit on its own;
    # the steady script needs about 20 s of epochs and that minute: well within 20 times the limit.
    monkeypatch.setattr(runner, "SLOWEST", 20)

    def graded(name, main):
        folder = filled_handout(tmp_path / name, files=("numpy_ann.py",))
        source = (folder / "numpy_ann.py").read_text()
        (folder / "numpy_ann.py").write_text(source[:source.index('if __name__ == "__main__":')] + main)
        return name, grade(folder, groups=["numpy_run"], timeout=8, sandbox=sandbox)

    with ThreadPoolExecutor(max_workers=3) as pool:  # they mostly sleep: side by side, one 8 s limit's wait
        reports = dict(pool.map(graded, *zip(("steady", STEADY), ("crawling", CRAWLING), ("stuck", STUCK))))
    steady = {r.item.id: r for r in reports["steady"].results}["1.10"]
    assert steady.incomplete and steady.score == 0 and "not your code" in steady.output
    assert "was still training at a steady pace (epoch" in steady.output
    assert any(f.startswith("1.10: INCOMPLETE, regrade: numpy_ann.py was still training") for f in
               reports["steady"].flags)
    assert reports["steady"].regrade["timeout"] > 8
    assert "INCOMPLETE: 1.10 not graded" in table(reports["steady"])
    crawling = {r.item.id: r for r in reports["crawling"].results}["1.10"]  # over 20 times the limit: 0, flagged
    assert not crawling.incomplete and crawling.score == 0 and not reports["crawling"].incomplete
    assert "over 20 times the limit" in crawling.output
    assert any("a machine this busy, or a student's code this slow?" in f for f in reports["crawling"].flags)
    stuck = {r.item.id: r for r in reports["stuck"].results}["1.10"]
    assert not stuck.incomplete and stuck.score == 0 and not reports["stuck"].incomplete
    assert "it looks stuck, not slow" in stuck.output and "the last was epoch 2 of 250" in stuck.output


def incomplete_report():
    results = [ItemResult(item, float(item.points), "PASS", "all checks passed") for item in ITEMS]
    results[ITEMS.index(ITEM_BY_ID["3.2"])] = ItemResult(ITEM_BY_ID["3.2"], 0.0, "Not graded yet: the grading machine "
                                                         "ran out of time, not your code.", "not graded yet",
                                                         timed_out=True, incomplete=True)
    return GradeReport(results, 540.0, False, flags=["3.2: INCOMPLETE, regrade: ..."],
                       regrade={"timeout": 900.0, "budget": 1080.0})


def test_an_incomplete_grade_exits_3_writes_its_results_and_tells_student_and_staff(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("grader.__main__.grade", lambda *a, **k: incomplete_report())
    (tmp_path / "sub").mkdir()
    results = tmp_path / "results.json"
    assert grader_main([str(tmp_path / "sub"), "--results", str(results), "--quiet"]) == INCOMPLETE == 3
    out = capsys.readouterr().out
    assert "INCOMPLETE: 3.2 not graded: the grading machine ran out of time" in out
    assert "Regrade this submission with --timeout 900 --budget 1080." in out
    data = json.loads(results.read_text())
    assert data["extra_data"]["incomplete"] == {"items": ["3.2"], "regrade": {"timeout": 900.0, "budget": 1080.0}}
    assert "Not final: 3.2 could not be graded because the grading machine ran out of time" in data["output"]
    assert results_json(incomplete_report())["extra_data"]["flags"] == ["3.2: INCOMPLETE, regrade: ..."]


def test_the_help_gives_examples_and_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        grader_main(["--help"])
    out = capsys.readouterr().out
    assert "python -m grader submissions/alice --fast" in out and "python -m grader submission.zip" in out
    for status in (GRADED, CANNOT_GRADE, INCOMPLETE):
        assert f"\n  {status}  " in out


def test_progress_shows_each_group_and_every_tenth_epoch_in_a_log():
    stream = io.StringIO()
    progress = Progress(stream)
    progress("python pytorch_cnn.py: started")
    for epoch in range(1, 61):
        progress(f"pytorch_cnn.py: epoch {epoch} / 60")
    progress("python pytorch_cnn.py: done in 150 s")
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("python pytorch_cnn.py: started") and lines[-1].endswith("done in 150 s")
    assert [line.split("epoch ")[1] for line in lines[1:-1]] == [f"{e} / 60" for e in range(6, 61, 6)]


# --------------------------------------------------------------------------- bad paths, near names
@pytest.mark.parametrize("make, says", [
    (lambda tmp: tmp / "does_not_exist", "does not exist"),
    (lambda tmp: (tmp / "notes.txt").write_text("hello") and tmp / "notes.txt", "is neither a folder nor a .zip"),
])
def test_a_bad_submission_path_exits_2_with_one_line_and_leaves_the_results_alone(tmp_path, capsys, make, says):
    results = tmp_path / "results.json"
    results.write_text("earlier results")
    with pytest.raises(SystemExit) as stopped:
        grader_main([str(make(tmp_path)), "--results", str(results)])
    assert stopped.value.code == CANNOT_GRADE
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("python -m grader: error: the submission") and says in error
    assert results.read_text() == "earlier results"


@pytest.mark.parametrize("name", ["numpyann.py", "Numpy_ANN.py", "numpy__ann.py", "numpy_ann (1).py",
                                  "numpy_ann(2).py", "numpy_ann.py.txt"])
def test_a_near_named_file_is_found_and_graded_only_when_staff_accept_it(tmp_path, name):
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw" / name).write_text("x = 1\n")
    found = collect(tmp_path)
    assert found.near == {"numpy_ann.py": f"hw/{name}"} and "numpy_ann.py" not in found.files
    accepted = collect(tmp_path, accept_near_names=True)
    assert accepted.files["numpy_ann.py"] == b"x = 1\n"
    assert accepted.notes == [f"hw/{name} was graded as numpy_ann.py (--accept-near-names)"]


def test_the_right_name_wins_over_a_near_one_and_zips_are_searched_too(tmp_path):
    (tmp_path / "numpy_ann.py").write_text("right = 1\n")
    (tmp_path / "numpyann.py").write_text("near = 1\n")
    both = collect(tmp_path, accept_near_names=True)
    assert both.files["numpy_ann.py"] == b"right = 1\n" and both.near == {} and both.notes == []
    with zipfile.ZipFile(tmp_path / "hand-in.zip", "w") as z:
        z.writestr("folder/PyTorch_ANN.py", "y = 2\n")
    assert collect(tmp_path / "hand-in.zip").near == {"pytorch_ann.py": "hand-in.zip: folder/PyTorch_ANN.py"}


def test_a_misnamed_file_costs_its_items_with_a_line_in_each_and_a_flag(tmp_path, sandbox):
    folder = filled_handout(tmp_path / "sub", files=("numpy_ann.py",))
    (folder / "numpy_ann.py").rename(folder / "numpyann.py")
    report = grade(folder, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    unit = [r for r in report.results if r.item.group == "numpy_unit"]
    assert all(r.score == 0 and "numpyann.py was submitted; the grader needs the name numpy_ann.py." in r.output
               for r in unit)
    assert report.flags == ["1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.10: numpyann.py looks like a misnamed "
                            "numpy_ann.py, which was not submitted: these items score 0; to grade it, grade again "
                            "with --accept-near-names"]
    accepted = grade(folder, fast=True, groups=["numpy_unit"], sandbox=sandbox, accept_near_names=True)
    unit = [r for r in accepted.results if r.item.group == "numpy_unit"]
    assert all(r.score == r.max_score for r in unit), [r.output for r in unit if r.score < r.max_score]
    assert "numpyann.py was graded as numpy_ann.py (--accept-near-names)" in accepted.notes
    assert accepted.flags[0].endswith("numpyann.py graded as numpy_ann.py (--accept-near-names)")


# --------------------------------------------------------------------------- the Gradescope scripts
GRADESCOPE = ROOT / "grader" / "gradescope"


@pytest.mark.slow  # builds two zips: seconds
def test_build_zip_takes_the_budget_as_an_option(tmp_path):
    done = subprocess.run(["bash", str(GRADESCOPE / "build_zip.sh"), "--budget", "1080", str(tmp_path / "a.zip")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "set the assignment's autograder timeout to at least 1140 s" in done.stdout
    script = zipfile.ZipFile(tmp_path / "a.zip").read("run_autograder").decode()
    assert 'budget="${GRADER_BUDGET:-1080}"' in script and '--timeout "${GRADER_TIMEOUT:-$budget}"' in script
    bad = subprocess.run(["bash", str(GRADESCOPE / "build_zip.sh"), "--budget", "soon", str(tmp_path / "b.zip")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--budget must be a whole number of seconds" in bad.stderr
    assert not (tmp_path / "b.zip").exists()


def test_run_autograder_keeps_an_incomplete_grades_results(tmp_path):
    """Exit 3 (incomplete) is a grade: its results reach Gradescope, with a line for staff."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    fake = tmp_path / "python"  # stands in for the grader: writes its results, exits 3
    fake.write_text('#!/bin/sh\nwhile [ "$1" != "--results" ]; do shift; done\necho \'{"score": 40}\' > "$2"\nexit 3\n')
    fake.chmod(0o755)
    done = subprocess.run(["bash", str(GRADESCOPE / "run_autograder")], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(fake),
                               "AUTOGRADER_USER": "nobody"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((root / "results" / "results.json").read_text()) == {"score": 40}
    assert "INCOMPLETE grade: the grading machine ran out of time, not the student's code" in done.stdout
