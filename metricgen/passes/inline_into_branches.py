"""A `let` read once, inside a branch of a choice on a tensor → written where it is read, so that it is computed
only where that branch is taken.

On the targets that branch on a one-element tensor (passes/branch_on_scalar: a Python `if` on the value read
back, or the library's conditional), only the branch taken runs; but a definition that the branch reads was
computed before it, on every call. The Matthews correlation's 2 × 2 special cases (torchmetrics' value where one
rater always says one class: six tests and a quotient, ~35 ops) ran on every compute of the torchmetrics target,
87 ops where torchmetrics' own makes 43, though they are read only where the spread is 0.

A definition read exactly once in its scope, and there inside such a branch, is written in its place; those it
reads may then be too. One read twice stays (inlined, it would be computed twice), and so does one that is a
state or a view of one: a chosen branch is handed back as it is, and a state's would change with the next fold
(passes/branch_on_scalar keeps such a branch in a where()).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING, Optional

from .. import ir
from .branch_on_scalar import may_be_a_state

if TYPE_CHECKING:
    from ..targets.base import Target


def applies_to(target: "Target") -> bool:
    return target.branches_on_scalars is not None


def run(metric: ir.Metric) -> ir.Metric:
    update_locals, updates = _inlined(metric.update_locals, list(metric.updates))
    result_locals, [(_, result)] = _inlined(metric.result_locals, [("", metric.result)])
    return dataclasses.replace(
        metric, update_locals=update_locals, updates=updates, result_locals=result_locals, result=result
    )


def _inlined(definitions: list[tuple[str, ir.Expr]], roots: list[tuple]) -> tuple[list, list]:
    """A scope's definitions and the expressions that read them (pairs, their first item kept), with each
    definition read once, in a branch, written where it is read. One pass to count the reads, one over the
    definitions from the last (a definition read inside one that is inlined into a branch is in that branch too),
    one to substitute: linear in the scope's size."""
    reads: collections.Counter[str] = collections.Counter()
    reader: dict[str, tuple[Optional[str], bool]] = {}  # a definition: (the definition reading it, in a branch?)
    for owner, expr in [(name, expr) for name, expr in definitions] + [(None, expr) for _, expr in roots]:
        _count(expr, False, owner, reads, reader)
    scope = dict(definitions)
    inlined: set[str] = set()
    for name, expr in reversed(definitions):
        if reads[name] == 1 and not may_be_a_state(expr, scope):
            owner, in_branch = reader[name]
            if in_branch or owner in inlined:
                inlined.add(name)
    values: dict[str, ir.Expr] = {}

    def put(e: ir.Expr) -> ir.Expr:
        return values[e.name] if isinstance(e, ir.Ref) and e.kind == "local" and e.name in values else e

    kept = []
    for name, expr in definitions:
        expr = ir.rewrite(expr, put)
        if name in inlined:
            values[name] = expr
        else:
            kept.append((name, expr))
    return kept, [(first, ir.rewrite(expr, put)) for first, expr in roots]


def _count(
    e: ir.Expr,
    branch: bool,
    owner: Optional[str],
    reads: "collections.Counter[str]",
    reader: dict[str, tuple[Optional[str], bool]],
) -> None:
    """Counts the definitions ``e`` reads, each with its reader: ``owner`` (the definition ``e`` belongs to, None
    for a state's update or the result) and whether the read is inside a branch of a choice on a tensor
    (``branch``: ``e`` is inside one)."""
    if isinstance(e, ir.Ref) and e.kind == "local":
        reads[e.name] += 1
        reader[e.name] = (owner, branch)
        return
    if isinstance(e, ir.Select) and e.cond.type.is_tensor:
        _count(e.cond, branch, owner, reads, reader)
        _count(e.then, True, owner, reads, reader)
        _count(e.orelse, True, owner, reads, reader)
        return
    for child in ir.children(e):
        _count(child, branch, owner, reads, reader)
