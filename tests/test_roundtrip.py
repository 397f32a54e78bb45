"""Anything the library accepts, it loads back; anything it refuses, it refuses at the door, in one line.

The property is drawn over unusual settings, legal and just outside the ranges: huge and tiny β (0,
1e-300, 1e6, a hair above), z_dim = 1, width-1 layers, deep stacks, huge latents, tiny learning
rates, a batch of one, huge seeds, free bits, KL warm-up, every model kind including the conv model,
float32 and float64. A setting the constructor (``build_model``) and ``fit`` accept trains one epoch
into a run folder, ``tinyvae.load`` gives back the same model, and the run resumes to a second epoch.
A setting refused is refused by a ValueError or TypeError of one line, with nothing written.

This test uses only the public API, so it runs against older code too: on the code before issue 23 it
failed at once, on VAE(beta=2e6) (built and trained, then ``tinyvae.load`` refused the run: "meta.
architecture.beta: expected a finite number in [0, 1e+06]"), and at CVAE(n_classes=1001), 17 hidden
layers, ConvVAE(kernel_size=17), x_dim 65,537 (the constructors had no upper bounds the reader had).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import tinyvae
from tinyvae.models.ranges import CHOICES, ParameterError
from tinyvae.models.registry import build_model
from tinyvae.models.vae import VAE
from tinyvae.training.data import Dataset
from tinyvae.training.train import fit

HAIR = 1 + 1e-9  # just above a bound
BETA = st.one_of(st.sampled_from([0, 0.0, 1e-300, 1.0, 1e6]), st.floats(0, 1e6))  # all legal
FREE_BITS = st.sampled_from([0.0, 1e-300, 0.5, 1e6])
ACTIVATIONS = list(CHOICES["activation"])  # every activation the engine has
# one value just outside its range (or a setting the kind of model does not have), put into a legal setting
OUTSIDE = [("beta", 1e6 * HAIR), ("beta", 2e6), ("beta", -1e-300), ("beta", float("inf")), ("beta", float("nan")),
           ("free_bits", 1e6 * HAIR), ("free_bits", -0.5), ("z_dim", 65_537), ("z_dim", 0), ("x_dim", 65_537),
           ("hidden_dims", [1] * 17), ("hidden_dims", [0]), ("hidden_dims", [65_537]), ("hidden_dims", [2.0]),
           ("n_classes", 1001), ("n_classes", 1), ("kernel_size", 17), ("channels", [1025, 1]), ("hidden_dim", 0),
           ("lr", 0.0), ("lr", -1e-3), ("lr", 1e6 * HAIR), ("seed", 2**63), ("seed", -1), ("batch_size", 0),
           ("batch_size", 10**9 + 1), ("kl_warmup", 2), ("kl_warmup", -1)]


@st.composite
def mlp_config(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["vae", "ae", "cvae"]))
    n_layers = draw(st.one_of(st.integers(1, 3), st.just(16)))  # and deep stacks
    hidden = draw(st.lists(st.one_of(st.integers(1, 6), st.just(1)), min_size=n_layers, max_size=n_layers))
    loss, output = draw(st.sampled_from([("bce", "sigmoid"), ("mse", "sigmoid"), ("mse", "identity")]))
    cfg = {"model": kind, "x_dim": 4, "hidden_dims": hidden, "z_dim": draw(st.one_of(st.integers(1, 4), st.just(65_536))),
           "loss": loss, "output": output, "activation": draw(st.sampled_from(ACTIVATIONS))}
    if kind == "cvae":
        cfg["n_classes"] = draw(st.sampled_from([2, 3, 10, 1000]))
    if kind != "ae":
        cfg["beta"], cfg["free_bits"] = draw(BETA), draw(FREE_BITS)
    return cfg


@st.composite
def conv_config(draw: Any) -> dict[str, Any]:
    return {"model": "vae", "arch": "conv", "x_dim": draw(st.sampled_from([16, 64])),
            "channels": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
            "hidden_dim": draw(st.integers(1, 4)), "z_dim": draw(st.integers(1, 3)),
            "loss": draw(st.sampled_from(["bce", "mse"])), "beta": draw(BETA), "free_bits": draw(FREE_BITS),
            "kernel_size": draw(st.sampled_from([1, 3, 15])), "padding": draw(st.sampled_from(list(CHOICES["padding"])))}


RUN = st.fixed_dictionaries({
    "batch_size": st.sampled_from([1, 2, 10**9]),  # a batch of one, the whole set
    "lr": st.sampled_from([5e-324, 1e-300, 1e-6, 1e-3]),
    "seed": st.sampled_from([0, 7, 2**63 - 1]),
    "kl_warmup": st.sampled_from([0, 1]),
    "workers": st.sampled_from([1, 2]),  # a batch split between two threads (training/parallel.py)
    "dtype": st.sampled_from([np.float32, np.float64]),
})


@st.composite
def setting(draw: Any) -> tuple[dict[str, Any], dict[str, Any], tuple[str, Any] | None]:
    """(architecture, run, the one value put outside its range or None): half of them legal."""
    cfg, run = draw(st.one_of(mlp_config(), mlp_config(), conv_config())), draw(RUN)
    if cfg["model"] == "ae":
        run["kl_warmup"] = 0  # warm-up acts on a KL term
    outside = draw(st.one_of(st.none(), st.sampled_from(OUTSIDE + [("ae-kl", None)])))
    if outside == ("ae-kl", None):  # the KL settings on a model without a KL term
        cfg, run = {**cfg, "model": "ae"}, run
        outside = draw(st.sampled_from([("beta", 1.0), ("free_bits", 0.5), ("kl_warmup", 1)]))
        cfg = {k: v for k, v in cfg.items() if k not in ("beta", "free_bits", "n_classes", "arch", "channels",
                                                         "hidden_dim", "kernel_size", "padding")}
        cfg.setdefault("hidden_dims", [2])
        cfg.pop("beta", None)
    if outside is not None:
        key, value = outside
        (run if key in run else cfg)[key] = value
    elif run["workers"] > 1 and cfg.get("free_bits"):  # free bits see the whole batch: refused at fit's door
        outside = ("workers", run["workers"])
    return cfg, run, outside


def digits(x_dim: int, n_classes: int, seed: int) -> Dataset:
    """3 training and 2 test 'images' of ``x_dim`` pixels in [0, 1], labels below ``n_classes``."""
    rng = np.random.default_rng(seed % 2**32)
    return Dataset(rng.uniform(0, 1, (3, x_dim)), rng.integers(0, n_classes, 3), rng.uniform(0, 1, (2, x_dim)),
                   rng.integers(0, n_classes, 2), name="noise")


def trains_and_loads_back(cfg: dict[str, Any], run: dict[str, Any], out: Path) -> None:
    model = build_model(cfg, rng=1, dtype=run["dtype"])
    data = digits(model.x_dim, max(model.n_classes, 1), run["seed"])
    kw = {k: run[k] for k in ("batch_size", "lr", "seed", "kl_warmup", "workers")}
    fit(model, data, epochs=1, out_dir=out, progress=False, **kw)
    back = tinyvae.load(out)  # what it trained, it loads
    assert back.config() == model.config() and back.dtype == model.dtype
    for k, p in model.params.items():
        np.testing.assert_array_equal(back.params[k], p)
    metrics = fit(build_model(cfg, rng=2, dtype=run["dtype"]), data, epochs=2, out_dir=out, resume=True,
                  progress=False, **kw)
    assert [m["epoch"] for m in metrics] == [1, 2] and tinyvae.load(out).config() == model.config()


def refused_at_the_door(cfg: dict[str, Any], run: dict[str, Any], out: Path, key: str) -> None:
    """Building the model or fit refuses the setting in one line naming ``key``, and nothing is written."""
    try:
        model = build_model(cfg, rng=1, dtype=run["dtype"])
        fit(model, digits(model.x_dim, max(model.n_classes, 1), 0), epochs=1, out_dir=out, progress=False,
            **{k: run[k] for k in ("batch_size", "lr", "seed", "kl_warmup", "workers")})
    except (ValueError, TypeError) as e:
        message = str(e)
        assert message and "\n" not in message and key in message, repr(e)
        assert not out.exists() or not any(out.iterdir()), f"{message}: yet {sorted(out.iterdir())} written"
        return
    tinyvae.load(out)  # it trained: can it at least be loaded back? (before issue 23, beta=2e6 could not)
    pytest.fail(f"{key}={cfg.get(key, run.get(key))!r} is outside its range, yet it was built, trained and loaded")


@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=setting())
def test_what_the_library_accepts_it_loads_back_and_what_it_refuses_it_refuses_at_the_door(drawn: Any) -> None:
    cfg, run, outside = drawn
    with tempfile.TemporaryDirectory() as tmp:
        if outside is None:
            trains_and_loads_back(cfg, run, Path(tmp) / "run")
            event(f"trained, loaded back and resumed: {cfg['model']}{' conv' if cfg.get('arch') == 'conv' else ''}")
        else:
            refused_at_the_door(cfg, run, Path(tmp) / "run", outside[0])
            event("refused at the door")


@pytest.mark.parametrize("cfg", [
    {"model": "vae", "x_dim": 4, "hidden_dims": [1], "z_dim": 1, "loss": "bce", "beta": 1e6},
    {"model": "vae", "x_dim": 4, "hidden_dims": [1], "z_dim": 1, "loss": "bce", "beta": 1e-300, "free_bits": 1e6},
    {"model": "ae", "x_dim": 4, "hidden_dims": [1] * 16, "z_dim": 65_536, "loss": "mse"},
    {"model": "cvae", "x_dim": 4, "hidden_dims": [2], "z_dim": 1, "loss": "bce", "n_classes": 1000},
    {"model": "vae", "arch": "conv", "x_dim": 16, "channels": [1, 1], "hidden_dim": 1, "z_dim": 1, "loss": "mse",
     "beta": 0, "kernel_size": 15},
])
def test_the_edges_train_and_load_back(cfg: dict[str, Any], tmp_path: Path) -> None:
    """The largest and smallest legal values, each surely drawn (the property may miss one)."""
    run = {"batch_size": 1, "lr": 5e-324, "seed": 2**63 - 1, "kl_warmup": 0, "workers": 1, "dtype": np.float32}
    trains_and_loads_back(cfg, run, tmp_path / "run")
    assert (tmp_path / "run" / "checkpoint.npz").is_file()


BASES = {  # a legal setting of each kind, for the values that only that kind has
    "mlp": {"model": "vae", "x_dim": 4, "hidden_dims": [2], "z_dim": 1, "loss": "bce"},
    "cvae": {"model": "cvae", "x_dim": 4, "hidden_dims": [2], "z_dim": 1, "loss": "bce", "n_classes": 3},
    "conv": {"model": "vae", "arch": "conv", "x_dim": 16, "channels": [1, 1], "hidden_dim": 1, "z_dim": 1, "loss": "mse",
             "beta": 1.0},
    "ae": {"model": "ae", "x_dim": 4, "hidden_dims": [2], "z_dim": 1, "loss": "bce"},
}
KIND_OF = {"n_classes": "cvae", "kernel_size": "conv", "channels": "conv", "hidden_dim": "conv"}


@pytest.mark.parametrize("key,value", OUTSIDE + [("beta", 1.0), ("free_bits", 0.5), ("kl_warmup", 1)],
                         ids=[f"{k}={v!r}"[:40] for k, v in OUTSIDE] + ["ae-beta", "ae-free_bits", "ae-kl_warmup"])
def test_each_value_just_outside_its_range_is_refused_at_the_door(key: str, value: Any, tmp_path: Path) -> None:
    """Every entry of OUTSIDE, surely (the property draws a few): refused by the constructor or fit, in
    one line that names the parameter, with nothing written."""
    ae = (key, value) in (("beta", 1.0), ("free_bits", 0.5), ("kl_warmup", 1))
    cfg = dict(BASES["ae" if ae else KIND_OF.get(key, "mlp")])
    run = {"batch_size": 2, "lr": 1e-3, "seed": 0, "kl_warmup": 0, "workers": 1, "dtype": np.float64}
    (run if key in run else cfg)[key] = value
    refused_at_the_door(cfg, run, tmp_path / "run", key)


def test_free_bits_on_two_workers_is_refused_at_fits_door_with_nothing_written(tmp_path: Path) -> None:
    """A rule that needs the model (free bits see the whole batch): refused before the run folder is made."""
    out = tmp_path / "run"
    with pytest.raises(ParameterError, match=r"^workers must be 1 with free_bits=0.5, got 2: ") as e:
        fit(VAE(4, [2], 1, free_bits=0.5), digits(4, 1, 0), epochs=1, workers=2, out_dir=out, progress=False)
    assert e.value.parameter == "workers" and "\n" not in str(e.value) and not out.exists()


def schema_reads(name: str, v: Any) -> None:
    """The checkpoint schema's check of the value ``v`` of ``name`` where a checkpoint records it."""
    from tinyvae.training import schema

    if name == "workers":  # not recorded: a run records its threads, with the same cap
        name = "threads"
    if name in schema.RUN:
        schema.RUN_CONFIG({name: v}, "run_config")
        return
    cfg = dict(BASES["conv" if KIND_OF.get(name) == "conv" else "cvae" if name == "n_classes" else "mlp"])
    cfg[name] = [v, 1] if name == "channels" else [v] if name == "hidden_dims" else v
    schema.check_architecture_config(cfg)


