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

from ..engine.backend import Array
from ..engine.layers import Identity, Layer, Linear, Sigmoid, mlp
from .base import Loss, LossName, Model, check_config, reconstruction_loss


class AE(Model):
    """AE(x_dim, hidden_dims, z_dim, loss="bce" | "mse", rng=..., dtype=...).

    The arguments mean what they mean for :class:`tinyvae.VAE` (there is no ``beta``: there is no KL).
    x_dim: input features; hidden_dims: encoder widths, mirrored by the decoder; z_dim: code size;
    output: "sigmoid" or "identity" (only with "mse"); activation: hidden activation name;
    rng: numpy Generator (or seed) for the initial weights; dtype: np.float64 or np.float32.

    The parameters are named ``encoder.*``, ``code.*`` (the code head, where the VAE has ``mu.*``) and
    ``decoder.*``. (An older tinyvae named the code head ``z.*``; its checkpoints still load:
    ``tinyvae.training.checkpoint.read_checkpoint`` renames them, in that one place.)
    """

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
        x_dim, H, z_dim, _ = check_config(x_dim, hidden_dims, z_dim, loss, 0.0, output, dtype)
        self.x_dim, self.hidden_dims, self.z_dim = x_dim, H, z_dim
        self.recon_loss, self.output, self.activation = loss, output, activation
        self.rng = np.random.default_rng(rng)
        self.encoder = mlp([x_dim, *H], activation_name=activation, rng=self.rng, dtype=dtype, last_activation=True)
        self.code_head = Linear(H[-1], z_dim, rng=self.rng, dtype=dtype)
        self.decoder = mlp([z_dim, *H[::-1], x_dim], activation_name=activation, rng=self.rng, dtype=dtype)
        self.output_act: Layer = Sigmoid() if output == "sigmoid" else Identity()

    def parts(self) -> dict[str, Layer]:
        return {"encoder": self.encoder, "code": self.code_head, "decoder": self.decoder}

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, enough to build the same architecture again."""
        return {
            "model": "ae", "x_dim": self.x_dim, "hidden_dims": self.hidden_dims, "z_dim": self.z_dim,
            "loss": self.recon_loss, "output": self.output, "activation": self.activation,
        }

    # ---- the forward, in two halves -------------------------------------------------------
    def encode(self, x: Array, y: Any = None) -> Array:
        """The code z (batch, z_dim) for x (batch, x_dim).

        Unlike ``VAE.encode``, which returns the distribution ``(mu, logvar)``, this is a single point.
        """
        self.check_x(x)  # its shape and its values
        return self._encode(x, y)

    def _encode(self, x: Array, y: Any = None) -> Array:
        """``encode`` for an x whose values were checked: its shape is checked, its values not read."""
        self.check_x_shape(x)
        self.check_labels(y)
        h = self.encoder.forward(x)
        z = self.code_head.forward(h)
        return z

    def embed(self, x: Array, y: Any = None) -> Array:
        """The latent point drawn in scatter plots: the code z itself (batch, z_dim)."""
        return self.encode(x, y)


    def loss_terms(self, x: Array, y: Any = None, *, eps: Array | None = None,
                   rng: np.random.Generator | None = None) -> tuple[Array, Array]:
        """(recon, kl = 0) per example, (batch,) each; eps and rng are ignored (no noise)."""
        logits = self.decode_logits(self.encode(x, y))
        recon = self.reconstruction_per_example(logits, x)
        return recon, recon * 0

    # ---- the loss and its gradients -------------------------------------------------------
    def _loss_and_grads(
        self, x: Array, y: Any = None, *, eps: Array | None = None, rng: np.random.Generator | None = None,
        beta: float | None = None,
    ) -> Loss:
        """One batch's reconstruction loss; fills ``self.grads`` with ∂loss/∂every parameter (x's values
        checked already: ``loss_and_grads`` checks them first).

        x: (batch, x_dim). ``eps``, ``rng`` and ``beta`` are accepted and ignored (the AE draws no noise
        and has no KL term), so training code can call every model the same way. Returns Loss(total=recon, recon, kl=0.0).
        """
        # forward: the same two halves as encode and decode
        z = self._encode(x, y)  # h = encoder(x), z = code_head(h): one point, no sampling
        logits = self.decode_logits(z, y)
        recon, dlogits = reconstruction_loss(self, logits, x)

        # backward: the VAE's chain rule with the sampling and the KL taken out
        dz = self.decoder.backward(dlogits)  # ∂recon/∂z
        dh = self.code_head.backward(dz)  # ∂recon/∂h
        self.encoder.backward(dh, need_dx=False)
        return Loss(float(recon), float(recon), 0.0)
