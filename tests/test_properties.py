"""Property-based tests (hypothesis): over random shapes and values, hand-written gradients agree
with finite differences, and bad shapes always raise the documented error."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinyvae import LeakyReLU, Linear, ReLU, Sigmoid, Tanh, bce_with_logits, gradcheck, kl_divergence, mse
from tinyvae.engine.gradcheck import EXPECTED_REL_ERROR, check_gradients
from tinyvae.engine.reparam import Reparameterize

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sizes = st.integers(min_value=1, max_value=6)
finite = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)
away_from_zero = st.one_of(st.floats(1e-2, 5), st.floats(-5, -1e-2))


def assert_agrees(errors):
    """gradcheck's verdict on every entry (sample=None): each hand-written gradient within its
    EXPECTED_REL_ERROR of the central difference (tinyvae/engine/gradcheck.py says how it measures)."""
    assert errors.complete and max(errors.values()) < EXPECTED_REL_ERROR, errors.summary()


def matrix(rows, cols, elements=finite):
    return arrays(np.float64, (rows, cols), elements=elements)


@SETTINGS
@given(data=st.data(), batch=sizes, n_in=sizes, n_out=sizes, seed=st.integers(0, 2**32 - 1))
def test_linear_gradients_match_finite_differences(data, batch, n_in, n_out, seed):
    x = data.draw(matrix(batch, n_in))
    assert_agrees(gradcheck(Linear(n_in, n_out, rng=seed), x, seed=seed, sample=None))  # W, b and x


@pytest.mark.parametrize("act", [ReLU, LeakyReLU, Sigmoid, Tanh])  # each its 40 examples: none left undrawn
@SETTINGS
@given(data=st.data(), batch=sizes, n=sizes)
def test_activation_gradients_match_finite_differences(act, data, batch, n):
    # keep 1e-3 away from ReLU's kink, where the derivative does not exist
    x = data.draw(matrix(batch, n, st.one_of(st.floats(1e-3, 5), st.floats(-5, -1e-3))))
    assert_agrees(gradcheck(act(), x, sample=None))


@SETTINGS
@given(data=st.data(), batch=sizes, n=sizes)
def test_loss_gradients_match_finite_differences(data, batch, n):
    """mse and the KL keep 0.01 from their minimum, x_hat = x and mu = logvar = 0, as the activations keep off
    ReLU's kink: there the loss is ~0 made of terms of size ~1 (1 + logvar - exp(logvar); x_hat ± h rounded), so
    its rounding is ~eps, not eps·|loss| as gradcheck's floor allows, and a central difference cannot resolve the
    gradient (mu = logvar = 2.7e-12: the KL's dlogvar 1.3e-12, its central difference 2.8e-11)."""
    a = data.draw(matrix(batch, n))
    target = data.draw(matrix(batch, n, st.floats(0, 1)))
    gap = data.draw(matrix(batch, n, away_from_zero))
    for fn, x, y in ((mse, target + gap, target), (bce_with_logits, a, target), (kl_divergence, gap, gap[::-1].copy())):
        assert_agrees(gradcheck(fn, x, y, sample=None))  # the gradients fn returns, of its leading inputs


@SETTINGS
@given(data=st.data(), batch=sizes, z=sizes)
def test_reparameterization_gradients_match_finite_differences(data, batch, z):
    mu, logvar, eps, dz = (data.draw(matrix(batch, z)) for _ in range(4))

    def value(m, lv):
        return float(np.sum(Reparameterize().forward(m, lv, eps=eps) * dz))

    node = Reparameterize()
    node.forward(mu, logvar, eps=eps)
    dmu, dlogvar = node.backward(dz)
    assert_agrees(check_gradients(lambda: value(mu, logvar), {"mu": mu, "logvar": logvar},
                                  {"mu": dmu, "logvar": dlogvar}, sample=None))


@SETTINGS
@given(n_in=sizes, n_out=sizes, shape=st.lists(st.integers(1, 7), min_size=0, max_size=3))
def test_linear_refuses_every_wrong_shape(n_in, n_out, shape):
    shape = tuple(shape)
    layer = Linear(n_in, n_out, rng=0)
    if len(shape) == 2 and shape[1] == n_in:
        assert layer.forward(np.zeros(shape)).shape == (shape[0], n_out)
    else:
        with pytest.raises(ValueError, match=rf"expects x of shape \(batch, {n_in}\), got \("):
            layer.forward(np.zeros(shape))


@SETTINGS
@given(a=st.tuples(sizes, sizes), b=st.tuples(sizes, sizes), fn=st.sampled_from([mse, bce_with_logits, kl_divergence]))
def test_losses_refuse_mismatched_shapes(a, b, fn):
    if a == b:
        fn(np.full(a, 0.5), np.full(b, 0.5))
    else:
        with pytest.raises(ValueError, match=r"of shape \(\d+, \d+\), got \(\d+, \d+\)"):
            fn(np.full(a, 0.5), np.full(b, 0.5))


@SETTINGS
@given(logits=matrix(2, 3, st.floats(-1000, 1000)), logvar=matrix(2, 3, st.floats(-50, 50)))
def test_extremes_stay_finite(logits, logvar):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, d = bce_with_logits(logits, np.full_like(logits, 0.5))
        kl, dmu, dlogvar = kl_divergence(np.zeros_like(logvar), logvar)
        z = Reparameterize().forward(np.zeros_like(logvar), logvar, eps=np.ones_like(logvar))
    assert np.isfinite(float(loss)) and np.all(np.isfinite(d))
    assert np.isfinite(float(kl)) and np.all(np.isfinite(dlogvar)) and np.all(np.isfinite(z))
