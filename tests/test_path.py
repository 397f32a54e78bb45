"""The learning path is in teaching order, and says so where it cannot be.

The path is the numbered pages ``walkthroughs/NN_name.md`` and notebooks ``notebooks/NN_name.py``:

- every page has exactly one notebook of the same number and name, and every notebook its page;
- the numbers run 01, 02, ... without a gap or a repeat;
- every page has its Korean twin ``walkthroughs/ko/NN_name.md``;
- every page (English and Korean) starts, right under its title, with one line naming the earlier pages
  it builds on: ``You need: [02 · Layers](02_layers.md), ...`` (Korean: ``먼저 읽을 것: ...``); it links only to
  pages with a lower number (page 01 links none), and the Korean line names the same pages as the English;
- a concept is defined on one page (``CONCEPTS``): a page or notebook numbered before that page that
  mentions the concept names the page where it is explained (its file name, ``07_adam``, in a link or in
  the text), so no page uses an idea the learner has not met without saying where to meet it.

Each check is a function returning the problems it finds, and the tests below also feed it a broken path
(a page moved, a line changed, a link dropped) to see it complain.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "walkthroughs"
KO = PAGES / "ko"
NOTEBOOKS = ROOT / "notebooks"
NUMBERED = re.compile(r"^(\d\d)_([a-z0-9_]+)$")
YOU_NEED = {"en": "You need:", "ko": "먼저 읽을 것:"}
LINK = re.compile(r"\]\((\d\d_[a-z0-9_]+)\.md(?:#[^)]*)?\)")

# concept -> (the page that explains it, a pattern that finds a mention). The pattern is what a reader would
# recognise as using the idea; β is the KL's weight, not Adam's β₁, β₂.
CONCEPTS: dict[str, tuple[str, str]] = {
    "a layer's backward pass": ("02_layers", r"\bbackward\b|\bbackprop"),
    "the reparameterization trick": ("03_reparameterization_and_kl", r"[Rr]eparameteri[sz]"),
    "the KL divergence": ("03_reparameterization_and_kl", r"\bKL\b"),
    "the ELBO": ("04_elbo", r"\bELBO\b"),
    "Adam": ("07_adam", r"\bAdam\b"),
    "the IWAE bound": ("08_training", r"\bIWAE\b"),
    "β, the KL's weight": ("09_beta_vae", r"β(?![₁₂])|\bbeta\b"),
    "the conditional VAE": ("10_conditional_vae", r"\bCVAE\b|[Cc]onditional VAE"),
    "im2col and convolutions": ("11_convolutions", r"\bim2col\b|\bConv2d\b|[Cc]onvolution"),
    "array backends": ("12_backends", r"\barray_api_strict\b|\bCuPy\b"),
}


def numbered(folder: Path, suffix: str) -> dict[str, str]:
    """stem -> text of every ``NN_name`` file with this suffix in ``folder``."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob(f"[0-9][0-9]_*{suffix}"))}


def number(stem: str) -> int:
    return int(stem[:2])


# ---- the checks: each returns a list of problems, [] when the path is in order --------------------------
def pairing_problems(pages: list[str], notebooks: list[str]) -> list[str]:
    """Every page has one notebook of its number and name and the other way round; the numbers are
    01, 02, ... with no gap and no number used twice."""
    problems = [f"{s}: not a NN_name file name" for s in [*pages, *notebooks] if not NUMBERED.match(s)]
    problems += [f"walkthroughs/{s}.md has no notebooks/{s}.py" for s in sorted(set(pages) - set(notebooks))]
    problems += [f"notebooks/{s}.py has no walkthroughs/{s}.md" for s in sorted(set(notebooks) - set(pages))]
    numbers = sorted(number(s) for s in set(pages) | set(notebooks))
    problems += [f"number {n:02d} is used by more than one name" for n in sorted(set(numbers)) if numbers.count(n) > 1]
    missing = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
    problems += [f"number {n:02d} is missing" for n in missing]
    return problems


def you_need_line(text: str, lang: str = "en") -> str | None:
    """The first line after the page's title, if it is the "You need" line."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("# "):
        return None
    return lines[1] if lines[1].startswith(YOU_NEED[lang]) else None


def you_need_problems(stem: str, text: str, lang: str = "en") -> list[str]:
    """The page's "You need" line is there, names existing pages, and only ones numbered before it."""
    line = you_need_line(text, lang)
    if line is None:
        return [f"{stem}: the line under the title does not start with {YOU_NEED[lang]!r}"]
    named = LINK.findall(line)
    problems = [f"{stem}: 'You need' names {n}, which is not a page" for n in named if not (PAGES / f"{n}.md").is_file()]
    problems += [f"{stem}: 'You need' names {n}, which comes later" for n in named if number(n) >= number(stem)]
    if number(stem) > 1 and not named:
        problems.append(f"{stem}: 'You need' links no earlier page")
    return problems


