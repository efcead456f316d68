"""Cases of the confusion-matrix family (catalogue/torchmetrics/specs/): the confusion matrices, the Jaccard index,
Cohen's kappa, Matthews' coefficient, calibration error, hinge loss and the binned AUROC / average precision.

The configurations are those torchmetrics' own tests exercise (tests/unittests/classification/test_<metric>.py):
probabilities and logits, multidimensional inputs, ignore_index, every normalize / average / weights / norm /
multiclass_mode. Where a class takes weights on the Keras targets, `weighted` computes the expected value with
scikit-learn (or numpy) from the same batches and weights.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix, jaccard_score, matthews_corrcoef

from torchmetrics_catalogue_cases import Case

NUM_CLASSES = 4
NUM_LABELS = 3
IGNORE = -1


# --- drawing batches -------------------------------------------------------------------------------------------


def outside_where_ignored(y_true, y_pred, scores: str) -> np.ndarray:
    """Probabilities with a score outside [0, 1] at each ignored element: torchmetrics' binary metrics look for
    logits among the elements kept only, its multilabel ones among all of them."""
    if scores == "probabilities":
        y_pred = np.where(y_true == IGNORE, 5.0, y_pred)
    return y_pred.astype(np.float32)


def binary(scores: str = "probabilities", shape: tuple = (), ignore: bool = False):
    """0/1 labels and float scores of shape [n, *shape]: probabilities in [0, 1], or logits (some outside)."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = rng.integers(0, 2, size=(n, *shape))
        if ignore:
            y_true = np.where(rng.random(y_true.shape) < 0.2, IGNORE, y_true)
        y_pred = rng.random((n, *shape)) if scores == "probabilities" else rng.normal(0.0, 3.0, (n, *shape))
        return {"y_true": y_true, "y_pred": outside_where_ignored(y_true, y_pred, scores)}

    return make


def multiclass(scores: str = "probabilities", shape: tuple = (), ignore: bool = False, classes: int = NUM_CLASSES):
    """Class ids [n, *shape] and scores [n, classes, *shape] (the class axis second, as torchmetrics'), or ids."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = rng.integers(0, classes, size=(n, *shape))
        if ignore:
            y_true = np.where(rng.random(y_true.shape) < 0.2, IGNORE, y_true)
        if scores == "labels":
            y_pred = rng.integers(0, classes, size=(n, *shape)).astype(np.int64)
        else:
            logits = rng.normal(0.0, 2.0, (n, classes, *shape))
            y_pred = logits if scores == "logits" else np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            y_pred = y_pred.astype(np.float32)
        return {"y_true": y_true, "y_pred": y_pred}

    return make


def multilabel(scores: str = "probabilities", shape: tuple = (), ignore: bool = False, labels: int = NUM_LABELS):
    """0/1 labels and scores [n, labels, *shape]."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = rng.integers(0, 2, size=(n, labels, *shape))
        if ignore:
            y_true = np.where(rng.random(y_true.shape) < 0.2, IGNORE, y_true)
        y_pred = (
            rng.random((n, labels, *shape)) if scores == "probabilities" else rng.normal(0.0, 3.0, (n, labels, *shape))
        )
        return {"y_true": y_true, "y_pred": outside_where_ignored(y_true, y_pred, scores)}

    return make


CASES: list[Case] = []


def add(class_name: str, stem: str, configurations: dict, **common) -> None:
    """One case per configuration: {id suffix: (kwargs, make)}."""
    for suffix, (kwargs, make) in configurations.items():
        CASES.append(Case(f"{class_name}-{suffix}", stem, class_name, kwargs, make, **common))


# --- the confusion matrices --------------------------------------------------------------------------------------

add(
    "BinaryConfusionMatrix",
    "binary_confusion_matrix",
    {
        "probabilities": ({}, binary()),
        "threshold0.3-ignore": ({"threshold": 0.3, "ignore_index": IGNORE}, binary(ignore=True)),
        "normalize-pred-ignore": ({"normalize": "pred", "ignore_index": IGNORE}, binary("logits", ignore=True)),
    },
)
add(
    "MulticlassConfusionMatrix",
    "multiclass_confusion_matrix",
    {
        "probabilities": ({"num_classes": NUM_CLASSES}, multiclass()),
        "labels": ({"num_classes": NUM_CLASSES}, multiclass("labels")),
        "logits-multidim": ({"num_classes": NUM_CLASSES}, multiclass("logits", (3,))),
        "ignore-class0": ({"num_classes": NUM_CLASSES, "ignore_index": 0}, multiclass()),
        "normalize-true": ({"num_classes": NUM_CLASSES, "normalize": "true"}, multiclass()),
        "normalize-pred-ignore": (
            {"num_classes": NUM_CLASSES, "normalize": "pred", "ignore_index": IGNORE},
            multiclass("labels", ignore=True),
        ),
        "normalize-all": ({"num_classes": NUM_CLASSES, "normalize": "all"}, multiclass("logits", (2,))),
        "normalize-none": ({"num_classes": NUM_CLASSES, "normalize": "none"}, multiclass()),
    },
)
add(
    "MultilabelConfusionMatrix",
    "multilabel_confusion_matrix",
    {
        "probabilities": ({"num_labels": NUM_LABELS}, multilabel()),
        "logits-multidim": ({"num_labels": NUM_LABELS}, multilabel("logits", (2,))),
        "threshold0.3-ignore": (
            {"num_labels": NUM_LABELS, "threshold": 0.3, "ignore_index": IGNORE},
            multilabel(ignore=True),
        ),
        "normalize-true": ({"num_labels": NUM_LABELS, "normalize": "true"}, multilabel("logits")),
        "normalize-all": ({"num_labels": NUM_LABELS, "normalize": "all"}, multilabel()),
    },
)


