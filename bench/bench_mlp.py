"""tinyvae against PyTorch on PyTorch's own VAE example, in one run, epochs interleaved: the whole story.

The model is the one in pytorch/examples ``vae/main.py``: 784-400-20-400-784, ReLU, a sigmoid output,
binary cross-entropy summed over pixels plus the closed-form KL, Adam with lr 1e-3, batches of 128,
float32, on the same data (tinyvae's bundled 4,000/1,000 split), from the same initial weights
(tinyvae's, copied into torch), on the same shuffled batches.

One run reports, each as the median seconds of a training epoch over ``--epochs`` interleaved rounds
(``common.interleaved``) and as a ratio to torch and to tinyvae's defaults:

- tinyvae with its defaults (``--threads auto``: ``tinyvae.training.threads.auto_threads()`` at the start)
  and with fixed thread counts (1, 2), each epoch being ``tinyvae.training.loop.train_epoch``, the very
  loop ``tinyvae train`` runs (divergence checks included);
- tinyvae with its batch split between 2 workers of one BLAS thread each (``training/parallel.py``: what
  ``tinyvae train`` does for the convolutional model, measured here to show why the MLP does not);
- torch with its defaults (its own thread count; the example's train() loop);
- the matrix-product floor: the five large products of every step (784->400 forward, 400->784 forward,
  its two backward products, the first layer's weight gradient), alone, on the same thread counts;
- test loss after the last epoch (negative ELBO per image, one z per image, as the example computes it)
  and the IWAE bound with K samples for both trained models;
- peak memory (tracemalloc for tinyvae's arrays; the process's maximum resident size);
- the epoch time against the number of images (``--sizes``, the data tiled beyond 4,000): linear.

    python bench/bench_mlp.py                        # 12 rounds, seed 0, scaling 1k..60k
    python bench/bench_mlp.py --epochs 30 --seeds 3 --sizes   # quality: 30 epochs, seeds 0, 1, 2
    python bench/bench_mlp.py --json                 # one JSON object instead of the table

torch is used only here and in tests/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tinyvae  # noqa: E402
from common import (blas_threads, fit_line, interleaved, load_average, machine, median, round_by_round,  # noqa: E402
                    round_line, tile)
from tinyvae.training.evaluate import eval_loss, iwae_bound  # noqa: E402
from tinyvae.training.parallel import DataParallel  # noqa: E402
from tinyvae.training.threads import auto_threads  # noqa: E402
from tinyvae.training.loop import RunData, RunState, train_epoch  # noqa: E402
from tinyvae.training.train import TrainConfig  # noqa: E402

BATCH, LR, HIDDEN, LATENT, PIXELS = 128, 1e-3, 400, 20, 784


# ---- the torch side: a faithful copy of pytorch/examples vae/main.py (model and loss) -------------------
def torch_model() -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F

    class VAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    return VAE()


def torch_loss(recon_x: Any, x: Any, mu: Any, logvar: Any) -> Any:
    """Reconstruction + KL summed over all elements and the batch, as the example defines it."""
    import torch
    from torch.nn import functional as F

    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


# tinyvae's parameter names -> the example's
NAMES = {
    "encoder.0": "fc1", "mu": "fc21", "logvar": "fc22", "decoder.0": "fc3", "decoder.2": "fc4",
}


def copy_into_torch(model: tinyvae.VAE, net: Any) -> None:
    """Give the torch model tinyvae's weights (W is (out, in) in both)."""
    import torch

    state = {f"{NAMES[k.rsplit('.', 1)[0]]}.{'weight' if k.endswith('W') else 'bias'}": torch.from_numpy(v.copy())
             for k, v in model.params.items()}
    net.load_state_dict(state)


def copy_from_torch(net: Any, model: tinyvae.VAE) -> None:
    """Put the torch model's weights into a tinyvae model (to evaluate both with the same code)."""
    sd = net.state_dict()
    model.load_params({k: sd[f"{NAMES[k.rsplit('.', 1)[0]]}.{'weight' if k.endswith('W') else 'bias'}"].numpy()
                       for k in model.params})


# ---- one epoch of each ---------------------------------------------------------------------------------
def tinyvae_epoch(model: tinyvae.VAE | DataParallel, opt: tinyvae.Adam, x: np.ndarray, perm: np.ndarray,
                  rng: np.random.Generator, threads: int) -> float:
    """Seconds of ``train_epoch`` (what ``tinyvae train`` runs) on ``threads`` BLAS threads (``model``: the
    model, or the model with its batch split between workers)."""
    with blas_threads(threads):
        t0 = time.perf_counter()
        train_epoch(model, RunData(x), perm, TrainConfig(epochs=1, batch_size=BATCH), RunState(rng, opt))
        return time.perf_counter() - t0


