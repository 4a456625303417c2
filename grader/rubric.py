"""The handout's 42-point rubric: one line per item, and the groups that grade them.

An item is ``Item(id, name, points, group, public)``. Its check is the function registered
for its id in ``grader/checks/`` (``@check("1.5")``); :func:`grader.checks.registry` refuses
to start when an item has no check or a check has no item, so adding an item is one line
here plus one registered check.

Items are graded in *groups*, one sandboxed process per group (``grader/sandbox.py``), so a
crash, a hang or an ``exit`` in the student's code costs only the items of that group:
``*_unit`` groups probe the classes on small inputs the grader chooses (seconds); ``*_run``
groups run the student's script on the real data and are skipped by ``--fast``.

``public`` marks what ``python <file>.py`` already shows students (the handout's doctests and
the three script runs): Gradescope shows those at once; the others are hidden tests, shown
``after_published`` by default (``python -m grader --hidden-visibility``).

The handout's numbers (thresholds, split sizes, the scripted runs' settings) are not here:
they live once, in ``course/facts.py``, which the grader, ``release/``, ``reference/`` and the
benchmarks all read.
"""
from __future__ import annotations

from typing import NamedTuple

from course.facts import THRESHOLDS


class Item(NamedTuple):
    id: str
    name: str
    points: int
    group: str
    public: bool
    judgement: bool = False  # report_my_judgement() against a run's curves (the rest of a run group: its accuracy)


ITEMS = (
    Item("1.1", "NumpyANN.__init__: attributes, seeded weights and zero biases", 3, "numpy_unit", False),
    Item("1.2", "NumpyANN._relu", 1, "numpy_unit", True),
    Item("1.3", "NumpyANN._relu_grad", 1, "numpy_unit", True),
    Item("1.4", "NumpyANN._cross_entropy", 1, "numpy_unit", True),
    Item("1.5", "NumpyANN._forward", 2, "numpy_unit", True),
    Item("1.6", "NumpyANN._backward (gradient step)", 3, "numpy_unit", True),
    Item("1.7", "NumpyANN.train (mini-batches, progress lines)", 2, "numpy_unit", False),
    Item("1.8", "NumpyANN.predict", 1, "numpy_unit", True),
    Item("1.9", "NumpyANN.accuracy", 2, "numpy_unit", True),
    Item("1.10", f"python numpy_ann.py: test accuracy >= {THRESHOLDS['numpy_ann']}", 2, "numpy_run", True),
    Item("2.1", "PyTorchANN.__init__: attributes, seeded nn.Sequential", 3, "ann_unit", True),
    Item("2.2", "PyTorchANN.forward", 1, "ann_unit", True),
    Item("2.3", "PyTorchANN.train (loss, SGD, steps, zero_grad, metrics)", 5, "ann_unit", False),
    Item("2.4", "PyTorchANN.predict", 1, "ann_unit", True),
    Item("2.5", "PyTorchANN.plot_train_val_metrics", 1, "ann_unit", False),
    Item("2.6", f"python pytorch_ann.py: test accuracy >= {THRESHOLDS['pytorch_ann']:.2f}", 2, "ann_run", True),
    Item("2.7", "PyTorchANN.report_my_judgement", 1, "ann_run", False, judgement=True),
    Item("3.1", "PyTorchCNN.__init__: the 24-module architecture", 6, "cnn_unit", True),
    Item("3.2", f"python pytorch_cnn.py: test accuracy >= {THRESHOLDS['pytorch_cnn']}", 2, "cnn_run", True),
    Item("3.3", "PyTorchCNN.report_my_judgement", 2, "cnn_run", False, judgement=True),
)
ITEM_BY_ID = {item.id: item for item in ITEMS}
TOTAL_POINTS = sum(item.points for item in ITEMS)
assert TOTAL_POINTS == 42, TOTAL_POINTS


class Group(NamedTuple):
    module: str      # the student's file, without .py
    cls: str         # the class it grades
    run: bool        # runs the script on the real data (skipped by --fast)
    torch: bool      # needs torch in the sandbox


GROUPS = {
    "numpy_unit": Group("numpy_ann", "NumpyANN", False, False),
    "ann_unit": Group("pytorch_ann", "PyTorchANN", False, True),
    "cnn_unit": Group("pytorch_cnn", "PyTorchCNN", False, True),
    "numpy_run": Group("numpy_ann", "NumpyANN", True, False),
    "ann_run": Group("pytorch_ann", "PyTorchANN", True, True),
    "cnn_run": Group("pytorch_cnn", "PyTorchCNN", True, True),
}  # in grading order: the quick unit groups first, so a tight time budget costs the least
SUBMISSION_FILES = tuple(dict.fromkeys(f"{g.module}.py" for g in GROUPS.values()))
UNIT_GROUP = {g.module: name for name, g in GROUPS.items() if not g.run}  # module -> its unit group
RUN_GROUP = {g.module: name for name, g in GROUPS.items() if g.run}  # module -> its run group
# The items that run a script on the real data and score its accuracy (skipped by --fast).
SCRIPT_ITEMS = tuple(item.id for item in ITEMS if GROUPS[item.group].run and not item.judgement)
VERDICTS = ("underfitting", "overfitting", "generalizing")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def items_of(group: str) -> list[Item]:
    return [item for item in ITEMS if item.group == group]
