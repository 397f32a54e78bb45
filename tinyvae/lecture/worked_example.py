"""The lecture's worked example, run through the library's own layers, node and losses.

One input ``x = [0.5, 1.0, -0.5]`` goes through a tiny VAE with no activations::

    h      = W_e x + b_e                    (2,)   encoder          Linear(3 → 2)
    mu     = W_mu h + b_mu                  (2,)   mean head        Linear(2 → 2)
    logvar = W_logvar h + b_logvar          (2,)   log σ² head      Linear(2 → 2)   [reconstructed]
    std    = exp(0.5 logvar)                (2,)   σ                Reparameterize
    z      = mu + std * eps                 (2,)                    Reparameterize  [eps reconstructed]
    x_hat  = W_d z + b_d                    (3,)   decoder          Linear(2 → 3)   [reconstructed]
    recon  = Σ (x_hat - x)²                        tinyvae.engine.losses.mse (batch of one: the sum)
    kl     = -½ Σ (1 + logvar - mu² - σ²)          tinyvae.engine.losses.kl_divergence
    total  = recon + kl                            (β = 1)

The lecture printed W_e, b_e, W_mu, b_mu and the results; the log-variance head, the noise eps and
the decoder were in the video's images and are missing from the text. ``RECONSTRUCTED`` fills
them in (see ``../shared/seeds/INDEX.md``) and :func:`run` checks that they give back every number
the lecture printed before it uses them.

Two modes:

- **lecture** (``run()``): σ rounded to two decimals, 0.99 and 1.02, as the lecture did, so that
  z = [0.455, -0.49] exactly as printed. The rounding enters as a constant shift of the
  log-variance, ``c = 2 ln σ̃ - logvar``: the reparameterization node gets ``logvar + c``, whose
  σ is exactly the rounded σ̃; the KL is the lecture's own mix, ``-½ Σ (1 + logvar - mu² - σ̃²)``,
  computed as ``kl_divergence(mu, logvar + c) + ½ Σ c``. A constant shift has derivative 1, so
  every gradient keeps its textbook formula, evaluated at σ̃.
- **exact** (``run(exact=True)``): c = 0, σ = exp(0.5 logvar) in full float64 precision.

Beyond the lecture: the backward pass (every gradient, from the layers' own ``backward``) and one
step of :class:`tinyvae.engine.optim.Adam`. :func:`errata` lists where the lecture's arithmetic goes wrong,
each row computed here. Walkthrough: ``walkthroughs/01_worked_example.md``; command line:
``tinyvae example``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.layers import Layer, Linear
from ..engine.losses import kl_divergence, mse
from ..models.base import Model
from ..engine.optim import Adam
from ..engine.reparam import Reparameterize

# ---- the numbers ------------------------------------------------------------------------------
X = np.array([[0.5, 1.0, -0.5]])  # (1, 3): a batch of one

#: Printed in the lecture's text.
GIVEN: dict[str, np.ndarray] = {
    "W_e": np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]),
    "b_e": np.array([0.1, 0.2]),
    "W_mu": np.array([[0.1, -0.1], [0.2, -0.2]]),
    "b_mu": np.array([0.0, 0.1]),
}

#: NOT in the lecture's text (they were in the video's images): reconstructions that reproduce every
#: number the lecture printed. W_logvar is one choice among many mapping h = [0.2, 0.6] to
#: [-0.02, 0.04]; W_d, b_d follow the pattern of W_e and give x_hat exactly. eps is derived from the
#: lecture's own numbers in :func:`implied_eps`.
RECONSTRUCTED: dict[str, np.ndarray] = {
    "W_logvar": np.array([[0.2, -0.1], [-0.1, 0.1]]),
    "b_logvar": np.array([0.0, 0.0]),
    "W_d": np.array([[0.2, 0.3], [0.4, 0.5], [0.6, 0.7]]),
    "b_d": np.array([0.1, 0.2, 0.3]),
}

#: What the lecture printed, with its printed digits.
LECTURE: dict[str, Any] = {
    "h": [0.2, 0.6],
    "mu": [-0.04, 0.02],
    "logvar": [-0.02, 0.04],
    "std": [0.99, 1.02],
    "z": [0.455, -0.49],
    "x_hat": [0.044, 0.137, 0.23],
    "recon_loss": 1.485605,
    "kl": 0.00675,
    "total": 1.492355,
}

ADAM_LR = 0.1
"""Learning rate of the one Adam step. Adam's first step moves every weight by almost exactly
``lr`` against the sign of its gradient (m̂ / √v̂ = g / |g|), so 0.1 makes the change visible in
the first decimal and still lowers the loss; 1e-3 would hide it in the fourth."""

_PARTS = {  # lecture name -> (model part, parameter)
    "W_e": ("encoder", "W"), "b_e": ("encoder", "b"),
    "W_mu": ("mu", "W"), "b_mu": ("mu", "b"),
    "W_logvar": ("logvar", "W"), "b_logvar": ("logvar", "b"),
    "W_d": ("decoder", "W"), "b_d": ("decoder", "b"),
}


def implied_eps() -> np.ndarray:
    """ε = (z - μ) / σ̃ from the lecture's printed z, μ and rounded σ: [0.5, -0.5], shape (2,)."""
    z, mu, std = (np.array(LECTURE[k]) for k in ("z", "mu", "std"))
    return (z - mu) / std


