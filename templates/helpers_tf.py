# Helper functions copied into generated TensorFlow modules, each only where the metric uses it.
# This file is real Python so that it can be linted and tested on its own; metricgen extracts the
# functions it needs by name. Keep each helper self-contained (imports: tf, keras only).
import keras
import tensorflow as tf


def _weights_like(values, sample_weight, dtype):
    """sample_weight broadcast to the shape of `values` the way Keras broadcasts it."""
    if sample_weight is None:
        return tf.ones_like(values, dtype=dtype)
    weights = _weights_of_rank(sample_weight, values.shape.rank, dtype)
    for _ in range(values.shape.rank - weights.shape.rank):
        weights = tf.expand_dims(weights, axis=-1)
    return tf.broadcast_to(weights, tf.shape(values))


def _weighted_sum(values, sample_weight):
    """Σ values·w with Keras-style broadcasting of w (Σ values without weights)."""
    if sample_weight is None:
        return tf.reduce_sum(values)
    return tf.reduce_sum(values * _weights_like(values, sample_weight, values.dtype))


def _weighted_count(values, sample_weight, dtype):
    """Σ w over the elements of `values` (their number without weights)."""
    if sample_weight is None:
        return tf.cast(tf.size(values), dtype)
    return tf.reduce_sum(_weights_like(values, sample_weight, dtype))


def _samplewise_sum(values, sample_weight):
    """Σ over samples of w·(the sample's mean over its trailing axes), step by step as keras.metrics.Mean
    sums it (reduce_to_samplewise_values): a scalar weight weighs the batch's mean."""
    if sample_weight is not None:
        weights = _weights_of_rank(sample_weight, values.shape.rank, values.dtype)
        if values.shape.rank > weights.shape.rank:
            values = tf.reduce_mean(
                values, axis=list(range(weights.shape.rank, values.shape.rank))
            )
        values = values * tf.broadcast_to(weights, tf.shape(values))
    if values.shape.rank > 1:
        values = tf.reduce_mean(values, axis=list(range(1, values.shape.rank)))
    return tf.reduce_sum(values)


def _samplewise_count(values, sample_weight, dtype):
    """Σ of the samples' weights, as keras.metrics.Mean counts: the number of samples without weights, each
    sample's mean weight with weights of the values' shape, a scalar weight once."""
    if sample_weight is None:
        return tf.cast(tf.shape(values)[0] if values.shape.rank else 1, dtype)
    weights = _weights_of_rank(sample_weight, values.shape.rank, dtype)
    weights = tf.broadcast_to(weights, tf.shape(values)[: weights.shape.rank])
    if weights.shape.rank > 1:
        weights = tf.reduce_mean(weights, axis=list(range(1, weights.shape.rank)))
    return tf.reduce_sum(weights)


def _weights_of_rank(sample_weight, rank, dtype):
    """sample_weight as Keras brings it beside values of rank `rank` (a last axis of 1 beyond it dropped)."""
    weights = tf.cast(sample_weight, dtype)
    if weights.shape.rank == rank + 1 and weights.shape[-1] == 1:
        return tf.squeeze(weights, axis=-1)
    return weights


def _match_rank(value, reference, offset=0):
    """`value` brought to the rank of `reference` (plus `offset`, 0 or -1) as Keras brings labels: a last axis
    of 1 dropped, or (offset 0) added."""
    rank, reference_rank = value.shape.rank, reference.shape.rank
    if rank is None or reference_rank is None:
        return value
    if rank == reference_rank + offset + 1 and value.shape[-1] == 1:
        return tf.squeeze(value, axis=-1)
    if offset == 0 and rank + 1 == reference_rank and reference.shape[-1] == 1:
        return tf.expand_dims(value, axis=-1)
    return value


def _bucketize(x, edges, ascending):
    """How many of `edges` are at or below each x, NaN past them all (as numpy and torch put it: XLA's
    searchsorted puts it before the first edge, the other kernels past the last). Edges not known to ascend are
    sorted first: the count does not depend on their order, the binary search does."""
    edges = tf.reshape(edges, [-1])
    if not ascending:
        edges = tf.sort(edges)
    values = tf.reshape(x, [-1])
    found = tf.searchsorted(edges, values, side="right", out_type=tf.int32)
    if values.dtype.is_floating:
        found = tf.where(tf.math.is_nan(values), tf.size(edges), found)
    return tf.reshape(found, tf.shape(x))


