"""Data parallelism (training/parallel.py): the batch split between threads gives the batch's loss and
gradients, to the rounding of the sums, for every model; the replicas share the model's parameters."""

from __future__ import annotations

import numpy as np
import pytest

import tinyvae
from builders import one_of_each
from tinyvae.models.base import LabelsRequired
from tinyvae.training.data import Dataset
from tinyvae.training.parallel import DataParallel, replica
from tinyvae.training.threads import plan
from tinyvae.training.train import fit


def _batch(model: tinyvae.models.base.Model, B: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (B, model.x_dim))
    return x, (rng.integers(0, 4, B) if model.conditional else None)


@pytest.mark.parametrize("name", ["conv", "vae", "ae", "cvae"])
@pytest.mark.parametrize("workers,B", [(2, 8), (3, 7), (4, 3)])
def test_split_batch_gives_the_batch_loss_and_gradients(name: str, workers: int, B: int) -> None:
    whole = one_of_each()[name]
    split = one_of_each()[name]
    x, y = _batch(whole, B)
    seed = 5
    expect = whole.loss_and_grads(x, y, rng=np.random.default_rng(seed))  # eps drawn from the generator
    with DataParallel(split, workers) as dp:
        got = dp.loss_and_grads(x, y, rng=np.random.default_rng(seed))  # the same draw, split into shares
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=0)
    assert set(split.grads) == set(whole.grads)
    for k, g in whole.grads.items():
        np.testing.assert_allclose(split.grads[k], g, rtol=1e-10, atol=1e-14, err_msg=k)
        assert np.any(g != 0), k  # a gradient that is all zeros would prove nothing


def test_every_share_is_used_and_weighted_by_its_rows() -> None:
    """3 workers on 7 rows: shares of 2, 2, 3 rows; a changed row in the last share changes the loss."""
    model = one_of_each()["vae"]
    x, _ = _batch(model, 7)
    eps = np.random.default_rng(0).standard_normal((7, 3))
    with DataParallel(model, 3) as dp:
        a = dp.loss_and_grads(x, eps=eps).total
        x2 = x.copy()
        x2[6] = 1 - x2[6]
        b = dp.loss_and_grads(x2, eps=eps).total
    (recon, kl), (recon0, kl0) = model.loss_terms(x2[6:], eps=eps[6:]), model.loss_terms(x[6:], eps=eps[6:])
    row, row0 = float((recon + model.beta * kl)[0]), float((recon0 + model.beta * kl0)[0])  # the loss, β-weighted
    np.testing.assert_allclose(b - a, (row - row0) / 7, rtol=1e-9)


def test_replicas_share_the_parameters_not_the_layers() -> None:
    model = one_of_each()["conv"]
    rep = replica(model)
    for k, p in model.params.items():
        assert rep.params[k] is p, k
    assert rep.encoder.layers[1] is not model.encoder.layers[1]
    opt = tinyvae.Adam(model, lr=0.1)
    x, _ = _batch(model, 4)
    model.loss_and_grads(x, rng=np.random.default_rng(0))
    opt.step()  # in place: the replica sees the step
    model.load_params({k: v + 1 for k, v in model.params.items()})  # replaced or in place: seen either way
    for k, p in model.params.items():
        assert np.array_equal(rep.params[k], p), k


def test_a_worker_error_reaches_the_caller() -> None:
    model = one_of_each()["cvae"]
    x, _ = _batch(model, 6)
    with DataParallel(model, 2) as dp, pytest.raises(LabelsRequired):
        dp.loss_and_grads(x, None, rng=np.random.default_rng(0))


def test_refusals() -> None:
    model = one_of_each()["vae"]
    for bad in (1, 0, 2.0, True):
        with pytest.raises(ValueError, match="workers must be an integer >= 2"):
            DataParallel(model, bad)  # type: ignore[arg-type]
    array_api_strict = pytest.importorskip("array_api_strict")
    with pytest.raises(ValueError, match="^workers must be 1 for a model that does not live on NumPy, got 2"):
        DataParallel(one_of_each()["vae"].to(array_api_strict), 2)


