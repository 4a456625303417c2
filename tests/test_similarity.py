"""Code similarity across an export (``python -m grader.similarity``).

Two classes. The small one: a careful student's submission (tests/submissions/complete), a copy
of it with the variables renamed and the comments reworded, and a second student's
independently written numpy_ann.py (tests/submissions/independent); its boilerplate is
complete's files with the solutions taken out. The class that looks real
(tests/synthetic_class.py): eight independent students who completed the course's skeleton,
a ninth whose plot_train_val_metrics is copied from one of them, and a disguised copy of
another; its boilerplate is that skeleton with empty regions. Parts of it make the small
classes, of two, three and five, where a copy has no class distribution to stand out from.
"""
from __future__ import annotations

import contextlib
import csv
import io
import re
import stat
from pathlib import Path

import pytest
from copydetect import compare_files
from copydetect.utils import hashed_kgrams
from helpers import ROOT
from synthetic_class import DISGUISED, MEMBERS, PARTIAL, class_export, member_files, submission_ids, write_skeleton
from synthetic_export import INDEPENDENT, Entry, build_export, corpus, independent_numpy, person, sources

from course.regions import blank
from grader.rubric import ITEMS, SUBMISSION_FILES
from grader.runner import grade
from grader.similarity import (
    GIVEN,
    IDENTICAL_TOKENS,
    NOISE,
    PLAIN,
    SHARED,
    SHOWN,
    Pair,
    boilerplate_hashes,
    code_html,
    common_lines,
    default_boilerplate,
    default_max_common,
    fingerprint,
    flag,
    handout_lines,
    leave_out,
    main,
    marks,
    own_code,
    token_spans,
)

COMPLETE = ROOT / "tests" / "submissions" / "complete"
RENAMES = {"z1": "hidden_in", "a1": "hidden_out", "dW2": "grad_out", "X_batch": "xb", "y_batch": "yb",
           "train_loss": "loss_tr", "val_acc": "acc_va", "optimizer": "opt", "criterion": "loss_fn"}


def read_csv(path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def who(sid: str) -> tuple[str, str]:
    """The (name, SID) synthetic_export's metadata gives the submission ``sid`` (one submitter each)."""
    entry = person(2 * (int(sid) - 100001))
    return entry[":name"], entry[":sid"]


def sections(page: str) -> list[str]:
    """The ids of a page's side-by-side views, in order: "<a>-<b>"."""
    return re.findall(r'<section id="([^"]+)"', page)


def run(export, out, *args) -> str:
    """``python -m grader.similarity EXPORT --out OUT ARGS``: its stdout."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([str(export), "--out", str(out), *map(str, args)]) == 0
    return stdout.getvalue()


def disguised(text: str) -> str:
    """A plagiarist's copy: the same code with variables renamed and comments reworded."""
    for old, new in RENAMES.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return re.sub(r"#(?! >>>| <<<)[^\n]*", "# my own work", text)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``python -m grader.similarity EXPORT --out DIR --boilerplate SKELETON``: the CSV's rows, and DIR."""
    base = tmp_path_factory.mktemp("similarity")
    skeleton = base / "skeleton"
    skeleton.mkdir()
    for name in SUBMISSION_FILES:
        (skeleton / name).write_text(blank((COMPLETE / name).read_text()))
    copy = {name: disguised((COMPLETE / name).read_text()) for name in SUBMISSION_FILES}
    export = build_export(base, [Entry(corpus("complete")), Entry(sources(copy)), Entry(independent_numpy())],
                          zipped=True)
    out = base / "out"
    run(export, out, "--boilerplate", skeleton)
    return read_csv(out / "similarity.csv"), out


def test_the_disguised_copy_tops_every_file(report):
    rows, _ = report
    for name in SUBMISSION_FILES:
        top = next(r for r in rows if r["file"] == name)
        assert (top["submission_a"], top["submission_b"]) == ("100001", "100002") and float(top["score"]) > 0.9, top
    assert {(r["submission_a"], r["submission_b"]) for r in rows[:3]} == {("100001", "100002")}
    assert {r["file"] for r in rows[:3]} == set(SUBMISSION_FILES)


def test_independent_correct_work_scores_low(report):
    rows, _ = report
    independent = [r for r in rows if "100003" in (r["submission_a"], r["submission_b"])]
    assert {r["file"] for r in independent} == {"numpy_ann.py"} and len(independent) == 2
    assert all(float(r["score"]) < 0.3 for r in independent), independent


def test_the_csv(report):
    rows, out = report
    assert len(rows) == 5  # three files of the copied pair, and the independent numpy_ann.py with each
    assert [int(r["rank"]) for r in rows] == list(range(1, 6))
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)
    assert all(float(r["score"]) == max(float(r["share_a"]), float(r["share_b"])) for r in rows)
    for r in rows:  # the invented people of the export's metadata
        for side in "ab":
            assert (r[f"names_{side}"], r[f"sids_{side}"]) == who(r[f"submission_{side}"]), r
    assert sorted(p.name for p in (out / "sources" / "100003").iterdir()) == ["numpy_ann.py"]


