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
# # 09 · Autoencoder vs VAE, reconstruction-only vs the full loss, and β
#
# The lectures explain the VAE by what goes wrong without it. A plain autoencoder (AE) maps each
# image to one point z and back; nothing says where those points should lie, so there is no
# distribution to draw new z from. The VAE adds two things: a distribution q(z|x) = N(mu, σ²)
# instead of a point, and the KL term that pulls every q(z|x) towards N(0, I). Its weight β
# decides how hard it pulls:
#
#     AE:      loss = recon(x_hat, x)                         z = encode(x), one point
#     VAE:     loss = recon(x_hat, x) + β · KL(q(z|x) ‖ N(0, I))   z = mu + σ · eps
#              β = 0: reconstruction only; β = 1: the ELBO; β > 1: a "β-VAE"
#
# Here we train four models with the same layer sizes, data, seed and number of steps (an AE and
# VAEs with β = 0, 1 and 4) and compare their latent spaces, their samples and their two loss
# terms. Walkthrough: `walkthroughs/09_beta_vae.md`. The command `tinyvae compare all` runs
# the same experiments longer, on bigger models, and writes the figures to files.

# %%
from pathlib import Path

import numpy as np
from IPython.display import Image, display
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from threadpoolctl import threadpool_limits

from tinyvae import AE, VAE
from tinyvae.training import data
from tinyvae.figures import plots
from tinyvae.training.evaluate import eval_loss
from tinyvae.training.train import fit

threadpool_limits(1)  # one BLAS thread: sums split over threads differ in the last bits, so this fixes every printed number

RUN = Path("runs/09_beta_vae")
RUN.mkdir(parents=True, exist_ok=True)
digits = data.load()
print(digits)
assert digits.x_train.shape == (4000, 784) and digits.x_test.shape == (1000, 784)


def show(fig, name) -> None:
    """Save a matplotlib Figure under RUN and display it inline (returning nothing, so that a cell ending
    in show(...) prints no path)."""
    path = RUN / name
    fig.savefig(path, dpi=90)
    display(Image(filename=path))


# %% [markdown]
# ## Four models, trained the same way
#
# `AE` takes the VAE's arguments except β: the same encoder and decoder, with one code head where
# the VAE has two (mu and logvar), no sampling and no KL. Every model gets a 2-d latent space so
# we can draw it, and the same `fit` call.

# %%
SIZES = {"x_dim": 784, "hidden_dims": [128], "z_dim": 2}
models = {
    "AE": AE(**SIZES, rng=0, dtype=np.float32),
    "β=0": VAE(**SIZES, beta=0.0, rng=0, dtype=np.float32),
    "β=1": VAE(**SIZES, beta=1.0, rng=0, dtype=np.float32),
    "β=4": VAE(**SIZES, beta=4.0, rng=0, dtype=np.float32),
}
print({name: list(m.parts()) for name, m in models.items()})
assert list(models["AE"].parts()) == ["encoder", "code", "decoder"]  # one head: the code, z itself
assert list(models["β=1"].parts()) == ["encoder", "mu", "logvar", "decoder"]

metrics = {}
for name, model in models.items():
    metrics[name] = fit(model, digits, epochs=10, batch_size=64, lr=3e-3, seed=0, progress=False)
    last = metrics[name][-1]
    print(f"{name:4s} test recon {last['test_recon']:6.1f}   KL {last['test_kl']:5.2f}")
    assert last["test_loss"] < metrics[name][0]["test_loss"]  # each one learned
assert metrics["AE"][-1]["test_kl"] == 0.0  # the AE has no KL term at all

# %% [markdown]
# ## The latent spaces side by side
#
# Each test digit's latent point (the code z for the AE, the mean mu for a VAE), coloured by its
# digit. The dashed circle has radius 2: for z ~ N(0, I) in two dimensions, P(‖z‖ < 2) =
# 1 − e⁻² (printed below), so this is where sampling will look for most digits.

