"""Every layer's forward and backward against torch autograd (float64) and finite differences."""

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_ref import assert_close, t

from tinyvae import Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh, gradcheck
from tinyvae.engine.gradcheck import (
    EXPECTED_REL_ERROR,
    FULL_CHECK_SECONDS,
    SAMPLE_SIZE,
    check_gradients,
    entries_to_check,
    numerical_gradient,
    rel_error,
)

SHAPES = [(1, 1, 1), (4, 3, 2), (7, 5, 9), (32, 16, 8)]


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES)
def test_linear_matches_torch(batch, n_in, n_out, rng):
    layer = Linear(n_in, n_out, rng=rng)
    x = rng.standard_normal((batch, n_in))
    dout = rng.standard_normal((batch, n_out))
    out = layer.forward(x)
    dx = layer.backward(dout)

    tx, tW, tb = (t(a).requires_grad_() for a in (x, layer.params["W"], layer.params["b"]))
    tout = F.linear(tx, tW, tb)
    tout.backward(t(dout))
    assert_close(out, tout.detach(), "out")
    assert_close(dx, tx.grad, "dx")
    assert_close(layer.grads["W"], tW.grad, "dW")
    assert_close(layer.grads["b"], tb.grad, "db")


def test_linear_orientation_and_init_follow_torch(rng):
    layer = Linear(3, 2, rng=rng)
    assert layer.params["W"].shape == (2, 3)  # (out, in), like the lecture's W_e and nn.Linear
    assert layer.params["b"].shape == (2,)
    big = Linear(100, 50, rng=rng)
    bound = 1 / np.sqrt(100)
    assert np.abs(big.params["W"]).max() <= bound and np.abs(big.params["W"]).max() > 0.9 * bound


ACTIVATIONS = [
    (ReLU(), F.relu),
    (LeakyReLU(0.1), lambda a: F.leaky_relu(a, 0.1)),
    (Sigmoid(), torch.sigmoid),
    (Tanh(), torch.tanh),
    (Identity(), lambda a: a),
]


@pytest.mark.parametrize("layer,torch_fn", ACTIVATIONS, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 3)])
def test_activation_matches_torch(layer, torch_fn, shape, rng):
    x = rng.standard_normal(shape) * 3
    dout = rng.standard_normal(shape)
    out = layer.forward(x)
    dx = layer.backward(dout)
    tx = t(x).requires_grad_()
    tout = torch_fn(tx)
    tout.backward(t(dout))
    assert_close(out, tout.detach(), "out")
    assert_close(dx, tx.grad, "dx")


def test_relu_gradient_at_zero_is_zero_like_torch():
    x = np.array([[-1.0, 0.0, 2.0]])
    layer = ReLU()
    layer.forward(x)
    assert layer.backward(np.ones_like(x)).tolist() == [[0.0, 0.0, 1.0]]


