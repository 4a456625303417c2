"""The script runs (their accuracy items) and the judgements (report_my_judgement).

Each run group runs ``python <file>.py`` once (``run_script`` in ``grader/probe.py``); these
checks judge what came back. The model graded is the one the script trained on the handout's
training set; a model trained on anything else (a doctest's toy input, other data) is never
graded. When the script trains none because its doctests failed, because it ended without
training, or because it stopped with an error inside the student's class, the probe runs the
handout protocol (``course.facts.HANDOUT_RUNS``) with the student's class instead, and the output
says so. An error in the script's own code outside the class scores 0: that is what
``python <file>.py`` shows the student too.

Accuracy is computed here, from the predicted labels against the grader's own copy of the 200
test labels. The same model's accuracy on a copy of the test images shifted by one pixel is
measured too: a model that reads the test labels instead of the images collapses there, and is
flagged for a human to review (never penalised automatically).
"""
from __future__ import annotations

import numpy as np

from course.judgement import JUDGEMENT_RULE, accepted_judgements

from ..rubric import GROUPS, RUN_GROUP, VERDICTS
from ..wire import decode
from .common import RUN, Fail, NotGraded, Part, Sessions, call, check, describe_error, new, op, set_attrs, short

# A genuine model keeps most of its accuracy on images shifted by one pixel (the reference's
# MLPs and CNN lose 0.00-0.13 there); a lookup of the test labels falls to chance (about 0.1).
LOOKUP_FLOOR = 0.45


# Where a run far below its threshold most likely went wrong, by file (no answer given away).
LEARNING_PARTS = {
    "numpy_ann": "the gradient step in _backward (every parameter, divided by the batch size m), the mini-batch "
                 "loop in train, and the 0.01 scale of the initial weights",
    "pytorch_ann": "the optimiser in train (SGD over self.model.parameters() with lr=learning_rate), and that every "
                   "mini-batch runs zero_grad, the loss, backward and step",
    "pytorch_cnn": "that the provided train loop and the main block's settings are the handout's, unchanged (Adam, "
                   "learning_rate=0.002, epochs=60), and that each of 3.1's blocks is Conv2d, ReLU, MaxPool2d, "
                   "BatchNorm2d, Dropout, in that order",
}
CHANCE = 0.1  # ten classes


def script_run(ctx, module, item_id):
    threshold = ctx.facts.THRESHOLDS[module]
    if ctx.fast:
        raise NotGraded(f"Skipped in --fast mode: this item runs `python {module}.py` on the real data (the handout "
                        f"protocol) and needs test accuracy >= {threshold}. Run the grader without --fast to grade it.")
    run = yield RUN
    how = model_source(ctx, run, module)
    labels = predicted_labels(run.report, "scores")
    y = ctx.test_labels
    if len(labels) != len(y):
        raise Fail(f"your model gave {len(labels)} predictions for the {len(y)} test images")
    accuracy = float(np.mean(labels == y))
    verdict, passed, hint = threshold_verdict(ctx, module, accuracy, len(y), train_accuracy(run.report))
    detail = f"{verdict}; measured by the grader with {how}"
    if isinstance(run.report.get("seconds"), (int, float)):
        detail += f"; the script ran for {run.report['seconds']:.0f} s"
    shifted = predicted_labels(run.report, "shifted_scores", required=False)
    if shifted is not None and len(shifted) == len(y):
        shifted_accuracy = float(np.mean(shifted == y))
        ctx.measure(item_id, accuracy=accuracy, shifted_accuracy=shifted_accuracy)
        if accuracy >= threshold and shifted_accuracy < LOOKUP_FLOOR:
            ctx.flag(item_id, f"possible label lookup: test accuracy {accuracy:.3f}, but {shifted_accuracy:.3f} on the "
                              f"same images shifted by one pixel {ctx.shift}; review the code by hand")
    return [Part(1, f"python {module}.py: test accuracy >= {threshold}", passed, detail, hint)]