def test_the_constructors_fit_and_the_schema_read_one_table():
    """Each range's ends pass the library's check and the checkpoint schema's; a hair outside, both refuse."""
    from tinyvae.models.ranges import ARCHITECTURE, ParameterError
    from tinyvae.training.run_values import RUN

    for name, r in [*ARCHITECTURE.items(), *RUN.items()]:
        step = 1 if r.kind is int else max(abs(r.hi) * 1e-9, 1e-300)
        ends = [r.hi] if r.open_lo else [r.lo, r.hi]
        outside = [r.hi + step, r.lo if r.open_lo else r.lo - step, float("nan"), True]
        if name == "kernel_size":  # odd, too (the conv model's own rule)
            ends, outside = [1, 15], [17, -1, float("nan"), True]
        for v in ends:
            assert r.check(name, v) == v, (name, v)
            schema_reads(name, v)
        for v in outside:
            with pytest.raises(ParameterError, match=f"^{name} must be "):
                r.check(name, v)
            with pytest.raises(ValueError, match="expected"):
                schema_reads(name, v)


def test_the_command_line_names_the_flag_where_the_library_names_its_parameter():
    from tinyvae.cli import as_flags
    from tinyvae.models.ranges import ParameterError

    for name, message, line in [
        ("z_dim", "z_dim must be an integer from 1 to 65,536, got 0", "--latent must be an integer from 1 to 65,536, got 0"),
        ("hidden_dims[2]", "hidden_dims[2] must be an integer", "the 3rd value of --hidden must be an integer"),
        ("kl_warmup", "kl_warmup must be from 0 to epochs=4, got 5", "--kl-warmup must be from 0 to --epochs 4, got 5"),
        ("arch", "arch='conv' is available for model='vae' only", "--arch conv is available for --model vae only"),
        ("n_classes", "n_classes must be an integer", "n_classes must be an integer"),  # no flag: as it is
    ]:
        assert as_flags(message, ParameterError(name, message)) == line
