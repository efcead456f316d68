"""ones_like(cast(x, dtype)) → ones_like_as(x, dtype): ones of x's shape, made in the dtype, without copying x.

`p is None or y_true != p` reads, where p is None, as ones of the comparison's shape: `ones_like(cast(y_true,
bool))`, which on an eager target converts the whole batch to bool only to take its shape (57 of the 284
conversions a call of the torchmetrics catalogue makes at a batch of 1,024). Only the shape of the cast's value is
read, and a cast keeps the shape, so ones made directly in the dtype are the same tensor.

Applies to the targets whose column of the function table has `ones_like_as` (the torchmetrics target: under
`tf.function` and `jax.jit` the cast is one more node of the graph, which XLA fuses away).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .. import ir
from ..types import Type

if TYPE_CHECKING:
    from ..targets.base import Target

PRODUCES = "ones_like_as"


def applies_to(target: "Target") -> bool:
    return PRODUCES in target.column


def _without_cast(e: ir.Expr) -> ir.Expr:
    if not (isinstance(e, ir.Apply) and e.function == "ones_like"):
        return e
    value = e.arg("x")
    if isinstance(value, ir.Apply) and value.function == "cast":
        value = value.arg("x")
    elif isinstance(value, ir.Cast):
        value = value.x
    else:
        return e
    if not value.type.is_tensor:
        return e  # ones of a constant's shape: a scalar, which the cast made a tensor
    dtype = ir.DTypeName(Type("dtype"), e.type.dtype)
    return dataclasses.replace(e, function=PRODUCES, args=(("x", value), ("dtype", dtype)))


def run(metric: ir.Metric) -> ir.Metric:
    return ir.map_expressions(metric, _without_cast)
