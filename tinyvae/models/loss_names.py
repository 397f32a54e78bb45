"""What a model's loss is, in words and constants, from its ``config()``: the honest names of its terms
(:func:`loss_labels`, for the figures and the command line) and the constant a Gaussian decoder of
variance ½ adds to the squared error (:func:`gaussian_constant`). Below the figures and training, which
both read them; and :class:`Loss`, the three figures of one batch's loss."""

from __future__ import annotations

import math
from typing import Any, NamedTuple


class Loss(NamedTuple):
    """One batch's loss: ``total = recon + beta * kl`` (floats, per example, averaged over the batch).

    With free bits λ > 0 the total is the objective minimised, recon + β·Σ_j max(λ, kl_j), and ``kl``
    stays the plain KL Σ_j kl_j (so total ≥ recon + β·kl there)."""

    total: float
    recon: float
    kl: float


def gaussian_constant(x_dim: int) -> float:
    """(D/2)·log π: what −log p(x|z) of a Gaussian with variance ½ per pixel adds to the squared error."""
    return 0.5 * int(x_dim) * math.log(math.pi)


def loss_labels(config: dict[str, Any]) -> dict[str, str]:
    """Honest names for a run's loss terms, from its model ``config()``: keys total, recon, kl, unit (of the total), recon_unit.

    "negative ELBO" and "nats" only where true: a VAE or CVAE with β = 1 and the bce loss. A β ≠ 1 total
    is a β-weighted objective; an AE's loss is its reconstruction alone; a squared error is not in nats
    (a Gaussian likelihood with variance ½ per pixel would add (D/2)·log π to it, 448.73 nats for D = 784).
    """
    bce = config.get("loss") == "bce"
    beta = float(config.get("beta", 1.0))
    recon = "reconstruction (binary cross-entropy, nats)" if bce else (
        f"reconstruction (squared error; not nats: −log p(x|z) of a Gaussian with variance 1/2 "
        f"adds {gaussian_constant(config.get('x_dim', 784)):.2f})")
    unit = "nats per image" if bce else "per image (squared error, not nats)"
    if config.get("model") not in ("vae", "cvae"):
        return {"total": "reconstruction loss (an AE has no KL and no ELBO)", "recon": recon, "kl": "",
                "unit": unit, "recon_unit": unit}
    recon_unit = "nats per image" if bce else "per image (squared error, not nats)"
    if bce and beta == 1.0:
        total = "total loss (negative ELBO)"
    elif beta == 1.0:
        total = "total loss (squared error + KL; not a negative ELBO in nats)"
    else:
        total = f"total loss (recon + {beta:g}·KL: β-weighted, not a negative ELBO)"
        unit = "per image (β-weighted)" if bce else unit
    return {"total": total, "recon": recon, "kl": "KL divergence (nats)", "unit": unit, "recon_unit": recon_unit}
