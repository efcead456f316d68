"""A `let` read only in one branch of a choice the params make → computed only where that branch is taken.

TweedieDevianceScore's spec defines the normal, Poisson, Gamma and general deviance, and its update picks one by
`power` (`square(t - p) if power == 0 else (poisson if power == 1 else ...)`): a Python conditional, so only the
chosen branch runs, but the definitions it names were each computed first, three of four for nothing, a pass
over the batch each. This pass finds, for each definition, the conditions under which something reads it (the
branches of every static `a if c else b` on the way, through the definitions that read it in turn), and where
that is not "always" writes it as `x = (...) if <condition> else None`, as a definition guarded by `k is not None`
already is: None is never read, since every read sits behind the same condition.

A condition is kept only when it reads params, ranks and the like alone (no definition, which might not be
computed yet where the guarded one is), and at most a few alternatives; otherwise the definition is computed
always, as before. Applies to every target: what it writes is a Python conditional on constants.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import TYPE_CHECKING, Optional

from .. import ir
from ..types import static

if TYPE_CHECKING:
    from ..targets.base import Target

# a condition as alternatives (or) of conjunctions (and) of (test, holds) pairs; () alone in it: always
Condition = tuple[tuple[tuple[ir.Expr, bool], ...], ...]
ALWAYS: Condition = ((),)
NEVER: Condition = ()
MAX_ALTERNATIVES = 4
MAX_TESTS = 8  # a truth table of 256 rows at most

_BOOL = static("bool")


def applies_to(target: "Target") -> bool:
    return True


def run(metric: ir.Metric) -> ir.Metric:
    update_roots = [e for _, e in metric.updates]
    return dataclasses.replace(
        metric,
        update_locals=_guarded(metric.update_locals, update_roots),
        result_locals=_guarded(metric.result_locals, [metric.result]),
    )


def _guarded(local_pairs: list[tuple[str, ir.Expr]], roots: list[ir.Expr]) -> list[tuple[str, ir.Expr]]:
    """The definitions of one scope (in the order they are computed), each guarded by where it is read."""
    needed: dict[str, Condition] = {name: NEVER for name, _ in local_pairs}
    for root in roots:
        _reads(root, ALWAYS, needed)
    # a definition's reads count where the definition itself is computed (the condition it is given below, or
    # always): the last ones first, so that each condition is final before the definitions it reads take it in
    computed: dict[str, Condition] = {}
    for name, expr in reversed(local_pairs):
        computed[name] = ALWAYS if needed[name] == NEVER else _simplified(needed[name])
        _reads(expr, computed[name], needed)
    out = []
    for name, expr in local_pairs:
        condition = computed[name]
        if condition == ALWAYS:
            out.append((name, expr))
        elif _is_guarded(expr):  # `(...) if k is not None else None` already: both conditions (one if the same)
            test = _as_expr(condition)
            if test != expr.cond:
                test = ir.Operator(_BOOL, "and", (test, expr.cond))
            out.append((name, dataclasses.replace(expr, cond=test)))
        else:
            expr = _decided(expr, condition)
            out.append((name, ir.Select(expr.type, _as_expr(condition), expr, ir.Literal(static("none"), None))))
    return out


def _decided(expr: ir.Expr, condition: Condition) -> ir.Expr:
    """``expr`` where it is computed only under ``condition``: a static choice that condition decides is its
    branch (`kept = x != p if p is not None else None`, not `(ones if p is None else x != p) if ...`)."""
    while isinstance(expr, ir.Select) and len(condition) == 1:
        test, holds = _normal(expr.cond, True)  # the condition's tests are in that form
        if (test, holds) in condition[0]:
            expr = expr.then
        elif (test, not holds) in condition[0]:
            expr = expr.orelse
        else:
            break
    return expr


def _reads(expr: ir.Expr, where: Condition, needed: dict[str, Condition]) -> None:
    """Adds ``where`` to the condition of every definition ``expr`` reads, a static choice's branches under
    its test."""
    if isinstance(expr, ir.Ref) and expr.kind == "local" and expr.name in needed:
        needed[expr.name] = _or(needed[expr.name], where)
        return
    if isinstance(expr, ir.Select) and expr.cond.type.is_static and _plain(expr.cond):
        _reads(expr.cond, where, needed)
        _reads(expr.then, _and(where, (expr.cond, True)), needed)
        _reads(expr.orelse, _and(where, (expr.cond, False)), needed)
        return
    for child in ir.children(expr):
        _reads(child, where, needed)


def _plain(test: ir.Expr) -> bool:
    """A test that can guard a definition: it reads no definition (which might be computed after it)."""
    return not any(isinstance(e, ir.Ref) and e.kind == "local" for e in ir.walk(test))


def _and(where: Condition, term: tuple[ir.Expr, bool]) -> Condition:
    term = _normal(*term)
    out = []
    for conjunction in where:
        if (term[0], not term[1]) in conjunction:
            continue  # contradictory: this path never runs
        out.append(conjunction if term in conjunction else conjunction + (term,))
    return tuple(out)


def _normal(test: ir.Expr, holds: bool) -> tuple[ir.Expr, bool]:
    """A test in one form, so that a condition and its opposite meet: `p is not None` holding is `p is None`
    failing, `not c` holding is `c` failing."""
    while isinstance(test, ir.Operator) and test.op in ("is not", "!=", "not"):
        test, holds = ir.negated(test), not holds
    return test, holds


def _or(a: Condition, b: Condition) -> Condition:
    if a == ALWAYS or b == ALWAYS or () in a or () in b:
        return ALWAYS
    merged = a + tuple(c for c in b if c not in a)
    return merged if len(merged) <= MAX_ALTERNATIVES else ALWAYS


def _simplified(condition: Condition) -> Condition:
    """``condition`` with the terms and alternatives dropped that change nothing, ALWAYS where it always holds
    (`power == 0 or power != 0`). Decided by its truth table over its tests, two tests `p == a` and `p == b` of
    one param never both true; one with more tests than MAX_TESTS is kept as it is."""
    tests = list(dict.fromkeys(test for conjunction in condition for test, _ in conjunction))
    if condition in (ALWAYS, NEVER) or len(tests) > MAX_TESTS:
        return condition
    rows = [row for row in itertools.product((False, True), repeat=len(tests)) if _possible(dict(zip(tests, row)))]

    def table(c: Condition) -> list[bool]:
        return [any(all(dict(zip(tests, row))[t] == holds for t, holds in conj) for conj in c) for row in rows]

    wanted = table(condition)
    if all(wanted):
        return ALWAYS
    terms = [list(conjunction) for conjunction in condition]
    for conjunction in terms:  # drop each term that changes nothing
        for term in list(conjunction):
            conjunction.remove(term)
            if table(tuple(tuple(c) for c in terms)) != wanted:
                conjunction.append(term)
    kept = [tuple(c) for c in terms]
    for conjunction in list(kept):  # then each alternative another covers
        rest = tuple(c for c in kept if c is not conjunction)
        if rest and table(rest) == wanted:
            kept = list(rest)
    return tuple(dict.fromkeys(kept))


def _possible(assignment: dict[ir.Expr, bool]) -> bool:
    """False where two tests `p == a`, `p == b` of one param against different literals both hold."""
    seen: dict[ir.Expr, object] = {}
    for test, holds in assignment.items():
        equality = _equality(test)
        if holds and equality is not None:
            subject, value = equality
            if subject in seen and seen[subject] != value:
                return False
            seen[subject] = value
    return True


def _equality(test: ir.Expr) -> Optional[tuple[ir.Expr, object]]:
    if isinstance(test, ir.Operator) and test.op == "==":
        a, b = test.operands
        if isinstance(b, ir.Literal) and not isinstance(a, ir.Literal):
            return a, b.value
        if isinstance(a, ir.Literal) and not isinstance(b, ir.Literal):
            return b, a.value
    return None


def _is_guarded(expr: ir.Expr) -> bool:
    """Already `(...) if <k is not None> else None` (the analysis guards definitions that need a param)."""
    return isinstance(expr, ir.Select) and isinstance(expr.orelse, ir.Literal) and expr.orelse.value is None


def _as_expr(condition: Condition) -> ir.Expr:
    def term(test: ir.Expr, holds: bool) -> ir.Expr:
        return test if holds else ir.negated(test)

    def joined(op: str, parts: list[ir.Expr]) -> ir.Expr:
        return parts[0] if len(parts) == 1 else ir.Operator(_BOOL, op, tuple(parts))

    return joined("or", [joined("and", [term(*t) for t in conjunction]) for conjunction in condition])
