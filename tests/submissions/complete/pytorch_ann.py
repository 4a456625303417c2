import torch
import torch.nn as nn
import torch.nn.functional as F
import matplotlib.pyplot as plt


class PyTorchANN(nn.Module):
    """A neural network with one hidden layer, written with PyTorch.

    Parameters
    ----------
    input_size : int
        Number of input features.
    hidden_size : int
        Number of neurons in the hidden layer.
    output_size : int
        Number of classes.
    random_seed : int, optional
        Seed for torch's random number generator, by default 42.

    Examples
    --------
    >>> PyTorchANN(input_size=5, output_size=3, hidden_size=10)
    PyTorchANN(
      (model): Sequential(
        (0): Linear(in_features=5, out_features=10, bias=True)
        (1): ReLU()
        (2): Linear(in_features=10, out_features=3, bias=True)
      )
    )
    """

    def __init__(self, input_size, hidden_size, output_size, random_seed=42):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.seed = random_seed
        torch.manual_seed(random_seed)

        # >>> YOUR CODE HERE >>>
        self.model = nn.Sequential(
            nn.Linear(input_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, output_size),
        )
        # <<< END OF YOUR CODE <<<

    def forward(self, X):
        """Forward pass.

        Parameters
        ----------
        X : torch.Tensor
            Input data of shape (n_samples, input_size) or (input_size,).

        Returns
        -------
        torch.Tensor
            The scores (logits) of the classes.

        Examples
        --------
        >>> model = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
        >>> model(torch.rand(5))
        tensor([-0.0675,  0.0238, -0.0057]...)
        """
        # >>> YOUR CODE HERE >>>
        return self.model(X)
        # <<< END OF YOUR CODE <<<

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
        """Train the network with mini-batch stochastic gradient descent.

        Parameters
        ----------
        X_train : torch.Tensor
            Training data of shape (n_samples, input_size).
        y_train : torch.Tensor
            One-hot training labels of shape (n_samples, output_size).
        X_val : torch.Tensor
            Validation data.
        y_val : torch.Tensor
            One-hot validation labels.
        epochs : int
            Number of epochs.
        batch_size : int
            Size of the mini-batches.
        learning_rate : float
            Learning rate of the optimizer.

        Returns
        -------
        None
        """
        train_losses, train_accs, val_losses, val_accs = [], [], [], []

        # >>> YOUR CODE HERE >>>
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        n_samples = X_train.shape[0]

        for epoch in range(epochs):
            self.model.train()
            epoch_loss = 0.0
            correct = 0
            for start in range(0, n_samples, batch_size):
                X_batch = X_train[start:start + batch_size]
                y_batch = y_train[start:start + batch_size]

                optimizer.zero_grad()
                outputs = self.model(X_batch)
                loss = loss_fn(outputs, y_batch.argmax(dim=1))
                loss.backward()
                optimizer.step()

                epoch_loss += loss.item() * X_batch.shape[0]
                correct += (outputs.argmax(dim=1) == y_batch.argmax(dim=1)).sum().item()

            train_loss = epoch_loss / n_samples
            train_acc = correct / n_samples

            self.model.eval()
            with torch.no_grad():
                val_outputs = self.model(X_val)
                val_loss = loss_fn(val_outputs, y_val.argmax(dim=1)).item()
                val_acc = (val_outputs.argmax(dim=1) == y_val.argmax(dim=1)).float().mean().item()
            self.model.train()

            train_losses.append(train_loss)
            train_accs.append(train_acc)
            val_losses.append(val_loss)
            val_accs.append(val_acc)

            if (epoch + 1) % 5 == 0:
                print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_loss:.5f} | "
                      f"Train Accuracy: {train_acc:.5f} | Val Loss: {val_loss:.5f} | "
                      f"Val Accuracy: {val_acc:.5f}")
        # <<< END OF YOUR CODE <<<

        self.train_val_metrics = {
            "train_losses": train_losses,
            "train_accs": train_accs,
            "val_losses": val_losses,
            "val_accs": val_accs,
        }

    def predict(self, X):
        """Predict the class labels.

        Parameters
        ----------
        X : torch.Tensor
            Input data of shape (n_samples, input_size).

        Returns
        -------
        torch.Tensor
            Predicted labels of shape (n_samples,).

        Examples
        --------
        >>> model = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
        >>> X = torch.rand((5, 5))
        >>> model.predict(X)
        tensor([1, 2, 2, 2, 2])
        """
        # >>> YOUR CODE HERE >>>
        self.model.eval()
        with torch.no_grad():
            outputs = self.model(X)
        return torch.argmax(outputs, dim=1)
        # <<< END OF YOUR CODE <<<

    def accuracy(self, X, y):
        """Accuracy of the predictions.

        Parameters
        ----------
        X : torch.Tensor
            Input data of shape (n_samples, input_size).
        y : torch.Tensor
            One-hot labels of shape (n_samples, output_size).

        Returns
        -------
        float
            Fraction of correctly classified samples.
        """
        y_pred = self.predict(X)
        return (y_pred == y.argmax(dim=1)).float().mean().item()

    def plot_train_val_metrics(self):
        """Plot the training and validation losses and accuracies.

        Saves the figure as ``pytorch_ann_train_val_metrics.png``.

        Returns
        -------
        fig : matplotlib.figure.Figure
        ax : np.ndarray of matplotlib.axes.Axes
        """
        # >>> YOUR CODE HERE >>>
        fig, ax = plt.subplots(1, 2, figsize=(12, 6))

        ax[0].plot(self.train_val_metrics["train_losses"], label="Train Loss")
        ax[0].plot(self.train_val_metrics["val_losses"], label="Val Loss")
        ax[0].set_xlabel("Epoch")
        ax[0].set_ylabel("Loss")
        ax[0].legend()

        ax[1].plot(self.train_val_metrics["train_accs"], label="Train Accuracy")
        ax[1].plot(self.train_val_metrics["val_accs"], label="Val Accuracy")
        ax[1].set_xlabel("Epoch")
        ax[1].set_ylabel("Accuracy")
        ax[1].legend()

        fig.suptitle("Train/Val Metrics")
        plt.savefig("pytorch_ann_train_val_metrics.png")
        return fig, ax
        # <<< END OF YOUR CODE <<<

    def report_my_judgement(self):
        """Is the model underfitting, overfitting or generalizing?

        Returns
        -------
        str
            One of "underfitting", "overfitting", "generalizing".
        """
        # >>> YOUR CODE HERE >>>
        # Train accuracy keeps climbing towards 1.0 while the validation accuracy
        # stays around 0.87 and the validation loss goes back up after ~epoch 30.
        return "overfitting"
        # <<< END OF YOUR CODE <<<