def torch_epoch(net: Any, opt: Any, x: Any, perm: Any) -> float:
    """The example's train() loop over the same batches (without its logging)."""
    t0 = time.perf_counter()
    net.train()
    train_loss = 0.0
    for start in range(0, len(perm), BATCH):
        data = x[perm[start : start + BATCH]]
        opt.zero_grad()
        recon_batch, mu, logvar = net(data)
        loss = torch_loss(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        opt.step()
    return time.perf_counter() - t0


def floor_epoch(x: np.ndarray, perm: np.ndarray, W1: np.ndarray, W4: np.ndarray, threads: int) -> float:
    """Seconds of the five large matrix products of every step of an epoch, alone (the floor)."""
    with blas_threads(threads):
        t0 = time.perf_counter()
        for start in range(0, len(perm), BATCH):
            xb = x[perm[start : start + BATCH]]
            h = xb @ W1.T  # (B, 400) encoder forward
            logits = h @ W4.T  # (B, 784) decoder forward
            dh = logits @ W4  # (B, 400) its input gradient
            logits.T @ h  # (784, 400) its weight gradient
            dh.T @ xb  # (400, 784) the encoder's weight gradient
        return time.perf_counter() - t0


def torch_test_loss(net: Any, x: Any) -> float:
    """The example's test(): summed loss over the test set / its size (one z per image)."""
    import torch

    net.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], BATCH):
            data = x[start : start + BATCH]
            recon, mu, logvar = net(data)
            total += torch_loss(recon, data, mu, logvar).item()
    return total / x.shape[0]


# ---- the run -------------------------------------------------------------------------------------------
def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    from tinyvae.training.data import load

    d = load(dtype=np.float32)
    return d.x_train, d.x_test, f"{d.name}: {len(d.x_train):,} train / {len(d.x_test):,} test"


def thread_counts(auto: int) -> list[int]:
    """The fixed counts measured beside the defaults: 1 and 2 (those the machine has), the auto one once."""
    return [n for n in (1, 2) if n <= (os.cpu_count() or 1) and n != auto]


