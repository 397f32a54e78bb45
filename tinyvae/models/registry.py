"""Build a model from its configuration dict (what ``model.config()`` returns and checkpoints store).

Every model's ``config()`` holds ``"model"`` ("vae", "ae" or "cvae") and the constructor's
arguments; convolutional variants add ``"arch": "conv"``. ``build_model(config)`` is the inverse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ae import AE
from .base import Model
from .conv_vae import ConvVAE
from .cvae import CVAE
from .ranges import check_rules
from .vae import VAE

MODELS = ("vae", "ae", "cvae")
ARCHS = ("mlp", "conv")


def build_model(config: dict[str, Any], *, rng: np.random.Generator | int | None = None, dtype: Any = np.float32) -> Model:
    """A fresh model (new random weights from ``rng``) with the architecture ``config`` describes."""
    cfg = dict(config)
    kind, arch = cfg.pop("model", "vae"), cfg.pop("arch", "mlp")
    check_rules(config)  # a known kind, in an arch it comes in, with the settings it has
    if arch == "conv":
        cfg.setdefault("padding", "symmetric")  # written before the key existed: trained with torch-style padding
        return ConvVAE(**cfg, rng=rng, dtype=dtype)
    if kind == "vae":
        return VAE(**cfg, rng=rng, dtype=dtype)
    if kind == "ae":
        return AE(**cfg, rng=rng, dtype=dtype)

    return CVAE(**cfg, rng=rng, dtype=dtype)
