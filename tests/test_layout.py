"""The project's import graph: no circles, and dependencies that point one way.

Layers, bottom up: the course's facts (``course/``) and the four course files (``utils.py`` and
the three solution files, which import only the course's packages and ``utils``); then the grader
and the reference's extras; then ``release/`` and the tools (``docs/``, ``benchmarks/``); on top, the
sample class's writer (``samples/``), which nothing imports. Imports inside functions count.
``python tests/test_layout.py`` prints the graph's circles (none).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("course", "grader", "reference", "release", "benchmarks", "samples")
COURSE_FILES = ("utils", "numpy_ann", "pytorch_ann", "pytorch_cnn")
LAYER = {"course": 0, **{name: 0 for name in COURSE_FILES}, "grader": 1, "reference": 1, "release": 2,
         "benchmarks": 2, "docs": 2, "samples": 3}
SAMPLE_CLASS = ROOT / "samples" / "assignment_123_export"  # student files, like tests/submissions/


def modules() -> dict[str, Path]:
    """Module name -> file, for the project's own code (not tests, not student files)."""
    found = {name: ROOT / f"{name}.py" for name in COURSE_FILES}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(SAMPLE_CLASS):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found["docs.analysis"] = ROOT / "docs" / "analysis.py"
    return found


def imports(name: str, path: Path, known) -> set[str]:
    """The project modules ``name`` imports, anywhere in the file (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: up (level - 1) packages from this module's own
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def circles(edges) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def test_no_import_circles():
    assert circles(graph()) == []


def test_dependencies_point_down_the_layers():
    upward = [(a, b) for a, targets in graph().items() for b in targets if LAYER[top(b)] > LAYER[top(a)]]
    assert upward == []


def test_the_grader_and_the_reference_stay_apart_and_the_course_imports_nothing_of_the_project():
    pairs = [(a, b) for a, targets in graph().items() for b in targets]
    solution = COURSE_FILES[1:]
    assert [(a, b) for a, b in pairs if top(a) == "grader" and top(b) in ("release", "reference", *solution)] == []
    assert [(a, b) for a, b in pairs if top(a) == "reference" and top(b) == "grader"] == []
    assert [(a, b) for a, b in pairs if top(a) == "course" and top(b) != "course"] == []
    assert [(a, b) for a, b in pairs if a in COURSE_FILES and b != "utils"] == []


def test_the_judge_and_the_probe_share_only_the_wire_format():
    """The untrusted side (probe.py, in the sandbox) and the judge (checks/) import none of each other.
    (The probe loads the data with the course's utils.py, the students' copy beside their code.)"""
    edges = graph()
    assert edges["grader.probe"] == {"grader.wire", "utils"}
    assert not any("grader.probe" in edges[name] for name in edges if name.startswith("grader.checks"))
    assert "grader.wire" in edges["grader.checks.common"]


def test_the_graph_is_read_from_every_import_even_inside_functions():
    edges = graph()
    assert "grader.checks.part1" in edges["grader.checks"]  # registry() imports the parts in its body
    assert "course.facts" in edges["grader.runner"]


if __name__ == "__main__":
    found = circles(graph())
    print("\n".join(" <-> ".join(c) for c in found) or "no circles")
    sys.exit(1 if found else 0)
