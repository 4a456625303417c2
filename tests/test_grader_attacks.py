"""Hostile submissions: what each attack on the grader gets now.

Each test is an attack a student could write (issue 12's measurements), and asserts that it
gains nothing. The ones that matter as root with student code under an unprivileged user (as
Gradescope's run_autograder grades) use a throwaway user made for the session
(``grading_user``); where this machine cannot make one (not root, no useradd), they skip and
pytest's summary prints why. Student code never runs as root on a path it controls here:
without a throwaway user those tests do not run.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT, assert_valid_results, filled_handout

from grader.__main__ import main as grader_main
from grader.report import results_json, table, write_results
from grader.runner import grade
from grader.sandbox import GraderError, _process_table


def _filled_numpy():
    from release.build import render

    return render("numpy_ann.py", filled=True)


NUMPY = _filled_numpy()  # a perfect student's numpy_ann.py: the handout filled with the reference's regions


# --------------------------------------------------------------------------- a throwaway user
def _acl(uid, mode):
    """A POSIX access ACL (the kernel's xattr format): the mode's bits, plus execute for ``uid``."""
    undefined = 0xFFFFFFFF
    owner, group, other = (mode >> 6) & 7, (mode >> 3) & 7, mode & 7
    entries = [(0x01, owner, undefined), (0x02, 1, uid), (0x04, group, undefined), (0x10, group | 1, undefined),
               (0x20, other, undefined)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def _grant_traverse(uid, paths):
    """Let ``uid`` (only) pass through the directories above ``paths`` that others cannot enter."""
    granted = []
    for path in paths:
        for directory in [*reversed(Path(path).resolve().parents), Path(path).resolve()]:
            if not directory.is_dir() or any(directory == d for d, _ in granted):
                continue
            mode = directory.stat().st_mode
            if mode & 0o001:
                continue
            try:
                os.getxattr(directory, "system.posix_acl_access")
                raise RuntimeError(f"{directory} already has an ACL")
            except OSError:
                pass
            os.setxattr(directory, "system.posix_acl_access", _acl(uid, mode & 0o777))
            granted.append((directory, mode & 0o7777))
    return granted


@pytest.fixture(scope="session")
def grading_user():
    """A throwaway unprivileged user that can run this Python and read the repository, then gone."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the attacks on --user are run as root with a throwaway user")
    if not shutil.which("useradd"):
        pytest.skip("no useradd on this machine to make a throwaway user")
    name = f"grader-test-{os.getpid()}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                   capture_output=True)
    uid = pwd.getpwnam(name).pw_uid
    granted = []
    try:
        try:
            granted = _grant_traverse(uid, [sys.prefix, sys.base_prefix, ROOT])
        except (OSError, RuntimeError) as exc:
            pytest.skip(f"cannot give the throwaway user access to Python and the repository: {exc}")
        yield name
    finally:
        for directory, mode in reversed(granted):
            os.removexattr(directory, "system.posix_acl_access")
            os.chmod(directory, mode)
        for pid, (_, owner) in _process_table().items():
            if owner == uid:
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture(scope="session")
def user_sandbox(grading_user):
    """One sandbox whose children run as the throwaway user (its zygote and preflight: seconds)."""
    from grader.runner import DEFAULT_DATA
    from grader.sandbox import Sandbox

    with Sandbox(grading_user, readable=[DEFAULT_DATA]) as box:
        yield box


def uid_of(name):
    return pwd.getpwnam(name).pw_uid


def numpy_submission(directory: Path, code: str, source: str = NUMPY) -> Path:
    """The reference numpy_ann.py with ``code`` run at import time (right after numpy)."""
    directory.mkdir(parents=True, exist_ok=True)
    code = textwrap.dedent(code)
    source = source.replace("\nimport numpy as np\n", "\nimport numpy as np\n" + code, 1)
    (directory / "numpy_ann.py").write_text(source)
    return directory


def results_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- 1. links to root-only files
@pytest.mark.slow  # runs the numpy script as a throwaway user
def test_symlinked_log_and_observations_leak_nothing(tmp_path, user_sandbox):
    """Issue 12.1: a link named like the old log/observations files, to a root-only file, then os._exit."""
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir(mode=0o700)
    secret = secret_dir / "shadow"
    secret.write_text("TOP-SECRET-ROOT-ONLY-TEXT\n")
    secret.chmod(0o600)
    sub = numpy_submission(tmp_path / "sub", f"""
        import os
        for name in ("output.log", "observations.json", "results.json", "pytorch_ann_train_val_metrics.png"):
            try:
                os.remove(name)
            except OSError:
                pass
            os.symlink({str(secret)!r}, name)
        try:
            os.write(1, open({str(secret)!r}).read().encode())
        except OSError as exc:
            os.write(1, ("could not read it: " + type(exc).__name__).encode())
        os._exit(3)
        """)
    report = grade(sub, timeout=60, sandbox=user_sandbox)
    results = results_text(write_results(report, tmp_path / "results.json"))
    text = results + table(report)
    assert "TOP-SECRET" not in text
    assert_valid_results(json.loads(results))
    assert "exit code 3" in text and "PermissionError" in text  # the student's own read was refused too


