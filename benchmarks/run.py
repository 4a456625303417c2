"""Measure the three models and their peers on this machine, in one process; write BENCHMARKS.md.

    python -m benchmarks.run                  # everything (about 30 min on a 2-core CPU)
    python -m benchmarks.run --seeds 0 1 2    # fewer seeds
    python -m benchmarks.run --skip-full      # leave out the --full runs

Sections:
1. the handout protocol for each model over seeds (accuracy on the handout's 200 test
   images and on all 10,000, training time);
2. the ``--full`` runs (60,000 training images, all 10,000 test images), one seed each;
3. peers: scikit-learn's ``MLPClassifier`` against ``NumpyANN`` (same network, batches,
   learning rate, epochs), and the original skeleton's full-batch CNN loop against ours;
4. figures: the CNN's confusion matrix on the 10,000 test images and a grid of
   misclassified examples (``benchmarks/figures/``).
"""
from __future__ import annotations

import os

# numpy's BLAS on one thread, as numpy_ann.py does as a script: for these small matrices
# extra threads only contend (numpy reads this when it loads, so before the import).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy_ann  # noqa: E402  (the solution, for the peers' timings)
import utils  # noqa: E402
from course import facts  # noqa: E402
from course.judgement import diagnose_fit  # noqa: E402
from reference import common  # noqa: E402
from reference import numpy_ann as reference_numpy  # noqa: E402
from reference import pytorch_ann as reference_ann  # noqa: E402
from reference import pytorch_cnn as reference_cnn  # noqa: E402

FIGURES = ROOT / "benchmarks" / "figures"
MODELS = {"NumpyANN": reference_numpy, "PyTorchANN": reference_ann, "PyTorchCNN": reference_cnn}
# The handout's thresholds (course.facts, their one place) and the --full targets, by class name.
THRESHOLDS = {name: facts.THRESHOLDS[module.__name__.split(".")[-1]] for name, module in MODELS.items()}
FULL_TARGETS = {name: module.FULL_TARGET for name, module in MODELS.items()}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def stats(values):
    values = list(values)
    return (statistics.mean(values), statistics.pstdev(values) if len(values) > 1 else 0.0,
            min(values))


# ------------------------------------------------------------------------- 1. handout
def handout_runs(seeds):
    rows = {}
    for name, module in MODELS.items():
        rows[name] = []
        for seed in seeds:
            r = module.run(seed=seed, verbose=False)
            rows[name].append(r)
            log(f"handout {name} seed {seed}: 200 {r['test_acc']:.3f}  10k {r['all_acc']:.4f}  "
                f"{r['train_seconds']:.1f} s")
    return rows


# ------------------------------------------------------------------------- 2. full
def full_runs():
    out = {}
    for name, module in MODELS.items():
        start = time.perf_counter()
        r = module.run(seed=42, full=True, verbose=False)
        r["wall_seconds"] = time.perf_counter() - start
        r["judgement"] = diagnose_fit(r["model"].train_val_metrics)
        out[name] = r
        log(f"full {name}: {r['test_acc']:.4f} in {r['train_seconds']:.0f} s")
    return out


# ------------------------------------------------------------------------- 3. peers
def mlp_peer():
    """sklearn's MLPClassifier against NumpyANN: the same network and SGD, timed per epoch."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    hp = reference_numpy.settings()
    s = common.load_handout_data()
    X_all, Y_all = common.preprocess(*utils.load_mnist_f()[2:])

    start = time.perf_counter()
    ours = numpy_ann.NumpyANN(784, hp["hidden_size"], 10, hp["lr"], random_seed=42)
    ours.train(s.X_train, s.y_train, s.X_val, s.y_val, epochs=hp["epochs"],
               batch_size=hp["batch_size"])  # prints every 10th epoch: 25 short lines
    ours_s = time.perf_counter() - start

    # The same steps without train()'s per-epoch metric passes (MLPClassifier has none).
    core = numpy_ann.NumpyANN(784, hp["hidden_size"], 10, hp["lr"], random_seed=42)
    start = time.perf_counter()
    for _ in range(hp["epochs"]):
        for i in range(0, len(s.X_train), hp["batch_size"]):
            X_batch = s.X_train[i:i + hp["batch_size"]]
            core._forward(X_batch)
            core._backward(X_batch, s.y_train[i:i + hp["batch_size"]])
    core_s = time.perf_counter() - start
    assert np.array_equal(core.W1, ours.W1)  # really the same computation

    # Plain SGD, no momentum, no L2, constant rate, batches in order, every epoch run.
    peer = MLPClassifier(hidden_layer_sizes=(hp["hidden_size"],), activation="relu",
                         solver="sgd", learning_rate_init=hp["lr"], learning_rate="constant",
                         momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                         batch_size=hp["batch_size"], max_iter=hp["epochs"], shuffle=False,
                         tol=0.0, n_iter_no_change=hp["epochs"] + 1, random_state=42)
    y_train = s.y_train.argmax(1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peer.fit(s.X_train, y_train)
    peer_s = time.perf_counter() - start
    return {
        "epochs": hp["epochs"], "ours_epoch_ms": 1000 * ours_s / hp["epochs"],
        "core_epoch_ms": 1000 * core_s / hp["epochs"],
        "peer_epoch_ms": 1000 * peer_s / peer.n_iter_,
        "ours_acc": (ours.accuracy(s.X_test, s.y_test), ours.accuracy(X_all, Y_all)),
        "peer_acc": (peer.score(s.X_test, s.y_test.argmax(1)), peer.score(X_all, Y_all.argmax(1))),
        "peer_iters": peer.n_iter_,
    }


def textbook_cnn(epochs=60, lr=0.002):
    """The skeleton's own loop, ``PyTorchCNN.train``: full-batch Adam, nothing else (the reference's
    class, which trains with the solution's ``train`` and predicts the 10,000 images in chunks)."""
    import contextlib
    import io

    s = common.load_handout_data(layout="image", return_tensor=True)
    X_all, Y_all = common.preprocess(*utils.load_mnist_f()[2:], layout="image", return_tensor=True)
    model = reference_cnn.PyTorchCNN(random_seed=42)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # a progress line every epoch
        model.train(s.X_train, s.y_train, s.X_val, s.y_val, epochs=epochs, learning_rate=lr)
    seconds = time.perf_counter() - start
    return {"epochs": epochs, "lr": lr, "seconds": seconds,
            "test_acc": model.accuracy(s.X_test, s.y_test), "all_acc": model.accuracy(X_all, Y_all)}


