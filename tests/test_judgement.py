"""Tests for course/judgement.py: the rule the judgement items are read by, and its noise band."""
import numpy as np
import pytest

from course.judgement import accepted_judgements, check_metrics, diagnose_fit


def curves(train_accs, val_accs, train_losses=None, val_losses=None):
    n = len(train_accs)
    return {"train_losses": train_losses or list(np.linspace(1.0, 0.3, n)),
            "train_accs": list(train_accs),
            "val_losses": val_losses or list(np.linspace(1.0, 0.35, n)),
            "val_accs": list(val_accs)}


@pytest.mark.parametrize("bad, match", [
    (None, "must be a dict"),
    ({"train_losses": [1.0]}, "must be a dict with keys"),
    (dict(curves([0.5, 0.6], [0.5, 0.6]), val_accs=[0.5]), "equal length"),
    (curves([], []), "non-empty"),
])
def test_curves_that_train_did_not_produce_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        check_metrics(bad)
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
