# Helper functions copied into generated backend-neutral modules (keras.ops only, so they run on the
# TensorFlow, JAX and PyTorch backends), each only where the metric uses it. The TensorFlow twins are in
# helpers_tf.py; keep the two files' functions in step. Keep each helper self-contained.
import keras
from keras import ops


def _weights_like(values, sample_weight, dtype):
    """sample_weight broadcast to the shape of `values` the way Keras broadcasts it."""
    if sample_weight is None:
        return ops.ones_like(values, dtype=dtype)
    weights = _weights_of_rank(sample_weight, len(values.shape), dtype)
    for _ in range(len(values.shape) - len(weights.shape)):
        weights = ops.expand_dims(weights, axis=-1)
    return ops.broadcast_to(weights, ops.shape(values))


def _weighted_sum(values, sample_weight):
    """Σ values·w with Keras-style broadcasting of w (Σ values without weights)."""
    if sample_weight is None:
        return ops.sum(values)
    return ops.sum(values * _weights_like(values, sample_weight, values.dtype))


def _weighted_count(values, sample_weight, dtype):
    """Σ w over the elements of `values` (their number without weights)."""
    if sample_weight is None:
        return ops.cast(ops.size(values), dtype)
    return ops.sum(_weights_like(values, sample_weight, dtype))


def _samplewise_sum(values, sample_weight):
    """Σ over samples of w·(the sample's mean over its trailing axes), step by step as keras.metrics.Mean
    sums it (reduce_to_samplewise_values): a scalar weight weighs the batch's mean."""
    if sample_weight is not None:
        weights = _weights_of_rank(sample_weight, len(values.shape), values.dtype)
        if len(values.shape) > len(weights.shape):
            values = ops.mean(
                values, axis=tuple(range(len(weights.shape), len(values.shape)))
            )
        values = values * ops.broadcast_to(weights, ops.shape(values))
    if len(values.shape) > 1:
        values = ops.mean(values, axis=tuple(range(1, len(values.shape))))
    return ops.sum(values)


def _samplewise_count(values, sample_weight, dtype):
    """Σ of the samples' weights, as keras.metrics.Mean counts: the number of samples without weights, each
    sample's mean weight with weights of the values' shape, a scalar weight once."""
    if sample_weight is None:
        return ops.cast(ops.shape(values)[0] if len(values.shape) else 1, dtype)
    weights = _weights_of_rank(sample_weight, len(values.shape), dtype)
    weights = ops.broadcast_to(weights, ops.shape(values)[: len(weights.shape)])
    if len(weights.shape) > 1:
        weights = ops.mean(weights, axis=tuple(range(1, len(weights.shape))))
    return ops.sum(weights)


def _weights_of_rank(sample_weight, rank, dtype):
    """sample_weight as Keras brings it beside values of rank `rank` (a last axis of 1 beyond it dropped)."""
    weights = ops.cast(sample_weight, dtype)
    if len(weights.shape) == rank + 1 and weights.shape[-1] == 1:
        return ops.squeeze(weights, axis=-1)
    return weights


def _match_rank(value, reference, offset=0):
    """`value` brought to the rank of `reference` (plus `offset`, 0 or -1) as Keras brings labels: a last axis
    of 1 dropped, or (offset 0) added."""
    rank, reference_rank = len(value.shape), len(reference.shape)
    if rank == reference_rank + offset + 1 and value.shape[-1] == 1:
        return ops.squeeze(value, axis=-1)
    if offset == 0 and rank + 1 == reference_rank and reference.shape[-1] == 1:
        return ops.expand_dims(value, axis=-1)
    return value


def _bucketize(x, edges, ascending):
    """How many of `edges` are at or below each x, NaN past them all (as numpy and torch put it: XLA's
    searchsorted, TensorFlow's under jit_compile, puts it before the first edge). Edges not known to ascend are
    sorted first: the count does not depend on their order, the binary search does."""
    edges = ops.reshape(edges, [-1])
    if not ascending:
        edges = ops.sort(edges)
    values = ops.reshape(x, [-1])
    found = ops.cast(ops.searchsorted(edges, values, side="right"), "int32")
    if "float" in str(values.dtype):
        found = ops.where(ops.isnan(values), ops.cast(ops.size(edges), "int32"), found)
    return ops.reshape(found, ops.shape(x))


