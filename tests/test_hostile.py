"""Hostile input: crafted checkpoints, damaged and oversized data files, absurd flags.

Every case must end in ONE line on stderr (``tinyvae CMD: error: ...``) naming what is wrong, a
non-zero exit status and no traceback; nothing named in a file is ever imported or run (a sentinel
file is never created, no module outside a fixed list is imported); the memory bombs are refused by
their headers, in a subprocess whose address space is limited (RLIMIT_AS) and whose peak memory is
measured. The README's section "What tinyvae trusts" states the contract these tests hold it to.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from builders import TINY
from cli_check import one_line
from tinyvae.cli import main
from tinyvae.training.checkpoint import lock_run_folder

ROOT = Path(__file__).resolve().parents[1]


# ---- a good run, and crafted copies of its checkpoint ----------------------------------------------
@pytest.fixture(scope="module")
def good(cli_run):
    return cli_run().folder


def members(ckpt: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(ckpt) as z:
        return {n: z.read(n) for n in z.namelist()}


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


def meta_of(ckpt: Path) -> dict:
    return json.loads(str(np.load(io.BytesIO(members(ckpt)["meta.npy"]))))


def write_zip(path: Path, files: dict[str, bytes], compress: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for n, b in files.items():
            z.writestr(n, b)
    return path


def craft(good: Path, dst: Path, *, meta=None, text=None, files=None) -> Path:
    """A run folder ``dst`` whose checkpoint is the good one with ``meta`` changed (a function of the
    meta dict), or its meta record replaced by ``text``, or members changed by ``files``."""
    m = members(good / "checkpoint.npz")
    if meta is not None:
        d = meta_of(good / "checkpoint.npz")
        meta(d)
        text = json.dumps(d)
    if text is not None:
        m["meta.npy"] = npy(np.array(text))
    if files is not None:
        files(m)
    write_zip(dst / "checkpoint.npz", m)
    return dst


def setp(*path_and_value):
    *path, value = path_and_value

    def change(d):
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return change


def delp(*path):
    def change(d):
        for k in path[:-1]:
            d = d[k]
        del d[path[-1]]
    return change


def param(fn):
    """Replace the first parameter member's array by fn(array)."""
    def change(m):
        name = next(n for n in m if n.startswith("param/"))
        m[name] = npy(fn(np.load(io.BytesIO(m[name]))))
    return change


