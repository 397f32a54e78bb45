"""The exact likelihood of a model with a 2-D latent space: -log p(x) by quadrature on a grid over z.

Every bound tinyvae reports (the negative ELBO, the IWAE estimate) is a bound on one number::

    -log p(x) = -log ∫ p(x|z) p(z) dz

With two latent dimensions the integral can simply be done: lay a square grid of points z_g with
spacing h over [-L, L]², decode every point once (the decoder's output does not depend on x), and sum::

    p(x) ≈ Σ_g p(x|z_g) p(z_g) h²          log p(x) = logsumexp_g [log p(x|z_g) + log p(z_g)] + 2 log h

For every image against every grid point, log p(x|z_g) is one matrix product (``log_likelihood_matrix``):
Bernoulli  Σ_d x_d l_d - softplus(l_d) = x @ lᵀ - Σ_d softplus(l_d); Gaussian with variance ½ (the mse
loss)  -Σ_d (x_d - x̂_d)² - (D/2) log π = -(|x|² - 2 x @ x̂ᵀ + |x̂|²) - (D/2) log π.

**Its own error.** The same sum over every other grid point (spacing 2h, a grid nested in the first, so
it costs nothing more) gives a second answer; ``refinement`` is their largest difference over the
images, and the fine grid's error is below it for an integrand the grid resolves (the rectangle rule on a
smooth bump converges faster than any power of h). ``edge_share`` is the largest share of an image's
integral that comes from the grid's outer band (|z|∞ > 0.9 L): near 0 when the grid covers the posterior.

**The true posterior on the same grid.** p(z_g|x) = p(x|z_g) p(z_g) / p(x), so the KL from the
encoder's q(z|x) = N(mu, diag σ²) to it is, with q's grid weights normalised to 1::

    KL(q(z|x) ‖ p(z|x)) = Σ_g q̃_g [log q(z_g|x) - log p(x|z_g) - log p(z_g)] + log p(x)

and the gap between the negative ELBO and -log p(x) is exactly this KL: what the ELBO loses.

Memory stays bounded: the grid is decoded in chunks of ``memory.chunk_rows`` rows, the images go in
blocks, and running log-sum-exps (a maximum and a sum per image) carry the integral across the chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import backend
from ..models.base import Model
from ..models.loss_names import gaussian_constant
from ..models.memory import CHUNK_BYTES, chunk_rows, chunks
from ..models.ranges import ParameterError, Range, show

IMAGE_BLOCK = 1000  # images against one grid chunk at once
EDGE = 0.9  # the outer band starts at 0.9 L
GRID = Range(int, 5, 2001)  # points per axis, odd: 2,001² is 4 million points, about 2 GB of float64 per image chunk
DEFAULT_POINTS = 201  # exact_nll's grid (tinyvae evaluate --exact's --grid)


def check_exact(model: Model, x: Any) -> None:
    """Refuse, in one sentence, a model or data for which ∫ p(x|z) p(z) dz on a 2-D grid is not -log p(x)."""
    if not model.has_posterior:
        raise ValueError("the exact likelihood needs a prior p(z) and a decoder p(x|z); a plain autoencoder "
                         "has no prior, so it defines no p(x)")
    if model.z_dim != 2:
        raise ValueError(f"the exact likelihood integrates over a grid on z and needs a 2-D latent space; this "
                         f"model has z_dim={model.z_dim} (a grid of {DEFAULT_POINTS} points per axis would need "
                         f"{DEFAULT_POINTS}^{model.z_dim} decodes); use the IWAE estimate instead")
    host = np.asarray(backend.to_numpy(x))
    if model.recon_loss == "bce" and not np.all((host == 0) | (host == 1)):
        raise ValueError(f"a Bernoulli decoder gives a probability only to 0/1 pixels, and "
                         f"{np.mean((host > 0) & (host < 1)):.1%} of these pixels are grey, so ∫ p(x|z) p(z) dz is "
                         f"not the likelihood of these images; train and evaluate with binarize='dynamic' (or 'static')")


def check_points(points: Any) -> int:
    """``points``, a grid's points per axis, as an int if it is odd and in :data:`GRID`; else
    :class:`ParameterError` naming ``points`` (the odd count puts a point at z = 0 and nests the coarse grid)."""
    if not GRID.holds(points) or points % 2 == 0:
        raise ParameterError("points", f"points must be an odd number from {show(GRID.lo)} to {show(GRID.hi)} "
                                       f"(the grid's points per axis), got {show(points)}")
    return int(points)


def grid_axis(half_width: float, points: int) -> np.ndarray:
    """The grid's coordinates along one axis: ``points`` (odd) numbers from -L to L, spacing 2L / (points - 1)."""
    points = check_points(points)
    if not (isinstance(half_width, (int, float)) and 0 < half_width <= 50 and math.isfinite(half_width)):
        raise ValueError(f"the grid's half width L must be in (0, 50], got {half_width!r}")
    return np.linspace(-half_width, half_width, int(points))


