"""where(M, a, b) → `a if p is None else where(M, a, b)`, where the mask M is `p is None or c`.

`kept: ignore_index is None or y_true != ignore_index` reads, where ignore_index is None, as ones of y_true's
shape: the mask keeps everything, and `where(kept, pair, -1)` is pair, but the ones and the where are computed on
every batch. The rewrite makes it a choice in Python on the param's test, which the lowering writes as a
conditional expression: where p is None, neither is computed. So a spec says what it means (`where(kept, pair,
-1)`) and need not write the choice out (`pair if ignore_index is None else where(kept, pair, -1)`).

Only where choosing gives the same tensor: a has the where's type, and neither the mask nor b adds an axis to a.
Each is one value, or has the shape ir_shapes shows for one of the tensors a is broadcast from (`kept`, of
y_true's shape, against `y_true * 2 + predicted`). `any(kept & outside)` is left alone: the IR cannot show that
y_true and y_pred have one shape. The mask is followed through the definitions that name it. Applies to every
target: on a traced one the choice is made when the metric is traced, and the graph has neither the ones nor the
select (the ones are still made where another use of the mask stays a where).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .. import ir
from ..analysis.shapes import ELEMENT_WISE
from .ir_shapes import Shapes, where_parts

if TYPE_CHECKING:
    from ..targets.base import Target

_ONES = ("ones_like", "ones_like_as")


def applies_to(target: "Target") -> bool:
    return True


def _everything_test(mask: ir.Expr, definitions: dict[str, ir.Expr]) -> Optional[ir.Expr]:
    """The static test under which ``mask`` is ones (`p is None` of `p is None or c`), or None."""
    while isinstance(mask, ir.Ref) and mask.kind == "local" and mask.name in definitions:
        mask = definitions[mask.name]
    if not isinstance(mask, ir.Select) or not mask.cond.type.is_static:
        return None
    then = mask.then
    return mask.cond if isinstance(then, ir.Apply) and then.function in _ONES else None


def _sources(e: ir.Expr, definitions: dict[str, ir.Expr]) -> list[ir.Expr]:
    """Values whose shapes broadcast to e's: through definitions, casts and element-wise operations, down to
    what is not one (an input, a state, a reduction, a reshape, ...); none for a constant. The analysis has a
    walk like it (analysis.shapes.shape_sources), over the spec's scopes and narrowing rather than the IR a pass
    sees, which stops at a select; ir_shapes then gives each source's shape."""
    if e.type.is_static:
        return []
    if isinstance(e, ir.Ref) and e.kind == "local" and e.name in definitions:
        return _sources(definitions[e.name], definitions)
    if isinstance(e, ir.Cast):
        return _sources(e.x, definitions)
    if isinstance(e, ir.Operator):  # every operator is element-wise
        return [s for x in e.operands for s in _sources(x, definitions)]
    if isinstance(e, ir.Apply) and e.function in ELEMENT_WISE:
        return [s for _, x in e.args if x is not None and x.type.is_tensor for s in _sources(x, definitions)]
    return [e]


def run(metric: ir.Metric) -> ir.Metric:
    def in_scope(definitions: dict[str, ir.Expr]):
        shapes = Shapes(definitions)

        def adds_no_axes(x: ir.Expr, to: ir.Expr) -> bool:
            """Whether broadcasting x against ``to`` leaves to's shape: x is one value, or has the shape of one
            of the tensors whose shapes broadcast to to's (broadcasting again with one of them changes nothing)."""
            shape = shapes.of(x)
            return shape == () or (shape is not None and any(shapes.of(s) == shape for s in _sources(to, definitions)))

        def change(e: ir.Expr) -> ir.Expr:
            where = where_parts(e)
            if where is None:
                return e
            mask, a, b = where
            test = _everything_test(mask, definitions)
            # (the analyser casts both branches to the where's type; the type test guards that promise)
            if test is None or a.type != e.type or not (adds_no_axes(mask, a) and adds_no_axes(b, a)):
                return e
            # in the where kept, the test has failed: a choice on it there (the mask written inline) is decided
            decided = ir.rewrite(e, lambda x: x.orelse if isinstance(x, ir.Select) and x.cond == test else x)
            return ir.Select(e.type, test, a, decided)

        return change

    # each scope's references are to its own definitions
    update, result = in_scope(dict(metric.update_locals)), in_scope(dict(metric.result_locals))
    return ir.map_expressions(metric, update, result)