def _segment_sum(data, segment_ids, num_segments):
    """tf.math.unsorted_segment_sum, with ids outside 0..num_segments-1 dropped (on CPU it fails on ids past
    the end): one DenseBincount where that is the faster (_bincount_segment_sum). Floats are summed in float32
    at least, and in runs of values each into segments of their own
    (_runs_of_exact_sums)."""
    data, segment_ids = tf.convert_to_tensor(data), tf.convert_to_tensor(segment_ids)
    if data.dtype in (tf.float16, tf.bfloat16):
        summed = _segment_sum(tf.cast(data, tf.float32), segment_ids, num_segments)
        return tf.cast(summed, data.dtype)
    count = segment_ids.shape.num_elements()
    # in runs where the count and the number of segments are known when traced
    in_runs = data.dtype.is_floating and isinstance(num_segments, int)
    runs = _runs_of_exact_sums(count) if in_runs else 1
    per_run = num_segments
    if runs > 1:
        rows = tf.concat([[count], tf.shape(data)[segment_ids.shape.rank :]], 0)
        data, ids = tf.reshape(data, rows), tf.reshape(segment_ids, [-1])
        run = tf.range(count, dtype=ids.dtype) // 2**23
        segment_ids = tf.where((ids >= 0) & (ids < per_run), ids + run * per_run, -1)
        num_segments = runs * per_run
    summed = _bincount_segment_sum(data, segment_ids, num_segments)
    if summed is None:
        ids = tf.where(segment_ids < num_segments, segment_ids, -1)
        summed = tf.math.unsorted_segment_sum(data, ids, num_segments)
    if runs == 1:
        return summed
    shape = tf.concat([[runs, per_run], tf.shape(summed)[1:]], 0)
    return tf.reduce_sum(tf.reshape(summed, shape), axis=0)


def _weighted_sum_of_pair(a, b, sample_weight, subtract=False):
    """_weighted_sum(a + b, sample_weight), or of a - b with `subtract`. Without weights, where a and b have one
    static shape, it is Σ a ± Σ b: a ± b is never built in memory, which in graph mode on CPU is most of the
    cost of a large batch."""
    # (tensors only: a Keras variable's shape is a tuple)
    if sample_weight is None and isinstance(a, tf.Tensor) and isinstance(b, tf.Tensor):
        if a.shape.is_fully_defined() and a.shape == b.shape:
            return (
                tf.reduce_sum(a) - tf.reduce_sum(b)
                if subtract
                else tf.reduce_sum(a) + tf.reduce_sum(b)
            )
    return _weighted_sum(a - b if subtract else a + b, sample_weight)


