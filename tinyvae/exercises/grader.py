"""Grading a learner's function: run it on every case, compare with the library element by element and
with finite differences, and when it is wrong, say which classic mistake it made.

The order of judgement, on the first case where the answer differs from the library:
1. it raised, or returned the wrong number of values: say so;
2. it equals one of the catalogued mistakes (``mistakes.py``) on that case: that mistake's message;
   else an array of the wrong shape (or a dict with the wrong keys): say which;
3. an array is the expected one transposed, negated, or scaled by B, 1/B, 2 or ½: say which;
4. otherwise the worst entry: the array, its index, the value returned and the value expected.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..engine.gradcheck import numerical_gradient
from .course import Case, Exercise
from .mistakes import CATALOGUE, TRANSPOSED

RTOL, ATOL = 1e-8, 1e-10  # float64: a correct answer differs from the library's by rounding, ~1e-15
FD_TOL = 1e-6  # central differences (h = 1e-6) of these small functions agree with a right answer to ~1e-9


@dataclass(frozen=True, repr=False)
class Result:
    """What ``check`` found: ``passed``, ``done`` (False while the stub still raises NotImplementedError)
    and a one-paragraph ``message``. ``str(result)`` reads as a line; Jupyter shows it coloured."""

    name: str
    passed: bool
    message: str
    done: bool = True

    def __str__(self) -> str:
        mark = "✓" if self.passed else ("…" if not self.done else "✗")
        return f"{mark} {self.name}: {self.message}"

    __repr__ = __str__

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else ("#6e7781" if not self.done else "#cf222e")
        return f'<pre style="color:{colour}; white-space:pre-wrap">{html.escape(str(self))}</pre>'


def _copy(case: Case) -> Case:
    return {k: (v.copy() if isinstance(v, np.ndarray) else _copy(v) if isinstance(v, dict) else v)
            for k, v in case.items()}


def _args(case: Case) -> list[Any]:
    return [v for k, v in case.items() if not k.startswith("_")]


def _arrays(out: Any, ex: Exercise) -> list | str:
    """The answer as a list of float64 arrays (a dict stays a dict of them), or why it cannot be read."""
    parts = list(out) if len(ex.outputs) > 1 and isinstance(out, (tuple, list)) else [out]
    if len(parts) != len(ex.outputs):
        return f"returned {len(parts)} value(s); expected {len(ex.outputs)}: ({', '.join(ex.outputs)})"
    read = []
    for name, part in zip(ex.outputs, parts):
        items = part.items() if isinstance(part, dict) else [(name, part)]
        arrays = {}
        for key, value in items:
            try:
                arrays[key] = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                return f"{key} is {type(value).__name__}, not an array of numbers"
        read.append(arrays if isinstance(part, dict) else arrays[name])
    return read


def _dtype_note(out: Any) -> str:
    """Why an answer that is right to float32 precision is still refused."""
    parts = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else [out]
    if any(getattr(p, "dtype", None) == np.float32 for p in parts):
        return "; the answer is float32: compute in float64, as the inputs are"
    return ""


def _flat(ex: Exercise, arrays: list) -> dict[str, np.ndarray]:
    """name -> array, a dict answer spread into its keys."""
    out = {}
    for name, a in zip(ex.outputs, arrays):
        out.update(a if isinstance(a, dict) else {name: a})
    return out


def _same(got: dict, exp: dict) -> bool:
    return got.keys() == exp.keys() and all(
        g.shape == e.shape and np.allclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True) for g, e in
        ((got[k], exp[k]) for k in exp))


def _shape_problem(got: dict, exp: dict) -> str | None:
    if got.keys() != exp.keys():
        missing, extra = sorted(exp.keys() - got.keys()), sorted(got.keys() - exp.keys())
        return f"the keys differ from the parameters': missing {missing}, unexpected {extra}"
    for k in exp:
        if got[k].shape != exp[k].shape:
            return f"{k} has shape {got[k].shape}; expected {exp[k].shape}"
    return None


def _known_mistake(name: str, fn_args: list, got: dict, ex: Exercise) -> str | None:
    for _, message, wrong in CATALOGUE.get(name, []):
        try:
            with np.errstate(all="ignore"):
                wrong_out = _arrays(wrong(*fn_args), ex)
        except Exception:  # a mistake that cannot run on this case's shapes is not the one made
            continue
        if not isinstance(wrong_out, str) and _same(got, _flat(ex, wrong_out)):
            return message
    return None


def _pattern(got: dict, exp: dict, batch: int) -> str | None:
    """A transposed, negated or scaled array, named."""
    for k, e in exp.items():
        g = got[k]
        if _same({k: g}, {k: e}):
            continue
        if e.ndim == 2 and e.shape[0] == e.shape[1] and np.allclose(g, e.T, rtol=RTOL, atol=ATOL):
            return f"{k} {TRANSPOSED}"
        if np.allclose(g, -e, rtol=RTOL, atol=ATOL):
            return f"{k} has the wrong sign (a sign error)"
        for factor, words in [(batch, "is B times too large: a 1/B is missing"),
                              (1 / batch, "is divided by B once too often: an extra 1/B"),
                              (2.0, "is twice too large: a ½ is missing"), (0.5, "is half too small: an extra ½")]:
            if batch > 1 or factor in (2.0, 0.5):
                if np.allclose(g, factor * e, rtol=RTOL, atol=ATOL):
                    return f"{k} {words}"
    return None


def _worst_entry(got: dict, exp: dict) -> str:
    k = max(exp, key=lambda n: float(np.max(np.abs(got[n] - exp[n]), initial=0.0)))
    i = tuple(int(j) for j in np.unravel_index(int(np.argmax(np.abs(got[k] - exp[k]))), exp[k].shape))
    g, e = float(got[k][i]), float(exp[k][i])
    return f"{k}{list(i) if i else ''} is {g:.10g}; expected {e:.10g} (off by {g - e:.2g})"


def _finite_differences(ex: Exercise, case: Case, got: dict, h: float = 1e-6) -> float:
    """The largest |answer - central difference| over the arrays, relative to the largest gradient."""
    f, arrays = ex.scalar(case)
    worst, scale = 0.0, 1e-12
    for k, a in arrays.items():
        key = "dx" if (k == "x" and "dx" in got) else ("d" + k if "d" + k in got else k)
        num = numerical_gradient(f, a, h).reshape(-1)  # gradcheck's central differences, every entry
        worst = max(worst, float(np.max(np.abs(got[key].reshape(-1) - num))))
        scale = max(scale, float(np.max(np.abs(num))))
    return worst / scale


def grade(ex: Exercise, fn: Callable, cases: list[Case]) -> Result:
    """Run ``fn`` on every case; the first difference from the library decides the message."""
    fd = 0.0
    for n, case in enumerate(cases, 1):
        where = f"(case {n} of {len(cases)}: " + ", ".join(
            f"{k} {v.shape}" for k, v in case.items() if isinstance(v, np.ndarray) and not k.startswith("_")) + ")"
        try:
            with np.errstate(all="ignore"):
                out = fn(*_args(_copy(case)))
        except NotImplementedError:
            return Result(ex.name, False, "not done yet: replace the `raise NotImplementedError` with your code", False)
        except Exception as e:  # the learner's error, reported as a line, never a traceback
            return Result(ex.name, False, f"raised {type(e).__name__}: {e} {where}")
        got_list = _arrays(out, ex)
        if isinstance(got_list, str):
            return Result(ex.name, False, f"{got_list} {where}")
        got, exp = _flat(ex, got_list), _flat(ex, [np.asarray(a, dtype=np.float64) if not isinstance(a, dict) else a
                                                   for a in ex.library(_copy(case))])
        if not _same(got, exp):
            batch = int(np.shape(_args(case)[0 if ex.name != "vae_backward" else 1])[0]) if ex.name != "adam_step" else 1
            message = (_known_mistake(ex.name, _args(_copy(case)), got, ex) or _shape_problem(got, exp)
                       or _pattern(got, exp, batch) or _worst_entry(got, exp))
            return Result(ex.name, False, f"{message}{_dtype_note(out)} {where}")
        if ex.scalar is not None:
            fd_case = _finite_differences(ex, _copy(case), got)
            if not fd_case <= FD_TOL:
                return Result(ex.name, False, f"equal to tinyvae's answer, but finite differences disagree by "
                                              f"{fd_case:.1e} (more than {FD_TOL:.0e}) {where}: please report this")
            fd = max(fd, fd_case)
    fd_words = f"; finite differences agree to {fd:.1e}" if ex.scalar is not None else ""
    return Result(ex.name, True, f"passed: equal to tinyvae's own answer on {len(cases)} cases{fd_words}")
