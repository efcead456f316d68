"""Cases of the curve family (catalogue/torchmetrics/specs/): AUROC and average precision (binary, multiclass,
multilabel; exact over a sample buffer with thresholds None, binned with a list of thresholds) and Spearman's
rank correlation (a sample buffer).

The configurations are those torchmetrics' own tests exercise (tests/unittests/classification/test_auroc.py,
test_average_precision.py, tests/unittests/regression/test_spearman.py): probabilities and logits, ignore_index,
every average, max_fpr, thresholds None and binned, one and several outputs. Scores are rounded to tenths, so
that ties are common (torchmetrics counts a run of tied scores as one step of the curve). Where a class takes
weights on the Keras targets, `weighted` computes the expected value with scikit-learn's roc_auc_score or
average_precision_score (sample_weight) from the same batches and weights.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from torchmetrics_catalogue_cases import Case

NUM_CLASSES = 4
NUM_LABELS = 3
IGNORE = -1
THRESHOLDS = [float(t) for t in np.linspace(0.0, 1.0, 5)]  # torchmetrics' thresholds=5, as a list


# --- drawing batches -------------------------------------------------------------------------------------------


def tenths(values: np.ndarray) -> np.ndarray:
    return np.round(values, 1).astype(np.float32)


def ignored(rng: np.random.Generator, y_true: np.ndarray) -> np.ndarray:
    """About a fifth of the labels set to IGNORE, never the first sample's: torchmetrics' multilabel curve fails
    on a label whose every element is ignored (a batch of one)."""
    mask = rng.random(y_true.shape) < 0.2
    mask[0] = False
    return np.where(mask, IGNORE, y_true)


def binary(scores: str = "probabilities", shape: tuple = (), ignore: bool = False):
    """0/1 labels and scores of shape [n, *shape]: probabilities in tenths (ties), or logits (some outside [0, 1])."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = rng.integers(0, 2, size=(n, *shape))
        if ignore:
            y_true = ignored(rng, y_true)
        y_pred = tenths(rng.random((n, *shape))) if scores == "probabilities" else rng.normal(0.0, 3.0, (n, *shape))
        return {"y_true": y_true, "y_pred": y_pred.astype(np.float32)}

    return make


def multiclass(scores: str = "probabilities", ignore: bool = False):
    """Class ids [n] (each class in a batch of four or more) and scores [n, classes]: softmax probabilities in
    tenths, or logits."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = rng.permutation(np.arange(n) % NUM_CLASSES)
        if ignore:
            y_true = ignored(rng, y_true)
        logits = rng.normal(0.0, 2.0, (n, NUM_CLASSES))
        y_pred = logits if scores == "logits" else tenths(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
        return {"y_true": y_true, "y_pred": y_pred.astype(np.float32)}

    return make


def multilabel(scores: str = "probabilities", ignore: bool = False):
    """0/1 labels and scores [n, labels]."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = rng.integers(0, 2, size=(n, NUM_LABELS))
        if ignore:
            y_true = ignored(rng, y_true)
        y_pred = tenths(rng.random((n, NUM_LABELS))) if scores == "probabilities" else rng.normal(0, 3, (n, NUM_LABELS))
        return {"y_true": y_true, "y_pred": y_pred.astype(np.float32)}

    return make


def regression(outputs: int = 1):
    """Targets with ties (whole numbers) and predictions [n] or [n, outputs]."""

    def make(rng: np.random.Generator, n: int) -> dict:
        shape = (n,) if outputs == 1 else (n, outputs)
        return {
            "y_true": np.round(rng.normal(0.0, 2.0, shape)).astype(np.float32),
            "y_pred": tenths(rng.normal(size=shape)),
        }

    return make


# --- the references for sample weights (Keras targets) -----------------------------------------------------------


def flat(parts: list[dict], sample_weights: list[np.ndarray]) -> tuple:
    truth = np.concatenate([p["y_true"] for p in parts])
    scores = np.concatenate([p["y_pred"] for p in parts])
    return truth, scores, np.concatenate(sample_weights)


def binary_reference(score, **options):
    def expected(parts, sample_weights):
        truth, scores, weight = flat(parts, sample_weights)
        return score(truth.reshape(-1), scores.reshape(-1), sample_weight=np.repeat(weight, truth[0].size), **options)

    return expected


def one_hot_reference(score, **options):
    """One versus rest per class: scikit-learn's multilabel form of the one-hot labels (its multiclass
    roc_auc_score wants scores that sum to 1, which scores rounded to tenths do not)."""

    def expected(parts, sample_weights):
        truth, scores, weight = flat(parts, sample_weights)
        return score(np.eye(NUM_CLASSES)[truth], scores, sample_weight=weight, **options)

    return expected


def multilabel_reference(score, **options):
    def expected(parts, sample_weights):
        truth, scores, weight = flat(parts, sample_weights)
        return score(truth, scores, sample_weight=weight, **options)

    return expected


