"""A sample class to try the batch grader and the similarity report on (samples/README.md)."""
