"""Grade a whole class from a Gradescope export: ``python -m grader.batch EXPORT --out DIR``.

EXPORT is Gradescope's "Export Submissions" zip, the folder it unpacks to, or a plain folder
of submission folders (``grader/export.py`` reads all three). Every submission is graded by
:func:`grader.runner.grade` through one shared sandbox, ``--jobs`` at a time. What one
submission does (a hang, a crash, a grader failure on its files) is recorded as its status
and the batch goes on.

One submission's code must not reach another's files, nor the grades: with ``--user``, each
of the ``--jobs`` submissions graded at once runs as a grading user of its own (``--user
a,b,...``), and the batch refuses to start when a grading user can read the export or
``--out``, printing the ``chmod`` that closes it (:func:`check_confidential`). ``--out`` is
created readable by its owner only.

Written to DIR:

- ``results/<id>.json``: the submission's Gradescope results.json, plus
  ``extra_data.batch`` (status, seconds, reused items, the one-line reasons). A submission
  whose file exists is skipped by the next run (``--force`` regrades), so an interrupted or
  extended batch picks up where it stopped; a submission that could not be graded (grader
  error, over its wall-clock limit) has no file, and one to regrade has a file that is not
  final: both are graded again by the next run.
- ``grades.csv``: one row per submission: id, names, sids, emails, total, ``max`` (what the
  total is out of), one column per rubric item headed with its points (``1.1 (3)``),
  status, seconds, Gradescope's recorded score and the difference, reused items, mode, the
  grade's flags for staff, and a one-line message. ``--fast`` leaves out the items it
  skips and the difference (Gradescope's score is a full grade's).
- ``summary.md``: per item the mean, % full marks, % zero and the most common reason short of
  full marks; the totals' distribution; the rows that need attention, and the rerun for them.
- ``scores.png``: a histogram of the totals and each item's share of full marks, the
  real-data items marked with how they were graded (run, reused, skipped, word only).

A row's status (``grades.csv``, ``summary.md``): ``graded``; ``timed out`` (a time limit
stopped the student's code: final); ``no runs to reuse`` (``--reuse-runs`` found no usable
recorded score for some real-data items, which score 0); ``regrade`` (a time limit stopped
code that was still making progress: the grading machine ran out of time, not the student's
code; the next run, with longer limits, grades it again); ``grader error``, ``over
wall-clock limit``, ``error`` (not scored; the next run tries again); ``not graded`` (the
batch stopped before it).

``--reuse-runs`` grades only the unit groups and takes the real-data items (the run groups'
items in ``grader.rubric``) from the results Gradescope recorded in the export's metadata,
marked as reused: minutes instead of hours, since the CNN alone trains for minutes.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import queue
import shlex
import statistics
import sys
import threading
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from .export import ExportedSubmission, ExportError, as_number, open_export
from .limits import DEFAULT_DISK, DEFAULT_MEMORY, memory_warning
from .report import clean, results_json, write_atomic
from .rubric import GROUPS, ITEMS, SCRIPT_ITEMS
from .runner import (
    DEFAULT_BUDGET,
    DEFAULT_DATA,
    DEFAULT_ITEM_TIMEOUT,
    DEFAULT_TIMEOUT,
    GradeReport,
    ItemResult,
    add_grading_options,
    grade,
)
from .sandbox import SETUP_SECONDS, GraderError, Sandbox, exposure, grading_users

RUN_ITEMS = tuple(item for item in ITEMS if GROUPS[item.group].run)
SKIPPED_BY_FAST = tuple(item for item in ITEMS if item.id in SCRIPT_ITEMS)  # they score 0 under --fast
WORD_ONLY = tuple(item for item in RUN_ITEMS if item.judgement)  # --fast checks only that the answer is a verdict
UNIT_GROUPS = tuple(name for name, group in GROUPS.items() if not group.run)
# Past --budget a grade may still be setting up a child (up to SETUP_SECONDS, not counted as the
# student's time) and cleaning up after it; beyond that, the grade is considered stuck.
WALL_SLACK = SETUP_SECONDS + 60
REUSED = "Reused from the results Gradescope recorded for this submission (not regraded here)."

GRADED = "graded"                     # scored; nothing stopped at a time limit
TIMED_OUT = "timed out"               # scored; some of the student's code was stopped at a time limit
NO_RUNS = "no runs to reuse"          # scored; --reuse-runs found no recorded score for some real-data items: 0
REGRADE = "regrade"                   # scored, not final: a limit stopped code still making progress
GRADER_ERROR = "grader error"         # not scored: the grader failed on it (GraderError)
WALL_CLOCK = "over wall-clock limit"  # not scored: the grade did not return within its wall-clock limit
ERROR = "error"                       # not scored: an unexpected error in the batch itself
NOT_GRADED = "not graded"             # not scored: the batch stopped before it
SCORED = (GRADED, TIMED_OUT, NO_RUNS, REGRADE)
RETRIED = (REGRADE, GRADER_ERROR, WALL_CLOCK, ERROR, NOT_GRADED)  # what a rerun grades again


@dataclass(frozen=True)
class Options:
    """How each submission is graded (``python -m grader.batch --help``)."""
    fast: bool = False
    reuse_runs: bool = False
    timeout: float = DEFAULT_TIMEOUT
    item_timeout: float = DEFAULT_ITEM_TIMEOUT
    budget: float = DEFAULT_BUDGET
    data_dir: str | None = None
    user: str | None = None           # one name, or several separated by commas: one per --jobs slot
    hidden_visibility: str = "after_published"
    wall_limit: float | None = None   # per submission, seconds; default budget + WALL_SLACK
    threads: int | None = None        # torch threads per script run; default: the cores shared by --jobs
    memory: int | None = DEFAULT_MEMORY   # bytes per child (limits.py); None: no limit
    disk: int | None = DEFAULT_DISK
    strict_thresholds: bool = False       # the script items need their threshold itself (no noise band)
    accept_near_names: bool = False       # grade numpyann.py as numpy_ann.py, and flag it

    @property
    def mode(self) -> str:
        return "reuse-runs" if self.reuse_runs else "fast" if self.fast else "full"

    @property
    def wall_seconds(self) -> float:
        return self.wall_limit if self.wall_limit is not None else self.budget + WALL_SLACK


@dataclass
class Record:
    """One submission's row: its scores (None when it could not be graded) and how it went."""
    id: str
    status: str
    seconds: float = 0.0
    scores: dict[str, float] | None = None   # item id -> score
    total: float | None = None                # the grader's total (results.json "score")
    why: dict[str, str] = field(default_factory=dict)  # item id -> one-line reason, when short of full marks
    reused: list[str] = field(default_factory=list)
    message: str = ""
    mode: str = ""
    flags: list[str] = field(default_factory=list)     # the grade's flags for staff review (results.json keeps them)
    regrade: dict = field(default_factory=dict)        # a regrade row: the limits its grade found it needs

    def batch_data(self) -> dict:
        """What results.json keeps (``extra_data.batch``) to rebuild this row in a later run."""
        return {"status": self.status, "seconds": round(self.seconds, 1), "why": self.why,
                "reused": self.reused, "message": self.message, "mode": self.mode}


