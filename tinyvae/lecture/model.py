"""The lecture's network, built from the library's own ``Linear`` layers (no activations)."""

from __future__ import annotations

import numpy as np

from ..engine.layers import Layer, Linear
from ..models.base import Model
from .givens import GIVEN, PARAM_KEYS, RECONSTRUCTED


class LectureVAE(Model):
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
        self.load_params({key: weights[name] for name, key in PARAM_KEYS.items()})

    def parts(self) -> dict[str, Layer]:
        return {"encoder": self.encoder, "mu": self.mu_head, "logvar": self.logvar_head, "decoder": self.decoder}


__all__ = ["LectureVAE"]
