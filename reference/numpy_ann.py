"""The reference's NumpyANN: the solution's network and training steps, plus what the course's file
leaves out: checked inputs, a per-epoch history, a clear stop when a run diverges, and ``--full``.

``python -m reference numpy_ann [--full] [--epochs N ...]`` (``--help`` lists the options).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import math
import numbers
import time

import numpy as np

import numpy_ann
import utils
from course.facts import HANDOUT_RUNS, METRIC_KEYS, PROGRESS_EVERY

from . import common

# --full: a wider layer, reshuffled batches and a cosine-decayed learning rate (0.1 -> 0)
# fit 55,000 images in 30 epochs; plain handout settings would need hundreds.
FULL = dict(epochs=30, batch_size=64, lr=0.1, hidden_size=512)
FULL_TARGET = 0.885  # on all 10,000 test images


class NumpyANN(numpy_ann.NumpyANN):
    """The solution's ``NumpyANN`` (same weights, same steps), with checked inputs and a history.

    ``train`` keeps ``train_val_metrics`` (``{"train_losses", "train_accs", "val_losses",
    "val_accs"}``, one value per epoch, as ``PyTorchANN`` records). Bad inputs (shapes, non-finite
    values, ``epochs < 0``, ``batch_size < 1``) raise ``ValueError`` saying what was expected and
    what arrived; a diverging run stops with a ``FloatingPointError`` naming the epoch.
    """

    def __init__(self, input_size, hidden_size, output_size, lr, random_seed=42):
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 <= lr < math.inf:
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}.")
        super().__init__(input_size, hidden_size, output_size, lr, random_seed)

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
        """The solution's ``train``, one epoch at a time, recording each epoch's metrics.

        Each epoch is one call of the solution's ``train(..., epochs=1)`` (which prints nothing:
        it prints every 10th of its own epochs), then one forward pass over each set for this
        history, the handout's progress line every 10th epoch.
        """
        X_train, y_train = self._check_Xy(X_train, y_train, "X_train", "y_train")
        X_val, y_val = self._check_Xy(X_val, y_val, "X_val", "y_val")
        epochs = _check_int(epochs, "epochs", minimum=0)
        batch_size = _check_int(batch_size, "batch_size", minimum=1)
        self.train_val_metrics = history = {key: [] for key in METRIC_KEYS}
        for epoch in range(1, epochs + 1):
            with np.errstate(over="ignore", invalid="ignore"):  # a divergence is reported below instead
                super().train(X_train, y_train, X_val, y_val, epochs=1, batch_size=batch_size)
                values = (*self._metrics(X_train, y_train), *self._metrics(X_val, y_val))
            if not np.isfinite(values[0]):
                raise FloatingPointError(
                    f"Training diverged in epoch {epoch} of {epochs}: the training loss is {values[0]}. The learning "
                    f"rate lr={self.lr} is too large for this data; try a smaller one (e.g. lr={self.lr / 10:g}).")
            for key, value in zip(METRIC_KEYS, values):
                history[key].append(float(value))
            if epoch % PROGRESS_EVERY["numpy_ann"] == 0:
                print(common.progress_line(epoch, epochs, *values))

    def predict(self, X):
        return super().predict(self._check_X(X, "X"))

    def accuracy(self, X, y_true):
        return super().accuracy(*self._check_Xy(X, y_true, "X", "y_true"))

    def _metrics(self, X, y):
        """(mean cross-entropy, accuracy) of one forward pass over ``X``."""
        probabilities = self._forward(X, training=False)
        return self._cross_entropy(probabilities, y), float(np.mean(probabilities.argmax(1) == y.argmax(1)))

    # ------------------------------------------------------------------ input checks
    def _check_X(self, X, name):
        """``X`` as a finite float array of shape (n, input_size), or ValueError."""
        X = _as_float_array(X, name)
        if X.ndim != 2:
            hint = (" For a single sample use X.reshape(1, -1)." if X.ndim == 1 else
                    " Flatten images with X.reshape(len(X), -1)." if X.ndim > 2 else "")
            raise ValueError(f"{name} must be 2-D, shape (n_samples, {self.input_size}); got "
                             f"{X.ndim}-D, shape {X.shape}.{hint}")
        if X.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one sample; got shape {X.shape}.")
        if X.shape[1] != self.input_size:
            raise ValueError(f"{name} must have {self.input_size} features (input_size); got "
                             f"{X.shape[1]}, shape {X.shape}.")
        _check_finite(X, name)
        return X

    def _check_Xy(self, X, y, X_name, y_name):
        """Inputs and their one-hot labels together (the shapes must agree)."""
        X = self._check_X(X, X_name)
        y = _as_float_array(y, y_name)
        expected = (X.shape[0], self.output_size)
        if y.ndim != 2:
            hint = f" One-hot integer labels with np.eye({self.output_size})[labels]." if y.ndim == 1 else ""
            raise ValueError(f"{y_name} must be one-hot labels of shape {expected}; got "
                             f"{y.ndim}-D, shape {y.shape}.{hint}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"{y_name} must have one row per row of {X_name} ({X.shape[0]}); "
                             f"got {y.shape[0]} rows, shape {y.shape}.")
        if y.shape[1] != self.output_size:
            raise ValueError(f"{y_name} must have {self.output_size} columns (output_size); "
                             f"got {y.shape[1]}, shape {y.shape}.")
        _check_finite(y, y_name)
        return X, y


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(value, name, minimum):
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _as_float_array(a, name):
    """Any numeric array-like -> ndarray; integers and booleans become float64."""
    try:
        a = np.asarray(a)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a numeric array; could not convert it: {exc}") from None
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    if a.dtype.kind != "f":
        raise ValueError(f"{name} must be a numeric (integer or float) array; got dtype {a.dtype}.")
    return a


def _check_finite(a, name):
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} must hold finite values; got {a[tuple(bad)]} at index "
                         f"{tuple(int(i) for i in bad)} ({int((~np.isfinite(a)).sum())} "
                         f"non-finite values in all).")


# ---------------------------------------------------------------------- the runs
def settings(full=False):
    """What :func:`run` trains with: the handout's run (Part 1.10) or ``FULL``, as epochs,
    batch_size, lr, hidden_size."""
    if full:
        return dict(FULL)
    init, train = HANDOUT_RUNS["numpy_ann"]
    return dict(train, lr=init["lr"], hidden_size=init["hidden_size"])


def run(seed=42, full=False, epochs=None, batch_size=None, lr=None, hidden_size=None, data_dir=None,
        verbose=True):
    """Train under the handout protocol (or ``full=True``: 55,000/5,000/10,000).

    ``None`` hyperparameters take the protocol's values (:func:`settings`). Returns a dict:
    ``model``, ``test_acc`` (the protocol's test set: the handout's 200 images, or all 10,000
    with ``full``), ``all_acc`` (all 10,000 test images), ``train_seconds``, ``hyperparameters``
    and ``handout_settings`` (whether they are the handout's).
    """
    hp = settings(full)
    hp.update({k: v for k, v in dict(epochs=epochs, batch_size=batch_size, lr=lr,
                                     hidden_size=hidden_size).items() if v is not None})
    data = common.load_handout_data(data_dir=data_dir, full=full)
    model = NumpyANN(input_size=784, hidden_size=hp["hidden_size"], output_size=10, lr=hp["lr"], random_seed=seed)
    start = time.perf_counter()
    if full:
        train_full(model, data, hp, seed, verbose)
    else:
        with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
            model.train(*data[:4], epochs=hp["epochs"], batch_size=hp["batch_size"])
    seconds = time.perf_counter() - start
    test_acc = model.accuracy(data.X_test, data.y_test)
    all_acc = test_acc if full else model.accuracy(*common.load_test_set(data_dir=data_dir))
    return {"model": model, "test_acc": test_acc, "all_acc": all_acc, "train_seconds": seconds,
            "hyperparameters": hp, "handout_settings": not full and hp == settings() and seed == 42}


def train_full(model, data, hp, seed, verbose):
    """``--full``: one ``train`` call per epoch, on a fresh shuffle of the 55,000 images,
    with the learning rate cosine-decayed from ``hp["lr"]`` towards 0; progress with ETA."""
    rng = np.random.default_rng(seed)
    history = {k: [] for k in METRIC_KEYS}
    progress = common.EpochProgress(hp["epochs"]) if verbose else None
    for epoch in range(1, hp["epochs"] + 1):
        order = rng.permutation(len(data.X_train))
        model.lr = hp["lr"] * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / hp["epochs"]))
        model.train(data.X_train[order], data.y_train[order], data.X_val, data.y_val, epochs=1,
                    batch_size=hp["batch_size"])
        for k in history:
            history[k] += model.train_val_metrics[k]
        model.train_val_metrics = history
        if progress:
            progress(epoch, model)


def main(argv=None):
    """Doctests, then the handout protocol (or ``--full``); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m reference numpy_ann",
                                     description="Train the numpy MLP (Part 1) on the handout's split, or on all "
                                                 "the data with --full.")
    parser.add_argument("--epochs", type=int, help="training epochs (default 250; --full: 30)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (default 64)")
    parser.add_argument("--lr", type=float, help="learning rate (default 0.01; --full: 0.1, cosine-decayed)")
    parser.add_argument("--hidden-size", type=int, help="hidden units (default 64; --full: 512)")
    parser.add_argument("--seed", type=int, default=42, help="weight-init seed (default 42)")
    parser.add_argument("--data-dir", default=None, help="directory holding the Fashion-MNIST IDX files "
                                                         "(default: utils.load_mnist_f's search order)")
    parser.add_argument("--quiet", action="store_true", help="do not print per-epoch progress")
    parser.add_argument("--full", action="store_true", help="train on all 60,000 training images (5,000 held "
                                                            "out for validation) and test on all 10,000")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    doctests = common.run_doctests(numpy_ann)
    try:
        result = run(seed=args.seed, full=args.full, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                     hidden_size=args.hidden_size, data_dir=args.data_dir, verbose=not args.quiet)
    except ValueError as exc:  # a bad flag value: say which, with the usage line
        parser.error(str(exc))
    except FloatingPointError as exc:  # diverged
        utils.print_red(exc)
        return 1
    return common.finish("numpy_ann", result, FULL_TARGET, args.full, start, doctests)
