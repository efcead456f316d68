"""The table of functions an expression may call: signature, result dtype and doc, and the vocabulary a
target's lowering of a call is written in.

The table knows no target. Each target owns its column, how each function it can express is written, in its
own module: ``metricgen/targets/<name>_functions.py`` holds ``FUNCTIONS`` (function name -> lowering, in this
table's order), which the target class sets as its ``column``. A function missing from a column cannot be
expressed there, and lowering for that target refuses the call with its location; a column entry for a name
this table lacks stops metricgen from loading (see ``metricgen/targets/__init__.py``).

A lowering is either a :func:`call` — a function applied to arguments by their signature names, where
:func:`given` marks an argument written only when the spec gave it (so the callee's own default applies) — or
a plain function of :class:`Args` returning code, for calls that need more than that. Helper functions that
a lowering names (``_weighted_sum``) are found in the printed code, not listed here: see
:mod:`metricgen.targets.base`.

Argument kinds (:class:`Kind`): tensor kinds are cast by the analyser before the call, so lowerings never
cast; static kinds are constants known when the metric is built.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Union

from .types import FLOAT


class Kind(enum.Enum):
    NUM = "a numeric tensor; every num argument of one call is promoted to a common dtype"
    FLOAT = "like num, then made float (sqrt of an int is a float)"
    INT = "an integer tensor (indices, ids); a float here is an error, not a silent truncation"
    BOOL = "a boolean tensor (a condition)"
    ANY = "a tensor of any dtype, passed through unchanged"
    SAME = "values of one dtype: promoted like num, except that booleans stay booleans"
    AXIS = "a constant int (or None)"
    AXES = "a constant int, a tuple of them, or None"
    COUNT = "a constant int (a length, a depth, a number of segments)"
    FLAG = "a constant bool"
    NUMBER = "a constant int or float"
    SHAPE = "a constant tuple of ints (-1 allowed once)"
    DTYPE = "a dtype name: float (the metric's dtype), float16, bfloat16, float32, float64, int32, int64, bool"

    @property
    def is_tensor(self) -> bool:
        return self in (Kind.NUM, Kind.FLOAT, Kind.INT, Kind.BOOL, Kind.ANY, Kind.SAME)


_REQUIRED = object()


@dataclass(frozen=True)
class Arg:
    name: str
    kind: Kind
    default: object = _REQUIRED  # a Python value (None, 0, False, ...), or _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    @property
    def default_code(self) -> str:
        return repr(self.default)


@dataclass(frozen=True)
class Resolved:
    """What a result rule sees: the dtypes the analyser settled the call's arguments to."""

    numeric: str  # the common dtype of the num/float arguments (float when any argument is a float kind)
    same: str  # the common dtype of the `same` arguments
    dtypes: Mapping[str, Optional[str]]  # each tensor argument's dtype, a dtype argument's name; None: not given


ResultRule = Callable[[Resolved], str]


def numeric(r: Resolved) -> str:
    return r.numeric


def same(r: Resolved) -> str:
    return r.same


def boolean(r: Resolved) -> str:
    return "bool"


def int32(r: Resolved) -> str:
    return "int32"


def compute(r: Resolved) -> str:
    """The metric's own float dtype."""
    return FLOAT


def dtype_of(name: str, otherwise: str = FLOAT) -> ResultRule:
    """The dtype of argument ``name`` (``otherwise`` when it was not given)."""
    return lambda r: r.dtypes.get(name) or otherwise


# -- lowerings ---------------------------------------------------------------------------------------------


