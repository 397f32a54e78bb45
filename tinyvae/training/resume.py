"""Resuming a run, its rules in one place: what a resumed run keeps, checked once per resume (``fit``
calls :func:`check_resume`; the command line only hands its flags to ``fit``).

A run resumed from epoch k ends with exactly the weights of a run never interrupted, if it sees the
same architecture, the same data (its SHA-256 too), the same batches and the same β schedule, in the
same dtype: those values are :data:`KEPT`. What may change: ``epochs`` (train longer), ``lr`` (lower it
after a divergence), the threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checkpoint import check_architecture
from .data import binarize_mode
from .runs import check_data_hash, recorded_source

KEPT = ("data", "data_hash", "limit", "binarize", "kl_warmup", "batch_size", "seed", "dtype")


def check_resume(meta: dict[str, Any], arch: dict[str, Any], run: dict[str, Any], path: Path) -> None:
    """Refuse to continue the checkpoint ``meta`` (read from ``path``) as a run of architecture ``arch``
    (``model.config()``) and values ``run`` (fit's run config and the model's ``dtype``) when one of them
    differs from what the run was started with."""
    check_architecture(meta["architecture"], arch, path)
    saved = {"kl_warmup": 0, **meta["run_config"], "dtype": meta["dtype"]}  # no kl_warmup: a run from before warm-up
    for key in KEPT:
        if key == "data_hash" and key in run:  # the same bytes: the rule evaluate and explore ask too
            check_data_hash(run.get("data"), saved.get(key), now=run[key])
        elif key in saved and key in run and not _same(key, saved[key], run[key], path.parent):
            raise ValueError(_changed(key, saved, run))


def _changed(key: str, saved: dict[str, Any], run: dict[str, Any]) -> str:
    instead = "(start a new run in another out_dir=DIR instead)"
    return f"a resumed run continues as it was started, with {key}={saved[key]!r}; {key}={run[key]!r} would change it {instead}"


def _same(key: str, saved: Any, now: Any, folder: Path) -> bool:
    """Whether a saved run value is ``now``'s, read as today's reader reads it: an older record's binarize
    True/False as "static"/"none", its relative data path in the run folder ``folder``."""
    if saved == now:
        return True
    if key == "binarize":
        return binarize_mode(saved) == binarize_mode(now)
    if key == "data" and isinstance(saved, str) and isinstance(now, str):
        return str(recorded_source(saved, folder)) == now
    return False
