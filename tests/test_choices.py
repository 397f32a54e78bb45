"""Each closed list of a config written once, where it is owned, and read by every door.

The activations are the engine's ``layers.ACTIVATIONS`` mapping; the model kinds, archs, losses, outputs
and paddings are ``models/ranges.py``'s (``ranges.CHOICES``). The constructors, ``build_model``, the
checkpoint's schema and the command line's ``choices=`` read those objects, so a choice added there is
built, trained and loaded back: no "trains but won't load". Before issue 23's second round the schema
kept its own tuples (an activation added to the engine trained, then ``tinyvae.load`` refused it:
"expected one of ['relu', ...], got 'softsign'").
"""

from __future__ import annotations

import inspect
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinyvae
from tinyvae import AE, CVAE, VAE, ConvVAE
from tinyvae.cli import build_parser
from tinyvae.engine import layers
from tinyvae.engine.optim import Adam
from tinyvae.models import ranges, spec
from tinyvae.models.registry import CONSTRUCTORS, build_model
from tinyvae.training import schema
from tinyvae.training.checkpoint import FORMAT_VERSION
from tinyvae.training.data import Dataset
from tinyvae.training.train import fit


class Softsign(layers.Tanh):
    """An activation the engine did not have (tanh's forward and backward, under a new name)."""


