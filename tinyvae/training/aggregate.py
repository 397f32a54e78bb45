"""The aggregate posterior against the prior, for a 2-D latent space.

Every image x has its own q(z|x) = N(mu, diag σ²), and the KL term pulls each one towards p(z) = N(0, I).
That does not make the points of all images together follow N(0, I). What they follow is the mixture of
all the posteriors, the *aggregate posterior*::

    q_agg(z) = (1/N) Σ_n N(z; mu_n, diag σ_n²)

It is what the decoder sees in training, and the prior is what it gets when we sample. Where the prior
has mass and q_agg has little (the *holes*), the decoder was never trained, and samples from there look
like no digit. On a grid (spacing h) over [-L, L]²::

    KL(q_agg ‖ p) ≈ Σ_g q_agg(z_g) log(q_agg(z_g) / p(z_g)) h²
    holes         = {z : q_agg(z) < p(z) / HOLE_RATIO},   prior mass in the holes ≈ Σ_(g in holes) p(z_g) h²

Memory stays bounded: the images go in blocks against the whole grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .exact import grid_axis, grid_points

HOLE_RATIO = 10.0  # a hole: the prior's density is more than 10 times the aggregate posterior's
BLOCK = 256  # images against the grid at once


def aggregate_density(mu: np.ndarray, logvar: np.ndarray, z: np.ndarray) -> np.ndarray:
    """q_agg(z) (G,) at points z (G, 2) for posteriors mu, logvar (N, 2): the mean of N Gaussian densities."""
    total = np.zeros(z.shape[0])
    for s in range(0, mu.shape[0], BLOCK):
        m, lv = mu[s : s + BLOCK], logvar[s : s + BLOCK]
        d = z[None, :, :] - m[:, None, :]  # (b, G, 2)
        log_q = -0.5 * np.sum(d * d / np.exp(lv)[:, None, :] + lv[:, None, :], axis=2) - math.log(2 * math.pi)
        total += np.sum(np.exp(log_q), axis=0)
    return total / mu.shape[0]


@dataclass
class AggregateResult:
    """``axis`` (n,); ``q_agg`` and ``prior`` (n, n) densities (row i, column j: z = (axis[i], axis[j]));
    ``kl`` = KL(q_agg ‖ p) in nats; ``hole_mass``: the prior's mass in the holes; ``grid_mass``: q_agg's
    mass on the grid (near 1 when the grid covers it)."""

    axis: np.ndarray
    q_agg: np.ndarray
    prior: np.ndarray
    kl: float
    hole_mass: float
    grid_mass: float

    @property
    def holes(self) -> np.ndarray:
        return self.q_agg < self.prior / HOLE_RATIO


def aggregate_posterior(mu: np.ndarray, logvar: np.ndarray, *, half_width: float = 4.0,
                        points: int = 161) -> AggregateResult:
    """q_agg and N(0, I) on a ``points``² grid over [-L, L]², KL(q_agg ‖ p) and the prior mass in the holes.

    mu, logvar: (N, 2) from the encoder (``exact.encode_all``). The KL is the grid's sum over [-L, L]²:
    q_agg's mass outside it (1 - ``grid_mass``) is left out.
    """
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    if mu.ndim != 2 or mu.shape[1] != 2 or mu.shape != logvar.shape or mu.shape[0] == 0:
        raise ValueError(f"the aggregate posterior on a grid needs mu and logvar of shape (N, 2), N >= 1; got "
                         f"{mu.shape} and {logvar.shape}")
    axis = grid_axis(half_width, points)
    z, h2 = grid_points(axis), (axis[1] - axis[0]) ** 2
    q = aggregate_density(mu, logvar, z)
    p = np.exp(-0.5 * np.sum(z * z, axis=1)) / (2 * math.pi)
    ratio = np.log(np.maximum(q, 1e-300)) - np.log(p)
    kl = float(np.sum(q * ratio) * h2)
    hole_mass = float(np.sum(p[q < p / HOLE_RATIO]) * h2)
    return AggregateResult(axis, q.reshape(points, points), p.reshape(points, points), kl, hole_mass,
                           float(np.sum(q) * h2))
