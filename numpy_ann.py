# >>> REFERENCE ONLY: docstring >>>
"""Part 1: a one-hidden-layer neural network for Fashion-MNIST in numpy, backprop by hand.

The network is ``X -> Linear(W1, b1) -> ReLU -> Linear(W2, b2) -> softmax``, trained
with cross-entropy and plain mini-batch gradient descent. Only numpy is used here;
``python numpy_ann.py`` runs the doctests and then the handout's training protocol.

Shapes used throughout: ``n`` samples, ``d = input_size`` features,
``h = hidden_size`` hidden units, ``k = output_size`` classes.

The ``# >>> YOUR CODE HERE >>>`` regions are what students write (``python -m release
build`` turns them into the handout); ``REFERENCE ONLY`` parts are this reference's own:
input validation, ``--full`` and the command line.
"""
# <<< REFERENCE ONLY <<<
from __future__ import annotations

# >>> REFERENCE ONLY >>>
import numbers
import os

if __name__ == "__main__":
    # Run as a script: one BLAS thread. These matrices are small (64 x 784 @ 784 x 64), so
    # threads gain little, and on a busy 2-core machine contending BLAS threads made the
    # handout run 3-16x slower (6 s vs 20-100 s). Must happen before numpy loads BLAS;
    # an explicit setting in the environment wins.
    for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
# <<< REFERENCE ONLY <<<

import numpy as np

import utils


