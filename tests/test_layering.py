"""The package's layers: each folder imports only from the folders below it (issue 23).

    engine < models < figures, lecture, exercises < training < explore < cli

A module may import its own folder and any folder strictly below its own; ``figures``, ``lecture`` and
``exercises`` sit side by side and import none of each other. Every import is read with ``ast``:
absolute and relative, at the top of a module or inside a function. ``tinyvae/__init__.py`` and
``__main__.py`` sit outside the order (they gather the package); importing them from inside it
(``import tinyvae``, ``from tinyvae import fit``) counts as importing the top, which is above every
folder. And ``import tinyvae`` stays light: matplotlib, torch, tqdm and mlxtend load when used.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tinyvae"
RANK = {"engine": 0, "models": 1, "figures": 2, "lecture": 2, "exercises": 2, "training": 3, "explore": 4, "cli": 5}
TOP = "<top>"  # tinyvae/__init__.py itself: ranked above every folder


def imported_modules(path: Path, package: Path) -> list[tuple[int, str]]:
    """(line, dotted module name) of every import of the package's own modules in ``path``, nested ones
    included; relative imports resolved against the module's place; ``from tinyvae import engine``
    names ``tinyvae.engine``, ``from tinyvae import fit`` names ``tinyvae`` (the top)."""
    root = package.name
    here = path.relative_to(package.parent).with_suffix("").parts  # ("tinyvae", "models", "vae")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join([*here[: len(here) - node.level], *([node.module] if node.module else [])]) \
                if node.level else node.module or ""
            if base == root:  # from tinyvae import engine / fit: a folder, or the top
                found += [(node.lineno, f"{root}.{a.name}" if (package / a.name).is_dir() else root)
                          for a in node.names]
            else:
                found.append((node.lineno, base))
    return [(line, name) for line, name in found if name == root or name.startswith(root + ".")]


def upward_imports(package: Path, rank: dict[str, int]) -> list[str]:
    """``"tinyvae/x/y.py:LINE imports tinyvae.z"`` for every import of a folder not strictly below the
    importing module's folder (its own folder is allowed); the top-level modules are not checked."""
    offences = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).parts
        if len(parts) < 2:
            continue  # __init__.py, __main__.py
        folder = parts[0]
        for line, name in imported_modules(path, package):
            other = name.split(".")[1] if "." in name else TOP
            if other != folder and not (other in rank and folder in rank and rank[other] < rank[folder]):
                offences.append(f"{path.relative_to(package.parent)}:{line} imports {name}")
    return offences


def test_every_folder_is_in_the_order():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == set(RANK), f"folders without a place in the order: {sorted(folders ^ set(RANK))}"


def test_no_folder_imports_a_layer_above_its_own():
    offences = upward_imports(PACKAGE, RANK)
    order = "engine < models < figures, lecture, exercises < training < explore < cli"
    assert not offences, f"imports against the layers ({order}):\n" + "\n".join(offences)


def test_the_checker_finds_an_upward_import(tmp_path):
    """On a small tree: absolute, relative and nested imports upward and sideways are each found at their
    line; downward, own-folder and top-level ones are not."""
    pkg = tmp_path / "tinyvae"
    files = {
        "__init__.py": "from .cli import main\n",
        "engine/__init__.py": "",
        "engine/layers.py": "from . import losses\nimport numpy\n\n\ndef f():\n    from ..models import vae\n",
        "engine/losses.py": "import tinyvae\n",
        "models/__init__.py": "",
        "models/vae.py": "from ..engine.layers import f\nfrom tinyvae import engine, fit\n",
        "figures/__init__.py": "",
        "figures/plots.py": "import tinyvae.lecture.text\nfrom tinyvae.models import vae\n",
        "lecture/__init__.py": "",
        "cli/__init__.py": "from tinyvae.training import fit\nfrom .. import figures\n",
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    assert upward_imports(pkg, RANK) == [
        "tinyvae/engine/layers.py:6 imports tinyvae.models",
        "tinyvae/engine/losses.py:1 imports tinyvae",
        "tinyvae/figures/plots.py:1 imports tinyvae.lecture.text",
        "tinyvae/models/vae.py:2 imports tinyvae",
    ]


def test_import_tinyvae_loads_no_heavy_library():
    code = ("import sys, tinyvae; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'torch', 'tqdm', 'mlxtend'}))")
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"import tinyvae loaded {r.stdout.strip()}"


def module_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from .x import name`` names the submodule x.name
    where there is one), every import counted, nested ones too."""
    graph: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        here = path.relative_to(package.parent).with_suffix("").parts
        me = ".".join(here[:-1] if here[-1] == "__init__" else here)
        edges = graph.setdefault(me, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                pkg = here[:-1] if here[-1] != "__init__" else here[:-1]
                base = ".".join([*pkg[: len(pkg) - node.level + 1], *([node.module] if node.module else [])]) \
                    if node.level else node.module or ""
                names = [f"{base}.{a.name}" if _is_module(package, f"{base}.{a.name}") else base for a in node.names]
            else:
                continue
            edges.update(n for n in names if n.split(".")[0] == package.name and n != me)
    return graph


def _is_module(package: Path, dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (package / rel).with_suffix(".py").is_file() or (package / rel / "__init__.py").is_file()


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm): modules that import
    each other, directly or round a ring."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_two_modules_import_each_other():
    """Inside a folder too: a ring of imports means neither module can be read first (and one of the
    imports has to hide inside a function)."""
    cycles = import_cycles(module_graph(PACKAGE))
    assert not cycles, "modules that import each other: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_ring(tmp_path):
    pkg = tmp_path / "tinyvae"
    files = {"__init__.py": "", "a/__init__.py": "", "a/x.py": "from .y import f\n",
             "a/y.py": "def f():\n    from . import z\n", "a/z.py": "from tinyvae.a import x\n", "a/w.py": "from . import x\n"}
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    assert import_cycles(module_graph(pkg)) == [["tinyvae.a.x", "tinyvae.a.y", "tinyvae.a.z"]]