CHECKPOINTS = {  # name: (craft keywords, what the one line must say)
    "backend-module": (dict(meta=setp("run_config", "backend", "payload")), "run_config.backend: expected one of"),
    "backend-this": (dict(meta=setp("run_config", "backend", "this")), "run_config.backend: expected one of"),
    "dtype-object": (dict(meta=setp("dtype", "object")), "meta.dtype: expected one of ['float32', 'float64']"),
    "run-dtype-object": (dict(meta=setp("run_config", "dtype", "object")), "run_config.dtype: expected one of"),
    "activation": (dict(meta=setp("architecture", "activation", "os.system")), "architecture.activation"),
    "model-kind": (dict(meta=setp("architecture", "model", "gan")), "architecture.model: expected one of"),
    "not-npy-member": (dict(files=lambda m: m.update({"notes.txt": b"hi"})), "'notes.txt' is not an .npy array name"),
    "path-member": (dict(files=lambda m: m.update({"../x.npy": npy(np.zeros(2))})), "'../x.npy' is not an .npy"),
    "abs-member": (dict(files=lambda m: m.update({"/etc/x.npy": npy(np.zeros(2))})), "is not an .npy array name"),
    "foreign-member": (dict(files=lambda m: m.update({"extra.npy": npy(np.zeros(2))})), "'extra' is not part of"),
    "deep-json": (dict(text="[" * 200_000 + "]" * 200_000), "nested too deeply"),
    "not-json": (dict(text="{'a': 1"), "not valid JSON"),
    "huge-json": (dict(text=" " * (9 << 20)), "member 'meta.npy' holds 37,748,864 bytes, more than the"),
    "no-lr": (dict(meta=delp("optimizer", "lr")), "meta.optimizer: missing key(s) ['lr']"),
    "one-beta": (dict(meta=setp("optimizer", "betas", [0.9])), "optimizer.betas: Adam betas must be two numbers in [0, 1), got (0.9,)"),
    "beta-one": (dict(meta=setp("optimizer", "betas", [1.0, 0.999])), "optimizer.betas: Adam betas must be two numbers in [0, 1), got (1.0, 0.999)"),
    "t-infinity": (dict(meta=setp("optimizer", "t", float("inf"))), "Infinity is not a number tinyvae accepts"),
    "t-float": (dict(meta=setp("optimizer", "t", 1.5)), "optimizer.t: expected an integer"),
    "rng-2**200": (dict(meta=setp("rng_state", "state", "state", 2**200)), "rng_state.state.state: expected an"),
    "rng-mt": (dict(meta=setp("rng_state", "bit_generator", "MT19937")), "bit_generator: expected one of"),
    "run-config-list": (dict(meta=setp("run_config", [1, 2])), "meta.run_config: expected an object"),
    "limit-infinity": (dict(meta=setp("run_config", "limit", float("inf"))), "Infinity is not a number"),
    "limit-huge-float": (dict(meta=setp("run_config", "limit", 1e300)), "run_config.limit: expected an integer"),
    "limit-bool": (dict(meta=setp("run_config", "limit", True)), "run_config.limit: expected an integer"),
    "data-number": (dict(meta=setp("run_config", "data", 7)), "run_config.data: expected a string"),
    "metrics-empty-row": (dict(meta=setp("metrics", [{}])), "meta.metrics[0]: missing key(s)"),
    "metrics-mismatch": (dict(meta=setp("epoch", 5)), "the metrics record epochs"),
    "hidden-huge": (dict(meta=setp("architecture", "hidden_dims", [10**9])), "hidden_dims[0]: expected an integer"),
    "hidden-many": (dict(meta=setp("architecture", "hidden_dims", [60000] * 4)), "parameters, more than tinyvae"),
    "hidden-float": (dict(meta=setp("architecture", "hidden_dims", [1.9])), "hidden_dims[0]: expected an integer"),
    "n-classes": (dict(meta=setp("architecture", "n_classes", 10**9)), "architecture.n_classes"),
    "beta-string": (dict(meta=setp("architecture", "beta", "1")), "architecture.beta: expected a finite number"),
    "unknown-key": (dict(meta=setp("architecture", "module", "os")), "unknown key(s) ['module']"),
    "version-string": (dict(meta=setp("format_version", "1")), "format_version: expected an integer"),
    "epoch-negative": (dict(meta=setp("epoch", -1)), "meta.epoch: expected an integer in [0, 1000000]"),
    "nan-weights": (dict(files=param(lambda a: np.full_like(a, np.nan))), "holds NaN or inf values"),
    "inf-weights": (dict(files=param(lambda a: np.full_like(a, np.inf))), "holds NaN or inf values"),
    "int-weights": (dict(files=param(lambda a: a.astype(np.int64))), "has dtype int64, but the checkpoint says"),
    "object-weights": (dict(files=param(lambda a: np.array([{"x": 1}], dtype=object))), "pickled Python objects"),
    "oversized-member": (dict(files=param(lambda a: np.zeros(10**6, a.dtype))), "more than the"),
    "wrong-shape": (dict(files=param(lambda a: np.zeros(a.size + 1, a.dtype))), "expected shape"),
    "no-meta": (dict(files=lambda m: m.pop("meta.npy")), "no 'meta' record"),
}
COMMANDS = {"evaluate": ["evaluate", "{run}"], "sample": ["sample", "{run}", "--out", "{tmp}/s.npy"],
            "resume": ["train", "--resume", "--epochs", "2", "--no-plots", "--out", "{run}"]}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CHECKPOINTS)
def test_crafted_checkpoint_is_one_line(good, tmp_path, capsys, case, command):
    kw, message = CHECKPOINTS[case]
    run = craft(good, tmp_path / "run", **kw)
    line = one_line([a.format(run=run, tmp=tmp_path) for a in COMMANDS[command]], capsys)
    assert message in line, line
    assert not (tmp_path / "s.npy").exists()


