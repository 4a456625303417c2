"""The child side of the grader: probe one group of rubric items in a student's code.

The parent runs it, in a scratch directory holding copies of the student's files
and the grader's own ``utils.py``, either forked from the grader's fork server
(:func:`forked_main`; torch is imported once there) or as a fresh interpreter::

    python -I _grader_child.py GROUP OBSERVATIONS.json ITEM_TIMEOUT [--fast]

It imports the student's module, runs each item's probes and writes *observations*
(which sub-checks passed, with messages; predicted labels and curves for the
real-data items) to ``OBSERVATIONS.json`` after every item, so items finished
before a crash or a kill still count. It never writes scores: the parent turns
observations into scores, clamps them to the rubric and writes ``results.json``.

Self-contained on purpose (standard library, numpy, torch, utils), so the second
way can run it from the scratch copy.
"""
from __future__ import annotations

import builtins
import contextlib
import copy
import functools
import importlib
import io
import json
import math
import os
import runpy
import signal
import sys
import time
import traceback

import numpy as np

SCRATCH = os.path.dirname(os.path.abspath(__file__))
VERDICTS = ("underfitting", "overfitting", "generalizing")


# --------------------------------------------------------------------------- plumbing
class ItemTimeout(BaseException):
    """Raised by the alarm; a BaseException so a student's ``except Exception`` cannot eat it."""


class Check(Exception):
    """A probe failed: the message says what was expected and what arrived."""


def _on_alarm(signum, frame):
    raise ItemTimeout()


@contextlib.contextmanager
def time_limit(seconds):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class BoundedText(io.TextIOBase):
    """A stdout stand-in that keeps the first ``limit`` characters and drops the rest."""

    def __init__(self, limit=20000):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def getvalue(self):
        return "".join(self.parts)


def short(value, limit=160):
    """A one-line repr for messages."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=6, suppress_small=True, threshold=20)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe_exception(exc):
    """``TypeError: ... (your file, line N)``: the student's frame nearest the error."""
    if isinstance(exc, ItemTimeout):
        return "it did not finish within the time limit (an endless loop?)"
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if os.path.dirname(os.path.abspath(frame.filename)) == SCRATCH and \
                not frame.filename.endswith(("_grader_child.py", "utils.py")):
            where = f" ({os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name})"
            break
    text = f"{type(exc).__name__}: {exc}"
    return (text if len(text) <= 300 else text[:297] + "...") + where


class Recorder:
    """Collects the observations and saves them after every item."""

    def __init__(self, path, item_timeout):
        self.path, self.item_timeout = path, item_timeout
        self.data = {"items": {}, "runs": {}, "fatal": None}

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, allow_nan=False, default=str)
        os.replace(tmp, self.path)

    def fatal(self, message):
        self.data["fatal"] = message
        self.save()

    def item(self, item_id, probe, *args, timeout=None):
        """Run ``probe(parts, *args)``; each part is [passed, weight, message]."""
        parts = []
        out = BoundedText()
        try:
            with time_limit(timeout or self.item_timeout), contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(out):
                probe(parts, *args)
        except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
            if isinstance(exc, KeyboardInterrupt):
                raise
            # A check that did not finish scores 0: the parts it never reached are unknown.
            reason = describe_exception(exc)
            parts.append([False, 1.0, f"the check stopped: {reason}"])
            parts.append(["error", 0.0, reason])
        self.data["items"][item_id] = {"parts": parts}
        self.save()


def part(parts, weight, what, probe):
    """One separately scored sub-check: ``probe()`` returns a success message or raises."""
    try:
        message = probe()
        parts.append([True, weight, f"{what}: {message}" if message else what])
    except ItemTimeout:
        raise
    except Check as exc:
        parts.append([False, weight, f"{what}: {exc}"])
    except SystemExit as exc:
        parts.append([False, weight, f"{what}: your code called exit({exc.code!r})"])
    except Exception as exc:  # noqa: BLE001
        parts.append([False, weight, f"{what}: calling your code raised {describe_exception(exc)}"])


def expect_close(name, actual, expected, rtol=1e-5, atol=1e-8):
    try:
        actual_arr = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        raise Check(f"{name}: expected numbers like {short(np.asarray(expected))}, got {short(actual)}")
    expected = np.asarray(expected, dtype=float)
    if actual_arr.shape != expected.shape:
        raise Check(f"{name}: expected shape {expected.shape}, got shape {actual_arr.shape}")
    if not np.allclose(actual_arr, expected, rtol=rtol, atol=atol, equal_nan=False):
        if expected.ndim == 0:
            raise Check(f"{name}: expected {float(expected):.6g}, got {float(actual_arr):.6g}")
        bad = np.abs(np.nan_to_num(actual_arr - expected, nan=np.inf))
        worst = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise Check(f"{name}: expected {short(expected, 100)}, got {short(actual_arr, 100)}; the largest "
                    f"difference is at index {tuple(int(i) for i in worst)}: expected "
                    f"{expected[worst]:.6g}, got {actual_arr[worst]:.6g}")


