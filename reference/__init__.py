"""The reference's extras, beside the solution: what the course's files leave out.

The three solution files are the handout filled in, nothing else. This package subclasses their
classes (it never patches them) for what staff and the docs need: a command line with the
handout's settings as defaults, ``--full`` (all 60,000 training images), the CNN's own training
recipe (``PyTorchCNN.fit``), NumpyANN's per-epoch history, ``model.eval()`` that works, labels
in either form and checked inputs. ``docs/analysis.py`` and ``benchmarks/`` run it.

    python -m reference numpy_ann                 # the handout's run, with the history plotted
    python -m reference pytorch_cnn --full        # the CNN's recipe on all the data
"""
