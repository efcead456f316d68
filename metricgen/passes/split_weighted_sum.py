"""weighted_sum(a + b) → weighted_sum_of_pair(a, b): Σ (a ± b)·w without building a ± b.

Without weights, where a and b have one static shape, Σ (a ± b) is Σ a ± Σ b, and the sum of a batch-sized
a ± b is most of the cost of a large batch in graph mode on CPU (DiceCoefficient's `Σ t + Σ p`). Whether the
shapes match is known only when the metric is traced, so the function this pass writes checks it there and
otherwise sums a ± b as before: the numbers are the same either way.

Applies to the targets whose column of the function table has `weighted_sum_of_pair`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .. import ir
from ..types import static

if TYPE_CHECKING:
    from ..targets.base import Target

PRODUCES = "weighted_sum_of_pair"


def applies_to(target: "Target") -> bool:
    return PRODUCES in target.column


def _split(e: ir.Expr) -> ir.Expr:
    if not (isinstance(e, ir.Apply) and e.function == "weighted_sum"):
        return e
    value = e.arg("x")
    if not (isinstance(value, ir.Operator) and value.op in ("+", "-")):
        return e
    a, b = value.operands
    if not (a.type.is_tensor and b.type.is_tensor):
        return e
    subtract = ir.Literal(static("bool"), True) if value.op == "-" else None
    return dataclasses.replace(e, function=PRODUCES, args=(("a", a), ("b", b), ("subtract", subtract)))


def run(metric: ir.Metric) -> ir.Metric:
    return ir.map_expressions(metric, _split)
