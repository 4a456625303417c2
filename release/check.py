"""``python -m release check``: prove the handout, as nbgrader's ``validate --invert`` and otter's
solution run do.

1. **Contract.** Each solution file has exactly the contract's classes and methods, with its
   signatures and the skeleton's layout (15, 13 and 2 regions inside the provided code);
   outside its regions it is the handout line for line (by construction), and that provided
   code is the pinned one (``course.contract.PROVIDED``: a change to what students receive is
   deliberate); the handout's regions hold only placeholders; it imports only the course's
   packages and mentions none of the project's own (``course``, ``reference``, the judgement
   rule); its main block uses the handout's numbers
   (``course.facts``). ``utils.py``, which ships as it is, offers the skeleton's helpers and
   reads no curves.
2. **No solution leaks, no drift.** No line of a solution region appears in the handout; the
   public tests' code holds no forward pass, gradient or training code (no matrix product,
   ``exp``/``log``/``maximum``, ``backward``, optimiser, seeded draw), and their data only
   numbers, for other inputs than the grader's; a handout written earlier (``--handout DIR``,
   e.g. ``dist/handout``) equals a fresh build.
3. **The bare handout behaves.** Each file imports with no side effects; ``python <file>.py``
   reports failing doctests, not a traceback of the skeleton's own code; its public tests
   (``python -m pytest`` in the handout) pass none; the grader writes a valid results.json
   scoring 0 on every item, without crashing.
4. **Round trip.** The solution files, handed in as a submission: the doctests and the public
   tests all pass and the grader scores 42/42 (a full grade: about 2.5 minutes on 2 cores, the
   CNN's 60 full-batch epochs most of it; ``--fast`` grades the unit items only, 36/36).
5. **The public tests agree with the grader.** For every submission in ``tests/submissions``
   and every seeded bug in ``tests/grader_bugs.py``, each public item passes locally exactly
   when the grader gives it full marks, and a bug's hint shows in both (one process: the
   grader's fast grades through one sandbox, the public tests in-process).
6. **The zip works on a fresh machine.** Unpacked, ``pip install -r requirements.txt`` (in a
   new virtual environment that sees the running environment's packages, so nothing is
   downloaded, from a machine-wide Python or a virtual environment alike) and
   ``python numpy_ann.py`` run.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from course import facts
from course.contract import ALLOWED_IMPORTS, CONTRACT, FILES, PROVIDED, REGION, REGIONS
from course.regions import REGION_START, functions, provided_digest, regions, solution_lines
from grader import cases
from grader.wire import decode

from .build import ROOT, SHIPPED_TESTS, build, public_data, render, write_handout, write_public_tests

# Names of the project's own code, which the course files (what students have) must not use.
PROJECT_WORDS = ("course.", "reference.", "import course", "import reference", "from course", "from reference",
                 "diagnose_fit", "accepted_judgements", "REFERENCE ONLY", "reference only", "argparse", "--full")
# utils.py offers the skeleton's helpers and the checked loader: nothing that reads curves, names
# a judgement or states the handout's numbers.
UTILS_FORBIDDEN = ("judgement", "underfitting", "overfitting", "generalizing", "train_val_metrics", "diagnose",
                   "THRESHOLDS", "HANDOUT_RUNS", "SPLIT_SIZES", "def plot", *PROJECT_WORDS)
UTILS_PROVIDES = ("print_red", "print_green", "print_yellow", "print_blue", "assert_greater_equal",
                  "assert_less_equal", "load_mnist_f")


class CheckFailed(AssertionError):
    """A proof did not hold; the message says which and why."""


def check(fast=False, handout=None, log=print) -> None:
    """Run every proof (the real-data round trip only without ``fast``); raise CheckFailed."""
    problems = contract_problems() + leak_problems() + tests_leak_problems()
    if handout is not None:
        problems += drift_problems(Path(handout))
    if problems:
        raise CheckFailed("\n".join(problems))
    log("contract, solution leaks and drift: ok")
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
        tmp = Path(tmp)
        bare = write_public_tests(write_handout(tmp / "bare"))
        problems = bare_problems(bare)
        log(f"bare handout: {'ok' if not problems else 'FAILED'}")
        filled = write_public_tests(write_handout(tmp / "filled", filled=True))
        problems += round_trip_problems(filled, fast, log)
        started = time.monotonic()
        disagreements = parity_problems(tmp / "parity", log)
        log(f"public tests against the grader: {'ok' if not disagreements else 'FAILED'} "
            f"({time.monotonic() - started:.0f} s)")
        problems += disagreements + zip_problems(tmp)
        log(f"zip on a fresh environment: {'ok' if not problems else 'see above'}")
    if problems:
        raise CheckFailed("\n".join(problems))


# --------------------------------------------------------------------------- 1. contract
def contract_problems() -> list[str]:
    problems = []
    for name in FILES:
        text = (ROOT / name).read_text()
        problems += _has_the_contract(name, text)
        problems += _provided_code_is_pinned(name, text)
        problems += _imports(name, text)
        problems += [f"{name}: the solution file mentions {word!r}" for word in PROJECT_WORDS if word in text]
        problems += _main_uses_the_handout_numbers(name, text)
    utils = (ROOT / "utils.py").read_text()
    return problems + utils_problems(utils) + _imports("utils.py", utils)


def utils_problems(text) -> list[str]:
    """utils.py offers what the skeleton's did and gives no judgement away."""
    problems = [f"utils.py mentions {word!r}" for word in UTILS_FORBIDDEN if word in text]
    defined = {node.name for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)}
    problems += [f"utils.py lacks {name}()" for name in UTILS_PROVIDES if name not in defined]
    return problems


