"""Hostile input, second review: absurd numbers are refused, never printed or trained on.

Weights so large that the arithmetic overflows, learning rates that explode in one step, NaN latents,
optimizer hyper-parameters out of range: each ends in one line (or one ValueError/TypeError), and
nothing prints NaN, inf or invalid JSON.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from cli_check import one_line
from test_hostile import TINY, craft, good, npy, setp  # noqa: F401 (good: the shared trained run)
from tinyvae.cli import main


def _huge(m: dict) -> None:
    """Every parameter at ±3e38: finite float32, but its products overflow."""
    for name in [n for n in m if n.startswith("param/")]:
        a = np.load(io.BytesIO(m[name]))
        m[name] = npy(np.where(np.arange(a.size).reshape(a.shape) % 2, 3e38, -3e38).astype(a.dtype))


@pytest.fixture(scope="module")
def huge(good, tmp_path_factory):
    return craft(good, tmp_path_factory.mktemp("huge"), files=_huge)


@pytest.mark.parametrize("argv", [["evaluate", "{run}"], ["evaluate", "{run}", "--json"],
                                  ["evaluate", "{run}", "--iwae", "1", "--json"]])
def test_huge_weights_give_one_line_not_nan(huge, capsys, argv):
    line = one_line([a.replace("{run}", str(huge)) for a in argv], capsys)
    assert "not a finite number" in line and "arithmetic overflows" in line
    assert capsys.readouterr().out == ""  # no NaN printed, no half-written JSON


def test_sample_of_huge_weights_is_one_line(huge, tmp_path, capsys):
    line = one_line(["sample", str(huge), "--out", str(tmp_path / "s.npy")], capsys)
    assert "the decoder gives NaN or inf pixels" in line and not (tmp_path / "s.npy").exists()


def test_evaluate_json_is_valid_json(good, capsys):
    assert main(["evaluate", str(good), "--iwae", "2", "--json"]) == 0
    json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_example_refuses_an_lr_that_overflows(capsys):
    line = one_line(["example", "--lr", "1e308"], capsys)
    assert "--lr 1e+308 makes the Adam step's W_e_new overflow" in line
    assert capsys.readouterr().out == ""
    assert "--lr 10 makes the Adam step's total_after overflow" in one_line(["example", "--lr", "10"], capsys)
    assert main(["example", "--lr", "3", "--json"]) == 0  # large but finite: printed, as valid JSON
    json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_one_exploding_step_is_caught_by_the_divergence_guard(tmp_path, capsys):
    line = one_line(["train", "--lr", "1e6", "--limit", "50", "--epochs", "1", "--no-plots", "--hidden", "400",
                     "--out", str(tmp_path / "r")], capsys, status=1)
    assert "training diverged at epoch 1, the test pass: the test loss exploded to" in line  # finite, and huge
    assert not (tmp_path / "r" / "checkpoint.npz").exists()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_decode_refuses_a_non_finite_z(bad):
    from tinyvae import VAE

    model = VAE(784, [8], 2, rng=0)
    z = np.array([[0.0, bad]], dtype=model.dtype)
    with pytest.raises(ValueError, match="VAE.decode got z with NaN or inf values"):
        model.decode(z)
    assert np.isfinite(model.decode(np.nan_to_num(z))).all()


OPTIMIZERS = [
    ("SGD", dict(momentum=-1), ValueError, r"SGD momentum must be a number in \[0, 1\), got -1"),
    ("SGD", dict(momentum=1.0), ValueError, "SGD momentum must be a number in"),
    ("SGD", dict(momentum=float("nan")), ValueError, "SGD momentum must be"),
    ("SGD", dict(momentum="0.9"), TypeError, "SGD momentum must be a number in .*, got str"),
    ("SGD", dict(lr=True), TypeError, "lr must be positive"),
    ("Adam", dict(lr="1e-3"), TypeError, "lr must be positive .*got str"),
    ("Adam", dict(lr=float("nan")), ValueError, "lr must be positive"),
    ("Adam", dict(betas=None), ValueError, "Adam betas must be two numbers"),
    ("Adam", dict(betas=(0.9, "0.999")), ValueError, "Adam betas must be two numbers"),
    ("Adam", dict(betas=(float("nan"), 0.999)), ValueError, "Adam betas must be two numbers"),
    ("Adam", dict(eps=float("inf")), ValueError, "Adam eps must be a positive number"),
    ("Adam", dict(eps=1e-320), ValueError, r"Adam eps must be at least 1.18e-38, the smallest normal number"),
    ("Adam", dict(eps=1e-40), ValueError, "Adam eps must be at least 1.18e-38"),
]


@pytest.mark.parametrize("name,kw,error,message", OPTIMIZERS)
def test_optimizers_validate_every_hyperparameter(name, kw, error, message):
    from tinyvae.engine import optim
    from tinyvae.engine.layers import Linear

    layer = Linear(3, 2, rng=0)
    layer.params["W"] = layer.params["W"].astype(np.float32)
    with pytest.raises(error, match=message):
        getattr(optim, name)(layer, **kw)


def test_a_checkpoint_eps_training_would_not_survive_is_refused(good, tmp_path, capsys):
    run = craft(good, tmp_path / "r", meta=setp("optimizer", "eps", 1e-320))
    line = one_line(["train", "--resume", "--epochs", "2", "--no-plots", "--out", str(run)], capsys)
    assert "optimizer.eps: Adam eps must be at least 1.18e-38, the smallest normal number" in line


def test_overflow_warnings_do_not_add_lines_in_a_real_process(huge, tmp_path):
    """In-process tests see numpy's RuntimeWarnings only as pytest's warnings; a real run writes them to
    stderr, where they would be lines of their own beside the refusal."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OPENBLAS_NUM_THREADS": "1"}
    for argv in (["evaluate", str(huge), "--iwae", "2"], ["sample", str(huge), "--out", str(tmp_path / "s.npy")]):
        r = subprocess.run([sys.executable, "-m", "tinyvae", *argv], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Warning" not in r.stderr, r.stderr


# ---- Adam in float32: no overflow for any legal lr and eps --------------------------------------------
def test_a_tiny_learning_rate_trains_in_float32(tmp_path, capsys):
    """lr = 1e-39: the folded form's 1 / lr overflowed float32 (0 · inf = NaN: "diverged, try 1e-40")."""
    assert main(["train", *TINY, "--lr", "1e-39", "--out", str(tmp_path / "r")]) == 0
    assert "done: test loss" in capsys.readouterr().out


@pytest.mark.parametrize("lr", [1e-320, 1e-39, 1e-3, 1e6])
@pytest.mark.parametrize("eps", [1.1754944e-38, 1e-30, 1e-8, 1.0])
def test_adam_float32_stays_finite_and_within_its_bound(lr, eps):
    """Gradients from 1e-30 to 1e18 (and exact zeros) in float32: every moment and weight stays finite,
    and |m| / √v̂ stays within the bound the docstring gives, 7.3 for the default betas. (Above
    √(float32's largest) = 1.8e19 a gradient's square overflows, v = inf: that weight stops, m / inf = 0,
    and nothing becomes NaN; checked at the end.)"""
    from tinyvae.engine.optim import Adam
    from tinyvae.engine.layers import Linear

    layer = Linear(40, 25, rng=0, dtype=np.float32)
    opt = Adam(layer, lr=lr, eps=eps)
    rng = np.random.default_rng(0)
    b1, b2 = opt.beta1, opt.beta2
    bound = (1 - b1) / np.sqrt((1 - b2) * (1 - b1**2 / b2))
    assert round(float(bound), 1) == 7.3
    for t in range(1, 30):
        for k, g in layer.grads.items():
            scale = 10.0 ** rng.integers(-30, 19, g.shape)  # a new magnitude for every weight, every step
            g[...] = (rng.standard_normal(g.shape) * scale * (rng.random(g.shape) < 0.9)).astype(np.float32)
        opt.step()
        for k, p in layer.params.items():
            m, v = opt.state[f"m.{k}"].astype(np.float64), opt.state[f"v.{k}"].astype(np.float64)
            assert np.isfinite(p).all() and np.isfinite(m).all() and np.isfinite(v).all(), (t, k)
            v_hat = v / (1 - b2**t)
            ok = v_hat > 1e-30  # where float32's rounding of v is still relative, not absolute
            assert (np.abs(m[ok]) / np.sqrt(v_hat[ok]) <= bound * (1 + 1e-5)).all(), (t, k)
    before = {k: p.copy() for k, p in layer.params.items()}
    for g in layer.grads.values():
        g[...] = np.float32(1e30)
    with np.errstate(over="ignore"):  # g² overflows, as said
        opt.step()
    for k, p in layer.params.items():
        assert np.isinf(opt.state[f"v.{k}"]).all() and np.array_equal(p, before[k])
