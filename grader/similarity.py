"""Pairwise code similarity across a class: ``python -m grader.similarity EXPORT --out DIR``.

Each of the three files (``numpy_ann.py``, ``pytorch_ann.py``, ``pytorch_cnn.py``) is compared
with the same file of every other submission by copydetect (winnowing over token
fingerprints: renaming variables or reformatting does not hide a copy). Two kinds of code are
no evidence of copying and are left out before anything is compared:

- the boilerplate, what every student received: by default the handout (the solution files
  with their regions blanked; ``--boilerplate DIR`` gives another);
- the common code, a fingerprint found in more than ``--max-common`` submissions (MOSS's ``-m``):
  what students write is small and constrained, so independent solutions share idioms.

What is left of a file is its student's own code. A file with less own code than
``--min-own-tokens`` is reported as too little own code to compare and is not ranked: a match
in it would be a match of a few lines that many could have written.

A pair's score is the larger of its two shares: the fraction of one file's own code found in
the other. A pair is *flagged* when its score is above ``--flag-floor`` and is also an outlier
among the scores of that file's pairs in this class (a robust z-score above ``--flag-z``). Written
to DIR:

- ``summary.html`` and ``summary.csv``: the boilerplate used, the settings, and per file: the
  submissions, those with too little own code, the pairs ranked and flagged; ``scores.png``:
  each file's distribution of scores, which the HTML shows;
- ``similarity.csv``: the ``--top`` pairs and every flagged pair, most similar first;
- ``similarity.html``: copydetect's report, the matching code highlighted side by side;
- ``sources/<id>/`` and ``boilerplate/``: the files compared, which the report shows.

A flag is a reason to read two files, not a verdict (README.md, "Similarity").
"""
from __future__ import annotations

import argparse
import csv
import html
import io
import statistics
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from course.regions import blank

from .export import ExportError, open_export
from .report import clean
from .rubric import SUBMISSION_FILES
from .submission import collect

ROOT = Path(__file__).resolve().parent.parent
DISPLAY_THRESHOLD = 0.33  # copydetect's default: pairs above it get their code shown in the HTML report
TOP_PAIRS = 100
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
MIN_PAIRS_TO_FLAG = 10  # five submissions with own code: fewer pairs make no distribution to stand out from


@dataclass(frozen=True)
class Pair:
    file: str
    a: str               # submission ids
    b: str
    share_a: float       # the fraction of a's own code found in b
    share_b: float
    tokens: int          # overlapping tokens
    z: float | None = None  # robust z-score among the file's pairs (None: too few pairs to tell)
    flagged: bool = False

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass(frozen=True)
class Boilerplate:
    folder: Path
    origin: str          # what it is, in words, for the report


@dataclass
class FileResult:
    """One file across the class: who handed it in, how much own code each has, its ranked pairs."""
    file: str
    own_tokens: dict[str, int]     # submission id -> tokens of own code (boilerplate and common code left out)
    too_little: list[str]          # ids under the minimum: not ranked
    pairs: list[Pair] = field(default_factory=list)  # most similar first
    median: float | None = None
    flag_above: float | None = None  # a pair is flagged when its score is above this (None: none can be)

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]


@dataclass
class Similarity:
    """What ``run_similarity`` found and reports."""
    boilerplate: Boilerplate
    submissions: int               # submissions with at least one of the files
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


