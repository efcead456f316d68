"""What the analysis knows of a value's shape without running it: the tensors whose shapes broadcast to it
(inputs, state, definitions, through element-wise operations), and from those its rank where the declarations
give it. Types carry no shapes; these answer the two questions that need one: what shape a constant chosen at
trace time takes (typecheck.Checker.broadcast), and whether an axis is in range (calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .. import ir
from .scopes import Scope

if TYPE_CHECKING:
    from .context import Context

# Functions whose result has the broadcast shape of their tensor arguments (element-wise, or along an axis),
# and those whose result is one number (reductions over every axis).
ELEMENT_WISE = frozenset(
    "abs sign square negative sqrt log log1p exp floor ceil round sigmoid softplus rsqrt isnan isinf clip maximum "
    "minimum safe_div true_divide where sample_weights ones_like cast cumsum softmax log_softmax argsort sort rankdata flip".split()
)
ONE_NUMBER = frozenset(
    "weighted_sum weighted_count weighted_sum_of_pair samplewise_sum samplewise_count size shape".split()
)
REDUCTIONS = frozenset("sum mean max min prod any all logsumexp".split())
# Functions whose result has the shape of their first argument alone (the others do not broadcast into it).
BY_FIRST_ARGUMENT = frozenset("bucketize bucketize_sorted".split())


def shape_sources(expr: ir.Expr, where: Scope) -> Optional[list[ir.Expr]]:
    """Tensors, each computable in the branch ``where``, whose shapes broadcast to ``expr``'s: inputs, state,
    definitions computed there, through element-wise operations. None when ``expr``'s shape is not made that
    way (a list param that may be None there, a matmul, an index)."""
    base = where.base
    if expr.type.is_static:
        return []  # a constant has no axes
    if isinstance(expr, ir.Ref) and expr.kind in ("input", "state"):
        return [expr]
    if isinstance(expr, ir.Ref) and expr.kind == "local":
        guard = base.local_guards.get(expr.name, frozenset())
        if guard <= where.known_not_none:
            return [expr]
        return shape_sources(base.local_exprs[expr.name].then, where)  # a definition computed only where guarded
    if isinstance(expr, ir.Cast) and expr.x.type.kind == "list":
        param = expr.x.name if isinstance(expr.x, ir.Ref) else None
        return [expr] if param and not where.bindings[param].type.optional else None
    if isinstance(expr, ir.Cast):
        parts: tuple = (expr.x,)
    elif isinstance(expr, ir.Operator):  # every operator is element-wise
        parts = expr.operands
    elif isinstance(expr, ir.Select) and expr.cond.type.is_static:  # chosen when traced: both branches must agree
        then, orelse = shape_sources(expr.then, where), shape_sources(expr.orelse, where)
        return then if then is not None and then == orelse else None
    elif isinstance(expr, ir.Apply) and (
        expr.function in ONE_NUMBER
        or (expr.function in REDUCTIONS and expr.arg("axis") is None and not _is_true(expr.arg("keepdims")))
    ):
        return []
    elif isinstance(expr, ir.Apply) and expr.function in ELEMENT_WISE:
        parts = tuple(value for _, value in expr.args if value is not None and value.type.is_tensor)
    elif isinstance(expr, ir.Apply) and expr.function in BY_FIRST_ARGUMENT:
        parts = (expr.args[0][1],)  # type: ignore[assignment]
    else:
        return None
    found: list[ir.Expr] = []
    for part in parts:
        more = shape_sources(part, where)
        if more is None:
            return None
        found += [s for s in more if s not in found]
    return found


def _is_true(flag: Optional[ir.Expr]) -> bool:
    return not (flag is None or (isinstance(flag, ir.Literal) and flag.value is False))


def known_rank(
    expr: ir.Expr, ctx: "Context", scope: Scope, definitions: Optional[dict[str, Optional[int]]] = None
) -> Optional[int]:
    """The number of axes of ``expr``, where its shape comes from state and inputs of declared shape. Each
    definition's rank is found once (``definitions``), however many paths lead to it."""
    definitions = {} if definitions is None else definitions
    sources = shape_sources(expr, scope)
    if sources is None:
        return None
    ranks = [_rank_of_source(s, ctx, scope, definitions) for s in sources]
    return None if None in ranks else max(ranks, default=0)


def _rank_of_source(
    source: ir.Expr, ctx: "Context", scope: Scope, definitions: dict[str, Optional[int]]
) -> Optional[int]:
    if isinstance(source, ir.Ref) and source.kind == "state" and source.name in ctx.states:
        return len(ctx.states[source.name].shape)
    if isinstance(source, ir.Ref) and source.kind == "input" and source.name in ctx.inputs:
        declared = ctx.inputs[source.name]
        return None if declared.shape is None or declared.leading_ellipsis else len(declared.shape)
    if isinstance(source, ir.Ref) and source.kind == "local" and source.name in scope.base.local_exprs:
        if source.name not in definitions:
            definition = scope.base.local_exprs[source.name]
            if source.name in scope.base.local_guards:
                definition = definition.then
            definitions[source.name] = known_rank(definition, ctx, scope, definitions)
        return definitions[source.name]
    return None


def list_sizes(exprs: list[ir.Expr], where: Scope) -> list[ir.ListSize]:
    """Each list param that meets an input in an element-wise operation of ``exprs`` (the update's): its
    entries line up with the input's last axis, so a list of the wrong length (class weights for 2 classes fed
    3) is refused by the update, naming both, rather than by a shape error of the framework."""
    found: list[ir.ListSize] = []
    for expr in exprs:
        for e in ir.walk(expr):
            operands = _elementwise_operands(e)
            lists = [name for name in map(_list_param, operands) if name is not None]
            for operand in operands if lists else ():
                if _list_param(operand) is None:
                    for source in _input_sources(operand, where, set()):
                        found += [s for s in (ir.ListSize(p, source) for p in lists) if s not in found]
    return found


def _elementwise_operands(expr: ir.Expr) -> tuple[ir.Expr, ...]:
    if isinstance(expr, ir.Operator) and len(expr.operands) > 1:
        return expr.operands
    if isinstance(expr, ir.Apply) and expr.function in ELEMENT_WISE:
        return tuple(value for _, value in expr.args if value is not None and value.type.kind in ("tensor", "list"))
    return ()


def _list_param(expr: ir.Expr) -> Optional[str]:
    """The list param ``expr`` is (as a tensor), or None."""
    if isinstance(expr, ir.Cast) and expr.x.type.kind == "list" and isinstance(expr.x, ir.Ref):
        return expr.x.name
    return None


def _input_sources(expr: ir.Expr, where: Scope, seen: set[str]) -> list[str]:
    """The inputs whose shapes broadcast to ``expr``'s, through definitions (each followed once)."""
    names: list[str] = []
    for source in shape_sources(expr, where) or []:
        if isinstance(source, ir.Ref) and source.kind == "input":
            names.append(source.name)
        elif isinstance(source, ir.Ref) and source.kind == "local" and source.name not in seen:
            seen.add(source.name)
            definition = where.base.local_exprs[source.name]
            if source.name in where.base.local_guards:
                definition = definition.then
            names += _input_sources(definition, where, seen)
    return list(dict.fromkeys(names))
