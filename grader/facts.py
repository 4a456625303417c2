"""The handout's facts, from their one place: the grader's own ``utils.py`` (THRESHOLDS,
SPLIT_SIZES, HANDOUT_RUNS, PROGRESS_EVERY, ...), loaded once as a module of its own."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

UTILS = Path(__file__).resolve().parent.parent / "utils.py"


def load():
    """The grader's ``utils.py`` (the one every sandbox gets), as the module ``grader_utils``."""
    module = sys.modules.get("grader_utils")
    if module is None:
        spec = importlib.util.spec_from_file_location("grader_utils", UTILS)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["grader_utils"] = module
    return module
