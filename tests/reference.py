"""A reference semantics of metricgen's IR, in numpy: what a generated metric must compute, written from the
language's rules in the README ("A spec", "The expression language", "What the generated code guarantees") and
from each function's documented behaviour in metricgen/functions.py, never from a target's code.

Floats are float64 whatever the spec's float dtype (float16, bfloat16 and float32 too: the reference is the
exact value a target approximates); ints keep their declared width (int32 or int64, as numpy computes them);
bools are bools. Constants (params, literals, their arithmetic) are Python values.

    reference = Reference(metric, {"threshold": 0.3})   # metric: ir.Metric from compiler.analyse_loaded
    reference.update(y_true, y_pred, sample_weight=w)
    reference.result()

Where the README is silent the interpreter follows numpy and Keras (see the comments marked "silent").
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import scipy.stats

from metricgen import ir

NUMPY_DTYPES = {
    "float": np.float64,
    "float16": np.float64,
    "bfloat16": np.float64,
    "float32": np.float64,
    "float64": np.float64,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}
CONSTANTS = {"epsilon": 1e-7, "pi": math.pi, "inf": math.inf, "nan": math.nan}


class NotBuilt(ValueError):
    """result() of a metric whose state is shaped by a batch it has not seen yet."""


def as_dtype(value: Any, dtype: str) -> np.ndarray:
    """``value`` as an array of ``dtype``: floats to ints truncate toward zero, as every array library casts."""
    return np.asarray(value).astype(NUMPY_DTYPES[dtype])


def divide_no_nan(a, b):
    """`/`: a / b, and 0 where b is 0 (README: "No NaN from a division")."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    out = np.zeros(a.shape)
    np.divide(a, b, out=out, where=b != 0)
    return out


def broadcast_weights(w: np.ndarray, shape: tuple) -> np.ndarray:
    """Keras' rule (README): a trailing axis of size 1 beyond x's rank is dropped, missing trailing axes added,
    then the weights are broadcast to x's shape."""
    w = np.asarray(w, np.float64)
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    return np.broadcast_to(w.reshape(w.shape + (1,) * (len(shape) - w.ndim)), shape)


def samplewise(values: np.ndarray, w: Optional[np.ndarray]) -> tuple:
    """keras.metrics.Mean's reduction, written from Keras' source (reduce_to_samplewise_values, then Mean's
    update): (Σ of the per-sample weighted values, Σ of the per-sample weights)."""
    values = np.asarray(values, np.float64)
    if w is not None:
        w = np.asarray(w, np.float64)
        # squeeze_or_expand_to_same_rank(values, w)
        if values.ndim == w.ndim + 1 and values.shape[-1] == 1:
            if w.ndim == 1:
                w = w[..., None]
            else:
                values = values[..., 0]
        elif w.ndim == values.ndim + 1 and w.shape[-1] == 1:
            if values.ndim == 1:
                values = values[..., None]
            else:
                w = w[..., 0]
        if values.ndim > w.ndim:
            values = values.mean(axis=tuple(range(w.ndim, values.ndim)))
        w = np.broadcast_to(w, values.shape)
        values = values * w
        if w.ndim > 1:
            w = w.mean(axis=tuple(range(1, w.ndim)))
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    if w is not None:
        return np.sum(values), np.sum(w)
    return np.sum(values), float(values.shape[0] if values.ndim else 1)


def axes_of(axis) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


# --- the function table, one numpy function each (argument names as in functions.py) ------------------------


def _extreme(x, axis, keepdims, largest: bool):
    """max/min: of nothing, the dtype's lowest (highest) value, -inf (inf) for floats."""
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        bound = info.min if largest else info.max
    else:
        bound = -np.inf if largest else np.inf
    reduce = np.max if largest else np.min
    return reduce(x, axis=axes_of(axis), keepdims=bool(keepdims), initial=bound)


def _cumsum(x, axis, reverse, exclusive):
    if reverse:
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis)
    if exclusive:
        out = out - x  # exact here: integers or float64 of small values
    return np.flip(out, axis) if reverse else out


