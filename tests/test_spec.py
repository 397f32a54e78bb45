"""models/spec.py: one description per architecture. The model is built from it, its parameters are counted
from it (the checkpoint's schema) and its memory estimated from it; here the spec is held against the model
it builds: the same parameter names and shapes, the same count, and the shapes its forward really writes."""

from __future__ import annotations

import numpy as np
import pytest

from tinyvae.engine.conv import Conv2d, ConvTranspose2d, Flatten, Reshape
from tinyvae.engine.layers import ACTIVATIONS, Linear, Sequential, mlp
from tinyvae.models import memory, size, spec
from tinyvae.models.ae import AE
from tinyvae.models.cvae import CVAE
from tinyvae.models.registry import build_model
from tinyvae.models.vae import VAE

CONFIGS = {  # every kind: MLPs narrow, wide, deep, width 1, z = 1; CVAEs; AEs; convolutions of every kernel and padding
    "vae 784-400-20": {"model": "vae", "x_dim": 784, "hidden_dims": [400], "z_dim": 20},
    "vae 6-5-2": {"model": "vae", "x_dim": 6, "hidden_dims": [5], "z_dim": 2},
    "vae deep, width 1, tanh": {"model": "vae", "x_dim": 12, "hidden_dims": [7, 1, 3, 9], "z_dim": 1,
                                "activation": "tanh", "loss": "mse", "output": "identity"},
    "cvae 784-16-2": {"model": "cvae", "x_dim": 784, "hidden_dims": [16], "z_dim": 2},
    "cvae 6-5-3-2, 3 labels": {"model": "cvae", "x_dim": 6, "hidden_dims": [5, 3], "z_dim": 2, "n_classes": 3},
    "ae 784-64-3": {"model": "ae", "x_dim": 784, "hidden_dims": [64], "z_dim": 3},
    "ae 6-4-4-30": {"model": "ae", "x_dim": 6, "hidden_dims": [4, 4], "z_dim": 30, "activation": "leaky_relu"},
    "conv default": {"model": "vae", "arch": "conv", "x_dim": 784, "channels": [32, 64], "hidden_dim": 16, "z_dim": 2},
    "conv 16×16, kernel 7": {"model": "vae", "arch": "conv", "x_dim": 256, "channels": [3, 5], "hidden_dim": 4,
                             "z_dim": 3, "kernel_size": 7},
    "conv kernel 1": {"model": "vae", "arch": "conv", "x_dim": 64, "channels": [2, 3], "hidden_dim": 2, "z_dim": 1,
                      "kernel_size": 1},
    "conv kernel 5, symmetric": {"model": "vae", "arch": "conv", "x_dim": 144, "channels": [4, 2], "hidden_dim": 5,
                                 "z_dim": 2, "kernel_size": 5, "padding": "symmetric"},
    "conv 4×4, kernel 3, symmetric": {"model": "vae", "arch": "conv", "x_dim": 16, "channels": [1, 1], "hidden_dim": 1,
                                      "z_dim": 1, "padding": "symmetric"},
}

KINDS = {"linear": Linear, "conv": Conv2d, "convT": ConvTranspose2d, "reshape": Reshape, "flatten": Flatten,
         **ACTIVATIONS}


def _layers(part):
    return part.layers if isinstance(part, Sequential) else [part]


def _record_forward(model) -> dict:
    """Wrap every layer's forward so that it records (the shape it read, the shape it wrote), one image's."""
    seen: dict = {}
    for name, part in model.parts().items():
        for i, layer in enumerate(_layers(part)):
            def forward(x, f=layer.forward, key=(name, i)):
                out = f(x)
                seen[key] = (tuple(x.shape[1:]), tuple(out.shape[1:]))
                return out
            layer.forward = forward
    return seen