class NumpyANN:
    """One-hidden-layer MLP (ReLU, softmax output) with hand-written backprop.

    Parameters
    ----------
    input_size : int
        Number of input features ``d`` (784 for flattened 28 x 28 images).
    hidden_size : int
        Number of hidden ReLU units ``h``.
    output_size : int
        Number of classes ``k``.
    lr : float
        Learning rate of the gradient step ``param -= lr * grad``.
    random_seed : int, default 42
        Seed for ``np.random.seed`` before the weights are drawn.

    Attributes
    ----------
    W1 : ndarray, shape (d, h)
    b1 : ndarray, shape (1, h)
    W2 : ndarray, shape (h, k)
    b2 : ndarray, shape (1, k)
        Weights start as ``0.01 * N(0, 1)`` draws (W1 first, then W2), biases at zero.
    z1, a1, z2, a2 : ndarray
        The last training-mode forward pass (pre-/post-activations), kept for
        :meth:`_backward`. Set by ``_forward(X, training=True)`` only.
    train_val_metrics : dict
        After :meth:`train`: ``{"train_losses", "train_accs", "val_losses",
        "val_accs"}``, one value per epoch (the same keys as ``PyTorchANN``).
    """

    def __init__(self, input_size, hidden_size, output_size, lr, random_seed=42):
        # >>> REFERENCE ONLY >>>
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr >= 0 or lr == np.inf:
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}.")
        # <<< REFERENCE ONLY <<<
        # >>> YOUR CODE HERE >>>
        np.random.seed(random_seed)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr
        # The order of the draws is part of the contract: W1 first, then W2.
        self.W1 = np.random.randn(input_size, hidden_size) * 0.01
        self.b1 = np.zeros((1, hidden_size))
        self.W2 = np.random.randn(hidden_size, output_size) * 0.01
        self.b2 = np.zeros((1, output_size))
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ building blocks
    @staticmethod
    def _relu(z):
        """Rectified linear unit, elementwise ``max(0, z)``.

        Examples
        --------
        >>> NumpyANN._relu(np.array([-1, 0, 1]))
        array([0, 0, 1])
        """
        # >>> YOUR CODE HERE >>>
        return np.maximum(0, z)
        # <<< END OF YOUR CODE <<<

    @staticmethod
    def _relu_grad(z):
        """Derivative of ReLU: 0 where ``z <= 0`` (at 0 we pick the subgradient 0), 1 elsewhere.

        Examples
        --------
        >>> NumpyANN._relu_grad(np.array([-1, 0, 1]))
        array([0, 0, 1])
        """
        # >>> YOUR CODE HERE >>>
        return (np.asarray(z) > 0).astype(int)
        # <<< END OF YOUR CODE <<<

    @staticmethod
    def _softmax(z):
        """Row-wise softmax, shape (n, k) -> (n, k); rows sum to 1.

        Subtracting each row's maximum first changes nothing mathematically but
        keeps ``exp`` from overflowing for large logits.

        Examples
        --------
        >>> NumpyANN._softmax(np.array([[1000.0, 1000.0], [0.0, -1000.0]]))
        array([[0.5, 0.5],
               [1. , 0. ]])
        """
        z = np.asarray(z)
        # z - max <= 0; it can only overflow to -inf (logits ~1e308 apart), whose exp is
        # exactly the right answer, 0, so that overflow is not worth a warning.
        with np.errstate(over="ignore"):
            e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    @staticmethod
    def _cross_entropy(y_pred, y_true):
        """Mean cross-entropy over the samples (prediction first, then the labels).

        Parameters
        ----------
        y_pred : array, shape (n, k)
            Predicted class probabilities.
        y_true : array, shape (n, k)
            One-hot labels.

        Returns
        -------
        float
            ``-sum(y_true * log(y_pred)) / n``.

        Examples
        --------
        >>> y_pred = np.array([[.5, .5], [.5, .5]])
        >>> y_true = np.array([[1, 0], [0, 1]])
        >>> NumpyANN._cross_entropy(y_pred, y_true)  # doctest: +ELLIPSIS
        0.69314...
        """
        # >>> YOUR CODE HERE >>>
        # Probabilities are clipped to at least 1e-12, so that one that underflowed to 0
        # gives a large but finite loss instead of inf.
        y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
        return float(-np.sum(y_true * np.log(np.clip(y_pred, 1e-12, 1.0))) / y_true.shape[0])
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, X, training=True):
        """Forward pass, shape (n, d) -> class probabilities (n, k).

        With ``training=True`` the intermediate values ``z1, a1, z2, a2`` are
        stored on the model for :meth:`_backward`; with ``training=False`` nothing
        is stored.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model._forward(np.array([[1, 2, 3, 4, 5]]))
        array([[0.50013134, 0.49986866]])
        """
        # >>> YOUR CODE HERE >>>
        z1 = X @ self.W1 + self.b1          # (n, h)
        a1 = self._relu(z1)                 # (n, h)
        z2 = a1 @ self.W2 + self.b2         # (n, k)
        a2 = self._softmax(z2)              # (n, k)
        if training:
            self.z1, self.a1, self.z2, self.a2 = z1, a1, z2, a2
        return a2
        # <<< END OF YOUR CODE <<<

    def _backward(self, X, y_true):
        """Backpropagate the mean cross-entropy of the last training forward pass and
        take one gradient step on W2, b2, W1, b1.

        Parameters
        ----------
        X : array, shape (m, d)
            The batch that was passed to ``_forward(X, training=True)``.
        y_true : array, shape (m, k)
            Its one-hot labels.

        Returns
        -------
        None

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> X = np.array([[1, 2, 3, 4, 5]])
        >>> _ = model._forward(X)
        >>> model._backward(X, np.array([[1, 0]]))
        >>> model.W2
        array([[-0.00504001, -0.01071118],
               [ 0.00314247, -0.00908024],
               [-0.01412304,  0.01465649]])
        """
        # >>> REFERENCE ONLY >>>
        if getattr(self, "a2", None) is None:
            raise RuntimeError("_backward needs the values of a training forward pass: "
                               "call _forward(X, training=True) on the same batch first.")
        # <<< REFERENCE ONLY <<<
        # >>> YOUR CODE HERE >>>
        m = X.shape[0]
        # Softmax + cross-entropy: d(mean loss)/dz2 = (a2 - y) / m. Dividing this small
        # (m, k) array once carries the 1/m into every gradient below, instead of
        # dividing each (d, h) gradient array by m.
        dz2 = (self.a2 - y_true) / m                        # (m, k)
        dW2 = self.a1.T @ dz2                               # (h, k)
        db2 = dz2.sum(axis=0, keepdims=True)                # (1, k)
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)  # (m, h), W2 before its update
        dW1 = X.T @ dz1                                     # (d, h)
        db1 = dz1.sum(axis=0, keepdims=True)                # (1, h)

        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ public API
    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
        """Mini-batch gradient descent; records the metrics of every epoch, prints every 10th.

        Each epoch walks the training set in order, in mini-batches of
        ``batch_size`` rows (the last one may be shorter), with one
        ``_forward`` + ``_backward`` per batch. After the epoch, the loss and the
        accuracy of the weights as they are at its end, on the training and the
        validation set, go into ``self.train_val_metrics``.

        Parameters
        ----------
        X_train : array, shape (n, d)
        y_train : array, shape (n, k)
            One-hot labels.
        X_val : array, shape (n_val, d)
        y_val : array, shape (n_val, k)
        epochs : int >= 0
        batch_size : int >= 1
            Larger than ``n`` means full-batch gradient descent.

        Returns
        -------
        None
            The history is in ``self.train_val_metrics``.

        Reference extensions
        --------------------
        Bad inputs (shapes, non-finite values, ``epochs < 0``, ``batch_size < 1``) raise
        ``ValueError``; a diverging run (non-finite training loss) stops with a
        ``FloatingPointError`` naming the epoch.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> X, y = np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]])
        >>> model.train(X, y, X, y, epochs=1, batch_size=1)
        """
        # >>> REFERENCE ONLY >>>
        X_train, y_train = self._check_Xy(X_train, y_train, "X_train", "y_train")
        X_val, y_val = self._check_Xy(X_val, y_val, "X_val", "y_val")
        epochs = _check_int(epochs, "epochs", minimum=0)
        batch_size = _check_int(batch_size, "batch_size", minimum=1)
        # <<< REFERENCE ONLY <<<
        # >>> YOUR CODE HERE >>>
        metrics = {"train_losses": [], "train_accs": [], "val_losses": [], "val_accs": []}
        self.train_val_metrics = metrics
        for epoch in range(1, epochs + 1):
            # Overflow inside a diverging epoch is caught once per epoch, with a clear
            # error; numpy's RuntimeWarnings would only add noise.
            with np.errstate(over="ignore", invalid="ignore"):
                for start in range(0, len(X_train), batch_size):
                    X_batch = X_train[start:start + batch_size]
                    self._forward(X_batch, training=True)
                    self._backward(X_batch, y_train[start:start + batch_size])
                # One forward pass per set gives both its loss and its accuracy.
                for name, X, y in (("train", X_train, y_train), ("val", X_val, y_val)):
                    y_pred = self._forward(X, training=False)
                    metrics[f"{name}_losses"].append(self._cross_entropy(y_pred, y))
                    metrics[f"{name}_accs"].append(
                        float(np.mean(np.argmax(y_pred, axis=1) == np.argmax(y, axis=1))))
            # >>> REFERENCE ONLY >>>
            if not np.isfinite(metrics["train_losses"][-1]):
                loss = metrics["train_losses"][-1]
                for values in metrics.values():  # the diverged epoch's numbers are not metrics
                    values.pop()
                raise FloatingPointError(
                    f"Training diverged in epoch {epoch} of {epochs}: the training loss is {loss}. "
                    f"The learning rate lr={self.lr} is too large for this data; try a smaller one "
                    f"(e.g. lr={self.lr / 10:g}).")
            # <<< REFERENCE ONLY <<<
            if epoch % 10 == 0:
                print(utils.progress_line(epoch, epochs, *(metrics[k][-1] for k in utils.METRIC_KEYS)))
        # <<< END OF YOUR CODE <<<

    def predict(self, X):
        """Class probabilities, shape (n, d) -> (n, k); stores nothing on the model.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model.predict(np.array([[1, 2, 3, 4, 5]]))
        array([[0.50013134, 0.49986866]])
        """
        X = self._check_X(X, "X")  # reference only
        # >>> YOUR CODE HERE >>>
        return self._forward(X, training=False)
        # <<< END OF YOUR CODE <<<

    def accuracy(self, X, y_true):
        """Fraction of rows whose most probable class is the labelled one.

        Parameters
        ----------
        X : array, shape (n, d)
        y_true : array, shape (n, k)
            One-hot labels.

        Returns
        -------
        float

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model.accuracy(np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]]))
        1.0
        """
        X, y_true = self._check_Xy(X, y_true, "X", "y_true")  # reference only
        # >>> YOUR CODE HERE >>>
        y_pred = self._forward(X, training=False)
        return float(np.mean(np.argmax(y_pred, axis=1) == np.argmax(y_true, axis=1)))
        # <<< END OF YOUR CODE <<<

    # >>> REFERENCE ONLY >>>
    # ------------------------------------------------------------------ input validation
    def _check_X(self, X, name):
        """Return ``X`` as a finite float array of shape (n, input_size), or raise ValueError."""
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
        """Check inputs and their one-hot labels together (shapes must agree)."""
        X = self._check_X(X, X_name)
        y = _as_float_array(y, y_name)
        expected = (X.shape[0], self.output_size)
        if y.ndim != 2:
            hint = (f" One-hot integer labels with np.eye({self.output_size})[labels]."
                    if y.ndim == 1 else "")
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
# <<< REFERENCE ONLY <<<


