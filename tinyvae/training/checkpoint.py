"""Checkpoints: one ``.npz`` file with everything needed to continue a run exactly where it stopped.

What the file holds (plain numeric arrays and one JSON string, nothing pickled)::

    meta            0-d string: JSON with the format version, the architecture (``model.config()``),
                    the dtype, the epoch, the random generator's state, the optimizer's
                    hyperparameters and step count, the run configuration and the metrics so far
    param/NAME      every parameter, e.g. ``param/encoder.0.W``
    optim/KEY       the optimizer's state, e.g. ``optim/m.encoder.0.W`` (Adam's first moment)

Writing is atomic: the arrays go to a temporary file in the same directory, which is flushed to
disk (fsync) and then renamed over the old checkpoint (``os.replace``). A crash or ``kill -9``
at any moment leaves either the old checkpoint or the new one, never half of one.

Reading uses ``np.load(..., allow_pickle=False)``: a file holding pickled Python objects is
refused before anything in it can run. A truncated file, a file of another format version, or
(when asked) one for a different architecture is refused with a ``ValueError`` that says which.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

from ..engine import backend
from ..models.base import Model
from ..engine.optim import Adam

FORMAT_VERSION = 1
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


# ---- writing -------------------------------------------------------------------------------------
def save_checkpoint(
    path: str | Path,
    model: Model,
    optimizer: Adam,
    *,
    epoch: int,
    rng: np.random.Generator,
    run_config: dict[str, Any] | None = None,
    metrics: list[dict[str, Any]] | None = None,
) -> Path:
    """Write model, optimizer, epoch, ``rng``'s state, run config and metrics to ``path``, atomically."""
    path = Path(path)
    meta = {
        "format": "tinyvae-checkpoint",
        "format_version": FORMAT_VERSION,
        "architecture": model.config(),
        "dtype": np.dtype(backend.to_numpy(next(iter(model.params.values()))).dtype).name,
        "epoch": int(epoch),
        "rng_state": rng.bit_generator.state,
        "optimizer": {
            "name": type(optimizer).__name__, "lr": optimizer.lr, "t": optimizer.t,
            "betas": [optimizer.beta1, optimizer.beta2], "eps": optimizer.eps,
        },
        "run_config": run_config or {},
        "metrics": metrics or [],
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
    arrays.update({f"param/{k}": backend.to_numpy(v) for k, v in model.params.items()})
    arrays.update({f"optim/{k}": backend.to_numpy(v) for k, v in optimizer.state.items()})
    atomic_savez(path, arrays)
    return path


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it over ``path``: a crash
    at any moment leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez(path, **arrays)``, atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: np.savez(f, **arrays))


def atomic_write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented JSON in ``path``, atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode()))


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- reading -------------------------------------------------------------------------------------
def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(meta, params, optimizer state) from ``path``, checked; nothing built yet.

    Raises FileNotFoundError if there is no file and ValueError if it is not a complete tinyvae
    checkpoint of a format version this tinyvae can read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
            raise ValueError(f"{path} is not a readable checkpoint: not an .npz (zip) file")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}  # reads (and CRC-checks) every array now
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise ValueError(
                f"{path} holds pickled Python objects; refused (a tinyvae checkpoint holds only numeric arrays)"
            ) from None
        raise ValueError(f"{path} is not a readable checkpoint ({e}); it may be truncated") from e
    except Exception as e:  # zipfile.BadZipFile, EOFError, zlib.error, OSError: a damaged file
        raise ValueError(f"{path} is not a readable checkpoint, probably truncated or damaged "
                         f"({type(e).__name__}: {e})") from e
    if "meta" not in arrays or arrays["meta"].dtype.kind != "U" or arrays["meta"].ndim != 0:
        raise ValueError(f"{path} is an .npz file but not a tinyvae checkpoint (no 'meta' record)")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: the checkpoint's meta record is not valid JSON ({e})") from e
    check_meta(meta, path)
    for k, a in arrays.items():
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{path}: array {k!r} has dtype {a.dtype}; a checkpoint holds numbers only")
    params = {k[len("param/"):]: a for k, a in arrays.items() if k.startswith("param/")}
    state = {k[len("optim/"):]: a for k, a in arrays.items() if k.startswith("optim/")}
    return meta, params, state


