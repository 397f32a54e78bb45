"""A finite-difference gradient checker that a learner can point at any layer, loss or model.

Central differences: ∂f/∂θᵢ ≈ (f(θ + h eᵢ) - f(θ - h eᵢ)) / 2h, with error O(h²).

**Element by element.** For each checked entry i, with ``a`` the hand-written gradient and ``n``
the numerical one, the error is (CS231n's relative error, less the differences' own noise)::

    err_i = max(0, |a_i - n_i| - noise_i) / max(1e-8, |a_i| + |n_i|)
    noise_i = NOISE_ULPS · ε · (|f(θ + h eᵢ)| + |f(θ - h eᵢ)|) / 2h        (ε = 2.2e-16 in float64)

``noise_i`` is an absolute floor: the rounding error that a central difference of two values of
size |f| carries (a few ulps of f, divided by 2h), so that an entry whose true gradient is 0 does
not report 1 because of rounding alone. Each array reports its worst entry. One wrong entry among
thousands therefore shows at full size, where a norm-wise error ‖a - n‖ / (‖a‖ + ‖n‖) (``rel_error``,
kept for comparison) dilutes it by about √size.

**Which entries: by cost.** A full check costs two evaluations of the scalar per entry. With the
default ``sample="auto"`` the checker times one evaluation (the median of three) and checks every
entry of every array when the whole check is estimated to take at most ``FULL_CHECK_SECONDS``
(10 s): a layer, a loss or a small model, where one wrong entry must not slip through. Only
when it would take longer (a 784-400-20 VAE has about 650,000 parameters: hours) does it sample,
spending about ``FULL_CHECK_SECONDS`` on entries drawn without replacement by
``numpy.random.default_rng(seed)``, shared among the arrays by size, at least ``SAMPLE_SIZE``
(100) per array (all of a smaller one). ``sample=None`` checks every entry whatever the cost,
``sample=k`` at most k entries per array. The result says which entries were checked
(``GradcheckResult.checked``, flat indices per array, and ``summary()``).

**Noise.** A model is checked with its noise held fixed: ``eps`` if given, otherwise drawn once
(from ``rng`` if given, else ``default_rng(seed)``) and reused for every evaluation.

**What to expect** in float64 with h = 1e-6: a correct gradient of a smooth function reports 0, or
at most about 1e-8: its differences are rounding noise, which stays under the floor (measured on
tinyvae's models: below 1/7 of it), plus a truncation error h²·f'''/6 far smaller still. Without the
floor the same correct models report up to about 4e-3, from entries whose true gradient is near 0.
``EXPECTED_REL_ERROR`` = 1e-6 is the ceiling: anything above it is a bug, or a ReLU kink crossed by
the step (rerun with other inputs). An entry wrong by a fraction r of its value reports about r/2
(r = 1e-4 reports 5e-5: caught). In float32 the check is meaningless: use float64. The floor
scales with |f|, as the rounding of a loss of size |f| does; a loss near 0 that is a sum of terms of
size about 1 rounds at its terms' scale, above the floor. At mu = logvar = 2.7e-12 the KL computes
as 0 (its terms 1 + logvar and e^logvar cancel), its ∂/∂logvar is 1.35e-12, and the differences give 2.8e-11 (error 2.6e-3, a false alarm; at
mu = 0.3, logvar = -0.2 it is 0): check a loss away from its minimum (tests/test_gradcheck.py).
"""

from __future__ import annotations

import inspect
import numbers
import time
from typing import Any, Callable

import numpy as np

from .backend import to_numpy

EXPECTED_REL_ERROR = 1e-6  # float64, h = 1e-6: a correct gradient reports far less than this
FULL_CHECK_SECONDS = 10.0  # sample="auto": every entry when the full check is estimated to take at most this
SAMPLE_SIZE = 100  # the least number of entries a sampled array gets (all of a smaller array)
H_RANGE = (1e-10, 1e-2)  # steps outside it measure rounding noise or the function's curvature, not its slope
NOISE_ULPS = 8.0  # the rounding floor, in units of ε·|f|/2h (measured differences stay below 1/7 of it)
TINY = 1e-8  # CS231n's guard for entries where both gradients are 0


class GradcheckResult(dict):
    """The worst element-wise error per array name (a dict), and which entries were checked.

    checked: name -> the flat indices checked; sizes: name -> the array's number of entries.
    """

    def __init__(self, errors: dict[str, float], checked: dict[str, np.ndarray], sizes: dict[str, int]):
        super().__init__(errors)
        self.checked, self.sizes = checked, sizes

    @property
    def complete(self) -> bool:
        """True when every entry of every array was checked."""
        return all(self.checked[k].size == self.sizes[k] for k in self)

    def summary(self) -> str:
        """One line per array: its worst error and how many of its entries were checked."""
        return "\n".join(f"{k}: worst {v:.1e}, {self.checked[k].size} of {self.sizes[k]} entries checked"
                         for k, v in self.items())


