"""Declarations: params, state variables and inputs, each checked and turned into its IR form."""

from __future__ import annotations

import math
import string
from typing import TYPE_CHECKING, Any, Optional

from .. import ir
from . import constants
from ..errors import Location, did_you_mean
from ..params import NUMERIC_TYPES, param_rule
from ..types import Type, static
from .scopes import Binding, Scope

if TYPE_CHECKING:
    from .scopes import Checker

_INT_RANGE = {"int32": 2**31, "int64": 2**63}
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38}


def param_type(p: ir.Param) -> Type:
    optional = p.optional
    if p.type == "callable":
        return Type("callable", optional=optional)
    if p.type == "float|list[float]":
        return Type("list", "float", optional, or_number=True)
    if p.type.startswith("list["):
        return Type("list", p.type[5:-1], optional)
    return Type("static", p.type, optional)


def param(checker: "Checker", name: str, p: Any) -> ir.Param:
    ctx = checker.ctx
    loaded = ctx.loaded
    where = loaded.location(("params", name, "default"))
    declared = ir.Param(
        name,
        p.type,
        p.required,
        p.default,
        p.doc,
        p.min,
        p.max,
        p.choices,
        p.nullable,
        p.forward_kwargs,
        loaded.key_location(("params", name)),
    )
    if p.forward_kwargs:
        if p.type != "callable":
            ctx.diag.error(
                f"forward_kwargs applies to callable params, not {p.type}", loaded.location(("params", name))
            )
        others = [n for n, q in ctx.spec.params.items() if q.forward_kwargs and n != name]
        if others and list(ctx.spec.params).index(name) > list(ctx.spec.params).index(others[0]):
            ctx.diag.error(
                f"only one param can take the constructor's other keyword arguments ('{others[0]}' does)",
                loaded.location(("params", name, "forward_kwargs")),
            )
        for what, names in (("param", ctx.spec.params), ("state variable", ctx.spec.state)):
            if declared.kwargs_attribute in names:
                section = "params" if what == "param" else "state"
                ctx.diag.error(
                    f"{what} '{declared.kwargs_attribute}' takes the name where '{name}''s keyword arguments are kept",
                    loaded.key_location((section, declared.kwargs_attribute)),
                    "rename it",
                )
    if (p.min is not None or p.max is not None) and p.type not in NUMERIC_TYPES:
        ctx.diag.error(f"min/max apply to numeric params, not {p.type}", loaded.location(("params", name)))
    bounds_ok = True
    for bound in ("min", "max"):
        value = getattr(p, bound)
        if value is not None and not math.isfinite(value):
            bounds_ok = False
            ctx.diag.error(
                f"{bound} of param '{name}' must be a finite number", loaded.location(("params", name, bound))
            )
    if p.min is not None and p.max is not None and p.min > p.max:
        bounds_ok = False
        ctx.diag.error(f"min of param '{name}' is larger than its max", loaded.location(("params", name)))
    if p.choices is not None and p.type != "str":
        ctx.diag.error(f"choices apply to str params, not {p.type}", loaded.location(("params", name)))
    if p.type == "callable":
        if not p.required and p.default is not None:
            ctx.diag.error(f"a callable param's default can only be null, got {p.default!r}", where)
    elif not p.required and bounds_ok:
        problem = param_rule(declared).problem(p.default)
        if problem:
            ctx.diag.error(f"default of param '{name}' {problem}", where)
    return declared


def _init_problem(dtype: str, init: Any) -> str:
    """Why ``init`` cannot start a state variable of ``dtype``, or '' when it can."""
    if dtype == "bool":
        return "" if isinstance(init, bool) else "must be true or false for a bool state"
    if isinstance(init, bool):
        return f"must be a number for a {dtype} state"
    if dtype in _INT_RANGE:
        if isinstance(init, float) and (not math.isfinite(init) or init != int(init)):
            return f"does not fit an {dtype} state"
        if not -_INT_RANGE[dtype] <= int(init) < _INT_RANGE[dtype]:
            return f"is out of the {dtype} range"
    limit = _FLOAT_MAX.get(dtype, 3.4028234663852886e38 if dtype == "float" else None)
    if limit is not None and math.isfinite(init) and abs(init) > limit:  # would read back as inf
        return f"is beyond the largest {'float32 (the default metric dtype)' if dtype == 'float' else dtype}, {limit:g}"
    if isinstance(init, float) and math.isnan(init):
        return "is NaN"
    return ""


def shape_scope(checker: "Checker") -> Scope:
    """What a shape may name: int, bool, str and list params (a list param only inside len(), a bool one only as
    a condition: `n if include_background else n - 1`, a str one only compared: `n if average == "none" else
    1`), and an input's size, `shape(y_pred, -1)` (see calls)."""
    return Scope(
        "shape",
        {
            p.name: Binding("param", param_type(p), Location())
            for p in checker.ctx.params.values()
            if p.type in ("int", "bool", "str", "list[int]", "list[float]", "float|list[float]")
        },
    )


