"""sum(sample_weights(x) * v) → the same, or where update got no sample weights, sum(v).

Without sample weights `sample_weights(x)` is ones of x's shape, and a sum (`sum`, `segment_sum`, a bincount's
weights) of `sample_weights(x) * v`, where the IR shows v made element-wise from x, is a sum of v: ones of x's
shape times v are v exactly (NaN and infinities too), and v's shape is the product's (x's broadcast with the
others'). The pass writes the sum as a choice on `has_sample_weight()`, a constant when the metric is traced (a
Python `if`), whose unweighted branch sums v. The weights may be any factor of a product (`w * predicted *
y_true`, as FBetaScore writes it): the other factors, multiplied in their order, are v.

An explained variance's four weighted sums of a [65,536, 1] batch made four products with ones for nothing
(3.4× torchmetrics' time, 1.4× without); in graph mode on CPU, F1Score's four sums of a [65,536, C] batch filled
a tensor of ones and made four products with it (1.11× keras.metrics' time). Where the IR does not show the
shapes alike (v a column beside a matrix x, or 0-d), the product stays: v alone would sum fewer elements.

The weights may be reshaped on the way (`reshape(sample_weights(labels), [-1])`, as ids are) where a bincount
counts them (passes/unweighted_counts): a reshape keeps the elements, so they are still all ones. Applies to
every target: under `tf.function` without XLA the ones are a Fill and each product a kernel.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable, Optional

from .. import ir
from ..analysis.shapes import ELEMENT_WISE
from ..types import static

if TYPE_CHECKING:
    from ..targets.base import Target


# the sums whose weighted values the pass reads, and the argument that holds them
SUMS = {"segment_sum": "data", "sum": "x"}


def applies_to(target: "Target") -> bool:
    return True


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


def _factors(e: ir.Expr) -> list[ir.Expr]:
    """The factors of a product written `a * b * c` (each of the product's type), in their order."""
    if isinstance(e, ir.Operator) and e.op == "*" and all(part.type == e.type for part in e.operands):
        return [factor for part in e.operands for factor in _factors(part)]
    return [e]


def weighted_value(e: Optional[ir.Expr], definitions: dict[str, ir.Expr]) -> Optional[ir.Expr]:
    """v, where ``e`` is a product with a factor `sample_weights(x)` (anywhere in `a * b * c`) and v the product
    of the others, of the product's dtype, that the IR shows has the product's shape (it is made element-wise
    from x): a column v beside a matrix x would broadcast the product to x's shape, and v alone would sum fewer
    elements."""
    if not (isinstance(e, ir.Operator) and e.op == "*"):
        return None
    factors = _factors(e)
    for i, factor in enumerate(factors):
        shaped_as = weights_shape(factor, definitions)
        if shaped_as is None:
            continue
        rest = factors[:i] + factors[i + 1 :]
        value = rest[0]
        for other in rest[1:]:
            value = ir.Operator(e.type, "*", (value, other))
        if value.type == e.type and _broadcast_from(value, shaped_as, definitions):
            return value
    return None


def weights_shape(e: Optional[ir.Expr], definitions: dict[str, ir.Expr]) -> Optional[ir.Expr]:
    """Where ``e`` is `sample_weights(x)` (through definitions), x; where it is those weights reshaped
    (`reshape(sample_weights(y_true), [-1, n])`), x reshaped the same way: an expression of the weights' shape,
    which values made element-wise from it share (`t = reshape(y_true, [-1, n])`). None otherwise."""
    while isinstance(e, ir.Ref) and e.kind == "local" and e.name in definitions:
        e = definitions[e.name]
    if not isinstance(e, ir.Apply):
        return None
    if e.function == "sample_weights":
        return e.arg("x")
    if e.function == "reshape":
        inner = weights_shape(e.arg("x"), definitions)
        return None if inner is None else dataclasses.replace(e, type=inner.type, args=(("x", inner), *e.args[1:]))
    return None


def unweighted(e: ir.Expr, argument: str, value: ir.Expr) -> ir.Expr:
    """``e`` (a sum), or where update got no sample weights, the same sum of ``value`` as its ``argument``."""
    return unless_weighted(e, dataclasses.replace(e, args=tuple((k, value if k == argument else v) for k, v in e.args)))


def unless_weighted(e: ir.Expr, alternative: ir.Expr) -> ir.Expr:
    """``e`` where update got sample weights, ``alternative`` where it got none (a constant when traced)."""
    return ir.Select(e.type, ir.HasSampleWeight(static("bool")), e, alternative)


def run(metric: ir.Metric) -> ir.Metric:
    definitions = dict(metric.update_locals)

    def split(e: ir.Expr) -> ir.Expr:
        if not (isinstance(e, ir.Apply) and e.function in SUMS):
            return e
        value = weighted_value(e.arg(SUMS[e.function]), definitions)
        return e if value is None else unweighted(e, SUMS[e.function], value)

    return in_update(metric, split)


def in_update(metric: ir.Metric, change: Callable[[ir.Expr], ir.Expr]) -> ir.Metric:
    """``metric`` with ``change`` applied bottom-up to the update's expressions only: has_sample_weight() means
    nothing in the result (and sample_weights cannot appear there)."""
    return dataclasses.replace(
        metric,
        update_locals=[(name, ir.rewrite(expr, change)) for name, expr in metric.update_locals],
        updates=[(state, ir.rewrite(expr, change)) for state, expr in metric.updates],
    )
