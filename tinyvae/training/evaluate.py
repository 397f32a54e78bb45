"""How good is a trained model? The test loss (negative ELBO) and the importance-weighted bound.

For one image x with encoder q(z|x) = N(mu, diag σ²), prior p(z) = N(0, I) and decoder p(x|z):

**Negative ELBO** (what training minimizes, with β = 1), one sample z = mu + σ·eps per image::

    -ELBO(x) = -log p(x|z)  +  KL(q(z|x) ‖ p(z))
    KL       = -½ Σ_j (1 + logvar_j - mu_j² - e^logvar_j)          (closed form, as PyTorch's example)

**IWAE bound** with K samples z_k = mu + σ·eps_k (Burda et al., 2016)::

    log w_k   = log p(x|z_k) + log p(z_k) - log q(z_k|x)
              = log p(x|z_k) - ½ Σ_j z_kj²  + ½ Σ_j (eps_kj² + logvar_j)      (the log 2π terms cancel)
    IWAE_K(x) := -( logsumexp_k log w_k - log K )          E[IWAE_K(x)] ≥ -log p(x)

computed with logsumexp so no weight under- or overflows. E[IWAE_K] ≥ E[IWAE_{K+1}] ≥ -log p(x): a
stochastic upper bound, whose single estimate can fall below -log p(x) (log w_k - log p(x) is
log p(z_k|x) - log q(z_k|x), positive wherever the posterior's density exceeds q's). IWAE_1 is the
one-sample ELBO with the KL estimated from the same sample instead of in closed form.

The likelihood p(x|z) follows the model's loss:

- ``bce``: Bernoulli, log p(x|z) = Σ_d [x_d l_d - softplus(l_d)] with l the decoder's logits
  (x in [0, 1]). On 0/1 pixels it is a probability, and the figures bound -log P(x). On a grey pixel
  it is the usual cross-entropy; read as a density on [0, 1] it integrates to at most ½, so the
  figures bound -log of a sub-normalised model only, loosely (by at least D·ln 2 nats, 543 for
  D = 784) and not comparably with binarized figures: train with binarize="dynamic").
- ``mse``: Gaussian with variance ½ per pixel, the density for which Σ (x - x̂)² is the negative
  log-likelihood up to a constant: log p(x|z) = -Σ_d (x_d - x̂_d)² - (D/2) log π. The bounds reported
  here include the constant ((D/2) log π ≈ 448.7 nats for D = 784); the training loss omits it.

All quantities are nats per image, averaged over the images. Everything goes through the model's own
forward (``loss_terms``, ``encode``, ``decode_logits``) and the per-example losses of ``engine/losses.py``;
batches of images, and for large K chunks of samples, keep the memory bounded whatever K is.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.backend import Array, namespace
from ..engine.reparam import draw_eps
from ..models.base import Loss, Model
from ..models.loss_names import gaussian_constant, loss_labels  # noqa: F401  (loss_labels: read here by callers of evaluate)
from ..models.memory import chunk_rows, chunks
from ..models.ranges import ParameterError, Range, show
from .diagnostics import ACTIVE_THRESHOLD, active_units, collapsed, latent_diagnostics  # noqa: F401  (read here by callers)

ROWS_PER_CHUNK = 16384  # decoder rows (images × samples) evaluated at once by the IWAE bound, at most
IWAE_K = Range(int, 1, 100_000)  # samples per image: the estimate's time grows with K × images


def check_k(k: Any) -> int:
    """``k``, the IWAE's samples per image, as an int if it is in :data:`IWAE_K`; else :class:`ParameterError`."""
    if not IWAE_K.holds(k):
        raise ParameterError("k", f"k must be {IWAE_K.describe()} IWAE samples per image, got {show(k)}: the "
                                  f"estimate decodes k samples of every image (the IWAE paper's largest k is 5,000)")
    return int(k)


def _labels(y: Any, start: int, stop: int) -> Any:
    return None if y is None else y[start:stop]


def _gaussian_constant(model: Model, d: int) -> float:
    """(D/2) log π for the mse loss's Gaussian likelihood with variance ½, 0 for the Bernoulli one."""
    return gaussian_constant(d) if model.recon_loss == "mse" else 0.0


