# >>> REFERENCE ONLY: docstring >>>
"""Part 2: a one-hidden-layer MLP for Fashion-MNIST in PyTorch.

``python pytorch_ann.py`` runs this module's doctests, then the handout protocol
(2,000 training / 200 validation / 200 test images, see ``utils.load_handout_data``)
with ``PyTorchANN(input_size=784, output_size=10, hidden_size=32)`` trained for 100
epochs of SGD (batch 64, learning rate 0.2). It prints the device, the progress,
the accuracy on the 200 handout test images (threshold 0.80) and on all 10,000
test images, saves the curves next to this file and prints the judgement. The exit
status is non-zero when a doctest fails or the accuracy is under the threshold.

The ``# >>> YOUR CODE HERE >>>`` regions are what students write (``python -m release
build`` turns them into the handout); ``REFERENCE ONLY`` parts are this reference's own.
"""
# <<< REFERENCE ONLY <<<
from __future__ import annotations

# >>> REFERENCE ONLY >>>
import argparse
import contextlib
import io
import math
import sys
import time
# <<< REFERENCE ONLY <<<

import matplotlib.pyplot as plt
import torch
from torch import nn

import utils  # reference only


class PyTorchANN(nn.Module):
    """Input -> Linear -> ReLU -> Linear -> class scores (logits).

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Features per sample (784), hidden units, classes.
    random_seed : int, default 42
        Seeds ``torch`` before the weights are drawn.
    """

    def __init__(self, input_size, hidden_size, output_size, random_seed=42):
        """Keep the sizes and the seed; seed torch; build ``self.model``, an ``nn.Sequential``
        of ``Linear(input_size, hidden_size)``, ``ReLU()``, ``Linear(hidden_size, output_size)``.

        Examples
        --------
        >>> pytorch_ann = PyTorchANN(input_size=20, output_size=10, hidden_size=10)
        >>> pytorch_ann.input_size
        20
        >>> pytorch_ann.hidden_size
        10
        >>> pytorch_ann.output_size
        10
        >>> pytorch_ann.seed
        42
        >>> pytorch_ann.model
        Sequential(
          (0): Linear(in_features=20, out_features=10, bias=True)
          (1): ReLU()
          (2): Linear(in_features=10, out_features=10, bias=True)
        )
        """
        super().__init__()

        # The attributes input_size, hidden_size and output_size
        # >>> YOUR CODE HERE >>>
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        # <<< END OF YOUR CODE <<<

        # The seed, kept as self.seed
        # >>> YOUR CODE HERE >>>
        self.seed = random_seed
        # <<< END OF YOUR CODE <<<
        torch.manual_seed(random_seed)  # before the layers draw their weights

        # The network, self.model
        # >>> YOUR CODE HERE >>>
        self.model = nn.Sequential(
            nn.Linear(input_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, output_size),
        )
        # <<< END OF YOUR CODE <<<
        self.train_val_metrics = None  # reference only

    def forward(self, X):
        """Logits: (N, input_size) -> (N, output_size), the output of ``self.model``; a single
        (input_size,) sample also works. ``model(X)`` calls this.

        Examples
        --------
        >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
        >>> pytorch_ann(torch.rand(5))
        tensor([-0.0675,  0.0238, -0.0057]...)
        """
        # The network's output for X, as output
        # >>> YOUR CODE HERE >>>
        output = self.model(X)
        # <<< END OF YOUR CODE <<<
        return output

    def train(self, X_train=True, y_train=None, X_val=None, y_val=None, epochs=None, batch_size=None,
              learning_rate=None, *, mode=None):
        """Train with mini-batch SGD and cross-entropy; record the metrics of every epoch.

        The loss is ``nn.CrossEntropyLoss`` and the optimiser ``torch.optim.SGD`` over
        ``self.model``'s parameters with ``lr=learning_rate``. Each epoch walks the training set
        in order, in mini-batches of ``batch_size`` (the last one may be shorter): zero_grad,
        forward, loss, backward, step. After the epoch, in eval mode: the loss and accuracy on
        the whole training and validation sets. Prints the progress every 5th epoch.

        Parameters
        ----------
        X_train : tensor, shape (N, input_size)
        y_train : tensor, shape (N, output_size)
            One-hot float labels.
        X_val, y_val : tensors, the same forms, for the per-epoch validation metrics
        epochs : int
        batch_size : int
        learning_rate : float

        Returns
        -------
        None
            ``self.train_val_metrics`` holds ``{"train_losses", "train_accs", "val_losses",
            "val_accs"}``, one float per epoch.

        Reference extensions
        --------------------
        This name overrides ``nn.Module.train(mode)``. Called with a bool, ``mode=`` or
        nothing, it still does that job (and returns the module), so ``model.train()``,
        ``model.train(False)`` and ``model.eval()`` switch the modes of this module and
        of ``self.model``. Labels may also be integer classes of shape (N,); inputs of the
        wrong shape raise ``ValueError``. Everything stays on the device of the data.
        """
        # >>> REFERENCE ONLY >>>
        if mode is not None or (isinstance(X_train, bool) and y_train is None):
            return super().train(X_train if mode is None else mode)  # nn.Module.train(mode)
        y_train, y_val = self._check_training_data(X_train, y_train, X_val, y_val, epochs, batch_size,
                                                   learning_rate)
        # <<< REFERENCE ONLY <<<
        # The loss function (loss_function) and the optimiser (optimizer)
        # >>> YOUR CODE HERE >>>
        loss_function = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        # <<< END OF YOUR CODE <<<

        train_losses, train_accs = [], []
        val_losses, val_accs = [], []
        for epoch in range(epochs):
            for X_batch, y_batch in zip(X_train.split(batch_size), y_train.split(batch_size)):
                self.model.train()
                optimizer.zero_grad()

                # Forward pass of the batch, as output
                # >>> YOUR CODE HERE >>>
                output = self.forward(X_batch)
                # <<< END OF YOUR CODE <<<

                # The batch's loss, as loss (use loss_function)
                # >>> YOUR CODE HERE >>>
                loss = loss_function(output, y_batch)
                # <<< END OF YOUR CODE <<<

                # Backpropagation: the gradients of the loss
                # >>> YOUR CODE HERE >>>
                loss.backward()
                # <<< END OF YOUR CODE <<<

                # One step of the optimiser
                # >>> YOUR CODE HERE >>>
                optimizer.step()
                # <<< END OF YOUR CODE <<<

            # The epoch's metrics: whole sets, eval mode, no gradients
            self.model.eval()
            with torch.no_grad():
                train_losses.append(loss_function(self.forward(X_train), y_train).item())
                train_accs.append(self.accuracy(X_train, y_train))
                val_losses.append(loss_function(self.forward(X_val), y_val).item())
                val_accs.append(self.accuracy(X_val, y_val))

            if (epoch + 1) % 5 == 0:
                print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_losses[-1]:.5f} | "
                      f"Train Accuracy: {train_accs[-1]:.5f} | Val Loss: {val_losses[-1]:.5f} | "
                      f"Val Accuracy: {val_accs[-1]:.5f}")

        self.train_val_metrics = {"train_losses": train_losses, "train_accs": train_accs,
                                  "val_losses": val_losses, "val_accs": val_accs}

    def predict(self, X):
        """Predicted class labels, shape (N,): the argmax over dim 1 of the outputs, in eval
        mode without gradients.

        Examples
        --------
        >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
        >>> X = torch.rand((5, 5))
        >>> pytorch_ann.predict(X)
        tensor([1, 2, 2, 2, 2])
        """
        self.model.eval()
        with torch.no_grad():
            # The predicted label of each row of X, as labels
            # >>> YOUR CODE HERE >>>
            labels = self.forward(X).argmax(dim=1)
            # <<< END OF YOUR CODE <<<
        return labels

    def accuracy(self, X, y):
        """Fraction of correct predictions (python float); ``y`` holds one-hot rows.

        Examples
        --------
        >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
        >>> X = torch.rand((5, 5))
        >>> pytorch_ann.accuracy(X, torch.eye(3)[[1, 2, 2, 0, 0]])
        0.6
        """
        y = utils.one_hot(y, self.output_size, "y")  # reference only
        correct = (self.predict(X) == y.argmax(dim=1)).sum().item()
        return correct / len(y)

    def plot_train_val_metrics(self):
        """Draw the curves of the last ``train`` call, one point per epoch: the train and
        validation losses on the left axes, the train and validation accuracies on the right
        ones. Saves ``pytorch_ann_train_val_metrics.png``; returns ``(fig, ax)``."""
        fig, ax = plt.subplots(1, 2, figsize=(12, 6))

        # The train and validation losses on ax[0], one point per epoch, each with a label for the legend
        # >>> YOUR CODE HERE >>>
        metrics = self.train_val_metrics
        epochs = range(1, len(metrics["train_losses"]) + 1)
        ax[0].plot(epochs, metrics["train_losses"], label="Train loss")
        ax[0].plot(epochs, metrics["val_losses"], label="Val loss")
        # <<< END OF YOUR CODE <<<
        ax[0].set_xlabel("Epoch")
        ax[0].set_ylabel("Loss")
        ax[0].legend()

        # The train and validation accuracies on ax[1], each with a label for the legend
        # >>> YOUR CODE HERE >>>
        ax[1].plot(epochs, metrics["train_accs"], label="Train accuracy")
        ax[1].plot(epochs, metrics["val_accs"], label="Val accuracy")
        # <<< END OF YOUR CODE <<<
        ax[1].set_xlabel("Epoch")
        ax[1].set_ylabel("Accuracy")
        ax[1].legend()

        fig.suptitle("Train/Val Metrics")
        fig.tight_layout()
        plt.savefig("pytorch_ann_train_val_metrics.png")
        return fig, ax

    def report_my_judgement(self):
        """Your reading of the curves of ``python pytorch_ann.py``'s run: exactly one of
        ``"underfitting"``, ``"overfitting"`` or ``"generalizing"``. Write nothing else here."""
        # Your judgement, as my_judgement
        # >>> YOUR CODE HERE >>>
        # Train and validation accuracy rise together for about 25 epochs. Then the training
        # accuracy (eval mode, all 2,000 images) climbs on to 0.99 while validation stays near
        # 0.87-0.88: a gap of 0.11, four times its noise. The validation loss reaches its lowest,
        # 0.458, at epoch 27 and turns up, to end at 0.587: 32 hidden units memorise the 2,000
        # training images. utils.diagnose_fit reads the run the same way (docs/analysis.md).
        my_judgement = "overfitting"
        # <<< END OF YOUR CODE <<<
        assert my_judgement in ("underfitting", "overfitting", "generalizing"), \
            f"my_judgement must be one of 'underfitting', 'overfitting' or 'generalizing'; got {my_judgement!r}"
        return my_judgement

    # >>> REFERENCE ONLY >>>
    def _check_training_data(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
        """Refuse missing arguments and inputs of the wrong shape, saying what was expected;
        return the labels as one-hot float rows."""
        if any(v is None for v in (y_train, X_val, y_val, epochs, batch_size, learning_rate)):
            raise TypeError("train() needs X_train, y_train, X_val, y_val, epochs, batch_size and "
                            "learning_rate (or a single bool, to set the module's mode as "
                            "nn.Module.train(mode) does)")
        labels = []
        for name, X, y in (("train", X_train, y_train), ("val", X_val, y_val)):
            if not torch.is_tensor(X) or X.ndim != 2 or X.shape[1] != self.input_size:
                raise ValueError(f"X_{name} must be a tensor of shape (N, {self.input_size}); got "
                                 f"{tuple(X.shape) if torch.is_tensor(X) else type(X).__name__}")
            labels.append(utils.one_hot(y, self.output_size, f"y_{name}").to(X.device))
            if len(X) != len(labels[-1]):
                raise ValueError(f"X_{name} has {len(X)} rows but y_{name} has {len(y)} labels")
        if int(epochs) < 1 or int(batch_size) < 1:
            raise ValueError(f"epochs and batch_size must be >= 1; got {epochs} and {batch_size}")
        return labels
    # <<< REFERENCE ONLY <<<


# >>> REFERENCE ONLY: main >>>
# --full: a wider layer, reshuffled batches and a cosine-annealed rate for 55,000 images.
FULL = dict(epochs=30, batch_size=64, lr=0.1, hidden_size=512, shuffle=True)


def settings(full=False):
    """What :func:`run` trains with: the handout's run (Part 2.6, from ``utils.HANDOUT_RUNS``,
    in-order batches) or ``FULL``."""
    if full:
        return dict(FULL)
    init, train = utils.HANDOUT_RUNS["pytorch_ann"]
    return dict(epochs=train["epochs"], batch_size=train["batch_size"], lr=train["learning_rate"],
                hidden_size=init["hidden_size"], shuffle=False)


def run(seed=42, full=False, epochs=None, batch_size=None, lr=None, hidden_size=None,
        shuffle=None, device=None, data_dir=None, verbose=True):
    """Train under the handout protocol (or ``full=True``: 55,000/5,000/10,000).

    ``None`` settings take the protocol's values (:func:`settings`).
    Returns a dict: ``model``, ``test_acc`` (the protocol's test set), ``all_acc`` (all
    10,000 test images), ``train_seconds`` and ``hyperparameters``.
    """
    hp = settings(full)
    hp.update({k: v for k, v in dict(epochs=epochs, batch_size=batch_size, lr=lr,
                                     hidden_size=hidden_size, shuffle=shuffle).items()
               if v is not None})
    device = utils.get_device(device)
    threads = torch.get_num_threads()
    if device.type == "cpu":
        # A 64 x 784 @ 784 x 32 product is too small to split across threads: the
        # hand-offs cost more than they save (measured here: 10x slower with 2 threads
        # on a busy 2-core machine), so the CPU run uses one (restored afterwards).
        torch.set_num_threads(1)
    data = utils.load_handout_data("flat", return_tensor=True, device=device, data_dir=data_dir,
                                   full=full)
    model = PyTorchANN(input_size=784, output_size=10, hidden_size=hp["hidden_size"],
                       random_seed=seed).to(device)
    start = time.perf_counter()
    if full or hp["shuffle"]:
        train_by_epoch(model, data, hp, seed, cosine=full, verbose=verbose)
    else:
        with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
            model.train(*data[:4], epochs=hp["epochs"], batch_size=hp["batch_size"], learning_rate=hp["lr"])
    seconds = time.perf_counter() - start
    torch.set_num_threads(threads)
    test_acc = model.accuracy(data.X_test, data.y_test)
    all_acc = test_acc if full else model.accuracy(*utils.load_test_set(
        "flat", return_tensor=True, device=device, data_dir=data_dir))
    return {"model": model, "test_acc": test_acc, "all_acc": all_acc, "train_seconds": seconds,
            "hyperparameters": hp}


def train_by_epoch(model, data, hp, seed, cosine, verbose):
    """One ``train`` call per epoch, on a fresh shuffle of the training set (a generator seeded
    with ``seed``: the same order on any device), the learning rate cosine-annealed towards 0
    when ``cosine``; with ``cosine`` (``--full``) progress lines with the time left.

    Plain SGD keeps no state between steps, so this is one long run with a new order and
    rate each epoch."""
    order_rng = torch.Generator().manual_seed(seed)
    history = {k: [] for k in utils.METRIC_KEYS}
    progress = utils.EpochProgress(hp["epochs"]) if verbose and cosine else None
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
        elif verbose and epoch % utils.PROGRESS_EVERY["pytorch_ann"] == 0:
            print(utils.progress_line(epoch, hp["epochs"], *(history[k][-1] for k in utils.METRIC_KEYS)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="training epochs (handout: 100; --full: 30)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (handout: 64)")
    parser.add_argument("--lr", type=float, help="SGD learning rate (handout: 0.2; --full: 0.1, cosine-annealed)")
    parser.add_argument("--hidden-size", type=int, help="hidden units (handout: 32; --full: 512)")
    parser.add_argument("--seed", type=int, default=42, help="random_seed (handout: 42)")
    parser.add_argument("--data-dir", default=None, help="directory with the Fashion-MNIST files")
    parser.add_argument("--device", default=None, choices=("cpu", "cuda", "mps"),
                        help="default: CUDA, then Apple MPS, then CPU")
    parser.add_argument("--shuffle", action="store_true", default=None,
                        help="reshuffle the mini-batches every epoch (default: the given "
                             "order, as in the handout; always on with --full)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    parser.add_argument("--full", action="store_true",
                        help="train on all 60,000 training images (5,000 held out for "
                             "validation) and test on all 10,000")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    doctests = utils.run_doctests(sys.modules[__name__])
    print(utils.describe_device(utils.get_device(args.device)))
    result = run(seed=args.seed, full=args.full, epochs=args.epochs, batch_size=args.batch_size,
                 lr=args.lr, hidden_size=args.hidden_size, shuffle=args.shuffle,
                 device=args.device, data_dir=args.data_dir, verbose=not args.quiet)
    passed = utils.report_run(
        result, threshold=utils.FULL_TARGETS["pytorch_ann"] if args.full else utils.THRESHOLDS["pytorch_ann"],
        full=args.full, plot_path=f"pytorch_ann{'_full' if args.full else ''}_train_val_metrics.png", start=start)
    return 0 if passed and doctests.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
# <<< REFERENCE ONLY <<<