def test_each_file_page_shows_the_copy_side_by_side_by_name(report):
    """One page per file: the copied pair's view with both students' names and SIDs, the copied
    code highlighted, and no path of a student's file."""
    rows, out = report
    for name in SUBMISSION_FILES:
        page = (out / f"{name.removesuffix('.py')}.html").read_text()
        assert sections(page)[0] == "100001-100002", name
        for sid in ("100001", "100002"):
            student, student_id = who(sid)
            assert f"<b>{student}</b> <span class=\"id\">(SID {student_id}, submission {sid})</span>" in page
        assert "<mark>" in page and str(out) not in page and "sources/" not in page


def test_the_independent_submission_is_correct(sandbox):
    """It is a fair control only if it is right: full marks on every numpy unit item."""
    report = grade(INDEPENDENT, groups=["numpy_unit"], item_timeout=20, sandbox=sandbox)
    numpy_items = [item.id for item in ITEMS if item.group == "numpy_unit"]
    assert {r.item.id: r.score for r in report.results if r.item.id in numpy_items} == \
        {item.id: float(item.points) for item in ITEMS if item.id in numpy_items}


def test_the_default_boilerplate_is_the_handout(tmp_path):
    from release.build import write_handout

    used = default_boilerplate(tmp_path / "handout")
    assert "the handout" in used.origin
    handout = write_handout(tmp_path / "built")
    assert sorted(p.name for p in used.folder.glob("*.py")) == sorted(SUBMISSION_FILES)
    for name in SUBMISSION_FILES:
        assert (used.folder / name).read_text() == (handout / name).read_text()


@pytest.mark.slow  # a similarity report of its own: seconds
def test_the_report_names_the_default_boilerplate(tmp_path):
    """Without --boilerplate, the handout is the boilerplate, and stdout, summary.csv and summary.html
    say so."""
    from release.build import write_handout

    out = tmp_path / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([str(class_export(tmp_path, ("ada", "chen", "chen_copy"))), "--out", str(out)]) == 0
    origin = "the handout: the solution files with their regions blanked"
    assert f"boilerplate: {origin}: {out / 'boilerplate'}" in stdout.getvalue().splitlines()
    handout = write_handout(tmp_path / "built")
    for name in SUBMISSION_FILES:
        assert (out / "boilerplate" / name).read_text() == (handout / name).read_text()
    with (out / "summary.csv").open(newline="") as f:
        assert {(row["boilerplate"], row["boilerplate_folder"]) for row in csv.DictReader(f)} == \
            {(origin, str(out / "boilerplate"))}
    assert origin in (out / "summary.html").read_text()


