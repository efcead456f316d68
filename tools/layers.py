#!/usr/bin/env python
"""The layers of metricgen, measured from its source: which module imports which, the cycles, the imports that
run back up the pipeline, and the target names written outside metricgen/targets/.

Every import counts: at the top, inside a function, and under ``if TYPE_CHECKING:`` (a type hint is a
dependency too; a Protocol in a lower module breaks one). tests/test_architecture.py fails on any finding;
docs/architecture.md's before/after table is this script's output.

    .venv/bin/python tools/layers.py              # this checkout: the findings, then the figures
    .venv/bin/python tools/layers.py OLD NEW      # the before/after table of two checkouts, e.g.
    rm -rf /tmp/old && mkdir /tmp/old && git archive HEAD | tar -x -C /tmp/old && .venv/bin/python tools/layers.py /tmp/old .
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The pipeline, lowest first: a module may import from its own layer and those before it, never from a later one.
# A name is a module or a package (which holds its submodules); the longest name that matches places a module.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base: errors, the expression language, its types, IR and function table, param rules",
        ("metricgen", "errors", "syntax", "expressions", "types", "ir", "functions", "params"),
    ),
    ("load", ("loader",)),
    ("inherit: `extends:` merged", ("inherit",)),
    ("validate", ("schema",)),
    ("analyse", ("analysis",)),
    ("the target interface", ("targets.base",)),  # what lowering and passes may know of a target
    ("optimise", ("passes",)),
    ("lower", ("lowering",)),
    ("targets: each target's class and its column of the function table", ("targets",)),
    ("render", ("render",)),
    ("format", ("layout", "formatting")),
    ("write, compile, remember", ("writer", "spec_files", "records", "compiler")),
    ("run examples, catalogue, project, shipped specs", ("examples", "catalogue", "project", "bundled")),
    ("the examples' child process", ("example_child",)),
    ("command line", ("cli", "__main__")),
]
PACKAGE = "metricgen"
TARGETS_PACKAGE = "metricgen.targets"


@dataclass
class Findings:
    modules: dict[str, Path] = field(repr=False)
    lines: int
    imports: dict[str, set[str]] = field(repr=False)  # module -> the modules it imports
    unplaced: list[str] = field(default_factory=list)
    upward: list[str] = field(default_factory=list)  # "a -> b (layer -> later layer)"
    cycles: list[list[str]] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)  # "path:line: 'tf'"


def module_files(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name (a package by its own name)."""
    package = root / PACKAGE
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from . import ir` imports the module ir; `from .lowering import Printer` imports lowering
            names = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
        else:
            continue
        found |= {_owning_module(name, modules) for name in names if name.split(".")[0] == PACKAGE}
    return found - {module, None}


def _owning_module(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def layer_of(module: str) -> int | None:
    best = None
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            full = PACKAGE if name == PACKAGE else f"{PACKAGE}.{name}"
            if module == full or module.startswith(full + ".") and full != PACKAGE:
                if best is None or len(full) > best[0]:
                    best = (len(full), index)
    return None if best is None else best[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def target_names(root: Path) -> set[str]:
    """The targets' names, as each class in metricgen/targets/ sets ``name = "..."``."""
    names = set()
    for path in (root / "metricgen" / "targets").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and [getattr(t, "id", None) for t in statement.targets] == ["name"]
                        and isinstance(statement.value, ast.Constant)
                    ):
                        names.add(statement.value.value)
    return names


def target_name_literals(root: Path, modules: dict[str, Path], names: set[str]) -> list[str]:
    """Every string constant outside metricgen/targets/ that is exactly a target's name, and every keyword
    argument named after one (``define(..., tf=...)``: a target's column written outside its own modules)."""
    found = []
    for module, path in modules.items():
        if module == TARGETS_PACKAGE or module.startswith(TARGETS_PACKAGE + "."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
            elif isinstance(node, ast.keyword) and node.arg in names:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.arg}=")
    return found


def measure(root: Path, extra_names: frozenset[str] = frozenset()) -> Findings:
    """The findings for the checkout at ``root``; ``extra_names``: target names besides those its targets set."""
    modules = module_files(root)
    graph = {m: imported(m, p, modules) for m, p in modules.items()}
    findings = Findings(modules, sum(len(p.read_text(encoding="utf-8").splitlines()) for p in modules.values()), graph)
    findings.unplaced = [m for m in modules if layer_of(m) is None]
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            la, lb = layer_of(a), layer_of(b)
            if la is not None and lb is not None and lb > la:
                findings.upward.append(f"{a} -> {b} ({LAYERS[la][0]} -> {LAYERS[lb][0]})")
    findings.cycles = cycles(graph)
    findings.target_names = target_name_literals(root, modules, target_names(root) | extra_names)
    return findings


def figures(f: Findings) -> dict[str, int]:
    return {
        "modules": len(f.modules),
        "lines": f.lines,
        "imports between modules": sum(len(v) for v in f.imports.values()),
        "import cycles": len(f.cycles),
        "modules in cycles": sum(len(c) for c in f.cycles),
        "upward imports": len(f.upward),
        "target-name literals outside targets/": len(f.target_names),
    }


def report(f: Findings) -> str:
    lines = [f"unplaced module: {m}" for m in f.unplaced]
    lines += [f"upward import: {u}" for u in f.upward]
    lines += [f"cycle: {' <-> '.join(c)}" for c in f.cycles]
    lines += [f"target name: {t}" for t in f.target_names]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [ROOT]
    measured = [measure(r.resolve(), frozenset({"jax"})) for r in roots]  # the target issue 23 adds
    for r, f in zip(roots, measured):
        if report(f):
            print(f"# {r}\n{report(f)}\n")
    if len(measured) == 2:
        before, after = (figures(f) for f in measured)
        print("| | before | after |\n|---|---:|---:|")
        for key in before:
            print(f"| {key} | {before[key]} | {after[key]} |")
    else:
        for key, value in figures(measured[0]).items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
