"""Tests for numpy_ann.py (Part 1): exact init, correct gradients, robust inputs, the script.

The handout's quoted values are doctests in numpy_ann.py itself (run by pytest too).
"""
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import ANSI, LINE, ROOT, script_run

from numpy_ann import NumpyANN

PARAMS = ("W1", "b1", "W2", "b2")


def toy_data(n=30, d=6, k=3, seed=0):
    """A small separable-ish problem: the class is the argmax of a fixed projection."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.eye(k)[np.argmax(X @ rng.normal(size=(d, k)), axis=1)]
    return X, Y


def weights(model):
    return {p: getattr(model, p).copy() for p in PARAMS}


# ---------------------------------------------------------------------- construction
@pytest.mark.parametrize("seed", [0, 42, 7])
def test_init_draws_W1_then_W2_from_the_seeded_global_generator(seed):
    model = NumpyANN(input_size=4, hidden_size=3, output_size=2, lr=0.1, random_seed=seed)
    np.random.seed(seed)
    W1 = np.random.randn(4, 3) * 0.01
    W2 = np.random.randn(3, 2) * 0.01
    np.testing.assert_array_equal(model.W1, W1)
    np.testing.assert_array_equal(model.W2, W2)
    np.testing.assert_array_equal(model.b1, np.zeros((1, 3)))
    np.testing.assert_array_equal(model.b2, np.zeros((1, 2)))
    assert (model.input_size, model.hidden_size, model.output_size, model.lr) == (4, 3, 2, 0.1)


def test_same_seed_same_weights_different_seed_different_weights():
    a, b = (NumpyANN(784, 64, 10, 0.01, random_seed=3) for _ in range(2))
    c = NumpyANN(784, 64, 10, 0.01, random_seed=4)
    for p in PARAMS:
        np.testing.assert_array_equal(getattr(a, p), getattr(b, p))
    assert not np.array_equal(a.W1, c.W1) and not np.array_equal(a.W2, c.W2)


def test_default_seed_is_42():
    np.testing.assert_array_equal(NumpyANN(5, 3, 2, 0.01).W1,
                                  NumpyANN(5, 3, 2, 0.01, random_seed=42).W1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(hidden_size=0), "hidden_size must be a positive integer, got 0"),
    (dict(input_size=2.5), "input_size must be a positive integer, got 2.5"),
    (dict(lr=-0.1), "lr must be a finite number >= 0, got -0.1"),
    (dict(lr=float("nan")), "lr must be a finite number"),
])
def test_constructor_rejects_bad_arguments(kwargs, match):
    args = dict(input_size=5, hidden_size=3, output_size=2, lr=0.01) | kwargs
    with pytest.raises(ValueError, match=match):
        NumpyANN(**args)


# ---------------------------------------------------------------------- building blocks
def test_relu_and_its_gradient_including_the_kink_at_zero():
    z = np.array([[-2.0, 0.0, 3.0], [1e-300, -1e-300, 0.5]])
    np.testing.assert_array_equal(NumpyANN._relu(z), [[0, 0, 3], [1e-300, 0, 0.5]])
    np.testing.assert_array_equal(NumpyANN._relu_grad(z), [[0, 0, 1], [1, 0, 1]])


def test_softmax_is_stable_for_huge_logits_and_matches_the_definition():
    z = np.array([[1e308, 0.0, -1e308], [800.0, 800.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow/invalid RuntimeWarning fails the test
        p = NumpyANN._softmax(z)
    np.testing.assert_allclose(p, [[1, 0, 0], [0.5, 0.5, 0]])
    moderate = np.random.default_rng(1).normal(size=(4, 5))
    naive = np.exp(moderate) / np.exp(moderate).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(NumpyANN._softmax(moderate), naive, rtol=1e-14)


def test_cross_entropy_is_the_mean_over_samples_and_finite_when_a_probability_is_zero():
    y_pred = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y_true = np.array([[1, 0, 0], [0, 0, 1]])
    loss = NumpyANN._cross_entropy(y_pred, y_true)
    assert type(loss) is float
    assert loss == pytest.approx(-(np.log(0.7) + np.log(0.5)) / 2, rel=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        underflow = NumpyANN._cross_entropy(np.array([[1.0, 0.0]]), np.array([[0, 1]]))
    assert np.isfinite(underflow) and underflow == pytest.approx(-np.log(1e-12))


# ---------------------------------------------------------------------- gradients
def kinked_model_and_batch():
    """Unit-scale weights so that about half the hidden pre-activations are negative."""
    rng = np.random.default_rng(12)
    model = NumpyANN(input_size=6, hidden_size=5, output_size=4, lr=1.0)
    model.W1, model.b1 = rng.normal(size=(6, 5)), rng.normal(size=(1, 5))
    model.W2, model.b2 = rng.normal(size=(5, 4)), rng.normal(size=(1, 4))
    X = rng.normal(size=(8, 6))
    Y = np.eye(4)[rng.integers(0, 4, size=8)]
    return model, X, Y


def test_backward_applies_the_finite_difference_gradient_of_every_parameter():
    model, X, Y = kinked_model_and_batch()
    z1 = X @ model.W1 + model.b1
    mask = z1 > 0
    assert 0.2 < mask.mean() < 0.8, "the check must exercise the ReLU kink"
    h = 1e-6
    assert np.abs(z1).min() > 100 * h, "no pre-activation may sit on the kink itself"

    def loss():
        return NumpyANN._cross_entropy(model._forward(X, training=False), Y)

    numeric = {}
    for p in PARAMS:
        W = getattr(model, p)
        grad = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            old = W[idx]
            W[idx] = old + h
            up = loss()
            W[idx] = old - h
            down = loss()
            W[idx] = old
            grad[idx] = (up - down) / (2 * h)
        numeric[p] = grad

    before = weights(model)
    model._forward(X, training=True)
    model._backward(X, Y)
    for p in PARAMS:
        applied = (before[p] - getattr(model, p)) / model.lr  # the step _backward really took
        rel = np.linalg.norm(applied - numeric[p]) / (np.linalg.norm(applied) + np.linalg.norm(numeric[p]))
        assert rel < 1e-6, f"{p}: relative error {rel:.2e}"
        assert np.linalg.norm(numeric[p]) > 1e-3, f"{p}: gradient too small to test"


def test_one_step_equals_one_sgd_step_of_the_same_network_in_torch():
    import torch  # a project dependency; only this test uses it
    model, X, Y = kinked_model_and_batch()
    model.lr = 0.3
    params = {p: torch.tensor(getattr(model, p), dtype=torch.float64, requires_grad=True)
              for p in PARAMS}
    Xt = torch.tensor(X)
    logits = torch.relu(Xt @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(Y.argmax(axis=1)))
    optimizer = torch.optim.SGD(params.values(), lr=0.3)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    probs = model._forward(X, training=True)
    assert NumpyANN._cross_entropy(probs, Y) == pytest.approx(loss.item(), abs=1e-12)
    model._backward(X, Y)
    for p in PARAMS:
        np.testing.assert_allclose(getattr(model, p), params[p].detach().numpy(), rtol=0, atol=1e-10)


# ---------------------------------------------------------------------- predict / accuracy
def test_predict_stores_nothing():
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    X, _ = toy_data()
    model.predict(X)
    assert not any(hasattr(model, a) for a in ("z1", "a1", "z2", "a2"))
    model._forward(X[:4], training=True)
    stored = [getattr(model, a) for a in ("z1", "a1", "z2", "a2")]
    probs = model.predict(X)
    assert probs.shape == (30, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert all(getattr(model, a) is s for a, s in zip(("z1", "a1", "z2", "a2"), stored))


def test_accuracy_is_a_python_float_comparing_argmaxes():
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    X, _ = toy_data(n=8)
    predicted = model.predict(X).argmax(axis=1)
    labels = predicted.copy()
    labels[:3] = (labels[:3] + 1) % 3  # exactly 3 of 8 wrong
    acc = model.accuracy(X, np.eye(3)[labels])
    assert type(acc) is float and acc == 5 / 8


# ---------------------------------------------------------------------- train
def test_train_records_end_of_epoch_metrics_and_prints_the_handout_format(capsys):
    X, Y = toy_data(n=40)
    model = NumpyANN(input_size=6, hidden_size=8, output_size=3, lr=0.2)
    model.train(X[:30], Y[:30], X[30:], Y[30:], epochs=25, batch_size=8)
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).groups() for line in lines] == [("10", "25"), ("20", "25")]  # every 10th

    m = model.train_val_metrics
    assert sorted(m) == ["train_accs", "train_losses", "val_accs", "val_losses"]
    assert all(len(v) == 25 for v in m.values())
    assert all(type(x) is float for v in m.values() for x in v)
    # The last entries are the metrics of the final weights, not of mid-epoch weights.
    assert m["train_losses"][-1] == NumpyANN._cross_entropy(model.predict(X[:30]), Y[:30])
    assert m["val_accs"][-1] == model.accuracy(X[30:], Y[30:])
    assert lines[-1].endswith(f"Val Accuracy: {m['val_accs'][19]:.5f}")
    assert m["train_losses"][-1] < 0.5 * m["train_losses"][0]


def test_zero_epochs_changes_nothing_and_fewer_than_ten_print_nothing(capsys):
    X, Y = toy_data()
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    before = weights(model)
    model.train(X, Y, X, Y, epochs=0, batch_size=4)
    assert all(np.array_equal(before[p], getattr(model, p)) for p in PARAMS)
    model.train(X, Y, X, Y, epochs=3, batch_size=4)
    assert capsys.readouterr().out == ""
    assert len(model.train_val_metrics["val_losses"]) == 3
    assert not np.array_equal(before["W1"], model.W1)


@pytest.mark.parametrize("batch_size", [1, 7, 30, 31, 1000])
def test_any_batch_size_walks_the_data_in_order_with_a_short_last_batch(batch_size):
    X, Y = toy_data(n=30)
    trained = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1, random_seed=1)
    trained.train(X, Y, X, Y, epochs=2, batch_size=batch_size)
    manual = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1, random_seed=1)
    steps = 0
    for _ in range(2):
        for start in range(0, 30, batch_size):
            manual._forward(X[start:start + batch_size])
            manual._backward(X[start:start + batch_size], Y[start:start + batch_size])
            steps += 1
    assert steps == 2 * -(-30 // batch_size)
    for p in PARAMS:
        np.testing.assert_array_equal(getattr(trained, p), getattr(manual, p))


def test_float32_float64_and_integer_inputs_and_a_single_sample():
    X, Y = toy_data(n=12)
    Xi = np.round(X * 10).astype(np.int64)
    results = {}
    for name, data in (("int", Xi), ("f64", Xi.astype(np.float64)), ("f32", Xi.astype(np.float32))):
        model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.01)
        model.train(data, Y.astype(int), data, Y, epochs=3, batch_size=5)
        results[name] = model
    for p in PARAMS:
        np.testing.assert_array_equal(getattr(results["int"], p), getattr(results["f64"], p))
        np.testing.assert_allclose(getattr(results["f32"], p), getattr(results["f64"], p), rtol=1e-12)

    single = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    single.train(X[:1], Y[:1], X[:1], Y[:1], epochs=2, batch_size=64)
    assert single.predict(X[:1]).shape == (1, 3)
    assert single.accuracy(X[:1].tolist(), Y[:1].tolist()) in (0.0, 1.0)


def test_divergence_stops_with_a_clear_error_and_no_numpy_warnings():
    X, Y = toy_data(n=30)
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointError, match=r"diverged in epoch (\d+) of 100.*smaller"):
            model.train(X * 100, Y, X, Y, epochs=100, batch_size=1)
    losses = model.train_val_metrics["train_losses"]
    assert len(losses) < 100 and all(np.isfinite(losses))


# ---------------------------------------------------------------------- input validation
GOOD_X, GOOD_Y = toy_data(n=10)


def bad_train_inputs():
    nan_X = GOOD_X.copy()
    nan_X[3, 2] = np.nan
    inf_Y = GOOD_Y.copy()
    inf_Y[1, 0] = np.inf
    cases = {
        "1-D X": (dict(X_train=GOOD_X[0]), r"X_train must be 2-D, shape \(n_samples, 6\); got 1-D, shape \(6,\)"),
        "3-D X": (dict(X_train=GOOD_X.reshape(10, 2, 3)), r"got 3-D, shape \(10, 2, 3\).*reshape"),
        "features": (dict(X_val=GOOD_X[:, :5]), r"X_val must have 6 features \(input_size\); got 5"),
        "empty": (dict(X_train=GOOD_X[:0], y_train=GOOD_Y[:0]), r"at least one sample; got shape \(0, 6\)"),
        "rows": (dict(y_train=GOOD_Y[:9]), r"y_train must have one row per row of X_train \(10\); got 9"),
        "width": (dict(y_val=GOOD_Y[:, :2]), r"y_val must have 3 columns \(output_size\); got 2"),
        "1-D y": (dict(y_train=GOOD_Y.argmax(1)), r"one-hot labels of shape \(10, 3\); got 1-D.*np.eye\(3\)"),
        "NaN": (dict(X_train=nan_X), r"X_train must hold finite values; got nan at index \(3, 2\)"),
        "inf": (dict(y_val=inf_Y), r"y_val must hold finite values; got inf at index \(1, 0\)"),
        "strings": (dict(X_train=GOOD_X.astype(str)), r"X_train must be a numeric .* got dtype <U"),
        "batch 0": (dict(batch_size=0), r"batch_size must be an integer >= 1; got 0"),
        "batch float": (dict(batch_size=2.5), r"batch_size must be an integer >= 1; got 2.5"),
        "epochs": (dict(epochs=-1), r"epochs must be an integer >= 0; got -1"),
    }
    return [pytest.param(kw, match, id=name) for name, (kw, match) in cases.items()]


@pytest.mark.parametrize("override, match", bad_train_inputs())
def test_train_rejects_bad_input_saying_what_was_expected_and_what_arrived(override, match):
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    before = weights(model)
    args = dict(X_train=GOOD_X, y_train=GOOD_Y, X_val=GOOD_X, y_val=GOOD_Y, epochs=1,
                batch_size=4) | override
    with pytest.raises(ValueError, match=match):
        model.train(**args)
    assert all(np.array_equal(before[p], getattr(model, p)) for p in PARAMS)


def test_predict_and_accuracy_reject_bad_input():
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    with pytest.raises(ValueError, match=r"X must be 2-D.*X.reshape\(1, -1\)"):
        model.predict(GOOD_X[0])
    with pytest.raises(ValueError, match=r"X must have 6 features \(input_size\); got 784"):
        model.predict(np.zeros((2, 784)))
    with pytest.raises(ValueError, match=r"X must hold finite values; got inf"):
        model.predict(np.full((1, 6), np.inf))
    with pytest.raises(ValueError, match=r"y_true must have one row per row of X \(10\); got 3"):
        model.accuracy(GOOD_X, GOOD_Y[:3])
    with pytest.raises(ValueError, match=r"y_true must have 3 columns \(output_size\); got 10"):
        model.accuracy(GOOD_X, np.eye(10))


# ---------------------------------------------------------------------- module and script
def test_import_is_cheap_and_has_no_side_effects():
    """numpy and the shared utils only: no torch, scikit-learn or matplotlib, no environment change."""
    code = ("import os, sys; before = dict(os.environ); import numpy_ann; "
            "print(sorted(m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules), "
            "dict(os.environ) == before)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["[]", "True"]


def run_script(*args):
    proc = subprocess.run([sys.executable, "numpy_ann.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, ANSI.sub("", proc.stdout), proc.stderr


@pytest.mark.slow
def test_script_runs_the_handout_protocol_and_reaches_the_floor(reference_runs):
    """``python numpy_ann.py``, in a folder of its own."""
    rc, out = script_run(reference_runs, "numpy_ann")
    assert rc == 0, out
    assert re.search(r"^Doctests: (\d+) of \1 passed$", out, re.M)
    progress = [LINE.match(line) for line in out.splitlines() if line.startswith("[")]
    assert [m.groups() for m in progress] == [(str(e), "250") for e in range(10, 251, 10)]
    acc200 = float(re.search(r"200 handout test images: (\d\.\d{5}) \(threshold 0.77\)", out)[1])
    acc10k = float(re.search(r"all 10,000 test images: (\d\.\d{5})", out)[1])
    print(f"numpy_ann handout run: test accuracy {acc200:.5f} (200 images), {acc10k:.5f} (10,000)")
    assert acc200 >= 0.77
    assert acc10k >= 0.77


@pytest.mark.slow
def test_script_exits_non_zero_below_the_floor_and_quiet_hides_progress():
    rc, out, err = run_script("--epochs", "1", "--quiet", "--seed", "0")
    acc200 = float(re.search(r"200 handout test images: (\d\.\d{5})", out)[1])
    assert acc200 < 0.77 and rc == 1, out + err
    assert not any(line.startswith("[") for line in out.splitlines())
