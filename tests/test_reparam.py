"""The reparameterization node against torch autograd, and the meaning of logvar."""

import numpy as np
import pytest
import torch
from torch_ref import assert_close, t

from tinyvae import Reparameterize


@pytest.mark.parametrize("shape", [(1, 1), (5, 2), (64, 20)])
def test_matches_torch(shape, rng):
    mu, logvar, eps, dz = (rng.standard_normal(shape) for _ in range(4))
    node = Reparameterize()
    z = node.forward(mu, logvar, eps=eps)
    dmu, dlogvar = node.backward(dz)
    tmu, tlogvar = t(mu).requires_grad_(), t(logvar).requires_grad_()
    tz = tmu + torch.exp(0.5 * tlogvar) * t(eps)
    tz.backward(t(dz))
    assert_close(z, tz.detach())
    assert_close(dmu, tmu.grad)
    assert_close(dlogvar, tlogvar.grad)


def test_logvar_is_log_variance():
    """The numpy-ml bug: treating exp(logvar) as σ. Here z's variance must be exp(logvar)."""
    rng = np.random.default_rng(0)
    n = 200_000
    mu = np.full((n, 2), 1.5)
    logvar = np.tile(np.log([[0.25, 4.0]]), (n, 1))  # σ² = 0.25 and 4
    z = Reparameterize().forward(mu, logvar, rng=rng)
    np.testing.assert_allclose(z.mean(axis=0), [1.5, 1.5], atol=0.02)
    np.testing.assert_allclose(z.var(axis=0), [0.25, 4.0], rtol=0.02)


def test_noise_comes_from_the_explicit_generator():
    mu = logvar = np.zeros((3, 2))
    a = Reparameterize().forward(mu, logvar, rng=np.random.default_rng(5))
    b = Reparameterize().forward(mu, logvar, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(5).standard_normal((3, 2)))


def test_float32_noise_is_float32():
    mu = np.zeros((3, 2), dtype=np.float32)
    z = Reparameterize().forward(mu, mu, rng=np.random.default_rng(0))
    assert z.dtype == np.float32


def test_needs_eps_or_rng_and_matching_shapes():
    node = Reparameterize()
    with pytest.raises(ValueError, match="needs eps or an explicit rng"):
        node.forward(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"logvar of shape \(2, 2\), got \(2, 3\)"):
        node.forward(np.zeros((2, 2)), np.zeros((2, 3)), eps=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"eps of shape \(2, 2\), got \(1, 2\)"):
        node.forward(np.zeros((2, 2)), np.zeros((2, 2)), eps=np.zeros((1, 2)))


def test_backward_before_forward_says_so():
    with pytest.raises(RuntimeError, match=r"Reparameterize.backward called before forward"):
        Reparameterize().backward(np.ones((2, 3)))
