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
# # 06 · The lecture's worked example, step by step
#
# Later: the Adam step at the end is explained in `walkthroughs/07_adam.md` (notebook `07_adam`).
#
# The lecture computes one pass of a tiny VAE by hand: one input `x = [0.5, 1.0, -0.5]`, an encoder
# `Linear(3 → 2)` with no activation, a mean head and a log-variance head `Linear(2 → 2)`, the
# reparameterization `z = μ + σ·ε`, a decoder `Linear(2 → 3)` with identity output, and the loss
# `recon + KL`. In this notebook we build that network from tinyvae's own pieces
# (`tinyvae/engine/layers.py: Linear`, `tinyvae/engine/reparam.py: Reparameterize`, `tinyvae/engine/losses.py: mse,
# kl_divergence`), check every number the lecture printed, correct the ones it got wrong, and then
# go further than the lecture: the backward pass and one Adam step.
#
# Every number shown is asserted in the cell that shows it. Walkthrough:
# `walkthroughs/06_worked_example.md`; library version of the same: `tinyvae/lecture/trace.py: run`;
# tests: `tests/test_worked_example.py`.

# %%
import numpy as np

from tinyvae import Linear, Reparameterize, kl_divergence, mse
from tinyvae import worked_example as we

np.set_printoptions(precision=6, suppress=True)


def close(a, b, tol=1e-12):
    """True when a and b agree to tol (floats or arrays)."""
    return bool(np.allclose(a, b, rtol=0, atol=tol))


# %% [markdown]
# ## The network, with the lecture's weights
#
# `W_e, b_e, W_μ, b_μ` are printed in the lecture. The log-variance head, ε and the decoder are not
# (they were in the video's pictures): we use **reconstructions** from
# `tinyvae/lecture/givens.py: RECONSTRUCTED`, and check below that they give back every number the
# lecture printed. A `Linear` holds `W` as (out, in), the way the lecture writes `W_e`.

# %%
def linear(W, b):
    layer = Linear(W.shape[1], W.shape[0])
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    return layer


W = {**we.GIVEN, **we.RECONSTRUCTED}  # the last four are reconstructions
encoder = linear(W["W_e"], W["b_e"])
mu_head = linear(W["W_mu"], W["b_mu"])
logvar_head = linear(W["W_logvar"], W["b_logvar"])  # reconstruction
decoder = linear(W["W_d"], W["b_d"])  # reconstruction
reparam = Reparameterize()

x = np.array([[0.5, 1.0, -0.5]])  # a batch of one: shape (1, 3)
eps = we.implied_eps()[None, :]  # ε = (z − μ)/σ̃ from the lecture's printed z, μ, σ̃
print(eps)
assert close(eps, [[0.5, -0.5]])

# %% [markdown]
# ## Forward
#
# `h = W_e·x + b_e`, then the two heads `μ = W_μ·h + b_μ` and `log σ² = W_logvar·h + b_logvar`.

# %%
h = encoder.forward(x)
mu = mu_head.forward(h)
logvar = logvar_head.forward(h)
print("h =", h, " mu =", mu, " logvar =", logvar)
assert close(h, [[0.2, 0.6]]) and close(mu, [[-0.04, 0.02]]) and close(logvar, [[-0.02, 0.04]])

# %% [markdown]
# `σ = exp(½·log σ²)` is 0.99005 and 1.02020; the lecture rounds them to σ̃ = 0.99 and 1.02 before
# forming z. So z is a sample of N(μ, σ̃²), whose log-variance is `log σ̃² = 2·ln σ̃`; that is what we
# hand to `Reparameterize`, which computes σ̃ back from it.

# %%
std_exact = np.exp(0.5 * logvar)
std_rounded = np.round(std_exact, 2)  # σ̃ = round(σ, 2)
logvar_rounded = 2 * np.log(std_rounded)  # log σ̃²
z = reparam.forward(mu, logvar_rounded, eps=eps)  # z = μ + σ̃·ε
print("sigma =", std_exact, "-> rounded", std_rounded, " log σ̃² =", logvar_rounded, " z =", z)
assert close(std_rounded, [[0.99, 1.02]]) and close(reparam.cache[0], [[0.99, 1.02]])
assert close(logvar_rounded, [[-0.0201006717, 0.0396052546]], 1e-10)
assert close(z, [[0.455, -0.49]])

