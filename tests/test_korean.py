"""The Korean pages stay in step with the English ones and with the code.

- Every English walkthrough page has a Korean twin (``walkthroughs/ko/`` + the same file name) with the
  same doctest examples, source and expected output, in the same order and under the same sections, so a
  number changed on one page and not on the other fails here, and a new English page without its twin too.
- The glossary names every value the worked example computes, with the symbol the trace prints for it
  and a file and function that really compute it. The list comes from the code (the keys of ``run()``
  in both modes, the steps' own code references, Adam's state and arguments), not from a hand list.
- The glossary's first column ("강의 용어") holds only words the lecture documents use: each term is
  found in the document(s) it names.
- Every quote on the errata pages (English and Korean) is on the line of the lecture document it cites.
"""

from __future__ import annotations

import doctest
import inspect
import re
from pathlib import Path

import pytest

from tinyvae.engine.optim import Adam
from tinyvae.lecture.model import LectureNetwork
from tinyvae.lecture.trace import run

ROOT = Path(__file__).resolve().parents[1]
KO = ROOT / "walkthroughs" / "ko"
TWINS = sorted(p.name for p in (ROOT / "walkthroughs").glob("*.md"))  # every English page, README included
GLOSSARY = KO / "glossary.md"
HEADING = re.compile(r"^(#{1,6}) ", re.M)


# ---- the two languages, example by example ------------------------------------------------------------
def sections(text: str) -> list[tuple[int, list[tuple[str, str]]]]:
    """(heading level, [(source, want) of each doctest example]) per section, in page order.

    The text before the first heading is section 0 with level 0.
    """
    starts = [(0, 0)] + [(m.start(), len(m.group(1))) for m in HEADING.finditer(text)]
    out = []
    parser = doctest.DocTestParser()
    for (start, level), (end, _) in zip(starts, starts[1:] + [(len(text), 0)]):
        examples = parser.get_examples(text[start:end])
        out.append((level, [(e.source, e.want) for e in examples]))
    return out


def test_every_english_page_has_a_korean_twin():
    assert {"06_worked_example.md", "errata.md", "README.md"} <= set(TWINS)
    missing = [name for name in TWINS if not (KO / name).is_file()]
    assert missing == [], f"English walkthroughs without a Korean twin in walkthroughs/ko/: {missing}"


def test_the_comparison_sees_every_example():
    """The parser finds one example per '>>> ' prompt, on every page (so the test below cannot pass on
    pages it failed to read), and the pages hold many."""
    total = 0
    for name in TWINS:
        text = (ROOT / "walkthroughs" / name).read_text(encoding="utf-8")
        found = sum(len(ex) for _, ex in sections(text))
        assert found == len(re.findall(r"^>>> ", text, re.M)), name
        total += found
    assert total >= 150


@pytest.mark.parametrize("name", TWINS)
def test_twins_have_the_same_doctests_section_by_section(name):
    assert (KO / name).is_file(), f"walkthroughs/ko/{name} is missing"
    en = sections((ROOT / "walkthroughs" / name).read_text(encoding="utf-8"))
    ko = sections((KO / name).read_text(encoding="utf-8"))
    assert [level for level, _ in ko] == [level for level, _ in en], f"{name}: the sections differ"
    for i, ((_, en_ex), (_, ko_ex)) in enumerate(zip(en, ko)):
        assert ko_ex == en_ex, f"{name}: section {i} has other doctests in Korean than in English"


def test_a_moved_example_is_caught():
    """An example moved to the next section, or a section left out, is seen."""
    page = (ROOT / "walkthroughs" / "07_adam.md").read_text(encoding="utf-8")
    moved = page.replace("\n## How far a weight moves\n", "\n").replace("## The update rule", "## The update rule\n\n## x")
    assert sections(moved) != sections(page)
    fewer = page.replace("## Why the bias correction\n", "")
    assert [lv for lv, _ in sections(fewer)] != [lv for lv, _ in sections(page)]


def test_a_changed_number_is_caught():
    """The comparison above sees a single digit changed in an expected output."""
    page = (ROOT / "walkthroughs" / "06_worked_example.md").read_text(encoding="utf-8")
    changed = page.replace("1.4871027 -> 1.2010974", "1.4871027 -> 1.2010975")
    assert changed != page
    assert sections(changed) != sections(page)


