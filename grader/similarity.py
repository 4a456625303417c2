"""Pairwise code similarity across a class: ``python -m grader.similarity EXPORT --out DIR``.

Each of the three files (``numpy_ann.py``, ``pytorch_ann.py``, ``pytorch_cnn.py``) is compared
with the same file of every other submission by copydetect's fingerprints (winnowing over
k-grams of the normalised code: renaming variables or reformatting does not hide a copy). Two
kinds of code are no evidence of copying and are left out before anything is compared:

- the boilerplate, what every student received: by default the handout (the solution files
  with their regions blanked; ``--boilerplate DIR`` gives another);
- the common code, a fingerprint found in more than ``--max-common`` submissions (MOSS's ``-m``):
  what students write is small and constrained, so independent solutions share idioms.

What is left of a file is its student's own code. A file with less own code than
``--min-own-tokens`` is reported as too little own code to compare and is not ranked: a match
in it would be a match of a few lines that many could have written.

A pair's score is the larger of its two shares: the fraction of one file's own code found in
the other; its shared tokens are how much own code that is. A pair is *flagged* when it is

- near-identical: a score of at least 0.95 and at least 400 shared tokens, whatever the class
  size. A copy needs no class to stand out from, and disguising one (renaming, respacing,
  dropping comments) leaves its score at 1.00. Independent solutions of the synthetic class
  (tests/synthetic_class.py) score at most 0.88 with 400 shared tokens or more, in any class of
  2-10 of its students; the CNN's network, which the handout prescribes layer by layer, is
  written alike by independent students (scores up to 1.00) but is at most 381 tokens of own code;
- or an outlier: a score above ``--flag-floor`` and a robust z-score above ``--flag-z`` among the
  file's pairs, where the file has at least 10 ranked pairs (a distribution to stand out from).

Written to DIR, readable by its owner only (names and student code: folders 0700, files 0600):

- ``summary.html``: the flagged pairs of every file first, then the rule, per file its counts,
  ``scores.png`` (each file's distribution of scores), the boilerplate and settings;
- ``numpy_ann.html``, ``pytorch_ann.html``, ``pytorch_cnn.html``: one page per file, its flagged
  pairs first, then its ``--show`` most similar unflagged pairs, each side by side: the own code
  found in the other file highlighted, what is not compared (the handout's code, the common
  code, comments) grey;
- ``summary.csv`` and ``similarity.csv`` (the ``--top`` pairs and every flagged pair);
- ``sources/<id>/`` and ``boilerplate/``: the files compared.

Students are named as the export's metadata names them (name, student ID, submission id).
A flag is a reason to read two files, not a verdict (README.md, "Similarity").
"""
from __future__ import annotations

import argparse
import csv
import difflib
import html
import io
import itertools
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pygments import token

from course.regions import blank

from .export import ExportError, open_export
from .report import clean, write_atomic
from .rubric import SUBMISSION_FILES
from .submission import collect

ROOT = Path(__file__).resolve().parent.parent
TOP_PAIRS = 100
SHOWN = 3  # unflagged pairs per file shown side by side, for comparison with the flagged ones
# copydetect's unit is a "token": one character of the normalised code (a name is one, `return` six).
NOISE = 25  # copydetect's k: a match shorter than 25 tokens is noise
COMMON_FRACTION = 10  # common code: in more than a tenth of the submissions (default_max_common) ...
MIN_MAX_COMMON = 3    # ... and in more than 3
# A line that two students write alike by chance, with the provided code around it that its k-grams
# take in, matches over about 2 * NOISE tokens. With at least 10 * NOISE own tokens such a match is
# at most a fifth of a file, and a score above FLAG_FLOOR takes more than two of them. The CNN's own
# code (one nn.Sequential and a word) stays under it: about 200-260 tokens, however it is written.
MIN_OWN_TOKENS = 10 * NOISE
FLAG_FLOOR = 0.4
FLAG_Z = 3.5  # Iglewicz and Hoaglin's cut-off for the modified (median/MAD) z-score
MIN_PAIRS_TO_FLAG = 10  # an outlier needs a distribution: five submissions with own code make ten pairs
# Near-identical, whatever the class size (the module's docstring says why these two numbers).
IDENTICAL_SCORE = 0.95
IDENTICAL_TOKENS = 400
FOLD_LINES = 8  # a side-by-side view folds away a stretch of this many lines of code not compared


@dataclass(frozen=True)
class Pair:
    file: str
    a: str               # submission ids
    b: str
    share_a: float       # the fraction of a's own code found in b
    share_b: float
    shared: int          # own tokens found in the other file, of the file with the larger share
    z: float | None = None  # robust z-score among the file's pairs (None: too few pairs to tell)
    why: str = ""        # "near-identical", "outlier", or "" (not flagged)

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)

    @property
    def flagged(self) -> bool:
        return bool(self.why)


