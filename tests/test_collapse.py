"""Posterior collapse: the latent diagnostics of every epoch, the collapse rule, and the two remedies (KL
warm-up and free bits) with their gradients against torch autograd (float64, rtol 1e-10) and gradcheck."""

import json
import math

import numpy as np
import pytest
import torch
from torch_ref import assert_close, assert_matches_torch, kl_free_bits_torch, t

from tinyvae import CVAE, VAE, ConvVAE, gradcheck
from tinyvae.engine.gradcheck import EXPECTED_REL_ERROR
from tinyvae.engine.losses import kl_divergence, kl_free_bits, kl_per_dim
from tinyvae.models.ae import AE
from tinyvae.models.registry import build_model
from tinyvae.training import data as D
from tinyvae.training import diagnostics, schema
from tinyvae.training.checkpoint import load_checkpoint
from tinyvae.training.evaluate import active_units, eval_loss
from tinyvae.training.parallel import DataParallel
from tinyvae.training.loop import warmup_beta
from tinyvae.training.train import check_kl_warmup, fit


def _posterior(rng, batch=6, z_dim=5):
    """mu, logvar whose dimensions' batch-mean KLs spread from about 0.02 to about 3 nats."""
    scale = np.geomspace(0.1, 2.0, z_dim)
    return rng.standard_normal((batch, z_dim)) * scale, rng.standard_normal((batch, z_dim)) * 0.3 * scale


# ---- free bits: the loss itself ---------------------------------------------------------------------
@pytest.mark.parametrize("batch,z_dim", [(1, 1), (6, 5), (33, 8)])
def test_free_bits_matches_torch_and_silences_the_dimensions_below_the_floor(batch, z_dim, rng):
    mu, logvar = _posterior(rng, batch, z_dim)
    kl_j = kl_per_dim(mu, logvar) / batch
    lam = float(np.median(kl_j)) * 1.01 if z_dim > 1 else float(kl_j[0]) * 2  # some dimensions each side
    obj, kl, dmu, dlogvar = kl_free_bits(mu, logvar, lam)
    tmu, tlv = t(mu).requires_grad_(), t(logvar).requires_grad_()
    ref = kl_free_bits_torch(tmu, tlv, lam)
    ref.backward()
    assert_close(obj, ref.item(), "objective")
    assert_close(dmu, tmu.grad.numpy(), "dmu")
    assert_close(dlogvar, tlv.grad.numpy(), "dlogvar")
    assert_close(kl, float(kl_divergence(mu, logvar)[0]), "the plain KL")
    below = kl_j < lam
    assert below.any()
    assert np.all(dmu[:, below] == 0) and np.all(dlogvar[:, below] == 0)  # exactly: no gradient below λ
    assert float(obj) == pytest.approx(lam * below.sum() + kl_j[~below].sum(), rel=1e-12)


def test_free_bits_of_zero_is_the_plain_kl(rng):
    mu, logvar = _posterior(rng)
    obj, kl, dmu, dlogvar = kl_free_bits(mu, logvar, 0.0)
    ref, rmu, rlv = kl_divergence(mu, logvar)
    assert_close(obj, ref)
    assert_close(kl, ref)
    assert_close(dmu, rmu)
    assert_close(dlogvar, rlv)


def test_free_bits_finite_differences(rng):
    mu, logvar = _posterior(rng)
    lam = 0.5  # between the dimensions' KLs, none within a step h of it
    assert np.min(np.abs(kl_per_dim(mu, logvar) / 6 - lam)) > 1e-3
    errors = gradcheck(lambda m, lv: (kl_free_bits(m, lv, lam)[0], *kl_free_bits(m, lv, lam)[2:]), mu, logvar)
    assert max(errors.values()) < 1e-8, errors


# ---- free bits and the β of one step, in whole models ---------------------------------------------------
def _off_the_kinks(model):
    """The conv model starts with zero biases (Keras's init), so a ReLU whose window sees only padding has
    an input of exactly 0, its kink, where finite differences cannot differentiate: small positive biases
    move every such unit off it (the gradients are checked at that point, as at any other)."""
    rng = np.random.default_rng(5)
    for name, p in model.params.items():
        if name.endswith(".b"):
            p[...] = rng.uniform(0.05, 0.15, p.shape)
    return model


