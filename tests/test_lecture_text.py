"""The trace in every language prints the same numbers in the same order; code references are real;
the lecture package keeps to small modules and functions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from tinyvae.cli import main
from tinyvae.lecture import layout, text_en, trace
from tinyvae.lecture import worked_example as we

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?")


def numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


@pytest.mark.parametrize("lang", [lang for lang in layout.LANGUAGES if lang != "en"])
def test_every_table_has_the_english_keys(lang):
    table = layout.LANGUAGES[lang]
    for name in ("TEXT", "NOTES", "ERRATA"):
        assert set(getattr(table, name)) == set(getattr(text_en, name)), (lang, name)


@pytest.mark.parametrize("lang", [lang for lang in layout.LANGUAGES if lang != "en"])
@pytest.mark.parametrize("exact", [False, True], ids=["lecture", "exact"])
def test_same_numbers_in_the_same_order(lang, exact):
    ex = we.run(exact=exact)
    en = we.format_trace(ex) + we.format_errata(we.errata())
    other = we.format_trace(ex, lang=lang) + we.format_errata(we.errata(), lang=lang)
    assert len(numbers(en)) > 500
    assert numbers(other) == numbers(en)
    assert other != en


def test_korean_trace_uses_the_lecture_vocabulary(capsys):
    assert main(["example", "--lang", "ko"]) == 0
    out = capsys.readouterr().out
    for word in ("순전파", "역전파", "재구성 손실", "KL 발산", "재파라미터화", "로그 분산", "디코더", "정오표", "Adam"):
        assert word in out, word
    for word in ("복원", "재매개변수화", "배치 하나", "외적", "걸음"):  # not the lecture's words, or wrong ones
        assert word not in out, word
    assert "lecture:" not in out and "FORWARD" not in out


@pytest.mark.parametrize("flags", [[], ["--exact"]])
def test_cli_korean_and_english_print_the_same_numbers(capsys, flags):
    assert main(["example", *flags]) == 0
    en = capsys.readouterr().out
    assert main(["example", "--lang", "ko", *flags]) == 0
    assert numbers(capsys.readouterr().out) == numbers(en)


def test_json_ignores_the_language(capsys):
    assert main(["example", "--json"]) == 0
    en = capsys.readouterr().out
    assert main(["example", "--json", "--lang", "ko"]) == 0
    assert capsys.readouterr().out == en


def test_unknown_language_is_one_line_naming_the_available(capsys):
    assert main(["example", "--lang", "fr"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err and "'fr'" in err and "en" in err and "ko" in err


@pytest.mark.parametrize("exact", [False, True], ids=["lecture", "exact"])
def test_code_references_name_real_definitions(exact):
    """Each "path: Name.attr" a step shows exists in that file (derived from the objects themselves)."""
    refs = {ref for step in we.run(exact=exact).steps() for ref in step.code_refs()}
    assert len(refs) >= 10
    for ref in refs:
        path, qualname = ref.split(": ")
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names = _definitions(tree)
        assert qualname in names, ref


def _definitions(tree: ast.Module) -> set[str]:
    """Qualified names of the functions, classes and module-level assignments in a module."""
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
            if isinstance(node, ast.ClassDef):
                out |= {f"{node.name}.{n.name}" for n in node.body if isinstance(n, ast.FunctionDef)}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out |= {t.id for t in targets if isinstance(t, ast.Name)}
    return out


def test_a_reference_to_a_missing_name_fails():
    from tinyvae.lecture import givens
    from tinyvae.lecture.steps import Data, code_ref

    assert code_ref(trace.round_std) == "tinyvae/lecture/trace.py: round_std"
    with pytest.raises(AttributeError):
        code_ref(Data(givens, "NOT_THERE"))


@pytest.mark.parametrize("path", sorted((ROOT / "tinyvae" / "lecture").glob("*.py")), ids=lambda p: p.name)
def test_lecture_modules_are_small(path):
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 350
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            assert node.end_lineno - node.lineno + 1 <= 60, f"{path.name}: {node.name}"


@pytest.mark.parametrize("page", ["walkthroughs/06_worked_example.md", "walkthroughs/errata.md",
                                  "notebooks/06_worked_example.py"])
def test_pages_name_real_definitions(page):
    """Every `tinyvae/....py: Name` a page quotes is defined in that file."""
    refs = re.findall(r"(tinyvae/[\w/]+\.py): ([A-Za-z_][\w.]*)", (ROOT / page).read_text(encoding="utf-8"))
    assert refs
    for path, qualname in refs:
        assert qualname in _definitions(ast.parse((ROOT / path).read_text(encoding="utf-8"))), f"{page}: {path}: {qualname}"


def test_help_quotes_the_computed_kl_figures():
    from tinyvae.cli.example import DESCRIPTION

    ex = we.run()
    for figure in (f"{ex['kl_mixed']:.5f}", f"{ex['kl']:.7f}", f"{ex['kl_exact']:.7f}", str(we.LECTURE["kl"])):
        assert figure in DESCRIPTION, figure


def test_no_page_says_the_mixed_figure_is_not_the_kl_of_any_gaussian():
    """0.00125 is KL(N(0.05, 1) ‖ N(0, 1)); what is true is that the line mixes two Gaussians."""
    from tinyvae import kl_divergence

    assert float(kl_divergence(np.array([[0.05]]), np.array([[0.0]]))[0]) == pytest.approx(we.run()["kl_mixed"], abs=1e-15)
    pages = [ROOT / "README.md", *(ROOT / "walkthroughs").rglob("*.md"), *(ROOT / "notebooks").glob("*.py"),
             *(ROOT / "tinyvae").rglob("*.py")]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for claim in ("KL of any Gaussian", "어떤 정규분포의 KL도 아니"):
            assert claim not in text, f"{page.relative_to(ROOT)}: {claim}"