@dataclass(frozen=True)
class Boilerplate:
    folder: Path
    origin: str          # what it is, in words, for the report


@dataclass(frozen=True)
class Student:
    """A submission as the report names it: the export's metadata, never a path."""
    id: str              # Gradescope's submission id
    names: str = ""      # "; " between a group's members; "" in an export without metadata
    sids: str = ""       # their student IDs, likewise

    def __str__(self) -> str:
        ids = f"SID {self.sids}, submission {self.id}" if self.sids else f"submission {self.id}"
        return f"{self.names} ({ids})" if self.names else ids


@dataclass
class FileResult:
    """One file across the class: who handed it in, how much own code each has, its ranked pairs."""
    file: str
    own_tokens: dict[str, int]     # submission id -> tokens of own code (boilerplate and common code left out)
    too_little: list[str]          # ids under the minimum: not ranked
    pairs: list[Pair] = field(default_factory=list)  # most similar first
    median: float | None = None
    outlier_above: float | None = None  # an outlier's score is above this (None: no outlier can be)

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]

    @property
    def page(self) -> str:
        return f"{Path(self.file).stem}.html"


@dataclass
class Similarity:
    """What ``run_similarity`` found and reports."""
    title: str                     # the export's file name
    boilerplate: Boilerplate
    students: dict[str, Student]   # submission id -> who
    max_common: int
    common_fingerprints: int
    min_own_tokens: int
    floor: float
    z: float
    files: dict[str, FileResult]

    @property
    def pairs(self) -> list[Pair]:
        """Every ranked pair, most similar first."""
        return sort_pairs([p for f in self.files.values() for p in f.pairs])

    @property
    def submissions(self) -> int:
        """Submissions with at least one of the files."""
        return len({sid for f in self.files.values() for sid in f.own_tokens})


# --------------------------------------------------------------------------- boilerplate
def default_boilerplate(dest: Path) -> Boilerplate:
    """The handout, written to ``dest``: the solution files with their regions blanked, the code
    every student received (``course.regions.blank``, what ``python -m release build`` ships)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SUBMISSION_FILES:
        (dest / name).write_text(blank((ROOT / name).read_text(encoding="utf-8"), name), encoding="utf-8")
    return Boilerplate(dest, "the handout: the solution files with their regions blanked")


# --------------------------------------------------------------------------- private outputs
def private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (its missing parents as umask has them): the
    outputs hold names and student code."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # also one an earlier run left open
    return path


def write_sources(export, dest: Path) -> dict[str, dict[str, Path]]:
    """Each submission's files, read safely (``grader.submission.collect``), written to
    ``dest/<id>/``; returns file name -> submission id -> path."""
    written: dict[str, dict[str, Path]] = {name: {} for name in SUBMISSION_FILES}
    private_folder(dest)
    for sub in export.submissions:
        with export.checkout(sub) as (folder, _notes):
            found = collect(folder)
        for name, data in found.files.items():
            path = private_folder(dest / sub.safe_id) / name
            # As UTF-8 without a byte-order mark, which copydetect and the side-by-side views read:
            # a file saved by Notepad (a BOM) or in cp1252 must not stop the class's report.
            write_atomic(path, data.decode("utf-8-sig", errors="replace"))
            written[name][sub.id] = path
    return written


# --------------------------------------------------------------------------- own code
def fingerprint(path: Path):
    """copydetect's fingerprint of a file: every k-gram (k = NOISE) of its normalised code."""
    from copydetect import CodeFingerprint

    return CodeFingerprint(str(path), NOISE, 1)


def leave_out(fp, hashes: frozenset):
    """``fp`` without the k-grams in ``hashes`` (changed in place; returned).

    copydetect 0.5 can remove boilerplate itself, but with ``np.intersect1d(...,
    assume_unique=True)`` on hashes that repeat wherever code repeats, which also drops repeated
    own code (a line written twice counts once): hence the removal here.
    """
    from copydetect.utils import get_token_coverage

    fp.hash_idx = {h: idx for h, idx in fp.hash_idx.items() if h not in hashes}
    fp.hashes = set(fp.hash_idx)
    fp.token_coverage = int(get_token_coverage(fp.hash_idx, NOISE, len(fp.filtered_code)))
    return fp


def boilerplate_hashes(folder: Path, ignore: Path | None = None) -> frozenset:
    """The k-grams of every ``.py`` file under the boilerplate folder (those under ``ignore`` aside)."""
    paths = [p for p in sorted(Path(folder).rglob("*.py")) if ignore is None or not p.is_relative_to(ignore)]
    return frozenset(h for path in paths for h in fingerprint(path).hashes)


