"""Find a student's three files in what they handed in: a folder, a zipped folder, or a .zip.

Nothing is unpacked to disk. The grader reads each file it needs by name (the shallowest copy
wins; ``__MACOSX`` is ignored) into memory, so an archive's paths never reach the file system
and cannot escape anything. Only regular files are read: a symbolic link (in a folder or an
archive) is skipped, and files are opened with ``O_NOFOLLOW``, so a link cannot make the
grader, running as root, copy another file into the student's sandbox. Limits: 1 MB per
source file, 50 MB per archive, 2,000 archive members; over a limit the file is refused, and
the notes say why.

A file whose name is a near miss of an expected one (:func:`near_name`: ``numpyann.py``,
``Numpy_ANN.py``, ``numpy_ann (1).py``, ``numpy_ann.py.txt``) is not graded as that file unless
``accept_near_names``; either way the submission says what was found, so that the items it
costs can say so and staff can decide.
"""
from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .rubric import SUBMISSION_FILES

MAX_SOURCE_BYTES = 1_000_000
MAX_ARCHIVE_BYTES = 50 * 2**20
MAX_ARCHIVE_MEMBERS = 2000
NEAR = " (near name)"  # ends the source of a file graded under a name it nearly has


@dataclass
class Submission:
    files: dict[str, bytes] = field(default_factory=dict)   # file name -> its bytes
    sources: dict[str, str] = field(default_factory=dict)   # file name -> where it was found
    notes: list[str] = field(default_factory=list)
    near: dict[str, str] = field(default_factory=dict)      # expected name -> a near-named file found instead
    accept_near_names: bool = False                         # grade such a file as the expected one


def near_name(name: str) -> str | None:
    """The expected file ``name`` nearly is (another case, a missing or extra underscore, a ``(1)``
    copy, a ``.py.txt`` suffix), or None.

    >>> [near_name(n) for n in ("numpyann.py", "PyTorch_ANN.py", "pytorch_cnn (1).py", "numpy_ann.py.txt")]
    ['numpy_ann.py', 'pytorch_ann.py', 'pytorch_cnn.py', 'numpy_ann.py']
    >>> near_name("numpy_ann.py"), near_name("helpers.py")
    (None, None)
    """
    key = re.sub(r"\.py\.txt$", ".py", name.lower())
    key = re.sub(r"\s*\(\d+\)(?=\.py$)", "", key).replace("_", "").replace("-", "").replace(" ", "")
    return next((expected for expected in SUBMISSION_FILES
                 if key == expected.replace("_", "") and name != expected), None)


def collect(path, accept_near_names: bool = False) -> Submission:
    """The submission's files from a directory (searched recursively) or a .zip file."""
    path = Path(path)
    found = Submission(accept_near_names=accept_near_names)
    if path.is_file() and not path.is_symlink() and path.suffix == ".zip":
        _from_zip(path, found, label=path.name)
    elif path.is_dir():
        _from_directory(path, found)
    else:
        found.notes.append(f"{path} is neither a directory nor a .zip file")
    for expected, where in list(found.near.items()):
        if expected not in found.files:
            continue  # not graded: the items it costs say so (grader.runner)
        if found.sources[expected].endswith(NEAR):
            found.notes.append(f"{where} was graded as {expected} (--accept-near-names)")
        else:
            del found.near[expected]  # the right name was there too, and is the one graded
    return found


def _take_near(found: Submission, name: str, label: str) -> str | None:
    """The expected name ``name`` stands for, if it is a near name not seen yet; remembered either way."""
    expected = near_name(name)
    if expected is None or expected in found.near:
        return None
    found.near[expected] = label
    return expected if found.accept_near_names else None


