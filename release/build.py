"""Build the student handout from the solution: ``python -m release build [--out dist]``.

The solution files are the handout with every region filled in. Building is one step: each
region's body becomes a placeholder that fails clearly (``course.regions.blank``), and every
method's regions and provided code are checked against the contract's layout
(``course.contract``); a file whose marks do not give the skeleton's layout is refused
(:class:`LayoutError`, naming the file and the method). ``utils.py`` ships as it is: it is the
students' copy. The handout also gets the public tests (the grader's checks of the public
items, with their cases frozen as data), requirements.txt, the data and a README.
"""
from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

from course.contract import CONTRACT, FILES, REGIONS
from course.facts import NOISE, THRESHOLDS
from course.judgement import JUDGEMENT_RULE
from course.regions import MarkError, blank, layout_problems
from grader import cases
from grader.checks import registry
from grader.rubric import GROUPS, ITEMS, TOTAL_POINTS
from grader.wire import encode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class LayoutError(MarkError):
    """A method's regions and provided code are not the skeleton's (``course.contract``)."""


def solution(name: str) -> str:
    """The solution file ``name`` (a contract file or ``utils.py``), as it is in the repository."""
    return (ROOT / name).read_text()


def render(name: str, filled: bool = False, text: str | None = None) -> str:
    """The handout's ``name``: the solution file with its regions blanked, or as it is if ``filled``
    (the round trip's perfect student). ``text`` stands in for the file's text. Raises
    :class:`LayoutError` when a method is not laid out as the skeleton's."""
    text = solution(name) if text is None else text
    problems = layout_problems(name, text)
    if problems:
        raise LayoutError("the solution's marks do not give the skeleton's layout:\n" + "\n".join(problems))
    return text if filled else blank(text, name)


def write_handout(dest, filled: bool = False) -> Path:
    """Write the three files and utils.py into ``dest`` (the filled ones with ``filled``)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (dest / name).write_text(render(name, filled=filled))
    shutil.copyfile(ROOT / "utils.py", dest / "utils.py")
    return dest


# The grader's modules the public tests run, copied into the handout's tests/autograder/: the
# probe, the checks (comparisons, messages, hints) and the local runner; not grader/cases.py,
# which computes the expected values, nor the judge of the script runs.
SHIPPED_TESTS = ("wire.py", "probe.py", "local.py", "checks/__init__.py", "checks/common.py", "checks/part1.py",
                 "checks/part2.py", "checks/part3.py")
TESTS_TEMPLATE = HERE / "handout_tests"


def public_items() -> list[dict]:
    """Every rubric item, as the public tests describe it."""
    return [dict(id=i.id, name=i.name, points=i.points, public=i.public, script=GROUPS[i.group].run and not i.judgement,
                 unit=not GROUPS[i.group].run, module=GROUPS[i.group].module, cls=GROUPS[i.group].cls,
                 torch=GROUPS[i.group].torch) for i in ITEMS]


def public_data() -> dict:
    """``tests/public.json``: the items, the public unit items' cases (the public variant of
    ``grader/cases.py``, frozen: inputs and expected values, other draws than the grader's) and
    the handout's signatures."""
    items = public_items()
    tested = [i["id"] for i in items if i["public"] and i["unit"]]
    signatures = {qualname: sig for methods in CONTRACT.values() for qualname, (sig, _) in methods.items()}
    return {"items": items, "tested": tested, "signatures": signatures,
            "cases": {item_id: encode(cases.make(item_id, "public")) for item_id in tested}}


def public_tests_source(data) -> str:
    """``tests/test_public.py``: one test per public unit item, named after it (``test_1_5_...``)."""
    checks = registry()
    out = ['"""The public items that test your methods, as the autograder checks them (see README.md).',
           "", "Written by ``python -m release build``; do not edit. Run ``python -m pytest`` in the handout folder.",
           '"""', "from pathlib import Path", "", "from autograder import local", "",
           'HERE = Path(__file__).resolve().parent',
           'DATA = local.load(HERE / "public.json")', "HANDOUT = HERE.parent  # where your files are"]
    for item in data["items"]:
        if item["id"] in data["tested"]:
            slug = re.sub(r"[^a-z0-9]+", "_", item["name"].lower()).strip("_")
            out += ["", "", f"def test_{item['id'].replace('.', '_')}_{slug}():",
                    f'    """{item["id"]} ({item["points"]} points): {" ".join(checks[item["id"]].__doc__.split())}"""',
                    f'    local.check_item("{item["id"]}", DATA, HANDOUT)']
    return "\n".join(out) + "\n"