def default_max_common(submissions: int) -> int:
    """Common code is in more than a tenth of the submissions, and in at least ``MIN_MAX_COMMON + 1``.

    What independent students share is an idiom of a small solution space, and an idiom is
    written by a share of the class, whatever its size: a tenth is MOSS's default of 10 at 100
    submissions, and 30 at 300. The floor keeps a ring of up to three who copied from one another
    from being erased as common code in a class of under 40 (in a class of 10, common code is code
    that four or more wrote).
    """
    return max(MIN_MAX_COMMON, submissions // COMMON_FRACTION)


def own_code(sources: dict[str, dict[str, Path]], boilerplate: frozenset, max_common: int | None):
    """Every file's fingerprint without the boilerplate and the common code.

    A k-gram's count is the number of submissions holding it in any of their files (MOSS counts
    programs, not files). Returns (file name -> submission id -> fingerprint, the max_common used,
    the common k-grams).
    """
    prints = {name: {sid: leave_out(fingerprint(path), boilerplate) for sid, path in by_id.items()}
              for name, by_id in sources.items()}
    holders: dict[str, set] = {}
    for by_id in prints.values():
        for sid, fp in by_id.items():
            holders.setdefault(sid, set()).update(fp.hashes)
    if max_common is None:
        max_common = default_max_common(len(holders))
    counts = Counter(h for held in holders.values() for h in held)
    common = frozenset(h for h, n in counts.items() if n > max_common)
    for by_id in prints.values():
        for fp in by_id.values():
            leave_out(fp, common)
    return prints, max_common, common


# --------------------------------------------------------------------------- comparing and flagging
def sort_pairs(pairs: list[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.score, p.file, p.a, p.b))


def compare(prints: dict[str, dict[str, object]]) -> list[Pair]:
    """Every pair of same-named files (file name -> submission id -> own-code fingerprint), most
    similar first."""
    from copydetect import compare_files

    pairs = []
    for name, by_id in prints.items():
        for a, b in itertools.combinations(by_id, 2):
            _, (share_a, share_b), _ = compare_files(by_id[a], by_id[b])
            larger = by_id[a] if share_a >= share_b else by_id[b]
            score = float(max(share_a, share_b))
            pairs.append(Pair(name, a, b, float(share_a), float(share_b), round(score * larger.token_coverage)))
    return sort_pairs(pairs)


def robust_z(scores: list[float]) -> tuple[float, float]:
    """(median, scale) for z = (score - median) / scale: the scale is 1.4826 * MAD, which is the
    standard deviation for normal data; when more than half of the scores are equal (MAD 0, as
    when most pairs share no own code), 1.2533 * the mean absolute deviation from the median
    (the same correction for that estimator). A scale of 0: every score is the same."""
    median = statistics.median(scores)
    deviations = [abs(s - median) for s in scores]
    mad = statistics.median(deviations)
    return median, 1.4826 * mad if mad > 0 else 1.2533 * statistics.fmean(deviations)


def near_identical(p: Pair) -> bool:
    return p.score >= IDENTICAL_SCORE and p.shared >= IDENTICAL_TOKENS


def flag(pairs: list[Pair], floor: float = FLAG_FLOOR, z_cut: float = FLAG_Z,
         min_pairs: int = MIN_PAIRS_TO_FLAG) -> tuple[list[Pair], float | None, float | None]:
    """One file's pairs, each with its robust z-score and why it is flagged: near-identical (in a
    class of any size), or an outlier (a score above ``floor`` and a z-score above ``z_cut``, among
    at least ``min_pairs`` pairs). Returns (pairs, the median score, the score an outlier is above);
    with fewer than ``min_pairs`` pairs the last two are None, and the last one when every score is alike."""
    median = scale = above = None
    if len(pairs) >= min_pairs:
        median, scale = robust_z([p.score for p in pairs])
        above = max(floor, median + z_cut * scale) if scale > 0 else None  # all alike: nothing stands out

    def why(p: Pair) -> str:
        if near_identical(p):
            return "near-identical"
        return "outlier" if above is not None and p.score > above else ""

    z = (lambda p: None) if median is None else (lambda p: (p.score - median) / scale if scale else 0.0)
    return [replace(p, z=z(p), why=why(p)) for p in pairs], median, above


# --------------------------------------------------------------------------- the side-by-side view
PLAIN, GIVEN, SHARED = 0, 1, 2  # a character of a file: own code, not compared, own code in the other
VARIABLES = frozenset({token.Name, token.Name.Variable, token.Name.Attribute})  # filter_code's, tested exactly


def normalised(ttype, value: str) -> str:
    """What copydetect 0.5's ``filter_code`` makes of one pygments token."""
    if ttype in VARIABLES:  # a set: these three exactly; `ttype in kind` below takes in subtypes too
        return "V"
    for kind, letter in ((token.Name.Function, "F"), (token.Name.Class, "O")):
        if ttype in kind:
            return letter
    if ttype in (token.Comment.Preproc, token.Comment.Hashbang):
        return "P"
    if ttype in token.Text or ttype in token.Comment:
        return ""
    if ttype in token.Literal.String:
        return '"' if value in ("'", '"') else "S"
    return value


def token_spans(fp) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """For each character of ``fp.filtered_code``, its token's (start, end) in ``fp.raw_code``;
    and where the comments are, which the normalised code leaves out.

    copydetect maps its matches back to the code with an offset table, which is wrong after a
    class name (it records the name's length, not the running total); lexing the code again by
    ``filter_code``'s rules gives every normalised character its token.
    """
    from pygments import lexers

    spans, comments, text = [], [], []
    for start, ttype, value in lexers.get_lexer_for_filename(fp.filename).get_tokens_unprocessed(fp.raw_code):
        piece = normalised(ttype, value)
        text.append(piece)
        spans += [(start, start + len(value))] * len(piece)
        if ttype in token.Comment and not piece:
            comments.append((start, start + len(value)))
    if "".join(text) != fp.filtered_code:
        raise RuntimeError(f"{fp.filename}: pygments' tokens do not give copydetect's normalised code")
    return spans, comments


def covered(starts, length: int) -> np.ndarray:
    """Which of ``length`` normalised characters the k-grams beginning at ``starts`` take in."""
    mask, starts = np.zeros(length, bool), np.asarray(list(starts), dtype=int)
    for offset in range(NOISE):
        mask[starts + offset] = True
    return mask


def raw_runs(mask: np.ndarray, spans: list[tuple[int, int]]):
    """Each run of the mask over the normalised code, as (start, stop) in the raw code: from its
    first token's start to its last token's end (the whitespace and comments between them with it)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    for first, end in zip(edges[::2], edges[1::2]):
        yield spans[first][0], spans[end - 1][1]


def common_lines(texts, max_common: int) -> frozenset[str]:
    """The lines (stripped) that more than ``max_common`` of the files ``texts`` hold: common code, a
    line at a time."""
    counts = Counter(line for text in texts for line in {line.strip() for line in text.splitlines()} if line)
    return frozenset(line for line, n in counts.items() if n > max_common)


def line_ranges(code: str, handout: list[str], common: frozenset[str]):
    """(start, stop) of ``code``'s lines that are the handout's lines (in its order), or common lines."""
    lines = code.splitlines(keepends=True)
    starts = list(itertools.accumulate(map(len, lines), initial=0))
    matcher = difflib.SequenceMatcher(None, [line.rstrip() for line in lines], handout, autojunk=False)
    for i, _, size in matcher.get_matching_blocks():
        yield starts[i], starts[i + size]
    for i, line in enumerate(lines):
        if line.strip() in common:
            yield starts[i], starts[i + 1]


def marks(fp, other, excluded: frozenset, handout: list[str], common: frozenset[str]) -> list[int]:
    """Each character of ``fp``'s code: SHARED where its own code is found in ``other``, GIVEN where
    it is not compared, else PLAIN.

    Not compared: what a k-gram of ``excluded`` (the boilerplate, the common code) covers, the
    lines as the handout has them (``handout``) and the ``common`` lines, and the comments. The
    k-grams alone miss a short stretch of provided code between two regions a student filled,
    such as a method's docstring (one token), which the k-grams of a match then reach into; a
    match takes in the comments between its tokens, the handout's region markers among them.
    """
    from copydetect.utils import hashed_kgrams

    length = len(fp.filtered_code)
    given = covered((i for i, h in enumerate(hashed_kgrams(fp.filtered_code, NOISE)) if h in excluded), length)
    shared = covered((i for h in fp.hashes & other.hashes for i in fp.hash_idx[h]), length)
    (spans, comments), out = token_spans(fp), [PLAIN] * len(fp.raw_code)
    for start, stop in itertools.chain(raw_runs(given, spans), line_ranges(fp.raw_code, handout, common)):
        out[start:stop] = [GIVEN] * (stop - start)
    for start, stop in raw_runs(shared, spans):
        out[start:stop] = [SHARED if kind == PLAIN else kind for kind in out[start:stop]]
    for start, stop in comments:
        out[start:stop] = [GIVEN] * (stop - start)
    return out


def code_html(text: str, kinds: list[int]) -> str:
    """The code, line-numbered and styled by ``kinds``; a stretch of FOLD_LINES lines or more
    holding only code not compared is folded away (a click opens it)."""
    wrap = {PLAIN: "{}", GIVEN: '<span class="g">{}</span>', SHARED: "<mark>{}</mark>"}
    rows, start = [], 0  # (line's HTML, whether it holds only code not compared)
    for number, line in enumerate(text.rstrip("\n").split("\n"), 1):
        indent = len(line) - len(line.lstrip())  # a match running on from the line above: not its indentation
        styled = list(zip(line, [PLAIN] * indent + kinds[start + indent:start + len(line)]))
        body = "".join(wrap[kind].format(html.escape("".join(c for c, _ in run)))
                       for kind, run in itertools.groupby(styled, key=lambda ck: ck[1]))
        rows.append((f'<div class="l"><span class="n">{number}</span><code>{body}</code></div>',
                     all(k == GIVEN for c, k in styled if not c.isspace())))
        start += len(line) + 1
    out = []
    for given, run in itertools.groupby(enumerate(rows, 1), key=lambda row: row[1][1]):
        run = list(run)
        block = "".join(line for _, (line, _) in run)
        if given and len(run) >= FOLD_LINES:
            block = (f"<details><summary>lines {run[0][0]}-{run[-1][0]}: not compared (the handout's code, "
                     f"code common in this class, comments)</summary>{block}</details>")
        out.append(block)
    return "".join(out)


def pair_view(p: Pair, prints: dict, students: dict[str, Student], excluded: frozenset, handout: list[str],
              common: frozenset[str]) -> str:
    """A pair, side by side, with an anchor for links: ``<file page>#<a>-<b>``; ``excluded``,
    ``handout`` and ``common``: what is not compared, for ``marks``."""
    e = html.escape
    first, second = prints[p.file][p.a], prints[p.file][p.b]
    sides = "".join(
        f'<div class="side"><h4>{student_html(students[sid])}<br>{share:.0%} of this own code '
        f"({fp.token_coverage} tokens) is in the other file</h4>"
        f"{code_html(fp.raw_code, marks(fp, other, excluded, handout, common))}</div>"
        for sid, share, fp, other in ((p.a, p.share_a, first, second), (p.b, p.share_b, second, first)))
    verdict = (f'<span class="flag">flagged: {e(p.why)}</span>' if p.flagged
               else f"not flagged: under {IDENTICAL_TOKENS} tokens shared" if p.score >= IDENTICAL_SCORE
               else "not flagged")
    return (f'<section id="{e(anchor(p))}"><h3>{p.score:.2f} &middot; {verdict} &middot; {e(p.file)}: '
            f"{e(students[p.a].names or p.a)} and {e(students[p.b].names or p.b)}, {p.shared} tokens shared</h3>"
            f'<div class="pair">{sides}</div></section>')


def anchor(p: Pair) -> str:
    return f"{p.a}-{p.b}"


# --------------------------------------------------------------------------- the report
STYLE = """<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.25em .8em;text-align:left;border-bottom:1px solid #ddd}
th{background:#f0f0f0} .num{text-align:right} .nowrap{white-space:nowrap}
.rule{background:#f6f6f6;border-left:4px solid #888;padding:.5em 1em;max-width:75em}
.flag{color:#b00000;font-weight:bold} .id{color:#666;font-size:90%}
nav{margin-bottom:1em} nav a{margin-right:1em}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em} .side{min-width:0;border:1px solid #ccc}
.side h4{margin:0;padding:.4em .6em;background:#eee;font-weight:normal}
section{margin-bottom:2.5em}
.l{display:flex;font:12px/1.35 monospace;min-height:1.35em}
.l code{font:inherit;white-space:pre-wrap;overflow-wrap:anywhere;min-width:0}
.n{flex:none;width:3em;margin-right:1em;text-align:right;color:#aaa;user-select:none}
.g{color:#a0a0a0} mark{background:#ffd54f}
summary{font:12px monospace;color:#777;background:#f7f7f7;padding:.2em 1em;cursor:pointer}
</style>"""


def rule_lines(result: Similarity) -> list[str]:
    return [f"near-identical: at least {IDENTICAL_SCORE:.0%} of one file's own code is in the other, and that is "
            f"at least {IDENTICAL_TOKENS} tokens; in a class of any size",
            f"an outlier: a score above {result.floor:.2f} and a robust z-score above {result.z:g} among the "
            f"file's pairs, where the file has at least {MIN_PAIRS_TO_FLAG} ranked pairs"]


def settings_lines(result: Similarity) -> list[str]:
    return [f"boilerplate: {result.boilerplate.origin}: {result.boilerplate.folder}",
            f"common code: a fingerprint in more than {result.max_common} of the {result.submissions} submissions "
            f"({result.common_fingerprints} fingerprints)",
            f"too little own code to compare: under {result.min_own_tokens} tokens"]


def outliers(f: FileResult) -> str:
    """Which of a file's scores are outliers, in words."""
    if f.median is None:
        return f"no outliers among fewer than {MIN_PAIRS_TO_FLAG} pairs"
    if f.outlier_above is None or f.outlier_above >= 1:  # every score alike, or so spread that none stands out
        return "no score can be an outlier"
    return f"outliers above {f.outlier_above:.2f}"


def counts(f: FileResult) -> str:
    """A file's submissions, pairs and flags, in words."""
    near = sum(p.why == "near-identical" for p in f.flagged)
    return (f"{len(f.own_tokens)} submissions, {len(f.pairs)} pairs ranked, {len(f.flagged)} flagged "
            f"({near} near-identical; {outliers(f)})")


def file_line(f: FileResult, min_own_tokens: int) -> str:
    """One file's line of the printed summary."""
    little = (f"; too little own code to compare (under {min_own_tokens} tokens): {len(f.too_little)} "
              f"({', '.join(f.too_little)})" if f.too_little else "")
    return f"{f.file}: {counts(f)}{little}"


def pairs_csv(pairs: list[Pair], students: dict[str, Student]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "file", "score", "flagged", "why", "robust_z", "submission_a", "names_a", "sids_a",
                     "share_a", "submission_b", "names_b", "sids_b", "share_b", "shared_tokens"])
    for rank, p in enumerate(pairs, 1):
        a, b = students[p.a], students[p.b]
        writer.writerow([rank, p.file, f"{p.score:.3f}", "yes" if p.flagged else "no", p.why,
                         "" if p.z is None else f"{p.z:.2f}", p.a, a.names, a.sids, f"{p.share_a:.3f}",
                         p.b, b.names, b.sids, f"{p.share_b:.3f}", p.shared])
    return buffer.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def summary_csv(result: Similarity) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "submissions", "too_little_own_code", "pairs_ranked", "pairs_flagged", "median_score",
                     "outlier_above", "boilerplate", "boilerplate_folder", "max_common", "min_own_tokens"])
    for f in result.files.values():
        writer.writerow([f.file, len(f.own_tokens), " ".join(f.too_little), len(f.pairs), len(f.flagged),
                         _number(f.median), _number(f.outlier_above), result.boilerplate.origin,
                         result.boilerplate.folder, result.max_common, result.min_own_tokens])
    return buffer.getvalue()


def plot_scores(result: Similarity) -> bytes:
    """Each file's histogram of pair scores, flagged pairs in red, the two rules' lines: a PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(result.files), 3.4))
    bins = [i / 20 for i in range(21)]
    for ax, f in zip(fig.subplots(1, len(result.files), squeeze=False)[0], result.files.values()):
        if f.pairs:
            ax.hist([[p.score for p in f.pairs if not p.flagged], [p.score for p in f.flagged]], bins=bins,
                    stacked=True, color=["#8c8c8c", "#d62728"], label=["not flagged", "flagged"])
            ax.axvline(IDENTICAL_SCORE, color="#d62728", linestyle=":", linewidth=1, label="near-identical from")
        if f.outlier_above is not None and f.outlier_above < 1:  # above 1: no score can be an outlier
            ax.axvline(f.outlier_above, color="#d62728", linestyle="--", linewidth=1, label="outlier above")
        ax.set_title(f"{f.file}: {len(f.pairs)} pairs, {len(f.flagged)} flagged", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel("score")
        ax.set_ylabel("pairs")
        if f.pairs:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, f"no pair ranked:\ntoo little own code in {len(f.too_little)} of {len(f.own_tokens)}",
                    ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def student_html(s: Student) -> str:
    e = html.escape
    ids = f"SID {e(s.sids)}, submission {e(s.id)}" if s.sids else f"submission {e(s.id)}"
    return f'<b>{e(s.names)}</b> <span class="id">({ids})</span>' if s.names else f"<b>{ids}</b>"


def page(title: str, body: str, result: Similarity) -> str:
    e = html.escape
    links = "".join(f'<a href="{e(f.page)}">{e(f.file)}</a>' for f in result.files.values())
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{e(title)}</title>{STYLE}</head><body>\n'
            f'<nav><a href="summary.html">Summary</a>{links}</nav>\n{body}\n</body></html>\n')


def rule_html(result: Similarity) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in rule_lines(result))
    return (f'<div class="rule">A pair\'s <b>score</b> is the share of one file\'s own code (the boilerplate and the '
            f"code common in this class left out) found in the other. A pair is <b>flagged</b> when it is<ul>{items}"
            "</ul><b>A flag is a reason to read two files, not a verdict</b>: read them side by side before concluding "
            "anything, and follow your institution's academic-integrity process.</div>")


def pairs_table(pairs: list[Pair], students: dict[str, Student], link) -> str:
    """Pairs as table rows, each linking to its view where it has one (``link(p)``: the URL or None)."""
    e = html.escape

    def row(p: Pair) -> str:
        why = f'<span class="flag">{e(p.why)}</span>' if p.flagged else ""
        view = f'<a href="{e(link(p))}">side by side</a>' if link(p) else ""
        return (f'<tr><td>{e(p.file)}</td><td class="num">{p.score:.2f}</td><td class="nowrap">{why}</td>'
                f"<td>{student_html(students[p.a])}</td><td>{student_html(students[p.b])}</td>"
                f'<td class="num">{p.shared}</td><td class="nowrap">{view}</td></tr>')

    rows = "".join(map(row, pairs))
    return ("<table><tr><th>file</th><th>score</th><th>flagged</th><th>student</th><th>student</th>"
            f"<th>shared tokens</th><th></th></tr>{rows}</table>")


def summary_html(result: Similarity) -> str:
    e = html.escape
    flagged = [p for p in result.pairs if p.flagged]
    table = (pairs_table(flagged, result.students, lambda p: f"{result.files[p.file].page}#{anchor(p)}") if flagged
             else "<p>None: no pair of any file is near-identical or an outlier.</p>")
    files = "".join(
        f'<tr><td><a href="{e(f.page)}">{e(f.file)}</a></td><td class="num">{len(f.own_tokens)}</td>'
        f'<td class="num">{len(f.too_little)}</td><td class="num">{len(f.pairs)}</td>'
        f'<td class="num">{len(f.flagged)}</td><td class="num">{_number(f.median)}</td>'
        f"<td>{e(outliers(f))}</td></tr>" for f in result.files.values())
    settings = "".join(f"<li>{e(line)}</li>" for line in settings_lines(result))
    body = f"""<h1>Code similarity: {e(result.title)}</h1>
<h2>Flagged pairs ({len(flagged)})</h2>
{table}
{rule_html(result)}
<h2>Files</h2>
<table><tr><th>file</th><th>submissions</th><th>too little own code</th><th>pairs ranked</th><th>flagged</th>
<th>median score</th><th>outliers</th></tr>{files}</table>
<p>Each file's page shows its flagged pairs and its most similar unflagged ones side by side, its ranked pairs,
and who had too little own code to compare. Every ranked pair is in <a href="similarity.csv">similarity.csv</a>
(the top ones and every flagged one).</p>
<h2>Scores of the class</h2><img src="scores.png" alt="each file's histogram of pair scores">
<h2>Settings</h2><ul>{settings}</ul>"""
    return page(f"Code similarity: {result.title}", body, result)


def file_html(f: FileResult, result: Similarity, views: dict[Pair, str], top: int) -> str:
    """One file's page: its flagged pairs, then its most similar unflagged ones, side by side; its
    top pairs; who had too little own code."""
    e = html.escape
    flagged = [v for p, v in views.items() if p.flagged]
    others = [v for p, v in views.items() if not p.flagged]
    little = "".join(f"<li>{student_html(result.students[sid])}: {f.own_tokens[sid]} tokens</li>"
                     for sid in f.too_little)
    body = f"""<h1>{e(f.file)}</h1>
<p>{e(counts(f))}.</p>
{rule_html(result)}
<p>In the code: <mark>own code found in the other file</mark>; <span class="g">not compared: the handout's code,
code common in this class, comments</span>; plain: own code not found in the other file. Long stretches of what
is not compared are folded: click to open.</p>
<h2>Flagged pairs ({len(flagged)})</h2>
{"".join(flagged) or "<p>None.</p>"}
<h2>The most similar pairs not flagged ({len(others)} shown of {len(f.pairs) - len(flagged)})</h2>
<p>For comparison: the next most similar pairs, which the rule does not flag.</p>
{"".join(others) or "<p>None.</p>"}
<h2>Ranked pairs ({min(top, len(f.pairs))} of {len(f.pairs)})</h2>
{pairs_table(f.pairs[:top], result.students, lambda p: f"#{anchor(p)}" if p in views else None)}
<h2>Too little own code to compare ({len(f.too_little)})</h2>
<p>Under {result.min_own_tokens} tokens of own code: not ranked, since a match there would be a few lines that many
could write alike.</p><ul>{little}</ul>"""
    return page(f"Code similarity: {f.file}", body, result)


# --------------------------------------------------------------------------- the run
def handout_lines(folder: Path, name: str, ignore: Path) -> list[str]:
    """The lines of the boilerplate's file ``name`` (the first found under ``folder``), right-stripped."""
    found = [p for p in sorted(folder.rglob(name)) if not p.is_relative_to(ignore)]
    return [line.rstrip() for line in found[0].read_text(encoding="utf-8").splitlines()] if found else []


def run_similarity(export_path, out, *, boilerplate=None, top: int = TOP_PAIRS, show: int = SHOWN,
                   max_common: int | None = None, min_own_tokens: int = MIN_OWN_TOKENS,
                   floor: float = FLAG_FLOOR, z: float = FLAG_Z) -> Similarity:
    """Compare the export's submissions; write DIR's pages and CSVs; return what was found."""
    out = Path(out)
    with open_export(export_path, ignore=[out]) as export:
        private_folder(out)
        sources = write_sources(export, out / "sources")
        students = {s.id: Student(s.id, "; ".join(p.name for p in s.submitters if p.name),
                                  "; ".join(p.sid for p in s.submitters if p.sid)) for s in export.submissions}
    if boilerplate:
        used = Boilerplate(Path(boilerplate), "given with --boilerplate")
    else:
        used = default_boilerplate(private_folder(out / "boilerplate"))
        for path in used.folder.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
    provided = boilerplate_hashes(used.folder, ignore=out)
    own, max_common, common = own_code(sources, provided, max_common)
    files = {name: FileResult(name, {sid: fp.token_coverage for sid, fp in by_id.items()},
                              [sid for sid, fp in by_id.items() if fp.token_coverage < min_own_tokens])
             for name, by_id in own.items()}
    ranked = {name: {sid: fp for sid, fp in by_id.items() if sid not in files[name].too_little}
              for name, by_id in own.items()}
    for p in compare(ranked):
        files[p.file].pairs.append(p)
    for f in files.values():
        f.pairs, f.median, f.outlier_above = flag(f.pairs, floor, z)
    result = Similarity(Path(export_path).name, used, students, max_common, len(common), min_own_tokens,
                        floor, z, files)
    excluded = provided | common
    for f in files.values():
        shown = f.flagged + [p for p in f.pairs if not p.flagged][:show]
        handout = handout_lines(used.folder, f.file, out)
        common_here = common_lines([fp.raw_code for fp in own[f.file].values()], max_common)
        views = {p: pair_view(p, own, students, excluded, handout, common_here) for p in shown}
        write_atomic(out / f.page, file_html(f, result, views, top))
    listed = [p for rank, p in enumerate(result.pairs) if rank < top or p.flagged]
    write_atomic(out / "similarity.csv", pairs_csv(listed, students))
    write_atomic(out / "summary.csv", summary_csv(result))
    write_atomic(out / "scores.png", plot_scores(result))
    write_atomic(out / "summary.html", summary_html(result))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.similarity",
        description="Pairwise code similarity per file (numpy_ann.py, pytorch_ann.py, pytorch_cnn.py) across a "
                    "Gradescope export, by copydetect's fingerprints (winnowing). The handout skeleton (the "
                    "boilerplate) and the code common in the class do not count. A pair is flagged when it is "
                    f"near-identical (a score of at least {IDENTICAL_SCORE} over at least {IDENTICAL_TOKENS} own "
                    "tokens, in a class of any size) or an outlier among the file's pairs. Writes summary.html (the "
                    "flagged pairs first), one page per file with the pairs side by side, summary.csv, "
                    "similarity.csv and scores.png to --out, readable by its owner only.",
        epilog="A flag is a reason to look, not a verdict: read the code before concluding anything.")
    parser.add_argument("export", help="the export: a .zip or a folder (as for python -m grader.batch)")
    parser.add_argument("--out", required=True,
                        help="output folder (created if needed), made readable by its owner only")
    parser.add_argument("--boilerplate", default=None,
                        help="folder of the .py files the class received (default: the handout, the solution "
                             "files with their regions blanked)")
    parser.add_argument("--max-common", type=int, default=None, metavar="M",
                        help="a fingerprint in more than M submissions is common code and does not count (default: "
                             f"a tenth of the submissions, at least {MIN_MAX_COMMON})")
    parser.add_argument("--min-own-tokens", type=int, default=MIN_OWN_TOKENS, metavar="N",
                        help="a file with less own code than this is too little to compare and is not ranked "
                             "(default: %(default)s)")
    parser.add_argument("--flag-floor", type=float, default=FLAG_FLOOR,
                        help="an outlier's score is above this (default: %(default)s)")
    parser.add_argument("--flag-z", type=float, default=FLAG_Z,
                        help="and its robust z-score among the file's pairs is above this (default: %(default)s)")
    parser.add_argument("--top", type=int, default=TOP_PAIRS,
                        help="pairs in the CSV and on each file's page besides the flagged ones (default: %(default)s)")
    parser.add_argument("--show", type=int, default=SHOWN, metavar="N",
                        help="each file's N most similar unflagged pairs are shown side by side too, for "
                             "comparison (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.boilerplate and not any(Path(args.boilerplate).glob("**/*.py")):
        parser.error(f"--boilerplate {args.boilerplate}: no folder holding .py files")
    try:
        result = run_similarity(args.export, args.out, boilerplate=args.boilerplate, top=args.top, show=args.show,
                                max_common=args.max_common, min_own_tokens=args.min_own_tokens,
                                floor=args.flag_floor, z=args.flag_z)
    except ExportError as exc:
        print(f"error: {clean(exc)}", file=sys.stderr)
        return 2
    lines = (settings_lines(result) + [f"flagged when {line}" for line in rule_lines(result)]
             + [file_line(f, result.min_own_tokens) for f in result.files.values()])
    for line in lines:
        print(line)
    for p in [p for p in result.pairs if p.flagged] or result.pairs[:5]:
        print(f"{p.score:.2f}  {p.why or 'not flagged'}  {p.file}  {result.students[p.a]} ~ {result.students[p.b]}")
    print(f"{len(result.pairs)} pairs ranked; wrote {Path(args.out) / 'summary.html'}, a page per file, summary.csv "
          "and similarity.csv. A flag is a reason to look, not a verdict.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
