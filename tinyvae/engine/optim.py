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

import math
import numbers
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Protocol

import numpy as np

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
        self.module, self.lr = module, hyperparameter("lr", lr, 0.0, math.inf, "positive (and finite)")
        self.t = 0  # steps taken
        self.state: dict[str, Array] = {}

    def step(self) -> None:
        raise NotImplementedError

    def to(self, xp: ModuleType, device: Any = None) -> "Optimizer":
        """Move the optimizer's state to namespace ``xp`` (after moving the module)."""
        self.state = {k: backend.move(v, xp, device) for k, v in self.state.items()}
        return self


def hyperparameter(name: str, value: Any, lo: float, hi: float, what: str, *, closed_lo: bool = False) -> float:
    """``value`` as a float if it is a real number (not a bool) with lo < value < hi (lo <= value with
    ``closed_lo``); TypeError or ValueError naming the ``name`` and ``what`` it must be otherwise."""
    if not _real(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    v = float(value)
    if not ((lo <= v if closed_lo else lo < v) and v < hi):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return v


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum as torch defines it::

        buf = momentum * buf + g      (buf = g on the first step)
        p  -= lr * buf
    """

    def __init__(self, module: HasParams, lr: float = 1e-2, momentum: float = 0.0) -> None:
        super().__init__(module, lr)
        self.momentum = hyperparameter("SGD momentum", momentum, 0.0, 1.0, "a number in [0, 1)",
                                       closed_lo=True)
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


# ---- Adam's hyper-parameters, their one range (the checkpoint's schema reads these checks too) ----------
def check_adam_betas(betas: Any) -> tuple[float, float]:
    """(β1, β2) as floats if ``betas`` is two real numbers, each from 0 to below 1 (at 1, 1 - βᵗ = 0 divides)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(_real(b) and 0 <= b < 1 for b in betas):
        raise ValueError(f"Adam betas must be two numbers in [0, 1), got "
                         f"{tuple(betas) if isinstance(betas, (tuple, list)) else betas!r}")
    return float(betas[0]), float(betas[1])


def check_adam_eps(eps: Any, dtypes: Iterable[Any]) -> float:
    """eps as a float if it is a finite number at least the smallest normal number of the parameters'
    ``dtypes`` (1.18e-38 for float32): a smaller eps rounds to 0 (or loses its digits), 0/0 = NaN."""
    v = hyperparameter("Adam eps", eps, 0.0, math.inf, "a positive number (and finite)")
    tiny = max((float(np.finfo(dtype).tiny) for dtype in dtypes), default=0.0)
    if v < tiny:
        raise ValueError(f"Adam eps must be at least {tiny:.3g}, the smallest normal number of the "
                         f"parameters' dtype, got {eps!r}")
    return v


class Adam(Optimizer):
    """Adam with bias correction and torch's defaults (betas 0.9, 0.999; eps 1e-8)::

        m  = β1 m + (1 - β1) g               first moment
        v  = β2 v + (1 - β2) g²              second moment
        m̂ = m / (1 - β1ᵗ),  v̂ = v / (1 - β2ᵗ)
        p -= lr · m̂ / (√v̂ + eps)

    :meth:`step_plain` is these four lines as code. :meth:`step`, what training runs, is its fast twin
    :meth:`_step_fast`: the same equations in the order torch computes them,
    ``p -= (lr / (1 - β1ᵗ)) · m / (√v / √(1 - β2ᵗ) + eps)``, in place, with no m̂ or v̂ array. That order
    cannot overflow for any legal lr and eps: √v / √(1 - β2ᵗ) is at most √v / √(1 - β2); the ratio
    m / (√v̂ + eps) is bounded, |m| / √v̂ <= (1 - β1) / √((1 - β2)(1 - β1²/β2)) (Cauchy-Schwarz on the
    two moving sums, for β1² < β2: 7.3 for the defaults); and the scalar lr / (1 - β1ᵗ) is formed in
    float64 before it meets the array. (Folding lr into the denominator, as an earlier version did, made
    1 / lr overflow float32 for lr below about 3e-39: 0 · inf = NaN.) The two forms give the same m and v
    bit for bit and the same step to rounding (``tests/test_optim.py::test_adam_fast_step_equals_plain``).
    """

    def __init__(
        self,
        module: HasParams,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(module, lr)
        self.beta1, self.beta2 = check_adam_betas(betas)
        self.eps = check_adam_eps(eps, [backend.host_dtype(p) for p in module.params.values()])
        for k, p in module.params.items():
            self.state[f"m.{k}"] = p * 0
            self.state[f"v.{k}"] = p * 0

    def step_plain(self) -> None:
        """One step, the four equations as written, each intermediate a new array (the reference form)."""
        self.t += 1
        b1, b2, t, lr, eps = self.beta1, self.beta2, self.t, self.lr, self.eps
        for name, p in self.module.params.items():
            g, m, v = self.module.grads[name], self.state[f"m.{name}"], self.state[f"v.{name}"]
            xp = backend.namespace(p)  # the arrays' library (NumPy here), for its sqrt
            m[...] = b1 * m + (1 - b1) * g  # first moment
            v[...] = b2 * v + (1 - b2) * g**2  # second moment
            m_hat = m / (1 - b1**t)  # bias corrections
            v_hat = v / (1 - b2**t)
            p -= lr * m_hat / (xp.sqrt(v_hat) + eps)

    def step(self) -> None:
        """One step: :meth:`_step_fast`, the twin of :meth:`step_plain` that training runs."""
        self._step_fast()

    def _step_fast(self) -> None:
        """:meth:`step_plain` in torch's order and in place: m̂ never formed, lr / (1 - β1ᵗ) one float64 scalar.

        Same m and v bit for bit; the step agrees to rounding (a few ulp: the constants meet the arrays in
        another order). On the bench MLP's 650k parameters (float32), 1.15 ms a step against 1.63 ms for
        :meth:`step_plain`, of a 7.4 ms training step (``bench/bench_step.py``: CPU time, one BLAS thread,
        15 interleaved rounds, OPENBLAS_CORETYPE=Haswell, 2026-12-06).
        """
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1 - b1**self.t)  # lr / (1 - β1ᵗ): turns m into m̂ and scales it, a float64 scalar
        bias2_sqrt = (1 - b2**self.t) ** 0.5  # √(1 - β2ᵗ): turns √v into √v̂
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
            denom = xp.sqrt(v)
            denom /= bias2_sqrt
            denom += self.eps  # √v̂ + eps
            update = m / denom  # m / (√v̂ + eps)
            update *= step_size  # lr · m̂ / (√v̂ + eps)
            p -= update