def test_command_line_says_a_score_is_no_verdict(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "reason to look, not a verdict" in text
    assert "--max-common" in text and "--boilerplate" in text and "--min-own-tokens" in text


# --------------------------------------------------------------------------- a class that looks real
IDS = submission_ids()
MEMBER = {sid: member for member, sid in IDS.items()}
# The copied pairs, and the files copied: the disguised copy copied all three files, the partial one a method.
COPIES = {frozenset({DISGUISED.source, "chen_copy"}): set(SUBMISSION_FILES),
          frozenset({PARTIAL.source, PARTIAL.author}): {PARTIAL.file}}


def members(row) -> frozenset:
    return frozenset({MEMBER[row["submission_a"]], MEMBER[row["submission_b"]]})


def copied(row) -> bool:
    return row["file"] in COPIES.get(members(row), ())


@pytest.fixture(scope="module")
def class_report(tmp_path_factory):
    """The class through the command line, the skeleton it was built from as --boilerplate and every
    pair in the CSV: (similarity.csv's rows, summary.csv's rows by file, stdout, the output folder)."""
    base = tmp_path_factory.mktemp("class")
    export, skeleton = class_export(base), write_skeleton(base / "skeleton")
    out = base / "out"
    stdout = run(export, out, "--boilerplate", skeleton, "--top", 1000)
    summary = {row["file"]: row for row in read_csv(out / "summary.csv")}
    return read_csv(out / "similarity.csv"), summary, stdout, out


@pytest.mark.slow  # the synthetic class's report: seconds
def test_the_copies_are_flagged_and_come_first_in_their_file(class_report):
    rows, summary, *_ = class_report
    for name in SUBMISSION_FILES:
        in_file = [r for r in rows if r["file"] == name]
        copies = [r for r in in_file if copied(r)]
        assert [r["flagged"] for r in copies] == ["yes"] * len(copies), copies
        assert in_file[:len(copies)] == copies, (name, in_file[:len(copies) + 1])
        assert int(summary[name]["pairs_flagged"]) == len(copies)
    # The disguised copy is near-identical; the copied method, a third of a file, an outlier.
    assert {(r["file"], r["why"]) for r in rows if copied(r)} == \
        {("numpy_ann.py", "near-identical"), ("pytorch_ann.py", "near-identical"), ("pytorch_ann.py", "outlier")}
    # Both copies are ranked where their own code is enough to compare: not a vacuous pass.
    assert {members(r) for r in rows if copied(r)} == set(COPIES)
    assert {r["file"] for r in rows if copied(r)} == {"numpy_ann.py", "pytorch_ann.py"}


@pytest.mark.slow  # the synthetic class's report: seconds
def test_no_pair_of_independent_work_is_flagged(class_report):
    rows, *_ = class_report
    independent = [r for r in rows if not copied(r)]
    assert len(independent) > 60  # numpy_ann.py alone ranks 44 of them
    assert [r for r in independent if r["flagged"] == "yes"] == []


@pytest.mark.slow  # the synthetic class's report: seconds
def test_the_cnn_has_too_little_own_code_to_compare(class_report):
    """Its student-written part is one nn.Sequential and one word: however it is built, what is not
    boilerplate or common is too little to tell a copy (chen_copy's CNN is one) from the solution space."""
    rows, summary, stdout, _ = class_report
    cnn = summary["pytorch_cnn.py"]
    assert sorted(cnn["too_little_own_code"].split()) == sorted(IDS.values())
    assert cnn["pairs_ranked"] == "0" and [r for r in rows if r["file"] == "pytorch_cnn.py"] == []
    assert "pytorch_cnn.py: 10 submissions, 0 pairs ranked" in stdout
    assert "too little own code to compare (under 250 tokens): 10" in stdout
    for name, row in summary.items():  # a file with too little own code is in no ranked pair
        little = set(row["too_little_own_code"].split())
        assert not [r for r in rows if r["file"] == name and {r["submission_a"], r["submission_b"]} & little]


@pytest.mark.slow  # the synthetic class's report: seconds
def test_the_summary_names_the_boilerplate_and_shows_the_distribution(class_report):
    rows, summary, stdout, out = class_report
    skeleton = out.parent / "skeleton"
    assert f"boilerplate: given with --boilerplate: {skeleton}" in stdout.splitlines()
    assert {(row["boilerplate"], row["boilerplate_folder"]) for row in summary.values()} == \
        {("given with --boilerplate", str(skeleton))}
    assert {row["max_common"] for row in summary.values()} == {str(default_max_common(len(MEMBERS)))}
    for name, row in summary.items():
        flagged = sum(r["flagged"] == "yes" for r in rows if r["file"] == name)
        assert f"{name}: 10 submissions, {row['pairs_ranked']} pairs ranked, {flagged} flagged" in stdout
    page = (out / "summary.html").read_text()
    assert str(skeleton) in page and '<img src="scores.png"' in page and "not a verdict" in page
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # the synthetic class's report: seconds
def test_the_csv_is_sorted_by_score_with_a_flag(class_report):
    rows, summary, *_ = class_report
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)
    assert {r["why"] for r in rows} == {"near-identical", "outlier", ""}
    for r in rows:  # near-identical, else an outlier: above the file's line, which is at least the floor
        near = float(r["score"]) >= 0.95 and int(r["shared_tokens"]) >= IDENTICAL_TOKENS
        outlier = float(r["score"]) > float(summary[r["file"]]["outlier_above"])
        assert r["why"] == ("near-identical" if near else "outlier" if outlier else ""), r
        assert r["flagged"] == ("yes" if r["why"] else "no")