def run_seed(seed: int, epochs: int, x_train: np.ndarray, x_test: np.ndarray, iwae_k: int, auto: int,
             torch_threads: int, log: Callable[[str], None]) -> dict[str, Any]:
    import torch

    def fresh() -> tuple[tinyvae.VAE, tinyvae.Adam]:
        m = tinyvae.VAE(PIXELS, [HIDDEN], LATENT, dtype=np.float32, rng=seed)
        return m, tinyvae.Adam(m, lr=LR)

    model, opt = fresh()
    net = torch_model()
    copy_into_torch(model, net)
    torch_opt = torch.optim.Adam(net.parameters(), lr=LR)
    torch.manual_seed(seed)  # the example's randn_like draws from torch's global generator
    W1, W4 = model.params["encoder.0.W"].copy(), model.params["decoder.2.W"].copy()

    shuffle = np.random.default_rng(seed + 1000)  # the batches, shared by all
    perms = [shuffle.permutation(len(x_train)) for _ in range(epochs)]
    noise = np.random.default_rng(seed + 2000)  # tinyvae's eps (defaults model)
    xt_train, xt_test = torch.from_numpy(x_train), torch.from_numpy(x_test)
    runs: dict[str, Callable[[int], float]] = {
        f"tinyvae defaults ({auto} thr)": lambda r: tinyvae_epoch(model, opt, x_train, perms[r], noise, auto)}
    for n in thread_counts(auto):
        m, o, g = (*fresh(), np.random.default_rng(seed + 2000))
        runs[f"tinyvae {n} thr"] = lambda r, m=m, o=o, g=g, n=n: tinyvae_epoch(m, o, x_train, perms[r], g, n)
    if (os.cpu_count() or 1) >= 2:  # what the convolutional model's default does with 2 cores (threads.plan)
        m, o, g = (*fresh(), np.random.default_rng(seed + 2000))
        split = DataParallel(m, 2)
        runs["tinyvae 2 workers × 1 thr"] = lambda r: tinyvae_epoch(split, o, x_train, perms[r], g, 1)
    runs[f"torch defaults ({torch_threads} thr)"] = lambda r: torch_epoch(net, torch_opt, xt_train, torch.from_numpy(perms[r]))
    for n in [auto, *thread_counts(auto)]:
        runs[f"products alone ({n} thr)"] = lambda r, n=n: floor_epoch(x_train, perms[r], W1, W4, n)
    times = interleaved(runs, epochs, log)

    tv_test = eval_loss(model, x_test, rng=np.random.default_rng(seed + 3000), batch_size=BATCH)
    th_test = torch_test_loss(net, xt_test)
    row: dict[str, Any] = {
        "seed": seed, "epoch_s": times, "median_s": {k: median(v) for k, v in times.items()},
        "tinyvae_test_loss": tv_test.total, "torch_test_loss": th_test,
        "tinyvae_test_recon": tv_test.recon, "tinyvae_test_kl": tv_test.kl,
    }
    if iwae_k:
        as_tinyvae = tinyvae.VAE(PIXELS, [HIDDEN], LATENT, dtype=np.float32, rng=0)
        copy_from_torch(net, as_tinyvae)
        row["tinyvae_iwae"] = iwae_bound(model, x_test, k=iwae_k, rng=np.random.default_rng(seed + 4000))
        row["torch_iwae"] = iwae_bound(as_tinyvae, x_test, k=iwae_k, rng=np.random.default_rng(seed + 4000))

    # memory: what tinyvae's arrays take at their peak in one more epoch (tracemalloc sees NumPy's
    # allocations, not torch's); untimed, tracing slows allocation down
    tracemalloc.start()
    tinyvae_epoch(model, opt, x_train, perms[-1], noise, auto)
    row["tinyvae_epoch_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return row


def scaling(x_train: np.ndarray, sizes: list[int], epochs: int, auto: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Median epoch seconds of tinyvae (defaults) and torch (defaults) on the data tiled to each size."""
    import torch

    out: dict[str, Any] = {"sizes": sizes, "tinyvae_s": [], "torch_s": []}
    for n in sizes:
        x = tile(x_train, n)
        model = tinyvae.VAE(PIXELS, [HIDDEN], LATENT, dtype=np.float32, rng=0)
        opt = tinyvae.Adam(model, lr=LR)
        net = torch_model()
        copy_into_torch(model, net)
        topt = torch.optim.Adam(net.parameters(), lr=LR)
        rng, noise = np.random.default_rng(n), np.random.default_rng(n + 1)
        perms = [rng.permutation(n) for _ in range(epochs)]
        xt = torch.from_numpy(x)
        t = interleaved({"tinyvae": lambda r: tinyvae_epoch(model, opt, x, perms[r], noise, auto),
                         "torch": lambda r: torch_epoch(net, topt, xt, torch.from_numpy(perms[r]))}, epochs, log)
        out["tinyvae_s"].append(median(t["tinyvae"]))
        out["torch_s"].append(median(t["torch"]))
        log(f"  {n:,} images: tinyvae {out['tinyvae_s'][-1]:.3f} s, torch {out['torch_s'][-1]:.3f} s")
    out["tinyvae_fit"], out["torch_fit"] = fit_line(sizes, out["tinyvae_s"]), fit_line(sizes, out["torch_s"])
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    names = list(rows[0]["epoch_s"])
    med = {k: statistics.median(t for r in rows for t in r["epoch_s"][k]) for k in names}
    out = {
        "median_s": med, "tinyvae": names[0], "torch": next(k for k in names if k.startswith("torch")),
        "tinyvae_test_loss_mean": statistics.fmean(r["tinyvae_test_loss"] for r in rows),
        "torch_test_loss_mean": statistics.fmean(r["torch_test_loss"] for r in rows),
        "tinyvae_epoch_peak_mib": max(r["tinyvae_epoch_peak_mib"] for r in rows),
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    out["ratio"] = med[out["tinyvae"]] / med[out["torch"]]
    out["round_by_round"] = round_by_round([t for r in rows for t in r["epoch_s"][out["tinyvae"]]],
                                           [t for r in rows for t in r["epoch_s"][out["torch"]]])
    out["test_loss_gap"] = out["tinyvae_test_loss_mean"] - out["torch_test_loss_mean"]
    if "tinyvae_iwae" in rows[0]:
        out["tinyvae_iwae_mean"] = statistics.fmean(r["tinyvae_iwae"] for r in rows)
        out["torch_iwae_mean"] = statistics.fmean(r["torch_iwae"] for r in rows)
    return out


def table(result: dict[str, Any]) -> str:
    m, s, rows = result["machine"], result["summary"], result["seeds"]
    tv, th = s["median_s"][s["tinyvae"]], s["median_s"][s["torch"]]
    lines = [
        "PyTorch's VAE example (784-400-20-400-784, BCE + KL, Adam 1e-3, batch 128), float32",
        f"data: {result['data']}; {result['epochs']} interleaved rounds; seeds {[r['seed'] for r in rows]}",
        f"machine: {m['cpu']}, {m['cpus']} cpus; {m['date']}; load average {m['load_average'][0]} before, "
        f"{m['load_average'][1]} after (other processes share these cpus when it is above ~0.5)",
        f"numpy {m['numpy']}, BLAS: {m.get('numpy_blas', '?')}; OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}; "
        f"torch {m.get('torch', '?')}",
        "",
        f"{'training epoch':32s} {'s (median)':>10s} {'÷ torch':>8s} {'÷ tinyvae':>9s}",
    ]
    for k, v in s["median_s"].items():
        lines.append(f"{k:32s} {v:10.4f} {v / th:8.2f} {v / tv:9.2f}")
    iw = (f"; IWAE-{result['iwae_k']} {s['tinyvae_iwae_mean']:.2f} vs {s['torch_iwae_mean']:.2f}"
          if "tinyvae_iwae_mean" in s else "")
    lines += [
        "",
        f"tinyvae defaults / torch defaults: {s['ratio']:.3f}  (goal: at most 0.8, aim 0.7)",
        round_line(s["round_by_round"]),
        f"test loss: tinyvae {s['tinyvae_test_loss_mean']:.2f}, torch {s['torch_test_loss_mean']:.2f} "
        f"(gap {s['test_loss_gap']:+.2f} nats/image, mean over seeds){iw}",
        f"memory: tinyvae's arrays peak at {s['tinyvae_epoch_peak_mib']:.1f} MiB during an epoch (tracemalloc); "
        f"process max RSS {s['process_max_rss_mib']:.0f} MiB (both libraries)",
    ]
    if len(rows) > 1:
        lines.append("per seed: " + "; ".join(
            f"{r['seed']}: {r['tinyvae_test_loss']:.2f} vs {r['torch_test_loss']:.2f}" for r in rows))
    if "scaling" in result:
        sc = result["scaling"]
        lines += ["", f"{'images':>8s} {'tinyvae s':>10s} {'torch s':>8s} {'ratio':>6s}"]
        for n, a, b in zip(sc["sizes"], sc["tinyvae_s"], sc["torch_s"]):
            lines.append(f"{n:8,d} {a:10.3f} {b:8.3f} {a / b:6.2f}")
        for lib in ("tinyvae", "torch"):
            f = sc[f"{lib}_fit"]
            lines.append(f"{lib}: {f['us_per_image']:.1f} µs per image + {f['intercept_s']:.3f} s; "
                         f"largest deviation from that line {100 * f['max_rel_deviation']:.0f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=12, help="interleaved rounds (epochs) per seed (default 12)")
    p.add_argument("--seeds", type=int, default=1, help="run seeds 0..N-1 (default 1)")
    p.add_argument("--iwae", type=int, default=100, metavar="K", help="IWAE samples (0: skip; default 100)")
    p.add_argument("--sizes", type=int, nargs="*", default=[1000, 4000, 10000, 60000],
                   help="numbers of images for the scaling table (data tiled; none: skip)")
    p.add_argument("--scaling-epochs", type=int, default=3, help="epochs per size (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.seeds < 1:
        p.error("--epochs and --seeds must be at least 1")

    import torch

    torch_threads = torch.get_num_threads()  # torch's own default, left as it is
    load_before = load_average()
    auto = auto_threads()  # what tinyvae train would choose now
    x_train, x_test, data = load_data()
    log = (lambda s: print(s, file=sys.stderr)) if args.json else print
    rows = [run_seed(seed, args.epochs, x_train, x_test, args.iwae, auto, torch_threads, log)
            for seed in range(args.seeds)]
    result: dict[str, Any] = {"data": data, "epochs": args.epochs, "iwae_k": args.iwae, "auto_threads": auto}
    if args.sizes:
        result["scaling"] = scaling(x_train, args.sizes, args.scaling_epochs, auto, log)
    info = machine()
    info["load_average"] = [load_before, load_average()]  # 1-minute, before and after
    result.update({"machine": info, "summary": summarize(rows), "seeds": rows})
    print(json.dumps(result, indent=1) if args.json else "\n" + table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
