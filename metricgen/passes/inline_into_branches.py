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
from typing import TYPE_CHECKING

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
    """A scope's definitions and the expressions that read them (pairs, their first item kept), after inlining
    each definition read once, in a branch, until none is left to inline."""
    while True:
        reads: collections.Counter[str] = collections.Counter()
        in_branch: set[str] = set()
        for _, expr in definitions + roots:
            _count(expr, False, reads, in_branch)
        scope = dict(definitions)
        name = next(
            (
                name
                for name, expr in definitions
                if reads[name] == 1 and name in in_branch and not may_be_a_state(expr, scope)
            ),
            None,
        )
        if name is None:
            return definitions, roots
        value = scope[name]

        def put(e: ir.Expr, name: str = name, value: ir.Expr = value) -> ir.Expr:
            return value if isinstance(e, ir.Ref) and e.kind == "local" and e.name == name else e

        definitions = [(n, ir.rewrite(e, put)) for n, e in definitions if n != name]
        roots = [(first, ir.rewrite(e, put)) for first, e in roots]


def _count(e: ir.Expr, branch: bool, reads: "collections.Counter[str]", in_branch: set[str]) -> None:
    """Counts the definitions ``e`` reads; ``in_branch`` gets those read inside a branch of a choice on a tensor
    (``branch``: ``e`` is inside one)."""
    if isinstance(e, ir.Ref) and e.kind == "local":
        reads[e.name] += 1
        if branch:
            in_branch.add(e.name)
        return
    if isinstance(e, ir.Select) and e.cond.type.is_tensor:
        _count(e.cond, branch, reads, in_branch)
        _count(e.then, True, reads, in_branch)
        _count(e.orelse, True, reads, in_branch)
        return
    for child in ir.children(e):
        _count(child, branch, reads, in_branch)
