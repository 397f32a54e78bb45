"""How long ``gradcheck`` takes with its defaults, and which entries it checks, for a layer and the MLP VAE.

The goal (issue 26): ``gradcheck(layer, x)`` checks every entry of a cheap layer (so one wrong entry
cannot slip through), and the 784-400-20 VAE is still checked in under a minute (a sampled check,
since every entry would take hours). Wall-clock seconds on one BLAS thread; state
``OPENBLAS_CORETYPE`` beside any figure you quote.

    OPENBLAS_CORETYPE=Haswell python bench/bench_gradcheck.py
    python bench/bench_gradcheck.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from tinyvae import VAE, Linear, gradcheck  # noqa: E402
from tinyvae.engine.gradcheck import seconds_per_evaluation  # noqa: E402

GOAL_SECONDS = 60.0  # the 784-400-20 VAE, checked with the defaults


def measure(name: str, module, *inputs, **kwargs) -> dict:
    """One gradcheck with the defaults: its wall time, entries checked of all, worst error."""
    start = time.perf_counter()
    result = gradcheck(module, *inputs, **kwargs)
    seconds = time.perf_counter() - start
    checked = sum(v.size for v in result.checked.values())
    return {"name": name, "seconds": round(seconds, 2), "checked": int(checked), "entries": int(sum(result.sizes.values())),
            "complete": result.complete, "worst": max(result.values())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    vae = VAE(784, [400], 20, rng=0)
    x_vae = rng.uniform(size=(16, 784))
    eps = rng.standard_normal((16, 20))
    rows = [measure("Linear(100, 60), batch 8", Linear(100, 60, rng=0), rng.standard_normal((8, 100))),
            measure("VAE 784-400-20, batch 16", vae, x_vae, eps=eps)]
    per_eval = seconds_per_evaluation(lambda: vae.loss_and_grads(x_vae, eps=eps).total)
    full_hours = 2 * vae.num_params() * per_eval / 3600
    if args.json:
        print(json.dumps({"rows": rows, "vae_seconds_per_evaluation": per_eval, "vae_full_check_hours": full_hours}))
    else:
        for r in rows:
            print(f"{r['name']:28s} {r['seconds']:7.2f} s  {r['checked']:>7d} of {r['entries']:>7d} entries "
                  f"({'all' if r['complete'] else 'sampled'})  worst {r['worst']:.1e}")
        print(f"VAE: {per_eval * 1e3:.1f} ms per evaluation; every entry would take {full_hours:.1f} h")
        met = rows[1]["seconds"] < GOAL_SECONDS
        print(f"goal: the VAE in under {GOAL_SECONDS:.0f} s: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
