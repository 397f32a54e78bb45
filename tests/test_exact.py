"""The exact likelihood of a 2-D model (training/exact.py): quadrature against an independent grid, the
bounds on either side of it, the posterior KL that is the ELBO's gap, and the refusals."""

import json
import math

import numpy as np
import pytest

from tinyvae.models.ae import AE
from tinyvae.models.cvae import CVAE
from tinyvae.models.ranges import ParameterError
from tinyvae.models.vae import VAE
from tinyvae.training import data as D
from tinyvae.training.evaluate import eval_loss, gaussian_constant, iwae_bound
from tinyvae.training.exact import exact_nll, log_likelihood_matrix, log_posterior_grid
from tinyvae.training.train import fit


@pytest.fixture(scope="module")
def trained():
    """A 784-32-2 VAE, BCE, trained 4 epochs on 600 statically binarized digits; 40 test digits."""
    data = D.load(binarize="static", dtype=np.float64).subset(600, 40)
    model = VAE(784, [32], 2, rng=np.random.default_rng(0), dtype=np.float64)
    fit(model, data, epochs=4, batch_size=32)
    return model, data


def independent_nll(model, x: np.ndarray, half_width: float = 9.0, points: int = 301) -> np.ndarray:
    """-log p(x) per image through the model's own loss (decode, reconstruction_per_example) on another
    grid (wider, other spacing) with the trapezoid rule's weights, one image and one row of z at a time."""
    axis = np.linspace(-half_width, half_width, points)
    w = np.full(points, axis[1] - axis[0])
    w[[0, -1]] /= 2
    out = []
    const = gaussian_constant(x.shape[1]) if model.recon_loss == "mse" else 0.0
    for xi in x:
        rows = []
        for a, wa in zip(axis, w):
            z = np.stack([np.full(points, a), axis], axis=1)
            ll = -model.reconstruction_per_example(model.decode_logits(z), np.repeat(xi[None], points, 0)) - const
            rows.append(ll - 0.5 * np.sum(z * z, axis=1) - math.log(2 * math.pi) + np.log(wa * w))
        lj = np.concatenate(rows)
        m = lj.max()
        out.append(-(m + math.log(np.sum(np.exp(lj - m)))))
    return np.array(out)


def test_nll_exact_agrees_with_an_independent_grid(trained):
    model, data = trained
    x = data.x_test[:6]
    r = exact_nll(model, x)
    ref = independent_nll(model, x)
    np.testing.assert_allclose(r.nll, ref, atol=0.05)
    assert r.refinement < 0.05 and r.edge_share < 1e-4


def test_chunks_and_blocks_change_nothing(trained, monkeypatch):
    """Grid chunks of 7 points and image blocks of 3 images give the numbers of one piece (memory is bounded
    by the chunking, not by the number of images or points)."""
    from tinyvae.training import exact

    model, data = trained
    x = data.x_test[:8]
    whole = exact_nll(model, x, points=51)
    monkeypatch.setattr(exact, "CHUNK_BYTES", 8 * 10 * 3 * 7)
    monkeypatch.setattr(exact, "IMAGE_BLOCK", 3)
    parts = exact_nll(model, x, points=51)
    for name in ("nll", "nll_coarse", "neg_elbo", "kl_posterior"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-12, err_msg=name)
    assert abs(parts.edge_share - whole.edge_share) <= 1e-12


