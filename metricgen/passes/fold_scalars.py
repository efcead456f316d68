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
from ..analysis.shapes import REDUCTIONS

if TYPE_CHECKING:
    from ..targets.base import Target

_ONE_NUMBER = frozenset({"weighted_sum", "weighted_count", "weighted_sum_of_pair"})


def applies_to(target: "Target") -> bool:
    return target.folds_broadcast


def run(metric: ir.Metric) -> ir.Metric:
    updates = [(s, _without_new_axis(e) if s.fold == "add" and not s.is_buffer else e) for s, e in metric.updates]
    return dataclasses.replace(metric, updates=updates)


def _without_new_axis(e: ir.Expr) -> ir.Expr:
    if isinstance(e, ir.Select) and e.cond.type.is_static:
        return dataclasses.replace(e, then=_without_new_axis(e.then), orelse=_without_new_axis(e.orelse))
    if isinstance(e, ir.Subscript) and e.items == ("None",) and _one_number(e.value) and e.value.type == e.type:
        return e.value
    return e


def _one_number(e: ir.Expr) -> bool:
    """A tensor without axes: a reduction over every axis (no keepdims), or a weighted sum or count."""
    if not isinstance(e, ir.Apply):
        return False
    if e.function in _ONE_NUMBER:
        return True
    if e.function in REDUCTIONS:
        keepdims = e.arg("keepdims")
        no_keepdims = keepdims is None or (isinstance(keepdims, ir.Literal) and not keepdims.value)
        return e.arg("axis") is None and no_keepdims
    return False
