"""Find a student's three files in what they handed in: a folder, a zipped folder, or a .zip.

Nothing is unpacked to disk. The grader reads each file it needs by name (the shallowest copy
wins; ``__MACOSX`` is ignored) into memory, so an archive's paths never reach the file system
and cannot escape anything. Only regular files are read: a symbolic link (in a folder or an
archive) is skipped, and files are opened with ``O_NOFOLLOW``, so a link cannot make the
grader, running as root, copy another file into the student's sandbox. Limits: 1 MB per
source file, 50 MB per archive, 2,000 archive members; over a limit the file is refused, and
the notes say why.
"""
from __future__ import annotations

import io
import os
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


def collect(path) -> Submission:
    """The submission's files from a directory (searched recursively) or a .zip file."""
    path = Path(path)
    found = Submission()
    if path.is_file() and not path.is_symlink() and path.suffix == ".zip":
        _from_zip(path, found, label=path.name)
    elif path.is_dir():
        _from_directory(path, found)
    else:
        found.notes.append(f"{path} is neither a directory nor a .zip file")
    return found


def _from_directory(root: Path, found: Submission):
    candidates: dict[str, list[tuple[int, str]]] = {}
    archives: list[tuple[int, str]] = []
    for directory, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != "__MACOSX")
        depth = len(Path(directory).relative_to(root).parts)
        for name in names:
            if name in SUBMISSION_FILES:
                candidates.setdefault(name, []).append((depth, os.path.join(directory, name)))
            elif name.lower().endswith(".zip") and depth <= 2:
                archives.append((depth, os.path.join(directory, name)))
    for name in SUBMISSION_FILES:
        for _, full in sorted(candidates.get(name, [])):
            data = _read_regular(full, found, name)
            if data is not None:
                found.files[name] = data
                found.sources[name] = os.path.relpath(full, root)
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
        if name not in SUBMISSION_FILES or name in found.files or "__MACOSX" in parts or member.is_dir():
            continue
        if stat.S_ISLNK(member.external_attr >> 16):
            found.notes.append(f"{label}: {member.filename} is a symbolic link; skipped")
            continue
        wanted.setdefault(name, []).append((len(parts), member.filename, member))
    for name, options in wanted.items():
        for _, _, member in sorted(options, key=lambda o: o[:2]):
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
