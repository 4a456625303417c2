"""Tests for pytorch_cnn.py (Part 3).

The handout's quoted values are doctests in pytorch_cnn.py itself (run by pytest too).
Training tests use a handful of random images so they stay fast.
"""
import inspect
import random
import re

import numpy as np
import pytest
import torch
from helpers import LINE, modes, same_state, script_run, state
from torch import nn

from pytorch_cnn import PyTorchCNN, random_flip_shift


def toy_images(n=24, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    return X, y, nn.functional.one_hot(y, k).float()


pytestmark = pytest.mark.usefixtures("one_thread")


FAST = dict(epochs=2, learning_rate=0.003, batch_size=8, augment=True, verbose=False)  # for fit()


# ---------------------------------------------------------------------- architecture
def test_the_24_modules_of_the_handout():
    model = PyTorchCNN()
    expected = []
    for c_in, c_out in ((1, 32), (32, 64), (64, 128), (128, 256)):
        expected += [("Conv2d", c_in, c_out), ("ReLU",), ("MaxPool2d",), ("BatchNorm2d", c_out),
                     ("Dropout",)]
    expected += [("Flatten",), ("Linear", 256, 128), ("ReLU",), ("Linear", 128, 10)]
    assert len(model.model) == 24
    for layer, want in zip(model.model, expected):
        assert type(layer).__name__ == want[0]
        if isinstance(layer, nn.Conv2d):
            assert (layer.in_channels, layer.out_channels) == want[1:]
            assert (layer.kernel_size, layer.stride, layer.padding) == ((3, 3), (1, 1), (1, 1))
        if isinstance(layer, nn.Linear):
            assert (layer.in_features, layer.out_features) == want[1:]
        if isinstance(layer, nn.BatchNorm2d):
            assert layer.num_features == want[1]
        if isinstance(layer, nn.MaxPool2d):
            assert layer.kernel_size == 2
        if isinstance(layer, nn.Dropout):
            assert layer.p == 0.3


@pytest.mark.parametrize("num_classes, params", [(10, 422_986), (3, 422_986 - 7 * 129)])
def test_parameter_count(num_classes, params):
    model = PyTorchCNN(num_classes=num_classes)
    assert model.num_classes == num_classes
    assert sum(p.numel() for p in model.parameters()) == params


def test_init_seeds_torch_numpy_and_random():
    PyTorchCNN(random_seed=7)
    after_init = (np.random.rand(), random.random())
    np.random.seed(7)
    random.seed(7)
    assert after_init == (np.random.rand(), random.random())
    torch.manual_seed(7)
    conv = nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1)
    assert torch.equal(PyTorchCNN(random_seed=7).model[0].weight, conv.weight)


def test_shapes_through_the_blocks():
    model = PyTorchCNN(num_classes=4).eval()
    X = torch.rand(3, 1, 28, 28)
    sizes = []
    with torch.no_grad():
        for layer in model.model:
            X = layer(X)
            if isinstance(layer, nn.Dropout):
                sizes.append(tuple(X.shape[1:]))
    assert sizes == [(32, 14, 14), (64, 7, 7), (128, 3, 3), (256, 1, 1)]
    assert X.shape == (3, 4)
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 4)


# ---------------------------------------------------------------------- module semantics
def test_train_and_eval_still_switch_modes_of_every_submodule():
    model = PyTorchCNN()
    assert model.eval() is model and modes(model) == {False}
    assert model.train() is model and modes(model) == {True}
    assert model.train(False) is model and modes(model) == {False}
    assert model.train(mode=True) is model and modes(model) == {True}


def test_eval_mode_disables_dropout_and_uses_running_batchnorm_stats():
    model = PyTorchCNN()
    X = torch.rand(4, 1, 28, 28)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(X), model(X))
        torch.testing.assert_close(model(X)[:1], model(X[:1]))  # no batch statistics in eval mode
    model.train()
    with torch.no_grad():
        assert not torch.equal(model(X), model(X))  # dropout is on


def test_to_moves_parameters_and_the_normalisation_buffers():
    model = PyTorchCNN().to(torch.float64)
    assert {t.dtype for t in model.state_dict().values() if t.is_floating_point()} == {torch.float64}
    assert {"input_mean", "input_std"} <= set(model.state_dict())
    assert model(torch.rand(2, 1, 28, 28, dtype=torch.float64)).dtype == torch.float64


# ---------------------------------------------------------------------- augmentation
def test_random_flip_shift_is_a_flip_and_a_shift_of_each_image():
    X = torch.rand(16, 1, 28, 28)
    out = random_flip_shift(X, torch.Generator().manual_seed(0), max_shift=2)
    assert out.shape == X.shape
    padded = nn.functional.pad(torch.cat([X, X.flip(3)], 1), (2, 2, 2, 2))  # (16, 2, 32, 32)
    flips = set()
    for i in range(16):
        matches = [(f, dy, dx) for f in (0, 1) for dy in range(5) for dx in range(5)
                   if torch.equal(out[i, 0], padded[i, f, dy:dy + 28, dx:dx + 28])]
        assert matches, f"image {i} is not a flip+shift of its input"
        flips.add(matches[0][0])
    assert flips == {0, 1}  # both flipped and unflipped images occur


