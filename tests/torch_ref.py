"""Torch references for the parity tests: the same computation, differentiated by autograd.

torch is used only here and in bench/. Everything is float64. A tinyvae network is mirrored layer
by layer with torch's own functions (F.linear, F.relu, torch.sigmoid, ...) on leaf tensors that
hold copies of tinyvae's weights; autograd then gives the gradients to compare with.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tinyvae.engine.layers import Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh

RTOL = 1e-10  # float64 parity: hand-written and autograd agree to rounding
ATOL = 1e-13


def leaves(params: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """A float64 leaf tensor requiring grad for every tinyvae parameter, same names."""
    return {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in params.items()}


def t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


def run_layer(layer, h: torch.Tensor, tp: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    """Apply one tinyvae layer's math with torch ops; weights come from ``tp[prefix + name]``."""
    if isinstance(layer, Sequential):
        for i, sub in enumerate(layer.layers):
            h = run_layer(sub, h, tp, f"{prefix}{i}.")
        return h
    if isinstance(layer, Linear):
        return F.linear(h, tp[prefix + "W"], tp[prefix + "b"])
    if isinstance(layer, ReLU):
        return F.relu(h)
    if isinstance(layer, LeakyReLU):
        return F.leaky_relu(h, layer.slope)
    if isinstance(layer, Sigmoid):
        return torch.sigmoid(h)
    if isinstance(layer, Tanh):
        return torch.tanh(h)
    if isinstance(layer, Identity):
        return h
    raise TypeError(f"no torch mirror for {type(layer).__name__}")


def kl_torch(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The closed-form KL of the PyTorch VAE example, per example (averaged over the batch)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def recon_torch(logits: torch.Tensor, x: torch.Tensor, loss: str, output: str) -> torch.Tensor:
    """Reconstruction term per example: the PyTorch example's BCE on σ(logits), or squared error."""
    B = x.shape[0]
    if loss == "bce":
        return F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / B
    x_hat = torch.sigmoid(logits) if output == "sigmoid" else logits
    return torch.sum((x_hat - x) ** 2) / B


def vae_loss_torch(model, tp: dict[str, torch.Tensor], x: np.ndarray, eps: np.ndarray):
    """(total, recon, kl) tensors of a tinyvae.VAE's loss, computed by torch on the leaves ``tp``."""
    tx = t(x)
    h = run_layer(model.encoder, tx, tp, "encoder.")
    mu = run_layer(model.mu_head, h, tp, "mu.")
    logvar = run_layer(model.logvar_head, h, tp, "logvar.")
    z = mu + torch.exp(0.5 * logvar) * t(eps)
    logits = run_layer(model.decoder, z, tp, "decoder.")
    recon = recon_torch(logits, tx, model.loss, model.output)
    kl = kl_torch(mu, logvar)
    total = recon + model.beta * kl
    return total, recon, kl


def vae_reference(model, x: np.ndarray, eps: np.ndarray):
    """(total, recon, kl, grads) of a tinyvae.VAE's loss computed by torch autograd."""
    tp = leaves(model.params)
    total, recon, kl = vae_loss_torch(model, tp, x, eps)
    total.backward()
    grads = {k: v.grad.numpy() for k, v in tp.items()}
    return total.item(), recon.item(), kl.item(), grads


def assert_close(a, b, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL, err_msg=what)
