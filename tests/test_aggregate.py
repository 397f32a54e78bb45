"""The aggregate posterior against the prior (training/aggregate.py) and the two figures (computed by training/latent_figures.py, drawn by figures/posterior.py)."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from tinyvae.training.latent_figures import aggregate_vs_prior, true_posteriors
from tinyvae.models.vae import VAE
from tinyvae.training.aggregate import HOLE_RATIO, aggregate_density, aggregate_posterior


def test_posteriors_equal_to_the_prior_leave_no_hole_and_no_kl():
    r = aggregate_posterior(np.zeros((5, 2)), np.zeros((5, 2)), half_width=7.0, points=201)
    assert abs(r.kl) < 1e-9 and r.hole_mass == 0.0 and abs(r.grid_mass - 1) < 1e-9


def test_one_shifted_posterior_kl_and_hole_have_their_closed_forms():
    """q_agg = N(m, diag σ²): KL(q ‖ p) = ½ Σ_j (σ_j² + m_j² - 1 - log σ_j²). With σ = 1 the holes
    (p > 10 q) are the half plane z·m < |m|²/2 - log 10, whose prior mass is Φ((|m|²/2 - log 10) / |m|)."""
    m, logvar = np.array([[1.5, -0.5]]), np.log(np.array([[0.3, 2.0]]))
    r = aggregate_posterior(m, logvar, half_width=9.0, points=301)
    want = 0.5 * float(np.sum(np.exp(logvar) + m * m - 1 - logvar))
    assert abs(r.kl - want) < 1e-4, (r.kl, want)
    r = aggregate_posterior(m, np.zeros((1, 2)), half_width=9.0, points=601)
    norm = float(np.linalg.norm(m))
    want = NormalDist().cdf((norm**2 / 2 - math.log(HOLE_RATIO)) / norm)
    assert abs(r.hole_mass - want) < 5e-3, (r.hole_mass, want)  # the grid's cells along the edge of the half plane


def test_the_mixture_is_the_mean_of_its_gaussians(rng):
    mu, logvar, z = rng.standard_normal((300, 2)), rng.standard_normal((300, 2)) * 0.3, rng.standard_normal((7, 2))
    var = np.exp(logvar)
    dens = np.exp(-0.5 * np.sum((z[:, None] - mu[None]) ** 2 / var[None], axis=2)) / (2 * np.pi * np.sqrt(var.prod(1)))
    np.testing.assert_allclose(aggregate_density(mu, logvar, z), dens.mean(axis=1), rtol=1e-12)


def test_figures_are_drawn_and_refuse_other_latent_sizes(tmp_path, rng):
    model = VAE(16, [8], 2, rng=0)
    x = (rng.random((30, 16)) > 0.5).astype(float)
    for draw, name in ((lambda p: aggregate_vs_prior(model, x, p), "agg.png"),
                       (lambda p: true_posteriors(model, x[:3], p), "post.png")):
        path = draw(tmp_path / name)
        assert path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="z_dim=3"):
        aggregate_vs_prior(VAE(16, [8], 3, rng=0), x, tmp_path / "no.png")
    with pytest.raises(ValueError, match="1 to 8"):
        true_posteriors(model, x[:9], tmp_path / "no.png")
