"""One check for every command-line refusal in the suite: exit status, one line on stderr, no traceback."""

from __future__ import annotations

from tinyvae.cli import main


def one_line(argv: list[str], capsys, status: int = 2) -> str:
    """Run ``tinyvae *argv`` in-process; assert it exits with ``status`` (2: refused, 1: diverged) and writes
    exactly one non-empty line to stderr, ``tinyvae <command>: error: ...``, with no traceback. Returns it."""
    got = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert got == status, (argv, got, captured.err[-2000:])
    assert "Traceback" not in captured.err and len(lines) == 1, captured.err[-2000:]
    assert lines[0].startswith(f"tinyvae {argv[0]}: error: "), lines[0]
    return lines[0]
