"""The torchmetrics target's cheaper spellings of the language (issue 22's per-call cost), each checked on the
generated code and against numpy:

- the language's int32 is torch.int64 for values an update or compute makes (torch indexes with int64), while a
  state keeps the dtype its spec declares;
- passes/ones_without_cast: `p is None or x != p` where p is None is ones made in bool, not a bool copy of x;
- _divide_no_nan and _segment_sum written with fewer ops, the same numbers (the segment sums: against numpy in
  tests/test_torchmetrics_target.py).
"""

from __future__ import annotations

import types

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen.compiler import generate_from_text
from support import module_of

torch = pytest.importorskip("torch")

SPEC = """
name: probe
class_name: Probe
description: d
params:
  ignore_index: {type: int, default: null}
  num_classes: {type: int, default: 3, min: 1}
inputs:
  - {name: y_true}
  - {name: y_pred}
state:
  counts: {shape: [num_classes]}
  seen: {dtype: int32}
update:
  let:
    kept: ignore_index is None or y_true != ignore_index
    ids: where(kept, cast(y_true, int32), -1)
    order: argsort(y_pred)
  counts: bincount(ids, num_classes, weights=gather(sample_weights(y_true), argsort(order)))
  seen: sum(cast(kept, int32))
result: counts / cast(seen, float)
"""


def _module(target: str) -> types.ModuleType:
    return module_of(generate_from_text(SPEC, "p.yaml", target), f"torch_index_dtype_{target}")


def test_int32_values_are_int64_on_the_torch_target_and_states_keep_their_dtype():
    source = generate_from_text(SPEC, "p.yaml", "torchmetrics")
    update = source.split("def update(", 1)[1].split("def compute(", 1)[0]
    assert "torch.int32" not in update, update
    assert ".to(torch.int64)" in update  # cast(y_true, int32)
    assert "torch.ones_like(target, dtype=torch.bool)" in update, update  # no bool copy of the labels
    metric = _module("torchmetrics").Probe()
    metric.update(torch.tensor([0.0, 2.0, 1.0]), torch.tensor([0.3, 0.1, 0.2]))
    assert metric.seen.dtype == torch.int32 and metric.counts.dtype == torch.float32


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("ignore_index", [None, 2])
def test_the_numbers_are_the_languages(target, ignore_index):
    run = driver(target)
    metric = run.make(_module(target).Probe, ignore_index=ignore_index)
    rng = np.random.default_rng(3)
    labels, weights = [], []
    for batch in (9, 1, 12):
        y_true = rng.integers(-1, 4, batch).astype(np.float32)  # -1 and 3: outside 0..2, left out of the counts
        y_pred = rng.permutation(batch).astype(np.float32)  # no ties: one order
        w = rng.random(batch).astype(np.float32)
        run.update(metric, {"y_true": y_true, "y_pred": y_pred}, w)
        # each label weighs the weight at its score's rank (gather by argsort(argsort))
        labels.append(y_true), weights.append(w[np.argsort(np.argsort(y_pred))])
    y_true, w = np.concatenate(labels), np.concatenate(weights)
    kept = np.ones_like(y_true, bool) if ignore_index is None else y_true != ignore_index
    counts = np.array([np.sum(w[kept & (y_true == c)]) for c in range(3)])
    np.testing.assert_allclose(run.result(metric), counts / np.sum(kept), rtol=1e-5)


def test_divide_no_nan_is_zero_where_the_denominator_is_and_keeps_gradients():
    helpers = module_of("import torch\n" + _helper("_divide_no_nan"), "torch_helpers_probe")
    a = torch.tensor([1.0, 0.0, float("nan"), 2.0, -3.0], requires_grad=True)
    b = torch.tensor([0.0, 0.0, 1.0, 4.0, 0.0])
    out = helpers._divide_no_nan(a, b)
    np.testing.assert_array_equal(out.detach().numpy(), [0.0, 0.0, np.nan, 0.5, 0.0])
    out.sum().backward()
    reference = a.detach().clone().requires_grad_()
    torch.where(b == 0, 0.0, reference / b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), reference.grad.numpy())
    # broadcast both ways: a scalar over a vector, a vector over a 0-d denominator
    np.testing.assert_array_equal(helpers._divide_no_nan(torch.tensor(3.0), b[:2] + 2).numpy(), [1.5, 1.5])
    np.testing.assert_array_equal(helpers._divide_no_nan(b, torch.tensor(0.0)).numpy(), np.zeros(5))