# ------------------------------------------------------------------------- 4. figures
def cnn_figures(model):
    from matplotlib.figure import Figure
    from sklearn.metrics import confusion_matrix

    FIGURES.mkdir(parents=True, exist_ok=True)
    X_raw, y_raw = utils.load_mnist_f()[2:]
    X, _ = common.preprocess(X_raw, y_raw, layout="image", return_tensor=True)
    pred = model.predict(X).cpu().numpy()
    cm = confusion_matrix(y_raw, pred, labels=range(10))

    fig = Figure(figsize=(9, 8))
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(10), utils.CLASS_NAMES, rotation=45, ha="right")
    ax.set_yticks(range(10), utils.CLASS_NAMES)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    for i in range(10):
        for j in range(10):
            ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title(f"PyTorchCNN on the 10,000 test images (accuracy {np.trace(cm) / cm.sum():.4f})")
    fig.tight_layout()
    fig.savefig(FIGURES / "cnn_confusion_matrix.png", dpi=100)

    wrong = np.flatnonzero(pred != y_raw)[:40]
    fig = Figure(figsize=(12, 10))
    axes = fig.subplots(5, 8)
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(X_raw[i], cmap="gray_r")
        ax.set_title(f"true: {utils.CLASS_NAMES[y_raw[i]]}\npred: {utils.CLASS_NAMES[pred[i]]}",
                     fontsize=7)
        ax.axis("off")
    for ax in list(axes.flat)[len(wrong):]:
        ax.axis("off")
    fig.suptitle("Misclassified test images (the first 40 of the 10,000)")
    fig.tight_layout()
    fig.savefig(FIGURES / "cnn_misclassified.png", dpi=100)
    return cm


# ------------------------------------------------------------------------- report
def machine():
    import sklearn
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
            f"{np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"scikit-learn {sklearn.__version__}")


