"""A synthetic class for ``grader.similarity``: students who completed the course's skeleton.

The course's skeleton (HANDOUT.md, "Where the skeleton's regions are") is written once, in
tests/submissions/class/skeleton/: the provided code, with each place a student writes marked
by a slot line ``# @@ <name>`` (inside the ``YOUR CODE HERE`` region, or, for
``_cross_entropy``, where the body goes). Each student of tests/submissions/class/students/
is one text file of region bodies under ``@@ <file> <slot>`` headers. So the provided code is
the same in every submission, as in a real class, and only the student-written parts differ.

The class: eight independent students (INDEPENDENT), a ninth (ivo) whose
``plot_train_val_metrics`` is copied from emil (PARTIAL), and a disguised copy of chen
(DISGUISED: locals renamed, comments dropped, respaced).

    from synthetic_class import class_export, write_skeleton
    export = class_export(tmp_path)            # a Gradescope-style export, one submission per member
    skeleton = write_skeleton(tmp_path / "sk")  # the skeleton with empty regions: the boilerplate
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from synthetic_export import Entry, build_export, sources

from grader.rubric import SUBMISSION_FILES

CLASS = Path(__file__).resolve().parent / "submissions" / "class"
SKELETON = CLASS / "skeleton"
STUDENTS = CLASS / "students"
SLOT = re.compile(r"^(?P<indent>[ \t]*)# @@ (?P<name>\w+)[ \t]*$")
HEADER = re.compile(r"^@@ (?P<file>\S+) (?P<slot>\w+)\s*$")

INDEPENDENT = ("ada", "bruno", "chen", "dara", "emil", "farah", "goran", "hana")


@dataclass(frozen=True)
class PartialCopy:
    """``author``'s own work, except the ``slots`` of ``file``, which are ``source``'s."""
    author: str
    source: str
    file: str
    slots: tuple[str, ...]


@dataclass(frozen=True)
class DisguisedCopy:
    """``source``'s work with its locals renamed, its comments dropped and its spacing changed."""
    source: str
    renames: dict[str, str]


PARTIAL = PartialCopy("ivo", "emil", "pytorch_ann.py", ("plot_losses", "plot_accuracies"))
DISGUISED = DisguisedCopy("chen", {
    "second_shape": "shape_2", "zero": "zeros", "n_samples": "count", "log_likelihood": "log_p",
    "hidden_error": "back_err", "param": "p", "gradient": "g", "batch_probs": "probs",
    "predicted_classes": "preds", "true_classes": "targets", "correct": "right", "predicted": "pr", "true": "tr",
    "hidden_layer": "fc1", "output_layer": "fc2", "logits": "out", "batch_logits": "out_b",
    "batch_targets": "tgt", "scores": "sc", "history": "hist", "key": "k",
    "conv_block": "make_block", "in_channels": "c_in", "out_channels": "c_out"})
# Member name -> what it is; the export holds them in this order (ids 100001, 100002, ...).
MEMBERS = {**{name: "independent" for name in INDEPENDENT},
           "ivo": f"independent, but {PARTIAL.file}'s {' and '.join(PARTIAL.slots)} copied from {PARTIAL.source}",
           "chen_copy": f"a disguised copy of {DISGUISED.source}"}


def slots(text: str) -> list[str]:
    """The slot names of a skeleton file, in order."""
    return [m["name"] for m in map(SLOT.match, text.splitlines()) if m]


def skeleton_text(name: str) -> str:
    return (SKELETON / name).read_text(encoding="utf-8")


def bodies(student: str) -> dict[tuple[str, str], str]:
    """(file, slot) -> the student's code for it, unindented. The text before the first
    header describes the student; a header naming no slot of the skeleton is an error."""
    found: dict[tuple[str, str], list[str]] = {}
    current = None
    for line in (STUDENTS / f"{student}.txt").read_text(encoding="utf-8").splitlines():
        header = HEADER.match(line)
        if header:
            current = (header["file"], header["slot"])
            if current[0] not in SUBMISSION_FILES or current[1] not in slots(skeleton_text(current[0])):
                raise ValueError(f"{student}: no slot {current[1]!r} in the skeleton's {current[0]}")
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {key: "\n".join(lines).strip("\n") for key, lines in found.items()}


def render(student_bodies: dict[tuple[str, str], str]) -> dict[str, str]:
    """The three files: the skeleton with every slot line replaced by the student's code (indented
    to the slot); a slot the student has no code for is an error."""
    files = {}
    for name in SUBMISSION_FILES:
        out = []
        for line in skeleton_text(name).splitlines():
            slot = SLOT.match(line)
            if not slot:
                out.append(line)
                continue
            code = student_bodies.get((name, slot["name"]))
            if code is None:
                raise ValueError(f"no code for {name}'s slot {slot['name']!r}")
            out.extend(slot["indent"] + body if body.strip() else "" for body in code.splitlines())
        files[name] = "\n".join(out) + "\n"
    return files


def write_skeleton(dest: Path) -> Path:
    """The skeleton as the class received it, every region empty: the boilerplate of this class."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SUBMISSION_FILES:
        kept = [line for line in skeleton_text(name).splitlines() if not SLOT.match(line)]
        (dest / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    return dest


def disguise(code: str, renames: dict[str, str]) -> str:
    """What a student hiding a copy does: rename the locals, drop the comments, respace the
    operators and commas (indentation kept, so the code still runs)."""
    out = []
    for line in code.splitlines():
        line = re.sub(r"\s*#.*$", "", line)  # the bodies hold no '#' inside a string
        if not line.strip():
            continue
        for old, new in renames.items():
            line = re.sub(rf"\b{old}\b", new, line)
        indent = line[:len(line) - len(line.lstrip())]
        out.append(indent + re.sub(r"\s*([=+\-*/,<>])\s*", r"\1", line.lstrip()))
    return "\n".join(out)


def member_files(member: str) -> dict[str, str]:
    """The three files of a member of the class (a name of MEMBERS)."""
    if member == "chen_copy":
        return render({key: disguise(code, DISGUISED.renames) for key, code in bodies(DISGUISED.source).items()})
    own = bodies(member)
    if member == PARTIAL.author:
        copied = bodies(PARTIAL.source)
        own.update({(PARTIAL.file, slot): copied[(PARTIAL.file, slot)] for slot in PARTIAL.slots})
    return render(own)


def class_export(dest: Path, members=tuple(MEMBERS)) -> Path:
    """A folder export of the class under ``dest``; the submissions' ids follow ``members``."""
    return build_export(dest, [Entry(sources(member_files(m))) for m in members])


def submission_ids(members=tuple(MEMBERS), first_id: int = 100001) -> dict[str, str]:
    """Member name -> its submission id in :func:`class_export`."""
    return {member: str(first_id + i) for i, member in enumerate(members)}