class Args:
    """The code of a call's arguments, by signature name, for a lowering function: ``a["x"]`` as it stands
    between commas, ``a.atom("x")`` parenthesised where it would bind looser than an operator next to it."""

    def __init__(
        self,
        codes: dict[str, str],
        atoms: dict[str, str],
        omitted: set[str],
        out_dtype: str,
        dtype: str,
        numbers: frozenset[str] = frozenset(),
    ):
        self.codes = codes
        self.atoms = atoms
        self.omitted = omitted
        self.out_dtype = out_dtype  # the result's dtype, as code for the target (self.dtype, tf.int32, ...)
        self.dtype = dtype  # the result's dtype name (float, int32, ...)
        self.numbers = numbers  # the operands written as Python numbers (a target's scalar_operands)

    def __getitem__(self, name: str) -> str:
        return self.codes[name]

    def atom(self, name: str) -> str:
        return self.atoms[name]

    def given(self, name: str) -> bool:
        return name not in self.omitted


@dataclass(frozen=True)
class Given:
    """An argument written only where the spec gave it."""

    name: str


@dataclass(frozen=True)
class Code:
    """Code written as it is (a literal keyword value)."""

    text: str


OUT_DTYPE = Code("{out_dtype}")


def given(name: str) -> Given:
    return Given(name)


Part = Union[str, Given, Code, Callable[[Args], str]]


@dataclass(frozen=True)
class Call:
    """``fn(a, b, key=c)``: each argument a signature name (str), :class:`Given`, :class:`Code`, or a function
    of :class:`Args` giving code."""

    fn: str
    positional: tuple[Part, ...] = ()
    keywords: tuple[tuple[str, Part], ...] = ()

    def __call__(self, a: Args) -> str:
        parts = [self._code(p, a) for p in self.positional if self._written(p, a)]
        parts += [f"{key}={self._code(p, a)}" for key, p in self.keywords if self._written(p, a)]
        return f"{self.fn}({', '.join(parts)})"

    @staticmethod
    def _written(part: Part, a: Args) -> bool:
        return not isinstance(part, Given) or a.given(part.name)

    @staticmethod
    def _code(part: Part, a: Args) -> str:
        if isinstance(part, Code):
            return a.out_dtype if part is OUT_DTYPE else part.text
        if isinstance(part, (str, Given)):
            return a[part.name if isinstance(part, Given) else part]
        return part(a)


def call(fn: str, *positional: Part, **keywords: Part) -> Call:
    return Call(fn, positional, tuple(keywords.items()))


Lowering = Callable[[Args], str]


# -- lowerings any column may share (a target's own spellings live in its column's module) --------------------

SAMPLE_WEIGHT = Code("sample_weight")  # the batch's weights, as the update method names them


def reduce_call(fn: str) -> Call:
    """A reduction called numpy's way, ``fn(x, axis=..., keepdims=...)``, each keyword only where given."""
    return call(fn, "x", axis=given("axis"), keepdims=given("keepdims"))


def static_choice(flag: str, if_true: str, if_false: str) -> str:
    """Code choosing by a constant flag: resolved here for literals, when the metric is traced otherwise."""
    return {"True": if_true, "False": if_false}.get(flag, f"({if_true} if {flag} else {if_false})")


def bincount_as_segment_sum(ones_like: str) -> Lowering:
    """bincount as a segment sum of the weights (``ones_like``: the target's function, where none are given),
    which drops values outside 0..length-1 on every backend (tf.math.bincount fails on negative values)."""

    def lower(a: Args) -> str:
        weights = a["weights"] if a.given("weights") else f"{ones_like}({a['x']}, dtype={a.out_dtype})"
        return f"_segment_sum({weights}, {a['x']}, {a['length']})"

    return lower


# -- the table ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[Arg, ...]
    result: ResultRule
    doc: str
    # Whether the function reads the batch's sample weights (only meaningful inside `update`).
    uses_sample_weight: bool = False
    # Written by a pass (metricgen/passes/), never by a spec: expressions cannot call it.
    internal: bool = False

    @property
    def signature(self) -> str:
        parts = [a.name if a.required else f"{a.name}={a.default_code}" for a in self.args]
        return f"{self.name}({', '.join(parts)})"

    @property
    def floating(self) -> bool:
        """Whether its numeric arguments are made float (any argument of kind float)."""
        return any(a.kind is Kind.FLOAT for a in self.args)


REGISTRY: dict[str, Function] = {}


