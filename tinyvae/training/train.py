"""Training: shuffled mini-batches, Adam, a test pass and a checkpoint after every epoch.

One epoch::

    perm = rng.permutation(N)                      # the order of this epoch
    model.check_x(x)                               # x's values, once (each batch is a slice of x)
    for each batch of indices in perm:
        (binarize="dynamic": x[batch] ~ Bernoulli(x[batch]), drawn from rng)
        loss = model.loss_and_grads(x[batch], y[batch], rng=rng, beta=β_e)   # forward, backward; eps from rng
                                                   # (y: the labels for a CVAE, None for the others)
                                                   # β_e = β·min(1, epoch/kl_warmup): KL warm-up
        stop if the loss or a gradient is NaN/inf,       # TrainingDiverged, nothing saved
             or the loss is 10,000 times its first value
        optimizer.step()                                 # Adam
    test  = eval_loss(model, x_test)               # recon + β·KL, one z per image, fixed noise
    latent_diagnostics(model, x_test)              # KL of each latent dimension, active units
    save checkpoint.npz, metrics.json              # atomically

A single ``numpy.random.Generator``, ``default_rng(seed)``, draws both the shuffles and the noise
eps, so the seed fixes the run; its state is saved with every checkpoint, so a run resumed from
epoch k ends with exactly the weights of a run that was never interrupted. A whole run (``tinyvae
train``) draws from one seed three independent streams, :func:`seed_streams`: the initial weights,
this training stream, and the figures' noise.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..engine import backend
from ..engine.backend import Array
from .checkpoint import (Checkpoint, check_architecture, clean_stale_temporaries, lock_run_folder, read_checkpoint,
                         restore_optimizer, restore_rng)
from .data import BUNDLED, Dataset, bernoulli_draw, binarize_mode
from .runs import CHECKPOINT, recorded_source, save_epoch
from .schema import MAX_THREADS, RUN_CONFIG
from .evaluate import eval_loss
from .diagnostics import latent_diagnostics
from .parallel import DataParallel
from ..models.base import Loss, Model
from ..engine.optim import Adam

BLOWUP = 1e4  # a batch loss this many times the first one of the call means the run has diverged
EVAL_SEED = 0  # the test pass draws its noise from default_rng(EVAL_SEED) every epoch: curves show the model only
WEIGHTS_STREAM, FIGURES_STREAM = 1, 2  # seed_streams: default_rng([seed, 1]) and default_rng([seed, 2])


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """(weights, training, figures): three independent generators from one ``seed``.

    training is ``default_rng(seed)``, the one :func:`fit` draws the shuffles and eps from (so
    ``fit(seed=seed)`` and a whole run agree); weights is ``default_rng([seed, 1])`` (the initial
    weights) and figures ``default_rng([seed, 2])`` (the noise of the plots): other seed sequences,
    so no stream repeats another's numbers.
    """
    return (np.random.default_rng([seed, WEIGHTS_STREAM]), np.random.default_rng(seed),
            np.random.default_rng([seed, FIGURES_STREAM]))


class TrainingDiverged(ValueError):
    """The loss or a gradient became NaN or inf, or the loss exploded; ``epoch``, ``step`` (1-based) say where."""

    status = 1  # the command line's exit status for a run that diverged

    def __init__(self, epoch: int, step: int | str, what: str, lr: float) -> None:
        self.epoch, self.step = epoch, step
        where = f"epoch {epoch}, step {step}" if isinstance(step, int) else f"epoch {epoch}, {step}"
        super().__init__(
            f"training diverged at {where}: {what}. "
            f"Try a lower learning rate, e.g. lr={lr / 10:g}; nothing after the last complete epoch was saved, so its checkpoint (if any) is intact"
        )


def fit(
    model: Model,
    data: Dataset,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    out_dir: str | Path | None = None,
    resume: bool | Checkpoint = False,
    progress: bool | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    run_config: dict[str, Any] | None = None,
    workers: int = 1, kl_warmup: int = 0,
) -> list[dict[str, Any]]:
    """Train ``model`` on ``data`` with Adam until ``epochs`` epochs are done; returns the metrics.

    model:      any tinyvae model (``loss_and_grads``; conditional models get the labels too).
    data:       a :class:`~tinyvae.training.data.Dataset`; its images are cast to the model's dtype and moved
                to where its parameters live, once.
    epochs:     the total number of epochs (a resumed run counts the ones already done).
    seed:       seeds ``default_rng(seed)``, which shuffles and draws eps (:func:`seed_streams`' training stream).
    out_dir:    where ``checkpoint.npz``, ``metrics.json`` and ``config.json`` are written after every
                epoch (nothing is written if None).
    resume:     continue from ``out_dir/checkpoint.npz``: its weights, Adam state, generator state and
                metrics; ``lr`` may differ from the first run's (lower it after a divergence). A
                ``Checkpoint`` already read (``read_checkpoint``) is used as it is, not read twice.
    progress:   a tqdm bar per epoch; None shows it only when stderr is a terminal.
    on_epoch:   called with each epoch's metrics dict as it completes.
    run_config: extra facts recorded in config.json and the checkpoint (data source, backend, ...).
    workers:    split every batch between this many threads (``parallel.DataParallel``; ``threads.plan``
                says when it pays): the weights then differ from a one-worker run's by rounding.
    kl_warmup:  N: epoch e (1-based) trains with β·min(1, e/N) (:func:`warmup_beta`; 0: none); N <= epochs; resume keeps it.

    Returns one dict per epoch: ``epoch``, ``train_loss`` (mean per image, weights changing as it goes: the objective
    minimised, with warm-up's β, free bits' floor), ``train_recon``, ``train_kl``, ``test_loss`` (recon + β·KL),
    ``test_recon``, ``test_kl`` (per test image, one z each, noise fixed), ``kl_per_dim`` and ``active_units``
    (:func:`~tinyvae.training.diagnostics.latent_diagnostics`), ``seconds`` (training and test pass), ``train_seconds``.
    Raises :class:`TrainingDiverged` at the first step with a NaN/inf loss or gradient, or a loss (or test loss: one
    step can explode) above ``BLOWUP`` (10,000) times the first batch's loss of this call; nothing of it is saved.
    """
    epochs, batch_size, lr, workers = _check_run(epochs, batch_size, lr, workers)
    config = _run_config(epochs, batch_size, lr, seed, None if data.name == BUNDLED else data.name,
                         {**(run_config or {}), "kl_warmup": check_kl_warmup(kl_warmup, epochs)})
    x_train, x_test, y_train, y_test = _on_model(model, data)
    dynamic = data.binarize == "dynamic"  # training draws x ~ Bernoulli(pixel) afresh for every batch
    out = Path(out_dir) if out_dir is not None else None
    rng = seed_streams(seed)[1]  # default_rng(seed): the shuffles and eps
    optimizer, metrics = Adam(model, lr=lr), []  # a resumed run's come from its checkpoint
    if (resuming := isinstance(resume, Checkpoint) or bool(resume)) and out is None:
        raise ValueError("resume needs the out_dir of the run to continue")
    with contextlib.ExitStack() as held:
        if out is not None:  # one writer per run folder; what a killed writer left is swept away
            held.enter_context(lock_run_folder(out))
            clean_stale_temporaries(out)
        if resuming:
            saved = resume if isinstance(resume, Checkpoint) else _read_for_resume(out / CHECKPOINT)  # type: ignore[operator]
            rng, optimizer, metrics = _resume(model, saved, out / CHECKPOINT, lr, config)  # type: ignore[operator]
        return _epochs(model, workers, x_train, x_test, y_train, y_test, dynamic, out, config, rng, optimizer,
                       metrics, epochs, batch_size, lr, progress, on_epoch)


def _run_config(epochs: int, batch_size: int, lr: float, seed: int, data: str | None,
                extra: dict[str, Any] | None) -> dict[str, Any]:
    """What the checkpoint records of the run: fit's arguments and ``run_config``, refused here unless the
    checkpoint's schema holds them (its reader would refuse the file otherwise)."""
    config = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "data": data, **(extra or {})}
    RUN_CONFIG(config, "fit's run configuration (its arguments and run_config)")
    return config


