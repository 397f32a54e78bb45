"""Checkpoints: exact round trips, atomic writes, and refusal of damaged, crafted or foreign files."""

import json
import zipfile

import numpy as np
import pytest

import tinyvae.training.checkpoint as ck
from tinyvae.engine.optim import Adam
from tinyvae.models.vae import VAE


def trained(rng, steps=3, dtype=np.float64, z=3):
    model = VAE(20, [8], z, rng=rng, dtype=dtype)
    opt = Adam(model, lr=1e-2)
    x = rng.random((5, 20)).astype(dtype)
    for _ in range(steps):
        model.loss_and_grads(x, rng=rng)
        opt.step()
    return model, opt


def row(e):
    return {"epoch": e, "train_loss": 150.0 - e, "test_loss": 151.0 - e, "test_recon": 140.0, "test_kl": 11.0 - e,
            "seconds": 0.5}


def save(path, model, opt, rng, **kw):
    return ck.save_checkpoint(path, model, opt, epoch=kw.pop("epoch", 3), rng=rng,
                              run_config=kw.pop("run_config", {"lr": 0.01, "data": None}),
                              metrics=kw.pop("metrics", [row(e) for e in (1, 2, 3)]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_restores_everything(tmp_path, rng, dtype):
    model, opt = trained(rng, dtype=dtype)
    train_rng = np.random.default_rng(7)
    train_rng.random(11)  # a generator part-way through its stream
    save(tmp_path / "c.npz", model, opt, train_rng)
    m2, o2, state = ck.load_checkpoint(tmp_path / "c.npz")
    assert type(m2) is VAE and m2.config() == model.config() and m2.dtype == dtype
    for k, v in model.params.items():
        np.testing.assert_array_equal(m2.params[k], v)
    assert o2.t == opt.t == 3 and o2.lr == opt.lr and (o2.beta1, o2.beta2, o2.eps) == (opt.beta1, opt.beta2, opt.eps)
    assert set(o2.state) == set(opt.state)
    for k, v in opt.state.items():
        np.testing.assert_array_equal(o2.state[k], v)
    assert state["epoch"] == 3 and state["run_config"] == {"lr": 0.01, "data": None}
    assert state["metrics"] == [row(1), row(2), row(3)]
    np.testing.assert_array_equal(state["rng"].random(5), train_rng.random(5))  # the same stream continues


def test_atomic_write_keeps_previous_checkpoint_on_crash(tmp_path, rng, monkeypatch):
    model, opt = trained(rng)
    path = save(tmp_path / "c.npz", model, opt, np.random.default_rng(0))
    before = path.read_bytes()

    def crash(f, **arrays):  # write part of a file, then die as a kill or a full disk would
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(ck.np, "savez", crash)
    model.params["mu.b"][...] += 1.0
    with pytest.raises(OSError, match="disk full"):
        save(path, model, opt, np.random.default_rng(0), epoch=4)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]  # the temporary file is gone
    monkeypatch.undo()
    _, _, state = ck.load_checkpoint(path)
    assert state["epoch"] == 3


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_checkpoint_is_refused(tmp_path, rng, keep):
    model, opt = trained(rng)
    raw = save(tmp_path / "c.npz", model, opt, rng).read_bytes()
    (tmp_path / "t.npz").write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(ValueError, match="truncated"):
        ck.load_checkpoint(tmp_path / "t.npz")


class Evil:
    """Unpickling this would create a marker file; a safe loader never gets that far."""

    marker = None

    def __reduce__(self):
        return (open, (str(Evil.marker), "w"))


def test_pickled_object_array_is_refused_and_nothing_runs(tmp_path, rng):
    Evil.marker = tmp_path / "pwned"
    model, opt = trained(rng)
    good = save(tmp_path / "c.npz", model, opt, rng)
    with np.load(good) as f:
        arrays = {k: f[k] for k in f.files}
    evil = np.empty(1, dtype=object)
    evil[0] = Evil()
    np.savez(tmp_path / "evil.npz", **{**arrays, "param/mu.b": evil})
    np.savez(tmp_path / "evil_meta.npz", **{**arrays, "meta": evil})
    for name in ("evil.npz", "evil_meta.npz"):
        with pytest.raises(ValueError, match="pickled Python objects; refused"):
            ck.load_checkpoint(tmp_path / name)
    assert not Evil.marker.exists()
    with zipfile.ZipFile(tmp_path / "evil.npz") as z:  # the crafted file really does hold a pickle
        assert b"pwned" in z.read("param/mu.b.npy")


def rewrite_meta(src, dst, change):
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(dst, **arrays)
    return dst


def test_newer_format_version_is_refused(tmp_path, rng):
    model, opt = trained(rng)
    good = save(tmp_path / "c.npz", model, opt, rng)
    p = rewrite_meta(good, tmp_path / "v2.npz", lambda m: m.update(format_version=ck.FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=f"format version {ck.FORMAT_VERSION + 1}, newer than this tinyvae reads"):
        ck.load_checkpoint(p)


def test_other_architecture_is_refused(tmp_path, rng):
    model, opt = trained(rng)
    good = save(tmp_path / "c.npz", model, opt, rng)
    other = VAE(20, [8], 4, dtype=np.float64).config()
    with pytest.raises(ValueError, match=r"different architecture \(z_dim: checkpoint 3, wanted 4\)"):
        ck.load_checkpoint(good, expect_architecture=other)
    ck.load_checkpoint(good, expect_architecture=model.config())  # the same one loads
    # a file whose arrays do not fit the architecture it claims
    p = rewrite_meta(good, tmp_path / "lie.npz", lambda m: m["architecture"].update(hidden_dims=[9]))
    with pytest.raises(ValueError, match="parameters do not fit the saved architecture"):
        ck.load_checkpoint(p)
    p = rewrite_meta(good, tmp_path / "odd.npz", lambda m: m["architecture"].update(model="gan"))
    with pytest.raises(ValueError, match=r"meta.architecture.model: expected one of \['vae', 'ae', 'cvae'\], got 'gan'"):
        ck.load_checkpoint(p)


def test_files_that_are_not_checkpoints(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        ck.load_checkpoint(tmp_path / "none.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a tinyvae checkpoint"):
        ck.load_checkpoint(tmp_path / "plain.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match=r"text.npz is not a tinyvae checkpoint: not an .npz \(zip\) file"):
        ck.load_checkpoint(tmp_path / "text.npz")
    model, opt = trained(rng)
    good = save(tmp_path / "c.npz", model, opt, rng)
    p = rewrite_meta(good, tmp_path / "rng.npz", lambda m: m["rng_state"].update(bit_generator="os.system"))
    with pytest.raises(ValueError, match=r"meta.rng_state.bit_generator: expected one of \['PCG64', 'PCG64DXSM'\], got 'os.system'"):
        ck.load_checkpoint(p)


def test_an_older_ae_checkpoint_with_z_names_loads_under_code(tmp_path, rng):
    """The AE's code head was once the parameter group ``z``; read_checkpoint renames it to ``code``."""
    from tinyvae.models.ae import AE

    model = AE(20, [8], 3, rng=rng)
    opt = Adam(model, lr=1e-2)
    x = rng.random((5, 20))
    for _ in range(2):
        model.loss_and_grads(x)
        opt.step()
    save(tmp_path / "new.npz", model, opt, rng)
    with np.load(tmp_path / "new.npz") as f:
        old = {k.replace("param/code.", "param/z.").replace(".code.", ".z."): f[k] for k in f.files}
    assert "param/z.W" in old and "optim/m.z.W" in old and "optim/v.z.b" in old
    np.savez(tmp_path / "old.npz", **old)
    loaded, opt2, _ = ck.load_checkpoint(tmp_path / "old.npz")
    assert set(loaded.params) == set(model.params) and "code.W" in loaded.params
    for k in model.params:
        np.testing.assert_array_equal(loaded.params[k], model.params[k])
    for k in opt.state:
        np.testing.assert_array_equal(opt2.state[k], opt.state[k])