def test_truncated_and_foreign_checkpoints(good, tmp_path, capsys):
    raw = (good / "checkpoint.npz").read_bytes()
    for cut in (10, len(raw) // 3, len(raw) - 5):
        (tmp_path / "c.npz").write_bytes(raw[:cut])
        assert "probably truncated or damaged" in one_line(["evaluate", str(tmp_path / "c.npz")], capsys)
    (tmp_path / "c.npz").write_bytes(b"\x93NUMPY" + raw)
    assert "not an .npz (zip) file" in one_line(["evaluate", str(tmp_path / "c.npz")], capsys)


# ---- damaged and crafted data files --------------------------------------------------------------
def idx(a: np.ndarray) -> bytes:
    return bytes([0, 0, 8, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape) + a.astype(">u1").tobytes()


def mnist_dir(d: Path, n: int = 20, gz: bool = True) -> Path:
    rng = np.random.default_rng(0)
    d.mkdir(parents=True, exist_ok=True)
    parts = {"train-images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28)), "train-labels-idx1-ubyte": rng.integers(0, 10, n),
             "t10k-images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28)), "t10k-labels-idx1-ubyte": rng.integers(0, 10, n)}
    for name, a in parts.items():
        (d / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(idx(a)) if gz else idx(a))
    return d


def digits_npz(path: Path, **over) -> Path:
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (20, 784), dtype=np.uint8), "y_train": rng.integers(0, 10, 20),
              "x_test": rng.integers(0, 256, (10, 784), dtype=np.uint8), "y_test": rng.integers(0, 10, 10)}
    arrays.update(over)
    write_zip(path, {f"{k}.npy": v if isinstance(v, bytes) else npy(v) for k, v in arrays.items()})
    return path


def flip_gz(d: Path) -> Path:
    p = d / "train-images-idx3-ubyte.gz"
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in the deflate stream
    p.write_bytes(bytes(raw))
    return d


def surplus_gz(d: Path) -> Path:
    p = d / "train-labels-idx1-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes()) + b"\0" * 1000))
    return d


def cut_idx(d: Path) -> Path:
    (d / "t10k-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03")
    return d


def not_a_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + b"\0" * 50)
    return path


def huge_header_npz(path: Path) -> Path:  # a header claiming (10**12, 784) bytes, and 10 bytes of data
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10**12, 784)})
    return digits_npz(path, x_train=header.getvalue() + b"\0" * 10)


DATA = {  # name: (make(tmp) -> path, what the one line must say)
    "gz-flipped-byte": (lambda t: flip_gz(mnist_dir(t / "m")), "is a damaged gzip file"),
    "gz-surplus": (lambda t: surplus_gz(mnist_dir(t / "m")), "the file is truncated or damaged"),
    "idx-cut": (lambda t: cut_idx(mnist_dir(t / "m", gz=False)), "IDX header cut short"),
    "npz-path-member": (lambda t: digits_npz(t / "d.npz", **{"../../evil": np.zeros(3)}), "is not an .npy array name"),
    "npz-huge-header": (lambda t: huge_header_npz(t / "d.npz"), "refused before reading it"),
    "npz-object": (lambda t: digits_npz(t / "d.npz", y_test=np.array([None] * 10)), "pickled Python objects"),
    "npz-float-0-2": (lambda t: digits_npz(t / "d.npz", x_train=np.full((20, 784), 2.0)), "float pixels must lie in [0, 1]"),
    "npz-float-0-100": (lambda t: digits_npz(t / "d.npz", x_train=np.full((20, 784), 99.0)), "store them as integers"),
    "npz-int-0-1": (lambda t: digits_npz(t / "d.npz", x_train=np.ones((20, 784), np.int64)), "integer pixels 0-1"),
    "npz-int-300": (lambda t: digits_npz(t / "d.npz", x_train=np.full((20, 784), 300)), "must lie in [0, 255]"),
    "npz-label-10": (lambda t: digits_npz(t / "d.npz", y_test=np.full(10, 10)), "labels must lie in 0-9"),
    "npz-bytes": (lambda t: not_a_zip(t / "d.npz"), "probably truncated"),
}


