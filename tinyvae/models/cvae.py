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

Because the decoder is told the digit, z only has to carry the rest (slant, thickness, style):
``generate(7, n)`` decodes n draws z ~ N(0, I) next to the label 7 and gives n different sevens.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..engine import backend
from ..engine.backend import Array, namespace
from ..engine.layers import mlp
from .base import LabelsRequired, Loss, LossName, check_config, check_free_bits, check_int, reconstruction_loss
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
        n_classes: int = 10,
        loss: LossName = "bce",
        beta: float = 1.0,
        *,
        output: Literal["sigmoid", "identity"] = "sigmoid",
        activation: str = "relu",
        free_bits: float = 0.0,
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        x_dim, H, z_dim, beta = check_config(x_dim, hidden_dims, z_dim, loss, beta, output, dtype)
        self.n_classes = C = check_int("n_classes", n_classes, lo=2)
        self.hidden_dims, self.output, self.activation = H, output, activation
        self.free_bits = check_free_bits(free_bits)
        rng = np.random.default_rng(rng)
        encoder = mlp([x_dim + C, *H], activation_name=activation, rng=rng, dtype=dtype, last_activation=True)
        decoder = lambda: mlp([z_dim + C, *H[::-1], x_dim], activation_name=activation, rng=rng, dtype=dtype)  # noqa: E731
        self._assemble(x_dim, z_dim, loss, beta, encoder, H[-1], decoder, output=output, rng=rng, dtype=dtype)

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
    def encode(self, x: Array, y: Any = None) -> tuple[Array, Array]:
        """(mu, logvar), each (batch, z_dim), for x (batch, x_dim) with labels y (batch,)."""
        self.check_x(x)  # its shape and its values
        return self._encode(x, y)

    def _encode(self, x: Array, y: Any = None) -> tuple[Array, Array]:
        """``encode`` for an x whose values were checked: its shape is checked, its values not read."""
        self.check_x_shape(x)
        xp = namespace(x)
        c = self.onehot(y, x.shape[0])  # (B, C)
        h = self.encoder.forward(xp.concat((x, c), axis=1))  # encoder sees [x, c]: (B, D + C)
        return self.mu_head.forward(h), self.logvar_head.forward(h)

    def encoder_input(self, x: Array, y: Any = None) -> Array:
        """[x, onehot(y)]: (batch, x_dim + n_classes), what the encoder reads."""
        return namespace(x).concat((x, self.onehot(y, x.shape[0])), axis=1)

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

    # ---- the loss and its gradients -------------------------------------------------------
    def _loss_and_grads(
        self, x: Array, y: Any = None, *, eps: Array | None = None, rng: np.random.Generator | None = None,
        beta: float | None = None,
    ) -> Loss:
        """One batch's loss; fills ``self.grads`` with ∂loss/∂every parameter (x's values checked already:
        ``loss_and_grads`` checks them first).

        x: (batch, x_dim); y: integer labels (batch,), required; eps: (batch, z_dim) fixed noise, or None
        to draw it from ``rng`` (default: the model's own generator); beta: the KL weight of this step
        (default: the model's β). Returns Loss(total, recon, kl).
        """
        # forward: the VAE's, with c = onehot(y) joined to the encoder's and the decoder's input
        beta = self.kl_weight(beta)
        mu, logvar = self._encode(x, y)  # h = encoder([x, c])
        z = self._sample_z(mu, logvar, eps, rng)
        logits = self.decode_logits(z, y)  # decoder([z, c])
        recon, dlogits = reconstruction_loss(self, logits, x)
        kl_loss, kl, dmu_kl, dlogvar_kl = self.kl_term(mu, logvar)  # free bits: Σ_j max(λ, kl_j)
        total = recon + beta * kl_loss

        # backward: the VAE's chain rule, with one more step at the decoder's input
        dzc = self.decoder.backward(dlogits)  # ∂recon/∂[z, c]: (B, Z + C)
        dz = dzc[:, : self.z_dim]  # the columns that came from z; c is data, its gradient is dropped
        dmu_recon, dlogvar_recon = self.reparam.backward(dz)  # through z = mu + std * eps
        dmu = dmu_recon + beta * dmu_kl  # free bits: dmu_kl, dlogvar_kl = 0 in a dimension below λ
        dlogvar = dlogvar_recon + beta * dlogvar_kl
        dh = self.mu_head.backward(dmu) + self.logvar_head.backward(dlogvar)  # h feeds both heads
        self.encoder.backward(dh, need_dx=False)  # no gradient for [x, c]: both are data
        return Loss(float(total), float(recon), float(kl))