def test_mse_likelihood_matrix_is_the_models_loss(rng):
    model = VAE(16, [8], 2, loss="mse", rng=rng)
    x, z = rng.random((3, 16)), rng.standard_normal((5, 2))
    logits = model.decode_logits(z)
    got = log_likelihood_matrix(model, x, logits)
    want = [[-float(model.reconstruction_per_example(logits[g : g + 1], x[n : n + 1])[0]) - gaussian_constant(16)
             for g in range(5)] for n in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    r = exact_nll(model, x, points=201)  # an mse model's grey pixels are fine: a Gaussian density
    np.testing.assert_allclose(r.nll, independent_nll(model, x), atol=0.05)


def test_the_convolutional_model_integrates_the_same_way(rng):
    """The document's model (tiny sizes, mse: a Gaussian density of grey pixels) through the same grid."""
    from tinyvae.models.conv_vae import ConvVAE

    model = ConvVAE(x_dim=16, channels=(2, 3), hidden_dim=3, z_dim=2, rng=rng)
    x = rng.random((3, 16))
    np.testing.assert_allclose(exact_nll(model, x, points=201).nll, independent_nll(model, x), atol=0.05)


def test_the_bounds_lie_on_either_side_and_the_gap_is_the_posterior_kl(trained):
    """−ELBO > −log p(x); IWAE-1000 between them (within its Monte-Carlo noise: E[IWAE_K] ≥ −log p(x), one
    estimate may fall below by its noise); the ELBO's gap equals the mean KL(q(z|x) ‖ p(z|x)) on the grid."""
    model, data = trained
    x = data.x_test
    r = exact_nll(model, x)
    nll = float(r.nll.mean())
    elbo = float(np.mean([eval_loss(model, x, rng=np.random.default_rng(s)).total for s in range(200)]))
    iwae = [iwae_bound(model, x, k=1000, rng=np.random.default_rng(s)) for s in range(2)]
    assert elbo > nll + 1.0
    assert all(nll - 0.05 < v < elbo for v in iwae), (nll, iwae, elbo)
    assert abs((elbo - nll) - float(r.kl_posterior.mean())) < 0.1  # MC noise of 200 draws of 40 images: ~0.05
    assert abs(float(r.neg_elbo.mean()) - elbo) < 0.1
    assert np.all(r.kl_posterior > -1e-6)


def test_cvae_gets_the_likelihood_given_its_label(rng):
    model = CVAE(16, [8], 2, n_classes=3, rng=rng)
    x, y = (rng.random((4, 16)) > 0.5).astype(float), np.array([0, 2, 2, 1])
    r = exact_nll(model, x, y, points=101)
    for i in range(4):
        one = exact_nll(model, x[i : i + 1], y[i : i + 1], points=101, half_width=r.half_width)
        np.testing.assert_allclose(one.nll, r.nll[i : i + 1], rtol=1e-12)
    other = exact_nll(model, x[:1], np.array([1]), points=101, half_width=r.half_width)
    assert abs(other.nll[0] - r.nll[0]) > 1e-6  # the label matters


def test_the_true_posterior_is_a_density_on_its_grid(trained):
    model, data = trained
    axis, logp = log_posterior_grid(model, data.x_test[:2])
    h = axis[1] - axis[0]
    np.testing.assert_allclose(np.exp(logp).sum(axis=(1, 2)) * h * h, 1.0, rtol=1e-12)


@pytest.mark.parametrize("make,x,match", [
    (lambda: VAE(16, [8], 3, rng=0), np.zeros((2, 16)), "z_dim=3"),
    (lambda: AE(16, [8], 2, rng=0), np.zeros((2, 16)), "autoencoder has no prior"),
    (lambda: VAE(16, [8], 2, rng=0), np.full((2, 16), 0.5), "grey"),
])
def test_where_it_does_not_apply_it_refuses(make, x, match):
    with pytest.raises(ValueError, match=match):
        exact_nll(make(), x)


def test_evaluate_exact_command(cli_run, capsys):
    from tinyvae.cli import main

    runs = {"bin": cli_run("--binarize", "static").folder, "grey": cli_run().folder,
            "z20": cli_run("--latent", "20", "--binarize", "static").folder}
    assert main(["evaluate", str(runs["bin"]), "--iwae", "3", "--exact", "--grid", "101", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["neg_elbo"] > report["nll_exact"] > 0 and report["nll_exact_grid"]["points"] == 101
    assert main(["evaluate", str(runs["bin"]), "--iwae", "3", "--exact", "--grid", "101"]) == 0
    out = capsys.readouterr().out
    assert f"-log p(x), exact          {report['nll_exact']:9.3f} nats/image" in out
    assert f"KL(q(z|x) || p(z|x))      {report['kl_posterior']:9.3f}" in out and "estimate upper bounds" in out
    assert main(["evaluate", str(runs["bin"]), "--grid", "101"]) == 2
    assert "add --exact" in capsys.readouterr().err
    for run, match in (("grey", "grey"), ("z20", "--latent 20")):
        assert main(["evaluate", str(runs[run]), "--exact"]) == 2
        err = capsys.readouterr().err.strip()
        assert match in err and "\n" not in err and "Traceback" not in err
    for grid in ("100", "3", "2003"):  # one range, the library's (training/exact.GRID), shown with the flag's name
        assert main(["evaluate", str(runs["bin"]), "--exact", "--grid", grid]) == 2
        assert capsys.readouterr().err.strip().endswith(
            f"--grid must be an odd number from 5 to 2,001 (the grid's points per axis), got {int(grid):,}")


@pytest.mark.parametrize("points", [4, 100, 3, 2003, 5.0, True, "201"])
def test_the_grid_is_refused_by_one_check_naming_points(points):
    with pytest.raises(ParameterError, match=r"^points must be an odd number from 5 to 2,001"):
        exact_nll(VAE(16, [8], 2, rng=0), np.zeros((2, 16)), points=points)
