"""The torchmetrics target keeps torchmetrics' conventions (issue 21, deliverable 4): `update(preds, target, ...)`
called positionally as torchmetrics' built-ins are, a `MetricCollection` mixing generated and built-in metrics
(compute groups on and off), `merge_state` as torchmetrics' `Metric.merge_state` defines it, and the dtype API
(`set_dtype`; `.double()` and `.half()` are no-ops, as on every torchmetrics metric)."""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torchmetrics target needs torch: pip install -e '.[test-backends]'")
torchmetrics = pytest.importorskip("torchmetrics", reason="pip install -e '.[test-backends]' installs torchmetrics")

from metricgen.compiler import generate_from_text  # noqa: E402
from metricgen.errors import SpecErrors  # noqa: E402
from metricgen.examples import run_loaded_examples  # noqa: E402
from metricgen.loader import load_spec_text  # noqa: E402
from support import ROOT, load_module  # noqa: E402

KERAS_CATALOGUE = ROOT / "catalogue" / "keras" / "generated" / "torchmetrics"


def catalogue_class(stem: str, name: str):
    return getattr(load_module(KERAS_CATALOGUE / f"{stem}.py", f"tm_conventions_{stem}"), name)


def compile_class(spec: str, name: str):
    namespace: dict = {}
    exec(compile(generate_from_text(textwrap.dedent(spec), "spec.yaml", "torchmetrics"), "spec.py", "exec"), namespace)
    return namespace[name]


def scores_and_labels(rng, n):
    """Scores in (0, 1) and 0/1 labels, [n, 1]: never a score exactly on the 0.5 threshold, where torchmetrics
    (>=) and Keras (>) differ. (Keras' mean metrics average over the last axis first, so one column makes
    every sample count alike, as in torchmetrics.)"""
    scores, labels = rng.uniform(0.01, 0.99, (n, 1)).astype(np.float32), rng.integers(0, 2, (n, 1))
    return torch.as_tensor(scores), torch.as_tensor(labels)


def test_update_takes_preds_then_target_as_torchmetrics_built_ins_do():
    BinaryAccuracy = catalogue_class("binary_accuracy", "BinaryAccuracy")
    assert list(inspect.signature(BinaryAccuracy().update).parameters) == ["preds", "target", "sample_weight"]
    rng = np.random.default_rng(0)
    ours, theirs = BinaryAccuracy(), torchmetrics.classification.BinaryAccuracy()
    preds_all, target_all = [], []
    for n in (11, 1, 7):
        preds, target = scores_and_labels(rng, n)
        ours.update(preds, target)  # positionally, the built-in's way
        theirs.update(preds, target)
        preds_all.append(preds.numpy()), target_all.append(target.numpy())
    expected = np.mean((np.concatenate(preds_all) > 0.5) == np.concatenate(target_all))
    np.testing.assert_allclose(float(ours.compute()), float(theirs.compute()), rtol=1e-6)
    np.testing.assert_allclose(float(ours.compute()), expected, rtol=1e-6)
    by_name = BinaryAccuracy()
    by_name.update(target=target, preds=preds)  # and by torchmetrics' names
    np.testing.assert_allclose(float(by_name.compute()), np.mean((preds.numpy() > 0.5) == target.numpy()))


def test_an_asymmetric_metric_called_torchmetrics_way_gives_the_built_in_value():
    MAPE = catalogue_class("mean_absolute_percentage_error", "MeanAbsolutePercentageError")
    rng = np.random.default_rng(1)
    ours, theirs = MAPE(), torchmetrics.MeanAbsolutePercentageError()
    for n in (9, 4):
        target = torch.as_tensor(rng.uniform(1.0, 3.0, (n, 1)).astype(np.float32))
        preds = torch.as_tensor(rng.uniform(0.0, 5.0, (n, 1)).astype(np.float32))
        ours.update(preds, target)
        theirs.update(preds, target)
    # Keras' MAPE is a percentage, torchmetrics' a fraction
    np.testing.assert_allclose(float(ours.compute()) / 100, float(theirs.compute()), rtol=1e-5)


