"""Hostile submissions: what each attack on the grader gets now.

Each test is an attack a student could write (issue 12's measurements, then issue 20's:
memory, disk, one submission's code reaching another's), and asserts that it gains nothing
and costs only what it touches. The ones that matter as root with student code under an
unprivileged user (as Gradescope's run_autograder grades) use throwaway users made for the
session (``grading_users``, two, for grades at once); where this machine cannot make them
(not root, no useradd), they skip and pytest's summary prints why. Student code never runs
as root on a path it controls here: without a throwaway user those tests do not run.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import re
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
from synthetic_export import Entry, build_export, sources

from grader import limits
from grader.__main__ import exposed_submission
from grader.__main__ import main as grader_main
from grader.batch import Options, check_confidential, run_batch
from grader.limits import SHARED_PLACES, GiB, MiB, as_user, process_table
from grader.report import results_json, table, write_results
from grader.runner import grade
from grader.sandbox import GraderError, GradingUser


def _filled_numpy():
    from release.build import render

    return render("numpy_ann.py", filled=True)


NUMPY = _filled_numpy()  # a perfect student's numpy_ann.py: the handout filled with the reference's regions


# --------------------------------------------------------------------------- throwaway users
ACL = "system.posix_acl_access"  # the kernel's xattr: version 2, then (tag, perm, id) entries sorted by tag, id
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
NO_ID = 0xFFFFFFFF
TEST_USER = re.compile(r"grader-test-(\d+)(-b)?$")  # the pid of the pytest session that made it


def _parse_acl(raw: bytes) -> list[tuple[int, int, int]]:
    return [struct.unpack_from("<HHI", raw, offset) for offset in range(4, len(raw), 8)]


def _pack_acl(entries) -> bytes:
    """The xattr for ``entries``, the mask recomputed as the union of the group class (as setfacl does)."""
    entries = [e for e in entries if e[0] != MASK]
    if any(tag in (USER, GROUP) for tag, _, _ in entries):
        mask = 0
        for tag, perm, _ in entries:
            mask |= perm if tag in (USER, GROUP_OBJ, GROUP) else 0
        entries.append((MASK, mask, NO_ID))
    entries.sort(key=lambda e: (e[0], e[2]))
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def _acl_of(directory: Path) -> bytes | None:
    try:
        return os.getxattr(directory, ACL)
    except OSError:
        return None


def _closed_parents(paths) -> list[Path]:
    """The directories at and above ``paths`` that others cannot pass through."""
    out = []
    for path in paths:
        for directory in [*reversed(Path(path).resolve().parents), Path(path).resolve()]:
            if directory.is_dir() and directory not in out and not directory.stat().st_mode & 0o001:
                out.append(directory)
    return out


def _grant_traverse(uids, paths, granted: list):
    """Let ``uids`` (only) pass through the directories above ``paths`` that others cannot enter,
    keeping any ACL already there; ``granted`` gets what to restore: (directory, mode, old ACL or None)."""
    for directory in _closed_parents(paths):
        mode, old = directory.stat().st_mode & 0o7777, _acl_of(directory)
        if old is None:
            entries = [(USER_OBJ, mode >> 6 & 7, NO_ID), (GROUP_OBJ, mode >> 3 & 7, NO_ID), (OTHER, mode & 7, NO_ID)]
        else:
            entries = [e for e in _parse_acl(old) if not (e[0] == USER and e[2] in uids)]
        granted.append((directory, mode, old))
        os.setxattr(directory, ACL, _pack_acl([*entries, *((USER, 1, uid) for uid in uids)]))


def _restore(granted):
    for directory, mode, old in reversed(granted):
        if old is None:
            os.removexattr(directory, ACL)
            os.chmod(directory, mode)
        else:
            os.setxattr(directory, ACL, old)


def _kill_processes_of(uids):
    uids = set(uids)
    for pid, process in process_table().items():
        if process.uid in uids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _sweep_stale_users(paths, only=None) -> list[str]:
    """What a killed session left: its users and their processes gone, and the execute-only ACL
    entries it granted on the directories above ``paths`` (for its users, or for uids that no
    longer have a user) taken back. ``only``: sweep just these names. Returns the names swept."""
    stale = {}
    for entry in pwd.getpwall():
        match = TEST_USER.match(entry.pw_name)
        if match and not Path(f"/proc/{match[1]}").exists() and (only is None or entry.pw_name in only):
            stale[entry.pw_name] = entry.pw_uid
    _kill_processes_of(stale.values())
    known = {entry.pw_uid for entry in pwd.getpwall()} - set(stale.values())
    for directory in _closed_parents(paths):
        old = _parse_acl(_acl_of(directory) or b"")
        entries = [e for e in old if not (e[0] == USER and e[1] == 1 and e[2] not in known)]
        if len(entries) == len(old):
            continue
        if any(tag in (USER, GROUP) for tag, _, _ in entries):
            os.setxattr(directory, ACL, _pack_acl(entries))
        else:  # ours were the only extended entries: back to the plain mode it had
            perms = {tag: perm for tag, perm, _ in entries}
            special = directory.stat().st_mode & 0o7000
            os.removexattr(directory, ACL)
            os.chmod(directory, special | perms[USER_OBJ] << 6 | perms[GROUP_OBJ] << 3 | perms[OTHER])
    for name in stale:
        subprocess.run(["userdel", name], check=False, capture_output=True)
    return list(stale)


@pytest.fixture(scope="session")
def grading_users():
    """Two throwaway unprivileged users that can run this Python and read the repository, then
    gone, with whatever they left in the shared places."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the attacks on --user are run as root with throwaway users")
    if not shutil.which("useradd"):
        pytest.skip("no useradd on this machine to make a throwaway user")
    reach = [sys.prefix, sys.base_prefix, ROOT]
    _sweep_stale_users(reach)
    names, granted = [f"grader-test-{os.getpid()}", f"grader-test-{os.getpid()}-b"], []
    try:
        for name in names:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                           check=True, capture_output=True)
        try:
            _grant_traverse([uid_of(n) for n in names], reach, granted)
        except OSError as exc:
            pytest.skip(f"cannot give the throwaway users access to Python and the repository: {exc}")
        yield names
    finally:
        uids = {}
        for name in names:
            with contextlib.suppress(KeyError):
                uids[name] = uid_of(name)
        _kill_processes_of(uids.values())
        for name, uid in uids.items():  # what a failed test left, while the users can still run Python
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                as_user(sys.executable, uid, pwd.getpwnam(name).pw_gid, "clean", {"tops": SHARED_PLACES, "skip": []})
        _restore(granted)
        for name in uids:
            subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture(scope="session")