def _has_the_contract(name, text) -> list[str]:
    """The contract's methods, signatures and regions, and no module-level function besides."""
    problems = []
    found = functions(text)
    classes = {q.split(".")[0] for q in CONTRACT[name]}
    methods = {q for q in found if "." in q and q.split(".")[0] in classes}
    if methods != set(CONTRACT[name]):
        problems.append(f"{name}: the methods {sorted(methods)} are not the contract's {sorted(CONTRACT[name])}")
    if {q for q in found if "." not in q}:
        problems.append(f"{name}: module-level functions: {sorted(q for q in found if '.' not in q)}")
    lines = text.splitlines()
    for qualname, (signature, layout) in CONTRACT[name].items():
        node = found.get(qualname)
        if node is None:
            continue
        got = f"({ast.unparse(node.args)})"
        if got != signature:
            problems.append(f"{name}: {qualname}{got}, the contract says {signature}")
        body = lines[node.lineno - 1:node.end_lineno]
        count = sum(1 for line in body if line.strip() == REGION_START)
        if count != layout.count(REGION):
            problems.append(f"{name}: {qualname} holds {count} regions, the skeleton's {layout.count(REGION)}")
    total = sum(1 for line in lines if line.strip() == REGION_START)
    if total != REGIONS[name]:
        problems.append(f"{name}: {total} regions, the skeleton's {REGIONS[name]}")
    return problems


def _provided_code_is_pinned(name, text) -> list[str]:
    """The provided code (outside the regions, which the handout shares by construction) is the
    pinned one (``course.contract.PROVIDED``); the handout's regions hold a placeholder each."""
    handout = render(name, text=text)
    problems = []
    digest = provided_digest(text, name)
    if digest != PROVIDED[name]:
        problems.append(f"{name}: its provided code (every line outside the regions) is not the pinned one: a change "
                        f"to what students receive. If it is meant, pin it in course/contract.py: PROVIDED[{name!r}] "
                        f"= {digest!r}")
    for region in regions(handout, name):
        if len(region.code) != 1 or "raise NotImplementedError" not in region.code[0]:
            problems.append(f"{name}: the handout's region in {region.qualname} holds {region.code!r}, "
                            "not one placeholder")
    return problems


def _imports(name, text) -> list[str]:
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    allowed = ALLOWED_IMPORTS | {"gzip", "hashlib"}  # utils.py checks the data files
    return [f"{name} imports {sorted(imported - allowed)}, beyond the course's packages"] if imported - allowed else []


def _main_uses_the_handout_numbers(name, text) -> list[str]:
    """The skeleton's main block is a copy of the handout's numbers: pin it to ``course.facts``."""
    module = name[:-3]
    init, train = facts.HANDOUT_RUNS[module]
    main = text[text.index('if __name__ == "__main__":'):]
    calls = {}
    for node in ast.walk(ast.parse(main)):
        if isinstance(node, ast.Call):
            callee = ast.unparse(node.func).split(".")[-1]
            calls.setdefault(callee, []).append(node)
    problems = []

    def keywords(call):
        return {k.arg: ast.literal_eval(k.value) for k in call.keywords if isinstance(k.value, ast.Constant)}
    cls = [q.split(".")[0] for q in CONTRACT[name]][0]
    if not calls.get(cls) or keywords(calls[cls][0]) != init:
        problems.append(f"{name}: the main block does not construct {cls}(**{init})")
    if not any(keywords(call) == train for call in calls.get("train", [])):
        problems.append(f"{name}: the main block does not call train(..., **{train})")
    threshold = calls.get("assert_greater_equal", [])
    if not threshold or ast.literal_eval(threshold[0].args[1]) != facts.THRESHOLDS[module]:
        problems.append(f"{name}: the main block does not check the threshold {facts.THRESHOLDS[module]}")
    sizes = facts.SPLIT_SIZES
    split_calls = [keywords(call) for call in calls.get("train_test_split", [])]
    if split_calls != [dict(train_size=sizes["train"], test_size=sizes["val"], random_state=facts.RANDOM_STATE),
                       dict(train_size=sizes["test"], test_size=1, random_state=facts.RANDOM_STATE)]:
        problems.append(f"{name}: the main block's train_test_split calls are not the handout's {sizes}")
    return problems