@pytest.mark.parametrize("compute_groups", [True, False], ids=["groups", "no-groups"])
def test_a_metric_collection_mixes_generated_and_built_in_metrics(compute_groups):
    MeanSquaredError = catalogue_class("mean_squared_error", "MeanSquaredError")
    BinaryAccuracy = catalogue_class("binary_accuracy", "BinaryAccuracy")
    collection = torchmetrics.MetricCollection(
        {
            "mse": MeanSquaredError(),
            "builtin_mse": torchmetrics.MeanSquaredError(),
            "accuracy": BinaryAccuracy(),
            "builtin_accuracy": torchmetrics.classification.BinaryAccuracy(),
        },
        compute_groups=compute_groups,
    )
    rng = np.random.default_rng(2)
    seen, first = [], None
    for n in (8, 3, 12):
        preds, target = scores_and_labels(rng, n)
        batch = collection(preds, target)  # forward: each metric's value on this batch
        first = first or batch
        np.testing.assert_allclose(float(batch["mse"]), float(batch["builtin_mse"]), rtol=1e-6)
        np.testing.assert_allclose(float(batch["accuracy"]), float(batch["builtin_accuracy"]), rtol=1e-6)
        seen.append((preds.numpy(), target.numpy()))
    preds, target = scores_and_labels(rng, 5)
    collection.update(preds, target)
    seen.append((preds.numpy(), target.numpy()))
    values = collection.compute()
    p = np.concatenate([s[0] for s in seen])
    t = np.concatenate([s[1] for s in seen])
    np.testing.assert_allclose(float(values["mse"]), np.mean((p - t) ** 2), rtol=1e-5)
    np.testing.assert_allclose(float(values["builtin_mse"]), np.mean((p - t) ** 2), rtol=1e-5)
    np.testing.assert_allclose(float(values["accuracy"]), np.mean((p > 0.5) == t), rtol=1e-6)
    np.testing.assert_allclose(float(values["builtin_accuracy"]), np.mean((p > 0.5) == t), rtol=1e-6)


def test_a_collection_passes_sample_weight_to_the_generated_metrics_only():
    """MetricCollection gives each metric only the keyword arguments its update takes: the built-in never
    sees sample_weight."""
    MeanSquaredError = catalogue_class("mean_squared_error", "MeanSquaredError")
    collection = torchmetrics.MetricCollection({"mse": MeanSquaredError(), "builtin": torchmetrics.MeanSquaredError()})
    preds, target = torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([[1.0], [1.0], [1.0]])
    collection.update(preds, target, sample_weight=torch.tensor([1.0, 0.0, 1.0]))
    values = collection.compute()
    assert float(values["mse"]) == pytest.approx(9.0 / 2)  # (0 + 9) / 2: the weight-0 sample left out
    assert float(values["builtin"]) == pytest.approx((0 + 1 + 9) / 3)


# -- merge_state: a metric of the class or a dict of its states, as torchmetrics.Metric.merge_state -------------


def test_merge_state_takes_a_metric_or_a_dict_and_refuses_the_rest_as_torchmetrics_does():
    MeanSquaredError = catalogue_class("mean_squared_error", "MeanSquaredError")
    BinaryAccuracy = catalogue_class("binary_accuracy", "BinaryAccuracy")
    a, b, c = MeanSquaredError(), MeanSquaredError(), MeanSquaredError()
    a.update(torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [0.0]]))
    b.update(torch.tensor([[3.0]]), torch.tensor([[0.0]]))
    c.update(torch.tensor([[4.0]]), torch.tensor([[0.0]]))
    a.merge_state(b)
    a.merge_state(dict(c.metric_state))
    assert float(a.compute()) == pytest.approx((1 + 4 + 9 + 16) / 4)
    builtin = torchmetrics.MeanSquaredError()
    # what torchmetrics' own merge_state raises for each, ours raises too
    for bad in (3, BinaryAccuracy(), {"no such state": torch.tensor(1.0)}):
        with pytest.raises(ValueError):
            builtin.merge_state(bad)
        with pytest.raises(ValueError, match="MeanSquaredError.merge_state"):
            a.merge_state(bad)
    assert float(a.compute()) == pytest.approx((1 + 4 + 9 + 16) / 4)  # the refusals changed nothing


# -- dtype: set_dtype changes it; .double() and .half() do nothing, on every torchmetrics metric ---------------


