"""The whole VAE: loss and every parameter's gradient against torch autograd, finite differences,
dtype discipline, and refusal of bad input. Testing the whole model is what would have caught
numpy-ml's sampler bug."""

import numpy as np
import pytest
from torch_ref import assert_close, model_reference

from tinyvae import VAE, gradcheck
from tinyvae.engine.gradcheck import EXPECTED_REL_ERROR
from tinyvae.models.registry import build_model

CASES = [
    # x_dim, hidden_dims, z_dim, loss, beta, output, activation, batch
    (5, [4], 2, "bce", 1.0, "sigmoid", "relu", 3),
    (12, [9, 7], 3, "bce", 0.25, "sigmoid", "relu", 8),
    (7, [6, 5, 4], 2, "mse", 4.0, "sigmoid", "tanh", 5),
    (4, [3, 3, 3], 1, "mse", 1.0, "identity", "leaky_relu", 1),
    (30, [20], 5, "bce", 0.0, "sigmoid", "relu", 16),
    (9, [8, 6], 4, "mse", 2.5, "identity", "relu", 6),
]


def _data(x_dim, z_dim, batch, loss, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(batch, x_dim)) if loss == "bce" else rng.standard_normal((batch, x_dim))
    if loss == "mse":
        x = np.clip(x, -2, 2)
    return x, rng.standard_normal((batch, z_dim))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}-b{c[4]}-{c[5]}-{c[6]}")
def test_whole_vae_matches_torch(case):
    x_dim, hidden, z_dim, loss, beta, output, act, batch = case
    model = VAE(x_dim, hidden, z_dim, loss=loss, beta=beta, output=output, activation=act, rng=len(hidden))
    x, eps = _data(x_dim, z_dim, batch, loss, seed=x_dim)
    total, recon, kl = model.loss_and_grads(x, eps=eps)
    ref_total, ref_recon, ref_kl, ref_grads = model_reference(model, x, eps=eps)
    assert_close(total, ref_total, "total")
    assert_close(recon, ref_recon, "recon")
    assert_close(kl, ref_kl, "kl")
    assert model.grads.keys() == ref_grads.keys() == model.params.keys()
    for k in ref_grads:
        assert_close(model.grads[k], ref_grads[k], k)


@pytest.mark.parametrize("case", CASES[:4], ids=lambda c: f"{c[3]}-depth{len(c[1])}")
def test_whole_vae_finite_differences(case):
    x_dim, hidden, z_dim, loss, beta, output, act, batch = case
    model = VAE(x_dim, hidden, z_dim, loss=loss, beta=beta, output=output, activation=act, rng=1)
    x, eps = _data(x_dim, z_dim, batch, loss, seed=2)
    errors = gradcheck(model, x, eps=eps)
    assert max(errors.values()) < EXPECTED_REL_ERROR, errors


def test_a_broken_backward_is_caught():
    """Swap σ for exp(logvar) in the backward (numpy-ml's mistake); parity must fail."""
    model = VAE(6, [5], 2, rng=0)
    x, eps = _data(6, 2, 4, "bce", seed=0)
    *_, ref_grads = model_reference(model, x, eps=eps)
    std_backward = model.reparam.backward

    def wrong(dz):
        dmu, dlogvar = std_backward(dz)
        std, e = model.reparam.cache
        return dmu, dz * e * std * std  # should be 0.5 * std
    model.reparam.backward = wrong
    model.loss_and_grads(x, eps=eps)
    assert not np.allclose(model.grads["logvar.W"], ref_grads["logvar.W"], rtol=1e-6)


def test_names_mirror_torch_state_dict():
    model = VAE(10, [8, 6], 2, rng=0)
    assert list(model.params) == [
        "encoder.0.W", "encoder.0.b", "encoder.2.W", "encoder.2.b", "mu.W", "mu.b", "logvar.W", "logvar.b",
        "decoder.0.W", "decoder.0.b", "decoder.2.W", "decoder.2.b", "decoder.4.W", "decoder.4.b",
    ]
    assert model.params["decoder.4.W"].shape == (10, 8)
    assert model.num_params() == sum(p.size for p in model.params.values())


def test_float32_end_to_end():
    model = VAE(20, [16], 4, rng=0, dtype=np.float32)
    x = np.random.default_rng(0).uniform(size=(8, 20)).astype(np.float32)
    model.loss_and_grads(x, rng=np.random.default_rng(1))
    assert {g.dtype for g in model.grads.values()} == {np.dtype(np.float32)}
    assert model.decode(np.zeros((2, 4), np.float32)).dtype == np.float32
    assert model.sample(3, np.random.default_rng(0)).dtype == np.float32


