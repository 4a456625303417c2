import os

import pytest


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

    from helpers import ROOT

    directory = tmp_path_factory.mktemp("reference_runs")

    def run(module):
        done = subprocess.run([sys.executable, str(ROOT / f"{module}.py")], cwd=directory, capture_output=True,
                              text=True, timeout=900, env={**os.environ, "MPLBACKEND": "Agg"})
        return module, (done.returncode, done.stdout + done.stderr)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, ("pytorch_cnn", "numpy_ann", "pytorch_ann")))
