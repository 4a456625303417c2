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
def reference_grade(tmp_path_factory, sandbox):
    """A full grade of the reference files, once per session: it runs the three scripts on the
    real data (the handout protocol), so the script tests read their runs from it."""
    from helpers import ROOT

    from grader.runner import grade

    directory = tmp_path_factory.mktemp("reference")
    for name in ("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py"):
        (directory / name).write_bytes((ROOT / name).read_bytes())
    return grade(directory, budget=1200, sandbox=sandbox)
