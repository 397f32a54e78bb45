"""Optimizer trajectories against torch.optim from the same start (float64, 100 steps)."""

import numpy as np
import pytest
import torch
from torch_ref import assert_close, leaves, vae_loss_torch

from tinyvae import SGD, VAE, Adam, Linear


def _trajectories(make_ours, make_theirs, steps=100, seed=0):
    rng = np.random.default_rng(seed)
    model = VAE(6, [5, 4], 3, loss="bce", beta=0.7, rng=rng)
    x = rng.uniform(size=(8, 6))
    noise = rng.standard_normal((steps, 8, 3))
    tp = leaves(model.params)
    ours, theirs = make_ours(model), make_theirs(list(tp.values()))
    for step in range(steps):
        model.loss_and_grads(x, eps=noise[step])
        ours.step()
        theirs.zero_grad()
        vae_loss_torch(model, tp, x, noise[step])[0].backward()  # torch's weights are the leaves tp
        theirs.step()
    return model, tp


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}])
def test_adam_follows_torch_for_100_steps(kwargs):
    model, tp = _trajectories(lambda m: Adam(m, **kwargs), lambda p: torch.optim.Adam(p, **kwargs))
    for k, v in model.params.items():
        assert_close(v, tp[k].detach(), k)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_follows_torch_for_100_steps(momentum):
    model, tp = _trajectories(
        lambda m: SGD(m, lr=0.05, momentum=momentum), lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum)
    )
    for k, v in model.params.items():
        assert_close(v, tp[k].detach(), k)


def test_adam_moves_weights_and_lowers_the_loss():
    rng = np.random.default_rng(1)
    model = VAE(6, [8], 2, rng=rng)
    x = rng.uniform(size=(16, 6)).round()
    opt = Adam(model, lr=1e-2)
    eps = np.zeros((16, 2))  # noise-free, so the loss can only go down for a small step
    first = model.loss_and_grads(x, eps=eps).total
    for _ in range(50):
        model.loss_and_grads(x, eps=eps)
        opt.step()
    assert model.loss_and_grads(x, eps=eps).total < first - 0.5
    assert opt.t == 50


def test_first_adam_step_is_lr_times_sign():
    layer = Linear(3, 2, rng=0)
    w0 = layer.params["W"].copy()
    layer.grads["W"] = np.array([[1.0, -2.0, 3.0], [-1e-3, 5.0, -7.0]])
    layer.grads["b"] = np.array([1.0, -1.0])
    Adam(layer, lr=0.1).step()
    # m̂ = g, v̂ = g², so the first update is lr * g / (|g| + eps) ≈ lr * sign(g)
    np.testing.assert_allclose(w0 - layer.params["W"], 0.1 * np.sign(layer.grads["W"]), rtol=1e-4)


def test_bad_learning_rate():
    with pytest.raises(ValueError, match="lr must be positive"):
        Adam(Linear(2, 2, rng=0), lr=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_fast_step_equals_plain(dtype):
    """Adam.step (its fast twin, what training runs) against step_plain, the four equations as written.

    The moments are the same arithmetic, so they agree bit for bit. The step is not: the fast form meets
    the constants in torch's order (lr / (1 - β1ᵗ) and √(1 - β2ᵗ) as scalars), the plain one forms m̂ and
    v̂; each rounds about seven times, so they may differ by 7 eps relative; rtol = 8 eps (3.9 eps seen).
    The weights restart from 0 every step, so the weight after the step is minus the step itself."""
    rng = np.random.default_rng(0)

    class One:
        def __init__(self):
            self.params, self.grads = {"w": np.zeros(20_000, dtype)}, {"w": np.zeros(20_000, dtype)}
    plain, fast = One(), One()
    opt_plain, opt_fast = Adam(plain, lr=1e-3), Adam(fast, lr=1e-3)
    for _ in range(100):
        g = (rng.standard_normal(20_000) * 10.0 ** rng.integers(-3, 3, 20_000)).astype(dtype)
        for one in (plain, fast):
            one.params["w"][...], one.grads["w"][...] = 0, g
        opt_plain.step_plain()
        opt_fast.step()
        for k in ("m.w", "v.w"):
            np.testing.assert_array_equal(opt_plain.state[k], opt_fast.state[k])
        np.testing.assert_allclose(plain.params["w"], fast.params["w"], rtol=8 * np.finfo(dtype).eps, atol=0)
    assert opt_plain.t == opt_fast.t == 100
