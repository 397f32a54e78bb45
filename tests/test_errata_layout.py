"""The errata tables fit TABLE_WIDTH columns in every language, and lose no figure doing so."""

from __future__ import annotations

import pytest

from tinyvae.cli import main
from tinyvae.lecture import layout
from tinyvae.lecture import worked_example as we


@pytest.mark.parametrize("lang", list(layout.LANGUAGES))
def test_errata_tables_fit_100_columns(lang):
    text = we.format_errata(we.errata(), lang=lang)
    table = text[: text.index("\n- ")]  # the tables, before the notes (prose, left to the terminal)
    assert max(layout._width(line) for line in table.splitlines()) <= layout.TABLE_WIDTH == 100
    for row in we.errata():  # every figure of every row is still printed
        for value in (row.lecture, row.fixed, row.sampled, row.exact):
            for piece in layout._pieces(layout.show(value)):
                assert piece in table, (row.key, piece)


def test_cli_errata_fits(capsys):
    assert main(["example"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("ERRATA") : out.index("\n- ")]
    assert table.count("\n") > 20 and max(map(layout._width, table.splitlines())) <= 100


def test_a_narrow_table_wraps_its_words(monkeypatch):
    monkeypatch.setattr(layout, "TABLE_WIDTH", 80)
    text = we.format_errata(we.errata())
    table = text[: text.index("\n- ")]
    assert max(layout._width(line) for line in table.splitlines()) <= 80
    lines = table.splitlines()
    assert any(line.startswith("first bracket, 1 + log  619") for line in lines)
    assert any(line.startswith("σ₁² - μ₁²") for line in lines)  # the rest of the row's words, below


def test_pieces_keep_brackets_whole():
    assert layout._pieces("log σ² = -0.02, σ² = 0.98019867") == ["log σ² = -0.02,", "σ² = 0.98019867"]
    assert layout._pieces("log(μ²) = [-6.438, -7.824]") == ["log(μ²) = [-6.438, -7.824]"]
    assert layout._wrap("first bracket, 1 + log", 14) == ["first bracket,", "1 + log"]
