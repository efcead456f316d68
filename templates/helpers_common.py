# Helper functions copied into generated modules of every target, each only where the metric uses it.
# Plain Python on static values (constructor arguments, static shapes): no array library needed.
# metricgen extracts the functions it needs by name; keep each one self-contained.


def _check_shape(metric, name, value, expected, leading):
    """Fails at trace time when an input's static shape cannot match the shape the spec declares."""
    try:
        dims = list(value.shape)
    except (TypeError, ValueError):  # rank unknown until run time: nothing to check
        return
    if leading:
        dims = dims[len(dims) - len(expected) :] if len(dims) >= len(expected) else None
    if dims is not None and len(dims) == len(expected):
        if all(e is None or d is None or d == e for d, e in zip(dims, expected)):
            return
    want = ("..., " if leading else "") + ", ".join(
        "None" if e is None else str(e) for e in expected
    )
    raise ValueError(
        f"{metric}: `{name}` has shape {tuple(value.shape)}, but the metric expects shape ({want})"
    )


def _known_size(shape, axis, name):
    """An input's size along `axis`, which shapes a state on the first batch: it must be known by then."""
    dims = tuple(shape)
    if not -len(dims) <= axis < len(dims) or dims[axis] is None:
        raise ValueError(
            f"the state is shaped by the first batch, so `{name}` needs a known size along axis {axis}; "
            f"got shape {dims}"
        )
    return int(dims[axis])


def _check_size(metric, name, axis, size, state, expected, source="the batch"):
    """Fails when an input's size along `axis` (in `source`: a batch, or a metric being merged)
    is not the `expected` size the first batch gave the state `state` (None: unknown yet).
    """
    if size is not None and size != expected:
        raise ValueError(
            f"{metric}: `{name}` has size {size} along axis {axis} in {source}, but the state ({state}) was "
            f"shaped by a first batch of size {expected} there"
        )


def _check_rank(metric, name, rank, axis, state):
    """Fails when a batch has no axis `axis` (a rank-1 batch after rank-2 ones): the first batch's size along it
    shaped the state `state`."""
    if rank is not None and not -rank <= axis < rank:
        raise ValueError(
            f"{metric}: `{name}` has {rank} axes in the batch, so no axis {axis}; the state ({state}) was shaped "
            f"by the first batch's size along axis {axis}"
        )


def _kept_shape(metric, name, value, state):
    """`value`, the state `name` after a fold, refused (when traced) where its shape is not that of `state`:
    a batch value may broadcast into a state, never grow it, as a Keras variable's assign
    refuses it."""
    if tuple(value.shape) != tuple(state.shape):
        raise ValueError(
            f"{metric}: state `{name}` would take shape {tuple(value.shape)}, but its shape is {tuple(state.shape)}: "
            "a batch value must reduce to it (e.g. with sum), a merged state be made with the same arguments"
        )
    return value


def _check_same_params(metric, names, values, other_values):
    """merge_state refuses a metric made with other arguments: its state counts something else."""
    for name, value, other in zip(names, values, other_values):
        if value != other:
            raise ValueError(
                f"{metric}.merge_state: metrics with different parameters cannot be merged: `{name}` is "
                f"{value!r} here and {other!r} in the merged metric"
            )


def _check_entries(metric, param, entries, name, size, axis):
    """Fails when a list param's entries, which line up with an input's `axis`, are not as many as the input's
    size there (a size of 1 broadcasts; None: unknown until the batch is run)."""
    if size is not None and size not in (1, entries):
        raise ValueError(
            f"{metric}: `{param}` has {entries} entries, but {name} has {size} along axis {axis}"
        )


def _runs_of_exact_sums(count):
    """How many runs a float segment sum of `count` values is taken in: XLA's scatter and the CPU kernels add
    one value at a time, and a float32 total of ones stops growing at 2**24 (16,777,216 + 1 is 16,777,216),
    so at most 2**23 values a run, whose totals a (pairwise) sum adds. 1 where the count is not
    known."""
    return 1 if count is None else max(1, -(-count // 2**23))
