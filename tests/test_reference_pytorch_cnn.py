"""Tests for reference/pytorch_cnn.py: the solution's PyTorchCNN with the reference's recipe
(``fit``: mini-batches, one-cycle rate, label smoothing, standardised inputs, augmentation),
``model.eval()`` that works, labels in either form, checked inputs and chunked prediction."""
import inspect

import pytest
import torch
from helpers import LINE, modes, same_state, state
from torch import nn

import pytorch_cnn
from reference.pytorch_cnn import PyTorchCNN, random_flip_shift


def toy_images(n=24, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    return X, y, nn.functional.one_hot(y, k).float()


pytestmark = pytest.mark.usefixtures("one_thread")


FAST = dict(epochs=2, learning_rate=0.003, batch_size=8, augment=True, verbose=False)  # for fit()


def test_it_is_the_solutions_network_with_the_same_weights():
    ours, theirs = PyTorchCNN(random_seed=5), pytorch_cnn.PyTorchCNN(random_seed=5)
    assert same_state(ours.model.state_dict(), theirs.model.state_dict())
    X = torch.rand(3, 1, 28, 28)
    ours.eval()
    theirs.model.eval()
    with torch.no_grad():  # the identity standardisation until fit() sets it
        assert torch.equal(ours(X), theirs(X))


def test_train_is_the_solutions_loop_and_extends_its_signature():
    X, y, Y = toy_images(n=12)
    ours, theirs = PyTorchCNN(random_seed=3), pytorch_cnn.PyTorchCNN(random_seed=3)
    torch.manual_seed(0)
    ours.train(X, Y, X, Y, epochs=2, learning_rate=0.01)
    torch.manual_seed(0)  # the same dropout draws
    theirs.train(X, Y, X, Y, epochs=2, learning_rate=0.01)
    assert same_state(ours.model.state_dict(), theirs.model.state_dict())
    sig = inspect.signature(PyTorchCNN.train).parameters
    assert list(sig)[:7] == ["self", "X_train", "y_train", "X_val", "y_val", "epochs", "learning_rate"]
    assert all(p.kind == p.KEYWORD_ONLY for p in list(sig.values())[7:])


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


# ---------------------------------------------------------------------- the recipe
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
