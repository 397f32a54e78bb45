"""A finite-difference gradient checker that a learner can point at any layer, loss or model.

Central differences: ∂f/∂θᵢ ≈ (f(θ + h eᵢ) - f(θ - h eᵢ)) / 2h, with error O(h²).
The check compares, per named array, the hand-written gradient ``a`` with the numerical one
``n`` by the relative error

    ‖a - n‖ / max(‖a‖ + ‖n‖, 1e-300)

What to expect in float64 with h = 1e-6: about 1e-9 to 1e-11 for smooth functions. Anything above
1e-6 is a bug (or a ReLU kink crossed by the step; rerun with other inputs). In float32 the check
is meaningless: use float64.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .backend import to_numpy

EXPECTED_REL_ERROR = 1e-6  # float64, h = 1e-6: a correct gradient is far below this


def numerical_gradient(f: Callable[[], float], a: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂a by central differences, perturbing the NumPy array ``a`` in place (restored after)."""
    grad = np.zeros_like(a)
    flat, gflat = a.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a: Any, n: Any) -> float:
    """‖a - n‖ / (‖a‖ + ‖n‖): 0 for equal arrays, 1 for opposite ones."""
    a, n = np.asarray(to_numpy(a), dtype=np.float64), np.asarray(to_numpy(n), dtype=np.float64)
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-300))


def check_gradients(
    f: Callable[[], float], params: dict[str, np.ndarray], grads: dict[str, Any], h: float = 1e-6
) -> dict[str, float]:
    """Relative error per name between ``grads`` and numerical gradients of ``f`` w.r.t. ``params``.

    ``f()`` must recompute the scalar from the current contents of the ``params`` arrays
    (which are perturbed in place), with any randomness fixed.
    """
    for k, p in params.items():
        if not (isinstance(p, np.ndarray) and p.dtype == np.float64):
            raise TypeError(f"gradcheck needs float64 NumPy arrays; {k} is {type(p).__name__} {getattr(p, 'dtype', '')}")
    return {k: rel_error(grads[k], numerical_gradient(f, p, h)) for k, p in params.items()}


def gradcheck(module: Any, *inputs: Any, h: float = 1e-6, **kwargs: Any) -> dict[str, float]:
    """Check a layer, a loss function or a model; returns the relative error per gradient.

    - a model (has ``loss_and_grads``): ``gradcheck(model, x, eps=eps)`` checks every parameter.
    - a layer (has ``forward``/``backward``): ``gradcheck(layer, x)`` checks every parameter and
      the input ``x`` for the scalar ``Σ out * r`` with a fixed random ``r``.
    - a loss function ``(a, b, ...) -> (loss, d_a, ...)``: ``gradcheck(fn, a, b)`` checks the
      gradients it returns for its leading inputs.

    Every value should be below ``EXPECTED_REL_ERROR`` (1e-6); typically about 1e-10.
    """
    if hasattr(module, "loss_and_grads"):
        module.loss_and_grads(*inputs, **kwargs)
        grads = {k: np.array(to_numpy(g)) for k, g in module.grads.items()}
        return check_gradients(lambda: module.loss_and_grads(*inputs, **kwargs).total, module.params, grads, h)
    if hasattr(module, "forward") and hasattr(module, "backward"):
        (x,) = inputs
        r = np.random.default_rng(0).standard_normal(module.forward(x).shape)
        dx = module.backward(r)
        grads = {k: np.array(g) for k, g in module.grads.items()}
        grads["x"] = dx

        def f() -> float:
            return float(np.sum(module.forward(x) * r))

        return check_gradients(f, {**module.params, "x": x}, grads, h)
    if callable(module):
        out = module(*inputs)
        value_grads = out[1:]
        targets = {f"input{i}": a for i, a in enumerate(inputs[: len(value_grads)])}
        grads = {f"input{i}": g for i, g in enumerate(value_grads)}
        return check_gradients(lambda: float(module(*inputs)[0]), targets, grads, h)
    raise TypeError(f"gradcheck does not know how to check {type(module).__name__}")
