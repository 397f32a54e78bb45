"""The legal range of every value an architecture records (``model.config()``), written once.

The constructors check their arguments here (``check``), the checkpoint's schema builds its checks of
``meta.architecture`` from the same :data:`ARCHITECTURE` table and :func:`check_rules`, and the command
line asks :func:`check_architecture` before it estimates the memory: a model the library builds, it
loads back, and a file it loads, it could have built. The run's values (epochs, lr, ...) have their
table beside ``fit``'s door, ``training/run_values.py``, made of the same :class:`Range`.

A value outside its range raises :class:`ParameterError` (a ValueError), one line that starts with the
parameter's name as the library spells it (``beta must be a number from 0 to 1e6, got 2e6``), which
the command line writes as its flag (``--beta``).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.layers import ACTIVATIONS
from .size import MAX_PARAMS, MAX_WIDTH, count_params


class ParameterError(ValueError):
    """A value outside its range. ``parameter`` names it (``hidden_dims``), ``index`` its item (or None);
    the message starts with ``name`` (``hidden_dims[1]``)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        base, _, rest = name.partition("[")
        self.parameter, self.index = base, int(rest.rstrip("]")) if rest else None


def show(v: Any) -> str:
    """A number as messages print it: 1,000,000 (an int), 1e6, 0.5, nan (a float); anything else by repr."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return repr(v)
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    text = f"{float(v):g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")
    return text if any(c in text for c in ".eni") else text + ".0"  # 2.0 is not the integer 2


@dataclass(frozen=True)
class Range:
    """The legal values of one parameter: integers (``kind=int``; not bools) or finite numbers (``float``;
    ints accepted) from ``lo`` to ``hi``, both included unless ``open_lo``. ``unit`` names what a number
    counts ("nats"); ``hi_text`` writes ``hi`` in messages (``2**63 - 1``)."""

    kind: type
    lo: float
    hi: float
    open_lo: bool = False
    unit: str = ""
    hi_text: str = ""

    def describe(self) -> str:
        """E.g. "an integer from 1 to 65,536", "a number of nats from 0 to 1e6", "a positive number, at most 1e6"."""
        hi = self.hi_text or show(self.hi)
        if self.kind is int:
            return f"an integer from {show(self.lo)} to {hi}"
        what = "a number" + (f" of {self.unit}" if self.unit else "")
        if self.open_lo and self.lo == 0:
            return f"a positive number{f' of {self.unit}' if self.unit else ''}, at most {hi}"
        return f"{what} {'above' if self.open_lo else 'from'} {show(self.lo)} to {hi}"

    def holds(self, v: Any) -> bool:
        """Whether ``v`` is a legal value (of the right type, finite, in the range)."""
        if isinstance(v, (bool, np.bool_)):
            return False
        if self.kind is int and not isinstance(v, (int, np.integer)):
            return False
        if not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            return False
        return (v > self.lo if self.open_lo else v >= self.lo) and v <= self.hi

    def check(self, name: str, v: Any) -> Any:
        """``v`` as an int or float if it is legal, else :class:`ParameterError` naming ``name``."""
        if not self.holds(v):
            raise ParameterError(name, f"{name} must be {self.describe()}, got {show(v)}")
        return int(v) if self.kind is int else float(v)


MAX_HIDDEN_LAYERS = 16
MAX_CLASSES = 1000
ARCHITECTURE: dict[str, Range] = {
    "x_dim": Range(int, 1, MAX_WIDTH),  # input features
    "hidden_dims": Range(int, 1, MAX_WIDTH),  # each width (1 to MAX_HIDDEN_LAYERS of them)
    "hidden_dim": Range(int, 1, MAX_WIDTH),  # the conv model's dense width
    "z_dim": Range(int, 1, MAX_WIDTH),
    "beta": Range(float, 0, 1e6),
    "free_bits": Range(float, 0, 1e6, unit="nats"),
    "n_classes": Range(int, 2, MAX_CLASSES),
    "channels": Range(int, 1, 1024),  # each of the conv model's two
    "kernel_size": Range(int, 1, 15),  # odd (the conv model's own check)
}
KINDS = {"vae": ("mlp", "conv"), "ae": ("mlp",), "cvae": ("mlp",)}  # each model kind and the archs it comes in
ARCHS = tuple(dict.fromkeys(arch for archs in KINDS.values() for arch in archs))  # ("mlp", "conv")
LOSSES = ("bce", "mse")  # the reconstruction terms (models/base.py's reconstruction_loss)
OUTPUTS = ("sigmoid", "identity")  # what turns the decoder's logits into x_hat
PADDINGS = ("same", "symmetric")  # the conv model's: Keras's, torch-style (spec.conv_pads)
# every closed list a config holds, each written once: the constructors, build_model, the checkpoint's
# schema and the command line's choices read these objects (the activations: the engine's own mapping)
CHOICES: dict[str, Collection[str]] = {"model": KINDS, "arch": ARCHS, "loss": LOSSES, "output": OUTPUTS,
                                       "padding": PADDINGS, "activation": ACTIVATIONS}
KL_SETTINGS = ("beta", "free_bits")  # what acts on the KL term, which a plain autoencoder does not have


def check(name: str, v: Any) -> Any:
    """``v`` checked against the range of ``name`` (``hidden_dims[1]`` reads the range of ``hidden_dims``)."""
    return ARCHITECTURE[name.partition("[")[0]].check(name, v)


def choices_text(choices: Collection[str]) -> str:
    """"'bce' or 'mse'" (two choices), "one of ['same', 'symmetric', ...]" (more)."""
    names = list(choices)
    return f"{names[0]!r} or {names[1]!r}" if len(names) == 2 else f"one of {names}"


def check_choice(name: str, v: Any) -> str:
    """``v`` if it is one of :data:`CHOICES` ``[name]`` (read when called: a choice added is accepted)."""
    choices = CHOICES[name]
    if not isinstance(v, str) or v not in choices:
        raise ParameterError(name, f"{name} must be {choices_text(choices)}, got {v!r}")
    return v


def check_widths(name: str, widths: Any, lo: int = 1, hi: int = MAX_HIDDEN_LAYERS, of: str = "") -> list[int]:
    """A list (or tuple) of ``lo`` to ``hi`` values, each in the range of ``of`` (default: ``name``)."""
    if not (isinstance(widths, (list, tuple)) and lo <= len(widths) <= hi):
        count = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise ParameterError(name, f"{name} must be a list of {count} positive widths, got {widths!r}")
    return [ARCHITECTURE[of or name].check(f"{name}[{i}]", w) for i, w in enumerate(widths)]


def check_kind(kind: Any, arch: Any) -> str:
    """``kind`` if it is a model kind that comes in ``arch``."""
    check_choice("model", kind)
    check_choice("arch", arch)
    if arch not in KINDS[kind]:
        raise ParameterError("arch", f"arch='{arch}' is available for model='vae' only, not for model='{kind}'")
    return kind


def check_rules(cfg: dict[str, Any]) -> None:
    """The rules between values: which kind comes in which arch, what a plain autoencoder lacks, which
    model has classes (the parameter count is :func:`check_param_count`'s)."""
    kind = check_kind(cfg.get("model", "vae"), cfg.get("arch", "mlp"))
    for name in KL_SETTINGS:
        if kind == "ae" and name in cfg:
            raise ParameterError(name, f"{name} acts on the KL term, which a plain autoencoder (model='ae') does "
                                       f"not have")
    if "n_classes" in cfg and kind != "cvae":
        raise ParameterError("n_classes", f"n_classes: only a conditional VAE (model='cvae') has classes, not "
                                          f"model='{kind}'")


def check_param_count(cfg: dict[str, Any]) -> None:
    """Refuse, before a weight is allocated, an architecture of more than ``size.MAX_PARAMS`` parameters."""
    n = count_params(cfg)
    if n > MAX_PARAMS:
        raise ParameterError("hidden_dims", f"this architecture has {n:,} parameters, more than tinyvae builds "
                                            f"({MAX_PARAMS:,}); choose smaller widths")


def check_architecture(cfg: dict[str, Any]) -> dict[str, Any]:
    """A ``model.config()``-shaped dict checked, every value against :data:`ARCHITECTURE` and the
    rules between them (:func:`check_rules`), before anything is built; returns it."""
    for name, v in cfg.items():
        if name in ("hidden_dims", "channels"):
            check_widths(name, v, *((2, 2) if name == "channels" else (1, MAX_HIDDEN_LAYERS)))
        elif name in ARCHITECTURE:
            check(name, v)
    check_rules(cfg)
    check_param_count(cfg)
    return cfg
