"""The tf target's column of the function table: each function written with TensorFlow ops (``tf.*``).

Function name -> lowering, in the table's order (metricgen/functions.py). A function missing here is refused
for the tf target, located where a spec calls it.
"""

from __future__ import annotations

from ..functions import (
    OUT_DTYPE,
    SAMPLE_WEIGHT,
    Code,
    Lowering,
    bincount_as_segment_sum,
    call,
    given,
    reduce_call,
    static_choice,
)


def _sort_direction(descending: str) -> str:
    """tf.sort and tf.argsort take the order as a string."""
    return static_choice(descending, '"DESCENDING"', '"ASCENDING"')


FUNCTIONS: dict[str, Lowering] = {
    # reductions
    "sum": reduce_call("tf.reduce_sum"),
    "mean": reduce_call("tf.reduce_mean"),
    "max": reduce_call("tf.reduce_max"),
    "min": reduce_call("tf.reduce_min"),
    "prod": reduce_call("tf.reduce_prod"),
    "any": reduce_call("tf.reduce_any"),
    "all": reduce_call("tf.reduce_all"),
    "cumsum": call("tf.cumsum", "x", axis="axis", exclusive=given("exclusive"), reverse=given("reverse")),
    # sample weighting
    "weighted_sum": call("_weighted_sum", "x", SAMPLE_WEIGHT),
    "weighted_count": call("_weighted_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "samplewise_sum": call("_samplewise_sum", "x", SAMPLE_WEIGHT),
    "samplewise_count": call("_samplewise_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "sample_weights": call("_weights_like", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "weighted_sum_of_pair": call("_weighted_sum_of_pair", "a", "b", SAMPLE_WEIGHT, subtract=given("subtract")),
    # element-wise math
    "abs": call("tf.abs", "x"),
    "sign": call("tf.sign", "x"),
    "square": call("tf.square", "x"),
    "negative": call("tf.negative", "x"),
    "sqrt": call("tf.sqrt", "x"),
    "log": call("tf.math.log", "x"),
    "log1p": call("tf.math.log1p", "x"),
    "exp": call("tf.exp", "x"),
    "floor": call("tf.floor", "x"),
    "ceil": call("tf.math.ceil", "x"),
    "round": call("tf.round", "x"),
    "sigmoid": call("tf.sigmoid", "x"),
    "softplus": call("tf.math.softplus", "x"),
    "rsqrt": call("tf.math.rsqrt", "x"),
    "isnan": call("tf.math.is_nan", "x"),
    "isinf": call("tf.math.is_inf", "x"),
    "softmax": call("tf.nn.softmax", "x", axis="axis"),
    "log_softmax": call("tf.nn.log_softmax", "x", axis="axis"),
    "logsumexp": reduce_call("tf.math.reduce_logsumexp"),
    "clip": call("tf.clip_by_value", "x", "lo", "hi"),
    "maximum": call("tf.maximum", "a", "b"),
    "minimum": call("tf.minimum", "a", "b"),
    "safe_div": call("tf.math.divide_no_nan", "a", "b"),
    "true_divide": call("tf.math.truediv", "a", "b"),
    "where": call("tf.where", "cond", "a", "b"),
    "concat": lambda a: f"tf.concat([{a['a']}, {a['b']}], axis={a['axis']})",
    "stack": lambda a: f"tf.stack([{a['a']}, {a['b']}], axis={a['axis']})",
    "matmul": call("_matmul", "a", "b"),  # see the helper: never a broadcast batch matmul
    # indices, ranks and shapes
    "argmax": call("tf.argmax", "x", axis="axis", output_type=Code("tf.int32")),
    "argmin": call("tf.argmin", "x", axis="axis", output_type=Code("tf.int32")),
    "argsort": lambda a: "tf.argsort({}, axis={}, direction={}, stable=True)".format(
        a["x"], a["axis"], _sort_direction(a.atom("descending"))
    ),
    "sort": lambda a: "tf.sort({}, axis={}, direction={})".format(
        a["x"], a["axis"], _sort_direction(a.atom("descending"))
    ),
    "rankdata": call("_rankdata", "x", "axis"),
    "top_k": lambda a: f"tf.math.top_k({a['x']}, k={a['k']}).values",
    "in_top_k": call("_in_top_k", "targets", "predictions", "k"),
    "one_hot": call("tf.one_hot", "indices", "depth", dtype=OUT_DTYPE),
    "gather": call("tf.gather", "x", "indices", axis=given("axis")),
    "take_along_axis": call("tf.experimental.numpy.take_along_axis", "x", "indices", axis="axis"),
    "reshape": call("tf.reshape", "x", "shape"),
    "batch_flatten": call("_batch_flatten", "x"),
    "transpose": call("tf.transpose", "x", perm=given("perm")),
    "expand_dims": call("tf.expand_dims", "x", "axis"),
    "squeeze": call("tf.squeeze", "x", axis=given("axis")),
    "flip": lambda a: f"tf.reverse({a['x']}, axis=[{a['axis']}])",
    "size": call("tf.size", "x"),
    "shape": lambda a: f"tf.shape({a['x']})[{a['axis']}]",
    "ones_like": call("tf.ones_like", "x"),
    "arange": call("tf.range", "start", limit=given("stop"), delta=given("step")),
    "linspace": call("tf.linspace", "start", "stop", "num"),
    # counting and bucketing
    "bucketize": call("_bucketize", "x", "edges", Code("False")),
    "bucketize_sorted": call("_bucketize", "x", "edges", Code("True")),
    "bincount": bincount_as_segment_sum("tf.ones_like"),
    "segment_sum": call("_segment_sum", "data", "ids", "num_segments"),
    # dtypes
    "cast": call("tf.cast", "x", "dtype"),
}