def define(
    name: str,
    args: tuple[Arg, ...],
    result: ResultRule,
    doc: str,
    *,
    uses_sample_weight: bool = False,
    internal: bool = False,
) -> Function:
    """Registers a function (how each target writes it is in that target's column)."""
    function = Function(name, args, result, doc, uses_sample_weight, internal)
    REGISTRY[name] = function
    return function


def _x(kind: Kind = Kind.NUM) -> Arg:
    return Arg("x", kind)


def _reduction(kind: Kind = Kind.NUM) -> tuple[Arg, ...]:
    return (_x(kind), Arg("axis", Kind.AXES, None), Arg("keepdims", Kind.FLAG, False))


# --- reductions --------------------------------------------------------------------------------------------
define("sum", _reduction(), numeric, "Sum over `axis` (all axes by default).")
define("mean", _reduction(Kind.FLOAT), numeric, "Mean over `axis` (NaN for an empty tensor).")
define(
    "max",
    _reduction(),
    numeric,
    "Maximum over `axis` (of nothing: the dtype's lowest value, -inf for floats).",
)
define(
    "min",
    _reduction(),
    numeric,
    "Minimum over `axis` (of nothing: the dtype's highest value, inf for floats).",
)
define("prod", _reduction(), numeric, "Product over `axis`.")
define("any", _reduction(Kind.BOOL), boolean, "Logical or over `axis`.")
define("all", _reduction(Kind.BOOL), boolean, "Logical and over `axis`.")
define(
    "cumsum",
    (_x(), Arg("axis", Kind.AXIS, 0), Arg("reverse", Kind.FLAG, False), Arg("exclusive", Kind.FLAG, False)),
    numeric,
    "Cumulative sum along `axis`; `reverse=True` sums from the end, `exclusive=True` leaves each element out.",
)

# --- sample weighting (Keras-style broadcasting of `sample_weight`) -----------------------------------------
define(
    "weighted_sum",
    (_x(Kind.FLOAT),),
    numeric,
    "Σ x·w, with `sample_weight` brought to x's rank and broadcast as Keras does (Σ x without weights).",
    uses_sample_weight=True,
)
define(
    "weighted_count",
    (_x(Kind.ANY),),
    compute,
    "Σ w over the elements of x (their number without weights): the denominator of a weighted mean.",
    uses_sample_weight=True,
)
define(
    "samplewise_sum",
    (_x(Kind.FLOAT),),
    numeric,
    "Σ over samples of w·(the sample's mean over its trailing axes), as keras.metrics.Mean sums: a weight of "
    "shape [batch] weighs each sample, one of x's shape each element, a scalar the batch's mean once.",
    uses_sample_weight=True,
)
define(
    "samplewise_count",
    (_x(Kind.ANY),),
    compute,
    "Σ over samples of the mean of the sample's weights, as keras.metrics.Mean counts: the number of samples "
    "without weights (1 for a scalar x), the weight itself for a scalar weight.",
    uses_sample_weight=True,
)
define(
    "sample_weights",
    (_x(Kind.ANY),),
    compute,
    "The batch's sample weights broadcast to x's shape, Keras-style (ones without weights).",
    uses_sample_weight=True,
)

define(
    "weighted_sum_of_pair",
    (Arg("a", Kind.FLOAT), Arg("b", Kind.FLOAT), Arg("subtract", Kind.FLAG, False)),
    numeric,
    "weighted_sum(a + b), or weighted_sum(a - b) with subtract=True, without building a ± b where it can.",
    uses_sample_weight=True,
    internal=True,  # see metricgen/passes/split_weighted_sum.py
)

# --- element-wise math -------------------------------------------------------------------------------------
for _name in ("abs", "sign", "square", "negative"):
    define(_name, (_x(),), numeric, f"Element-wise {_name}.")
for _name in ("sqrt", "log", "log1p", "exp", "floor", "ceil", "round", "sigmoid"):
    define(
        _name,
        (_x(Kind.FLOAT),),
        numeric,
        f"Element-wise {_name} (ints become floats{'; halves round to even' if _name == 'round' else ''}).",
    )
