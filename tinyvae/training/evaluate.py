"""How good is a trained model? The test loss (negative ELBO) and the importance-weighted bound.

For one image x with encoder q(z|x) = N(mu, diag σ²), prior p(z) = N(0, I) and decoder p(x|z):

**Negative ELBO** (what training minimizes, with β = 1), one sample z = mu + σ·eps per image::

    -ELBO(x) = -log p(x|z)  +  KL(q(z|x) ‖ p(z))
    KL       = -½ Σ_j (1 + logvar_j - mu_j² - e^logvar_j)          (closed form, as PyTorch's example)

**IWAE bound** with K samples z_k = mu + σ·eps_k (Burda et al., 2016)::

    log w_k   = log p(x|z_k) + log p(z_k) - log q(z_k|x)
              = log p(x|z_k) - ½ Σ_j z_kj²  + ½ Σ_j (eps_kj² + logvar_j)      (the log 2π terms cancel)
    -log p(x) ≤ -( logsumexp_k log w_k - log K )  =: IWAE_K(x)

computed with logsumexp so no weight under- or overflows. E[IWAE_K] ≥ E[IWAE_{K+1}] ≥ -log p(x), and
IWAE_1 is the one-sample ELBO with the KL estimated from the same sample instead of in closed form.

The likelihood p(x|z) follows the model's loss:

- ``bce``: Bernoulli, log p(x|z) = Σ_d [x_d l_d - softplus(l_d)] with l the decoder's logits
  (x in [0, 1]; for grey pixels this is the usual cross-entropy, not a normalized density).
- ``mse``: Gaussian with variance ½ per pixel, the density for which Σ (x - x̂)² is the negative
  log-likelihood up to a constant: log p(x|z) = -Σ_d (x_d - x̂_d)² - (D/2) log π. The bounds reported
  here include the constant ((D/2) log π ≈ 448.7 nats for D = 784); the training loss omits it.

All quantities are nats per image, averaged over the images; batches keep the memory bounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.backend import Array, namespace
from ..models.base import Loss, Model

ROWS_PER_CHUNK = 16384  # decoder rows (images × samples) evaluated at once by the IWAE bound


def has_posterior(model: Model) -> bool:
    """True for models with an encoder distribution q(z|x) (VAE, CVAE), False for the plain AE."""
    return model.config().get("model") in ("vae", "cvae")


def _args(model: Model, y: Any) -> tuple:
    return (y,) if getattr(model, "conditional", False) else ()


def _encode(model: Model, x: Array, y: Any) -> tuple[Array, Array]:
    return model.encode(x, *_args(model, y))  # type: ignore[attr-defined]


def _log_likelihood(model: Model, z: Array, x: Array, y: Any) -> tuple[Array, Array]:
    """(log p(x|z) per row (n,), the same without the Gaussian constant) for z (n, Z), x (n, D)."""
    xp = namespace(z)
    if model.loss == "bce":  # type: ignore[attr-defined]
        logits = decoder_logits(model, z, y)
        if logits is not None:  # exact: x·l - softplus(l)
            ll = xp.sum(x * logits - xp.logaddexp(0.0, logits), axis=1)
        else:  # from probabilities, each log clamped at -100 as torch's binary_cross_entropy does
            x_hat = model.decode(z, *_args(model, y))  # type: ignore[attr-defined]
            tiny = 3.7e-44
            log_p = xp.maximum(xp.log(xp.maximum(x_hat, tiny)), -100.0)
            log_1mp = xp.maximum(xp.log(xp.maximum(1 - x_hat, tiny)), -100.0)
            ll = xp.sum(x * log_p + (1 - x) * log_1mp, axis=1)
        return ll, ll
    x_hat = model.decode(z, *_args(model, y))  # type: ignore[attr-defined]
    sq = -xp.sum((x - x_hat) ** 2, axis=1)
    return sq - 0.5 * x.shape[1] * math.log(math.pi), sq


def decoder_logits(model: Model, z: Array, y: Any = None) -> Array | None:
    """The decoder's output before the sigmoid, for z (n, Z); None where the model does not expose it.

    Uses ``model.decode_logits`` when the model defines one; for tinyvae's VAE (MLP or conv) and CVAE
    it runs their ``decoder`` (the CVAE's on [z, onehot(y)]), whose output the sigmoid turns into x_hat.
    """
    fn = getattr(model, "decode_logits", None)
    if fn is not None:
        return fn(z, *_args(model, y))
    from ..models.vae import VAE

    if isinstance(model, VAE) and type(model).decode is VAE.decode:  # decode = sigmoid(decoder(z))
        return model.decoder.forward(z)
    try:
        from ..models.cvae import CVAE
    except ImportError:  # pragma: no cover - the CVAE lives in its own module
        return None
    if type(model) is CVAE:
        c = model.onehot(y, z.shape[0])
        return model.decoder.forward(namespace(z).concat((z, c), axis=1))
    return None


def _draw(rng: np.random.Generator, shape: tuple, like: Array) -> Array:
    host = np.float32 if "32" in str(like.dtype) else np.float64
    return backend.asarray_like(rng.standard_normal(shape, dtype=host), like)


def _labels(y: Any, start: int, stop: int) -> Any:
    return None if y is None else y[start:stop]


def eval_loss(
    model: Model,
    x: Array,
    y: Any = None,
    *,
    rng: np.random.Generator,
    batch_size: int = 1000,
) -> Loss:
    """The training objective on (x, y), per image: recon + β·KL with one z per image (no gradients).

    x: (N, D) in the model's namespace and dtype; y: (N,) labels (conditional models) or None.
    For the VAE with β = 1 and the bce loss this is the negative ELBO that PyTorch's example reports
    as its test loss. Models without q(z|x) (the AE) report their reconstruction loss.
    """
    n = x.shape[0]
    if not has_posterior(model):  # no forward-only path is part of the interface: use the loss itself
        sums = np.zeros(3)
        for s in range(0, n, batch_size):
            xb = x[s : s + batch_size]
            loss = model.loss_and_grads(xb, *_args(model, _labels(y, s, s + batch_size)), rng=rng)
            sums += np.array(loss) * xb.shape[0]
        return Loss(*(sums / n).tolist())
    beta = float(model.config().get("beta", 1.0))
    recon_sum = kl_sum = 0.0
    for s in range(0, n, batch_size):
        xb, yb = x[s : s + batch_size], _labels(y, s, s + batch_size)
        xp = namespace(xb)
        mu, logvar = _encode(model, xb, yb)
        z = mu + xp.exp(0.5 * logvar) * _draw(rng, tuple(mu.shape), mu)
        _, ll = _log_likelihood(model, z, xb, yb)
        recon_sum += -float(xp.sum(ll))
        kl_sum += -0.5 * float(xp.sum(1 + logvar - mu * mu - xp.exp(logvar)))
    recon, kl = recon_sum / n, kl_sum / n
    return Loss(recon + beta * kl, recon, kl)


def log_weights(model: Model, x: Array, y: Any = None, *, eps: Array) -> Array:
    """log w (n, K) for images x (n, D) and noise eps (n, K, Z); see the module docstring.

    Includes the Gaussian constant for the mse loss, so it estimates log p(x) in either case.
    """
    xp = namespace(x)
    n, k, zdim = eps.shape
    mu, logvar = _encode(model, x, y)
    std = xp.exp(0.5 * logvar)
    z = mu[:, None, :] + std[:, None, :] * eps  # (n, K, Z)
    x_rep = xp.reshape(xp.broadcast_to(x[:, None, :], (n, k, x.shape[1])), (n * k, x.shape[1]))
    y_rep = None if y is None else np.repeat(backend.to_numpy(y), k)
    ll, _ = _log_likelihood(model, xp.reshape(z, (n * k, zdim)), x_rep, y_rep)
    log_p_z = -0.5 * xp.sum(z * z, axis=2)  # (n, K), without -½ Z log 2π
    log_q_z = -0.5 * xp.sum(eps * eps + logvar[:, None, :], axis=2)  # (n, K), the same constant dropped
    return xp.reshape(ll, (n, k)) + log_p_z - log_q_z


def logsumexp(a: Array, axis: int = -1) -> Array:
    """log Σ exp(a) along ``axis``, shifted by the maximum so that nothing overflows."""
    xp = namespace(a)
    m = xp.max(a, axis=axis, keepdims=True)
    return xp.squeeze(m, axis=axis) + xp.log(xp.sum(xp.exp(a - m), axis=axis))


def iwae_bound(
    model: Model,
    x: Array,
    y: Any = None,
    *,
    k: int,
    rng: np.random.Generator,
) -> float:
    """The IWAE bound on -log p(x) with ``k`` samples, nats per image averaged over x (N, D)."""
    if not has_posterior(model):
        raise ValueError("the IWAE bound needs an encoder distribution q(z|x); a plain autoencoder has none")
    if int(k) < 1:
        raise ValueError(f"the IWAE bound needs k >= 1 samples, got {k}")
    k = int(k)
    zdim = int(model.config()["z_dim"])
    n, total = x.shape[0], 0.0
    step = max(1, ROWS_PER_CHUNK // k)
    for s in range(0, n, step):
        xb, yb = x[s : s + step], _labels(y, s, s + step)
        xp = namespace(xb)
        lw = log_weights(model, xb, yb, eps=_draw(rng, (xb.shape[0], k, zdim), xb))
        total += -float(xp.sum(logsumexp(lw, axis=1) - math.log(k)))
    return total / n


def evaluate(model: Model, x: Array, y: Any = None, *, k: int = 100, seed: int = 0, batch_size: int = 1000) -> dict:
    """A report (JSON-able dict) of the test loss terms and, for models with q(z|x), the IWAE bound.

    ``neg_elbo``: recon + KL (β = 1, closed-form KL, one z per image, the Gaussian constant included
    for mse); ``iwae``: the K-sample bound. Both in nats per image; lower is better; both ≥ -log p(x).
    """
    x = backend.asarray_like(backend.to_numpy(x), next(iter(model.params.values())))
    loss = eval_loss(model, x, y, rng=np.random.default_rng(seed), batch_size=batch_size)
    report: dict[str, Any] = {"images": int(x.shape[0]), "model": model.config().get("model"),
                              "loss": model.config().get("loss")}
    if not has_posterior(model):
        report.update(recon=loss.recon)
        return report
    const = 0.5 * x.shape[1] * math.log(math.pi) if model.loss == "mse" else 0.0  # type: ignore[attr-defined]
    report.update(
        recon=loss.recon + const, kl=loss.kl, neg_elbo=loss.recon + loss.kl + const,
        iwae_k=int(k), iwae=iwae_bound(model, x, y, k=k, rng=np.random.default_rng(seed + 1)),
        likelihood="bernoulli" if model.loss == "bce" else "gaussian, variance 1/2",  # type: ignore[attr-defined]
    )
    return report