def _on_model(model: Model, data: Dataset) -> tuple[Any, Any, Any, Any]:
    """(x_train, x_test, y_train, y_test): the images cast to the model's dtype and moved to where its
    parameters live, once (no copy if already right), and checked here, at the run's door: a bad image
    stops the run before anything else (``train_epoch`` reads x_train's values once more per epoch);
    the labels as the model wants them (None for an unconditional one)."""
    x_train = backend.asarray_like(data.x_train, model.ref)
    x_test = backend.asarray_like(data.x_test, model.ref)
    for x in (x_train, x_test):
        if x.shape[0]:
            model.check_x(x)
    return x_train, x_test, model.labels_for(np.asarray(data.y_train)), model.labels_for(np.asarray(data.y_test))


def _epochs(model: Model, workers: int, x_train: Any, x_test: Any, y_train: Any, y_test: Any, dynamic: bool,
            out: Path | None, config: dict[str, Any], rng: np.random.Generator, optimizer: Adam,
            metrics: list[dict[str, Any]], epochs: int, batch_size: int, lr: float, progress: bool | None,
            on_epoch: Callable[[dict[str, Any]], None] | None) -> list[dict[str, Any]]:
    """The epochs loop of :func:`fit` (run holding the run folder's lock); each batch's gradients come
    from the model itself, or from the model split over ``workers`` threads."""
    n = x_train.shape[0]
    show = sys.stderr.isatty() if progress is None else progress
    first: float | None = None  # the first batch's loss in this call: the yardstick for "exploded"
    with DataParallel(model, workers) if workers > 1 else contextlib.nullcontext(model) as stepper:
        for epoch in range(len(metrics) + 1, epochs + 1):
            t0 = time.perf_counter()
            perm = rng.permutation(n)
            batches = _bar(range(0, n, batch_size), show, f"epoch {epoch}/{epochs}")
            beta = warmup_beta(model.beta, epoch, config["kl_warmup"])  # β·min(1, epoch/N)
            train, first = train_epoch(stepper, optimizer, x_train, y_train, perm, batches, batch_size, rng,
                                       epoch=epoch, first=first, dynamic=dynamic, beta=beta)
            train_seconds = time.perf_counter() - t0
            with np.errstate(over="ignore", invalid="ignore"):
                test = eval_loss(model, x_test, y_test, rng=np.random.default_rng(EVAL_SEED), batch_size=1000)
                code = latent_diagnostics(model, x_test, y_test)  # kl_per_dim, active_units
            if not math.isfinite(test.total):
                raise TrainingDiverged(epoch, "the test pass", "the test loss is not finite (NaN or inf)", lr)
            if first is not None and abs(test.total) > BLOWUP * max(abs(first), 1.0):  # one step can explode
                raise TrainingDiverged(epoch, "the test pass", f"the test loss exploded to {test.total:.3g} (more "
                                       f"than {BLOWUP:,.0f} times the first training loss here, {first:.4g})", lr)
            row = {"epoch": epoch, "train_loss": train.total, "train_recon": train.recon, "train_kl": train.kl,
                   "test_loss": test.total, "test_recon": test.recon, "test_kl": test.kl, **code,
                   "seconds": time.perf_counter() - t0, "train_seconds": train_seconds}
            metrics.append(row)
            if out is not None:
                save_epoch(out, model, optimizer, epoch=epoch, rng=rng, run_config=config, metrics=metrics)
            if on_epoch is not None:
                on_epoch(row)
    return metrics