def _central_differences(
    f: Callable[[], float], a: np.ndarray, idx: np.ndarray, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """(∂f/∂a at flat indices ``idx``, the rounding floor of each), perturbing ``a`` in place."""
    flat = a.reshape(-1)
    grad, noise = np.zeros(idx.size), np.zeros(idx.size)
    for j, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + h
        f_plus = float(f())
        flat[i] = old - h
        f_minus = float(f())
        flat[i] = old
        grad[j] = (f_plus - f_minus) / (2 * h)
        noise[j] = NOISE_ULPS * np.finfo(np.float64).eps * (abs(f_plus) + abs(f_minus)) / (2 * h)
    return grad, noise


def numerical_gradient(f: Callable[[], float], a: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂a by central differences at every entry, perturbing the NumPy array ``a`` in place (restored after)."""
    grad, _ = _central_differences(f, a, np.arange(a.size), h)
    return grad.reshape(a.shape)


def rel_error(a: Any, n: Any) -> float:
    """Norm-wise ‖a - n‖ / (‖a‖ + ‖n‖): 0 for equal arrays, 1 for opposite ones. Dilutes one bad entry."""
    a, n = np.asarray(to_numpy(a), dtype=np.float64), np.asarray(to_numpy(n), dtype=np.float64)
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-300))


def worst_error(a: Any, n: Any, noise: Any = 0.0) -> float:
    """max_i max(0, |a_i - n_i| - noise_i) / max(1e-8, |a_i| + |n_i|): the worst entry, 0 when all agree."""
    a, n = np.asarray(to_numpy(a), dtype=np.float64), np.asarray(to_numpy(n), dtype=np.float64)
    diff = np.maximum(np.abs(a - n) - noise, 0.0)
    return float(np.max(diff / np.maximum(TINY, np.abs(a) + np.abs(n)), initial=0.0))


def entries_to_check(size: int, sample: int | None, seed: int) -> np.ndarray:
    """Flat indices checked in an array of ``size`` entries: all of them, or ``sample`` drawn with ``seed``."""
    if sample is None or size <= sample:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, size=sample, replace=False))


def seconds_per_evaluation(f: Callable[[], float]) -> float:
    """The median time of three evaluations of ``f``, in seconds."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return sorted(times)[1]


def per_array_sample(sizes: dict[str, int], seconds: float) -> dict[str, int | None]:
    """How many entries of each array ``sample="auto"`` checks, one evaluation taking ``seconds``.

    None (every entry) for every array when 2·Σsize·seconds <= FULL_CHECK_SECONDS; otherwise the
    entries that fit in FULL_CHECK_SECONDS, shared by size, at least SAMPLE_SIZE per array.
    """
    total = sum(sizes.values())
    if 2 * total * seconds <= FULL_CHECK_SECONDS:
        return {k: None for k in sizes}
    affordable = FULL_CHECK_SECONDS / (2 * seconds)
    return {k: max(SAMPLE_SIZE, int(affordable * size / total)) for k, size in sizes.items()}


def _check_options(h: Any, sample: Any, seed: Any) -> None:
    """One TypeError or ValueError for a step, sample or seed gradcheck cannot use."""
    if isinstance(h, bool) or not isinstance(h, numbers.Real):
        raise TypeError(f"gradcheck: h must be a real number (the finite-difference step), not {type(h).__name__}")
    if not H_RANGE[0] <= h <= H_RANGE[1]:  # NaN fails both
        raise ValueError(f"gradcheck: h={h!r} is not a usable step; pass a finite step in "
                         f"[{H_RANGE[0]:g}, {H_RANGE[1]:g}] (the default is 1e-6)")
    if sample is not None and sample != "auto":
        if isinstance(sample, bool) or not isinstance(sample, numbers.Integral):
            raise TypeError(f"gradcheck: sample must be 'auto', None or a positive int, not {sample!r}")
        if sample < 1:
            raise ValueError(f"gradcheck: sample={sample} checks no entry; pass a positive count, "
                             "None (every entry) or 'auto' (by cost)")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"gradcheck: seed must be a non-negative int, not {seed!r}")


def _check_inputs(inputs: tuple, rng: Any) -> None:
    """One TypeError or ValueError for a missing, empty, non-numeric or non-finite input, or a bad rng."""
    if not inputs:
        raise ValueError("gradcheck needs at least one input: gradcheck(module, x)")
    for i, v in enumerate(inputs):
        try:
            a = v if isinstance(v, np.ndarray) else np.asarray(v if np.isscalar(v) else to_numpy(v))
        except (AttributeError, TypeError, ValueError):
            a = np.asarray(None)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"gradcheck: input {i} is {type(v).__name__} of {a.dtype}; pass an array of numbers")
        if a.size == 0:
            raise ValueError(f"gradcheck: input {i} is empty (shape {a.shape}); pass at least one row")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ValueError(f"gradcheck: input {i} holds NaN or inf; pass finite values")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"gradcheck: rng must be a numpy.random.Generator or None, not {type(rng).__name__}")