define("softplus", (_x(Kind.FLOAT),), numeric, "Element-wise softplus (log(1 + exp(x))).")
define("rsqrt", (_x(Kind.FLOAT),), numeric, "Element-wise rsqrt (1 / sqrt(x)).")
define("isnan", (_x(Kind.FLOAT),), boolean, "Element-wise: whether x is NaN.")
define("isinf", (_x(Kind.FLOAT),), boolean, "Element-wise: whether x is infinite.")
define(
    "softmax",
    (_x(Kind.FLOAT), Arg("axis", Kind.AXIS, -1)),
    numeric,
    "exp(x) / sum(exp(x)) along `axis`, computed stably (probabilities from logits).",
)
define(
    "log_softmax",
    (_x(Kind.FLOAT), Arg("axis", Kind.AXIS, -1)),
    numeric,
    "log(softmax(x)) along `axis`, computed stably.",
)
define(
    "logsumexp",
    _reduction(Kind.FLOAT),
    numeric,
    "log(Σ exp(x)) over `axis` (all axes by default), computed stably.",
)
define("clip", (_x(), Arg("lo", Kind.NUM), Arg("hi", Kind.NUM)), numeric, "x limited to [lo, hi].")
_PAIR = (Arg("a", Kind.NUM), Arg("b", Kind.NUM))
define("maximum", _PAIR, numeric, "Element-wise maximum.")
define("minimum", _PAIR, numeric, "Element-wise minimum.")
define(
    "safe_div",
    (Arg("a", Kind.FLOAT), Arg("b", Kind.FLOAT)),
    numeric,
    "a / b, and 0 where b is 0 (the `/` operator does the same).",
)
define(
    "true_divide",
    (Arg("a", Kind.FLOAT), Arg("b", Kind.FLOAT)),
    numeric,
    "a / b as IEEE division: inf or NaN where b is 0 (where `/` and safe_div give 0).",
)
define(
    "where",
    (Arg("cond", Kind.BOOL), Arg("a", Kind.SAME), Arg("b", Kind.SAME)),
    same,
    "a where cond holds, else b (element-wise; `a if cond else b` is the same).",
)
define(
    "concat",
    (Arg("a", Kind.SAME), Arg("b", Kind.SAME), Arg("axis", Kind.AXIS, -1)),
    same,
    "a and b joined along `axis` (nest it to join more).",
)
define(
    "stack",
    (Arg("a", Kind.SAME), Arg("b", Kind.SAME), Arg("axis", Kind.AXIS, -1)),
    same,
    "concat(a[..., None], b[..., None]): a and b stacked along a new last axis.",
    internal=True,  # written by the lowering for such a concat (lowering.Printer.emit_Apply)
)
define("matmul", _PAIR, numeric, "Matrix product (batched over leading axes).")

