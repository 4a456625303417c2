"""Seeded-bug submissions for the grader's tests, generated from the filled handout.

Each bug is a small textual mutation of what a perfect student hands in: the handout's
``numpy_ann.py``, ``pytorch_ann.py`` or ``pytorch_cnn.py`` filled with the reference's regions
(``release.build.render(name, filled=True)``; never a hand-copied solution). Most edit a
region; a few delete or move provided code, as students do too. Every edit must match: if the
reference is rewritten so that a pattern no longer matches, :func:`mutate` raises instead of
silently producing a correct "bug".
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
    hint: str | None = None        # a known mistake: the start of the hint its item's output must give


def mutate(bug: Bug, source: str) -> str:
    for pattern, replacement in bug.edits:
        source, count = re.subn(pattern, replacement, source, flags=re.MULTILINE)
        if count == 0:
            raise AssertionError(f"bug {bug.name!r}: pattern {pattern!r} not found in {bug.file}; "
                                 "the reference changed, update tests/grader_bugs.py")
    return source


def filled(name: str) -> str:
    """The handout's ``name`` filled with the reference's regions."""
    from release.build import render

    return render(name, filled=True)


def write_submission(bug: Bug, directory: Path) -> Path:
    """A submission holding only the mutated file (the other groups are not graded)."""
    directory.mkdir(parents=True, exist_ok=True)
    source = filled(bug.file)
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
        ((r"\(np\.asarray\(z\) > 0\)", "(np.asarray(z) >= 0)"),),
        hint="at z = 0 the derivative is taken as 0"),
    Bug("no division by the batch size m", NUMPY, "1.6",
        ((r"^(\s*d[Wb][12] = .*?)\s*/ m\b", r"\1"),),
        hint='divide each gradient by the batch size m'),
    Bug("cross-entropy averaged over classes too", NUMPY, "1.4",
        ((r"/ y_true\.shape\[0\]\)", "/ y_true.size)"),),
        hint="divide the summed -y_true * log(y_pred) by the number of samples only"),
    Bug("W2 updated before dz1 is computed", NUMPY, "1.6",
        ((r"\n\s*self\.W2 -= self\.lr \* dW2", ""),
         (r"^(\s*)(dz1 = )", r"\1self.W2 -= self.lr * dW2\n\1\2")),
        hint='compute dz1 with W2 as it was before this step'),
    Bug("weights drawn at scale 0.1", NUMPY, "1.1",
        ((r"(np\.random\.randn\(self\.hidden_size, self\.output_size\)) \* 0\.01", r"\1 * 0.1"),),
        hint='scale the standard normal draws by 0.01'),
    Bug("W2 drawn before W1", NUMPY, "1.1",  # in the attributes' region, before the provided W1
        ((r"^\s*self\.W2 = np\.random\.randn[^\n]*\n", ""),
         (r"^(\s*)(self\.lr = lr)$", r"\1\2\n\1self.W2 = np.random.randn(self.hidden_size, self.output_size) * 0.01")),
        hint='W1 is drawn first and W2 second'),
    Bug("predict returns labels", NUMPY, "1.8",
        ((r"^(\s*y_pred = self\._forward\(X, training=False\))\n(\s*# <<< END OF YOUR CODE <<<\n\s*return y_pred)",
          r"\1.argmax(axis=1)\n\2"),),
        hint='predict returns the probabilities themselves'),
    Bug("predict stores the forward pass", NUMPY, "1.8",
        ((r"^(\s*y_pred = self\._forward\(X, )training=False\)\n(\s*# <<< END OF YOUR CODE <<<\n\s*return y_pred)",
          r"\1training=True)\n\2"),),
        hint="call _forward(X, training=False)"),
    Bug("accuracy compares rounded probabilities, not argmax", NUMPY, "1.9",
        ((r"np\.mean\(np\.argmax\(y_pred, axis=1\) == np\.argmax\(y_true, axis=1\)\)\)$",
          "np.mean(np.round(y_pred) == y_true))"),),
        hint="compare the argmax of each row"),
    # ---------------------------------------------------------------- Part 2
    Bug("PyTorchANN without ReLU", ANN, "2.1",
        ((r"^\s*nn\.ReLU\(\),\n", ""),),
        hint='put an nn.ReLU() between the two nn.Linear layers'),
    Bug("Adam instead of SGD", ANN, "2.3",
        ((r"torch\.optim\.SGD\(", "torch.optim.Adam("),),
        hint="the handout's optimiser is plain torch.optim.SGD"),
    Bug("no zero_grad", ANN, "2.3",
        ((r"^\s*optimizer\.zero_grad\(\)\n", ""),),
        hint='keep the provided optimizer.zero_grad()'),
    Bug("predict returns logits", ANN, "2.4",
        ((r"labels = self\.forward\(X\)\.argmax\(dim=1\)", "labels = self.forward(X)"),),
        also=frozenset({"2.3"}),  # the skeleton's train measures its accuracies through predict
        hint="predict returns the predicted class of each sample"),
    Bug("predict switches the wrapper's mode, self.eval()", ANN, "2.4",  # provided self.model.eval() changed
        ((r"^(\s*)self\.model\.eval\(\)\n(\s*with torch\.no_grad\(\):\n\s*# The predicted label)",
          r"\1self.eval()\n\2"),),
        also=frozenset({"2.3"}),  # train measures its accuracies through predict
        hint="self.eval() and self.train() call this class's own train(...)"),
    Bug("plot not saved", ANN, "2.5",
        ((r'^\s*plt\.savefig\("pytorch_ann_train_val_metrics\.png"\)\n', ""),),
        hint='keep the provided plt.savefig("pytorch_ann_train_val_metrics.png")'),
    Bug("judgement is not one of the three words", ANN, "2.7",
        ((r'my_judgement = "(generalizing|overfitting|underfitting)"', 'my_judgement = "it generalizes well"'),)),
    # ---------------------------------------------------------------- Part 3
    Bug("Dropout 0.5", CNN, "3.1",
        ((r"p=0\.3", "p=0.5"),)),
    Bug("BatchNorm before pooling", CNN, "3.1",
        ((r"(nn\.MaxPool2d\([^)]*\)),(\s*)(nn\.BatchNorm2d\([^)]*\)),", r"\3,\2\1,"),),
        hint="each block is, in this order"),
    Bug("a missing block", CNN, "3.1",
        ((r", \(128, 256\)\)", ")"),)),
)