def _models(free_bits):
    return [VAE(7, [6, 5], 3, loss="bce", beta=2.0, free_bits=free_bits, rng=1),
            VAE(6, [5], 2, loss="mse", output="identity", activation="tanh", free_bits=free_bits, rng=2),
            CVAE(5, [4], 2, n_classes=3, beta=0.5, free_bits=free_bits, rng=3),
            _off_the_kinks(ConvVAE(16, channels=(2, 3), hidden_dim=4, z_dim=2, free_bits=free_bits, rng=4))]


def _batch(model, rng, n=5):
    x = rng.uniform(size=(n, model.x_dim)) if model.output == "sigmoid" else rng.standard_normal((n, model.x_dim))
    y = rng.integers(0, model.n_classes, n) if model.n_classes else None
    return x, y, rng.standard_normal((n, model.z_dim))


@pytest.mark.parametrize("i", range(4), ids=["vae-bce", "vae-mse", "cvae", "conv"])
@pytest.mark.parametrize("beta", [None, 0.3])
def test_free_bits_and_a_step_beta_match_torch_and_finite_differences(i, beta, rng):
    """λ between the dimensions' KLs (one above, one below): the mask matters, and is checked."""
    model = _models(0.0)[i]
    x, y, eps = _batch(model, rng)
    mu, logvar = model.encode(x, y)
    kl_j = kl_per_dim(mu, logvar) / x.shape[0]
    lam = float(np.sqrt(kl_j.min() * kl_j.max()))  # geometric middle: some dimension on each side
    assert kl_j.min() < lam < kl_j.max()
    model = _models(lam)[i]
    got = assert_matches_torch(model, x, y, eps, beta=beta)
    b = model.beta if beta is None else beta
    assert got.total == pytest.approx(got.recon + b * (lam * np.sum(kl_j < lam) + kl_j[kl_j >= lam].sum()), rel=1e-12)
    errors = gradcheck(model, x, *([y] if y is not None else []), eps=eps, beta=beta)
    assert max(errors.values()) < EXPECTED_REL_ERROR, errors


def test_a_broken_free_bits_mask_is_caught(rng, monkeypatch):
    """Let the KL's gradient through below λ too: torch parity must fail."""
    from tinyvae.models import vae as vae_module

    model = _models(0.0)[0]
    x, _, eps = _batch(model, rng)
    model.free_bits = 1e3  # every dimension below the floor: torch says no KL gradient at all
    monkeypatch.setattr(vae_module, "kl_free_bits", lambda mu, lv, lam: (lam * mu.shape[1], *kl_divergence(mu, lv)))
    with pytest.raises(AssertionError):
        assert_matches_torch(model, x, eps=eps)


def test_free_bits_is_kept_in_the_config_and_the_checkpoint(tmp_path, rng):
    for model in _models(0.25):
        cfg = model.config()
        assert cfg["free_bits"] == 0.25 and build_model(cfg, dtype=np.float64).free_bits == 0.25
        assert schema.check_architecture_config(json.loads(json.dumps(cfg)))["free_bits"] == 0.25
    assert "free_bits" not in VAE(4, [3], 2).config()  # 0: the plain KL, as every older run
    data = D.load(dtype=np.float64).subset(60, 20)
    fit(VAE(784, [8], 2, free_bits=0.5, rng=0), data, epochs=1, out_dir=tmp_path)
    model, _, _ = load_checkpoint(tmp_path / "checkpoint.npz")
    assert model.free_bits == 0.5


@pytest.mark.parametrize("bad", [-1, -0.1, float("nan"), float("inf"), "0.5", True])
def test_free_bits_refuses_what_is_not_a_number_of_nats(bad):
    with pytest.raises(ValueError, match="free_bits must be"):
        VAE(4, [3], 2, free_bits=bad)
    with pytest.raises(ValueError, match="free_bits must be"):
        ConvVAE(16, channels=(2, 2), hidden_dim=2, free_bits=bad)


@pytest.mark.parametrize("cfg,match", [
    ({"model": "vae", "x_dim": 4, "hidden_dims": [3], "z_dim": 2, "loss": "bce", "free_bits": -1}, r"free_bits: expected"),
    ({"model": "ae", "x_dim": 4, "hidden_dims": [3], "z_dim": 2, "loss": "bce", "free_bits": 1}, r"architecture: free_bits acts on the KL term, which a plain autoencoder \(model='ae'\) does not have"),
])
def test_the_schema_refuses_free_bits_out_of_range_or_on_an_ae(cfg, match):
    with pytest.raises(ValueError, match=match):
        schema.check_architecture_config(cfg)


