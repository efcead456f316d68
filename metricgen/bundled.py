"""The catalogues metricgen ships (``catalogue/<collection>/specs/*.yaml``), found by name and copied into a
user's specs folder under the user's own name: ``metricgen new f1_at_half --from keras:F1Score``.

The specs travel in the wheel as package data (pyproject.toml's force-include puts them under
``metricgen/catalogue/``), so they are read through importlib.resources: from an installed wheel, even a zipped
one, as from a source checkout.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import SpecError, did_you_mean
from .inherit import catalogue_files, catalogue_root, in_catalogue, resolve
from .loader import load_spec_text
from .schema import Spec, validate_spec

if TYPE_CHECKING:  # importlib.resources.abc from Python 3.11 on
    from importlib.abc import Traversable

SCHEMA_COMMENT = re.compile(r"#\s*yaml-language-server:\s*\$schema=")


@dataclass(frozen=True)
class Entry:
    """One catalogue spec: its collection (keras, tfa), its text as shipped and what it declares."""

    collection: str
    file_name: str
    text: str
    spec: Spec

    @property
    def qualified(self) -> str:
        return f"{self.collection}:{self.spec.class_name}"

    def names(self) -> tuple[str, str]:
        """What --from accepts for it, qualified or not: the class name and the spec's snake_case name."""
        return self.spec.class_name, self.spec.name


@functools.lru_cache(maxsize=None)
def entries(root: Traversable | None = None) -> tuple[Entry, ...]:
    """Every catalogue spec, by collection then file name. The shipped specs are valid (the test suite builds
    them all), so a spec that does not validate here is a broken installation: its error is raised."""
    return tuple(
        Entry(collection, file_name, text, validate_spec(resolve(load_spec_text(text, f"{collection}:{file_name}"))))
        for collection, file_name, text in catalogue_files(root or catalogue_root())
    )


def find(query: str, root: Traversable | None = None) -> Entry:
    """The entry ``query`` names: ``F1Score`` or ``f1_score`` in any collection, ``keras:F1Score`` in one.
    A name in several collections, or in none, is a SpecError whose hint lists what to write instead."""
    every = entries(root)
    collection, _, name = query.rpartition(":")
    pool = [e for e in every if e.collection == collection] if collection else list(every)
    if collection and not pool:
        known = sorted({e.collection for e in every})
        raise SpecError(
            f"no catalogue named '{collection}'",
            path="--from",
            hint=did_you_mean(collection, known) or "catalogues: " + ", ".join(known),
        )
    matches = [e for e in pool if name in e.names()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        choices = ", ".join(e.qualified for e in matches)
        raise SpecError(f"'{name}' is in several catalogues: {choices}", path="--from", hint="name one of them")
    elsewhere = [e.qualified for e in every if name in e.names()]  # keras:CohenKappa: it is tfa's
    if elsewhere:
        hint = "it is " + " or ".join(elsewhere)
    else:
        close = did_you_mean(query, [e.qualified if collection else e.spec.class_name for e in pool])
        hint = close or "metricgen list --catalogue lists them"
    raise SpecError(f"no metric '{query}' in metricgen's catalogue", path="--from", hint=hint)


def renamed(entry: Entry, name: str, class_name: str, schema_line: str) -> str:
    """The entry's spec text under the user's names: the top-level name and class_name lines rewritten, the
    catalogue's own ``$schema`` line replaced by ``schema_line`` and a line saying where the spec came from;
    every other line (comments included) as shipped."""
    lines = [line for line in entry.text.splitlines() if not SCHEMA_COMMENT.match(line)]
    for key, value in (("name", name), ("class_name", class_name)):
        at = [i for i, line in enumerate(lines) if re.match(rf"{key}:\s", line)]
        if len(at) != 1:  # the shipped specs are block mappings with each key once: a broken installation
            raise ValueError(f"{entry.qualified}: expected one top-level '{key}:' line, found {len(at)}")
        lines[at[0]] = f"{key}: {value}"
    # a base in the catalogue's own folder, named relative to it: qualified, so that it resolves from the copy
    for i, line in enumerate(lines):
        written = re.fullmatch(r"extends:\s*([A-Za-z0-9_./:-]+)\s*", line)
        if written:
            lines[i] = f"extends: {in_catalogue(f'{entry.collection}:{entry.file_name}', written.group(1))}"
    origin = f"# Started from metricgen's catalogue: {entry.qualified} ({entry.collection}/specs/{entry.file_name})."
    return "\n".join([schema_line, origin, *lines]) + "\n"
