"""The grader: the filled handout scores full marks, seeded bugs lose points on their own item only,
broken submissions still give a valid results.json in bounded time, and a failure of the grader
itself is never charged to the student.

Submissions written in the course skeleton's shape are in tests/submissions/ and graded by
tests/test_submissions.py; hostile ones by tests/test_grader_attacks.py. The seeded bugs here
are mutations of the filled handout (tests/grader_bugs.py), graded with ``--fast``, several at
once through one shared sandbox to keep this quick. The filled handout's full grade (42/42) is
``release check``'s round trip (tests/test_release.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from grader_bugs import BUGS, ROOT, filled, write_submission
from helpers import assert_valid_results, filled_handout

from grader.__main__ import main as grader_main
from grader.report import clean, results_json, table, write_results
from grader.rubric import GROUPS, ITEMS, RUN_GROUP, UNIT_GROUP
from grader.runner import grade
from grader.sandbox import GraderError

REFERENCE_FILES = ("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py")
RUN_ITEMS = {"1.10", "2.6", "3.2"}  # skipped (score 0) by --fast
POINTS = {item.id: item.points for item in ITEMS}


def reference_submission(directory: Path, files=REFERENCE_FILES) -> Path:
    """The reference's regions in the handout: a perfect student's submission."""
    return filled_handout(directory, files)


def scores(report) -> dict[str, float]:
    return {r.item.id: r.score for r in report.results}


def outputs(report) -> dict[str, str]:
    return {r.item.id: r.output for r in report.results}


# --------------------------------------------------------------------------- reference, fast
@pytest.fixture(scope="module")
def fast_reference(tmp_path_factory, sandbox):
    return grade(reference_submission(tmp_path_factory.mktemp("reference")), fast=True, item_timeout=20,
                 sandbox=sandbox)


def test_reference_full_marks_on_every_fast_item(fast_reference):
    got = scores(fast_reference)
    for item in ITEMS:
        if item.id in RUN_ITEMS:
            assert got[item.id] == 0 and "--fast" in outputs(fast_reference)[item.id]
        else:
            assert got[item.id] == item.points, (item.id, outputs(fast_reference)[item.id])
    assert fast_reference.score == 42 - sum(POINTS[i] for i in RUN_ITEMS)
    assert_valid_results(results_json(fast_reference))


def test_a_correct_submission_gets_no_hint(fast_reference):
    assert not any("Hint:" in r.output for r in fast_reference.results)


def test_a_call_with_the_wrong_arguments_names_the_handouts_signature(tmp_path, sandbox):
    """Issue 18: a train with its own parameter order said "got multiple values for argument
    'epochs'" five times over; it now says it once and names the signature the handout expects."""
    sub = tmp_path / "signature"
    sub.mkdir()
    source = filled("pytorch_ann.py")
    handout = "    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):"
    assert handout in source
    (sub / "pytorch_ann.py").write_text(source.replace(
        handout, "    def train(self, X_train, y_train, epochs, batch_size, learning_rate, X_val=None, y_val=None):"))
    report = grade(sub, fast=True, groups=["ann_unit"], sandbox=sandbox)
    out = outputs(report)["2.3"]
    assert scores(report)["2.3"] == 0 and "got multiple values for argument" in out
    assert ("the handout's signature is PyTorchANN.train(self, X_train, y_train, X_val, y_val, epochs, batch_size, "
            "learning_rate)") in out
    assert out.count("got multiple values") == 1 and out.count("the same failure as above") == 4, out


