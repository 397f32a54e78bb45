"""A run folder: what ``fit(..., out_dir=RUN_DIR)`` (and so ``tinyvae train --out RUN_DIR``) writes, and
how it is read back. One place for the folder's file names and for reading a run.

A run folder holds ``checkpoint.npz`` (see :mod:`tinyvae.training.checkpoint`), ``metrics.json``,
``config.json`` (all three written by :func:`save_epoch`) and the figures. Loading goes through the checkpoint reader, which checks every value
in the file before anything is built::

    import tinyvae
    model = tinyvae.load("runs/latest")
    x_hat = model.decode(np.zeros((1, model.z_dim), np.float32))   # the digit at z = 0: (1, 784)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models.base import Model
from .checkpoint import atomic_write_json, load_checkpoint, save_checkpoint
from .data import Dataset, binarize_mode, fingerprint
from .data import load as load_data
from .paths import resolve
from .run_folders import CHECKPOINT, CONFIG, METRICS, follow_latest  # noqa: F401  (CONFIG, METRICS: read here by callers)


def save_epoch(out: Path, model: Model, optimizer: Any, *, epoch: int, rng: Any, run_config: dict[str, Any],
               metrics: list[dict[str, Any]]) -> None:
    """What ``fit`` writes after every epoch: ``checkpoint.npz`` (weights, Adam state, ``rng``'s state,
    ``run_config``, ``metrics``), then ``metrics.json`` and ``config.json`` (always the checkpoint's), each
    atomically (:func:`tinyvae.training.checkpoint.atomic_write`)."""
    save_checkpoint(out / CHECKPOINT, model, optimizer, epoch=epoch, rng=rng, run_config=run_config, metrics=metrics)
    atomic_write_json(out / METRICS, {"epochs": metrics})
    atomic_write_json(out / CONFIG, {"model": model.config(), "run": run_config})


def checkpoint_path(run_dir: str | Path) -> Path:
    """The checkpoint of ``run_dir`` (a run folder, or a checkpoint file itself); FileNotFoundError if none."""
    path = follow_latest(run_dir)  # runs/latest where it is a text pointer, not a link
    if path.is_dir():
        if not (path / CHECKPOINT).is_file():
            raise FileNotFoundError(f"{run_dir} holds no {CHECKPOINT}; is it a run folder (what tinyvae train "
                                    f"writes, or fit given an out_dir)?")
        return path / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"{run_dir}: no such run directory or checkpoint file")
    return path


def load(run_dir: str | Path) -> Model:
    """The trained model of ``run_dir`` (a run folder, or its ``checkpoint.npz`` itself).

    The model has the saved architecture, dtype and weights, on the host (NumPy).
    Raises FileNotFoundError when there is no checkpoint, ValueError when the file is not a
    readable tinyvae checkpoint (truncated, another format, parameters that do not fit).
    """
    return load_with_state(run_dir)[0]


def load_with_state(run_dir: str | Path) -> tuple[Model, dict[str, Any], Path]:
    """(model, checkpoint state, checkpoint path): :func:`load` plus the epoch, run config and metrics."""
    path = checkpoint_path(run_dir)
    model, _, state = load_checkpoint(path)
    return model, state, path


def run_data(state: dict[str, Any], model: Model, source: str | Path | None = None, *,
             run_dir: str | Path | None = None) -> Dataset:
    """The digits the run was trained on (its data source, binarization and limit), in the model's dtype.

    ``source`` replaces the data source the run recorded (e.g. when the data was moved). Without it,
    the recorded source must still be there and hold the same bytes (its SHA-256 is recorded with the
    run); otherwise FileNotFoundError or ValueError says so. A relative path (recorded by an older
    tinyvae) is taken relative to ``run_dir``, the run folder, and refused without one. The file is
    read (its format and size checked, cheaply) before it is hashed.
    """
    r = state["run_config"]
    try:
        binarize = binarize_mode(r.get("binarize"))  # "none", "static", "dynamic"; an older run's True/False
    except ValueError as e:
        raise ValueError(f"the saved run configuration is damaged: {e}") from None
    recorded = source is None and r.get("data") is not None
    if recorded:
        source = recorded_source(r["data"], run_dir)
        if not source.exists():
            raise FileNotFoundError(f"this run was trained on {source}, which is not there (any more); point to "
                                    f"the data with source=PATH")
    data = load_data(source, binarize=binarize, dtype=model.dtype, limit=int(r["limit"]) if r.get("limit") else None)
    if recorded:
        check_data_hash(source, r.get("data_hash"))
    return data


def check_data_hash(source: str | Path, recorded: str | None, now: str | None = None) -> None:
    """Refuse the data at ``source`` if its SHA-256 (``now``, or hashed here) is not the one its run
    ``recorded`` (None: an older run recorded none, nothing to compare); for evaluate, explore and resume."""
    if recorded and (fingerprint(source) if now is None else now) != recorded:
        raise ValueError(f"data={source} has changed since this run was trained (its SHA-256 differs from the one "
                         f"the run recorded): to evaluate it as it is now, pass it as source=PATH; to train on it, "
                         f"start a new run in another out_dir=DIR")


def recorded_source(data: str, run_dir: str | Path | None) -> Path:
    """The data path a run recorded, absolute: a relative one (older records) against the run folder
    ``run_dir``; ValueError if it is relative and there is no run folder, or it cannot be resolved."""
    if not data.startswith("~") and not Path(data).is_absolute():
        if run_dir is None:
            raise ValueError(f"this run recorded its data as the relative path {data!r}, and no run folder is "
                             f"given to read it against; point to the data with source=PATH")
        return resolve(Path(run_dir) / data, "source")
    return resolve(data, "source")