def to_numpy(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def import_student(module_name, rec, item_ids):
    """Import the student's module; on failure every item of the group gets the reason."""
    out = BoundedText()
    try:
        with time_limit(max(rec.item_timeout, 30)), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(out):
            return importlib.import_module(module_name)
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        if isinstance(exc, SystemExit):
            reason = f"importing {module_name}.py called exit({exc.code!r})"
        elif isinstance(exc, SyntaxError):
            reason = (f"{module_name}.py has a syntax error at line {exc.lineno}: {exc.msg}")
        else:
            reason = f"importing {module_name}.py failed: {describe_exception(exc)}"
        for item_id in item_ids:
            rec.data["items"][item_id] = {"parts": [[False, 1.0, reason], ["error", 0.0, reason]]}
        rec.fatal(reason)
        return None


def get_class(module, name):
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise Check(f"{module.__name__}.py does not define the class {name}")
    return cls


# --------------------------------------------------------------------------- Part 1
def np_forward(X, W1, b1, W2, b2):
    z1 = X @ W1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2 + b2
    e = np.exp(z2 - z2.max(axis=1, keepdims=True))
    return z1, a1, z2, e / e.sum(axis=1, keepdims=True)


def np_loss(X, Y, params):
    return float(-np.mean(np.sum(Y * np.log(np_forward(X, *params)[3]), axis=1)))


def set_weights(net, rng, n_in, n_hidden, n_out, scale=0.5):
    params = (rng.normal(0, scale, (n_in, n_hidden)), rng.normal(0, scale, (1, n_hidden)),
              rng.normal(0, scale, (n_hidden, n_out)), rng.normal(0, scale, (1, n_out)))
    net.W1, net.b1, net.W2, net.b2 = (p.copy() for p in params)
    return params


def one_hot(labels, n):
    return np.eye(n)[labels]


def check_numpy_init(parts, cls):
    net = cls(input_size=7, hidden_size=5, output_size=3, lr=0.05, random_seed=3)

    def attributes():
        got = {k: getattr(net, k, "<missing>") for k in ("input_size", "hidden_size", "output_size", "lr")}
        want = {"input_size": 7, "hidden_size": 5, "output_size": 3, "lr": 0.05}
        if got != want:
            raise Check(f"after NumpyANN(input_size=7, hidden_size=5, output_size=3, lr=0.05) "
                        f"expected attributes {want}, got {got}")
    part(parts, 1, "attributes input_size, hidden_size, output_size, lr", attributes)

    def weights():
        for seed, net_ in ((3, net), (42, cls(input_size=4, hidden_size=3, output_size=2, lr=0.1))):
            np.random.seed(seed)
            n_in, n_h, n_out = net_.input_size, net_.hidden_size, net_.output_size
            W1 = np.random.randn(n_in, n_h) * 0.01
            W2 = np.random.randn(n_h, n_out) * 0.01
            label = f"with random_seed={seed}" + (" (the default)" if seed == 42 else "")
            for name, want in (("W1", W1), ("W2", W2)):
                got = getattr(net_, name, None)
                if got is None:
                    raise Check(f"no attribute {name}")
                expect_close(f"{name} {label} (np.random.seed, then randn(...) * 0.01 for W1 and "
                             f"then for W2)", got, want, rtol=1e-7, atol=1e-12)
    part(parts, 1, "W1, W2 = np.random.randn(...) * 0.01 after np.random.seed(random_seed), W1 first",
         weights)

    def biases():
        expect_close("b1", getattr(net, "b1", None), np.zeros((1, 5)), atol=0)
        expect_close("b2", getattr(net, "b2", None), np.zeros((1, 3)), atol=0)
    part(parts, 1, "b1, b2 zeros of shape (1, hidden_size) and (1, output_size)", biases)


def check_relu(parts, cls):
    net = cls(input_size=2, hidden_size=2, output_size=2, lr=0.1)

    def values():
        z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e-9]])
        expect_close("_relu of [[-2, -0.5, 0], [0.5, 3, -1e-9]]", net._relu(z), np.maximum(z, 0), atol=0)
        expect_close("_relu([-1, 0, 1])", net._relu(np.array([-1, 0, 1])), [0, 0, 1], atol=0)
    part(parts, 1, "max(0, z) element-wise", values)


def check_relu_grad(parts, cls):
    net = cls(input_size=2, hidden_size=2, output_size=2, lr=0.1)

    def values():
        z = np.array([-2.0, -1e-3, 0.0, 1e-3, 2.0])
        got = np.asarray(net._relu_grad(z), dtype=float)
        want = np.array([0, 0, 0, 1, 1], dtype=float)
        if got.shape != want.shape:
            raise Check(f"_relu_grad([-2, -0.001, 0, 0.001, 2]) should have shape {want.shape}, got {got.shape}")
        for zi, g, w in zip(z, got, want):
            if g != w:
                raise Check(f"at z = {zi:g} expected {w:g} (0 where z <= 0, 1 otherwise), got {g:g}")
        expect_close("_relu_grad([[-1, 0], [1, 5]])", net._relu_grad(np.array([[-1.0, 0.0], [1.0, 5.0]])),
                     [[0, 0], [1, 1]], atol=0)
    part(parts, 1, "0 at negative and zero inputs, 1 at positive", values)


