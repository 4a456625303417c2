"""The two outputs of a grade: a table for the terminal and Gradescope's ``results.json``.

Every string that reaches either passes through :func:`clean`, so no text a submission
produces (lone surrogates, control characters, colour codes, megabytes) can break them.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import textwrap
from pathlib import Path

from .rubric import SCRIPT_ITEMS, VISIBILITIES
from .runner import GradeReport

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_TEST_OUTPUT = 8000


def clean(text, limit: int | None = None) -> str:
    """Printable UTF-8: colour codes and control characters removed, lone surrogates replaced."""
    text = str(text).encode("utf-8", "replace").decode("utf-8", "replace")
    text = CONTROL.sub("", ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    if limit is not None and len(text) > limit:
        text = text[:limit - 20] + "\n[... cut ...]"
    return text


def table(report: GradeReport, width: int | None = None) -> str:
    """One row per rubric item: its id, score and name; then, wrapped below it, why it lost points
    (or what it measured: an accuracy, a judgement). Then the total, the notes, the flags for staff
    and, when a time limit stopped code still making progress, what to regrade with."""
    width = width or max(80, min(120, shutil.get_terminal_size((100, 24)).columns))
    indent = " " * 15
    lines, previous = [f"{'item':<5} {'score':<7}  what", "-" * width], None
    for r in report.results:
        lines.append(f"{r.item.id:<5} {r.score:>2g} / {r.max_score:<2}  {clean(r.item.name)}")
        if r.why == previous:
            lines.append(f"{indent}(the same)")
        elif r.why != "all checks passed":
            lines += textwrap.wrap(clean(r.why), width, initial_indent=indent, subsequent_indent=indent)
        previous = r.why if r.why != "all checks passed" else None
    lines.append("-" * width)
    mode = " (--fast: real-data runs skipped)" if report.fast else ""
    lines.append(f"{'total':<5} {report.score:>2g} / {report.max_score:<2}  graded in {report.seconds:.0f} s{mode}")
    lines += [f"note: {clean(n, 500)}" for n in report.notes]
    lines += [f"FLAG for staff review: {clean(f, 1000)}" for f in report.flags]
    if report.incomplete:
        limits = " ".join(f"--{k} {v:g}" for k, v in report.regrade.items())
        items = ", ".join(r.item.id for r in report.incomplete)
        lines.append(f"INCOMPLETE: {items} not graded: the grading machine ran out of time while the code was still "
                     f"making progress. Regrade this submission with {limits}.")
    return "\n".join(lines)


def results_json(report: GradeReport, hidden_visibility: str = "after_published") -> dict:
    """Gradescope's results format: one test per rubric item, ``number`` = the item id.

    Public items (``rubric.Item.public``: what running the scripts shows students anyway) are
    ``visible``; the others get ``hidden_visibility``. Flags for staff go to ``extra_data``,
    which students do not see.
    """
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {VISIBILITIES}, got {hidden_visibility!r}")
    summary = [f"Autograder score: {report.score:g} / {report.max_score}."]
    if report.fast:
        summary.append(f"Fast mode: the runs of your scripts on the real data ({', '.join(SCRIPT_ITEMS)}) were "
                       "skipped and score 0 here; the judgements only checked that the answer is one of the "
                       "three words.")
    summary += [f"Note: {clean(n, 500)}." for n in report.notes]
    if report.incomplete:
        summary.append(f"Not final: {', '.join(r.item.id for r in report.incomplete)} could not be graded because the "
                       "grading machine ran out of time, not because of your code. Course staff will regrade them.")
    return {
        "score": report.score,
        "execution_time": round(report.seconds, 1),
        "output": " ".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"flags": [clean(f, 500) for f in report.flags], "measurements": report.measurements,
                       "incomplete": {"items": [r.item.id for r in report.incomplete], "regrade": report.regrade}},
        "tests": [
            {
                "number": r.item.id,
                "name": f"{r.item.id} {r.item.name}",
                "score": r.score,
                "max_score": r.max_score,
                "status": "passed" if r.score == r.max_score else "failed",
                "output": clean(r.output, MAX_TEST_OUTPUT),
                "visibility": "visible" if r.item.public else hidden_visibility,
            }
            for r in report.results
        ],
    }


def write_results(report: GradeReport, path, hidden_visibility: str = "after_published") -> Path:
    """Write ``results.json`` atomically: a half-written file never reaches Gradescope."""
    path = Path(path)
    data = json.dumps(results_json(report, hidden_visibility), indent=2, ensure_ascii=False, allow_nan=False)
    write_atomic(path, data + "\n")
    return path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``path`` readable by its owner only (0600: mkstemp's mode), through a new file renamed over
    the old one: a reader never sees half a file, and neither an earlier file's mode nor a temporary
    file remains, whatever happens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
