"""Values decided when the metric is traced, and dtypes where they meet: what a generated class computes,
on every target, against numpy.

- A constant side of `and`/`or`, or a constant branch of `a if c else b` with `c` decided at trace time,
  takes the shape of the tensor on the other side: `p is None or y_true != p` is a mask of y_true's shape
  whether p is given or not (it was the scalar True, so a sum of it counted 1 per batch).
- A param tested against None is known not to be None through `not`, `and` and `or` in a condition.
- float16 meets bfloat16 in float32, and int64 stays int64 when int32 values and int constants meet it.
"""

from __future__ import annotations

import functools
import types

import numpy as np
import pytest

from conftest import tf  # noqa: F401  (TensorFlow configured for the tests)
from metricgen.compiler import generate_from_text
from drivers import driver

from conftest import EVERY_TARGET as TARGETS  # noqa: E402  (every registered target; keras: on the TensorFlow backend)


def compile_class(spec_text: str, target: str, class_name: str = "Probe"):
    source = generate_from_text(spec_text, "probe.yaml", target)
    module = types.ModuleType(f"narrowing_{target}_{abs(hash(spec_text))}")
    exec(compile(source, "probe.py", "exec"), module.__dict__)
    return getattr(module, class_name)


def run(cls, target: str, inputs: dict, sample_weight=None, **kwargs):
    """A metric of ``cls`` made with ``kwargs`` and fed one batch; what reads its state variables by name."""
    metric = driver(target).make(cls, **kwargs)
    driver(target).update(metric, inputs, sample_weight=sample_weight)
    return functools.partial(driver(target).state, metric)


# BinaryHingeLoss with torchmetrics' ignore_index, written as a user would: `keep` is a mask of y_true's shape
HINGE = """
name: hinge
class_name: Probe
description: hinge loss over the kept labels
params:
  ignore_index: {type: int, default: null}
state:
  total: {}
  kept: {}
  kept_rows: {}
  dropped: {}
  scaled: {}
update:
  let:
    keep: ignore_index is None or y_true != ignore_index
    signed: 2.0 * cast(y_true, float) - 1.0
    hinge: maximum(1.0 - signed * y_pred, 0.0)
  total: weighted_sum(hinge * cast(keep, float))
  kept: weighted_sum(cast(keep, float))
  kept_rows: sum(cast(keep[:, None], float))
  dropped: sum(cast(~(ignore_index is not None and y_true == ignore_index), float))
  scaled: sum(2.0 if ignore_index is None else cast(keep, float) * 2.0)
result: total / kept
"""


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("ignore_index", [None, 0])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_a_decided_or_is_a_mask_of_the_tensor_shape(target, ignore_index, weighted):
    y_true = np.array([1, 0, 1, 1, 0, 1], np.float32)
    y_pred = np.array([0.5, -0.25, 2.0, -1.0, 0.75, 0.25], np.float32)
    w = np.array([1.0, 0.5, 2.0, 1.0, 0.25, 1.5], np.float32) if weighted else None
    keep = np.ones_like(y_true, bool) if ignore_index is None else y_true != ignore_index
    weights = np.ones_like(y_true) if w is None else w
    hinge = np.maximum(1.0 - (2.0 * y_true - 1.0) * y_pred, 0.0)
    batch = {"y_true": y_true, "y_pred": y_pred}
    state = run(compile_class(HINGE, target), target, batch, sample_weight=w, ignore_index=ignore_index)
    np.testing.assert_allclose(state("total"), np.sum(hinge * keep * weights), rtol=1e-6)
    np.testing.assert_allclose(state("kept"), np.sum(keep * weights), rtol=1e-6)
    assert state("kept_rows") == keep.sum()
    assert state("dropped") == keep.sum()
    assert state("scaled") == 2.0 * keep.sum()


CHOSEN = """
name: chosen
class_name: Probe
description: a condition that narrows through not, and, or
params:
  floor: {type: float, default: null}
  strict: {type: bool, default: false}
state:
  above: {}
  below: {}
update:
  above: sum(cast(y_pred > floor, float)) if floor is not None and not strict else sum(cast(y_pred > 0.5, float))
  below: sum(y_pred) if floor is None or strict else sum(cast(y_pred < floor, float))
result: above + below
"""


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("floor, strict", [(None, False), (0.2, False), (0.2, True)])
def test_a_condition_narrows_through_not_and_or(target, floor, strict):
    """`p is not None and ...` holds only where p is given; `p is None or ...` fails only there (issue 22)."""
    y_pred = np.array([0.1, 0.3, 0.6, 0.9], np.float32)
    batch = {"y_true": np.zeros(4, np.float32), "y_pred": y_pred}
    state = run(compile_class(CHOSEN, target), target, batch, floor=floor, strict=strict)
    given = floor is not None and not strict
    assert state("above") == np.sum(y_pred > (floor if given else 0.5))
    np.testing.assert_allclose(state("below"), np.sum(y_pred < floor) if given else np.sum(y_pred), rtol=1e-6)


