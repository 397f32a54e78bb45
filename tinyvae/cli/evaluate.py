"""``tinyvae evaluate RUN_DIR``: the test negative ELBO, the importance-weighted (IWAE) estimate and the active units."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..models import memory
from ..training.diagnostics import collapse_warning, should_warn
from ..training.evaluate import ROWS_PER_CHUNK, check_k, evaluate
from ..training.exact import DEFAULT_POINTS, GRID, check_exact, check_points, exact_nll
from ..training.runs import load_with_state, run_data
from .errors import CLIError, check_fits, check_seed

DESCRIPTION = """\
Evaluate a trained run on its test images: the negative ELBO (reconstruction + KL, one sample of z
per image: the test loss that training reports) and the importance-weighted estimate with K samples
per image (IWAE; tighter, and tighter still as K grows). Both are nats per image, and lower is better.
They are stochastic upper bounds on -log p(x) (on -log p(x | y) for a CVAE): E[IWAE_K] >= -log p(x),
but one estimate can fall below it. That holds where the likelihood is a normalised distribution of
the test images: with the bce loss on 0/1 pixels (train with --binarize dynamic, or static), and
with the mse loss (a Gaussian density). On the grey pixels of the plain digits the Bernoulli
"likelihood" integrates to at most 1/2 per pixel, so with bce they bound -log of a sub-normalised
model only, loosely (by at least 784 ln 2 = 543 nats) and not comparably with binarized figures;
the report says so. Figures compare with published tables only on full MNIST under the same
protocol, not on the bundled 4,000/1,000 split. For the
mse loss both use a Gaussian likelihood with variance 1/2, so they include the constant
(784/2)·log π = 448.73 nats that the training loss leaves out. Also reported: active units: latent
dimensions whose mean varies over the test set by more than 0.01 (Burda et al.'s rule), and, by
tinyvae's own extension of that rule, encoder ReLU units (a count that depends on the layer's scale);
and the KL of each latent dimension: when they sum to less than log 2 nats (the code carries less than
one bit about the image: posterior collapse) past the run's KL peak, a warning line says so, why, and
what to try.

--exact (a 2-D latent space only) computes the number both estimates bound, -log p(x) = -log ∫ p(x|z)
p(z) dz, by quadrature on a grid over z, with its own error (the same sum on every other grid point),
and the KL from q(z|x) to the true posterior p(z|x) on the same grid: the gap between the negative ELBO
and -log p(x). It refuses a Bernoulli decoder on grey pixels, whose p(x|z) is not a probability of them."""



def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("evaluate", help="test negative ELBO, IWAE estimate and active units of a trained run",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (with checkpoint.npz) or a checkpoint file")
    p.add_argument("--iwae", type=int, default=100, metavar="K", help="samples per image for the IWAE estimate "
                   "(default 100; 1 gives the ELBO with a sampled KL)")
    p.add_argument("--seed", type=int, default=0, help="seeds the noise of both estimates (default 0)")
    p.add_argument("--data", metavar="PATH", help="evaluate on these digits (mnist, fashion-mnist, an MNIST "
                   "IDX directory or an .npz) "
                   "instead of the data the run recorded, e.g. when the run was moved")
    p.add_argument("--exact", action="store_true", help="also -log p(x) by quadrature over a grid on z "
                   "(z_dim = 2 only; 'nll_exact' in --json), and the mean KL(q(z|x) || p(z|x)) on the same grid")
    p.add_argument("--grid", type=int, metavar="N", help="--exact's grid: N (odd) points per axis "
                   f"over [-L, L], L covering every q(z|x) (default {DEFAULT_POINTS}; N² decodes, then N² × images "
                   "products; "
                   "the report gives the grid's own error: raise N if it is large)")
    p.add_argument("--json", action="store_true", help="print one JSON object, for machines")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto",
                   help="a progress bar over the IWAE's samples, on stderr (auto: only on a terminal)")
    return p


def run(args: argparse.Namespace) -> int:
    check_k(args.iwae)  # the library's range (evaluate's k), asked before the run is read
    check_seed(args.seed)
    model, state, path = load_with_state(args.run_dir)
    data = run_data(state, model, source=args.data, run_dir=path.parent)
    _check_iwae_fits(model, args.iwae)
    show = {"auto": None, "on": True, "off": False}[args.progress]
    _check_exact(args, model, data)
    report = evaluate(model, data.x_test, data.y_test, k=args.iwae, seed=args.seed, progress=show)
    if args.exact:
        report.update(_exact(model, data, args.grid))
    report.update(run=str(path.parent), epoch=state["epoch"], data=data.name)
    if model.has_posterior and should_warn(report["kl_per_dim"], state["metrics"]):  # stderr: --json stays JSON
        print(collapse_warning(model.config(), report["kl_per_dim"], report["active_units"]["latent"][0],
                               state["run_config"].get("kl_warmup", 0)), file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=1, allow_nan=False))  # valid JSON, or a ValueError
        return 0
    print(f"{path.parent}: {report['model']} ({report['loss']}) after {state['epoch']} epochs, "
          f"{report['images']} test images of {data.name}")
    au = report["active_units"]
    layers = ", ".join(f"{k} {a}/{t}" for k, (a, t) in au["layers"].items())
    print(f"  active units (variance of the mean over the test set > {au['threshold']:g}): "
          f"latent {au['latent'][0]}/{au['latent'][1]}; {layers}")
    if not model.has_posterior:
        unit = "nats/image" if model.recon_loss == "bce" else "per image (squared error, not nats)"
        print(f"  reconstruction loss       {report['recon']:9.3f} {unit}  (an AE has no ELBO or IWAE bound)")
        print("  an AE has no posterior q(z|x): no KL per dimension and no collapse check")
        return 0
    bound = report["bound_on"]
    print(f"  negative ELBO             {report['neg_elbo']:9.3f} nats/image  "
          f"(recon {report['recon']:.3f} + KL {report['kl']:.3f}; one z per image)")
    print(f"  IWAE, K = {report['iwae_k']:<14d}  {report['iwae']:9.3f} nats/image")
    kl = report["kl_per_dim"]
    print(f"  KL per latent dimension   {', '.join(f'{v:.3f}' for v in kl[:8])}{', …' if len(kl) > 8 else ''} nats "
          f"(total {sum(kl):.3f}; a total under log 2 = 0.693 is posterior collapse)")
    if bound:
        print(f"  both estimate upper bounds on {bound} (E[IWAE] >= {bound}; binarization: {data.binarize}; "
              f"likelihood: {report['likelihood']})")
    else:
        print(f"  not bounds on -log p(x): {report['grey_pixels']:.1%} of the test pixels are grey, where the "
              f"Bernoulli likelihood integrates to at most 1/2, so they bound a sub-normalised model only, loosely; "
              f"train with --binarize dynamic for bounds on -log p(x)")
    if "nll_exact" in report:
        _print_exact(report)
    return 0


def _check_exact(args: argparse.Namespace, model: Any, data: Any) -> None:
    """--exact's refusals at the door (one line, before any long work); --grid without --exact."""
    if args.exact:
        check_exact(model, data.x_test)
        if args.grid is not None:
            check_points(args.grid)  # the library's ParameterError, shown as --grid's, before the long work
    elif args.grid is not None:
        raise CLIError("--grid sets the grid of --exact; add --exact, or leave --grid out")


