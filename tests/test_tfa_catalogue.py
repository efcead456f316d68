"""The TensorFlow Addons catalogue (catalogue/tfa/specs/): every class against scikit-learn, scipy or numpy, on
every target (each driven by tests/drivers.py), over several batches (one of them a single sample), with and without sample weights where TFA
took them; TFA's own documented values run as each spec's examples, on every target."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, hamming_loss, matthews_corrcoef, multilabel_confusion_matrix, r2_score

from conftest import EVERY_TARGET as TARGETS
from conftest import ROOT
from drivers import driver
from metricgen.compiler import compile_file
from metricgen.examples import run_spec_examples

CATALOGUE = ROOT / "catalogue" / "tfa"
SPECS = sorted((CATALOGUE / "specs").glob("*.yaml"))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_generated_modules_are_up_to_date(spec, target):
    compiled = compile_file(spec, CATALOGUE / "generated", target)
    assert compiled.ok, compiled.errors
    assert (
        compiled.output.read_text(encoding="utf-8") == compiled.source
    ), f"run `cd catalogue/tfa && metricgen build --target {target} specs/`"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_tfa_documented_values(spec, target):
    """Each spec's examples are the values TFA's docstrings and tests give (carried over as facts)."""
    outcomes = run_spec_examples(spec, target)
    assert all(o.passed for o in outcomes), [o.format() for o in outcomes if not o.passed]


@dataclass
class Case:
    id: str
    stem: str
    class_name: str
    kwargs: dict
    make: Callable[[np.random.Generator, int], dict]
    reference: Callable[[dict, Optional[np.ndarray], dict], Any]
    weighted: bool = True  # TFA takes sample weights for it
    atol: float = 1e-5
    sizes: tuple = (17, 1, 23)


def labels(rng, n, classes=4):
    return {"y_true": rng.integers(0, classes, n), "y_pred": rng.integers(0, classes, n)}


def probabilities(rng, n, classes=4):
    truth = rng.integers(0, classes, n)
    scores = rng.uniform(size=(n, classes)) + 0.8 * np.eye(classes)[truth]
    return {
        "y_true": np.eye(classes)[truth].astype(np.float32),
        "y_pred": (scores / scores.sum(1, keepdims=True)).astype(np.float32),
    }


def kappa_reference(d, w, kw):
    truth = d["y_true"] if kw.get("sparse_labels") else np.argmax(d["y_true"], -1)
    if kw["num_classes"] == 2:
        truth, predicted = d["y_true"].astype(int), (d["y_pred"] > 0.5).astype(int)
    elif d["y_pred"].ndim > 1:
        predicted = (
            np.round(np.abs(d["y_pred"])).astype(int)[..., 0] if kw.get("regression") else np.argmax(d["y_pred"], -1)
        )
    else:
        predicted = d["y_pred"].astype(int)
    weights = {None: None, "linear": "linear", "quadratic": "quadratic"}[kw.get("weightage")]
    return cohen_kappa_score(np.ravel(truth), np.ravel(predicted), weights=weights, sample_weight=w)


def multilabel(rng, n, classes=5):
    return {
        "y_true": (rng.uniform(size=(n, classes)) > 0.6).astype(np.float32),
        "y_pred": rng.uniform(size=(n, classes)).astype(np.float32),
    }


def hamming_reference(d, w, kw):
    truth = d["y_true"].astype(int) != 0
    threshold = kw.get("threshold")
    if threshold is None:
        predicted = (d["y_pred"] >= d["y_pred"].max(-1, keepdims=True)) & (np.abs(d["y_pred"]) > 1e-12)
    else:
        predicted = d["y_pred"] > threshold
    if kw["mode"] == "multilabel":
        return hamming_loss(truth, predicted, sample_weight=w)  # scikit-learn's: the fraction of wrong labels
    per_sample = 1.0 - ((truth & predicted).sum(-1) > 0)  # TFA's multiclass rule: a true class among the predicted
    return np.average(per_sample, weights=w)


def binary_predictions(rng, n, classes=4):
    d = multilabel(rng, n, classes)
    d["y_pred"] = (d["y_pred"] > 0.5).astype(np.float32)
    return d


def positive_values(rng, n):
    return {"values": rng.uniform(0.2, 9.0, size=n).astype(np.float32)}


def regression(rng, n, outputs=None):
    shape = (n,) if outputs is None else (n, outputs)
    y = rng.normal(size=shape).astype(np.float32)
    return {"y_true": y, "y_pred": (y + rng.normal(scale=0.7, size=shape)).astype(np.float32)}


def r2_reference(d, w, kw):
    multioutput = kw.get("multioutput", "uniform_average")
    score = r2_score(d["y_true"], d["y_pred"], sample_weight=w, multioutput=multioutput)
    p = kw.get("num_regressors", 0)
    n = d["y_true"].size
    return 1 - (1 - score) * (n - 1) / (n - p - 1) if p and p < n - 1 else score


def correlated(rng, n):
    """Values on a grid finer than nothing: each distinct value has a bin of its own (100 bins over [0, 1])."""
    truth = rng.integers(0, 99, n)
    noise = rng.integers(-30, 31, n)
    return {
        "y_true": ((truth + 0.5) / 99).astype(np.float32),
        "y_pred": ((np.clip(truth + noise, 0, 98) + 0.5) / 99).astype(np.float32),
    }


CASES = [
    Case(
        "kappa_sparse", "cohen_kappa", "CohenKappa", {"num_classes": 4, "sparse_labels": True}, labels, kappa_reference
    ),
    Case(
        "kappa_linear",
        "cohen_kappa",
        "CohenKappa",
        {"num_classes": 4, "sparse_labels": True, "weightage": "linear"},
        labels,
        kappa_reference,
    ),
    Case(
        "kappa_quadratic_onehot",
        "cohen_kappa",
        "CohenKappa",
        {"num_classes": 4, "weightage": "quadratic"},
        probabilities,
        kappa_reference,
    ),
    Case(
        "kappa_binary",
        "cohen_kappa",
        "CohenKappa",
        {"num_classes": 2},
        lambda rng, n: {"y_true": rng.integers(0, 2, n), "y_pred": rng.uniform(size=n).astype(np.float32)},
        kappa_reference,
    ),
    Case(
        "kappa_regression",
        "cohen_kappa",
        "CohenKappa",
        {"num_classes": 5, "sparse_labels": True, "regression": True},
        lambda rng, n: {
            "y_true": rng.integers(0, 5, n),
            "y_pred": rng.uniform(-0.4, 4.4, size=(n, 1)).astype(np.float32),
        },
        kappa_reference,
    ),
    Case(
        "mcc",
        "matthews_correlation_coefficient",
        "MatthewsCorrelationCoefficient",
        {"num_classes": 4},
        probabilities,
        lambda d, w, kw: matthews_corrcoef(np.argmax(d["y_true"], -1), np.argmax(d["y_pred"], -1), sample_weight=w),
    ),
    Case(
        "hamming_multilabel",
        "hamming_loss",
        "HammingLoss",
        {"mode": "multilabel", "threshold": 0.5},
        multilabel,
        hamming_reference,
    ),
    Case(
        "hamming_multilabel_argmax",
        "hamming_loss",
        "HammingLoss",
        {"mode": "multilabel"},
        multilabel,
        hamming_reference,
    ),
    Case(
        "hamming_multiclass",
        "hamming_loss",
        "HammingLoss",
        {"mode": "multiclass", "threshold": 0.3},
        probabilities,
        hamming_reference,
    ),
    Case(
        "multilabel_confusion_matrix",
        "multilabel_confusion_matrix",
        "MultiLabelConfusionMatrix",
        {"num_classes": 4},
        binary_predictions,
        lambda d, w, kw: multilabel_confusion_matrix(d["y_true"].astype(int), d["y_pred"].astype(int), sample_weight=w),
    ),
    Case(
        "geometric_mean",
        "geometric_mean",
        "GeometricMean",
        {},
        positive_values,
        lambda d, w, kw: stats.gmean(d["values"], weights=w),
    ),
    Case(
        "harmonic_mean",
        "harmonic_mean",
        "HarmonicMean",
        {},
        positive_values,
        lambda d, w, kw: stats.hmean(d["values"], weights=w),
    ),
    # 1-D inputs are one output with TFA's y_shape=(); the number of outputs of [n, 3] comes from the first batch
    Case("r2", "r_square", "RSquare", {"y_shape": ()}, regression, r2_reference),
    Case("r2_adjusted", "r_square", "RSquare", {"y_shape": (), "num_regressors": 3}, regression, r2_reference),
    Case(
        "r2_raw_values",
        "r_square",
        "RSquare",
        {"multioutput": "raw_values"},
        lambda rng, n: regression(rng, n, 3),
        r2_reference,
    ),
    Case(
        "r2_variance_weighted",
        "r_square",
        "RSquare",
        {"multioutput": "variance_weighted"},
        lambda rng, n: regression(rng, n, 3),
        r2_reference,
    ),
    # the streaming correlations ignore sample weights, as TFA's did; with one bin per distinct value they are
    # exact for Kendall and Spearman, and Pearson is within its bins' midpoints
    Case(
        "kendall_b",
        "kendalls_tau_b",
        "KendallsTauB",
        {},
        correlated,
        lambda d, w, kw: stats.kendalltau(d["y_true"], d["y_pred"], variant="b").statistic,
        weighted=False,
    ),
    Case(
        "kendall_c",
        "kendalls_tau_c",
        "KendallsTauC",
        {},
        correlated,
        lambda d, w, kw: stats.kendalltau(d["y_true"], d["y_pred"], variant="c").statistic,
        weighted=False,
    ),
    Case(
        "spearman",
        "spearmans_rank",
        "SpearmansRank",
        {},
        correlated,
        lambda d, w, kw: stats.spearmanr(d["y_true"], d["y_pred"]).statistic,
        weighted=False,
    ),
    Case(
        "pearson",
        "pearsons_correlation",
        "PearsonsCorrelation",
        {},
        correlated,
        lambda d, w, kw: stats.pearsonr(d["y_true"], d["y_pred"]).statistic,
        weighted=False,
    ),
]


def metric_class(case: Case, target: str):
    return driver(target).metric_class(CATALOGUE / "generated", case.stem, case.class_name)


def feed(metric, target: str, batch: dict, w) -> None:
    """One batch, the target's way (tests/drivers.py: the tf target's in graph mode, the keras target's eagerly)."""
    driver(target).update(metric, batch, sample_weight=w)


