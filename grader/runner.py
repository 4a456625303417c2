"""The parent side of the grader: sandboxed child processes in, validated scores out.

For each item group the parent makes a fresh scratch directory holding a copy of
the student's file, the grader's own ``utils.py`` and the child script, runs the
child there (own session, time limit, bounded output, optionally as an
unprivileged user), then reads the child's observations file and turns it into
scores *here*: sub-check weights are normalised and clamped to the rubric, the
real-data accuracies are computed from the predicted labels against the parent's
own copy of the test labels, and the judgements are compared with
``utils.diagnose_fit`` run here on the reported curves.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .rubric import GROUPS, ITEMS, JUDGEMENTS, RUN_GROUPS, THRESHOLDS, VERDICTS, Item, items_of

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHILD = HERE / "child.py"
UTILS = ROOT / "utils.py"
DEFAULT_DATA = ROOT / "data" / "FashionMNIST" / "raw"
SUBMISSION_FILES = ("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py")
MAX_MESSAGE = 600
MAX_OBSERVATIONS_BYTES = 5_000_000


@dataclass
class ItemResult:
    item: Item
    score: float
    output: str
    why: str  # one line for the table

    @property
    def max_score(self) -> int:
        return self.item.points


@dataclass
class ChildRun:
    group: str
    observations: dict | None
    returncode: int | None
    timed_out: bool
    seconds: float
    output: str
    problem: str | None = None  # why the observations are missing or unusable


@dataclass
class GradeReport:
    results: list[ItemResult]
    seconds: float
    fast: bool
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 2)

    @property
    def max_score(self) -> int:
        return sum(r.max_score for r in self.results)


# --------------------------------------------------------------------------- submission
def find_submission(directory) -> dict[str, Path]:
    """The student's files: at the top of ``directory`` or, failing that, the shallowest copy below.

    Gradescope keeps whatever folders the student zipped, so ``hw/numpy_ann.py`` is found too.
    """
    directory = Path(directory)
    found: dict[str, Path] = {}
    for name in SUBMISSION_FILES:
        direct = directory / name
        if direct.is_file():
            found[name] = direct
            continue
        candidates = [p for p in directory.rglob(name)
                      if p.is_file() and "__MACOSX" not in p.parts and not p.is_symlink()]
        if candidates:
            found[name] = min(candidates, key=lambda p: (len(p.parts), str(p)))
    return found


# --------------------------------------------------------------------------- child process
class _TailReader(threading.Thread):
    """Drain a pipe, keeping only its head and tail: megabytes of printing cost nothing."""

    def __init__(self, pipe, head=2000, tail=6000):
        super().__init__(daemon=True)
        self.pipe, self.head_limit, self.tail_limit = pipe, head, tail
        self.head, self.tail, self.dropped = b"", b"", 0

    def run(self):
        for chunk in iter(lambda: self.pipe.read(65536), b""):
            if len(self.head) < self.head_limit:
                room = self.head_limit - len(self.head)
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail = (self.tail + chunk)[-self.tail_limit:]
            self.dropped += len(chunk)
        self.pipe.close()

    def text(self) -> str:
        dropped = self.dropped - len(self.tail)
        middle = f"\n[... {dropped} bytes of output left out ...]\n" if dropped > 0 else ""
        return (self.head + middle.encode() + self.tail).decode("utf-8", "replace")


def _limits():  # runs in the child between fork and exec
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # No file the student writes may exceed 200 MB (a full disk would break the grader).
    resource.setrlimit(resource.RLIMIT_FSIZE, (200 * 2**20, 200 * 2**20))


def prepare_scratch(group: str, files: dict[str, Path], base: Path, user: str | None) -> Path:
    scratch = Path(tempfile.mkdtemp(prefix=f"{group}-", dir=base))
    for name, path in files.items():  # all of them: one file may import from another
        shutil.copyfile(path, scratch / name)
    shutil.copyfile(UTILS, scratch / "utils.py")  # the grader's utils, whatever the student sent
    shutil.copyfile(CHILD, scratch / "_grader_child.py")
    if user is not None:
        import pwd
        entry = pwd.getpwnam(user)
        for path in [scratch, *scratch.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return scratch


_FORK_CONTEXT = None
_FORK_LOCK = threading.Lock()


def _fork_context():
    """The fork server: one process that imports torch & co once; children fork from it.

    Starting a fresh interpreter and importing torch costs ~3 s per child (more than many
    checks); forking from a warm server costs milliseconds. The server never runs student
    code. None where the platform has no fork server.
    """
    global _FORK_CONTEXT
    with _FORK_LOCK:
        if _FORK_CONTEXT is None:
            import multiprocessing
            if "forkserver" not in multiprocessing.get_all_start_methods():
                _FORK_CONTEXT = False
            else:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["grader._preload"])
                _FORK_CONTEXT = ctx
        return _FORK_CONTEXT or None


def _read_log(path: Path, head=2000, tail=6000) -> str:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            first = f.read(head)
            if size <= head:
                return first.decode("utf-8", "replace")
            f.seek(max(head, size - tail))
            last = f.read(tail)
    except OSError:
        return ""
    dropped = size - len(first) - len(last)
    middle = f"\n[... {dropped} bytes of output left out ...]\n".encode() if dropped > 0 else b""
    return (first + middle + last).decode("utf-8", "replace")


def _start_forked(ctx, group, scratch, obs_path, item_timeout, fast, env, user):
    from . import child as child_module
    uid = gid = None
    if user is not None:
        import pwd
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    proc = ctx.Process(target=child_module.forked_main, daemon=True,
                       args=(group, str(scratch), str(obs_path), item_timeout, fast, env, uid, gid))
    proc.start()
    return proc


def run_child(group: str, scratch: Path, *, timeout: float, item_timeout: float, fast: bool,
              data_dir: Path, user: str | None = None, fork: bool = True) -> ChildRun:
    """Run one group's child with a time limit; ``fork`` uses the warm fork server for torch groups."""
    obs_path = scratch / "observations.json"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "FASHION_MNIST_DIR": str(data_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LANG": "C.UTF-8",
    }
    if group.startswith("numpy"):
        # numpy_ann.py pins BLAS to one thread when run as a script (its small matrices gain
        # nothing from threads, and contending threads slow it down); numpy is already loaded
        # in the child when the script runs, so the setting must come from here.
        env.update(OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_NUM_THREADS="1")
    for key in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if key in os.environ:
            env[key] = os.environ[key]
    started = time.time()
    ctx = _fork_context() if fork and not group.startswith("numpy") else None
    if ctx is not None:
        # numpy groups take the fresh-interpreter path: numpy starts in 0.2 s, and BLAS
        # threads are fixed when numpy loads (see OPENBLAS_NUM_THREADS above).
        proc = _start_forked(ctx, group, scratch, obs_path, item_timeout, fast, env, user)
        proc.join(timeout)
        timed_out = proc.is_alive()
        try:  # the whole session: the child and anything it started
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.kill()
        proc.join()
        returncode, output = proc.exitcode, _read_log(scratch / "output.log")
    else:
        cmd = [sys.executable, "-I", str(scratch / "_grader_child.py"), group, str(obs_path), str(item_timeout)]
        if fast:
            cmd.append("--fast")
        kwargs = {}
        if user is not None:
            kwargs.update(user=user, group=__import__("pwd").getpwnam(user).pw_gid, extra_groups=[])
        proc = subprocess.Popen(cmd, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_limits, **kwargs)
        reader = _TailReader(proc.stdout)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            try:  # the whole session: the child and anything it started
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        reader.join(timeout=5)
        returncode, output = proc.returncode, reader.text()
    seconds = time.time() - started
    run = ChildRun(group, None, returncode, timed_out, seconds, output)
    try:
        if obs_path.is_symlink() or not obs_path.is_file():
            run.problem = "the grading process wrote no observations"
        elif obs_path.stat().st_size > MAX_OBSERVATIONS_BYTES:
            run.problem = "the grading process wrote an oversized observations file"
        else:
            data = json.loads(obs_path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            run.observations = data
    except (OSError, ValueError) as exc:
        run.problem = f"the observations could not be read ({exc})"
    if timed_out:
        run.problem = f"it was stopped after the time limit of {timeout:g} s"
    elif returncode not in (0, None):
        how = f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
        run.problem = f"the grading process ended early ({how}; your code may have called os._exit or crashed)"
    return run


# --------------------------------------------------------------------------- scoring
def _clean(text, limit=MAX_MESSAGE) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _tail(run: ChildRun, limit=1500) -> str:
    text = run.output.strip()
    if not text:
        return ""
    return "\nLast lines your code printed:\n" + (text if len(text) <= limit else "..." + text[-limit:])


def score_parts(item: Item, raw) -> ItemResult | None:
    """A unit item from the child's sub-checks; None if the record is malformed."""
    if not isinstance(raw, dict) or not isinstance(raw.get("parts"), list) or len(raw["parts"]) > 50:
        return None
    earned = total = 0.0
    lines, first_failure, error = [], None, None
    for entry in raw["parts"]:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str)):
            return None
        ok, weight, message = entry
        if ok == "error":
            error = _clean(message)
            continue
        if not isinstance(ok, bool) or not isinstance(weight, (int, float)) or isinstance(weight, bool) \
                or not math.isfinite(weight) or not 0 <= weight <= 100:
            return None
        total += weight
        earned += weight if ok else 0.0
        lines.append(("PASS  " if ok else "FAIL  ") + _clean(message))
        if not ok and first_failure is None:
            first_failure = _clean(message, 120)
    if total <= 0:
        return None
    score = round(min(max(item.points * earned / total, 0.0), item.points), 2)
    if error:  # the check did not finish: no partial credit for the parts it reached
        score = 0.0
    why = "all checks passed" if first_failure is None else first_failure
    if error and first_failure is None:
        why = error
    return ItemResult(item, score, "\n".join(lines), why)


