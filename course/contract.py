"""The skeleton's contract (../shared/HANDOUT.md): every class and method the three files carry,
with the exact signature students get and the *layout* of each method: its ``# >>> YOUR CODE
HERE >>>`` regions and the provided code around them, in order.

A layout is a list: :data:`REGION` for a region, or a fragment of provided code, which must
appear (as a substring of one line) after the previous entry and before the next region. It
lists the provided code through which the skeleton states what the grader checks (formats,
titles, sizes, seeds, the loops); the rest of a method's provided code is free.

The course's skeleton has 14, 13 and 2 regions. It marks none in ``NumpyANN._cross_entropy``,
whose one-line body students write all the same; the handout gives that body a region of its
own, so every line a student writes is inside a region: 15, 13 and 2.
``course.regions.layout_problems`` holds a file to this contract.
"""
from __future__ import annotations

REGION = "REGION"

# file -> qualified name -> (signature, layout)
CONTRACT = {
    "numpy_ann.py": {
        "NumpyANN.__init__": ("(self, input_size, hidden_size, output_size, lr, random_seed=42)", [
            "np.random.seed(random_seed)", REGION,
            "self.W1 = np.random.randn(self.input_size, self.hidden_size) * 0.01",
            "self.b1 = np.zeros((1, self.hidden_size))", REGION]),
        "NumpyANN._relu": ("(z)", [REGION, "return relu"]),
        "NumpyANN._relu_grad": ("(z)", [REGION, "return grad"]),
        "NumpyANN._softmax": ("(z)", ["np.exp(", "return "]),
        "NumpyANN._cross_entropy": ("(y_pred, y_true)", [REGION]),  # the handout's own region
        "NumpyANN._forward": ("(self, X, training=True)", [REGION, REGION, "if training:", "return a2"]),
        "NumpyANN._backward": ("(self, X, y_true)", [
            "m = y_true.shape[0]", "dz2 = self.a2 - y_true", "dW2 = self.a1.T @ dz2 / m",
            "db2 = np.sum(dz2, axis=0, keepdims=True) / m", REGION, REGION,
            "self.W2 -= self.lr * dW2", "self.b2 -= self.lr * db2", REGION]),
        "NumpyANN.train": ("(self, X_train, y_train, X_val, y_val, epochs, batch_size)", [
            "for epoch in range(epochs):", "for i in range(0, X_train.shape[0], batch_size):",
            "X_batch = X_train[i:i + batch_size]", "y_batch = y_train[i:i + batch_size]", REGION, REGION,
            "y_pred_train = self._forward(X_train, training=False)",
            "y_pred_val = self._forward(X_val, training=False)", REGION,
            "train_acc = self.accuracy(X_train, y_train)", "val_acc = self.accuracy(X_val, y_val)",
            "if (epoch + 1) % 10 == 0:", 'print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_loss:.5f} | '
                                         'Train Accuracy: {train_acc:.5f} | "',
            '"Val Loss: {val_loss:.5f} | Val Accuracy: {val_acc:.5f}")']),
        "NumpyANN.predict": ("(self, X)", [REGION, "return y_pred"]),
        "NumpyANN.accuracy": ("(self, X, y_true)", [REGION, "return accuracy"]),
    },
    "pytorch_ann.py": {
        "PyTorchANN.__init__": ("(self, input_size, hidden_size, output_size, random_seed=42)", [
            "super().__init__()", REGION, REGION, "torch.manual_seed(random_seed)", REGION]),
        "PyTorchANN.forward": ("(self, X)", [REGION, "return output"]),
        "PyTorchANN.train": ("(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate)", [
            REGION, "train_losses, train_accs = [], []", "val_losses, val_accs = [], []",
            "for epoch in range(epochs):",
            "for X_batch, y_batch in zip(X_train.split(batch_size), y_train.split(batch_size)):",
            "self.model.train()", "optimizer.zero_grad()", REGION, REGION, REGION, REGION,
            "self.model.eval()", "with torch.no_grad():",
            "train_losses.append(loss_function(self.forward(X_train), y_train).item())",
            "train_accs.append(self.accuracy(X_train, y_train))",
            "val_losses.append(loss_function(self.forward(X_val), y_val).item())",
            "val_accs.append(self.accuracy(X_val, y_val))", "if (epoch + 1) % 5 == 0:",
            'print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_losses[-1]:.5f} | "',
            "self.train_val_metrics = "]),
        "PyTorchANN.predict": ("(self, X)", ["self.model.eval()", "with torch.no_grad():", REGION, "return labels"]),
        "PyTorchANN.accuracy": ("(self, X, y)", ["self.predict(X) == y.argmax(dim=1)", "return "]),
        "PyTorchANN.plot_train_val_metrics": ("(self)", [
            "fig, ax = plt.subplots(1, 2, figsize=(12, 6))", REGION, 'ax[0].set_xlabel("Epoch")',
            'ax[0].set_ylabel("Loss")', "ax[0].legend()", REGION, 'ax[1].set_xlabel("Epoch")',
            'ax[1].set_ylabel("Accuracy")', "ax[1].legend()", 'fig.suptitle("Train/Val Metrics")',
            "fig.tight_layout()", 'plt.savefig("pytorch_ann_train_val_metrics.png")', "return fig, ax"]),
        "PyTorchANN.report_my_judgement": ("(self)", [REGION, "assert my_judgement in", "return my_judgement"]),
    },
    "pytorch_cnn.py": {
        "PyTorchCNN.__init__": ("(self, num_classes=10, random_seed=42)", [
            "super().__init__()", "torch.manual_seed(random_seed)", "np.random.seed(random_seed)",
            "random.seed(random_seed)", "self.num_classes = num_classes", REGION]),
        "PyTorchCNN.forward": ("(self, X)", ["return self.model(X)"]),
        "PyTorchCNN.train": ("(self, X_train, y_train, X_val, y_val, epochs=10, learning_rate=0.001)", [
            "nn.CrossEntropyLoss()", "torch.optim.Adam(self.model.parameters(), lr=learning_rate)",
            "for epoch in range(epochs):", "self.model.train()", "optimizer.zero_grad()",
            "output = self.forward(X_train)", "loss.backward()", "optimizer.step()", "self.model.eval()",
            "with torch.no_grad():", 'print(f"[{epoch + 1} / {epochs}] | Train Loss: {train_losses[-1]:.5f} | "',
            "self.train_val_metrics = "]),
        "PyTorchCNN.predict": ("(self, X)", ["self.model.eval()", "with torch.no_grad():",
                                             "return self.forward(X).argmax(dim=1)"]),
        "PyTorchCNN.accuracy": ("(self, X, y)", ["self.predict(X) == y.argmax(dim=1)", "return "]),
        "PyTorchCNN.plot_train_val_metrics": ("(self)", [
            "fig, ax = plt.subplots(1, 2, figsize=(12, 6))", "ax[0].legend()", "ax[1].legend()",
            'fig.suptitle("Train/Val Metrics")', 'plt.savefig("pytorch_cnn_train_val_metrics.png")',
            "return fig, ax"]),
        "PyTorchCNN.report_my_judgement": ("(self)", [REGION, "assert my_judgement in", "return my_judgement"]),
    },
}
FILES = tuple(CONTRACT)
REGIONS = {name: sum(layout.count(REGION) for _, layout in methods.values()) for name, methods in CONTRACT.items()}
# What the skeleton files may import: the course's packages, the standard library's few the
# skeleton uses, and the shipped utils.
ALLOWED_IMPORTS = {"__future__", "doctest", "os", "random", "pathlib", "numpy", "torch", "torchvision",
                   "sklearn", "matplotlib", "utils"}


# qualified name ("NumpyANN.train") -> its signature, "(self, X_train, ...)"
SIGNATURES = {qualname: signature for methods in CONTRACT.values() for qualname, (signature, _) in methods.items()}

# The provided code of each file, pinned: SHA-256 of its lines outside the regions (docstrings and
# main block included; ``course.regions.provided_digest``). It is what students receive, so a change
# to it is a change to the handout: ``release check`` refuses one until the pin is updated here.
PROVIDED = {
    "numpy_ann.py": "5fc7b61c6a0714b5d0595cb7eb6f2504f59112e2298b4c05a01b25e5fdc25bd5",
    "pytorch_ann.py": "010c4d7b2c0ac03d514eea73cb4b6a341bbc6298ab7946cf004039fd2d4492ed",
    "pytorch_cnn.py": "29c76e719f54d316a58c8bb883bfae0732659a915445c6ee7b8300b8a632bf3f",
}
