"""The reference's --full protocol: the split, reshuffling, the decaying rate, progress."""
import re

import numpy as np
import pytest

import utils
from course.facts import Split
from reference import common
from reference.numpy_ann import NumpyANN, train_full


@pytest.fixture(scope="module")
def raw():
    return utils.load_mnist_f()


@pytest.mark.slow  # splits all 60,000 images: 4 s
def test_full_split_sizes_and_stratification(raw):
    s = common.full_split(*raw)
    assert [len(a) for a in s] == [55000, 55000, 5000, 5000, 10000, 10000]
    assert np.bincount(s.y_val).tolist() == [500] * 10  # stratified
    assert np.array_equal(s.X_test, raw[2])
    # Train and validation are disjoint and together are the whole training set.
    rows = np.concatenate([s.X_train, s.X_val]).reshape(60000, -1)
    assert len(np.unique(rows, axis=0)) == len(np.unique(raw[0].reshape(60000, -1), axis=0))


@pytest.mark.slow  # preprocesses all 60,000 images: 3 s
def test_load_handout_data_full():
    s = common.load_handout_data(full=True)
    assert s.X_train.shape == (55000, 784) and s.y_val.shape == (5000, 10)
    assert s.X_test.shape == (10000, 784)


def toy(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, np.eye(3)[rng.integers(0, 3, n)]


def full_run(seed, epochs=3, lr=0.5, batch_size=8):
    X, Y = toy()
    model = NumpyANN(4, 5, 3, lr=lr, random_seed=0)
    data = Split(X, Y, X, Y, X, Y)
    train_full(model, data, dict(epochs=epochs, lr=lr, batch_size=batch_size), seed, verbose=False)
    return model


def test_full_training_reshuffles_deterministically():
    X, Y = toy()
    in_order = NumpyANN(4, 5, 3, lr=0.5, random_seed=0)
    in_order.train(X, Y, X, Y, epochs=1, batch_size=8)  # the first epoch: lr 0.5 in both
    runs = [full_run(seed).W1.copy() for seed in (1, 1, 2)]
    assert np.array_equal(runs[0], runs[1])              # same seed, same run
    assert not np.allclose(runs[0], runs[2])             # different seed differs
    assert not np.allclose(full_run(1, epochs=1).W1, in_order.W1)  # shuffled differs from in-order


def test_full_training_decays_the_rate_along_a_cosine_and_keeps_every_epoch():
    model = full_run(1, epochs=4)
    assert model.lr == pytest.approx(0.5 * 0.5 * (1 + np.cos(np.pi * 3 / 4)))  # the last epoch's rate
    assert all(len(v) == 4 for v in model.train_val_metrics.values())


def test_full_batch_order_cannot_matter():
    # One batch holding every sample: shuffled or not, the same steps (up to float rounding).
    X, Y = toy()
    a = NumpyANN(4, 5, 3, lr=0.5, random_seed=0)
    a.train(X, Y, X, Y, epochs=1, batch_size=len(X))
    b = full_run(7, epochs=1, batch_size=len(X))
    assert np.allclose(a.W1, b.W1, atol=1e-12)


def test_epoch_progress_line(capsys, monkeypatch):
    clock = iter([110.0, 120.0])
    progress = common.EpochProgress(epochs=8)
    progress._clock = lambda: next(clock)
    progress.start = 100.0
    model = type("M", (), {})()
    model.train_val_metrics = {"train_losses": [0.5], "train_accs": [0.8],
                               "val_losses": [0.6], "val_accs": [0.75]}
    progress(1, model)
    progress(2, model)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("[1 / 8] | Train Loss: 0.50000 | Train Accuracy: 0.80000 | "
                        "Val Loss: 0.60000 | Val Accuracy: 0.75000 | 10 s elapsed, ~1 min 10 s left")
    assert re.search(r"\[2 / 8\] .* 20 s elapsed, ~1 min 0 s left$", lines[1])