@dataclass
class BatchResult:
    records: list[Record]        # one per submission of the export, in its order
    graded: list[str]            # ids graded in this run
    skipped: list[str]           # ids skipped: graded by an earlier run
    seconds: float


# --------------------------------------------------------------------------- one submission
def grade_submission(export, sub: ExportedSubmission, options: Options, sandbox) -> tuple[Record, GradeReport | None]:
    """Grade one submission; never raises: a failure becomes the record's status."""
    started = time.monotonic()
    try:
        with export.checkout(sub) as (folder, notes):
            report = grade(folder, fast=options.fast, timeout=options.timeout, item_timeout=options.item_timeout,
                           budget=options.budget, data_dir=options.data_dir, user=options.user, sandbox=sandbox,
                           groups=UNIT_GROUPS if options.reuse_runs else None, threads=options.threads,
                           memory=options.memory, disk=options.disk, strict_thresholds=options.strict_thresholds,
                           accept_near_names=options.accept_near_names)
    except GraderError as exc:
        return failure(sub, GRADER_ERROR, str(exc), started, options), None
    except Exception:  # noqa: BLE001 - a bug must cost one row, not the batch
        return failure(sub, ERROR, traceback.format_exc(limit=3), started, options), None
    report.notes.extend(notes)
    reused, missing = [], []
    if options.reuse_runs:
        report, reused, missing = with_reused_runs(report, sub.results)
    incomplete = [r.item.id for r in report.incomplete]
    stopped = [r.item.id for r in report.results if r.timed_out and not r.incomplete]
    messages = list(report.notes)  # e.g. a file not found: why a row scores nothing
    if missing:
        messages.append(f"no usable Gradescope score to reuse for {', '.join(missing)} (they score 0)")
    if stopped:
        messages.append(f"stopped at a time limit: {', '.join(stopped)}")
    if incomplete:
        messages.append(f"regrade {', '.join(incomplete)} with longer limits: a time limit stopped the code while "
                        f"it was still making progress (the grading machine ran out of time, not the student's code); "
                        f"a rerun grades it again: add {longer_limits(options, report.regrade)}")
    status = REGRADE if incomplete else NO_RUNS if missing else TIMED_OUT if stopped else GRADED
    record = Record(sub.id, status, time.monotonic() - started,
                    {r.item.id: r.score for r in report.results}, report.score,
                    {r.item.id: clean(r.why) for r in report.results if r.score < r.max_score},
                    reused, "; ".join(messages), options.mode, list(report.flags), dict(report.regrade))
    return record, report


