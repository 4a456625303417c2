"""The grader's isolation policy, top to bottom: how student code runs, and what it cannot do.

1. **A trusted parent, an untrusted child.** The parent (``python -m grader``) holds every
   expected value and computes every score (``grader/checks/``). Student code runs only in
   children, which report raw values (``grader/probe.py``) and decide nothing.
2. **A zygote forks the children.** Importing torch costs seconds, so one *zygote* process
   imports the course's packages once and forks a child per group of items. It is started
   with ``python -I`` on this file and loads only this file, ``probe.py`` with ``wire.py`` (the
   wire format it reports in), ``limits.py`` and third-party packages: no judge code, no expected
   value, no test label is ever in a child's memory.
   It is the children's *subreaper* (Linux), so a process the student detaches still
   belongs to it and is found below. Children die with it (``PR_SET_PDEATHSIG``), and it
   kills everything below it when the parent goes away.
3. **Each child**, between fork and the student's first line: starts its own session; gets
   ``/dev/null`` as stdin, one pipe as stdout and stderr and another as the results channel
   (fd 3), both opened by the parent; closes every other descriptor; sets limits (no core
   files, 200 MB per file, 512 processes of its user, 1024 open files); moves to its scratch
   directory (a fresh copy of the submission plus the grader's ``utils.py``); drops to the
   grading user (``--user``) and checks that it did; gets a clean environment and a
   ``sys.path`` without the grader or the reference solution.
4. **The parent reads nothing the child wrote to disk.** Output and results come through the
   pipes it opened itself, bounded in size; there is no log or observations file to swap
   for a link.
5. **Nothing survives its group.** When a group ends (or its time is up) the zygote, which
   alone knows exactly which of its children are groups still running, kills the child's
   session, every other process below itself outside those groups (detached or not), and,
   with ``--user``, every process of the child's grading user outside those groups. Then,
   with ``--user``, it removes what that user owns in /tmp, /var/tmp, /dev/shm, /run/lock
   and its home, acting as that user (so a planted link is removed, never followed), and
   sparing the scratch folders of groups still running. Without ``--user`` it removes
   nothing of the person running it. A grading user must run nothing else: README says so.
6. **Time.** A group's time limit is the student's: it starts when the child reports
   ``ready``, after the grader's own set-up (imports, loading the data).
7. **Memory and disk** (``limits.py``). A watchdog in the parent samples every child each
   0.1 s: the resident anonymous and shared memory of its processes (its subtree and its
   user's strays; RssAnon + RssShmem, torch's share included: never virtual memory, which
   torch's mappings inflate) plus what its grading user holds in RAM-backed files
   (/dev/shm); and about every second what the group's files hold: its scratch folder
   and, with ``--user``, what the user owns in the places of point 5. Over ``--memory``
   (by default what a child may hold on the 4 GB autograder README recommends, less where
   the container's own limit is smaller), over ``--disk`` (1 GiB) or over 10,000 files, it
   stops the child: the item it was on scores 0 and says why, and a unit group's later
   items run in a fresh child. No cgroup and no rlimit is needed, so this works in a
   container; the price of sampling is that code allocating very fast passes the limit by
   one tick's worth.
8. **One user per child at once.** ``--user`` takes several names, and each child runs as
   the one the fewest running children run as (one zygote forks them all, so torch is
   imported once). With at least as many users as children at once, no two share one
   user's reach: their scratch folders (0700), files and processes are each their own.
   ``grader.batch`` refuses ``--jobs`` above the number of users.
9. **Refusals.** With ``--user``, the grader must be root, each user must exist and not be
   root, and the configured Python must work for each (checked by running it as that user,
   reading utils.py and the data, importing and plotting). ``grader.batch`` also refuses
   when a grading user can read the export or ``--out`` (it prints the ``chmod`` that
   closes it), and makes ``--out`` its owner's only; ``python -m grader`` warns when the
   grading user can read the submission where it lies. Otherwise :class:`GraderError`, and
   no student code runs. A child that dies before reporting ``ready``, or is stopped over a
   limit before it, is a grader failure too, never the student's.
"""
from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

if __name__ != "__main__":  # the zygote, ``python -I sandbox.py``, is outside the package: it loads limits.py by path
    from . import limits