# >>> REFERENCE ONLY: main >>>
# ---------------------------------------------------------------------- the scripted runs
# --full: a wider layer, reshuffled batches and a cosine-decayed learning rate (0.1 -> 0)
# fit 55,000 images in 30 epochs; plain handout settings would need hundreds.
FULL = dict(epochs=30, batch_size=64, lr=0.1, hidden_size=512)


def settings(full=False):
    """What :func:`run` trains with: the handout's run (Part 1.10, from ``utils.HANDOUT_RUNS``)
    or ``FULL``, as epochs, batch_size, lr, hidden_size."""
    if full:
        return dict(FULL)
    init, train = utils.HANDOUT_RUNS["numpy_ann"]
    return dict(train, lr=init["lr"], hidden_size=init["hidden_size"])


def run(seed=42, full=False, epochs=None, batch_size=None, lr=None, hidden_size=None,
        data_dir=None, verbose=True):
    """Train under the handout protocol (or ``full=True``: 55,000/5,000/10,000).

    ``None`` hyperparameters take the protocol's values (:func:`settings`). Returns a dict:
    ``model``, ``test_acc`` (the protocol's test set: the handout's 200 images, or all 10,000
    with ``full``), ``all_acc`` (all 10,000 test images), ``train_seconds`` and
    ``hyperparameters``.
    """
    import contextlib
    import io
    import time

    hp = settings(full)
    hp.update({k: v for k, v in dict(epochs=epochs, batch_size=batch_size, lr=lr,
                                     hidden_size=hidden_size).items() if v is not None})
    data = utils.load_handout_data(data_dir=data_dir, full=full)
    model = NumpyANN(input_size=784, hidden_size=hp["hidden_size"], output_size=10,
                     lr=hp["lr"], random_seed=seed)
    start = time.perf_counter()
    if full:
        train_full(model, data, hp, seed, verbose)
    else:
        with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
            model.train(*data[:4], epochs=hp["epochs"], batch_size=hp["batch_size"])
    seconds = time.perf_counter() - start
    test_acc = model.accuracy(data.X_test, data.y_test)
    all_acc = test_acc if full else model.accuracy(*utils.load_test_set(data_dir=data_dir))
    return {"model": model, "test_acc": test_acc, "all_acc": all_acc, "train_seconds": seconds,
            "hyperparameters": hp}


