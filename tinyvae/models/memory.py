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
from . import spec

CHUNK_BYTES = 512 << 20  # what one chunk of images may take (by bytes_per_image)
MARGIN = 1.5  # bytes_per_image over the floats counted: the measured peaks lie below 1.2 times the count


def activation_floats(cfg: dict[str, Any]) -> int:
    """The numbers one image's forward pass writes, counted layer by layer over the architecture's spec
    (``spec.describe(cfg)``): the image x (and a CVAE's inputs joined with the one-hot label, [x, c] and
    [z, c]); each layer's output (a Linear's, an activation's; a Reshape or Flatten writes nothing, a view);
    a (transposed) convolution's channel-first copy of its input (not of the image itself, read as a view)
    and its column buffer (C·k² numbers per window position: C_in for a convolution, C_out for a
    transposed one); the sampled z; and at the output, beside the logits, three image-sized arrays: x_hat,
    the loss's temporaries, its gradient.
    """
    s = spec.describe(cfg)
    x, z, c = s.x_dim, s.z_dim, s.n_classes
    floats = x + (x + c + z + c if c else 0) + (z if s.posterior else 0) + 3 * x
    reads_image = True  # until the first layer that writes: the layers before it only view x
    for part in s.parts:
        for layer in part.layers:
            floats += _writes(layer, copies_input=not reads_image)
            reads_image = reads_image and layer.kind in spec.VIEWS
    return floats


def _writes(layer: spec.LayerSpec, copies_input: bool) -> int:
    """The numbers ``layer``'s forward writes for one image (see :func:`activation_floats`)."""
    if layer.kind in spec.VIEWS:
        return 0
    out = math.prod(layer.shape_out)
    if layer.kind not in ("conv", "convT"):
        return out
    k2 = layer.options["kernel_size"] ** 2
    positions = math.prod(layer.shape_out[1:]) if layer.kind == "conv" else math.prod(layer.shape_in[1:])
    channels = layer.shape_in[0] if layer.kind == "conv" else layer.shape_out[0]
    return (math.prod(layer.shape_in) if copies_input else 0) + channels * k2 * positions + out


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
