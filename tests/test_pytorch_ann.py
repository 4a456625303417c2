"""Tests for pytorch_ann.py (Part 2), the course's file. (The reference's extras on top:
test_reference_pytorch_ann.py.)

The handout's quoted values are doctests in pytorch_ann.py itself (run by pytest too).
"""
import inspect
import re

import pytest
import torch
from helpers import LINE, modes, same_state, script_run, state, torch_toy_data
from torch import nn

from pytorch_ann import PyTorchANN

toy_data = torch_toy_data


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------- construction
def test_attributes_and_architecture():
    model = PyTorchANN(input_size=784, hidden_size=32, output_size=10, random_seed=3)
    assert (model.input_size, model.hidden_size, model.output_size, model.seed) == (784, 32, 10, 3)
    assert [type(m) for m in model.model] == [nn.Linear, nn.ReLU, nn.Linear]
    assert (model.model[0].in_features, model.model[0].out_features) == (784, 32)
    assert (model.model[2].in_features, model.model[2].out_features) == (32, 10)
    assert sum(p.numel() for p in model.parameters()) == 784 * 32 + 32 + 32 * 10 + 10


def test_init_seeds_torch_before_building_the_layers():
    torch.manual_seed(11)
    expected = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    model = PyTorchANN(5, 4, 3, random_seed=11)
    assert same_state(model.model.state_dict(), expected.state_dict())
    assert not torch.equal(PyTorchANN(5, 4, 3, random_seed=12).model[0].weight, model.model[0].weight)


def test_forward_shapes():
    model = PyTorchANN(input_size=6, hidden_size=5, output_size=3)
    assert model(torch.rand(7, 6)).shape == (7, 3)
    assert model(torch.rand(6)).shape == (3,)
    assert torch.equal(model.forward(torch.ones(2, 6)), model.model(torch.ones(2, 6)))


# ---------------------------------------------------------------------- module semantics
def test_to_moves_and_casts_parameters():
    model = PyTorchANN(5, 4, 3)
    assert model.to(torch.float64) is model
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    assert model.to("cpu") is model and {p.device.type for p in model.parameters()} == {"cpu"}
    assert model(torch.rand(2, 5, dtype=torch.float64)).dtype == torch.float64


# ---------------------------------------------------------------------- training
def test_train_has_the_handouts_signature_and_shadows_nn_module_train():
    """The skeleton's wart, kept: ``train`` replaces ``nn.Module.train(mode)``, so ``eval()``
    (which calls ``self.train(False)``) fails; the provided code switches ``self.model`` instead."""
    params = list(inspect.signature(PyTorchANN.train).parameters)
    assert params == ["self", "X_train", "y_train", "X_val", "y_val", "epochs", "batch_size", "learning_rate"]
    model = PyTorchANN(5, 4, 3)
    with pytest.raises(TypeError):
        model.eval()
    model.model.eval()
    assert modes(model.model) == {False}


def test_unshuffled_train_is_plain_minibatch_sgd_in_order():
    """Same weights as a hand-written loop: zero_grad, forward, CE loss, backward, step."""
    X, y, Y = toy_data()
    model = PyTorchANN(6, 5, 3, random_seed=4)
    ref = PyTorchANN(6, 5, 3, random_seed=4).model
    model.train(X, Y, X, Y, epochs=3, batch_size=16, learning_rate=0.3)
    opt = torch.optim.SGD(ref.parameters(), lr=0.3)
    for _ in range(3):
        for s in range(0, 40, 16):  # batches of 16, 16, 8
            opt.zero_grad()
            nn.CrossEntropyLoss()(ref(X[s:s + 16]), Y[s:s + 16]).backward()
            opt.step()
    for p, q in zip(model.model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q)


def test_metrics_are_recorded_per_epoch_and_are_what_they_claim():
    """After each epoch, the skeleton's way: eval mode, whole sets, the plain cross-entropy."""
    X, y, Y = toy_data()
    Xv, yv, Yv = toy_data(n=20, seed=1)
    model = PyTorchANN(6, 5, 3, random_seed=0)
    model.train(X, Y, Xv, Yv, epochs=4, batch_size=16, learning_rate=0.5)
    m = model.train_val_metrics
    assert set(m) == {"train_losses", "train_accs", "val_losses", "val_accs"}
    assert all(len(v) == 4 and all(isinstance(x, float) for x in v) for v in m.values())
    with torch.no_grad():  # the last entries are the final weights' metrics, train and val alike
        assert m["train_losses"][-1] == pytest.approx(nn.CrossEntropyLoss()(model(X), y).item(), rel=1e-6)
        assert m["val_losses"][-1] == pytest.approx(nn.CrossEntropyLoss()(model(Xv), yv).item(), rel=1e-6)
    assert m["train_accs"][-1] == model.accuracy(X, Y) and m["val_accs"][-1] == model.accuracy(Xv, Yv)
    assert m["train_losses"][-1] < m["train_losses"][0]
    assert modes(model.model) == {False}  # the metric pass leaves the network in eval mode


