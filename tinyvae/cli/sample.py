"""``tinyvae sample RUN_DIR --n N --out FILE``: images decoded from the prior, as .npy or a .png grid."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..engine import backend
from ..figures.draw import image_grid_bytes, save_image_grid
from ..models import memory
from ..models.base import LabelsRefused
from ..training.checkpoint import atomic_write
from ..training.runs import load
from .errors import CLIError, check_fits, check_seed

CHUNK = 10_000  # images decoded at once, at most (fewer where memory.chunk_rows says: the conv model)
MAX_GRID = 10_000  # images in one .png grid

DESCRIPTION = """\
Decode N draws z ~ N(0, I) with a trained run's decoder and write them to FILE: .npy for an array
of shape (N, 784) with values in [0, 1], .png for a grid of the images. For a conditional VAE
(--model cvae) --digit D asks for N images of digit D (without it the digits cycle 0, 1, ..., 9)."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("sample", help="decode samples from the prior into an .npy array or a .png grid",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (with checkpoint.npz) or a checkpoint file")
    p.add_argument("--n", type=int, default=64, help="how many images (default 64)")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.npy (array (N, 784)) or FILE.png (a grid)")
    p.add_argument("--digit", type=int, metavar="D", help="the digit to draw (conditional models only)")
    p.add_argument("--seed", type=int, default=0, help="seeds z (default 0)")
    return p


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix not in (".npy", ".png"):
        raise CLIError(f"--out {out}: name a .npy file (the array) or a .png file (a grid)")
    if args.n < 1:
        raise CLIError(f"--n must be at least 1, got {args.n}")
    if out.suffix == ".png" and args.n > MAX_GRID:
        raise CLIError(f"--n {args.n} is too many for one .png grid (at most {MAX_GRID:,}); write .npy instead")
    if out.exists() and out.is_dir():
        raise CLIError(f"--out {out} is a directory; name a file FILE.npy or FILE.png")
    check_seed(args.seed)
    model = load(args.run_dir)
    rows = memory.chunk_rows(model, CHUNK)  # images decoded at once: the decoder's activations stay small
    if model.conditional:  # whole cycles of the digits 0, 1, ..., C-1 in every chunk, as in one draw
        rows = max(model.n_classes, rows - rows % model.n_classes)
    grid = image_grid_bytes(args.n, model.x_dim) if out.suffix == ".png" else 0  # the .png grid, any image size
    check_fits(args.n * model.x_dim * 8 + min(args.n, rows) * memory.image_bytes(model) + grid,
               f"--n {args.n} samples" + (" and their .png grid" if grid else ""), "ask for fewer with a smaller --n")
    rng = np.random.default_rng(args.seed)
    x = None
    for s in range(0, args.n, rows):
        try:
            xs = model.sample(min(rows, args.n - s), rng, label=args.digit)
        except LabelsRefused:
            raise CLIError(f"--digit needs a conditional model (tinyvae train --model cvae); this run is a "
                           f"{model.config().get('model')}") from None
        except ValueError as e:  # a digit outside the model's labels
            raise CLIError(f"--digit {args.digit}: {e}") from None
        xs = backend.to_numpy(xs)
        if not np.isfinite(xs).all():  # before the clip, which would turn inf into 1
            raise CLIError(f"{args.run_dir}: the decoder gives NaN or inf pixels: its weights are so large that "
                           f"the arithmetic overflows; retrain the run (with a lower --lr)")
        xs = np.clip(xs, 0.0, 1.0)  # (m, 784); an identity output may step outside [0, 1]
        if x is None:
            x = np.empty((args.n, xs.shape[1]), dtype=xs.dtype)
        x[s : s + len(xs)] = xs
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".npy":  # atomically: a full disk leaves the old file, never half of a new one
            atomic_write(out, lambda f: np.save(f, x))
        else:
            save_grid(x, out)
    except OSError as e:
        raise CLIError(f"--out {out}: cannot write there ({e.strerror or e}); choose another --out") from e
    print(f"wrote {args.n} samples to {out}")
    return 0


def save_grid(x: np.ndarray, path: Path, pad: int = 2) -> None:
    """Images x (N, side²) as one PNG grid, as close to square as fits, white digits on black."""
    save_image_grid(x, path, pad=pad)
