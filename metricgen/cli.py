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
from pathlib import Path
from typing import Iterable, NoReturn, Optional

import click

from . import __version__
from .compiler import (
    SHADOWED_MODULES,
    Compiled,
    analyse_loaded,
    resolved,
    compile_file,
    discover,
    display_path,
    output_path,
)
from .errors import SpecError, SpecErrors, printable
from .loader import load_spec_file, load_spec_text
from .schema import METRIC_NAME_MAX, METRIC_NAME_PATTERN, json_schema, validate_spec
from .catalogue import summary
from .targets import DEFAULT_TARGET, TARGETS
from .writer import is_generated, write_atomic

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
SPEC_NAME = re.compile(METRIC_NAME_PATTERN)


def report(errors: Iterable[SpecError]) -> None:
    for error in errors:
        click.echo(error.format(), err=True)


def fail(message: str, path: str = "metricgen", hint: str = "") -> NoReturn:
    report([SpecError(message, path=path, hint=hint)])
    sys.exit(EXIT_INVALID)


def compile_one(spec_file: Path, out_dir: Path, target: str) -> Compiled:
    """compile_file, with a bug in metricgen itself reported as an error on the spec rather than a traceback."""
    try:
        return compile_file(spec_file, out_dir, target)
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback
        result = Compiled(spec_file, display_path(spec_file, out_dir), output_path(spec_file, out_dir, target))
        result.errors = [
            SpecError(
                f"cannot generate code for the {target} target: {type(exc).__name__}: {exc}",
                path=str(spec_file),
                hint="if the spec looks right, this is a metricgen bug",
            )
        ]
        return result


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
    results = [compile_one(f, out_dir, target) for f in files if str(f) not in refused]
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
    """Generate streaming Keras metric classes from declarative YAML specs.

    \b
    Example (in a model repository with specs/ and generated/):
        metricgen new iou                 # writes specs/iou.yaml, a starter spec
        metricgen validate specs/         # every error of every spec, with file:line:col
        metricgen build specs/            # writes generated/iou.py
        metricgen check specs/            # CI / pre-commit: exit 1 when generated/ is stale
        metricgen test specs/iou.yaml     # runs the spec's examples with TensorFlow

    Exit codes: 0 success, 1 stale files (check) or failing examples (test), 2 invalid input.
    """


@main.command()
@SPEC_PATHS
@OUT_OPTION
@TARGET_OPTION
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the generated modules instead of writing them.")
@click.option("--force", is_flag=True, help="Overwrite files that do not carry metricgen's header.")
def build(paths: tuple[Path, ...], out_dir: Path, target: str, to_stdout: bool, force: bool) -> None:
    """Generate a module for each spec (directories: every *.yaml in them).

    A file that exists but does not start with metricgen's "Code generated ... DO NOT EDIT." header is
    never overwritten without --force.

    \b
    Example:
        metricgen build specs/dice.yaml          # writes generated/dice.py
        metricgen build specs/ --out src/metrics
        metricgen build specs/dice.yaml --stdout | less
    """
    results, errors = compile_all(list(paths), out_dir, target)
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
            click.echo(printable(f"{'unchanged' if unchanged else 'wrote'} {result.output}"), err=True)
    if errors:
        click.echo(f"{len(errors)} error(s); {written} module(s) generated", err=True)
        sys.exit(EXIT_INVALID)


@main.command()
@SPEC_PATHS
@OUT_OPTION
@TARGET_OPTION
def check(paths: tuple[Path, ...], out_dir: Path, target: str) -> None:
    """Check that the generated modules are up to date with their specs; writes no module.

    Each spec is generated in memory and compared with its module under --out. Exit 0 when every module
    is up to date; exit 1, with a unified diff on stdout, when one is stale, missing or was edited by
    hand; exit 2 when a spec is invalid. For CI and pre-commit. Like build, it keeps black's output in
    a cache outside the project (~/.cache/metricgen; METRICGEN_CACHE_DIR= turns it off).

    \b
    Example:
        metricgen check specs/                   # compares with generated/*.py
        metricgen check specs/dice.yaml --out src/metrics
    """
    results, errors = compile_all(list(paths), out_dir, target)
    stale = 0
    checked = 0
    for result in results:
        if not result.ok:
            errors.extend(result.errors)
            continue
        checked += 1
        current = read_text(result.output)
        if read_bytes(result.output) == result.source.encode("utf-8"):  # bytes: CRLF or a bad byte is stale
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
    if errors:
        click.echo(f"{plural(len(errors), 'error')}; {stale} of {checked} module(s) out of date", err=True)
        sys.exit(EXIT_INVALID)
    if stale:
        again = " ".join(str(p) for p in paths)
        options = (f" --out {out_dir}" if out_dir != Path("generated") else "") + (
            f" --target {target}" if target != DEFAULT_TARGET else ""
        )
        click.echo(
            f"{stale} of {checked} generated module(s) out of date: run 'metricgen build {again}{options}'", err=True
        )
        sys.exit(EXIT_STALE)
    click.echo(f"{checked} generated module(s) up to date", err=True)


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
    default=Path("specs"),
    show_default=True,
    help="Directory to write the spec into (made if missing).",
)
def new(name: str, directory: Path) -> None:
    """Write a commented starter spec NAME.yaml that builds as it is; never overwrites a file.

    NAME is the metric's snake_case name; the class is its CamelCase form.

    \b
    Example:
        metricgen new mean_iou                   # writes specs/mean_iou.yaml (class MeanIou)
        metricgen new recall_at_k --dir metrics/specs
    """
    if not SPEC_NAME.fullmatch(name) or keyword.iskeyword(name) or len(name) > METRIC_NAME_MAX:
        fail(f"'{name}' cannot name a metric", hint="use snake_case: lowercase letters, digits and '_', like mean_iou")
    path = directory / f"{name}.yaml"
    for existing in (path, path.with_suffix(".yml")):
        if existing.exists():
            fail(f"{existing} already exists", path=str(existing), hint="pick another name, or edit that spec")
    text = starter_spec(name, path)
    try:  # the starter must build as it is: a name YAML reads as a value (yes, null) or a class name Python
        # already has (None, Exception) would not
        analyse_loaded(load_spec_text(text, str(path)))
        discover_errors = []
        if name in SHADOWED_MODULES:
            discover_errors = [SpecError(f"a module named {name}.py would shadow '{name}'")]
    except SpecErrors as exc:
        discover_errors = exc.errors
    if discover_errors:
        fail(f"'{name}' cannot name a metric: {discover_errors[0].message}", hint="pick another name")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="\n") as handle:  # "x": never over a file made meanwhile
            handle.write(text)
    except FileExistsError:
        fail(f"{path} already exists", path=str(path), hint="pick another name, or edit that spec")
    except OSError as exc:
        fail(f"cannot write the spec: {exc.strerror}", path=str(path))
    click.echo(f"wrote {path}; build it with: metricgen build {path}", err=True)


