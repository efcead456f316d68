"""The table of functions an expression may call: signature, result dtype, and one lowering per target.

Each entry is typed Python. Its ``lowerings`` map a target's name to how the call is written for that target
(one column per target); a target without a column for a function cannot express it, and lowering for that
target refuses the call with its location. Adding a target means adding its column here.

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
from dataclasses import dataclass, field
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

    def __init__(self, codes: dict[str, str], atoms: dict[str, str], omitted: set[str], out_dtype: str, dtype: str):
        self.codes = codes
        self.atoms = atoms
        self.omitted = omitted
        self.out_dtype = out_dtype  # the result's dtype, as code for the target (self.dtype, tf.int32, ...)
        self.dtype = dtype  # the result's dtype name (float, int32, ...)

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


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[Arg, ...]
    result: ResultRule
    doc: str
    lowerings: dict[str, Lowering] = field(default_factory=dict)  # target name -> lowering
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
    **lowerings: Lowering,
) -> Function:
    """Registers a function; ``lowerings`` are its columns, by target name."""
    function = Function(name, args, result, doc, dict(lowerings), uses_sample_weight, internal)
    REGISTRY[name] = function
    return function


def _x(kind: Kind = Kind.NUM) -> Arg:
    return Arg("x", kind)


def _reduction(kind: Kind = Kind.NUM) -> tuple[Arg, ...]:
    return (_x(kind), Arg("axis", Kind.AXES, None), Arg("keepdims", Kind.FLAG, False))


def _reduce(fn: str) -> Call:
    return call(fn, "x", axis=given("axis"), keepdims=given("keepdims"))


def _torch_reduce(fn: str) -> Lowering:
    """A torch reduction over `axis` (every axis by default): torch takes keepdim only beside dim."""

    def lower(a: Args) -> str:
        if not a.given("keepdims"):
            return call(fn, "x", dim=given("axis"))(a)
        return call(fn, "x", dim="axis", keepdim="keepdims")(a)

    return lower


def _torch_int32(lowering: Lowering) -> Lowering:
    """torch's index functions give int64 where the language promises int32."""
    return lambda a: f"{lowering(a)}.to(torch.int32)"


def _static_choice(flag: str, if_true: str, if_false: str) -> str:
    """Code choosing by a constant flag: resolved here for literals, when the metric is traced otherwise."""
    return {"True": if_true, "False": if_false}.get(flag, f"({if_true} if {flag} else {if_false})")


def _bound(dtype: str, highest: bool) -> str:
    """What tf.reduce_max/min give for no values: the dtype's lowest (highest) value, -inf (inf) for floats."""
    if dtype in ("int32", "int64"):
        bits = 31 if dtype == "int32" else 63
        return str(2**bits - 1) if highest else str(-(2**bits))
    return 'float("inf")' if highest else '-float("inf")'


def _keras_extreme(largest: bool) -> Call:
    """ops.max/min, with tf's value for an empty tensor (see _extreme in templates/helpers_keras.py)."""
    return call("_extreme", "x", "axis", "keepdims", Code(str(largest)), lambda a: _bound(a.dtype, not largest))


