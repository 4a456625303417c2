"""What every check uses: building a plan, reading what came back, scoring parts, hints.

A check is a generator registered for one rubric item (``@check("1.5")``). It takes its inputs
and every expected value from ``ctx.case(item_id)`` (computed by the judge, ``grader/cases.py``;
frozen as data in the handout's public tests); yields a *plan*, a list of sessions for the
probe (each a list of operations on one object of the student's class, see ``Session`` in
``grader/probe.py``), or :data:`RUN` for the group's script run; receives what the student's
code returned; and returns a list of :class:`Part`. Nothing here or in a check computes an
expected value: the checks, this module and the probe are what the handout ships students as
its public tests, so they hold no forward pass, gradient or training code.

The values that come back are untrusted data: every accessor here checks types and raises
:class:`Fail` (a failed part, with a message for the student and, where the failure looks like
a known mistake, a hint) for anything unexpected, never another exception. Any other exception
in a check is the grader's own bug and stops the grade (``GraderError``): a student is never
charged for it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..wire import Opaque, TensorArray, decode, encode

RUN = "run"  # yielded by a check that judges the group's script run (one run, shared)
CHECKS: dict = {}  # item id -> its check, filled by @check as part1, part2, part3 and runs are imported


def check(item_id: str):
    """Register the decorated generator as the check of rubric item ``item_id``."""
    def register(fn):
        if item_id in CHECKS:
            raise RuntimeError(f"two checks for item {item_id}: {CHECKS[item_id].__name__} and {fn.__name__}")
        CHECKS[item_id] = fn
        return fn
    return register


class Fail(Exception):
    """A part failed: the message says what was expected and what arrived; ``hint``, when the
    failure looks like a known mistake, names its likely cause (without the answer)."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.hint = hint


class NotGraded(Exception):
    """The item cannot be graded (not submitted, skipped, nothing came back): 0, with the reason."""


@dataclass
class Part:
    weight: float
    label: str
    passed: bool
    detail: str = ""
    hint: str = ""

    def line(self) -> str:
        text = f"{self.label}: {self.detail}" if self.detail else self.label
        line = ("PASS  " if self.passed else "FAIL  ") + text
        return f"{line}\nHint: {self.hint}" if self.hint and not self.passed else line


def part(weight: float, label: str, probe: Callable[[], str | None]) -> Part:
    """One separately scored sub-check: ``probe()`` returns a detail (or None), or raises Fail."""
    try:
        return Part(weight, label, True, probe() or "")
    except Fail as exc:
        return Part(weight, label, False, str(exc), exc.hint or "")


def lines(parts) -> str:
    """The parts' lines; a failure that repeats the previous one's message is not repeated."""
    out, previous = [], None
    for p in parts:
        if not p.passed and p.detail and p.detail == previous:
            out.append(f"FAIL  {p.label}: the same failure as above")
            continue
        out.append(p.line())
        previous = p.detail if not p.passed else None
    return "\n".join(out)


# --------------------------------------------------------------------------- building plans
class Tensor:
    """A plan argument the probe turns into a torch tensor (float32 unless told)."""

    def __init__(self, array, dtype="float32"):
        self.array, self.dtype = np.asarray(array), dtype


def plan_value(value):
    if isinstance(value, Tensor):
        return {"__nd__": encode(value.array)["__nd__"], "tensor": value.dtype}
    if isinstance(value, (list, tuple)):
        return {"__seq__": type(value).__name__, "items": [plan_value(v) for v in value]}
    if isinstance(value, dict):
        return {"__map__": {k: plan_value(v) for k, v in value.items()}}
    return encode(value)


class Op:
    """One operation of a session: what the probe does (``wire``), how a message names it, and
    the class (``new``) or method (``call``) it calls, to name the handout's signature when the
    call fails for its arguments."""

    def __init__(self, label, *wire, calls=None):
        self.label, self.wire, self.calls = label, list(wire), calls


def _args_text(args, kwargs) -> str:
    shown = [short(a, 30) if not isinstance(a, (np.ndarray, Tensor)) else "X" for a in args]
    shown += [f"{k}={short(v, 30) if not isinstance(v, (np.ndarray, Tensor)) else '...'}" for k, v in kwargs.items()]
    return ", ".join(shown)


