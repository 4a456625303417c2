# >>> REFERENCE ONLY: docstring >>>
"""Part 3: a four-block convolutional network for Fashion-MNIST in PyTorch.

``python pytorch_cnn.py`` runs this module's doctests, then the handout protocol
(2,000 training / 200 validation / 200 test images of shape (1, 28, 28), see
``utils.load_handout_data``) with ``PyTorchCNN()``. The architecture is the
handout's; the training recipe is the reference's own (``PyTorchCNN.fit``):
Adam in mini-batches of 64 with a one-cycle learning-rate schedule peaking at
0.003 for 24 epochs, label smoothing 0.1, inputs standardised with the training
set's mean and standard deviation (``--augment`` adds random flips, or flips and
shifts). It prints the device, the progress, the accuracy on the 200 handout test
images (threshold 0.85) and on all 10,000 test images, saves the curves
(``pytorch_cnn_train_val_metrics.png`` in the working directory) and prints the
judgement. The exit status is non-zero when a doctest fails or the accuracy is under
the threshold.

This file is the course's skeleton filled in: the two ``# >>> YOUR CODE HERE >>>`` regions
are what students write, and everything else outside ``REFERENCE ONLY`` marks is the
skeleton's provided code, ``train`` (one full-batch Adam step per epoch) included.
``REFERENCE ONLY`` parts are this reference's own: its recipe (``fit``), input validation,
augmentation, ``--full`` and the command line.
"""
# <<< REFERENCE ONLY <<<
from __future__ import annotations

# >>> REFERENCE ONLY >>>
import argparse
import sys
import time
# <<< REFERENCE ONLY <<<
import random

import matplotlib.pyplot as plt
import numpy as np
import torch
# >>> REFERENCE ONLY >>>
import torch.nn.functional as F
# <<< REFERENCE ONLY <<<
from torch import nn

import utils  # reference only

# >>> REFERENCE ONLY >>>
def _check_images(X, name):
    if not torch.is_tensor(X) or X.ndim != 4 or tuple(X.shape[1:]) != (1, 28, 28):
        got = tuple(X.shape) if torch.is_tensor(X) else type(X).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, 1, 28, 28); got {got}")


def random_flip_shift(X, generator, max_shift=2):
    """Augment a batch: flip each image left-right with probability 1/2 and shift it
    by up to ``max_shift`` pixels in each direction (zeros fill in).

    Pure tensor ops on X's device; the random draws come from ``generator`` (CPU),
    so a seeded run is repeatable on any device. Left-right flips keep every
    Fashion-MNIST class what it is (a shoe pointing the other way is still a shoe).

    X : (N, C, H, W) -> (N, C, H, W)
    """
    n, _, h, w = X.shape
    flip = (torch.rand(n, generator=generator) < 0.5).to(X.device)
    X = torch.where(flip[:, None, None, None], X.flip(3), X)
    # Pad by max_shift, then crop an H x W window at a random offset per image.
    padded = F.pad(X, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator).to(X.device)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator).to(X.device)
    rows = (dy[:, None] + torch.arange(h, device=X.device))[:, None, :, None]  # (N, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w, device=X.device))[:, None, None, :]  # (N, 1, 1, W)
    batch = torch.arange(n, device=X.device)[:, None, None, None]
    chan = torch.arange(X.shape[1], device=X.device)[None, :, None, None]
    return padded[batch, chan, rows, cols]
# <<< REFERENCE ONLY <<<


