"""passes/plain_division: `/` whose denominator is positive by its form is written as plain division (the
language's `/` gives 0 where the denominator is 0, which costs a compare and a select a batch on the eager
targets); every other `/` keeps that test. Decided on the IR, checked here on the generated code and numbers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen.compiler import generate_from_text

SPEC = """
name: probe
class_name: Probe
description: d
params:
  floor: {type: float, default: 0.5, min: 0.25}
  offset: {type: float, default: 0.5, min: 0.0}
state:
  total: {}
update:
  total: sum({numerator} / ({denominator}))
result: total
"""

PLAIN = [
    "maximum(abs(y_true), 1.0e-6)",
    "abs(y_true) + floor",
    "clip(y_true, 0.1, 2.0)",
    "square(y_true) + 1.0 + 2.0",
    # an integer at least 1 is at least 1 as a float (a retrieval metric's mean over its queries)
    "cast(maximum(cast(y_true, int32), 1), float)",
]
GUARDED = [
    "y_true",
    "abs(y_true) + offset",
    "exp(y_true)",
    "maximum(y_true, -1.0)",
    "y_true * 2.0 + 1.0",
    # 0.5 is positive, and 0 as an int
    "cast(cast(maximum(y_true, 0.5), int32), float)",
    # positive in float64, 0 in float16 (the cast underflows)
    "cast(maximum(cast(y_true, float64), 1.0e-30), float16)",
]


@pytest.mark.parametrize("denominator", PLAIN + GUARDED)
def test_division_by_a_positive_form_is_plain_and_by_anything_else_keeps_its_zero_test(denominator):
    source = generate_from_text(
        SPEC.replace("{numerator}", "y_pred").replace("{denominator}", denominator), "p.yaml", "torchmetrics"
    )
    update = source.split("def update(", 1)[1].split("def compute(", 1)[0]
    assert ("_divide_no_nan" not in update) == (denominator in PLAIN), update


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("denominator", ["abs(y_true) + floor", "abs(y_true) + offset"])
def test_the_numbers_are_the_languages_division(target, denominator):
    """0 where a denominator is 0 (offset 0 makes abs(y_true) + offset 0 at y_true 0), y_pred / d elsewhere."""
    spec = SPEC.replace("{numerator}", "y_pred").replace("{denominator}", denominator)
    import types

    module = types.ModuleType(f"plain_division_{target}_{abs(hash(denominator))}")
    exec(compile(generate_from_text(spec, "p.yaml", target), "p.py", "exec"), module.__dict__)
    run = driver(target)
    y_true = np.array([0.0, -2.0, 0.5, 0.0], np.float32)
    y_pred = np.array([3.0, 1.0, 2.0, -1.0], np.float32)
    for offset in (0.0, 0.5):
        metric = run.make(module.Probe, offset=offset, floor=0.25)
        run.update(metric, {"y_true": y_true, "y_pred": y_pred})
        d = np.abs(y_true) + (0.25 if "floor" in denominator else offset)
        expected = np.sum(np.where(d == 0, 0.0, y_pred / np.where(d == 0, 1.0, d)))
        np.testing.assert_allclose(run.result(metric), expected, rtol=1e-6)
