"""The grading environment is pinned, and CI runs in it: constraints.txt is what is installed here
(CI installs through it), and the Gradescope image's set-up uses the same pins and Python 3.11."""
import importlib.metadata
import subprocess
import sys

from helpers import ROOT
from packaging.requirements import Requirement  # matplotlib requires packaging: it is installed
from packaging.utils import canonicalize_name

GRADESCOPE = ROOT / "grader" / "gradescope"


def pins():
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            yield name, version


def requested(path):
    """The requirements a requirements file asks for, following its -r lines (-c only constrains)."""
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            yield from requested(ROOT / line[3:].strip())
        elif line and not line.startswith("-"):
            yield Requirement(line)


def installed_by_requirements() -> dict[str, str]:
    """Name -> installed version of every distribution `pip install -r requirements.txt` put here:
    requirements.txt's packages and, recursively, what each requires in this environment (its
    markers evaluated: platform, Python, and only the extras that were asked for)."""
    found, done = {}, set()
    todo = list(requested(ROOT / "requirements.txt"))
    while todo:
        req = todo.pop()
        dist = importlib.metadata.distribution(req.name)  # PackageNotFoundError: not installed
        name = canonicalize_name(req.name)
        found[name] = dist.version
        for extra in {"", *req.extras}:  # "": the requirements every install of it has
            if (name, extra) not in done:
                done.add((name, extra))
                todo += [r for r in map(Requirement, dist.requires or [])
                         if r.marker is None or r.marker.evaluate({"extra": extra})]
    return found


def test_constraints_pin_everything_requirements_install():
    """A package pulled in but not pinned (scikit-learn's narwhals, joblib's cloudpickle, torch's
    setuptools were) takes whatever release is newest on the day CI or Gradescope installs."""
    pinned = {canonicalize_name(name) for name, _ in pins()}
    unpinned = sorted(set(installed_by_requirements()) - pinned)
    assert not unpinned, f"installed by requirements.txt but not pinned in constraints.txt: {unpinned}"


def test_installed_packages_are_the_pinned_ones():
    """What is installed is what constraints.txt pins. Pins nothing here requires (the CUDA
    packages, under the CPU build) are not checked: a constraint installs nothing."""
    installed = installed_by_requirements()
    wrong = {name: (installed[canonicalize_name(name)], version) for name, version in pins()
             if canonicalize_name(name) in installed
             and installed[canonicalize_name(name)].split("+")[0] != version}  # +cu130, +cpu: the same release
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
