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
from pathlib import Path
from typing import Optional

from . import passes
from .analysis import analyse
from .errors import SpecError, SpecErrors
from .formatting import format_source
from .ir import Metric
from .inherit import load_spec, resolve
from .loader import LoadedSpec, load_spec_text
from .lowering import Printer, check_supported
from .records import inputs_of
from .render import render_module
from .schema import Spec, validate_spec
from .spec_files import Compiled, display_path, output_path
from .targets import DEFAULT_TARGET, TARGETS, Target, helper_pieces

# Names generated code uses itself: a spec builds for any target, so it may declare none of any target's.
GENERATED_NAMES = frozenset().union(*(t.generated_names for t in TARGETS.values()))


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


def compile_file(spec_file: Path, out_dir: Path, target: str = DEFAULT_TARGET, formatted: bool = True) -> Compiled:
    shown = display_path(spec_file, out_dir)
    result = Compiled(spec_file, shown, output_path(spec_file, out_dir, target))
    try:
        loaded = load_spec(spec_file, str(spec_file))
        result.source = generate(loaded, target, header_path=shown, cache=True, formatted=formatted)
        result.inputs = inputs_of(spec_file, loaded.text, {path: parent.text for path, parent in loaded.files.items()})
        spec = validate_spec(loaded)
        result.registered_as = f"{spec.package}>{spec.class_name}"
    except SpecErrors as exc:
        result.errors = exc.errors
    return result
