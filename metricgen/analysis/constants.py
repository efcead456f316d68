"""Constant arithmetic, bounded when the spec is built, so that a spec cannot hide a run-time failure or an
unbounded computation in it: `(-1) ** 0.5`, `10.0 ** 400`, `n ** 999999999 % 7 + 1`, a negative dimension, a
state of 10¹² elements, a count of 10¹² hidden behind a `let` or a branch.

A constant's bound is the interval of values it can take when the metric runs (docs/limits.md):
- a param is taken at its default (the generated constructor checks each param's own min/max when the metric is
  made); a branch its default selects is followed (`k if k is not None else 100000` with k null is 100000, a str
  param is compared with a string at its default);
- what is decided only when the metric is traced (`rank()`, `has_sample_weight()`) may go either way: both
  branches count, and the bound is the larger;
- a `let` is bounded through its definition (once: each definition's bound is kept); a state's size along an
  axis is the bound of that dimension;
- a size the caller gives (an input's, which shapes a state on the first batch; a required int param; the length
  of a required list param) counts as 1, or the param's min: the cost then grows with what the caller asks for.
  A test on it may go either way, and it may only be added, multiplied by what is not negative, reduced by a
  constant or divided by a positive constant (subtracted, a divisor or an exponent, a larger value could cost
  more, so it is not bounded);
- anything else (a named constant, a value read when the metric runs) is unknown, and unknown is never small: a
  count or a dimension must have a finite bound, or the spec is refused.

Limits (the cost model): an int power's exponent at most 64, ints within int64, floats finite, at most
METRICGEN_MAX_STATE_ELEMENTS (default 100,000,000) elements in one state variable and in a count.
"""

from __future__ import annotations

import math
import operator
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from .. import ir

Number = Union[int, float, bool]
MAX_EXPONENT = 64
INT_RANGE = 2**63
INF = math.inf


def max_elements() -> int:
    try:
        return int(os.environ.get("METRICGEN_MAX_STATE_ELEMENTS", "100000000"))
    except ValueError:
        return 100_000_000


class ConstantProblem(Exception):
    """Why a constant expression cannot be computed (the message completes 'this constant ...')."""


@dataclass(frozen=True)
class Bound:
    """Every value a constant can take lies between ``lo`` and ``hi`` (a str or None: lo == hi, that value).
    An end at ±inf is unknown, ``why`` says what made it so; ``caller`` names the size the caller gives that the
    bound counts at its least (see the module's docstring)."""

    lo: Any
    hi: Any
    why: str = ""
    caller: str = ""

    @property
    def known(self) -> bool:
        """One value, whatever the caller gives: the constant's value with params at their defaults."""
        return self.lo == self.hi and not self.caller

    @property
    def is_number(self) -> bool:
        return isinstance(self.lo, (int, float)) and isinstance(self.hi, (int, float))

    @property
    def finite(self) -> bool:
        return self.is_number and math.isfinite(self.lo) and math.isfinite(self.hi)


def exactly(value: Any) -> Bound:
    return Bound(value, value)


def unknown(why: str) -> Bound:
    return Bound(-INF, INF, why)


EITHER = Bound(False, True)  # a test decided when the metric runs


class Known:
    """What a bound may read besides literals: the params, the `let` definitions in reach and the state
    variables. Each definition is bounded once, however many paths lead to it."""

    def __init__(
        self,
        params: Mapping[str, ir.Param],
        definitions: Optional[Mapping[str, ir.Expr]] = None,
        states: Optional[Mapping[str, ir.State]] = None,
    ):
        self.params = params
        self.definitions = definitions if definitions is not None else {}
        self.states = states if states is not None else {}
        self.bounded: dict[str, Bound] = {}

    def definition(self, name: str) -> Bound:
        if name not in self.bounded:
            expr = self.definitions.get(name)
            self.bounded[name] = unknown(f"'{name}'") if expr is None else bounds(expr, self)
        return self.bounded[name]


