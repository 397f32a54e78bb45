"""``tinyvae example``: the lecture's worked example, forward, backward, one Adam step, and its errata.

Everything printed is computed by :mod:`tinyvae.lecture` with the library's own layers,
reparameterization node, losses and Adam; ``--lang`` picks the words, never the numbers.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from ..lecture import worked_example as we
from .errors import CLIError

DESCRIPTION = """\
Run the lecture's hand-computed VAE example (one input x = [0.5, 1.0, -0.5], a 3-2-2-3 network with
no activations) through tinyvae's own Linear layers, Reparameterize node, mse and kl_divergence, and
print every step as the lecture lays it out: the formula, the numbers put into it, the result, and
what the lecture printed. Then the backward pass (every gradient, by the layers' backward), one
Adam step with the new weights, and the errata table.

The lecture's KL line (0.00675) has the wrong sign and slips in its arithmetic; three correct figures
stand beside it: (i) its own formula and numbers fixed, 0.00125 (it pairs the unrounded log σ² with the rounded
σ̃²: it mixes two Gaussians, none has both); (ii) the KL of the Gaussian it sampled from, N(μ, σ̃²),
0.0014977 (the lecture mode's loss and gradients are this one's); (iii) the exact KL, 0.0015047.

The log-variance head, the noise eps and the decoder are missing from the lecture's text; they are
filled in with reconstructions that reproduce every number it printed, and marked [R]. In lecture
mode the gradient passes straight through the rounding to the log-variance head, and the Adam step's
loss before and after are both computed with σ rounded (exact mode: both unrounded)."""

EPILOG = """\
modes:
  (default)  lecture mode: σ̃ = round(σ, 2) = 0.99, 1.02 as the lecture did, so z = [0.455, -0.49]
  --exact    σ = exp(0.5·log σ²) in full precision (z, x̂, the losses and gradients move slightly)

examples:
  tinyvae example                 the whole trace and the errata
  tinyvae example --lang ko       the same in Korean (한국어), the same numbers
  tinyvae example --exact         the same in full precision
  tinyvae example --json | jq .kl the values by name, for machines
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "example",
        help="the lecture's worked example, step by step, with gradients and errata",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--exact", action="store_true",
                   help="σ in full precision instead of the lecture's rounded 0.99, 1.02")
    p.add_argument("--json", action="store_true",
                   help="print every value by name as one JSON object (the same as run().as_dict())")
    p.add_argument("--lang", default="en", metavar="LANG",
                   help=f"language of the trace's words: {', '.join(we.LANGUAGES)} (default en)")
    p.add_argument("--lr", type=float, default=we.ADAM_LR, metavar="LR",
                   help=f"learning rate of the one Adam step (default {we.ADAM_LR})")
    p.add_argument("--no-errata", action="store_true", help="leave out the errata table")
    return p


def run(args: argparse.Namespace) -> int:
    if args.lang not in we.LANGUAGES:
        raise CLIError(f"--lang {args.lang!r} is not available; choose one of: {', '.join(we.LANGUAGES)}")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, in one line
        ex = we.run(exact=args.exact, lr=args.lr)
    bad = _not_finite(ex.as_dict())
    if bad:
        raise CLIError(f"--lr {args.lr:g} makes the Adam step's {bad} overflow (NaN or inf); choose a smaller "
                       f"--lr (the lecture's is {we.ADAM_LR:g})")
    if args.json:
        print(json.dumps(ex.as_dict(), ensure_ascii=False, allow_nan=False))
        return 0
    print(we.format_trace(ex, lang=args.lang))
    if not args.no_errata:
        print()
        print(we.format_errata(we.errata(), lang=args.lang))
    return 0


def _not_finite(values: dict) -> str | None:
    """The name of the first value (number or nested list of numbers) that is NaN or inf, else None."""
    def finite(v: object) -> bool:
        if isinstance(v, (list, tuple)):
            return all(finite(u) for u in v)
        return not isinstance(v, float) or math.isfinite(v)

    return next((k for k, v in values.items() if not finite(v)), None)