def _segment_sum(data, segment_ids, num_segments):
    """tf.math.unsorted_segment_sum for keras.ops: ids of any rank (a prefix of data's shape), ids outside
    0..num_segments-1 dropped on every backend (keras' segment_sum takes 1-D ids, and on TensorFlow fails
    on ids past the end; there one DenseBincount where that is the faster)."""
    ids_rank = len(segment_ids.shape)
    data = ops.reshape(data, (-1,) + tuple(data.shape[ids_rank:]))
    # floats summed in float32 at least, and in runs of values each into segments of their own
    values, runs = data, 1
    if "float" in str(data.dtype):
        values = ops.cast(data, keras.backend.result_type(data.dtype, "float32"))
        runs = _runs_of_exact_sums(data.shape[0])
    ids = ops.reshape(segment_ids, (-1,))
    if keras.backend.backend() == "tensorflow" and runs == 1:
        summed = _bincount_segment_sum(values, ids, num_segments)
        if summed is not None:
            return ops.cast(summed, data.dtype)
    segments = num_segments + 1  # the last one for the ids dropped
    ids = ops.where(ops.logical_and(ids >= 0, ids < num_segments), ids, num_segments)
    if runs > 1:
        run = ops.floor_divide(ops.arange(data.shape[0], dtype=ids.dtype), 2**23)
        ids = ids + run * segments
    summed = ops.segment_sum(values, ids, num_segments=runs * segments)
    if runs > 1:
        summed = ops.sum(ops.reshape(summed, (runs, segments) + summed.shape[1:]), 0)
    return ops.cast(summed[:num_segments], data.dtype)


def _cumsum(x, axis, reverse, exclusive):
    """tf.cumsum for keras.ops, which has neither `reverse` nor `exclusive`: the exclusive sum is the
    inclusive one shifted by one place (not cumsum − x, which loses small values next to large ones).
    """
    x = ops.moveaxis(x, axis, 0)
    if reverse:
        x = ops.flip(x, axis=0)
    out = ops.cumsum(x, axis=0)
    if exclusive:
        out = ops.concatenate([ops.zeros_like(out[:1]), out[:-1]], axis=0)
    if reverse:
        out = ops.flip(out, axis=0)
    return ops.moveaxis(out, 0, axis)


def _extreme(x, axis, keepdims, largest, empty):
    """ops.max (largest) or ops.min over `axis`, and of nothing `empty` (the dtype's lowest or highest value,
    as tf.reduce_max and tf.reduce_min give), shaped as the reduction: keras.ops raises on an empty tensor, and
    its PyTorch backend drops `axis` when given `initial`."""
    if 0 not in tuple(x.shape):
        return (ops.max if largest else ops.min)(x, axis=axis, keepdims=keepdims)
    dims = (
        range(len(x.shape))
        if axis is None
        else (axis,) if isinstance(axis, int) else axis
    )
    reduced = {d % len(x.shape) for d in dims}
    shape = [
        1 if i in reduced else n
        for i, n in enumerate(x.shape)
        if keepdims or i not in reduced
    ]
    return ops.full(shape, empty, dtype=x.dtype)


def _replica_reduce(value, largest):
    """The max (largest) or min of `value` over every replica under tf.distribute on the TensorFlow backend, so
    that each replica's max/min state holds the all-data value (TensorFlow aggregates on-read variables by sum,
    mean or first replica, never by max); `value` itself on other backends and without distribution.
    """
    if keras.backend.backend() != "tensorflow":
        return value
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    gathered = context.all_gather(tf.expand_dims(value, 0), axis=0)
    return (tf.reduce_max if largest else tf.reduce_min)(gathered, axis=0)


