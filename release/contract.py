"""The handout's contract (../shared/HANDOUT.md, in the repository's own words): every class
and method the skeleton files carry, with the exact signature students get, and whether the
method is theirs to write ("student": it holds a ``# >>> YOUR CODE HERE >>>`` region) or the
skeleton's own ("provided").

``python -m release build`` gives every contract method this signature in the handout (the
reference may extend it: keyword arguments with defaults, ``nn.Module.train(mode)``);
``python -m release check`` proves the handout has exactly these methods, with these
signatures, and that the reference extends each one compatibly.
"""
from __future__ import annotations

CONTRACT = {
    "numpy_ann.py": {
        "NumpyANN.__init__": ("(self, input_size, hidden_size, output_size, lr, random_seed=42)", "student"),
        "NumpyANN._relu": ("(z)", "student"),
        "NumpyANN._relu_grad": ("(z)", "student"),
        "NumpyANN._softmax": ("(z)", "provided"),
        "NumpyANN._cross_entropy": ("(y_pred, y_true)", "student"),
        "NumpyANN._forward": ("(self, X, training=True)", "student"),
        "NumpyANN._backward": ("(self, X, y_true)", "student"),
        "NumpyANN.train": ("(self, X_train, y_train, X_val, y_val, epochs, batch_size)", "student"),
        "NumpyANN.predict": ("(self, X)", "student"),
        "NumpyANN.accuracy": ("(self, X, y_true)", "student"),
    },
    "pytorch_ann.py": {
        "PyTorchANN.__init__": ("(self, input_size, hidden_size, output_size, random_seed=42)", "student"),
        "PyTorchANN.forward": ("(self, X)", "student"),
        "PyTorchANN.train": ("(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate)", "student"),
        "PyTorchANN.predict": ("(self, X)", "student"),
        "PyTorchANN.accuracy": ("(self, X, y)", "provided"),
        "PyTorchANN.plot_train_val_metrics": ("(self)", "student"),
        "PyTorchANN.report_my_judgement": ("(self)", "student"),
    },
    "pytorch_cnn.py": {
        "PyTorchCNN.__init__": ("(self, num_classes=10, random_seed=42)", "student"),
        "PyTorchCNN.forward": ("(self, X)", "provided"),
        "PyTorchCNN.train": ("(self, X_train, y_train, X_val, y_val, epochs=10, learning_rate=0.001)", "provided"),
        "PyTorchCNN.predict": ("(self, X)", "provided"),
        "PyTorchCNN.accuracy": ("(self, X, y)", "provided"),
        "PyTorchCNN.plot_train_val_metrics": ("(self)", "provided"),
        "PyTorchCNN.report_my_judgement": ("(self)", "student"),
    },
}
FILES = tuple(CONTRACT)
# What the skeleton files may import: the course's packages, the standard library's few the
# skeleton uses, and the shipped utils.
ALLOWED_IMPORTS = {"__future__", "doctest", "os", "random", "pathlib", "numpy", "torch", "torchvision",
                   "sklearn", "matplotlib", "utils"}
