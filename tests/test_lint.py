"""The tree is lint-clean under the project's ruff configuration (pyproject.toml)."""
import importlib.util
import subprocess
import sys

import pytest
from helpers import ROOT


def test_ruff_finds_nothing():
    """``python -m ruff`` with this interpreter: the environment's own ruff, not whatever is on PATH."""
    if importlib.util.find_spec("ruff") is None:
        pytest.fail(f"ruff is not installed in {sys.prefix}: {sys.executable} -m pip install -r requirements.txt")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_is_the_pinned_one():
    """CI installs it through constraints.txt, so a new ruff release cannot turn CI red on its own."""
    pinned = next(line.split("==")[1] for line in (ROOT / "constraints.txt").read_text().splitlines()
                  if line.startswith("ruff=="))
    done = subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True, text=True)
    assert done.stdout.split()[-1] == pinned
