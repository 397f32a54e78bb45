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
# # 05 · Backprop through the whole VAE, one named gradient at a time
#
# Later: β, the weight in front of the KL in the loss, is the subject of `walkthroughs/09_beta_vae.md`.
#
# `VAE.loss_and_grads` checks x, then `VAE._loss_and_grads` (in `tinyvae/models/vae.py`) runs the
# forward pass, then the chain rule backward, and fills `model.grads` with ∂loss/∂(every parameter).
# Here we redo that by hand on a tiny VAE: every intermediate gradient gets a name (`dlogits`, `dz`,
# `dmu`, `dlogvar`, `dh`, ...), is computed from its formula, is checked by finite differences of the
# loss with respect to that intermediate, and the parameter gradients it produces are compared with the library's.
# Walkthrough: `walkthroughs/05_backprop_vae.md`.

# %%
import numpy as np

from tinyvae import VAE, bce_with_logits, gradcheck, kl_divergence
from tinyvae.engine.gradcheck import numerical_gradient, rel_error

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(7)

# %% [markdown]
# ## The model and one batch
#
# 6 inputs, one hidden layer of 5, a 2-d latent space; binary cross-entropy on a sigmoid output,
# β = 1. The noise `eps` is drawn once and passed in, so every call sees the same sample.
#
#     encoder:  h = relu(x W₁ᵀ + b₁)                      "encoder.0"
#     heads:    mu = h W_μᵀ + b_μ,  logvar = h W_vᵀ + b_v   "mu", "logvar"
#     sample:   z = mu + exp(½ logvar) · eps
#     decoder:  g = relu(z W₂ᵀ + b₂);  logits = g W₃ᵀ + b₃  "decoder.0", "decoder.2"
#     output:   x_hat = σ(logits)
#     loss:     BCE(x_hat, x) + β · KL,  each averaged over the batch

# %%
model = VAE(6, [5], 2, loss="bce", beta=1.0, rng=0)
B = 4
x = rng.uniform(0, 1, (B, 6))
eps = rng.standard_normal((B, 2))

result = model.loss_and_grads(x, eps=eps)  # the library's forward and backward
lib = {k: g.copy() for k, g in model.grads.items()}
print(result)
print("parameters:", list(model.params))
assert list(model.params) == [
    "encoder.0.W", "encoder.0.b", "mu.W", "mu.b", "logvar.W", "logvar.b",
    "decoder.0.W", "decoder.0.b", "decoder.2.W", "decoder.2.b",
]

# %% [markdown]
# ## Forward, by hand
#
# We read the weights out of the model and write every step with NumPy, keeping each intermediate.

# %%
P = model.params
beta = model.beta


def relu(a):
    return np.maximum(a, 0)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


a1 = x @ P["encoder.0.W"].T + P["encoder.0.b"]  # (B, 5)
h = relu(a1)
mu = h @ P["mu.W"].T + P["mu.b"]  # (B, 2)
logvar = h @ P["logvar.W"].T + P["logvar.b"]  # (B, 2)
std = np.exp(0.5 * logvar)
z = mu + std * eps  # (B, 2)
a2 = z @ P["decoder.0.W"].T + P["decoder.0.b"]  # (B, 5)
g = relu(a2)
logits = g @ P["decoder.2.W"].T + P["decoder.2.b"]  # (B, 6)
x_hat = sigmoid(logits)

recon = -np.sum(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat)) / B
kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar)) / B
total = recon + beta * kl
print(f"recon {recon:.6f} + β·KL {beta * kl:.6f} = {total:.6f}")
assert np.allclose([total, recon, kl], [result.total, result.recon, result.kl], rtol=1e-12)

# %% [markdown]
# To check an intermediate gradient by finite differences we need the loss as a function of that
# intermediate: "the rest of the forward pass from here". One function does it for every stage;
# the KL term is recomputed from whichever `mu` and `logvar` are current.

# %%
STAGES = ["h", "mu", "logvar", "z", "g", "logits"]


