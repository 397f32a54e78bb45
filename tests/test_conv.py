"""Conv2d, ConvTranspose2d, Flatten, Reshape and the convolutional VAE against torch autograd (float64)."""

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_ref import assert_close, assert_matches_torch, leaves, t

from tinyvae import gradcheck
from tinyvae.engine.conv import Conv2d, ConvTranspose2d, Flatten, Reshape, col2im, im2col
from tinyvae.models.conv_vae import ConvVAE
from tinyvae.engine.gradcheck import EXPECTED_REL_ERROR
from tinyvae.engine.layers import Sequential
from tinyvae.models.registry import build_model


def random_conv_case(seed: int, transposed: bool) -> dict:
    """A random layer configuration: batch, channels, kernel, stride, padding (and output_padding)."""
    r = np.random.default_rng(seed)
    kh, kw = (int(v) for v in r.integers(1, 5, 2))
    sh, sw = (int(v) for v in r.integers(1, 4, 2))
    ph, pw = (int(v) for v in r.integers(0, 3, 2))
    case = dict(N=int(r.integers(1, 4)), C=int(r.integers(1, 5)), O=int(r.integers(1, 5)),
                kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw), bias=bool(seed % 4))
    if transposed:
        case["output_padding"] = (int(r.integers(0, sh)), int(r.integers(0, sw)))
        lo_h, lo_w = max(1, (2 * ph - kh) // sh + 2), max(1, (2 * pw - kw) // sw + 2)  # output at least 1 pixel
    else:
        lo_h, lo_w = max(1, kh - 2 * ph), max(1, kw - 2 * pw)  # the padded image holds one window
    case["H"], case["W"] = int(r.integers(lo_h, lo_h + 8)), int(r.integers(lo_w, lo_w + 8))
    return case


def compare_with_torch(layer, torch_fn, x, rng) -> None:
    """out, dx and every parameter gradient of ``layer`` against ``torch_fn(x, W, b)``'s autograd."""
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    tx = t(x).requires_grad_()
    tp = leaves(layer.params)
    tout = torch_fn(tx, tp["W"], tp.get("b"))
    tout.backward(t(dout))
    assert_close(out, tout.detach(), "out")
    assert_close(dx, tx.grad, "dx")
    assert set(layer.grads) == set(tp)
    for k, v in tp.items():
        assert_close(layer.grads[k], v.grad, "d" + k)


@pytest.mark.parametrize("seed", range(24))
def test_conv2d_matches_torch(seed):
    c = random_conv_case(seed, transposed=False)
    rng = np.random.default_rng(seed)
    layer = Conv2d(c["C"], c["O"], c["kernel"], c["stride"], c["padding"], c["bias"], rng=rng)
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    assert layer.forward(x).shape[2:] == layer.output_shape(c["H"], c["W"])
    compare_with_torch(layer, lambda x, W, b: F.conv2d(x, W, b, c["stride"], c["padding"]), x, rng)


@pytest.mark.parametrize("seed", range(24))
def test_conv_transpose2d_matches_torch(seed):
    c = random_conv_case(seed, transposed=True)
    rng = np.random.default_rng(seed)
    layer = ConvTranspose2d(c["C"], c["O"], c["kernel"], c["stride"], c["padding"], c["output_padding"], c["bias"],
                            rng=rng)
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    fn = lambda x, W, b: F.conv_transpose2d(x, W, b, c["stride"], c["padding"], c["output_padding"])  # noqa: E731
    compare_with_torch(layer, fn, x, rng)


@pytest.mark.parametrize("cls,args", [(Conv2d, (3, 5, (2, 3))), (ConvTranspose2d, (3, 5, (2, 3)))])
def test_layout_and_init_follow_torch(cls, args):
    torch.manual_seed(0)
    ref = getattr(torch.nn, cls.__name__)(*args)
    layer = cls(*args, rng=0)
    assert layer.params["W"].shape == tuple(ref.weight.shape)  # (out, in, kh, kw) / (in, out, kh, kw)
    assert layer.params["b"].shape == tuple(ref.bias.shape)
    big = cls(16, 8, 3, rng=0)
    fan_in = (16 if cls is Conv2d else 8) * 9  # torch reads fan_in from W's second axis
    bound = 1 / np.sqrt(fan_in)
    for name in ("W", "b"):
        top = np.abs(big.params[name]).max()
        assert top <= bound and (name == "b" or top > 0.95 * bound)
    assert "b" not in cls(2, 2, 3, bias=False, rng=0).params


def test_strided_layers_undo_each_others_sizes():
    """The conv VAE's sizes: 28 -> 14 -> 7 with stride-2 convolutions, back with output_padding=1."""
    down = Conv2d(1, 2, 3, stride=2, padding=1, rng=0)
    up = ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1, rng=0)
    assert down.output_shape(28, 28) == (14, 14) and down.output_shape(14, 14) == (7, 7)
    assert up.output_shape(7, 7) == (14, 14) and up.output_shape(14, 14) == (28, 28)


