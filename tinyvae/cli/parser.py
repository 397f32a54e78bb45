"""The argument parser of every command: no abbreviated flags, and "did you mean" for a misspelt one.

argparse by itself takes ``--epoch 5`` as ``--epochs 5`` (any unique prefix of a flag), and answers
``tinyvae train --lattent 5`` with the top-level usage and "unrecognized arguments". :class:`Parser`
refuses prefixes (``allow_abbrev=False``), reports an unknown flag with the usage of the command it
was given to, and names the closest flag or choice that command has.
"""

from __future__ import annotations

import argparse
import difflib
import re
from typing import Any, Sequence

# argparse's words, quoted or not as Python versions differ: invalid choice: 'x' (choose from 'a', 'b')
_INVALID_CHOICE = re.compile(r"invalid choice: (?P<got>'[^']*'|\S+) \(choose from (?P<choices>.*)\)")


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate nearest to ``word`` in spelling, or None when none is near.

    >>> closest("--lattent", ["--latent", "--loss", "--lr"]), closest("trian", ["train", "sample"])
    ('--latent', 'train')
    >>> closest("--zzz", ["--latent"]) is None
    True
    """
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


class Parser(argparse.ArgumentParser):
    """An ArgumentParser (the class of every command's parser too) that never guesses a flag from its prefix."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # --epoch is not --epochs
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: Any = None) -> argparse.Namespace:
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            target = self._command_parser(ns)
            target.error(target.unrecognized(extras))
        return ns

    def unrecognized(self, extras: list[str]) -> str:
        """The message for arguments this parser does not take, with the nearest flag it does take."""
        message = f"unrecognized argument{'s' if len(extras) > 1 else ''}: {' '.join(extras)}"
        flags = [s for s in self._option_string_actions if s.startswith("--")]
        for word in extras:
            if word.startswith("--") and (near := closest(word.split("=", 1)[0], flags)):
                return f"{message} (did you mean {near}?)"
        return message

    def error(self, message: str) -> Any:  # NoReturn: prints the usage and exits with status 2
        m = _INVALID_CHOICE.search(message)
        if m and (near := closest(m["got"].strip("'"), [c.strip("'") for c in m["choices"].split(", ")])):
            message += f"; did you mean {near!r}?"
        super().error(message)

    def _command_parser(self, ns: argparse.Namespace) -> "Parser":
        """The parser of the command named in ``ns`` (whose usage fits the mistake), else this one."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(ns, action.dest, None) or "")
                if isinstance(chosen, Parser):
                    return chosen._command_parser(ns)
        return self
