"""The rule the judgement items (2.7, 3.3) are read by: a run's curves -> underfitting,
overfitting or generalizing, with every reading within their noise accepted.

Students answer ``report_my_judgement()`` with one word; the grader accepts every reading of
their run's curves that :func:`accepted_judgements` gives. The students' README and the
grader's feedback state the rule in words (:data:`JUDGEMENT_RULE`): the students' utils.py
has none of this.
"""
from __future__ import annotations

import numpy as np

from .facts import METRIC_KEYS, SPLIT_SIZES, standard_error


def check_metrics(metrics) -> dict:
    """The four curves as float arrays, or ValueError saying what train did not produce."""
    if not isinstance(metrics, dict) or any(k not in metrics for k in METRIC_KEYS):
        raise ValueError(f"train_val_metrics must be a dict with keys {METRIC_KEYS}; got "
                         f"{sorted(metrics) if isinstance(metrics, dict) else type(metrics).__name__}. "
                         "Call train(...) first.")
    lengths = {len(metrics[k]) for k in METRIC_KEYS}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"train_val_metrics lists must be non-empty and of equal length; "
                         f"got lengths { {k: len(metrics[k]) for k in METRIC_KEYS} }")
    return {k: np.asarray([float(v) for v in metrics[k]]) for k in METRIC_KEYS}


# diagnose_fit's thresholds, and the rule in words (the grader's feedback and the students' README).
FIT_RULE = {"min_train_acc": 0.85, "max_gap": 0.08, "max_val_loss_rise": 0.10, "window": 3}
JUDGEMENT_RULE = (f"each curve taken as its moving mean over {FIT_RULE['window']} epochs (so its end is the mean "
                  f"of the last {FIT_RULE['window']}): underfitting when the train accuracy ends below "
                  f"{FIT_RULE['min_train_acc']}; otherwise overfitting when it ends more than {FIT_RULE['max_gap']} "
                  f"above the validation accuracy, or when the validation loss ends more than "
                  f"{FIT_RULE['max_val_loss_rise']:.0%} above its lowest; otherwise generalizing. The curves are "
                  f"the ones your train method records: the CNN's provided train records its train accuracy "
                  f"in training mode, dropout on")


def diagnose_fit(train_val_metrics, min_train_acc=FIT_RULE["min_train_acc"], max_gap=FIT_RULE["max_gap"],
                 max_val_loss_rise=FIT_RULE["max_val_loss_rise"], window=FIT_RULE["window"]) -> str:
    """Read a run's curves: ``"underfitting"``, ``"overfitting"`` or ``"generalizing"``.

    The rules, applied to the curves smoothed by a moving mean over ``window`` epochs
    (single epochs are noisy):

    1. **underfitting** if the final train accuracy is below ``min_train_acc``: the
       model does not even fit the data it sees;
    2. **overfitting** if train accuracy exceeds validation accuracy by more than
       ``max_gap``, or the final validation loss has risen more than
       ``max_val_loss_rise`` (relative) above its minimum: the model is learning the
       training set rather than the task;
    3. **generalizing** otherwise.

    Which curves they read. The students' runs, which the grader judges: ``NumpyANN`` and
    ``PyTorchANN`` measure their train curves as their validation curves, after each epoch, in
    eval mode, on the whole set (the skeleton's provided code); the skeleton's CNN ``train``
    records the train loss and accuracy of its full-batch step, in training mode (dropout on),
    which reads a few points lower than the same weights in eval mode. The reference's own
    curves are all measured alike (``PyTorchCNN.fit`` too: eval mode, plain cross-entropy).

    Why ``max_gap=0.08``: the handout validates on 200 images, so a validation accuracy near
    0.87 carries a standard error of about 0.024, and the gap of a train accuracy measured on
    2,000 images about the same: 0.08 is more than three standard errors, a gap that noise
    alone does not make. Why ``max_val_loss_rise=0.10``: a mean of 200 per-image losses is
    uncertain by about 7% (:func:`accepted_judgements`), so a validation loss 10% above its
    lowest has turned up. Why ``min_train_acc=0.85``: every handout network fits its 2,000
    training images beyond 0.85 when trained long enough; below it, it has not learned yet.

    These thresholds are one reading, not the truth: a run near one of them sits
    within the noise of 200 validation images. :func:`accepted_judgements` gives every
    reading the curves do not clearly contradict; the grader accepts any of those.

    Examples
    --------
    >>> flat = {"train_losses": [1.0, 0.9], "train_accs": [0.6, 0.62],
    ...         "val_losses": [1.0, 0.9], "val_accs": [0.6, 0.61]}
    >>> diagnose_fit(flat)
    'underfitting'
    >>> good = {"train_losses": [0.5, 0.3], "train_accs": [0.86, 0.90],
    ...         "val_losses": [0.5, 0.35], "val_accs": [0.85, 0.88]}
    >>> diagnose_fit(good)
    'generalizing'
    >>> gap = dict(good, val_accs=[0.75, 0.75])
    >>> diagnose_fit(gap)
    'overfitting'
    """
    m = _smoothed_ends(train_val_metrics, window)
    if m["train_acc"] < min_train_acc:
        return "underfitting"
    if (m["train_acc"] - m["val_acc"] > max_gap
            or m["val_loss"] > m["best_val_loss"] * (1 + max_val_loss_rise)):
        return "overfitting"
    return "generalizing"


