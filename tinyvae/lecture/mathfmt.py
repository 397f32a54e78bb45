"""Numbers and substituted formulas as the lecture writes them: ``0.1·0.5 + 0.2·1 + (-0.5)``.

Language-free: the same strings appear in every language's trace.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np


def num(value: float, digits: int = 8) -> str:
    """A float with ``digits`` significant digits, no trailing zeros: 0.45500000000000007 -> '0.455'."""
    s = f"{float(value):.{digits}g}"
    return "0" if s in ("-0", "0") else s


def vec(a: Any, digits: int = 8) -> str:
    """[a, b, c] or [[...], [...]] with :func:`num`."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return num(float(a), digits)
    return "[" + ", ".join(vec(row, digits) for row in a) + "]"


def show(value: Any) -> str:
    """A string as it is, None as '-', a number or an array with :func:`num` / :func:`vec`."""
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    return vec(value) if np.ndim(value) else num(value)


def factor(value: float) -> str:
    """A factor in a product: negatives in parentheses, ``(-0.5)``."""
    s = num(value)
    return f"({s})" if s.startswith("-") else s


def signed(value: float) -> str:
    """A term after another: ``' + 0.04'``, ``' - 0.02'``."""
    s = num(value)
    return f" - {s[1:]}" if s.startswith("-") else f" + {s}"


def affine(W: np.ndarray, v: np.ndarray, b: np.ndarray) -> str:
    """W·v + b written out row by row: ``[0.1·0.5 + 0.2·1 + 0.1, ...]``."""
    rows = [" + ".join(f"{factor(w)}·{factor(x)}" for w, x in zip(W_row, v)) + f" + {factor(b_i)}"
            for W_row, b_i in zip(W, b)]
    return "[" + ", ".join(rows) + "]"


def each(template: str, *columns: Iterable[Any]) -> str:
    """``[t(a0, b0), t(a1, b1)]``: a template filled per latent dimension or feature."""
    return "[" + ", ".join(template.format(*row) for row in zip(*columns)) + "]"


__all__ = ["affine", "each", "factor", "num", "show", "signed", "vec"]
