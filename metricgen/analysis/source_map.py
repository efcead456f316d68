"""Where expression text sits in the spec file: from a (line, column) inside an expression to the file's."""

from __future__ import annotations

from typing import Callable

from ..errors import Location
from ..loader import LoadedSpec


def locator(loaded: LoadedSpec, path: tuple) -> Callable[[int, int], Location]:
    """Maps a position in the expression at ``path`` (1-based line, 0-based column) to the file's location,
    for plain, quoted and block (| and >) scalars."""
    src = loaded.source(path)
    if src is None and tuple(path) == ("result", "value"):
        src = loaded.source(("result",))  # `result: <expr>`, the short form of `result: {value: <expr>}`
    if src is None:
        fixed = loaded.location(path)
        return lambda line, col: fixed
    base = src.location
    if src.style in ("|", ">"):
        lines = loaded.text.splitlines()
        first = lines[base.line] if base.line < len(lines) else ""  # the block's first content line
        indent = len(first) - len(first.lstrip())  # YAML strips this much from every line of the block

        def block(line: int, col: int) -> Location:
            return Location(base.line + line, indent + col + 1)

        return block
    quote = 1 if src.style in ("'", '"') else 0
    return lambda line, col: (
        Location(base.line, base.column + quote + col) if line <= 1 else Location(base.line + line - 1, col + 1)
    )
