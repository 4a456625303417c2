# Handout-only parts of pytorch_cnn.py. `python -m release build` puts each part where the
# reference marks `# >>> REFERENCE ONLY: <name> >>>`, indented like that marker.

# part: docstring
"""Part 3: a four-block convolutional network for Fashion-MNIST, in PyTorch.

Build the network in ``__init__`` and give your judgement of its curves: the two regions
marked ``# >>> YOUR CODE HERE >>>``. The rest (forward, training, prediction, plotting) is
provided. ``python pytorch_cnn.py`` runs the doctests and,
when they all pass, trains on the handout's split (on CUDA, Apple MPS or the CPU, whichever
is there): one full-batch Adam step per epoch, 60 epochs, about 3 minutes on a 2-core CPU.
"""

# part: main
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
