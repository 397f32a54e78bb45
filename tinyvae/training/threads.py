"""How many cores a run uses when the user does not say (``auto_threads()``), and how (``plan()``).

The rule, in one place (``tinyvae train`` and ``tinyvae compare`` use it for ``--threads auto``)::

    threads = min(physical cores we may run on, CAP)         what the machine has
    idle    = cores that sat idle over the last 0.25 s        what other processes leave us
    if idle < threads:  threads = max(1, round(idle))        a busy machine: fewer threads

``idle`` is read from Linux's ``/proc/stat`` (idle time of each cpu we may run on, sampled while this
process sleeps, so it does not count itself); elsewhere it is the cores minus the 1-minute load
average. The load average alone lags: a minute after other jobs end it still reads ~0.7 on an idle
2-core machine, which would keep tinyvae on one thread (measured there: 0.237 s/epoch on one thread,
0.191 s on two).

Why the fallback: OpenBLAS's threads wait for each other at the end of every product. When another
process holds a core, the waiting thread spins until the operating system hands the core back
(measured for ``bench/bench_mlp.py``'s model on 2 busy cores: an epoch at 0.63 s on one thread, 2.7 s
on two). On an idle machine two threads make the
same epoch faster (0.191 s against 0.237 s). Why a cap: the products of these small models (a batch
of 128 against 784 × 400 weights) are short, and every thread costs a wake-up per product; 4 is a
guess, not a measurement (the machine these figures come from has 2 cores), so ``--threads N`` overrides it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..models.ranges import ParameterError, show
from .run_values import RUN

CAP = 4  # at most this many threads by default (a guess: see the module docstring)


def usable_cpus() -> list[int]:
    """The logical cpus this process may run on (its affinity mask, else all of them)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus: list[int]) -> int:
    """How many physical cores ``cpus`` span: hyper-threads of one core count once (Linux sysfs)."""
    cores = set()
    for c in cpus:
        f = Path(f"/sys/devices/system/cpu/cpu{c}/topology/core_cpus_list")
        try:
            cores.add(f.read_text().strip())
        except OSError:
            return len(cpus)  # no topology to read: count logical cpus
    return len(cores) or 1


def idle_cpus(cpus: list[int], sample: float = 0.25) -> float | None:
    """How many of ``cpus`` sat idle during ``sample`` seconds (Linux ``/proc/stat``); None where unreadable."""
    def ticks() -> dict[int, tuple[int, int]]:  # cpu -> (idle + iowait, all) clock ticks since boot
        out = {}
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("cpu") and line[3:4].isdigit():
                name, *fields = line.split()
                v = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
                out[int(name[3:])] = (v[3] + v[4], sum(v))
        return out

    try:
        before = ticks()
        time.sleep(sample)
        after = ticks()
    except (OSError, ValueError, IndexError):
        return None
    idle = 0.0
    for c in cpus:
        if c not in before or c not in after:
            return None
        spent = after[c][1] - before[c][1]
        idle += (after[c][0] - before[c][0]) / spent if spent > 0 else 1.0
    return idle


def auto_threads(cap: int = CAP, idle: float | None = None) -> int:
    """The BLAS thread count for this machine now: see the module docstring. Always at least 1.

    ``idle``: the idle cores to plan for (default: :func:`idle_cpus`, else cores - ``os.getloadavg()[0]``).
    """
    cpus = usable_cpus()
    threads = max(1, min(physical_cores(cpus), cap))
    if idle is None:
        idle = idle_cpus(cpus)
    if idle is None:
        try:
            idle = len(cpus) - os.getloadavg()[0]
        except (AttributeError, OSError):
            idle = float(len(cpus))
    if idle < threads:
        threads = max(1, round(idle))
    return threads


def resolve_threads(value: int | str) -> int:
    """``"auto"`` -> :func:`auto_threads`; else ``threads`` (an integer or its digits) in ``RUN["threads"]``'s
    range, or a :class:`ParameterError` naming ``threads``."""
    if value == "auto":
        return auto_threads()
    try:
        n = int(value) if isinstance(value, str) else value
    except ValueError:
        n = value
    if not RUN["threads"].holds(n):
        raise ParameterError("threads", f"threads must be {RUN['threads'].describe()} or 'auto', got {show(n)}")
    return int(n)


def plan(threads: int, convolutional: bool = False, backend: str = "numpy") -> tuple[int, int]:
    """How a run spends ``threads`` cores: (BLAS threads, batch workers), their product ``threads``.

    - The MLP models: all of them to the matrix products (BLAS threads), one batch at a time. Their
      steps are mostly products, and split over two workers an epoch of the bench model took longer
      (``bench/README.md``: 0.233 s against 0.207 s on two BLAS threads).
    - A model with convolutions (``convolutional``, as its layers say): one BLAS thread per worker and the
      batch split between
      ``threads`` workers (``training/parallel.py``), so that ``im2col``, ``col2im`` and the ReLUs, about a
      third of its step, which NumPy runs on one core, run on every core too (``bench/README.md``: an
      epoch in 1.84 s against 2.42 s on two BLAS threads with the batch whole).
    - Any backend but NumPy: the products on the device, one batch at a time; the count is for BLAS.
    """
    if convolutional and backend == "numpy" and threads > 1:
        return 1, threads
    return threads, 1
