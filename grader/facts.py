"""The handout's facts, from their one place: the grader's own ``utils.py`` (THRESHOLDS,
SPLIT_SIZES, HANDOUT_RUNS, PROGRESS_EVERY, ...), loaded once as a module of its own; and the
students' ``utils.py``, the copy the handout ships, which student code runs against.

Two copies, two readers: the judge reads the reference's utils (it holds the judgement rules
and the handout's numbers, root-only in the Gradescope image); the sandboxed children get the
students' copy in their scratch folder, so student code runs exactly what it ran on the
student's machine.
"""
from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UTILS = ROOT / "utils.py"


def load():
    """The grader's ``utils.py`` (the reference's own), as the module ``grader_utils``."""
    module = sys.modules.get("grader_utils")
    if module is None:
        spec = importlib.util.spec_from_file_location("grader_utils", UTILS)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["grader_utils"] = module
    return module


@functools.cache
def student_utils() -> bytes:
    """The students' ``utils.py``, as ``python -m release build`` writes it into the handout."""
    from release.build import render_utils

    return render_utils().encode()