# a state whose shape a str param chooses (torchmetrics' `average="none"` keeps one value per class, else one)
BINS = """
name: bins
class_name: Probe
description: a histogram of y_pred in [0, 1), its resolution chosen by name
params:
  resolution: {type: str, default: coarse, choices: [coarse, fine]}
state:
  counts: {shape: ["4 if resolution == 'coarse' else 10"]}
update:
  let:
    bins: 4 if resolution == "coarse" else 10
  counts: sum(one_hot(cast(floor(clip(y_pred, 0.0, 0.999) * bins), int32), bins), axis=0)
result: counts
"""


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("resolution, bins", [("coarse", 4), ("fine", 10)])
def test_a_str_param_chooses_a_state_shape(target, resolution, bins):
    y_pred = np.random.default_rng(bins).random(50).astype(np.float32)
    batch = {"y_true": np.zeros(50, np.float32), "y_pred": y_pred}
    state = run(compile_class(BINS, target), target, batch, resolution=resolution)
    np.testing.assert_array_equal(state("counts"), np.histogram(y_pred, bins=bins, range=(0.0, 1.0))[0])


# a condition over several params, checked by the constructor: torchmetrics' MulticlassStatScores refuses a top_k
# above num_classes
CHECKED = """
name: checked
class_name: Probe
description: the sum of y_pred's k best scores
params:
  num_classes: {type: int, default: null, min: 2}
  top_k: {type: int, default: 1, min: 1}
checks:
  - require: num_classes is None or top_k <= num_classes
    message: "top_k ({{at most num_classes}}) got {top_k} and {num_classes}"
state:
  total: {}
update:
  total: sum(top_k(y_pred, top_k))
result: total
"""


@pytest.mark.parametrize("target", TARGETS)
def test_checks_over_several_params_refuse_in_the_constructor(target):
    cls = compile_class(CHECKED, target)
    with pytest.raises(ValueError, match=r"^Probe: top_k \(\{at most num_classes\}\) got 4 and 3$"):
        driver(target).make(cls, num_classes=3, top_k=4)
    y_pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.9]], np.float32)
    batch = {"y_true": np.zeros((2, 3), np.float32), "y_pred": y_pred}
    for kwargs in ({"num_classes": 3, "top_k": 3}, {"top_k": 2}):  # at the bound, and num_classes None
        state = run(cls, target, batch, **kwargs)
        np.testing.assert_allclose(state("total"), np.sort(y_pred)[:, ::-1][:, : kwargs["top_k"]].sum(), rtol=1e-6)


LOW_PRECISION = """
name: low_precision
class_name: Probe
description: float16 meets bfloat16
inputs:
  - {name: a, dtype: bfloat16}
  - {name: b, dtype: float16}
state:
  total: {dtype: float32}
update:
  total: sum(a + b)
result: total
"""


@pytest.mark.parametrize("target", TARGETS)
def test_float16_and_bfloat16_meet_in_float32(target):
    """Neither holds the other's values: 73728 + 4 is 73728 in bfloat16 and inf in float16."""
    import ml_dtypes

    a = np.array([73728.0], ml_dtypes.bfloat16)
    b = np.array([4.0], np.float16)
    expected = a.astype(np.float32) + b.astype(np.float32)
    assert expected[0] == 73732.0  # in bfloat16 it would be 73728, in float16 inf
    assert float((a + b.astype(a.dtype))[0]) == 73728.0 and np.isinf(a.astype(np.float16)[0] + b[0])
    state = run(compile_class(LOW_PRECISION, target), target, {"a": a.astype(np.float32), "b": b.astype(np.float32)})
    assert state("total") == expected[0]


WIDE_INTS = """
name: wide_ints
class_name: Probe
description: int64 arithmetic stays int64
params:
  offset: {type: int, default: 3000000000}
inputs:
  - {name: a, dtype: int64}
  - {name: b, dtype: int32}
state:
  mixed: {dtype: int64}
  with_param: {dtype: int64}
  with_literal: {dtype: int64}
update:
  mixed: sum(a + b)
  with_param: sum(b) * 0 + max(a) + offset
  with_literal: sum(a - 3000000000 + b)
result: cast(mixed, float64)
"""


@pytest.mark.parametrize("target", TARGETS)
def test_int64_arithmetic_is_not_done_in_int32(target):
    a = np.array([3_000_000_000], np.int64)
    b = np.array([8], np.int32)
    with driver(target).with_64_bit_types():
        state = run(compile_class(WIDE_INTS, target), target, {"a": a, "b": b})
        assert int(state("mixed")) == 3_000_000_008
        assert int(state("with_param")) == 6_000_000_000
        assert int(state("with_literal")) == 8