def test_seeded_models_and_noise_are_reproducible():
    x = np.random.default_rng(0).uniform(size=(4, 6))
    a = VAE(6, [5], 2, rng=3).loss_and_grads(x, rng=np.random.default_rng(9))
    b = VAE(6, [5], 2, rng=3).loss_and_grads(x, rng=np.random.default_rng(9))
    assert a == b
    c = VAE(6, [5], 2, rng=3).loss_and_grads(x, rng=np.random.default_rng(10))
    assert a != c


def test_encode_decode_sample_shapes():
    model = VAE(6, [5], 3, rng=0)
    x = np.random.default_rng(0).uniform(size=(4, 6))
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 3)
    assert model.decode(mu).shape == model.reconstruct(x).shape == (4, 6)
    s = model.sample(7, np.random.default_rng(0))
    assert s.shape == (7, 6) and s.min() >= 0 and s.max() <= 1


def test_config_rebuilds_the_same_architecture():
    model = VAE(6, [5, 4], 3, loss="mse", beta=2.0, rng=0)
    twin = build_model(model.config(), rng=1, dtype=np.float64)
    assert twin.config() == model.config()
    assert {k: v.shape for k, v in twin.params.items()} == {k: v.shape for k, v in model.params.items()}
    twin.load_params(model.params)
    for k in model.params:
        np.testing.assert_array_equal(twin.params[k], model.params[k])


class TestBadInput:
    model = VAE(784, [16], 2, rng=0)

    def test_image_instead_of_flat_vector(self):
        with pytest.raises(ValueError, match=r"expects x of shape \(batch, 784\), got \(28, 28\)"):
            self.model.loss_and_grads(np.zeros((28, 28)))

    def test_pixels_0_255(self):
        with pytest.raises(ValueError, match=r"in \[0, 1\].*divide by 255"):
            self.model.loss_and_grads(np.full((2, 784), 255.0))

    def test_nan(self):
        x = np.zeros((2, 784))
        x[1, 3] = np.nan
        with pytest.raises(ValueError, match="NaN or inf"):
            self.model.encode(x)

    @pytest.mark.parametrize("loss", ["bce", "mse"])
    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_nan_and_inf_are_named_for_either_loss(self, loss, bad):
        x = np.full((3, 6), 0.5)
        x[2, 1] = bad  # BCE reads only x's min and max: a NaN or inf shows in them
        with pytest.raises(ValueError, match=r"got x with NaN or inf values; clean the data first"):
            VAE(6, [4], 2, loss=loss, rng=0).encode(x)

    def test_the_unchecked_entry_skips_the_values_and_nothing_else(self):
        """``_loss_and_grads`` (what train_epoch calls on the slices of a data set it checked once) does not
        read x's values; it checks the shape and dtype; ``loss_and_grads`` and ``encode`` read the values."""
        model, x = VAE(6, [4], 2, rng=0), np.full((3, 6), 255.0)
        model._loss_and_grads(x, rng=np.random.default_rng(0))  # the values are not read: 255 passes
        with pytest.raises(ValueError, match=r"expects x of shape \(batch, 6\), got \(3, 5\)"):
            model._loss_and_grads(x[:, :5], rng=np.random.default_rng(0))  # the shape still is
        with pytest.raises(TypeError, match="got x of dtype float32"):
            model._loss_and_grads(x.astype(np.float32), rng=np.random.default_rng(0))  # and the dtype
        for public in (model.loss_and_grads, model.encode):
            with pytest.raises(ValueError, match=r"in \[0, 1\].*divide by 255"):
                public(x)  # read at the public door, every call

    def test_integer_pixels(self):
        with pytest.raises(TypeError, match="float64 parameters, got x of dtype uint8"):
            self.model.encode(np.zeros((2, 784), dtype=np.uint8))

    def test_decode_wrong_latent(self):
        with pytest.raises(ValueError, match=r"expects z of shape \(batch, 2\), got \(5, 3\)"):
            self.model.decode(np.zeros((5, 3)))

    @pytest.mark.parametrize(
        "kwargs,message",
        [
            ({"loss": "l1"}, "loss must be 'bce' or 'mse'"),
            ({"hidden_dims": []}, r"hidden_dims must be a list of 1 to 16 positive widths, got \[\]"),
            ({"beta": -1}, "beta must be a number from 0 to 1e6, got -1"),
            ({"output": "identity"}, "loss='bce' needs output='sigmoid'"),
            ({"activation": "gelu"}, "unknown activation 'gelu'"),
        ],
    )
    def test_bad_configuration(self, kwargs, message):
        args = {"x_dim": 4, "hidden_dims": [3], "z_dim": 2, **kwargs}
        with pytest.raises(ValueError, match=message):
            VAE(**args, rng=0)


