"""The reparameterization trick: sample z ~ N(mu, σ²) as a differentiable function of mu and logvar.

Forward::

    std = exp(0.5 * logvar)        # σ = e^(½ log σ²)
    z   = mu + std * eps           # eps ~ N(0, I), drawn outside the graph

Backward (eps is a constant, so the gradient flows through mu and logvar)::

    ∂z/∂mu     = 1                          ->  dmu     = dz
    ∂z/∂logvar = eps * ∂std/∂logvar
               = eps * 0.5 * std            ->  dlogvar = dz * eps * 0.5 * std

``logvar`` is always log σ² (never σ, never σ²). Shapes: mu, logvar, eps, z are (batch, z_dim).
"""

from __future__ import annotations

import numpy as np

from . import backend
from .backend import Array, namespace
from .checks import check_array


class Reparameterize:
    """The node ``z = mu + exp(0.5 * logvar) * eps``, with its backward ``dz -> (dmu, dlogvar)``."""

    def __init__(self) -> None:
        self.cache: tuple[Array, Array] | None = None

    def forward(
        self,
        mu: Array,
        logvar: Array,
        eps: Array | None = None,
        rng: np.random.Generator | None = None,
    ) -> Array:
        """z (batch, z_dim) from mu, logvar (batch, z_dim).

        ``eps`` may be passed in (fixed noise for a test or the worked example); otherwise it is
        drawn on the host from the explicit generator ``rng`` and moved to where ``mu`` lives, so
        a seed gives the same noise on every backend.
        """
        xp = namespace(mu, logvar)
        check_array(mu, who="Reparameterize", name="mu", expect=("batch", "z_dim"))
        check_array(logvar, who="Reparameterize", name="logvar", expect=tuple(mu.shape))
        if eps is None:
            if rng is None:
                raise ValueError("Reparameterize needs eps or an explicit rng (numpy.random.Generator)")
            eps = draw_eps(rng, tuple(mu.shape), mu)
        else:
            check_array(eps, who="Reparameterize", name="eps", expect=tuple(mu.shape))
        std = xp.exp(0.5 * logvar)
        z = mu + std * eps
        self.cache = (std, eps)
        return z

    __call__ = forward

    def backward(self, dz: Array) -> tuple[Array, Array]:
        """(dmu, dlogvar), each (batch, z_dim), from dz = ∂L/∂z."""
        if self.cache is None:
            raise RuntimeError("Reparameterize.backward called before forward: run forward(mu, logvar, ...) first")
        std, eps = self.cache
        dmu = dz
        dlogvar = dz * eps * 0.5 * std
        return dmu, dlogvar


def draw_eps(rng: np.random.Generator, shape: tuple[int, ...], like: Array) -> Array:
    """eps ~ N(0, I) of ``shape``, drawn on the host from ``rng`` in ``like``'s float width and moved to
    where ``like`` lives: the one draw of the noise, so a seed gives the same numbers everywhere."""
    return backend.asarray_like(rng.standard_normal(shape, dtype=backend.host_dtype(like)), like)
