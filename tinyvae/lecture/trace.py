"""The worked example's math: forward, the three KL figures, backward, one Adam step.

One input ``x = [0.5, 1.0, -0.5]`` through a tiny VAE with no activations (see :mod:`.model`)::

    h      = W_e x + b_e                    (2,)   encoder          Linear(3 → 2)
    mu     = W_mu h + b_mu                  (2,)   mean head        Linear(2 → 2)
    logvar = W_logvar h + b_logvar          (2,)   log σ² head      Linear(2 → 2)   [reconstructed]
    std    = exp(0.5 logvar)                (2,)   σ
    z      = mu + std * eps                 (2,)                    Reparameterize  [eps reconstructed]
    x_hat  = W_d z + b_d                    (3,)   decoder          Linear(2 → 3)   [reconstructed]
    recon  = Σ (x_hat - x)²                        mse (a batch of one: the sum)
    kl     = -½ Σ (1 + logvar - mu² - σ²)          kl_divergence
    total  = recon + kl                            (β = 1)

Two modes:

- **lecture** (``run()``): σ̃ = round(σ, 2) = [0.99, 1.02], as the lecture did, so z = [0.455, -0.49]
  exactly as printed. z is then a sample of N(μ, σ̃²), whose log-variance is log σ̃² = 2·ln σ̃; the
  reparameterization node and ``kl_divergence`` are given that log-variance, so ``kl`` is the KL of
  the Gaussian actually sampled from, and every gradient is the gradient of ``recon + kl`` with
  respect to log σ̃², passed to the log-variance head unchanged (the rounding is taken as the
  identity in the backward pass; its own derivative is 0 almost everywhere). Beside it the trace
  shows the lecture's own formula with its mixed numbers (unrounded log σ² beside σ̃²), sign fixed,
  ``kl_mixed`` (it mixes two Gaussians: none has both that log σ² and that σ̃²), and the exact KL,
  ``kl_exact``. The gradient passes *through* the rounding unchanged (straight-through), so the
  log-variance head receives ∂L/∂log σ̃² as its ∂L/∂log σ².
- **exact** (``run(exact=True)``): σ = exp(0.5 logvar) in full float64 precision; z is then a sample
  of N(μ, σ²) (the same ε), and z, x̂ and the losses move slightly from what the lecture printed.

The Adam step's loss after is computed under the same convention as the loss before: σ rounded and
KL (ii) in lecture mode, σ exact in exact mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.layers import Linear
from ..engine.losses import kl_divergence, mse
from ..engine.optim import Adam
from ..engine.reparam import Reparameterize
from ..models.vae import VAE
from . import givens
from .givens import ADAM_LR, LECTURE, PARAM_KEYS, X, agrees, implied_eps
from .mathfmt import affine, each, factor, num, signed, vec
from .model import LectureNetwork
from .steps import Data, Step, WorkedExample


def round_std(std: np.ndarray) -> np.ndarray:
    """σ̃ = round(σ, 2), the lecture's rounding: [0.99004983, 1.0202013] -> [0.99, 1.02]."""
    return np.round(std, 2)


def log_variance(std: np.ndarray) -> np.ndarray:
    """log σ̃² = 2·ln σ̃: the log-variance of the Gaussian with standard deviation σ̃."""
    return 2 * np.log(std)


def kl_lecture_formula(mu: np.ndarray, logvar: np.ndarray, std_rounded: np.ndarray) -> float:
    """The lecture's KL line with its sign fixed: -½ Σ (1 + log σ² - μ² - σ̃²), log σ² unrounded.

    It mixes two Gaussians: log σ² belongs to σ, σ̃² to the rounded σ̃, and none has both (0.00125 here).
    """
    return float(-0.5 * np.sum(1 + logvar - mu**2 - std_rounded**2))


