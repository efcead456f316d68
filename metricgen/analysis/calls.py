"""Calls: a callable param, len(), or a function of the table — arguments bound by name, checked against
their kinds, cast to what the function needs, and the result typed by the function's rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from .. import ir
from .. import syntax as syn
from ..errors import Location, did_you_mean
from ..functions import DTYPE_NAMES, REGISTRY, STATIC_FUNCTIONS, Function, Kind, Resolved
from ..types import FLOAT, Type, float_of, promote, static, tensor, tensor_dtype_of
from . import constants
from .scopes import Scope
from .shapes import known_rank

if TYPE_CHECKING:
    from .scopes import Checker


def check_call(checker: "Checker", node: syn.Call, scope: Scope) -> ir.Expr:
    ctx, name = checker.ctx, node.func
    param = ctx.params.get(name)
    if param is not None and param.type == "callable":
        return _call_param(checker, node, scope, param)
    if name == "len":
        if len(node.args) != 1 or node.kwargs:
            raise ctx.fail("len() takes exactly one argument, a list param", node.loc)
        arg = node.args[0]
        if not (isinstance(arg, syn.Name) and arg.id in ctx.params and "list" in ctx.params[arg.id].type):
            raise ctx.fail("len() only applies to list params", arg.loc)
        checker.check(arg, scope)  # a param that may be None here is refused: len(None) would fail when it runs
        return ir.Length(static("int"), arg.id, ctx.params[arg.id].type == "float|list[float]")
    if name == "is_list":
        if len(node.args) != 1 or node.kwargs:
            raise ctx.fail("is_list() takes exactly one argument, a float|list[float] param", node.loc)
        arg = node.args[0]
        if not (isinstance(arg, syn.Name) and arg.id in ctx.params and ctx.params[arg.id].type == "float|list[float]"):
            raise ctx.fail("is_list() applies to float|list[float] params", arg.loc)
        return ir.IsList(static("bool"), arg.id)
    if name == "has_sample_weight":
        if node.args or node.kwargs:
            raise ctx.fail("has_sample_weight() takes no arguments", node.loc)
        if scope.part != "update":
            raise ctx.fail("has_sample_weight() can only be used under update:", node.loc)
        ctx.uses_sample_weight = True
        return ir.HasSampleWeight(static("bool"))
    if name == "shape" and scope.part == "shape":
        return _input_dim(checker, node, scope)
    if name == "shape" and node.args and isinstance(node.args[0], syn.Name) and node.args[0].id in ctx.spec.state:
        if node.args[0].id in scope.bindings and scope.bindings[node.args[0].id].kind == "state":
            return _state_dim(checker, node, scope)
    if name == "filled":
        return _filled(checker, node, scope)
    if name == "rank":
        if len(node.args) != 1 or node.kwargs:
            raise ctx.fail("rank() takes exactly one argument, a tensor", node.loc)
        if scope.part == "shape":
            raise ctx.fail(
                "rank() cannot size a state: a state's shape is fixed, and inputs of another rank may follow",
                node.loc,
                "choose the shape by a bool param instead: `shape(y_pred, -1) if multiclass else 1`",
            )
        value = checker.check(node.args[0], scope)
        if not value.type.is_tensor:
            raise ctx.fail(f"rank() applies to tensors, not a {value.type}", node.args[0].loc)
        return ir.Rank(static("int"), value)
    function = REGISTRY.get(name)
    if function is None or function.internal:
        if name in scope.bindings or name in scope.local_sources:
            raise ctx.fail(f"'{name}' is not a function", node.loc)
        public = [f for f, entry in REGISTRY.items() if not entry.internal]
        callables = [p.name for p in ctx.params.values() if p.type == "callable"]
        hint = did_you_mean(name, public + list(STATIC_FUNCTIONS) + callables)
        raise ctx.fail(
            f"unknown function '{name}'", node.loc, hint or "see 'The expression language' in docs/language.md"
        )
    if function.uses_sample_weight:
        if scope.part != "update":
            raise ctx.fail(f"{name}() reads the batch's sample weights, so it can only be used under update:", node.loc)
        ctx.uses_sample_weight = True
    bound = _bind(checker, function, node)
    if name in ("max", "min") and len(node.args) > 1:
        _refuse_two_values(checker, name, node.args[1], scope)
    return _apply(checker, function, bound, scope, node.loc)


def _refuse_two_values(checker: "Checker", name: str, second: syn.Node, scope: Scope) -> None:
    """`max(tp + fn, 1)` reads as Python's larger of two values; here the second argument is an axis."""
    value = checker.check(second, scope)
    if not (value.type.is_static and value.type.dtype == "int"):
        raise checker.ctx.fail(
            f"the second argument of {name}() is the axis it reduces over, not a {value.type}",
            second.loc,
            _ELEMENT_WISE_HINT[name],
        )


