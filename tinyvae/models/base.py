"""What every tinyvae model shares: named parts, flat ``params``/``grads``, moving and loading.

A model names its parts in ``parts()`` (``{"encoder": Sequential, "mu": Linear, ...}``); its
``params`` and ``grads`` are flat dicts named ``"{part}.{name}"`` (``"encoder.0.W"``,
``"mu.b"``), the same names torch's ``state_dict`` would use for the same layers.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Literal, NamedTuple

import numpy as np

from ..engine import backend
from ..engine.backend import Array
from ..engine.checks import check_array, check_finite, check_unit_interval
from ..engine.layers import Layer
from ..engine.losses import bce_with_logits, mse

LossName = Literal["bce", "mse"]


class Loss(NamedTuple):
    """One batch's loss: ``total = recon + beta * kl`` (floats, per example, averaged over the batch)."""

    total: float
    recon: float
    kl: float


class Model:
    """Base class: subclasses set their layers in ``__init__`` and list them in ``parts``."""

    rng: np.random.Generator

    def parts(self) -> dict[str, Layer]:
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Array]:
        return {f"{p}.{k}": v for p, layer in self.parts().items() for k, v in layer.params.items()}

    @property
    def grads(self) -> dict[str, Array]:
        return {f"{p}.{k}": v for p, layer in self.parts().items() for k, v in layer.grads.items()}

    @property
    def dtype(self) -> Any:
        return next(iter(self.params.values())).dtype

    @property
    def xp(self) -> ModuleType:
        """The array namespace the parameters live in."""
        return backend.namespace(next(iter(self.params.values())))

    def to(self, xp: ModuleType, device: Any = None) -> "Model":
        """Move every parameter and gradient to namespace ``xp`` (on ``device``); returns self."""
        for layer in self.parts().values():
            layer.to(xp, device)
        return self

    def load_params(self, values: dict[str, Any]) -> None:
        """Copy ``values`` (host or device arrays, same names and shapes) into the parameters, in place."""
        params = self.params
        missing, extra = set(params) - set(values), set(values) - set(params)
        if missing or extra:
            raise ValueError(
                f"{type(self).__name__} parameters do not match: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        for k, p in params.items():
            v = values[k]
            if tuple(v.shape) != tuple(p.shape):
                raise ValueError(f"parameter {k}: expected shape {tuple(p.shape)}, got {tuple(v.shape)}")
            p[...] = backend.asarray_like(backend.to_numpy(v), p)

    def check_x(self, x: Array) -> None:
        """Refuse a bad input batch (see :func:`check_input`); models with other inputs override this."""
        check_input(self, x)

    def num_params(self) -> int:
        return sum(int(np.prod(p.shape)) for p in self.params.values())

    def _noise_rng(self, rng: np.random.Generator | None) -> np.random.Generator:
        return self.rng if rng is None else rng


# ---- shared by the VAE, the AE and the CVAE ---------------------------------------------------
def reconstruction_loss(model: Any, logits: Array, x: Array) -> tuple[Array, Array]:
    """(recon, dlogits) for a model with ``loss`` "bce" or "mse" and output layer ``model.out``.

    BCE is computed from the logits (σ and BCE together: ∂recon/∂logits = (x_hat - x) / B);
    MSE goes through the output layer and back: dlogits = out.backward(∂recon/∂x_hat).
    """
    if model.loss == "bce":
        return bce_with_logits(logits, x)
    x_hat = model.out.forward(logits)
    recon, dx_hat = mse(x_hat, x)
    return recon, model.out.backward(dx_hat)


def check_input(model: Any, x: Array) -> None:
    """Refuse x unless it is (batch, model.x_dim), where and of the dtype the parameters are,
    finite, and in [0, 1] for BCE."""
    who = f"{type(model).__name__}({model.x_dim} → {model.hidden_dims} → {model.z_dim})"
    check_array(x, who=who, expect=("batch", model.x_dim), like=next(iter(model.params.values())))
    check_finite(x, who=who)
    if model.loss == "bce":
        check_unit_interval(x, who=who)


def check_latent(model: Any, z: Array) -> None:
    """Refuse z unless it is (batch, model.z_dim), where and of the dtype the parameters are."""
    check_array(z, who=f"{type(model).__name__}.decode", name="z", expect=("batch", model.z_dim),
                like=next(iter(model.params.values())))


def check_config(x_dim: int, hidden_dims: Any, z_dim: int, loss: str, beta: float, output: str) -> None:
    """Refuse a model configuration that cannot work, saying which value is wrong."""
    if loss not in ("bce", "mse"):
        raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}")
    if output not in ("sigmoid", "identity"):
        raise ValueError(f"output must be 'sigmoid' or 'identity', got {output!r}")
    if loss == "bce" and output != "sigmoid":
        raise ValueError("loss='bce' needs output='sigmoid' (BCE compares probabilities)")
    if not (isinstance(hidden_dims, (list, tuple)) and len(hidden_dims) >= 1 and all(int(h) >= 1 for h in hidden_dims)):
        raise ValueError(f"hidden_dims must be a non-empty list of positive widths, got {hidden_dims!r}")
    if int(x_dim) < 1 or int(z_dim) < 1:
        raise ValueError(f"x_dim and z_dim must be positive, got x_dim={x_dim}, z_dim={z_dim}")
    if not float(beta) >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
