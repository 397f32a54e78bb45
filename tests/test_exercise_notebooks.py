"""The notebooks' exercises, solved: every ``# exercise: NAME`` cell replaced by the library's reference
solution, the notebook runs clean and every check says passed. (As shipped, the same notebooks run in
tests/test_notebooks.py, where every check says "not done yet".)"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbclient
import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
MARK = re.compile(r"^# exercise: (\w+)\s*$", re.M)
WITH_EXERCISES = sorted(p for p in NB_DIR.glob("[0-9][0-9]_*.py") if MARK.search(p.read_text(encoding="utf-8")))


def exercise_names(nb) -> list[str]:
    return [m.group(1) for c in nb.cells if c.cell_type == "code" and (m := MARK.match(c.source))]


def check_outputs(nb) -> list[str]:
    """The text each ``exercises.check(...)`` cell displayed."""
    shown = []
    for c in nb.cells:
        if c.cell_type == "code" and c.source.startswith("exercises.check("):
            shown.append(" ".join(o.get("data", {}).get("text/plain", "") for o in c.get("outputs", [])))
    return shown


def test_some_notebooks_have_exercises() -> None:
    names = [n for p in WITH_EXERCISES for n in exercise_names(jupytext.read(p))]
    from tinyvae.exercises import names as all_names
    assert sorted(names) == sorted(all_names()), "every exercise appears in exactly one notebook"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_notebook_solved(path: Path) -> None:
    nb = jupytext.read(path)
    names = exercise_names(nb)
    for c in nb.cells:
        if c.cell_type == "code" and (m := MARK.match(c.source)):
            c.source = f'{m.group(1)} = exercises.solution("{m.group(1)}")'
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NB_DIR)}}).execute()
    shown = check_outputs(nb)
    assert len(shown) == len(names) and all(f"✓ {n}: passed" in s for n, s in zip(names, shown)), shown