# %%
R = 2.0
print(f"P(|z| < {R:g}) for z ~ N(0, I) in 2-d: {1 - np.exp(-R**2 / 2):.3f}")
assert abs((np.linalg.norm(np.random.default_rng(0).standard_normal((100_000, 2)), axis=1) < R).mean()
           - (1 - np.exp(-2))) < 0.005

codes = {name: m.embed(digits.x_test) for name, m in models.items()}  # (1000, 2) each
inside = {name: float(np.mean(np.linalg.norm(z, axis=1) < R)) for name, z in codes.items()}

fig = Figure(figsize=(17, 4.4), layout="constrained")
axes = fig.subplots(1, 4)
for ax, (name, z) in zip(axes, codes.items()):
    dots = ax.scatter(z[:, 0], z[:, 1], c=digits.y_test, cmap="tab10", vmin=-0.5, vmax=9.5, s=5)
    ax.add_patch(Circle((0, 0), R, fill=False, ls="--", color="black"))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{name}: {inside[name]:.0%} of test points inside the circle")
    ax.set_xlabel("z1")
fig.colorbar(dots, ax=axes, ticks=range(10), label="digit")
show(fig, "latent_spaces.png")

for name, z in codes.items():
    print(f"{name:4s} centre {z.mean(axis=0).round(2)}  spread {z.std(axis=0).round(2)}  "
          f"inside: {inside[name]:.0%}")
assert inside["AE"] < 0.25 and inside["β=0"] < 0.25  # nothing pulls these towards N(0, I)
assert inside["β=1"] > 0.4 and inside["β=4"] > inside["β=1"]  # the KL does, harder with larger β

# %% [markdown]
# The AE arranges the digits too — reconstruction alone makes similar images land near each
# other — but nothing decides where: its cloud sits wherever training happened to put it, with
# gaps between the digits, and the circle of N(0, I) covers only a corner of it. The VAE's KL
# term keeps its cloud around the origin on the prior's scale.
#
# ## Sampling: the same 64 draws z ~ N(0, I) through each decoder
#
# `sample(n, rng)` decodes z ~ N(0, I) for every model, the AE included (it never learned that
# distribution). Seeding `rng` the same way gives every decoder the same 64 points.

# %%
fig = Figure(figsize=(16, 4.4), layout="constrained")
for ax, (name, model) in zip(fig.subplots(1, 4), models.items()):
    ax.imshow(plots.image_grid(model.sample(64, np.random.default_rng(1)), 8, 8), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}: decode(z), z ~ N(0, I)")
    ax.set_axis_off()
show(fig, "samples.png")

z = np.random.default_rng(1).standard_normal((64, 2))
ae = models["AE"]
assert np.array_equal(ae.sample(64, np.random.default_rng(1)), ae.decode(z.astype(np.float32)))

# %% [markdown]
# How far does a draw from N(0, I) land from the nearest point where the encoder put a real test
# digit? For the AE and for β = 0 the draws land more than twice as far out (printed below), in the gaps and
# margins of the code cloud, where the decoder was never trained and what it draws is a guess; for
# β = 1 and 4 they land among real codes.

# %%
draws = np.random.default_rng(2).standard_normal((1000, 2))
gap = {name: float(np.median(np.min(np.linalg.norm(draws[:, None] - z[None], axis=2), axis=1)))
       for name, z in codes.items()}
for name in models:
    print(f"{name:4s} median distance from a prior draw to the nearest test code: {gap[name]:.3f}")
assert gap["AE"] > 2 * gap["β=1"] and gap["β=0"] > 2 * gap["β=1"]

# %% [markdown]
# ## Reconstruction only (β = 0) vs the full loss (β = 1)
#
# With β = 0 the VAE still samples z = mu + σ · eps during training, but nothing rewards a large
# σ: noise only hurts the reconstruction, so the encoder shrinks σ until the model is an
# autoencoder in all but name. The full loss's KL term, −½ Σ (1 + logvar − mu² − σ²), is smallest
# at σ = 1 and keeps σ from collapsing. Compare the encoders' σ on the test digits:

