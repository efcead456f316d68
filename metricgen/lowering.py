"""Stage 4, lower: the analysed metric → Python code fragments for one target, ready for the template.

Expressions become code by a precedence-aware printer (parentheses only where Python needs them); function
calls come from the registry's column for the target. Everything that varies between targets is in
:class:`Target`; the template only lays the fragments out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from . import ir
from .functions import CONSTANTS, REGISTRY
from .types import FLOAT, FLOAT_DTYPES

# Python operator precedence, low to high.
_PREC = {
    "if": 1,
    "or": 2,
    "and": 3,
    "not": 4,
    "cmp": 5,
    "|": 6,
    "&": 8,
    "+": 10,
    "-": 10,
    "*": 11,
    "/": 11,
    "//": 11,
    "%": 11,
    "unary": 12,
    "**": 13,
    "atom": 16,
}
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Target:
    name: str
    module_imports: tuple[str, ...]
    base_class: str
    ops: str  # the module prefix of array functions: "tf" or "ops"

    def dtype(self, dtype: str) -> str:
        if dtype == FLOAT:
            return "self.dtype"
        return f"tf.{dtype}" if self.name == "tf" else f'"{dtype}"'

    def variable_dtype(self, dtype: str) -> str:
        return "self.dtype" if dtype == FLOAT else f'"{dtype}"'

    def cast(self, code: str, dtype: str) -> str:
        return f"{self.ops}.cast({code}, {self.dtype(dtype)})"

    def full(self, shape: str, value: str, dtype: str) -> str:
        if self.name == "tf":
            return f"tf.fill({shape}, tf.constant({value}, dtype={dtype}))"
        return f"ops.full({shape}, {value}, dtype={dtype})"

    def constant(self, code: str, dtype: str) -> str:
        if self.name == "tf":
            return f"tf.constant({code}, dtype={self.dtype(dtype)})"
        return f"ops.convert_to_tensor({code}, dtype={self.dtype(dtype)})"


TARGETS = {
    "tf": Target("tf", ("import keras", "import tensorflow as tf"), "tf.keras.metrics.Metric", "tf"),
    "keras": Target("keras", ("import keras", "from keras import ops"), "keras.metrics.Metric", "ops"),
}

_LOGICAL = {
    "tf": {
        "and": "tf.logical_and",
        "or": "tf.logical_or",
        "not": "tf.logical_not",
        "==": "tf.equal",
        "!=": "tf.not_equal",
    },
    "keras": {
        "and": "ops.logical_and",
        "or": "ops.logical_or",
        "not": "ops.logical_not",
        "==": "ops.equal",
        "!=": "ops.not_equal",
    },
}


def py_literal(value: Any) -> str:
    """Python source for a validated spec value (numbers, bools, strings, None, lists of them)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if isinstance(value, (int, str)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    raise TypeError(f"not a spec value: {value!r}")


@dataclass
class Printer:
    """Prints typed expressions as Python source for one target."""

    target: Target
    helpers: set[str] = field(default_factory=set)

    def code(self, expr: ir.Expr) -> str:
        return self.emit(expr)[0]

    def wrap(self, fragment: tuple[str, int], minimum: int) -> str:
        code, prec = fragment
        return f"({code})" if prec < minimum else code

    def emit(self, e: ir.Expr) -> tuple[str, int]:
        method = getattr(self, "emit_" + type(e).__name__)
        return method(e)

    def emit_Literal(self, e: ir.Literal) -> tuple[str, int]:
        code = py_literal(e.value)
        return code, (_PREC["unary"] if code.startswith("-") else _PREC["atom"])

    def emit_Ref(self, e: ir.Ref) -> tuple[str, int]:
        if e.kind in ("state", "param"):
            return f"self.{e.name}", _PREC["atom"]
        if e.kind == "constant":
            return CONSTANTS[e.name][1][self.target.name], _PREC["atom"]
        return e.name, _PREC["atom"]

    def emit_Length(self, e: ir.Length) -> tuple[str, int]:
        return f"len(self.{e.name})", _PREC["atom"]

    def emit_DTypeName(self, e: ir.DTypeName) -> tuple[str, int]:
        return self.target.dtype(e.name), _PREC["atom"]

    def emit_TupleOf(self, e: ir.TupleOf) -> tuple[str, int]:
        return _tuple([self.code(i) for i in e.items]), _PREC["atom"]

    def emit_Cast(self, e: ir.Cast) -> tuple[str, int]:
        inner = self.code(e.x)
        if e.x.type.is_tensor or (e.x.type.dtype == "float" and e.type.dtype in ("int32", "int64", "bool")):
            return self.target.cast(inner, e.type.dtype), _PREC["atom"]  # cast truncates; a constant would refuse
        return self.target.constant(inner, e.type.dtype), _PREC["atom"]

    def emit_Operator(self, e: ir.Operator) -> tuple[str, int]:
        op, args = e.op, e.operands
        tensor = e.type.is_tensor
        if tensor and (op in ("and", "or", "not") or op in ("==", "!=")):
            fn = _LOGICAL[self.target.name][op]
            codes = [self.code(a) for a in args]
            out = codes[0] if op != "not" else f"{fn}({codes[0]})"
            if op != "not":
                for c in codes[1:]:
                    out = f"{fn}({out}, {c})"
            return out, _PREC["atom"]
        if op in ("neg", "pos", "not"):
            symbol = {"neg": "-", "pos": "+", "not": "not "}[op]
            prec = _PREC["not"] if op == "not" else _PREC["unary"]
            return symbol + self.wrap(self.emit(args[0]), prec), prec
        if op in ("and", "or"):
            prec = _PREC[op]
            return f" {op} ".join(self.wrap(self.emit(a), prec + 1) for a in args), prec
        prec = _PREC["cmp"] if op in _COMPARISONS else _PREC[op]
        left, right = self.emit(args[0]), self.emit(args[1])
        if op == "**":  # right-associative, and binds tighter than a unary minus on its left
            return f"{self.wrap(left, prec + 1)} ** {self.wrap(right, _PREC['unary'])}", prec
        if op in _COMPARISONS:  # `(a > b) == c` must not become the chain `a > b == c`
            return f"{self.wrap(left, prec + 1)} {op} {self.wrap(right, prec + 1)}", prec
        code = f"{self.wrap(left, prec)} {op} {self.wrap(right, prec + 1)}"
        if not tensor and op in ("/", "//", "%") and not (isinstance(args[1], ir.Literal) and args[1].value):
            # constants (params) divide as tensors do: 0 where the denominator is 0, never ZeroDivisionError
            return (
                f"{self.wrap((code, prec), _PREC['if'] + 1)} if {self.wrap(right, _PREC['if'] + 1)} else 0",
                _PREC["if"],
            )
        return code, prec

    def emit_Select(self, e: ir.Select) -> tuple[str, int]:
        prec = _PREC["if"]
        then, cond, orelse = self.emit(e.then), self.emit(e.cond), self.emit(e.orelse)
        return f"{self.wrap(then, prec + 1)} if {self.wrap(cond, prec + 1)} else {self.wrap(orelse, prec)}", prec

    def emit_Subscript(self, e: ir.Subscript) -> tuple[str, int]:
        parts = []
        for item in e.items:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, ir.Slice):
                lower, upper, step = (("" if p is None else self.code(p)) for p in (item.lower, item.upper, item.step))
                parts.append(f"{lower}:{upper}" + (f":{step}" if step else ""))
            else:
                parts.append(self.code(item))
        return f"{self.wrap(self.emit(e.value), _PREC['atom'])}[{', '.join(parts)}]", _PREC["atom"]

    def emit_CallParam(self, e: ir.CallParam) -> tuple[str, int]:
        args = ", ".join(self.code(a) for a in e.args)
        return self.target.cast(f"self.{e.name}({args})", e.type.dtype), _PREC["atom"]

    def emit_Apply(self, e: ir.Apply) -> tuple[str, int]:
        pair = _weighted_sum_pair(e) if self.target.name == "tf" else None
        if pair is not None:  # Σ (a ± b): see _weighted_sum_pair in templates/helpers_tf.py
            self.helpers.update(("_weighted_sum_pair", "_weighted_sum", "_weights_like"))
            a, b = (self.code(operand) for operand in pair.operands)
            return (
                f"_weighted_sum_pair({a}, {b}, sample_weight{', subtract=True' if pair.op == '-' else ''})",
                _PREC["atom"],
            )
        function = REGISTRY[e.function]
        lowering = function.lowerings[self.target.name]
        self.helpers.update(function.helpers.get(self.target.name, ()))
        defaults = {a.name: a.default for a in function.args}
        omitted = {name for name, value in e.args if value is None}
        if callable(lowering):  # it may put arguments next to operators: parenthesise all but atoms
            codes = {
                name: (defaults[name] if value is None else self.wrap(self.emit(value), _PREC["atom"]))
                for name, value in e.args
            }
            codes["out_dtype"] = self.target.dtype(e.type.dtype)
            return lowering(codes), _PREC["atom"]
        codes = {name: (defaults[name] if value is None else self.code(value)) for name, value in e.args}
        codes.update(_bounds(e.type.dtype))
        text = re.sub(
            r", (\w+)=\{(\w+)\?\}",
            lambda m: "" if m.group(2) in omitted else f", {m.group(1)}={{{m.group(2)}}}",
            lowering,
        )
        text = re.sub(r", \{(\w+)\?\}", lambda m: "" if m.group(1) in omitted else f", {{{m.group(1)}}}", text)
        codes["out_dtype"] = self.target.dtype(e.type.dtype)
        return text.format(**codes), _PREC["atom"]


