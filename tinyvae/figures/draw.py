"""Drawing primitives shared by every figure (``plots.py``, ``training/compare.py``, ``tinyvae sample``).

- :func:`image_grid` tiles flat images (n, side²) into one array, row-major, digits upright;
- :func:`pca_2d` projects latent points onto their first two principal axes, signs fixed;
- :func:`figure`, :func:`show_images`, :func:`save`: a matplotlib ``Figure`` (object API, Agg, no pyplot
  state), an image grid drawn on an axis on the fixed range [0, 1], a PNG written;
- :func:`save_image_grid`: images straight into a PNG, one pixel per pixel, no axes;
- :func:`to_host`: any array brought home as float64 NumPy (to send host data to a model: ``model.asarray``).

matplotlib is imported inside the functions, so ``import tinyvae`` does not load it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.files import atomic_write

GRID_LINE = 0.5  # grey between the tiles of a grid


def to_host(a: Any) -> np.ndarray:
    """Any array (any namespace, any device) as a float64 NumPy array."""
    return np.asarray(backend.to_numpy(a), dtype=np.float64)


def image_side(d: int) -> int:
    """The side of a square image with ``d`` pixels (28 for 784); ValueError if ``d`` is not a square."""
    side = math.isqrt(int(d))
    if side * side != d:
        raise ValueError(f"images of {d} pixels are not square; plots expect flat side×side images (784 = 28²)")
    return side


def image_grid(images: Any, nrows: int, ncols: int, *, pad: int = 1, pad_value: float = GRID_LINE) -> np.ndarray:
    """Tile flat images (n, side²) into one array of nrows × ncols squares, row by row.

    Image k lands in grid row k // ncols, column k % ncols; each is reshaped row-major to (side, side),
    so its first ``side`` values are its top row (the digit stands upright). Tiles are separated by
    ``pad`` pixels of ``pad_value``; missing tiles (n < nrows·ncols) stay ``pad_value``.
    Returns (nrows·(side + pad) - pad, ncols·(side + pad) - pad).
    """
    imgs = to_host(images)
    if imgs.ndim == 1:
        imgs = imgs[None, :]
    if imgs.ndim != 2:
        raise ValueError(f"image_grid expects flat images (n, pixels), got shape {imgs.shape}")
    n, d = imgs.shape
    if n > nrows * ncols:
        raise ValueError(f"{n} images do not fit a {nrows}×{ncols} grid")
    side = image_side(d)
    step = side + pad
    grid = np.full((nrows * step - pad, ncols * step - pad), pad_value, dtype=np.float64)
    for k in range(n):
        r, c = divmod(k, ncols)
        grid[r * step : r * step + side, c * step : c * step + side] = imgs[k].reshape(side, side)
    return grid


def square_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of the most nearly square grid that holds n tiles, columns first."""
    ncols = max(1, math.ceil(math.sqrt(n)))
    return math.ceil(n / ncols), ncols


def principal_axes(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (d,), axes (k, d), singular values (k,)) of points z (n, d) on the host, k = min(n, d).

    The centred points Z = z - mean have the SVD Z = U S Vᵀ; the rows of Vᵀ are the principal axes,
    in order of decreasing variance S²/(n - 1). Each axis's sign is fixed so that its largest
    component is positive (the SVD alone leaves it free).
    """
    center = z.mean(axis=0)
    _, s, vt = np.linalg.svd(z - center, full_matrices=False)
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    return center, vt * signs[:, None], s


def pca_2d(z: Any) -> tuple[np.ndarray, np.ndarray]:
    """Project points z (n, d) onto their first two principal axes: (points (n, 2), variance ratios (2,)).

    The axes are :func:`principal_axes`; the ratios are each axis's share of the total variance.
    A d = 1 input gets a zero second coordinate.
    """
    z = to_host(z)
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"pca_2d expects at least two points (n, d), got shape {z.shape}")
    center, vt, s = principal_axes(z)
    var = s**2
    ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    proj = (z - center) @ vt[:2].T
    if proj.shape[1] == 1:
        proj, ratio = np.hstack([proj, np.zeros_like(proj)]), np.append(ratio, 0.0)
    return proj, ratio[:2]


def figure(width: float, height: float) -> Any:
    """A matplotlib Figure (width × height inches, 100 dpi, constrained layout), outside pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def show_images(ax: Any, grid: np.ndarray, cmap: str = "gray", **kwargs: Any) -> None:
    """Draw an image grid on ``ax`` on the fixed range [0, 1] (a faint output looks faint), no ticks."""
    ax.imshow(grid, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])


def save(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    """Write ``fig`` to ``path`` (folders created), atomically; returns the path."""
    path = Path(path)
    kwargs.setdefault("format", path.suffix[1:].lower() or "png")
    atomic_write(path, lambda f: fig.savefig(f, **kwargs))  # a figure already there is replaced whole, or kept
    return path


GRID_BYTES_PER_PIXEL = 40  # save_image_grid's peak per grid pixel: 27-29 measured (tracemalloc), plus PNG buffers


def image_grid_bytes(n: int, d: int, pad: int = 2) -> int:
    """The memory :func:`save_image_grid` needs for n images of d pixels: their float64 copy and
    GRID_BYTES_PER_PIXEL per pixel of the padded grid (the grid, its padded copy, matplotlib's RGBA)."""
    rows, cols = square_shape(n)
    step = image_side(d) + pad
    return n * d * 8 + (rows * step + pad) * (cols * step + pad) * GRID_BYTES_PER_PIXEL


def save_image_grid(x: Any, path: str | Path, pad: int = 2) -> Path:
    """Images x (n, side²) as one PNG, the most nearly square grid, white digits on black, ``pad``
    black pixels around and between the tiles, one pixel per pixel; written atomically."""
    from matplotlib.image import imsave

    rows, cols = square_shape(len(x))
    grid = np.pad(image_grid(x, rows, cols, pad=pad, pad_value=0.0), pad)

    path = Path(path)
    atomic_write(path, lambda f: imsave(f, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png"))
    return path
