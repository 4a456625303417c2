"""What the reference's runs share: the device, the handout's data, progress lines, labels in
either form, the closing report and the plot.

The course files (``utils.py`` and the solution files) stay as students have them; this is the
reference's own plumbing for ``python -m reference``, ``docs/analysis.py`` and the benchmarks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import utils
from course.facts import METRIC_KEYS, RANDOM_STATE, THRESHOLDS, Split, handout_split
from course.judgement import check_metrics, diagnose_fit


# --------------------------------------------------------------------------- device
def get_device(preferred=None):
    """Pick the torch device: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    preferred : {None, "cpu", "cuda", "mps"} or torch.device
        ``None`` picks the best available; anything else is honoured or refused.

    Raises
    ------
    ValueError
        ``preferred`` names a device that is unknown or not available here.

    Examples
    --------
    >>> get_device("cpu")
    device(type='cpu')
    """
    import torch

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if preferred is None:
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    kind = torch.device(preferred).type if isinstance(preferred, torch.device) else str(preferred).split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise ValueError(f"Unknown device {preferred!r}: expected None, 'cpu', 'cuda' or 'mps'.")
    if (kind == "cuda" and not cuda) or (kind == "mps" and not mps):
        raise ValueError(f"Device {preferred!r} was requested but is not available on this "
                         f"machine (CUDA available: {cuda}, MPS available: {mps}).")
    return torch.device(preferred)


def describe_device(device) -> str:
    """One line saying which device is used and why, for the scripts to print."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"Using CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Using Apple MPS (no CUDA device found)"
    return "Using CPU (no CUDA or MPS device found)"


# --------------------------------------------------------------------------- the protocol's data
def preprocess(X, y, layout="flat", return_tensor=False, device=None, num_classes=10):
    """Scale images to [0, 1], reshape them and one-hot the labels.

    Parameters
    ----------
    X : uint8 array or tensor, shape (N, 28, 28)
    y : integer array or tensor, shape (N,)
    layout : {"flat", "image"}
        ``"flat"`` gives (N, 784) for the MLPs, ``"image"`` gives (N, 1, 28, 28) for the CNN.
    return_tensor : bool
        float32 torch tensors on ``device`` instead of numpy (float64 images).
    device : torch device or str, optional
        Where tensors go (default CPU); only with ``return_tensor=True``.

    Returns
    -------
    X : shape (N, 784) or (N, 1, 28, 28), values in [0, 1]
    Y : shape (N, num_classes), one-hot rows
    """
    if layout not in ("flat", "image"):
        raise ValueError(f"layout must be 'flat' or 'image', got {layout!r}")
    X = np.asarray(X.cpu() if hasattr(X, "cpu") else X)
    y = np.asarray(y.cpu() if hasattr(y, "cpu") else y).astype(np.int64)
    shape = (len(X), -1) if layout == "flat" else (len(X), 1, 28, 28)
    X = X.reshape(shape) / 255.0
    Y = np.eye(num_classes)[y]
    if not return_tensor:
        return X, Y
    import torch

    return (torch.as_tensor(X, dtype=torch.float32, device=device),
            torch.as_tensor(Y, dtype=torch.float32, device=device))


def full_split(X_train, y_train, X_test, y_test, val_size=5000) -> Split:
    """The ``--full`` protocol: all 60,000 training images less a stratified
    validation set of ``val_size`` (``random_state=42``), and all 10,000 test images."""
    from sklearn.model_selection import train_test_split

    X_tr, X_val, y_tr, y_val = train_test_split(
        X_train, y_train, test_size=val_size, random_state=RANDOM_STATE, stratify=y_train)
    return Split(X_tr, y_tr, X_val, y_val, X_test, y_test)


def load_handout_data(layout="flat", return_tensor=False, device=None, data_dir=None,
                      full=False):
    """Load, split and preprocess exactly as the handout's scripts do.

    Returns a :class:`Split` of preprocessed sets (2,000 / 200 / 200). With
    ``full=True`` it is the ``--full`` protocol instead (:func:`full_split`:
    55,000 / 5,000 / 10,000).

    Examples
    --------
    >>> s = load_handout_data()
    >>> s.X_train.shape, s.y_val.shape, s.X_test.shape
    ((2000, 784), (200, 10), (200, 784))
    """
    X_train, y_train, X_test, y_test = utils.load_mnist_f(data_dir=data_dir)
    split = (full_split if full else handout_split)(X_train, y_train, X_test, y_test)
    out = []
    for X, y in ((split.X_train, split.y_train), (split.X_val, split.y_val),
                 (split.X_test, split.y_test)):
        out += preprocess(X, y, layout=layout, return_tensor=return_tensor, device=device)
    return Split(*out)


