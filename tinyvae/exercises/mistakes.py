"""The classic mistakes, each as the wrong function a learner might write, with the message that names it.

The grader runs a failing answer's inputs through every mistake of its exercise; when the answer
equals what a mistake computes, the learner reads that mistake's message instead of a bare
"wrong entry". Each entry is (key, message, wrong function); the tests check that every one of
them is recognised by its own message.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import solutions as s

Mistake = tuple[str, str, Callable]


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _kl_value(mu, logvar, var):
    return -0.5 * np.sum(1 + logvar - mu**2 - var) / mu.shape[0]


def _reparam_without_half(mu, logvar, eps, dz):
    return dz, dz * eps * np.exp(0.5 * logvar)


def _kl_without_gradient(mu, logvar):
    return 0.0, np.zeros_like(mu), np.zeros_like(logvar)


def _relu_mask_from_dout(x, dout):
    return dout * (dout > 0)


def _linear_no_bias_sum(x, W, b, dout):
    return dout @ W, dout.T @ x, dout


def _vae_one_head(params, x, eps):
    """dh from the mu head alone: the logvar head's share of h's gradient is dropped."""
    def linear_bw(x_, W, b, dout):
        dx, dW, db = s.linear_backward(x_, W, b, dout)
        return (dx if W is not params["logvar.W"] else 0 * dx), dW, db
    return s.vae_chain(params, x, eps, linear_bw, s.relu_backward, s.reparameterize_backward, s.kl)


def _adam(args: tuple, *, t_shift: int = 0, exponent: bool = True, corrected: bool = True,
          squared: bool = True, eps_inside: bool = False) -> tuple:
    """Adam with one classic slip switched on; ``args`` are the exercise's (p, g, m, v, t, lr, betas, eps)."""
    p, g, m, v, t, lr, (beta1, beta2), eps = args
    step = t + t_shift if exponent else 1
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * (g**2 if squared else g)
    m_hat = m / (1 - beta1**step) if corrected else m
    v_hat = v / (1 - beta2**step) if corrected else v
    denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    return p - lr * m_hat / denom, m, v


TRANSPOSED = "is transposed"

