"""bincount(ids, n, weights=sample_weights(x)) → the same, or where update got no sample weights, count_ids.

Without sample weights `sample_weights(x)` is ones of x's shape, so the weighted count is the count: the
confusion-matrix and stat-score specs (and any spec that counts ids under Keras' weighting) made a tensor of ones
and summed it on every unweighted call. This pass writes the call as a choice on `has_sample_weight()`, a
constant when the metric is traced (a Python `if`), whose unweighted branch counts the ids without weights: on
the torchmetrics target one integer bincount.

A sum (`sum`, `segment_sum`, a bincount's weights) of `sample_weights(x) * v`, where the IR shows v made
element-wise from x, is a sum of v without weights: ones of x's shape times v are v exactly (NaN and infinities
too), and v's shape is the product's (x's broadcast with the others'). An explained variance's four weighted
sums of a [65,536, 1] batch made four products with ones for nothing (3.4× torchmetrics' time, 1.4× without).
Where the IR does not show it (v a column beside a matrix x, or 0-d), the product stays: v alone would sum
fewer elements.

A segment sum of ones of the ids themselves (`segment_sum(ones_like(group), group, n)`, a retrieval metric's
documents per query) is their count, in either scope: one bincount where ones and an index_add were three ops.

The weights may be reshaped on the way (`reshape(sample_weights(labels), [-1])`, as the ids are): a reshape keeps
the elements, so they are still all ones. Applies to the targets whose column of the function table has
`count_ids` (the torchmetrics target; the others sum ones in a segment sum either way, and under `tf.function`
or `jax.jit` the ones are a constant XLA folds).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Optional

from .. import ir
from ..analysis.shapes import ELEMENT_WISE
from ..types import static

if TYPE_CHECKING:
    from ..targets.base import Target


PRODUCES = "count_ids"
# the sums whose weighted values the pass reads, and the argument that holds them
_SUMS = {"bincount": "weights", "segment_sum": "data", "sum": "x"}


def applies_to(target: "Target") -> bool:
    return PRODUCES in target.column


def _sample_weights(
    e: Optional[ir.Expr], definitions: dict[str, ir.Expr], through_reshape: bool = True
) -> Optional[ir.Apply]:
    """The `sample_weights(x)` call that ``e`` is (a definition that is one, or, ``through_reshape``, one
    reshaped: the same elements, another shape), or None."""
    while True:
        if isinstance(e, ir.Ref) and e.kind == "local" and e.name in definitions:
            e = definitions[e.name]
        elif through_reshape and isinstance(e, ir.Apply) and e.function == "reshape":
            e = e.arg("x")
        else:
            return e if isinstance(e, ir.Apply) and e.function == "sample_weights" else None


def _broadcast_from(v: ir.Expr, x: ir.Expr, definitions: dict[str, ir.Expr], depth: int = 0) -> bool:
    """Whether the IR shows that ``v`` is made element-wise from ``x`` (among others): its shape is then x's
    broadcast with theirs, which x's own broadcasts to, so ones of x's shape times v are v."""
    if v == x:
        return True
    if depth > 64:
        return False
    if isinstance(v, ir.Ref) and v.kind == "local" and v.name in definitions:
        definition = definitions[v.name]
        return ir.update_condition(definition)[0] is None and _broadcast_from(definition, x, definitions, depth + 1)
    if isinstance(v, ir.Operator) and len(v.operands) > 1 and v.op not in ("and", "or"):
        parts: tuple = v.operands
    elif isinstance(v, ir.Cast) or (isinstance(v, ir.Operator) and v.op == "neg"):
        parts = (v.x,) if isinstance(v, ir.Cast) else v.operands
    elif isinstance(v, ir.Apply) and v.function in ELEMENT_WISE:
        parts = tuple(value for _, value in v.args if value is not None and value.type.is_tensor)
    else:
        return False
    return any(_broadcast_from(part, x, definitions, depth + 1) for part in parts)


def _weighted_value(e: Optional[ir.Expr], definitions: dict[str, ir.Expr]) -> Optional[ir.Expr]:
    """v, where ``e`` is `sample_weights(x) * v` (either way round), v has the product's dtype, and the IR shows
    that v has the product's shape (it is made element-wise from x): a column v beside a matrix x would broadcast
    the product to x's shape, and v alone would sum fewer elements."""
    if not (isinstance(e, ir.Operator) and e.op == "*"):
        return None
    for factor, value in (e.operands, e.operands[::-1]):
        # not through a reshape: the weights' shape is what the proof below compares v's with
        weights = _sample_weights(factor, definitions, through_reshape=False)
        if weights is not None and value.type == e.type and _broadcast_from(value, weights.arg("x"), definitions):
            return value
    return None


def run(metric: ir.Metric) -> ir.Metric:
    definitions = dict(metric.update_locals)

    def split(e: ir.Expr) -> ir.Expr:
        if not (isinstance(e, ir.Apply) and e.function in _SUMS):
            return e
        weights = e.arg(_SUMS[e.function])
        if e.function == "bincount" and _sample_weights(weights, definitions) is not None:
            unweighted = dataclasses.replace(
                e, function=PRODUCES, args=(("x", e.arg("x")), ("length", e.arg("length")))
            )
        elif (value := _weighted_value(weights, definitions)) is not None:
            unweighted = dataclasses.replace(
                e, args=tuple((k, value if k == _SUMS[e.function] else v) for k, v in e.args)
            )
        else:
            return e
        return ir.Select(e.type, ir.HasSampleWeight(static("bool")), e, unweighted)

    # update only: has_sample_weight() means nothing in the result (and sample_weights cannot appear there)
    metric = dataclasses.replace(
        metric,
        update_locals=[(name, ir.rewrite(expr, split)) for name, expr in metric.update_locals],
        updates=[(state, ir.rewrite(expr, split)) for state, expr in metric.updates],
    )
    return ir.map_expressions(metric, _count_of_ones)


def _count_of_ones(e: ir.Expr) -> ir.Expr:
    """segment_sum(ones_like(ids), ids, n) → count_ids(ids, n), in the sum's dtype (the ids': counted exactly)."""
    if not (isinstance(e, ir.Apply) and e.function == "segment_sum"):
        return e
    data, ids = e.arg("data"), e.arg("ids")
    if not (isinstance(data, ir.Apply) and data.function == "ones_like" and data.arg("x") == ids):
        return e
    return dataclasses.replace(e, function=PRODUCES, args=(("x", ids), ("length", e.arg("num_segments"))))
