"""Exercises a learner solves in a notebook cell, graded against tinyvae's own layers and by finite differences.

    >>> from tinyvae import exercises
    >>> exercises.names()[:3]
    ['linear_backward', 'relu_backward', 'sigmoid_backward']
    >>> def linear_backward(x, W, b, dout):
    ...     return dout @ W, x.T @ dout, dout.sum(axis=0)          # one classic mistake
    >>> print(exercises.check("linear_backward", linear_backward))
    ✗ linear_backward: dW is transposed: W is (out, in), so dW = doutᵀ x, not xᵀ dout (case 1 of 3: ...)

``names()`` lists them in course order, ``describe(name)`` gives the signature, ``check(name, fn)``
grades ``fn`` and returns a ``Result`` (``.passed``, ``str(result)``), ``solution(name)`` is the
reference (``solutions.py``), to read after trying. The grader is in ``grader.py``, the known
mistakes it recognises in ``mistakes.py``, the exercises and their cases in ``course.py``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .course import EXERCISES, SOLUTIONS
from .grader import Result, grade

__all__ = ["Result", "check", "describe", "names", "solution"]


def names() -> list[str]:
    """The exercises, in course order."""
    return list(EXERCISES)


def _exercise(name: str):
    if name not in EXERCISES:
        raise ValueError(f"no exercise named {name!r}; choose one of {names()}")
    return EXERCISES[name]


def describe(name: str) -> str:
    """The exercise's signature and what it computes."""
    return _exercise(name).signature


def solution(name: str) -> Callable:
    """The reference solution (read it after trying: it is what ``check`` expects)."""
    _exercise(name)
    return SOLUTIONS[name]


def check(name: str, fn: Callable, *, seed: int = 0) -> Result:
    """Grade ``fn`` on the exercise's cases (drawn from ``default_rng(seed)``); never raises for a wrong answer."""
    ex = _exercise(name)
    if not callable(fn):
        return Result(name, False, f"expected a function, got {type(fn).__name__}")
    return grade(ex, fn, ex.cases(np.random.default_rng(seed)))
