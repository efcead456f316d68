"""The analysed metric: typed expressions with every cast explicit, in the order they run.

The analyser builds this from a validated spec; the lowering turns it into code for one target. Nothing in
here refers to spec text any more: names are checked identifiers, numbers are Python numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Iterator, Optional, Union

from .errors import UNKNOWN, Location
from .types import Type, static


@dataclass(frozen=True)
class Expr:
    type: Type


@dataclass(frozen=True)
class Literal(Expr):
    value: Union[int, float, bool]


@dataclass(frozen=True)
class Ref(Expr):
    """A named value: kind is input | local | state | param | constant."""

    kind: str
    name: str


@dataclass(frozen=True)
class Cast(Expr):
    """``x`` as a tensor of ``type.dtype`` (x may be a constant, a list param, or a tensor of another dtype)."""

    x: Expr


@dataclass(frozen=True)
class Operator(Expr):
    """A Python operator: + - * / // % ** == != < <= > >= and or not neg pos."""

    op: str
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Select(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(frozen=True)
class Apply(Expr):
    """A registry function applied to arguments (tensor arguments already cast as the function needs)."""

    function: str
    args: tuple[tuple[str, Optional[Expr]], ...]  # in signature order; None = left at its default
    loc: Location = field(default=UNKNOWN, compare=False)  # where the call is written, for a target's refusal

    def arg(self, name: str) -> Optional[Expr]:
        return dict(self.args)[name]


@dataclass(frozen=True)
class CallParam(Expr):
    """A call of a `callable` param: its result is cast to ``type.dtype``."""

    name: str
    args: tuple[Expr, ...]
    forward_kwargs: bool = False  # the constructor's other keyword arguments follow the args


@dataclass(frozen=True)
class Length(Expr):
    name: str
    or_number: bool = False  # a float|list[float] param: one number counts as a list of one


@dataclass(frozen=True)
class InputDim(Expr):
    """The size of an update input along an axis, known when the metric sees its first batch: a dimension of
    a state shaped by that batch (Keras' `_build`, as F1Score's state is sized by y_pred's last axis)."""

    input: str
    axis: int


@dataclass(frozen=True)
class Filled(Expr):
    """`filled(samples)`: which rows of a sample buffer hold data, a bool vector of its capacity."""

    state: str
    capacity: Expr


@dataclass(frozen=True)
class StateDim(Expr):
    """The size of a state variable along an axis: a constant once the variable exists (it may size a
    segment_sum or a reshape, as `num_thresholds * shape(positives, -1)` does for AUC's labels)."""

    state: str
    axis: int


@dataclass(frozen=True)
class IsList(Expr):
    """Whether a float|list[float] param was given a list (a constant: the constructor's argument)."""

    name: str


@dataclass(frozen=True)
class HasSampleWeight(Expr):
    """Whether update_state got sample weights: a constant when the metric is traced."""


@dataclass(frozen=True)
class Rank(Expr):
    """The number of axes of a tensor: a constant when the metric is traced (a branch on it is chosen then)."""

    x: Expr


@dataclass(frozen=True)
class AtConstruction(Expr):
    """A value of the params alone, computed once by the constructor and kept as ``self._<name>`` (Keras'
    Precision decides so whether its thresholds are evenly spread): a branch chosen on it is chosen in Python,
    so only that branch is traced. ``guards`` are the params' tests under which the update reads it; where one
    fails it is False, unread (``len(thresholds)`` is no test of thresholds None)."""

    name: str
    expr: Expr
    guards: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class TupleOf(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class DTypeName(Expr):
    name: str


@dataclass(frozen=True)
class Slice:
    lower: Optional[Expr]
    upper: Optional[Expr]
    step: Optional[Expr]


@dataclass(frozen=True)
class Subscript(Expr):
    value: Expr
    items: tuple[Union[Expr, Slice, str], ...]  # str: "None" (new axis) or "..."


def none_comparison(param: Expr, op: str) -> Operator:
    """`param is None` (op "is") or `param is not None` (op "is not"): a constant, decided by the constructor."""
    return Operator(static("bool"), op, (param, Literal(static("none"), None)))  # type: ignore[arg-type]


_OPPOSITES = {"is": "is not", "is not": "is", "==": "!=", "!=": "=="}


def negated(test: Expr) -> Expr:
    """A constant test, not holding, written as a reader would: `p is not None` for `p is None`, `a != b` for
    `a == b`, `c` for `not c`, else `not (test)`."""
    if isinstance(test, Operator) and test.op in _OPPOSITES:
        return replace(test, op=_OPPOSITES[test.op])
    if isinstance(test, Operator) and test.op == "not":
        return test.operands[0]
    return Operator(static("bool"), "not", (test,))


def cast_number(expr: Optional[Expr]) -> Optional[Expr]:
    """The static number (bool, int or float: a literal, a constant, a param) that ``expr`` makes a tensor of,
    where ``expr`` is such a cast; else None."""
    if isinstance(expr, Cast) and expr.x.type.is_static and expr.x.type.dtype in ("bool", "int", "float"):
        return expr.x
    return None


def walk(expr: Expr) -> Iterator[Expr]:
    """The expression and every expression inside it (slice bounds and function arguments included)."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def children(expr: Expr) -> Iterator[Expr]:
    """The expressions directly inside ``expr``."""
    for value in vars(expr).values():
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, tuple):
                item = item[1]
            if isinstance(item, Slice):
                yield from (b for b in (item.lower, item.upper, item.step) if b is not None)
            elif isinstance(item, Expr):
                yield item


def states_read(exprs) -> set[str]:
    """The names of the state variables ``exprs`` read (a buffer's filled rows included)."""
    return {
        e.name if isinstance(e, Ref) else e.state
        for expr in exprs
        for e in walk(expr)
        if (isinstance(e, Ref) and e.kind == "state") or isinstance(e, Filled)
    }


def reads_state(exprs) -> bool:
    """Whether any of ``exprs`` reads a state variable."""
    return bool(states_read(exprs))


def update_condition(update: Expr) -> tuple[Optional[Expr], Expr]:
    """A state's update as (the params' condition under which the state is updated, the value folded in): a
    spec's `value if c else None` is ``Select(c, value, None)``; (None, update) for one made on every batch."""
    if isinstance(update, Select) and isinstance(update.orelse, Literal) and update.orelse.value is None:
        return update.cond, update.then
    return None, update


def rewrite(expr: Expr, change: Callable[[Expr], Expr]) -> Expr:
    """``expr`` rebuilt bottom-up, each node passed through ``change`` once its children are rewritten."""
    return change(map_children(expr, lambda child: rewrite(child, change)))


def map_children(expr: Expr, change: Callable[[Expr], Expr]) -> Expr:
    """``expr`` with ``change`` applied to each expression directly inside it (the same node if none changes):
    a pass that carries what it knows down the tree (the params' tests a branch is under) recurses with it."""

    def item(value: Any) -> Any:
        if isinstance(value, Expr):
            return change(value)
        if isinstance(value, Slice):
            return Slice(*(None if b is None else change(b) for b in (value.lower, value.upper, value.step)))
        if isinstance(value, tuple) and len(value) == 2:
            return (value[0], None if value[1] is None else change(value[1]))  # Apply.args entries
        return value

    changes = {}
    for f in fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, tuple):
            new = tuple(item(v) for v in value)
        else:
            new = item(value)
        if new is not value and new != value:
            changes[f.name] = new
    return replace(expr, **changes) if changes else expr


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool
    default: Any
    doc: str
    min: Any = None
    max: Any = None
    choices: Optional[list[str]] = None
    nullable: bool = False  # None allowed besides a default that is not None
    forward_kwargs: bool = False  # a callable: the constructor's other keyword arguments are passed to it
    loc: Location = field(default=UNKNOWN, compare=False)

    @property
    def optional(self) -> bool:
        """Whether the param may be None."""
        return self.nullable or (not self.required and self.default is None)

    @property
    def kwargs_attribute(self) -> str:
        """Where the keyword arguments forwarded to this callable are kept."""
        return f"{self.name}_kwargs"


@dataclass(frozen=True)
class Input:
    name: str
    dtype: str
    shape: Optional[tuple[Optional[Expr], ...]]  # None: unchecked; an entry None: any size
    leading_ellipsis: bool
    doc: str
    same_rank_as: Optional[str] = None
    rank_offset: int = 0  # with same_rank_as: the rank this input is brought to, relative to the other's
    loc: Location = field(default=UNKNOWN, compare=False)


@dataclass(frozen=True)
class Check:
    """A spec's `checks:` entry: a condition over params (a constant bool) and the error where it fails."""

    require: Expr
    message: tuple[tuple[str, Optional[str]], ...]  # (text, the param whose value follows it, or None)


@dataclass(frozen=True)
class State:
    name: str
    shape: tuple[Expr, ...]
    dtype: str
    init: Union[int, float, bool]
    fold: str
    doc: str
    loc: Location = field(default=UNKNOWN, compare=False)
    # a sample buffer whose unfilled rows the result ignores (`unfilled: ignored`): a target may read it as the
    # rows it holds
    unfilled_ignored: bool = False

    @property
    def mergeable(self) -> bool:
        return self.fold in ("add", "max", "min", "append")

    @property
    def is_buffer(self) -> bool:
        """A sample buffer: ``shape[0]`` rows (its capacity), filled from the first; ``rows_variable`` counts
        the rows it was given."""
        return self.fold == "append"

    @property
    def rows_variable(self) -> str:
        return f"{self.name}_rows"

    @property
    def shaped_by_batch(self) -> bool:
        """Whether a dimension is an input's size: the variable is made by the first update, not __init__."""
        return any(isinstance(e, InputDim) for d in self.shape for e in walk(d))


@dataclass(frozen=True)
class ListSize:
    """A list param that meets an input in an element-wise operation: its entries line up with the input's
    ``axis``, so its length must be the input's size there (or that size 1, which broadcasts)."""

    param: str
    input: str
    axis: int = -1


@dataclass
class Metric:
    spec_path: str
    name: str
    class_name: str
    description: str
    package: str
    params: list[Param]
    inputs: list[Input]
    states: list[State]
    update_locals: list[tuple[str, Expr]]
    updates: list[tuple[State, Expr]]
    result_locals: list[tuple[str, Expr]]
    result: Expr
    examples: list[Any] = field(default_factory=list)
    uses_sample_weight: bool = False
    higher_is_better: Optional[bool] = None
    list_sizes: list[ListSize] = field(default_factory=list)  # checked by the update
    checks: list[Check] = field(default_factory=list)  # checked by the constructor

    @property
    def batch_shaped(self) -> list[State]:
        """The state variables made by the first update (a shape names an input's size)."""
        return [s for s in self.states if s.shaped_by_batch]

    def expressions(self) -> Iterator[Expr]:
        """Every top-level expression: update definitions and values, result definitions and value."""
        yield from (e for _, e in self.update_locals)
        yield from (e for _, e in self.updates)
        yield from (e for _, e in self.result_locals)
        yield self.result


def map_expressions(
    metric: Metric, change: Callable[[Expr], Expr], result_change: Optional[Callable[[Expr], Expr]] = None
) -> Metric:
    """``metric`` with ``change`` applied bottom-up to every node of every expression (see :func:`rewrite`);
    ``result_change``, where given, to the result's (a pass that reads definitions by name: each scope's
    references are to its own)."""
    in_result = change if result_change is None else result_change

    def each(pairs: list, change: Callable[[Expr], Expr]) -> list:
        return [(name, rewrite(expr, change)) for name, expr in pairs]

    return replace(
        metric,
        update_locals=each(metric.update_locals, change),
        updates=each(metric.updates, change),
        result_locals=each(metric.result_locals, in_result),
        result=rewrite(metric.result, in_result),
    )
