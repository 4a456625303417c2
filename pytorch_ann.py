"""Part 2: a one-hidden-layer neural network for Fashion-MNIST, in PyTorch.

Fill in every region marked ``# >>> YOUR CODE HERE >>>``; each method's docstring says what
it must do, and its examples are doctests. ``python pytorch_ann.py`` runs the doctests and,
when they all pass, trains on the handout's split (on CUDA, Apple MPS or the CPU, whichever
is there), reports the test accuracy, saves the curves and prints your judgement.

Note: ``train`` replaces ``nn.Module.train(mode)``, so switch the network's mode with
``self.model.train()`` and ``self.model.eval()`` (the inner ``nn.Sequential``).
"""
import matplotlib.pyplot as plt
import torch
from torch import nn


class PyTorchANN(nn.Module):
    """Input -> Linear -> ReLU -> Linear -> class scores (logits).

    Parameters:
        input_size (int): features per sample (784).
        hidden_size (int): hidden units.
        output_size (int): classes.
        random_seed (int): seeds ``torch`` before the weights are drawn.
    """

    def __init__(self, input_size, hidden_size, output_size, random_seed=42):
        """Keep the sizes and the seed; seed torch; build ``self.model``, an ``nn.Sequential``
        of ``Linear(input_size, hidden_size)``, ``ReLU()``, ``Linear(hidden_size, output_size)``.

        Examples:
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

    def forward(self, X):
        """Logits: (N, input_size) -> (N, output_size), the output of ``self.model``; a single
        (input_size,) sample also works. ``model(X)`` calls this.

        Examples:
            >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
            >>> pytorch_ann(torch.rand(5))
            tensor([-0.0675,  0.0238, -0.0057]...)
        """
        # The network's output for X, as output
        # >>> YOUR CODE HERE >>>
        output = self.model(X)
        # <<< END OF YOUR CODE <<<
        return output

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
        """Train with mini-batch SGD and cross-entropy; record the metrics of every epoch.

        The loss is ``nn.CrossEntropyLoss`` and the optimiser ``torch.optim.SGD`` over
        ``self.model``'s parameters with ``lr=learning_rate``. Each epoch walks the training set
        in order, in mini-batches of ``batch_size`` (the last one may be shorter): zero_grad,
        forward, loss, backward, step. After the epoch, in eval mode: the loss and accuracy on
        the whole training and validation sets. Prints the progress every 5th epoch.

        This method replaces ``nn.Module.train(mode)``, which ``nn.Module.eval()`` calls: on this
        class ``model.eval()`` and ``model.train(False)`` raise a TypeError. Switch the inner
        network's mode instead, ``self.model.train()`` and ``self.model.eval()``, as below.

        Parameters:
            X_train (tensor, shape (N, input_size)): the training inputs.
            y_train (tensor, shape (N, output_size)): their one-hot float labels.
            X_val (tensor, shape (N_val, input_size)): the validation inputs.
            y_val (tensor, shape (N_val, output_size)): their one-hot float labels.
            epochs (int): passes over the training set.
            batch_size (int): rows per mini-batch.
            learning_rate (float): SGD's learning rate.

        Returns:
            None. ``self.train_val_metrics`` holds ``{"train_losses", "train_accs",
            "val_losses", "val_accs"}``, one float per epoch.
        """
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

        Examples:
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

        Examples:
            >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
            >>> X = torch.rand((5, 5))
            >>> pytorch_ann.accuracy(X, torch.eye(3)[[1, 2, 2, 0, 0]])
            0.6
        """
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
        # accuracy (eval mode, all 2,000 images) climbs on to 0.98 while validation stays near
        # 0.86-0.88: a gap of about 0.10, four times its noise. The validation loss reaches its
        # lowest, about 0.46, near epoch 27 and turns up, to end near 0.60: 32 hidden units
        # memorise the 2,000 training images (docs/analysis.md, Part 2).
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
        X_train, X_val, X_test = (X.reshape(len(X), -1).float().div(255).to(device) for X in (X_train, X_val, X_test))
        y_train, y_val, y_test = (one_hot(y, 10).float().to(device) for y in (y_train, y_val, y_test))

        model = PyTorchANN(input_size=784, output_size=10, hidden_size=32).to(device)
        model.train(X_train, y_train, X_val, y_val, epochs=100, batch_size=64, learning_rate=0.2)
        test_accuracy = model.accuracy(X_test, y_test)
        model.plot_train_val_metrics()
        assert_greater_equal(test_accuracy, 0.80, f"Test accuracy: {test_accuracy:.4f} (threshold 0.80)")
        print(f"My judgement: {model.report_my_judgement()}")
    else:
        print_red("Doctests failed!")
