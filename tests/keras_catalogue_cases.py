"""The Keras catalogue's test cases: for each class of `keras.metrics`, constructor arguments (the configurations
Keras' own tests exercise) and a maker of random batches; shared by test_keras_catalogue.py (tf, keras on
TensorFlow, torchmetrics, in this process) and keras_catalogue_run.py (the keras target under JAX and PyTorch, in
a subprocess per backend). numpy only, and Keras for registering the wrapped function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np


@dataclass
class Case:
    id: str
    stem: str
    class_name: str
    kwargs: dict
    make: Callable[[np.random.Generator, int], dict]
    elementwise: bool = False  # Keras' metric also takes weights of the per-element values' shape
    sizes: tuple = (17, 1, 23)
    per_sample: bool = True  # Keras' metric takes weights of shape [batch]
    whole_weights: bool = False  # Keras truncates weights to ints (the IoU family): whole numbers compare
    scalar_weight: bool = True  # Keras' metric takes one weight a batch (FBetaScore refuses it: expand_dims)


def f32(x):
    return np.asarray(x, dtype=np.float32)


def integers(rng, n, shape=(3,), high=3):
    return {"y_true": f32(rng.integers(0, high, (n, *shape))), "y_pred": f32(rng.integers(0, high, (n, *shape)))}


def binary(rng, n, classes=4):
    return {"y_true": f32(rng.integers(0, 2, (n, classes))), "y_pred": f32(rng.uniform(size=(n, classes)))}


def binary_column_labels(rng, n):
    """labels [batch] against scores [batch, 1]: Keras adds the label's missing axis"""
    return {"y_true": f32(rng.integers(0, 2, n)), "y_pred": f32(rng.uniform(size=(n, 1)))}


def one_hot(rng, n, classes=8):
    truth = rng.integers(0, classes, n)
    return {"y_true": f32(np.eye(classes)[truth]), "y_pred": f32(rng.uniform(size=(n, classes)))}


def sparse(rng, n, classes=8, column=False):
    truth = rng.integers(0, classes, (n, 1) if column else n)
    return {"y_true": f32(truth), "y_pred": f32(rng.uniform(size=(n, classes)))}


def sorted_ids(rng, n, classes=8):
    scores = rng.uniform(size=(n, classes))
    return {
        "y_true": rng.integers(0, classes, n).astype(np.int32),
        "y_pred": np.argsort(-scores, axis=-1).astype(np.int32),
    }


def regression(rng, n, shape=(3,)):
    y = rng.normal(size=(n, *shape))
    return {"y_true": f32(y), "y_pred": f32(y + rng.normal(scale=0.7, size=y.shape))}


