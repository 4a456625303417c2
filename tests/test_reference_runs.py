"""The reference's runs: run() per module, the closing report, callbacks, schedules."""
import re
import types

import pytest
import torch

from course import facts
from course.facts import Split
from reference import common, numpy_ann, pytorch_ann, pytorch_cnn

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("module, kwargs", [
    (numpy_ann, dict(epochs=20)), (pytorch_ann, dict(epochs=2, device="cpu")),
    (pytorch_cnn, dict(epochs=1, device="cpu"))])
def test_run_returns_the_protocol_results(module, kwargs):
    r = module.run(seed=0, verbose=False, **kwargs)
    assert set(r) == {"model", "test_acc", "all_acc", "train_seconds", "hyperparameters", "handout_settings"}
    assert r["handout_settings"] is False  # seed 0, fewer epochs
    assert 0.0 <= r["test_acc"] <= 1.0 and 0.0 <= r["all_acc"] <= 1.0
    assert r["test_acc"] > 0.3  # learned something even in a couple of epochs
    assert r["hyperparameters"]["epochs"] == kwargs["epochs"]
    assert {k: v for k, v in r["hyperparameters"].items() if k != "epochs"} == \
        {k: v for k, v in module.settings().items() if k != "epochs"}
    assert len(r["model"].train_val_metrics["val_accs"]) == kwargs["epochs"]


def test_the_runs_train_with_the_handouts_settings():
    """course.facts.HANDOUT_RUNS is the one copy of the handout's numbers; the runs read it."""
    assert facts.HANDOUT_RUNS["numpy_ann"] == ({"input_size": 784, "hidden_size": 64, "output_size": 10, "lr": 0.01},
                                               {"epochs": 250, "batch_size": 64})
    assert facts.HANDOUT_RUNS["pytorch_ann"][1] == {"epochs": 100, "batch_size": 64, "learning_rate": 0.2}
    assert numpy_ann.settings() == dict(epochs=250, batch_size=64, lr=0.01, hidden_size=64)
    assert pytorch_ann.settings() == dict(epochs=100, batch_size=64, lr=0.2, hidden_size=32, shuffle=False)
    assert facts.THRESHOLDS == {"numpy_ann": 0.77, "pytorch_ann": 0.80, "pytorch_cnn": 0.85}


@pytest.mark.slow
def test_pytorch_ann_run_restores_thread_count():
    torch.set_num_threads(2)
    pytorch_ann.run(epochs=1, verbose=False, device="cpu")
    assert torch.get_num_threads() == 2


def tiny_data(n=64, images=False):
    g = torch.Generator().manual_seed(0)
    X = torch.rand((n, 1, 28, 28) if images else (n, 784), generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return X, y


def test_cnn_callback_runs_after_each_epoch():
    X, y = tiny_data(images=True)
    seen = []
    pytorch_cnn.PyTorchCNN().fit(
        X, y, X, y, epochs=3, batch_size=32, verbose=False,
        callback=lambda epoch, m: seen.append((epoch, len(m.train_val_metrics["val_losses"]))))
    assert seen == [(1, 1), (2, 2), (3, 3)]


def test_ann_full_schedule_anneals_the_rate_along_a_cosine(monkeypatch):
    X, y = tiny_data()
    rates = []
    real_step = torch.optim.SGD.step

    def spy(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", spy)
    model = pytorch_ann.PyTorchANN(784, 8, 10)
    data = Split(X, y, X, y, X, y)
    pytorch_ann.train_by_epoch(model, data, dict(epochs=4, batch_size=64, lr=0.2), seed=0, cosine=True,
                               verbose=False)
    assert rates == pytest.approx([0.2, 0.2 * (1 + 2 ** -0.5) / 2, 0.1, 0.2 * (1 - 2 ** -0.5) / 2])
    assert len(model.train_val_metrics["train_losses"]) == 4


def test_cnn_label_smoothing_changes_what_is_optimised_not_what_is_measured():
    X, y = tiny_data(images=True)
    plain, smooth = pytorch_cnn.PyTorchCNN(), pytorch_cnn.PyTorchCNN()
    plain.fit(X, y, X, y, epochs=1, batch_size=64, verbose=False)
    smooth.fit(X, y, X, y, epochs=1, batch_size=64, verbose=False, label_smoothing=0.1)
    assert any(not torch.equal(p, q) for p, q in zip(plain.parameters(), smooth.parameters()))
    # Both record the plain cross-entropy in eval mode, so their curves stay comparable.
    for model in (plain, smooth):
        model.eval()
        with torch.no_grad():
            loss = torch.nn.functional.cross_entropy(model(X), y).item()
        assert model.train_val_metrics["train_losses"][0] == pytest.approx(loss, rel=1e-5)
        assert model.train_val_metrics["val_losses"][0] == pytest.approx(loss, rel=1e-5)


def test_report_run_prints_the_closing_lines(capsys, tmp_path):
    metrics = {"train_losses": [0.5, 0.3], "train_accs": [0.86, 0.90],
               "val_losses": [0.5, 0.35], "val_accs": [0.85, 0.88]}
    model = types.SimpleNamespace(train_val_metrics=metrics)
    result = {"model": model, "test_acc": 0.8, "all_acc": 0.79, "train_seconds": 1.0,
              "hyperparameters": {"epochs": 2}}
    assert common.report_run(result, threshold=0.77, full=False, plot_path=tmp_path / "p.png")
    out = ANSI.sub("", capsys.readouterr().out)
    assert "Test accuracy on the 200 handout test images: 0.80000 (threshold 0.77)" in out
    assert "Test accuracy on all 10,000 test images: 0.79000" in out
    assert "The judgement rule reads this run as: generalizing" in out
    assert (tmp_path / "p.png").stat().st_size > 0
    assert not common.report_run(result, threshold=0.9, full=True, plot_path=tmp_path / "q.png")
    assert "all 10,000 test images: 0.80000 (target 0.9)" in ANSI.sub("", capsys.readouterr().out)


def test_run_doctests_counts(capsys):
    module = types.ModuleType("m")
    module.__doc__ = ">>> 1 + 1\n2\n>>> 2 + 2\n5\n"
    result = common.run_doctests(module)
    assert (result.attempted, result.failed) == (2, 1)
    assert "Doctests: 1 of 2 passed" in capsys.readouterr().out