def _helper(name: str) -> str:
    from metricgen.targets import TARGETS

    return TARGETS["torchmetrics"].helper_sources[name]


COUNTS = """
name: counts
class_name: Counts
description: d
params:
  num_classes: {type: int, default: 3, min: 1}
inputs:
  - {name: y_true, dtype: int32}
  - {name: y_pred}
state:
  counts: {shape: [num_classes]}
update:
  counts: bincount(reshape(y_true, [-1]), num_classes, weights=reshape(sample_weights(y_true), [-1]))
result: counts
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_count_weighted_by_sample_weights_counts_without_ones_when_unweighted(target):
    """passes/unweighted_counts: on the torchmetrics target the unweighted call is one integer count; every target
    counts as numpy does, with weights and without, ids outside 0..num_classes-1 dropped."""
    source = generate_from_text(COUNTS, "c.yaml", target)
    if target == "torchmetrics":
        assert "_count_ids(" in source and "if sample_weight is not None" in source, source
    module = module_of(source, f"counts_{target}")
    run = driver(target)
    y_true = np.array([[0, 2], [2, 5], [-1, 1]], np.int32)
    y_pred = np.zeros((3, 2), np.float32)
    w = np.array([0.5, 2.0, 3.0], np.float32)
    for weights in (None, w):
        metric = run.make(module.Counts)
        run.update(metric, {"y_true": y_true, "y_pred": y_pred}, weights)
        each = np.ones_like(y_true, np.float64) if weights is None else np.broadcast_to(w[:, None], y_true.shape)
        expected = [np.sum(each[y_true == c]) for c in range(3)]
        np.testing.assert_allclose(run.result(metric), expected, rtol=1e-6)


PEAK = """
name: peak
class_name: Peak
description: d
inputs:
  - {name: y_true, dtype: int32}
  - {name: y_pred}
state:
  peak: {dtype: int32, init: -1000, fold: max}
  last: {dtype: int32, fold: assign}
update:
  peak: max(y_true)
  last: sum(y_true)
result: cast(peak, float) + 1000.0 * cast(last, float)
"""


def test_an_int32_state_given_a_value_keeps_its_dtype():
    """max/min/assign folds give the state a value the update made (int64 here): it is cast to the state's dtype,
    as `+=` keeps it in place, so that processes syncing it agree."""
    module = module_of(generate_from_text(PEAK, "p.yaml", "torchmetrics"), "peak_torchmetrics")
    metric = module.Peak()
    metric.update(torch.tensor([0.0, 0.0]), torch.tensor([3, 7]))
    assert metric.peak.dtype == torch.int32 and metric.last.dtype == torch.int32
    assert metric.compute().item() == 7 + 1000.0 * 10


def test_a_reduction_added_to_a_state_needs_no_new_axis_on_the_torch_target():
    """passes/fold_scalars: `total += sum(x)[None]` is `total += sum(x)` where `+=` is torch's in-place add (it
    broadcasts); the numbers, with one output and several, are checked against torchmetrics' MeanSquaredError in
    tests/test_torchmetrics_catalogue.py."""
    from pathlib import Path

    from metricgen.loader import load_spec_file
    from metricgen.compiler import generate

    spec = Path(__file__).resolve().parents[1] / "catalogue" / "torchmetrics" / "specs" / "mean_squared_error.yaml"
    torch_update = generate(load_spec_file(spec), "torchmetrics").split("def update(", 1)[1].split("def compute(")[0]
    assert "[None]" not in torch_update, torch_update
    assert "[None]" in generate(load_spec_file(spec), "tf")  # assign_add needs the state's shape