def check_meta(meta: Any, path: str | Path = "checkpoint") -> None:
    """Refuse a meta record that is not a tinyvae checkpoint of a format version we can read."""
    if not isinstance(meta, dict) or meta.get("format") != "tinyvae-checkpoint":
        raise ValueError(f"{path} is not a tinyvae checkpoint")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ValueError(f"{path}: checkpoint has no valid format version ({version!r})")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {version}, newer than this tinyvae reads "
            f"({FORMAT_VERSION}); upgrade tinyvae to load it"
        )
    for key, kind in (("architecture", dict), ("epoch", int), ("rng_state", dict), ("optimizer", dict),
                      ("dtype", str)):
        if not isinstance(meta.get(key), kind):
            raise ValueError(f"{path}: checkpoint record {key!r} is missing or malformed")
    if meta["dtype"] not in ("float32", "float64"):
        raise ValueError(f"{path}: checkpoint dtype {meta['dtype']!r} is not float32 or float64")


def check_architecture(saved: dict[str, Any], wanted: dict[str, Any], path: str | Path = "checkpoint") -> None:
    """Refuse a checkpoint whose architecture (``model.config()``) differs from ``wanted``."""
    keys = sorted(set(saved) | set(wanted))
    diff = [f"{k}: checkpoint {saved.get(k)!r}, wanted {wanted.get(k)!r}" for k in keys if saved.get(k) != wanted.get(k)]
    if diff:
        raise ValueError(f"{path} was saved for a different architecture ({'; '.join(diff)})")


def load_checkpoint(
    path: str | Path,
    *,
    expect_architecture: dict[str, Any] | None = None,
) -> tuple[Model, Adam, dict[str, Any]]:
    """(model, optimizer, state) rebuilt from ``path``.

    The model is built from the saved architecture (``registry.build_model``) in the saved dtype on
    the host; its parameters and the Adam moments are the saved ones. ``state`` holds ``epoch``,
    ``rng`` (a Generator in the saved state), ``run_config``, ``metrics`` and ``meta``.
    With ``expect_architecture``, a checkpoint for any other architecture is refused.
    """
    from ..models.registry import build_model

    meta, params, opt_state = read_checkpoint(path)
    arch = meta["architecture"]
    if expect_architecture is not None:
        check_architecture(arch, expect_architecture, path)
    try:
        model = build_model(arch, rng=0, dtype=np.dtype(meta["dtype"]))
    except (TypeError, ValueError, ImportError) as e:
        raise ValueError(f"{path}: cannot build the saved architecture {arch} ({e})") from e
    try:
        model.load_params(params)
    except ValueError as e:
        raise ValueError(f"{path}: parameters do not fit the saved architecture ({e})") from e
    optimizer = restore_optimizer(model, meta["optimizer"], opt_state, path)
    state = {
        "epoch": meta["epoch"],
        "rng": restore_rng(meta["rng_state"], path),
        "run_config": meta.get("run_config", {}),
        "metrics": meta.get("metrics", []),
        "meta": meta,
    }
    return model, optimizer, state


def restore_optimizer(model: Model, saved: dict[str, Any], arrays: dict[str, np.ndarray], path: Any = "checkpoint") -> Adam:
    """An Adam on ``model`` with the saved hyperparameters, step count and moments."""
    if saved.get("name") != "Adam":
        raise ValueError(f"{path}: optimizer {saved.get('name')!r} is not supported (Adam only)")
    opt = Adam(model, lr=float(saved["lr"]), betas=tuple(saved["betas"]), eps=float(saved["eps"]))
    if set(arrays) != set(opt.state):
        raise ValueError(f"{path}: optimizer state does not match the model's parameters")
    for k, v in opt.state.items():
        if tuple(arrays[k].shape) != tuple(v.shape):
            raise ValueError(f"{path}: optimizer state {k}: expected shape {tuple(v.shape)}, got {arrays[k].shape}")
        v[...] = backend.asarray_like(arrays[k], v)
    opt.t = int(saved["t"])
    return opt


def restore_rng(state: dict[str, Any], path: Any = "checkpoint") -> np.random.Generator:
    """A Generator whose bit generator is in the saved ``state`` (``bit_generator.state``)."""
    name = state.get("bit_generator")
    if name not in _BIT_GENERATORS:
        raise ValueError(f"{path}: unknown random generator {name!r}")
    bit_gen = getattr(np.random, name)()
    try:
        bit_gen.state = state
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: malformed random generator state ({e})") from e
    return np.random.Generator(bit_gen)