def _weighted_sum_pair(e: ir.Apply) -> ir.Operator | None:
    """The `a + b` or `a - b` of tensors in `weighted_sum(a + b)`, which the TF target sums term by term."""
    if e.function != "weighted_sum" or len(e.args) != 1:
        return None
    value = e.args[0][1]
    if isinstance(value, ir.Operator) and value.op in ("+", "-") and all(o.type.is_tensor for o in value.operands):
        return value
    return None


def _bounds(dtype: str) -> dict[str, str]:
    """`{lowest}` and `{highest}` for a format: what tf.reduce_max and tf.reduce_min give for no values (keras
    ops raise there unless told)."""
    if dtype in ("int32", "int64"):
        bits = 31 if dtype == "int32" else 63
        return {"lowest": str(-(2**bits)), "highest": str(2**bits - 1)}
    return {"lowest": '-float("inf")', "highest": 'float("inf")'}


def _tuple(items: list[str]) -> str:
    """A Python tuple display: (), (a,), (a, b)."""
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


# -- the class ---------------------------------------------------------------------------------------------


@dataclass
class Variable:
    name: str
    shape: str
    initializer: str
    dtype: str
    aggregation: str
    reset: str


@dataclass
class ModuleCode:
    """Everything the template needs, as code fragments."""

    target: Target
    spec_path: str
    class_name: str
    metric_name: str
    package: str
    description: str
    param_docs: list[tuple[str, str]]
    input_docs: list[tuple[str, str]]
    init_args: list[str]
    init_body: list[str]
    variables: list[Variable]
    update_args: list[str]
    update_body: list[str]
    result_body: list[str]
    config_items: list[tuple[str, str]]
    callable_params: list[str]
    merge_body: list[str]
    helpers: list[str]


