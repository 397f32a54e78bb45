"""Training: it learns, a resumed run equals an uninterrupted one, and a diverging run stops cleanly."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyvae.training import data as D
from tinyvae.training.checkpoint import load_checkpoint
from tinyvae.models.cvae import CVAE
from tinyvae.training.evaluate import eval_loss
from tinyvae.training.parallel import DataParallel
from tinyvae.training.loop import RunData, RunState, TrainingDiverged, train_epoch
from tinyvae.training.train import TrainConfig, fit, seed_streams
from tinyvae.models import base
from tinyvae.models.vae import VAE
from tinyvae.engine.optim import Adam

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    return D.load(dtype=np.float64).subset(400, 200)


def small(seed=0, cls=VAE, dtype=np.float64):
    return cls(784, [32], 2, rng=np.random.default_rng(seed), dtype=dtype)


def test_short_run_lowers_the_test_loss(digits, tmp_path):
    model = small(dtype=np.float32)
    data = D.load().subset(1000, 200)
    before = eval_loss(model, data.x_test, rng=np.random.default_rng(0)).total
    seen = []
    metrics = fit(model, data, epochs=3, batch_size=64, out_dir=tmp_path, on_epoch=seen.append)
    assert [m["epoch"] for m in metrics] == [1, 2, 3] and seen == metrics
    assert metrics[-1]["test_loss"] < metrics[0]["test_loss"] - 100 and metrics[0]["test_loss"] < before
    assert set(metrics[0]) == {"epoch", "train_loss", "train_recon", "train_kl", "test_loss", "test_recon", "test_kl",
                               "kl_per_dim", "active_units", "seconds", "train_seconds"}
    import json

    assert json.loads((tmp_path / "metrics.json").read_text()) == {"epochs": metrics}
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["model"] == model.config() and cfg["run"]["batch_size"] == 64 and cfg["run"]["data"] is None  # the bundled digits


def test_the_seed_fixes_the_run(digits):
    a, b = small(), small()
    fit(a, digits, epochs=1, seed=3)
    fit(b, digits, epochs=1, seed=3)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


@pytest.mark.parametrize("cls", [VAE, CVAE])
def test_resumed_run_equals_uninterrupted(digits, tmp_path, cls):
    full = small(cls=cls)
    m_full = fit(full, digits, epochs=3, batch_size=50, seed=5, out_dir=tmp_path / "full")
    part = small(cls=cls)
    fit(part, digits, epochs=1, batch_size=50, seed=5, out_dir=tmp_path / "part")
    resumed = small(seed=99, cls=cls)  # other initial weights: the checkpoint must replace them all
    m_res = fit(resumed, digits, epochs=3, batch_size=50, seed=5, out_dir=tmp_path / "part", resume=True)
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k])
    drop = ("seconds", "train_seconds")
    assert [{k: v for k, v in m.items() if k not in drop} for m in m_res] == \
           [{k: v for k, v in m.items() if k not in drop} for m in m_full]
    assert fit(resumed, digits, epochs=3, batch_size=50, seed=5, out_dir=tmp_path / "part", resume=True) == m_res  # nothing left to do
    with pytest.raises(ValueError, match="with batch_size=50; batch_size=128 would change it"):
        fit(resumed, digits, epochs=4, seed=5, out_dir=tmp_path / "part", resume=True)  # other batches: other weights
    with pytest.raises(ValueError, match="with seed=5; seed=0 would change it"):
        fit(resumed, digits, epochs=4, batch_size=50, out_dir=tmp_path / "part", resume=True)  # its record would lie


@pytest.mark.parametrize("kwargs,match", [
    (dict(run_config={"note": "hello"}), r"unknown key\(s\) \['note'\]"),
    (dict(seed=2**64), r"seed must be an integer from 0 to 2\*\*63 - 1, got 18,446,744,073,709,551,616"),
    (dict(run_config={"limit": 0}), r"fit's run_config.limit: expected an integer in \[1, 1000000000\]"),
])
def test_fit_refuses_a_run_configuration_its_checkpoint_could_not_hold(digits, tmp_path, kwargs, match):
    """The reader refuses what the schema does not list; fit refuses it first, before writing anything."""
    with pytest.raises(ValueError, match=match):
        fit(small(), digits, epochs=1, out_dir=tmp_path, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_resume_refuses_missing_or_foreign_checkpoint(digits, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        fit(small(), digits, epochs=2, out_dir=tmp_path, resume=True)
    fit(small(), digits.subset(50), epochs=1, out_dir=tmp_path)
    with pytest.raises(ValueError, match=r"different architecture \(hidden_dims: checkpoint \[32\], wanted \[16\]\)"):
        fit(VAE(784, [16], 2, dtype=np.float64), digits, epochs=2, out_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="with dtype='float64'; dtype='float32' would change it"):
        fit(small(dtype=np.float32), digits, epochs=2, out_dir=tmp_path, resume=True)


@pytest.mark.parametrize("kw,message", [
    (dict(epochs=0), "epochs must be an integer from 1 to 1,000,000, got 0"),
    (dict(epochs=2.5), "epochs must be an integer from 1 to 1,000,000, got 2.5"),
    (dict(epochs=1, lr=-1.0), "lr must be a positive number, at most 1e6, got -1"),
    (dict(epochs=1, lr=float("nan")), "lr must be a positive number, at most 1e6, got nan"),
    (dict(epochs=1, lr=2e6), "lr must be a positive number, at most 1e6, got 2e6"),
    (dict(epochs=1, batch_size=0), "batch_size must be an integer from 1 to 1,000,000,000, got 0"),
])
def test_bad_run_settings(digits, kw, message):
    with pytest.raises(ValueError, match=message):
        fit(small(), digits, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exploding_lr_stops_and_keeps_the_last_good_checkpoint(digits, tmp_path, dtype):
    digits = D.load(dtype=dtype).subset(400, 200)
    model = small(dtype=dtype)
    fit(model, digits, epochs=1, out_dir=tmp_path)
    ckpt = tmp_path / "checkpoint.npz"
    before, metrics_before = ckpt.read_bytes(), (tmp_path / "metrics.json").read_bytes()
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch 2, step \d+: the loss exploded.*lr=1000;") as e:
        fit(model, digits, epochs=3, lr=1e4, out_dir=tmp_path, resume=True)
    assert e.value.epoch == 2 and 1 <= e.value.step <= 4 and isinstance(e.value, ValueError)
    assert ckpt.read_bytes() == before and (tmp_path / "metrics.json").read_bytes() == metrics_before
    _, _, state = load_checkpoint(ckpt)
    assert state["epoch"] == 1
    fit(small(dtype=dtype), digits, epochs=2, lr=1e-3, out_dir=tmp_path, resume=True)  # a lower lr goes on


def test_nan_loss_stops_at_its_step(digits):
    model = small()
    model.params["logvar.b"][...] = 800.0  # e^800 overflows float64: the KL is inf at the first step
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch 1, step 1: the loss is not finite \(NaN or inf\)"):
        fit(model, digits, epochs=1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_gradient_stops_before_its_step(digits, bad):
    model = small()
    last = model.decoder.layers[-1]
    backward = last.backward

    def poisoned(dout, need_dx=True):  # a finite loss, one gradient entry bad
        dx = backward(dout, need_dx)
        last.grads["W"][3, 5] = bad
        return dx

    last.backward = poisoned
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch 1, step 1: a gradient is not finite"):
        fit(model, digits, epochs=1)
    assert all(np.array_equal(v, before[k]) for k, v in model.params.items())  # no step was taken


def test_train_epoch_reads_the_values_once_per_epoch(digits, monkeypatch):
    reads = []
    monkeypatch.setattr(base, "check_unit_interval", lambda x, **kw: reads.append(x.shape))
    model, x = small(), digits.x_train[:100]
    rng = np.random.default_rng(0)
    train_epoch(model, RunData(x), rng.permutation(100), TrainConfig(epochs=1, batch_size=25), RunState(rng, Adam(model)))
    assert reads == [(100, 784)]  # the whole set once, not each of the 4 batches
    model.encode(x[:3])
    assert reads[-1] == (3, 784)  # outside the epoch, each call reads its x again


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("bad,match", [(255.0, r"in \[0, 1\].*divide by 255"), (np.nan, "NaN or inf")])
def test_train_epoch_refuses_bad_values_before_any_step(digits, workers, dynamic, bad, match):
    """Whole or split (DataParallel), plain or binarized afresh (a NaN pixel would silently draw 0)."""
    model, x = small(), digits.x_train[:50].copy()
    x[7, 300] = bad
    before = {k: v.copy() for k, v in model.params.items()}
    rng = np.random.default_rng(0)
    with DataParallel(model, workers) if workers > 1 else contextlib.nullcontext(model) as stepper:
        with pytest.raises(ValueError, match=match):
            train_epoch(stepper, RunData(x, dynamic=dynamic), rng.permutation(50), TrainConfig(epochs=1, batch_size=25),
                        RunState(rng, Adam(model)))
    assert all(np.array_equal(v, before[k]) for k, v in model.params.items())


def _train_cmd(out, epochs):
    # --threads 1 for all three runs: BLAS sums in another order on another thread count (the last bits of
    # float64 weights differ after one epoch), and --threads auto chooses by how busy the machine is
    return [sys.executable, "-m", "tinyvae", "train", "--epochs", str(epochs), "--hidden", "48", "--limit", "1500",
            "--batch-size", "32", "--dtype", "float64", "--no-plots", "--seed", "4", "--threads", "1", "--out", str(out)]


def test_kill_9_then_resume_equals_uninterrupted(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    epochs = 6
    proc = subprocess.Popen(_train_cmd(tmp_path / "killed", epochs), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = tmp_path / "killed" / "checkpoint.npz"
    deadline = time.monotonic() + 60
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    _, _, state = load_checkpoint(ckpt)
    assert 1 <= state["epoch"] < epochs  # killed part-way
    r = subprocess.run(_train_cmd(tmp_path / "killed", epochs) + ["--resume"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(_train_cmd(tmp_path / "whole", epochs), cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    a, _, sa = load_checkpoint(tmp_path / "killed" / "checkpoint.npz")
    b, _, sb = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")
    assert sa["epoch"] == sb["epoch"] == epochs
    for k in b.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_one_seed_gives_three_distinct_streams_and_fit_draws_the_training_one(digits):
    weights, training, figures = seed_streams(7)
    first = [g.random(4) for g in (weights, training, figures)]
    assert not any(np.array_equal(first[i], first[j]) for i in range(3) for j in range(i + 1, 3))
    np.testing.assert_array_equal(first[1], np.random.default_rng(7).random(4))  # fit(seed=7)'s stream
    a, b = small(), small()
    fit(a, digits, epochs=1, seed=7)
    fit(b, digits, epochs=1, seed=8)
    assert not np.array_equal(a.params["encoder.0.W"], b.params["encoder.0.W"])  # another seed, another run


def test_resume_with_a_checkpoint_already_read_equals_resume_true(digits, tmp_path):
    from tinyvae.training.checkpoint import read_checkpoint

    first = small()
    fit(first, digits, epochs=1, batch_size=50, seed=5, out_dir=tmp_path / "a")
    fit(small(), digits, epochs=1, batch_size=50, seed=5, out_dir=tmp_path / "b")
    by_flag, by_record = small(), small()
    fit(by_flag, digits, epochs=2, batch_size=50, seed=5, out_dir=tmp_path / "a", resume=True)
    fit(by_record, digits, epochs=2, batch_size=50, seed=5, out_dir=tmp_path / "b",
        resume=read_checkpoint(tmp_path / "b" / "checkpoint.npz"))
    for k in by_flag.params:
        np.testing.assert_array_equal(by_flag.params[k], by_record.params[k])


def test_library_messages_name_parameters_not_flags(digits, tmp_path):
    """The library speaks its parameters (lr=, dtype=, source=); only the CLI names --flags."""
    messages = []
    for call in (lambda: D.load(tmp_path / "nope"), lambda: D.load(tmp_path / "x.txt"),
                 lambda: D.load(tmp_path), lambda: fit(small(), digits, epochs=1, out_dir=tmp_path / "r", resume=True)):
        (tmp_path / "x.txt").write_text("hi")
        with pytest.raises((ValueError, OSError)) as e:
            call()
        messages.append(str(e.value))
    fit(small(dtype=np.float32), digits, epochs=1, out_dir=tmp_path / "f32")
    with pytest.raises(ValueError, match="with dtype='float32'; dtype='float64' would change it") as e:
        fit(small(), digits, epochs=2, out_dir=tmp_path / "f32", resume=True)
    messages.append(str(e.value))
    messages.append(str(TrainingDiverged(1, 2, "the loss is not finite", lr=0.01)))
    assert "e.g. lr=0.001;" in messages[-1]
    assert messages[0].startswith("source=") and messages[2].startswith("source=")
    assert not [m for m in messages if "--" in m], messages