def test_set_dtype_sets_the_dtype_and_double_is_a_no_op_as_on_built_ins():
    MeanSquaredError = catalogue_class("mean_squared_error", "MeanSquaredError")
    ours, builtin = MeanSquaredError(), torchmetrics.MeanSquaredError()
    for metric in (ours, builtin):
        assert metric.double() is metric and metric.half() is metric
        assert metric.dtype == torch.float32
        assert all(v.dtype != torch.float64 for v in metric.metric_state.values())
    ours.set_dtype(torch.float64)
    assert ours.dtype == torch.float64
    assert {v.dtype for v in ours.metric_state.values()} == {torch.float64}
    # 1e8 + 1 and 1e8 are one float32: only float64 states keep the difference
    preds = torch.tensor([[1e8 + 1], [1e8 + 3]], dtype=torch.float64)
    target = torch.tensor([[1e8], [1e8]], dtype=torch.float64)
    ours.update(preds, target)
    assert ours.compute().dtype == torch.float64
    assert float(ours.compute()) == (1.0 + 9.0) / 2


# -- inputs other than y_true and y_pred -----------------------------------------------------------------------

MASKED = """
name: masked_error
class_name: MaskedError
description: mean of y_pred - y_true where the mask is set
inputs: [y_true, {name: mask, dtype: bool}, y_pred]
state:
  total: {}
  count: {}
update:
  let:
    target: y_pred - y_true
  total: sum(where(mask, target, 0.0))
  count: sum(cast(mask, float))
result: total / count
"""


def test_other_inputs_follow_preds_and_target_in_the_spec_order_and_a_definition_may_be_called_target():
    MaskedError = compile_class(MASKED, "MaskedError")
    metric = MaskedError()
    assert list(inspect.signature(metric.update).parameters) == ["preds", "target", "mask", "sample_weight"]
    preds, target = np.array([5.0, 1.0, 2.0], np.float32), np.array([1.0, 1.0, 1.0], np.float32)
    mask = np.array([True, False, True])
    metric.update(torch.as_tensor(preds), torch.as_tensor(target), torch.as_tensor(mask))
    assert float(metric.compute()) == pytest.approx(np.mean((preds - target)[mask]))


def test_inputs_with_other_names_keep_their_names_and_order():
    Ratio = compile_class(
        """
        name: ratio
        class_name: Ratio
        description: sum of a over sum of b
        inputs: [b, a]
        state: {num: {}, den: {}}
        update: {num: sum(a), den: sum(b)}
        result: num / den
        """,
        "Ratio",
    )
    metric = Ratio()
    assert list(inspect.signature(metric.update).parameters) == ["b", "a", "sample_weight"]
    metric.update(torch.tensor([4.0]), torch.tensor([1.0]))
    assert float(metric.compute()) == 0.25


def test_two_inputs_for_one_torchmetrics_argument_is_a_located_error():
    spec = textwrap.dedent("""\
        name: twice
        class_name: Twice
        description: y_true and target both
        inputs: [y_true, target, y_pred]
        state: {s: {}}
        update: {s: sum(y_true + target + y_pred)}
        result: s
        """)
    with pytest.raises(SpecErrors) as caught:
        generate_from_text(spec, "twice.yaml", "torchmetrics")
    assert str(caught.value).startswith("twice.yaml:4:18: error: inputs 'y_true' and 'target' would both be")
    assert "rename one" in str(caught.value)
    generate_from_text(spec, "twice.yaml", "keras")  # the Keras targets keep the spec's names


def test_metricgen_test_feeds_the_examples_in_torchmetrics_order():
    """An asymmetric example (a score and a label are not interchangeable) passes on the torchmetrics target."""
    spec = textwrap.dedent("""\
        name: above
        class_name: Above
        description: share of scores above 0.5 that are labelled 1
        state: {hits: {}, count: {}}
        update:
          hits: sum(cast((y_pred > 0.5) & (y_true > 0.5), float))
          count: sum(cast(y_pred > 0.5, float))
        result: hits / count
        examples:
          - batches:
              - {y_true: [1, 0, 1], y_pred: [0.9, 0.8, 0.1]}
            expected: 0.5
        """)
    outcomes = run_loaded_examples(load_spec_text(spec, "above.yaml"), "torchmetrics")
    assert [(o.error or None, o.result) for o in outcomes] == [(None, 0.5)]
