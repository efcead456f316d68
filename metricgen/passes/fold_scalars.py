"""state += x[None] → state += x, where x is one number (a reduction over every axis) and the fold adds in place.

A state of shape [1] (or [k]) that a spec adds a reduction to is written `sum(...)[None]`, so that the value has
the state's shape where the fold is an assignment of matching shape (`assign_add` in TensorFlow). Where the fold is
an in-place add, a value without axes broadcasts into any state shape exactly as its [1] form does, and the new
axis is one op more on every call (two for MeanSquaredError's sum and count). Through the static choices of
the update (`x[None] if num_outputs == 1 else ...`), at the top of an `add` state's update only.

Applies to the targets that say `folds_broadcast` (torchmetrics: `self.total += value` is `add_`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .. import ir
from .ir_shapes import Shapes

if TYPE_CHECKING:
    from ..targets.base import Target


def applies_to(target: "Target") -> bool:
    return target.folds_broadcast


def run(metric: ir.Metric) -> ir.Metric:
    shapes = Shapes(dict(metric.update_locals))

    def without_new_axis(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Select) and e.cond.type.is_static:
            return dataclasses.replace(e, then=without_new_axis(e.then), orelse=without_new_axis(e.orelse))
        if isinstance(e, ir.Subscript) and e.items == ("None",) and e.value.type == e.type:
            return e.value if shapes.of(e.value) == () else e  # one number: no axes
        return e

    updates = [(s, without_new_axis(e) if s.fold == "add" and not s.is_buffer else e) for s, e in metric.updates]
    return dataclasses.replace(metric, updates=updates)