def new(cls_name, **kwargs):
    """Construct the student's class (``cls_name`` only names it in messages)."""
    return Op(f"{cls_name}({_args_text((), kwargs)})", "new", plan_value(kwargs), calls=cls_name)


def call(method, *args, label=None, **kwargs):
    return Op(label or f"{method}({_args_text(args, kwargs)})", "call", method, plan_value(list(args)),
              plan_value(kwargs), calls=method)


def set_attrs(**values):
    return Op(f"setting {', '.join(values)}", "set", plan_value(values))


def get(*names):
    return Op(f"reading {', '.join(names)}", "get", list(names))


def op(name, *args, label=None, calls=None):
    """Any other operation of the probe's Session (``spy``, ``eval``, ``modules``, ``plot`` ...);
    ``calls`` names the student's method it calls, if one."""
    return Op(label or name, name, *[a if isinstance(a, str) else plan_value(a) for a in args], calls=calls)


# --------------------------------------------------------------------------- reading results
# The handout's signatures, "Class.method" -> "(self, ...)": the grader fills this from
# course/contract.py, the handout's public tests from their data. A call that fails for its
# arguments then names the signature the handout expects.
SIGNATURES: dict = {}
ARGUMENT_ERROR = re.compile(r"got multiple values for argument|missing \d+ required (positional|keyword-only) "
                            r"argument|takes \d+ positional argument|got an unexpected keyword argument|"
                            r"takes from \d+ to \d+ positional")
WRAPPER_MODE = re.compile(r"\btrain\(\) missing \d+ required positional argument")


def describe_error(err, qualname=None) -> str:
    """``TypeError: ... (numpy_ann.py, line 12, in _forward)`` from the probe's raw error facts;
    an argument error in a call of ``qualname`` also names the handout's signature of it."""
    if not isinstance(err, dict):
        return "an error"
    kind = _text(err.get("type"), 60)
    if kind == "Timeout":
        return "it did not finish within the time limit (an endless loop?)"
    if kind == "SystemExit":
        return f"your code called exit({_text(err.get('exit_code'), 40)})"
    if kind == "SyntaxError":
        return f"{_text(err.get('file'), 60)} has a syntax error at line {_text(err.get('line'), 10)}: " \
               f"{_text(err.get('message'), 200)}"
    where = f" ({_text(err.get('where'), 120)})" if err.get("where") else ""
    message = _text(err.get("message"), 300)
    expected = ""
    if kind == "TypeError" and qualname in SIGNATURES and ARGUMENT_ERROR.search(message) \
            and qualname.rsplit(".", 1)[-1] in message:
        expected = f"; the handout's signature is {qualname}{SIGNATURES[qualname]}"
    return f"{kind}: {message}{where}{expected}"


def error_hint(err) -> str | None:
    """A hint for an error that looks like a known mistake."""
    if not isinstance(err, dict):
        return None
    if err.get("type") == "TypeError" and WRAPPER_MODE.search(str(err.get("message", ""))):
        return ("self.eval() and self.train() call this class's own train(...), which replaces "
                "nn.Module.train(mode); switch the network's mode with self.model.eval() and self.model.train()")
    return None


def _text(value, limit) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Outcome:
    """One operation's outcome, as the probe reported it."""

    def __init__(self, raw, what, qualname=None):
        self.what, self.qualname = what, qualname
        self.raw = raw if isinstance(raw, dict) else {}

    @property
    def stdout(self) -> str:
        return str(self.raw.get("stdout", ""))

    @property
    def type(self) -> str:
        return str(self.raw.get("type", "?"))

    def value(self):
        if "error" in self.raw:
            error = self.raw["error"]
            raise Fail(f"{self.what} raised {describe_error(error, self.qualname)}", error_hint(error))
        try:
            return decode(self.raw.get("value"))
        except (ValueError, TypeError, RecursionError) as exc:
            raise Fail(f"{self.what} returned a value the grader could not read ({exc})") from None


