"""The reference's PyTorchANN: the solution's network and training loop, plus what the course's file
leaves out: ``model.eval()`` that works, labels in either form, checked inputs, reshuffled
batches and ``--full``.

``python -m reference pytorch_ann [--full] [--device cpu ...]`` (``--help`` lists the options).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import math
import time

import torch
from torch import nn

import pytorch_ann
from course.facts import HANDOUT_RUNS, METRIC_KEYS, PROGRESS_EVERY

from . import common

# --full: a wider layer, reshuffled batches and a cosine-annealed rate for 55,000 images.
FULL = dict(epochs=30, batch_size=64, lr=0.1, hidden_size=512, shuffle=True)
FULL_TARGET = 0.885  # on all 10,000 test images


class PyTorchANN(pytorch_ann.PyTorchANN):
    """The solution's ``PyTorchANN`` (same weights, same steps), with two things it lacks.

    - ``train`` called with a bool, with ``mode=`` or with nothing still does ``nn.Module``'s
      job (and returns the module), so ``model.train()``, ``model.train(False)`` and
      ``model.eval()`` switch the modes of this module and of ``self.model``. (The solution's
      ``train`` shadows ``nn.Module.train``, as the skeleton's does.)
    - Labels may be one-hot float rows or integer classes; inputs of the wrong shape raise
      ``ValueError`` saying what was expected.
    """

    def train(self, X_train=True, y_train=None, X_val=None, y_val=None, epochs=None, batch_size=None,
              learning_rate=None, *, mode=None):
        if mode is not None or (isinstance(X_train, bool) and y_train is None):
            return nn.Module.train(self, X_train if mode is None else mode)
        y_train, y_val = self._check_training_data(X_train, y_train, X_val, y_val, epochs, batch_size,
                                                   learning_rate)
        return super().train(X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate)

    def accuracy(self, X, y):
        return super().accuracy(X, common.one_hot(y, self.output_size, "y"))

    def _check_training_data(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
        """Refuse missing arguments and inputs of the wrong shape, saying what was expected;
        return the labels as one-hot float rows on their inputs' device."""
        if any(v is None for v in (y_train, X_val, y_val, epochs, batch_size, learning_rate)):
            raise TypeError("train() needs X_train, y_train, X_val, y_val, epochs, batch_size and "
                            "learning_rate (or a single bool, to set the module's mode as "
                            "nn.Module.train(mode) does)")
        labels = []
        for name, X, y in (("train", X_train, y_train), ("val", X_val, y_val)):
            if not torch.is_tensor(X) or X.ndim != 2 or X.shape[1] != self.input_size:
                raise ValueError(f"X_{name} must be a tensor of shape (N, {self.input_size}); got "
                                 f"{tuple(X.shape) if torch.is_tensor(X) else type(X).__name__}")
            labels.append(common.one_hot(y, self.output_size, f"y_{name}").to(X.device))
            if len(X) != len(labels[-1]):
                raise ValueError(f"X_{name} has {len(X)} rows but y_{name} has {len(y)} labels")
        if int(epochs) < 1 or int(batch_size) < 1:
            raise ValueError(f"epochs and batch_size must be >= 1; got {epochs} and {batch_size}")
        return labels


# ---------------------------------------------------------------------- the runs
def settings(full=False):
    """What :func:`run` trains with: the handout's run (Part 2.6, in-order batches) or ``FULL``."""
    if full:
        return dict(FULL)
    init, train = HANDOUT_RUNS["pytorch_ann"]
    return dict(epochs=train["epochs"], batch_size=train["batch_size"], lr=train["learning_rate"],
                hidden_size=init["hidden_size"], shuffle=False)


def run(seed=42, full=False, epochs=None, batch_size=None, lr=None, hidden_size=None, shuffle=None, device=None,
        data_dir=None, verbose=True):
    """Train under the handout protocol (or ``full=True``: 55,000/5,000/10,000).

    ``None`` settings take the protocol's values (:func:`settings`). Returns a dict: ``model``,
    ``test_acc`` (the protocol's test set), ``all_acc`` (all 10,000 test images),
    ``train_seconds``, ``hyperparameters`` and ``handout_settings``.
    """
    hp = settings(full)
    hp.update({k: v for k, v in dict(epochs=epochs, batch_size=batch_size, lr=lr, hidden_size=hidden_size,
                                     shuffle=shuffle).items() if v is not None})
    device = common.get_device(device)
    threads = torch.get_num_threads()
    if device.type == "cpu":
        # A 64 x 784 @ 784 x 32 product is too small to split across threads: the hand-offs cost
        # more than they save (measured: 10x slower with 2 threads on a busy 2-core machine), so
        # the CPU run uses one (restored afterwards).
        torch.set_num_threads(1)
    try:
        data = common.load_handout_data("flat", return_tensor=True, device=device, data_dir=data_dir, full=full)
        model = PyTorchANN(input_size=784, output_size=10, hidden_size=hp["hidden_size"], random_seed=seed).to(device)
        start = time.perf_counter()
        if full or hp["shuffle"]:
            train_by_epoch(model, data, hp, seed, cosine=full, verbose=verbose)
        else:
            with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
                model.train(*data[:4], epochs=hp["epochs"], batch_size=hp["batch_size"], learning_rate=hp["lr"])
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    test_acc = model.accuracy(data.X_test, data.y_test)
    all_acc = test_acc if full else model.accuracy(*common.load_test_set(
        "flat", return_tensor=True, device=device, data_dir=data_dir))
    return {"model": model, "test_acc": test_acc, "all_acc": all_acc, "train_seconds": seconds,
            "hyperparameters": hp, "handout_settings": not full and hp == settings() and seed == 42}


def train_by_epoch(model, data, hp, seed, cosine, verbose):
    """One ``train`` call per epoch, on a fresh shuffle of the training set (a generator seeded
    with ``seed``: the same order on any device), the learning rate cosine-annealed towards 0
    when ``cosine``; with ``cosine`` (``--full``) progress lines with the time left.

    Plain SGD keeps no state between steps, so this is one long run with a new order and
    rate each epoch."""
    order_rng = torch.Generator().manual_seed(seed)
    history = {k: [] for k in METRIC_KEYS}
    progress = common.EpochProgress(hp["epochs"]) if verbose and cosine else None
    for epoch in range(1, hp["epochs"] + 1):
        order = torch.randperm(len(data.X_train), generator=order_rng).to(data.X_train.device)
        lr = hp["lr"] * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / hp["epochs"])) if cosine else hp["lr"]
        with contextlib.redirect_stdout(io.StringIO()):
            model.train(data.X_train[order], data.y_train[order], data.X_val, data.y_val, epochs=1,
                        batch_size=hp["batch_size"], learning_rate=lr)
        for k in history:
            history[k] += model.train_val_metrics[k]
        model.train_val_metrics = history
        if progress:
            progress(epoch, model)
        elif verbose and epoch % PROGRESS_EVERY["pytorch_ann"] == 0:
            print(common.progress_line(epoch, hp["epochs"], *(history[k][-1] for k in METRIC_KEYS)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference pytorch_ann",
                                     description="Train the PyTorch MLP (Part 2) on the handout's split, or on all "
                                                 "the data with --full.")
    parser.add_argument("--epochs", type=int, help="training epochs (handout: 100; --full: 30)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (handout: 64)")
    parser.add_argument("--lr", type=float, help="SGD learning rate (handout: 0.2; --full: 0.1, cosine-annealed)")
    parser.add_argument("--hidden-size", type=int, help="hidden units (handout: 32; --full: 512)")
    parser.add_argument("--seed", type=int, default=42, help="random_seed (handout: 42)")
    parser.add_argument("--data-dir", default=None, help="directory with the Fashion-MNIST files")
    parser.add_argument("--device", default=None, choices=("cpu", "cuda", "mps"),
                        help="default: CUDA, then Apple MPS, then CPU")
    parser.add_argument("--shuffle", action="store_true", default=None,
                        help="reshuffle the mini-batches every epoch (default: the given order, as in the "
                             "handout; always on with --full)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    parser.add_argument("--full", action="store_true", help="train on all 60,000 training images (5,000 held "
                                                            "out for validation) and test on all 10,000")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    doctests = common.run_doctests(pytorch_ann)
    device = common.device_or_usage(parser, args.device)
    print(common.describe_device(device))
    result = run(seed=args.seed, full=args.full, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 hidden_size=args.hidden_size, shuffle=args.shuffle, device=device, data_dir=args.data_dir,
                 verbose=not args.quiet)
    return common.finish("pytorch_ann", result, FULL_TARGET, args.full, start, doctests)
