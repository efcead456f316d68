"""The `metricgen` command line: click commands over the compiler, with errors people can act on.

Exit codes: 0 success, 1 `check` found stale files (or `test` a failing example), 2 invalid input.
Every user mistake is printed as ``path:LINE:COL: error: WHAT (hint)``; none ends in a traceback.
TensorFlow is imported only by `metricgen test`, inside the command.
"""

from __future__ import annotations

import difflib
import json
import keyword
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, NoReturn, Optional

import click
from click.core import ParameterSource

from . import __version__, records
from .errors import SpecError, SpecErrors, printable
from .formatting import format_source, format_sources, lay_out_source, usable_cpus
from .spec_files import SHADOWED_MODULES, Compiled, Run, discover, display_path, output_path, resolved
from .targets import DEFAULT_TARGET, TARGETS, helper_pieces
from .writer import is_generated, write_atomic

if TYPE_CHECKING:
    from . import project

# The compiler (and pydantic, Jinja2, the analyser with it), the project's settings and the catalogue are imported
# by the commands that use them, when they do: a build or check whose modules are all up to date (records.py)
# needs none of them, and importing them would be most of its time.

EXIT_STALE = 1
EXIT_INVALID = 2
TARGET_OPTION = click.option(
    "--target",
    type=click.Choice(list(TARGETS)),
    default=DEFAULT_TARGET,
    show_default=True,
    help=" ".join(f"{t.name}: {t.summary}." for t in TARGETS.values()),
)
OUT_OPTION = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("generated"),
    show_default=True,
    help="Directory of the generated modules.",
)
SPEC_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
# build and check: no PATH means the project's [tool.metricgen] table (project.py)
PROJECT_PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


def report(errors: Iterable[SpecError]) -> None:
    for error in errors:
        click.echo(error.format(), err=True)


def fail(message: str, path: str = "metricgen", hint: str = "") -> NoReturn:
    report([SpecError(message, path=path, hint=hint)])
    sys.exit(EXIT_INVALID)


def compile_one(spec_file: Path, out_dir: Path, target: str, formatted: bool = True) -> Compiled:
    """compile_file, with a bug in metricgen itself reported as an error on the spec rather than a traceback."""
    from .compiler import compile_file

    try:
        return compile_file(spec_file, out_dir, target, formatted)
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback
        result = Compiled(spec_file, display_path(spec_file, out_dir), output_path(spec_file, out_dir, target))
        result.errors = [bug_error(spec_file, target, exc)]
        return result


# Fewer specs than this per process are compiled in this one: a worker's start (a fork) and the return of its
# modules cost about what compiling and laying out a few specs does.
_SPECS_PER_WORKER = 8