# --------------------------------------------------------------------------- boilerplate
def default_boilerplate(dest: Path) -> Boilerplate:
    """The handout, written to ``dest``: the solution files with their regions blanked, the code
    every student received (``course.regions.blank``, what ``python -m release build`` ships)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SUBMISSION_FILES:
        (dest / name).write_text(blank((ROOT / name).read_text(encoding="utf-8"), name), encoding="utf-8")
    return Boilerplate(dest, "the handout: the solution files with their regions blanked")


def write_sources(export, dest: Path) -> dict[str, dict[str, Path]]:
    """Each submission's files, read safely (``grader.submission.collect``), written to
    ``dest/<id>/``; returns file name -> submission id -> path."""
    written: dict[str, dict[str, Path]] = {name: {} for name in SUBMISSION_FILES}
    for sub in export.submissions:
        with export.checkout(sub) as (folder, _notes):
            found = collect(folder)
        for name, data in found.files.items():
            path = dest / sub.safe_id / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
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
    how many k-grams were common).
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
    return prints, max_common, len(common)


# --------------------------------------------------------------------------- comparing and flagging
def sort_pairs(pairs: list[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.score, p.file, p.a, p.b))


def compare(files: dict[str, dict[str, Path]], prints: dict, html_out: Path,
            display_threshold: float = DISPLAY_THRESHOLD) -> list[Pair]:
    """Every pair of the given same-named files, most similar first, compared by their fingerprints
    ``prints`` (path -> fingerprint); writes copydetect's HTML report."""
    import matplotlib

    matplotlib.use("Agg")  # copydetect draws its report's figures with pyplot: never open a window
    import copydetect

    detector = copydetect.CopyDetector(extensions=["py"], same_name_only=True, noise_t=NOISE, guarantee_t=NOISE,
                                       display_t=display_threshold, autoopen=False, silent=True,
                                       out_file=str(html_out))
    owner = {}
    for name, by_id in files.items():
        for sub_id, path in by_id.items():
            detector.add_file(str(path))
            detector.file_data[str(path)] = prints[path]  # copydetect fingerprints only files it has not
            owner[str(path)] = (name, sub_id)
    if not any(len(by_id) > 1 for by_id in files.values()):
        html_out.write_text("<p>Nothing to compare: no file has own code in two submissions.</p>\n", encoding="utf-8")
        return []
    detector.run()
    with warnings.catch_warnings():  # copydetect 0.5 reads its template with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        detector.generate_html_report()
    paths = detector.test_files  # == detector.ref_files: every file was added as both
    pairs = []
    for i, first in enumerate(paths):
        for j in range(i + 1, len(paths)):
            share_a, share_b = detector.similarity_matrix[i, j]
            if share_a < 0:  # not compared: different file names, or unreadable
                continue
            (name, a), (_, b) = owner[first], owner[paths[j]]
            pairs.append(Pair(name, a, b, float(share_a), float(share_b), int(detector.token_overlap_matrix[i, j])))
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


def flag(pairs: list[Pair], floor: float = FLAG_FLOOR, z_cut: float = FLAG_Z,
         min_pairs: int = MIN_PAIRS_TO_FLAG) -> tuple[list[Pair], float | None, float | None]:
    """One file's pairs with their robust z-score and flag: the score is above ``floor`` and its z
    above ``z_cut``. Returns (pairs, the class's median score, the score a pair must exceed to be
    flagged); with fewer than ``min_pairs`` pairs nothing is flagged and both are None."""
    if len(pairs) < min_pairs:
        return pairs, None, None
    median, scale = robust_z([p.score for p in pairs])
    if scale == 0:  # all alike: nothing stands out
        return [replace(p, z=0.0) for p in pairs], median, None
    flagged = [replace(p, z=(p.score - median) / scale,
                       flagged=p.score > floor and (p.score - median) / scale > z_cut) for p in pairs]
    return flagged, median, max(floor, median + z_cut * scale)


# --------------------------------------------------------------------------- the report
def pairs_csv(pairs: list[Pair], names: dict[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "file", "score", "flagged", "robust_z", "submission_a", "names_a", "share_a",
                     "submission_b", "names_b", "share_b", "overlapping_tokens"])
    for rank, p in enumerate(pairs, 1):
        writer.writerow([rank, p.file, f"{p.score:.3f}", "yes" if p.flagged else "no",
                         "" if p.z is None else f"{p.z:.2f}", p.a, names.get(p.a, ""), f"{p.share_a:.3f}",
                         p.b, names.get(p.b, ""), f"{p.share_b:.3f}", p.tokens])
    return buffer.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def summary_csv(result: Similarity) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "submissions", "too_little_own_code", "pairs_ranked", "pairs_flagged", "median_score",
                     "flag_above", "boilerplate", "boilerplate_folder", "max_common", "min_own_tokens"])
    for f in result.files.values():
        writer.writerow([f.file, len(f.own_tokens), " ".join(f.too_little), len(f.pairs), len(f.flagged),
                         _number(f.median), _number(f.flag_above), result.boilerplate.origin,
                         result.boilerplate.folder, result.max_common, result.min_own_tokens])
    return buffer.getvalue()