def test_a_judgement_read_from_the_curves_is_fair_under_fast(tmp_path, sandbox):
    """Issue 18: a report_my_judgement() computed from self.train_val_metrics raised on the
    untrained instance --fast asks; it is now asked again with curves set."""
    reads = ('        m = self.train_val_metrics\n'
             '        gap = m["train_accs"][-1] - m["val_accs"][-1]\n'
             '        my_judgement = "overfitting" if gap > 0.05 else "generalizing"')
    sub = tmp_path / "reads"
    sub.mkdir()
    source = filled("pytorch_ann.py")
    assert '        my_judgement = "overfitting"' in source
    (sub / "pytorch_ann.py").write_text(source.replace('        my_judgement = "overfitting"', reads, 1))
    report = grade(sub, fast=True, groups=["ann_unit", "ann_run"], sandbox=sandbox)
    assert scores(report)["2.7"] == 1, outputs(report)["2.7"]
    assert "curves of its own choosing" in outputs(report)["2.7"]
    assert "the full grade judges the answer against the curves of your script's own run" in outputs(report)["2.7"]


def test_visibility_public_items_visible_others_after_published(fast_reference):
    tests = {t["number"]: t for t in results_json(fast_reference)["tests"]}
    assert {i for i, t in tests.items() if t["visibility"] == "visible"} == {i.id for i in ITEMS if i.public}
    assert {t["visibility"] for i, t in tests.items() if not ITEMS[[x.id for x in ITEMS].index(i)].public} == \
        {"after_published"}
    hidden = results_json(fast_reference, hidden_visibility="hidden")["tests"]
    assert {t["visibility"] for t in hidden} == {"visible", "hidden"}
    with pytest.raises(ValueError):
        results_json(fast_reference, hidden_visibility="sometimes")


def test_public_items_are_the_doctests_and_the_script_runs():
    public = {item.id for item in ITEMS if item.public}
    assert {"1.10", "2.6", "3.2"} <= public  # what `python <file>.py` prints
    assert not public & {"1.1", "1.7", "2.3", "2.5", "2.7", "3.3"}  # behaviour no doctest shows


def test_table_and_results_writer(tmp_path, fast_reference):
    text = table(fast_reference, width=100)
    assert text.splitlines()[0].split() == ["item", "score", "what"]
    assert all(f"\n{item.id:<5} {POINTS[item.id] if item.id not in ('1.10', '2.6', '3.2') else 0:>2g} / "
               f"{item.points:<2}  {item.name}\n" in text for item in ITEMS)  # each item named in the handout's words
    assert text.count("skipped (--fast)") == 3 and "all checks passed" not in text  # only what needs saying
    path = write_results(fast_reference, tmp_path / "deep" / "results.json")
    assert_valid_results(json.loads(path.read_text()))
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temporary file left


def test_clean_survives_any_string():
    nasty = "a\udcffb\x00c\x1b[31mred\x1b[0m\r\nd" + "\ud800"
    text = clean(nasty)
    text.encode("utf-8")  # would raise on a lone surrogate
    assert "red" in text and "\x1b" not in text and "\x00" not in text
    assert len(clean("x" * 100_000, 1000)) <= 1000


# --------------------------------------------------------------------------- seeded bugs
@pytest.fixture(scope="module")
def bug_reports(tmp_path_factory, sandbox):
    """Grade every seeded bug (its file's unit group, plus the judgement word check)."""
    base = tmp_path_factory.mktemp("bugs")

    def one(index_bug):
        index, bug = index_bug
        submission = write_submission(bug, base / f"bug{index}")
        groups = [UNIT_GROUP[bug.file[:-3]], RUN_GROUP[bug.file[:-3]]]
        return bug.name, grade(submission, fast=True, item_timeout=20, groups=groups, sandbox=sandbox)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, enumerate(BUGS)))


def test_at_least_fifteen_bugs():
    assert len(BUGS) >= 15
    assert len({bug.name for bug in BUGS}) == len(BUGS)


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_seeded_bug_loses_points_on_its_own_item(bug, bug_reports, fast_reference):
    report = bug_reports[bug.name]
    got, want = scores(report), scores(fast_reference)
    out = outputs(report)
    assert got[bug.item] < POINTS[bug.item], f"{bug.name} was not caught:\n{out[bug.item]}"
    assert "FAIL" in out[bug.item]
    if bug.hint:  # a known mistake: its item's output names the likely cause, on a line of its own
        assert f"\nHint: {bug.hint}" in out[bug.item], out[bug.item]
    module = bug.file[:-3]
    graded = {item.id for item in ITEMS if GROUPS[item.group].module == module}
    for item_id in graded - {bug.item} - set(bug.also):
        assert got[item_id] == want[item_id], f"{bug.name} also cost {item_id}:\n{out[item_id]}"