def _replica_reduce(value, reduce):
    """`reduce` (tf.reduce_max or tf.reduce_min) of `value` over every replica under tf.distribute, so that
    each replica's max/min state holds the all-data value (TensorFlow can aggregate on-read variables by
    sum, mean or first replica, but not by max); `value` itself without distribution."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return reduce(context.all_gather(tf.expand_dims(value, 0), axis=0), axis=0)


def _add_to_int_sum(variable, value):
    """variable.assign_add(value) for an int state summed over replicas. Written outside a replica (merge_state,
    or update_state called in a strategy's scope), TensorFlow gives each replica an equal share of a summed
    variable's new value, which truncates ints (3 + 2 reads back 4): the whole sum goes to the first replica.
    A write from outside any strategy scope (a merge after the scope is left) is one of these too.
    """
    on_read = getattr(variable, "value", variable)
    # in a replica (strategy.run) the write is that replica's own; outside the variable's scope TensorFlow
    # enters it, so a write there is a cross-replica one too
    in_replica = (
        tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context()
    )
    if in_replica or not (hasattr(on_read, "values") and len(on_read.values) > 1):
        return variable.assign_add(value)
    total = tf.convert_to_tensor(on_read.read_value()) + tf.cast(value, on_read.dtype)
    first, *others = on_read.values
    first.assign(total)
    for other in others:
        other.assign(tf.zeros_like(total))


def _check_batch_size(metric, name, value, axis, state, expected):
    """_check_size for a batch: in Python when the size is static (at trace time, so free in a graph and under
    XLA), else by a run-time assertion. Returns the batch (after the assertion)."""
    _check_rank(metric, name, value.shape.rank, axis, state)
    size = value.shape[axis]
    _check_size(metric, name, axis, size, state, expected)
    if size is None:
        message = f"{metric}: `{name}` must have the size along axis {axis} the first batch gave the state ({state})"
        return _after(
            tf.debugging.assert_equal(tf.shape(value)[axis], expected, message=message),
            value,
        )
    return value


def _refuse_replicas(message):
    """Refuses (when traced) an update in one of several replicas under tf.distribute: the metric's update
    reads its state, and each replica holds only its part of it."""
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        raise NotImplementedError(message)


def _matmul(a, b):
    """tf.linalg.matmul without batch axes to broadcast: TensorFlow 2.21's oneDNN kernel for a matmul whose
    batch axes broadcast returns wrong values (~1e33) and corrupts the heap. A matrix on the right is one 2-D
    matmul over a's rows (tf.tensordot); other batch axes are broadcast to one shape first.
    """
    rank_a, rank_b = a.shape.rank, b.shape.rank
    if rank_a is None or rank_b is None or (rank_a <= 2 and rank_b <= 2):
        return tf.linalg.matmul(a, b)
    if rank_b == 2:
        return tf.tensordot(a, b, axes=1)
    batch = tf.broadcast_dynamic_shape(tf.shape(a)[:-2], tf.shape(b)[:-2])
    a = tf.broadcast_to(a, tf.concat([batch, tf.shape(a)[-2:]], axis=0))
    b = tf.broadcast_to(b, tf.concat([batch, tf.shape(b)[-2:]], axis=0))
    return tf.linalg.matmul(a, b)


def _check_list_size(metric, param, entries, name, value, axis):
    """_check_entries for a batch: in Python when the size is static (at trace time, so free in a graph and
    under XLA), else by a run-time assertion. Returns the batch (after the assertion).
    """
    size = value.shape[axis]
    _check_entries(metric, param, entries, name, size, axis)
    if size is None:
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
    """`value`, computed only once `assertion` has passed: in a graph, ops that do not use the assertion's result
    may run before it, and the shape error it exists to explain would come first."""
    with tf.control_dependencies([assertion] if assertion is not None else []):
        return tf.identity(value)


def _in_top_k(targets, predictions, k):
    """tf.math.in_top_k for every float dtype. Its kernel takes float32 only: float16 and bfloat16 widen to it
    exactly, but float64 scores rounded to float32 could tie, so those are ranked here by its rule: fewer than k
    scores strictly above the target's, and False for a target out of range or a row with a non-finite score.
    """
    if predictions.dtype != tf.float64:
        return tf.math.in_top_k(targets, tf.cast(predictions, tf.float32), k)
    in_range = (targets >= 0) & (
        targets < tf.shape(predictions, out_type=targets.dtype)[-1]
    )
    index = tf.where(in_range, targets, tf.zeros_like(targets))
    target_score = tf.gather(predictions, index, axis=-1, batch_dims=1)
    ranked_above = tf.reduce_sum(
        tf.cast(predictions > target_score[..., None], tf.int32), axis=-1
    )
    finite = tf.reduce_all(tf.math.is_finite(predictions), axis=-1)
    return in_range & finite & (ranked_above < k)


def _rankdata(x, axis):
    """scipy.stats.rankdata's average ranks along `axis` (1 for the smallest, ties share the mean of theirs):
    each value's first and last place among the sorted values, found by binary search. A NaN's rank is NaN and
    ranks above every number, +inf too (scipy's nan_policy="omit"): searched for as +inf, with the NaNs taken
    off the last place of +inf, since a binary search cannot step over NaN (and tf.sort leaves NaN anywhere).
    """
    rank = x.shape.rank
    if not rank:
        raise ValueError(
            f"rankdata needs a tensor of known rank with an axis to rank along, got shape {x.shape}"
        )
    axis = range(rank)[axis]  # an axis out of range raises, as numpy, torch and JAX do
    perm = [a for a in range(rank) if a != axis] + [
        axis
    ]  # the ranked axis last, where tf.searchsorted looks
    rows = tf.transpose(x, perm)
    nan = tf.math.is_nan(rows)
    numbers = tf.where(nan, tf.constant(float("inf"), x.dtype), rows)
    ordered = tf.sort(numbers)
    first = tf.searchsorted(ordered, numbers, side="left")
    numbers_kept = tf.shape(rows)[-1] - tf.reduce_sum(
        tf.cast(nan, tf.int32), -1, keepdims=True
    )
    last = tf.minimum(tf.searchsorted(ordered, numbers, side="right"), numbers_kept)
    ranks = tf.cast(first + last + 1, x.dtype) / 2
    return tf.transpose(tf.where(nan, rows, ranks), tf.math.invert_permutation(perm))


def _append_rows(buffer, rows, values, metric, name, count=None):
    """Writes `values` (a batch of rows; with `count`, only its first `count`: another buffer's) into the
    sample buffer `buffer` after the `rows` it holds, and counts them. Under tf.distribute every replica's rows
    are gathered first, so that each replica's buffer holds them all (it is read from the first replica). Rows
    past what the buffer keeps are counted, not kept: the assertion stops the step (eagerly and in a graph; XLA
    drops assertions, and result() then gives NaN)."""
    capacity = buffer.shape[0]
    if values.shape.rank is not None and not values.shape[1:].is_compatible_with(
        buffer.shape[1:]
    ):
        raise ValueError(
            f"{metric}: the rows appended to `{name}` have shape {tuple(values.shape[1:])}, but it keeps rows of "
            f"shape {tuple(buffer.shape[1:])}"
        )
    given = tf.shape(values, out_type=tf.int32)[0]
    real = tf.range(given) < (given if count is None else tf.cast(count, tf.int32))
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        # a collective takes one shape on every replica: each pads its rows to the longest, and says which are real
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
    held = tf.convert_to_tensor(rows)
    order = tf.cumsum(tf.cast(real, tf.int32))  # the rank of each real row, from 1
    added = tf.reduce_sum(tf.cast(real, tf.int32))
    message = f"{metric}: the sample buffer `{name}` keeps {capacity} rows, and this batch would take it past that"
    assertion = tf.debugging.assert_less_equal(held + added, capacity, message=message)
    with tf.control_dependencies([assertion]):
        index = (
            tf.range(capacity) - held
        )  # buffer row i takes the real row of rank i - held + 1
        taken = tf.logical_and(index >= 0, index < added)
        source = tf.searchsorted(order, index + 1, side="left")
        zero_row = tf.zeros(tf.concat([[1], tf.shape(values)[1:]], 0), values.dtype)
        picked = tf.gather(
            tf.concat([values, zero_row], 0),
            tf.where(taken, source, tf.shape(values)[0]),
        )
        mask = tf.reshape(taken, [-1] + [1] * (len(buffer.shape) - 1))
        buffer.assign(
            tf.where(mask, tf.cast(picked, buffer.dtype), tf.convert_to_tensor(buffer))
        )
        rows.assign(held + added)


def _unless_overflowed(value, rows, capacity, metric, name):
    """`value`, unless the sample buffer `name` was given more rows than it keeps: then an error (eagerly and in
    a graph), or NaN under XLA, where assertions are dropped. Never a number from some of the rows.
    """
    message = f"{metric}: the sample buffer `{name}` was given more than the {capacity} rows it keeps"
    assertion = tf.debugging.assert_less_equal(rows, capacity, message=message)
    value = _after(assertion, value)
    if not value.dtype.is_floating:
        return value
    return tf.where(rows > capacity, tf.constant(float("nan"), value.dtype), value)


def _batch_flatten(x):
    """x as [its first axis, the product of the others] (a batch of none included, which -1 cannot size)."""
    shape = tf.shape(x)
    return tf.reshape(x, tf.stack([shape[0], tf.reduce_prod(shape[1:])]))
