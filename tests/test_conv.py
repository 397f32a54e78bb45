"""Conv2d, ConvTranspose2d, Flatten, Reshape and the convolutional VAE against torch autograd (float64)."""

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_ref import assert_close, assert_matches_torch, leaves, t

from tinyvae import gradcheck
from tinyvae.engine.conv import (Conv2d, ConvTranspose2d, Flatten, Reshape, _matmul_t_fast, _matmul_t_plain, col2im,
                                 im2col, same_padding)
from tinyvae.models.conv_vae import ConvVAE
from tinyvae.engine.gradcheck import EXPECTED_REL_ERROR
from tinyvae.engine.layers import Sequential
from tinyvae.models.registry import build_model
from tinyvae.training.schema import check_architecture_config


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


def asymmetric_case(seed: int, transposed: bool) -> dict:
    """A random case whose padding differs on the two sides of each axis: ((top, bottom), (left, right))."""
    c = random_conv_case(seed, transposed)
    r = np.random.default_rng(1000 + seed)
    (kh, kw), (sh, sw) = c["kernel"], c["stride"]
    c["pads"] = pads = tuple((int(r.integers(0, 3)), int(r.integers(0, 3))) for _ in range(2))
    if transposed:  # the output (H - 1)·s + k + op - before - after must keep a pixel
        c["H"] = max(c["H"], (sum(pads[0]) - kh - c["output_padding"][0]) // sh + 2)
        c["W"] = max(c["W"], (sum(pads[1]) - kw - c["output_padding"][1]) // sw + 2)
    else:
        c["H"], c["W"] = max(c["H"], kh - sum(pads[0])), max(c["W"], kw - sum(pads[1]))
    return c


@pytest.mark.parametrize("seed", range(24))
def test_asymmetric_padding_matches_torch(seed):
    """Both layers with a padding that differs before and after (Keras's 'same' at stride 2 is (0, 1)),
    against torch autograd on F.pad (a convolution) or a crop (a transposed convolution) in float64."""
    from torch_ref import conv2d_torch, conv_transpose2d_torch

    rng = np.random.default_rng(seed)
    c = asymmetric_case(seed, transposed=False)
    layer = Conv2d(c["C"], c["O"], c["kernel"], c["stride"], c["pads"], c["bias"], rng=rng)
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    assert layer.forward(x).shape[2:] == layer.output_shape(c["H"], c["W"])
    compare_with_torch(layer, lambda x, W, b: conv2d_torch(x, W, b, c["stride"], c["pads"]), x, rng)
    c = asymmetric_case(seed, transposed=True)
    layer = ConvTranspose2d(c["C"], c["O"], c["kernel"], c["stride"], c["pads"], c["output_padding"], c["bias"],
                            rng=rng)
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    assert layer.forward(x).shape[2:] == layer.output_shape(c["H"], c["W"])
    fn = lambda x, W, b: conv_transpose2d_torch(x, W, b, c["stride"], c["pads"], c["output_padding"])  # noqa: E731
    compare_with_torch(layer, fn, x, rng)


def keras_same_conv(x: np.ndarray, W: np.ndarray, s: int) -> np.ndarray:
    """TensorFlow's documented 'SAME' convolution, written as loops: n / s outputs (n divisible by s),
    pad_total = max((out - 1)·s + k - n, 0), the smaller half (pad_total // 2) before the image."""
    N, C, n, _ = x.shape
    O, _, k, _ = W.shape
    out_n = n // s
    before = max((out_n - 1) * s + k - n, 0) // 2
    out = np.zeros((N, O, out_n, out_n))
    for y in range(out_n):
        for xx in range(out_n):
            for i in range(k):
                for j in range(k):
                    r, q = s * y + i - before, s * xx + j - before
                    if 0 <= r < n and 0 <= q < n:
                        out[:, :, y, xx] += x[:, :, r, q] @ W[:, :, i, j].T
    return out


@pytest.mark.parametrize("k,s,n", [(3, 2, 28), (3, 1, 8), (5, 2, 12), (1, 2, 8), (4, 2, 8)])
def test_same_padding_is_keras(k, s, n, rng):
    """same_padding gives TensorFlow's 'SAME' convolution (3×3 at stride 2: nothing before, 1 after), and
    the transposed convolution with it is that convolution's adjoint, from n / s back to n."""
    pads, extra = same_padding(k, s)
    conv = Conv2d(2, 3, k, stride=s, padding=(pads, pads), bias=False, rng=rng)
    x = rng.standard_normal((2, 2, n, n))
    np.testing.assert_allclose(conv.forward(x), keras_same_conv(x, conv.params["W"], s), rtol=1e-12, atol=1e-12)
    up = ConvTranspose2d(3, 2, k, stride=s, padding=(pads, pads), output_padding=extra, bias=False, rng=rng)
    up.params["W"] = conv.params["W"]
    dout = rng.standard_normal((2, 3, n // s, n // s))
    assert up.output_shape(n // s, n // s) == (n, n)
    np.testing.assert_allclose(np.sum(up.forward(dout) * x), np.sum(dout * conv.forward(x)), rtol=1e-12)
    if (k, s) == (3, 2):
        assert (pads, extra) == ((0, 1), 0)


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
        (lambda: Conv2d(2, 3, 3, stride=2, padding=((0, 1), (2, 0)), rng=1), (2, 2, 6, 5)),
        (lambda: ConvTranspose2d(2, 3, 3, stride=2, padding=((0, 1), (1, 2)), output_padding=(1, 0), rng=1),
         (2, 2, 3, 4)),
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
        (lambda: ConvVAE(channels=[8]), r"channels must be a list of 2 positive widths, got \[8\]"),
        (lambda: ConvVAE(loss="l1"), "'bce' or 'mse'"),
        (lambda: ConvVAE(padding="valid"), "padding must be 'same' or 'symmetric', got 'valid'"),
        (lambda: Conv2d(1, 4, 3, padding=((0, -1), (0, 0))), "padding"),
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
    for name, p in model.params.items():  # off Keras's zero biases: a pre-activation of exactly 0 (a window
        if name.endswith(".b"):  # of dead ReLU outputs plus a zero bias) sits on the ReLU's kink, where
            p[...] = rng.uniform(-0.3, 0.3, p.shape)  # a central difference sees half a slope
    x, eps = rng.random((2, 16)), rng.standard_normal((2, 2))
    errors = gradcheck(model, x, eps=eps)
    assert len(errors) == len(model.params) and max(errors.values()) < EXPECTED_REL_ERROR, errors


def test_conv_vae_is_the_documents_model():
    """Keras's 'same' padding ((0, 1) at stride 2, (1, 1) at stride 1) and Keras's initialisation: every
    weight U(±√(6 / (fan_in + fan_out))) and filling that range, every bias zero. A config written before
    the padding key (torch-style padding) is read (by the checkpoint's schema) as that model, not this one."""
    model = ConvVAE(rng=0)
    enc, dec = model.encoder.layers, model.decoder.layers
    assert enc[1].padding == enc[3].padding == dec[3].padding == dec[5].padding == ((0, 1), (0, 1))
    assert dec[7].padding == ((1, 1), (1, 1)) and dec[3].output_padding == (0, 0)
    for name, p in model.params.items():
        if name.endswith(".b"):
            assert not np.any(p), name
        else:
            fans = (p.shape[0] + p.shape[1]) * int(np.prod(p.shape[2:]))
            limit = np.sqrt(6 / fans)
            assert limit * 0.9 < np.abs(p).max() <= limit, name
            assert abs(np.std(p) / (limit / np.sqrt(3)) - 1) < 0.3, name  # uniform: std = limit / √3
    old = {k: v for k, v in model.config().items() if k != "padding"}
    assert build_model(old, rng=0, dtype=np.float64).padding == "same"  # the constructor's default: a new model
    rebuilt = build_model(check_architecture_config(old), rng=0, dtype=np.float64)
    assert rebuilt.padding == "symmetric" and rebuilt.encoder.layers[1].padding == ((1, 1), (1, 1))
    assert rebuilt.decoder.layers[3].output_padding == (1, 1)


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, n, K", [(64, 288, 7 * 7 * 16), (9, 64, 3000), (3, 7, 50), (32, 9, 4000), (5, 5, 1)])
def test_matmul_t_fast_equals_plain(m, n, K, dtype):
    """The layers' weight gradient (_matmul_t_fast, (b @ aᵀ)ᵀ when b has more rows) against the plain a @ bᵀ.

    The same K products per entry, but BLAS may sum them in another order in the other orientation, so
    they agree to rounding, not always bit for bit (bit for bit on some OpenBLAS kernels, 0.6 eps apart on
    Haswell's): |fast - plain| <= 8 eps (|a| @ |b|ᵀ), far inside the K eps a worst case allows."""
    rng = np.random.default_rng(m * n + K)
    a, b = rng.standard_normal((m, K)).astype(dtype), rng.standard_normal((n, K)).astype(dtype)
    fast, plain = _matmul_t_fast(a, b), _matmul_t_plain(a, b)
    assert fast.shape == plain.shape == (m, n) and fast.dtype == plain.dtype == dtype
    assert np.all(np.abs(fast - plain) <= 8 * np.finfo(dtype).eps * (np.abs(a) @ np.abs(b).T))
