"""Grade one submission: plans out, sandboxed children run them, checks judge what came back.

:func:`grade` reads the submission (``submission.py``), asks every item's check for its plan
(``checks/``), runs one sandboxed child per group (``sandbox.py``) within a global time
budget, feeds each check the raw values its plan produced, and scores the parts it returns.
Student behaviour only ever costs the items it touches; a failure of the grader itself (its
data, its packages, its sandbox, a bug in a check) raises :class:`GraderError` instead of
charging anyone.
"""
from __future__ import annotations

import math
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from course import facts
from course.contract import SIGNATURES

from . import cases
from .checks import common, registry
from .checks.common import RUN, Fail, NotGraded, Part, _text, lines, short
from .limits import DEFAULT_DISK, DEFAULT_MEMORY, size, size_text
from .rubric import GROUPS, ITEM_BY_ID, ITEMS, SUBMISSION_FILES, UNIT_GROUP, VISIBILITIES, Item
from .sandbox import GraderError, Sandbox
from .submission import collect

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STUDENT_UTILS = ROOT / "utils.py"  # the students' utils.py, put beside student code (the handout's copy)
DEFAULT_DATA = ROOT / "data" / "FashionMNIST" / "raw"
BUDGET_RESERVE = 5.0          # seconds kept back from the budget to judge and write the results
# The default limits, from the solution's full grade on an idle 2-core CPU (BENCHMARKS.md, "The
# grader's limits"): 288 s in all, the CNN's run 251 s, every unit group a second or less. So a
# script run gets 600 s (2.4x the CNN's), a unit item 30 s (30x a whole group) and the grade 900 s
# (3.1x; beside two CPU-bound processes the grade took 463 s). On Gradescope, run_autograder
# passes the zip's own budget (build_zip.sh --budget).
DEFAULT_TIMEOUT, DEFAULT_ITEM_TIMEOUT, DEFAULT_BUDGET = 600.0, 30.0, 900.0
HANDOUT_TOLERANCE = 1e-5      # how far a script's training images may be from the handout's (float32 vs 64)

common.SIGNATURES.update(SIGNATURES)  # the handout's signatures, for messages about a call's arguments


@dataclass
class ItemResult:
    item: Item
    score: float
    output: str
    why: str  # one line for the table
    timed_out: bool = False  # its group was stopped by a time limit or the budget
    # A time limit stopped the student's code while it was still making progress: the grading
    # machine ran out of time, not the student's code (a regrade with a longer limit is due).
    incomplete: bool = False

    @property
    def max_score(self) -> int:
        return self.item.points


@dataclass
class GradeReport:
    results: list[ItemResult]
    seconds: float
    fast: bool
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)            # for staff to review, never scored
    measurements: dict = field(default_factory=dict)          # item -> numbers worth keeping (accuracies)
    runs: dict = field(default_factory=dict)                  # run group -> RunObservation (for reuse)
    regrade: dict = field(default_factory=dict)               # incomplete: the limits a regrade needs

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 2)

    @property
    def max_score(self) -> int:
        return sum(r.max_score for r in self.results)

    @property
    def incomplete(self) -> list[ItemResult]:
        """The items a time limit stopped while they were still making progress."""
        return [r for r in self.results if r.incomplete]


@dataclass
class RunObservation:
    """What a run group's child reported about ``python <file>.py``."""
    report: dict
    problem: str | None = None
    output: str = ""
    timed_out: bool = False
    incomplete: Incomplete | None = None  # stopped by a limit while still making progress


@dataclass(frozen=True)
class Incomplete:
    """A time limit stopped the student's code while it was still making progress: the grading
    machine ran out of time, not the code. The items score nothing yet and are flagged to regrade."""
    student: str                 # what the student reads
    staff: str                   # what staff read: what happened, and the limits to regrade with
    timeout: float               # the --timeout and --budget that let the run finish
    budget: float


