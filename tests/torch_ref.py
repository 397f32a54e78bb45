"""Torch references for the parity tests: the same computation, differentiated by autograd.

torch is used only here and in bench/. Everything is float64. A tinyvae network is mirrored layer
by layer with torch's own functions (F.linear, F.relu, torch.sigmoid, ...) on leaf tensors that
hold copies of tinyvae's weights; autograd then gives the gradients to compare with.

:func:`model_reference` is the one torch reference of tinyvae's models (VAE, AE, CVAE, ConvVAE): it reads
the model's parts and its protocol attributes, not its type, and every parity test of a model uses it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tinyvae.engine.conv import Conv2d, ConvTranspose2d, Flatten, Reshape
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
    if isinstance(layer, Conv2d):
        return conv2d_torch(h, tp[prefix + "W"], tp.get(prefix + "b"), layer.stride, layer.padding)
    if isinstance(layer, ConvTranspose2d):
        return conv_transpose2d_torch(h, tp[prefix + "W"], tp.get(prefix + "b"), layer.stride, layer.padding,
                                      layer.output_padding)
    if isinstance(layer, Flatten):
        return h.flatten(1)
    if isinstance(layer, Reshape):
        return h.reshape(h.shape[0], *layer.shape)
    raise TypeError(f"no torch mirror for {type(layer).__name__}")


def conv2d_torch(x, W, b, stride, pads):
    """torch's conv2d with a padding ((top, bottom), (left, right)) that may differ on the two sides:
    F.pad adds the zeros (its order is left, right, top, bottom), the convolution pads no more."""
    (pt, pb), (pl, pr) = pads
    return F.conv2d(F.pad(x, (pl, pr, pt, pb)), W, b, stride)


def conv_transpose2d_torch(x, W, b, stride, pads, output_padding):
    """torch's conv_transpose2d with a padding ((top, bottom), (left, right)) cut off its output: the
    unpadded transposed convolution (with output_padding's rows at the end), cropped, then the bias."""
    (pt, pb), (pl, pr) = pads
    full = F.conv_transpose2d(x, W, None, stride, 0, output_padding)
    out = full[:, :, pt : full.shape[2] - pb, pl : full.shape[3] - pr]
    return out if b is None else out + b[None, :, None, None]


def kl_torch(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The closed-form KL of the PyTorch VAE example, per example (averaged over the batch)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def kl_free_bits_torch(mu: torch.Tensor, logvar: torch.Tensor, free_bits: float) -> torch.Tensor:
    """Free bits (Kingma et al., 2016): Σ_j max(λ, batch-mean KL of dimension j); autograd finds the mask."""
    kl_j = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(dim=0)
    return torch.clamp(kl_j, min=free_bits).sum()


def recon_torch(logits: torch.Tensor, x: torch.Tensor, loss: str, output: str) -> torch.Tensor:
    """Reconstruction term per example: the PyTorch example's BCE on σ(logits), or squared error."""
    B = x.shape[0]
    if loss == "bce":
        return F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / B
    x_hat = torch.sigmoid(logits) if output == "sigmoid" else logits
    return torch.sum((x_hat - x) ** 2) / B


def model_loss_torch(model, tp: dict[str, torch.Tensor], x: np.ndarray, y=None, eps=None, beta=None):
    """(total, recon, kl) tensors of any tinyvae model's loss, computed by torch on the leaves ``tp``.

    ``beta`` replaces the model's β (KL warm-up's β of an epoch); a model with free bits λ > 0 adds
    β·Σ_j max(λ, kl_j) instead of β·kl (``kl`` is returned plain either way). The label, if the model takes one, joins the encoder's and the decoder's input as ``F.one_hot``
    (torch.cat); a model without a posterior (the AE) maps h to its code z with its one head, no noise.
    """
    tx = t(x)
    c = None
    if model.n_classes:
        c = F.one_hot(torch.tensor(np.asarray(y), dtype=torch.int64), model.n_classes).to(torch.float64)
    join = (lambda a: a) if c is None else (lambda a: torch.cat([a, c], dim=1))
    h = run_layer(model.encoder, join(tx), tp, "encoder.")
    heads = {name: layer for name, layer in model.parts().items() if name not in ("encoder", "decoder")}
    if model.has_posterior:
        mu = run_layer(heads["mu"], h, tp, "mu.")
        logvar = run_layer(heads["logvar"], h, tp, "logvar.")
        z = mu + torch.exp(0.5 * logvar) * t(eps)
        kl = kl_torch(mu, logvar)
        kl_loss = kl_free_bits_torch(mu, logvar, model.free_bits) if model.free_bits else kl
    else:
        ((name, head),) = heads.items()
        z, kl = run_layer(head, h, tp, f"{name}."), torch.zeros((), dtype=torch.float64)
        kl_loss = kl
    logits = run_layer(model.decoder, join(z), tp, "decoder.")
    recon = recon_torch(logits, tx, model.recon_loss, model.output)
    return recon + (model.beta if beta is None else beta) * kl_loss, recon, kl


def vae_loss_torch(model, tp: dict[str, torch.Tensor], x: np.ndarray, eps: np.ndarray):
    """The old name of :func:`model_loss_torch` for an unconditional model (tests/test_optim.py uses it)."""
    return model_loss_torch(model, tp, x, None, eps)


def model_reference(model, x: np.ndarray, y=None, eps=None, beta=None):
    """(total, recon, kl, grads) of a tinyvae model's loss computed by torch autograd."""
    tp = leaves(model.params)
    total, recon, kl = model_loss_torch(model, tp, x, y, eps, beta)
    total.backward()
    grads = {k: v.grad.numpy() for k, v in tp.items()}
    return total.item(), recon.item(), kl.item(), grads


def assert_matches_torch(model, x: np.ndarray, y=None, eps=None, beta=None):
    """Run ``model.loss_and_grads`` and compare its loss terms and every gradient with autograd's."""
    got = model.loss_and_grads(x, y, eps=eps, beta=beta)
    total, recon, kl, grads = model_reference(model, x, y, eps, beta)
    assert_close(got.total, total, "total")
    assert_close(got.recon, recon, "recon")
    assert_close(got.kl, kl, "kl")
    assert list(model.grads) == list(grads) == list(model.params)
    for k, g in grads.items():
        assert_close(model.grads[k], g, k)
    return got


def assert_close(a, b, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL, err_msg=what)