def test_data_parallel_refuses_free_bits():
    with pytest.raises(ValueError, match=r"workers must be 1 with free_bits=0.5, got 2"):
        DataParallel(VAE(4, [3], 2, free_bits=0.5), 2)


# ---- KL warm-up ----------------------------------------------------------------------------------------
def test_warmup_schedule():
    assert [warmup_beta(2.0, e, 4) for e in range(1, 7)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert [warmup_beta(3.0, e, 0) for e in (1, 2)] == [3.0, 3.0]
    assert warmup_beta(0.7, 10, 10) == 0.7  # exactly β from epoch N on
    assert check_kl_warmup(3, 3) == 3
    for bad, match in [(4, "kl_warmup must be from 0 to epochs=3, the run's length, got 4"), (-1, "kl_warmup must be"), (1.5, "kl_warmup must be"),
                       (True, "kl_warmup must be")]:
        with pytest.raises(ValueError, match=match):
            check_kl_warmup(bad, 3)


@pytest.fixture(scope="module")
def digits():
    return D.load(dtype=np.float64).subset(150, 60)


def test_fit_trains_each_epoch_with_its_warmup_beta(digits):
    model, seen = VAE(784, [8], 2, beta=2.0, rng=0), []
    step = model._loss_and_grads  # what train_epoch calls on its batches (their values checked once)
    model._loss_and_grads = lambda *a, **k: (seen.append(k["beta"]), step(*a, **k))[1]
    metrics = fit(model, digits, epochs=5, batch_size=50, kl_warmup=4)
    assert sorted(set(seen)) == [0.5, 1.0, 1.5, 2.0] and seen == [b for b in (0.5, 1.0, 1.5, 2.0, 2.0) for _ in range(3)]
    assert model.beta == 2.0  # the model's own β is never changed
    assert all(m["test_loss"] == pytest.approx(m["test_recon"] + 2.0 * m["test_kl"], rel=1e-12) for m in metrics)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("kw", [dict(kl_warmup=3), dict(free_bits=0.4), dict(kl_warmup=2, free_bits=0.4)],
                         ids=["warmup", "free-bits", "both"])
def test_an_interrupted_run_resumes_to_the_weights_of_one_long_run(digits, tmp_path, kw):
    warmup, free = kw.get("kl_warmup", 0), kw.get("free_bits", 0.0)

    def model(seed=0):
        return VAE(784, [16], 2, free_bits=free, rng=seed)

    full = model()
    m_full = fit(full, digits, epochs=4, batch_size=50, seed=7, kl_warmup=warmup, out_dir=tmp_path / "full")

    def stop_after_2(row):
        if row["epoch"] == 2:
            raise _Stop  # after epoch 2's checkpoint: as if the process were killed there

    with pytest.raises(_Stop):
        fit(model(), digits, epochs=4, batch_size=50, seed=7, kl_warmup=warmup, out_dir=tmp_path / "part",
            on_epoch=stop_after_2)
    resumed = model(seed=99)
    m_res = fit(resumed, digits, epochs=4, batch_size=50, seed=7, kl_warmup=warmup, out_dir=tmp_path / "part",
                resume=True)
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k])
    drop = ("seconds", "train_seconds")
    assert [{k: v for k, v in m.items() if k not in drop} for m in m_res] == \
           [{k: v for k, v in m.items() if k not in drop} for m in m_full]
    if warmup:
        with pytest.raises(ValueError, match=f"with kl_warmup={warmup}; kl_warmup=0 would change it"):
            fit(model(), digits, epochs=4, out_dir=tmp_path / "part", resume=True)


# ---- the diagnostics ---------------------------------------------------------------------------------
def test_kl_per_dim_sums_to_the_test_kl_and_active_units_are_evaluates(digits):
    model = VAE(784, [16], 3, rng=0)
    fit(model, digits, epochs=2, batch_size=50)
    x = digits.x_test
    got = diagnostics.latent_diagnostics(model, x, batch_size=25)  # in chunks
    kl = eval_loss(model, x, rng=np.random.default_rng(0)).kl
    assert len(got["kl_per_dim"]) == 3 and math.fsum(got["kl_per_dim"]) == pytest.approx(kl, rel=1e-10)
    mu, logvar = model.encode(x)
    np.testing.assert_allclose(got["kl_per_dim"], np.mean(-0.5 * (1 + logvar - mu**2 - np.exp(logvar)), axis=0),
                               rtol=1e-12)
    assert got["active_units"] == active_units(model, x)["latent"][0]
    ae = diagnostics.latent_diagnostics(AE(784, [16], 3, rng=0), x)
    assert set(ae) == {"active_units"}  # an AE has no posterior: no KL per dimension


