"""Tests the second mutation run of tools/mutation.py taught us (docs/testing.md, "Mutation testing"): each pins
a behaviour that a one-line slip in the generator broke without any other test failing. Numbers are checked
against numpy and keras.metrics; refusals by what they name."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from conftest import ROOT, tf  # noqa: F401  (conftest sets TensorFlow up before keras is imported)
from metricgen.formatting import _same_program
from drivers import driver, every_target_that
from test_semantics import compile_class

import keras
import torch

from conftest import EVERY_TARGET as TARGETS  # noqa: E402

CATALOGUE_SPECS = ROOT / "catalogue" / "keras" / "specs"


@keras.saving.register_keras_serializable(package="metricgen_mutation_gaps")
def power_error(y_true, y_pred, power=2.0):
    """|y_true - y_pred| ** power per element (plain operators: any target's tensors take it)."""
    return abs(y_true - y_pred) ** power


def update(metric, target, **inputs):
    driver(target).update(metric, inputs)


def value(metric, target):
    return driver(target).result(metric)


# -- forwarded kwargs (MeanMetricWrapper's **kwargs, passed to fn on every call) ------------------------------


@functools.lru_cache(maxsize=None)
def wrapper_class(target):
    return compile_class(
        (CATALOGUE_SPECS / "mean_metric_wrapper.yaml").read_text(encoding="utf-8"), "MeanMetricWrapper", target
    )


def wrapper(target, **kwargs):
    return driver(target).make(wrapper_class(target), fn=power_error, **kwargs)


def regression(seed, n=6):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, 3)).astype(np.float32), rng.uniform(size=(n, 3)).astype(np.float32)


def regression_batch(seed):
    y_true, y_pred = regression(seed)
    return {"y_true": y_true, "y_pred": y_pred}


@pytest.mark.parametrize(
    "target", every_target_that("merges_metrics", "its merge takes states, which hold no params to compare")
)
def test_merge_refuses_other_forwarded_kwargs(target):
    """A shard of `power=2` merged into shards of `power=3` is refused, naming the forwarded kwargs (merged, it
    gave a mean of squares and cubes)."""
    cubes, squares = wrapper(target, power=3.0), wrapper(target, power=2.0)
    for metric, seed in ((cubes, 1), (squares, 2)):
        update(metric, target, **regression_batch(seed))
    with pytest.raises(ValueError, match=r"MeanMetricWrapper.merge_state: .*`fn_kwargs` is \{'power': 3.0\} here"):
        driver(target).merge(cubes, [squares])


@pytest.mark.parametrize("target", TARGETS)
def test_merge_of_equal_forwarded_kwargs(target):
    """Shards of `power=3` merge into the mean of cubes over both."""
    parts = [regression_batch(1), regression_batch(2)]
    cubes, more_cubes = wrapper(target, power=3.0), wrapper(target, power=3.0)
    for metric, part in ((cubes, parts[0]), (more_cubes, parts[1])):
        update(metric, target, **part)
    driver(target).merge(cubes, [more_cubes])
    y_true, y_pred = (np.concatenate([p[k] for p in parts]) for k in ("y_true", "y_pred"))
    np.testing.assert_allclose(value(cubes, target), np.mean(np.abs(y_true - y_pred) ** 3), rtol=1e-5)


@pytest.mark.parametrize("target", every_target_that("saves_config", "it saves no config"))
def test_a_metric_made_from_its_config_keeps_the_forwarded_kwargs(target):
    """A metric made from get_config() (Keras' from_config) computes with the kwargs it was made with: `power=3`
    stays a mean of cubes."""
    metric = wrapper(target, power=3.0)
    assert driver(target).config(metric)["power"] == 3.0
    again = driver(target).remake(metric)
    batch = regression_batch(3)
    update(again, target, **batch)
    np.testing.assert_allclose(value(again, target), np.mean(np.abs(batch["y_true"] - batch["y_pred"]) ** 3), rtol=1e-5)


# -- the format cache's program check ---------------------------------------------------------------------------

DICE = (ROOT / "generated" / "dice.py").read_text(encoding="utf-8")  # black's output: formatting it changes nothing


def test_the_format_cache_refuses_code_appended_after_the_module():
    assert _same_program(DICE, DICE)
    assert not _same_program(DICE + "\n__import__('os').system('echo cached')\n", DICE)


def test_the_format_cache_refuses_code_injected_into_a_method_of_a_class_with_a_docstring():
    """The generated class has a docstring (compared up to its whitespace, as black re-indents it); what
    follows it in the class, its methods, is compared exactly."""
    method = "    def result(self):\n"
    assert DICE.count(method) == 1 and '    """' in DICE.split(method)[0]
    injected = DICE.replace(method, method + "        __import__('os').system('echo cached')\n")
    assert not _same_program(injected, DICE)


# -- torchmetrics: an assign state synced over processes --------------------------------------------------------

ASSIGNED = """
name: probe
class_name: Probe
description: the last batch's largest value, and the sum of every value
inputs: [{name: x}]
state:
  last: {fold: assign}
  total: {}
update:
  last: max(x)
  total: sum(x)
result: last + total
"""


def test_torchmetrics_syncs_an_assigned_state_to_the_first_process_s_value():
    """torchmetrics' sync gathers every process's state (here two: this one first, another holding 100 more);
    an assigned state takes the first process's value, as Keras' only_first_replica; a sum adds them up."""
    metric = compile_class(ASSIGNED, "Probe", "torchmetrics")()
    metric.update(torch.tensor([1.0, 4.0, 2.0]))

    def two_processes(tensor, group=None):
        return [tensor, tensor + 100.0]

    metric.sync(dist_sync_fn=two_processes, distributed_available=lambda: True)
    assert float(metric.last) == 4.0
    assert float(metric.total) == 2 * 7.0 + 100.0


# -- squeeze(x, axis=...) squeezes that axis only ---------------------------------------------------------------

PER_CLASS = """
name: probe
class_name: Probe
description: the sum over samples of a [batch, 1, 3] input, per class
inputs: [{name: x}]
state:
  per_class: {shape: [3]}
update:
  per_class: sum(squeeze(x, axis=1), axis=0)
result: per_class
"""


@pytest.mark.parametrize("target", TARGETS)
def test_squeeze_of_one_axis_keeps_a_batch_of_one(target):
    """On a batch of one, squeezing every axis of size 1 would make the [1, 3] rows a [3] vector, and the sum
    over samples one number added to every class (the sum of a scalar test cannot tell)."""
    metric = driver(target).make(compile_class(PER_CLASS, "Probe", target))
    batches = [np.array([[[1.0, 2.0, 4.0]]], np.float32), np.array([[[0.5, 0.25, 8.0]], [[1.0, 1.0, 1.0]]], np.float32)]
    for batch in batches:
        update(metric, target, x=batch)
    np.testing.assert_allclose(value(metric, target), np.concatenate(batches).reshape(-1, 3).sum(axis=0), rtol=1e-6)
