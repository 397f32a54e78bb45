"""The convolutional VAE: tinyvae's hand-written convolutions against torch and the document's TensorFlow code.

    python bench/bench_conv.py                                    # timing, scaling, then a training run
    python bench/bench_conv.py --train-epochs 0 --sizes           # timing only

Timing (``common.interleaved``: rounds of one epoch each, rotated order, a rest before each; the
median over ``--timing-epochs`` rounds after one warm-up round): tinyvae with its defaults
(``--threads auto``: its cores shared out by ``tinyvae.training.threads.plan``, for this model the batch
split between one worker per core), on 1 thread, on 2 BLAS threads with the batch whole (the default
before the batch split) and split between 2 workers, torch with its defaults (same model, same initial
weights, same batches: the bundled 4,000 training digits, batch 128, Adam 1e-3, float32), the β-VAE
document's own TensorFlow 2 model and eager training step when tensorflow-cpu is installed
(``pip install -e '.[bench]'``), and the matrix products of tinyvae's step alone (the floor).
Memory: the peak of tinyvae's arrays during one more (untimed) epoch of its defaults (tracemalloc) and
the process's maximum resident size. Scaling: tinyvae and torch epochs on the data tiled to ``--sizes``
images.

Training: the conv VAE and the MLP VAE (784-400-2, the CLI's default before issue 24) with the same loss, trained
for the same number of epochs by ``tinyvae.training.train.fit``; their test losses (recon + β·KL, one z per
image, fixed noise) side by side, and the conv VAE's figures if ``tinyvae.figures.plots`` exists.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (blas_threads, fit_line, interleaved, load_average, machine, median, round_by_round,  # noqa: E402
                    round_line, tensorflow, tile)
from tinyvae.training.parallel import DataParallel  # noqa: E402
from tinyvae.training.threads import auto_threads, plan  # noqa: E402

from tinyvae.models.conv_vae import ConvVAE  # noqa: E402
from tinyvae.training.data import load  # noqa: E402
from tinyvae.engine.optim import Adam  # noqa: E402


class SameConv2d(nn.Conv2d):
    """Keras's 'same' at stride 2 (as ConvVAE): no zero row or column before the image, one after."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (0, 1, 0, 1)))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """Its adjoint: the unpadded transposed convolution with its last row and column cut off."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)[..., :-1, :-1]


