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
# # 13 · When a VAE fails: collapse, the decoder's variance, the holes, the exact likelihood
#
# A VAE can train without an error and still learn nothing about its inputs: every image gets the
# same posterior q(z|x) = N(0, I) and the same reconstruction. Here we watch that happen, find the
# knob that decides it (the decoder's fixed variance, which is β in disguise), look at where the
# latent points of all images really lie, and compute the number every bound is a bound of,
# -log p(x), by quadrature on a grid. Walkthrough: `walkthroughs/13_when_a_vae_fails.md` (longer
# numbers). The models are small (784-64-2, 10 epochs on the 4,000 bundled training digits, seed 0),
# as on the page: its figures are this data's and these settings' only.

# %%
from pathlib import Path

import numpy as np
from IPython.display import Image, display

from tinyvae import VAE
from tinyvae.training.latent_figures import aggregate_vs_prior, true_posteriors
from tinyvae.training.aggregate import aggregate_posterior
from tinyvae.training.data import load
from tinyvae.training.evaluate import active_units, eval_loss, gaussian_constant, iwae_bound
from tinyvae.training.exact import encode_all, exact_nll
from tinyvae.training.train import fit

data = load(dtype=np.float64)
x = data.x_test
out = Path("runs/13_when_a_vae_fails")
out.mkdir(parents=True, exist_ok=True)


def trained(beta: float) -> VAE:
    """A 784-64-2 VAE with the β-VAE document's loss, squared error + β·KL, 10 epochs, seed 0."""
    model = VAE(784, [64], 2, loss="mse", beta=beta, rng=0, dtype=np.float64)
    fit(model, data, epochs=10, seed=0, progress=False)
    return model


def kl_per_dim(model: VAE) -> np.ndarray:
    """KL(q(z|x) ‖ N(0, I)) of each latent dimension, the mean over the test images (nats)."""
    mu, logvar = encode_all(model, x)
    return np.mean(0.5 * (mu**2 + np.exp(logvar) - 1 - logvar), axis=0)


# %% [markdown]
# ## Collapse in a run
#
# β = 10 against β = 1. Watch the KL of each latent dimension and the active units.

# %%
collapsed, working = trained(10.0), trained(1.0)
for name, model in (("beta 10", collapsed), ("beta 1", working)):
    print(name, "KL per dimension", np.round(kl_per_dim(model), 3), "active", active_units(model, x)["latent"])
assert active_units(collapsed, x)["latent"][0] == 0 and kl_per_dim(collapsed).max() < 0.05
assert active_units(working, x)["latent"][0] >= 1

# %% [markdown]
# The collapsed model's reconstructions are all (nearly) the mean training digit:

# %%
mu, _ = encode_all(collapsed, x)
mean_image = data.x_train.mean(axis=0)
print("largest pixel distance from the mean digit:", round(float(np.abs(collapsed.decode(mu) - mean_image).max()), 3))
assert np.abs(collapsed.decode(mu) - mean_image).max() < 0.25

# %% [markdown]
# ## The decoder's variance is β in disguise
#
# The squared error is -log N(x; x̂, ½·I) minus the constant (D/2)·log π. A variance s² instead of ½
# gives squared error + 2s²·KL after multiplying by 2s²: choosing s² is choosing β = 2s². The residuals
# of the working model have a variance per pixel far below ½:

# %%
mu, _ = encode_all(working, x)
sse = float(np.sum((working.decode(mu) - x) ** 2, axis=1).mean())
print(f"squared error per image {sse:.2f}; residual variance per pixel {sse / 784:.4f}; ½ is {0.5 / (sse / 784):.1f} times that")
gain = float(np.sum((mean_image - x) ** 2, axis=1).mean()) - sse
print(f"what the code saves over the mean digit: {gain:.2f}; what its KL costs at β = 1: {kl_per_dim(working).sum():.2f}")
assert sse / 784 < 0.5 / 4 and gain < 10 * kl_per_dim(working).sum()

# %% [markdown]
# ## The aggregate posterior and its holes
#
# All the posteriors together, q_agg(z) = (1/N) Σ q(z|x_n), beside the prior. Red outlines the region
# where q_agg has at least a tenth of the prior's density: outside it are the holes.

# %%
mu, logvar = encode_all(working, x)
agg = aggregate_posterior(mu, logvar, half_width=6.0, points=161)
print(f"KL(q_agg ‖ p) = {agg.kl:.2f} nats; prior mass in the holes {agg.hole_mass:.1%}")
assert agg.kl > 0 and abs(agg.grid_mass - 1) < 1e-3
display(Image(str(aggregate_vs_prior(working, x, out / "aggregate.png"))))

# %% [markdown]
# ## The exact likelihood and the true posterior
#
# -log p(x) by quadrature on a 201 × 201 grid, for 100 test digits; then the negative ELBO (averaged
# over 50 draws) and the IWAE estimate as K grows. The gap between -ELBO and -log p(x) is the mean
# KL(q(z|x) ‖ p(z|x)), which the grid also gives.

# %%
xs = x[:100]
r = exact_nll(working, xs, points=201)
elbo = float(np.mean([eval_loss(working, xs, rng=np.random.default_rng(s)).total for s in range(50)])) + gaussian_constant(784)
iwae = {k: iwae_bound(working, xs, k=k, rng=np.random.default_rng(1)) for k in (1, 10, 100)}
print(f"-log p(x) {r.nll.mean():.2f} (grid check {r.refinement:.4f}); -ELBO {elbo:.2f}; IWAE", {k: round(v, 2) for k, v in iwae.items()})
print(f"gap {elbo - r.nll.mean():.2f}; mean KL(q ‖ p(z|x)) on the grid {r.kl_posterior.mean():.2f}")
assert elbo > r.nll.mean() and iwae[100] < iwae[1] and abs(elbo - r.nll.mean() - r.kl_posterior.mean()) < 0.15

# %%
display(Image(str(true_posteriors(working, xs[np.argsort(-r.kl_posterior)[:4]], out / "posteriors.png"))))

# %% [markdown]
# The four digits with the largest gap: the true posterior (heat map) is not the axis-aligned
# Gaussian q(z|x) (ellipses) the encoder can give.
