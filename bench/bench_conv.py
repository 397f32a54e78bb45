"""The convolutional VAE: tinyvae's hand-written convolutions against the same model in torch (CPU).

    .venv/bin/python bench/bench_conv.py                 # timing (interleaved epochs) + training run
    .venv/bin/python bench/bench_conv.py --train-epochs 0 --timing-epochs 5   # timing only

Timing: both models start from the same weights and see the same batches (the bundled 4,000
training digits, batch 128, Adam 1e-3, float32); their epochs alternate, tinyvae first on even
epochs and torch first on odd ones, so that a machine that slows down (other jobs, heat) slows
both alike. Reported: the median seconds per epoch of each and their ratio.

Training: the conv VAE and the MLP VAE (784-400-2, the CLI's default) with the same loss, trained
for the same number of epochs by ``tinyvae.training.train.fit``; their test losses (recon + β·KL, one z per
image, fixed noise) side by side, and the conv VAE's figures if ``tinyvae.figures.plots`` exists.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinyvae.models.conv_vae import ConvVAE  # noqa: E402
from tinyvae.training.data import load  # noqa: E402
from tinyvae.engine.optim import Adam  # noqa: E402


class TorchConvVAE(nn.Module):
    """The same model written with torch's modules (what a torch user would write)."""

    def __init__(self, z_dim: int = 2, hidden: int = 16, c1: int = 32, c2: int = 64) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(1, c1, 3, 2, 1), nn.ReLU(), nn.Conv2d(c1, c2, 3, 2, 1), nn.ReLU(), nn.Flatten(),
            nn.Linear(c2 * 49, hidden), nn.ReLU(),
        )
        self.mu, self.logvar = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)
        self.dec = nn.Sequential(
            nn.Linear(z_dim, c2 * 49), nn.ReLU(), nn.Unflatten(1, (c2, 7, 7)),
            nn.ConvTranspose2d(c2, c2, 3, 2, 1, 1), nn.ReLU(), nn.ConvTranspose2d(c2, c1, 3, 2, 1, 1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 3, 1, 1), nn.Flatten(),
        )

    def load_from(self, model: ConvVAE) -> None:
        """Copy tinyvae's weights (same layout: Conv2d (out, in, kh, kw), ConvTranspose2d (in, out, kh, kw))."""
        mods = {"encoder": self.enc, "mu": self.mu, "logvar": self.logvar, "decoder": self.dec}
        with torch.no_grad():
            for name, v in model.params.items():
                part, *idx, p = name.split(".")
                shift = 1 if part == "encoder" else 0  # tinyvae's encoder starts with its Reshape; here loss() does it
                mod = mods[part][int(idx[0]) - shift] if idx else mods[part]
                getattr(mod, {"W": "weight", "b": "bias"}[p]).copy_(torch.from_numpy(np.asarray(v)))

    def loss(self, x: torch.Tensor, eps: torch.Tensor, beta: float, kind: str) -> torch.Tensor:
        h = self.enc(x.view(-1, 1, 28, 28))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.dec(z)
        B = x.shape[0]
        if kind == "mse":
            recon = ((torch.sigmoid(logits) - x) ** 2).sum() / B
        else:
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / B
        kl = -0.5 * torch.sum(1 + logvar - mu * mu - logvar.exp()) / B
        return recon + beta * kl


def epoch_tinyvae(model: ConvVAE, opt: Adam, x: np.ndarray, batches: list, eps: list) -> float:
    t0 = time.perf_counter()
    for idx, e in zip(batches, eps):
        model.loss_and_grads(x[idx], eps=e)
        opt.step()
    return time.perf_counter() - t0


def epoch_torch(model: TorchConvVAE, opt: torch.optim.Optimizer, x: torch.Tensor, batches: list, eps: list,
                beta: float, kind: str) -> float:
    t0 = time.perf_counter()
    for idx, e in zip(batches, eps):
        opt.zero_grad(set_to_none=True)
        model.loss(x[idx], e, beta, kind).backward()
        opt.step()
    return time.perf_counter() - t0