# --------------------------------------------------------------------------- broken submissions
def numpy_variant(tmp_path, name, edit) -> Path:
    sub = tmp_path / name
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(edit(filled("numpy_ann.py")))
    return sub


def after_imports(source: str, code: str) -> str:
    """Insert module-level code right after the handout's ``import numpy as np``."""
    assert "\nimport numpy as np\n" in source
    return source.replace("\nimport numpy as np\n", "\nimport numpy as np\n" + code, 1)


def test_missing_files_give_valid_results(tmp_path):
    (tmp_path / "sub").mkdir()
    results = tmp_path / "out" / "results.json"
    assert grader_main([str(tmp_path / "sub"), "--results", str(results), "--fast"]) == 0
    data = json.loads(results.read_text())
    assert_valid_results(data)
    assert data["score"] == 0
    assert "numpy_ann.py was not submitted" in data["tests"][0]["output"]


def test_nested_folder_and_foreign_utils(tmp_path, sandbox):
    """A zipped folder is found; the student's own utils.py is never used."""
    sub = tmp_path / "sub" / "homework"
    reference_submission(sub, files=("numpy_ann.py",))
    (sub / "utils.py").write_text("raise RuntimeError('the student utils must not be imported')\n")
    report = grade(tmp_path / "sub", fast=True, groups=["numpy_unit"], sandbox=sandbox)
    assert all(scores(report)[f"1.{i}"] == POINTS[f"1.{i}"] for i in range(1, 10))


def test_student_code_runs_against_the_students_utils(tmp_path, sandbox):
    """The scratch's utils.py is the handout's (what students ran), not the judge's."""
    check = ("import utils\nassert hasattr(utils, 'load_mnist_f') and hasattr(utils, 'print_green')\n"
             "assert not hasattr(utils, 'diagnose_fit') and not hasattr(utils, 'THRESHOLDS')\n")
    sub = numpy_variant(tmp_path, "utils", lambda s: after_imports(s, check))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    assert scores(report)["1.1"] == 3, outputs(report)["1.1"]


def test_syntax_error(tmp_path, sandbox):
    sub = numpy_variant(tmp_path, "syntax", lambda s: s.replace("def _relu(z):", "def _relu(z)", 1))
    report = grade(sub, fast=True, sandbox=sandbox)
    part1 = [r for r in report.results if r.item.group == "numpy_unit"]
    assert all(r.score == 0 for r in part1)
    assert "syntax error" in part1[0].output and "line" in part1[0].output


def test_import_time_crash_and_flood_of_output(tmp_path, sandbox):
    crash = ("import os\nos.write(1, b'x' * 20_000_000)\nprint('y' * 5_000_000)\n"
             "raise RuntimeError('boom at import')\n")
    sub = numpy_variant(tmp_path, "crash", lambda s: after_imports(s, crash))
    started = time.time()
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    assert time.time() - started < 30
    assert all(r.score == 0 for r in report.results)
    assert "RuntimeError: boom at import" in outputs(report)["1.1"]
    assert len(json.dumps(results_json(report))) < 200_000


@pytest.mark.slow  # waits out an item's time limit: seconds
def test_train_that_never_returns_costs_only_train(tmp_path, sandbox):
    hang = "\n\ndef _hang(self, *args, **kwargs):\n    while True:\n        pass\n\n\nNumpyANN.train = _hang\n"
    sub = numpy_variant(tmp_path, "hang", lambda s: s + hang)
    started = time.time()
    report = grade(sub, fast=True, item_timeout=2, groups=["numpy_unit"], sandbox=sandbox)
    assert time.time() - started < 20
    got = scores(report)
    assert got["1.7"] == 0 and "did not finish within" in outputs(report)["1.7"]
    assert all(got[f"1.{i}"] == POINTS[f"1.{i}"] for i in (1, 2, 3, 4, 5, 6, 8, 9))