def eval_loss(
    model: Model,
    x: Array,
    y: Any = None,
    *,
    rng: np.random.Generator,
    batch_size: int = 1000,
) -> Loss:
    """The training objective on (x, y), per image: recon + β·KL with one z per image (no gradients).

    Images go through in chunks of at most ``batch_size``, fewer where ``memory.chunk_rows`` says that
    many would not fit its budget (as for the convolutional model: 345 images in float32).

    x: (N, D) in the model's namespace and dtype; y: (N,) labels or None (``model.labels_for`` decides
    whether the model gets them). For the VAE with β = 1 and the bce loss this is the negative ELBO
    that PyTorch's example reports as its test loss. The AE reports its reconstruction loss (kl = 0).
    """
    y, n = model.labels_for(y), x.shape[0]
    recon_sum = kl_sum = 0.0
    for rows in chunks(model, n, batch_size):
        recon, kl = model.loss_terms(x[rows], _labels(y, rows.start, rows.stop), rng=rng)
        xp = namespace(recon)
        recon_sum += float(xp.sum(recon))
        kl_sum += float(xp.sum(kl))
    recon, kl = recon_sum / n, kl_sum / n
    return Loss(recon + model.beta * kl, recon, kl)


def log_weights(model: Model, x: Array, y: Any = None, *, eps: Array) -> Array:
    """log w (n, K) for images x (n, D) and noise eps (n, K, Z); see the module docstring.

    Includes the Gaussian constant for the mse loss, so it estimates log p(x) in either case.
    """
    xp = namespace(x)
    n, k, zdim = eps.shape
    y = model.labels_for(y)
    mu, logvar = model.encode(x, y)
    z = mu[:, None, :] + xp.exp(0.5 * logvar)[:, None, :] * eps  # (n, K, Z)
    x_rep = xp.reshape(xp.broadcast_to(x[:, None, :], (n, k, x.shape[1])), (n * k, x.shape[1]))
    y_rep = None if y is None else np.repeat(backend.to_numpy(y), k)
    logits = model.decode_logits(xp.reshape(z, (n * k, zdim)), y_rep)
    ll = -model.reconstruction_per_example(logits, x_rep) - _gaussian_constant(model, x.shape[1])
    log_p_z = -0.5 * xp.sum(z * z, axis=2)  # (n, K), without -½ Z log 2π
    log_q_z = -0.5 * xp.sum(eps * eps + logvar[:, None, :], axis=2)  # (n, K), the same constant dropped
    return xp.reshape(ll, (n, k)) + log_p_z - log_q_z


def logsumexp(a: Array, axis: int = -1) -> Array:
    """log Σ exp(a) along ``axis``, shifted by the maximum so that nothing overflows."""
    xp = namespace(a)
    m = xp.max(a, axis=axis, keepdims=True)
    return xp.squeeze(m, axis=axis) + xp.log(xp.sum(xp.exp(a - m), axis=axis))


def _iwae_one_image_streamed(model: Model, x: Array, y: Any, k: int, rng: np.random.Generator, bar: Any) -> float:
    """logsumexp_k log w_k - log K for one image (1, D), K samples in chunks of ``chunk_rows`` (model, ROWS_PER_CHUNK).

    Keeps a running maximum m and Σ exp(log w - m), so memory is one chunk whatever K is; the noise is
    drawn chunk after chunk, the same numbers one (1, K, Z) draw would give.
    """
    m, total, done, rows = -math.inf, 0.0, 0, chunk_rows(model, ROWS_PER_CHUNK)
    while done < k:
        kc = min(rows, k - done)
        lw = backend.to_numpy(log_weights(model, x, y, eps=draw_eps(rng, (1, kc, model.z_dim), model.ref)))[0]
        m_new = max(m, float(lw.max()))
        total = total * math.exp(m - m_new) + float(np.sum(np.exp(lw - m_new)))
        m, done = m_new, done + kc
        _advance(bar, kc)
    return m + math.log(total) - math.log(k)


def iwae_bound(
    model: Model,
    x: Array,
    y: Any = None,
    *,
    k: int,
    rng: np.random.Generator,
    progress: bool | None = None,
) -> float:
    """The IWAE estimate of -log p(x) with ``k`` samples, nats per image averaged over x (N, D): a bound
    on it only where the likelihood is a density of the data (see :func:`evaluate`).

    At most ``chunk_rows(model, ROWS_PER_CHUNK)`` decoder rows are held at once (16,192 for the default
    MLP in float32, 345 for the convolutional model in float32; ``models/memory.py``): several images
    with all their samples when k is small, one image and a chunk of its samples at a time when k is large.
    ``progress``: a tqdm bar over the N·K samples (None: only when stderr is a terminal, as ``fit``'s).
    """
    if not model.has_posterior:
        raise ValueError("the IWAE bound needs an encoder distribution q(z|x); a plain autoencoder has none")
    k, y = check_k(k), model.labels_for(y)
    n, total, rows = x.shape[0], 0.0, chunk_rows(model, ROWS_PER_CHUNK)
    bar = _bar(n * k, progress, f"IWAE, K = {k:,}")
    try:
        if k > rows:
            for i in range(n):
                total -= _iwae_one_image_streamed(model, x[i : i + 1], _labels(y, i, i + 1), k, rng, bar)
            return total / n
        step = rows // k
        for s in range(0, n, step):
            xb, yb = x[s : s + step], _labels(y, s, s + step)
            xp = namespace(xb)
            lw = log_weights(model, xb, yb, eps=draw_eps(rng, (xb.shape[0], k, model.z_dim), model.ref))
            total += -float(xp.sum(logsumexp(lw, axis=1) - math.log(k)))
            _advance(bar, xb.shape[0] * k)
        return total / n
    finally:
        if bar is not None:
            bar.close()


