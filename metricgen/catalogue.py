"""`metricgen docs`: a Markdown catalogue of specs, what each metric computes and how to build it.

Per metric: its description, constructor params (type, default, allowed values), inputs, state, the update and
result formulas as the spec writes them, and the module each target generates (by the project's layout: the
specs of ``DIR/specs/`` generate into ``DIR/generated/``). Spec text lands in Markdown escaped, never as HTML.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from .lowering import py_literal
from .schema import Spec
from .targets import TARGETS


def _cell(text: str) -> str:
    """Text that stays inside one table cell: one line, no column breaks, no raw HTML."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    text = " ".join(str(text).split())
    ticks = "``" if "`" in text else "`"
    return f"{ticks}{text}{ticks}"


def _allowed(p) -> str:
    parts = []
    if p.choices is not None:
        parts.append("one of " + ", ".join(_code(repr(c)) for c in p.choices))
    if p.min is not None:
        parts.append(f"≥ {p.min}")
    if p.max is not None:
        parts.append(f"≤ {p.max}")
    if p.optional and p.type != "callable":
        parts.append("or None")
    return "; ".join(parts)


def module_paths(spec_file: Path, root: Path) -> list[str]:
    out = spec_file.parent.parent / "generated"
    stem = spec_file.stem.replace("-", "_")
    paths = []
    for target in TARGETS.values():
        path = target.output_path(out, stem)
        try:
            path = path.resolve().relative_to(root.resolve())
        except ValueError:
            pass
        paths.append(f"{target.name}: {_code(Path(path).as_posix())}")
    return paths


def metric_section(spec_file: Path, spec: Spec, root: Path) -> list[str]:
    lines = [f"### {spec.class_name}", ""]
    lines += [" ".join(p.split()) for p in spec.description.strip().split("\n\n")]
    lines += [
        "",
        f"Spec: {_code(spec_file.resolve().relative_to(root.resolve()).as_posix() if spec_file.resolve().is_relative_to(root.resolve()) else spec_file.name)}; "
        f"default name {_code(spec.name)}"
        + (f"; higher is better: {spec.higher_is_better}" if spec.higher_is_better is not None else ""),
        "",
    ]
    if spec.params:
        lines += ["| param | type | default | allowed | what |", "|---|---|---|---|---|"]
        for name, p in spec.params.items():
            default = "required" if p.required else _code(py_literal(p.default))
            lines.append(f"| `{name}` | {_cell(p.type)} | {default} | {_cell(_allowed(p))} | {_cell(p.doc)} |")
        lines.append("")
    inputs = ", ".join(i.name for i in spec.inputs)
    lines += [f"`update_state({inputs}, sample_weight=None)` (torchmetrics: `update`):", ""]
    for i in spec.inputs:
        lines.append(f"- `{i.name}` ({_cell(i.dtype)}): {_cell(i.doc) or '—'}")
    lines += ["", "| state | shape | dtype | initial value | fold | what |", "|---|---|---|---|---|---|"]
    for name, s in spec.state.items():
        shape = "[" + ", ".join(str(d) for d in s.shape) + "]"
        lines.append(
            f"| `{name}` | {_cell(shape)} | {_cell(s.dtype)} | {_cell(py_literal(s.init))} | {s.fold} | {_cell(s.doc)} |"
        )
    lines += ["", "```text"]
    for name, text in spec.update.let.items():
        lines.append(f"{name} = {' '.join(text.split())}")
    for name, text in spec.update.assignments.items():
        lines.append(f"{name} ⟵ {' '.join(text.split())}")
    for name, text in spec.result.let.items():
        lines.append(f"{name} = {' '.join(text.split())}")
    lines += [f"result = {' '.join(spec.result.value.split())}", "```", ""]
    lines += ["Modules: " + "; ".join(module_paths(spec_file, root)) + ".", ""]
    return lines


def render_catalogue(groups: Iterable[tuple[str, list[tuple[Path, Spec]]]], root: Path) -> str:
    lines = [
        "# The metrics catalogue",
        "",
        "Written by `metricgen docs` from the specs; do not edit (a test checks it is current). Regenerate with",
        "`metricgen docs specs/ catalogue/keras/specs/ catalogue/tfa/specs/ --out docs/metrics.md`.",
        "",
    ]
    for title, specs in groups:
        lines += [f"## {title}", ""]
        lines += [
            f"- [{spec.class_name}](#{spec.class_name.lower()}): {_cell(summary(spec.description))}"
            for _, spec in specs
        ]
        lines.append("")
        for spec_file, spec in specs:
            lines += metric_section(spec_file, spec, root)
    return "\n".join(lines).rstrip() + "\n"


def summary(description: str, width: int = 100) -> str:
    """The first sentence of a description, on one line, cut at ``width`` characters."""
    text = " ".join(description.split())
    match = re.search(r"[.!?](?=\s+[A-Z(]|$)", text)  # not at 'e.g. the'
    if match:
        text = text[: match.start() + 1]
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
