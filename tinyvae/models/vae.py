"""The variational autoencoder: an MLP encoder with two heads, the reparameterization, an MLP decoder.

Forward, for a batch x (B, D)::

    h       = encoder(x)                     (B, H)     Linear, act, ..., Linear, act
    mu      = mu_head(h)                     (B, Z)
    logvar  = logvar_head(h)                 (B, Z)     log σ²
    z       = mu + exp(0.5 logvar) * eps     (B, Z)     eps ~ N(0, I)
    logits  = decoder(z)                     (B, D)     Linear, act, ..., Linear
    x_hat   = σ(logits)  (or logits itself with output="identity")

    loss    = recon(x_hat, x) + β · KL(N(mu, σ²) ‖ N(0, I))

Backward is the chain rule written out in the same order, reversed (see ``loss_and_grads``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..engine.backend import Array
from ..engine.layers import Identity, Layer, Linear, Sigmoid, mlp
from ..engine.losses import kl_divergence
from .base import Loss, LossName, Model, check_config, check_latent, reconstruction_loss
from ..engine.reparam import Reparameterize


class VAE(Model):
    """VAE(x_dim, hidden_dims, z_dim, loss="bce" | "mse", beta=1.0, rng=..., dtype=...).

    x_dim:       input features (784 for MNIST).
    hidden_dims: widths of the encoder's hidden layers, e.g. [400]; the decoder mirrors them.
    z_dim:       latent dimensions.
    loss:        "bce" (sigmoid output, binary cross-entropy) or "mse" (squared error).
    beta:        weight of the KL term (β-VAE); 0 trains on reconstruction alone.
    output:      "sigmoid" (default) or "identity" (only with "mse", for real-valued data).
    activation:  hidden activation, "relu" by default (see ``layers.ACTIVATIONS``).
    rng:         numpy Generator (or seed) for the initial weights and, later, the noise eps.
    dtype:       np.float64 for teaching and tests, np.float32 for fast training.
    """

    def __init__(
        self,
        x_dim: int,
        hidden_dims: list[int] | tuple[int, ...],
        z_dim: int,
        loss: LossName = "bce",
        beta: float = 1.0,
        *,
        output: Literal["sigmoid", "identity"] = "sigmoid",
        activation: str = "relu",
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        check_config(x_dim, hidden_dims, z_dim, loss, beta, output)
        self.x_dim, self.hidden_dims, self.z_dim = int(x_dim), [int(h) for h in hidden_dims], int(z_dim)
        self.loss, self.beta, self.output, self.activation = loss, float(beta), output, activation
        self.rng = np.random.default_rng(rng)
        H = self.hidden_dims
        self.encoder = mlp([x_dim, *H], activation_name=activation, rng=self.rng, dtype=dtype, last_activation=True)
        self.mu_head = Linear(H[-1], z_dim, rng=self.rng, dtype=dtype)
        self.logvar_head = Linear(H[-1], z_dim, rng=self.rng, dtype=dtype)
        self.reparam = Reparameterize()
        self.decoder = mlp([z_dim, *H[::-1], x_dim], activation_name=activation, rng=self.rng, dtype=dtype)
        self.out: Layer = Sigmoid() if output == "sigmoid" else Identity()

    conditional = False  # a CVAE takes labels too

    def parts(self) -> dict[str, Layer]:
        return {"encoder": self.encoder, "mu": self.mu_head, "logvar": self.logvar_head, "decoder": self.decoder}

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, enough to build the same architecture again."""
        return {
            "model": "vae", "x_dim": self.x_dim, "hidden_dims": self.hidden_dims, "z_dim": self.z_dim,
            "loss": self.loss, "beta": self.beta, "output": self.output, "activation": self.activation,
        }

    # ---- forward pieces -------------------------------------------------------------------
    def encode(self, x: Array) -> tuple[Array, Array]:
        """(mu, logvar), each (batch, z_dim), for x (batch, x_dim)."""
        self.check_x(x)
        h = self.encoder.forward(x)
        return self.mu_head.forward(h), self.logvar_head.forward(h)

    def embed(self, x: Array) -> Array:
        """The latent point of each x for plots: mu (batch, z_dim)."""
        return self.encode(x)[0]

    def decode(self, z: Array) -> Array:
        """x_hat (batch, x_dim) for z (batch, z_dim)."""
        check_latent(self, z)
        return self.out.forward(self.decoder.forward(z))

    def reconstruct(self, x: Array) -> Array:
        """x_hat through the means (no sampling): decode(mu(x))."""
        mu, _ = self.encode(x)
        return self.decode(mu)

    def sample(self, n: int, rng: np.random.Generator | None = None) -> Array:
        """n images decoded from z ~ N(0, I): (n, x_dim)."""
        from ..engine import backend

        rng = self._noise_rng(rng)
        ref = self.mu_head.params["b"]
        z = backend.asarray_like(rng.standard_normal((n, self.z_dim)), ref)
        return self.decode(z)

    # ---- the loss and its gradients -------------------------------------------------------
    def loss_and_grads(
        self, x: Array, eps: Array | None = None, rng: np.random.Generator | None = None
    ) -> Loss:
        """One batch's loss; fills ``self.grads`` with ∂loss/∂every parameter.

        x: (batch, x_dim). eps: (batch, z_dim) fixed noise, or None to draw it from ``rng``
        (default: the model's own generator). Returns Loss(total, recon, kl) as floats.
        """
        self.check_x(x)
        # forward
        h = self.encoder.forward(x)
        mu = self.mu_head.forward(h)
        logvar = self.logvar_head.forward(h)
        z = self.reparam.forward(mu, logvar, eps=eps, rng=self._noise_rng(rng))
        logits = self.decoder.forward(z)
        recon, dlogits = reconstruction_loss(self, logits, x)  # BCE: dlogits = (x_hat - x) / B
        kl, dmu_kl, dlogvar_kl = kl_divergence(mu, logvar)
        total = recon + self.beta * kl

        # backward: the chain rule, from the loss back to the input
        dz = self.decoder.backward(dlogits)  # ∂recon/∂z
        dmu_rec, dlogvar_rec = self.reparam.backward(dz)  # through z = mu + std * eps
        dmu = dmu_rec + self.beta * dmu_kl  # both terms depend on mu ...
        dlogvar = dlogvar_rec + self.beta * dlogvar_kl  # ... and on logvar
        dh = self.mu_head.backward(dmu) + self.logvar_head.backward(dlogvar)  # h feeds both heads
        self.encoder.backward(dh, need_dx=False)
        return Loss(float(total), float(recon), float(kl))
