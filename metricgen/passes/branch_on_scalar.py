"""where(c, a, b) with c one bool → `a if c else b`, where a and b have one shape: only the branch taken runs.

Every binary and multilabel classification spec takes the batch for logits when any score lies outside [0, 1]:
`where(any((y_pred < 0.0) | (y_pred > 1.0)), sigmoid(y_pred), y_pred)`, which computes the sigmoid of every
batch, probabilities too (the calibration errors: a softmax over the classes). torchmetrics tests the batch in
Python and applies it only to logits. On an eager target the choice can be made so too: `c` is one element (a
reduction over every axis, `any` or `all`), read back to choose, and only the chosen branch is computed.

Only where the choice and where() give the same tensor: both branches tensors of the where's dtype, each shaped by
the same inputs and state through element-wise operations (then neither broadcasts the other, nor does c, which
has no axes). Applies to the targets that say `branches_on_scalars` (torchmetrics: reading c back syncs with a
CUDA device, as torchmetrics' own test does; a traced target would have to trace both branches anyway).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Optional

from .. import ir
from ..analysis.shapes import ELEMENT_WISE

if TYPE_CHECKING:
    from ..targets.base import Target


def applies_to(target: "Target") -> bool:
    return target.branches_on_scalars


def run(metric: ir.Metric) -> ir.Metric:
    update = dict(metric.update_locals)
    result = dict(metric.result_locals)

    def in_scope(definitions: dict):
        def change(e: ir.Expr) -> ir.Expr:
            return _branch(e, definitions)

        return change

    up, res = in_scope(update), in_scope(result)  # each scope's references are to its own definitions
    return dataclasses.replace(
        metric,
        update_locals=[(n, ir.rewrite(e, up)) for n, e in metric.update_locals],
        updates=[(s, ir.rewrite(e, up)) for s, e in metric.updates],
        result_locals=[(n, ir.rewrite(e, res)) for n, e in metric.result_locals],
        result=ir.rewrite(metric.result, res),
    )


def _branch(e: ir.Expr, definitions: dict) -> ir.Expr:
    if not (isinstance(e, ir.Apply) and e.function == "where" and e.type.is_tensor):
        return e
    cond, a, b = e.arg("cond"), e.arg("a"), e.arg("b")
    if not (_one_element(cond, definitions) and a.type == e.type and b.type == e.type):
        return e
    shape_a, shape_b = _sources(a, definitions), _sources(b, definitions)
    if shape_a is None or not shape_a or shape_a != shape_b:
        return e
    return ir.Select(e.type, cond, a, b)


def _one_element(e: ir.Expr, definitions: dict) -> bool:
    """Whether ``e`` is a tensor with no axes: any/all over every axis (through definitions)."""
    if isinstance(e, ir.Ref) and e.kind == "local" and e.name in definitions:
        return _one_element(definitions[e.name], definitions)
    if isinstance(e, ir.Select) and e.cond.type.is_static:  # chosen by the params: one element either way
        return _one_element(e.then, definitions) and _one_element(e.orelse, definitions)
    if isinstance(e, ir.Apply) and e.function in ("any", "all"):
        keepdims = e.arg("keepdims")
        return e.arg("axis") is None and (keepdims is None or (isinstance(keepdims, ir.Literal) and not keepdims.value))
    return False


def _sources(e: ir.Expr, definitions: dict) -> Optional[frozenset]:
    """The inputs and state whose shapes broadcast to ``e``'s, through element-wise operations and definitions;
    None where ``e`` is made otherwise (a reduction, an index, a constant's choice)."""
    if isinstance(e, ir.Ref) and e.kind in ("input", "state"):
        return frozenset({(e.kind, e.name)})
    if isinstance(e, ir.Ref) and e.kind == "local":
        return _sources(definitions[e.name], definitions) if e.name in definitions else None
    if e.type.is_static:
        return frozenset()
    if isinstance(e, ir.Cast):
        parts: tuple = (e.x,)
    elif isinstance(e, ir.Operator):
        parts = e.operands
    elif isinstance(e, ir.Apply) and e.function in ELEMENT_WISE:
        parts = tuple(v for _, v in e.args if v is not None and v.type.is_tensor)
    else:
        return None
    found: frozenset = frozenset()
    for part in parts:
        more = _sources(part, definitions)
        if more is None:
            return None
        found |= more
    return found
