"""The prior N(0, I) on a 2-D latent plane: the circles ‖z‖ = 1, 2, 3 and the share of its mass inside
each; the quantiles of N(0, 1) that the manifold's grid runs over."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

PRIOR_RADII = (1, 2, 3)


def prior_share(r: float) -> float:
    """P(‖z‖ < r) for z ~ N(0, I) in two dimensions: ‖z‖² is χ² with 2 degrees of freedom, 1 − e^(−r²/2)."""
    return 1.0 - math.exp(-r * r / 2)


def prior_circles(ax: Any) -> str:
    """Draw the circles ‖z‖ = 1, 2, 3 of the prior N(0, I) on a 2-D latent plane; returns what they mean."""
    from matplotlib.patches import Circle

    for r in PRIOR_RADII:
        ax.add_patch(Circle((0, 0), r, fill=False, ls="--", lw=0.9, color="0.35", zorder=3))
    shares = ", ".join(f"{prior_share(r):.0%}" for r in PRIOR_RADII)
    return f"dashed: ‖z‖ = {', '.join(map(str, PRIOR_RADII))}, inside which the prior N(0, I) puts {shares}"


def normal_quantiles(n: int, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    """n points z with Φ(z) evenly spaced from ``lo`` to ``hi``: equal prior mass between neighbours."""
    inv = NormalDist().inv_cdf
    return np.array([inv(p) for p in np.linspace(lo, hi, n)])
