"""The latent-space figures of a trained 2-D model: the numbers computed here (``aggregate.py``,
``exact.py``), the pictures drawn by ``figures/posterior.py``.

    aggregate_vs_prior(model, x, path)   q_agg(z) of the images x beside N(0, I), the holes outlined;
                                         KL(q_agg ‖ p) and the prior's mass in the holes in the title
    true_posteriors(model, x, path)      for a few images: p(z|x) as a heat map under q(z|x)'s ellipses
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import backend
from ..figures.posterior import draw_aggregate, draw_true_posteriors
from ..models.base import Model
from .aggregate import HOLE_RATIO, aggregate_posterior
from .exact import covering_half_width, encode_all, log_posterior_grid


def _need_2d(model: Model) -> None:
    if getattr(model, "z_dim", None) != 2 or not model.has_posterior:
        raise ValueError(f"these figures draw densities over a 2-D latent space of a model with q(z|x); this one "
                         f"has z_dim={getattr(model, 'z_dim', None)}")


def aggregate_vs_prior(model: Model, x: Any, path: str | Path, y: Any = None, *,
                       half_width: float | None = None) -> Path:
    """The aggregate posterior of the images x (N, D) beside the prior, written to ``path``. The grid covers
    every q(z|x) to 3σ and the prior to 4 (``half_width`` None), or [-half_width, half_width]²."""
    _need_2d(model)
    mu, logvar = encode_all(model, x, model.labels_for(y))
    half_width = half_width or max(4.0, float(math.ceil(np.max(np.abs(mu) + 3 * np.exp(0.5 * logvar)))))
    r = aggregate_posterior(mu, logvar, half_width=half_width)
    return draw_aggregate(r, path, images=mu.shape[0], half_width=half_width, hole_ratio=HOLE_RATIO)


def true_posteriors(model: Model, x: Any, path: str | Path, y: Any = None, *, points: int = 301) -> Path:
    """For 1 to 8 images x (N, D): p(z|x) on a grid that covers every q(z|x) (``exact.covering_half_width``)
    under q(z|x)'s 1σ and 2σ ellipses, written to ``path``."""
    _need_2d(model)
    labels = model.labels_for(y)
    if not 1 <= x.shape[0] <= 8:
        raise ValueError(f"true_posteriors draws 1 to 8 images, got {x.shape[0]}")
    mu, logvar = encode_all(model, x, labels)
    half_width = covering_half_width(mu, logvar)
    axis, logp = log_posterior_grid(model, x, labels, half_width=half_width, points=points)
    return draw_true_posteriors(backend.to_numpy(x), (mu, logvar), (axis, logp, half_width), path)