def value(metric, target: str) -> np.ndarray:
    return driver(target).result(metric)


def run(case: Case, target: str, parts: list[dict], weights: list) -> np.ndarray:
    metric = driver(target).make(metric_class(case, target), **case.kwargs)
    for batch, w in zip(parts, weights):
        feed(metric, target, batch, w)
    return value(metric, target)


RUNS = [(case, weighted) for case in CASES for weighted in ((False, True) if case.weighted else (False,))]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case, weighted", RUNS, ids=[f"{c.id}-{'weighted' if w else 'unweighted'}" for c, w in RUNS])
def test_against_the_reference(case, target, weighted):
    rng = np.random.default_rng(len(case.id))
    parts = [case.make(rng, n) for n in case.sizes]
    weights = [rng.uniform(0.1, 2.0, size=n).astype(np.float32) if weighted else None for n in case.sizes]
    whole = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    all_weights = np.concatenate(weights) if weighted else None
    expected = np.asarray(case.reference(whole, all_weights, case.kwargs), dtype=np.float64)
    np.testing.assert_allclose(run(case, target, parts, weights), expected, atol=case.atol, rtol=1e-5)


def test_correlations_ignore_weights_and_pearson_is_within_its_bins():
    rng = np.random.default_rng(5)
    d = {"y_true": rng.uniform(size=300).astype(np.float32), "y_pred": rng.uniform(size=300).astype(np.float32)}
    d["y_pred"] = (0.6 * d["y_true"] + 0.4 * d["y_pred"]).astype(np.float32)
    for case in CASES[-4:]:
        plain = run(case, "tf", [d], [None])
        weighted = run(case, "tf", [d], [rng.uniform(size=300).astype(np.float32)])
        assert plain == weighted, case.id
    pearson = run(CASES[-1], "tf", [d], [None])
    assert abs(pearson - stats.pearsonr(d["y_true"], d["y_pred"]).statistic) < 0.01  # 100 bins of width 0.01