def check_cross_entropy(parts, cls):
    net = cls(input_size=2, hidden_size=2, output_size=2, lr=0.1)

    def values():
        got = net._cross_entropy(np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([[1, 0], [0, 1]]))
        if not isinstance(got, (float, np.floating)) and not (isinstance(got, np.ndarray) and got.ndim == 0):
            raise Check(f"expected a float, got {type(got).__name__} {short(got)}")
        expect_close("_cross_entropy([[.5, .5], [.5, .5]], [[1, 0], [0, 1]])", got, math.log(2), rtol=1e-5)
        p = np.array([[0.7, 0.2, 0.05, 0.05], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
        y = one_hot([0, 2, 3], 4)
        want = -np.mean(np.sum(y * np.log(p), axis=1))
        expect_close("_cross_entropy(y_pred, y_true) for 3 samples, 4 classes (mean over samples of "
                     "-sum(y_true * log(y_pred)))", net._cross_entropy(p, y), want, rtol=1e-5)
    part(parts, 1, "mean over samples of -sum(y_true log y_pred), prediction first", values)


def check_forward(parts, cls):
    rng = np.random.default_rng(1)
    net = cls(input_size=5, hidden_size=4, output_size=3, lr=0.1)
    params = set_weights(net, rng, 5, 4, 3)
    X = rng.normal(size=(6, 5))
    z1, a1, z2, a2 = np_forward(X, *params)

    def output():
        expect_close("_forward(X) for 6 samples (softmax(relu(X W1 + b1) W2 + b2))",
                     net._forward(X), a2, rtol=1e-6)
    part(parts, 1, "returns softmax(relu(X W1 + b1) W2 + b2)", output)

    def stored():
        for name in ("z1", "a1", "z2", "a2"):
            net.__dict__.pop(name, None)
        net._forward(X, training=True)
        for name, want in (("z1", z1), ("a1", a1), ("z2", z2), ("a2", a2)):
            if not hasattr(net, name):
                raise Check(f"after _forward(X, training=True) there is no self.{name}")
            expect_close(f"self.{name}", getattr(net, name), want, rtol=1e-6)
    part(parts, 1, "with training=True stores self.z1, self.a1, self.z2, self.a2", stored)


def applied_step(cls, rng, m, lr, n_in=5, n_h=4, n_out=3):
    """Set weights and forward caches, call _backward, return (update / lr, FD gradient)."""
    net = cls(input_size=n_in, hidden_size=n_h, output_size=n_out, lr=lr)
    params = set_weights(net, rng, n_in, n_h, n_out)
    X = rng.normal(size=(m, n_in))
    Y = one_hot(rng.integers(0, n_out, m), n_out)
    net.z1, net.a1, net.z2, net.a2 = (v.copy() for v in np_forward(X, *params))
    result = net._backward(X, Y)
    if result is not None:
        raise Check(f"_backward should return None (it updates the weights in place), got {short(result)}")
    steps = {}
    for name, before in zip(("W1", "b1", "W2", "b2"), params):
        after = np.asarray(getattr(net, name), dtype=float)
        if after.shape != before.shape:
            raise Check(f"{name} changed shape from {before.shape} to {after.shape}")
        steps[name] = (before - after) / lr
    grads = {}
    eps = 1e-6
    for index, name in enumerate(("W1", "b1", "W2", "b2")):
        grad = np.zeros_like(params[index])
        for pos in np.ndindex(grad.shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[index][pos] += eps
            minus[index][pos] -= eps
            grad[pos] = (np_loss(X, Y, plus) - np_loss(X, Y, minus)) / (2 * eps)
        grads[name] = grad
    return steps, grads


def check_backward(parts, cls):
    rng = np.random.default_rng(2)
    cache = {}

    def get(key, m, lr):
        if key not in cache:
            cache[key] = applied_step(cls, rng, m, lr)
        return cache[key]

    def layer(names):
        def probe():
            steps, grads = get("batch", 6, 0.5)
            for name in names:
                expect_close(f"the update of {name} divided by lr, compared with the finite-difference "
                             f"gradient of the mean cross-entropy over the batch of 6",
                             steps[name], grads[name], rtol=1e-4, atol=1e-7)
        return probe
    part(parts, 1, "output layer: W2 and b2 move by lr * gradient", layer(("W2", "b2")))
    part(parts, 1, "hidden layer: W1 and b1 move by lr * gradient (dz1 uses W2 before its update)",
         layer(("W1", "b1")))

    def scaling():
        for m, lr in ((1, 0.1), (9, 0.03)):
            steps, grads = get(f"m{m}", m, lr)
            for name in ("W1", "b1", "W2", "b2"):
                expect_close(f"with a batch of {m} and lr={lr}, the update of {name} / lr vs the gradient",
                             steps[name], grads[name], rtol=1e-4, atol=1e-7)
    part(parts, 1, "the step scales with lr and averages over the batch size m", scaling)


def check_numpy_train(parts, cls):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10, 4))
    Y = one_hot(np.argmax(X[:, :3], axis=1), 3)
    Xv = rng.normal(size=(5, 4))
    Yv = one_hot(np.argmax(Xv[:, :3], axis=1), 3)

    def batches():
        net = cls(input_size=4, hidden_size=6, output_size=3, lr=0.1)
        sizes = []
        original = net._backward

        def spy(Xb, yb, *a, **k):
            sizes.append(len(Xb))
            return original(Xb, yb, *a, **k)
        net._backward = spy
        with contextlib.redirect_stdout(BoundedText()):
            result = net.train(X, Y, Xv, Yv, epochs=3, batch_size=4)
        if result is not None:
            raise Check(f"train should return None, got {short(result)}")
        if sizes != [4, 4, 2] * 3:
            raise Check(f"with 10 samples, batch_size=4 and epochs=3, expected _backward on batches of "
                        f"sizes {[4, 4, 2] * 3}, got {sizes}")
    part(parts, 1, "each epoch walks the training set in mini-batches (the last may be shorter)", batches)

    def progress():
        import re
        net = cls(input_size=4, hidden_size=6, output_size=3, lr=0.1)
        out = BoundedText()
        with contextlib.redirect_stdout(out):
            net.train(X, Y, Xv, Yv, epochs=20, batch_size=5)
        num = r"(\d+\.\d{5})"
        pattern = re.compile(rf"\[\s*(\d+)\s*/\s*(\d+)\s*\]\s*\|\s*Train Loss:\s*{num}\s*\|\s*Train Accuracy:\s*"
                             rf"{num}\s*\|\s*Val Loss:\s*{num}\s*\|\s*Val Accuracy:\s*{num}")
        epochs = [int(m.group(1)) for m in pattern.finditer(out.getvalue())]
        if 10 not in epochs or 20 not in epochs:
            first = out.getvalue().strip().splitlines()[:2]
            raise Check("with epochs=20 expected lines like '[10 / 20] | Train Loss: 0.12345 | Train "
                        "Accuracy: 0.12345 | Val Loss: 0.12345 | Val Accuracy: 0.12345' for epochs 10 and 20; "
                        f"found such lines for epochs {epochs}; your first printed lines: {short(first)}")
        extra = [e for e in epochs if e % 10 and e != 1]
        if extra:
            raise Check(f"expected a line every 10th epoch, also got lines for epochs {extra}")
    part(parts, 1, "prints '[e / E] | Train Loss: ... | Val Accuracy: ...' every 10th epoch", progress)


def check_numpy_predict(parts, cls):
    rng = np.random.default_rng(4)
    net = cls(input_size=5, hidden_size=4, output_size=3, lr=0.1)
    params = set_weights(net, rng, 5, 4, 3)
    X = rng.normal(size=(6, 5))
    want = np_forward(X, *params)[3]

    def probabilities():
        expect_close("predict(X) for 6 samples: class probabilities, shape (6, 3)", net.predict(X), want,
                     rtol=1e-6)
    part(parts, 0.5, "returns the class probabilities of a forward pass", probabilities)

    def no_state():
        net._forward(X[:2], training=True)  # caches from a training pass, which predict must keep
        before = copy.deepcopy(net.__dict__)
        net.predict(X)
        after = net.__dict__
        for key in set(before) | set(after):
            if key not in before:
                raise Check(f"predict created self.{key}; it must not store anything")
            if key not in after:
                raise Check(f"predict deleted self.{key}")
            b, a = before[key], after[key]
            if isinstance(b, np.ndarray) or isinstance(a, np.ndarray):
                same = np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a), np.asarray(b))
            else:
                try:
                    same = bool(a == b)
                except Exception:  # noqa: BLE001
                    same = a is b
            if not same:
                raise Check(f"predict changed self.{key} (use _forward(X, training=False), which stores nothing)")
    part(parts, 0.5, "stores nothing (training=False)", no_state)


