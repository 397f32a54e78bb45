"""Build a model from its configuration dict (what ``model.config()`` returns and checkpoints store).

Every model's ``config()`` holds ``"model"`` ("vae", "ae" or "cvae") and the constructor's
arguments; convolutional variants add ``"arch": "conv"``. ``build_model(config)`` is the inverse; a
key the config leaves out takes the constructor's default (a record written before a key existed is
completed by the checkpoint's schema, ``training/schema.py``, as it is read).
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

# the class of each (kind, arch) that ranges.KINDS lists, and of no other (tests/test_choices.py holds them equal)
CONSTRUCTORS: dict[tuple[str, str], type[Model]] = {("vae", "mlp"): VAE, ("ae", "mlp"): AE, ("cvae", "mlp"): CVAE,
                                                    ("vae", "conv"): ConvVAE}


def build_model(config: dict[str, Any], *, rng: np.random.Generator | int | None = None, dtype: Any = np.float32) -> Model:
    """A fresh model (new random weights from ``rng``) with the architecture ``config`` describes."""
    cfg = dict(config)
    kind, arch = cfg.pop("model", "vae"), cfg.pop("arch", "mlp")
    check_rules(config)  # a known kind, in an arch it comes in, with the settings it has
    return CONSTRUCTORS[kind, arch](**cfg, rng=rng, dtype=dtype)
