"""How big an architecture is, from its ``config()`` alone (nothing built): its parameter count (from its
``spec``, the description the model is built from), and the limits every door shares, the constructors,
the command line and the checkpoint reader (``training/schema.py`` reads them from here)."""

from __future__ import annotations

from typing import Any

from . import spec

MAX_PARAMS = 50_000_000  # parameters of a model a checkpoint may describe (784-400-20: 0.65 M)
MAX_WIDTH = 1 << 16  # one layer's width, a latent size


def count_params(cfg: dict[str, Any]) -> int:
    """The number of parameters the architecture ``cfg`` has (without building it): its spec's."""
    return spec.describe(cfg).num_params()
