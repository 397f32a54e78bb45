"""Where ``tinyvae train`` writes: the --out it is given, or a new folder of its own
(:mod:`tinyvae.training.run_folders`), so that no run erases another."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..training.run_folders import LATEST, clear_run, earlier_run, follow_latest, kind_of, new_run_folder, point_latest
from ..training.runs import CHECKPOINT, CONFIG, METRICS
from .errors import CLIError

RUNS = "runs"  # without --out: a new folder runs/<kind>-<n>, and runs/latest points at it


def check_out(args: argparse.Namespace) -> None:
    """Settle ``args.out`` before anything is read: --resume without --out continues runs/latest; an --out
    that holds another run is refused unless --resume or --overwrite. None stays None: a new folder."""
    if args.resume and args.overwrite:
        raise CLIError("--resume continues the run in --out, --overwrite replaces it; pass one of them")
    if args.out is None and args.resume:
        args.out = str(Path(RUNS) / LATEST)
    if args.out is None:
        return
    args.out = str(follow_latest(args.out))  # runs/latest where it is a text pointer, not a link
    found = earlier_run(Path(args.out)) if Path(args.out).is_dir() and not args.resume else None
    if found and not args.overwrite:
        raise CLIError(f"--out {args.out} holds another run ({found}); pass --resume to continue it, --overwrite "
                       f"to replace it, or leave out --out for a new folder")


def make_out(args: argparse.Namespace, cfg: dict[str, Any]) -> tuple[Path, bool]:
    """(the run folder, whether it is new): --out, or a new runs/<kind>-<n>. Nothing of an earlier run is
    touched here: :func:`first_epoch_saved` points runs/latest and clears an --overwrite'd run's files."""
    try:
        out = Path(args.out) if args.out else new_run_folder(Path(RUNS), kind_of(cfg["model"], cfg.get("arch", "mlp")))
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        where = f"--out {args.out}" if args.out else f"{RUNS}/"
        raise CLIError(f"{where}: cannot create the run directory ({e.strerror}); choose another --out") from e
    new = args.out is None
    if new:
        args.out = str(out)
        print(f"run folder: {out}", flush=True)
    return out, new


def first_epoch_saved(args: argparse.Namespace, out: Path, new: bool) -> None:
    """Once the new run's first checkpoint is in ``out``: runs/latest points at a new folder, and an
    --overwrite'd run's other files (its figures) go."""
    if args.overwrite:
        clear_run(out, keep=(CHECKPOINT, METRICS, CONFIG))  # those three are the new run's already
    if new:
        latest_path = Path(RUNS) / LATEST
        try:
            latest = point_latest(out)
            said = f"{latest_path} points at {out}" if latest else f"{latest_path} is an earlier run's folder, left as it is"
        except OSError as e:
            said = f"{latest_path} could not be pointed at {out}: {e.strerror}"
        print(f"({said})", flush=True)


def discard_if_empty(out: Path, new: bool) -> None:
    """A new folder whose run failed before its first checkpoint: removed, so runs/ holds only runs."""
    if new and not (out / "checkpoint.npz").exists():
        for leftover in out.iterdir():
            if leftover.name.startswith(".") and leftover.is_file():  # the lock, a stale temporary file
                leftover.unlink(missing_ok=True)
        try:
            out.rmdir()
        except OSError:
            pass  # something else is in it: left as it is