def check(checker: "Checker", n: int, params: dict[str, Binding]) -> ir.Check:
    """A `checks:` entry: a bool over params only, known when the metric is built; one the params' defaults fail
    is refused here rather than by every constructor called without arguments."""
    ctx, path = checker.ctx, ("checks", n, "require")
    entry = ctx.spec.checks[n]
    expr = checker.expression(entry.require, path, Scope("check", params))
    if not (expr.type.is_static and expr.type.dtype == "bool"):
        raise ctx.fail(
            f"a check must be a condition over params, got {expr.type}",
            ctx.loaded.location(path),
            "compare params: `top_k <= num_classes`",
        )
    try:
        bound = constants.bounds(expr, constants.Known(ctx.params))
    except constants.ConstantProblem as problem:
        raise ctx.fail(f"this check {problem}", ctx.loaded.location(path)) from None
    if bound.known and not bound.lo:
        raise ctx.fail(
            "the params' defaults fail this check: the constructor called without arguments would raise",
            ctx.loaded.location(path),
            "change a default, or the condition",
        )
    return ir.Check(expr, _message(checker, entry.message, ("checks", n, "message")))


def _message(checker: "Checker", text: str, path: tuple) -> tuple[tuple[str, Optional[str]], ...]:
    """A check's message, split at its `{param}` fields (each a param's value in the error, as repr shows it);
    `{{` and `}}` are braces. Anything else in braces is refused: the message is data, never a format string."""
    ctx = checker.ctx
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as error:
        raise ctx.fail(f"this message has a stray brace ({error})", ctx.loaded.location(path), "write {{ or }}")
    for _, field_name, spec, conversion in parts:
        if field_name is not None and (field_name not in ctx.params or spec or conversion):
            raise ctx.fail(
                f"'{{{field_name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}' in a message "
                "must name a param, as {top_k}",
                ctx.loaded.location(path),
                did_you_mean(field_name, ctx.params) if field_name else "write {{ or }} for a brace",
            )
    return tuple((literal, field_name) for literal, field_name, _, _ in parts)


def static_dim(checker: "Checker", dim: Any, path: tuple) -> Optional[ir.Expr]:
    ctx = checker.ctx
    if isinstance(dim, bool):
        raise ctx.fail("a dimension must be an int or an int expression over params", ctx.loaded.location(path))
    if isinstance(dim, int):
        if dim < 0:
            raise ctx.fail(f"dimension {dim} is negative", ctx.loaded.location(path))
        return ir.Literal(static("int"), dim)
    expr = checker.expression(dim, path, shape_scope(checker))
    if not (expr.type.is_static and expr.type.dtype == "int"):
        raise ctx.fail(
            f"a dimension must be a constant int, got {expr.type}",
            ctx.loaded.location(path),
            "use int params, len(list_param) and + - * //",
        )
    for e in ir.walk(expr):
        if isinstance(e, ir.Operator) and any(isinstance(inner, ir.InputDim) for inner in ir.walk(e)):
            raise ctx.fail(
                "an input's size is a dimension as it is: it cannot be computed with",
                ctx.loaded.location(path),
                "use shape(y_pred, -1) alone, or in a branch: `num_labels if num_labels is not None else "
                "shape(y_pred, -1)`",
            )
    bound = dimension_bound(checker, expr, path)
    if bound.hi < 0 and not bound.caller:
        raise ctx.fail(
            f"dimension {dim!r} is negative ({bound.hi}, with params at their defaults)", ctx.loaded.location(path)
        )
    return expr


def dimension_bound(checker: "Checker", expr: ir.Expr, path: tuple) -> constants.Bound:
    """The values a dimension can take (docs/limits.md), or a located error where it has no bound."""
    ctx = checker.ctx
    try:
        bound = constants.bounds(expr, constants.Known(ctx.params, states=ctx.states))
    except constants.ConstantProblem as problem:
        raise ctx.fail(
            f"this constant {problem}", ctx.loaded.location(path), "params are taken at their defaults"
        ) from None
    if not bound.finite:
        raise ctx.fail(
            f"cannot bound this dimension when the spec is built: it depends on {bound.why}",
            ctx.loaded.location(path),
            "compute it from literals, params with defaults and len() of list params (docs/limits.md)",
        )
    return bound