def evaluate(expr: ir.Expr, known: Known) -> Optional[Number]:
    """The value of a constant expression with params at their defaults; None when it is not one value. Raises
    ConstantProblem when it overflows, is complex or would take unbounded work."""
    bound = bounds(expr, known)
    return bound.lo if bound.known and bound.is_number else None


def bounds(expr: ir.Expr, known: Known) -> Bound:
    """The values ``expr`` can take when the metric runs (see the module's docstring). Raises ConstantProblem
    where one of them overflows or would take unbounded work, or the value at the defaults is complex."""
    if isinstance(expr, ir.Literal):
        return exactly(expr.value)
    if isinstance(expr, ir.Ref):
        if expr.kind == "param":
            return _param(known.params.get(expr.name), expr.name)
        if expr.kind == "local":
            return known.definition(expr.name)
        return unknown(f"'{expr.name}', known only when the metric runs")
    if isinstance(expr, ir.Length):
        return _length(known.params.get(expr.name), expr.name)
    if isinstance(expr, ir.IsList):
        p = known.params.get(expr.name)
        return EITHER if p is None or p.required or p.default is None else exactly(isinstance(p.default, list))
    if isinstance(expr, ir.HasSampleWeight):
        return EITHER
    if isinstance(expr, ir.Rank):
        return Bound(0, INF, "rank(), known only when the metric is traced")
    if isinstance(expr, ir.InputDim):
        return Bound(1, 1, caller=f"the size of {expr.input}'s axis {expr.axis}")
    if isinstance(expr, ir.StateDim):
        state = known.states.get(expr.state)
        if state is None or not -len(state.shape) <= expr.axis < len(state.shape):
            return unknown(f"the size of '{expr.state}'")
        return bounds(state.shape[expr.axis], known)
    if isinstance(expr, ir.Select):
        for branch, other in ((expr.then, expr.orelse), (expr.orelse, expr.then)):
            if isinstance(branch, ir.Literal) and branch.value is None:
                return bounds(other, known)  # a definition guarded by `k is not None`: read only where it holds
        cond = bounds(expr.cond, known)
        if cond.known:
            return bounds(expr.then if cond.lo else expr.orelse, known)
        return _union(bounds(expr.then, known), bounds(expr.orelse, known))
    if isinstance(expr, ir.Operator) and expr.type.is_static:
        return _operator(expr, known)
    return unknown("a value known only when the metric runs")


# -- the leaves -------------------------------------------------------------------------------------------------


def _param(p: Optional[ir.Param], name: str) -> Bound:
    if p is None:
        return unknown(f"'{name}'")
    if not p.required and p.default is not None:
        return exactly(p.default)
    # the caller gives it: a required param, or one None by default read where it is known not to be None
    if p.type == "bool":
        return EITHER
    if p.type == "int":
        least = _least_size(p)
        return Bound(least, least, caller=f"param '{name}' (the caller gives it)")
    return unknown(f"param '{name}', which the caller gives")


def _length(p: Optional[ir.Param], name: str) -> Bound:
    if p is None:
        return unknown(f"len({name})")
    if p.required or p.default is None:
        return Bound(1, 1, caller=f"len({name}) (the caller gives {name})")
    return exactly(len(p.default) if isinstance(p.default, list) else 1)  # a number is a list of one


def _none_test(op: str, param: Optional[ir.Param]) -> Bound:
    """`p is None` / `p is not None`: decided by the default (a required param may be given None or not)."""
    if param is None or param.required:
        return EITHER
    return exactly((param.default is None) == (op == "is"))


def _least_size(p: ir.Param) -> int:
    """What a required int param counts as: 1, or its min where that is larger (every caller gives that much)."""
    return max(1, math.ceil(p.min)) if p.min is not None else 1


def _union(a: Bound, b: Bound) -> Bound:
    if a.lo == b.lo and a.hi == b.hi and type(a.lo) is type(b.lo):
        return Bound(a.lo, a.hi, a.why or b.why, a.caller or b.caller)
    a, b = _number(a), _number(b)
    return Bound(min(a.lo, b.lo), max(a.hi, b.hi), a.why or b.why, a.caller or b.caller)