def test_an_activation_added_to_the_engine_trains_and_loads_back(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setitem(layers.ACTIVATIONS, "softsign", Softsign)
    model = build_model({"model": "vae", "x_dim": 4, "hidden_dims": [3], "z_dim": 1, "loss": "bce",
                         "activation": "softsign"}, rng=0, dtype=np.float64)
    assert isinstance(model.encoder.layers[1], Softsign)
    rng = np.random.default_rng(0)
    data = Dataset(rng.uniform(0, 1, (3, 4)), np.zeros(3, int), rng.uniform(0, 1, (2, 4)), np.zeros(2, int),
                   name="noise")
    fit(model, data, epochs=1, batch_size=2, lr=1e-3, seed=0, out_dir=tmp_path / "run", progress=False)
    back = tinyvae.load(tmp_path / "run")
    assert back.config() == model.config() and back.config()["activation"] == "softsign"
    assert isinstance(back.encoder.layers[1], Softsign)


def test_the_schema_reads_the_lists_the_constructors_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each choice the schema takes is the constructors' list itself: one added there, the schema accepts;
    one taken away, it refuses."""
    assert ranges.CHOICES["activation"] is layers.ACTIVATIONS
    base = {"model": "vae", "x_dim": 4, "hidden_dims": [2], "z_dim": 1, "loss": "bce", "output": "sigmoid",
            "activation": "relu"}
    conv = {"model": "vae", "arch": "conv", "x_dim": 16, "z_dim": 1, "loss": "mse", "beta": 1.0,
            "padding": "same"}
    for name in ("loss", "output", "padding"):
        cfg = conv if name == "padding" else base
        schema.check_architecture_config(dict(cfg))
        with monkeypatch.context() as m:
            m.setitem(ranges.CHOICES, name, tuple(c for c in ranges.CHOICES[name] if c != cfg[name]))
            with pytest.raises(ValueError, match=f"architecture.{name}: expected one of"):
                schema.check_architecture_config(dict(cfg))
        with monkeypatch.context() as m:
            m.setitem(ranges.CHOICES, name, (*ranges.CHOICES[name], "new"))
            schema.check_architecture_config({**cfg, name: "new"})


def test_the_constructors_and_the_command_line_offer_each_list() -> None:
    """build_model has a class for each (kind, arch) ranges.KINDS lists, and no other; the CLI offers the
    same kinds, archs and losses; every list's ends are accepted by the constructors' check."""
    assert set(CONSTRUCTORS) == {(kind, arch) for kind, archs in ranges.KINDS.items() for arch in archs}
    sub = next(a for a in build_parser()._actions if a.choices and "train" in a.choices)
    actions = {a.dest: a for a in sub.choices["train"]._actions}
    for flag, name in (("model", "model"), ("arch", "arch"), ("loss", "loss")):
        assert list(actions[flag].choices) == list(ranges.CHOICES[name])
    for name, choices in ranges.CHOICES.items():
        for v in choices:
            assert ranges.check_choice(name, v) == v
        with pytest.raises(ValueError, match=f"^{name} must be .*, got 'nope'$"):
            ranges.check_choice(name, "nope")


# ---- Adam's hyper-parameters: one range, the engine's, which the checkpoint's schema reads ----------------
def adam_meta(betas: Any, eps: Any, dtype: Any) -> dict[str, Any]:
    """A checkpoint's meta record of a fresh model and an Adam of ``betas`` and ``eps``, as save_checkpoint writes it."""
    model = VAE(4, [2], 1, rng=0, dtype=dtype)
    return {"format": "tinyvae-checkpoint", "format_version": FORMAT_VERSION, "architecture": model.config(),
            "dtype": np.dtype(dtype).name, "epoch": 0, "rng_state": np.random.default_rng(0).bit_generator.state,
            "optimizer": {"name": "Adam", "lr": 1e-3, "t": 0, "betas": betas, "eps": eps},
            "run_config": {}, "metrics": []}


def accepted(betas: Any, eps: Any, dtype: Any) -> tuple[bool, bool]:
    """(whether Adam takes betas and eps for weights of ``dtype``, whether the checkpoint's schema reads them)."""
    try:
        Adam(VAE(4, [2], 1, rng=0, dtype=dtype), betas=betas, eps=eps)
        adam = True
    except (TypeError, ValueError) as e:
        assert "\n" not in str(e) and str(e).startswith("Adam ")
        adam = False
    try:
        schema.check_meta(adam_meta(list(betas) if isinstance(betas, tuple) else betas, eps, dtype))
        return adam, True
    except ValueError as e:
        assert "optimizer." in str(e) and "\n" not in str(e)
        return adam, False


BELOW_1 = float(np.nextafter(1.0, 0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_and_the_schema_accept_the_same_betas_and_eps(dtype: Any) -> None:
    """Each end of each range passes Adam and the schema; a hair outside, both refuse. (Before, the schema
    refused a float64 run's eps of 1e-100, which Adam trains with, and read eps 2, which Adam took too,
    from its own [1e-30, 1].)"""
    tiny = float(np.finfo(dtype).tiny)
    for eps in (tiny, 1e-8, 1.0, 2.0, sys.float_info.max):
        assert accepted((0.9, 0.999), eps, dtype) == (True, True), eps
    for eps in (float(np.nextafter(tiny, 0.0)), 0.0, -1e-8, math.inf, math.nan, True, "1e-8"):
        assert accepted((0.9, 0.999), eps, dtype) == (False, False), eps
    for betas in ((0.0, 0.0), (BELOW_1, BELOW_1), (0, 0.5)):
        assert accepted(betas, 1e-8, dtype) == (True, True), betas
    for betas in ((1.0, 0.999), (0.9, 1.0), (-5e-324, 0.9), (math.nan, 0.9), (0.9,), (0.9, 0.9, 0.9), (True, 0.9)):
        assert accepted(betas, 1e-8, dtype) == (False, False), betas


# ---- the architecture's defaults: one table; a record older than a key: one rule, where records are read ----
def test_a_new_conv_model_is_the_documents_and_an_older_record_the_torch_style_one() -> None:
    """``build_model`` of a config that leaves padding out (the command line's new ``--arch conv`` run) gives
    the constructor's default, "same"; only a record read from a file without the key is "symmetric". (Before,
    build_model treated every config without the key as an old record: ``tinyvae train --arch conv`` trained
    the torch-style model, not the document's that README promises.)"""
    new = {"model": "vae", "arch": "conv", "x_dim": 16, "z_dim": 1, "loss": "mse", "beta": 1.0}
    assert build_model(new, rng=0).padding == spec.DEFAULTS["padding"] == "same"
    assert schema.check_architecture_config(dict(new))["padding"] == "symmetric"
    assert build_model(schema.check_architecture_config(dict(new)), rng=0).padding == "symmetric"
    assert schema.check_architecture_config({**new, "padding": "same"})["padding"] == "same"


@pytest.mark.parametrize("cls,kind", [(VAE, "vae"), (CVAE, "cvae"), (AE, "ae"), (ConvVAE, "conv")])
def test_the_constructors_defaults_are_the_specs(cls: type, kind: str) -> None:
    """A config that leaves out what shapes the model describes the model the constructor builds."""
    defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items() if k in spec.DEFAULTS}
    assert defaults == {k: v for k, v in spec.DEFAULTS.items() if k in defaults} and defaults
    model = cls(rng=0) if kind == "conv" else cls(6, [4], 2, rng=0)
    bare = {k: v for k, v in model.config().items() if k not in spec.DEFAULTS}
    assert spec.describe(bare) == spec.describe(model.config())


def test_a_cvae_counts_its_label_columns_before_it_is_built() -> None:
    """The CVAE's size check counts the label columns of its first Linears, as the checkpoint's schema does:
    784-30,000-1 is 47.1 M parameters, with 1,000 labels 107 M, over MAX_PARAMS (50 M). (Before, the
    constructor counted it as a VAE, built it, trained it, and tinyvae.load refused it.)"""
    cfg = {"model": "cvae", "x_dim": 784, "hidden_dims": [30_000], "z_dim": 1, "loss": "bce", "n_classes": 1000}
    with pytest.raises(ValueError, match=r"^this architecture has 107,\d{3},\d{3} parameters, more than tinyvae builds"):
        build_model(cfg, rng=0, dtype=np.float32)
    with pytest.raises(ValueError, match=r"this architecture has 107,\d{3},\d{3} parameters"):
        schema.check_architecture_config(cfg)