@pytest.mark.slow  # the synthetic class's report: seconds
def test_the_summary_lists_the_flagged_pairs_first_by_name(class_report):
    """summary.html: the flagged pairs before anything else, each by its students' names and SIDs,
    linking to its view on its file's page; no path of a student's file."""
    rows, _, _, out = class_report
    page = (out / "summary.html").read_text()
    flagged = [r for r in rows if r["flagged"] == "yes"]
    assert f"<h2>Flagged pairs ({len(flagged)})</h2>" in page and len(flagged) == 3
    table = page[page.index("<h2>Flagged pairs"):page.index("<h2>Files")]
    assert page.index("<h2>") == page.index("<h2>Flagged pairs") < page.index('<div class="rule">')  # the first thing
    assert re.findall(r'<a href="([^"]+)">side by side</a>', table) == \
        [f"{r['file'].removesuffix('.py')}.html#{r['submission_a']}-{r['submission_b']}" for r in flagged]
    for r in flagged:
        for sid in (r["submission_a"], r["submission_b"]):
            assert "<b>{}</b> <span class=\"id\">(SID {}, submission {})</span>".format(*who(sid), sid) in table
    assert str(out) not in page and "sources/" not in page


@pytest.mark.slow  # the synthetic class's report: seconds
def test_each_file_has_a_page_flagged_pairs_first(class_report):
    """A page per file, only its pairs: the flagged ones side by side first, then the SHOWN most
    similar unflagged ones, each view headed by its students' names."""
    rows, _, _, out = class_report
    for name in SUBMISSION_FILES:
        page = (out / f"{name.removesuffix('.py')}.html").read_text()
        in_file = [r for r in rows if r["file"] == name]
        flagged = [r for r in in_file if r["flagged"] == "yes"]
        shown = flagged + [r for r in in_file if r["flagged"] == "no"][:SHOWN]
        assert sections(page) == [f"{r['submission_a']}-{r['submission_b']}" for r in shown], name
        assert not [other for other in SUBMISSION_FILES if other != name and f"<td>{other}</td>" in page]
        for r in shown:
            view = page[page.index(f'<section id="{r["submission_a"]}-{r["submission_b"]}"'):]
            assert view.index(who(r["submission_a"])[0]) < view.index(who(r["submission_b"])[0]) < \
                view.index("</section>")
    assert sections((out / "numpy_ann.html").read_text())[:1] == \
        [f"{IDS[DISGUISED.source]}-{IDS['chen_copy']}"]  # not vacuous: a flagged pair leads a page