def test_prints_every_fifth_epoch_in_the_handout_format(capsys):
    X, y, Y = toy_data()
    PyTorchANN(6, 5, 3).train(X, Y, X, Y, epochs=12, batch_size=8, learning_rate=0.1)
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).group(1, 2) for line in lines] == [("5", "12"), ("10", "12")]


def test_training_is_deterministic_for_a_seed_and_the_seed_matters():
    X, y, Y = toy_data()
    runs = []
    for seed in (5, 5, 6):
        model = PyTorchANN(6, 5, 3, random_seed=seed)
        model.train(X, Y, X, Y, epochs=3, batch_size=8, learning_rate=0.2)
        runs.append((model.train_val_metrics, state(model)))
    assert runs[0][0] == runs[1][0] and same_state(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_predict_and_accuracy():
    X, y, Y = toy_data()
    model = PyTorchANN(6, 5, 3)
    model.model.train()
    pred = model.predict(X)
    assert pred.dtype == torch.long and pred.shape == (40,)
    assert torch.equal(pred, model.model(X).argmax(dim=1))
    assert modes(model.model) == {False}  # predict evaluates in eval mode
    acc = model.accuracy(X, Y)
    assert isinstance(acc, float) and acc == (pred == y).sum().item() / 40


# ---------------------------------------------------------------------- plot, judgement
def test_plot_saves_in_the_working_directory_and_returns_fig_ax(tmp_path, monkeypatch):
    """The skeleton's figure: one row of two axes, 12 x 6 in, labels, legends, the title."""
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    X, y, Y = toy_data()
    model = PyTorchANN(6, 5, 3)
    model.train(X, Y, X, Y, epochs=3, batch_size=8, learning_rate=0.2)
    fig, ax = model.plot_train_val_metrics()
    assert (tmp_path / "pytorch_ann_train_val_metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert tuple(fig.get_size_inches()) == (12, 6) and len(ax) == 2
    assert fig._suptitle.get_text() == "Train/Val Metrics"
    assert [(a.get_xlabel(), a.get_ylabel(), len(a.lines)) for a in ax] == [("Epoch", "Loss", 2),
                                                                           ("Epoch", "Accuracy", 2)]
    assert all(a.get_legend() is not None for a in ax)
    assert list(ax[0].lines[0].get_ydata()) == model.train_val_metrics["train_losses"]
    assert list(ax[1].lines[1].get_ydata()) == model.train_val_metrics["val_accs"]
    assert list(ax[0].lines[0].get_xdata()) == [1, 2, 3]  # epochs count from 1
    plt.close(fig)


def test_report_my_judgement_is_a_constant_from_the_handout_set():
    assert PyTorchANN(5, 4, 3).report_my_judgement() in ("underfitting", "overfitting", "generalizing")
    assert "return" in inspect.getsource(PyTorchANN.report_my_judgement)


# ---------------------------------------------------------------------- the real run
# ---------------------------------------------------------------------- the real run
@pytest.mark.slow
def test_script_clears_the_handout_threshold(solution_full):
    """``python pytorch_ann.py``, the skeleton's main, as the grader ran it in the solution's full grade."""
    ended, out = script_run(solution_full, "pytorch_ann")
    assert ended == "finished", out
    assert "Doctests passed!" in out and "Doctests failed!" not in out
    assert re.search(r"^Using (cpu|cuda|mps)", out, re.M), out
    progress = [LINE.match(line) for line in out.splitlines() if line.startswith("[")]
    assert [m.groups() for m in progress] == [(str(e), "100") for e in range(5, 101, 5)]
    accuracy = float(re.search(r"^Test accuracy: (\d\.\d{4}) \(threshold 0.80\)$", out, re.M)[1])
    assert accuracy >= 0.80, out
    assert f"My judgement: {PyTorchANN(5, 4, 3).report_my_judgement()}" in out