def longer_limits(options: Options, needed: dict | None = None) -> str:
    """The options for a regrade: the limits the grade found its runs need (``GradeReport.regrade``,
    from the pace they kept), else each time limit doubled."""
    timeout = max(2 * options.timeout, (needed or {}).get("timeout", 0))
    budget = max(2 * options.budget, (needed or {}).get("budget", 0))
    return f"--timeout {timeout:g} --item-timeout {2 * options.item_timeout:g} --budget {budget:g}"


def failure(sub, status, message, started, options) -> Record:
    return Record(sub.id, status, time.monotonic() - started, message=clean(message, 2000).strip(), mode=options.mode)


def with_reused_runs(report: GradeReport, recorded: dict | None) -> tuple[GradeReport, list[str], list[str]]:
    """The report with its real-data items taken from Gradescope's recorded results.

    Returns the new report, the items reused and the items that had no usable score there
    (those score 0 and say why).
    """
    tests = gradescope_tests(recorded)
    results, reused, missing = [], [], []
    for result in report.results:
        if result.item not in RUN_ITEMS:
            results.append(result)
            continue
        test = tests.get(result.item.id, {})
        score = as_number(test.get("score"))
        if score is None or not 0 <= score <= result.item.points:
            missing.append(result.item.id)
            results.append(ItemResult(result.item, 0.0, "Not graded: --reuse-runs found no usable score for this "
                                      "item in the results Gradescope recorded.", "no Gradescope score to reuse"))
            continue
        output = clean(test.get("output") or "").strip()
        first_line = next((line for line in output.splitlines() if line.strip()), "")
        results.append(ItemResult(result.item, score, f"{REUSED}\n{output}".strip(),
                                  f"reused: {first_line}"[:120] if score < result.item.points else "reused"))
        reused.append(result.item.id)
    return replace(report, results=results), reused, missing


def gradescope_tests(recorded: dict | None) -> dict[str, dict]:
    """Rubric item id -> its test in a recorded results.json (by ``number``, else the name's first word)."""
    tests = recorded.get("tests") if isinstance(recorded, dict) else None
    found = {}
    for test in tests if isinstance(tests, list) else []:
        if not isinstance(test, dict):
            continue
        number = str(test.get("number") or "").strip() or str(test.get("name") or "").split(" ", 1)[0]
        found.setdefault(number, test)
    return found


# --------------------------------------------------------------------------- results files
def results_path(out: Path, sub: ExportedSubmission) -> Path:
    return out / "results" / f"{sub.safe_id}.json"


