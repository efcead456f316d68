"""The torchmetrics target's column of the function table: each function written with torch ops.

Function name -> lowering, in the table's order (metricgen/functions.py). A function missing here is refused
for the torchmetrics target, located where a spec calls it. New tensors are made on ``self.device``, the
metric's.
"""

from __future__ import annotations

from ..functions import OUT_DTYPE, SAMPLE_WEIGHT, Args, Code, Lowering, bincount_as_segment_sum, call, given


def _reduce(fn: str) -> Lowering:
    """A torch reduction over `axis` (every axis by default): torch takes keepdim only beside dim."""

    def lower(a: Args) -> str:
        if not a.given("keepdims"):
            return call(fn, "x", dim=given("axis"))(a)
        return call(fn, "x", dim="axis", keepdim="keepdims")(a)

    return lower


def _index_scalar(size: str) -> str:
    """A Python int (a size) as a tensor of the language's int32 on this target (torch.int64, see
    TorchmetricsTarget.dtype) on the metric's device."""
    return f"torch.tensor({size}, dtype=torch.int64, device=self.device)"


def _bounded(fn: str, bound: str) -> Lowering:
    """torch.maximum (minimum), or torch.clamp where one operand is a Python number (see scalar_operands):
    torch.maximum takes tensors only, and a number made a tensor costs three ops on every call."""

    def lower(a: Args) -> str:
        number = next((name for name in ("b", "a") if name in a.numbers), None)
        if number is None:
            return f"{fn}({a['a']}, {a['b']})"
        tensor = "a" if number == "b" else "b"
        return f"torch.clamp({a[tensor]}, {bound}={a[number]})"

    return lower


def _clip(a: Args) -> str:
    """torch.clamp takes its two bounds both as numbers or both as tensors: bounds of each kind are two clamps,
    and a number to clip is made a tensor (see scalar_operands)."""
    x = f"torch.tensor({a['x']}, dtype={a.out_dtype}, device=self.device)" if "x" in a.numbers else a["x"]
    if ("lo" in a.numbers) == ("hi" in a.numbers):
        return f"torch.clamp({x}, {a['lo']}, {a['hi']})"
    return f"torch.clamp(torch.clamp({x}, min={a['lo']}), max={a['hi']})"


def _extreme(a: Args, largest: bool) -> str:
    """max (min) over axis; of nothing, the lowest (highest) value of the language's dtype, which for int32 is not
    that of the int64 it is written in here (see TorchmetricsTarget.dtype)."""
    extra = ", bounds=torch.int32" if a.dtype == "int32" else ""
    return f"_extreme({a['x']}, {a['axis']}, {a['keepdims']}, largest={largest}{extra})"


def _count_ids(a: Args) -> str:
    return f"_count_ids({a['x']}, {a['length']}, {a.out_dtype})"


def _logsumexp(a: Args) -> str:
    # torch.logsumexp needs dim: every axis, where the spec gave none
    dim = a["axis"] if a.given("axis") else f"tuple(range({a.atom('x')}.dim()))"
    keepdim = f", keepdim={a['keepdims']}" if a.given("keepdims") else ""
    return f"torch.logsumexp({a['x']}, dim={dim}{keepdim})"