def loss_from(stage, value):
    """The total loss recomputed from one intermediate onward; every other intermediate as above."""
    v = {"h": h, "mu": mu, "logvar": logvar, "z": z, "g": g, "logits": logits, stage: value}
    start = STAGES.index(stage)
    if start <= 0:
        v["mu"] = v["h"] @ P["mu.W"].T + P["mu.b"]
        v["logvar"] = v["h"] @ P["logvar.W"].T + P["logvar.b"]
    if start <= 2:
        v["z"] = v["mu"] + np.exp(0.5 * v["logvar"]) * eps
    if start <= 3:
        v["g"] = relu(v["z"] @ P["decoder.0.W"].T + P["decoder.0.b"])
    if start <= 4:
        v["logits"] = v["g"] @ P["decoder.2.W"].T + P["decoder.2.b"]
    recon_now, _ = bce_with_logits(v["logits"], x)
    kl_now, _, _ = kl_divergence(v["mu"], v["logvar"])
    return float(recon_now + beta * kl_now)


def fd_check(stage, analytic, value):
    """Assert that a hand-derived gradient matches the finite difference of the loss at ``stage``."""
    value = value.copy()
    err = rel_error(analytic, numerical_gradient(lambda: loss_from(stage, value), value))
    print(f"d{stage:7s} shape {analytic.shape}   finite-difference relative error {err:.1e}")
    assert err < 1e-7


for stage, value in [("h", h), ("mu", mu), ("logvar", logvar), ("z", z), ("g", g), ("logits", logits)]:
    assert np.isclose(loss_from(stage, value), total, rtol=1e-12)

# %% [markdown]
# ## Backward, one gradient at a time
#
# ### `dlogits` — the sigmoid and the cross-entropy together
#
# Per number, BCE is `−[x log σ(l) + (1 − x) log(1 − σ(l))]`. With `σ' = σ(1 − σ)`:
# ∂/∂l = −[x (1 − σ) − (1 − x) σ] = σ − x. The sigmoid's slope cancels against the log's
# denominator, leaving **`dlogits = (x_hat − x) / B`** (the `1/B` from the batch average).
# This is why the model computes the loss from the logits (`bce_with_logits`).

# %%
dlogits = (x_hat - x) / B
fd_check("logits", dlogits, logits)

# %% [markdown]
# ### The decoder's last Linear, then its ReLU
#
# As in notebook 02: `dW₃ = dlogitsᵀ g`, `db₃ = Σ dlogits`, and the gradient passed down is
# `dg = dlogits W₃`. Through the ReLU: `da2 = dg · [a2 > 0]`.

# %%
dW3 = dlogits.T @ g
db3 = dlogits.sum(axis=0)
dg = dlogits @ P["decoder.2.W"]
fd_check("g", dg, g)
da2 = dg * (a2 > 0)
assert np.allclose(dW3, lib["decoder.2.W"], rtol=1e-12) and np.allclose(db3, lib["decoder.2.b"], rtol=1e-12)

# %% [markdown]
# ### `dz` — out of the decoder
#
# The decoder's first Linear: `dW₂ = da2ᵀ z`, `db₂ = Σ da2`, and **`dz = da2 W₂`**. The KL does
# not depend on `z` (only on `mu` and `logvar`), so this is all of ∂loss/∂z.

# %%
dW2 = da2.T @ z
db2 = da2.sum(axis=0)
dz = da2 @ P["decoder.0.W"]
fd_check("z", dz, z)
assert np.allclose(dW2, lib["decoder.0.W"], rtol=1e-12) and np.allclose(db2, lib["decoder.0.b"], rtol=1e-12)

# %% [markdown]
# ### `dmu` and `dlogvar` — two paths each
#
# `mu` and `logvar` reach the loss twice: through `z` (the reconstruction) and directly through
# the KL. The chain rule adds the two paths:
#
#     dmu     = dz                       + β · mu / B
#     dlogvar = dz · eps · std / 2        + β · (σ² − 1) / (2B)
#
# (the first terms from the reparameterization node, notebook 03; the second from the KL).

# %%
dmu = dz + beta * mu / B
dlogvar = dz * eps * std / 2 + beta * (np.exp(logvar) - 1) / (2 * B)
fd_check("mu", dmu, mu)
fd_check("logvar", dlogvar, logvar)

