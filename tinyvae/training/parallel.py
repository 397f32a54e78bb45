"""Data parallelism over cores: one batch split between threads, each running the whole model on its share.

Why: a BLAS library spreads the matrix products over the cores, but NumPy runs everything else
(``im2col``'s copies, ``col2im``'s adds, the ReLUs) on one core. In the convolutional VAE that is
about a third of a step; split the *batch* instead and every piece of work runs on every core.
NumPy releases the GIL inside its loops and products, so Python threads are enough.

Every loss is a batch mean, so the batch's loss and gradients are the share-weighted means of the
shares' (B = B_1 + ... + B_k rows, worker i gets B_i of them)::

    L       = Σ_i (B_i / B) · L_i
    ∂L/∂θ   = Σ_i (B_i / B) · ∂L_i/∂θ

Each worker holds a replica of the model: its own layer objects (their caches and gradients) around
the *same* parameter arrays, so an optimizer step on the model is seen by every replica. The noise
eps is drawn once for the whole batch, from the caller's generator, exactly as the model would draw
it, and each worker gets its rows: the run draws the same random numbers with any number of workers,
and differs from a one-worker run by the rounding of the sums only (``tests/test_parallel.py``).
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import numpy as np

from ..engine.backend import Array
from ..engine.layers import Layer, Sequential
from ..engine.reparam import draw_eps
from ..models.base import Loss, Model
from .run_values import check_workers_split


def _leaves(layer: Layer) -> list[Layer]:
    """The layers that hold parameters dicts of their own (a Sequential's are views of its layers')."""
    return [leaf for inner in layer.layers for leaf in _leaves(inner)] if isinstance(layer, Sequential) else [layer]


def replica(model: Model) -> Model:
    """A copy of ``model`` with its own layers (caches, gradients) sharing the model's parameter dicts."""
    shared = {id(leaf.params): leaf.params for part in model.parts().values() for leaf in _leaves(part)}
    return copy.deepcopy(model, memo=shared)  # deepcopy keeps what its memo already holds


class DataParallel:
    """``model`` on ``workers`` threads: ``loss_and_grads`` splits the batch, the model gets the mean gradients.

    Use it where the model's ``loss_and_grads`` (or ``_loss_and_grads``, for an x whose values were
    checked) would be called (``train_epoch`` does), and step the optimizer on the model itself. NumPy
    only (a GPU runs one batch at a time); close it (or use ``with``) to stop its threads.
    """

    def __init__(self, model: Model, workers: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 2:
            raise ValueError(f"workers must be an integer >= 2 (one worker is the model itself), got {workers!r}")
        check_workers_split(workers, model.free_bits, model.xp is np)  # fit's rule, for a DataParallel made directly
        self.model, self.workers = model, workers
        self.replicas = [model] + [replica(model) for _ in range(workers - 1)]
        self.pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="tinyvae-batch")

    @property
    def grads(self) -> dict[str, Array]:
        return self.model.grads

    @property
    def xp(self) -> Any:
        return self.model.xp

    def check_x(self, x: Array) -> None:
        self.model.check_x(x)

    def loss_and_grads(self, x: Array, y: Any = None, *, eps: Array | None = None,
                       rng: np.random.Generator | None = None, beta: float | None = None) -> Loss:
        """The model's ``loss_and_grads`` on x (B, x_dim), computed in shares; fills the model's grads.
        x is checked whole (its values read once), then split: :meth:`_loss_and_grads`."""
        self.model.check_x(x)
        return self._loss_and_grads(x, y, eps=eps, rng=rng, beta=beta)

    def _loss_and_grads(self, x: Array, y: Any = None, *, eps: Array | None = None,
                        rng: np.random.Generator | None = None, beta: float | None = None) -> Loss:
        """:meth:`loss_and_grads` for an x whose values were checked: each share goes to a replica's
        ``_loss_and_grads`` (each checks its share's shape, not its values)."""
        B = x.shape[0]
        if eps is None and self.model.has_posterior:  # the draw the model would make: same numbers, any workers
            eps = draw_eps(self.model._noise_rng(rng), (B, self.model.z_dim), self.model.ref)
        bounds = [B * i // self.workers for i in range(self.workers + 1)]
        shares = [slice(lo, hi) for lo, hi in pairwise(bounds) if hi > lo]
        if len(shares) < 2:  # a batch of one row (or none: the model says what is wrong with it)
            return self.model._loss_and_grads(x, y, eps=eps, rng=rng, beta=beta)

        def run(i: int) -> Loss:
            s = shares[i]
            return self.replicas[i]._loss_and_grads(x[s], None if y is None else y[s],
                                                   eps=None if eps is None else eps[s], rng=rng, beta=beta)

        later = [self.pool.submit(run, i) for i in range(1, len(shares))]
        losses = [run(0)] + [f.result() for f in later]  # a worker's exception is raised here
        w = [(s.stop - s.start) / B for s in shares]
        grads = self.model.grads  # the first share's: fresh arrays, summed into in place
        for k, g in grads.items():
            g *= w[0]
            for wi, rep in zip(w[1:], self.replicas[1:]):
                g += wi * rep.grads[k]
        return Loss(*(sum(wi * getattr(loss, f) for wi, loss in zip(w, losses)) for f in Loss._fields))

    def close(self) -> None:
        self.pool.shutdown()

    def __enter__(self) -> "DataParallel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
