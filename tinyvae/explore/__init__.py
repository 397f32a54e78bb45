"""``tinyvae explore``: one self-contained HTML page where the learner moves z and watches the digit change.

- ``page.py``      the numbers the page embeds (decoder weights, test means on a plane) and the assembly
- ``page.html``    the page's skeleton; ``explore.css`` its look
- ``decoder.js``   the decoder's forward pass in JavaScript, as plain as the Python one
- ``explore.js``   the page's behaviour: pointer, keys, sliders, digit selector, interpolation

:func:`build_page` returns the HTML for a loaded model and its run's test images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models.base import Model
from .page import check_drawable, page_data, render


def build_page(model: Model, x_test: Any, y_test: np.ndarray, *, title: str = "tinyvae run") -> str:
    """The explorer page (HTML text) for ``model``, with the latent means of ``x_test`` (N, 784), digits ``y_test`` (N,)."""
    return render(page_data(model, x_test, y_test, title=title))


__all__ = ["build_page", "check_drawable"]