# %% [markdown]
# ### The two heads, and `dh` — where the paths join again
#
# Each head is a Linear from `h`: `dW_μ = dmuᵀ h`, `dW_v = dlogvarᵀ h` (and their biases). `h`
# feeds both heads, so its gradient is the sum of what each sends back:
# **`dh = dmu W_μ + dlogvar W_v`**.

# %%
dWmu, dbmu = dmu.T @ h, dmu.sum(axis=0)
dWlv, dblv = dlogvar.T @ h, dlogvar.sum(axis=0)
dh = dmu @ P["mu.W"] + dlogvar @ P["logvar.W"]
fd_check("h", dh, h)
assert np.allclose(dWmu, lib["mu.W"], rtol=1e-12) and np.allclose(dbmu, lib["mu.b"], rtol=1e-12)
assert np.allclose(dWlv, lib["logvar.W"], rtol=1e-12) and np.allclose(dblv, lib["logvar.b"], rtol=1e-12)

# %% [markdown]
# ### The encoder
#
# Through the encoder's ReLU and Linear: `da1 = dh · [a1 > 0]`, `dW₁ = da1ᵀ x`, `db₁ = Σ da1`.
# Nobody needs ∂loss/∂x, so the model stops here (`need_dx=False`).

# %%
da1 = dh * (a1 > 0)
dW1, db1 = da1.T @ x, da1.sum(axis=0)
assert np.allclose(dW1, lib["encoder.0.W"], rtol=1e-12) and np.allclose(db1, lib["encoder.0.b"], rtol=1e-12)

# %% [markdown]
# ## All ten parameter gradients agree with `loss_and_grads`

# %%
by_hand = {
    "encoder.0.W": dW1, "encoder.0.b": db1, "mu.W": dWmu, "mu.b": dbmu, "logvar.W": dWlv, "logvar.b": dblv,
    "decoder.0.W": dW2, "decoder.0.b": db2, "decoder.2.W": dW3, "decoder.2.b": db3,
}
worst = max(rel_error(by_hand[k], lib[k]) for k in lib)
print(f"largest relative difference, hand vs library, over all {len(lib)} gradients: {worst:.1e}")
assert set(by_hand) == set(lib) and worst < 1e-13

# %% [markdown]
# ## Finally: `gradcheck` on the whole model
#
# The strongest single check: nudge every parameter of the model, one number at a time, rerun the
# whole forward pass with the same `eps`, and compare with the backward. It catches a backward that
# disagrees with its forward anywhere in the chain. (What it cannot catch is shown at the end.)

# %%
errors = gradcheck(model, x, eps=eps)
for k, v in errors.items():
    print(f"{k:12s} {v:.1e}")
assert max(errors.values()) < 1e-7

# %% [markdown]
# The same check passes for the squared-error loss with a sigmoid output, where `dlogits` is the
# MSE gradient `2 (x_hat − x) / B` times the sigmoid's slope `x_hat (1 − x_hat)`, and for β ≠ 1.

# %%
model_mse = VAE(6, [5], 2, loss="mse", beta=0.5, rng=1)
errors = gradcheck(model_mse, x, eps=eps)
print(f"mse, β = 0.5: largest relative error {max(errors.values()):.1e}")
assert max(errors.values()) < 1e-7


# %% [markdown]
# ## What finite differences cannot catch: one number, two meanings
#
# Finite differences check that the backward matches the forward, not what the numbers mean. Here
# is a model whose sampler reads `logvar` as if it were σ, `z = mu + logvar · eps` (the numpy-ml
# slip of the style guide), while its KL still reads `logvar` as log σ². Each part has a backward
# consistent with its own forward (`∂z/∂logvar = eps`), so the whole model passes `gradcheck`:

# %%
from tinyvae import Reparameterize


class LogvarAsSigma(Reparameterize):
    """A wrong sampler with a right backward: z = mu + logvar · eps, so ∂z/∂mu = 1, ∂z/∂logvar = eps."""

    def forward(self, mu, logvar, eps=None, rng=None):
        eps = rng.standard_normal(mu.shape) if eps is None else eps
        self.cache = (logvar, eps)
        return mu + logvar * eps

    def backward(self, dz):
        logvar, eps = self.cache
        return dz, dz * eps