@pytest.mark.parametrize("case", DATA)
def test_damaged_data_is_one_line(tmp_path, capsys, case):
    make, message = DATA[case]
    path = make(tmp_path)
    assert message in one_line(["train", *TINY, "--data", str(path), "--out", str(tmp_path / "out")], capsys)
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


# ---- absurd flags --------------------------------------------------------------------------------
FLAGS = [
    (["train", "--seed", "-1"], "--seed must be an integer from 0 to 2**63 - 1, got -1"),
    (["train", "--seed", str(2**64)], "--seed must be an integer"),
    (["train", "--out", "{tmp}/file.txt"], "is a file, not a run directory"),
    (["train", "--hidden", "1000000000"], "the 1st value of --hidden must be an integer from 1 to 65,536, got 1,000,000,000"),
    (["train", "--hidden", "60000", "60000"], "parameters, more than tinyvae builds"),
    (["train", "--latent", "100000"], "--latent must be an integer from 1 to 65,536, got 100,000"),
    (["train", "--epochs", "10000000"], "--epochs must be an integer from 1 to 1,000,000, got 10,000,000"),
    (["train", "--lr", "inf"], "--lr must be a positive number"),
    (["train", "--lr", "1e300"], "--lr must be a positive number, at most 1e6, got 1e300"),
    (["train", "--beta", "inf"], "--beta must be a number from 0 to 1e6, got inf"),
    (["evaluate", "{run}", "--iwae", "1000000000"],
     "--iwae must be an integer from 1 to 100,000 IWAE samples per image, got 1,000,000,000"),
    (["evaluate", "{run}", "--seed", "-1"], "--seed must be an integer"),
    (["evaluate", "{run}", "--data", "{tmp}/nope"], "no such file or directory"),
    (["sample", "{run}", "--n", "100000000", "--out", "{tmp}/x.npy"], "--n 100000000 samples needs about"),
    (["sample", "{run}", "--n", "100000", "--out", "{tmp}/x.png"], "too many for one .png grid"),
    (["sample", "{run}", "--seed", "-5", "--out", "{tmp}/x.npy"], "--seed must be an integer"),
    (["sample", "{run}", "--out", "{tmp}"], "name a .npy file"),
    (["compare", "beta", "--betas", "inf"], "--betas must be a number from 0 to 1e6, got inf"),
    (["compare", "beta", "--betas", "nan"], "--betas must be a number from 0 to 1e6, got nan"),
    (["compare", "--seed", "-1"], "--seed must be an integer"),
    (["compare", "--out", "{tmp}/file.txt"], "is a file; name a directory"),
    (["compare", "--lr", "nan"], "--lr must be a positive number"),
    (["train", "--resume", "--batch-size", "7", "--out", "{run}"], "with --batch-size 64; --batch-size 7 would change it"),
    (["train", "--resume", "--limit", "10", "--out", "{run}"], "with --limit 200; --limit 10 would change it"),
    (["train", "--resume", "--seed", "9", "--out", "{run}"], "--seed 9 would change it"),
    (["train", "--resume", "--dtype", "float64", "--out", "{run}"], "with --dtype float32; --dtype float64 would change it"),
    (["train", "--resume", "--data", "{tmp}/d.npz", "--out", "{run}"], "--data {tmp}/d.npz would change it"),
]


@pytest.mark.parametrize("argv,message", FLAGS, ids=[" ".join(a[:4]) for a, _ in FLAGS])
def test_absurd_flags_are_one_line(good, tmp_path, capsys, argv, message):
    (tmp_path / "file.txt").write_text("not a folder")
    digits_npz(tmp_path / "d.npz")
    argv = [a.format(tmp=tmp_path, run=good) for a in argv]
    assert message.format(tmp=tmp_path) in one_line(argv, capsys)


