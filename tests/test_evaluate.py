"""The test negative ELBO and the IWAE bound: formulas checked by hand, and the bound's properties."""

import math

import numpy as np
import pytest

from tinyvae.training import data as D
from tinyvae.models.ae import AE
from tinyvae.models.cvae import CVAE
from tinyvae.models.ranges import ParameterError
from tinyvae.training.evaluate import eval_loss, evaluate, iwae_bound, log_weights, logsumexp
from tinyvae.training.train import fit
from tinyvae.models.vae import VAE


@pytest.fixture(scope="module")
def trained():
    data = D.load(dtype=np.float64).subset(600, 100)
    model = VAE(784, [32], 2, rng=np.random.default_rng(0), dtype=np.float64)
    fit(model, data, epochs=3, batch_size=32)
    return model, data


def test_log_weights_match_the_densities_written_out(trained, rng):
    model, data = trained
    x = data.x_test[:4]
    eps = rng.standard_normal((4, 3, 2))
    lw = log_weights(model, x, eps=eps)
    mu, logvar = model.encode(x)
    for i in range(4):
        for k in range(3):
            std = np.exp(0.5 * logvar[i])
            z = mu[i] + std * eps[i, k]
            x_hat = model.decode(z[None])[0]
            log_px = np.sum(x[i] * np.log(x_hat) + (1 - x[i]) * np.log1p(-x_hat))
            log_pz = np.sum(-0.5 * z**2 - 0.5 * math.log(2 * math.pi))
            log_qz = np.sum(-0.5 * ((z - mu[i]) / std) ** 2 - np.log(std) - 0.5 * math.log(2 * math.pi))
            assert lw[i, k] == pytest.approx(log_px + log_pz - log_qz, rel=1e-10)


def test_iwae_with_one_sample_is_the_elbo_for_the_same_eps(trained):
    model, data = trained
    x = data.x_test
    eps = np.random.default_rng(3).standard_normal((len(x), 1, 2))
    iwae1 = iwae_bound(model, x, k=1, rng=np.random.default_rng(3))  # draws the same eps
    mu, logvar = model.encode(x)
    z = mu + np.exp(0.5 * logvar) * eps[:, 0]
    logits = model.decoder.forward(z)
    recon = np.sum(np.logaddexp(0, logits) - x * logits, axis=1)  # -log p(x|z), BCE from the logits
    kl_sampled = np.sum(0.5 * z**2 - 0.5 * eps[:, 0] ** 2 - 0.5 * logvar, axis=1)  # log q(z|x) - log p(z)
    assert iwae1 == pytest.approx(np.mean(recon + kl_sampled), rel=1e-12)


def test_eval_loss_is_recon_plus_closed_form_kl(trained):
    model, data = trained
    x = data.x_test
    loss = eval_loss(model, x, rng=np.random.default_rng(5), batch_size=37)  # uneven batches
    eps = np.random.default_rng(5)
    mu, logvar = model.encode(x)
    recon = []
    for s in range(0, len(x), 37):  # the same draws, batch by batch
        m, lv = mu[s : s + 37], logvar[s : s + 37]
        z = m + np.exp(0.5 * lv) * eps.standard_normal(m.shape)
        lg = model.decoder.forward(z)
        recon.append(np.sum(np.logaddexp(0, lg) - x[s : s + 37] * lg, axis=1))
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)
    assert loss.recon == pytest.approx(np.mean(np.concatenate(recon)), rel=1e-12)
    assert loss.kl == pytest.approx(np.mean(kl), rel=1e-12)


def test_iwae_tightens_with_k(trained):
    model, data = trained
    x = data.x_test
    b = {k: iwae_bound(model, x, k=k, rng=np.random.default_rng(11)) for k in (1, 10, 100)}
    elbo = eval_loss(model, x, rng=np.random.default_rng(11)).total
    assert b[100] < b[10] < b[1]
    assert b[10] < elbo - 1.0  # the bound is tighter than the ELBO by more than a nat here
    assert abs(b[1] - elbo) < 3.0  # the same quantity, with the KL sampled instead of exact


def test_logsumexp_does_not_overflow():
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(logsumexp(a, axis=1), [1000 + math.log(2), -1000 + math.log(2)], rtol=1e-15)


