"""The worked example and its errata as text, laid out as the lecture writes them, in a chosen language.

The math (formulas, substituted numbers, values) comes from :mod:`.trace` and :mod:`.errata` and is
the same in every language; the words come from one table per language (:mod:`.text_en`,
:mod:`.text_ko`), so the English and Korean traces print the same numbers in the same order.
"""

from __future__ import annotations

import unicodedata
from types import ModuleType

from . import text_en, text_ko
from .errata import Erratum
from .givens import agrees
from .mathfmt import num, show
from .steps import Step, WorkedExample

#: Language code -> its table of words.
LANGUAGES: dict[str, ModuleType] = {"en": text_en, "ko": text_ko}


def table(lang: str) -> ModuleType:
    """The text table for ``lang``; ValueError naming the languages available otherwise."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; available: {', '.join(LANGUAGES)}")
    return LANGUAGES[lang]


def _mark(step: Step, exact: bool, words: dict[str, str]) -> str:
    """✓ when the value rounds to what the lecture printed; ≈ for exact mode's rounding; ✗ otherwise."""
    if agrees(step.value, step.lecture):
        return words["mark_ok"]
    if exact and not step.name.startswith(("kl", "total")):
        return words["mark_rounded"]
    return words["mark_wrong"]


def _step_lines(i: int, step: Step, exact: bool, text: ModuleType) -> list[str]:
    """One numbered step: formula, its explanation, the numbers substituted, the value, the code."""
    lines = [f"{i:>2}. {step.formula}"]
    note = text.NOTES.get(step.note_key)
    if note:
        lines.append(f"      ↳ {note}")
    lines += [f"      = {line}" for line in step.lines]
    value = f"      = {show(step.value)}"
    if step.lecture is not None:
        mark = _mark(step, exact, text.TEXT)
        value += "      (" + text.TEXT["lecture_value"].format(value=show(step.lecture), mark=mark) + ")"
    lines.append(value)
    lines.append("      [" + "; ".join(step.code_refs()) + "]")
    return lines


def _inputs(ex: WorkedExample, text: ModuleType) -> list[str]:
    out = [text.TEXT["given"]]
    out += [f"  {s.symbol:<9} = {show(s.value)}" for s in ex.inputs if s.source == "lecture"]
    out.append(text.TEXT["reconstructed"])
    for s in ex.inputs:
        if s.source == "reconstruction":
            derived = f"   <- {s.formula} = {s.lines[0]}" if s.lines else ""
            out.append(f"  {s.symbol:<9} = {show(s.value)}{derived}")
            if s.name in text.NOTES:
                out.append(f"              ↳ {text.NOTES[s.name]}")
    return out


def format_trace(ex: WorkedExample, *, adam: bool = True, lang: str = "en") -> str:
    """The whole example as the lecture lays it out: formula, numbers substituted, result."""
    text = table(lang)
    words = text.TEXT
    out = [words["title_exact" if ex.exact else "title_lecture"], "", *_inputs(ex, text)]
    blocks: list[tuple[str, list[Step]]] = [(words["forward"], ex.forward), (words["backward"], ex.backward)]
    if adam:
        blocks.append((words["adam"].format(lr=num(ex.lr)), ex.adam))
    for title, steps in blocks:
        out += ["", title]
        if steps is ex.backward and not ex.exact:
            out.append(f"    ({words['backward_lecture']})")
        for i, step in enumerate(steps, 1):
            out += _step_lines(i, step, ex.exact, text)
    if adam:
        out.append("      " + words["loss_change"].format(before=num(ex["total"]), after=num(ex["total_after"])))
    return "\n".join(out)


#: Columns the errata tables fit in (a terminal's 80-100; the trace's prose lines are left to the terminal).
TABLE_WIDTH = 100


def format_errata(rows: list[Erratum], *, lang: str = "en") -> str:
    """The errata as two tables that fit :data:`TABLE_WIDTH` columns, each row named by what it corrects:
    (what, line, the lecture's value, (i) its formula fixed), then (what, (ii), (iii)); then one line of why
    per row. A value of two quantities ("log σ² = -0.02, σ̃² = 0.9801") takes one line for each, in every
    language alike, so that every language prints the same numbers in the same order."""
    text = table(lang)
    words = text.TEXT
    keys = ("errata_what", "errata_line", "errata_lecture", "errata_fixed", "errata_sampled", "errata_exact")
    head = [words[k] for k in keys]
    body = [[text.ERRATA[r.key][0], str(r.line), show(r.lecture), show(r.fixed), show(r.sampled), show(r.exact)]
            for r in rows]
    lines = [words["errata_title"], *_table(head, body, (0, 1, 2, 3)), "", *_table(head, body, (0, 4, 5)), ""]
    lines += [words["errata_note"].format(what=text.ERRATA[r.key][0], line=r.line, quote=r.quote,
                                          note=text.ERRATA[r.key][1]) for r in rows]
    return "\n".join(lines)


def _table(head: list[str], body: list[list[str]], columns: tuple[int, ...]) -> list[str]:
    """The ``columns`` of a table as text lines: values split at their top-level ", " (one quantity a line),
    the first column (words) wrapped at spaces to what the others leave of :data:`TABLE_WIDTH`."""
    rows = [[[row[c]] for c in columns] for row in (head,)]  # headers stay whole
    rows += [[_pieces(row[c]) if i else [row[c]] for i, c in enumerate(columns)] for row in body]
    widths = [max(_width(p) for row in rows for p in row[i]) for i in range(len(columns))]
    widths[0] = min(widths[0], max(12, TABLE_WIDTH - sum(widths[1:]) - 2 * (len(columns) - 1)))
    for row in rows:
        row[0] = _wrap(row[0][0], widths[0])
    widths[0] = max(_width(p) for row in rows for p in row[0])

    def fmt(cells: list[list[str]]) -> list[str]:
        height = max(map(len, cells))
        return ["  ".join(c + " " * (w - _width(c)) for c, w in zip(parts, widths)).rstrip()
                for parts in zip(*(cell + [""] * (height - len(cell)) for cell in cells))]

    return [*fmt(rows[0]), "  ".join("-" * w for w in widths), *(line for row in rows[1:] for line in fmt(row))]


def _pieces(cell: str) -> list[str]:
    """``cell`` split after each ", " outside brackets: "a = 1, b = [2, 3]" -> ["a = 1,", "b = [2, 3]"]."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(cell):
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0 and cell[i + 1 : i + 2] == " ":
            out.append(cell[start : i + 1])
            start = i + 2
    return [*out, cell[start:]]


def _wrap(words: str, width: int) -> list[str]:
    """``words`` in lines of at most ``width`` columns, broken at spaces (a longer word gets its own line)."""
    lines = [""]
    for word in words.split(" "):
        joined = f"{lines[-1]} {word}" if lines[-1] else word
        if _width(joined) <= width or not lines[-1]:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines


def _width(s: str) -> int:
    """Columns a string takes in a terminal: Hangul and other wide characters take two."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
               for ch in s)


__all__ = ["LANGUAGES", "format_errata", "format_trace", "table"]