def grid_points(axis: np.ndarray) -> np.ndarray:
    """All grid points z (G, 2), G = len(axis)², row-major: z[i·n + j] = (axis[i], axis[j])."""
    a, b = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1)


def log_likelihood_matrix(model: Model, x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """log p(x_n | z_g) for every image x (N, D) and every decoded grid point's logits (G, D): (N, G), float64."""
    if model.recon_loss == "bce":
        return x @ logits.T - np.sum(np.logaddexp(0.0, logits), axis=1)[None, :]
    x_hat = logits if getattr(model, "output", "sigmoid") == "identity" else np.exp(-np.logaddexp(0.0, -logits))  # σ
    sq = np.sum(x * x, axis=1)[:, None] - 2.0 * (x @ x_hat.T) + np.sum(x_hat * x_hat, axis=1)[None, :]
    return -sq - gaussian_constant(x.shape[1])


def _decode(model: Model, z: np.ndarray, label: Any) -> np.ndarray:
    """The decoder's logits (G, D) for grid points z (G, 2), as float64 on the host."""
    y = None if label is None else np.full(z.shape[0], label)
    return np.asarray(backend.to_numpy(model.decode_logits(model.asarray(z), y)), np.float64)


class _RunningLSE:
    """log Σ exp(a) over columns that arrive chunk by chunk, one number per row."""

    def __init__(self, n: int) -> None:
        self.m, self.s = np.full(n, -np.inf), np.zeros(n)

    def add(self, a: np.ndarray) -> None:
        if a.shape[1] == 0:
            return
        m_new = np.maximum(self.m, a.max(axis=1))
        self.s = self.s * np.exp(self.m - m_new) + np.sum(np.exp(a - m_new[:, None]), axis=1)
        self.m = m_new

    def value(self) -> np.ndarray:
        return self.m + np.log(self.s)


@dataclass
class ExactResult:
    """Per image (N,): ``nll`` = -log p(x) on the grid, ``nll_coarse`` the same on every other point,
    ``neg_elbo`` = E_q[log q - log p(x, z)] and ``kl_posterior`` = KL(q(z|x) ‖ p(z|x)) on the grid.
    ``edge_share``: the largest share of an image's integral from the grid's outer band."""

    nll: np.ndarray
    nll_coarse: np.ndarray
    neg_elbo: np.ndarray
    kl_posterior: np.ndarray
    edge_share: float
    half_width: float
    points: int

    @property
    def refinement(self) -> float:
        """The largest |fine - coarse| over the images: the grid's own error estimate (nats)."""
        return float(np.max(np.abs(self.nll - self.nll_coarse)))


def encode_all(model: Model, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(mu, logvar) of q(z|x), each (N, Z) float64 on the host, for x (N, D) encoded in chunks that fit."""
    parts = []
    for rows in chunks(model, x.shape[0], IMAGE_BLOCK):
        yb = None if y is None else y[rows]
        parts.append([np.asarray(backend.to_numpy(a), np.float64) for a in model.encode(model.asarray(x[rows]), yb)])
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def covering_half_width(mu: np.ndarray, logvar: np.ndarray) -> float:
    """A grid half width L that covers every q(z|x) and the prior: max |mu| + 6σ over the images and both
    axes, at least 6, rounded up to a multiple of 0.5 (the true posterior lies between the two)."""
    reach = float(np.max(np.abs(mu) + 6.0 * np.exp(0.5 * logvar))) if mu.size else 0.0
    return max(6.0, math.ceil(2.0 * reach) / 2.0)


def exact_nll(model: Model, x: Any, y: Any = None, *, half_width: float | None = None,
              points: int = DEFAULT_POINTS) -> ExactResult:
    """-log p(x) per image for x (N, D) by quadrature on a ``points`` × ``points`` grid over [-L, L]²
    (L = ``half_width``; None: :func:`covering_half_width` of the encoder's q(z|x)), with the checks and
    the posterior KL of the module docstring."""
    check_exact(model, x)
    labels = model.labels_for(y)
    mu, logvar = encode_all(model, x, labels)
    half_width = covering_half_width(mu, logvar) if half_width is None else half_width
    axis = grid_axis(half_width, points)
    z, h, n = grid_points(axis), axis[1] - axis[0], x.shape[0]
    coarse = (np.arange(points)[:, None] % 2 == 0) & (np.arange(points)[None, :] % 2 == 0)
    # about ten (images × points) float64 arrays live at once in _integrate: log p(x, z), log q, z - mu (two), exps
    rows = min(chunk_rows(model, z.shape[0]), max(1, CHUNK_BYTES // (8 * 10 * min(n, IMAGE_BLOCK) + 1)))
    grid = _Grid(z, -0.5 * np.sum(z * z, axis=1) - math.log(2 * math.pi), coarse.ravel(),
                 np.max(np.abs(z), axis=1) > EDGE * half_width, rows)
    xs = np.asarray(backend.to_numpy(x), np.float64)
    labels = None if labels is None else np.asarray(backend.to_numpy(labels))
    out = {k: np.zeros(n) for k in ("fine", "coarse", "edge", "qa")}
    for label in ([None] if labels is None else np.unique(labels)):
        idx_all = np.arange(n) if label is None else np.flatnonzero(labels == label)
        for b in range(0, idx_all.size, IMAGE_BLOCK):
            idx = idx_all[b : b + IMAGE_BLOCK]
            for k, v in _integrate(model, xs[idx], mu[idx], logvar[idx], label, grid).items():
                out[k][idx] = v
    log_h2 = 2 * math.log(h)
    nll = -(out["fine"] + log_h2)
    neg_elbo = out["qa"]
    return ExactResult(nll=nll, nll_coarse=-(out["coarse"] + log_h2 + math.log(4)), neg_elbo=neg_elbo,
                       kl_posterior=neg_elbo - nll, edge_share=float(np.max(np.exp(out["edge"] - out["fine"]))),
                       half_width=float(half_width), points=int(points))


@dataclass
class _Grid:
    """The grid points z (G, 2), log p(z) (G,), the masks of the coarse grid and of the outer band, and how
    many points are decoded at once."""

    z: np.ndarray
    log_prior: np.ndarray
    coarse: np.ndarray
    edge: np.ndarray
    rows: int


def _integrate(model: Model, x: np.ndarray, mu: np.ndarray, logvar: np.ndarray, label: Any,
               grid: _Grid) -> dict[str, np.ndarray]:
    """One block of images x (m, D) with their q(z|x) against the whole grid, chunk by chunk: the running
    log-sum-exps over the fine grid, the coarse one, the outer band, and E_q[log q - log p(x, z)] (m,) each."""
    m, z, rows = x.shape[0], grid.z, grid.rows
    fine, crs, edg, qs = _RunningLSE(m), _RunningLSE(m), _RunningLSE(m), _RunningLSE(m)
    qa = np.zeros(m)  # Σ_g q_g (log q_g - log p(x, z_g)), q_g unnormalised (scaled by exp(-qs.m))
    var = np.exp(logvar)
    for s in range(0, z.shape[0], rows):
        zc = z[s : s + rows]
        log_joint = log_likelihood_matrix(model, x, _decode(model, zc, label)) + grid.log_prior[None, s : s + rows]
        fine.add(log_joint)
        crs.add(log_joint[:, grid.coarse[s : s + rows]])
        edg.add(log_joint[:, grid.edge[s : s + rows]])
        d = zc[None, :, :] - mu[:, None, :]  # (m, G_c, 2)
        log_q = -0.5 * np.sum(d * d / var[:, None, :] + logvar[:, None, :], axis=2) - math.log(2 * math.pi)
        m_old = qs.m.copy()
        qs.add(log_q)
        qa = qa * np.exp(m_old - qs.m) + np.sum(np.exp(log_q - qs.m[:, None]) * (log_q - log_joint), axis=1)
    return {"fine": fine.value(), "coarse": crs.value(), "edge": edg.value(), "qa": qa / qs.s}


def log_posterior_grid(model: Model, x: Any, y: Any = None, *, half_width: float = 4.0,
                       points: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """(axis (n,), log p(z|x) (N, n, n)): the true posterior of a few images x (N, D) on the grid, a density
    (it integrates to 1 over the grid), for a figure. Row i, column j is z = (axis[i], axis[j])."""
    check_exact(model, x)
    axis = grid_axis(half_width, points)
    z = grid_points(axis)
    xs = np.asarray(backend.to_numpy(x), np.float64)
    labels = model.labels_for(y)
    parts = []
    for s in range(0, z.shape[0], chunk_rows(model, z.shape[0])):
        zc = z[s : s + chunk_rows(model, z.shape[0])]
        lj = np.zeros((xs.shape[0], zc.shape[0]))
        for i in range(xs.shape[0]):
            label = None if labels is None else np.asarray(backend.to_numpy(labels))[i]
            lj[i] = log_likelihood_matrix(model, xs[i : i + 1], _decode(model, zc, label))[0]
        parts.append(lj - 0.5 * np.sum(zc * zc, axis=1)[None, :])
    lj = np.concatenate(parts, axis=1)
    h = axis[1] - axis[0]
    lse = lj.max(axis=1, keepdims=True)
    lse = lse + np.log(np.sum(np.exp(lj - lse), axis=1, keepdims=True))
    return axis, (lj - lse - 2 * math.log(h)).reshape(xs.shape[0], points, points)
