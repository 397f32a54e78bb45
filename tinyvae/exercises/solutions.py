"""Reference solutions of the exercises, written plainly, one equation per line.

Each is what a learner writes in the exercise cell; ``tinyvae.exercises.check`` grades a learner's
function against the library's own layers (``tinyvae/engine``), not against these, and the tests
check that every function here passes. Conventions are the library's: a batch is rows, ``W`` is
(out, in), losses are summed over features and averaged over the batch, ``logvar`` is log σ².
"""

from __future__ import annotations

import numpy as np


def linear_backward(x, W, b, dout):
    """y = x @ W.T + b.   x (B, in), W (out, in), b (out,), dout (B, out) -> dx (B, in), dW (out, in), db (out,)."""
    dx = dout @ W  # ∂L/∂x = dout W
    dW = dout.T @ x  # ∂L/∂W = doutᵀ x
    db = dout.sum(axis=0)  # ∂L/∂b = Σ_batch dout
    return dx, dW, db


def relu_backward(x, dout):
    """out = max(x, 0), given the INPUT x (B, D) and dout (B, D) -> dx (B, D). The gradient at 0 is 0."""
    return dout * (x > 0)


def sigmoid_backward(out, dout):
    """out = σ(x), given the OUTPUT out = σ(x) (B, D) and dout (B, D) -> dx (B, D)."""
    return dout * out * (1 - out)  # σ'(x) = σ(x) (1 - σ(x))


def bce_with_logits_backward(logits, x):
    """loss = (1/B) Σ_b Σ_d BCE(σ(logits), x) -> dlogits (B, D) = (σ(logits) - x) / B."""
    B = logits.shape[0]
    x_hat = 1 / (1 + np.exp(-logits))
    return (x_hat - x) / B


def kl(mu, logvar):
    """KL(N(mu, σ²) ‖ N(0, I)) summed over z, averaged over the batch; mu, logvar (B, Z).

    Returns (kl, dmu, dlogvar):  kl = -(1/2B) Σ (1 + logvar - mu² - e^logvar),
    dmu = mu / B,  dlogvar = (e^logvar - 1) / (2B).
    """
    B = mu.shape[0]
    var = np.exp(logvar)  # σ² = e^logvar
    value = -0.5 * np.sum(1 + logvar - mu**2 - var) / B
    return value, mu / B, 0.5 * (var - 1) / B


def reparameterize_backward(mu, logvar, eps, dz):
    """z = mu + std * eps with std = exp(logvar / 2); all (B, Z) -> (dmu, dlogvar)."""
    std = np.exp(0.5 * logvar)
    dmu = dz  # ∂z/∂mu = 1
    dlogvar = dz * eps * 0.5 * std  # ∂z/∂logvar = eps · ∂std/∂logvar = eps · ½ std
    return dmu, dlogvar


def adam_step(p, g, m, v, t, lr, betas, eps):
    """One Adam step at step t (counting from 1), betas = (β1, β2) as torch takes them -> (p, m, v), new arrays."""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * g  # first moment
    v = beta2 * v + (1 - beta2) * g**2  # second moment
    m_hat = m / (1 - beta1**t)  # bias corrections
    v_hat = v / (1 - beta2**t)
    p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v


def vae_backward(params, x, eps):
    """The whole VAE's gradients: a dict with the keys of ``params``. See ``VAE_FORWARD`` for the model."""
    return vae_chain(params, x, eps, linear_backward, relu_backward, reparameterize_backward, kl)


def vae_chain(params, x, eps, linear_bw, relu_bw, reparam_bw, kl_fn):
    """The chain rule through the exercise's VAE, built from the four pieces (so a test can swap one)."""
    P = params  # short, so that each line below reads as one equation
    # forward
    a1 = x @ P["encoder.0.W"].T + P["encoder.0.b"]
    h = np.maximum(a1, 0)
    mu = h @ P["mu.W"].T + P["mu.b"]
    logvar = h @ P["logvar.W"].T + P["logvar.b"]
    z = mu + np.exp(0.5 * logvar) * eps
    a2 = z @ P["decoder.0.W"].T + P["decoder.0.b"]
    h_dec = np.maximum(a2, 0)
    logits = h_dec @ P["decoder.2.W"].T + P["decoder.2.b"]
    # backward
    grads = {}
    dlogits = bce_with_logits_backward(logits, x)
    dh_dec, grads["decoder.2.W"], grads["decoder.2.b"] = linear_bw(h_dec, P["decoder.2.W"], P["decoder.2.b"], dlogits)
    da2 = relu_bw(a2, dh_dec)
    dz, grads["decoder.0.W"], grads["decoder.0.b"] = linear_bw(z, P["decoder.0.W"], P["decoder.0.b"], da2)
    dmu, dlogvar = reparam_bw(mu, logvar, eps, dz)
    _, dmu_kl, dlogvar_kl = kl_fn(mu, logvar)
    dmu, dlogvar = dmu + dmu_kl, dlogvar + dlogvar_kl  # both terms of the loss depend on mu, logvar
    dh_mu, grads["mu.W"], grads["mu.b"] = linear_bw(h, P["mu.W"], P["mu.b"], dmu)
    dh_lv, grads["logvar.W"], grads["logvar.b"] = linear_bw(h, P["logvar.W"], P["logvar.b"], dlogvar)
    da1 = relu_bw(a1, dh_mu + dh_lv)  # h feeds both heads
    _, grads["encoder.0.W"], grads["encoder.0.b"] = linear_bw(x, P["encoder.0.W"], P["encoder.0.b"], da1)
    return grads


VAE_FORWARD = """\
h      = relu(x @ encoder.0.W.T + encoder.0.b)          (B, 5)
mu     = h @ mu.W.T + mu.b                              (B, 2)
logvar = h @ logvar.W.T + logvar.b                      (B, 2)   log σ²
z      = mu + exp(logvar / 2) * eps                     (B, 2)
h_dec  = relu(z @ decoder.0.W.T + decoder.0.b)          (B, 5)
logits = h_dec @ decoder.2.W.T + decoder.2.b            (B, 6)
loss   = BCE(σ(logits), x) + KL(N(mu, σ²) ‖ N(0, I))    summed over features, averaged over B"""
