"""IDX files, the format MNIST is distributed in: one array per file, a small header, then the values.

:func:`read_idx` reads one file (gzipped or not), bounded in size before anything is inflated;
:func:`read_idx_dir` reads the four files of the MNIST distribution (``IDX_FILES``) from a directory.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .safe_npz import MAX_DEFLATE_RATIO, check_read_fits

MAX_NDIM = 32  # numpy 1.x's limit on an array's dimensions
MAX_ARRAY_BYTES = 8 << 30  # one array of a data file (full MNIST's training images: 47 MB as bytes)

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

# IDX type codes (the third byte of the magic number) -> big-endian NumPy dtypes
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path, *, max_rows: int | None = None, out_itemsize: int = 0) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not).

    The format: a 4-byte magic number ``0x00 0x00 TYPE NDIM`` (TYPE 0x08 = unsigned byte, 0x09 signed
    byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), then NDIM big-endian uint32 sizes,
    then the values, big-endian, in C order. Returns a native-endian array of shape (sizes...).

    The header is read first; a payload larger than :data:`MAX_ARRAY_BYTES`, than the file holds, or
    (gzipped) than deflate can inflate the file to (``safe_npz.MAX_DEFLATE_RATIO``), is refused before
    it is read, and so is anything after the promised payload: a small ``.gz`` cannot inflate to
    gigabytes here. ``max_rows``: only the first rows are read (inflated), as ``limit`` asks; the memory
    the read needs (with ``out_itemsize``, the float width the values become) is checked first.
    """
    path = Path(path)
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"  # gzip's own magic number
    size = path.stat().st_size
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            a = _read_idx_stream(f, path, size, gz, max_rows, out_itemsize)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path} is a damaged gzip file ({type(e).__name__}: {e})") from None
    return a


def _read_idx_stream(f: Any, path: Path, size: int, gz: bool, max_rows: int | None, out_itemsize: int) -> np.ndarray:
    raw = f.read(4)
    if len(raw) < 4:
        raise ValueError(f"{path} is not an IDX file: only {len(raw)} bytes")
    magic = int.from_bytes(raw[:4], "big")
    type_code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"{path} is not an IDX file: magic 0x{magic:08x} (expected 0x0000 then a type code "
            f"0x08-0x0e and the number of dimensions, e.g. 0x00000803 for images)"
        )
    if ndim > MAX_NDIM:
        raise ValueError(f"{path}: IDX header says {ndim} dimensions, more than tinyvae reads ({MAX_NDIM}; "
                         f"MNIST's files have 1 or 3); the file is damaged or not MNIST")
    header = 4 + 4 * ndim
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{path}: IDX header cut short ({4 + len(dims)} bytes, {ndim} dimensions need {header})")
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_ARRAY_BYTES:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected:,} bytes), more than tinyvae reads "
                         f"({MAX_ARRAY_BYTES:,}); refused before reading it")
    if not gz and size - header != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data) but the file holds "
                         f"{size - header}; the file is truncated or damaged")
    if gz and expected + header > MAX_DEFLATE_RATIO * size:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected:,} bytes), more than deflate can inflate "
                         f"a {size:,}-byte file to ({MAX_DEFLATE_RATIO:,}:1); damaged or a decompression bomb, "
                         f"refused before inflating it")
    rows = shape[0] if max_rows is None else min(shape[0], max_rows)  # only the rows asked for
    want = rows * math.prod(shape[1:]) * dtype.itemsize
    check_read_fits(want, rows * math.prod(shape[1:]) * out_itemsize, str(path))
    payload = f.read(want)
    if len(payload) != want or (want == expected and f.read(1)):
        got = f"{len(payload)}" if len(payload) != want else "more"
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data) but the file holds "
                         f"{got}; the file is truncated or damaged")
    return np.frombuffer(payload, dtype=dtype).reshape((rows, *shape[1:])).astype(dtype.newbyteorder("="))


def find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def read_idx_dir(directory: Path, *, max_rows: int | None = None, out_itemsize: int = 0) -> dict[str, np.ndarray]:
    found = {key: find_idx(directory, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[k] + "[.gz]" for k, p in found.items() if p is None]
    if missing:
        raise FileNotFoundError(
            f"source={directory}: missing MNIST file(s) {', '.join(missing)}; the directory needs the four "
            f"IDX files from the MNIST distribution (`tinyvae data get mnist` downloads them; or pass an .npz file)"
        )
    arrays = {}
    for key, p in found.items():
        a = read_idx(p, max_rows=max_rows, out_itemsize=out_itemsize)  # type: ignore[arg-type]
        want = 3 if key.startswith("x") else 1
        if a.ndim != want:
            raise ValueError(f"{p}: expected {'images (N, 28, 28)' if want == 3 else 'labels (N,)'}, got shape {a.shape}")
        arrays[key] = a
    return arrays
