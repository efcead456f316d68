"""bucketize(x, linspace(a, b, n)) with constants a ≤ b → bucketize_sorted: the edges ascend, no sort first.

`bucketize` counts the edges at or below each value whatever their order, so a target sorts them before its
binary search; a linspace from a lower to a higher constant (a calibration error's `linspace(0.0, 1.0, n_bins +
1)`) ascends already, and the sort is one op for nothing on every call. Only literal bounds are read here: a
param's value is known when the metric is made, not when it is built.

Applies to the targets whose column of the function table has `bucketize_sorted`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .. import ir

if TYPE_CHECKING:
    from ..targets.base import Target

PRODUCES = "bucketize_sorted"


def applies_to(target: "Target") -> bool:
    return PRODUCES in target.column


def _ascending(edges: ir.Expr) -> bool:
    if not (isinstance(edges, ir.Apply) and edges.function == "linspace"):
        return False
    start, stop = (ir.cast_number(edges.arg(name)) or edges.arg(name) for name in ("start", "stop"))
    return isinstance(start, ir.Literal) and isinstance(stop, ir.Literal) and start.value <= stop.value


def _sorted(e: ir.Expr) -> ir.Expr:
    if isinstance(e, ir.Apply) and e.function == "bucketize" and _ascending(e.arg("edges")):
        return dataclasses.replace(e, function=PRODUCES)
    return e


def run(metric: ir.Metric) -> ir.Metric:
    return ir.map_expressions(metric, _sorted)
