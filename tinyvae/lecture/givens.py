"""The lecture's numbers (document 004): what it gives, what we reconstruct, what it printed.

The lecture printed x, W_e, b_e, W_mu, b_mu and the results. The log-variance head, the noise eps and
the decoder were in the video's images and are missing from its text; ``RECONSTRUCTED`` fills them in
(see ``../shared/seeds/INDEX.md``), and :func:`tinyvae.lecture.trace.run` checks that they give back
every number the lecture printed before it uses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

X = np.array([[0.5, 1.0, -0.5]])  # (1, 3): a batch of one

#: Printed in the lecture's text.
GIVEN: dict[str, np.ndarray] = {
    "W_e": np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]),
    "b_e": np.array([0.1, 0.2]),
    "W_mu": np.array([[0.1, -0.1], [0.2, -0.2]]),
    "b_mu": np.array([0.0, 0.1]),
}

#: NOT in the lecture's text (they were in the video's images): reconstructions that reproduce every
#: number the lecture printed. W_logvar is one choice among many mapping h = [0.2, 0.6] to
#: [-0.02, 0.04]; W_d, b_d follow the pattern of W_e and give x_hat exactly with no activation.
#: eps is derived from the lecture's own numbers in :func:`implied_eps`.
RECONSTRUCTED: dict[str, np.ndarray] = {
    "W_logvar": np.array([[0.2, -0.1], [-0.1, 0.1]]),
    "b_logvar": np.array([0.0, 0.0]),
    "W_d": np.array([[0.2, 0.3], [0.4, 0.5], [0.6, 0.7]]),
    "b_d": np.array([0.1, 0.2, 0.3]),
}

#: What the lecture printed, with its printed digits.
LECTURE: dict[str, Any] = {
    "h": [0.2, 0.6],
    "mu": [-0.04, 0.02],
    "logvar": [-0.02, 0.04],
    "std": [0.99, 1.02],
    "z": [0.455, -0.49],
    "x_hat": [0.044, 0.137, 0.23],
    "recon_loss": 1.485605,
    "kl": 0.00675,
    "total": 1.492355,
}

#: Lecture name -> the model's parameter key (``part.param``), in the order the trace shows them.
PARAM_KEYS: dict[str, str] = {
    "W_e": "encoder.W", "b_e": "encoder.b",
    "W_mu": "mu.W", "b_mu": "mu.b",
    "W_logvar": "logvar.W", "b_logvar": "logvar.b",
    "W_d": "decoder.W", "b_d": "decoder.b",
}

ADAM_LR = 0.1
"""Learning rate of the one Adam step. Adam's first step moves every weight by almost exactly
``lr`` against the sign of its gradient (m̂ / √v̂ = g / |g|), so 0.1 makes the change visible in
the first decimal and still lowers the loss; 1e-3 would move each weight by 0.001, visible only
from the third decimal on."""


def implied_eps() -> np.ndarray:
    """ε = (z - μ) / σ̃ from the lecture's printed z, μ and rounded σ: [0.5, -0.5], shape (2,)."""
    z, mu, std = (np.array(LECTURE[k]) for k in ("z", "mu", "std"))
    return (z - mu) / std


def decimals(printed: Any) -> int:
    """How many decimals a printed lecture number carries (0.455 -> 3, [0.044, 0.23] -> 3)."""
    vals = np.atleast_1d(np.asarray(printed, dtype=float))
    return max(len(repr(float(v)).split(".")[1].rstrip("0")) if "." in repr(float(v)) else 0 for v in vals)


def agrees(value: Any, printed: Any) -> bool:
    """True if ``value`` rounded to the lecture's printed decimals equals what it printed."""
    d = decimals(printed)
    return bool(np.allclose(np.round(np.asarray(value, dtype=float), d), np.asarray(printed, dtype=float),
                            rtol=0, atol=10.0 ** -(d + 6)))


__all__ = ["ADAM_LR", "GIVEN", "LECTURE", "PARAM_KEYS", "RECONSTRUCTED", "X", "agrees", "decimals", "implied_eps"]