def threshold_verdict(ctx, module, accuracy, n, final_train_accuracy=None):
    """(what happened, passed, hint) for a test accuracy on ``n`` images against the threshold.

    Full marks at or above the threshold, and within one standard error of it (``course.facts.
    NOISE``): 200 test images make an accuracy uncertain by that much, so a correct submission
    must not lose the item to the draw of its test set or to the machine's arithmetic.
    ``ctx.strict_thresholds`` restores the handout's literal rule.
    """
    threshold, noise = ctx.facts.THRESHOLDS[module], ctx.facts.NOISE[module]
    measured = f"test accuracy {accuracy:.3f} on the handout's {n} test images"
    if accuracy >= threshold:
        return f"{measured}: at least the threshold {threshold}", True, ""
    if not ctx.strict_thresholds and accuracy >= ctx.facts.PASS_MARKS[module] - 1e-9:
        return (f"{measured}: within one standard error ({noise:.3f}) of the threshold {threshold} on {n} images, "
                "so full marks (the band is the test set's noise)"), True, ""
    rule = ("the handout's threshold, strictly (--strict-thresholds)" if ctx.strict_thresholds else
            f"below the threshold {threshold} by more than one standard error ({noise:.3f}) on {n} images")
    learned = final_train_accuracy is None or final_train_accuracy > CHANCE + 0.15
    if accuracy <= CHANCE + 3 * (CHANCE * (1 - CHANCE) / n) ** 0.5 and not learned:
        hint = (f"the network did not learn (its training accuracy ended at {final_train_accuracy:.2f}, chance is "
                f"{CHANCE:.2f}): check {LEARNING_PARTS[module]}")
    else:
        hint = (f"a correct {module}.py reaches the threshold with the handout's settings: "
                f"check {LEARNING_PARTS[module]}")
    return f"{measured}: {rule}", False, hint


def train_accuracy(report):
    """The last training accuracy the run recorded (``train_val_metrics``), or None."""
    metrics = decode_safe(report.get("metrics"))
    accs = metrics.get("train_accs") if isinstance(metrics, dict) else None
    try:
        return float(np.ravel(np.asarray(accs, dtype=float))[-1])
    except (TypeError, ValueError, IndexError):
        return None


def model_source(ctx, run, module) -> str:
    """How the graded model came about, for the output; Fail when there is none."""
    report, cls = run.report, GROUPS[RUN_GROUP[module]].cls
    calls = report.get("calls") if isinstance(report.get("calls"), list) else []
    chosen = report.get("chosen")
    if isinstance(chosen, int) and 0 <= chosen < len(calls) and isinstance(calls[chosen], dict):
        kwargs = calls[chosen].get("kwargs") if isinstance(calls[chosen].get("kwargs"), dict) else {}
        shown = ", ".join(f"{k}={str(v)[:40]}" for k, v in kwargs.items())
        return f"the model your script trained with train(X_train, y_train, ...{', ' + shown if shown else ''})"
    why = no_model_reason(report, calls, cls, module)
    fallback = report.get("fallback")
    if isinstance(fallback, dict):
        init, train = ctx.facts.HANDOUT_RUNS[module]
        protocol = (f"{cls}({', '.join(f'{k}={v}' for k, v in init.items())}).train(X_train, y_train, X_val, y_val, "
                    f"{', '.join(f'{k}={v}' for k, v in train.items())})")
        if fallback.get("error"):
            raise Fail(f"your script trained no model on the handout's training set ({why}); the grader ran the "
                       f"handout protocol with your class, {protocol}, and it raised "
                       f"{describe_error(fallback['error'])}")
        return f"the handout protocol, run by the grader with your class because your script {why}: {protocol}"
    error = report.get("error")
    raise Fail(f"your script stopped with {describe_error(error)} before it trained a {cls} on the handout's training "
               f"set. `python {module}.py` stops there too. (The grader runs the handout protocol with your class "
               f"only when the script trains nothing because its doctests failed, it ended without training, or the "
               f"error is inside your {cls} class.)")


