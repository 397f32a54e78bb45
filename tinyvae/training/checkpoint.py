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

Reading never unpickles and never imports: only the members above are read (through
:mod:`tinyvae.training.safe_npz`, each bounded in size by the architecture before it is inflated),
and every value of the meta record is checked against :mod:`tinyvae.training.schema` before use.
A truncated or damaged file, a file of another format version, one whose weights are not finite
numbers of the saved dtype, or (when asked) one for a different architecture is refused with a
``ValueError`` that says which.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np

from ..engine import backend
from ..engine.files import atomic_write  # noqa: F401  (also read as training.checkpoint.atomic_write)
from ..engine.optim import Adam
from ..models.base import Model
from ..models.registry import build_model
from . import safe_npz, schema

FORMAT_VERSION = 1
MAX_MEMBERS = 1000
# Parameter groups renamed since checkpoints were first written: (model, old prefix, new prefix).
# Read here, in one place, so that every reader (tinyvae.load, resuming) sees today's names.
RENAMED = (("ae", "z.", "code."),)  # the AE's code head: "z.W" -> "code.W" (and Adam's "m.z.W" -> "m.code.W")


class Checkpoint(NamedTuple):
    """What :func:`read_checkpoint` returns: the checked meta record, the parameters, the optimizer state."""

    meta: dict[str, Any]
    params: dict[str, np.ndarray]
    optim: dict[str, np.ndarray]


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
        "dtype": np.dtype(model.dtype).name,
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


def atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez(path, **arrays)``, atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: np.savez(f, **arrays))


def atomic_write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented JSON in ``path``, atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1, allow_nan=False) + "\n").encode()))


# what atomic_write names its temporary files: "." + the file's name + "." + mkstemp's letters + ".tmp",
# for the files tinyvae writes into a run folder (checkpoint.npz, metrics.json, config.json, the figures,
# explore.html); nothing else a user keeps there (".my notes.tmp") looks like this
_OWN_TEMPORARY = re.compile(r"^\.[A-Za-z0-9_]+\.(npz|json|png|html|npy)\.[a-z0-9_]+\.tmp$")


def clean_stale_temporaries(directory: Path) -> list[Path]:
    """Remove the temporary files a killed :func:`atomic_write` left in ``directory`` (only names of its
    own pattern); call it holding the run folder's lock (:func:`lock_run_folder`), so that no live
    writer's file is removed."""
    removed = []
    for p in directory.glob(".*.tmp") if directory.is_dir() else []:
        if _OWN_TEMPORARY.match(p.name) and p.is_file() and not p.is_symlink():
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


