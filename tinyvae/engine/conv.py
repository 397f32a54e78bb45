"""Convolutions by hand: ``Conv2d`` and ``ConvTranspose2d``, plus ``Flatten`` and ``Reshape``.

Shapes are torch's: images are ``(N, C, H, W)`` (batch, channels, height, width);
``Conv2d.W`` is ``(out, in, kh, kw)``, ``ConvTranspose2d.W`` is ``(in, out, kh, kw)``.

**One idea: a convolution is a matrix product on the image's patches.** Cut every
``kh × kw`` window of every input channel out of the (zero-padded) image and lay the
windows side by side as the columns of a matrix (``im2col``)::

    cols[(c, i, j), (y, x, n)] = x_pad[n, c, s·y + i, s·x + j]        (C·kh·kw, H_out·W_out·N)

Then the whole layer, for the whole batch, is one matrix product::

    out[o, (y, x, n)] = Σ_(c,i,j) W[o, (c, i, j)] · cols[(c, i, j), (y, x, n)] + b[o]
    out = W_mat @ cols + b          W_mat = W.reshape(out, C·kh·kw)

and its backward is the backward of ``Linear`` (``layers.py``), read through the same matrix::

    dW_mat = dout_mat @ colsᵀ        (out, C·kh·kw)   a correlation of the input with dout
    db     = Σ_(y,x,n) dout          (out,)
    dcols  = W_matᵀ @ dout_mat       (C·kh·kw, H_out·W_out·N)
    dx     = col2im(dcols)           every column added back onto the window it came from

``col2im`` is the adjoint of ``im2col``: where ``im2col`` copies pixel ``x_pad[n, c, s·y+i, s·x+j]``
into a column, ``col2im`` adds the column's entry back onto that pixel (pixels that sit in several
windows collect several contributions). Written out, ``dx`` is the *full* convolution of ``dout``
(dilated by the stride) with the kernel flipped — ``walkthroughs/11_convolutions.md`` shows this on
a 4×4 image.

**The transposed convolution is the same two pieces in the other order.** ``ConvTranspose2d``'s
forward *is* ``Conv2d``'s input gradient (``W_matᵀ @ x`` then ``col2im``), and its input gradient
*is* ``Conv2d``'s forward (``im2col`` then ``W_mat @``). That is all it is: the map whose matrix is
the transpose of a convolution's matrix, which is why a stride-2 one doubles the image size.

``im2col`` and ``col2im`` (``im2col.py``) loop over the ``kh·kw`` kernel offsets (9 for a 3×3 kernel), never over
pixels: one strided slice of the whole batch per offset (windows overlap, so ``col2im`` adds them one
offset at a time). Neither builds a padded copy of the image: what hangs over the padding is zeros in
``im2col`` and dropped in ``col2im``. Only array-API operations touch the data (slicing, ``empty``,
``reshape``, ``permute_dims``, ``@``, slice assignment), so the same code runs on NumPy, CuPy and
``array_api_strict``.

Internally the images are held **channel first and batch last**, ``(C, H, W, N)``: ``cols`` is then
``(C·kh·kw, H_out·W_out·N)``, each layer a single large matrix product, and every slice that
``im2col`` copies and ``col2im`` adds moves runs of N contiguous numbers (the whole batch at one
pixel) however the stride steps across the image (with the batch first, a stride-2 slice moves single
numbers: ``bench/README.md``). The layers hand their outputs back as ``(N, C, H, W)`` views of that
memory, so the next layer (after a ReLU, which keeps the memory order) gets it back without a copy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backend import Array, namespace
from .checks import check_array
from .im2col import Pair, col2im, im2col
from .layers import Layer, _check_forward_ran

IntPair = int | tuple[int, int]
Padding = int | tuple[int, int] | tuple[tuple[int, int], tuple[int, int]]
Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right))

__all__ = ["Conv2d", "ConvTranspose2d", "Flatten", "Reshape", "col2im", "im2col", "same_padding"]


def _pair(v: IntPair, name: str, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 2)`` stays; refuses values below ``minimum``."""
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(a, (int, np.integer)) and a >= minimum for a in t):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {v!r}")
    return int(t[0]), int(t[1])


