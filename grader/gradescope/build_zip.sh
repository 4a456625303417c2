#!/usr/bin/env bash
# Build the Gradescope autograder zip from this repository:
#     grader/gradescope/build_zip.sh [OUT.zip]     (default: ./autograder.zip)
# The zip holds setup.sh and run_autograder at its top level (Gradescope's layout),
# the grader package, the grader's utils.py, requirements.txt and the shipped data.
# The reference solutions are not included: the grader never needs them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(realpath -m "${1:-autograder.zip}")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cp "$here/setup.sh" "$here/run_autograder" "$root/utils.py" "$root/requirements.txt" "$tmp/"
chmod +x "$tmp/setup.sh" "$tmp/run_autograder"
cp -r "$root/grader" "$tmp/grader"
find "$tmp/grader" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$tmp/data/FashionMNIST/raw"
cp "$root"/data/FashionMNIST/raw/*.gz "$tmp/data/FashionMNIST/raw/"

rm -f "$out"
(cd "$tmp" && python3 -m zipfile -c "$out" setup.sh run_autograder utils.py requirements.txt grader data)
echo "wrote $out"
