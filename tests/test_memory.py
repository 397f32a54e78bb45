"""models/memory.py: the per-image memory estimate against tracemalloc, and chunked work that gives the
numbers the whole batch gives while its memory follows the chunk."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from tinyvae.engine.reparam import draw_eps
from tinyvae.models import memory
from tinyvae.models.ae import AE
from tinyvae.models.conv_vae import ConvVAE
from tinyvae.models.cvae import CVAE
from tinyvae.models.vae import VAE
from tinyvae.training import evaluate as E

MODELS = {  # the narrowest and widest MLPs measured, an AE, a CVAE with many labels, convolutions k = 1 and 7
    "vae 784-400-2, float64": lambda: VAE(784, [400], 2, rng=0, dtype=np.float64),
    "vae 784-2000-2, float32": lambda: VAE(784, [2000], 2, rng=0, dtype=np.float32),
    "vae 784-8-2, mse, identity output": lambda: VAE(784, [8], 2, loss="mse", output="identity", rng=0, dtype=np.float64),
    "vae 784-512-256-200, float32": lambda: VAE(784, [512, 256], 200, rng=0, dtype=np.float32),
    "ae 784-16-20, float64": lambda: AE(784, [16], 20, rng=0, dtype=np.float64),
    "cvae 784-16-2, 200 labels, float64": lambda: CVAE(784, [16], 2, n_classes=200, rng=0, dtype=np.float64),
    "conv (32, 64), float32": lambda: ConvVAE(rng=0, dtype=np.float32),
    "conv (8, 16), kernel 7, 16×16, float32": lambda: ConvVAE(256, channels=(8, 16), kernel_size=7, rng=0, dtype=np.float32),
    "conv (64, 8), kernel 1, float32": lambda: ConvVAE(channels=(64, 8), kernel_size=1, rng=0, dtype=np.float32),
}


def _peak(fn) -> int:
    """Bytes allocated at the peak of fn() beyond what was allocated before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def _work(model, what: str, n: int, rng: np.random.Generator):
    x = model.asarray(rng.random((n, model.x_dim)))
    y = np.arange(n) % 10 if model.conditional else None
    if what == "forward":
        return lambda: model.loss_terms(x, y, rng=rng)
    if what == "forward and backward":
        return lambda: model.loss_and_grads(x, y, rng=rng)
    if what == "decode":
        return lambda: model.decode(model.asarray(rng.standard_normal((n, model.z_dim))), y)
    m = n // 8  # the IWAE's log-weights: n/8 images × 8 samples = n decoder rows
    return lambda: E.log_weights(model, x[:m], None if y is None else y[:m], eps=draw_eps(rng, (m, 8, model.z_dim), model.ref))


def _per_image(model, what: str) -> float:
    """Numbers per image at the peak of ``what``: the growth from 64 to 128 images, so that weights and other
    fixed costs drop out (each size run once before it is measured, so the layers' caches are in place)."""
    rng = np.random.default_rng(0)
    peaks = []
    for n in (64, 128):
        work = _work(model, what, n, rng)
        work()
        peaks.append(_peak(work))
    return (peaks[1] - peaks[0]) / 64 / model.dtype.itemsize


@pytest.mark.parametrize("name", MODELS)
def test_the_measured_peak_per_image_is_what_memory_py_says(name):
    """A forward, a forward and backward, the IWAE's log-weights: 0.4 to 1.2 times activation_floats per image
    (a decode: below 1.2), so bytes_per_image (1.5 times) covers each."""
    model = MODELS[name]()
    floats = memory.activation_floats(model.config())
    for what in ("forward", "forward and backward", "decode", "iwae"):
        if what == "iwae" and not model.has_posterior:
            continue
        ratio = _per_image(model, what) / floats
        assert (0.0 if what == "decode" else 0.4) <= ratio <= 1.2, (what, ratio, floats)
        assert ratio * floats * model.dtype.itemsize < memory.image_bytes(model)


