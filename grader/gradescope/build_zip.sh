#!/usr/bin/env bash
# Build the Gradescope autograder zip from this repository:
#     grader/gradescope/build_zip.sh [OUT.zip]     (default: ./autograder.zip)
# The zip holds setup.sh and run_autograder at its top level (Gradescope's layout), the
# grader package, the course package (the handout's facts, the judgement rule, the contract),
# utils.py (the students' copy: student code runs beside it, and the grader loads the data with
# it), the course's requirements and their pins, and the shipped data. The solution files are not
# included: the grader never needs them. (The student handout, `python -m release build`,
# ships the same utils.py, requirements and data.)
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
mkdir "$tmp/course"
(cd "$root/course" && find . -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} "$tmp/course/" \;)
mkdir -p "$tmp/data/FashionMNIST/raw"
cp "$root"/data/FashionMNIST/raw/*.gz "$tmp/data/FashionMNIST/raw/"

rm -f "$out"
(cd "$tmp" && python3 -m zipfile -c "$out" setup.sh run_autograder utils.py requirements.txt \
    requirements-course.txt constraints.txt grader course data)
echo "wrote $out"
