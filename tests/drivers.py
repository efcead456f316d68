"""How a test feeds a generated class of each target: one driver per registered target.

A test that concerns every target makes, feeds and reads its metric through ``DRIVERS[target]`` and never
branches on a target's name, so a new target joins every such test by adding its driver here (a registered
target without one fails them: see ``driver``). The drivers are written from each target's documented
conventions (Keras' update_state/result, torchmetrics' update(preds, target)/compute(), the jax target's
functional init/update/compute over a state), not from the generator's code, so that a change in what the
generator writes fails the tests.

Inputs are given in the spec's order, by name, as numpy arrays; results come back as numpy arrays.
"""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metricgen.targets import TARGETS
from support import in_torchmetrics_order, load_module


class Driver:
    target: str
    #: what the metric's result method is called, as failure messages name it
    result_method = "result()"
    #: whether the target's merge is given the other metrics (and so can refuse one made with other params); the
    #: jax target's merge is given their states only
    merges_metrics = True
    #: whether reset keeps the shape a state took from the first batch (zeroed), rather than waiting for the next
    reset_keeps_shape = False
    #: whether the metric saves its constructor's arguments (get_config()), and can be made again from them
    saves_config = True
    #: whether feeding it is slow enough that a long table of cases runs a representative subset on it
    slow = False

    def __init__(self, folder: str):
        #: where the target writes its modules under a build's output folder (README, "Targets")
        self.folder = folder

    def metric_class(self, out_dir: Path, stem: str, class_name: str) -> type:
        """The class ``class_name`` of the module built from ``stem``.yaml into ``out_dir``, imported from its file
        as a user who copied it would."""
        folder = out_dir / self.folder if self.folder else out_dir
        module = load_module(folder / f"{stem}.py", f"driven_{out_dir.parent.name}_{self.target}_{stem}")
        return getattr(module, class_name)

    def make(self, cls: type, **kwargs) -> Any:
        """A metric of the generated class ``cls``: what the other methods take."""
        return cls(**kwargs)

    def config(self, metric: Any) -> dict:
        """The constructor's arguments as the metric saves them (get_config(), where ``saves_config``)."""
        return metric.get_config()

    def remake(self, metric: Any) -> Any:
        """A new metric made from ``metric``'s config, as loading a saved one makes it."""
        return type(metric).from_config(metric.get_config())

    def result_shape(self, shape: tuple) -> tuple:
        """The shape a result of ``shape`` comes back in."""
        return shape

    def with_64_bit_types(self) -> contextlib.AbstractContextManager:
        """Where int64 and float64 are held as such, as the target's documentation has users arrange it."""
        return contextlib.nullcontext()

    def update(self, metric: Any, inputs: dict, sample_weight=None, compiled: bool = False) -> None:
        """Feeds one batch (``inputs`` by spec name, in the spec's order); ``compiled``: the target's compiled
        way (tf.function with XLA, jax.jit, torchmetrics' forward), where it has one."""
        raise NotImplementedError

    def result(self, metric: Any) -> np.ndarray:
        raise NotImplementedError

    def reset(self, metric: Any) -> None:
        raise NotImplementedError

    def merge(self, metric: Any, others: list) -> None:
        """Folds the other metrics' states into ``metric``'s."""
        raise NotImplementedError

    def state(self, metric: Any, name: str) -> np.ndarray:
        """A state variable's value."""
        raise NotImplementedError


class KerasDriver(Driver):
    """A keras.metrics.Metric (the tf and keras targets). ``traced``: fed in a tf.function (graph mode), as
    model.fit feeds it, rather than eagerly; the two Keras targets are fed one way each, so both are covered."""

    reset_keeps_shape = True  # Keras keeps variables once made: reset_state() zeroes them

    def __init__(self, folder: str, traced: bool = False):
        super().__init__(folder)
        self.traced = traced

    def update(self, metric, inputs, sample_weight=None, compiled=False):
        step = metric.update_state
        if compiled or self.traced:
            import tensorflow as tf

            step = tf.function(step, jit_compile=compiled)
        step(*inputs.values(), sample_weight=sample_weight)

    def result(self, metric):
        return np.asarray(metric.result())

    def reset(self, metric):
        metric.reset_state()

    def merge(self, metric, others):
        metric.merge_state(others)

    def state(self, metric, name):
        return np.asarray(getattr(metric, name))