def test_random_flip_shift_is_repeatable_from_its_generator():
    X = torch.rand(8, 1, 28, 28)
    a = random_flip_shift(X, torch.Generator().manual_seed(3))
    b = random_flip_shift(X, torch.Generator().manual_seed(3))
    c = random_flip_shift(X, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


# ---------------------------------------------------------------------- training
def test_train_signature_keeps_the_handout_order_and_defaults():
    sig = inspect.signature(PyTorchCNN.train).parameters
    assert list(sig)[:7] == ["self", "X_train", "y_train", "X_val", "y_val", "epochs", "learning_rate"]
    assert (sig["epochs"].default, sig["learning_rate"].default) == (10, 0.001)
    assert all(p.kind == p.KEYWORD_ONLY for p in list(sig.values())[7:])


def test_train_is_the_skeletons_full_batch_adam_loop(capsys):
    """One Adam step on the whole training set per epoch; its train metrics are the step's own
    (training mode), the validation metrics an eval-mode pass; a progress line every epoch."""
    X, y, Y = toy_images(n=12)
    Xv, yv, Yv = toy_images(n=6, seed=1)
    model, replica = PyTorchCNN(random_seed=3), PyTorchCNN(random_seed=3)
    torch.manual_seed(0)
    model.train(X, Y, Xv, Yv, epochs=3, learning_rate=0.01)
    torch.manual_seed(0)  # the same dropout draws
    optimizer = torch.optim.Adam(replica.model.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        replica.model.train()
        optimizer.zero_grad()
        loss = nn.CrossEntropyLoss()(replica.model(X), Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert same_state(state(model), state(replica))
    m = model.train_val_metrics
    assert m["train_losses"] == pytest.approx(losses, rel=1e-6)
    assert m["val_accs"][-1] == pytest.approx(model.accuracy(Xv, Yv))  # a float32 mean
    with torch.no_grad():
        assert m["val_losses"][-1] == pytest.approx(nn.CrossEntropyLoss()(model.eval()(Xv), yv).item(), rel=1e-5)
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).group(1, 2) for line in lines] == [("1", "3"), ("2", "3"), ("3", "3")]


def test_fit_uses_adam_and_measures_train_and_validation_alike(capsys):
    """The recipe's curves compare: both are eval-mode passes with the plain cross-entropy,
    although it optimises a smoothed loss with dropout on."""
    X, y, Y = toy_images()
    model = PyTorchCNN()
    model.fit(X, Y, X[:10], Y[:10], epochs=3, learning_rate=0.003, batch_size=8, label_smoothing=0.1)
    m = model.train_val_metrics
    assert set(m) == {"train_losses", "train_accs", "val_losses", "val_accs"}
    assert all(len(v) == 3 and all(isinstance(x, float) for x in v) for v in m.values())
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).group(1) for line in lines] == ["1", "2", "3"]
    model.eval()
    with torch.no_grad():
        for which, images, labels in (("train", X, y), ("val", X[:10], y[:10])):
            plain = nn.CrossEntropyLoss()(model(images), labels).item()
            assert m[f"{which}_losses"][-1] == pytest.approx(plain, rel=1e-5)
            assert m[f"{which}_accs"][-1] == model.accuracy(images, labels)


def test_fit_measures_its_train_curve_on_a_fixed_subset_when_asked():
    X, y, Y = toy_images()
    seen = []
    original = PyTorchCNN._evaluate
    PyTorchCNN._evaluate = lambda self, X, y, **k: seen.append(len(X)) or original(self, X, y, **k)
    try:
        PyTorchCNN().fit(X, Y, X[:10], Y[:10], epochs=2, batch_size=8, train_eval_size=5, verbose=False)
    finally:
        PyTorchCNN._evaluate = original
    assert seen == [5, 10, 5, 10]


def test_fit_batch_size_none_takes_one_adam_step_per_epoch(monkeypatch):
    steps = []
    original = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: steps.append(1) or original(self, *a, **k))
    X, y, Y = toy_images()
    PyTorchCNN().fit(X, Y, X, Y, epochs=2, batch_size=None, verbose=False)
    assert len(steps) == 2
    steps.clear()
    PyTorchCNN().fit(X, Y, X, Y, epochs=2, batch_size=10, verbose=False)
    assert len(steps) == 2 * 3  # batches of 10, 10, 4


def test_fit_learns_a_small_set():
    X, y, Y = toy_images(n=8)
    model = PyTorchCNN()
    model.fit(X, Y, X, Y, epochs=20, learning_rate=0.01, batch_size=8, verbose=False)
    assert model.accuracy(X, y) == 1.0


def test_normalisation_uses_the_training_images_statistics():
    X, y, Y = toy_images()
    model = PyTorchCNN()
    model.fit(X, Y, X, Y, **FAST)
    assert model.input_mean.item() == pytest.approx(X.mean().item())
    assert model.input_std.item() == pytest.approx(X.std().item())
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(X), model.model((X - X.mean()) / X.std()))
    plain = PyTorchCNN()
    plain.fit(X, Y, X, Y, normalize=False, **FAST)
    assert (plain.input_mean.item(), plain.input_std.item()) == (0.0, 1.0)


