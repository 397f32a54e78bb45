"""The two pieces every convolution is made of: ``im2col`` (the windows of an image as columns) and
its adjoint ``col2im`` (the columns added back onto the pixels they came from).

``conv.py`` explains how ``Conv2d`` and ``ConvTranspose2d`` are built from them. A padding is given by
its rows and columns *before* the image (top, left); how far the windows reach past the bottom and right
edges follows from the number of window positions ``out_hw``, so a padding may differ on the two sides
(Keras's ``'same'`` at stride 2 pads 0 before and 1 after). Padded pixels are never stored.
"""

from __future__ import annotations

from . import backend
from .backend import Array, namespace

Pair = tuple[int, int]


def im2col(x: Array, kernel: Pair, stride: Pair, out_hw: Pair, padding: Pair = (0, 0)) -> Array:
    """The windows of an image, held channel-first and batch-last, as columns.

    x: (C, H, W, N) -> cols: (C·kh·kw, H_out·W_out·N), with
    ``cols[(c, i, j), (y, x, n)] = x_pad[c, sh·y + i, sw·x + j, n]`` for the ``H_out × W_out`` window
    positions ``out_hw``, where ``x_pad`` is x with ``padding = (top, left)`` rows and columns of zeros
    before it (and as many after it as the windows ``out_hw`` reach: a padding may be asymmetric).
    One strided slice per kernel offset (i, j), moving the whole batch in runs of N contiguous numbers.
    x_pad is never built: each offset copies the window positions that land inside x (:func:`_landing`)
    and writes zeros where they hang over the padding.
    """
    xp = namespace(x)
    (kh, kw), (sh, sw), (H_out, W_out), (ph, pw) = kernel, stride, out_hw, padding
    C, H, W, N = x.shape
    cols = xp.empty((C, kh, kw, H_out, W_out, N), dtype=x.dtype, device=backend.device(x))
    for i in range(kh):
        ys, oys = _landing(i, sh, ph, H_out, H)
        for j in range(kw):
            xs, oxs = _landing(j, sw, pw, W_out, W)
            cols[:, i, j, : ys.start, ...], cols[:, i, j, ys.stop :, ...] = 0, 0  # rows on the padding
            cols[:, i, j, ys, : xs.start, :], cols[:, i, j, ys, xs.stop :, :] = 0, 0  # columns on the padding
            if ys.stop > ys.start and xs.stop > xs.start:
                cols[:, i, j, ys, xs, :] = x[:, oys, oxs, :]
    return xp.reshape(cols, (C * kh * kw, H_out * W_out * N))


def _landing(i: int, s: int, p: int, n_in: int, n_out: int) -> tuple[slice, slice]:
    """Kernel offset i along one axis: which window positions y land inside the unpadded image (the
    padded pixel ``s·y + i`` is pixel ``s·y + i - p``), as (the slice of y, the slice of pixels)."""
    y_lo = max(0, -((i - p) // s))  # ceil((p - i) / s): the first y whose pixel is >= 0
    y_hi = min(n_in, (n_out - 1 + p - i) // s + 1)  # one past the last y whose pixel is < n_out
    o_lo = s * y_lo + i - p
    return slice(y_lo, max(y_lo, y_hi)), slice(o_lo, o_lo + s * max(0, y_hi - y_lo - 1) + 1, s)


def col2im(
    cols: Array, canvas: tuple[int, int, int, int], kernel: Pair, stride: Pair, out_hw: Pair, padding: Pair = (0, 0)
) -> Array:
    """The adjoint of :func:`im2col`: add every column entry back onto the pixel it was copied from.

    cols: (C·kh·kw, H_out·W_out·N) -> canvas: (C, H, W, N), with
    ``canvas_pad[c, sh·y + i, sw·x + j, n] += cols[(c, i, j), (y, x, n)]``, where ``canvas`` is
    ``canvas_pad`` without its ``padding = (top, left)`` rows and columns before it and whatever lies past
    its bottom and right edges: entries that land on the padding are dropped (they were zeros in ``im2col``). Scatter-add is not in the array API; slices of one kernel
    offset never overlap each other, so one slice-add per offset does it on any backend. The image
    splits into sh·sw stride phases (pixels ``(r + sh·m, q + sw·l)``), each offset landing on one: an
    offset that covers its phase whole is copied there first (no zero fill, one read fewer).
    """
    xp = namespace(cols)
    (kh, kw), (sh, sw), (H_out, W_out), (ph, pw) = kernel, stride, out_hw, padding
    C, H, W, N = canvas
    cols = xp.reshape(cols, (C, kh, kw, H_out, W_out, N))
    lands = [((i, j), *_landing(i, sh, ph, H_out, H), *_landing(j, sw, pw, W_out, W))
             for i in range(kh) for j in range(kw)]
    lands = [(k, ys, oys, xs, oxs) for k, ys, oys, xs, oxs in lands if ys.stop > ys.start and xs.stop > xs.start]
    whole = {(oys.start, oxs.start): k for k, ys, oys, xs, oxs in reversed(lands)  # phase -> its first whole offset
             if range(H)[oys] == range(oys.start % sh, H, sh) and range(W)[oxs] == range(oxs.start % sw, W, sw)}
    out = xp.empty(canvas, dtype=cols.dtype, device=backend.device(cols))
    for r, q in ((r, q) for r in range(sh) for q in range(sw) if (r, q) not in whole):
        out[:, r::sh, q::sw, :] = 0
    first = set(whole.values())
    for k, ys, oys, xs, oxs in sorted(lands, key=lambda land: land[0] not in first):  # the copies first
        if k in first:
            out[:, oys, oxs, :] = cols[:, k[0], k[1], ys, xs, :]
        else:
            out[:, oys, oxs, :] += cols[:, k[0], k[1], ys, xs, :]
    return out
