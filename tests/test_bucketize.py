"""bucketize(x, edges): how many edges are at or below each value, NaN past every edge, on every target and in
its compiled way (XLA's own search puts NaN before the first edge: the tf and keras targets correct it), with
edges in any order (sorted first) and a linspace between literal numbers not sorted (passes/sorted_edges)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen.compiler import generate_from_text
from support import module_of

SPEC = """
name: probe
class_name: Probe
description: d
params:
  low: {type: float, default: 0.0}
state:
  even: {shape: [6]}
  reversed: {shape: [6]}
  from_params: {shape: [6]}
update:
  even: bincount(bucketize(y_pred, linspace(0.0, 1.0, 5)), 6)
  # descending: sorted before the search, the same count
  reversed: bincount(bucketize(y_pred, linspace(1.0, 0.0, 5)), 6)
  # bounds that are params: not known to ascend when the spec is built
  from_params: bincount(bucketize(y_pred, linspace(low, 1.0, 5)), 6)
result: concat(concat(even, reversed), from_params)
"""

VALUES = np.array([-0.5, 0.0, 0.1, 0.25, 0.3, 0.5, 0.99, 1.0, 2.0, np.nan, np.inf, -np.inf], np.float32)


def test_only_edges_not_known_to_ascend_are_sorted():
    update = generate_from_text(SPEC, "p.yaml", "torchmetrics").split("def update(", 1)[1]
    ascending = re.findall(r"_bucketize\(\s*preds,\s*torch\.linspace\([^()]*\),\s*(True|False)", update)
    assert ascending == ["True", "False", "False"], update


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_bins_are_numpys_nan_past_every_edge(target, compiled):
    run = driver(target)
    metric = run.make(module_of(generate_from_text(SPEC, "p.yaml", target), f"bucketize_{target}").Probe)
    run.update(metric, {"y_true": np.zeros_like(VALUES), "y_pred": VALUES}, compiled=compiled)
    bins = np.searchsorted(np.linspace(0.0, 1.0, 5), VALUES, side="right")  # numpy sorts NaN last: 5
    assert bins[VALUES != VALUES].tolist() == [5]
    counts = np.bincount(bins, minlength=6).astype(np.float64)
    np.testing.assert_array_equal(run.result(metric), np.concatenate([counts, counts, counts]))
