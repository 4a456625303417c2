"""The public tests' set-up: the autograder's checks (``autograder/``) and their data
(``public.json``), and the closing summary of what passed and what is checked only by the
autograder. Written by ``python -m release build``; do not edit."""
from pathlib import Path

from autograder import local

DATA = local.load(Path(__file__).resolve().parent / "public.json")


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_sep("=", "the autograder's items")
    for line in local.summary(DATA):
        terminalreporter.write_line(line)