class LectureVAE(Model):
    """The lecture's network: four ``Linear`` layers, no activations, weights set to the lecture's.

    Parts (the names of ``params`` / ``grads``): ``encoder`` Linear(3 → 2), ``mu`` Linear(2 → 2),
    ``logvar`` Linear(2 → 2), ``decoder`` Linear(2 → 3); e.g. ``params["decoder.W"]`` is W_d (3, 2).
    """

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)  # unused: the weights are overwritten, eps is given
        self.encoder = Linear(3, 2, rng=self.rng)
        self.mu_head = Linear(2, 2, rng=self.rng)
        self.logvar_head = Linear(2, 2, rng=self.rng)
        self.decoder = Linear(2, 3, rng=self.rng)
        self.load_params({f"{part}.{p}": {**GIVEN, **RECONSTRUCTED}[name] for name, (part, p) in _PARTS.items()})

    def parts(self) -> dict[str, Layer]:
        return {"encoder": self.encoder, "mu": self.mu_head, "logvar": self.logvar_head, "decoder": self.decoder}


# ---- one named step ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One line of the worked example: a formula, the numbers put into it, and the result.

    name: the key in :meth:`WorkedExample.as_dict` (``"z"``, ``"dW_d"``, ``"W_d_new"``).
    value: float or array (vectors of the batch of one are shown as 1-D, shape (features,)).
    code: where the library computes it. source: "lecture", "reconstruction" or "computed".
    lecture: what the lecture printed for it, if it printed it.
    """

    name: str
    symbol: str
    formula: str
    substituted: str
    value: Any
    code: str
    source: str = "computed"
    lecture: Any = None


@dataclass
class WorkedExample:
    """Everything :func:`run` computed, step by step; ``ex["z"]`` is a value, ``ex.as_dict()`` all."""

    exact: bool
    lr: float
    inputs: list[Step] = field(default_factory=list)
    forward: list[Step] = field(default_factory=list)
    backward: list[Step] = field(default_factory=list)
    adam: list[Step] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "exact" if self.exact else "lecture"

    def steps(self) -> list[Step]:
        return [*self.inputs, *self.forward, *self.backward, *self.adam]

    def step(self, name: str) -> Step:
        for s in self.steps():
            if s.name == name:
                return s
        raise KeyError(f"no step named {name!r}; known: {[s.name for s in self.steps()]}")

    def __getitem__(self, name: str) -> Any:
        return self.step(name).value

    def as_dict(self) -> dict[str, Any]:
        """Every value by name, as floats and (nested) lists: JSON-able, ``json.loads`` gives it back."""
        out: dict[str, Any] = {"mode": self.mode, "adam_lr": self.lr}
        for s in self.steps():
            out[s.name] = _plain(s.value)
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    return float(v)


# ---- number formatting for the trace -----------------------------------------------------------
def num(v: float, digits: int = 8) -> str:
    """A float with ``digits`` significant digits, no trailing zeros: 0.45500000000000007 -> '0.455'."""
    s = f"{float(v):.{digits}g}"
    return "0" if s in ("-0", "0") else s


def vec(a: Any, digits: int = 8) -> str:
    """[a, b, c] or [[...], [...]] with :func:`num`."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return num(float(a), digits)
    return "[" + ", ".join(vec(r, digits) for r in a) + "]"