def kl_lines(mu: np.ndarray, logvar: np.ndarray, std: np.ndarray) -> tuple[str, ...]:
    """-½·Σ(1 + log-variance - μ² - σ²) substituted as the lecture does: the squares, then each bracket."""
    terms = 1 + logvar - mu**2 - std**2
    rows = [f"(1 + {factor(lv)} - {factor(m)}² - {num(s)}²)" for lv, m, s in zip(logvar, mu, std)]
    squared = [f"(1{signed(lv)} - {num(m * m)} - {num(s * s)})" for lv, m, s in zip(logvar, mu, std)]
    return (f"-½·[{' + '.join(rows)}]", f"-½·[{' + '.join(squared)}]",
            f"-½·[{' + '.join(factor(t) for t in terms)}]")


def run(exact: bool = False, lr: float = ADAM_LR) -> WorkedExample:
    """The worked example forward, backward and one Adam step; ``exact=False`` is the lecture's mode.

    Returns a :class:`WorkedExample` with every step by name (h, mu, logvar, std, eps, z, x_hat,
    recon_loss, kl, total, the gradients d..., the new weights ..._new). Raises ``RuntimeError`` if
    the reconstructed weights fail to reproduce what the lecture printed.
    """
    ex = WorkedExample(exact=exact, lr=float(lr))
    model = LectureNetwork()
    weights = {name: model.params[key].copy() for name, key in PARAM_KEYS.items()}
    x, eps = X.copy(), implied_eps()[None, :]  # (1, 3), (1, 2)
    _inputs(ex, x, eps, weights)
    state = _forward(ex, model, x, eps, weights)
    _kl_figures(ex, state)
    if not exact:
        _verify_reconstructions(ex)
    _backward(ex, model, state, weights)
    _adam(ex, model, x, eps, weights, lr)
    return ex


def _inputs(ex: WorkedExample, x: np.ndarray, eps: np.ndarray, weights: dict[str, np.ndarray]) -> None:
    add = ex.inputs.append
    add(Step("x", "x", "x", (), x[0], (Data(givens, "X"),), "lecture", [0.5, 1.0, -0.5]))
    for name in givens.GIVEN:
        add(Step(name, name, name, (), weights[name], (Data(givens, "GIVEN"),), "lecture", givens.GIVEN[name].tolist()))
    for name in givens.RECONSTRUCTED:
        add(Step(name, name, name, (), weights[name], (Data(givens, "RECONSTRUCTED"),), "reconstruction"))
    printed = {k: np.array(LECTURE[k]) for k in ("z", "mu", "std")}
    add(Step("eps", "ε", "ε = (z - μ) / σ̃", (f"({vec(printed['z'])} - {vec(printed['mu'])}) / {vec(printed['std'])}",),
             eps[0], (implied_eps,), "reconstruction"))


