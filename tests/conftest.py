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