def report(seeds, handout, full, mlp, cnn_peer, cm, total_s):
    L = ["# Benchmarks", "",
         f"Measured by `python -m benchmarks.run` on {time.strftime('%Y-%m-%d')}, on {machine()}. "
         f"Total run time {total_s / 60:.1f} min. CPU only.", ""]
    if handout:
        L += [f"## The handout protocol, seeds {seeds[0]}-{seeds[-1]} ({len(seeds)} runs each)", "",
              "Accuracy on the handout's 200 test images (the graded number, threshold in "
              "brackets) and on all 10,000 test images; training time per run.", "",
              "| model | 200 images: mean | std | min | runs ≥ threshold | 10,000: mean | std | min | train s (mean) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, rows in handout.items():
            a, b = stats(r["test_acc"] for r in rows), stats(r["all_acc"] for r in rows)
            ok = sum(r["test_acc"] >= THRESHOLDS[name] for r in rows)
            t = statistics.mean(r["train_seconds"] for r in rows)
            L.append(f"| {name} (≥ {THRESHOLDS[name]}) | {a[0]:.4f} | {a[1]:.4f} | {a[2]:.4f} | "
                     f"{ok}/{len(rows)} | {b[0]:.4f} | {b[1]:.4f} | {b[2]:.4f} | {t:.1f} |")
        L.append("")
    if full:
        L += ["## `--full`: 55,000 training / 5,000 validation / 10,000 test images", "",
              "| model | test accuracy (10,000) | target | training time | judgement | settings |",
              "| --- | ---: | ---: | ---: | --- | --- |"]
        for name, r in full.items():
            hp = ", ".join(f"{k}={v}" for k, v in r["hyperparameters"].items())
            L.append(f"| {name} | {r['test_acc']:.4f} | ≥ {FULL_TARGETS[name]} | "
                     f"{r['train_seconds'] / 60:.1f} min | {r['judgement']} | {hp} |")
        L.append("")
    if mlp:
        ratio = mlp["ours_epoch_ms"] / mlp["peer_epoch_ms"]
        L += ["## NumpyANN against scikit-learn's MLPClassifier", "",
              f"The same network (784-64-10, ReLU, softmax), plain SGD at lr 0.01, batches of 64 "
              f"in order, {mlp['epochs']} epochs, on the handout's 2,000 images "
              f"(MLPClassifier: `solver='sgd', momentum=0, alpha=0, shuffle=False`, ran "
              f"{mlp['peer_iters']} epochs). NumpyANN's time includes its per-epoch train and "
              "validation metrics; MLPClassifier computes none.", "",
              "| | time per epoch | 200 images | 10,000 images |", "| --- | ---: | ---: | ---: |",
              f"| NumpyANN.train (with per-epoch train/val metrics) | {mlp['ours_epoch_ms']:.1f} ms | "
              f"{mlp['ours_acc'][0]:.4f} | {mlp['ours_acc'][1]:.4f} |",
              f"| NumpyANN, the mini-batch steps alone | {mlp['core_epoch_ms']:.1f} ms | same weights | same weights |",
              f"| MLPClassifier | {mlp['peer_epoch_ms']:.1f} ms | {mlp['peer_acc'][0]:.4f} | "
              f"{mlp['peer_acc'][1]:.4f} |",
              "", f"Ratio NumpyANN.train / MLPClassifier time per epoch: **{ratio:.2f}**; the "
              f"steps alone: **{mlp['core_epoch_ms'] / mlp['peer_epoch_ms']:.2f}** (target ≤ 0.8). "
              "The difference is the honest per-epoch metric pass: one forward pass over the "
              "2,000 training and 200 validation images with the epoch's final weights.", ""]
    if cnn_peer and handout:
        ours = handout["PyTorchCNN"]
        t = statistics.mean(r["train_seconds"] for r in ours)
        acc = statistics.mean(r["all_acc"] for r in ours)
        acc200 = statistics.mean(r["test_acc"] for r in ours)
        L += ["## PyTorchCNN against the textbook full-batch loop", "",
              f"The original skeleton's `train`: one full batch of 2,000 images per step, Adam, "
              f"{cnn_peer['epochs']} epochs at lr {cnn_peer['lr']}, same architecture and seed.", "",
              "| | training time | 200 images | 10,000 images |", "| --- | ---: | ---: | ---: |",
              f"| textbook loop (seed 42) | {cnn_peer['seconds']:.1f} s | {cnn_peer['test_acc']:.4f} | "
              f"{cnn_peer['all_acc']:.4f} |",
              f"| ours (mean over seeds) | {t:.1f} s | {acc200:.4f} | {acc:.4f} |",
              "", f"Speed-up: **{cnn_peer['seconds'] / t:.1f}x** (target ≥ 2x at equal or better accuracy).", ""]
    if cm is not None:
        names = utils.CLASS_NAMES
        L += ["## Where the CNN errs", "",
              f"Confusion matrix of the CNN{' `--full` model' if full else ''} on the 10,000 "
              "test images (rows: true class, columns: predicted; 1,000 images per class). "
              "The run also draws it, with a grid of misclassified images and their true and "
              "predicted classes, to `benchmarks/figures/cnn_confusion_matrix.png` and "
              "`benchmarks/figures/cnn_misclassified.png` (generated, not committed).", "",
              "| true / predicted | " + " | ".join(names) + " | accuracy |",
              "| --- |" + " ---: |" * (len(names) + 1)]
        for i, name in enumerate(names):
            L.append(f"| {name} | " + " | ".join(str(v) for v in cm[i]) +
                     f" | {cm[i, i] / cm[i].sum():.3f} |")
        L.append("")
    return "\n".join(L)


KEEP = "<!-- The sections below are not written by benchmarks.run; it keeps them as they are. -->"


def kept_sections(path: Path) -> str:
    """What BENCHMARKS.md holds after the KEEP mark (other scripts' and one-off measurements)."""
    text = path.read_text() if path.exists() else ""
    return text[text.index(KEEP):] if KEEP in text else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--skip-handout", action="store_true")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    handout = full = mlp = cnn_peer = cm = None

    def write():  # after every section, so a long run that is cut short still reports
        text = report(args.seeds, handout, full, mlp, cnn_peer, cm,
                      time.perf_counter() - start)
        Path(args.out).write_text(text + "\n" + kept_sections(Path(args.out)))
        return text

    if not args.skip_handout:
        handout = handout_runs(args.seeds)
        write()
    if not args.skip_peers:
        mlp = mlp_peer()
        cnn_peer = textbook_cnn()
        write()
    if not args.skip_full:
        full = full_runs()
        write()
    figure_model = (full or {}).get("PyTorchCNN", {}).get("model") or reference_cnn.run(verbose=False)["model"]
    cm = cnn_figures(figure_model)
    text = write()
    log(f"wrote {args.out}")
    print(text)


if __name__ == "__main__":
    main()
