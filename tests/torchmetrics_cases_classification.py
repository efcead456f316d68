"""Cases of the stat-scores family (catalogue/torchmetrics/specs/): Accuracy, Precision, Recall, F1Score,
FBetaScore, Specificity, HammingDistance, StatScores in their binary, multiclass and multilabel forms, and
ExactMatch (multiclass, multilabel).

The configurations are those torchmetrics' own tests exercise (tests/unittests/classification/test_accuracy.py,
test_precision_recall.py, test_f_beta.py, test_specificity.py, test_hamming_distance.py, test_stat_scores.py,
test_exact_match.py): probabilities and logits, class-id predictions, extra axes with multidim_average="global",
every average, ignore_index, top_k. Where a class has a scikit-learn counterpart that takes sample weights,
`weighted` computes the expected value from the same batches and weights (the Keras targets weight each sample's
counts).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, fbeta_score, precision_score, recall_score

from torchmetrics_catalogue_cases import Case

NUM_CLASSES = 5
NUM_LABELS = 4
IGNORE = -1


# --- drawing batches -------------------------------------------------------------------------------------------


def _ignored(rng: np.random.Generator, labels: np.ndarray, ignore: int | None) -> np.ndarray:
    """About a fifth of the labels replaced by the ignored value."""
    return labels if ignore is None else np.where(rng.random(labels.shape) < 0.2, ignore, labels)


def binary(scores: str = "probabilities", shape: tuple = (), ignore: int | None = None):
    """0/1 labels and scores [n, *shape]: probabilities in [0, 1], logits (most batches with some outside),
    probabilities with "ignored_out_of_range" scores at the ignored elements (torchmetrics' stat scores still take
    the batch for logits), or "rare" positives (labels and predictions both, so that some divisions are by zero)."""

    def make(rng: np.random.Generator, n: int) -> dict:
        size = (n, *shape)
        if scores == "rare":
            return {
                "y_true": (rng.random(size) < 0.1).astype(np.int64),
                "y_pred": (0.55 * rng.random(size)).astype(np.float32),
            }
        y_true = _ignored(rng, rng.integers(0, 2, size=size), ignore)
        y_pred = rng.random(size) if scores == "probabilities" else rng.normal(0.0, 2.0, size)
        if scores == "ignored_out_of_range":  # probabilities, but an ignored element's score is 3: a logit
            y_pred = np.where(y_true == ignore, 3.0, rng.random(size))
        if scores == "nan":  # probabilities and one NaN: not within [0, 1], so torchmetrics takes the batch for logits
            y_pred.reshape(-1)[rng.integers(0, y_pred.size)] = np.nan
        return {"y_true": y_true, "y_pred": y_pred.astype(np.float32)}

    return make


def multiclass(
    scores: str = "probabilities",
    shape: tuple = (),
    ignore: int | None = None,
    classes: int = NUM_CLASSES,
    labelled: int = 0,
):
    """Class ids [n, *shape] and scores [n, classes, *shape] (the class axis second, as torchmetrics'), or ids;
    `labelled` classes of them, the first (0: all), carry labels: the others are only ever predicted."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = _ignored(rng, rng.integers(0, labelled or classes, size=(n, *shape)), ignore)
        if scores == "labels":
            return {"y_true": y_true, "y_pred": rng.integers(0, classes, size=(n, *shape))}
        logits = rng.normal(0.0, 1.5, (n, classes, *shape))
        y_pred = logits if scores == "logits" else np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return {"y_true": y_true, "y_pred": y_pred.astype(np.float32)}

    return make


def multilabel(scores: str = "probabilities", shape: tuple = (), ignore: int | None = None, labels: int = NUM_LABELS):
    """0/1 labels and scores [n, labels, *shape]."""
    return binary(scores, (labels, *shape), ignore)


# --- scikit-learn references for weighted batches (the Keras targets) ------------------------------------------


def _joined(parts: list[dict], weights: list[np.ndarray]):
    """Every batch's labels, predictions (as the metric makes them) and weights, one sample a row."""
    y_true = np.concatenate([p["y_true"] for p in parts])
    y_pred = np.concatenate([p["y_pred"] for p in parts])
    return y_true, y_pred, np.concatenate(weights)


def _thresholded(y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    return (y_pred > threshold).astype(int)


def weighted_binary(score, **options):
    """score(y_true, y_pred, sample_weight=...) of 1-D probabilities thresholded at 0.5."""

    def expected(parts, weights):
        y_true, y_pred, w = _joined(parts, weights)
        return score(y_true, _thresholded(y_pred), sample_weight=w, **options)

    return expected


def weighted_multiclass(score, **options):
    """score of [n, classes] scores (the prediction is the best one) against class ids."""

    def expected(parts, weights):
        y_true, y_pred, w = _joined(parts, weights)
        return score(y_true, y_pred.argmax(axis=1), sample_weight=w, **options)

    return expected


def weighted_multilabel(score, **options):
    """score of [n, labels] probabilities thresholded at 0.5 (scikit-learn's multilabel indicator format)."""

    def expected(parts, weights):
        y_true, y_pred, w = _joined(parts, weights)
        return score(y_true, _thresholded(y_pred), sample_weight=w, **options)

    return expected


# --- the cases ---------------------------------------------------------------------------------------------------

CASES: list[Case] = []

FORMS = ("Binary", "Multiclass", "Multilabel")
STEMS = {
    "StatScores": "stat_scores",
    "Accuracy": "accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "FBetaScore": "fbeta_score",
    "F1Score": "f1_score",
    "Specificity": "specificity",
    "HammingDistance": "hamming_distance",
    "ExactMatch": "exact_match",
}


def add(form: str, metric: str, configurations: dict, **common) -> None:
    """One case per configuration of torchmetrics' `<form><metric>`: {id suffix: (kwargs, make[, weighted])}."""
    for suffix, (kwargs, make, *weighted) in configurations.items():
        class_name = form + metric
        stem = f"{form.lower()}_{STEMS[metric]}"
        extra = {"weighted": weighted[0]} if weighted else {}
        CASES.append(Case(f"{class_name}-{suffix}", stem, class_name, kwargs, make, **extra, **common))


def beta_for(metric: str, beta: float = 2.0) -> dict:
    """FBetaScore's required beta; nothing for the others."""
    return {"beta": beta} if metric == "FBetaScore" else {}


AVERAGES = ("micro", "macro", "weighted", "none")
SKLEARN = {"Accuracy": accuracy_score, "Precision": precision_score, "Recall": recall_score, "F1Score": f1_score}

# binary: every class on probabilities; the thresholds, logits, extra axes and ignore_index where torchmetrics'
# tests put them (its input cases run every class through each)
for metric in (
    "StatScores",
    "Accuracy",
    "Precision",
    "Recall",
    "FBetaScore",
    "F1Score",
    "Specificity",
    "HammingDistance",
):
    configurations = {"probabilities": (beta_for(metric), binary())}
    if metric in SKLEARN:
        configurations["probabilities"] += (weighted_binary(SKLEARN[metric]),)
    add("Binary", metric, configurations)
add("Binary", "FBetaScore", {"beta0.5-zero_division1": ({"beta": 0.5, "zero_division": 1.0}, binary("rare"))})
for metric in ("Accuracy", "F1Score"):  # a NaN score: the whole batch is logits, as torchmetrics tests it
    add("Binary", metric, {"nan-score": ({}, binary("nan"))})
for metric in ("StatScores", "Accuracy"):  # the update every binary class shares
    add(
        "Binary",
        metric,
        {
            "logits-threshold0.3": ({"threshold": 0.3}, binary("logits")),
            "multidim-ignore_index": ({"ignore_index": IGNORE}, binary("logits", shape=(3,), ignore=IGNORE)),
        },
    )
add("Binary", "Precision", {"ignore_index0": ({"ignore_index": 0}, binary())})
add(
    "Binary",
    "Accuracy",
    {"ignored_out_of_range": ({"ignore_index": IGNORE}, binary("ignored_out_of_range", shape=(4,), ignore=IGNORE))},
)
add("Binary", "F1Score", {"zero_division1": ({"zero_division": 1.0}, binary("rare"))})

# multiclass: each average of each class once, with an input form torchmetrics' tests run (scores, ids, extra
# axes) and ignore_index inside and outside the classes; top_k 2 where the macro mean follows it
for metric in (
    "StatScores",
    "Accuracy",
    "Precision",
    "Recall",
    "FBetaScore",
    "F1Score",
    "Specificity",
    "HammingDistance",
):
    args = {**beta_for(metric), "num_classes": NUM_CLASSES}
    configurations = {
        "micro-top_k2": ({**args, "average": "micro", "top_k": 2}, multiclass()),
        # class ids of 5 classes out of 6: the last is never seen, which the macro mean leaves out
        "macro-labels-ignore_index0": (
            {**args, "num_classes": NUM_CLASSES + 1, "ignore_index": 0},
            multiclass("labels", ignore=0),
        ),
        "weighted-multidim-ignore_index": (
            {**args, "average": "weighted", "ignore_index": IGNORE},
            multiclass(shape=(3,), ignore=IGNORE),
        ),
        "none-logits": ({**args, "average": None}, multiclass("logits")),
    }
    if metric in SKLEARN and metric != "Accuracy":
        reference = weighted_multiclass(SKLEARN[metric], average=None, labels=list(range(NUM_CLASSES)))
        configurations["none-logits"] += (reference,)
    if metric in ("Accuracy", "Precision", "Recall"):  # their macro mean leaves out only the classes never labelled
        configurations["macro-top_k2"] = ({**args, "top_k": 2}, multiclass("logits", labelled=NUM_CLASSES - 1))
    add("Multiclass", metric, configurations)
add(
    "Multiclass",
    "Accuracy",
    {
        "num_classes_None-micro": ({"average": "micro"}, multiclass(), weighted_multiclass(accuracy_score)),
        "none-ignore_index255": (
            {"num_classes": NUM_CLASSES, "average": "none", "ignore_index": 255},
            multiclass(ignore=255),
        ),
    },
)
add(
    "Multiclass",
    "FBetaScore",
    {
        "beta0.5-zero_division1-none": (
            {"beta": 0.5, "num_classes": 7, "zero_division": 1.0, "average": "none"},
            multiclass(classes=7),
        )
    },
)

# multilabel: each average of each class, and logits with a threshold, ignore_index and extra axes
for metric in (
    "StatScores",
    "Accuracy",
    "Precision",
    "Recall",
    "FBetaScore",
    "F1Score",
    "Specificity",
    "HammingDistance",
):
    args = {**beta_for(metric), "num_labels": NUM_LABELS}
    configurations = {f"average_{average}": ({**args, "average": average}, multilabel()) for average in AVERAGES[:3]}
    if metric in SKLEARN and metric != "Accuracy":
        for average in AVERAGES[:3]:
            configurations[f"average_{average}"] += (weighted_multilabel(SKLEARN[metric], average=average),)
    configurations["none-logits-threshold0.3-ignore_index-multidim"] = (
        {**args, "average": None, "threshold": 0.3, "ignore_index": IGNORE},
        multilabel("logits", shape=(2,), ignore=IGNORE),
    )
    add("Multilabel", metric, configurations)
add(
    "Multilabel",
    "F1Score",
    {"zero_division1-none": ({"num_labels": 6, "zero_division": 1.0, "average": "none"}, multilabel("rare", labels=6))},
)

# exact match: multiclass scores and ids, multilabel, extra axes, ignore_index
add(
    "Multiclass",
    "ExactMatch",
    {
        "probabilities": ({"num_classes": NUM_CLASSES}, multiclass()),
        "labels-multidim-ignore_index": (
            {"num_classes": NUM_CLASSES, "ignore_index": IGNORE},
            multiclass("labels", shape=(2,), ignore=IGNORE),
        ),
        "logits-multidim2": ({"num_classes": 3}, multiclass("logits", shape=(2, 2), classes=3)),
    },
)
add(
    "Multilabel",
    "ExactMatch",
    {
        "probabilities": ({"num_labels": 3}, multilabel(labels=3), weighted_multilabel(accuracy_score)),
        "logits-threshold0.3-multidim-ignore_index": (
            {"num_labels": 3, "threshold": 0.3, "ignore_index": IGNORE},
            multilabel("logits", shape=(2,), ignore=IGNORE, labels=3),
        ),
    },
)
