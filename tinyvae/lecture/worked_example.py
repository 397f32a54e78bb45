"""The lecture's worked example (document 004) in one import: ``from tinyvae import worked_example``.

A facade over the small modules that do the work:

- :mod:`.givens`   the lecture's numbers: what it gives, what we reconstruct, what it printed
- :mod:`.model`    the lecture's network, built from the library's ``Linear`` layers
- :mod:`.steps`    one named step, the record of a run, and the code references checked from objects
- :mod:`.trace`    the math: forward, the three KL figures, backward, one Adam step (``run``)
- :mod:`.errata`   the lecture's mistakes, each correct value computed (``errata``)
- :mod:`.layout`   the trace and the errata as text, in English or Korean (``format_trace``)
- :mod:`.text_en`, :mod:`.text_ko`   the words of the trace, one table per language

Walkthrough: ``walkthroughs/06_worked_example.md``; command line: ``tinyvae example``.
"""

from .errata import DOCUMENT, Erratum, errata
from .givens import ADAM_LR, GIVEN, LECTURE, PARAM_KEYS, RECONSTRUCTED, X, agrees, decimals, implied_eps
from .layout import LANGUAGES, format_errata, format_trace
from .mathfmt import num, show, vec
from .model import LectureNetwork
from .steps import Step, WorkedExample, code_ref
from .trace import kl_lecture_formula, run

__all__ = [
    "ADAM_LR", "DOCUMENT", "GIVEN", "LANGUAGES", "LECTURE", "PARAM_KEYS", "RECONSTRUCTED", "X", "Erratum",
    "LectureNetwork", "Step", "WorkedExample", "agrees", "code_ref", "decimals", "errata", "format_errata",
    "format_trace", "implied_eps", "kl_lecture_formula", "num", "run", "show", "vec",
]