def _logsumexp(x, axis, keepdims):
    axis = axes_of(axis)
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def _argsort(x, axis, descending):
    """Stable in both directions: ties keep their order (README)."""
    if descending:
        x = -x.astype(np.float64) if x.dtype == np.bool_ else -x
    return np.argsort(x, axis=axis, kind="stable")


def _rankdata(x, axis):
    """scipy's average ranks; a NaN's rank is NaN and ranks above every number (README)."""
    return scipy.stats.rankdata(x, method="average", axis=axis, nan_policy="omit")


def _in_top_k(targets, predictions, k):
    """Whether each row's target is among its k largest predictions; a tie at the k-th place counts in
    (silent on out-of-range targets: False, as tf.math.in_top_k)."""
    kth = -np.sort(-predictions, axis=-1)[..., k - 1]
    inside = (targets >= 0) & (targets < predictions.shape[-1])
    picked = np.take_along_axis(predictions, np.where(inside, targets, 0)[..., None], axis=-1)[..., 0]
    return inside & (picked >= kth)


def _one_hot(indices, depth):
    """Rows of length depth; an index outside 0..depth-1 gives a row of zeros (README)."""
    return (indices[..., None] == np.arange(depth)).astype(np.float64)


def _segment_sum(data, ids, num_segments):
    """Sums of data grouped by ids (a prefix of data's shape); ids outside 0..num_segments-1 are dropped."""
    data = np.asarray(data)
    ids = np.broadcast_to(ids, data.shape[: np.ndim(ids)])
    out = np.zeros((num_segments,) + data.shape[ids.ndim :], data.dtype)
    kept = (ids >= 0) & (ids < num_segments)
    np.add.at(out, ids[kept], data[kept])
    return out


def _bincount(x, length, weights):
    weights = np.ones(x.shape) if weights is None else np.broadcast_to(weights, x.shape)
    return _segment_sum(weights, x, length)


def _squeeze(x, axis):
    return np.squeeze(x) if axis is None else np.squeeze(x, axis=axes_of(axis))


