"""release/: the student handout built from the solution, and the proofs of ``release check``.

The quick tests exercise the build and the static proofs (each with a control that the proof
would catch the fault); the slow ones run ``python -m release check --fast`` (fresh-environment
zip included) and hand the solution in for a full grade (``solution_full``, started with the
session: the CNN's 60 full-batch epochs most of it).
"""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT

from course.contract import CONTRACT, FILES, REGION, REGIONS
from course.regions import outside_regions
from grader.rubric import ITEMS
from release import build as release_build
from release import check as release_check
from release.build import LayoutError, render, write_handout


def test_the_solution_and_its_handout_have_the_contract():
    assert release_check.contract_problems() == []


def test_a_signature_that_breaks_the_contract_is_caught():
    text = (ROOT / "numpy_ann.py").read_text().replace(
        "def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):",
        "def train(self, X_train, y_train, X_val, y_val, epochs, batch_size=64):")
    problems = release_check._has_the_contract("numpy_ann.py", text)
    assert problems == ["numpy_ann.py: NumpyANN.train(self, X_train, y_train, X_val, y_val, epochs, batch_size=64), "
                        "the contract says (self, X_train, y_train, X_val, y_val, epochs, batch_size)"]


@pytest.mark.parametrize("name", FILES)
def test_the_solution_files_are_the_handout_filled_in(name):
    """Outside its regions each solution file is its handout line for line, docstrings and main
    block included; the handout's regions hold one placeholder each."""
    solution = (ROOT / name).read_text()
    assert render(name, filled=True) == solution
    assert outside_regions(render(name), name) == outside_regions(solution, name)
    assert release_check._provided_code_is_pinned(name, solution) == []


def test_an_edit_to_the_provided_code_is_caught_until_it_is_pinned(monkeypatch):
    """Inside a region the solution may change freely; outside, the change is to the handout."""
    text = (ROOT / "pytorch_ann.py").read_text()
    inside = text.replace("        self.seed = random_seed\n", "        self.seed = int(random_seed)\n")
    outside = text.replace('"""Logits: (N, input_size)', '"""Scores: (N, input_size)')  # a docstring students read
    assert release_check._provided_code_is_pinned("pytorch_ann.py", inside) == []
    [problem] = release_check._provided_code_is_pinned("pytorch_ann.py", outside)
    assert problem.startswith("pytorch_ann.py: its provided code (every line outside the regions) is not the pinned")
    pin = re.search(r"= '([0-9a-f]{64})'$", problem)[1]
    monkeypatch.setitem(release_check.PROVIDED, "pytorch_ann.py", pin)
    assert release_check._provided_code_is_pinned("pytorch_ann.py", outside) == []


def test_the_course_files_use_nothing_of_the_project():
    for name in FILES:
        text = (ROOT / name).read_text()
        assert release_check._imports(name, text) == []
        assert release_check._imports(name, "import reference\nfrom course import facts\n") == [
            f"{name} imports ['course', 'reference'], beyond the course's packages"]


def test_no_solution_line_reaches_the_handout_and_a_leak_is_caught(monkeypatch):
    assert release_check.leak_problems() == []
    monkeypatch.setattr(release_check, "render", lambda name: render(name, filled=True))
    leaks = release_check.leak_problems()
    assert any("self._relu(z1)" in leak or "np.maximum(0, z)" in leak for leak in leaks)


def test_the_handout_has_the_skeletons_regions():
    """The course's skeleton has 14, 13 and 2 regions; the handout adds one, for the body of
    NumpyANN._cross_entropy that students write without a marked region there."""
    assert REGIONS == {"numpy_ann.py": 14 + 1, "pytorch_ann.py": 13, "pytorch_cnn.py": 2}
    assert CONTRACT["numpy_ann.py"]["NumpyANN._cross_entropy"][1] == [REGION]


@pytest.mark.parametrize("name", FILES)
def test_every_region_is_a_placeholder(name):
    handout = render(name)
    regions = sum(1 for line in handout.splitlines() if line.strip() == "# >>> YOUR CODE HERE >>>")
    assert regions == REGIONS[name]
    assert handout.count("raise NotImplementedError(") == regions
    assert 'if __name__ == "__main__":' in handout and "doctest.testmod(optionflags=doctest.ELLIPSIS)" in handout