# %% [markdown]
# The decoder `x̂ = W_d·z + b_d` and the reconstruction loss `Σ (x − x̂)²` (`mse` sums over features
# and averages over the batch; a batch of one gives the plain sum).

# %%
x_hat = decoder.forward(z)
recon, dx_hat = mse(x_hat, x)
squares = (x - x_hat) ** 2  # the lecture's line: 0.207936 + 0.744769 + 0.5329
print("x_hat =", x_hat, " squares =", squares, " recon =", float(recon))
assert close(x_hat, [[0.044, 0.137, 0.23]]) and close(squares, [[0.207936, 0.744769, 0.5329]])
assert close(recon, 1.485605)

# %% [markdown]
# ## The KL, corrected: three figures
#
# The closed form is `KL = −½·Σ(1 + log σ² − μ² − σ²)`. The lecture writes `+½`, slips in the
# arithmetic (see the errata below) and prints KL = 0.00675, total 1.492355. Its line also mixes two
# Gaussians: the unrounded log σ² in `1 + log σ²` beside the rounded σ̃² in `− σ²`.
#
# - **(i)** its own formula with those mixed numbers, sign and arithmetic fixed: 0.00125. No
#   Gaussian has both log σ² = −0.02 and σ̃² = 0.9801: the expression mixes two Gaussians, so it is
#   neither the KL of what the lecture sampled nor the exact one. (The number 0.00125 alone happens
#   to be the KL of N(0.05, 1) against N(0, 1), a Gaussian unrelated to this example.)
# - **(ii)** the KL of the Gaussian the lecture sampled from, N(μ, σ̃²), with log σ̃² = 2·ln σ̃:
#   0.0014977.
# - **(iii)** the exact KL, σ unrounded: 0.00150472.

# %%
terms_mixed = 1 + logvar - mu**2 - std_rounded**2
kl_i = -0.5 * terms_mixed.sum()
print("(i) brackets =", terms_mixed, " KL (i) =", kl_i, " with +0.5 it would be", 0.5 * terms_mixed.sum())
assert close(terms_mixed, [[-0.0017, -0.0008]]) and close(kl_i, 0.00125) and 0.5 * terms_mixed.sum() < 0
unrelated, _, _ = kl_divergence(np.array([[0.05]]), np.array([[0.0]]))  # KL(N(0.05, 1) ‖ N(0, 1))
assert close(unrelated, 0.00125, 1e-15)

kl_ii, dmu_kl, dlogvar_kl = kl_divergence(mu, logvar_rounded)  # the Gaussian z was drawn from
kl_iii, _, _ = kl_divergence(mu, logvar)  # σ unrounded
print("(ii)", float(kl_ii), " (iii)", float(kl_iii))
assert round(float(kl_ii), 10) == 0.0014977086 and round(float(kl_iii), 8) == 0.00150472

total = float(recon) + float(kl_ii)  # lecture mode's loss: recon + KL (ii)
print("total =", total, "(the lecture printed 1.492355)")
assert round(total, 7) == 1.4871027

# %% [markdown]
# The gradients below belong to (ii): the reparameterization and the KL both saw log σ̃², so they are
# the gradients of `recon + KL (ii)` with respect to log σ̃². The rounding between log σ² and log σ̃²
# has derivative 0 almost everywhere; the *gradient* passes through it unchanged (straight-through:
# the rounding taken as the identity in the backward pass), so the log-variance head receives
# ∂L/∂log σ̃² as its ∂L/∂log σ². (i) differs from (ii) by ½·Σ(log σ̃² − log σ²), which is a constant
# only under that convention: only there does (i) have the same gradients as (ii).

# %% [markdown]
# ## Backward: what the lecture leaves out
#
# `L = recon + KL`. Start at the loss and hand each layer the gradient of its output:
#
# - `∂L/∂x̂ = 2·(x̂ − x)` (from `mse`), then the decoder's `backward` gives `∂L/∂W_d = (∂L/∂x̂)ᵀ·z`,
#   `∂L/∂b_d = ∂L/∂x̂` and `∂L/∂z = ∂L/∂x̂·W_d`;
# - the reparameterization sends `∂L/∂z` to `∂/∂μ = ∂L/∂z` and `∂/∂log σ̃² = ∂L/∂z·ε·½σ̃`;
# - the KL adds `∂KL/∂μ = μ` and `∂KL/∂log σ̃² = ½(σ̃² − 1)`;
# - each head's `backward` gives its `∂W = (∂out)ᵀ·h`, `∂b = ∂out`, and `∂h` is the sum over the heads;
# - the encoder's `backward` gives `∂L/∂W_e = (∂L/∂h)ᵀ·x`, `∂L/∂b_e = ∂L/∂h`.

