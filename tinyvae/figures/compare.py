"""The figures of ``tinyvae compare``, drawn from arrays: nothing here trains, encodes or decodes.

``training/compare.py`` trains the models and computes what each figure shows (latent points, decoded
images); each function below draws one figure from those arrays and returns it (a matplotlib
``Figure``, outside pyplot), and :func:`save` writes it::

    latent_pairs(points, digits, titles)          the test digits in each latent space, side by side
    image_pairs(images, titles, rows, cols)       image grids side by side (samples from each decoder)
    interpolations(rows, names, ts, suptitle)     one decoded line per model, between two inputs
    beta_losses(betas, recon, kl, epochs)         test reconstruction and KL against β, as bars
    beta_latents(points, digits, betas)           the latent scatter for each β
    beta_manifolds(images, grid, betas, z_dim)    decode(z) on a grid of z for each β
    label_rows(images, n_classes, cols)           one row per label, one z per column

Images are flat rows of 784 pixels in [0, 1], drawn dark on light (``gray_r``) on the fixed range [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .draw import figure, image_grid, pca_2d, show_images
from .draw import save as _save

SIDE = 28  # images are 28 × 28
R_86 = 2.0  # P(‖z‖ < 2) = 1 - e^(-2) ≈ 0.865 for z ~ N(0, I) in two dimensions
CIRCLE = "dashed circle: where 86% of $z \\sim N(0, I)$ fall"


def save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at 110 dpi (atomically, folders created); returns the path."""
    return _save(fig, path, dpi=110)


def panels(rows: int, cols: int, size: tuple[float, float]) -> tuple[Any, list[Any]]:
    """A figure of rows × cols panels (``draw.figure``), the axes as a flat list."""
    fig = figure(*size)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, list(axes.ravel())


def images(ax: Any, x: np.ndarray, rows: int, cols: int) -> None:
    """Images x (rows·cols, 784) as one grid on ``ax``, no gaps."""
    show_images(ax, image_grid(x, rows, cols, pad=0, pad_value=0.0), cmap="gray_r")


def scatter(ax: Any, points: np.ndarray, digits: np.ndarray, title: str, colorbar: bool = True) -> Any:
    """Latent points (n, Z) coloured by digit; with Z = 2 the plane itself and the N(0, I) circle of
    radius R_86, otherwise the first two principal components (signs fixed). Returns the dots."""
    from matplotlib.patches import Circle

    if points.shape[1] == 2:
        xy, labels = points, ("$z_1$", "$z_2$")
    else:
        xy, labels = pca_2d(points)[0], ("PC 1", "PC 2")
    dots = ax.scatter(xy[:, 0], xy[:, 1], c=digits, cmap="tab10", vmin=-0.5, vmax=9.5, s=6, alpha=0.8)
    if points.shape[1] == 2:
        ax.add_patch(Circle((0, 0), R_86, fill=False, ls="--", lw=1.5, color="black"))
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(dots, ax=ax, ticks=range(10), shrink=0.85, label="digit")
    return dots


def manifold(ax: Any, x: np.ndarray, grid: np.ndarray, rows: int) -> None:
    """Decoded images x (rows·n, 784) of the grid of (z_1, z_2) values (z_1 across, z_2 up, the top row
    the largest z_2; ``rows`` = 1: z_1 alone), each centred on its grid point, with z's coordinates as ticks."""
    n = len(grid)
    half = (grid[-1] - grid[0]) / (n - 1) / 2
    lo, hi = grid[0] - half, grid[-1] + half
    ax.imshow(image_grid(x, rows, n, pad=0, pad_value=0.0), cmap="gray_r", vmin=0.0, vmax=1.0,
              extent=(lo, hi, lo, hi) if rows > 1 else (lo, hi, -half, half))
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$" if rows > 1 else "")
    if rows == 1:
        ax.set_yticks([])


# ---- the figures ------------------------------------------------------------------------------------
def latent_pairs(points: Sequence[np.ndarray], digits: np.ndarray, titles: Sequence[str]) -> Any:
    """The test digits in each model's latent space, one panel each (``points``: (n, Z) per model)."""
    fig, axes = panels(1, len(points), (5.5 * len(points), 5))
    for ax, p, title in zip(axes, points, titles):
        scatter(ax, p, digits, title)
    fig.suptitle(f"Test digits in the latent space ({CIRCLE})")
    return fig


