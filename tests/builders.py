"""What several test modules build: one small model of each kind, and tiny runs of ``tinyvae train``.

The runs themselves are made once per session by the ``cli_run`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from tinyvae import AE, CVAE, VAE, ConvVAE
from tinyvae.cli import main
from tinyvae.models.base import Model

# one epoch of a 784-16-2 VAE on the first 200 train and 200 test digits: the suite's tiny run
TINY = ("--epochs", "1", "--hidden", "16", "--limit", "200", "--no-plots")


def one_of_each() -> dict[str, Model]:
    """One small float64 model of each kind, fresh on every call (the same weights each time): a VAE (BCE,
    β = 0.5), an MSE VAE with tanh, an AE, a CVAE of 4 classes (two hidden layers each but the MSE VAE's one)
    and a ConvVAE on 8×8 images."""
    return {
        "vae": VAE(12, [10, 8], 3, loss="bce", beta=0.5, rng=0),
        "vae-mse": VAE(12, [10], 2, loss="mse", output="identity", activation="tanh", rng=1),
        "ae": AE(12, [10, 8], 3, rng=2),
        "cvae": CVAE(12, [10, 8], 3, n_classes=4, rng=3),
        "conv": ConvVAE(x_dim=64, channels=(2, 3), hidden_dim=4, z_dim=2, loss="bce", rng=4),
    }


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (size, mtime in ns) of every entry of ``folder``: what a test that writes there changes."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@dataclass(frozen=True)
class Run:
    """A finished ``tinyvae train`` run: its folder and what it printed (stdout, stderr)."""

    folder: Path
    stdout: str
    stderr: str

    def copy_to(self, folder: Path) -> Path:
        """A copy of the run folder at ``folder``, for a test that writes to it (resume, explore, crafting)."""
        shutil.copytree(self.folder, folder, symlinks=True)
        return folder


def train(flags: tuple[str, ...], folder: Path) -> Run:
    """``tinyvae train *TINY *flags --out folder`` in-process (later flags win); asserts it succeeded."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["train", *TINY, *flags, "--out", str(folder)])
    assert status == 0, (flags, err.getvalue()[-2000:])
    return Run(folder, out.getvalue(), err.getvalue())