def _number(b: Bound) -> Bound:
    """``b`` where a number is needed: a str or None (a branch the defaults do not take) is unknown."""
    return b if b.is_number else unknown(b.why or "a value that is not a number")


# -- operators --------------------------------------------------------------------------------------------------

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt}
_COMPARE[">="] = operator.ge


def _operator(expr: ir.Operator, known: Known) -> Bound:
    op, operands = expr.op, expr.operands
    if op in ("and", "or"):
        return _logical(op, operands, known)
    if op in ("is", "is not"):
        tested = operands[0]
        return _none_test(op, known.params.get(tested.name) if isinstance(tested, ir.Ref) else None)
    values = [bounds(o, known) for o in operands]
    if op == "not":
        return exactly(not values[0].lo) if values[0].known else EITHER
    if op in _COMPARE:
        return _compare(op, *values)
    if all(v.known and v.is_number for v in values):  # one value: computed exactly, as the metric will
        return exactly(_apply(op, [v.lo for v in values]))
    if op in ("neg", "pos"):
        return _unary(op, values[0])
    integral = all(o.type.dtype in ("int", "bool") for o in operands)
    return _arithmetic(op, _number(values[0]), _number(values[1]), integral)


def _logical(op: str, operands: tuple[ir.Expr, ...], known: Known) -> Bound:
    """`and` / `or` as Python reads them: an operand that decides stops the rest from being read (a test of a
    param against None guards what follows it)."""
    deciding = op == "or"  # the value that decides an `or`; `and` stops on False
    result = exactly(not deciding)
    for operand in operands:
        value = bounds(operand, known)
        if value.known and bool(value.lo) == deciding:
            return exactly(deciding)
        if not value.known:
            result = EITHER
    return result


def _compare(op: str, a: Bound, b: Bound) -> Bound:
    if a.known and b.known:
        return exactly(_COMPARE[op](a.lo, b.lo))
    if a.caller or b.caller or not (a.is_number and b.is_number):
        return EITHER  # a caller's size may be anything: the test may go either way
    below, above = a.hi < b.lo, a.lo > b.hi  # every a below every b, or above
    always, never = {
        "<": (below, a.lo >= b.hi),
        "<=": (a.hi <= b.lo, above),
        ">": (above, a.hi <= b.lo),
        ">=": (a.lo >= b.hi, below),
        "==": (False, below or above),
        "!=": (below or above, False),
    }[op]
    return exactly(True) if always else exactly(False) if never else EITHER


def _unary(op: str, a: Bound) -> Bound:
    a = _number(a)
    if op == "pos":
        return a
    if a.caller:
        return _shrinks(a)
    return Bound(-a.hi, -a.lo, a.why)


def _shrinks(a: Bound) -> Bound:
    return unknown(f"{a.caller}, used where its least value is not the least cost (subtracted, a divisor, a power)")