def _forward(ex: WorkedExample, model: LectureNetwork, x: np.ndarray, eps: np.ndarray,
             weights: dict[str, np.ndarray]) -> dict[str, Any]:
    """h, μ, log σ², σ (and σ̃), z, x̂, the reconstruction loss; returns what backward needs."""
    add, fwd = ex.forward.append, (Linear.forward,)
    h = model.encoder.forward(x)
    add(Step("h", "h", "h = W_e·x + b_e", (affine(weights["W_e"], x[0], weights["b_e"]),), h[0], fwd,
             lecture=LECTURE["h"]))
    mu = model.mu_head.forward(h)
    add(Step("mu", "μ", "μ = W_μ·h + b_μ", (affine(weights["W_mu"], h[0], weights["b_mu"]),), mu[0], fwd,
             lecture=LECTURE["mu"]))
    logvar = model.logvar_head.forward(h)
    add(Step("logvar", "log σ²", "log σ² = W_logvar·h + b_logvar",
             (affine(weights["W_logvar"], h[0], weights["b_logvar"]),), logvar[0], fwd, lecture=LECTURE["logvar"]))
    std = np.exp(0.5 * logvar)
    if ex.exact:
        add(Step("std", "σ", "σ = exp(½·log σ²)", (f"exp(½·{vec(logvar[0])})",), std[0], (Reparameterize.forward,),
                 lecture=LECTURE["std"]))
        logvar_used, sigma = logvar, "σ"
    else:
        add(Step("std_exact", "σ", "σ = exp(½·log σ²)", (f"exp(½·{vec(logvar[0])})",), std[0], (Reparameterize.forward,)))
        std_rounded = round_std(std)
        add(Step("std", "σ̃", "σ̃ = round(σ, 2)", (f"round({vec(std[0])}, 2)",), std_rounded[0], (round_std,),
                 lecture=LECTURE["std"]))
        logvar_used, sigma = log_variance(std_rounded), "σ̃"  # z is drawn from N(μ, σ̃²)
    reparam = Reparameterize()
    z = reparam.forward(mu, logvar_used, eps=eps)
    std_used = reparam.cache[0]
    add(Step("z", "z", f"z = μ + {sigma}·ε", (each("{} + {}·{}", map(num, mu[0]), map(num, std_used[0]),
                                                   map(factor, eps[0])),), z[0], (Reparameterize.forward,),
             lecture=LECTURE["z"], note="z_exact" if ex.exact else None))
    x_hat = model.decoder.forward(z)
    add(Step("x_hat", "x̂", "x̂ = W_d·z + b_d", (affine(weights["W_d"], z[0], weights["b_d"]),), x_hat[0], fwd,
             lecture=LECTURE["x_hat"], note="x_hat_exact" if ex.exact else None))
    recon, dx_hat = mse(x_hat, x)
    squares = (x[0] - x_hat[0]) ** 2
    add(Step("recon_loss", "recon", "recon = Σ (x - x̂)²",
             (" + ".join(f"({num(a)} - {num(b)})²" for a, b in zip(x[0], x_hat[0])),
              " + ".join(num(s) for s in squares)), float(recon), (mse,), lecture=LECTURE["recon_loss"]))
    return dict(x=x, h=h, mu=mu, logvar=logvar, logvar_used=logvar_used, std=std, std_used=std_used, eps=eps,
                z=z, x_hat=x_hat, recon=float(recon), dx_hat=dx_hat, reparam=reparam)


def _kl_figures(ex: WorkedExample, state: dict[str, Any]) -> None:
    """Lecture mode: the lecture's formula fixed (i), the KL of N(μ, σ̃²) (ii), the exact KL (iii); then L."""
    add = ex.forward.append
    mu, logvar, std = state["mu"], state["logvar"], state["std"]
    if not ex.exact:
        std_rounded = state["std_used"]
        add(Step("kl_mixed", "KL (i)", "KL (i) = -½·Σ (1 + log σ² - μ² - σ̃²)", kl_lines(mu[0], logvar[0], std_rounded[0]),
                 kl_lecture_formula(mu, logvar, std_rounded), (kl_lecture_formula,), lecture=LECTURE["kl"]))
        add(Step("logvar_rounded", "log σ̃²", "log σ̃² = 2·ln σ̃", (each("2·ln {}", map(num, std_rounded[0])),),
                 state["logvar_used"][0], (log_variance,)))
    kl, dmu_kl, dlogvar_kl = kl_divergence(mu, state["logvar_used"])
    label = ("KL (ii)", "KL (ii) = KL(N(μ, σ̃²) ‖ N(0, 1)) = -½·Σ (1 + log σ̃² - μ² - σ̃²)") if not ex.exact else \
        ("KL", "KL(N(μ, σ²) ‖ N(0, 1)) = -½·Σ (1 + log σ² - μ² - σ²)")
    add(Step("kl", *label, kl_lines(mu[0], state["logvar_used"][0], state["std_used"][0]), float(kl),
             (kl_divergence,), lecture=LECTURE["kl"]))
    if not ex.exact:
        kl_exact, _, _ = kl_divergence(mu, logvar)
        add(Step("kl_exact", "KL (iii)", "KL (iii) = KL(N(μ, σ²) ‖ N(0, 1)) = -½·Σ (1 + log σ² - μ² - σ²)",
                 kl_lines(mu[0], logvar[0], std[0]), float(kl_exact), (kl_divergence,)))
    total = state["recon"] + float(kl)
    add(Step("total", "L", "L = recon + β·KL (ii)  (β = 1)" if not ex.exact else "L = recon + β·KL  (β = 1)", (f"{num(state['recon'])} + {num(float(kl))}",), total,
             (_kl_figures, VAE._loss_and_grads), lecture=LECTURE["total"]))
    state.update(dmu_kl=dmu_kl, dlogvar_kl=dlogvar_kl)


