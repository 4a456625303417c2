import os

# numpy's BLAS on one thread in the test process too, as numpy_ann.py and docs/analysis.py run
# (numpy reads this when it loads, so before anything imports it): these matrices are small, and
# two BLAS threads contending with a torch run in the background made one numpy run 8x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# torch's OpenMP threads sleep rather than spin between parallel regions, in this process and the
# commands the tests start, as the grader's children do: with the full grades' CNN holding one core,
# a spinning thread took the other from the one with work (a 1-epoch CNN run: 20 s -> 15 s here).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import shutil
import sys
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from helpers import ROOT, typed


@pytest.fixture
def one_thread():
    """Tiny tensors: thread hand-offs cost more than they save, badly so on a busy
    machine (measured here: 26 s -> 0.8 s for one test). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SHARED = {}  # "sandbox": the session's Sandbox, started in a thread when collection ends


@pytest.fixture(scope="session")
def sandbox():
    """One grader sandbox (its zygote imports torch once: seconds) shared by the grader tests;
    its start began when collection ended, beside the tests that need none."""
    from grader.sandbox import Sandbox

    with SHARED.get("sandbox") or Sandbox() as box:  # waits for that start, or starts (and reports) it
        yield box


def start_the_shared_sandbox(used):
    from grader.sandbox import Sandbox

    if "sandbox" in used:
        box = SHARED["sandbox"] = Sandbox()

        def start():
            try:
                box.start()
            except Exception:  # noqa: BLE001 - the fixture's own start() raises it where a test sees it
                pass

        threading.Thread(target=start, daemon=True, name="pytest-sandbox-start").start()


# --------------------------------------------------------------------------- started at once
class Background:
    """Jobs run one after another in a daemon thread, each in a folder of its own;
    ``result(name)`` waits for one."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="pytest-background-"))
        self.jobs: dict[str, tuple] = {}

    def add(self, name, job):
        self.jobs[name] = (job, Future())

    def start(self):
        threading.Thread(target=self._run, daemon=True, name="pytest-background").start()

    def _run(self):
        for name, (job, future) in self.jobs.items():
            try:
                future.set_result(job(self.directory / name))
            except BaseException as exc:  # noqa: BLE001 - the test that waits for it reports it
                future.set_exception(exc)

    def result(self, name):
        return self.jobs[name][1].result()


BACKGROUND = Background()


FULL_GRADES = ("solution_full", "complete_full")
COMMANDS = Background()  # the other long command a test waits for, in a thread of its own


def release_check(directory):
    """README's ``python -m release build && python -m release check --fast``, as a TA types it."""
    return typed(["bash", "-c", "python -m release build && python -m release check --fast"], timeout=1200)


def pytest_collection_modifyitems(session, config, items):
    """The tests that read the full grades run last, and those that use the shared sandbox just
    before them, each in their order: the others run first, while the sandbox starts and the
    grades run beside them, instead of the suite waiting for either."""
    def waits_for(item):
        names = set(getattr(item, "fixturenames", ()))
        return bool(set(FULL_GRADES) & names), "sandbox" in names

    items.sort(key=waits_for)


def pytest_collection_finish(session):
    """Start the two full grades as soon as the tests are chosen, when a chosen test needs them:
    the solution's (``solution_full``: the three course files handed in, 42/42) and the corpus's
    complete submission's (``complete_full``, which reuses the solution's CNN run). They run one
    after the other in a thread with a sandbox of their own, on one torch thread, as ``python -m
    grader.batch --jobs 2`` grades on 2 cores: the skeleton's 60-epoch CNN then keeps one core busy
    for about 7 minutes (2 threads: about 4 minutes of both cores, a quarter more CPU time), while
    the other tests, mostly one process at a time, have the other core. BENCHMARKS.md measures the
    CNN under 1 and 2 threads."""
    if session.config.option.collectonly:
        return
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}  # the chosen tests'
    start_the_shared_sandbox(used)
    if "release_check_run" in used:
        COMMANDS.add("release_check", release_check)  # a minute and a half of mostly one core, from the start
        COMMANDS.start()
    wanted = used & set(FULL_GRADES)
    if not wanted:
        return
    sys.path.insert(0, str(ROOT / "tests" / "submissions"))
    from materialize import materialize

    from grader.runner import grade
    from grader.sandbox import Sandbox

    def solution_full(directory):
        directory.mkdir(parents=True)
        for name in ("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py"):
            shutil.copyfile(ROOT / name, directory / name)
        with Sandbox() as box:
            return {p.name for p in directory.iterdir()}, grade(directory, budget=1200, sandbox=box, threads=1)

    def complete_full(directory):
        """Its CNN is the solution's computation (test_submissions.py proves it), so its cnn_run is
        the solution's, judged again with complete's own class: the 60-epoch CNN runs once."""
        files = {p.name for p in materialize("complete", directory).iterdir()}
        reuse = {"cnn_run": BACKGROUND.result("solution_full")[1].runs["cnn_run"]}
        with Sandbox() as box:
            return files, grade(directory, budget=1200, sandbox=box, reuse_runs=reuse, threads=1)

    BACKGROUND.add("solution_full", solution_full)  # complete_full needs it too
    if "complete_full" in wanted:
        BACKGROUND.add("complete_full", complete_full)
    BACKGROUND.start()


def pytest_sessionfinish(session):
    for started in (BACKGROUND, COMMANDS):  # a job still running ends with this process
        shutil.rmtree(started.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def release_check_run():
    """The finished ``subprocess.run`` of README's release build and check, started when
    collection ended."""
    return COMMANDS.result("release_check")


@pytest.fixture(scope="session")
def solution_full():
    """(submitted file names, the GradeReport) of the solution files' full grade (budget 20 minutes,
    one torch thread), started when collection ended."""
    return BACKGROUND.result("solution_full")


@pytest.fixture(scope="session")
def complete_full():
    """(submitted file names, the GradeReport) of the complete submission's full grade (budget
    20 minutes, one torch thread), started when collection ended."""
    return BACKGROUND.result("complete_full")