def test_linked_submission_file_is_not_followed(tmp_path):
    """A submitted numpy_ann.py that is a link to another file is skipped, never copied."""
    secret = tmp_path / "not-yours.py"
    secret.write_text("SECRET = 'TOP-SECRET-LINK-TARGET'\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "numpy_ann.py").symlink_to(secret)
    results = tmp_path / "results.json"
    assert grader_main([str(sub), "--results", str(results), "--fast"]) == 0
    text = results_text(results)
    assert "TOP-SECRET" not in text and "numpy_ann.py could not be read (a symbolic link)" in text


# --------------------------------------------------------------------------- 2. forged reports
BROKEN = {  # a numpy_ann.py whose methods return the wrong things: its honest score is low
    "        relu = np.maximum(0, z)": "        relu = np.zeros_like(np.asarray(z, dtype=float))",
    "        grad = (np.asarray(z) > 0).astype(int)": "        grad = np.ones_like(np.asarray(z))",
    "        return float(-np.sum(y_true * np.log(np.clip(y_pred, 1e-12, 1.0))) / y_true.shape[0])":
        "        return 0.0",
    "        return a2\n": "        return np.zeros_like(a2)\n",
    "        self.W2 -= self.lr * dW2": "        self.W2 += self.lr * dW2",
}

FORGER = """
    import gc, json, os, sys
    # Every way the old grader could be fooled, and the obvious new ones: claim passes in the
    # old format, send made-up raw results first, patch the probe to rewrite what it reports.
    items = ["1.%d" % i for i in range(1, 10)]
    for fd in (3,):
        try:
            for item in items:
                os.write(fd, (json.dumps({"item": item, "results": {"parts": [[True, 1e9, "forged"]],
                                                                     "passed": True}}) + "\\n").encode())
            forged = {"items": {i: {"parts": [[True, 1e9, "forged"]]} for i in items}}
            os.write(fd, (json.dumps(forged) + "\\n").encode())
        except OSError:
            pass
    probe = sys.modules.get("grader_probe")
    if probe is not None:
        original = probe.Reporter.send
        def send(self, message):
            if "item" in message:
                message = {"item": message["item"], "results": {"passed": True, "score": 100}}
            return original(self, message)
        probe.Reporter.send = send
        probe.Session.run = lambda self, ops: [{"value": True, "type": "bool", "stdout": ""}] * len(ops)
"""


def broken_source():
    source = NUMPY
    for old, new in BROKEN.items():
        assert old in source, old
        source = source.replace(old, new, 1)
    return source


def test_forged_reports_gain_nothing(tmp_path, sandbox):
    """Issue 12.2: code that forges what the child reports scores no more than its honest self."""
    honest = grade(numpy_submission(tmp_path / "honest", "", broken_source()), fast=True,
                   groups=["numpy_unit"], sandbox=sandbox)
    forged = grade(numpy_submission(tmp_path / "forged", FORGER, broken_source()), fast=True,
                   groups=["numpy_unit"], sandbox=sandbox)
    assert honest.score < 10, [(r.item.id, r.score) for r in honest.results]
    assert forged.score <= honest.score, [(r.item.id, r.score, r.output[:200]) for r in forged.results]
    assert all("forged" not in r.output for r in forged.results)


LOOKUP = """
import numpy as np


class NumpyANN:
    \"\"\"No model at all: train does nothing, predict reads the test labels and looks each image up.\"\"\"

    def __init__(self, input_size, hidden_size, output_size, lr, random_seed=42):
        self.train_val_metrics = {"train_losses": [1.0], "train_accs": [0.1], "val_losses": [1.0], "val_accs": [0.1]}

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
        pass

    def predict(self, X):
        import utils
        _, _, X_test, y_test = utils.load_mnist_f()
        table = {bytes(image.ravel()): label for image, label in zip(X_test, y_test)}
        rows = np.round(np.asarray(X).reshape(len(X), -1) * 255).astype(np.uint8)
        return np.eye(10)[[table.get(bytes(r), 0) for r in rows]]

    def accuracy(self, X, y):
        return float(np.mean(self.predict(X).argmax(1) == np.asarray(y).argmax(1)))


if __name__ == "__main__":
    import utils
    from sklearn.model_selection import train_test_split
    X_train, y_train, X_test, y_test = utils.load_mnist_f()
    X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, train_size=2000, test_size=200,
                                                      random_state=42)
    X_train, y_train = X_train.reshape(2000, -1) / 255, np.eye(10)[y_train]
    model = NumpyANN(784, 64, 10, 0.01)
    model.train(X_train, y_train, X_val, y_val, epochs=250, batch_size=64)
"""


def test_label_lookup_is_flagged_not_penalised(tmp_path, sandbox):
    """A 'model' that looks the test labels up scores what it scores, and is flagged for a human."""
    sub = tmp_path / "lookup"
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(LOOKUP)
    report = grade(sub, groups=["numpy_run"], sandbox=sandbox, timeout=120)
    result = next(r for r in report.results if r.item.id == "1.10")
    assert result.score == 2, result.output
    assert any("possible label lookup" in f for f in report.flags), report.flags
    assert report.measurements["1.10"]["accuracy"] == 1.0
    assert report.measurements["1.10"]["shifted_accuracy"] < 0.45


# --------------------------------------------------------------------------- 3. survivors
SURVIVOR = """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open({pidfile!r}, "w") as f:
                f.write(str(os.getpid()))
            while True:
                try:
                    open(os.path.join({target!r}, "planted-%d" % os.getpid()), "w").close()
                except OSError:
                    pass
                time.sleep(0.05)
        os._exit(0)
    time.sleep(0.5)
"""


@pytest.fixture
def shared_dir():
    """A folder in /tmp that the grading user can reach and write (removed afterwards)."""
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="grader-attack-"))
    shared.chmod(0o777)
    yield shared
    shutil.rmtree(shared, ignore_errors=True)