def _p(v: float) -> str:
    """A factor in a product: negatives in parentheses."""
    s = num(v)
    return f"({s})" if s.startswith("-") else s


def _affine(W: np.ndarray, v: np.ndarray, b: np.ndarray) -> str:
    rows = [" + ".join(f"{_p(w)}·{_p(x)}" for w, x in zip(Wr, v)) + f" + {_p(bi)}" for Wr, bi in zip(W, b)]
    return "[" + ", ".join(rows) + "]"


# ---- the run -----------------------------------------------------------------------------------
def run(exact: bool = False, lr: float = ADAM_LR) -> WorkedExample:
    """The worked example forward, backward and one Adam step; ``exact=False`` is the lecture's mode.

    Returns a :class:`WorkedExample` with every step by name (h, mu, logvar, std, eps, z, x_hat,
    recon_loss, kl, total, the gradients d..., the new weights ..._new). Raises ``RuntimeError`` if
    the reconstructed weights fail to reproduce what the lecture printed.
    """
    ex = WorkedExample(exact=exact, lr=float(lr))
    model = LectureVAE()
    reparam = Reparameterize()
    Wv = {name: model.params[f"{part}.{p}"].copy() for name, (part, p) in _PARTS.items()}
    x = X.copy()
    eps = implied_eps()[None, :]  # (1, 2)

    # inputs: what the lecture gave, and what we had to reconstruct
    I = ex.inputs.append
    I(Step("x", "x", "x", "", x[0], "tinyvae/lecture/worked_example.py: X", "lecture", [0.5, 1.0, -0.5]))
    for name in ("W_e", "b_e", "W_mu", "b_mu"):
        I(Step(name, name, name, "", Wv[name], "tinyvae/lecture/worked_example.py: GIVEN", "lecture", GIVEN[name].tolist()))
    for name in ("W_logvar", "b_logvar", "W_d", "b_d"):
        I(Step(name, name, name, "", Wv[name], "tinyvae/lecture/worked_example.py: RECONSTRUCTED", "reconstruction"))
    L = {k: np.array(v) for k, v in LECTURE.items()}
    I(Step("eps", "ε", "ε = (z - μ) / σ̃  (the lecture's printed z, μ, σ̃)",
           f"({vec(L['z'])} - {vec(L['mu'])}) / {vec(L['std'])}", eps[0],
           "tinyvae/lecture/worked_example.py: implied_eps", "reconstruction"))

    # ---- forward ------------------------------------------------------------------------------
    F = ex.forward.append
    h = model.encoder.forward(x)
    F(Step("h", "h", "h = W_e·x + b_e", _affine(Wv["W_e"], x[0], Wv["b_e"]), h[0],
           "tinyvae/engine/layers.py: Linear.forward", lecture=LECTURE["h"]))
    mu = model.mu_head.forward(h)
    F(Step("mu", "μ", "μ = W_μ·h + b_μ", _affine(Wv["W_mu"], h[0], Wv["b_mu"]), mu[0],
           "tinyvae/engine/layers.py: Linear.forward", lecture=LECTURE["mu"]))
    logvar = model.logvar_head.forward(h)
    F(Step("logvar", "log σ²", "log σ² = W_logvar·h + b_logvar  [reconstructed head]",
           _affine(Wv["W_logvar"], h[0], Wv["b_logvar"]), logvar[0],
           "tinyvae/engine/layers.py: Linear.forward", lecture=LECTURE["logvar"]))
    std_exact = np.exp(0.5 * logvar)
    if exact:
        shift = np.zeros_like(logvar)
        F(Step("std", "σ", "σ = exp(½·log σ²)  (full precision)",
               "exp(½·" + vec(logvar[0]) + ")", std_exact[0], "tinyvae/engine/reparam.py: Reparameterize.forward",
               lecture=LECTURE["std"]))
    else:
        F(Step("std_exact", "σ", "σ = exp(½·log σ²)  (before the lecture's rounding)",
               "exp(½·" + vec(logvar[0]) + ")", std_exact[0], "tinyvae/lecture/worked_example.py: run"))
        std_rounded = np.round(std_exact, 2)  # the lecture's 0.99, 1.02
        shift = 2 * np.log(std_rounded) - logvar  # c: log σ̃² - log σ², a constant
    logvar_used = logvar + shift  # what the reparameterization node and kl_divergence see
    z = reparam.forward(mu, logvar_used, eps=eps)
    std = reparam.cache[0]  # the σ the node used: exp(½·(logvar + c))
    if not exact:
        F(Step("logvar_shift", "c", "c = 2·ln σ̃ - log σ²,  σ̃ = round(σ, 2): the rounding as a constant shift",
               f"2·ln {vec(std_rounded[0])} - {vec(logvar[0])}", shift[0], "tinyvae/lecture/worked_example.py: run"))
        F(Step("std", "σ̃", "σ̃ = exp(½·(log σ² + c))  (the lecture's rounded σ)",
               f"exp(½·{vec(logvar_used[0])})", std[0], "tinyvae/engine/reparam.py: Reparameterize.forward",
               lecture=LECTURE["std"]))
    F(Step("z", "z", "z = μ + σ·ε",
           "[" + ", ".join(f"{num(m)} + {num(s)}·{_p(e)}" for m, s, e in zip(mu[0], std[0], eps[0])) + "]",
           z[0], "tinyvae/engine/reparam.py: Reparameterize.forward", lecture=LECTURE["z"]))
    x_hat = model.decoder.forward(z)
    F(Step("x_hat", "x̂", "x̂ = W_d·z + b_d  [reconstructed decoder]", _affine(Wv["W_d"], z[0], Wv["b_d"]),
           x_hat[0], "tinyvae/engine/layers.py: Linear.forward", lecture=LECTURE["x_hat"]))
    recon, dx_hat = mse(x_hat, x)
    F(Step("recon_loss", "recon", "recon = Σ (x - x̂)²",
           " + ".join(f"({num(a)} - {num(b)})²" for a, b in zip(x[0], x_hat[0])), float(recon),
           "tinyvae/engine/losses.py: mse", lecture=LECTURE["recon_loss"]))
    kl_node, dmu_kl, dlogvar_kl = kl_divergence(mu, logvar_used)
    kl = float(kl_node) + 0.5 * float(np.sum(shift))  # = -½ Σ (1 + logvar - μ² - σ²), σ as above
    var = std * std
    terms = 1 + logvar - mu * mu - var
    F(Step("kl_terms", "1 + log σ² - μ² - σ²", "per latent dimension: 1 + log σ² - μ² - σ²",
           "[" + ", ".join(f"1 + {_p(lv)} - {_p(m)}² - {num(s)}²" for lv, m, s in zip(logvar[0], mu[0], std[0])) + "]",
           terms[0], "tinyvae/lecture/worked_example.py: run"))
    F(Step("kl", "KL", "KL = -½·Σ (1 + log σ² - μ² - σ²)",
           f"-½·({' + '.join(_p(t) for t in terms[0])})", kl,
           "tinyvae/engine/losses.py: kl_divergence" + ("" if exact else " (+ ½·Σc, see module docstring)"),
           lecture=LECTURE["kl"]))
    total = float(recon) + kl
    F(Step("total", "L", "L = recon + β·KL  (β = 1)", f"{num(float(recon))} + {num(kl)}", total,
           "tinyvae/lecture/worked_example.py: run", lecture=LECTURE["total"]))
    if not exact:
        _verify_reconstructions(ex)

    # ---- backward: the chain rule, from the loss back to the input ----------------------------
    B = ex.backward.append
    B(Step("dx_hat", "∂L/∂x̂", "∂L/∂x̂ = 2·(x̂ - x)", f"2·({vec(x_hat[0])} - {vec(x[0])})", dx_hat[0],
           "tinyvae/engine/losses.py: mse"))
    dz = model.decoder.backward(dx_hat)
    g = model.decoder.grads
    B(Step("dW_d", "∂L/∂W_d", "∂L/∂W_d = (∂L/∂x̂)ᵀ·z  (outer product, 3×2)",
           f"{vec(dx_hat[0])}ᵀ·{vec(z[0])}", g["W"], "tinyvae/engine/layers.py: Linear.backward"))
    B(Step("db_d", "∂L/∂b_d", "∂L/∂b_d = ∂L/∂x̂", "", g["b"], "tinyvae/engine/layers.py: Linear.backward"))
    B(Step("dz", "∂L/∂z", "∂L/∂z = ∂L/∂x̂·W_d", f"{vec(dx_hat[0])}·{vec(Wv['W_d'])}", dz[0],
           "tinyvae/engine/layers.py: Linear.backward"))
    dmu_rec, dlogvar_rec = reparam.backward(dz)
    B(Step("dmu_recon", "∂recon/∂μ", "∂recon/∂μ = ∂L/∂z  (∂z/∂μ = 1)", "", dmu_rec[0],
           "tinyvae/engine/reparam.py: Reparameterize.backward"))
    B(Step("dlogvar_recon", "∂recon/∂log σ²", "∂recon/∂log σ² = ∂L/∂z·ε·½σ  (∂σ/∂log σ² = ½σ)",
           "[" + ", ".join(f"{_p(d)}·{_p(e)}·½·{num(s)}" for d, e, s in zip(dz[0], eps[0], std[0])) + "]",
           dlogvar_rec[0], "tinyvae/engine/reparam.py: Reparameterize.backward"))
    B(Step("dmu_kl", "∂KL/∂μ", "∂KL/∂μ = μ", "", dmu_kl[0], "tinyvae/engine/losses.py: kl_divergence"))
    B(Step("dlogvar_kl", "∂KL/∂log σ²", "∂KL/∂log σ² = ½·(σ² - 1)",
           "[" + ", ".join(f"½·({num(s)}² - 1)" for s in std[0]) + "]", dlogvar_kl[0],
           "tinyvae/engine/losses.py: kl_divergence"))
    dmu = dmu_rec + dmu_kl
    dlogvar = dlogvar_rec + dlogvar_kl
    B(Step("dmu", "∂L/∂μ", "∂L/∂μ = ∂recon/∂μ + ∂KL/∂μ", f"{vec(dmu_rec[0])} + {vec(dmu_kl[0])}", dmu[0],
           "tinyvae/lecture/worked_example.py: run (as in tinyvae/models/vae.py: VAE.loss_and_grads)"))
    B(Step("dlogvar", "∂L/∂log σ²", "∂L/∂log σ² = ∂recon/∂log σ² + ∂KL/∂log σ²",
           f"{vec(dlogvar_rec[0])} + {vec(dlogvar_kl[0])}", dlogvar[0],
           "tinyvae/lecture/worked_example.py: run (as in tinyvae/models/vae.py: VAE.loss_and_grads)"))
    dh_mu = model.mu_head.backward(dmu)
    B(Step("dW_mu", "∂L/∂W_μ", "∂L/∂W_μ = (∂L/∂μ)ᵀ·h", f"{vec(dmu[0])}ᵀ·{vec(h[0])}", model.mu_head.grads["W"],
           "tinyvae/engine/layers.py: Linear.backward"))
    B(Step("db_mu", "∂L/∂b_μ", "∂L/∂b_μ = ∂L/∂μ", "", model.mu_head.grads["b"], "tinyvae/engine/layers.py: Linear.backward"))
    dh_lv = model.logvar_head.backward(dlogvar)
    B(Step("dW_logvar", "∂L/∂W_logvar", "∂L/∂W_logvar = (∂L/∂log σ²)ᵀ·h", f"{vec(dlogvar[0])}ᵀ·{vec(h[0])}",
           model.logvar_head.grads["W"], "tinyvae/engine/layers.py: Linear.backward"))
    B(Step("db_logvar", "∂L/∂b_logvar", "∂L/∂b_logvar = ∂L/∂log σ²", "", model.logvar_head.grads["b"],
           "tinyvae/engine/layers.py: Linear.backward"))
    dh = dh_mu + dh_lv
    B(Step("dh", "∂L/∂h", "∂L/∂h = ∂L/∂μ·W_μ + ∂L/∂log σ²·W_logvar  (h feeds both heads)",
           f"{vec(dh_mu[0])} + {vec(dh_lv[0])}", dh[0], "tinyvae/engine/layers.py: Linear.backward"))
    dx = model.encoder.backward(dh)
    B(Step("dW_e", "∂L/∂W_e", "∂L/∂W_e = (∂L/∂h)ᵀ·x", f"{vec(dh[0])}ᵀ·{vec(x[0])}", model.encoder.grads["W"],
           "tinyvae/engine/layers.py: Linear.backward"))
    B(Step("db_e", "∂L/∂b_e", "∂L/∂b_e = ∂L/∂h", "", model.encoder.grads["b"], "tinyvae/engine/layers.py: Linear.backward"))
    B(Step("dx", "∂L/∂x", "∂L/∂x = ∂L/∂h·W_e  (x as the encoder's input; as the target, x is a constant)", f"{vec(dh[0])}·{vec(Wv['W_e'])}", dx[0],
           "tinyvae/engine/layers.py: Linear.backward"))

    # ---- one Adam step ----------------------------------------------------------------------------
    opt = Adam(model, lr=lr)
    opt.step()
    A = ex.adam.append
    for name, (part, p) in _PARTS.items():
        grad = model.grads[f"{part}.{p}"]
        A(Step(f"{name}_new", f"{name} (new)", f"{name} ← {name} - lr·m̂/(√v̂ + 1e-8),  m̂ = g, v̂ = g²  (first step)",
               f"{vec(Wv[name])} - {num(lr)}·{vec(np.sign(grad))}·(|g|/(|g| + 1e-8))",
               model.params[f"{part}.{p}"].copy(), "tinyvae/engine/optim.py: Adam.step"))
    total_after = _loss_exact(model, x, eps)
    A(Step("total_after", "L after", "L after the step (same x, same ε, σ = exp(½·log σ²) in full precision)",
           "", total_after, "tinyvae/lecture/worked_example.py: run"))
    return ex


