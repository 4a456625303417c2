"""What several test modules share: the handout's progress line, a perfect submission, the scripts' runs
in a full grade, and state/mode probes."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The handout's per-epoch line, e.g. "[10 / 250] | Train Loss: 0.12345 | ... | Val Accuracy: 0.88000".
LINE = re.compile(r"^\[(\d+) / (\d+)\] \| Train Loss: \d+\.\d{5} \| Train Accuracy: [01]\.\d{5} "
                  r"\| Val Loss: \d+\.\d{5} \| Val Accuracy: [01]\.\d{5}$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes, stripped before matching printed lines


def filled_handout(directory, files=("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py")):
    """A perfect student's submission: the solution files, which are the handout filled in."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in files:
        (directory / name).write_bytes((ROOT / name).read_bytes())
    return directory


NUMPY_PARAMS = ("W1", "b1", "W2", "b2")


def numpy_toy_data(n=30, d=6, k=3, seed=0):
    """A small separable-ish problem for NumpyANN: the class is the argmax of a fixed projection."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.eye(k)[np.argmax(X @ rng.normal(size=(d, k)), axis=1)]
    return X, Y


def torch_toy_data(n=40, d=6, k=3, seed=0):
    """The same kind of problem for the PyTorch models: ``(X, y, Y)`` with labels and their one-hot rows."""
    import torch

    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X @ torch.randn(d, k, generator=g)).argmax(dim=1)
    return X, y, torch.nn.functional.one_hot(y, k).float()


def numpy_weights(model):
    """A copy of a NumpyANN's four parameters."""
    return {p: getattr(model, p).copy() for p in NUMPY_PARAMS}


def state(model):
    """A copy of ``model.state_dict()``."""
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_state(a, b):
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def modes(model):
    """The set of ``training`` flags over the module and all its submodules."""
    return {m.training for m in model.modules()}


def assert_valid_results(data: dict) -> None:
    """Gradescope's results format: one test per rubric item, scores within bounds and summed."""
    import pytest

    from grader.rubric import ITEMS, VISIBILITIES

    assert set(data) >= {"score", "execution_time", "output", "tests"}
    assert [t["number"] for t in data["tests"]] == [item.id for item in ITEMS]
    for test, item in zip(data["tests"], ITEMS):
        assert set(test) >= {"number", "name", "score", "max_score", "output", "visibility"}
        assert test["max_score"] == item.points
        assert 0 <= test["score"] <= item.points
        assert isinstance(test["output"], str) and test["output"]
        assert test["visibility"] in VISIBILITIES
        test["output"].encode("utf-8")  # no lone surrogate
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    assert data["execution_time"] >= 0


def script_run(full_grade, module):
    """(how it ended, printed text without colour codes) of ``python <module>.py`` as the grader ran
    it in a full grade (``solution_full``, ``complete_full``): "finished", "exit" or "error"."""
    from grader.rubric import RUN_GROUP

    report = full_grade[1].runs[RUN_GROUP[module]].report
    return report["ended"], ANSI.sub("", report["output"])


def typed(argv: list[str], tmp_path=None, timeout=None) -> subprocess.CompletedProcess:
    """A documented command (``["bash", "-c", COMMAND]``) as a TA types it: from the repository
    root, this Python first on PATH, PYTHONPATH unset; ``/tmp/`` in it becomes ``tmp_path``."""
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '/usr/bin:/bin')}",
               MPLBACKEND="Agg", TERM="dumb")
    env.pop("PYTHONPATH", None)
    command = argv[-1].replace("/tmp/", f"{tmp_path}/") if tmp_path is not None else argv[-1]
    return subprocess.run([*argv[:-1], command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