CATALOGUE: dict[str, list[Mistake]] = {
    "linear_backward": [
        ("dW transposed", f"dW {TRANSPOSED}: W is (out, in), so dW = doutᵀ x, not xᵀ dout",
         lambda x, W, b, dout: (dout @ W, x.T @ dout, dout.sum(0))),
        ("dx through Wᵀ", f"dx uses Wᵀ: W {TRANSPOSED} in dx; for y = x Wᵀ + b, dx = dout W",
         lambda x, W, b, dout: (dout @ W.T, dout.T @ x, dout.sum(0))),
        ("db not summed", "db is not summed over the batch: every row adds to the same bias, db = Σ_batch dout",
         _linear_no_bias_sum),
        ("db averaged", "db is averaged over the batch; the loss's 1/B is already inside dout, so sum it: db = Σ_batch dout",
         lambda x, W, b, dout: (dout @ W, dout.T @ x, dout.mean(0))),
        ("dW divided by B", "dW has an extra 1/B: the batch average is already inside dout, so dW = doutᵀ x",
         lambda x, W, b, dout: (dout @ W, dout.T @ x / x.shape[0], dout.sum(0))),
    ],
    "relu_backward": [
        ("mask from dout", "the ReLU mask is taken from the wrong tensor (dout); it comes from the input: dx = dout · [x > 0]",
         _relu_mask_from_dout),
        ("mask inverted", "the ReLU mask is inverted: the gradient passes where x > 0 and is 0 where x ≤ 0",
         lambda x, dout: dout * (x <= 0)),
        ("dout forgotten", "dx forgets dout: the chain rule multiplies the local slope [x > 0] by the upstream dout",
         lambda x, dout: (x > 0).astype(float)),
    ],
    "sigmoid_backward": [
        ("sigmoid applied again", "σ is applied to out again: this function receives the output s = σ(x), so dx = dout · s (1 - s)",
         lambda out, dout: dout * _sig(out) * (1 - _sig(out))),
        ("(1 - σ) forgotten", "the factor (1 - σ) is missing: σ'(x) = σ(x) (1 - σ(x))",
         lambda out, dout: dout * out),
        ("dout forgotten", "dx forgets dout: multiply the local slope s (1 - s) by the upstream dout",
         lambda out, dout: out * (1 - out)),
    ],
    "bce_with_logits_backward": [
        ("1/B missing", "dlogits is not divided by the batch size B: the loss is averaged over the batch",
         lambda logits, x: _sig(logits) - x),
        ("1/(B·D)", "dlogits is divided by B·D: the loss sums over pixels and averages over the batch only, so divide by B",
         lambda logits, x: (_sig(logits) - x) / logits.size),
        ("sign", "dlogits has the wrong sign (a sign error): it is (σ(logits) - x) / B",
         lambda logits, x: (x - _sig(logits)) / logits.shape[0]),
        ("no sigmoid", "the logits are used where σ(logits) belongs: dlogits = (σ(logits) - x) / B",
         lambda logits, x: (logits - x) / logits.shape[0]),
    ],
    "kl": [
        ("sign", "the KL has the wrong sign (a sign error, as in the lecture's document 004): "
                 "KL = -½ Σ (1 + logvar - mu² - e^logvar), which is never negative",
         lambda mu, logvar: (-s.kl(mu, logvar)[0], -s.kl(mu, logvar)[1], -s.kl(mu, logvar)[2])),
        ("exp(logvar) as σ", "exp(logvar) is used as σ: logvar is log σ², so σ² = exp(logvar) and σ = exp(½ logvar)",
         lambda mu, logvar: (_kl_value(mu, logvar, np.exp(2 * logvar)), mu / mu.shape[0],
                             (np.exp(2 * logvar) - 0.5) / mu.shape[0])),
        ("1/B missing", "the KL is summed over the batch instead of averaged: divide by B",
         lambda mu, logvar: tuple(mu.shape[0] * a for a in s.kl(mu, logvar))),
        ("½ missing", "the KL's ½ is missing: KL = -½ Σ (1 + logvar - mu² - e^logvar)",
         lambda mu, logvar: tuple(2 * a for a in s.kl(mu, logvar))),
    ],
    "reparameterize_backward": [
        ("½ forgotten", "the reparameterization's ½ is forgotten: std = exp(½ logvar), so ∂std/∂logvar = ½ std",
         _reparam_without_half),
        ("exp(logvar) as σ", "exp(logvar) is used as σ: logvar is log σ², so σ = exp(½ logvar) and ∂z/∂logvar = eps · ½ σ",
         lambda mu, logvar, eps, dz: (dz, dz * eps * np.exp(logvar))),
        ("eps forgotten", "dlogvar forgets eps: z = mu + std · eps, so ∂z/∂logvar = eps · ½ std",
         lambda mu, logvar, eps, dz: (dz, dz * 0.5 * np.exp(0.5 * logvar))),
        ("dz forgotten", "the upstream gradient dz is forgotten: dmu = dz and dlogvar = dz · eps · ½ std",
         lambda mu, logvar, eps, dz: (np.ones_like(dz), eps * 0.5 * np.exp(0.5 * logvar))),
    ],
    "adam_step": [
        ("bias correction t + 1", "Adam's bias correction uses step t + 1: with t counting from 1, m̂ = m / (1 - β1ᵗ), "
                                  "v̂ = v / (1 - β2ᵗ)",
         lambda *a: _adam(a, t_shift=1)),
        ("bias correction exponent", "Adam's bias correction has the wrong exponent: m̂ = m / (1 - β1ᵗ) with β1 raised "
                                     "to the step t",
         lambda *a: _adam(a, exponent=False)),
        ("bias correction t - 1", "Adam's bias correction uses step t - 1 (t counts from 1, so the first step divides "
                                  "by 1 - β⁰ = 0): m̂ = m / (1 - β1ᵗ)",
         lambda *a: _adam(a, t_shift=-1)),
        ("no bias correction", "Adam's bias correction is missing: m̂ = m / (1 - β1ᵗ), v̂ = v / (1 - β2ᵗ)",
         lambda *a: _adam(a, corrected=False)),
        ("g instead of g²", "the second moment must average g², not g: v = β2 v + (1 - β2) g²",
         lambda *a: _adam(a, squared=False)),
        ("eps inside the root", "eps is inside the square root: the step divides by √v̂ + eps",
         lambda *a: _adam(a, eps_inside=True)),
    ],
    "vae_backward": [
        ("KL gradient missing", "mu's and logvar's gradients miss the KL term: dmu = dmu_recon + mu / B, "
                                "dlogvar = dlogvar_recon + (e^logvar - 1) / 2B",
         lambda params, x, eps: s.vae_chain(params, x, eps, s.linear_backward, s.relu_backward, s.reparameterize_backward,
                                       _kl_without_gradient)),
        ("½ forgotten", "the reparameterization's ½ is forgotten: std = exp(½ logvar), so ∂std/∂logvar = ½ std",
         lambda params, x, eps: s.vae_chain(params, x, eps, s.linear_backward, s.relu_backward, _reparam_without_half, s.kl)),
        ("one head", "h feeds both heads, so its gradient is the sum of both: dh = dmu W_mu + dlogvar W_logvar",
         _vae_one_head),
        ("mask from dout", "a ReLU mask is taken from the wrong tensor (dout); it comes from that layer's input",
         lambda params, x, eps: s.vae_chain(params, x, eps, s.linear_backward, _relu_mask_from_dout,
                                       s.reparameterize_backward, s.kl)),
        ("db not summed", "a bias gradient is not summed over the batch: db = Σ_batch dout",
         lambda params, x, eps: s.vae_chain(params, x, eps, _linear_no_bias_sum, s.relu_backward,
                                       s.reparameterize_backward, s.kl)),
    ],
}
