# Helper functions copied into generated TensorFlow modules, each only where the metric uses it.
# This file is real Python so that it can be linted and tested on its own; metricgen extracts the
# functions it needs by name. Keep each helper self-contained (imports: tf, keras only).
import keras
import tensorflow as tf


def _check_param(metric, name, value, kind, low=None, high=None, choices=None):
    """Validates and normalises a constructor argument, naming the metric and argument when it is wrong."""
    if kind == "callable":
        if value is None or callable(value):
            return value
        problem = "must be a function"
    elif kind.startswith("list["):
        if isinstance(value, (list, tuple)):
            return [_check_param(metric, name, v, kind[5:-1], low, high) for v in value]
        problem = f"must be a list of {kind[5:-1]}s"
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        problem = "must be True or False"
    elif kind == "str":
        if isinstance(value, str) and (choices is None or value in choices):
            return value
        problem = "must be a string" if choices is None else f"must be one of {choices}"
    else:
        number = None
        if not isinstance(value, bool):
            try:
                number = float(value) if kind == "float" else int(value)
            except (TypeError, ValueError, OverflowError):
                number = None
        if kind == "int" and number is not None and number != value:
            number = None
        if number is not None and (low is None or number >= low) and (high is None or number <= high):
            return number
        bounds = "" if low is None and high is None else f" in [{low}, {high}]"
        problem = f"must be {'an int' if kind == 'int' else 'a number'}{bounds}"
    raise ValueError(f"{metric}: argument `{name}` {problem}, got {value!r}")


def _check_shape(metric, name, value, expected, leading):
    """Fails at trace time when an input's static shape cannot match the shape the spec declares."""
    shape = value.shape
    if shape.rank is None:
        return
    dims = list(shape)
    if leading:
        dims = dims[len(dims) - len(expected) :] if len(dims) >= len(expected) else None
    if dims is not None and len(dims) == len(expected):
        if all(e is None or d is None or d == e for d, e in zip(dims, expected)):
            return
    want = ("..., " if leading else "") + ", ".join("None" if e is None else str(e) for e in expected)
    raise ValueError(f"{metric}: `{name}` has shape {tuple(shape)}, but the metric expects shape ({want})")


def _weights_like(values, sample_weight, dtype):
    """sample_weight brought to the rank of `values` and broadcast to its shape, as Keras does for losses
    and metrics: a trailing axis of size 1 is squeezed, missing trailing axes are added."""
    if sample_weight is None:
        return tf.ones_like(values, dtype=dtype)
    weights = tf.cast(sample_weight, dtype)
    rank = values.shape.rank
    if weights.shape.rank == rank + 1 and weights.shape[-1] == 1:
        weights = tf.squeeze(weights, axis=-1)
    for _ in range(rank - weights.shape.rank):
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


def _match_rank(value, reference):
    """`value` with a trailing axis of size 1 dropped or added to match `reference`'s rank (as Keras
    squeezes or expands labels), otherwise unchanged."""
    rank, reference_rank = value.shape.rank, reference.shape.rank
    if rank is None or reference_rank is None:
        return value
    if rank == reference_rank + 1 and value.shape[-1] == 1:
        return tf.squeeze(value, axis=-1)
    if rank + 1 == reference_rank and reference.shape[-1] == 1:
        return tf.expand_dims(value, axis=-1)
    return value
