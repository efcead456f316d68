"""Stage 4, optimise: IR → IR passes, each in a module of its own, run before a target's lowering.

A pass keeps the numbers the metric computes and changes only how they are computed. Each says which targets
it applies to (usually: those whose column of the function table can write what it produces), and each is
tested against the unoptimised lowering (tests/test_architecture.py, tests/test_choose_at_construction.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .. import ir
from . import (
    branch_on_scalar,
    choose_at_construction,
    compute_where_read,
    fold_scalars,
    inline_into_branches,
    ones_without_cast,
    plain_division,
    shift_ids_once,
    sorted_edges,
    split_static_mask,
    split_weighted_sum,
    unweighted_counts,
    unweighted_sums,
)

if TYPE_CHECKING:
    from ..targets.base import Target


@dataclass(frozen=True)
class Pass:
    name: str
    applies_to: Callable[["Target"], bool]
    run: Callable[[ir.Metric], ir.Metric]


PASSES = (
    Pass("split_static_mask", split_static_mask.applies_to, split_static_mask.run),
    Pass("sorted_edges", sorted_edges.applies_to, sorted_edges.run),
    Pass("unweighted_sums", unweighted_sums.applies_to, unweighted_sums.run),
    Pass("unweighted_counts", unweighted_counts.applies_to, unweighted_counts.run),
    Pass("choose_at_construction", choose_at_construction.applies_to, choose_at_construction.run),
    Pass("branch_on_scalar", branch_on_scalar.reads_back, branch_on_scalar.run),
    Pass("branch_on_scalar, traced", branch_on_scalar.traces, branch_on_scalar.run_traced),
    Pass("inline_into_branches", inline_into_branches.applies_to, inline_into_branches.run),
    Pass("shift_ids_once", shift_ids_once.applies_to, shift_ids_once.run),
    Pass("compute_where_read", compute_where_read.applies_to, compute_where_read.run),
    Pass("plain_division", plain_division.applies_to, plain_division.run),
    Pass("split_weighted_sum", split_weighted_sum.applies_to, split_weighted_sum.run),
    Pass("ones_without_cast", ones_without_cast.applies_to, ones_without_cast.run),
    Pass("fold_scalars", fold_scalars.applies_to, fold_scalars.run),
)


def optimise(metric: ir.Metric, target: "Target", enabled: bool = True) -> ir.Metric:
    """``metric`` after every pass that applies to ``target`` (none when not ``enabled``)."""
    for p in PASSES if enabled else ():
        if p.applies_to(target):
            metric = p.run(metric)
    return metric
