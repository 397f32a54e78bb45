"""``tinyvae evaluate RUN_DIR``: the test negative ELBO and the importance-weighted (IWAE) bound."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import CLIError

DESCRIPTION = """\
Evaluate a trained run on its test images: the negative ELBO (reconstruction + KL, one sample of z
per image: the test loss that training reports) and the importance-weighted bound on -log p(x)
with K samples per image (IWAE; tighter, and tighter still as K grows). Both are nats per image,
and lower is better. For the mse loss both use a Gaussian likelihood with variance 1/2, so they
include the constant (784/2)·log π ≈ 448.7 nats that the training loss leaves out."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("evaluate", help="test negative ELBO and IWAE bound of a trained run",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (with checkpoint.npz) or a checkpoint file")
    p.add_argument("--iwae", type=int, default=100, metavar="K", help="samples per image for the IWAE bound "
                   "(default 100; 1 gives the ELBO with a sampled KL)")
    p.add_argument("--seed", type=int, default=0, help="seeds the noise of both estimates (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object, for machines")
    return p


def load_run(run_dir: str) -> tuple[Any, dict[str, Any], Path]:
    """(model, checkpoint state, checkpoint path) for a run directory or a checkpoint file."""
    from ..training.checkpoint import load_checkpoint

    path = Path(run_dir)
    if path.is_dir():
        path = path / "checkpoint.npz"
        if not path.is_file():
            raise CLIError(f"{run_dir} holds no checkpoint.npz; is it a run directory (tinyvae train --out DIR)?")
    elif not path.exists():
        raise CLIError(f"{run_dir}: no such run directory or checkpoint file")
    model, _, state = load_checkpoint(path)
    return model, state, path


def run(args: argparse.Namespace) -> int:
    from ..training.data import load
    from ..training.evaluate import evaluate

    if args.iwae < 1:
        raise CLIError(f"--iwae needs at least 1 sample, got {args.iwae}")
    model, state, path = load_run(args.run_dir)
    r = state["run_config"]
    data = load(r.get("data"), binarize=bool(r.get("binarize")), dtype=model.dtype)
    if r.get("limit"):
        data = data.subset(int(r["limit"]))
    report = evaluate(model, data.x_test, data.y_test, k=args.iwae, seed=args.seed)
    report.update(run=str(path.parent), epoch=state["epoch"], data=data.name)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{path.parent}: {report['model']} ({report['loss']}) after {state['epoch']} epochs, "
          f"{report['images']} test images of {data.name}")
    if "iwae" not in report:
        print(f"  reconstruction loss       {report['recon']:9.3f} nats/image  (an AE has no ELBO or IWAE bound)")
        return 0
    print(f"  negative ELBO             {report['neg_elbo']:9.3f} nats/image  "
          f"(recon {report['recon']:.3f} + KL {report['kl']:.3f}; one z per image)")
    print(f"  IWAE bound, K = {report['iwae_k']:<8d}  {report['iwae']:9.3f} nats/image  (>= -log p(x))")
    return 0