@pytest.mark.parametrize("edit, method", [
    # a region's marks removed: its code becomes provided code, one region too few
    (lambda s: s.replace("        # >>> YOUR CODE HERE >>>\n        dz1 =", "        dz1 =", 1).replace(
        "self._relu_grad(self.z1)  # (m, h)\n        # <<< END OF YOUR CODE <<<\n",
        "self._relu_grad(self.z1)  # (m, h)\n", 1), "NumpyANN._backward"),
    # provided code changed: the skeleton prints the progress every 10th epoch
    (lambda s: s.replace("            if (epoch + 1) % 10 == 0:\n", "            if (epoch + 1) % 5 == 0:\n", 1),
     "NumpyANN.train"),
])
def test_a_solution_whose_marks_break_the_layout_is_refused(edit, method):
    source = (ROOT / "numpy_ann.py").read_text()
    assert edit(source) != source
    with pytest.raises(LayoutError, match=rf"numpy_ann.py: {method}"):
        render("numpy_ann.py", text=edit(source))


def test_utils_offers_the_skeletons_helpers_and_reads_no_curves():
    text = (ROOT / "utils.py").read_text()
    assert release_check.utils_problems(text) == []
    assert release_check.utils_problems(text + "\ndef diagnose_fit(metrics):\n    pass\n") == [
        "utils.py mentions 'diagnose'", "utils.py mentions 'diagnose_fit'"]
    import utils

    assert {"print_red", "print_green", "print_yellow", "print_blue", "assert_greater_equal",
            "assert_less_equal", "load_mnist_f", "FashionMNISTError"} <= set(vars(utils))


def test_the_student_readme_rubric_is_the_graders():
    """One row per rubric item, in order: its id, name, points, public or hidden (public exactly
    when Gradescope shows it at once) and its check's own statement of what it proves."""
    from grader.checks import registry
    from grader.rubric import TOTAL_POINTS

    readme = release_build.student_readme()
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in readme.splitlines()
            if re.match(r"^\| \d+\.\d+ \|", line)]
    checks = registry()
    assert rows == [[i.id, i.name, str(i.points), "public" if i.public else "hidden",
                     " ".join(checks[i.id].__doc__.split())] for i in ITEMS]
    assert sum(int(r[2]) for r in rows) == TOTAL_POINTS == 42 and f"({TOTAL_POINTS} points)" in readme
    assert "utils.diagnose_fit" not in readme and "generalizing" in readme  # the rule, in words


