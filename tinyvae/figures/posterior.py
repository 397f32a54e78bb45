"""Two pictures of a 2-D latent space, drawn from numbers computed elsewhere:

    draw_aggregate(r, path, ...)              q_agg(z) (every test posterior together) beside N(0, I), the
                                              holes outlined; KL(q_agg ‖ p) and the prior's mass in the holes
    draw_true_posteriors(images, codes, grid, path)
                                              for a few images: the true posterior p(z|x) as a heat map, the
                                              encoder's q(z|x) as its 1σ and 2σ ellipses on top

``training/latent_figures.py`` computes them from a model (``training/aggregate.py``, ``training/exact.py``)
and calls these; this module only draws, so it reads nothing above the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .draw import figure as _figure
from .draw import save as _save


def draw_aggregate(r: Any, path: str | Path, *, images: int, half_width: float, hole_ratio: float) -> Path:
    """Two panels on the same colour scale: ``r.q_agg`` (the aggregate posterior of ``images`` images) and
    ``r.prior`` on the grid ``r.axis`` over [-half_width, half_width]²; the holes (``r.holes``: where the
    prior's density is more than ``hole_ratio`` times q_agg's) outlined in red on both."""
    fig = _figure(10, 4.8)
    top = float(max(r.q_agg.max(), r.prior.max()))
    extent = (-half_width, half_width, -half_width, half_width)
    for k, (dens, title) in enumerate(((r.q_agg, f"aggregate posterior q_agg(z), {images} images"),
                                       (r.prior, "prior p(z) = N(0, I)"))):
        ax = fig.add_subplot(1, 2, k + 1)
        im = ax.imshow(dens.T, origin="lower", extent=extent, cmap="magma", vmin=0, vmax=top)
        ax.contour(r.axis, r.axis, r.holes.T.astype(float), levels=[0.5], colors="red", linewidths=1.0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("z₁")
        ax.set_ylabel("z₂")
    fig.colorbar(im, ax=fig.axes, shrink=0.8, label="density")
    fig.suptitle(f"KL(q_agg ‖ p) = {r.kl:.2f} nats; the red line bounds the holes (p > {hole_ratio:g}·q_agg), which hold "
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


def draw_true_posteriors(images: np.ndarray, codes: tuple[np.ndarray, np.ndarray],
                         grid: tuple[np.ndarray, np.ndarray, float], path: str | Path) -> Path:
    """One panel per image (``images`` (N, D) on the host, N ≤ 8): p(z|x) on the grid as a heat map, q(z|x)'s
    1σ (solid) and 2σ (dashed) ellipses over it, and the image itself in the corner. ``codes`` = (mu,
    logvar), each (N, 2); ``grid`` = (axis (n,), log p(z|x) (N, n, n), half width); each panel shows the box
    around its posterior's mass and q's 2σ."""
    mu, logvar = codes
    axis, logp, half_width = grid
    host = np.asarray(images, np.float64)
    n = logp.shape[0]
    fig = _figure(3.0 * n, 3.3)
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
