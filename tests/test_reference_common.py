"""Tests for reference/common.py: the device choice, the protocol's data as arrays or tensors, labels
in either form, progress lines, the closing report and the plot."""
import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt

import utils
from reference import common


@pytest.fixture(scope="module")
def data():
    return utils.load_mnist_f()


# --------------------------------------------------------------------------- device
def mock_devices(monkeypatch, cuda, mps):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_get_device_preference_order(monkeypatch, cuda, mps, expected):
    mock_devices(monkeypatch, cuda, mps)
    assert common.get_device() == torch.device(expected)


def test_get_device_honours_explicit_choice(monkeypatch):
    mock_devices(monkeypatch, True, True)
    assert common.get_device("cpu") == torch.device("cpu")
    assert common.get_device("mps") == torch.device("mps")
    assert common.get_device(torch.device("cuda")) == torch.device("cuda")


@pytest.mark.parametrize("name", ["cuda", "mps"])
def test_get_device_refuses_unavailable(monkeypatch, name):
    mock_devices(monkeypatch, False, False)
    with pytest.raises(ValueError, match=f"'{name}' was requested but is not available"):
        common.get_device(name)


def test_get_device_refuses_unknown():
    with pytest.raises(ValueError, match="expected None, 'cpu', 'cuda' or 'mps'"):
        common.get_device("tpu")


def test_describe_device_cpu():
    assert "CPU" in common.describe_device("cpu")


# --------------------------------------------------------------------------- protocol
@pytest.mark.parametrize("layout, shape", [("flat", (784,)), ("image", (1, 28, 28))])
def test_load_handout_data_numpy(layout, shape):
    s = common.load_handout_data(layout=layout)
    assert [len(a) for a in s] == [2000, 2000, 200, 200, 200, 200]
    for X, Y in ((s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)):
        assert X.shape[1:] == shape and X.dtype == np.float64
        assert X.min() == 0.0 and X.max() == 1.0
        assert Y.shape[1] == 10 and np.array_equal(Y.sum(1), np.ones(len(Y)))
        assert set(np.unique(Y)) == {0.0, 1.0}


def test_load_handout_data_tensors_on_device():
    s = common.load_handout_data(layout="image", return_tensor=True, device="cpu")
    for t in s:
        assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
        assert t.device == torch.device("cpu")
    assert tuple(s.X_train.shape) == (2000, 1, 28, 28)
    # Same numbers as the numpy path, up to float32 rounding.
    ref = common.load_handout_data(layout="image")
    assert np.allclose(s.X_val.numpy(), ref.X_val, atol=1e-7)
    assert np.array_equal(s.y_test.numpy(), ref.y_test)


def test_full_test_set(data):
    X, Y = common.load_test_set(layout="image", return_tensor=True)
    assert tuple(X.shape) == (10000, 1, 28, 28) and tuple(Y.shape) == (10000, 10)
    assert np.array_equal(Y.numpy().argmax(1), data[3])


def test_preprocess_rejects_unknown_layout():
    with pytest.raises(ValueError, match="layout must be 'flat' or 'image'"):
        common.preprocess(np.zeros((1, 28, 28)), np.zeros(1), layout="square")


def test_preprocess_one_hot_values():
    X = np.full((3, 28, 28), 255, dtype=np.uint8)
    Xp, Y = common.preprocess(X, np.array([0, 9, 3]))
    assert np.all(Xp == 1.0)
    assert Y.argmax(1).tolist() == [0, 9, 3] and Y.sum() == 3




def curves(train_accs, val_accs, train_losses=None, val_losses=None):
    n = len(train_accs)
    return {"train_losses": train_losses or list(np.linspace(1.0, 0.3, n)),
            "train_accs": list(train_accs),
            "val_losses": val_losses or list(np.linspace(1.0, 0.35, n)),
            "val_accs": list(val_accs)}


# ---------------------------------------------------------------------- the plot
def test_plot_draws_the_handout_figure(tmp_path):
    m = curves([0.5, 0.7, 0.8], [0.45, 0.65, 0.75])
    fig, ax = common.plot_train_val_metrics(m, path=tmp_path / "m.png")
    assert tuple(fig.get_size_inches()) == (12, 6) and len(ax) == 2
    assert fig._suptitle.get_text() == "Train/Val Metrics"
    (loss_train, loss_val), (acc_train, acc_val) = ax[0].lines, ax[1].lines
    assert list(loss_train.get_ydata()) == m["train_losses"] and list(loss_val.get_ydata()) == m["val_losses"]
    assert list(acc_train.get_ydata()) == m["train_accs"] and list(acc_val.get_ydata()) == m["val_accs"]
    assert list(acc_train.get_xdata()) == [1, 2, 3]  # epochs counted from 1
    for axis in ax:
        assert axis.get_xlabel() and axis.get_ylabel()
        assert len(axis.get_legend().get_texts()) == 2
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_saves_nothing_without_a_path_and_leaks_no_pyplot_figures(tmp_path):
    before = plt.get_fignums()
    for _ in range(3):
        common.plot_train_val_metrics(curves([0.5, 0.6], [0.5, 0.6]))
    assert plt.get_fignums() == before


def test_plot_takes_numpy_values_as_numpy_ann_records_them():
    m = {k: [np.float64(v) for v in vals] for k, vals in curves([0.5, 0.6], [0.4, 0.5]).items()}
    fig, ax = common.plot_train_val_metrics(m)
    assert list(ax[1].lines[0].get_ydata()) == [0.5, 0.6]



def test_plot_refuses_what_train_did_not_produce():
    with pytest.raises(ValueError, match="equal length"):
        common.plot_train_val_metrics(dict(curves([0.5, 0.6], [0.5, 0.6]), val_accs=[0.5]))
