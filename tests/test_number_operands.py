"""A number beside a tensor stays a Python number in the generated code where the array library gives it the
tensor's dtype: `x / 2` after plain_division (every target), and a constant branch of `where` on the torchmetrics
target (Target.scalar_operands), where `torch.tensor(-1, ...)` cost three more ops on every call, and `maximum` /
`minimum` with a number there, written as torch.clamp (torch.maximum takes tensors only). Checked on the code,
against numpy on every target (NaN included), and on the dtype a float64 torchmetrics metric keeps."""

from __future__ import annotations

import types

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
  fill: {type: int, default: -1}
state:
  halves: {}
  labels: {}
  flags: {}
  bounded: {}
update:
  let:
    ids: cast(y_true, int32)
  # a float tensor, an int tensor and a bool tensor beside a number each
  halves: sum(where(y_true > 0.0, y_pred, 0.5)) / 2
  labels: cast(sum(where(ids > 0, ids, fill)), float)
  flags: cast(sum(cast(where(y_pred > 0.0, y_true > 0.0, False), int32)), float)
  bounded: sum(maximum(y_pred, 0.5) * minimum(1.0, y_true)) + cast(sum(maximum(ids, fill + 2)), float)
result: halves + 10.0 * labels + 100.0 * flags + 1000.0 * bounded
"""


def module_for(target: str) -> types.ModuleType:
    return module_of(generate_from_text(SPEC, "p.yaml", target), f"number_operands_{target}")


def expected(y_true: np.ndarray, y_pred: np.ndarray, fill: int) -> float:
    halves = np.sum(np.where(y_true > 0, y_pred, 0.5)) / 2
    ids = y_true.astype(np.int32)
    labels = np.sum(np.where(ids > 0, ids, fill))
    flags = np.sum(np.where(y_pred > 0, y_true > 0, False))
    bounded = np.sum(np.maximum(y_pred, 0.5) * np.minimum(1.0, y_true)) + np.sum(np.maximum(ids, fill + 2))
    return halves + 10.0 * labels + 100.0 * flags + 1000.0 * bounded


def test_the_torchmetrics_target_writes_the_numbers_as_numbers():
    update = generate_from_text(SPEC, "p.yaml", "torchmetrics").split("def update(", 1)[1].split("def compute(")[0]
    assert "torch.tensor(" not in update, update
    assert "/ 2\n" in update or "/ 2)" in update, update
    assert "torch.maximum" not in update and "torch.clamp(preds, min=0.5)" in update, update
    assert "torch.clamp(target, max=1.0)" in update, update


def test_a_division_by_a_number_is_by_the_number_on_every_target():
    for target in EVERY_TARGET:
        source = generate_from_text(SPEC, "p.yaml", target)
        assert "/ 2" in source and "constant(2" not in source and "tensor(2" not in source, target


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_the_numbers_are_numpys(target):
    run = driver(target)
    metric = run.make(module_for(target).Probe, fill=-3)
    y_true = np.array([0.0, 2.0, 1.0, 0.0, 3.0], np.float32)
    y_pred = np.array([1.5, -1.0, 2.0, -0.5, 0.25], np.float32)
    run.update(metric, {"y_true": y_true, "y_pred": y_pred})
    np.testing.assert_allclose(run.result(metric), expected(y_true, y_pred, -3), rtol=1e-6)


def test_a_float64_torchmetrics_metric_stays_float64():
    torch = pytest.importorskip("torch")
    metric = module_for("torchmetrics").Probe().set_dtype(torch.float64)
    y_true = torch.tensor([0.0, 2.0, 1.0], dtype=torch.float64)
    y_pred = torch.tensor([1.0 / 3.0, -1.0, 2.0], dtype=torch.float64)
    metric.update(y_pred, y_true)
    assert metric.halves.dtype == torch.float64
    # 1/3 survives in float64 only: a float32 constant or state anywhere would round it
    np.testing.assert_allclose(metric.compute().item(), expected(y_true.numpy(), y_pred.numpy(), -1), rtol=1e-12)


BINS = """
name: bins
class_name: Bins
description: d
params:
  n: {type: int, default: 4, min: 1}
state:
  above: {}
update:
  above: sum(cast(y_pred[:, None] >= linspace(0.0, 1.0, n + 1), float))
result: above
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_linspace_takes_its_bounds_as_numbers_on_the_torchmetrics_target(target):
    """Target.number_operands: torch.linspace(0.0, 1.0, ...) without a tensor made of each bound on every call."""
    source = generate_from_text(BINS, "b.yaml", target)
    if target == "torchmetrics":
        assert "0.0, 1.0, self.n + 1, dtype=self.dtype" in source and "torch.tensor(" not in source, source
    module = module_of(source, f"bins_{target}")
    run = driver(target)
    metric = run.make(module.Bins, n=4)
    y_pred = np.array([0.0, 0.3, 0.5, 0.99, 1.0], np.float32)
    run.update(metric, {"y_true": np.zeros(5, np.float32), "y_pred": y_pred})
    expected = np.sum(y_pred[:, None] >= np.linspace(0.0, 1.0, 5, dtype=np.float32))
    np.testing.assert_allclose(run.result(metric), expected)
