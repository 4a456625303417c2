"""Every rubric item's check, registered by its id.

``part1.py`` (numpy), ``part2.py`` (PyTorchANN), ``part3.py`` (PyTorchCNN) and ``runs.py`` (the
script runs and judgements) each define checks with ``@check("<item id>")`` (``common.py``, which
also says what a check is). :func:`registry` imports them and refuses to start unless the rubric
and the registered checks match one for one, and every check says, in a one-line docstring, what
it proves.
"""
from __future__ import annotations


def registry() -> dict:
    """item id -> check, after the start-up assertion that rubric and checks match."""
    from ..rubric import ITEMS
    from . import part1, part2, part3, runs  # noqa: F401  (importing registers their checks)
    from .common import CHECKS

    ids = [item.id for item in ITEMS]
    missing = [i for i in ids if i not in CHECKS]
    extra = [i for i in CHECKS if i not in ids]
    undocumented = [i for i, fn in CHECKS.items() if not (fn.__doc__ or "").strip()]
    if missing or extra or undocumented:
        raise RuntimeError(f"rubric and checks do not match: items without a check {missing}, checks "
                           f"without an item {extra}, checks without a docstring {undocumented}")
    return CHECKS
