"""fit's options are one TrainConfig, checked once when it is made; an unknown option is refused in one line."""

import dataclasses

import numpy as np
import pytest

from tinyvae.models.vae import VAE
from tinyvae.training import data as D
from tinyvae.training.train import TrainConfig, fit


@pytest.fixture(scope="module")
def digits():
    return D.load(dtype=np.float64).subset(150, 50)


def small():
    return VAE(784, [16], 2, rng=0)


@pytest.mark.parametrize("kw,error,match", [
    (dict(epochs=0), ValueError, "epochs must be an integer from 1 to 1,000,000, got 0"),
    (dict(epochs=2, batch_size=2.5), ValueError, "batch_size must be an integer from 1 to 1,000,000,000, got 2.5"),
    (dict(epochs=2, lr=0), ValueError, "lr must be a positive number, at most 1e6, got 0"),
    (dict(epochs=2, workers=0), ValueError, "workers must be an integer from 1 to 1,024, got 0"),
    (dict(epochs=2, kl_warmup=3), ValueError, r"kl_warmup must be from 0 to epochs=2, the run's length, got 3"),
    (dict(epochs=2, kl_warmup=-1), ValueError, "kl_warmup must be an integer from 0 to 1,000,000, got -1"),
    (dict(epochs=2, seed=-1), ValueError, r"seed must be an integer from 0 to 2\*\*63 - 1, got -1"),
    (dict(epochs=2, run_config={"note": "hello"}), ValueError, r"unknown key\(s\) \['note'\]"),
    (dict(epochs=2, run_config=[("backend", "numpy")]), TypeError, "run_config must be a dict of facts to record, got list"),
])
def test_a_train_config_refuses_a_bad_option_when_it_is_made(kw, error, match):
    with pytest.raises(error, match=match) as e:
        TrainConfig(**kw)
    assert "\n" not in str(e.value)


def test_a_train_config_holds_the_checked_values_and_cannot_change():
    c = TrainConfig(epochs=np.int64(3), lr=1, kl_warmup=np.int32(2), run_config={"backend": "numpy"})
    assert (type(c.epochs), type(c.kl_warmup), c.lr, type(c.lr)) == (int, int, 1.0, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        c.run_config["backend"] = "cupy"  # type: ignore[index]
    assert c.record("digits.npz") == {"epochs": 3, "batch_size": 128, "lr": 1.0, "seed": 0, "data": "digits.npz",
                                      "backend": "numpy", "kl_warmup": 2}
    with pytest.raises(ValueError, match=r"kl_warmup must be from 0 to epochs=1, the run's length, got 2"):
        dataclasses.replace(c, epochs=1)  # a changed copy is checked again


@pytest.mark.parametrize("kw,match", [
    (dict(epochs=1, learning_rate=0.1), r"^fit got an unknown option learning_rate; did you mean lr\? \(its options: "
                                        r"epochs, batch_size, lr, seed, workers, kl_warmup, run_config\)$"),
    (dict(epoch=1), r"^fit got an unknown option epoch; did you mean epochs\?"),
    (dict(epochs=1, batchsize=10), r"^fit got an unknown option batchsize; did you mean batch_size\?"),
    (dict(epochs=1, out="runs/x"), r"^fit got an unknown option out; did you mean out_dir\?"),
    (dict(epochs=1, threads=2), r"^fit got an unknown option threads; did you mean workers\?"),
    (dict(epochs=1, zzz=1), r"^fit got an unknown option zzz \(its options: epochs, "),
    (dict(batch_size=10), r"^fit needs epochs=N, the number of epochs to train"),
])
def test_fit_refuses_an_unknown_option_in_one_line_before_anything_is_written(digits, tmp_path, kw, match):
    model = small()
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(TypeError, match=match) as e:
        fit(model, digits, out_dir=tmp_path / "run", progress=False, **kw)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "run").exists()
    assert all(np.array_equal(v, before[k]) for k, v in model.params.items())


def test_a_config_trains_as_its_fields_given_as_keywords_do(digits):
    kw = dict(epochs=2, batch_size=50, seed=3, lr=2e-3)
    models = [small(), small(), small()]
    runs = [fit(models[0], digits, progress=False, **kw),
            fit(models[1], digits, TrainConfig(**kw), progress=False),
            fit(models[2], digits, TrainConfig(epochs=2, batch_size=50, seed=3), lr=2e-3, progress=False)]  # lr replaced
    drop = ("seconds", "train_seconds")
    assert [[{k: v for k, v in m.items() if k not in drop} for m in run] for run in runs[1:]] == \
           [[{k: v for k, v in m.items() if k not in drop} for m in runs[0]]] * 2
    for m in models[1:]:
        assert all(np.array_equal(v, models[0].params[k]) for k, v in m.params.items())
    with pytest.raises(TypeError, match="^fit's config must be a TrainConfig, got dict; or give its fields as keywords"):
        fit(small(), digits, kw)
    with pytest.raises(ValueError, match="epochs must be an integer from 1 to 1,000,000, got 0"):
        fit(small(), digits, TrainConfig(**kw), epochs=0)  # a replaced field is checked too
