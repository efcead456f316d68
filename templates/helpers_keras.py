# Helper functions copied into generated backend-neutral modules (keras.ops only, so they run on the
# TensorFlow, JAX and PyTorch backends), each only where the metric uses it. The TensorFlow twins are in
# helpers_tf.py; keep the two files' functions in step. Keep each helper self-contained.
import keras
from keras import ops


def _weights_like(values, sample_weight, dtype):
    """sample_weight brought to the rank of `values` and broadcast to its shape, as Keras does for losses
    and metrics: a trailing axis of size 1 is squeezed, missing trailing axes are added."""
    if sample_weight is None:
        return ops.ones_like(values, dtype=dtype)
    weights = ops.cast(sample_weight, dtype)
    rank = len(values.shape)
    if len(weights.shape) == rank + 1 and weights.shape[-1] == 1:
        weights = ops.squeeze(weights, axis=-1)
    for _ in range(rank - len(weights.shape)):
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


def _match_rank(value, reference):
    """`value` with a trailing axis of size 1 dropped or added to match `reference`'s rank (as Keras
    squeezes or expands labels), otherwise unchanged."""
    rank, reference_rank = len(value.shape), len(reference.shape)
    if rank == reference_rank + 1 and value.shape[-1] == 1:
        return ops.squeeze(value, axis=-1)
    if rank + 1 == reference_rank and reference.shape[-1] == 1:
        return ops.expand_dims(value, axis=-1)
    return value


def _segment_sum(data, segment_ids, num_segments):
    """tf.math.unsorted_segment_sum for keras.ops, whose segment_sum takes 1-D ids only: ids of any rank
    (a prefix of data's shape) are flattened with the matching axes of data."""
    ids_rank = len(segment_ids.shape)
    data = ops.reshape(data, (-1,) + tuple(data.shape[ids_rank:]))
    return ops.segment_sum(data, ops.reshape(segment_ids, (-1,)), num_segments=num_segments)
