"""What bench_mlp.py and bench_conv.py share: the machine's facts, BLAS threads, interleaved timing, scaling.

Timing protocol, once: every contender runs one epoch per round, in a rotated order (round r starts
with contender r mod k), each after a short rest (``PAUSE``), and the figure is the median over the
rounds. A machine that slows down (other jobs, heat) then slows every contender alike.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

# Seconds of rest before each timed epoch. OpenBLAS's worker threads keep spinning for about 2^28
# cycles (~0.1 s) after their last product before they sleep; on 2 cores they would take one away
# from whichever contender runs next (measured: torch's epoch 0.24 s alone, 0.33 s right after
# tinyvae's). Resting first lets each start on an idle machine.
PAUSE = 0.3


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """NumPy's BLAS limited to ``n`` threads inside the block (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(n, user_api="blas"):
        yield


def interleaved(contenders: dict[str, Callable[[int], float]], rounds: int, log: Callable[[str], None],
                pause: float = PAUSE) -> dict[str, list[float]]:
    """{name: [seconds of each round]}; ``fn(round)`` runs one epoch and returns its seconds."""
    names = list(contenders)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            time.sleep(pause)
            times[name].append(contenders[name](r))
        log(f"  round {r + 1:2d}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in times.items()))
    return times


def median(v: list[float]) -> float:
    return statistics.median(v)


def round_by_round(mine: list[float], theirs: list[float]) -> dict[str, float]:
    """The ratio mine / theirs of each round (both ran in it, seconds apart): how often mine was ahead, and
    the ratios' spread. On a shared machine the medians hide that the rounds fall into quiet and busy ones."""
    r = [a / b for a, b in zip(mine, theirs, strict=True)]
    return {"ahead": sum(x < 1 for x in r), "rounds": len(r), "min": min(r), "median": median(r), "max": max(r)}


def round_line(rr: dict[str, float]) -> str:
    return (f"round by round: tinyvae defaults ahead of torch in {rr['ahead']} of {rr['rounds']}; their ratio "
            f"{rr['min']:.2f} at best, {rr['median']:.2f} in the median round, {rr['max']:.2f} at worst")


def tile(x: np.ndarray, n: int) -> np.ndarray:
    """The first n rows of x repeated as often as needed (x tiled to n images)."""
    reps = -(-n // len(x))
    return np.concatenate([x] * reps)[:n] if reps > 1 else x[:n]


def fit_line(sizes: list[int], seconds: list[float]) -> dict[str, float]:
    """Least-squares seconds = a + b·images, and the largest relative deviation of a point from it."""
    A = np.stack([np.ones(len(sizes)), np.asarray(sizes, float)], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, np.asarray(seconds), rcond=None)
    dev = max(abs(s - (a + b * n)) / s for n, s in zip(sizes, seconds))
    return {"intercept_s": float(a), "us_per_image": float(b * 1e6), "max_rel_deviation": float(dev)}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "cpu": _cpu_name(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas" and "numpy" in p.get("filepath", "")]
        if blas:
            info["numpy_blas"] = f"{blas[0].get('internal_api')} {blas[0].get('version')} ({blas[0].get('architecture')} kernels)"
    except ImportError:
        pass
    return info


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return float("nan")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tensorflow() -> Any:
    """The tensorflow module when tensorflow-cpu is installed (``pip install -e '.[bench]'``), else None."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return tf
