"""The torchmetrics catalogue's regression family (and the regression-like Perplexity, PeakSignalNoiseRatio).

Configurations follow torchmetrics' own tests (tests/unittests/regression/*, text/test_perplexity.py,
image/test_psnr.py): num_outputs 1 and several, every multioutput / reduction choice, the Tweedie powers, p of
Minkowski, adjusted R². `weighted` references are numpy's weighted means, with per-sample weights [batch]
broadcast over each sample's elements as Keras does.
"""

from __future__ import annotations

import numpy as np

from torchmetrics_catalogue_cases import Case


def uniform(shape, low=0.0, high=1.0):
    def make(rng: np.random.Generator, n: int) -> dict:
        return {
            "y_true": rng.uniform(low, high, (n, *shape)).astype(np.float32),
            "y_pred": rng.uniform(low, high, (n, *shape)).astype(np.float32),
        }

    return make


def correlated(shape):
    """Predictions that follow the targets with noise, so that correlations are far from 0."""

    def make(rng: np.random.Generator, n: int) -> dict:
        target = rng.uniform(0.0, 1.0, (n, *shape)).astype(np.float32)
        return {"y_true": target, "y_pred": (target + rng.normal(0.0, 0.3, target.shape)).astype(np.float32)}

    return make


def distributions(n_classes: int, log: bool):
    def make(rng: np.random.Generator, n: int) -> dict:
        p, q = (rng.dirichlet(np.ones(n_classes), n).astype(np.float32) for _ in range(2))
        return {"y_true": np.log(q) if log else q, "y_pred": np.log(p) if log else p}

    return make


def distributions_with_zeros(zero_in: str):
    """Rows with zeros: in p where q is not (0·log 0 is 0), in q where p is not (the divergence is +inf: `/` gave 0
    there, and -inf), or a whole row of p (not a distribution: NaN, as torchmetrics)."""

    def make(rng: np.random.Generator, n: int) -> dict:
        p, q = (rng.dirichlet(np.ones(4), n).astype(np.float32) for _ in range(2))
        if zero_in == "p":
            p[:, 0] = 0.0
        elif zero_in == "q":
            q[:, 1] = 0.0
        else:
            p[0] = 0.0
        return {"y_true": q, "y_pred": p}

    return make


def tokens(vocabulary: int, length: int, ignore_index: int | None):
    def make(rng: np.random.Generator, n: int) -> dict:
        ids = rng.integers(0, vocabulary, (n, length)).astype(np.int64)
        if ignore_index is not None:
            ids[rng.random((n, length)) < 0.25] = ignore_index
        return {"y_true": ids, "y_pred": rng.normal(0.0, 1.0, (n, length, vocabulary)).astype(np.float32)}

    return make


def weighted_elementwise(error, num_outputs: int = 1):
    """Σ w·error / Σ w per output, w a per-sample weight broadcast over the sample's elements."""

    def reference(parts: list[dict], weights: list[np.ndarray]):
        t = np.concatenate([p["y_true"] for p in parts]).astype(np.float64)
        y = np.concatenate([p["y_pred"] for p in parts]).astype(np.float64)
        w = np.broadcast_to(np.concatenate(weights).reshape((-1,) + (1,) * (t.ndim - 1)), t.shape)
        e = error(t, y).reshape(-1, num_outputs)
        w = w.reshape(-1, num_outputs)
        value = (w * e).sum(0) / w.sum(0)
        return value[0] if num_outputs == 1 else value

    return reference


def weighted_mse(squared: bool, num_outputs: int):
    mean = weighted_elementwise(lambda t, y: (y - t) ** 2, num_outputs)
    return lambda parts, weights: mean(parts, weights) if squared else np.sqrt(mean(parts, weights))


def absolute(t, y):
    return np.abs(y - t)


def percentage(t, y):
    return np.abs(y - t) / np.maximum(np.abs(t), 1.17e-6)


def weighted_wmape(parts, weights):
    t = np.concatenate([p["y_true"] for p in parts]).astype(np.float64)
    y = np.concatenate([p["y_pred"] for p in parts]).astype(np.float64)
    w = np.concatenate(weights)[:, None]
    return (w * np.abs(y - t)).sum() / (w * np.abs(t)).sum()


def weighted_minkowski(p: float):
    def reference(parts, weights):
        t = np.concatenate([b["y_true"] for b in parts]).astype(np.float64)
        y = np.concatenate([b["y_pred"] for b in parts]).astype(np.float64)
        w = np.concatenate(weights)[:, None]
        return ((w * np.abs(y - t) ** p).sum()) ** (1 / p)

    return reference