def check_numpy_accuracy(parts, cls):
    rng = np.random.default_rng(5)

    def case(n_out, m, labels_from):
        net = cls(input_size=5, hidden_size=4, output_size=n_out, lr=0.1)
        params = set_weights(net, rng, 5, 4, n_out, scale=0.3)
        X = rng.normal(size=(m, 5))
        pred = np_forward(X, *params)[3].argmax(axis=1)
        labels = labels_from(pred)
        want = float(np.mean(pred == labels))
        got = net.accuracy(X, one_hot(labels, n_out))
        if not isinstance(got, (float, np.floating)) and not (isinstance(got, np.ndarray) and got.ndim == 0):
            raise Check(f"expected a float, got {type(got).__name__} {short(got)}")
        if not math.isclose(float(got), want, abs_tol=1e-9):
            raise Check(f"{m} samples, {n_out} classes, {int(round(want * m))} predicted right (argmax of "
                        f"the probabilities vs argmax of the one-hot labels): expected {want:g}, got {float(got):g}")
    part(parts, 1, "2 classes", lambda: case(2, 8, lambda p: np.where(np.arange(8) < 5, p, 1 - p)))
    part(parts, 1, "5 classes, low-confidence predictions",
         lambda: case(5, 10, lambda p: np.where(np.arange(10) % 3 == 0, (p + 1) % 5, p)))


def group_numpy_unit(rec, fast):
    module = import_student("numpy_ann", rec, ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9"])
    if module is None:
        return
    probes = [("1.1", check_numpy_init), ("1.2", check_relu), ("1.3", check_relu_grad),
              ("1.4", check_cross_entropy), ("1.5", check_forward), ("1.6", check_backward),
              ("1.7", check_numpy_train), ("1.8", check_numpy_predict), ("1.9", check_numpy_accuracy)]
    for item_id, probe in probes:
        rec.item(item_id, lambda parts, p=probe: p(parts, get_class(module, "NumpyANN")))


# --------------------------------------------------------------------------- Part 2
def replica_ann(torch, n_in, n_hidden, n_out):
    nn = torch.nn
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))


def check_ann_init(parts, cls, torch):
    nn = torch.nn

    def attributes():
        net = cls(input_size=5, output_size=3, hidden_size=10)
        got = {k: getattr(net, k, "<missing>") for k in ("input_size", "hidden_size", "output_size", "seed")}
        want = {"input_size": 5, "hidden_size": 10, "output_size": 3, "seed": 42}
        if got != want:
            raise Check(f"after PyTorchANN(input_size=5, output_size=3, hidden_size=10) expected {want}, got {got}")
        seed = getattr(cls(input_size=5, output_size=3, hidden_size=10, random_seed=7), "seed", None)
        if seed != 7:
            raise Check(f"with random_seed=7 expected self.seed == 7, got {seed!r}")
    part(parts, 1, "attributes input_size, hidden_size, output_size, seed", attributes)

    def layers():
        net = cls(input_size=5, output_size=3, hidden_size=10)
        model = getattr(net, "model", None)
        if not isinstance(model, nn.Sequential):
            raise Check(f"expected self.model to be an nn.Sequential, got {type(model).__name__}")
        got = [f"{type(m).__name__}" + (f"({m.in_features}, {m.out_features})" if isinstance(m, nn.Linear) else "")
               for m in model]
        want = ["Linear(5, 10)", "ReLU", "Linear(10, 3)"]
        if got != want:
            raise Check(f"expected self.model = nn.Sequential({', '.join(want)}), got nn.Sequential({', '.join(got)})")
    part(parts, 1, "self.model = nn.Sequential(Linear, ReLU, Linear)", layers)

    def seeded():
        for seed in (42, 7):
            kwargs = {} if seed == 42 else {"random_seed": seed}
            net = cls(input_size=5, output_size=3, hidden_size=10, **kwargs)
            x = torch.rand(5)
            got = to_numpy(net(x))
            torch.manual_seed(seed)
            ref = replica_ann(torch, 5, 10, 3)
            want = to_numpy(ref(torch.rand(5)))
            expect_close(f"PyTorchANN(input_size=5, output_size=3, hidden_size=10{', random_seed=7' if kwargs else ''})"
                         f"(torch.rand(5)) (torch.manual_seed(random_seed) before building the layers)",
                         got, want, rtol=1e-4, atol=1e-6)
    part(parts, 1, "torch.manual_seed(random_seed) first, so the weights (and the handout example) reproduce",
         seeded)


def check_ann_forward(parts, cls, torch):
    def probe():
        net = cls(input_size=5, output_size=3, hidden_size=10)
        X = torch.rand(4, 5)
        got = net.forward(X)
        if not isinstance(got, torch.Tensor):
            raise Check(f"forward should return a tensor, got {type(got).__name__}")
        expect_close("forward(X) vs self.model(X)", to_numpy(got), to_numpy(net.model(X)), rtol=1e-6)
        expect_close("net(X) vs self.model(X)", to_numpy(net(X)), to_numpy(net.model(X)), rtol=1e-6)
    part(parts, 1, "forward(X) returns self.model(X)", probe)