def _add_to_int_sum(variable, value):
    """variable.assign_add(value) for an int state summed over replicas. On the TensorFlow backend, written
    outside a replica (merge_state, or update_state in a strategy's scope), TensorFlow gives each replica an
    equal share of a summed variable's new value, which truncates ints: the whole sum goes to the first replica.
    A write from outside any strategy scope (a merge after the scope is left) is one of these too.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        on_read = variable.value
        # in a replica (strategy.run) the write is that replica's own; outside the variable's scope TensorFlow
        # enters it, so a write there is a cross-replica one too
        in_replica = (
            tf.distribute.has_strategy()
            and not tf.distribute.in_cross_replica_context()
        )
        if not in_replica and hasattr(on_read, "values") and len(on_read.values) > 1:
            total = tf.convert_to_tensor(on_read.read_value()) + tf.cast(
                value, on_read.dtype
            )
            first, *others = on_read.values
            first.assign(total)
            for other in others:
                other.assign(tf.zeros_like(total))
            return
    variable.assign_add(value)


def _check_batch_size(metric, name, value, axis, state, expected):
    """_check_size for a batch: in Python when the size is static (always on JAX and PyTorch;
    when traced, so free in a graph and under XLA), else, on TensorFlow, by a run-time assertion. Returns the
    batch (after the assertion)."""
    _check_rank(metric, name, len(value.shape), axis, state)
    size = value.shape[axis]
    _check_size(metric, name, axis, size, state, expected)
    if size is None and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        message = f"{metric}: `{name}` must have the size along axis {axis} the first batch gave the state ({state})"
        return _after(
            tf.debugging.assert_equal(tf.shape(value)[axis], expected, message=message),
            value,
        )
    return value


def _refuse_replicas(message):
    """Refuses (when traced) an update in one of several replicas under tf.distribute on the TensorFlow backend:
    the metric's update reads its state, and each replica holds only its part of it. (JAX's data parallelism
    runs the update once over the whole batch, so reads the whole state.)"""
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        raise NotImplementedError(message)


def _check_list_size(metric, param, entries, name, value, axis):
    """_check_entries for a batch: in Python when the size is static (always on JAX and PyTorch; when traced,
    so free in a graph and under XLA), else, on TensorFlow, by a run-time assertion. Returns the batch (after
    the assertion)."""
    size = value.shape[axis]
    _check_entries(metric, param, entries, name, size, axis)
    if size is None and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        size = tf.shape(value)[axis]
        message = f"{metric}: `{param}` has {entries} entries, but {name} has another size along axis {axis}:"
        return _after(
            tf.debugging.Assert(
                tf.logical_or(tf.equal(size, entries), tf.equal(size, 1)),
                [message, size],
            ),
            value,
        )
    return value


def _after(assertion, value):
    """`value`, computed only once `assertion` has passed (TensorFlow backend): in a graph, ops that do not use
    the assertion's result may run before it, and the shape error it exists to explain would come first.
    """
    import tensorflow as tf

    with tf.control_dependencies([assertion] if assertion is not None else []):
        return tf.identity(value)


def _refuse_jax_32_bit(metric, what):
    """Refuses the JAX backend without 64-bit types: JAX then holds int64 as int32 (wrapping past 2**31 - 1)
    and float64 as float32, so the metric's `what` would compute another number, silently.
    """
    if keras.backend.backend() == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            raise ValueError(
                f"{metric}: its {what} is 64-bit, which JAX holds as 32 bits (int64 wrapping past 2**31 - 1, "
                'float64 rounded) unless 64-bit types are enabled: call jax.config.update("jax_enable_x64", True) '
                "before making the metric"
            )


def _in_top_k(targets, predictions, k):
    """ops.in_top_k for every float dtype. On TensorFlow its kernel takes float32 only: float16 and bfloat16
    widen to it exactly, but float64 scores rounded to float32 could tie, so those are ranked here by its rule:
    fewer than k scores strictly above the target's, and False for a target out of range or a row with a
    non-finite score."""
    if keras.backend.standardize_dtype(predictions.dtype) != "float64":
        return ops.in_top_k(targets, ops.cast(predictions, "float32"), k)
    in_range = ops.logical_and(targets >= 0, targets < ops.shape(predictions)[-1])
    index = ops.where(in_range, targets, ops.zeros_like(targets))
    target_score = ops.take_along_axis(predictions, ops.expand_dims(index, -1), axis=-1)
    ranked_above = ops.sum(ops.cast(predictions > target_score, "int32"), axis=-1)
    finite = ops.all(ops.isfinite(predictions), axis=-1)
    return ops.logical_and(ops.logical_and(in_range, finite), ranked_above < k)


def _rankdata(x, axis):
    """scipy.stats.rankdata's average ranks along `axis` (1 for the smallest, ties share the mean of theirs):
    each value's first and last place among the sorted values, found by binary search. A NaN's rank is NaN and
    ranks above every number, +inf too (scipy's nan_policy="omit"): searched for as +inf, with the NaNs taken
    off the last place of +inf, since a binary search cannot step over NaN. ops.searchsorted takes one axis:
    mapped over the others."""
    if x.shape[axis] == 0:
        return ops.zeros_like(
            x
        )  # nothing to rank (and rows of no entries cannot be reshaped to (-1, 0))
    rows = ops.moveaxis(x, axis, -1)
    nan = ops.isnan(rows)
    numbers = ops.where(nan, float("inf"), rows)
    flat = ops.reshape(numbers, (-1, ops.shape(numbers)[-1]))
    places = ops.vectorized_map(
        lambda pair: ops.stack(
            [
                ops.searchsorted(pair[0], pair[1], side="left"),
                ops.searchsorted(pair[0], pair[1], side="right"),
            ]
        ),
        (ops.sort(flat, axis=-1), flat),
    )
    first = ops.reshape(places[:, 0], ops.shape(numbers))
    numbers_kept = ops.shape(numbers)[-1] - ops.sum(
        ops.cast(nan, "int32"), axis=-1, keepdims=True
    )
    last = ops.minimum(ops.reshape(places[:, 1], ops.shape(numbers)), numbers_kept)
    ranks = ops.cast(first + last + 1, x.dtype) / 2
    return ops.moveaxis(ops.where(nan, rows, ranks), -1, axis)


def _append_rows(buffer, rows, values, metric, name, count=None):
    """Writes `values` (a batch of rows; with `count`, only its first `count`: another buffer's) into the
    sample buffer `buffer` after the `rows` it holds, and counts them. On the TensorFlow backend under
    tf.distribute every replica's rows are gathered first, so that each replica's buffer holds them all. Rows
    past what the buffer keeps are counted, not kept: an error where the count is known (eagerly; an assertion
    in a TensorFlow graph), else result() gives NaN (under jit)."""
    capacity = buffer.shape[0]
    if len(values.shape) != len(buffer.shape) or any(
        a is not None and a != b for a, b in zip(values.shape[1:], buffer.shape[1:])
    ):
        raise ValueError(
            f"{metric}: the rows appended to `{name}` have shape {tuple(values.shape[1:])}, but it keeps rows of "
            f"shape {tuple(buffer.shape[1:])}"
        )
    given = ops.shape(values)[0]
    real = ops.arange(given, dtype="int32") < (
        given if count is None else ops.cast(count, "int32")
    )
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            # a collective takes one shape on every replica: each pads its rows to the longest, says which are real
            given = tf.shape(values, out_type=tf.int32)[0]
            longest = tf.reduce_max(
                context.all_gather(tf.reshape(given, [1]), axis=0)
            )  # ReduceOp has no max
            padding = [[0, longest - given]] + [[0, 0]] * (len(buffer.shape) - 1)
            values = context.all_gather(tf.pad(values, padding), axis=0)
            real = (
                context.all_gather(
                    tf.pad(tf.cast(real, tf.int32), [[0, longest - given]]), axis=0
                )
                > 0
            )
    held = ops.convert_to_tensor(rows)
    order = ops.cumsum(ops.cast(real, "int32"))  # the rank of each real row, from 1
    added = ops.sum(ops.cast(real, "int32"))
    values = _within_rows(values, held + added, capacity, metric, name)
    index = (
        ops.arange(capacity, dtype="int32") - held
    )  # buffer row i takes the real row of rank i - held + 1
    taken = ops.logical_and(index >= 0, index < added)
    source = ops.cast(ops.searchsorted(order, index + 1, side="left"), "int32")
    zero_row = ops.zeros(
        (1,) + tuple(buffer.shape[1:]), dtype=values.dtype
    )  # rows have its shape (checked)
    picked = ops.take(
        ops.concatenate([values, zero_row], axis=0),
        ops.where(taken, source, ops.shape(values)[0]),
        axis=0,
    )
    mask = ops.reshape(taken, (-1,) + (1,) * (len(buffer.shape) - 1))
    buffer.assign(
        ops.where(mask, ops.cast(picked, buffer.dtype), ops.convert_to_tensor(buffer))
    )
    rows.assign(held + added)


def _within_rows(value, rows, capacity, metric, name):
    """`value`, once `rows` is known to be at most `capacity`: a ValueError where it is not and the count is
    known (eagerly), an assertion in a TensorFlow graph; under jit, nothing here (result() gives NaN).
    """
    message = f"{metric}: the sample buffer `{name}` keeps {capacity} rows, and was given more"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return _after(
                tf.debugging.assert_less_equal(rows, capacity, message=message), value
            )
    try:
        count = int(rows)
    except Exception:  # noqa: BLE001 - a traced count (jax.jit): checked by result()
        return value
    if count > capacity:
        raise ValueError(message)
    return value


def _unless_overflowed(value, rows, capacity, metric, name):
    """`value`, unless the sample buffer `name` was given more rows than it keeps: then an error where the count
    is known, or NaN (under jit). Never a number from some of the rows."""
    value = _within_rows(value, rows, capacity, metric, name)
    if not keras.backend.is_float_dtype(keras.backend.standardize_dtype(value.dtype)):
        return value
    return ops.where(rows > capacity, ops.full_like(value, float("nan")), value)


def _batch_flatten(x):
    """x as [its first axis, the product of the others] (a batch of none included, which -1 cannot size)."""
    rest = 1
    for size in x.shape[1:]:
        rest = -1 if size is None or rest == -1 else rest * size
    return ops.reshape(x, (ops.shape(x)[0], rest))
