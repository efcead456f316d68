# Helper functions copied into generated JAX modules (jax.numpy only), each only where the metric uses it.
# They mirror helpers_keras.py and helpers_torch.py: keep the files' functions in step. Keep each helper
# self-contained. Shapes are static under jax.jit, so every check here runs in Python, when the step is traced.
import jax
import jax.numpy as jnp


def _weights_like(values, sample_weight, dtype):
    """sample_weight broadcast to the shape of `values` the way Keras broadcasts it."""
    if sample_weight is None:
        return jnp.ones_like(values, dtype=dtype)
    weights = _weights_of_rank(sample_weight, values.ndim, dtype)
    weights = jnp.reshape(weights, weights.shape + (1,) * (values.ndim - weights.ndim))
    return jnp.broadcast_to(weights, values.shape)


def _weighted_sum(values, sample_weight):
    """Σ values·w with Keras-style broadcasting of w (Σ values without weights)."""
    if sample_weight is None:
        return jnp.sum(values)
    return jnp.sum(values * _weights_like(values, sample_weight, values.dtype))


def _weighted_count(values, sample_weight, dtype):
    """Σ w over the elements of `values` (their number without weights)."""
    if sample_weight is None:
        return jnp.asarray(values.size, dtype=dtype)
    return jnp.sum(_weights_like(values, sample_weight, dtype))


def _samplewise_sum(values, sample_weight):
    """Σ over samples of w·(the sample's mean over its trailing axes), step by step as keras.metrics.Mean
    sums it (reduce_to_samplewise_values): a scalar weight weighs the batch's mean."""
    if sample_weight is not None:
        weights = _weights_of_rank(sample_weight, values.ndim, values.dtype)
        if values.ndim > weights.ndim:
            values = jnp.mean(values, axis=tuple(range(weights.ndim, values.ndim)))
        values = values * jnp.broadcast_to(weights, values.shape)
    if values.ndim > 1:
        values = jnp.mean(values, axis=tuple(range(1, values.ndim)))
    return jnp.sum(values)


def _samplewise_count(values, sample_weight, dtype):
    """Σ of the samples' weights, as keras.metrics.Mean counts: the number of samples without weights, each
    sample's mean weight with weights of the values' shape, a scalar weight once."""
    if sample_weight is None:
        return jnp.asarray(values.shape[0] if values.ndim else 1, dtype=dtype)
    weights = _weights_of_rank(sample_weight, values.ndim, dtype)
    weights = jnp.broadcast_to(weights, values.shape[: weights.ndim])
    if weights.ndim > 1:
        weights = jnp.mean(weights, axis=tuple(range(1, weights.ndim)))
    return jnp.sum(weights)


def _weights_of_rank(sample_weight, rank, dtype):
    """sample_weight as Keras brings it beside values of rank `rank` (a last axis of 1 beyond it dropped)."""
    weights = jnp.asarray(sample_weight, dtype=dtype)
    if weights.ndim == rank + 1 and weights.shape[-1] == 1:
        return jnp.squeeze(weights, axis=-1)
    return weights


def _match_rank(value, reference, offset=0):
    """`value` brought to the rank of `reference` (plus `offset`, 0 or -1) as Keras brings labels: a last axis
    of 1 dropped, or (offset 0) added."""
    if value.ndim == reference.ndim + offset + 1 and value.shape[-1] == 1:
        return jnp.squeeze(value, axis=-1)
    if offset == 0 and value.ndim + 1 == reference.ndim and reference.shape[-1] == 1:
        return jnp.expand_dims(value, axis=-1)
    return value


def _divide_no_nan(a, b):
    """a / b, and 0 where b is 0 (as tf.math.divide_no_nan), with no NaN in the gradient either."""
    zero = b == 0
    return jnp.where(
        zero, jnp.zeros_like(a / jnp.where(zero, 1, b)), a / jnp.where(zero, 1, b)
    )


def _extreme(x, axis, keepdims, largest):
    """jnp.max (min) over `axis`, and of nothing the dtype's lowest (highest) value, as tf.reduce_max (min)
    gives: jnp raises there."""
    if jnp.issubdtype(x.dtype, jnp.floating):
        bound = -jnp.inf if largest else jnp.inf
    else:
        bound = jnp.iinfo(x.dtype).min if largest else jnp.iinfo(x.dtype).max
    return (jnp.max if largest else jnp.min)(
        x, axis=axis, keepdims=keepdims, initial=bound
    )