_ELEMENT_WISE_HINT = {
    "max": "use maximum(a, b) for the element-wise larger value",
    "min": "use minimum(a, b) for the element-wise smaller value",
}


def _refuse_axis_out_of_range(
    checker: "Checker",
    function: Function,
    values: dict[str, ir.Expr],
    bound: dict[str, syn.Node],
    scope: Scope,
    loc: Location,
) -> None:
    """An axis a value of known rank does not have (any axis of a number) fails here, not when the metric runs;
    a default axis too (sort(), rankdata(), cumsum() of a number: their default is the last axis)."""
    x = values.get("x")
    if x is None or function.name == "expand_dims":  # expand_dims may add an axis at the end
        return
    default = next((arg.default for arg in function.args if arg.name == "axis"), None)
    axis = values.get("axis")
    if axis is None and not (isinstance(default, int) and "axis" not in bound):
        return
    rank = known_rank(x, checker.ctx, scope)
    for index in (
        [_literal_int(item) for item in axis.items]
        if isinstance(axis, ir.TupleOf)
        else [_literal_int(axis) if axis is not None else default]
    ):
        if rank is None or index is None or -rank <= index < rank:
            continue
        axes = f"{rank} {'axis' if rank == 1 else 'axes'}"
        if axis is None:
            raise checker.ctx.fail(
                f"{function.name}() works along an axis (its default: {index}), and its argument is a number",
                loc,
                "a number has no axis: give it a tensor",
            )
        positional = list(bound).index("axis") == 1 and bound["axis"] is not None
        hint = _ELEMENT_WISE_HINT.get(function.name, "") if positional else ""
        raise checker.ctx.fail(
            f"{function.name}() over axis {index} of a value with {axes}",
            bound["axis"].loc,
            hint or ("a number has no axis: leave axis out" if rank == 0 else f"axes run from {-rank} to {rank - 1}"),
        )


def _literal_int(expr: ir.Expr) -> Optional[int]:
    """An axis written as an int literal (-1 included), else None (a param's value comes with the constructor)."""
    if isinstance(expr, ir.Operator) and expr.op == "neg" and isinstance(expr.operands[0], ir.Literal):
        return -expr.operands[0].value
    if isinstance(expr, ir.Literal) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
        return expr.value
    return None


def _input_dim(checker: "Checker", node: syn.Call, scope: Scope) -> ir.Expr:
    """`shape(y_pred, -1)` in a state's shape: the size the first batch gives that axis."""
    ctx = checker.ctx
    inputs = [i.name for i in ctx.spec.inputs]
    if len(node.args) != 2 or node.kwargs:
        raise ctx.fail("shape() in a state's shape takes an input and a constant axis: shape(y_pred, -1)", node.loc)
    arg, axis = node.args
    if not (isinstance(arg, syn.Name) and arg.id in inputs):
        hint = did_you_mean(arg.id, inputs) if isinstance(arg, syn.Name) else None
        raise ctx.fail(
            "shape() in a state's shape applies to an input of update_state", arg.loc, hint or ", ".join(inputs)
        )
    return ir.InputDim(static("int"), arg.id, _literal_axis(checker, axis, scope))


def _filled(checker: "Checker", node: syn.Call, scope: Scope) -> ir.Expr:
    """`filled(samples)`: which rows of a sample buffer hold data (a bool vector as long as it keeps)."""
    ctx = checker.ctx
    arg = node.args[0] if len(node.args) == 1 and not node.kwargs else None
    known = isinstance(arg, syn.Name) and arg.id in scope.bindings and scope.bindings[arg.id].kind == "state"
    state = ctx.states.get(arg.id) if known else None
    if state is None or not state.is_buffer:
        buffers = [s.name for s in ctx.states.values() if s.is_buffer]
        raise ctx.fail(
            "filled() takes one argument, a sample buffer (a state variable with rows:)",
            (arg or node).loc,
            ("buffers here: " + ", ".join(buffers)) if buffers else "this spec declares no sample buffer",
        )
    return ir.Filled(tensor("bool"), state.name, state.shape[0])


