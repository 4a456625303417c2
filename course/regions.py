"""The skeleton's one kind of mark, and what follows from it: a solution file is the handout with
its regions filled in, so the handout is a solution file with its regions blanked.

A region is the lines between ``# >>> YOUR CODE HERE >>>`` and ``# <<< END OF YOUR CODE <<<``.
Everything outside the regions is the skeleton's provided code, the same in the solution and in
the handout. :func:`blank` gives the handout's text; :func:`layout_problems` holds a text to the
contract (``course.contract``); :func:`solution_lines` lists what students write.
"""
from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass

from .contract import CONTRACT, REGION

REGION_START, REGION_END = "# >>> YOUR CODE HERE >>>", "# <<< END OF YOUR CODE <<<"


class MarkError(ValueError):
    """The region marks do not pair up, or a region lies outside every function."""


@dataclass(frozen=True)
class Region:
    """One region: its function's qualified name, its marks' indent and line indices, its lines."""
    qualname: str
    indent: str
    start: int          # index of the opening mark's line
    end: int            # index of the closing mark's line
    code: tuple         # the lines between the marks


def regions(text: str, name: str = "<text>") -> list[Region]:
    """Every region of ``text``, in order; MarkError when the marks do not pair up."""
    lines = text.splitlines()
    owners = function_owners(text)
    found, start = [], None
    for i, line in enumerate(lines):
        mark = line.strip()
        if mark == REGION_START:
            if start is not None:
                raise MarkError(f"{name}, line {i + 1}: a region opens inside the region of line {start + 1}")
            start = i
        elif mark == REGION_END:
            if start is None:
                raise MarkError(f"{name}, line {i + 1}: {REGION_END} without its opening mark")
            if start + 1 not in owners:
                raise MarkError(f"{name}, line {start + 1}: a region outside every function")
            indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
            found.append(Region(owners[start + 1], indent, start, i, tuple(lines[start + 1:i])))
            start = None
    if start is not None:
        raise MarkError(f"{name}, line {start + 1}: {REGION_START} is never closed by {REGION_END}")
    return found


def blank(text: str, name: str = "<text>") -> str:
    """The handout's text: every region's body replaced by a placeholder that fails clearly."""
    lines = text.splitlines()
    for region in reversed(regions(text, name)):
        placeholder = f'{region.indent}raise NotImplementedError("{region.qualname}: your code here")'
        lines[region.start + 1:region.end] = [placeholder]
    return "\n".join(lines) + "\n"


def solution_lines(text: str, name: str = "<text>") -> list[tuple[str, str]]:
    """(qualified name, line) for every line written inside a region."""
    return [(region.qualname, line) for region in regions(text, name) for line in region.code]


def outside_regions(text: str, name: str = "<text>") -> list[str]:
    """The provided code: every line outside the regions (the marks kept, the bodies left out)."""
    lines = text.splitlines()
    for region in reversed(regions(text, name)):
        del lines[region.start + 1:region.end]
    return lines


def provided_digest(text: str, name: str = "<text>") -> str:
    """SHA-256 of the provided code (every line outside the regions): what ``course.contract.PROVIDED``
    pins, so that no edit to what students receive goes unnoticed."""
    return hashlib.sha256("\n".join(outside_regions(text, name)).encode()).hexdigest()


def function_owners(text: str) -> dict[int, str]:
    """line number (1-based) -> qualified name of the innermost function around it."""
    owners = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    for line in range(child.lineno, child.end_lineno + 1):
                        owners[line] = qualname
                visit(child, qualname + ".")
    visit(ast.parse(text), "")
    return owners


def functions(text: str) -> dict[str, ast.FunctionDef]:
    """qualified name -> node, for the functions and methods of a module (one class level)."""
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return found


def layout_problems(name: str, text: str) -> list[str]:
    """Where ``text`` (the file ``name``, a solution or a handout) departs from the contract's
    layouts: a missing method, a region too many or too few, provided code missing or out of place."""
    problems = []
    lines = text.splitlines()
    found = functions(text)
    for qualname, (_, layout) in CONTRACT.get(name, {}).items():
        node = found.get(qualname)
        if node is None:
            problems.append(f"{name}: {qualname} is missing")
            continue
        have, inside = [[]], False  # the provided lines between the regions
        for line in lines[node.lineno - 1:node.end_lineno]:
            if line.strip() == REGION_START:
                have.append([])
                inside = True
            elif line.strip() == REGION_END:
                inside = False
            elif not inside:
                have[-1].append(line.strip())
        want = [[]]
        for entry in layout:
            if entry == REGION:
                want.append([])
            else:
                want[-1].append(entry)
        if len(have) != len(want):
            problems.append(f"{name}: {qualname} has {len(have) - 1} regions; the skeleton's has {len(want) - 1}")
            continue
        for segment, (provided, fragments) in enumerate(zip(have, want)):
            position = 0
            for fragment in fragments:
                at = next((i for i in range(position, len(provided)) if fragment in provided[i]), None)
                if at is None:
                    where = "before its first region" if segment == 0 else f"after its region {segment}"
                    problems.append(f"{name}: {qualname} lacks the skeleton's provided `{fragment}` {where} "
                                    "(or has it out of order)")
                    break
                position = at + 1
    return problems