class Context:
    """What checks may ask for: the mode, the handout's facts, each item's case, torch, the test
    labels. (The handout's public tests give the same checks a context of their own, with the
    public cases frozen: ``grader/local.py``.)"""

    def __init__(self, fast: bool, data_dir: Path, shift=(0, 1), strict_thresholds: bool = False):
        self.fast, self.data_dir, self.shift = fast, data_dir, tuple(shift)
        self.strict_thresholds = strict_thresholds  # the handout's literal thresholds, no noise band
        self.facts = facts
        self.flags: list[str] = []
        self.measurements: dict = {}
        self.reused: dict = {}  # run group -> RunObservation from an earlier grade
        self._labels = None

    @staticmethod
    def case(item_id):
        """The inputs and expected values of ``item_id`` (``grader/cases.py``, the grader's variant)."""
        return cases.make(item_id, "grader")

    @staticmethod
    def model_outputs(r, session, index, X, modules, linears):
        """What the student's ``self.model`` computes on ``X`` with the given Linear weights: the
        judge's own evaluation of the reported layers (``r[session, index]``, the child's own
        ``self.model(X)``, is not trusted here)."""
        return cases.model_outputs(X, modules, linears)

    @property
    def torch(self):
        import torch
        return torch

    @property
    def test_labels(self):
        if self._labels is None:
            self._labels = handout_test_labels(self.data_dir)
        return self._labels

    def flag(self, item_id, message):
        self.flags.append(f"{item_id}: {message}")

    def measure(self, item_id, **values):
        self.measurements.setdefault(item_id, {}).update(values)


_LABELS: dict = {}


def handout_test_labels(data_dir: Path):
    """The grader's own copy of the 200 handout test labels (GraderError if the data is unusable)."""
    key = str(data_dir)
    if key not in _LABELS:
        import utils  # the course's loader (the students' utils.py), with its checks of every file

        try:
            X_train, y_train, X_test, y_test = utils.load_mnist_f(data_dir=data_dir)
        except Exception as exc:  # noqa: BLE001 - FashionMNISTError and whatever the loader met
            raise GraderError(f"the grader's copy of Fashion-MNIST is unusable: {exc}") from None
        _LABELS[key] = facts.handout_split(X_train, y_train, X_test, y_test).y_test.copy()
    return _LABELS[key]


