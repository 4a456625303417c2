"""Part 2 (pytorch_ann.py, PyTorchANN): items 2.1-2.5, on small inputs the grader chooses.

Outputs are compared with the network's own output with weights the grader sets
(``ctx.model_outputs``: the judge evaluates the reported layers itself, the public tests ask
``self.model``); the seeded initialisation with a replica drawn under the same seed
(``grader/cases.py``).
"""
from __future__ import annotations

import base64
import math
import re

import numpy as np

from .common import (
    Fail,
    Sessions,
    Tensor,
    as_array,
    call,
    check,
    expect_close,
    get,
    new,
    op,
    part,
    short,
)

CLS = "PyTorchANN"
SIZES = dict(input_size=5, output_size=3, hidden_size=10)
METRIC_KEYS = ("train_losses", "train_accs", "val_losses", "val_accs")


def modules_of(r, session, index):
    """The probe's description of self.model: (list of modules, parameter count)."""
    got = r.value(session, index)
    modules = got.get("modules") if isinstance(got, dict) else None
    if not isinstance(modules, list):
        raise Fail(f"could not read self.model ({short(got)})")
    return got, modules


def model_output(X):
    """The plan's last operation where a check needs what ``self.model`` computes on ``X``."""
    return op("model_output", Tensor(X), label="evaluating self.model(X)")


@check("2.1")
def ann_init(ctx):
    """__init__ keeps sizes and seed, builds Sequential(Linear, ReLU, Linear) after torch.manual_seed(seed)."""
    c = ctx.case("2.1")
    sizes, other = c["sizes"], c["other_seed"]
    plan = [[new(CLS, **sizes), get("input_size", "hidden_size", "output_size", "seed")],
            [new(CLS, **sizes, random_seed=other), get("seed")],
            [new(CLS, **sizes), op("modules", label="describing self.model")],
            [new(CLS, **sizes), op("linears", label="reading the Linear layers' weights")],
            [new(CLS, **sizes, random_seed=other), op("linears", label="reading the Linear layers' weights")]]
    r = Sessions((yield plan), plan)
    described = ", ".join(f"{k}={v}" for k, v in sizes.items())

    def attributes():
        got = r.attrs(0, 1)
        want = dict(sizes, seed=42)
        if {k: got.get(k) for k in want} != want:
            raise Fail(f"after PyTorchANN({described}) expected {want}, got {short(got)}")
        seed = r.attrs(1, 1).get("seed")
        if seed != other:
            raise Fail(f"with random_seed={other} expected self.seed == {other}, got {short(seed)}")

    def layers():
        described_model, modules = modules_of(r, 2, 1)
        if not str(described_model.get("model_type", "")).endswith("Sequential"):
            raise Fail(f"expected self.model to be an nn.Sequential, got {short(described_model.get('model_type'))}")
        got = [layer_text(m) for m in modules]
        want = [f"Linear({sizes['input_size']}, {sizes['hidden_size']})", "ReLU",
                f"Linear({sizes['hidden_size']}, {sizes['output_size']})"]
        if got != want:
            raise Fail(f"expected self.model = nn.Sequential({', '.join(want)}), got nn.Sequential({', '.join(got)})",
                       hint="put an nn.ReLU() between the two nn.Linear layers" if "ReLU" not in got and
                       [g for g in got if g.startswith("Linear")] == [w for w in want if w.startswith("Linear")]
                       else None)

    def seeded():
        for session, seed in ((3, 42), (4, other)):
            got = r.value(session, 1)
            want = c["linears"][str(seed)]
            if not isinstance(got, list) or len(got) != len(want):
                raise Fail(f"expected the two nn.Linear layers of self.model, found {short(got)}")
            for index, ((w_got, b_got), (w_want, b_want)) in enumerate(zip(got, want)):
                name = (f"Linear layer {index + 1} with random_seed={seed} "
                        f"(torch.manual_seed(random_seed) before the layers)")
                try:
                    expect_close(f"{name}: weight", w_got, w_want, rtol=1e-6, atol=1e-7)
                    expect_close(f"{name}: bias", b_got, b_want, rtol=1e-6, atol=1e-7)
                except Fail as exc:
                    raise Fail(str(exc), hint="build the layers after the provided torch.manual_seed(random_seed), "
                                              "in the order Linear, ReLU, Linear") from None
    return [part(1, "attributes input_size, hidden_size, output_size, seed", attributes),
            part(1, "self.model = nn.Sequential(Linear, ReLU, Linear)", layers),
            part(1, "torch.manual_seed(random_seed) first, so the weights (and the handout example) reproduce", seeded)]


