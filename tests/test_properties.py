"""Property-based tests (hypothesis): over random shapes and values, hand-written gradients agree
with finite differences, and bad shapes always raise the documented error."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinyvae import LeakyReLU, Linear, ReLU, Sigmoid, Tanh, bce_with_logits, gradcheck, kl_divergence, mse
from tinyvae.reparam import Reparameterize

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sizes = st.integers(min_value=1, max_value=6)
# Values are 0 or at least 1e-3 in size: a gradient of 1e-48 cannot be told from the rounding noise of a
# finite difference (about 1e-10 |f|), so such inputs test the checker rather than the gradient.
finite = st.one_of(st.just(0.0), st.floats(1e-3, 5), st.floats(-5, -1e-3))


def matrix(rows, cols, elements=finite):
    return arrays(np.float64, (rows, cols), elements=elements)


@SETTINGS
@given(data=st.data(), batch=sizes, n_in=sizes, n_out=sizes, seed=st.integers(0, 2**32 - 1))
def test_linear_gradients_match_finite_differences(data, batch, n_in, n_out, seed):
    x = data.draw(matrix(batch, n_in))
    errors = gradcheck(Linear(n_in, n_out, rng=seed), x)
    assert max(errors.values()) < 1e-7, errors


@SETTINGS
@given(data=st.data(), batch=sizes, n=sizes, act=st.sampled_from([ReLU, LeakyReLU, Sigmoid, Tanh]))
def test_activation_gradients_match_finite_differences(data, batch, n, act):
    # keep 1e-3 away from ReLU's kink, where the derivative does not exist
    x = data.draw(matrix(batch, n, st.one_of(st.floats(1e-3, 5), st.floats(-5, -1e-3))))
    errors = gradcheck(act(), x)
    assert max(errors.values()) < 1e-7, errors


@SETTINGS
@given(data=st.data(), batch=sizes, n=sizes)
def test_loss_gradients_match_finite_differences(data, batch, n):
    a = data.draw(matrix(batch, n))
    target = data.draw(matrix(batch, n, st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-3, 1))))
    for fn, b in ((mse, target), (bce_with_logits, target), (kl_divergence, a[::-1].copy())):
        errors = gradcheck(fn, a, b)
        assert max(errors.values()) < 1e-7, (fn.__name__, errors)


@SETTINGS
@given(data=st.data(), batch=sizes, z=sizes)
def test_reparameterization_gradients_match_finite_differences(data, batch, z):
    mu, logvar, eps, dz = (data.draw(matrix(batch, z)) for _ in range(4))

    def value(m, lv):
        return float(np.sum(Reparameterize().forward(m, lv, eps=eps) * dz))

    node = Reparameterize()
    node.forward(mu, logvar, eps=eps)
    dmu, dlogvar = node.backward(dz)
    from tinyvae.gradcheck import check_gradients

    errors = check_gradients(lambda: value(mu, logvar), {"mu": mu, "logvar": logvar}, {"mu": dmu, "logvar": dlogvar})
    assert max(errors.values()) < 1e-7, errors


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
