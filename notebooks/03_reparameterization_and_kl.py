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
# # 03 · The reparameterization trick and the KL term
#
# The encoder gives, for each input, a mean `mu` and a log-variance `logvar` = log σ² (always
# log σ², never σ). The VAE then needs two things from them:
#
# 1. a sample `z ~ N(mu, σ²)` for the decoder, with a gradient that reaches back to `mu` and
#    `logvar`;
# 2. the KL divergence between `N(mu, σ²)` and the prior `N(0, I)`, with its gradient.
#
# Library: `tinyvae/engine/reparam.py` (`Reparameterize`) and `tinyvae/engine/losses.py` (`kl_divergence`).
# Walkthrough: `walkthroughs/03_reparameterization_and_kl.md`; the ELBO that follows from them, `04_elbo`.

# %%
import numpy as np

from tinyvae import Reparameterize, gradcheck, kl_divergence
from tinyvae.engine.gradcheck import numerical_gradient, rel_error

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(2024)

# %% [markdown]
# ## 1. Why a sample drawn directly has no gradient
#
# Take a toy loss on the sample, `L(z) = Σ (z − t)²` for a fixed target `t`, and ask how L changes
# when `mu` moves a little. Inside NumPy, `rng.normal(mu, σ)` is `mu + σ · (a standard normal
# number)`: with its noise held fixed it would be a smooth function of `mu`. But the sampler draws
# **fresh noise on every call**, so each evaluation of L sees a new `z`, and a finite difference
# `(L(mu + h) − L(mu − h)) / 2h` divides the difference of two unrelated draws by a tiny `2h`: the
# answer is noise of size about 1/h. And the sampler hands back only a number, not the noise it
# used, so the backward pass has no path from `z` to `mu` to follow.

# %%
mu = np.array([[0.5, -1.0]])
logvar = np.array([[0.2, -0.4]])
t = np.array([[1.0, 0.0]])
std = np.exp(0.5 * logvar)


def loss(z):
    return float(np.sum((z - t) ** 2))


def loss_sampled(mu):
    return loss(rng.normal(mu, std))  # a fresh draw on every call


h = 1e-4
estimates = []
for _ in range(5):
    mu_plus, mu_minus = mu.copy(), mu.copy()
    mu_plus[0, 0] += h
    mu_minus[0, 0] -= h
    estimates.append((loss_sampled(mu_plus) - loss_sampled(mu_minus)) / (2 * h))
estimates = np.array(estimates)
print(f"5 finite-difference 'gradients' of L with respect to mu[0, 0]: from {estimates.min():.0f} to {estimates.max():.0f}")
assert estimates.max() - estimates.min() > 1000

# %% [markdown]
# ## 2. The trick: move the randomness out of the way
#
# Draw the noise first, `eps ~ N(0, I)`, *outside* the computation, and build the sample from it:
#
#     std = exp(0.5 · logvar)
#     z   = mu + std · eps
#
# `z` has the same distribution, `N(mu, σ²)`, but now it is an ordinary function of `mu` and
# `logvar` with `eps` a constant, and the chain rule applies. With `dz` = ∂L/∂z:
#
# - ∂z/∂mu = 1, so **`dmu = dz`**;
# - ∂std/∂logvar = ∂ exp(logvar/2)/∂logvar = exp(logvar/2)/2 = std/2, so ∂z/∂logvar = eps · std/2
#   and **`dlogvar = dz · eps · std / 2`**.
#
# Build it yourself, then compare with `tinyvae.Reparameterize`.

# %%
eps = rng.standard_normal(mu.shape)
z = mu + std * eps
dz = 2 * (z - t)  # ∂L/∂z for L = Σ (z − t)²
dmu = dz
dlogvar = dz * eps * std / 2

node = Reparameterize()
z_lib = node.forward(mu, logvar, eps=eps)
dmu_lib, dlogvar_lib = node.backward(dz)
assert np.allclose(z, z_lib) and np.allclose(dmu, dmu_lib) and np.allclose(dlogvar, dlogvar_lib)
print("z =", z, "  dmu =", dmu, "  dlogvar =", dlogvar)

