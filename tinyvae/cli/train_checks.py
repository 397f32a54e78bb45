"""What ``tinyvae train`` checks itself, before anything is built: only what is about its flags (``--arch
conv`` takes one ``--hidden`` width) and what memory the model would need. Every value is checked by the
library, once (``models/ranges.py``, ``training/run_values.py``, the resume rules in
``training/resume.py``); its one-line refusal names the parameter, which the command line shows as the flag."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models import memory
from ..models.size import count_params
from .errors import CLIError, check_fits

ONE_WIDTH = {"conv": "the dense layer after the convolutions"}  # an --arch that takes one --hidden: what it sets


def check_flags(a: dict[str, Any]) -> None:
    """What the flags themselves allow: ``--hidden`` is the one dense width of ``--arch conv``."""
    if a["arch"] in ONE_WIDTH and len(a["hidden"]) != 1:
        raise CLIError(f"--arch {a['arch']} takes one --hidden width ({ONE_WIDTH[a['arch']]})")


def check_memory(cfg: dict[str, Any], run: dict[str, Any]) -> None:
    """Refuse, before building anything, a model (its values checked) that memory cannot hold."""
    n = count_params(cfg)
    item = np.dtype(run["dtype"]).itemsize
    batch = min(run["batch_size"], run["limit"] or 60_000)
    check_fits(4 * n * item + batch * memory.bytes_per_image(cfg, item),
               "this model (weights, gradients, Adam state, one batch)",
               "choose smaller --hidden/--latent widths or a smaller --batch-size")
