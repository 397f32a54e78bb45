"""One named step of the worked example, the record of a whole run, and where the code lives.

A step's ``code`` holds the objects that compute it (functions, methods, or a module with a name in
it); :func:`code_ref` turns each into ``"tinyvae/engine/layers.py: Linear.forward"`` from the object
itself, so a reference cannot name a function that does not exist.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the tinyvae package


@dataclass(frozen=True)
class Data:
    """A module-level value (``GIVEN``, ``X``) as a code reference: ``Data(givens, "GIVEN")``."""

    module: ModuleType
    name: str


def code_ref(obj: Any) -> str:
    """``"path/from/repo.py: Qualified.name"`` for a function, method, class or :class:`Data`."""
    if isinstance(obj, Data):
        if not hasattr(obj.module, obj.name):
            raise AttributeError(f"{obj.module.__name__} has no {obj.name!r}")
        path, name = inspect.getsourcefile(obj.module), obj.name
    else:
        path, name = inspect.getsourcefile(obj), obj.__qualname__
    return f"{Path(path).resolve().relative_to(_ROOT).as_posix()}: {name}"


@dataclass(frozen=True)
class Step:
    """One line of the worked example: a formula, the numbers put into it, and the result.

    name: the key in :meth:`WorkedExample.as_dict` (``"z"``, ``"dW_d"``, ``"W_d_new"``); also the key
    of the step's explanation in the text tables (``text_en.NOTES``), unless ``note`` names another.
    formula: the math, language-free. lines: the formula with the numbers substituted, one string per
    line the lecture would write (``()`` when the value follows directly).
    value: float or array (vectors of the batch of one shown as 1-D, shape (features,)).
    code: the objects that compute it (see :func:`code_ref`). source: "lecture", "reconstruction" or
    "computed". lecture: what the lecture printed for it, if it printed it.
    """

    name: str
    symbol: str
    formula: str
    lines: tuple[str, ...]
    value: Any
    code: tuple[Any, ...]
    source: str = "computed"
    lecture: Any = None
    note: str | None = None

    @property
    def note_key(self) -> str:
        return self.note or self.name

    def code_refs(self) -> list[str]:
        return [code_ref(obj) for obj in self.code]


@dataclass
class WorkedExample:
    """Everything :func:`tinyvae.lecture.trace.run` computed, step by step; ``ex["z"]`` is a value."""

    exact: bool
    lr: float
    inputs: list[Step] = field(default_factory=list)
    forward: list[Step] = field(default_factory=list)
    backward: list[Step] = field(default_factory=list)
    adam: list[Step] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "exact" if self.exact else "lecture"

    def steps(self) -> list[Step]:
        return [*self.inputs, *self.forward, *self.backward, *self.adam]

    def step(self, name: str) -> Step:
        for s in self.steps():
            if s.name == name:
                return s
        raise KeyError(f"no step named {name!r}; known: {[s.name for s in self.steps()]}")

    def __getitem__(self, name: str) -> Any:
        return self.step(name).value

    def __contains__(self, name: object) -> bool:
        return any(s.name == name for s in self.steps())

    def as_dict(self) -> dict[str, Any]:
        """Every value by name, as floats and (nested) lists: JSON-able, ``json.loads`` gives it back."""
        out: dict[str, Any] = {"mode": self.mode, "adam_lr": self.lr}
        for s in self.steps():
            out[s.name] = s.value.tolist() if isinstance(s.value, np.ndarray) else float(s.value)
        return out


__all__ = ["Data", "Step", "WorkedExample", "code_ref"]
