"""The package's shape (the project's style): no module over ~350 lines, no function over ~60, no CLI flag in a library message.

Small files with one idea each are what a learner reads beside the lecture; the limits are checked
here for every module of ``tinyvae/``, and a failure lists every offender with its size.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tinyvae"
MAX_MODULE_LINES = 370
MAX_FUNCTION_LINES = 60


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def _functions(path):
    """(qualified name, lines) of every function and method in ``path``, nested ones included."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((f"{prefix}{child.name}", child.end_lineno - child.lineno + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_no_module_over_the_limit():
    long = [f"{p.relative_to(PACKAGE.parent)}: {n} lines" for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by idea): " + "; ".join(long)


def test_no_function_over_the_limit():
    long = [f"{p.relative_to(PACKAGE.parent)}: {name} {n} lines" for p in _modules()
            for name, n in _functions(p) if n > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: " + "; ".join(long)


def test_the_limits_see_what_they_measure(tmp_path):
    """The measuring itself: a 3-line function nested in a class is found with its 3 lines."""
    p = tmp_path / "m.py"
    p.write_text("class A:\n    def f(self):\n        x = 1\n        return x\n\n\ndef g():\n    pass\n")
    assert _functions(p) == [("A.f", 3), ("g", 2)]


def test_the_library_raises_no_message_that_names_a_command_line_flag():
    """Library errors speak parameter names (lr=..., source=...); the CLI writes them as its flags
    (tinyvae.cli.as_flags). Every string in a ``raise`` of the engine, models, training, figures,
    lecture and explorer is scanned for a ``--flag``."""
    import re

    found = []
    for folder in ("engine", "models", "training", "figures", "lecture", "explore"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    found += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {c.value.strip()[:60]}"
                              for c in ast.walk(node.exc) if isinstance(c, ast.Constant)
                              and isinstance(c.value, str) and re.search(r"--[a-z]", c.value)]
    assert not found, found
