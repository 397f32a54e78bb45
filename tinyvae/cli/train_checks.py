"""The checks of ``tinyvae train``'s flags, before anything is built: the ranges a checkpoint may record,
what a resumed run may not change, and what a model of these widths costs. Each refusal is one line
(``CLIError``) naming the flag."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from . import CLIError


RESUME_FIXED = {"data": "--data", "limit": "--limit", "batch_size": "--batch-size", "binarize": "--binarize",
                "seed": "--seed", "dtype": "--dtype", "kl_warmup": "--kl-warmup"}


def check_resume(given: dict[str, Any], saved_arch: dict[str, Any], saved_run: dict[str, Any], out: Path) -> None:
    """Refuse flags that would make a resumed run differ from one uninterrupted run."""
    from ..training.data import binarize_mode
    from ..training.runs import recorded_source

    for key, flag in RESUME_FIXED.items():
        saved = saved_run.get(key)
        if key == "data" and saved is not None:
            saved = str(recorded_source(saved, out))  # a relative path recorded by an older tinyvae: in --out
        if key == "binarize" and key in saved_run:
            saved = binarize_mode(saved)  # an older record's True/False, as the reader reads it
        if key in given and key in saved_run and given[key] != saved:
            raise CLIError(f"--resume continues the run as it was started, with {flag} {saved_run[key]}; "
                           f"{flag} {given[key]} would change it (start a new run in another --out instead)")
    if "beta" in given and saved_arch.get("model") == "ae":
        raise CLIError("--beta weighs the KL term, which this run's plain autoencoder (--model ae) does not have")


def check_size(cfg: dict[str, Any], run: dict[str, Any]) -> None:
    """Refuse, before building anything, a model tinyvae would not read back or memory cannot hold."""
    from ..models import memory
    from ..training import schema
    from . import check_fits

    widths = [*cfg.get("hidden_dims", [cfg.get("hidden_dim", 1)]), cfg["z_dim"]]
    if max(widths) > schema.MAX_WIDTH:
        raise CLIError(f"--hidden and --latent widths must be at most {schema.MAX_WIDTH:,}, got {max(widths):,}")
    n = schema.count_params(cfg)
    if n > schema.MAX_PARAMS:
        raise CLIError(f"--hidden {' '.join(map(str, cfg.get('hidden_dims', [cfg.get('hidden_dim')])))} "
                       f"--latent {cfg['z_dim']} makes a model of {n:,} parameters, more than tinyvae builds "
                       f"({schema.MAX_PARAMS:,}); choose smaller widths")
    item = np.dtype(run["dtype"]).itemsize
    batch = min(run["batch_size"], run["limit"] or 60_000)
    check_fits(4 * n * item + batch * memory.bytes_per_image(cfg, item),
               "this model (weights, gradients, Adam state, one batch)",
               "choose smaller --hidden/--latent widths or a smaller --batch-size")


def check_arch(a: dict[str, Any], given: dict[str, Any]) -> None:
    if any(w < 1 for w in a["hidden"]):
        raise CLIError(f"--hidden widths must be positive, got {' '.join(map(str, a['hidden']))}")
    if a["latent"] < 1:
        raise CLIError(f"--latent must be at least 1, got {a['latent']}")
    if not (math.isfinite(a["beta"]) and a["beta"] >= 0):
        raise CLIError(f"--beta must be a number >= 0, got {a['beta']}")
    if a["beta"] > 1e6:
        raise CLIError(f"--beta must be at most 1e6, got {a['beta']:g}")
    if a["model"] == "ae" and "beta" in given:
        raise CLIError("--beta weighs the KL term, which a plain autoencoder (--model ae) does not have")
    if not (math.isfinite(a["free_bits"]) and 0 <= a["free_bits"] <= 1e6):
        raise CLIError(f"--free-bits must be a number of nats from 0 to 1e6, got {a['free_bits']:g}")
    for flag in ("--free-bits", "--kl-warmup"):
        if a["model"] == "ae" and flag[2:].replace("-", "_") in given:  # (``given`` holds the run flags too)
            raise CLIError(f"{flag} acts on the KL term, which a plain autoencoder (--model ae) does not have")
    if a["arch"] == "conv" and a["model"] != "vae":
        raise CLIError(f"--arch conv is available for --model vae only, not {a['model']}")
    if a["arch"] == "conv" and len(a["hidden"]) != 1:
        raise CLIError("--arch conv takes one --hidden width (the dense layer after the convolutions)")


def check_run(r: dict[str, Any]) -> None:
    """The run flags, in the ranges a checkpoint may record (tinyvae.training.schema.RUN_CONFIG)."""
    for flag, key, top in (("--epochs", "epochs", 10**6), ("--batch-size", "batch_size", 10**9),
                           ("--limit", "limit", 10**9)):
        if r[key] is not None and r[key] < 1:
            raise CLIError(f"{flag} must be at least 1, got {r[key]}")
        if r[key] is not None and r[key] > top:
            raise CLIError(f"{flag} must be at most {top:,}, got {r[key]:,}")
    if not 0 <= r["kl_warmup"] <= r["epochs"]:
        raise CLIError(f"--kl-warmup must be 0 to --epochs ({r['epochs']}), got {r['kl_warmup']}; longer, β never reaches --beta")
    if not (math.isfinite(r["lr"]) and r["lr"] > 0):
        raise CLIError(f"--lr must be a positive number, got {r['lr']}")
    if r["lr"] > 1e6:
        raise CLIError(f"--lr must be at most 1e6, got {r['lr']:g}")
    from ..training.data import binarize_mode

    try:
        r["binarize"] = binarize_mode(r["binarize"])  # a saved True/False (older runs) reads as static/none
    except ValueError as e:
        raise CLIError(f"{e}; pass --binarize none, static or dynamic") from None
