"""Part 1 (numpy_ann.py, NumpyANN): items 1.1-1.9, on small inputs the grader chooses.

Every expected value is computed here with the handout's own formulas (``mlp_forward``, finite
differences of the mean cross-entropy), never by the student's code.
"""
from __future__ import annotations

import math
import re

import numpy as np

from . import check
from .common import (
    Fail,
    Sessions,
    as_array,
    call,
    expect_close,
    get,
    is_float_like,
    mlp_forward,
    new,
    one_hot,
    op,
    part,
    set_attrs,
    short,
)

CLS = "NumpyANN"
PROGRESS = re.compile(r"\[\s*(\d+)\s*/\s*(\d+)\s*\]\s*\|\s*Train Loss:\s*\d+\.\d{5}\s*\|\s*Train Accuracy:\s*"
                      r"\d\.\d{5}\s*\|\s*Val Loss:\s*\d+\.\d{5}\s*\|\s*Val Accuracy:\s*\d\.\d{5}")


def random_weights(rng, n_in, n_hidden, n_out, scale=0.5):
    """W1, b1, W2, b2 for the grader to set (not the student's initialisation)."""
    return (rng.normal(0, scale, (n_in, n_hidden)), rng.normal(0, scale, (1, n_hidden)),
            rng.normal(0, scale, (n_hidden, n_out)), rng.normal(0, scale, (1, n_out)))


def weights_of(params):
    return dict(zip(("W1", "b1", "W2", "b2"), params))


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


@check("1.1")
def numpy_init(ctx):
    """__init__ keeps sizes and lr, draws W1 then W2 as randn * 0.01 after np.random.seed, zero biases."""
    sizes = dict(input_size=7, hidden_size=5, output_size=3, lr=0.05)
    plan = [[new(CLS, **sizes, random_seed=3), get("input_size", "hidden_size", "output_size", "lr"),
             get("W1", "W2"), get("b1", "b2")],
            [new(CLS, input_size=4, hidden_size=3, output_size=2, lr=0.1), get("W1", "W2")]]
    r = Sessions((yield plan), plan)

    def expected_draws(seed, n_in, n_h, n_out):
        draws = np.random.RandomState(seed)  # the stream np.random.seed(seed) starts
        return draws.randn(n_in, n_h) * 0.01, draws.randn(n_h, n_out) * 0.01

    def attributes():
        got = r.attrs(0, 1)
        want = {"input_size": 7, "hidden_size": 5, "output_size": 3, "lr": 0.05}
        if {k: got.get(k) for k in want} != want:
            raise Fail(f"after NumpyANN(input_size=7, hidden_size=5, output_size=3, lr=0.05) expected "
                       f"attributes {want}, got {short(got)}")

    def weights():
        for session, seed, shape in ((0, 3, (7, 5, 3)), (1, 42, (4, 3, 2))):
            W1, W2 = expected_draws(seed, *shape)
            got = r.attrs(session, 1 if session else 2)
            label = f"with random_seed={seed}" + (" (the default)" if seed == 42 else "")
            for name, want in (("W1", W1), ("W2", W2)):
                expect_close(f"{name} {label} (np.random.seed, then randn(...) * 0.01 for W1 and then for W2)",
                             got.get(name), want, rtol=1e-7, atol=1e-12)

    def biases():
        got = r.attrs(0, 3)
        expect_close("b1", got.get("b1"), np.zeros((1, 5)), atol=0)
        expect_close("b2", got.get("b2"), np.zeros((1, 3)), atol=0)
    return [part(1, "attributes input_size, hidden_size, output_size, lr", attributes),
            part(1, "W1, W2 = np.random.randn(...) * 0.01 after np.random.seed(random_seed), W1 first", weights),
            part(1, "b1, b2 zeros of shape (1, hidden_size) and (1, output_size)", biases)]


def small_model(**sizes):
    return new(CLS, **({"input_size": 2, "hidden_size": 2, "output_size": 2, "lr": 0.1} | sizes))