def concept_problems(stem: str, text: str, where: str | None = None) -> list[str]:
    """Concepts the page ``stem`` (file ``where``) mentions before the page that explains them, without
    naming that page."""
    problems, where = [], where or stem
    for concept, (home, pattern) in CONCEPTS.items():
        if number(stem) < number(home) and re.search(pattern, text) and home not in text:
            found = re.search(pattern, text).group(0)
            problems.append(f"{where}: mentions {concept} ({found!r}) explained only at {home}, and does not say so")
    return problems


# ---- the path as it is ---------------------------------------------------------------------------------
EN = numbered(PAGES, ".md")
NB = numbered(NOTEBOOKS, ".py")


def test_the_path_is_there():
    assert len(EN) >= 12 and len(NB) >= 12, (sorted(EN), sorted(NB))


def test_every_page_has_one_notebook_of_its_number_and_name():
    assert pairing_problems(list(EN), list(NB)) == []


def test_every_page_has_its_korean_twin():
    missing = [f"walkthroughs/ko/{s}.md" for s in EN if not (KO / f"{s}.md").is_file()]
    assert missing == []


def korean(stem: str) -> str | None:
    path = KO / f"{stem}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None  # a missing twin fails the test above


@pytest.mark.parametrize("stem", sorted(EN))
def test_you_need_names_only_earlier_pages(stem):
    assert you_need_problems(stem, EN[stem]) == []
    ko = korean(stem)
    if ko is None:
        return
    assert you_need_problems(stem, ko, "ko") == []
    assert LINK.findall(you_need_line(ko, "ko")) == LINK.findall(you_need_line(EN[stem])), \
        f"{stem}: the Korean 'You need' line names other pages than the English"


@pytest.mark.parametrize("stem", sorted(EN))
def test_concepts_come_no_later_than_their_page(stem):
    problems = (concept_problems(stem, EN[stem], f"walkthroughs/{stem}.md")
                + concept_problems(stem, korean(stem) or "", f"walkthroughs/ko/{stem}.md")
                + concept_problems(stem, NB.get(stem, ""), f"notebooks/{stem}.py"))
    assert problems == []


def test_each_concept_is_explained_on_its_page():
    """The pages the concept table names exist, and each mentions its own concept."""
    for concept, (home, pattern) in CONCEPTS.items():
        assert home in EN, f"{concept}: no page {home}"
        assert re.search(pattern, EN[home]), f"{home} does not mention {concept}"


# ---- the checks see a broken path ------------------------------------------------------------------------
def test_pairing_sees_a_missing_notebook_a_gap_and_a_repeat():
    pages = ["01_a", "02_b", "03_c"]
    assert pairing_problems(pages, pages) == []
    assert pairing_problems(pages, ["01_a", "02_b"]) == ["walkthroughs/03_c.md has no notebooks/03_c.py"]
    assert pairing_problems(["01_a", "03_c"], ["01_a", "03_c"]) == ["number 02 is missing"]
    assert pairing_problems(["01_a", "01_b"], ["01_a", "01_b"]) == ["number 01 is used by more than one name"]
    assert pairing_problems(["01_a"], ["01_a", "01_A"]) == ["01_A: not a NN_name file name",
                                                            "notebooks/01_A.py has no walkthroughs/01_A.md",
                                                            "number 01 is used by more than one name"]


def test_you_need_sees_a_later_page_a_missing_line_and_a_dead_link():
    good = "# 05 · X\n\nYou need: [02 · Layers](02_layers.md).\n"
    assert you_need_problems("05_x", good) == []
    assert you_need_problems("01_x", good) == ["01_x: 'You need' names 02_layers, which comes later"]
    assert you_need_problems("05_x", "# 05 · X\n\nSome text.\nYou need: [02](02_layers.md)\n") \
        == ["05_x: the line under the title does not start with 'You need:'"]
    assert you_need_problems("05_x", good.replace("02_layers", "02_lairs")) \
        == ["05_x: 'You need' names 02_lairs, which is not a page"]
    assert you_need_problems("05_x", "# 05 · X\nYou need: the page before.\n") == ["05_x: 'You need' links no earlier page"]
    assert you_need_problems("02_x", "# 02 · X\n\n먼저 읽을 것: [01](01_autoencoders.md)\n", "ko") == []


def test_concepts_see_a_use_before_its_page():
    assert concept_problems("02_layers", "The KL term is the prior's pull.") \
        == ["02_layers: mentions the KL divergence ('KL') explained only at 03_reparameterization_and_kl, and does not say so"]
    assert concept_problems("02_layers", "The KL term (see [03](03_reparameterization_and_kl.md)).") == []
    assert concept_problems("03_reparameterization_and_kl", "The KL term.") == []
    assert concept_problems("06_worked_example", "one Adam step, with β₁ = 0.9") \
        == ["06_worked_example: mentions Adam ('Adam') explained only at 07_adam, and does not say so"]
    assert concept_problems("08_training", "Adam's β₁ and β₂") == []  # Adam's betas are not the KL's β
    assert concept_problems("08_training", "loss = recon + β · KL")[0].startswith("08_training: mentions β")
