# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · The ELBO: why the loss is reconstruction + KL
#
# A VAE is a model of how an image could be made: draw a code z from the prior p(z) = N(0, I), then draw x
# from the decoder's distribution p(x|z). Training should make the evidence p(x) = ∫ p(x|z) p(z) dz of the
# training images large; for a decoder made of layers that integral has no closed form. The loss tinyvae
# minimises, reconstruction + KL, is −ELBO, a lower bound on log p(x), and
#
#     log p(x) = ELBO + KL(q(z|x) ‖ p(z|x)).
#
# On a model with one latent number and four binary pixels the integral can be computed exactly
# (Gauss–Hermite quadrature), so every part of that identity can be checked. Here we check it, the same
# bound by Jensen's inequality, the split of the ELBO into reconstruction and KL, and which decoder each
# reconstruction loss assumes.
#
# Library: `tinyvae/engine/losses.py` (`bce_with_logits_per_example`, `mse_per_example`,
# `kl_divergence_per_example`). Walkthrough, with the derivation step by step: `walkthroughs/04_elbo.md`.
# The closed-form KL and the sampling z = mu + σ · eps are those of `walkthroughs/03_reparameterization_and_kl.md`.

# %%
import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from tinyvae.engine.losses import bce_with_logits_per_example, kl_divergence_per_example, mse_per_example

x4 = np.array([1.0, 0.0, 1.0, 1.0])
w4, b4 = np.array([2.0, -1.5, 1.0, 0.5]), np.array([0.0, 0.5, -0.5, 1.0])


def log_p_x_given_z(z):
    """log p(x|z) of the Bernoulli decoder σ(w z + b), for each z: minus the BCE."""
    logits = np.outer(z, w4) + b4
    return -bce_with_logits_per_example(logits, np.broadcast_to(x4, logits.shape))


def log_normal(z, mean, std):
    return -0.5 * np.log(2 * np.pi * std**2) - (z - mean) ** 2 / (2 * std**2)


nodes, gh_weights = hermegauss(160)
gh_weights = gh_weights / np.sqrt(2 * np.pi)


def expect(f, m=0.0, s=1.0):
    """E[f(z)] for z ~ N(m, s²), by quadrature."""
    return float(np.sum(gh_weights * f(m + s * nodes)))


# %% [markdown]
# ## 1. The evidence, exactly, and the identity
#
# An encoder's answer for this x: q(z|x) = N(0.8, 0.6²). The ELBO and the KL to the exact posterior
# p(z|x) = p(x|z) p(z) / p(x) are computed independently; they add up to log p(x).

# %%
p_x = expect(lambda z: np.exp(log_p_x_given_z(z)))  # the evidence, exactly
n200, w200 = hermegauss(200)
assert abs(np.sum(w200 / np.sqrt(2 * np.pi) * np.exp(log_p_x_given_z(n200))) - p_x) < 1e-15  # converged

m_q, s_q = 0.8, 0.6
log_post = lambda z: log_p_x_given_z(z) + log_normal(z, 0.0, 1.0) - np.log(p_x)  # noqa: E731
log_u = lambda z: log_p_x_given_z(z) + log_normal(z, 0.0, 1.0) - log_normal(z, m_q, s_q)  # noqa: E731
elbo = expect(log_u, m_q, s_q)
kl_post = expect(lambda z: log_normal(z, m_q, s_q) - log_post(z), m_q, s_q)
print(f"log p(x) = {np.log(p_x):.6f}  ELBO = {elbo:.6f}  KL(q ‖ p(z|x)) = {kl_post:.6f}")
assert abs(np.log(p_x) - (elbo + kl_post)) < 1e-12 and elbo < np.log(p_x) and kl_post > 0

# %% [markdown]
# ## 2. The same bound by Jensen
#
# With u(z) = p(x, z) / q(z|x), the evidence is an average under q, p(x) = E_q[u]. The logarithm is
# concave, so log E_q[u] ≥ E_q[log u] = ELBO.

# %%
log_mean_u = np.log(expect(lambda z: np.exp(log_u(z)), m_q, s_q))
print(f"log E_q[u] = {log_mean_u:.6f}   E_q[log u] = {elbo:.6f}")
assert abs(log_mean_u - np.log(p_x)) < 1e-12 and log_mean_u > elbo

# %% [markdown]
# ## 3. Reconstruction and KL
#
# ELBO = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)): the expected BCE is the reconstruction term, and the KL to the
# prior has the closed form the library computes. −ELBO is tinyvae's loss.

# %%
recon = -expect(log_p_x_given_z, m_q, s_q)
kl_prior = float(kl_divergence_per_example(np.array([[m_q]]), np.array([[np.log(s_q**2)]]))[0])
print(f"recon = {recon:.6f}  KL = {kl_prior:.6f}  recon + KL = {recon + kl_prior:.6f}  -ELBO = {-elbo:.6f}")
assert abs((recon + kl_prior) + elbo) < 1e-12

# %% [markdown]
# ## 4. Which decoder a reconstruction loss assumes
#
# Binary cross-entropy is minus the log-likelihood of a Bernoulli decoder; summed squared error is minus the
# log-likelihood of a Gaussian decoder of variance ½, less the constant (D/2) log π.

# %%
logits = (w4 * 0.3 + b4)[None, :]
x_hat = 1 / (1 + np.exp(-logits))
bernoulli = float(np.sum(x4 * np.log(x_hat) + (1 - x4) * np.log(1 - x_hat)))
print(f"log Bernoulli(x; x_hat) = {bernoulli:.9f}   -BCE = {-bce_with_logits_per_example(logits, x4[None, :])[0]:.9f}")
assert abs(bernoulli + bce_with_logits_per_example(logits, x4[None, :])[0]) < 1e-12

rng = np.random.default_rng(0)
D, v = 784, 0.5
pixels, decoded = rng.uniform(0, 1, (1, D)), rng.uniform(0, 1, (1, D))
gaussian_nll = float(np.sum((pixels - decoded) ** 2 / (2 * v) + 0.5 * np.log(2 * np.pi * v)))
sse = float(mse_per_example(decoded, pixels)[0])
print(f"-log N(x; x_hat, 1/2) = {gaussian_nll:.6f}   SSE + (D/2) log π = {sse + D / 2 * np.log(np.pi):.6f}")
assert abs(gaussian_nll - (sse + D / 2 * np.log(np.pi))) < 1e-9

# %% [markdown]
# ## 5. The best Gaussian q still leaves a gap
#
# Moving q to the true posterior's mean and standard deviation shrinks the gap log p(x) − ELBO, but not to
# zero: this posterior is not Gaussian, and a Gaussian q cannot match it.

# %%
post_mean = expect(lambda z: z * np.exp(log_post(z) - log_normal(z, 0.0, 1.0)))
post_var = expect(lambda z: z * z * np.exp(log_post(z) - log_normal(z, 0.0, 1.0))) - post_mean**2
m_best, s_best = post_mean, np.sqrt(post_var)
gap_best = np.log(p_x) - expect(lambda z: log_p_x_given_z(z) + log_normal(z, 0.0, 1.0) - log_normal(z, m_best, s_best),
                                m_best, s_best)
print(f"gap at q = N(0.8, 0.6²): {np.log(p_x) - elbo:.6f} nats; at the posterior's mean and std: {gap_best:.6f} nats")
assert 0 < gap_best < np.log(p_x) - elbo
