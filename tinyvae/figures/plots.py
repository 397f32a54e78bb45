"""The pictures of a trained model: loss curves, reconstructions, samples, the latent space, interpolations.

Each function takes a model (any tinyvae model: VAE, AE, CVAE, ConvVAE, on any backend) or the training
metrics, draws one figure, writes it as a PNG to ``path`` and returns the path::

    loss_curves(metrics, path)                  total, reconstruction and KL per epoch, train and test;
                                                the KL of each latent dimension
    reconstructions(model, x, path)             originals above their reconstructions
    samples(model, path, rng)                   images decoded from z ~ N(0, I) (a CVAE: one row per digit)
    latent_scatter(model, x, y, path)           the latent points coloured by digit (PCA if z_dim > 2)
    manifold(model, path)                       a 2-D latent space scanned on a grid of decoded z
    interpolation(model, x_a, x_b, path)        decoded points on the straight line between two codes
    save_all(model, data, metrics, out_dir, rng)  all of the above that apply, under fixed file names

Images are flat rows of D = side² pixels in [0, 1] (784 for MNIST); :func:`image_grid` puts them back
into side × side squares, row-major (the first 28 values are the top row), and tiles them. Every image
is drawn with the grey colormap on the fixed range [0, 1] (0 black, 1 white), so a faint decoder output
looks faint. matplotlib is imported inside the functions (``import tinyvae`` does not load it) and only
through its object-oriented ``Figure``, which renders with Agg and leaves pyplot's state alone.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..engine import backend
from ..models import memory
from ..models.base import LabelsRequired
from ..models.loss_names import loss_labels
from . import captions
from .draw import GRID_LINE, image_grid, image_side, pca_2d, show_images, to_host
from .draw import figure as _figure
from .draw import save as _save
from .prior import PRIOR_RADII, normal_quantiles, prior_circles, prior_share  # noqa: F401 (plots.* as before)

__all__ = ["image_grid", "image_side", "pca_2d", "loss_curves", "reconstructions", "samples", "latent_scatter",
           "normal_quantiles", "manifold", "interpolation", "first_of_each", "save_all", "FigureFailed", "FILES", "GRID_LINE"]

CMAP_DIGITS = "tab10"  # ten distinct colours, one per digit
GAP = 6  # pixels of white between an interpolation's inputs and its decoded line


def _tile_centres(count: int, side: int, pad: int = 1) -> list[float]:
    return [k * (side + pad) + (side - 1) / 2 for k in range(count)]


# ---- the figures ---------------------------------------------------------------------------------------
def loss_curves(metrics: Any, path: str | Path, model_config: dict | None = None) -> Path:
    """Four panels against the epoch: total, reconstruction and KL per image (train and test), and the KL
    of each latent dimension on the test images (``kl_per_dim``) beside their sum and the collapse line.

    ``model_config`` (``model.config()``) names the terms honestly (``loss_labels``): "negative ELBO"
    and "nats" only for a VAE/CVAE with β = 1 and the bce loss; without it, the titles stay generic.
    The KL axes start at 0 and reach at least 1 nat, so a KL of nearly 0 lies flat on the floor rather
    than being stretched into noise; epochs are whole numbers on every axis (a one-epoch run too).

    ``metrics``: the list that ``tinyvae.training.train.fit`` returns (or ``metrics.json``'s dict with its
    ``"epochs"`` list): dicts with ``epoch``, ``train_loss``, ``test_loss``, ``test_recon``, ``test_kl``
    and, when recorded, ``train_recon``, ``train_kl`` and ``kl_per_dim``. With KL warm-up or free bits the
    train total is the objective minimised (β of the epoch, the floor); the test total is recon + β·KL.
    """
    rows = metrics["epochs"] if isinstance(metrics, dict) else list(metrics)
    if not rows:
        raise ValueError("loss_curves needs at least one epoch of metrics")
    fig = _figure(10, 7.4)
    axes = fig.subplots(2, 2).ravel()

    names = loss_labels(model_config) if model_config else {
        "total": "total loss", "recon": "reconstruction loss", "kl": "KL divergence", "unit": "per image",
        "recon_unit": "per image"}
    panels = [("train_loss", "test_loss", names["total"], names["unit"], False),
              ("train_recon", "test_recon", names["recon"], names["recon_unit"], False),
              ("train_kl", "test_kl", names["kl"] or "KL divergence (none: an AE)", "nats per image", True)]
    for ax, (train_key, test_key, title, unit, from_zero) in zip(axes, panels):
        for key, label, style in ((train_key, "train", "-o"), (test_key, "test", "-s")):
            if all(key in r for r in rows):
                ax.plot([r["epoch"] for r in rows], [float(r[key]) for r in rows], style, label=label, markersize=3)
        _panel(ax, rows, title, unit, from_zero)
    _kl_per_dim_panel(axes[3], rows)
    fig.suptitle("Loss per image: total = reconstruction + β·KL", fontsize=11)
    return _save(fig, path)


def _panel(ax: Any, rows: list[dict], title: str, unit: str, from_zero: bool) -> None:
    """A curve panel's title (wrapped to the panel's width), labels, legend, whole-number epoch ticks
    over the run's epochs, and for a KL axis the range from 0 to at least 1 nat."""
    from matplotlib.ticker import MaxNLocator

    ax.set_title(textwrap.fill(title, 58), fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_ylabel(unit, fontsize=9)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    epochs = [r["epoch"] for r in rows]
    ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if from_zero:
        top = max([y for line in ax.get_lines() for y in line.get_ydata()], default=0.0)
        ax.set_ylim(0.0, max(1.0, 1.08 * float(top)))


def _kl_per_dim_panel(ax: Any, rows: list[dict]) -> None:
    """Each latent dimension's test KL per epoch, their sum, and log 2: a sum below it is collapse."""
    epochs = [r["epoch"] for r in rows]
    title = "KL of each latent dimension (test images, nats)"
    if all("kl_per_dim" in r for r in rows):
        per_dim = np.array([r["kl_per_dim"] for r in rows], dtype=float)  # (epochs, z_dim)
        for j in range(per_dim.shape[1]):
            label = f"z{j + 1}" if per_dim.shape[1] <= 8 else None  # a legend of 8 at most
            ax.plot(epochs, per_dim[:, j], "-o", lw=1, markersize=2, label=label)
        ax.plot(epochs, per_dim.sum(axis=1), "k-", lw=1.8, label="sum over dimensions")
        ax.axhline(math.log(2), color="tab:red", ls=":", lw=1.2, label="log 2: a sum below it is collapse")
    else:
        why = "none: an AE has no posterior q(z|x)" if "active_units" in rows[-1] else "not recorded by this run"
        ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=9)
    _panel(ax, rows, title, "nats per image", True)


