"""One description per architecture: the layers a model is made of, with the shape each one writes.

``describe(cfg)`` reads an architecture, ``model.config()``'s dict (what checkpoints store), and gives
its :class:`Spec`: the parts in the order their weights are drawn, **encoder, mu, logvar, decoder**
(the AE: encoder, code, decoder), each part's layers first to last, each layer with the shape of one
image's input and output and the shapes of its parameters. Three things read a spec, so that they
cannot disagree:

- the constructors build their layers from it (:func:`build`), drawing every weight from the model's
  one generator as its layer is made, in the spec's order: the draw order is a property of the spec;
- ``size.count_params`` adds up its parameter shapes (the count the checkpoint's schema checks);
- ``memory.activation_floats`` adds up, layer by layer, the numbers one image's forward writes.

The MLPs, C = n_classes for the CVAE (its one-hot labels joined to both inputs), 0 otherwise::

    encoder      Linear(x_dim + C → h1), act, ..., Linear(h_{n-1} → h_n), act      (B, h_n)
    mu, logvar   Linear(h_n → z_dim) each                (the AE: one head, code)  (B, z_dim)
    decoder      Linear(z_dim + C → h_n), act, ..., Linear(h1 → x_dim)             (B, x_dim) logits

The convolutional VAE's table is in ``conv_vae.py``'s docstring; :func:`_conv` writes it as a spec.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

from ..engine.conv import Conv2d, ConvTranspose2d, Flatten, Reshape, same_padding
from ..engine.layers import Layer, Linear, Sequential, activation

Shape = tuple[int, ...]
# the constructors' defaults for what shapes an architecture, written once: the constructors' signatures
# read them, and describe fills a key a config leaves out with them (the command line's config of a new
# run names only its flags). A record written before a key existed is the checkpoint schema's to
# complete (a conv model without "padding" was trained with "symmetric": training/schema.py).
DEFAULTS: dict[str, Any] = {"activation": "relu", "n_classes": 10, "channels": (32, 64), "hidden_dim": 16,
                            "kernel_size": 3, "padding": "same"}
VIEWS = ("reshape", "flatten")  # layers that write nothing: their output is a view of their input


class LayerSpec(NamedTuple):
    """One layer: ``kind`` is "linear", "conv", "convT", "reshape", "flatten" or an activation's name;
    the shapes are one image's (``(784,)``, ``(32, 14, 14)``); ``params`` maps each parameter's name to
    its shape; ``options`` are a convolution's kernel_size, stride, padding (and output_padding)."""

    kind: str
    shape_in: Shape
    shape_out: Shape
    params: dict[str, Shape]
    options: dict[str, Any]


class Part(NamedTuple):
    """The layers whose parameters are named ``"{name}.…"``: a stack (a ``Sequential``, ``encoder.0.W``)
    or a head (its one layer, ``mu.W``)."""

    name: str
    layers: tuple[LayerSpec, ...]
    stack: bool


class Spec(NamedTuple):
    """An architecture: its parts in build order; ``n_classes`` label columns joined to the encoder's and
    the decoder's input (0: none); ``posterior``: two heads and a sampled z (False: the AE's code)."""

    x_dim: int
    z_dim: int
    n_classes: int
    posterior: bool
    parts: tuple[Part, ...]

    @property
    def convolutional(self) -> bool:
        """Whether any layer is a convolution (what ``threads.plan`` splits a batch for)."""
        return any(layer.kind == "conv" for part in self.parts for layer in part.layers)

    def params(self) -> dict[str, Shape]:
        """Every parameter's shape, named as ``Model.params`` names it (``"encoder.0.W"``, ``"mu.b"``)."""
        return {f"{p.name}.{i}.{k}" if p.stack else f"{p.name}.{k}": shape
                for p in self.parts for i, layer in enumerate(p.layers) for k, shape in layer.params.items()}

    def num_params(self) -> int:
        return sum(math.prod(shape) for shape in self.params().values())


# ---- one layer, given the shape it reads -----------------------------------------------------
Maker = Callable[[Shape], LayerSpec]


def dense(n_out: int) -> Maker:
    """Linear(n_in → n_out): W (n_out, n_in), b (n_out,)."""
    return lambda s: LayerSpec("linear", s, (n_out,), {"W": (n_out, s[0]), "b": (n_out,)}, {})


def act(name: str) -> Maker:
    """An activation: the shape it reads, no parameters."""
    return lambda s: LayerSpec(name, s, s, {}, {})


def reshape(shape: Shape) -> Maker:
    return lambda s: LayerSpec("reshape", s, shape, {}, {})


def flatten(s: Shape) -> LayerSpec:
    return LayerSpec("flatten", s, (math.prod(s),), {}, {})


