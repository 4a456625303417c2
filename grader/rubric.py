"""The handout's 42-point rubric: item id, name, points, and the group that checks it.

Items are checked in *groups*: one child process per group, so a crash, a hang or
an ``exit`` in the student's code costs only the items of that group. ``*_unit``
groups probe the classes on tiny synthetic inputs (seconds); ``*_run`` groups run
the student's script on the real data (the handout protocol) and are skipped by
``--fast``.
"""
from __future__ import annotations

from typing import NamedTuple


class Item(NamedTuple):
    id: str
    name: str
    points: int
    group: str


ITEMS = (
    Item("1.1", "NumpyANN.__init__: attributes, seeded weights and zero biases", 3, "numpy_unit"),
    Item("1.2", "NumpyANN._relu", 1, "numpy_unit"),
    Item("1.3", "NumpyANN._relu_grad", 1, "numpy_unit"),
    Item("1.4", "NumpyANN._cross_entropy", 1, "numpy_unit"),
    Item("1.5", "NumpyANN._forward", 2, "numpy_unit"),
    Item("1.6", "NumpyANN._backward (gradient step)", 3, "numpy_unit"),
    Item("1.7", "NumpyANN.train (mini-batches, progress lines)", 2, "numpy_unit"),
    Item("1.8", "NumpyANN.predict", 1, "numpy_unit"),
    Item("1.9", "NumpyANN.accuracy", 2, "numpy_unit"),
    Item("1.10", "python numpy_ann.py: test accuracy >= 0.77", 2, "numpy_run"),
    Item("2.1", "PyTorchANN.__init__: attributes, seeded nn.Sequential", 3, "ann_unit"),
    Item("2.2", "PyTorchANN.forward", 1, "ann_unit"),
    Item("2.3", "PyTorchANN.train (loss, SGD, steps, zero_grad, metrics)", 5, "ann_unit"),
    Item("2.4", "PyTorchANN.predict", 1, "ann_unit"),
    Item("2.5", "PyTorchANN.plot_train_val_metrics", 1, "ann_unit"),
    Item("2.6", "python pytorch_ann.py: test accuracy >= 0.80", 2, "ann_run"),
    Item("2.7", "PyTorchANN.report_my_judgement", 1, "ann_run"),
    Item("3.1", "PyTorchCNN.__init__: the 24-module architecture", 6, "cnn_unit"),
    Item("3.2", "python pytorch_cnn.py: test accuracy >= 0.85", 2, "cnn_run"),
    Item("3.3", "PyTorchCNN.report_my_judgement", 2, "cnn_run"),
)
ITEM_BY_ID = {item.id: item for item in ITEMS}
TOTAL_POINTS = sum(item.points for item in ITEMS)
assert TOTAL_POINTS == 42, TOTAL_POINTS

# group -> (the submission file it needs, the class it grades)
GROUPS = {
    "numpy_unit": ("numpy_ann.py", "NumpyANN"),
    "numpy_run": ("numpy_ann.py", "NumpyANN"),
    "ann_unit": ("pytorch_ann.py", "PyTorchANN"),
    "ann_run": ("pytorch_ann.py", "PyTorchANN"),
    "cnn_unit": ("pytorch_cnn.py", "PyTorchCNN"),
    "cnn_run": ("pytorch_cnn.py", "PyTorchCNN"),
}
RUN_GROUPS = ("numpy_run", "ann_run", "cnn_run")

# The real-data items: the threshold on the 200 handout test images.
THRESHOLDS = {"1.10": 0.77, "2.6": 0.80, "3.2": 0.85}
# The judgement items and the run whose curves they are judged against.
JUDGEMENTS = {"2.7": "2.6", "3.3": "3.2"}
VERDICTS = ("underfitting", "overfitting", "generalizing")


def items_of(group: str) -> list[Item]:
    return [item for item in ITEMS if item.group == group]
