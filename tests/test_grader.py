"""The grader: the reference scores full marks, seeded bugs lose points on their own
item only, and broken submissions still give a valid results.json in bounded time.

The bug submissions are generated from the reference files (tests/grader_bugs.py) and
graded with ``--fast`` checks (the unit groups), several at once to keep this quick.
The one full grade of the reference on the real data is marked slow.
"""
from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import ITEMS, grade, results_json, table, write_results
from grader.__main__ import main as grader_main
from grader.rubric import THRESHOLDS

from grader_bugs import BUGS, ROOT, write_submission

REFERENCE_FILES = ("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py")
UNIT_GROUP = {"numpy_ann.py": "numpy_unit", "pytorch_ann.py": "ann_unit", "pytorch_cnn.py": "cnn_unit"}
FAST_ZERO = set(THRESHOLDS)  # the real-data items, skipped (score 0) by --fast
POINTS = {item.id: item.points for item in ITEMS}


def reference_submission(directory: Path, files=REFERENCE_FILES) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(ROOT / name, directory / name)
    return directory


def scores(report) -> dict[str, float]:
    return {r.item.id: r.score for r in report.results}


def outputs(report) -> dict[str, str]:
    return {r.item.id: r.output for r in report.results}


def assert_valid_results(data: dict) -> None:
    """Gradescope's format, one test per rubric item, scores within bounds and summed."""
    assert set(data) >= {"score", "execution_time", "output", "tests"}
    assert [t["number"] for t in data["tests"]] == [item.id for item in ITEMS]
    for test, item in zip(data["tests"], ITEMS):
        assert set(test) >= {"number", "name", "score", "max_score", "output", "visibility"}
        assert test["max_score"] == item.points
        assert 0 <= test["score"] <= item.points
        assert isinstance(test["output"], str) and test["output"]
        assert test["visibility"] == "visible"
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    assert data["execution_time"] >= 0


# --------------------------------------------------------------------------- reference, fast
@pytest.fixture(scope="module")
def fast_reference(tmp_path_factory):
    submission = reference_submission(tmp_path_factory.mktemp("reference"))
    return grade(submission, fast=True, jobs=2, item_timeout=20)


def test_reference_full_marks_on_every_fast_item(fast_reference):
    got = scores(fast_reference)
    for item in ITEMS:
        if item.id in FAST_ZERO:
            assert got[item.id] == 0 and "--fast" in outputs(fast_reference)[item.id]
        else:
            assert got[item.id] == item.points, (item.id, outputs(fast_reference)[item.id])
    assert fast_reference.score == 42 - sum(POINTS[i] for i in FAST_ZERO)
    assert_valid_results(results_json(fast_reference))


# --------------------------------------------------------------------------- seeded bugs
@pytest.fixture(scope="module")
def bug_reports(tmp_path_factory):
    """Grade every seeded bug (its file's unit group, plus the judgement word check)."""
    base = tmp_path_factory.mktemp("bugs")

    def one(index_bug):
        index, bug = index_bug
        submission = write_submission(bug, base / f"bug{index}")
        group = UNIT_GROUP[bug.file]
        groups = [group, group.replace("_unit", "_run")]
        return bug.name, grade(submission, fast=True, item_timeout=20, groups=groups)

    with ThreadPoolExecutor(max_workers=3) as pool:
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
    graded = {item.id for item in ITEMS if item.group in (UNIT_GROUP[bug.file],
                                                         UNIT_GROUP[bug.file].replace("_unit", "_run"))}
    for item_id in graded - {bug.item} - set(bug.also):
        assert got[item_id] == want[item_id], f"{bug.name} also cost {item_id}:\n{out[item_id]}"


# --------------------------------------------------------------------------- broken submissions
def test_missing_files_give_valid_results(tmp_path):
    (tmp_path / "sub").mkdir()
    results = tmp_path / "out" / "results.json"
    assert grader_main([str(tmp_path / "sub"), "--results", str(results), "--fast"]) == 0
    data = json.loads(results.read_text())
    assert_valid_results(data)
    assert data["score"] == 0
    assert "numpy_ann.py was not submitted" in data["tests"][0]["output"]


def test_nested_folder_and_foreign_utils(tmp_path):
    """A zipped folder is found; the student's own utils.py is never used."""
    sub = tmp_path / "sub" / "homework"
    reference_submission(sub, files=("numpy_ann.py",))
    (sub / "utils.py").write_text("raise RuntimeError('the student utils must not be imported')\n")
    report = grade(tmp_path / "sub", fast=True, groups=["numpy_unit"])
    assert all(scores(report)[f"1.{i}"] == POINTS[f"1.{i}"] for i in range(1, 10))


def numpy_variant(tmp_path, name, edit) -> Path:
    sub = tmp_path / name
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(edit((ROOT / "numpy_ann.py").read_text()))
    return sub