def test_the_forward_peaks_memory_py_quotes():
    """About 141,000 numbers per image for the convolutional VAE's forward, about 4,700 for the default MLP's."""
    assert round(_per_image(ConvVAE(rng=0, dtype=np.float32), "forward"), -3) == 141_000
    assert round(_per_image(VAE(784, [400], 2, rng=0, dtype=np.float32), "forward"), -2) == 4_700


def test_the_chunk_sizes_the_evaluation_docstring_gives():
    assert memory.chunk_rows(VAE(784, [400], 2, rng=0, dtype=np.float32), E.ROWS_PER_CHUNK) == 16192
    assert memory.chunk_rows(ConvVAE(rng=0, dtype=np.float32), E.ROWS_PER_CHUNK) == 345
    assert memory.chunk_rows(ConvVAE(rng=0, dtype=np.float64), E.ROWS_PER_CHUNK) == 172


def test_chunk_rows_stays_within_one_and_the_cap(monkeypatch):
    conv = ConvVAE(rng=0, dtype=np.float32)
    assert memory.chunk_rows(conv, 10) == 10
    with pytest.raises(ValueError, match="cap must be 1 or more, got 0"):
        memory.chunk_rows(conv, 0)
    monkeypatch.setattr(memory, "CHUNK_BYTES", 1)  # not one image fits: one at a time, never zero
    assert memory.chunk_rows(conv, 10) == 1
    assert [(s.start, s.stop) for s in memory.chunks(conv, 3, 10)] == [(0, 1), (1, 2), (2, 3)]
    assert [(s.start, s.stop) for s in memory.chunks(conv, 0, 10)] == [(0, 0)]  # for the model to refuse


def test_no_images_get_the_models_own_refusal(conv_and_images):
    """Evaluating zero images: the model's message for an empty batch, not a division by zero."""
    model, x = conv_and_images
    for run in (lambda: E.eval_loss(model, x[:0], rng=np.random.default_rng(0)), lambda: E.active_units(model, x[:0])):
        with pytest.raises(ValueError, match="got an empty batch"):
            run()


@pytest.fixture(scope="module")
def conv_and_images():
    model = ConvVAE(channels=(4, 8), hidden_dim=8, rng=1, dtype=np.float64)
    x = np.random.default_rng(2).random((24, 784))
    return model, x


@pytest.mark.parametrize("kind", ["conv", "cvae"])
def test_chunked_evaluation_gives_the_numbers_of_the_whole_batch(conv_and_images, monkeypatch, kind):
    """With a budget of 3 images per chunk, the test loss, the IWAE estimate (the same noise, drawn chunk after
    chunk) and the active units equal what one chunk of all the images gives; a CVAE's labels follow its images."""
    model, x = conv_and_images
    y = None
    if kind == "cvae":
        model, y = CVAE(784, [16], 2, rng=1, dtype=np.float64), np.random.default_rng(5).permutation(24) % 10

    def run():
        return (E.eval_loss(model, x, y, rng=np.random.default_rng(3)),
                E.iwae_bound(model, x, y, k=4, rng=np.random.default_rng(4)), E.active_units(model, x, y))

    whole = run()
    monkeypatch.setattr(memory, "CHUNK_BYTES", 3 * memory.image_bytes(model))
    assert memory.chunk_rows(model, 1000) == 3
    chunked = run()
    assert chunked[0].recon == pytest.approx(whole[0].recon, rel=1e-13)
    assert chunked[0].kl == pytest.approx(whole[0].kl, rel=1e-13)
    assert chunked[1] == pytest.approx(whole[1], rel=1e-13)  # k = 4 > 3 rows: each image's samples streamed
    assert chunked[2]["latent"] == whole[2]["latent"] and chunked[2]["layers"] == whole[2]["layers"]
    np.testing.assert_allclose(chunked[2]["latent_variance"], whole[2]["latent_variance"], rtol=1e-12)