class TorchConvVAE(nn.Module):
    """The same model written with torch's modules (what a torch user would write), padded as ConvVAE is."""

    def __init__(self, z_dim: int = 2, hidden: int = 16, c1: int = 32, c2: int = 64) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            SameConv2d(1, c1, 3, 2), nn.ReLU(), SameConv2d(c1, c2, 3, 2), nn.ReLU(), nn.Flatten(),
            nn.Linear(c2 * 49, hidden), nn.ReLU(),
        )
        self.mu, self.logvar = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)
        self.dec = nn.Sequential(
            nn.Linear(z_dim, c2 * 49), nn.ReLU(), nn.Unflatten(1, (c2, 7, 7)),
            SameConvTranspose2d(c2, c2, 3, 2), nn.ReLU(), SameConvTranspose2d(c2, c1, 3, 2), nn.ReLU(),
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


def epoch_tinyvae(model: ConvVAE | DataParallel, opt: Adam, x: np.ndarray, batches: list, eps: list,
                  threads: int) -> float:
    """One epoch of ``model`` (or the model split over workers) on ``threads`` BLAS threads.

    As ``train_epoch`` does it (x's values read once, each batch's shape and dtype), with the noise
    ``eps`` that torch gets too, and without the divergence checks."""
    with blas_threads(threads):
        t0 = time.perf_counter()
        model.check_x(x)
        for idx, e in zip(batches, eps):
            model._loss_and_grads(x[idx], eps=e)  # its values: checked above, with x's
            opt.step()
        return time.perf_counter() - t0


def contender(workers: int, loss: str = "mse", seed: int = 0) -> tuple[ConvVAE | DataParallel, Adam]:
    """(stepper, optimizer) for a fresh model: the model itself, or the model split between ``workers``."""
    model = ConvVAE(loss=loss, rng=seed, dtype=np.float32)
    return (DataParallel(model, workers) if workers > 1 else model), Adam(model, lr=1e-3)


def epoch_torch(model: TorchConvVAE, opt: torch.optim.Optimizer, x: torch.Tensor, batches: list, eps: list,
                beta: float, kind: str) -> float:
    t0 = time.perf_counter()
    for idx, e in zip(batches, eps):
        opt.zero_grad(set_to_none=True)
        model.loss(x[idx], e, beta, kind).backward()
        opt.step()
    return time.perf_counter() - t0


def products(model: ConvVAE, n: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The (a, b) shapes of every matrix product ``a @ b`` in one training step of tinyvae's ConvVAE on a batch
    of n: each convolution's forward, weight-gradient and input-gradient products (the first layer's input
    gradient is not computed), and the dense layers'."""
    from tinyvae.engine.conv import Conv2d, ConvTranspose2d
    from tinyvae.engine.layers import Linear

    shapes, hw, first = [], (model.side, model.side), True
    for layer in model.encoder.layers + [model.mu_head, model.logvar_head] + model.decoder.layers:
        if isinstance(layer, (Conv2d, ConvTranspose2d)):
            cin, cout, (kh, kw) = layer.in_channels, layer.out_channels, layer.kernel_size
            ohw = layer.output_shape(*hw)
            if isinstance(layer, Conv2d):
                m = n * ohw[0] * ohw[1]
                shapes += [((cout, cin * kh * kw), (cin * kh * kw, m)), ((cout, m), (m, cin * kh * kw))]
                shapes += [] if first else [((cin * kh * kw, cout), (cout, m))]
            else:
                m = n * hw[0] * hw[1]
                shapes += [((cout * kh * kw, cin), (cin, m)), ((cin, m), (m, cout * kh * kw)),
                           ((cin, cout * kh * kw), (cout * kh * kw, m))]
            hw, first = ohw, False
        elif isinstance(layer, Linear):
            i, o = layer.in_features, layer.out_features
            shapes += [((n, i), (i, o)), ((o, n), (n, i)), ((n, o), (o, i))]
            if layer is model.decoder.layers[0]:
                hw = (model.side // 4, model.side // 4)
    return shapes


def epoch_floor(shapes: list, steps: int, threads: int, rng: np.random.Generator) -> float:
    """Seconds of the products of ``steps`` steps alone, on ``threads`` BLAS threads."""
    ops = [(rng.random(a, dtype=np.float32), rng.random(b, dtype=np.float32)) for a, b in shapes]
    with blas_threads(threads):
        t0 = time.perf_counter()
        for _ in range(steps):
            for a, b in ops:
                a @ b
        return time.perf_counter() - t0


def tf_document_model(tf: object, z_dim: int = 2, beta: float = 1.0) -> tuple:
    """The β-VAE document's TensorFlow 2 model and training step (Keras layers, NHWC, eager GradientTape).

    Encoder Conv2D(32, 3, s2, same, relu), Conv2D(64, 3, s2, same, relu), Flatten, Dense(16, relu), then
    Dense(z) twice (μ, log σ²); decoder Dense(7·7·64, relu), Reshape, Conv2DTranspose(64, 3, s2, same,
    relu), Conv2DTranspose(32, 3, s2, same, relu), Conv2DTranspose(1, 3, same, sigmoid); loss: squared
    error summed over the pixels, averaged over the batch, + β·KL; Adam 1e-3. Returns (step, variables).
    """
    L = tf.keras.layers  # type: ignore[attr-defined]
    enc = tf.keras.Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, strides=2, padding="same", activation="relu"),  # type: ignore[attr-defined]
                               L.Conv2D(64, 3, strides=2, padding="same", activation="relu"), L.Flatten(),
                               L.Dense(16, activation="relu")])
    mu_head, logvar_head = L.Dense(z_dim), L.Dense(z_dim)
    dec = tf.keras.Sequential([L.Input((z_dim,)), L.Dense(7 * 7 * 64, activation="relu"), L.Reshape((7, 7, 64)),  # type: ignore[attr-defined]
                               L.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
                               L.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
                               L.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")])
    mu_head.build((None, 16))
    logvar_head.build((None, 16))
    variables = enc.trainable_variables + mu_head.trainable_variables + logvar_head.trainable_variables + dec.trainable_variables
    opt = tf.keras.optimizers.Adam(learning_rate=1e-3)  # type: ignore[attr-defined]

    def step(x: object) -> None:
        with tf.GradientTape() as tape:  # type: ignore[attr-defined]
            h = enc(x)
            mu, log_var = mu_head(h), logvar_head(h)
            z = mu + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mu))  # type: ignore[attr-defined]
            x_hat = dec(z)
            recon = tf.reduce_mean(tf.reduce_sum(tf.square(x - x_hat), axis=(1, 2, 3)))  # type: ignore[attr-defined]
            kl = tf.reduce_mean(tf.reduce_sum(-0.5 * (1 + log_var - mu * mu - tf.exp(log_var)), axis=1))  # type: ignore[attr-defined]
            loss = recon + beta * kl
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))

    return step, variables


def epoch_tf(tf: object, step: object, x: object, batches: list) -> float:
    t0 = time.perf_counter()
    for idx in batches:
        step(tf.gather(x, idx))  # type: ignore[attr-defined,operator]
    return time.perf_counter() - t0