def survivor_submission(tmp_path, shared):
    pidfile = shared / "pid"
    return numpy_submission(tmp_path / "sub", SURVIVOR.format(pidfile=str(pidfile), target=str(shared))), pidfile


def alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_setsid_survivor_is_killed(tmp_path, sandbox, shared_dir):
    """Issue 12.3: a process that detaches with setsid does not outlive its group."""
    sub, pidfile = survivor_submission(tmp_path, shared_dir)
    grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    pid = int(pidfile.read_text())
    time.sleep(0.3)
    assert not alive(pid)


@pytest.mark.slow  # a sandbox as a throwaway user
def test_setsid_survivor_is_killed_under_a_user(tmp_path, grading_user, user_sandbox, shared_dir):
    sub, pidfile = survivor_submission(tmp_path, shared_dir)
    grade(sub, fast=True, groups=["numpy_unit"], sandbox=user_sandbox)
    pid = int(pidfile.read_text())
    time.sleep(0.3)
    assert not alive(pid)
    assert not [p for p, (_, uid) in _process_table().items() if uid == uid_of(grading_user)]


# --------------------------------------------------------------------------- 4. running as root
def test_user_that_is_root_or_unknown_is_refused(tmp_path):
    sub = numpy_submission(tmp_path / "sub", "")
    for user in ("root", "no-such-user-here"):
        if os.geteuid() != 0 and user == "root":
            continue
        with pytest.raises(GraderError):
            grade(sub, fast=True, user=user)


def hidden_python(tmp_path) -> Path:
    """This Python, with its packages, behind a directory only root can enter.

    In a virtual environment the environment itself is linked (a lone link to its python
    would lose the environment's packages: Python finds them through ``pyvenv.cfg`` beside
    the path it was started by)."""
    vault = tmp_path / "vault"
    vault.mkdir(mode=0o700)
    if sys.prefix != sys.base_prefix:
        (vault / "env").symlink_to(sys.prefix, target_is_directory=True)
        return vault / "env" / Path(sys.executable).relative_to(sys.prefix)
    link = vault / "python"
    link.symlink_to(sys.executable)
    return link


