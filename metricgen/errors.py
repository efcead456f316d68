"""Spec errors: what went wrong, where, and what to do about it.

Every user mistake becomes a :class:`SpecError` carrying the file, line and column, so the CLI can print
``specs/x.yaml:12:5: error: unknown name 'y_prd' (did you mean 'y_pred'?)`` and exit 2 instead of a traceback.
Stages collect errors in a :class:`Diagnostics` and report all of them, not just the first.
"""

from __future__ import annotations

import difflib
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sized


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
    """A 1-based line and column in a spec file (0 means unknown). ``file`` names the file when it is not the
    spec's own: text a spec inherits (``extends:``) is located in the file that holds it."""

    line: int = 0
    column: int = 0
    file: str = ""

    def shifted(self, lines: int = 0, columns: int = 0) -> "Location":
        return Location(self.line + lines, self.column + columns, self.file)


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

    def __post_init__(self) -> None:
        if self.location.file:  # inherited text: the error is in the file that holds it
            object.__setattr__(self, "path", self.location.file)

    def __reduce__(self):
        # made again from its fields: an exception's pickling sets attributes one by one, which a frozen
        # dataclass refuses (build's worker processes send their errors back pickled)
        return (type(self), (self.message, self.location, self.path, self.hint))

    def format(self) -> str:
        where = _shown(self.path)
        if self.location.line:
            where += f":{self.location.line}:{self.location.column or 1}"
        text = f"{where}: error: {_shown(self.message)}"
        if self.hint:
            text += f" ({_shown(self.hint)})"
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
            # in file order; one cause reached twice is reported once
            raise SpecErrors(sorted(dict.fromkeys(self.errors), key=_sort_key))


def _sort_key(error: SpecError) -> tuple[int, int]:
    return (error.location.line, error.location.column)


class SpecErrors(Exception):
    """The errors of one spec: the first MAX_ERRORS, then a line that counts the rest. The rest are never
    formatted: a hostile spec could otherwise make thousands of errors and print megabytes of them."""

    def __init__(self, errors: list[SpecError]):
        if len(errors) > MAX_ERRORS:
            more = SpecError(f"... and {len(errors) - MAX_ERRORS} more errors", path=errors[0].path)
            errors = errors[:MAX_ERRORS] + [more]
        super().__init__("\n".join(e.format() for e in errors))
        self.errors = errors


def _shown(text: str) -> str:
    """Spec text as a message shows it: printable, and cut after 4 * MAX_SHOWN characters (before it is made
    printable too, so that the cost of a message is bounded whatever the text)."""
    limit = 4 * MAX_SHOWN
    shown = printable(text[: limit + 1])
    return shown if len(shown) <= limit else shown[:limit] + "…"


# did_you_mean's comparisons left in the current spec's stage (None: no bound), set by bounded_suggestions()
_COMPARISONS_LEFT: ContextVar[list[int] | None] = ContextVar("did_you_mean_comparisons_left", default=None)
_MAX_COMPARISONS = 5_000  # a stage's first few dozen searches, among the few dozen names a spec has in scope
_MAX_CANDIDATES = 500  # names compared in one search
_MAX_NAME = 40  # characters, as in CPython's own suggestions: a comparison is quadratic in the names' lengths


@contextmanager
def bounded_suggestions(comparisons: int = _MAX_COMPARISONS) -> Iterator[None]:
    """Within this block (one spec's validation, or its analysis) did_you_mean compares at most
    ``comparisons`` pairs of names: a spec with thousands of misspelt names reports only its first MAX_ERRORS
    errors, and every search compares the name with each one in scope."""
    token = _COMPARISONS_LEFT.set([comparisons])
    try:
        yield
    finally:
        _COMPARISONS_LEFT.reset(token)


def did_you_mean(name: str, *candidates: Iterable[str]) -> str:
    """A hint naming the closest of the names in ``candidates`` (one or more collections), or '' when none is
    close, when there are too many to compare cheaply, or when this spec's stage has had its share of
    comparisons (see bounded_suggestions). Collections are counted before they are read: a search among
    thousands of names costs nothing."""
    pools = [pool if isinstance(pool, Sized) else list(pool) for pool in candidates]
    count = sum(len(pool) for pool in pools)
    if len(name) > _MAX_NAME or count > _MAX_CANDIDATES or not _spend(count):
        return ""
    names = sorted({c for pool in pools for c in pool if len(c) <= _MAX_NAME})
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _spend(comparisons: int) -> bool:
    left = _COMPARISONS_LEFT.get()
    if left is None:
        return True
    if comparisons > left[0]:
        left[0] = 0  # spent: the later searches of a flood are refused at once, whatever their size
        return False
    left[0] -= comparisons
    return True
