"""The two outputs of a grade: a table for the terminal and Gradescope's ``results.json``."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .runner import GradeReport


def table(report: GradeReport, width: int = 100) -> str:
    """item | score | max | why, one row per rubric item, then the total."""
    why_width = max(20, width - 22)
    lines = [f"{'item':<5} {'score':>6} {'max':>4}  why", "-" * width]
    for r in report.results:
        why = r.why if len(r.why) <= why_width else r.why[:why_width - 3] + "..."
        lines.append(f"{r.item.id:<5} {r.score:>6g} {r.max_score:>4}  {why}")
    lines.append("-" * width)
    mode = " (--fast: real-data runs skipped)" if report.fast else ""
    lines.append(f"{'total':<5} {report.score:>6g} {report.max_score:>4}  graded in {report.seconds:.0f} s{mode}")
    return "\n".join(lines)


def results_json(report: GradeReport) -> dict:
    """Gradescope's results format: one test per rubric item, ``number`` = the item id."""
    summary = [f"Autograder score: {report.score:g} / {report.max_score}."]
    if report.fast:
        summary.append("Fast mode: the real-data runs (1.10, 2.6, 3.2) were skipped and score 0 here; "
                       "2.7 and 3.3 only checked that the answer is one of the three words.")
    summary += [f"Note: {n}." for n in report.notes]
    return {
        "score": report.score,
        "execution_time": round(report.seconds, 1),
        "output": " ".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "number": r.item.id,
                "name": f"{r.item.id} {r.item.name}",
                "score": r.score,
                "max_score": r.max_score,
                "output": r.output,
                "visibility": "visible",
            }
            for r in report.results
        ],
    }


def write_results(report: GradeReport, path) -> Path:
    """Write ``results.json`` atomically (a half-written file never reaches Gradescope)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(results_json(report), indent=2, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=".results-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data + "\n")
    os.replace(tmp, path)
    return path
