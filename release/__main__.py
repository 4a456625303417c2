"""``python -m release build [--out dist]`` | ``python -m release check [--fast] [--handout DIR]``."""
from __future__ import annotations

import argparse
import sys

from .build import build
from .check import CheckFailed, check


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release",
                                     description="Build the student handout from the reference, or prove it.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="write OUT/handout/ and OUT/handout.zip")
    build_cmd.add_argument("--out", default="dist", help="output directory (default: %(default)s)")
    check_cmd = commands.add_parser("check", help="prove the handout (see release/check.py)")
    check_cmd.add_argument("--fast", action="store_true",
                           help="grade the round trip's unit items only (skips the real-data runs: minutes)")
    check_cmd.add_argument("--handout", default=None,
                           help="also check that this built handout (e.g. dist/handout) equals a fresh build")
    args = parser.parse_args(argv)
    if args.command == "build":
        archive = build(args.out)
        print(f"wrote {archive.parent / 'handout'} and {archive}")
        return 0
    try:
        check(fast=args.fast, handout=args.handout)
    except CheckFailed as exc:
        print(f"release check FAILED:\n{exc}", file=sys.stderr)
        return 1
    print("release check: every proof holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
