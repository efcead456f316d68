"""Cases of the retrieval family (catalogue/torchmetrics/specs/retrieval_*.yaml): RetrievalMRR, RetrievalHitRate,
RetrievalPrecision, RetrievalRecall, RetrievalMAP, RetrievalRPrecision, RetrievalFallOut, RetrievalNormalizedDCG
and RetrievalAUROC, each fed (target, preds, indexes): documents of a few queries with scattered ids
(negative ones too), interleaved across batches, as torchmetrics' retrieval tests draw them.

The configurations are those torchmetrics' own tests exercise (tests/unittests/retrieval/): every
empty_target_action but "error" (torchmetrics raises; ours gives NaN, tested on its own), ignore_index, top_k,
adaptive_k and each aggregation. Scores are distinct floats, so that a query's order is defined (torchmetrics
breaks ties by its sort's whim), except NDCG's and AUROC's without top_k, in tenths: ties are part of their
definition (tied documents share their mean relevance; are one point of the curve). On the Keras targets sample weights are not applied (the reference is torchmetrics' value
itself); a weight of 0 leaves a document out, tested on its own.
"""

from __future__ import annotations

import numpy as np

from torchmetrics_catalogue_cases import Case

QUERY_IDS = np.array([-3, 0, 7, 1000])  # scattered: the metric groups by id, it never indexes with one
IGNORE = -1


def documents(graded: bool = False, ignore: bool = False, ties: bool = False):
    """n documents of the four queries: 0/1 relevance (0..3 graded), about a fifth of it IGNORE with `ignore`
    (never the first document's: torchmetrics refuses a batch left empty), and normal scores (tenths: ties)."""

    def make(rng: np.random.Generator, n: int) -> dict:
        y_true = rng.integers(0, 4 if graded else 2, n)
        if ignore:
            y_true = np.where(rng.random(n) < 0.2, IGNORE, y_true)
            y_true[0] = 1
        scores = rng.normal(0.0, 1.0, n)
        y_pred = (np.round(scores, 1) if ties else scores).astype(np.float32)
        return {"y_true": y_true, "y_pred": y_pred, "indexes": QUERY_IDS[rng.integers(0, len(QUERY_IDS), n)]}

    return make


CASES: list[Case] = []


def add(class_name: str, stem: str, configurations: dict, make=documents()) -> None:
    """One case per configuration: {id suffix: kwargs}. Every class adds `max_samples`, its sample buffers'
    bound, after torchmetrics' params."""
    for suffix, kwargs in configurations.items():
        extra = {"adds": ("max_samples",), "ours": {"max_samples": 64}}
        draw = documents(ignore=True) if "ignore_index" in kwargs else make
        CASES.append(Case(f"{class_name}-{suffix}", stem, class_name, kwargs, draw, sizes=(12, 1, 9), extra=extra))


TOP_K = {
    "default": {},
    "top_k2-skip": {"top_k": 2, "empty_target_action": "skip"},
    "pos-median": {"empty_target_action": "pos", "aggregation": "median"},
    "top_k1-ignore-min": {"top_k": 1, "ignore_index": IGNORE, "aggregation": "min"},
    "max": {"aggregation": "max"},
}
add("RetrievalMRR", "retrieval_mrr", TOP_K)
add("RetrievalHitRate", "retrieval_hit_rate", TOP_K)
add(
    "RetrievalPrecision",
    "retrieval_precision",
    {**TOP_K, "top_k5-adaptive": {"top_k": 5, "adaptive_k": True}, "top_k5": {"top_k": 5}},
)
add("RetrievalRecall", "retrieval_recall", TOP_K)
add("RetrievalMAP", "retrieval_map", TOP_K)
add(
    "RetrievalRPrecision",
    "retrieval_r_precision",
    {
        "default": {},
        "skip-median": {"empty_target_action": "skip", "aggregation": "median"},
        "ignore-pos": {"ignore_index": IGNORE, "empty_target_action": "pos"},
    },
)
add("RetrievalFallOut", "retrieval_fall_out", {**TOP_K, "neg": {"empty_target_action": "neg"}})
add("RetrievalNormalizedDCG", "retrieval_normalized_dcg", TOP_K, make=documents(graded=True, ties=True))
add(
    "RetrievalAUROC",
    "retrieval_auroc",
    {
        **TOP_K,
        "max_fpr": {"max_fpr": 0.5},
        "top_k3-max_fpr-skip": {"top_k": 3, "max_fpr": 0.3, "empty_target_action": "skip"},
    },
)
add("RetrievalAUROC", "retrieval_auroc", {"ties": {}, "ties-max_fpr": {"max_fpr": 0.4}}, make=documents(ties=True))