def _zero(item: Item, output: str, why: str | None = None) -> ItemResult:
    return ItemResult(item, 0.0, output, _clean(why or output.splitlines()[0], 120))


class _Labels:
    """The parent's own copy of the 200 handout test labels, loaded once."""

    def __init__(self, data_dir: Path):
        self.data_dir, self._y, self._utils = data_dir, None, None

    @property
    def utils(self):
        if self._utils is None:
            spec = importlib.util.spec_from_file_location("_grader_utils", UTILS)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._utils = module
        return self._utils

    @property
    def y_test(self):
        if self._y is None:
            u = self.utils
            X_train, y_train, X_test, y_test = u.load_mnist_f(data_dir=self.data_dir)
            self._y = [int(v) for v in u.handout_split(X_train, y_train, X_test, y_test).y_test]
        return self._y


def score_run(item: Item, run_record, child: ChildRun, labels: _Labels, fast: bool) -> ItemResult:
    threshold = THRESHOLDS[item.id]
    module = GROUPS[item.group][0]
    if fast:
        return _zero(item, f"Skipped in --fast mode: this item runs `python {module}` on the real data "
                           f"(the handout protocol) and needs test accuracy >= {threshold}. Run the grader "
                           f"without --fast to grade it.", "skipped (--fast)")
    if not isinstance(run_record, dict):
        return _zero(item, f"Not graded: running {module} did not finish ({child.problem or 'no record'})."
                     + _tail(child), f"not graded: {child.problem or 'no record'}")
    error = run_record.get("error")
    pred = run_record.get("pred")
    script_tail = run_record.get("output_tail")
    if isinstance(script_tail, str) and script_tail.strip():
        tail = "\nLast lines your script printed:\n" + script_tail.strip()[-1500:]
    else:
        tail = _tail(child)
    if not (isinstance(pred, list) and all(isinstance(v, int) for v in pred)):
        reason = _clean(error) if error else (child.problem or "no predictions came back")
        return _zero(item, f"Could not measure the test accuracy: {reason}." + tail, reason)
    y = labels.y_test  # loaded only when there is something to compare
    if len(pred) != len(y):
        reason = f"your model gave {len(pred)} predictions for the {len(y)} test images"
        return _zero(item, f"Could not measure the test accuracy: {reason}." + _tail(child), reason)
    accuracy = sum(int(p == t) for p, t in zip(pred, y)) / len(y)
    how = _clean(run_record.get("how") or "your trained model")
    passed = accuracy >= threshold
    text = (f"{'PASS' if passed else 'FAIL'}  test accuracy {accuracy:.4f} on the handout's {len(y)} test images "
            f"(threshold {threshold}), measured by the grader with {how}")
    if isinstance(run_record.get("seconds"), (int, float)):
        text += f"; the script ran for {run_record['seconds']:.0f} s"
    if error:
        text += f"\nNote: {_clean(error)}"
    return ItemResult(item, float(item.points) if passed else 0.0, text,
                      f"test accuracy {accuracy:.4f} {'>=' if passed else '<'} {threshold}")


