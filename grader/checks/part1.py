"""Part 1 (numpy_ann.py, NumpyANN): items 1.1-1.9, on small inputs the grader chooses.

Every input and expected value comes from ``ctx.case(item_id)`` (``grader/cases.py``: the
handout's own formulas, finite differences of the mean cross-entropy), never from the student's
code; this module only compares, and names a known mistake where it sees one.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .common import (
    Fail,
    Sessions,
    as_array,
    call,
    check,
    expect_close,
    get,
    is_float_like,
    new,
    op,
    part,
    ratio,
    set_attrs,
    short,
)

CLS = "NumpyANN"
PROGRESS = re.compile(r"\[\s*(\d+)\s*/\s*(\d+)\s*\]\s*\|\s*Train Loss:\s*\d+\.\d{5}\s*\|\s*Train Accuracy:\s*"
                      r"\d\.\d{5}\s*\|\s*Val Loss:\s*\d+\.\d{5}\s*\|\s*Val Accuracy:\s*\d\.\d{5}")


def weights_of(params):
    return dict(zip(("W1", "b1", "W2", "b2"), params))


def close(actual, expected, rtol=1e-7, atol=1e-12) -> bool:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    return actual.shape == expected.shape and np.allclose(actual, expected, rtol=rtol, atol=atol)


@check("1.1")
def numpy_init(ctx):
    """__init__ keeps sizes and lr, draws W1 then W2 as randn * 0.01 after np.random.seed, zero biases."""
    c = ctx.case("1.1")
    sizes, (first, default) = c["sizes"], c["runs"]
    plan = [[new(CLS, **sizes, random_seed=first["seed"]), get("input_size", "hidden_size", "output_size", "lr"),
             get("W1", "W2"), get("b1", "b2")],
            [new(CLS, **dict(zip(("input_size", "hidden_size", "output_size"), default["shape"])), lr=0.1),
             get("W1", "W2")]]
    r = Sessions((yield plan), plan)
    described = ", ".join(f"{k}={v}" for k, v in sizes.items())

    def attributes():
        got = r.attrs(0, 1)
        if {k: got.get(k) for k in sizes} != sizes:
            raise Fail(f"after NumpyANN({described}) expected attributes {sizes}, got {short(got)}")

    def weights():
        for session, run in ((0, first), (1, default)):
            got = r.attrs(session, 2 if session == 0 else 1)
            label = f"with random_seed={run['seed']}" + (" (the default)" if run["seed"] == 42 else "")
            for name in ("W1", "W2"):
                if close(got.get(name), run[f"{name}_if_W2_first"]) and not close(got.get(name), run[name]):
                    raise Fail(f"{name} {label} holds the draw the other layer's weights should have",
                               hint="W1 is drawn first and W2 second, both right after np.random.seed(random_seed): "
                                    "draw W2 after the provided W1")
                factor = ratio(got.get(name), run[name]) if not close(got.get(name), run[name]) else None
                if factor is not None and not math.isclose(factor, 1, rel_tol=1e-6):
                    raise Fail(f"{name} {label} is {factor:g} times the expected np.random.randn(...) * 0.01",
                               hint="scale the standard normal draws by 0.01, like the provided W1")
                expect_close(f"{name} {label} (np.random.seed, then randn(...) * 0.01 for W1 and then for W2)",
                             got.get(name), run[name], rtol=1e-7, atol=1e-12)

    def biases():
        got = r.attrs(0, 3)
        expect_close("b1", got.get("b1"), np.zeros((1, sizes["hidden_size"])), atol=0)
        expect_close("b2", got.get("b2"), np.zeros((1, sizes["output_size"])), atol=0)
    return [part(1, "attributes input_size, hidden_size, output_size, lr", attributes),
            part(1, "W1, W2 = np.random.randn(...) * 0.01 after np.random.seed(random_seed), W1 first", weights),
            part(1, "b1, b2 zeros of shape (1, hidden_size) and (1, output_size)", biases)]


def small_model(**sizes):
    return new(CLS, **({"input_size": 2, "hidden_size": 2, "output_size": 2, "lr": 0.1} | sizes))


@check("1.2")
def relu(ctx):
    """_relu is max(0, z) element-wise, for 1-D and 2-D inputs."""
    c = ctx.case("1.2")
    plan = [[small_model(), call("_relu", c["z"])], [small_model(), call("_relu", c["small"])]]
    r = Sessions((yield plan), plan)

    def values():
        expect_close(f"_relu of {short(c['z'], 80)}", r.value(0, 1), c["relu"], atol=0)
        expect_close(f"_relu({short(c['small'])})", r.value(1, 1), c["small_relu"], atol=0)
    return [part(1, "max(0, z) element-wise", values)]


@check("1.3")
def relu_grad(ctx):
    """_relu_grad is 0 where z <= 0 (zero included) and 1 where z > 0."""
    c = ctx.case("1.3")
    plan = [[small_model(), call("_relu_grad", c["z"])], [small_model(), call("_relu_grad", c["grid"])]]
    r = Sessions((yield plan), plan)

    def values():
        got = as_array(f"_relu_grad({short(c['z'])})", r.value(0, 1), shape=np.shape(c["z"]))
        for zi, g, w in zip(c["z"], got, c["grad"]):
            if g != w:
                raise Fail(f"at z = {zi:g} expected {w} (0 where z <= 0, 1 otherwise), got {g:g}",
                           hint="at z = 0 the derivative is taken as 0: only z > 0 gives 1" if zi == 0 else None)
        expect_close(f"_relu_grad({short(c['grid'])})", r.value(1, 1), c["grid_grad"], atol=0)
    return [part(1, "0 at negative and zero inputs, 1 at positive", values)]


@check("1.4")
def cross_entropy(ctx):
    """_cross_entropy(y_pred, y_true) is the mean over samples of -sum(y_true log y_pred), returned as a float."""
    c = ctx.case("1.4")
    n, k = np.shape(c["y"])
    label = f"_cross_entropy(y_pred, y_true) for {n} samples, {k} classes"
    plan = [[small_model(), call("_cross_entropy", c["half"], c["pairs"])],
            [small_model(), call("_cross_entropy", c["p"], c["y"], label=label)]]
    r = Sessions((yield plan), plan)

    def compare(what, got, want, n, k):
        factor = ratio(got, want)
        if factor is not None and not math.isclose(factor, 1, rel_tol=1e-4) and (
                math.isclose(factor, n / k, rel_tol=1e-4) or math.isclose(factor, 1 / k, rel_tol=1e-4)):
            raise Fail(f"{what}: expected {want:.6g}, got {float(got):.6g}",
                       hint="divide the summed -y_true * log(y_pred) by the number of samples only, not by the "
                            "number of classes too (np.mean over all entries does both)")
        expect_close(what, got, want, rtol=1e-5)

    def values():
        got = r.value(0, 1)
        if not is_float_like(got, r[0, 1].type):
            raise Fail(f"expected a float, got {r[0, 1].type} {short(got)}")
        compare("_cross_entropy([[.5, .5], [.5, .5]], [[1, 0], [0, 1]])", got, c["half_loss"], 2, 2)
        compare(f"{label} (mean over samples of -sum(y_true * log(y_pred)))", r.value(1, 1), c["loss"], n, k)
    return [part(1, "mean over samples of -sum(y_true log y_pred), prediction first", values)]


@check("1.5")
def forward(ctx):
    """_forward is softmax(relu(X W1 + b1) W2 + b2) for set weights; training=True stores z1, a1, z2, a2."""
    c = ctx.case("1.5")
    X = c["X"]
    model = [new(CLS, input_size=5, hidden_size=4, output_size=3, lr=0.1), set_attrs(**weights_of(c["params"]))]
    plan = [model + [call("_forward", X)],
            model + [op("forget", ["z1", "a1", "z2", "a2"]), call("_forward", X, training=True),
                     get("z1", "a1", "z2", "a2")]]
    r = Sessions((yield plan), plan)

    def output():
        expect_close(f"_forward(X) for {len(X)} samples (softmax(relu(X W1 + b1) W2 + b2))", r.value(0, 2), c["a2"],
                     rtol=1e-6)

    def stored():
        got = r.attrs(1, 4)
        for name in ("z1", "a1", "z2", "a2"):
            if not isinstance(got.get(name), np.ndarray):
                raise Fail(f"after _forward(X, training=True) expected self.{name} to be an array, got "
                           f"{short(got.get(name))}")
            expect_close(f"self.{name}", got[name], c[name], rtol=1e-6)
    return [part(1, "returns softmax(relu(X W1 + b1) W2 + b2)", output),
            part(1, "with training=True stores self.z1, self.a1, self.z2, self.a2", stored)]


@check("1.6")
def backward(ctx):
    """_backward moves each parameter by -lr times the mean cross-entropy's finite-difference gradient."""
    runs = ctx.case("1.6")["runs"]
    plan = [[new(CLS, input_size=5, hidden_size=4, output_size=3, lr=run["lr"]),
             set_attrs(**weights_of(run["params"]), **run["caches"]), call("_backward", run["X"], run["Y"]),
             get("W1", "b1", "W2", "b2")] for run in runs]
    r = Sessions((yield plan), plan)

    def moved(session, name):
        run = runs[session]
        m, lr = run["m"], run["lr"]
        before = weights_of(run["params"])[name]
        after = as_array(f"{name} after _backward", r.attrs(session, 3).get(name), shape=np.shape(before))
        change, want = (before - after) / lr, run["grads"][name]
        what = (f"with a batch of {m} and lr={lr}, the change of {name} divided by -lr, against the finite-difference "
                f"gradient of the mean cross-entropy")
        if close(change, want, rtol=1e-4, atol=1e-7):
            return
        factor = ratio(change, want)
        if factor is not None and m > 1 and math.isclose(factor, m, rel_tol=1e-3):
            raise Fail(f"{what}: the change is exactly {m} times the gradient",
                       hint="divide each gradient by the batch size m: the loss is the mean over the batch")
        if factor is not None and math.isclose(factor, -1, rel_tol=1e-3):
            raise Fail(f"{what}: the change has the wrong sign", hint="the step is param -= lr * grad (a minus)")
        if name in ("W1", "b1") and close(change, run[f"{name}_if_W2_first"], rtol=1e-4, atol=1e-7):
            raise Fail(f"{what}: {name} moved as if dz1 went back through the updated W2",
                       hint="compute dz1 with W2 as it was before this step, then update the weights")
        expect_close(what, change, want, rtol=1e-4, atol=1e-7)

    def output_layer():
        returned = r.value(0, 2)
        if returned is not None:
            raise Fail(f"_backward should return None (it updates the weights in place), got {short(returned)}")
        for name in ("W2", "b2"):
            moved(0, name)

    def hidden_layer():
        for name in ("W1", "b1"):
            moved(0, name)

    def scaling():
        for session in range(1, len(runs)):
            for name in ("W1", "b1", "W2", "b2"):
                moved(session, name)
    return [part(1, "output layer: W2 and b2 move by -lr * gradient; returns None", output_layer),
            part(1, "hidden layer: W1 and b1 move by -lr * gradient (dz1 uses W2 before its update)", hidden_layer),
            part(1, "the step scales with lr and averages over the batch size m", scaling)]


