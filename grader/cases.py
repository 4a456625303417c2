"""The inputs and expected values of the unit checks: the judge's half of each check.

A check (``grader/checks/``) builds its plan from ``ctx.case(item_id)`` and compares what the
student's code returned with the expected values in it; every expected value is computed
here, with the handout's own formulas (the network's forward pass, finite differences of the
mean cross-entropy, the seeded draws), never by the student's code and never in a check.

That split is what lets the handout ship the checks themselves as its public tests
(``python -m release build`` writes ``tests/``): the check code, with its comparisons, messages
and hints, goes to students as it is, and this module stays with the grader. The handout gets
the expected values of the *public* variant of each case, frozen as data: other inputs than
the grader's (the same shapes and kinds, other random draws), so a table of the shipped
answers earns nothing in the grader.

Each case is ``fn(rng, grader)``: ``rng`` a seeded ``numpy.random.Generator``, ``grader`` True
for the grader's variant. It returns a dict of numbers and arrays (the wire format of
``grader/probe.py`` carries it). The grader's variant of a case with literal inputs keeps
them, so the grader grades as it always has.
"""
from __future__ import annotations

import threading

import numpy as np

CASES: dict = {}  # item id -> (function, seed)
PUBLIC_OFFSET = 1000  # the public variant's seed: the grader's plus this


def case(item_id: str, seed: int):
    """Register ``fn(rng, grader)`` as the case of ``item_id``, drawn from ``default_rng(seed)``."""
    def register(fn):
        CASES[item_id] = (fn, seed)
        return fn
    return register


def make(item_id: str, variant: str = "grader") -> dict:
    """The case of ``item_id``: ``variant`` "grader" (what the grader grades with) or "public"
    (what the handout's public tests ship, frozen)."""
    if variant not in ("grader", "public"):
        raise ValueError(f"variant must be 'grader' or 'public', got {variant!r}")
    fn, seed = CASES[item_id]
    grader = variant == "grader"
    return fn(np.random.default_rng(seed if grader else seed + PUBLIC_OFFSET), grader)


# --------------------------------------------------------------------------- the handout's networks
def mlp_forward(X, W1, b1, W2, b2):
    """z1, a1, z2, a2 of the handout's numpy network (row-vector convention: X W1 + b1)."""
    z1 = X @ W1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2 + b2
    e = np.exp(z2 - z2.max(axis=1, keepdims=True))
    return z1, a1, z2, e / e.sum(axis=1, keepdims=True)


def mean_ce(X, Y, params):
    return float(-np.mean(np.sum(Y * np.log(mlp_forward(X, *params)[3]), axis=1)))


def numeric_gradients(X, Y, params, eps=1e-6):
    """Central finite differences of the mean cross-entropy with respect to each parameter."""
    grads = []
    for index, p in enumerate(params):
        grad = np.zeros_like(p)
        for pos in np.ndindex(p.shape):
            plus, minus = [q.copy() for q in params], [q.copy() for q in params]
            plus[index][pos] += eps
            minus[index][pos] -= eps
            grad[pos] = (mean_ce(X, Y, plus) - mean_ce(X, Y, minus)) / (2 * eps)
        grads.append(grad)
    return dict(zip(("W1", "b1", "W2", "b2"), grads))


def random_weights(rng, n_in, n_hidden, n_out, scale=0.5):
    """W1, b1, W2, b2 for the grader to set (not the student's initialisation)."""
    return (rng.normal(0, scale, (n_in, n_hidden)), rng.normal(0, scale, (1, n_hidden)),
            rng.normal(0, scale, (n_hidden, n_out)), rng.normal(0, scale, (1, n_out)))


def one_hot(labels, n):
    return np.eye(n)[np.asarray(labels)]


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


def model_outputs(X, modules, linears):
    """What ``self.model`` computes in eval mode with the grader's weights (the handout's network
    if the reported model holds a layer :func:`run_modules` cannot evaluate)."""
    out = run_modules(X, modules, linears)
    if out is None:
        out = run_modules(X, [{"type": "Linear"}, {"type": "ReLU"}, {"type": "Linear"}], linears)
    return out