def _from_directory(root: Path, found: Submission):
    candidates: dict[str, list[tuple[bool, int, str]]] = {}  # name -> (a near name?, depth, path)
    archives: list[tuple[int, str]] = []
    for directory, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != "__MACOSX")
        depth = len(Path(directory).relative_to(root).parts)
        for name in names:
            full = os.path.join(directory, name)
            if name in SUBMISSION_FILES:
                candidates.setdefault(name, []).append((False, depth, full))
            elif name.lower().endswith(".zip") and depth <= 2:
                archives.append((depth, full))
            elif (expected := _take_near(found, name, os.path.relpath(full, root))) is not None:
                candidates.setdefault(expected, []).append((True, depth, full))
    for name in SUBMISSION_FILES:
        for near, _, full in sorted(candidates.get(name, [])):  # the right name first, then shallowest
            data = _read_regular(full, found, name)
            if data is not None:
                found.files[name] = data
                found.sources[name] = os.path.relpath(full, root) + (NEAR if near else "")
                break
    for _, archive in sorted(archives):
        if all(name in found.files for name in SUBMISSION_FILES):
            break
        _from_zip(Path(archive), found, label=os.path.relpath(archive, root))


def _read_regular(path, found, name) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        found.notes.append(f"{name} could not be read ({'a symbolic link' if os.path.islink(path) else exc.strerror}); "
                           "the grader reads only regular files")
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            found.notes.append(f"{name} is not a regular file; skipped")
            return None
        if info.st_size > MAX_SOURCE_BYTES:
            found.notes.append(f"{name} is {info.st_size:,} bytes; the grader reads source files up to "
                               f"{MAX_SOURCE_BYTES:,} bytes")
            return None
        return f.read(MAX_SOURCE_BYTES + 1)[:MAX_SOURCE_BYTES]


def _from_zip(path: Path, found: Submission, label: str):
    data = _read_archive(path, found, label)
    if data is None:
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        found.notes.append(f"{label} is not a readable .zip file ({exc}); refused")
        return
    if len(members) > MAX_ARCHIVE_MEMBERS:
        found.notes.append(f"{label} holds {len(members):,} files; the grader reads archives of up to "
                           f"{MAX_ARCHIVE_MEMBERS:,}; refused")
        return
    wanted = {}
    for member in members:
        parts = member.filename.replace("\\", "/").split("/")
        name = parts[-1]
        if "__MACOSX" in parts or member.is_dir():
            continue
        near = name not in SUBMISSION_FILES
        if near:
            name = _take_near(found, name, f"{label}: {member.filename}")
            if name is None:
                continue
        if name in found.files:
            continue
        if stat.S_ISLNK(member.external_attr >> 16):
            found.notes.append(f"{label}: {member.filename} is a symbolic link; skipped")
            continue
        wanted.setdefault(name, []).append((near, len(parts), member.filename, member))
    for name, options in wanted.items():
        for near, _, _, member in sorted(options, key=lambda o: o[:3]):  # the right name first, then shallowest
            if member.flag_bits & 0x1:
                found.notes.append(f"{label}: {member.filename} is encrypted; skipped")
                continue
            if member.file_size > MAX_SOURCE_BYTES:
                found.notes.append(f"{label}: {member.filename} is {member.file_size:,} bytes; the grader reads "
                                   f"source files up to {MAX_SOURCE_BYTES:,} bytes")
                continue
            try:
                with archive.open(member) as f:
                    content = f.read(MAX_SOURCE_BYTES + 1)  # never more, whatever the header claims
            except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
                found.notes.append(f"{label}: {member.filename} could not be read ({exc})")
                continue
            if len(content) > MAX_SOURCE_BYTES:
                found.notes.append(f"{label}: {member.filename} is over {MAX_SOURCE_BYTES:,} bytes; skipped")
                continue
            found.files[name] = content
            found.sources[name] = f"{label}: {member.filename}" + (NEAR if near else "")
            break


def _read_archive(path: Path, found: Submission, label: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        found.notes.append(f"{label} could not be read ({exc.strerror}); refused")
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ARCHIVE_BYTES:
            found.notes.append(f"{label} is not a regular file of at most {MAX_ARCHIVE_BYTES // 2**20} MB; refused")
            return None
        return f.read(MAX_ARCHIVE_BYTES + 1)
