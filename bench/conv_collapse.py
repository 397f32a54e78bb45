"""Does the β-VAE document's convolutional model train to a working model? Seeds 0, 1, 2.

    OPENBLAS_CORETYPE=Haswell nice -n 10 .venv/bin/python bench/conv_collapse.py [--seeds 0 1 2] [--epochs 30]
        [--out runs/conv_collapse] [FLAGS...]

For each seed, ``tinyvae train --arch conv --loss mse --seed S`` (the README's command, its defaults:
30 epochs, batch 128, lr 1e-3, float32, Keras's 'same' padding and Glorot-uniform weights) is run by the
command line itself; extra FLAGS are passed on to it. ``--variant`` takes one of the two changes back
(bench only, by patching the model's constructor): ``old`` is tinyvae's model before it matched the
document (torch-style padding 1 on both sides and torch's initialisation: the same random draws, minus the
Glorot redraw), ``padding-only`` keeps torch's initialisation with Keras's padding, ``init-only`` Keras's
initialisation with the symmetric padding. Then, on the 1,000 test digits:

- ``test_loss``: the last epoch's test loss (squared error + KL per image, as the document reports it);
- ``active``: active latent dimensions (Burda et al.'s rule, ``diagnostics.active_units``) and active units
  of the Dense(16) layer, as ``tinyvae evaluate`` reports them;
- ``judged``: the share of reconstructions (decoded from the posterior means) that a 5-nearest-neighbour
  classifier fitted on the 4,000 real training digits labels as the digit they reconstruct. Chance is
  about 0.1; the same judge on the real test digits gives the ceiling (``judge_on_real``).

The numbers go to stdout and OUT/conv_collapse.json; bench/README.md quotes them beside the document's
TensorFlow figures. One run at a time: a conv epoch takes ~4 s alone on two cores, more when they are busy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classify_samples import train_cli  # noqa: E402  (the existing judge's harness: the CLI, then the checkpoint)


def judge(data: Any) -> Any:
    """A 5-nearest-neighbour classifier fitted on the real training digits."""
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(5).fit(np.asarray(data.x_train, np.float64), data.y_train)


def measure_run(model: Any, data: Any, knn: Any) -> dict[str, Any]:
    """Active units and the judged share of reconstructions for a trained model on the test split."""
    from tinyvae.engine.backend import to_numpy
    from tinyvae.training.evaluate import active_units

    x = model.asarray(data.x_test)
    units = active_units(model, x)
    mu, _ = model.encode(x)
    x_hat = np.asarray(to_numpy(model.decode(mu)), np.float64)
    dense = [v for k, v in units["layers"].items()][-1]  # the Dense(hidden) layer's ReLU, the encoder's last
    return {"active_latent": list(units["latent"]), "active_dense": list(dense),
            "judged": float(np.mean(knn.predict(x_hat) == data.y_test))}


def use_variant(variant: str) -> None:
    """Patch ConvVAE for ``--variant`` (see the module docstring); "document" leaves it alone."""
    from tinyvae.models import conv_vae

    if variant in ("old", "init-only"):
        init = conv_vae.ConvVAE.__init__

        def symmetric(self: Any, *a: Any, **k: Any) -> None:
            k["padding"] = "symmetric"
            init(self, *a, **k)

        conv_vae.ConvVAE.__init__ = symmetric  # type: ignore[method-assign]
    if variant in ("old", "padding-only"):
        conv_vae.glorot_uniform = lambda params, rng: None  # keep the layers' own (torch's) initialisation


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--out", type=Path, default=Path("runs/conv_collapse"))
    p.add_argument("--variant", choices=["document", "old", "padding-only", "init-only"], default="document")
    args, flags = p.parse_known_args(argv)
    from tinyvae.training.data import load

    use_variant(args.variant)
    data = load()
    knn = judge(data)
    results: dict[str, Any] = {"variant": args.variant, "judge_on_real": float(np.mean(knn.predict(np.asarray(data.x_test, np.float64))
                                                              == data.y_test)), "runs": {}}
    for seed in args.seeds:
        out = args.out / f"seed{seed}"
        t0 = time.perf_counter()
        model = train_cli(out, "--arch", "conv", "--loss", "mse", "--seed", str(seed), "--epochs",
                          str(args.epochs), *flags)
        metrics = json.loads((out / "metrics.json").read_text())
        last = (metrics["epochs"] if isinstance(metrics, dict) else metrics)[-1]
        row = {"test_loss": last["test_loss"], "test_kl": last["test_kl"], **measure_run(model, data, knn),
               "seconds": time.perf_counter() - t0}
        results["runs"][seed] = row
        print(f"seed {seed}: test loss {row['test_loss']:.1f}, KL {row['test_kl']:.2f}, active latent "
              f"{row['active_latent'][0]}/{row['active_latent'][1]}, Dense units {row['active_dense'][0]}/"
              f"{row['active_dense'][1]}, judged {row['judged']:.3f} ({row['seconds']:.0f} s)", flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "conv_collapse.json").write_text(json.dumps(results, indent=1))
    print(f"the judge on the real test digits: {results['judge_on_real']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
