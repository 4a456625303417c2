import os

# numpy's BLAS on one thread in the test process too, as numpy_ann.py and docs/analysis.py run
# (numpy reads this when it loads, so before anything imports it): these matrices are small, and
# two BLAS threads contending with a torch run in the background made one numpy run 8x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import shutil
import sys
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from helpers import ROOT


@pytest.fixture
def one_thread():
    """Tiny tensors: thread hand-offs cost more than they save, badly so on a busy
    machine (measured here: 26 s -> 0.8 s for one test). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def sandbox():
    """One grader sandbox (its zygote imports torch once) shared by the grader tests."""
    from grader.sandbox import Sandbox

    with Sandbox() as box:
        yield box


@pytest.fixture(scope="session")
def reference_runs(tmp_path_factory):
    """The reference's three scripts, ``python <file>.py`` on the real data (the handout
    protocol), once per session, two at a time; module -> (exit status, printed text). They
    run in a folder of their own, where they save their plots."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    directory = tmp_path_factory.mktemp("reference_runs")

    def run(module):
        done = subprocess.run([sys.executable, str(ROOT / f"{module}.py")], cwd=directory, capture_output=True,
                              text=True, timeout=900, env={**os.environ, "MPLBACKEND": "Agg"})
        return module, (done.returncode, done.stdout + done.stderr)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, ("pytorch_cnn", "numpy_ann", "pytorch_ann")))


# --------------------------------------------------------------------------- started at once
class Background:
    """A job started in a daemon thread, in a folder of its own; ``result()`` waits for it."""

    def __init__(self, job):
        self.directory = Path(tempfile.mkdtemp(prefix="pytest-background-"))
        self.future: Future = Future()
        threading.Thread(target=self._run, args=(job,), daemon=True, name="pytest-background").start()

    def _run(self, job):
        try:
            self.future.set_result(job(self.directory))
        except BaseException as exc:  # noqa: BLE001 - the test that waits for it reports it
            self.future.set_exception(exc)

    def result(self):
        return self.future.result()


STARTED: dict[str, Background] = {}


def pytest_collection_finish(session):
    """Start the complete submission's full grade as soon as the tests are chosen, when one of
    them needs it (``complete_full``). The skeleton's 60-epoch CNN keeps two cores busy for about
    2.5 minutes, while the tests run first (the grader's, the attacks on it) keep about one busy
    (imports, child processes, waits): run alongside them, in a thread with a sandbox of its own,
    it fills that idle core instead of adding its whole time to the suite's. Thread counts, and so
    its numbers, are the same as run alone."""
    if session.config.option.collectonly:
        return
    if any("complete_full" in getattr(item, "fixturenames", ()) for item in session.items):
        sys.path.insert(0, str(ROOT / "tests" / "submissions"))
        from materialize import materialize

        from grader.runner import grade
        from grader.sandbox import Sandbox

        def complete_full(directory):
            files = {p.name for p in materialize("complete", directory / "complete").iterdir()}
            with Sandbox() as box:
                return files, grade(directory / "complete", budget=1200, sandbox=box)

        STARTED["complete_full"] = Background(complete_full)


def pytest_sessionfinish(session):
    for job in STARTED.values():  # one still running ends with this process (its zygote with it)
        shutil.rmtree(job.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def complete_full():
    """(submitted file names, the GradeReport) of the complete submission's full grade (budget
    20 minutes), started when collection ended."""
    return STARTED["complete_full"].result()