class TestValidationAtTheDoor:
    """Each refusal names the argument as the library calls it (never a command-line flag)."""

    @pytest.mark.parametrize(
        "kwargs,error,message",
        [
            ({"dtype": np.int64}, ValueError, "dtype must be np.float32 or np.float64, got int64"),
            ({"dtype": "object"}, ValueError, "dtype must be np.float32 or np.float64"),
            ({"hidden_dims": [1.9]}, ValueError, r"hidden_dims\[0\] must be an integer from 1 to 65,536, got 1.9"),
            ({"hidden_dims": [4, 0]}, ValueError, r"hidden_dims\[1\] must be an integer from 1 to 65,536, got 0"),
            ({"z_dim": True}, ValueError, "z_dim must be an integer from 1 to 65,536, got True"),
            ({"beta": float("inf")}, ValueError, "beta must be a number from 0 to 1e6, got inf"),
            ({"beta": float("nan")}, ValueError, "beta must be a number from 0 to 1e6, got nan"),
            ({"beta": "1"}, ValueError, "beta must be a number from 0 to 1e6, got '1'"),
        ],
    )
    def test_constructor_refuses(self, kwargs, error, message):
        args = {"x_dim": 4, "hidden_dims": [3], "z_dim": 2, **kwargs}
        with pytest.raises(error, match=message):
            VAE(**args, rng=0)

    def test_float64_eps_on_a_float32_model_is_named_eps(self):
        model = VAE(6, [5], 2, rng=0, dtype=np.float32)
        x = np.full((3, 6), 0.5, np.float32)
        with pytest.raises(TypeError, match="float32 parameters, got eps of dtype float64"):
            model.loss_and_grads(x, eps=np.zeros((3, 2)))

    def test_nan_or_misshapen_eps_is_refused(self):
        model = VAE(6, [5], 2, rng=0)
        x = np.full((3, 6), 0.5)
        eps = np.zeros((3, 2))
        eps[1, 0] = np.nan
        with pytest.raises(ValueError, match="got eps with NaN or inf"):
            model.loss_and_grads(x, eps=eps)
        with pytest.raises(ValueError, match=r"expects eps of shape \(3, 2\), got \(2, 2\)"):
            model.loss_and_grads(x, eps=np.zeros((2, 2)))

    @pytest.mark.parametrize("where", ["numpy", None, 3])
    def test_to_needs_a_namespace_module(self, where):
        with pytest.raises(TypeError, match="expects an array namespace module"):
            VAE(6, [5], 2, rng=0).to(where)

    def test_protocol_properties(self):
        model = VAE(6, [5], 2, rng=0, dtype=np.float32)
        assert model.dtype == np.float32 and model.xp is np and model.device == "cpu"
        assert model.has_posterior and not model.conditional and model.n_classes == 0
        assert model.recon_loss == "bce" and model.config()["loss"] == "bce"

    def test_an_unconditional_model_refuses_labels(self):
        from tinyvae.models.base import LabelsRefused

        model = VAE(6, [5], 2, rng=0)
        x = np.full((3, 6), 0.5)
        for call in (lambda: model.loss_and_grads(x, np.zeros(3, int)), lambda: model.encode(x, [0, 1, 2]),
                     lambda: model.decode(np.zeros((3, 2)), np.zeros(3, int)), lambda: model.sample(2, label=1)):
            with pytest.raises(LabelsRefused, match="unconditional and takes no labels y"):
                call()
        assert model.labels_for(np.zeros(3, int)) is None and model.prior_labels(4) is None


@pytest.mark.parametrize("config", [{"model": "vae", "x_dim": 12, "hidden_dims": [5], "z_dim": 2},
                                    {"model": "ae", "x_dim": 12, "hidden_dims": [5], "z_dim": 2},
                                    {"model": "cvae", "x_dim": 12, "hidden_dims": [5], "z_dim": 2, "n_classes": 3},
                                    {"model": "vae", "arch": "conv", "x_dim": 16, "channels": [2, 3],
                                     "hidden_dim": 4, "z_dim": 2, "loss": "mse"}])
def test_every_model_refuses_an_empty_batch_by_name(config):
    """An empty batch is refused at the door in one line (it used to surface as numpy's 'zero-size
    array to reduction operation' from the [0, 1] check, or as a division by B = 0 for squared error)."""
    model = build_model(config, rng=0)
    y = np.zeros(0, dtype=int) if config["model"] == "cvae" else None
    for call in (lambda: model.loss_and_grads(np.zeros((0, model.x_dim), model.dtype), y, rng=np.random.default_rng(0)),
                 lambda: model.encode(np.zeros((0, model.x_dim), model.dtype), y)):
        with pytest.raises(ValueError, match=r"got an empty batch, x of shape \(0, \d+\): pass at least one image"):
            call()