class PyTorchCNN(nn.Module):
    """Four blocks of Conv(3x3) -> ReLU -> MaxPool(2) -> BatchNorm -> Dropout(0.3),
    channels 1 -> 32 -> 64 -> 128 -> 256, spatial 28 -> 14 -> 7 -> 3 -> 1, then
    Flatten -> Linear(256, 128) -> ReLU -> Linear(128, num_classes).

    Input (N, 1, 28, 28), output logits (N, num_classes).

    Parameters
    ----------
    num_classes : int, default 10
    random_seed : int, default 42
        Seeds torch, numpy and random before the weights are drawn.

    Reference extensions
    --------------------
    :meth:`fit` is the reference's own training recipe (mini-batches, a one-cycle schedule,
    label smoothing, standardised inputs kept in the buffers ``input_mean``/``input_std``);
    ``train`` is the skeleton's. ``random_seed`` also seeds the recipe's batch order and
    augmentation.

    Examples
    --------
    >>> model = PyTorchCNN()
    >>> len(model.model), sum(p.numel() for p in model.parameters())
    (24, 422986)
    >>> model.predict(torch.randn(10, 1, 28, 28))
    tensor([5, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    """

    def __init__(self, num_classes=10, random_seed=42):
        """Seed torch, numpy and random; build ``self.model``, an ``nn.Sequential`` of exactly
        these 24 modules:

        - four blocks of ``Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1)``,
          ``ReLU()``, ``MaxPool2d(kernel_size=2)``, ``BatchNorm2d(c_out)``,
          ``Dropout(p=0.3)``, with channels 1 -> 32, 32 -> 64, 64 -> 128, 128 -> 256;
        - then ``Flatten()``, ``Linear(256, 128)``, ``ReLU()``, ``Linear(128, num_classes)``.

        That is 422,986 parameters for 10 classes.
        """
        super().__init__()
        torch.manual_seed(random_seed)
        np.random.seed(random_seed)
        random.seed(random_seed)
        self.num_classes = num_classes

        # The network, self.model
        # >>> YOUR CODE HERE >>>
        layers = []
        for c_in, c_out in ((1, 32), (32, 64), (64, 128), (128, 256)):
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=2), nn.BatchNorm2d(c_out), nn.Dropout(p=0.3)]
        layers += [nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes)]
        self.model = nn.Sequential(*layers)
        # <<< END OF YOUR CODE <<<
        # >>> REFERENCE ONLY >>>
        self.seed = random_seed
        self.train_val_metrics = None
        # Input standardisation, set by fit() from the training images. Buffers, so they follow
        # .to(device) and state_dict; the identity (0, 1) unless fit() set them.
        self.register_buffer("input_mean", torch.zeros(()))
        self.register_buffer("input_std", torch.ones(()))
        # <<< REFERENCE ONLY <<<

    def forward(self, X):
        """Logits: (N, 1, 28, 28) -> (N, num_classes)."""
        X = (X - self.input_mean) / self.input_std  # reference only
        return self.model(X)

    def train(self, X_train=True, y_train=None, X_val=None, y_val=None, epochs=10, learning_rate=0.001, *,
              mode=None):
        """Train with Adam and cross-entropy, one full-batch step per epoch; record the metrics.

        Labels are one-hot floats. The train loss and accuracy are those of the epoch's step
        (training mode: dropout on, batch statistics); then, in eval mode, the validation loss
        and accuracy. The progress line is printed every epoch. ``self.train_val_metrics``
        holds ``{"train_losses", "train_accs", "val_losses", "val_accs"}``, one float per epoch.

        Early on the validation curves can lag far behind the training ones (near chance for
        the first 20 or so epochs): in eval mode BatchNorm normalises with running statistics,
        which move only a tenth of the way towards the batch's at each step, and this takes
        one step per epoch. It is not a bug; they catch up.

        Reference extensions
        --------------------
        This name overrides ``nn.Module.train(mode)``. Called with a bool, ``mode=`` or
        nothing, it still does that job (and returns the module), so ``model.train()``,
        ``model.train(False)`` and ``model.eval()`` switch the mode of this module and of
        ``self.model``. Labels may also be integer classes; inputs of the wrong shape raise
        ``ValueError``. The reference's own recipe is :meth:`fit`.
        """
        # >>> REFERENCE ONLY >>>
        if mode is not None or (isinstance(X_train, bool) and y_train is None):
            return super().train(X_train if mode is None else mode)  # nn.Module.train(mode)
        y_train, y_val = self._check_training_data(X_train, y_train, X_val, y_val, epochs)
        # <<< REFERENCE ONLY <<<
        loss_function = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)

        train_losses, train_accs = [], []
        val_losses, val_accs = [], []
        for epoch in range(epochs):
            self.model.train()
            optimizer.zero_grad()
            output = self.forward(X_train)
            loss = loss_function(output, y_train)
            loss.backward()
            optimizer.step()
            train_losses.append(loss.item())
            train_accs.append((output.argmax(dim=1) == y_train.argmax(dim=1)).float().mean().item())

            self.model.eval()
            with torch.no_grad():
                val_output = self.forward(X_val)
                val_losses.append(loss_function(val_output, y_val).item())
                val_accs.append((val_output.argmax(dim=1) == y_val.argmax(dim=1)).float().mean().item())

            print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_losses[-1]:.5f} | "
                  f"Train Accuracy: {train_accs[-1]:.5f} | Val Loss: {val_losses[-1]:.5f} | "
                  f"Val Accuracy: {val_accs[-1]:.5f}")

        self.train_val_metrics = {"train_losses": train_losses, "train_accs": train_accs,
                                  "val_losses": val_losses, "val_accs": val_accs}

    def predict(self, X, batch_size=250):
        """Predicted class labels, shape (N,), in eval mode without gradients.

        Reference extensions
        --------------------
        Works through ``X`` in chunks of ``batch_size`` images so that all 10,000 test
        images fit in memory (the first block's output alone is 100 MB per 1,000); chunks of
        250 measured 1.7x faster than of 1,000 on a 2-core CPU (smaller temporaries).
        """
        # >>> REFERENCE ONLY >>>
        _check_images(X, "X")
        if len(X) > batch_size:
            return torch.cat([self.predict(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
        # <<< REFERENCE ONLY <<<
        self.model.eval()
        with torch.no_grad():
            return self.forward(X).argmax(dim=1)

    def accuracy(self, X, y):
        """Fraction of correct predictions (python float); ``y`` holds one-hot rows.

        Examples
        --------
        >>> model = PyTorchCNN()
        >>> X = torch.randn(10, 1, 28, 28)
        >>> model.accuracy(X, torch.eye(10)[[5, 5, 5, 5, 5, 0, 0, 0, 0, 0]])
        0.5
        """
        y = utils.one_hot(y, self.num_classes, "y")  # reference only
        correct = (self.predict(X) == y.argmax(dim=1)).sum().item()
        return correct / len(y)

    def plot_train_val_metrics(self):
        """Draw the curves of the last ``train`` call: losses left, accuracies right, train and
        validation in each. Saves ``pytorch_cnn_train_val_metrics.png``; returns ``(fig, ax)``."""
        metrics = self.train_val_metrics
        epochs = range(1, len(metrics["train_losses"]) + 1)
        fig, ax = plt.subplots(1, 2, figsize=(12, 6))
        ax[0].plot(epochs, metrics["train_losses"], label="Train loss")
        ax[0].plot(epochs, metrics["val_losses"], label="Val loss")
        ax[0].set_xlabel("Epoch")
        ax[0].set_ylabel("Loss")
        ax[0].legend()
        ax[1].plot(epochs, metrics["train_accs"], label="Train accuracy")
        ax[1].plot(epochs, metrics["val_accs"], label="Val accuracy")
        ax[1].set_xlabel("Epoch")
        ax[1].set_ylabel("Accuracy")
        ax[1].legend()
        fig.suptitle("Train/Val Metrics")
        fig.tight_layout()
        plt.savefig("pytorch_cnn_train_val_metrics.png")
        return fig, ax

    def report_my_judgement(self):
        """Your reading of the curves of ``python pytorch_cnn.py``'s run: exactly one of
        ``"underfitting"``, ``"overfitting"`` or ``"generalizing"``. Write nothing else here."""
        # Your judgement, as my_judgement
        # >>> YOUR CODE HERE >>>
        # Measured like with like (eval mode, plain cross-entropy), the training accuracy climbs to
        # 0.988 while validation levels off near 0.885 from about epoch 10: a gap of 0.102, four
        # times the noise of 200 validation images (0.023). Dropout, label smoothing and the
        # decaying rate keep the validation loss flat near its floor (lowest 0.303 at epoch 13,
        # ending 3.4% above it, smoothed), so "generalizing" lies within one standard error too;
        # but the network knows its training images far better than new ones. utils.diagnose_fit
        # reads the run the same way (docs/analysis.md). The skeleton's full-batch run ends at the
        # same edge: a gap of 0.098, its validation loss 9.9% over its lowest.
        my_judgement = "overfitting"
        # <<< END OF YOUR CODE <<<
        assert my_judgement in ("underfitting", "overfitting", "generalizing"), \
            f"my_judgement must be one of 'underfitting', 'overfitting' or 'generalizing'; got {my_judgement!r}"
        return my_judgement

    # >>> REFERENCE ONLY >>>
    # ------------------------------------------------------------------ the reference's recipe
    def fit(self, X_train, y_train, X_val, y_val, epochs=24, learning_rate=0.003, batch_size=64, *,
            augment=False, max_shift=2, lr_schedule="onecycle", normalize=True, label_smoothing=0.0,
            train_eval_size=None, callback=None, verbose=True, print_every=1):
        """The reference's training recipe: Adam in shuffled mini-batches; records per-epoch metrics.

        Parameters
        ----------
        X_train : tensor, shape (N, 1, 28, 28), values in [0, 1]
        y_train : tensor, one-hot floats (N, num_classes) or integer classes (N,)
        X_val, y_val : tensors, the same forms, for the per-epoch validation metrics
        epochs : int, default 24
        learning_rate : float, default 0.003
            Adam's learning rate; with ``lr_schedule="onecycle"`` the peak of the cycle.
        batch_size : int or None, default 64
            None steps on the whole training set at once, as the skeleton's ``train`` does.
        augment : bool, default False
            Random left-right flips and shifts of up to ``max_shift`` pixels
            (``random_flip_shift``); 0 gives flips alone. The handout run trains without:
            within its CPU budget it did not pay (BENCHMARKS.md, "The CNN's recipe").
        lr_schedule : {"onecycle", None}, default "onecycle"
            ``torch.optim.lr_scheduler.OneCycleLR`` stepped every batch (warm-up to
            ``learning_rate``, then cosine decay to near zero), or a constant rate.
        normalize : bool, default True
            Standardise inputs with the training images' mean and std (kept in the
            buffers ``input_mean``/``input_std``, so prediction uses the same).
        label_smoothing : float, default 0.0
            Passed to the loss it optimises (``nn.CrossEntropyLoss(label_smoothing=...)``).
            The script uses 0.1, which steadies the result across seeds (BENCHMARKS.md).
        train_eval_size : int or None, default None
            The train curve's images: all of ``X_train`` (None), or a fixed subset of this
            many (``--full`` uses 5,000 of the 55,000, which measures the same curve for a
            tenth of an extra pass).
        callback : callable, optional
            Called as ``callback(epoch, model)`` after each epoch's metrics are recorded.
        verbose : bool, default True
            Print the metrics every ``print_every`` epochs.

        Notes
        -----
        Train and validation are measured alike, so their curves compare: after each epoch,
        one pass in eval mode (dropout off, BatchNorm's running statistics) with the plain
        cross-entropy, over the whole validation set and the training images (or their
        subset). The loss the optimiser sees (dropout on, smoothed, augmented) is not what
        is plotted. All random draws (batch order, augmentation, the subset) come from a
        generator seeded with ``random_seed``; dropout uses torch's global generator, seeded
        in ``__init__``. Sets ``self.train_val_metrics``, one float per epoch.
        """
        y_train, y_val = (utils.class_indices(y, self.num_classes, name).to(X.device)
                          for y, X, name in ((y_train, X_train, "y_train"), (y_val, X_val, "y_val")))
        for name, X, y in (("X_train", X_train, y_train), ("X_val", X_val, y_val)):
            _check_images(X, name)
            if len(X) != len(y):
                raise ValueError(f"{name} has {len(X)} images but there are {len(y)} labels")
        if lr_schedule not in ("onecycle", None):
            raise ValueError(f"lr_schedule must be 'onecycle' or None, got {lr_schedule!r}")
        n, device = len(X_train), X_train.device
        batch_size = n if batch_size is None else int(batch_size)
        if int(epochs) < 1 or batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1; got {epochs} and {batch_size}")

        if normalize:
            self.input_mean.fill_(X_train.mean().item())
            self.input_std.fill_(X_train.std().item())
        if device.type in ("cpu", "cuda"):
            # channels_last: on a 2-core CPU oneDNN trains this network 16% faster in that layout
            # and evaluates it 2.3x faster (measured), which pays for the eval-mode train curve.
            self.to(memory_format=torch.channels_last)
            X_train, X_val = (X.contiguous(memory_format=torch.channels_last) for X in (X_train, X_val))
        loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        steps_per_epoch = -(-n // batch_size)
        scheduler = (torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=learning_rate, total_steps=epochs * steps_per_epoch)
            if lr_schedule == "onecycle" else None)
        rng = torch.Generator().manual_seed(self.seed)  # CPU: same draws on any device
        measured = (slice(None) if train_eval_size is None or train_eval_size >= n
                    else torch.randperm(n, generator=rng)[:train_eval_size].to(device))
        X_measured, y_measured = X_train[measured], y_train[measured]
        self.train_val_metrics = m = {key: [] for key in utils.METRIC_KEYS}
        for epoch in range(1, epochs + 1):
            self.model.train()
            order = torch.randperm(n, generator=rng).to(device)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                X, y = X_train[idx], y_train[idx]
                if augment:
                    X = random_flip_shift(X, rng, max_shift)
                optimizer.zero_grad()
                loss_fn(self(X), y).backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
            for which, X, y in (("train", X_measured, y_measured), ("val", X_val, y_val)):
                loss, acc = self._evaluate(X, y)
                m[f"{which}_losses"].append(loss)
                m[f"{which}_accs"].append(acc)
            if verbose and epoch % print_every == 0:
                print(utils.progress_line(epoch, epochs, *(m[key][-1] for key in utils.METRIC_KEYS)))
            if callback is not None:
                callback(epoch, self)
        return self

    def _evaluate(self, X, y, batch_size=250):
        """(mean plain cross-entropy, accuracy) of one eval-mode pass; ``y`` holds class indices."""
        self.model.eval()
        with torch.inference_mode():
            logits = torch.cat([self(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
            return (nn.functional.cross_entropy(logits, y).item(),
                    (logits.argmax(dim=1) == y).sum().item() / len(y))

    def _check_training_data(self, X_train, y_train, X_val, y_val, epochs):
        """Refuse missing arguments and inputs of the wrong shape, saying what was expected;
        return the labels as one-hot float rows on their images' device."""
        if any(v is None for v in (y_train, X_val, y_val)):
            raise TypeError("train() needs X_train, y_train, X_val and y_val (or a single bool, to set "
                            "the module's mode as nn.Module.train(mode) does)")
        labels = []
        for name, X, y in (("X_train", X_train, y_train), ("X_val", X_val, y_val)):
            _check_images(X, name)
            labels.append(utils.one_hot(y, self.num_classes, "y" + name[1:]).to(X.device))
            if len(X) != len(labels[-1]):
                raise ValueError(f"{name} has {len(X)} images but there are {len(labels[-1])} labels")
        if int(epochs) < 1:
            raise ValueError(f"epochs must be >= 1; got {epochs}")
        return labels
    # <<< REFERENCE ONLY <<<


# >>> REFERENCE ONLY: main >>>
AUGMENT = {"none": (False, 0), "flip": (True, 0), "flip-shift": (True, 2)}  # -> (augment, max_shift)
# The reference's recipe for the handout protocol: 24 epochs of mini-batch Adam fit a 60 s CPU
# budget; label smoothing steadies the result across seeds (BENCHMARKS.md, "The CNN's recipe").
RECIPE = dict(epochs=24, batch_size=64, lr=0.003, augment="none", label_smoothing=0.1)
# --full: larger batches (faster per image on a CPU), random flips and label smoothing, which
# pay once there are enough epochs; 18 epochs of 55,000 images take about 13.5 min on 2 cores.
# Measured on the 10,000 test images: 16 epochs without smoothing 0.9254, 18 with it 0.9287.
FULL = dict(epochs=18, batch_size=256, lr=0.004, augment="flip", label_smoothing=0.1)
FULL_TRAIN_EVAL = 5000  # --full's train curve: a fixed 5,000 of the 55,000 training images


def settings(full=False):
    """What :func:`run` trains with: the reference's ``RECIPE`` on the handout protocol, or ``FULL``."""
    return dict(FULL if full else RECIPE)


def run(seed=42, full=False, epochs=None, batch_size=None, lr=None, augment=None,
        label_smoothing=None, device=None, data_dir=None, verbose=True):
    """Train under the handout protocol (or ``full=True``: 55,000/5,000/10,000).

    ``None`` settings take the protocol's values (:func:`settings`). Returns a
    dict: ``model``, ``test_acc`` (the protocol's test set), ``all_acc`` (all 10,000
    test images), ``train_seconds`` and ``hyperparameters``.
    """
    hp = settings(full)
    hp.update({k: v for k, v in dict(epochs=epochs, batch_size=batch_size, lr=lr, augment=augment,
                                     label_smoothing=label_smoothing).items() if v is not None})
    device = utils.get_device(device)
    if device.type == "cuda":  # repeatable as far as cuDNN allows
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    data = utils.load_handout_data("image", return_tensor=True, device=device, data_dir=data_dir,
                                   full=full)
    model = PyTorchCNN(random_seed=seed).to(device)
    do_augment, max_shift = AUGMENT[hp["augment"]]
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train, data.X_val, data.y_val, epochs=hp["epochs"],
              learning_rate=hp["lr"], batch_size=hp["batch_size"], augment=do_augment,
              max_shift=max_shift, label_smoothing=hp["label_smoothing"],
              train_eval_size=FULL_TRAIN_EVAL if full else None,
              callback=utils.EpochProgress(hp["epochs"]) if full and verbose else None,
              verbose=verbose and not full)
    seconds = time.perf_counter() - start
    test_acc = model.accuracy(data.X_test, data.y_test)
    all_acc = test_acc if full else model.accuracy(*utils.load_test_set(
        "image", return_tensor=True, device=device, data_dir=data_dir))
    return {"model": model, "test_acc": test_acc, "all_acc": all_acc, "train_seconds": seconds,
            "hyperparameters": hp}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="training epochs (default 24; --full: 18)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (default 64; --full: 256)")
    parser.add_argument("--lr", type=float,
                        help="peak Adam learning rate of the one-cycle schedule (default 0.003; "
                             "--full: 0.004)")
    parser.add_argument("--seed", type=int, default=42, help="random_seed (handout: 42)")
    parser.add_argument("--data-dir", default=None, help="directory with the Fashion-MNIST files")
    parser.add_argument("--device", default=None, choices=("cpu", "cuda", "mps"),
                        help="default: CUDA, then Apple MPS, then CPU")
    parser.add_argument("--augment", choices=tuple(AUGMENT), default=None,
                        help="augmentation of the training images: none (default), random "
                             "left-right flips (--full's default), or flips and 2-pixel shifts")
    parser.add_argument("--label-smoothing", type=float, default=None,
                        help="label smoothing of the training loss (default 0.1, also with --full)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    parser.add_argument("--full", action="store_true",
                        help="train on all 60,000 training images (5,000 held out for "
                             "validation) and test on all 10,000")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    doctests = utils.run_doctests(sys.modules[__name__])
    print(utils.describe_device(utils.get_device(args.device)))
    result = run(seed=args.seed, full=args.full, epochs=args.epochs, batch_size=args.batch_size,
                 lr=args.lr, augment=args.augment, label_smoothing=args.label_smoothing,
                 device=args.device, data_dir=args.data_dir,
                 verbose=not args.quiet)
    passed = utils.report_run(
        result, threshold=utils.FULL_TARGETS["pytorch_cnn"] if args.full else utils.THRESHOLDS["pytorch_cnn"],
        full=args.full, plot_path=f"pytorch_cnn{'_full' if args.full else ''}_train_val_metrics.png", start=start)
    return 0 if passed and doctests.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
# <<< REFERENCE ONLY <<<
