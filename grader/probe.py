"""The untrusted side of the grader: call the student's code on the grader's inputs, report raw values.

It runs inside the sandboxed child (``grader/sandbox.py`` forks it, as the grading user, in a
scratch copy of the submission), in the same process as the student's code, so nothing here
is trusted: the student's code can read or patch every object in this module. It therefore
decides nothing. It holds no expected value, computes no pass/fail and no score; it only
reports what the student's methods returned on the inputs the plan gives (arrays, weights
after a step, printed text, predictions, curves). The judge (``grader/checks/``) computes
every expectation in the grader's own process and compares. A forged report can only claim
values, and a claimed value earns points only if it is the right answer for inputs the judge
chose.

Values travel in the wire format of ``wire.py``, one JSON line per message. Messages the child
writes on file descriptor 3:

- ``{"ready": ...}``: the probe's own set-up worked (before any student code runs);
- ``{"import": ...}``: importing the student's module (ok, or the error);
- ``{"item": id, "results": [...]}``: one per plan step, as soon as it finishes;
- ``{"progress": {"epoch": e, "epochs": E}}``: a script run printed the handout's progress line
  ``[e / E] | ...`` (its first PROGRESS_SENT), so that the grader can show the run and tell a slow
  run from a hung one;
- ``{"done": true}``.
"""
from __future__ import annotations

import base64
import builtins
import contextlib
import functools
import hashlib
import io
import json
import os
import re
import runpy
import signal
import sys
import time
import traceback

import numpy as np

from .wire import decode, encode, is_tensor, safe_repr, type_name


def to_input(obj, torch=None):
    """Plan arguments: decoded values, with arrays tagged ``"tensor"`` made torch tensors."""
    if isinstance(obj, dict) and "__nd__" in obj:
        array = decode({"__nd__": obj["__nd__"]})
        if "tensor" in obj:
            return torch.as_tensor(array, dtype=getattr(torch, obj["tensor"]))
        return array
    if isinstance(obj, dict) and "__seq__" in obj:
        values = [to_input(v, torch) for v in obj["items"]]
        return tuple(values) if obj["__seq__"] == "tuple" else values
    if isinstance(obj, dict) and "__map__" in obj:
        return {k: to_input(v, torch) for k, v in obj["__map__"].items()}
    return decode(obj)


# --------------------------------------------------------------------------- plumbing
class Stop(BaseException):
    """Raised by the per-item alarm; a BaseException so `except Exception` in student code lets it pass."""


class Reporter:
    """Writes one JSON line per message to the results descriptor the parent opened."""

    def __init__(self, fd):
        self.fd = fd

    def send(self, message):
        data = (json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]


PROGRESS_LINE = re.compile(r"\[(\d{1,9}) / (\d{1,9})\] \|")  # the handout's "[12 / 60] | Train Loss: ..."
PROGRESS_SENT = 2000  # progress lines passed on per run (the first ones): the handout's runs print at most 60