def _print_exact(report: dict[str, Any]) -> None:
    g = report["nll_exact_grid"]
    print(f"  -log p(x), exact          {report['nll_exact']:9.3f} nats/image  (quadrature on {g['points']}² "
          f"points over [-{g['half_width']:g}, {g['half_width']:g}]²; a grid of every other point gives "
          f"{report['nll_exact_coarse']:.3f}, one image at most {report['nll_exact_refinement']:.2g} nats apart)")
    if report["nll_exact_refinement"] > 0.05:
        print(f"  note: halving the grid moves some image's -log p(x) by {report['nll_exact_refinement']:.2g} nats, so "
              f"its posterior is narrow for this grid: pass a larger --grid (odd, up to {GRID.hi:,}) to trust "
              f"each image's figure; the mean moved by {abs(report['nll_exact'] - report['nll_exact_coarse']):.2g}")
    print(f"  KL(q(z|x) || p(z|x))      {report['kl_posterior']:9.3f} nats/image  (on the same grid: what the "
          f"ELBO loses; negative ELBO - exact = {report['neg_elbo'] - report['nll_exact']:.3f} with one z per image)")


def _exact(model: Any, data: Any, points: int | None) -> dict[str, Any]:
    """The --exact fields of the report (nats per image, means over the test images)."""
    r = exact_nll(model, data.x_test, data.y_test, **({} if points is None else {"points": points}))
    return {"nll_exact": float(r.nll.mean()), "nll_exact_coarse": float(r.nll_coarse.mean()),
            "nll_exact_refinement": r.refinement, "nll_exact_edge_share": r.edge_share,
            "nll_exact_grid": {"points": r.points, "half_width": r.half_width},
            "kl_posterior": float(r.kl_posterior.mean()), "neg_elbo_grid": float(r.neg_elbo.mean())}


def _check_iwae_fits(model: Any, k: int) -> None:
    """Refuse a run whose IWAE chunk cannot fit in memory: the estimate streams over the K samples, so at
    most ``chunk_rows`` decoder rows (images × samples) are held at once, whatever K is."""
    rows = memory.chunk_rows(model, ROWS_PER_CHUNK)
    check_fits(rows * memory.image_bytes(model), f"--iwae {k} (decoded in chunks of {rows:,} rows)", "free some memory")