def test_transposed_forward_is_the_convolutions_input_gradient(rng):
    """ConvTranspose2d with Conv2d's kernel maps dout exactly as Conv2d's backward does (no bias)."""
    conv = Conv2d(3, 4, 3, stride=2, padding=1, bias=False, rng=rng)
    x = rng.standard_normal((2, 3, 9, 9))
    dout = rng.standard_normal(conv.forward(x).shape)  # (2, 4, 5, 5)
    up = ConvTranspose2d(4, 3, 3, stride=2, padding=1, bias=False, rng=rng)
    up.params["W"] = conv.params["W"]  # (4, 3, 3, 3): Conv2d's (out, in) is ConvTranspose2d's (in, out)
    np.testing.assert_array_equal(up.forward(dout), conv.backward(dout))
    np.testing.assert_array_equal(up.backward(x), conv.forward(x))  # and its backward is the forward


@pytest.mark.parametrize("seed", range(12))
def test_col2im_is_the_adjoint_of_im2col_with_padding(seed):
    """<im2col(x, padding), c> = <x, col2im(c, padding)> for every x and c, and col2im with padding is
    col2im onto the padded canvas with the padding cut off (entries landing there are dropped)."""
    case = random_conv_case(seed, transposed=False)
    r = np.random.default_rng(seed)
    (kh, kw), (sh, sw), (ph, pw) = case["kernel"], case["stride"], case["padding"]
    C, H, W, N = case["C"], case["H"], case["W"], case["N"]
    out_hw = ((H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1)
    x = r.standard_normal((C, H, W, N))
    c = r.standard_normal((C * kh * kw, out_hw[0] * out_hw[1] * N))
    cols = im2col(x, (kh, kw), (sh, sw), out_hw, (ph, pw))
    back = col2im(c, (C, H, W, N), (kh, kw), (sh, sw), out_hw, (ph, pw))
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)
    padded = col2im(c, (C, H + 2 * ph, W + 2 * pw, N), (kh, kw), (sh, sw), out_hw)
    np.testing.assert_allclose(back, padded[:, ph : ph + H, pw : pw + W, :], rtol=1e-14, atol=1e-14)  # order of the sums


@pytest.mark.parametrize(
    "layer,shape",
    [
        (lambda: Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(1, 0), rng=1), (2, 2, 5, 4)),
        (lambda: ConvTranspose2d(2, 3, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), rng=1),
         (2, 2, 3, 2)),
        (lambda: Sequential(Reshape((2, 3, 3)), Conv2d(2, 2, 2, rng=1), Flatten()), (2, 18)),
    ],
)
def test_finite_differences(layer, shape, rng):
    errors = gradcheck(layer(), rng.standard_normal(shape))
    assert max(errors.values()) < EXPECTED_REL_ERROR, errors


def test_flatten_and_reshape_round_trip(rng):
    x = rng.standard_normal((3, 2, 4, 5))
    flat = Flatten()
    f = flat.forward(x)
    assert f.shape == (3, 40)
    np.testing.assert_array_equal(f, t(x).flatten(1).numpy())  # C order, as torch
    back = Reshape((2, 4, 5))
    np.testing.assert_array_equal(back.forward(f), x)
    np.testing.assert_array_equal(back.backward(x), f)  # backward undoes each forward
    np.testing.assert_array_equal(flat.backward(f), x)


