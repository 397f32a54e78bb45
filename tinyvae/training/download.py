"""Full MNIST and Fashion-MNIST from the web, each four IDX .gz files checked against a published MD5.

:func:`get` downloads a set into :func:`cache_dir` (``$XDG_CACHE_HOME/tinyvae/<name>``, by default
``~/.cache/tinyvae/<name>``) or a directory of your choice, with the standard library's urllib only.
Each file goes to ``<file>.part`` first; a ``.part`` left by an interrupted download is continued with
an HTTP Range request; only a file whose MD5 is the published one is renamed (atomically) to its own
name. So a file under its own name is always a verified one, and nothing else is ever left there.

The MD5s guard against a damaged or truncated file and a mirror that serves something else; MD5 is
no defence against a forger who can choose both files, but nothing read from these files is trusted
anyway: :func:`tinyvae.training.idx.read_idx` checks every header and size before it reads a byte.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Source:
    """A data set: where it is mirrored (base URLs, tried in turn), and its files' published MD5s."""

    mirrors: tuple[str, ...]
    md5: dict[str, str]
    what: str


# The mirrors and MD5 checksums are torchvision's, copied from pytorch/vision,
# torchvision/datasets/mnist.py (classes MNIST and FashionMNIST, attributes `mirrors` and `resources`),
# as read at commit 1ec2509e8715d5373b194b688ee0cc75262baec9; the mirrors are tried in torchvision's order.
SOURCES: dict[str, Source] = {
    "mnist": Source(
        mirrors=("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
        md5={"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
        what="MNIST: 60,000 training and 10,000 test handwritten digits, 28x28 grey"),
    "fashion-mnist": Source(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5={"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
             "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
             "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
             "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
        what="Fashion-MNIST: 60,000 training and 10,000 test images of clothing in 10 classes, 28x28 grey"),
}
MAX_FILE_BYTES = 64 << 20  # a bound on one download; the largest of the eight files is well under it
TIMEOUT = 30.0  # seconds without a byte before a mirror counts as dead
CHUNK = 1 << 16


class DownloadError(OSError):
    """A download that failed; the message is one line saying what happened and what to do."""


def cache_dir(name: str) -> Path:
    """Where :func:`get` stores ``name`` by default: ``$XDG_CACHE_HOME/tinyvae/<name>``, or
    ``~/.cache/tinyvae/<name>`` when XDG_CACHE_HOME is unset, empty or relative (as the XDG spec says)."""
    _source(name)
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "tinyvae" / name


def is_complete(name: str, directory: str | Path | None = None) -> bool:
    """Whether the four files of ``name`` are in ``directory`` (default :func:`cache_dir`) under their names
    (which :func:`get` gives only to verified files)."""
    folder = Path(directory).expanduser() if directory is not None else cache_dir(name)
    return all((folder / f).is_file() for f in _source(name).md5)


def get(name: str, directory: str | Path | None = None, *, mirror: str | None = None,
        progress: bool | None = None, log: Callable[[str], None] | None = None,
        timeout: float = TIMEOUT, checksums: dict[str, str] | None = None) -> Path:
    """Download and verify the four IDX files of ``name`` ("mnist" or "fashion-mnist"); return their directory.

    directory: where they go (default :func:`cache_dir`). mirror: a base URL (http or https) that replaces
    the published mirrors, e.g. a local copy. progress: a bar per file on stderr (None: only on a terminal).
    log: called with one line per file. checksums: file name -> MD5 replacing the published ones, for
    tests against small fixtures only. Files already there and verified are kept as they are.
    Raises DownloadError (an OSError) in one line: a 404, a dead mirror, a checksum mismatch (nothing
    kept), an interrupted download (its ``.part`` kept, so that calling again resumes it), a directory
    that cannot be written.
    """
    source = _source(name)
    md5 = dict(source.md5 if checksums is None else checksums)
    mirrors = source.mirrors if mirror is None else (_check_mirror(mirror),)
    folder = Path(directory).expanduser() if directory is not None else cache_dir(name)
    _writable(folder)
    say = log or (lambda line: None)
    for file, want in md5.items():
        dest = folder / file
        if dest.is_file() and _md5(dest) == want:
            say(f"{dest}: already there, MD5 verified")
            continue
        _from_mirrors(file, dest, want, mirrors, progress, timeout)
        say(f"{dest}: downloaded, MD5 {want} verified")
    return folder


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown data set {name!r}; tinyvae downloads {', '.join(SOURCES)}")
    return SOURCES[name]


def _check_mirror(url: str) -> str:
    if not re.match(r"https?://[^/\s]+", url):
        raise ValueError(f"mirror={url}: give an http:// or https:// URL of a folder holding the four .gz files")
    return url if url.endswith("/") else url + "/"


def _writable(folder: Path) -> None:
    """Refuse, before any download, a directory that cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".tinyvae-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise DownloadError(f"cannot write to {folder} ({e.strerror or e}); pass directory=PATH to store the "
                            f"files elsewhere, or make it writable") from None


def _from_mirrors(file: str, dest: Path, want: str, mirrors: tuple[str, ...], progress: bool | None,
                  timeout: float) -> None:
    """``dest`` from the first mirror that serves it with MD5 ``want``; DownloadError naming each failure."""
    failures = []
    for base in mirrors:
        try:
            _fetch(base + file, dest, want, progress, timeout)
            return
        except _Failed as e:
            failures.append(str(e))
    kept = dest.with_name(dest.name + ".part").exists()
    resume = " (its .part is kept: run the same again to resume)" if kept else ""
    unreachable = all("cannot reach the mirror" in f for f in failures)
    offline = "" if not unreachable else ("; without a network, copy the four IDX files from another machine into one folder "
                                "and pass --data FOLDER (or --mirror URL for a copy you can reach)")
    raise DownloadError(f"could not get {file}{resume}: {'; '.join(failures)}{offline}")


class _Failed(Exception):
    """One mirror's failure for one file: the next mirror is tried."""


class _Refused(_Failed):
    """A failure that leaves nothing worth resuming: the part is deleted."""


def _fetch(url: str, dest: Path, want: str, progress: bool | None, timeout: float) -> None:
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    response = _open(url, start, timeout)
    if response is None:  # 416: the part is no prefix of the file (or all of it); start again from byte 0
        part.unlink()
        start, response = 0, _open(url, 0, timeout)
    with response:
        start = start if _resumes(response, start) else 0
        total = _total(response, start, url)
        try:
            _receive(response, part, start, total, url, progress)
        except _Refused:
            part.unlink()
            raise
    got = _md5(part)
    if got != want:
        part.unlink()
        raise _Failed(f"{url} gave a file whose MD5 {got} is not the published {want}; it was deleted "
                      f"and nothing was kept (a damaged or different copy: try again, or another mirror)")
    os.replace(part, dest)  # atomic: dest is the verified file or absent, never a part of one


def _open(url: str, start: int, timeout: float) -> http.client.HTTPResponse | None:
    """The response to GET ``url`` from byte ``start``; None for 416 (that range is not in the file)."""
    headers = {"User-Agent": "tinyvae", **({"Range": f"bytes={start}-"} if start else {})}
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and start:
            return None
        raise _Failed(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise _Failed(f"{url}: cannot reach the mirror ({getattr(reason, 'strerror', None) or reason})") from None


def _resumes(response: http.client.HTTPResponse, start: int) -> bool:
    """Whether the server sent the rest of the file from byte ``start`` (206 with a matching Content-Range);
    otherwise it sent the whole file, and the download starts again."""
    content_range = response.headers.get("Content-Range", "")
    matches = re.fullmatch(rf"bytes {start}-\d+/(\d+|\*)", content_range) is not None
    return bool(start) and response.status == 206 and matches


def _total(response: http.client.HTTPResponse, start: int, url: str) -> int | None:
    length = response.headers.get("Content-Length")
    total = start + int(length) if length and length.isdigit() else None
    if total is not None and total > MAX_FILE_BYTES:
        raise _Failed(f"{url} offers {total:,} bytes, more than any of these files ({MAX_FILE_BYTES:,}); refused")
    return total


def _receive(response: http.client.HTTPResponse, part: Path, start: int, total: int | None, url: str,
             progress: bool | None) -> None:
    """Append the body to ``part`` (from byte ``start``) and flush it to disk; _Failed if it stops short,
    _Refused (the part deleted by the caller) if it runs past what was promised."""
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    done, limit = start, total or MAX_FILE_BYTES
    with open(part, "ab" if start else "wb") as f, tqdm(total=total, initial=start, unit="B", unit_scale=True,
                                                         unit_divisor=1024, desc=part.name[: -len(".part")],
                                                         disable=not show, leave=False) as bar:
        try:
            while True:
                try:
                    block = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as e:  # the network; a disk error is raised as it is
                    of = f"{total:,}" if total else "?"
                    raise _Failed(f"{url}: the download stopped after {done:,} of {of} bytes "
                                  f"({type(e).__name__}: {e})") from None
                if not block:
                    break
                if done + len(block) > limit:
                    raise _Refused(f"{url} sent more than the {limit:,} bytes it promised; refused, nothing kept")
                f.write(block)
                done += len(block)
                bar.update(len(block))
        finally:
            f.flush()
            os.fsync(f.fileno())
    if total is not None and done < total:
        raise _Failed(f"{url}: the download stopped after {done:,} of {total:,} bytes")


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
