"""The README's commands are the ones CI runs, its learning-path table is the one numbering, and the package stays light to import."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = [c for c in _readme_commands() if "pytest" in c]
    assert len(test_cmd) == 1, "the README must give one test command"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd[0].strip() in [line.strip() for line in ci]


def test_readme_main_job_trains():
    main = [c for c in _readme_commands() if "tinyvae train" in c]
    assert len(main) == 1 and "pip install" in main[0]


def test_import_is_light():
    code = "import sys, tinyvae; print(sorted({'torch', 'matplotlib', 'mlxtend', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_torch_is_pinned_exactly():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in text
    assert not re.search(r'"torch\s*(>|<|~|!|"|$)', text)


def test_one_numbering_and_one_learning_path_table():
    """A step of the learning path has one number, shared by its notebooks and walkthroughs, and the
    README's table is the only table of it: every numbered notebook and page is in it, in its own row."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    header = "| # | notebook | walkthrough | what the learner sees |"
    table = readme[readme.index(header):].split("\n\n")[0].splitlines()[2:]
    listed = set()
    for row in table:
        step, notebooks, pages = (cell.strip() for cell in row.strip("|").split("|")[:3])
        files = re.findall(r"\]\(((?:notebooks|walkthroughs)/[^)]+)\)", notebooks + pages)
        numbered = [f for f in files if re.match(r"\d\d_", Path(f).name)]
        assert all(int(Path(f).name[:2]) == int(step) for f in numbered), (step, numbered)
        listed.update(numbered)
    on_disk = {f"{p.parent.name}/{p.name}" for p in [*(ROOT / "notebooks").glob("[0-9][0-9]_*.py"),
                                                      *(ROOT / "walkthroughs").glob("[0-9][0-9]_*.md")]}
    assert on_disk == listed, f"not in the learning-path table: {sorted(on_disk - listed)}"
    for other in ("walkthroughs/README.md", "notebooks/README.md"):
        assert header not in (ROOT / other).read_text(encoding="utf-8"), f"{other} repeats the table"


# What makes a README command quick to run here without changing what it does to the run folders:
# fewer images and epochs, no figures (train); one epoch (compare). Commands that need what a fresh
# clone lacks (MNIST files of one's own or a download, a GPU) are left out: the suite never touches the network.
QUICK = {"train": ["--limit", "60", "--epochs", "1", "--no-plots", "--progress", "off"], "compare": ["--epochs", "1"]}
NEEDS_MORE = ("--data", "--backend")
NETWORK = ("data",)  # tinyvae data get: a download


def readme_cli_commands() -> list[list[str]]:
    """Every ``tinyvae ...`` command in the README's code blocks, in the order a reader meets them,
    as argument lists (comments dropped; ``.venv/bin/tinyvae`` after ``&&`` counts)."""
    import shlex

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```(?:bash|sh|text)\n(.*?)\n```", text, flags=re.S):
        for line in block.splitlines():
            last = line.split("&&")[-1].strip()
            words = shlex.split(last, comments=True)
            if words and words[0] in ("tinyvae", ".venv/bin/tinyvae"):
                commands.append(words[1:])
    return commands


@pytest.mark.slow
def test_readme_commands_work_in_order(tmp_path, monkeypatch, capsys):
    """A learner following the README top to bottom in a fresh clone: each command finds the run it
    names (each made by an earlier command) and exits 0."""
    from tinyvae.cli import main

    monkeypatch.chdir(tmp_path)
    ran = []
    for words in readme_cli_commands():
        if words[0] in NETWORK or any(w.startswith(NEEDS_MORE) for w in words):
            continue
        quick = QUICK.get(words[0], [])
        if "--kl-warmup" in words:  # the warm-up needs that many epochs
            quick = [*quick, "--epochs", words[words.index("--kl-warmup") + 1]]
        status = main([*words, *quick])
        err = capsys.readouterr().err.strip().splitlines()
        assert status == 0, f"README command {ran.__len__() + 1}, 'tinyvae {' '.join(words)}', after {ran}: {err[-1:]}"
        ran.append(" ".join(words[:2]))
    assert len(ran) >= 15 and "explore" in " ".join(ran)
