"""passes/choose_at_construction: a where on a test of the params alone becomes a branch chosen when the metric
is made. The Keras catalogue's threshold metrics test so whether their thresholds are evenly spread (Keras'
own decide it in their constructors); lowered with the pass, each target's class computes exactly the numbers
it computes lowered without it, and its update traces one branch, not both and the test."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, ROOT, tf
from drivers import driver
from metricgen.compiler import generate, generate_from_text
from metricgen.inherit import load_spec

SPECS = ROOT / "catalogue" / "keras" / "specs"

# each spec's configurations: no thresholds, one, uneven ones (compared) and evenly spread ones (bucketed)
CONFIGURATIONS = {
    ("precision", "Precision"): [
        {},
        {"thresholds": 0.3},
        {"thresholds": [0.2, 0.4, 0.6, 0.8]},
        {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]},
        {"thresholds": [0.0, 0.5, 1.0], "top_k": 2},
    ],
    ("recall", "Recall"): [{"thresholds": [0.2, 0.4, 0.6, 0.8]}, {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}],
    ("true_positives", "TruePositives"): [{}, {"thresholds": [0.2, 0.5]}, {"thresholds": [0.0, 0.5, 1.0]}],
    ("false_negatives", "FalseNegatives"): [{"thresholds": [0.7, 0.1, 0.4]}, {"thresholds": [0.0, 0.5, 1.0]}],
    ("auc", "AUC"): [{}, {"thresholds": [0.7, 0.2, 0.5, 0.0]}, {"thresholds": [0.25, 0.5, 0.75], "curve": "PR"}],
}


def batch(rng, n: int) -> tuple[dict, np.ndarray]:
    """Labels, and scores over [-0.2, 1.2] of which many lie exactly on a threshold or a bucket's edge."""
    y_pred = rng.uniform(-0.2, 1.2, (n, 5))
    on_edge = rng.uniform(size=y_pred.shape) < 0.3
    y_pred[on_edge] = rng.choice([0.0, 0.2, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8, 1.0], size=on_edge.sum())
    inputs = {"y_true": rng.integers(0, 2, (n, 5)).astype(np.float32), "y_pred": y_pred.astype(np.float32)}
    return inputs, rng.uniform(0.1, 2.0, n).astype(np.float32)


def metric_class(tmp_path, stem: str, class_name: str, target: str, optimise: bool):
    """The class built from the catalogue's spec, with or without the passes, loaded as its module file."""
    run = driver(target)
    variant = f"{tmp_path.name}_{'optimised' if optimise else 'plain'}"
    folder = tmp_path / variant / "out"
    path = folder / run.folder / f"{stem}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(load_spec(SPECS / f"{stem}.yaml"), target, optimise=optimise), encoding="utf-8")
    return run.metric_class(folder, stem, class_name)


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("stem, class_name", list(CONFIGURATIONS), ids=[s for s, _ in CONFIGURATIONS])
def test_the_pass_keeps_every_number(tmp_path, target, stem, class_name):
    run = driver(target)
    optimised, plain = (metric_class(tmp_path, stem, class_name, target, flag) for flag in (True, False))
    for kwargs in CONFIGURATIONS[(stem, class_name)]:
        rng = np.random.default_rng(7)
        batches = [batch(rng, n) for n in (64, 33)]
        results = []
        for cls in (optimised, plain):
            metric = run.make(cls, **kwargs)
            for compiled, (inputs, weights) in zip((False, True), batches):  # the target's compiled way too
                run.update(metric, inputs, sample_weight=weights, compiled=compiled)
            results.append(run.result(metric))
        assert np.isfinite(results[0]).any(), kwargs  # a result to compare
        np.testing.assert_array_equal(results[0], results[1], err_msg=f"{class_name}({kwargs}) on {target}")


def traced_ops(cls, kwargs: dict) -> set[str]:
    """The operations of the graph a tf.function of update_state traces."""
    metric = cls(**kwargs)
    scores = [tf.TensorSpec((None, 5), tf.float32)] * 2  # y_true, y_pred
    graph = tf.function(metric.update_state).get_concrete_function(*scores).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("stem, class_name", [("precision", "Precision"), ("true_positives", "TruePositives")])
@pytest.mark.parametrize("evenly", [True, False], ids=["evenly_spread", "uneven"])
def test_the_update_traces_one_branch_and_no_test(tmp_path, stem, class_name, evenly):
    """Keras buckets evenly spread thresholds (ceil of the score) and compares others: the optimised update
    traces only the way its thresholds take and no reduce_all (the test ran in the constructor); the plain one
    traces both ways and the test on every batch."""
    kwargs = {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0] if evenly else [0.2, 0.4, 0.6, 0.8]}
    optimised = traced_ops(metric_class(tmp_path, stem, class_name, "tf", True), kwargs)
    plain = traced_ops(metric_class(tmp_path, stem, class_name, "tf", False), kwargs)
    assert {"All", "Ceil"} <= plain
    assert "All" not in optimised and ("Ceil" in optimised) == evenly


BROADCASTING = """
name: broadcasting
class_name: Broadcasting
description: wheres on tests of the params, two of whose branches broadcast against each other
params:
  weights: {type: "list[float]", default: [1.0, 2.0]}
inputs: [{name: x}]
state:
  total: {}
  count: {}
  partial: {}
update:
  let:
    same_shape: where(all(cast(weights, float) > 0.0), x * 2.0, x)
    number_else: where(all(cast(weights, float) > 0.0), x, 0.0)
    per_weight: where(cast(weights, float) > 1.5, x, 0.0)
  total: weighted_sum(same_shape)
  count: weighted_count(number_else)
  partial: weighted_sum(per_weight)
result: total * 1000000.0 + count * 1000.0 + partial
"""


@pytest.mark.parametrize("weights", [[1.0, 2.0], [-1.0, 2.0]], ids=["test_holds", "test_fails"])
def test_a_where_whose_branches_broadcast_is_left_a_where(weights):
    """Choosing `0.0` for where(test, x, 0.0) would count one element, not x's; a per-element test is no
    choice at all: only the where whose branches have one shape is rewritten, and every number is numpy's."""
    source = generate_from_text(BROADCASTING, "broadcasting.yaml", "tf")
    assert "self._same_shape_condition = " in source
    assert "_number_else_condition" not in source and "_per_weight_condition" not in source
    namespace: dict = {}
    exec(compile(source, "broadcasting.py", "exec"), namespace)
    metric = namespace["Broadcasting"](weights=weights)
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    tf.function(metric.update_state)(tf.constant(x))
    w = np.array(weights)
    total = (x * 2.0 if (w > 0).all() else x).sum()
    partial = np.where(w > 1.5, x, 0.0).sum()
    np.testing.assert_allclose(float(metric.result()), total * 1e6 + x.size * 1e3 + partial)
