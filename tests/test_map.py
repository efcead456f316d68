"""MeanAveragePrecision: exact where the thresholds separate every score, bounded where they do not, and
streaming with state whose size depends on thresholds and classes only."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from conftest import tf  # noqa: F401  (TensorFlow configured first, as every test module does)
from metric_cases import CASES

CASE = next(c for c in CASES if c.class_name == "MeanAveragePrecision")


def bucket_centred_scores(rng, n, classes, num_thresholds):
    """Scores in distinct buckets between thresholds k/(T-1): each class's ranking is then exact."""
    gaps = num_thresholds - 1
    columns = [(rng.choice(gaps, size=n, replace=False) + 0.5) / gaps for _ in range(classes)]
    return np.stack(columns, axis=1).astype(np.float32)


@pytest.mark.parametrize("num_thresholds", [50, 200, 1000])
def test_exact_when_thresholds_separate_the_scores(num_thresholds):
    rng = np.random.default_rng(11)
    n, classes = 40, 6
    y_true = (rng.uniform(size=(n, classes)) > 0.6).astype(np.float32)
    y_true[0] = 1  # every class has a positive
    y_pred = bucket_centred_scores(rng, n, classes, num_thresholds)
    weights = rng.uniform(0.1, 2, size=n).astype(np.float32)
    metric = CASE.new(num_classes=classes, num_thresholds=num_thresholds)
    for part in np.array_split(np.arange(n), 3):
        metric.update_state(y_true[part], y_pred[part], sample_weight=weights[part])
    expected = average_precision_score(y_true, y_pred, average="macro", sample_weight=weights)
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)


@pytest.mark.parametrize("informative", [False, True], ids=["random", "informative"])
def test_discretisation_error_is_bounded(informative):
    """At 200 thresholds on 2000 samples: within 5e-3 of scikit-learn on random scores (AP near the
    prevalence), within 2e-3 on informative ones."""
    rng = np.random.default_rng(12)
    n, classes = 2000, 8
    y_true = (rng.uniform(size=(n, classes)) > 0.7).astype(np.float32)
    noise = rng.uniform(size=(n, classes))
    y_pred = (0.5 * y_true + 0.5 * noise if informative else noise).astype(np.float32)
    metric = CASE.new(num_classes=classes)
    for part in np.array_split(np.arange(n), 7):
        metric.update_state(y_true[part], y_pred[part])
    expected = average_precision_score(y_true, y_pred, average="macro")
    assert abs(float(metric.result()) - expected) <= (2e-3 if informative else 5e-3)


def test_state_size_depends_on_thresholds_and_classes_only():
    metric = CASE.new(num_classes=3, num_thresholds=17)
    shapes = [tuple(v.shape) for v in metric.variables]
    assert shapes == [(18, 3), (18, 3)]
    rng = np.random.default_rng(13)
    for n in (10, 1000):
        metric.update_state((rng.uniform(size=(n, 3)) > 0.5).astype(np.float32), rng.uniform(size=(n, 3)))
    assert [tuple(v.shape) for v in metric.variables] == shapes


def test_keeps_every_batch_not_just_the_last():
    rng = np.random.default_rng(14)
    y_true = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.float32)
    y_pred = np.array([[0.91, 0.12], [0.33, 0.71], [0.27, 0.58], [0.64, 0.44]], np.float32)
    metric = CASE.new(num_classes=2, num_thresholds=101)
    metric.update_state(y_true[:2], y_pred[:2])
    metric.update_state(y_true[2:], y_pred[2:])
    expected = average_precision_score(y_true, y_pred, average="macro")
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)
    del rng


def test_scores_outside_the_unit_interval_land_in_the_end_buckets():
    metric = CASE.new(num_classes=1, num_thresholds=11)
    metric.update_state(np.array([[1], [0], [1]], np.float32), np.array([[1.5], [-0.2], [0.55]], np.float32))
    # ranking: 1.5 (+), 0.55 (+), -0.2 (-) -> AP 1
    assert float(metric.result()) == pytest.approx(1.0)