def _arithmetic(op: str, a: Bound, b: Bound, integral: bool) -> Bound:
    """``a op b`` over every value of each: the least and the largest result."""
    why, caller = a.why or b.why, a.caller or b.caller
    if b.caller and op in ("-", "/", "//", "%", "**"):
        return _shrinks(b)
    if a.caller and (op == "**" or (op == "*" and b.lo < 0) or (op in ("/", "//", "%") and b.lo <= 0)):
        return _shrinks(a)
    if b.caller and op == "*" and a.lo < 0:
        return _shrinks(b)
    if op == "**":
        ends = _power_range(a, b, integral)
    elif op in ("/", "//"):
        ends = _quotient_range(a, b, integral, floor=op == "//")
    elif op == "%":
        ends = _remainder_range(a, b)
    elif op == "+":
        ends = a.lo + b.lo, a.hi + b.hi
    elif op == "-":  # the ends that meet are never inf - inf: a lower end is never +inf, an upper never -inf
        ends = a.lo - b.hi, a.hi - b.lo
    else:
        corners = [_times(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        ends = min(corners), max(corners)
    if ends is not None and any(isinstance(end, float) and math.isnan(end) for end in ends):
        ends = None  # NaN compares false with everything: taken for an end, it would make any bound look small
    if ends is None:
        return unknown(why or f"a '{op}' whose result the spec does not bound (a fraction, or near a division by 0)")
    lo, hi = ends
    if a.finite and b.finite:  # a failure any of these values would meet when the metric runs
        lo, hi = _checked(lo), _checked(hi)
    if math.isinf(lo) or math.isinf(hi):
        why = why or "a value that cannot be bounded"
    return Bound(lo, hi, why, caller)


def _times(x: Number, y: Number) -> Number:
    return 0 if x == 0 or y == 0 else x * y  # 0 × unknown is 0


def _quotient_range(a: Bound, b: Bound, integral: bool, floor: bool) -> Optional[tuple[Number, Number]]:
    """a / b (or a // b), where a denominator of 0 gives 0 as the language divides."""
    if b.lo == b.hi == 0:
        return 0, 0
    parts = []  # the denominator's ranges of one sign, and 0 where it may be 0
    if b.lo > 0 or b.hi < 0:
        parts.append((b.lo, b.hi))
    elif not integral:
        return None  # a float denominator as close to 0 as it likes
    else:
        parts += [(b.lo, -1)] if b.lo < 0 else []
        parts += [(1, b.hi)] if b.hi > 0 else []
    ends = [0] if not (b.lo > 0 or b.hi < 0) else []
    for lo, hi in parts:
        ends += [_divide(x, y, floor) for x in (a.lo, a.hi) for y in (lo, hi)]
    if any(math.isnan(e) for e in ends):
        return None
    return min(ends), max(ends)


def _divide(x: Number, y: Number, floor: bool) -> Number:
    if not floor:
        return x / y
    if math.isfinite(x) and math.isfinite(y) and isinstance(x, int) and isinstance(y, int):
        return x // y  # exact: a float would round a large int
    q = x / y
    return q if math.isinf(q) or math.isnan(q) else math.floor(q)


def _remainder_range(a: Bound, b: Bound) -> tuple[Number, Number]:
    """a % b: Python's remainder takes the denominator's sign and is smaller than it (0 for a denominator of
    0); a non-negative a divided by a positive b leaves at most a."""
    if b.lo > 0:
        return 0, (min(a.hi, b.hi) if a.lo >= 0 else b.hi)
    if b.hi < 0:
        return b.lo, 0
    return min(b.lo, 0), max(b.hi, 0)


def _power_range(a: Bound, b: Bound, integral: bool) -> Optional[tuple[Number, Number]]:
    largest = max(abs(a.lo), abs(a.hi))
    if integral and largest > 1 and b.hi > MAX_EXPONENT:
        if math.isinf(b.hi):
            raise ConstantProblem(f"raises to a power that cannot be bounded when the spec is built ({b.why})")
        raise ConstantProblem(f"may raise to the power {b.hi}, more than {MAX_EXPONENT}")
    if b.lo < 0 or (a.lo < 0 and not integral):
        return None  # a fraction, or a complex number, somewhere in the range
    if a.lo >= 0:  # x ** y grows with x, and with y where x > 1 (shrinks where x < 1): the extremes are corners
        corners = [_raise(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return min(corners), max(corners)
    most = max(_raise(largest, b.hi), _raise(largest, b.lo), 1)
    return -most, most


def _raise(x: Number, y: Number) -> Number:
    try:
        return x**y
    except OverflowError:
        return INF


def _apply(op: str, values: list) -> Any:
    if op == "neg":
        return _checked(-values[0])
    if op == "pos":
        return values[0]
    a, b = values
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
        if abs(a) > 1 and b > MAX_EXPONENT:  # checked before any work: (-3) ** 10**9 is refused at once too
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
