"""Is the latent code used? Each epoch's diagnostics of it, and the rule that calls a run collapsed.

For each latent dimension j, averaged over the test images x_1 .. x_N, with q(z|x) = N(mu, diag σ²)::

    kl_j = (1/N) Σ_n KL( q(z_j | x_n) ‖ N(0, 1) ) = (1/N) Σ_n -½ (1 + logvar_nj - mu_nj² - e^logvar_nj)

so Σ_j kl_j is the KL of the test loss. Averaged over the images the KL splits in two (Hoffman and
Johnson, 2016, "ELBO surgery"), both terms ≥ 0::

    (1/N) Σ_n KL(q(z|x_n) ‖ p(z))  =  I(x; z)  +  KL(q(z) ‖ p(z))        q(z): the aggregate posterior

I(x; z) is the information the code carries about which image went in, in nats. Hence Σ_j kl_j ≥ I(x; z):
a run's KL is an upper bound on what its code can tell the decoder.

**The collapse rule.** A code is *collapsed* when Σ_j kl_j < log 2 ≈ 0.69 nats per image
(:data:`COLLAPSE_NATS`): it then carries less than one bit about the image, so it cannot even tell
two halves of the test set apart, while naming one digit of ten takes log 10 ≈ 2.30 nats and drawing it
far more. The decoder then draws (nearly) the same image whatever the input: posterior collapse. The
rule reads the KL, an upper bound on the information whatever the scale of the code, rather than the
active units (Burda et al., 2016: Var_x(mu_j) > 0.01, :func:`tinyvae.training.diagnostics.active_units`),
which look at the means alone (a mean that barely moves may still be read if σ is smaller still); they
are reported beside it. A plain autoencoder has no posterior, no KL and no collapse rule.

**When a run is warned.** A fresh model's code also carries almost nothing (its KL starts near 0 and
rises as the encoder learns), so ``tinyvae train`` and ``evaluate`` warn only when the code is collapsed
*and* the run's test KL is past its peak (:func:`should_warn`): collapse is where training settles, the
KL pushed back towards 0, not where it starts. A run whose KL is still rising (a run of one epoch
always) is called too young to judge in the summary line instead.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.backend import Array
from ..engine.losses import kl_per_dim
from ..models.base import Model
from ..models.memory import chunks

COLLAPSE_NATS = math.log(2)  # the code carries less than one bit about the image: collapsed
PAGE = "walkthroughs/13_when_a_vae_fails.md"  # the page that explains collapse and its remedies
SHOWN_DIMS = 8  # the summary lists this many dimensions' KL, at most


def latent_diagnostics(model: Model, x: Array, y: Any = None, *, batch_size: int = 1000) -> dict[str, Any]:
    """``{"active_units": int, "kl_per_dim": [z_dim floats]}`` over the images x (N, D) with labels y.

    ``active_units``: latent dimensions active by :func:`~tinyvae.training.diagnostics.active_units`;
    ``kl_per_dim``: kl_j of the module docstring (nats), only for models with a posterior (not the AE).
    Images go through in chunks of at most ``batch_size`` (fewer where memory says so).
    """
    y = model.labels_for(y)
    out: dict[str, Any] = {"active_units": active_units(model, x, y, batch_size=batch_size)["latent"][0]}
    if not model.has_posterior:
        return out
    total = np.zeros(model.z_dim)
    for rows in chunks(model, x.shape[0], batch_size):
        mu, logvar = model.encode(x[rows], None if y is None else y[rows])
        total += np.asarray(backend.to_numpy(kl_per_dim(mu, logvar)), dtype=np.float64)
    out["kl_per_dim"] = [float(v) for v in total / x.shape[0]]
    return out


def collapsed(kl_dims: list[float]) -> bool:
    """True when the code carries less than one bit about the image: Σ_j kl_j < log 2 (module docstring)."""
    return math.fsum(kl_dims) < COLLAPSE_NATS


def summary(row: dict[str, Any], z_dim: int, young: bool = False) -> str:
    """One line on the code of an epoch's metrics ``row``: active units and the KL of each dimension;
    ``young``: the code is collapsed but the KL still rising (the line says it is too early to judge)."""
    active = f"active units {row['active_units']}/{z_dim}"
    if "kl_per_dim" not in row:
        return (f"latent code (test images): {active}; an AE has no posterior, so no KL per dimension and no "
                f"collapse check")
    kl = row["kl_per_dim"]
    shown = ", ".join(f"{v:.2f}" for v in kl[:SHOWN_DIMS]) + (", …" if len(kl) > SHOWN_DIMS else "")
    note = "; under log 2 but still rising: too early to call it collapse" if young else ""
    return f"latent code (test images): {active}; KL per dimension {shown} (total {math.fsum(kl):.2f} nats){note}"


def still_rising(metrics: list[dict[str, Any]]) -> bool:
    """True when the last epoch's test KL is the largest of the run (so also after a single epoch): the
    code may still be forming."""
    kls = [float(r["test_kl"]) for r in metrics]
    return bool(kls) and kls[-1] >= max(kls)


def should_warn(kl_dims: list[float], metrics: list[dict[str, Any]]) -> bool:
    """The code is collapsed (:func:`collapsed`) and the run's test KL is past its peak (not :func:`still_rising`)."""
    return collapsed(kl_dims) and not still_rising(metrics)


