"""Losses: value and input gradients against torch autograd (float64), edge cases, bad input."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_ref import assert_close, t

from tinyvae import bce, bce_with_logits, gradcheck, kl_divergence, mse
from tinyvae.engine.losses import bce_with_logits_plain

SHAPES = [(1, 1), (1, 3), (8, 5), (33, 17)]


def _torch_grad(fn, *arrays):
    ts = [t(a).requires_grad_() for a in arrays]
    value = fn(*ts)
    value.backward()
    return value.item(), [a.grad.numpy() for a in ts]


@pytest.mark.parametrize("shape", SHAPES)
def test_mse_matches_torch(shape, rng):
    x_hat, x = rng.standard_normal(shape), rng.standard_normal(shape)
    loss, dx_hat = mse(x_hat, x)
    ref, (ref_dx_hat, _) = _torch_grad(lambda a, b: F.mse_loss(a, b, reduction="sum") / shape[0], x_hat, x)
    assert_close(loss, ref)
    assert_close(dx_hat, ref_dx_hat)


@pytest.mark.parametrize("shape", SHAPES)
def test_bce_with_logits_matches_torch(shape, rng):
    logits, x = rng.standard_normal(shape) * 4, rng.uniform(size=shape)
    loss, dlogits = bce_with_logits(logits, x)
    ref, (ref_d, _) = _torch_grad(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="sum") / shape[0], logits, x
    )
    assert_close(loss, ref)
    assert_close(dlogits, ref_d)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_fast_equals_plain(dtype, rng):
    """bce_with_logits (the fast twin, what training runs) against bce_with_logits_plain, the equations.

    The gradient is the same arithmetic (max(e, [l ≥ 0]) picks what ``where`` picks), so bit for bit. The
    loss is not: the fast form sums Σ softplus and Σ x·l apart and subtracts them (with log for log1p), so
    its rounding is relative to those sums, not to the loss, which can be far smaller when they cancel:
    |fast - plain| <= 8 eps (Σ softplus + Σ |x·l|) / B (1.5 eps seen over 50 shapes and scales)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither form warns, even at logits of ±1000
        for trial in range(20):
            shape = (int(rng.integers(1, 130)), int(rng.integers(1, 800)))
            logits = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-2, 2.5)).astype(dtype)
            logits.flat[: 2 * (trial % 2)] = (-1000, 1000)[: 2 * (trial % 2)]
            x = rng.uniform(size=shape).astype(dtype)
            x = x.round() if trial % 2 else x  # binary pixels too, where the two sums cancel most
            (loss, dlogits), (loss_plain, dlogits_plain) = bce_with_logits(logits, x), bce_with_logits_plain(logits, x)
            np.testing.assert_array_equal(dlogits, dlogits_plain)
            scale = (np.sum(np.logaddexp(0, logits.astype(np.float64))) + np.sum(np.abs(x * logits))) / shape[0]
            assert abs(float(loss) - float(loss_plain)) <= 8 * np.finfo(dtype).eps * scale
            assert loss.dtype == loss_plain.dtype == dlogits_plain.dtype == dtype


@pytest.mark.parametrize("shape", SHAPES)
def test_bce_on_probabilities_matches_torch(shape, rng):
    x_hat, x = rng.uniform(0.01, 0.99, size=shape), rng.uniform(size=shape)
    loss, dx_hat = bce(x_hat, x)
    ref, (ref_d, _) = _torch_grad(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum") / shape[0], x_hat, x)
    assert_close(loss, ref)
    assert_close(dx_hat, ref_d)


def test_bce_clamps_log_like_torch():
    x_hat = np.array([[0.0, 1.0, 0.5]])
    x = np.array([[1.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, _ = bce(x_hat, x)
    ref = F.binary_cross_entropy(t(x_hat), t(x), reduction="sum").item()
    assert float(loss) == pytest.approx(ref, rel=1e-12)  # 100 + 100 + log 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1.5, -0.25])
def test_bce_refuses_targets_that_are_not_probabilities(bad):
    x = np.array([[1.0, 0.0, bad]])
    match = r"x \(the targets\) with NaN or inf" if not np.isfinite(bad) else r"x \(the targets\) in \[0, 1\]"
    with pytest.raises(ValueError, match=match):
        bce(np.full((1, 3), 0.5), x)


@pytest.mark.parametrize("shape", SHAPES)
def test_kl_matches_torch(shape, rng):
    mu, logvar = rng.standard_normal(shape), rng.standard_normal(shape)
    kl, dmu, dlogvar = kl_divergence(mu, logvar)
    ref, (ref_dmu, ref_dlogvar) = _torch_grad(
        lambda m, lv: -0.5 * torch.sum(1 + lv - m.pow(2) - lv.exp()) / shape[0], mu, logvar
    )
    assert_close(kl, ref)
    assert_close(dmu, ref_dmu)
    assert_close(dlogvar, ref_dlogvar)


def test_kl_is_zero_exactly_at_the_prior_and_positive_elsewhere(rng):
    zeros = np.zeros((3, 4))
    assert float(kl_divergence(zeros, zeros)[0]) == 0.0
    mu, logvar = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert float(kl_divergence(mu, logvar)[0]) > 0


def test_kl_closed_form_agrees_with_monte_carlo():
    rng = np.random.default_rng(7)
    mu, logvar = np.array([[0.3, -1.2]]), np.array([[-0.5, 0.8]])
    std = np.exp(0.5 * logvar)
    z = mu + std * rng.standard_normal((400_000, 2))
    log_q = -0.5 * (((z - mu) / std) ** 2 + logvar + np.log(2 * np.pi))
    log_p = -0.5 * (z**2 + np.log(2 * np.pi))
    mc = np.mean(np.sum(log_q - log_p, axis=1))
    assert float(kl_divergence(mu, logvar)[0]) == pytest.approx(mc, abs=5e-3)


@pytest.mark.parametrize("fn", [mse, bce_with_logits, kl_divergence], ids=lambda f: f.__name__)
def test_finite_differences(fn, rng):
    a, b = rng.standard_normal((4, 3)), rng.uniform(size=(4, 3))
    errors = gradcheck(fn, a, b) if fn is not kl_divergence else gradcheck(fn, a, b - 0.5)
    assert max(errors.values()) < 1e-8, errors


def test_reduction_is_sum_over_features_mean_over_batch():
    x = np.zeros((4, 3))
    x_hat = np.ones((4, 3))
    assert float(mse(x_hat, x)[0]) == 3.0  # 3 features of error 1, averaged over 4 examples


def test_extremes_stay_finite_without_warnings():
    logits = np.array([[-1000.0, 1000.0, 0.0]])
    x = np.array([[0.0, 1.0, 1.0]])
    logvar = np.array([[-50.0, 50.0]], dtype=np.float32)
    mu = np.zeros_like(logvar)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dlogits = bce_with_logits(logits, x)
        kl, dmu, dlogvar = kl_divergence(mu, logvar)
    assert float(loss) == pytest.approx(np.log(2))
    assert np.all(np.isfinite(dlogits)) and np.isfinite(float(kl)) and np.all(np.isfinite(dlogvar))
    assert kl.dtype == np.float32


@pytest.mark.parametrize("fn", [mse, bce, bce_with_logits, kl_divergence], ids=lambda f: f.__name__)
def test_mismatched_shapes_are_refused(fn):
    with pytest.raises(ValueError, match=r"expects .* of shape \(4, 3\), got \(4, 2\)"):
        fn(np.full((4, 3), 0.5), np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match=r"shape \(batch, features\), got \(3,\)"):
        fn(np.full(3, 0.5), np.full(3, 0.5))
