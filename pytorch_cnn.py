"""Part 3: a four-block convolutional network for Fashion-MNIST, in PyTorch.

Build the network in ``__init__`` and give your judgement of its curves: the two regions
marked ``# >>> YOUR CODE HERE >>>``. The rest (forward, training, prediction, plotting) is
provided. ``python pytorch_cnn.py`` runs the doctests and,
when they all pass, trains on the handout's split (on CUDA, Apple MPS or the CPU, whichever
is there): one full-batch Adam step per epoch, 60 epochs, about 3 minutes on a 2-core CPU.

Note: ``train`` replaces ``nn.Module.train(mode)``, so the provided code switches the network's
mode with ``self.model.train()`` and ``self.model.eval()`` (the inner ``nn.Sequential``).
"""
import random

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn


class PyTorchCNN(nn.Module):
    """Four blocks of Conv(3x3) -> ReLU -> MaxPool(2) -> BatchNorm -> Dropout(0.3),
    channels 1 -> 32 -> 64 -> 128 -> 256, spatial 28 -> 14 -> 7 -> 3 -> 1, then
    Flatten -> Linear(256, 128) -> ReLU -> Linear(128, num_classes).

    Input (N, 1, 28, 28), output logits (N, num_classes).

    Parameters:
        num_classes (int): the number of classes.
        random_seed (int): seeds torch, numpy and random before the weights are drawn.

    Examples:
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

    def forward(self, X):
        """Logits: (N, 1, 28, 28) -> (N, num_classes)."""
        return self.model(X)

    def train(self, X_train, y_train, X_val, y_val, epochs=10, learning_rate=0.001):
        """Train with Adam and cross-entropy, one full-batch step per epoch; record the metrics.

        Labels are one-hot floats. The train loss and accuracy are those of the epoch's step
        (training mode: dropout on, batch statistics); then, in eval mode, the validation loss
        and accuracy. The progress line is printed every epoch. ``self.train_val_metrics``
        holds ``{"train_losses", "train_accs", "val_losses", "val_accs"}``, one float per epoch.

        Early on the validation curves can lag far behind the training ones (near chance for
        the first 20 or so epochs): in eval mode BatchNorm normalises with running statistics,
        which move only a tenth of the way towards the batch's at each step, and this takes
        one step per epoch. It is not a bug; they catch up.
        """
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

    def predict(self, X):
        """Predicted class labels, shape (N,), in eval mode without gradients."""
        self.model.eval()
        with torch.no_grad():
            return self.forward(X).argmax(dim=1)

    def accuracy(self, X, y):
        """Fraction of correct predictions (python float); ``y`` holds one-hot rows.

        Examples:
            >>> model = PyTorchCNN()
            >>> X = torch.randn(10, 1, 28, 28)
            >>> model.accuracy(X, torch.eye(10)[[5, 5, 5, 5, 5, 0, 0, 0, 0, 0]])
            0.5
        """
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
        # The training curves are the full-batch step's, dropout on, so they read low; even so the
        # training accuracy ends near 0.96 while validation hovers at 0.86-0.87 over the last epochs
        # (a gap of 0.09-0.10, over the rule's 0.08 and about four times the noise of 200 validation
        # images, 0.025). The validation loss has stopped falling: its lowest, about 0.35, comes near
        # epoch 56, and it ends 7-10% above that. The network knows its 2,000 training images better
        # than new ones. A gap this close to the rule's edge also admits "generalizing" (docs/analysis.md).
        my_judgement = "overfitting"
        # <<< END OF YOUR CODE <<<
        assert my_judgement in ("underfitting", "overfitting", "generalizing"), \
            f"my_judgement must be one of 'underfitting', 'overfitting' or 'generalizing'; got {my_judgement!r}"
        return my_judgement


if __name__ == "__main__":
    import doctest
    import os

    from sklearn.model_selection import train_test_split
    from torch.nn.functional import one_hot

    from utils import assert_greater_equal, load_mnist_f, print_blue, print_green, print_red

    os.system("cls" if os.name == "nt" else "clear")
    if doctest.testmod(optionflags=doctest.ELLIPSIS).failed == 0:
        print_green("Doctests passed!")
        device = torch.device("cuda" if torch.cuda.is_available() else
                              "mps" if torch.backends.mps.is_available() else "cpu")
        print_blue(f"Using {device}")
        X_train, y_train, X_test, y_test = load_mnist_f(return_tensor=True)
        X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, train_size=2000, test_size=200,
                                                          random_state=42)
        X_test, _, y_test, _ = train_test_split(X_test, y_test, train_size=200, test_size=1, random_state=42)
        X_train, X_val, X_test = (X.reshape(len(X), 1, 28, 28).float().div(255).to(device)
                                  for X in (X_train, X_val, X_test))
        y_train, y_val, y_test = (one_hot(y, 10).float().to(device) for y in (y_train, y_val, y_test))

        model = PyTorchCNN().to(device)
        model.train(X_train, y_train, X_val, y_val, epochs=60, learning_rate=0.002)
        test_accuracy = model.accuracy(X_test, y_test)
        model.plot_train_val_metrics()
        assert_greater_equal(test_accuracy, 0.85, f"Test accuracy: {test_accuracy:.4f} (threshold 0.85)")
        print(f"My judgement: {model.report_my_judgement()}")
    else:
        print_red("Doctests failed!")