# --------------------------------------------------------------------------- 2. leaks and drift
def significant(line: str) -> bool:
    """A line that says something (not a bracket, a bare keyword or a comment)."""
    stripped = line.strip()
    return len(stripped) >= 12 and not stripped.startswith("#") and re.search(r"[A-Za-z]", stripped) is not None


def leak_problems() -> list[str]:
    problems = []
    for name in FILES:
        handout = {line.strip() for line in render(name).splitlines()}
        problems += [f"{name}: the solution line {line.strip()!r} ({qualname}) is in the handout"
                     for qualname, line in solution_lines((ROOT / name).read_text(), name)
                     if significant(line) and line.strip() in handout]
    return problems


# What the public tests' code must not do: it would be (part of) a forward pass, a gradient or a
# training loop. Calls by these names, and the matrix product.
FORBIDDEN_CALLS = {"exp", "log", "log2", "maximum", "minimum", "tanh", "dot", "matmul", "einsum", "softmax", "relu",
                   "cross_entropy", "backward", "step", "SGD", "Adam", "Linear", "Conv2d", "Sequential",
                   "manual_seed", "randn", "RandomState", "default_rng", "normal", "seed"}


def tests_leak_problems() -> list[str]:
    """The public tests hold no solution: their code computes no forward pass, gradient or
    training step (no call named in FORBIDDEN_CALLS, no ``@``), and their data is numbers for
    other inputs than the grader's (a table of the shipped answers earns nothing in the grader)."""
    problems = []
    for name in SHIPPED_TESTS:
        tree = ast.parse((ROOT / "grader" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                problems.append(f"the public tests' {name}, line {node.lineno}: a matrix product")
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if called in FORBIDDEN_CALLS:
                    problems.append(f"the public tests' {name}, line {node.lineno}: a call of {called}()")
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if module and module.split(".")[-1] in ("cases", "runner", "sandbox", "facts"):
                    problems.append(f"the public tests' {name} imports the judge's {module}")
    data = public_data()
    for item_id, encoded in data["cases"].items():
        public, graded = decode(encoded), cases.make(item_id, "grader")
        if not _numbers_only(public):
            problems.append(f"the public tests' data for {item_id} holds more than numbers")
        if _inputs_equal(public, graded):
            problems.append(f"the public tests' data for {item_id} has the grader's own inputs")
    return problems


def _numbers_only(value) -> bool:
    import numpy as np

    if isinstance(value, dict):
        return all(isinstance(k, str) and len(k) < 40 and _numbers_only(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_numbers_only(v) for v in value)
    return isinstance(value, (bool, int, float, np.ndarray)) and (
        not isinstance(value, np.ndarray) or value.dtype.kind in "biuf")


def _inputs_equal(a, b) -> bool:
    """Whether two cases share any input array (the arrays the plans send to student code)."""
    import numpy as np

    def arrays(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from arrays(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from arrays(v)
        elif isinstance(value, np.ndarray) and value.size > 4:
            yield value
    theirs = list(arrays(b))
    return any(x.shape == y.shape and np.array_equal(x, y) for x in arrays(a) for y in theirs)


def drift_problems(directory: Path) -> list[str]:
    problems = []
    if (directory / "utils.py").read_bytes() != (ROOT / "utils.py").read_bytes():
        problems.append(f"{directory / 'utils.py'} differs from utils.py: rebuild with `python -m release build`")
    for name in FILES:
        path = directory / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif path.read_text() != render(name):
            problems.append(f"{path} differs from a fresh build: rebuild with `python -m release build`")
    return problems


# --------------------------------------------------------------------------- 3. the bare handout
def _python(directory, *args, timeout=300):
    env = dict(os.environ, TERM="dumb", MPLBACKEND="Agg")
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, *args], cwd=directory, capture_output=True, text=True, timeout=timeout,
                          env=env)


def bare_problems(directory: Path) -> list[str]:
    problems = []
    for name in FILES:
        module = name[:-3]
        done = _python(directory, "-c", f"import {module}")
        if done.returncode != 0 or done.stdout.strip():
            problems.append(f"bare {name}: importing it printed or failed: {(done.stdout + done.stderr)[-500:]}")
        done = _python(directory, name)
        if done.returncode != 0 or "Doctests failed!" not in done.stdout or "Traceback" in done.stderr:
            problems.append(f"bare {name}: `python {name}` should report failing doctests and stop; got exit "
                            f"{done.returncode}: {(done.stdout[-300:] + done.stderr[-1000:])}")
    passed, out = _public_tests(directory)
    if passed != 0 or "0 of 22 public points passed" not in out:
        problems.append(f"bare handout: its public tests passed {passed} (none should): {out[-1500:]}")
    report = _grade(directory, fast=False)
    nonzero = {r.item.id: r.score for r in report.results if r.score}
    if nonzero:
        problems.append(f"bare handout: the grader gave points: {nonzero}")
    return problems


def _public_tests(directory):
    """``python -m pytest`` in a handout folder, as a student runs it: (tests passed, output)."""
    done = _python(directory, "-m", "pytest", timeout=600)
    match = re.search(r"(\d+) passed", done.stdout)
    return int(match[1]) if match else 0, done.stdout + done.stderr


def _grade(directory, fast):
    from grader.report import results_json
    from grader.runner import grade

    report = grade(directory, fast=fast, budget=1500)
    data = results_json(report)
    if [t["number"] for t in data["tests"]] != [r.item.id for r in report.results] or \
            abs(data["score"] - sum(t["score"] for t in data["tests"])) > 1e-9:
        raise CheckFailed("the grader wrote an invalid results.json")
    return report


# --------------------------------------------------------------------------- 4. round trip
def round_trip_problems(directory: Path, fast: bool, log) -> list[str]:
    problems = []
    for name in FILES:
        code = (f"import doctest, {name[:-3]} as m\n"
                "r = doctest.testmod(m, optionflags=doctest.ELLIPSIS)\nprint(r.failed, r.attempted)")
        done = _python(directory, "-c", code)
        failed, attempted = map(int, done.stdout.split()[-2:]) if done.returncode == 0 else (-1, 0)
        if failed or not attempted:
            problems.append(f"filled {name}: doctests {failed} failed of {attempted}: {done.stderr[-500:]}")
    passed, out = _public_tests(directory)
    tested = len(public_data()["tested"])
    if passed != tested or "failed" in out.split("=====")[-1]:
        problems.append(f"filled handout: {passed} of its {tested} public tests passed: {out[-1500:]}")
    report = _grade(directory, fast=fast)
    from grader.rubric import SCRIPT_ITEMS

    want = report.max_score - (sum(r.max_score for r in report.results if r.item.id in SCRIPT_ITEMS) if fast else 0)
    accuracies = "".join(f"; {item_id} test accuracy {m['accuracy']:.3f}" for item_id, m in report.measurements.items()
                         if "accuracy" in m)
    log(f"round trip: the grader scores the solution {report.score:g}/{want}"
        f"{' (--fast: the real-data runs skipped)' if fast else ''} in {report.seconds:.0f} s{accuracies}")
    if report.score != want:
        lost = {r.item.id: r.output for r in report.results if r.score != r.max_score and not
                (fast and r.item.id in SCRIPT_ITEMS)}
        problems.append(f"round trip: {report.score:g} instead of {want}: {lost}")
    return problems


# --------------------------------------------------------------------------- 5. parity
def parity_cases(dest: Path) -> dict[str, Path]:
    """Every submission of tests/submissions and every seeded bug of tests/grader_bugs.py, written
    to a folder of its own (with the students' utils.py): name -> folder."""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "submissions")]
    try:
        import grader_bugs
        import materialize
    finally:
        del sys.path[:2]
    folders = {}
    for name in materialize.load_expectations():
        folders[f"submission {name}"] = materialize.materialize(name, dest / f"submission-{name}")
    for index, bug in enumerate(grader_bugs.BUGS):
        folders[f"bug {bug.name!r}"] = grader_bugs.write_submission(bug, dest / f"bug-{index}")
    for folder in folders.values():
        (folder / "utils.py").write_bytes((ROOT / "utils.py").read_bytes())
    return folders


def parity_problems(dest: Path, log) -> list[str]:
    """Each public item passes locally exactly when the grader gives it full marks; a seeded
    bug's hint is in both outputs. The grader grades each case's unit groups with --fast (one
    sandbox, two at a time; a group's verdicts depend on its file only, so a file graded once is
    not graded again); the public tests run in this process."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    from grader import local
    from grader.rubric import ITEM_BY_ID, UNIT_GROUP
    from grader.runner import grade
    from grader.sandbox import Sandbox

    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import grader_bugs
    finally:
        sys.path.remove(str(ROOT / "tests"))
    hints = {f"bug {bug.name!r}": (bug.item, bug.hint) for bug in grader_bugs.BUGS if bug.hint}
    folders = parity_cases(dest)
    data = public_data()
    tested = [i for i in data["items"] if i["id"] in data["tested"]]
    jobs = {}  # (group, digest) -> (folder, module)
    for folder in folders.values():
        for name in FILES:
            if (folder / name).exists():
                digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
                jobs.setdefault((UNIT_GROUP[name[:-3]], digest), (folder, name[:-3]))

    def graded(key):
        folder, module = jobs[key]
        single = dest / f"graded-{len(key[1]) and key[1][:12]}-{module}"
        single.mkdir()
        (single / f"{module}.py").write_bytes((folder / f"{module}.py").read_bytes())
        report = grade(single, fast=True, item_timeout=20, groups=[key[0]], sandbox=box, threads=1)
        return key, {r.item.id: r for r in report.results if r.item.group == key[0]}

    with Sandbox() as box, ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = dict(pool.map(graded, jobs))
    problems, compared = [], 0
    for case, folder in folders.items():
        for item in tested:
            path = folder / f"{item['module']}.py"
            if not path.exists():
                continue
            result = verdicts[UNIT_GROUP[item["module"]], hashlib.sha256(path.read_bytes()).hexdigest()][item["id"]]
            parts = local.run(item, data, folder)
            passed, full = all(p.passed for p in parts), result.score == ITEM_BY_ID[item["id"]].points
            compared += 1
            if passed != full:
                problems.append(f"{case}, item {item['id']}: the public test {'passes' if passed else 'fails'} but "
                                f"the grader gives {result.score:g} of {result.max_score}:\n"
                                f"{local.common.lines(parts)}\n--- the grader:\n{result.output}")
            expected_hint = hints.get(case)
            if expected_hint and expected_hint[0] == item["id"] and f"Hint: {expected_hint[1]}" not in \
                    local.common.lines(parts):
                problems.append(f"{case}, item {item['id']}: the public test does not give the hint "
                                f"{expected_hint[1]!r}:\n{local.common.lines(parts)}")
    log(f"public tests against the grader: {len(folders)} submissions and seeded bugs, {compared} public items "
        f"compared, {len(jobs)} unit groups graded")
    return problems


# --------------------------------------------------------------------------- 6. the zip
def zip_problems(tmp: Path) -> list[str]:
    archive = build(tmp / "dist")
    unpacked = tmp / "fresh"
    with zipfile.ZipFile(archive) as z:
        z.extractall(unpacked)
    handout = unpacked / "handout"
    python = fresh_environment(tmp / "venv")
    steps = [[str(python), "-m", "pip", "install", "--no-index", "-q", "-r", "requirements.txt"],
             [str(python), "numpy_ann.py"]]
    for step in steps:
        env = dict(os.environ, TERM="dumb")
        env.pop("PYTHONPATH", None)
        done = subprocess.run(step, cwd=handout, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            return [f"the zip: `{' '.join(step[-2:])}` failed: {(done.stdout + done.stderr)[-1500:]}"]
    if "Doctests failed!" not in done.stdout:
        return [f"the zip: `python numpy_ann.py` did not run the skeleton's doctests: {done.stdout[-500:]}"]
    return []


def fresh_environment(venv: Path) -> Path:
    """A new virtual environment that sees the packages of the one running this (so nothing is
    downloaded) and nothing of the repository; returns its python.

    ``venv --system-site-packages`` would not do: from inside a virtual environment it exposes
    the *base* interpreter's packages, not the running environment's. So the new environment
    gets a ``.pth`` file naming the running interpreter's site-packages folders instead, which
    pip counts as installed packages like its own.
    """
    import site
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True,
                   timeout=300)
    python = venv / "bin" / "python"
    ours = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    visible = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                             sysconfig.get_paths()["platlib"]])
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        visible[site.getusersitepackages()] = None
    (Path(ours) / "_running_environment.pth").write_text("".join(f"{p}\n" for p in visible if os.path.isdir(p)))
    return python
