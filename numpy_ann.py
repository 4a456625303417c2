"""Part 1: a one-hidden-layer neural network for Fashion-MNIST, in numpy, with backprop by hand.

The network is ``X -> Linear(W1, b1) -> ReLU -> Linear(W2, b2) -> softmax``, trained with
cross-entropy and mini-batch gradient descent. Fill in every region marked
``# >>> YOUR CODE HERE >>>``; each method's docstring says what it must do, and its
examples are doctests. ``python numpy_ann.py`` runs the doctests and, when they all pass,
trains on the handout's split and reports the test accuracy.

Shapes used throughout: ``n`` samples, ``d = input_size`` features,
``h = hidden_size`` hidden units, ``k = output_size`` classes.
"""
import numpy as np


class NumpyANN:
    """One-hidden-layer MLP (ReLU, softmax output) with hand-written backprop.

    Parameters:
        input_size (int): number of input features ``d`` (784 for flattened 28 x 28 images).
        hidden_size (int): number of hidden ReLU units ``h``.
        output_size (int): number of classes ``k``.
        lr (float): learning rate of the gradient step ``param -= lr * grad``.
        random_seed (int): seed for ``np.random.seed`` before the weights are drawn.

    Attributes:
        input_size, hidden_size, output_size, lr: the constructor's arguments.
        W1 (ndarray, shape (d, h)), b1 (ndarray, shape (1, h)): the first layer.
        W2 (ndarray, shape (h, k)), b2 (ndarray, shape (1, k)): the second layer. Weights start
            as ``0.01 * N(0, 1)`` draws (W1 first, then W2), biases at zero.
        z1, a1, z2, a2 (ndarray): the last training-mode forward pass (pre- and
            post-activations), kept for ``_backward``; set by ``_forward(X, training=True)`` only.
    """

    def __init__(self, input_size, hidden_size, output_size, lr, random_seed=42):
        """Keep the sizes and the learning rate; draw the weights; zero the biases.

        ``np.random.seed(random_seed)`` comes first, then ``W1`` is drawn, then ``W2``, each as
        ``np.random.randn(rows, columns) * 0.01``. The biases are zero rows.

        Examples:
            >>> ann = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> ann.input_size, ann.hidden_size, ann.output_size, ann.lr
            (5, 3, 2, 0.01)
            >>> ann.W1.shape, ann.b1.shape
            ((5, 3), (1, 3))
            >>> ann.W2.shape, ann.b2.shape
            ((3, 2), (1, 2))
        """
        np.random.seed(random_seed)

        # The attributes input_size, hidden_size, output_size and lr
        # >>> YOUR CODE HERE >>>
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr
        # <<< END OF YOUR CODE <<<

        # The first layer's weights and biases
        self.W1 = np.random.randn(self.input_size, self.hidden_size) * 0.01
        self.b1 = np.zeros((1, self.hidden_size))

        # The second layer's weights W2 and biases b2, like the first layer's
        # >>> YOUR CODE HERE >>>
        self.W2 = np.random.randn(self.hidden_size, self.output_size) * 0.01
        self.b2 = np.zeros((1, self.output_size))
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ building blocks
    @staticmethod
    def _relu(z):
        """Rectified linear unit, elementwise ``max(0, z)``.

        Examples:
            >>> NumpyANN._relu(np.array([-1, 0, 1]))
            array([0, 0, 1])
        """
        # The ReLU of every element of z, as relu
        # >>> YOUR CODE HERE >>>
        relu = np.maximum(0, z)
        # <<< END OF YOUR CODE <<<
        return relu

    @staticmethod
    def _relu_grad(z):
        """Derivative of ReLU: 0 where ``z <= 0`` (at 0 we pick the subgradient 0), 1 elsewhere.

        Examples:
            >>> NumpyANN._relu_grad(np.array([-1, 0, 1]))
            array([0, 0, 1])
        """
        # The derivative at every element of z, as grad: an array of 0s and 1s
        # >>> YOUR CODE HERE >>>
        grad = (np.asarray(z) > 0).astype(int)
        # <<< END OF YOUR CODE <<<
        return grad

    @staticmethod
    def _softmax(z):
        """Row-wise softmax, shape (n, k) -> (n, k); rows sum to 1.

        Subtracting each row's maximum first changes nothing mathematically but
        keeps ``exp`` from overflowing for large logits.

        Examples:
            >>> NumpyANN._softmax(np.array([[1000.0, 1000.0], [0.0, -1000.0]]))
            array([[0.5, 0.5],
                   [1. , 0. ]])
        """
        z = np.asarray(z)
        # z - max <= 0; it can only overflow to -inf (logits ~1e308 apart), whose exp is
        # exactly the right answer, 0, so that overflow is not worth a warning.
        with np.errstate(over="ignore"):
            e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    @staticmethod
    def _cross_entropy(y_pred, y_true):
        """Mean cross-entropy over the samples (prediction first, then the labels).

        Write the whole body: return ``-sum(y_true * log(y_pred)) / n``, the sum over every
        sample and class, divided by the number of samples ``n`` (not of classes).

        Parameters:
            y_pred (array, shape (n, k)): predicted class probabilities.
            y_true (array, shape (n, k)): one-hot labels.

        Returns:
            float: the mean cross-entropy.

        Examples:
            >>> y_pred = np.array([[.5, .5], [.5, .5]])
            >>> y_true = np.array([[1, 0], [0, 1]])
            >>> NumpyANN._cross_entropy(y_pred, y_true)  # doctest: +ELLIPSIS
            0.69314...
        """
        # The whole body: return the mean cross-entropy as a float
        # >>> YOUR CODE HERE >>>
        # Probabilities are clipped to at least 1e-12, so that one that underflowed to 0
        # gives a large but finite loss instead of inf.
        y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
        return float(-np.sum(y_true * np.log(np.clip(y_pred, 1e-12, 1.0))) / y_true.shape[0])
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, X, training=True):
        """Forward pass, shape (n, d) -> class probabilities (n, k).

        ``z1 = X W1 + b1``, ``a1 = relu(z1)``, ``z2 = a1 W2 + b2``, ``a2 = softmax(z2)``.
        With ``training=True`` the values ``z1, a1, z2, a2`` are stored on the model for
        ``_backward``; with ``training=False`` nothing is stored.

        Examples:
            >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> model._forward(np.array([[1, 2, 3, 4, 5]]))
            array([[0.50013134, 0.49986866]])
        """
        # Layer 1: z1 = X W1 + b1, and its ReLU, a1 (use self._relu)
        # >>> YOUR CODE HERE >>>
        z1 = X @ self.W1 + self.b1          # (n, h)
        a1 = self._relu(z1)                 # (n, h)
        # <<< END OF YOUR CODE <<<

        # Layer 2: z2 = a1 W2 + b2, and its softmax, a2 (use self._softmax)
        # >>> YOUR CODE HERE >>>
        z2 = a1 @ self.W2 + self.b2         # (n, k)
        a2 = self._softmax(z2)              # (n, k)
        # <<< END OF YOUR CODE <<<

        if training:
            self.z1, self.a1, self.z2, self.a2 = z1, a1, z2, a2
        return a2

    def _backward(self, X, y_true):
        """Backpropagate the mean cross-entropy of the last training forward pass and
        take one gradient step on W2, b2, W1, b1.

        With ``m`` the batch size: ``dz2 = a2 - y``, ``dW2 = a1.T dz2 / m``,
        ``db2 = sum(dz2) / m`` (over the batch); ``dz1 = (dz2 W2.T) * relu_grad(z1)``, with
        W2 as it was before this step; ``dW1 = X.T dz1 / m``, ``db1 = sum(dz1) / m``; then
        ``param -= lr * grad`` for every parameter.

        Parameters:
            X (array, shape (m, d)): the batch that was passed to ``_forward(X, training=True)``.
            y_true (array, shape (m, k)): its one-hot labels.

        Returns:
            None

        Examples:
            >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> X = np.array([[1, 2, 3, 4, 5]])
            >>> _ = model._forward(X)
            >>> model._backward(X, np.array([[1, 0]]))
            >>> model.W2
            array([[-0.00504001, -0.01071118],
                   [ 0.00314247, -0.00908024],
                   [-0.01412304,  0.01465649]])
        """
        m = y_true.shape[0]  # the batch size

        # Output layer. For softmax followed by cross-entropy, the derivative of each sample's
        # loss with respect to z2 is a2 - y; the loss is the mean over the batch, hence / m.
        dz2 = self.a2 - y_true                          # (m, k)
        dW2 = self.a1.T @ dz2 / m                       # (h, k): dz2 through z2 = a1 W2 + b2
        db2 = np.sum(dz2, axis=0, keepdims=True) / m    # (1, k)

        # Hidden layer: dz1, back through W2 (not yet updated) and the ReLU (use self._relu_grad)
        # >>> YOUR CODE HERE >>>
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)  # (m, h)
        # <<< END OF YOUR CODE <<<

        # dW1 and db1, like dW2 and db2 (each divided by m)
        # >>> YOUR CODE HERE >>>
        dW1 = X.T @ dz1 / m                             # (d, h)
        db1 = np.sum(dz1, axis=0, keepdims=True) / m    # (1, h)
        # <<< END OF YOUR CODE <<<

        # One step of gradient descent: param -= lr * grad
        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
        # ... and the same step for W1 and b1
        # >>> YOUR CODE HERE >>>
        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1
        # <<< END OF YOUR CODE <<<

    # ------------------------------------------------------------------ public API
    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
        """Mini-batch gradient descent; prints the progress every 10th epoch.

        Each epoch walks the training set in order, in mini-batches of ``batch_size`` rows
        (the last one may be shorter), with one ``_forward`` + ``_backward`` per batch. After
        the epoch come the loss (``_cross_entropy``) and the accuracy of the weights as they
        are at its end, on the training and the validation set.

        Parameters:
            X_train (array, shape (n, d)): the training inputs.
            y_train (array, shape (n, k)): their one-hot labels.
            X_val (array, shape (n_val, d)): the validation inputs.
            y_val (array, shape (n_val, k)): their one-hot labels.
            epochs (int): passes over the training set.
            batch_size (int): rows per mini-batch; larger than ``n`` means full-batch
                gradient descent.

        Returns:
            None

        Examples:
            >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> X, y = np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]])
            >>> model.train(X, y, X, y, epochs=1, batch_size=1)
        """
        for epoch in range(epochs):
            for i in range(0, X_train.shape[0], batch_size):
                X_batch = X_train[i:i + batch_size]
                y_batch = y_train[i:i + batch_size]

                # Forward pass on the batch, keeping what the backward pass needs
                # >>> YOUR CODE HERE >>>
                self._forward(X_batch, training=True)
                # <<< END OF YOUR CODE <<<

                # Backward pass on the batch: the gradients and the gradient step
                # >>> YOUR CODE HERE >>>
                self._backward(X_batch, y_batch)
                # <<< END OF YOUR CODE <<<

            y_pred_train = self._forward(X_train, training=False)
            y_pred_val = self._forward(X_val, training=False)

            # The losses of this epoch: train_loss and val_loss (use self._cross_entropy)
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
        """Class probabilities, shape (n, d) -> (n, k): a forward pass that stores nothing
        on the model (``training=False``).

        Examples:
            >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> model.predict(np.array([[1, 2, 3, 4, 5]]))
            array([[0.50013134, 0.49986866]])
        """
        # The class probabilities of X, as y_pred
        # >>> YOUR CODE HERE >>>
        y_pred = self._forward(X, training=False)
        # <<< END OF YOUR CODE <<<
        return y_pred

    def accuracy(self, X, y_true):
        """Fraction of rows whose most probable class (the argmax of the predicted
        probabilities) is the labelled one (the argmax of the one-hot row).

        Parameters:
            X (array, shape (n, d)): the inputs.
            y_true (array, shape (n, k)): their one-hot labels.

        Returns:
            float: the fraction predicted right.

        Examples:
            >>> model = NumpyANN(input_size=5, hidden_size=3, output_size=2, lr=0.01)
            >>> model.accuracy(np.array([[1, 2, 3, 4, 5]]), np.array([[1, 0]]))
            1.0
        """
        # The fraction of rows predicted right, as accuracy (a float)
        # >>> YOUR CODE HERE >>>
        y_pred = self._forward(X, training=False)
        accuracy = float(np.mean(np.argmax(y_pred, axis=1) == np.argmax(y_true, axis=1)))
        # <<< END OF YOUR CODE <<<
        return accuracy


if __name__ == "__main__":
    import doctest
    import os

    from sklearn.model_selection import train_test_split

    from utils import assert_greater_equal, load_mnist_f, print_green, print_red

    os.system("cls" if os.name == "nt" else "clear")
    if doctest.testmod(optionflags=doctest.ELLIPSIS).failed == 0:
        print_green("Doctests passed!")
        X_train, y_train, X_test, y_test = load_mnist_f()
        X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, train_size=2000, test_size=200,
                                                          random_state=42)
        X_test, _, y_test, _ = train_test_split(X_test, y_test, train_size=200, test_size=1, random_state=42)
        X_train, X_val, X_test = (X.reshape(len(X), -1) / 255 for X in (X_train, X_val, X_test))
        y_train, y_val, y_test = (np.eye(10)[y] for y in (y_train, y_val, y_test))

        model = NumpyANN(input_size=784, hidden_size=64, output_size=10, lr=0.01)
        model.train(X_train, y_train, X_val, y_val, epochs=250, batch_size=64)
        test_accuracy = model.accuracy(X_test, y_test)
        assert_greater_equal(test_accuracy, 0.77, f"Test accuracy: {test_accuracy:.4f} (threshold 0.77)")
    else:
        print_red("Doctests failed!")
