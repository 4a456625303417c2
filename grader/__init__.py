"""Grade Fashion-MNIST homework submissions against the handout's 42-point rubric.

``python -m grader SUBMISSION_DIR`` (see ``python -m grader --help``); from Python::

    from grader.runner import grade
    report = grade("submissions/alice", fast=True)

Nothing is imported here: the sandbox's children load only ``probe.py`` (see ``sandbox.py``).
"""