# --- the Jaccard index -------------------------------------------------------------------------------------------

add(
    "BinaryJaccardIndex",
    "binary_jaccard_index",
    {
        "probabilities": ({}, binary()),
        "logits-multidim-ignore": ({"ignore_index": IGNORE}, binary("logits", (3,), ignore=True)),
        "threshold0.7-zero_division1": ({"threshold": 0.7, "zero_division": 1.0}, binary()),
    },
)
JACCARD_AVERAGES = ("micro", "macro", "weighted", "none")
add(
    "MulticlassJaccardIndex",
    "multiclass_jaccard_index",
    {
        **{f"{a}": ({"num_classes": NUM_CLASSES, "average": a}, multiclass()) for a in JACCARD_AVERAGES},
        **{
            f"{a}-ignore0": ({"num_classes": NUM_CLASSES, "average": a, "ignore_index": 0}, multiclass("logits", (2,)))
            for a in ("micro", "macro")
        },
        # 6 classes of which a small batch sees few: the macro mean leaves unseen ones out
        "macro-unseen-zero_division1": ({"num_classes": 6, "zero_division": 1.0}, multiclass("labels", classes=3)),
    },
)
add(
    "MultilabelJaccardIndex",
    "multilabel_jaccard_index",
    {
        **{f"{a}": ({"num_labels": NUM_LABELS, "average": a}, multilabel()) for a in ("micro", "weighted", None)},
        "macro-logits-ignore": ({"num_labels": NUM_LABELS, "ignore_index": IGNORE}, multilabel("logits", ignore=True)),
        "micro-threshold0.3-multidim": (
            {"num_labels": NUM_LABELS, "average": "micro", "threshold": 0.3},
            multilabel(shape=(2,)),
        ),
    },
)


# --- Matthews' correlation coefficient -------------------------------------------------------------------------

add(
    "BinaryMatthewsCorrCoef",
    "binary_matthews_corrcoef",
    {
        "probabilities": ({}, binary()),
        "logits-multidim-ignore": ({"ignore_index": IGNORE}, binary("logits", (3,), ignore=True)),
        # every prediction positive: torchmetrics' special cases of a zero denominator
        "all-predicted-positive": ({"threshold": 0.0}, binary()),
        "all-predicted-negative": ({"threshold": 1.0}, binary()),
    },
)
add(
    "MulticlassMatthewsCorrCoef",
    "multiclass_matthews_corrcoef",
    {
        "probabilities": ({"num_classes": NUM_CLASSES}, multiclass()),
        "labels-ignore": ({"num_classes": NUM_CLASSES, "ignore_index": IGNORE}, multiclass("labels", ignore=True)),
        "logits-multidim": ({"num_classes": NUM_CLASSES}, multiclass("logits", (2,))),
        "two-classes": ({"num_classes": 2}, multiclass(classes=2)),
    },
)
add(
    "MultilabelMatthewsCorrCoef",
    "multilabel_matthews_corrcoef",
    {
        "probabilities": ({"num_labels": NUM_LABELS}, multilabel()),
        "logits-ignore": ({"num_labels": NUM_LABELS, "ignore_index": IGNORE}, multilabel("logits", ignore=True)),
        "threshold0.3-multidim": ({"num_labels": NUM_LABELS, "threshold": 0.3}, multilabel(shape=(2,))),
    },
)


# --- hinge loss --------------------------------------------------------------------------------------------------

add(
    "BinaryHingeLoss",
    "binary_hinge_loss",
    {
        "probabilities": ({}, binary()),
        "logits-multidim-ignore": ({"ignore_index": IGNORE}, binary("logits", (3,), ignore=True)),
        "squared-logits": ({"squared": True}, binary("logits")),
    },
)
add(
    "MulticlassHingeLoss",
    "multiclass_hinge_loss",
    {
        f"{mode}-{scores}-squared{squared}": (
            {"num_classes": NUM_CLASSES, "multiclass_mode": mode, "squared": squared},
            multiclass(scores),
        )
        for mode in ("crammer-singer", "one-vs-all")
        for scores, squared in (("probabilities", False), ("logits", True))
        if mode == "crammer-singer" or squared
    }
    | {
        "one-vs-all-ignore": (
            {"num_classes": NUM_CLASSES, "multiclass_mode": "one-vs-all", "ignore_index": IGNORE},
            multiclass(ignore=True),
        ),
    },
)


