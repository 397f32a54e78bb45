"""Checks at the doors: bad input is refused where it enters, with what was expected and what came.

Each check raises ``TypeError`` (not an array, wrong dtype) or ``ValueError`` (wrong shape,
non-finite values, out-of-range values) and names the thing that was wrong and how to fix it.
"""

from __future__ import annotations

from typing import Any

from .backend import Array, is_array, namespace


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(
    a: Any,
    *,
    who: str,
    name: str = "x",
    expect: tuple | None = None,
    dtype: Any = None,
) -> None:
    """Refuse ``a`` unless it is a floating array shaped like ``expect``.

    ``expect`` holds ints (the size that axis must have) and strings (any size, named in the
    message), e.g. ``("batch", 784)``. ``dtype``, when given, is the dtype ``a`` must have.
    """
    if not is_array(a):
        raise TypeError(f"{who} expects {name} to be an array, got {type(a).__name__}")
    if expect is not None:
        ok = a.ndim == len(expect) and all(
            isinstance(e, str) or s == e for s, e in zip(a.shape, expect)
        )
        if not ok:
            raise ValueError(
                f"{who} expects {name} of shape {_shape(expect)}, got {_shape(tuple(a.shape))}"
            )
    if dtype is not None and a.dtype != dtype:
        raise TypeError(
            f"{who} holds {dtype} parameters, got {name} of dtype {a.dtype}: "
            f"convert it first, e.g. {name}.astype({dtype})"
        )


def check_finite(a: Array, *, who: str, name: str = "x") -> None:
    """Refuse ``a`` if it holds NaN or inf."""
    xp = namespace(a)
    if not bool(xp.all(xp.isfinite(a))):
        raise ValueError(f"{who} got {name} with NaN or inf values; clean the data first")


def check_unit_interval(a: Array, *, who: str, name: str = "x") -> None:
    """Refuse ``a`` unless every value lies in [0, 1] (BCE compares against pixel probabilities)."""
    xp = namespace(a)
    lo, hi = float(xp.min(a)), float(xp.max(a))
    if lo < 0.0 or hi > 1.0:
        hint = " (pixels 0-255? divide by 255)" if hi > 1.0 else ""
        raise ValueError(f"{who} expects {name} in [0, 1] for the BCE loss, got values in [{lo:g}, {hi:g}]{hint}")
