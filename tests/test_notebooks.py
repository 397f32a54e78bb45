"""Every notebook runs top to bottom in a fresh kernel, and its .py and .ipynb say the same thing.

The notebooks live in ``notebooks/`` as pairs:

- ``NN_name.py``    the source, in jupytext's percent format (``# %%`` starts a code cell,
                    ``# %% [markdown]`` a text cell); this is the file to edit and to diff.
- ``NN_name.ipynb`` the same cells for Jupyter, with no outputs.

After editing a ``.py``, regenerate its notebook (the header's ``formats: ipynb,py:percent``
pairs them, so Jupyter keeps both in step when you save from it)::

    .venv/bin/jupytext --to ipynb notebooks/NN_name.py      # or: jupytext --sync notebooks/NN_name.py

The checks, one test per notebook for each:

- ``test_notebook_runs``: convert the .py to a notebook and execute it from a clean state in a
  fresh ``python3`` kernel (nbclient), working directory ``notebooks/``; any cell error, or a
  cell that runs past ``CELL_TIMEOUT_S``, fails the test. The numbers a notebook shows are
  checked by asserts in its cells, so running it is what tests them.
- ``test_notebook_is_paired``: the .ipynb exists, has the same cells (type and source) as the
  .py, and carries no outputs or execution counts.
- ``test_no_orphan_ipynb``: every .ipynb has its .py.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import jupytext  # the test extra installs both; a missing one should fail loudly, not skip every notebook
import nbclient
import nbclient.exceptions
import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.py"))
CELL_TIMEOUT_S = 120  # per cell; a whole notebook is meant to take well under a minute
IDS = [p.stem for p in NOTEBOOKS]
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the kernel colours its tracebacks; a test log wants plain text


STRAY_REPR = re.compile(r"(Posix|Windows)?Path\(")  # what a cell ending in a function that returns a path shows


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path: Path) -> None:
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NB_DIR)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{path.name}: a cell failed\n{ANSI.sub('', str(e))}", pytrace=False)
    except nbclient.exceptions.CellTimeoutError as e:
        pytest.fail(f"{path.name}: a cell ran past {CELL_TIMEOUT_S}s\n{e}", pytrace=False)
    elapsed = time.perf_counter() - start
    for c in nb.cells:  # as shipped, each exercise's check reports its stub as not done yet
        if c.cell_type == "code" and c.source.startswith("exercises.check("):
            shown = " ".join(o.get("data", {}).get("text/plain", "") for o in c.outputs)
            assert "not done yet" in shown, f"{path.name}: {c.source!r} showed {shown!r}"
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    assert n_code > 0, f"{path.name} has no code cells"
    stray = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.get("outputs", [])
             if STRAY_REPR.match(o.get("data", {}).get("text/plain", ""))]
    assert not stray, f"{path.name}: cells {stray} end in an expression whose repr (a path) is shown; end them in None"
    print(f"{path.name}: {n_code} code cells in {elapsed:.1f}s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_empty_cells(path: Path) -> None:
    """A blank line too many after the jupytext header opens the notebook with an empty cell."""
    empty = [i for i, (_, source) in enumerate(_cells(jupytext.read(path))) if not source]
    assert not empty, f"{path.name}: empty cells {empty} (the first cell comes after one blank line)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_paired(path: Path) -> None:
    ipynb = path.with_suffix(".ipynb")
    fix = f"run: .venv/bin/jupytext --to ipynb notebooks/{path.name}"
    assert ipynb.exists(), f"{ipynb.name} is missing; {fix}"
    paired = jupytext.read(ipynb)
    source = jupytext.read(path)
    assert _cells(paired) == _cells(source), f"{ipynb.name} has drifted from {path.name}; {fix}"
    with_outputs = [i for i, c in enumerate(paired.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{ipynb.name} carries outputs in cells {with_outputs}; {fix}"
    formats = source.metadata.get("jupytext", {}).get("formats", "")
    assert formats == "ipynb,py:percent", f"{path.name} should pair with its notebook: formats {formats!r}"


def test_no_orphan_ipynb() -> None:
    orphans = [p.name for p in NB_DIR.glob("*.ipynb") if not p.with_suffix(".py").exists()]
    assert not orphans, f"notebooks without their .py source: {orphans}"