def no_model_reason(report, calls, cls, module) -> str:
    doctests = [d for d in report.get("doctests") or [] if isinstance(d, list) and len(d) == 2]
    failed = [d for d in doctests if isinstance(d[0], int) and d[0] > 0]
    if failed:
        return f"trained nothing after its doctests failed ({failed[-1][0]} of {failed[-1][1]} examples)"
    if report.get("ended") == "error":
        return f"stopped with an error inside your {cls} class ({describe_error(report.get('error'))})"
    if calls:
        return (f"trained only on data other than the handout's training set (for example a doctest's toy "
                f"input), and never on the {module} protocol's 2,000 training images")
    return f"ended without training a {cls}"


def predicted_labels(report, key, required=True):
    """Class labels from the probe's scores (probabilities, logits or labels)."""
    if f"{key}_error" in report:
        if not required:
            return None
        error = describe_error(report[f"{key}_error"])
        raise Fail(f"predicting the test images with your trained model raised {error}")
    try:
        scores = np.asarray(decode(report.get(key)), dtype=float)
    except (ValueError, TypeError, RecursionError, ArithmeticError):
        if not required:
            return None
        raise Fail(f"your model's predictions for the test images could not be read "
                   f"({short(report.get(key))})") from None
    if scores.ndim == 2:
        return scores.argmax(axis=1)
    if scores.ndim == 1:
        return scores.astype(np.int64)
    if not required:
        return None
    raise Fail(f"your model's predictions for the test images have shape {scores.shape}")


# The curves a fast grade lends an untrained model whose report_my_judgement() reads its own
# train_val_metrics: a plain, steadily learning run (any valid curves would do: --fast checks
# only that the answer is one of the three words).
FAST_CURVES = {"train_losses": [1.2, 0.8, 0.6, 0.5, 0.45], "train_accs": [0.6, 0.72, 0.8, 0.84, 0.86],
               "val_losses": [1.25, 0.85, 0.66, 0.57, 0.53], "val_accs": [0.58, 0.7, 0.77, 0.8, 0.82]}


def judgement(ctx, module):
    """report_my_judgement() against the curves of the model the run graded.

    The answer comes from the run's trained model. With ``--fast`` only the word is checked,
    asked of a fresh instance; with a reused run (``grade(reuse_runs=...)``) a fresh instance's
    answer is judged against the reused run's curves. A fresh instance has no
    ``train_val_metrics``: when the method raises there (it reads the curves itself), it is
    asked again with curves set, the reused run's or, with ``--fast``, :data:`FAST_CURVES`.
    """
    group = RUN_GROUP[module]
    cls = GROUPS[group].cls
    reused = ctx.reused.get(group)
    if ctx.fast or reused is not None:
        init = ctx.facts.HANDOUT_RUNS[module][0]
        curves = FAST_CURVES if ctx.fast else decode_safe(reused.report.get("metrics"))
        plan = [[new(cls, **init), op("has_method", "report_my_judgement", label="looking up report_my_judgement"),
                 call("report_my_judgement")],
                [new(cls, **init), set_attrs(train_val_metrics=curves if isinstance(curves, dict) else {}),
                 call("report_my_judgement", label="report_my_judgement() with train_val_metrics set")]]
        r = Sessions((yield plan), plan)
        if r.value(0, 1) is not True:
            raise Fail(f"{cls} has no method report_my_judgement()")
        lent = "error" in r[0, 2].raw  # it needs curves: ask the instance that has them
        answer = word(r.value(1, 2) if lent else r.value(0, 2))
        if ctx.fast:
            note = (" (it read train_val_metrics, so the grader asked it with curves of its own choosing set)"
                    if lent else "")
            return [Part(1, "report_my_judgement() returns one of the three words", True,
                         f"{answer!r}{note}. --fast mode only checks this; the full grade judges the answer against "
                         f"the curves of your script's own run")]
        if reused.problem:
            raise NotGraded(f"the reused run was not graded: {reused.problem}")
        return judge_answer(ctx, answer, reused.report.get("metrics"))
    run = yield RUN
    said = run.report.get("judgement")
    if not isinstance(said, dict):  # the probe asks for a judgement only when there is a model
        try:
            model_source(ctx, run, module)
        except Fail as exc:
            raise NotGraded(f"there is no trained model to judge: {exc}") from None
        raise NotGraded("the run produced no judgement")
    if said.get("missing"):
        raise Fail(f"{cls} has no method report_my_judgement()")
    if "error" in said:
        raise Fail(f"report_my_judgement() raised {describe_error(said['error'])}")
    return judge_answer(ctx, word(decode_safe(said.get("value"))), run.report.get("metrics"))