def after_imports(source: str, code: str) -> str:
    """Insert module-level code right after the reference's ``import numpy as np``."""
    assert "\nimport numpy as np\n" in source
    return source.replace("\nimport numpy as np\n", "\nimport numpy as np\n" + code, 1)


def test_syntax_error(tmp_path):
    sub = numpy_variant(tmp_path, "syntax", lambda s: s.replace("def _relu(z):", "def _relu(z)", 1))
    results = tmp_path / "results.json"
    grader_main([str(sub), "--results", str(results), "--fast"])
    data = json.loads(results.read_text())
    assert_valid_results(data)
    part1 = [t for t in data["tests"] if t["number"].startswith("1.")]
    assert all(t["score"] == 0 for t in part1)
    assert "syntax error" in part1[0]["output"]


def test_import_time_crash_and_flood_of_output(tmp_path):
    crash = ("import os\nos.write(1, b'x' * 20_000_000)\nprint('y' * 5_000_000)\n"
             "raise RuntimeError('boom at import')\n")
    sub = numpy_variant(tmp_path, "crash", lambda s: after_imports(s, crash))
    started = time.time()
    report = grade(sub, fast=True, groups=["numpy_unit"])
    assert time.time() - started < 30
    assert all(r.score == 0 for r in report.results)
    assert "RuntimeError: boom at import" in outputs(report)["1.1"]
    assert len(json.dumps(results_json(report))) < 200_000


def test_train_that_never_returns_costs_only_train(tmp_path):
    hang = "\n\ndef _hang(self, *args, **kwargs):\n    while True:\n        pass\n\n\nNumpyANN.train = _hang\n"
    sub = numpy_variant(tmp_path, "hang", lambda s: s + hang)
    started = time.time()
    report = grade(sub, fast=True, item_timeout=2, groups=["numpy_unit"])
    assert time.time() - started < 20
    got = scores(report)
    assert got["1.7"] == 0 and "did not finish within the time limit" in outputs(report)["1.7"]
    assert all(got[f"1.{i}"] == POINTS[f"1.{i}"] for i in (1, 2, 3, 4, 5, 6, 8, 9))


def test_real_data_run_that_never_returns_is_stopped(tmp_path):
    hang = "\n\ndef _hang(self, *args, **kwargs):\n    while True:\n        pass\n\n\nNumpyANN.train = _hang\n"
    # Before the __main__ block, so the script's own training hangs.
    def before_main(source):
        head, main_block = source.rsplit('\nif __name__ == "__main__":', 1)
        return head + hang + '\nif __name__ == "__main__":' + main_block
    sub = numpy_variant(tmp_path, "hang_run", before_main)
    results = tmp_path / "results.json"
    started = time.time()
    grader_main([str(sub), "--results", str(results), "--timeout", "4", "--jobs", "2"])
    assert time.time() - started < 20
    data = json.loads(results.read_text())
    assert_valid_results(data)
    run = next(t for t in data["tests"] if t["number"] == "1.10")
    assert run["score"] == 0 and "time limit of 4 s" in run["output"]


def test_exit_mid_group_keeps_finished_items(tmp_path):
    """os._exit inside _relu_grad ends the child: 1.1 and 1.2 were saved, the rest say why."""
    sub = numpy_variant(tmp_path, "exit", lambda s: s.replace(
        "        return (np.asarray(z) > 0).astype(int)",
        "        import os\n        os._exit(3)", 1))
    report = grade(sub, fast=True, groups=["numpy_unit"])
    got, out = scores(report), outputs(report)
    assert got["1.1"] == 3 and got["1.2"] == 1
    assert got["1.3"] == 0 and "exit code 3" in out["1.3"]
    assert got["1.9"] == 0


def test_sys_exit_in_a_method_costs_only_that_item(tmp_path):
    sub = numpy_variant(tmp_path, "sysexit", lambda s: s.replace(
        "        return _accuracy(self._forward(X, training=False), y_true)",
        "        import sys\n        sys.exit(0)", 1))
    report = grade(sub, fast=True, groups=["numpy_unit"])
    got = scores(report)
    assert got["1.9"] == 0 and "exit(0)" in outputs(report)["1.9"]
    assert all(got[f"1.{i}"] == POINTS[f"1.{i}"] for i in range(1, 9))


