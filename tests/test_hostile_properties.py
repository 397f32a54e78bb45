"""Property-based hostility: valid checkpoints and data files mutated at random (flipped bytes,
truncation, JSON values of other types and ranges). The contract: a clean refusal (a ``ValueError``
with a one-line message) or a correct load (exactly what was saved), never another exception and
never garbage."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinyvae.training.checkpoint as ck
from tinyvae.engine.optim import Adam
from tinyvae.models.vae import VAE
from tinyvae.training import data as D
from tinyvae.training import schema

FAST = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small valid checkpoint: its bytes, and what loading it gives."""
    d = tmp_path_factory.mktemp("ckpt")
    rng = np.random.default_rng(0)
    model = VAE(12, [5], 2, rng=rng, dtype=np.float64)
    opt = Adam(model, lr=1e-2)
    x = rng.random((4, 12))
    for _ in range(2):
        model.loss_and_grads(x, rng=rng)
        opt.step()
    metrics = [{"epoch": 1, "train_loss": 9.5, "test_loss": 9.25, "test_recon": 8.0, "test_kl": 1.25, "seconds": 0.1}]
    path = ck.save_checkpoint(d / "c.npz", model, opt, epoch=1, rng=rng, metrics=metrics,
                              run_config={"epochs": 3, "batch_size": 4, "lr": 0.01, "seed": 0, "data": None,
                                          "binarize": False, "backend": "numpy", "dtype": "float64", "limit": None})
    meta, params, state = ck.read_checkpoint(path)
    return path.read_bytes(), meta, params, state


def load_or_refuse(path: Path, saved) -> None:
    """The contract for one file: ValueError with one line, or exactly the saved checkpoint."""
    _, meta0, params0, state0 = saved
    try:
        model, opt, state = ck.load_checkpoint(path)
    except ValueError as e:
        assert str(e) and "\n" not in str(e), repr(e)
        return
    assert state["meta"] == meta0
    for k, v in params0.items():
        np.testing.assert_array_equal(model.params[k], v)
    for k, v in state0.items():
        np.testing.assert_array_equal(opt.state[k], v)


@FAST
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=4))
def test_checkpoint_with_flipped_bytes(tmp_path, saved, flips):
    raw = bytearray(saved[0])
    for where, mask in flips:
        raw[int(where * len(raw))] ^= mask
    (tmp_path / "m.npz").write_bytes(bytes(raw))
    load_or_refuse(tmp_path / "m.npz", saved)


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keep=st.floats(0, 1, exclude_max=True))
def test_truncated_checkpoint(tmp_path, saved, keep):
    raw = saved[0]
    (tmp_path / "t.npz").write_bytes(raw[: int(keep * len(raw))])
    with pytest.raises(ValueError):
        ck.load_checkpoint(tmp_path / "t.npz")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["numpy", "os", "this", "object", "float16", "PCG64", "Adam", "relu"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def paths(obj, prefix=()):
    """Every path (tuple of keys/indices) into a JSON value, the root excluded."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield prefix + (k,)
        yield from paths(v, prefix + (k,))


def rewrite(path: Path, meta_text: str, raw: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(meta_text))
    files["meta.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)


@FAST
@given(data=st.data())
def test_checkpoint_with_json_values_changed(tmp_path, saved, data):
    meta = json.loads(json.dumps(saved[1]))
    where = data.draw(st.sampled_from(sorted(paths(meta), key=repr)))
    value = data.draw(JSON | st.just(float("inf")) | st.just(float("nan")))
    target = meta
    for k in where[:-1]:
        target = target[k]
    target[where[-1]] = value
    rewrite(tmp_path / "j.npz", json.dumps(meta), saved[0])
    try:
        model, opt, state = ck.load_checkpoint(tmp_path / "j.npz")
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        return
    # accepted: then the value was a legal one, and what was built is exactly the checkpoint
    schema.check_meta(state["meta"])
    for k, v in saved[2].items():
        np.testing.assert_array_equal(model.params[k], v)


@FAST
@given(data=st.data())
def test_run_folder_config_values_changed(data):
    cfg = {"model": VAE(12, [5], 2).config(), "run": {"epochs": 3, "batch_size": 4, "lr": 0.01, "seed": 0,
                                                      "data": None, "backend": "numpy", "dtype": "float32"}}
    schema.check_run_folder_config(cfg)
    where = data.draw(st.sampled_from(sorted(paths(cfg), key=repr)))
    value = data.draw(JSON)
    target = cfg
    for k in where[:-1]:
        target = target[k]
    target[where[-1]] = value
    try:
        checked = schema.check_run_folder_config(cfg)
    except ValueError as e:
        assert "\n" not in str(e)
        return
    assert checked["run"].get("backend", "numpy") in schema.BACKENDS and checked["run"].get("dtype", "float32") in schema.DTYPES
    assert all(isinstance(h, int) and 1 <= h <= schema.MAX_WIDTH for h in checked["model"]["hidden_dims"])


# ---- data files ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(3)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), "y_train": rng.integers(0, 10, 6),
              "x_test": rng.integers(0, 256, (3, 784), dtype=np.uint8), "y_test": rng.integers(0, 10, 3)}
    np.savez(d / "d.npz", **arrays)
    idx = bytes([0, 0, 8, 3]) + b"".join(int(s).to_bytes(4, "big") for s in (6, 28, 28)) + arrays["x_train"].tobytes()
    (d / "x.gz").write_bytes(gzip.compress(idx))
    return (d / "d.npz").read_bytes(), D.load(d / "d.npz"), (d / "x.gz").read_bytes(), arrays["x_train"]


def mutate(raw: bytes, flips, keep) -> bytes:
    b = bytearray(raw)
    for where, mask in flips:
        b[int(where * len(b))] ^= mask
    return bytes(b[: max(1, int(keep * len(b)))]) if keep is not None else bytes(b)


def _loaded_or_refused(load, path):
    """The contract for a damaged file: ``load(path)``'s result, or None after a one-line ValueError."""
    try:
        return load(path)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        return None


MUTATIONS = dict(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=3),
                 keep=st.none() | st.floats(0, 1, exclude_max=True))


@FAST
@given(**MUTATIONS)
def test_npz_data_mutated(tmp_path, digits, flips, keep):
    (tmp_path / "m.npz").write_bytes(mutate(digits[0], flips, keep))
    d = _loaded_or_refused(D.load, tmp_path / "m.npz")
    for k in ("x_train", "y_train", "x_test", "y_test") if d is not None else ():  # loaded: exactly the original
        np.testing.assert_array_equal(getattr(d, k), getattr(digits[1], k))


@FAST
@given(**MUTATIONS)
def test_gzipped_idx_mutated(tmp_path, digits, flips, keep):
    (tmp_path / "x.gz").write_bytes(mutate(digits[2], flips, keep))
    a = _loaded_or_refused(D.read_idx, tmp_path / "x.gz")
    if a is not None:  # loaded: exactly the original
        np.testing.assert_array_equal(a, digits[3])
