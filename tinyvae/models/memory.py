"""What one image costs in memory as it goes through a model, and chunks of images that stay in a budget.

A forward pass writes, for every image of the batch, each layer's output and keeps what its backward
needs (a Linear's input, a ReLU's input, a convolution's ``im2col`` columns). The convolutional VAE
is where this matters: a forward pass of it peaks at about 141,000 numbers per image, most of them its
transposed convolutions' column buffers and outputs, a 784-400-2 MLP's at about 4,700.
Work on many images at once (the IWAE estimate, the test pass, a figure's latent means, ``tinyvae
sample``) goes in chunks of :func:`chunk_rows` images, so that it needs about :data:`CHUNK_BYTES`
whatever the number of images, and the CLI refuses work that memory cannot hold before it starts,
with the same figure.

:func:`activation_floats` counts, from the architecture alone (``model.config()``), the numbers one
image's forward writes. Measured with tracemalloc for the architectures of ``tests/test_memory.py``
(MLPs from 8 to 2,000 hidden units, latent sizes 2 to 200, convolutions with kernels 1 to 7), the
peak per image of a forward, of a forward and backward, and of the IWAE's log-weights lies between
0.4 and 1.2 times that count (a decode, which runs half the model, below 1.2 too), so
:func:`bytes_per_image` takes :data:`MARGIN` times it.
"""

from __future__ import annotations

import math
import os
from typing import Any, Iterator

from ..engine import backend

CHUNK_BYTES = 512 << 20  # what one chunk of images may take (by bytes_per_image)
MARGIN = 1.5  # bytes_per_image over the floats counted: the measured peaks lie below 1.2 times the count


def activation_floats(cfg: dict[str, Any]) -> int:
    """The numbers one image's forward pass writes, counted layer by layer from the architecture ``cfg``.

    MLP (and the AE, the CVAE): the input (and a CVAE's inputs joined with the one-hot label), each
    hidden layer's output before and after its activation, the heads, z, the decoder's layers the same
    way, and four image-sized arrays at the output: the logits, x_hat, the loss's temporaries, its
    gradient. Convolutional: each (transposed) convolution's channel-first copy of its input, its column
    buffer (C·k² numbers per window position) and its output before and after the ReLU.
    """
    x, z = cfg["x_dim"], cfg["z_dim"]
    if cfg.get("arch") == "conv":
        c1, c2 = cfg.get("channels", [32, 64])
        k2, h, side = cfg.get("kernel_size", 3) ** 2, cfg.get("hidden_dim", 16), math.isqrt(x)
        half, quarter = (side // 2) ** 2, (side // 4) ** 2  # pixels of the maps at stride 2 and 4 (14², 7² for 28²)
        encoder = x + (k2 * half + 2 * c1 * half) + (c1 * half + c1 * k2 * quarter + 2 * c2 * quarter) + 2 * h
        decoder = (2 * c2 * quarter + (c2 * quarter + c2 * k2 * quarter + 2 * c2 * half)
                   + (c2 * half + c1 * k2 * half + 2 * c1 * x) + (c1 * x + k2 * x + x))
        return encoder + 3 * z + decoder + x
    c = cfg.get("n_classes", 10) if cfg["model"] == "cvae" else 0
    joined = x + c + z + c if c else 0  # a CVAE's encoder input [x, onehot(y)] and decoder input [z, onehot(y)]
    widths = sum(cfg["hidden_dims"])
    heads = 1 if cfg["model"] == "ae" else 2
    return x + joined + 2 * widths + (heads + 1) * z + 2 * widths + 4 * x


def bytes_per_image(cfg: dict[str, Any], itemsize: int) -> int:
    """The memory one image takes in a forward (and backward) pass: MARGIN × activation_floats × itemsize."""
    return math.ceil(MARGIN * activation_floats(cfg)) * itemsize


def image_bytes(model: Any) -> int:
    """:func:`bytes_per_image` for a built model: its architecture, in its float width, on any backend."""
    return bytes_per_image(model.config(), backend.host_dtype(model.ref).itemsize)


def chunk_rows(model: Any, cap: int) -> int:
    """How many images (or decoder rows) to take at once: as many as fit in CHUNK_BYTES, from 1 to ``cap``."""
    if cap < 1:
        raise ValueError(f"a chunk holds at least one image: cap must be 1 or more, got {cap}")
    return max(1, min(cap, CHUNK_BYTES // image_bytes(model)))


def chunks(model: Any, n: int, cap: int) -> Iterator[slice]:
    """Slices over n images, each of at most :func:`chunk_rows` (model, cap) images. No images: one empty
    slice, so that the model refuses the empty batch with its own message (no caller divides by zero)."""
    rows = chunk_rows(model, cap)
    for s in range(0, max(n, 1), rows):
        yield slice(s, min(s + rows, n))


def memory_budget() -> int:
    """Bytes this process may still allocate: what the machine has available, or less under RLIMIT_AS
    (what the command line's memory checks and the data readers compare their estimates with)."""
    budget = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    budget = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if budget is None:
        try:
            budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            budget = 1 << 34
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            budget = min(budget, soft - _address_space_in_use())
    except (ImportError, OSError, ValueError):
        pass
    return max(budget, 0)


def _address_space_in_use() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
