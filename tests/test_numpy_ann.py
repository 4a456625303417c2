"""Tests for numpy_ann.py (Part 1), the course's file: exact init, correct gradients, the
mini-batch loop, the script. (The reference's extras on top: test_reference_numpy_ann.py.)

The handout's quoted values are doctests in numpy_ann.py itself (run by pytest too).
"""
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import LINE, NUMPY_PARAMS, ROOT, numpy_toy_data, numpy_weights, script_run

from numpy_ann import NumpyANN

PARAMS = NUMPY_PARAMS
toy_data, weights = numpy_toy_data, numpy_weights


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
def test_train_prints_every_tenth_epoch_the_metrics_of_the_weights_at_its_end(capsys):
    X, Y = toy_data(n=40)
    model = NumpyANN(input_size=6, hidden_size=8, output_size=3, lr=0.2)
    model.train(X[:30], Y[:30], X[30:], Y[30:], epochs=20, batch_size=8)
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).groups() for line in lines] == [("10", "20"), ("20", "20")]  # every 10th
    # The last line's numbers are those of the final weights, not of mid-epoch weights.
    train_loss = NumpyANN._cross_entropy(model.predict(X[:30]), Y[:30])
    assert lines[-1] == (f"[20 / 20] | Train Loss: {train_loss:.5f} | "
                         f"Train Accuracy: {model.accuracy(X[:30], Y[:30]):.5f} | "
                         f"Val Loss: {NumpyANN._cross_entropy(model.predict(X[30:]), Y[30:]):.5f} | "
                         f"Val Accuracy: {model.accuracy(X[30:], Y[30:]):.5f}")
    first = float(re.search(r"Train Loss: (\S+)", lines[0])[1])
    assert train_loss < first


def test_zero_epochs_changes_nothing_and_fewer_than_ten_print_nothing(capsys):
    X, Y = toy_data()
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    before = weights(model)
    model.train(X, Y, X, Y, epochs=0, batch_size=4)
    assert all(np.array_equal(before[p], getattr(model, p)) for p in PARAMS)
    model.train(X, Y, X, Y, epochs=3, batch_size=4)
    assert capsys.readouterr().out == ""
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


# ---------------------------------------------------------------------- module and script
def test_import_is_cheap_and_has_no_side_effects():
    """numpy only: no torch, scikit-learn or matplotlib, no environment change, nothing printed."""
    code = ("import os, sys; before = dict(os.environ); import numpy_ann; "
            "print(sorted(m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules), "
            "dict(os.environ) == before)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["[]", "True"]  # and nothing else printed


@pytest.mark.slow
def test_script_runs_the_handout_protocol_and_reaches_the_threshold(solution_full):
    """``python numpy_ann.py``, the skeleton's main, as the grader ran it in the solution's full grade."""
    ended, out = script_run(solution_full, "numpy_ann")
    assert ended == "finished", out
    assert "Doctests passed!" in out and "Doctests failed!" not in out
    progress = [LINE.match(line) for line in out.splitlines() if line.startswith("[")]
    assert [m.groups() for m in progress] == [(str(e), "250") for e in range(10, 251, 10)]
    accuracy = float(re.search(r"^Test accuracy: (\d\.\d{4}) \(threshold 0.77\)$", out, re.M)[1])
    print(f"numpy_ann handout run: test accuracy {accuracy:.4f} (200 images)")
    assert accuracy >= 0.77
