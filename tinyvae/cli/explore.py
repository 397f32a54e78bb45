"""``tinyvae explore RUN_DIR [--out FILE.html]``: a page to move through the latent space of a run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..explore import build_page, check_drawable
from ..training.checkpoint import atomic_write
from ..training.runs import load_with_state, run_data
from .errors import CLIError

DESCRIPTION = """\
Write one self-contained HTML page (default RUN_DIR/explore.html) for a trained run: the latent
plane with the test images' latent means coloured by digit, and beside it the digit the run's
decoder draws at the point under the pointer (mouse, touch or arrow keys), with z and the prior
density N(0, I) there. Pointing at a test dot shows that image and its reconstruction; a digit drawn
with the mouse or a finger is encoded, and its mean (with its posterior's ellipse) lands on the
plane. A latent of more than two dimensions is shown on the plane of its first two principal
directions, with a slider for every coordinate; a conditional VAE gets a digit selector; clicking a
start and an end point walks from one to the other. The encoder and decoder (MLP or convolutional)
run in the page itself (JavaScript): the file needs no network and no server, so open it from disk."""

EPILOG = """\
examples:
  tinyvae explore runs/latest                        writes runs/latest/explore.html
  tinyvae explore runs/cvae --out cvae.html

for scripts: in the page, window.tinyvae.decode(z, digit) returns the 784 pixel values for a latent
vector z, window.tinyvae.encode(pixels, digit) the posterior mean (an AE: the code) of 784 pixel values
in [0, 1] (digit only for a conditional VAE); window.tinyvae.ready is true once the weights are loaded."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("explore", help="write an HTML page to move through a run's latent space",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (with checkpoint.npz) or a checkpoint file")
    p.add_argument("--out", metavar="FILE.html", help="where to write the page (default RUN_DIR/explore.html)")
    p.add_argument("--data", metavar="PATH", help="the test digits to place on the plane (mnist, fashion-mnist, "
                   "an MNIST IDX directory or "
                   "an .npz) instead of the data the run recorded, e.g. when the run was moved")
    return p


def run(args: argparse.Namespace) -> int:
    model, state, path = load_with_state(args.run_dir)
    try:
        check_drawable(model)
    except ValueError as e:
        raise CLIError(f"{path}: {e}") from None
    out = Path(args.out) if args.out else path.parent / "explore.html"
    _check_writable(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise CLIError(f"--out {out}: name an .html file")
    data = run_data(state, model, source=args.data, run_dir=path.parent)
    html = build_page(model, data.x_test, data.y_test,
                      title=f"{path.parent.name or path.parent} (epoch {state['epoch']}, {data.name})")
    try:
        atomic_write(out, lambda f: f.write(html.encode("utf-8")))
    except OSError as e:
        raise CLIError(f"cannot write {out} ({e.strerror or e}); choose another --out") from None
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB): open it in a browser, no server needed")
    return 0


def _check_writable(out: Path) -> None:
    """Refuse an output path that cannot be written, before the work of building the page."""
    if out.is_dir():
        raise CLIError(f"--out {out} is a directory; name a file such as {out / 'explore.html'}")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise CLIError(f"cannot write {out}: {parent} is not a writable directory; choose another --out")
    if out.exists() and not os.access(out, os.W_OK):
        raise CLIError(f"cannot write {out}: the file is read-only; choose another --out")

