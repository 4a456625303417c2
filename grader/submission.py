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


@dataclass
class Submission:
    files: dict[str, bytes] = field(default_factory=dict)   # file name -> its bytes
    sources: dict[str, str] = field(default_factory=dict)   # file name -> where it was found
    notes: list[str] = field(default_factory=list)
    near: dict[str, str] = field(default_factory=dict)      # missing name -> where a near-named file was found


def near_name(name: str) -> str | None:
    """The expected file ``name`` nearly is (another case, a missing or extra underscore, a ``(1)``
    copy, a ``.py.txt`` or ``.py.py`` suffix), or None.

    >>> [near_name(n) for n in ("numpyann.py", "PyTorch_ANN.py", "pytorch_cnn (1).py", "numpy_ann.py.txt")]
    ['numpy_ann.py', 'pytorch_ann.py', 'pytorch_cnn.py', 'numpy_ann.py']
    >>> near_name("numpy_ann.py"), near_name("helpers.py")
    (None, None)
    """
    key = re.sub(r"\.py\.(txt|py)$", ".py", name.lower())
    key = re.sub(r"\s*\(\d+\)(?=\.py$)", "", key).replace("_", "").replace("-", "").replace(" ", "")
    return next((expected for expected in SUBMISSION_FILES
                 if key == expected.replace("_", "") and name != expected), None)


def problem(path) -> str | None:
    """Why ``path`` cannot be a submission, or None: it must be a folder, or a .zip file that is one
    (not a link to one: the grader, as root, reads no link)."""
    path = Path(path)
    if path.is_symlink():
        return f"the submission {str(path)!r} is a symbolic link; give the folder or .zip it points to"
    if not path.exists():
        return f"the submission {str(path)!r} does not exist (expected a folder holding the student's files, or a .zip)"
    if path.is_dir() or path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        return None
    return f"the submission {str(path)!r} is neither a folder nor a .zip file"


def collect(path, accept_near_names: bool = False) -> Submission:
    """The submission's files from a directory (searched recursively) or a .zip file: first by their
    own names everywhere (loose files, then zips inside), then near names for what is still missing."""
    path = Path(path)
    found = Submission()
    if problem(path):
        found.notes.append(problem(path))
        return found
    _search(path, found, lambda name: name if name in SUBMISSION_FILES else None)
    missing = [name for name in SUBMISSION_FILES if name not in found.files]
    if missing:
        near = Submission()  # the same search, for names near a missing one
        _search(path, near, lambda name: expected if (expected := near_name(name)) in missing else None)
        found.near = dict(near.sources)
        if accept_near_names:
            found.files.update(near.files)
            found.sources.update(near.sources)
            found.notes += [f"{where} was graded as {expected} (--accept-near-names)" for expected, where in
                            near.sources.items()]
    return found


def _search(path: Path, found: Submission, match):
    """Fill ``found`` with the files whose names ``match`` maps to an expected name."""
    if path.is_dir():
        _from_directory(path, found, match)
    else:
        _from_zip(path, found, path.name, match)


def _from_directory(root: Path, found: Submission, match):
    candidates: dict[str, list[tuple[int, str]]] = {}  # expected name -> (depth, path)
    archives: list[tuple[int, str]] = []
    for directory, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != "__MACOSX")
        depth = len(Path(directory).relative_to(root).parts)
        for name in sorted(names):
            full = os.path.join(directory, name)
            if expected := match(name):
                candidates.setdefault(expected, []).append((depth, full))
            elif name.lower().endswith(".zip") and depth <= 2:
                archives.append((depth, full))
    for name, options in candidates.items():
        for _, full in sorted(options):  # the shallowest first
            data = _read_regular(full, found, name)
            if data is not None:
                found.files[name] = data
                found.sources[name] = os.path.relpath(full, root)
                break
    for _, archive in sorted(archives):
        if all(name in found.files for name in SUBMISSION_FILES):
            break  # nothing left to look for in zips
        _from_zip(Path(archive), found, os.path.relpath(archive, root), match)


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


def _from_zip(path: Path, found: Submission, label: str, match):
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
        name = match(parts[-1])
        if name is None or name in found.files or "__MACOSX" in parts or member.is_dir():
            continue
        if stat.S_ISLNK(member.external_attr >> 16):
            found.notes.append(f"{label}: {member.filename} is a symbolic link; skipped")
            continue
        wanted.setdefault(name, []).append((len(parts), member.filename, member))
    for name, options in wanted.items():
        for _, _, member in sorted(options, key=lambda o: o[:2]):  # the shallowest first
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
            found.sources[name] = f"{label}: {member.filename}"
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