def train_full(model, data, hp, seed, verbose):
    """``--full``: one ``train`` call per epoch, on a fresh shuffle of the 55,000 images,
    with the learning rate cosine-decayed from ``hp["lr"]`` towards 0; progress with ETA."""
    import contextlib
    import io
    import math

    rng = np.random.default_rng(seed)
    history = {k: [] for k in utils.METRIC_KEYS}
    progress = utils.EpochProgress(hp["epochs"]) if verbose else None
    for epoch in range(1, hp["epochs"] + 1):
        order = rng.permutation(len(data.X_train))
        model.lr = hp["lr"] * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / hp["epochs"]))
        with contextlib.redirect_stdout(io.StringIO()):
            model.train(data.X_train[order], data.y_train[order], data.X_val, data.y_val, epochs=1,
                        batch_size=hp["batch_size"])
        for k in history:
            history[k] += model.train_val_metrics[k]
        model.train_val_metrics = history
        if progress:
            progress(epoch, model)


def main(argv=None):
    """Doctests, then the handout protocol (or ``--full``); returns the exit status."""
    import argparse
    import sys
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(description="Train the numpy MLP on the handout's "
                                     "Fashion-MNIST split (Part 1).")
    parser.add_argument("--epochs", type=int, help="training epochs (default 250; --full: 30)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (default 64)")
    parser.add_argument("--lr", type=float, help="learning rate (default 0.01; --full: 0.1, cosine-decayed)")
    parser.add_argument("--hidden-size", type=int, help="hidden units (default 64; --full: 512)")
    parser.add_argument("--seed", type=int, default=42, help="weight-init seed (default 42)")
    parser.add_argument("--data-dir", default=None,
                        help="directory holding the Fashion-MNIST IDX files "
                             "(default: utils.load_mnist_f's search order)")
    parser.add_argument("--quiet", action="store_true", help="do not print per-epoch progress")
    parser.add_argument("--full", action="store_true",
                        help="train on all 60,000 training images (5,000 held out for "
                             "validation) and test on all 10,000")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    doctests = utils.run_doctests(sys.modules[__name__])
    try:
        result = run(seed=args.seed, full=args.full, epochs=args.epochs,
                     batch_size=args.batch_size, lr=args.lr, hidden_size=args.hidden_size,
                     data_dir=args.data_dir, verbose=not args.quiet)
    except ValueError as exc:  # a bad flag value: say which, with the usage line
        parser.error(str(exc))
    except FloatingPointError as exc:  # diverged
        utils.print_red(exc)
        return 1
    here = Path(__file__).resolve().parent
    passed = utils.report_run(
        result, threshold=utils.FULL_TARGETS["numpy_ann"] if args.full else utils.THRESHOLDS["numpy_ann"],
        full=args.full, start=start,
        plot_path=here / f"numpy_ann{'_full' if args.full else ''}_train_val_metrics.png")
    return 0 if passed and doctests.failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
# <<< REFERENCE ONLY <<<