@pytest.mark.slow  # starts its own sandbox as a throwaway user: seconds
def test_python_the_user_cannot_run_is_refused(tmp_path, grading_user):
    """Issue 12.4: `--user` with a Python that user cannot run: exit 2, nothing graded as root."""
    sub = numpy_submission(tmp_path / "sub", "import os\nopen('/tmp/ran-as-%d' % os.getuid(), 'w')\n")
    results = tmp_path / "results.json"
    done = subprocess.run([str(hidden_python(tmp_path)), "-m", "grader", str(sub), "--results", str(results),
                           "--user", grading_user, "--fast"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot" in done.stdout and "GRADER ERROR" in done.stdout
    assert not results.exists()
    assert not Path("/tmp/ran-as-0").exists()


def run_autograder(tmp_path, submission_files=(), **env_overrides):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "source").symlink_to(ROOT)
    (tmp_path / "submission").mkdir()
    filled_handout(tmp_path / "submission", submission_files)
    env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), AUTOGRADER_PYTHON=sys.executable, GRADER_BUDGET="300")
    env.update(env_overrides)
    return subprocess.run(["bash", str(ROOT / "grader" / "gradescope" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # starts its own sandbox as a throwaway user: seconds
def test_run_autograder_grades_as_the_user(tmp_path, grading_user):
    done = run_autograder(tmp_path, ["numpy_ann.py"], AUTOGRADER_USER=grading_user)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert_valid_results(data)
    assert data["tests"][0]["score"] == 3  # 1.1 graded, as the throwaway user


@pytest.mark.slow  # starts its own sandbox as a throwaway user: seconds
def test_run_autograder_as_root_never_drops_the_user(tmp_path, grading_user):
    """Issue 12.4: as root, an empty user or one that cannot run Python is refused, never root."""
    done = run_autograder(tmp_path / "a", AUTOGRADER_USER="")
    assert done.returncode != 0 and "refusing" in done.stdout
    assert not (tmp_path / "a" / "results" / "results.json").exists()
    done = run_autograder(tmp_path / "b", ["numpy_ann.py"], AUTOGRADER_USER=grading_user,
                          AUTOGRADER_PYTHON=str(hidden_python(tmp_path)))
    assert done.returncode != 0 and "GRADER ERROR" in done.stdout, done.stdout + done.stderr
    assert not (tmp_path / "b" / "results" / "results.json").exists()


# --------------------------------------------------------------------------- 5. text that breaks reports
def test_surrogates_and_control_characters_do_not_break_the_report(tmp_path, sandbox):
    """Issue 12.5: error messages and output holding lone surrogates, NULs and escapes."""
    source = NUMPY.replace("        relu = np.maximum(0, z)",
                           "        print('\\udcff\\x00\\x1b[2J' * 1000)\n"
                           "        raise ValueError('bad \\udcff byte \\ud800 \\x00')", 1)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(source, encoding="utf-8", errors="surrogatepass")
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    print(table(report))  # the terminal table survives them too
    results = write_results(report, tmp_path / "out" / "results.json")
    data = json.loads(results.read_text(encoding="utf-8"))
    assert_valid_results(data)
    assert "ValueError: bad" in data["tests"][1]["output"]
    assert [p.name for p in results.parent.iterdir()] == ["results.json"]


# --------------------------------------------------------------------------- 6. archives
def test_zip_slip_links_and_oversized_members(tmp_path, sandbox):
    """Issue 12: a .zip is read, not unpacked: hostile paths write nothing, links and bombs are refused."""
    escape = tmp_path / "escaped"
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"../../../../{escape.relative_to('/')}/numpy_ann.py", "raise SystemExit('wrong copy')")
        z.writestr("/abs/path/numpy_ann.py", "raise SystemExit('wrong copy')")
        link = zipfile.ZipInfo("pytorch_ann.py")
        link.external_attr = (0o120777 << 16)
        z.writestr(link, "/etc/shadow")
        z.writestr("hw/numpy_ann.py", NUMPY)
        z.writestr("hw/deep/pytorch_cnn.py", "x = 1\n" * 300_000)  # 1.8 MB: over the 1 MB limit
    data = results_json(grade(archive, fast=True, sandbox=sandbox))
    assert_valid_results(data)
    assert not escape.exists()
    by_id = {t["number"]: t for t in data["tests"]}
    assert by_id["1.1"]["score"] == 3  # the shallowest real copy, hw/numpy_ann.py
    assert "symbolic link" in data["output"] and "up to 1,000,000 bytes" in data["output"]
    assert by_id["2.1"]["score"] == 0 and by_id["3.1"]["score"] == 0


def test_archive_that_is_not_a_zip_is_refused(tmp_path):
    archive = tmp_path / "submission.zip"
    archive.write_bytes(b"PK\x03\x04 not really")
    results = tmp_path / "results.json"
    assert grader_main([str(archive), "--results", str(results), "--fast"]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "not a readable .zip" in data["output"]
