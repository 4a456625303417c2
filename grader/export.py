"""Read a Gradescope export (a zip or its unpacked folder) or a plain folder of submission folders.

Gradescope's "Export Submissions" gives ``assignment_<id>_export/``, holding
``submission_metadata.yml`` and one folder ``submission_<id>/`` per submission. The YAML is
keyed by ``submission_<id>``; Ruby wrote it, so its keys are symbols (``:submitters:``,
``:score:``, ``:results:`` ...). Without the YAML, every sub-folder is one submission.

Student files are never trusted. A folder export is graded in place (``grader.submission``
reads it safely). A zip export is never unpacked as it stands: for each submission, only the
members the grader reads (the three ``.py`` files, and ``.zip`` files two levels deep at most)
are written, as regular files under sanitized names, to a fresh private directory; links,
encrypted members and names such as ``..`` are skipped with a note.

    with open_export("assignment_123_export.zip") as export:
        for sub in export.submissions:
            with export.checkout(sub) as (folder, notes):
                ...
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from .rubric import SUBMISSION_FILES
from .submission import MAX_ARCHIVE_BYTES, MAX_ARCHIVE_MEMBERS, MAX_SOURCE_BYTES

METADATA = "submission_metadata.yml"
PREFIX = "submission_"
SKIPPED_NAMES = ("__MACOSX",)
UNSAFE = re.compile(r"[^\w.-]")
MAX_ZIP_DEPTH = 2  # where grader.submission looks for a student's own .zip inside a folder


class ExportError(ValueError):
    """The export cannot be read (not a folder or zip, bad YAML, clashing submission ids)."""


@dataclass(frozen=True)
class Submitter:
    name: str = ""
    sid: str = ""
    email: str = ""


@dataclass
class ExportedSubmission:
    """One submission of the export, with what Gradescope recorded about it."""
    id: str                                  # "123" for submission_123 (the folder name otherwise)
    key: str                                 # its folder name (and YAML key), e.g. "submission_123"
    submitters: list[Submitter] = field(default_factory=list)
    score: float | None = None               # Gradescope's recorded score
    status: str = ""                         # Gradescope's status, e.g. "processed"
    results: dict | None = None              # its results.json as Gradescope kept it

    @property
    def safe_id(self) -> str:
        """The id as a file name: what is not a letter, digit, ``_ . -`` becomes ``_``."""
        return safe_name(self.id)


def safe_name(text: str) -> str:
    return UNSAFE.sub("_", text).lstrip(".") or "_"


def open_export(path, ignore=()) -> Export:
    """The export at ``path`` (a ``.zip`` file or a folder); raises :class:`ExportError`.

    ``ignore``: folders that are not submissions even inside a folder export (the output folder).
    """
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return ZipExport(path)
    if path.is_dir():
        return FolderExport(path, {Path(p).resolve() for p in ignore})
    raise ExportError(f"{path} is neither a folder nor a .zip file")


class Export:
    """The submissions of an export, sorted by id; use as a context manager."""

    submissions: list[ExportedSubmission]
    has_metadata: bool

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Release what the export holds open (nothing for a folder)."""

    def checkout(self, sub: ExportedSubmission):
        """A context manager giving ``(folder, notes)``: a folder of the submission's files for
        :func:`grader.runner.grade`, and what was left out on the way (for the report's notes)."""
        raise NotImplementedError

    def _index(self, folders: list[str], metadata: dict | None):
        """The submissions: one per folder, and one per metadata entry (a missing folder is an
        empty submission, which the grader scores as nothing submitted)."""
        self.has_metadata = metadata is not None
        entries = dict.fromkeys(folders)
        entries.update(metadata or {})
        self.submissions = sorted((describe(key, entry) for key, entry in entries.items()),
                                  key=lambda s: natural_key(s.id))
        clashing = _clashes(self.submissions)
        if clashing:
            raise ExportError(f"these submission ids give the same file name: {clashing}")