if __name__ == "__main__":
    import doctest
    import os
    from sklearn.model_selection import train_test_split
    from utils import load_mnist_f, print_green, print_red, print_blue, assert_greater_equal

    os.system('cls' if os.name == 'nt' else 'clear')

    if doctest.testmod(optionflags=doctest.ELLIPSIS).failed == 0:
        print_green("Doctests passed!")

        X_train, y_train, X_test, y_test = load_mnist_f(return_tensor=True)
        X_train, X_val, y_train, y_val = train_test_split(
            X_train, y_train, train_size=2000, test_size=200, random_state=42)
        X_test, _, y_test, _ = train_test_split(
            X_test, y_test, train_size=200, test_size=1, random_state=42)

        # flatten the images and scale them to [0, 1]
        X_train = X_train.reshape(X_train.shape[0], -1).float() / 255
        X_val = X_val.reshape(X_val.shape[0], -1).float() / 255
        X_test = X_test.reshape(X_test.shape[0], -1).float() / 255

        # one-hot encode the labels
        y_train = F.one_hot(y_train, num_classes=10).float()
        y_val = F.one_hot(y_val, num_classes=10).float()
        y_test = F.one_hot(y_test, num_classes=10).float()

        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        print_blue(f"Using device: {device}")

        X_train, y_train = X_train.to(device), y_train.to(device)
        X_val, y_val = X_val.to(device), y_val.to(device)
        X_test, y_test = X_test.to(device), y_test.to(device)

        model = PyTorchANN(input_size=784, output_size=10, hidden_size=32).to(device)
        model.train(X_train, y_train, X_val, y_val, epochs=100, batch_size=64, learning_rate=0.2)

        test_accuracy = model.accuracy(X_test, y_test)
        model.plot_train_val_metrics()
        assert_greater_equal(test_accuracy, 0.80,
                             f"Test accuracy: {test_accuracy:.5f} (should be at least 0.80)")
        print_blue(f"My judgement: the model is {model.report_my_judgement()}")
    else:
        print_red("Doctests failed!")
