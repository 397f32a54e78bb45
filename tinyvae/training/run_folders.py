"""Where ``tinyvae train`` puts a run, so that no run erases another.

Without ``--out`` every run gets a folder of its own, ``runs/<kind>-<n>`` (``runs/vae-1``,
``runs/vae-2``, ``runs/cvae-1``, ``runs/conv-1``: the next free number of its kind), and
``runs/latest`` points at the newest: a symbolic link, or where links cannot be made (Windows without
the privilege) a small text file holding the folder's name, which :func:`follow_latest` reads.
``tinyvae evaluate runs/latest`` and ``tinyvae.load("runs/latest")`` find the run through either.

A folder named with ``--out`` that already holds a run (any file :data:`RUN_FILES` names) is refused,
unless ``--resume`` continues that run or ``--overwrite`` replaces it: then, once the new run's first
epoch is saved (its checkpoint, metrics and configuration replacing the earlier run's, each atomically),
:func:`clear_run` removes the earlier run's other files, so no figure of it is left beside the new
configuration, and a new run that fails in its first epoch leaves the earlier run whole. Likewise
``runs/latest`` is pointed at a new folder only once that folder holds a checkpoint.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..figures.plots import FILES as FIGURE_FILES  # (imports no matplotlib)

CHECKPOINT, METRICS, CONFIG = "checkpoint.npz", "metrics.json", "config.json"  # the files of a run folder

LATEST = "latest"
# what a run folder may hold that tinyvae wrote: the run itself, its figures and the explorer's page
RUN_FILES = (CHECKPOINT, METRICS, CONFIG, *FIGURE_FILES, "explore.html")
_NAME = re.compile(r"[a-z]+-[0-9]{1,9}")  # what a pointer file may name: a folder this module made
POINTER_MAX_BYTES = 64


def kind_of(model: str, arch: str) -> str:
    """The first part of a run folder's name: the model (``vae``, ``ae``, ``cvae``), or ``conv``."""
    return "conv" if arch == "conv" else model


def new_run_folder(root: Path, kind: str) -> Path:
    """Create and return ``root/<kind>-<n>``, n one more than the highest of that kind in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(rf"{re.escape(kind)}-([0-9]{{1,9}})")
    taken = [int(m.group(1)) for p in root.iterdir() if (m := pattern.fullmatch(p.name))]
    n = max(taken, default=0) + 1
    while True:
        folder = root / f"{kind}-{n}"
        try:
            folder.mkdir()  # exist_ok=False: a run started at the same moment takes the next number
            return folder
        except FileExistsError:
            n += 1


def point_latest(folder: Path) -> Path | None:
    """Make ``folder.parent/latest`` point at ``folder`` (replaced atomically); returns it, or None when
    ``latest`` is a real folder (an earlier tinyvae's run), which is left as it is."""
    latest = folder.parent / LATEST
    if latest.is_dir() and not latest.is_symlink():
        return None
    tmp = folder.parent / f".{LATEST}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(folder.name, tmp, target_is_directory=True)
    except (OSError, NotImplementedError):  # no symbolic links here: a text pointer instead
        tmp.write_text(folder.name + "\n", encoding="ascii")
    os.replace(tmp, latest)
    return latest


def follow_latest(path: str | Path) -> Path:
    """``path`` itself, unless it is a text pointer written by :func:`point_latest` (a small file named
    ``latest``): then the run folder it names, beside it. A pointer that does not name such a folder
    raises FileNotFoundError."""
    path = Path(path)
    if path.name != LATEST or path.is_symlink() or not path.is_file():
        return path
    with open(path, "rb") as f:
        raw = f.read(POINTER_MAX_BYTES + 1)  # a pointer is a few bytes; a large file is not one
    name = raw.decode("ascii", "replace").strip()
    target = path.parent / name
    if len(raw) > POINTER_MAX_BYTES or not _NAME.fullmatch(name) or not target.is_dir():
        raise FileNotFoundError(f"{path} is not a run folder, nor a pointer to one (a file naming a folder like "
                                f"vae-1 beside it); name a run folder instead")
    return target


def earlier_run(folder: Path) -> str | None:
    """The name of the first file of an earlier run in ``folder`` (None if it holds none)."""
    return next((name for name in RUN_FILES if (folder / name).exists()), None)


def clear_run(folder: Path, keep: tuple[str, ...] = ()) -> None:
    """Remove the files of an earlier run from ``folder`` (only the files tinyvae writes: :data:`RUN_FILES`),
    except those named in ``keep`` (the new run's own, already written over the earlier run's)."""
    for name in RUN_FILES:
        if name not in keep:
            (folder / name).unlink(missing_ok=True)