def compile_many(files: list[Path], out_dir: Path, target: str) -> list[Compiled]:
    """compile_one of each file, laid out (formatting.lay_out_source) where it can be, spread over the
    machine's cores when there are many (forked workers, on systems that have fork); the modules layout.py
    declines are left for format_all (black)."""
    workers = min(usable_cpus(), len(files) // _SPECS_PER_WORKER)
    if workers < 2:
        return _compile_and_lay_out(files, out_dir, target)
    import concurrent.futures  # here: most builds are a few specs, in this process
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # no fork (Windows): the start of a fresh interpreter would cost more than it saves
        workers = 1
    if threading.active_count() > 1:  # a fork copies one thread: a lock another holds would stay held
        workers = 1
    if workers < 2:
        return _compile_and_lay_out(files, out_dir, target)
    shares = [files[i::workers] for i in range(workers)]
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
            futures = [pool.submit(_compile_and_lay_out, share, out_dir, target) for share in shares[1:]]
            done = [_compile_and_lay_out(shares[0], out_dir, target)] + [future.result() for future in futures]
    except (OSError, concurrent.futures.BrokenExecutor):  # no process to be had: all here, then
        return _compile_and_lay_out(files, out_dir, target)
    by_file = {result.spec_file: result for part in done for result in part}
    return [by_file[file] for file in files]


def _compile_and_lay_out(files: list[Path], out_dir: Path, target: str) -> list[Compiled]:
    results = [compile_one(file, out_dir, target, formatted=False) for file in files]
    for result in results:
        if result.ok:
            laid_out = lay_out_source(result.source, helper_pieces())
            if laid_out is not None:
                result.source, result.formatted = laid_out, True
    return results


def bug_error(spec_file: Path, target: str, exc: Exception) -> SpecError:
    return SpecError(
        f"cannot generate code for the {target} target: {type(exc).__name__}: {exc}",
        path=str(spec_file),
        hint="if the spec looks right, this is a metricgen bug",
    )


def format_all(results: list[Compiled], target: str) -> None:
    """Every module compiled and not yet formatted, formatted at once (format_sources: laid out, else black on
    each distinct piece once, across cores when many miss the cache); should black refuse one (a metricgen
    bug), each is formatted alone to say which."""
    done = [result for result in results if result.ok and not result.formatted]
    try:
        for result, source in zip(done, format_sources([r.source for r in done], cache=True, verbatim=helper_pieces())):
            result.source = source
        return
    except Exception:  # noqa: BLE001 - found again below, module by module
        pass
    for result in done:
        try:
            result.source = format_source(result.source, cache=True, verbatim=helper_pieces())
        except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback
            result.errors = [bug_error(result.spec_file, target, exc)]


def compile_all(paths: list[Path], out_dir: Path, target: str) -> tuple[list[Compiled], list[SpecError]]:
    """Every spec found, compiled; a spec refused as a whole (its module name, a clash with another spec's
    module or registered class) is not compiled, so that nothing is written for it."""
    files, errors = discover(paths)
    for file in files:
        if _same_file(file, output_path(file, out_dir, target)):
            errors.append(
                SpecError(
                    "this file would be overwritten by the module generated from it",
                    path=str(file),
                    hint="a spec is a .yaml file outside the output folder",
                )
            )
    refused = {e.path for e in errors}
    wanted = [f for f in files if str(f) not in refused]
    recorded = {file: up_to_date(file, out_dir, target) for file in wanted}
    compiled = compile_many([f for f in wanted if recorded[f] is None], out_dir, target)
    format_all(compiled, target)
    in_order = iter(compiled)
    results = [recorded[file] or next(in_order) for file in wanted]
    registered: dict[str, Compiled] = {}
    for result in results:
        if result.ok and result.registered_as in registered:
            first = registered[result.registered_as]
            for clash, other in ((result, first), (first, result)):
                clash.errors = [
                    SpecError(
                        f"this spec and {other.spec_file} both define the Keras class '{result.registered_as}'",
                        path=str(clash.spec_file),
                        hint="a saved model would load either one: give them different class_name or package",
                    )
                ]
        elif result.ok:
            registered[result.registered_as] = result
    return results, errors


def up_to_date(spec_file: Path, out_dir: Path, target: str) -> Optional[Compiled]:
    """The module on disk, as compiling ``spec_file`` would give it, when a record vouches for it, or else the
    module store's (records.py)."""
    try:
        shown, output = display_path(spec_file, out_dir), output_path(spec_file, out_dir, target)
        found = records.lookup(spec_file, output, target, shown)
    except Exception:  # noqa: BLE001 - whatever it is, compiling the spec meets it again and says what it is
        return None
    if found is None:
        return None
    return Compiled(
        spec_file, shown, output, found.source, registered_as=found.registered_as, formatted=True, inputs=found.inputs
    )


def remember(result: Compiled, target: str) -> None:
    """Records a module just written, or found on disk as its spec compiles, for the next build or check."""
    records.remember(
        result.spec_file, result.output, target, result.display_path, result.inputs, result.source, result.registered_as
    )


def read_text(path: Path) -> Optional[str]:
    """A file's text (None when there is none, or it cannot be read: the write after it says why)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _same_file(a: Path, b: Path) -> bool:
    return resolved(a) == resolved(b)


def exists(path: Path) -> bool:
    """Path.exists, False where the path cannot even be looked up (a name too long for the file system)."""
    try:
        return path.exists()
    except OSError:
        return False


def read_bytes(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except OSError:  # missing, unreadable, a symlink loop, a name too long: not the module we would write
        return None


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="metricgen")
def main() -> None:
    """Generate streaming metric classes (tf.keras, Keras 3, torchmetrics) from declarative YAML specs.

    \b
    Example (in a model repository with specs/ and generated/):
        metricgen new iou                 # writes specs/iou.yaml, a starter spec
        metricgen new f1 --from F1Score   # or start from the catalogue (metricgen list --catalogue)
        metricgen validate specs/         # every error of every spec, with file:line:col
        metricgen build specs/            # writes generated/iou.py (--target keras|torchmetrics: others)
        metricgen check specs/            # CI / pre-commit: exit 1 when generated/ is stale
        metricgen test specs/iou.yaml     # runs the spec's examples with TensorFlow

    With no paths, build and check cover pyproject.toml's [tool.metricgen] table: its specs, for each of
    its targets, into its output folders (without one: specs/, the tf target, generated/).

    Exit codes: 0 success, 1 stale files (check) or failing examples (test), 2 invalid input.
    """


@main.command()
@PROJECT_PATHS
@OUT_OPTION
@TARGET_OPTION
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the generated modules instead of writing them.")
@click.option("--force", is_flag=True, help="Overwrite files that do not carry metricgen's header.")
@click.pass_context
def build(
    ctx: click.Context, paths: tuple[Path, ...], out_dir: Path, target: str, to_stdout: bool, force: bool
) -> None:
    """Generate a module for each spec (directories: every *.yaml in them).

    With no PATH: every spec path of pyproject.toml's [tool.metricgen] table, for each of its targets, into
    its output folders (--target and --out, where given, override them); without that table, specs/ for
    the tf target. A file that exists but does not start with metricgen's "Code generated ... DO NOT EDIT."
    header is never overwritten without --force. A spec unchanged since the last build or check, whose module
    is unchanged too, is not compiled again (the records are kept in ~/.cache/metricgen;
    METRICGEN_CACHE_DIR= turns them off).

    \b
    Example:
        metricgen build specs/dice.yaml          # writes generated/dice.py
        metricgen build specs/ --out src/metrics
        metricgen build specs/ --target torchmetrics   # writes generated/torchmetrics/*.py
        metricgen build specs/dice.yaml --stdout | less
        metricgen build                          # what pyproject.toml's [tool.metricgen] configures
    """
    errors: list[SpecError] = []
    written = 0
    for run in project_runs(ctx, paths, out_dir, target):
        found, count = build_run(run, to_stdout, force)
        errors += found
        written += count
    if errors:
        click.echo(f"{len(errors)} error(s); {written} module(s) generated", err=True)
        sys.exit(EXIT_INVALID)


def build_run(run: Run, to_stdout: bool, force: bool) -> tuple[list[SpecError], int]:
    """One target's pass of build: the errors it reported, and how many modules it wrote or found unchanged."""
    results, errors = compile_all(list(run.paths), run.out, run.target)
    for result in results:
        if not result.ok:
            errors.extend(result.errors)
    for result in results:
        if result.ok and not to_stdout and exists(result.output) and not force and not is_generated(result.output):
            errors.append(
                SpecError(
                    f"not overwriting {result.output}: it exists and was not generated by metricgen",
                    path=str(result.spec_file),
                    hint="move it away, or pass --force to overwrite it",
                )
            )
            result.errors = []
    report(errors)
    written = 0
    for result in results:
        if not result.ok:
            continue
        if to_stdout:
            click.echo(result.source, nl=False)
        else:
            unchanged = read_bytes(result.output) == result.source.encode("utf-8")
            if not unchanged:
                try:
                    write_atomic(result.output, result.source)
                except OSError as exc:
                    error = SpecError(
                        f"cannot write {result.output}: {exc.strerror or exc}", path=str(result.spec_file)
                    )
                    report([error])
                    errors.append(error)
                    continue
            written += 1
            remember(result, run.target)
            click.echo(printable(f"{'unchanged' if unchanged else 'wrote'} {result.output}"), err=True)
    return errors, written


def project_runs(ctx: click.Context, paths: tuple[Path, ...], out_dir: Path, target: str) -> list[Run]:
    """What build and check cover: the PATHs given, for --target into --out, as always; with none, the
    project's [tool.metricgen] table (narrowed by --target and --out where they are given), else specs/."""
    if paths:
        return [Run(paths, target, out_dir)]
    from . import project

    configured = load_project()
    if configured.pyproject is None and not exists(Path(project.DEFAULT_SPECS)):
        fail(
            "no paths given, no specs/ directory here and no [tool.metricgen] table in a pyproject.toml",
            hint="pass the specs' paths, or list them in pyproject.toml: [tool.metricgen] specs = [...]",
        )
    given = {name for name in ("target", "out_dir") if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    return configured.runs(target if "target" in given else None, out_dir if "out_dir" in given else None)


def load_project() -> project.Project:
    from . import project

    try:
        return project.find(Path.cwd())
    except SpecErrors as exc:
        report(exc.errors)
        sys.exit(EXIT_INVALID)


@main.command()
@PROJECT_PATHS
@OUT_OPTION
@TARGET_OPTION
@click.pass_context
def check(ctx: click.Context, paths: tuple[Path, ...], out_dir: Path, target: str) -> None:
    """Check that the generated modules are up to date with their specs; writes no module.

    Each spec is generated in memory and compared with its module under --out. Exit 0 when every module
    is up to date; exit 1, with a unified diff on stdout, when one is stale, missing or was edited by
    hand; exit 2 when a spec is invalid. For CI and pre-commit. With no PATH, it checks what build with
    no PATH writes: pyproject.toml's [tool.metricgen] specs for each of its targets, else specs/ for tf.
    Like build, it remembers what it found up to date in a cache outside the project (~/.cache/metricgen;
    METRICGEN_CACHE_DIR= turns it off): a spec unchanged since, whose module is unchanged too, is not
    compiled again.

    \b
    Example:
        metricgen check specs/                   # compares with generated/*.py
        metricgen check specs/dice.yaml --out src/metrics
        metricgen check                          # every target pyproject.toml's [tool.metricgen] names
    """
    errors: list[SpecError] = []
    stale = checked = 0
    for run in project_runs(ctx, paths, out_dir, target):
        found, out_of_date, compared = check_run(run)
        errors += found
        stale += out_of_date
        checked += compared
    if errors:
        click.echo(f"{plural(len(errors), 'error')}; {stale} of {checked} module(s) out of date", err=True)
        sys.exit(EXIT_INVALID)
    if stale:
        again = "".join(f" {p}" for p in paths)
        options = (f" --out {out_dir}" if out_dir != Path("generated") else "") + (
            f" --target {target}" if target != DEFAULT_TARGET else ""
        )
        click.echo(
            f"{stale} of {checked} generated module(s) out of date: run 'metricgen build{again}{options}'", err=True
        )
        sys.exit(EXIT_STALE)
    click.echo(f"{checked} generated module(s) up to date", err=True)


def check_run(run: Run) -> tuple[list[SpecError], int, int]:
    """One target's pass of check: the errors it reported, the modules out of date, the modules compared."""
    results, errors = compile_all(list(run.paths), run.out, run.target)
    stale = 0
    checked = 0
    for result in results:
        if not result.ok:
            errors.extend(result.errors)
            continue
        checked += 1
        current = read_text(result.output)
        if read_bytes(result.output) == result.source.encode("utf-8"):  # bytes: CRLF or a bad byte is stale
            remember(result, run.target)
            continue
        stale += 1
        if current is None:
            why = f"is missing (generate it from {result.spec_file})"
        elif not is_generated(result.output):
            why = "does not carry metricgen's header: written or edited by hand"
        else:
            why = f"is out of date with {result.spec_file}, or was edited by hand"
        click.echo(printable(f"{result.output}: {why}"), err=True)
        click.echo(unified_diff(current, result.source, str(result.output), result.spec_file), nl=False)
    report(errors)
    return errors, stale, checked


def unified_diff(current: Optional[str], expected: str, output: str, spec_file: Path) -> str:
    """From what is on disk to what the spec generates; each line ends with a newline."""
    lines = difflib.unified_diff(
        (current or "").splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile="/dev/null" if current is None else f"{output} (on disk)",
        tofile=f"{output} (generated from {spec_file})",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@main.command()
@SPEC_PATHS
@TARGET_OPTION
def validate(paths: tuple[Path, ...], target: str) -> None:
    """Check specs without writing anything: every error of every file, then a summary.

    A spec is valid when `metricgen build` would generate its module. Exit 0 when all are valid, 2 if not.

    \b
    Example:
        metricgen validate specs/
        metricgen validate specs/dice.yaml specs/iou.yaml --target keras
    """
    files, errors = discover(list(paths))
    invalid = 0
    for file in files:
        result = compile_one(file, Path("generated"), target)
        if not result.ok:
            invalid += 1
            errors.extend(result.errors)
    report(errors)
    if errors:
        summary_line = f"{plural(len(errors), 'error')}; {invalid} of {plural(len(files), 'spec')} invalid"
        if invalid == 0:  # the errors are about the paths given, not about a spec
            summary_line = f"{plural(len(errors), 'error')} in the paths given; {plural(len(files), 'spec')} valid"
        click.echo(summary_line, err=True)
        sys.exit(EXIT_INVALID)
    click.echo(f"{plural(len(files), 'spec')} valid", err=True)


@main.command()
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    show_default="specs, or the first folder of pyproject.toml's [tool.metricgen] specs",
    help="Directory to write the spec into (made if missing).",
)
@click.option(
    "--from",
    "origin",
    metavar="CLASS",
    help="Start from a spec of metricgen's catalogue (metricgen list --catalogue): F1Score, f1_score, or "
    "keras:F1Score where two catalogues have the name.",
)
def new(name: str, directory: Optional[Path], origin: Optional[str]) -> None:
    """Write a commented starter spec NAME.yaml that builds as it is; never overwrites a file.

    NAME is the metric's snake_case name; the class is its CamelCase form. With --from, the spec is the
    catalogue's, renamed NAME (comments kept), and its first line names the JSON Schema: the project's
    specs/spec.schema.json or docs/spec.schema.json, else one written beside the spec.

    \b
    Example:
        metricgen new mean_iou                   # writes specs/mean_iou.yaml (class MeanIou)
        metricgen new recall_at_k --dir metrics/specs
        metricgen new f1_at_half --from keras:F1Score   # Keras' F1Score as specs/f1_at_half.yaml
    """
    from .compiler import analyse_loaded
    from .loader import load_spec_text
    from .schema import METRIC_NAME_MAX, METRIC_NAME_PATTERN, json_schema

    if not re.fullmatch(METRIC_NAME_PATTERN, name) or keyword.iskeyword(name) or len(name) > METRIC_NAME_MAX:
        fail(f"'{name}' cannot name a metric", hint="use snake_case: lowercase letters, digits and '_', like mean_iou")
    directory = directory or load_project().spec_folder()
    path = directory / f"{name}.yaml"
    for existing in (path, path.with_suffix(".yml")):
        if existing.exists():
            fail(f"{existing} already exists", path=str(existing), hint="pick another name, or edit that spec")
    new_schema = None
    if origin is None:
        text = starter_spec(name, path)
    else:
        schema = find_schema(directory)
        new_schema = None if schema else directory / "spec.schema.json"
        text = catalogue_spec(origin, name, schema_line(directory, schema or new_schema))
    try:  # the spec must build as it is: a name YAML reads as a value (yes, null) or a class name Python
        # already has (None, Exception) would not
        spec, _ = analyse_loaded(load_spec_text(text, str(path)))
        discover_errors = []
        if name in SHADOWED_MODULES:
            discover_errors = [SpecError(f"a module named {name}.py would shadow '{name}'")]
        elif (spec.name, spec.class_name) != (name, class_name_for(name)):  # the renaming missed a line
            discover_errors = [SpecError(f"the spec written names {spec.name} ({spec.class_name}): a metricgen bug")]
    except SpecErrors as exc:
        discover_errors = exc.errors
    if discover_errors:
        fail(f"'{name}' cannot name a metric: {discover_errors[0].message}", hint="pick another name")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if new_schema is not None:
            write_new(new_schema, schema_text(json_schema()))
        write_new(path, text)
    except FileExistsError as exc:
        fail(f"{exc.filename} already exists", path=str(path), hint="pick another name, or edit that spec")
    except OSError as exc:
        fail(f"cannot write the spec: {exc.strerror}", path=str(path))
    if new_schema is not None:
        click.echo(f"wrote {new_schema}, the JSON Schema of specs for editors (metricgen schema)", err=True)
    click.echo(f"wrote {path}; build it with: metricgen build {path}", err=True)


def write_new(path: Path, text: str) -> None:
    with path.open("x", encoding="utf-8", newline="\n") as handle:  # "x": never over a file made meanwhile
        handle.write(text)


def class_name_for(name: str) -> str:
    """The class a snake_case metric name gets: its CamelCase form (mean_iou: MeanIou)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def catalogue_spec(origin: str, name: str, schema_comment: str) -> str:
    """The catalogue spec ``origin`` names, renamed ``name``; an unknown or ambiguous name fails here."""
    from . import bundled

    try:
        entry = bundled.find(origin)
    except SpecError as exc:
        report([exc])
        sys.exit(EXIT_INVALID)
    except SpecErrors as exc:  # a catalogue spec that does not validate: a broken installation
        report(exc.errors)
        sys.exit(EXIT_INVALID)
    return bundled.renamed(entry, name, class_name_for(name), schema_comment)


def starter_spec(name: str, path: Path) -> str:
    import jinja2

    from .render import templates_dir

    template_text = (templates_dir() / "new_spec.yaml.j2").read_text(encoding="utf-8")
    template = jinja2.Template(template_text, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return template.render(
        name=name, class_name=class_name_for(name), spec_path=path.as_posix(), schema_line=schema_line(path.parent)
    )


def find_schema(directory: Path) -> Optional[Path]:
    """The project's JSON Schema for specs in ``directory``: beside them, or in docs/ beside their folder."""
    for candidate in (directory / "spec.schema.json", directory.parent / "docs" / "spec.schema.json"):
        if candidate.is_file():
            return candidate
    return None


def schema_line(directory: Path, schema: Optional[Path] = None) -> str:
    """The editor hint naming the JSON Schema (``schema``, else the one find_schema finds), or how to make one."""
    schema = schema or find_schema(directory)
    if schema is not None:
        relative = Path(os.path.relpath(schema, directory)).as_posix()
        return f"# yaml-language-server: $schema={relative}"
    return (
        "# For completion and checks in editors, save the JSON Schema (metricgen schema > spec.schema.json)\n"
        "# and make the first line: # yaml-language-server: $schema=spec.schema.json"
    )


@main.command("list")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@OUT_OPTION
@TARGET_OPTION
@click.option(
    "--catalogue", "catalogue", is_flag=True, help="List metricgen's catalogue instead: what `new --from` starts from."
)
def list_specs(path: Optional[Path], out_dir: Path, target: str, catalogue: bool) -> None:
    """List the specs in PATH (default: specs/), one line each: name, class, inputs, the module it
    generates for the target, description. With --catalogue: metricgen's own catalogue, one line each:
    the name `metricgen new NAME --from` takes, and what the metric computes.

    \b
    Example:
        metricgen list
        metricgen list metrics/specs/ --target keras
        metricgen list --catalogue
    """
    from .catalogue import summary
    from .inherit import load_spec
    from .schema import validate_spec

    if catalogue:
        if path is not None:
            fail("--catalogue lists metricgen's own specs: give no PATH with it", path=str(path))
        list_catalogue()
        return
    if path is None:
        path = Path("specs")
        if not path.is_dir():
            fail("no specs/ directory here", path=str(path), hint="pass the directory (or file) of your specs")
    files, errors = discover([path])
    rows = []
    for file in files:
        try:
            spec = validate_spec(load_spec(file, str(file)))
        except SpecErrors as exc:
            errors.extend(exc.errors)
            continue
        inputs = "(" + ", ".join(i.name for i in spec.inputs) + ")"
        module = output_path(file, out_dir, target).as_posix()
        rows.append((spec.name, spec.class_name, inputs, module, summary(spec.description)))
    if rows:
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            click.echo(printable("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]))
    report(errors)
    if errors:
        sys.exit(EXIT_INVALID)


def list_catalogue() -> None:
    from . import bundled
    from .catalogue import summary

    try:
        entries = bundled.entries()
    except SpecErrors as exc:  # a catalogue spec that does not validate: a broken installation
        report(exc.errors)
        sys.exit(EXIT_INVALID)
    width = max(len(entry.qualified) for entry in entries)
    for entry in entries:  # a line of at most 140 characters: the summary takes what the name leaves
        click.echo(printable(f"{entry.qualified.ljust(width)}  {summary(entry.spec.description, 138 - width)}"))


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors (YAML language server).

    \b
    Example:
        metricgen schema > docs/spec.schema.json
    then start each spec with the line
        # yaml-language-server: $schema=../docs/spec.schema.json
    """
    from .schema import json_schema

    click.echo(schema_text(json_schema()), nl=False)


def schema_text(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_file", type=click.Path(path_type=Path), help="Write to this .md file (default: print).")
@click.option("--force", is_flag=True, help="Overwrite a .md file that does not carry the catalogue's header.")
def docs(paths: tuple[Path, ...], out_file: Optional[Path], force: bool) -> None:
    """Write a Markdown catalogue of the specs in PATHS: per metric its description, params (defaults, bounds,
    choices), inputs, state, update and result formulas, and the module each target generates.

    Spec text is escaped: it shows as text, never as HTML, links or headings. --out writes a .md file, and
    over an existing one only a catalogue metricgen wrote (its first line is the header comment) unless
    --force.

    \b
    Example:
        metricgen docs specs/ catalogue/keras/specs/ catalogue/tfa/specs/ --out docs/metrics.md
    """
    from .inherit import load_spec
    from .schema import validate_spec

    from .catalogue import render_catalogue

    if out_file is not None:
        check_docs_out(out_file, force)
    groups, errors = [], []
    for path in paths:
        files, found = discover([path])
        errors += found
        specs = []
        for file in files:
            try:
                specs.append((file, validate_spec(load_spec(file, str(file)))))
            except SpecErrors as exc:
                errors.extend(exc.errors)
        title = "Metrics in " + (path.as_posix().rstrip("/") + "/" if path.is_dir() else path.as_posix())
        groups.append((title, specs))
    report(errors)
    if errors:
        sys.exit(EXIT_INVALID)
    text = render_catalogue(groups, Path.cwd())
    if out_file is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(out_file, text)
    except OSError as exc:
        fail(f"cannot write the catalogue: {exc.strerror or exc}", path=str(out_file))
    click.echo(printable(f"wrote {out_file}"), err=True)


def check_docs_out(path: Path, force: bool) -> None:
    """Where `docs --out` may write: a Markdown file, and over an existing file only the catalogue metricgen
    wrote before (any Markdown file with --force); never a spec, a module or a folder."""
    from .catalogue import HEADER_PATTERN as CATALOGUE_HEADER

    if path.suffix.lower() != ".md":
        fail("--out must name a Markdown file (.md)", path=str(path), hint="like docs/metrics.md")
    for folder in path.parents:  # the nearest folder that exists must be a folder: write_atomic makes the rest
        if exists(folder):
            if not folder.is_dir():
                fail(f"cannot write the catalogue: {folder} is not a folder", path=str(path))
            break
    if not exists(path):
        return
    if path.is_dir():
        fail("--out is a folder", path=str(path), hint=f"name a file in it, like {path / 'metrics.md'}")
    if not path.is_file():
        fail("cannot write the catalogue over something that is not a file", path=str(path))
    if not force and not is_generated(path, CATALOGUE_HEADER):
        fail(
            f"not overwriting {path}: it exists and was not written by metricgen docs",
            path=str(path),
            hint="move it away, or pass --force to overwrite it",
        )


@main.command("test")
@SPEC_PATHS
@TARGET_OPTION
def test_examples(paths: tuple[Path, ...], target: str) -> None:
    """Run each spec's `examples:` against its generated class, with TensorFlow.

    Each example builds a fresh metric with its params, feeds its batches to update_state and compares
    result() with `expected`, within the example's absolute `tolerance` (default 1e-6). Prints PASS or
    FAIL per example. Exit 0 when all pass, 1 when one fails, 2 when a spec is invalid. The examples run in
    a child process (the only one that imports TensorFlow) with limits: METRICGEN_TEST_TIMEOUT seconds for
    each spec (default 120, plus METRICGEN_TEST_STARTUP, default 60, while the child starts) and
    METRICGEN_TEST_MEMORY_MB of memory (default 8192); a spec past them FAILs. Each must be a positive
    number. With Keras, the backend that ran is named (KERAS_BACKEND chooses it).

    \b
    Example:
        metricgen test specs/dice.yaml
        metricgen test specs/ --target keras
    """
    from . import examples

    try:
        limits = examples.Limits.from_environment()
    except SpecError as error:
        report([error])
        sys.exit(EXIT_INVALID)
    files, errors = discover(list(paths))
    passed = failed = 0
    backends_shown = set()
    for run in examples.run_isolated(files, target, limits):
        if run.missing:
            fail(
                f"metricgen test needs the {target} target's runtime: {run.missing}", hint="pip install 'metricgen[tf]'"
            )
        if run.keras_backend and run.keras_backend not in backends_shown:
            backends_shown.add(run.keras_backend)
            click.echo(printable(f"keras backend: {run.keras_backend}"), err=True)
        if run.errors:
            errors.extend(run.errors)
            continue
        if run.problem:  # the child ran past a limit, or crashed, while running this spec's examples
            click.echo(printable(f"FAIL {run.file}: {run.problem}"))
            failed += 1
            continue
        if not run.outcomes:
            click.echo(printable(f"SKIP {run.file}: no examples (add some under examples:)"))
        for outcome in run.outcomes:
            click.echo(outcome.format())
            if outcome.passed:
                passed += 1
            else:
                failed += 1
    report(errors)
    click.echo(f"{passed} passed, {failed} failed" + (f", {plural(len(errors), 'error')}" if errors else ""), err=True)
    if errors:
        sys.exit(EXIT_INVALID)
    if failed:
        sys.exit(EXIT_STALE)