@check("1.7")
def numpy_train(ctx):
    """train walks the data in mini-batches (the last may be shorter), printing progress every 10th epoch."""
    c = ctx.case("1.7")
    X, Y, Xv, Yv = c["X"], c["Y"], c["Xv"], c["Yv"]
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
                       f"{[4, 4, 2] * 3}, got {short(sizes)}",
                       hint="keep the provided loop over range(0, X_train.shape[0], batch_size) and call _forward "
                            "and _backward once per batch" if isinstance(sizes, list) else None)

    def progress():
        r.value(1, 1)
        printed = r[1, 1].stdout
        seen = [int(m.group(1)) for m in PROGRESS.finditer(printed)]
        if every not in seen or epochs not in seen:
            raise Fail(f"with epochs={epochs} expected lines like '[{every} / {epochs}] | Train Loss: 0.12345 | "
                       f"Train Accuracy: 0.12345 | Val Loss: 0.12345 | Val Accuracy: 0.12345' for epochs {every} "
                       f"and {epochs}; found such lines for epochs {seen}; your first printed lines: "
                       f"{short(printed.strip().splitlines()[:2])}",
                       hint="keep the provided progress print, which prints every 10th epoch in this format")
    return [part(1, "each epoch walks the training set in mini-batches (the last may be shorter)", batches),
            part(1, f"prints '[e / E] | Train Loss: ... | Val Accuracy: ...' every {every}th epoch", progress)]