def train_epoch(
    model: Model | DataParallel,
    optimizer: Adam,
    x: Array,
    y: np.ndarray | None,
    perm: np.ndarray,
    starts: Iterable[int],
    batch_size: int,
    rng: np.random.Generator,
    *,
    epoch: int = 1,
    first: float | None = None,
    dynamic: bool = False,
    beta: float | None = None,
) -> tuple[Loss, float | None]:
    """One pass over ``x`` in the batches ``perm[start : start + batch_size]``: loss, gradients, Adam step.

    x: (N, D), already of the model's dtype and where its parameters live (``fit`` casts and moves it
    once); its values are checked here once (``model.check_x``), not again batch by batch
    (``model.values_checked``). y: (N,) labels for a conditional model, else None. ``starts``: the
    batch starts (a range, or a progress bar over one). ``first`` is the yardstick for "the loss
    exploded" (the first batch's loss of the run; None: this epoch's first). ``dynamic``: each batch
    is drawn x ~ Bernoulli(pixel) from ``rng`` (dynamic binarization). ``beta``: the KL weight of every
    step (None: the model's β; warm-up passes β_e). Returns (the epoch's Loss(total, recon, kl), each the
    mean per image over the epoch, first).
    Raises :class:`TrainingDiverged` at the first non-finite or exploding loss or non-finite gradient,
    before the step that would use it.
    """
    xp = backend.namespace(x)
    perm_dev = perm if xp is np else xp.asarray(perm, device=backend.device(x))
    total, recon, kl, n = 0.0, 0.0, 0.0, 0
    if x.shape[0]:
        model.check_x(x)  # the whole set, once: each batch is a slice of it (or a 0/1 draw from one)
    # a diverging run is caught below, by name; the batches' values were checked above
    with np.errstate(over="ignore", invalid="ignore"), model.values_checked():
        for step, start in enumerate(starts, 1):
            idx = perm_dev[start : start + batch_size]
            xb = x[idx] if xp is np else xp.take(x, idx, axis=0)  # (B, D), the one copy
            if dynamic:  # x ~ Bernoulli(pixel), a fresh draw for every image in every epoch
                xb = bernoulli_draw(xb, rng)
            yb = None if y is None else y[perm[start : start + batch_size]]
            loss = model.loss_and_grads(xb, yb, rng=rng, beta=beta)
            if not math.isfinite(loss.total):
                raise TrainingDiverged(epoch, step, "the loss is not finite (NaN or inf)", optimizer.lr)
            first = loss.total if first is None else first
            if abs(loss.total) > BLOWUP * max(abs(first), 1.0):
                raise TrainingDiverged(epoch, step, f"the loss exploded to {loss.total:.3g} (more than "
                                       f"{BLOWUP:,.0f} times its first value here, {first:.4g})", optimizer.lr)
            if not _grads_finite(model):
                raise TrainingDiverged(epoch, step, "a gradient is not finite (NaN or inf)", optimizer.lr)
            optimizer.step()
            total += loss.total * xb.shape[0]
            recon += loss.recon * xb.shape[0]
            kl += loss.kl * xb.shape[0]
            n += xb.shape[0]
    return Loss(total / max(n, 1), recon / max(n, 1), kl / max(n, 1)), first