def blas_threads(n: int | None) -> int | None:
    """Limit NumPy's BLAS to ``n`` threads (threadpoolctl, when installed); returns the count in use."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return None
    if n is not None:
        threadpool_limits(n, user_api="blas")
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return counts[0] if counts else None


def timing(x_train: np.ndarray, epochs: int, loss: str, threads: int = 2, seed: int = 0) -> dict:
    """Interleaved epochs of tinyvae and torch on the same data; median seconds per epoch."""
    torch.set_num_threads(threads)
    numpy_threads = blas_threads(threads)
    rng = np.random.default_rng(seed)
    model = ConvVAE(loss=loss, rng=seed, dtype=np.float32)
    tmodel = TorchConvVAE()
    tmodel.load_from(model)
    opt, topt = Adam(model, lr=1e-3), torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    tx = torch.from_numpy(x_train)
    e0 = rng.standard_normal((128, model.z_dim), dtype=np.float32)
    ours0 = model.loss_and_grads(x_train[:128], eps=e0).total
    with torch.no_grad():
        theirs0 = tmodel.loss(tx[:128], torch.from_numpy(e0), model.beta, loss).item()
    print(f"  same model, same start: first-batch loss tinyvae {ours0:.4f}, torch {theirs0:.4f}")
    assert abs(ours0 - theirs0) < 1e-4 * abs(theirs0), "the two models differ"
    n, bs = x_train.shape[0], 128
    ours, theirs = [], []
    for e in range(epochs + 1):  # epoch 0 warms up both (allocations, BLAS threads) and is not counted
        perm = rng.permutation(n)
        batches = [perm[s : s + bs] for s in range(0, n, bs)]
        eps = [rng.standard_normal((len(b), model.z_dim), dtype=np.float32) for b in batches]
        teps, tbatches = [torch.from_numpy(v) for v in eps], [torch.from_numpy(b) for b in batches]
        if e % 2 == 0:
            a = epoch_tinyvae(model, opt, x_train, batches, eps)
            b = epoch_torch(tmodel, topt, tx, tbatches, teps, model.beta, loss)
        else:
            b = epoch_torch(tmodel, topt, tx, tbatches, teps, model.beta, loss)
            a = epoch_tinyvae(model, opt, x_train, batches, eps)
        if e > 0:
            ours.append(a)
            theirs.append(b)
        print(f"  epoch {e}{' (warm-up)' if e == 0 else ''}: tinyvae {a:.2f} s, torch {b:.2f} s", flush=True)
    t_ours, t_theirs = statistics.median(ours), statistics.median(theirs)
    return {"tinyvae_s_per_epoch": t_ours, "torch_s_per_epoch": t_theirs, "ratio": t_ours / t_theirs,
            "epochs": epochs, "batch_size": bs, "n_train": n, "dtype": "float32", "torch_threads": threads,
            "numpy_blas_threads": numpy_threads, "load_average": os.getloadavg(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)")}


def train_and_compare(data, epochs: int, loss: str, out: Path) -> dict:
    """The conv VAE and the MLP VAE trained alike; test losses side by side; the conv VAE's figures."""
    from tinyvae.training.evaluate import eval_loss
    from tinyvae.training.train import fit
    from tinyvae.models.vae import VAE

    result = {}
    models = {"conv": ConvVAE(loss=loss, rng=0, dtype=np.float32),
              "mlp": VAE(784, [400], 2, loss=loss, rng=0, dtype=np.float32)}
    for name, model in models.items():
        t0 = time.perf_counter()
        metrics = fit(model, data, epochs=epochs, seed=0, out_dir=out / name, progress=False)
        test = eval_loss(model, data.x_test.astype(np.float32), rng=np.random.default_rng(0))
        result[name] = {"test_loss": test.total, "test_recon": test.recon, "test_kl": test.kl,
                        "params": model.num_params(), "train_seconds": time.perf_counter() - t0}
        print(f"  {name}: test loss {test.total:.2f} (recon {test.recon:.2f}, KL {test.kl:.2f}), "
              f"{model.num_params():,} parameters, {result[name]['train_seconds']:.0f} s", flush=True)
        try:
            from tinyvae.figures import plots
        except ImportError:
            continue
        plots.save_all(model, data, metrics, out / name / "figures", np.random.default_rng(0))
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timing-epochs", type=int, default=5, help="timed epochs of each (after one warm-up)")
    p.add_argument("--train-epochs", type=int, default=15, help="epochs of the training comparison (0: skip)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads and NumPy's BLAS threads (2)")
    p.add_argument("--loss", choices=("mse", "bce"), default="mse", help="the document's squared error by default")
    p.add_argument("--out", type=Path, default=Path("runs/bench_conv"), help="where results and figures go")
    a = p.parse_args()
    data = load(dtype=np.float32)
    a.out.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    if a.timing_epochs > 0:
        print(f"timing: {a.timing_epochs} interleaved epochs, {data.x_train.shape[0]} digits, batch 128")
        report["timing"] = timing(data.x_train, a.timing_epochs, a.loss, a.threads)
        r = report["timing"]
        print(f"tinyvae {r['tinyvae_s_per_epoch']:.2f} s/epoch, torch {r['torch_s_per_epoch']:.2f} s/epoch, "
              f"ratio {r['ratio']:.2f} ({a.threads} threads each, OPENBLAS_CORETYPE={r['OPENBLAS_CORETYPE']}, "
              f"load average {r['load_average'][0]:.1f})")
    if a.train_epochs > 0:
        print(f"training: {a.train_epochs} epochs each, loss {a.loss}")
        report["training"] = train_and_compare(data, a.train_epochs, a.loss, a.out)
    (a.out / "report.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