def _state_dim(checker: "Checker", node: syn.Call, scope: Scope) -> ir.Expr:
    """`shape(positives, -1)`: a state variable's size along an axis, a constant once it exists."""
    ctx = checker.ctx
    if len(node.args) != 2 or node.kwargs:
        raise ctx.fail("shape() of a state variable takes the variable and a constant axis", node.loc)
    state = ctx.states.get(node.args[0].id)
    value = _literal_axis(checker, node.args[1], scope)
    if state is not None and not -len(state.shape) <= value < len(state.shape):
        raise ctx.fail(
            f"state variable '{state.name}' has {len(state.shape)} {'axis' if len(state.shape) == 1 else 'axes'}, "
            f"so axis {value} is out of range",
            node.args[1].loc,
        )
    return ir.StateDim(static("int"), node.args[0].id, int(value))


def _reads(expr: ir.Expr, scope: Scope, counted: Callable[[ir.Expr], bool], cap: int) -> int:
    """How many times ``expr`` reads what ``counted`` picks, through the `let` definitions it names, counted up
    to ``cap``. Each definition is walked once, however many paths lead to it (a chain of `a1: a0 + a0` lets
    would otherwise take time exponential in its length)."""
    definitions = scope.base.local_exprs
    reads: dict[str, int] = {}

    def count(e: ir.Expr) -> int:
        total = 0
        for node in ir.walk(e):
            if counted(node):
                total += 1
            elif isinstance(node, ir.Ref) and node.kind == "local" and node.name in definitions:
                if node.name not in reads:
                    reads[node.name] = count(definitions[node.name])
                total += reads[node.name]
        return min(total, cap)

    return count(expr)


def _sizes_in(expr: ir.Expr, scope: Scope) -> int:
    """How many state or input sizes ``expr`` reads, through the definitions it names (2 stands for several)."""
    return _reads(expr, scope, lambda e: isinstance(e, (ir.StateDim, ir.InputDim)), cap=2)


def known(checker: "Checker", scope: Scope) -> constants.Known:
    """What a constant in ``scope`` can be bounded with: the params, the scope's `let` definitions (each bounded
    once, for every expression of the scope) and the state variables."""
    base = scope.base
    if base.known is None:
        base.known = constants.Known(checker.ctx.params, base.local_exprs, checker.ctx.states)
    return base.known


def _literal_axis(checker: "Checker", node: syn.Node, scope: Scope) -> int:
    """An axis written as an int (-1 included): the code reads it when the class is written, so a param, whose
    value the constructor gets, cannot stand for it."""
    expr = static_int(checker, node, scope, "the axis")
    value = constants.evaluate(expr, known(checker, scope))
    if value is None or any(isinstance(e, ir.Ref) for e in ir.walk(expr)):
        raise checker.ctx.fail("the axis must be an int literal, like -1", node.loc)
    return int(value)


def _call_param(checker: "Checker", node: syn.Call, scope: Scope, param: ir.Param) -> ir.Expr:
    ctx, name = checker.ctx, node.func
    if scope.bindings[name].type.optional:
        raise ctx.fail(
            f"callable param '{name}' may be None (its default is null), so it cannot be called here",
            node.loc,
            f"call it where it is known not to be None, `{name}(...) if {name} is not None else ...`, or make it "
            "required",
        )
    if node.kwargs:
        raise ctx.fail(f"callable param '{name}' takes positional arguments only", node.loc)
    args = []
    for arg in node.args:
        value = checker.check(arg, scope)
        checker.require_number(value, arg.loc, f"an argument of '{name}'")
        args.append(value if value.type.is_tensor else checker.to_tensor(value, promote([value.type])))
    return ir.CallParam(tensor(FLOAT), name, tuple(args), param.forward_kwargs)


