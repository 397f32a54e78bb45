"""The legal range of every value a run records (its ``run_config``), written once, beside ``fit``'s door.

``fit`` checks its arguments here (:func:`check_run_values`), the checkpoint's schema builds its checks
of ``meta.run_config`` from the same :data:`RUN` table, and the command line asks the same function
before it reads the data: a run ``fit`` starts, ``tinyvae.load`` reads back. The architecture's values
have their table in ``models/ranges.py``; a refusal is the same :class:`ParameterError`, one line that
starts with the parameter's name (``lr must be a positive number, at most 1e6, got 0``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..models.ranges import ParameterError, Range

MAX_THREADS = 1024  # the threads (and so batch workers) a run may use and record
RUN: dict[str, Range] = {
    "epochs": Range(int, 1, 10**6),
    "batch_size": Range(int, 1, 10**9),
    "lr": Range(float, 0, 1e6, open_lo=True),
    "seed": Range(int, 0, 2**63 - 1, hi_text="2**63 - 1"),  # what default_rng takes and JSON holds exactly
    "kl_warmup": Range(int, 0, 10**6),  # and at most epochs (check_kl_warmup)
    "limit": Range(int, 1, 10**9),
    "threads": Range(int, 1, MAX_THREADS),
    "workers": Range(int, 1, MAX_THREADS),  # each worker is a thread and a model replica
}


class RunValues(NamedTuple):
    """fit's run values, checked (:func:`check_run_values`)."""

    epochs: int
    batch_size: int
    lr: float
    seed: int
    workers: int
    kl_warmup: int


def check_run_values(*, epochs: Any, batch_size: Any, lr: Any, seed: Any, workers: Any = 1,
                     kl_warmup: Any = 0) -> RunValues:
    """fit's options (``TrainConfig``'s fields) checked against :data:`RUN`, and kl_warmup against the
    run's length; returns them as ints and floats."""
    e = RUN["epochs"].check("epochs", epochs)
    return RunValues(e, RUN["batch_size"].check("batch_size", batch_size), RUN["lr"].check("lr", lr),
                     RUN["seed"].check("seed", seed), RUN["workers"].check("workers", workers),
                     check_kl_warmup(kl_warmup, e))


def check_kl_warmup(kl_warmup: Any, epochs: int) -> int:
    """N as an int if it is an integer from 0 to ``epochs`` (longer, β would never reach its value)."""
    n = RUN["kl_warmup"].check("kl_warmup", kl_warmup)
    if n > epochs:
        raise ParameterError("kl_warmup", f"kl_warmup must be from 0 to epochs={epochs}, the run's length, got {n} "
                                          f"(longer, β would never reach its value)")
    return n


def check_warmup_has_kl(kl_warmup: int, has_kl: bool) -> None:
    """Refuse a KL warm-up for a model without a KL term (``has_posterior`` False: a plain autoencoder)."""
    if kl_warmup and not has_kl:
        raise ParameterError("kl_warmup", "kl_warmup acts on the KL term, which a plain autoencoder (model='ae') "
                                          "does not have")


def check_workers_split(workers: int, free_bits: float, on_numpy: bool) -> None:
    """Refuse ``workers`` > 1 where a batch cannot be split between threads (``parallel.DataParallel``): a
    model off NumPy (a device runs one batch at a time), or free bits (Σ_j max(λ, kl_j) is not a mean over
    the rows: a share's floor is not the batch's)."""
    if workers > 1 and not on_numpy:
        raise ParameterError("workers", f"workers must be 1 for a model that does not live on NumPy, got {workers}: "
                                        f"workers split batches over CPU threads, and a device runs one batch at a "
                                        f"time")
    if workers > 1 and free_bits:
        raise ParameterError("workers", f"workers must be 1 with free_bits={free_bits:g}, got {workers}: free bits "
                                        f"floor each dimension's KL averaged over the whole batch, which a batch split "
                                        f"between threads does not see")