def test_mse_gaussian_constant_and_other_models(rng):
    x = rng.random((20, 784))
    mse = VAE(784, [8], 2, loss="mse", rng=0, dtype=np.float64)
    r = evaluate(mse, x, k=4)
    loss = eval_loss(mse, x, rng=np.random.default_rng(0))
    const = 392 * math.log(math.pi)
    assert r["neg_elbo"] == pytest.approx(loss.recon + loss.kl + const, rel=1e-12)
    assert r["likelihood"] == "gaussian, variance 1/2"
    ae = AE(784, [8], 2, rng=0, dtype=np.float64)
    assert set(evaluate(ae, x)) == {"images", "model", "loss", "recon", "grey_pixels", "active_units"}
    with pytest.raises(ValueError, match="needs an encoder distribution q\\(z\\|x\\)"):
        iwae_bound(ae, x, k=5, rng=rng)
    cvae = CVAE(784, [8], 2, rng=0, dtype=np.float64)
    y = np.arange(20) % 10
    rc = evaluate(cvae, x, y, k=5)
    assert rc["iwae"] < rc["neg_elbo"] + 5 and math.isfinite(rc["iwae"])
    for k in (0, 100_001, 2.0, True):  # one range (evaluate.IWAE_K), refused at evaluate's door and iwae_bound's
        with pytest.raises(ParameterError, match=r"^k must be an integer from 1 to 100,000 IWAE samples per image"):
            iwae_bound(cvae, x, y, k=k, rng=rng)
        with pytest.raises(ParameterError, match=r"^k must be an integer from 1 to 100,000 IWAE samples per image"):
            evaluate(cvae, x, y, k=k)


# ---- honest likelihoods: dynamic binarization and what the figures bound ----------------------------
def test_dynamic_binarization_draws_the_training_pixels_each_epoch_and_the_test_set_once():
    grey = D.load(dtype=np.float64).subset(64, 50)
    dyn = D.load(dtype=np.float64, binarize="dynamic").subset(64, 50)
    share = float(np.mean((grey.x_test > 0) & (grey.x_test < 1)))
    assert share > 0.1 and dyn.binarize == "dynamic"
    assert set(np.unique(dyn.x_test)) == {0.0, 1.0}
    assert np.array_equal(dyn.x_test, D.load(dtype=np.float64, binarize="dynamic").subset(64, 50).x_test)
    assert np.array_equal(dyn.x_train, grey.x_train)  # the training pixels stay probabilities for fit
    # P(black) = the grey level: over many draws the mean of a pixel is its grey level
    draws = np.mean([D.bernoulli_draw(grey.x_test[:5], np.random.default_rng(s)) for s in range(2000)], axis=0)
    assert np.abs(draws - grey.x_test[:5]).max() < 0.05
    seen = []
    model = VAE(784, [8], 2, rng=0, dtype=np.float64)
    real = model._loss_and_grads  # what train_epoch calls on each batch
    model._loss_and_grads = lambda xb, *args, **kw: (seen.append(xb.copy()), real(xb, *args, **kw))[1]
    fit(model, dyn, epochs=2, batch_size=64, seed=0)
    assert len(seen) == 2 and all(set(np.unique(b)) == {0.0, 1.0} for b in seen)
    assert seen[0].sum() != seen[1].sum()  # the same 64 images: a reshuffle keeps the sum, a fresh draw does not
    with pytest.raises(ValueError, match="binarize must be one of none, static, dynamic"):
        D.load(binarize="sometimes")
    assert D.binarize_mode(True) == "static" and D.binarize_mode(False) == "none"


def test_the_figures_are_called_bounds_only_on_binary_pixels(rng):
    x_grey = rng.random((20, 784))
    x_bin = (rng.random((20, 784)) < 0.3).astype(np.float64)
    vae = VAE(784, [8], 2, rng=0, dtype=np.float64)
    assert evaluate(vae, x_grey, k=2)["bound_on"] is None
    assert evaluate(vae, x_bin, k=2)["bound_on"] == "-log p(x)"
    assert evaluate(vae, x_grey, k=2)["grey_pixels"] == pytest.approx(1.0)
    assert evaluate(VAE(784, [8], 2, loss="mse", rng=0, dtype=np.float64), x_grey, k=2)["bound_on"] == "-log p(x)"
    y = np.arange(20) % 10
    assert evaluate(CVAE(784, [8], 2, rng=0, dtype=np.float64), x_bin, y, k=2)["bound_on"] == "-log p(x | y)"


def test_evaluate_command_says_bound_only_for_a_dynamically_binarized_run(cli_run, capsys):
    from tinyvae.cli import main

    for mode in ("dynamic", "none"):
        run = cli_run(*(["--binarize", mode] if mode != "none" else [])).folder
        assert main(["evaluate", str(run), "--iwae", "3"]) == 0
        out = capsys.readouterr().out
        if mode == "dynamic":
            assert "both estimate upper bounds on -log p(x) (E[IWAE] >= -log p(x); binarization: dynamic" in out
        else:
            assert "not bounds on -log p(x)" in out and "sub-normalised" in out and "% of the test pixels are grey" in out
            assert "upper bound" not in out


