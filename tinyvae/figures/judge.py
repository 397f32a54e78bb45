"""Which digit does an image look like? Its k = 5 nearest training digits vote.

A judge that knows nothing of the model: the Euclidean distance between pixel rows, and a majority
vote of the k closest training images (ties go to the smaller digit, as scikit-learn's
``KNeighborsClassifier(5)`` decides them; ``tests/test_judge.py`` checks the two agree). The figures use it to
say what a latent code kept: how many test reconstructions are still the right digit, which digits come
back as which, which digits a decoded grid of the latent plane shows. ``bench/default_run.py`` judges
the default run with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

K = 5


def nearest_labels(x_train: Any, y_train: Any, images: Any, k: int = K, chunk: int = 500) -> np.ndarray:
    """(N,) the digit most of the ``k`` nearest rows of ``x_train`` (M, D) carry, for each row of ``images`` (N, D).

    y_train: (M,) integer labels. Distances in float64, ``chunk`` images at a time (chunk × M numbers).
    """
    x_train = np.asarray(x_train, np.float64)
    y_train = np.asarray(y_train).astype(np.int64)
    images = np.asarray(images, np.float64)
    if x_train.ndim != 2 or images.ndim != 2 or images.shape[1] != x_train.shape[1] or len(y_train) != len(x_train):
        raise ValueError(f"nearest_labels needs x_train (M, D), y_train (M,), images (N, D); got {x_train.shape}, "
                         f"{y_train.shape}, {images.shape}")
    if not 1 <= k <= len(x_train):
        raise ValueError(f"k must be between 1 and the {len(x_train)} training images, got {k}")
    sq_train = np.sum(x_train**2, axis=1)  # (M,)
    classes = int(y_train.max()) + 1
    out = np.empty(len(images), np.int64)
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk]
        d2 = np.sum(part**2, axis=1)[:, None] - 2.0 * part @ x_train.T + sq_train[None, :]  # (n, M) squared distances
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]  # (n, k), in no order
        votes = np.zeros((len(part), classes), np.int64)
        np.add.at(votes, (np.arange(len(part))[:, None], y_train[nearest]), 1)
        out[start:start + chunk] = np.argmax(votes, axis=1)  # the first of the most voted: the smaller digit
    return out


def recognised(predicted: Any, y: Any) -> dict[str, Any]:
    """How often ``predicted`` is ``y``: ``overall`` (a fraction), ``per_digit`` {digit: fraction},
    ``worst`` (the digit, its fraction) and ``confusions``: (true, predicted, fraction of that digit)
    for every wrong pair, the most frequent first."""
    predicted, y = np.asarray(predicted).astype(np.int64), np.asarray(y).astype(np.int64)
    digits = sorted(set(y.tolist()))
    per = {d: float(np.mean(predicted[y == d] == d)) for d in digits}
    pairs = [(d, p, float(np.mean(predicted[y == d] == p))) for d in digits for p in sorted(set(predicted.tolist()))
             if p != d and np.any(predicted[y == d] == p)]
    worst = min(per, key=lambda d: (per[d], d))
    return {"overall": float(np.mean(predicted == y)), "per_digit": per, "worst": (worst, per[worst]),
            "confusions": sorted(pairs, key=lambda t: (-t[2], t[0], t[1]))}