def check_ann_train(parts, cls, torch):
    from torch.optim import optimizer as optim_module

    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 5, generator=g)
    Y = torch.nn.functional.one_hot(X[:, :3].argmax(1), 3).float()
    Xv = torch.randn(10, 5, generator=g)
    Yv = torch.nn.functional.one_hot(Xv[:, :3].argmax(1), 3).float()
    epochs, batch_size, lr = 5, 8, 0.1
    net = cls(input_size=5, output_size=3, hidden_size=8)
    params = {id(p) for p in net.parameters()}
    log = {"steps": [], "zero_grad": 0, "ce_train": 0, "ce_total": 0}

    def post_step(opt, args, kwargs):
        groups = [(pg.get("lr"), {id(p) for p in pg["params"]}) for pg in opt.param_groups]
        log["steps"].append((type(opt), groups, log["zero_grad"], log["ce_train"]))

    F = torch.nn.functional
    original_ce, original_opt_zero, original_mod_zero = F.cross_entropy, torch.optim.Optimizer.zero_grad, \
        torch.nn.Module.zero_grad

    def ce(input, target, *a, **k):
        log["ce_total"] += 1
        if torch.is_grad_enabled() and getattr(input, "requires_grad", False):
            log["ce_train"] += 1
        return original_ce(input, target, *a, **k)

    def opt_zero(self, *a, **k):
        log["zero_grad"] += 1
        return original_opt_zero(self, *a, **k)

    def mod_zero(self, *a, **k):
        log["zero_grad"] += 1
        return original_mod_zero(self, *a, **k)

    handle = optim_module.register_optimizer_step_post_hook(post_step)
    F.cross_entropy, torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad = ce, opt_zero, mod_zero
    out = BoundedText()
    error = None
    try:
        with contextlib.redirect_stdout(out):
            net.train(X, Y, Xv, Yv, epochs=epochs, batch_size=batch_size, learning_rate=lr)
    except ItemTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001
        error = describe_exception(exc) if not isinstance(exc, SystemExit) else f"exit({exc.code!r})"
    finally:
        handle.remove()
        F.cross_entropy, torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad = original_ce, \
            original_opt_zero, original_mod_zero
    steps = log["steps"]
    per_epoch = math.ceil(len(X) / batch_size)
    call = (f"train(X (20 samples), y, X_val, y_val, epochs={epochs}, batch_size={batch_size}, "
            f"learning_rate={lr})")

    def ran():
        if error:
            raise Check(f"{call} raised {error}")

    def loss():
        ran()
        if log["ce_train"] < len(steps) or not steps:
            raise Check(f"expected nn.CrossEntropyLoss computed before every optimizer step; saw "
                        f"{log['ce_train']} cross-entropy losses with gradients for {len(steps)} steps")
    part(parts, 1, "loss is nn.CrossEntropyLoss", loss)

    def optimizer():
        ran()
        if not steps:
            raise Check("no optimizer step was taken")
        kinds = {kind.__name__ for kind, *_ in steps}
        if kinds != {"SGD"}:
            raise Check(f"expected torch.optim.SGD, got {', '.join(sorted(kinds))}")
        for _, groups, *_ in steps:
            lrs = {g_lr for g_lr, _ in groups}
            covered = set().union(*(ids for _, ids in groups))
            if lrs != {lr}:
                raise Check(f"expected lr={lr} (the learning_rate argument), got {sorted(lrs)}")
            if covered != params:
                raise Check("the optimizer does not hold exactly self.model.parameters()")
    part(parts, 1, "torch.optim.SGD over the model's parameters with lr=learning_rate", optimizer)

    def step_count():
        ran()
        if len(steps) != epochs * per_epoch:
            raise Check(f"with 20 samples and batch_size={batch_size} expected {per_epoch} steps per epoch, "
                        f"{epochs * per_epoch} in {epochs} epochs; got {len(steps)}")
    part(parts, 1, "one optimizer step per mini-batch", step_count)

    def zero_grad():
        ran()
        counts = [z for _, _, z, _ in steps]
        # Step 0 may come with no zero_grad (gradients start empty); each later step needs one since the last.
        missing = sum(1 for before, now in zip(counts, counts[1:]) if now <= before)
        if not steps or missing:
            raise Check(f"expected zero_grad() before each of the {len(steps)} steps (gradients otherwise "
                        f"accumulate across batches); {missing} steps had no zero_grad() since the previous one")
    part(parts, 1, "zero_grad() every mini-batch", zero_grad)

    def metrics():
        ran()
        m = getattr(net, "train_val_metrics", None)
        keys = ("train_losses", "train_accs", "val_losses", "val_accs")
        if not isinstance(m, dict) or any(k not in m for k in keys):
            raise Check(f"expected self.train_val_metrics to be a dict with keys {list(keys)}, got "
                        f"{sorted(m) if isinstance(m, dict) else type(m).__name__}")
        for k in keys:
            try:
                values = [float(v) for v in m[k]]
            except Exception:  # noqa: BLE001
                raise Check(f"train_val_metrics['{k}'] should be a list of numbers, got {short(m[k])}")
            if len(values) != epochs:
                raise Check(f"train_val_metrics['{k}'] should have one value per epoch ({epochs}), got {len(values)}")
            if k.endswith("accs") and not all(0 <= v <= 1 for v in values):
                raise Check(f"train_val_metrics['{k}'] should be accuracies in [0, 1], got {short(values)}")
        with torch.no_grad():
            torch.nn.Module.train(net, False)
            val_acc = float((net.model(Xv).argmax(1) == Yv.argmax(1)).float().mean())
        if abs(float(m["val_accs"][-1]) - val_acc) > 1e-6:
            raise Check(f"the last val_accs entry should be the validation accuracy after the last epoch, "
                        f"{val_acc:g}; got {float(m['val_accs'][-1]):g}")
        if not any(line.lstrip().startswith(f"[{epochs} / {epochs}]") or f"[{epochs}/{epochs}]" in line
                   for line in out.getvalue().splitlines()):
            raise Check(f"with epochs={epochs} expected a progress line '[{epochs} / {epochs}] | Train Loss: ...' "
                        f"(printed every 5th epoch)")
    part(parts, 1, "train_val_metrics has one value per epoch for each key; progress every 5th epoch", metrics)


