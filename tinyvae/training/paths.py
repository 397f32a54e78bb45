"""Paths that a user or a saved run names: resolved once, and every way that can fail said in one error.

``Path.expanduser`` raises ``RuntimeError`` for ``~nosuchuser/x``, ``Path.resolve`` raises it for a
symlink loop, and ``is_file()``/``is_dir()`` answer False for a device, a FIFO or a loop alike (so a
later "no such file" would name the wrong thing, and opening a FIFO would wait forever). Here::

    resolve(path, name)     the absolute path (``~`` expanded, links followed); ValueError naming
                            ``name=path`` and what is wrong, never RuntimeError
    input_kind(path, name)  "dir" or "file" (a regular file); FileNotFoundError if nothing is there,
                            ValueError for anything else (a device, a FIFO, a socket, a loop)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def resolve(path: str | Path, name: str = "source") -> Path:
    """``path`` absolute, with ``~`` expanded and symbolic links followed (see the module docstring)."""
    try:
        return Path(path).expanduser().resolve()
    except (RuntimeError, OSError, ValueError) as e:  # ~nosuchuser, a symlink loop, an embedded NUL byte
        raise ValueError(f"{name}={path}: cannot resolve this path ({_reason(e)}); name an existing file "
                         f"or directory") from None


def input_kind(path: Path, name: str = "source") -> str:
    """"dir" or "file" for what ``path`` names, without opening it (see the module docstring)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}={path}: no such file or directory") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{name}={path}: cannot read this path ({_reason(e)})") from None
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    raise ValueError(f"{name}={path}: not a regular file or a directory ({what}); name an .npz file or a "
                     f"directory of MNIST IDX files")


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
