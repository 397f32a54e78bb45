"""Hostile input, second review: no unbounded work before a cheap check, and memory bounded by what a
command needs (data readers, decompression bombs, the library's own caps, sample's estimate).
"""

from __future__ import annotations

import os

import pytest

from cli_check import one_line
from test_hostile import craft, good  # noqa: F401 (good: the shared trained run)
from tinyvae.cli import main


# ---- hangs: a cheap check first, progress on long work ----------------------------------------------
@pytest.mark.parametrize("command", ["evaluate", "explore"])
def test_a_recorded_data_file_is_checked_before_it_is_hashed(good, tmp_path, capsys, monkeypatch, command):
    """A run whose record names a 200 GB (sparse) file: refused by its first 4 bytes, never hashed."""
    import tinyvae.training.data as data

    big = tmp_path / "big.npz"
    with open(big, "wb") as f:
        f.truncate(200 << 30)
    run = craft(good, tmp_path / "run", meta=lambda d: d["run_config"].update(data=str(big), data_hash="a" * 64))
    hashed = []
    monkeypatch.setattr(data, "fingerprint", lambda source: hashed.append(source) or "0" * 64)
    line = one_line([command, str(run), *(["--out", str(tmp_path / "e.html")] if command == "explore" else [])], capsys)
    assert "is not a readable .npz file (not a zip archive)" in line and hashed == []


@pytest.mark.parametrize("streamed", [False, True])
def test_evaluate_shows_the_iwae_progress(good, capsys, monkeypatch, streamed):
    import tinyvae.training.evaluate as ev

    if streamed:  # K beyond one chunk: one image at a time, its samples in chunks
        monkeypatch.setattr(ev, "ROWS_PER_CHUNK", 64)
    assert main(["evaluate", str(good), "--iwae", "300", "--progress", "on"]) == 0
    err = capsys.readouterr().err
    assert "IWAE, K = 300" in err and "/60.0k" in err  # over 200 test images × 300 samples
    assert main(["evaluate", str(good), "--iwae", "300", "--progress", "off"]) == 0
    assert "IWAE" not in capsys.readouterr().err


