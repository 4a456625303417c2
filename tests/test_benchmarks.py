"""benchmarks/grading.py's bookkeeping, without its 13 minutes of grading: the busy grade's
CPU-bound neighbours, and the section it writes into BENCHMARKS.md."""
from __future__ import annotations

import os
from pathlib import Path

from benchmarks import grading

TIMES = {"groups": {"numpy_ann.py, the unit items": 0.0, "python numpy_ann.py": 18.0, "python pytorch_ann.py": 7.0,
                    "python pytorch_cnn.py": 251.0}, "total": 288.0, "score": 42.0,
         "accuracy": {"1.10": 0.86, "2.6": 0.82, "3.2": 0.835}}


def burners() -> list[int]:
    """This process's children that burn a CPU (``python -c "while True: pass"``)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            ppid = int(next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("PPid:")))
            cmdline = (status.parent / "cmdline").read_bytes()
        except (OSError, StopIteration):
            continue
        if ppid == os.getpid() and b"while True: pass" in cmdline:
            found.append(int(status.parent.name))
    return found


def test_the_busy_grade_runs_beside_that_many_cpu_bound_processes_and_stops_them(monkeypatch):
    seen = []
    monkeypatch.setattr(grading, "_grade_times", lambda: seen.append(len(burners())) or TIMES)
    assert grading.grade_times(2) == TIMES and grading.grade_times() == TIMES
    assert seen == [2, 0] and burners() == []


def test_skip_configs_keeps_the_last_configurations_and_adds_the_busy_grade(tmp_path, monkeypatch):
    slower = {0: 1.0, 2: 1.6}  # the busy grade: 1.6x the idle one
    monkeypatch.setattr(grading, "grade_times", lambda busy=0: dict(TIMES, total=TIMES["total"] * slower[busy]))
    monkeypatch.setattr(grading, "cnn_configs", lambda: (_ for _ in ()).throw(AssertionError("configs were run")))
    out = tmp_path / "BENCHMARKS.md"
    kept = f"{grading.CONFIGS_TITLE} Measured on 2026-11-30. A table.\n\n| a | b |\n| --- | --- |"
    out.write_text(f"# Benchmarks\n\n{grading.BEGIN}\nold numbers\n\n{kept}\n\n{grading.END}\n\nAfter.\n")
    assert grading.main(["--skip-configs", "--busy", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\n") and text.endswith(f"{grading.END}\n\nAfter.\n")
    assert "old numbers" not in text and text.count(kept) == 1
    assert "42 / 42 in 288 s" in text
    assert "beside 2 CPU-bound processes" in text and "42 / 42 in 461 s (1.6x the idle grade" in text
    assert text.index("beside 2 CPU-bound") < text.index(kept) < text.index(grading.END)