def layer_text(m) -> str:
    kind = str(m.get("type", "?")).rsplit(".", 1)[-1] if isinstance(m, dict) else "?"
    settings = m.get("settings", {}) if isinstance(m, dict) else {}
    if kind == "Linear":
        return f"Linear({settings.get('in_features')}, {settings.get('out_features')})"
    return kind


@check("2.2")
def ann_forward(ctx):
    """forward(X) returns self.model(X), against the grader's own evaluation of it (eval mode, set weights)."""
    c = ctx.case("2.2")
    linears, X = c["linears"], c["X"]
    plan = [[new(CLS, **SIZES), op("set_linears", linears, label="setting the Linear layers' weights"),
             op("eval", label="model.eval()"), op("modules", label="describing self.model"),
             call("forward", Tensor(X)), call("__call__", Tensor(X), label="model(X)"), model_output(X)]]
    r = Sessions((yield plan), plan)

    def probe():
        _, modules = modules_of(r, 0, 3)
        want = ctx.model_outputs(r, 0, 6, X, modules, linears)
        expect_close("forward(X) against self.model(X)", r.value(0, 4), want, rtol=1e-4, atol=1e-5)
        expect_close("model(X) against self.model(X)", r.value(0, 5), want, rtol=1e-4, atol=1e-5)
    return [part(1, "forward(X) returns self.model(X)", probe)]


