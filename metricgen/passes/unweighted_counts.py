"""bincount(ids, n, weights=sample_weights(x)) → the same, or where update got no sample weights, count_ids.

Without sample weights `sample_weights(x)` is ones of x's shape, so the weighted count is the count: the
confusion-matrix and stat-score specs (and any spec that counts ids under Keras' weighting) made a tensor of ones
and summed it on every unweighted call. This pass writes the call as a choice on `has_sample_weight()`, a
constant when the metric is traced (a Python `if`), whose unweighted branch counts the ids without weights: on
the torchmetrics target one integer bincount. A bincount whose weights are `sample_weights(x) * v` (v made
element-wise from x) sums v where no weights came, as passes/unweighted_sums does for the other sums.

A segment sum of ones of the ids themselves (`segment_sum(ones_like(group), group, n)`, a retrieval metric's
documents per query) is their count, in either scope: one bincount where ones and an index_add were three ops.

The weights may be reshaped on the way (`reshape(sample_weights(labels), [-1])`, as the ids are): a reshape keeps
the elements, so they are still all ones. Applies to the targets whose column of the function table has
`count_ids` (the torchmetrics target; the others sum ones in a segment sum either way, and under `tf.function`
or `jax.jit` the ones are a constant XLA folds).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .. import ir
from .unweighted_sums import in_update, unless_weighted, unweighted, weighted_value, weights_shape

if TYPE_CHECKING:
    from ..targets.base import Target


PRODUCES = ("count_ids", "sum_of_ones")


def applies_to(target: "Target") -> bool:
    return all(function in target.column for function in PRODUCES)


def run(metric: ir.Metric) -> ir.Metric:
    definitions = dict(metric.update_locals)

    def split(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Apply) and e.function == "sum":
            shaped_as = weights_shape(e.arg("x"), definitions)
            if shaped_as is None:
                return e
            return unless_weighted(
                e, dataclasses.replace(e, function="sum_of_ones", args=(("x", shaped_as), *e.args[1:]))
            )
        if not (isinstance(e, ir.Apply) and e.function == "bincount"):
            return e
        weights = e.arg("weights")
        if weights_shape(weights, definitions) is not None:  # the weights themselves, reshaped or not
            counted = dataclasses.replace(
                e, function="count_ids", args=(("x", e.arg("x")), ("length", e.arg("length")))
            )
            return unless_weighted(e, counted)
        value = weighted_value(weights, definitions)
        return e if value is None else unweighted(e, "weights", value)

    return ir.map_expressions(in_update(metric, split), _count_of_ones)


def _count_of_ones(e: ir.Expr) -> ir.Expr:
    """segment_sum(ones_like(ids), ids, n) → count_ids(ids, n), in the sum's dtype (the ids': counted exactly)."""
    if not (isinstance(e, ir.Apply) and e.function == "segment_sum"):
        return e
    data, ids = e.arg("data"), e.arg("ids")
    if not (isinstance(data, ir.Apply) and data.function == "ones_like" and data.arg("x") == ids):
        return e
    return dataclasses.replace(e, function="count_ids", args=(("x", ids), ("length", e.arg("num_segments"))))
