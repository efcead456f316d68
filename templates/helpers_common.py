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
    want = ("..., " if leading else "") + ", ".join("None" if e is None else str(e) for e in expected)
    raise ValueError(f"{metric}: `{name}` has shape {tuple(value.shape)}, but the metric expects shape ({want})")


def _known_size(shape, axis, name):
    """An input's size along `axis`, which shapes a state on the first batch: it must be known by then."""
    dims = tuple(shape)
    if not -len(dims) <= axis < len(dims) or dims[axis] is None:
        raise ValueError(
            f"the state is shaped by the first batch, so `{name}` needs a known size along axis {axis}; "
            f"got shape {dims}"
        )
    return int(dims[axis])
