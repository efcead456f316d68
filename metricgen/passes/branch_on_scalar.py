"""where(c, a, b) with c one bool → `a if c else b`, where a and b have one shape: only the branch taken runs.

Every binary and multilabel classification spec takes the batch for logits when any score lies outside [0, 1]:
`where(any((y_pred < 0.0) | (y_pred > 1.0)), sigmoid(y_pred), y_pred)`, which computes the sigmoid of every
batch, probabilities too (the calibration errors: a softmax over the classes). torchmetrics tests the batch in
Python and applies it only to logits. On an eager target the choice can be made so too: `c` is one element (a
reduction over every axis, `any` or `all`), read back to choose, and only the chosen branch is computed.

Only where the choice and where() give the same tensor: c one value, and both branches of the where's type and of
a shape the IR shows to be the same (ir_shapes.one_shape, as choose_at_construction asks; that pass runs first and
takes the tests of the params alone, which it computes once, in the constructor). Applies to the targets that say
`branches_on_scalars` (torchmetrics: reading c back syncs with a CUDA device, as torchmetrics' own test does; a
traced target would have to trace both branches anyway).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ir
from .ir_shapes import Shapes, one_shape, where_parts

if TYPE_CHECKING:
    from ..targets.base import Target


def applies_to(target: "Target") -> bool:
    return target.branches_on_scalars


def run(metric: ir.Metric) -> ir.Metric:
    def in_scope(shapes: Shapes):
        def change(e: ir.Expr) -> ir.Expr:
            where = where_parts(e)
            if where is None or not e.type.is_tensor or not one_shape(e, where, shapes):
                return e
            if shapes.of(where[1]) == ():
                return e  # between two single values where() is one op, and a number branch would need a tensor
            return ir.Select(e.type, *where)

        return change

    # each scope's references are to its own definitions
    update, result = in_scope(Shapes(dict(metric.update_locals))), in_scope(Shapes(dict(metric.result_locals)))
    return ir.map_expressions(metric, update, result)
