"""The model protocol (models/base.py) is one contract: encode, embed and encoder_activations mean the same
for every model, callers read what a model has instead of asking which kind it is, and the lecture's
network does not pretend to be a model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from builders import one_of_each
from tinyvae import AE, CVAE, VAE, ConvVAE
from tinyvae.engine.optim import Adam
from tinyvae.explore.page import model_name
from tinyvae.figures import compare as draw
from tinyvae.lecture import worked_example
from tinyvae.lecture.model import LectureNetwork
from tinyvae.models.base import LabelsRequired, Model

PACKAGE = Path(__file__).resolve().parents[1] / "tinyvae"
MODELS = ["vae", "ae", "cvae", "conv"]  # builders.one_of_each's: one of each kind


def _batch(model: Model, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.random((n, model.x_dim)), np.array([3, 1, 0, 1, 2])[:n]


@pytest.mark.parametrize("name", MODELS)
def test_encode_is_the_posterior_for_every_model(name):
    """(mu, logvar) everywhere; logvar None exactly when the model says it has no posterior (a point mass)."""
    model = one_of_each()[name]
    x, y = _batch(model)
    mu, logvar = model.encode(x, model.labels_for(y))
    assert mu.shape == (5, model.z_dim)
    assert (logvar is None) == (not model.has_posterior)
    if logvar is not None:
        assert logvar.shape == (5, model.z_dim)
    np.testing.assert_array_equal(model.embed(x, model.labels_for(y)), mu)
    np.testing.assert_array_equal(model.reconstruct(x, model.labels_for(y)), model.decode(mu, model.labels_for(y)))


def test_the_ae_code_is_its_point_mass():
    """The AE's mu is its code: what its loss decodes (loss_and_grads reaches the same reconstruction)."""
    model = AE(784, [12], 3, loss="mse", output="identity", rng=0)
    x, _ = _batch(model)
    code, logvar = model.encode(x)
    assert logvar is None and model.has_posterior is False
    recon = np.sum((model.decode(code) - x) ** 2, axis=1).mean()
    assert model.loss_and_grads(x).recon == pytest.approx(recon, rel=1e-12)


def _by_hand(model: Model, h: np.ndarray) -> dict[str, np.ndarray]:
    out, layers = {}, model.encoder.layers
    for i, layer in enumerate(layers):
        h = layer.forward(h)
        if not layer.params and i > 0 and layers[i - 1].params:
            out[f"encoder.{i}"] = h.copy()
    return out


@pytest.mark.parametrize("name", MODELS)
def test_encoder_activations_are_the_encoders_hidden_units(name):
    """What active_units counts: each activation after a Linear/conv, the encoder fed as encode feeds it
    (a CVAE: [x, onehot(y)]); the last of them is what the heads read (checked through mu)."""
    model = one_of_each()[name]
    x, y = _batch(model)
    labels = model.labels_for(y)
    got = model.encoder_activations(x, labels)
    h = x if labels is None else np.concatenate([x, np.eye(model.n_classes)[y]], axis=1)
    expected = _by_hand(model, h)
    assert list(got) == list(expected) and len(got) >= 2
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    last = got[list(got)[-1]].reshape(len(x), -1)
    head = model.parts()["mu" if model.has_posterior else "code"]
    np.testing.assert_allclose(head.forward(last), model.embed(x, labels), rtol=1e-12)


def test_encoder_activations_check_their_inputs():
    models = one_of_each()
    with pytest.raises(LabelsRequired):
        models["cvae"].encoder_activations(_batch(models["cvae"])[0])
    with pytest.raises(ValueError, match="unconditional"):
        models["vae"].encoder_activations(*_batch(models["vae"]))
    with pytest.raises(ValueError, match=r"\(batch, 12\)"):
        models["ae"].encoder_activations(np.zeros((2, 11)))


def test_no_encoder_input_backdoor():
    for cls in (Model, VAE, AE, CVAE, ConvVAE):
        assert not hasattr(cls, "encoder_input")


@pytest.mark.parametrize("name,title", [("vae", "VAE"), ("ae", "AE"), ("cvae", "CVAE"), ("conv", "conv VAE")])
def test_a_model_names_itself_from_what_it_has(name, title):
    assert one_of_each()[name].name == title


def test_the_page_names_the_model_from_its_description():
    layers = [{"kind": "linear"}, {"kind": "relu"}]
    conv = [{"kind": "linear"}, {"kind": "reshape"}, {"kind": "conv_transpose2d"}]
    assert model_name({"posterior": True, "n_classes": 0, "decoder": {"layers": layers}}) == "VAE"
    assert model_name({"posterior": False, "n_classes": 0, "decoder": {"layers": layers}}) == "plain autoencoder (AE)"
    assert model_name({"posterior": True, "n_classes": 10, "decoder": {"layers": layers}}) == "conditional VAE"
    assert model_name({"posterior": True, "n_classes": 0, "decoder": {"layers": conv}}) == "convolutional VAE"