def score_judgement(item: Item, run_record, child: ChildRun, labels: _Labels, fast: bool) -> ItemResult:
    if not isinstance(run_record, dict):
        return _zero(item, f"Not graded: {child.problem or 'no record came back'}." + _tail(child),
                     f"not graded: {child.problem or 'no record'}")
    answer = run_record.get("judgement")
    if run_record.get("judgement_error"):
        return _zero(item, _clean(run_record["judgement_error"]))
    if answer not in VERDICTS:
        return _zero(item, f"FAIL  report_my_judgement() must return exactly one of {', '.join(VERDICTS)}; "
                           f"got {_clean(repr(answer), 80)}.")
    if fast:
        return ItemResult(item, float(item.points),
                          f"PASS  report_my_judgement() returns {answer!r}, one of the three words. --fast mode "
                          f"only checks this; the full grade compares it with utils.diagnose_fit of the curves "
                          f"from your script's run.", f"'{answer}' (fast: word only)")
    metrics = run_record.get("metrics")
    try:
        truth = labels.utils.diagnose_fit(metrics)
    except Exception as exc:  # noqa: BLE001 - malformed curves
        return _zero(item, f"FAIL  your answer is {answer!r}, but the curves from your script's run "
                           f"(train_val_metrics) could not be read: {_clean(exc, 200)}")
    m = {k: [float(v) for v in metrics[k]] for k in ("train_accs", "val_accs", "val_losses")}
    facts = (f"final train accuracy {m['train_accs'][-1]:.3f}, val accuracy {m['val_accs'][-1]:.3f}, "
             f"val loss {m['val_losses'][-1]:.3f} (lowest {min(m['val_losses']):.3f}) over "
             f"{len(m['train_accs'])} epochs")
    if answer == truth:
        return ItemResult(item, float(item.points),
                          f"PASS  your answer {answer!r} matches utils.diagnose_fit of your run's curves ({facts}).",
                          f"'{answer}' matches the curves")
    return _zero(item, f"FAIL  your answer is {answer!r}, but utils.diagnose_fit of your run's curves says "
                       f"{truth!r} ({facts}).", f"'{answer}' but the curves say '{truth}'")