def _loss_exact(model: LectureVAE, x: np.ndarray, eps: np.ndarray) -> float:
    """recon + KL for the model's current weights, with full-precision σ."""
    h = model.encoder.forward(x)
    mu, logvar = model.mu_head.forward(h), model.logvar_head.forward(h)
    z = Reparameterize().forward(mu, logvar, eps=eps)
    recon, _ = mse(model.decoder.forward(z), x)
    kl, _, _ = kl_divergence(mu, logvar)
    return float(recon) + float(kl)


def decimals(printed: Any) -> int:
    """How many decimals a printed lecture number carries (0.455 -> 3, [0.044, 0.23] -> 3)."""
    vals = np.atleast_1d(np.asarray(printed, dtype=float))
    return max(len(repr(float(v)).split(".")[1].rstrip("0")) if "." in repr(float(v)) else 0 for v in vals)


def agrees(value: Any, printed: Any) -> bool:
    """True if ``value`` rounded to the lecture's printed decimals equals what it printed."""
    d = decimals(printed)
    return bool(np.allclose(np.round(np.asarray(value, dtype=float), d), np.asarray(printed, dtype=float),
                            rtol=0, atol=10.0 ** -(d + 6)))


def _verify_reconstructions(ex: WorkedExample) -> None:
    """The reconstructed head, decoder and eps must reproduce what the lecture printed (lecture mode)."""
    for name in ("logvar", "std", "z", "x_hat", "recon_loss"):
        if not agrees(ex[name], LECTURE[name]):
            raise RuntimeError(f"the reconstruction does not reproduce the lecture's {name}: "
                               f"computed {ex[name]}, printed {LECTURE[name]}")


