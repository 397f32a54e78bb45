"""Build the explorer page: one HTML file with the run's encoder and decoder weights, the test set's
latent means, some test images, and the JavaScript that encodes and decodes in the browser.

The page is assembled from real files that ship with the package (``page.html``, ``explore.css``,
``network.js``, ``explore.js``); this module only adds numbers:

- ``model``: what the model computes, layer by layer (``network.describe_model``), and ``name``,
  the words the page shows for it;
- ``plane``: the plane the learner points at, ``z = center + a * axes[0] + b * axes[1]``: the
  latent axes themselves when z has two dimensions, otherwise the first two principal directions
  of the test means through their mean;
- ``points``: the test means' coordinates (a, b) on that plane and their digits (the first
  ``MAX_POINTS`` test images; ``of`` says how many the test set has), and the pixels of the first
  ``MAX_IMAGES`` of them (uint8, 0..255, base64), which the page shows when the pointer is on their dot.

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
from ..figures.draw import principal_axes
from ..models.base import Model
from .network import describe_model, float32_base64

MAX_POINTS = 5000  # test means drawn on the plane (the first ones; the test set is shuffled)
MAX_IMAGES = 500  # of those, the test images the page holds (784 bytes each) to show under the pointer


# ---- what the page can draw -----------------------------------------------------------------------
def check_drawable(model: Model) -> dict[str, Any]:
    """Refuse a model the page cannot encode and decode (ValueError, one line): a latent of one
    dimension, or a layer ``network.js`` does not compute. Returns its description (``describe_model``)."""
    if model.z_dim < 2:
        raise ValueError(f"the explorer needs a latent of at least 2 dimensions to draw a plane; this run has "
                         f"{model.z_dim} (train with z_dim=2 or more)")
    return describe_model(model)


# ---- the numbers ----------------------------------------------------------------------------------
def model_name(description: dict[str, Any]) -> str:
    """The words the page shows for the model, from what its description (``describe_model``) says it has:
    a posterior ("VAE"; without one, "plain autoencoder (AE)"), labels ("conditional"), convolutions
    ("convolutional"). Words only: the page's behaviour follows the same description, never the name."""
    name = "VAE" if description["posterior"] else "plain autoencoder (AE)"
    name = f"conditional {name}" if description["n_classes"] else name
    conv = any(layer["kind"].startswith("conv") for layer in description["decoder"]["layers"])
    return f"convolutional {name}" if conv else name


def image_bytes(x: Any) -> str:
    """Test images (n, 784) in [0, 1] as bytes round(255 x) in base64 (MNIST's own pixels are k/255)."""
    x = backend.to_numpy(x).astype(np.float64)
    return base64.b64encode(np.round(255 * np.clip(x, 0, 1)).astype(np.uint8).tobytes()).decode("ascii")


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
    description = check_drawable(model)
    n = min(len(y_test), MAX_POINTS)
    x, y = x_test[:n], np.asarray(y_test[:n]).astype(np.int64)
    means = backend.to_numpy(model.embed(x, model.labels_for(y))).astype(np.float64)
    if not np.isfinite(means).all():
        raise ValueError("the test images' latent means are not all finite (did the run diverge?)")
    plane = latent_plane(means)
    coords = (means - np.asarray(plane["center"])) @ np.asarray(plane["axes"]).T  # (n, 2)
    plane["view"] = view_box(coords, prior=model.has_posterior)
    lo, hi = means.min(axis=0), means.max(axis=0)
    pad = 0.15 * np.maximum(hi - lo, 1e-3)
    slider_lo, slider_hi = lo - pad, hi + pad
    if model.has_posterior:  # a VAE's sliders reach at least ±3 standard deviations of the prior
        slider_lo, slider_hi = np.minimum(slider_lo, -3.0), np.maximum(slider_hi, 3.0)
    return {
        "title": title,
        "model": {"name": model_name(description), **description},
        "plane": plane,
        "points": {"ab": float32_base64(coords), "digits": y.tolist(), "of": int(len(y_test)),
                   "images": image_bytes(x[:MAX_IMAGES])},
        "sliders": {"lo": slider_lo.tolist(), "hi": slider_hi.tolist()},
    }


# ---- the page -------------------------------------------------------------------------------------
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render(data: dict[str, Any]) -> str:
    """The HTML page for ``page_data``'s dict: the template with its style, data and scripts inlined."""
    style, network_js, explore_js = _asset("explore.css"), _asset("network.js"), _asset("explore.js")
    csp = ("default-src 'none'; base-uri 'none'; form-action 'none'; img-src data:; "
           f"style-src {_sha256(style)}; script-src {_sha256(network_js)} {_sha256(explore_js)}")
    # JSON inside <script>: "<" escaped so that no "</script>" can end the block early
    data_json = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    title = re.sub(r"[^A-Za-z0-9 ._/+()-]", "_", data["title"])
    fill = {"CSP": csp, "TITLE": title, "STYLE": style, "DATA": data_json,
            "NETWORK_JS": network_js, "EXPLORE_JS": explore_js}
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: fill[m.group(1)], _asset("page.html"))
