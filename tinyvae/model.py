"""What every tinyvae model shares: named parts, flat ``params``/``grads``, moving and loading.

A model names its parts in ``parts()`` (``{"encoder": Sequential, "mu": Linear, ...}``); its
``params`` and ``grads`` are flat dicts named ``"{part}.{name}"`` (``"encoder.0.W"``,
``"mu.b"``), the same names torch's ``state_dict`` would use for the same layers.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from . import backend
from .backend import Array
from .layers import Layer


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

    def num_params(self) -> int:
        return sum(int(np.prod(p.shape)) for p in self.params.values())

    def _noise_rng(self, rng: np.random.Generator | None) -> np.random.Generator:
        return self.rng if rng is None else rng