@check("1.2")
def relu(ctx):
    """_relu is max(0, z) element-wise, for 1-D and 2-D inputs."""
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e-9]])
    plan = [[small_model(), call("_relu", z)], [small_model(), call("_relu", np.array([-1, 0, 1]))]]
    r = Sessions((yield plan), plan)

    def values():
        expect_close("_relu of [[-2, -0.5, 0], [0.5, 3, -1e-9]]", r.value(0, 1), np.maximum(z, 0), atol=0)
        expect_close("_relu([-1, 0, 1])", r.value(1, 1), [0, 0, 1], atol=0)
    return [part(1, "max(0, z) element-wise", values)]


@check("1.3")
def relu_grad(ctx):
    """_relu_grad is 0 where z <= 0 (zero included) and 1 where z > 0."""
    z = np.array([-2.0, -1e-3, 0.0, 1e-3, 2.0])
    plan = [[small_model(), call("_relu_grad", z)],
            [small_model(), call("_relu_grad", np.array([[-1.0, 0.0], [1.0, 5.0]]))]]
    r = Sessions((yield plan), plan)

    def values():
        got = as_array("_relu_grad([-2, -0.001, 0, 0.001, 2])", r.value(0, 1), shape=(5,))
        for zi, g, w in zip(z, got, (0, 0, 0, 1, 1)):
            if g != w:
                raise Fail(f"at z = {zi:g} expected {w} (0 where z <= 0, 1 otherwise), got {g:g}")
        expect_close("_relu_grad([[-1, 0], [1, 5]])", r.value(1, 1), [[0, 0], [1, 1]], atol=0)
    return [part(1, "0 at negative and zero inputs, 1 at positive", values)]