@pytest.mark.parametrize("target", TARGETS)
def test_kappa_edge_values_follow_tfa(target):
    """No data: 0 (TFA's value; scikit-learn's is NaN); one class for both raters: NaN, as scikit-learn."""
    Kappa = metric_class(CASES[0], target)
    assert float(value(driver(target).make(Kappa, num_classes=4, sparse_labels=True), target)) == 0.0
    metric = driver(target).make(Kappa, num_classes=4, sparse_labels=True)
    feed(metric, target, {"y_true": np.array([2, 2, 2]), "y_pred": np.array([2, 2, 2])}, None)
    assert np.isnan(float(value(metric, target)))


@pytest.mark.parametrize("target", TARGETS)
def test_merge_state_of_shards_is_the_whole(target):
    for case in (CASES[2], CASES[5], CASES[9], CASES[12], CASES[-3]):
        rng = np.random.default_rng(6)
        parts = [case.make(rng, n) for n in (20, 9)]
        shards = [driver(target).make(metric_class(case, target), **case.kwargs) for _ in parts]
        for shard, part in zip(shards, parts):
            feed(shard, target, part, None)
        driver(target).merge(shards[0], shards[1:])
        whole = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        np.testing.assert_allclose(
            value(shards[0], target), np.asarray(case.reference(whole, None, case.kwargs)), atol=1e-5, err_msg=case.id
        )


