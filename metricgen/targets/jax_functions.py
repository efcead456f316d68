"""The jax target's column of the function table: how each function is written with ``jax.numpy``.

``jnp`` follows numpy, so most entries are plain calls; helpers (templates/helpers_jax.py) give what numpy
lacks or spells differently: tf's cumsum flags, segment sums that drop ids out of range, in_top_k, and
reductions of nothing (tf's values, where jnp raises).
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


def _int32(lowering: Lowering) -> Lowering:
    """jnp gives its default int (int64 with 64-bit types) where the language promises int32."""
    return lambda a: f"{lowering(a)}.astype(jnp.int32)"


FUNCTIONS: dict[str, Lowering] = {
    # reductions
    "sum": reduce_call("jnp.sum"),
    "mean": reduce_call("jnp.mean"),
    "max": call("_extreme", "x", "axis", "keepdims", largest=Code("True")),
    "min": call("_extreme", "x", "axis", "keepdims", largest=Code("False")),
    "prod": reduce_call("jnp.prod"),
    "any": reduce_call("jnp.any"),
    "all": reduce_call("jnp.all"),
    "cumsum": call("_cumsum", "x", "axis", "reverse", "exclusive"),
    # sample weighting
    "weighted_sum": call("_weighted_sum", "x", SAMPLE_WEIGHT),
    "weighted_count": call("_weighted_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "samplewise_sum": call("_samplewise_sum", "x", SAMPLE_WEIGHT),
    "samplewise_count": call("_samplewise_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "sample_weights": call("_weights_like", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    # element-wise math
    **{name: call(f"jnp.{name}", "x") for name in ("abs", "sign", "square", "negative")},
    **{name: call(f"jnp.{name}", "x") for name in ("sqrt", "log", "log1p", "exp", "floor", "ceil", "round")},
    "sigmoid": call("jax.nn.sigmoid", "x"),
    "softplus": call("jax.nn.softplus", "x"),
    "rsqrt": call("jax.lax.rsqrt", "x"),
    "isnan": call("jnp.isnan", "x"),
    "isinf": call("jnp.isinf", "x"),
    "softmax": call("jax.nn.softmax", "x", axis="axis"),
    "log_softmax": call("jax.nn.log_softmax", "x", axis="axis"),
    "logsumexp": reduce_call("jax.nn.logsumexp"),
    "clip": lambda a: f"jnp.clip({a['x']}, {a['lo']}, {a['hi']})",
    "maximum": call("jnp.maximum", "a", "b"),
    "minimum": call("jnp.minimum", "a", "b"),
    "safe_div": call("_divide_no_nan", "a", "b"),
    "true_divide": call("jnp.true_divide", "a", "b"),
    "where": call("jnp.where", "cond", "a", "b"),
    "concat": lambda a: f"jnp.concatenate([{a['a']}, {a['b']}], axis={a['axis']})",
    "stack": lambda a: f"jnp.stack([{a['a']}, {a['b']}], axis={a['axis']})",
    "matmul": call("jnp.matmul", "a", "b"),
    # indices, ranks and shapes
    "argmax": _int32(call("jnp.argmax", "x", axis="axis")),
    "argmin": _int32(call("jnp.argmin", "x", axis="axis")),
    "argsort": _int32(call("jnp.argsort", "x", axis="axis", stable=Code("True"), descending="descending")),
    "sort": lambda a: static_choice(
        a.atom("descending"),
        f"jnp.flip(jnp.sort({a['x']}, axis={a['axis']}), axis={a['axis']})",
        f"jnp.sort({a['x']}, axis={a['axis']})",
    ),
    "rankdata": call("_rankdata", "x", "axis"),
    "top_k": lambda a: f"jax.lax.top_k({a['x']}, {a['k']})[0]",
    "in_top_k": call("_in_top_k", "targets", "predictions", "k"),
    "one_hot": call("jax.nn.one_hot", "indices", "depth", dtype=OUT_DTYPE),
    "gather": call("jnp.take", "x", "indices", axis="axis"),
    "take_along_axis": call("jnp.take_along_axis", "x", "indices", axis="axis"),
    "reshape": call("jnp.reshape", "x", "shape"),
    "batch_flatten": call("_batch_flatten", "x"),
    "transpose": call("jnp.transpose", "x", axes=given("perm")),
    "expand_dims": call("jnp.expand_dims", "x", "axis"),
    "squeeze": call("jnp.squeeze", "x", axis=given("axis")),
    "flip": call("jnp.flip", "x", axis="axis"),
    "size": lambda a: f"jnp.asarray({a.atom('x')}.size, dtype=jnp.int32)",
    "shape": lambda a: f"jnp.asarray({a.atom('x')}.shape[{a['axis']}], dtype=jnp.int32)",
    "ones_like": call("jnp.ones_like", "x"),
    "arange": call("jnp.arange", "start", given("stop"), step=given("step"), dtype=Code("jnp.int32")),
    "linspace": call("jnp.linspace", "start", "stop", "num", dtype=OUT_DTYPE),
    # counting and bucketing
    "bucketize": call("_bucketize", "x", "edges", Code("False")),
    "bucketize_sorted": call("_bucketize", "x", "edges", Code("True")),
    "bincount": bincount_as_segment_sum("jnp.ones_like"),
    "segment_sum": call("_segment_sum", "data", "ids", "num_segments"),
    # dtypes
    "cast": lambda a: f"{a.atom('x')}.astype({a['dtype']})",
}
