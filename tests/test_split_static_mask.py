"""passes/split_static_mask: `where(kept, x, -1)` with `kept: p is None or c` is `x if p is None else where(...)`,
so that with p None neither the mask's ones nor the where is computed; where the mask or the other branch could
add an axis to x, the where stays as written. Checked on the code of every target, against the unoptimised
lowering, and against numpy on every target with p None and p given."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen.compiler import generate_from_text
from support import module_of, update_code

SPEC = """
name: probe
class_name: Probe
description: d
params:
  ignore_index: {type: int, default: null}
inputs:
  - {name: y_true, dtype: int32}
  - {name: y_pred}
state:
  cells: {shape: [4]}
  weighted: {}
  inline: {shape: [4]}
  unsplit: {}
  counted: {}
update:
  let:
    kept: ignore_index is None or y_true != ignore_index
    pair: y_true * 2 + cast(y_pred > 0.5, int32)
  # the mask by name, and written inline; a number as the other branch
  cells: bincount(where(kept, pair, -1), 4)
  inline: bincount(where(ignore_index is None or y_true != ignore_index, pair, -1), 4)
  # the weights as the branch kept
  weighted: sum(where(kept, sample_weights(y_true), 0.0))
  # y_pred's shape is not y_true's as far as the IR shows: where() stays
  unsplit: sum(where(kept, y_pred, 0.0))
  # the mask adds y_true's axes to a number: where() stays (choosing 1.0 would count one, not every element)
  counted: sum(where(kept, 1.0, 0.0))
result: sum(cells) + 10.0 * sum(inline) + 100.0 * weighted + 1000.0 * unsplit + 10000.0 * counted
"""


def _update_code(target: str, optimise: bool = True) -> str:
    """update(...) or update_state(...), without the spaces and line breaks black chose."""
    source = generate_from_text(SPEC, "p.yaml", target, optimise=optimise)
    return "".join(update_code(source).split())


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_the_where_is_chosen_in_python_where_the_mask_adds_no_axis(target):
    code, plain = _update_code(target), _update_code(target, optimise=False)
    # cells, inline and weighted choose on the param (a bincount may read its ids twice); `unsplit` and `counted` keep
    # their where on both paths, and each where is still written for p given
    choice = "ifself.ignore_indexisNoneelse"
    assert code.count(choice) >= plain.count(choice) + 2, (code, plain)
    assert code.count("pair" + choice) >= 2 and plain.count("pair" + choice) == 0, code
    for left in ("unsplit", "counted"):  # from the state's last mention to the next state's
        segment = code[code.rindex(left) :].split("counted" if left == "unsplit" else "returnstate")[0]
        assert choice not in segment, (left, segment)
    wheres = {"tf": "tf.where(", "keras": "ops.where(", "jax": "jnp.where(", "torchmetrics": "torch.where("}[target]
    assert code.count(wheres) == plain.count(wheres), (code, plain)
    if target == "torchmetrics":  # inline's mask, written in the where, is decided where p is given: no ones there
        assert code.count("ones_like") == 1 and plain.count("ones_like") == 2, code


def _expected(y_true, y_pred, weights, ignore_index):
    kept = np.ones_like(y_true, bool) if ignore_index is None else y_true != ignore_index
    pair = y_true * 2 + (y_pred > 0.5)
    cells = np.bincount(pair[kept], minlength=4)[:4]
    w = np.ones(y_true.shape) if weights is None else weights
    unsplit = np.sum(np.where(kept, y_pred, 0.0))
    weighted = np.sum(np.where(kept, w, 0.0))
    return np.sum(cells) * 11.0 + 100.0 * weighted + 1000.0 * unsplit + 10000.0 * np.sum(kept)


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("ignore_index", [None, 1])
def test_the_numbers_are_numpys(target, ignore_index):
    run = driver(target)
    module = module_of(generate_from_text(SPEC, "p.yaml", target), f"split_static_mask_{target}")
    y_true = np.array([0, 1, 1, 0, 1], np.int32)
    y_pred = np.array([0.25, 0.75, 0.5, 0.9, 0.1], np.float32)
    for weights in (None, np.array([1.0, 2.0, 0.5, 0.0, 3.0], np.float32)):
        metric = run.make(module.Probe, ignore_index=ignore_index)
        run.update(metric, {"y_true": y_true, "y_pred": y_pred}, weights)
        np.testing.assert_allclose(run.result(metric), _expected(y_true, y_pred, weights, ignore_index), rtol=1e-5)


# Inputs of two shapes: y_true [N, 1], y_pred [N, 2]. Neither where may be split: in `from_b` the other branch has
# y_pred's shape, which a lacks; in `reduced` a is a reduction, whose shape is not its input's.
SHAPES = """
name: shapes
class_name: Shapes
description: d
params:
  ignore_index: {type: int, default: null}
inputs:
  - {name: y_true, dtype: int32}
  - {name: y_pred}
state:
  from_b: {}
  reduced: {}
update:
  let:
    kept: ignore_index is None or y_true != ignore_index
    scored: ignore_index is None or cast(y_pred, int32) != ignore_index
  from_b: sum(where(kept, cast(y_true, float), y_pred))
  reduced: sum(where(scored, sum(y_pred, axis=-1, keepdims=True), 0.0))
result: from_b + 100.0 * reduced
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("ignore_index", [None, 1])
def test_a_where_whose_other_branch_or_mask_adds_axes_is_left(target, ignore_index):
    run = driver(target)
    module = module_of(generate_from_text(SHAPES, "s.yaml", target), f"split_static_mask_shapes_{target}")
    y_true = np.array([[1], [0], [2]], np.int32)
    y_pred = np.array([[0.5, 1.0], [2.0, 3.5], [1.0, 1.25]], np.float32)
    metric = run.make(module.Shapes, ignore_index=ignore_index)
    run.update(metric, {"y_true": y_true, "y_pred": y_pred})
    kept = np.ones_like(y_true, bool) if ignore_index is None else y_true != ignore_index
    scored = np.ones(y_pred.shape, bool) if ignore_index is None else y_pred.astype(np.int32) != ignore_index
    from_b = np.sum(np.where(kept, y_true.astype(float), y_pred))
    reduced = np.sum(np.where(scored, y_pred.sum(-1, keepdims=True), 0.0))
    np.testing.assert_allclose(run.result(metric), from_b + 100.0 * reduced, rtol=1e-5)