def score_group(group: str, child: ChildRun | None, missing_file: str | None, labels: _Labels,
                fast: bool) -> list[ItemResult]:
    items = items_of(group)
    if missing_file:
        return [_zero(item, f"{missing_file} was not submitted, so this item could not be graded.",
                      f"{missing_file} not submitted") for item in items]
    obs = child.observations or {}
    records = obs.get("items") if isinstance(obs.get("items"), dict) else {}
    runs = obs.get("runs") if isinstance(obs.get("runs"), dict) else {}
    fatal = obs.get("fatal") if isinstance(obs.get("fatal"), str) else None
    if fatal and child.problem is None:  # e.g. the import failed: every item says so
        child.problem = _clean(fatal)
    results = []
    for item in items:
        if item.id in THRESHOLDS:
            results.append(score_run(item, runs.get(item.id), child, labels, fast))
            continue
        if item.id in JUDGEMENTS:
            results.append(score_judgement(item, runs.get(JUDGEMENTS[item.id]), child, labels, fast))
            continue
        result = score_parts(item, records.get(item.id)) if item.id in records else None
        if result is None:
            reason = fatal or child.problem or "no result came back for this item"
            if item.id in records:
                reason = "the grading process returned a malformed record for this item"
            elif child.problem:
                reason = f"the grading process for {GROUPS[group][0]} stopped before this item: {child.problem}"
            result = _zero(item, f"Not graded: {_clean(reason)}." + _tail(child), _clean(reason, 120))
        results.append(result)
    return results


