"""Hostile input, second review: no unbounded work before a cheap check, and memory bounded by what a
command needs (data readers, decompression bombs, the library's own caps, sample's estimate).
"""

from __future__ import annotations

import os

import pytest

from cli_check import one_line
from test_hostile import craft, good  # noqa: F401 (good: the shared trained run)
from tinyvae.cli import main


# ---- hangs: a cheap check first, progress on long work ----------------------------------------------
@pytest.mark.parametrize("command", ["evaluate", "explore"])
def test_a_recorded_data_file_is_checked_before_it_is_hashed(good, tmp_path, capsys, monkeypatch, command):
    """A run whose record names a 200 GB (sparse) file: refused by its first 4 bytes, never hashed."""
    import tinyvae.training.data as data

    big = tmp_path / "big.npz"
    with open(big, "wb") as f:
        f.truncate(200 << 30)
    run = craft(good, tmp_path / "run", meta=lambda d: d["run_config"].update(data=str(big), data_hash="a" * 64))
    hashed = []
    monkeypatch.setattr(data, "fingerprint", lambda source: hashed.append(source) or "0" * 64)
    line = one_line([command, str(run), *(["--out", str(tmp_path / "e.html")] if command == "explore" else [])], capsys)
    assert "is not a readable .npz file (not a zip archive)" in line and hashed == []


@pytest.mark.parametrize("streamed", [False, True])
def test_evaluate_shows_the_iwae_progress(good, capsys, monkeypatch, streamed):
    import tinyvae.training.evaluate as ev

    if streamed:  # K beyond one chunk: one image at a time, its samples in chunks
        monkeypatch.setattr(ev, "ROWS_PER_CHUNK", 64)
    assert main(["evaluate", str(good), "--iwae", "300", "--progress", "on"]) == 0
    err = capsys.readouterr().err
    assert "IWAE, K = 300" in err and "/12.0k" in err  # over 40 test images × 300 samples
    assert main(["evaluate", str(good), "--iwae", "300", "--progress", "off"]) == 0
    assert "IWAE" not in capsys.readouterr().err
