"""How the command line refuses: :class:`CLIError`, the one table from the library's parameter names to the
flags that set them (the library checks every value and names the parameter; the command line shows its
message with the flag's name), and the memory check a command makes before large work."""

from __future__ import annotations

import re

from ..models.memory import memory_budget
from ..models.ranges import ParameterError
from ..training.run_values import RUN


class CLIError(Exception):
    """An expected failure: the message is shown alone; ``status`` is the exit code."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


# The library names its parameters (``fit(lr=...)``, ``VAE(z_dim=...)``, ``load(source=...)``); the
# command line names its flags. This one table translates: the library checks every value (its ranges
# are in models/ranges.py and training/run_values.py), and its refusal, which starts with the
# parameter's name, is shown with the flag's; a ``name=value`` it suggests is shown as ``--flag value``.
PARAMETER_FLAGS = {"lr": "--lr", "dtype": "--dtype", "backend": "--backend", "source": "--data", "data": "--data",
                   "out_dir": "--out", "batch_size": "--batch-size", "epochs": "--epochs", "seed": "--seed",
                   "model": "--model", "arch": "--arch", "z_dim": "--latent", "hidden_dims": "--hidden",
                   "hidden_dim": "--hidden", "beta": "--beta", "free_bits": "--free-bits", "kl_warmup": "--kl-warmup",
                   "directory": "--dir", "mirror": "--mirror", "limit": "--limit", "binarize": "--binarize",
                   "threads": "--threads", "latent": "--latent", "hidden": "--hidden", "betas": "--betas",
                   "points": "--grid", "k": "--iwae"}
_SUGGESTION = re.compile(r"\b(" + "|".join(PARAMETER_FLAGS) + r")=(['\"]?)([^\s'\";,()]+)\2")


def as_flags(text: str, e: BaseException | None = None) -> str:
    """``text`` with each ``name=value`` of a library parameter written as the flag that sets it, and
    the name a :class:`ParameterError` ``e`` starts with written as its flag (and the name a message
    of the engine, which knows no ParameterError, starts with: ``lr must be ...``).

    >>> as_flags("Try a lower learning rate, e.g. lr=0.0001; or dtype='float64'")
    'Try a lower learning rate, e.g. --lr 0.0001; or --dtype float64'
    >>> as_flags("hidden_dims[1] must be an integer from 1 to 65,536, got 0", ParameterError("hidden_dims[1]", ""))
    'the 2nd value of --hidden must be an integer from 1 to 65,536, got 0'
    >>> as_flags("lr must be positive (and finite), got 0.0")
    '--lr must be positive (and finite), got 0.0'
    """
    if isinstance(e, ParameterError) and e.parameter in PARAMETER_FLAGS and text.startswith(e.name + " "):
        flag = PARAMETER_FLAGS[e.parameter]
        text = (flag if e.index is None else f"the {_ordinal(e.index + 1)} value of {flag}") + text[len(e.name):]
    elif (name := text.split(" ", 1)[0]) in PARAMETER_FLAGS and text.startswith(f"{name} must "):
        text = PARAMETER_FLAGS[name] + text[len(name):]
    return _SUGGESTION.sub(lambda m: f"{PARAMETER_FLAGS[m.group(1)]} {m.group(3)}", text)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def one_line(e: BaseException) -> str:
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
