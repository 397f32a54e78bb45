"""The worked example and its errata as text, laid out as the lecture writes them, in a chosen language.

The math (formulas, substituted numbers, values) comes from :mod:`.trace` and :mod:`.errata` and is
the same in every language; the words come from one table per language (:mod:`.text_en`,
:mod:`.text_ko`), so the English and Korean traces print the same numbers in the same order.
"""

from __future__ import annotations

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


def format_errata(rows: list[Erratum], *, lang: str = "en") -> str:
    """The errata as a table (what, line, the lecture's value, (i), (ii), (iii)), then one line of why per row."""
    text = table(lang)
    words = text.TEXT
    head = tuple(words[k] for k in ("errata_what", "errata_line", "errata_lecture", "errata_fixed",
                                    "errata_sampled", "errata_exact"))
    body = [(text.ERRATA[r.key][0], str(r.line), show(r.lecture), show(r.fixed), show(r.sampled), show(r.exact))
            for r in rows]
    widths = [max(_width(row[i]) for row in (head, *body)) for i in range(len(head))]

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths)).rstrip()

    lines = [words["errata_title"], fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, body), ""]
    lines += [words["errata_note"].format(what=text.ERRATA[r.key][0], line=r.line, quote=r.quote,
                                          note=text.ERRATA[r.key][1]) for r in rows]
    return "\n".join(lines)


def _width(s: str) -> int:
    """Columns a string takes in a terminal: Hangul and other wide characters take two."""
    import unicodedata

    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
               for ch in s)


__all__ = ["LANGUAGES", "format_errata", "format_trace", "table"]