def test_one_hot_and_integer_labels_train_identically():
    X, y, Y = toy_images()
    a = PyTorchCNN()  # dropout draws from torch's global generator, seeded by __init__
    a.fit(X, Y, X, Y, **FAST)
    b = PyTorchCNN()
    b.fit(X, y, X, y, **FAST)
    assert a.train_val_metrics == b.train_val_metrics and same_state(state(a), state(b))
    assert a.accuracy(X, Y) == a.accuracy(X, y)


def test_training_is_deterministic_on_cpu_for_a_seed():
    X, y, Y = toy_images()
    runs = []
    for seed in (1, 1, 2):
        model = PyTorchCNN(random_seed=seed)
        model.fit(X, Y, X, Y, **FAST)
        runs.append((model.train_val_metrics, state(model)))
    assert runs[0][0] == runs[1][0] and same_state(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


@pytest.mark.parametrize("bad, match", [
    (dict(X_train=torch.rand(24, 28, 28)), r"\(N, 1, 28, 28\)"),
    (dict(y_train=torch.zeros(23, dtype=torch.long)), "24 images but there are 23 labels"),
    (dict(y_val=torch.zeros(24, 3)), r"\(N, 10\)"),
    (dict(lr_schedule="cosine"), "lr_schedule"),
])
def test_fit_rejects_bad_inputs_saying_what_was_expected(bad, match):
    X, y, Y = toy_images()
    kwargs = dict(X_train=X, y_train=Y, X_val=X, y_val=Y, **FAST)
    with pytest.raises(ValueError, match=match):
        PyTorchCNN().fit(**{**kwargs, **bad})


@pytest.mark.parametrize("bad, match", [
    (dict(X_train=torch.rand(24, 28, 28)), r"\(N, 1, 28, 28\)"),
    (dict(y_train=torch.zeros(23, dtype=torch.long)), "24 images but there are 23 labels"),
    (dict(y_val=torch.zeros(24, 3)), r"\(N, 10\)"),
])
def test_train_rejects_bad_inputs_saying_what_was_expected(bad, match):
    X, y, Y = toy_images()
    kwargs = dict(X_train=X, y_train=Y, X_val=X, y_val=Y, epochs=1)
    with pytest.raises(ValueError, match=match):
        PyTorchCNN().train(**{**kwargs, **bad})


def test_predict_in_chunks_equals_one_pass_and_accuracy_is_a_float():
    X, y, Y = toy_images(n=10)
    model = PyTorchCNN().train()
    pred = model.predict(X, batch_size=3)
    assert modes(model.model) == {False}  # the skeleton's predict: self.model.eval()
    assert pred.dtype == torch.long and torch.equal(pred, model.predict(X))
    with torch.no_grad():
        assert torch.equal(pred, model(X).argmax(dim=1))
    acc = model.accuracy(X, Y)
    assert isinstance(acc, float) and acc == (pred == y).sum().item() / 10


# ---------------------------------------------------------------------- plot, judgement
def test_plot_saves_in_the_working_directory_and_returns_fig_ax(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    X, y, Y = toy_images()
    model = PyTorchCNN()
    model.fit(X, Y, X, Y, **FAST)
    fig, ax = model.plot_train_val_metrics()
    assert (tmp_path / "pytorch_cnn_train_val_metrics.png").stat().st_size > 0
    assert tuple(fig.get_size_inches()) == (12, 6) and fig._suptitle.get_text() == "Train/Val Metrics"
    assert len(ax) == 2 and list(ax[1].lines[1].get_ydata()) == model.train_val_metrics["val_accs"]
    plt.close(fig)


def test_report_my_judgement_is_a_constant_from_the_handout_set():
    assert PyTorchCNN().report_my_judgement() in ("underfitting", "overfitting", "generalizing")


# ---------------------------------------------------------------------- the real run
@pytest.mark.slow
def test_script_clears_the_handout_threshold(reference_runs):
    """``python pytorch_cnn.py``, in a folder of its own."""
    code, out = script_run(reference_runs, "pytorch_cnn")
    assert code == 0, out
    assert re.search(r"Doctests: (\d+) of \1 passed", out), out
    acc = float(re.search(r"200 handout test images: ([\d.]+)", out).group(1))
    assert acc >= 0.85, out
    full = float(re.search(r"all 10,000 test images: ([\d.]+)", out).group(1))
    assert 0.0 < full <= 1.0
    assert re.search(r"Saved the train/val curves to \S*pytorch_cnn_train_val_metrics.png", out), out


@pytest.mark.slow
def test_judgement_agrees_with_diagnose_fit_on_the_default_run(reference_runs):
    code, out = script_run(reference_runs, "pytorch_cnn")
    said, read = re.search(r"My judgement: (\w+) \(utils.diagnose_fit reads this run as: (\w+)\)",
                           out).groups()
    assert said == PyTorchCNN().report_my_judgement() == read, out
