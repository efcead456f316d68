# TensorFlow helpers shared by the tf target and the keras target (which runs them on the TensorFlow backend
# only): copied into a generated module only where the metric uses them. Each imports TensorFlow itself, so
# that a keras module imports it only when Keras runs on it.


def _bincount_segment_sum(data, segment_ids, num_segments):
    """tf.math.unsorted_segment_sum of values by ids of their shape, ids outside 0..num_segments-1 dropped, as
    one DenseBincount where that is the faster, else None. For many values (at least 16384, and at least one
    per segment) in a dtype the bincount kernel takes, on CPU the scatter-add is 3 to 10 times slower (and no
    faster under XLA); for fewer values the scatter-add, whose cost does not grow with the number of
    segments, is the faster."""
    import tensorflow as tf

    data, segment_ids = tf.convert_to_tensor(data), tf.convert_to_tensor(segment_ids)
    count = data.shape.num_elements()
    few = (
        count is not None
        and isinstance(num_segments, int)
        and count < max(num_segments, 16384)
    )
    kinds = (tf.float32, tf.float64, tf.int32, tf.int64)
    if (
        few
        or data.shape.rank is None
        or data.shape.rank != segment_ids.shape.rank
        or data.dtype not in kinds
    ):
        return None
    ids = tf.reshape(segment_ids, [-1])
    size = tf.cast(num_segments, ids.dtype)
    # as unsigned, negative ids are past the end, and every id past the end is sent to `size` (dropped)
    unsigned = tf.uint32 if ids.dtype == tf.int32 else tf.uint64
    ids = tf.bitcast(
        tf.minimum(tf.bitcast(ids, unsigned), tf.cast(size, unsigned)), ids.dtype
    )
    return tf.raw_ops.DenseBincount(
        input=ids, size=size, weights=tf.reshape(data, [-1]), binary_output=False
    )
