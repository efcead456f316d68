"""Constant arithmetic, evaluated when the spec is built, so that a spec cannot hide a run-time failure or an
unbounded computation in it: `(-1) ** 0.5`, `10.0 ** 400`, `n ** 999999999 % 7 + 1`, a negative dimension, a
state of 10¹² elements.

Params are taken at their defaults (a param without a default, or whose default is None, is unknown and its
expression is not evaluated); the generated constructor checks each param's own bounds when the metric is made.
Limits (the cost model, README "Limits"): an int power's exponent at most 64, ints within int64, floats finite,
at most METRICGEN_MAX_STATE_ELEMENTS (default 100,000,000) elements in one state variable and in a count.
"""

from __future__ import annotations

import math
import os
from typing import Optional, Union

from .. import ir

Number = Union[int, float, bool]
MAX_EXPONENT = 64
INT_RANGE = 2**63


def max_elements() -> int:
    try:
        return int(os.environ.get("METRICGEN_MAX_STATE_ELEMENTS", "100000000"))
    except ValueError:
        return 100_000_000


class ConstantProblem(Exception):
    """Why a constant expression cannot be computed (the message completes 'this constant ...')."""


def evaluate(expr: ir.Expr, params: dict[str, ir.Param]) -> Optional[Number]:
    """The value of a constant (static) expression with params at their defaults; None when it depends on
    something unknown. Raises ConstantProblem when the value overflows, is complex or would take unbounded work."""
    if isinstance(expr, ir.Literal):
        return expr.value if isinstance(expr.value, (int, float, bool)) else None
    if isinstance(expr, ir.Ref):
        param = params.get(expr.name) if expr.kind == "param" else None
        if param is None or param.required or not isinstance(param.default, (int, float, bool)):
            return None
        return param.default
    if isinstance(expr, ir.Length):
        param = params.get(expr.name)
        return len(param.default) if param is not None and isinstance(param.default, list) else None
    if isinstance(expr, ir.Select):
        cond = evaluate(expr.cond, params)
        if cond is None:
            return None
        return evaluate(expr.then if cond else expr.orelse, params)
    if isinstance(expr, ir.Operator) and expr.type.is_static:
        values = [evaluate(o, params) for o in expr.operands]
        if any(v is None for v in values):
            return None
        return _apply(expr.op, values)
    return None


def _apply(op: str, values: list) -> Number:
    if op == "neg":
        return _checked(-values[0])
    if op == "pos":
        return values[0]
    if op == "not":
        return not values[0]
    if op in ("and", "or"):
        return all(values) if op == "and" else any(values)
    a, b = values
    if op in ("==", "!=", "<", "<=", ">", ">="):
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op in ("/", "//", "%") and b == 0:
        return 0  # as the language divides: 0 where the denominator is 0
    if op == "**":
        return _power(a, b)
    try:
        result = {
            "+": lambda: a + b,
            "-": lambda: a - b,
            "*": lambda: a * b,
            "/": lambda: a / b,
            "//": lambda: a // b,
            "%": lambda: a % b,
        }[op]()
    except OverflowError:
        raise ConstantProblem("is too large") from None
    return _checked(result)


def _power(a: Number, b: Number) -> Number:
    if isinstance(a, (int, bool)) and isinstance(b, (int, bool)) and b >= 0:
        if abs(a) > 1 and b > MAX_EXPONENT:
            raise ConstantProblem(f"raises to the power {b}, more than {MAX_EXPONENT}")
        return _checked(a**b)
    if a < 0 and not float(b).is_integer():
        raise ConstantProblem("is a complex number (a negative number to a fractional power)")
    if a == 0 and b < 0:
        raise ConstantProblem("divides by zero (0 to a negative power)")
    try:
        return _checked(float(a) ** float(b))
    except OverflowError:
        raise ConstantProblem("is too large") from None


def _checked(value: Number) -> Number:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConstantProblem("is too large" if math.isinf(value) else "is not a number")
    if isinstance(value, int) and not isinstance(value, bool) and not -INT_RANGE <= value < INT_RANGE:
        raise ConstantProblem("is too large for an int64")
    return value
