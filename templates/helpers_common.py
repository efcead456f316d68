# Helper functions copied into generated modules of every target, each only where the metric uses it.
# Plain Python on static values (constructor arguments, static shapes): no array library needed.
# metricgen extracts the functions it needs by name; keep each one self-contained.


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
        # numbers only (numpy's too), never strings or bools; an int param takes no float, even 3.0
        boolean = type(value).__name__ in ("bool", "bool_")
        integral = hasattr(value, "__index__") and not boolean
        real = isinstance(value, float) or type(value).__name__.startswith("float")
        if integral or (kind == "float" and real):
            number = float(value) if kind == "float" else int(value)
        if number is not None and (low is None or number >= low) and (high is None or number <= high):
            return number
        bounds = "" if low is None and high is None else f" in [{low}, {high}]"
        problem = f"must be {'an int' if kind == 'int' else 'a number'}{bounds}"
    raise ValueError(f"{metric}: argument `{name}` {problem}, got {value!r}")


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
