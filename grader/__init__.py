"""Grade Fashion-MNIST homework submissions against the handout's 42-point rubric.

``python -m grader SUBMISSION_DIR`` (see ``python -m grader --help``); from Python::

    from grader import grade, write_results
    report = grade("submissions/alice", fast=True)
"""
from .report import results_json, table, write_results
from .rubric import ITEMS, TOTAL_POINTS
from .runner import GradeReport, ItemResult, find_submission, grade

__all__ = ["ITEMS", "TOTAL_POINTS", "GradeReport", "ItemResult", "find_submission", "grade",
           "results_json", "table", "write_results"]
