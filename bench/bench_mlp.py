"""tinyvae against PyTorch on PyTorch's own VAE example, in one run, epochs interleaved.

The model is the one in pytorch/examples ``vae/main.py``: 784-400-20-400-784, ReLU, a sigmoid output,
binary cross-entropy summed over pixels plus the closed-form KL, Adam with lr 1e-3, batches of 128.
Both libraries train it in float32 on the same data (tinyvae's bundled 4,000/1,000 split), from the same
initial weights (tinyvae's, copied into torch), on the same shuffled batches; torch runs on 2 threads.
Epochs alternate between the two (tinyvae first on even epochs, torch first on odd ones), each after
a short rest (``PAUSE``), so a busy machine slows both alike and neither runs while the other's
threads are still spinning.

Reported per library: the median seconds per training epoch (the loop over batches: forward, backward,
optimizer step), the test loss after the last epoch (negative ELBO per image with one z per image, as the
example computes it), and, for both trained models, the IWAE bound with K samples computed by tinyvae's
``evaluate.iwae_bound`` (torch's weights are copied into a tinyvae model for it).

    python bench/bench_mlp.py                      # 10 epochs, seed 0: the speed figures
    python bench/bench_mlp.py --epochs 30 --seeds 3  # the quality figures, averaged over seeds 0, 1, 2
    python bench/bench_mlp.py --json               # one JSON object instead of the table

torch is used only here and in tests/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import tinyvae  # noqa: E402
from tinyvae.training.evaluate import eval_loss, iwae_bound  # noqa: E402

BATCH, LR, HIDDEN, LATENT, PIXELS = 128, 1e-3, 400, 20, 784
TORCH_THREADS = 2
# Seconds of rest before each timed epoch. OpenBLAS's worker threads keep spinning for about 2^28
# cycles (~0.1 s) after their last matrix product before they sleep; on 2 cores they would take one
# away from whichever library runs next (measured: torch's epoch 0.24 s alone, 0.33 s right after
# tinyvae's). Resting first lets each library start on an idle machine.
PAUSE = 0.3


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
def tinyvae_epoch(model: tinyvae.VAE, opt: tinyvae.Adam, x: np.ndarray, perm: np.ndarray,
                  rng: np.random.Generator) -> float:
    """Seconds for one pass over x in batches perm[i:i+BATCH]: loss, gradients, Adam step."""
    t0 = time.perf_counter()
    for start in range(0, len(perm), BATCH):
        xb = x[perm[start : start + BATCH]]
        model.loss_and_grads(xb, rng=rng)
        opt.step()
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


def run_seed(seed: int, epochs: int, x_train: np.ndarray, x_test: np.ndarray, iwae_k: int,
             log: Any) -> dict[str, Any]:
    import torch

    model = tinyvae.VAE(PIXELS, [HIDDEN], LATENT, dtype=np.float32, rng=seed)
    opt = tinyvae.Adam(model, lr=LR)
    net = torch_model()
    copy_into_torch(model, net)
    torch_opt = torch.optim.Adam(net.parameters(), lr=LR)
    torch.manual_seed(seed)  # the example's randn_like draws from torch's global generator

    shuffle = np.random.default_rng(seed + 1000)  # the batches, shared by both
    noise = np.random.default_rng(seed + 2000)  # tinyvae's eps
    xt_train, xt_test = torch.from_numpy(x_train), torch.from_numpy(x_test)
    tv_times, th_times = [], []
    for epoch in range(epochs):
        perm = shuffle.permutation(len(x_train))
        perm_t = torch.from_numpy(perm)
        runs = [("tinyvae", lambda: tinyvae_epoch(model, opt, x_train, perm, noise)),
                ("torch", lambda: torch_epoch(net, torch_opt, xt_train, perm_t))]
        for name, fn in runs if epoch % 2 == 0 else runs[::-1]:
            time.sleep(PAUSE)  # let the other library's idle threads stop spinning (see PAUSE)
            (tv_times if name == "tinyvae" else th_times).append(fn())
        log(f"  seed {seed} epoch {epoch + 1:2d}: tinyvae {tv_times[-1]:.3f} s, torch {th_times[-1]:.3f} s")

    tv_test = eval_loss(model, x_test, rng=np.random.default_rng(seed + 3000), batch_size=BATCH)
    th_test = torch_test_loss(net, xt_test)
    row: dict[str, Any] = {
        "seed": seed,
        "tinyvae_epoch_s": tv_times, "torch_epoch_s": th_times,
        "tinyvae_median_s": statistics.median(tv_times), "torch_median_s": statistics.median(th_times),
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
    tinyvae_epoch(model, opt, x_train, perm, noise)
    row["tinyvae_epoch_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return row


def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": _cpu_name(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
    }
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas" and "numpy" in p.get("filepath", "")]
        if blas:
            info["numpy_blas"] = (f"{blas[0].get('internal_api')} {blas[0].get('version')} "
                                  f"({blas[0].get('architecture')} kernels, {blas[0].get('num_threads')} threads)")
    except ImportError:
        pass
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tv = statistics.median(t for r in rows for t in r["tinyvae_epoch_s"])
    th = statistics.median(t for r in rows for t in r["torch_epoch_s"])
    out = {
        "tinyvae_median_s": tv, "torch_median_s": th, "ratio": tv / th,
        "tinyvae_test_loss_mean": statistics.fmean(r["tinyvae_test_loss"] for r in rows),
        "torch_test_loss_mean": statistics.fmean(r["torch_test_loss"] for r in rows),
        "tinyvae_epoch_peak_mib": max(r["tinyvae_epoch_peak_mib"] for r in rows),
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    out["test_loss_gap"] = out["tinyvae_test_loss_mean"] - out["torch_test_loss_mean"]
    if "tinyvae_iwae" in rows[0]:
        out["tinyvae_iwae_mean"] = statistics.fmean(r["tinyvae_iwae"] for r in rows)
        out["torch_iwae_mean"] = statistics.fmean(r["torch_iwae"] for r in rows)
    return out


def table(result: dict[str, Any]) -> str:
    m, s, rows = result["machine"], result["summary"], result["seeds"]
    lines = [
        "PyTorch's VAE example (784-400-20-400-784, BCE + KL, Adam 1e-3, batch 128), float32",
        f"data: {result['data']}; {result['epochs']} epochs; seeds {[r['seed'] for r in rows]}",
        f"machine: {m['cpu']}, {m['cpus']} cpus; {m['date']}; load average {m['load_average'][0]} before, "
        f"{m['load_average'][1]} after (other processes share these cpus when it is above ~0.5)",
        f"numpy {m['numpy']}, BLAS: {m.get('numpy_blas', '?')}; OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}",
        f"torch {m['torch']}, {m['torch_threads']} threads",
        "",
        f"{'':10s} {'s/epoch (median)':>17s} {'test loss':>10s}" + (f" {'IWAE-' + str(result['iwae_k']):>10s}"
                                                                  if "tinyvae_iwae_mean" in s else ""),
    ]
    for lib in ("tinyvae", "torch"):
        iw = f" {s[lib + '_iwae_mean']:10.2f}" if lib + "_iwae_mean" in s else ""
        lines.append(f"{lib:10s} {s[lib + '_median_s']:17.4f} {s[lib + '_test_loss_mean']:10.2f}{iw}")
    lines += [
        "",
        f"ratio tinyvae / torch: {s['ratio']:.3f}  (at most 1.0 is the goal)",
        f"test loss gap tinyvae - torch: {s['test_loss_gap']:+.2f} nats/image (mean over seeds)",
        f"memory: tinyvae's arrays peak at {s['tinyvae_epoch_peak_mib']:.1f} MiB during an epoch (tracemalloc); "
        f"process max RSS {s['process_max_rss_mib']:.0f} MiB (both libraries)",
    ]
    if len(rows) > 1:
        lines.append("per seed: " + "; ".join(
            f"{r['seed']}: {r['tinyvae_test_loss']:.2f} vs {r['torch_test_loss']:.2f}" for r in rows))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="epochs per seed (default 10)")
    p.add_argument("--seeds", type=int, default=1, help="run seeds 0..N-1 (default 1)")
    p.add_argument("--iwae", type=int, default=100, metavar="K", help="IWAE samples (0: skip; default 100)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.seeds < 1:
        p.error("--epochs and --seeds must be at least 1")

    import torch

    torch.set_num_threads(TORCH_THREADS)
    x_train, x_test, data = load_data()
    log = (lambda s: print(s, file=sys.stderr)) if args.json else print
    load_before = os.getloadavg()[0]
    rows = [run_seed(seed, args.epochs, x_train, x_test, args.iwae, log) for seed in range(args.seeds)]
    info = machine()
    info["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # 1-minute, before and after
    result = {"data": data, "epochs": args.epochs, "iwae_k": args.iwae, "machine": info,
              "summary": summarize(rows), "seeds": rows}
    print(json.dumps(result, indent=1) if args.json else "\n" + table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
