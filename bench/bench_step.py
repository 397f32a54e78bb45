"""One MLP training step piece by piece, and the plain and fast twins of Adam, the BCE and a conv weight gradient.

The bench model (784-400-20-400-784, batch 128, float32) on one BLAS thread, every piece timed
alone, the forms interleaved in the same run (round-robin, the median of ``--rounds`` rounds of
``--reps`` calls each), in CPU seconds of this process (``time.process_time``): on one thread that
counts this process's work only, so a machine shared with other jobs disturbs it far less than the
wall clock.

    python bench/bench_step.py                  # the table
    python bench/bench_step.py --threads 2      # the products on 2 threads (then CPU time counts both)

The plain forms are the equations as written in the lecture, each intermediate a new array, and the fast
forms are the ones tinyvae trains with, twins side by side in the library: ``Adam.step_plain`` and
``Adam.step`` (``engine/optim.py``), ``bce_with_logits_plain`` and ``bce_with_logits`` (``engine/losses.py``),
and the conv model's largest weight gradient, ``_matmul_t_plain`` and ``_matmul_t_fast`` (``engine/conv.py``:
Conv2d(32 → 64) at batch 128; the two differ on 2 BLAS threads, not on one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinyvae  # noqa: E402
from tinyvae.engine.conv import _matmul_t_fast, _matmul_t_plain  # noqa: E402
from tinyvae.engine.losses import bce_with_logits, bce_with_logits_plain  # noqa: E402
from tinyvae.training.data import load  # noqa: E402


def adam_folded(opt: tinyvae.Adam) -> Callable[[], None]:
    """Adam as tinyvae wrote it before issue 25: lr and both bias corrections folded into the denominator,
    ``p -= m / ((√v / √(1 - β2ᵗ) + eps) · (1 - β1ᵗ) / lr)``; one array pass fewer, but 1 / lr overflows
    float32 for lr below about 3e-39."""
    def step() -> None:
        opt.t += 1
        b1, b2, t, grads = opt.beta1, opt.beta2, opt.t, opt.module.grads
        step_size, bias2_sqrt = opt.lr / (1 - b1**t), (1 - b2**t) ** 0.5
        for name, p in opt.module.params.items():
            g, m, v = grads[name], opt.state[f"m.{name}"], opt.state[f"v.{name}"]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom *= 1 / (bias2_sqrt * step_size)
            denom += opt.eps / step_size
            p -= m / denom
    return step


def timeit(fns: dict[str, Callable[[], object]], rounds: int, reps: int) -> dict[str, float]:
    """Median over rounds of the mean CPU milliseconds per call; the functions take turns."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.process_time()
            for _ in range(reps):
                f()
            times[k].append((time.process_time() - t0) / reps * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--reps", type=int, default=40)
    a = p.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(a.threads)
    rng = np.random.default_rng(0)
    x = load(dtype=np.float32).x_train[:128].copy()
    model = tinyvae.VAE(784, [400], 20, dtype=np.float32, rng=0)
    model.loss_and_grads(x, rng=rng)
    W1, W4 = model.params["encoder.0.W"], model.params["decoder.2.W"]
    h, logits = np.maximum(x @ W1.T, 0), rng.standard_normal((128, 784), dtype=np.float32)
    dout_mat = rng.standard_normal((64, 7 * 7 * 128), dtype=np.float32)  # Conv2d(32 -> 64): dout, im2col's columns
    cols = rng.standard_normal((32 * 3 * 3, 7 * 7 * 128), dtype=np.float32)

    def products() -> None:  # the five large products of a step: forward 784->400, 400->784, their backward
        x @ W1.T
        h @ W4.T
        logits @ W4
        logits.T @ h
        h.T @ x

    class Copy:  # a model's parameters and one step's gradients, for one optimizer of its own
        def __init__(self) -> None:
            self.params = {k: v.copy() for k, v in model.params.items()}
            self.grads = {k: v.copy() for k, v in model.grads.items()}

    opts = {k: tinyvae.Adam(Copy()) for k in ("plain", "folded", "tinyvae")}
    opts["step"] = tinyvae.Adam(model)
    fns: dict[str, Callable[[], object]] = {
        "step (loss_and_grads + Adam)": lambda: (model.loss_and_grads(x, rng=rng), opts["step"].step()),
        "loss_and_grads": lambda: model.loss_and_grads(x, rng=rng),
        "the five large products (floor)": products,
        "Adam, plain (Adam.step_plain)": opts["plain"].step_plain,
        "Adam, folded (before issue 25)": adam_folded(opts["folded"]),
        "Adam, tinyvae (torch's order)": opts["tinyvae"].step,
        "BCE, plain (bce_with_logits_plain)": lambda: bce_with_logits_plain(logits, x),
        "BCE, tinyvae": lambda: bce_with_logits(logits, x),
        "input checks (model.check_x)": lambda: model.check_x(x),
        "conv dW, plain (_matmul_t_plain)": lambda: _matmul_t_plain(dout_mat, cols),
        "conv dW, tinyvae (_matmul_t_fast)": lambda: _matmul_t_fast(dout_mat, cols),
    }
    load_before = os.getloadavg()[0]
    ms = timeit(fns, a.rounds, a.reps)
    print(f"one step of the bench MLP (batch 128, float32), {a.threads} BLAS thread(s), CPU ms per call, "
          f"median of {a.rounds} rounds; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}")
    for k, v in ms.items():
        print(f"  {k:42s} {v:7.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