@pytest.mark.slow  # grades all ten students of the synthetic class: 6 s
def test_the_class_is_correct(sandbox, tmp_path):
    """Its submissions are fair controls only if they are right: full marks on every unit item."""
    groups = ["numpy_unit", "ann_unit", "cnn_unit"]
    full = {item.id: float(item.points) for item in ITEMS if item.group in groups}
    for member in MEMBERS:
        sources(member_files(member))(tmp_path / member)
        report = grade(tmp_path / member, groups=groups, item_timeout=20, sandbox=sandbox)
        assert {r.item.id: r.score for r in report.results if r.item.id in full} == full, member


# --------------------------------------------------------------------------- small classes
@pytest.mark.slow  # a similarity report of its own: seconds
def test_a_copy_is_flagged_in_a_class_of_five(tmp_path):
    """Five students, one file with too little own code in one of them: 6-10 pairs a file, too few
    for an outlier. The disguised copy is flagged all the same, as near-identical, and nothing else is."""
    class_ = ("ada", "bruno", "chen", "dara", "chen_copy")
    ids = submission_ids(class_)
    out = tmp_path / "out"
    stdout = run(class_export(tmp_path, class_), out, "--boilerplate", write_skeleton(tmp_path / "skeleton"))
    rows = read_csv(out / "similarity.csv")
    assert {(r["file"], r["submission_a"], r["submission_b"], r["why"]) for r in rows if r["flagged"] == "yes"} == \
        {(name, ids["chen"], ids["chen_copy"], "near-identical") for name in ("numpy_ann.py", "pytorch_ann.py")}
    assert "pytorch_ann.py: 5 submissions, 6 pairs ranked, 1 flagged (1 near-identical; no outliers among fewer " \
           "than 10 pairs)" in stdout
    assert sections((out / "pytorch_ann.html").read_text())[0] == f"{ids['chen']}-{ids['chen_copy']}"


@pytest.mark.slow  # a similarity report of its own: seconds
def test_independent_work_is_not_flagged_in_a_class_of_three(tmp_path):
    """Too few to tell common code: the CNN that the handout prescribes layer by layer, written alike,
    scores 1.00, and two numpy_ann.py 0.85. Neither is near-identical: the CNN is too little own code
    (under IDENTICAL_TOKENS), the numpy files not near enough."""
    out = tmp_path / "out"
    run(class_export(tmp_path, ("ada", "farah", "hana")), out, "--boilerplate", write_skeleton(tmp_path / "skeleton"),
        "--show", 0)
    rows = read_csv(out / "similarity.csv")
    cnn = [r for r in rows if r["file"] == "pytorch_cnn.py"]
    assert len(cnn) == 3 and all(float(r["score"]) == 1 and int(r["shared_tokens"]) < IDENTICAL_TOKENS for r in cnn)
    top_numpy = next(r for r in rows if r["file"] == "numpy_ann.py")
    assert 0.8 < float(top_numpy["score"]) < 0.95 and int(top_numpy["shared_tokens"]) >= IDENTICAL_TOKENS
    assert [r for r in rows if r["flagged"] == "yes"] == []