MAX_WORKERS = MAX_THREADS  # each worker is a thread and a model replica; the CLI's --threads has the same cap
RESUME_SAME = ("data", "data_hash", "limit", "binarize", "kl_warmup")  # the data and the β schedule stay (the CLI checks more)


def _same(key: str, saved: Any, now: Any, folder: Path) -> bool:
    """Whether a saved run_config value is ``now``'s, read as today's reader reads it: an older record's
    binarize True/False as "static"/"none", its relative data path in the run folder ``folder``."""
    if saved == now:
        return True
    if key == "binarize":
        return binarize_mode(saved) == binarize_mode(now)
    if key == "data" and isinstance(saved, str) and isinstance(now, str):
        return str(recorded_source(saved, folder)) == now
    return False


def _read_for_resume(path: Path) -> Checkpoint:
    if not path.is_file():
        raise FileNotFoundError(f"nothing to resume: no {path.name} in {path.parent}; pass resume=False to start a "
                                f"new run")
    return read_checkpoint(path)


def _resume(model: Model, saved: Checkpoint, path: Path, lr: float,
            config: dict[str, Any]) -> tuple[np.random.Generator, Adam, list[dict[str, Any]]]:
    """Load weights, Adam state, generator and metrics of ``saved`` (read from ``path``) into ``model``;
    refuse a ``config`` that changes what "the same weights as one uninterrupted run" depends on."""
    meta, params, opt_state = saved
    check_architecture(meta["architecture"], model.config(), path)
    run = meta["run_config"]
    run = {"kl_warmup": 0, **run}  # a run recorded before warm-up existed had none
    changed = [k for k in RESUME_SAME if k in run and k in config and not _same(k, run[k], config[k], path.parent)]
    if changed:
        k = changed[0]
        raise ValueError(f"{path.parent} was trained with {k}={run[k]!r}, not {config[k]!r}; a resumed run keeps "
                         f"its {', '.join(changed)} (start a new run in another out_dir=DIR to change them)")
    dtype = np.dtype(model.dtype).name
    if meta["dtype"] != dtype:
        raise ValueError(f"{path} holds {meta['dtype']} weights but the model is {dtype}; use dtype={meta['dtype']}")
    model.load_params(params)
    optimizer = restore_optimizer(model, meta["optimizer"], opt_state, path)
    optimizer.lr = lr
    metrics = list(meta.get("metrics", []))
    if len(metrics) != meta["epoch"]:
        raise ValueError(f"{path}: records {len(metrics)} epochs of metrics for epoch {meta['epoch']}")
    return restore_rng(meta["rng_state"], path), optimizer, metrics