def check_gradients(
    f: Callable[[], float],
    params: dict[str, np.ndarray],
    grads: dict[str, Any],
    h: float = 1e-6,
    *,
    sample: int | str | None = "auto",
    seed: int = 0,
) -> GradcheckResult:
    """Worst element-wise error per name between ``grads`` and central differences of ``f``.

    ``f()`` must recompute the scalar from the current contents of the ``params`` arrays
    (which are perturbed in place), with any randomness fixed. ``sample``: "auto" (by cost),
    None (every entry) or at most that many entries per array.
    """
    _check_options(h, sample, seed)
    for k, p in params.items():
        if not (isinstance(p, np.ndarray) and p.dtype == np.float64):
            raise TypeError(f"gradcheck needs float64 NumPy arrays; {k} is {type(p).__name__} {getattr(p, 'dtype', '')}")
    sizes = {k: int(p.size) for k, p in params.items()}
    if sample == "auto":
        counts = per_array_sample(sizes, seconds_per_evaluation(f))
    else:
        counts = {k: sample for k in sizes}
    errors, checked = {}, {}
    for k, p in params.items():
        idx = entries_to_check(p.size, counts[k], seed)
        n, noise = _central_differences(f, p, idx, h)
        a = np.asarray(to_numpy(grads[k]), dtype=np.float64).reshape(-1)[idx]
        errors[k], checked[k] = worst_error(a, n, noise), idx
    return GradcheckResult(errors, checked, sizes)


def _fixed_noise(module: Any, inputs: tuple, kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """``kwargs`` with ``eps`` drawn once, so that every evaluation of the loss sees the same noise."""
    if "eps" not in inspect.signature(module.loss_and_grads).parameters:
        return kwargs
    rest = {k: v for k, v in kwargs.items() if k != "rng"}
    if kwargs.get("eps") is not None:
        return rest
    rng = kwargs.get("rng") or np.random.default_rng(seed)
    shape = (np.shape(inputs[0])[0], int(module.z_dim))
    return {**rest, "eps": rng.standard_normal(shape)}


def gradcheck(
    module: Any, *inputs: Any, h: float = 1e-6, sample: int | str | None = "auto", seed: int = 0, **kwargs: Any
) -> GradcheckResult:
    """Check a layer, a loss function or a model; returns the worst element-wise error per gradient.

    - a model (has ``loss_and_grads``): ``gradcheck(model, x)`` or ``gradcheck(model, x, y, eps=eps)``
      checks every parameter; without ``eps`` the noise is drawn once and held fixed.
    - a layer (has ``forward``/``backward``): ``gradcheck(layer, x)`` checks every parameter and
      the input ``x`` for the scalar ``Σ out * r`` with a fixed random ``r``.
    - a loss function ``(a, b, ...) -> (loss, d_a, ...)``: ``gradcheck(fn, a, b)`` checks the
      gradients it returns for its leading inputs.

    Every entry is checked when that takes at most ``FULL_CHECK_SECONDS`` (10 s, timed); a costlier
    check samples (``sample="auto"``, see the module docstring); ``sample=None`` checks all. The
    result is a dict of errors whose ``checked`` says which entries. A correct float64 gradient
    reports 0 or at most about 1e-8; above ``EXPECTED_REL_ERROR`` (1e-6) is a bug.
    """
    _check_options(h, sample, seed)
    _check_inputs(inputs, kwargs.get("rng"))
    opts = {"sample": sample, "seed": seed}
    if hasattr(module, "loss_and_grads"):
        kwargs = _fixed_noise(module, inputs, kwargs, seed)
        module.loss_and_grads(*inputs, **kwargs)
        grads = {k: np.array(to_numpy(g)) for k, g in module.grads.items()}
        return check_gradients(lambda: module.loss_and_grads(*inputs, **kwargs).total, module.params, grads, h, **opts)
    if hasattr(module, "forward") and hasattr(module, "backward"):
        if len(inputs) != 1:
            raise ValueError(f"gradcheck: a layer takes one input x, not {len(inputs)}")
        (x,) = inputs
        r = np.random.default_rng(seed).standard_normal(module.forward(x).shape)
        dx = module.backward(r)
        grads = {k: np.array(g) for k, g in module.grads.items()}
        grads["x"] = dx

        def f() -> float:
            return float(np.sum(module.forward(x) * r))

        return check_gradients(f, {**module.params, "x": x}, grads, h, **opts)
    if callable(module):
        out = module(*inputs)
        value_grads = out[1:]
        targets = {f"input{i}": a for i, a in enumerate(inputs[: len(value_grads)])}
        grads = {f"input{i}": g for i, g in enumerate(value_grads)}
        return check_gradients(lambda: float(module(*inputs)[0]), targets, grads, h, **opts)
    raise TypeError(f"gradcheck does not know how to check {type(module).__name__}")
