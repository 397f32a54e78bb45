"""The comparisons the lecture argues from, trained and drawn: AE vs VAE, a β sweep, the conditional VAE.

Three experiments (``tinyvae compare ae-vae|beta|cvae|all``), each a few trainings with
:func:`tinyvae.training.train.fit` on the same data, the same architecture and the same seed:

- ``ae-vae``: a plain autoencoder and a VAE. Figures: the test digits in each latent space (the AE's
  codes z, the VAE's means mu) with the circle that holds 86% of N(0, I); images decoded from
  z ~ N(0, I) by each decoder; a straight line between two encoded digits, decoded by each.
- ``beta``: VAEs with β = 0, 1, 4, 10 (β = 0 is reconstruction alone). Figures: test reconstruction
  and KL after training against β; the latent scatter and the decoded 2-D grid (manifold) for each β.
- ``cvae``: a conditional VAE. Figure: one row per digit 0-9; each column decodes one z ~ N(0, I)
  with every label, so a column shows one "style" written as ten digits.

Everything is drawn with matplotlib's object API (no pyplot state) into PNG files, and the numbers
behind the figures go to ``compare.json``. With a 2-D latent space (the default) the scatter and the
manifold show the latent space itself; with more dimensions the scatter shows the first two principal
components and the manifold varies the first two coordinates with the others at 0.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .checkpoint import atomic_write_json
from .data import Dataset
from ..models.base import Model
from ..figures.draw import figure, image_grid, pca_2d, save, show_images, to_host

EXPERIMENTS = ("ae-vae", "beta", "cvae")
BETAS = (0.0, 1.0, 4.0, 10.0)
SIDE = 28  # images are 28 × 28
R_86 = 2.0  # P(‖z‖ < 2) = 1 - e^(-2) ≈ 0.865 for z ~ N(0, I) in two dimensions


@dataclass(frozen=True)
class Settings:
    """What every model in a comparison shares. The defaults keep ``tinyvae compare all`` to about
    two minutes on two CPU cores (six models of 784-400-2-400-784)."""

    epochs: int = 20
    seed: int = 0
    hidden: tuple[int, ...] = (400,)
    latent: int = 2
    batch_size: int = 128
    lr: float = 1e-3
    betas: tuple[float, ...] = BETAS
    dtype: str = "float32"

    def __post_init__(self) -> None:
        """Refuse settings no model could be trained with before any training starts, by field name,
        with the models' own checks (a β of inf is refused here, not after the first models trained)."""
        from ..models.base import check_beta, check_dtype, check_int

        for name in ("epochs", "latent", "batch_size"):
            check_int(name, getattr(self, name))
        check_int("seed", self.seed, lo=0)
        for i, h in enumerate(self.hidden):
            check_int(f"hidden[{i}]", h)
        if not self.hidden:
            raise ValueError("hidden must hold at least one width")
        for b in self.betas:
            check_beta(b)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        check_dtype(self.dtype)

    def describe(self) -> str:
        sizes = "-".join(map(str, [784, *self.hidden, self.latent, *self.hidden[::-1], 784]))
        return f"{sizes}, {self.epochs} epochs, batch {self.batch_size}, lr {self.lr:g}, seed {self.seed}"


@dataclass
class Comparison:
    """Trains each model once and keeps it (the β = 1 VAE serves both ``ae-vae`` and ``beta``)."""

    data: Dataset
    out: Path
    settings: Settings = field(default_factory=Settings)
    log: Callable[[str], None] = print
    models: dict[str, Model] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    def model(self, kind: str, beta: float = 1.0) -> Model:
        """The trained model ``kind`` ("ae", "vae", "cvae"), built and trained on first use."""
        from ..models.registry import build_model
        from .train import fit

        key = kind if kind == "ae" else f"{kind} beta={beta:g}"
        if key in self.models:
            return self.models[key]
        s = self.settings
        cfg: dict[str, Any] = {"model": kind, "x_dim": self.data.x_train.shape[1], "hidden_dims": list(s.hidden),
                               "z_dim": s.latent, "loss": "bce"}
        if kind != "ae":
            cfg["beta"] = float(beta)
        model = build_model(cfg, rng=np.random.default_rng(s.seed), dtype=np.dtype(s.dtype))
        t0 = time.perf_counter()
        metrics = fit(model, self.data, epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, seed=s.seed,
                      progress=False)
        last = metrics[-1]
        seconds = time.perf_counter() - t0
        self.log(f"  trained {key:<14} test recon {last['test_recon']:7.2f}  kl {last['test_kl']:6.2f}  "
                 f"({seconds:.1f} s)")
        self.models[key] = model
        self.results.setdefault("models", {})[key] = {
            "config": model.config(), "test_recon": last["test_recon"], "test_kl": last["test_kl"],
            "test_loss": last["test_loss"], "seconds": seconds,
        }
        return model

    def save(self, fig: Any, name: str) -> Path:
        path = save(fig, self.out / name, dpi=110)
        self.results.setdefault("figures", []).append(name)
        return path