@pytest.mark.parametrize(
    "make,x,err,match",
    [
        (lambda: Conv2d(3, 4, 3, rng=0), np.zeros((2, 2, 8, 8)), ValueError, r"\(N, 3, H, W\), got \(2, 2, 8, 8\)"),
        (lambda: Conv2d(1, 4, 3, rng=0), np.zeros((2, 8, 8)), ValueError, r"got \(2, 8, 8\)"),
        (lambda: Conv2d(1, 4, 5, rng=0), np.zeros((2, 1, 3, 3)), ValueError, "smaller than its"),
        (lambda: Conv2d(1, 4, 3, rng=0), np.zeros((2, 1, 8, 8), np.float32), TypeError, "float32"),
        (lambda: ConvTranspose2d(2, 1, 3, rng=0), np.zeros((2, 1, 4, 4)), ValueError, r"\(N, 2, H, W\)"),
        (lambda: ConvTranspose2d(2, 1, 1, padding=1, rng=0), np.zeros((1, 2, 1, 1)), ValueError, "empty image"),
        (lambda: Reshape((2, 3)), np.zeros((4, 5)), ValueError, r"\(N, 6\), got \(4, 5\)"),
        (lambda: ConvVAE(rng=0), np.zeros((2, 28, 28)), ValueError, r"\(batch, 784\), got \(2, 28, 28\)"),
        (lambda: ConvVAE(rng=0), np.zeros((2, 100)), ValueError, r"\(batch, 784\)"),
    ],
)
def test_bad_inputs_are_refused(make, x, err, match):
    layer = make()
    with pytest.raises(err, match=match):
        if isinstance(layer, ConvVAE):
            layer.loss_and_grads(x, rng=np.random.default_rng(0))
        else:
            layer.forward(x)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: Conv2d(0, 4, 3), "positive channel"),
        (lambda: Conv2d(1, 4, 0), "kernel_size"),
        (lambda: Conv2d(1, 4, 3, stride=0), "stride"),
        (lambda: Conv2d(1, 4, 3, padding=-1), "padding"),
        (lambda: ConvTranspose2d(1, 4, 3, stride=2, output_padding=2), "smaller than stride"),
        (lambda: ConvVAE(x_dim=785), "square"),
        (lambda: ConvVAE(x_dim=100), "divisible by 4"),
        (lambda: ConvVAE(kernel_size=4), "odd"),
        (lambda: ConvVAE(channels=[8]), "two positive"),
        (lambda: ConvVAE(loss="l1"), "'bce' or 'mse'"),
    ],
)
def test_bad_configurations_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---- the whole convolutional VAE ----------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,batch",
    [
        (dict(), 3),  # the document's model, full size: 28×28, channels 32/64, dense 16, latent 2, mse
        (dict(x_dim=144, channels=(3, 5), hidden_dim=6, z_dim=3, loss="bce", beta=0.5), 4),
        (dict(x_dim=64, channels=(2, 4), hidden_dim=4, z_dim=2, loss="mse", beta=4.0, kernel_size=5), 2),
    ],
)
def test_conv_vae_matches_torch(kwargs, batch, rng):
    model = ConvVAE(**kwargs, rng=rng)
    x = rng.random((batch, model.x_dim))
    eps = rng.standard_normal((batch, model.z_dim))
    assert_matches_torch(model, x, eps=eps)


def test_conv_vae_finite_differences(rng):
    model = ConvVAE(x_dim=16, channels=(2, 3), hidden_dim=3, z_dim=2, loss="mse", beta=0.7, rng=rng)
    x, eps = rng.random((2, 16)), rng.standard_normal((2, 2))
    errors = gradcheck(model, x, eps=eps)
    assert len(errors) == len(model.params) and max(errors.values()) < EXPECTED_REL_ERROR, errors


def test_conv_vae_shapes_and_interface(rng):
    model = ConvVAE(rng=rng)  # the document's sizes
    assert model.conditional is False
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes["encoder.1.W"] == (32, 1, 3, 3) and shapes["encoder.3.W"] == (64, 32, 3, 3)
    assert shapes["encoder.6.W"] == (16, 3136) and shapes["mu.W"] == (2, 16) and shapes["decoder.0.W"] == (3136, 2)
    assert shapes["decoder.3.W"] == (64, 64, 3, 3) and shapes["decoder.7.W"] == (32, 1, 3, 3)
    x = rng.random((5, 784))
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 2)
    np.testing.assert_array_equal(model.embed(x), mu)
    assert model.reconstruct(x).shape == (5, 784) and model.sample(3, rng).shape == (3, 784)
    assert 0 <= model.sample(3, rng).min() and model.sample(3, rng).max() <= 1


def test_config_rebuilds_the_model_through_the_registry():
    model = ConvVAE(x_dim=64, channels=[4, 6], hidden_dim=5, z_dim=3, loss="bce", beta=2.0, free_bits=0.5, rng=0)
    cfg = model.config()
    assert cfg["model"] == "vae" and cfg["arch"] == "conv"
    assert set(cfg) - {"model", "arch"} == set(inspect.signature(ConvVAE).parameters) - {"rng", "dtype"}
    rebuilt = build_model(cfg, rng=0, dtype=np.float64)
    assert type(rebuilt) is ConvVAE and rebuilt.config() == cfg
    for k, v in model.params.items():
        np.testing.assert_array_equal(rebuilt.params[k], v)  # same seed, same weights


def test_conv_vae_learns(rng):
    """A few Adam steps on a fixed batch lower the loss (the gradients point downhill)."""
    from tinyvae.engine.optim import Adam

    model = ConvVAE(x_dim=64, channels=(4, 8), hidden_dim=8, z_dim=2, rng=rng)
    x, eps = rng.random((8, 64)), rng.standard_normal((8, 2))
    opt = Adam(model, lr=1e-2)
    first = model.loss_and_grads(x, eps=eps).total
    for _ in range(20):
        model.loss_and_grads(x, eps=eps)
        opt.step()
    assert model.loss_and_grads(x, eps=eps).total < 0.8 * first
