"""Expressions and their numpy values, shared by every target's expression tests (in this process for tf, keras
on TensorFlow and torchmetrics; in a subprocess per Keras backend for keras on JAX and PyTorch).

Each case is an expression over the probe's inputs x (float32 [3, 4]), i (int32 [3, 4]), b (bool [3, 4]) and
params scale (float 0.5), n (int 3) and flag (bool True); its value is computed with numpy, never by metricgen.
"""

from __future__ import annotations

import numpy as np
import scipy.stats


def probe_spec(expression: str, lets: str = "") -> str:
    return f"""
name: probe
class_name: Probe
description: one expression, assigned to a state variable
params:
  scale: {{type: float, default: 0.5}}
  n: {{type: int, default: 3}}
  flag: {{type: bool, default: true}}
inputs:
  - {{name: x}}
  - {{name: i, dtype: int32}}
  - {{name: b, dtype: bool}}
state:
  out: {{shape: [{{shape}}], fold: assign}}
update:
  let:
    value: {expression}
{lets}
  out: reshape(value, [-1])
result: sum(out)
"""


X = np.array([[0.5, -1.25, 2.0, 0.0], [3.0, 0.25, -0.5, 1.5], [1.0, 2.5, -2.0, 0.75]], np.float32)
I = np.array([[0, 1, 2, 3], [3, 3, 1, 0], [2, 0, 1, 1]], np.int32)
B = X > 0.6
EMPTY = np.zeros((0,), np.float32)

