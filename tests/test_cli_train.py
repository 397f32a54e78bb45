"""tinyvae train / evaluate / sample on tiny settings, and every expected failure as one clean line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyvae.training.checkpoint import load_checkpoint
from builders import TINY
from cli_check import one_line
from tinyvae.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(cli_run):
    return cli_run("--epochs", "2").folder


def test_train_writes_checkpoint_metrics_config(run_dir, capsys):
    metrics = json.loads((run_dir / "metrics.json").read_text())["epochs"]
    assert [m["epoch"] for m in metrics] == [1, 2]
    assert {"epoch", "train_loss", "test_loss", "test_recon", "test_kl", "seconds"} <= set(metrics[0])
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["model"]["hidden_dims"] == [16] and cfg["model"]["z_dim"] == 2 and cfg["run"]["limit"] == 200
    model, _, state = load_checkpoint(run_dir / "checkpoint.npz")
    assert state["epoch"] == 2 and model.dtype == np.float32


def test_train_prints_epochs_and_where(cli_run, tmp_path, capsys):
    run = cli_run()
    out = run.stdout.splitlines()
    assert out[0].startswith("training VAE(784 → [16] → 2), bce loss on ") and out[1].startswith("epoch   1/1  train")
    assert out[-1].startswith("done: test loss") and str(run.folder) in out[-1]
    assert main(["train", "--resume", "--out", str(run.copy_to(tmp_path / "run"))]) == 0  # nothing left: says so
    assert "already done 1 epochs" in capsys.readouterr().out


def test_progress_bar_on_request(tmp_path, capsys):
    assert main(["train", *TINY, "--progress", "on", "--out", str(tmp_path)]) == 0
    assert "epoch 1/1" in capsys.readouterr().err  # tqdm's bar, on stderr


def test_resume_takes_the_saved_settings(tmp_path, capsys):
    same = ["--seed", "3", "--batch-size", "50", "--threads", "1"]  # not auto: the load may change between the runs
    assert main(["train", *TINY, *same, "--out", str(tmp_path / "a")]) == 0
    assert main(["train", "--resume", "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", *TINY, "--epochs", "2", *same, "--out", str(tmp_path / "b")]) == 0
    a, _, sa = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    b, _, _ = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert sa["run_config"]["batch_size"] == 50 and sa["epoch"] == 2
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_evaluate_json_and_text(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--iwae", "5", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["images"] == 200 and r["iwae_k"] == 5 and r["epoch"] == 2
    metrics = json.loads((run_dir / "metrics.json").read_text())["epochs"]
    assert r["neg_elbo"] == pytest.approx(metrics[-1]["test_loss"], rel=1e-5)  # the same noise, the same number
    assert r["iwae"] < r["neg_elbo"]
    assert main(["evaluate", str(run_dir / "checkpoint.npz"), "--iwae", "2"]) == 0
    text = capsys.readouterr().out
    assert "negative ELBO" in text and "IWAE, K = 2" in text


def test_sample_npy_and_png(run_dir, tmp_path, capsys):
    assert main(["sample", str(run_dir), "--n", "7", "--out", str(tmp_path / "s.npy"), "--seed", "1"]) == 0
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (7, 784) and x.min() >= 0 and x.max() <= 1
    assert main(["sample", str(run_dir), "--n", "5", "--out", str(tmp_path / "s.png")]) == 0
    import matplotlib.pyplot as plt

    img = plt.imread(tmp_path / "s.png")
    assert img.shape[:2] == (2 * (28 + 2) + 2, 3 * (28 + 2) + 2)  # 5 images: 2 rows of 3, 2-pixel gaps


def test_cvae_trains_and_samples_a_digit(cli_run, tmp_path, capsys):
    run = cli_run("--model", "cvae").folder
    assert main(["sample", str(run), "--n", "4", "--digit", "3", "--out", str(tmp_path / "three.npy")]) == 0
    assert np.load(tmp_path / "three.npy").shape == (4, 784)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--iwae", "3", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["model"] == "cvae" and r["iwae"] < r["neg_elbo"]


def _bad_files(tmp_path, run_dir):
    raw = (run_dir / "checkpoint.npz").read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "checkpoint.npz").write_bytes(raw[: len(raw) // 2])
    evil = np.empty(1, dtype=object)
    evil[0] = {"x": 1}
    (tmp_path / "evil").mkdir()
    np.savez(tmp_path / "evil" / "checkpoint.npz", meta=evil)
    np.savez(tmp_path / "nokeys.npz", x_train=np.zeros((2, 784)))
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hi")


ERRORS = [
    (["train", "--epochs", "0"], "--epochs must be an integer from 1 to 1,000,000, got 0"),
    (["train", "--lr", "-1"], "--lr must be a positive number, at most 1e6, got -1.0"),
    (["train", "--lr", "nan"], "--lr must be a positive number"),
    (["train", "--batch-size", "0"], "--batch-size must be an integer from 1 to 1,000,000,000, got 0"),
    (["train", "--latent", "0"], "--latent must be an integer from 1 to 65,536, got 0"),
    (["train", "--hidden", "400", "0"], "the 2nd value of --hidden must be an integer from 1 to 65,536, got 0"),
    (["train", "--beta", "-1"], "--beta must be a number from 0 to 1e6, got -1.0"),
    (["train", "--beta", "2e6"], "--beta must be a number from 0 to 1e6, got 2e6"),
    (["train", "--limit", "0"], "--limit must be an integer from 1 to 1,000,000,000, got 0"),
    (["train", "--threads", "0"], "--threads must be an integer from 1 to 1,024 or 'auto', got 0"),
    (["train", "--model", "ae", "--beta", "2"], "--beta acts on the KL term, which a plain autoencoder (--model ae) does not have"),
    (["train", "--free-bits", "-1"], "--free-bits must be a number of nats from 0 to 1e6, got -1"),
    (["train", "--free-bits", "nan"], "--free-bits must be a number of nats from 0 to 1e6, got nan"),
    (["train", "--free-bits", "inf"], "--free-bits must be a number of nats from 0 to 1e6, got inf"),
    (["train", "--model", "ae", "--free-bits", "1"], "--free-bits acts on the KL term, which a plain autoencoder"),
    (["train", "--model", "ae", "--kl-warmup", "1"], "--kl-warmup acts on the KL term, which a plain autoencoder"),
    (["train", "--kl-warmup", "46"], "--kl-warmup must be from 0 to --epochs 45, the run's length, got 46 (longer, β would never reach its value)"),
    (["train", "--kl-warmup", "-1", "--epochs", "5"], "--kl-warmup must be an integer from 0 to 1,000,000, got -1"),
    (["train", "--resume", "--kl-warmup", "0", "--out", "{run}"], "with --kl-warmup 1; --kl-warmup 0 would change it"),
    (["train", "--resume", "--free-bits", "0.5", "--out", "{run}"], "(free_bits: checkpoint None, wanted 0.5)"),
    (["train", "--arch", "conv", "--model", "cvae"], "--arch conv is available for --model vae only, not for --model cvae"),
    (["train", "--data", "{tmp}/nope"], "no such file or directory"),
    (["train", "--data", "{tmp}/empty"], "missing MNIST file(s) train-images-idx3-ubyte[.gz]"),
    (["train", "--data", "{tmp}/nokeys.npz"], "lacks array(s) y_train, x_test, y_test"),
    (["train", "--data", "{tmp}/notes.txt"], "expected a directory of MNIST IDX files or an .npz file"),
    (["train", "--resume", "--out", "{tmp}/empty"], "nothing to resume: no checkpoint.npz"),
    (["train", "--resume", "--latent", "3", "--out", "{run}"], "different architecture (z_dim: checkpoint 2, wanted 3)"),
    (["train", "--resume", "--arch", "conv", "--out", "{run}"], "different architecture (arch: checkpoint 'mlp', wanted 'conv'"),
    (["train", *TINY, "--lr", "1e6", "--out", "{tmp}/boom"], "training diverged at epoch 1, step"),
    (["evaluate", "{tmp}/nope"], "no such run directory or checkpoint file"),
    (["evaluate", "{tmp}/empty"], "holds no checkpoint.npz"),
    (["evaluate", "{tmp}/cut"], "probably truncated or damaged"),
    (["evaluate", "{tmp}/evil"], "holds pickled Python objects; refused"),
    (["evaluate", "{run}", "--iwae", "0"],
     "--iwae must be an integer from 1 to 100,000 IWAE samples per image, got 0: the estimate"),
    (["sample", "{run}", "--digit", "3", "--out", "{tmp}/x.npy"], "--digit needs a conditional model"),
    (["sample", "{run}", "--out", "{tmp}/x.txt"], "name a .npy file"),
    (["sample", "{run}", "--n", "0", "--out", "{tmp}/x.npy"], "--n must be at least 1"),
]


@pytest.mark.parametrize("argv,message", ERRORS, ids=[" ".join(a[:3]) for a, _ in ERRORS])
def test_expected_failures_are_one_line(argv, message, tmp_path, run_dir, capsys):
    _bad_files(tmp_path, run_dir)
    argv = [a.format(tmp=tmp_path, run=run_dir) for a in argv]
    assert message in one_line(argv, capsys, status=1 if "diverged" in message else 2)


def test_the_cli_names_its_flags_where_the_library_names_parameters(tmp_path, run_dir, capsys):
    from tinyvae.cli import as_flags

    assert as_flags("e.g. lr=0.0001; use dtype=float32, backend='cupy', source=/a/b: x, out_dir=DIR") == \
        "e.g. --lr 0.0001; use --dtype float32, --backend cupy, --data /a/b: x, --out DIR"
    assert as_flags("the learning rate, a resumed run (clr=3)") == "the learning rate, a resumed run (clr=3)"
    lines = {}
    for name, argv in {"lr": ["train", *TINY, "--lr", "1e6", "--out", f"{tmp_path}/boom"],
                       "data": ["train", "--data", f"{tmp_path}/nope"],
                       "evaluate": ["evaluate", str(run_dir), "--data", f"{tmp_path}/nope"]}.items():
        main(argv)
        lines[name] = capsys.readouterr().err
    assert "e.g. --lr 100000;" in lines["lr"] and "lr=" not in lines["lr"]
    assert f"error: --data {tmp_path}/nope: no such file or directory" in lines["data"]
    assert f"error: --data {tmp_path}/nope: no such file or directory" in lines["evaluate"]


def test_missing_cupy_is_one_line(capsys):
    try:
        import cupy  # noqa: F401

        pytest.skip("cupy is installed here")
    except ImportError:
        pass
    assert main(["train", *TINY, "--backend", "cupy"]) == 2
    assert "--backend cupy needs CuPy" in capsys.readouterr().err


def test_subprocess_errors_have_no_traceback_and_debug_shows_it(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "tinyvae", "train", "--epochs", "0"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == "tinyvae train: error: --epochs must be an integer from 1 to 1,000,000, got 0"
    r = subprocess.run([sys.executable, "-m", "tinyvae", "evaluate", str(tmp_path)], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "holds no checkpoint.npz" in r.stderr
    r = subprocess.run([sys.executable, "-m", "tinyvae", "--debug", "train", "--epochs", "0"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_run_data_gives_back_the_digits_the_run_saw(run_dir, tmp_path):
    """runs.run_data reads the recorded binarization ("none" here: grey pixels stay grey) and limit."""
    from tinyvae.training.data import load
    from tinyvae.training.runs import load_with_state, run_data

    model, state, _ = load_with_state(run_dir)
    data = run_data(state, model)
    assert state["run_config"]["binarize"] == "none" and data.binarize == "none"
    np.testing.assert_array_equal(data.x_test, load(dtype=np.float32).subset(200).x_test)
    assert ((data.x_test > 0) & (data.x_test < 1)).any()


def test_resume_reads_the_checkpoint_once(cli_run, tmp_path, monkeypatch, capsys):
    """tinyvae train --resume reads checkpoint.npz for its settings and hands that record to fit."""
    import tinyvae.cli.train as ct
    import tinyvae.training.checkpoint as ck
    import tinyvae.training.train as tr

    run = cli_run().copy_to(tmp_path / "run")
    reads, original = [], ck.read_checkpoint

    def counted(path):
        reads.append(path)
        return original(path)

    monkeypatch.setattr(ck, "read_checkpoint", counted)
    monkeypatch.setattr(ct, "read_checkpoint", counted)  # where the CLI imports it from
    monkeypatch.setattr(tr, "read_checkpoint", counted)  # fit's own reader (resume=True)
    assert main(["train", "--resume", "--epochs", "2", "--out", str(run)]) == 0
    assert len(reads) == 1, reads
    assert original(run / "checkpoint.npz").meta["epoch"] == 2


@pytest.mark.parametrize("flags", [["--model", "vae"], ["--model", "ae"], ["--model", "cvae", "--hidden", "8", "4"],
                                   ["--arch", "conv", "--latent", "3"]])
def test_flags_make_one_config_and_a_resume_with_the_same_flags_agrees(flags):
    """Flags -> one config (never back): the model built from it has exactly that architecture, and the
    same flags given again on --resume name the saved architecture, entry for entry."""
    from tinyvae.cli import build_parser
    from tinyvae.cli.train import ARCH_FLAGS, _model_config, resolve
    from tinyvae.models.registry import build_model
    from tinyvae.training.checkpoint import check_architecture

    args = build_parser().parse_args(["train", *flags])
    cfg, _, saved, _ = resolve(args, 1)
    assert saved is None
    built = build_model(cfg, rng=0).config()
    assert {k: built[k] for k in cfg} == cfg
    given = {k: getattr(args, k) for k in ARCH_FLAGS if getattr(args, k) is not None}
    check_architecture(built, _model_config(given, built))  # nothing differs
    with pytest.raises(ValueError, match="z_dim: checkpoint"):
        check_architecture(built, _model_config({**given, "latent": built["z_dim"] + 1}, built))


def test_resume_with_auto_threads_keeps_the_runs_thread_count(tmp_path, monkeypatch, capsys):
    """BLAS sums depend on the thread count in the last bits: --threads auto on resume reuses the
    count the run recorded, whatever auto would choose now; an explicit --threads still wins."""
    from tinyvae.training import threads
    from tinyvae.training.checkpoint import read_checkpoint

    out = tmp_path / "run"
    base = ["train", "--limit", "64", "--hidden", "8", "--no-plots", "--out", str(out)]
    assert main([*base, "--epochs", "1", "--threads", "1"]) == 0
    monkeypatch.setattr(threads, "auto_threads", lambda *a, **k: 2)  # the machine looks idle now
    assert main([*base, "--epochs", "2", "--resume"]) == 0
    assert read_checkpoint(out / "checkpoint.npz").meta["run_config"]["threads"] == 1
    assert main([*base, "--epochs", "3", "--resume", "--threads", "2"]) == 0
    assert read_checkpoint(out / "checkpoint.npz").meta["run_config"]["threads"] == 2
    capsys.readouterr()


def test_conv_run_on_two_threads_splits_the_batch_and_resumes_to_the_same_weights(tmp_path, monkeypatch, capsys):
    """--arch conv --threads 2: the batch split between 2 workers of 1 BLAS thread (threads.plan); the
    split is deterministic, so 1 epoch + a resumed 1 equals 2 epochs in one go, bit for bit."""
    from tinyvae.training import parallel

    made: list[int] = []
    real = parallel.DataParallel.__init__

    def spy(self, model, workers):  # type: ignore[no-untyped-def]
        made.append(workers)
        real(self, model, workers)

    monkeypatch.setattr(parallel.DataParallel, "__init__", spy)
    base = ["train", "--arch", "conv", "--limit", "40", "--batch-size", "16", "--no-plots", "--threads", "2"]
    assert main([*base, "--epochs", "2", "--out", str(tmp_path / "whole")]) == 0
    assert main([*base, "--epochs", "1", "--out", str(tmp_path / "split")]) == 0
    assert main([*base, "--epochs", "2", "--resume", "--out", str(tmp_path / "split")]) == 0
    assert made == [2, 2, 2]
    a, _, _ = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")
    b, _, _ = load_checkpoint(tmp_path / "split" / "checkpoint.npz")
    for k, p in a.params.items():
        assert np.array_equal(p, b.params[k]), k
    capsys.readouterr()


def test_train_on_an_idx_directory_records_its_fingerprint(tmp_path, capsys):
    """--data DIR with the four MNIST IDX files: trains, and records the files' SHA-256 for --resume to compare."""
    from test_data import write_mnist_dir

    from tinyvae.training.data import fingerprint
    from tinyvae.training.checkpoint import read_checkpoint

    data = tmp_path / "mnist"
    data.mkdir()
    write_mnist_dir(data, np.random.default_rng(0), n_train=40, n_test=20)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--epochs", "1", "--hidden", "8", "--no-plots", "--out", str(out)]) == 0
    assert read_checkpoint(out / "checkpoint.npz").meta["run_config"]["data_hash"] == fingerprint(data)
    capsys.readouterr()