@pytest.mark.slow  # a real-data run group: 5 s
def test_real_data_run_that_never_returns_is_stopped(tmp_path, sandbox):
    hang = "\n\ndef _hang(self, *args, **kwargs):\n    while True:\n        pass\n\n\nNumpyANN.train = _hang\n"

    def before_main(source):  # before the __main__ block, so the script's own training hangs
        head, main_block = source.rsplit('\nif __name__ == "__main__":', 1)
        return head + hang + '\nif __name__ == "__main__":' + main_block
    sub = numpy_variant(tmp_path, "hang_run", before_main)
    started = time.time()
    report = grade(sub, timeout=4, jobs=2, sandbox=sandbox)
    assert time.time() - started < 30
    assert_valid_results(results_json(report))
    run = next(r for r in report.results if r.item.id == "1.10")
    assert run.score == 0 and "time limit of 4 s" in run.output and run.timed_out


@pytest.mark.slow  # a real-data run group: 4 s
def test_budget_reports_what_was_not_graded(tmp_path, sandbox):
    """A budget too small for the real-data runs: the results still come, saying what ran out."""
    sub = reference_submission(tmp_path / "ref", files=("numpy_ann.py",))
    started = time.time()
    report = grade(sub, budget=8, item_timeout=5, sandbox=sandbox)
    assert time.time() - started < 30
    assert_valid_results(results_json(report))
    by_id = {r.item.id: r for r in report.results}
    assert by_id["1.1"].score == 3  # the unit group came first and fitted
    assert by_id["1.10"].score == 0 and "time budget of 8 s" in by_id["1.10"].output and by_id["1.10"].timed_out
    assert not by_id["1.1"].timed_out


def test_exit_mid_group_keeps_finished_items(tmp_path, sandbox):
    """os._exit inside _relu_grad ends the child: the items before it count, the rest say why."""
    sub = numpy_variant(tmp_path, "exit", lambda s: s.replace(
        "        grad = (np.asarray(z) > 0).astype(int)",
        "        import os\n        os._exit(3)", 1))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    got, out = scores(report), outputs(report)
    assert got["1.1"] == 3 and got["1.2"] == 1
    assert got["1.3"] == 0 and "exit code 3" in out["1.3"]
    assert got["1.9"] == 0


