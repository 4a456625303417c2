# >>> REFERENCE ONLY: docstring >>>
"""Shared helpers for the Fashion-MNIST homework: printing, checks, data, device, plots.

The reference's own utils. ``python -m release build`` turns it into the students' copy
(``release/skeleton/utils.py``'s docstring, and nothing between ``REFERENCE ONLY`` marks):
the coloured prints, the two asserts and the checked data loader, which is what the
skeleton's utils offered and what the handout's code calls. The grader runs student code
against that copy too. Everything that reads curves, names a judgement or states the
handout's numbers is reference-only, for the reference scripts, the grader's judge and the
benchmarks.

Everything here is imported lazily where it is heavy (torch, torchvision, scikit-learn,
matplotlib), so ``import utils`` is cheap and ``numpy_ann.py`` never pays for torch.
"""
# <<< REFERENCE ONLY <<<
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import NamedTuple  # reference only

import numpy as np

# The course's environment printed numpy scalars the numpy-1 way (`0.6931...`, `1.0`), and
# the skeleton's doctests expect that; numpy >= 2 prints `np.float64(0.6931...)` unless told
# otherwise. The skeleton's `__main__` imports this module before `doctest.testmod`, so a
# student's doctests pass under the numpy the requirements install. Arrays print the same
# either way.
if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
    np.set_printoptions(legacy="1.25")

# >>> REFERENCE ONLY >>>
__all__ = [
    "CLASS_NAMES", "SPLIT_SIZES", "THRESHOLDS", "HANDOUT_RUNS", "PROGRESS_EVERY", "FULL_TARGETS",
    "METRIC_KEYS",
    "FashionMNISTError", "print_red", "print_green", "print_yellow",
    "print_blue", "assert_greater_equal", "assert_less_equal", "load_mnist_f",
    "get_device", "describe_device", "Split", "preprocess", "handout_split", "full_split",
    "load_handout_data", "load_test_set", "progress_line", "EpochProgress", "run_doctests",
    "report_run", "class_indices", "one_hot", "plot_train_val_metrics", "FIT_RULE", "JUDGEMENT_RULE", "diagnose_fit",
    "accepted_judgements", "fit_numbers",
]
# <<< REFERENCE ONLY <<<

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

HERE = Path(__file__).resolve().parent

# >>> REFERENCE ONLY >>>
# --------------------------------------------------------------------------- the handout's facts
# Every number the handout fixes for the scripted runs lives here, once: the reference
# scripts, the grader (thresholds, its fallback runs, its checks) and the benchmarks read it.
SPLIT_SIZES = {"train": 2000, "val": 200, "test": 200}  # handout_split, random_state=42
THRESHOLDS = {"numpy_ann": 0.77, "pytorch_ann": 0.80, "pytorch_cnn": 0.85}  # on the 200 test images
# The skeleton's scripted runs: (constructor keywords, train() keywords). The CNN's is the
# skeleton's own recipe (one full-batch Adam step per epoch), not the reference's.
HANDOUT_RUNS = {
    "numpy_ann": ({"input_size": 784, "hidden_size": 64, "output_size": 10, "lr": 0.01},
                  {"epochs": 250, "batch_size": 64}),
    "pytorch_ann": ({"input_size": 784, "output_size": 10, "hidden_size": 32},
                    {"epochs": 100, "batch_size": 64, "learning_rate": 0.2}),
    "pytorch_cnn": ({}, {"epochs": 60, "learning_rate": 0.002}),
}
PROGRESS_EVERY = {"numpy_ann": 10, "pytorch_ann": 5, "pytorch_cnn": 1}  # train()'s progress lines
FULL_TARGETS = {"numpy_ann": 0.885, "pytorch_ann": 0.885, "pytorch_cnn": 0.93}  # --full, on all 10,000
METRIC_KEYS = ("train_losses", "train_accs", "val_losses", "val_accs")  # train_val_metrics
# <<< REFERENCE ONLY <<<


# --------------------------------------------------------------------------- printing
def _print_coloured(code: str, msg) -> None:
    print(f"\033[{code}m{msg}\033[0m")


def print_red(msg) -> None:
    """Print ``msg`` in red (failures)."""
    _print_coloured("91", msg)


def print_green(msg) -> None:
    """Print ``msg`` in green (passes)."""
    _print_coloured("92", msg)


def print_yellow(msg) -> None:
    """Print ``msg`` in yellow (warnings, notes)."""
    _print_coloured("93", msg)


