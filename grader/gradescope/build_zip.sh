#!/usr/bin/env bash
# Build the Gradescope autograder zip from this repository:
#     grader/gradescope/build_zip.sh [OUT.zip]     (default: ./autograder.zip)
# The zip holds setup.sh and run_autograder at its top level (Gradescope's layout), the
# grader package, the judge's utils.py (the reference's: the handout's numbers and the
# judgement rule), the release package the grader renders the students' utils.py with (the
# copy student code runs against, the handout's own), the course's requirements and their
# pins, and the shipped data. The reference solutions are not included: the grader never
# needs them. (The student handout, `python -m release build`, ships the same students'
# utils.py, requirements and data.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(realpath -m "${1:-autograder.zip}")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cp "$here/setup.sh" "$here/run_autograder" "$root/utils.py" "$root/constraints.txt" \
   "$root/requirements-course.txt" "$tmp/"
cp "$root/requirements-course.txt" "$tmp/requirements.txt"
chmod +x "$tmp/setup.sh" "$tmp/run_autograder"
mkdir "$tmp/grader"
(cd "$root/grader" && find . -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} "$tmp/grader/" \;)
mkdir "$tmp/release"
(cd "$root/release" && find . -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} "$tmp/release/" \;)
mkdir -p "$tmp/data/FashionMNIST/raw"
cp "$root"/data/FashionMNIST/raw/*.gz "$tmp/data/FashionMNIST/raw/"

rm -f "$out"
(cd "$tmp" && python3 -m zipfile -c "$out" setup.sh run_autograder utils.py requirements.txt \
    requirements-course.txt constraints.txt grader release data)
echo "wrote $out"