def file_line(f: FileResult, min_own_tokens: int) -> str:
    """One file's line of the summary, in words."""
    if f.flag_above is not None:
        flags = f"{len(f.flagged)} flagged (score above {f.flag_above:.2f})"
    elif f.median is not None:
        flags = "0 flagged (every score alike)"
    else:
        flags = f"0 flagged (fewer than {MIN_PAIRS_TO_FLAG} pairs: no class distribution to stand out from)"
    little = (f"; too little own code to compare (under {min_own_tokens} tokens): {len(f.too_little)} "
              f"({', '.join(f.too_little)})" if f.too_little else "")
    return f"{f.file}: {len(f.own_tokens)} submissions, {len(f.pairs)} pairs ranked, {flags}{little}"


def settings_lines(result: Similarity) -> list[str]:
    return [f"boilerplate: {result.boilerplate.origin}: {result.boilerplate.folder}",
            f"common code: a fingerprint in more than {result.max_common} of the {result.submissions} submissions "
            f"({result.common_fingerprints} fingerprints)",
            f"flag: a score above {result.floor:.2f} and a robust z-score above {result.z:g} among the file's pairs"]


def plot_scores(result: Similarity, path: Path) -> None:
    """Each file's histogram of pair scores, flagged pairs in red, the flag line dashed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(result.files), 3.4))
    bins = [i / 20 for i in range(21)]
    for ax, f in zip(fig.subplots(1, len(result.files), squeeze=False)[0], result.files.values()):
        if f.pairs:
            ax.hist([[p.score for p in f.pairs if not p.flagged], [p.score for p in f.flagged]], bins=bins,
                    stacked=True, color=["#8c8c8c", "#d62728"], label=["not flagged", "flagged"])
        if f.flag_above is not None:
            ax.axvline(f.flag_above, color="#d62728", linestyle="--", linewidth=1, label="flag above")
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
    fig.savefig(path, dpi=90)


def summary_html(result: Similarity, names: dict[str, str]) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(f.file)}</td><td>{len(f.own_tokens)}</td><td>{len(f.pairs)}</td>"
                   f"<td>{len(f.flagged)}</td><td>{_number(f.median)}</td><td>{_number(f.flag_above)}</td>"
                   f"<td>{len(f.too_little)} {e(' '.join(f.too_little))}</td></tr>" for f in result.files.values())
    flagged = "".join(f"<tr><td>{e(p.file)}</td><td>{p.score:.3f}</td><td>{p.z:.1f}</td><td>{e(p.a)} "
                      f"({e(names.get(p.a, ''))})</td><td>{e(p.b)} ({e(names.get(p.b, ''))})</td></tr>"
                      for p in result.pairs if p.flagged) or "<tr><td colspan=5>none</td></tr>"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Similarity summary</title>
<style>body{{font-family:sans-serif;max-width:70em}} td,th{{padding:0 .8em;text-align:left}}</style></head><body>
<h1>Similarity summary</h1>
<ul>{"".join(f"<li>{e(line)}</li>" for line in settings_lines(result))}</ul>
<table><tr><th>file</th><th>submissions</th><th>pairs ranked</th><th>flagged</th><th>median score</th>
<th>flag above</th><th>too little own code to compare (under {result.min_own_tokens} tokens)</th></tr>{rows}</table>
<h2>Scores of the class</h2><img src="scores.png" alt="each file's histogram of pair scores">
<h2>Flagged pairs</h2>
<table><tr><th>file</th><th>score</th><th>robust z</th><th>submission</th><th>submission</th></tr>{flagged}</table>
<p><b>A flag is a reason to read two files, not a verdict.</b> It says that this pair shares more of its own code
(the boilerplate and the code common in this class left out) than this class's pairs usually do. Read both files
in <a href="similarity.html">similarity.html</a>; the top pairs and every flagged one are in
<a href="similarity.csv">similarity.csv</a>.</p>
</body></html>
"""


