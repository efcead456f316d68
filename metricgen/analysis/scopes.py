"""What names mean in one part of a spec (update, result, a shape), and `let` definitions: analysed when
first used, in dependency order, cycles refused, unused ones reported."""

from __future__ import annotations

import copy
import re
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Protocol

from .. import ir
from ..errors import Location, SpecError
from ..types import Type, static

if TYPE_CHECKING:
    from .. import syntax as syn
    from .constants import Known
    from .context import Context


MAX_CHAIN = 100  # `let` definitions each using the one before: analysed recursively, so bounded


@dataclass
class Binding:
    kind: str  # input | param | state | local | constant
    type: Type
    location: Location


class Scope:
    def __init__(
        self,
        part: str,
        bindings: dict[str, Binding],
        local_sources: Optional[dict[str, tuple[str, tuple]]] = None,
        out_of_reach: frozenset[str] = frozenset(),
    ):
        self.part = part  # update | result | shape
        self.bindings = dict(bindings)
        self.out_of_reach = out_of_reach  # inputs, in result(): named in a clearer error than 'unknown'
        self.local_sources = local_sources or {}  # name -> (text, data path)
        self.local_exprs: dict[str, ir.Expr] = {}
        self.order: list[str] = []  # locals in the order they must be computed
        self.visiting: list[str] = []
        self.referenced: set[str] = set()  # locals some expression reads (analysed, or failed with an error)
        self.base = self  # the scope before any narrowing: `let` definitions are analysed there
        self.too_deep = False  # a chain of definitions was cut: which are used is not known
        self.known_not_none: frozenset[str] = frozenset()  # params this scope's branch knows are not None
        # a definition that needs params known not to be None, computed only where they are (see local)
        self.local_guards: dict[str, frozenset[str]] = {}
        self.known: Optional[Known] = None  # what bounds the constants here, made on first use (calls.known)

    def mark_mentioned(self, text: str) -> None:
        """Count the definitions an expression that failed names as used: it may have failed before it reached
        them, and 'defined but never used' would then be a false follow-up error. So do the definitions those
        name in turn, where they were not analysed (a failed `score` hides that `both` uses `tp`)."""
        texts = [text]
        while texts:
            for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", texts.pop()):
                if word in self.local_sources and word not in self.referenced:
                    self.referenced.add(word)
                    if word not in self.local_exprs:
                        texts.append(self.local_sources[word][0])

    def narrowed(self, name: str, known: Type) -> "Scope":
        """This scope where ``name`` is known not to be None (the branch of `... if name is not None else ...`
        that sees it); everything but that binding is shared."""
        child = copy.copy(self)
        child.bindings = {**self.bindings, name: dataclasses.replace(self.bindings[name], type=known)}
        child.known_not_none = self.known_not_none | {name}
        return child

    @property
    def locals(self) -> list[tuple[str, ir.Expr]]:
        return [(n, self.local_exprs[n]) for n in self.order]


class Checker(Protocol):
    """The type checker as the steps it calls use it (scopes, calls, comparisons, declarations): they name this
    Protocol, not :class:`.typecheck.Checker`, which imports them, so that no import runs back up."""

    ctx: Context

    def expression(self, text: str, path: tuple, scope: Scope) -> ir.Expr: ...

    def check(self, node: syn.Node, scope: Scope, may_be_none: bool = False) -> ir.Expr: ...

    def require_number(self, x: ir.Expr, loc: Location, what: str) -> None: ...

    def require_bool(self, x: ir.Expr, loc: Location, what: str) -> None: ...

    @staticmethod
    def to_tensor(x: ir.Expr, dtype: str) -> ir.Expr: ...


def local(
    checker: "Checker", name: str, scope: Scope, used_at: Optional[Location], where: Optional[Scope] = None
) -> ir.Expr:
    """The analysed definition of local ``name`` (analysed now if it was not yet), in the base ``scope``.

    A definition that uses an optional param is analysed where it is first used (``where``) if the branch there
    knows the param is not None: it is then computed only when the params it needs are not None
    (`x if class_id is not None else None`, a constant test at trace time), and may be used only in branches
    that know as much."""
    where = where or scope
    if name in scope.local_exprs:
        missing = sorted(scope.local_guards.get(name, frozenset()) - where.known_not_none)
        if missing:
            raise checker.ctx.fail(
                f"'{name}' uses param '{missing[0]}', which may be None here",
                used_at or checker.ctx.loaded.location(scope.local_sources[name][1]),
                f"use '{name}' where it is known not to be, e.g. `... if {missing[0]} is not None else ...`",
            )
        return scope.local_exprs[name]
    text, path = scope.local_sources[name]
    if name in scope.visiting:
        cycle = scope.visiting[scope.visiting.index(name) :] + [name]
        raise checker.ctx.fail(
            f"circular definition: {' -> '.join(cycle)}", used_at or checker.ctx.loaded.location(path)
        )
    if len(scope.visiting) >= MAX_CHAIN:
        scope.base.too_deep = True
        raise checker.ctx.fail(
            f"definitions depend on one another more than {MAX_CHAIN} deep here",
            used_at or checker.ctx.loaded.location(path),
            "compute in fewer steps",
        )
    scope.visiting.append(name)
    guard: frozenset[str] = frozenset()
    try:
        try:
            expr = checker.expression(text, path, scope)
        except RecursionError:
            # Each definition is checked inside the check of the one using it, so their depths add up; the
            # limits per expression (100 levels) and per chain (MAX_CHAIN) do not bound the sum.
            scope.base.too_deep = True
            raise checker.ctx.fail(
                f"'{name}' nests too deeply with the definitions it uses ({' -> '.join(scope.visiting)})",
                checker.ctx.loaded.location(path),
                "compute in fewer, shallower steps",
            ) from None
        except SpecError as error:
            if not (where.known_not_none and error.message.endswith("may be None here")):
                raise
            guard = where.known_not_none
            expr = checker.expression(text, path, _knowing(scope, guard))
            expr = ir.Select(expr.type, _all_given(scope, guard), expr, ir.Literal(static("none"), None))
    except Exception:
        scope.mark_mentioned(text)
        raise
    finally:
        scope.visiting.pop()
    if guard:
        scope.local_guards[name] = guard
    scope.local_exprs[name] = expr
    scope.order.append(name)
    return expr


def _knowing(scope: Scope, names: frozenset[str]) -> Scope:
    """The base scope, with ``names`` known not to be None (a guarded definition is analysed there)."""
    for name in sorted(names):
        scope = scope.narrowed(name, scope.bindings[name].type.known())
    return scope


def _all_given(scope: Scope, names: frozenset[str]) -> ir.Expr:
    """`a is not None and b is not None ...`: a constant, true where a guarded definition is computed."""
    tests = [ir.none_comparison(ir.Ref(scope.bindings[n].type, "param", n), "is not") for n in sorted(names)]
    return tests[0] if len(tests) == 1 else ir.Operator(static("bool"), "and", tuple(tests))


def report_unused(checker: "Checker", scope: Scope, base: tuple) -> None:
    ctx = checker.ctx
    if scope.base.too_deep:
        return
    for name in scope.local_sources:
        where = ctx.loaded.key_location(base + (name,))
        if where.file and where.file != ctx.loaded.path:
            continue  # inherited (extends:): a base's lets are a library its children read from
        if name not in scope.local_exprs and name not in scope.visiting and name not in scope.referenced:
            ctx.guard(lambda: local(checker, name, scope, None))  # still check it, to report its errors
            ctx.diag.error(
                f"'{name}' is defined but never used",
                where,
                "remove it, or use it in an update or the result",
            )