class Captured(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: keeps the first and last characters written; with a
    ``reporter``, passes the handout's progress lines on as they are printed."""

    def __init__(self, head=20_000, tail=20_000, reporter=None):
        self.head_limit, self.tail_limit = head, tail
        self.head, self.tail, self.total = "", "", 0
        self.reporter, self.line, self.sent = reporter, "", 0

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        written = len(s)
        self.total += written
        if self.reporter is not None:
            self._progress(s)
        if len(self.head) < self.head_limit:
            room = self.head_limit - len(self.head)
            self.head, s = self.head + s[:room], s[room:]
        if s:
            self.tail = (self.tail + s)[-self.tail_limit:]
        return written

    def _progress(self, s):
        *lines, self.line = (self.line + s).split("\n")
        self.line = self.line[:200]  # a line's start is what matches: "[12 / 60] |"
        for line in lines:
            match = PROGRESS_LINE.match(line)
            if match and self.sent < PROGRESS_SENT:
                self.sent += 1
                self.reporter.send({"progress": {"epoch": int(match[1]), "epochs": int(match[2])}})

    def text(self):
        dropped = self.total - len(self.head) - len(self.tail)
        return self.head + (f"\n[... {dropped} characters left out ...]\n" if dropped > 0 else "") + self.tail


@contextlib.contextmanager
def captured(seconds=None, reporter=None):
    out = Captured(reporter=reporter)
    if seconds:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            yield out
    finally:
        if seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _alarm(signum, frame):
    raise Stop()


def describe_error(exc, scratch, cls_name=None):
    """The raw facts of an exception: type, message, the student's frame nearest to it."""
    if isinstance(exc, Stop):
        return {"type": "Timeout", "message": "it did not finish within the time limit"}
    info = {"type": type(exc).__name__, "message": _safe_str(exc)[:1000]}
    if isinstance(exc, SystemExit):
        info["exit_code"] = safe_repr(exc.code, 80)
    if isinstance(exc, SyntaxError):
        info.update(line=exc.lineno, file=os.path.basename(exc.filename or ""), message=str(exc.msg)[:300])
        return info
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if os.path.dirname(os.path.abspath(frame.filename)) == scratch \
                and os.path.basename(frame.filename) != "utils.py":
            info["where"] = f"{os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}"
            break
    if cls_name:  # did it happen inside one of the graded class's methods?
        tb, inside = exc.__traceback__, False
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_qualname.startswith(cls_name + ".") and \
                    os.path.dirname(os.path.abspath(code.co_filename)) == scratch:
                inside = True
            tb = tb.tb_next
        info["in_class"] = inside
    return info


def _safe_str(exc):
    try:
        return str(exc)
    except BaseException:  # noqa: BLE001
        return "<str failed>"


# --------------------------------------------------------------------------- sessions
class Session:
    """One object of the student's class, driven by a list of operations from the plan.

    Each operation's outcome is ``{"value", "type", "stdout"}`` or ``{"error", "stdout"}``;
    the session stops at the first error (the rest are not reached).
    """

    def __init__(self, probe, cls):
        self.probe, self.cls, self.obj, self.spied = probe, cls, None, {}

    def run(self, ops):
        outcomes = []
        for op in ops:
            with captured() as out:
                try:
                    value = getattr(self, "op_" + op[0])(*op[1:])
                    outcome = {"value": encode(value), "type": type_name(value)}
                except Stop:
                    raise
                except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    outcome = {"error": describe_error(exc, self.probe.scratch)}
            outcome["stdout"] = out.text()
            outcomes.append(outcome)
            if "error" in outcome:
                break
        return outcomes

    def arg(self, value):
        return to_input(value, self.probe.torch)

    def op_new(self, kwargs):
        self.obj = self.cls(**self.arg(kwargs))

    def op_call(self, method, args, kwargs):
        return getattr(self.obj, method)(*self.arg(args), **self.arg(kwargs))

    def op_set(self, values):
        for name, value in self.arg(values).items():
            setattr(self.obj, name, value)

    def op_forget(self, names):
        for name in names:
            self.obj.__dict__.pop(name, None)

    def op_get(self, names):
        return {name: getattr(self.obj, name) if hasattr(self.obj, name) else Missing() for name in names}

    def op_has_method(self, name):
        return callable(getattr(self.obj, name, None))

    def op_state(self):
        """Every instance attribute: arrays and numbers as data, the rest as type and repr."""
        return dict(vars(self.obj))

    def op_spy(self, method):
        """Record the number of rows of the first argument (``X``, passed by position or by
        name) of each call to ``method``."""
        calls = self.spied.setdefault(method, [])
        original = getattr(self.obj, method)

        @functools.wraps(original)
        def spy(*args, **kwargs):
            first = args[0] if args else kwargs.get("X")
            calls.append(len(first) if first is not None else None)
            return original(*args, **kwargs)
        setattr(self.obj, method, spy)

    def op_spied(self, method):
        return list(self.spied.get(method, []))

    # ---- torch models
    def linears(self):
        nn = self.probe.torch.nn
        model = getattr(self.obj, "model", None)
        return [m for m in (model.modules() if isinstance(model, nn.Module) else []) if isinstance(m, nn.Linear)]

    def op_set_linears(self, weights):
        """Copy the plan's (weight, bias) pairs into the nn.Linear layers of ``self.model``, in order."""
        torch = self.probe.torch
        layers = self.linears()
        if len(layers) != len(weights):
            raise LookupError(f"self.model has {len(layers)} nn.Linear layers; the check sets {len(weights)}")
        with torch.no_grad():
            for layer, (weight, bias) in zip(layers, self.arg(weights)):
                layer.weight.copy_(torch.as_tensor(weight))
                layer.bias.copy_(torch.as_tensor(bias))

    def op_model_output(self, X):
        """``self.model(X)`` in eval mode without gradients, its modes restored after (what the
        public tests compare forward and predict with; the grader evaluates the layers itself)."""
        torch = self.probe.torch
        modules = list(self.obj.model.modules())
        modes = [m.training for m in modules]
        torch.nn.Module.train(self.obj.model, False)
        try:
            with torch.no_grad():
                return self.obj.model(self.arg(X))
        finally:
            for m, mode in zip(modules, modes):
                m.training = mode

    def op_linears(self):
        return [(m.weight, m.bias) for m in self.linears()]

    def op_eval(self):
        self.probe.torch.nn.Module.train(self.obj, False)  # nn.Module's own, whatever the student's train is

    def op_modules(self):
        """``self.model``'s type and each submodule's type and settings."""
        nn = self.probe.torch.nn
        model = getattr(self.obj, "model", None)
        if not isinstance(model, nn.Module):
            return {"model_type": type_name(model), "modules": [], "parameters": 0}
        described = [describe_module(m) for m in (model if isinstance(model, nn.Sequential) else [model])]
        return {"model_type": type_name(model), "modules": described,
                "parameters": sum(int(p.numel()) for p in model.parameters())}

    def op_digest(self):
        """SHA-256 over all parameters, in order (to compare two constructions)."""
        h = hashlib.sha256()
        for p in self.obj.parameters():
            h.update(p.detach().cpu().numpy().tobytes())
        return h.hexdigest()

    def op_draws(self):
        """One draw each from numpy's and Python's global generators (were they seeded?)."""
        import random
        return [float(np.random.rand()), random.random()]

    def op_train_trace(self, args, kwargs):
        return trace_torch_training(self.probe.torch, self.obj, self.arg(args), self.arg(kwargs))

    def op_plot(self, metrics, filename):
        """Call plot_train_val_metrics() with the plan's curves; describe the figure and the file."""
        if os.path.lexists(filename):
            os.remove(filename)
        self.obj.train_val_metrics = self.arg(metrics)
        result = self.obj.plot_train_val_metrics()
        return {"returned": describe_plot_result(result), "file": file_head(filename)}


class Missing:
    """An attribute that does not exist (reported as an opaque ``Missing``)."""

    def __repr__(self):
        return "<missing>"


def describe_module(m):
    torch = sys.modules["torch"]
    nn = torch.nn

    def first(v):
        return int(v[0]) if isinstance(v, (tuple, list)) else (int(v) if v is not None else None)
    settings = {}
    if isinstance(m, nn.Conv2d):
        settings = dict(in_channels=m.in_channels, out_channels=m.out_channels,
                        kernel_size=list(m.kernel_size), stride=list(m.stride), padding=list(m.padding)
                        if isinstance(m.padding, tuple) else str(m.padding))
    elif isinstance(m, nn.MaxPool2d):
        settings = dict(kernel_size=first(m.kernel_size), stride=first(m.stride or m.kernel_size))
    elif isinstance(m, nn.BatchNorm2d):
        settings = dict(num_features=m.num_features)
    elif isinstance(m, nn.Dropout):
        settings = dict(p=float(m.p))
    elif isinstance(m, nn.Linear):
        settings = dict(in_features=m.in_features, out_features=m.out_features)
    elif isinstance(m, nn.LeakyReLU):
        settings = dict(negative_slope=float(m.negative_slope))
    elif isinstance(m, (nn.Softmax, nn.LogSoftmax)):
        settings = dict(dim=m.dim)
    return {"type": type_name(m), "settings": settings}


def describe_plot_result(result):
    if not (isinstance(result, tuple) and len(result) == 2):
        return {"shape": type_name(result), "repr": safe_repr(result)}
    fig, ax = result
    axes = list(np.ravel(ax)) if not hasattr(ax, "plot") else [ax]
    suptitle = getattr(fig, "_suptitle", None)
    return {
        "shape": "tuple of 2",
        "figure": type_name(fig),
        "size_inches": [float(v) for v in fig.get_size_inches()] if hasattr(fig, "get_size_inches") else None,
        "suptitle": suptitle.get_text() if suptitle is not None else "",
        "axes": [{"lines": len(a.get_lines()), "legend": a.get_legend() is not None, "xlabel": a.get_xlabel(),
                  "ylabel": a.get_ylabel(), "title": a.get_title()} for a in axes if hasattr(a, "get_lines")],
    }


def file_head(filename):
    """Size and first bytes of a file the student wrote in the scratch directory (no links)."""
    try:
        fd = os.open(filename, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return {"exists": False, "error": type(exc).__name__}
    try:
        info = os.fstat(fd)
        return {"exists": True, "regular": bool(info.st_mode & 0o100000), "size": info.st_size,
                "head": base64.b64encode(os.read(fd, 8)).decode("ascii")}
    finally:
        os.close(fd)


def trace_torch_training(torch, net, args, kwargs):
    """Call ``net.train(*args, **kwargs)`` and record what it did: each optimizer step (its
    type, learning rates, which parameters), zero_grad calls and cross-entropy calls."""
    from torch.optim import optimizer as optim_module
    F = torch.nn.functional
    ids = {id(p): i for i, p in enumerate(net.parameters())}
    log = {"steps": [], "zero_grad": 0, "ce_with_grad": 0, "ce_total": 0}

    def post_step(opt, a, k):
        groups = [{"lr": pg.get("lr"), "params": sorted(ids.get(id(p), -1) for p in pg["params"])}
                  for pg in opt.param_groups]
        log["steps"].append({"optimizer": type_name(opt), "groups": groups, "zero_grad": log["zero_grad"],
                             "ce": log["ce_with_grad"]})

    original = (F.cross_entropy, torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad)

    def ce(input, target, *a, **k):
        log["ce_total"] += 1
        if torch.is_grad_enabled() and getattr(input, "requires_grad", False):
            log["ce_with_grad"] += 1
        return original[0](input, target, *a, **k)

    def zero_grad_of(fn):
        def zero_grad(self, *a, **k):
            log["zero_grad"] += 1
            return fn(self, *a, **k)
        return zero_grad

    handle = optim_module.register_optimizer_step_post_hook(post_step)
    F.cross_entropy = ce
    torch.optim.Optimizer.zero_grad = zero_grad_of(original[1])
    torch.nn.Module.zero_grad = zero_grad_of(original[2])
    try:
        returned = net.train(*args, **kwargs)
    finally:
        handle.remove()
        F.cross_entropy, torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad = original
    log["parameters"] = len(ids)
    log["returned"] = type_name(returned)
    return log


# --------------------------------------------------------------------------- the script run
def run_script(probe, spec):
    """``python <module>.py`` as __main__, then predictions of the model it trained on the
    handout's training set (or, per the plan, of the handout protocol with the student's class).

    Reports the raw facts: how the script ended, each ``train`` call it made (does its data
    match the handout's?), the doctest results it saw, the printed text, the predictions on
    the grader's test images and on the plan's shifted copy, the curves and the judgement.
    """
    module, cls_name = spec["module"], spec["cls"]
    report = {"ended": None, "error": None, "calls": [], "doctests": [], "chosen": None, "fallback": None}
    data = probe.data
    captured_calls = []

    def is_handout(X, y):
        """Max difference of X from the handout's training images, and whether y's labels match."""
        try:
            Xa = _as_numpy(X).astype(np.float64).reshape(len(data["X_train"]), -1)
            diff = float(np.max(np.abs(Xa - data["X_train"].reshape(len(Xa), -1))))
            ya = _as_numpy(y)
            labels = ya.argmax(axis=1) if ya.ndim == 2 else ya.astype(np.int64)
            return diff, bool(np.array_equal(labels, data["y_train"].argmax(axis=1)))
        except BaseException:  # noqa: BLE001 - any other shape or type: not the handout's data
            return None, False

    original_build = builtins.__build_class__

    def build_class(func, name, *bases, **kwargs):
        cls = original_build(func, name, *bases, **kwargs)
        train = cls.__dict__.get("train") if name == cls_name else None
        if callable(train):
            @functools.wraps(train)
            def spy(self, *args, **kw):
                result = train(self, *args, **kw)
                X = args[0] if args else kw.get("X_train")
                y = args[1] if len(args) > 1 else kw.get("y_train")
                if X is not None and not isinstance(X, bool):  # not nn.Module.train(mode)
                    diff, labels_match = is_handout(X, y)
                    captured_calls.append(self)
                    report["calls"].append({"max_diff": diff, "labels_match": labels_match,
                                            "shape": list(getattr(X, "shape", ())),
                                            "kwargs": {k: safe_repr(v, 40) for k, v in kw.items()
                                                       if k not in ("X_train", "y_train", "X_val", "y_val")},
                                            "positional": len(args)})
                return result
            cls.train = spy
        return cls

    import doctest
    original_testmod = doctest.testmod

    def testmod(*args, **kwargs):
        result = original_testmod(*args, **kwargs)
        report["doctests"].append([int(result.failed), int(result.attempted)])
        return result

    path = os.path.join(probe.scratch, f"{module}.py")
    sys.argv = [path]
    started = time.time()
    builtins.__build_class__, doctest.testmod = build_class, testmod
    with captured(reporter=probe.reporter) as out:
        try:
            runpy.run_path(path, run_name="__main__")
            report["ended"] = "finished"
        except SystemExit as exc:
            report["ended"], report["exit_code"] = "exit", safe_repr(exc.code, 80)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            report["ended"], report["error"] = "error", describe_error(exc, probe.scratch, cls_name)
        finally:
            builtins.__build_class__, doctest.testmod = original_build, original_testmod
    report["seconds"] = round(time.time() - started, 1)
    report["output"] = out.text()[-12000:]  # the CNN's 60 progress lines and what follows

    tolerance = spec["tolerance"]
    model = None
    for index, (call, obj) in enumerate(zip(report["calls"], captured_calls)):
        if call["max_diff"] is not None and call["max_diff"] <= tolerance and call["labels_match"]:
            model, report["chosen"] = obj, index  # the last such call: the model the script kept
    fallback_wanted = report["ended"] in ("finished", "exit") or (
        report["ended"] == "error" and report["error"].get("in_class"))
    if model is None and fallback_wanted:
        model = fallback(probe, spec, report)
    if model is None:
        return report
    report.update(predict(probe, model))
    metrics = getattr(model, "train_val_metrics", Missing())
    report["metrics"] = encode(metrics if isinstance(metrics, dict) else Missing())
    report["judgement"] = judgement(probe, model)
    return report


def fallback(probe, spec, report):
    """The handout protocol with the student's class: the script trained nothing on the handout data."""
    entry = {"error": None}
    report["fallback"] = entry
    sets = [probe.data[k] for k in ("X_train", "y_train", "X_val", "y_val")]
    if probe.torch is not None:
        sets = [probe.torch.as_tensor(a, dtype=probe.torch.float32) for a in sets]
    model = None
    with captured(reporter=probe.reporter) as out:
        try:
            import importlib
            cls = getattr(sys.modules.get(spec["module"]) or importlib.import_module(spec["module"]), spec["cls"])
            model = cls(**spec["init"])
            model.train(*sets, **spec["train"])
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            entry["error"], model = describe_error(exc, probe.scratch, spec["cls"]), None
    entry["output"] = out.text()[-3000:]
    return model


def predict(probe, model):
    """Scores of the model on the grader's test images and on the shifted copy."""
    torch, result = probe.torch, {}
    for key, X in (("scores", probe.data["X_test"]), ("shifted_scores", probe.data["X_shifted"])):
        try:
            with captured():
                if torch is None:
                    scores = model.predict(X)
                else:
                    try:
                        device = next(model.parameters()).device
                    except StopIteration:
                        device = torch.device("cpu")
                    torch.nn.Module.train(model, False)
                    with torch.no_grad():
                        scores = model(torch.as_tensor(X, dtype=torch.float32, device=device))
            result[key] = encode(scores)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            result[key + "_error"] = describe_error(exc, probe.scratch)
    return result


def judgement(probe, model):
    """What report_my_judgement() returns, or that it is missing, or what it raised."""
    if not callable(getattr(model, "report_my_judgement", None)):
        return {"missing": True}
    try:
        with captured(probe.item_timeout):
            answer = model.report_my_judgement()
        return {"value": encode(answer), "type": type_name(answer)}
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"error": describe_error(exc, probe.scratch)}


def _as_numpy(value):
    if is_tensor(value):
        return value.detach().cpu().numpy()
    return np.asarray(value)


# --------------------------------------------------------------------------- entry point
class Probe:
    """What one sandboxed child needs: the plan, the results channel, the scratch directory."""

    def __init__(self, plan, fd, scratch):
        self.plan, self.scratch, self.reporter = plan, scratch, Reporter(fd)
        self.item_timeout = float(plan["item_timeout"])
        self.torch = None
        self.data = None

    def setup(self):
        """Everything the grader itself needs, before any student code runs."""
        if self.plan["torch"]:
            import torch
            torch.set_num_threads(int(self.plan.get("threads") or torch.get_num_threads()))
            self.torch = torch
        sys.path.insert(0, self.scratch)
        if self.plan.get("run"):
            spec = self.plan["run"]
            self.data = handout_data(spec["layout"], spec["sizes"])
            self.data["X_shifted"] = _shift(self.data["X_test"], *spec["shift"])
            sys.modules.pop("utils", None)  # the student's import gets a fresh copy

    def main(self):
        self.reporter.send({"ready": {"pid": os.getpid(), "uid": os.getuid()}})
        plan = self.plan
        if plan.get("run"):
            self.reporter.send({"item": "run", "results": run_script(self, plan["run"])})
        else:
            cls = self.import_student()
            for step in plan["steps"]:
                self.reporter.send({"item": step["item"], "results": self.run_step(cls, step)})
        self.reporter.send({"done": True})

    def import_student(self):
        import importlib
        module, cls_name = self.plan["module"], self.plan["cls"]
        with captured(max(self.item_timeout, 30)) as out:
            try:
                cls = getattr(importlib.import_module(module), cls_name, None)
                report = {"ok": True, "class": type_name(cls) if not isinstance(cls, type) else "class"}
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, KeyboardInterrupt):
                    raise
                cls, report = None, {"ok": False, "error": describe_error(exc, self.scratch)}
        report["stdout"] = out.text()[-3000:]
        self.reporter.send({"import": report})
        return cls if isinstance(cls, type) else None

    def run_step(self, cls, step):
        """One item's sessions; a session that times out ends the item."""
        if cls is None:
            return {"no_class": True}
        results = []
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, self.item_timeout)
        try:
            for ops in step["sessions"]:
                results.append(Session(self, cls).run(ops))
        except Stop:
            results.append([{"error": {"type": "Timeout",
                                       "message": f"it did not finish within {self.item_timeout:g} s"},
                             "stdout": ""}])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return results


