"""Tests for utils.py, the students' copy: the loader and its error paths, the printing and the
two checks, numpy-1 printing for the skeleton's doctests."""
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import ROOT

import utils

RAW = Path(utils.__file__).resolve().parent / "data" / "FashionMNIST" / "raw"
NAMES = list(utils._FILES)


@pytest.fixture(scope="module")
def data():
    return utils.load_mnist_f()


@pytest.fixture
def good_dir(tmp_path):
    """A private copy of the four shipped .gz files, safe to damage."""
    d = tmp_path / "good"
    d.mkdir()
    for name in NAMES:
        shutil.copy(RAW / f"{name}.gz", d)
    return d


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No implicit place holds data: next-to-utils, cwd and the Debian path are empty."""
    here, cwd = tmp_path / "here", tmp_path / "cwd"
    here.mkdir(), cwd.mkdir()
    monkeypatch.setattr(utils, "HERE", here)
    monkeypatch.setattr(utils, "SYSTEM_DIR", tmp_path / "no-such-system-dir")
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    return tmp_path


def write_plain(directory, name, raw):
    """Replace ``name`` in ``directory`` by an uncompressed file holding ``raw``."""
    (directory / f"{name}.gz").unlink(missing_ok=True)
    (directory / name).write_bytes(raw)


def raw_bytes(name):
    return gzip.decompress((RAW / f"{name}.gz").read_bytes())


# --------------------------------------------------------------------------- good data
def test_numpy_shapes_dtypes_and_checksums(data):
    X_train, y_train, X_test, y_test = data
    assert (X_train.shape, X_train.dtype) == ((60000, 28, 28), np.uint8)
    assert (y_train.shape, y_train.dtype) == ((60000,), np.int64)
    assert (X_test.shape, X_test.dtype) == ((10000, 28, 28), np.uint8)
    assert (y_test.shape, y_test.dtype) == ((10000,), np.int64)
    assert X_train.flags.writeable and y_train.min() == 0 and y_train.max() == 9
    # Each class appears exactly 6,000 / 1,000 times in Fashion-MNIST.
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    # The arrays are the bytes the published SHA-256 values describe.
    for arr, name in ((X_train, "train-images-idx3-ubyte"), (y_test, "t10k-labels-idx1-ubyte")):
        magic, shape, sha = utils._FILES[name]
        header = np.array([magic, *shape], dtype=">u4").tobytes()
        assert hashlib.sha256(header + arr.astype(np.uint8).tobytes()).hexdigest() == sha


def test_tensor_mode_matches_numpy(data):
    tensors = utils.load_mnist_f(return_tensor=True)
    expected = [((60000, 28, 28), torch.uint8), ((60000,), torch.int64),
                ((10000, 28, 28), torch.uint8), ((10000,), torch.int64)]
    for t, a, (shape, dtype) in zip(tensors, data, expected):
        assert isinstance(t, torch.Tensor) and tuple(t.shape) == shape and t.dtype == dtype
        assert np.array_equal(t.numpy(), a)


def test_reload_uses_cache_but_sees_changed_files(good_dir, data):
    utils.load_mnist_f(data_dir=good_dir)
    path = good_dir / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(raw_bytes("t10k-labels-idx1-ubyte"))
    raw[20] ^= 1
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(utils.FashionMNISTError, match="SHA-256"):
        utils.load_mnist_f(data_dir=good_dir)


def test_plain_idx_files_load_like_gz(good_dir, data):
    write_plain(good_dir, "t10k-labels-idx1-ubyte", raw_bytes("t10k-labels-idx1-ubyte"))
    assert np.array_equal(utils.load_mnist_f(data_dir=good_dir)[3], data[3])


# --------------------------------------------------------------------------- bad data
def load_error(directory):
    with pytest.raises(utils.FashionMNISTError) as info:
        utils.load_mnist_f(data_dir=directory)
    return str(info.value)


def test_flipped_byte_is_caught_by_checksum(good_dir):
    raw = bytearray(raw_bytes("train-images-idx3-ubyte"))
    raw[5000] ^= 0xFF
    write_plain(good_dir, "train-images-idx3-ubyte", bytes(raw))
    msg = load_error(good_dir)
    assert "train-images-idx3-ubyte" in msg and "SHA-256" in msg
    assert "c59f468a" in msg and "found" in msg and "dataset-fashion-mnist" in msg


def test_truncated_file(good_dir):
    raw = raw_bytes("train-labels-idx1-ubyte")[:-100]
    write_plain(good_dir, "train-labels-idx1-ubyte", raw)
    msg = load_error(good_dir)
    assert "train-labels-idx1-ubyte" in msg and "expected 60008 bytes, found 59908" in msg


def test_truncated_gzip(good_dir):
    path = good_dir / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    msg = load_error(good_dir)
    assert "t10k-labels-idx1-ubyte.gz" in msg and "decompressed" in msg


def test_wrong_magic_number(good_dir):
    raw = bytearray(raw_bytes("t10k-labels-idx1-ubyte"))
    raw[0:4] = (2051).to_bytes(4, "big")
    write_plain(good_dir, "t10k-labels-idx1-ubyte", bytes(raw))
    msg = load_error(good_dir)
    assert "t10k-labels-idx1-ubyte" in msg and "expected magic number 2049, found 2051" in msg


def test_wrong_dimensions(good_dir):
    raw = bytearray(raw_bytes("t10k-labels-idx1-ubyte"))
    raw[4:8] = (9999).to_bytes(4, "big")
    write_plain(good_dir, "t10k-labels-idx1-ubyte", bytes(raw))
    assert "expected dimensions (10000,), found (9999,)" in load_error(good_dir)


def test_label_out_of_range(good_dir):
    raw = bytearray(raw_bytes("t10k-labels-idx1-ubyte"))
    raw[8 + 123] = 10
    write_plain(good_dir, "t10k-labels-idx1-ubyte", bytes(raw))
    msg = load_error(good_dir)
    assert "expected labels 0-9, found 10 at index 123" in msg


def test_missing_file(good_dir):
    (good_dir / "t10k-images-idx3-ubyte.gz").unlink()
    msg = load_error(good_dir)
    assert "incomplete" in msg and "missing t10k-images-idx3-ubyte" in msg


def test_empty_directory(tmp_path):
    msg = load_error(tmp_path)
    assert str(tmp_path) in msg and "holds none of the Fashion-MNIST files" in msg


def test_data_dir_that_is_not_a_directory(tmp_path):
    assert "not a directory" in load_error(tmp_path / "nope")


def test_bad_env_var_is_an_error_not_a_fallback(monkeypatch, tmp_path):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "missing"))
    with pytest.raises(utils.FashionMNISTError, match="FASHION_MNIST_DIR environment variable"):
        utils.load_mnist_f()


def test_corrupt_implicit_place_is_an_error_not_skipped(isolated, good_dir):
    target = isolated / "here" / "data" / "FashionMNIST" / "raw"
    shutil.copytree(good_dir, target)
    (target / "train-labels-idx1-ubyte.gz").write_bytes(b"junk")
    with pytest.raises(utils.FashionMNISTError, match="train-labels-idx1-ubyte"):
        utils.load_mnist_f()


# --------------------------------------------------------------------------- search order
@pytest.fixture
def record_reads(monkeypatch):
    """Record which directory the loader reads instead of reading it."""
    seen = []

    def fake_read_dir(directory):
        seen.append(Path(directory))
        tiny = np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8)
        return tiny + tiny

    monkeypatch.setattr(utils, "_read_dir", fake_read_dir)
    return seen


def make_place(path):
    path.mkdir(parents=True)
    for name in NAMES:
        (path / f"{name}.gz").write_bytes(b"")  # present; the recorder never reads them
    return path


def test_search_order(isolated, record_reads, monkeypatch, capsys):
    arg = make_place(isolated / "arg")
    env = make_place(isolated / "env")
    here = make_place(isolated / "here" / "data" / "FashionMNIST" / "raw")
    cwd = make_place(isolated / "cwd" / "data" / "FashionMNIST" / "raw")
    system = make_place(isolated / "system")
    monkeypatch.setattr(utils, "SYSTEM_DIR", system)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(env))

    utils.load_mnist_f(data_dir=arg)
    utils.load_mnist_f()
    monkeypatch.delenv("FASHION_MNIST_DIR")
    utils.load_mnist_f()
    assert capsys.readouterr().out == ""  # the first place that works says nothing
    shutil.rmtree(here)
    utils.load_mnist_f()
    shutil.rmtree(cwd)
    utils.load_mnist_f()
    assert record_reads == [arg, env, here, cwd, system]
    assert f"using {system}" in capsys.readouterr().out


class FakeFashionMNIST:
    """Stands in for torchvision.datasets.FashionMNIST: 'downloads' the shipped files."""
    calls = []

    def __init__(self, root, train=True, download=False):
        FakeFashionMNIST.calls.append((root, train, download))
        raw = Path(root) / "FashionMNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for name in NAMES:
            shutil.copy(RAW / f"{name}.gz", raw)


def test_download_path_with_network_replaced(isolated, monkeypatch, data):
    import torchvision.datasets

    FakeFashionMNIST.calls = []
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", FakeFashionMNIST)
    X_train, y_train, X_test, y_test = utils.load_mnist_f()
    root = isolated / "here" / "data"
    assert FakeFashionMNIST.calls == [(str(root), True, True), (str(root), False, True)]
    assert (root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").is_file()
    assert np.array_equal(y_test, data[3]) and np.array_equal(X_test, data[2])


def test_nothing_found_lists_every_place(isolated, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    with pytest.raises(utils.FashionMNISTError) as info:
        utils.load_mnist_f()
    msg = str(info.value)
    for place in ("data_dir argument", "FASHION_MNIST_DIR",
                  str(isolated / "here" / "data" / "FashionMNIST" / "raw"),
                  str(isolated / "cwd" / "data" / "FashionMNIST" / "raw"),
                  str(isolated / "no-such-system-dir"), "network is unreachable"):
        assert place in msg


# --------------------------------------------------------------------------- printing
@pytest.mark.parametrize("fn, code", [(utils.print_red, "91"), (utils.print_green, "92"),
                                      (utils.print_yellow, "93"), (utils.print_blue, "94")])
def test_print_helpers(capsys, fn, code):
    fn("hello")
    assert capsys.readouterr().out == f"\033[{code}mhello\033[0m\n"


@pytest.mark.parametrize("actual, expected, ge, le", [
    (0.8, 0.8, True, True), (0.81, 0.8, True, False), (0.79, 0.8, False, True)])
def test_assert_helpers(capsys, actual, expected, ge, le):
    assert utils.assert_greater_equal(actual, expected, "msg") is ge
    assert capsys.readouterr().out.startswith("\033[92m" if ge else "\033[91m")
    assert utils.assert_less_equal(actual, expected, "msg") is le
    assert capsys.readouterr().out.startswith("\033[92m" if le else "\033[91m")


# --------------------------------------------------------------------------- numpy printing
SKELETON_STYLE = '''
import numpy as np


def cross_entropy():
    """
    >>> cross_entropy()
    0.69314...
    >>> accuracy()
    1.0
    """
    return -np.sum(np.array([[1, 0], [0, 1]]) * np.log(np.array([[.5, .5], [.5, .5]]))) / 2


def accuracy():
    return np.mean(np.array([1, 1]) == np.array([1, 1]))


if __name__ == "__main__":
    import doctest
    {import_utils}
    print("failed", doctest.testmod(optionflags=doctest.ELLIPSIS).failed)
'''


@pytest.mark.parametrize("import_utils, failed", [("import utils", 0), ("pass", 2)])
def test_skeleton_doctests_written_for_numpy_1_pass_beside_utils(tmp_path, import_utils, failed):
    """The course's doctests expect numpy-1 scalar printing; importing utils (as the skeleton's
    __main__ does before doctest.testmod) gives it under numpy >= 2. Without it they fail."""
    import subprocess
    import sys

    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("numpy < 2 prints scalars the old way anyway")
    (tmp_path / "student.py").write_text(SKELETON_STYLE.replace("{import_utils}", import_utils))
    shutil.copy(utils.__file__, tmp_path / "utils.py")
    done = subprocess.run([sys.executable, "student.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == f"failed {failed}", done.stdout + done.stderr


def test_the_solutions_doctests_do_not_depend_on_the_legacy_printing():
    """The solution's doctests pass under numpy's default printing too (its scalars are floats)."""
    import subprocess
    import sys

    code = ("import doctest, numpy as np, numpy_ann\n"
            "np.set_printoptions(legacy=False)\n"
            "r = doctest.testmod(numpy_ann, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)\n"
            "print(r.failed, r.attempted)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    failed, attempted = map(int, done.stdout.split())
    assert failed == 0 and attempted > 5, done.stdout + done.stderr
