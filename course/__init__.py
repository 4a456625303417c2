"""The course's facts: what the handout fixes, in one place. Imports nothing of the project.

- ``facts``: the protocol's numbers (split sizes, thresholds, the scripted runs, the progress
  cadence, the metric keys), the split itself, and the noise of an accuracy on 200 images;
- ``judgement``: the rule the judgement items (2.7, 3.3) are read by;
- ``contract``: every class and method the skeleton carries, with its signature and the layout of
  its ``# >>> YOUR CODE HERE >>>`` regions; the handout is a solution file with its regions blanked.

The grader, ``release/``, ``reference/``, ``docs/`` and ``benchmarks/`` import these; the four
course files (``utils.py`` and the three solution files) import none of it, as students' files.
"""