def _pads(v: Padding) -> Pads:
    """``1 -> ((1, 1), (1, 1))``; ``(1, 0) -> ((1, 1), (0, 0))``; ``((0, 1), (0, 1))`` stays: (top, bottom),
    (left, right). A pair of pairs pads the two sides of an axis differently, as Keras's ``'same'`` does."""
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(a, (tuple, list)) for a in v):
        return _pair(v[0], "padding (top, bottom)", 0), _pair(v[1], "padding (left, right)", 0)
    ph, pw = _pair(v, "padding", 0)
    return (ph, ph), (pw, pw)


def same_padding(kernel: int, stride: int) -> tuple[Pair, int]:
    """Keras's ``padding='same'`` for a side divisible by ``stride``: ((before, after), output_padding).

    A convolution keeps ``n / stride`` window positions, so it pads ``max(kernel - stride, 0)`` in all,
    the smaller half before: 3×3 at stride 2 pads (0, 1), at stride 1 (1, 1). The transposed convolution
    (the convolution's adjoint) trims the same rows off its output and, when the kernel is narrower than
    the stride, adds ``stride - kernel`` rows at the end (``output_padding``), so that n becomes n·stride.
    """
    total = max(kernel - stride, 0)
    return (total // 2, total - total // 2), max(stride - kernel, 0)


def _to_channels_first(x: Array) -> Array:
    """x (N, C, H, W) -> (C, H, W, N), channel first, batch last: a view, and free to use when x came
    out of a layer of this module (its memory is already in this order)."""
    return namespace(x).permute_dims(x, (1, 2, 3, 0))


def _to_batch_first(a: Array, C: int, H: int, W: int, N: int) -> Array:
    """(C, H·W·N) or (C, H, W, N) -> (N, C, H, W), a view: the memory stays batch-last."""
    xp = namespace(a)
    return xp.permute_dims(xp.reshape(a, (C, H, W, N)), (3, 0, 1, 2))


def _matmul_t_plain(a: Array, b: Array) -> Array:
    """``a @ bᵀ`` for a (m, K), b (n, K) -> (m, n): a weight gradient as the equation writes it
    (``dW_mat = dout_mat @ colsᵀ``), summed over a long K = H·W·N. The layers run its fast twin."""
    return a @ b.T


def _matmul_t_fast(a: Array, b: Array) -> Array:
    """:func:`_matmul_t_plain`, computed as ``(b @ aᵀ)ᵀ`` when b has more rows: the layers' weight gradients.

    The same products, maybe summed in another order by BLAS (equal to rounding, not always bit for bit:
    ``tests/test_conv.py::test_matmul_t_fast_equals_plain``). OpenBLAS on two threads is much slower in
    the other orientation: for the conv model's Conv2d(32 → 64) at batch 128, a (64, 6272) by (288, 6272),
    10.8 CPU ms plain against 5.0 on two threads, 2.6 and 2.7 ms on one (``bench/bench_step.py``, 15
    interleaved rounds, OPENBLAS_CORETYPE=Haswell, 2026-12-06); earlier, for ConvTranspose2d(64 → 32),
    28×28, batch 128: 1.2 s against 0.03 s.
    """
    return a @ b.T if a.shape[0] >= b.shape[0] else (b @ a.T).T


def _setup(layer: Layer, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair,
           padding: Padding) -> None:
    """What both convolutions check and store: channel counts, kernel and stride pairs, the padding as
    ((top, bottom), (left, right))."""
    if in_channels < 1 or out_channels < 1:
        raise ValueError(f"{type(layer).__name__} needs positive channel counts, got {in_channels} -> {out_channels}")
    layer.in_channels, layer.out_channels = int(in_channels), int(out_channels)  # type: ignore[attr-defined]
    layer.kernel_size = _pair(kernel_size, "kernel_size", 1)  # type: ignore[attr-defined]
    layer.stride, layer.padding = _pair(stride, "stride", 1), _pads(padding)  # type: ignore[attr-defined]


def _init(layer: Layer, shape: tuple[int, ...], fan_in: int, bias: bool, rng: Any, dtype: Any) -> None:
    """torch's default: W and b ~ U(-1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5); zero grads."""
    rng = np.random.default_rng(rng)
    bound = 1.0 / math.sqrt(fan_in)
    layer.params["W"] = rng.uniform(-bound, bound, shape).astype(dtype)
    if bias:
        layer.params["b"] = rng.uniform(-bound, bound, (layer.out_channels,)).astype(dtype)  # type: ignore[attr-defined]
    layer.grads.update({k: np.zeros_like(v) for k, v in layer.params.items()})


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in torch): x (N, C_in, H_in, W_in) -> out (N, C_out, H_out, W_out).

    ``H_out = (H_in + top + bottom - kh) // sh + 1`` (likewise W_out). W: (C_out, C_in, kh, kw); b: (C_out,).
    ``padding``: an int, (ph, pw), or ((top, bottom), (left, right)) (see :func:`same_padding`).
    Forward ``out = W_mat @ im2col(x_pad) + b``; backward (module docstring)::

        db = Σ_(y,x,n) dout                dW = dout_mat @ colsᵀ
        dx = col2im(W_matᵀ @ dout_mat)     (col2im drops what lands on the padding)

    Initialised as torch does, with fan_in = C_in·kh·kw.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1, padding: Padding = 0,
        bias: bool = True, *, rng: np.random.Generator | int | None = None, dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        _setup(self, in_channels, out_channels, kernel_size, stride, padding)
        kh, kw = self.kernel_size
        _init(self, (out_channels, in_channels, kh, kw), in_channels * kh * kw, bias, rng, dtype)

    def output_shape(self, H_in: int, W_in: int) -> tuple[int, int]:
        """(H_out, W_out) for an H_in × W_in input."""
        (kh, kw), (sh, sw), ((pt, pb), (pl, pr)) = self.kernel_size, self.stride, self.padding
        return (H_in + pt + pb - kh) // sh + 1, (W_in + pl + pr - kw) // sw + 1

    def forward(self, x: Array) -> Array:
        """x (N, C_in, H_in, W_in) -> out (N, C_out, H_out, W_out)."""
        W = self.params["W"]
        xp = namespace(x, W)
        N, H_in, W_in, H_out, W_out = _sizes(self, x, "smaller than its (padded) kernel")
        cols = im2col(_to_channels_first(x), self.kernel_size, self.stride, (H_out, W_out), _before(self))
        out = xp.reshape(W, (self.out_channels, -1)) @ cols  # (C_out, H_out·W_out·N): one matmul
        if "b" in self.params:
            out += self.params["b"][:, None]  # in place: out is a fresh array
        self.cache = (cols, (N, H_in, W_in, H_out, W_out))
        return _to_batch_first(out, self.out_channels, H_out, W_out, N)

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        """dout (N, C_out, H_out, W_out) -> dx (N, C_in, H_in, W_in); fills grads W (C_out, C_in, kh, kw), b (C_out,)."""
        _check_forward_ran(self)
        cols, (N, H_in, W_in, H_out, W_out) = self.cache
        W = self.params["W"]
        xp = namespace(dout, W)
        dout_mat = xp.reshape(_to_channels_first(dout), (self.out_channels, H_out * W_out * N))
        dW_mat = _matmul_t_fast(dout_mat, cols)  # ∂L/∂W = dout_mat @ colsᵀ (its plain twin: _matmul_t_plain)
        self.grads["W"] = xp.reshape(dW_mat, W.shape)
        if "b" in self.params:
            self.grads["b"] = xp.sum(dout_mat, axis=1)  # ∂L/∂b = Σ dout
        if not need_dx:
            return None
        dcols = xp.reshape(W, (self.out_channels, -1)).T @ dout_mat  # (C_in·kh·kw, H_out·W_out·N)
        canvas = (self.in_channels, H_in, W_in, N)  # the padding's pixels get no gradient: col2im drops them
        dx = col2im(dcols, canvas, self.kernel_size, self.stride, (H_out, W_out), _before(self))  # ∂L/∂x
        return _to_batch_first(dx, self.in_channels, H_in, W_in, N)

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels} → {self.out_channels}, kernel={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class ConvTranspose2d(Layer):
    """Transposed convolution (torch's): x (N, C_in, H_in, W_in) -> out (N, C_out, H_out, W_out).

    ``H_out = (H_in - 1)·sh - top - bottom + kh + oph`` (likewise W_out): ``padding`` (as for Conv2d) is
    cut off the output, ``output_padding`` adds rows/columns at the bottom/right so that a stride-2 layer
    can undo ``Conv2d``'s rounding (7 -> 14, not 13).
    W: (C_in, C_out, kh, kw); b: (C_out,).

    Forward = Conv2d's input gradient, with this layer's x in the place of dout::

        cols = W_matᵀ @ x_mat                (C_out·kh·kw, H_in·W_in·N)   W_mat = W.reshape(C_in, C_out·kh·kw)
        out  = col2im(cols) + b              (col2im drops what lands on the padding)

    Backward = Conv2d's forward (on dout) and its weight gradient::

        dcols = im2col(dout_pad)             (C_out·kh·kw, H_in·W_in·N)
        dx    = W_mat @ dcols                -> (N, C_in, H, W)
        dW    = x_mat @ dcolsᵀ               db = Σ_(y,x,n) dout

    Initialised as torch does, with fan_in = C_out·kh·kw (torch reads it from W's second axis).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1, padding: Padding = 0,
        output_padding: IntPair = 0, bias: bool = True, *, rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        _setup(self, in_channels, out_channels, kernel_size, stride, padding)
        self.output_padding = _pair(output_padding, "output_padding", 0)
        if not all(op < s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"output_padding {self.output_padding} must be smaller than stride {self.stride}")
        kh, kw = self.kernel_size
        _init(self, (in_channels, out_channels, kh, kw), out_channels * kh * kw, bias, rng, dtype)

    def output_shape(self, H_in: int, W_in: int) -> tuple[int, int]:
        """(H_out, W_out) for an H_in × W_in input."""
        (kh, kw), (sh, sw), (oh, ow) = self.kernel_size, self.stride, self.output_padding
        ((pt, pb), (pl, pr)) = self.padding
        return (H_in - 1) * sh - pt - pb + kh + oh, (W_in - 1) * sw - pl - pr + kw + ow

    def forward(self, x: Array) -> Array:
        """x (N, C_in, H_in, W_in) -> out (N, C_out, H_out, W_out)."""
        W = self.params["W"]
        xp = namespace(x, W)
        N, H_in, W_in, H_out, W_out = _sizes(self, x, "its padding trims away the whole output")
        x_mat = xp.reshape(_to_channels_first(x), (self.in_channels, H_in * W_in * N))
        cols = xp.reshape(W, (self.in_channels, -1)).T @ x_mat  # (C_out·kh·kw, H_in·W_in·N): one matmul
        canvas = (self.out_channels, H_out, W_out, N)  # includes output_padding's rows; padding is cut off
        out = col2im(cols, canvas, self.kernel_size, self.stride, (H_in, W_in), _before(self))
        if "b" in self.params:
            out += self.params["b"][:, None, None, None]  # in place: out is a fresh array
        self.cache = (x_mat, (N, H_in, W_in, H_out, W_out))
        return xp.permute_dims(out, (3, 0, 1, 2))

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        """dout (N, C_out, H_out, W_out) -> dx (N, C_in, H_in, W_in); fills grads W (C_in, C_out, kh, kw), b (C_out,)."""
        _check_forward_ran(self)
        x_mat, (N, H_in, W_in, H_out, W_out) = self.cache
        W = self.params["W"]
        xp = namespace(dout, W)
        if "b" in self.params:
            self.grads["b"] = xp.sum(dout, axis=(0, 2, 3))  # ∂L/∂b = Σ dout
        dcols = im2col(_to_channels_first(dout), self.kernel_size, self.stride, (H_in, W_in), _before(self))
        dW_mat = _matmul_t_fast(x_mat, dcols)  # ∂L/∂W = x_mat @ dcolsᵀ (its plain twin: _matmul_t_plain)
        self.grads["W"] = xp.reshape(dW_mat, W.shape)
        if not need_dx:
            return None
        dx = xp.reshape(W, (self.in_channels, -1)) @ dcols  # (C_in, H_in·W_in·N): Conv2d's forward
        return _to_batch_first(dx, self.in_channels, H_in, W_in, N)

    def __repr__(self) -> str:
        return (f"ConvTranspose2d({self.in_channels} → {self.out_channels}, kernel={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, output_padding={self.output_padding})")


class Flatten(Layer):
    """x (N, d1, d2, ...) -> (N, d1·d2·...) in C order, as torch's ``nn.Flatten``; dx reshapes back."""

    def forward(self, x: Array) -> Array:
        xp = namespace(x)
        check_array(x, who="Flatten", expect=None)
        if x.ndim < 2:
            raise ValueError(f"Flatten expects x of shape (N, ...), got {tuple(x.shape)}")
        self.cache = tuple(x.shape)
        return xp.reshape(x, (x.shape[0], -1))

    def backward(self, dout: Array, need_dx: bool = True) -> Array:
        _check_forward_ran(self)
        return namespace(dout).reshape(dout, self.cache)


class Reshape(Layer):
    """x (N, prod(shape)) -> (N, *shape), e.g. ``Reshape((64, 7, 7))`` turns (N, 3136) into (N, 64, 7, 7)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        if not self.shape or any(s < 1 for s in self.shape):
            raise ValueError(f"Reshape needs a non-empty shape of positive sizes, got {shape!r}")

    def forward(self, x: Array) -> Array:
        xp = namespace(x)
        check_array(x, who=repr(self), expect=None)
        if x.ndim < 2 or math.prod(x.shape[1:]) != math.prod(self.shape):
            raise ValueError(f"{self!r} expects x of shape (N, {math.prod(self.shape)}), got {tuple(x.shape)}")
        self.cache = tuple(x.shape)
        return xp.reshape(x, (x.shape[0], *self.shape))

    def backward(self, dout: Array, need_dx: bool = True) -> Array:
        _check_forward_ran(self)
        return namespace(dout).reshape(dout, self.cache)

    def __repr__(self) -> str:
        return f"Reshape({self.shape})"


def _before(layer: Any) -> Pair:
    """The padding before the image, (top, left): all im2col and col2im need (the rest follows from the sizes)."""
    return layer.padding[0][0], layer.padding[1][0]


def _sizes(layer: Any, x: Array, why_empty: str) -> tuple[int, int, int, int, int]:
    """(N, H_in, W_in, H_out, W_out) for a layer's input x (N, C_in, H_in, W_in), checked at the door;
    ``why_empty`` says why an input gives an empty image."""
    check_array(x, who=repr(layer), expect=("N", layer.in_channels, "H", "W"), like=layer.params["W"])
    N, _, H_in, W_in = x.shape
    H_out, W_out = layer.output_shape(H_in, W_in)
    if H_out < 1 or W_out < 1:
        raise ValueError(f"{layer!r} would give an empty image for a {H_in}×{W_in} input: {why_empty}")
    return N, H_in, W_in, H_out, W_out
