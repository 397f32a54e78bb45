"""The README's commands are the ones CI runs, and the package stays light to import."""

import re
import subprocess
import sys
from pathlib import Path

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