def _check_run(epochs: Any, batch_size: Any, lr: Any, workers: Any = 1) -> tuple[int, int, float, int]:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number, got {lr!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be a positive integer (1: the batch whole), at most {MAX_WORKERS:,} (the "
                         f"most threads a run records), got {workers!r}")
    return int(epochs), int(batch_size), float(lr), int(workers)


def warmup_beta(beta: float, epoch: int, kl_warmup: int) -> float:
    """KL warm-up's β for ``epoch`` (1-based): β·min(1, epoch/N) for N = ``kl_warmup`` > 0, β itself for N = 0.

    With N = 4 and β = 1: 0.25, 0.5, 0.75, 1, 1, ... The product is taken in this order, so β_e = β exactly
    from epoch N on (min gives 1.0, and β·1.0 = β), and a run with warm-up then trains as one without.
    """
    return beta if kl_warmup == 0 else beta * min(1.0, epoch / kl_warmup)


def check_kl_warmup(kl_warmup: Any, epochs: int) -> int:
    """N as an int if it is an integer in [0, epochs] (longer, β would never reach its value)."""
    if isinstance(kl_warmup, bool) or not isinstance(kl_warmup, (int, np.integer)) or kl_warmup < 0:
        raise ValueError(f"kl_warmup must be a whole number of epochs >= 0 (0: no warm-up), got {kl_warmup!r}")
    if kl_warmup > epochs:
        raise ValueError(f"kl_warmup={kl_warmup} is longer than the run (epochs={epochs}): β would never reach its "
                         f"value; choose kl_warmup <= {epochs}")
    return int(kl_warmup)


def _grads_finite(model: Model) -> bool:
    """True unless some gradient holds NaN or inf."""
    xp = model.xp
    each = [xp.all(xp.isfinite(g)) for g in model.grads.values()]  # 0-d booleans, where the gradients are
    return bool(xp.all(xp.stack(each)))  # one answer brought to the host (one sync on a GPU)


def _bar(it: range, show: bool, desc: str) -> Any:
    if not show:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=desc, leave=False, unit="batch")