@check("2.3")
def ann_train(ctx):
    """train: CrossEntropyLoss, SGD(lr) over the parameters, zero_grad + step per batch, metrics per epoch."""
    c = ctx.case("2.3")
    X, Y, Xv, Yv = c["X"], c["Y"], c["Xv"], c["Yv"]
    epochs, batch_size, lr = 5, 8, 0.1
    every = ctx.facts.PROGRESS_EVERY["pytorch_ann"]
    per_epoch = math.ceil(len(X) / batch_size)
    plan = [[new(CLS, input_size=5, output_size=3, hidden_size=8),
             op("train_trace", [Tensor(X), Tensor(Y), Tensor(Xv), Tensor(Yv)],
                dict(epochs=epochs, batch_size=batch_size, learning_rate=lr),
                label=f"train(X (20 samples), y, X_val, y_val, epochs={epochs}, batch_size={batch_size}, "
                      f"learning_rate={lr})", calls="train"),
             get("train_val_metrics"), op("eval", label="model.eval()"), op("modules", label="describing self.model"),
             op("linears", label="reading the Linear layers' weights"), model_output(Xv)]]
    r = Sessions((yield plan), plan)

    def trace():
        log = r.value(0, 1)
        if not isinstance(log, dict) or not isinstance(log.get("steps"), list):
            raise Fail(f"the training trace could not be read ({short(log)})")
        return log

    def loss():
        log = trace()
        steps = log["steps"]
        if not steps or not isinstance(log.get("ce_with_grad"), int) or log["ce_with_grad"] < len(steps):
            raise Fail(f"expected nn.CrossEntropyLoss computed before every optimizer step; saw "
                       f"{short(log.get('ce_with_grad'))} cross-entropy losses with gradients for {len(steps)} steps")

    def optimizer():
        log = trace()
        if not log["steps"]:
            raise Fail("no optimizer step was taken")
        kinds = {str(s.get("optimizer")) if isinstance(s, dict) else "?" for s in log["steps"]}
        if kinds != {"torch.optim.sgd.SGD"}:
            raise Fail(f"expected torch.optim.SGD, got {', '.join(sorted(k.rsplit('.', 1)[-1] for k in kinds))}",
                       hint="the handout's optimiser is plain torch.optim.SGD(self.model.parameters(), "
                            "lr=learning_rate), not another one")
        everything = list(range(int(log.get("parameters", -1))))
        for s in log["steps"]:
            groups = s.get("groups") if isinstance(s.get("groups"), list) else []
            rates = {g.get("lr") for g in groups if isinstance(g, dict)}
            held = sorted(i for g in groups if isinstance(g, dict) for i in (g.get("params") or []))
            if rates != {lr}:
                raise Fail(f"expected lr={lr} (the learning_rate argument), got {sorted(map(str, rates))}")
            if held != everything:
                raise Fail("the optimizer does not hold exactly the model's parameters (self.model.parameters())")

    def step_count():
        steps = trace()["steps"]
        if len(steps) != epochs * per_epoch:
            raise Fail(f"with 20 samples and batch_size={batch_size} expected {per_epoch} steps per epoch, "
                       f"{epochs * per_epoch} in {epochs} epochs; got {len(steps)}")

    def zero_grad():
        steps = trace()["steps"]
        counts = [s.get("zero_grad") if isinstance(s, dict) else None for s in steps]
        # The first step may come without zero_grad (gradients start empty); each later one needs one.
        missing = sum(1 for before, now in zip(counts, counts[1:])
                      if not (isinstance(before, int) and isinstance(now, int) and now > before))
        if not steps or missing:
            raise Fail(f"expected zero_grad() before each of the {len(steps)} steps (gradients otherwise accumulate "
                       f"across batches); {missing} steps had no zero_grad() since the previous one",
                       hint="keep the provided optimizer.zero_grad() at the start of every batch: without it the "
                            "gradients are never zeroed and add up")

    def metrics():
        trace()
        m = r.attrs(0, 2).get("train_val_metrics")
        if not isinstance(m, dict) or any(k not in m for k in METRIC_KEYS):
            raise Fail(f"expected self.train_val_metrics to be a dict with keys {list(METRIC_KEYS)}, got "
                       f"{sorted(m) if isinstance(m, dict) else short(m)}")
        for k in METRIC_KEYS:
            is_sequence = isinstance(m[k], (list, tuple, np.ndarray))
            values = as_array(f"train_val_metrics['{k}']", m[k]).ravel() if is_sequence else None
            if values is None or len(values) != epochs:
                raise Fail(f"train_val_metrics['{k}'] should hold one number per epoch ({epochs}), got {short(m[k])}")
            if k.endswith("accs") and not np.all((values >= 0) & (values <= 1)):
                raise Fail(f"train_val_metrics['{k}'] should be accuracies in [0, 1], got {short(values)}")
        _, modules = modules_of(r, 0, 4)
        weights = r.value(0, 5)
        if not isinstance(weights, list) or not all(isinstance(w, tuple) and len(w) == 2 for w in weights):
            raise Fail(f"could not read the trained weights ({short(weights)})")
        weights = [(as_array("weight", w), as_array("bias", b)) for w, b in weights]
        scores = ctx.model_outputs(r, 0, 6, Xv, modules, weights)
        val_acc = float(np.mean(scores.argmax(1) == Yv.argmax(1)))
        last = float(as_array("val_accs", m["val_accs"]).ravel()[-1])
        if abs(last - val_acc) > 1e-6:
            raise Fail(f"the last val_accs entry should be the validation accuracy after the last epoch, {val_acc:g}; "
                       f"got {last:g}")
        printed = r[0, 1].stdout
        if not re.search(rf"\[\s*{epochs}\s*/\s*{epochs}\s*\]\s*\|\s*Train Loss:", printed):
            raise Fail(f"with epochs={epochs} expected a progress line '[{epochs} / {epochs}] | Train Loss: ...' "
                       f"(printed every {every}th epoch)")
    return [part(1, "loss is nn.CrossEntropyLoss", loss),
            part(1, "torch.optim.SGD over the model's parameters with lr=learning_rate", optimizer),
            part(1, "one optimizer step per mini-batch", step_count),
            part(1, "zero_grad() every mini-batch", zero_grad),
            part(1, f"train_val_metrics has one value per epoch for each key; progress every {every}th epoch", metrics)]