def _bind(checker: "Checker", function: Function, node: syn.Call) -> dict[str, syn.Node]:
    fail = checker.ctx.fail
    names = [a.name for a in function.args]
    bound: dict[str, syn.Node] = {}
    if len(node.args) > len(names):
        raise fail(
            f"{function.name}() takes at most {len(names)} arguments, got {len(node.args)}",
            node.loc,
            function.signature,
        )
    for arg, value in zip(function.args, node.args):
        bound[arg.name] = value
    for keyword in node.kwargs:
        key = keyword.name
        if key not in names:
            raise fail(
                f"{function.name}() has no argument '{key}'",
                keyword.loc,
                did_you_mean(key, names) or function.signature,
            )
        if key in bound:
            raise fail(f"{function.name}() got argument '{key}' twice", keyword.loc)
        bound[key] = keyword.value
    missing = [a.name for a in function.args if a.required and a.name not in bound]
    if missing:
        raise fail(f"{function.name}() is missing argument '{missing[0]}'", node.loc, function.signature)
    return bound


def _apply(checker: "Checker", function: Function, bound: dict[str, syn.Node], scope: Scope, loc: Location) -> ir.Expr:
    fail = checker.ctx.fail
    values: dict[str, ir.Expr] = {}
    for arg in function.args:
        node = bound.get(arg.name)
        if node is None:
            continue
        what = f"argument '{arg.name}' of {function.name}()"
        if not arg.kind.is_tensor:
            values[arg.name] = static_arg(checker, arg.kind, node, scope, what, allow_none=arg.default is None)
            continue
        value = checker.check(node, scope)
        if arg.kind is Kind.BOOL:
            checker.require_bool(value, node.loc, what)
        elif arg.kind in (Kind.ANY, Kind.SAME):
            if not (value.type.is_numeric or value.type.is_bool):
                raise fail(f"{what} must be a tensor, got {value.type}", node.loc)
        else:
            checker.require_number(value, node.loc, what)
        if arg.kind is Kind.INT and not value.type.is_int:
            raise fail(
                f"{what} must be integers, got {value.type}",
                node.loc,
                "use cast(x, int32) or declare the input with dtype: int32",
            )
        values[arg.name] = value
    _refuse_axis_out_of_range(checker, function, values, bound, scope, loc)
    if function.name == "gather":
        _refuse_per_row_gather(checker, values, bound, scope)
    return typed_apply(checker, function, values, loc)


def _refuse_per_row_gather(
    checker: "Checker", values: dict[str, ir.Expr], bound: dict[str, syn.Node], scope: Scope
) -> None:
    """gather(x, indices, axis=-1) with indices computed from the batch ([B, k]) gives [B, B, k]: every row's
    indices applied to every row. That is never what a metric means; take_along_axis is."""
    axis = values.get("axis")
    if axis is None or (isinstance(axis, ir.Literal) and axis.value == 0):
        return
    if _from_the_batch(values["indices"], scope):
        raise checker.ctx.fail(
            "gather() along an axis other than 0, with indices computed from the batch, applies every row's "
            "indices to every row",
            bound["indices"].loc,
            "for each row's own indices, use take_along_axis(x, indices, axis=...)",
        )


def _from_the_batch(expr: ir.Expr, scope: Scope) -> bool:
    """Whether ``expr`` reads an input, directly or through `let` definitions."""
    return _reads(expr, scope, lambda e: isinstance(e, ir.Ref) and e.kind == "input", cap=1) > 0


def typed_apply(checker: "Checker", function: Function, values: dict[str, ir.Expr], loc: Location) -> ir.Expr:
    """``function`` applied to checked arguments: tensor arguments cast to what it needs, result typed."""

    def common_dtype(kinds: tuple[Kind, ...]) -> str:
        given = [values[a.name] for a in function.args if a.kind in kinds and a.name in values]
        if given and all(v.type.is_bool for v in given):
            return "bool" if kinds == (Kind.SAME,) else FLOAT
        return promote([v.type for v in given]) if given else FLOAT

    numeric = common_dtype((Kind.NUM, Kind.FLOAT))
    if function.floating:
        numeric = float_of(numeric)
    same = common_dtype((Kind.SAME,))
    args: list[tuple[str, Optional[ir.Expr]]] = []
    for arg in function.args:
        value = values.get(arg.name)
        if value is not None and arg.kind in (Kind.NUM, Kind.FLOAT):
            value = checker.to_tensor(value, numeric)
        elif value is not None and arg.kind is Kind.SAME:
            value = checker.to_tensor(value, same)
        elif value is not None and arg.kind in (Kind.INT, Kind.BOOL, Kind.ANY):
            value = checker.to_tensor(value, tensor_dtype_of(value.type))
        args.append((arg.name, value))
    dtypes = {
        name: (value.name if isinstance(value, ir.DTypeName) else value.type.dtype) if value is not None else None
        for name, value in args
    }
    dtype = function.result(Resolved(numeric, same, dtypes))
    given = dict(args)
    if function.name == "cast" and given["x"].type == tensor(dtype):
        return given["x"]  # already of that dtype (inputs are cast on entry): no op to emit
    return ir.Apply(tensor(dtype), function.name, tuple(args), loc)


