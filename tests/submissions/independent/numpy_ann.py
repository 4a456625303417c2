import numpy as np


class NumpyANN:
    """A neural network with one hidden layer, written with numpy only.

    The network computes ``softmax(relu(X @ W1 + b1) @ W2 + b2)`` and is trained
    with mini-batch gradient descent on the cross-entropy loss.

    Parameters
    ----------
    input_size : int
        Number of input features.
    hidden_size : int
        Number of neurons in the hidden layer.
    output_size : int
        Number of classes.
    lr : float
        Learning rate.
    random_seed : int, optional
        Seed for numpy's random number generator, by default 42.
    """

    def __init__(self, input_size, hidden_size, output_size, lr, random_seed=42):
        np.random.seed(random_seed)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr

        # >>> YOUR CODE HERE >>>
        weight_scale = 0.01
        first_layer = (input_size, hidden_size)
        second_layer = (hidden_size, output_size)
        self.W1 = weight_scale * np.random.randn(*first_layer)
        self.W2 = weight_scale * np.random.randn(*second_layer)
        self.b1 = np.zeros(hidden_size).reshape(1, -1)
        self.b2 = np.zeros(output_size).reshape(1, -1)
        # <<< END OF YOUR CODE <<<

    def _relu(self, z):
        """ReLU activation function.

        Parameters
        ----------
        z : np.ndarray
            Input array.

        Returns
        -------
        np.ndarray
            ``max(0, z)`` element-wise.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model._relu(np.array([-1, 0, 1]))
        array([0, 0, 1])
        """
        # >>> YOUR CODE HERE >>>
        return np.where(z > 0, z, 0)
        # <<< END OF YOUR CODE <<<

    def _relu_grad(self, z):
        """Derivative of the ReLU activation function.

        Parameters
        ----------
        z : np.ndarray
            Input array.

        Returns
        -------
        np.ndarray
            0 where ``z <= 0``, 1 otherwise.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model._relu_grad(np.array([-1, 0, 1]))
        array([0, 0, 1])
        """
        # >>> YOUR CODE HERE >>>
        grad = np.zeros_like(z, dtype=int)
        grad[z > 0] = 1
        return grad
        # <<< END OF YOUR CODE <<<

    def _softmax(self, z):
        """Row-wise softmax, numerically stable.

        Parameters
        ----------
        z : np.ndarray
            Scores of shape (n_samples, n_classes).

        Returns
        -------
        np.ndarray
            Probabilities of shape (n_samples, n_classes); each row sums to 1.
        """
        exp_z = np.exp(z - np.max(z, axis=1, keepdims=True))
        return exp_z / np.sum(exp_z, axis=1, keepdims=True)

    def _cross_entropy(self, y_pred, y_true):
        """Cross-entropy loss, averaged over the samples.

        Parameters
        ----------
        y_pred : np.ndarray
            Predicted probabilities of shape (n_samples, n_classes).
        y_true : np.ndarray
            One-hot labels of shape (n_samples, n_classes).

        Returns
        -------
        float
            The mean cross-entropy.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> y_pred = np.array([[0.5, 0.5], [0.5, 0.5]])
        >>> y_true = np.array([[1, 0], [0, 1]])
        >>> model._cross_entropy(y_pred, y_true)
        0.69314...
        """
        # >>> YOUR CODE HERE >>>
        n = len(y_true)
        picked = np.log(y_pred)[y_true.astype(bool)]
        return -picked.sum() / n
        # <<< END OF YOUR CODE <<<

    def _forward(self, X, training=True):
        """Forward pass.

        Parameters
        ----------
        X : np.ndarray
            Input data of shape (n_samples, input_size).
        training : bool, optional
            If True, store the intermediate values for the backward pass, by default True.

        Returns
        -------
        np.ndarray
            Predicted probabilities of shape (n_samples, output_size).

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model._forward(np.array([[1, 2, 3, 4, 5]]))
        array([[0.50013134, 0.49986866]])
        """
        # >>> YOUR CODE HERE >>>
        hidden_in = X @ self.W1 + self.b1
        hidden_out = self._relu(hidden_in)
        scores = hidden_out @ self.W2 + self.b2
        probs = self._softmax(scores)
        if not training:
            return probs
        self.z1, self.a1, self.z2, self.a2 = hidden_in, hidden_out, scores, probs
        return probs
        # <<< END OF YOUR CODE <<<

    def _backward(self, X, y_true):
        """Backward pass: compute the gradients and update the weights.

        Parameters
        ----------
        X : np.ndarray
            Input data of shape (n_samples, input_size).
        y_true : np.ndarray
            One-hot labels of shape (n_samples, output_size).

        Returns
        -------
        None

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> X = np.array([[1, 2, 3, 4, 5]])
        >>> _ = model._forward(X)
        >>> model._backward(X, np.array([[1, 0]]))
        >>> model.W2
        array([[-0.00504001, -0.01071118],
               [ 0.00314247, -0.00908024],
               [-0.01412304,  0.01465649]])
        """
        # >>> YOUR CODE HERE >>>
        batch = len(X)
        delta_out = (self.a2 - y_true) / batch
        grad_W2 = self.a1.T @ delta_out
        grad_b2 = delta_out.sum(axis=0, keepdims=True)
        delta_hidden = (delta_out @ self.W2.T) * self._relu_grad(self.z1)
        grad_W1 = X.T @ delta_hidden
        grad_b1 = delta_hidden.sum(axis=0, keepdims=True)
        for name, grad in (("W1", grad_W1), ("b1", grad_b1), ("W2", grad_W2), ("b2", grad_b2)):
            setattr(self, name, getattr(self, name) - self.lr * grad)
        # <<< END OF YOUR CODE <<<

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
        """Train the network with mini-batch gradient descent.

        Parameters
        ----------
        X_train : np.ndarray
            Training data of shape (n_samples, input_size).
        y_train : np.ndarray
            One-hot training labels of shape (n_samples, output_size).
        X_val : np.ndarray
            Validation data.
        y_val : np.ndarray
            One-hot validation labels.
        epochs : int
            Number of epochs.
        batch_size : int
            Size of the mini-batches.

        Returns
        -------
        None

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> X = np.array([[1, 2, 3, 4, 5]])
        >>> y = np.array([[1, 0]])
        >>> model.train(X, y, X, y, epochs=1, batch_size=1)
        """
        self.train_val_metrics = {
            "train_losses": [],
            "train_accs": [],
            "val_losses": [],
            "val_accs": [],
        }
        # >>> YOUR CODE HERE >>>
        history = self.train_val_metrics
        boundaries = list(range(0, len(X_train), batch_size))
        for e in range(epochs):
            for lo in boundaries:
                hi = min(lo + batch_size, len(X_train))
                self._forward(X_train[lo:hi], training=True)
                self._backward(X_train[lo:hi], y_train[lo:hi])
            numbers = []
            for data, labels in ((X_train, y_train), (X_val, y_val)):
                numbers.append(self._cross_entropy(self.predict(data), labels))
                numbers.append(self.accuracy(data, labels))
            for key, value in zip(("train_losses", "train_accs", "val_losses", "val_accs"), numbers):
                history[key].append(value)
            if (e + 1) % 10 == 0:
                line = "[{} / {}] | Train Loss: {:.5f} | Train Accuracy: {:.5f} | Val Loss: {:.5f} | Val Accuracy: {:.5f}"
                print(line.format(e + 1, epochs, *numbers))
        # <<< END OF YOUR CODE <<<

    def predict(self, X):
        """Predict the class probabilities.

        Parameters
        ----------
        X : np.ndarray
            Input data of shape (n_samples, input_size).

        Returns
        -------
        np.ndarray
            Predicted probabilities of shape (n_samples, output_size).

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model.predict(np.array([[1, 2, 3, 4, 5]]))
        array([[0.50013134, 0.49986866]])
        """
        # >>> YOUR CODE HERE >>>
        probabilities = self._forward(X, False)
        return probabilities
        # <<< END OF YOUR CODE <<<

    def accuracy(self, X, y_true):
        """Accuracy of the predictions.

        Parameters
        ----------
        X : np.ndarray
            Input data of shape (n_samples, input_size).
        y_true : np.ndarray
            One-hot labels of shape (n_samples, output_size).

        Returns
        -------
        float
            Fraction of correctly classified samples.

        Examples
        --------
        >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
        >>> model.accuracy(np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]]))
        1.0
        """
        # >>> YOUR CODE HERE >>>
        guessed = self.predict(X).argmax(axis=1)
        actual = y_true.argmax(axis=1)
        hits = np.count_nonzero(guessed == actual)
        return hits / float(len(actual))
        # <<< END OF YOUR CODE <<<