def _smoothed_ends(train_val_metrics, window) -> dict:
    """The smoothed end points diagnose_fit's rules read."""
    m = check_metrics(train_val_metrics)
    w = min(window, len(m["train_accs"]))
    smooth = {k: np.convolve(v, np.ones(w) / w, mode="valid") for k, v in m.items()}
    return {"train_acc": float(smooth["train_accs"][-1]), "val_acc": float(smooth["val_accs"][-1]),
            "val_loss": float(smooth["val_losses"][-1]),
            "best_val_loss": float(smooth["val_losses"].min())}


def accepted_judgements(train_val_metrics, n_train=SPLIT_SIZES["train"], n_val=SPLIT_SIZES["val"],
                        min_train_acc=FIT_RULE["min_train_acc"], max_gap=FIT_RULE["max_gap"],
                        max_val_loss_rise=FIT_RULE["max_val_loss_rise"], window=FIT_RULE["window"]):
    """Every judgement the curves do not clearly contradict, :func:`diagnose_fit`'s first.

    A reading is accepted when :func:`diagnose_fit` gives it with each threshold moved by
    up to one standard error of the quantity it is compared with, so a run within the
    noise of a boundary accepts both neighbouring answers, and a run far from every
    boundary accepts only one. The standard errors come from the set sizes:

    - train accuracy ``p`` over ``n_train`` images: ``sqrt(p (1 - p) / n_train)``
      (the underfitting rule);
    - the train-validation gap: that and ``sqrt(q (1 - q) / n_val)`` for validation
      accuracy ``q``, combined (about 0.024 near 0.87 with 200 validation images);
    - the relative rise of the validation loss: ``1 / sqrt(n_val)`` (0.071 for 200
      images). A mean of ``n`` per-image cross-entropies has a relative standard error
      of ``cv / sqrt(n)``, and per-image losses are skewed (most near 0, a few large),
      so their coefficient of variation ``cv`` is at least about 1.

    Returns
    -------
    tuple of str
        ``diagnose_fit``'s reading first, then any neighbouring reading also accepted.

    Examples
    --------
    The skeleton's CNN run: train accuracy 0.956, validation 0.870 (gap 0.086, just over
    0.08), validation loss 0.370 against its lowest 0.354.

    >>> run = {"train_accs": [0.956] * 3, "val_accs": [0.870] * 3,
    ...        "train_losses": [0.12] * 3, "val_losses": [0.354, 0.370, 0.370]}
    >>> accepted_judgements(run, window=1)
    ('overfitting', 'generalizing')
    >>> accepted_judgements(dict(run, val_accs=[0.80] * 3), window=1)  # a gap of 0.156
    ('overfitting',)
    """
    m = fit_numbers(train_val_metrics, n_train, n_val, window)
    readings = [diagnose_fit(train_val_metrics, min_train_acc, max_gap, max_val_loss_rise, window)]
    for a in (min_train_acc - m["se_train_acc"], min_train_acc + m["se_train_acc"]):
        for g in (max_gap - m["se_gap"], max_gap + m["se_gap"]):
            for r in (max_val_loss_rise - m["se_rise"], max_val_loss_rise + m["se_rise"]):
                reading = diagnose_fit(train_val_metrics, a, g, r, window)
                if reading not in readings:
                    readings.append(reading)
    return tuple(readings)


def fit_numbers(train_val_metrics, n_train=SPLIT_SIZES["train"], n_val=SPLIT_SIZES["val"],
                window=FIT_RULE["window"]) -> dict:
    """The numbers :func:`diagnose_fit` and :func:`accepted_judgements` read, and their noise.

    Returns the smoothed end points (``train_acc``, ``val_acc``, ``val_loss``), the smoothed
    curve's lowest validation loss (``best_val_loss``), the ``gap`` (train minus validation
    accuracy) and the validation loss's relative ``rise`` above its lowest; with the standard
    errors of the train accuracy, of the gap and of the rise (``se_train_acc``, ``se_gap``,
    ``se_rise``; see :func:`accepted_judgements`).

    Examples
    --------
    >>> m = fit_numbers({"train_accs": [0.9] * 3, "val_accs": [0.85] * 3,
    ...                  "train_losses": [0.3] * 3, "val_losses": [0.4, 0.44, 0.44]}, window=1)
    >>> round(m["gap"], 3), round(m["rise"], 3), round(m["se_gap"], 3)
    (0.05, 0.1, 0.026)
    """
    m = _smoothed_ends(train_val_metrics, window)
    se_train = standard_error(m["train_acc"], n_train)
    # A lowest loss of 0 (or less) leaves no rise to measure unless the loss left it.
    rise = (m["val_loss"] / m["best_val_loss"] - 1 if m["best_val_loss"] > 0 else
            0.0 if m["val_loss"] == m["best_val_loss"] else float("inf"))
    return dict(m, gap=m["train_acc"] - m["val_acc"], rise=rise,
                se_train_acc=se_train, se_gap=float(np.hypot(se_train, standard_error(m["val_acc"], n_val))),
                se_rise=float(1 / np.sqrt(n_val)))