def _bar(total: int, show: bool | None, desc: str) -> Any:
    """A tqdm bar over ``total`` samples, or None (``show`` None: only when stderr is a terminal)."""
    if not (sys.stderr.isatty() if show is None else show):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, leave=False)


def _advance(bar: Any, n: int) -> None:
    if bar is not None:
        bar.update(n)


def evaluate(model: Model, x: Array, y: Any = None, *, k: int = 100, seed: int = 0, batch_size: int = 1000,
             progress: bool | None = None) -> dict:
    """A report (JSON-able dict) of the test loss terms and, for models with q(z|x), the IWAE bound.

    ``neg_elbo``: recon + KL (β = 1, closed-form KL, one z per image, the Gaussian constant included
    for mse); ``iwae``: the K-sample estimate. Both in nats per image; lower is better.

    They are stochastic upper bounds (in expectation) on -log p(x) (-log p(x | y) for a conditional
    model; ``bound_on`` says which) where the likelihood is a normalised distribution of the data:
    always for mse (a Gaussian density), and for bce when every pixel is 0 or 1 (a probability).
    ``grey_pixels`` is the share of pixels strictly between 0 and 1; where it is not 0, a Bernoulli
    "likelihood", read as a density on [0, 1], integrates to at most ½ per pixel, so the figures bound
    -log of a sub-normalised model only (loosely, by at least ln 2 nats per pixel, and not comparably
    with binarized figures): ``bound_on`` is None.
    ``active_units``: see :func:`active_units`. ``progress``: the IWAE's bar (see :func:`iwae_bound`).
    ``kl_per_dim`` (models with q(z|x)): each latent dimension's KL averaged over the images, and
    ``collapsed``: whether they sum to under log 2 nats (``diagnostics.collapsed``, whose docstring gives
    the rule and its reason).
    """
    check_k(k)  # before the first pass over the images
    x = model.asarray(x)
    loss = eval_loss(model, x, y, rng=np.random.default_rng(seed), batch_size=batch_size)
    report: dict[str, Any] = {"images": int(x.shape[0]), "model": model.config().get("model"),
                              "loss": model.recon_loss}
    host = backend.to_numpy(x)
    grey = float(np.mean((host > 0) & (host < 1)))
    report.update(grey_pixels=grey, active_units=active_units(model, x, y))
    if not model.has_posterior:
        report.update(recon=loss.recon)
        return _finite(report)
    is_density = model.recon_loss == "mse" or grey == 0.0
    report["bound_on"] = None if not is_density else ("-log p(x | y)" if model.conditional else "-log p(x)")
    const = _gaussian_constant(model, x.shape[1])
    kl_dims = latent_diagnostics(model, x, y, batch_size=batch_size)["kl_per_dim"]
    report.update(
        kl_per_dim=kl_dims, collapsed=collapsed(kl_dims),
        recon=loss.recon + const, kl=loss.kl, neg_elbo=loss.recon + loss.kl + const,
        iwae_k=int(k), iwae=iwae_bound(model, x, y, k=k, rng=np.random.default_rng(seed + 1), progress=progress),
        likelihood="bernoulli" if model.recon_loss == "bce" else "gaussian, variance 1/2",
    )
    return _finite(report)


def _finite(report: dict[str, Any]) -> dict[str, Any]:
    """``report``, refused with a ValueError if a figure in it is NaN or inf (weights so large that the
    model's arithmetic overflows): a report never prints a non-finite number, nor invalid JSON."""
    bad = [k for k in ("recon", "kl", "neg_elbo", "iwae") if k in report and not math.isfinite(report[k])]
    if bad:
        raise ValueError(f"the model's {bad[0]} on these images is {report[bad[0]]} (not a finite number): its "
                         f"weights are so large that the arithmetic overflows; retrain it (with a lower learning "
                         f"rate)")
    return report
