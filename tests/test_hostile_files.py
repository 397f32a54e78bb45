"""Hostile conditions, second review: nothing a user already has is lost.

Files that may already exist are replaced by a rename (a full disk or a kill leaves the old file whole),
the sweep of a killed writer's temporary files removes only tinyvae's own names, and the run folder's
lock never follows a symbolic link.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_check import one_line
from test_hostile import TINY, good  # noqa: F401 (good: the shared trained run)
from tinyvae.cli import main

ROOT = Path(__file__).resolve().parents[1]
FULL_DISK = r"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
from tinyvae.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("name", ["s.npy", "s.png"])
def test_sample_out_survives_a_full_disk(good, tmp_path, name):
    out = tmp_path / name
    out.write_bytes(b"the user's good file " * 10_000)  # 210 KB
    before = out.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", FULL_DISK, "20000", "sample", str(good), "--n", "400",
                        "--out", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "cannot write there" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert out.read_bytes() == before  # not a truncated new file
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # and no temporary file left


def _renamed_into_place(path: Path, write) -> bool:
    """Whether ``write()`` replaced the existing ``path`` by renaming a new file over it (a new inode)."""
    path.write_bytes(b"old")
    inode = path.stat().st_ino
    write()
    return path.stat().st_ino != inode and path.read_bytes() != b"old"


def test_sample_writes_are_atomic(good, tmp_path):
    for name in ("s.npy", "s.png"):
        assert _renamed_into_place(tmp_path / name, lambda: main(["sample", str(good), "--out", str(tmp_path / name)]))


def test_figures_are_written_atomically(tmp_path):
    from tinyvae.figures.draw import figure, save, save_image_grid

    fig = figure(2, 2)
    fig.subplots().plot([0, 1])
    assert _renamed_into_place(tmp_path / "f.png", lambda: save(fig, tmp_path / "f.png"))
    assert _renamed_into_place(tmp_path / "g.png", lambda: save_image_grid(np.zeros((4, 784)), tmp_path / "g.png"))


def test_compare_json_is_written_atomically(tmp_path):
    out = tmp_path / "c"
    out.mkdir()
    argv = ["compare", "cvae", "--epochs", "1", "--limit", "100", "--hidden", "8", "--out", str(out)]
    assert _renamed_into_place(out / "compare.json", lambda: main(argv) == 0 or pytest.fail("compare failed"))
    assert _renamed_into_place(out / "cvae_digits.png", lambda: main(argv))


def test_the_sweep_removes_only_tinyvaes_own_temporaries(good, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(good, run)
    mine = [".my notes.tmp", ".notes.tmp", ".x.tmp", ".draft.txt.tmp", ".photo.jpg.abcdefgh.tmp"]
    ours = [".checkpoint.npz.abc1_xyz.tmp", ".metrics.json.k2j3h4g5.tmp", ".samples.png.zzzzzzzz.tmp"]
    for name in mine + ours:
        (run / name).write_bytes(b"half")
    assert main(["train", "--resume", "--epochs", "2", "--no-plots", "--out", str(run)]) == 0
    assert sorted(p.name for p in run.glob(".*.tmp")) == sorted(mine)


def test_the_lock_never_follows_a_symbolic_link(good, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(good, run)
    (run / ".lock").unlink(missing_ok=True)
    target = tmp_path / "elsewhere" / "created-by-the-lock"
    target.parent.mkdir()
    (run / ".lock").symlink_to(target)
    line = one_line(["train", "--resume", "--epochs", "2", "--no-plots", "--out", str(run)], capsys)
    assert "cannot lock the run folder" in line and "its .lock is not a plain file" in line
    assert not target.exists()