@pytest.mark.slow  # a similarity report of its own: seconds
def test_a_class_of_two_is_flagged_and_its_outputs_are_owner_only(tmp_path):
    """A copy and its source alone, the default boilerplate, over an earlier run's outputs left
    readable by all: the copy is flagged, and every folder is 0700, every file 0600."""
    out = tmp_path / "out"
    (out / "sources" / "100001").mkdir(parents=True)
    (out / "summary.html").write_text("an earlier run's")
    for path, mode in ((out, 0o755), (out / "sources" / "100001", 0o755), (out / "summary.html", 0o644)):
        path.chmod(mode)
    run(class_export(tmp_path, ("chen", "chen_copy")), out, "--show", 0)
    rows = read_csv(out / "similarity.csv")
    assert {"numpy_ann.py", "pytorch_ann.py"} <= {r["file"] for r in rows if r["why"] == "near-identical"}
    modes = {path.relative_to(out): stat.S_IMODE(path.stat().st_mode) for path in [out, *out.rglob("*")]}
    assert {str(path) for path in modes} >= {".", "summary.html", "numpy_ann.html", "scores.png", "similarity.csv",
                                            "sources/100002/numpy_ann.py", "boilerplate/numpy_ann.py"}
    assert {path: mode for path, mode in modes.items()
            if mode != (0o700 if (out / path).is_dir() else 0o600)} == {}


@pytest.mark.slow  # a similarity report of its own: seconds
def test_a_file_saved_with_a_byte_order_mark_or_in_cp1252_does_not_stop_the_report(tmp_path):
    """Notepad's UTF-8 (a BOM) and Windows' cp1252: the report runs, and the copy is still flagged."""
    export = class_export(tmp_path, ("chen", "chen_copy", "ada"))
    files = sorted(Path(export).rglob("numpy_ann.py"))
    files[0].write_bytes(b"\xef\xbb\xbf" + files[0].read_bytes())
    files[2].write_bytes(("# caf\u00e9\n" + files[2].read_text()).encode("cp1252"))
    out = tmp_path / "out"
    run(export, out, "--show", 0)
    assert "near-identical" in {r["why"] for r in read_csv(out / "similarity.csv") if r["file"] == "numpy_ann.py"}


# --------------------------------------------------------------------------- the side-by-side view
def test_the_handout_is_not_highlighted(tmp_path):
    """In the disguised copy's view, the handout's docstrings are grey, never highlighted, though
    copydetect's own matches reach into them; most of the copied code is highlighted. The handout's
    lines grey them, and so do the lines common in the class without them (a boilerplate that is
    not quite what the class received): the k-grams alone would not."""
    sources_ = {}
    for member in (DISGUISED.source, "chen_copy", "ada"):
        for name, text in member_files(member).items():
            (tmp_path / member).mkdir(exist_ok=True)
            (tmp_path / member / name).write_text(text)
            sources_.setdefault(name, {})[member] = tmp_path / member / name
    skeleton = write_skeleton(tmp_path / "skeleton")
    provided = boilerplate_hashes(skeleton)
    own, _, common = own_code(sources_, provided, None)
    for name in ("numpy_ann.py", "pytorch_ann.py"):
        source, copy = own[name][DISGUISED.source], own[name]["chen_copy"]
        kinds = marks(source, copy, provided | common, handout_lines(skeleton, name, tmp_path / "none"), frozenset())
        docstrings = [range(*m.span()) for m in re.finditer(r'"""(.*?)"""', source.raw_code, re.DOTALL)]
        assert len(docstrings) >= 7 and all(kinds[i] == GIVEN for doc in docstrings for i in doc), name
        _, _, (slices, _) = compare_files(source, copy)
        matched = {i for start, end in zip(*slices) for i in range(int(start), int(end))}
        assert any(i in matched for doc in docstrings for i in doc), name  # copydetect's view highlights them
        own_lines = set(source.raw_code.splitlines()) - set((skeleton / name).read_text().splitlines())
        own_chars = [kinds[m.start() + i] for line in own_lines if line.strip()
                     for m in re.finditer(re.escape(line), source.raw_code) for i, c in enumerate(line) if c != " "]
        assert own_chars.count(SHARED) > 0.5 * len(own_chars), name
        held_by_all = common_lines([fp.raw_code for fp in own[name].values()], max_common=2)
        kinds = marks(source, copy, provided | common, [], held_by_all)
        assert all(kinds[i] == GIVEN for doc in docstrings for i in doc if not source.raw_code[i].isspace()), name
    source, copy = own["numpy_ann.py"][DISGUISED.source], own["numpy_ann.py"]["chen_copy"]
    kinds = marks(source, copy, provided | common, [], frozenset())
    assert "".join(source.raw_code[i] for i, kind in enumerate(kinds) if kind == SHARED).count("Parameters:") >= 1