# ---- memory: readers read what --limit asks; bombs refused before inflating ---------------------------
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
CHILD = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from tinyvae.cli import main
status = main(sys.argv[1:])
print("STATUS", status, "PEAK_KIB", open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def _in_a_small_process(argv: list[str]) -> tuple[int, int, str]:
    """(exit status, peak resident KiB, stderr) of ``tinyvae *argv`` in a process limited to 3 GiB."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", CHILD, *argv], env=env, capture_output=True, text=True, timeout=300)
    words = r.stdout.split()
    assert "STATUS" in words, r.stderr[-2000:]
    return int(words[words.index("STATUS") + 1]), int(words[words.index("PEAK_KIB") + 1]), r.stderr


def _first_rows(n: int = 100):
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, (n, 784), dtype=np.uint8).tobytes()  # then zeros


def idx_bomb(d, images: int = 10**6):
    """An MNIST directory whose training images and labels declare ``images`` entries (784 MB of pixels),
    gzipped to about 770 KB as a chain of gzip members of zeros (a few random digits first)."""
    import gzip

    from test_hostile import mnist_dir

    mnist_dir(d)
    block = gzip.compress(bytes(16 << 20), 9)
    for name, shape, first in (("train-images-idx3-ubyte", (images, 28, 28), _first_rows()),
                               ("train-labels-idx1-ubyte", (images,), bytes(100))):
        head = bytes([0, 0, 8, len(shape)]) + b"".join(s.to_bytes(4, "big") for s in shape)
        full, rest = divmod(images * (784 if len(shape) == 3 else 1) - len(first), 16 << 20)
        (d / (name + ".gz")).write_bytes(gzip.compress(head + first) + block * full + gzip.compress(bytes(rest)))
    return d


def npz_bomb(path, images: int = 10**6):
    """An .npz whose x_train member declares (images, 784) uint8, deflated from zeros (digits first)."""
    import io
    import zipfile

    import numpy as np

    from test_hostile import digits_npz

    digits_npz(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        members = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in members.items():
            if n != "x_train.npy":
                z.writestr(n, b)
        with z.open("x_train.npy", "w", force_zip64=True) as f:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (images, 784)})
            f.write(header.getvalue() + _first_rows())
            left = images * 784 - 100 * 784
            while left:
                f.write(bytes(min(left, 16 << 20)))
                left -= min(left, 16 << 20)
    return path


def test_train_with_a_limit_reads_only_its_rows_of_a_bomb(tmp_path):
    """The acceptance: train --limit 10 on a 770 KB .gz that declares 1,000,000 images peaks under 1 GB
    (before, every declared image was read and converted before the limit applied: out of memory under
    this 3 GiB limit, at a 1.5 GB peak; the issue measured 3.9 GB without a limit)."""
    bomb = idx_bomb(tmp_path / "m")
    assert sum(p.stat().st_size for p in bomb.iterdir()) < 1 << 20
    tiny = ["train", "--limit", "10", "--epochs", "1", "--hidden", "8", "--no-plots", "--threads", "1"]
    status, peak_kib, err = _in_a_small_process([*tiny, "--data", str(bomb), "--out", str(tmp_path / "o")])
    print(f"peak resident memory of train --limit 10 on the 1M-image bomb: {peak_kib / 1024:.0f} MiB")
    assert status == 0 and peak_kib < 1 << 20, (status, peak_kib, err[-2000:])


def test_the_bombs_without_a_limit_are_refused_before_inflating(tmp_path):
    import gzip

    bomb = idx_bomb(tmp_path / "m")
    status, peak_kib, err = _in_a_small_process(["train", "--no-plots", "--data", str(bomb), "--out", str(tmp_path / "o")])
    assert status == 2 and err.count("\n") == 1 and peak_kib < 1 << 20, err
    assert "train-images-idx3-ubyte.gz: reading it needs about 8.0 GiB of memory, more than the" in err
    assert "read fewer images with --limit N, or free memory" in err
    small = tmp_path / "s"
    from test_hostile import mnist_dir

    mnist_dir(small)
    head = bytes([0, 0, 8, 3]) + b"".join(s.to_bytes(4, "big") for s in (10**7, 28, 28))
    (small / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(head))  # 10M images claimed in ~40 bytes
    status, _, err = _in_a_small_process(["train", "--no-plots", "--data", str(small), "--out", str(tmp_path / "o")])
    assert status == 2 and err.count("\n") == 1, err
    assert "train-images-idx3-ubyte.gz: IDX header says shape (10000000, 28, 28)" in err
    assert "more than deflate can inflate a" in err and "decompression bomb, refused before inflating it" in err


def test_an_npz_bomb_with_a_limit_reads_only_its_rows(tmp_path):
    bomb = npz_bomb(tmp_path / "b.npz")
    assert bomb.stat().st_size < 2 << 20
    tiny = ["train", "--limit", "10", "--epochs", "1", "--hidden", "8", "--no-plots", "--threads", "1"]
    status, peak_kib, err = _in_a_small_process([*tiny, "--data", str(bomb), "--out", str(tmp_path / "o")])
    assert status == 0 and peak_kib < 1 << 20, (status, peak_kib, err[-2000:])
    status, peak_kib, err = _in_a_small_process(["evaluate", str(tmp_path / "o"), "--iwae", "2"])
    assert status == 0 and peak_kib < 1 << 20, (status, peak_kib, err[-2000:])
    status, _, err = _in_a_small_process(["train", "--no-plots", "--data", str(bomb), "--out", str(tmp_path / "o2")])
    assert status == 2 and "member 'x_train.npy': reading it needs about" in err, err


# ---- the library's own caps; sample's estimate ----------------------------------------------------------
CONSTRUCTORS = {  # what is built: what the one ValueError says
    "VAE(784, [10**6, 10**6], 2)": "hidden_dims[0] must be an integer from 1 to 65,536, got 1,000,000",
    "VAE(784, [60_000, 60_000], 2)": "parameters, more than tinyvae builds (50,000,000)",
    "AE(784, [8], 10**5)": "z_dim must be an integer from 1 to 65,536, got 100,000",
    "CVAE(10**7, [8], 2)": "x_dim must be an integer from 1 to 65,536, got 10,000,000",
    "CVAE(60_000, [800], 2)": "parameters, more than tinyvae builds",
    "ConvVAE(channels=[32, 10**5])": "channels[1] must be an integer from 1 to 1,024, got 100,000",
    "ConvVAE(channels=[1024, 1024], kernel_size=15)": "parameters, more than tinyvae builds",
}
BUILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a broken cap fails here, not on the machine
from tinyvae import AE, CVAE, ConvVAE, VAE
out = {}
for expr in json.loads(sys.argv[1]):
    try:
        eval(expr)
        out[expr] = "built"
    except Exception as e:
        out[expr] = f"{'ValueError' if isinstance(e, ValueError) else type(e).__name__}: {e}"
print(json.dumps(out))
"""


def test_constructors_share_the_command_lines_caps():
    """Refused with a ValueError before a weight is allocated (VAE(784, [10**6, 10**6], 2) reached 12 GB
    before a MemoryError), in a process limited to 2 GiB."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", BUILD, json.dumps(list(CONSTRUCTORS))], env=env, capture_output=True,
                       text=True, timeout=120)
    got = json.loads(r.stdout.strip().splitlines()[-1])
    for expr, message in CONSTRUCTORS.items():
        assert got[expr].startswith("ValueError: ") and message in got[expr], (expr, got[expr])


def test_fit_caps_its_workers_as_the_command_line_caps_threads():
    import numpy as np

    import tinyvae
    from tinyvae.training.data import load
    from tinyvae.training.train import fit

    data = load(limit=10)
    with pytest.raises(ValueError, match="workers must be an integer from 1 to 1,024, got 1,000,000"):
        fit(tinyvae.VAE(784, [8], 2, dtype=np.float32), data, epochs=1, workers=10**6)
    with pytest.raises(ValueError, match="^threads must be an integer from 1 to 1,024 or 'auto', got 5,000$"):
        from tinyvae.training.threads import resolve_threads

        resolve_threads("5000")


def test_the_grid_estimate_covers_what_drawing_it_takes(tmp_path):
    """image_grid_bytes against tracemalloc's peak of save_image_grid, for 28² and larger images."""
    import tracemalloc

    import numpy as np

    from tinyvae.figures.draw import image_grid_bytes, save_image_grid

    save_image_grid(np.zeros((2, 784)), tmp_path / "warm.png")
    for n, side in ((100, 28), (30, 128)):
        x = np.random.default_rng(0).random((n, side * side)).astype(np.float32)
        tracemalloc.start()
        save_image_grid(x, tmp_path / "g.png")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert 0.6 < peak / image_grid_bytes(n, side * side) < 1.0, (n, side, peak)


def test_sample_counts_the_png_grid_for_any_image_size(tmp_path, capsys, monkeypatch):
    """A run with 64x64 images: 2,000 samples as .npy fit a 450 MiB budget; with their .png grid they do
    not (the estimate used to count the samples alone, whatever the output, so the grid was drawn)."""
    import numpy as np

    import tinyvae
    import tinyvae.models.memory as memory
    from tinyvae.training.checkpoint import save_checkpoint

    model = tinyvae.VAE(4096, [8], 2, dtype=np.float32, rng=0)
    save_checkpoint(tmp_path / "run" / "checkpoint.npz", model, tinyvae.Adam(model), epoch=0,
                    rng=np.random.default_rng(0), run_config={"epochs": 1, "batch_size": 8, "lr": 1e-3, "seed": 0,
                                                              "data": None, "backend": "numpy", "dtype": "float32"},
                    metrics=[])
    monkeypatch.setattr(memory, "memory_budget", lambda: 450 << 20)
    monkeypatch.setattr("tinyvae.cli.errors.memory_budget", lambda: 450 << 20)
    assert main(["sample", str(tmp_path / "run"), "--n", "2000", "--out", str(tmp_path / "s.npy")]) == 0
    line = one_line(["sample", str(tmp_path / "run"), "--n", "2000", "--out", str(tmp_path / "s.png")], capsys)
    assert "--n 2000 samples and their .png grid needs about" in line and not (tmp_path / "s.png").exists()