def random_linears(rng, sizes=(5, 10, 3)):
    """(weight, bias) pairs in torch's layout (out, in), for the grader to set."""
    return [(rng.normal(0, 0.5, (n_out, n_in)).astype(np.float32), rng.normal(0, 0.5, n_out).astype(np.float32))
            for n_in, n_out in zip(sizes, sizes[1:])]


_REPLICAS: dict = {}
_REPLICA_LOCK = threading.Lock()  # torch's global generator is shared by the threads grading at once


def replica_linears(seed, sizes=(5, 10, 3)):
    """The handout's layers as torch draws them after torch.manual_seed(seed)."""
    import torch

    with _REPLICA_LOCK:
        if (seed, sizes) not in _REPLICAS:
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                model = torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), torch.nn.ReLU(),
                                            torch.nn.Linear(sizes[1], sizes[2]))
            _REPLICAS[seed, sizes] = [(m.weight.detach().numpy(), m.bias.detach().numpy())
                                      for m in model if isinstance(m, torch.nn.Linear)]
        return _REPLICAS[seed, sizes]


# --------------------------------------------------------------------------- Part 1
def _draws(seed, n_in, n_h, n_out):
    draws = np.random.RandomState(seed)  # the stream np.random.seed(seed) starts
    return draws.randn(n_in, n_h) * 0.01, draws.randn(n_h, n_out) * 0.01


@case("1.1", seed=0)
def numpy_init(rng, grader):
    sizes = dict(input_size=7, hidden_size=5, output_size=3, lr=0.05) if grader else \
        dict(input_size=6, hidden_size=4, output_size=3, lr=0.2)
    seed = 3 if grader else int(rng.integers(100, 1000))
    runs = []
    for run_seed, shape in ((seed, (sizes["input_size"], sizes["hidden_size"], sizes["output_size"])),
                            (42, (4, 3, 2))):
        W1, W2 = _draws(run_seed, *shape)
        # The known mistake: W2 drawn first, from the head of the stream.
        stream = np.random.RandomState(run_seed)
        W2_first = stream.randn(shape[1], shape[2]) * 0.01
        W1_second = stream.randn(shape[0], shape[1]) * 0.01
        runs.append(dict(seed=run_seed, shape=list(shape), W1=W1, W2=W2, W1_if_W2_first=W1_second,
                         W2_if_W2_first=W2_first))
    return dict(sizes=sizes, runs=runs)


@case("1.2", seed=11)
def numpy_relu(rng, grader):
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e-9]]) if grader else \
        np.round(rng.normal(0, 2, (3, 4)), 3)
    small = np.array([-1, 0, 1]) if grader else np.array([-3, 0, 2, -1])
    return dict(z=z, relu=np.maximum(z, 0), small=small, small_relu=np.maximum(small, 0))


@case("1.3", seed=12)
def numpy_relu_grad(rng, grader):
    z = np.array([-2.0, -1e-3, 0.0, 1e-3, 2.0]) if grader else np.array([0.7, -1e-4, 0.0, 1e-4, -1.5])
    grid = np.array([[-1.0, 0.0], [1.0, 5.0]]) if grader else np.array([[0.0, -4.0], [2.5, 0.0]])
    return dict(z=z, grad=(z > 0).astype(int), grid=grid, grid_grad=(grid > 0).astype(int))