def static_arg(checker: "Checker", kind: Kind, node: syn.Node, scope: Scope, what: str, allow_none: bool) -> ir.Expr:
    fail = checker.ctx.fail
    if kind is Kind.DTYPE:
        if isinstance(node, syn.Name) and node.id in DTYPE_NAMES:
            return ir.DTypeName(Type("dtype"), node.id)
        raise fail(f"{what} must be a dtype name", node.loc, "one of " + ", ".join(DTYPE_NAMES))
    if isinstance(node, syn.Const) and node.value is None:
        if allow_none:  # only where None is the documented default (all axes, reversed axes, ...)
            return ir.Literal(static("none"), None)  # type: ignore[arg-type]
        raise fail(f"{what} cannot be None", node.loc)
    if kind in (Kind.AXES, Kind.SHAPE) and isinstance(node, syn.Tuple):
        items = tuple(static_int(checker, i, scope, what) for i in node.items)
        if kind is Kind.AXES and not items:
            # numpy reduces over no axis, torch over every one: a spec that means x itself writes x
            raise fail(
                f"{what} cannot be empty: a reduction over no axis is its input", node.loc, "axis=None: every axis"
            )
        if kind is Kind.AXES and len(set(items)) < len(items):
            raise fail(f"{what} names an axis twice", node.loc)
        if kind is Kind.SHAPE and sum(isinstance(i, ir.Operator) and i.op == "neg" for i in items) > 1:
            raise fail(f"{what} can have -1 only once", node.loc)
        return ir.TupleOf(static("tuple"), items)
    if kind is Kind.SHAPE:
        raise fail(f"{what} must be a list of ints, like [-1] or [2, n]", node.loc)
    if kind is Kind.FLAG:
        value = checker.check(node, scope)
        if not (value.type.is_static and value.type.dtype == "bool"):
            raise fail(f"{what} must be a constant True or False, got {value.type}", node.loc)
        return value
    if kind is Kind.NUMBER:
        value = checker.check(node, scope)
        if not (value.type.is_static and value.type.dtype in ("int", "float")):
            raise fail(f"{what} must be a constant number, got {value.type}", node.loc)
        return value
    value = static_int(checker, node, scope, what)
    if kind is Kind.COUNT and _sizes_in(value, scope) > 1:
        raise fail(f"{what} may use one state variable's size, not several (its size would be their product)", node.loc)
    if kind is Kind.COUNT:
        _check_count(checker, value, scope, what, node.loc)
    return value


def _check_count(checker: "Checker", value: ir.Expr, scope: Scope, what: str, loc: Location) -> None:
    """A count (a length, a depth, a number of segments) must have a bound when the spec is built, within the
    element limit: it is what the metric allocates."""
    fail, limit = checker.ctx.fail, constants.max_elements()
    try:
        count = constants.bounds(value, known(checker, scope))
    except constants.ConstantProblem as problem:
        raise fail(f"this constant {problem}", loc, "params are taken at their defaults") from None
    if not count.finite:
        raise fail(
            f"cannot bound this count when the spec is built: {what} depends on {count.why}",
            loc,
            "compute it from literals, params with defaults, len() of list params and state sizes (docs/limits.md)",
        )
    if count.hi < 0 and not count.caller:
        raise fail(f"{what} cannot be negative (it is {count.hi}, with params at their defaults)", loc)
    if count.hi > limit:
        size = f"is {count.hi:,}" if count.known else f"can be {int(count.hi):,}"
        raise fail(f"{what} {size}, more than {limit:,}", loc, "set METRICGEN_MAX_STATE_ELEMENTS to allow more")


def static_int(checker: "Checker", node: syn.Node, scope: Scope, what: str, hint: str = "") -> ir.Expr:
    value = checker.check(node, scope)
    if not (value.type.is_static and value.type.dtype == "int"):
        raise checker.ctx.fail(
            f"{what} must be a constant int, got {value.type}",
            node.loc,
            hint or "use int literals, int params and len(list_param)",
        )
    return value