POSITIVE = uniform((), 0.1, 2.0)  # Tweedie's Poisson/Gamma domains, MSLE's log1p, MAPE away from 0

CASES = [
    Case(
        "MeanSquaredError", "mean_squared_error", "MeanSquaredError", {}, uniform((3,)), weighted=weighted_mse(True, 1)
    ),
    Case(
        "MeanSquaredError-rmse",
        "mean_squared_error",
        "MeanSquaredError",
        {"squared": False},
        uniform(()),
        weighted=weighted_mse(False, 1),
    ),
    Case(
        "MeanSquaredError-outputs3",
        "mean_squared_error",
        "MeanSquaredError",
        {"num_outputs": 3},
        uniform((3,)),
        weighted=weighted_mse(True, 3),
    ),
    Case(
        "MeanSquaredError-rmse-outputs2",
        "mean_squared_error",
        "MeanSquaredError",
        {"squared": False, "num_outputs": 2},
        uniform((2,)),
    ),
    Case(
        "MeanAbsoluteError",
        "mean_absolute_error",
        "MeanAbsoluteError",
        {},
        uniform((2, 2)),
        weighted=weighted_elementwise(absolute),
    ),
    Case(
        "MeanAbsoluteError-outputs3",
        "mean_absolute_error",
        "MeanAbsoluteError",
        {"num_outputs": 3},
        uniform((3,)),
        weighted=weighted_elementwise(absolute, 3),
    ),
    Case(
        "LogCoshError",
        "log_cosh_error",
        "LogCoshError",
        {},
        uniform((), -3.0, 3.0),
        weighted=weighted_elementwise(lambda t, y: np.log(np.cosh(y - t))),
    ),
    Case("LogCoshError-outputs3", "log_cosh_error", "LogCoshError", {"num_outputs": 3}, uniform((3,), -3.0, 3.0)),
    Case(
        "MeanAbsolutePercentageError",
        "mean_absolute_percentage_error",
        "MeanAbsolutePercentageError",
        {},
        POSITIVE,
        weighted=weighted_elementwise(percentage),
    ),
    Case(
        "SymmetricMeanAbsolutePercentageError",
        "symmetric_mean_absolute_percentage_error",
        "SymmetricMeanAbsolutePercentageError",
        {},
        uniform((2,), -1.0, 1.0),
        weighted=weighted_elementwise(lambda t, y: 2 * np.abs(y - t) / np.maximum(np.abs(t) + np.abs(y), 1.17e-6)),
    ),
    Case(
        "WeightedMeanAbsolutePercentageError",
        "weighted_mean_absolute_percentage_error",
        "WeightedMeanAbsolutePercentageError",
        {},
        uniform((2,), -1.0, 1.0),
        weighted=weighted_wmape,
    ),
    Case(
        "MeanSquaredLogError",
        "mean_squared_log_error",
        "MeanSquaredLogError",
        {},
        uniform((2,)),
        weighted=weighted_elementwise(lambda t, y: (np.log1p(y) - np.log1p(t)) ** 2),
    ),
    *[
        Case(
            f"TweedieDevianceScore-power{power}",
            "tweedie_deviance_score",
            "TweedieDevianceScore",
            {"power": power},
            POSITIVE,
            tolerance=1e-4,
        )
        for power in (0.0, 1.0, 1.5, 2.0, 3.0, -0.5)
    ],
    *[
        Case(
            f"MinkowskiDistance-p{p}",
            "minkowski_distance",
            "MinkowskiDistance",
            {"p": p},
            uniform((3,)),
            tolerance=1e-4,
            weighted=weighted_minkowski(p),
        )
        for p in (1.0, 2.0, 5.0)
    ],
    *[
        Case(
            f"ExplainedVariance-{multioutput}",
            "explained_variance",
            "ExplainedVariance",
            {"multioutput": multioutput},
            correlated((3,)),
            tolerance=1e-4,
        )
        for multioutput in ("raw_values", "uniform_average", "variance_weighted")
    ],
    Case("ExplainedVariance-single", "explained_variance", "ExplainedVariance", {}, correlated((1,)), tolerance=1e-4),
    *[
        Case(
            f"R2Score-{multioutput}-adjusted{adjusted}",
            "r2_score",
            "R2Score",
            {"multioutput": multioutput, "adjusted": adjusted},
            correlated((2,)),
            tolerance=1e-4,
            sizes=(7, 2, 5),
        )  # torchmetrics raises for a single sample
        for multioutput, adjusted in [
            ("uniform_average", 0),
            ("raw_values", 0),
            ("variance_weighted", 0),
            ("uniform_average", 2),
            ("uniform_average", 20),
        ]
    ],
    Case(  # every target column constant: the variances that weight the outputs sum to 0, and the result is NaN
        "R2Score-variance_weighted-constant",
        "r2_score",
        "R2Score",
        {"multioutput": "variance_weighted"},
        lambda rng, n: {
            "y_true": np.tile(np.array([[2.0, 5.0]], np.float32), (n, 1)),
            "y_pred": rng.random((n, 2)).astype(np.float32),
        },
        tolerance=1e-4,
        sizes=(7, 2, 5),
    ),
    Case("RelativeSquaredError", "relative_squared_error", "RelativeSquaredError", {}, correlated(()), tolerance=1e-4),
    Case(
        "RelativeSquaredError-root-outputs2",
        "relative_squared_error",
        "RelativeSquaredError",
        {"num_outputs": 2, "squared": False},
        correlated((2,)),
        tolerance=1e-4,
    ),
    Case("PearsonCorrCoef", "pearson_corr_coef", "PearsonCorrCoef", {}, correlated(()), tolerance=1e-4),
    Case(
        "PearsonCorrCoef-outputs3",
        "pearson_corr_coef",
        "PearsonCorrCoef",
        {"num_outputs": 3},
        correlated((3,)),
        tolerance=1e-4,
    ),
    Case("ConcordanceCorrCoef", "concordance_corr_coef", "ConcordanceCorrCoef", {}, correlated(()), tolerance=1e-4),
    Case(
        "ConcordanceCorrCoef-outputs2",
        "concordance_corr_coef",
        "ConcordanceCorrCoef",
        {"num_outputs": 2},
        correlated((2,)),
        tolerance=1e-4,
    ),
    *[
        Case(
            f"KLDivergence-{reduction}{'-log' if log_prob else ''}",
            "kl_divergence",
            "KLDivergence",
            {"log_prob": log_prob, "reduction": reduction},
            distributions(4, log_prob),
            tolerance=1e-4,
        )
        for log_prob in (False, True)
        for reduction in ("mean", "sum")
    ],
    *[
        Case(
            f"KLDivergence-zeros-in-{zero_in}",
            "kl_divergence",
            "KLDivergence",
            {},
            distributions_with_zeros(zero_in),
            tolerance=1e-4,
        )
        for zero_in in ("p", "q", "row")
    ],
    *[
        Case(
            f"CosineSimilarity-{reduction}",
            "cosine_similarity",
            "CosineSimilarity",
            {"reduction": reduction},
            uniform((4,), -1.0, 1.0),
            tolerance=1e-4,
        )
        for reduction in ("sum", "mean")
    ],
    *[
        Case(
            f"CriticalSuccessIndex-threshold{threshold}",
            "critical_success_index",
            "CriticalSuccessIndex",
            {"threshold": threshold},
            uniform((3, 3)),
            extra={"omits": ("keep_sequence_dim",)},
        )
        for threshold in (0.5, 0.8)
    ],
    Case("Perplexity", "perplexity", "Perplexity", {}, tokens(5, 4, None), tolerance=1e-4),
    Case("Perplexity-ignore", "perplexity", "Perplexity", {"ignore_index": 2}, tokens(5, 4, 2), tolerance=1e-4),
    Case(  # every token ignored: no token counted, NaN (0/0), not exp(0)
        "Perplexity-all-ignored",
        "perplexity",
        "Perplexity",
        {"ignore_index": 0},
        lambda rng, n: {**tokens(5, 4, None)(rng, n), "y_true": np.zeros((n, 4), np.int64)},
        tolerance=1e-4,
    ),
    Case(
        "PeakSignalNoiseRatio",
        "peak_signal_noise_ratio",
        "PeakSignalNoiseRatio",
        {"data_range": 1.0},
        uniform((2, 3, 3)),
        tolerance=1e-4,
        extra={"omits": ("dim",)},
    ),
    Case(
        "PeakSignalNoiseRatio-clipped-base2",
        "peak_signal_noise_ratio",
        "PeakSignalNoiseRatio",
        {"data_range": (0.2, 0.8), "base": 2.0},
        uniform((2, 3, 3)),
        tolerance=1e-4,
    ),
]