# --- reductions --------------------------------------------------------------------------------------------
define(
    "sum",
    _reduction(),
    numeric,
    "Sum over `axis` (all axes by default).",
    tf=_reduce("tf.reduce_sum"),
    keras=_reduce("ops.sum"),
    torchmetrics=_torch_reduce("torch.sum"),
)
define(
    "mean",
    _reduction(Kind.FLOAT),
    numeric,
    "Mean over `axis` (NaN for an empty tensor).",
    tf=_reduce("tf.reduce_mean"),
    keras=_reduce("ops.mean"),
    torchmetrics=_torch_reduce("torch.mean"),
)
define(
    "max",
    _reduction(),
    numeric,
    "Maximum over `axis` (of nothing: the dtype's lowest value, -inf for floats).",
    tf=_reduce("tf.reduce_max"),
    keras=_keras_extreme(largest=True),
    torchmetrics=call("_extreme", "x", "axis", "keepdims", largest=Code("True")),
)
define(
    "min",
    _reduction(),
    numeric,
    "Minimum over `axis` (of nothing: the dtype's highest value, inf for floats).",
    tf=_reduce("tf.reduce_min"),
    keras=_keras_extreme(largest=False),
    torchmetrics=call("_extreme", "x", "axis", "keepdims", largest=Code("False")),
)
define(
    "prod",
    _reduction(),
    numeric,
    "Product over `axis`.",
    tf=_reduce("tf.reduce_prod"),
    keras=_reduce("ops.prod"),
    torchmetrics=call("_prod", "x", "axis", "keepdims"),
)
define(
    "any",
    _reduction(Kind.BOOL),
    boolean,
    "Logical or over `axis`.",
    tf=_reduce("tf.reduce_any"),
    keras=_reduce("ops.any"),
    torchmetrics=_torch_reduce("torch.any"),
)
define(
    "all",
    _reduction(Kind.BOOL),
    boolean,
    "Logical and over `axis`.",
    tf=_reduce("tf.reduce_all"),
    keras=_reduce("ops.all"),
    torchmetrics=_torch_reduce("torch.all"),
)
define(
    "cumsum",
    (_x(), Arg("axis", Kind.AXIS, 0), Arg("reverse", Kind.FLAG, False), Arg("exclusive", Kind.FLAG, False)),
    numeric,
    "Cumulative sum along `axis`; `reverse=True` sums from the end, `exclusive=True` leaves each element out.",
    tf=call("tf.cumsum", "x", axis="axis", exclusive=given("exclusive"), reverse=given("reverse")),
    keras=call("_cumsum", "x", "axis", "reverse", "exclusive"),
    torchmetrics=call("_cumsum", "x", "axis", "reverse", "exclusive"),
)

# --- sample weighting (Keras-style broadcasting of `sample_weight`) -----------------------------------------
_SAMPLE_WEIGHT = Code("sample_weight")
define(
    "weighted_sum",
    (_x(Kind.FLOAT),),
    numeric,
    "Σ x·w, with `sample_weight` brought to x's rank and broadcast as Keras does (Σ x without weights).",
    tf=call("_weighted_sum", "x", _SAMPLE_WEIGHT),
    keras=call("_weighted_sum", "x", _SAMPLE_WEIGHT),
    torchmetrics=call("_weighted_sum", "x", _SAMPLE_WEIGHT),
    uses_sample_weight=True,
)
define(
    "weighted_count",
    (_x(Kind.ANY),),
    compute,
    "Σ w over the elements of x (their number without weights): the denominator of a weighted mean.",
    tf=call("_weighted_count", "x", _SAMPLE_WEIGHT, OUT_DTYPE),
    keras=call("_weighted_count", "x", _SAMPLE_WEIGHT, OUT_DTYPE),
    torchmetrics=call("_weighted_count", "x", _SAMPLE_WEIGHT, OUT_DTYPE),
    uses_sample_weight=True,
)
define(
    "sample_weights",
    (_x(Kind.ANY),),
    compute,
    "The batch's sample weights broadcast to x's shape, Keras-style (ones without weights).",
    tf=call("_weights_like", "x", _SAMPLE_WEIGHT, OUT_DTYPE),
    keras=call("_weights_like", "x", _SAMPLE_WEIGHT, OUT_DTYPE),
    torchmetrics=call("_weights_like", "x", _SAMPLE_WEIGHT, OUT_DTYPE),
    uses_sample_weight=True,
)

define(
    "weighted_sum_of_pair",
    (Arg("a", Kind.FLOAT), Arg("b", Kind.FLOAT), Arg("subtract", Kind.FLAG, False)),
    numeric,
    "weighted_sum(a + b), or weighted_sum(a - b) with subtract=True, without building a ± b where it can.",
    uses_sample_weight=True,
    internal=True,  # see metricgen/passes/split_weighted_sum.py
    tf=call("_weighted_sum_of_pair", "a", "b", _SAMPLE_WEIGHT, subtract=given("subtract")),
)

# --- element-wise math -------------------------------------------------------------------------------------
for _name, _tf, _keras in [
    ("abs", "tf.abs", "ops.abs"),
    ("sign", "tf.sign", "ops.sign"),
    ("square", "tf.square", "ops.square"),
    ("negative", "tf.negative", "ops.negative"),
]:
    define(
        _name,
        (_x(),),
        numeric,
        f"Element-wise {_name}.",
        tf=call(_tf, "x"),
        keras=call(_keras, "x"),
        torchmetrics=call(f"torch.{_name}", "x"),
    )
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
    define(
        _name,
        (_x(Kind.FLOAT),),
        numeric,
        f"Element-wise {_name} (ints become floats{'; halves round to even' if _name == 'round' else ''}).",
        tf=call(_tf, "x"),
        keras=call(_keras, "x"),
        torchmetrics=call(f"torch.{_name}", "x"),
    )
