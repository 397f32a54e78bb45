"""AE and CVAE: hand-written backward against torch autograd, finite differences, label checks.

The torch side rebuilds each model's forward from its layers (``torch_ref.run_layer``) with torch's own
concatenation and one-hot, so the routing of the label through ``[x, c]`` and ``[z, c]`` is checked too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_ref import assert_close, kl_torch, leaves, recon_torch, run_layer, t

from tinyvae import AE, CVAE, gradcheck
from tinyvae.models.registry import build_model

# (x_dim, hidden_dims, z_dim, batch): hidden depths 1 to 3, odd sizes so no two axes are confused
SHAPES = [(7, [5], 2, 4), (12, [9, 6], 3, 5), (10, [8, 7, 5], 4, 3), (6, [11], 1, 1)]
LOSSES = [("bce", "sigmoid"), ("mse", "sigmoid"), ("mse", "identity")]


def data(rng: np.random.Generator, batch: int, x_dim: int) -> np.ndarray:
    return rng.uniform(0.0, 1.0, (batch, x_dim))  # in [0, 1], valid for BCE and MSE


# ---- torch references --------------------------------------------------------------------------
def ae_reference(model: AE, x: np.ndarray):
    """(total, recon, grads) of the AE's loss by autograd."""
    tp = leaves(model.params)
    tx = t(x)
    h = run_layer(model.encoder, tx, tp, "encoder.")
    z = run_layer(model.code_head, h, tp, "z.")
    logits = run_layer(model.decoder, z, tp, "decoder.")
    recon = recon_torch(logits, tx, model.loss, model.output)
    recon.backward()
    return recon.item(), {k: v.grad.numpy() for k, v in tp.items()}


def cvae_reference(model: CVAE, x: np.ndarray, y: np.ndarray, eps: np.ndarray):
    """(total, recon, kl, grads) of the CVAE's loss by autograd, with torch.cat and F.one_hot."""
    tp = leaves(model.params)
    tx = t(x)
    c = F.one_hot(torch.tensor(y, dtype=torch.int64), model.n_classes).to(torch.float64)
    h = run_layer(model.encoder, torch.cat([tx, c], dim=1), tp, "encoder.")
    mu = run_layer(model.mu_head, h, tp, "mu.")
    logvar = run_layer(model.logvar_head, h, tp, "logvar.")
    z = mu + torch.exp(0.5 * logvar) * t(eps)
    logits = run_layer(model.decoder, torch.cat([z, c], dim=1), tp, "decoder.")
    recon = recon_torch(logits, tx, model.loss, model.output)
    kl = kl_torch(mu, logvar)
    total = recon + model.beta * kl
    total.backward()
    return total.item(), recon.item(), kl.item(), {k: v.grad.numpy() for k, v in tp.items()}


# ---- parity with autograd ------------------------------------------------------------------------
@pytest.mark.parametrize("x_dim,hidden,z_dim,batch", SHAPES)
@pytest.mark.parametrize("loss,output", LOSSES)
def test_ae_matches_torch(rng, x_dim, hidden, z_dim, batch, loss, output):
    model = AE(x_dim, hidden, z_dim, loss, output=output, rng=rng)
    x = data(rng, batch, x_dim)
    got = model.loss_and_grads(x)
    recon, grads = ae_reference(model, x)
    assert_close(got.total, recon, "total")
    assert_close(got.recon, recon, "recon")
    assert got.kl == 0.0
    assert set(model.grads) == set(grads) == {k for k in model.params}
    for k, g in grads.items():
        assert_close(model.grads[k], g, k)