# --- indices, ranks and shapes -----------------------------------------------------------------------------
_ARG_INDEX = (_x(), Arg("axis", Kind.AXIS, -1))
define("argmax", _ARG_INDEX, int32, "Index of the largest value along `axis` (int32).")
define("argmin", _ARG_INDEX, int32, "Index of the smallest value along `axis` (int32).")
define(
    "argsort",
    _ARG_INDEX + (Arg("descending", Kind.FLAG, False),),
    int32,
    "Indices that sort x along `axis` (int32); stable: ties keep their order, in both directions, on every target.",
)
define(
    "sort",
    (_x(), Arg("axis", Kind.AXIS, -1), Arg("descending", Kind.FLAG, False)),
    numeric,
    "x sorted along `axis`.",
)
define(
    "rankdata",
    (_x(Kind.FLOAT), Arg("axis", Kind.AXIS, -1)),
    numeric,
    "Each value's rank along `axis`, 1 for the smallest; tied values share the mean of their ranks "
    "(scipy.stats.rankdata's 'average'). A NaN's rank is NaN, and it ranks above every number, +inf too "
    "(scipy's nan_policy='omit').",
)
define(
    "top_k",
    (_x(), Arg("k", Kind.COUNT)),
    numeric,
    "The k largest values of each row (last axis), largest first.",
)
define(
    "in_top_k",
    (Arg("targets", Kind.INT), Arg("predictions", Kind.NUM), Arg("k", Kind.COUNT)),
    boolean,
    "Whether each row's target class is among its k largest predictions (a tie at the k-th place counts in, "
    "as tf.math.in_top_k); a target out of range, or a row with a non-finite score, is not in.",
)
define("one_hot", (Arg("indices", Kind.INT), Arg("depth", Kind.COUNT)), compute, "One-hot rows of length `depth`.")
define(
    "gather",
    (_x(Kind.ANY), Arg("indices", Kind.INT), Arg("axis", Kind.AXIS, 0)),
    dtype_of("x"),
    "Entries of x at `indices` along `axis`; indices of any shape pick the same entries for every other position "
    "of x (for each row's own indices, use take_along_axis).",
)
define(
    "take_along_axis",
    (_x(Kind.ANY), Arg("indices", Kind.INT), Arg("axis", Kind.AXIS, -1)),
    dtype_of("x"),
    "Entries of x picked along `axis` by indices of x's rank, row by row (numpy's take_along_axis): "
    "take_along_axis(y_true, argsort(y_pred)[..., :k]) is each row's labels at its own top scores.",
)
define(
    "reshape",
    (_x(Kind.ANY), Arg("shape", Kind.SHAPE)),
    dtype_of("x"),
    "x with a new shape (one entry may be -1).",
)
define(
    "batch_flatten",
    (_x(Kind.ANY),),
    dtype_of("x"),
    "x as rows, [its first axis, the product of the others]: a reduction over every axis but the first, whatever "
    "the rank (`all(batch_flatten(right), axis=1)`: a sample is right where all its elements are).",
)
define(
    "transpose",
    (_x(Kind.ANY), Arg("perm", Kind.SHAPE, None)),
    dtype_of("x"),
    "x with its axes permuted (reversed by default).",
)
define("expand_dims", (_x(Kind.ANY), Arg("axis", Kind.AXIS)), dtype_of("x"), "x with a new axis of size 1.")
define("squeeze", (_x(Kind.ANY), Arg("axis", Kind.AXES, None)), dtype_of("x"), "x without its axes of size 1.")
define("flip", (_x(Kind.ANY), Arg("axis", Kind.AXIS)), dtype_of("x"), "x reversed along `axis`.")
define("size", (_x(Kind.ANY),), int32, "Number of elements of x.")
define("shape", (_x(Kind.ANY), Arg("axis", Kind.AXIS)), int32, "Size of x along `axis`.")
define(
    "ones_like",
    (_x(Kind.ANY),),
    dtype_of("x"),
    "Ones of x's shape and dtype: cumsum(ones_like(i), axis=-1) - 1 numbers the positions along an axis.",
)
define(
    "ones_like_as",
    (_x(Kind.ANY), Arg("dtype", Kind.DTYPE)),
    dtype_of("dtype"),
    "Ones of x's shape and the given dtype: ones_like(cast(x, dtype)) without the cast's copy of x.",
    internal=True,  # see metricgen/passes/ones_without_cast.py
)
define(
    "arange",
    (Arg("start", Kind.COUNT), Arg("stop", Kind.COUNT, None), Arg("step", Kind.COUNT, 1)),
    int32,
    "Integers start, start+step, ... below stop.",
)
define(
    "linspace",
    (Arg("start", Kind.FLOAT), Arg("stop", Kind.FLOAT), Arg("num", Kind.COUNT)),
    numeric,
    "`num` evenly spaced values from start to stop.",
)

