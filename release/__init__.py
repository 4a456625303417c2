"""Build the student handout from the reference, and prove it: ``python -m release build | check``.

``build.py`` turns the reference files into the skeleton students receive (see its docstring for
the marks it reads); ``check.py`` proves the result as nbgrader's ``validate --invert`` and
otter's solution run do; ``contract.py`` is the handout's contract; ``skeleton/`` holds the
skeleton's own parts (module docstrings, main blocks, the CNN's provided methods).
"""
