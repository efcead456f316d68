"""State shaped by the first batch (Keras' `_build`): `shape: ["shape(y_pred, -1)"]` makes the variables on the
first update, from that batch's shapes. Checked on every target against numpy: the sums, result() before any
batch, merging into and from a metric that has seen none, reset, torchmetrics' forward, and an input whose size
is not known when traced."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import tf
from drivers import driver
from test_semantics import compile_class

import torch

PER_CLASS = """
name: per_class
class_name: PerClass
description: weighted sums of y_true * y_pred per class (the last axis), its size taken from the first batch
inputs:
  - {name: y_true, same_rank_as: y_pred}
  - {name: y_pred}
state:
  hits: {shape: ["shape(y_pred, -1)"]}
  rows: {}
update:
  hits: sum(sample_weights(y_pred) * y_true * y_pred, axis=0)
  rows: cast(shape(y_pred, 0), float)
result: hits / rows
"""

from conftest import EVERY_TARGET as TARGETS  # noqa: E402  (every registered target)


def batches(rng, classes=3, sizes=(5, 1, 7)):
    return [
        (rng.integers(0, 2, (n, classes)).astype(np.float32), rng.uniform(size=(n, classes)).astype(np.float32))
        for n in sizes
    ]


def update(metric, target, y_true, y_pred):
    driver(target).update(metric, {"y_true": y_true, "y_pred": y_pred})


def value(metric, target):
    return driver(target).result(metric)


def per_class(target, count=1):
    """``count`` PerClass metrics of the target (of one class: a merge takes its own class only)."""
    cls = compile_class(PER_CLASS, "PerClass", target)
    return [driver(target).make(cls) for _ in range(count)]


def expected(parts):
    return sum((t * p).sum(0) for t, p in parts) / sum(len(p) for _, p in parts)


@pytest.mark.parametrize("target", TARGETS)
def test_sums_match_numpy_and_result_waits_for_a_batch(target):
    parts = batches(np.random.default_rng(0))
    [metric] = per_class(target)
    with pytest.raises(ValueError, match="PerClass has seen no batch yet"):
        value(metric, target)
    for t, p in parts:
        update(metric, target, t, p)
    np.testing.assert_allclose(value(metric, target), expected(parts), rtol=1e-6)
    assert value(metric, target).shape == (3,)


@pytest.mark.parametrize("target", TARGETS)
def test_merge_into_and_from_a_metric_that_has_seen_no_batch(target):
    parts = batches(np.random.default_rng(1))
    *shards, total = per_class(target, 4)  # the last shard sees nothing
    update(shards[0], target, *parts[0])
    for t, p in parts[1:]:
        update(shards[1], target, t, p)
    driver(target).merge(total, shards)
    np.testing.assert_allclose(value(total, target), expected(parts), rtol=1e-6)


@pytest.mark.parametrize("target", TARGETS)
def test_reset_then_a_batch(target):
    parts = batches(np.random.default_rng(2))
    [metric] = per_class(target)
    for t, p in parts:
        update(metric, target, t, p)
    driver(target).reset(metric)
    update(metric, target, *parts[2])
    np.testing.assert_allclose(value(metric, target), expected(parts[2:]), rtol=1e-6)


def test_torchmetrics_forward_gives_the_batch_value_and_accumulates():
    parts = batches(np.random.default_rng(3))
    metric = compile_class(PER_CLASS, "PerClass", "torchmetrics")()
    for i, (t, p) in enumerate(parts):
        batch_value = metric(torch.as_tensor(t), torch.as_tensor(p))
        np.testing.assert_allclose(np.asarray(batch_value), expected(parts[i : i + 1]), rtol=1e-6)
    np.testing.assert_allclose(metric.compute().numpy(), expected(parts), rtol=1e-6)


def test_an_unknown_size_when_traced_is_a_clear_error():
    metric = compile_class(PER_CLASS, "PerClass", "tf")()
    spec = tf.TensorSpec([None, None], tf.float32)
    step = tf.function(metric.update_state, input_signature=[spec, spec])
    with pytest.raises(ValueError, match=r"`y_pred` needs a known size along axis -1; got shape \(None, None\)"):
        step.get_concrete_function()


def test_a_known_size_when_traced_builds_under_tf_function():
    parts = batches(np.random.default_rng(4))
    metric = compile_class(PER_CLASS, "PerClass", "tf")()
    spec = tf.TensorSpec([None, 3], tf.float32)
    step = tf.function(metric.update_state, input_signature=[spec, spec])
    for t, p in parts:
        step(t, p)
    np.testing.assert_allclose(metric.result().numpy(), expected(parts), rtol=1e-6)


WITH_A_PEAK = """
name: with_a_peak
class_name: WithAPeak
description: per-class sums shaped by the first batch, and a running maximum that starts below any value
inputs:
  - {name: y_true}
  - {name: y_pred}
state:
  hits: {shape: ["shape(y_pred, -1)"]}
  peak: {init: -1000000000.0, fold: max}
update:
  hits: sum(y_pred, axis=0)
  peak: max(y_pred)
result: sum(hits) + peak
"""


@pytest.mark.parametrize("target", TARGETS)
def test_reset_before_the_first_batch_and_an_input_read_only_for_its_size(target):
    """reset_state() of a metric that has seen nothing (a loop that resets at the top of each epoch), with a
    state that starts away from 0 beside one shaped by the batch; y_true, never read, may be a plain list."""
    metric = driver(target).make(compile_class(WITH_A_PEAK, "WithAPeak", target))
    y_pred = np.arange(6, dtype=np.float32).reshape(2, 3)
    driver(target).reset(metric)
    update(metric, target, [[0, 1, 0], [1, 0, 0]], y_pred)
    assert float(value(metric, target)) == y_pred.sum() + y_pred.max()


AUC_LIKE = """
name: per_label
class_name: PerLabel
description: sums per label when multi_label (the labels from num_labels, else from the first batch), else one
params:
  multi_label: {type: bool, default: false}
  num_labels: {type: int, default: null, min: 1}
inputs:
  - {name: y_true}
  - {name: y_pred}
state:
  sums: {shape: ["(num_labels if num_labels is not None else shape(y_pred, -1)) if multi_label else 1"]}
update:
  sums: sum(y_pred, axis=0) if multi_label else sum(y_pred)[None]
result: sums
"""


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("kwargs", [{}, {"multi_label": True, "num_labels": 3}, {"multi_label": True}])
def test_params_that_give_the_shape_make_the_state_at_once(target, kwargs):
    """Where the params give the shape, the state exists before any batch (result() is zeros, as Keras' AUC),
    and survives reset; otherwise result() waits for a batch (again after a reset, unless the target keeps the shape
    its state took, zeroed)."""
    metric = driver(target).make(compile_class(AUC_LIKE, "PerLabel", target), **kwargs)
    y_pred = np.arange(6, dtype=np.float32).reshape(2, 3)
    given = not kwargs.get("multi_label") or kwargs.get("num_labels")
    for again in (False, True):
        if given or (again and driver(target).reset_keeps_shape):
            assert np.all(value(metric, target) == 0)
        else:
            with pytest.raises(ValueError, match="has seen no batch yet"):
                value(metric, target)
        update(metric, target, np.zeros_like(y_pred), y_pred)
        expected = y_pred.sum(0) if kwargs.get("multi_label") else [y_pred.sum()]
        np.testing.assert_allclose(value(metric, target), expected)
        driver(target).reset(metric)
