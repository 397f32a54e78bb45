"""Layers with their forward and backward passes written by hand, side by side.

The protocol, once for every layer (``Conv2d`` in ``conv.py`` follows it too):

- ``params``: dict name -> array, the trainable weights (empty for activations).
- ``grads``: dict with the same keys, written by the last ``backward``.
- ``forward(x) -> out`` computes the output and keeps in ``self.cache`` what backward needs.
- ``backward(dout, need_dx=True) -> dx`` takes ∂L/∂out, fills ``grads`` with ∂L/∂params and
  returns ∂L/∂x. ``need_dx=False`` lets the first layer of a network skip the input gradient
  that nobody uses (it returns ``None``).

Gradients are overwritten, not accumulated: one forward, one backward. Shapes are batch-first:
``x`` is ``(batch, features)``.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from . import backend
from .backend import Array, namespace
from .checks import check_array


def _check_forward_ran(layer: "Layer") -> None:
    """Refuse ``backward`` on a layer whose ``forward`` has not run (there is nothing to differentiate)."""
    if layer.cache is None:
        raise RuntimeError(f"{layer!r}.backward called before forward: run forward(x) first, then backward(dout)")


class Layer:
    """Base of every layer: holds ``params``, ``grads`` and ``cache``; see the module docstring."""

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.cache: Any = None

    def __call__(self, x: Array) -> Array:
        return self.forward(x)

    def forward(self, x: Array) -> Array:
        raise NotImplementedError

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        raise NotImplementedError

    def to(self, xp: ModuleType, device: Any = None) -> "Layer":
        """Move parameters and gradients to namespace ``xp`` (on ``device``); returns self."""
        for d in (self.params, self.grads):
            for k in d:
                d[k] = backend.move(d[k], xp, device)
        self.cache = None
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Layer):
    """Affine map ``out = x @ W.T + b``.

    W: (out_features, in_features), the orientation of the lecture's W_e and of torch's nn.Linear.
    b: (out_features,). x: (batch, in_features) -> out: (batch, out_features).
    Initialised as torch does: U(-1/sqrt(in), 1/sqrt(in)) for both W and b.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got {in_features} -> {out_features}")
        self.in_features, self.out_features = in_features, out_features
        rng = np.random.default_rng(rng)
        bound = 1.0 / math.sqrt(in_features)
        self.params["W"] = rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype)
        self.params["b"] = rng.uniform(-bound, bound, (out_features,)).astype(dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.grads["b"] = np.zeros_like(self.params["b"])

    def forward(self, x: Array) -> Array:
        W, b = self.params["W"], self.params["b"]
        check_array(x, who=repr(self), expect=("batch", self.in_features), like=W)
        self.cache = x
        out = x @ W.T  # (batch, out)
        out += b  # in place: no second (batch, out) array
        return out

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        _check_forward_ran(self)
        x, W = self.cache, self.params["W"]
        xp = namespace(dout)
        self.grads["W"] = dout.T @ x  # (out, in):   ∂L/∂W = doutᵀ x
        self.grads["b"] = xp.sum(dout, axis=0)  # (out,):  ∂L/∂b = Σ_batch dout
        return dout @ W if need_dx else None  # (batch, in): ∂L/∂x = dout W

    def __repr__(self) -> str:
        return f"Linear({self.in_features} → {self.out_features})"


class ReLU(Layer):
    """``out = max(x, 0)``; ``dx = dout * [x > 0]`` (the gradient at 0 is taken as 0, as torch does)."""

    def forward(self, x: Array) -> Array:
        xp = namespace(x)
        self.cache = x
        return xp.maximum(x, 0)

    def backward(self, dout: Array, need_dx: bool = True) -> Array:
        _check_forward_ran(self)
        xp = namespace(dout)
        x = self.cache
        return dout * xp.astype(x > 0, dout.dtype)  # dout * [x > 0]  (a 0/1 mask: 8× faster than xp.where)


class LeakyReLU(Layer):
    """``out = x if x > 0 else slope * x``; ``dx = dout * (1 if x > 0 else slope)``."""

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = slope

    def forward(self, x: Array) -> Array:
        xp = namespace(x)
        self.cache = x
        return xp.where(x > 0, x, self.slope * x)

    def backward(self, dout: Array, need_dx: bool = True) -> Array:
        _check_forward_ran(self)
        xp = namespace(dout)
        x = self.cache
        return xp.where(x > 0, dout, self.slope * dout)

    def __repr__(self) -> str:
        return f"LeakyReLU({self.slope})"


class Sigmoid(Layer):
    """``out = σ(x) = 1 / (1 + e^(-x))``; ``dx = dout * out * (1 - out)``.

    Computed as ``0.5 * tanh(x / 2) + 0.5``, the same function, which never overflows:
    logits of ±1000 give exactly 1 and 0 with no warning.
    """

    def forward(self, x: Array) -> Array:
        out = sigmoid(x)
        self.cache = out
        return out

    def backward(self, dout: Array, need_dx: bool = True) -> Array:
        _check_forward_ran(self)
        out = self.cache
        return dout * out * (1 - out)


class Tanh(Layer):
    """``out = tanh(x)``; ``dx = dout * (1 - out²)``."""

    def forward(self, x: Array) -> Array:
        xp = namespace(x)
        out = xp.tanh(x)
        self.cache = out
        return out

    def backward(self, dout: Array, need_dx: bool = True) -> Array:
        _check_forward_ran(self)
        out = self.cache
        return dout * (1 - out * out)


class Identity(Layer):
    """``out = x``; ``dx = dout``. Stands where a network has no activation."""

    def forward(self, x: Array) -> Array:
        return x

    def backward(self, dout: Array, need_dx: bool = True) -> Array:
        return dout


def sigmoid(x: Array) -> Array:
    """σ(x) = 1 / (1 + e^(-x)), written as 0.5·tanh(x/2) + 0.5 so that it cannot overflow."""
    xp = namespace(x)
    return 0.5 * xp.tanh(0.5 * x) + 0.5


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "identity": Identity,
}