for _name, _tf, _keras, _torch in [
    ("softplus", "tf.math.softplus", "ops.softplus", "torch.nn.functional.softplus"),
    ("rsqrt", "tf.math.rsqrt", "ops.rsqrt", "torch.rsqrt"),
]:
    define(
        _name,
        (_x(Kind.FLOAT),),
        numeric,
        f"Element-wise {_name} ({'log(1 + exp(x))' if _name == 'softplus' else '1 / sqrt(x)'}).",
        tf=call(_tf, "x"),
        keras=call(_keras, "x"),
        torchmetrics=call(_torch, "x"),
    )
for _name, _tf in [("isnan", "tf.math.is_nan"), ("isinf", "tf.math.is_inf")]:
    define(
        _name,
        (_x(Kind.FLOAT),),
        boolean,
        f"Element-wise: whether x is {'NaN' if _name == 'isnan' else 'infinite'}.",
        tf=call(_tf, "x"),
        keras=call(f"ops.{_name}", "x"),
        torchmetrics=call(f"torch.{_name}", "x"),
    )
define(
    "log_softmax",
    (_x(Kind.FLOAT), Arg("axis", Kind.AXIS, -1)),
    numeric,
    "log(softmax(x)) along `axis`, computed stably.",
    tf=call("tf.nn.log_softmax", "x", axis="axis"),
    keras=call("ops.log_softmax", "x", axis="axis"),
    torchmetrics=call("torch.log_softmax", "x", dim="axis"),
)
define(
    "logsumexp",
    _reduction(Kind.FLOAT),
    numeric,
    "log(Σ exp(x)) over `axis` (all axes by default), computed stably.",
    tf=_reduce("tf.math.reduce_logsumexp"),
    keras=_reduce("ops.logsumexp"),
    torchmetrics=lambda a: "torch.logsumexp({}, dim={}{})".format(
        a["x"],
        a["axis"] if a.given("axis") else f"tuple(range({a.atom('x')}.dim()))",
        f", keepdim={a['keepdims']}" if a.given("keepdims") else "",
    ),
)
define(
    "clip",
    (_x(), Arg("lo", Kind.NUM), Arg("hi", Kind.NUM)),
    numeric,
    "x limited to [lo, hi].",
    tf=call("tf.clip_by_value", "x", "lo", "hi"),
    keras=call("ops.clip", "x", "lo", "hi"),
    torchmetrics=call("torch.clamp", "x", "lo", "hi"),
)
_PAIR = (Arg("a", Kind.NUM), Arg("b", Kind.NUM))
define(
    "maximum",
    _PAIR,
    numeric,
    "Element-wise maximum.",
    tf=call("tf.maximum", "a", "b"),
    keras=call("ops.maximum", "a", "b"),
    torchmetrics=call("torch.maximum", "a", "b"),
)
define(
    "minimum",
    _PAIR,
    numeric,
    "Element-wise minimum.",
    tf=call("tf.minimum", "a", "b"),
    keras=call("ops.minimum", "a", "b"),
    torchmetrics=call("torch.minimum", "a", "b"),
)
define(
    "safe_div",
    (Arg("a", Kind.FLOAT), Arg("b", Kind.FLOAT)),
    numeric,
    "a / b, and 0 where b is 0 (the `/` operator does the same).",
    tf=call("tf.math.divide_no_nan", "a", "b"),
    keras=call("ops.divide_no_nan", "a", "b"),
    torchmetrics=call("_divide_no_nan", "a", "b"),
)
define(
    "true_divide",
    (Arg("a", Kind.FLOAT), Arg("b", Kind.FLOAT)),
    numeric,
    "a / b as IEEE division: inf or NaN where b is 0 (where `/` and safe_div give 0).",
    tf=call("tf.math.truediv", "a", "b"),
    keras=call("ops.true_divide", "a", "b"),
    torchmetrics=call("torch.true_divide", "a", "b"),
)
define(
    "where",
    (Arg("cond", Kind.BOOL), Arg("a", Kind.SAME), Arg("b", Kind.SAME)),
    same,
    "a where cond holds, else b (element-wise; `a if cond else b` is the same).",
    tf=call("tf.where", "cond", "a", "b"),
    keras=call("ops.where", "cond", "a", "b"),
    torchmetrics=call("torch.where", "cond", "a", "b"),
)
define(
    "concat",
    (Arg("a", Kind.SAME), Arg("b", Kind.SAME), Arg("axis", Kind.AXIS, -1)),
    same,
    "a and b joined along `axis` (nest it to join more).",
    tf=lambda a: f"tf.concat([{a['a']}, {a['b']}], axis={a['axis']})",
    keras=lambda a: f"ops.concatenate([{a['a']}, {a['b']}], axis={a['axis']})",
    torchmetrics=lambda a: f"torch.cat([{a['a']}, {a['b']}], dim={a['axis']})",
)
define(
    "matmul",
    _PAIR,
    numeric,
    "Matrix product (batched over leading axes).",
    tf=call("_matmul", "a", "b"),  # see the helper: never a broadcast batch matmul
    keras=call("ops.matmul", "a", "b"),
    torchmetrics=call("torch.matmul", "a", "b"),
)

