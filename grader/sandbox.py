"""The grader's isolation policy, top to bottom: how student code runs, and what it cannot do.

1. **A trusted parent, an untrusted child.** The parent (``python -m grader``) holds every
   expected value and computes every score (``grader/checks/``). Student code runs only in
   children, which report raw values (``grader/probe.py``) and decide nothing.
2. **A zygote forks the children.** Importing torch costs seconds, so one *zygote* process
   imports the course's packages once and forks a child per group of items. It is started
   with ``python -I`` on this file and loads only this file, ``probe.py`` and third-party
   packages: no judge code, no expected value, no test label is ever in a child's memory.
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
   with ``--user``, every process of the grading user outside those groups. The grading
   user must run nothing else: README says so.
6. **Time.** A group's time limit is the student's: it starts when the child reports
   ``ready``, after the grader's own set-up (imports, loading the data).
7. **Refusals.** With ``--user``, the grader must be root, the user must exist and not be
   root, and the configured Python must work for that user (checked by running it as that
   user, reading utils.py and the data, importing and plotting). Otherwise
   :class:`GraderError`, and no student code runs. A child that dies before reporting
   ``ready`` is a grader failure too, never the student's.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE = HERE / "probe.py"
MAX_FILE_BYTES = 200 * 2**20       # the largest file student code may write
MAX_PROCESSES = 512                # per grading user (RLIMIT_NPROC): no fork bomb
MAX_OUTPUT = (4000, 12000)         # bytes of a child's stdout kept: head, tail
MAX_RESULTS_BYTES = 64 * 2**20     # of one child's results channel
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

    @property
    def ready(self) -> bool:
        return any("ready" in m for m in self.messages)

    def probe_error(self) -> str | None:
        return next((m["probe_error"] for m in self.messages if "probe_error" in m), None)


class Sandbox:
    """A zygote and the children it forks. Use as a context manager; ``run`` is thread-safe."""

    def __init__(self, user: str | None = None, python: str = sys.executable, readable=()):
        self.user, self.python, self.readable = user, python, [str(p) for p in readable]
        self.uid = self.gid = None
        if user is not None:
            self.uid, self.gid = _resolve_user(user)
        self.proc = None
        self.sock = None
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._waiting: dict[int, dict] = {}
        self._next_id = 0

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
        if self.uid is not None:
            _preflight_python(self.python, self.uid, self.gid, self.readable)
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.home = tempfile.mkdtemp(prefix="grader-zygote-")  # its caches (matplotlib's fonts), private
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENBLAS_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "MPLCONFIGDIR": self.home, "TMPDIR": self.home, "HOME": self.home}
        uid = -1 if self.uid is None else self.uid
        self.proc = subprocess.Popen([self.python, "-I", str(HERE / "sandbox.py"), str(child_sock.fileno()), str(PROBE),
                                      str(uid)],
                                     pass_fds=(child_sock.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        child_sock.close()
        self.sock = parent_sock
        hello = _recv_frame(self.sock)
        if not hello or not hello.get("ready"):
            output = self.proc.stdout.read().decode("utf-8", "replace")[-3000:] if self.proc.stdout else ""
            self.close()
            raise GraderError(f"the grader's zygote ({self.python}) did not start: {output.strip() or hello}")
        threading.Thread(target=self._dispatch, daemon=True).start()

    def close(self):
        """Close the zygote's socket: it kills every child, stray and process of the grading
        user, then exits (killed if it has not within 30 s)."""
        if self.proc is None:
            return
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
    def run(self, scratch: Path, plan: dict, env: dict, timeout: float) -> ChildResult:
        """Fork a child for ``plan`` in ``scratch``; wait at most ``timeout`` seconds; clean up."""
        self.start()
        out_r, out_w = os.pipe()
        res_r, res_w = os.pipe()
        with self._lock:
            self._next_id += 1
            slot = {"id": self._next_id, "event": threading.Event(), "started": threading.Event(),
                    "reaped_event": threading.Event()}
            self._waiting[slot["id"]] = slot
        output, results = _TailReader(out_r), _LineReader(res_r)
        output.start()
        results.start()
        started = time.monotonic()
        request = {"id": slot["id"], "scratch": str(scratch), "plan": plan, "env": env,
                   "uid": self.uid, "gid": self.gid}
        try:
            with self._lock:
                _send_frame(self.sock, request, fds=[out_w, res_w])
        finally:
            os.close(out_w)
            os.close(res_w)
        pid = slot["pid"] if slot["started"].wait(30) and "pid" in slot else None
        # The time limit is the student's: it starts when the child reports ready, after the
        # grader's own set-up (imports, loading the data), which gets SETUP_SECONDS of its own.
        while pid is not None and not results.ready.is_set() and not slot["event"].is_set() \
                and time.monotonic() - started < SETUP_SECONDS:
            results.ready.wait(0.05)
        student_start = time.monotonic()
        finished = slot["event"].wait(max(0.0, timeout - (time.monotonic() - student_start))) \
            if results.ready.is_set() else slot["event"].is_set()
        if pid is not None:  # the zygote kills the child's session and every stray (point 5)
            with self._lock:
                _send_frame(self.sock, {"op": "reap", "id": slot["id"], "root": pid})
            slot["reaped_event"].wait(30)
            slot["event"].wait(10)
        output.join(10)
        results.join(10)
        with self._lock:
            self._waiting.pop(slot["id"], None)
        result = ChildResult(results.messages, output.text(), slot.get("status"), timed_out=not finished,
                             truncated=results.truncated)
        if slot.get("dead"):
            raise GraderError("the grader's zygote died while a group was being graded")
        if pid is None:
            raise GraderError(f"the grader's zygote could not start a child: {slot.get('error', 'no reply')}")
        if result.status == SANDBOX_FAILED and not result.ready:
            raise GraderError(f"a sandboxed child could not set itself up: {result.output.strip()[-2000:]}")
        return result


def _resolve_user(user: str):
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
    return entry.pw_uid, entry.pw_gid


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


def _preflight_python(python, uid, gid, readable):
    """Refuse to grade when the grading user cannot run the configured Python and its packages,
    or cannot read what the student's code reads (utils.py, the data)."""
    home = tempfile.mkdtemp(prefix="grader-preflight-")  # the user's caches go here, then away
    os.chown(home, uid, gid)
    try:
        done = subprocess.run([python, "-I", "-c", PREFLIGHT, *readable], user=uid, group=gid, extra_groups=[],
                              cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home,
                                            "MPLCONFIGDIR": home, "LANG": "C.UTF-8"},
                              capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GraderError(f"the grading user (uid {uid}) cannot run {python}: {exc}") from None
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0 or done.stdout.strip() != "ok":
        raise GraderError(f"the grading user (uid {uid}) cannot use {python} with the course's packages "
                          f"(exit status {done.returncode}): {(done.stderr or done.stdout).strip()[-1500:]}. "
                          "Make the Python installation readable by that user (chmod -R a+rX), or pass a "
                          "Python it can run")


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, uid) of every live process, from /proc (zombies are already dead)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                fields = dict(line.split(b":", 1) for line in f.read().splitlines() if b":" in line)
            if fields[b"State"].split()[0] != b"Z":
                table[int(name)] = (int(fields[b"PPid"]), int(fields[b"Uid"].split()[0]))
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return table