def test_resume_refuses_beta_for_an_autoencoder(cli_run, tmp_path, capsys):
    run = cli_run("--model", "ae").copy_to(tmp_path / "run")
    assert "--beta acts on the KL term, which a plain autoencoder (--model ae) does not have" in one_line(
        ["train", "--resume", "--beta", "2", "--out", str(run)], capsys)


# ---- the data a run recorded ---------------------------------------------------------------------
def test_data_path_is_absolute_and_hashed_and_evaluate_can_point_elsewhere(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    digits_npz(tmp_path / "d.npz")
    assert main(["train", *TINY, "--data", "d.npz", "--out", "run"]) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())["run"]
    assert cfg["data"] == str(tmp_path / "d.npz") and len(cfg["data_hash"]) == 64
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the recorded path still finds the file
    assert main(["evaluate", "../run", "--iwae", "2"]) == 0
    capsys.readouterr()
    digits_npz(tmp_path / "d.npz", y_test=np.zeros(10, int))  # the same name, other contents
    changed = (f"--data {tmp_path / 'd.npz'} has changed since this run was trained (its SHA-256 differs from the one "
               f"the run recorded): to evaluate it as it is now, pass it as --data PATH; to train on it, start a new "
               f"run in another --out DIR")  # one rule (training/runs.check_data_hash), one message
    assert one_line(["evaluate", "../run"], capsys).endswith(changed)
    assert one_line(["train", "--resume", "--epochs", "2", "--out", "../run"], capsys).endswith(changed)
    assert main(["evaluate", "../run", "--iwae", "2", "--data", str(tmp_path / "d.npz")]) == 0  # told to: it does
    (tmp_path / "d.npz").unlink()
    assert "which is not there (any more); point to the data with --data PATH" in one_line(["evaluate", "../run"], capsys)
    assert "which is not there (any more); point to the data with --data PATH" in one_line(["explore", "../run"], capsys)
    digits_npz(tmp_path / "moved.npz")
    assert main(["explore", "../run", "--data", str(tmp_path / "moved.npz")]) == 0  # explore reads the run's data


# ---- operational ---------------------------------------------------------------------------------
def test_second_writer_is_refused(good, tmp_path, capsys):
    out = tmp_path / "run"
    with lock_run_folder(out):
        line = one_line(["train", *TINY, "--out", str(out)], capsys)
        assert "another tinyvae process is writing to" in line and line.endswith("or pass another --out DIR")
    assert main(["train", *TINY, "--out", str(out)]) == 0  # the lock is released with its holder


