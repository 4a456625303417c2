import numpy as np


class NumpyANN:
    def __init__(self, input_size, hidden_size, output_size, lr, random_seed=42):
        """
        Initialize the neural network with one hidden layer.

        Parameters:
            input_size (int): Number of input features.
            hidden_size (int): Number of neurons in the hidden layer.
            output_size (int): Number of output classes.
            lr (float): Learning rate.
            random_seed (int): Seed for the random number generator.

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann.input_size
            5
            >>> ann.hidden_size
            3
            >>> ann.output_size
            2
            >>> ann.lr
            0.01
            >>> ann.W2.shape
            (3, 2)
            >>> ann.b2.shape
            (1, 2)
        """
        np.random.seed(random_seed)

        # Store the sizes and the learning rate as attributes
        # >>> YOUR CODE HERE >>>
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr
        # <<< END OF YOUR CODE <<<

        # Weights and biases of the first layer
        self.W1 = np.random.randn(self.input_size, self.hidden_size) * 0.01
        self.b1 = np.zeros((1, self.hidden_size))

        # Initialize the second layer like the first layer
        # >>> YOUR CODE HERE >>>
        self.W2 = np.random.randn(self.hidden_size, self.output_size) * 0.01
        self.b2 = np.zeros((1, self.output_size))
        # <<< END OF YOUR CODE <<<

    def _relu(self, z):
        """
        ReLU activation function.

        Parameters:
            z (np.ndarray): Input array.

        Returns:
            np.ndarray: max(0, z), element-wise.

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann._relu(np.array([-1, 0, 1]))
            array([0, 0, 1])
        """
        # >>> YOUR CODE HERE >>>
        relu_z = np.multiply(z, z > 0)
        # <<< END OF YOUR CODE <<<
        return relu_z

    def _relu_grad(self, z):
        """
        Derivative of the ReLU activation function.

        Parameters:
            z (np.ndarray): Input array.

        Returns:
            np.ndarray: 0 where z <= 0, 1 otherwise.

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann._relu_grad(np.array([-1, 0, 1]))
            array([0, 0, 1])
        """
        # >>> YOUR CODE HERE >>>
        grad = np.greater(z, 0).astype(int)
        # <<< END OF YOUR CODE <<<
        return grad

    def _softmax(self, z):
        """
        Softmax activation function, row-wise and numerically stable.

        Parameters:
            z (np.ndarray): Input array of shape (n_samples, n_classes).

        Returns:
            np.ndarray: Probabilities of shape (n_samples, n_classes).
        """
        exp_z = np.exp(z - np.max(z, axis=1, keepdims=True))
        return exp_z / np.sum(exp_z, axis=1, keepdims=True)

    def _cross_entropy(self, y_pred, y_true):
        """
        Cross-entropy loss. Divide by the number of classes.

        Parameters:
            y_pred (np.ndarray): Predicted probabilities.
            y_true (np.ndarray): One-hot encoded true labels.

        Returns:
            float: The cross-entropy loss.

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann._cross_entropy(np.array([[.5, .5], [.5, .5]]), np.array([[1, 0], [0, 1]]))
            0.69314...
        """
        batch = len(y_true)
        return -np.einsum("ij,ij->", y_true, np.log(y_pred)) / batch

    def _forward(self, X, training=True):
        """
        Forward pass.

        Parameters:
            X (np.ndarray): Input data of shape (n_samples, input_size).
            training (bool): Whether to store the intermediate values for the backward pass.

        Returns:
            np.ndarray: Output probabilities of shape (n_samples, output_size).

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann._forward(np.array([[1, 2, 3, 4, 5]]))
            array([[0.50013134, 0.49986866]])
        """
        # Layer 1: linear transformation followed by ReLU
        # >>> YOUR CODE HERE >>>
        z1 = np.add(np.dot(X, self.W1), self.b1)
        a1 = self._relu(z1)
        # <<< END OF YOUR CODE <<<

        # Layer 2: linear transformation followed by softmax
        # >>> YOUR CODE HERE >>>
        z2 = np.add(np.dot(a1, self.W2), self.b2)
        a2 = self._softmax(z2)
        # <<< END OF YOUR CODE <<<

        if training:
            self.z1 = z1
            self.a1 = a1
            self.z2 = z2
            self.a2 = a2
        return a2

    def _backward(self, X, y_true):
        """
        Backward pass: compute the gradients and update the weights and biases.

        Parameters:
            X (np.ndarray): Input data of shape (n_samples, input_size).
            y_true (np.ndarray): One-hot encoded true labels.

        Returns:
            None

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> _ = ann._forward(np.array([[1, 2, 3, 4, 5]]))
            >>> ann._backward(np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]]))
            >>> ann.W2
            array([[-0.00504001, -0.01071118],
                   [ 0.00314247, -0.00908024],
                   [-0.01412304,  0.01465649]])
        """
        m = y_true.shape[0]

        # Output layer: dL/dz2 = a2 - y for softmax with cross-entropy
        dz2 = self.a2 - y_true
        # dL/dW2 = a1^T . dz2, averaged over the batch
        dW2 = np.dot(self.a1.T, dz2) / m
        # dL/db2 = sum of dz2 over the batch, averaged
        db2 = np.sum(dz2, axis=0, keepdims=True) / m

        # Hidden layer: dL/dz1 = (dz2 . W2^T) * relu'(z1)
        # >>> YOUR CODE HERE >>>
        da1 = np.dot(dz2, self.W2.T)
        dz1 = np.multiply(da1, self._relu_grad(self.z1))
        # <<< END OF YOUR CODE <<<

        # dL/dW1 = X^T . dz1 and dL/db1 = sum of dz1, both averaged over the batch
        # >>> YOUR CODE HERE >>>
        dW1 = np.dot(X.T, dz1) / m
        db1 = np.sum(dz1, axis=0, keepdims=True) / m
        # <<< END OF YOUR CODE <<<

        # Gradient descent step on the second layer
        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2

        # Gradient descent step on the first layer
        # >>> YOUR CODE HERE >>>
        self.W1 = self.W1 - self.lr * dW1
        self.b1 = self.b1 - self.lr * db1
        # <<< END OF YOUR CODE <<<

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
        """
        Train the network with mini-batch gradient descent.

        Parameters:
            X_train (np.ndarray): Training data.
            y_train (np.ndarray): One-hot encoded training labels.
            X_val (np.ndarray): Validation data.
            y_val (np.ndarray): One-hot encoded validation labels.
            epochs (int): Number of epochs.
            batch_size (int): Size of the mini-batches.

        Returns:
            None

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann.train(np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]]), np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]]), epochs=1, batch_size=1)
        """
        for epoch in range(epochs):
            for i in range(0, X_train.shape[0], batch_size):
                X_batch = X_train[i:i + batch_size]
                y_batch = y_train[i:i + batch_size]

                # Forward pass
                # >>> YOUR CODE HERE >>>
                self._forward(X_batch)
                # <<< END OF YOUR CODE <<<

                # Backward pass
                # >>> YOUR CODE HERE >>>
                self._backward(X_batch, y_batch)
                # <<< END OF YOUR CODE <<<

            y_pred_train = self._forward(X_train, training=False)
            y_pred_val = self._forward(X_val, training=False)

            # Compute the training and validation losses
            # >>> YOUR CODE HERE >>>
            train_loss = self._cross_entropy(y_pred_train, y_train)
            val_loss = self._cross_entropy(y_pred_val, y_val)
            # <<< END OF YOUR CODE <<<

            train_acc = self.accuracy(X_train, y_train)
            val_acc = self.accuracy(X_val, y_val)

            if (epoch + 1) % 10 == 0:
                print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_loss:.5f} | Train Accuracy: {train_acc:.5f} | "
                      f"Val Loss: {val_loss:.5f} | Val Accuracy: {val_acc:.5f}")

    def predict(self, X):
        """
        Predict the class probabilities.

        Parameters:
            X (np.ndarray): Input data.

        Returns:
            np.ndarray: Predicted probabilities.

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann.predict(np.array([[1, 2, 3, 4, 5]]))
            array([[0.50013134, 0.49986866]])
        """
        # >>> YOUR CODE HERE >>>
        y_pred = self._forward(X, training=False)
        # <<< END OF YOUR CODE <<<
        return y_pred

    def accuracy(self, X, y_true):
        """
        Accuracy of the predictions.

        Parameters:
            X (np.ndarray): Input data.
            y_true (np.ndarray): One-hot encoded true labels.

        Returns:
            float: The fraction of correct predictions.

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann.accuracy(np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]]))
            1.0
        """
        # >>> YOUR CODE HERE >>>
        labels_pred = np.argmax(self.predict(X), axis=1)
        labels_true = np.argmax(y_true, axis=1)
        acc = float(np.sum(labels_pred == labels_true)) / len(labels_true)
        # <<< END OF YOUR CODE <<<
        return acc