def _cumsum(x, axis, reverse, exclusive):
    """tf.cumsum in jnp: `reverse` sums from the end, `exclusive` leaves each element out (shifted by one
    place, not cumsum − x, which loses small values next to large ones)."""
    if reverse:
        x = jnp.flip(x, axis=axis)
    out = jnp.cumsum(x, axis=axis)
    if exclusive:
        out = jnp.moveaxis(out, axis, 0)
        out = jnp.moveaxis(
            jnp.concatenate([jnp.zeros_like(out[:1]), out[:-1]], axis=0), 0, axis
        )
    return jnp.flip(out, axis=axis) if reverse else out


def _bucketize(x, edges, ascending):
    """How many of `edges` are at or below each x (NaN past them all, as numpy puts it). Edges not known to
    ascend are sorted first: the count does not depend on their order, the binary search does.
    """
    edges = jnp.ravel(edges)
    if not ascending:
        edges = jnp.sort(edges)
    return jnp.searchsorted(edges, x, side="right").astype(jnp.int32)


def _segment_sum(data, segment_ids, num_segments):
    """tf.math.unsorted_segment_sum in JAX: ids of any rank (a prefix of data's shape), ids outside
    0..num_segments-1 dropped. Floats are summed in float32 at least, and in runs of values each into
    segments of their own (_runs_of_exact_sums)."""
    ids = jnp.reshape(segment_ids, (-1,))
    data = jnp.reshape(data, ids.shape + data.shape[segment_ids.ndim :])
    segments = num_segments + 1  # the last one for the ids dropped
    ids = jnp.where((ids >= 0) & (ids < num_segments), ids, num_segments)
    values, runs = data, 1
    if jnp.issubdtype(data.dtype, jnp.floating):
        values = data.astype(jnp.promote_types(data.dtype, jnp.float32))
        runs = _runs_of_exact_sums(ids.shape[0])
    if runs > 1:
        ids = ids + jnp.arange(ids.shape[0], dtype=ids.dtype) // 2**23 * segments
    summed = jax.ops.segment_sum(values, ids, num_segments=runs * segments)
    if runs > 1:
        summed = jnp.sum(jnp.reshape(summed, (runs, segments) + summed.shape[1:]), 0)
    return summed[:num_segments].astype(data.dtype)


def _in_top_k(targets, predictions, k):
    """tf.math.in_top_k in JAX: fewer than k scores strictly above the target's (ties count in), and False
    for a target out of range or a row with a non-finite score."""
    in_range = (targets >= 0) & (targets < predictions.shape[-1])
    index = jnp.where(in_range, targets, jnp.zeros_like(targets))
    target_score = jnp.take_along_axis(predictions, index[..., None], axis=-1)
    finite = jnp.all(jnp.isfinite(predictions), axis=-1)
    return in_range & finite & (jnp.sum(predictions > target_score, axis=-1) < k)


def _rankdata(x, axis):
    """scipy.stats.rankdata's average ranks along `axis` (1 for the smallest, ties share the mean of theirs):
    each value's first and last place among the sorted values, found by binary search. A NaN's rank is NaN and
    ranks above every number, +inf too (scipy's nan_policy="omit"): searched for as +inf, with the NaNs taken
    off the last place of +inf, since a binary search cannot step over NaN. jnp.searchsorted takes one axis:
    vectorised over the others."""
    rows = jnp.moveaxis(x, axis, -1)
    nan = jnp.isnan(rows)
    numbers = jnp.where(nan, jnp.inf, rows)
    ordered = jnp.sort(numbers, axis=-1)
    search = jnp.vectorize(
        jnp.searchsorted, signature="(n),(n)->(n)", excluded={"side"}
    )
    numbers_kept = rows.shape[-1] - jnp.sum(nan, axis=-1, keepdims=True)
    last = jnp.minimum(search(ordered, numbers, side="right"), numbers_kept)
    ranks = (search(ordered, numbers, side="left") + last + 1).astype(x.dtype) / 2
    return jnp.moveaxis(jnp.where(nan, rows, ranks), -1, axis)


def _check_batch_size(metric, name, value, axis, state, expected):
    """_check_size for a batch (JAX's shapes are static, so it runs when traced); returns the batch, as the
    other targets do."""
    _check_rank(metric, name, value.ndim, axis, state)
    _check_size(metric, name, axis, value.shape[axis], state, expected)
    return value


def _replaced(state, name, value):
    """state with its field `name` replaced by `value`, refused (when traced) where the shape is not the
    field's: jnp.add and jnp.maximum broadcast a batch value into a larger state, which Keras' assign
    refuses."""
    # the class's state is <Class>State
    metric = type(state).__name__.removesuffix("State")
    _kept_shape(metric, name, value, getattr(state, name))
    kept = (value if field == name else old for field, old in zip(state._fields, state))
    return state._make(kept)