def print_blue(msg) -> None:
    """Print ``msg`` in blue (headings, information)."""
    _print_coloured("94", msg)


def assert_greater_equal(actual, expected, msg) -> bool:
    """Print ``msg`` green if ``actual >= expected``, red otherwise; return the outcome.

    Unlike ``assert`` this never raises: the scripts report and carry on.
    """
    ok = bool(actual >= expected)
    (print_green if ok else print_red)(msg)
    return ok


def assert_less_equal(actual, expected, msg) -> bool:
    """Print ``msg`` green if ``actual <= expected``, red otherwise; return the outcome."""
    ok = bool(actual <= expected)
    (print_green if ok else print_red)(msg)
    return ok


# --------------------------------------------------------------------------- data
class FashionMNISTError(RuntimeError):
    """The Fashion-MNIST files are missing, corrupt or not what they claim to be."""


# name -> (IDX magic, shape, SHA-256 of the decompressed file)
_FILES = {
    "train-images-idx3-ubyte": (2051, (60000, 28, 28),
                                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (2049, (60000,),
                                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (2051, (10000, 28, 28),
                               "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (2049, (10000,),
                               "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist

_HOW_TO_FIX = (
    "Get good data with one of: restore the repository's data/FashionMNIST/raw "
    "(`git checkout -- data`), `apt-get install dataset-fashion-mnist` (Debian), or "
    "delete the bad file and let torchvision download it again."
)


def _find_file(directory: Path, name: str) -> Path | None:
    """The uncompressed IDX file if present (faster), else its ``.gz``; None if neither."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


_CACHE: dict = {}  # (path, size, mtime) -> validated read-only array; reloads cost nothing


def _read_idx(path: Path, name: str) -> np.ndarray:
    """Read and validate one IDX file (plain or gzip) into a read-only numpy array.

    Validated arrays are cached per process, keyed by path, size and modification
    time, so a changed file is always read and checked again.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = _read_idx_uncached(path, name)
    return _CACHE[key]


def _read_idx_uncached(path: Path, name: str) -> np.ndarray:
    def fail(what: str) -> FashionMNISTError:
        return FashionMNISTError(f"Fashion-MNIST file {path} is not usable: {what}. {_HOW_TO_FIX}")

    magic, shape, sha256 = _FILES[name]
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise fail(f"it could not be read or decompressed ({exc})") from None

    header_len = 4 * (1 + len(shape))
    if len(raw) < header_len:
        raise fail(f"expected a {header_len}-byte IDX header, found only {len(raw)} bytes")
    header = np.frombuffer(raw, dtype=">u4", count=1 + len(shape))
    if int(header[0]) != magic:
        raise fail(f"expected magic number {magic}, found {int(header[0])}")
    dims = tuple(int(d) for d in header[1:])
    if dims != shape:
        raise fail(f"expected dimensions {shape}, found {dims}")
    expected_len = header_len + int(np.prod(shape))
    if len(raw) != expected_len:
        raise fail(f"expected {expected_len} bytes, found {len(raw)} (truncated or padded)")
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)
    if len(shape) == 1 and data.max() > 9:
        bad = int(np.argmax(data > 9))
        raise fail(f"expected labels 0-9, found {int(data[bad])} at index {bad}")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise fail(f"expected SHA-256 {sha256} of the decompressed bytes, found {digest}")
    return data


def _read_dir(directory: Path):
    """Load all four files from ``directory`` or raise naming what is missing/bad."""
    paths = {name: _find_file(directory, name) for name in _FILES}
    missing = [name for name, p in paths.items() if p is None]
    if missing:
        raise FashionMNISTError(
            f"Fashion-MNIST directory {directory} is incomplete: expected the four files "
            f"{', '.join(_FILES)} (each plain or .gz), missing {', '.join(missing)}. {_HOW_TO_FIX}")
    # Small label files first: a bad one is reported before decompressing 47 MB of images.
    arrays = {name: _read_idx(paths[name], name) for name in sorted(_FILES, key=lambda n: len(_FILES[n][1]))}
    return tuple(arrays[name] for name in _FILES)


def _has_any(directory: Path) -> bool:
    return directory.is_dir() and any(_find_file(directory, n) for n in _FILES)


def _download(root: Path) -> Path:
    """Download with torchvision into ``root/FashionMNIST/raw`` (the original skeleton's way)."""
    from torchvision.datasets import FashionMNIST

    for train in (True, False):
        FashionMNIST(root=str(root), train=train, download=True)
    return root / "FashionMNIST" / "raw"


def load_mnist_f(return_tensor=False, data_dir=None):
    """Load the full Fashion-MNIST.

    Places searched, in order (the first that holds the files is used, silently):
    ``data_dir``; ``$FASHION_MNIST_DIR``; ``data/FashionMNIST/raw`` next to this file;
    ``./data/FashionMNIST/raw``; ``/usr/share/datasets/fashion-mnist``; finally a
    torchvision download into ``data/`` next to this file. An explicit ``data_dir``
    or ``FASHION_MNIST_DIR`` that does not hold good data is an error, never skipped.
    Every file is checked (magic number, dimensions, length, labels 0-9, SHA-256).

    Parameters
    ----------
    return_tensor : bool, default False
        Return torch tensors (like torchvision's ``dataset.data``/``.targets``)
        instead of numpy arrays.
    data_dir : str or path-like, optional
        A directory holding the four IDX files (plain or ``.gz``).

    Returns
    -------
    X_train : uint8, shape (60000, 28, 28)
    y_train : int64, shape (60000,)
    X_test : uint8, shape (10000, 28, 28)
    y_test : int64, shape (10000,)

    Raises
    ------
    FashionMNISTError
        A file is missing, corrupt or mismatched, or no data was found anywhere.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_mnist_f()
    >>> X_train.shape, X_train.dtype, y_test.shape, y_test.dtype
    ((60000, 28, 28), dtype('uint8'), (10000,), dtype('int64'))
    """
    explicit = [("data_dir argument", data_dir),
                ("FASHION_MNIST_DIR environment variable", os.environ.get("FASHION_MNIST_DIR"))]
    arrays = None
    for label, value in explicit:
        if value is None or value == "":
            continue
        directory = Path(value).expanduser()
        if not directory.is_dir():
            raise FashionMNISTError(
                f"The {label} points to {directory}, which is not a directory. Expected a "
                f"directory holding {', '.join(_FILES)} (plain or .gz).")
        if not _has_any(directory):
            raise FashionMNISTError(
                f"The {label} points to {directory}, which holds none of the Fashion-MNIST "
                f"files {', '.join(_FILES)} (plain or .gz). {_HOW_TO_FIX}")
        arrays = _read_dir(directory)
        break

    if arrays is None:
        searched = []
        for directory in (HERE / "data" / "FashionMNIST" / "raw",
                          Path.cwd() / "data" / "FashionMNIST" / "raw",
                          SYSTEM_DIR):
            searched.append(str(directory))
            if _has_any(directory):
                arrays = _read_dir(directory)
                if len(searched) > 1:
                    print_yellow(f"Fashion-MNIST: using {directory}")
                break
    if arrays is None:
        root = HERE / "data"
        print_yellow(f"Fashion-MNIST not found locally; downloading with torchvision into {root}")
        try:
            arrays = _read_dir(_download(root))
        except FashionMNISTError:
            raise
        except Exception as exc:  # no network, no torchvision, mirror down...
            raise FashionMNISTError(
                "Fashion-MNIST was not found. Searched, in order: the data_dir argument "
                "(not given), $FASHION_MNIST_DIR (not set), " + ", ".join(searched)
                + f"; then the torchvision download into {root} failed: {exc}. {_HOW_TO_FIX}"
            ) from exc

    X_train, y_train, X_test, y_test = arrays
    # Copies: frombuffer views are read-only, and labels become int64 like torchvision's.
    X_train, X_test = X_train.copy(), X_test.copy()
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    if return_tensor:
        import torch
        return tuple(torch.from_numpy(a) for a in (X_train, y_train, X_test, y_test))
    return X_train, y_train, X_test, y_test


# >>> REFERENCE ONLY >>>
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


# --------------------------------------------------------------------------- protocol
class Split(NamedTuple):
    """The handout's three sets, in the order ``train(X_train, y_train, X_val, y_val)`` takes."""
    X_train: object
    y_train: object
    X_val: object
    y_val: object
    X_test: object
    y_test: object


def handout_split(X_train, y_train, X_test, y_test) -> Split:
    """The handout's exact split: 2,000 train / 200 val from train, 200 test from test.

    These are the skeleton's own ``train_test_split`` calls with ``random_state=42``,
    so every student sees the same images. Inputs and outputs are raw (uint8 images,
    integer labels); see :func:`preprocess`.
    """
    from sklearn.model_selection import train_test_split

    X_tr, X_val, y_tr, y_val = train_test_split(
        X_train, y_train, train_size=SPLIT_SIZES["train"], test_size=SPLIT_SIZES["val"],
        random_state=42)
    X_te, _, y_te, _ = train_test_split(
        X_test, y_test, train_size=SPLIT_SIZES["test"], test_size=1, random_state=42)
    return Split(X_tr, y_tr, X_val, y_val, X_te, y_te)


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
        X_train, y_train, test_size=val_size, random_state=42, stratify=y_train)
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
    X_train, y_train, X_test, y_test = load_mnist_f(data_dir=data_dir)
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
    X_test, y_test = load_mnist_f(data_dir=data_dir)[2:]
    return preprocess(X_test, y_test, layout=layout, return_tensor=return_tensor, device=device)


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
def run_doctests(module):
    """Run ``module``'s doctests (the flags pyproject.toml uses), print a coloured summary."""
    import doctest

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    (print_green if result.failed == 0 else print_red)(
        f"Doctests: {result.attempted - result.failed} of {result.attempted} passed")
    return result


def report_run(result, threshold, full, plot_path, start=None):
    """The scripts' closing lines: accuracies against the threshold, the plot, the judgement.

    ``result`` is what a script's ``run()`` returns. The plot is the model's own
    ``plot_train_val_metrics()`` (the PyTorch classes, which save ``plot_path`` themselves),
    else :func:`plot_train_val_metrics` (``NumpyANN``, and every ``--full`` run, whose file
    name differs). Returns whether the protocol's test accuracy reached ``threshold``.
    """
    import time

    model, test_acc, all_acc = result["model"], result["test_acc"], result["all_acc"]
    print_blue(f"Trained {result['hyperparameters']['epochs']} epochs in "
               f"{result['train_seconds']:.1f} s")
    if full:
        passed = assert_greater_equal(test_acc, threshold, f"Test accuracy on all 10,000 test "
                                      f"images: {test_acc:.5f} (target {threshold})")
    else:
        passed = assert_greater_equal(test_acc, threshold, f"Test accuracy on the 200 handout "
                                      f"test images: {test_acc:.5f} (threshold {threshold})")
        print(f"Test accuracy on all 10,000 test images: {all_acc:.5f}")
    if hasattr(model, "plot_train_val_metrics") and not full:
        import matplotlib.pyplot as plt

        fig, _ = model.plot_train_val_metrics()
        plt.close(fig)
    else:
        plot_train_val_metrics(model.train_val_metrics, plot_path)
    print(f"Saved the train/val curves to {Path(plot_path).resolve()}")
    reading = diagnose_fit(model.train_val_metrics)
    if hasattr(model, "report_my_judgement") and not full:
        print(f"My judgement: {model.report_my_judgement()} "
              f"(utils.diagnose_fit reads this run as: {reading})")
    else:
        print(f"Judgement (utils.diagnose_fit): {reading}")
    if start is not None:
        print(f"Total time: {time.perf_counter() - start:.1f} s")
    return passed


# --------------------------------------------------------------------------- curves


def _check_metrics(metrics) -> dict:
    if not isinstance(metrics, dict) or any(k not in metrics for k in METRIC_KEYS):
        raise ValueError(f"train_val_metrics must be a dict with keys {METRIC_KEYS}; got "
                         f"{sorted(metrics) if isinstance(metrics, dict) else type(metrics).__name__}. "
                         "Call train(...) first.")
    lengths = {len(metrics[k]) for k in METRIC_KEYS}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"train_val_metrics lists must be non-empty and of equal length; "
                         f"got lengths { {k: len(metrics[k]) for k in METRIC_KEYS} }")
    return {k: np.asarray([float(v) for v in metrics[k]]) for k in METRIC_KEYS}


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

    m = _check_metrics(metrics)
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


# diagnose_fit's thresholds, and the rule in words: the grader's feedback on the judgement items
# and the students' README state it, since the students' utils.py has no diagnose_fit.
FIT_RULE = {"min_train_acc": 0.85, "max_gap": 0.08, "max_val_loss_rise": 0.10, "window": 3}
JUDGEMENT_RULE = (f"each curve taken as its moving mean over {FIT_RULE['window']} epochs (so its end is the mean "
                  f"of the last {FIT_RULE['window']}): underfitting when the train accuracy ends below "
                  f"{FIT_RULE['min_train_acc']}; otherwise overfitting when it ends more than {FIT_RULE['max_gap']} "
                  f"above the validation accuracy, or when the validation loss ends more than "
                  f"{FIT_RULE['max_val_loss_rise']:.0%} above its lowest; otherwise generalizing. The curves are "
                  f"the ones your train method records: the CNN's provided train records its train accuracy "
                  f"in training mode, dropout on")


def diagnose_fit(train_val_metrics, min_train_acc=FIT_RULE["min_train_acc"], max_gap=FIT_RULE["max_gap"],
                 max_val_loss_rise=FIT_RULE["max_val_loss_rise"], window=FIT_RULE["window"]) -> str:
    """Read a run's curves: ``"underfitting"``, ``"overfitting"`` or ``"generalizing"``.

    The rules, applied to the curves smoothed by a moving mean over ``window`` epochs
    (single epochs are noisy):

    1. **underfitting** if the final train accuracy is below ``min_train_acc``: the
       model does not even fit the data it sees;
    2. **overfitting** if train accuracy exceeds validation accuracy by more than
       ``max_gap``, or the final validation loss has risen more than
       ``max_val_loss_rise`` (relative) above its minimum: the model is learning the
       training set rather than the task;
    3. **generalizing** otherwise.

    Which curves they read. The students' runs, which the grader judges: ``NumpyANN`` and
    ``PyTorchANN`` measure their train curves as their validation curves, after each epoch, in
    eval mode, on the whole set (the skeleton's provided code); the skeleton's CNN ``train``
    records the train loss and accuracy of its full-batch step, in training mode (dropout on),
    which reads a few points lower than the same weights in eval mode. The reference's own
    curves are all measured alike (``PyTorchCNN.fit`` too: eval mode, plain cross-entropy).

    Why ``max_gap=0.08``: the handout validates on 200 images, so a validation accuracy near
    0.87 carries a standard error of about 0.024, and the gap of a train accuracy measured on
    2,000 images about the same: 0.08 is more than three standard errors, a gap that noise
    alone does not make. Why ``max_val_loss_rise=0.10``: a mean of 200 per-image losses is
    uncertain by about 7% (:func:`accepted_judgements`), so a validation loss 10% above its
    lowest has turned up. Why ``min_train_acc=0.85``: every handout network fits its 2,000
    training images beyond 0.85 when trained long enough; below it, it has not learned yet.

    These thresholds are one reading, not the truth: a run near one of them sits
    within the noise of 200 validation images. :func:`accepted_judgements` gives every
    reading the curves do not clearly contradict; the grader accepts any of those.

    Examples
    --------
    >>> flat = {"train_losses": [1.0, 0.9], "train_accs": [0.6, 0.62],
    ...         "val_losses": [1.0, 0.9], "val_accs": [0.6, 0.61]}
    >>> diagnose_fit(flat)
    'underfitting'
    >>> good = {"train_losses": [0.5, 0.3], "train_accs": [0.86, 0.90],
    ...         "val_losses": [0.5, 0.35], "val_accs": [0.85, 0.88]}
    >>> diagnose_fit(good)
    'generalizing'
    >>> gap = dict(good, val_accs=[0.75, 0.75])
    >>> diagnose_fit(gap)
    'overfitting'
    """
    m = _smoothed_ends(train_val_metrics, window)
    if m["train_acc"] < min_train_acc:
        return "underfitting"
    if (m["train_acc"] - m["val_acc"] > max_gap
            or m["val_loss"] > m["best_val_loss"] * (1 + max_val_loss_rise)):
        return "overfitting"
    return "generalizing"


def _smoothed_ends(train_val_metrics, window) -> dict:
    """The smoothed end points diagnose_fit's rules read."""
    m = _check_metrics(train_val_metrics)
    w = min(window, len(m["train_accs"]))
    smooth = {k: np.convolve(v, np.ones(w) / w, mode="valid") for k, v in m.items()}
    return {"train_acc": float(smooth["train_accs"][-1]), "val_acc": float(smooth["val_accs"][-1]),
            "val_loss": float(smooth["val_losses"][-1]),
            "best_val_loss": float(smooth["val_losses"].min())}


def accepted_judgements(train_val_metrics, n_train=SPLIT_SIZES["train"], n_val=SPLIT_SIZES["val"],
                        min_train_acc=FIT_RULE["min_train_acc"], max_gap=FIT_RULE["max_gap"],
                        max_val_loss_rise=FIT_RULE["max_val_loss_rise"], window=FIT_RULE["window"]):
    """Every judgement the curves do not clearly contradict, :func:`diagnose_fit`'s first.

    A reading is accepted when :func:`diagnose_fit` gives it with each threshold moved by
    up to one standard error of the quantity it is compared with, so a run within the
    noise of a boundary accepts both neighbouring answers, and a run far from every
    boundary accepts only one. The standard errors come from the set sizes:

    - train accuracy ``p`` over ``n_train`` images: ``sqrt(p (1 - p) / n_train)``
      (the underfitting rule);
    - the train-validation gap: that and ``sqrt(q (1 - q) / n_val)`` for validation
      accuracy ``q``, combined (about 0.024 near 0.87 with 200 validation images);
    - the relative rise of the validation loss: ``1 / sqrt(n_val)`` (0.071 for 200
      images). A mean of ``n`` per-image cross-entropies has a relative standard error
      of ``cv / sqrt(n)``, and per-image losses are skewed (most near 0, a few large),
      so their coefficient of variation ``cv`` is at least about 1.

    Returns
    -------
    tuple of str
        ``diagnose_fit``'s reading first, then any neighbouring reading also accepted.

    Examples
    --------
    The skeleton's CNN run: train accuracy 0.956, validation 0.870 (gap 0.086, just over
    0.08), validation loss 0.370 against its lowest 0.354.

    >>> run = {"train_accs": [0.956] * 3, "val_accs": [0.870] * 3,
    ...        "train_losses": [0.12] * 3, "val_losses": [0.354, 0.370, 0.370]}
    >>> accepted_judgements(run, window=1)
    ('overfitting', 'generalizing')
    >>> accepted_judgements(dict(run, val_accs=[0.80] * 3), window=1)  # a gap of 0.156
    ('overfitting',)
    """
    m = fit_numbers(train_val_metrics, n_train, n_val, window)
    readings = [diagnose_fit(train_val_metrics, min_train_acc, max_gap, max_val_loss_rise, window)]
    for a in (min_train_acc - m["se_train_acc"], min_train_acc + m["se_train_acc"]):
        for g in (max_gap - m["se_gap"], max_gap + m["se_gap"]):
            for r in (max_val_loss_rise - m["se_rise"], max_val_loss_rise + m["se_rise"]):
                reading = diagnose_fit(train_val_metrics, a, g, r, window)
                if reading not in readings:
                    readings.append(reading)
    return tuple(readings)


def fit_numbers(train_val_metrics, n_train=SPLIT_SIZES["train"], n_val=SPLIT_SIZES["val"],
                window=FIT_RULE["window"]) -> dict:
    """The numbers :func:`diagnose_fit` and :func:`accepted_judgements` read, and their noise.

    Returns the smoothed end points (``train_acc``, ``val_acc``, ``val_loss``), the smoothed
    curve's lowest validation loss (``best_val_loss``), the ``gap`` (train minus validation
    accuracy) and the validation loss's relative ``rise`` above its lowest; with the standard
    errors of the train accuracy, of the gap and of the rise (``se_train_acc``, ``se_gap``,
    ``se_rise``; see :func:`accepted_judgements`).

    Examples
    --------
    >>> m = fit_numbers({"train_accs": [0.9] * 3, "val_accs": [0.85] * 3,
    ...                  "train_losses": [0.3] * 3, "val_losses": [0.4, 0.44, 0.44]}, window=1)
    >>> round(m["gap"], 3), round(m["rise"], 3), round(m["se_gap"], 3)
    (0.05, 0.1, 0.026)
    """
    m = _smoothed_ends(train_val_metrics, window)

    def se(p, n):
        p = min(max(p, 0.0), 1.0)
        return float(np.sqrt(p * (1 - p) / n))

    se_train = se(m["train_acc"], n_train)
    return dict(m, gap=m["train_acc"] - m["val_acc"], rise=m["val_loss"] / m["best_val_loss"] - 1,
                se_train_acc=se_train, se_gap=float(np.hypot(se_train, se(m["val_acc"], n_val))),
                se_rise=float(1 / np.sqrt(n_val)))
# <<< REFERENCE ONLY <<<
