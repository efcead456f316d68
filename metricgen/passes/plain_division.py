"""a / b where b can never be 0 → plain division, without divide_no_nan's test.

`/` in the language gives 0 where the denominator is 0 (safe_div: tf.math.divide_no_nan, or a compare and a
select on the other targets), so that a metric with no data reads 0. Where the denominator is positive by its
form, `maximum(abs(y_true), 1.17e-6)` as torchmetrics' MAPE divides by, or `abs(x) + epsilon`, that test never
fires, and on an eager target it is two more passes over the batch. This pass writes those divisions as `a / b`.

Positive by form: a positive literal, pi, inf, a param whose declared `min` is above 0 (not its default: the
caller may give any value in range); maximum(x, p) with p positive; clip(x, p, hi); p + n with p positive and n non-negative (abs, square, sqrt, a non-negative literal or
constant, a sum of those). NaN stays NaN either way (NaN == 0 is false); exp and products are not counted, as
they can underflow to 0.

Applies to every target: a division of two float tensors is `/` on all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ir

if TYPE_CHECKING:
    from ..targets.base import Target

_FLOATS = ("float", "float16", "bfloat16", "float32", "float64")


def applies_to(target: "Target") -> bool:
    return True


def run(metric: ir.Metric) -> ir.Metric:
    params = {p.name: p for p in metric.params}

    def plain(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Apply) and e.function == "safe_div" and e.type.is_tensor:
            a, b = e.arg("a"), e.arg("b")
            if _positive(b, params):
                return ir.Operator(e.type, "/", (a, b))
        return e

    return ir.map_expressions(metric, plain)


def _positive(e: ir.Expr, params: dict) -> bool:
    if isinstance(e, ir.Literal):
        return isinstance(e.value, (int, float)) and not isinstance(e.value, bool) and e.value > 0
    if isinstance(e, ir.Ref) and e.kind == "constant":
        return e.name in ("pi", "inf")
    if isinstance(e, ir.Ref) and e.kind == "param":
        p = params.get(e.name)
        return p is not None and p.type in ("int", "float") and p.min is not None and p.min > 0
    if isinstance(e, ir.Cast):
        return e.type.dtype in _FLOATS and _positive(e.x, params)
    if isinstance(e, ir.Apply) and e.function == "maximum":
        return _positive(e.arg("a"), params) or _positive(e.arg("b"), params)
    if isinstance(e, ir.Apply) and e.function == "clip":
        return _positive(e.arg("lo"), params)
    if isinstance(e, ir.Operator) and e.op == "+":
        a, b = e.operands
        return (_positive(a, params) and _non_negative(b, params)) or (
            _positive(b, params) and _non_negative(a, params)
        )
    return False


def _non_negative(e: ir.Expr, params: dict) -> bool:
    if isinstance(e, ir.Literal):
        return isinstance(e.value, (int, float)) and not isinstance(e.value, bool) and e.value >= 0
    if isinstance(e, ir.Ref) and e.kind == "param":
        p = params.get(e.name)
        return p is not None and p.type in ("int", "float") and p.min is not None and p.min >= 0
    if isinstance(e, ir.Cast):
        return e.type.dtype in _FLOATS and _non_negative(e.x, params)
    if isinstance(e, ir.Apply) and e.function in ("abs", "square", "sqrt"):
        return True
    if isinstance(e, ir.Apply) and e.function == "maximum":
        return _non_negative(e.arg("a"), params) or _non_negative(e.arg("b"), params)
    if isinstance(e, ir.Operator) and e.op == "+":
        return all(_non_negative(x, params) for x in e.operands)
    return _positive(e, params)
