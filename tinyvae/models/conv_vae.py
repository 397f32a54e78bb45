"""The β-VAE document's convolutional VAE (``tinyvae train --arch conv``).

Forward, for a batch of flat images x (B, 784), with the default sizes::

    encoder   x -> (B, 1, 28, 28)                       Reshape
              Conv2d(1 → 32, 3×3, stride 2, pad (0, 1)) (B, 32, 14, 14)   ReLU
              Conv2d(32 → 64, 3×3, stride 2, pad (0, 1))(B, 64, 7, 7)     ReLU
              Flatten                                   (B, 3136)
              Linear(3136 → 16)                         (B, 16) = h       ReLU
    mu, logvar = Linear(16 → 2)(h), Linear(16 → 2)(h)   (B, 2) each       logvar = log σ²
    z          = mu + exp(0.5 logvar) * eps             (B, 2)
    decoder   Linear(2 → 3136)                          (B, 3136)         ReLU
              Reshape                                   (B, 64, 7, 7)
              ConvTranspose2d(64 → 64, 3×3, s 2, pad (0, 1))  (B, 64, 14, 14)  ReLU
              ConvTranspose2d(64 → 32, 3×3, s 2, pad (0, 1))  (B, 32, 28, 28)  ReLU
              ConvTranspose2d(32 → 1, 3×3, s 1, pad 1)  (B, 1, 28, 28)
              Flatten                                   (B, 784) = logits
    x_hat   = σ(logits)
    loss    = Σ_pixels (x_hat - x)² + β · KL        averaged over the batch ("mse", the document's)
              (or the binary cross-entropy with loss="bce")

The document's Keras layers use ``padding='same'``, and so does this model (``padding="same"``, the
default): a stride-1 layer pads one pixel on each side, a stride-2 layer pads 0 rows and columns
before the image and 1 after (``conv.same_padding``, read by ``spec.conv_pads``), and its transposed
convolution cuts the same rows off its output (7 → 14 → 28). Every weight is drawn as Keras draws it, Glorot-uniform
(U(±√(6 / (fan_in + fan_out)))), and every bias starts at zero. ``padding="symmetric"`` is the
torch-style model tinyvae built before (pad 1 on both sides, ``output_padding=1``): checkpoints
written without the key were trained with it, and load as it (``training/schema.py: WRITTEN_BEFORE``).

Forward and backward are the VAE's, unchanged (``VAE._loss_and_grads``): the layers above are this
architecture's description in ``spec.py``, from which ``VAE._build`` builds the encoder, the heads and
the decoder, as it builds an MLP's. Backward: the loss gives ∂/∂logits;
``decoder.backward`` runs it back through Flatten, the three transposed convolutions (each
backward is a convolution, ``conv.py``), Reshape and the Linear to ∂/∂z; the reparameterization
and the KL give ∂/∂mu and ∂/∂logvar; both heads send theirs to h; ``encoder.backward`` runs it
through the Linear, Flatten and the two convolutions (each backward a ``col2im`` of ``Wᵀ dout``).
The convolutional model differs from the MLP only in what its ``encoder`` and ``decoder`` contain.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import ranges, spec
from .base import check_beta, check_free_bits, check_size
from .vae import VAE, LossName


def glorot_uniform(params: dict[str, Any], rng: np.random.Generator) -> None:
    """Keras's initialisation, in place: every weight ~ U(±√(6 / (fan_in + fan_out))), every bias 0.

    fan_in + fan_out is (in + out)·kh·kw for a (transposed) convolution's W (out, in, kh, kw) or
    (in, out, kh, kw), in + out for a Linear's W (out, in). Weights are drawn in the order of ``params``.
    """
    for name, p in params.items():
        if name.endswith(".b"):
            p[...] = 0
        else:
            limit = math.sqrt(6.0 / ((p.shape[0] + p.shape[1]) * math.prod(p.shape[2:])))
            p[...] = rng.uniform(-limit, limit, p.shape)


class ConvVAE(VAE):
    """ConvVAE(x_dim=784, channels=(32, 64), hidden_dim=16, z_dim=2, loss="mse", beta=1.0, kernel_size=3,
    padding="same").

    x_dim:       pixels of a square grey image (784 = 28×28); the side must be divisible by 4.
    channels:    channels of the two stride-2 convolutions; the decoder mirrors them.
    hidden_dim:  width of the dense layer between the convolutions and the heads (16 in the document).
    z_dim:       latent dimensions (2 in the document).
    loss:        "mse" (squared error summed over pixels, the document's) or "bce".
    beta:        weight of the KL term (β-VAE).
    kernel_size: odd kernel size of every (transposed) convolution.
    free_bits:   λ of the free-bits KL, as for :class:`tinyvae.VAE` (0: the plain KL).
    padding:     "same" (Keras's, the document's: (0, 1) at stride 2) or "symmetric" (torch-style, (1, 1)).
    rng, dtype:  as for :class:`tinyvae.VAE`.

    Inputs are flat (batch, x_dim) in [0, 1], like every tinyvae model; the image shape is
    restored inside. Parameters are named like the MLP's (``encoder.1.W`` is the first
    convolution's kernel (32, 1, 3, 3), ``decoder.3.W`` the first transposed convolution's).
    The output is always a sigmoid.
    """

    def __init__(
        self,
        x_dim: int = 784,
        channels: list[int] | tuple[int, int] = spec.DEFAULTS["channels"],
        hidden_dim: int = spec.DEFAULTS["hidden_dim"],
        z_dim: int = 2,
        loss: LossName = "mse",
        beta: float = 1.0,
        kernel_size: int = spec.DEFAULTS["kernel_size"],
        padding: str = spec.DEFAULTS["padding"],
        *,
        free_bits: float = 0.0,
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        self.free_bits = check_free_bits(free_bits)
        x_dim, side = ranges.check("x_dim", x_dim), math.isqrt(int(x_dim))
        if side * side != x_dim or side % 4 or side < 4:
            raise ValueError(f"ConvVAE needs square images whose side is divisible by 4 (784 = 28²), got x_dim={x_dim}")
        self.channels = ranges.check_widths("channels", channels, 2, 2)
        self.kernel_size = k = ranges.check("kernel_size", kernel_size)
        if k % 2 == 0:
            raise ValueError(f"kernel_size must be odd (so that padding keeps the size), got {kernel_size}")
        self.padding = ranges.check_choice("padding", padding)
        ranges.check_choice("loss", loss)
        self.hidden_dim, z_dim = ranges.check("hidden_dim", hidden_dim), ranges.check("z_dim", z_dim)
        check_size({"arch": "conv", "model": "vae", "x_dim": x_dim, "z_dim": z_dim, "hidden_dim": self.hidden_dim,
                    "channels": self.channels, "kernel_size": k})  # the checkpoint's limit
        self.side, self.output = side, "sigmoid"
        self.x_dim, self.z_dim, self.recon_loss, self.beta = x_dim, z_dim, loss, check_beta(beta)
        self._build(rng, dtype)  # the layers of spec.py's conv table, torch's initialisation, then ...
        glorot_uniform(self.params, self.rng)  # ... every weight drawn again as Keras draws it

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, enough to build the same architecture again."""
        return {
            "model": "vae", "arch": "conv", "x_dim": self.x_dim, "channels": self.channels,
            "hidden_dim": self.hidden_dim, "z_dim": self.z_dim, "loss": self.recon_loss, "beta": self.beta,
            "kernel_size": self.kernel_size, "padding": self.padding, **self._free_bits_config(),
        }

    def describe(self) -> str:
        return f"ConvVAE({self.side}×{self.side} → {self.channels} → {self.hidden_dim} → {self.z_dim})"
