#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (the uploaded zip is unpacked in /autograder/source).
set -euo pipefail
cd /autograder/source

apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv

# An isolated environment with the course's packages. CPU wheels of torch: Gradescope's
# graders have no GPU, and the CUDA wheels are gigabytes larger.
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

# The student's code runs as 'nobody' (see run_autograder): it must be able to run
# Python and read the grader's utils.py and the data, and nothing more.
chmod a+rx /autograder
chmod -R a+rX /autograder/venv /autograder/source
chmod -R go-w /autograder/source

# Fail the build now, not at grading time, if the data or the packages are broken.
/autograder/venv/bin/python -c "import torch, sklearn, matplotlib, utils; utils.load_mnist_f(); print('setup ok')"
