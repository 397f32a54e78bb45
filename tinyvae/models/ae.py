"""The plain autoencoder: the VAE's encoder and decoder with no variance head, no sampling, no KL.

It is here to be compared with the VAE (``tinyvae compare ae-vae``). Forward, for x (B, D)::

    h       = encoder(x)              (B, H)     Linear, act, ..., Linear, act   (as in the VAE)
    z       = code_head(h)            (B, Z)     one point per input: no mu, no logvar
    logits  = decoder(z)              (B, D)     Linear, act, ..., Linear        (as in the VAE)
    x_hat   = σ(logits)  (or logits itself with output="identity")

    loss    = recon(x_hat, x)         nothing pulls z towards N(0, I)

Because nothing shapes the distribution of z, decoding z ~ N(0, I) (``sample``) lands mostly in
regions the decoder never saw in training: that is the lecture's argument for the VAE.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..engine import backend
from ..engine.backend import Array
from ..engine.layers import Identity, Layer, Linear, Sigmoid, mlp
from .base import Loss, LossName, Model, check_config, check_latent, reconstruction_loss


class AE(Model):
    """AE(x_dim, hidden_dims, z_dim, loss="bce" | "mse", rng=..., dtype=...).

    The arguments mean what they mean for :class:`tinyvae.VAE` (there is no ``beta``: there is no KL).
    x_dim: input features; hidden_dims: encoder widths, mirrored by the decoder; z_dim: code size;
    output: "sigmoid" or "identity" (only with "mse"); activation: hidden activation name;
    rng: numpy Generator (or seed) for the initial weights; dtype: np.float64 or np.float32.

    The parameters are named ``encoder.*``, ``z.*`` (the code head, the VAE's ``mu.*``) and ``decoder.*``.
    """

    conditional = False

    def __init__(
        self,
        x_dim: int,
        hidden_dims: list[int] | tuple[int, ...],
        z_dim: int,
        loss: LossName = "bce",
        *,
        output: Literal["sigmoid", "identity"] = "sigmoid",
        activation: str = "relu",
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        check_config(x_dim, hidden_dims, z_dim, loss, 0.0, output)
        self.x_dim, self.hidden_dims, self.z_dim = int(x_dim), [int(h) for h in hidden_dims], int(z_dim)
        self.loss, self.output, self.activation = loss, output, activation
        self.rng = np.random.default_rng(rng)
        H = self.hidden_dims
        self.encoder = mlp([x_dim, *H], activation_name=activation, rng=self.rng, dtype=dtype, last_activation=True)
        self.code_head = Linear(H[-1], z_dim, rng=self.rng, dtype=dtype)
        self.decoder = mlp([z_dim, *H[::-1], x_dim], activation_name=activation, rng=self.rng, dtype=dtype)
        self.out: Layer = Sigmoid() if output == "sigmoid" else Identity()

    def parts(self) -> dict[str, Layer]:
        return {"encoder": self.encoder, "z": self.code_head, "decoder": self.decoder}

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, enough to build the same architecture again."""
        return {
            "model": "ae", "x_dim": self.x_dim, "hidden_dims": self.hidden_dims, "z_dim": self.z_dim,
            "loss": self.loss, "output": self.output, "activation": self.activation,
        }

    # ---- forward pieces -------------------------------------------------------------------
    def encode(self, x: Array) -> Array:
        """The code z (batch, z_dim) for x (batch, x_dim).

        Unlike ``VAE.encode``, which returns the distribution ``(mu, logvar)``, this is a single point.
        """
        self.check_x(x)
        return self.code_head.forward(self.encoder.forward(x))

    def embed(self, x: Array) -> Array:
        """The latent point drawn in scatter plots: the code z itself (batch, z_dim)."""
        return self.encode(x)

    def decode(self, z: Array) -> Array:
        """x_hat (batch, x_dim) for z (batch, z_dim)."""
        check_latent(self, z)
        return self.out.forward(self.decoder.forward(z))

    def reconstruct(self, x: Array) -> Array:
        """x_hat = decode(encode(x)), (batch, x_dim)."""
        return self.decode(self.encode(x))

    def sample(self, n: int, rng: np.random.Generator | None = None) -> Array:
        """n images decoded from z ~ N(0, I): (n, x_dim). The AE never learned that prior (see the module doc)."""
        rng = self._noise_rng(rng)
        z = backend.asarray_like(rng.standard_normal((n, self.z_dim)), self.code_head.params["b"])
        return self.decode(z)

    # ---- the loss and its gradients -------------------------------------------------------
    def loss_and_grads(
        self, x: Array, eps: Array | None = None, rng: np.random.Generator | None = None
    ) -> Loss:
        """One batch's reconstruction loss; fills ``self.grads`` with ∂loss/∂every parameter.

        x: (batch, x_dim). ``eps`` and ``rng`` are accepted and ignored (the AE draws no noise), so
        training code can call every model the same way. Returns Loss(total=recon, recon, kl=0.0).
        """
        self.check_x(x)
        # forward
        h = self.encoder.forward(x)
        z = self.code_head.forward(h)
        logits = self.decoder.forward(z)
        recon, dlogits = reconstruction_loss(self, logits, x)

        # backward: the VAE's chain rule with the sampling and the KL taken out
        dz = self.decoder.backward(dlogits)  # ∂recon/∂z
        dh = self.code_head.backward(dz)  # ∂recon/∂h
        self.encoder.backward(dh, need_dx=False)
        return Loss(float(recon), float(recon), 0.0)
