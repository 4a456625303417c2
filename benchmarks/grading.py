"""The numbers behind the grader's time limits and the CNN's threshold band; writes its section of
BENCHMARKS.md (between its marks).

    python -m benchmarks.grading                 # all three parts: about 40 minutes on 2 cores
    python -m benchmarks.grading --skip-configs  # the grade's times only (the last configurations kept): 13 minutes

1. **The grader's time.** The solution files graded in full: how long each group takes (the unit
   groups, the three scripts), against ``--item-timeout``, ``--timeout`` and ``--budget``; then
   again beside one CPU-bound process per core (``--busy``), as on a shared machine.
2. **The CNN's threshold.** ``python pytorch_cnn.py`` (the skeleton's provided recipe: 60
   full-batch Adam steps) beside the students' utils.py, under 1 and 2 threads and two of ATen's
   CPU kernels (this CPU's best, and ``default``, the plain C++ ones), and the corpus's complete
   submission: where its test accuracy on the 200 images lands against 0.85 and its noise band.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course.facts import NOISE, PASS_MARKS, THRESHOLDS  # noqa: E402
from grader.runner import DEFAULT_BUDGET, DEFAULT_ITEM_TIMEOUT, DEFAULT_TIMEOUT  # noqa: E402

BEGIN, END = "<!-- benchmarks.grading: begin -->", "<!-- benchmarks.grading: end -->"
CONFIGS = [(2, None), (1, None), (2, "default"), (1, "default")]  # (threads, ATEN_CPU_CAPABILITY)
CONFIGS_TITLE = "**The CNN's threshold.**"
GRADESCOPE_BUDGET = 540  # grader/gradescope/build_zip.sh's default


def log(message):
    print(message, file=sys.stderr, flush=True)


def grade_times(busy: int = 0) -> dict:
    """Each group's seconds in a full grade of the solution files (from the grade's own progress),
    with ``busy`` CPU-bound processes running beside it."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        return _grade_times()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def _grade_times() -> dict:
    from grader.runner import grade

    with tempfile.TemporaryDirectory() as folder:
        for name in ("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py"):
            shutil.copy(ROOT / name, folder)
        seconds, started = {}, time.monotonic()

        def progress(text):
            done = re.match(r"(.+): done in (\d+) s$", text)
            if done:
                seconds[done[1]] = float(done[2])
        report = grade(folder, progress=progress)
    return {"groups": seconds, "total": time.monotonic() - started, "score": report.score,
            "accuracy": {item: m["accuracy"] for item, m in report.measurements.items()}}