def reconstructions(model: Any, x: Any, path: str | Path, n: int = 10, *, y: Any = None,
                    caption: str | None = None) -> Path:
    """The first ``n`` images of x (N, D) on top, their reconstructions (model.reconstruct) below.

    A VAE reconstructs through the latent means (no sampling). Conditional models need the labels ``y``.
    ``caption``: a line under the images (``save_all`` gives :func:`captions.kept`'s).
    """
    x = np.asarray(backend.to_numpy(x))[:n]
    labels = None if y is None else np.asarray(backend.to_numpy(y))[:n].astype(int)
    try:
        x_hat = backend.to_numpy(model.reconstruct(model.asarray(x), model.labels_for(labels)))
    except LabelsRequired as e:
        raise ValueError(f"reconstructions of this model needs the labels y of the images ({e})") from None
    n = x.shape[0]
    side = image_side(x.shape[1])
    width = max(4.0, 0.75 * n)
    lines = captions.wrapped(caption, width)
    fig = _figure(width, 1.9 + 0.15 * len(lines))
    ax = fig.subplots()
    show_images(ax, image_grid(np.concatenate([x, x_hat]), 2, n))
    ax.set_yticks(_tile_centres(2, side), ["original", "reconstruction"])
    ax.set_title(f"{model.name}: test images (top) and their reconstructions (bottom)")
    if lines:
        ax.set_xlabel("\n".join(lines), fontsize=7.5)
    return _save(fig, path)