def test_loss_labels_say_negative_elbo_and_nats_only_where_true():
    from tinyvae.training.evaluate import loss_labels

    vae = loss_labels({"model": "vae", "loss": "bce", "beta": 1.0, "x_dim": 784})
    assert vae["total"] == "total loss (negative ELBO)" and vae["unit"] == "nats per image"
    for cfg in ({"model": "vae", "loss": "bce", "beta": 4.0}, {"model": "cvae", "loss": "mse", "beta": 1.0},
                {"model": "ae", "loss": "bce"}, {"model": "ae", "loss": "mse"}):
        names = loss_labels(cfg)
        assert "(negative ELBO)" not in names["total"]
        assert (names["unit"] == "nats per image") == (cfg["model"] == "ae" and cfg["loss"] == "bce")
    mse = loss_labels({"model": "vae", "loss": "mse", "beta": 1.0, "x_dim": 784})
    assert "not nats" in mse["recon"] and f"{392 * math.log(math.pi):.2f}" in mse["recon"]


# ---- active units ------------------------------------------------------------------------------------
def test_active_units_count_the_dimensions_whose_mean_varies(rng):
    from tinyvae.training.evaluate import active_units

    x = rng.random((200, 784))
    model = VAE(784, [16], 3, rng=0, dtype=np.float64)
    model.params["mu.W"][1] = 0.0  # latent dimension 1: the same mean for every image
    model.params["encoder.0.W"][:4] = -1.0  # four hidden units whose ReLU is always 0
    model.params["mu.W"][2] *= 50  # dimension 2: strongly varying
    au = active_units(model, x)
    mu = model.encode(x)[0]
    h = np.maximum(x @ model.params["encoder.0.W"].T + model.params["encoder.0.b"], 0)
    np.testing.assert_allclose(au["latent_variance"], mu.var(axis=0), rtol=1e-9, atol=1e-15)
    assert au["latent"] == (int(np.sum(mu.var(axis=0) > 0.01)), 3) and au["latent_variance"][1] == 0.0
    assert au["layers"] == {"encoder.1": (int(np.sum(h.var(axis=0) > 0.01)), 16)}
    assert au["layers"]["encoder.1"][0] <= 12
    ae = AE(784, [16], 2, rng=0, dtype=np.float64)
    assert active_units(ae, x)["latent"] == (int(np.sum(ae.encode(x)[0].var(axis=0) > 0.01)), 2)


def test_a_dynamically_binarized_run_resumes_to_the_same_weights(tmp_path):
    """The draws come from the run's own generator, which the checkpoint saves: resuming changes nothing."""
    dyn = D.load(dtype=np.float64, binarize="dynamic").subset(96, 20)
    once = VAE(784, [8], 2, rng=0)
    fit(once, dyn, epochs=2, batch_size=32, seed=3)
    twice = VAE(784, [8], 2, rng=0)
    fit(twice, dyn, epochs=1, batch_size=32, seed=3, out_dir=tmp_path)
    fit(twice, dyn, epochs=2, batch_size=32, seed=3, out_dir=tmp_path, resume=True)
    assert all(np.array_equal(once.params[k], twice.params[k]) for k in once.params)


def test_evaluating_an_autoencoder_leaves_its_gradients_alone(rng):
    ae = AE(784, [8], 2, rng=0, dtype=np.float64)
    x = rng.random((6, 784))
    loss = ae.loss_and_grads(x)
    before = {k: g.copy() for k, g in ae.grads.items()}
    assert eval_loss(ae, x, rng=rng, batch_size=4).recon == pytest.approx(loss.recon, rel=1e-12)
    for k, g in ae.grads.items():
        np.testing.assert_array_equal(g, before[k])


@pytest.mark.parametrize("k", [5, 37])
def test_iwae_streams_large_k_in_chunks_with_the_same_numbers(trained, monkeypatch, k):
    """Above ROWS_PER_CHUNK samples the bound streams chunks of K per image (bounded memory) and draws
    the same noise, so it gives the bound the all-at-once computation gives."""
    from tinyvae.training import evaluate as E

    model, data = trained
    x = data.x_test[:7]
    whole = iwae_bound(model, x, k=k, rng=np.random.default_rng(4))
    monkeypatch.setattr(E, "ROWS_PER_CHUNK", 4)  # k > 4: one image and 4 samples at a time
    streamed = iwae_bound(model, x, k=k, rng=np.random.default_rng(4))
    assert streamed == pytest.approx(whole, rel=1e-12)


def test_iwae_memory_is_bounded_whatever_k(trained, monkeypatch):
    """K = 100,000 samples (the most evaluate.IWAE_K allows) of one image with chunks of 512 decoder rows:
    memory follows the chunk, not K."""
    import tracemalloc

    from tinyvae.training import evaluate as E

    monkeypatch.setattr(E, "ROWS_PER_CHUNK", 512)
    model, data = trained
    tracemalloc.start()
    b = iwae_bound(model, data.x_test[:1], k=100_000, rng=np.random.default_rng(0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert math.isfinite(b)
    chunk = 512 * 784 * 8  # one chunk's repeated images, float64
    all_at_once = 100_000 * 784 * 8  # 627 MB
    assert peak < 8 * chunk, peak  # about 13 MB here
    assert 8 * chunk < all_at_once / 20