def starter_spec(name: str, path: Path) -> str:
    import jinja2

    from .render import templates_dir

    template_text = (templates_dir() / "new_spec.yaml.j2").read_text(encoding="utf-8")
    template = jinja2.Template(template_text, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    class_name = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    return template.render(
        name=name, class_name=class_name, spec_path=path.as_posix(), schema_line=schema_line(path.parent)
    )


def schema_line(directory: Path) -> str:
    """The editor hint naming the JSON Schema: the project's docs/spec.schema.json when there is one."""
    for candidate in (directory / "spec.schema.json", directory.parent / "docs" / "spec.schema.json"):
        if candidate.is_file():
            relative = Path(os.path.relpath(candidate, directory)).as_posix()
            return f"# yaml-language-server: $schema={relative}"
    return (
        "# For completion and checks in editors, save the JSON Schema (metricgen schema > spec.schema.json)\n"
        "# and make the first line: # yaml-language-server: $schema=spec.schema.json"
    )


@main.command("list")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@OUT_OPTION
@TARGET_OPTION
def list_specs(path: Optional[Path], out_dir: Path, target: str) -> None:
    """List the specs in PATH (default: specs/), one line each: name, class, inputs, the module it
    generates for the target, description.

    \b
    Example:
        metricgen list
        metricgen list metrics/specs/ --target keras
    """
    if path is None:
        path = Path("specs")
        if not path.is_dir():
            fail("no specs/ directory here", path=str(path), hint="pass the directory (or file) of your specs")
    files, errors = discover([path])
    rows = []
    for file in files:
        try:
            spec = validate_spec(load_spec_file(file, str(file)))
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


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors (YAML language server).

    \b
    Example:
        metricgen schema > docs/spec.schema.json
    then start each spec with the line
        # yaml-language-server: $schema=../docs/spec.schema.json
    """
    click.echo(schema_text(json_schema()), nl=False)


def schema_text(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: print).")
def docs(paths: tuple[Path, ...], out_file: Optional[Path]) -> None:
    """Write a Markdown catalogue of the specs in PATHS: per metric its description, params (defaults, bounds,
    choices), inputs, state, update and result formulas, and the module each target generates.

    \b
    Example:
        metricgen docs specs/ catalogue/keras/specs/ catalogue/tfa/specs/ --out docs/metrics.md
    """
    from .catalogue import render_catalogue

    groups, errors = [], []
    for path in paths:
        files, found = discover([path])
        errors += found
        specs = []
        for file in files:
            try:
                specs.append((file, validate_spec(load_spec_file(file, str(file)))))
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
    else:
        write_atomic(out_file, text)
        click.echo(f"wrote {out_file}", err=True)


@main.command("test")
@SPEC_PATHS
@TARGET_OPTION
def test_examples(paths: tuple[Path, ...], target: str) -> None:
    """Run each spec's `examples:` against its generated class, with TensorFlow.

    Each example builds a fresh metric with its params, feeds its batches to update_state and compares
    result() with `expected`, within the example's absolute `tolerance` (default 1e-6). Prints PASS or
    FAIL per example. Exit 0 when all pass, 1 when one fails, 2 when a spec is invalid. The examples run in
    a child process (the only one that imports TensorFlow) with limits: METRICGEN_TEST_TIMEOUT seconds a
    spec (default 120) and METRICGEN_TEST_MEMORY_MB of memory (default 8192); a spec past them FAILs.

    \b
    Example:
        metricgen test specs/dice.yaml
        metricgen test specs/ --target keras
    """
    files, errors = discover(list(paths))
    from . import examples

    passed = failed = 0
    for run in examples.run_isolated(files, target):
        if run.missing:
            fail(
                f"metricgen test needs the {target} target's runtime: {run.missing}", hint="pip install 'metricgen[tf]'"
            )
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
