"""What a latent code kept, said under the figures, by a judge that knows nothing of the model.

The judge (:mod:`tinyvae.figures.judge`) names the digit an image looks like by its 5 nearest training
digits. :func:`kept` says how often the reconstructions are still the right digit and which digits come
back as which; :func:`on_grid` which digits a decoded grid of the latent plane shows. A 2-D code keeps
some digits apart and not others: these lines say which, for the run at hand.
"""

from __future__ import annotations

import textwrap
from typing import Any, Callable

import numpy as np

from ..engine import backend
from ..models import memory
from .judge import nearest_labels, recognised

JUDGE_K, JUDGED, JUDGE_TRAIN = 5, 1000, 10_000  # the judge's k; test digits judged; training digits it knows


def kept(model: Any, data: Any, judge: Callable[[np.ndarray], np.ndarray]) -> str:
    """What the latent code kept of the test digits, in one line: how often ``judge`` (images -> digits)
    names the right digit for the reconstructions and for the originals, and the two digits most often lost."""
    x, y = np.asarray(data.x_test)[:JUDGED], np.asarray(data.y_test)[:JUDGED].astype(int)
    parts = memory.chunks(model, len(x), len(x))
    labels = model.labels_for(y)
    x_hat = np.concatenate([backend.to_numpy(model.reconstruct(model.asarray(x[r]), None if labels is None
                                                               else labels[r])) for r in parts])
    got, base = recognised(judge(x_hat), y), recognised(judge(x), y)
    lost = "; most often lost: " + ", ".join(f"{d} as {p} ({f:.0%} of {d}s)" for d, p, f in got["confusions"][:2])
    return (f"through a {int(model.z_dim)}-D code: the right digit for {got['overall']:.0%} of {len(y):,} test "
            f"reconstructions ({base['overall']:.0%} of the originals), as the {JUDGE_K} nearest training digits "
            f"judge{lost if got['confusions'] else ''}")


def on_grid(digits: np.ndarray) -> str:
    """Which digits a decoded grid shows, as the judge names them; and which of 0-9 it does not."""
    seen = sorted(set(np.asarray(digits).astype(int).tolist()))
    missing = [d for d in range(10) if d not in seen]
    return (f"the {JUDGE_K}-nearest-neighbour judge finds on this grid: {' '.join(map(str, seen))}"
            + (f"; no {', no '.join(map(str, missing))}" if missing else " (every digit)"))


def judge_of(data: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """images -> digits by the k nearest of (at most JUDGE_TRAIN) training digits; None without enough of them."""
    x_train = getattr(data, "x_train", None)
    if x_train is None or len(x_train) < JUDGE_K or getattr(data, "y_train", None) is None:
        return None
    xt, yt = np.asarray(x_train)[:JUDGE_TRAIN], np.asarray(data.y_train)[:JUDGE_TRAIN]
    return lambda images: nearest_labels(xt, yt, images, JUDGE_K)


def ends(digits: np.ndarray, originals: np.ndarray, decoded: np.ndarray) -> str:
    """The ends of interpolation rows: ``digits`` (2k,) their labels, the k x_a then the k x_b; ``originals``
    and ``decoded`` (2k,) what the judge reads in the images and in their decodings at α = 0 and α = 1."""
    k = len(digits) // 2
    show = []
    for d, o, r in zip(digits.astype(int).tolist(), originals.tolist(), decoded.tolist()):
        seen = "" if o == d else f" (read as {o} itself)"
        show.append(f"{d}" if r == d and not seen else f"{d}{seen} decodes as {r}")
    rows = "; ".join(f"{show[i]} … {show[k + i]}" for i in range(k))
    return f"the ends, as the {JUDGE_K} nearest training digits read them: {rows}"


def ends_of(judge: Callable[[np.ndarray], np.ndarray], digits: Any, a: np.ndarray, b: np.ndarray,
            decoded: np.ndarray) -> str:
    """:func:`ends` for rows from x_a (k, D) to x_b (k, D), decoded (k, steps, D), labels ``digits`` (2k,)."""
    return ends(np.asarray(digits), judge(np.concatenate([a, b])),
                judge(np.concatenate([decoded[:, 0], decoded[:, -1]])))


def wrapped(caption: str | None, width_inches: float) -> list[str]:
    """A caption's lines for a figure ``width_inches`` wide at 7.5 pt (about 14 characters an inch)."""
    return textwrap.wrap(caption, int(width_inches * 14)) if caption else []
