"""The command line: ``tinyvae COMMAND [options]``; each command lives in its own module here.

A command module defines ``add_parser(subparsers) -> argparse.ArgumentParser`` and
``run(args) -> int``. Expected failures raise :class:`CLIError` (or ``ValueError``/``OSError``/
``ImportError`` from the library); :func:`main` turns them into one line on stderr and exit
status 2 (1 for a run that diverged), with no traceback unless ``--debug`` is given. The library's
messages name its parameters (``lr=0.0001``); that line names the flags instead (``--lr 0.0001``).
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from typing import Sequence

import numpy as np

from . import compare, data, evaluate, example, explore, sample, train  # one module per command
from .errors import CLIError, as_flags, check_fits, one_line  # noqa: F401  (tinyvae.cli.CLIError, as_flags, as before)
from .parser import Parser

COMMANDS = ("train", "evaluate", "sample", "example", "compare", "explore", "data")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="tinyvae",
        description="A variational autoencoder in NumPy with every gradient written by hand.",
        epilog="Run 'tinyvae COMMAND --help' for a command's options.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {"train": train, "evaluate": evaluate, "sample": sample, "example": example, "compare": compare,
               "explore": explore, "data": data}
    for name in COMMANDS:
        module = modules[name]
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
        # numpy's overflow warnings would be lines of their own: every result is checked for NaN/inf
        # where it is made (the divergence guard, evaluate's report, sample's pixels) and refused in one
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            status = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at exit
        return status
    except KeyboardInterrupt:
        print("tinyvae: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, TypeError, OSError, ImportError, MemoryError, RecursionError) as e:
        if isinstance(e, BrokenPipeError) and _stdout_closed():
            return 141  # `tinyvae example | head -1`: the reader has all it wanted; exit quietly, as SIGPIPE would
        if args.debug:
            raise
        status = getattr(e, "status", 2)
        print(f"tinyvae {args.command}: error: {one_line(e)}", file=sys.stderr)
        return status


def _stdout_closed() -> bool:
    """Whether stdout's reader has gone (a pipe's write end with no reader polls as an error); if so,
    stdout now writes to /dev/null so that Python's own flush at exit cannot complain about it either."""
    try:
        fd = sys.stdout.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        if not any(events & select.POLLERR for _, events in poll.poll(0)):
            return False
    except (OSError, ValueError, AttributeError):  # no file descriptor, or no poll (Windows)
        return False
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    return True