FUNCTIONS = {
    "sum": lambda a: np.sum(a["x"], axis=axes_of(a["axis"]), keepdims=bool(a["keepdims"])),
    "mean": lambda a: np.mean(a["x"], axis=axes_of(a["axis"]), keepdims=bool(a["keepdims"])),
    "max": lambda a: _extreme(a["x"], a["axis"], a["keepdims"], largest=True),
    "min": lambda a: _extreme(a["x"], a["axis"], a["keepdims"], largest=False),
    "prod": lambda a: np.prod(a["x"], axis=axes_of(a["axis"]), keepdims=bool(a["keepdims"])),
    "any": lambda a: np.any(a["x"], axis=axes_of(a["axis"]), keepdims=bool(a["keepdims"])),
    "all": lambda a: np.all(a["x"], axis=axes_of(a["axis"]), keepdims=bool(a["keepdims"])),
    "cumsum": lambda a: _cumsum(a["x"], a["axis"], a["reverse"], a["exclusive"]),
    "abs": lambda a: np.abs(a["x"]),
    "sign": lambda a: np.sign(a["x"]),
    "square": lambda a: np.square(a["x"]),
    "negative": lambda a: np.negative(a["x"]),
    "sqrt": lambda a: np.sqrt(a["x"]),
    "log": lambda a: np.log(a["x"]),
    "log1p": lambda a: np.log1p(a["x"]),
    "exp": lambda a: np.exp(a["x"]),
    "floor": lambda a: np.floor(a["x"]),
    "ceil": lambda a: np.ceil(a["x"]),
    "round": lambda a: np.round(a["x"]),  # halves to even
    "sigmoid": lambda a: 1 / (1 + np.exp(-a["x"])),
    "softplus": lambda a: np.logaddexp(0.0, a["x"]),
    "rsqrt": lambda a: 1 / np.sqrt(a["x"]),
    "isnan": lambda a: np.isnan(a["x"]),
    "isinf": lambda a: np.isinf(a["x"]),
    "softmax": lambda a: np.exp(a["x"] - _logsumexp(a["x"], a["axis"], keepdims=True)),
    "log_softmax": lambda a: a["x"] - _logsumexp(a["x"], a["axis"], keepdims=True),
    "logsumexp": lambda a: _logsumexp(a["x"], a["axis"], a["keepdims"]),
    "clip": lambda a: np.minimum(np.maximum(a["x"], a["lo"]), a["hi"]),
    "maximum": lambda a: np.maximum(a["a"], a["b"]),
    "minimum": lambda a: np.minimum(a["a"], a["b"]),
    "safe_div": lambda a: divide_no_nan(a["a"], a["b"]),
    "true_divide": lambda a: np.true_divide(np.asarray(a["a"], np.float64), a["b"]),
    "where": lambda a: np.where(a["cond"], a["a"], a["b"]),
    "concat": lambda a: np.concatenate([a["a"], a["b"]], axis=a["axis"]),
    "matmul": lambda a: np.matmul(a["a"], a["b"]),
    "argmax": lambda a: np.argmax(a["x"], axis=a["axis"]),  # the first on ties
    "argmin": lambda a: np.argmin(a["x"], axis=a["axis"]),
    "argsort": lambda a: _argsort(a["x"], a["axis"], a["descending"]),
    "sort": lambda a: np.take_along_axis(a["x"], _argsort(a["x"], a["axis"], a["descending"]), a["axis"]),
    "rankdata": lambda a: _rankdata(a["x"], a["axis"]),
    "top_k": lambda a: -np.sort(-a["x"], axis=-1)[..., : a["k"]],
    "in_top_k": lambda a: _in_top_k(a["targets"], a["predictions"], a["k"]),
    "one_hot": lambda a: _one_hot(a["indices"], a["depth"]),
    "gather": lambda a: np.take(a["x"], a["indices"], axis=a["axis"]),
    "take_along_axis": lambda a: np.take_along_axis(a["x"], a["indices"].astype(np.int64), axis=a["axis"]),
    "reshape": lambda a: np.reshape(a["x"], tuple(a["shape"])),
    "batch_flatten": lambda a: np.reshape(a["x"], (np.shape(a["x"])[0], -1)),
    "transpose": lambda a: np.transpose(a["x"], None if a["perm"] is None else tuple(a["perm"])),
    "expand_dims": lambda a: np.expand_dims(a["x"], a["axis"]),
    "squeeze": lambda a: _squeeze(a["x"], a["axis"]),
    "flip": lambda a: np.flip(a["x"], a["axis"]),
    "size": lambda a: np.size(a["x"]),
    "shape": lambda a: np.shape(a["x"])[a["axis"]],
    "ones_like": lambda a: np.ones_like(a["x"]),
    "arange": lambda a: np.arange(a["start"], a["stop"], a["step"]) if a["stop"] is not None else np.arange(a["start"]),
    "linspace": lambda a: np.linspace(a["start"], a["stop"], a["num"]),
    "bincount": lambda a: _bincount(a["x"], a["length"], a["weights"]),
    "segment_sum": lambda a: _segment_sum(a["data"], a["ids"], a["num_segments"]),
    # NaN past every edge: numpy's sort and searchsorted put it last
    "bucketize": lambda a: np.searchsorted(np.sort(np.ravel(a["edges"])), a["x"], side="right"),
    "cast": lambda a: a["x"],  # the Apply's own dtype does the cast
}


# --- operators ------------------------------------------------------------------------------------------------


def _power(a, b, dtype: str):
    if dtype.startswith("int"):
        return np.power(a, b)
    return np.power(np.asarray(a, np.float64), b)


BINARY = {
    "+": lambda a, b, d: np.add(a, b),
    "-": lambda a, b, d: np.subtract(a, b),
    "*": lambda a, b, d: np.multiply(a, b),
    "/": lambda a, b, d: divide_no_nan(a, b),
    "//": lambda a, b, d: np.floor_divide(a, b),
    "%": lambda a, b, d: np.mod(a, b),  # Python's sign rule (floor), as tf.math.floormod
    "**": _power,
    "==": lambda a, b, d: np.equal(a, b),
    "!=": lambda a, b, d: np.not_equal(a, b),
    "<": lambda a, b, d: np.less(a, b),
    "<=": lambda a, b, d: np.less_equal(a, b),
    ">": lambda a, b, d: np.greater(a, b),
    ">=": lambda a, b, d: np.greater_equal(a, b),
}