HERE = Path(__file__).resolve().parent
PROBE = HERE / "probe.py"
LIMITS = HERE / "limits.py"
MAX_FILE_BYTES = 200 * 2**20       # the largest file student code may write
MAX_PROCESSES = 512                # per grading user (RLIMIT_NPROC): no fork bomb
MAX_OUTPUT = (4000, 12000)         # bytes of a child's stdout kept: head, tail
MAX_RESULTS_BYTES = 64 * 2**20     # of one child's results channel
PROGRESS_KEPT = 1000               # progress lines kept per child (the last ones)
SETUP_SECONDS = 120                # for a child's own set-up (imports, the data), before its time limit starts
SANDBOX_FAILED = 97                # a child's exit status when its own set-up failed


class GraderError(RuntimeError):
    """The grader itself cannot grade (set-up, environment, a bug): never the student's fault."""


# --------------------------------------------------------------------------- parent side
@dataclass
class ChildResult:
    """What one child produced, as the parent received it."""
    messages: list
    output: str
    status: int | None = None       # waitpid status as exit code (negative: killed by that signal)
    timed_out: bool = False
    truncated: bool = False
    over: str | None = None         # why the watchdog stopped it: over its memory or disk limit (limits.py)
    progress: list = field(default_factory=list)  # (arrival, epoch, epochs) of each progress line, by our clock
    started: float | None = None    # when the student's code began (monotonic), after the child's set-up
    stopped: float | None = None    # when the child ended or was stopped (monotonic)
    last_report: float | None = None  # when its last item result arrived (monotonic)

    @property
    def ready(self) -> bool:
        return any("ready" in m for m in self.messages)

    def probe_error(self) -> str | None:
        return next((m["probe_error"] for m in self.messages if "probe_error" in m), None)


@dataclass(frozen=True)
class GradingUser:
    name: str
    uid: int
    gid: int
    home: str


def user_names(user) -> list[str]:
    """``--user``'s names: one, several separated by commas, or a list of them (None: none)."""
    if user is None:
        return []
    names = user.split(",") if isinstance(user, str) else list(user)
    return list(dict.fromkeys(name.strip() for name in names if name.strip()))


def grading_users(user) -> list[GradingUser]:
    """The grading users ``user`` names (:func:`user_names`); GraderError if one cannot grade."""
    return [_resolve_user(name) for name in user_names(user)]


def readable_by(users, paths, python: str = sys.executable) -> dict[str, list[str]]:
    """User name -> what it can read of ``paths`` (the folders, everything below them): each
    file and folder the grader finds there, tried as that user. OSError if it cannot run Python."""
    entries = limits.tree([os.path.abspath(p) for p in paths if os.path.lexists(p)])
    return {user.name: limits.as_user(python, user.uid, user.gid, "readable", entries) for user in users}


def exposure(users, paths, python: str = sys.executable) -> str | None:
    """What the grading users can read of ``paths``, as a sentence ending in the command that
    closes it; None when they can read none of it. GraderError if it cannot be tried."""
    tops = [os.path.abspath(p) for p in paths if os.path.lexists(p)]
    if not users or not tops:
        return None
    try:
        readable = readable_by(users, tops, python)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise GraderError(f"could not test what the grading users can read: {exc}") from None
    for name, found in readable.items():
        if found:
            opened = [t for t in tops if any(f == t or f.startswith(t.rstrip("/") + "/") for f in found)]
            return (f"the grading user {name} can read {len(found)} of the files and folders of {', '.join(opened)} "
                    f"(such as {found[0]}); close {'them' if len(opened) > 1 else 'it'} with: "
                    f"chmod go-rwx {' '.join(shlex.quote(t) for t in opened)}")
    return None


