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

from typing import Any

import numpy as np

from support import in_torchmetrics_order


class Driver:
    target: str
    #: what the metric's result method is called, as failure messages name it
    result_method = "result()"

    def make(self, cls: type, **kwargs) -> Any:
        """A metric of the generated class ``cls``: what the other methods take."""
        return cls(**kwargs)

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
    """A keras.metrics.Metric (the tf and keras targets)."""

    def update(self, metric, inputs, sample_weight=None, compiled=False):
        if compiled:
            import tensorflow as tf

            step = tf.function(metric.update_state, jit_compile=True)
            step(*inputs.values(), sample_weight=sample_weight)
        else:
            metric.update_state(*inputs.values(), sample_weight=sample_weight)

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

    def make(self, cls, **kwargs):
        return Functional(cls(**kwargs))

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
    "tf": KerasDriver(),
    "keras": KerasDriver(),
    "torchmetrics": TorchMetricsDriver(),
    "jax": JaxDriver(),
}
for _name, _driver in DRIVERS.items():
    _driver.target = _name


def driver(target: str) -> Driver:
    """The driver of a registered target; a target registered without one fails the tests that concern every
    target, by name."""
    if target not in DRIVERS:
        raise AssertionError(f"target {target!r} is registered but has no driver in tests/drivers.py")
    return DRIVERS[target]