def load_test_set(layout="flat", return_tensor=False, device=None, data_dir=None):
    """All 10,000 test images and their one-hot labels, preprocessed as the protocol does.

    The handout grades on 200 of them; the scripts also report accuracy on all.

    Examples
    --------
    >>> X, Y = load_test_set()
    >>> X.shape, Y.shape
    ((10000, 784), (10000, 10))
    """
    X_test, y_test = utils.load_mnist_f(data_dir=data_dir)[2:]
    return preprocess(X_test, y_test, layout=layout, return_tensor=return_tensor, device=device)


# --------------------------------------------------------------------------- progress
def progress_line(epoch, epochs, train_loss, train_acc, val_loss, val_acc) -> str:
    """The handout's per-epoch line, which every ``train`` prints.

    Examples
    --------
    >>> progress_line(10, 250, 0.5, 0.8, 0.6, 0.75)
    '[10 / 250] | Train Loss: 0.50000 | Train Accuracy: 0.80000 | Val Loss: 0.60000 | Val Accuracy: 0.75000'
    """
    return (f"[{epoch} / {epochs}] | Train Loss: {train_loss:.5f} | Train Accuracy: {train_acc:.5f} | "
            f"Val Loss: {val_loss:.5f} | Val Accuracy: {val_acc:.5f}")


class EpochProgress:
    """Per-epoch progress with elapsed time and an estimate of the time left.

    Pass an instance as ``train(..., callback=EpochProgress(epochs))``; it prints the
    handout's line from ``model.train_val_metrics`` after every epoch, plus timing::

        [3 / 30] | Train Loss: ... | Val Accuracy: 0.88000 | 41 s elapsed, ~6 min 9 s left
    """

    def __init__(self, epochs):
        import time

        self.epochs, self._clock = epochs, time.perf_counter
        self.start = self._clock()

    def __call__(self, epoch, model):
        m = model.train_val_metrics
        elapsed = self._clock() - self.start
        left = elapsed / epoch * (self.epochs - epoch)
        line = progress_line(epoch, self.epochs, *(m[k][-1] for k in METRIC_KEYS))
        print(f"{line} | {_duration(elapsed)} elapsed, ~{_duration(left)} left", flush=True)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


# --------------------------------------------------------------------------- labels
def class_indices(y, num_classes, name="y"):
    """Integer class labels, shape (N,), from one-hot float rows (N, C) or class indices (N,).

    The PyTorch models accept both label forms; anything else is refused with what
    was expected and what arrived.

    Examples
    --------
    >>> import torch
    >>> class_indices(torch.tensor([[0., 1.], [1., 0.]]), 2)
    tensor([1, 0])
    """
    import torch

    if not torch.is_tensor(y):
        raise TypeError(f"{name} must be a torch tensor, got {type(y).__name__}")
    if y.ndim == 2 and y.shape[1] == num_classes and y.is_floating_point():
        return y.argmax(dim=1)
    if y.ndim == 1 and not y.is_floating_point() and y.dtype != torch.bool:
        return y.long()
    raise ValueError(
        f"{name} must hold one-hot float rows of shape (N, {num_classes}) or integer class "
        f"labels of shape (N,); got dtype {y.dtype} and shape {tuple(y.shape)}")


def one_hot(y, num_classes, name="y"):
    """One-hot float rows, shape (N, C), from one-hot float rows (returned as they are) or
    integer class labels (N,): the reference models take both label forms and their
    skeleton-provided code reads one-hot rows.

    Examples
    --------
    >>> import torch
    >>> one_hot(torch.tensor([1, 0]), 2)
    tensor([[0., 1.],
            [1., 0.]])
    """
    import torch

    indices = class_indices(y, num_classes, name)  # validates, whatever the form
    if y.ndim == 2:
        return y
    return torch.nn.functional.one_hot(indices, num_classes).to(torch.get_default_dtype())


