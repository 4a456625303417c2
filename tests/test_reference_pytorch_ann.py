"""Tests for reference/pytorch_ann.py: the solution's PyTorchANN with ``model.eval()`` that works,
labels in either form, checked inputs, reshuffled batches, and ``python -m reference pytorch_ann``."""
import inspect
import re

import pytest
import torch
from helpers import modes, same_state, state, torch_toy_data

import pytorch_ann
from course.facts import Split
from reference.pytorch_ann import PyTorchANN, settings, train_by_epoch

toy_data = torch_toy_data


pytestmark = pytest.mark.usefixtures("one_thread")


def test_it_trains_exactly_as_the_solution_does():
    X, y, Y = toy_data()
    ours, theirs = PyTorchANN(6, 5, 3, random_seed=4), pytorch_ann.PyTorchANN(6, 5, 3, random_seed=4)
    ours.train(X, Y, X, Y, epochs=3, batch_size=16, learning_rate=0.3)
    theirs.train(X, Y, X, Y, epochs=3, batch_size=16, learning_rate=0.3)
    assert same_state(state(ours), state(theirs))
    assert ours.train_val_metrics == theirs.train_val_metrics


def test_train_extends_the_handouts_signature():
    params = list(inspect.signature(PyTorchANN.train).parameters)
    assert params[:8] == ["self", "X_train", "y_train", "X_val", "y_val", "epochs", "batch_size", "learning_rate"]


def test_train_and_eval_still_switch_modes_of_every_submodule():
    model = PyTorchANN(5, 4, 3)
    assert model.eval() is model and modes(model) == {False}
    assert model.train() is model and modes(model) == {True}
    assert model.train(False) is model and modes(model) == {False}
    assert model.train(True) is model and modes(model) == {True}
    assert model.train(mode=False) is model and modes(model) == {False}
    model.requires_grad_(False).eval()  # other nn.Module methods that go through train()
    assert modes(model) == {False}


def test_train_needs_all_four_sets():
    X, y, Y = toy_data()
    with pytest.raises(TypeError, match="X_train, y_train, X_val, y_val, epochs, batch_size and learning_rate"):
        PyTorchANN(6, 4, 3).train(X, Y)


@pytest.mark.parametrize("bad, match", [
    (dict(X_train=torch.rand(40, 5)), r"shape \(N, 6\)"),
    (dict(y_train=torch.zeros(39, dtype=torch.long)), "40 rows but y_train has 39"),
    (dict(y_train=torch.rand(40)), "one-hot float rows"),
    (dict(y_val=torch.zeros(40, 4)), r"\(N, 3\)"),
    (dict(epochs=0), "epochs and batch_size"),
])
def test_train_rejects_bad_inputs_saying_what_was_expected(bad, match):
    X, y, Y = toy_data()
    kwargs = dict(X_train=X, y_train=Y, X_val=X, y_val=Y, epochs=1, batch_size=8, learning_rate=0.1)
    with pytest.raises(ValueError, match=match):
        PyTorchANN(6, 4, 3).train(**{**kwargs, **bad})


def test_one_hot_and_integer_labels_train_identically():
    X, y, Y = toy_data()
    a, b = PyTorchANN(6, 5, 3), PyTorchANN(6, 5, 3)
    a.train(X, Y, X, Y, epochs=3, batch_size=8, learning_rate=0.2)
    b.train(X, y, X, y, epochs=3, batch_size=8, learning_rate=0.2)
    assert a.train_val_metrics == b.train_val_metrics
    assert same_state(state(a), state(b))
    assert a.accuracy(X, Y) == a.accuracy(X, y) == (a.predict(X) == y).sum().item() / 40


def test_shuffled_runs_are_seeded_and_differ_from_in_order_ones():
    """run(shuffle=True) (and --full) trains one epoch at a time on a seeded reshuffle."""
    X, y, Y = toy_data()
    data = Split(X, Y, X, Y, X, Y)
    hp = dict(epochs=2, batch_size=8, lr=0.2)
    runs = []
    for seed in (3, 3):
        model = PyTorchANN(6, 5, 3)
        train_by_epoch(model, data, hp, seed, cosine=False, verbose=False)
        runs.append(state(model))
        assert len(model.train_val_metrics["val_losses"]) == 2
    assert same_state(*runs)
    fixed = PyTorchANN(6, 5, 3)
    fixed.train(X, Y, X, Y, epochs=2, batch_size=8, learning_rate=0.2)
    assert not same_state(state(fixed), runs[0])


def test_settings_are_the_handouts():
    assert settings() == dict(epochs=100, batch_size=64, lr=0.2, hidden_size=32, shuffle=False)


@pytest.mark.slow
def test_the_handout_run_clears_its_threshold_and_its_judgement_is_the_rules_reading(tmp_path):
    """``python -m reference pytorch_ann``: the solution's training, its curves read by the rule."""
    import subprocess
    import sys

    from helpers import ANSI, ROOT

    done = subprocess.run([sys.executable, "-m", "reference", "pytorch_ann"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                       "MPLBACKEND": "Agg"})
    out = ANSI.sub("", done.stdout)
    assert done.returncode == 0, out + done.stderr
    assert re.search(r"Doctests: (\d+) of \1 passed", out) and "Using CPU" in out
    assert float(re.search(r"200 handout test images: ([\d.]+)", out)[1]) >= 0.80
    said, read = re.search(r"My judgement: (\w+) \(the judgement rule reads this run as: (\w+)\)", out).groups()
    assert said == read == PyTorchANN(5, 4, 3).report_my_judgement(), out
    assert (tmp_path / "reference_pytorch_ann_train_val_metrics.png").is_file()