# ---- errata ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Erratum:
    """One place where the lecture goes wrong: its value beside the correct one, and how we know.

    correct: with the lecture's rounded σ (the like-for-like fix); exact: with full-precision σ,
    where that differs (None otherwise). computed_by: the code that gives ``correct``.
    """

    what: str
    where: str
    lecture: Any
    correct: Any
    exact: Any
    computed_by: str


def errata() -> list[Erratum]:
    """The lecture's mistakes, each row's numbers computed from :func:`run` (both modes)."""
    lec, ext = run(), run(exact=True)
    mu, logvar, std = lec["mu"], lec["logvar"], lec["std"]
    plus = 1 + logvar - mu**2  # the part before "- σ²" in each bracket
    # The lecture's "0.5[0.9964 - 0.9817 + 1.0396 - 1.0408]": 1.0396 = 1 + log σ₂² - μ₂² is right; the rest is not.
    sum_terms = float(np.sum(lec["kl_terms"]))
    rows = [
        Erratum("sign of the closed-form KL", "KL = 0.5·Σ(1 + log σ² - μ² - σ²)",
                "+0.5·Σ(…) = " + num(0.5 * sum_terms), "-0.5·Σ(…) = " + num(-0.5 * sum_terms),
                "-0.5·Σ(…) = " + num(ext["kl"]),
                "run()['kl_terms'] summed; a KL is never negative, +0.5·Σ gives a negative one"),
        Erratum("first bracket, 1 + log σ₁² - μ₁²", "0.5[0.9964 - 0.9817 + …]  (where the lecture parts)",
                0.9964, float(plus[0]), None,
                "1 + logvar[0] - mu[0]**2 = 1 - 0.02 - 0.0016 (1 - 0.02 is 0.98)"),
        Erratum("first bracket, σ₁²", "0.5[… - 0.9817 + …]", 0.9817, float(std[0] ** 2), float(ext["std"][0] ** 2),
                f"std[0]**2; the lecture's 0.9817 = σ̃₁² + μ₁² = {num(std[0] ** 2 + mu[0] ** 2)}: μ₁² subtracted twice"),
        Erratum("second bracket, σ₂²", "0.5[… - 1.0408]", 1.0408, float(std[1] ** 2), float(ext["std"][1] ** 2),
                f"std[1]**2; the lecture's 1.0408 = σ̃₂² + μ₂² = {num(std[1] ** 2 + mu[1] ** 2)}: μ₂² subtracted twice"),
        Erratum("sum inside the brackets", "0.5[0.0147 - 0.0012] = 0.5 × 0.0135", 0.0135, sum_terms,
                float(np.sum(ext["kl_terms"])), "sum(run()['kl_terms'])"),
        Erratum("KL divergence", "= 0.00675", LECTURE["kl"], lec["kl"], ext["kl"],
                "tinyvae.engine.losses.kl_divergence via run()['kl']"),
        Erratum("total loss", "total = 1.485605 + 0.00675 = 1.492355", LECTURE["total"], lec["total"], ext["total"],
                "run()['recon_loss'] + run()['kl']"),
        Erratum("symbol for the log-variance", "the encoder's two outputs, 'log(μ²)'", "log(μ²) = " + vec(np.log(mu**2), 4),
                "log σ² = " + vec(logvar), None, "np.log(mu**2) is not the head's output logvar: a typo for log σ²"),
        Erratum("symbol for the mean", "ψ = W_μ·h + b_μ", "ψ", "μ = " + vec(mu), None,
                "run()['mu']: the same numbers, labelled μ two lines later"),
        Erratum("KL definition", "D_KL(P‖Q) = Σ P(x) log(P(x)/O(x))", "O(x)", "Q(x)", None,
                "notation: the second distribution is Q"),
    ]
    return rows