def judge_answer(ctx, answer, raw_metrics):
    metrics = decode_safe(raw_metrics)
    keys = ctx.facts.METRIC_KEYS
    if not isinstance(metrics, dict) or any(k not in metrics for k in keys):
        have = sorted(metrics) if isinstance(metrics, dict) else short(metrics)
        raise Fail(f"your answer is {answer!r}, but your model's train_val_metrics ({have}) lacks "
                   f"{', '.join(k for k in keys if not isinstance(metrics, dict) or k not in metrics)}, so it cannot "
                   f"be compared with your run's curves")
    sizes = ctx.facts.SPLIT_SIZES
    try:
        accepted = accepted_judgements(metrics, n_train=sizes["train"], n_val=sizes["val"])
        m = {k: [float(v) for v in np.ravel(np.asarray(metrics[k], dtype=float))] for k in keys}
    except (ValueError, TypeError, ArithmeticError) as exc:  # whatever curves a student's code recorded
        raise Fail(f"your answer is {answer!r}, but your run's curves (train_val_metrics) could not be read: "
                   f"{short(str(exc), 200)}") from None
    facts = (f"final train accuracy {m['train_accs'][-1]:.3f}, validation accuracy {m['val_accs'][-1]:.3f}, "
             f"validation loss {m['val_losses'][-1]:.3f} (lowest {min(m['val_losses']):.3f}) over "
             f"{len(m['train_accs'])} epochs")
    if len(accepted) > 1:
        reading = (f"the rule ({JUDGEMENT_RULE}) reads them as {accepted[0]!r}, but they lie within one "
                   f"standard error ({sizes['val']} validation images) of its boundary, so "
                   f"{' and '.join(repr(a) for a in accepted)} are {'both' if len(accepted) == 2 else 'all'} accepted")
    else:
        reading = f"the rule ({JUDGEMENT_RULE}) reads them as {accepted[0]!r}, clear of its boundaries' noise"
    return [Part(1, "report_my_judgement() matches your run's curves", answer in accepted,
                 f"your answer is {answer!r}; your run's curves: {facts}; {reading}")]


def word(value) -> str:
    if not isinstance(value, str) or value not in VERDICTS:
        raise Fail(f"report_my_judgement() must return exactly one of {', '.join(VERDICTS)}; got {short(value, 80)}")
    return value


def decode_safe(value):
    try:
        return decode(value)
    except (ValueError, TypeError, RecursionError):
        return None


@check("1.10")
def numpy_run(ctx):
    """python numpy_ann.py trains a NumpyANN on the handout split that reaches the threshold on its test images."""
    return (yield from script_run(ctx, "numpy_ann", "1.10"))


@check("2.6")
def ann_run(ctx):
    """python pytorch_ann.py trains a PyTorchANN on the handout split that reaches the threshold on its test images."""
    return (yield from script_run(ctx, "pytorch_ann", "2.6"))


@check("3.2")
def cnn_run(ctx):
    """python pytorch_cnn.py trains a PyTorchCNN on the handout split that reaches the threshold on its test images."""
    return (yield from script_run(ctx, "pytorch_cnn", "3.2"))


@check("2.7")
def ann_judgement(ctx):
    """PyTorchANN.report_my_judgement() is a reading the curves of the run graded in 2.6 do not contradict."""
    return (yield from judgement(ctx, "pytorch_ann"))


@check("3.3")
def cnn_judgement(ctx):
    """PyTorchCNN.report_my_judgement() is a reading the curves of the run graded in 3.2 do not contradict."""
    return (yield from judgement(ctx, "pytorch_cnn"))
