"""Checks at the doors: bad input is refused where it enters, with what was expected and what came.

Each check raises ``TypeError`` (not an array, wrong dtype) or ``ValueError`` (wrong shape,
non-finite values, out-of-range values) and names the thing that was wrong and how to fix it.
"""

from __future__ import annotations

import math
from typing import Any

from .backend import Array, device, is_array, namespace


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(
    a: Any,
    *,
    who: str,
    name: str = "x",
    expect: tuple | None = None,
    like: Array | None = None,
) -> None:
    """Refuse ``a`` unless it is an array shaped like ``expect`` and living where ``like`` lives.

    ``expect`` holds ints (the size that axis must have) and strings (any size, named in the
    message), e.g. ``("batch", 784)``. ``like``, when given (a parameter), is the array whose
    namespace, device and dtype ``a`` must share: nothing is converted behind the user's back.
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
    if like is None:
        return
    if type(a) is not type(like) or device(a) != device(like):
        raise TypeError(
            f"{who} holds its parameters as {_where(like)}, got {name} as {_where(a)}: "
            f"move {name} first (model.xp.asarray({name}, device=...)) or the model (model.to(xp))"
        )
    if a.dtype != like.dtype:
        raise TypeError(
            f"{who} holds {like.dtype} parameters, got {name} of dtype {a.dtype}: "
            f"convert it first, e.g. {name}.astype({like.dtype})"
        )


def _where(a: Array) -> str:
    return f"{type(a).__module__.split('.')[0]}.{type(a).__name__} on {device(a)}"


def _not_finite(who: str, name: str) -> ValueError:
    return ValueError(f"{who} got {name} with NaN or inf values; clean the data first")


def check_finite(a: Array, *, who: str, name: str = "x") -> None:
    """Refuse ``a`` if it holds NaN or inf."""
    xp = namespace(a)
    if not bool(xp.all(xp.isfinite(a))):
        raise _not_finite(who, name)


def check_unit_interval(a: Array, *, who: str, name: str = "x") -> None:
    """Refuse ``a`` unless every value lies in [0, 1] (BCE compares against pixel probabilities).

    Two reads of ``a``, its minimum and maximum: a NaN makes both NaN and an inf makes one of them
    infinite, so this check also refuses what :func:`check_finite` would, with its message.
    """
    xp = namespace(a)
    lo, hi = float(xp.min(a)), float(xp.max(a))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise _not_finite(who, name)
    if lo < 0.0 or hi > 1.0:
        hint = " (pixels 0-255? divide by 255)" if hi > 1.0 else ""
        raise ValueError(f"{who} expects {name} in [0, 1] for the BCE loss, got values in [{lo:g}, {hi:g}]{hint}")
