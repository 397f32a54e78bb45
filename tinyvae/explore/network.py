"""The model as the page's JavaScript (``network.js``) computes it: a description, layer by layer.

The page never asks what kind of model it holds; it reads what the model has:

- ``encoder``: the layers from the image to h, then ``mean`` (the head that gives mu, or an AE's code)
  and ``logvar`` (log σ² of the posterior q(z|x); ``null`` when the model has no posterior);
- ``decoder``: the layers from z to the logits; ``output`` the function after them;
- ``n_classes``: labels the model takes (0: none). With labels, the encoder reads [x, onehot(y)]
  and the decoder [z, onehot(y)].

A layer is ``{"kind": "linear", "in", "out", "W", "b"}``, an activation (``{"kind": "relu"}``, ...),
``{"kind": "reshape", "shape"}``, ``{"kind": "flatten"}``, or a convolution::

    {"kind": "conv2d" | "conv_transpose2d", "in_channels", "out_channels", "kernel": [kh, kw],
     "stride": [sh, sw], "pad": [top, left], "in_size": [H, W], "out_size": [H_out, W_out], "W", "b"}

``pad`` is where the two index systems meet: conv2d reads input pixel ``s·y + i - top`` for output
row y and kernel row i (zeros outside the image); conv_transpose2d adds input row y, kernel row i
onto output row ``s·y + i - top`` (what falls outside the output is dropped). Both are read from the
layer itself, so a layer padded on one side only (Keras's 'same' at stride 2) is described as it is.
Arrays are little-endian float32 in base64, row-major, in the shapes Python holds them.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.conv import Conv2d, ConvTranspose2d, Flatten, Reshape
from ..engine.layers import ACTIVATIONS, LeakyReLU, Linear, Sigmoid
from ..models.base import Model


def float32_base64(a: Any) -> str:
    """An array as little-endian float32 bytes in base64, row-major (what ``network.js`` reads)."""
    return base64.b64encode(np.ascontiguousarray(backend.to_numpy(a), dtype="<f4").tobytes()).decode("ascii")


def _weights(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """A layer's W and b as host arrays (b zeros where the layer has none); refuses non-finite weights."""
    W = backend.to_numpy(layer.params["W"])
    b = backend.to_numpy(layer.params["b"]) if "b" in layer.params else np.zeros(W.shape[1 if isinstance(
        layer, ConvTranspose2d) else 0], W.dtype)
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise ValueError("the model's weights are not all finite (did the run diverge?)")
    return W, b


def _pad_before(layer: Conv2d | ConvTranspose2d) -> list[int]:
    """[top, left]: the padding before the image on each axis, whether the layer keeps one number per
    axis (both sides alike, torch's) or a (before, after) pair per axis."""
    return [int(p[0]) if isinstance(p, (tuple, list)) else int(p) for p in layer.padding]


def _conv(layer: Conv2d | ConvTranspose2d, shape: tuple[int, ...]) -> tuple[dict[str, Any], tuple[int, ...]]:
    """A convolution's description for an input of ``shape`` (C, H, W), and its output's shape."""
    if len(shape) != 3 or shape[0] != layer.in_channels:
        raise ValueError(f"the explorer cannot follow {layer!r} after an output of shape {shape}")
    H_out, W_out = layer.output_shape(shape[1], shape[2])
    W, b = _weights(layer)
    kind = "conv2d" if isinstance(layer, Conv2d) else "conv_transpose2d"
    return ({"kind": kind, "in_channels": layer.in_channels, "out_channels": layer.out_channels,
             "kernel": list(layer.kernel_size), "stride": list(layer.stride), "pad": _pad_before(layer),
             "in_size": [shape[1], shape[2]], "out_size": [H_out, W_out],
             "W": float32_base64(W), "b": float32_base64(b)},
            (layer.out_channels, H_out, W_out))


def describe_layers(layers: list[Any], n_in: int) -> list[dict[str, Any]]:
    """The description of ``layers`` (in order) for a flat input of ``n_in`` numbers; the shape is
    followed through Reshape and the convolutions so that each convolution knows its image size."""
    names = {cls: name for name, cls in ACTIVATIONS.items()}
    out: list[dict[str, Any]] = []
    shape: tuple[int, ...] = (n_in,)
    for layer in layers:
        if isinstance(layer, Linear):
            if shape != (layer.in_features,):
                raise ValueError(f"the explorer cannot follow {layer!r} after an output of shape {shape}")
            W, b = _weights(layer)
            out.append({"kind": "linear", "in": layer.in_features, "out": layer.out_features,
                        "W": float32_base64(W), "b": float32_base64(b)})
            shape = (layer.out_features,)
        elif isinstance(layer, (Conv2d, ConvTranspose2d)):
            entry, shape = _conv(layer, shape)
            out.append(entry)
        elif isinstance(layer, Reshape):
            if math.prod(shape) != math.prod(layer.shape):
                raise ValueError(f"the explorer cannot follow {layer!r} after an output of shape {shape}")
            out.append({"kind": "reshape", "shape": list(layer.shape)})
            shape = layer.shape
        elif isinstance(layer, Flatten):
            out.append({"kind": "flatten"})
            shape = (math.prod(shape),)
        elif type(layer) in names:
            entry = {"kind": names[type(layer)]}
            if isinstance(layer, LeakyReLU):
                entry["slope"] = float(layer.slope)
            out.append(entry)
        else:
            raise ValueError(f"the explorer cannot compute a layer {layer!r}")
    return out


def _width(layers: list[dict[str, Any]], n_in: int) -> int:
    """How many numbers come out of described layers fed ``n_in``."""
    width = n_in
    for layer in layers:
        if layer["kind"] == "linear":
            width = layer["out"]
        elif layer["kind"] in ("conv2d", "conv_transpose2d"):
            width = layer["out_channels"] * math.prod(layer["out_size"])
    return width


def describe_model(model: Model) -> dict[str, Any]:
    """Everything ``network.js`` needs to encode and decode as ``model`` does (module docstring)."""
    parts = model.parts()
    C = model.n_classes
    encoder = describe_layers(list(parts["encoder"].layers), model.x_dim + C)
    heads = {name: describe_layers([part], _width(encoder, model.x_dim + C))[0] if part is not None else None
             for name, part in (("mean", parts.get("mu", parts.get("code"))), ("logvar", parts.get("logvar")))}
    if heads["mean"] is None or (heads["logvar"] is None) == model.has_posterior:
        raise ValueError(f"the explorer cannot find the encoder's heads in {model.describe()}")
    decoder = describe_layers(list(parts["decoder"].layers), model.z_dim + C)
    if _width(decoder, model.z_dim + C) != model.x_dim:
        raise ValueError(f"the decoder of {model.describe()} does not end in {model.x_dim} numbers")
    return {
        "z_dim": model.z_dim, "x_dim": model.x_dim, "side": math.isqrt(model.x_dim), "n_classes": C,
        "posterior": bool(model.has_posterior),
        "output": "sigmoid" if isinstance(model.output_act, Sigmoid) else "identity",
        "encoder": {"layers": encoder, "mean": heads["mean"], "logvar": heads["logvar"]},
        "decoder": {"layers": decoder},
    }