@check("1.8")
def numpy_predict(ctx):
    """predict returns the class probabilities of a forward pass and stores nothing on the model."""
    c = ctx.case("1.8")
    X = c["X"]
    model = [new(CLS, input_size=5, hidden_size=4, output_size=3, lr=0.1), set_attrs(**weights_of(c["params"]))]
    plan = [model + [call("predict", X)],
            model + [call("_forward", X[:2], training=True), op("state"), call("predict", X), op("state")]]
    r = Sessions((yield plan), plan)

    def probabilities():
        got = r.value(0, 2)
        shape = np.shape(c["probabilities"])
        if np.shape(got) == shape[:1]:
            raise Fail(f"predict(X) for {len(X)} samples: expected class probabilities of shape {shape}, got "
                       f"shape {np.shape(got)}", hint="predict returns the probabilities themselves (what _forward "
                                                     "returns), not the predicted labels")
        expect_close(f"predict(X) for {len(X)} samples: class probabilities, shape {shape}", got,
                     c["probabilities"], rtol=1e-6)

    def no_state():
        before, after = r.attrs(1, 3), r.attrs(1, 5)
        for key in sorted(set(before) | set(after)):
            if key not in before:
                raise Fail(f"predict created self.{key}; it must not store anything",
                           hint="call _forward(X, training=False), which stores nothing")
            if key not in after:
                raise Fail(f"predict deleted self.{key}")
            if not same(before[key], after[key]):
                raise Fail(f"predict changed self.{key}", hint="call _forward(X, training=False), which stores nothing")
    return [part(0.5, "returns the class probabilities of a forward pass", probabilities),
            part(0.5, "stores nothing (training=False)", no_state)]


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    return a == b


