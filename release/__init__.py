"""Build the student handout from the solution, and prove it: ``python -m release build | check``.

``build.py`` blanks the solution files' regions to make the skeleton students receive, with the
public tests, requirements, data and README; ``check.py`` proves the result as nbgrader's
``validate --invert`` and otter's solution run do. The contract they check against is
``course/contract.py``.
"""