def grading_user(grading_users):
    return grading_users[0]


def test_a_killed_session_s_users_and_acl_entries_are_swept_and_an_acl_kept(tmp_path):
    """A session killed before its clean-up (the machine restarted) left its users and their ACL
    entries on /root, and every later session skipped the attacks on --user. Now the next session
    sweeps them, and an ACL it finds is extended, then put back byte for byte."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("needs root and useradd, as the attacks on --user do")
    closed, foreign = tmp_path / "closed", tmp_path / "foreign"
    for directory in (closed, foreign):
        directory.mkdir(mode=0o700)
    gone = subprocess.Popen(["true"])
    gone.wait()
    name = f"grader-test-{gone.pid}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        _grant_traverse([uid_of(name)], [closed], [])  # what the killed session did, never undone
        assert _acl_of(closed) is not None and closed.stat().st_mode & 0o777 == 0o710
        assert _sweep_stale_users([closed], only={name}) == [name]
        assert _acl_of(closed) is None and closed.stat().st_mode & 0o777 == 0o700
        with pytest.raises(KeyError):
            uid_of(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)
    os.setxattr(foreign, ACL, _pack_acl([(USER_OBJ, 7, NO_ID), (USER, 5, 4242), (GROUP_OBJ, 0, NO_ID),
                                         (OTHER, 0, NO_ID)]))
    before, granted = _acl_of(foreign), []
    _grant_traverse([4343], [foreign], granted)
    assert {(USER, 5, 4242), (USER, 1, 4343), (MASK, 5, NO_ID)} <= set(_parse_acl(_acl_of(foreign)))
    _restore(granted)
    assert _acl_of(foreign) == before


@pytest.fixture(scope="session")
def user_sandbox(grading_user):
    """One sandbox whose children run as the throwaway user (its zygote and preflight: seconds)."""
    from grader.runner import DEFAULT_DATA
    from grader.sandbox import Sandbox

    with Sandbox(grading_user, readable=[DEFAULT_DATA]) as box:
        yield box


def uid_of(name):
    return pwd.getpwnam(name).pw_uid


def numpy_source(code: str, source: str = NUMPY) -> str:
    """The reference numpy_ann.py with ``code`` run at import time (right after numpy)."""
    return source.replace("\nimport numpy as np\n", "\nimport numpy as np\n" + textwrap.dedent(code), 1)


def numpy_submission(directory: Path, code: str, source: str = NUMPY) -> Path:
    """A folder holding :func:`numpy_source`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "numpy_ann.py").write_text(numpy_source(code, source))
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
    pidfile.touch()  # ours, for the survivor to write in: the grading user's own files are removed after the group
    pidfile.chmod(0o666)
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
    assert not [pid for pid, entry in process_table().items() if entry.uid == uid_of(grading_user)]


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