@check("1.4")
def cross_entropy(ctx):
    """_cross_entropy(y_pred, y_true) is the mean over samples of -sum(y_true log y_pred), returned as a float."""
    p = np.array([[0.7, 0.2, 0.05, 0.05], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
    y = one_hot([0, 2, 3], 4)
    plan = [[small_model(), call("_cross_entropy", np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([[1, 0], [0, 1]]))],
            [small_model(), call("_cross_entropy", p, y, label="_cross_entropy(y_pred, y_true) for 3 samples")]]
    r = Sessions((yield plan), plan)

    def values():
        got = r.value(0, 1)
        if not is_float_like(got, r[0, 1].type):
            raise Fail(f"expected a float, got {r[0, 1].type} {short(got)}")
        expect_close("_cross_entropy([[.5, .5], [.5, .5]], [[1, 0], [0, 1]])", got, math.log(2), rtol=1e-5)
        expect_close("_cross_entropy(y_pred, y_true) for 3 samples, 4 classes (mean over samples of "
                     "-sum(y_true * log(y_pred)))", r.value(1, 1), -np.mean(np.sum(y * np.log(p), axis=1)), rtol=1e-5)
    return [part(1, "mean over samples of -sum(y_true log y_pred), prediction first", values)]


@check("1.5")
def forward(ctx):
    """_forward is softmax(relu(X W1 + b1) W2 + b2) for set weights; training=True stores z1, a1, z2, a2."""
    rng = np.random.default_rng(1)
    params = random_weights(rng, 5, 4, 3)
    X = rng.normal(size=(6, 5))
    z1, a1, z2, a2 = mlp_forward(X, *params)
    model = [new(CLS, input_size=5, hidden_size=4, output_size=3, lr=0.1), set_attrs(**weights_of(params))]
    plan = [model + [call("_forward", X)],
            model + [op("forget", ["z1", "a1", "z2", "a2"]), call("_forward", X, training=True),
                     get("z1", "a1", "z2", "a2")]]
    r = Sessions((yield plan), plan)

    def output():
        expect_close("_forward(X) for 6 samples (softmax(relu(X W1 + b1) W2 + b2))", r.value(0, 2), a2, rtol=1e-6)

    def stored():
        got = r.attrs(1, 4)
        for name, want in (("z1", z1), ("a1", a1), ("z2", z2), ("a2", a2)):
            if not isinstance(got.get(name), np.ndarray):
                raise Fail(f"after _forward(X, training=True) expected self.{name} to be an array, got "
                           f"{short(got.get(name))}")
            expect_close(f"self.{name}", got[name], want, rtol=1e-6)
    return [part(1, "returns softmax(relu(X W1 + b1) W2 + b2)", output),
            part(1, "with training=True stores self.z1, self.a1, self.z2, self.a2", stored)]


@check("1.6")
def backward(ctx):
    """_backward moves each parameter by -lr times the mean cross-entropy's finite-difference gradient."""
    rng = np.random.default_rng(2)
    cases = {}  # (m, lr) -> (params, gradients)
    plan = []
    for m, lr in ((6, 0.5), (1, 0.1), (9, 0.03)):
        params = random_weights(rng, 5, 4, 3)
        X = rng.normal(size=(m, 5))
        Y = one_hot(rng.integers(0, 3, m), 3)
        caches = dict(zip(("z1", "a1", "z2", "a2"), mlp_forward(X, *params)))
        cases[(m, lr)] = (params, numeric_gradients(X, Y, params))
        plan.append([new(CLS, input_size=5, hidden_size=4, output_size=3, lr=lr),
                     set_attrs(**weights_of(params), **caches), call("_backward", X, Y), get("W1", "b1", "W2", "b2")])
    r = Sessions((yield plan), plan)

    def step(session, name, case):
        params, grads = cases[case]
        after = r.attrs(session, 3).get(name)
        before = weights_of(params)[name]
        after = as_array(f"{name} after _backward", after, shape=before.shape)
        expect_close(f"with a batch of {case[0]} and lr={case[1]}, the change of {name} divided by -lr, against "
                     f"the finite-difference gradient of the mean cross-entropy", (before - after) / case[1],
                     grads[name], rtol=1e-4, atol=1e-7)

    def output_layer():
        returned = r.value(0, 2)
        if returned is not None:
            raise Fail(f"_backward should return None (it updates the weights in place), got {short(returned)}")
        for name in ("W2", "b2"):
            step(0, name, (6, 0.5))

    def hidden_layer():
        for name in ("W1", "b1"):
            step(0, name, (6, 0.5))

    def scaling():
        for session, case in ((1, (1, 0.1)), (2, (9, 0.03))):
            for name in ("W1", "b1", "W2", "b2"):
                step(session, name, case)
    return [part(1, "output layer: W2 and b2 move by -lr * gradient; returns None", output_layer),
            part(1, "hidden layer: W1 and b1 move by -lr * gradient (dz1 uses W2 before its update)", hidden_layer),
            part(1, "the step scales with lr and averages over the batch size m", scaling)]


@check("1.7")
def numpy_train(ctx):
    """train walks the data in mini-batches (the last may be shorter), printing progress every 10th epoch."""
    rng = np.random.default_rng(3)
    X, Xv = rng.normal(size=(10, 4)), rng.normal(size=(5, 4))
    Y, Yv = one_hot(np.argmax(X[:, :3], axis=1), 3), one_hot(np.argmax(Xv[:, :3], axis=1), 3)
    every = ctx.facts.PROGRESS_EVERY["numpy_ann"]
    epochs = 2 * every
    plan = [[new(CLS, input_size=4, hidden_size=6, output_size=3, lr=0.1), op("spy", "_backward"),
             call("train", X, Y, Xv, Yv, epochs=3, batch_size=4), op("spied", "_backward")],
            [new(CLS, input_size=4, hidden_size=6, output_size=3, lr=0.1),
             call("train", X, Y, Xv, Yv, epochs=epochs, batch_size=5)]]
    r = Sessions((yield plan), plan)

    def batches():
        returned = r.value(0, 2)
        if returned is not None:
            raise Fail(f"train should return None, got {short(returned)}")
        sizes = r.value(0, 3)
        if sizes != [4, 4, 2] * 3:
            raise Fail(f"with 10 samples, batch_size=4 and epochs=3, expected _backward on batches of sizes "
                       f"{[4, 4, 2] * 3}, got {short(sizes)}")

    def progress():
        r.value(1, 1)
        printed = r[1, 1].stdout
        seen = [int(m.group(1)) for m in PROGRESS.finditer(printed)]
        if every not in seen or epochs not in seen:
            raise Fail(f"with epochs={epochs} expected lines like '[{every} / {epochs}] | Train Loss: 0.12345 | "
                       f"Train Accuracy: 0.12345 | Val Loss: 0.12345 | Val Accuracy: 0.12345' for epochs {every} "
                       f"and {epochs}; found such lines for epochs {seen}; your first printed lines: "
                       f"{short(printed.strip().splitlines()[:2])}")
    return [part(1, "each epoch walks the training set in mini-batches (the last may be shorter)", batches),
            part(1, f"prints '[e / E] | Train Loss: ... | Val Accuracy: ...' every {every}th epoch", progress)]


@check("1.8")
def numpy_predict(ctx):
    """predict returns the class probabilities of a forward pass and stores nothing on the model."""
    rng = np.random.default_rng(4)
    params = random_weights(rng, 5, 4, 3)
    X = rng.normal(size=(6, 5))
    model = [new(CLS, input_size=5, hidden_size=4, output_size=3, lr=0.1), set_attrs(**weights_of(params))]
    plan = [model + [call("predict", X)],
            model + [call("_forward", X[:2], training=True), op("state"), call("predict", X), op("state")]]
    r = Sessions((yield plan), plan)

    def probabilities():
        expect_close("predict(X) for 6 samples: class probabilities, shape (6, 3)", r.value(0, 2),
                     mlp_forward(X, *params)[3], rtol=1e-6)

    def no_state():
        before, after = r.attrs(1, 3), r.attrs(1, 5)
        for key in sorted(set(before) | set(after)):
            if key not in before:
                raise Fail(f"predict created self.{key}; it must not store anything")
            if key not in after:
                raise Fail(f"predict deleted self.{key}")
            if not same(before[key], after[key]):
                raise Fail(f"predict changed self.{key} (use _forward(X, training=False), which stores nothing)")
    return [part(0.5, "returns the class probabilities of a forward pass", probabilities),
            part(0.5, "stores nothing (training=False)", no_state)]


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    return a == b


@check("1.9")
def numpy_accuracy(ctx):
    """accuracy is the fraction of rows whose most probable class is the one-hot label's, returned as a float."""
    rng = np.random.default_rng(5)
    cases, plan = [], []
    for n_out, m, relabel in ((2, 8, lambda p: np.where(np.arange(8) < 5, p, 1 - p)),
                              (5, 10, lambda p: np.where(np.arange(10) % 3 == 0, (p + 1) % 5, p))):
        params = random_weights(rng, 5, 4, n_out, scale=0.3)
        X = rng.normal(size=(m, 5))
        predicted = mlp_forward(X, *params)[3].argmax(axis=1)
        labels = relabel(predicted)
        cases.append((n_out, m, float(np.mean(predicted == labels))))
        plan.append([new(CLS, input_size=5, hidden_size=4, output_size=n_out, lr=0.1),
                     set_attrs(**weights_of(params)), call("accuracy", X, one_hot(labels, n_out))])
    r = Sessions((yield plan), plan)

    def case(index):
        def probe():
            n_out, m, want = cases[index]
            got = r.value(index, 2)
            if not is_float_like(got, r[index, 2].type):
                raise Fail(f"expected a float, got {r[index, 2].type} {short(got)}")
            if not math.isclose(float(got), want, abs_tol=1e-9):
                raise Fail(f"{m} samples, {n_out} classes, {round(want * m)} predicted right (argmax of the "
                           f"probabilities against argmax of the one-hot labels): expected {want:g}, "
                           f"got {float(got):g}")
        return probe
    return [part(1, "2 classes", case(0)), part(1, "5 classes, low-confidence predictions", case(1))]