def static_binary(op: str, a, b):
    """Constant arithmetic, as Python computes it, except `/`: 0 for a zero denominator, as on tensors."""
    if op == "/":
        return a / b if b != 0 else 0.0
    return {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "//": lambda: a // b,
        "%": lambda: a % b,
        "**": lambda: a**b,
        "==": lambda: a == b,
        "!=": lambda: a != b,
        "<": lambda: a < b,
        "<=": lambda: a <= b,
        ">": lambda: a > b,
        ">=": lambda: a >= b,
    }[op]()


class Interpreter:
    """Evaluates one IR expression in an environment: params, inputs, state, definitions, sample weights."""

    def __init__(self, params: dict, inputs: dict, state: dict, locals_: dict, sample_weight, evaluated: dict):
        self.params, self.inputs, self.state, self.locals = params, inputs, state, locals_
        self.sample_weight = sample_weight
        self.evaluated = evaluated  # definitions' values, by name, as they are computed

    def eval(self, expr: ir.Expr):
        value = getattr(self, f"eval_{type(expr).__name__}")(expr)
        if expr.type.is_tensor:
            return as_dtype(value, expr.type.dtype)
        return value

    def eval_Literal(self, e: ir.Literal):
        return e.value

    def eval_Ref(self, e: ir.Ref):
        if e.kind == "param":
            value = self.params[e.name]
            if e.type.kind == "list" and value is not None and not isinstance(value, (list, tuple)):
                return [value]  # a float|list[float] param given one number is a list of one (README)
            return value
        if e.kind == "input":
            return self.inputs[e.name]
        if e.kind == "state":
            return self.state[e.name]
        if e.kind == "constant":
            return CONSTANTS[e.name]
        if e.name not in self.evaluated:  # a definition, computed once, when first read
            self.evaluated[e.name] = self.eval(self.locals[e.name])
        return self.evaluated[e.name]

    def eval_Cast(self, e: ir.Cast):
        return self.eval(e.x)

    def eval_Operator(self, e: ir.Operator):
        op, dtype = e.op, e.type.dtype
        if op in ("is", "is not"):
            value = self.eval(e.operands[0])
            return (value is None) == (op == "is")
        if op in ("and", "or"):
            return self.logical(e)
        values = [self.eval(o) for o in e.operands]
        if not e.type.is_tensor:  # a constant
            if op == "not":
                return not values[0]
            if op in ("neg", "pos"):
                return -values[0] if op == "neg" else +values[0]
            return static_binary(op, *values)
        if op == "not":
            return np.logical_not(values[0])
        if op in ("neg", "pos"):
            return np.negative(values[0]) if op == "neg" else values[0]
        a, b = values
        return BINARY[op](a, b, dtype)

    def logical(self, e: ir.Operator):
        """`and` / `or` as Python reads them: operands left to right; a constant that decides (False for
        `and`, True for `or`) ends it, and what follows is never computed (README: "and / or read as in
        Python"). Tensor operands combine element-wise (silent on the shape when a constant decides: the
        constant broadcasts against the tensor operands computed before it, as numpy's logical_and)."""
        deciding = e.op == "or"
        combine = np.logical_or if deciding else np.logical_and
        seen = []
        for operand in e.operands:
            value = self.eval(operand)
            if not isinstance(value, np.ndarray) and bool(value) == deciding:
                seen.append(deciding)
                break
            if isinstance(value, np.ndarray) or not e.type.is_tensor:
                seen.append(value)
        if not e.type.is_tensor:
            return seen[-1] if seen else not deciding
        result = np.asarray(not deciding)
        for value in seen:
            result = combine(result, value)
        return result

    def eval_Select(self, e: ir.Select):
        cond = self.eval(e.cond)
        if not isinstance(cond, np.ndarray):  # a constant: only the chosen branch is computed
            return self.eval(e.then if cond else e.orelse)
        return np.where(cond, self.eval(e.then), self.eval(e.orelse))

    def eval_Apply(self, e: ir.Apply):
        args = {name: (None if arg is None else self.eval(arg)) for name, arg in e.args}
        if e.function in ("weighted_sum", "weighted_count", "sample_weights"):
            return self.weighted(e.function, args["x"])
        if e.function in ("samplewise_sum", "samplewise_count"):
            total, count = samplewise(args["x"], self.sample_weight)
            return total if e.function == "samplewise_sum" else count
        defaults = {a.name: a.default for a in _registry()[e.function].args if not a.required}
        args = {name: defaults[name] if value is None and name in defaults else value for name, value in args.items()}
        with np.errstate(all="ignore"):
            return FUNCTIONS[e.function](args)

    def weighted(self, function: str, x: np.ndarray):
        """weighted_sum: Σ x·w; weighted_count: Σ w over x's elements; sample_weights: w (ones without)."""
        w = np.ones(x.shape) if self.sample_weight is None else broadcast_weights(self.sample_weight, x.shape)
        if function == "weighted_sum":
            return np.sum(x * w)
        if function == "weighted_count":
            return np.sum(w)
        return w

    def eval_CallParam(self, e: ir.CallParam):
        function = self.params[e.name]
        kwargs = self.params.get(f"{e.name}_kwargs", {}) if e.forward_kwargs else {}
        return function(*(self.eval(a) for a in e.args), **kwargs)

    def eval_Length(self, e: ir.Length):
        value = self.params[e.name]
        return len(value) if isinstance(value, (list, tuple)) else 1

    def eval_InputDim(self, e: ir.InputDim):
        return int(np.shape(self.inputs[e.input])[e.axis])

    def eval_StateDim(self, e: ir.StateDim):
        return int(np.shape(self.state[e.state])[e.axis])

    def eval_IsList(self, e: ir.IsList):
        return isinstance(self.params[e.name], (list, tuple))

    def eval_HasSampleWeight(self, e: ir.HasSampleWeight):
        return self.sample_weight is not None

    def eval_Rank(self, e: ir.Rank):
        return int(np.ndim(self.eval(e.x)))

    def eval_TupleOf(self, e: ir.TupleOf):
        return tuple(self.eval(item) for item in e.items)

    def eval_DTypeName(self, e: ir.DTypeName):
        return e.name

    def eval_Subscript(self, e: ir.Subscript):
        value = self.eval(e.value)
        if not isinstance(value, np.ndarray):  # a list param: a float tensor (Cast above says so)
            value = np.asarray(value, np.float64)
        index = []
        for item in e.items:
            if item == "None":
                index.append(None)
            elif item == "...":
                index.append(Ellipsis)
            elif isinstance(item, ir.Slice):
                index.append(
                    slice(*(None if b is None else int(self.eval(b)) for b in (item.lower, item.upper, item.step)))
                )
            else:
                index.append(int(self.eval(item)))
        return value[tuple(index)]


