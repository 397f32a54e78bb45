"""Each closed list of a config written once, where it is owned, and read by every door.

The activations are the engine's ``layers.ACTIVATIONS`` mapping; the model kinds, archs, losses, outputs
and paddings are ``models/ranges.py``'s (``ranges.CHOICES``). The constructors, ``build_model``, the
checkpoint's schema and the command line's ``choices=`` read those objects, so a choice added there is
built, trained and loaded back: no "trains but won't load". Before issue 23's second round the schema
kept its own tuples (an activation added to the engine trained, then ``tinyvae.load`` refused it:
"expected one of ['relu', ...], got 'softsign'").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinyvae
from tinyvae.cli import build_parser
from tinyvae.engine import layers
from tinyvae.models import ranges
from tinyvae.models.registry import CONSTRUCTORS, build_model
from tinyvae.training import schema
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