def test_sequential_is_the_chain_rule(rng):
    net = Sequential(Linear(4, 6, rng=rng), ReLU(), Linear(6, 3, rng=rng), Sigmoid())
    x = rng.standard_normal((5, 4))
    dout = rng.standard_normal((5, 3))
    net.forward(x)
    dx = net.backward(dout)
    # by hand: run each layer's backward in reverse order
    a = net.layers
    d = a[0].backward(a[1].backward(a[2].backward(a[3].backward(dout))))
    np.testing.assert_array_equal(dx, d)
    assert sorted(net.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert net.params.keys() == net.grads.keys()
    assert net.backward(dout, need_dx=False) is None


@pytest.mark.parametrize(
    "layer",
    [Linear(4, 3, rng=0), ReLU(), LeakyReLU(), Sigmoid(), Tanh(),
     Sequential(Linear(4, 5, rng=1), Tanh(), Linear(5, 2, rng=2))],
    ids=lambda v: repr(v),
)
def test_finite_differences(layer, rng):
    x = rng.standard_normal((6, 4)) + 0.1  # away from ReLU's kink with probability 1
    errors = gradcheck(layer, x)
    assert max(errors.values()) < EXPECTED_REL_ERROR, errors
    assert max(errors.values()) < 1e-8  # what float64 central differences really reach here


def test_gradcheck_catches_a_wrong_gradient(rng):
    class BadSigmoid(Sigmoid):
        def backward(self, dout, need_dx=True):
            out = self.cache
            return dout * out  # forgot (1 - out)

    errors = gradcheck(BadSigmoid(), rng.standard_normal((3, 4)))
    assert errors["x"] > 1e-2


def test_elementwise_check_catches_one_entry_the_normwise_measure_misses(rng):
    """One entry of a 3000-entry dW wrong by 1e-4 of its value: element-wise it reports ~5e-5, far
    above the ceiling; norm-wise the same error is diluted by about √3000 below it."""
    layer = Linear(60, 50, rng=0)
    x, r = rng.standard_normal((8, 60)), rng.standard_normal((8, 50))
    layer.forward(x)
    layer.backward(r)
    dW = layer.grads["W"].copy()
    i = int(np.argsort(np.abs(dW).ravel())[dW.size // 2])  # an entry of typical size
    wrong = dW.copy()
    wrong.ravel()[i] *= 1 + 1e-4

    def f():
        return float(np.sum(layer.forward(x) * r))

    numeric = numerical_gradient(f, layer.params["W"])
    assert rel_error(wrong, numeric) < EXPECTED_REL_ERROR  # the norm-wise measure misses it
    right = check_gradients(f, {"W": layer.params["W"]}, {"W": dW}, sample=None)["W"]
    caught = check_gradients(f, {"W": layer.params["W"]}, {"W": wrong}, sample=None)["W"]
    assert right < 1e-8 and caught == pytest.approx(5e-5, rel=0.01) and caught > EXPECTED_REL_ERROR


def test_a_zero_gradient_entry_is_judged_by_the_noise_floor_not_reported_as_1():
    # f = Σ (a·x)² at a = 0: every true gradient is 0, the differences are pure rounding noise
    a = np.zeros((3, 4))
    big = np.full((3, 4), 1e3)

    def f():
        return float(np.sum((a * big) ** 2) + 1e4)

    assert check_gradients(f, {"a": a}, {"a": np.zeros((3, 4))})["a"] == 0.0
    assert check_gradients(f, {"a": a}, {"a": np.full((3, 4), 1e-3)})["a"] > 0.9


def test_gradcheck_holds_a_models_noise_fixed_when_eps_is_not_given(rng):
    from tinyvae import VAE

    model = VAE(6, [5], 2, rng=0)
    x = rng.uniform(size=(4, 6))
    assert max(gradcheck(model, x).values()) < EXPECTED_REL_ERROR
    assert max(gradcheck(model, x, rng=np.random.default_rng(3)).values()) < EXPECTED_REL_ERROR


class OneWrongEntry(Linear):
    """A Linear whose dW is wrong at one entry by 1e-4 of its value."""

    def backward(self, dout, need_dx=True):
        dx = super().backward(dout, need_dx)
        self.grads["W"].ravel()[1234] *= 1 + 1e-4
        return dx


def test_gradcheck_with_defaults_catches_one_wrong_entry_in_a_layer(rng):
    """Linear(100, 60) is cheap to check in full, so the defaults check all 6,000 entries of dW
    (sampling 100 of them missed the wrong one 98% of the time)."""
    x = rng.standard_normal((8, 100))
    right = gradcheck(Linear(100, 60, rng=0), x)
    wrong = gradcheck(OneWrongEntry(100, 60, rng=0), x)
    assert max(right.values()) < 1e-8 and right.complete
    assert wrong["W"] == pytest.approx(5e-5, rel=0.05) and wrong["W"] > EXPECTED_REL_ERROR
    assert wrong.checked["W"].size == wrong.sizes["W"] == 6000
    assert "W: worst 5.0e-05, 6000 of 6000 entries checked" in wrong.summary()


def test_a_costly_check_samples_and_says_which_entries(rng, monkeypatch):
    """When one evaluation is slow, "auto" spends about FULL_CHECK_SECONDS on a seeded sample,
    at least SAMPLE_SIZE entries per array (all of a smaller one), and reports the indices."""
    import tinyvae.engine.gradcheck as gc

    layer = Linear(30, 20, rng=0)  # W: 600 entries, b: 20, x: 4·30 = 120
    x = rng.standard_normal((4, 30))
    monkeypatch.setattr(gc, "seconds_per_evaluation", lambda f: FULL_CHECK_SECONDS / 400)  # 200 entries fit
    result = gradcheck(layer, x)
    assert {k: v.size for k, v in result.checked.items()} == {"W": 200 * 600 // 740, "b": 20, "x": SAMPLE_SIZE}  # 162: W's share
    assert not result.complete and "162 of 600 entries checked" in result.summary()
    again = gradcheck(layer, x)
    assert all(np.array_equal(result.checked[k], again.checked[k]) for k in result)
    assert gc.per_array_sample({"a": 10}, FULL_CHECK_SECONDS / 20) == {"a": None}  # 2·10 evaluations fit
    assert gc.per_array_sample({"a": 11}, FULL_CHECK_SECONDS / 20) == {"a": SAMPLE_SIZE}
    assert gradcheck(layer, x, sample=None).complete
    assert entries_to_check(600, SAMPLE_SIZE, 0).size == SAMPLE_SIZE
    assert entries_to_check(600, None, 0).size == 600


@pytest.mark.parametrize(
    "kwargs, error, words",
    [({"h": 0.0}, ValueError, "h=0.0"), ({"h": -1e-6}, ValueError, "h=-1e-06"),
     ({"h": float("nan")}, ValueError, "h=nan"), ({"h": 1e300}, ValueError, "h=1e+300"),
     ({"h": "1e-6"}, TypeError, "h must be a real number"), ({"sample": 0}, ValueError, "sample=0"),
     ({"sample": -3}, ValueError, "sample=-3"), ({"sample": 2.5}, TypeError, "sample must be"),
     ({"seed": -1}, TypeError, "seed")],
)
def test_gradcheck_refuses_a_bad_option_in_one_error(rng, kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        gradcheck(Linear(3, 2, rng=0), rng.standard_normal((2, 3)), **kwargs)


def test_gradcheck_refuses_bad_inputs_and_rng_in_one_error(rng):
    from tinyvae import VAE

    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(Linear(3, 2, rng=0))
    with pytest.raises(ValueError, match="input 0 holds NaN"):
        gradcheck(Linear(3, 2, rng=0), np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="input 0 is empty"):
        gradcheck(Linear(3, 2, rng=0), np.zeros((0, 3)))
    with pytest.raises(TypeError, match="input 0 is str"):
        gradcheck(Linear(3, 2, rng=0), "x")
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        gradcheck(VAE(4, [3], 2, rng=0), rng.uniform(size=(2, 4)), rng="bad")


def test_sigmoid_saturates_without_warnings():
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Sigmoid().forward(x)
    assert np.all(np.isfinite(out))
    assert out[0, 0] == 0.0 and out[0, -1] == 1.0 and out[0, 2] == 0.5


def test_float32_stays_float32(rng):
    layer = Linear(5, 3, rng=rng, dtype=np.float32)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == np.float32
    assert Sigmoid().forward(x).dtype == np.float32


class TestBadInput:
    def test_wrong_shape_names_both_shapes(self):
        with pytest.raises(ValueError, match=r"Linear\(784 → 400\) expects x of shape \(batch, 784\), got \(28, 28\)"):
            Linear(784, 400, rng=0).forward(np.zeros((28, 28)))

    def test_wrong_ndim(self):
        with pytest.raises(ValueError, match=r"got \(784,\)"):
            Linear(784, 10, rng=0).forward(np.zeros(784))

    def test_not_an_array(self):
        with pytest.raises(TypeError, match="expects x to be an array, got list"):
            Linear(2, 2, rng=0).forward([[1.0, 2.0]])

    def test_dtype_mismatch_is_refused_not_upcast(self):
        layer = Linear(2, 2, rng=0, dtype=np.float32)
        with pytest.raises(TypeError, match="float32 parameters, got x of dtype float64"):
            layer.forward(np.zeros((1, 2)))

    def test_bad_sizes(self):
        with pytest.raises(ValueError, match="positive sizes"):
            Linear(0, 3)