def _backward(ex: WorkedExample, model: LectureNetwork, state: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
    """The chain rule from the loss back to the input, each gradient from the objects' own backward."""
    add, back = ex.backward.append, (Linear.backward,)
    lv = "log σ̃²" if not ex.exact else "log σ²"
    x, h, z, x_hat, dx_hat = state["x"], state["h"], state["z"], state["x_hat"], state["dx_hat"]
    add(Step("dx_hat", "∂L/∂x̂", "∂L/∂x̂ = 2·(x̂ - x)", (f"2·({vec(x_hat[0])} - {vec(x[0])})",), dx_hat[0], (mse,)))
    dz = model.decoder.backward(dx_hat)
    add(Step("dW_d", "∂L/∂W_d", "∂L/∂W_d = (∂L/∂x̂)ᵀ·z", (f"{vec(dx_hat[0])}ᵀ·{vec(z[0])}",),
             model.decoder.grads["W"], back))
    add(Step("db_d", "∂L/∂b_d", "∂L/∂b_d = ∂L/∂x̂", (), model.decoder.grads["b"], back))
    add(Step("dz", "∂L/∂z", "∂L/∂z = ∂L/∂x̂·W_d", (f"{vec(dx_hat[0])}·{vec(weights['W_d'])}",), dz[0], back))
    dmu_recon, dlogvar_recon = state["reparam"].backward(dz)
    add(Step("dmu_recon", "∂recon/∂μ", "∂recon/∂μ = ∂L/∂z", (), dmu_recon[0], (Reparameterize.backward,)))
    sigma = "σ̃" if not ex.exact else "σ"
    add(Step("dlogvar_recon", f"∂recon/∂{lv}", f"∂recon/∂{lv} = ∂L/∂z·ε·½{sigma}",
             (each("{}·{}·½·{}", map(factor, dz[0]), map(factor, state["eps"][0]), map(num, state["std_used"][0])),),
             dlogvar_recon[0], (Reparameterize.backward,)))
    dmu_kl, dlogvar_kl = state["dmu_kl"], state["dlogvar_kl"]
    add(Step("dmu_kl", "∂KL/∂μ", "∂KL/∂μ = μ", (), dmu_kl[0], (kl_divergence,)))
    add(Step("dlogvar_kl", f"∂KL/∂{lv}", f"∂KL/∂{lv} = ½·({sigma}² - 1)",
             (each("½·({}² - 1)", map(num, state["std_used"][0])),), dlogvar_kl[0], (kl_divergence,)))
    dmu, dlogvar = dmu_recon + dmu_kl, dlogvar_recon + dlogvar_kl
    add(Step("dmu", "∂L/∂μ", "∂L/∂μ = ∂recon/∂μ + ∂KL/∂μ", (f"{vec(dmu_recon[0])} + {vec(dmu_kl[0])}",), dmu[0],
             (_backward, VAE._loss_and_grads)))
    add(Step("dlogvar", f"∂L/∂{lv}", f"∂L/∂{lv} = ∂recon/∂{lv} + ∂KL/∂{lv}",
             (f"{vec(dlogvar_recon[0])} + {vec(dlogvar_kl[0])}",), dlogvar[0], (_backward, VAE._loss_and_grads)))
    _backward_heads(ex, model, h, x, dmu, dlogvar, weights)


def _backward_heads(ex: WorkedExample, model: LectureNetwork, h: np.ndarray, x: np.ndarray, dmu: np.ndarray,
                    dlogvar: np.ndarray, weights: dict[str, np.ndarray]) -> None:
    """From ∂L/∂μ and ∂L/∂log σ² through the two heads and the encoder, down to ∂L/∂x."""
    add, back = ex.backward.append, (Linear.backward,)
    dh_mu = model.mu_head.backward(dmu)
    add(Step("dW_mu", "∂L/∂W_μ", "∂L/∂W_μ = (∂L/∂μ)ᵀ·h", (f"{vec(dmu[0])}ᵀ·{vec(h[0])}",),
             model.mu_head.grads["W"], back))
    add(Step("db_mu", "∂L/∂b_μ", "∂L/∂b_μ = ∂L/∂μ", (), model.mu_head.grads["b"], back))
    dh_logvar = model.logvar_head.backward(dlogvar)  # lecture mode: ∂L/∂log σ̃² passed through the rounding
    add(Step("dW_logvar", "∂L/∂W_logvar", "∂L/∂W_logvar = (∂L/∂log σ²)ᵀ·h", (f"{vec(dlogvar[0])}ᵀ·{vec(h[0])}",),
             model.logvar_head.grads["W"], back))
    add(Step("db_logvar", "∂L/∂b_logvar", "∂L/∂b_logvar = ∂L/∂log σ²", (), model.logvar_head.grads["b"], back))
    dh = dh_mu + dh_logvar
    add(Step("dh", "∂L/∂h", "∂L/∂h = ∂L/∂μ·W_μ + ∂L/∂log σ²·W_logvar", (f"{vec(dh_mu[0])} + {vec(dh_logvar[0])}",),
             dh[0], back))
    dx = model.encoder.backward(dh)
    add(Step("dW_e", "∂L/∂W_e", "∂L/∂W_e = (∂L/∂h)ᵀ·x", (f"{vec(dh[0])}ᵀ·{vec(x[0])}",), model.encoder.grads["W"], back))
    add(Step("db_e", "∂L/∂b_e", "∂L/∂b_e = ∂L/∂h", (), model.encoder.grads["b"], back))
    add(Step("dx", "∂L/∂x", "∂L/∂x = ∂L/∂h·W_e", (f"{vec(dh[0])}·{vec(weights['W_e'])}",), dx[0], back))


def _adam(ex: WorkedExample, model: LectureNetwork, x: np.ndarray, eps: np.ndarray, weights: dict[str, np.ndarray],
          lr: float) -> None:
    """One step of the library's Adam; then the loss again, with the new weights and full-precision σ."""
    Adam(model, lr=lr).step()
    for name, key in PARAM_KEYS.items():
        grad = model.grads[key]
        ex.adam.append(Step(f"{name}_new", f"{name} (new)", f"{name} ← {name} - lr·m̂/(√v̂ + 1e-8),  m̂ = g, v̂ = g²",
                            (f"{vec(weights[name])} - {num(lr)}·{vec(np.sign(grad))}·(|g|/(|g| + 1e-8))",),
                            model.params[key].copy(), (Adam.step,), note="adam_new"))
    after = loss_after(model, x, eps, exact=ex.exact)
    if ex.exact:
        ex.adam.append(Step("total_after", "L", "L = recon + KL", (), after, (loss_after,), note="total_after_exact"))
    else:
        ex.adam.append(Step("total_after", "L", "L = recon + KL (ii)", (), after, (loss_after,)))


def loss_after(model: LectureNetwork, x: np.ndarray, eps: np.ndarray, exact: bool) -> float:
    """recon + KL for the model's current weights under the mode's convention, as the loss before:
    σ = exp(½·log σ²) in full precision (exact), or σ̃ = round(σ, 2) and KL (ii) of N(μ, σ̃²) (lecture)."""
    h = model.encoder.forward(x)
    mu, logvar = model.mu_head.forward(h), model.logvar_head.forward(h)
    if not exact:
        logvar = log_variance(round_std(np.exp(0.5 * logvar)))  # the Gaussian lecture mode samples from
    z = Reparameterize().forward(mu, logvar, eps=eps)
    recon, _ = mse(model.decoder.forward(z), x)
    kl, _, _ = kl_divergence(mu, logvar)
    return float(recon) + float(kl)


def _verify_reconstructions(ex: WorkedExample) -> None:
    """The reconstructed head, decoder and eps must reproduce what the lecture printed (lecture mode)."""
    for name in ("logvar", "std", "z", "x_hat", "recon_loss"):
        if not agrees(ex[name], LECTURE[name]):
            raise RuntimeError(f"the reconstruction does not reproduce the lecture's {name}: "
                               f"computed {ex[name]}, printed {LECTURE[name]}")


__all__ = ["kl_lecture_formula", "kl_lines", "log_variance", "loss_after", "round_std", "run"]