def timing(x_train: np.ndarray, epochs: int, loss: str, seed: int = 0, log=print) -> dict:
    """Interleaved epochs of every contender on the same data; median seconds per epoch."""
    auto, torch_threads = auto_threads(), torch.get_num_threads()
    rng = np.random.default_rng(seed)
    blas, workers = plan(auto, convolutional=True)  # how `tinyvae train --threads auto` spends the cores
    stepper, opt = contender(workers, loss, seed)
    model = opt.module
    tmodel = TorchConvVAE()
    tmodel.load_from(model)
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    tx = torch.from_numpy(x_train)
    e0 = rng.standard_normal((128, model.z_dim), dtype=np.float32)
    ours0 = model.loss_and_grads(x_train[:128], eps=e0).total
    with torch.no_grad():
        theirs0 = tmodel.loss(tx[:128], torch.from_numpy(e0), model.beta, loss).item()
    log(f"  same model, same start: first-batch loss tinyvae {ours0:.4f}, torch {theirs0:.4f}")
    assert abs(ours0 - theirs0) < 1e-4 * abs(theirs0), "the two models differ"
    n, bs = x_train.shape[0], 128
    rounds = []
    for _ in range(epochs + 1):  # round 0 warms every contender up (allocations, threads) and is not counted
        perm = rng.permutation(n)
        batches = [perm[s : s + bs] for s in range(0, n, bs)]
        eps = [rng.standard_normal((len(b), model.z_dim), dtype=np.float32) for b in batches]
        rounds.append((batches, eps, [torch.from_numpy(b) for b in batches], [torch.from_numpy(v) for v in eps]))
    runs = {f"tinyvae defaults ({auto} cores: {workers}w × {blas}b)":
            lambda r: epoch_tinyvae(stepper, opt, x_train, rounds[r][0], rounds[r][1], blas)}
    others = {"tinyvae 1 thread": (1, 1), "tinyvae 2 BLAS thr, batch whole": (2, 1), "tinyvae 2 workers × 1 b": (1, 2)}
    for name, (b, w) in others.items():  # (BLAS threads, workers), each as many cores as the machine has
        if b * w <= (os.cpu_count() or 1) and (b, w) != (blas, workers):
            m, o = contender(w, loss, seed)
            runs[name] = lambda r, m=m, o=o, b=b: epoch_tinyvae(m, o, x_train, rounds[r][0], rounds[r][1], b)
    runs[f"torch defaults ({torch_threads} thr)"] = lambda r: epoch_torch(tmodel, topt, tx, rounds[r][2], rounds[r][3], model.beta, loss)
    tf = tensorflow()
    if tf is not None:
        tf_step, _ = tf_document_model(tf, model.z_dim, model.beta)
        tf_x = tf.constant(x_train.reshape(-1, 28, 28, 1))
        runs["TensorFlow, the document's code"] = lambda r: epoch_tf(tf, tf_step, tf_x, rounds[r][0])
    shapes, steps = products(model, bs), -(-n // bs)
    for k in sorted({auto, 1, 2} & set(range(1, (os.cpu_count() or 1) + 1))):
        runs[f"products alone ({k} thr)"] = lambda r, k=k: epoch_floor(shapes, steps, k, np.random.default_rng(0))
    times = interleaved(runs, epochs + 1, log)
    med = {k: median(v[1:]) for k, v in times.items()}
    mine, theirs = (next(k for k in times if k.startswith(p)) for p in ("tinyvae defaults", "torch"))
    by_round = round_by_round(times[mine][1:], times[theirs][1:])  # without the warm-up round, as the medians
    tracemalloc.start()  # memory: tinyvae's arrays at their peak during one more (untimed) epoch of its defaults
    epoch_tinyvae(stepper, opt, x_train, rounds[0][0], rounds[0][1], blas)
    peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"median_s": med, "epoch_s": times, "round_by_round": by_round, "tinyvae_epoch_peak_mib": peak_mib,
            "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "auto_threads": auto, "auto_plan": {"blas": blas, "workers": workers}, "torch_threads": torch_threads,
            "epochs": epochs, "batch_size": bs, "n_train": n, "dtype": "float32",
            "tensorflow": getattr(tf, "__version__", None), "load_average": load_average(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)")}


def scaling(x_train: np.ndarray, sizes: list[int], epochs: int, loss: str, log=print) -> dict:
    """Median epoch seconds of tinyvae (defaults) and torch (defaults) on the data tiled to each size."""
    auto = auto_threads()
    blas, workers = plan(auto, convolutional=True)
    out: dict = {"sizes": sizes, "tinyvae_s": [], "torch_s": []}
    for n in sizes:
        x = tile(x_train, n)
        stepper, opt = contender(workers, loss)
        model = opt.module
        tmodel = TorchConvVAE()
        tmodel.load_from(model)
        topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
        rng = np.random.default_rng(n)
        perm = rng.permutation(n)
        batches = [perm[s : s + 128] for s in range(0, n, 128)]
        eps = [rng.standard_normal((len(b), model.z_dim), dtype=np.float32) for b in batches]
        tb, te, tx = [torch.from_numpy(b) for b in batches], [torch.from_numpy(e) for e in eps], torch.from_numpy(x)
        t = interleaved({"tinyvae": lambda r: epoch_tinyvae(stepper, opt, x, batches, eps, blas),
                         "torch": lambda r: epoch_torch(tmodel, topt, tx, tb, te, model.beta, loss)}, epochs, log)
        out["tinyvae_s"].append(median(t["tinyvae"]))
        out["torch_s"].append(median(t["torch"]))
    out["tinyvae_fit"], out["torch_fit"] = fit_line(sizes, out["tinyvae_s"]), fit_line(sizes, out["torch_s"])
    return out


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


def report(r: dict, sc: dict | None) -> str:
    med = r["median_s"]
    tv = next(v for k, v in med.items() if k.startswith("tinyvae defaults"))
    th = next(v for k, v in med.items() if k.startswith("torch"))
    lines = [f"{'training epoch':34s} {'s (median)':>10s} {'÷ torch':>8s} {'÷ tinyvae':>9s}"]
    lines += [f"{k:34s} {v:10.3f} {v / th:8.2f} {v / tv:9.2f}" for k, v in med.items()]
    lines.append(f"tinyvae defaults / torch defaults: {tv / th:.2f} (goal: at most 1.0); OPENBLAS_CORETYPE="
                 f"{r['OPENBLAS_CORETYPE']}, load average {r['load_average']:.2f}, TensorFlow {r['tensorflow'] or 'not installed'}")
    lines.append(round_line(r["round_by_round"]))
    lines.append(f"memory: tinyvae's arrays peak at {r['tinyvae_epoch_peak_mib']:.1f} MiB during an epoch of its defaults "
                 f"(tracemalloc); process max RSS {r['process_max_rss_mib']:.0f} MiB (all three libraries)")
    if sc:
        lines += ["", f"{'images':>8s} {'tinyvae s':>10s} {'torch s':>8s} {'ratio':>6s}"]
        lines += [f"{n:8,d} {a:10.3f} {b:8.3f} {a / b:6.2f}" for n, a, b in zip(sc["sizes"], sc["tinyvae_s"], sc["torch_s"])]
        for lib in ("tinyvae", "torch"):
            f = sc[f"{lib}_fit"]
            lines.append(f"{lib}: {f['us_per_image']:.0f} µs per image + {f['intercept_s']:.3f} s; "
                         f"largest deviation from that line {100 * f['max_rel_deviation']:.0f}%")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timing-epochs", type=int, default=10, help="timed rounds (after one warm-up; default 10)")
    p.add_argument("--sizes", type=int, nargs="*", default=[1000, 4000, 10000],
                   help="numbers of images for the scaling table (data tiled; add 60000 for the full MNIST size; none: skip)")
    p.add_argument("--scaling-epochs", type=int, default=2, help="epochs per size (default 2)")
    p.add_argument("--train-epochs", type=int, default=15, help="epochs of the training comparison (0: skip)")
    p.add_argument("--loss", choices=("mse", "bce"), default="mse", help="the document's squared error by default")
    p.add_argument("--out", type=Path, default=Path("runs/bench_conv"), help="where results and figures go")
    a = p.parse_args()
    data = load(dtype=np.float32)
    a.out.mkdir(parents=True, exist_ok=True)
    report_: dict = {"machine": machine(), "load_average_before": load_average()}
    if a.timing_epochs > 0:
        print(f"timing: {a.timing_epochs} interleaved rounds (+1 warm-up), {data.x_train.shape[0]} digits, batch 128")
        report_["timing"] = timing(data.x_train, a.timing_epochs, a.loss)
    if a.sizes:
        print(f"scaling: {a.sizes} images, {a.scaling_epochs} epochs each")
        report_["scaling"] = scaling(data.x_train, a.sizes, a.scaling_epochs, a.loss)
    if "timing" in report_:
        print("\n" + report(report_["timing"], report_.get("scaling")))
    if a.train_epochs > 0:
        print(f"training: {a.train_epochs} epochs each, loss {a.loss}")
        report_["training"] = train_and_compare(data, a.train_epochs, a.loss, a.out)
    (a.out / "report.json").write_text(json.dumps(report_, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
