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
import re
import sys
from typing import Sequence

import numpy as np

from ..models.memory import memory_budget  # noqa: F401 (check_fits's budget; re-exported)
from ..models.ranges import ParameterError
from ..training.run_values import RUN

COMMANDS = ("train", "evaluate", "sample", "example", "compare", "explore", "data")


class CLIError(Exception):
    """An expected failure: the message is shown alone; ``status`` is the exit code."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    from .parser import Parser

    parser = Parser(
        prog="tinyvae",
        description="A variational autoencoder in NumPy with every gradient written by hand.",
        epilog="Run 'tinyvae COMMAND --help' for a command's options.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import compare, data, evaluate, example, explore, sample, train  # one module per command

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
        print(f"tinyvae {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return status


def _stdout_closed() -> bool:
    """Whether stdout's reader has gone (a pipe's write end with no reader polls as an error); if so,
    stdout now writes to /dev/null so that Python's own flush at exit cannot complain about it either."""
    try:
        fd = sys.stdout.fileno()
        import select

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


# The library names its parameters (``fit(lr=...)``, ``VAE(z_dim=...)``, ``load(source=...)``); the
# command line names its flags. This one table translates: the library checks every value (its ranges
# are in models/ranges.py and training/run_values.py), and its refusal, which starts with the
# parameter's name, is shown with the flag's; a ``name=value`` it suggests is shown as ``--flag value``.
PARAMETER_FLAGS = {"lr": "--lr", "dtype": "--dtype", "backend": "--backend", "source": "--data", "data": "--data",
                   "out_dir": "--out", "batch_size": "--batch-size", "epochs": "--epochs", "seed": "--seed",
                   "model": "--model", "arch": "--arch", "z_dim": "--latent", "hidden_dims": "--hidden",
                   "hidden_dim": "--hidden", "beta": "--beta", "free_bits": "--free-bits", "kl_warmup": "--kl-warmup",
                   "directory": "--dir", "mirror": "--mirror", "limit": "--limit", "binarize": "--binarize",
                   "threads": "--threads", "latent": "--latent", "hidden": "--hidden", "betas": "--betas"}
_SUGGESTION = re.compile(r"\b(" + "|".join(PARAMETER_FLAGS) + r")=(['\"]?)([^\s'\";,()]+)\2")


def as_flags(text: str, e: BaseException | None = None) -> str:
    """``text`` with each ``name=value`` of a library parameter written as the flag that sets it, and
    the name a :class:`ParameterError` ``e`` starts with written as its flag.

    >>> as_flags("Try a lower learning rate, e.g. lr=0.0001; or dtype='float64'")
    'Try a lower learning rate, e.g. --lr 0.0001; or --dtype float64'
    >>> as_flags("hidden_dims[1] must be an integer from 1 to 65,536, got 0", ParameterError("hidden_dims[1]", ""))
    'the 2nd value of --hidden must be an integer from 1 to 65,536, got 0'
    """
    if isinstance(e, ParameterError) and e.parameter in PARAMETER_FLAGS and text.startswith(e.name + " "):
        flag = PARAMETER_FLAGS[e.parameter]
        text = (flag if e.index is None else f"the {_ordinal(e.index + 1)} value of {flag}") + text[len(e.name):]
    return _SUGGESTION.sub(lambda m: f"{PARAMETER_FLAGS[m.group(1)]} {m.group(3)}", text)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _one_line(e: BaseException) -> str:
    if isinstance(e, MemoryError):
        return ("out of memory" + (f" ({e})" if str(e) else "") +
                "; ask for less (a smaller --hidden, --n, --iwae or --batch-size) or free some memory")
    if isinstance(e, RecursionError):
        return "input nested too deeply to be a tinyvae file"
    text = as_flags(" ".join(str(e).split()), e) or type(e).__name__
    return text if len(text) <= 1000 else text[:997] + "..."


def check_fits(nbytes: float, what: str, fix: str) -> None:
    """Refuse, before allocating it, work that needs more memory than :func:`memory_budget` allows."""
    budget = memory_budget()
    if nbytes > budget:
        raise CLIError(f"{what} needs about {_gib(nbytes)} of memory, more than the {_gib(budget)} available; {fix}")


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"


def check_seed(seed: int) -> int:
    """``--seed`` must be in the range of a run's seed (what numpy's default_rng accepts and checkpoints store)."""
    return RUN["seed"].check("seed", seed)  # a ParameterError, shown with the flag's name
