"""Sums and counts by the same ids → the ids shifted once, read by each: `segment_sum_shifted`, `count_shifted`.

A target that has no segment sum of its own (torch) writes one as a bincount or an index_add over the ids
shifted by one, those out of range clamped to two extra segments the sum then drops: two ops over the batch
before each sum. A calibration error sums three things per bin, and an exact AUROC or a retrieval metric two to
four per group of its sorted samples, every one by the same ids; each shifted them again (nine ops of the 35 a
calibration update makes at a batch of 1,024). This pass gives each scope's ids that two or more sums share one
definition, `<ids>_shifted = shifted_ids(ids, n)`, written before its first reader, and the sums read it. Only
ids that are an input, a state variable or a definition always computed are shared (see _always_a_tensor).
Where every reader sits in a branch the params choose, compute_where_read (after this pass) guards it the same.

Applies to the targets whose column of the function table has `shifted_ids`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Optional

from .. import ir

if TYPE_CHECKING:
    from ..targets.base import Target

PRODUCES = "shifted_ids"

# the calls that take (ids, number of segments), and which of their arguments those are
_IDS_AND_LENGTH = {"segment_sum": ("ids", "num_segments"), "bincount": ("x", "length"), "count_ids": ("x", "length")}


def applies_to(target: "Target") -> bool:
    return PRODUCES in target.column


def _key(e: ir.Expr) -> Optional[tuple[ir.Expr, ir.Expr]]:
    """(ids, number of segments) of a sum or count by ids; None for anything else."""
    if not (isinstance(e, ir.Apply) and e.function in _IDS_AND_LENGTH):
        return None
    ids, length = _IDS_AND_LENGTH[e.function]
    return e.arg(ids), e.arg(length)


def _by_shifted(e: ir.Apply, shifted: ir.Ref) -> ir.Apply:
    """``e`` reading ids already shifted: a weighted bincount is the segment sum of its weights."""
    ids, length = _IDS_AND_LENGTH[e.function]
    weights = dict(e.args).get("data" if e.function == "segment_sum" else "weights")
    if weights is None:
        return dataclasses.replace(e, function="count_shifted", args=(("shifted", shifted), ("length", e.arg(length))))
    args = (("data", weights), ("shifted", shifted), ("num_segments", e.arg(length)))
    return dataclasses.replace(e, function="segment_sum_shifted", args=args)


def _always_a_tensor(ids: ir.Expr, definitions: dict[str, ir.Expr]) -> bool:
    """Whether ``ids`` is a value wherever the definition the pass adds is computed: an input, a state variable,
    or a definition that is not `x if c else None` (one guarded by a param's test is None where the test fails,
    and compute_where_read cannot always give the shifted ids the same guard: a test that reads a definition, or
    more alternatives than it keeps)."""
    if not isinstance(ids, ir.Ref):
        return False  # an expression may read an optional param, valid only where the sums' branch is taken
    if ids.kind in ("input", "state"):
        return True
    definition = definitions.get(ids.name) if ids.kind == "local" else None
    return definition is not None and ir.update_condition(definition)[0] is None


def _shared(
    local_pairs: list[tuple[str, ir.Expr]], roots: list[ir.Expr], taken: set[str]
) -> tuple[list[tuple[str, ir.Expr]], list[ir.Expr]]:
    """One scope's definitions and roots, the ids that two or more sums share shifted once."""
    uses = Counter(key for expr in [e for _, e in local_pairs] + roots for node in ir.walk(expr) if (key := _key(node)))
    definitions = dict(local_pairs)
    names: dict[tuple[ir.Expr, ir.Expr], ir.Ref] = {}
    for (ids, length), count in uses.items():
        if count < 2 or not _always_a_tensor(ids, definitions):
            continue
        stem = f"{ids.name}_shifted"
        name, n = stem, 1
        while name in taken:
            n, name = n + 1, f"{stem}{n + 1}"
        taken.add(name)
        names[(ids, length)] = ir.Ref(ids.type, "local", name)

    if not names:
        return local_pairs, roots

    def shift(e: ir.Expr) -> ir.Expr:
        key = _key(e)
        return _by_shifted(e, names[key]) if key in names else e

    unplaced = {
        ref.name: ir.Apply(ids.type, PRODUCES, (("ids", ids), ("num_segments", length)))
        for (ids, length), ref in names.items()
    }
    out: list[tuple[str, ir.Expr]] = []
    for name, expr in local_pairs:
        rewritten = ir.rewrite(expr, shift)
        # each shifted ids just before the first definition that reads them (their ids are defined by then)
        for needed in [n for n in unplaced if any(isinstance(r, ir.Ref) and r.name == n for r in ir.walk(rewritten))]:
            out.append((needed, unplaced.pop(needed)))
        out.append((name, rewritten))
    out += list(unplaced.items())  # read by the roots alone
    return out, [ir.rewrite(root, shift) for root in roots]


def run(metric: ir.Metric) -> ir.Metric:
    taken = {p.name for p in metric.params} | {i.name for i in metric.inputs} | {s.name for s in metric.states}
    taken |= {name for name, _ in metric.update_locals + metric.result_locals}
    update_locals, update_roots = _shared(metric.update_locals, [e for _, e in metric.updates], taken)
    result_locals, (result,) = _shared(metric.result_locals, [metric.result], taken)
    return dataclasses.replace(
        metric,
        update_locals=update_locals,
        updates=[(state, e) for (state, _), e in zip(metric.updates, update_roots)],
        result_locals=result_locals,
        result=result,
    )