# --------------------------------------------------------------------------- grade
def grade(submission, *, fast: bool = False, timeout: float = 600.0, item_timeout: float = 30.0,
          unit_timeout: float | None = None, jobs: int = 1, data_dir=None, user: str | None = None,
          groups=None, fork: bool = True) -> GradeReport:
    """Grade one submission directory; never raises for anything the submission does.

    Parameters
    ----------
    timeout : per real-data run (``python numpy_ann.py`` ...), seconds.
    item_timeout : per unit item inside a child, seconds.
    unit_timeout : per unit group (default ``min(timeout, 20 * item_timeout)``).
    jobs : how many children run at once.
    user : run the children as this (unprivileged) user; needs root.
    groups : restrict to these groups (the others score 0, "not graded").
    fork : start the torch groups from the warm fork server (False: a fresh interpreter each).
    """
    started = time.time()
    data_dir = Path(data_dir or os.environ.get("FASHION_MNIST_DIR") or DEFAULT_DATA).resolve()
    files = find_submission(submission)
    labels = _Labels(data_dir)
    unit_timeout = unit_timeout if unit_timeout is not None else min(timeout, 20 * item_timeout)
    wanted = [g for g in GROUPS if groups is None or g in groups]
    base = Path(tempfile.mkdtemp(prefix="grader-"))
    if user is not None:
        os.chmod(base, 0o755)

    def one(group):
        name = GROUPS[group][0]
        if name not in files:
            return group, None, name
        if fast and group in RUN_GROUPS:  # the unit child also checks the judgement's word
            return group, None, None
        try:
            scratch = prepare_scratch(group, files, base, user)
            is_run = group in RUN_GROUPS and not fast
            child = run_child(group, scratch, timeout=timeout if is_run else unit_timeout,
                              item_timeout=item_timeout, fast=fast, data_dir=data_dir, user=user, fork=fork)
        except Exception as exc:  # noqa: BLE001 - a grader failure must still leave valid results
            child = ChildRun(group, None, None, False, 0.0, "",
                             f"the grader could not run this group ({type(exc).__name__}: {exc}); "
                             "please tell the course staff")
        return group, child, None

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            outcomes = {group: (child, missing) for group, child, missing in pool.map(one, wanted)}
        results = []
        for item in ITEMS:
            if item.group not in outcomes:
                results.append(_zero(item, "Not graded in this run (group not selected).", "not selected"))
        for group in wanted:
            child, missing = outcomes[group]
            if fast and group in RUN_GROUPS and not missing:
                unit = group.replace("_run", "_unit")
                child = outcomes[unit][0] if unit in outcomes else None
                if child is None:
                    child = ChildRun(group, {}, 0, False, 0.0, "", "its unit group was not graded")
            results.extend(score_group(group, child, missing, labels, fast))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    order = {item.id: i for i, item in enumerate(ITEMS)}
    results.sort(key=lambda r: order[r.item.id])
    notes = [f"{name} not found in the submission" for name in SUBMISSION_FILES if name not in files]
    return GradeReport(results, time.time() - started, fast, notes)
