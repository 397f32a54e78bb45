"""Build a model from its configuration dict (what ``model.config()`` returns and checkpoints store).

Every model's ``config()`` holds ``"model"`` ("vae", "ae" or "cvae") and the constructor's
arguments; convolutional variants add ``"arch": "conv"``. ``build_model(config)`` is the inverse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Model

MODELS = ("vae", "ae", "cvae")
ARCHS = ("mlp", "conv")


def build_model(config: dict[str, Any], *, rng: np.random.Generator | int | None = None, dtype: Any = np.float32) -> Model:
    """A fresh model (new random weights from ``rng``) with the architecture ``config`` describes."""
    cfg = dict(config)
    kind, arch = cfg.pop("model", "vae"), cfg.pop("arch", "mlp")
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {list(ARCHS)}")
    if arch == "conv":
        from .conv_vae import ConvVAE

        if kind != "vae":
            raise ValueError(f"arch='conv' is available for model='vae' only, not for model={kind!r}")
        cfg.setdefault("padding", "symmetric")  # written before the key existed: trained with torch-style padding
        return ConvVAE(**cfg, rng=rng, dtype=dtype)
    if kind == "vae":
        from .vae import VAE

        return VAE(**cfg, rng=rng, dtype=dtype)
    if kind == "ae":
        from .ae import AE

        return AE(**cfg, rng=rng, dtype=dtype)
    from .cvae import CVAE

    return CVAE(**cfg, rng=rng, dtype=dtype)
