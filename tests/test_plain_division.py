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
    # what is positive by form is at least 2**-24, which no float rounds to 0 (RelativeSquaredError's epsilon)
    "cast(maximum(cast(y_true, float64), 1.0e-3), float16)",
    "maximum(abs(y_true), 1.1920929e-07)",
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
    # 0 in float32 (and below float16's smallest, where a torchmetrics metric may be set_dtype'd)
    "maximum(abs(y_true), 1.0e-50)",
    "maximum(abs(y_true), 1.0e-8)",
    # torch.clamp gives hi where hi < lo, and offset may be 0 (found by a review)
    "clip(y_true, 1.0, offset)",
    # integers wrap: abs(-2**31) is -2**31, and a sum may pass 2**31 (found by a review)
    "cast(abs(cast(y_true, int32)) + 1, float)",
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


DEFINED = """
name: probe
class_name: Probe
description: d
state:
  total: {}
  count: {}
update:
  let:
    floored: maximum(abs(y_true), 1.0e-6)
    shifted: floored + square(y_pred)
    raw: y_true
  total: sum(y_pred / shifted)
  count: sum(y_pred / raw)
result:
  let:
    positive: maximum(count, 1.0)
  value: total / positive + count / total
"""


def test_a_denominator_read_from_a_definition_is_judged_by_that_definition():
    """RelativeSquaredError's `rss / tss` with `tss: maximum(..., eps)`: positive through the definitions
    (in either scope), plain; a definition that may be 0 keeps the test."""
    source = generate_from_text(DEFINED, "d.yaml", "torchmetrics")
    update, compute = source.split("def update(", 1)[1].split("def compute(", 1)
    compute = compute.split("def merge_state(", 1)[0]
    assert "preds / shifted" in update and "_divide_no_nan(preds, raw)" in update, update
    assert "self.total / positive" in compute and "_divide_no_nan(self.count, self.total)" in compute, compute


def test_a_chain_of_definitions_is_judged_once_each_and_not_past_a_depth():
    """x_i = x_{i-1} + x_{i-1}: each definition decided once (linear), where following the reads anew would
    take 2**i steps; 2,000 deep, past the bound, not positive (the test kept), without a RecursionError."""
    from metricgen import ir
    from metricgen.passes import plain_division
    from metricgen.types import tensor

    t = tensor("float")

    def chain(depth: int) -> "plain_division._Form":
        definitions: dict = {"x0": ir.Literal(t, 1.0)}
        for i in range(1, depth + 1):
            previous = ir.Ref(t, "local", f"x{i - 1}")
            definitions[f"x{i}"] = ir.Operator(t, "+", (previous, previous))
        return plain_division._Form({}, definitions)

    form, calls = chain(16), 0
    above_zero = form._above_zero

    def counted(e, strict):
        nonlocal calls
        calls += 1
        return above_zero(e, strict)

    form._above_zero = counted
    assert form.above_zero(ir.Ref(t, "local", "x16"), strict=True)
    assert calls < 10 * 16, calls  # each read followed anew: 2**16 and more
    assert not chain(2000).above_zero(ir.Ref(t, "local", "x2000"), strict=True)