def test_each_normalised_character_points_at_its_token(tmp_path):
    """copydetect's offset table goes wrong after a class name; token_spans does not."""
    path = tmp_path / "f.py"
    path.write_text('import torch\n\n\nclass Model(nn.Module):  # a comment\n    """Doc."""\n\n'
                    "    def forward(self, x):\n        return self.layer(x) + 'x'\n")
    fp = fingerprint(path)
    spans, comments = token_spans(fp)
    assert [fp.raw_code[start:end] for start, end in comments] == ["# a comment"]
    assert fp.filtered_code == 'importtorchclassO(V.V):SdefF(self,V):returnself.V(V)+"S"'
    tokens = [fp.raw_code[start:end] for start, end in spans]
    assert [t for t, c in zip(tokens, fp.filtered_code) if c in "OVFS"] == \
        ["Model", "nn", "Module", '"""Doc."""', "forward", "x", "layer", "x", "x"]
    assert tokens[:6] == ["import"] * 6  # each character of a keyword points at it all


def test_the_view_escapes_the_code_and_folds_the_handout():
    text = "".join(f"provided_{i} = {i}\n" for i in range(10)) + "x = '</pre><script>alert(1)</script>'\n"
    kinds = [GIVEN] * text.index("x =") + [SHARED] * 5 + [PLAIN] * (len(text) - text.index("x =") - 5)
    page = code_html(text, kinds)
    assert page.startswith("<details><summary>lines 1-10: not compared")
    assert '<span class="n">11</span><code><mark>x = &#x27;</mark>&lt;/pre&gt;&lt;script&gt;' in page
    assert "<script>" not in page
    short = code_html("a = 1\nb = 2\n", [GIVEN] * 12)  # under FOLD_LINES: shown as it is
    assert "<details>" not in short and '<span class="g">a = 1</span>' in short


# --------------------------------------------------------------------------- the parts
def test_common_code_is_code_in_more_than_max_common_submissions(tmp_path):
    """A line all five submissions hold is common code with max_common 4, not with 5; a line two
    hold stays own code; the boilerplate never counts."""
    provided = "def provided(x):\n    return x.total_of_all(1, 2, 3, 4, 5)\n"
    shared = "alpha = beta.gamma(1, 2, 3).zeta(4, 5, 6, 7, 8, 9, 10, 11, 12)\n"  # names normalise to one token
    pair = "kappa = [lam + 13 for lam in mu(14, 15, 16, 17, 18) if lam > 19 * 20]\n"
    texts = {"boilerplate/numpy_ann.py": provided, "shared.py": shared, "pair.py": pair}
    texts.update({f"{i}/numpy_ann.py": provided + shared + (pair if i < 2 else "") for i in range(5)})
    for name, text in texts.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    sources = {"numpy_ann.py": {str(i): tmp_path / str(i) / "numpy_ann.py" for i in range(5)}}
    hashes = boilerplate_hashes(tmp_path / "boilerplate")
    shared_kgrams, pair_kgrams = (fingerprint(tmp_path / name).hashes for name in ("shared.py", "pair.py"))
    assert shared_kgrams and pair_kgrams
    for max_common, common in ((4, True), (5, False)):
        own, used, _ = own_code(sources, hashes, max_common)
        kept = {sid: fp.hashes for sid, fp in own["numpy_ann.py"].items()}
        assert used == max_common
        assert all(bool(held & shared_kgrams) != common for held in kept.values()), max_common
        assert pair_kgrams <= kept["0"] & kept["1"] and not pair_kgrams & kept["2"]
        assert not set().union(*kept.values()) & hashes