def activation(name: str) -> Layer:
    """A fresh activation layer by name: one of ``ACTIVATIONS``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse (the chain rule, one link a layer).

    ``params``/``grads`` are flat views named ``"{index}.{name}"`` (``"0.W"``, ``"2.b"``, ...),
    as in torch's ``state_dict``.
    """

    def __init__(self, *layers: Layer) -> None:
        self.layers = list(layers)
        self.cache = None  # params and grads are derived from the layers, below

    @property
    def params(self) -> dict[str, Array]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @property
    def grads(self) -> dict[str, Array]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def forward(self, x: Array) -> Array:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        # without need_dx, the backward stops at the first layer with weights: the layers before it
        # (a Reshape, say) have no gradients to fill, and their input gradient is not wanted
        first = 0 if need_dx else next((i for i, layer in enumerate(self.layers) if layer.params), 0)
        for i in range(len(self.layers) - 1, first, -1):
            dout = self.layers[i].backward(dout)
        return self.layers[first].backward(dout, need_dx=need_dx)

    def to(self, xp: ModuleType, device: Any = None) -> "Sequential":
        for layer in self.layers:
            layer.to(xp, device)
        return self

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"


def mlp(
    sizes: list[int],
    *,
    activation_name: str = "relu",
    rng: np.random.Generator,
    dtype: Any,
    last_activation: bool = False,
) -> Sequential:
    """``Linear(sizes[0] → sizes[1])``, activation, ..., ``Linear(sizes[-2] → sizes[-1])``.

    An activation follows every Linear but the last (and the last too if ``last_activation``).
    """
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, rng=rng, dtype=dtype))
        if i < len(sizes) - 2 or last_activation:
            layers.append(activation(activation_name))
    return Sequential(*layers)