def samples(model: Any, path: str | Path, rng: np.random.Generator, n: int = 64) -> Path:
    """Images decoded from z ~ N(0, I): ``model.sample(n, rng)`` on a square-ish grid.

    A conditional model draws one row per label instead, ``model.sample(k, rng, label=d)`` with
    k = ceil(n / n_classes) images in each row.
    """
    classes = model.n_classes  # the protocol's count of labels: 0 for an unconditional model
    if classes:
        k = max(1, -(-n // classes))
        imgs = np.concatenate([backend.to_numpy(model.sample(k, rng, label=d)) for d in range(classes)])
        nrows, ncols, title = classes, k, f"{model.name}: z ~ N(0, I) decoded with each digit's label (one row a digit)"
    else:
        imgs = backend.to_numpy(model.sample(n, rng))
        ncols = math.ceil(math.sqrt(n))
        nrows = math.ceil(n / ncols)
        title = f"{model.name}: {n} images decoded from z ~ N(0, I)"
    side = image_side(imgs.shape[1])
    fig = _figure(max(4.0, 0.55 * ncols + 1.0), 0.55 * nrows + 0.6)
    ax = fig.subplots()
    show_images(ax, image_grid(imgs, nrows, ncols))
    if classes:
        ax.set_yticks(_tile_centres(nrows, side), [str(d) for d in range(nrows)])
        ax.set_ylabel("digit")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def latent_scatter(model: Any, x: Any, y: Any, path: str | Path) -> Path:
    """The latent point of every image of x (N, D) (``model.embed``), coloured by its digit y (N,).

    A 2-D latent space is drawn as it is (axes z1, z2); a higher-dimensional one is projected onto
    its first two principal axes (:func:`pca_2d`, the title says so and gives their share of the
    variance). For a VAE the points are the latent means mu, for an AE the codes z.
    """
    y = np.asarray(backend.to_numpy(y)).astype(int)
    x = np.asarray(backend.to_numpy(x))
    if y.shape != (x.shape[0],):
        raise ValueError(f"latent_scatter expects one label per image: x {x.shape}, y {y.shape}")
    labels = model.labels_for(y)
    parts = memory.chunks(model, len(x), max(len(x), 1))  # chunks that fit memory (no images: the model refuses)
    z = np.concatenate([to_host(model.embed(model.asarray(x[r]), None if labels is None else labels[r])) for r in parts])
    what = "latent means μ" if model.has_posterior else "codes z"
    if z.shape[1] == 2:
        pts, xlabel, ylabel = z, "z1", "z2"
        title = f"{model.name}: {what} of {len(z):,} images"
    else:
        pts, ratio = pca_2d(z)
        xlabel, ylabel = f"PC1 ({ratio[0]:.0%} of variance)", f"PC2 ({ratio[1]:.0%} of variance)"
        title = f"{model.name}: {what} of {len(z):,} images, {z.shape[1]}-D projected to 2-D by PCA"
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap

    classes = max(10, int(y.max()) + 1)
    base = matplotlib.colormaps[CMAP_DIGITS]
    cmap = ListedColormap([base(i % base.N) for i in range(classes)])
    norm = BoundaryNorm(np.arange(classes + 1) - 0.5, classes)
    fig = _figure(6.6, 5.4)
    ax = fig.subplots()
    sc = ax.scatter(pts[:, 0], pts[:, 1], c=y, cmap=cmap, norm=norm, s=7, alpha=0.8, linewidths=0)
    cbar = fig.colorbar(sc, ax=ax, ticks=np.arange(classes))
    cbar.set_label("digit")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if z.shape[1] == 2:
        ax.set_aspect("equal", adjustable="datalim")
    if z.shape[1] == 2 and model.has_posterior:  # an AE has no prior to draw
        title += "\n" + prior_circles(ax)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def manifold(model: Any, path: str | Path, n: int = 20, *, digit: int | None = None,
             judge: Callable[[np.ndarray], np.ndarray] | None = None) -> Path:
    """The 2-D latent space scanned: decode(z) for z on an n × n grid of standard-normal quantiles.

    Columns run along z1 (left to right, increasing), rows along z2 (bottom to top, increasing), as on
    a plot's axes. The grid spans the quantiles 5% to 95% of N(0, 1), where the prior puts its mass.
    Only for models with z_dim == 2 (ValueError otherwise); a conditional model also needs ``digit``.
    ``judge``: images (n², D) -> their digits (n²,); the figure then says which digits the grid shows.
    """
    z_dim = int(model.z_dim)
    if z_dim != 2:
        raise ValueError(f"manifold needs a 2-D latent space, this {model.name} has z_dim={z_dim}; "
                         f"train one with z_dim=2 (latent_scatter projects any z_dim)")
    q = normal_quantiles(n)
    z1, z2 = np.meshgrid(q, q[::-1])  # row 0 is the largest z2: up is up
    z = np.stack([z1.ravel(), z2.ravel()], axis=1)  # (n², 2), row-major over the grid
    labels = None if digit is None else np.full(len(z), int(digit))
    try:
        imgs = backend.to_numpy(model.decode(model.asarray(z), labels))
    except LabelsRequired:
        raise ValueError("manifold of a conditional model needs the digit to decode with: manifold(..., digit=7)") from None
    side = image_side(imgs.shape[1])
    fig = _figure(8.4, 8.4)
    ax = fig.subplots()
    show_images(ax, image_grid(imgs, n, n))
    ticks = list(range(0, n, max(1, n // 5))) + ([n - 1] if (n - 1) % max(1, n // 5) else [])
    centres = _tile_centres(n, side)
    ax.set_xticks([centres[i] for i in ticks], [f"{q[i]:.2f}" for i in ticks])
    ax.set_yticks([centres[i] for i in ticks], [f"{q[::-1][i]:.2f}" for i in ticks])
    ax.set_xlabel("z1" if judge is None else f"z1\n{captions.on_grid(judge(imgs))}")
    ax.set_ylabel("z2")
    which = "" if digit is None else f" with label {digit}"
    ax.set_title(f"{model.name}: decoded z over the 2-D latent space{which} (5%–95% quantiles of N(0, 1))",
                 fontsize=10)
    return _save(fig, path)


def interpolation(model: Any, x_a: Any, x_b: Any, path: str | Path, steps: int = 10, *,
                  judge: Callable[[np.ndarray], np.ndarray] | None = None, digits: Any = None) -> Path:
    """Walk the straight line between two encoded images and decode along it.

    x_a, x_b: one image each (D,) or several (k, D), one row per pair. Each row shows the input x_a,
    then decode((1 - α) z_a + α z_b) for α = 0, 1/(steps-1), ..., 1, then the input x_b, where
    z = model.embed(x) (the latent means for a VAE). Pairs chained as 2→4, 4→5, 5→6 walk the
    intro lecture's 2→4→5→6. Not for conditional models (their decoder also needs a label).
    ``judge``: images (n, D) -> digits (n,), with ``digits`` (2k,): the labels of the x_a then the x_b; the
    figure then says which end comes back as another digit.
    """
    if steps < 2:
        raise ValueError(f"interpolation needs steps >= 2 (both ends), got {steps}")
    a = np.atleast_2d(np.asarray(backend.to_numpy(x_a)))
    b = np.atleast_2d(np.asarray(backend.to_numpy(x_b)))
    if a.shape != b.shape:
        raise ValueError(f"interpolation expects x_a and x_b of the same shape, got {a.shape} and {b.shape}")
    try:
        z_a, z_b = to_host(model.embed(model.asarray(a))), to_host(model.embed(model.asarray(b)))
    except LabelsRequired:
        raise ValueError("interpolation between encoded digits needs an unconditional model "
                         "(a CVAE's decoder also takes the label)") from None
    alphas = np.linspace(0.0, 1.0, steps)
    k, d = a.shape
    z = (1 - alphas[None, :, None]) * z_a[:, None, :] + alphas[None, :, None] * z_b[:, None, :]  # (k, steps, Z)
    decoded = backend.to_numpy(model.decode(model.asarray(z.reshape(k * steps, -1)))).reshape(k, steps, d)
    side = image_side(d)
    gap = np.ones((k * (side + 1) - 1, GAP))  # white: sets the inputs apart from the decoded line
    grid = np.hstack([image_grid(a, k, 1), gap, image_grid(decoded.reshape(k * steps, d), k, steps), gap,
                      image_grid(b, k, 1)])
    fig = _figure(0.62 * (steps + 2) + 1.0, 0.62 * k + 0.9 + (0.2 if judge is not None else 0.0))
    ax = fig.subplots()
    show_images(ax, grid)
    start = side + GAP  # the first decoded column, after x_a and the gap
    start_b = start + steps * (side + 1) - 1 + GAP  # x_b's first column
    centres = [(side - 1) / 2] + [start + c for c in _tile_centres(steps, side)] + [start_b + (side - 1) / 2]
    labels = ["x_a"] + [f"{al:.2g}" for al in alphas] + ["x_b"]
    ax.set_xticks(centres, labels, fontsize=8)
    ends = "" if judge is None or digits is None else "\n" + captions.ends_of(judge, digits, a, b, decoded)
    ax.set_xlabel("α  (decoded at (1 − α)·z_a + α·z_b)" + ends)
    ax.set_title(f"{model.name}: a straight line in latent space, decoded", fontsize=10)
    return _save(fig, path)


# ---- everything at once --------------------------------------------------------------------------------
FILES = ("loss_curves.png", "reconstructions.png", "samples.png", "latent_scatter.png", "manifold.png",
         "interpolation.png")

INTERPOLATION_CHAIN = (2, 4, 5, 6)  # the intro lecture's walk


def first_of_each(y: Any, digits: Sequence[int]) -> np.ndarray:
    """Indices of the first image of each digit in ``digits`` (skipping digits that do not occur)."""
    y = np.asarray(backend.to_numpy(y)).astype(int)
    return np.array([int(np.flatnonzero(y == d)[0]) for d in digits if np.any(y == d)], dtype=int)


class FigureFailed(RuntimeError):
    """A figure of :func:`save_all` could not be drawn: ``figure`` is its file name, ``written`` the
    figures drawn before it (the ones after it were skipped); the error itself is ``__cause__``."""

    def __init__(self, figure: str, written: list[Path]) -> None:
        super().__init__(f"{figure} could not be drawn")
        self.figure, self.written = figure, written


def save_all(model: Any, data: Any, metrics: Any, out_dir: str | Path, rng: np.random.Generator) -> list[Path]:
    """Write every figure that applies to ``model`` into ``out_dir``; returns their paths.

    data: a ``tinyvae.training.data.Dataset`` (its test set is drawn); metrics: fit's list (or None to skip the
    loss curves). ``manifold.png`` only for z_dim == 2 and unconditional models; ``interpolation.png``
    only for unconditional ones (2→4→5→6 through the first test image of each). Raises
    :class:`FigureFailed` naming the figure that failed and the ones written before it.
    """
    out = Path(out_dir)
    x, y = np.asarray(data.x_test), np.asarray(data.y_test)
    shown = first_of_each(y, range(10))
    shown = shown if len(shown) >= 2 else np.arange(min(10, len(x)))
    chain = first_of_each(y, INTERPOLATION_CHAIN)
    chain = chain if len(chain) >= 2 else np.arange(min(2, len(x)))
    figures: list[tuple[str, Any]] = []  # (file name, how to draw it there)
    if metrics:
        figures.append(("loss_curves.png", lambda p: loss_curves(metrics, p, model.config())))
    judge = captions.judge_of(data)
    caption = None if judge is None or len(x) == 0 else captions.kept(model, data, judge)
    figures += [("reconstructions.png", lambda p: reconstructions(model, x[shown], p, n=len(shown), y=y[shown],
                                                                  caption=caption)),
                ("samples.png", lambda p: samples(model, p, rng)),
                ("latent_scatter.png", lambda p: latent_scatter(model, x, y, p))]
    if not model.conditional:  # these two decode without a label
        if int(model.z_dim) == 2:
            figures.append(("manifold.png", lambda p: manifold(model, p, judge=judge)))
        figures.append(("interpolation.png", lambda p: interpolation(model, x[chain[:-1]], x[chain[1:]], p,
                                                                     judge=judge, digits=y[np.r_[chain[:-1], chain[1:]]])))
    written: list[Path] = []
    for name, draw in figures:
        try:
            written.append(draw(out / name))
        except Exception as e:
            raise FigureFailed(name, written) from e
    return written
