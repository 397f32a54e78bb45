"""`tinyvae data get` against a loopback mirror: small IDX fixtures served by http.server on 127.0.0.1.

No test here reaches the network: every socket this module's tests connect is checked to be loopback
(``loopback_only``), and the published mirrors are never used (each call names its ``mirror``).
Checksums of the fixtures are passed with ``checksums=`` (a parameter of the library function, for
tests only) or by replacing the entry of SOURCES for the length of a test.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from cli_check import one_line
from tinyvae.cli import build_parser, main
from tinyvae.training import download
from tinyvae.training.data import load
from tinyvae.training.idx import read_idx

ROOT = Path(__file__).resolve().parents[1]
FILES = list(download.SOURCES["mnist"].md5)  # the four names, in the order they are fetched


# ---- no network ---------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Every connect in these tests must go to 127.0.0.1; anything else fails the test before it leaves."""
    seen: list[object] = []
    real = socket.socket.connect

    def connect(self, address):
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1"):
            raise AssertionError(f"a test tried to open a non-loopback socket to {address!r}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # a proxy would send even loopback requests elsewhere
    return seen


def test_the_guard_refuses_a_non_loopback_socket(loopback_only):
    with pytest.raises(AssertionError, match="non-loopback"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)  # TEST-NET-1: never routed anyway
    assert loopback_only == [("192.0.2.1", 80)]


# ---- the fixtures and the mirror ----------------------------------------------------------------
def idx_gz(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    return gzip.compress(header + a.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture
def fixtures() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (30, 28, 28)), np.arange(30) % 10,
              rng.integers(0, 256, (20, 28, 28)), np.arange(20) % 10]
    return {name: idx_gz(a) for name, a in zip(FILES, arrays)}


def md5s(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(data).hexdigest() for name, data in files.items()}


class Mirror(http.server.ThreadingHTTPServer):
    """Serves ``files`` with Range support; ``drop``: file -> bytes after which the first request's
    connection is cut; ``ignore_range``: answer every request with the whole file."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files, self.drop, self.ignore_range = dict(files), {}, False
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/mnist/"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Mirror = self.server  # type: ignore[assignment]
        name = self.path.rsplit("/", 1)[-1]
        server.requests.append((name, self.headers.get("Range")))
        data = server.files.get(name)
        if data is None or not self.path.startswith("/mnist/"):
            self.send_error(404, "Not Found")
            return
        start = 0
        if self.headers.get("Range") and not server.ignore_range:
            start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        cut = server.drop.pop(name, None)
        self.wfile.write(data[start:cut] if cut is not None else data[start:])
        if cut is not None:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops midway
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(fixtures):
    server = Mirror(fixtures)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- the library --------------------------------------------------------------------------------
def test_verified_files_are_kept_and_read(mirror, fixtures, tmp_path):
    folder = download.get("mnist", tmp_path / "c", mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert leftovers(folder) == sorted(FILES)
    assert all((folder / f).read_bytes() == fixtures[f] for f in FILES)
    data = load(folder)
    assert data.x_train.shape == (30, 784) and data.x_test.shape == (20, 784) and data.y_test[:3].tolist() == [0, 1, 2]
    before = len(mirror.requests)
    lines: list[str] = []
    download.get("mnist", folder, mirror=mirror.url, checksums=md5s(fixtures), log=lines.append, progress=False)
    assert len(mirror.requests) == before  # verified files are not fetched again
    assert all(line.endswith("already there, MD5 verified") for line in lines) and len(lines) == 4


def test_checksum_mismatch_is_refused_and_nothing_unverified_is_left(mirror, fixtures, tmp_path):
    sums = md5s(fixtures)
    sums[FILES[1]] = "0" * 32
    with pytest.raises(download.DownloadError) as e:
        download.get("mnist", tmp_path / "c", mirror=mirror.url, checksums=sums, progress=False)
    message = str(e.value)
    assert "\n" not in message and f"could not get {FILES[1]}" in message
    assert f"MD5 {hashlib.md5(fixtures[FILES[1]]).hexdigest()} is not the published {'0' * 32}" in message
    assert leftovers(tmp_path / "c") == [FILES[0]]  # the verified first file only: no .part, no bad file


def test_a_damaged_file_under_its_name_is_replaced(mirror, fixtures, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / FILES[0]).write_bytes(b"not the file")
    download.get("mnist", folder, mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert (folder / FILES[0]).read_bytes() == fixtures[FILES[0]]


def test_404_in_one_line(mirror, fixtures, tmp_path):
    del mirror.files[FILES[2]]
    with pytest.raises(download.DownloadError, match=rf"^could not get {FILES[2]}: http://127.0.0.1:\d+/mnist/"
                       rf"{FILES[2]}: HTTP 404 Not Found$"):
        download.get("mnist", tmp_path / "c", mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert leftovers(tmp_path / "c") == sorted(FILES[:2])


def test_dead_mirror_in_one_line(fixtures, tmp_path):
    with socket.socket() as s:  # a port that nothing listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(download.DownloadError) as e:
        download.get("mnist", tmp_path / "c", mirror=f"http://127.0.0.1:{port}/", checksums=md5s(fixtures),
                     progress=False)
    assert str(e.value) == (f"could not get {FILES[0]}: http://127.0.0.1:{port}/{FILES[0]}: cannot reach the "
                            f"mirror (Connection refused); without a network, copy the four IDX files from another "
                            f"machine into one folder and pass --data FOLDER (or --mirror URL for a copy you can reach)")
    assert leftovers(tmp_path / "c") == []


def test_the_next_mirror_is_tried(mirror, fixtures, tmp_path, monkeypatch, capsys):
    """A dead first mirror (as the first of torchvision's MNIST mirrors may be) falls through to the next."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    monkeypatch.setitem(download.SOURCES, "mnist", download.Source((dead, mirror.url), md5s(fixtures), "test"))
    folder = download.get("mnist", tmp_path / "c", progress=True)  # the bars go to stderr
    assert leftovers(folder) == sorted(FILES)
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_interrupted_download_resumes_with_range(mirror, fixtures, tmp_path):
    half = len(fixtures[FILES[0]]) // 2
    mirror.drop[FILES[0]] = half
    folder = tmp_path / "c"
    with pytest.raises(download.DownloadError) as e:
        download.get("mnist", folder, mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert "\n" not in str(e.value) and "its .part is kept: run the same again to resume" in str(e.value)
    assert f"stopped after {half:,} of {len(fixtures[FILES[0]]):,} bytes" in str(e.value)
    assert leftovers(folder) == [FILES[0] + ".part"]  # never under the file's own name
    assert (folder / (FILES[0] + ".part")).read_bytes() == fixtures[FILES[0]][:half]
    download.get("mnist", folder, mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert (FILES[0], f"bytes={half}-") in mirror.requests  # the second call asked for the rest only
    assert leftovers(folder) == sorted(FILES) and (folder / FILES[0]).read_bytes() == fixtures[FILES[0]]


def test_a_server_that_ignores_range_starts_again(mirror, fixtures, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / (FILES[0] + ".part")).write_bytes(fixtures[FILES[0]][:100])
    mirror.ignore_range = True
    download.get("mnist", folder, mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert (folder / FILES[0]).read_bytes() == fixtures[FILES[0]] and leftovers(folder) == sorted(FILES)


def test_a_part_longer_than_the_file_starts_again(mirror, fixtures, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / (FILES[3] + ".part")).write_bytes(b"x" * (len(fixtures[FILES[3]]) + 5))  # the server answers 416
    download.get("mnist", folder, mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert (folder / FILES[3]).read_bytes() == fixtures[FILES[3]] and leftovers(folder) == sorted(FILES)


def test_an_oversized_offer_is_refused(mirror, fixtures, tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_FILE_BYTES", 100)
    with pytest.raises(download.DownloadError, match=r"offers [\d,]+ bytes, more than any of these files \(100\)"):
        download.get("mnist", tmp_path / "c", mirror=mirror.url, checksums=md5s(fixtures), progress=False)
    assert leftovers(tmp_path / "c") == []


def test_mirror_must_be_http(tmp_path):
    with pytest.raises(ValueError, match="give an http:// or https:// URL"):
        download.get("mnist", tmp_path, mirror="file:///etc/")


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert download.cache_dir("fashion-mnist") == tmp_path / "tinyvae" / "fashion-mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec: a relative value is ignored
    assert download.cache_dir("mnist") == Path.home() / ".cache" / "tinyvae" / "mnist"


def as_another_user(argv: list[str]) -> tuple[int, str]:
    """``tinyvae *argv`` in a forked child, as the user nobody when the tests run as root (for whom chmod
    does not stop writing); returns (exit status, stderr). The child imports nothing new."""
    build_parser()  # every command's module imported here: the child may not read the interpreter's folders
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 99
        try:
            os.close(r)
            sys.stderr = os.fdopen(w, "w")
            if os.getuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            code = main(argv)
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        err = f.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_read_only_cache_directory_in_one_line(mirror):
    folder = Path("/tmp") / f"tinyvae-ro-{os.getpid()}"  # not under pytest's 0700 tmp: the user nobody must reach it
    folder.mkdir()
    try:
        os.chmod(folder, 0o555)
        code, err = as_another_user(["data", "get", "mnist", "--dir", str(folder / "mnist"), "--mirror", mirror.url])
        assert code == 2, err
        assert err == (f"tinyvae data: error: cannot write to {folder / 'mnist'} (Permission denied); pass "
                       f"--dir PATH to store the files elsewhere, or make it writable\n")
        assert leftovers(folder) == [] and mirror.requests == []  # refused before any download
    finally:
        folder.rmdir()


# ---- the command line -----------------------------------------------------------------------------
@pytest.fixture
def published(monkeypatch, mirror, fixtures, tmp_path):
    """`mnist` published at the loopback mirror with the fixtures' checksums; the cache in tmp_path."""
    monkeypatch.setitem(download.SOURCES, "mnist", download.Source((mirror.url,), md5s(fixtures), "test MNIST"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "tinyvae" / "mnist"


def test_cli_get_then_train_on_it(published, capsys, tmp_path):
    assert main(["data", "get", "mnist", "--progress", "off"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"done: mnist in {published}; train on it with: tinyvae train --data mnist"
    assert main(["data", "list"]) == 0
    assert capsys.readouterr().out.startswith(f"mnist          complete        {published}  (test MNIST)")
    assert main(["train", "--data", "mnist", "--epochs", "1", "--no-plots", "--out", str(tmp_path / "run")]) == 0
    assert "on MNIST from the IDX files in " + str(published) in capsys.readouterr().out


def test_cli_mismatch_in_one_line(published, monkeypatch, capsys):
    download.SOURCES["mnist"].md5[FILES[0]] = "f" * 32
    line = one_line(["data", "get", "mnist"], capsys)
    assert "is not the published ffff" in line and "nothing was kept" in line
    assert leftovers(published) == []


def test_train_without_the_download_names_the_command(published, capsys):
    line = one_line(["train", "--data", "mnist"], capsys)
    assert line == (f"tinyvae train: error: --data mnist is not downloaded yet (nothing complete in {published}): "
                    f"run `tinyvae data get mnist` first")


def test_train_on_a_missing_path_hints_at_full_mnist(capsys, tmp_path):
    line = one_line(["train", "--data", str(tmp_path / "nope")], capsys)
    assert "no such file or directory" in line and "`tinyvae data get mnist`, then use --data mnist" in line
