# >>> REFERENCE ONLY: docstring >>>
"""Part 1: a one-hidden-layer neural network for Fashion-MNIST in numpy, backprop by hand.

The network is ``X -> Linear(W1, b1) -> ReLU -> Linear(W2, b2) -> softmax``, trained
with cross-entropy and plain mini-batch gradient descent. Only numpy is used here;
``python numpy_ann.py`` runs the doctests and then the handout's training protocol.

Shapes used throughout: ``n`` samples, ``d = input_size`` features,
``h = hidden_size`` hidden units, ``k = output_size`` classes.

This file is the course's skeleton filled in. The ``# >>> YOUR CODE HERE >>>`` regions are
what students write; everything else outside ``REFERENCE ONLY`` marks is the skeleton's
provided code (``python -m release build`` turns this file into the handout). The
``REFERENCE ONLY`` parts are this reference's own: input validation, the per-epoch history,
``--full`` and the command line.
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

import utils  # reference only


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
    input_size, hidden_size, output_size, lr
        The constructor's arguments.
    W1 : ndarray, shape (d, h)
    b1 : ndarray, shape (1, h)
    W2 : ndarray, shape (h, k)
    b2 : ndarray, shape (1, k)
        Weights start as ``0.01 * N(0, 1)`` draws (W1 first, then W2), biases at zero.
    z1, a1, z2, a2 : ndarray
        The last training-mode forward pass (pre-/post-activations), kept for
        :meth:`_backward`. Set by ``_forward(X, training=True)`` only.

    Reference extensions
    --------------------
    train_val_metrics : dict
        After :meth:`train`: ``{"train_losses", "train_accs", "val_losses",
        "val_accs"}``, one value per epoch (the same keys as ``PyTorchANN``).
    """

    def __init__(self, input_size, hidden_size, output_size, lr, random_seed=42):
        """Keep the sizes and the learning rate; draw the weights; zero the biases.

        ``np.random.seed(random_seed)`` comes first, then ``W1`` is drawn, then ``W2``, each as
        ``np.random.randn(rows, columns) * 0.01``. The biases are zero rows.

        Examples
        --------
        >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> ann.input_size, ann.hidden_size, ann.output_size, ann.lr
        (5, 3, 2, 0.01)
        >>> ann.W1.shape, ann.b1.shape
        ((5, 3), (1, 3))
        >>> ann.W2.shape, ann.b2.shape
        ((3, 2), (1, 2))
        """
        # >>> REFERENCE ONLY >>>
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr >= 0 or lr == np.inf:
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}.")
        # <<< REFERENCE ONLY <<<
        np.random.seed(random_seed)

        # The attributes input_size, hidden_size, output_size and lr
        # >>> YOUR CODE HERE >>>
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr
        # <<< END OF YOUR CODE <<<

        # The first layer's weights and biases
        self.W1 = np.random.randn(self.input_size, self.hidden_size) * 0.01
        self.b1 = np.zeros((1, self.hidden_size))

        # The second layer's weights W2 and biases b2, like the first layer's
        # >>> YOUR CODE HERE >>>
        self.W2 = np.random.randn(self.hidden_size, self.output_size) * 0.01
        self.b2 = np.zeros((1, self.output_size))
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
        # The ReLU of every element of z, as relu
        # >>> YOUR CODE HERE >>>
        relu = np.maximum(0, z)
        # <<< END OF YOUR CODE <<<
        return relu

    @staticmethod
    def _relu_grad(z):
        """Derivative of ReLU: 0 where ``z <= 0`` (at 0 we pick the subgradient 0), 1 elsewhere.

        Examples
        --------
        >>> NumpyANN._relu_grad(np.array([-1, 0, 1]))
        array([0, 0, 1])
        """
        # The derivative at every element of z, as grad: an array of 0s and 1s
        # >>> YOUR CODE HERE >>>
        grad = (np.asarray(z) > 0).astype(int)
        # <<< END OF YOUR CODE <<<
        return grad

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

        Write the whole body: return ``-sum(y_true * log(y_pred)) / n``, the sum over every
        sample and class, divided by the number of samples ``n`` (not of classes).

        Parameters
        ----------
        y_pred : array, shape (n, k)
            Predicted class probabilities.
        y_true : array, shape (n, k)
            One-hot labels.

        Returns
        -------
        float

        Examples
        --------
        >>> y_pred = np.array([[.5, .5], [.5, .5]])
        >>> y_true = np.array([[1, 0], [0, 1]])
        >>> NumpyANN._cross_entropy(y_pred, y_true)  # doctest: +ELLIPSIS
        0.69314...
        """
        # The whole body: return the mean cross-entropy as a float
        # >>> YOUR CODE HERE >>>
        # Probabilities are clipped to at least 1e-12, so that one that underflowed to 0
        # gives a large but finite loss instead of inf.
        y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
        return float(-np.sum(y_true * np.log(np.clip(y_pred, 1e-12, 1.0))) / y_true.shape[0])
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, X, training=True):
        """Forward pass, shape (n, d) -> class probabilities (n, k).

        ``z1 = X W1 + b1``, ``a1 = relu(z1)``, ``z2 = a1 W2 + b2``, ``a2 = softmax(z2)``.
        With ``training=True`` the values ``z1, a1, z2, a2`` are stored on the model for
        :meth:`_backward`; with ``training=False`` nothing is stored.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model._forward(np.array([[1, 2, 3, 4, 5]]))
        array([[0.50013134, 0.49986866]])
        """
        # Layer 1: z1 = X W1 + b1, and its ReLU, a1 (use self._relu)
        # >>> YOUR CODE HERE >>>
        z1 = X @ self.W1 + self.b1          # (n, h)
        a1 = self._relu(z1)                 # (n, h)
        # <<< END OF YOUR CODE <<<

        # Layer 2: z2 = a1 W2 + b2, and its softmax, a2 (use self._softmax)
        # >>> YOUR CODE HERE >>>
        z2 = a1 @ self.W2 + self.b2         # (n, k)
        a2 = self._softmax(z2)              # (n, k)
        # <<< END OF YOUR CODE <<<

        if training:
            self.z1, self.a1, self.z2, self.a2 = z1, a1, z2, a2
        return a2

    def _backward(self, X, y_true):
        """Backpropagate the mean cross-entropy of the last training forward pass and
        take one gradient step on W2, b2, W1, b1.

        With ``m`` the batch size: ``dz2 = a2 - y``, ``dW2 = a1.T dz2 / m``,
        ``db2 = sum(dz2) / m`` (over the batch); ``dz1 = (dz2 W2.T) * relu_grad(z1)``, with
        W2 as it was before this step; ``dW1 = X.T dz1 / m``, ``db1 = sum(dz1) / m``; then
        ``param -= lr * grad`` for every parameter.

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
        m = y_true.shape[0]  # the batch size

        # Output layer. For softmax followed by cross-entropy, the derivative of each sample's
        # loss with respect to z2 is a2 - y; the loss is the mean over the batch, hence / m.
        dz2 = self.a2 - y_true                          # (m, k)
        dW2 = self.a1.T @ dz2 / m                       # (h, k): dz2 through z2 = a1 W2 + b2
        db2 = np.sum(dz2, axis=0, keepdims=True) / m    # (1, k)

        # Hidden layer: dz1, back through W2 (not yet updated) and the ReLU (use self._relu_grad)
        # >>> YOUR CODE HERE >>>
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)  # (m, h)
        # <<< END OF YOUR CODE <<<

        # dW1 and db1, like dW2 and db2 (each divided by m)
        # >>> YOUR CODE HERE >>>
        dW1 = X.T @ dz1 / m                             # (d, h)
        db1 = np.sum(dz1, axis=0, keepdims=True) / m    # (1, h)
        # <<< END OF YOUR CODE <<<

        # One step of gradient descent: param -= lr * grad
        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
        # ... and the same step for W1 and b1
        # >>> YOUR CODE HERE >>>
        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ public API
    @np.errstate(over="ignore", invalid="ignore")  # reference only
    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
        """Mini-batch gradient descent; prints the progress every 10th epoch.

        Each epoch walks the training set in order, in mini-batches of
        ``batch_size`` rows (the last one may be shorter), with one
        ``_forward`` + ``_backward`` per batch. After the epoch come the loss
        (``_cross_entropy``) and the accuracy of the weights as they are at its end, on the
        training and the validation set.

        Parameters
        ----------
        X_train : array, shape (n, d)
        y_train : array, shape (n, k)
            One-hot labels.
        X_val : array, shape (n_val, d)
        y_val : array, shape (n_val, k)
        epochs : int
        batch_size : int
            Larger than ``n`` means full-batch gradient descent.

        Returns
        -------
        None

        Reference extensions
        --------------------
        Keeps the per-epoch history in ``self.train_val_metrics``. Bad inputs (shapes,
        non-finite values, ``epochs < 0``, ``batch_size < 1``) raise ``ValueError``; a
        diverging run (non-finite training loss) stops with a ``FloatingPointError`` naming
        the epoch (numpy's overflow warnings are silenced here, so that error is all it says).

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
        self.train_val_metrics = {key: [] for key in utils.METRIC_KEYS}
        # <<< REFERENCE ONLY <<<
        for epoch in range(epochs):
            for i in range(0, X_train.shape[0], batch_size):
                X_batch = X_train[i:i + batch_size]
                y_batch = y_train[i:i + batch_size]

                # Forward pass on the batch, keeping what the backward pass needs
                # >>> YOUR CODE HERE >>>
                self._forward(X_batch, training=True)
                # <<< END OF YOUR CODE <<<

                # Backward pass on the batch: the gradients and the gradient step
                # >>> YOUR CODE HERE >>>
                self._backward(X_batch, y_batch)
                # <<< END OF YOUR CODE <<<

            y_pred_train = self._forward(X_train, training=False)
            y_pred_val = self._forward(X_val, training=False)

            # The losses of this epoch: train_loss and val_loss (use self._cross_entropy)
            # >>> YOUR CODE HERE >>>
            train_loss = self._cross_entropy(y_pred_train, y_train)
            val_loss = self._cross_entropy(y_pred_val, y_val)
            # <<< END OF YOUR CODE <<<

            train_acc = self.accuracy(X_train, y_train)
            val_acc = self.accuracy(X_val, y_val)
            # >>> REFERENCE ONLY >>>
            self._record(epoch + 1, epochs, train_loss, train_acc, val_loss, val_acc)
            # <<< REFERENCE ONLY <<<

            if (epoch + 1) % 10 == 0:
                print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_loss:.5f} | Train Accuracy: {train_acc:.5f} | "
                      f"Val Loss: {val_loss:.5f} | Val Accuracy: {val_acc:.5f}")

    def predict(self, X):
        """Class probabilities, shape (n, d) -> (n, k): a forward pass that stores nothing
        on the model (``training=False``).

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model.predict(np.array([[1, 2, 3, 4, 5]]))
        array([[0.50013134, 0.49986866]])
        """
        X = self._check_X(X, "X")  # reference only
        # The class probabilities of X, as y_pred
        # >>> YOUR CODE HERE >>>
        y_pred = self._forward(X, training=False)
        # <<< END OF YOUR CODE <<<
        return y_pred

    def accuracy(self, X, y_true):
        """Fraction of rows whose most probable class (the argmax of the predicted
        probabilities) is the labelled one (the argmax of the one-hot row).

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
        # The fraction of rows predicted right, as accuracy (a float)
        # >>> YOUR CODE HERE >>>
        y_pred = self._forward(X, training=False)
        accuracy = float(np.mean(np.argmax(y_pred, axis=1) == np.argmax(y_true, axis=1)))
        # <<< END OF YOUR CODE <<<
        return accuracy

    # >>> REFERENCE ONLY >>>
    # ------------------------------------------------------------------ the per-epoch history
    def _record(self, epoch, epochs, *values):
        """Append one epoch's (train loss, train acc, val loss, val acc) to
        ``train_val_metrics``; stop with a clear error when the run has diverged."""
        if not np.isfinite(values[0]):
            raise FloatingPointError(
                f"Training diverged in epoch {epoch} of {epochs}: the training loss is {values[0]}. "
                f"The learning rate lr={self.lr} is too large for this data; try a smaller one "
                f"(e.g. lr={self.lr / 10:g}).")
        for key, value in zip(utils.METRIC_KEYS, values):
            self.train_val_metrics[key].append(float(value))

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
    passed = utils.report_run(
        result, threshold=utils.FULL_TARGETS["numpy_ann"] if args.full else utils.THRESHOLDS["numpy_ann"],
        full=args.full, start=start,
        plot_path=f"numpy_ann{'_full' if args.full else ''}_train_val_metrics.png")
    return 0 if passed and doctests.failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
# <<< REFERENCE ONLY <<<
