"""The array backend: a full training step on a foreign-device array type equals the NumPy run.

``array_api_strict`` arrays on ``Device("device1")`` refuse any implicit conversion to NumPy, as
CuPy arrays do; a stray ``np.`` call on data, a host-side constant mixed into device math or a
silent ``np.asarray`` fails here the way it would on a GPU. This file is the one place that proves it:
every model (VAE, AE, CVAE, ConvVAE), the convolution layers and the optimizer.
"""

import array_api_strict as xps  # a test dependency (pyproject's test extra): no skip
import numpy as np
import pytest

from builders import one_of_each
from tinyvae import VAE, Adam
from tinyvae.engine import backend
from tinyvae.engine.conv import Conv2d, ConvTranspose2d, Flatten, Reshape
from tinyvae.engine.layers import Sequential

DEVICE = xps.Device("device1")


def _step(model, x, y, eps, steps=3):
    opt = Adam(model, lr=1e-2)
    losses = []
    for i in range(steps):
        losses.append(model.loss_and_grads(x, model.labels_for(y), eps=eps[i]))
        opt.step()
    return losses, opt


@pytest.mark.parametrize("name,model", list(one_of_each().items()), ids=lambda v: v if isinstance(v, str) else "")
def test_training_step_on_a_foreign_device_equals_numpy(name, model):
    rng = np.random.default_rng(0)
    x_dim = model.x_dim
    n = 5
    x = rng.uniform(size=(n, x_dim))
    y = rng.integers(0, 4, size=n)
    z_dim = model.config()["z_dim"]
    eps = rng.standard_normal((3, n, z_dim))

    twin = type(model).__new__(type(model))
    twin.__dict__.update(__import__("copy").deepcopy(model.__dict__))  # same weights, same config

    np_losses, _ = _step(model, x, y, eps)

    twin.to(xps, device=DEVICE)
    assert all(p.device == DEVICE for p in twin.params.values())
    dx, dy = xps.asarray(x, device=DEVICE), xps.asarray(y, device=DEVICE)
    deps = [xps.asarray(e, device=DEVICE) for e in eps]
    dev_losses, opt = _step(twin, dx, dy, deps)

    np.testing.assert_allclose(np.array(dev_losses), np.array(np_losses), rtol=1e-12, atol=1e-14)
    for k, p in twin.params.items():
        assert p.device == DEVICE
        np.testing.assert_allclose(backend.to_numpy(p), model.params[k], rtol=1e-12, atol=1e-14, err_msg=k)
        np.testing.assert_allclose(backend.to_numpy(twin.grads[k]), model.grads[k], rtol=1e-12, atol=1e-14)
    assert all(v.device == DEVICE for v in opt.state.values())

    # forward pieces and sampling on the device; noise drawn on the host from the same seed
    emb = twin.embed(dx, twin.labels_for(dy))
    assert emb.device == DEVICE
    np.testing.assert_allclose(backend.to_numpy(emb), model.embed(x, model.labels_for(y)), rtol=1e-12, atol=1e-14)
    s_dev = twin.sample(4, np.random.default_rng(7))
    s_np = model.sample(4, np.random.default_rng(7))
    assert s_dev.device == DEVICE
    np.testing.assert_allclose(backend.to_numpy(s_dev), s_np, rtol=1e-12, atol=1e-14)


