"""The variational autoencoder: an encoder with two heads, the reparameterization, a decoder.

Forward, for a batch x (B, D)::

    h       = encoder(x)                     (B, H)     Linear, act, ..., Linear, act
    mu      = mu_head(h)                     (B, Z)
    logvar  = logvar_head(h)                 (B, Z)     log σ²
    z       = mu + exp(0.5 logvar) * eps     (B, Z)     eps ~ N(0, I)
    logits  = decoder(z)                     (B, D)     Linear, act, ..., Linear
    x_hat   = σ(logits)  (or logits itself with output="identity")

    loss    = recon(x_hat, x) + β · KL(N(mu, σ²) ‖ N(0, I))
              (free bits λ > 0: β · Σ_j max(λ, KL_j), each dimension's batch-mean KL floored at λ)

Backward is the chain rule written out in the same order, reversed (see ``_loss_and_grads``); the
CVAE and the convolutional VAE run the same lines. The layers are built from the architecture's
description (``spec.py``: MLPs here, convolutions for ``conv_vae.py``), in its order: encoder, mu,
logvar, decoder, every weight drawn from the model's one generator.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..engine.backend import Array
from ..engine.layers import Identity, Layer, Sigmoid
from ..engine.losses import kl_divergence, kl_divergence_per_example, kl_free_bits
from ..engine.reparam import Reparameterize
from . import spec
from .base import Loss, LossName, Model, check_beta, check_config, check_dtype, check_free_bits


class VAE(Model):
    """VAE(x_dim, hidden_dims, z_dim, loss="bce" | "mse", beta=1.0, rng=..., dtype=...).

    x_dim:       input features (784 for MNIST).
    hidden_dims: widths of the encoder's hidden layers, e.g. [400]; the decoder mirrors them.
    z_dim:       latent dimensions.
    loss:        "bce" (sigmoid output, binary cross-entropy) or "mse" (squared error); kept as
                 ``recon_loss``.
    beta:        weight of the KL term (β-VAE); 0 trains on reconstruction alone.
    output:      "sigmoid" (default) or "identity" (only with "mse", for real-valued data).
    activation:  hidden activation, "relu" by default (see ``layers.ACTIVATIONS``).
    free_bits:   λ ≥ 0, nats per latent dimension: the KL term becomes Σ_j max(λ, KL_j) with KL_j the
                 batch-mean KL of dimension j (free bits, Kingma et al. 2016; ``losses.kl_free_bits``),
                 a remedy for posterior collapse. 0 (default): the plain KL.
    rng:         numpy Generator (or seed) for the initial weights and, later, the noise eps.
    dtype:       np.float64 for teaching and tests, np.float32 for fast training.
    """

    has_posterior = True

    def __init__(
        self,
        x_dim: int,
        hidden_dims: list[int] | tuple[int, ...],
        z_dim: int,
        loss: LossName = "bce",
        beta: float = 1.0,
        *,
        output: Literal["sigmoid", "identity"] = "sigmoid",
        activation: str = spec.DEFAULTS["activation"],
        free_bits: float = 0.0,
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        x_dim, H, z_dim, beta = check_config(x_dim, hidden_dims, z_dim, loss, beta, output, dtype)
        self.hidden_dims, self.output, self.activation = H, output, activation
        self.free_bits = check_free_bits(free_bits)
        self.x_dim, self.z_dim, self.recon_loss, self.beta = x_dim, z_dim, loss, beta
        self._build(rng, dtype)

    def _build(self, rng: np.random.Generator | int | None, dtype: Any) -> None:
        """The layers ``self.config()`` describes (``spec.describe``), built by ``spec.build`` in the
        spec's order, encoder, mu, logvar, decoder, every weight drawn from one generator, kept as
        ``self.rng`` for the noise eps; then the reparameterization and the output activation."""
        self.rng = np.random.default_rng(rng)
        part = spec.build(spec.describe(self.config()), self.rng, check_dtype(dtype))
        self.encoder, self.mu_head, self.logvar_head = part["encoder"], part["mu"], part["logvar"]
        self.decoder = part["decoder"]
        self.reparam = Reparameterize()
        self.output_act: Layer = Sigmoid() if self.output == "sigmoid" else Identity()

    def parts(self) -> dict[str, Layer]:
        return {"encoder": self.encoder, "mu": self.mu_head, "logvar": self.logvar_head, "decoder": self.decoder}

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, enough to build the same architecture again."""
        return {
            "model": "vae", "x_dim": self.x_dim, "hidden_dims": self.hidden_dims, "z_dim": self.z_dim,
            "loss": self.recon_loss, "beta": self.beta, "output": self.output, "activation": self.activation,
            **self._free_bits_config(),
        }

    def _free_bits_config(self) -> dict[str, float]:
        """``{"free_bits": λ}`` when λ > 0, else nothing (a config without it means the plain KL)."""
        return {"free_bits": self.free_bits} if self.free_bits else {}

    # ---- the forward, in two halves: every caller (loss, evaluation, plots) goes through these ----
    def _encode(self, x: Array, y: Any = None) -> tuple[Array, Array]:
        """``encode`` for an x whose values were checked: its shape is checked, its values not read."""
        self.check_x_shape(x)
        self.check_labels(y)
        h = self.encoder.forward(x)
        return self.mu_head.forward(h), self.logvar_head.forward(h)


    def _sample_z(self, mu: Array, logvar: Array, eps: Array | None, rng: np.random.Generator | None) -> Array:
        self.check_eps(eps, mu.shape[0])
        return self.reparam.forward(mu, logvar, eps=eps, rng=self._noise_rng(rng))

    def loss_terms(self, x: Array, y: Any = None, *, eps: Array | None = None,
                   rng: np.random.Generator | None = None) -> tuple[Array, Array]:
        """(recon, kl) per example, (batch,) each, one z per example; no backward, grads untouched."""
        mu, logvar = self.encode(x, y)
        z = self._sample_z(mu, logvar, eps, rng)
        logits = self.decode_logits(z, y)
        return self.reconstruction_per_example(logits, x), kl_divergence_per_example(mu, logvar)

    # ---- the loss and its gradients -------------------------------------------------------
    def kl_term(self, mu: Array, logvar: Array) -> tuple[Array, Array, Array, Array]:
        """(kl_loss, kl, dmu, dlogvar): the KL term the loss weighs by β, the plain KL, and the term's
        gradients. Free bits λ > 0: kl_loss = Σ_j max(λ, kl_j) (``kl_free_bits``: a dimension below λ
        gets no gradient from it); otherwise kl_loss = kl (``kl_divergence``)."""
        if self.free_bits:
            return kl_free_bits(mu, logvar, self.free_bits)
        kl, dmu, dlogvar = kl_divergence(mu, logvar)
        return kl, kl, dmu, dlogvar

    def latent_grad(self, d_input: Array) -> Array:
        """∂recon/∂z (batch, z_dim) from ∂recon/∂(the decoder's input): the decoder reads z alone, so
        they are one array here (a CVAE's decoder reads [z, c]: ``CVAE.latent_grad`` keeps z's columns)."""
        return d_input

    def kl_weight(self, beta: float | None) -> float:
        """The β of one step: the model's own, or ``beta`` (KL warm-up passes β·min(1, e/N)), checked."""
        return self.beta if beta is None else check_beta(beta)

    def _loss_and_grads(
        self, x: Array, y: Any = None, *, eps: Array | None = None, rng: np.random.Generator | None = None,
        beta: float | None = None,
    ) -> Loss:
        """One batch's loss; fills ``self.grads`` with ∂loss/∂every parameter (``loss_and_grads`` checks x's
        values first; this, what training calls on the slices of a data set checked once, does not).

        x: (batch, x_dim). eps: (batch, z_dim) fixed noise, or None to draw it from ``rng``
        (default: the model's own generator). beta: the KL weight of this step (default: the
        model's β). Returns Loss(total, recon, kl) as floats.
        """
        # forward
        beta = self.kl_weight(beta)
        mu, logvar = self._encode(x, y)  # h = encoder(x) feeds both heads
        z = self._sample_z(mu, logvar, eps, rng)  # z = mu + std * eps
        logits = self.decode_logits(z, y)
        recon, dlogits = self.reconstruction_loss(logits, x)  # BCE: dlogits = (x_hat - x) / B
        kl_loss, kl, dmu_kl, dlogvar_kl = self.kl_term(mu, logvar)  # free bits: Σ_j max(λ, kl_j)
        total = recon + beta * kl_loss

        # backward: the chain rule, from the loss back to the input
        dz = self.latent_grad(self.decoder.backward(dlogits))  # ∂recon/∂z
        dmu_recon, dlogvar_recon = self.reparam.backward(dz)  # through z = mu + std * eps
        dmu = dmu_recon + beta * dmu_kl  # both terms depend on mu (free bits: dmu_kl = 0 in a dimension below λ) ...
        dlogvar = dlogvar_recon + beta * dlogvar_kl  # ... and on logvar
        dh = self.mu_head.backward(dmu) + self.logvar_head.backward(dlogvar)  # h feeds both heads
        self.encoder.backward(dh, need_dx=False)
        return Loss(float(total), float(recon), float(kl))
