#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (the uploaded zip
# is unpacked in /autograder/source). It pins the course's environment: CPython 3.11 (a
# standalone build from uv, whatever Python the Ubuntu release ships) and exactly the
# package versions of constraints.txt, the file CI tests against. Nothing for tests or staff
# tools is installed: only requirements-course.txt.
set -euo pipefail
cd /autograder/source

UV_VERSION=0.13.9         # the installer of the Python below; pinned so every rebuild is the same
PYTHON_VERSION=3.11       # the course's Python

apt-get update
apt-get install -y --no-install-recommends ca-certificates curl
curl -LsSf "https://astral.sh/uv/${UV_VERSION}/install.sh" | env UV_INSTALL_DIR=/usr/local/bin UV_NO_MODIFY_PATH=1 sh

# The interpreter must be readable by the grading user (nobody): not under /root.
export UV_PYTHON_INSTALL_DIR=/opt/python
uv python install "$PYTHON_VERSION"
uv venv --seed --python "$PYTHON_VERSION" /autograder/venv
# CPU wheels of torch (Gradescope has no GPU; the CUDA wheels are gigabytes larger):
# `torch==2.14.1` from constraints.txt matches the CPU index's 2.14.1+cpu.
/autograder/venv/bin/python -m pip install --extra-index-url https://download.pytorch.org/whl/cpu \
    -r requirements-course.txt -c constraints.txt

# Who may read what: the student's code runs as nobody. It must be able to run Python and
# read the data (its script loads it), and nothing of the grader: the judge, its expected
# values and the course's facts stay root-only. The grader (root) copies utils.py into each
# scratch folder, and the sandbox's zygote, root, loads what children need.
chmod a+rx /autograder
chmod -R a+rX /opt/python /autograder/venv /autograder/source/data
chmod 711 /autograder/source
chmod -R go-rwx /autograder/source/grader /autograder/source/course /autograder/source/utils.py
chmod -R go-w /autograder/source

# Fail the build now, not at grading time, if the data or the packages are broken, or if
# nobody cannot use them.
/autograder/venv/bin/python -c "import sys, torch, sklearn, matplotlib, utils; utils.load_mnist_f(); \
assert sys.version_info[:2] == (3, 11), sys.version; print('setup ok', sys.version.split()[0], torch.__version__)"
runuser -u nobody -- /autograder/venv/bin/python -I -c "import numpy, torch, sklearn, matplotlib; print('nobody ok')"
