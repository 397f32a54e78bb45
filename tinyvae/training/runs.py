"""A run folder as a learner uses it: ``tinyvae.load(RUN_DIR)`` gives back the trained model.

A run folder is what ``tinyvae train --out RUN_DIR`` writes (``checkpoint.npz``, ``metrics.json``,
``config.json``, the figures). Loading goes through the checkpoint reader, which checks every
value in the file before anything is built (``training/checkpoint.py``)::

    import tinyvae
    model = tinyvae.load("runs/latest")
    x_hat = model.decode(np.zeros((1, model.z_dim), np.float32))   # the digit at z = 0: (1, 784)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models.base import Model
from .data import Dataset


def load(run_dir: str | Path) -> Model:
    """The trained model of ``run_dir`` (a run folder, or its ``checkpoint.npz`` itself).

    The model has the saved architecture, dtype and weights, on the host (NumPy).
    Raises FileNotFoundError when there is no checkpoint, ValueError when the file is not a
    readable tinyvae checkpoint (truncated, another format, parameters that do not fit).
    """
    return load_with_state(run_dir)[0]


def load_with_state(run_dir: str | Path) -> tuple[Model, dict[str, Any], Path]:
    """(model, checkpoint state, checkpoint path): :func:`load` plus the epoch, run config and metrics."""
    from ..cli import CLIError
    from ..cli.evaluate import load_run

    try:
        return load_run(str(run_dir))
    except CLIError as e:  # the CLI's wording, as the exception a library user expects
        raise FileNotFoundError(str(e)) from None


def run_data(state: dict[str, Any], model: Model) -> Dataset:
    """The digits the run was trained on (its ``--data``, ``--binarize``, ``--limit``), in the model's dtype."""
    from .data import load as load_data

    r = state["run_config"]
    data = load_data(r.get("data"), binarize=bool(r.get("binarize")), dtype=model.dtype)
    if r.get("limit"):
        data = data.subset(int(r["limit"]))
    return data