def conv(c_out: int, k: int, stride: int, padding: Any) -> Maker:
    """Conv2d: (C_in, H, W) -> (c_out, (H + top + bottom - k) // stride + 1, ...); W (c_out, C_in, k, k)."""
    (t, b), (l, r) = padding

    def make(s: Shape) -> LayerSpec:
        out = (c_out, (s[1] + t + b - k) // stride + 1, (s[2] + l + r - k) // stride + 1)
        opts = {"kernel_size": k, "stride": stride, "padding": padding}
        return LayerSpec("conv", s, out, {"W": (c_out, s[0], k, k), "b": (c_out,)}, opts)
    return make


def conv_t(c_out: int, k: int, stride: int, padding: Any, output_padding: int) -> Maker:
    """ConvTranspose2d: (C_in, H, W) -> (c_out, (H - 1)·stride - top - bottom + k + output_padding, ...);
    W (C_in, c_out, k, k)."""
    (t, b), (l, r) = padding

    def make(s: Shape) -> LayerSpec:
        op = output_padding
        out = (c_out, (s[1] - 1) * stride - t - b + k + op, (s[2] - 1) * stride - l - r + k + op)
        opts = {"kernel_size": k, "stride": stride, "padding": padding, "output_padding": output_padding}
        return LayerSpec("convT", s, out, {"W": (s[0], c_out, k, k), "b": (c_out,)}, opts)
    return make


def stack(shape: Shape, *makers: Maker) -> tuple[LayerSpec, ...]:
    """The layers ``makers`` make, each reading the shape the one before it writes (the first: ``shape``)."""
    layers = []
    for make in makers:
        layers.append(make(shape))
        shape = layers[-1].shape_out
    return tuple(layers)


# ---- the architectures -------------------------------------------------------------------------
def describe(cfg: dict[str, Any]) -> Spec:
    """The :class:`Spec` of the architecture ``cfg`` (``model.config()``'s form; missing keys take the
    constructors' defaults, :data:`DEFAULTS`)."""
    return _conv(cfg) if cfg.get("arch") == "conv" else _mlp(cfg)


def _mlp_stack(n_in: int, widths: list[int], act_name: str, last_activation: bool) -> tuple[LayerSpec, ...]:
    """Linear(n_in → widths[0]), act, ..., Linear(→ widths[-1]) (and its act too if ``last_activation``)."""
    makers: list[Maker] = []
    for i, w in enumerate(widths):
        makers.append(dense(w))
        if i < len(widths) - 1 or last_activation:
            makers.append(act(act_name))
    return stack((n_in,), *makers)


def _mlp(cfg: dict[str, Any]) -> Spec:
    """The VAE, the CVAE (its labels joined to both inputs) and the AE (one head, ``code``)."""
    cfg = {**DEFAULTS, **cfg}
    x, z, hidden, a = cfg["x_dim"], cfg["z_dim"], list(cfg["hidden_dims"]), cfg["activation"]
    c = cfg["n_classes"] if cfg.get("model") == "cvae" else 0
    posterior = cfg.get("model") != "ae"
    names = ("mu", "logvar") if posterior else ("code",)
    heads = [Part(name, stack((hidden[-1],), dense(z)), False) for name in names]
    return Spec(x, z, c, posterior, (
        Part("encoder", _mlp_stack(x + c, hidden, a, True), True),
        *heads,
        Part("decoder", _mlp_stack(z + c, [*hidden[::-1], x], a, False), True),
    ))


def conv_pads(padding: str, k: int, stride: int) -> tuple[tuple[tuple[int, int], tuple[int, int]], int]:
    """(((top, bottom), (left, right)), output_padding) of a (transposed) convolution at ``stride``:
    "same" is Keras's (``conv.same_padding``), "symmetric" torch-style (k // 2 each side, stride - 1)."""
    if padding == "same":
        pair, extra = same_padding(k, stride)
        return (pair, pair), extra
    return ((k // 2, k // 2), (k // 2, k // 2)), stride - 1


def _conv(cfg: dict[str, Any]) -> Spec:
    """The convolutional VAE: two stride-2 convolutions and a dense layer, the heads, a dense layer and
    three transposed convolutions (``conv_vae.py``'s table)."""
    cfg = {**DEFAULTS, **cfg}
    x, z = cfg["x_dim"], cfg["z_dim"]
    (c1, c2), k, h, padding = cfg["channels"], cfg["kernel_size"], cfg["hidden_dim"], cfg["padding"]
    (p2, op), (p1, _) = conv_pads(padding, k, 2), conv_pads(padding, k, 1)
    side = math.isqrt(x)
    s4 = side // 4
    relu = act("relu")
    encoder = stack((x,), reshape((1, side, side)), conv(c1, k, 2, p2), relu, conv(c2, k, 2, p2), relu, flatten,
                    dense(h), relu)
    decoder = stack((z,), dense(c2 * s4 * s4), relu, reshape((c2, s4, s4)), conv_t(c2, k, 2, p2, op), relu,
                    conv_t(c1, k, 2, p2, op), relu, conv_t(1, k, 1, p1, 0), flatten)
    return Spec(x, z, 0, True, (
        Part("encoder", encoder, True),
        Part("mu", stack((h,), dense(z)), False),
        Part("logvar", stack((h,), dense(z)), False),
        Part("decoder", decoder, True),
    ))


# ---- building -------------------------------------------------------------------------------
def build_layer(layer: LayerSpec, rng: np.random.Generator, dtype: Any) -> Layer:
    """The engine's layer for ``layer``; its weights drawn from ``rng`` (W, then b)."""
    if layer.kind == "linear":
        return Linear(layer.shape_in[0], layer.shape_out[0], rng=rng, dtype=dtype)
    if layer.kind == "conv":
        return Conv2d(layer.shape_in[0], layer.shape_out[0], **layer.options, rng=rng, dtype=dtype)
    if layer.kind == "convT":
        return ConvTranspose2d(layer.shape_in[0], layer.shape_out[0], **layer.options, rng=rng, dtype=dtype)
    if layer.kind == "reshape":
        return Reshape(layer.shape_out)
    if layer.kind == "flatten":
        return Flatten()
    return activation(layer.kind)


def build(spec: Spec, rng: np.random.Generator, dtype: Any) -> dict[str, Layer]:
    """Each part of ``spec`` by name, built in the spec's order (encoder, mu, logvar, decoder; the AE's
    code in the heads' place), layer after layer, every weight drawn from the one generator ``rng``:
    the same seed and spec give the same weights."""
    parts: dict[str, Layer] = {}
    for part in spec.parts:
        layers = [build_layer(layer, rng, dtype) for layer in part.layers]
        parts[part.name] = Sequential(*layers) if part.stack else layers[0]
    return parts