def test_conv_layers_run_on_another_device(rng):
    """On array_api_strict's 'device1' (a stand-in for a GPU) the layers give NumPy's numbers."""
    from tinyvae.engine.backend import device, to_numpy

    dev = DEVICE
    layers = [
        (Conv2d(3, 4, 3, stride=2, padding=1, rng=1), (2, 3, 7, 6)),
        (ConvTranspose2d(3, 4, (3, 2), stride=2, padding=1, output_padding=1, rng=1), (2, 3, 4, 5)),
        (Sequential(Reshape((3, 2, 2)), Flatten()), (2, 12)),
    ]
    for layer, shape in layers:
        x = rng.standard_normal(shape)
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape)
        dx = layer.backward(dout)
        grads = {k: np.array(v) for k, v in layer.grads.items()}
        layer.to(xps, dev)
        out_d = layer.forward(xps.asarray(x, device=dev))
        dx_d = layer.backward(xps.asarray(dout, device=dev))
        assert device(out_d) == dev and device(dx_d) == dev
        np.testing.assert_allclose(to_numpy(out_d), out, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(to_numpy(dx_d), dx, rtol=1e-13, atol=1e-15)
        for k, g in grads.items():
            assert device(layer.grads[k]) == dev
            np.testing.assert_allclose(to_numpy(layer.grads[k]), g, rtol=1e-13, atol=1e-15, err_msg=k)


def test_noise_drawn_from_rng_is_the_same_on_every_backend():
    model = VAE(6, [5], 2, rng=0)
    x = np.random.default_rng(1).uniform(size=(4, 6))
    a = model.loss_and_grads(x, rng=np.random.default_rng(3))
    model.to(xps, device=DEVICE)
    b = model.loss_and_grads(xps.asarray(x, device=DEVICE), rng=np.random.default_rng(3))
    np.testing.assert_allclose(b, a, rtol=1e-12)


def test_optimizer_state_moves_and_comes_home():
    model = VAE(6, [5], 2, rng=0)
    opt = Adam(model)
    model.loss_and_grads(np.full((2, 6), 0.5), rng=np.random.default_rng(0))
    opt.step()
    m_before = {k: v.copy() for k, v in opt.state.items()}
    model.to(xps, DEVICE)
    opt.to(xps, DEVICE)
    assert all(v.device == DEVICE for v in opt.state.values())
    model.to(np)
    opt.to(np)
    for k, v in opt.state.items():
        assert isinstance(v, np.ndarray)
        np.testing.assert_array_equal(v, m_before[k])


def test_mixing_devices_fails_loudly():
    model = VAE(6, [5], 2, rng=0).to(xps, DEVICE)
    with pytest.raises(TypeError, match=r"parameters as array_api_strict.Array on .*device1.*got x as numpy.ndarray"):
        model.loss_and_grads(np.full((2, 6), 0.5), rng=np.random.default_rng(0))


def test_to_numpy_brings_any_array_home():
    a = xps.asarray(np.arange(6.0).reshape(2, 3), device=DEVICE)
    with pytest.raises(RuntimeError):
        np.asarray(a)  # the stand-in refuses, like CuPy
    np.testing.assert_array_equal(backend.to_numpy(a), np.arange(6.0).reshape(2, 3))


def test_numpy_fast_path_and_strict_namespace():
    assert backend.namespace(np.zeros(2), None) is np
    a = xps.asarray([1.0], device=DEVICE)
    assert backend.namespace(a).__name__.startswith("array_api_strict")


def test_cupy_backend_missing_is_one_clear_line():
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="backend='cupy' needs CuPy"):
            backend.resolve("cupy")
    else:  # pragma: no cover - only on a GPU machine
        pytest.skip("CuPy is installed; see test_cupy_step")


def test_cupy_step():
    cupy = pytest.importorskip("cupy")
    try:
        xp = backend.resolve("cupy")
    except ImportError as e:
        pytest.skip(str(e))
    model = VAE(12, [10], 3, rng=0)
    twin = VAE(12, [10], 3, rng=0).to(xp)
    x = np.random.default_rng(0).uniform(size=(5, 12))
    eps = np.random.default_rng(1).standard_normal((3, 5, 3))
    a, _ = _step(model, x, None, eps)
    b, _ = _step(twin, cupy.asarray(x), None, [cupy.asarray(e) for e in eps])
    np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-12)
    for k in model.params:
        np.testing.assert_allclose(backend.to_numpy(twin.params[k]), model.params[k], rtol=1e-12, atol=1e-14)
