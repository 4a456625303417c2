#!/usr/bin/env bash
# Build the Gradescope autograder zip from this repository:
#     grader/gradescope/build_zip.sh [--budget SECONDS] [OUT.zip]     (default: 540, ./autograder.zip)
# --budget is the whole grade's time limit the zip's run_autograder uses; set the assignment's
# autograder timeout on Gradescope at least a minute above it (the script prints the value).
# The zip holds setup.sh and run_autograder at its top level (Gradescope's layout), the
# grader package, the course package (the handout's facts, the judgement rule, the contract),
# utils.py (the students' copy: student code runs beside it, and the grader loads the data with
# it), the course's requirements and their pins, and the shipped data. The solution files are not
# included: the grader never needs them. (The student handout, `python -m release build`,
# ships the same utils.py, requirements and data.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
budget=540
out_arg=autograder.zip
while [ $# -gt 0 ]; do
    case "$1" in
        --budget) budget="${2-}"; shift 2 || { echo "build_zip.sh: --budget needs a number of seconds" >&2; exit 2; } ;;
        --budget=*) budget="${1#*=}"; shift ;;
        -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "build_zip.sh: unknown option $1 (expected --budget SECONDS and an output .zip)" >&2; exit 2 ;;
        *) out_arg="$1"; shift ;;
    esac
done
if ! [[ "$budget" =~ ^[0-9]+$ ]] || [ "$budget" -lt 60 ]; then
    echo "build_zip.sh: --budget must be a whole number of seconds, at least 60; got '$budget'" >&2
    exit 2
fi
out="$(realpath -m "$out_arg")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cp "$here/setup.sh" "$root/utils.py" "$root/constraints.txt" "$root/requirements-course.txt" "$tmp/"
# The budget becomes run_autograder's default (GRADER_BUDGET in the environment still wins).
sed "s/GRADER_BUDGET:-540}/GRADER_BUDGET:-$budget}/" "$here/run_autograder" > "$tmp/run_autograder"
grep -q "GRADER_BUDGET:-$budget}" "$tmp/run_autograder"
cp "$root/requirements-course.txt" "$tmp/requirements.txt"
chmod +x "$tmp/setup.sh" "$tmp/run_autograder"
mkdir "$tmp/grader"
(cd "$root/grader" && find . -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} "$tmp/grader/" \;)
mkdir "$tmp/course"
(cd "$root/course" && find . -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} "$tmp/course/" \;)
mkdir -p "$tmp/data/FashionMNIST/raw"
cp "$root"/data/FashionMNIST/raw/*.gz "$tmp/data/FashionMNIST/raw/"

mkdir -p "$(dirname "$out")"
rm -f "$out"
(cd "$tmp" && python3 -m zipfile -c "$out" setup.sh run_autograder utils.py requirements.txt \
    requirements-course.txt constraints.txt grader course data)
echo "wrote $out (grading budget $budget s: set the assignment's autograder timeout to at least $((budget + 60)) s)"