def handout_data(layout, sizes):
    """The handout protocol's sets as the skeleton's scripts make them: the two
    ``train_test_split`` calls with ``random_state=42``, images flattened (``"flat"``) or
    shaped (N, 1, 28, 28) (``"image"``) and divided by 255, labels one-hot; float64 numpy.

    The images come through the students' ``utils.load_mnist_f`` in the scratch folder (its
    checked loader, reading ``$FASHION_MNIST_DIR``), before any student code runs.
    """
    from sklearn.model_selection import train_test_split

    import utils

    X_train, y_train, X_test, y_test = utils.load_mnist_f()
    X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train, train_size=sizes["train"],
                                                test_size=sizes["val"], random_state=42)
    X_te, _, _, _ = train_test_split(X_test, y_test, train_size=sizes["test"], test_size=1, random_state=42)
    shape = (-1, 784) if layout == "flat" else (-1, 1, 28, 28)
    data = {}
    for name, X, y in (("train", X_tr, y_tr), ("val", X_val, y_val)):
        data[f"X_{name}"], data[f"y_{name}"] = X.reshape(shape) / 255.0, np.eye(10)[y]
    data["X_test"] = X_te.reshape(shape) / 255.0  # not its labels: the judge holds those
    return data


def _shift(X, dy, dx):
    """Images shifted by (dy, dx) pixels, background (0) filling in: a lightly transformed copy."""
    images = X.reshape(-1, 28, 28)
    out = np.zeros_like(images)
    ys, yd = (slice(0, 28 - dy), slice(dy, 28)) if dy >= 0 else (slice(-dy, 28), slice(0, 28 + dy))
    xs, xd = (slice(0, 28 - dx), slice(dx, 28)) if dx >= 0 else (slice(-dx, 28), slice(0, 28 + dx))
    out[:, yd, xd] = images[:, ys, xs]
    return out.reshape(X.shape)


def main(plan, fd, scratch):
    """Run one plan in this (sandboxed) process and exit; never returns."""
    probe = Probe(plan, fd, scratch)
    code = 0
    try:
        probe.setup()
        probe.main()
    except BaseException:  # noqa: BLE001 - the grader's own failure: say so, the parent stops
        try:
            probe.reporter.send({"probe_error": traceback.format_exc()[-4000:]})
        except BaseException:  # noqa: BLE001
            pass
        code = 70
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)  # skip interpreter teardown: atexit handlers and threads cannot touch the result
