"""Are the default run's reconstructions the right digits? A nearest-neighbour judge, and the training time.

    OPENBLAS_CORETYPE=Haswell .venv/bin/python bench/default_run.py [--seeds 0 1 2] [--rounds 1]

The judge: 5 nearest neighbours (Euclidean distance on the 784 pixels) among the 4,000 bundled training
digits, ``tinyvae.figures.judge`` (the one the figures' captions use; ``tests/test_judge.py`` shows it
votes as scikit-learn's ``KNeighborsClassifier(5)``, the second judge of ``bench/classify_samples.py``). It names the digit of each of the 1,000 test digits (the reference: how
often it is right on the originals) and of each test digit's reconstruction, ``model.reconstruct(x)``
= decode(mu(x)), the images ``reconstructions.png`` shows. The figure is the fraction of
reconstructions it names as the digit the original is, overall and for each digit.

Two runs are judged, each trained by the command line itself (``bench/classify_samples.train_cli``,
no figures), alternately on the same machine so that both meet the same load:

- **new**: ``tinyvae train`` with its defaults, as a learner runs it.
- **old**: the default before issue 24 (784-400-2-400-784, 30 epochs, lr 1e-3), spelt out in flags.
- **20-D** (with ``--latent-20``; the first seed only): the new default with ``--latent 20``, for scale: what a code of
  twenty numbers keeps.
- any other flags given with ``--also`` (how the default was chosen: bench/README.md).

The training time is the sum of the epochs' ``train_seconds`` (the batches: forward, backward, Adam;
without the test pass after each epoch) and, beside it, the wall time of the whole command (data,
test passes, checkpoints; no figures). Where other processes load the machine, single epochs stall
for seconds (two BLAS threads wait on each other); the number of epochs times the 10th percentile of
the epoch times estimates what the run takes on quiet cores. The 1-minute load average is printed before and after: on a
shared machine other processes slow every run. Goal (issue 24): the new default at >= 0.70 overall and
>= 0.40 for every digit, trained in under about 30 s on two CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

OLD = ("--hidden", "400", "--epochs", "30", "--lr", "1e-3")
WIDE = ("--latent", "20")


def judged(data: Any, images: Any) -> dict[str, Any]:
    """The fraction of ``images`` (one per test digit) the judge names as that digit: overall, per digit, worst."""
    from tinyvae.engine.backend import to_numpy
    from tinyvae.figures.judge import nearest_labels, recognised

    r = recognised(nearest_labels(data.x_train, data.y_train, to_numpy(images)), data.y_test)
    return {"overall": r["overall"], "per_digit": [r["per_digit"][d] for d in range(10)], "worst": r["worst"][1]}


def one_run(name: str, flags: tuple[str, ...], seed: int, data: Any, root: Path) -> dict[str, Any]:
    """Train with ``tinyvae train FLAGS --seed SEED``, judge its test reconstructions."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from classify_samples import train_cli
    from tinyvae.training.runs import load_with_state

    out = root / f"{name}-{seed}"
    t0 = time.perf_counter()
    train_cli(out, *flags, "--seed", str(seed))
    wall = time.perf_counter() - t0
    model, state, _ = load_with_state(out)
    row = judged(data, model.reconstruct(model.asarray(data.x_test)))
    epoch_s = np.array([m["train_seconds"] for m in state["metrics"]])
    row.update(run=name, seed=seed, train_seconds=float(epoch_s.sum()), median_epoch_seconds=float(np.median(epoch_s)),
               quiet_seconds=float(np.percentile(epoch_s, 10) * len(epoch_s)),
               wall_seconds=wall, epochs=state["epoch"], test_loss=state["metrics"][-1]["test_loss"],
               model=model.describe(), threads=state["run_config"].get("threads"))
    return row


def load1() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def measure(seeds: tuple[int, ...] = (0,), rounds: int = 1, latent_20: bool = False,
            also: tuple[str, ...] = (), log: Any = print) -> dict[str, Any]:
    from tinyvae.training.data import load

    data = load()
    result: dict[str, Any] = {"originals": judged(data, data.x_test), "runs": [],
                              "load_before": load1(), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}
    log(f"judge: 5-NN on the 4,000 training digits; recognises {result['originals']['overall']:.3f} of the "
        f"1,000 test originals (worst digit {result['originals']['worst']:.2f}); load {result['load_before']:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for seed in seeds:
                order = [("new", ()), ("old", OLD)] + ([("20-D", WIDE)] if latent_20 and seed == seeds[0] else [])
                order += [(f"also-{i}", tuple(flags.split())) for i, flags in enumerate(also, 1)]
                for name, flags in order if (r + seed) % 2 == 0 else order[::-1]:
                    row = one_run(name, flags, seed, data, Path(tmp) / str(r))
                    row["round"] = r
                    result["runs"].append(row)
                    log(f"{name} {' '.join(flags)} seed {seed}: {row['overall']:.3f} recognised, worst digit {row['worst']:.2f}  "
                        f"[{' '.join(f'{p:.2f}' for p in row['per_digit'])}]  train {row['train_seconds']:.1f} s, "
                        f"wall {row['wall_seconds']:.1f} s; epochs x 10th-percentile epoch {row['quiet_seconds']:.1f} s; "
                        f"{row['threads']} threads, load {load1():.2f}  {row['model']}")
    result["load_after"] = load1()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="the runs' --seed (default 0, the default run)")
    p.add_argument("--rounds", type=int, default=1, help="repeat each pair of runs (timings; default 1)")
    p.add_argument("--latent-20", action="store_true", help="also judge the new default with --latent 20")
    p.add_argument("--also", metavar="FLAGS", action="append", default=[],
                   help="judge these tinyvae train flags too, e.g. --also='--hidden 512 256 --epochs 60' (repeatable)")
    p.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    args = p.parse_args(argv)
    result = measure(tuple(args.seeds), args.rounds, args.latent_20, tuple(args.also))
    print(f"load average (1 min) before {result['load_before']:.2f}, after {result['load_after']:.2f}; "
          f"OPENBLAS_CORETYPE={result['openblas_coretype']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
