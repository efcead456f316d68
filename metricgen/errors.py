"""Spec errors: what went wrong, where, and what to do about it.

Every user mistake becomes a :class:`SpecError` carrying the file, line and column, so the CLI can print
``specs/x.yaml:12:5: error: unknown name 'y_prd' (did you mean 'y_pred'?)`` and exit 2 instead of a traceback.
Stages collect errors in a :class:`Diagnostics` and report all of them, not just the first.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable


def printable(text: str) -> str:
    """``text`` safe to print to a terminal or a log: control characters (newlines, escape sequences) and
    invisible format characters (bidi overrides) shown as escapes, so spec text cannot forge a line, move the
    cursor, open a hyperlink or reorder what is shown."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs"):
            out.append(ch.encode("unicode_escape").decode("ascii") if ch != "\t" else " ")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in a spec file (0 means unknown)."""

    line: int = 0
    column: int = 0

    def shifted(self, lines: int = 0, columns: int = 0) -> "Location":
        return Location(self.line + lines, self.column + columns)


UNKNOWN = Location()
MAX_ERRORS = 100  # reported per spec; the rest are counted
MAX_SHOWN = 300  # characters of one piece of spec text in a message


@dataclass(frozen=True)
class SpecError(Exception):
    """One problem in one spec, with where it is and, where one helps, a hint."""

    message: str
    location: Location = UNKNOWN
    path: str = "<spec>"
    hint: str = ""

    def format(self) -> str:
        where = printable(self.path)
        if self.location.line:
            where += f":{self.location.line}:{self.location.column or 1}"
        text = f"{where}: error: {_shortened(printable(self.message))}"
        if self.hint:
            text += f" ({_shortened(printable(self.hint))})"
        return text

    def __str__(self) -> str:  # pragma: no cover - exceptions print via format()
        return self.format()


@dataclass
class Diagnostics:
    """Errors found in one spec so far; raised together as :class:`SpecErrors`."""

    path: str
    errors: list[SpecError] = field(default_factory=list)

    def error(self, message: str, location: Location = UNKNOWN, hint: str = "") -> None:
        self.errors.append(SpecError(message, location, self.path, hint))

    def extend(self, errors: Iterable[SpecError]) -> None:
        self.errors.extend(errors)

    def raise_if_any(self) -> None:
        if self.errors:
            unique = sorted(dict.fromkeys(self.errors), key=_sort_key)  # one cause reached twice is reported once
            if len(unique) > MAX_ERRORS:  # a hostile spec could otherwise print megabytes of errors
                more = SpecError(f"... and {len(unique) - MAX_ERRORS} more errors", path=self.path)
                unique = unique[:MAX_ERRORS] + [more]
            raise SpecErrors(unique)


def _sort_key(error: SpecError) -> tuple[int, int]:
    return (error.location.line, error.location.column)


class SpecErrors(Exception):
    """All the errors of one spec."""

    def __init__(self, errors: list[SpecError]):
        super().__init__("\n".join(e.format() for e in errors))
        self.errors = errors


def _shortened(text: str) -> str:
    return text if len(text) <= 4 * MAX_SHOWN else text[: 4 * MAX_SHOWN] + "…"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or '' when none is close (or there are too many to compare
    cheaply: the search is quadratic in the names' lengths)."""
    pool = sorted(set(candidates))
    if len(pool) > 500 or len(name) > 100:
        return ""
    close = difflib.get_close_matches(name, [c for c in pool if len(c) <= 100], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