@pytest.mark.parametrize("x_dim,hidden,z_dim,batch", SHAPES)
@pytest.mark.parametrize("loss,output", LOSSES)
@pytest.mark.parametrize("beta", [1.0, 0.0, 3.7])
def test_cvae_matches_torch(rng, x_dim, hidden, z_dim, batch, loss, output, beta):
    n_classes = 4
    model = CVAE(x_dim, hidden, z_dim, n_classes, loss, beta, output=output, rng=rng)
    x = data(rng, batch, x_dim)
    y = rng.integers(0, n_classes, batch)
    eps = rng.standard_normal((batch, z_dim))
    got = model.loss_and_grads(x, y, eps=eps)
    total, recon, kl, grads = cvae_reference(model, x, y, eps)
    assert_close(got.total, total, "total")
    assert_close(got.recon, recon, "recon")
    assert_close(got.kl, kl, "kl")
    assert got.kl > 0
    assert set(model.grads) == set(grads) == {k for k in model.params}
    for k, g in grads.items():
        assert_close(model.grads[k], g, k)


def test_cvae_label_columns_get_gradient(rng):
    """The label's weights in the first encoder and decoder layers learn (only the *input* gradient is dropped)."""
    model = CVAE(6, [5], 2, 3, rng=rng)
    x, y = data(rng, 4, 6), np.array([0, 2, 2, 1])
    model.loss_and_grads(x, y, eps=rng.standard_normal((4, 2)))
    for part, width in (("encoder.0.W", 6), ("decoder.0.W", 2)):
        g = model.grads[part]
        assert g.shape[1] == width + 3
        assert np.all(np.abs(g[:, width:]).sum(axis=0)[[0, 1, 2]] > 0)  # every label seen has a gradient


# ---- finite differences ---------------------------------------------------------------------------
@pytest.mark.parametrize("loss,output", LOSSES)
def test_ae_gradcheck(rng, loss, output):
    model = AE(5, [4, 3], 2, loss, output=output, activation="tanh", rng=rng)
    errors = gradcheck(model, data(rng, 3, 5))
    assert set(errors) == set(model.params)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("loss,output", LOSSES)
def test_cvae_gradcheck(rng, loss, output):
    model = CVAE(5, [4, 3], 2, 3, loss, beta=2.5, output=output, activation="tanh", rng=rng)
    x, y, eps = data(rng, 3, 5), np.array([2, 0, 1]), rng.standard_normal((3, 2))
    errors = gradcheck(model, x, y, eps=eps)
    assert set(errors) == set(model.params)
    assert max(errors.values()) < 1e-6, errors


# ---- the API the rest of tinyvae relies on ---------------------------------------------------------
def test_ae_api(rng):
    model = AE(8, [6], 3, rng=rng)
    x = data(rng, 5, 8)
    z = model.encode(x)
    assert z.shape == (5, 3)
    np.testing.assert_array_equal(model.embed(x), z)
    np.testing.assert_array_equal(model.reconstruct(x), model.decode(z))
    assert model.reconstruct(x).shape == (5, 8)
    assert model.sample(4, np.random.default_rng(0)).shape == (4, 8)
    assert model.conditional is False and model.config()["model"] == "ae"
    # eps and rng are accepted and change nothing
    a = model.loss_and_grads(x)
    b = model.loss_and_grads(x, eps=np.ones((5, 3)), rng=np.random.default_rng(1))
    assert a == b


def test_cvae_api(rng):
    model = CVAE(8, [6], 3, 10, rng=rng)
    x, y = data(rng, 5, 8), np.array([0, 9, 3, 3, 1])
    mu, logvar = model.encode(x, y)
    assert mu.shape == logvar.shape == (5, 3)
    np.testing.assert_array_equal(model.embed(x, y), mu)
    np.testing.assert_array_equal(model.reconstruct(x, y), model.decode(mu, y))
    assert model.generate(7, 4, np.random.default_rng(0)).shape == (4, 8)
    assert model.conditional is True and model.config()["model"] == "cvae"
    # sample: labels cycle 0, 1, 2, ... with z drawn as generate draws it
    z = np.random.default_rng(3).standard_normal((12, 3))
    np.testing.assert_array_equal(model.sample(12, np.random.default_rng(3)), model.decode(z, np.arange(12) % 10))
    np.testing.assert_array_equal(
        model.generate(7, 4, np.random.default_rng(3)), model.decode(z[:4], np.full(4, 7))
    )