@check("1.9")
def numpy_accuracy(ctx):
    """accuracy is the fraction of rows whose most probable class is the one-hot label's, returned as a float."""
    runs = ctx.case("1.9")["runs"]
    plan = [[new(CLS, input_size=5, hidden_size=4, output_size=run["n_out"], lr=0.1),
             set_attrs(**weights_of(run["params"])), call("accuracy", run["X"], run["Y"])] for run in runs]
    r = Sessions((yield plan), plan)

    def case(index):
        def probe():
            run = runs[index]
            n_out, m, want = run["n_out"], run["m"], run["accuracy"]
            got = r.value(index, 2)
            if not is_float_like(got, r[index, 2].type):
                raise Fail(f"expected a float, got {r[index, 2].type} {short(got)}")
            if not math.isclose(float(got), want, abs_tol=1e-9):
                raise Fail(f"{m} samples, {n_out} classes, {round(want * m)} predicted right (argmax of the "
                           f"probabilities against argmax of the one-hot labels): expected {want:g}, "
                           f"got {float(got):g}",
                           hint="compare the argmax of each row of the predictions with the argmax of its one-hot "
                                "label (np.argmax(..., axis=1)), one comparison per sample")
        return probe
    return [part(1, "2 classes", case(0)), part(1, "5 classes, low-confidence predictions", case(1))]