def check_ann_predict(parts, cls, torch):
    def probe():
        net = cls(input_size=5, output_size=3, hidden_size=10)
        X = torch.rand((5, 5))
        got = net.predict(X)
        if not isinstance(got, torch.Tensor):
            raise Check(f"expected a tensor of labels, got {type(got).__name__}")
        if got.shape != (5,):
            raise Check(f"expected labels of shape (5,) (argmax over dim 1), got shape {tuple(got.shape)}")
        if got.dtype not in (torch.int64, torch.int32):
            raise Check(f"expected integer labels, got dtype {got.dtype}")
        if got.requires_grad:
            raise Check("predict should run without gradients (torch.no_grad())")
        torch.nn.Module.train(net, False)
        with torch.no_grad():
            want = net.model(X).argmax(dim=1)
        if not torch.equal(got.cpu(), want.cpu()):
            raise Check(f"expected argmax of the outputs {want.tolist()}, got {got.tolist()}")
    part(parts, 1, "labels = argmax over dim 1 of the outputs, in eval mode, no grad", probe)


def check_ann_plot(parts, cls, torch):
    name = "pytorch_ann_train_val_metrics.png"
    net = cls(input_size=5, output_size=3, hidden_size=10)
    net.train_val_metrics = {"train_losses": [1.0, 0.8, 0.6, 0.5], "train_accs": [0.5, 0.6, 0.7, 0.75],
                             "val_losses": [1.1, 0.9, 0.7, 0.65], "val_accs": [0.45, 0.55, 0.65, 0.7]}
    if os.path.exists(name):
        os.remove(name)
    state = {}

    def call():
        state["result"] = net.plot_train_val_metrics()

    def saved():
        call()
        if not os.path.isfile(name):
            raise Check(f"expected the figure saved as {name} in the working directory; no such file")
        with open(name, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                raise Check(f"{name} is not a PNG image")
    part(parts, 0.5, f"saves {name}", saved)

    def figure():
        if "result" not in state:
            call()
        result = state["result"]
        if not (isinstance(result, tuple) and len(result) == 2):
            raise Check(f"expected plot_train_val_metrics() to return (fig, ax), got {short(result)}")
        fig, ax = result
        axes = list(np.ravel(ax)) if not hasattr(ax, "plot") else [ax]
        if not hasattr(fig, "get_size_inches") or len(axes) != 2:
            raise Check(f"expected a figure with one row of two axes, got {len(axes)} axes")
        if tuple(np.round(fig.get_size_inches(), 2)) != (12.0, 6.0):
            raise Check(f"expected a 12 x 6 inch figure, got {tuple(fig.get_size_inches())}")
        for axis, what in zip(axes, ("losses", "accuracies")):
            if len(axis.get_lines()) < 2 or axis.get_legend() is None or not axis.get_xlabel() \
                    or not axis.get_ylabel():
                raise Check(f"the {what} axes should show train and val curves with axis labels and a legend")
        texts = [fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""] + \
            [a.get_title() for a in axes]
        if not any("Train/Val Metrics" in t for t in texts):
            raise Check(f"expected the title 'Train/Val Metrics', got titles {texts}")
    part(parts, 0.5, "returns (fig, ax): two axes, 12 x 6 in, labels, legends, title", figure)


def group_torch_unit(rec, fast, kind):
    import torch
    if kind == "ann":
        module = import_student("pytorch_ann", rec, ["2.1", "2.2", "2.3", "2.4", "2.5"])
        if module is None:
            return
        probes = [("2.1", check_ann_init), ("2.2", check_ann_forward), ("2.3", check_ann_train),
                  ("2.4", check_ann_predict), ("2.5", check_ann_plot)]
        name = "PyTorchANN"
    else:
        module = import_student("pytorch_cnn", rec, ["3.1"])
        if module is None:
            return
        probes = [("3.1", check_cnn_init)]
        name = "PyTorchCNN"
    for item_id, probe in probes:
        rec.item(item_id, lambda parts, p=probe: p(parts, get_class(module, name), torch))
    if fast:  # the judgement's word check rides along: one torch start-up instead of two
        run_script(rec, "ann_run" if kind == "ann" else "cnn_run", fast=True, module=module)


# --------------------------------------------------------------------------- Part 3
CNN_CHANNELS = ((1, 32), (32, 64), (64, 128), (128, 256))


def replica_cnn(torch, num_classes):
    nn = torch.nn
    layers = []
    for c_in, c_out in CNN_CHANNELS:
        layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                   nn.MaxPool2d(kernel_size=2), nn.BatchNorm2d(c_out), nn.Dropout(p=0.3)]
    layers += [nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes)]
    return nn.Sequential(*layers)


def layer_settings(m):
    nn = sys.modules["torch"].nn

    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if isinstance(m, nn.Conv2d):
        return (f"Conv2d({m.in_channels}, {m.out_channels}, kernel_size={pair(m.kernel_size)[0]}, "
                f"stride={pair(m.stride)[0]}, padding={pair(m.padding)[0]})"
                + ("" if pair(m.kernel_size)[0] == pair(m.kernel_size)[1] else " (not square)"))
    if isinstance(m, nn.MaxPool2d):
        return f"MaxPool2d(kernel_size={pair(m.kernel_size)[0]}, stride={pair(m.stride or m.kernel_size)[0]})"
    if isinstance(m, nn.BatchNorm2d):
        return f"BatchNorm2d({m.num_features})"
    if isinstance(m, nn.Dropout):
        return f"Dropout(p={m.p:g})"
    if isinstance(m, nn.Linear):
        return f"Linear({m.in_features}, {m.out_features})"
    return type(m).__name__