if __name__ == "__main__":
    import doctest
    import os
    from sklearn.model_selection import train_test_split
    from utils import load_mnist_f, print_green, print_red, assert_greater_equal

    os.system('cls' if os.name == 'nt' else 'clear')

    if doctest.testmod(optionflags=doctest.ELLIPSIS).failed == 0:
        print_green("Doctests passed!")

        X_train, y_train, X_test, y_test = load_mnist_f()
        X_train, X_val, y_train, y_val = train_test_split(
            X_train, y_train, train_size=2000, test_size=200, random_state=42)
        X_test, _, y_test, _ = train_test_split(
            X_test, y_test, train_size=200, test_size=1, random_state=42)

        # flatten the images and scale them to [0, 1]
        X_train = X_train.reshape(X_train.shape[0], -1) / 255
        X_val = X_val.reshape(X_val.shape[0], -1) / 255
        X_test = X_test.reshape(X_test.shape[0], -1) / 255

        # one-hot encode the labels
        y_train = np.eye(10)[y_train]
        y_val = np.eye(10)[y_val]
        y_test = np.eye(10)[y_test]

        model = NumpyANN(input_size=784, hidden_size=64, output_size=10, lr=0.01)
        model.train(X_train, y_train, X_val, y_val, epochs=250, batch_size=64)

        test_accuracy = model.accuracy(X_test, y_test)
        assert_greater_equal(test_accuracy, 0.77,
                             f"Test accuracy: {test_accuracy:.5f} (should be at least 0.77)")
    else:
        print_red("Doctests failed!")