# How each fold combines a value into a variable, and how the variable is aggregated across replicas.
_FOLDS = {
    "add": ("{var}.assign_add({value})", "sum"),
    "max": ("{var}.assign({ops}.maximum({var}, {value}))", "only_first_replica"),
    "min": ("{var}.assign({ops}.minimum({var}, {value}))", "only_first_replica"),
    "assign": ("{var}.assign({value})", "only_first_replica"),
}


def _fold(state: ir.State, value: str, target: Target) -> str:
    return _FOLDS[state.fold][0].format(var=f"self.{state.name}", value=value, ops=target.ops)


def lower_metric(metric: ir.Metric, target_name: str = "tf") -> ModuleCode:
    target = TARGETS[target_name]
    printer = Printer(target)
    init_args, init_body = _constructor(metric, printer)
    return ModuleCode(
        target=target,
        spec_path=metric.spec_path,
        class_name=metric.class_name,
        metric_name=metric.name,
        package=metric.package,
        description=metric.description,
        param_docs=[(p.name, _param_doc(p)) for p in metric.params],
        input_docs=[(i.name, _input_doc(i, printer)) for i in metric.inputs],
        init_args=init_args,
        init_body=init_body,
        variables=[_variable(s, printer) for s in metric.states],
        update_args=[i.name for i in metric.inputs],
        update_body=_update_body(metric, printer),
        result_body=[f"{name} = {printer.code(expr)}" for name, expr in metric.result_locals]
        + [f"return {printer.code(metric.result)}"],
        config_items=[(p.name, _config_value(p)) for p in metric.params],
        callable_params=[p.name for p in metric.params if p.type == "callable"],
        merge_body=_merge_body(metric, target),
        helpers=sorted(printer.helpers),
    )


def _constructor(metric: ir.Metric, printer: Printer) -> tuple[list[str], list[str]]:
    """`__init__`'s arguments (required params first, then defaults, then Keras' name and dtype) and body."""
    args = [p.name for p in metric.params if p.required]
    args += [f"{p.name}={py_literal(p.default)}" for p in metric.params if not p.required]
    args += [f"name={metric.name!r}", "dtype=None"]
    body = ["super().__init__(name=name, dtype=dtype)"]
    if metric.params:
        printer.helpers.add("_check_param")
    for p in metric.params:
        limits = (("low", p.min), ("high", p.max), ("choices", p.choices))
        extras = "".join(f", {key}={py_literal(value)}" for key, value in limits if value is not None)
        body.append(f"self.{p.name} = _check_param({metric.class_name!r}, {p.name!r}, {p.name}, {p.type!r}{extras})")
    return args, body