# %%
for name in ("β=0", "β=1", "β=4"):
    mu, logvar = models[name].encode(digits.x_test)
    sigma = np.exp(0.5 * logvar)
    print(f"{name}: median σ {np.median(sigma):.3f}   KL per image {metrics[name][-1]['test_kl']:.2f}")
sigma0 = np.median(np.exp(0.5 * models["β=0"].encode(digits.x_test)[1]))
sigma1 = np.median(np.exp(0.5 * models["β=1"].encode(digits.x_test)[1]))
assert sigma0 < 0.5 * sigma1

# %% [markdown]
# ## The β sweep: what β trades
#
# A larger β buys a smaller KL — a latent space closer to N(0, I), easier to sample — and pays
# with worse reconstructions. We measure both terms on the test digits with the same noise for
# every model (`eval_loss` reports the KL even when β = 0, where it is not part of the loss).

# %%
betas = [0.0, 1.0, 4.0]
terms = {b: eval_loss(models[f"β={b:g}"], digits.x_test, rng=np.random.default_rng(0)) for b in betas}
print("   β   recon      KL   recon + β·KL")
for b, t in terms.items():
    print(f"{b:4g} {t.recon:7.2f} {t.kl:7.2f} {t.total:10.2f}")
recon = [terms[b].recon for b in betas]
kl = [terms[b].kl for b in betas]
assert recon[0] < recon[1] < recon[2], "reconstruction gets worse as β grows"
assert kl[0] > kl[1] > kl[2], "the KL gets smaller as β grows"

fig = Figure(figsize=(9, 3.2), layout="constrained")
ax1, ax2 = fig.subplots(1, 2)
labels = [f"β={b:g}" for b in betas]
ax1.bar_label(ax1.bar(labels, recon, color="tab:blue"), fmt="%.1f")
ax1.set_ylim(min(recon) - 10, max(recon) + 5)
ax1.set_title("test reconstruction (nats per image)")
ax2.bar_label(ax2.bar(labels, kl, color="tab:orange"), fmt="%.1f")
ax2.set_title("test KL (nats per image)")
show(fig, "beta_sweep.png")

# %% [markdown]
# And the decoded latent plane for each β, over the same 5%–95% quantiles of N(0, 1) as in
# notebook 08. With β = 0 most of the prior's square is space the decoder never trained on, and it
# draws faint, noisy half-digits there; as β grows, the square fills with cleaner digits — but
# blurrier ones: a latent space squeezed towards N(0, I) keeps less detail about each image.

# %%
n = 12
q = plots.normal_quantiles(n)
z1, z2 = np.meshgrid(q, q[::-1])
grid_z = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)  # (144, 2), top row: largest z2
fig = Figure(figsize=(13, 4.6), layout="constrained")
for ax, b in zip(fig.subplots(1, 3), betas):
    ax.imshow(plots.image_grid(models[f"β={b:g}"].decode(grid_z), n, n), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"β={b:g}: decode(z) on the grid")
    ax.set_axis_off()
show(fig, "beta_manifolds.png")
assert grid_z.shape == (n * n, 2) and np.isclose(q[-1], 1.6449, atol=1e-4)

# %% [markdown]
# ## Interpolation in the AE and in the VAE
#
# A straight line between the codes of a test 2 and a test 6, decoded by each model
# (`plots.interpolation`). Both decoders make something of the points in between; the VAE has
# been trained on a neighbourhood of every code (z is sampled around mu), the AE only on the
# codes themselves.

# %%
a, b = plots.first_of_each(digits.y_test, [2, 6])
for name in ("AE", "β=1"):
    path = plots.interpolation(models[name], digits.x_test[a], digits.x_test[b],
                               RUN / f"interpolation_{name}.png")
    display(Image(filename=path))
    assert path.is_file()
assert (digits.y_test[a], digits.y_test[b]) == (2, 6)