class Sandbox:
    """A zygote and the children it forks. Use as a context manager; ``run`` is thread-safe.

    ``user``: the grading users (a name, several separated by commas, or a list); each child
    runs as the one fewest children are running as at the time, so with at least as many users
    as children at once no two children share one user's reach (its files, its processes).
    """

    def __init__(self, user=None, python: str = sys.executable, readable=()):
        self.python, self.readable = python, [str(p) for p in readable]
        self.users = grading_users(user)
        self.user = ",".join(u.name for u in self.users) or None
        self.proc = None
        self.sock = None
        self.watchdog = None
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._waiting: dict[int, dict] = {}
        self._next_id = 0
        self._busy: Counter = Counter()  # uid -> children running as that user now

    @property
    def uid(self) -> int | None:
        """The first grading user's uid (``run`` hands each child's scratch to the user it runs as)."""
        return self.users[0].uid if self.users else None

    @property
    def gid(self) -> int | None:
        return self.users[0].gid if self.users else None

    # ---- life cycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        with self._start_lock:
            if self.proc is None:
                self._start()

    def _start(self):
        if self.users:
            _preflight_python(self.python, self.users, self.readable)
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.home = tempfile.mkdtemp(prefix="grader-zygote-")  # its caches (matplotlib's fonts), private
        # OMP_WAIT_POLICY=PASSIVE: torch's OpenMP threads sleep between parallel regions instead of
        # spinning. The same threads split the same work, so results are unchanged; but on a machine
        # busy with other processes a spinning thread takes the core from the one that has work:
        # python pytorch_ann.py took 282 s instead of 7 s beside two CPU-bound processes on 2 cores.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENBLAS_NUM_THREADS": "1",
               "OMP_WAIT_POLICY": "PASSIVE", "MPLBACKEND": "Agg", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "MPLCONFIGDIR": self.home, "TMPDIR": self.home, "HOME": self.home}
        uids = ",".join(str(u.uid) for u in self.users)
        self.proc = subprocess.Popen([self.python, "-I", str(HERE / "sandbox.py"), str(child_sock.fileno()), str(PROBE),
                                      uids],
                                     pass_fds=(child_sock.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        child_sock.close()
        self.sock = parent_sock
        hello = _recv_frame(self.sock)
        if not hello or not hello.get("ready"):
            output = self.proc.stdout.read().decode("utf-8", "replace")[-3000:] if self.proc.stdout else ""
            self.close()
            raise GraderError(f"the grader's zygote ({self.python}) did not start: {output.strip() or hello}")
        self.watchdog = limits.Watchdog(self.proc.pid)
        threading.Thread(target=self._dispatch, daemon=True).start()

    def close(self):
        """Close the zygote's socket: it kills every child, stray and process of the grading
        users, then exits (killed if it has not within 30 s)."""
        if self.proc is None:
            return
        if self.watchdog is not None:
            self.watchdog.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes our dispatcher too, which close() alone would not
        except OSError:
            pass
        self.sock.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        shutil.rmtree(self.home, ignore_errors=True)

    def _dispatch(self):
        """The zygote's messages: a child started (its pid), a child ended (its status)."""
        while True:
            try:
                msg = _recv_frame(self.sock)
            except OSError:
                msg = None
            with self._lock:
                if msg is None:  # the zygote is gone: wake everyone
                    for slot in self._waiting.values():
                        slot["dead"] = True
                        slot["event"].set()
                    return
                slot = self._waiting.get(msg.get("id"))
                if slot is not None:
                    slot.update(msg)
                    if "status" in msg:
                        slot["event"].set()
                    if "pid" in msg:
                        slot["started"].set()
                    if "reaped" in msg:
                        slot["reaped_event"].set()

    # ---- one child
    def run(self, scratch: Path, plan: dict, env: dict, timeout: float, *, memory: int | None = None,
            disk: int | None = None, on_progress=None) -> ChildResult:
        """Fork a child for ``plan`` in ``scratch``; wait at most ``timeout`` seconds; clean up.

        ``memory``, ``disk``: its limits in bytes (None: none), which the watchdog enforces
        (``limits.py``): over one, the child is stopped and ``ChildResult.over`` says why.
        ``on_progress(epoch, epochs)`` is called as the child reports a script's progress line.
        """
        self.start()
        user = self._take_user()
        try:
            return self._run(scratch, plan, env, timeout, memory, disk, user, on_progress)
        finally:
            with self._lock:
                if user is not None:
                    self._busy[user.uid] -= 1

    def _take_user(self) -> GradingUser | None:
        with self._lock:
            if not self.users:
                return None
            user = min(self.users, key=lambda u: self._busy[u.uid])  # the first of the least busy
            self._busy[user.uid] += 1
            return user

    def _run(self, scratch, plan, env, timeout, memory, disk, user, on_progress=None) -> ChildResult:
        uid, gid = (user.uid, user.gid) if user is not None else (None, None)
        places = limits.places(user.home, uid) if user is not None else []  # where the user may leave files
        if user is not None:
            os.chown(scratch, uid, gid)  # the scratch is the child's user's own
        out_r, out_w = os.pipe()
        res_r, res_w = os.pipe()
        with self._lock:
            self._next_id += 1
            slot = {"id": self._next_id, "event": threading.Event(), "started": threading.Event(),
                    "reaped_event": threading.Event()}
            self._waiting[slot["id"]] = slot
        output, results = _TailReader(out_r), _LineReader(res_r, on_progress)
        output.start()
        results.start()
        started = time.monotonic()
        request = {"id": slot["id"], "scratch": str(scratch), "plan": plan, "env": env, "uid": uid, "gid": gid}
        with self.watchdog.unclaimed():
            try:
                with self._lock:
                    _send_frame(self.sock, request, fds=[out_w, res_w])
            finally:
                os.close(out_w)
                os.close(res_w)
            pid = slot["pid"] if slot["started"].wait(30) and "pid" in slot else None
            if pid is not None:
                self.watchdog.add(slot["id"], limits.Watch(pid, uid, str(scratch), memory, disk, tuple(places)))
        # The time limit is the student's: it starts when the child reports ready, after the
        # grader's own set-up (imports, loading the data), which gets SETUP_SECONDS of its own.
        while pid is not None and not results.ready.is_set() and not slot["event"].is_set() \
                and time.monotonic() - started < SETUP_SECONDS:
            results.ready.wait(0.05)
        student_start = time.monotonic()
        finished = slot["event"].wait(max(0.0, timeout - (time.monotonic() - student_start))) \
            if results.ready.is_set() else slot["event"].is_set()
        stopped = time.monotonic()
        watch = self.watchdog.remove(slot["id"])
        if pid is not None:  # the zygote kills the child's session and every stray, then cleans up (point 5)
            clean = {"gid": gid, "tops": places} if user is not None else None
            with self.watchdog.unclaimed():
                with self._lock:
                    _send_frame(self.sock, {"op": "reap", "id": slot["id"], "root": pid,
                                            "uid": uid if user is not None else -1, "clean": clean})
                slot["reaped_event"].wait(30 + limits.AS_USER_SECONDS)
            slot["event"].wait(10)
        output.join(10)
        results.join(10)
        with self._lock:
            self._waiting.pop(slot["id"], None)
        result = ChildResult(results.messages, output.text(), slot.get("status"), timed_out=not finished,
                             truncated=results.truncated, over=watch.over if watch else None,
                             progress=list(results.progress), started=student_start if results.ready.is_set() else None,
                             stopped=stopped, last_report=results.last_report)
        if slot.get("dead"):
            raise GraderError("the grader's zygote died while a group was being graded")
        if pid is None:
            raise GraderError(f"the grader's zygote could not start a child: {slot.get('error', 'no reply')}")
        if slot.get("clean_error"):
            raise GraderError(f"the grader could not remove what the student's code left in the shared places "
                              f"(as its grading user): {slot['clean_error']}")
        if result.over and not result.ready:
            raise GraderError(f"a sandboxed child was stopped during the grader's own set-up, before any student "
                              f"code ran: {result.over}. Raise --memory (or --disk)")
        if result.status == SANDBOX_FAILED and not result.ready:
            raise GraderError(f"a sandboxed child could not set itself up: {result.output.strip()[-2000:]}")
        return result


def _resolve_user(user: str) -> GradingUser:
    import pwd
    if os.geteuid() != 0:
        raise GraderError(f"--user {user} needs the grader to run as root (it runs as uid {os.geteuid()}); "
                          "run it with sudo, or leave --user out to run the student's code as yourself")
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise GraderError(f"--user {user}: no such user on this machine") from None
    if entry.pw_uid == 0:
        raise GraderError(f"--user {user} is root (uid 0): student code never runs as root")
    return GradingUser(user, entry.pw_uid, entry.pw_gid, entry.pw_dir)


PREFLIGHT = """
import io, os, sys
for path in sys.argv[1:]:  # what the student's code must read: utils.py, the data
    for root, _, names in os.walk(path) if os.path.isdir(path) else [("", [], [path])]:
        for name in names:
            open(os.path.join(root, name), "rb").close()
import numpy, sklearn.model_selection, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots(1, 2)
fig.savefig(io.BytesIO(), format="png")
import torch
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1).step()
print("ok")
"""


def _preflight_python(python, users, readable):
    """Refuse to grade when a grading user cannot run the configured Python and its packages,
    or cannot read what the student's code reads (utils.py, the data). The users are tried at
    once: seconds each."""
    homes, runs = [], []
    try:
        for user in users:
            home = tempfile.mkdtemp(prefix="grader-preflight-")  # the user's caches go here, then away
            homes.append(home)
            os.chown(home, user.uid, user.gid)
            try:
                runs.append(subprocess.Popen(
                    [python, "-I", "-c", PREFLIGHT, *readable], user=user.uid, group=user.gid, extra_groups=[],
                    cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "MPLCONFIGDIR": home,
                                  "LANG": "C.UTF-8"},
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            except OSError as exc:
                raise GraderError(f"the grading user {user.name} (uid {user.uid}) cannot run {python} "
                                  f"({exc.strerror}): {_python_needs(python, user)}") from None
        for user, run in zip(users, runs):
            try:
                out, err = run.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                run.kill()
                out, err = run.communicate()
            if run.returncode != 0 or out.strip() != "ok":
                last = ((err or out).strip().splitlines() or ["no output"])[-1]  # the exception, in one line
                raise GraderError(f"the grading user {user.name} (uid {user.uid}) cannot use {python} with the "
                                  f"course's packages (exit status {run.returncode}: {last[-500:]}): "
                                  f"{_python_needs(python, user)}")
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)


def _python_needs(python, user) -> str:
    """What ``user`` must be able to read to run ``python``, the first folder on the way that it
    cannot enter, and the fix: one sentence for the preflight's error."""
    real = Path(os.path.realpath(python))
    places = [real.parent.parent]  # the installation: the interpreter and the standard library
    cfg = Path(python).parent.parent / "pyvenv.cfg"
    if cfg.is_file():  # a virtual environment: its packages, and the installation its "home" names
        home = [v.strip() for k, _, v in (line.partition("=") for line in cfg.read_text().splitlines())
                if k.strip() == "home"]
        places = [cfg.parent, Path(home[0]).parent if home else places[0]]
    places = list(dict.fromkeys(str(p) for p in places))
    # Every folder from / down to python's folder, the interpreter's and each place (as given
    # and with links resolved), then the interpreter: tried as the user, so groups and ACLs count.
    tops = [Path(python).parent, real.parent, *map(Path, places), *(Path(p).resolve() for p in places)]
    walk = [str(d) for top in tops for d in [*reversed(top.parents), top]] + [str(real)]
    try:
        closed = subprocess.run(["/bin/sh", "-c", 'for p; do [ -x "$p" ] || { echo "$p"; exit; }; done', "sh",
                                 *dict.fromkeys(walk)], user=user.uid, group=user.gid, extra_groups=[], cwd="/",
                                capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        closed = ""
    return (f"{user.name} must be able to read this Python and its packages, {' and '.join(places)} "
            f"(every folder above them o+x, everything in them a+rX)"
            + (f", but {closed} is closed to it" if closed else "")
            + ". Put them where that user can read them (e.g. a virtual environment under /opt, made from "
              "a Python it can read, then chmod -R a+rX), or grade with a system Python whose packages are "
              "installed for all users")


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _TailReader(threading.Thread):
    """Drain a pipe, keeping its head and tail: megabytes of printing cost nothing."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd, self.head, self.tail, self.total = fd, b"", b"", 0

    def run(self):
        head_limit, tail_limit = MAX_OUTPUT
        try:
            while chunk := os.read(self.fd, 65536):
                self.total += len(chunk)
                if len(self.head) < head_limit:
                    room = head_limit - len(self.head)
                    self.head, chunk = self.head + chunk[:room], chunk[room:]
                if chunk:
                    self.tail = (self.tail + chunk)[-tail_limit:]
        finally:
            os.close(self.fd)

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {dropped} bytes of output left out ...]\n".encode() if dropped > 0 else b""
        return (self.head + middle + self.tail).decode("utf-8", "replace")


class _LineReader(threading.Thread):
    """Drain the results channel: JSON objects, one per line, at most MAX_RESULTS_BYTES in all.

    Progress messages are kept apart, with the time each arrived (the last PROGRESS_KEPT), and only
    as a run makes them: each epoch after the last, of the same total. The child shares its process
    with the student's code, which could write such messages itself; so a repeated or backward line
    counts for nothing, and ``on_progress`` hears of at most two a second (and the last epoch)."""

    def __init__(self, fd, on_progress=None):
        super().__init__(daemon=True)
        self.fd, self.messages, self.truncated = fd, [], False
        self.progress, self.on_progress, self.shown = deque(maxlen=PROGRESS_KEPT), on_progress, 0.0
        self.last_report = None  # when the last item result arrived
        self.ready = threading.Event()  # the child said it is set up (before any student code)

    def run(self):
        buffer, total = b"", 0
        try:
            while chunk := os.read(self.fd, 1 << 20):
                total += len(chunk)
                if total > MAX_RESULTS_BYTES:
                    self.truncated = True
                    continue  # keep draining so the writer never blocks; keep nothing more
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._take(line)
        finally:
            os.close(self.fd)

    def _take(self, line):
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            return
        if not isinstance(message, dict):
            return
        progress = message.get("progress")
        if isinstance(progress, dict):
            self._take_progress(progress.get("epoch"), progress.get("epochs"))
            return
        self.messages.append(message)
        if "ready" in message:
            self.ready.set()
        if "item" in message:
            self.last_report = time.monotonic()

    def _take_progress(self, epoch, epochs):
        last_epoch, last_epochs = self.progress[-1][1:] if self.progress else (0, epochs)
        if type(epoch) is not int or type(epochs) is not int or not last_epoch < epoch <= epochs == last_epochs:
            return
        now = time.monotonic()
        self.progress.append((now, epoch, epochs))
        if self.on_progress is not None and (now - self.shown >= 0.5 or epoch == epochs):
            self.shown = now
            try:
                self.on_progress(epoch, epochs)
            except Exception:  # noqa: BLE001 - showing progress must never stop the draining
                self.on_progress = None


# --------------------------------------------------------------------------- framing
def _send_frame(sock, obj, fds=()):
    data = json.dumps(obj).encode()
    header = struct.pack("!I", len(data))
    if fds:
        socket.send_fds(sock, [header], list(fds))
    else:
        sock.sendall(header)
    sock.sendall(data)


def _recv_exact(sock, n, fds=None):
    chunks, got = [], 0
    while got < n:
        if fds is not None and not got:
            data, received, _, _ = socket.recv_fds(sock, n - got, 4)
            fds.extend(received)
        else:
            data = sock.recv(n - got)
        if not data:
            return None
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def _recv_frame(sock, fds=None):
    header = _recv_exact(sock, 4, fds)
    if header is None:
        return None
    data = _recv_exact(sock, struct.unpack("!I", header)[0])
    return None if data is None else json.loads(data)


# --------------------------------------------------------------------------- zygote side
def _load(name, path):
    """The module in the file ``path``, as ``name`` (the zygote has no package to import from)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _load_probe(probe_path):
    """``probe.py`` and the ``wire.py`` beside it, as the modules ``sandboxed.probe`` and
    ``sandboxed.wire`` of a package with an empty path: the probe's ``from .wire import`` finds
    its module, and nothing else of the grader's folder can be imported through that package."""
    import types

    package = types.ModuleType("sandboxed")
    package.__path__ = []
    sys.modules["sandboxed"] = package
    _load("sandboxed.wire", os.path.join(os.path.dirname(probe_path), "wire.py"))
    return _load("sandboxed.probe", probe_path)


def _zygote(fd, probe_path, uids):
    """``python -I sandbox.py FD PROBE UIDS``: preload, then serve until the parent goes away.

    Requests: a child to fork (with its two pipes), or ``{"op": "reap"}`` when a group ends.
    The zygote is single-threaded and forks only here, so it knows exactly which children
    are groups still running: everything else it finds is a stray. ``UIDS``: the grading
    users, comma-separated (none: empty); each request says which one its child runs as.
    """
    import importlib

    sock = socket.socket(fileno=fd)
    probe = _load_probe(probe_path)
    for name in ("sklearn.model_selection", "matplotlib", "matplotlib.pyplot", "matplotlib.figure",
                 "torch", "torch.nn", "torch.optim", "torch._dynamo"):
        importlib.import_module(name)
    if sys.platform.startswith("linux"):  # adopt orphans, so detached processes stay findable
        import ctypes
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    base_path = list(sys.path)
    running: dict[int, tuple[int, str]] = {}  # child pid -> (request id, its scratch), until reaped
    _send_frame(sock, {"ready": True})
    while True:
        if select.select([sock], [], [], 0.05)[0]:
            fds: list[int] = []
            try:
                request = _recv_frame(sock, fds)
            except OSError:
                request = None
            if request is None:  # the parent is gone: nothing of the grading may outlive it
                _reap(running, uids, protect=set())
                break
            if request.get("op") == "reap":
                root = request["root"]
                if root in running:  # not reaped yet, so the pid (and its group) is still this child's
                    _kill_group(root)
                others = {pid: entry for pid, entry in running.items() if pid != root}
                _reap(running, {request["uid"]} - {-1}, protect=set(others))
                reply = {"id": request["id"], "reaped": True}
                if request.get("clean"):
                    reply["clean_error"] = _clean(request["uid"], request["clean"],
                                                  spare=[scratch for _, scratch in others.values()])
                _send_frame(sock, reply)
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            request["zygote"] = os.getpid()
            pid = os.fork()
            if pid == 0:
                _child(request, fds, probe, base_path)
            for f in fds:
                os.close(f)
            running[pid] = (request["id"], request["scratch"])
            _send_frame(sock, {"id": request["id"], "pid": pid})
        _wait_children(sock, running)
    os._exit(0)


def _wait_children(sock, running):
    """Reap every child and adopted orphan that ended; report the groups' children."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in running:
            try:
                _send_frame(sock, {"id": running.pop(pid)[0], "status": os.waitstatus_to_exitcode(status)})
            except OSError:
                pass


def _reap(running, uids, protect):
    """Kill every process below the zygote, and every process of the grading users ``uids``,
    except the ``protect``ed children (groups still running) and theirs. Repeats until a scan
    finds none: a dying stray may fork."""
    if not os.path.isdir("/proc"):
        return
    me = os.getpid()
    for _ in range(100):
        table = limits.process_table()
        safe = limits.subtrees(table, protect)
        victims = limits.subtrees(table, {me}) - {me}
        victims |= {pid for pid, entry in table.items() if entry.uid in uids}
        victims -= safe
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)


def _clean(uid, clean, spare) -> str | None:
    """Remove what the grading user left in the shared places and its home (point 5), acting
    as that user, sparing the scratch folders of groups still running; why it failed, if it
    did. The group's processes are dead by now (``_reap``), so none of them writes meanwhile."""
    try:
        limits.as_user(sys.executable, uid, clean["gid"], "clean",
                       {"tops": clean["tops"], "skip": [os.path.realpath(p) for p in spare]})
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _child(request, fds, probe, base_path):
    """In the forked child: apply the policy (module docstring, point 3), then run the probe."""
    try:
        os.setsid()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        out_w, res_w = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.dup2(res_w, 3)
        os.closerange(4, 1 << 16)  # the zygote's socket and every other descriptor
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        os.chdir(request["scratch"])
        if request["uid"] is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
            os.setgroups([])
            os.setgid(request["gid"])
            os.setuid(request["uid"])
            if os.getuid() == 0 or os.geteuid() == 0 or os.getuid() != request["uid"]:
                raise RuntimeError("could not drop to the grading user")
        if sys.platform.startswith("linux"):  # die with the zygote (set after setuid, which clears it)
            import ctypes
            ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
            if os.getppid() != request["zygote"]:
                raise RuntimeError("the zygote is gone")
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile
        tempfile.tempdir = None
        hidden = {str(HERE), str(HERE.parent)}  # the grader and the reference solution
        sys.path[:] = [p for p in base_path if p and os.path.abspath(p) not in hidden]
        sys.argv = ["probe"]
    except BaseException as exc:  # noqa: BLE001
        try:
            os.write(2, f"sandbox set-up failed: {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(SANDBOX_FAILED)
    probe.main(request["plan"], 3, os.path.abspath(request["scratch"]))


if __name__ == "__main__":
    limits = _load("grader_limits", LIMITS)
    _zygote(int(sys.argv[1]), sys.argv[2], {int(uid) for uid in sys.argv[3].split(",") if uid})