def cnn_run(folder: Path, threads: int, capability: str | None) -> tuple[float, float]:
    """(test accuracy, seconds) of ``python pytorch_cnn.py`` in ``folder``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), TERM="dumb", MPLBACKEND="Agg")
    env.pop("ATEN_CPU_CAPABILITY", None)
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability
    started = time.monotonic()
    done = subprocess.run([sys.executable, "pytorch_cnn.py"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=3600)
    found = re.search(r"Test accuracy: (\d\.\d+)", done.stdout)
    if not found:
        raise RuntimeError(f"no test accuracy in pytorch_cnn.py's output:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return float(found[1]), time.monotonic() - started


def cnn_configs() -> list[tuple]:
    """(files, threads, capability, accuracy, seconds) for each configuration."""
    sys.path.insert(0, str(ROOT / "tests" / "submissions"))
    from materialize import materialize

    rows = []
    with tempfile.TemporaryDirectory() as base:
        folders = {"the solution": Path(base) / "solution", "tests/submissions/complete": Path(base) / "complete"}
        folders["the solution"].mkdir()
        shutil.copy(ROOT / "pytorch_cnn.py", folders["the solution"])
        materialize("complete", folders["tests/submissions/complete"])
        for folder in folders.values():
            shutil.copy(ROOT / "utils.py", folder)
            (folder / "data" / "FashionMNIST").mkdir(parents=True)
            (folder / "data" / "FashionMNIST" / "raw").symlink_to(ROOT / "data" / "FashionMNIST" / "raw")
        runs = [("the solution", t, c) for t, c in CONFIGS] + [("tests/submissions/complete", 2, None)]
        for files, threads, capability in runs:
            accuracy, seconds = cnn_run(folders[files], threads, capability)
            log(f"{files}, {threads} threads, {capability or 'best'}: {accuracy:.3f} in {seconds:.0f} s")
            rows.append((files, threads, capability, accuracy, seconds))
    return rows


def machine() -> str:
    import numpy
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    isa = "AVX-512" if "avx512" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (f"{cpu} ({isa}), {os.cpu_count()} cores; Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"torch {torch.__version__}, ATen's best CPU kernels here: {torch.backends.cpu.get_cpu_capability()}")


def section(times, busy, configs, seconds) -> str:
    L = [BEGIN, "## The grader's limits and the CNN's threshold", "",
         f"Measured by `python -m benchmarks.grading` on {time.strftime('%Y-%m-%d')}, on {machine()}. "
         f"Total run time {seconds / 60:.1f} min.", ""]
    if times:
        groups = times["groups"]
        unit = {k: v for k, v in groups.items() if "unit items" in k}
        runs = {k: v for k, v in groups.items() if k.startswith("python ")}
        L += ["**The grader's time.** The solution files graded in full (`grader.runner.grade`, its own sandbox): "
              f"{times['score']:g} / 42 in {times['total']:.0f} s.", "",
              "| group | seconds | its limit | margin |", "| --- | ---: | ---: | ---: |"]
        L += [f"| {name} | {s:.0f} | {DEFAULT_ITEM_TIMEOUT:g} per item | ≥ {DEFAULT_ITEM_TIMEOUT / max(s, 1):.0f}x |"
              for name, s in unit.items()]
        L += [f"| {name} | {s:.0f} | {DEFAULT_TIMEOUT:g} (`--timeout`) | {DEFAULT_TIMEOUT / max(s, 1):.1f}x |"
              for name, s in runs.items()]
        L += [f"| the whole grade | {times['total']:.0f} | {DEFAULT_BUDGET:g} (`--budget`) | "
              f"{DEFAULT_BUDGET / times['total']:.1f}x |",
              f"| the whole grade, on Gradescope | {times['total']:.0f} | {GRADESCOPE_BUDGET} (`build_zip.sh` "
              f"default, under Gradescope's default 10 minutes) | {GRADESCOPE_BUDGET / times['total']:.1f}x |", ""]
    if busy:
        groups, n = busy["groups"], busy["busy"]
        each = ", one per core" if n == os.cpu_count() else ""
        L += [f"**The same grade on a busy machine**, beside {n} CPU-bound process{'es' * (n != 1)} "
              f"(`python -c \"while True: pass\"`{each}): {busy['score']:g} / 42 in {busy['total']:.0f} s "
              f"({busy['total'] / times['total']:.1f}x the idle grade, {DEFAULT_BUDGET / busy['total']:.1f}x under "
              "`--budget`). Each script's run: "
              + "; ".join(f"{name.removeprefix('python ')} {s:.0f} s" for name, s in groups.items()
                          if name.startswith("python ")) + ".", ""]
    if configs:
        t = THRESHOLDS["pytorch_cnn"]
        L += [f"{CONFIGS_TITLE} Measured on {time.strftime('%Y-%m-%d')}. `python pytorch_cnn.py` beside the "
              "students' utils.py: the skeleton's recipe, which students do not write. Its test accuracy on the 200 "
              "handout images against the threshold "
              f"{t} and the pass mark one standard error below it, {PASS_MARKS['pytorch_cnn']:.4f} "
              f"(`sqrt(0.85 x 0.15 / 200)` = {NOISE['pytorch_cnn']:.4f}).", "",
              "| files | threads | ATen kernels | test accuracy | ≥ 0.85 | within the band | seconds |",
              "| --- | ---: | --- | ---: | --- | --- | ---: |"]
        for files, threads, capability, accuracy, s in configs:
            L.append(f"| {files} | {threads} | {capability or 'best (default)'} | {accuracy:.3f} | "
                     f"{'yes' if accuracy >= t else 'no'} | {'yes' if accuracy >= PASS_MARKS['pytorch_cnn'] else 'NO'} "
                     f"| {s:.0f} |")
        L.append("")
    return "\n".join(L + [END])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-configs", action="store_true", help="leave out the CNN's runs under configurations")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="CPU-bound processes beside the second grade (default: one per core; 0: no busy grade)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    times = grade_times()
    log(f"grade: {times}")
    busy = dict(grade_times(args.busy), busy=args.busy) if args.busy > 0 else None
    log(f"busy grade: {busy}")
    configs = None if args.skip_configs else cnn_configs()
    text = section(times, busy, configs, time.monotonic() - started)
    out = Path(args.out)
    old = out.read_text() if out.exists() else ""
    if configs is None and CONFIGS_TITLE in old:  # keep the last measured configurations, with their own date
        kept = old[old.index(CONFIGS_TITLE):old.index(END)].rstrip()
        text = text.replace(END, f"{kept}\n\n{END}")
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip() + "\n\n" + text + "\n"
    out.write_text(new)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