# ---- the README's Korean section is a guide to the whole path ------------------------------------------
def korean_links(section: str) -> list[str]:
    """The Korean pages a README section links to, in the order it links them."""
    return re.findall(r"\]\(walkthroughs/ko/([^)#]+\.md)\)", section)


def unlisted_or_out_of_order(section: str) -> list[str]:
    """Korean pages the section does not link to, and numbered pages linked before a lower number."""
    links = korean_links(section)
    problems = [f"{p.name}: not linked" for p in sorted(KO.glob("*.md")) if p.name not in links]
    numbers = [int(name[:2]) for name in links if re.match(r"\d\d_", name)]
    problems += [f"{a:02d} before {b:02d}" for a, b in zip(numbers, numbers[1:]) if a > b]
    return problems


def test_readme_korean_section_links_every_korean_page_in_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## 한국어\n", 1)[1].split("\n## ", 1)[0]
    assert "tinyvae example --lang ko" in section and "pytest walkthroughs/ko" in section
    assert unlisted_or_out_of_order(section) == []
    shuffled = section.replace("(walkthroughs/ko/02_layers.md)", "(walkthroughs/ko/09_x.md)")
    assert unlisted_or_out_of_order(shuffled) == ["02_layers.md: not linked", "09 before 03"]


# ---- the glossary names every value of the worked example ---------------------------------------------
def glossary_rows(text: str) -> list[list[str]]:
    """The table rows of the glossary as [term, English, symbol, code names, where computed]."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            assert len(cells) == 5, f"glossary row with {len(cells)} cells (a '|' inside a cell?): {line}"
            rows.append(cells)
    return rows[1:] if rows and rows[0][3] == "코드 이름" else rows


def worked_example_symbols() -> dict[str, tuple[set[str], set[str]]]:
    """Each name ``run()`` returns -> (symbols the trace prints on its left-hand side, its code references)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for exact in (False, True):
        for step in run(exact=exact).steps():
            symbols, refs = out.setdefault(step.name, (set(), set()))
            symbols.add(re.split(r" = | ← ", step.formula)[0])
            refs.update(step.code_refs())
    return out


def adam_names() -> set[str]:
    """Adam's state (m, v) and its arguments (lr, betas, eps), read from the class."""
    opt = Adam(LectureNetwork(), lr=0.1)
    state = {key.split(".")[0] for key in opt.state}
    args = set(inspect.signature(Adam.__init__).parameters) - {"self", "module"}
    return state | args | {"t"}


def missing_from_glossary(text: str) -> list[str]:
    """What the glossary fails to name, each with the reason; [] when every value is there."""
    rows = [r for r in glossary_rows(text)]
    named = lambda name: [r for r in rows if f"`{name}`" in r[3]]  # noqa: E731
    problems = []
    for name, (symbols, refs) in worked_example_symbols().items():
        candidates = named(name)
        if not candidates:
            problems.append(f"{name}: no row")
        elif not any(all(s in r[2] for s in symbols) and any(f"`{ref}`" in r[4] for ref in refs) for r in candidates):
            problems.append(f"{name}: no row with the symbols {sorted(symbols)} and one of {sorted(refs)}")
    extra = set(run().as_dict()) - set(worked_example_symbols()) - {"mode"}  # adam_lr
    for name in sorted(adam_names() | extra):
        if not any("`tinyvae/engine/optim.py: Adam" in r[4] for r in named(name)):
            problems.append(f"{name}: no row pointing at tinyvae/engine/optim.py: Adam")
    return problems


def test_glossary_names_every_value_of_the_worked_example():
    assert len(worked_example_symbols()) >= 50
    assert {"m", "v", "lr", "betas", "eps"} <= adam_names()
    assert missing_from_glossary(GLOSSARY.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("name", ["dlogvar_recon", "kl_exact", "W_d_new", "m"])
def test_a_missing_row_is_caught(name):
    text = GLOSSARY.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if f"`{name}`" not in line)
    assert any(p.startswith(f"{name}:") for p in missing_from_glossary(without))


def test_a_wrong_place_is_caught():
    text = GLOSSARY.read_text(encoding="utf-8")
    wrong = text.replace("`x_hat` | `tinyvae/engine/layers.py: Linear.forward`", "`x_hat` | `tinyvae/engine/losses.py: mse`")
    assert wrong != text
    assert any(p.startswith("x_hat:") for p in missing_from_glossary(wrong))


