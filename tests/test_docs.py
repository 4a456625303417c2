"""README.md and docs/: a short front door, links that resolve, and no command that goes stale.

Every command in a ```bash block of README.md or docs/*.md is accounted for, exactly once: run here
as written (``/tmp/`` becomes a folder of the test's own), or run by the test that CLAIMS it (its
source holds the command), or listed in NOT_RUN with the reason (the network, minutes of training).
A claimed command must stand where the claiming file runs it (a line of .ci/run, or a ``bash -c``
string of a test), not in a mere mention. A command added to a page without a place here fails the
first test; one left here after the page dropped it fails it too.
"""
from __future__ import annotations

import re

import pytest
from helpers import ROOT, typed

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

RUN = {  # command -> seconds it may take (over a few: the test is slow)
    "python -m grader --help": 60,
    "python -m grader.batch --help": 60,
    "python -m reference pytorch_ann --help": 60,
    "python -m reference numpy_ann --epochs 50 --lr 0.1 --quiet": 300,
    "python -m ruff check .": 120,
    "python tests/test_layout.py": 60,
    "grader/gradescope/build_zip.sh dist/autograder.zip": 120,
    "grader/gradescope/build_zip.sh --budget 1080 dist/autograder.zip": 120,
    "python -m grader tests/submissions/complete --fast --results /tmp/results.json": 600,
    "python -m grader.similarity samples/assignment_123_export --out /tmp/similarity --show 5": 300,
}
QUICK = {"python -m grader --help", "python -m grader.batch --help", "python tests/test_layout.py"}
CLAIMED = {  # command -> the file that runs it (its source holds the command)
    "python -m venv .venv && source .venv/bin/activate": ".ci/run",
    "python -m pip install -r requirements.txt": ".ci/run",
    "python -m pytest": ".ci/run",
    "python -m release build && python -m release check --fast": "tests/conftest.py",
    "python -m release build": "tests/conftest.py",
    "python -m release check --fast": "tests/conftest.py",
    "python -m grader.batch samples/assignment_123_export --out /tmp/grades --fast": "tests/test_samples.py",
    "python -m grader.similarity samples/assignment_123_export --out /tmp/similarity": "tests/test_samples.py",
}
NOT_RUN = {
    "python numpy_ann.py": "the solution's full grade runs it as the grader does, beside utils.py and the data "
                           "(tests/test_numpy_ann.py reads that run), and release check runs it in the bare handout",
    "python -m pytest tests/test_theory.py -v": "the suite runs tests/test_theory.py itself",
    "python -m pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt":
        "PyTorch's index is out of CI's reach; grader/gradescope/setup.sh installs from the same index "
        "(test_the_cpu_install_is_setup_shs)",
    "python -m pytest -m \"not slow\"": "the suite's own quick subset: the suite runs every test in it",
    "python -m release check": "before a release (minutes): the suite runs its --fast part and, in the solution's "
                               "full grade (solution_full), its real-data round trip",
    "python -m reference pytorch_cnn --full": "14 minutes of training: BENCHMARKS.md records its run",
    "python -m grader tests/submissions/complete --results /tmp/results.json":
        "a full grade (minutes): the suite grades this submission in full in process (complete_full, "
        "tests/test_submissions.py) and runs this command line with --fast (above)",
    "python -m grader.batch samples/assignment_123_export --out /tmp/grades-full --jobs 2":
        "a full batch of eight submissions takes about 20 minutes; the suite grades their unit items "
        "(tests/test_samples.py) and the corpus in full (tests/test_submissions.py)",
    "sudo python -m grader tests/submissions/complete --user nobody --fast --results /tmp/results.json":
        "needs root and a Python the grading user can read; tests/test_grader_attacks.py grades with --user "
        "as throwaway users, with an interpreter they can run",
    "python docs/analysis.py": "minutes of training; tests/test_analysis.py checks the page against its output and "
                               "reruns its quick runs",
    "python -m benchmarks.run --skip-full": "about 20 minutes; BENCHMARKS.md is its output",
}


def documented() -> dict[str, str]:
    """Every command of a ```bash block, and the page it is on (comments and blank lines left out)."""
    found = {}
    for page in PAGES:
        for block in re.findall(r"^```bash\n(.*?)^```", page.read_text(), re.M | re.S):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if command and not command.startswith("#"):
                    found.setdefault(command, page.relative_to(ROOT).as_posix())
    return found


def test_every_documented_command_is_run_or_says_why_not():
    listed = set(RUN) | set(CLAIMED) | set(NOT_RUN)
    assert not set(RUN) & set(CLAIMED) and not (set(RUN) | set(CLAIMED)) & set(NOT_RUN)
    assert {c: p for c, p in documented().items() if c not in listed} == {}, "documented, never run"
    assert sorted(listed - set(documented())) == [], "listed here, on no page"


@pytest.mark.parametrize("command, where", sorted(CLAIMED.items()))
def test_a_claimed_command_is_run_by_the_file_that_claims_it(command, where):
    text = (ROOT / where).read_text()
    runs = text.splitlines() if where == ".ci/run" else re.findall(r'\["bash", "-c", "([^"]+)"\]', text)
    assert any(command in line for line in runs), f"{where} does not run `{command}`"


def run(command, tmp_path, timeout):
    return typed(["bash", "-c", command], tmp_path, timeout)


@pytest.mark.parametrize("command", sorted(QUICK))
def test_a_quick_documented_command_runs(command, tmp_path):
    done = run(command, tmp_path, RUN[command])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(set(RUN) - QUICK))
def test_a_documented_command_runs(command, tmp_path):
    done = run(command, tmp_path, RUN[command])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_the_cpu_install_is_setup_shs():
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in (
        ROOT / "grader" / "gradescope" / "setup.sh").read_text()


def test_the_readme_is_a_front_door_and_every_link_resolves():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).resolve().exists(), f"{page.name}: {target}"
    for page in ("reference", "handout", "gradescope", "grading", "class", "isolation", "development"):
        assert f"(docs/{page}.md" in readme


def test_dated_timings_live_in_benchmarks_only():
    for page in PAGES:
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", page.read_text()), page.name
