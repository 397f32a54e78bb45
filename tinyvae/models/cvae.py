"""The conditional VAE: the digit's label, one-hot, goes into the encoder and into the decoder.

Forward, for a batch x (B, D) with integer labels y (B,) among C classes::

    c       = onehot(y)                          (B, C)
    h       = encoder([x, c])                    (B, H)     input is x and c side by side (D + C)
    mu      = mu_head(h)                         (B, Z)
    logvar  = logvar_head(h)                     (B, Z)     log σ²
    z       = mu + exp(0.5 logvar) * eps         (B, Z)     eps ~ N(0, I)
    logits  = decoder([z, c])                    (B, D)     input is z and c side by side (Z + C)
    x_hat   = σ(logits)  (or logits itself with output="identity")

    loss    = recon(x_hat, x) + β · KL(N(mu, σ²) ‖ N(0, I))

Backward is the VAE's (``VAE._loss_and_grads``, the same lines) with one more step: the decoder's
backward gives d[z, c] (B, Z + C), and ``latent_grad`` keeps z's columns (c is data).

Because the decoder is told the digit, z only has to carry the rest (slant, thickness, style):
``generate(7, n)`` decodes n draws z ~ N(0, I) next to the label 7 and gives n different sevens.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..engine import backend
from ..engine.backend import Array, namespace
from . import ranges, spec
from .base import LabelsRequired, LossName, check_config, check_free_bits
from .vae import VAE


class CVAE(VAE):
    """CVAE(x_dim, hidden_dims, z_dim, n_classes=10, loss="bce" | "mse", beta=1.0, rng=..., dtype=...).

    The arguments are :class:`tinyvae.VAE`'s plus ``n_classes``, the number of labels (10 digits).
    The encoder's first Linear takes x_dim + n_classes inputs, the decoder's first z_dim + n_classes.
    Labels ``y`` are integer arrays (batch,) with values 0 .. n_classes - 1, required wherever the
    protocol takes y (``encode``, ``decode``, ``loss_and_grads``, ...).
    """

    def __init__(
        self,
        x_dim: int,
        hidden_dims: list[int] | tuple[int, ...],
        z_dim: int,
        n_classes: int = spec.DEFAULTS["n_classes"],
        loss: LossName = "bce",
        beta: float = 1.0,
        *,
        output: Literal["sigmoid", "identity"] = "sigmoid",
        activation: str = spec.DEFAULTS["activation"],
        free_bits: float = 0.0,
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        self.n_classes = ranges.check("n_classes", n_classes)
        x_dim, H, z_dim, beta = check_config(x_dim, hidden_dims, z_dim, loss, beta, output, dtype, self.n_classes)
        self.hidden_dims, self.output, self.activation = H, output, activation
        self.free_bits = check_free_bits(free_bits)
        self.x_dim, self.z_dim, self.recon_loss, self.beta = x_dim, z_dim, loss, beta
        self._build(rng, dtype)  # the VAE's, from this config: the first Linears read D + C and Z + C columns

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, enough to build the same architecture again."""
        return {
            "model": "cvae", "x_dim": self.x_dim, "hidden_dims": self.hidden_dims, "z_dim": self.z_dim,
            "n_classes": self.n_classes, "loss": self.recon_loss, "beta": self.beta, "output": self.output,
            "activation": self.activation, **self._free_bits_config(),
        }

    # ---- the label --------------------------------------------------------------------------
    def onehot(self, y: Any, batch: int | None = None) -> Array:
        """The one-hot rows c (batch, n_classes) for labels y (batch,), in the parameters' namespace and device.

        y must hold integers 0 .. n_classes - 1 (a NumPy or device array, or a list); ``batch``, when
        given, is the length y must have (the number of rows of x).
        """
        who = f"{type(self).__name__} (n_classes={self.n_classes})"
        if y is None:
            raise LabelsRequired(f"{who} needs the labels y (batch,) of its inputs")
        y_host = np.asarray(backend.to_numpy(y) if backend.is_array(y) else y)
        if y_host.dtype.kind not in "iu":
            raise TypeError(f"{who} expects integer labels y, got dtype {y_host.dtype}: use y.astype(int)")
        if y_host.ndim != 1:
            raise ValueError(f"{who} expects labels y of shape (batch,), got shape {tuple(y_host.shape)}")
        if batch is not None and y_host.shape[0] != batch:
            raise ValueError(f"{who} got {batch} inputs but {y_host.shape[0]} labels y")
        if y_host.size and (y_host.min() < 0 or y_host.max() >= self.n_classes):
            raise ValueError(
                f"{who} expects labels y in 0..{self.n_classes - 1}, got values in [{y_host.min()}, {y_host.max()}]"
            )
        ref = self.ref
        xp, dev = namespace(ref), backend.device(ref)
        y_dev = xp.asarray(y_host.astype(np.int64), device=dev) if xp is not np else y_host
        classes = xp.arange(self.n_classes, device=dev) if xp is not np else np.arange(self.n_classes)
        return xp.astype(y_dev[:, None] == classes[None, :], ref.dtype)  # (batch, n_classes)

    # ---- the forward, in two halves: the label joins x and z -----------------------------
    def _encode(self, x: Array, y: Any = None) -> tuple[Array, Array]:
        """``encode`` for an x whose values were checked: its shape is checked, its values not read."""
        self.check_x_shape(x)
        xp = namespace(x)
        c = self.onehot(y, x.shape[0])  # (B, C)
        h = self.encoder.forward(xp.concat((x, c), axis=1))  # encoder sees [x, c]: (B, D + C)
        return self.mu_head.forward(h), self.logvar_head.forward(h)

    def decode_logits(self, z: Array, y: Any = None) -> Array:
        """The decoder's output before the sigmoid, (batch, x_dim), for z (batch, z_dim) with labels y."""
        self.check_latent(z)
        xp = namespace(z)
        c = self.onehot(y, z.shape[0])  # (B, C)
        logits = self.decoder.forward(xp.concat((z, c), axis=1))  # decoder sees [z, c]: (B, Z + C)
        return logits

    def generate(self, digit: int, n: int, rng: np.random.Generator | None = None) -> Array:
        """n images of class ``digit``: decode(z, digit) for z ~ N(0, I), (n, x_dim)."""
        if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or not 0 <= digit < self.n_classes:
            raise ValueError(f"{type(self).__name__}.generate: digit must be an integer in 0..{self.n_classes - 1}, got {digit!r}")
        return self.sample(n, rng, label=int(digit))

    # ---- the loss and its gradients: the VAE's chain rule, with one step at the decoder's input ----
    def latent_grad(self, dzc: Array) -> Array:
        """∂recon/∂z (batch, z_dim) from ∂recon/∂[z, c] (batch, z_dim + n_classes): the columns that came
        from z; c is data, its gradient is dropped. ``VAE._loss_and_grads`` calls it after the decoder's
        backward; the rest of the CVAE's backward is the VAE's, line for line."""
        return dzc[:, : self.z_dim]
