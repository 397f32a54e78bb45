"""No run erases another: a run without --out gets runs/<kind>-<n> and runs/latest points at it; an --out
that holds another run is refused in one line unless --resume or --overwrite."""

import os
from pathlib import Path

import pytest

import tinyvae
from builders import TINY
from cli_check import one_line
from tinyvae.cli import main
from tinyvae.training import run_folders


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def test_two_runs_in_a_row_leave_both(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY]) == 0
    first = _files(tmp_path / "runs" / "vae-1")
    out = capsys.readouterr().out
    assert "run folder: runs/vae-1\n" in out and "(runs/latest points at runs/vae-1)" in out
    assert main(["train", *TINY, "--seed", "1"]) == 0
    assert main(["train", *TINY, "--model", "cvae"]) == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["cvae-1", "latest", "vae-1", "vae-2"]
    assert _files(tmp_path / "runs" / "vae-1") == first  # untouched by the runs after it
    assert {"checkpoint.npz", "metrics.json", "config.json"} <= set(_files(tmp_path / "runs" / "vae-2"))
    assert os.readlink(tmp_path / "runs" / "latest") == "cvae-1"  # relative: the runs folder can move
    assert tinyvae.load("runs/latest").describe().startswith("CVAE")
    capsys.readouterr()
    assert main(["evaluate", "runs/latest"]) == 0 and "cvae" in capsys.readouterr().out
    assert main(["train", "--resume", "--epochs", "2"]) == 0  # without --out: the newest run, runs/latest
    assert "after 2 epochs" in capsys.readouterr().out and _files(tmp_path / "runs" / "vae-1") == first


def test_an_out_holding_another_run_is_refused_in_one_line(cli_run, tmp_path, capsys):
    out = cli_run().copy_to(tmp_path / "run")
    before = _files(out)
    line = one_line(["train", *TINY, "--latent", "3", "--out", str(out)], capsys)
    assert f"--out {out} holds another run (checkpoint.npz); pass --resume to continue it, --overwrite" in line
    assert _files(out) == before
    assert "pass one of them" in one_line(["train", "--resume", "--overwrite", "--out", str(out)], capsys)
    assert _files(out) == before


def test_overwrite_leaves_no_file_of_the_earlier_run(cli_run, tmp_path, capsys):
    out = cli_run().copy_to(tmp_path / "run")
    for stale in ("manifold.png", "explore.html", "interpolation.png"):  # as a 2-D run with figures leaves them
        (out / stale).write_bytes(b"old")
    (out / "notes.txt").write_text("mine")  # not tinyvae's: kept
    assert main(["train", *TINY, "--latent", "3", "--overwrite", "--out", str(out)]) == 0
    assert sorted(_files(out)) == ["checkpoint.npz", "config.json", "metrics.json", "notes.txt"]
    assert tinyvae.load(out).z_dim == 3


def test_without_symbolic_links_latest_is_a_text_pointer(tmp_path, monkeypatch, capsys):
    def no_links(*args, **kwargs):
        raise OSError(1, "symbolic links are not allowed here")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "symlink", no_links)
    assert main(["train", *TINY]) == 0 and main(["train", *TINY, "--seed", "1"]) == 0
    latest = tmp_path / "runs" / "latest"
    assert latest.is_file() and not latest.is_symlink() and latest.read_text() == "vae-2\n"
    assert tinyvae.load("runs/latest").config() == tinyvae.load("runs/vae-2").config()
    capsys.readouterr()
    assert main(["explore", "runs/latest"]) == 0 and (tmp_path / "runs" / "vae-2" / "explore.html").is_file()
    assert main(["train", "--resume", "--epochs", "2"]) == 0
    assert tinyvae.training.runs.load_with_state("runs/vae-2")[1]["epoch"] == 2
    assert tinyvae.training.runs.load_with_state("runs/vae-1")[1]["epoch"] == 1


@pytest.mark.parametrize("content", ["../../etc\n", "vae-9\n", "x" * 100, "vae-1\n" * 20])
def test_a_pointer_names_a_run_folder_beside_it_or_is_refused(tmp_path, content, capsys):
    (tmp_path / "vae-1").mkdir()
    (tmp_path / "latest").write_text(content)
    with pytest.raises(FileNotFoundError, match="is not a run folder, nor a pointer to one"):
        run_folders.follow_latest(tmp_path / "latest")
    assert "is not a run folder, nor a pointer to one" in one_line(["evaluate", str(tmp_path / "latest")], capsys)


def test_an_earlier_tinyvae_latest_folder_is_left_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "runs" / "latest"
    old.mkdir(parents=True)
    (old / "checkpoint.npz").write_bytes(b"an older run")
    assert main(["train", *TINY]) == 0
    assert "runs/latest is an earlier run's folder, left as it is" in capsys.readouterr().out
    assert (old / "checkpoint.npz").read_bytes() == b"an older run" and (tmp_path / "runs" / "vae-1").is_dir()


def test_folder_names_count_up_per_kind(tmp_path):
    for name in ("vae-1", "vae-7", "vae-x", "cvae-3", "conv-2"):
        (tmp_path / name).mkdir()
    assert run_folders.new_run_folder(tmp_path, "vae").name == "vae-8"
    assert run_folders.new_run_folder(tmp_path, "cvae").name == "cvae-4"
    assert run_folders.new_run_folder(tmp_path, "ae").name == "ae-1"
    assert run_folders.kind_of("vae", "conv") == "conv" and run_folders.kind_of("cvae", "mlp") == "cvae"


def test_the_run_files_include_every_figure():
    from tinyvae.figures import plots

    assert set(plots.FILES) <= set(run_folders.RUN_FILES)


def test_a_failed_new_run_leaves_no_folder_and_latest_unmoved(tmp_path, monkeypatch):
    """A run that diverges in its first epoch: its new folder is removed, runs/latest still names the good run."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY]) == 0
    assert main(["train", *TINY, "--lr", "1e6"]) != 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["latest", "vae-1"]
    assert (tmp_path / "runs" / "latest").resolve() == (tmp_path / "runs" / "vae-1").resolve()


def test_overwrite_keeps_the_earlier_run_until_the_new_one_saves(cli_run, tmp_path, monkeypatch):
    """--overwrite whose new run fails in epoch 1 leaves the earlier run whole; one that succeeds leaves none of it."""
    monkeypatch.chdir(tmp_path)
    out = cli_run().copy_to(tmp_path / "r")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    (out / "samples.png").write_bytes(b"an earlier figure")
    assert main(["train", *TINY, "--out", str(out), "--overwrite", "--lr", "1e6"]) != 0
    assert (out / "checkpoint.npz").read_bytes() == before["checkpoint.npz"] and (out / "samples.png").exists()
    assert main(["train", *TINY, "--out", str(out), "--overwrite", "--seed", "1"]) == 0
    assert not (out / "samples.png").exists() and (out / "checkpoint.npz").read_bytes() != before["checkpoint.npz"]


def test_a_run_fit_wrote_on_the_bundled_digits_can_be_evaluated(tmp_path):
    """``fit`` on the bundled digits records no data path (it recorded their name, "mnist-5k", which the
    command line then looked for as a file in the run folder)."""
    from tinyvae.training.data import load
    from tinyvae.training.runs import load_with_state

    run = tmp_path / "fitrun"
    tinyvae.fit(tinyvae.VAE(784, [8], 2, rng=0), load().subset(200, 100), epochs=1, out_dir=run, progress=False)
    assert load_with_state(run)[1]["run_config"]["data"] is None
    assert main(["evaluate", str(run), "--iwae", "2"]) == 0
