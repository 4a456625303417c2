import random

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn


class PyTorchCNN(nn.Module):
    def __init__(self, num_classes=10, random_seed=42):
        """
        Initialize the convolutional neural network.

        Four blocks of Conv2d(3x3, stride 1, padding 1) -> ReLU -> MaxPool2d(2) -> BatchNorm2d -> Dropout(0.3),
        with 1 -> 32 -> 64 -> 128 -> 256 channels, then Flatten -> Linear(256, 128) -> ReLU -> Linear(128, num_classes).

        Parameters:
            num_classes (int): Number of output classes.
            random_seed (int): Seed for the random number generators.

        Examples:
            >>> pytorch_cnn = PyTorchCNN()
            >>> pytorch_cnn.num_classes
            10
            >>> len(pytorch_cnn.model)
            24
        """
        super().__init__()
        torch.manual_seed(random_seed)
        np.random.seed(random_seed)
        random.seed(random_seed)
        self.num_classes = num_classes

        # Define the model in an nn.Sequential
        # >>> YOUR CODE HERE >>>
        channels = [1, 32, 64, 128, 256]
        blocks = [
            module
            for c_in, c_out in zip(channels, channels[1:])
            for module in (nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                           nn.MaxPool2d(kernel_size=2), nn.BatchNorm2d(c_out), nn.Dropout(p=0.3))
        ]
        self.model = nn.Sequential(*blocks, nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes))
        # <<< END OF YOUR CODE <<<

    def forward(self, X):
        """
        Forward pass.

        Parameters:
            X (torch.Tensor): Input data of shape (n_samples, 1, 28, 28).

        Returns:
            torch.Tensor: The output of the model (logits).
        """
        return self.model(X)

    def train(self, X_train, y_train, X_val, y_val, epochs=10, learning_rate=0.001):
        """
        Train the network with Adam, one full-batch step per epoch.

        Parameters:
            X_train (torch.Tensor): Training data.
            y_train (torch.Tensor): One-hot encoded training labels.
            X_val (torch.Tensor): Validation data.
            y_val (torch.Tensor): One-hot encoded validation labels.
            epochs (int): Number of epochs.
            learning_rate (float): Learning rate.

        Returns:
            None
        """
        loss_function = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)

        train_losses, train_accs, val_losses, val_accs = [], [], [], []

        for epoch in range(epochs):
            self.model.train()
            optimizer.zero_grad()
            y_pred = self.forward(X_train)
            loss = loss_function(y_pred, y_train)
            loss.backward()
            optimizer.step()

            train_loss = loss.item()
            train_acc = (y_pred.argmax(dim=1) == y_train.argmax(dim=1)).float().mean().item()

            self.model.eval()
            with torch.no_grad():
                y_pred_val = self.forward(X_val)
                val_loss = loss_function(y_pred_val, y_val).item()
                val_acc = (y_pred_val.argmax(dim=1) == y_val.argmax(dim=1)).float().mean().item()

            train_losses.append(train_loss)
            train_accs.append(train_acc)
            val_losses.append(val_loss)
            val_accs.append(val_acc)

            print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_loss:.5f} | Train Accuracy: {train_acc:.5f} | "
                  f"Val Loss: {val_loss:.5f} | Val Accuracy: {val_acc:.5f}")

        self.train_val_metrics = {
            "train_losses": train_losses,
            "train_accs": train_accs,
            "val_losses": val_losses,
            "val_accs": val_accs,
        }

    def predict(self, X):
        """
        Predict the class labels.

        Parameters:
            X (torch.Tensor): Input data.

        Returns:
            torch.Tensor: Predicted labels.

        Examples:
            >>> pytorch_cnn = PyTorchCNN()
            >>> pytorch_cnn.predict(torch.randn(10, 1, 28, 28))
            tensor([5, 5, 5, 5, 5, 5, 5, 5, 5, 5])
        """
        self.model.eval()
        with torch.no_grad():
            y_pred = self.forward(X).argmax(dim=1)
        return y_pred

    def accuracy(self, X, y):
        """
        Accuracy of the predictions.

        Parameters:
            X (torch.Tensor): Input data.
            y (torch.Tensor): One-hot encoded true labels.

        Returns:
            float: The fraction of correct predictions.
        """
        y_pred = self.predict(X)
        return (y_pred == y.argmax(dim=1)).float().mean().item()

    def plot_train_val_metrics(self):
        """
        Plot the training and validation losses and accuracies.

        Returns:
            tuple: The figure and the axes.
        """
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
        fig.tight_layout()
        plt.savefig("pytorch_cnn_train_val_metrics.png")
        return fig, ax

    def report_my_judgement(self):
        """
        Report your judgement of the training: underfitting, overfitting or generalizing.

        Returns:
            str: Your judgement.
        """
        # >>> YOUR CODE HERE >>>
        my_judgement = "overfitting"
        # <<< END OF YOUR CODE <<<
        assert my_judgement in ["underfitting", "overfitting", "generalizing"]
        return my_judgement


if __name__ == "__main__":
    import doctest
    import os

    import torch.nn.functional as F
    from sklearn.model_selection import train_test_split

    from utils import assert_greater_equal, load_mnist_f, print_blue, print_green, print_red

    os.system('cls' if os.name == 'nt' else 'clear')

    if doctest.testmod(optionflags=doctest.ELLIPSIS).failed == 0:
        print_green("Doctests passed!")

        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        print_blue(f"Using device: {device}")

        X_train, y_train, X_test, y_test = load_mnist_f(return_tensor=True)
        X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, train_size=2000, test_size=200,
                                                          random_state=42)
        X_test, _, y_test, _ = train_test_split(X_test, y_test, train_size=200, test_size=1, random_state=42)

        X_train = (X_train.reshape(-1, 1, 28, 28) / 255).to(device)
        X_val = (X_val.reshape(-1, 1, 28, 28) / 255).to(device)
        X_test = (X_test.reshape(-1, 1, 28, 28) / 255).to(device)

        y_train = F.one_hot(y_train).float().to(device)
        y_val = F.one_hot(y_val).float().to(device)
        y_test = F.one_hot(y_test).float().to(device)

        pytorch_cnn = PyTorchCNN().to(device)
        pytorch_cnn.train(X_train, y_train, X_val, y_val, epochs=60, learning_rate=0.002)

        test_accuracy = pytorch_cnn.accuracy(X_test, y_test)
        pytorch_cnn.plot_train_val_metrics()
        assert_greater_equal(test_accuracy, 0.85, f"Test accuracy: {test_accuracy:.5f} (should be at least 0.85)")
        print_blue(f"My judgement: {pytorch_cnn.report_my_judgement()}")
    else:
        print_red("Doctests failed!")