def percentages(rng, n):
    d = regression(rng, n)
    d["y_true"][: max(1, n // 5), 0] = 0.0  # |y_true| below epsilon: divided by epsilon
    return d


def logarithmic(rng, n):
    return {"y_true": f32(rng.uniform(-0.2, 3.0, (n, 3))), "y_pred": f32(rng.uniform(-0.2, 3.0, (n, 3)))}


def hinge_labels(rng, n, signed=False):
    labels = rng.integers(0, 2, (n, 3))
    return {"y_true": f32(2 * labels - 1 if signed else labels), "y_pred": f32(rng.normal(size=(n, 3)))}


def probabilities(rng, n, classes=5):
    def simplex():
        p = rng.uniform(size=(n, classes))
        return p / p.sum(-1, keepdims=True)

    t = simplex()
    t[: max(1, n // 4), 0] = 0.0  # clipped to epsilon
    return {"y_true": f32(t), "y_pred": f32(simplex())}


def counts(rng, n):
    return {"y_true": f32(rng.poisson(2.0, (n, 3))), "y_pred": f32(rng.uniform(0.1, 4.0, (n, 3)))}


def vectors(rng, n, shape=(4,)):
    d = regression(rng, n, shape)
    d["y_true"][0] = 0.0  # a zero vector normalises to zeros
    return d


def values(rng, n, shape=()):
    return {"values": f32(rng.normal(size=(n, *shape)))}


def scores(rng, n):
    """labels and scores over [-0.2, 1.2], some exactly on the thresholds used below"""
    y_pred = rng.uniform(-0.2, 1.2, (n, 3))
    y_pred[rng.uniform(size=(n, 3)) < 0.2] = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0])
    return {"y_true": f32(rng.integers(0, 2, (n, 3))), "y_pred": f32(y_pred)}


THRESHOLDS = [
    ("default", {}),
    ("0.3", {"thresholds": 0.3}),
    ("list_of_one", {"thresholds": [0.3]}),  # Keras: a number, as for one threshold
    ("list", {"thresholds": [0.2, 0.5, 0.8]}),
    ("evenly_spread", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}),  # Keras' bucketed path
]


def logits(rng, n, shape=(4,)):
    return {"y_true": f32(rng.integers(0, 2, (n, *shape))), "y_pred": f32(rng.normal(scale=3.0, size=(n, *shape)))}


def extreme_binary(rng, n, classes=4):
    """probabilities at and beyond the clipping bounds 1e-7 and 1 - 1e-7"""
    d = binary(rng, n, classes)
    d["y_pred"][:, 0] = 0.0
    d["y_pred"][:, 1] = 1.0
    return d


def one_hot_logits(rng, n, classes=6):
    d = one_hot(rng, n, classes)
    d["y_pred"] = f32(rng.normal(scale=3.0, size=(n, classes)))
    return d


def channels_first(rng, n, classes=4, positions=3):
    """one-hot labels and positive scores along axis 1: [batch, classes, positions]"""
    truth = rng.integers(0, classes, (n, positions))
    return {
        "y_true": f32(np.moveaxis(np.eye(classes)[truth], -1, 1)),
        "y_pred": f32(rng.uniform(0.05, 2.0, (n, classes, positions))),
    }


def sparse_logits(rng, n, classes=5, void=False):
    """integer labels ([batch, 1] with void) and logits; with void, some labels are -1"""
    truth = rng.integers(-1 if void else 0, classes, (n, 1) if void else n)
    return {"y_true": f32(truth), "y_pred": f32(rng.normal(scale=3.0, size=(n, classes)))}


def ranked(rng, n, classes=5):
    """labels and scores with ties: top_k keeps the lower index of a tie, as Keras' top_k"""
    y_pred = rng.uniform(size=(n, classes))
    y_pred[:, 3] = y_pred[:, 1]
    return {"y_true": f32(rng.integers(0, 2, (n, classes))), "y_pred": f32(y_pred)}


def very_negative_logits(rng, n, classes=5):
    """logits far below 0 (-1e9 and less): top_k's kept scores still count, above Keras' -1e10 for the others"""
    return {
        "y_true": f32(rng.integers(0, 2, (n, classes))),
        "y_pred": f32(-1e9 * (1.0 + rng.uniform(size=(n, classes)))),
    }


PRECISION_RECALL = [(tid, kwargs, scores, True) for tid, kwargs in THRESHOLDS] + [
    ("top_k_2", {"top_k": 2}, ranked, True),
    ("top_k_2_very_negative", {"top_k": 2}, very_negative_logits, True),
    ("top_k_1_thresholds", {"top_k": 1, "thresholds": [0.3, 0.6]}, ranked, True),
    ("top_k_2_evenly_spread", {"top_k": 2, "thresholds": [0.0, 0.5, 1.0]}, ranked, True),
    ("class_id_2", {"class_id": 2}, ranked, False),  # Keras: weights [batch] only, the column's shape
    ("class_id_1_top_k_2", {"class_id": 1, "top_k": 2, "thresholds": [0.2, 0.7]}, ranked, False),
]


def class_ids(rng, n, classes=4, shape=(), low=0, high=None):
    """class ids as floats; with low < 0 or high > classes, some lie outside [0, classes) and are left out"""
    high = classes if high is None else high
    return {
        "y_true": f32(rng.integers(low, high, (n, *shape))),
        "y_pred": f32(rng.integers(0, classes + (high > classes), (n, *shape))),
    }


def class_scores(rng, n, classes=4, dense_labels=False):
    """class ids (or one-hot labels) and scores [batch, classes]"""
    truth = rng.integers(0, classes, n)
    return {
        "y_true": f32(np.eye(classes)[truth] if dense_labels else truth),
        "y_pred": f32(rng.uniform(size=(n, classes))),
    }


def binary_labels(rng, n, shape=(3,)):
    return {"y_true": f32(rng.integers(0, 2, (n, *shape))), "y_pred": f32(rng.uniform(size=(n, *shape)))}


IOU = [  # Keras' iou_metrics_test configurations: ids (some out of range), ignore_class, dense inputs, segmentation maps
    ("iou", "iou", "IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, class_ids, True),
    ("iou_one_class", "iou", "IoU", {"num_classes": 3, "target_class_ids": [1]}, lambda r, n: class_ids(r, n, 3), True),
    (
        "iou_out_of_range_ignore_minus_1",
        "iou",
        "IoU",
        {"num_classes": 4, "target_class_ids": [1, 3], "ignore_class": -1},
        lambda r, n: class_ids(r, n, low=-1, high=5),
        True,
    ),
    (
        "iou_segmentation_ignore_0",
        "iou",
        "IoU",
        {"num_classes": 3, "target_class_ids": [0, 1, 2], "ignore_class": 0},
        lambda r, n: class_ids(r, n, 3, shape=(4, 5)),
        False,
    ),
    (
        "iou_dense_pred",
        "iou",
        "IoU",
        {"num_classes": 4, "target_class_ids": [0, 1], "sparse_y_pred": False},
        class_scores,
        True,
    ),
    (
        "iou_dense_both",
        "iou",
        "IoU",
        {"num_classes": 4, "target_class_ids": [2, 3], "sparse_y_true": False, "sparse_y_pred": False},
        lambda r, n: class_scores(r, n, dense_labels=True),
        True,
    ),
    ("mean_iou", "mean_iou", "MeanIoU", {"num_classes": 4}, class_ids, True),
    (
        "mean_iou_segmentation_ignore_255",
        "mean_iou",
        "MeanIoU",
        {"num_classes": 3, "ignore_class": 255},
        lambda r, n: {
            k: np.where(v == 3, 255, v).astype(np.float32) for k, v in class_ids(r, n, 3, (4, 5), 0, 4).items()
        },
        False,
    ),
    ("mean_iou_dense_pred", "mean_iou", "MeanIoU", {"num_classes": 4, "sparse_y_pred": False}, class_scores, True),
    ("binary_iou", "binary_iou", "BinaryIoU", {}, lambda r, n: binary_labels(r, n, ()), True),
    (
        "binary_iou_0_at_0.3",
        "binary_iou",
        "BinaryIoU",
        {"target_class_ids": [0], "threshold": 0.3},
        binary_labels,
        False,
    ),
    (
        "binary_iou_1_at_0.7",
        "binary_iou",
        "BinaryIoU",
        {"target_class_ids": [1], "threshold": 0.7},
        binary_labels,
        False,
    ),
    (
        "one_hot_iou",
        "one_hot_iou",
        "OneHotIoU",
        {"num_classes": 4, "target_class_ids": [0, 2]},
        lambda r, n: class_scores(r, n, dense_labels=True),
        True,
    ),
    (
        "one_hot_iou_ignore_1",
        "one_hot_iou",
        "OneHotIoU",
        {"num_classes": 4, "target_class_ids": [1, 3], "ignore_class": 1},
        lambda r, n: class_scores(r, n, dense_labels=True),
        True,
    ),
    (
        "one_hot_mean_iou",
        "one_hot_mean_iou",
        "OneHotMeanIoU",
        {"num_classes": 4},
        lambda r, n: class_scores(r, n, dense_labels=True),
        True,
    ),
]


def multi_label(rng, n, classes=4):
    """multi-label rows, scores with ties at a row's top (threshold None keeps them all) and some exact zeros"""
    y_pred = rng.uniform(size=(n, classes))
    y_pred[:, 2] = np.where(rng.uniform(size=n) < 0.3, y_pred.max(-1), y_pred[:, 2])
    y_pred[rng.uniform(size=(n, classes)) < 0.1] = 0.0
    return {"y_true": f32(rng.integers(0, 2, (n, classes))), "y_pred": f32(y_pred)}


F_SCORES = [  # Keras' f_score_metrics_test: every average, beta 0.5 / 1 / 2, threshold 0.3 / 0.66 / None
    (f"{average}_{beta}_{threshold}", {"average": average, "beta": beta, "threshold": threshold})
    for average, beta, threshold in [
        (None, 0.5, 0.3),
        ("micro", 0.5, 0.66),
        ("macro", 2.0, 0.66),
        ("weighted", 1.0, 0.66),
        (None, 1.0, None),
        ("micro", 2.0, None),
        ("macro", 0.5, None),
        ("weighted", 2.0, None),
    ]
]


def r2_columns(rng, n, constant_column=False):
    d = regression(rng, n, (3,))
    if constant_column:  # a column whose labels never vary: Keras scores it 0
        d["y_true"][:, 1] = 0.5
    return d


R2 = [  # Keras' regression_metrics_test: each aggregation, adjusted scores, and the fall back when p >= n - 1
    ("r2", {}, r2_columns),
    ("r2_per_column", {"class_aggregation": None}, r2_columns),
    ("r2_variance_weighted", {"class_aggregation": "variance_weighted_average"}, r2_columns),
    ("r2_adjusted_2", {"num_regressors": 2}, r2_columns),
    ("r2_adjusted_per_column_5", {"class_aggregation": None, "num_regressors": 5}, r2_columns),
    ("r2_adjusted_too_many", {"num_regressors": 500}, r2_columns),
    ("r2_constant_column", {"class_aggregation": None}, lambda rng, n: r2_columns(rng, n, constant_column=True)),
]


def multi_label_scores(rng, n, labels=3):
    d = scores(rng, n)
    d["y_true"][:, 1] = 1.0  # a column without negatives: its ROC area is 0, as Keras computes it
    return d


AUCS = [  # Keras' confusion_metrics_test AUC configurations, and every curve × summation
    ("auc", {}, scores, True),
    ("auc_3_thresholds", {"num_thresholds": 3}, scores, True),
    ("auc_pr", {"curve": "PR"}, scores, True),
    ("auc_pr_majoring", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 50}, scores, True),
    ("auc_pr_minoring", {"curve": "PR", "summation_method": "minoring"}, scores, True),
    ("auc_roc_minoring", {"summation_method": "minoring", "num_thresholds": 1000}, scores, True),
    ("auc_roc_majoring", {"summation_method": "majoring"}, scores, True),
    ("auc_prgain", {"curve": "PRGAIN", "num_thresholds": 40}, scores, True),
    ("auc_thresholds_uneven", {"thresholds": [0.7, 0.2, 0.5, 0.0]}, scores, True),
    ("auc_thresholds_even_pr", {"thresholds": [0.25, 0.5, 0.75], "curve": "PR"}, scores, True),
    ("auc_from_logits", {"from_logits": True}, logits, True),
    ("auc_label_weights", {"label_weights": [0.5, 2.0, 1.0]}, scores, True),
    ("auc_multi_label", {"multi_label": True}, multi_label_scores, False),
    ("auc_multi_label_4", {"multi_label": True, "num_labels": 3, "curve": "PR"}, scores, False),
    (
        "auc_multi_label_weighted",
        {"multi_label": True, "label_weights": [0.5, 2.0, 1.0], "summation_method": "minoring"},
        scores,
        False,
    ),
]


@keras.saving.register_keras_serializable(package="metricgen_tests")
def power_error(y_true, y_pred, power=2.0):
    """|y_true - y_pred| ** power per element: plain operators, so any target's tensors take it"""
    return abs(y_true - y_pred) ** power


AT_CONSTRAINT = [  # Keras' tests' values, and the single-threshold and class_id paths
    ("sensitivity_at_specificity", "SensitivityAtSpecificity", "specificity", (0.4, 0.8)),
    ("specificity_at_sensitivity", "SpecificityAtSensitivity", "sensitivity", (0.4, 1.0)),
    ("precision_at_recall", "PrecisionAtRecall", "recall", (0.6, 7.0 / 8)),
    ("recall_at_precision", "RecallAtPrecision", "precision", (2.0 / 3, 0.75)),
]

CASES = (
    [
        Case("accuracy", "accuracy", "Accuracy", {}, integers, elementwise=True),
        Case("accuracy_1d", "accuracy", "Accuracy", {}, lambda rng, n: integers(rng, n, ())),
        Case("binary_accuracy", "binary_accuracy", "BinaryAccuracy", {}, binary, elementwise=True),
        Case("binary_accuracy_0.7", "binary_accuracy", "BinaryAccuracy", {"threshold": 0.7}, binary, elementwise=True),
        Case("binary_accuracy_column", "binary_accuracy", "BinaryAccuracy", {"threshold": 0.3}, binary_column_labels),
        Case("categorical_accuracy", "categorical_accuracy", "CategoricalAccuracy", {}, one_hot),
        Case("sparse_categorical_accuracy", "sparse_categorical_accuracy", "SparseCategoricalAccuracy", {}, sparse),
        Case(
            "sparse_categorical_accuracy_column",
            "sparse_categorical_accuracy",
            "SparseCategoricalAccuracy",
            {},
            lambda rng, n: sparse(rng, n, column=True),
        ),
        Case("top_k", "top_k_categorical_accuracy", "TopKCategoricalAccuracy", {}, one_hot),
        Case("top_k_2", "top_k_categorical_accuracy", "TopKCategoricalAccuracy", {"k": 2}, one_hot),
        Case("sparse_top_k", "sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy", {}, sparse),
        Case(
            "sparse_top_k_2_column",
            "sparse_top_k_categorical_accuracy",
            "SparseTopKCategoricalAccuracy",
            {"k": 2},
            lambda rng, n: sparse(rng, n, column=True),
        ),
        Case(
            "sparse_top_k_sorted_ids",
            "sparse_top_k_categorical_accuracy",
            "SparseTopKCategoricalAccuracy",
            {"k": 3, "from_sorted_ids": True},
            sorted_ids,
        ),
        Case("mse", "mean_squared_error", "MeanSquaredError", {}, regression),
        Case("mse_3d", "mean_squared_error", "MeanSquaredError", {}, lambda rng, n: regression(rng, n, (2, 3))),
        Case("mae", "mean_absolute_error", "MeanAbsoluteError", {}, regression),
        Case("mape", "mean_absolute_percentage_error", "MeanAbsolutePercentageError", {}, percentages),
        Case("msle", "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", {}, logarithmic),
        Case("rmse", "root_mean_squared_error", "RootMeanSquaredError", {}, regression, elementwise=True),
        Case("logcosh", "log_cosh_error", "LogCoshError", {}, regression),
        Case("hinge", "hinge", "Hinge", {}, hinge_labels),
        Case("hinge_signed", "hinge", "Hinge", {}, lambda rng, n: hinge_labels(rng, n, signed=True)),
        Case("squared_hinge", "squared_hinge", "SquaredHinge", {}, hinge_labels),
        Case("squared_hinge_signed", "squared_hinge", "SquaredHinge", {}, lambda rng, n: hinge_labels(rng, n, True)),
        Case("categorical_hinge", "categorical_hinge", "CategoricalHinge", {}, one_hot),
        Case("kl_divergence", "kl_divergence", "KLDivergence", {}, probabilities),
        Case("poisson", "poisson", "Poisson", {}, counts),
        Case("cosine_similarity", "cosine_similarity", "CosineSimilarity", {}, vectors),
        Case(
            "cosine_similarity_axis1",
            "cosine_similarity",
            "CosineSimilarity",
            {"axis": 1},
            lambda rng, n: vectors(rng, n, (3, 4)),
        ),
        Case("pearson", "pearson_correlation", "PearsonCorrelation", {}, lambda rng, n: regression(rng, n, (5,))),
        Case(
            "pearson_axis1",
            "pearson_correlation",
            "PearsonCorrelation",
            {"axis": 1},
            lambda rng, n: regression(rng, n, (3, 4)),
        ),
        Case("concordance", "concordance_correlation", "ConcordanceCorrelation", {}, regression),
        Case(
            "concordance_axis1",
            "concordance_correlation",
            "ConcordanceCorrelation",
            {"axis": 1},
            lambda rng, n: regression(rng, n, (3, 4)),
        ),
        Case("sum", "sum", "Sum", {}, values),
        Case("sum_2d", "sum", "Sum", {}, lambda rng, n: values(rng, n, (3,)), elementwise=True),
        Case("mean", "mean", "Mean", {}, values),
        Case("mean_2d", "mean", "Mean", {}, lambda rng, n: values(rng, n, (3,)), elementwise=True),
    ]
    + [
        Case(f"{stem}_{tid}", stem, class_name, kwargs, scores, elementwise=True)
        for stem, class_name in [
            ("true_positives", "TruePositives"),
            ("false_positives", "FalsePositives"),
            ("true_negatives", "TrueNegatives"),
            ("false_negatives", "FalseNegatives"),
        ]
        for tid, kwargs in THRESHOLDS
    ]
    + [
        Case(f"{stem}_{tid}", stem, class_name, kwargs, make, elementwise=elementwise)
        for stem, class_name in [("precision", "Precision"), ("recall", "Recall")]
        for tid, kwargs, make, elementwise in PRECISION_RECALL
    ]
    + [
        Case(f"{stem}_{value:.3g}{tid}", stem, class_name, {param: value, **kwargs}, make, elementwise=elementwise)
        for stem, class_name, param, constraint_values in AT_CONSTRAINT
        for value in constraint_values
        for tid, kwargs, make, elementwise in [
            ("", {}, scores, True),
            ("_one_threshold", {"num_thresholds": 1}, scores, True),
            ("_7_class_id_2", {"num_thresholds": 7, "class_id": 2}, ranked, False),
        ]
    ]
    + [
        Case(tid, stem, class_name, kwargs, make, per_sample=per_sample, elementwise=sparse_labels, whole_weights=True)
        for tid, stem, class_name, kwargs, make, per_sample in IOU
        for sparse_labels in [kwargs.get("sparse_y_true", True) and not class_name.startswith("OneHot")]
    ]
    + [
        Case(f"fbeta_{tid}", "fbeta_score", "FBetaScore", kwargs, multi_label, scalar_weight=False)
        for tid, kwargs in F_SCORES
    ]
    + [
        Case(
            f"f1_{tid}",
            "f1_score",
            "F1Score",
            {k: v for k, v in kwargs.items() if k != "beta"},
            multi_label,
            scalar_weight=False,
        )
        for tid, kwargs in F_SCORES
        if kwargs["beta"] == 1.0
    ]
    + [Case("f1_default", "f1_score", "F1Score", {}, multi_label, scalar_weight=False)]
    + [Case(tid, "r2_score", "R2Score", kwargs, make, elementwise=True) for tid, kwargs, make in R2]
    + [
        Case("mean_metric_wrapper", "mean_metric_wrapper", "MeanMetricWrapper", {"fn": power_error}, regression),
        Case(
            "mean_metric_wrapper_kwargs",
            "mean_metric_wrapper",
            "MeanMetricWrapper",
            {"fn": power_error, "power": 3.0},
            regression,
            elementwise=True,
        ),
    ]
    + [Case(tid, "auc", "AUC", kwargs, make, elementwise=elementwise) for tid, kwargs, make, elementwise in AUCS]
    + [
        Case("bce", "binary_crossentropy", "BinaryCrossentropy", {}, binary),
        Case("bce_logits", "binary_crossentropy", "BinaryCrossentropy", {"from_logits": True}, logits),
        Case(
            "bce_logits_smoothing_3d",
            "binary_crossentropy",
            "BinaryCrossentropy",
            {"from_logits": True, "label_smoothing": 0.2},
            lambda rng, n: logits(rng, n, (2, 3)),
        ),
        Case("bce_smoothing", "binary_crossentropy", "BinaryCrossentropy", {"label_smoothing": 0.1}, extreme_binary),
        Case("cce", "categorical_crossentropy", "CategoricalCrossentropy", {}, probabilities),
        Case("cce_unnormalised", "categorical_crossentropy", "CategoricalCrossentropy", {}, one_hot),
        Case(
            "cce_logits_smoothing",
            "categorical_crossentropy",
            "CategoricalCrossentropy",
            {"from_logits": True, "label_smoothing": 0.1},
            one_hot_logits,
        ),
        Case(
            "cce_axis1_smoothing",  # Keras smooths by the size of the last axis, whatever axis is
            "categorical_crossentropy",
            "CategoricalCrossentropy",
            {"axis": 1, "label_smoothing": 0.3},
            channels_first,
        ),
        Case(
            "cce_axis1_logits",
            "categorical_crossentropy",
            "CategoricalCrossentropy",
            {"axis": 1, "from_logits": True},
            channels_first,
        ),
        Case("scce", "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, sparse),
        Case(
            "scce_column",
            "sparse_categorical_crossentropy",
            "SparseCategoricalCrossentropy",
            {},
            lambda rng, n: sparse(rng, n, column=True),
        ),
        Case(
            "scce_logits",
            "sparse_categorical_crossentropy",
            "SparseCategoricalCrossentropy",
            {"from_logits": True},
            lambda rng, n: sparse_logits(rng, n),
        ),
        Case(  # Keras: ignored entries count (with 0) only when no sample weight is given
            "scce_ignore_2",
            "sparse_categorical_crossentropy",
            "SparseCategoricalCrossentropy",
            {"ignore_class": 2},
            lambda rng, n: sparse(rng, n, classes=4),
        ),
        Case(
            "scce_ignore_minus_1_logits_column",
            "sparse_categorical_crossentropy",
            "SparseCategoricalCrossentropy",
            {"ignore_class": -1, "from_logits": True},
            lambda rng, n: sparse_logits(rng, n, void=True),
        ),
    ]
)


def first_of_each_class() -> list[Case]:
    """The first case of each class, in CASES' order: the representative subset (other backends, XLA, benchmarks)."""
    first: dict = {}
    for case in CASES:
        first.setdefault(case.class_name, case)
    return list(first.values())


def weight_modes(case: Case, elementwise: bool = True) -> tuple:
    """The ways a case is weighted: none, [batch], one number a batch, and (with `elementwise`) the values' shape,
    each where Keras' metric takes it."""
    return (
        ("unweighted",)
        + (("per_sample",) if case.per_sample else ())
        + (("scalar",) if case.per_sample and case.scalar_weight else ())
        + (("per_element",) if elementwise and case.elementwise else ())
    )


def weights_for(rng, part: dict, mode: str, case: Case):
    if mode == "unweighted":
        return None
    first = next(iter(part.values()))
    n = first.shape[0]
    shape = part["values"].shape if "values" in part else part["y_pred"].shape  # the per-element values' shape
    if mode == "per_sample":
        shape = (n,)
    elif mode == "scalar":  # one number a batch: Keras' Mean weighs the batch's mean by it, once
        shape = ()
    elif case.whole_weights:  # the IoU family: the labels' shape
        shape = part["y_true"].shape
    if case.whole_weights:
        return f32(rng.integers(0, 4, size=shape))
    return f32(rng.uniform(0.1, 2.0, size=shape))
