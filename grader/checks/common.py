"""What every check uses: building a plan, reading what came back, and scoring parts.

A check is a generator registered for one rubric item (``@check("1.5")``). It computes its
inputs and every expected value here, in the grader's process; yields a *plan*, a list of
sessions for the probe (each a list of operations on one object of the student's class, see
``Session`` in ``grader/probe.py``), or :data:`RUN` for the group's script run; receives what
the student's code returned; and returns a list of :class:`Part`.

The values that come back are untrusted data: every accessor here checks types and raises
:class:`Fail` (a failed part, with a message for the student) for anything unexpected, never
another exception. Any other exception in a check is the grader's own bug and stops the
grade (``GraderError``): a student is never charged for it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..probe import Opaque, TensorArray, decode, encode

RUN = "run"  # yielded by a check that judges the group's script run (one run, shared)


class Fail(Exception):
    """A part failed: the message says what was expected and what arrived."""


class NotGraded(Exception):
    """The item cannot be graded (not submitted, skipped, nothing came back): 0, with the reason."""


@dataclass
class Part:
    weight: float
    label: str
    passed: bool
    detail: str = ""

    def line(self) -> str:
        text = f"{self.label}: {self.detail}" if self.detail else self.label
        return ("PASS  " if self.passed else "FAIL  ") + text


def part(weight: float, label: str, probe: Callable[[], str | None]) -> Part:
    """One separately scored sub-check: ``probe()`` returns a detail (or None), or raises Fail."""
    try:
        return Part(weight, label, True, probe() or "")
    except Fail as exc:
        return Part(weight, label, False, str(exc))


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
    """One operation of a session: what the probe does (``wire``) and how a message names it."""

    def __init__(self, label, *wire):
        self.label, self.wire = label, list(wire)


def _args_text(args, kwargs) -> str:
    shown = [short(a, 30) if not isinstance(a, (np.ndarray, Tensor)) else "X" for a in args]
    shown += [f"{k}={short(v, 30) if not isinstance(v, (np.ndarray, Tensor)) else '...'}" for k, v in kwargs.items()]
    return ", ".join(shown)


def new(cls_name, **kwargs):
    """Construct the student's class (``cls_name`` only names it in messages)."""
    return Op(f"{cls_name}({_args_text((), kwargs)})", "new", plan_value(kwargs))


def call(method, *args, label=None, **kwargs):
    return Op(label or f"{method}({_args_text(args, kwargs)})", "call", method, plan_value(list(args)),
              plan_value(kwargs))


def set_attrs(**values):
    return Op(f"setting {', '.join(values)}", "set", plan_value(values))


def get(*names):
    return Op(f"reading {', '.join(names)}", "get", list(names))


def op(name, *args, label=None):
    """Any other operation of the probe's Session (``spy``, ``eval``, ``modules``, ``plot`` ...)."""
    return Op(label or name, name, *[a if isinstance(a, str) else plan_value(a) for a in args])


# --------------------------------------------------------------------------- reading results
def describe_error(err) -> str:
    """``TypeError: ... (numpy_ann.py, line 12, in _forward)`` from the probe's raw error facts."""
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
    return f"{kind}: {_text(err.get('message'), 300)}{where}"


def _text(value, limit) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Outcome:
    """One operation's outcome, as the probe reported it."""

    def __init__(self, raw, what):
        self.what = what
        self.raw = raw if isinstance(raw, dict) else {}

    @property
    def stdout(self) -> str:
        return str(self.raw.get("stdout", ""))

    @property
    def type(self) -> str:
        return str(self.raw.get("type", "?"))

    def value(self):
        if "error" in self.raw:
            raise Fail(f"{self.what} raised {describe_error(self.raw['error'])}")
        try:
            return decode(self.raw.get("value"))
        except (ValueError, TypeError, RecursionError) as exc:
            raise Fail(f"{self.what} returned a value the grader could not read ({exc})") from None


class Sessions:
    """The outcomes of one item's sessions: ``results[s, i]`` is session s, operation i."""

    def __init__(self, raw, plan):
        self.raw = raw if isinstance(raw, list) else []
        self.labels = [[o.label for o in session] for session in plan]  # "_forward(X)", for messages

    def __getitem__(self, index):
        session, op_index = index
        ops = self.raw[session] if session < len(self.raw) and isinstance(self.raw[session], list) else []
        what = self.labels[session][op_index]
        if op_index < len(ops):
            return Outcome(ops[op_index], what)
        # Not reached: an earlier operation of the session stopped it.
        for earlier, label in zip(ops, self.labels[session]):
            if isinstance(earlier, dict) and "error" in earlier:
                raise Fail(f"{label} raised {describe_error(earlier['error'])}")
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


def one_hot(labels, n):
    return np.eye(n)[np.asarray(labels)]


# --------------------------------------------------------------------------- the handout's networks
def mlp_forward(X, W1, b1, W2, b2):
    """z1, a1, z2, a2 of the handout's numpy network (row-vector convention: X W1 + b1)."""
    z1 = X @ W1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2 + b2
    e = np.exp(z2 - z2.max(axis=1, keepdims=True))
    return z1, a1, z2, e / e.sum(axis=1, keepdims=True)


def run_modules(X, modules, linears):
    """Evaluate a reported ``nn.Sequential`` (eval mode) on ``X`` with the given Linear weights.

    ``modules`` is the probe's description (type and settings of each module); ``linears`` the
    (weight, bias) pairs the check set, in order. Returns None when a module is of a kind this
    does not know (then the caller falls back to the handout's network).
    """
    out, weights = np.asarray(X, dtype=float), iter(linears)
    for m in modules:
        kind = str(m.get("type", "")).rsplit(".", 1)[-1] if isinstance(m, dict) else ""
        settings = m.get("settings", {}) if isinstance(m, dict) else {}
        if kind == "Linear":
            W, b = next(weights, (None, None))
            if W is None:
                return None
            out = out @ np.asarray(W).T + np.asarray(b)
        elif kind == "ReLU":
            out = np.maximum(out, 0)
        elif kind in ("Dropout", "Identity", "Flatten"):
            out = out.reshape(len(out), -1) if kind == "Flatten" else out
        elif kind == "Sigmoid":
            out = 1 / (1 + np.exp(-out))
        elif kind == "Tanh":
            out = np.tanh(out)
        elif kind == "LeakyReLU" and isinstance(settings.get("negative_slope"), float):
            out = np.where(out > 0, out, out * settings["negative_slope"])
        elif kind in ("Softmax", "LogSoftmax") and settings.get("dim") in (1, -1):
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
            out = np.log(out) if kind == "LogSoftmax" else out
        else:
            return None
    return out