def test_stale_temporaries_swept_mode_follows_umask_config_matches_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    for i in range(3):
        (out / f".checkpoint.npz.killed{i}.tmp").write_bytes(b"half")
    old = os.umask(0o027)
    try:
        assert main(["train", *TINY, "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert not list(out.glob(".*.tmp"))
    for name in ("checkpoint.npz", "metrics.json", "config.json"):
        assert (out / name).stat().st_mode & 0o777 == 0o640, name
    # a resume that diverges leaves config.json agreeing with the checkpoint of the last complete epoch
    assert main(["train", "--resume", "--epochs", "5", "--lr", "1e6", "--out", str(out)]) == 1
    meta = meta_of(out / "checkpoint.npz")
    assert json.loads((out / "config.json").read_text()) == {"model": meta["architecture"], "run": meta["run_config"]}


def test_a_figure_that_cannot_be_drawn_says_the_checkpoint_is_fine(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "manifold.png").write_bytes(b"left by an older run")  # not one of this run's figures
    status = main(["train", "--epochs", "1", "--hidden", "8", "--latent", "3", "--limit", "1", "--out", str(tmp_path),
                   "--overwrite"])  # without it, the older run's figure is refused (tests/test_run_folders.py)
    captured = capsys.readouterr()
    assert status == 0 and (tmp_path / "checkpoint.npz").is_file() and "Traceback" not in captured.err
    assert not (tmp_path / "manifold.png").exists()  # the older run's figure is not left beside this run
    # one test image has no 2-D projection of its latent points: that figure is named, with the reason
    assert "checkpoint.npz is fine, but the figure latent_scatter.png could not be drawn (ValueError: " in captured.err
    assert "(drawn: loss_curves.png, reconstructions.png, samples.png)" in captured.err
    assert "3 figures" in captured.out.splitlines()[-1]


# ---- nothing imported or run, memory bounded: in a subprocess under RLIMIT_AS ----------------------
CHILD = r"""
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (__LIMIT__, __LIMIT__))
from tinyvae.cli import main
def peak_kib():  # VmHWM: this process's own peak resident memory (ru_maxrss survives exec from the parent)
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
run, bombs = sys.argv[1], json.loads(sys.argv[2])
assert main(["evaluate", run + "/good", "--iwae", "2"]) == 0  # warm up: what a normal command imports
assert main(["train", "--resume", "--no-plots", "--out", run + "/good"]) == 0
before = set(sys.modules)
os.chdir(run)                       # payload.py lies here, and "." heads the import path
sys.path.insert(0, run)
status, rss = [], []
for argv in bombs:
    status.append(main(argv))
    rss.append(peak_kib())
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps({"status": status, "new": new, "maxrss_kib": rss}))
"""
ALLOWED_NEW = {"fcntl", "resource", "_hashlib", "hashlib"}  # what a refusal may import beyond a normal run


def gz_bomb(d: Path, mib: int = 512) -> Path:
    """An MNIST directory whose training labels' header promises 20 labels and whose gzip stream
    inflates to ``mib`` MiB."""
    mnist_dir(d)
    comp, zeros = zlib.compressobj(1, zlib.DEFLATED, 31), b"\0" * (1 << 24)
    head = bytes([0, 0, 8, 1]) + (20).to_bytes(4, "big")
    parts = [comp.compress(head)] + [comp.compress(zeros) for _ in range(mib // 16)] + [comp.flush()]
    (d / "train-labels-idx1-ubyte.gz").write_bytes(b"".join(parts))
    return d


def test_nothing_is_imported_or_run_and_bombs_stay_small(good, tmp_path):
    shutil.copytree(good, tmp_path / "good")
    sentinel = tmp_path / "SENTINEL"
    (tmp_path / "payload.py").write_text(f"open({str(sentinel)!r}, 'w').write('ran')\n")
    runs = {name: craft(good, tmp_path / name, **CHECKPOINTS[name][0])
            for name in ("backend-module", "backend-this", "dtype-object", "activation", "model-kind")}
    write_zip(tmp_path / "bomb_ckpt" / "checkpoint.npz", members(good / "checkpoint.npz"))
    with zipfile.ZipFile(tmp_path / "bomb_ckpt" / "checkpoint.npz", "a", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("param/extra.npy", "w", force_zip64=True) as f:  # 512 MiB of zeros, deflated to a few hundred KB
            np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": (1 << 29,)})
            for _ in range(32):
                f.write(bytes(1 << 24))
    bombs = [["train", "--resume", "--no-plots", "--epochs", "2", "--out", str(p)] for p in runs.values()]
    bombs += [["evaluate", str(p)] for p in runs.values()]
    bombs += [["evaluate", str(tmp_path / "bomb_ckpt")],
              ["train", *TINY, "--data", str(gz_bomb(tmp_path / "gzbomb")), "--out", str(tmp_path / "o1")],
              ["train", *TINY, "--data", str(huge_header_npz(tmp_path / "h.npz")), "--out", str(tmp_path / "o2")],
              ["train", *TINY, "--hidden", "30000", "30000", "--out", str(tmp_path / "o3")],
              ["train", "--epochs", "1", "--no-plots", "--hidden", "30000", "--batch-size", "4000", "--out", str(tmp_path / "o4")],
              ["evaluate", str(tmp_path / "good"), "--iwae", "1000000000"],
              ["sample", str(tmp_path / "good"), "--n", "100000000", "--out", str(tmp_path / "x.npy")]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", CHILD.replace("__LIMIT__", str(3 << 30)), str(tmp_path), json.dumps(bombs)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert report["status"] == [2] * len(bombs) and len(errors) == len(bombs), r.stderr
    assert all(e.startswith("tinyvae ") and ": error: " in e for e in errors) and "Traceback" not in r.stderr
    assert "more than" in errors[-7] and "truncated or damaged" in errors[-6] and "refused before" in errors[-5]
    # 47 M parameters are allowed, but not with batches of 4,000 in a 3 GiB address space
    assert "this model (weights, gradients, Adam state, one batch) needs about" in errors[-3]
    assert "--iwae must be an integer from 1 to 100,000" in errors[-2] and "needs about" in errors[-1]
    assert not sentinel.exists()
    assert set(report["new"]) <= ALLOWED_NEW, report["new"]
    print("peak resident memory (KiB) after each case:", report["maxrss_kib"])
    assert max(report["maxrss_kib"]) < 400 * 1024, report  # a bomb inflated would add 512 MiB


def test_compare_refuses_a_model_too_large_to_build(capsys):
    assert "parameters, more than tinyvae builds" in one_line(["compare", "--hidden", "60000", "60000"], capsys)


# ---- the library's own doors (one check at the start of the function) ---------------------------
def test_backward_before_forward_is_refused():
    from tinyvae.engine.conv import Conv2d, ConvTranspose2d
    from tinyvae.engine.layers import Linear, ReLU, Sequential, Sigmoid, Tanh

    for layer in (Linear(3, 2, rng=0), ReLU(), Sigmoid(), Tanh(), Sequential(Linear(3, 2, rng=0), ReLU()),
                  Conv2d(1, 2, 3, rng=0), ConvTranspose2d(2, 1, 3, rng=0)):
        with pytest.raises(RuntimeError, match=r"\.backward called before forward: run forward\(x\) first"):
            layer.backward(np.ones((1, 2)))


@pytest.mark.parametrize("kw,message", [
    (dict(betas=(1.0, 0.999)), r"Adam betas must be two numbers in \[0, 1\), got \(1.0, 0.999\)"),
    (dict(betas=(0.9,)), "Adam betas must be two numbers"),
    (dict(betas=(0.9, -0.1)), "Adam betas must be two numbers"),
    (dict(eps=0.0), "Adam eps must be a positive number"),
    (dict(lr=float("inf")), "lr must be positive"),
])
def test_adam_refuses_hyperparameters_that_divide_by_zero(kw, message):
    from tinyvae.engine.layers import Linear
    from tinyvae.engine.optim import Adam

    with pytest.raises(ValueError, match=message):
        Adam(Linear(2, 2, rng=0), **kw)


def test_bce_refuses_targets_outside_0_1():
    from tinyvae.engine.losses import bce

    with pytest.raises(ValueError, match=r"bce expects x \(the targets\) in \[0, 1\] for the BCE loss, got values in \[0, 2\]"):
        bce(np.full((2, 3), 0.5), np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]))
    loss, _ = bce(np.full((2, 3), 0.5), np.zeros((2, 3)))
    assert loss > 0


def test_unwritable_out_is_one_line(good, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    line = one_line(["train", *TINY, "--out", str(tmp_path / "file" / "run")], capsys)
    assert "cannot create the run directory" in line and "choose another --out" in line
    line = one_line(["sample", str(good), "--n", "2", "--out", str(tmp_path / "file" / "x.npy")], capsys)
    assert "cannot write there" in line


def test_an_npy_header_that_is_not_python_is_refused_in_one_line(tmp_path):
    """numpy reads a .npy header by tokenizing it as Python: a flipped byte that unbalances its brackets
    raises tokenize.TokenError there, which the reader must turn into a refusal like any other."""
    import zipfile

    from tinyvae.training.data import load

    def npy(header: bytes, payload: bytes) -> bytes:
        header += b" " * ((-len(header) - 11) % 64) + b"\n"
        return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload

    bad = b"{'descr': '|u1', 'fortran_order': False, 'shape': \x086, 784), }"  # '(' flipped to '\x08'
    path = tmp_path / "digits.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x_train.npy", npy(bad, bytes(6 * 784)))
        for name in ("y_train", "x_test", "y_test"):
            z.writestr(f"{name}.npy", npy(b"{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }", bytes(6)))
    with pytest.raises(ValueError, match="is not a readable .npy array"):
        load(str(path))