# %% [markdown]
# With `eps` held fixed, the finite difference now has something to measure, and it agrees with the
# formulas. (`numerical_gradient(f, a)` nudges each entry of `a` in place by ±h and re-evaluates
# `f`.)

# %%
mu_, logvar_ = mu.copy(), logvar.copy()


def loss_reparam():
    return loss(mu_ + np.exp(0.5 * logvar_) * eps)  # the same eps every time


err_mu = rel_error(dmu, numerical_gradient(loss_reparam, mu_))
err_logvar = rel_error(dlogvar, numerical_gradient(loss_reparam, logvar_))
print(f"relative error: dmu {err_mu:.1e}, dlogvar {err_logvar:.1e}")
assert err_mu < 1e-8 and err_logvar < 1e-8

# %% [markdown]
# ### One noisy gradient, right on average
#
# Each `eps` gives a different gradient, but their average is the gradient of the *expected* loss,
# which is what training wants. For this toy loss the expectation has a closed form:
# `E[L] = Σ ((mu − t)² + σ²)`, so ∂E[L]/∂mu = 2(mu − t) and ∂E[L]/∂logvar = σ² (because
# σ² = e^logvar). Averaging the reparameterized gradient over 100,000 draws of `eps` lands within
# a few standard errors of both.

# %%
n = 100_000
eps_many = rng.standard_normal((n, 2))
z_many = mu + std * eps_many
dz_many = 2 * (z_many - t)
dmu_many, dlogvar_many = dz_many, dz_many * eps_many * std / 2
exact_dmu, exact_dlogvar = 2 * (mu - t), std**2
for name, g, exact in [("dmu", dmu_many, exact_dmu), ("dlogvar", dlogvar_many, exact_dlogvar)]:
    mean, se = g.mean(axis=0), g.std(axis=0) / np.sqrt(n)
    print(f"{name}: average over eps {mean}, exact {exact[0]}, standard error {se}")
    assert np.all(np.abs(mean - exact[0]) < 4 * se)

# %% [markdown]
# ## 3. The KL divergence between two Gaussians, in closed form
#
# For one latent dimension, with `q = N(μ, σ²)` (the encoder's) and `p = N(0, 1)` (the prior):
#
#     KL(q ‖ p) = E_q[ log q(z) − log p(z) ]
#     log q(z)  = −½ log 2π − ½ log σ² − (z − μ)² / (2σ²)
#     log p(z)  = −½ log 2π − z² / 2
#
# The `log 2π` terms cancel. Under q, `E[(z − μ)²] = σ²` and `E[z²] = μ² + σ²`, so
#
#     KL = −½ log σ² − ½ + ½ (μ² + σ²)  =  −½ (1 + log σ² − μ² − σ²).
#
# The dimensions of a diagonal Gaussian are independent, so the KL of the whole latent vector is
# the sum over dimensions:
#
#     KL = −½ Σ_j (1 + logvar_j − mu_j² − e^logvar_j)
#
# **The minus sign matters.** `log u ≤ u − 1` for every u > 0, so `1 + log σ² − σ² ≤ 0`, and
# subtracting μ² only makes the bracket more negative: the sum is never positive, and the KL,
# which can never be negative, is minus one half of it. It is 0 only at μ = 0, σ = 1, where q is
# the prior.

# %%
mu = np.array([[0.3, -1.2, 0.8]])
logvar = np.array([[-0.5, 0.4, 0.0]])

bracket = np.sum(1 + logvar - mu**2 - np.exp(logvar))
kl_by_hand = -0.5 * bracket
kl, dmu_kl, dlogvar_kl = kl_divergence(mu, logvar)
print(f"Σ(1 + logvar − mu² − σ²) = {bracket:.6f}   KL = −½ Σ(...) = {kl_by_hand:.6f}   library: {float(kl):.6f}")
assert bracket < 0 and kl_by_hand > 0 and np.isclose(kl_by_hand, float(kl), rtol=1e-14)