def test_the_collapse_rule_is_less_than_one_bit():
    assert diagnostics.collapsed([0.3, 0.39]) and not diagnostics.collapsed([0.3, 0.4])  # log 2 = 0.6931
    assert diagnostics.collapsed([math.log(2) - 1e-12]) and not diagnostics.collapsed([math.log(2)])
    assert diagnostics.still_rising([{"test_kl": 0.1}]) and diagnostics.still_rising([{"test_kl": 0.1}, {"test_kl": 0.2}])
    assert not diagnostics.still_rising([{"test_kl": 0.3}, {"test_kl": 0.2}])
    line = diagnostics.collapse_warning({"loss": "mse", "beta": 1.0}, [0.01, 0.0], 0)
    assert "\n" not in line and "collapse" in line and "variance ½" in line and diagnostics.PAGE in line
    for remedy in ("--kl-warmup", "--free-bits", "--beta"):
        assert remedy in line
    more = diagnostics.collapse_warning({"loss": "bce", "beta": 30.0, "free_bits": 0.5}, [0.01, 0.0], 0, kl_warmup=10)
    assert "a --kl-warmup longer than 10, --free-bits above 0.5, a lower --beta" in more and "β = 30" in more
    young, settled = [{"test_kl": 0.01}, {"test_kl": 0.05}], [{"test_kl": 0.5}, {"test_kl": 0.05}]
    assert not diagnostics.should_warn([0.05], young) and diagnostics.should_warn([0.05], settled)
    assert not diagnostics.should_warn([0.7], settled)


def test_the_schema_checks_the_diagnostics_against_the_models_z_dim(tmp_path, digits):
    fit(VAE(784, [8], 2, rng=0), digits, epochs=1, out_dir=tmp_path)
    from tinyvae.training.checkpoint import read_checkpoint

    meta = read_checkpoint(tmp_path / "checkpoint.npz").meta
    assert len(meta["metrics"][0]["kl_per_dim"]) == 2
    for bad, match in [({"kl_per_dim": [0.1, 0.2, 0.3]}, "kl_per_dim has 3 numbers"),
                       ({"active_units": 3}, "active_units is 3"), ({"kl_per_dim": ["x", 1]}, r"kl_per_dim\[0\]"),
                       ({"active_units": -1}, "active_units: expected")]:
        broken = json.loads(json.dumps(meta))
        broken["metrics"][0].update(bad)
        with pytest.raises(ValueError, match=match):
            schema.check_meta(broken)


def test_the_kl_bounds_the_information_the_code_carries_as_the_docstring_says(rng):
    """diagnostics' docstring: mean KL(q(z|x_n) ‖ p) = I(x; z) + KL(q(z) ‖ p), so the KL bounds I(x; z).
    Each side integrated on a grid over a 2-D latent, for 40 posteriors q(z|x_n) = N(mu_n, diag σ_n²)."""
    n = 40
    mu = rng.uniform(-2, 2, (n, 2))
    logvar = np.log(rng.uniform(0.3, 1.0, (n, 2)) ** 2)
    axis = np.linspace(-8, 8, 321)
    g1, g2 = np.meshgrid(axis, axis, indexing="ij")
    z, cell = np.stack([g1.ravel(), g2.ravel()], axis=1), (axis[1] - axis[0]) ** 2  # (G, 2)

    def log_normal(z, m, lv):  # log N(z; m, diag e^lv), (G,)
        return -0.5 * np.sum((z - m) ** 2 / np.exp(lv) + lv + np.log(2 * np.pi), axis=1)

    log_q = np.stack([log_normal(z, mu[i], logvar[i]) for i in range(n)])  # (n, G)
    q = np.exp(log_q)
    q_agg = q.mean(axis=0)
    log_q_agg = np.log(np.maximum(q_agg, 1e-300))
    info = np.sum(q * (log_q - log_q_agg)) * cell / n  # I(x; z) for x uniform over the n images
    kl_agg = np.sum(q_agg * (log_q_agg - log_normal(z, 0.0, np.zeros(2)))) * cell
    mean_kl = float(np.sum(kl_per_dim(mu, logvar))) / n
    assert info + kl_agg == pytest.approx(mean_kl, rel=1e-8)  # measured: 1e-10
    assert 0 < info < mean_kl and info <= math.log(n)  # the code tells at most which of the n images it saw
