"""A state's update `value if c else None` (c decided by the params): the state is left as it is where c fails.

What the torchmetrics catalogue's curve metrics needed (the per-threshold states have nothing to count with
thresholds None, the sample buffer nothing to keep with a list of thresholds): before, the specs added zeros
(`sum(0.0 * x, axis=0)`), eight ops a batch for nothing, and a NaN score made the unused state NaN. Checked on
every target against numpy and against the reference interpreter (tests/reference.py), for every fold kind,
and where a batch value reads the state (the `_name_batch` form)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf  # noqa: F401  (TensorFlow configured for the tests)
from drivers import driver
from metricgen.compiler import analyse_loaded, generate
from metricgen.errors import SpecErrors
from metricgen.loader import load_spec_text
from reference import Reference

SPEC = """\
name: chosen_sums
class_name: ChosenSums
description: The sum of the predictions; with count_labels the labels' too, and their sum before each batch.
params:
  count_labels: {type: bool, default: false}
inputs: [y_true, y_pred]
state:
  predictions: {}
  labels: {}
  peak: {init: -.inf, fold: max}
  previous: {fold: assign}
update:
  predictions: sum(y_pred)
  labels: sum(y_true) if count_labels else None
  peak: None if count_labels else max(y_pred)
  previous: labels if count_labels else None
result: predictions + labels
"""


def expected_states(batches: list[dict], count_labels: bool) -> dict:
    labels = [float(np.sum(b["y_true"])) for b in batches]
    return {
        "predictions": sum(float(np.sum(b["y_pred"])) for b in batches),
        "labels": sum(labels) if count_labels else 0.0,
        "peak": -np.inf if count_labels else max(float(np.max(b["y_pred"])) for b in batches),
        "previous": sum(labels[:-1]) if count_labels else 0.0,  # the labels' sum before the last batch
    }


def batches() -> list[dict]:
    rng = np.random.default_rng(11)
    return [
        {"y_true": rng.integers(0, 2, n).astype(np.float32), "y_pred": rng.uniform(-1, 1, n).astype(np.float32)}
        for n in (5, 1, 7)
    ]


@pytest.mark.parametrize("count_labels", [False, True])
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_state_left_as_it_is_where_the_params_say(tmp_path, target, count_labels):
    run = driver(target)
    folder = tmp_path / "out"
    path = folder / run.folder / "chosen_sums.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(load_spec_text(SPEC, "chosen_sums.yaml"), target), encoding="utf-8")
    metric = run.make(run.metric_class(folder, "chosen_sums", "ChosenSums"), count_labels=count_labels)
    fed = batches()
    for i, batch in enumerate(fed):
        run.update(metric, batch, compiled=i == 1)
    for name, value in expected_states(fed, count_labels).items():
        np.testing.assert_allclose(run.state(metric, name), value, rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(
        run.result(metric),
        expected_states(fed, count_labels)["predictions"] + (expected_states(fed, count_labels)["labels"]),
        rtol=1e-6,
    )


@pytest.mark.parametrize("count_labels", [False, True])
def test_the_reference_interpreter_leaves_it_too(count_labels):
    _, metric = analyse_loaded(load_spec_text(SPEC, "chosen_sums.yaml"))
    reference = Reference(metric, {"count_labels": count_labels})
    fed = batches()
    for batch in fed:
        reference.update(batch["y_true"], batch["y_pred"])
    for name, value in expected_states(fed, count_labels).items():
        np.testing.assert_allclose(reference.state[name], value, rtol=1e-6, err_msg=name)


def test_the_generated_update_says_it_in_python():
    """Where the params decide, the fold is behind a Python `if` (nothing computed, nothing added)."""
    source = generate(load_spec_text(SPEC, "chosen_sums.yaml"), "torchmetrics")
    assert "if self.count_labels:\n            self.labels.add_(_labels_batch)" in source
    assert "if not self.count_labels:\n            self.peak = torch.maximum(self.peak, _peak_batch)" in source


@pytest.mark.parametrize(
    "update, message",
    [
        ("labels: sum(y_true) if any(y_pred > 0) else None", "only on a test that is a Python value"),
        ("labels: sum(y_true) if count_labels else (None if count_labels else 1.0)", "None is only allowed"),
        ("labels: None", "None is only allowed"),
    ],
)
def test_none_elsewhere_is_refused_where_it_is_written(update, message):
    text = SPEC.replace("  labels: sum(y_true) if count_labels else None", "  " + update)
    with pytest.raises(SpecErrors) as raised:
        analyse_loaded(load_spec_text(text, "chosen_sums.yaml"))
    errors = [e.format() for e in raised.value.errors]
    assert any(message in e and e.startswith("chosen_sums.yaml:14:") for e in errors), errors


# An optional list param (the curve bases' `thresholds`), a test that is itself a conditional expression, and a
# batch value that reads the state (what a second reader's run found: the reference took a None list for [None],
# and the conditional test was pasted unparenthesised into `(value) if <test> else None`)
LIST_SPEC = """\
name: chosen_counts
class_name: ChosenCounts
description: Every prediction's sum with thresholds None; with a list, the count at or above each threshold.
params:
  thresholds: {type: "list[float]", default: null}
  strict: {type: bool, default: false}
