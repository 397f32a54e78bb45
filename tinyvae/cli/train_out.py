"""Where ``tinyvae train`` writes: the --out it is given, or a new folder of its own
(:mod:`tinyvae.training.run_folders`), so that no run erases another."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import CLIError
from ..training.run_folders import LATEST

RUNS = "runs"  # without --out: a new folder runs/<kind>-<n>, and runs/latest points at it


def check_out(args: argparse.Namespace) -> None:
    """Settle ``args.out`` before anything is read: --resume without --out continues runs/latest; an --out
    that holds another run is refused unless --resume or --overwrite. None stays None: a new folder."""
    from ..training.run_folders import earlier_run, follow_latest

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


def make_out(args: argparse.Namespace, cfg: dict[str, Any]) -> Path:
    """The run folder: --out (its earlier run removed with --overwrite), or a new runs/<kind>-<n> that
    runs/latest then points at."""
    from ..training.checkpoint import lock_run_folder
    from ..training.run_folders import clear_run, kind_of, new_run_folder, point_latest

    latest_path = Path(RUNS) / LATEST
    try:
        out = Path(args.out) if args.out else new_run_folder(Path(RUNS), kind_of(cfg["model"], cfg.get("arch", "mlp")))
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        where = f"--out {args.out}" if args.out else f"{RUNS}/"
        raise CLIError(f"{where}: cannot create the run directory ({e.strerror}); choose another --out") from e
    if args.out is None:
        args.out = str(out)
        try:
            latest = point_latest(out)
            said = f"{latest} points here" if latest else f"{latest_path} is an earlier run's folder, left as it is"
        except OSError as e:
            said = f"{latest_path} could not be pointed here: {e.strerror}"
        print(f"run folder: {out} ({said})", flush=True)
    if args.overwrite:
        with lock_run_folder(out):  # not while another tinyvae writes there
            clear_run(out)
    return out