# --------------------------------------------------------------------------- scripts


# --------------------------------------------------------------------------- the report
def run_doctests(module):
    """Run ``module``'s doctests (the flags pyproject.toml uses), print a coloured summary."""
    import doctest

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    (utils.print_green if result.failed == 0 else utils.print_red)(
        f"Doctests: {result.attempted - result.failed} of {result.attempted} passed")
    return result


def device_or_usage(parser, name):
    """The device the command line asked for, or its usage error (exit 2) saying why not."""
    try:
        return get_device(name)
    except ValueError as exc:
        parser.error(str(exc))


def finish(module: str, result, full_target: float, full: bool, start: float, doctests) -> int:
    """A command line's closing lines (:func:`report_run`) and its exit status: 0 when the doctests
    passed and the test accuracy reached the handout's threshold (or, with ``full``, its target)."""
    passed = report_run(result, threshold=full_target if full else THRESHOLDS[module], full=full, start=start,
                        plot_path=f"reference_{module}{'_full' if full else ''}_train_val_metrics.png")
    return 0 if passed and doctests.failed == 0 else 1


def report_run(result, threshold, full, plot_path, start=None):
    """The closing lines of a reference run: the accuracies against ``threshold``, the curves saved
    to ``plot_path``, the fit the curves show; returns whether the test accuracy reached it.

    ``result`` is what a module's ``run()`` returns. The solution classes' own judgement is about
    the handout's run, so it is printed beside the rule's reading only for a run with its settings.
    """
    import time

    model, test_acc, all_acc = result["model"], result["test_acc"], result["all_acc"]
    utils.print_blue(f"Trained {result['hyperparameters']['epochs']} epochs in {result['train_seconds']:.1f} s")
    if full:
        passed = utils.assert_greater_equal(test_acc, threshold, f"Test accuracy on all 10,000 test images: "
                                                                 f"{test_acc:.5f} (target {threshold})")
    else:
        passed = utils.assert_greater_equal(test_acc, threshold, f"Test accuracy on the 200 handout test images: "
                                                                 f"{test_acc:.5f} (threshold {threshold})")
        print(f"Test accuracy on all 10,000 test images: {all_acc:.5f}")
    plot_train_val_metrics(model.train_val_metrics, plot_path)
    print(f"Saved the train/val curves to {Path(plot_path).resolve()}")
    reading = diagnose_fit(model.train_val_metrics)
    if result.get("handout_settings") and hasattr(model, "report_my_judgement"):
        print(f"My judgement: {model.report_my_judgement()} (the judgement rule reads this run as: {reading})")
    else:
        print(f"The judgement rule reads this run as: {reading}")
    if start is not None:
        print(f"Total time: {time.perf_counter() - start:.1f} s")
    return passed


def plot_train_val_metrics(metrics, path=None, title="Train/Val Metrics"):
    """Draw the handout figure: losses left, accuracies right, train and val in each.

    Uses a bare :class:`matplotlib.figure.Figure` (not pyplot), so repeated calls
    never pile up open figures; it still displays in Jupyter and saves anywhere.

    Parameters
    ----------
    metrics : dict
        ``{"train_losses", "train_accs", "val_losses", "val_accs"}``, one value per epoch.
    path : str or path-like, optional
        Where to save the PNG (nothing saved when None).

    Returns
    -------
    fig : matplotlib.figure.Figure, 12 x 6 inches
    ax : ndarray of two Axes (loss, accuracy)
    """
    from matplotlib.figure import Figure

    m = check_metrics(metrics)
    epochs = np.arange(1, len(m["train_losses"]) + 1)
    fig = Figure(figsize=(12, 6))
    ax = fig.subplots(1, 2)
    for axis, what, label in ((ax[0], "losses", "Loss"), (ax[1], "accs", "Accuracy")):
        axis.plot(epochs, m[f"train_{what}"], label=f"Train {label.lower()}")
        axis.plot(epochs, m[f"val_{what}"], label=f"Val {label.lower()}")
        axis.set_xlabel("Epoch")
        axis.set_ylabel(label)
        axis.set_title(label)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig, ax
