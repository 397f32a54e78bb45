"""How :func:`~tinyvae.training.train.fit` trains: :class:`TrainConfig`, its options checked once, in its
constructor, against the ranges of ``run_values.py``; and what the checkpoint records of a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .run_values import check_run_values
from .schema import RUN_CONFIG


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How :func:`fit` trains: its options, checked once, here (a bad one is refused in one line naming it).

    epochs:     the total number of epochs (a resumed run counts the ones already done).
    batch_size: images per Adam step (an epoch's last batch may be smaller).
    lr:         Adam's learning rate; a resumed run may lower it (after a divergence, say).
    seed:       seeds ``default_rng(seed)``, which shuffles and draws eps (:func:`seed_streams`' training stream).
    workers:    split every batch between this many threads (``parallel.DataParallel``; ``threads.plan``
                says when it pays): the weights then differ from a one-worker run's by rounding.
    kl_warmup:  N: epoch e (1-based) trains with β·min(1, e/N) (``loop.warmup_beta``; 0: none); N <= epochs;
                resume keeps it.
    run_config: extra facts recorded in config.json and the checkpoint (data source, backend, ...).

    :meth:`record` is what the checkpoint keeps of the run; what its schema would refuse is refused here.
    """

    epochs: int
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    workers: int = 1
    kl_warmup: int = 0
    run_config: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        checked = check_run_values(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                                   workers=self.workers, kl_warmup=self.kl_warmup)._asdict()  # run_values.py's ranges
        if self.run_config is not None and not isinstance(self.run_config, Mapping):
            raise TypeError(f"run_config must be a dict of facts to record, got {type(self.run_config).__name__}")
        checked["run_config"] = MappingProxyType(dict(self.run_config or {}))  # read-only, like the rest
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # frozen: set once, here
        self.record(None)  # run_config, against the checkpoint's schema

    def record(self, data: str | None) -> dict[str, Any]:
        """What the checkpoint records of the run trained on the data set named ``data`` (None: the bundled
        digits): epochs, batch_size, lr, seed, data, run_config's facts and kl_warmup."""
        return _run_config(self.epochs, self.batch_size, self.lr, self.seed, data,
                           {**(self.run_config or {}), "kl_warmup": self.kl_warmup})


OPTIONS = tuple(f.name for f in dataclasses.fields(TrainConfig))  # fit's **options


def _run_config(epochs: int, batch_size: int, lr: float, seed: int, data: str | None,
                extra: dict[str, Any] | None) -> dict[str, Any]:
    """What the checkpoint records of the run: fit's arguments (checked by :class:`TrainConfig`) and
    ``run_config`` (``extra``), refused here unless the checkpoint's schema holds it (its reader would
    refuse the file otherwise)."""
    RUN_CONFIG(dict(extra or {}), "fit's run_config")
    return {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "data": data, **(extra or {})}
