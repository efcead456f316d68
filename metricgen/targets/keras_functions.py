"""The keras target's column of the function table: each function written with ``keras.ops`` only, so that one
module runs on every Keras backend.

Function name -> lowering, in the table's order (metricgen/functions.py). A function missing here is refused
for the keras target, located where a spec calls it.
"""

from __future__ import annotations

from ..functions import (
    OUT_DTYPE,
    SAMPLE_WEIGHT,
    Args,
    Call,
    Code,
    Lowering,
    bincount_as_segment_sum,
    call,
    given,
    reduce_call,
    static_choice,
)


def _int32(lowering: Lowering) -> Lowering:
    """keras.ops gives int64 (or the backend's default int) where the language promises int32."""
    return lambda a: f'ops.cast({lowering(a)}, "int32")'


def _empty_extreme(dtype: str, highest: bool) -> str:
    """What tf.reduce_max/min give for no values: the dtype's lowest (highest) value, -inf (inf) for floats."""
    if dtype in ("int32", "int64"):
        bits = 31 if dtype == "int32" else 63
        return str(2**bits - 1) if highest else str(-(2**bits))
    return 'float("inf")' if highest else '-float("inf")'


def _max_or_min(largest: bool) -> Call:
    """ops.max/min, with tf's value for an empty tensor (see _extreme in templates/helpers_keras.py)."""
    return call("_extreme", "x", "axis", "keepdims", Code(str(largest)), lambda a: _empty_extreme(a.dtype, not largest))


def _sort(a: Args) -> str:
    ascending = f"ops.sort({a['x']}, axis={a['axis']})"
    return static_choice(a.atom("descending"), f"ops.flip({ascending}, axis={a['axis']})", ascending)


def _argsort(a: Args) -> str:
    # ops.argsort has no direction: sorting the negated values is descending, and keeps ties in order
    values = static_choice(a.atom("descending"), f"ops.negative({a['x']})", a["x"])
    return f'ops.cast(ops.argsort({values}, axis={a["axis"]}), "int32")'


FUNCTIONS: dict[str, Lowering] = {
    # reductions
    "sum": reduce_call("ops.sum"),
    "mean": reduce_call("ops.mean"),
    "max": _max_or_min(largest=True),
    "min": _max_or_min(largest=False),
    "prod": reduce_call("ops.prod"),
    "any": reduce_call("ops.any"),
    "all": reduce_call("ops.all"),
    "cumsum": call("_cumsum", "x", "axis", "reverse", "exclusive"),
    # sample weighting
    "weighted_sum": call("_weighted_sum", "x", SAMPLE_WEIGHT),
    "weighted_count": call("_weighted_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "samplewise_sum": call("_samplewise_sum", "x", SAMPLE_WEIGHT),
    "samplewise_count": call("_samplewise_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "sample_weights": call("_weights_like", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    # element-wise math
    "abs": call("ops.abs", "x"),
    "sign": call("ops.sign", "x"),
    "square": call("ops.square", "x"),
    "negative": call("ops.negative", "x"),
    "sqrt": call("ops.sqrt", "x"),
    "log": call("ops.log", "x"),
    "log1p": call("ops.log1p", "x"),
    "exp": call("ops.exp", "x"),
    "floor": call("ops.floor", "x"),
    "ceil": call("ops.ceil", "x"),
    "round": call("ops.round", "x"),
    "sigmoid": call("ops.sigmoid", "x"),
    "softplus": call("ops.softplus", "x"),
    "rsqrt": call("ops.rsqrt", "x"),
    "isnan": call("ops.isnan", "x"),
    "isinf": call("ops.isinf", "x"),
    "softmax": call("ops.softmax", "x", axis="axis"),
    "log_softmax": call("ops.log_softmax", "x", axis="axis"),
    "logsumexp": reduce_call("ops.logsumexp"),
    "clip": call("ops.clip", "x", "lo", "hi"),
    "maximum": call("ops.maximum", "a", "b"),
    "minimum": call("ops.minimum", "a", "b"),
    "safe_div": call("ops.divide_no_nan", "a", "b"),
    "true_divide": call("ops.true_divide", "a", "b"),
    "where": call("ops.where", "cond", "a", "b"),
    "concat": lambda a: f"ops.concatenate([{a['a']}, {a['b']}], axis={a['axis']})",
    "stack": lambda a: f"ops.stack([{a['a']}, {a['b']}], axis={a['axis']})",
    "matmul": call("ops.matmul", "a", "b"),
    # indices, ranks and shapes
    "argmax": _int32(call("ops.argmax", "x", axis="axis")),
    "argmin": _int32(call("ops.argmin", "x", axis="axis")),
    "argsort": _argsort,
    "sort": _sort,
    "rankdata": call("_rankdata", "x", "axis"),
    "top_k": lambda a: f"ops.top_k({a['x']}, k={a['k']})[0]",
    "in_top_k": call("_in_top_k", "targets", "predictions", "k"),
    "one_hot": call("ops.one_hot", "indices", "depth", dtype=OUT_DTYPE),
    "gather": call("ops.take", "x", "indices", axis="axis"),
    "take_along_axis": call("ops.take_along_axis", "x", "indices", axis="axis"),
    "reshape": call("ops.reshape", "x", "shape"),
    "batch_flatten": call("_batch_flatten", "x"),
    "transpose": call("ops.transpose", "x", axes=given("perm")),
    "expand_dims": call("ops.expand_dims", "x", "axis"),
    "squeeze": call("ops.squeeze", "x", axis=given("axis")),
    "flip": call("ops.flip", "x", axis="axis"),
    "size": _int32(call("ops.size", "x")),
    "shape": lambda a: f'ops.cast(ops.shape({a["x"]})[{a["axis"]}], "int32")',
    "ones_like": call("ops.ones_like", "x"),
    "arange": call("ops.arange", "start", given("stop"), step=given("step"), dtype=Code('"int32"')),
    "linspace": call("ops.linspace", "start", "stop", "num", dtype=OUT_DTYPE),
    # counting and bucketing
    "bucketize": call("_bucketize", "x", "edges", Code("False")),
    "bucketize_sorted": call("_bucketize", "x", "edges", Code("True")),
    "bincount": bincount_as_segment_sum("ops.ones_like"),
    "segment_sum": call("_segment_sum", "data", "ids", "num_segments"),
    # dtypes
    "cast": call("ops.cast", "x", "dtype"),
}
