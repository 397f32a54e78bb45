"""The command line's parser: no prefix matching of flags, "did you mean", and a quiet exit on a closed pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyvae.cli import main

ROOT = Path(__file__).resolve().parents[1]


def refused(argv: list[str], capsys) -> str:
    """Run ``tinyvae *argv``; assert argparse refused it with status 2; return its stderr."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return capsys.readouterr().err


def test_misspelt_flag_gets_did_you_mean_with_the_commands_usage(capsys):
    err = refused(["train", "--lattent", "5"], capsys)
    assert err.startswith("usage: tinyvae train ")
    assert err.splitlines()[-1] == ("tinyvae train: error: unrecognized arguments: --lattent 5 "
                                    "(did you mean --latent?)")


@pytest.mark.parametrize("argv, flag", [(["train", "--epoch", "5"], "--epochs"),
                                        (["train", "--no-plot"], "--no-plots"),
                                        (["evaluate", "runs/x", "--iwa", "3"], "--iwae")])
def test_a_prefix_is_not_taken_for_the_flag(argv, flag, capsys):
    err = refused(argv, capsys)
    assert f"unrecognized argument" in err and f"(did you mean {flag}?)" in err
    assert err.startswith(f"usage: tinyvae {argv[0]} ")


def test_flag_with_equals_sign_is_matched_by_its_name(capsys):
    err = refused(["example", "--lnag=ko"], capsys)
    assert err.splitlines()[-1] == "tinyvae example: error: unrecognized argument: --lnag=ko (did you mean --lang?)"


def test_misspelt_command_and_choice_get_did_you_mean(capsys):
    err = refused(["trian"], capsys)
    assert err.startswith("usage: tinyvae [-h]") and err.rstrip().endswith("did you mean 'train'?")
    err = refused(["train", "--model", "vea"], capsys)
    assert err.startswith("usage: tinyvae train ") and err.rstrip().endswith("did you mean 'vae'?")


@pytest.mark.parametrize("message", ["argument --model: invalid choice: 'vea' (choose from 'vae', 'ae', 'cvae')",
                                     "argument --model: invalid choice: 'vea' (choose from vae, ae, cvae)"])
def test_choices_quoted_or_not(message, capsys):
    """argparse quotes the choices in some Python versions and not in others: both get the suggestion."""
    from tinyvae.cli.parser import Parser

    with pytest.raises(SystemExit):
        Parser(prog="tinyvae train").error(message)
    assert capsys.readouterr().err.rstrip().endswith("did you mean 'vae'?")


def test_nothing_near_means_no_suggestion(capsys):
    err = refused(["example", "--zzzzzz"], capsys)
    assert err.splitlines()[-1] == "tinyvae example: error: unrecognized argument: --zzzzzz"


def test_closed_pipe_exits_quietly():
    """The reader closes its end before tinyvae writes (what `| head -1` does once it has its line): no
    message, no traceback, the status a shell shows for SIGPIPE."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "tinyvae", "example"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=ROOT)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141, err
    assert err == ""


def test_closed_pipe_in_process(monkeypatch, capsys):
    r, w = os.pipe()
    os.close(r)  # the reader is gone before a byte is written
    closed = os.fdopen(w, "w")
    monkeypatch.setattr(sys, "stdout", closed)
    assert main(["example"]) == 141
    assert capsys.readouterr().err == ""
    closed.write("x" * 100_000)
    closed.close()  # now /dev/null: nothing left to complain at exit


def test_a_broken_pipe_elsewhere_is_still_an_error(monkeypatch, capsys):
    """Only stdout's reader going away is quiet: a broken pipe of anything else is reported in one line."""
    from tinyvae.cli import example

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(example, "run", broken)
    assert main(["example"]) == 2
    assert capsys.readouterr().err == "tinyvae example: error: [Errno 32] Broken pipe\n"
