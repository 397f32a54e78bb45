"""The command line on posterior collapse: the diagnostics every run prints and records, the one warning
line of a collapsed run (train and evaluate), and the remedies' flags."""

import json
import math

import numpy as np

from tinyvae.cli import main
from tinyvae.training.checkpoint import read_checkpoint

# PyTorch's one-layer 784-400-2 (the default model before issue 24, as it was trained), two short epochs:
# cli_run's flags over builders.TINY (later flags win)
SMALL = ("--hidden", "400", "--lr", "1e-3", "--batch-size", "128", "--epochs", "2", "--limit", "1000")


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "collapse" in line]


def test_beta_30_on_the_one_layer_model_warns_of_collapse_and_beta_1_does_not(cli_run, capsys):
    """No number typed in: the line must carry the sum of the last epoch's kl_per_dim, which must be under log 2."""
    b30 = cli_run("--beta", "30", *SMALL)
    out, err = b30.stdout, b30.stderr
    metrics = json.loads((b30.folder / "metrics.json").read_text())["epochs"]
    assert [len(m["kl_per_dim"]) for m in metrics] == [2, 2]
    assert all(abs(sum(m["kl_per_dim"]) - m["test_kl"]) < 1e-4 for m in metrics)  # float32 sums of one KL
    kl = metrics[-1]["kl_per_dim"]
    assert sum(kl) < math.log(2) and metrics[-1]["test_kl"] < max(m["test_kl"] for m in metrics)
    (line,) = _warnings(err)  # one line
    assert line.startswith(f"warning: posterior collapse: the code carries {sum(kl):.2f} nats per image, less than "
                           f"one bit (log 2), with {metrics[-1]['active_units']}/2 active units")
    for part in ("β = 30", "--kl-warmup", "--free-bits", "a lower --beta", "walkthroughs/13_when_a_vae_fails.md"):
        assert part in line, part
    assert f"KL per dimension {kl[0]:.2f}, {kl[1]:.2f} (total {sum(kl):.2f} nats)" in out
    assert main(["evaluate", str(b30.folder), "--iwae", "2"]) == 0
    out, err = capsys.readouterr()
    assert _warnings(err) == [line] and f"KL per latent dimension   {kl[0]:.3f}, {kl[1]:.3f} nats" in out

    b1 = cli_run(*SMALL)
    out, err = b1.stdout, b1.stderr
    kl = json.loads((b1.folder / "metrics.json").read_text())["epochs"][-1]["kl_per_dim"]
    assert _warnings(err) == [] and sum(kl) > math.log(2) and f"(total {sum(kl):.2f} nats)" in out
    assert main(["evaluate", str(b1.folder), "--iwae", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert _warnings(err) == [] and not report["collapsed"] and len(report["kl_per_dim"]) == 2


def test_a_young_run_is_not_called_collapsed(cli_run):
    """One epoch: the KL has only started rising; the summary says it is too early, no warning."""
    run = cli_run()
    assert _warnings(run.stderr) == [] and "under log 2 but still rising: too early to call it collapse" in run.stdout


def test_an_autoencoder_has_no_kl_diagnostics_and_says_so(tmp_path, capsys):
    assert main(["train", "--model", "ae", "--epochs", "2", "--hidden", "16", "--limit", "200", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "an AE has no posterior, so no KL per dimension and no collapse check" in out and _warnings(err) == []
    metrics = json.loads((tmp_path / "metrics.json").read_text())["epochs"]
    assert "kl_per_dim" not in metrics[0] and metrics[0]["active_units"] in (0, 1, 2)
    assert (tmp_path / "loss_curves.png").is_file()
    assert main(["evaluate", str(tmp_path), "--iwae", "2"]) == 0
    assert "an AE has no posterior q(z|x): no KL per dimension and no collapse check" in capsys.readouterr().out


def test_warmup_is_recorded_kept_on_resume_and_free_bits_train_the_conv_model_with_the_batch_whole(
        cli_run, tmp_path, monkeypatch, capsys):
    run = cli_run("--kl-warmup", "2", "--epochs", "2").copy_to(tmp_path / "warm")
    assert main(["train", "--resume", "--epochs", "3", "--out", str(run)]) == 0  # takes the saved warm-up
    meta = read_checkpoint(run / "checkpoint.npz").meta
    assert meta["run_config"]["kl_warmup"] == 2 and meta["epoch"] == 3
    assert json.loads((run / "config.json").read_text())["run"]["kl_warmup"] == 2

    from tinyvae.training import parallel

    made: list[int] = []
    monkeypatch.setattr(parallel.DataParallel, "__init__", lambda self, model, workers: made.append(workers))
    conv = tmp_path / "conv"
    assert main(["train", "--arch", "conv", "--free-bits", "0.5", "--threads", "2", "--epochs", "1", "--limit", "40",
                 "--batch-size", "16", "--no-plots", "--out", str(conv)]) == 0
    assert made == []  # free bits need the whole batch's KL: no split between threads
    meta = read_checkpoint(conv / "checkpoint.npz").meta
    assert meta["architecture"]["free_bits"] == 0.5 and meta["run_config"]["threads"] == 2
    assert np.isfinite(meta["metrics"][0]["train_loss"])
    capsys.readouterr()