def test_sys_exit_in_a_method_costs_only_that_item(tmp_path, sandbox):
    """sys.exit in predict (which nothing else calls) ends only the item that called it."""
    sub = numpy_variant(tmp_path, "sysexit", lambda s: s.replace(
        "\n        y_pred = self._forward(X, training=False)\n        # <<< END OF YOUR CODE <<<\n"
        "        return y_pred", "\n        import sys\n        sys.exit(0)\n        # <<< END OF YOUR CODE <<<", 1))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    got = scores(report)
    assert got["1.8"] == 0 and "exit(0)" in outputs(report)["1.8"]
    assert all(got[i] == POINTS[i] for i in ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.9"))


def test_missing_method_and_wrong_return_type(tmp_path, sandbox):
    """A deleted method and a method returning the wrong type cost their items, with reasons."""
    def edit(source):
        source = source.replace("    def _relu_grad(z):", "    def _relu_grad_renamed(z):", 1)
        return source.replace("        y_pred = self._forward(X, training=False)\n        # <<< END OF YOUR CODE <<<\n"
                              "        return y_pred", "        return \"probabilities\"", 1)
    sub = numpy_variant(tmp_path, "missing", edit)
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    got, out = scores(report), outputs(report)
    assert got["1.3"] == 0 and "has no attribute '_relu_grad'" in out["1.3"]
    assert got["1.8"] < 1 and "expected numbers" in out["1.8"]
    for item_id in ("1.1", "1.2", "1.4", "1.5", "1.9"):
        assert got[item_id] == POINTS[item_id], out[item_id]


def test_student_code_cannot_import_the_reference(tmp_path, sandbox):
    """Only the submitted files are importable: not the repository's reference solution."""
    sub = tmp_path / "sub"
    sub.mkdir()
    source = filled("pytorch_cnn.py")
    (sub / "pytorch_cnn.py").write_text(source.replace("\nimport torch\n", "\nimport torch\nimport numpy_ann\n", 1))
    report = grade(sub, fast=True, groups=["cnn_unit"], sandbox=sandbox)
    assert scores(report)["3.1"] == 0
    assert "No module named 'numpy_ann'" in outputs(report)["3.1"]


# --------------------------------------------------------------------------- grader-side failures
def test_missing_data_is_a_grader_error_not_a_zero(tmp_path):
    sub = reference_submission(tmp_path / "ref", files=("numpy_ann.py",))
    (tmp_path / "empty").mkdir()
    results = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "grader", str(sub), "--results", str(results),
                           "--data-dir", str(tmp_path / "empty")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (done.stdout + done.stderr).count("GRADER ERROR") == 1 and "Fashion-MNIST" in done.stderr
    assert not results.exists()


def test_missing_torch_is_a_grader_error(tmp_path):
    sub = reference_submission(tmp_path / "ref", files=("pytorch_ann.py",))
    code = ("import sys; sys.modules['torch'] = None\n"
            "from grader.__main__ import main\n"
            f"sys.exit(main([{str(sub)!r}, '--fast', '--results', {str(tmp_path / 'r.json')!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "torch is not installed" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_broken_sandbox_is_a_grader_error(tmp_path, monkeypatch):
    """The grader's own child breaking (here: its probe cannot be loaded) stops the grade."""
    import grader.sandbox as sandbox_module

    broken = tmp_path / "probe.py"
    broken.write_text("this is not python\n")
    monkeypatch.setattr(sandbox_module, "PROBE", broken)
    sub = reference_submission(tmp_path / "ref", files=("numpy_ann.py",))
    with pytest.raises(GraderError, match="zygote"):
        grade(sub, fast=True)


def test_check_bug_is_a_grader_error(tmp_path, sandbox, monkeypatch):
    """A bug in a check (here: one that crashes on any result) is the grader's, never a zero."""
    from grader.checks import common

    def broken(ctx):
        """A check that fails with an unexpected exception."""
        yield []
        raise KeyError("oops")
    monkeypatch.setitem(common.CHECKS, "1.2", broken)
    sub = reference_submission(tmp_path / "ref", files=("numpy_ann.py",))
    with pytest.raises(GraderError, match="item 1.2"):
        grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)


def test_registry_refuses_a_half_registered_item(monkeypatch):
    from grader import checks
    from grader.rubric import Item

    monkeypatch.setattr("grader.rubric.ITEMS", ITEMS + (Item("9.9", "new", 1, "numpy_unit", True),))
    with pytest.raises(RuntimeError, match=r"items without a check \['9.9'\]"):
        checks.registry()


# --------------------------------------------------------------------------- Gradescope files
GRADESCOPE = ROOT / "grader" / "gradescope"


def test_build_zip_has_gradescope_layout(tmp_path):
    import zipfile

    out = tmp_path / "autograder.zip"
    subprocess.run(["bash", str(GRADESCOPE / "build_zip.sh"), str(out)], check=True, capture_output=True,
                   timeout=120)
    names = set(zipfile.ZipFile(out).namelist())
    assert {"setup.sh", "run_autograder", "utils.py", "requirements.txt", "constraints.txt",
            "grader/__main__.py", "grader/probe.py", "grader/wire.py", "grader/sandbox.py", "grader/runner.py",
            "course/facts.py", "course/judgement.py", "course/contract.py"} <= names
    assert not any(name.startswith(("release/", "reference/")) for name in names)
    assert {f"data/FashionMNIST/raw/{n}-ubyte.gz" for n in
            ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")} <= names
    assert not names & set(REFERENCE_FILES)
    assert (zipfile.ZipFile(out).getinfo("run_autograder").external_attr >> 16) & 0o111