@case("1.4", seed=13)
def numpy_cross_entropy(rng, grader):
    if grader:
        p = np.array([[0.7, 0.2, 0.05, 0.05], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
        labels = [0, 2, 3]
    else:
        p = rng.dirichlet(np.ones(4), size=5)
        labels = rng.integers(0, 4, 5)
    y = one_hot(labels, 4)
    half, pairs = np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([[1, 0], [0, 1]])  # the doctest's
    return dict(p=p, y=y, loss=float(-np.mean(np.sum(y * np.log(p), axis=1))), half=half, pairs=pairs,
                half_loss=float(-np.mean(np.sum(pairs * np.log(half), axis=1))))


@case("1.5", seed=1)
def numpy_forward(rng, grader):
    params = random_weights(rng, 5, 4, 3)
    X = rng.normal(size=(6, 5))
    z1, a1, z2, a2 = mlp_forward(X, *params)
    return dict(params=params, X=X, z1=z1, a1=a1, z2=z2, a2=a2)


@case("1.6", seed=2)
def numpy_backward(rng, grader):
    runs = []
    for m, lr in ((6, 0.5), (1, 0.1), (9, 0.03)):
        params = random_weights(rng, 5, 4, 3)
        X = rng.normal(size=(m, 5))
        Y = one_hot(rng.integers(0, 3, m), 3)
        caches = dict(zip(("z1", "a1", "z2", "a2"), mlp_forward(X, *params)))
        grads = numeric_gradients(X, Y, params)
        # The known mistake: W2 stepped before dz1 is computed, which then goes back through the
        # new W2. The hidden layer's change is then (dz2 (W2 - lr dW2).T * relu'(z1)) terms.
        W2_new = params[2] - lr * grads["W2"]
        dz2 = (caches["a2"] - Y) / m
        dz1 = (dz2 @ W2_new.T) * (caches["z1"] > 0)
        runs.append(dict(m=m, lr=lr, params=params, X=X, Y=Y, caches=caches, grads=grads,
                         W1_if_W2_first=X.T @ dz1, b1_if_W2_first=dz1.sum(axis=0, keepdims=True)))
    return dict(runs=runs)


@case("1.7", seed=3)
def numpy_train(rng, grader):
    X, Xv = rng.normal(size=(10, 4)), rng.normal(size=(5, 4))
    return dict(X=X, Y=one_hot(np.argmax(X[:, :3], axis=1), 3), Xv=Xv, Yv=one_hot(np.argmax(Xv[:, :3], axis=1), 3))


@case("1.8", seed=4)
def numpy_predict(rng, grader):
    params = random_weights(rng, 5, 4, 3)
    X = rng.normal(size=(6, 5))
    return dict(params=params, X=X, probabilities=mlp_forward(X, *params)[3])


@case("1.9", seed=5)
def numpy_accuracy(rng, grader):
    runs = []
    for n_out, m, relabel in ((2, 8, lambda p: np.where(np.arange(8) < 5, p, 1 - p)),
                              (5, 10, lambda p: np.where(np.arange(10) % 3 == 0, (p + 1) % 5, p))):
        params = random_weights(rng, 5, 4, n_out, scale=0.3)
        X = rng.normal(size=(m, 5))
        predicted = mlp_forward(X, *params)[3].argmax(axis=1)
        labels = relabel(predicted)
        runs.append(dict(n_out=n_out, m=m, params=params, X=X, Y=one_hot(labels, n_out),
                         accuracy=float(np.mean(predicted == labels))))
    return dict(runs=runs)


# --------------------------------------------------------------------------- Part 2
@case("2.1", seed=21)
def ann_init(rng, grader):
    sizes = dict(input_size=5, output_size=3, hidden_size=10) if grader else \
        dict(input_size=6, output_size=4, hidden_size=7)
    other = 7 if grader else int(rng.integers(100, 1000))
    shape = (sizes["input_size"], sizes["hidden_size"], sizes["output_size"])
    return dict(sizes=sizes, other_seed=other,
                linears={str(seed): replica_linears(seed, shape) for seed in (42, other)})


@case("2.2", seed=6)
def ann_forward(rng, grader):
    return dict(linears=random_linears(rng), X=rng.random((4, 5)).astype(np.float32))


@case("2.3", seed=0)
def ann_train(rng, grader):
    X, Xv = rng.normal(size=(20, 5)).astype(np.float32), rng.normal(size=(10, 5)).astype(np.float32)
    return dict(X=X, Y=one_hot(X[:, :3].argmax(1), 3), Xv=Xv, Yv=one_hot(Xv[:, :3].argmax(1), 3))


@case("2.4", seed=7)
def ann_predict(rng, grader):
    return dict(linears=random_linears(rng), X=rng.random((5, 5)).astype(np.float32))


# --------------------------------------------------------------------------- Part 3
@case("3.1", seed=31)
def cnn_init(rng, grader):
    seed = 3 if grader else int(rng.integers(100, 1000))
    return dict(seed=seed, other_seed=seed + 1, numpy_draw=float(np.random.RandomState(seed).rand()),
                python_draw=__import__("random").Random(seed).random())