def test_python_the_user_cannot_run_is_refused(tmp_path, grading_user):
    """Issue 12.4: `--user` with a Python that user cannot run: exit 2, nothing graded as root.
    A TA's `sudo .venv/bin/python -m grader SUB --user nobody`, the venv under /root, printed
    "Permission denied" twice and no why. Now one line, once: which Python, as whom, what that
    user must read, what is closed to it, and the fix."""
    sub = numpy_submission(tmp_path / "sub", "import os\nopen('/tmp/ran-as-%d' % os.getuid(), 'w')\n")
    results = tmp_path / "results.json"
    python = hidden_python(tmp_path)
    done = subprocess.run([str(python), "-m", "grader", str(sub), "--results", str(results),
                           "--user", grading_user, "--fast"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert not results.exists()
    assert not Path("/tmp/ran-as-0").exists()
    assert "GRADER ERROR" not in done.stdout
    [line] = [line for line in done.stderr.splitlines() if "GRADER ERROR" in line]  # once, and one line
    places = ([str(tmp_path / "vault" / "env"), sys.base_prefix] if sys.prefix != sys.base_prefix  # a venv
              else [os.path.realpath(sys.base_prefix)])
    assert f"user {grading_user} (uid {uid_of(grading_user)}) cannot run {python} (Permission denied)" in line
    assert f"must be able to read this Python and its packages, {' and '.join(places)} (" in line
    closed = Path(re.search(r"but (\S+) is closed to it", line)[1])
    assert closed in [tmp_path / "vault", *(tmp_path / "vault").parents]  # the first folder on the way others
    assert not closed.stat().st_mode & 0o001 and all(d.stat().st_mode & 0o001 for d in closed.parents)  # cannot enter
    assert "a virtual environment under /opt" in line and "a system Python whose packages are installed for all" in line


SHORT_RUN = '''
_train = NumpyANN.train


def _ten_epochs_at_most(self, X_train, y_train, X_val, y_val, epochs, batch_size):
    return _train(self, X_train, y_train, X_val, y_val, min(epochs, 10), batch_size)


NumpyANN.train = _ten_epochs_at_most  # the handout's 250-epoch run in 10: seconds, not minutes


'''


def run_autograder(tmp_path, submission_files=(), short_run=False, **env_overrides):
    """Gradescope's run_autograder on the filled handout's ``submission_files``; ``short_run``
    trains numpy_ann.py's run for 10 epochs (a test of who grades, not of the run's accuracy)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "source").symlink_to(ROOT)
    (tmp_path / "submission").mkdir()
    filled_handout(tmp_path / "submission", submission_files)
    if short_run:
        path, main = tmp_path / "submission" / "numpy_ann.py", 'if __name__ == "__main__":'
        path.write_text(path.read_text().replace(main, SHORT_RUN + main))
    env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), AUTOGRADER_PYTHON=sys.executable, GRADER_BUDGET="300")
    env.update(env_overrides)
    return subprocess.run(["bash", str(ROOT / "grader" / "gradescope" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # starts its own sandbox as a throwaway user: seconds
def test_run_autograder_grades_as_the_user(tmp_path, grading_user):
    done = run_autograder(tmp_path, ["numpy_ann.py"], short_run=True, AUTOGRADER_USER=grading_user)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert_valid_results(data)
    assert data["tests"][0]["score"] == 3  # 1.1 graded, as the throwaway user
    assert "epoch 10 / 10" in done.stderr  # and the script's run, as that user too


@pytest.mark.slow  # starts its own sandbox as a throwaway user: seconds
def test_run_autograder_as_root_never_drops_the_user(tmp_path, grading_user):
    """Issue 12.4: as root, an empty user or one that cannot run Python is refused, never root."""
    done = run_autograder(tmp_path / "a", AUTOGRADER_USER="")
    assert done.returncode != 0 and "refusing" in done.stdout
    assert not (tmp_path / "a" / "results" / "results.json").exists()
    done = run_autograder(tmp_path / "b", ["numpy_ann.py"], AUTOGRADER_USER=grading_user,
                          AUTOGRADER_PYTHON=str(hidden_python(tmp_path)))
    assert done.returncode != 0 and "GRADER ERROR" in done.stderr, done.stdout + done.stderr
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
    """Handed to the grader itself, a broken zip is a bad path: exit 2, no results. Inside a
    submission folder (as Gradescope hands it over), it is the student's: 0, and the note says why."""
    (tmp_path / "upload").mkdir()
    archive = tmp_path / "upload" / "submission.zip"
    archive.write_bytes(b"PK\x03\x04 not really")
    results = tmp_path / "results.json"
    with pytest.raises(SystemExit) as stopped:
        grader_main([str(archive), "--results", str(results), "--fast"])
    assert stopped.value.code == 2 and not results.exists()
    assert grader_main([str(tmp_path / "upload"), "--results", str(results), "--fast", "--quiet"]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "not a readable .zip" in data["output"]


# --------------------------------------------------------------------------- 7. memory (issue 20.1)
RELU_GRAD = "        grad = (np.asarray(z) > 0).astype(int)"
UNTOUCHED = ("1.1", "1.2", "1.4", "1.5", "1.8", "1.9")  # the numpy items that never call _relu_grad (1.6, 1.7 do)
HOGS = {  # code that holds about 2 GiB, one way or another, then waits in _relu_grad
    "arrays": "_HOG.extend(np.ones(100 * 2**20, dtype=np.uint8) for _ in range(20))",
    "shared mmap": "import mmap\n_HOG.append(mmap.mmap(-1, 2**31))\n"
                   "for _ in range(32):\n    _HOG[-1].write(b'1' * 2**26)",
    "detached process": textwrap.dedent("""\
        import os
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                _HOG.extend(np.ones(100 * 2**20, dtype=np.uint8) for _ in range(20))
                time.sleep(30)
            os._exit(0)
        os.waitpid(pid, 0)"""),
    "/dev/shm files": textwrap.dedent("""\
        for i in range(20):  # files of 100 MiB: one may hold 200 MB at most
            with open("/dev/shm/grader-hog-%d-%d" % (os.getpid(), i), "wb") as f:
                f.write(b'1' * 100 * 2**20)"""),
}


def relu_grad_doing(code: str) -> str:
    """The filled handout's numpy_ann.py whose _relu_grad runs ``code``, waits 2 s, then answers right."""
    body = textwrap.indent(f"import os, time\n{code}\ntime.sleep(2)\n", " " * 8)
    source = NUMPY.replace(RELU_GRAD, body + RELU_GRAD, 1)
    return source.replace("\nimport numpy as np\n", "\nimport numpy as np\n_HOG = []\n", 1)


def assert_stopped_for_memory(report, limit_text):
    by_id = {r.item.id: r for r in report.results}
    assert by_id["1.3"].score == 0, by_id["1.3"].output
    assert f"used more than the memory limit of {limit_text}" in by_id["1.3"].output
    assert "stopped while this item ran" in by_id["1.3"].output
    assert all(by_id[i].score == by_id[i].max_score for i in UNTOUCHED), [(i, by_id[i].why) for i in UNTOUCHED]


@pytest.mark.slow  # allocates about 1 GiB at a time, in four children
@pytest.mark.parametrize("hog", ["arrays", "shared mmap", "detached process"])
def test_memory_over_the_limit_costs_only_the_items_it_touches(tmp_path, sandbox, hog):
    """Issue 20.1: _relu_grad holding 2 GiB under a 1 GiB limit (the issue's 10 GB, scaled down)
    is stopped; the items that never call it still score, in a fresh child."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(relu_grad_doing(HOGS[hog]))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox, memory=1 * GiB)
    assert_stopped_for_memory(report, "1 GiB")
    assert not [pid for pid in limits.subtrees(process_table(), [sandbox.proc.pid]) if pid != sandbox.proc.pid]


@pytest.mark.slow  # a sandbox as a throwaway user; writes about 1 GiB to /dev/shm
def test_memory_held_in_dev_shm_counts_and_is_removed(tmp_path, grading_user, user_sandbox):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(relu_grad_doing(HOGS["/dev/shm files"]))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=user_sandbox, memory=1 * GiB)
    assert_stopped_for_memory(report, "1 GiB")
    assert not [p for p in Path("/dev/shm").glob("grader-hog-*") if p.stat().st_uid == uid_of(grading_user)]


@pytest.mark.slow  # trains two networks in the sandbox: seconds
def test_torch_trains_under_a_limit_below_its_virtual_size(tmp_path, sandbox):
    """The limit counts resident memory, not the address space: torch's mappings (inherited from the
    zygote: 3 GiB for this CUDA build) are far above 1 GiB, and its training stays well within."""
    sub = filled_handout(tmp_path / "sub", ("pytorch_ann.py", "pytorch_cnn.py"))
    report = grade(sub, fast=True, groups=["ann_unit", "cnn_unit"], sandbox=sandbox, memory=1 * GiB)
    graded = [r for r in report.results if r.item.group in ("ann_unit", "cnn_unit")]
    assert all(r.score == r.max_score for r in graded), [(r.item.id, r.why) for r in graded]


def test_student_code_runs_with_torchs_threads_told_to_sleep_not_spin(tmp_path, sandbox):
    """OMP_WAIT_POLICY=PASSIVE is in the environment torch's OpenMP read: the zygote's, once, when it
    imported torch (a child's os.environ is replaced later; /proc/self/environ keeps the zygote's).
    Spinning threads starved the one with work on a machine busy with other processes (BENCHMARKS.md)."""
    check = ("        if b'OMP_WAIT_POLICY=PASSIVE' not in open('/proc/self/environ', 'rb').read().split(b'\\0'):\n"
             "            return np.zeros(3)\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(NUMPY.replace(RELU_GRAD, check + RELU_GRAD, 1))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
    relu_grad = {r.item.id: r for r in report.results}["1.3"]
    assert relu_grad.score == relu_grad.max_score, relu_grad.output


def test_default_memory_follows_the_machines_limit(tmp_path):
    """The default per-child limit: the recommended autograder's, less where the container's own
    cgroup limit (v2 or v1, read up the hierarchy) or the RAM is smaller."""
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text("MemTotal:       16777216 kB\nMemFree:  1 kB\n")  # 16 GiB
    (cgroup / "box" / "inner").mkdir(parents=True)
    (cgroup / "box" / "memory.max").write_text(f"{3 * GiB}\n")
    (cgroup / "box" / "inner" / "memory.max").write_text("max\n")
    (proc / "self" / "cgroup").write_text("0::/box/inner\n")
    assert limits.container_memory(str(proc), str(cgroup)) == 3 * GiB
    (cgroup / "memory").mkdir()  # v1, inside a container: its own path (the host's) is absent, the root is its own
    (cgroup / "memory" / "memory.limit_in_bytes").write_text(f"{768 * MiB}\n")
    (proc / "self" / "cgroup").write_text("5:memory:/docker/0123abcd\n1:cpu:/docker/0123abcd\n")
    assert limits.container_memory(str(proc), str(cgroup)) == 768 * MiB
    (cgroup / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert limits.container_memory(str(proc), str(cgroup)) == 16 * GiB
    recommended = limits.RECOMMENDED_MACHINE - limits.GRADER_OWN
    assert limits.default_memory(16 * GiB) == limits.default_memory(4 * GiB) == recommended
    assert limits.default_memory(3 * GiB) == 3 * GiB - limits.GRADER_OWN
    assert limits.default_memory(768 * MiB) == limits.MINIMUM_MEMORY
    assert limits.memory_warning(recommended, 1, machine=4 * GiB) is None
    assert "lower --memory or --jobs" in limits.memory_warning(recommended, 2, machine=4 * GiB)
    assert "correct code may be stopped" in limits.memory_warning(limits.default_memory(2 * GiB), 1, machine=2 * GiB)
    assert limits.size("2.5G") == int(2.5 * GiB) and limits.size("600MiB") == 600 * MiB and limits.size("none") is None


# --------------------------------------------------------------------------- 8. disk (issue 20.2)
@pytest.fixture
def home_of(grading_user):
    """The throwaway user's home folder, made for the test (the user has none), then gone."""
    home = Path(pwd.getpwnam(grading_user).pw_dir)
    assert not home.exists()
    home.mkdir(parents=True)
    os.chown(home, uid_of(grading_user), pwd.getpwnam(grading_user).pw_gid)
    yield home
    shutil.rmtree(home, ignore_errors=True)


LITTER = """
    import os, pwd
    home = pwd.getpwuid(os.getuid()).pw_dir  # $HOME is the scratch folder
    for place in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", home, {shared!r}):
        try:
            os.makedirs(os.path.join(place, {mark!r} + "-dir", "deeper"))
            open(os.path.join(place, {mark!r} + "-dir", "deeper", "file"), "w").write("litter")
            open(os.path.join(place, {mark!r} + "-file"), "w").write("litter")
            os.symlink({victim!r}, os.path.join(place, {mark!r} + "-link"))
        except OSError:
            pass
"""


@pytest.mark.slow  # a sandbox as a throwaway user
def test_files_left_in_shared_places_are_removed(tmp_path, grading_user, user_sandbox, shared_dir, home_of):
    """Issue 20.2: what the code leaves in /tmp, /var/tmp, /dev/shm, /run/lock, its home and a
    world-writable folder of someone else's is removed after its group, as that user: the links
    it planted are removed, never followed."""
    victim = tmp_path / "victim"
    victim.write_text("root's")
    theirs = shared_dir / "theirs"
    theirs.write_text("root's")
    mark = f"grader-litter-{os.getpid()}"
    sub = numpy_submission(tmp_path / "sub", LITTER.format(shared=str(shared_dir), mark=mark, victim=str(victim)))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=user_sandbox)
    assert report.results[0].score == 3, report.results[0].output
    places = [p for p in (*SHARED_PLACES, str(home_of), str(shared_dir)) if os.path.isdir(p)]
    assert home_of.is_dir()  # the home itself stays
    left = [str(p) for place in places for p in Path(place).glob(mark + "*")]
    assert not left
    assert victim.read_text() == "root's" and theirs.read_text() == "root's"
    uid = uid_of(grading_user)
    assert limits.disk_usage(places, {uid})[uid] == [0, 0]


def test_without_a_user_nothing_of_yours_is_removed(tmp_path, sandbox):
    """Without --user the code runs as you: the grader removes nothing of yours outside its scratch."""
    import tempfile

    mine = Path(tempfile.gettempdir()) / f"grader-mine-{os.getpid()}"
    sub = numpy_submission(tmp_path / "sub", f"open({str(mine)!r}, 'w').write('mine')\n")
    try:
        grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox)
        assert mine.read_text() == "mine"
    finally:
        mine.unlink(missing_ok=True)