def check_cnn_init(parts, cls, torch):
    nn = torch.nn
    want = replica_cnn(torch, 10)

    def model_of(net):
        model = getattr(net, "model", None)
        if not isinstance(model, nn.Sequential):
            raise Check(f"expected self.model to be an nn.Sequential, got {type(model).__name__}")
        return model

    def sequence():
        net = cls()
        if getattr(net, "num_classes", None) != 10:
            raise Check(f"expected self.num_classes == 10 by default, got {getattr(net, 'num_classes', '<missing>')!r}")
        got = [type(m).__name__ for m in model_of(net)]
        expected = [type(m).__name__ for m in want]
        if got != expected:
            first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
            raise Check(f"expected {len(expected)} modules: 4 x (Conv2d, ReLU, MaxPool2d, BatchNorm2d, Dropout), "
                        f"Flatten, Linear, ReLU, Linear; got {len(got)}, first difference at module {first}: "
                        f"expected {expected[first] if first < len(expected) else 'nothing'}, "
                        f"got {got[first] if first < len(got) else 'nothing'}")
    part(parts, 2, "self.model: the 24 modules in order", sequence)

    def settings():
        got_layers = [m for m in model_of(cls()) if not isinstance(m, (nn.ReLU, nn.Flatten))]
        want_layers = [m for m in want if not isinstance(m, (nn.ReLU, nn.Flatten))]
        problems = []
        for kind in (nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.Dropout, nn.Linear):
            g = [layer_settings(m) for m in got_layers if type(m) is kind]
            w = [layer_settings(m) for m in want_layers if type(m) is kind]
            if g != w:
                problems.append(f"expected {', '.join(w)}; got {', '.join(g) or 'none'}")
        if problems:
            raise Check("; ".join(problems))
    part(parts, 2, "every layer's settings (channels, kernel 3, stride 1, padding 1, pool 2, p=0.3, 256->128->classes)",
         settings)

    def count():
        for n in (10, 7):
            got = sum(p.numel() for p in model_of(cls(num_classes=n)).parameters())
            expected = sum(p.numel() for p in replica_cnn(torch, n).parameters())
            if got != expected:
                raise Check(f"with num_classes={n} expected {expected:,} parameters, got {got:,}")
        net = cls(num_classes=7)
        if getattr(net, "num_classes", None) != 7:
            raise Check(f"with num_classes=7 expected self.num_classes == 7, got {getattr(net, 'num_classes', None)!r}")
    part(parts, 1, "parameter count (422,986 for 10 classes) and num_classes", count)

    def seeding():
        import random
        cls(random_seed=3)
        np_draw, py_draw = np.random.rand(), random.random()
        np.random.seed(3)
        random.seed(3)
        if np_draw != np.random.rand():
            raise Check("PyTorchCNN(random_seed=3) should call np.random.seed(3)")
        if py_draw != random.random():
            raise Check("PyTorchCNN(random_seed=3) should call random.seed(3)")
        a = [p.detach().clone() for p in cls(random_seed=3).parameters()]
        b = [p.detach().clone() for p in cls(random_seed=3).parameters()]
        c = [p.detach().clone() for p in cls(random_seed=4).parameters()]
        if len(a) != len(b) or not all(torch.equal(x, y) for x, y in zip(a, b)):
            raise Check("two PyTorchCNN(random_seed=3) should have identical weights (torch.manual_seed)")
        if all(torch.equal(x, y) for x, y in zip(a, c)):
            raise Check("PyTorchCNN(random_seed=3) and (random_seed=4) have identical weights: the seed is not used")
    part(parts, 1, "seeds torch, numpy and random with random_seed", seeding)


# --------------------------------------------------------------------------- real-data runs
RUNS = {  # group: (module, class, layout, threshold item, handout construction, handout train kwargs)
    "numpy_run": ("numpy_ann", "NumpyANN", "flat", "1.10",
                  dict(input_size=784, hidden_size=64, output_size=10, lr=0.01),
                  dict(epochs=250, batch_size=64)),
    "ann_run": ("pytorch_ann", "PyTorchANN", "flat", "2.6",
                dict(input_size=784, output_size=10, hidden_size=32),
                dict(epochs=100, batch_size=64, learning_rate=0.2)),
    "cnn_run": ("pytorch_cnn", "PyTorchCNN", "image", "3.2", dict(), dict()),
}
TRAIN_ARG_NAMES = ("X_train", "y_train", "X_val", "y_val")


def describe_call(args, kwargs):
    names = list(TRAIN_ARG_NAMES) + ["epochs", "batch_size", "learning_rate"]
    shown = []
    for i, value in enumerate(args):
        if i >= 4:
            shown.append(f"{names[i] if i < len(names) else f'arg{i}'}={short(value, 40)}")
    for key, value in kwargs.items():
        if key not in TRAIN_ARG_NAMES:
            shown.append(f"{key}={short(value, 40)}")
    return ", ".join(shown)