def test_forged_observations_cannot_exceed_the_rubric(tmp_path):
    """Code that writes its own observations file and quits cannot score beyond its group's
    maxima, nor touch other groups' items or the results file."""
    forged = {"items": {i: {"parts": [[True, 1e9, "forged"]]} for i in ("1.1", "2.1", "3.1")},
              "runs": {"1.10": {"pred": [0] * 5}}, "fatal": None}
    code = ("import json, os, sys\n"
            f"json.dump({forged!r}, open(sys.argv[2], 'w'))\n"
            "open('results.json', 'w').write('{}')\n"
            "os._exit(0)\n")
    sub = numpy_variant(tmp_path, "forge", lambda s: after_imports(s, code))
    results = tmp_path / "results.json"
    grader_main([str(sub), "--results", str(results), "--fast"])
    data = json.loads(results.read_text())
    assert_valid_results(data)
    by_id = {t["number"]: t for t in data["tests"]}
    assert by_id["1.1"]["score"] <= 3
    assert by_id["2.1"]["score"] == 0 and by_id["3.1"]["score"] == 0
    assert data["score"] <= 3


def test_table_and_results_writer(tmp_path, fast_reference):
    text = table(fast_reference)
    assert text.splitlines()[0].split() == ["item", "score", "max", "why"]
    assert all(f"\n{item.id} " in text for item in ITEMS)
    path = write_results(fast_reference, tmp_path / "deep" / "results.json")
    assert_valid_results(json.loads(path.read_text()))


# --------------------------------------------------------------------------- reference, full
@pytest.mark.slow
def test_reference_scores_42_of_42(tmp_path):
    """The full grade: the handout protocol on the real data, judgements against the curves."""
    submission = reference_submission(tmp_path / "reference")
    results = tmp_path / "results.json"
    started = time.time()
    assert grader_main([str(submission), "--results", str(results)]) == 0
    elapsed = time.time() - started
    data = json.loads(results.read_text())
    assert_valid_results(data)
    failed = {t["number"]: t["output"] for t in data["tests"] if t["score"] != t["max_score"]}
    assert not failed, failed
    assert data["score"] == 42
    print(f"full grade of the reference: {elapsed:.0f} s")


# --------------------------------------------------------------------------- Gradescope files
GRADESCOPE = ROOT / "grader" / "gradescope"


def test_run_autograder_writes_results_where_gradescope_reads_them(tmp_path):
    """run_autograder with Gradescope's layout (rooted in a temporary directory)."""
    import os
    import subprocess
    import sys

    (tmp_path / "source").symlink_to(ROOT)
    (tmp_path / "submission").mkdir()
    env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), AUTOGRADER_PYTHON=sys.executable)
    subprocess.run(["bash", str(GRADESCOPE / "run_autograder")], env=env, check=True,
                   capture_output=True, timeout=60)
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert_valid_results(data)
    assert data["score"] == 0


def test_build_zip_has_gradescope_layout(tmp_path):
    import subprocess
    import zipfile

    out = tmp_path / "autograder.zip"
    subprocess.run(["bash", str(GRADESCOPE / "build_zip.sh"), str(out)], check=True, capture_output=True,
                   timeout=120)
    names = set(zipfile.ZipFile(out).namelist())
    assert {"setup.sh", "run_autograder", "utils.py", "requirements.txt", "grader/__main__.py",
            "grader/child.py", "grader/runner.py"} <= names
    assert {f"data/FashionMNIST/raw/{n}-ubyte.gz" for n in
            ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")} <= names
    assert not names & set(REFERENCE_FILES)
    assert (zipfile.ZipFile(out).getinfo("run_autograder").external_attr >> 16) & 0o111


def test_student_code_cannot_import_the_reference(tmp_path):
    """Only the submitted files are importable: not the repository's reference solution."""
    sub = tmp_path / "sub"
    sub.mkdir()
    source = (ROOT / "pytorch_cnn.py").read_text()
    (sub / "pytorch_cnn.py").write_text(source.replace("\nimport torch\n", "\nimport torch\nimport numpy_ann\n", 1))
    report = grade(sub, fast=True, groups=["cnn_unit", "cnn_run"])
    assert scores(report)["3.1"] == 0
    assert "No module named 'numpy_ann'" in outputs(report)["3.1"]


def test_missing_method_and_wrong_return_type(tmp_path):
    """A deleted method and a method returning the wrong type cost their items, with reasons."""
    def edit(source):
        source = source.replace("    def _relu_grad(z):", "    def _relu_grad_renamed(z):", 1)
        return source.replace("        return self._forward(self._check_X(X, \"X\"), training=False)",
                              "        return \"probabilities\"", 1)
    sub = numpy_variant(tmp_path, "missing", edit)
    report = grade(sub, fast=True, groups=["numpy_unit"])
    got, out = scores(report), outputs(report)
    assert got["1.3"] == 0 and "has no attribute '_relu_grad'" in out["1.3"]
    assert got["1.8"] < 1 and "expected numbers" in out["1.8"]
    for item_id in ("1.1", "1.2", "1.4", "1.5", "1.9"):
        assert got[item_id] == POINTS[item_id], out[item_id]
