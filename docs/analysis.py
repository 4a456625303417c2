"""The figures and numbers of docs/analysis.md: ``python docs/analysis.py`` (about 6 min on 2 cores).

Every run is on the handout protocol (2,000 training, 200 validation, 200 test images) with
seed 42, on the CPU:

- ``numpy_ann``, ``pytorch_ann``, ``pytorch_cnn``: the runs a student makes with the filled
  handout, the course's own training code (its ``train`` methods, its settings): the solution's
  classes, or the reference's subclasses of them where a history is needed (``reference/``: they
  train through the solution's own ``train``, so these are those runs exactly);
- ``pytorch_cnn_recipe``: the reference's own CNN recipe (``PyTorchCNN.fit``), as an aside;
- ``numpy_ann_underfitting`` and ``pytorch_cnn_overfitting``: the same networks under other
  settings, so that all three readings show (too few epochs; no dropout, a constant learning
  rate and many epochs).

Writes ``docs/figures/<run>.png`` (the curves as ``reference.common.plot_train_val_metrics`` draws them)
and ``docs/analysis.json`` (the numbers the page quotes). ``python docs/analysis.py numpy_ann``
runs only the named runs (and keeps the others' numbers). tests/test_analysis.py checks the page
against the JSON and reruns the quick runs.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as numpy_ann.py as a script: small matrices

import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import pytorch_cnn  # noqa: E402
from course.facts import HANDOUT_RUNS  # noqa: E402
from course.judgement import accepted_judgements, diagnose_fit, fit_numbers  # noqa: E402
from reference import common, numpy_ann, pytorch_ann  # noqa: E402
from reference import pytorch_cnn as reference_cnn  # noqa: E402

JSON = HERE / "analysis.json"
FIGURES = HERE / "figures"


def _quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def cnn_skeleton(seed=42, dropout=None, **fit):
    """The solution's PyTorchCNN trained by the skeleton's ``train`` (HANDOUT_RUNS), or, given ``fit``
    keywords, the reference's by its ``fit``; ``dropout`` sets every Dropout's p. Returns run()'s dict."""
    import time

    data = common.load_handout_data("image", return_tensor=True)
    model = (reference_cnn if fit else pytorch_cnn).PyTorchCNN(random_seed=seed)
    if dropout is not None:
        for module in model.modules():
            if isinstance(module, pytorch_cnn.nn.Dropout):
                module.p = dropout
    start = time.perf_counter()
    if fit:
        model.fit(*data[:4], verbose=False, **fit)
    else:
        _quiet(lambda: model.train(*data[:4], **HANDOUT_RUNS["pytorch_cnn"][1]))
    seconds = time.perf_counter() - start
    X_all, Y_all = common.load_test_set("image", return_tensor=True)
    correct = sum(model.accuracy(X_all[i:i + 250], Y_all[i:i + 250]) * len(X_all[i:i + 250])  # 250 at a time: memory
                  for i in range(0, len(X_all), 250))
    return {"model": model, "test_acc": model.accuracy(data.X_test, data.y_test),
            "all_acc": correct / len(X_all), "train_seconds": seconds}


# name -> (what it is, how it runs); QUICK: the runs the test reruns (seconds each)
RUNS = {
    "numpy_ann": ("Part 1, the handout's run: NumpyANN(784, 64, 10, lr=0.01), 250 epochs of batches of 64",
                  lambda: numpy_ann.run(verbose=False)),
    "pytorch_ann": ("Part 2, the handout's run: PyTorchANN(784, 32, 10), SGD lr 0.2, 100 epochs of batches of 64",
                    lambda: pytorch_ann.run(verbose=False, device="cpu")),
    "pytorch_cnn": ("Part 3, the handout's run: PyTorchCNN(), the skeleton's train, 60 full-batch Adam steps at "
                    "lr 0.002", cnn_skeleton),
    "pytorch_cnn_recipe": ("Part 3, the reference's recipe: PyTorchCNN.fit, 24 epochs of batches of 64, one-cycle "
                           "Adam peaking at 0.003, label smoothing 0.1",
                           lambda: reference_cnn.run(verbose=False, device="cpu")),
    "numpy_ann_underfitting": ("Part 1's network stopped early: the handout's run, 20 epochs instead of 250",
                               lambda: numpy_ann.run(epochs=20, verbose=False)),
    "pytorch_cnn_overfitting": ("Part 3's network without dropout: fit, 40 epochs of batches of 64 at a constant "
                                "Adam rate of 0.001, no label smoothing",
                                lambda: cnn_skeleton(dropout=0.0, epochs=40, learning_rate=0.001, batch_size=64,
                                                     lr_schedule=None)),
}
QUICK = ("numpy_ann", "pytorch_ann", "numpy_ann_underfitting")


def numbers(result) -> dict:
    """What the page quotes of one run, rounded as the page writes it (3 decimals)."""
    m = result["model"].train_val_metrics
    fit = fit_numbers(m)
    best = min(range(len(m["val_losses"])), key=lambda i: m["val_losses"][i])
    r3 = lambda x: round(float(x), 3)  # noqa: E731
    return {
        "epochs": len(m["val_losses"]),
        "final": {"train_acc": r3(m["train_accs"][-1]), "val_acc": r3(m["val_accs"][-1]),
                  "train_loss": r3(m["train_losses"][-1]), "val_loss": r3(m["val_losses"][-1])},
        "val_loss_min": r3(m["val_losses"][best]), "val_loss_min_epoch": best + 1,
        "smoothed": {k: r3(fit[k]) for k in ("train_acc", "val_acc", "val_loss", "best_val_loss", "gap", "rise")},
        "noise": {k: r3(fit[k]) for k in ("se_train_acc", "se_gap", "se_rise")},
        "reading": diagnose_fit(m), "accepted": list(accepted_judgements(m)),
        "test_acc": r3(result["test_acc"]), "all_acc": r3(result["all_acc"]),
    }


def run(name) -> dict:
    """Train run ``name``; draw its figure; return its numbers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is fastest and repeatable
    try:
        result = RUNS[name][1]()
    finally:
        torch.set_num_threads(threads)
    FIGURES.mkdir(exist_ok=True)
    common.plot_train_val_metrics(result["model"].train_val_metrics, FIGURES / f"{name}.png",
                                  title=f"Train/Val Metrics: {name}")
    return dict(numbers(result), about=RUNS[name][0], figure=f"figures/{name}.png")


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        print(f"unknown runs {unknown}; known: {list(RUNS)}", file=sys.stderr)
        return 2
    runs = json.loads(JSON.read_text())["runs"] if JSON.exists() else {}
    for name in names:
        runs[name] = run(name)
        print(f"{name}: {json.dumps(runs[name])}", flush=True)
    JSON.write_text(json.dumps({"runs": {n: runs[n] for n in RUNS if n in runs}}, indent=2) + "\n")
    print(f"wrote {JSON} and {FIGURES}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