def test_clean_up_spares_what_it_is_told(grading_user, shared_dir):
    """The clean-up as the user spares the scratch folders of groups still running (``skip``)."""
    uid, gid = uid_of(grading_user), pwd.getpwnam(grading_user).pw_gid
    for name in ("running", "finished"):
        (shared_dir / name).mkdir()
        (shared_dir / name / "numpy_ann.py").write_text("code")
        for path in (shared_dir / name, shared_dir / name / "numpy_ann.py"):
            os.chown(path, uid, gid)
    as_user(sys.executable, uid, gid, "clean", {"tops": [str(shared_dir)], "skip": [str(shared_dir / "running")]})
    assert (shared_dir / "running" / "numpy_ann.py").read_text() == "code"
    assert not (shared_dir / "finished").exists()


@pytest.mark.slow  # a sandbox as a throwaway user, two groups at once
def test_a_group_still_running_keeps_its_scratch(tmp_path, user_sandbox):
    """Two groups at once as one user: the clean-up after the first leaves the second's files (and
    processes) alone, so the second still reads its own files after sleeping past the first."""
    sub = numpy_submission(tmp_path / "sub", "")
    wait = "import os, time\ntime.sleep(6)\nopen(os.path.join(os.path.dirname(__file__), 'utils.py'))\n"
    ann = filled_handout(tmp_path / "filled", ("pytorch_ann.py",)) / "pytorch_ann.py"
    (sub / "pytorch_ann.py").write_text(ann.read_text().replace("\nimport torch\n", "\nimport torch\n" + wait, 1))
    report = grade(sub, fast=True, groups=["numpy_unit", "ann_unit"], jobs=2, sandbox=user_sandbox)
    assert all(r.score == r.max_score for r in report.results if r.item.group in ("numpy_unit", "ann_unit")), \
        [(r.item.id, r.why) for r in report.results if r.score < r.max_score]


