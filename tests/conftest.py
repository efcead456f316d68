"""Shared test set-up.

TensorFlow is configured here, before any test touches it: the CPU is split into two logical devices so
that tf.distribute.MirroredStrategy can be tested on one machine. Tests that must not import TensorFlow
(the generator's) run their checks in a subprocess, so importing it here does not hide a regression.
"""

from __future__ import annotations

import os

import pytest

from support import GENERATED, ROOT, SPECS, load_module  # noqa: F401  (re-exported for the tests)

from metricgen.targets import TARGETS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _configure_tensorflow():
    try:
        import tensorflow as tf
    except ImportError:  # generator-only test runs
        return None
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
    except RuntimeError:  # already initialised by an earlier import: distribution tests will skip
        pass
    return tf


tf = _configure_tensorflow()

# Every registered target, for the tests that concern every target: a new target joins them by registering (and
# fails them until tests/drivers.py has its driver, the one place that knows how a target's classes are fed).
EVERY_TARGET = list(TARGETS)


def devices():
    """Every device the tests run on: the CPU always, each GPU TensorFlow sees (a skipped entry if none)."""
    found = ["/CPU:0"]
    gpus = tf.config.list_logical_devices("GPU") if tf is not None else []
    found += [d.name for d in gpus]
    params = [pytest.param(d, id=d.strip("/").replace(":", "")) for d in found]
    if not gpus:
        params.append(pytest.param("/GPU:0", id="GPU0", marks=pytest.mark.skip(reason="no GPU visible to TensorFlow")))
    return params
