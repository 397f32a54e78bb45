"""Code that the walkthroughs quote still stands in the source, so the pages cannot drift from it."""

import inspect
import re
from pathlib import Path

import tinyvae
from tinyvae import VAE

ROOT = Path(__file__).resolve().parents[1]


def test_backprop_walkthrough_quotes_real_lines():
    page = (ROOT / "walkthroughs" / "05_backprop_vae.md").read_text()
    source = inspect.getsource(VAE._loss_and_grads)
    table = page.split("## Backward, one named gradient at a time", 1)[1].split("\n\n")[1]
    rows = table.splitlines()[2:]  # after the header and the rule
    quoted = [re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2])[0] for row in rows]
    assert len(quoted) >= 6
    for code in quoted:
        assert code in source, f"walkthroughs/05_backprop_vae.md quotes a line VAE._loss_and_grads no longer has: {code}"


CODE_TABLE = re.compile(r"^\|[^\n]*\| (?:(?:code|line) in ((?:`[^`]+`(?:, | and )?)+)|((?:`[^`]+`(?:, | and )?)+)의 (?:코드|줄)) \|"
                        r"\n\|[-| ]+\|\n((?:\|.*\|\n?)+)", re.M)  # English "code in `X`", Korean "`X`의 코드"


def _source(name: str) -> str:
    """The source a table quotes: a file of the package (``tinyvae/...py``) or a public name
    (``VAE._loss_and_grads``, ``fit``)."""
    if name.endswith(".py"):
        return (ROOT / name).read_text()
    obj = tinyvae
    for part in name.split("."):
        obj = getattr(obj, part)
    return inspect.getsource(obj)


def _quoted_tables() -> list[tuple[Path, list[str], list[str]]]:
    found = []
    for page in sorted((ROOT / "walkthroughs").rglob("*.md")):
        for m in CODE_TABLE.finditer(page.read_text(encoding="utf-8")):
            names = re.findall(r"`([^`]+)`", m.group(1) or m.group(2))
            rows = [r for r in m.group(3).splitlines() if r.strip()]
            found.append((page, names, [re.findall(r"`([^`]+)`", r.rsplit("|", 2)[-2])[0] for r in rows]))
    return found


def test_code_tables_quote_real_lines():
    """Every table whose last column is headed "code in `X`" quotes lines that stand in X's source
    (``...`` in a quote stands for any text)."""
    tables = _quoted_tables()
    assert len(tables) >= 5  # 05's backward, 09's loop, 10's AE, VAE and CVAE tables
    for page, names, quoted in tables:
        source = re.sub(r"\s+", " ", "\n".join(_source(n) for n in names))
        for code in quoted:
            pattern = ".*?".join(re.escape(re.sub(r"\s+", " ", part)) for part in code.split("..."))
            assert re.search(pattern, source), f"{page.relative_to(ROOT)} quotes a line {', '.join(names)} no longer has: {code}"


def test_doctests_have_no_number_slack():
    """Doctests compare printed numbers character for character: no NUMBER flag, anywhere."""
    text = (ROOT / "pyproject.toml").read_text()
    flags = re.search(r'doctest_optionflags\s*=\s*"([^"]*)"', text).group(1).split()
    assert "NUMBER" not in flags, flags
    pages = [*(ROOT / "walkthroughs").rglob("*.md"), ROOT / "README.md"]  # the Korean twins too
    for page in pages:
        assert "+NUMBER" not in page.read_text(), f"{page.name} turns NUMBER on for a block"