# ---- text layout -------------------------------------------------------------------------------
def _show(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "-"
    return vec(v) if np.ndim(v) else num(v)


def format_trace(ex: WorkedExample, *, adam: bool = True) -> str:
    """The whole example as the lecture lays it out: formula, numbers substituted, result."""
    mode = ("exact: σ = exp(½·log σ²) in full precision" if ex.exact
            else "lecture: σ rounded to 0.99 and 1.02, as the lecture did")
    out = [f"The lecture's worked example ({mode})", ""]
    out.append("Given in the lecture:")
    out += [f"  {s.symbol:<9} = {_show(s.value)}" for s in ex.inputs if s.source == "lecture"]
    out.append("Reconstructed [R] (missing from the lecture's text; they reproduce its printed numbers):")
    for s in ex.inputs:
        if s.source == "reconstruction":
            sub = f"   <- {s.formula} = {s.substituted}" if s.substituted else ""
            out.append(f"  {s.symbol:<9} = {_show(s.value)}{sub}")

    def block(title: str, steps: list[Step]) -> None:
        out.extend(["", title])
        for i, s in enumerate(steps, 1):
            out.append(f"{i:>2}. {s.formula}")
            if s.substituted:
                out.append(f"      = {s.substituted}")
            line = f"      = {_show(s.value)}"
            if s.lecture is not None:
                if agrees(s.value, s.lecture):
                    mark = "✓"
                elif ex.exact and s.name not in ("kl", "total"):
                    mark = "≈, its σ was rounded"
                else:
                    mark = "✗, see the errata"
                line += f"      (lecture: {_show(s.lecture)} {mark})"
            out.append(line)
            out.append(f"      [{s.code}]")

    block("FORWARD", ex.forward)
    block("BACKWARD (beyond the lecture: L = recon + KL, batch of one)", ex.backward)
    if adam:
        block(f"ONE ADAM STEP (lr = {num(ex.lr)}, betas 0.9, 0.999, eps 1e-8; first step: m̂ = g, v̂ = g², "
              f"so each weight moves by ≈ lr against its gradient's sign)", ex.adam)
        out.append(f"      loss {num(ex['total'])} -> {num(ex['total_after'])}")
    return "\n".join(out)


def format_errata(rows: list[Erratum]) -> str:
    """The errata as a table: what, the lecture's value, the correct one (rounded σ, exact σ)."""
    head = ("what", "lecture", "correct (σ rounded as lectured)", "correct (exact σ)")
    body = [(r.what, _show(r.lecture), _show(r.correct), _show(r.exact)) for r in rows]
    widths = [max(len(row[i]) for row in (head, *body)) for i in range(4)]
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    lines = ["ERRATA (each number computed by tinyvae.lecture.worked_example.errata)", fmt(head),
             fmt(tuple("-" * w for w in widths))]
    lines += [fmt(row) for row in body]
    lines.append("")
    lines += [f"- {r.what}: at '{r.where}'; {r.computed_by}" for r in rows]
    return "\n".join(lines)


__all__ = [
    "ADAM_LR", "GIVEN", "LECTURE", "RECONSTRUCTED", "X", "Erratum", "LectureVAE", "Step", "WorkedExample",
    "agrees", "errata", "format_errata", "format_trace", "implied_eps", "run",
]
