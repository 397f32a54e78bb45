"""Hostile input, second review: paths Python cannot resolve, inputs that are not regular files,
older records' relative paths, and figures of a 1-D latent space. Each ends in one line, or works.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from cli_check import one_line
from builders import TINY
from test_hostile import craft, digits_npz, meta_of, setp
from tinyvae.cli import main


@pytest.fixture(scope="module")
def good_npz(cli_run, tmp_path_factory):
    """A run trained on an .npz file: (run folder, data file)."""
    data = digits_npz(tmp_path_factory.mktemp("good_npz") / "d.npz")
    return cli_run("--data", str(data)).folder, data


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    return tmp_path / "loop"


BAD_PATHS = {  # name: (make(tmp) -> the path string, what the one line says)
    "symlink-loop": (lambda t: str(_loop(t)), "cannot resolve this path"),
    "no-such-user": (lambda t: "~nosuchuser_tinyvae/x.npz", "--data ~nosuchuser_tinyvae/x.npz: cannot resolve"),
    "dev-null": (lambda t: "/dev/null", "not a regular file or a directory (a device)"),
    "dev-zero": (lambda t: "/dev/zero", "not a regular file or a directory (a device)"),
    "fifo": (lambda t: (os.mkfifo(t / "f.npz"), str(t / "f.npz"))[1], "not a regular file or a directory (a FIFO)"),
}


@pytest.mark.parametrize("case", BAD_PATHS)
@pytest.mark.parametrize("command", ["train", "evaluate", "explore", "compare"])
def test_a_path_that_cannot_be_resolved_or_is_not_a_file_is_one_line(good_npz, tmp_path, capsys, case, command):
    make, message = BAD_PATHS[case]
    path = make(tmp_path)
    argv = {"train": ["train", *TINY, "--out", str(tmp_path / "o")], "evaluate": ["evaluate", str(good_npz[0])],
            "explore": ["explore", str(good_npz[0]), "--out", str(tmp_path / "e.html")],
            "compare": ["compare", "beta", "--out", str(tmp_path / "c")]}[command]
    assert message in one_line([*argv, "--data", path], capsys)


@pytest.mark.parametrize("case", ["symlink-loop", "no-such-user", "dev-null", "fifo"])
def test_the_same_paths_inside_a_checkpoint_are_one_line(good_npz, tmp_path, capsys, case):
    make, message = BAD_PATHS[case]
    path = make(tmp_path)
    run = craft(good_npz[0], tmp_path / "run", meta=setp("run_config", "data", path))
    message = message.replace("--data ~", "~")  # the recorded path is named as it is
    assert message.split(":")[-1].strip() in one_line(["train", "--resume", "--epochs", "2", "--out", str(run)], capsys)
    assert message.split(":")[-1].strip() in one_line(["evaluate", str(run)], capsys)


def test_a_relative_path_in_an_older_record_is_read_in_the_run_folder(good_npz, tmp_path, capsys, monkeypatch):
    """An older tinyvae recorded --data as given; the run folder, not the current directory, is where it
    is looked for: an unrelated d.npz in the current directory is not used."""
    run, data = good_npz
    folder = tmp_path / "old"
    craft(run, folder, meta=setp("run_config", "data", "d.npz"))
    (folder / "d.npz").write_bytes(data.read_bytes())
    monkeypatch.chdir(tmp_path)
    digits_npz(tmp_path / "d.npz", y_test=np.zeros(10, int))  # unrelated: the hash would differ
    assert main(["evaluate", str(folder), "--iwae", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == "d"
    assert main(["explore", str(folder), "--out", str(tmp_path / "e.html")]) == 0
    assert main(["train", "--resume", "--epochs", "2", "--no-plots", "--out", str(folder)]) == 0
    assert meta_of(folder / "checkpoint.npz")["run_config"]["data"] == str(folder / "d.npz")  # recorded absolute


def test_a_relative_recorded_path_without_a_run_folder_is_refused(good_npz):
    from tinyvae.training.runs import load_with_state, run_data

    model, state, _ = load_with_state(good_npz[0])
    state["run_config"]["data"] = "d.npz"
    with pytest.raises(ValueError, match="relative path 'd.npz', and no run folder"):
        run_data(state, model)


@pytest.mark.parametrize("which", ["beta", "all"])
def test_compare_with_a_one_dimensional_latent_space_draws_every_figure(tmp_path, which):
    out = tmp_path / which
    tiny = ["--epochs", "1", "--limit", "100", "--hidden", "8", "--betas", "0", "4"]
    assert main(["compare", which, "--latent", "1", "--out", str(out), *tiny]) == 0
    assert (out / "beta_sweep_manifold.png").stat().st_size > 0 and (out / "compare.json").is_file()


# ---- messages that name the right thing ------------------------------------------------------------
def _neg_shape_npz(path: Path) -> Path:
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (-1, -2)})
    return digits_npz(path, x_train=header.getvalue() + b"\0\0")


def _idx_255_dims(d: Path) -> Path:
    from test_hostile import mnist_dir

    mnist_dir(d, gz=False)
    (d / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 255]) + (1).to_bytes(4, "big") * 255 + b"\0")
    return d


MESSAGES = {  # name: (make(tmp) -> data path, what the one line must say)
    "int8-minus-5": (lambda t: digits_npz(t / "d.npz", x_train=np.full((20, 784), -5, np.int8)),
                     "x_train integer pixels must lie in [0, 255], got [-5, -5]"),
    "int8-minus-5-to-1": (lambda t: digits_npz(t / "d.npz", x_train=np.tile(np.int8([-5, 1]), (20, 392))),
                          "integer pixels must lie in [0, 255], got [-5, 1]"),
    "label-1e20": (lambda t: digits_npz(t / "d.npz", y_test=np.full(10, 1e20)),
                   "y_test labels must lie in 0-9, got values in [1e+20, 1e+20]"),
    "label-2**64-1": (lambda t: digits_npz(t / "d.npz", y_test=np.full(10, 2**64 - 1, np.uint64)),
                      "got values in [18446744073709551615, 18446744073709551615]"),
    "label-int64-min": (lambda t: digits_npz(t / "d.npz", y_test=np.full(10, -2**63)),
                        "got values in [-9223372036854775808, -9223372036854775808]"),
    "npy-negative-shape": (lambda t: _neg_shape_npz(t / "d.npz"),
                           "d.npz: member 'x_train.npy' declares shape (-1, -2), not an array shape"),
    "idx-255-dims": (lambda t: _idx_255_dims(t / "m"), "t10k-labels-idx1-ubyte: IDX header says 255 dimensions"),
}


@pytest.mark.parametrize("case", MESSAGES)
def test_messages_name_the_right_thing(tmp_path, capsys, case):
    make, message = MESSAGES[case]
    line = one_line(["train", *TINY, "--data", str(make(tmp_path)), "--out", str(tmp_path / "o")], capsys)
    assert message in line


@pytest.mark.parametrize("old,mode", [(False, "none"), (True, "static")])
def test_an_older_records_binarize_true_false_is_read_on_resume_too(good_npz, tmp_path, capsys, old, mode):
    """The reader reads binarize true/false as static/none; resume (with or without the flag) does too."""
    for name, flags in (("bare", []), ("flag", ["--binarize", mode])):
        run = craft(good_npz[0], tmp_path / name, meta=setp("run_config", "binarize", old))
        assert main(["train", "--resume", "--epochs", "2", "--no-plots", "--out", str(run), *flags]) == 0, name
        assert meta_of(run / "checkpoint.npz")["run_config"]["binarize"] == mode
    run = craft(good_npz[0], tmp_path / "other", meta=setp("run_config", "binarize", old))
    other = "dynamic"
    assert "--binarize dynamic would change it" in one_line(
        ["train", "--resume", "--epochs", "2", "--out", str(run), "--binarize", other], capsys)


@pytest.mark.parametrize("command", ["train", "compare"])
def test_an_out_that_is_a_device_or_fifo_is_not_called_a_file(tmp_path, capsys, command):
    os.mkfifo(tmp_path / "fifo")
    for out, what in (("/dev/null", "not a regular file (a device, FIFO or socket)"),
                      (str(tmp_path / "fifo"), "not a regular file")):
        assert f"--out {out} is {what}" in one_line([command, "--out", out], capsys)