# ---- the errata page quotes the lecture where it says ------------------------------------------------
ERRATA_ROW = re.compile(r"^\| (\d{3}), ([\d, ]+) \| (.*?) \| .* \|$", re.M)
QUOTE = re.compile(r"「(.*?)」")


def _seeds() -> Path:
    for parent in ROOT.parents:
        if (parent / "shared" / "seeds" / "INDEX.md").exists():
            return parent / "shared" / "seeds"
    pytest.skip("the lecture documents (../shared/seeds/) are not beside the repository")


def _squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


@pytest.mark.parametrize("page", ["errata.md", "ko/errata.md"])
def test_errata_quotes_are_on_their_lines(page: str):
    seeds = _seeds()
    rows = ERRATA_ROW.findall((ROOT / "walkthroughs" / page).read_text(encoding="utf-8"))
    assert len(rows) >= 20
    for doc, numbers, said in rows:
        (path,) = seeds.glob(f"{doc}_*.txt")
        lines = path.read_text(encoding="utf-8").splitlines()
        cited = [_squash(lines[int(n) - 1]) for n in numbers.split(",")]
        quotes = [_squash(q.strip("`")) for q in QUOTE.findall(said)]
        assert quotes, f"{doc}, {numbers}: no quote"
        for q in quotes:
            assert any(q in line for line in cited), f"{doc}, {numbers}: 「{q}」 is not on those lines"
        for n, line in zip(numbers.split(","), cited):
            assert any(q in line for q in quotes), f"{doc}, line {n.strip()} holds none of the quotes"


# ---- the glossary's lecture terms are the lecture's words ----------------------------------------------
LECTURE_TERM = re.compile(r"(.+?) \((\d{3}(?:, \d{3})*)\)")


def lecture_terms_not_in_the_documents(text: str, seeds: Path) -> list[str]:
    """Each "term (NNN, ...)" of the first column that document NNN does not hold (spaces ignored:
    the lecture writes both 재구성손실 and 재구성 손실); [] when every term is there."""
    docs = {p.name[:3]: re.sub(r"\s+", "", p.read_text(encoding="utf-8")) for p in seeds.glob("*.txt")}
    problems = []
    for row in glossary_rows(text):
        if row[3] == "코드 이름" or row[0] == "—":
            continue
        for item in re.split(r"(?<=\)), ", row[0]):
            m = LECTURE_TERM.fullmatch(item)
            if not m:
                problems.append(f"{item!r}: not 'term (document)'")
                continue
            for doc in m.group(2).split(", "):
                if re.sub(r"\s+", "", m.group(1)) not in docs.get(doc, ""):
                    problems.append(f"{m.group(1)!r} is not in document {doc}")
    return problems


def test_glossary_lecture_terms_are_in_the_documents():
    seeds = _seeds()
    text = GLOSSARY.read_text(encoding="utf-8")
    terms = [r[0] for r in glossary_rows(text) if r[0] not in ("—", "강의 용어 (문서)")]
    assert len(terms) >= 40
    assert lecture_terms_not_in_the_documents(text, seeds) == []


@pytest.mark.parametrize("term", ["증거 하한 (004)", "유한 차분 (001)", "기울기 (004)", "재구성 손실 (001)", "재구성 손실"])
def test_a_term_the_documents_do_not_use_is_caught(term):
    text = GLOSSARY.read_text(encoding="utf-8").replace("| 총손실 (004) |", f"| {term} |", 1)
    assert any(term.split(" (")[0] in p for p in lecture_terms_not_in_the_documents(text, _seeds()))


def test_glossary_quotes_adam_settings_from_the_code():
    """The numbers in the glossary's Adam rows are the example's lr and Adam's own defaults."""
    from tinyvae.lecture.givens import ADAM_LR

    text = GLOSSARY.read_text(encoding="utf-8")
    defaults = inspect.signature(Adam.__init__).parameters
    b1, b2 = defaults["betas"].default
    assert f"예제에서는 {ADAM_LR:g}" in text
    assert f"β₁, β₂ = {b1:g}, {b2:g}" in text
    assert f"| {defaults['eps'].default:.0e} |".replace("e-0", "e-") in text  # 1e-8