def collapse_warning(config: dict[str, Any], kl_dims: list[float], active: int, kl_warmup: int = 0) -> str:
    """The warning line of a collapsed run (:func:`should_warn`): what, its likely cause, the remedies (more of
    one the run already uses: its ``kl_warmup`` epochs, the model ``config``'s free bits), the page."""
    beta = float(config.get("beta", 1.0))
    why = f"the KL term (β = {beta:g}) costs more than the code would save in reconstruction"
    if config.get("loss") == "mse":
        why += (" (squared error is a Gaussian decoder of fixed variance ½: on [0, 1] pixels a blurred average digit "
                "costs it little more than a sharp one)")
    warmup = f"a --kl-warmup longer than {kl_warmup}" if kl_warmup else "--kl-warmup N"
    free = f"--free-bits above {config['free_bits']:g}" if config.get("free_bits") else "--free-bits λ (e.g. 0.5)"
    return (f"warning: posterior collapse: the code carries {math.fsum(kl_dims):.2f} nats per image, less than "
            f"one bit (log 2), with {active}/{len(kl_dims)} active units, so the decoder draws about the same image "
            f"whatever the input; likely cause: {why}; remedies: {warmup}, {free}, a lower --beta; see {PAGE}")


def report_code(model: Model, metrics: list[dict[str, Any]], kl_warmup: int = 0) -> None:
    """Print :func:`summary` of the last epoch of ``metrics``, and :func:`collapse_warning` on stderr when the
    run (its warm-up ``kl_warmup`` epochs) has collapsed (what ``tinyvae train`` ends with)."""
    row = metrics[-1]
    kl = row.get("kl_per_dim")
    if "active_units" in row:  # a run resumed from before tinyvae recorded it has none
        print(summary(row, model.z_dim, young=kl is not None and collapsed(kl) and still_rising(metrics)))
    if kl is not None and should_warn(kl, metrics):
        print(collapse_warning(model.config(), kl, row["active_units"], kl_warmup), file=sys.stderr)


# ---- active units (Burda, Grosse and Salakhutdinov, 2016) ----------------------------------------
ACTIVE_THRESHOLD = 0.01  # Burda et al.: a unit is active when Cov_x(E_q[u|x]) exceeds this


def active_units(
    model: Model, x: Array, y: Any = None, *, threshold: float = ACTIVE_THRESHOLD, batch_size: int = 1000
) -> dict[str, Any]:
    """How many latent dimensions and encoder units respond to the input (x (N, D), y labels or None).

    A latent dimension u is *active* when Var_x(E_q[u | x]) > ``threshold`` over the images x, that is
    when its mean ``mu_u`` (an AE: its code) changes from image to image (Burda et al., 2016, with
    threshold 0.01, a rule for stochastic latent units). Each activation layer of the encoder (the
    output of a ReLU after a Linear or a convolution, one unit per number) is judged by the same rule:
    tinyvae's own extension, and scale-dependent (scaling a ReLU layer by c and the next layer by 1/c
    leaves the model's function unchanged and multiplies each unit's variance by c²). A unit that is 0
    on every image gets no gradient for its own weights, but can revive when the layers below change. Returns ``{"threshold", "latent": (active, total), "latent_variance":
    [per dimension], "layers": {"encoder.i": (active, total)}}``.
    """
    sums: dict[str, list[np.ndarray]] = {}
    for rows in chunks(model, x.shape[0], batch_size):  # at most batch_size images at once, fewer if memory says
        xb, yb = x[rows], model.labels_for(None if y is None else y[rows])
        outs = {"latent": model.embed(xb, yb), **model.encoder_activations(xb, yb)}
        for name, a in outs.items():
            a = np.asarray(backend.to_numpy(a), dtype=np.float64).reshape(a.shape[0], -1)
            acc = sums.setdefault(name, [np.zeros(a.shape[1]), np.zeros(a.shape[1])])
            acc[0] += a.sum(axis=0)
            acc[1] += (a * a).sum(axis=0)
    n = x.shape[0]
    var = {name: np.maximum(sq / n - (s1 / n) ** 2, 0.0) for name, (s1, sq) in sums.items()}
    count = {name: (int(np.sum(v > threshold)), int(v.size)) for name, v in var.items()}
    return {"threshold": float(threshold), "latent": count.pop("latent"),
            "latent_variance": [float(v) for v in var["latent"]], "layers": count}