def image_pairs(x: Sequence[np.ndarray], titles: Sequence[str], rows: int, cols: int, suptitle: str) -> Any:
    """One rows × cols image grid per model, side by side (``x``: (rows·cols, 784) per model)."""
    fig, axes = panels(1, len(x), (5.5 * len(x), 5.8))
    for ax, xi, title in zip(axes, x, titles):
        images(ax, xi, rows, cols)
        ax.set_title(title)
    fig.suptitle(suptitle)
    return fig


def interpolations(rows: Sequence[np.ndarray], names: Sequence[str], ts: np.ndarray, suptitle: str) -> Any:
    """One row per model: the input, the images decoded along the line at ``ts``, the other input
    (``rows``: (len(ts) + 2, 784) per model)."""
    fig, axes = panels(len(rows), 1, (11, 1.6 * len(rows)))
    for ax, row, name in zip(axes, rows, names):
        images(ax, row, 1, len(row))
        ax.set_ylabel(name, rotation=0, labelpad=18, fontsize=12, va="center")
        ax.set_xticks(np.arange(len(row)) * SIDE + (SIDE - 1) / 2)  # pixel centres
        ax.set_xticklabels(["input"] + [f"t={t:.2f}" for t in ts] + ["input"], fontsize=8)
    fig.suptitle(suptitle, fontsize=11)
    return fig


def beta_losses(betas: Sequence[float], recon: Sequence[float], kl: Sequence[float], epochs: int) -> Any:
    """Final test reconstruction and KL against β, as two bar charts."""
    labels = [f"β={b:g}" for b in betas]
    fig, axes = panels(1, 2, (10, 4))
    for ax, values, what, color in ((axes[0], recon, "reconstruction (BCE, nats per image)", "tab:blue"),
                                    (axes[1], kl, "KL(q(z|x) ‖ N(0, I)) (nats per image)", "tab:orange")):
        bars = ax.bar(labels, values, color=color)
        ax.bar_label(bars, fmt="%.1f")
        ax.set_title(what)
        ax.set_xlabel("weight of the KL term")
        ax.margins(y=0.15)
    fig.suptitle(f"β-VAE after {epochs} epochs: the two terms of loss = reconstruction + β·KL on the "
                 f"test digits\n(β=0 trains on reconstruction alone)")
    return fig


def beta_latents(points: Sequence[np.ndarray], digits: np.ndarray, betas: Sequence[float]) -> Any:
    """The test digits' latent means for each β, one panel each, one colour bar for all."""
    fig, axes = panels(1, len(betas), (4.2 * len(betas) + 0.8, 4.4))
    for ax, b, p in zip(axes, betas, points):
        dots = scatter(ax, p, digits, rf"β={b:g}: means $\mu$", colorbar=False)
    fig.colorbar(dots, ax=axes, ticks=range(10), shrink=0.85, label="digit")
    fig.suptitle(f"Test digits in the latent space for each β ({CIRCLE})")
    return fig


def beta_manifolds(x: Sequence[np.ndarray], grid: np.ndarray, betas: Sequence[float], z_dim: int) -> Any:
    """decode(z) over the grid for each β (``x``: the decoded images per β, as :func:`manifold` takes them)."""
    n, rows = len(grid), len(grid) if z_dim >= 2 else 1
    fig, axes = panels(1, len(betas), (4.2 * len(betas), 4.6))
    for ax, b, xi in zip(axes, betas, x):
        manifold(ax, xi, grid, rows)
        ax.set_title(f"β={b:g}")
    lo, hi = grid[0], grid[-1]
    if z_dim == 1:
        fig.suptitle(f"decode(z) for {n} values of the one latent coordinate z over [{lo:g}, {hi:g}]")
    else:
        fig.suptitle(f"decode(z) for z on a grid over [{lo:g}, {hi:g}]², the square around the dashed circle "
                     f"of the latent plots" + ("" if z_dim == 2 else "; the other coordinates of z are 0"))
    return fig


def label_rows(x: np.ndarray, n_classes: int, cols: int) -> Any:
    """Images x (n_classes·cols, 784), row d decoded with label d, each column from one z."""
    fig, axes = panels(1, 1, (7.6, 6.9))
    ax = axes[0]
    images(ax, x, n_classes, cols)
    ax.set_yticks(np.arange(n_classes) * SIDE + (SIDE - 1) / 2)
    ax.set_yticklabels([str(d) for d in range(n_classes)])
    ax.set_ylabel("label given to the decoder")
    ax.set_xlabel("column: one $z \\sim N(0, I)$, the same for the whole column")
    ax.set_title("Conditional VAE: decode($z$, digit)")
    return fig