# ---- no caller asks which kind of model it holds ------------------------------------------------------
KIND_FORKS = [
    r"""(==|!=|\bin)\s*\(?\s*["'](ae|vae|cvae|conv|mlp)["']""",  # ... == "ae", ... in ("vae", ...)
    r"""["'](ae|vae|cvae)["']\s*(==|!=)""",
    r"""isinstance\([^)]*\b(AE|VAE|CVAE|ConvVAE)\b""",  # isinstance(model, AE)
    r"""type\(model\)""",
    r"""\.upper\(\)""",  # a name string made into a title ("ae" -> "AE")
    r"""kind\s*[!=]==?\s*["']""",  # the page's old ``kind === "ae"``
]
CALLERS = ["figures/*.py", "explore/*.py", "explore/*.js", "training/evaluate.py", "training/compare.py",
           "training/diagnostics.py", "training/exact.py", "training/latent_figures.py", "cli/*.py",
           "training/train.py", "training/loop.py", "training/threads.py"]


def _kind_forks(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() for pattern in KIND_FORKS if re.search(pattern, line)
            and "layer" not in line]  # network.py/js: a *layer's* kind ("linear", "conv2d") is what it computes


def test_callers_read_what_the_model_has_not_its_kind():
    files = sorted({p for pattern in CALLERS for p in PACKAGE.glob(pattern)})
    assert len(files) >= 15
    found = {str(p.relative_to(PACKAGE)): _kind_forks(p.read_text(encoding="utf-8")) for p in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_fork_finder_finds_forks():
    """The test above is only as good as its patterns: each old fork is caught."""
    for line in ('key = kind if kind == "ae" else f"{kind} beta"', 'if kind != "ae":',
                 'name = str(cfg.get("model", "vae")).upper()', 'if (model.kind === "ae") {',
                 'return f"conv {name}" if cfg.get("arch", "mlp") == "conv" else name',
                 "if isinstance(model, AE):", 'check_warmup_has_kl(run["kl_warmup"], cfg["model"] != "ae")',
                 'if arch == "conv" and backend == "numpy" and threads > 1:'):
        assert _kind_forks(line), line


# ---- the lecture's network is not a model -------------------------------------------------------------
def test_the_lecture_network_is_not_a_model_but_adam_steps_it():
    net = LectureNetwork()
    assert not isinstance(net, Model) and not hasattr(net, "encode")
    assert sorted(net.params) == ['decoder.W', 'decoder.b', 'encoder.W', 'encoder.b', 'logvar.W', 'logvar.b',
                                  'mu.W', 'mu.b']
    W = net.encoder.params["W"]
    assert net.params["encoder.W"] is W  # views: Adam's in-place step reaches the layers
    np.testing.assert_array_equal(W, worked_example.GIVEN["W_e"])  # the lecture's weights
    for g in net.grads.values():
        g[...] = 1.0
    before = W.copy()
    Adam(net, lr=0.1).step()
    np.testing.assert_allclose(W, before - 0.1, rtol=0, atol=1e-8)


# ---- the comparison's figures are drawn from arrays alone ----------------------------------------------
def test_compare_figures_draw_from_arrays(tmp_path):
    """No model, no training: figures/compare.py takes numbers and returns figures (and writes PNGs)."""
    rng = np.random.default_rng(0)
    pts, digits, imgs = rng.normal(size=(40, 2)), np.arange(40) % 10, rng.random((64, 784))
    grid = np.linspace(-2, 2, 3)
    figs = [draw.latent_pairs([pts, rng.normal(size=(40, 3))], digits, ["a", "b"]),
            draw.image_pairs([imgs, imgs], ["a", "b"], 8, 8, "samples"),
            draw.interpolations([imgs[:12], imgs[12:24]], ["AE", "VAE"], np.linspace(0, 1, 10), "line"),
            draw.beta_losses([0.0, 1.0], [150.0, 160.0], [0.0, 5.0], 3),
            draw.beta_latents([pts, pts], digits, [0.0, 1.0]),
            draw.beta_manifolds([imgs[:9], imgs[9:18]], grid, [0.0, 1.0], 2),
            draw.beta_manifolds([imgs[:3]], grid, [1.0], 1),
            draw.label_rows(imgs[:20], 10, 2)]
    paths = [draw.save(f, tmp_path / f"{i}.png") for i, f in enumerate(figs)]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert figs[0].axes[0].get_xlabel() == "$z_1$" and figs[0].axes[1].get_xlabel() == "PC 1"  # 3-D: PCA
    assert "[-2, 2]²" in figs[5]._suptitle.get_text() and "one latent coordinate" in figs[6]._suptitle.get_text()