FUNCTIONS: dict[str, Lowering] = {
    # reductions
    "sum": _reduce("torch.sum"),
    "mean": _reduce("torch.mean"),
    "max": lambda a: _extreme(a, largest=True),
    "min": lambda a: _extreme(a, largest=False),
    "prod": call("_prod", "x", "axis", "keepdims"),
    "any": _reduce("torch.any"),
    "all": _reduce("torch.all"),
    "cumsum": call("_cumsum", "x", "axis", "reverse", "exclusive"),
    # sample weighting
    "weighted_sum": call("_weighted_sum", "x", SAMPLE_WEIGHT),
    "weighted_count": call("_weighted_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "samplewise_sum": call("_samplewise_sum", "x", SAMPLE_WEIGHT),
    "samplewise_count": call("_samplewise_count", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    "sample_weights": call("_weights_like", "x", SAMPLE_WEIGHT, OUT_DTYPE),
    # element-wise math
    "abs": call("torch.abs", "x"),
    "sign": call("torch.sign", "x"),
    "square": call("torch.square", "x"),
    "negative": call("torch.negative", "x"),
    "sqrt": call("torch.sqrt", "x"),
    "log": call("torch.log", "x"),
    "log1p": call("torch.log1p", "x"),
    "exp": call("torch.exp", "x"),
    "floor": call("torch.floor", "x"),
    "ceil": call("torch.ceil", "x"),
    "round": call("torch.round", "x"),
    "sigmoid": call("torch.sigmoid", "x"),
    "softplus": call("torch.nn.functional.softplus", "x"),
    "rsqrt": call("torch.rsqrt", "x"),
    "isnan": call("torch.isnan", "x"),
    "isinf": call("torch.isinf", "x"),
    "softmax": call("torch.softmax", "x", dim="axis"),
    "log_softmax": call("torch.log_softmax", "x", dim="axis"),
    "logsumexp": _logsumexp,
    "clip": _clip,
    "maximum": _bounded("torch.maximum", "min"),
    "minimum": _bounded("torch.minimum", "max"),
    "safe_div": call("_divide_no_nan", "a", "b"),
    "true_divide": call("torch.true_divide", "a", "b"),
    "where": call("torch.where", "cond", "a", "b"),
    "concat": lambda a: f"torch.cat([{a['a']}, {a['b']}], dim={a['axis']})",
    "stack": lambda a: f"torch.stack([{a['a']}, {a['b']}], dim={a['axis']})",
    "matmul": call("torch.matmul", "a", "b"),
    # indices, ranks and shapes
    # torch's index functions give int64, which stands for the language's int32 on this target (see dtype)
    "argmax": call("torch.argmax", "x", dim="axis"),
    "argmin": call("torch.argmin", "x", dim="axis"),
    # by radix where torch's CPU sort can take one (_argsort)
    "argsort": call("_argsort", "x", "axis", "descending"),
    "sort": call("_sort", "x", "axis", "descending"),
    "rankdata": call("_rankdata", "x", "axis"),
    "top_k": lambda a: f"torch.topk({a['x']}, k={a['k']}).values",
    "in_top_k": call("_in_top_k", "targets", "predictions", "k"),
    "one_hot": call("_one_hot", "indices", "depth", OUT_DTYPE),
    "gather": call("_gather", "x", "indices", "axis"),
    "take_along_axis": lambda a: f"torch.take_along_dim({a['x']}, {a.atom('indices')}.long(), dim={a['axis']})",
    "reshape": call("torch.reshape", "x", "shape"),
    "batch_flatten": call("_batch_flatten", "x"),
    "transpose": call("_transpose", "x", given("perm")),
    "expand_dims": call("torch.unsqueeze", "x", "axis"),
    "squeeze": call("torch.squeeze", "x", dim=given("axis")),
    "flip": lambda a: f"torch.flip({a['x']}, dims=[{a['axis']}])",
    "size": lambda a: _index_scalar(f"{a.atom('x')}.numel()"),
    "shape": lambda a: _index_scalar(f"{a.atom('x')}.shape[{a['axis']}]"),
    "ones_like": call("torch.ones_like", "x"),
    "ones_like_as": call("torch.ones_like", "x", dtype="dtype"),
    "arange": call(
        "torch.arange",
        "start",
        given("stop"),
        step=given("step"),
        dtype=Code("torch.int64"),
        device=Code("self.device"),
    ),
    "linspace": call("torch.linspace", "start", "stop", "num", dtype=OUT_DTYPE, device=Code("self.device")),
    # counting and bucketing
    # without weights, counted in one pass (bincount on the CPU): no tensor of ones to sum
    "bincount": lambda a: (bincount_as_segment_sum("torch.ones_like")(a) if a.given("weights") else _count_ids(a)),
    "count_ids": _count_ids,
    "sum_of_ones": lambda a: (
        f"_sum_of_ones({a['x']}, {a['axis'] if a.given('axis') else None}, "
        f"{a['keepdims'] if a.given('keepdims') else False}, {a.out_dtype})"
    ),
    "bucketize": call("_bucketize", "x", "edges", Code("False")),
    "bucketize_sorted": call("_bucketize", "x", "edges", Code("True")),
    "segment_sum": call("_segment_sum", "data", "ids", "num_segments"),
    # ids that several sums share are shifted once (metricgen/passes/shift_ids_once.py)
    "shifted_ids": call("_shifted_ids", "ids", "num_segments"),
    "segment_sum_shifted": call("_sum_by_shifted", "data", "shifted", "num_segments"),
    "count_shifted": lambda a: f"_count_shifted({a['shifted']}, {a['length']}, {a.out_dtype})",
    # dtypes
    "cast": lambda a: f"{a.atom('x')}.to({a['dtype']})",
}
