"""The epochs of :func:`~tinyvae.training.train.fit`: shuffled mini-batches, Adam, a test pass and a checkpoint.

One epoch::

    perm = rng.permutation(N)                      # the order of this epoch
    model.check_x(x)                               # x's values, once (each batch is a slice of x)
    for each batch of indices in perm:
        (binarize="dynamic": x[batch] ~ Bernoulli(x[batch]), drawn from rng)
        loss = model._loss_and_grads(x[batch], y[batch], rng=rng, beta=β_e)   # forward, backward; eps from rng
                                                   # (the values of x[batch] are not read again)
                                                   # (y: the labels for a CVAE, None for the others)
                                                   # β_e = β·min(1, epoch/kl_warmup): KL warm-up
        stop if the loss or a gradient is NaN/inf,       # TrainingDiverged, nothing saved
             or the loss is 10,000 times its first value
        optimizer.step()                                 # Adam
    test  = eval_loss(model, x_test)               # recon + β·KL, one z per image, fixed noise
    latent_diagnostics(model, x_test)              # KL of each latent dimension, active units
    save checkpoint.npz, metrics.json              # atomically

What the epochs read: the run's options (``TrainConfig``), the data set as the model takes it
(:class:`RunData`) and what they move on (:class:`RunState`: the generator, Adam, the metrics).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from ..engine import backend
from ..engine.backend import Array
from ..engine.optim import Adam
from ..models.base import Loss, Model
from .config import TrainConfig
from .data import bernoulli_draw
from .diagnostics import latent_diagnostics
from .evaluate import eval_loss
from .parallel import DataParallel
from .runs import save_epoch

BLOWUP = 1e4  # a batch loss this many times the first one of the call means the run has diverged
EVAL_SEED = 0  # the test pass draws its noise from default_rng(EVAL_SEED) every epoch: curves show the model only


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


class RunData(NamedTuple):
    """The data set as the model takes it: images (N, D) and (M, D) of its dtype, where its parameters
    live; labels (N,) and (M,) as it wants them (None: an unconditional model); ``dynamic``: every
    training batch is drawn x ~ Bernoulli(pixel) afresh (dynamic binarization). ``fit`` makes it once."""

    x_train: Array
    y_train: Any = None
    x_test: Array | None = None
    y_test: Any = None
    dynamic: bool = False


@dataclass
class RunState:
    """What the epochs move on: ``rng`` (the shuffles and eps), ``optimizer`` (Adam), ``metrics`` (one
    dict per epoch done, a resumed run's from its checkpoint) and ``first``, the first batch's loss
    of this call to ``fit``: the yardstick for "the loss exploded"."""

    rng: np.random.Generator
    optimizer: Adam
    metrics: list[dict[str, Any]] = field(default_factory=list)
    first: float | None = None


def warmup_beta(beta: float, epoch: int, kl_warmup: int) -> float:
    """KL warm-up's β for ``epoch`` (1-based): β·min(1, epoch/N) for N = ``kl_warmup`` > 0, β itself for N = 0.

    With N = 4 and β = 1: 0.25, 0.5, 0.75, 1, 1, ... The product is taken in this order, so β_e = β exactly
    from epoch N on (min gives 1.0, and β·1.0 = β), and a run with warm-up then trains as one without.
    """
    return beta if kl_warmup == 0 else beta * min(1.0, epoch / kl_warmup)


def run_epochs(model: Model, data: RunData, config: TrainConfig, state: RunState, *, out: Path | None = None,
               record: dict[str, Any] | None = None, progress: bool | None = None,
               on_epoch: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """The epochs of :func:`fit` after those in ``state.metrics``, up to ``config.epochs``: each trains
    (:func:`train_epoch`, the batches split over ``config.workers`` threads when > 1), is tested, and
    is saved in ``out`` with ``record`` as its run_config (nothing saved when ``out`` is None).
    Returns ``state.metrics``, one dict per epoch (``fit``'s docstring lists the keys)."""
    show = sys.stderr.isatty() if progress is None else progress
    workers = config.workers
    record = config.record(None) if record is None else record  # once, not per epoch
    with DataParallel(model, workers) if workers > 1 else contextlib.nullcontext(model) as stepper:
        for epoch in range(len(state.metrics) + 1, config.epochs + 1):
            t0 = time.perf_counter()
            perm = state.rng.permutation(data.x_train.shape[0])
            beta = warmup_beta(model.beta, epoch, config.kl_warmup)  # β·min(1, epoch/N)
            train = train_epoch(stepper, data, perm, config, state, epoch=epoch, beta=beta, show=show)
            train_seconds = time.perf_counter() - t0
            test, code = _test_epoch(model, data, epoch, state)
            row = {"epoch": epoch, "train_loss": train.total, "train_recon": train.recon, "train_kl": train.kl,
                   "test_loss": test.total, "test_recon": test.recon, "test_kl": test.kl, **code,
                   "seconds": time.perf_counter() - t0, "train_seconds": train_seconds}
            state.metrics.append(row)
            if out is not None:
                save_epoch(out, model, state.optimizer, epoch=epoch, rng=state.rng, metrics=state.metrics,
                           run_config=record)
            if on_epoch is not None:
                on_epoch(row)
    return state.metrics


def _test_epoch(model: Model, data: RunData, epoch: int, state: RunState) -> tuple[Loss, dict[str, Any]]:
    """(the test loss, the latent diagnostics) after ``epoch``; :class:`TrainingDiverged` if the test loss
    is not finite or exploded (one step can make it explode)."""
    lr, first = state.optimizer.lr, state.first
    with np.errstate(over="ignore", invalid="ignore"):
        test = eval_loss(model, data.x_test, data.y_test, rng=np.random.default_rng(EVAL_SEED), batch_size=1000)
        code = latent_diagnostics(model, data.x_test, data.y_test)  # kl_per_dim, active_units
    if not math.isfinite(test.total):
        raise TrainingDiverged(epoch, "the test pass", "the test loss is not finite (NaN or inf)", lr)
    if first is not None and abs(test.total) > BLOWUP * max(abs(first), 1.0):  # one step can explode
        raise TrainingDiverged(epoch, "the test pass", f"the test loss exploded to {test.total:.3g} (more "
                               f"than {BLOWUP:,.0f} times the first training loss here, {first:.4g})", lr)
    return test, code


def train_epoch(model: Model | DataParallel, data: RunData, perm: np.ndarray, config: TrainConfig,
                state: RunState, *, epoch: int = 1, beta: float | None = None, show: bool = False) -> Loss:
    """One pass over ``data.x_train`` in the batches ``perm[start : start + config.batch_size]``: loss,
    gradients, Adam step (``state.optimizer``), the noise drawn from ``state.rng``.

    x_train: (N, D), already of the model's dtype and where its parameters live (``fit`` casts and moves
    it once); its values are checked here once (``model.check_x``), and each batch, a slice of it, goes to
    ``model._loss_and_grads``, which checks its shape but does not read its values again. ``beta``: the
    KL weight of every step (None: the model's β; warm-up passes β_e). ``show``: a progress bar.
    ``state.first`` is the yardstick for "the loss exploded" (None: this epoch's first loss, kept there).
    Returns the epoch's Loss(total, recon, kl), each the mean per image over the epoch.
    Raises :class:`TrainingDiverged` at the first non-finite or exploding loss or non-finite gradient,
    before the step that would use it.
    """
    x, y, rng, optimizer, batch_size = data.x_train, data.y_train, state.rng, state.optimizer, config.batch_size
    xp = backend.namespace(x)
    perm_dev = perm if xp is np else xp.asarray(perm, device=backend.device(x))
    total, recon, kl, n = 0.0, 0.0, 0.0, 0
    if x.shape[0]:
        model.check_x(x)  # the whole set, once: each batch is a slice of it (or a 0/1 draw from one)
    starts = _bar(range(0, x.shape[0], batch_size), show, f"epoch {epoch}/{config.epochs}")
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is caught below, by name
        for step, start in enumerate(starts, 1):
            idx = perm_dev[start : start + batch_size]
            xb = x[idx] if xp is np else xp.take(x, idx, axis=0)  # (B, D), the one copy
            if data.dynamic:  # x ~ Bernoulli(pixel), a fresh draw for every image in every epoch
                xb = bernoulli_draw(xb, rng)
            yb = None if y is None else y[perm[start : start + batch_size]]
            loss = model._loss_and_grads(xb, yb, rng=rng, beta=beta)  # xb's values: checked with x's above
            if not math.isfinite(loss.total):
                raise TrainingDiverged(epoch, step, "the loss is not finite (NaN or inf)", optimizer.lr)
            first = state.first = loss.total if state.first is None else state.first
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
    return Loss(total / max(n, 1), recon / max(n, 1), kl / max(n, 1))


def _grads_finite(model: Model | DataParallel) -> bool:
    """True unless some gradient holds NaN or inf."""
    xp = model.xp
    each = [xp.all(xp.isfinite(g)) for g in model.grads.values()]  # 0-d booleans, where the gradients are
    return bool(xp.all(xp.stack(each)))  # one answer brought to the host (one sync on a GPU)


def _bar(it: range, show: bool, desc: str) -> Any:
    if not show:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=desc, leave=False, unit="batch")
