"""Tests for the shared curve helpers in utils.py: plot_train_val_metrics and diagnose_fit."""
import numpy as np
import pytest
from matplotlib import pyplot as plt

from utils import accepted_judgements, diagnose_fit, plot_train_val_metrics


def curves(train_accs, val_accs, train_losses=None, val_losses=None):
    n = len(train_accs)
    return {"train_losses": train_losses or list(np.linspace(1.0, 0.3, n)),
            "train_accs": list(train_accs),
            "val_losses": val_losses or list(np.linspace(1.0, 0.35, n)),
            "val_accs": list(val_accs)}


# ---------------------------------------------------------------------- the plot
def test_plot_draws_the_handout_figure(tmp_path):
    m = curves([0.5, 0.7, 0.8], [0.45, 0.65, 0.75])
    fig, ax = plot_train_val_metrics(m, path=tmp_path / "m.png")
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
        plot_train_val_metrics(curves([0.5, 0.6], [0.5, 0.6]))
    assert plt.get_fignums() == before


def test_plot_takes_numpy_values_as_numpy_ann_records_them():
    m = {k: [np.float64(v) for v in vals] for k, vals in curves([0.5, 0.6], [0.4, 0.5]).items()}
    fig, ax = plot_train_val_metrics(m)
    assert list(ax[1].lines[0].get_ydata()) == [0.5, 0.6]


@pytest.mark.parametrize("bad, match", [
    (None, "must be a dict"),
    ({"train_losses": [1.0]}, "must be a dict with keys"),
    (dict(curves([0.5, 0.6], [0.5, 0.6]), val_accs=[0.5]), "equal length"),
    (curves([], []), "non-empty"),
])
def test_plot_and_diagnose_reject_what_train_did_not_produce(bad, match):
    with pytest.raises(ValueError, match=match):
        plot_train_val_metrics(bad)
    with pytest.raises(ValueError, match=match):
        diagnose_fit(bad)


# ---------------------------------------------------------------------- the judgement
def test_underfitting_when_even_the_training_set_is_not_fitted():
    assert diagnose_fit(curves([0.5, 0.6, 0.7, 0.72], [0.5, 0.6, 0.7, 0.72])) == "underfitting"


def test_generalizing_when_train_and_val_agree_and_val_loss_keeps_falling():
    assert diagnose_fit(curves([0.6, 0.8, 0.88, 0.9], [0.6, 0.8, 0.86, 0.88])) == "generalizing"


def test_overfitting_when_train_accuracy_runs_away_from_validation():
    assert diagnose_fit(curves([0.7, 0.9, 0.97, 0.99], [0.7, 0.82, 0.83, 0.83])) == "overfitting"


def test_overfitting_when_validation_loss_climbs_from_its_minimum():
    m = curves([0.7, 0.86, 0.88, 0.89, 0.9, 0.9], [0.7, 0.86, 0.88, 0.88, 0.88, 0.88],
               val_losses=[0.8, 0.5, 0.4, 0.45, 0.55, 0.6])
    assert diagnose_fit(m) == "overfitting"


def test_one_noisy_last_epoch_does_not_flip_the_verdict():
    """The rules read curves smoothed over ``window`` epochs, not the raw last epoch."""
    steady = [0.86, 0.9, 0.9, 0.9, 0.9]
    assert diagnose_fit(curves(steady, [0.86, 0.88, 0.88, 0.88, 0.80])) == "generalizing"
    assert diagnose_fit(curves(steady, [0.86, 0.88, 0.88, 0.88, 0.80]), window=1) == "overfitting"


def test_thresholds_are_parameters():
    m = curves([0.6, 0.8, 0.88, 0.9], [0.6, 0.8, 0.86, 0.88])
    assert diagnose_fit(m, min_train_acc=0.95) == "underfitting"
    assert diagnose_fit(m, max_gap=0.0) == "overfitting"


# ---------------------------------------------------------------------- the judgement band
def flat(train_acc, val_acc, val_loss=0.35, best_val_loss=0.35, epochs=3):
    """Curves whose smoothed ends are exactly these values."""
    return {"train_accs": [train_acc] * epochs, "val_accs": [val_acc] * epochs,
            "train_losses": [0.1] * epochs, "val_losses": [best_val_loss] + [val_loss] * (epochs - 1)}


def test_the_skeletons_borderline_cnn_run_accepts_both_neighbours():
    """Issue 11's run: gap 0.086 against 0.08 (standard error 0.024 with 200 validation images)."""
    run = flat(0.956, 0.870, val_loss=0.370, best_val_loss=0.354)
    assert accepted_judgements(run, window=1) == ("overfitting", "generalizing")
    assert "underfitting" not in accepted_judgements(run, window=1)


def test_far_from_every_boundary_only_one_reading():
    assert accepted_judgements(flat(0.99, 0.86, val_loss=0.65, best_val_loss=0.46)) == ("overfitting",)
    assert accepted_judgements(flat(0.90, 0.89)) == ("generalizing",)
    assert accepted_judgements(flat(0.60, 0.59)) == ("underfitting",)


def test_the_band_is_one_standard_error_and_shrinks_with_more_validation_images():
    q, p = 0.87, 0.95
    se_gap = ((q * (1 - q) / 200) + (p * (1 - p) / 2000)) ** 0.5  # 0.0241
    inside, outside = flat(p, p - (0.08 + se_gap - 0.002)), flat(p, p - (0.08 + se_gap + 0.004))
    assert set(accepted_judgements(inside)) == {"overfitting", "generalizing"}
    assert accepted_judgements(outside) == ("overfitting",)
    assert accepted_judgements(inside, n_val=20_000, n_train=200_000) == ("overfitting",)


def test_the_first_reading_is_always_diagnose_fits():
    for run in (flat(0.956, 0.870), flat(0.86, 0.85), flat(0.84, 0.83), flat(0.99, 0.80)):
        assert accepted_judgements(run)[0] == diagnose_fit(run)
