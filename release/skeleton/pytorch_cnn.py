# Handout-only parts of pytorch_cnn.py. `python -m release build` puts each part where the
# reference marks `# >>> REFERENCE ONLY: <name> >>>`, indented like that marker. The
# "provided" part is the skeleton's own training code (the reference trains its own way).

# part: docstring
"""Part 3: a four-block convolutional network for Fashion-MNIST, in PyTorch.

Build the network in ``__init__`` and give your judgement of its curves; the rest (forward,
training, prediction, plotting) is provided. ``python pytorch_cnn.py`` runs the doctests and,
when they all pass, trains on the handout's split (on CUDA, Apple MPS or the CPU, whichever
is there): one full-batch Adam step per epoch, 60 epochs, about 3 minutes on a 2-core CPU.
"""

# part: provided
def forward(self, X):
    """Logits: (N, 1, 28, 28) -> (N, num_classes)."""
    return self.model(X)

def train(self, X_train, y_train, X_val, y_val, epochs=10, learning_rate=0.001):
    """Train with Adam and cross-entropy, one full-batch step per epoch; record the metrics.

    Labels are one-hot floats. After each epoch, one pass in eval mode over the validation
    set; the progress line is printed every epoch. ``self.train_val_metrics`` holds
    ``{"train_losses", "train_accs", "val_losses", "val_accs"}``, one float per epoch.
    """
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
    metrics = {key: [] for key in utils.METRIC_KEYS}
    for epoch in range(1, epochs + 1):
        self.model.train()
        optimizer.zero_grad()
        logits = self(X_train)
        loss = loss_fn(logits, y_train)
        loss.backward()
        optimizer.step()
        self.model.eval()
        with torch.no_grad():
            val_logits = self(X_val)
            metrics["train_losses"].append(loss.item())
            metrics["train_accs"].append((logits.argmax(dim=1) == y_train.argmax(dim=1)).float().mean().item())
            metrics["val_losses"].append(loss_fn(val_logits, y_val).item())
            metrics["val_accs"].append((val_logits.argmax(dim=1) == y_val.argmax(dim=1)).float().mean().item())
        print(utils.progress_line(epoch, epochs, *(metrics[key][-1] for key in utils.METRIC_KEYS)))
    self.train_val_metrics = metrics

def predict(self, X):
    """Predicted class labels, shape (N,), in eval mode without gradients."""
    self.model.eval()
    with torch.no_grad():
        return self(X).argmax(dim=1)

def accuracy(self, X, y):
    """Fraction of correct predictions (python float); ``y`` one-hot or class labels."""
    y = utils.class_indices(y, self.num_classes)
    return (self.predict(X) == y.to(X.device)).sum().item() / len(y)

def plot_train_val_metrics(self):
    """Draw the curves of the last ``train`` call, save them as
    ``pytorch_cnn_train_val_metrics.png`` next to this file; return ``(fig, ax)``."""
    return utils.plot_train_val_metrics(self.train_val_metrics, path=PLOT_PATH)

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