def save_results(path: Path, report: GradeReport, record: Record, hidden_visibility: str):
    data = results_json(report, hidden_visibility)
    data["extra_data"]["batch"] = record.batch_data()
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def load_record(path: Path, sub_id: str) -> Record | None:
    """The row a results.json from an earlier run gives; None when there is none or it is
    unreadable (then the submission is graded again). A results.json without the batch's own
    data (one ``python -m grader`` wrote) counts as graded."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        extra = data.get("extra_data", {})
        batch = extra.get("batch", {})
        scores = {str(t["number"]): float(t["score"]) for t in data["tests"]}
        return Record(sub_id, str(batch.get("status", GRADED)), float(batch.get("seconds", data["execution_time"])),
                      scores, float(data["score"]), dict(batch.get("why", {})), list(batch.get("reused", [])),
                      str(batch.get("message", "")), str(batch.get("mode", "")),
                      [str(flag) for flag in extra.get("flags", [])],
                      dict(extra.get("incomplete", {}).get("regrade", {})))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# --------------------------------------------------------------------------- the batch
def run_batch(export_path, out, options: Options = Options(), *, jobs: int = 1, force: bool = False,
              sandbox: Sandbox | None = None, progress_stream=None) -> BatchResult:
    """Grade every submission of the export not graded yet (all with ``force``); write DIR's outputs.

    Parameters
    ----------
    export_path : a Gradescope export (zip or folder) or a folder of submission folders.
    out : the output folder (created if needed).
    options : how each submission is graded.
    jobs : submissions graded at once, each in its own thread, all through one sandbox.
    force : regrade submissions whose results.json already exists.
    sandbox : a started :class:`Sandbox` to share (tests); by default one for this batch.
    progress_stream : where the progress bar goes (default: stderr).

    Raises
    ------
    ExportError
        The export cannot be read, or ``--reuse-runs`` without its metadata.
    GraderError
        The sandbox cannot start, or the grading users could reach what they must not
        (:func:`check_confidential`): nothing can be graded.
    """
    started = time.monotonic()
    out = Path(out)
    check_confidential(sandbox.users if sandbox is not None else grading_users(options.user), jobs,
                       [export_path, out])
    with open_export(export_path, ignore=[out]) as export:
        if options.reuse_runs and not export.has_metadata:
            raise ExportError("--reuse-runs takes the real-data items from the export's submission_metadata.yml, "
                              "and this export has none")
        out.mkdir(mode=0o700, parents=True, exist_ok=True)  # grades.csv: names, SIDs, e-mails
        earlier = {} if force else {s.id: r for s in export.submissions
                                    if (r := load_record(results_path(out, s), s.id)) is not None}
        # A regrade row has a results file, but its scores are not final: graded again, as rows without one
        # are, in the mode that found it incomplete (a --fast run would skip its runs and call it final).
        again = {i for i, r in earlier.items() if r.status == REGRADE and r.mode == options.mode}
        todo = [s for s in export.submissions if s.id not in earlier or s.id in again]
        skipped = [i for i in earlier if i not in again]
        progress = Progress(len(todo), progress_stream or sys.stderr)
        progress.note(f"{len(export.submissions)} submissions: {len(todo)} to grade, {jobs} at a time"
                      + (f"; {len(skipped)} already graded in {out}, skipped (--force regrades)" if skipped else ""))
        fresh: dict[str, Record] = {}
        if options.threads is None:  # the batch's jobs share the cores, not each grade's own
            options = replace(options, threads=max(1, (os.cpu_count() or 1) // jobs))
        try:
            if todo:
                with sandbox_for(options, sandbox) as box:
                    finished = schedule(todo, lambda s: grade_submission(export, s, options, box), jobs,
                                        options.wall_seconds)
                    for sub, outcome, seconds in finished:
                        record, report = outcome or (over_wall_clock(sub, seconds, options), None)
                        if report is not None:
                            save_results(results_path(out, sub), report, record, options.hidden_visibility)
                        fresh[sub.id] = record
                        progress.update(record)
        finally:  # also after Ctrl-C: the outputs cover what was graded
            progress.close()
            records = [fresh.get(s.id) or earlier.get(s.id) or Record(s.id, NOT_GRADED) for s in export.submissions]
            rerun = " ".join(shlex.quote(str(a)) for a in ("python", "-m", "grader.batch", export_path, "--out", out))
            write_outputs(out, export.submissions, records, Path(export_path).name, options,
                          rerun + {"fast": " --fast", "reuse-runs": " --reuse-runs"}.get(options.mode, ""))
    return BatchResult(records, list(fresh), skipped, time.monotonic() - started)


def check_confidential(users, jobs: int, private):
    """Refuse (GraderError) to let one submission's code reach another's: with grading users,
    each of the ``jobs`` submissions graded at once needs a user of its own (their files and
    processes are that user's), and none may read the export or --out (``private``)."""
    if not users:
        return
    if len(users) < jobs:
        raise GraderError(
            f"--jobs {jobs} grades {jobs} submissions at once, and each needs a grading user of its own, or one "
            f"submission's code could reach another's files and processes: give --user {jobs} names (it has "
            f"{len(users)}: {','.join(u.name for u in users)}), or lower --jobs. Make one with: useradd --system "
            "--no-create-home --shell /usr/sbin/nologin grader2")
    problem = exposure(users, private)
    if problem:
        raise GraderError(f"{problem}. Until then one submission's code could read the others' files, and --out the "
                          "grades; a copy of the export elsewhere would leave this one open")


def sandbox_for(options: Options, shared: Sandbox | None):
    """The shared sandbox as it is (its owner closes it), or a new one for this batch."""
    if shared is not None:
        return contextlib.nullcontext(shared)
    data_dir = Path(options.data_dir or os.environ.get("FASHION_MNIST_DIR") or DEFAULT_DATA).resolve()
    return Sandbox(options.user, readable=[data_dir])


def over_wall_clock(sub, seconds: float, options: Options) -> Record:
    return Record(sub.id, WALL_CLOCK, seconds, mode=options.mode,
                  message=f"the grade did not finish within its wall-clock limit of {options.wall_seconds:g} s")


def schedule(todo, grade_one, jobs: int, wall_limit: float):
    """Grade ``todo``, ``jobs`` at a time, each in a thread; yield ``(sub, outcome, seconds)`` as each ends.

    ``outcome`` is what ``grade_one(sub)`` returned, or None when it was still running after
    ``wall_limit`` seconds: then its slot goes to the next submission. Its thread cannot be
    killed; it ends when the grade's own time limits stop the student's code, and what it
    returns then is dropped.
    """
    done: queue.Queue = queue.Queue()
    waiting, running = deque(todo), {}  # sub.id -> (sub, start time)

    def work(sub):
        done.put((sub.id, grade_one(sub)))

    while waiting or running:
        while waiting and len(running) < jobs:
            sub = waiting.popleft()
            running[sub.id] = (sub, time.monotonic())
            threading.Thread(target=work, args=(sub,), daemon=True, name=f"grade-{sub.id}").start()
        first_deadline = min(start for _, start in running.values()) + wall_limit
        try:
            sub_id, outcome = done.get(timeout=max(0.0, first_deadline - time.monotonic()))
        except queue.Empty:
            for sub_id, (sub, start) in list(running.items()):
                if time.monotonic() - start >= wall_limit:
                    del running[sub_id]
                    yield sub, None, time.monotonic() - start
            continue
        if sub_id in running:  # else it went over its wall-clock limit, and was reported then
            sub, start = running.pop(sub_id)
            yield sub, outcome, time.monotonic() - start


class Progress:
    """done/total, ETA and the rows to look at so far (any status but graded) on a stream: a redrawn
    bar on a terminal, a line per submission otherwise (logs, CI)."""

    WIDTH = 30

    def __init__(self, total: int, stream):
        self.total, self.stream, self.done, self.to_look_at = total, stream, 0, 0
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def note(self, text: str):
        print(text, file=self.stream, flush=True)

    def update(self, record: Record):
        self.done += 1
        self.to_look_at += record.status != GRADED
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        text = (f"{self.done}/{self.total} graded, {duration(elapsed)} elapsed, ETA {duration(eta)}, "
                f"{self.to_look_at} to look at")
        if self.tty:
            filled = round(self.WIDTH * self.done / max(1, self.total))
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {text}   ")
        else:
            self.stream.write(f"{text}; {record.id}: {record.status} in {record.seconds:.1f} s\n")
        self.stream.flush()

    def close(self):
        if self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()


def duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


# --------------------------------------------------------------------------- outputs
def write_outputs(out: Path, submissions, records: list[Record], title: str, options: Options, rerun: str):
    mode = batch_mode(records, options.mode)
    write_atomic(out / "grades.csv", grades_csv(submissions, records, mode))
    needed = {key: max(r.regrade.get(key, 0) for r in records) for key in ("timeout", "budget")}
    write_atomic(out / "summary.md", summary_markdown(records, title, mode, rerun, longer_limits(options, needed)))
    write_atomic(out / "scores.png", scores_png(records, mode))


def batch_mode(records: list[Record], current: str) -> str:
    """The mode the rows with scores were graded in (this run's when none has), or "mixed":
    rows kept from an earlier run may have been graded in another."""
    modes = {r.mode for r in records if r.scores is not None} or {current}
    return modes.pop() if len(modes) == 1 else "mixed"


def graded_items(mode: str) -> tuple:
    """The items a grade in this mode scores: --fast skips the real-data runs' accuracies."""
    return tuple(item for item in ITEMS if not (mode == "fast" and item in SKIPPED_BY_FAST))


def max_points(mode: str) -> int:
    return sum(item.points for item in graded_items(mode))


def how_graded(item, mode: str) -> str:
    """What a batch in this mode did for a real-data item, in words ("" for a unit item)."""
    if item not in RUN_ITEMS:
        return ""
    if mode == "fast":
        return "skipped (--fast)" if item in SKIPPED_BY_FAST else "word only (--fast)"
    return "reused from Gradescope" if mode == "reuse-runs" else "real-data run"


def item_column(item) -> str:
    return f"{item.id} ({item.points})"  # the points in the header: the data rows stay one per submission


def grades_csv(submissions, records: list[Record], mode: str) -> str:
    """One row per submission: the item columns say their points, ``max`` what the row's total
    is out of. A --fast batch leaves out the items it skips and the difference from Gradescope's
    score (a full grade's). Every text cell is one line."""
    items, compare = graded_items(mode), mode != "fast"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission_id", "names", "sids", "emails", "total", "max", *map(item_column, items), "status",
                     "seconds", "gradescope_score", *["difference"] * compare, "reused", "mode", "flags", "message"])
    for sub, record in zip(submissions, records):
        scores, scored = record.scores or {}, record.total is not None
        difference = (round(record.total - sub.score, 2)
                      if scored and sub.score is not None and record.mode != "fast" else None)
        people = ("; ".join(getattr(s, key) for s in sub.submitters) for key in ("name", "sid", "email"))
        writer.writerow([cell(sub.id), *map(cell, people), number(record.total),
                         number(max_points(record.mode) if scored else None),
                         *(number(scores.get(item.id)) for item in items), cell(record.status),
                         number(round(record.seconds, 1)), number(sub.score), *[number(difference)] * compare,
                         cell(" ".join(record.reused)), cell(record.mode), cell("; ".join(record.flags)),
                         cell(record.message)])
    return buffer.getvalue()