def _variable(state: ir.State, printer: Printer) -> Variable:
    target = printer.target
    init = state.init if state.dtype == "bool" or state.dtype in FLOAT_DTYPES else int(state.init)
    this = f"self.{state.name}"
    if init == 0:
        initializer, reset = '"zeros"', f"{target.ops}.zeros({this}.shape, dtype={this}.dtype)"
    else:
        initializer = f"keras.initializers.Constant({py_literal(init)})"
        reset = target.full(f"{this}.shape", py_literal(init), f"{this}.dtype")
    return Variable(
        state.name,
        _tuple([printer.code(d) for d in state.shape]),
        initializer,
        target.variable_dtype(state.dtype),
        _FOLDS[state.fold][1],
        reset,
    )


def _update_body(metric: ir.Metric, printer: Printer) -> list[str]:
    target, cls = printer.target, metric.class_name
    expressions = [e for _, e in metric.update_locals] + [e for _, e in metric.updates]
    used = {e.name for expr in expressions for e in ir.walk(expr) if isinstance(e, ir.Ref)}
    rank_references = {i.same_rank_as for i in metric.inputs if i.name in used}
    body = []
    for i in metric.inputs:
        if i.name in used or i.name in rank_references:
            body.append(f"{i.name} = {target.cast(i.name, i.dtype)}")
        if i.shape is not None:
            printer.helpers.add("_check_shape")
            dims = _tuple(["None" if d is None else printer.code(d) for d in i.shape])
            body.append(f"_check_shape({cls!r}, {i.name!r}, {i.name}, {dims}, {i.leading_ellipsis})")
    for i in metric.inputs:
        if i.same_rank_as is not None and i.name in used:
            printer.helpers.add("_match_rank")
            body.append(f"{i.name} = _match_rank({i.name}, {i.same_rank_as})")
    body += [f"{name} = {printer.code(expr)}" for name, expr in metric.update_locals]
    reads_state = any(isinstance(e, ir.Ref) and e.kind == "state" for _, x in metric.updates for e in ir.walk(x))
    folds = []
    for state, expr in metric.updates:
        value = printer.code(expr)
        if reads_state:  # every batch value from the state as it was before this batch ('_' names are ours)
            body.append(f"_{state.name}_batch = {value}")
            value = f"_{state.name}_batch"
        if state.fold in ("max", "min") and target.name == "tf":  # see _replica_reduce in helpers_tf.py
            printer.helpers.add("_replica_reduce")
            value = f"_replica_reduce({value}, tf.reduce_{state.fold})"
        folds.append(_fold(state, value, target))
    return body + folds


def _config_value(p: ir.Param) -> str:
    if p.type.startswith("list["):
        return f"list(self.{p.name})"
    if p.type == "callable":
        return f"keras.saving.serialize_keras_object(self.{p.name})"
    return f"self.{p.name}"


def _merge_body(metric: ir.Metric, target: Target) -> list[str]:
    cls = metric.class_name
    unmergeable = [s for s in metric.states if not s.mergeable]
    if unmergeable:
        s = unmergeable[0]
        message = f"{cls}: state variable {s.name!r} is folded with {s.fold!r}, so partial states cannot be merged"
        return [f"raise NotImplementedError({message!r})"]
    body = [
        "for other in metrics:",
        f"    if not isinstance(other, {cls}):",
        f'        raise TypeError(f"{cls}.merge_state: cannot merge a {{type(other).__name__}}")',
    ]
    checked = [p.name for p in metric.params if p.type != "callable"]
    if checked:
        mine = ", ".join(f"self.{n}" for n in checked)
        theirs = ", ".join(f"other.{n}" for n in checked)
        body.append(f"    if ({mine},) != ({theirs},):")
        body.append(
            f'        raise ValueError("{cls}.merge_state: metrics with different parameters cannot be merged")'
        )
    for s in metric.states:
        value = f"other.{s.name}"
        if s.fold == "add" and s.init != 0:  # the initial value is counted once, not once per shard
            value = f"{value} - {py_literal(s.init)}"
        body.append("    " + _fold(s, value, target))
    return body


def _param_doc(p: ir.Param) -> str:
    text = p.type
    if not p.required:
        text += f", default {py_literal(p.default)}"
    return f"({text}) {p.doc}".rstrip()


def _input_doc(i: ir.Input, printer: Printer) -> str:
    text = f"cast to {'the metric dtype' if i.dtype == FLOAT else i.dtype}"
    if i.shape is not None:
        dims = ["None" if d is None else printer.code(d).replace("self.", "") for d in i.shape]
        text += ", shape (" + ("..., " if i.leading_ellipsis else "") + ", ".join(dims) + ")"
    return f"({text}) {i.doc}".rstrip()
