"""``tinyvae compare [ae-vae|beta|cvae|all]``: train the lecture's comparisons and draw their figures."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from ..training.compare import BETAS, EXPERIMENTS, Settings
from ..training.compare import run as run_comparison
from ..training.data import load
from ..training.threads import resolve_threads
from .errors import CLIError

DEFAULT_OUT = "runs/compare"

DESCRIPTION = """\
Train the models the lecture compares, with the same architecture, data and seed, and draw the figures:

  ae-vae  a plain autoencoder next to a VAE: the test digits in each latent space, images decoded
          from z ~ N(0, I) by each decoder, and a straight line between two encoded digits
  beta    VAEs with β = 0, 1, 4, 10: test reconstruction and KL after training, and the latent
          scatter and decoded 2-D grid (manifold) for each β
  cvae    a conditional VAE: one row per digit 0-9, one z ~ N(0, I) per column
  all     the three (the default); the β = 1 VAE is trained once and shared

With the defaults (784-400-2-400-784, 20 epochs, the 5,000 bundled digits) 'all' trains six models in
about two minutes on two CPU cores. The PNG figures and compare.json (each model's final test numbers)
go to --out."""

EPILOG = """\
examples:
  tinyvae compare                               everything, into runs/compare
  tinyvae compare ae-vae --epochs 40            the AE/VAE comparison, trained longer
  tinyvae compare beta --latent 10 --out runs/beta10
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    d = Settings()
    p = subparsers.add_parser("compare", help="AE vs VAE, a β sweep, the conditional VAE: train and draw",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", nargs="?", default="all", choices=[*EXPERIMENTS, "all"],
                   help="which comparison (default all)")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT, help=f"where the figures go (default {DEFAULT_OUT})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"epochs for every model (default {d.epochs})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seeds weights, shuffles, noise and samples "
                   f"(default {d.seed})")
    p.add_argument("--hidden", type=int, nargs="+", metavar="W", default=list(d.hidden),
                   help=f"hidden widths (default {' '.join(map(str, d.hidden))})")
    p.add_argument("--latent", type=int, metavar="Z", default=d.latent,
                   help=f"latent dimensions (default {d.latent}: scatter and manifold show the space itself)")
    p.add_argument("--betas", type=float, nargs="+", metavar="B", default=list(BETAS),
                   help=f"the β values of the sweep (default {' '.join(f'{b:g}' for b in BETAS)})")
    p.add_argument("--batch-size", type=int, metavar="B", default=d.batch_size,
                   help=f"mini-batch size (default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam's learning rate (default {d.lr:g})")
    p.add_argument("--data", metavar="PATH", help="mnist or fashion-mnist (see tinyvae data get), an MNIST IDX "
                   "directory or .npz (default: the bundled 5,000 digits)")
    p.add_argument("--threads", default="auto", metavar="N", help="BLAS threads, as for tinyvae train "
                   "(default auto)")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N training and N test images "
                   "(quick checks and tests)")
    return p


def run(args: argparse.Namespace) -> int:
    # every value is the library's to check (Settings: the ranges the models and fit check), in one line
    settings = Settings(epochs=args.epochs, seed=args.seed, hidden=tuple(args.hidden), latent=args.latent,
                        batch_size=args.batch_size, lr=args.lr, betas=tuple(args.betas), limit=args.limit)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        what = "a file" if Path(args.out).is_file() else "not a regular file (a device, FIFO or socket)"
        raise CLIError(f"--out {args.out} is {what}; name a directory for the figures")

    threads = resolve_threads(args.threads)
    data = load(args.data, limit=settings.limit)  # only --limit's rows are read
    t0 = time.perf_counter()
    with threadpool_limits(threads):
        paths = run_comparison(args.which, data, Path(args.out), settings)
    print(f"done in {time.perf_counter() - t0:.0f} s: {len(paths)} figures and compare.json in {args.out}/")
    for p in paths:
        print(f"  {p}")
    return 0