with np.errstate(divide="ignore", invalid="ignore"):  # some references are inf or NaN on purpose
    # expression -> numpy value (float64 reference); every registry function appears at least once
    CASES = {
        "sum(x, axis=1)": X.sum(1),
        "sum(x, axis=(0, 1), keepdims=True)": X.sum(keepdims=True),
        "mean(x, axis=0)": X.mean(0),
        "max(x, axis=-1)": X.max(-1),
        "min(x, axis=0)": X.min(0),
        "prod(x + 3, axis=1)": (X + 3).prod(1),
        "cast(any(x > 2, axis=1), float32)": (X > 2).any(1).astype(float),
        "cast(all(x > -3, axis=0), float)": (X > -3).all(0).astype(float),
        "cumsum(x, axis=1)": np.cumsum(X, 1),
        "cumsum(ones_like(i), axis=-1) - 1": np.broadcast_to(np.arange(4, dtype=np.int32), (3, 4)),
        "ones_like(x) * 2.0": np.full_like(X, 2.0),
        "cumsum(x, axis=1, reverse=True, exclusive=True)": np.flip(np.cumsum(np.flip(X, 1), 1), 1) - X,
        "abs(x)": np.abs(X),
        "sign(x)": np.sign(X),
        "square(x)": X**2,
        "negative(x)": -X,
        "sqrt(abs(x))": np.sqrt(np.abs(X)),
        "log(abs(x) + 1)": np.log(np.abs(X) + 1),
        "log1p(abs(x))": np.log1p(np.abs(X)),
        "exp(x)": np.exp(X),
        "floor(x)": np.floor(X),
        "ceil(x)": np.ceil(X),
        "round(x)": np.round(X),
        "sigmoid(x)": 1 / (1 + np.exp(-X)),
        "clip(x, -1, 1)": np.clip(X, -1, 1),
        "maximum(x, 0.3)": np.maximum(X, 0.3),
        "minimum(x, i)": np.minimum(X, I),
        "safe_div(x, i)": np.divide(X, I, out=np.zeros_like(X), where=I != 0),
        "x / i": np.divide(X, I, out=np.zeros_like(X), where=I != 0),
        "where(x > 0, x, 2 * x)": np.where(X > 0, X, 2 * X),
        "x if x > 0 else 0.5": np.where(X > 0, X, 0.5),
        "matmul(x, transpose(x))": X @ X.T,
        "cast(argmax(x), float)": np.argmax(X, -1).astype(float),
        "cast(argmin(x, axis=0), float)": np.argmin(X, 0).astype(float),
        "cast(argsort(x, descending=True), float)": np.argsort(-X, -1, kind="stable").astype(float),
        "one_hot(argmax(x), 4)": np.eye(4)[np.argmax(X, -1)],
        "gather(x, i[1:, 3], axis=0)": X[I[1:, 3]],
        "gather(x[0], i)": X[0][I],
        "reshape(x, [2, 6])": X.reshape(2, 6),
        "batch_flatten(reshape(x, [3, 2, 2]))": X.reshape(3, 4),
        "all(batch_flatten(reshape(b, [3, 2, 2])), axis=1)": B.reshape(3, -1).all(axis=1),
        "batch_flatten(x[:, 0])": X[:, :1],
        "transpose(x)": X.T,
        "expand_dims(x, 0)": X[None],
        "squeeze(x[None, :, 1:2], axis=(0, 2))": X[:, 1],
        "flip(x, 1)": X[:, ::-1],
        "cast(size(x), float)": np.array(12.0),
        "cast(shape(x, 1), float)": np.array(4.0),
        "cast(arange(4), float) * x": np.arange(4) * X,
        "cast(arange(1, 9, 3), float)": np.arange(1, 9, 3).astype(float),
        "linspace(0, 1, 5)": np.linspace(0, 1, 5),
        "bincount(reshape(i, [-1]), 4)": np.bincount(I.reshape(-1), minlength=4).astype(float),
        "bincount(reshape(i, [-1]), 3, weights=reshape(x, [-1]))": np.bincount(
            I.reshape(-1)[I.reshape(-1) < 3], X.reshape(-1)[I.reshape(-1) < 3], minlength=3
        ),
        "segment_sum(x, i, 4)": np.array([X[I == k].sum() for k in range(4)]),
        "bucketize(x, linspace(-1.05, 2.15, 5))": np.searchsorted(np.linspace(-1.05, 2.15, 5), X, side="right"),
        "bucketize(x, cast(i[0], float) - 0.5)": np.searchsorted(np.sort(I[0] - 0.5), X, side="right"),
        "bucketize(x[0], x[1])": np.searchsorted(np.sort(X[1]), X[0], side="right"),
        "bucketize(i, linspace(3, 0, 4))": np.searchsorted(np.linspace(0, 3, 4), I, side="right"),
        # NaN (the log of a negative) past every edge, -inf (of 0) before them
        "bucketize(log(x), linspace(-1, 1, 3))": np.searchsorted(np.linspace(-1, 1, 3), np.log(X), side="right"),
        "weighted_sum(x)": np.array(X.sum()),
        "weighted_count(x)": np.array(12.0),
        "samplewise_sum(x)": np.array(X.mean(axis=1).sum()),
        "samplewise_count(x)": np.array(3.0),
        "sample_weights(x)": np.ones_like(X),
        # operators and promotion: int with float, bool arithmetic, constants, chained comparisons
        "x * i + 1": X * I + 1,
        "i // 2 + i % 2 + x ** 2": I // 2 + I % 2 + X**2,
        "(x > 0) + (i > 1)": (X > 0).astype(float) + (I > 1),
        "cast(0 < x <= 2, float)": ((X > 0) & (X <= 2)).astype(float),
        "cast((x > 0) & (i == 1) | ~(x < 3), float)": (((X > 0) & (I == 1)) | ~(X < 3)).astype(float),
        "cast(x > 0 and not i != 3 or x > 2.5, float)": (((X > 0) & ~(I != 3)) | (X > 2.5)).astype(float),
        "x[..., None][:, ::2, 0] * pi + epsilon": X[:, ::2] * np.pi + 1e-7,
        "-x[1] + i[2, 1:3][0]": -X[1] + I[2, 1],
        # each row's own indices (take_along_axis), and IEEE division that keeps inf and NaN (true_divide)
        "take_along_axis(x, argsort(x, descending=True)[..., :2])": np.take_along_axis(
            X, np.argsort(-X, -1, kind="stable")[..., :2], -1
        ),
        "take_along_axis(i, argsort(x, axis=0)[:1], axis=0)": np.take_along_axis(
            I, np.argsort(X, 0, kind="stable")[:1], 0
        ),
        "true_divide(x, cast(i, float))": X.astype(np.float64) / I,
        # rank() is known when the metric is traced: a branch on it is chosen then
        "x[0] if rank(x) > 1 else x": X[0],
        "cast(rank(x[0]) + rank(b), float)": np.array(3.0),
        # softplus, rsqrt, log_softmax, logsumexp, isnan, isinf, sort, top_k, in_top_k, concat
        "softplus(x) + rsqrt(abs(x) + 1)": np.log1p(np.exp(X)) + 1 / np.sqrt(np.abs(X) + 1),
        "log_softmax(x)": X - np.log(np.exp(X).sum(-1, keepdims=True)),
        "softmax(x) + softmax(x * 30, axis=0)": np.exp(X) / np.exp(X).sum(-1, keepdims=True)
        + np.exp(30 * X - (30 * X).max(0)) / np.exp(30 * X - (30 * X).max(0)).sum(0),
        "logsumexp(x, axis=0) + logsumexp(x)": np.log(np.exp(X).sum(0)) + np.log(np.exp(X).sum()),
        "cast(isnan(true_divide(x, x * 0)), float) + cast(isinf(true_divide(x, x * 0)), float) * 2": np.where(
            X == 0, 1.0, 2.0
        ),
        "sort(x) + sort(x, axis=0, descending=True)": np.sort(X, -1) + -np.sort(-X, 0),
        "top_k(x, 2)": -np.sort(-X, -1)[:, :2],
        # argmin's value has 3 values above it, so it is not in the top 3; all-equal scores tie, so all are in the top 1
        "cast(in_top_k(argmin(x), x, 3), float) + cast(in_top_k(i[:, 0], floor(x * 0), 1), float)": np.ones(3),
        "concat(x, i, axis=0)": np.concatenate([X, I], 0),
        "concat(b, x > 1)": np.concatenate([B, X > 1], -1),
        # unary plus is nothing; an int tensor to a negative power is a float
        "+x - +i": X - I,
        "(i + 1) ** -1": (I + 1.0) ** -1.0,
        # operator precedence: a power binds tighter than a unary minus on its left, looser on its right
        "(-x) ** 2 - (x - 1) ** 2 + 2 ** -x": X**2 - (X - 1) ** 2 + 2.0**-X,
        # comparisons of comparisons keep their parentheses (not a chain)
        "cast((x > 0) == (i > 1), float)": ((X > 0) == (I > 1)).astype(float),
        "cast(any(where(x > 0, x > 1, i > 2), axis=1), float)": np.where(X > 0, X > 1, I > 2).any(1).astype(float),
        "bincount(reshape(i, [-1]) - 1, 3)": np.bincount(I.reshape(-1)[I.reshape(-1) >= 1] - 1, minlength=3)[:3],
        "segment_sum(x, i - 1, 3)": np.array([X[I == k + 1].sum() for k in range(3)]),
        # ids past the end are dropped too
        "segment_sum(x, i, 2)": np.array([X[I == k].sum() for k in range(2)]),
        "bincount(reshape(i, [-1]), 2, weights=reshape(i, [-1]))": np.array([0.0, (I == 1).sum()]),
        "one_hot(reshape(i, [-1]) - 1, 3)": np.array([[float(v - 1 == k) for k in range(3)] for v in I.reshape(-1)]),
        # int tensors meet float constants and params: the result is float, nothing truncates
        "sum(i * 0.5)": np.array(I.sum() * 0.5),
        "i * scale + x": I * 0.5 + X,
        "i / 4": I / 4,
        "cast(i, float) ** -1 if flag else x": np.divide(1.0, I, out=np.full(I.shape, np.inf), where=I != 0),
        "i + n": I + 3,
        "x * n - n // 2": X * 3 - 1,
        "i // n + i % n": I // 3 + I % 3,
        "cast(i > n - 2, float)": (I > 1).astype(float),
        "x if flag else -x": X,
        "x if not flag else -x": -X,
        # booleans: as numbers they are 0/1; as conditions they select
        "cast(b, float) + x": B.astype(float) + X,
        "b + i": B.astype(float) + I,
        "where(b, i, 0)": np.where(B, I, 0),
        "where(b, x, i)": np.where(B, X, I),
        "cast(b & (i > 0) | ~b, float)": ((B & (I > 0)) | ~B).astype(float),
        "cast(any(b), float) + cast(all(b == b), float)": np.array(2.0),
        "cast(b, int32) * 2": B * 2,
        # zero denominators: `/` and safe_div give 0
        "x / (x * 0)": np.zeros_like(X),
        "safe_div(i, i * 0)": np.zeros_like(X),
        "sum(x) / sum(x[:0])": np.array(0.0),
        # empty reductions: 0 for sum, NaN for mean, the dtype's bounds for max and min
        "sum(x[:0], axis=0)": np.zeros(4),
        "mean(x[:, :0])": np.array(np.nan),
        "max(x[:0])": np.array(-np.inf),
        "min(x[:, :0], axis=1)": np.full(3, np.inf),
        "cast(max(i[:0]), float)": np.array(-(2.0**31)),
        "cast(min(i[:0]), float)": np.array(2.0**31 - 1),
        # ties: argmax/argmin take the first, argsort is stable (ties keep their order), both directions
        "cast(argmax(floor(x * 0)), float)": np.zeros(3),
        # (abs: keras.ops orders -0.0 before 0.0, where numpy, TensorFlow and torch see a tie; see the README)
        "cast(argmin(abs(floor(x / 4)), axis=1), float)": np.argmin(np.abs(np.floor(X / 4)), 1).astype(float),
        "cast(argsort(floor(x / 2)), float)": np.argsort(np.floor(X / 2), -1, kind="stable").astype(float),
        "cast(argsort(floor(x / 2), descending=True), float)": np.argsort(-np.floor(X / 2), -1, kind="stable").astype(
            float
        ),
        "cast(argsort(cast(i, float), axis=0, descending=True), float)": np.argsort(-I, 0, kind="stable").astype(float),
        # clip's bounds as numbers, tensors, or one of each (torch.clamp takes both of one kind), of a number too
        "clip(x, -1.0, max(x) / 2)": np.clip(X, -1.0, X.max() / 2),
        "clip(x, min(x) / 2, 1)": np.clip(X, X.min() / 2, 1.0),
        "clip(2.5, min(x), 1.5)": np.array(1.5),
        "clip(i, 1, 2)": np.clip(I, 1, 2).astype(float),
        # average ranks: ties share the mean of theirs; a NaN (log of a negative) ranks NaN, above every number (+inf too)
        "rankdata(x)": scipy.stats.rankdata(X, axis=-1),
        "rankdata(floor(x / 2), axis=0)": scipy.stats.rankdata(np.floor(X / 2), axis=0),
        "rankdata(i)": scipy.stats.rankdata(I, axis=-1),
        "rankdata(log(x), axis=1)": scipy.stats.rankdata(np.log(X), axis=1, nan_policy="omit"),
        "rankdata(where(b, true_divide(x, x * 0), log(x)), axis=1)": scipy.stats.rankdata(
            np.where(B, np.inf, np.log(X)), axis=1, nan_policy="omit"
        ),
        "rankdata(x[:0], axis=0)": EMPTY,
        "rankdata(expand_dims(x, 0), axis=1)": scipy.stats.rankdata(X[None], axis=1),
    }

