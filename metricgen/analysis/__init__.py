"""Stage 3, analyse: a validated spec → one typed :class:`metricgen.ir.Metric`, the same for every target.

The spec is checked as a whole and every error is collected: names (:mod:`.names`), declarations
(:mod:`.declarations`), each expression (:mod:`.typecheck`, calls in :mod:`.calls`), `let` definitions in
dependency order (:mod:`.scopes`), that every state variable is updated and every definition used, and the
examples (:mod:`.example_checks`). Whether a target can express the result is the lowering's question.
"""

from __future__ import annotations

from .. import ir
from ..errors import Location, bounded_suggestions, did_you_mean
from ..functions import CONSTANTS
from ..loader import LoadedSpec
from ..schema import Spec
from ..types import static, tensor
from . import declarations
from .buffers import check_unfilled_ignored
from .context import Context
from .example_checks import check_examples
from .names import check_names
from .scopes import Binding, Scope, report_unused
from .shapes import list_sizes
from .typecheck import Checker


@bounded_suggestions()  # a spec's first errors get their hints; a flood of misspelt names is not searched
def analyse(spec: Spec, loaded: LoadedSpec, generated_names: frozenset[str]) -> ir.Metric:
    """``spec`` as IR; ``generated_names``: the names generated code uses itself (every target's), which no
    declaration may take."""
    ctx = Context(spec, loaded, generated_names)
    checker = Checker(ctx)
    invalid_names = check_names(ctx)
    ctx.params = {name: declarations.param(checker, name, p) for name, p in spec.params.items()}
    ctx.states = {name: declarations.state(checker, name, s) for name, s in spec.state.items()}
    for buffer in (s for s in ctx.states.values() if s.is_buffer):  # its row count is a variable of that name
        if buffer.rows_variable in ctx.states:
            ctx.diag.error(
                f"state variable '{buffer.rows_variable}' takes the name of sample buffer '{buffer.name}''s row count",
                ctx.states[buffer.rows_variable].loc,
                "rename it",
            )
    ctx.inputs = {i.name: declarations.input(checker, n, i) for n, i in enumerate(spec.inputs)}
    # declarations with errors are still declared (a bad default keeps its name and type), so the expressions
    # are checked too: every error of the spec is reported in one round

    common = {
        p.name: Binding("param", declarations.param_type(p), loaded.key_location(("params", p.name)))
        for p in ctx.params.values()
    }
    common.update({name: Binding("constant", static(c.dtype), Location()) for name, c in CONSTANTS.items()})
    states = {s.name: Binding("state", tensor(s.dtype), s.loc) for s in ctx.states.values()}
    inputs = {
        i.name: Binding("input", tensor(i.dtype), loaded.location(("inputs", n)))
        for n, i in enumerate(ctx.inputs.values())
    }

    checks = [ctx.guard(lambda: declarations.check(checker, n, common)) for n in range(len(spec.checks))]

    update_scope = Scope(
        "update",
        {**common, **states, **inputs},
        {k: (v, ("update", "let", k)) for k, v in spec.update.let.items()},
    )
    updates = []
    assignments = spec.update.assignments
    for name, text in assignments.items():
        if name not in ctx.states:
            hint = did_you_mean(name, ctx.states) or "list it under state: first"
            ctx.diag.error(f"update for unknown state variable '{name}'", loaded.key_location(("update", name)), hint)
            continue
        state = ctx.states[name]
        value = ctx.guard(lambda: checker.update_value(text, state, ("update", name), update_scope))
        if value is None:
            update_scope.mark_mentioned(text)
        else:
            updates.append((state, value))
    for state in ctx.states.values():
        if state.name not in assignments and state.name not in invalid_names:
            ctx.diag.error(
                f"state variable '{state.name}' is never updated",
                state.loc,
                f"add 'update: {{{state.name}: <expression>}}'",
            )
    report_unused(checker, update_scope, ("update", "let"))

    result_scope = Scope(
        "result",
        {**common, **states},
        {k: (v, ("result", "let", k)) for k, v in spec.result.let.items()},
        frozenset(ctx.inputs),
    )
    result = ctx.guard(lambda: checker.result_value(spec.result.value, result_scope))
    if result is None:
        result_scope.mark_mentioned(spec.result.value)
    report_unused(checker, result_scope, ("result", "let"))
    check_unfilled_ignored(ctx, [e for _, e in update_scope.locals + updates], result_scope.locals, result)
    check_examples(ctx)
    ctx.diag.raise_if_any()
    return ir.Metric(
        spec_path=loaded.path,
        name=spec.name,
        class_name=spec.class_name,
        description=spec.description,
        package=spec.package,
        params=list(ctx.params.values()),
        inputs=list(ctx.inputs.values()),
        states=list(ctx.states.values()),
        update_locals=update_scope.locals,
        updates=updates,
        result_locals=result_scope.locals,
        result=result,
        examples=list(spec.examples),
        uses_sample_weight=ctx.uses_sample_weight,
        higher_is_better=spec.higher_is_better,
        list_sizes=list_sizes([e for _, e in update_scope.locals + updates], update_scope),
        checks=[c for c in checks if c is not None],
    )


__all__ = ["analyse"]