def run_script(rec, group, fast, module=None):
    module_name, class_name, layout, item_id, init_kwargs, train_kwargs = RUNS[group]
    judged = {"1.10": None, "2.6": "2.7", "3.2": "3.3"}[item_id]
    run = {"fast": fast, "pred": None, "how": None, "error": None, "metrics": None,
           "judgement": None, "judgement_error": None, "output_tail": ""}
    rec.data["runs"][item_id] = run
    rec.save()
    path = os.path.join(SCRATCH, f"{module_name}.py")

    def judge(model):
        try:
            with time_limit(rec.item_timeout), contextlib.redirect_stdout(BoundedText()):
                answer = model.report_my_judgement()
            run["judgement"] = answer if isinstance(answer, str) else short(answer)
            if not isinstance(answer, str):
                run["judgement_error"] = f"report_my_judgement() returned {type(answer).__name__}, not a str"
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            run["judgement_error"] = f"report_my_judgement() raised {describe_exception(exc)}"

    if fast:
        if judged is None:
            return
        module = module or import_student(module_name, rec, [])
        if module is None:
            run["judgement_error"] = rec.data["fatal"]
            rec.save()
            return
        try:
            cls = get_class(module, class_name)
            with time_limit(rec.item_timeout), contextlib.redirect_stdout(BoundedText()):
                model = cls(**init_kwargs)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            run["judgement_error"] = f"{class_name}({init_kwargs}) failed: {describe_exception(exc)}"
            rec.save()
            return
        judge(model)
        rec.save()
        return

    # The grader's own copy of the test images, loaded before any student code runs.
    sys.path.insert(0, SCRATCH)
    import utils as grader_utils
    split = grader_utils.load_handout_data(layout=layout)
    X_test = split.X_test.copy()

    captured = []
    original_build = builtins.__build_class__

    def build_class(func, name, *bases, **kwargs):
        cls = original_build(func, name, *bases, **kwargs)
        train = cls.__dict__.get("train") if name == class_name else None
        if callable(train):
            @functools.wraps(train)
            def spy(self, *args, **kw):
                if len(args) + len(kw) < 4:  # nn.Module.train(mode), e.g. from .eval()
                    return train(self, *args, **kw)
                result = train(self, *args, **kw)
                captured.append((self, describe_call(args, kw)))
                return result
            cls.train = spy
        return cls

    out = BoundedText(limit=200000)
    started = time.time()
    sys.argv = [path]
    builtins.__build_class__ = build_class
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0) and not captured:
            run["error"] = f"your script exited with exit({exc.code!r}) before training finished"
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        run["error"] = f"python {module_name}.py raised {describe_exception(exc)}"
    finally:
        builtins.__build_class__ = original_build
    run["output_tail"] = out.getvalue()[-3000:]
    run["seconds"] = round(time.time() - started, 1)

    model = None
    if captured:
        model, call = captured[-1]
        run["how"] = f"the model your script trained with train(X_train, y_train, X_val, y_val{', ' + call if call else ''})"
    elif run["error"] is None:
        # The script trains nothing under __main__: run the handout protocol ourselves.
        module = import_student(module_name, rec, [])
        if module is None:
            run["error"] = rec.data["fatal"]
        else:
            try:
                cls = get_class(module, class_name)
                torch_data = group != "numpy_run"
                data = grader_utils.load_handout_data(layout=layout, return_tensor=torch_data)
                with contextlib.redirect_stdout(BoundedText()):
                    model = cls(**init_kwargs)
                    model.train(*data[:4], **train_kwargs)
                run["how"] = (f"your script trained no {class_name}, so the grader ran the handout protocol: "
                              f"{class_name}({init_kwargs}).train(..., {train_kwargs})")
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, KeyboardInterrupt):
                    raise
                run["error"] = f"the handout protocol with your {class_name} raised {describe_exception(exc)}"
                model = None
    if model is not None:
        try:
            with contextlib.redirect_stdout(BoundedText()):
                if group == "numpy_run":
                    scores = np.asarray(model.predict(X_test))
                    labels = scores.argmax(axis=1) if scores.ndim == 2 else scores
                else:
                    import torch
                    try:
                        device = next(model.parameters()).device
                    except StopIteration:
                        device = torch.device("cpu")
                    torch.nn.Module.train(model, False)
                    with torch.no_grad():
                        labels = model(torch.as_tensor(X_test, dtype=torch.float32, device=device)).argmax(1)
                    labels = labels.cpu().numpy()
            labels = np.asarray(labels).astype(int).ravel()
            run["pred"] = [int(v) for v in labels]
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            run["error"] = f"predicting the test images with your trained model raised {describe_exception(exc)}"
        metrics = getattr(model, "train_val_metrics", None)
        if isinstance(metrics, dict):
            try:
                run["metrics"] = {k: [float(v) for v in metrics[k]]
                                  for k in ("train_losses", "train_accs", "val_losses", "val_accs")}
            except Exception:  # noqa: BLE001
                run["metrics"] = None
        if judged:
            judge(model)
    rec.save()


# --------------------------------------------------------------------------- entry point
def run_group(group, scratch, out_path, item_timeout, fast):
    """Probe ``group`` in the submission copied to ``scratch``; never returns."""
    global SCRATCH
    SCRATCH = os.path.abspath(scratch)
    sys.path.insert(0, SCRATCH)
    os.chdir(SCRATCH)
    rec = Recorder(out_path, item_timeout)
    rec.save()
    if group == "numpy_unit":
        group_numpy_unit(rec, fast)
    elif group == "ann_unit":
        group_torch_unit(rec, fast, "ann")
    elif group == "cnn_unit":
        group_torch_unit(rec, fast, "cnn")
    elif group in RUNS:
        run_script(rec, group, fast)
    else:
        rec.fatal(f"unknown group {group!r}")
    rec.save()
    # Skip interpreter teardown: the student's atexit handlers and threads cannot touch the result.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(0)


def main(argv):
    """``python -I _grader_child.py GROUP OBSERVATIONS.json ITEM_TIMEOUT [--fast]`` (run from the scratch copy)."""
    run_group(argv[1], SCRATCH, argv[2], float(argv[3]), "--fast" in argv[4:])


def forked_main(group, scratch, out_path, item_timeout, fast, env, uid=None, gid=None,
                max_file_bytes=200 * 2**20):
    """Entry point in a process forked from the grader's fork server (torch already imported).

    Sets up what a fresh ``python -I`` child would have: its own session (so the parent
    can kill everything it starts), output to ``scratch/output.log``, file-size and core
    limits, the unprivileged user, a clean environment and a ``sys.path`` on which the
    repository (and so the reference solution) is not importable.
    """
    import resource
    import tempfile
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    log = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    hidden = {repo, os.path.join(repo, "tests"), os.path.join(repo, "grader")}
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) not in hidden]
    for name in ("utils", "numpy_ann", "pytorch_ann", "pytorch_cnn"):
        sys.modules.pop(name, None)
    run_group(group, scratch, out_path, item_timeout, fast)


if __name__ == "__main__":
    main(sys.argv)