wrong = VAE(6, [5], 2, loss="bce", beta=1.0, rng=0)
wrong.reparam = LogvarAsSigma()
fd_wrong = gradcheck(wrong, x, eps=eps)
print(f"finite differences, the wrong model: worst entry {max(fd_wrong.values()):.1e}")
assert max(fd_wrong.values()) < 1e-7 and fd_wrong.complete

# %% [markdown]
# Only an independent reference of what the model is meant to compute catches it: torch autograd
# (float64) running the VAE as the math says, `z = mu + exp(½ logvar) · eps` and the closed-form KL.
# The right model agrees with it to rounding; the wrong one differs in its loss and in every
# gradient the sample touches. (A statistical test catches it too: the samples' variance is
# `exp(logvar)` only for the right sampler, `tests/test_reparam.py::test_logvar_is_log_variance`.)
# torch comes with tinyvae's test extra (`pip install -e '.[test]'`).

# %%
try:
    import torch
except ImportError:  # the notebook runs without the test extra; the check below needs it
    torch = None


def torch_reference(m, x, eps):
    """(loss, {name: gradient}) of the VAE as the math says, in torch float64, from m's weights."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in m.params.items()}

    def lin(h, name):
        return h @ P[name + ".W"].T + P[name + ".b"]

    X, E = torch.tensor(x), torch.tensor(eps)
    h = torch.relu(lin(X, "encoder.0"))
    mu_t, logvar_t = lin(h, "mu"), lin(h, "logvar")
    z_t = mu_t + torch.exp(0.5 * logvar_t) * E
    logits_t = lin(torch.relu(lin(z_t, "decoder.0")), "decoder.2")
    n = X.shape[0]
    recon_t = torch.nn.functional.binary_cross_entropy_with_logits(logits_t, X, reduction="sum") / n
    kl_t = -0.5 * torch.sum(1 + logvar_t - mu_t**2 - torch.exp(logvar_t)) / n
    loss_t = recon_t + kl_t
    loss_t.backward()
    return float(loss_t.detach()), {k: p.grad.numpy() for k, p in P.items()}


if torch is not None:
    for name, m in [("right", VAE(6, [5], 2, loss="bce", beta=1.0, rng=0)), ("wrong", wrong)]:
        ours = m.loss_and_grads(x, eps=eps).total
        ref_loss, ref_grads = torch_reference(m, x, eps)
        worst = max(rel_error(m.grads[k], ref_grads[k]) for k in ref_grads)
        print(f"{name}: loss {ours:.6f} vs torch {ref_loss:.6f}; worst gradient difference {worst:.1e}")
        if name == "right":
            assert abs(ours - ref_loss) < 1e-12 and worst < 1e-10
        else:
            assert abs(ours - ref_loss) > 1e-3 and worst > 1e-2
else:
    print("torch is not installed: pip install -e '.[test]' to run the torch parity check")


# %% [markdown]
# ## Exercises: the loss's gradient and the whole VAE
#
# Now write the reconstruction loss's gradient and then the whole chain rule yourself. Replace each `raise NotImplementedError` with your code and run the
# check below it: `exercises.check` runs your function on several cases (a batch of one and a batch of four), compares every
# entry with tinyvae's own answer and with finite differences, and when something is off it names the
# classic mistake it recognises (a transposed gradient, a missing 1/B, a sign, ...) or the worst entry.
# `exercises.describe(name)` repeats the signature; `exercises.solution(name)` is the reference, to read
# after you have tried.

# %%
from tinyvae import exercises

# %%
# exercise: bce_with_logits_backward
def bce_with_logits_backward(logits, x):
    """loss = (1/B) Σ BCE(σ(logits), x), summed over pixels -> dlogits (B, D)."""
    # your code
    raise NotImplementedError


# %%
exercises.check("bce_with_logits_backward", bce_with_logits_backward)

# %% [markdown]
# The last exercise is the whole chain rule, on a small VAE whose forward pass is printed here, line by
# line, with tinyvae's parameter names. Reuse your functions from above and from notebooks 02 and 03.

# %%
print(exercises.describe("vae_backward"))

# %%
# exercise: vae_backward
def vae_backward(params, x, eps):
    """params: dict of arrays named as printed above; x (B, 6), eps (B, 2) -> dict of the gradients of params."""
    # your code
    raise NotImplementedError


# %%
exercises.check("vae_backward", vae_backward)
