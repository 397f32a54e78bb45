"""Reading ``.npz`` archives that someone else wrote: named members only, bounded, never unpickled.

``np.load`` reads whatever an archive holds, inflates each member whole and allocates whatever
shape a member's header claims. Here, instead::

    open_npz(path)             a zip archive whose member names are plain "a/b.npy" names (no "..",
                               no absolute paths, nothing but .npy), else ValueError
    read_member(zf, name, ...) the member's .npy header first; its dtype checked against ``kinds``
                               (numbers, or text for a JSON record; never objects); its size
                               (shape × itemsize) checked against ``max_bytes`` and against the size
                               the archive records, all BEFORE a byte of data is inflated; then
                               exactly that many bytes read, the CRC checked, nothing left over

Every failure is a ``ValueError`` naming the file and the member.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from ..models.memory import memory_budget

_NAME = re.compile(r"^[A-Za-z0-9_]+(/[A-Za-z0-9_.]+)?\.npy$")
MAX_NDIM = 32  # numpy 1.x's limit; no array tinyvae reads has more than 3 dimensions
_HEADER_MAX = 4096  # an .npy header is padded to a few hundred bytes; numpy itself reads at most 10,000
MAX_DEFLATE_RATIO = 1032  # deflate's largest possible inflation: 258 bytes from 2 bits (the zlib FAQ)


def open_npz(path: Path, what: str) -> zipfile.ZipFile:
    """The zip archive at ``path`` (an ``.npz``), its member names checked; ValueError otherwise."""
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
            raise ValueError(f"{path} is not {what}: not an .npz (zip) file")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, OverflowError, NotImplementedError) as e:
        raise ValueError(f"{path} is not {what}: probably truncated or damaged ({e})") from None
    for info in zf.infolist():
        name = info.filename
        if not _NAME.match(name) or ".." in name.split("/") or any(p.startswith(".") for p in name.split("/")):
            zf.close()
            raise ValueError(f"{path}: member {name[:80]!r} is not an .npy array name this format has; refused")
    return zf


def read_member(zf: zipfile.ZipFile, name: str, *, where: str, max_bytes: int, kinds: str = "fiu",
                max_rows: int | None = None, out_itemsize: int = 0) -> np.ndarray:
    """The array stored as member ``name`` of ``zf`` (see the module docstring).

    ``max_rows``: read only the first rows of a C-ordered array (``limit``: nothing beyond them is
    inflated); ``out_itemsize``: the float width its values will be converted to, for the memory estimate
    (:func:`check_read_fits`).
    """
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ValueError(f"{where}: member {name!r} is missing") from None
    if info.file_size > max_bytes + _HEADER_MAX:
        raise ValueError(f"{where}: member {name!r} holds {info.file_size:,} bytes, more than the "
                         f"{max_bytes:,} it can hold here; refused before reading it")
    try:
        with zf.open(info) as f:
            dtype, shape, fortran = _header(f, where, name)
            if dtype.hasobject:
                raise ValueError(f"{where}: member {name!r} holds pickled Python objects; refused (this format "
                                 f"holds numeric arrays only, and nothing is ever unpickled)")
            if dtype.names is not None or dtype.kind not in kinds or dtype.subdtype is not None:
                raise ValueError(f"{where}: member {name!r} has dtype {dtype}, not the numbers this format holds")
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if nbytes > max_bytes or nbytes > info.file_size:
                raise ValueError(f"{where}: member {name!r} claims shape {shape} ({nbytes:,} bytes), more than "
                                 f"the {min(max_bytes, info.file_size):,} it may hold; refused before reading it")
            if info.compress_type != zipfile.ZIP_STORED and nbytes > MAX_DEFLATE_RATIO * info.compress_size + _HEADER_MAX:
                raise ValueError(f"{where}: member {name!r} claims shape {shape} ({nbytes:,} bytes) from "
                                 f"{info.compress_size:,} compressed bytes, more than deflate can inflate them to "
                                 f"({MAX_DEFLATE_RATIO:,}:1); damaged or a decompression bomb, refused before inflating it")
            if max_rows is not None and shape and not fortran and shape[0] > max_rows:
                shape = (max_rows, *shape[1:])  # only the rows asked for are inflated
            want = int(np.prod(shape, dtype=object)) * dtype.itemsize
            check_read_fits(want, int(np.prod(shape, dtype=object)) * out_itemsize, f"{where}: member {name!r}")
            data = _read_exactly(f, want, where, name)
            if want == nbytes and f.read(1):
                raise ValueError(f"{where}: member {name!r} holds more bytes than its header says")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, struct.error, OverflowError,
            zlib.error) as e:
        raise ValueError(f"{where}: member {name!r} is damaged ({type(e).__name__}: {e})") from None
    a = np.frombuffer(data, dtype=dtype)
    return a.reshape(shape, order="F" if fortran else "C").astype(dtype.newbyteorder("="), copy=True)


def check_read_fits(raw_bytes: int, converted_bytes: int, what: str) -> None:
    """Refuse, before reading it, data whose reading needs more memory than the process has left
    (``models.memory.memory_budget``): the raw bytes about three times over (the pieces read, joined,
    and copied to native byte order) and the converted floats twice (the cast, then the scaling)."""
    need, budget = 3 * raw_bytes + 2 * converted_bytes, memory_budget()
    if need > budget:
        raise ValueError(f"{what}: reading it needs about {need / 2**30:,.1f} GiB of memory, more than the "
                         f"{budget / 2**30:,.1f} GiB available; read fewer images with limit=N, or free memory")


def _header(f: IO[bytes], where: str, name: str) -> tuple[np.dtype, tuple[int, ...], bool]:
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=_HEADER_MAX)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=_HEADER_MAX)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except Exception as e:  # numpy parses the header as Python (ast, tokenize): any failure there is a bad header
        raise ValueError(f"{where}: member {name!r} is not a readable .npy array ({e})") from None
    shape = tuple(int(s) for s in shape)
    if len(shape) > MAX_NDIM or any(s < 0 for s in shape):
        raise ValueError(f"{where}: member {name!r} declares shape {shape[:8]}{'...' if len(shape) > 8 else ''}, "
                         f"not an array shape (sizes must be >= 0, at most {MAX_NDIM} dimensions)")
    return np.dtype(dtype), shape, bool(fortran)


def _read_exactly(f: IO[bytes], n: int, where: str, name: str) -> bytes:
    chunks, left = [], n
    while left > 0:
        chunk = f.read(min(left, 1 << 24))
        if not chunk:
            raise ValueError(f"{where}: member {name!r} is cut short ({n - left:,} of {n:,} bytes)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
