"""Where expression text sits in the spec file: from a (line, column) inside an expression to the file's."""

from __future__ import annotations

import dataclasses
from typing import Callable

from ..errors import Location
from ..loader import LoadedSpec


def locator(loaded: LoadedSpec, path: tuple) -> Callable[[int, int], Location]:
    """Maps a position in the expression at ``path`` (1-based line, 0-based column) to the file's location,
    for plain, quoted and block (| and >) scalars, escapes and folded lines included."""
    src = loaded.source(path)
    if src is None and tuple(path) == ("result", "value"):
        src = loaded.source(("result",))  # `result: <expr>`, the short form of `result: {value: <expr>}`
    if src is not None and src.location.file:  # inherited: columns are counted in the text of the file it is in
        in_file = locator(loaded.origin(src.location), path)
        return lambda line, col: dataclasses.replace(in_file(line, col), file=src.location.file)
    if src is None:
        fixed = loaded.location(path)
        return lambda line, col: fixed
    base = src.location
    if src.style == "|":  # literal: the value's lines are the file's, less the block's indentation
        first = loaded.line(base.line + 1)  # the block's first content line
        indent = len(first) - len(first.lstrip())  # YAML strips this much from every line of the block

        def block(line: int, col: int) -> Location:
            return Location(base.line + line, indent + col + 1)

        return block
    quote = 1 if src.style in ("'", '"') else 0
    value = _value_at(loaded.data, path if loaded.source(path) is not None else ("result",))
    start = loaded.offset(base) + quote
    if isinstance(value, str) and 0 <= start <= len(loaded.text) and loaded.text[start : start + len(value)] != value:
        # the text in the file is not the value as written: escapes ("\t"), quotes ('') or folded lines
        positions = _align(value, loaded.text, start)

        def aligned(line: int, col: int) -> Location:
            lines = value.split("\n")
            index = sum(len(text) + 1 for text in lines[: max(line - 1, 0)]) + col
            offset = positions[min(max(index, 0), len(positions) - 1)] if positions else start
            return loaded.location_at(offset)

        return aligned
    return lambda line, col: (
        Location(base.line, base.column + quote + col) if line <= 1 else Location(base.line + line - 1, col + 1)
    )


def _value_at(data: object, path: tuple) -> object:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None
    if path and path[-1] == "value" and isinstance(data, dict):
        return None
    return data


def _align(value: str, text: str, start: int) -> list[int]:
    """For each character of a scalar's value, its index in the file: the value's characters are found in order
    in the text, stepping over what YAML took away or rewrote (line breaks and indentation folded into one
    space, a backslash escape standing for one character, a doubled quote for one)."""
    positions = []
    i = start
    for ch in value:
        while i < len(text) and text[i] != ch:
            if text[i] == "\\" and i + 1 < len(text):  # an escape: the character it stands for is here
                break
            if text[i] in " \t\r\n" and ch in " \n":  # folding: whitespace runs stand for one space
                break
            i += 1
        if i >= len(text):
            positions.append(len(text) - 1)
            continue
        positions.append(i)
        if text[i] == "\\" and ch != "\\" or (text[i] == "\\" and text[i + 1 : i + 2] == "\\"):
            i += _escape_length(text, i)
        elif text[i] in " \t\r\n" and ch in " \n":
            while i < len(text) and text[i] in " \t\r\n":
                i += 1
        elif ch == "'" and text[i : i + 2] == "''":
            i += 2
        else:
            i += 1
    return positions


def _escape_length(text: str, i: int) -> int:
    kind = text[i + 1 : i + 2]
    return {"x": 4, "u": 6, "U": 10}.get(kind, 2)