def test_the_default_max_common():
    assert [default_max_common(n) for n in (10, 39, 40, 100, 300)] == [3, 3, 4, 10, 30]


def test_own_code_keeps_a_line_written_twice(tmp_path):
    """copydetect 0.5's own boilerplate removal drops repeated k-grams' second occurrences."""
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "f.py").write_text("def provided(x):\n    return x.total_of_all(1, 2, 3, 4, 5)\n")
    line = "y = q.w.e.r.t.y(9, 8, 7, 6, 5, 4, 3, 2, 1)\n"
    (tmp_path / "f.py").write_text((tmp_path / "b" / "f.py").read_text() + line + line)
    hashes = boilerplate_hashes(tmp_path / "b")
    fp = leave_out(fingerprint(tmp_path / "f.py"), hashes)
    assert sum(map(len, fp.hash_idx.values())) == sum(h not in hashes for h in hashed_kgrams(fp.filtered_code, NOISE))
    assert max(map(len, fp.hash_idx.values())) == 2


def scores_pairs(scores) -> list[Pair]:
    return [Pair("numpy_ann.py", str(i), str(i + 1000), s, s / 2, 0) for i, s in enumerate(scores)]


def test_a_flag_is_an_outlier_above_the_floor():
    background = [0.05, 0.1, 0.15, 0.2, 0.1, 0.12, 0.08, 0.18, 0.14, 0.11, 0.09, 0.13]
    pairs, median, above = flag(scores_pairs(background + [0.9]), floor=0.4, z_cut=3.5)
    assert [p.score for p in pairs if p.flagged] == [0.9]
    assert median == pytest.approx(0.12) and 0.4 <= above < 0.9
    # An outlier under the floor is not flagged; nor is anything among fewer than ten pairs.
    pairs, _, above = flag(scores_pairs([0.01] * 6 + [0.02] * 6 + [0.3]), floor=0.4, z_cut=3.5)
    assert not any(p.flagged for p in pairs) and above == 0.4 and max(p.z for p in pairs) > 3.5
    pairs, median, above = flag(scores_pairs([0.1] * 8 + [1.0]))
    assert not any(p.flagged for p in pairs) and median is None and above is None


def test_a_near_identical_pair_needs_no_distribution():
    """A score of 0.95 or more over IDENTICAL_TOKENS own tokens or more: flagged among any number of
    pairs, one included; a little less of either is not."""
    def pair(score, shared):
        return Pair("numpy_ann.py", "1", "2", score, score, shared)

    for pairs in ([pair(1.0, 400)], [pair(0.1, 500)] * 3 + [pair(0.95, 1000)], [pair(0.1, 300)] * 12 + [pair(1, 400)]):
        flagged, *_ = flag(pairs)
        assert [p.why for p in flagged] == [""] * (len(pairs) - 1) + ["near-identical"], pairs
    flagged, median, above = flag([pair(1.0, IDENTICAL_TOKENS - 1), pair(0.949, 1000)])
    assert not any(p.flagged for p in flagged) and median is None and above is None


def test_a_flag_when_most_pairs_share_nothing():
    """More than half the scores 0 (MAD 0): the mean absolute deviation sets the scale instead."""
    pairs, median, above = flag(scores_pairs([0.0] * 20 + [0.1, 0.2, 0.15, 0.05] + [0.95]))
    assert median == 0 and [p.score for p in pairs if p.flagged] == [0.95]
    pairs, _, above = flag(scores_pairs([0.3] * 12))
    assert not any(p.flagged for p in pairs) and above is None


def test_a_boilerplate_folder_without_python_files_is_refused(tmp_path, capsys):
    """Otherwise nothing would be left out, silently, and every pair would look alike."""
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(SystemExit) as exit_:
            main([str(tmp_path), "--out", str(tmp_path / "out"), "--boilerplate", str(folder)])
        assert exit_.value.code == 2 and "no folder holding .py files" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
