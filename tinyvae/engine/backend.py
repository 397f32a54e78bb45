"""Where arrays live: find the array namespace of the inputs, move arrays, bring them home.

Every computation in tinyvae asks its inputs which array library they belong to::

    xp = namespace(x, W)        # numpy for NumPy arrays, cupy for CuPy arrays, ...
    out = xp.exp(x @ W.T)       # the same line runs on either

NumPy arrays take a fast path straight to the ``numpy`` module (NumPy 2 implements the
array API standard in its main namespace). Anything else goes through
``array_api_compat.array_namespace``, which knows CuPy, PyTorch, JAX and the strict
reference implementation ``array_api_strict`` that the tests use as a stand-in for a GPU.

Host-side work (loading data, drawing random numbers, plotting, checkpoints) stays in NumPy;
:func:`to_numpy` brings any array home, and :func:`asarray_like` sends host data to where
another array lives. See ``walkthroughs/12_backends.md``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj, to_device
from array_api_compat import device as _device

Array = Any  # an array of whichever namespace: numpy.ndarray, cupy.ndarray, ...


def namespace(*arrays: Array) -> ModuleType:
    """The array namespace shared by ``arrays`` (``None`` entries are skipped)."""
    present = [a for a in arrays if a is not None]
    if all(type(a) is np.ndarray for a in present):
        return np
    return array_namespace(*present)


def is_array(a: object) -> bool:
    """True for an array of any namespace that array-api-compat knows, NumPy included."""
    if isinstance(a, np.ndarray):
        return True
    return bool(is_array_api_obj(a))


def device(a: Array) -> Any:
    """The device ``a`` lives on (``"cpu"`` for NumPy)."""
    if isinstance(a, np.ndarray):
        return "cpu"
    return _device(a)


def to_numpy(a: Array) -> np.ndarray:
    """Bring an array of any namespace (and on any device) home as a NumPy array."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    if type(a).__module__.startswith("array_api_strict"):
        import array_api_strict

        return np.asarray(array_api_strict.asarray(a, device=array_api_strict.Device("CPU_DEVICE")))
    return np.asarray(to_device(a, "cpu"))


def asarray_like(a: Any, like: Array) -> Array:
    """Host data ``a`` as an array of ``like``'s namespace, dtype and device."""
    if isinstance(like, np.ndarray):
        return np.asarray(a, dtype=like.dtype)
    xp = namespace(like)
    return xp.asarray(a, dtype=like.dtype, device=device(like))


def host_dtype(a: Array) -> Any:
    """The NumPy float dtype (float32 or float64) matching ``a``'s, whatever its namespace."""
    return np.dtype(np.float32 if "32" in str(a.dtype) else np.float64)


def move(a: Array, xp: ModuleType, device: Any = None) -> Array:
    """``a`` copied into namespace ``xp`` (on ``device``), going through the host."""
    host = to_numpy(a)
    if xp is np:
        return np.array(host)
    return xp.asarray(host, device=device) if device is not None else xp.asarray(host)


BACKENDS = ("numpy", "cupy", "array_api_strict")  # the closed list resolve() knows; nothing else is imported


def resolve(name: str) -> ModuleType:
    """The namespace called ``name``: one of :data:`BACKENDS` (``"numpy"``, ``"cupy"``, ``"array_api_strict"``).

    Any other name is refused with a ``ValueError``: a name read from a file never reaches an import.
    Raises ``ImportError`` with a one-line explanation when the library or its device is missing.
    """
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {list(BACKENDS)}")
    if name == "numpy":
        return np
    if name == "array_api_strict":
        import array_api_strict

        return array_api_strict
    try:
        import cupy
    except ImportError as e:
        raise ImportError("backend='cupy' needs CuPy: pip install cupy-cuda12x (and an NVIDIA GPU)") from e
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, no device
        raise ImportError(f"backend='cupy' found CuPy but no usable GPU ({e})") from e
    if n < 1:
        raise ImportError("backend='cupy' found CuPy but no GPU")
    return array_namespace(cupy.zeros(1))