def test_onehot(rng):
    model = CVAE(4, [3], 2, 5, rng=rng)
    c = model.onehot(np.array([4, 0, 2], dtype=np.uint8))
    np.testing.assert_array_equal(c, np.eye(5)[[4, 0, 2]])
    assert c.dtype == np.float64
    assert model.onehot([1, 1]).shape == (2, 5)


@pytest.mark.parametrize(
    "y,error,match",
    [
        (np.array([0, 1, 10]), ValueError, r"0\.\.9.*\[0, 10\]"),
        (np.array([0, -1, 2]), ValueError, r"0\.\.9.*\[-1, 2\]"),
        (np.array([0.0, 1.0, 2.0]), TypeError, "integer labels"),
        (np.array([True, False, True]), TypeError, "integer labels"),
        (np.array([0, 1]), ValueError, "3 inputs but 2 labels"),
        (np.array([[0, 1, 2]]), ValueError, r"shape \(batch,\)"),
    ],
)
def test_bad_labels_raise(rng, y, error, match):
    model = CVAE(4, [3], 2, 10, rng=rng)
    x = data(rng, 3, 4)
    with pytest.raises(error, match=match):
        model.loss_and_grads(x, y, eps=np.zeros((3, 2)))
    with pytest.raises(error, match=match):
        model.encode(x, y)
    with pytest.raises(error, match=match):
        model.decode(np.zeros((3, 2)), y)


@pytest.mark.parametrize("digit", [10, -1, 2.0, True])
def test_generate_bad_digit(rng, digit):
    with pytest.raises(ValueError, match="digit must be an integer in 0..9"):
        CVAE(4, [3], 2, rng=rng).generate(digit, 2)


def test_bad_config():
    with pytest.raises(ValueError, match="n_classes"):
        CVAE(4, [3], 2, n_classes=1)
    with pytest.raises(ValueError, match="hidden_dims"):
        AE(4, [], 2)
    with pytest.raises(ValueError, match="needs output='sigmoid'"):
        AE(4, [3], 2, "bce", output="identity")


@pytest.mark.parametrize(
    "model",
    [
        lambda: AE(9, [7, 5], 3, "mse", output="identity", activation="tanh"),
        lambda: CVAE(9, [7], 2, 4, "mse", 4.0, activation="leaky_relu"),
    ],
)
def test_config_rebuilds_the_model(model):
    m = model()
    rebuilt = build_model(m.config(), rng=0, dtype=np.float64)
    assert type(rebuilt) is type(m) and rebuilt.config() == m.config()
    assert {k: v.shape for k, v in rebuilt.params.items()} == {k: v.shape for k, v in m.params.items()}


def test_other_backend_matches_numpy(rng):
    """On array_api_strict (a stand-in for a GPU), the one-hot is built there and the numbers agree."""
    import array_api_strict as xps
    from tinyvae.engine.backend import to_numpy

    x, y, eps = data(rng, 4, 6), np.array([1, 0, 2, 1]), rng.standard_normal((4, 2))
    # tanh: the engine's ReLU backward multiplies by a boolean mask, which strict array API refuses
    models = (
        (lambda: CVAE(6, [5], 2, 3, activation="tanh", rng=1), (y,)),
        (lambda: AE(6, [5], 2, activation="tanh", rng=1), ()),
    )
    for make, args in models:
        host, dev = make(), make().to(xps)
        expected = host.loss_and_grads(x, *args, eps=eps)
        got = dev.loss_and_grads(xps.asarray(x), *args, eps=xps.asarray(eps))
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        for k, g in host.grads.items():
            np.testing.assert_allclose(to_numpy(dev.grads[k]), g, rtol=1e-12, atol=1e-15, err_msg=k)
