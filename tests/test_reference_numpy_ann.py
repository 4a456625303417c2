"""Tests for reference/numpy_ann.py: the solution's NumpyANN with checked inputs, a per-epoch
history, a clear stop on divergence, and ``python -m reference numpy_ann``."""
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import ANSI, LINE, NUMPY_PARAMS, ROOT, numpy_toy_data, numpy_weights

import numpy_ann
from reference.numpy_ann import NumpyANN, settings

PARAMS = NUMPY_PARAMS
toy_data, weights = numpy_toy_data, numpy_weights


def test_it_trains_exactly_as_the_solution_does():
    """One ``super().train`` per epoch is the solution's loop: the same weights, bit for bit."""
    X, Y = toy_data(n=40)
    ours = NumpyANN(input_size=6, hidden_size=8, output_size=3, lr=0.2, random_seed=3)
    theirs = numpy_ann.NumpyANN(input_size=6, hidden_size=8, output_size=3, lr=0.2, random_seed=3)
    ours.train(X[:30], Y[:30], X[30:], Y[30:], epochs=12, batch_size=7)
    theirs.train(X[:30], Y[:30], X[30:], Y[30:], epochs=12, batch_size=7)
    for p in PARAMS:
        np.testing.assert_array_equal(getattr(ours, p), getattr(theirs, p))


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


def test_zero_epochs_records_nothing():
    X, Y = toy_data()
    model = NumpyANN(input_size=6, hidden_size=5, output_size=3, lr=0.1)
    before = weights(model)
    model.train(X, Y, X, Y, epochs=0, batch_size=4)
    assert all(np.array_equal(before[p], getattr(model, p)) for p in PARAMS)
    assert model.train_val_metrics == {"train_losses": [], "train_accs": [], "val_losses": [], "val_accs": []}


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


def test_settings_are_the_handouts():
    assert settings() == dict(epochs=250, batch_size=64, lr=0.01, hidden_size=64)


# ---------------------------------------------------------------------- the command line
def run_reference(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "reference", "numpy_ann", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                       "MPLBACKEND": "Agg"})
    return proc.returncode, ANSI.sub("", proc.stdout), proc.stderr


@pytest.mark.slow
def test_the_command_line_exits_non_zero_below_the_threshold_and_quiet_hides_progress(tmp_path):
    rc, out, err = run_reference("--epochs", "1", "--quiet", "--seed", "0", cwd=tmp_path)
    assert re.search(r"^Doctests: (\d+) of \1 passed$", out, re.M), out + err
    acc200 = float(re.search(r"200 handout test images: (\d\.\d{5})", out)[1])
    assert acc200 < 0.77 and rc == 1, out + err
    assert not any(line.startswith("[") for line in out.splitlines())
    assert (tmp_path / "reference_numpy_ann_train_val_metrics.png").is_file()


@pytest.mark.slow  # the command line imports torch: seconds
def test_a_bad_flag_value_is_a_usage_error(tmp_path):
    rc, out, err = run_reference("--batch-size", "0", cwd=tmp_path)
    assert rc == 2 and "batch_size must be an integer >= 1; got 0" in err, out + err