def run(which: str, data: Dataset, out: str | Path, settings: Settings | None = None,
        log: Callable[[str], None] = print) -> list[Path]:
    """Run the experiment ``which`` ("ae-vae", "beta", "cvae" or "all"); returns the figures written.

    Writes the PNG files and ``compare.json`` (settings, each model's final test numbers, the figures)
    into ``out``.
    """
    if which not in (*EXPERIMENTS, "all"):
        raise ValueError(f"unknown comparison {which!r}; choose one of {[*EXPERIMENTS, 'all']}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    c = Comparison(data, out, settings or Settings(), log)
    todo = EXPERIMENTS if which == "all" else (which,)
    paths: list[Path] = []
    for name in todo:
        log(f"{name}: {c.settings.describe()}, {data.name} ({len(data.y_train)} train / {len(data.y_test)} test)")
        paths += {"ae-vae": ae_vs_vae, "beta": beta_sweep, "cvae": conditional}[name](c)
    c.results["settings"] = asdict(c.settings)
    c.results["data"] = {"name": data.name, "train": int(len(data.y_train)), "test": int(len(data.y_test))}
    atomic_write_json(out / "compare.json", c.results)
    return paths


# ---- the three experiments ---------------------------------------------------------------------------
def ae_vs_vae(c: Comparison) -> list[Path]:
    """Latent scatter, samples from N(0, I), and an interpolation, for an AE and a VAE side by side."""
    ae, vae = c.model("ae"), c.model("vae", 1.0)
    pair = (("AE", ae, "codes $z$ = encode($x$)"), ("VAE", vae, r"means $\mu$ of $q(z\,|\,x)$"))
    rng = np.random.default_rng(c.settings.seed)
    paths = []

    fig, axes = _panels(1, 2, (11, 5))
    for ax, (name, model, what) in zip(axes, pair):
        _scatter(ax, model, c.data, f"{name}: {what}")
    fig.suptitle("Test digits in the latent space (dashed circle: where 86% of $z \\sim N(0, I)$ fall)")
    paths.append(c.save(fig, "ae_vs_vae_latent.png"))

    fig, axes = _panels(1, 2, (11, 5.8))
    z = rng.standard_normal((64, c.settings.latent))  # the same 64 draws through both decoders
    for ax, (name, model, _) in zip(axes, pair):
        _images(ax, _decode(model, z), 8, 8)
        ax.set_title(f"{name}: decode($z$)")
    fig.suptitle("Sampling: the same 64 draws $z \\sim N(0, I)$ through each decoder")
    paths.append(c.save(fig, "ae_vs_vae_samples.png"))

    ia, ib = _pick_pair(c.data, (ae, vae))
    a, b = c.data.x_test[ia : ia + 1], c.data.x_test[ib : ib + 1]
    ts = np.linspace(0.0, 1.0, 10)
    fig, axes = _panels(2, 1, (11, 3.2))
    for ax, (name, model, what) in zip(axes, pair):
        za, zb = (to_host(model.embed(model.asarray(v))) for v in (a, b))
        line = (1 - ts)[:, None] * za + ts[:, None] * zb  # (10, Z): (1 - t) z_a + t z_b
        row = np.concatenate([a, _decode(model, line), b])
        _images(ax, row, 1, len(row))
        ax.set_ylabel(name, rotation=0, labelpad=18, fontsize=12, va="center")
        ax.set_xticks(np.arange(len(row)) * SIDE + (SIDE - 1) / 2)  # pixel centres
        ax.set_xticklabels(["input"] + [f"t={t:.2f}" for t in ts] + ["input"], fontsize=8)
    fig.suptitle(f"Interpolation between a test {c.data.y_test[ia]} and a test {c.data.y_test[ib]}: "
                 f"decode($(1 - t)\\,z_a + t\\,z_b$), $z$ = the AE's code, the VAE's mean", fontsize=11)
    paths.append(c.save(fig, "ae_vs_vae_interpolation.png"))
    return paths


def beta_sweep(c: Comparison) -> list[Path]:
    """Final test reconstruction and KL against β; the latent scatter and the manifold for each β."""
    betas = c.settings.betas
    models = [c.model("vae", b) for b in betas]
    rows = [c.results["models"][f"vae beta={b:g}"] for b in betas]
    recon = [r["test_recon"] for r in rows]
    kl = [r["test_kl"] for r in rows]
    c.results["beta_sweep"] = {"beta": list(betas), "test_recon": recon, "test_kl": kl}
    labels = [f"β={b:g}" for b in betas]
    paths = []

    fig, axes = _panels(1, 2, (10, 4))
    for ax, values, what, color in ((axes[0], recon, "reconstruction (BCE, nats per image)", "tab:blue"),
                                    (axes[1], kl, "KL(q(z|x) ‖ N(0, I)) (nats per image)", "tab:orange")):
        bars = ax.bar(labels, values, color=color)
        ax.bar_label(bars, fmt="%.1f")
        ax.set_title(what)
        ax.set_xlabel("weight of the KL term")
        ax.margins(y=0.15)
    fig.suptitle(f"β-VAE after {c.settings.epochs} epochs: the two terms of loss = reconstruction + β·KL on the "
                 f"test digits\n(β=0 trains on reconstruction alone)")
    paths.append(c.save(fig, "beta_sweep_losses.png"))

    fig, axes = _panels(1, len(betas), (4.2 * len(betas) + 0.8, 4.4))
    for ax, b, model in zip(axes, betas, models):
        dots = _scatter(ax, model, c.data, rf"β={b:g}: means $\mu$", colorbar=False)
    fig.colorbar(dots, ax=axes, ticks=range(10), shrink=0.85, label="digit")
    fig.suptitle("Test digits in the latent space for each β (dashed circle: where 86% of $z \\sim N(0, I)$ fall)")
    paths.append(c.save(fig, "beta_sweep_latent.png"))

    n = 15
    grid = np.linspace(-R_86, R_86, n)
    fig, axes = _panels(1, len(betas), (4.2 * len(betas), 4.6))
    for ax, b, model in zip(axes, betas, models):
        _manifold(ax, model, grid)
        ax.set_title(f"β={b:g}")
    if c.settings.latent == 1:
        fig.suptitle(f"decode(z) for {n} values of the one latent coordinate z over [{-R_86:g}, {R_86:g}]")
    else:
        fig.suptitle(f"decode(z) for z on a grid over [{-R_86:g}, {R_86:g}]², the square around the dashed circle "
                     f"of the latent plots" + ("" if c.settings.latent == 2 else "; the other coordinates of z are 0"))
    paths.append(c.save(fig, "beta_sweep_manifold.png"))
    return paths


def conditional(c: Comparison) -> list[Path]:
    """One row per digit: each column decodes one z ~ N(0, I) next to every label."""
    model = c.model("cvae", 1.0)
    n_classes, cols = model.n_classes, 12
    z = np.random.default_rng(c.settings.seed).standard_normal((cols, c.settings.latent))
    rows = [to_host(model.decode(model.asarray(z), np.full(cols, d))) for d in range(n_classes)]
    fig, axes = _panels(1, 1, (7.6, 6.9))
    ax = axes[0]
    _images(ax, np.concatenate(rows), n_classes, cols)
    ax.set_yticks(np.arange(n_classes) * SIDE + (SIDE - 1) / 2)
    ax.set_yticklabels([str(d) for d in range(n_classes)])
    ax.set_ylabel("label given to the decoder")
    ax.set_xlabel("column: one $z \\sim N(0, I)$, the same for the whole column")
    ax.set_title("Conditional VAE: decode($z$, digit)")
    return [c.save(fig, "cvae_digits.png")]


# ---- drawing helpers ---------------------------------------------------------------------------------
def _panels(rows: int, cols: int, size: tuple[float, float]) -> tuple[Any, list[Any]]:
    """A figure of rows × cols panels (draw.figure), the axes as a flat list."""
    fig = figure(*size)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, list(axes.ravel())


def _decode(model: Model, z: np.ndarray) -> np.ndarray:
    """Images (n, 784) on the host for latent points z (n, Z), with the model's prior labels (a CVAE's cycle 0..9)."""
    return to_host(model.decode(model.asarray(z), model.prior_labels(len(z))))


def _embed(model: Model, data: Dataset) -> np.ndarray:
    return to_host(model.embed(model.asarray(data.x_test), model.labels_for(data.y_test)))


def _images(ax: Any, images: np.ndarray, rows: int, cols: int) -> None:
    show_images(ax, image_grid(images, rows, cols, pad=0, pad_value=0.0), cmap="gray_r")


def _scatter(ax: Any, model: Model, data: Dataset, title: str, colorbar: bool = True) -> Any:
    """Test digits in the latent space, coloured by label; with a 2-D latent space, the N(0, I) circle."""
    from matplotlib.patches import Circle

    pts = _embed(model, data)
    if pts.shape[1] == 2:
        xy, labels = pts, ("$z_1$", "$z_2$")
    else:  # the first two principal components, signs fixed
        xy, labels = pca_2d(pts)[0], ("PC 1", "PC 2")
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=data.y_test, cmap="tab10", vmin=-0.5, vmax=9.5, s=6, alpha=0.8)
    if pts.shape[1] == 2:
        ax.add_patch(Circle((0, 0), R_86, fill=False, ls="--", lw=1.5, color="black"))
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(sc, ax=ax, ticks=range(10), shrink=0.85, label="digit")
    return sc


