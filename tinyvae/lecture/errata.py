"""Where the worked example's arithmetic and notation go wrong, each correct value computed.

Every row quotes document 004 (its line in ``../shared/seeds/004_ebd20541b2c00b7a.txt``) and gives
the lecture's value beside three correct ones:

- ``fixed``: the lecture's own formula and numbers, the slip corrected (for the KL: its mix of the
  unrounded log σ² with the rounded σ̃², sign fixed: 0.00125, which mixes two Gaussians: none has both);
- ``sampled``: the KL of the Gaussian the lecture actually sampled from, N(μ, σ̃²), with
  log σ̃² = 2·ln σ̃ used consistently (what ``run()['kl']`` is, and what its gradients belong to);
- ``exact``: σ = exp(½·log σ²) unrounded (``run(exact=True)``).

The words (what each row is, why) live in the text tables, keyed by ``Erratum.key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .givens import LECTURE
from .mathfmt import num, vec
from .trace import run

#: Document 004, where the worked example is.
DOCUMENT = "004_ebd20541b2c00b7a.txt"


@dataclass(frozen=True)
class Erratum:
    """One place where document 004 goes wrong. key: the row's name in the text tables.

    line: the line in document 004; quote: what it writes there. lecture: its value; fixed / sampled /
    exact: the correct values (see the module docstring), None where that column does not apply.
    """

    key: str
    line: int
    quote: str
    lecture: Any
    fixed: Any
    sampled: Any = None
    exact: Any = None


def _brackets(mu: np.ndarray, logvar: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The KL's per-dimension brackets 1 + log-variance - μ² - σ², shape (z_dim,)."""
    return 1 + logvar - mu**2 - std**2


def errata() -> list[Erratum]:
    """The worked example's errors, each number computed from :func:`run` in both modes."""
    lec, ext = run(), run(exact=True)
    mu, logvar, std = lec["mu"], lec["logvar"], lec["std"]  # std: the rounded σ̃
    logvar_rounded, std_exact = lec["logvar_rounded"], lec["std_exact"]
    mixed = _brackets(mu, logvar, std)  # the lecture's brackets: unrounded log σ², rounded σ̃²
    sampled = _brackets(mu, logvar_rounded, std)
    exact = _brackets(mu, logvar, std_exact)
    return [
        Erratum("sign", 612, "KL Divergence = 0.5 Σ(1 + log(σ²) - μ² - σ²)",
                "+½·Σ(…) = " + num(0.5 * mixed.sum()), "-½·Σ(…) = " + num(-0.5 * mixed.sum())),
        Erratum("mix", 614, "(1 + (-0.02) - (-0.04)² - 0.99²)",
                f"log σ² = {num(logvar[0])}, σ̃² = {num(std[0] ** 2)}", None,
                f"log σ̃² = {num(logvar_rounded[0])}, σ̃² = {num(std[0] ** 2)}",
                f"log σ² = {num(logvar[0])}, σ² = {num(std_exact[0] ** 2)}"),
        Erratum("bracket1", 619, "0.5[0.9964 - 0.9817 + …]", 0.9964, float(1 + logvar[0] - mu[0] ** 2),
                float(1 + logvar_rounded[0] - mu[0] ** 2), float(1 + logvar[0] - mu[0] ** 2)),
        Erratum("var1", 619, "0.5[… - 0.9817 + …]", 0.9817, float(std[0] ** 2), float(std[0] ** 2),
                float(std_exact[0] ** 2)),
        Erratum("var2", 619, "0.5[… - 1.0408]", 1.0408, float(std[1] ** 2), float(std[1] ** 2), float(std_exact[1] ** 2)),
        Erratum("sum", 621, "0.5[0.0147 - 0.0012] = 0.5 × 0.0135", 0.0135, float(mixed.sum()), float(sampled.sum()),
                float(exact.sum())),
        Erratum("kl", 623, "= 0.5 × 0.0135 = 0.00675", LECTURE["kl"], lec["kl_mixed"], lec["kl"], ext["kl"]),
        Erratum("total", 634, "총손실 = 1.485605 + 0.00675 = 1.492355", LECTURE["total"],
                lec["recon_loss"] + lec["kl_mixed"], lec["total"], ext["total"]),
        Erratum("log_mu2", 334, "로그 분산 log(μ²)", "log(μ²) = " + vec(np.log(mu**2), 4), "log σ² = " + vec(logvar)),
        Erratum("psi", 383, "ψ = W_μ·h + b_μ", "ψ", "μ = " + vec(mu)),
        Erratum("o_of_x", 593, "D_KL(P‖Q) = Σ P(x) log(P(x)/O(x))", "O(x)", "Q(x)"),
    ]


__all__ = ["DOCUMENT", "Erratum", "errata"]
