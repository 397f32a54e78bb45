"""loss_curves.png: train and test in every loss panel, the KL of each latent dimension, whole-number epochs,
KL axes from 0, and titles that neither overlap nor leave the figure at the size it is saved."""

import itertools
import math

import numpy as np
import pytest

from tinyvae.figures import plots

MSE_CONV = {"model": "vae", "arch": "conv", "x_dim": 784, "z_dim": 2, "loss": "mse", "beta": 1.0}  # the longest titles


def _rows(epochs, z_dim=2, kl_scale=1.0):
    return [{"epoch": e, "train_loss": 60.0 - e, "test_loss": 61.0 - e, "train_recon": 50.0 - e, "test_recon": 51.0 - e,
             "train_kl": kl_scale * (0.5 + 0.01 * e), "test_kl": kl_scale * (0.45 + 0.01 * e),
             "kl_per_dim": [kl_scale * (0.3 + 0.01 * e)] + [kl_scale * 0.15] * (z_dim - 1), "active_units": z_dim,
             "seconds": 0.1} for e in range(1, epochs + 1)]


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """loss_curves(...) -> its Figure, drawn (the one saved)."""
    figs = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: (figs.append(fig), fig.savefig(path))[-1] or path)

    def draw(rows, config=MSE_CONV):
        plots.loss_curves(rows, tmp_path / "l.png", config)
        return figs[-1]
    return draw


@pytest.mark.parametrize("config", [MSE_CONV, {"model": "vae", "loss": "bce", "beta": 4.0, "x_dim": 784}, None])
def test_titles_do_not_overlap_and_stay_inside_the_saved_figure(drawn, config):
    fig = drawn(_rows(30), config)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # laid out as savefig laid it out: same size, same dpi
    renderer = canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes] + [fig._suptitle.get_window_extent(renderer)]
    frame = fig.bbox
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    for ax in fig.axes:  # nor does a title run into the axes' own frame or the panel beside it
        assert ax.title.get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1 - 1
        assert ax.title.get_fontsize() >= 8


def test_every_loss_panel_shows_train_and_test_and_the_fourth_each_dimension(drawn):
    fig = drawn(_rows(5, z_dim=3))
    for ax in fig.axes[:3]:
        assert [line.get_label() for line in ax.get_lines()] == ["train", "test"]
    labels = [line.get_label() for line in fig.axes[3].get_lines()]
    assert labels[:4] == ["z1", "z2", "z3", "sum over dimensions"] and labels[4].startswith("log 2")
    np.testing.assert_allclose(fig.axes[3].get_lines()[3].get_ydata(), [0.6 + 0.01 * e for e in range(1, 6)])
    assert fig.axes[3].get_lines()[4].get_ydata()[0] == pytest.approx(math.log(2))


@pytest.mark.parametrize("epochs", [1, 2, 7, 30])
def test_epoch_ticks_are_whole_numbers_of_the_run(drawn, epochs):
    fig = drawn(_rows(epochs))
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() and 1 <= t <= epochs for t in ticks), ticks


@pytest.mark.parametrize("scale", [1e-4, 1.0, 30.0])
def test_kl_axes_start_at_zero_and_do_not_zoom_into_noise(drawn, scale):
    fig = drawn(_rows(6, kl_scale=scale))
    for ax in fig.axes[2:]:
        lo, hi = ax.get_ylim()
        top = max(y for line in ax.get_lines() for y in line.get_ydata())
        assert lo == 0.0 and hi >= max(1.0, top)


def test_an_autoencoder_and_an_older_run_say_why_the_fourth_panel_is_empty(drawn):
    ae = [{k: v for k, v in r.items() if k != "kl_per_dim"} for r in _rows(2)]
    fig = drawn(ae, {"model": "ae", "loss": "bce", "x_dim": 784})
    assert "an AE has no posterior" in fig.axes[3].texts[0].get_text()
    old = [{k: v for k, v in r.items() if k not in ("kl_per_dim", "active_units", "train_recon", "train_kl")}
           for r in _rows(2)]
    fig = drawn(old)
    assert "not recorded" in fig.axes[3].texts[0].get_text()
    assert [line.get_label() for line in fig.axes[1].get_lines()] == ["test"]  # what an older run recorded
