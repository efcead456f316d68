"""Sample buffers whose unfilled rows the result ignores (`unfilled: ignored`): that the buffer's length reaches
the result only from the buffer itself.

A target with fixed shapes (XLA, jax.jit) reads such a buffer whole, its unfilled rows 0; the torchmetrics target
reads only the rows it holds. The spec's `ignored` says the rows past them do not change the result (they weigh
nothing, are masked with filled(), sort last); the tests run every shipped spec on every target against the
reference, which reads buffers whole. What the analysis can check, it does: a length written with the params of
`rows:` (`arange(max_samples)`) is the capacity on one target and the rows held on another, so the result, and
the other state variables' shapes, may not name them (`shape(samples, 0)` is the length as read); and the
buffers sized by one param are read alike, so that their lengths agree on every target.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from .. import ir
from .context import Context


def check_unfilled_ignored(
    ctx: Context, update: list[ir.Expr], result_locals: list[tuple[str, ir.Expr]], result: Optional[ir.Expr]
) -> None:
    """Reports each way the spec could tell the rows held from the capacity of a buffer with `unfilled: ignored`
    (``update``: the update's definitions and values)."""
    buffers = [s for s in ctx.states.values() if s.is_buffer and len(s.shape) > 0]
    sizing = {s.name: sizing_params(s.shape[0]) for s in buffers}
    # the buffer itself, filled() and shape() of it: each reads it as a target keeps it
    read_by_update = ir.states_read(update) | {
        e.state for x in update for e in ir.walk(x) if isinstance(e, ir.StateDim)
    }
    for s in (s for s in buffers if s.unfilled_ignored):
        where = ctx.loaded.location(("state", s.name, "rows"))
        if s.name in read_by_update:
            ctx.diag.error(
                f"sample buffer '{s.name}' has unfilled: ignored, so only the result may read it, not the update",
                ctx.loaded.location(("state", s.name, "unfilled")),
                "a target may keep only the rows it holds: the update would see a buffer of another length",
            )
        if not sizing[s.name]:
            ctx.diag.error(
                f"sample buffer '{s.name}' has unfilled: ignored, so its rows: must be a param's (rows: max_samples)",
                where,
                "a number there could be written again in the result, where it is not the length read",
            )
            continue
        for other in buffers:
            shared = sizing[s.name] & sizing[other.name]
            if other is not s and shared and (not other.unfilled_ignored or other.shape[0] != s.shape[0]):
                ctx.diag.error(
                    f"sample buffers '{s.name}' and '{other.name}' are both sized by '{sorted(shared)[0]}', so their "
                    "unfilled rows are read alike: give them the same rows: and unfilled:",
                    ctx.loaded.location(("state", other.name, "rows")),
                )
    ignored = {p: s for s in buffers if s.unfilled_ignored for p in sizing[s.name]}
    if not ignored:
        return
    for state in ctx.states.values():
        dims = state.shape[1:] if state.is_buffer else state.shape
        for param in sorted(_params_named(dims) & set(ignored)):
            ctx.diag.error(
                f"state variable '{state.name}''s shape names '{param}', which sizes sample buffer "
                f"'{ignored[param].name}' (unfilled: ignored)",
                ctx.loaded.location(("state", state.name, "shape")),
                "the result reads that buffer as the rows it holds on some targets, not as many as the param says",
            )
    # a callable param is the user's function: whether it reads the unfilled rows is the user's choice, not the
    # spec's, so the buffer (or a value made from it) is not passed to one
    from_buffer = {s.name for s in ignored.values()}
    made_from: set[str] = set()
    for name, expr in result_locals + ([("", result)] if result is not None else []):
        reads = {_read_from(e, from_buffer, made_from) for e in ir.walk(expr)} - {None}
        if reads and name:
            made_from.add(name)
        for call in (e for e in ir.walk(expr) if isinstance(e, ir.CallParam)):
            given = {_read_from(e, from_buffer, made_from) for arg in call.args for e in ir.walk(arg)} - {None}
            if given:
                ctx.diag.error(
                    f"callable param '{call.name}' is given '{sorted(given)[0]}', a sample buffer with unfilled: "
                    "ignored or a value made from one",
                    ctx.loaded.key_location(("result", "let", name) if name else ("result", "value")),
                    "the function is the user's: it may read the unfilled rows, which some targets leave out",
                )
        for param in sorted(_params_named([expr]) & set(ignored)):
            buffer = ignored[param].name
            ctx.diag.error(
                f"the result names '{param}', which sizes sample buffer '{buffer}' (unfilled: ignored)",
                ctx.loaded.key_location(("result", "let", name) if name else ("result", "value")),
                f"its length as the result reads it is shape({buffer}, 0): the torchmetrics target reads only the "
                f"rows it holds, fewer than {param}",
            )


def _read_from(e: ir.Expr, buffers: set[str], made_from: set[str]) -> Optional[str]:
    """The buffer (or the definition made from one) that ``e`` reads, if any."""
    if isinstance(e, ir.Ref) and (
        (e.kind == "state" and e.name in buffers) or (e.kind == "local" and e.name in made_from)
    ):
        return e.name
    if isinstance(e, (ir.Filled, ir.StateDim)) and e.state in buffers:
        return e.state
    return None


def sizing_params(rows: ir.Expr) -> frozenset[str]:
    """The params a buffer's rows are made of (those that only choose between sizes, `max_samples if thresholds
    is None else 0`, aside)."""
    if isinstance(rows, ir.Select):
        return sizing_params(rows.then) | sizing_params(rows.orelse)
    return frozenset(_params_named([rows]))


def _params_named(exprs: Iterable[ir.Expr]) -> set[str]:
    return {name for expr in exprs for e in _walk(expr) for name in _param_names(e)}


def _walk(expr: ir.Expr) -> Iterator[ir.Expr]:
    """ir.walk, but not into filled()'s capacity: the buffer's own rows, which each target reads as it reads them."""
    yield expr
    if not isinstance(expr, ir.Filled):
        for child in ir.children(expr):
            yield from _walk(child)


def _param_names(e: ir.Expr) -> Iterator[str]:
    if isinstance(e, ir.Ref) and e.kind == "param":
        yield e.name
    elif isinstance(e, (ir.Length, ir.IsList, ir.CallParam)):
        yield e.name
