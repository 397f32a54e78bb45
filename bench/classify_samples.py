"""Do generated digits look like digits? A classifier trained on real digits judges the samples.

    .venv/bin/python bench/classify_samples.py [--epochs 30] [--out runs/classify_samples]

1. Two simple classifiers are trained on the bundled training split (4,000 digits): logistic regression
   (scikit-learn, C = 0.1; the judge the assertions use) and 10 nearest neighbours (a second opinion: its
   confidence is the share of the 10 neighbours that agree). Their accuracy on the real test split
   (1,000 digits) is the reference.
2. A conditional VAE is trained by ``tinyvae train --model cvae --hidden 400 --lr 1e-3 --batch-size 128``
   (the command line itself is called: 784-400-2-400-784, PyTorch's example network, BCE, β = 1; the
   default before issue 24, kept here so these figures stay comparable), reloaded from its checkpoint,
   and asked for 100 images of every digit: the hit rate is the fraction classified as that digit.
3. A VAE and a plain AE (``tinyvae train --model vae`` / ``--model ae``, the same 400-wide layer and lr) decode 1,000 draws
   z ~ N(0, I) each; the figure is the fraction the classifier assigns to some digit with probability
   above 0.8, for each classifier. For scale: the same fraction for the real test digits, and for
   uniform noise. This is done for a 2-D latent space (the command line's default) and a 20-D one
   (PyTorch's example). Logistic regression is far less confident on blurred images than on sharp
   ones, so the two judges can disagree where the VAE's samples are blurry (the 2-D case).

The numbers go to stdout and to OUT/classify_samples.json. tests/test_compare.py runs ``measure`` and
asserts the claims (marked slow).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CONFIDENT = 0.8  # "looks like a digit": the classifier gives one class more than this probability
N_PER_DIGIT = 100
N_PRIOR = 1000


def classifiers(data: Any) -> dict[str, Any]:
    """{"logreg": LogisticRegression(C=0.1), "knn10": KNeighborsClassifier(10)}, fitted on the training split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    x, y = np.asarray(data.x_train, np.float64), data.y_train
    return {"logreg": LogisticRegression(C=0.1, max_iter=2000).fit(x, y), "knn10": KNeighborsClassifier(10).fit(x, y)}


def confident_fraction(clf: Any, images: Any) -> float:
    """The fraction of images whose most likely class has probability above CONFIDENT."""
    from tinyvae.engine.backend import to_numpy

    p = clf.predict_proba(np.asarray(to_numpy(images), np.float64))
    return float(np.mean(p.max(axis=1) > CONFIDENT))


def train_cli(out: Path, *flags: str) -> Any:
    """Train with ``tinyvae train --out OUT FLAGS...`` (no figures) and reload the model from its checkpoint."""
    from tinyvae.training.checkpoint import load_checkpoint
    from tinyvae.cli import main

    status = main(["train", "--out", str(out), "--no-plots", "--progress", "off", *flags])
    if status != 0:
        raise RuntimeError(f"tinyvae train {' '.join(flags)} exited with status {status}")
    model, _, _ = load_checkpoint(out / "checkpoint.npz")
    return model


def measure(epochs: int = 30, latents: tuple[int, ...] = (2, 20), seed: int = 0, work: Path | None = None,
            log: Any = print) -> dict[str, Any]:
    """Train the models, classify their samples, return every figure in a dict (see the module doc)."""
    from tinyvae.training.data import load

    data = load()
    t0 = time.perf_counter()
    judges = classifiers(data)
    clf = judges["logreg"]
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.0, 1.0, (N_PRIOR, data.x_test.shape[1]))
    x_test = np.asarray(data.x_test, np.float64)
    result: dict[str, Any] = {"classifiers": {}, "epochs": epochs, "seed": seed}
    for name, judge in judges.items():
        row = {"test_accuracy": float(judge.score(x_test, data.y_test)),
               "confident_real_test": confident_fraction(judge, x_test),
               "confident_uniform_noise": confident_fraction(judge, noise)}
        result["classifiers"][name] = row
        log(f"{name}: test accuracy {row['test_accuracy']:.3f}; confident (p > {CONFIDENT}) on real test digits "
            f"{row['confident_real_test']:.3f}, on uniform noise {row['confident_uniform_noise']:.3f}")
    result["test_accuracy"] = result["classifiers"]["logreg"]["test_accuracy"]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(work) if work is not None else Path(tmp)
        common = ("--epochs", str(epochs), "--seed", str(seed), "--hidden", "400", "--lr", "1e-3", "--batch-size", "128")

        cvae = train_cli(root / "cvae", "--model", "cvae", *common)
        hits = {}
        for d in range(10):
            pred = clf.predict(np.asarray(_host(cvae.generate(d, N_PER_DIGIT, rng)), np.float64))
            hits[d] = float(np.mean(pred == d))
        result["cvae_hit_rate"] = hits
        log("cvae (tinyvae train --model cvae): fraction of 100 samples classified as the digit asked for")
        log("  " + "  ".join(f"{d}: {h:.2f}" for d, h in hits.items()) + f"   (min {min(hits.values()):.2f})")

        result["prior_samples"] = {}
        for z in latents:
            row: dict[str, Any] = {}
            for kind in ("vae", "ae"):
                model = train_cli(root / f"{kind}{z}", "--model", kind, "--latent", str(z), *common)
                images = model.sample(N_PRIOR, rng)
                row[kind] = confident_fraction(clf, images)
                row[f"{kind}_knn10"] = confident_fraction(judges["knn10"], images)
            result["prior_samples"][str(z)] = row
            log(f"latent {z:2d}: decoded z ~ N(0, I) classified with p > {CONFIDENT}: logreg VAE {row['vae']:.3f}, "
                f"AE {row['ae']:.3f}; knn10 VAE {row['vae_knn10']:.3f}, AE {row['ae_knn10']:.3f}")
    result["seconds"] = time.perf_counter() - t0
    return result


def _host(a: Any) -> np.ndarray:
    from tinyvae.engine.backend import to_numpy

    return to_numpy(a)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=30, help="epochs for every model (default 30, tinyvae train's)")
    p.add_argument("--latent", type=int, nargs="+", default=[2, 20], help="latent sizes for VAE vs AE (default 2 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/classify_samples", help="where the JSON and the training runs go")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = measure(args.epochs, tuple(args.latent), args.seed, work=out)
    (out / "classify_samples.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"done in {result['seconds']:.0f} s; {out / 'classify_samples.json'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
