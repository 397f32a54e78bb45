"""``tinyvae explore``: one self-contained HTML page where the learner moves z and watches the digit change,
and draws a digit and sees where the encoder puts it.

- ``page.py``      the numbers the page embeds (test means on a plane, test images) and the assembly
- ``network.py``   the model described layer by layer (weights, convolutions' sizes and padding)
- ``page.html``    the page's skeleton; ``explore.css`` its look
- ``network.js``   the encoder's and decoder's forward passes in JavaScript, as plain as the Python ones
- ``explore.js``   the page's behaviour: pointer, keys, drawing, sliders, digit selector, interpolation

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
