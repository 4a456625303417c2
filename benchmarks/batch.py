"""Measure batch grading against its targets, side by side; write its section of BENCHMARKS.md.

    python -m benchmarks.batch                  # all three (about 10 min on a 2-core CPU)
    python -m benchmarks.batch --count 60       # a smaller export
    python -m benchmarks.batch --skip-full      # leave out the full grade (about 3 min)

Targets:
1. ``python -m grader.batch EXPORT --fast --jobs 2`` over a synthetic export of 300
   submissions in under 5 minutes;
2. the grader's own overhead per full-grade submission, under 10 s: the grade's time minus
   the time the student's three scripts ran (``python <file>.py`` inside the sandbox, as the
   probe timed it);
3. ``--jobs 2`` at least 1.7x faster than ``--jobs 1`` over the same export.

The export cycles through the submissions of tests/submissions/expected.toml (each hands in
all three files), with invented people (tests/synthetic_export.py). The batch runs are the
command line, timed from outside, sandbox start-up included.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
OUT = ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- benchmarks.batch: begin -->", "<!-- benchmarks.batch: end -->"
FAST_LIMIT, OVERHEAD_LIMIT, SPEEDUP_TARGET = 300.0, 10.0, 1.7


def log(message: str):
    print(message, file=sys.stderr, flush=True)


def synthetic_export(dest: Path, count: int) -> Path:
    """``count`` submissions, cycling through the corpus."""
    from synthetic_export import Entry, build_export, corpus, corpus_names

    names = corpus_names()
    return build_export(dest, [Entry(corpus(names[i % len(names)]), recorded={}) for i in range(count)])


def batch_run(export: Path, out: Path, jobs: int) -> dict:
    """``python -m grader.batch EXPORT --out OUT --fast --jobs N``, timed from outside."""
    log(f"python -m grader.batch ... --fast --jobs {jobs}")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader.batch", str(export), "--out", str(out), "--fast",
                           "--jobs", str(jobs)], cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"the batch failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with (out / "grades.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    per_submission = sorted(float(r["seconds"]) for r in rows)
    log(f"  {seconds:.1f} s for {len(rows)} submissions")
    return {"seconds": seconds, "count": len(rows), "statuses": Counter(r["status"] for r in rows),
            "median": per_submission[len(per_submission) // 2], "totals": Counter(r["total"] for r in rows)}


def full_grade(export: Path) -> dict:
    """One full grade of the complete submission through a started sandbox (as in a batch)."""
    from grader.export import open_export
    from grader.runner import DEFAULT_DATA, grade
    from grader.sandbox import Sandbox

    log("full grade of one submission (the scripts train on the real data)")
    with open_export(export) as opened, Sandbox(readable=[DEFAULT_DATA]) as box, \
            opened.checkout(opened.submissions[0]) as (folder, _):
        report = grade(folder, sandbox=box, budget=1200)
    scripts = {group: float(run.report.get("seconds") or 0.0) for group, run in report.runs.items()}
    log(f"  {report.seconds:.1f} s, scripts {sum(scripts.values()):.1f} s, score {report.score:g}")
    return {"seconds": report.seconds, "scripts": scripts, "score": report.score}


def machine() -> str:
    import numpy
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"torch {torch.__version__}. CPU only")


def verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def markdown(count, fast2, fast1, full, seconds) -> str:
    intro = (f"Measured by `python -m benchmarks.batch --count {count}` on {time.strftime('%Y-%m-%d')}, on "
             f"{machine()}. Total run time {seconds / 60:.1f} min. The export: {count} synthetic submissions "
             "cycling through tests/submissions/ (each hands in all three files). Batch times are the command "
             "line's wall-clock time, timed from outside, the sandbox's start-up included.")
    lines = ["## Batch grading (`python -m grader.batch`)", "", intro, "",
             "| target | measured | result |", "| --- | --- | --- |"]
    lines.append(f"| `--fast --jobs 2`, {count} submissions: under {FAST_LIMIT / 60:.0f} min | "
                 f"{fast2['seconds']:.1f} s ({fast2['seconds'] / fast2['count']:.2f} s per submission) | "
                 f"{verdict(fast2['seconds'] < FAST_LIMIT * count / 300)} |")
    if fast1:
        ratio = fast1["seconds"] / fast2["seconds"]
        lines.append(f"| `--jobs 2` against `--jobs 1`: at least {SPEEDUP_TARGET}x | {fast1['seconds']:.1f} s / "
                     f"{fast2['seconds']:.1f} s = {ratio:.2f}x | {verdict(ratio >= SPEEDUP_TARGET)} |")
    if full:
        overhead = full["seconds"] - sum(full["scripts"].values())
        scripts = ", ".join(f"{g} {s:.1f} s" for g, s in full["scripts"].items())
        lines.append(f"| grader overhead per full-grade submission: under {OVERHEAD_LIMIT:.0f} s | "
                     f"{overhead:.1f} s ({full['seconds']:.1f} s grade - scripts: {scripts}) | "
                     f"{verdict(overhead < OVERHEAD_LIMIT)} |")
    lines += ["", "Details:", ""]
    for label, run in (("--jobs 2", fast2), ("--jobs 1", fast1)):
        if run:
            lines.append(f"- `--fast {label}`: statuses {dict(run['statuses'])}; median {run['median']:.2f} s per "
                         f"submission inside the batch; totals {dict(sorted(run['totals'].items()))}.")
    if full:
        lines.append(f"- Full grade of tests/submissions/complete through a started sandbox (as in a batch, "
                     f"`grade(..., sandbox=...)`): score {full['score']:g} / 42. The overhead is everything but the "
                     "scripts' own run time: the sandboxed children's set-up (imports, loading the data), the unit "
                     "groups, predicting the test images with the trained models, the judgement and the scoring.")
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str):
    """Put ``text`` between BEGIN and END in ``path`` (appended the first time): benchmarks.run
    keeps everything below its own mark, so the two scripts never overwrite each other."""
    current = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if BEGIN in current and END in current:
        current = current[:current.index(BEGIN)] + block + current[current.index(END) + len(END):]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(current)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="submissions in the export (default: %(default)s)")
    parser.add_argument("--skip-jobs1", action="store_true", help="leave out the --jobs 1 run (the speed-up)")
    parser.add_argument("--skip-full", action="store_true", help="leave out the full grade (the overhead)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        tmp = Path(tmp)
        export = synthetic_export(tmp / "export", args.count)
        fast2 = batch_run(export, tmp / "jobs2", 2)
        fast1 = None if args.skip_jobs1 else batch_run(export, tmp / "jobs1", 1)
        full = None if args.skip_full else full_grade(export)
    write_section(OUT, markdown(args.count, fast2, fast1, full, time.monotonic() - started))
    log(f"wrote its section of {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
