"""Comparisons that are constants: `p is None` for a param whose default is None, and a str param compared with
a string (checked against the param's choices)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ir
from .. import syntax as syn
from ..errors import did_you_mean
from ..types import static
from .scopes import Scope

if TYPE_CHECKING:
    from .scopes import Checker


def none_test(checker: "Checker", node: syn.Compare, scope: Scope) -> ir.Expr:
    """`p is None`, `p is not None`: a constant, for a param whose default is None."""
    value = checker.check(node.left, scope, may_be_none=True)
    if not (isinstance(value, ir.Ref) and value.kind == "param"):
        raise checker.ctx.fail(f"only a param can be None, not a {value.type}", node.left.loc)
    if not scope.bindings[value.name].type.optional:
        raise checker.ctx.fail(
            f"param '{value.name}' is never None", node.left.loc, "give it `default: null` to make None its default"
        )
    return ir.none_comparison(value, node.op)


def none_branches(test: syn.Node, scope: Scope) -> tuple[Scope, Scope]:
    """The scopes where `test` holds and where it fails: a param tested against None is known not to be None
    on the side where the test says so (`p is not None` holds, `p is None` fails), through `not`, and through
    `and` (where it holds, every operand held) and `or` (where it fails, every operand failed)."""
    if isinstance(test, syn.UnaryOp) and test.op == "not":
        holds, fails = none_branches(test.operand, scope)
        return fails, holds
    if isinstance(test, syn.BoolOp):
        known = scope
        for operand in test.values:
            holds, fails = none_branches(operand, known)
            known = holds if test.op == "and" else fails
        return (known, scope) if test.op == "and" else (scope, known)
    if not (isinstance(test, syn.Compare) and test.op in ("is", "is not") and isinstance(test.left, syn.Name)):
        return scope, scope
    binding = scope.bindings.get(test.left.id)
    if binding is None:
        return scope, scope
    narrowed = scope.narrowed(test.left.id, binding.type.known())
    return (narrowed, scope) if test.op == "is not" else (scope, narrowed)


def string_comparison(checker: "Checker", node: syn.Compare, left: ir.Expr, right: ir.Expr) -> ir.Expr:
    """A str param compared with a string (or another str param): a constant; a string is checked against
    the param's choices."""
    if node.op not in ("==", "!=") or left.type.dtype != right.type.dtype:
        raise checker.ctx.fail(
            f"'{node.op}' cannot compare a {left.type} with a {right.type}",
            node.loc,
            'a str param is compared with == or != to a string, e.g. average == "macro"',
        )
    for param, other, other_node in ((left, right, node.right), (right, left, node.left)):
        if isinstance(param, ir.Ref) and param.kind == "param" and isinstance(other, ir.Literal):
            choices = checker.ctx.params[param.name].choices
            if choices is not None and other.value not in choices:
                hint = did_you_mean(other.value, choices) or "one of " + ", ".join(map(repr, choices))
                raise checker.ctx.fail(
                    f"{other.value!r} is not one of the choices of '{param.name}'", other_node.loc, hint
                )
    if isinstance(left, ir.Literal) and isinstance(right, ir.Literal):
        raise checker.ctx.fail("this compares two strings: compare a str param with a string", node.loc)
    return ir.Operator(static("bool"), node.op, (left, right))