def cell(text: str) -> str:
    """Text safe for a spreadsheet: one line, and never read as a formula (=, +, -, @ first)."""
    text = " ".join(clean(text).split())
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def number(value) -> str:
    return "" if value is None else f"{value:g}"


def summary_markdown(records: list[Record], title: str, mode: str, rerun: str, longer: str) -> str:
    scored = [r for r in records if r.scores is not None]
    statuses = ", ".join(f"{n} {s}" for s, n in Counter(r.status for r in records).most_common())
    modes = ", ".join(f"{m} ({n})" for m, n in Counter(r.mode for r in scored).most_common()) or "none"
    written = f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m grader.batch`."
    lines = [f"# Batch grade: {md(title)}", "",
             f"{len(records)} submissions ({statuses}); grading mode: {modes}. {written}", "",
             "## Items", "",
             "Over the submissions with scores. Reused: taken from Gradescope's recorded results (`--reuse-runs`)."]
    if mode == "fast":
        lines += ["", f"`--fast`: {', '.join(i.id for i in SKIPPED_BY_FAST)} (the real-data runs) were skipped, and "
                      f"are left out of the totals; {', '.join(i.id for i in WORD_ONLY)} only checked that the "
                      "answer is one of the three words (a full grade judges it against the run's curves)."]
    lines += ["", "| item | name | points | mean | full marks | zero | reused "
                  "| most common reason short of full marks |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    lines += [item_row(item, scored, how_graded(item, mode)) for item in ITEMS]
    lines += ["", f"## Totals (out of {max_points(mode)})", ""] + totals_section([r.total for r in scored],
                                                                                 max_points(mode))
    return "\n".join(lines + attention_section(records, rerun, longer)) + "\n"


def item_row(item, scored: list[Record], how: str) -> str:
    name = md(item.name) + (f", {how}" if how.startswith("word only") else "")
    scores = [r.scores[item.id] for r in scored]
    if how.startswith("skipped") or not scores:
        return f"| {item.id} | {name} | {item.points} | {how} | | | | |"
    reasons = Counter(r.why[item.id] for r in scored if item.id in r.why and r.scores[item.id] < item.points)
    reason = f"{md(reasons.most_common(1)[0][0])} ({reasons.most_common(1)[0][1]})" if reasons else ""
    reused = sum(item.id in r.reused for r in scored)
    return (f"| {item.id} | {name} | {item.points} | {statistics.fmean(scores):.2f} | "
            f"{percent(sum(s == item.points for s in scores), len(scores))} | "
            f"{percent(sum(s == 0 for s in scores), len(scores))} | {reused} | {reason} |")


def totals_section(totals: list[float], top: int) -> list[str]:
    if not totals:
        return ["No submission has scores yet."]
    quartiles = statistics.quantiles(totals, n=4) if len(totals) > 1 else [totals[0]] * 3
    spread = (f"mean {statistics.fmean(totals):.2f}, standard deviation {statistics.pstdev(totals):.2f}, "
              f"min {min(totals):g}, quartiles {quartiles[0]:g} / {quartiles[1]:g} / {quartiles[2]:g}, "
              f"max {max(totals):g}")
    lines = [f"{len(totals)} submissions: {spread}.", "", "| total | submissions | |", "| --- | ---: | --- |"]
    width = 5
    for low in range(0, top + 1, width):
        high = min(low + width, top + 1)
        count = sum(low <= t < high for t in totals)
        label = f"{low}-{high - 1}" if high - 1 > low else f"{low}"
        lines.append(f"| {label} | {count} | {'#' * round(40 * count / len(totals))} |")
    return lines


def attention_section(records: list[Record], rerun: str, longer: str) -> list[str]:
    """The rows staff must act on: those without final scores, with items not graded here, or
    flagged for review; and the rerun that grades again those it can (``longer``: the limits a
    regrade needs)."""
    rows = [r for r in records if r.status not in (GRADED, TIMED_OUT) or r.flags]
    if not rows:
        return []
    lines = ["", "## Needs attention", "", "| submission | status | flags | message |", "| --- | --- | --- | --- |"]
    lines += [f"| {md(r.id)} | {r.status} | {md('; '.join(r.flags)[:400])} | {md(r.message[:400])} |" for r in rows]
    retried = sorted({r.status for r in rows if r.status in RETRIED})
    if retried:
        regrade = REGRADE in retried
        lines += ["", f"A rerun grades the {', '.join(retried)} rows again and skips the others"
                      + (", with longer time limits for the regrade rows" if regrade else "")
                      + " (add your usual options, such as `--user` and `--jobs`):", "",
                  f"    {rerun} {longer}" if regrade else f"    {rerun}"]
    return lines


def percent(count: int, total: int) -> str:
    return f"{100 * count / total:.0f}%"


def md(text: str) -> str:
    """Text for a markdown table cell."""
    return " ".join(clean(text).split()).replace("|", "\\|")


COLOURS = {"": "tab:green", "real-data run": "tab:orange", "reused from Gradescope": "tab:orange",
           "word only (--fast)": "tab:purple"}


def scores_figure(records: list[Record], mode: str):
    """A histogram of the totals and each item's share of full marks. Items a --fast batch
    skips are written out as skipped, not drawn as a share of 0; a real-data item's bar says
    how it was graded (run, reused, or only its answer's word checked).

    Drawn on a bare ``Figure`` (no pyplot): no global state, so this is safe in any thread.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    scored = [r for r in records if r.scores is not None]
    top = max_points(mode)
    figure = Figure(figsize=(12, 5.5), layout="constrained")
    totals_axes, items_axes = figure.subplots(1, 2)
    totals_axes.hist([r.total for r in scored], bins=range(top + 2), color="tab:blue", edgecolor="white")
    totals_axes.set(title=f"Totals ({len(scored)} submissions, {mode})", xlabel=f"total (out of {top})",
                    ylabel="submissions", xlim=(0, top + 1))
    totals_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    for row, item in enumerate(ITEMS):
        how = how_graded(item, mode)
        if how.startswith("skipped"):
            items_axes.text(1, row, how, va="center", color="grey", style="italic")
            continue
        share = 100 * sum(r.scores[item.id] == item.points for r in scored) / max(1, len(scored))
        items_axes.barh(row, share, color=COLOURS[how])
        if how:  # inside a long bar, after a short one
            inside = share > 60
            items_axes.text(share - 1 if inside else share + 1, row, how, va="center", fontsize="small",
                            ha="right" if inside else "left", color="white" if inside else "black")
    items_axes.set_yticks(range(len(ITEMS)), labels=[item.id for item in ITEMS])
    items_axes.invert_yaxis()
    items_axes.set(title="Full marks per item (unmarked: unit items)", xlabel="% of submissions", xlim=(0, 100))
    return figure


def scores_png(records: list[Record], mode: str) -> bytes:
    buffer = io.BytesIO()
    scores_figure(records, mode).savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


# --------------------------------------------------------------------------- command line
# Laid out by hand (the examples must not be rewrapped), so the description is too.
DESCRIPTION = """\
Grade every submission of a Gradescope export (its zip, the unpacked assignment_<id>_export
folder, or a plain folder of submission folders) and write results/<id>.json, grades.csv,
summary.md and scores.png to --out. Resumable: a rerun skips what is already graded, and
grades again what is not (regrade, grader error, over wall-clock limit, not graded).
"""
EPILOG = """\
examples:
  # the whole class, in full, two at a time, each as a grading user of its own (as root)
  python -m grader.batch assignment_123_export.zip --out grades --jobs 2 --user grader1,grader2
  # minutes instead of hours: the unit items graded, the real-data items taken from Gradescope
  python -m grader.batch assignment_123_export.zip --out grades-reused --reuse-runs

exit status:
  0  the batch ran: each submission's status is in grades.csv and summary.md (some may need
     a rerun: regrade, grader error, over wall-clock limit)
  2  nothing was graded: a bad option, an unreadable export, --reuse-runs without the
     export's metadata, or a sandbox that cannot start or is not confidential
"""
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader.batch",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", help="the export: a .zip or a folder")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="submissions graded at once (default: %(default)s); the script runs of a full "
                             "grade share the cores between them")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fast", action="store_true",
                      help="skip the real-data runs, as python -m grader --fast does: their accuracy items ("
                           + ", ".join(item.id for item in SKIPPED_BY_FAST) + ") are left out, and the judgements ("
                           + ", ".join(item.id for item in WORD_ONLY) + ") only checked to be one of the three words")
    mode.add_argument("--reuse-runs", action="store_true",
                      help="grade only the unit groups; take the real-data items ("
                           + ", ".join(item.id for item in RUN_ITEMS)
                           + ") from the results Gradescope recorded in the export's metadata, marked as reused")
    parser.add_argument("--force", action="store_true", help="regrade submissions already graded in --out")
    add_grading_options(parser, budget_help="time limit in seconds for one submission's grade (default: "
                                            f"%(default)s); a grade still running {WALL_SLACK} s past it is "
                                            "recorded as over its wall-clock limit")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if min(args.timeout, args.item_timeout, args.budget) <= 0 or args.jobs < 1:
        parser.error("--timeout, --item-timeout and --budget must be positive and --jobs at least 1")
    if args.user is None:
        print(f"warning: running the students' code as {'root' if os.geteuid() == 0 else 'yourself'}: each "
              "submission's code can read the export, the other submissions and --out; grade untrusted work as "
              "root with --user (one name per --jobs slot)", file=sys.stderr)
    warning = memory_warning(args.memory, args.jobs)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    options = Options(fast=args.fast, reuse_runs=args.reuse_runs, timeout=args.timeout,
                      item_timeout=args.item_timeout, budget=args.budget, data_dir=args.data_dir, user=args.user,
                      hidden_visibility=args.hidden_visibility, memory=args.memory, disk=args.disk,
                      strict_thresholds=args.strict_thresholds, accept_near_names=args.accept_near_names)
    try:
        result = run_batch(args.export, args.out, options, jobs=args.jobs, force=args.force)
    except (ExportError, GraderError) as exc:
        print(f"error: {clean(exc)}", file=sys.stderr)
        return 2
    statuses = Counter(r.status for r in result.records)
    print(f"{len(result.graded)} graded now, {len(result.skipped)} skipped (graded before), in "
          f"{duration(result.seconds)}: {', '.join(f'{n} {s}' for s, n in statuses.most_common())}. "
          f"Wrote {Path(args.out) / 'grades.csv'}, summary.md, scores.png and results/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