if __name__ == "__main__":
    import doctest
    import os

    from sklearn.model_selection import train_test_split

    from utils import assert_greater_equal, load_mnist_f, print_green, print_red

    os.system('cls' if os.name == 'nt' else 'clear')

    if doctest.testmod(optionflags=doctest.ELLIPSIS).failed == 0:
        print_green("Doctests passed!")

        X_train, y_train, X_test, y_test = load_mnist_f()
        X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, train_size=2000, test_size=200,
                                                          random_state=42)
        X_test, _, y_test, _ = train_test_split(X_test, y_test, train_size=200, test_size=1, random_state=42)

        X_train = X_train.reshape(X_train.shape[0], -1) / 255
        X_val = X_val.reshape(X_val.shape[0], -1) / 255
        X_test = X_test.reshape(X_test.shape[0], -1) / 255

        y_train = np.eye(10)[y_train]
        y_val = np.eye(10)[y_val]
        y_test = np.eye(10)[y_test]

        ann = NumpyANN(input_size=784, hidden_size=64, output_size=10, lr=0.01)
        ann.train(X_train, y_train, X_val, y_val, epochs=250, batch_size=64)

        test_accuracy = ann.accuracy(X_test, y_test)
        assert_greater_equal(test_accuracy, 0.77, f"Test accuracy: {test_accuracy:.5f} (should be at least 0.77)")
    else:
        print_red("Doctests failed!")
