# Handout-only parts of numpy_ann.py. `python -m release build` puts each part where the
# reference marks `# >>> REFERENCE ONLY: <name> >>>`, indented like that marker.

# part: docstring
"""Part 1: a one-hidden-layer neural network for Fashion-MNIST, in numpy, with backprop by hand.

The network is ``X -> Linear(W1, b1) -> ReLU -> Linear(W2, b2) -> softmax``, trained with
cross-entropy and mini-batch gradient descent. Fill in every region marked
``# >>> YOUR CODE HERE >>>``; each method's docstring says what it must do, and its
examples are doctests. ``python numpy_ann.py`` runs the doctests and, when they all pass,
trains on the handout's split and reports the test accuracy.

Shapes used throughout: ``n`` samples, ``d = input_size`` features,
``h = hidden_size`` hidden units, ``k = output_size`` classes.
"""

# part: main
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
