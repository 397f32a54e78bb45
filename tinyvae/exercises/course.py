"""The exercises, in course order: what each asks, its inputs, and the library's own answer.

Each ``Exercise`` holds
- ``cases(rng)``: the inputs the grader passes (batches of one and more, non-square weights, signs
  mixed so that ReLU masks matter), each a dict in the order of the signature;
- ``library(case)``: the answer of tinyvae's own layers (``tinyvae/engine``), the reference;
- ``scalar(case)``: for the gradient exercises, a function L(arrays) and the arrays whose
  gradients the answer holds, so that the grader can also compare with finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..engine import losses
from ..engine.layers import Linear, ReLU, Sigmoid
from ..engine.optim import Adam
from ..engine.reparam import Reparameterize
from ..models.vae import VAE
from . import solutions
from .solutions import VAE_FORWARD

Case = dict[str, Any]


@dataclass(frozen=True)
class Exercise:
    name: str
    signature: str
    outputs: tuple[str, ...]
    cases: Callable[[np.random.Generator], list[Case]]
    library: Callable[[Case], tuple]
    scalar: Callable[[Case], tuple[Callable[[], float], dict[str, np.ndarray]]] | None = None


def _signed(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Normal values kept away from 0 (|a| ≥ 0.1), so a finite difference never straddles a ReLU kink."""
    a = rng.standard_normal(shape)
    return np.where(np.abs(a) < 0.1, np.sign(a + 1e-12) * 0.1 + a, a)


# ---- linear ---------------------------------------------------------------------------------------
def _linear_cases(rng):
    shapes = [(3, 4, 4), (1, 3, 5), (4, 3, 5)]  # (B, in, out): square first, a batch of one, non-square
    return [{"x": _signed(rng, B, i), "W": _signed(rng, o, i), "b": _signed(rng, o), "dout": _signed(rng, B, o)}
            for B, i, o in shapes]


def _linear_library(c):
    layer = Linear(*c["W"].shape[::-1])
    layer.params["W"][...], layer.params["b"][...] = c["W"], c["b"]
    layer.forward(c["x"])
    dx = layer.backward(c["dout"])
    return dx, layer.grads["W"], layer.grads["b"]


def _linear_scalar(c):
    return lambda: float(np.sum((c["x"] @ c["W"].T + c["b"]) * c["dout"])), {k: c[k] for k in ("x", "W", "b")}


# ---- activations ----------------------------------------------------------------------------------
def _act_cases(rng):
    return [{"x": _signed(rng, B, D), "dout": _signed(rng, B, D)} for B, D in [(1, 6), (4, 5)]]


def _relu_library(c):
    layer = ReLU()
    layer.forward(c["x"])
    return (layer.backward(c["dout"]),)


def _relu_scalar(c):
    return lambda: float(np.sum(np.maximum(c["x"], 0) * c["dout"])), {"x": c["x"]}


def _sigmoid_cases(rng):
    return [{"out": 1 / (1 + np.exp(-c["x"])), "dout": c["dout"], "_x": c["x"]} for c in _act_cases(rng)]


def _sigmoid_library(c):
    layer = Sigmoid()
    layer.forward(c["_x"])
    return (layer.backward(c["dout"]),)


def _sigmoid_scalar(c):
    return lambda: float(np.sum(1 / (1 + np.exp(-c["_x"])) * c["dout"])), {"x": c["_x"]}


# ---- losses ---------------------------------------------------------------------------------------
def _bce_cases(rng):
    return [{"logits": _signed(rng, B, D), "x": rng.uniform(0, 1, (B, D))} for B, D in [(1, 7), (5, 6)]]


def _bce_scalar(c):
    return lambda: float(losses.bce_with_logits(c["logits"], c["x"])[0]), {"logits": c["logits"]}


def _latent_cases(rng):
    return [{"mu": _signed(rng, B, Z), "logvar": rng.uniform(-2, 1, (B, Z))} for B, Z in [(1, 2), (4, 3)]]


def _kl_scalar(c):
    return lambda: float(losses.kl_divergence(c["mu"], c["logvar"])[0]), {"mu": c["mu"], "logvar": c["logvar"]}


def _reparam_cases(rng):
    return [{**c, "eps": _signed(rng, *c["mu"].shape), "dz": _signed(rng, *c["mu"].shape)} for c in _latent_cases(rng)]


def _reparam_library(c):
    node = Reparameterize()
    node.forward(c["mu"], c["logvar"], eps=c["eps"])
    return node.backward(c["dz"])


