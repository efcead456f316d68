"""The pipeline, start to end: spec file → module source. Each stage is a module of its own:

    loader    YAML text          → LoadedSpec (plain data, with the position of every key and value)
    schema    LoadedSpec         → Spec (pydantic: keys and value types)
    analysis  Spec               → ir.Metric (names, expressions, types: one typed IR for every target)
    passes    ir.Metric          → ir.Metric (optimisations that apply to the target)
    lowering  ir.Metric, Target  → the target template's variables (code fragments)
    render    variables          → module source (Jinja2, helpers the code calls copied in)
    formatting source            → black-formatted source

Writing files is the caller's business (see writer.py and cli.py), so `check` can compare in memory.
"""

from __future__ import annotations

import dataclasses
import keyword
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import passes
from .analysis import analyse
from .errors import Location, SpecError, SpecErrors
from .formatting import format_source
from .ir import Metric
from .inherit import load_spec, resolve
from .loader import LoadedSpec, load_spec_text
from .lowering import Printer, check_supported
from .render import render_module
from .schema import Spec, validate_spec
from .targets import DEFAULT_TARGET, TARGETS, Target, helper_pieces

SPEC_SUFFIXES = (".yaml", ".yml")
# Names generated code uses itself: a spec builds for any target, so it may declare none of any target's.
GENERATED_NAMES = frozenset().union(*(t.generated_names for t in TARGETS.values()))
# Module names a generated module cannot take: the packages generated code imports (an import line's second word:
# `import tensorflow as tf`, `from keras import ops`), the name its array functions go by, the module the param
# checks import, ours, and the targets' output folders.
SHADOWED_MODULES = frozenset({"numbers", "metricgen"}) | {
    name
    for t in TARGETS.values()
    for name in [t.ops, t.folder, *(line.split()[1].split(".")[0] for line in t.imports)]
    if name
}


@dataclass
class Compiled:
    spec_file: Path
    display_path: str
    output: Path
    source: Optional[str] = None
    errors: Optional[list[SpecError]] = None
    registered_as: str = ""  # package>ClassName, the key Keras' serialization registry files it under
    formatted: bool = False  # source is final (laid out where it was compiled); else black's turn

    @property
    def ok(self) -> bool:
        return self.errors is None


def analyse_loaded(loaded: LoadedSpec) -> tuple[Spec, Metric]:
    loaded = resolve(loaded)  # with the specs it extends merged in (a merged spec is itself)
    spec = validate_spec(loaded)
    return spec, analyse(spec, loaded, GENERATED_NAMES)


def lower(metric: Metric, target: Target, optimise: bool = True, header_path: Optional[str] = None) -> str:
    """The unformatted module source of an analysed metric for ``target`` (``optimise=False``: no passes);
    ``header_path`` is how the module names its spec (default: as loaded)."""
    check_supported(metric, target, TARGETS.values())
    if header_path is not None:
        metric = dataclasses.replace(metric, spec_path=header_path)
    metric = passes.optimise(metric, target, enabled=optimise)
    return render_module(target, target.module(metric, Printer(target)))


def generate(
    loaded: LoadedSpec,
    target: str = DEFAULT_TARGET,
    header_path: Optional[str] = None,
    cache: bool = False,
    optimise: bool = True,
    formatted: bool = True,
) -> str:
    """Module source for a loaded spec; ``header_path`` is how the file names its spec (default: as loaded);
    ``cache``: keep and reuse black's output on disk (see formatting.py); ``formatted=False``: as rendered,
    for a caller that formats many modules at once (formatting.format_sources)."""
    _, metric = analyse_loaded(loaded)
    source = lower(metric, TARGETS[target], optimise, header_path)
    return format_source(source, cache=cache, verbatim=helper_pieces()) if formatted else source


def generate_from_text(text: str, path: str = "<spec>", target: str = DEFAULT_TARGET, optimise: bool = True) -> str:
    return generate(load_spec_text(text, path), target, optimise=optimise)


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


def compile_file(spec_file: Path, out_dir: Path, target: str = DEFAULT_TARGET, formatted: bool = True) -> Compiled:
    shown = display_path(spec_file, out_dir)
    result = Compiled(spec_file, shown, output_path(spec_file, out_dir, target))
    try:
        loaded = load_spec(spec_file, str(spec_file))
        result.source = generate(loaded, target, header_path=shown, cache=True, formatted=formatted)
        spec = validate_spec(loaded)
        result.registered_as = f"{spec.package}>{spec.class_name}"
    except SpecErrors as exc:
        result.errors = exc.errors
    return result