class FolderExport(Export):
    def __init__(self, path: Path, ignore: set[Path]):
        def subdirs(folder: Path) -> list[str]:
            return [p.name for p in sorted(folder.iterdir()) if p.is_dir() and not p.is_symlink()
                    and not _skipped(p.name) and p.resolve() not in ignore]

        self.root = export_root(path, lambda p: (p / METADATA).is_file(), subdirs)
        metadata_file = self.root / METADATA
        metadata = parse_metadata(metadata_file.read_bytes()) if metadata_file.is_file() else None
        self._index(subdirs(self.root), metadata)

    @contextlib.contextmanager
    def checkout(self, sub):
        folder = self.root / sub.key
        if folder.is_dir() and not folder.is_symlink():
            yield folder, []
            return
        with tempfile.TemporaryDirectory(prefix="grader-export-") as empty:
            yield Path(empty), [f"the export holds no folder {sub.key}"]


class ZipExport(Export):
    def __init__(self, path: Path):
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ExportError(f"{path} is not a readable zip file: {exc}") from None
        entries = [(_member_path(m), m) for m in self.archive.infolist()]
        found = min((e for e in entries if e[0].name == METADATA), key=lambda e: len(e[0].parts), default=None)
        root = found[0].parent if found else _zip_root([name for name, _ in entries])
        self.members: dict[str, list[tuple[PurePosixPath, zipfile.ZipInfo]]] = {}  # folder -> (path in it, member)
        for name, member in entries:
            relative = _relative(name, root)
            if relative is not None and len(relative.parts) >= 2 and not _skipped(relative.parts[0]):
                self.members.setdefault(relative.parts[0], []).append((PurePosixPath(*relative.parts[1:]), member))
        metadata = parse_metadata(self.archive.read(found[1])) if found else None
        self._index(list(self.members), metadata)
        self._lock = threading.Lock()  # one member read at a time: the grading threads share the archive

    def close(self):
        self.archive.close()

    @contextlib.contextmanager
    def checkout(self, sub):
        with tempfile.TemporaryDirectory(prefix="grader-export-") as tmp:
            folder = Path(tmp)
            notes = [f"the export holds no folder {sub.key}"] if sub.key not in self.members else []
            with self._lock:
                notes += self._extract(self.members.get(sub.key, []), folder)
            yield folder, notes

    def _extract(self, members, dest: Path) -> list[str]:
        """Write the members the grader reads to ``dest`` as regular files; the notes say what was skipped."""
        notes, written = [], 0
        for relative, member in members:
            limit = _wanted(relative)
            if limit is None or member.is_dir():
                continue
            if written >= MAX_ARCHIVE_MEMBERS:
                notes.append(f"more than {MAX_ARCHIVE_MEMBERS} files to read; the rest were skipped")
                break
            problem = _member_problem(relative, member)
            if problem is None:
                problem = self._write(member, dest.joinpath(*relative.parts), limit)
            if problem:
                notes.append(f"{relative}: {problem}; skipped")
            else:
                written += 1
        return notes

    def _write(self, member, target: Path, limit: int) -> str | None:
        """Copy at most ``limit + 1`` bytes (so that the grader still sees an oversized file as
        too large) into a new file, never through an existing name or link."""
        try:
            with self.archive.open(member) as source:
                data = source.read(limit + 1)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
            return f"unreadable ({exc})"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return "a second file of that name"
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return None


# --------------------------------------------------------------------------- the metadata
class _MetadataLoader(yaml.SafeLoader):
    """PyYAML's safe loader, plus: a Ruby tag (``!ruby/object:...``, ``!ruby/hash:...``) gives
    the plain value it tags, instead of refusing the file (nothing is ever instantiated)."""