# Written in _relu_grad: 4 x 100 MiB, or 10,500 empty files, then held until the watchdog stops
# it. Its walk of the shared places takes at most a tenth of the time, so where they hold much
# (the CI's clone and its venv sit in /tmp), the walk that finds the flood can come seconds
# later: the wait lets it come (the item's 30 s timeout ends a watchdog that never does).
FLOOD = {
    "bytes": "for i in range(4):\n    open(os.path.join(PLACE, 'flood-%d-%d' % (os.getpid(), i)), 'wb')"
             ".write(b'1' * 100 * 2**20)\ntime.sleep(60)",
    "files": "os.makedirs(os.path.join(PLACE, 'flood-%d' % os.getpid()))\nfor i in range(10_500):\n"
             "    open(os.path.join(PLACE, 'flood-%d' % os.getpid(), str(i)), 'w').close()\ntime.sleep(60)",
}


@pytest.mark.slow  # writes about 1 GB, or 30,000 files, in all
@pytest.mark.parametrize("flood, place, box", [("bytes", "/tmp", "user_sandbox"), ("files", "/tmp", "user_sandbox"),
                                               ("bytes", ".", "sandbox")])
def test_writing_past_the_disk_cap_is_stopped(tmp_path, request, flood, place, box):
    """Issue 20.2: a group may write --disk bytes (here 200 MiB) and 10,000 files in all: in the
    shared places with --user, in its scratch folder in any case."""
    sandbox = request.getfixturevalue(box)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "numpy_ann.py").write_text(relu_grad_doing(f"PLACE = {place!r}\n{FLOOD[flood]}"))
    report = grade(sub, fast=True, groups=["numpy_unit"], sandbox=sandbox, disk=200 * MiB)
    by_id = {r.item.id: r for r in report.results}
    expected = "wrote more than the limit of 200 MiB to disk" if flood == "bytes" else "more than 10,000 files"
    assert by_id["1.3"].score == 0 and expected in by_id["1.3"].output, by_id["1.3"].output
    assert all(by_id[i].score == by_id[i].max_score for i in UNTOUCHED)
    if place == "/tmp":
        assert not [p for p in Path(place).glob("flood-*") if p.owner() == sandbox.user]


