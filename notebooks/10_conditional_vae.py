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
# # 10 · The conditional VAE: asking for a digit
#
# A VAE's samples come out as whatever digit z happens to land on. The conditional VAE (CVAE)
# lets us choose: the digit's label, as a one-hot row c, is handed to the encoder next to x and
# to the decoder next to z.
#
#     c       = onehot(y)                  (B, C)      C = 10 digits
#     h       = encoder([x, c])            (B, H)      the encoder reads D + C numbers
#     mu, logvar = heads(h)                (B, Z) each
#     z       = mu + exp(½ logvar) · eps   (B, Z)
#     x_hat   = σ(decoder([z, c]))         (B, D)      the decoder reads Z + C numbers
#     loss    = recon(x_hat, x) + β · KL(N(mu, σ²) ‖ N(0, I))
#
# The loss is the VAE's. The only new step, forward and backward, is the concatenation `[·, ·]`.
# We first work it through by hand on a tiny CVAE, then train one on the digits and ask it for
# each digit in turn. Code: `tinyvae/models/cvae.py`. Walkthrough: `walkthroughs/10_conditional_vae.md`.

# %%
from pathlib import Path

import numpy as np
from IPython.display import Image, display
from threadpoolctl import threadpool_limits

from tinyvae import CVAE, bce_with_logits, gradcheck, kl_divergence
from tinyvae.training import data
from tinyvae.figures import plots
from tinyvae.engine.gradcheck import numerical_gradient, rel_error
from tinyvae.training.train import fit

threadpool_limits(1)  # one BLAS thread: sums split over threads differ in the last bits, so this fixes every printed number

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(3)

# %% [markdown]
# ## The label as a one-hot row
#
# A tiny model: 6 inputs, a hidden layer of 5, a 2-d latent space, 3 classes. `onehot` turns
# integer labels into rows with a single 1.

# %%
model = CVAE(6, [5], 2, n_classes=3, loss="bce", beta=1.0, rng=0)
B, D, Z, C = 4, 6, 2, 3
x = rng.uniform(0, 1, (B, D))
y = np.array([0, 2, 2, 1])
eps = rng.standard_normal((B, Z))

c = model.onehot(y)
print(c)
assert c.shape == (B, C) and np.array_equal(c.sum(axis=1), np.ones(B)) and np.array_equal(c.argmax(axis=1), y)
print({k: v.shape for k, v in model.params.items() if k.endswith(".0.W")})
assert model.params["encoder.0.W"].shape == (5, D + C)  # the encoder's first layer reads [x, c]
assert model.params["decoder.0.W"].shape == (5, Z + C)  # the decoder's first layer reads [z, c]

# %% [markdown]
# ## Forward by hand
#
# The concatenation puts the columns side by side; everything after it is the VAE of notebook 05.

# %%
P = model.params


def relu(a):
    return np.maximum(a, 0)


xc = np.concatenate([x, c], axis=1)  # (B, D + C)
a1 = xc @ P["encoder.0.W"].T + P["encoder.0.b"]
h = relu(a1)
mu = h @ P["mu.W"].T + P["mu.b"]
logvar = h @ P["logvar.W"].T + P["logvar.b"]
std = np.exp(0.5 * logvar)
z = mu + std * eps
zc = np.concatenate([z, c], axis=1)  # (B, Z + C)
a2 = zc @ P["decoder.0.W"].T + P["decoder.0.b"]
g = relu(a2)
logits = g @ P["decoder.2.W"].T + P["decoder.2.b"]

recon, dlogits = bce_with_logits(logits, x)
kl, dmu_kl, dlogvar_kl = kl_divergence(mu, logvar)
result = model.loss_and_grads(x, y, eps=eps)
print(f"by hand: recon {recon:.6f} + KL {kl:.6f} = {recon + kl:.6f}")
print("library:", result)
assert np.allclose([recon + kl, recon, kl], [result.total, result.recon, result.kl], rtol=1e-12)