def _untagged(loader, _suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_MetadataLoader.add_multi_constructor("!", _untagged)


def parse_metadata(text: str | bytes) -> dict:
    """``submission_<id>`` -> its entry, keys without Ruby's leading colon (``submitters`` ...)."""
    try:
        data = yaml.load(text, Loader=_MetadataLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ExportError(f"{METADATA} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ExportError(f"{METADATA} should map submission_<id> to its entry, not hold a {type(data).__name__}")
    return {str(key): symbol_keys_stripped(value) for key, value in data.items()}


def symbol_keys_stripped(value):
    """The value with every mapping key's leading ``:`` removed (Ruby symbols), recursively."""
    if isinstance(value, dict):
        return {str(k).lstrip(":"): symbol_keys_stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [symbol_keys_stripped(v) for v in value]
    return value


def describe(key: str, entry) -> ExportedSubmission:
    """An :class:`ExportedSubmission` from its folder name and metadata entry (None without one)."""
    entry = entry if isinstance(entry, dict) else {}
    submitters = [Submitter(*(_text(s.get(k)) for k in ("name", "sid", "email")))
                  for s in entry.get("submitters") or [] if isinstance(s, dict)]
    results = entry.get("results")
    return ExportedSubmission(id=key[len(PREFIX):] if key.startswith(PREFIX) and len(key) > len(PREFIX) else key,
                              key=key, submitters=submitters, score=as_number(entry.get("score")),
                              status=_text(entry.get("status")), results=results if isinstance(results, dict) else None)


def as_number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value) -> str:
    return "" if value is None else str(value)


def natural_key(text: str):
    """Sort "9" before "10", and ids that are not numbers after those that are."""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _clashes(submissions) -> list[str]:
    seen: dict[str, str] = {}
    clashing = []
    for sub in submissions:
        if sub.safe_id in seen:
            clashing.append(f"{seen[sub.safe_id]!r} and {sub.id!r}")
        seen.setdefault(sub.safe_id, sub.id)
    return clashing


# --------------------------------------------------------------------------- layout
def export_root(path, has_metadata, children):
    """``path``, or its one ``assignment_<id>_export`` child when ``path`` is the folder around it."""
    if has_metadata(path):
        return path
    inner = [c for c in children(path) if re.fullmatch(r"assignment_\w+_export", c)]
    if len(inner) == 1 and len(children(path)) == 1:
        return path / inner[0]
    return path


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_NAMES


def _member_path(member: zipfile.ZipInfo) -> PurePosixPath:
    return PurePosixPath(member.filename.replace("\\", "/").lstrip("/"))


def _zip_root(names: list[PurePosixPath]) -> PurePosixPath:
    """The zip's root, or its one ``assignment_<id>_export`` folder when everything is inside it."""
    tops = {p.parts[0] for p in names if p.parts and not _skipped(p.parts[0])}
    if len(tops) == 1:
        top = next(iter(tops))
        if re.fullmatch(r"assignment_\w+_export", top):
            return PurePosixPath(top)
    return PurePosixPath()


def _relative(name: PurePosixPath, root: PurePosixPath) -> PurePosixPath | None:
    try:
        return name.relative_to(root)
    except ValueError:
        return None


def _wanted(relative: PurePosixPath) -> int | None:
    """The byte limit of a member the grader reads (a source file, a student's .zip), else None."""
    if relative.name in SUBMISSION_FILES:
        return MAX_SOURCE_BYTES
    if relative.name.lower().endswith(".zip") and len(relative.parts) <= MAX_ZIP_DEPTH + 1:
        return MAX_ARCHIVE_BYTES
    return None


def _member_problem(relative: PurePosixPath, member: zipfile.ZipInfo) -> str | None:
    """Why a member is not written out (None: it is safe to write under its own name)."""
    if any(part in ("", ".", "..") or part != safe_path_part(part) for part in relative.parts):
        return "an unusual file name"
    if any(part in SKIPPED_NAMES for part in relative.parts):
        return "inside a __MACOSX folder"
    if stat.S_ISLNK(member.external_attr >> 16):
        return "a symbolic link"
    if member.flag_bits & 0x1:
        return "encrypted"
    return None


def safe_path_part(part: str) -> str:
    """A path component as it may be written: printable, no separators, not too long."""
    return part if part.isprintable() and "/" not in part and "\\" not in part and len(part) <= 200 else ""