kl0 = float(kl_divergence(np.zeros((1, 3)), np.zeros((1, 3)))[0])
print("KL is zero at mu = 0, logvar = 0 (q is the prior):", kl0 == 0.0)
assert kl0 == 0.0

# %% [markdown]
# ### Checked against a Monte-Carlo estimate
#
# The definition `KL = E_q[log q(z) − log p(z)]` can be estimated directly: draw many `z` from q
# and average. With `z = mu + std · eps`, `log q(z) − log p(z) = −½ logvar − ½ eps² + ½ z²`,
# summed over dimensions. The estimate should land within a few standard errors of the closed form.

# %%
n = 1_000_000
std = np.exp(0.5 * logvar)
eps_mc = rng.standard_normal((n, 3))
z_mc = mu + std * eps_mc
log_ratio = np.sum(-0.5 * logvar - 0.5 * eps_mc**2 + 0.5 * z_mc**2, axis=1)
kl_mc, se = log_ratio.mean(), log_ratio.std() / np.sqrt(n)
print(f"Monte Carlo {kl_mc:.4f} ± {se:.4f}   closed form {float(kl):.4f}")
assert abs(kl_mc - float(kl)) < 4 * se

# %% [markdown]
# ## 4. The KL's gradient
#
# Differentiate `−½ (1 + logvar − mu² − e^logvar)` term by term:
#
# - ∂/∂mu = −½ · (−2 mu) = **`mu`**: the KL pulls every mean toward 0;
# - ∂/∂logvar = −½ (1 − e^logvar) = **`(σ² − 1) / 2`**: it pushes σ² toward 1.
#
# In a batch of B examples tinyvae averages the loss over the batch, so both gradients are divided
# by B (the reduction is the same in every loss: summed over features, averaged over the batch).

# %%
B = 4
mu_b = rng.standard_normal((B, 3))
logvar_b = rng.standard_normal((B, 3))
kl_b, dmu_b, dlogvar_b = kl_divergence(mu_b, logvar_b)
assert np.allclose(float(kl_b), -0.5 * np.sum(1 + logvar_b - mu_b**2 - np.exp(logvar_b)) / B, rtol=1e-14)
assert np.allclose(dmu_b, mu_b / B, rtol=1e-14)
assert np.allclose(dlogvar_b, (np.exp(logvar_b) - 1) / (2 * B), rtol=1e-14)

errors = gradcheck(kl_divergence, mu_b, logvar_b)  # input0 = mu, input1 = logvar
print({k: f"{v:.1e}" for k, v in errors.items()})
assert max(errors.values()) < 1e-8

# %% [markdown]
# ## Exercises: the reparameterization and the KL
#
# Now write the reparameterization's backward and the KL with its gradients yourself. Replace each `raise NotImplementedError` with your code and run the
# check below it: `exercises.check` runs your function on several cases (a batch of one and more, several latent sizes), compares every
# entry with tinyvae's own answer and with finite differences, and when something is off it names the
# classic mistake it recognises (a transposed gradient, a missing 1/B, a sign, ...) or the worst entry.
# `exercises.describe(name)` repeats the signature; `exercises.solution(name)` is the reference, to read
# after you have tried.

# %%
from tinyvae import exercises

# %%
# exercise: reparameterize_backward
def reparameterize_backward(mu, logvar, eps, dz):
    """z = mu + exp(logvar / 2) * eps; all (B, Z) -> (dmu, dlogvar)."""
    # your code
    raise NotImplementedError


# %%
exercises.check("reparameterize_backward", reparameterize_backward)

# %%
# exercise: kl
def kl(mu, logvar):
    """KL(N(mu, exp(logvar)) ‖ N(0, I)), summed over z, averaged over the batch -> (kl, dmu, dlogvar)."""
    # your code
    raise NotImplementedError


# %%
exercises.check("kl", kl)