# %% [markdown]
# ## Backward through the concatenation
#
# Split the decoder's first weight matrix by the columns it reads: W = [W_z | W_c], with W_z of
# shape (H, Z) and W_c of shape (H, C). Then
#
#     a2 = [z, c] Wᵀ + b = z W_zᵀ + c W_cᵀ + b
#
# so the concatenation is two Linear layers added together, and its backward follows:
#
#     d[z, c] = da2 W   (B, Z + C)    whose first Z columns are  dz = da2 W_z
#                                     and last C columns are     dc = da2 W_c
#     dW      = da2ᵀ [z, c]           whose columns are          [ da2ᵀ z  |  da2ᵀ c ]
#
# `dz` carries on to the reparameterization and the encoder. `dc` is dropped: c is data, nothing
# upstream learns from it. But the weights *on* c, W_c, do learn: their gradient `da2ᵀ c` adds
# up the rows of `da2` that belong to each label, so each label's column is nudged only by the
# images with that label.

# %%
da2 = (dlogits @ P["decoder.2.W"]) * (a2 > 0)
dzc = da2 @ P["decoder.0.W"]  # (B, Z + C): the gradient of the decoder's input
dz, dc = dzc[:, :Z], dzc[:, Z:]
print("dz:\n", dz, "\ndc (discarded):\n", dc)

dW = da2.T @ zc
assert np.allclose(dW, model.grads["decoder.0.W"], rtol=1e-12)
assert np.allclose(dW[:, :Z], da2.T @ z, rtol=1e-12) and np.allclose(dW[:, Z:], da2.T @ c, rtol=1e-12)
for k in range(C):  # column k of W_c's gradient: the sum of da2 over the images labelled k
    assert np.allclose(dW[:, Z + k], da2[y == k].sum(axis=0), rtol=1e-12)
print("label columns of decoder.0.W's gradient:\n", dW[:, Z:])

# %% [markdown]
# Is `dz` — the first Z columns and nothing else — really ∂loss/∂z? Finite differences of the
# loss with c held fixed, changing one number of z at a time, say yes:

# %%
def loss_from_z(z_value):
    g_value = relu(np.concatenate([z_value, c], axis=1) @ P["decoder.0.W"].T + P["decoder.0.b"])
    lg = g_value @ P["decoder.2.W"].T + P["decoder.2.b"]
    return float(bce_with_logits(lg, x)[0] + kl_divergence(mu, logvar)[0])  # the KL does not depend on z


z_var = z.copy()
err_z = rel_error(dz, numerical_gradient(lambda: loss_from_z(z_var), z_var))
print(f"dz vs finite differences: relative error {err_z:.1e}")
assert err_z < 1e-7

# %% [markdown]
# From `dz` on, the backward is the VAE's: `dmu = dz + β mu/B`, `dlogvar = dz · eps · std/2 +
# β (σ² − 1)/2B`, `dh = dmu W_μ + dlogvar W_v`, then through the encoder — whose first weight
# matrix splits the same way, `[W_x | W_c]`. Finally `gradcheck` nudges every parameter of the
# model and compares with `loss_and_grads`, the label columns included:

# %%
dmu = dz + mu / B
dlogvar = dz * eps * std / 2 + (np.exp(logvar) - 1) / (2 * B)
dh = dmu @ P["mu.W"] + dlogvar @ P["logvar.W"]
da1 = dh * (a1 > 0)
assert np.allclose(da1.T @ xc, model.grads["encoder.0.W"], rtol=1e-12)

errors = gradcheck(model, x, y, eps=eps)
for k, v in errors.items():
    print(f"{k:12s} {v:.1e}")
assert set(errors) == set(model.params) and max(errors.values()) < 1e-7

# %% [markdown]
# ## Training on the digits
#
# The same `fit` as for the VAE: `model.labels_for(y)` keeps the labels for a conditional model
# (None for the others), and every batch goes to `loss_and_grads(x, y, ...)`. A 2-d latent space
# again, five epochs.

# %%
digits = data.load()
RUN = Path("runs/10_conditional_vae")
cvae = CVAE(784, [128], 2, n_classes=10, rng=0, dtype=np.float32)
metrics = fit(cvae, digits, epochs=5, batch_size=64, lr=3e-3, seed=0, out_dir=RUN, progress=False)
for m in metrics:
    print(f"epoch {m['epoch']}: test {m['test_loss']:.1f} = recon {m['test_recon']:.1f} "
          f"+ KL {m['test_kl']:.2f}")
assert metrics[-1]["test_loss"] < metrics[0]["test_loss"] < 543  # 543 ≈ 784 log 2, the untrained cost