# --- the cases ---------------------------------------------------------------------------------------------------

CASES: list[Case] = []


def add(class_name: str, stem: str, configurations: dict) -> None:
    """One case per configuration: {id suffix: (kwargs, make, weighted reference or None)}. Every class adds
    `max_samples`, its sample buffer's bound, after torchmetrics' params."""
    for suffix, (kwargs, make, weighted) in configurations.items():
        extra = {"adds": ("max_samples",), "ours": {"max_samples": 64}}
        CASES.append(Case(f"{class_name}-{suffix}", stem, class_name, kwargs, make, weighted=weighted, extra=extra))


add(
    "BinaryAUROC",
    "binary_auroc",
    {
        "ties": ({}, binary(), binary_reference(roc_auc_score)),
        "logits-multidim": ({}, binary("logits", (3,)), None),
        "max_fpr0.5": ({"max_fpr": 0.5}, binary(), binary_reference(roc_auc_score, max_fpr=0.5)),
        "binned": ({"thresholds": THRESHOLDS}, binary(), None),
        "binned-max_fpr0.3": ({"thresholds": THRESHOLDS, "max_fpr": 0.3}, binary("logits"), None),
        "ignore": ({"ignore_index": IGNORE}, binary(ignore=True), None),
    },
)
add(
    "BinaryAveragePrecision",
    "binary_average_precision",
    {
        "ties": ({}, binary(), binary_reference(average_precision_score)),
        "logits-ignore": ({"ignore_index": IGNORE}, binary("logits", ignore=True), None),
        "binned": ({"thresholds": THRESHOLDS}, binary(), None),
    },
)
add(
    "MulticlassAUROC",
    "multiclass_auroc",
    {
        "macro": ({"num_classes": NUM_CLASSES}, multiclass(), one_hot_reference(roc_auc_score)),
        "weighted": (
            {"num_classes": NUM_CLASSES, "average": "weighted"},
            multiclass(),
            one_hot_reference(roc_auc_score, average="weighted"),
        ),
        "none-logits": ({"num_classes": NUM_CLASSES, "average": None}, multiclass("logits"), None),
        "binned-weighted": (
            {"num_classes": NUM_CLASSES, "average": "weighted", "thresholds": THRESHOLDS},
            multiclass(),
            None,
        ),
        "ignore": ({"num_classes": NUM_CLASSES, "ignore_index": IGNORE}, multiclass(ignore=True), None),
    },
)
add(
    "MulticlassAveragePrecision",
    "multiclass_average_precision",
    {
        "macro": ({"num_classes": NUM_CLASSES}, multiclass(), one_hot_reference(average_precision_score)),
        "none-logits": ({"num_classes": NUM_CLASSES, "average": "none"}, multiclass("logits"), None),
        "binned": ({"num_classes": NUM_CLASSES, "thresholds": THRESHOLDS}, multiclass(), None),
        "weighted-ignore": (
            {"num_classes": NUM_CLASSES, "average": "weighted", "ignore_index": IGNORE},
            multiclass(ignore=True),
            None,
        ),
    },
)
add(
    "MultilabelAUROC",
    "multilabel_auroc",
    {
        "macro": ({"num_labels": NUM_LABELS}, multilabel(), multilabel_reference(roc_auc_score)),
        "micro": (
            {"num_labels": NUM_LABELS, "average": "micro"},
            multilabel(),
            multilabel_reference(roc_auc_score, average="micro"),
        ),
        "weighted-logits": ({"num_labels": NUM_LABELS, "average": "weighted"}, multilabel("logits"), None),
        "binned-none": ({"num_labels": NUM_LABELS, "average": None, "thresholds": THRESHOLDS}, multilabel(), None),
        "micro-ignore": (
            {"num_labels": NUM_LABELS, "average": "micro", "ignore_index": IGNORE},
            multilabel(ignore=True),
            None,
        ),
    },
)
add(
    "MultilabelAveragePrecision",
    "multilabel_average_precision",
    {
        "macro": ({"num_labels": NUM_LABELS}, multilabel(), multilabel_reference(average_precision_score)),
        "micro": (
            {"num_labels": NUM_LABELS, "average": "micro"},
            multilabel(),
            multilabel_reference(average_precision_score, average="micro"),
        ),
        "binned-micro": ({"num_labels": NUM_LABELS, "average": "micro", "thresholds": THRESHOLDS}, multilabel(), None),
        "weighted-ignore": (
            {"num_labels": NUM_LABELS, "average": "weighted", "ignore_index": IGNORE},
            multilabel("logits", ignore=True),
            None,
        ),
    },
)
add(
    "SpearmanCorrCoef",
    "spearman_corr_coef",
    {
        "ties": ({}, regression(), None),
        "outputs3": ({"num_outputs": 3}, regression(3), None),
    },
)