def _same_shapes(metric, state, other, names):
    """merge's check: the other's fields `names` have this state's shapes (jnp.add and jnp.maximum would
    broadcast one into the other)."""
    for name in names:
        _kept_shape(metric, name, getattr(other, name), getattr(state, name))


def _check_list_size(metric, param, entries, name, value, axis):
    """_check_entries for a batch (static shapes: checked when traced); returns the batch."""
    _check_entries(metric, param, entries, name, value.shape[axis], axis)
    return value


def _float_dtype(metric, dtype):
    """The metric's float dtype, refused where JAX would not hold it: float64 without 64-bit types enabled is
    silently float32 in JAX, which would compute a number other than the one asked for.
    """
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{metric}: dtype must be a float dtype, got {dtype}")
    if dtype.itemsize == 8 and not jax.config.jax_enable_x64:
        raise ValueError(
            f"{metric}: dtype float64 needs 64-bit types, which JAX holds as 32-bit unless enabled: call "
            'jax.config.update("jax_enable_x64", True) before making the metric'
        )
    return dtype


def _refuse_32_bit(metric, what):
    """Refuses JAX without 64-bit types: JAX then holds int64 as int32 (wrapping past 2**31 - 1) and float64 as
    float32, so the metric's `what` would compute another number, silently."""
    if not jax.config.jax_enable_x64:
        raise ValueError(
            f"{metric}: its {what} is 64-bit, which JAX holds as 32 bits (int64 wrapping past 2**31 - 1, float64 "
            'rounded) unless 64-bit types are enabled: call jax.config.update("jax_enable_x64", True) before '
            "making the metric"
        )


def _append_rows(buffer, rows, values, metric, name, count=None):
    """The sample buffer `buffer` with `values` (a batch of rows; with `count`, only its first `count`) written
    after the `rows` it holds, and the new row count. Rows past what it keeps are counted, not kept: a
    ValueError where the count is known (outside jit), else compute() gives NaN."""
    values = jnp.asarray(values, dtype=buffer.dtype)
    if values.ndim != buffer.ndim or values.shape[1:] != buffer.shape[1:]:
        raise ValueError(
            f"{metric}: the rows appended to `{name}` have shape {values.shape[1:]}, but it keeps rows of shape "
            f"{buffer.shape[1:]}"
        )
    capacity = buffer.shape[0]
    count = values.shape[0] if count is None else count
    total = rows + count
    if not isinstance(total, jax.core.Tracer) and int(total) > capacity:
        raise ValueError(
            f"{metric}: the sample buffer `{name}` keeps {capacity} rows, and was given more"
        )
    index = jnp.arange(capacity) - rows  # buffer row i takes values[i - rows]
    taken = (index >= 0) & (index < count)
    padded = jnp.concatenate([values, jnp.zeros((1,) + values.shape[1:], values.dtype)])
    picked = padded[jnp.where(taken, index, values.shape[0])]
    mask = taken.reshape((-1,) + (1,) * (buffer.ndim - 1))
    return jnp.where(mask, picked, buffer), jnp.asarray(total, dtype=jnp.int32)


def _gathered_rows(buffers, counts, metric, name):
    """One sample buffer from every device's (``jax.lax.all_gather``: [devices, capacity, ...] and
    [devices]): their rows appended in device order."""
    merged, held = jnp.zeros_like(buffers[0]), jnp.zeros_like(counts[0])
    for device in range(buffers.shape[0]):
        merged, held = _append_rows(
            merged, held, buffers[device], metric, name, counts[device]
        )
    return merged, held


def _unless_overflowed(value, rows, capacity, metric, name):
    """`value`, unless the sample buffer `name` was given more rows than it keeps: then a ValueError where the
    count is known (outside jit), else NaN. Never a number from some of the rows."""
    if not isinstance(rows, jax.core.Tracer) and int(rows) > capacity:
        raise ValueError(
            f"{metric}: the sample buffer `{name}` keeps {capacity} rows, and was given more"
        )
    if not jnp.issubdtype(jnp.result_type(value), jnp.floating):
        return value
    return jnp.where(rows > capacity, jnp.nan, value)


def _batch_flatten(x):
    """x as [its first axis, the product of the others] (a batch of none included, which -1 cannot size)."""
    rest = 1
    for size in x.shape[1:]:
        rest *= size
    return jnp.reshape(x, (x.shape[0], rest))
