"""Every place a page names in the code, and every file a page links to, exists.

Walkthroughs, notebooks and the README point the learner at code as `` `tinyvae/engine/reparam.py:
Reparameterize.forward` ``. A rename that forgets a page would leave the learner looking for something
that is not there; this test resolves each such reference in its module, and each relative link on a
page to its file.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("walkthroughs/**/*.md"), *ROOT.glob("notebooks/*.py")])
CODE_REF = re.compile(r"`(tinyvae/[a-z_/]+\.py): ?([A-Za-z_][A-Za-z_0-9.]*)`")
LINK = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")


def _refs(page: Path) -> list[tuple[str, str]]:
    return CODE_REF.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_references_resolve(page: Path) -> None:
    for path, name in _refs(page):
        assert (ROOT / path).is_file(), f"{page.name} names {path}, which does not exist"
        module = importlib.import_module(path[:-3].replace("/", "."))
        obj = module
        for part in name.split("."):
            assert hasattr(obj, part), f"{page.name} names {path}: {name}, but {part!r} is not there"
            obj = getattr(obj, part)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http", "mailto")):
            continue
        assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


def test_pages_do_name_code() -> None:
    """The references above are really found (so the test above cannot pass on an empty match)."""
    assert sum(len(_refs(p)) for p in PAGES) >= 30
