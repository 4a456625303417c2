"""Submissions written the way students complete the course skeleton, graded as a careful TA would.

tests/submissions/expected.toml declares each submission (the complete one, and variants of it:
exact edits) with the scores it must get. Every one is graded with ``--fast`` in the quick
subset (the unit items, and the judgement's word); the slow tests grade the complete one in full
and, for each variant, the real-data runs that are its point, reusing the complete one's runs
for the others (their predictions and curves are the complete one's; the judgement is asked of
the variant's own class).
"""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import ROOT

from grader.rubric import GROUPS, ITEMS, UNIT_GROUP
from grader.runner import grade

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
from materialize import load_expectations, materialize  # noqa: E402

EXPECTED = load_expectations()
NAMES = list(EXPECTED)
RUN_ITEMS = {"1.10", "2.6", "3.2"}


def files_of(name, directory):
    return {p.name for p in materialize(name, directory).iterdir()}


def expected_scores(name, files, fast):
    """item -> score: full marks for the submitted files, then the declared exceptions."""
    entry = EXPECTED[name]
    want = {item.id: float(item.points) if f"{GROUPS[item.group].module}.py" in files else 0.0 for item in ITEMS}
    want.update({k: float(v) for k, v in entry.get("scores", {}).items()})
    if fast:
        want.update({k: 0.0 for k in RUN_ITEMS})
        want.update({k: float(v) for k, v in entry.get("fast", {}).items()})
    return want


def test_the_corpus_covers_the_cases_the_grader_got_wrong():
    assert len(NAMES) >= 8
    for name, entry in EXPECTED.items():
        assert entry.get("about"), name
        assert set(entry.get("scores", {})) | set(entry.get("fast", {})) <= {i.id for i in ITEMS}, name
        assert set(entry.get("full_runs", [])) <= {g for g, spec in GROUPS.items() if spec.run}, name
    # complete's cnn_run is the solution's (the same computation): tests/conftest.py
    assert EXPECTED["complete"].get("scores") == {} and EXPECTED["complete"]["full_runs"] == ["numpy_run", "ann_run"]
    assert {"numpy_run_tiny_lr", "ann_run_tiny_lr", "cnn_run_two_epochs"} <= set(NAMES)  # runs far below


def test_complete_submission_is_not_the_solution_but_its_cnn_computes_the_same():
    """complete is a student's own hand-in; its CNN is the solution's computation (the provided
    loop and main block, the same 24 modules in the same order), so it reuses the solution's run."""
    for name in ("numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py"):
        student = (ROOT / "tests" / "submissions" / "complete" / name).read_text()
        assert "# >>> YOUR CODE HERE >>>" in student and student != (ROOT / name).read_text()
    import importlib.util

    import pytorch_cnn

    spec = importlib.util.spec_from_file_location("complete_cnn", ROOT / "tests/submissions/complete/pytorch_cnn.py")
    complete = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(complete)
    theirs, ours = complete.PyTorchCNN(), pytorch_cnn.PyTorchCNN()
    assert [repr(m) for m in theirs.model] == [repr(m) for m in ours.model]
    assert all(a.equal(b) for a, b in zip(theirs.state_dict().values(), ours.state_dict().values()))
    main = 'model.train(X_train, y_train, X_val, y_val, epochs=60, learning_rate=0.002)'
    assert main in (ROOT / "tests/submissions/complete/pytorch_cnn.py").read_text()


# --------------------------------------------------------------------------- quick: --fast
@pytest.fixture(scope="module")
def fast_reports(tmp_path_factory, sandbox):
    base = tmp_path_factory.mktemp("corpus")

    def one(name):
        files = files_of(name, base / name)
        return name, (files, grade(base / name, fast=True, item_timeout=20, sandbox=sandbox))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, NAMES))


@pytest.mark.slow  # the whole corpus graded --fast: about 10 s
@pytest.mark.parametrize("name", NAMES)
def test_fast_grade_matches_expectations(name, fast_reports):
    files, report = fast_reports[name]
    want = expected_scores(name, files, fast=True)
    got = {r.item.id: r.score for r in report.results}
    wrong = {i: (got[i], want[i], r.output) for r in report.results if (i := r.item.id) and got[i] != want[i]}
    assert not wrong, f"{name}: {wrong}"


# --------------------------------------------------------------------------- slow: full grades
# ``complete_full``, the complete submission's full grade, is started with the session (conftest.py).


@pytest.mark.slow
def test_complete_submission_scores_42_in_a_full_grade(complete_full):
    """Full marks on every item; the CNN's run (the skeleton's own recipe, the solution's) ends
    within one standard error of its threshold at worst, which earns full marks."""
    files, report = complete_full
    failed = {r.item.id: (r.score, r.output) for r in report.results if r.score != r.max_score}
    assert not failed, failed
    assert report.score == 42 and not report.flags
    judgement = next(r for r in report.results if r.item.id == "3.3").output
    assert "'generalizing'" in judgement and "accepted" in judgement  # the skeleton's borderline CNN run


def variant_groups(name) -> tuple[list[str], list[str]]:
    """The groups a variant's full grade grades (those of the files it changes), and the run groups
    among them it does not run itself (not in its ``full_runs``): those reuse the complete one's."""
    changed = {e["file"][:-3] for e in EXPECTED[name].get("edits", [])}
    groups = [g for g, spec in GROUPS.items() if spec.module in changed]
    return groups, [g for g in groups if GROUPS[g].run and g not in EXPECTED[name]["full_runs"]]


VARIANTS = [n for n in NAMES if "base" in EXPECTED[n]]


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in VARIANTS if not variant_groups(n)[1]])
def test_variant_full_grade_matches_expectations(name, tmp_path, sandbox):
    """A variant that runs every script it changes: it needs nothing of the complete one's grade."""
    check_variant(name, tmp_path, sandbox, complete_full=None)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in VARIANTS if variant_groups(n)[1]])
def test_variant_reusing_the_complete_runs_matches_expectations(name, complete_full, tmp_path, sandbox):
    check_variant(name, tmp_path, sandbox, complete_full)


def check_variant(name, tmp_path, sandbox, complete_full):
    files = files_of(name, tmp_path / name)
    groups, reused = variant_groups(name)
    reuse = {g: complete_full[1].runs[g] for g in reused}
    report = grade(tmp_path / name, groups=groups, reuse_runs=reuse, budget=900, sandbox=sandbox)
    want = expected_scores(name, files, fast=False)
    got = {r.item.id: r.score for r in report.results}
    graded = {item.id for item in ITEMS if item.group in groups}
    wrong = {i: (got[i], want[i], r.output) for r in report.results if (i := r.item.id) in graded and got[i] != want[i]}
    assert not wrong, f"{name}: {wrong}"
    for item_id in RUN_ITEMS & graded:  # a run far below its threshold says what to check
        result = next(r for r in report.results if r.item.id == item_id)
        if result.score == 0 and "test accuracy" in result.output:
            assert "Hint: " in result.output, result.output
    assert UNIT_GROUP  # (every unit group of a changed file was graded again above)