def write_public_tests(dest) -> Path:
    """The handout's public tests: ``tests/`` (the shipped checks, their data, the tests) and
    ``pytest.ini``; return ``dest``."""
    dest = Path(dest)
    tests, package = dest / "tests", dest / "tests" / "autograder"
    if tests.exists():
        shutil.rmtree(tests)
    for name in SHIPPED_TESTS:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "grader" / name, package / name)
    (package / "__init__.py").write_text('"""The autograder\'s checks of the public items, shipped with the handout '
                                         '(from the grader\'s own code)."""\n')
    data = public_data()
    (tests / "public.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
    (tests / "test_public.py").write_text(public_tests_source(data))
    shutil.copyfile(TESTS_TEMPLATE / "conftest.py", tests / "conftest.py")
    shutil.copyfile(TESTS_TEMPLATE / "pytest.ini", dest / "pytest.ini")
    return dest


def build(out="dist") -> Path:
    """``dist/handout/`` (the three files, utils.py, the public tests, requirements.txt, the data,
    README.md) and ``dist/handout.zip`` (the same, in a folder ``handout/``). Returns the zip's path."""
    out = Path(out)
    handout = out / "handout"
    if handout.exists():
        shutil.rmtree(handout)
    write_handout(handout)
    write_public_tests(handout)
    (handout / "requirements.txt").write_text(student_requirements())
    shutil.copytree(ROOT / "data" / "FashionMNIST" / "raw", handout / "data" / "FashionMNIST" / "raw",
                    ignore=shutil.ignore_patterns("*-ubyte"))  # the .gz files only
    (handout / "README.md").write_text(student_readme())
    archive = out / "handout.zip"
    archive.unlink(missing_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(handout.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, Path("handout") / path.relative_to(handout))
    return archive


def student_requirements() -> str:
    """requirements-course.txt, plus pytest for the public tests, every package pinned to
    constraints.txt's version. (Gradescope installs requirements-course.txt only.)"""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[name.lower()] = version
    lines = ["# The course's packages, at the versions the autograder uses (Python 3.11), and pytest for",
             "# the public tests:",
             "#     python -m pip install -r requirements.txt"]
    for line in [*(ROOT / "requirements-course.txt").read_text().splitlines(), "pytest"]:
        name = re.split(r"[<>=!~ ]", line.strip(), maxsplit=1)[0]
        if name and not line.startswith("#"):
            lines.append(f"{name}=={pins[name.lower()]}")
    return "\n".join(lines) + "\n"


def rubric_table() -> str:
    """The student README's rubric: one row per item, from ``grader/rubric.py`` (id, name, points,
    public or hidden) and the one-line docstring of the item's check (what it proves)."""
    checks = registry()

    def cell(text):
        return " ".join(str(text).split()).replace("|", "\\|")
    rows = ["| item | what | points | shown | what the autograder checks |", "| --- | --- | ---: | --- | --- |"]
    rows += [f"| {item.id} | {cell(item.name)} | {item.points} | {'public' if item.public else 'hidden'} | "
             f"{cell(checks[item.id].__doc__)} |" for item in ITEMS]
    return "\n".join(rows)


def student_readme() -> str:
    """README.md for students, from release/README.student.md with the handout's facts filled in."""
    noise = {module: f"{NOISE[module]:.3f}" for module in THRESHOLDS}
    return (HERE / "README.student.md").read_text().format(
        numpy=THRESHOLDS["numpy_ann"], ann=THRESHOLDS["pytorch_ann"], cnn=THRESHOLDS["pytorch_cnn"],
        numpy_noise=noise["numpy_ann"], ann_noise=noise["pytorch_ann"], cnn_noise=noise["pytorch_cnn"],
        regions=sum(REGIONS.values()), total=TOTAL_POINTS, rubric=rubric_table(), rule=JUDGEMENT_RULE)
