"""Two pictures of a 2-D latent space: the aggregate posterior beside the prior, and q(z|x) over p(z|x).

    aggregate_vs_prior(model, x, path)     q_agg(z) (every test posterior together) beside N(0, I), the
                                           holes outlined; KL(q_agg ‖ p) and the prior's mass in the holes
    true_posteriors(model, x, path)        for a few images: the true posterior p(z|x) as a heat map, the
                                           encoder's q(z|x) as its 1σ and 2σ ellipses on top

The numbers come from ``training/aggregate.py`` and ``training/exact.py``; both need z_dim = 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..engine import backend
from ..training.aggregate import HOLE_RATIO, aggregate_posterior
from ..training.exact import covering_half_width, encode_all, log_posterior_grid
from .draw import figure as _figure, save as _save


def _need_2d(model: Any) -> None:
    if getattr(model, "z_dim", None) != 2 or not model.has_posterior:
        raise ValueError(f"these figures draw densities over a 2-D latent space of a model with q(z|x); this one "
                         f"has z_dim={getattr(model, 'z_dim', None)}")


def aggregate_vs_prior(model: Any, x: Any, path: str | Path, y: Any = None, *, half_width: float | None = None) -> Path:
    """Two panels on the same colour scale: q_agg(z) of the images x, and N(0, I); the holes (where the
    prior's density is more than HOLE_RATIO times q_agg's) outlined in red on both. The grid covers every
    q(z|x) to 3σ and the prior to 4 (``half_width`` None), or [-half_width, half_width]²."""
    _need_2d(model)
    mu, logvar = encode_all(model, x, model.labels_for(y))
    half_width = half_width or max(4.0, float(np.ceil(np.max(np.abs(mu) + 3 * np.exp(0.5 * logvar)))))
    r = aggregate_posterior(mu, logvar, half_width=half_width)
    fig = _figure(10, 4.8)
    top = float(max(r.q_agg.max(), r.prior.max()))
    extent = (-half_width, half_width, -half_width, half_width)
    for k, (dens, title) in enumerate(((r.q_agg, f"aggregate posterior q_agg(z), {mu.shape[0]} images"),
                                       (r.prior, "prior p(z) = N(0, I)"))):
        ax = fig.add_subplot(1, 2, k + 1)
        im = ax.imshow(dens.T, origin="lower", extent=extent, cmap="magma", vmin=0, vmax=top)
        ax.contour(r.axis, r.axis, r.holes.T.astype(float), levels=[0.5], colors="red", linewidths=1.0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("z₁")
        ax.set_ylabel("z₂")
    fig.colorbar(im, ax=fig.axes, shrink=0.8, label="density")
    fig.suptitle(f"KL(q_agg ‖ p) = {r.kl:.2f} nats; the red line bounds the holes (p > {HOLE_RATIO:g}·q_agg), which hold "
                 f"{r.hole_mass:.1%} of the prior's mass", fontsize=10)
    return _save(fig, path)


def _ellipse(ax: Any, mu: np.ndarray, logvar: np.ndarray, scale: float) -> None:
    t = np.linspace(0, 2 * np.pi, 100)
    std = np.exp(0.5 * logvar)
    ax.plot(mu[0] + scale * std[0] * np.cos(t), mu[1] + scale * std[1] * np.sin(t), color="cyan",
            lw=1.2 if scale == 1 else 0.8, ls="-" if scale == 1 else "--")


def _zoom(ax: Any, axis: np.ndarray, logp: np.ndarray, mu: np.ndarray, std: np.ndarray) -> None:
    """Limit the panel to a square around where p(z|x) exceeds 1/1000 of its peak and q's 2σ box."""
    ii, jj = np.nonzero(logp > logp.max() - np.log(1000))
    lo = np.minimum([axis[ii].min(), axis[jj].min()], mu - 2.5 * std)
    hi = np.maximum([axis[ii].max(), axis[jj].max()], mu + 2.5 * std)
    centre, half = (lo + hi) / 2, max(float(np.max(hi - lo)) / 2 * 1.15, 0.3)
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)


def true_posteriors(model: Any, x: Any, path: str | Path, y: Any = None, *, points: int = 301) -> Path:
    """One panel per image of x (a few, N ≤ 8): p(z|x) on a grid as a heat map, q(z|x)'s 1σ (solid) and 2σ
    (dashed) ellipses over it, and the image itself in the corner. The grid covers every q(z|x)
    (``exact.covering_half_width``); each panel shows the box around its posterior's mass and q's 2σ."""
    _need_2d(model)
    labels = model.labels_for(y)
    if not 1 <= x.shape[0] <= 8:
        raise ValueError(f"true_posteriors draws 1 to 8 images, got {x.shape[0]}")
    mu, logvar = encode_all(model, x, labels)
    half_width = covering_half_width(mu, logvar)
    axis, logp = log_posterior_grid(model, x, labels, half_width=half_width, points=points)
    n = logp.shape[0]
    fig = _figure(3.0 * n, 3.3)
    host = np.asarray(backend.to_numpy(x), np.float64)
    side = int(round(np.sqrt(host.shape[1])))
    for i in range(n):
        ax = fig.add_subplot(1, n, i + 1)
        ax.imshow(np.exp(logp[i]).T, origin="lower", extent=(-half_width, half_width, -half_width, half_width),
                  cmap="viridis")
        _ellipse(ax, mu[i], logvar[i], 1.0)
        _ellipse(ax, mu[i], logvar[i], 2.0)
        _zoom(ax, axis, logp[i], mu[i], np.exp(0.5 * logvar[i]))
        inset = ax.inset_axes((0.02, 0.74, 0.24, 0.24))
        inset.imshow(host[i].reshape(side, side), cmap="gray", vmin=0, vmax=1)
        inset.set_axis_off()
        ax.set_xlabel("z₁")
        ax.set_title(f"image {i}", fontsize=9)
    fig.suptitle("true posterior p(z|x) (heat map) and the encoder's q(z|x) (1σ, 2σ ellipses)", fontsize=10)
    return _save(fig, path)
