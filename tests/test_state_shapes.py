"""A state keeps the shape it was declared with, on every target and in the reference interpreter.

A batch value folded by add, max or min may broadcast into a state (one number added to each element), never grow
it; an assigned value has the state's shape. Before, `total: y_pred` on a scalar state grew the state on the jax
target (jnp.add broadcasts into a new field) where TensorFlow's and Keras' variables refuse the assign, and a max
fold or an assignment on the torchmetrics target replaced the state's tensor with one of another shape, which
merge_state and sync then could not combine. Where the analysis shows a value keeps the shape (one number, or a
value made element-wise from the state alone) nothing is checked; elsewhere the jax and torchmetrics targets check
when traced (passes/ir_shapes.keeps_shape)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen.compiler import analyse_loaded, generate
from metricgen.loader import load_spec_text
from reference import Reference

SPEC = """\
name: shaped
class_name: Shaped
description: One state of shape {shape}, folded by {fold}.
inputs: [y_true, y_pred]
state:
  kept: {{shape: {shape}, fold: {fold}, init: 0.0}}
update:
  kept: {value}
result: sum(kept)
"""

# (state shape, fold, batch value): each would change the state's shape, and every target refuses it
GROWING = {
    "add-batch-into-scalar": ("[]", "add", "y_pred"),
    "add-batch-into-pair": ("[2]", "add", "y_pred"),
    "max-batch-into-scalar": ("[]", "max", "y_pred"),
    "min-batch-into-scalar": ("[]", "min", "y_pred"),
    "assign-number-into-pair": ("[2]", "assign", "sum(y_pred)"),
    "assign-batch-into-scalar": ("[]", "assign", "y_pred"),
}

# (state shape, fold, batch value, the state after the batches, from numpy): each keeps the shape
KEPT = {
    "add-number-into-each": ("[2]", "add", "sum(y_pred)", lambda ps: np.full(2, sum(p.sum() for p in ps))),
    "max-number-into-each": ("[2]", "max", "max(y_pred)", lambda ps: np.full(2, max(p.max() for p in ps))),
    "add-column-sums": ("[3]", "add", "sum(y_pred, axis=0)", lambda ps: sum(p.sum(axis=0) for p in ps)),
    "assign-column-sums": ("[3]", "assign", "sum(y_pred, axis=0)", lambda ps: ps[-1].sum(axis=0)),
}


def batches() -> list[dict]:
    rng = np.random.default_rng(5)
    return [
        {"y_true": np.zeros((n, 3), np.float32), "y_pred": rng.uniform(0, 1, (n, 3)).astype(np.float32)}
        for n in (4, 1, 3)
    ]


def spec(shape: str, fold: str, value: str) -> str:
    return SPEC.format(shape=shape, fold=fold, value=value)


def built_class(tmp_path, target: str, text: str, stem: str = "shaped", class_name: str = "Shaped"):
    """The driver of ``target`` and the class built from the spec ``text``, imported from its file."""
    run = driver(target)
    folder = tmp_path / "out"
    path = folder / run.folder / f"{stem}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(load_spec_text(text, f"{stem}.yaml"), target), encoding="utf-8")
    return run, run.metric_class(folder, stem, class_name)


def built(tmp_path, target: str, text: str):
    run, cls = built_class(tmp_path, target, text)
    return run, run.make(cls)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("case", GROWING)
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_value_that_would_change_the_state_shape_is_refused(tmp_path, target, case, compiled):
    run, metric = built(tmp_path, target, spec(*GROWING[case]))
    with pytest.raises(Exception) as raised:
        run.update(metric, batches()[0], compiled=compiled)
    # each target's own words (a Keras variable's assign, torch's in-place add, or ours); never a number
    assert "shape" in str(raised.value) or "size of tensor" in str(raised.value), raised.value
    if target in ("jax", "torchmetrics") and "would take shape" in str(raised.value):  # ours: names the class
        assert str(raised.value).startswith("Shaped: state `kept`"), raised.value


@pytest.mark.parametrize("case", GROWING)
def test_the_reference_interpreter_refuses_it_too(case):
    _, metric = analyse_loaded(load_spec_text(spec(*GROWING[case]), "shaped.yaml"))
    reference = Reference(metric, {})
    batch = batches()[0]
    with pytest.raises(ValueError, match="shape"):  # ours, or numpy's broadcast error
        reference.update(batch["y_true"], batch["y_pred"])


@pytest.mark.parametrize("case", KEPT)
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_value_that_keeps_the_shape_folds_as_numpy_says(tmp_path, target, case):
    shape, fold, value, expected = KEPT[case]
    run, metric = built(tmp_path, target, spec(shape, fold, value))
    fed = batches()
    for i, batch in enumerate(fed):
        run.update(metric, batch, compiled=i == 1)
    want = expected([b["y_pred"].astype(np.float64) for b in fed])
    np.testing.assert_allclose(run.state(metric, "kept"), want, rtol=1e-6)
    _, ir_metric = analyse_loaded(load_spec_text(spec(shape, fold, value), "shaped.yaml"))
    reference = Reference(ir_metric, {})
    for batch in fed:
        reference.update(batch["y_true"], batch["y_pred"])
    np.testing.assert_allclose(reference.state["kept"], want, rtol=1e-6)


def test_a_value_shown_to_keep_the_shape_is_not_checked():
    """One number folds into any state by add (into each element): the jax fold stays `state._replace`."""
    source = generate(load_spec_text(spec("[2]", "add", "sum(y_pred)"), "shaped.yaml"), "jax")
    assert "_replaced" not in source and "state._replace(kept=" in source
    checked = generate(load_spec_text(spec("[3]", "add", "sum(y_pred, axis=0)"), "shaped.yaml"), "jax")
    assert 'state = _replaced(state, "kept", ' in checked


MERGED = """\
name: per_slot
class_name: PerSlot
description: The largest prediction per slot, and their sum.
params:
  slots: {type: int, default: 1, min: 1}