def test_fit_with_workers_follows_the_one_worker_run() -> None:
    """Two epochs in float64: the same shuffles and noise, sums in another order: the same run to rounding."""
    rng = np.random.default_rng(0)
    data = Dataset(rng.uniform(0, 1, (40, 64)), rng.integers(0, 10, 40), rng.uniform(0, 1, (12, 64)),
                   rng.integers(0, 10, 12), name="noise")
    runs = {}
    for workers in (1, 2, 3):
        model = tinyvae.ConvVAE(64, channels=(3, 4), hidden_dim=5, z_dim=2, rng=1)
        runs[workers] = (fit(model, data, epochs=2, batch_size=16, seed=3, workers=workers), model.params)
    for workers in (2, 3):
        for a, b in zip(runs[workers][0], runs[1][0]):
            np.testing.assert_allclose(a["test_loss"], b["test_loss"], rtol=1e-10)
            np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-10)
        for k, p in runs[1][1].items():
            np.testing.assert_allclose(runs[workers][1][k], p, rtol=1e-12, atol=1e-12, err_msg=k)


def test_plan_splits_the_batch_only_for_the_convolutional_model_on_numpy() -> None:
    assert plan(2, True) == (1, 2)
    assert plan(4, True) == (1, 4)
    assert plan(1, True) == (1, 1)
    assert plan(2, False) == (2, 1)
    assert plan(2, True, "cupy") == (2, 1)


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "2"])
def test_fit_refuses_a_worker_count_that_is_not_a_positive_integer(bad: object) -> None:
    rng = np.random.default_rng(0)
    data = Dataset(rng.uniform(0, 1, (8, 12)), rng.integers(0, 10, 8), rng.uniform(0, 1, (4, 12)),
                   rng.integers(0, 10, 4), name="noise")
    with pytest.raises(ValueError, match="workers must be an integer from 1 to 1,024, got "):
        fit(tinyvae.VAE(12, [7], 3, rng=0), data, epochs=1, workers=bad)  # type: ignore[arg-type]


def test_a_batch_too_small_to_split_is_the_models_own() -> None:
    model, alone = one_of_each()["vae"], one_of_each()["vae"]
    x, _ = _batch(model, 1)
    with DataParallel(model, 2) as dp:
        got = dp.loss_and_grads(x, rng=np.random.default_rng(0))
        assert got == alone.loss_and_grads(x, rng=np.random.default_rng(0))
        with pytest.raises(ValueError, match="got an empty batch"):  # the model's own message
            dp.loss_and_grads(x[:0], rng=np.random.default_rng(0))


def test_a_split_batch_is_read_once_whole_and_its_shares_not_again(monkeypatch) -> None:
    reads = []
    monkeypatch.setattr(tinyvae.models.base, "check_unit_interval", lambda x, **kw: reads.append(x.shape[0]))
    model = one_of_each()["vae"]
    x, _ = _batch(model, 8)
    with DataParallel(model, 2) as dp:
        dp.loss_and_grads(x, rng=np.random.default_rng(0))
        assert reads == [8]  # the whole batch, once; neither worker reads its share again
        dp._loss_and_grads(x, rng=np.random.default_rng(0))
        assert reads == [8]  # values checked already (train_epoch's batches): not read at all
        with pytest.raises(ValueError, match=r"expects x of shape \(batch, 12\), got \(4, 11\)"):
            dp._loss_and_grads(x[:, 1:], rng=np.random.default_rng(0))  # each share's shape still is checked
    assert vars(model).keys() == vars(one_of_each()["vae"]).keys()  # no state left on the model


def test_a_replica_reads_the_values_of_what_it_is_given(monkeypatch) -> None:
    """Nothing to undo on a replica: its own loss_and_grads reads x's values, like the model's."""
    reads = []
    monkeypatch.setattr(tinyvae.models.base, "check_unit_interval", lambda x, **kw: reads.append(x.shape[0]))
    model = one_of_each()["vae"]
    x, _ = _batch(model, 8)
    with DataParallel(model, 2) as dp:
        dp.replicas[1].loss_and_grads(x[:3], rng=np.random.default_rng(0))
    assert reads == [3]
    bad = x.copy()
    bad[5, 7] = np.nan
    monkeypatch.undo()
    with DataParallel(model, 2) as dp, pytest.raises(ValueError, match="got x with NaN or inf values; clean the data first"):
        dp.loss_and_grads(bad, rng=np.random.default_rng(0))
