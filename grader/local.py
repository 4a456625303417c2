"""The handout's public tests: the grader's own checks, run on the student's machine.

``python -m release build`` ships this module, the checks (``checks/``: their comparisons,
messages and hints), the probe (``probe.py``, which calls the student's methods) and the public
variant of each unit item's case, frozen as data (``grader/cases.py`` computes them; it is not
shipped), in the handout's ``tests/``. A public test then does what the grader does for that
item, in this process instead of a sandboxed child:

1. the check builds its plan from the frozen case;
2. each session of the plan runs on a fresh object of the student's class (``probe.Session``),
   and what comes back goes through the same wire format as the grader's results;
3. the check compares and returns its parts, which score the item the grader's way.

Where the grader evaluates the student's own ``self.model`` itself (2.2, 2.3, 2.4), the public
tests ask ``self.model`` for its output instead (:meth:`PublicContext.model_outputs`), so both
compare the student's code with itself.
"""
from __future__ import annotations

import importlib.util
import json
import signal
import sys
from pathlib import Path

import numpy as np

from . import probe, wire
from .checks import common, part1, part2, part3  # noqa: F401  (importing registers the checks)
from .checks.common import CHECKS

ITEM_TIMEOUT = 30.0  # seconds per item, as the grader's default
RESULTS: dict = {}   # item id -> (points earned, points), for the summary at the end


class PublicContext:
    """What a check may ask for, on a student's machine: the frozen public cases."""

    fast = False
    facts = None  # the handout's numbers are the grader's: the public tests need none

    def __init__(self, data):
        self.data = data

    def case(self, item_id):
        return wire.decode(self.data["cases"][item_id])

    @staticmethod
    def model_outputs(r, session, index, X, modules, linears):
        """What the student's ``self.model`` computed on ``X``: the plan's ``model_output``."""
        return np.asarray(r.value(session, index), dtype=float)

    @property
    def torch(self):
        import torch
        return torch


def load(path) -> dict:
    """The frozen data: items, cases, signatures."""
    data = json.loads(Path(path).read_text())
    common.SIGNATURES.update(data["signatures"])
    return data


_MODULES: dict = {}


def student_class(directory: Path, module: str, cls_name: str):
    """The student's class, or a message saying why there is none. The module is imported from
    ``directory`` under a name of its own (so several submissions can be tested in one process),
    with the ``utils`` next to it."""
    path = (directory / f"{module}.py").resolve()
    key = (str(path), path.stat().st_mtime_ns if path.exists() else None)
    if key not in _MODULES:
        _MODULES[key] = _import(path, module, cls_name)
    return _MODULES[key]


def _import(path: Path, module: str, cls_name: str):
    if not path.exists():
        return None, f"{path.name} is not in {path.parent}"
    utils_path = path.parent / "utils.py"
    saved = sys.modules.get("utils")
    sys.path.insert(0, str(path.parent))
    try:
        if utils_path.exists():  # the copy beside the student's file, as the grader gives it
            spec = importlib.util.spec_from_file_location("utils", utils_path)
            sys.modules["utils"] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(sys.modules["utils"])
        spec = importlib.util.spec_from_file_location(f"{module}__public_{len(_MODULES)}", path)
        loaded = importlib.util.module_from_spec(spec)
        with probe.captured(ITEM_TIMEOUT):
            spec.loader.exec_module(loaded)
    except BaseException as exc:  # noqa: BLE001 - the student's module may raise anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        error = probe.describe_error(exc, str(path.parent))
        return None, f"importing {path.name} failed: {common.describe_error(error)}"
    finally:
        sys.path.remove(str(path.parent))
        if saved is not None:
            sys.modules["utils"] = saved
        else:
            sys.modules.pop("utils", None)
    cls = getattr(loaded, cls_name, None)
    if not isinstance(cls, type):
        return None, f"{path.name} does not define the class {cls_name}"
    return cls, None


class _Probe:
    """What ``probe.Session`` needs of the probe: torch, and where the student's files are."""

    def __init__(self, torch, scratch):
        self.torch, self.scratch = torch, scratch


def run(item, data, directory) -> list:
    """Grade ``item`` (an entry of the data's items) on the files in ``directory``: its parts."""
    directory = Path(directory)
    cls, problem = student_class(directory, item["module"], item["cls"])
    if cls is None:
        return [common.Part(1, item["name"], False, problem)]
    torch = None
    if item["torch"]:
        import torch
    check = CHECKS[item["id"]](PublicContext(data))
    plan = next(check)
    raw = []
    signal.signal(signal.SIGALRM, probe._alarm)
    signal.setitimer(signal.ITIMER_REAL, ITEM_TIMEOUT)
    try:
        for session in plan:
            raw.append(probe.Session(_Probe(torch, str(directory)), cls).run([o.wire for o in session]))
    except probe.Stop:
        raw.append([{"error": {"type": "Timeout", "message": f"it did not finish within {ITEM_TIMEOUT:g} s"},
                     "stdout": ""}])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    raw = json.loads(json.dumps(raw, allow_nan=False))  # what the grader would have received
    try:
        check.send(raw)
    except StopIteration as done:
        return done.value
    except common.Fail as exc:
        return [common.Part(1, item["name"], False, str(exc), exc.hint or "")]
    raise RuntimeError(f"the check of item {item['id']} asked for a second plan")


def score(item, parts) -> float:
    """The item's points from its parts, as the grader scores them."""
    total = sum(p.weight for p in parts)
    return round(item["points"] * sum(p.weight for p in parts if p.passed) / total, 2)


def check_item(item_id, data, directory):
    """Run one public item; record its score; fail (for pytest) with the grader's lines unless
    every part passed."""
    item = next(i for i in data["items"] if i["id"] == item_id)
    parts = run(item, data, directory)
    RESULTS[item_id] = (score(item, parts), item["points"])
    if not all(p.passed for p in parts):
        message = f"item {item_id} ({item['name']}): {RESULTS[item_id][0]:g} of {item['points']} points\n" \
                  f"{common.lines(parts)}"
        try:
            import pytest
        except ImportError:
            raise AssertionError(message) from None
        pytest.fail(message, pytrace=False)  # the grader's lines, without this runner's traceback


def summary(data) -> list[str]:
    """The closing lines: public points passed of the public points run, what is not run here."""
    ran = [i for i in data["items"] if i["id"] in RESULTS]
    earned = sum(RESULTS[i["id"]][0] for i in ran)
    possible = sum(i["points"] for i in ran)
    scripts = [i for i in data["items"] if i["script"]]
    hidden = [i for i in data["items"] if not i["public"]]
    total = sum(i["points"] for i in data["items"])
    return [f"Public tests: {earned:g} of {possible} public points passed ({len(ran)} items).",
            "Not run here: " + ", ".join(f"{i['id']} ({i['points']})" for i in scripts)
            + ", the script items: `python <file>.py` shows their result.",
            "Hidden, checked only by the autograder: " + ", ".join(f"{i['id']} ({i['points']})" for i in hidden)
            + f", {sum(i['points'] for i in hidden)} points.",
            f"Passing every test here is not full marks: the autograder grades {total} points."]