# --------------------------------------------------------------------------- 9. confidentiality (issue 20.3)
def test_batch_needs_a_grading_user_per_job():
    users = [GradingUser("nobody", 65534, 65534, "/nonexistent")]
    with pytest.raises(GraderError, match="--jobs 2 grades 2 submissions at once.*give --user 2 names"):
        check_confidential(users, 2, [])
    check_confidential(users + [GradingUser("grader2", 990, 990, "/")], 2, [])  # enough users, nothing private
    check_confidential([], 4, [])  # no users: nothing to check (main warns)


def test_batch_out_is_owner_only(tmp_path, sandbox):
    """grades.csv holds names, SIDs and e-mails: --out is made readable by its owner only."""
    export = build_export(tmp_path, [Entry(sources({"numpy_ann.py": NUMPY}))])
    run_batch(export, tmp_path / "out", Options(fast=True), sandbox=sandbox, progress_stream=io.StringIO())
    for path in (tmp_path / "out", tmp_path / "out" / "grades.csv"):
        assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)


@pytest.mark.slow  # a sandbox as a throwaway user
def test_batch_refuses_an_export_the_grading_user_can_read(shared_dir, user_sandbox):
    """Issue 20.3: an export (folder or zip) the grading user can read is refused, with the command
    that closes it; closed, it is graded."""
    folder = build_export(shared_dir / "folder", [Entry(sources({"numpy_ann.py": NUMPY}))])
    archive = build_export(shared_dir / "zip", [Entry(sources({"numpy_ann.py": NUMPY}))], zipped=True)
    for export in (folder, archive):
        with pytest.raises(GraderError, match=f"can read .* chmod go-rwx {export}"):
            run_batch(export, shared_dir / "out", Options(fast=True), sandbox=user_sandbox)
        assert not (shared_dir / "out").exists()
    folder.chmod(0o700)
    result = run_batch(folder, shared_dir / "out", Options(fast=True), sandbox=user_sandbox,
                       progress_stream=io.StringIO())
    assert result.records[0].scores["1.1"] == 3


