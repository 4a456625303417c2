"""Imported once by the grader's fork server, so each forked child starts warm.

Only third-party libraries: no student code, no ``utils`` (each child gets its own copy).
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.figure  # noqa: E402,F401
import matplotlib.pyplot  # noqa: E402,F401
import numpy  # noqa: E402,F401
import sklearn.model_selection  # noqa: E402,F401
import torch  # noqa: E402,F401
import torch._dynamo  # noqa: E402,F401  (the first optimizer step would import it: ~1 s)
import torch.optim  # noqa: E402,F401