def _registry():
    from metricgen.functions import REGISTRY

    return REGISTRY


class Reference:
    """A streaming metric computed by the reference semantics: update, result, reset, merge."""

    def __init__(self, metric: ir.Metric, params: Optional[dict] = None):
        self.metric = metric
        given = dict(params or {})
        self.params = {p.name: given.pop(p.name, p.default) for p in metric.params}
        self.params.update(given)  # forwarded keyword arguments of a callable param
        self.reset()

    # -- state -----------------------------------------------------------------------------------------------
    def reset(self):
        """Every variable back to its declared initial value; a state shaped by the first batch waits for the
        next batch (the reference compares values, which Keras' kept-shape zeros and torchmetrics' empty
        state both give once a batch is seen)."""
        self.state = {}
        for state in self.metric.states:
            if not state.shaped_by_batch:
                self.state[state.name] = self.initial(state, {})

    def initial(self, state: ir.State, inputs: dict) -> np.ndarray:
        interpreter = Interpreter(self.params, inputs, self.state, {}, None, {})
        shape = tuple(int(interpreter.eval(d)) for d in state.shape)
        return np.full(shape, state.init, NUMPY_DTYPES[state.dtype])

    @property
    def built(self) -> bool:
        return all(s.name in self.state for s in self.metric.states)

    # -- the four operations -----------------------------------------------------------------------------------
    def update(self, *values, sample_weight=None):
        inputs = self.entry(values)
        for state in self.metric.states:
            if state.name not in self.state:
                self.state[state.name] = self.initial(state, inputs)
        before = dict(self.state)  # every update reads the state as it was before the batch
        interpreter = Interpreter(
            self.params, inputs, before, dict(self.metric.update_locals), sample_weight, evaluated={}
        )
        with np.errstate(all="ignore"):
            for name, expr in self.metric.update_locals:
                interpreter.eval(ir.Ref(expr.type, "local", name))
            values = {}
            for state, update in self.metric.updates:
                condition, expr = ir.update_condition(update)
                if condition is None or interpreter.eval(condition):  # `value if c else None`: left where c fails
                    values[state.name] = interpreter.eval(expr)
        for state, value in ((s, values[s.name]) for s, _ in self.metric.updates if s.name in values):
            self.state[state.name] = self.fold(state, before[state.name], value)

    def result(self):
        if not self.built:
            raise NotBuilt(f"{self.metric.class_name} has seen no batch yet")
        interpreter = Interpreter(self.params, {}, self.state, dict(self.metric.result_locals), None, evaluated={})
        with np.errstate(all="ignore"):
            value = interpreter.eval(self.metric.result)
        return np.asarray(value, np.float64) if not isinstance(value, np.ndarray) else value

    def merge(self, others: list["Reference"]):
        """Folds other instances' state in: add → sum (a non-zero init counted once), max → max, min → min;
        assign cannot be merged; a metric that saw no batch merges as nothing."""
        for state in self.metric.states:
            if not state.mergeable:
                raise NotImplementedError(f"'{state.name}' is folded with 'assign'")
        for other in others:
            if not other.built:
                continue
            for state in self.metric.states:
                theirs = other.state[state.name]
                if state.name not in self.state:
                    self.state[state.name] = theirs.copy()
                elif state.fold == "add":
                    self.state[state.name] = self.state[state.name] + (theirs - as_dtype(state.init, state.dtype))
                else:
                    combine = np.maximum if state.fold == "max" else np.minimum
                    self.state[state.name] = combine(self.state[state.name], theirs)

    # -- helpers -----------------------------------------------------------------------------------------------
    def entry(self, values) -> dict:
        """Each input cast to its dtype; `same_rank_as` squeezes or adds a trailing axis of size 1."""
        inputs = {spec.name: as_dtype(value, spec.dtype) for spec, value in zip(self.metric.inputs, values)}
        for spec in self.metric.inputs:
            if spec.same_rank_as is None:
                continue
            x, rank = inputs[spec.name], inputs[spec.same_rank_as].ndim + spec.rank_offset
            if x.ndim == rank + 1 and x.shape[-1] == 1:
                inputs[spec.name] = x[..., 0]
            elif x.ndim == rank - 1:
                inputs[spec.name] = x[..., None]
        return inputs

    def fold(self, state: ir.State, old: np.ndarray, value) -> np.ndarray:
        """A batch value, cast to the variable's dtype, folded in by the state's fold."""
        value = as_dtype(value, state.dtype)
        if state.fold == "add":
            new = (old + value).astype(old.dtype)
        elif state.fold in ("max", "min"):
            new = (np.maximum if state.fold == "max" else np.minimum)(old, value)
        else:
            new = np.array(value, dtype=old.dtype)
        # a state keeps its declared shape: a value may broadcast into it, never grow or replace it
        if new.shape != old.shape:
            raise ValueError(
                f"the update of state `{state.name}` has shape {new.shape}, but the state's shape is {old.shape}"
            )
        return new