# --- counting and bucketing (fixed-size output, so they stream and compile under XLA) ---------------------
define(
    "bucketize",
    (_x(), Arg("edges", Kind.NUM)),
    int32,
    "How many of `edges` (one axis, in any order) are at or below each x: its bin, 0 below every edge, len(edges) "
    "at or past the last; NaN is past every edge (as numpy's searchsorted and torch.bucketize put it).",
)
define(
    "bucketize_sorted",
    (_x(), Arg("edges", Kind.NUM)),
    int32,
    "bucketize(x, edges) of edges known to ascend: no sort of them first.",
    internal=True,  # see metricgen/passes/sorted_edges.py
)
define(
    "bincount",
    (Arg("x", Kind.INT), Arg("length", Kind.COUNT), Arg("weights", Kind.NUM, None)),
    dtype_of("weights"),
    "Counts (or weight sums) of each value 0..length-1 in x; values outside are dropped.",
)
define(
    "count_ids",
    (Arg("x", Kind.INT), Arg("length", Kind.COUNT)),
    compute,
    "bincount(x, length) without weights, where a target counts without a tensor of ones.",
    internal=True,  # see metricgen/passes/unweighted_counts.py
)
define(
    "sum_of_ones",
    _reduction(Kind.ANY),
    compute,
    "sum(ones_like(x), axis) without the ones: how many of x's elements each sum counts.",
    internal=True,  # see metricgen/passes/unweighted_counts.py
)
define(
    "segment_sum",
    (Arg("data", Kind.NUM), Arg("ids", Kind.INT), Arg("num_segments", Kind.COUNT)),
    numeric,
    "Sums of data grouped by ids in 0..num_segments-1 (ids outside are dropped).",
)
define(
    "shifted_ids",
    (Arg("ids", Kind.INT), Arg("num_segments", Kind.COUNT)),
    int32,
    "ids shifted by one for the sums below, those outside 0..num_segments-1 sent to two segments they drop.",
    internal=True,  # see metricgen/passes/shift_ids_once.py
)
define(
    "segment_sum_shifted",
    (Arg("data", Kind.NUM), Arg("shifted", Kind.INT), Arg("num_segments", Kind.COUNT)),
    numeric,
    "segment_sum(data, ids, num_segments) of shifted_ids(ids, num_segments).",
    internal=True,  # see metricgen/passes/shift_ids_once.py
)
define(
    "count_shifted",
    (Arg("shifted", Kind.INT), Arg("length", Kind.COUNT)),
    compute,
    "count_ids(ids, length) of shifted_ids(ids, length).",
    internal=True,  # see metricgen/passes/shift_ids_once.py
)

# --- dtypes ------------------------------------------------------------------------------------------------
define("cast", (_x(Kind.ANY), Arg("dtype", Kind.DTYPE)), dtype_of("dtype"), "x converted to `dtype`.")

# Functions that take constants only and give a constant (evaluated in Python, at build time of the metric).
STATIC_FUNCTIONS = {
    "len": "Length of a list param (a constant int).",
    "is_list": "Whether a float|list[float] param was given a list (a constant; the result can then keep its "
    "thresholds axis, or drop it for one number).",
    "has_sample_weight": "Whether the batch came with sample weights: a constant when the metric is traced "
    "(update only).",
    "rank": "Number of axes of a tensor, known when the metric is traced (a branch on it is chosen then).",
    "filled": "Which rows of a sample buffer (a state with rows:) hold samples: a bool vector as long as the rows "
    "read (its capacity; the rows held where a target reads only those, unfilled: ignored).",
}


@dataclass(frozen=True)
class Constant:
    """A named constant of the language; each target spells its value (see Target.constants)."""

    dtype: str
    doc: str


CONSTANTS = {
    "epsilon": Constant("float", "Keras' fuzz factor (1e-7 unless changed with keras.config.set_epsilon)."),
    "pi": Constant("float", "π."),
    "inf": Constant("float", "Positive infinity."),
    "nan": Constant("float", "Not a number: a result that has no value (a compiled step cannot raise)."),
}

DTYPE_NAMES = ("float", "float16", "bfloat16", "float32", "float64", "int32", "int64", "bool")