def _manifold(ax: Any, model: Model, grid: np.ndarray) -> None:
    """Decode the n × n grid of (z_1, z_2) values (z_1 across, z_2 up) and draw it with its axes; a 1-D
    latent space has one row, z_1 across."""
    n = len(grid)
    rows = n if model.z_dim >= 2 else 1
    z1, z2 = np.meshgrid(grid, grid[::-1][:rows])  # top row: the largest z_2
    z = np.zeros((rows * n, model.z_dim))
    z[:, 0] = z1.ravel()
    if rows > 1:
        z[:, 1] = z2.ravel()
    half = (grid[-1] - grid[0]) / (n - 1) / 2  # each image sits centred on its grid point
    lo, hi = grid[0] - half, grid[-1] + half
    ax.imshow(image_grid(_decode(model, z), rows, n, pad=0, pad_value=0.0), cmap="gray_r", vmin=0.0, vmax=1.0,
              extent=(lo, hi, lo, hi) if rows > 1 else (lo, hi, -half, half))  # ticks kept: z's coordinates
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$" if rows > 1 else "")
    if rows == 1:
        ax.set_yticks([])


def _pick_pair(data: Dataset, models: tuple[Model, ...], wanted: tuple[int, int] = (0, 7)) -> tuple[int, int]:
    """Test indices (a, b): of each wanted digit, the image the models reconstruct best (summed squared error).

    If the test set lacks a wanted digit, the first image and the first one of another label.
    """
    y = np.asarray(data.y_test)
    if not all((y == d).any() for d in wanted):
        other = np.flatnonzero(y != y[0])
        return 0, int(other[0]) if len(other) else min(1, len(y) - 1)
    picks = []
    for d in wanted:
        idx = np.flatnonzero(y == d)
        x = data.x_test[idx]
        err = sum(np.sum((to_host(m.reconstruct(m.asarray(x))) - x) ** 2, axis=1) for m in models)
        picks.append(int(idx[np.argmin(err)]))
    return picks[0], picks[1]