# --------------------------------------------------------------------------- grade
def grade(submission, *, fast: bool = False, timeout: float = DEFAULT_TIMEOUT,
          item_timeout: float = DEFAULT_ITEM_TIMEOUT, jobs: int = 1, data_dir=None, user: str | None = None,
          groups=None, budget: float = DEFAULT_BUDGET,
          sandbox: Sandbox | None = None, reuse_runs: dict | None = None, threads: int | None = None,
          memory: int | None = DEFAULT_MEMORY, disk: int | None = DEFAULT_DISK,
          strict_thresholds: bool = False, accept_near_names: bool = False, progress=None) -> GradeReport:
    """Grade one submission (a directory or a .zip); never raises for anything the submission does.

    Parameters
    ----------
    timeout : per real-data run (``python numpy_ann.py`` ...), seconds.
    item_timeout : per unit item inside a child, seconds; a unit group gets ``20 * item_timeout``.
    jobs : how many groups run at once.
    threads : torch threads for a script run (default: the cores shared by ``jobs``); a batch
        grading N submissions at once passes its own share.
    user : run the student's code as this unprivileged user (needs root; ``sandbox.py``), or
        as these users (comma-separated: each group running at once as one of its own).
    groups : grade only these groups (the others score 0, "not selected").
    budget : the whole grade's time limit, seconds (Gradescope kills a run at its own limit and
        then shows nothing): groups that cannot start in time are reported as not graded.
    sandbox : a started :class:`Sandbox` to reuse (batch grading); by default one per call.
    reuse_runs : run group -> :class:`RunObservation` from an earlier grade of the same script,
        used instead of running it again: its predictions and curves are judged again, and
        ``report_my_judgement()`` is asked anew of this submission's class.
    progress : called with a line of text as each group starts and ends, and as a script prints its
        progress lines (``python pytorch_cnn.py: epoch 12 / 60``); from the grading threads.
    accept_near_names : grade a file whose name is a near miss of an expected one (``numpyann.py``
        for ``numpy_ann.py``: ``submission.near_name``) as that file; either way it is flagged.
    strict_thresholds : the script items need their threshold itself, not within one standard
        error of it (``course.facts.NOISE``), the handout's literal rule.
    memory, disk : each child's limits in bytes (None: none; ``limits.py``): the memory its
        processes hold, and what its files hold on disk. A child over one is stopped; the item it was
        on scores 0 and says why, and a unit group's later items run in a fresh child.

    Raises
    ------
    GraderError
        The grader cannot grade: its data, packages, sandbox or one of its checks failed.
    """
    started = time.monotonic()
    deadline = started + budget
    data_dir = Path(data_dir or os.environ.get("FASHION_MNIST_DIR") or DEFAULT_DATA).resolve()
    checks = registry()
    ctx = Context(fast, data_dir, shift=secrets.choice([(0, 1), (0, -1), (1, 0), (-1, 0)]),
                  strict_thresholds=strict_thresholds)
    ctx.reused = {g: run for g, run in (reuse_runs or {}).items() if not fast}
    found = collect(submission, accept_near_names)
    wanted = [g for g in GROUPS if groups is None or g in groups]
    results: dict[str, ItemResult] = {}
    pending: dict[str, dict] = {}  # exec group -> item id -> (generator, plan)

    if any(GROUPS[g].torch and f"{GROUPS[g].module}.py" in found.files for g in wanted):
        _require_torch()  # before planning: some cases draw their expected weights with torch
    for item in ITEMS:
        module = GROUPS[item.group].module
        if item.group not in wanted:
            results[item.id] = zero(item, "Not graded in this run (group not selected).", "not selected")
            continue
        if f"{module}.py" not in found.files:
            near = found.near.get(f"{module}.py")
            named = f" {near} was submitted; the grader needs the name {module}.py." if near else ""
            results[item.id] = zero(item, f"{module}.py was not submitted, so this item could not be graded.{named}",
                                    f"{near} was submitted; the grader needs {module}.py" if near else
                                    f"{module}.py not submitted")
            continue
        gen = checks[item.id](ctx)
        try:
            plan = next(gen)
        except (StopIteration, NotGraded, Fail) as exc:
            results[item.id] = finish(item, exc)
            continue
        except Exception as exc:  # noqa: BLE001
            raise GraderError(f"the check of item {item.id} failed: {traceback.format_exc()}") from exc
        group = item.group if plan == RUN else UNIT_GROUP[module]  # fast mode: a run item's probe rides along
        pending.setdefault(group, {})[item.id] = (gen, plan)

    for expected, where in found.near.items():
        items = ", ".join(item.id for item in ITEMS if f"{GROUPS[item.group].module}.py" == expected)
        ctx.flag(items, f"{where} graded as {expected} (--accept-near-names)" if expected in found.files else
                 f"{where} looks like a misnamed {expected}, which was not submitted: these items score 0; to grade "
                 "it, grade again with --accept-near-names")
    own_sandbox = sandbox is None and bool(pending)
    if own_sandbox:
        sandbox = Sandbox(user, readable=[data_dir])
    base = Path(tempfile.mkdtemp(prefix="grader-"))
    os.chmod(base, 0o711)
    try:
        if any(GROUPS[g].run for g in pending):
            ctx.test_labels  # noqa: B018 - refuse now, before any child runs, if the data is unusable
        if pending:
            if progress:
                progress("starting the sandbox (it imports torch once, for every group)")
            sandbox.start()  # here, before the worker threads, and refusing early if it cannot
        order = [g for g in GROUPS if g in pending]

        def run_group(group):
            if group in ctx.reused:
                return group, ctx.reused[group]
            what = (f"python {GROUPS[group].module}.py" if GROUPS[group].run else
                    f"{GROUPS[group].module}.py, the unit items")
            if progress:
                progress(f"{what}: started")
            began = time.monotonic()
            outcome = execute(group, pending[group], found.files, sandbox, base, data_dir, ctx,
                              timeout=timeout, item_timeout=item_timeout, deadline=deadline,
                              threads=threads or max(1, (os.cpu_count() or 1) // jobs), budget=budget,
                              memory=memory, disk=disk, progress=progress)
            if progress:
                progress(f"{what}: done in {time.monotonic() - began:.0f} s")
            return group, outcome

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            observed = dict(pool.map(run_group, order))
    finally:
        shutil.rmtree(base, ignore_errors=True)
        if own_sandbox:
            sandbox.close()

    runs, regrade = {}, {}
    for group in order:
        outcome = observed[group]
        for item_id, (gen, plan) in pending[group].items():
            item = ITEM_BY_ID[item_id]
            if isinstance(outcome, RunObservation):
                runs[group] = outcome
                if outcome.incomplete:
                    results[item_id] = zero(item, outcome.incomplete.student + ".", "not graded yet: the machine ran "
                                            "out of time, not the code", timed_out=True, incomplete=True)
                elif outcome.problem:
                    results[item_id] = zero(item, f"Not graded: {outcome.problem}." + tail(outcome.output),
                                            outcome.problem, timed_out=outcome.timed_out)
                else:
                    results[item_id] = judge(item, gen, outcome)
            else:
                results[item_id] = judge_unit(item, gen, plan, outcome)
        if outcome.incomplete and any(results[i].incomplete for i in pending[group]):
            items = ", ".join(i for i in pending[group] if results[i].incomplete)
            ctx.flag(items, f"INCOMPLETE, regrade: {outcome.incomplete.staff}")
            regrade = {"timeout": max(regrade.get("timeout", 0), outcome.incomplete.timeout),
                       "budget": max(regrade.get("budget", 0), outcome.incomplete.budget)}
    report = GradeReport([results[item.id] for item in ITEMS], time.monotonic() - started, fast,
                         notes=[f"{name} not found in the submission" for name in SUBMISSION_FILES
                                if name not in found.files] + found.notes,
                         flags=ctx.flags, measurements=ctx.measurements, runs=runs, regrade=regrade)
    return report


def add_grading_options(parser, budget_help):
    """The command-line options for :func:`grade`'s parameters, shared by ``python -m grader`` and
    ``python -m grader.batch``."""
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="time limit in seconds for each real-data script run (default: %(default)s)")
    parser.add_argument("--item-timeout", type=float, default=DEFAULT_ITEM_TIMEOUT,
                        help="time limit in seconds for each unit item (default: %(default)s)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help=budget_help)
    parser.add_argument("--data-dir", default=None,
                        help="Fashion-MNIST directory (default: $FASHION_MNIST_DIR or the repository's data/)")
    parser.add_argument("--user", default=None, metavar="NAME[,NAME...]",
                        help="run the student's code as this unprivileged user (the grader must run as root), or "
                             "as these users, one for each child running at once; they must run nothing else: "
                             "their processes are killed, and their files in /tmp, /var/tmp, /dev/shm, /run/lock "
                             "and their homes removed, after each group")
    parser.add_argument("--memory", type=size, default=DEFAULT_MEMORY, metavar="SIZE",
                        help="memory limit of each child running the student's code, e.g. 2.5G or 600M, or none "
                             f"(default: {size_text(DEFAULT_MEMORY)}: the autograder the README recommends, or "
                             "less where this machine's own limit is smaller)")
    parser.add_argument("--disk", type=size, default=DEFAULT_DISK, metavar="SIZE",
                        help="what one group's files may hold at once: its scratch folder and, with --user, what "
                             f"the user owns in the places above (default: {size_text(DEFAULT_DISK)})")
    parser.add_argument("--strict-thresholds", action="store_true",
                        help="the script items (1.10, 2.6, 3.2) need their threshold itself; by default an accuracy "
                             "within one standard error of it (the noise of 200 test images) earns full marks")
    parser.add_argument("--accept-near-names", action="store_true",
                        help="grade a file whose name is a near miss of an expected one (numpyann.py, Numpy_ANN.py, "
                             "numpy_ann (1).py, numpy_ann.py.txt) as that file; by default it is flagged, not graded")
    parser.add_argument("--hidden-visibility", default="after_published", choices=VISIBILITIES,
                        help="Gradescope visibility of the hidden items, the ones running the scripts does not "
                             "show students (default: %(default)s)")


def _require_torch():
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise GraderError(f"torch is not installed in the grader's Python ({sys.executable}): {exc}. "
                          "Install the requirements (pip install -r requirements.txt)") from None


# --------------------------------------------------------------------------- one group
@dataclass
class UnitObservation:
    """What a unit group's child reported: the import, each item's results, why it stopped."""
    imported: dict | None
    items: dict
    problem: str | None
    output: str
    timed_out: bool = False
    over: str | None = None                       # why the watchdog stopped its (last) child: a limit
    stopped: dict = field(default_factory=dict)   # item id -> why its child was stopped while it ran
    incomplete: Incomplete | None = None          # the budget stopped it before every item reported


def execute(group, items, files, sandbox, base, data_dir, ctx, **options):
    """Run one group's child and sort what it reported.

    A unit group's child stopped over its memory or disk limit (``limits.py``) costs only the
    item it was on: the group's later items run in a fresh child, which imports the module
    again, and so on until none is left. Stopped during the import, it costs every item, as
    any failed import does.
    """
    observed = last = execute_child(group, items, files, sandbox, base, data_dir, ctx, **options)
    stopped = {}
    while isinstance(last, UnitObservation) and last.over and last.imported is not None:
        later = [item_id for item_id in items if item_id not in observed.items and item_id not in stopped]
        if not later:
            break
        stopped[later[0]] = f"your code was stopped while this item ran: {last.over}"
        if len(later) == 1:
            break
        last = execute_child(group, {i: items[i] for i in later[1:]}, files, sandbox, base, data_dir, ctx, **options)
        observed = replace(last, imported=observed.imported, items={**observed.items, **last.items})
    if stopped:
        observed = replace(observed, stopped=stopped)
    return observed


def execute_child(group, items, files, sandbox, base, data_dir, ctx, *, timeout, item_timeout, deadline, threads,
                  budget, memory=None, disk=None, progress=None):
    """Run one child for ``items`` of ``group`` and sort what it reported."""
    spec = GROUPS[group]
    limit = timeout if spec.run else min(timeout, 20 * item_timeout)
    left = deadline - time.monotonic() - BUDGET_RESERVE
    used = budget - left - BUDGET_RESERVE  # seconds since the grade started
    if left < 2:
        problem = f"the grader's time budget of {budget:g} s ran out before this part could start"
        incomplete = Incomplete(
            "Not graded yet: the grading machine ran out of time before it could run this part, not your code. "
            "Course staff will regrade it.",
            f"{spec.module}.py ({group}) did not start: the time budget of {budget:g} s ran out before it; regrade "
            f"with --budget {minutes(used + limit + 60):g}", timeout, minutes(used + limit + 60))
        return (RunObservation({}, problem, timed_out=True, incomplete=incomplete) if spec.run else
                UnitObservation(None, {}, problem, "", timed_out=True, incomplete=incomplete))
    cut_by_budget = left < limit
    limit = min(limit, left)
    scratch = make_scratch(base, group, files, sandbox.uid, sandbox.gid)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(scratch), "TMPDIR": str(scratch),
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(scratch / ".matplotlib"), "FASHION_MNIST_DIR": str(data_dir),
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8", "TERM": "dumb"}
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    plan = {"module": spec.module, "cls": spec.cls, "torch": spec.torch, "item_timeout": item_timeout,
            "threads": threads if spec.run else 1}
    if spec.run:
        init, train = ctx.facts.HANDOUT_RUNS[spec.module]
        plan["run"] = {"module": spec.module, "cls": spec.cls,
                       "layout": "image" if spec.module == "pytorch_cnn" else "flat",
                       "tolerance": HANDOUT_TOLERANCE, "shift": list(ctx.shift), "init": init, "train": train,
                       "sizes": ctx.facts.SPLIT_SIZES}
    else:
        plan["steps"] = [{"item": item_id, "sessions": [[o.wire for o in session] for session in item_plan]}
                         for item_id, (_, item_plan) in items.items()]
    on_progress = (lambda epoch, epochs: progress(f"{spec.module}.py: epoch {epoch} / {epochs}")) if progress else None
    try:
        child = sandbox.run(scratch, plan, env, timeout=limit, memory=memory, disk=disk, on_progress=on_progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not child.ready:
        raise GraderError(f"the sandboxed child for {group} failed before running any student code "
                          f"(status {child.status}): {child.output.strip()[-2000:]}")
    if child.probe_error():
        raise GraderError(f"the grader's probe failed in {group}: {child.probe_error()}")
    problem, incomplete = None, None
    done = any("done" in m for m in child.messages)
    stopped_by = (f"the grader's overall time budget of {budget:g} s ran out (after {limit:.0f} s)" if cut_by_budget
                  else f"the time limit of {limit:g} s")
    if child.over:
        problem = child.over
    elif child.timed_out and spec.run and still_progressing(child) and time_needed(child) > SLOWEST * limit:
        problem = (f"it was stopped when {stopped_by}: at the pace it kept it would need about "
                   f"{time_needed(child):.0f} s, over {SLOWEST:g} times the limit")
        ctx.flag(", ".join(items), f"{spec.module}.py {problem}; a machine this busy, or a student's code this "
                                   "slow? Regrade with a longer limit if it is the machine")
    elif child.timed_out and spec.run and still_progressing(child):
        incomplete = machine_time(spec, child, stopped_by, timeout, budget, used, cut_by_budget)
        problem = incomplete.student
    elif child.timed_out and not spec.run and cut_by_budget and \
            child.stopped - (child.last_report or child.started) < item_timeout:
        # The budget, shared with the groups before this one, stopped an item that had not yet used
        # its own time limit: the machine's time. (An item past its limit defeated the limit's
        # alarm: stuck, and charged as such below.)
        incomplete = Incomplete(
            f"Not graded yet: the grading machine ran out of time while these checks were running, not your code "
            f"(the grader's time budget of {budget:g} s ran out). Course staff will regrade it.",
            f"{spec.module}.py ({group}): the time budget of {budget:g} s ran out while its items were running; "
            f"regrade with --budget {minutes(used + limit + 120):g}", timeout, minutes(used + limit + 120))
        problem = f"it was stopped when {stopped_by}"
    elif child.timed_out:
        problem = f"it was stopped when {stopped_by}" if cut_by_budget else f"it was stopped after {stopped_by}"
        if spec.run:
            problem += stall(child)
    elif not done:
        problem = ended_early(child.status)
    if child.truncated:
        problem = problem or "it reported more than the grader reads"
    if spec.run:
        report = next((m.get("results") for m in child.messages if m.get("item") == "run"), None)
        if not isinstance(report, dict):
            return RunObservation({}, problem or "the script's run reported nothing", child.output,
                                  timed_out=child.timed_out, incomplete=incomplete)
        return RunObservation(report, None, child.output)
    imported = next((m["import"] for m in child.messages if isinstance(m.get("import"), dict)), None)
    by_item = {}
    for m in child.messages:
        if isinstance(m.get("item"), str) and m["item"] not in by_item:  # the first report of an item counts
            by_item[m["item"]] = m.get("results")
    return UnitObservation(imported, by_item, problem, child.output, timed_out=child.timed_out, over=child.over,
                           incomplete=incomplete)


# A script that prints no progress line for three of its own intervals between lines, and at least
# this long, when a limit stops it, is stuck (a loop, a deadlock), not slow.
STALL_SECONDS = 30.0


def still_progressing(child) -> bool:
    """Whether a script was still printing the handout's progress lines at its own steady pace
    when it was stopped (the times are the grader's: when each line arrived). One stopped before
    STALL_SECONDS without a line was stopped too soon to tell: it gets the benefit of the doubt."""
    if child.started is None or child.stopped is None:
        return False
    if not child.progress:
        return child.stopped - child.started < STALL_SECONDS
    times = [child.started] + [t for t, _, _ in child.progress]
    pace = statistics.median(b - a for a, b in zip(times, times[1:]))
    return child.stopped - times[-1] <= max(3 * pace, STALL_SECONDS)


def stall(child) -> str:
    """Why a stopped script is taken as stuck: for how long it had printed no progress line."""
    if not child.progress or child.started is None or child.stopped is None:
        return ", and it had printed no progress line ([epoch / epochs] | ...): it looks stuck, not slow"
    last, epoch, epochs = child.progress[-1]
    return (f", and it had printed no progress line for its last {child.stopped - last:.0f} s (the last was epoch "
            f"{epoch} of {epochs}): it looks stuck, not slow")


def minutes(seconds: float) -> float:
    """Up to the whole minute."""
    return 60.0 * math.ceil(seconds / 60)


# A run that would need more than this many times its limit, at the pace it kept, is too slow for
# the grader to call it the machine's fault: 0, and a flag.
SLOWEST = 5


def time_needed(child) -> float:
    """What a stopped script would have needed, at the pace it kept: its epochs at that pace and a
    minute for the prediction, the plot and the judgement (twice what it ran, with no epoch yet)."""
    if not child.progress:
        return 2 * (child.stopped - child.started) + 60
    last, epoch, epochs = child.progress[-1]
    return (last - child.started) / epoch * epochs + 60


def machine_time(spec, child, stopped_by, timeout, budget, used, cut_by_budget) -> Incomplete:
    """The script was stopped while still training: what to tell the student and staff, and the limits
    a regrade needs (what it needs at its pace, half as much again; a budget to fit it)."""
    elapsed = child.stopped - child.started
    needed = time_needed(child)
    new_timeout = max(timeout, minutes(1.5 * needed))
    new_budget = max(budget, minutes(used + new_timeout + 2 * BUDGET_RESERVE))
    limits = f"--timeout {new_timeout:g}" + (f" --budget {new_budget:g}" if new_budget != budget else "")
    _, epoch, epochs = child.progress[-1] if child.progress else (None, 0, 0)
    pace = (f"still training at a steady pace (epoch {epoch} of {epochs} after {elapsed:.0f} s)" if epoch else
            f"stopped {elapsed:.0f} s after it started, too soon to show its pace")
    student = (f"Not graded yet: the grading machine ran out of time, not your code. `python {spec.module}.py` was "
               f"{pace} when {stopped_by}. Course staff will regrade it with a longer time limit")
    staff = (f"{spec.module}.py was {pace}, about {needed:.0f} s needed, when {stopped_by}; regrade with {limits}")
    return Incomplete(student, staff, new_timeout, new_budget)


def ended_early(status) -> str:
    if status is None:
        return "it ended without reporting"
    if status < 0:
        how = "killed (out of memory?)" if status == -9 else f"killed by signal {-status}"
        return f"the process was {how}"
    return f"the process ended early (exit code {status}: your code may have called os._exit or crashed)"


def make_scratch(base: Path, group: str, files: dict, uid, gid) -> Path:
    """A fresh directory holding the submission's files and the students' utils.py (the
    handout's copy, whatever the student sent)."""
    scratch = base / group
    scratch.mkdir(mode=0o700)
    for name, data in files.items():
        (scratch / name).write_bytes(data)
    shutil.copyfile(STUDENT_UTILS, scratch / "utils.py")
    for path in scratch.iterdir():
        path.chmod(0o644)
    if uid is not None:
        os.chown(scratch, uid, gid)
    return scratch


# --------------------------------------------------------------------------- judging
def judge_unit(item, gen, plan, unit: UnitObservation) -> ItemResult:
    module = GROUPS[item.group].module
    imported = unit.imported
    if imported is not None and not imported.get("ok"):
        from .checks.common import describe_error
        error = imported.get("error") if isinstance(imported.get("error"), dict) else {}
        if error.get("type") == "SyntaxError":
            reason = describe_error(error)
        elif error.get("type") == "SystemExit":
            reason = f"importing {module}.py called exit({short(error.get('exit_code'), 40)})"
        else:
            reason = f"importing {module}.py failed: {describe_error(error)}"
        return zero(item, f"Not graded: {reason}." + tail(unit.output), reason)
    results = unit.items.get(item.id)
    if isinstance(results, dict) and results.get("no_class"):
        cls = GROUPS[item.group].cls
        return zero(item, f"FAIL  {module}.py does not define the class {cls}.", f"no class {cls}")
    if results is None:
        if unit.incomplete and item.id not in unit.stopped:
            return zero(item, unit.incomplete.student, "not graded yet: the machine ran out of time, not the code",
                        timed_out=True, incomplete=True)
        reason = unit.problem or "no result came back for this item"
        if item.id in unit.stopped:
            reason = unit.stopped[item.id]
        elif unit.problem:
            reason = f"the grading process for {module}.py stopped before this item: {unit.problem}"
        return zero(item, f"Not graded: {reason}." + tail(unit.output), reason, timed_out=unit.timed_out)
    return judge(item, gen, results)


def judge(item, gen, observed) -> ItemResult:
    try:
        gen.send(observed)
    except (StopIteration, NotGraded, Fail) as exc:
        return finish(item, exc)
    except Exception as exc:  # noqa: BLE001
        raise GraderError(f"the check of item {item.id} failed: {traceback.format_exc()}") from exc
    raise GraderError(f"the check of item {item.id} asked for a second plan")


def finish(item, outcome) -> ItemResult:
    """An item's result from how its check ended: parts (StopIteration), NotGraded or Fail."""
    if isinstance(outcome, NotGraded):
        text = str(outcome)
        skipped = text.startswith("Skipped")
        return zero(item, text if skipped else f"Not graded: {text}", "skipped (--fast)" if skipped else text)
    if isinstance(outcome, Fail):
        return zero(item, f"FAIL  {outcome}", str(outcome))
    parts = outcome.value
    if not (isinstance(parts, list) and parts and all(isinstance(p, Part) for p in parts)):
        raise GraderError(f"the check of item {item.id} returned {parts!r}, not a list of parts")
    total = sum(p.weight for p in parts)
    earned = sum(p.weight for p in parts if p.passed)
    score = round(item.points * earned / total, 2)
    failed = next((p for p in parts if not p.passed), None)
    why = "all checks passed" if failed is None else (failed.detail or failed.label)
    return ItemResult(item, score, lines(parts), _text(why, 120))


def zero(item, output, why, timed_out=False, incomplete=False) -> ItemResult:
    return ItemResult(item, 0.0, output, _text(why, 120), timed_out, incomplete)


def tail(output: str, limit: int = 1500) -> str:
    text = output.strip()
    if not text:
        return ""
    return "\nLast lines your code printed:\n" + (text if len(text) <= limit else "..." + text[-limit:])
