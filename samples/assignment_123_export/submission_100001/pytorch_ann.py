import matplotlib.pyplot as plt
import torch
import torch.nn as nn


class PyTorchANN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, random_seed=42):
        """
        Initialize the neural network with one hidden layer.

        Parameters:
            input_size (int): Number of input features.
            hidden_size (int): Number of neurons in the hidden layer.
            output_size (int): Number of output classes.
            random_seed (int): Seed for the random number generator.

        Examples:
            >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
            >>> pytorch_ann.input_size
            5
            >>> pytorch_ann.hidden_size
            10
            >>> pytorch_ann.output_size
            3
            >>> pytorch_ann.seed
            42
            >>> pytorch_ann.model
            Sequential(
              (0): Linear(in_features=5, out_features=10, bias=True)
              (1): ReLU()
              (2): Linear(in_features=10, out_features=3, bias=True)
            )
        """
        super().__init__()

        # Store the sizes as attributes
        # >>> YOUR CODE HERE >>>
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        # <<< END OF YOUR CODE <<<

        # Store the random seed as an attribute
        # >>> YOUR CODE HERE >>>
        self.seed = random_seed
        # <<< END OF YOUR CODE <<<
        torch.manual_seed(random_seed)

        # Define the model: Linear -> ReLU -> Linear, in an nn.Sequential
        # >>> YOUR CODE HERE >>>
        self.model = nn.Sequential(
            nn.Linear(input_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, output_size),
        )
        # <<< END OF YOUR CODE <<<

    def forward(self, X):
        """
        Forward pass.

        Parameters:
            X (torch.Tensor): Input data.

        Returns:
            torch.Tensor: The output of the model (logits).

        Examples:
            >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
            >>> pytorch_ann(torch.rand(5))
            tensor([-0.0675,  0.0238, -0.0057]...)
        """
        # >>> YOUR CODE HERE >>>
        return self.model(X)
        # <<< END OF YOUR CODE <<<

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
        """
        Train the network with mini-batch stochastic gradient descent.

        Parameters:
            X_train (torch.Tensor): Training data.
            y_train (torch.Tensor): One-hot encoded training labels.
            X_val (torch.Tensor): Validation data.
            y_val (torch.Tensor): One-hot encoded validation labels.
            epochs (int): Number of epochs.
            batch_size (int): Size of the mini-batches.
            learning_rate (float): Learning rate.

        Returns:
            None
        """
        # Define the loss function and the optimizer
        # >>> YOUR CODE HERE >>>
        loss_function = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        # <<< END OF YOUR CODE <<<

        train_losses, train_accs, val_losses, val_accs = [], [], [], []

        for epoch in range(epochs):
            for X_batch, y_batch in zip(X_train.split(batch_size), y_train.split(batch_size)):
                self.model.train()
                optimizer.zero_grad()

                # Forward pass
                # >>> YOUR CODE HERE >>>
                y_pred = self.model(X_batch)
                # <<< END OF YOUR CODE <<<

                # Compute the loss
                # >>> YOUR CODE HERE >>>
                loss = loss_function(y_pred, y_batch)
                # <<< END OF YOUR CODE <<<

                # Backward pass
                # >>> YOUR CODE HERE >>>
                loss.backward()
                # <<< END OF YOUR CODE <<<

                # Update the weights
                # >>> YOUR CODE HERE >>>
                optimizer.step()
                # <<< END OF YOUR CODE <<<

            self.model.eval()
            with torch.no_grad():
                train_loss = loss_function(self.forward(X_train), y_train).item()
                train_acc = self.accuracy(X_train, y_train)
                val_loss = loss_function(self.forward(X_val), y_val).item()
                val_acc = self.accuracy(X_val, y_val)

            train_losses.append(train_loss)
            train_accs.append(train_acc)
            val_losses.append(val_loss)
            val_accs.append(val_acc)

            if (epoch + 1) % 5 == 0:
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
            >>> pytorch_ann = PyTorchANN(input_size=5, output_size=3, hidden_size=10)
            >>> X = torch.rand((5, 5))
            >>> pytorch_ann.predict(X)
            tensor([1, 2, 2, 2, 2])
        """
        self.model.eval()
        with torch.no_grad():
            # >>> YOUR CODE HERE >>>
            y_pred = torch.argmax(self.model(X), dim=1)
            # <<< END OF YOUR CODE <<<
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

        # Plot the training and validation losses
        # >>> YOUR CODE HERE >>>
        ax[0].plot(self.train_val_metrics["train_losses"], label="Train Loss")
        ax[0].plot(self.train_val_metrics["val_losses"], label="Val Loss")
        # <<< END OF YOUR CODE <<<
        ax[0].set_xlabel("Epoch")
        ax[0].set_ylabel("Loss")
        ax[0].legend()

        # Plot the training and validation accuracies
        # >>> YOUR CODE HERE >>>
        ax[1].plot(self.train_val_metrics["train_accs"], label="Train Accuracy")
        ax[1].plot(self.train_val_metrics["val_accs"], label="Val Accuracy")
        # <<< END OF YOUR CODE <<<
        ax[1].set_xlabel("Epoch")
        ax[1].set_ylabel("Accuracy")
        ax[1].legend()

        fig.suptitle("Train/Val Metrics")
        fig.tight_layout()
        plt.savefig("pytorch_ann_train_val_metrics.png")
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

        X_train = (X_train.reshape(X_train.shape[0], -1) / 255).to(device)
        X_val = (X_val.reshape(X_val.shape[0], -1) / 255).to(device)
        X_test = (X_test.reshape(X_test.shape[0], -1) / 255).to(device)

        y_train = F.one_hot(y_train).float().to(device)
        y_val = F.one_hot(y_val).float().to(device)
        y_test = F.one_hot(y_test).float().to(device)

        pytorch_ann = PyTorchANN(input_size=784, output_size=10, hidden_size=32).to(device)
        pytorch_ann.train(X_train, y_train, X_val, y_val, epochs=100, batch_size=64, learning_rate=0.2)

        test_accuracy = pytorch_ann.accuracy(X_test, y_test)
        pytorch_ann.plot_train_val_metrics()
        assert_greater_equal(test_accuracy, 0.80, f"Test accuracy: {test_accuracy:.5f} (should be at least 0.80)")
        print_blue(f"My judgement: {pytorch_ann.report_my_judgement()}")
    else:
        print_red("Doctests failed!")