class TorchMetricsDriver(Driver):
    """A torchmetrics.Metric: update(preds, target, *others), compute(), reset(), forward for one batch."""

    result_method = "compute()"
    saves_config = False  # a torchmetrics.Metric's state_dict holds its states only

    def make(self, cls, **kwargs):
        """The keyword arguments a callable param forwards (MeanMetricWrapper's ``power=3``) come as one dict,
        ``<param>_kwargs``: the constructor's own ``**kwargs`` are torchmetrics' (compute_on_cpu, ...)."""
        takes = inspect.signature(cls).parameters
        forwarded = {k: kwargs.pop(k) for k in list(kwargs) if k not in takes}
        holders = [name for name in takes if name.endswith("_kwargs") and name.removesuffix("_kwargs") in takes]
        if forwarded and holders:
            kwargs[holders[0]] = forwarded
        else:
            kwargs.update(forwarded)  # torchmetrics' own, or refused by the constructor
        return cls(**kwargs)

    def result_shape(self, shape):
        # torchmetrics' compute() squeezes a result of one element (Metric._wrap_compute: _squeeze_if_scalar)
        return () if int(np.prod(shape)) == 1 else shape

    def update(self, metric, inputs, sample_weight=None, compiled=False):
        import torch

        tensors = in_torchmetrics_order({k: torch.as_tensor(v) for k, v in inputs.items()})
        weights = None if sample_weight is None else torch.as_tensor(sample_weight)
        if compiled:
            metric(*tensors, sample_weight=weights)  # forward: the batch's value, and accumulates
        else:
            metric.update(*tensors, sample_weight=weights)

    def result(self, metric):
        return np.asarray(metric.compute().detach().cpu().numpy())

    def reset(self, metric):
        metric.reset()

    def merge(self, metric, others):
        for other in others:
            metric.merge_state(other)

    def state(self, metric, name):
        return np.asarray(getattr(metric, name).detach().cpu().numpy())


class Functional:
    """A jax-target metric with the state it has reached (the target's classes hold no state themselves)."""

    def __init__(self, metric):
        self.metric = metric
        self.state = metric.init()


class JaxDriver(Driver):
    """The jax target: state = metric.update(state, ...), metric.compute(state), merge(state, other)."""

    result_method = "compute(state)"
    merges_metrics = False
    slow = True  # JAX compiles each primitive (eagerly) for each new shape: the whole Keras catalogue took minutes

    def make(self, cls, **kwargs):
        return Functional(cls(**kwargs))

    def config(self, metric):
        return metric.metric.get_config()

    def remake(self, metric):
        return Functional(type(metric.metric)(**metric.metric.get_config()))

    def with_64_bit_types(self):
        import jax

        return jax.enable_x64(True)  # JAX holds them as 32-bit unless enabled (the metric refuses them then)

    def update(self, metric, inputs, sample_weight=None, compiled=False):
        import jax

        update = jax.jit(metric.metric.update) if compiled else metric.metric.update
        metric.state = update(metric.state, *inputs.values(), sample_weight=sample_weight)

    def result(self, metric):
        return np.asarray(metric.metric.compute(metric.state))

    def reset(self, metric):
        metric.state = metric.metric.init()

    def merge(self, metric, others):
        for other in others:
            metric.state = metric.metric.merge(metric.state, other.state)

    def state(self, metric, name):
        return np.asarray(getattr(metric.state, name))


DRIVERS: dict[str, Driver] = {
    "tf": KerasDriver(folder="", traced=True),
    "keras": KerasDriver(folder="keras"),
    "torchmetrics": TorchMetricsDriver(folder="torchmetrics"),
    "jax": JaxDriver(folder="jax"),
}
for _name, _driver in DRIVERS.items():
    _driver.target = _name


def driver(target: str) -> Driver:
    """The driver of a registered target; a target registered without one fails the tests that concern every
    target, by name."""
    if target not in DRIVERS:
        raise AssertionError(f"target {target!r} is registered but has no driver in tests/drivers.py")
    return DRIVERS[target]


def every_target_that(can: str, why: str) -> list:
    """Every registered target, as pytest params: those whose driver lacks the ability ``can`` (a Driver
    attribute, e.g. merges_metrics) are skipped, saying ``why`` the test does not concern them."""
    return [
        pytest.param(t, marks=[] if getattr(driver(t), can) else [pytest.mark.skip(reason=f"{t}: {why}")])
        for t in TARGETS
    ]


def every_target(known_failures: dict[str, str] | None = None) -> list:
    """Every registered target, as pytest params; those in ``known_failures`` (target: the generator's bug, as
    reported) are expected to fail, strictly: the test fails once the bug is fixed, so the mark is removed."""
    known_failures = known_failures or {}
    return [
        pytest.param(t, marks=[pytest.mark.xfail(strict=True, reason=known_failures[t])] if t in known_failures else [])
        for t in TARGETS
    ]