def test_constructor_checks_are_tfa_s_arguments():
    HammingLoss = metric_class(CASES[6], "tf")
    with pytest.raises(ValueError, match="mode"):
        HammingLoss(mode="multi")  # TFA raised TypeError at the first update; here at once
    Kappa = metric_class(CASES[0], "tf")
    with pytest.raises(ValueError, match="weightage"):
        Kappa(num_classes=3, weightage="cubic")
    with pytest.raises(ValueError, match="num_classes"):
        Kappa(num_classes=1)
    RSquare = metric_class(CASES[12], "tf")
    with pytest.raises(ValueError, match="multioutput"):
        RSquare(multioutput="meadian")
    assert RSquare(num_regressors=2).get_config()["num_regressors"] == 2  # TFA left it out of the config


# RSquare takes its number of outputs from the first batch, as TFA's did: no num_outputs argument (TFA never had
# one). 1-D inputs are one output with TFA's y_shape=(): a state shaped by the first batch cannot follow its rank.

MULTIOUTPUTS = ["raw_values", "uniform_average", "variance_weighted"]


def three_outputs(rng, n):
    return regression(rng, n, outputs=3)


def weighted_batches(make, rng, sizes=(17, 1, 23)):
    parts = [make(rng, n) for n in sizes]
    weights = [rng.uniform(0.1, 2.0, size=n).astype(np.float32) for n in sizes]
    whole = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return parts, weights, whole, np.concatenate(weights)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("multioutput", MULTIOUTPUTS)
def test_r_square_takes_its_outputs_from_the_first_batch(multioutput, target):
    case = Case(f"r2_{multioutput}", "r_square", "RSquare", {"multioutput": multioutput}, three_outputs, r2_reference)
    parts, weights, whole, all_weights = weighted_batches(three_outputs, np.random.default_rng(22))
    result = run(case, target, parts, weights)
    expected = r2_score(whole["y_true"], whole["y_pred"], sample_weight=all_weights, multioutput=multioutput)
    assert result.shape == ((3,) if multioutput == "raw_values" else ())
    np.testing.assert_allclose(result, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("target", TARGETS)
def test_r_square_of_one_output(target):
    """1-D inputs with y_shape=() (TFA's scalar state: raw_values is a scalar), [n, 1] inputs, and y_true [n]
    beside y_pred [n, 1] (brought to its rank, as Keras brings labels) are all scikit-learn's one-output R²;
    a 1-D first batch without y_shape is refused, never read as n outputs."""
    parts, weights, whole, all_weights = weighted_batches(regression, np.random.default_rng(23))
    expected = r2_score(whole["y_true"], whole["y_pred"], sample_weight=all_weights)
    RSquare = metric_class(CASES[12], target)
    forms = {
        "1-D, y_shape=()": ({"y_shape": (), "multioutput": "raw_values"}, lambda t, p: (t, p)),
        "[n, 1]": ({"multioutput": "raw_values"}, lambda t, p: (t[:, None], p[:, None])),
        "[n] beside [n, 1]": ({}, lambda t, p: (t, p[:, None])),
    }
    for form, (kwargs, shape) in forms.items():
        metric = driver(target).make(RSquare, **kwargs)
        for batch, w in zip(parts, weights):
            y_true, y_pred = shape(batch["y_true"], batch["y_pred"])
            feed(metric, target, {"y_true": y_true, "y_pred": y_pred}, w)
        result = value(metric, target)
        assert result.shape == driver(target).result_shape((1,) if form == "[n, 1]" else ()), form
        np.testing.assert_allclose(result.reshape(()), expected, atol=1e-5, rtol=1e-5, err_msg=form)
    with pytest.raises(ValueError, match="needs a known size along axis 1"):
        feed(driver(target).make(RSquare), target, parts[0], None)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "kwargs, make", [({"multioutput": "raw_values"}, three_outputs), ({"y_shape": ()}, regression)]
)
def test_r_square_merges_shards(kwargs, make, target):
    """Two shards of uneven size (one a batch of one) and one that saw nothing merge into the whole's R²."""
    parts, weights, whole, all_weights = weighted_batches(make, np.random.default_rng(24), sizes=(29, 1, 12))
    RSquare = metric_class(CASES[12], target)
    shards = [driver(target).make(RSquare, **kwargs) for _ in range(3)]  # the last sees no batch
    feed(shards[0], target, parts[0], weights[0])
    for batch, w in zip(parts[1:], weights[1:]):
        feed(shards[1], target, batch, w)
    total = driver(target).make(RSquare, **kwargs)
    driver(target).merge(total, shards)
    multioutput = kwargs.get("multioutput", "uniform_average")
    expected = r2_score(whole["y_true"], whole["y_pred"], sample_weight=all_weights, multioutput=multioutput)
    np.testing.assert_allclose(value(total, target), expected, atol=1e-5, rtol=1e-5)
