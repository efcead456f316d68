"""Spec files and their modules: the files a command covers (folders searched, names checked), the module each
writes and where, and the header's name for its spec. Light on purpose: a build whose modules are all up to date
(records.py) needs this and not the compiler.
"""

from __future__ import annotations

import keyword
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import Location, SpecError
from .targets import DEFAULT_TARGET, TARGETS

SPEC_SUFFIXES = (".yaml", ".yml")
# Module names a generated module cannot take: the packages generated code imports (an import line's second word:
# `import tensorflow as tf`, `from keras import ops`), the name its array functions go by, the module the param
# checks import, ours, and the targets' output folders.
SHADOWED_MODULES = frozenset({"numbers", "metricgen"}) | {
    name
    for t in TARGETS.values()
    for name in [t.ops, t.folder, *(line.split()[1].split(".")[0] for line in t.imports)]
    if name
}


def display_path(spec_file: Path, out_dir: Path) -> str:
    """How the header names the spec: relative to the project (the output folder's parent), so that the
    same spec gives the same file wherever the command runs from."""
    root = resolved(out_dir).parent
    spec_absolute = resolved(spec_file)
    try:
        shown = spec_absolute.relative_to(root).as_posix()
    except ValueError:  # outside the project: still relative to it, never to where the command runs
        try:
            shown = Path(os.path.relpath(spec_absolute, root)).as_posix()
        except ValueError:  # another drive
            shown = spec_file.name
    return shown


def module_name(spec_file: Path) -> str:
    return spec_file.stem.replace("-", "_")


def resolved(path: Path) -> Path:
    """``path`` made absolute with symlinks followed where they can be (a symlink loop stays as written)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def output_path(spec_file: Path, out_dir: Path, target: str = DEFAULT_TARGET) -> Path:
    return TARGETS[target].output_path(out_dir, module_name(spec_file))


def discover(paths: list[Path]) -> tuple[list[Path], list[SpecError]]:
    """Spec files named directly or found (non-recursively, sorted) in the named directories."""
    files: list[Path] = []
    errors: list[SpecError] = []
    for path in paths:
        try:
            if path.is_dir():
                found = sorted(p for p in path.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
                if not found:
                    errors.append(SpecError("no spec files (*.yaml, *.yml) in this directory", path=str(path)))
                files.extend(found)
            elif path.is_file():
                files.append(path)
            elif path.exists():
                errors.append(SpecError("not a regular file (a spec is a YAML file)", path=str(path)))
            else:
                errors.append(SpecError("no such file or directory", path=str(path)))
        except OSError as exc:  # a folder without read or search permission, a symlink loop
            errors.append(SpecError(f"cannot read: {exc.strerror or exc}", path=str(path)))
    modules: dict[str, Path] = {}
    for file in files:
        module = module_name(file)
        normal = unicodedata.normalize("NFKC", file.stem)
        refusal, hint = module_refusal(normal)
        if normal != file.stem:  # Python reads names in NFKC: `import ﬁle` looks for file.py, never ﬁle.py
            errors.append(
                SpecError(
                    f"'{file.stem}' is not in the form Python reads names in (NFKC): an import of it looks for "
                    f"'{normal}'",
                    Location(1, 1),
                    str(file),
                    f"rename it: {refusal}" if refusal else f"rename it to {normal}{file.suffix}",
                )
            )
        elif refusal:
            errors.append(SpecError(refusal, path=str(file), hint=hint))
        elif module in modules and resolved(modules[module]) == resolved(file):
            pass
        elif module in modules:
            for one, other in ((file, modules[module]), (modules[module], file)):
                errors.append(
                    SpecError(
                        f"this spec and {other} would both write {module}.py: neither is built",
                        path=str(one),
                        hint="rename one of them",
                    )
                )
        modules.setdefault(module, file)
    return files, errors


def module_refusal(stem: str) -> tuple[str, str]:
    """Why a spec named ``stem`` cannot name its generated module, and what to do; ('', '') when it can."""
    module = stem.replace("-", "_")
    if module in SHADOWED_MODULES:
        return (
            f"a module named {module}.py would shadow the '{module}' the generated code imports, or a target's "
            "output folder",
            "rename the spec's file",
        )
    if not module.isidentifier() or module.startswith("_") or keyword.iskeyword(module):
        return (
            f"'{stem}' cannot name a Python module",
            "use letters, digits and '_' in the spec's file name, not a keyword",
        )
    return "", ""


@dataclass(frozen=True)
class Run:
    """One pass of build or check: these spec paths, for this target, into this output folder."""

    paths: tuple[Path, ...]
    target: str
    out: Path


@dataclass
class Compiled:
    """A spec's module (``source``) and where it goes: compiled, or read from disk where a record vouches for it
    (records.py); ``errors`` instead when the spec cannot be compiled."""

    spec_file: Path
    display_path: str
    output: Path
    source: Optional[str] = None
    errors: Optional[list[SpecError]] = None
    registered_as: str = ""  # package>ClassName, the key Keras' serialization registry files it under
    formatted: bool = False  # source is final (laid out where it was compiled); else black's turn
    # the files compiled, each by the digest of its text (records.inputs_of); empty when taken from a record
    inputs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.errors is None
