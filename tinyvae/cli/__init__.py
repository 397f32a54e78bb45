"""The command line: ``tinyvae COMMAND [options]``; each command lives in its own module here.

A command module defines ``add_parser(subparsers) -> argparse.ArgumentParser`` and
``run(args) -> int``. Expected failures raise :class:`CLIError` (or ``ValueError``/``OSError``/
``ImportError`` from the library); :func:`main` turns them into one line on stderr and exit
status 2 (1 for a run that diverged), with no traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

COMMANDS = ("train", "evaluate", "sample", "example", "compare", "explore")


class CLIError(Exception):
    """An expected failure: the message is shown alone; ``status`` is the exit code."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinyvae",
        description="A variational autoencoder in NumPy with every gradient written by hand.",
        epilog="Run 'tinyvae COMMAND --help' for a command's options.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tinyvae.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"tinyvae.cli.{name}":
                raise
            continue
        p = module.add_parser(sub)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors")
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("tinyvae: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, TypeError, OSError, ImportError) as e:
        if args.debug:
            raise
        status = getattr(e, "status", 2)
        print(f"tinyvae {args.command}: error: {e}", file=sys.stderr)
        return status