# sample weights of lower, equal and one higher rank than the values (x is [3, 4])
SAMPLE_WEIGHTS = {
    "one number []": np.float32(1.5),
    "per sample [3]": np.array([0.5, 2.0, 0.0], np.float32),
    "per element [3, 4]": np.arange(12, dtype=np.float32).reshape(3, 4) / 10,
    "per sample [3, 1]": np.array([[0.5], [2.0], [0.0]], np.float32),
    "trailing 1 [3, 4, 1]": (np.arange(12, dtype=np.float32).reshape(3, 4, 1) + 1) / 10,
}


def broadcast_weights(w: np.ndarray, shape: tuple) -> np.ndarray:
    """Keras' rule: a trailing axis of size 1 beyond the values' rank is dropped, missing axes are added."""
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    return np.broadcast_to(w.reshape(w.shape + (1,) * (len(shape) - w.ndim)), shape)


def keras_mean(values: np.ndarray, weights: np.ndarray) -> tuple:
    """keras.metrics.Mean's (total, count) for one batch of 2-D values: each row is a sample, averaged over its
    elements (weighted ones: the mean of its w·x); a scalar weight weighs the batch's mean once."""
    w = np.asarray(weights, np.float64)
    if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    if w.ndim == 0:
        return values.mean() * w, w
    if w.ndim == 1:
        return (values.mean(axis=1) * w).sum(), w.sum()
    return (values * w).mean(axis=1).sum(), np.broadcast_to(w, values.shape).mean(axis=1).sum()


# expression -> its value from the weights broadcast to x's shape (w) and as given (raw)
WEIGHTED_CASES = {
    "weighted_sum(x)": lambda w, raw: np.array((X * w).sum()),
    "weighted_sum(i)": lambda w, raw: np.array((I * w).sum()),
    "weighted_count(x)": lambda w, raw: np.array(w.sum()),
    "weighted_count(b)": lambda w, raw: np.array(w.sum()),
    "sample_weights(x)": lambda w, raw: w,
    "weighted_sum(x - i) + weighted_sum(x + i)": lambda w, raw: np.array((2 * X * w).sum()),
    "samplewise_sum(x)": lambda w, raw: np.array(keras_mean(X.astype(np.float64), raw)[0]),
    "samplewise_count(x)": lambda w, raw: np.array(keras_mean(X.astype(np.float64), raw)[1]),
    "samplewise_count(b)": lambda w, raw: np.array(keras_mean(B.astype(np.float64), raw)[1]),
}
