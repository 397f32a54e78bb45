"""The lecture's network: four of the library's ``Linear`` layers (no activations), its weights the
lecture's (and the reconstructions). Not a tinyvae model: it has no ``encode``, ``decode`` or loss of
its own (``trace.py`` runs its forward and backward step by step); it holds the layers, named
(:class:`tinyvae.models.base.Parts`), so that :class:`tinyvae.engine.optim.Adam` can step them."""

from __future__ import annotations

import numpy as np

from ..engine.layers import Layer, Linear
from ..models.base import Parts
from .givens import GIVEN, PARAM_KEYS, RECONSTRUCTED


class LectureNetwork(Parts):
    """Four ``Linear`` layers, weights set to the lecture's (and the reconstructions).

    Parts (the names of ``params`` / ``grads``): ``encoder`` Linear(3 → 2), ``mu`` Linear(2 → 2),
    ``logvar`` Linear(2 → 2), ``decoder`` Linear(2 → 3); e.g. ``params["decoder.W"]`` is W_d (3, 2).
    """

    def __init__(self) -> None:
        rng = np.random.default_rng(0)  # unused in effect: every weight is overwritten below
        self.encoder = Linear(3, 2, rng=rng)
        self.mu_head = Linear(2, 2, rng=rng)
        self.logvar_head = Linear(2, 2, rng=rng)
        self.decoder = Linear(2, 3, rng=rng)
        weights = {**GIVEN, **RECONSTRUCTED}
        for name, key in PARAM_KEYS.items():
            self.params[key][...] = weights[name]

    def parts(self) -> dict[str, Layer]:
        return {"encoder": self.encoder, "mu": self.mu_head, "logvar": self.logvar_head, "decoder": self.decoder}


__all__ = ["LectureNetwork"]
