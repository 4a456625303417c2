"""Pairwise code similarity across a class: ``python -m grader.similarity EXPORT --out DIR``.

Each of the three files (``numpy_ann.py``, ``pytorch_ann.py``, ``pytorch_cnn.py``) is compared
with the same file of every other submission by copydetect (winnowing over token
fingerprints: renaming variables or reformatting does not hide a copy). What every student
got from the handout skeleton is boilerplate and does not count. Written to DIR:

- ``similarity.html``: copydetect's report, the matching code highlighted side by side;
- ``similarity.csv``: the top pairs, most similar first;
- ``sources/<id>/`` and ``boilerplate/``: the files compared, which the report shows.

A pair's score is the larger of its two shares: the fraction of a file's fingerprinted code
(the skeleton left out) found in the other file. A high score is a reason to look, not a
verdict: short files, a small solution space, a common tutorial or the skeleton itself (when
the boilerplate is not the handout) all make independent work look alike.

The boilerplate is, in order: ``--boilerplate DIR``; the handout that
``release.build.write_handout`` writes, when the ``release`` package offers it; else the
repository's reference files with the solutions (the lines between ``# >>> YOUR CODE HERE
>>>`` and ``# <<< END OF YOUR CODE <<<``) taken out.
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .export import ExportError, open_export
from .report import clean
from .rubric import SUBMISSION_FILES
from .submission import collect

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = re.compile(r"^([ \t]*# >>> YOUR CODE HERE >>>[^\n]*\n).*?^([ \t]*# <<< END OF YOUR CODE <<<)",
                      re.MULTILINE | re.DOTALL)
DISPLAY_THRESHOLD = 0.33  # copydetect's default: pairs above it get their code shown in the HTML report
TOP_PAIRS = 100


@dataclass(frozen=True)
class Pair:
    file: str
    a: str               # submission ids
    b: str
    share_a: float       # the fraction of a's fingerprinted code found in b
    share_b: float
    tokens: int          # overlapping tokens

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


def strip_solutions(text: str) -> str:
    """The text with the lines between each ``YOUR CODE HERE`` marker and its end marker removed."""
    return SOLUTION.sub(r"\1\2", text)


def handout_boilerplate(dest: Path) -> Path:
    """Write the handout's files to ``dest``; return the folder holding them."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        from release.build import write_handout
    except ImportError:  # no release package yet, or one without write_handout
        write_handout = reference_skeleton
    return Path(write_handout(dest))


def reference_skeleton(dest: Path) -> Path:
    """The reference files without their solutions (the whole file where it has no markers)."""
    for name in SUBMISSION_FILES:
        (dest / name).write_text(strip_solutions((ROOT / name).read_text(encoding="utf-8")), encoding="utf-8")
    return dest


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


def compare(sources: dict[str, dict[str, Path]], boilerplate: Path, html: Path,
            display_threshold: float = DISPLAY_THRESHOLD) -> list[Pair]:
    """Every pair of submissions' same-named files, most similar first; writes copydetect's HTML report."""
    import matplotlib

    matplotlib.use("Agg")  # copydetect draws its report's figures with pyplot: never open a window
    import copydetect

    detector = copydetect.CopyDetector(boilerplate_dirs=[str(boilerplate)], extensions=["py"], same_name_only=True,
                                       display_t=display_threshold, autoopen=False, silent=True, out_file=str(html))
    owner = {}
    for name, by_id in sources.items():
        for sub_id, path in by_id.items():
            detector.add_file(str(path))
            owner[str(path)] = (name, sub_id)
    if not any(len(by_id) > 1 for by_id in sources.values()):
        html.write_text("<p>Nothing to compare: no file was handed in by two submissions.</p>\n", encoding="utf-8")
        return []
    detector.run()
    with warnings.catch_warnings():  # copydetect 0.5 reads its template with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        detector.generate_html_report()
    files = detector.test_files  # == detector.ref_files: every file was added as both
    pairs = []
    for i, first in enumerate(files):
        for j in range(i + 1, len(files)):
            share_a, share_b = detector.similarity_matrix[i, j]
            if share_a < 0:  # not compared: different file names, or unreadable
                continue
            (name, a), (_, b) = owner[first], owner[files[j]]
            pairs.append(Pair(name, a, b, float(share_a), float(share_b), int(detector.token_overlap_matrix[i, j])))
    return sorted(pairs, key=lambda p: (-p.score, p.file, p.a, p.b))


def pairs_csv(pairs: list[Pair], names: dict[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "file", "score", "submission_a", "names_a", "share_a", "submission_b", "names_b",
                     "share_b", "overlapping_tokens"])
    for rank, p in enumerate(pairs, 1):
        writer.writerow([rank, p.file, f"{p.score:.3f}", p.a, names.get(p.a, ""), f"{p.share_a:.3f}", p.b,
                         names.get(p.b, ""), f"{p.share_b:.3f}", p.tokens])
    return buffer.getvalue()


def run_similarity(export_path, out, *, boilerplate=None, top: int = TOP_PAIRS,
                   display_threshold: float = DISPLAY_THRESHOLD) -> list[Pair]:
    """Compare the export's submissions; write DIR's report and CSV; return every pair, most similar first."""
    out = Path(out)
    with open_export(export_path, ignore=[out]) as export:
        out.mkdir(parents=True, exist_ok=True)
        sources = write_sources(export, out / "sources")
        names = {s.id: "; ".join(p.name for p in s.submitters) for s in export.submissions}
    boilerplate = Path(boilerplate) if boilerplate else handout_boilerplate(out / "boilerplate")
    pairs = compare(sources, boilerplate, out / "similarity.html", display_threshold)
    (out / "similarity.csv").write_text(pairs_csv(pairs[:top], names), encoding="utf-8")
    return pairs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.similarity",
        description="Pairwise code similarity per file (numpy_ann.py, pytorch_ann.py, pytorch_cnn.py) across a "
                    "Gradescope export, with copydetect (winnowing); the handout skeleton is boilerplate and does "
                    "not count. Writes similarity.html (copydetect's report) and similarity.csv (the top pairs) to "
                    "--out.",
        epilog="A high score is a reason to look, not a verdict: short files, a small solution space, a shared "
               "tutorial or an imperfect boilerplate make independent work look alike. Read the code before "
               "concluding anything.")
    parser.add_argument("export", help="the export: a .zip or a folder (as for python -m grader.batch)")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--boilerplate", default=None,
                        help="folder of the handout's .py files (default: release.build.write_handout's handout, "
                             "else the reference files without their solutions)")
    parser.add_argument("--top", type=int, default=TOP_PAIRS, help="pairs in the CSV (default: %(default)s)")
    parser.add_argument("--display-threshold", type=float, default=DISPLAY_THRESHOLD,
                        help="score above which the HTML report shows a pair's code (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        pairs = run_similarity(args.export, args.out, boilerplate=args.boilerplate, top=args.top,
                               display_threshold=args.display_threshold)
    except ExportError as exc:
        print(f"error: {clean(exc)}", file=sys.stderr)
        return 2
    for p in pairs[:5]:
        print(f"{p.score:.2f}  {p.file}  {p.a} ~ {p.b}")
    print(f"{len(pairs)} pairs compared; wrote {Path(args.out) / 'similarity.csv'} and similarity.html. "
          "A high score is a reason to look, not a verdict.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
