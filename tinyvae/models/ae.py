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
from ..engine.layers import Identity, Layer, Sigmoid
from . import spec
from .base import Loss, LossName, Model, check_config, check_dtype


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
        activation: str = spec.DEFAULTS["activation"],
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        x_dim, H, z_dim, _ = check_config(x_dim, hidden_dims, z_dim, loss, 0.0, output, dtype)
        self.x_dim, self.hidden_dims, self.z_dim = x_dim, H, z_dim
        self.recon_loss, self.output, self.activation = loss, output, activation
        self.rng = np.random.default_rng(rng)  # the weights, drawn in the spec's order: encoder, code, decoder
        part = spec.build(spec.describe(self.config()), self.rng, check_dtype(dtype))
        self.encoder, self.code_head, self.decoder = part["encoder"], part["code"], part["decoder"]
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
    def _encode(self, x: Array, y: Any = None) -> tuple[Array, None]:
        """(z, None): the code z (batch, z_dim) for x (batch, x_dim), as a point mass: the protocol's
        (mu, logvar) with no spread, logvar None (``has_posterior`` is False: nothing to sample, no KL)."""
        self.check_x_shape(x)
        self.check_labels(y)
        h = self.encoder.forward(x)
        z = self.code_head.forward(h)
        return z, None

    def loss_terms(self, x: Array, y: Any = None, *, eps: Array | None = None,
                   rng: np.random.Generator | None = None) -> tuple[Array, Array]:
        """(recon, kl = 0) per example, (batch,) each; eps and rng are ignored (no noise)."""
        logits = self.decode_logits(self.embed(x, y))
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
        z, _ = self._encode(x, y)  # h = encoder(x), z = code_head(h): one point, no sampling
        logits = self.decode_logits(z, y)
        recon, dlogits = self.reconstruction_loss(logits, x)

        # backward: the VAE's chain rule with the sampling and the KL taken out
        dz = self.decoder.backward(dlogits)  # ∂recon/∂z
        dh = self.code_head.backward(dz)  # ∂recon/∂h
        self.encoder.backward(dh, need_dx=False)
        return Loss(float(recon), float(recon), 0.0)
