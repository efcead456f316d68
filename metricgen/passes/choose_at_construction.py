"""where(test, a, b) on a test of the params alone → `a if self._<name> else b`, the test run once, when the
metric is made.

Keras' Precision decides in its constructor whether its thresholds are evenly spread (then it buckets the
scores, else it compares them with every threshold), and its update computes one of the two. A spec says the
same with `where(<test of thresholds>, bucketed, compared)`: the test is a tensor, so every batch computed the
test and both branches. The params are constants once the metric is made, so this pass moves the test into
the constructor (`ir.AtConstruction`: `bool()` of the target's own code for it, which runs eagerly there) and
chooses the branch in Python (`ir.Select`): only one branch is traced.

where broadcasts a against b, and `a if ... else b` does not: the pass rewrites a where only when the IR shows
that the test is one value and that a and b have one shape, so the numbers are the same either way.

Applies to every target: what it writes is a Python conditional and the target's own code for the test.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .. import ir
from ..functions import REGISTRY
from ..types import static
from .ir_shapes import Shapes, one_shape, where_parts

if TYPE_CHECKING:
    from ..targets.base import Target

# The nodes a value of the params alone is made of: no input, state, definition, sample weight or user's
# function (a node added to the IR later is not one of them until it is listed here).
_OF_PARAMS = (ir.Literal, ir.Ref, ir.Cast, ir.Operator, ir.Select, ir.Apply, ir.Length, ir.IsList, ir.TupleOf)


def applies_to(target: "Target") -> bool:
    return True


def run(metric: ir.Metric) -> ir.Metric:
    chooser = _Chooser()
    update = Shapes(dict(metric.update_locals))
    result = Shapes(dict(metric.result_locals))
    return dataclasses.replace(
        metric,
        update_locals=[(name, chooser.choose(e, name, update)) for name, e in metric.update_locals],
        updates=[(state, chooser.choose(e, state.name, update)) for state, e in metric.updates],
        result_locals=[(name, chooser.choose(e, name, result)) for name, e in metric.result_locals],
        result=chooser.choose(metric.result, "result", result),
    )


class _Chooser:
    """Rewrites the wheres on the params' tests, naming each test after the definition or state it is in;
    a test written twice under the same guards is computed once."""

    def __init__(self) -> None:
        self.made: dict[tuple[ir.Expr, tuple[ir.Expr, ...]], ir.AtConstruction] = {}

    def choose(self, e: ir.Expr, owner: str, shapes: "Shapes", guards: tuple[ir.Expr, ...] = ()) -> ir.Expr:
        """``e`` with its wheres on the params' tests rewritten; ``guards``: the params' tests it is computed
        under (a branch of `... if thresholds is None else where(...)` only knows thresholds is not None)."""
        # a choice on the params' test: each branch is computed only where it says (a choice on a tensor, as
        # branch_on_scalar writes, or on has_sample_weight(), as unweighted_counts does, guards nothing the
        # constructor knows)
        if isinstance(e, ir.Select) and e.cond.type.is_static and of_params_alone(e.cond):
            return dataclasses.replace(
                e,
                then=self.choose(e.then, owner, shapes, guards + (e.cond,)),
                orelse=self.choose(e.orelse, owner, shapes, guards + (ir.negated(e.cond),)),
            )
        where = where_parts(e)
        if where is not None and of_params_alone(where[0]) and one_shape(e, where, shapes):
            test, a, b = where
            if not test.type.is_static:  # a tensor: computed by the constructor
                test = self.at_construction(test, owner, guards)
            return ir.Select(e.type, test, self.choose(a, owner, shapes, guards), self.choose(b, owner, shapes, guards))
        return ir.map_children(e, lambda child: self.choose(child, owner, shapes, guards))

    def at_construction(self, test: ir.Expr, owner: str, guards: tuple[ir.Expr, ...]) -> ir.AtConstruction:
        if (test, guards) not in self.made:
            taken = {made.name for made in self.made.values()}
            name = next(n for n in _names(f"{owner}_condition") if n not in taken)
            self.made[(test, guards)] = ir.AtConstruction(static("bool"), name, test, guards)
        return self.made[(test, guards)]


def _names(stem: str):
    yield stem
    number = 2
    while True:
        yield f"{stem}_{number}"
        number += 1


def of_params_alone(test: ir.Expr) -> bool:
    """Whether ``test`` is computed from the params alone (no input, state or rank): the constructor can make it."""
    return all(_of_params(x) for x in ir.walk(test))


def _of_params(e: ir.Expr) -> bool:
    if isinstance(e, ir.Ref):
        return e.kind in ("param", "constant")
    if isinstance(e, ir.Apply):
        return not REGISTRY[e.function].uses_sample_weight
    return isinstance(e, _OF_PARAMS)
