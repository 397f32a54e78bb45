"""Training: ``fit`` checks its options once (:class:`TrainConfig`), puts the data on the model, opens the
run folder (or resumes the run in it) and runs the epochs (``loop.py``: shuffled mini-batches, Adam, a test
pass and a checkpoint after every epoch).

A single ``numpy.random.Generator``, ``default_rng(seed)``, draws both the shuffles and the noise
eps, so the seed fixes the run; its state is saved with every checkpoint, so a run resumed from
epoch k ends with exactly the weights of a run that was never interrupted. A whole run (``tinyvae
train``) draws from one seed three independent streams, :func:`seed_streams`: the initial weights,
this training stream, and the figures' noise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..engine import backend
from ..engine.optim import Adam
from ..models.base import Model
from .checkpoint import (
    Checkpoint,
    clean_stale_temporaries,
    lock_run_folder,
    read_checkpoint,
    restore_optimizer,
    restore_rng,
)
from .config import OPTIONS, TrainConfig  # noqa: F401  (train.TrainConfig, as callers import it)
from .data import BUNDLED, Dataset
from .loop import RunData, RunState, run_epochs
from .resume import check_resume
from .run_values import (  # noqa: F401  (train.check_kl_warmup)
    check_kl_warmup,
    check_warmup_has_kl,
    check_workers_split,
)
from .runs import CHECKPOINT

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


FIT_KEYWORDS = ("config", "out_dir", "resume", "progress", "on_epoch")
OTHER_NAMES = {"learning_rate": "lr", "threads": "workers", "warmup": "kl_warmup"}  # what other libraries call them


def fit(model: Model, data: Dataset, config: TrainConfig | None = None, *, out_dir: str | Path | None = None,
        resume: bool | Checkpoint = False, progress: bool | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None, **options: Any) -> list[dict[str, Any]]:
    """Train ``model`` on ``data`` with Adam until ``epochs`` epochs are done; returns the metrics.

    ``fit(model, data, epochs=5, lr=1e-3)``: the options are :class:`TrainConfig`'s fields, given as
    keywords (epochs, batch_size=128, lr=1e-3, seed=0, workers=1, kl_warmup=0, run_config=None; see
    TrainConfig for each) or as one ``config`` (keywords given beside it replace its fields).

    model:      any tinyvae model (``loss_and_grads``; conditional models get the labels too).
    data:       a :class:`~tinyvae.training.data.Dataset`; its images are cast to the model's dtype and moved
                to where its parameters live, once.
    out_dir:    where ``checkpoint.npz``, ``metrics.json`` and ``config.json`` are written after every
                epoch (nothing is written if None).
    resume:     continue from ``out_dir/checkpoint.npz``: its weights, Adam state, generator state and
                metrics; ``lr`` may differ from the first run's (lower it after a divergence). A
                ``Checkpoint`` already read (``read_checkpoint``) is used as it is, not read twice.
    progress:   a tqdm bar per epoch; None shows it only when stderr is a terminal.
    on_epoch:   called with each epoch's metrics dict as it completes.

    Returns one dict per epoch: ``epoch``, ``train_loss`` (mean per image, weights changing as it goes: the objective
    minimised, with warm-up's β, free bits' floor), ``train_recon``, ``train_kl``, ``test_loss`` (recon + β·KL),
    ``test_recon``, ``test_kl`` (per test image, one z each, noise fixed), ``kl_per_dim`` and ``active_units``
    (:func:`~tinyvae.training.diagnostics.latent_diagnostics`), ``seconds`` (training and test pass), ``train_seconds``.
    Raises :class:`~tinyvae.training.loop.TrainingDiverged` at the first step with a NaN/inf loss or gradient, or a
    loss (or test loss: one step can explode) above ``BLOWUP`` (10,000) times the first batch's loss of this call;
    nothing of it is saved.
    """
    config = _config(config, options)
    check_warmup_has_kl(config.kl_warmup, model.has_posterior)  # warm-up acts on a KL term the model must have
    check_workers_split(config.workers, model.free_bits, model.xp is np)  # before the run folder is made
    record = config.record(None if data.name == BUNDLED else data.name)
    arrays = _on_model(model, data)
    out = Path(out_dir) if out_dir is not None else None
    state = RunState(seed_streams(config.seed)[1], Adam(model, lr=config.lr))  # resumed: from its checkpoint
    if (resuming := isinstance(resume, Checkpoint) or bool(resume)) and out is None:
        raise ValueError("resume needs the out_dir of the run to continue")
    with contextlib.ExitStack() as held:
        if out is not None:  # one writer per run folder; what a killed writer left is swept away
            held.enter_context(lock_run_folder(out))
            clean_stale_temporaries(out)
        if resuming:
            saved = resume if isinstance(resume, Checkpoint) else _read_for_resume(out / CHECKPOINT)  # type: ignore[operator]
            state = RunState(*_resume(model, saved, out / CHECKPOINT, config.lr, record))  # type: ignore[operator]
        return run_epochs(model, arrays, config, state, out=out, record=record, progress=progress, on_epoch=on_epoch)


def _config(config: TrainConfig | None, options: dict[str, Any]) -> TrainConfig:
    """fit's options as one checked :class:`TrainConfig`: ``config``, its fields replaced by ``options``."""
    for name in options:
        if name not in OPTIONS:
            near = [OTHER_NAMES[name]] if name in OTHER_NAMES else difflib.get_close_matches(name, OPTIONS + FIT_KEYWORDS, n=1)
            raise TypeError(f"fit got an unknown option {name}{f'; did you mean {near[0]}?' if near else ''} "
                            f"(its options: {', '.join(OPTIONS)})")
    if config is None:
        if "epochs" not in options:
            raise TypeError("fit needs epochs=N, the number of epochs to train (or a TrainConfig as config)")
        return TrainConfig(**options)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"fit's config must be a TrainConfig, got {type(config).__name__}; or give its fields as "
                        f"keywords, e.g. fit(model, data, epochs=5, lr=1e-3)")
    return dataclasses.replace(config, **options)


def _on_model(model: Model, data: Dataset) -> RunData:
    """The data set as the model takes it: the images cast to the model's dtype and moved to where its
    parameters live, once (no copy if already right), and checked here, at the run's door: a bad image
    stops the run before anything else (``train_epoch`` reads x_train's values once more per epoch);
    the labels as the model wants them (None for an unconditional one)."""
    x_train = backend.asarray_like(data.x_train, model.ref)
    x_test = backend.asarray_like(data.x_test, model.ref)
    for x in (x_train, x_test):
        if x.shape[0]:
            model.check_x(x)
    y_train, y_test = model.labels_for(np.asarray(data.y_train)), model.labels_for(np.asarray(data.y_test))
    return RunData(x_train, y_train, x_test, y_test, dynamic=data.binarize == "dynamic")  # x ~ Bernoulli(pixel)


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
    check_resume(meta, model.config(), {**config, "dtype": np.dtype(model.dtype).name}, path)  # once per resume
    model.load_params(params)
    optimizer = restore_optimizer(model, meta["optimizer"], opt_state, path)
    optimizer.lr = lr
    metrics = list(meta.get("metrics", []))
    if len(metrics) != meta["epoch"]:
        raise ValueError(f"{path}: records {len(metrics)} epochs of metrics for epoch {meta['epoch']}")
    return restore_rng(meta["rng_state"], path), optimizer, metrics
