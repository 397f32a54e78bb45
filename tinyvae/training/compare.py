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

This module trains and computes what each figure shows; ``figures/compare.py`` draws it (matplotlib's
object API, no pyplot state) into PNG files, and the numbers behind the figures go to ``compare.json``. With a 2-D latent space (the default) the scatter and the
manifold show the latent space itself; with more dimensions the scatter shows the first two principal
components and the manifold varies the first two coordinates with the others at 0.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..figures import compare as draw  # the drawing: figures/compare.py, from the arrays computed here
from ..figures.draw import to_host
from ..models.base import Model, check_dtype
from ..models.ranges import ARCHITECTURE, ParameterError, Range, check_param_count, check_widths, show
from ..models.registry import build_model
from .checkpoint import atomic_write_json
from .data import Dataset
from .run_values import RUN
from .train import fit

EXPERIMENTS = ("ae-vae", "beta", "cvae")
BETAS = (0.0, 1.0, 4.0, 10.0)
R_86 = draw.R_86  # the manifold's grid spans [-R_86, R_86]: the square around the latent plots' circle


LIMIT = Range(int, 10, RUN["limit"].hi)  # a comparison's --limit: a few images of each digit, at least


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
    limit: int | None = None  # the first N training and N test images were used (None: all)

    def __post_init__(self) -> None:
        """Refuse settings no model could be trained with before any training starts, by field name,
        against the ranges the models and fit check (a β of inf is refused here, not after the first
        models trained)."""
        for name in ("epochs", "batch_size", "lr", "seed"):
            RUN[name].check(name, getattr(self, name))
        ARCHITECTURE["z_dim"].check("latent", self.latent)
        check_widths("hidden", self.hidden, of="hidden_dims")
        for b in self.betas:
            ARCHITECTURE["beta"].check("betas", b)
        check_dtype(self.dtype)
        if self.limit is not None and not LIMIT.holds(self.limit):
            raise ParameterError("limit", f"limit must be {LIMIT.describe()} (a few images of each digit), got "
                                          f"{show(self.limit)}")
        check_param_count({"model": "cvae", "x_dim": 784, "hidden_dims": list(self.hidden), "z_dim": self.latent})

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

    def model(self, name: str, **arch: float) -> Model:
        """The trained model ``name`` ("ae", "vae", "cvae") with the architecture settings ``arch``
        (e.g. beta=4.0), built and trained on first use; kept as "name key=value ..." ("vae beta=4")."""
        key = " ".join([name, *(f"{k}={v:g}" for k, v in arch.items())])
        if key in self.models:
            return self.models[key]
        s = self.settings
        cfg: dict[str, Any] = {"model": name, "x_dim": self.data.x_train.shape[1], "hidden_dims": list(s.hidden),
                               "z_dim": s.latent, "loss": "bce", **{k: float(v) for k, v in arch.items()}}
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
        path = draw.save(fig, self.out / name)
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
    models = (c.model("ae"), c.model("vae", beta=1.0))
    names = [m.name for m in models]  # "AE", "VAE"
    whats = [r"means $\mu$ of $q(z\,|\,x)$" if m.has_posterior else "codes $z$ = encode($x$)" for m in models]
    digits = c.data.y_test
    fig = draw.latent_pairs([_embed(m, c.data) for m in models], digits, [f"{n}: {w}" for n, w in zip(names, whats)])
    paths = [c.save(fig, "ae_vs_vae_latent.png")]

    z = np.random.default_rng(c.settings.seed).standard_normal((64, c.settings.latent))  # the same 64 draws
    fig = draw.image_pairs([_decode(m, z) for m in models], [f"{n}: decode($z$)" for n in names], 8, 8,
                           "Sampling: the same 64 draws $z \\sim N(0, I)$ through each decoder")
    paths.append(c.save(fig, "ae_vs_vae_samples.png"))

    ia, ib = _pick_pair(c.data, models)
    a, b = c.data.x_test[ia : ia + 1], c.data.x_test[ib : ib + 1]
    ts = np.linspace(0.0, 1.0, 10)
    rows = []
    for m in models:
        za, zb = (to_host(m.embed(m.asarray(v))) for v in (a, b))
        line = (1 - ts)[:, None] * za + ts[:, None] * zb  # (10, Z): (1 - t) z_a + t z_b
        rows.append(np.concatenate([a, _decode(m, line), b]))
    fig = draw.interpolations(rows, names, ts, f"Interpolation between a test {digits[ia]} and a test {digits[ib]}: "
                              f"decode($(1 - t)\\,z_a + t\\,z_b$), $z$ = the AE's code, the VAE's mean")
    paths.append(c.save(fig, "ae_vs_vae_interpolation.png"))
    return paths


def beta_sweep(c: Comparison) -> list[Path]:
    """Final test reconstruction and KL against β; the latent scatter and the manifold for each β."""
    betas = c.settings.betas
    models = [c.model("vae", beta=b) for b in betas]
    rows = [c.results["models"][f"vae beta={b:g}"] for b in betas]
    recon = [r["test_recon"] for r in rows]
    kl = [r["test_kl"] for r in rows]
    c.results["beta_sweep"] = {"beta": list(betas), "test_recon": recon, "test_kl": kl}
    paths = [c.save(draw.beta_losses(betas, recon, kl, c.settings.epochs), "beta_sweep_losses.png")]
    fig = draw.beta_latents([_embed(m, c.data) for m in models], c.data.y_test, betas)
    paths.append(c.save(fig, "beta_sweep_latent.png"))
    grid = np.linspace(-R_86, R_86, 15)
    fig = draw.beta_manifolds([_decode(m, _grid_z(grid, m.z_dim)) for m in models], grid, betas, c.settings.latent)
    paths.append(c.save(fig, "beta_sweep_manifold.png"))
    return paths


def conditional(c: Comparison) -> list[Path]:
    """One row per digit: each column decodes one z ~ N(0, I) next to every label."""
    model = c.model("cvae", beta=1.0)
    n_classes, cols = model.n_classes, 12
    z = np.random.default_rng(c.settings.seed).standard_normal((cols, c.settings.latent))
    rows = [to_host(model.decode(model.asarray(z), np.full(cols, d))) for d in range(n_classes)]
    return [c.save(draw.label_rows(np.concatenate(rows), n_classes, cols), "cvae_digits.png")]


# ---- what the figures show ------------------------------------------------------------------------------
def _decode(model: Model, z: np.ndarray) -> np.ndarray:
    """Images (n, 784) on the host for latent points z (n, Z), with the model's prior labels (a CVAE's cycle 0..9)."""
    return to_host(model.decode(model.asarray(z), model.prior_labels(len(z))))


def _embed(model: Model, data: Dataset) -> np.ndarray:
    return to_host(model.embed(model.asarray(data.x_test), model.labels_for(data.y_test)))


def _grid_z(grid: np.ndarray, z_dim: int) -> np.ndarray:
    """The n × n grid of (z_1, z_2) values, row-major from the top row (the largest z_2), the other
    coordinates 0: (n², z_dim); a 1-D latent space: the n values of z_1, (n, 1)."""
    n, rows = len(grid), len(grid) if z_dim >= 2 else 1
    z1, z2 = np.meshgrid(grid, grid[::-1][:rows])
    z = np.zeros((rows * n, z_dim))
    z[:, 0] = z1.ravel()
    if rows > 1:
        z[:, 1] = z2.ravel()
    return z


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