# --- indices, ranks and shapes -----------------------------------------------------------------------------


def _int32(lowering: Lowering) -> Lowering:
    """keras.ops gives int64 (or the backend's default int) where the language promises int32."""
    return lambda a: f'ops.cast({lowering(a)}, "int32")'


_ARG_INDEX = (_x(), Arg("axis", Kind.AXIS, -1))
define(
    "argmax",
    _ARG_INDEX,
    int32,
    "Index of the largest value along `axis` (int32).",
    tf=call("tf.argmax", "x", axis="axis", output_type=Code("tf.int32")),
    keras=_int32(call("ops.argmax", "x", axis="axis")),
    torchmetrics=_torch_int32(call("torch.argmax", "x", dim="axis")),
)
define(
    "argmin",
    _ARG_INDEX,
    int32,
    "Index of the smallest value along `axis` (int32).",
    tf=call("tf.argmin", "x", axis="axis", output_type=Code("tf.int32")),
    keras=_int32(call("ops.argmin", "x", axis="axis")),
    torchmetrics=_torch_int32(call("torch.argmin", "x", dim="axis")),
)
define(
    "argsort",
    _ARG_INDEX + (Arg("descending", Kind.FLAG, False),),
    int32,
    "Indices that sort x along `axis` (int32); stable: ties keep their order, in both directions, on every target.",
    tf=lambda a: "tf.argsort({}, axis={}, direction={}, stable=True)".format(
        a["x"], a["axis"], _static_choice(a.atom("descending"), '"DESCENDING"', '"ASCENDING"')
    ),
    keras=lambda a: 'ops.cast(ops.argsort({}, axis={}), "int32")'.format(
        _static_choice(a.atom("descending"), f"ops.negative({a['x']})", a["x"]), a["axis"]
    ),
    torchmetrics=_torch_int32(call("torch.argsort", "x", dim="axis", descending="descending", stable=Code("True"))),
)
define(
    "sort",
    (_x(), Arg("axis", Kind.AXIS, -1), Arg("descending", Kind.FLAG, False)),
    numeric,
    "x sorted along `axis`.",
    tf=lambda a: "tf.sort({}, axis={}, direction={})".format(
        a["x"], a["axis"], _static_choice(a.atom("descending"), '"DESCENDING"', '"ASCENDING"')
    ),
    keras=lambda a: _static_choice(
        a.atom("descending"),
        f"ops.flip(ops.sort({a['x']}, axis={a['axis']}), axis={a['axis']})",
        f"ops.sort({a['x']}, axis={a['axis']})",
    ),
    torchmetrics=lambda a: f"torch.sort({a['x']}, dim={a['axis']}, descending={a['descending']}).values",
)
define(
    "top_k",
    (_x(), Arg("k", Kind.COUNT)),
    numeric,
    "The k largest values of each row (last axis), largest first.",
    tf=lambda a: f"tf.math.top_k({a['x']}, k={a['k']}).values",
    keras=lambda a: f"ops.top_k({a['x']}, k={a['k']})[0]",
    torchmetrics=lambda a: f"torch.topk({a['x']}, k={a['k']}).values",
)
define(
    "in_top_k",
    (Arg("targets", Kind.INT), Arg("predictions", Kind.NUM), Arg("k", Kind.COUNT)),
    boolean,
    "Whether each row's target class is among its k largest predictions (a tie at the k-th place counts in, "
    "as tf.math.in_top_k); a target out of range, or a row with a non-finite score, is not in.",
    tf=call("_in_top_k", "targets", "predictions", "k"),
    keras=call("_in_top_k", "targets", "predictions", "k"),
    torchmetrics=call("_in_top_k", "targets", "predictions", "k"),
)
define(
    "one_hot",
    (Arg("indices", Kind.INT), Arg("depth", Kind.COUNT)),
    compute,
    "One-hot rows of length `depth`.",
    tf=call("tf.one_hot", "indices", "depth", dtype=OUT_DTYPE),
    keras=call("ops.one_hot", "indices", "depth", dtype=OUT_DTYPE),
    torchmetrics=call("_one_hot", "indices", "depth", OUT_DTYPE),
)
define(
    "gather",
    (_x(Kind.ANY), Arg("indices", Kind.INT), Arg("axis", Kind.AXIS, 0)),
    dtype_of("x"),
    "Entries of x at `indices` along `axis`; indices of any shape pick the same entries for every other position "
    "of x (for each row's own indices, use take_along_axis).",
    tf=call("tf.gather", "x", "indices", axis=given("axis")),
    keras=call("ops.take", "x", "indices", axis="axis"),
    torchmetrics=call("_gather", "x", "indices", "axis"),
)
define(
    "take_along_axis",
    (_x(Kind.ANY), Arg("indices", Kind.INT), Arg("axis", Kind.AXIS, -1)),
    dtype_of("x"),
    "Entries of x picked along `axis` by indices of x's rank, row by row (numpy's take_along_axis): "
    "take_along_axis(y_true, argsort(y_pred)[..., :k]) is each row's labels at its own top scores.",
    tf=call("tf.experimental.numpy.take_along_axis", "x", "indices", axis="axis"),
    keras=call("ops.take_along_axis", "x", "indices", axis="axis"),
    torchmetrics=lambda a: f"torch.take_along_dim({a['x']}, {a.atom('indices')}.long(), dim={a['axis']})",
)
define(
    "reshape",
    (_x(Kind.ANY), Arg("shape", Kind.SHAPE)),
    dtype_of("x"),
    "x with a new shape (one entry may be -1).",
    tf=call("tf.reshape", "x", "shape"),
    keras=call("ops.reshape", "x", "shape"),
    torchmetrics=call("torch.reshape", "x", "shape"),
)
define(
    "transpose",
    (_x(Kind.ANY), Arg("perm", Kind.SHAPE, None)),
    dtype_of("x"),
    "x with its axes permuted (reversed by default).",
    tf=call("tf.transpose", "x", perm=given("perm")),
    keras=call("ops.transpose", "x", axes=given("perm")),
    torchmetrics=call("_transpose", "x", given("perm")),
)
define(
    "expand_dims",
    (_x(Kind.ANY), Arg("axis", Kind.AXIS)),
    dtype_of("x"),
    "x with a new axis of size 1.",
    tf=call("tf.expand_dims", "x", "axis"),
    keras=call("ops.expand_dims", "x", "axis"),
    torchmetrics=call("torch.unsqueeze", "x", "axis"),
)
define(
    "squeeze",
    (_x(Kind.ANY), Arg("axis", Kind.AXES, None)),
    dtype_of("x"),
    "x without its axes of size 1.",
    tf=call("tf.squeeze", "x", axis=given("axis")),
    keras=call("ops.squeeze", "x", axis=given("axis")),
    torchmetrics=call("torch.squeeze", "x", dim=given("axis")),
)
define(
    "flip",
    (_x(Kind.ANY), Arg("axis", Kind.AXIS)),
    dtype_of("x"),
    "x reversed along `axis`.",
    tf=lambda a: f"tf.reverse({a['x']}, axis=[{a['axis']}])",
    keras=call("ops.flip", "x", axis="axis"),
    torchmetrics=lambda a: f"torch.flip({a['x']}, dims=[{a['axis']}])",
)
define(
    "size",
    (_x(Kind.ANY),),
    int32,
    "Number of elements of x.",
    tf=call("tf.size", "x"),
    keras=_int32(call("ops.size", "x")),
    torchmetrics=lambda a: f"torch.tensor({a.atom('x')}.numel(), dtype=torch.int32, device=self.device)",
)
define(
    "shape",
    (_x(Kind.ANY), Arg("axis", Kind.AXIS)),
    int32,
    "Size of x along `axis`.",
    tf=lambda a: f"tf.shape({a['x']})[{a['axis']}]",
    keras=lambda a: f'ops.cast(ops.shape({a["x"]})[{a["axis"]}], "int32")',
    torchmetrics=lambda a: f"torch.tensor({a.atom('x')}.shape[{a['axis']}], dtype=torch.int32, device=self.device)",
)
define(
    "ones_like",
    (_x(Kind.ANY),),
    dtype_of("x"),
    "Ones of x's shape and dtype: cumsum(ones_like(i), axis=-1) - 1 numbers the positions along an axis.",
    tf=call("tf.ones_like", "x"),
    keras=call("ops.ones_like", "x"),
    torchmetrics=call("torch.ones_like", "x"),
)
define(
    "arange",
    (Arg("start", Kind.COUNT), Arg("stop", Kind.COUNT, None), Arg("step", Kind.COUNT, 1)),
    int32,
    "Integers start, start+step, ... below stop.",
    tf=call("tf.range", "start", limit=given("stop"), delta=given("step")),
    keras=call("ops.arange", "start", given("stop"), step=given("step"), dtype=Code('"int32"')),
    torchmetrics=call(
        "torch.arange",
        "start",
        given("stop"),
        step=given("step"),
        dtype=Code("torch.int32"),
        device=Code("self.device"),
    ),
)
define(
    "linspace",
    (Arg("start", Kind.FLOAT), Arg("stop", Kind.FLOAT), Arg("num", Kind.COUNT)),
    numeric,
    "`num` evenly spaced values from start to stop.",
    tf=call("tf.linspace", "start", "stop", "num"),
    keras=call("ops.linspace", "start", "stop", "num", dtype=OUT_DTYPE),
    torchmetrics=call("torch.linspace", "start", "stop", "num", dtype=OUT_DTYPE, device=Code("self.device")),
)