# %% [markdown]
# ## One row per digit
#
# `cvae.generate(digit, n, rng)` decodes n draws z ~ N(0, I) next to the label `digit`;
# `plots.samples` does it for every digit, one row each.

# %%
path = plots.samples(cvae, RUN / "samples.png", rng=np.random.default_rng(1), n=100)
display(Image(filename=path))
assert path.is_file()

# %% [markdown]
# Does it draw the digit it is asked for? A simple judge: a 5-nearest-neighbour classifier over the
# 4,000 training images (by pixel distance). It gets most real test digits right, and then we
# ask it about 100 generated images of each digit.

# %%
train_x = digits.x_train.astype(np.float64)
train_sq = (train_x**2).sum(axis=1)


def knn_predict(images, k=5):
    """The majority label among the k training images nearest to each image (Euclidean distance)."""
    a = np.asarray(images, dtype=np.float64)
    dist = (a**2).sum(axis=1)[:, None] + train_sq[None, :] - 2 * a @ train_x.T  # (n, 4000), squared
    nearest = np.argpartition(dist, k, axis=1)[:, :k]
    return np.array([np.bincount(row, minlength=10).argmax() for row in digits.y_train[nearest]])


real_acc = np.mean(knn_predict(digits.x_test) == digits.y_test)
print(f"the judge on the 1,000 real test digits: {real_acc:.1%} correct")
assert real_acc > 0.9

gen_rng = np.random.default_rng(2)
hits = np.array([np.mean(knn_predict(cvae.generate(d, 100, gen_rng)) == d) for d in range(10)])
for d in range(10):
    print(f"asked for {d}: {hits[d]:.0%} judged to be a {d}")
print(f"overall: {hits.mean():.1%}")
assert hits.mean() > 0.8 and hits.min() > 0.5

# %% [markdown]
# ## What z holds now: style
#
# The decoder is told the digit, so z no longer has to say which digit it is — only how it is
# written. Decoding the *same* z with each label shows it: each column below is one z ~ N(0, I),
# so a column is one "handwriting" (slant, width, thickness) written as ten digits.

# %%
from matplotlib.figure import Figure

z_style = np.random.default_rng(4).standard_normal((8, 2)).astype(np.float32)
rows = [cvae.decode(z_style, np.full(8, d)) for d in range(10)]  # row d: the 8 styles as digit d
fig = Figure(figsize=(5, 6.4), layout="constrained")
ax = fig.subplots()
ax.imshow(plots.image_grid(np.concatenate(rows), 10, 8), cmap="gray", vmin=0, vmax=1)
ax.set_yticks([14 + 29 * d for d in range(10)], [str(d) for d in range(10)])
ax.set_xticks([])
ax.set_ylabel("label given to the decoder")
ax.set_title("same z down each column")
fig.savefig(RUN / "styles.png", dpi=90)
display(Image(filename=RUN / "styles.png"))
assert np.array_equal(rows[7], cvae.decode(z_style, np.full(8, 7)))

# %% [markdown]
# The latent scatter tells the same story. A plain VAE's z has to say which digit it is, so each
# digit's points gather in their own region (notebook 08). Here the colours overlap, because the
# label, not z, says which digit it is. To measure it, we train a plain VAE of the same sizes the
# same way, and ask in both latent spaces how often a test image lies nearest to the centre of its
# own digit's cloud.

# %%
from tinyvae import VAE

vae = VAE(784, [128], 2, rng=0, dtype=np.float32)
fit(vae, digits, epochs=5, batch_size=64, lr=3e-3, seed=0, progress=False)


def nearest_centre_agreement(points, labels):
    """The fraction of points nearest to the mean of their own label's points."""
    centres = np.stack([points[labels == d].mean(axis=0) for d in range(10)])
    nearest = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    return float(np.mean(nearest == labels))


path = plots.latent_scatter(cvae, digits.x_test, digits.y_test, RUN / "latent_scatter.png")
display(Image(filename=path))
agree_cvae = nearest_centre_agreement(cvae.embed(digits.x_test, digits.y_test), digits.y_test)
agree_vae = nearest_centre_agreement(vae.embed(digits.x_test), digits.y_test)
print(f"nearest to their own digit's centre: VAE {agree_vae:.0%}, CVAE {agree_cvae:.0%} (chance: 10%)")
assert agree_cvae < agree_vae - 0.1 and path.is_file()
