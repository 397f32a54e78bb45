"""Build the explorer page: one HTML file with the run's decoder weights, the test set's latent
means and the JavaScript that decodes z in the browser.

The page is assembled from real files that ship with the package (``page.html``, ``explore.css``,
``decoder.js``, ``explore.js``); this module only adds numbers:

- ``model``: the decoder, layer by layer (``{"kind": "linear", "in", "out", "W", "b"}`` with W and b
  as little-endian float32 in base64, or ``{"kind": "relu"}`` and the other activations), the output
  function, ``z_dim``, and ``n_classes`` for a conditional VAE;
- ``plane``: the plane the learner points at, ``z = center + a * axes[0] + b * axes[1]``: the
  latent axes themselves when z has two dimensions, otherwise the first two principal directions
  of the test means through their mean;
- ``points``: the test means' coordinates (a, b) on that plane and their digits (the first
  ``MAX_POINTS`` test images; ``of`` says how many the test set has).

A Content-Security-Policy in the page allows nothing from the network (``default-src 'none'``)
and runs only the two scripts whose SHA-256 it lists.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import resources
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.layers import ACTIVATIONS, LeakyReLU, Linear
from ..figures.draw import principal_axes
from ..models.base import Model

MAX_POINTS = 5000  # test means drawn on the plane (the first ones; the test set is shuffled)
KINDS = ("vae", "ae", "cvae")


# ---- what the page can draw -----------------------------------------------------------------------
def check_drawable(model: Model) -> None:
    """Refuse a model whose decoder the page's JavaScript does not compute (ValueError, one line)."""
    cfg = model.config()
    if cfg.get("arch", "mlp") != "mlp":
        raise ValueError(f"the explorer computes MLP decoders only; this run is a {cfg.get('arch')} "
                         f"{cfg.get('model', 'vae').upper()} -- train an MLP run (arch=mlp)")
    if cfg.get("model") not in KINDS:
        raise ValueError(f"the explorer draws {', '.join(KINDS)} runs, not {cfg.get('model')!r}")
    if model.z_dim < 2:
        raise ValueError(f"the explorer needs a latent of at least 2 dimensions to draw a plane; this run has "
                         f"{model.z_dim} (train with z_dim=2 or more)")


# ---- the numbers ----------------------------------------------------------------------------------
def float32_base64(a: Any) -> str:
    """An array as little-endian float32 bytes in base64, row-major (what ``decoder.js`` reads)."""
    return base64.b64encode(np.ascontiguousarray(backend.to_numpy(a), dtype="<f4").tobytes()).decode("ascii")


def decoder_layers(model: Model) -> list[dict[str, Any]]:
    """The decoder as a list the JavaScript walks in order: Linear layers with their weights, activations."""
    names = {cls: name for name, cls in ACTIVATIONS.items()}
    layers: list[dict[str, Any]] = []
    for layer in model.decoder.layers:
        if isinstance(layer, Linear):
            W, b = backend.to_numpy(layer.params["W"]), backend.to_numpy(layer.params["b"])
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                raise ValueError("the decoder's weights are not all finite (did the run diverge?)")
            layers.append({"kind": "linear", "in": layer.in_features, "out": layer.out_features,
                           "W": float32_base64(W), "b": float32_base64(b)})
        elif type(layer) in names:
            entry: dict[str, Any] = {"kind": names[type(layer)]}
            if isinstance(layer, LeakyReLU):
                entry["slope"] = float(layer.slope)
            layers.append(entry)
        else:
            raise ValueError(f"the explorer cannot compute a decoder layer {layer!r}")
    return layers


def latent_plane(means: np.ndarray) -> dict[str, Any]:
    """The plane to point at: center (z_dim,), axes (2, z_dim), and how much of the means' variance it holds.

    Two dimensions: z itself (center 0, axes e1 and e2). More: the mean of the test means and the
    first two principal directions (``figures.draw.principal_axes``).
    """
    z_dim = means.shape[1]
    if z_dim == 2:
        center, axes, names = np.zeros(2), np.eye(2), ["z1", "z2"]
    else:
        center, vt, _ = principal_axes(means)
        axes, names = vt[:2], ["PC1", "PC2"]
    centred = means - center
    total = float((centred ** 2).sum())
    held = float(((centred @ axes.T) ** 2).sum())
    return {"center": center.tolist(), "axes": axes.tolist(), "names": names,
            "variance_held": held / total if total > 0 else 1.0}


def view_box(coords: np.ndarray, *, prior: bool) -> dict[str, Any]:
    """The square of the plane the page shows: around the points (n, 2), and around ±3 on both axes with
    ``prior`` (where N(0, I) puts nearly all its mass in two dimensions); equal scales on both axes."""
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    if prior:
        lo, hi = np.minimum(lo, -3.0), np.maximum(hi, 3.0)
    half = max(float((hi - lo).max()) / 2 * 1.1, 1e-3)
    return {"center": ((lo + hi) / 2).tolist(), "half_width": half}


def page_data(model: Model, x_test: Any, y_test: np.ndarray, *, title: str) -> dict[str, Any]:
    """Everything the page embeds, as a JSON-ready dict (see the module docstring)."""
    check_drawable(model)
    cfg = model.config()
    n = min(len(y_test), MAX_POINTS)
    x, y = x_test[:n], np.asarray(y_test[:n]).astype(np.int64)
    means = backend.to_numpy(model.embed(x, y) if model.conditional else model.embed(x)).astype(np.float64)
    if not np.isfinite(means).all():
        raise ValueError("the test images' latent means are not all finite (did the run diverge?)")
    plane = latent_plane(means)
    coords = (means - np.asarray(plane["center"])) @ np.asarray(plane["axes"]).T  # (n, 2)
    plane["view"] = view_box(coords, prior=cfg["model"] != "ae")
    lo, hi = means.min(axis=0), means.max(axis=0)
    pad = 0.15 * np.maximum(hi - lo, 1e-3)
    slider_lo, slider_hi = lo - pad, hi + pad
    if cfg["model"] != "ae":  # a VAE's sliders reach at least ±3 standard deviations of the prior
        slider_lo, slider_hi = np.minimum(slider_lo, -3.0), np.maximum(slider_hi, 3.0)
    return {
        "title": title,
        "model": {
            "kind": cfg["model"], "z_dim": model.z_dim, "x_dim": cfg["x_dim"],
            "n_classes": int(cfg.get("n_classes", 0)), "output": cfg["output"],
            "layers": decoder_layers(model),
        },
        "plane": plane,
        "points": {"ab": float32_base64(coords), "digits": y.tolist(), "of": int(len(y_test))},
        "sliders": {"lo": slider_lo.tolist(), "hi": slider_hi.tolist()},
    }


# ---- the page -------------------------------------------------------------------------------------
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render(data: dict[str, Any]) -> str:
    """The HTML page for ``page_data``'s dict: the template with its style, data and scripts inlined."""
    style, decoder_js, explore_js = _asset("explore.css"), _asset("decoder.js"), _asset("explore.js")
    csp = ("default-src 'none'; base-uri 'none'; form-action 'none'; img-src data:; "
           f"style-src {_sha256(style)}; script-src {_sha256(decoder_js)} {_sha256(explore_js)}")
    # JSON inside <script>: "<" escaped so that no "</script>" can end the block early
    data_json = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    title = re.sub(r"[^A-Za-z0-9 ._/+()-]", "_", data["title"])
    fill = {"CSP": csp, "TITLE": title, "STYLE": style, "DATA": data_json,
            "DECODER_JS": decoder_js, "EXPLORE_JS": explore_js}
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: fill[m.group(1)], _asset("page.html"))
