"""The grading environment is pinned, and CI runs in it: constraints.txt is what is installed here
(CI installs through it), and the Gradescope image's set-up uses the same pins and Python 3.11."""
import importlib.metadata
import subprocess
import sys

from helpers import ROOT

GRADESCOPE = ROOT / "grader" / "gradescope"


def pins():
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            yield name, version


def test_installed_packages_are_the_pinned_ones():
    wrong = {name: (importlib.metadata.version(name), version) for name, version in pins()
             if importlib.metadata.version(name).split("+")[0] != version}  # +cu130, +cpu: the same release
    assert not wrong, f"installed vs pinned: {wrong}; run pip install -r requirements.txt"


def test_requirements_go_through_the_constraints():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert "-c constraints.txt" in requirements and "-r requirements-course.txt" in requirements
    course = {line.split(">")[0] for line in (ROOT / "requirements-course.txt").read_text().splitlines()
              if line and not line.startswith("#")}
    assert course == {"numpy", "torch", "torchvision", "scikit-learn", "matplotlib"}
    assert course <= {name for name, _ in pins()}


def test_python_is_the_courses():
    assert sys.version_info[:2] == (3, 11)


def test_gradescope_setup_pins_python_and_packages_and_installs_no_test_tools():
    setup = (GRADESCOPE / "setup.sh").read_text()
    assert 'PYTHON_VERSION=3.11 ' in setup and 'uv python install "$PYTHON_VERSION"' in setup
    assert "-r requirements-course.txt -c constraints.txt" in setup
    assert "pytest" not in setup and "-r requirements.txt" not in setup
    for script in ("setup.sh", "run_autograder", "build_zip.sh"):
        subprocess.run(["bash", "-n", str(GRADESCOPE / script)], check=True)


def test_run_autograder_always_passes_the_user_as_root():
    script = (GRADESCOPE / "run_autograder").read_text()
    assert 'args+=(--user "$user")' in script and "refusing to run student code as root" in script
    assert "runuser" not in script  # no probe that could quietly fall back to root