# --- counting and bucketing (fixed-size output, so they stream and compile under XLA) ---------------------


def _bincount(ones_like: str) -> Lowering:
    """bincount as a segment sum of the weights (ones when none are given), which drops values outside
    0..length-1 on every backend (tf.math.bincount fails on negative values)."""

    def lower(a: Args) -> str:
        weights = a["weights"] if a.given("weights") else f"{ones_like}({a['x']}, dtype={a.out_dtype})"
        return f"_segment_sum({weights}, {a['x']}, {a['length']})"

    return lower


define(
    "bincount",
    (Arg("x", Kind.INT), Arg("length", Kind.COUNT), Arg("weights", Kind.NUM, None)),
    dtype_of("weights"),
    "Counts (or weight sums) of each value 0..length-1 in x; values outside are dropped.",
    tf=_bincount("tf.ones_like"),
    keras=_bincount("ops.ones_like"),
    torchmetrics=_bincount("torch.ones_like"),
)
define(
    "segment_sum",
    (Arg("data", Kind.NUM), Arg("ids", Kind.INT), Arg("num_segments", Kind.COUNT)),
    numeric,
    "Sums of data grouped by ids in 0..num_segments-1 (ids outside are dropped).",
    tf=call("_segment_sum", "data", "ids", "num_segments"),
    keras=call("_segment_sum", "data", "ids", "num_segments"),
    torchmetrics=call("_segment_sum", "data", "ids", "num_segments"),
)

# --- dtypes ------------------------------------------------------------------------------------------------
define(
    "cast",
    (_x(Kind.ANY), Arg("dtype", Kind.DTYPE)),
    dtype_of("dtype"),
    "x converted to `dtype`.",
    tf=call("tf.cast", "x", "dtype"),
    keras=call("ops.cast", "x", "dtype"),
    torchmetrics=lambda a: f"{a.atom('x')}.to({a['dtype']})",
)

# Functions that take constants only and give a constant (evaluated in Python, at build time of the metric).
STATIC_FUNCTIONS = {
    "len": "Length of a list param (a constant int).",
    "is_list": "Whether a float|list[float] param was given a list (a constant; the result can then keep its "
    "thresholds axis, or drop it for one number).",
    "has_sample_weight": "Whether the batch came with sample weights: a constant when the metric is traced "
    "(update only).",
    "rank": "Number of axes of a tensor, known when the metric is traced (a branch on it is chosen then).",
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
}

DTYPE_NAMES = ("float", "float16", "bfloat16", "float32", "float64", "int32", "int64", "bool")