@pytest.mark.slow  # builds a handout and runs pytest in it, as a student: 4 s
def test_the_public_tests_run_in_the_handout_like_the_grader(tmp_path):
    """``python -m pytest`` in a handout folder: one test per public unit item, named after it;
    a failure shows the grader's message and hint; the summary counts the public points and names
    the hidden items; the repository's pytest configuration does not leak in."""
    handout = release_build.write_public_tests(write_handout(tmp_path / "handout", filled=True))
    source = (handout / "numpy_ann.py").read_text()
    (handout / "numpy_ann.py").write_text(source.replace("dW1 = X.T @ dz1 / m", "dW1 = X.T @ dz1", 1))
    done = subprocess.run([sys.executable, "-m", "pytest", "-v"], cwd=handout, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    out = done.stdout
    tested = release_build.public_data()["tested"]
    names = re.findall(r"tests/test_public.py::(test_\w+) (PASSED|FAILED)", out)
    assert [n.split("_", 3)[1:3] for n, _ in names] == [i.split(".") for i in tested], out
    assert [result for _, result in names].count("FAILED") == 1 and "test_1_6_" in [n for n, r in names
                                                                                 if r == "FAILED"][0][:9]
    assert "hidden layer: W1 and b1 move by -lr * gradient" in out
    assert "\nHint: divide each gradient by the batch size m" in out
    assert "Public tests: 20 of 22 public points passed (11 items)." in out  # 1.6 keeps 1 of its 3 points
    assert "Hidden, checked only by the autograder: 1.1 (3), 1.7 (2), 2.3 (5), 2.5 (1), 2.7 (1), 3.3 (2)" in out
    assert "Passing every test here is not full marks" in out
    assert "doctest" not in out.lower() and "local.py" not in out  # its own configuration; no runner traceback


def test_a_handout_built_earlier_must_equal_a_fresh_build(tmp_path):
    write_handout(tmp_path)
    assert release_check.drift_problems(tmp_path) == []
    (tmp_path / "pytorch_ann.py").write_text(render("pytorch_ann.py").replace("hidden_size=32", "hidden_size=64"))
    assert release_check.drift_problems(tmp_path) == [
        f"{tmp_path / 'pytorch_ann.py'} differs from a fresh build: rebuild with `python -m release build`"]


@pytest.mark.slow  # builds the handout: seconds
def test_build_writes_the_handout_folder_and_zip(tmp_path):
    archive = release_build.build(tmp_path / "dist")
    names = set(zipfile.ZipFile(archive).namelist())
    expected = {f"handout/{n}" for n in (*FILES, "utils.py", "requirements.txt", "README.md",
                                         "data/FashionMNIST/raw/README.md")}  # the dataset's licence
    expected |= {f"handout/data/FashionMNIST/raw/{n}-ubyte.gz" for n in
                 ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")}
    expected |= {"handout/pytest.ini", "handout/tests/conftest.py", "handout/tests/test_public.py",
                 "handout/tests/public.json", "handout/tests/autograder/__init__.py"}
    expected |= {f"handout/tests/autograder/{name}" for name in release_build.SHIPPED_TESTS}
    assert names == expected
    handout = tmp_path / "dist" / "handout"
    assert (handout / "utils.py").read_bytes() == (ROOT / "utils.py").read_bytes()
    requirements = (handout / "requirements.txt").read_text()
    assert "numpy==" in requirements and "torch==" in requirements and "\npytest==" in requirements
    readme = (handout / "README.md").read_text()
    assert "≥ 0.77" in readme and "≥ 0.85" in readme and "**hidden**" in readme and "{" not in readme


@pytest.mark.slow  # builds the handout: seconds
def test_the_bare_numpy_file_imports_quietly_and_reports_failing_doctests(tmp_path):
    write_handout(tmp_path)
    done = subprocess.run([sys.executable, "-c", "import numpy_ann"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout and not done.stderr
    done = subprocess.run([sys.executable, "numpy_ann.py"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "TERM": "dumb"}, timeout=120)
    assert done.returncode == 0 and "Doctests failed!" in done.stdout and "Traceback" not in done.stderr
    assert "NotImplementedError: NumpyANN.__init__: your code here" in done.stdout  # doctest's own report


@pytest.mark.slow
def test_release_check_proves_the_handout(release_check_run):
    """README's ``python -m release build && python -m release check --fast``, as a TA runs it
    (started with the session, tests/conftest.py): every proof but the real-data runs: the
    contract, no leaks, the bare handout graded 0, the solution 36/36 (the script items skipped),
    the public tests' parity with the grader, the zip on a fresh venv.

    The full check (``python -m release check``, before a release) adds the solution's three
    real-data runs; the suite grades those in the solution's full grade below, started with the
    session, so that it stays under 10 minutes on 2 cores."""
    done = release_check_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    print(done.stdout)
    assert lines[0] == "wrote dist/handout and dist/handout.zip"
    round_trip = [line for line in lines if line.startswith("round trip: the grader scores")]
    assert len(round_trip) == 1
    assert re.match(r"round trip: the grader scores the solution 36/36 \(--fast: the real-data runs "
                    r"skipped\) in \d+ s$", round_trip[0]), round_trip[0]
    assert "zip on a fresh environment: ok" in lines and "bare handout: ok" in lines
    assert lines[-1] == "release check: every proof holds"


@pytest.mark.slow
def test_the_solution_handed_in_earns_42_of_42(solution_full):
    """The three solution files, graded as a student's submission in full: every item full marks,
    the script items' accuracies within their thresholds' noise band at worst."""
    files, report = solution_full
    assert files == set(FILES)
    lost = {r.item.id: r.output for r in report.results if r.score != r.max_score}
    assert not lost and report.score == 42, lost
    assert not report.flags and not report.notes, (report.flags, report.notes)
    print({item_id: m["accuracy"] for item_id, m in report.measurements.items()})


def test_the_gradescope_zip_and_the_handout_ship_the_same_sources(tmp_path):
    """utils.py, the course package (the facts the grader reads), the course's requirements and the
    data come from the same files in both zips; only the handout adds pytest, for its public tests;
    the grader's zip ships neither the solution nor release/."""
    script = (ROOT / "grader" / "gradescope" / "build_zip.sh").read_text()
    assert "release" not in script.split("set -euo pipefail")[1] and "numpy_ann.py" not in script
    for source in ("utils.py", "course", "requirements-course.txt", "constraints.txt", "data/FashionMNIST/raw"):
        assert source in script
    course = [line.split(">")[0] for line in (ROOT / "requirements-course.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    pinned = [line.split("==")[0] for line in release_build.student_requirements().splitlines() if "==" in line]
    assert pinned == [*course, "pytest"]
    assert "pytest" not in (ROOT / "grader" / "gradescope" / "setup.sh").read_text()
