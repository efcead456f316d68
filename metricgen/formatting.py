"""Stage 6, format: black, with its defaults, so generated files read like the rest of a Keras codebase."""

from __future__ import annotations

import black

MODE = black.Mode()


def format_source(source: str) -> str:
    return black.format_str(source, mode=MODE)
