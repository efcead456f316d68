"""The registry of functions an expression may call: signature, result type, and one lowering per target.

One table serves every target: each entry's ``tf`` column says how it lowers to TensorFlow and its ``keras``
column how it lowers to backend-neutral ``keras.ops``. A function with no form for a target says ``None``
there and the analyser refuses it for that target, naming it.

A lowering is a format string over the argument names, e.g. ``"tf.reduce_sum({x}, axis={axis?})"``, where
``, axis={axis?}`` is dropped when the argument was left at its default, and ``{out_dtype}`` is the result's
dtype; or a function of the argument code for the few that need more than a format. Such a function gets
atoms (arguments are parenthesised unless they are names or calls) and must return one.

Signatures are written compactly: ``"x:num, axis:axes=None, keepdims:flag=False"``. Argument kinds:

========  =======================================================================================
num       a numeric tensor; every ``num`` argument of one call is promoted to a common dtype
float     like ``num``, then made float (``sqrt`` of an int is a float)
int       an integer tensor (indices, ids); a float here is an error, not a silent truncation
bool      a boolean tensor (a condition)
any       a tensor of any dtype, passed through unchanged
same      values of one dtype: promoted like ``num``, except that booleans stay booleans
axis      a constant int (or None)
axes      a constant int, a tuple of them, or None
count     a constant int (a length, a depth, a number of segments)
flag      a constant bool
number    a constant int or float
shape     a constant tuple of ints (-1 allowed once)
dtype     a dtype name: float (the metric's dtype), float16, bfloat16, float32, float64, int32, int64, bool
========  =======================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

Lowering = Union[str, Callable[[dict[str, str]], str], None]

TENSOR_KINDS = ("num", "float", "int", "bool", "any", "same")
STATIC_KINDS = ("axis", "axes", "count", "flag", "number", "shape", "dtype")

# Result rules: "num" (the promoted dtype), "float" (promoted, then float), "bool", "int32",
# "same" (the common dtype of the ``same`` arguments), "compute" (the metric's float dtype), "dtype" (the dtype
# argument), "x" (the first argument's dtype),
# "weights" (the `weights` argument's dtype, else the metric's float dtype).
RESULT_RULES = ("num", "float", "same", "bool", "int32", "compute", "dtype", "x", "weights")


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str
    default: str | None = None  # source text of the default; None means required

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[Arg, ...]
    result: str
    lowerings: dict[str, Lowering]
    doc: str
    # Whether the function reads the batch's sample weights (only meaningful inside `update`).
    uses_sample_weight: bool = False
    helpers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def signature(self) -> str:
        parts = [a.name if a.required else f"{a.name}={a.default}" for a in self.args]
        return f"{self.name}({', '.join(parts)})"


def _parse_signature(sig: str) -> tuple[Arg, ...]:
    args = []
    for part in (p.strip() for p in sig.split(",") if p.strip()):
        spec, _, default = part.partition("=")
        name, _, kind = spec.partition(":")
        assert kind in TENSOR_KINDS + STATIC_KINDS, (sig, kind)
        args.append(Arg(name.strip(), kind.strip(), default.strip() or None))
    return tuple(args)


REGISTRY: dict[str, Function] = {}


def _define(
    name: str,
    sig: str,
    result: str,
    tf: Lowering,
    keras: Lowering,
    doc: str,
    *,
    uses_sample_weight: bool = False,
    helpers: tuple[str, ...] = (),
    keras_helpers: tuple[str, ...] | None = None,
) -> None:
    """Registers a function; ``helpers`` are the module-level helper functions its lowering calls."""
    assert result in RESULT_RULES, result
    REGISTRY[name] = Function(
        name,
        _parse_signature(sig),
        result,
        {"tf": tf, "keras": keras},
        doc,
        uses_sample_weight,
        {"tf": helpers, "keras": helpers if keras_helpers is None else keras_helpers},
    )


def _argsort_tf(a: dict[str, str]) -> str:
    direction = _static_choice(a["descending"], '"DESCENDING"', '"ASCENDING"')
    return f"tf.argsort({a['x']}, axis={a['axis']}, direction={direction})"


def _argsort_keras(a: dict[str, str]) -> str:
    keys = _static_choice(a["descending"], f"ops.negative({a['x']})", a["x"])
    return f'ops.cast(ops.argsort({keys}, axis={a["axis"]}), "int32")'


def _static_choice(flag: str, if_true: str, if_false: str) -> str:
    """Code choosing by a constant flag: resolved here for literals, when the metric is traced otherwise."""
    return {"True": if_true, "False": if_false}.get(flag, f"({if_true} if {flag} else {if_false})")


def _bincount(prefix: str) -> Callable[[dict[str, str]], str]:
    """bincount as a segment sum of the weights (ones when none are given), which drops values outside
    0..length-1 on every backend (tf.math.bincount fails on negative values)."""

    def lower(a: dict[str, str]) -> str:
        weights = a["weights"]
        if weights == "None":
            weights = f"{prefix}.ones_like({a['x']}, dtype={a['out_dtype']})"
        return f"_segment_sum({weights}, {a['x']}, {a['length']})"

    return lower


_REDUCTION = "x:num, axis:axes=None, keepdims:flag=False"

# --- reductions --------------------------------------------------------------------------------------------
_define(
    "sum",
    _REDUCTION,
    "num",
    "tf.reduce_sum({x}, axis={axis?}, keepdims={keepdims?})",
    "ops.sum({x}, axis={axis?}, keepdims={keepdims?})",
    "Sum over `axis` (all axes by default).",
)
_define(
    "mean",
    _REDUCTION.replace("x:num", "x:float"),
    "float",
    "tf.reduce_mean({x}, axis={axis?}, keepdims={keepdims?})",
    "ops.mean({x}, axis={axis?}, keepdims={keepdims?})",
    "Mean over `axis` (NaN for an empty tensor).",
)
_define(
    "max",
    _REDUCTION,
    "num",
    "tf.reduce_max({x}, axis={axis?}, keepdims={keepdims?})",
    "ops.max({x}, axis={axis?}, keepdims={keepdims?}, initial={lowest})",
    "Maximum over `axis` (of nothing: the dtype's lowest value, -inf for floats).",
)
_define(
    "min",
    _REDUCTION,
    "num",
    "tf.reduce_min({x}, axis={axis?}, keepdims={keepdims?})",
    "ops.min({x}, axis={axis?}, keepdims={keepdims?}, initial={highest})",
    "Minimum over `axis` (of nothing: the dtype's highest value, inf for floats).",
)
_define(
    "prod",
    _REDUCTION,
    "num",
    "tf.reduce_prod({x}, axis={axis?}, keepdims={keepdims?})",
    "ops.prod({x}, axis={axis?}, keepdims={keepdims?})",
    "Product over `axis`.",
)
_define(
    "any",
    "x:bool, axis:axes=None, keepdims:flag=False",
    "bool",
    "tf.reduce_any({x}, axis={axis?}, keepdims={keepdims?})",
    "ops.any({x}, axis={axis?}, keepdims={keepdims?})",
    "Logical or over `axis`.",
)
_define(
    "all",
    "x:bool, axis:axes=None, keepdims:flag=False",
    "bool",
    "tf.reduce_all({x}, axis={axis?}, keepdims={keepdims?})",
    "ops.all({x}, axis={axis?}, keepdims={keepdims?})",
    "Logical and over `axis`.",
)
_define(
    "cumsum",
    "x:num, axis:axis=0, reverse:flag=False, exclusive:flag=False",
    "num",
    "tf.cumsum({x}, axis={axis}, exclusive={exclusive?}, reverse={reverse?})",
    "_cumsum({x}, {axis}, {reverse}, {exclusive})",
    "Cumulative sum along `axis`; `reverse=True` sums from the end, `exclusive=True` leaves each element out.",
    keras_helpers=("_cumsum",),
)

# --- sample weighting (Keras-style broadcasting of `sample_weight`) -----------------------------------------
_define(
    "weighted_sum",
    "x:float",
    "float",
    "_weighted_sum({x}, sample_weight)",
    "_weighted_sum({x}, sample_weight)",
    "Σ x·w, with `sample_weight` brought to x's rank and broadcast as Keras does (Σ x without weights).",
    uses_sample_weight=True,
    helpers=("_weights_like", "_weighted_sum"),
)
_define(
    "weighted_count",
    "x:any",
    "compute",
    "_weighted_count({x}, sample_weight, {out_dtype})",
    "_weighted_count({x}, sample_weight, {out_dtype})",
    "Σ w over the elements of x (their number without weights): the denominator of a weighted mean.",
    uses_sample_weight=True,
    helpers=("_weights_like", "_weighted_count"),
)
_define(
    "sample_weights",
    "x:any",
    "compute",
    "_weights_like({x}, sample_weight, {out_dtype})",
    "_weights_like({x}, sample_weight, {out_dtype})",
    "The batch's sample weights broadcast to x's shape, Keras-style (ones without weights).",
    uses_sample_weight=True,
    helpers=("_weights_like",),
)

# --- element-wise math -------------------------------------------------------------------------------------
for _name, _tf, _keras in [
    ("abs", "tf.abs", "ops.abs"),
    ("sign", "tf.sign", "ops.sign"),
    ("square", "tf.square", "ops.square"),
    ("negative", "tf.negative", "ops.negative"),
]:
    _define(_name, "x:num", "num", f"{_tf}({{x}})", f"{_keras}({{x}})", f"Element-wise {_name}.")
for _name, _tf, _keras in [
    ("sqrt", "tf.sqrt", "ops.sqrt"),
    ("log", "tf.math.log", "ops.log"),
    ("log1p", "tf.math.log1p", "ops.log1p"),
    ("exp", "tf.exp", "ops.exp"),
    ("floor", "tf.floor", "ops.floor"),
    ("ceil", "tf.math.ceil", "ops.ceil"),
    ("round", "tf.round", "ops.round"),
    ("sigmoid", "tf.sigmoid", "ops.sigmoid"),
]:
    _define(
        _name,
        "x:float",
        "float",
        f"{_tf}({{x}})",
        f"{_keras}({{x}})",
        f"Element-wise {_name} (ints become floats{'; halves round to even' if _name == 'round' else ''}).",
    )
_define(
    "clip",
    "x:num, lo:num, hi:num",
    "num",
    "tf.clip_by_value({x}, {lo}, {hi})",
    "ops.clip({x}, {lo}, {hi})",
    "x limited to [lo, hi].",
)
_define("maximum", "a:num, b:num", "num", "tf.maximum({a}, {b})", "ops.maximum({a}, {b})", "Element-wise maximum.")
_define("minimum", "a:num, b:num", "num", "tf.minimum({a}, {b})", "ops.minimum({a}, {b})", "Element-wise minimum.")
_define(
    "safe_div",
    "a:float, b:float",
    "float",
    "tf.math.divide_no_nan({a}, {b})",
    "ops.divide_no_nan({a}, {b})",
    "a / b, and 0 where b is 0 (the `/` operator does the same).",
)
_define(
    "where",
    "cond:bool, a:same, b:same",
    "same",
    "tf.where({cond}, {a}, {b})",
    "ops.where({cond}, {a}, {b})",
    "a where cond holds, else b (element-wise; `a if cond else b` is the same).",
)
_define(
    "matmul",
    "a:num, b:num",
    "num",
    "tf.linalg.matmul({a}, {b})",
    "ops.matmul({a}, {b})",
    "Matrix product (batched over leading axes).",
)

# --- indices, ranks and shapes -----------------------------------------------------------------------------
_define(
    "argmax",
    "x:num, axis:axis=-1",
    "int32",
    "tf.argmax({x}, axis={axis}, output_type=tf.int32)",
    'ops.cast(ops.argmax({x}, axis={axis}), "int32")',
    "Index of the largest value along `axis` (int32).",
)
_define(
    "argmin",
    "x:num, axis:axis=-1",
    "int32",
    "tf.argmin({x}, axis={axis}, output_type=tf.int32)",
    'ops.cast(ops.argmin({x}, axis={axis}), "int32")',
    "Index of the smallest value along `axis` (int32).",
)
_define(
    "argsort",
    "x:num, axis:axis=-1, descending:flag=False",
    "int32",
    _argsort_tf,
    _argsort_keras,
    "Indices that sort x along `axis` (int32).",
)
_define(
    "one_hot",
    "indices:int, depth:count",
    "compute",
    "tf.one_hot({indices}, {depth}, dtype={out_dtype})",
    "ops.one_hot({indices}, {depth}, dtype={out_dtype})",
    "One-hot rows of length `depth`.",
)
_define(
    "gather",
    "x:any, indices:int, axis:axis=0",
    "x",
    "tf.gather({x}, {indices}, axis={axis?})",
    "ops.take({x}, {indices}, axis={axis})",
    "Entries of x at `indices` along `axis`.",
)
_define(
    "reshape",
    "x:any, shape:shape",
    "x",
    "tf.reshape({x}, {shape})",
    "ops.reshape({x}, {shape})",
    "x with a new shape (one entry may be -1).",
)
_define(
    "transpose",
    "x:any, perm:shape=None",
    "x",
    "tf.transpose({x}, perm={perm?})",
    "ops.transpose({x}, axes={perm?})",
    "x with its axes permuted (reversed by default).",
)
_define(
    "expand_dims",
    "x:any, axis:axis",
    "x",
    "tf.expand_dims({x}, {axis})",
    "ops.expand_dims({x}, {axis})",
    "x with a new axis of size 1.",
)
_define(
    "squeeze",
    "x:any, axis:axes=None",
    "x",
    "tf.squeeze({x}, axis={axis?})",
    "ops.squeeze({x}, axis={axis?})",
    "x without its axes of size 1.",
)
_define(
    "flip",
    "x:any, axis:axis",
    "x",
    "tf.reverse({x}, axis=[{axis}])",
    "ops.flip({x}, axis={axis})",
    "x reversed along `axis`.",
)
_define("size", "x:any", "int32", "tf.size({x})", 'ops.cast(ops.size({x}), "int32")', "Number of elements of x.")
_define(
    "shape",
    "x:any, axis:axis",
    "int32",
    "tf.shape({x})[{axis}]",
    'ops.cast(ops.shape({x})[{axis}], "int32")',
    "Size of x along `axis`.",
)
_define(
    "arange",
    "start:count, stop:count=None, step:count=1",
    "int32",
    "tf.range({start}, limit={stop?}, delta={step?})",
    'ops.arange({start}, {stop?}, step={step?}, dtype="int32")',
    "Integers start, start+step, ... below stop.",
)
_define(
    "linspace",
    "start:float, stop:float, num:count",
    "float",
    "tf.linspace({start}, {stop}, {num})",
    "ops.linspace({start}, {stop}, {num}, dtype={out_dtype})",
    "`num` evenly spaced values from start to stop.",
)

# --- counting and bucketing (fixed-size output, so they stream and compile under XLA) ---------------------
_define(
    "bincount",
    "x:int, length:count, weights:num=None",
    "weights",
    _bincount("tf"),
    _bincount("ops"),
    "Counts (or weight sums) of each value 0..length-1 in x; values outside are dropped.",
    helpers=("_segment_sum",),
)
_define(
    "segment_sum",
    "data:num, ids:int, num_segments:count",
    "num",
    "_segment_sum({data}, {ids}, {num_segments})",
    "_segment_sum({data}, {ids}, {num_segments})",
    "Sums of data grouped by ids in 0..num_segments-1 (ids outside are dropped).",
    helpers=("_segment_sum",),
)

# --- dtypes ------------------------------------------------------------------------------------------------
_define(
    "cast", "x:any, dtype:dtype", "dtype", "tf.cast({x}, {dtype})", "ops.cast({x}, {dtype})", "x converted to `dtype`."
)

# Functions that take constants only and give a constant (evaluated in Python, at build time of the metric).
STATIC_FUNCTIONS = {
    "len": "Length of a list param (a constant int).",
}

# Named constants usable in expressions.
CONSTANTS = {
    "epsilon": (
        "float",
        {"tf": "keras.config.epsilon()", "keras": "keras.config.epsilon()"},
        "Keras' fuzz factor (1e-7 unless changed with keras.config.set_epsilon).",
    ),
    "pi": ("float", {"tf": "3.141592653589793", "keras": "3.141592653589793"}, "π."),
    "inf": ("float", {"tf": 'float("inf")', "keras": 'float("inf")'}, "Positive infinity."),
}

DTYPE_NAMES = ("float", "float16", "bfloat16", "float32", "float64", "int32", "int64", "bool")
