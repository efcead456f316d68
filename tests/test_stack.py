"""concat of x[..., None] parts along the last axis is written as one stack of the x (lowering.Printer): no new
axis made for each part first. Every target against numpy, with parts of two axes, of none, and a concat the
stack must not take (`[:, None]` parts, whose new axis is not the last where x has two)."""

from __future__ import annotations

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
inputs:
  - {name: y_true, shape: [null, 3]}
  - {name: y_pred, shape: [null, 3]}
state:
  planes: {shape: [3, 2]}
  totals: {shape: [2]}
  columns: {shape: [1, 6]}
update:
  planes: sum(concat(y_true[..., None], y_pred[..., None]), axis=0)
  totals: concat(sum(y_true)[..., None], sum(y_pred)[..., None])
  # [:, None] of a matrix: a new second axis, joined along the last: not a stack
  columns: sum(concat(y_true[:, None], y_pred[:, None]), axis=0)
result: concat(concat(reshape(planes, [-1]), totals), reshape(columns, [-1]))
"""


def expected(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    planes = np.stack([y_true, y_pred], -1).sum(0)
    totals = np.array([y_true.sum(), y_pred.sum()])
    columns = np.concatenate([y_true[:, None], y_pred[:, None]], -1).sum(0)  # [1, 6]
    return np.concatenate([planes.reshape(-1), totals, columns.reshape(-1)])


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_stacked_parts_are_numpys(target):
    source = generate_from_text(SPEC, "p.yaml", target)
    update = source.split("def update", 1)[1]
    assert update.count("stack(") == 2, update  # planes and totals; columns stays a concat
    run, rng = driver(target), np.random.default_rng(0)
    metric = run.make(module_of(source, f"stack_{target}").Probe)
    data = {k: rng.uniform(-1, 1, (5, 3)).astype(np.float32) for k in ("y_true", "y_pred")}
    run.update(metric, data)
    np.testing.assert_allclose(run.result(metric), expected(data["y_true"], data["y_pred"]), rtol=1e-5)