def _reparam_scalar(c):
    def f():
        return float(np.sum((c["mu"] + np.exp(0.5 * c["logvar"]) * c["eps"]) * c["dz"]))
    return f, {"mu": c["mu"], "logvar": c["logvar"]}


# ---- Adam ------------------------------------------------------------------------------------------
def _adam_cases(rng):
    cases = []
    for t, shape in [(1, (3,)), (2, (2, 3)), (7, (4,))]:
        v = rng.uniform(0, 0.1, shape) if t > 1 else np.zeros(shape)
        m = 0.1 * rng.standard_normal(shape) if t > 1 else np.zeros(shape)
        cases.append({"p": rng.standard_normal(shape), "g": rng.standard_normal(shape), "m": m, "v": v, "t": t,
                      "lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8})
    return cases


class _Holder:
    def __init__(self, p, g):
        self.params, self.grads = {"p": p}, {"p": g}


def _adam_library(c):
    holder = _Holder(c["p"].copy(), c["g"].copy())
    opt = Adam(holder, lr=c["lr"], betas=c["betas"], eps=c["eps"])
    opt.state["m.p"][...], opt.state["v.p"][...] = c["m"], c["v"]
    opt.t = c["t"] - 1  # step() counts this step as t
    opt.step()
    return holder.params["p"], opt.state["m.p"], opt.state["v.p"]


# ---- the whole VAE -----------------------------------------------------------------------------------
def _vae_model(c):
    model = VAE(6, [5], 2, loss="bce")
    for k, p in model.params.items():
        p[...] = c["params"][k]
    return model


def _vae_cases(rng):
    cases = []
    for B, seed in [(1, 1), (4, 2)]:
        params = {k: p.copy() for k, p in VAE(6, [5], 2, rng=seed).params.items()}
        cases.append({"params": params, "x": rng.uniform(0, 1, (B, 6)), "eps": rng.standard_normal((B, 2))})
    return cases


def _vae_library(c):
    model = _vae_model(c)
    model.loss_and_grads(c["x"], eps=c["eps"])
    return ({k: g.copy() for k, g in model.grads.items()},)


def _vae_scalar(c):
    model = _vae_model(c)
    return lambda: float(model.loss_and_grads(c["x"], eps=c["eps"]).total), model.params


EXERCISES: dict[str, Exercise] = {e.name: e for e in [
    Exercise("linear_backward", "linear_backward(x, W, b, dout) -> (dx, dW, db)   for y = x @ W.T + b, W (out, in)",
             ("dx", "dW", "db"), _linear_cases, _linear_library, _linear_scalar),
    Exercise("relu_backward", "relu_backward(x, dout) -> dx   x is the layer's INPUT", ("dx",),
             _act_cases, _relu_library, _relu_scalar),
    Exercise("sigmoid_backward", "sigmoid_backward(out, dout) -> dx   out = σ(x) is the layer's OUTPUT", ("dx",),
             _sigmoid_cases, _sigmoid_library, _sigmoid_scalar),
    Exercise("reparameterize_backward", "reparameterize_backward(mu, logvar, eps, dz) -> (dmu, dlogvar)   "
             "z = mu + exp(logvar / 2) * eps", ("dmu", "dlogvar"), _reparam_cases, _reparam_library, _reparam_scalar),
    Exercise("kl", "kl(mu, logvar) -> (kl, dmu, dlogvar)   KL(N(mu, e^logvar) ‖ N(0, I)), summed over z, mean over B",
             ("kl", "dmu", "dlogvar"), _latent_cases, lambda c: losses.kl_divergence(c["mu"], c["logvar"]),
             _kl_scalar),
    Exercise("bce_with_logits_backward", "bce_with_logits_backward(logits, x) -> dlogits   "
             "loss = BCE(σ(logits), x) summed over pixels, mean over B", ("dlogits",),
             _bce_cases, lambda c: (losses.bce_with_logits(c["logits"], c["x"])[1],), _bce_scalar),
    Exercise("vae_backward", "vae_backward(params, x, eps) -> grads   a dict with the keys of params; the model:\n"
             + VAE_FORWARD, ("grads",), _vae_cases, _vae_library, _vae_scalar),
    Exercise("adam_step", "adam_step(p, g, m, v, t, lr, betas, eps) -> (p, m, v)   t counts from 1, "
             "betas = (beta1, beta2)",
             ("p", "m", "v"), _adam_cases, _adam_library),
]}

SOLUTIONS: dict[str, Callable] = {name: getattr(solutions, name) for name in EXERCISES}