inputs: [y_true, y_pred]
state:
  top: {shape: [slots], fold: max, init: -.inf}
  total: {shape: [slots]}
update:
  top: max(reshape(y_pred, [-1, slots]), axis=0)
  total: sum(reshape(y_pred, [-1, slots]), axis=0)
result: sum(top) + sum(total)
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_merged_state_of_another_shape_is_refused(tmp_path, target):
    """Merging a metric (or its states) made with other arguments never broadcasts one state into the other: a
    [1] state took the [3] one's shape on jax (jnp.maximum in merge) and on torchmetrics (a dict of states)."""
    run, cls = built_class(tmp_path, target, MERGED, "per_slot", "PerSlot")
    one, three = run.make(cls, slots=1), run.make(cls, slots=3)
    run.update(one, {"y_true": np.zeros(6, np.float32), "y_pred": np.arange(6, dtype=np.float32)})
    run.update(three, {"y_true": np.zeros(6, np.float32), "y_pred": np.arange(6, dtype=np.float32)})
    with pytest.raises(Exception, match="shape|argument|parameters"):
        run.merge(one, [three])
    assert np.shape(run.state(one, "top")) == (1,)
    if target == "torchmetrics":  # a dict of states names no arguments: its shapes are checked
        import torch

        with pytest.raises(ValueError, match="state `top` would take shape"):
            one.merge_state({"top": torch.zeros(3), "total": torch.zeros(1)})


def test_a_choice_between_ints_keeps_where():
    """branch_on_scalar chooses in Python between floats only: an int number branch would be made as the language's
    int32 (torch.int64) beside an int32 state, and the result's dtype would follow the data."""
    spec = """\
name: counted
class_name: Counted
description: d
state:
  n: {dtype: int32}
update:
  n: size(y_pred)
result: cast(where(n > 100, n * 2, 0) + n, float)
"""
    source = generate(load_spec_text(spec, "counted.yaml"), "torchmetrics")
    assert "torch.where(" in source[source.index("def compute(") :]
