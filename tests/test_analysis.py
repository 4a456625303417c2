"""docs/analysis.md, the official solution of the written programming part, against its numbers.

``python docs/analysis.py`` trains the runs and writes their figures and ``docs/analysis.json``;
the page quotes that JSON. Every run has its section, figure and table of numbers, the tables
are the JSON exactly, every number in a run's section is one of that run's numbers (or one of
the rule's constants), and each section's judgement is the rule's reading. The slow test reruns
the quick runs (NumPy and PyTorchANN, seconds each) and finds the same numbers.
"""
from __future__ import annotations

import importlib.util
import json
import re

import pytest
from helpers import ROOT

DOCS = ROOT / "docs"
PAGE = (DOCS / "analysis.md").read_text(encoding="utf-8")
DATA = json.loads((DOCS / "analysis.json").read_text())["runs"]
# The numbers a section may quote besides its run's: the rule's thresholds, the set sizes and
# the standard error of a 200-image validation accuracy.
CONSTANTS = {"0.85", "0.08", "0.10", "0.023", "0.024", "0.071", "0.3", "0.01", "0.002", "0.003", "0.001",
             "0.2", "0.1", "0.77", "0.80", "10%", "7%"}


def analysis():
    spec = importlib.util.spec_from_file_location("docs_analysis", DOCS / "analysis.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections() -> dict[str, str]:
    """run name -> its section of the page (from its ``<!-- run: name -->`` mark to the next mark
    or heading of the same level)."""
    found = {}
    for match in re.finditer(r"<!-- run: (\w+) -->", PAGE):
        rest = PAGE[match.end():]
        end = re.search(r"<!-- run: \w+ -->|\n## |\n### ", rest)
        found[match[1]] = rest[:end.start()] if end else rest
    return found


def table(section) -> dict[str, str]:
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) == 2 and not set(cells[1]) <= set("-: "):
            rows[cells[0]] = cells[1]
    return rows


def f3(x):
    return f"{x:.3f}"


def expected_table(run) -> dict[str, str]:
    return {
        "epochs": str(run["epochs"]),
        "final train accuracy / loss": f"{f3(run['final']['train_acc'])} / {f3(run['final']['train_loss'])}",
        "final validation accuracy / loss": f"{f3(run['final']['val_acc'])} / {f3(run['final']['val_loss'])}",
        "lowest validation loss (epoch)": f"{f3(run['val_loss_min'])} ({run['val_loss_min_epoch']})",
        "gap, train minus validation accuracy (smoothed) ± its noise":
            f"{f3(run['smoothed']['gap'])} ± {f3(run['noise']['se_gap'])}",
        "validation loss above its lowest (smoothed)": f"{run['smoothed']['rise']:.1%}",
        "the rule reads": run["reading"],
        "accepted": ", ".join(run["accepted"]),
        "test accuracy: 200 handout test images / all 10,000": f"{f3(run['test_acc'])} / {f3(run['all_acc'])}",
    }


def run_values(run) -> set[str]:
    """Every number of a run, as the page may write it."""
    values = {str(run["epochs"]), str(run["val_loss_min_epoch"]), f"{run['smoothed']['rise']:.1%}"}
    for group in ("final", "smoothed", "noise"):
        values |= {f3(v) for v in run[group].values()}
    values |= {f3(run[k]) for k in ("val_loss_min", "test_acc", "all_acc")}
    return values


def test_every_run_has_its_section_figure_and_table():
    assert set(sections()) == set(DATA) == set(analysis().RUNS)
    for name, run in DATA.items():
        figure = DOCS / run["figure"]
        assert f"]({run['figure']})" in sections()[name], name
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size < 300_000


@pytest.mark.parametrize("name", sorted(DATA))
def test_the_tables_are_the_json(name):
    assert table(sections()[name]) == expected_table(DATA[name])


@pytest.mark.parametrize("name", sorted(DATA))
def test_every_number_in_a_section_is_its_runs(name):
    allowed = run_values(DATA[name]) | CONSTANTS
    section = re.sub(r"\(figures/[^)]*\)", "", sections()[name])  # file names hold digits too
    numbers = re.findall(r"(?<![\w.])\d+\.\d+%?|(?<![\w.,])\d+%", section)
    strays = [n for n in numbers if n not in allowed and n.rstrip("%") not in allowed]
    assert not strays, f"{name}: numbers not in docs/analysis.json: {strays}"


@pytest.mark.parametrize("name", sorted(DATA))
def test_each_judgement_is_the_rules_reading(name):
    said = re.search(r"\*\*Judgement: (\w+)[.,]?\*\*", sections()[name])
    assert said and said[1] == DATA[name]["reading"], name
    assert said[1] in DATA[name]["accepted"]


def test_the_solutions_judgements_are_the_pages():
    """Each solution file's report_my_judgement() reads the run that file makes (the skeleton's)."""
    import pytorch_ann
    import pytorch_cnn

    assert pytorch_ann.PyTorchANN(5, 4, 3).report_my_judgement() == DATA["pytorch_ann"]["reading"]
    assert pytorch_cnn.PyTorchCNN().report_my_judgement() == DATA["pytorch_cnn"]["reading"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["numpy_ann", "pytorch_ann", "numpy_ann_underfitting"])
def test_the_quick_runs_reproduce(name):
    """The same run again finds the same numbers (within 0.01: another BLAS may round otherwise)."""
    module = analysis()
    assert name in module.QUICK
    got, want = module.numbers(module.RUNS[name][1]()), DATA[name]
    assert got["reading"] == want["reading"] and got["val_loss_min_epoch"] == pytest.approx(
        want["val_loss_min_epoch"], abs=3)
    for group in ("final", "smoothed"):
        for key, value in want[group].items():
            assert got[group][key] == pytest.approx(value, abs=0.01), (group, key)
    assert got["test_acc"] == pytest.approx(want["test_acc"], abs=0.011)