@check("2.4")
def ann_predict(ctx):
    """predict returns integer labels, the argmax over dim 1 of the outputs in eval mode, without gradients."""
    c = ctx.case("2.4")
    linears, X = c["linears"], c["X"]
    plan = [[new(CLS, **SIZES), op("set_linears", linears, label="setting the Linear layers' weights"),
             op("modules", label="describing self.model"), call("predict", Tensor(X)), model_output(X)]]
    r = Sessions((yield plan), plan)

    def probe():
        got = r.value(0, 3)
        meta = getattr(got, "tensor", None)
        if not meta:
            raise Fail(f"expected a tensor of labels, got {r[0, 3].type} {short(got)}")
        if got.shape != (len(X),):
            raise Fail(f"expected labels of shape ({len(X)},) (argmax over dim 1), got shape {tuple(got.shape)}",
                       hint="predict returns the predicted class of each sample, the argmax over dim 1 of the "
                            "outputs, not the outputs themselves" if got.shape == (len(X), SIZES["output_size"])
                       else None)
        if meta.get("dtype") not in ("torch.int64", "torch.int32"):
            raise Fail(f"expected integer labels, got dtype {meta.get('dtype')}")
        if meta.get("requires_grad"):
            raise Fail("predict should run without gradients (torch.no_grad())")
        _, modules = modules_of(r, 0, 2)
        want = np.asarray(ctx.model_outputs(r, 0, 4, X, modules, linears)).argmax(axis=1)
        if not np.array_equal(np.asarray(got), want):
            raise Fail(f"expected the argmax of the outputs {want.tolist()}, got {np.asarray(got).tolist()}")
    return [part(1, "labels = argmax over dim 1 of the outputs, in eval mode, no grad", probe)]


@check("2.5")
def ann_plot(ctx):
    """plot_train_val_metrics saves the PNG, returns (fig, ax): two labelled axes, 12 x 6 in, legends, title."""
    name = "pytorch_ann_train_val_metrics.png"
    metrics = {"train_losses": [1.0, 0.8, 0.6, 0.5], "train_accs": [0.5, 0.6, 0.7, 0.75],
               "val_losses": [1.1, 0.9, 0.7, 0.65], "val_accs": [0.45, 0.55, 0.65, 0.7]}
    plan = [[new(CLS, **SIZES), op("plot", metrics, name, label="plot_train_val_metrics()",
                                   calls="plot_train_val_metrics")]]
    r = Sessions((yield plan), plan)

    def result():
        got = r.value(0, 1)
        if not isinstance(got, dict):
            raise Fail(f"could not read what plot_train_val_metrics() did ({short(got)})")
        return got

    def saved():
        f = result().get("file")
        if not isinstance(f, dict) or not f.get("exists"):
            raise Fail(f"expected the figure saved as {name} in the working directory; no such file",
                       hint=f"keep the provided plt.savefig(\"{name}\") before the return")
        head = base64.b64decode(str(f.get("head", "")), validate=False) if f.get("regular") else b""
        if head != b"\x89PNG\r\n\x1a\n":
            raise Fail(f"{name} is not a PNG image")

    def figure():
        got = result().get("returned")
        if not isinstance(got, dict) or got.get("shape") != "tuple of 2":
            raise Fail(f"expected plot_train_val_metrics() to return (fig, ax), got {short(got)}")
        axes = got.get("axes") if isinstance(got.get("axes"), list) else []
        if len(axes) != 2:
            raise Fail(f"expected a figure with one row of two axes, got {len(axes)} axes")
        size = got.get("size_inches")
        if not (isinstance(size, list) and len(size) == 2 and np.allclose(size, (12, 6), atol=0.01)):
            raise Fail(f"expected a 12 x 6 inch figure, got {short(size)}")
        for axis, what in zip(axes, ("losses", "accuracies")):
            if not isinstance(axis, dict) or not (isinstance(axis.get("lines"), int) and axis["lines"] >= 2) \
                    or not axis.get("legend") or not axis.get("xlabel") or not axis.get("ylabel"):
                raise Fail(f"the {what} axes should show train and val curves with axis labels and a legend")
        titles = [str(got.get("suptitle", ""))] + [str(a.get("title", "")) for a in axes]
        if not any("Train/Val Metrics" in t for t in titles):
            raise Fail(f"expected the title 'Train/Val Metrics', got titles {short(titles)}")
    return [part(0.5, f"saves {name}", saved),
            part(0.5, "returns (fig, ax): two axes, 12 x 6 in, labels, legends, title", figure)]