# %%
dz = decoder.backward(dx_hat)
dmu_recon, dlogvar_recon = reparam.backward(dz)
dmu = dmu_recon + dmu_kl
dlogvar = dlogvar_recon + dlogvar_kl
dh = mu_head.backward(dmu) + logvar_head.backward(dlogvar)
encoder.backward(dh, need_dx=False)
print("dx_hat =", dx_hat, "\ndz =", dz, "\ndmu =", dmu, "\ndlogvar =", dlogvar, "\ndh =", dh)
assert close(dx_hat, [[-0.912, -1.726, 1.46]]) and close(dz, [[0.0032, -0.1146]])
assert close(dmu, [[-0.0368, -0.0946]]) and close(dlogvar, [[-0.009158, 0.049423]])
assert close(dh, [[-0.0293739, 0.0284581]])

# %%
print("dW_d =\n", decoder.grads["W"], "\ndW_e =\n", encoder.grads["W"])
assert close(decoder.grads["W"], [[-0.41496, 0.44688], [-0.78533, 0.84574], [0.6643, -0.7154]])
assert close(encoder.grads["W"], [[-0.01468695, -0.0293739, 0.01468695], [0.01422905, 0.0284581, -0.01422905]])

# %% [markdown]
# The library's `run()` does exactly this with the same objects; its gradients are checked against
# torch autograd in `tests/test_worked_example.py::test_gradient_matches_torch`. Ours agree with it:

# %%
ex = we.run()
for name, ours in [("dW_d", decoder.grads["W"]), ("dW_mu", mu_head.grads["W"]), ("dW_logvar", logvar_head.grads["W"]),
                   ("dW_e", encoder.grads["W"]), ("db_e", encoder.grads["b"])]:
    assert close(ours, ex[name], 1e-15), name
print("all gradients agree with tinyvae.lecture.trace.run()")

# %% [markdown]
# ## One Adam step
#
# On its first step Adam's bias corrections give `m̂ = g` and `v̂ = g²`, so each weight moves by
# `lr·g/(|g| + 1e-8)`: almost exactly `lr` against the sign of its gradient, whatever the gradient's
# size. With lr = 0.1 the change is easy to see. The loss after is computed as the loss before, σ
# rounded to σ̃ and KL (ii): it drops from 1.4871027 to 1.2010974. (Exact mode, σ unrounded before
# and after: 1.4871213 to 1.1987729.)

# %%
print("W_d:", W["W_d"].tolist(), "->", ex["W_d_new"].round(6).tolist())
print("loss:", ex["total"], "->", ex["total_after"])
assert close(ex["W_d_new"], [[0.3, 0.2], [0.5, 0.4], [0.5, 0.8]], 1e-6)
assert close(ex["total_after"], 1.2010973859, 1e-9) and ex["total_after"] < ex["total"]
ext = we.run(exact=True)
print("exact mode:", ext["total"], "->", ext["total_after"])
assert close(ext["total_after"], 1.1987729147, 1e-9)

# %% [markdown]
# ## The errata, computed
#
# Each row: its line in document 004, what the lecture printed, then (i) its formula fixed,
# (ii) with the Gaussian it sampled from, (iii) with exact σ. `format_errata(..., lang="ko")` prints
# the same table in Korean.

# %%
print(we.format_errata(we.errata()))
rows = {r.key: r for r in we.errata()}
assert rows["kl"].lecture == 0.00675 and close(rows["kl"].fixed, 0.00125)
assert round(rows["kl"].sampled, 10) == 0.0014977086 and round(rows["kl"].exact, 8) == 0.00150472
assert rows["total"].lecture == 1.492355 and close(rows["total"].fixed, 1.486855)
assert round(rows["total"].exact, 5) == 1.48712