inputs: [y_true, y_pred]
state:
  total: {}
  above: {shape: ["1 if thresholds is None else len(thresholds)"]}
  previous: {fold: assign}
update:
  total: None if thresholds is not None else sum(y_pred)
  above: sum(cast(y_pred[:, None] >= cast(thresholds, float), float), axis=0) if thresholds is not None else None
  previous: total if (strict if thresholds is None else len(thresholds) > 1) else None
result: total + sum(above) + previous
"""


def list_expected(fed: list[dict], thresholds, strict: bool) -> dict:
    sums = [float(np.sum(b["y_pred"])) for b in fed]
    total = sum(sums) if thresholds is None else 0.0
    above = (
        np.zeros(1)
        if thresholds is None
        else sum(np.sum(b["y_pred"][:, None] >= np.float32(thresholds), axis=0) for b in fed)
    )
    updates_previous = strict if thresholds is None else len(thresholds) > 1
    previous = (sum(sums[:-1]) if thresholds is None else 0.0) if updates_previous else 0.0
    return {"total": total, "above": above, "previous": previous}


LIST_CASES = [(None, False), (None, True), ([0.25], True), ([0.0, 0.5, 0.75], False)]


@pytest.mark.parametrize("thresholds, strict", LIST_CASES)
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_an_optional_list_param_decides_it(tmp_path, target, thresholds, strict):
    run = driver(target)
    folder = tmp_path / "out"
    path = folder / run.folder / "chosen_counts.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(load_spec_text(LIST_SPEC, "chosen_counts.yaml"), target), encoding="utf-8")
    metric = run.make(run.metric_class(folder, "chosen_counts", "ChosenCounts"), thresholds=thresholds, strict=strict)
    fed = batches()
    for i, batch in enumerate(fed):
        run.update(metric, batch, compiled=i == 1)
    for name, value in list_expected(fed, thresholds, strict).items():
        np.testing.assert_allclose(run.state(metric, name), value, rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("thresholds, strict", LIST_CASES)
def test_the_reference_reads_an_optional_list_param_as_none(thresholds, strict):
    _, metric = analyse_loaded(load_spec_text(LIST_SPEC, "chosen_counts.yaml"))
    reference = Reference(metric, {"thresholds": thresholds, "strict": strict})
    fed = batches()
    for batch in fed:
        reference.update(batch["y_true"], batch["y_pred"])
    for name, value in list_expected(fed, thresholds, strict).items():
        np.testing.assert_allclose(reference.state[name], value, rtol=1e-6, err_msg=name)


def test_a_negated_test_reads_as_written():
    source = generate(load_spec_text(LIST_SPEC, "chosen_counts.yaml"), "torchmetrics")
    assert "if self.thresholds is None:\n            self.total.add_(_total_batch)" in source
    assert "not (self.thresholds is not None)" not in source and "not not" not in source