def _subtrees(table, roots) -> set[int]:
    """The roots and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


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
    """Drain the results channel: JSON objects, one per line, at most MAX_RESULTS_BYTES in all."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd, self.messages, self.truncated = fd, [], False
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
        if isinstance(message, dict):
            self.messages.append(message)
            if "ready" in message:
                self.ready.set()


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
def _zygote(fd, probe_path, uid):
    """``python -I sandbox.py FD PROBE UID``: preload, then serve until the parent goes away.

    Requests: a child to fork (with its two pipes), or ``{"op": "reap"}`` when a group ends.
    The zygote is single-threaded and forks only here, so it knows exactly which children
    are groups still running: everything else it finds is a stray.
    """
    import importlib.util

    sock = socket.socket(fileno=fd)
    spec = importlib.util.spec_from_file_location("grader_probe", probe_path)
    probe = importlib.util.module_from_spec(spec)
    sys.modules["grader_probe"] = probe
    spec.loader.exec_module(probe)
    for name in ("sklearn.model_selection", "matplotlib", "matplotlib.pyplot", "matplotlib.figure",
                 "torch", "torch.nn", "torch.optim", "torch._dynamo"):
        importlib.import_module(name)
    if sys.platform.startswith("linux"):  # adopt orphans, so detached processes stay findable
        import ctypes
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    base_path = list(sys.path)
    running: dict[int, int] = {}  # child pid -> request id, until reaped
    _send_frame(sock, {"ready": True})
    while True:
        if select.select([sock], [], [], 0.05)[0]:
            fds: list[int] = []
            try:
                request = _recv_frame(sock, fds)
            except OSError:
                request = None
            if request is None:  # the parent is gone: nothing of the grading may outlive it
                _reap(running, uid, protect=set())
                break
            if request.get("op") == "reap":
                root = request["root"]
                if root in running:  # not reaped yet, so the pid (and its group) is still this child's
                    _kill_group(root)
                _reap(running, uid, protect=set(running) - {root})
                _send_frame(sock, {"id": request["id"], "reaped": True})
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            request["zygote"] = os.getpid()
            pid = os.fork()
            if pid == 0:
                _child(request, fds, probe, base_path)
            for f in fds:
                os.close(f)
            running[pid] = request["id"]
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
                _send_frame(sock, {"id": running.pop(pid), "status": os.waitstatus_to_exitcode(status)})
            except OSError:
                pass


def _reap(running, uid, protect):
    """Kill every process below the zygote, and every process of the grading user, except the
    ``protect``ed children (groups still running) and theirs. Repeats until a scan finds none:
    a dying stray may fork."""
    if not os.path.isdir("/proc"):
        return
    me = os.getpid()
    for _ in range(100):
        table = _process_table()
        safe = _subtrees(table, protect)
        victims = _subtrees(table, {me}) - {me}
        if uid >= 0:
            victims |= {pid for pid, (_, owner) in table.items() if owner == uid}
        victims -= safe
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)


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
    _zygote(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
