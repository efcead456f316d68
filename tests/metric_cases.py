"""The nine shipped metrics, each with random data and an independent reference.

References are numpy formulas, scikit-learn, or Keras built-ins: never metricgen's own output. Each case
makes a batch of `n` samples (a dict of update_state arguments), and computes the reference value of the
whole stream from the concatenated batches and per-sample weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import keras
import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_score

from support import generated_path, load_module

EPS = 1e-7  # keras.config.epsilon()


@keras.saving.register_keras_serializable(package="metricgen_tests")
def emphasise_positives(y_true, y_pred):
    """The weight function of the WeightedMetric tests: positives count three times."""
    return 1.0 + 2.0 * keras.ops.cast(y_true > 0.5, y_pred.dtype)


def emphasise_positives_jax(y_true, y_pred):
    """The same weight function in jax.numpy, for the jax target."""
    return 1.0 + 2.0 * (y_true > 0.5).astype(y_pred.dtype)


def emphasise_positives_np(y_true, y_pred):
    return 1.0 + 2.0 * (y_true > 0.5)


@dataclass
class Case:
    stem: str
    class_name: str
    kwargs: dict
    inputs: tuple[str, ...]
    make: Callable[[np.random.Generator, int], dict[str, np.ndarray]]
    reference: Callable[[dict[str, np.ndarray], Optional[np.ndarray], dict], float]
    rtol: float = 1e-5
    atol: float = 1e-6
    # keras built-in computing the same value, for (y_true, y_pred) metrics
    keras_equivalent: Optional[Callable[[], Any]] = None
    notes: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.class_name

    @property
    def is_labelled(self) -> bool:
        """Whether it takes (y_true, y_pred) and so can be passed to model.compile(metrics=...)."""
        return self.inputs == ("y_true", "y_pred")

    def metric_class(self, target: str = "tf"):
        return getattr(load_module(generated_path(self.stem, target)), self.class_name)

    def new(self, target: str = "tf", **overrides):
        return self.metric_class(target)(**{**self.kwargs, **overrides})


def _w(weights, shape_rank):
    """Per-sample weights broadcast against an array of the given rank."""
    if weights is None:
        return 1.0
    return weights.reshape((-1,) + (1,) * (shape_rank - 1))


# --- Dice --------------------------------------------------------------------------------------------------
def make_masks(rng, n):
    return {
        "y_true": (rng.uniform(size=(n, 8, 8, 1)) > 0.6).astype(np.float32),
        "y_pred": rng.uniform(size=(n, 8, 8, 1)).astype(np.float32),
    }


def dice_reference(d, w, kw):
    t, p = d["y_true"].astype(np.float64), d["y_pred"].astype(np.float64)
    ww = _w(w, t.ndim)
    return 2 * np.sum(ww * t * p) / (np.sum(ww * t) + np.sum(ww * p) + kw.get("smooth", EPS))


# --- WeightedPrecision ---------------------------------------------------------------------------------------
CLASS_WEIGHTS = [0.5, 1.0, 2.0, 4.0]


def make_classes(rng, n):
    return {
        "y_true": rng.integers(0, 4, size=(n,)).astype(np.int64),
        "y_pred": rng.uniform(size=(n, 4)).astype(np.float32),
    }


def weighted_precision_reference(d, w, kw):
    cw = np.asarray(kw["class_weights"])
    y = d["y_true"].reshape(-1)
    hit = np.argmax(d["y_pred"], axis=-1) == y
    s = np.ones(len(y)) if w is None else w
    total = np.sum(cw[y] * s)
    return np.sum(cw[y] * s * hit) / total if total else 0.0


# --- MeanAveragePrecision ------------------------------------------------------------------------------------
def make_multilabel(rng, n):
    y = (rng.uniform(size=(n, 5)) > 0.5).astype(np.float32)
    # informative but noisy scores in [0, 1]
    scores = np.clip(0.35 * y + rng.uniform(size=(n, 5)) * 0.65, 0, 1).astype(np.float32)
    return {"y_true": y, "y_pred": scores}


def map_reference(d, w, kw):
    return average_precision_score(d["y_true"], d["y_pred"], average="macro", sample_weight=w)


# --- Ratio / AverageChannel ----------------------------------------------------------------------------------
def make_ratio(rng, n):
    return {
        "output_a": rng.uniform(0, 3, size=(n, 3)).astype(np.float32),
        "output_b": rng.uniform(0.5, 3, size=(n, 3)).astype(np.float32),
    }


def ratio_reference(d, w, kw):
    a, b = d["output_a"].astype(np.float64), d["output_b"].astype(np.float64)
    r = a / np.maximum(b, EPS)
    ww = _w(w, r.ndim) * np.ones_like(r)
    return np.sum(ww * r) / np.sum(ww)


def make_channels(rng, n):
    return {"output_multi": rng.normal(size=(n, 4, 3)).astype(np.float32)}


def average_channel_reference(d, w, kw):
    m = d["output_multi"].astype(np.float64).mean(axis=-1)
    ww = _w(w, m.ndim) * np.ones_like(m)
    return np.sum(ww * m) / np.sum(ww)


# --- WeightedLoss --------------------------------------------------------------------------------------------
def make_detection(rng, n):
    logits = rng.normal(size=(n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return {
        "output_cls": probs.astype(np.float32),
        "output_bbox": rng.uniform(size=(n, 4)).astype(np.float32),
        "target_cls": np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=n)],
        "target_bbox": rng.uniform(size=(n, 4)).astype(np.float32),
    }


def weighted_loss_reference(d, w, kw):
    # Keras' own cross-entropy as the reference for that term
    cce = np.asarray(keras.losses.categorical_crossentropy(d["target_cls"], d["output_cls"]), dtype=np.float64)
    l1 = np.mean(np.abs(d["target_bbox"].astype(np.float64) - d["output_bbox"]), axis=-1)
    loss = kw.get("classification_weight", 0.5) * cce + kw.get("regression_weight", 0.5) * l1
    s = np.ones(len(loss)) if w is None else w
    return np.sum(s * loss) / np.sum(s)


# --- binary classification -----------------------------------------------------------------------------------
def make_binary(rng, n):
    y = (rng.uniform(size=(n, 1)) > 0.4).astype(np.float32)
    scores = np.clip(0.3 * y + 0.7 * rng.uniform(size=(n, 1)), 0, 1).astype(np.float32)
    return {"y_true": y, "y_pred": scores}


def precision_reference(d, w, kw):
    predicted = (d["y_pred"].reshape(-1) > kw.get("threshold", 0.5)).astype(int)
    return precision_score(d["y_true"].reshape(-1).astype(int), predicted, sample_weight=w, zero_division=0)


def f1_reference(d, w, kw):
    predicted = (d["y_pred"].reshape(-1) > kw.get("threshold", 0.5)).astype(int)
    return f1_score(d["y_true"].reshape(-1).astype(int), predicted, sample_weight=w, zero_division=0)


# --- WeightedMetric ------------------------------------------------------------------------------------------
def make_regression(rng, n):
    y = rng.uniform(size=(n, 2)).astype(np.float32)
    return {"y_true": y, "y_pred": (y + rng.normal(scale=0.3, size=(n, 2))).astype(np.float32)}


def weighted_metric_reference(d, w, kw):
    t, p = d["y_true"].astype(np.float64), d["y_pred"].astype(np.float64)
    weight = emphasise_positives_np(t, p) * _w(w, t.ndim)
    return np.sum(weight * np.abs(t - p)) / np.sum(weight)


CASES = [
    Case("dice", "DiceCoefficient", {}, ("y_true", "y_pred"), make_masks, dice_reference),
    Case(
        "weighted_precision",
        "WeightedPrecision",
        {"class_weights": CLASS_WEIGHTS},
        ("y_true", "y_pred"),
        make_classes,
        weighted_precision_reference,
    ),
    # 200 thresholds: the discretisation error against scikit-learn's exact curve (see test_map_*)
    Case(
        "mean_average_precision",
        "MeanAveragePrecision",
        {"num_classes": 5},
        ("y_true", "y_pred"),
        make_multilabel,
        map_reference,
        rtol=0,
        atol=5e-3,
    ),
    Case("ratio", "RatioMetric", {}, ("output_a", "output_b"), make_ratio, ratio_reference),
    Case(
        "weighted_loss",
        "WeightedLossMetric",
        {"classification_weight": 0.7, "regression_weight": 0.3},
        ("output_cls", "output_bbox", "target_cls", "target_bbox"),
        make_detection,
        weighted_loss_reference,
    ),
    Case("average_channel", "AverageChannelMetric", {}, ("output_multi",), make_channels, average_channel_reference),
    Case(
        "running_average_precision",
        "RunningAveragePrecision",
        {"threshold": 0.5},
        ("y_true", "y_pred"),
        make_binary,
        precision_reference,
        keras_equivalent=lambda: keras.metrics.Precision(thresholds=0.5),
    ),
    Case(
        "stateful_f1",
        "StatefulF1Score",
        {"threshold": 0.5},
        ("y_true", "y_pred"),
        make_binary,
        f1_reference,
        keras_equivalent=lambda: keras.metrics.F1Score(average="micro", threshold=0.5),
    ),
    Case(
        "weighted_metric",
        "WeightedMetric",
        {"weight_function": emphasise_positives},
        ("y_true", "y_pred"),
        make_regression,
        weighted_metric_reference,
    ),
]
CASE_IDS = [c.id for c in CASES]
LABELLED = [c for c in CASES if c.is_labelled]
MULTI_INPUT = [c for c in CASES if not c.is_labelled]


def batches(case: Case, rng: np.random.Generator, sizes, weighted: bool):
    """A stream of batches of the given sizes, their concatenation, and the concatenated weights."""
    parts = [case.make(rng, n) for n in sizes]
    weights = [rng.uniform(0, 2, size=n).astype(np.float32) for n in sizes] if weighted else [None] * len(sizes)
    whole = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return parts, weights, whole, (np.concatenate(weights) if weighted else None)


def args(case: Case, batch: dict) -> list:
    return [batch[name] for name in case.inputs]


def check_close(case: Case, actual, expected, what=""):
    np.testing.assert_allclose(float(actual), float(expected), rtol=case.rtol, atol=case.atol, err_msg=what)