@pytest.mark.parametrize("name", CONFIGS)
def test_the_spec_is_the_model_it_builds(name):
    """count_params == num_params; the spec's parameter names and shapes are the built model's; each layer's
    shapes in the spec are the shapes a forward and backward through the model reads and writes."""
    cfg = CONFIGS[name]
    s = spec.describe(cfg)
    model = build_model(cfg, rng=0, dtype=np.float64)
    assert size.count_params(cfg) == model.num_params() == s.num_params()
    assert s.params() == {k: tuple(v.shape) for k, v in model.params.items()}
    assert [p.name for p in s.parts] == list(model.parts())  # the build order is the parts' order
    assert [[KINDS[layer.kind] for layer in p.layers] for p in s.parts] == \
        [[type(layer) for layer in _layers(part)] for part in model.parts().values()]

    seen = _record_forward(model)
    rng = np.random.default_rng(1)
    x = model.asarray(rng.random((3, model.x_dim)))
    model.loss_and_grads(x, model.labels_for(np.array([0, 1, 2])), rng=rng)
    expected = {(p.name, i): (l.shape_in, l.shape_out) for p in s.parts for i, l in enumerate(p.layers)}
    assert seen == expected
    assert {k: tuple(g.shape) for k, g in model.grads.items()} == s.params()


@pytest.mark.parametrize("seed", [0, 7])
def test_the_weights_are_drawn_in_the_documented_order(seed):
    """One generator, encoder, mu, logvar, decoder (the AE: code in the heads' place), each layer W then b:
    the weights the layers built by hand in that order draw, to the bit."""
    H, x_dim, z_dim = [5, 3], 6, 2
    for model, heads, c in ((VAE(x_dim, H, z_dim, rng=seed), ("mu", "logvar"), 0),
                            (CVAE(x_dim, H, z_dim, n_classes=4, rng=seed), ("mu", "logvar"), 4),
                            (AE(x_dim, H, z_dim, rng=seed), ("code",), 0)):
        rng = np.random.default_rng(seed)
        by_hand = {"encoder": mlp([x_dim + c, *H], rng=rng, dtype=np.float64, last_activation=True)}
        by_hand |= {h: Linear(H[-1], z_dim, rng=rng) for h in heads}
        by_hand["decoder"] = mlp([z_dim + c, *H[::-1], x_dim], rng=rng, dtype=np.float64)
        want = {f"{p}.{k}": v for p, layer in by_hand.items() for k, v in layer.params.items()}
        assert want.keys() == model.params.keys()
        for k, v in model.params.items():
            np.testing.assert_array_equal(v, want[k], err_msg=f"{type(model).__name__} {k}")
        # and the generator goes on from there: the noise eps is the next draw
        np.testing.assert_array_equal(model.rng.standard_normal(3), rng.standard_normal(3))


def test_the_cvae_runs_the_vaes_chain_rule():
    """No second copy of the backward: the CVAE's _loss_and_grads and loss_terms are the VAE's; only the
    label columns differ (latent_grad keeps z's columns of d[z, c])."""
    assert CVAE._loss_and_grads is VAE._loss_and_grads and CVAE.loss_terms is VAE.loss_terms
    d = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(CVAE(6, [5], 2, n_classes=4, rng=0).latent_grad(d), d[:, :2])
    assert VAE(6, [5], 2, rng=0).latent_grad(d) is d


def test_memory_counts_each_layer_of_the_spec():
    """activation_floats, written out for the 784-400-2 VAE and the default conv model from their tables."""
    x, h, z = 784, 400, 2
    assert memory.activation_floats(CONFIGS["vae 784-400-20"] | {"z_dim": z}) == x + 2 * h + 3 * z + 2 * h + 4 * x
    # the AE: one head and no sampled z; the CVAE: its joined inputs [x, c] and [z, c] besides
    assert memory.activation_floats({"model": "ae", "x_dim": x, "hidden_dims": [h], "z_dim": z}) == \
        x + 2 * h + z + 2 * h + 4 * x
    assert memory.activation_floats({"model": "cvae", "x_dim": x, "hidden_dims": [h], "z_dim": z}) == \
        x + (x + 10) + 2 * h + 3 * z + (z + 10) + 2 * h + 4 * x
    k2, c1, c2, half, quarter = 9, 32, 64, 14 * 14, 7 * 7  # conv: channel-first copy, columns, output (+ ReLU)
    encoder = x + (k2 * half + 2 * c1 * half) + (c1 * half + c1 * k2 * quarter + 2 * c2 * quarter) + 2 * 16
    decoder = (2 * c2 * quarter + (c2 * quarter + c2 * k2 * quarter + 2 * c2 * half)
               + (c2 * half + c1 * k2 * half + 2 * c1 * x) + (c1 * x + k2 * x + x))
    assert memory.activation_floats(CONFIGS["conv default"]) == encoder + 3 * z + decoder + 3 * x