@contextlib.contextmanager
def lock_run_folder(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run folder ``directory`` (a ``.lock`` file in it) while writing;
    a second writer is refused with a ``ValueError`` at once instead of silently racing the first.
    The lock file is opened relative to the folder itself and never through a symbolic link
    (``O_NOFOLLOW``): a ``.lock`` that is a link is refused, its target never created."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no flock (Windows): run unlocked
        yield
        return
    folder = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fd = os.open(".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666, dir_fd=folder)
    except OSError as e:
        raise ValueError(f"cannot lock the run folder {directory}: its .lock is not a plain file ({e.strerror}); "
                         f"remove {directory / '.lock'} or pass another out_dir=DIR") from None
    finally:
        os.close(folder)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"another tinyvae process is writing to {directory}; wait for it to finish, "
                             f"or pass another out_dir=DIR") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


# ---- reading -------------------------------------------------------------------------------------
def read_checkpoint(path: str | Path) -> Checkpoint:
    """(meta, params, optimizer state) from ``path``, checked; nothing built yet.

    Only the members the format defines are read (``meta``, ``param/NAME``, ``optim/KEY``; any other
    member is refused), the meta record first: every value in it is checked by
    :func:`tinyvae.training.schema.check_meta` before it is used, and the architecture it describes
    bounds each array's size before that array is inflated. Arrays must hold finite numbers of the
    saved dtype. Parameter groups renamed since (``RENAMED``) get today's names. Raises FileNotFoundError
    if there is no file and ValueError otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    with safe_npz.open_npz(path, "a tinyvae checkpoint") as zf:
        names = [n[: -len(".npy")] for n in zf.namelist()]
        other = [n for n in names if n != "meta" and not n.startswith(("param/", "optim/"))]
        if "meta" not in names:
            raise ValueError(f"{path} is an .npz file but not a tinyvae checkpoint (no 'meta' record)")
        if other:
            raise ValueError(f"{path}: member {other[0][:80]!r} is not part of a tinyvae checkpoint; refused")
        if len(names) > MAX_MEMBERS:
            raise ValueError(f"{path}: {len(names)} members, more than a tinyvae checkpoint has")
        text = safe_npz.read_member(zf, "meta.npy", where=str(path), max_bytes=4 * schema.MAX_META_BYTES, kinds="U")
        if text.ndim != 0:
            raise ValueError(f"{path}: the meta record is not a single string")
        meta = check_meta(schema.parse_json(str(text), f"{path}: meta record"), path)
        itemsize = np.dtype(meta["dtype"]).itemsize
        bound = schema.count_params(meta["architecture"]) * itemsize  # no array is larger than the model
        arrays = {n: safe_npz.read_member(zf, n + ".npy", where=str(path), max_bytes=bound, kinds="fiu")
                  for n in names if n != "meta"}
    for k, a in arrays.items():
        if a.dtype != np.dtype(meta["dtype"]):
            raise ValueError(f"{path}: array {k!r} has dtype {a.dtype}, but the checkpoint says {meta['dtype']}")
        if not np.isfinite(a).all():
            raise ValueError(f"{path}: array {k!r} holds NaN or inf values; the checkpoint is damaged")
    params = {k[len("param/"):]: a for k, a in arrays.items() if k.startswith("param/")}
    state = {k[len("optim/"):]: a for k, a in arrays.items() if k.startswith("optim/")}
    model = meta["architecture"].get("model")
    for kind, old, new in RENAMED:
        if model == kind:
            params = {_renamed(k, old, new): a for k, a in params.items()}
            state = {f"{moment}.{_renamed(name, old, new)}": a  # Adam's "m.NAME", "v.NAME"
                     for (moment, _, name), a in ((k.partition("."), a) for k, a in state.items())}
    return Checkpoint(meta, params, state)


def _renamed(name: str, old: str, new: str) -> str:
    return new + name[len(old):] if name.startswith(old) else name


def check_meta(meta: Any, path: str | Path = "checkpoint") -> dict[str, Any]:
    """The meta record, every value checked; refuses one that is not a tinyvae checkpoint of a
    format version we can read (see :mod:`tinyvae.training.schema`)."""
    if not isinstance(meta, dict) or meta.get("format") != "tinyvae-checkpoint":
        raise ValueError(f"{path} is not a tinyvae checkpoint")
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {version}, newer than this tinyvae reads "
            f"({FORMAT_VERSION}); upgrade tinyvae to load it"
        )
    try:
        return schema.check_meta(meta, "meta")
    except ValueError as e:
        raise ValueError(f"{path}: malformed checkpoint record, {e}") from None


def check_architecture(saved: dict[str, Any], wanted: dict[str, Any], path: str | Path = "checkpoint") -> None:
    """Refuse a checkpoint whose architecture (``model.config()``) differs from ``wanted``."""
    saved, wanted = {"arch": "mlp", **saved}, {"arch": "mlp", **wanted}  # an MLP's config() names no arch
    keys = sorted(set(saved) | set(wanted), key=lambda k: (k != "model", k != "arch", k))  # the kind first
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
        if k.startswith("v.") and (arrays[k] < 0).any():
            raise ValueError(f"{path}: optimizer state {k} (a mean of squares) holds negative values")
        if tuple(arrays[k].shape) != tuple(v.shape):
            raise ValueError(f"{path}: optimizer state {k}: expected shape {tuple(v.shape)}, got {arrays[k].shape}")
        v[...] = backend.asarray_like(arrays[k], v)
    opt.t = int(saved["t"])
    return opt


def restore_rng(state: dict[str, Any], path: Any = "checkpoint") -> np.random.Generator:
    """A Generator whose bit generator is in the saved ``state`` (``bit_generator.state``)."""
    name = state.get("bit_generator")
    if name not in schema.BIT_GENERATORS:  # checked again here: the name picks a class of np.random
        raise ValueError(f"{path}: unknown random generator {name!r}")
    bit_gen = getattr(np.random, name)()
    try:
        bit_gen.state = state
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: malformed random generator state ({e})") from e
    return np.random.Generator(bit_gen)