VICTIM = """
    # SECRET-OF-THE-OTHER-SUBMISSION
    import os, time
    time.sleep(8)
    raise RuntimeError("victim uid=%d" % os.getuid())
"""
SNOOP = """
    import glob, os, time
    found, deadline = set(), time.time() + 6
    while time.time() < deadline:
        paths = glob.glob("/proc/[0-9]*/cwd/*.py") + glob.glob({export!r} + "/*/*.py") + [
            os.path.join(base, group, "numpy_ann.py") for base in glob.glob("/tmp/grader-*")  # base: not listable
            for group in ("numpy_unit", "numpy_run")]
        for path in paths:
            try:
                if "SECRET-OF-" + "THE-OTHER" in open(path).read():  # not in this file as it stands
                    found.add(path)
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError("snoop uid=%d found=%s" % (os.getuid(), sorted(found) or "nothing"))
"""


@pytest.mark.slow  # a sandbox with two throwaway users: seconds
def test_concurrent_grades_cannot_read_each_other(shared_dir, grading_users):
    """Issue 20.3: two submissions graded at once, each as its own user, by one zygote: the one
    that snoops through /proc and /tmp for the other's code, while the other sleeps, finds nothing."""
    from grader.runner import DEFAULT_DATA
    from grader.sandbox import Sandbox

    where = shared_dir / "assignment_4242_export"  # where build_export puts it
    export = build_export(shared_dir, [Entry(sources({"numpy_ann.py": numpy_source(code)}))
                                       for code in (VICTIM, SNOOP.format(export=str(where)))])
    assert export == where
    export.chmod(0o700)
    with Sandbox(grading_users, readable=[DEFAULT_DATA]) as box:
        result = run_batch(export, shared_dir / "out", Options(fast=True), jobs=2, sandbox=box,
                           progress_stream=io.StringIO())
    text = {r.id: r.why["1.1"] for r in result.records}
    victim, snoop = text["100001"], text["100002"]
    assert "snoop uid=" in snoop and "found=nothing" in snoop, snoop
    uids = {int(re.search(r"uid=(\d+)", t).group(1)) for t in (victim, snoop)}
    assert uids == {uid_of(n) for n in grading_users}


def test_grader_warns_when_the_user_can_read_the_submission(shared_dir, grading_user, monkeypatch, capsys):
    """python -m grader warns when the grading user can read the submission where it lies."""
    import grader.__main__ as cli

    sub = numpy_submission(shared_dir / "sub", "")
    monkeypatch.setattr(cli, "grade", lambda *a, **k: (_ for _ in ()).throw(GraderError("stopped here")))
    assert cli.main([str(sub), "--user", grading_user, "--fast"]) == 2
    assert f"can read 2 of the files and folders of {sub}" in capsys.readouterr().err
    sub.chmod(0o700)
    assert exposed_submission(grading_user, str(sub)) is None
