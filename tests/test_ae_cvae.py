"""AE and CVAE: hand-written backward against torch autograd, finite differences, label checks.

The torch side is ``torch_ref.model_reference``, the one torch reference of every model, which joins the
label with torch's own concatenation and one-hot, so the routing of the label through ``[x, c]`` and
``[z, c]`` is checked too. Their runs on a foreign device are in ``test_backend.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_ref import assert_matches_torch

from tinyvae import AE, CVAE, gradcheck
from tinyvae.models.registry import build_model

# (x_dim, hidden_dims, z_dim, batch): hidden depths 1 to 3, odd sizes so no two axes are confused
SHAPES = [(7, [5], 2, 4), (12, [9, 6], 3, 5), (10, [8, 7, 5], 4, 3), (6, [11], 1, 1)]
LOSSES = [("bce", "sigmoid"), ("mse", "sigmoid"), ("mse", "identity")]


def data(rng: np.random.Generator, batch: int, x_dim: int) -> np.ndarray:
    return rng.uniform(0.0, 1.0, (batch, x_dim))  # in [0, 1], valid for BCE and MSE


# ---- parity with autograd ------------------------------------------------------------------------
@pytest.mark.parametrize("x_dim,hidden,z_dim,batch", SHAPES)
@pytest.mark.parametrize("loss,output", LOSSES)
def test_ae_matches_torch(rng, x_dim, hidden, z_dim, batch, loss, output):
    model = AE(x_dim, hidden, z_dim, loss, output=output, rng=rng)
    x = data(rng, batch, x_dim)
    got = assert_matches_torch(model, x)
    assert got.kl == 0.0 and got.total == got.recon


@pytest.mark.parametrize("x_dim,hidden,z_dim,batch", SHAPES)
@pytest.mark.parametrize("loss,output", LOSSES)
@pytest.mark.parametrize("beta", [1.0, 0.0, 3.7])
def test_cvae_matches_torch(rng, x_dim, hidden, z_dim, batch, loss, output, beta):
    n_classes = 4
    model = CVAE(x_dim, hidden, z_dim, n_classes, loss, beta, output=output, rng=rng)
    x = data(rng, batch, x_dim)
    y = rng.integers(0, n_classes, batch)
    eps = rng.standard_normal((batch, z_dim))
    got = assert_matches_torch(model, x, y, eps)
    assert got.kl > 0


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
    z, logvar = model.encode(x)  # the protocol's (mu, logvar): a point mass, no spread
    assert z.shape == (5, 3) and logvar is None and model.has_posterior is False
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


def test_a_conditional_model_requires_labels(rng):
    from tinyvae.models.base import LabelsRequired

    model = CVAE(6, [5], 2, 3, rng=rng)
    x = data(rng, 3, 6)
    for call in (lambda: model.loss_and_grads(x, eps=np.zeros((3, 2))), lambda: model.encode(x),
                 lambda: model.decode(np.zeros((3, 2)))):
        with pytest.raises(LabelsRequired, match="needs the labels y"):
            call()
    y = np.array([2, 0, 1])
    assert model.labels_for(y) is y
    np.testing.assert_array_equal(model.prior_labels(5), [0, 1, 2, 0, 1])
    # sample(label=d) is generate(d): the same draws, the same images
    np.testing.assert_array_equal(model.sample(4, np.random.default_rng(1), label=2),
                                  model.generate(2, 4, np.random.default_rng(1)))


@pytest.mark.parametrize("make", [lambda: AE(6, [5], 2, rng=0), lambda: CVAE(6, [5], 2, 3, rng=0)])
def test_loss_terms_are_the_loss_per_example_and_leave_gradients_alone(make, rng):
    """loss_terms is loss_and_grads's forward, per example: its means are the loss; grads untouched."""
    model = make()
    x, y, eps = data(rng, 4, 6), model.labels_for(np.array([0, 1, 2, 1])), rng.standard_normal((4, 2))
    loss = model.loss_and_grads(x, y, eps=eps)
    before = {k: g.copy() for k, g in model.grads.items()}
    recon, kl = model.loss_terms(x, y, eps=eps)
    assert recon.shape == kl.shape == (4,)
    assert np.mean(recon) == pytest.approx(loss.recon, rel=1e-12)
    assert np.mean(kl) == pytest.approx(loss.kl, rel=1e-12, abs=0)
    for k, g in model.grads.items():
        np.testing.assert_array_equal(g, before[k])
