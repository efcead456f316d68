"""a / b where b can never be 0 → plain division, without divide_no_nan's test.

`/` in the language gives 0 where the denominator is 0 (safe_div: tf.math.divide_no_nan, or a compare and a
select on the other targets), so that a metric with no data reads 0. Where the denominator is positive by its
form, `maximum(abs(y_true), 1.17e-6)` as torchmetrics' MAPE divides by, or `abs(x) + epsilon`, that test never
fires, and on an eager target it is two more passes over the batch. This pass writes those divisions as `a / b`.

Positive by form: a literal at least SMALLEST (2**-24, the smallest float16: a smaller one may be 0 in the
metric's dtype), pi, inf, a param whose declared `min` is at least SMALLEST (not its default: the caller may give
any value in range); maximum(x, p) with p positive; one of these cast to a float (a retrieval metric's
`cast(maximum(count, 1), float)`; each is at least SMALLEST, so no float rounds it to 0); clip(x, lo, hi) with both
bounds positive; among floats, p + n with p positive and n non-negative (abs, square, sqrt, a non-negative literal
or constant, a sum of those: integers wrap); a definition that is one of these (RelativeSquaredError's
`rss / tss` with `tss: maximum(..., eps)`). NaN stays NaN either way (NaN == 0 is false); exp and products are
not counted, as they can underflow to 0.

Applies to every target: a division of two float tensors is `/` on all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ir

if TYPE_CHECKING:
    from ..targets.base import Target

_FLOATS = ("float", "float16", "bfloat16", "float32", "float64")
# the smallest positive float16 (a subnormal): a positive literal or param minimum below it may be 0 in the
# metric's dtype (1e-50 is 0 in float32, 1e-8 in float16, and a torchmetrics metric may be set_dtype'd to it)
SMALLEST = 2.0**-24


def applies_to(target: "Target") -> bool:
    return True


def run(metric: ir.Metric) -> ir.Metric:
    form = _Form({p.name: p for p in metric.params}, _definitions(metric))

    def plain(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Apply) and e.function == "safe_div" and e.type.is_tensor:
            a, b = e.arg("a"), e.arg("b")
            if form.above_zero(b, strict=True):
                # a number stays a Python number beside a tensor (as the language writes `x / 2`): the array
                # library gives it the tensor's dtype, and no tensor is made of it on every call
                if ir.cast_number(a) is None:
                    b = ir.cast_number(b) or b
                return ir.Operator(e.type, "/", (a, b))
        return e

    return ir.map_expressions(metric, plain)


def _definitions(metric: ir.Metric) -> dict[str, ir.Expr]:
    """The definitions of both scopes by name; a name the two scopes define differently is left out (a read
    of it may be either)."""
    definitions: dict[str, ir.Expr] = {}
    twice: set[str] = set()
    for name, expr in [*metric.update_locals, *metric.result_locals]:
        if definitions.get(name, expr) != expr:
            twice.add(name)
        definitions[name] = expr
    return {name: expr for name, expr in definitions.items() if name not in twice}


class _Form:
    """What the form of an expression shows of its sign, through the definitions it reads: each decided once
    (a chain of definitions that each read the one before twice is linear, not exponential), and no deeper
    than MAX_DEPTH (a longer chain is judged not positive, and keeps its test: never wrong, only slower)."""

    MAX_DEPTH = 200

    def __init__(self, params: dict, definitions: dict[str, ir.Expr]):
        self.params = params
        self.definitions = definitions
        self.decided: dict[tuple[str, bool], bool] = {}
        self.depth = 0

    def above_zero(self, e: ir.Expr, strict: bool) -> bool:
        """Whether ``e`` is > 0 (``strict``) or >= 0 by its form, whatever the inputs and the params in range."""
        if self.depth >= self.MAX_DEPTH:
            return False
        self.depth += 1
        try:
            return self._above_zero(e, strict)
        finally:
            self.depth -= 1

    def _above_zero(self, e: ir.Expr, strict: bool) -> bool:
        if isinstance(e, ir.Ref) and e.kind == "local" and e.name in self.definitions:
            key = (e.name, strict)
            if key not in self.decided:
                self.decided[key] = self.above_zero(self.definitions[e.name], strict)
            return self.decided[key]
        params = self.params
        if isinstance(e, ir.Literal):
            number = isinstance(e.value, (int, float)) and not isinstance(e.value, bool)
            return number and (e.value >= SMALLEST if strict else e.value >= 0)
        if isinstance(e, ir.Ref) and e.kind == "constant":
            return e.name in ("pi", "inf")
        if isinstance(e, ir.Ref) and e.kind == "param":
            p = params.get(e.name)
            return (
                p is not None
                and p.type in ("int", "float")
                and p.min is not None
                and (p.min >= SMALLEST if strict else p.min >= 0)
            )
        if isinstance(e, ir.Cast) and isinstance(e.x, ir.Literal) and e.type.is_int:
            return isinstance(e.x.value, int) and -(2**31) <= e.x.value < 2**31 and self.above_zero(e.x, strict)
        if isinstance(e, (ir.Cast, ir.Apply)) and (isinstance(e, ir.Cast) or e.function == "cast"):
            # `cast(maximum(count, 1), float)`: what is positive by form is at least SMALLEST, so it stays above 0
            # in any float (a cast to an int may truncate it to 0: not counted)
            return e.type.dtype in _FLOATS and self.above_zero(e.x if isinstance(e, ir.Cast) else e.arg("x"), strict)
        if isinstance(e, ir.Apply) and e.function == "maximum":
            return self.above_zero(e.arg("a"), strict) or self.above_zero(e.arg("b"), strict)
        if isinstance(e, ir.Apply) and e.function == "clip":
            # torch.clamp gives hi where hi < lo: both bounds count
            return self.above_zero(e.arg("lo"), strict) and self.above_zero(e.arg("hi"), strict)
        if e.type.dtype not in _FLOATS:
            return False  # below, integers wrap: abs(-2**31), a square or a sum past 2**31 may be 0 or less
        if isinstance(e, ir.Apply) and e.function in ("abs", "square", "sqrt"):
            return not strict
        if isinstance(e, ir.Operator) and e.op == "+":
            # a sum of non-negative terms is positive where one of them is
            non_negative = all(self.above_zero(x, strict=False) for x in e.operands)
            return non_negative and (not strict or any(self.above_zero(x, strict=True) for x in e.operands))
        return False