# --- calibration error -------------------------------------------------------------------------------------------

add(
    "BinaryCalibrationError",
    "binary_calibration_error",
    {
        "l1": ({}, binary()),
        "l2-logits-multidim-ignore": ({"norm": "l2", "ignore_index": IGNORE}, binary("logits", (3,), ignore=True)),
        "max-bins4": ({"norm": "max", "n_bins": 4}, binary()),
    },
)
add(
    "MulticlassCalibrationError",
    "multiclass_calibration_error",
    {
        "l1": ({"num_classes": NUM_CLASSES}, multiclass()),
        "l2-logits-ignore": (
            {"num_classes": NUM_CLASSES, "norm": "l2", "ignore_index": IGNORE},
            multiclass("logits", ignore=True),
        ),
        "max-bins4": ({"num_classes": NUM_CLASSES, "norm": "max", "n_bins": 4}, multiclass()),
    },
)


# --- sample weights on the Keras targets: scikit-learn's weighted values -------------------------------------------


def flat(parts: list[dict], sample_weights: list[np.ndarray], predict) -> tuple:
    """Labels, predictions (predict: a batch's y_pred → ids of y_true's shape) and each element's sample weight,
    flattened over every batch."""
    truth = np.concatenate([p["y_true"].reshape(-1) for p in parts])
    predicted = np.concatenate([predict(p["y_pred"]).reshape(-1) for p in parts])
    weight = np.concatenate(
        [
            np.broadcast_to(w.reshape(w.shape + (1,) * (p["y_true"].ndim - 1)), p["y_true"].shape).reshape(-1)
            for p, w in zip(parts, sample_weights)
        ]
    )
    return truth, predicted, weight


def above_half(y_pred):
    return (y_pred > 0.5).astype(np.int64)


def class_axis_argmax(y_pred):
    return y_pred.argmax(axis=1)


# --- Cohen's kappa ---------------------------------------------------------------------------------------------

add(
    "BinaryCohenKappa",
    "binary_cohen_kappa",
    {
        "probabilities": ({}, binary()),
        "logits-linear-ignore": ({"weights": "linear", "ignore_index": IGNORE}, binary("logits", (3,), ignore=True)),
        "quadratic": ({"weights": "quadratic", "threshold": 0.3}, binary()),
    },
)
add(
    "MulticlassCohenKappa",
    "multiclass_cohen_kappa",
    {
        "probabilities": ({"num_classes": NUM_CLASSES}, multiclass()),
        "labels-linear-ignore": (
            {"num_classes": NUM_CLASSES, "weights": "linear", "ignore_index": IGNORE},
            multiclass("labels", ignore=True),
        ),
        "logits-quadratic-multidim": ({"num_classes": NUM_CLASSES, "weights": "quadratic"}, multiclass("logits", (2,))),
    },
)


def weighted_by(score, predict, **options):
    def expected(parts, sample_weights):
        truth, predicted, weight = flat(parts, sample_weights, predict)
        return score(truth, predicted, sample_weight=weight, **options)

    return expected


WEIGHTED = {
    "BinaryConfusionMatrix-probabilities": weighted_by(confusion_matrix, above_half, labels=[0, 1]),
    "MulticlassConfusionMatrix-probabilities": weighted_by(
        confusion_matrix, class_axis_argmax, labels=list(range(NUM_CLASSES))
    ),
    "BinaryJaccardIndex-probabilities": weighted_by(jaccard_score, above_half),
    "MulticlassJaccardIndex-micro": weighted_by(
        jaccard_score, class_axis_argmax, average="micro", labels=list(range(NUM_CLASSES))
    ),
    "MulticlassJaccardIndex-none": weighted_by(
        jaccard_score, class_axis_argmax, average=None, labels=list(range(NUM_CLASSES))
    ),
    "MulticlassJaccardIndex-weighted": weighted_by(
        jaccard_score, class_axis_argmax, average="weighted", labels=list(range(NUM_CLASSES))
    ),
    "BinaryMatthewsCorrCoef-probabilities": weighted_by(matthews_corrcoef, above_half),
    "MulticlassMatthewsCorrCoef-probabilities": weighted_by(matthews_corrcoef, class_axis_argmax),
    "BinaryCohenKappa-probabilities": weighted_by(cohen_kappa_score, above_half),
    "MulticlassCohenKappa-probabilities": weighted_by(cohen_kappa_score, class_axis_argmax),
}

CASES = [replace(case, weighted=WEIGHTED[case.id]) if case.id in WEIGHTED else case for case in CASES]
assert all(id_ in {case.id for case in CASES} for id_ in WEIGHTED)
