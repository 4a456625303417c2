"""Seeded-bug submissions for the grader's tests, generated from the reference files.

Each bug is a small textual mutation of the repository's own ``numpy_ann.py``,
``pytorch_ann.py`` or ``pytorch_cnn.py`` (never a hand-copied solution). Every edit
must match the reference: if the reference is rewritten so that a pattern no longer
matches, :func:`mutate` raises instead of silently producing a correct "bug".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bug:
    name: str
    file: str
    item: str                      # the rubric item that must lose points
    edits: tuple                   # (regex, replacement) pairs, each must match at least once
    also: frozenset = field(default_factory=frozenset)  # items that may lose points as well


def mutate(bug: Bug, source: str) -> str:
    for pattern, replacement in bug.edits:
        source, count = re.subn(pattern, replacement, source, flags=re.MULTILINE)
        if count == 0:
            raise AssertionError(f"bug {bug.name!r}: pattern {pattern!r} not found in {bug.file}; "
                                 "the reference changed, update tests/grader_bugs.py")
    return source


def write_submission(bug: Bug, directory: Path) -> Path:
    """A submission holding only the mutated file (the other groups are not graded)."""
    directory.mkdir(parents=True, exist_ok=True)
    source = (ROOT / bug.file).read_text()
    mutated = mutate(bug, source)
    assert mutated != source
    (directory / bug.file).write_text(mutated)
    return directory


NUMPY = "numpy_ann.py"
ANN = "pytorch_ann.py"
CNN = "pytorch_cnn.py"

BUGS = (
    # ---------------------------------------------------------------- Part 1
    Bug("relu_grad is 1 at 0", NUMPY, "1.3",
        ((r"\(np\.asarray\(z\) > 0\)", "(np.asarray(z) >= 0)"),)),
    Bug("no division by the batch size m", NUMPY, "1.6",
        ((r"^(\s*d(?:z2|[Wb][12]) = .*?)\s*/ m\b", r"\1"),)),
    Bug("cross-entropy averaged over classes too", NUMPY, "1.4",
        ((r"/ y_true\.shape\[0\]\)", "/ y_true.size)"),)),
    Bug("W2 updated before dz1 is computed", NUMPY, "1.6",
        ((r"\n\s*self\.W2 -= self\.lr \* dW2", ""),
         (r"^(\s*)(dz1 = )", r"\1self.W2 -= self.lr * dW2\n\1\2"))),
    Bug("weights drawn at scale 0.1", NUMPY, "1.1",
        ((r"(np\.random\.randn\(input_size, hidden_size\)) \* 0\.01", r"\1 * 0.1"),)),
    Bug("W2 drawn before W1", NUMPY, "1.1",
        ((r"^(\s*self\.W1 = np\.random\.randn[^\n]*)(\n[^\n]*\n)(\s*self\.W2 = np\.random\.randn[^\n]*)",
          r"\3\2\1"),)),
    Bug("predict returns labels", NUMPY, "1.8",
        ((r"^(\s*return self\._forward\(X, training=False\))$", r"\1.argmax(axis=1)"),)),
    Bug("predict stores the forward pass", NUMPY, "1.8",
        ((r"^(\s*return self\._forward\(X, )training=False\)$", r"\1training=True)"),)),
    Bug("accuracy compares rounded probabilities, not argmax", NUMPY, "1.9",
        ((r"np\.mean\(np\.argmax\(y_pred, axis=1\) == np\.argmax\(y_true, axis=1\)\)\)$",
          "np.mean(np.round(y_pred) == y_true))"),)),
    # ---------------------------------------------------------------- Part 2
    Bug("PyTorchANN without ReLU", ANN, "2.1",
        ((r"^\s*nn\.ReLU\(\),\n", ""),)),
    Bug("Adam instead of SGD", ANN, "2.3",
        ((r"torch\.optim\.SGD\(", "torch.optim.Adam("),)),
    Bug("no zero_grad", ANN, "2.3",
        ((r"^\s*optimizer\.zero_grad\(\)\n", ""),)),
    Bug("predict returns logits", ANN, "2.4",
        ((r"return self\(X\)\.argmax\(dim=1\)", "return self(X)"),)),
    Bug("plot not saved", ANN, "2.5",
        ((r"(utils\.plot_train_val_metrics\(self\.train_val_metrics, path=)PLOT_PATH\)", r"\1None)"),)),
    Bug("judgement is not one of the three words", ANN, "2.7",
        ((r'return "(generalizing|overfitting|underfitting)"', 'return "it generalizes well"'),)),
    # ---------------------------------------------------------------- Part 3
    Bug("Dropout 0.5", CNN, "3.1",
        ((r"p=0\.3", "p=0.5"),)),
    Bug("BatchNorm before pooling", CNN, "3.1",
        ((r"(nn\.MaxPool2d\([^)]*\)),(\s*)(nn\.BatchNorm2d\([^)]*\)),", r"\3,\2\1,"),)),
    Bug("a missing block", CNN, "3.1",
        ((r", \(128, 256\)\)", ")"),)),
)