class Sessions:
    """The outcomes of one item's sessions: ``results[s, i]`` is session s, operation i."""

    def __init__(self, raw, plan):
        self.raw = raw if isinstance(raw, list) else []
        self.labels = [[o.label for o in session] for session in plan]  # "_forward(X)", for messages
        self.qualnames = []  # "NumpyANN._forward" for each call (and __init__ for each new)
        for session in plan:
            cls = next((o.calls for o in session if o.wire and o.wire[0] == "new"), None)
            self.qualnames.append([f"{cls}.{'__init__' if o.wire[0] == 'new' else o.calls}" if cls and o.calls
                                   else None for o in session])

    def __getitem__(self, index):
        session, op_index = index
        ops = self.raw[session] if session < len(self.raw) and isinstance(self.raw[session], list) else []
        what = self.labels[session][op_index]
        if op_index < len(ops):
            return Outcome(ops[op_index], what, self.qualnames[session][op_index])
        # Not reached: an earlier operation of the session stopped it.
        for earlier, label, qualname in zip(ops, self.labels[session], self.qualnames[session]):
            if isinstance(earlier, dict) and "error" in earlier:
                raise Fail(f"{label} raised {describe_error(earlier['error'], qualname)}",
                           error_hint(earlier["error"]))
        raise Fail(f"{what}: no result came back")

    def value(self, session, op_index):
        return self[session, op_index].value()

    def attrs(self, session, op_index) -> dict:
        """The attributes a ``get`` operation read (a dict; Fail if something else came back)."""
        got = self.value(session, op_index)
        if not isinstance(got, dict):
            raise Fail(f"{self.labels[session][op_index]}: expected attribute values, got {short(got)}")
        return got


def as_array(name, value, shape=None) -> np.ndarray:
    """``value`` as a float array (Fail otherwise), optionally of a given shape."""
    if isinstance(value, Opaque) or value is None or isinstance(value, (str, dict)):
        raise Fail(f"{name}: expected numbers, got {short(value)}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Fail(f"{name}: expected numbers, got {short(value)}") from None
    if shape is not None and array.shape != tuple(shape):
        raise Fail(f"{name}: expected shape {tuple(shape)}, got shape {array.shape}")
    return array


def expect_close(name, actual, expected, rtol=1e-5, atol=1e-8):
    """Fail unless ``actual`` has ``expected``'s shape and values (within tolerance)."""
    expected = np.asarray(expected, dtype=float)
    actual = as_array(name, actual)
    if actual.shape != expected.shape:
        raise Fail(f"{name}: expected shape {expected.shape}, got shape {actual.shape}")
    if np.allclose(actual, expected, rtol=rtol, atol=atol):
        return
    if expected.ndim == 0:
        raise Fail(f"{name}: expected {float(expected):.6g}, got {float(actual):.6g}")
    bad = np.abs(np.nan_to_num(actual - expected, nan=np.inf))
    worst = np.unravel_index(int(np.argmax(bad)), bad.shape)
    raise Fail(f"{name}: expected {short(expected, 100)}, got {short(actual, 100)}; the largest difference "
               f"is at index {tuple(int(i) for i in worst)}: expected {expected[worst]:.6g}, "
               f"got {actual[worst]:.6g}")


def is_float_like(value, type_name) -> bool:
    """A python float, a numpy floating scalar, or a 0-d float array."""
    if type_name in ("float",) or type_name.startswith("numpy.float"):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "f"


def short(value, limit=160) -> str:
    """A one-line repr for messages."""
    if isinstance(value, TensorArray):
        text = f"tensor({np.array2string(np.asarray(value), precision=6, suppress_small=True, threshold=20)})"
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=6, suppress_small=True, threshold=20)
    elif isinstance(value, Opaque):
        text = f"a {value.get('type')} ({value.get('repr')})"
    else:
        text = repr(value)
    return _text(text, limit)


def ratio(actual, expected) -> float | None:
    """The factor ``actual / expected`` when ``actual`` is a uniform multiple of ``expected``
    (within 1e-4, relative), else None: tells a step ``m`` times too large from a wrong one."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape or not np.any(np.abs(expected) > 1e-9):
        return None
    k = float(np.sum(actual * expected) / np.sum(expected * expected))
    return k if np.allclose(actual, k * expected, rtol=1e-4, atol=1e-9) else None
