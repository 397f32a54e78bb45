"""Optimizers: they step a model's ``params`` in place with its ``grads``.

The protocol, once: an optimizer is built on anything with ``params`` and ``grads`` dicts of the
same keys (a layer, a ``Sequential``, a model)::

    opt = Adam(model, lr=1e-3)
    model.loss_and_grads(x, rng=rng)    # fills model.grads
    opt.step()                          # params <- params - update(grads)

Parameters are updated in place, so every view of them (the layers, ``model.params``) sees the
new values. The optimizer's own state (Adam's moments) is keyed by parameter name, so it can be
saved in a checkpoint and moved with :meth:`to`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Protocol

from . import backend
from .backend import Array


class HasParams(Protocol):
    @property
    def params(self) -> dict[str, Array]: ...
    @property
    def grads(self) -> dict[str, Array]: ...


class Optimizer:
    """Base: holds the module, the learning rate and a ``state`` dict of named arrays."""

    def __init__(self, module: HasParams, lr: float) -> None:
        if not 0 < lr < float("inf"):
            raise ValueError(f"learning rate must be positive (and finite), got {lr}")
        self.module, self.lr = module, float(lr)
        self.t = 0  # steps taken
        self.state: dict[str, Array] = {}

    def step(self) -> None:
        raise NotImplementedError

    def to(self, xp: ModuleType, device: Any = None) -> "Optimizer":
        """Move the optimizer's state to namespace ``xp`` (after moving the module)."""
        self.state = {k: backend.move(v, xp, device) for k, v in self.state.items()}
        return self


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum as torch defines it::

        buf = momentum * buf + g      (buf = g on the first step)
        p  -= lr * buf
    """

    def __init__(self, module: HasParams, lr: float = 1e-2, momentum: float = 0.0) -> None:
        super().__init__(module, lr)
        self.momentum = float(momentum)
        if self.momentum:
            self.state = {f"buf.{k}": p * 0 for k, p in module.params.items()}

    def step(self) -> None:
        self.t += 1
        grads = self.module.grads
        for name, p in self.module.params.items():
            g = grads[name]
            if self.momentum:
                buf = self.state[f"buf.{name}"]
                if self.t == 1:
                    buf[...] = g
                else:
                    buf *= self.momentum
                    buf += g
                g = buf
            p -= self.lr * g


class Adam(Optimizer):
    """Adam with bias correction and torch's defaults (betas 0.9, 0.999; eps 1e-8)::

        m  = β1 m + (1 - β1) g               first moment
        v  = β2 v + (1 - β2) g²              second moment
        m̂ = m / (1 - β1ᵗ),  v̂ = v / (1 - β2ᵗ)
        p -= lr · m̂ / (√v̂ + eps)

    The last line is computed as ``p -= m / denom`` with ``denom = (√v / √(1 - β2ᵗ) + eps) · (1 - β1ᵗ) / lr``:
    the constants gathered below the line, so that the update costs one array division and no extra
    temporaries. It is torch's formula with the operations in another order, so trajectories agree
    with ``torch.optim.Adam`` to rounding.
    """

    def __init__(
        self,
        module: HasParams,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(module, lr)
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam betas must be two numbers in [0, 1), got {tuple(betas)}")
        if not 0 < eps < float("inf"):
            raise ValueError(f"Adam eps must be a positive number, got {eps}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        for k, p in module.params.items():
            self.state[f"m.{k}"] = p * 0
            self.state[f"v.{k}"] = p * 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1 - b1**self.t)
        bias2_sqrt = (1 - b2**self.t) ** 0.5
        xp = None
        grads = self.module.grads
        for name, p in self.module.params.items():
            g = grads[name]
            m, v = self.state[f"m.{name}"], self.state[f"v.{name}"]
            xp = xp or backend.namespace(p)
            m *= b1
            m += (1 - b1) * g  # m = β1 m + (1 - β1) g
            v *= b2
            v += (1 - b2) * (g * g)  # v = β2 v + (1 - β2) g²
            # p -= lr·m̂ / (√v̂ + eps) = m / denom,  denom = (√v / √(1 - β2ᵗ) + eps) · (1 - β1ᵗ) / lr
            denom = xp.sqrt(v)
            denom *= 1 / (bias2_sqrt * step_size)
            denom += self.eps / step_size
            p -= m / denom