def state(checker: "Checker", name: str, s: Any) -> ir.State:
    ctx = checker.ctx
    shape = []
    fold = "append" if s.rows is not None and "fold" not in s.model_fields_set else s.fold
    if s.rows is not None and fold != "append":
        ctx.diag.error(
            f"state variable '{name}' has rows:, so it is a sample buffer, folded with 'append', not '{fold}'",
            ctx.loaded.location(("state", name, "fold")),
            "leave fold out (rows: makes it append), or drop rows:",
        )
    elif s.rows is None and fold == "append":
        ctx.diag.error(
            f"state variable '{name}' is appended to, so it needs rows: (how many rows it keeps at most)",
            ctx.loaded.location(("state", name, "fold")),
            "e.g. rows: max_samples, an int param with a default",
        )
    if s.rows is not None:  # the buffer's first axis: its capacity, known when the metric is built
        rows = ctx.guard(lambda: static_dim(checker, s.rows, ("state", name, "rows")))
        if rows is not None and any(isinstance(e, ir.InputDim) for e in ir.walk(rows)):
            ctx.diag.error(
                "a sample buffer's rows cannot depend on a batch", ctx.loaded.location(("state", name, "rows"))
            )
        elif rows is not None:
            shape.append(rows)
        if s.init != 0 or s.dtype == "bool":
            ctx.diag.error(
                "a sample buffer holds numbers, its unfilled rows 0 (init: 0, a numeric dtype)",
                ctx.loaded.location(("state", name, "init" if s.init != 0 else "dtype")),
            )
    for i, dim in enumerate(s.shape):
        expr = ctx.guard(lambda: static_dim(checker, dim, ("state", name, "shape", i)))
        if expr is not None:
            shape.append(expr)
    if s.dtype == "bool" and fold not in ("assign", "append"):
        ctx.diag.error(
            f"a bool state variable can only be folded with 'assign', not '{fold}'",
            ctx.loaded.location(("state", name, "fold")),
        )
    problem = _init_problem(s.dtype, s.init)
    if problem:
        ctx.diag.error(
            f"initial value {s.init!r} of state variable '{name}' {problem}",
            ctx.loaded.location(("state", name, "init")),
        )
    elements = 1
    for d in shape:  # each has a bound (static_dim)
        elements *= max(0, int(constants.bounds(d, constants.Known(ctx.params)).hi))
    ctx.state_elements += elements
    limit = constants.max_elements()
    if elements > limit:
        ctx.diag.error(
            f"state variable '{name}' would hold {elements:,} elements (with params at their defaults), more than "
            f"{limit:,}",
            ctx.loaded.location(("state", name, "shape")),
            "set METRICGEN_MAX_STATE_ELEMENTS to allow more",
        )
    elif ctx.state_elements > 2 * limit and ctx.state_elements - elements <= 2 * limit:
        ctx.diag.error(
            f"the state variables up to '{name}' would hold {ctx.state_elements:,} elements (with params at their "
            f"defaults), more than {2 * limit:,} in all",
            ctx.loaded.location(("state", name, "shape")),
            "set METRICGEN_MAX_STATE_ELEMENTS to allow more (the limit in all is twice it)",
        )
    if s.unfilled == "ignored" and s.rows is None:
        ctx.diag.error(
            f"state variable '{name}' has unfilled: ignored, but no rows: (only a sample buffer has unfilled rows)",
            ctx.loaded.location(("state", name, "unfilled")),
        )
    built = ir.State(
        name,
        tuple(shape),
        s.dtype,
        s.init,
        fold,
        s.doc,
        ctx.loaded.key_location(("state", name)),
        unfilled_ignored=s.unfilled == "ignored" and s.rows is not None,
    )
    if built.shaped_by_batch and (s.fold != "add" or s.init != 0):
        ctx.diag.error(
            f"state variable '{name}' is shaped by the first batch, so it must be a sum from 0 (fold: add, init: 0)",
            ctx.loaded.location(("state", name, "shape")),
            "a shard that saw no batch then holds nothing, which a sum can merge",
        )
    return built


def input(checker: "Checker", index: int, inp: Any) -> ir.Input:
    ctx = checker.ctx
    shape = None
    leading = False
    if inp.shape is not None:
        dims: list = []
        for i, dim in enumerate(inp.shape):
            path = ("inputs", index, "shape", i)
            if dim == "...":
                if i != 0:
                    ctx.diag.error("'...' can only be the first entry of a shape", ctx.loaded.location(path))
                leading = True
                continue
            if dim is None:
                dims.append(None)
                continue
            dims.append(ctx.guard(lambda: static_dim(checker, dim, path)))
        shape = tuple(dims)
    names = [i.name for i in ctx.spec.inputs]
    if inp.same_rank_as is not None and (inp.same_rank_as not in names or inp.same_rank_as == inp.name):
        ctx.diag.error(
            f"same_rank_as names '{inp.same_rank_as}', which is not another input",
            ctx.loaded.location(("inputs", index, "same_rank_as")),
            did_you_mean(inp.same_rank_as, [n for n in names if n != inp.name]),
        )
    if inp.rank_offset not in (0, -1):
        ctx.diag.error(
            f"rank_offset must be 0 or -1, got {inp.rank_offset}", ctx.loaded.location(("inputs", index, "rank_offset"))
        )
    elif inp.rank_offset and inp.same_rank_as is None:
        ctx.diag.error(
            "rank_offset applies with same_rank_as",
            ctx.loaded.location(("inputs", index, "rank_offset")),
            "add same_rank_as: the input whose rank this one follows",
        )
    loc = ctx.loaded.location(("inputs", index))
    return ir.Input(inp.name, inp.dtype, shape, leading, inp.doc, inp.same_rank_as, inp.rank_offset, loc)