def run_similarity(export_path, out, *, boilerplate=None, top: int = TOP_PAIRS,
                   display_threshold: float = DISPLAY_THRESHOLD, max_common: int | None = None,
                   min_own_tokens: int = MIN_OWN_TOKENS, floor: float = FLAG_FLOOR, z: float = FLAG_Z) -> Similarity:
    """Compare the export's submissions; write DIR's summary, report and CSVs; return what was found."""
    out = Path(out)
    with open_export(export_path, ignore=[out]) as export:
        out.mkdir(parents=True, exist_ok=True)
        sources = write_sources(export, out / "sources")
        names = {s.id: "; ".join(p.name for p in s.submitters) for s in export.submissions}
    used = (Boilerplate(Path(boilerplate), "given with --boilerplate") if boilerplate
            else default_boilerplate(out / "boilerplate"))
    own, max_common, common = own_code(sources, boilerplate_hashes(used.folder, ignore=out), max_common)
    files = {name: FileResult(name, {sid: int(fp.token_coverage) for sid, fp in by_id.items()},
                              [sid for sid, fp in by_id.items() if fp.token_coverage < min_own_tokens])
             for name, by_id in own.items()}
    ranked = {name: {sid: path for sid, path in sources[name].items() if sid not in files[name].too_little}
              for name in sources}
    prints = {sources[name][sid]: fp for name, by_id in own.items() for sid, fp in by_id.items()}
    for p in compare(ranked, prints, out / "similarity.html", display_threshold):
        files[p.file].pairs.append(p)
    for f in files.values():
        f.pairs, f.median, f.flag_above = flag(f.pairs, floor, z)
    result = Similarity(used, len({sid for by_id in sources.values() for sid in by_id}), max_common, common,
                        min_own_tokens, floor, z, files)
    pairs = result.pairs
    listed = [p for rank, p in enumerate(pairs) if rank < top or p.flagged]
    (out / "similarity.csv").write_text(pairs_csv(listed, names), encoding="utf-8")
    (out / "summary.csv").write_text(summary_csv(result), encoding="utf-8")
    plot_scores(result, out / "scores.png")
    (out / "summary.html").write_text(summary_html(result, names), encoding="utf-8")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.similarity",
        description="Pairwise code similarity per file (numpy_ann.py, pytorch_ann.py, pytorch_cnn.py) across a "
                    "Gradescope export, with copydetect (winnowing). The handout skeleton (the boilerplate) and the "
                    "code common in the class do not count. Writes summary.html, summary.csv, scores.png, "
                    "similarity.csv (the top pairs and every flagged one) and similarity.html (copydetect's report) "
                    "to --out.",
        epilog="A flag is a reason to look, not a verdict: it says a pair shares more own code than this class's "
               "pairs usually do. Read the code before concluding anything.")
    parser.add_argument("export", help="the export: a .zip or a folder (as for python -m grader.batch)")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
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
                        help="a flagged pair's score is above this (default: %(default)s)")
    parser.add_argument("--flag-z", type=float, default=FLAG_Z,
                        help="and its robust z-score among the file's pairs is above this (default: %(default)s)")
    parser.add_argument("--top", type=int, default=TOP_PAIRS,
                        help="pairs in the CSV besides the flagged ones (default: %(default)s)")
    parser.add_argument("--display-threshold", type=float, default=DISPLAY_THRESHOLD,
                        help="score above which the HTML report shows a pair's code (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.boilerplate and not any(Path(args.boilerplate).glob("**/*.py")):
        parser.error(f"--boilerplate {args.boilerplate}: no folder holding .py files")
    try:
        result = run_similarity(args.export, args.out, boilerplate=args.boilerplate, top=args.top,
                                display_threshold=args.display_threshold, max_common=args.max_common,
                                min_own_tokens=args.min_own_tokens, floor=args.flag_floor, z=args.flag_z)
    except ExportError as exc:
        print(f"error: {clean(exc)}", file=sys.stderr)
        return 2
    for line in settings_lines(result) + [file_line(f, result.min_own_tokens) for f in result.files.values()]:
        print(line)
    for p in [p for p in result.pairs if p.flagged] or result.pairs[:5]:
        print(f"{p.score:.2f}  {'flagged' if p.flagged else 'not flagged'}  {p.file}  {p.a} ~ {p.b}")
    print(f"{len(result.pairs)} pairs ranked; wrote {Path(args.out) / 'summary.html'}, similarity.csv and "
          "similarity.html. A flag is a reason to look, not a verdict.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