def test_the_iwae_of_a_conv_model_holds_one_chunk_not_all_samples(conv_and_images, monkeypatch):
    """The convolutional decoder's column buffers used to make the IWAE chunk of 16,384 rows about 11 GB;
    with the budget it stays near CHUNK_BYTES whatever K is."""
    model, x = conv_and_images
    per_image = memory.image_bytes(model)
    monkeypatch.setattr(memory, "CHUNK_BYTES", 20 * per_image)
    peak = _peak(lambda: E.iwae_bound(model, x[:2], k=200, rng=np.random.default_rng(0)))
    assert peak < 20 * per_image, (peak, per_image)  # 2 × 200 rows at once would be 20 times that


@pytest.mark.parametrize("what", ["test loss", "active units", "iwae"])
def test_evaluation_of_a_conv_model_holds_one_chunk(conv_and_images, monkeypatch, what):
    """With a budget of 2 images, evaluating 24 takes at most 2 images' memory, and less than a quarter of what
    all 24 at once take."""
    model, x = conv_and_images
    per_image = memory.image_bytes(model)
    run = {"test loss": lambda: E.eval_loss(model, x, rng=np.random.default_rng(0)),
           "active units": lambda: E.active_units(model, x),
           "iwae": lambda: E.iwae_bound(model, x, k=2, rng=np.random.default_rng(0))}[what]
    whole = _peak(run)
    monkeypatch.setattr(memory, "CHUNK_BYTES", 2 * per_image)
    chunked = _peak(run)
    assert chunked < 2 * per_image and chunked < whole / 4, (chunked, per_image, whole)


@pytest.mark.parametrize("arch", [["--arch", "conv", "--hidden", "8"], ["--model", "cvae"]])
def test_sample_decodes_in_chunks_and_writes_what_one_draw_gives(cli_run, tmp_path, monkeypatch, capsys, arch):
    """tinyvae sample with a budget of 7 images: the conv run decodes 7 at a time, the CVAE whole cycles of
    its 10 digits; both write the images one chunk of all 25 gives (the same z, the same labels)."""
    from tinyvae.cli import main

    run = cli_run(*arch).folder
    assert main(["sample", str(run), "--n", "25", "--out", str(tmp_path / "whole.npy"), "--seed", "3"]) == 0
    sizes = []
    from tinyvae.models.base import Model

    sample = Model.sample
    monkeypatch.setattr(Model, "sample", lambda self, n, *a, **k: (sizes.append(n), sample(self, n, *a, **k))[1])
    cfg = json.loads((run / "config.json").read_text())["model"]
    monkeypatch.setattr(memory, "CHUNK_BYTES", 7 * memory.bytes_per_image(cfg, 4))
    assert main(["sample", str(run), "--n", "25", "--out", str(tmp_path / "chunked.npy"), "--seed", "3"]) == 0
    assert sizes == ([7, 7, 7, 4] if "conv" in arch else [10, 10, 5])
    np.testing.assert_allclose(np.load(tmp_path / "chunked.npy"), np.load(tmp_path / "whole.npy"), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["conv", "cvae"])
def test_the_latent_scatter_embeds_in_chunks(tmp_path, monkeypatch, kind):
    """Chunks of 4 images, each with its own labels (a CVAE's); no images: the model's own refusal."""
    from tinyvae.figures import plots

    model = ConvVAE(channels=(4, 8), hidden_dim=8, rng=1, dtype=np.float64) if kind == "conv" else \
        CVAE(784, [16], 2, rng=1, dtype=np.float64)
    x, y = np.random.default_rng(0).random((10, 784)), np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    seen = []
    embed = model.embed
    monkeypatch.setattr(model, "embed", lambda xb, yb=None: (seen.append((xb.shape[0], yb)), embed(xb, yb))[1])
    monkeypatch.setattr(memory, "CHUNK_BYTES", 4 * memory.image_bytes(model))
    plots.latent_scatter(model, x, y, tmp_path / "scatter.png")
    assert [n for n, _ in seen] == [4, 4, 2] and (tmp_path / "scatter.png").stat().st_size > 0
    if kind == "cvae":
        np.testing.assert_array_equal(np.concatenate([labels for _, labels in seen]), y)
    with pytest.raises(ValueError, match="empty batch"):
        plots.latent_scatter(model, x[:0], y[:0], tmp_path / "none.png")
