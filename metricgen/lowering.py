"""Stage 5, lower: the analysed (and optimised) metric → code fragments for one target, ready for its template.

Expressions become code by a precedence-aware printer (parentheses only where Python needs them); a function
call comes from the function table's column for the target, and every other spelling from the target
(:mod:`metricgen.targets`). The parts every target's class has — constructor checks, update and result
bodies, docs — are built here once (:func:`class_parts`); the target arranges them into its class.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

from . import ir
from .errors import SpecError, SpecErrors
from .functions import REGISTRY, Args, Kind
from .params import NUMBER_OR_LIST, param_rule
from .types import FLOAT, Type

if TYPE_CHECKING:
    from .targets.base import Target

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
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "is", "is not")


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


def check_supported(metric: ir.Metric, target: "Target", targets: "Iterable[Target]" = ()) -> None:
    """Refuses, with their locations, the functions and names that ``target`` cannot express (``targets``: every
    registered one, for the hint naming those that can)."""
    errors = []
    for expr in metric.expressions():
        for e in ir.walk(expr):
            if isinstance(e, ir.Apply) and e.function not in target.column:
                columns = [t.name for t in targets if e.function in t.column]
                errors.append(
                    SpecError(
                        f"function '{e.function}' has no form for the {target.name} target",
                        e.loc,
                        metric.spec_path,
                        "it exists for: " + ", ".join(columns),
                    )
                )
    # a param whose name the base class has is kept under another attribute (Target.param_attribute); one that
    # the constructor takes itself, and a state variable (an attribute the base class reads), cannot be renamed
    for p in metric.params:
        if p.name in target.constructor_arguments:
            errors.append(
                SpecError(
                    f"invalid param name '{p.name}': the {target.name} target's constructor takes an argument of this name",
                    p.loc,
                    metric.spec_path,
                )
            )
    for s in metric.states:
        if s.name in target.reserved_attributes:
            errors.append(
                SpecError(
                    f"invalid state variable name '{s.name}': {target.reserved_by} already has an attribute of this name",
                    s.loc,
                    metric.spec_path,
                )
            )
    if errors:
        raise SpecErrors(sorted(dict.fromkeys(errors), key=lambda e: (e.location.line, e.location.column)))


class Printer:
    """Prints typed expressions as Python source for one target."""

    def __init__(self, target: "Target"):
        self.target = target
        # sample buffers read from a local of the method, the rows they hold (held_row_groups): state name -> code
        self.held: dict[str, str] = {}

    def code(self, expr: ir.Expr) -> str:
        return self.emit(expr)[0]

    def param(self, name: str) -> str:
        """Code reading the param ``name`` in a method."""
        return f"self.{self.target.param_attribute(name)}"

    @staticmethod
    def wrap(fragment: tuple[str, int], minimum: int) -> str:
        code, prec = fragment
        return f"({code})" if prec < minimum else code

    def emit(self, e: ir.Expr) -> tuple[str, int]:
        method = getattr(self, "emit_" + type(e).__name__)
        return method(e)

    def emit_Literal(self, e: ir.Literal) -> tuple[str, int]:
        code = py_literal(e.value)
        return code, (_PREC["unary"] if code.startswith("-") else _PREC["atom"])

    def emit_Ref(self, e: ir.Ref) -> tuple[str, int]:
        if e.kind == "state" and e.name in self.held:
            return self.held[e.name], _PREC["atom"]
        if e.kind == "state":
            return self.target.read_state(self.target.state_variable(e.name)), _PREC["atom"]
        if e.kind == "param":
            return self.param(e.name), _PREC["atom"]
        if e.kind == "constant":
            return self.target.constants[e.name], _PREC["atom"]
        return e.name, _PREC["atom"]

    def emit_Length(self, e: ir.Length) -> tuple[str, int]:
        if e.or_number:
            return f"len({self.param(e.name)}) if isinstance({self.param(e.name)}, list) else 1", _PREC["if"]
        return f"len({self.param(e.name)})", _PREC["atom"]

    def emit_StateDim(self, e: ir.StateDim) -> tuple[str, int]:
        return f"{self.held.get(e.state) or self.target.state_variable(e.state)}.shape[{e.axis}]", _PREC["atom"]

    def emit_Filled(self, e: ir.Filled) -> tuple[str, int]:
        rows = self.target.read_state(self.target.state_variable(f"{e.state}_rows"))
        length = f"{self.held[e.state]}.shape[0]" if e.state in self.held else self.code(e.capacity)
        return self.target.filled(rows, length), _PREC["cmp"]  # a comparison: `< rows`

    def emit_InputDim(self, e: ir.InputDim) -> tuple[str, int]:
        return f"_known_size({e.input}_shape, {e.axis}, {e.input!r})", _PREC["atom"]

    def emit_IsList(self, e: ir.IsList) -> tuple[str, int]:
        return f"isinstance({self.param(e.name)}, list)", _PREC["atom"]

    def emit_AtConstruction(self, e: ir.AtConstruction) -> tuple[str, int]:
        return f"self._{e.name}", _PREC["atom"]  # the constructor computed it (ClassParts.at_construction)

    def emit_HasSampleWeight(self, e: ir.HasSampleWeight) -> tuple[str, int]:
        return "sample_weight is not None", _PREC["cmp"]

    def emit_Rank(self, e: ir.Rank) -> tuple[str, int]:
        return f"len({self.wrap(self.emit(e.x), _PREC['atom'])}.shape)", _PREC["atom"]

    def emit_DTypeName(self, e: ir.DTypeName) -> tuple[str, int]:
        return self.target.dtype(e.name), _PREC["atom"]

    def emit_TupleOf(self, e: ir.TupleOf) -> tuple[str, int]:
        return python_tuple([self.code(i) for i in e.items]), _PREC["atom"]

    def emit_Cast(self, e: ir.Cast) -> tuple[str, int]:
        inner = self.code(e.x)
        if e.x.type.kind == "list" and e.x.type.or_number:  # one number is a list of one, as a tensor
            inner = f"{inner} if isinstance({inner}, list) else [{inner}]"
        if e.x.type.is_tensor or (e.x.type.dtype == "float" and e.type.dtype in ("int32", "int64", "bool")):
            return self.target.cast(inner, e.type.dtype), _PREC["atom"]  # cast truncates; a constant would refuse
        return self.target.constant(inner, e.type.dtype), _PREC["atom"]

    def emit_Operator(self, e: ir.Operator) -> tuple[str, int]:
        op, args = e.op, e.operands
        tensor = e.type.is_tensor
        if tensor and op in ("and", "or", "not", "==", "!="):
            fn = self.target.logical[op]
            codes = [self.code(a) for a in args]
            if op == "not":
                return f"{fn}({codes[0]})", _PREC["atom"]
            out = codes[0]
            for c in codes[1:]:
                out = f"{fn}({out}, {c})"
            return out, _PREC["atom"]
        if op == "pos":  # +x is x (and TensorFlow tensors have no unary plus)
            return self.emit(args[0])
        if op in ("neg", "not"):
            symbol = {"neg": "-", "not": "not "}[op]
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
        if e.cond.type.is_tensor:  # a choice on one element (passes/branch_on_scalar.py)
            code = self.target.conditional(*(self.code(x) for x in (e.cond, e.then, e.orelse)))
            if code is not None:
                return code, _PREC["atom"]
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
        args = ", ".join([self.code(a) for a in e.args] + [f"**self.{e.name}_kwargs"] * e.forward_kwargs)
        return self.target.cast(f"{self.param(e.name)}({args})", e.type.dtype), _PREC["atom"]

    def emit_Apply(self, e: ir.Apply) -> tuple[str, int]:
        function = REGISTRY[e.function]
        lowering = self.target.column[e.function]
        defaults = {a.name: a.default_code for a in function.args}
        # concat(concat(a, b), c): one call, [a, b, c] (a copy and a dispatch fewer); the operands emitted once
        joined = _concat_operands(e) if e.function == "concat" else None
        # and concat(a[..., None], b[..., None]) is stack([a, b], -1): no new axis made for each operand first
        stacked = _new_last_axes(joined, e.arg("axis")) if joined and "stack" in self.target.column else None
        if stacked:
            joined, lowering = stacked, self.target.column["stack"]
        emitted = {
            name: self.emit(value)
            for name, value in e.args
            if value is not None and not (joined and name in ("a", "b"))
        }
        if joined:
            emitted.update(a=(", ".join(self.code(x) for x in joined[:-1]), _PREC["atom"]), b=self.emit(joined[-1]))
        numbers: dict[str, tuple[str, int]] = {}
        if e.function in self.target.scalar_operands:
            operands = {a.name for a in function.args if a.kind in (Kind.SAME, Kind.NUM)}
            numbers.update(self._scalar_operands([(name, value) for name, value in e.args if name in operands]))
        if e.function in self.target.number_operands:
            floats = {a.name for a in function.args if a.kind is Kind.FLOAT}
            given = {name: ir.cast_number(value) for name, value in e.args if name in floats}
            numbers.update({name: self.emit(number) for name, number in given.items() if number is not None})
        emitted.update(numbers)
        codes = {name: emitted[name][0] if name in emitted else defaults[name] for name, _ in e.args}
        atoms = {
            name: self.wrap(emitted[name], _PREC["atom"]) if name in emitted else defaults[name] for name, _ in e.args
        }
        omitted = {name for name, value in e.args if value is None}
        args = Args(codes, atoms, omitted, self.target.dtype(e.type.dtype), e.type.dtype, frozenset(numbers))
        return lowering(args), _PREC["atom"]

    def _scalar_operands(self, args: list[tuple[str, Any]]) -> dict[str, tuple[str, int]]:
        """The operands of a function in ``target.scalar_operands`` that are a Python number cast to the other
        operand's dtype, written as the number: the second where both are, so that a tensor gives the dtype, and
        only a number of that dtype's kind or a lower one (a float beside an int tensor would promote)."""
        rank = {"bool": 0, "int": 1, "float": 2}
        numbers = {}
        for name, value in args:
            number = ir.cast_number(value)
            if number is not None and rank[number.type.dtype] <= rank[_kind(value.type)]:
                numbers[name] = number
        if len(numbers) == len(args):
            del numbers[args[0][0]]
        return {name: self.emit(x) for name, x in numbers.items()}


def _concat_operands(e: ir.Apply) -> list[ir.Expr]:
    """The operands of a concat and of the concats along the same axis nested in it, in order. Every target's
    concat lists its two operands (`[a, b]`), so the first may stand for several."""
    axis = e.arg("axis")
    return [
        part
        for x in (e.arg("a"), e.arg("b"))
        for part in (
            _concat_operands(x) if isinstance(x, ir.Apply) and x.function == "concat" and x.arg("axis") == axis else [x]
        )
    ]


def _new_last_axes(parts: list[ir.Expr], axis: Optional[ir.Expr]) -> Optional[list[ir.Expr]]:
    """x, y, ... where ``parts`` are x[..., None], y[..., None], ... joined along the last axis (the axis they
    make): their concat is their stack along a new last axis."""
    if not (axis is None or (isinstance(axis, ir.Literal) and axis.value == -1)):
        return None
    new_last = ("...", "None")
    if not all(isinstance(p, ir.Subscript) and p.items == new_last and p.type == p.value.type for p in parts):
        return None
    return [p.value for p in parts]  # type: ignore[attr-defined]


def _kind(t: Type) -> str:
    return "bool" if t.is_bool else "int" if t.is_int else "float"


def python_tuple(items: list[str]) -> str:
    """A Python tuple display: (), (a,), (a, b)."""
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


# -- what every target's class has ---------------------------------------------------------------------------


@dataclass
class ClassParts:
    """Code fragments of a metric's class, for any target; the target's template arranges them."""

    spec_path: str
    class_name: str
    metric_name: str
    package: str
    description: str
    param_docs: list[tuple[str, str]]
    input_docs: list[tuple[str, str]]
    init_args: list[str]  # the spec's params: required ones first
    init_checks: list[str]  # each argument checked and stored on the instance
    at_construction: list[str]  # the params' tests computed once (ir.AtConstruction), after dtype is set
    extra_imports: list[str]
    shapes: dict[str, str]  # state variable -> its shape as a tuple display
    build_args: list[str]  # the arguments of _build_state, which makes the state shaped by the first batch
    # when the params give that state's shape (no input's size needed), a condition; then __init__ makes it
    shape_given_when: str | None
    build_now: list[str]  # __init__'s call of _build_state under that condition
    update_args: list[str]
    update_body: list[str]
    result_body: list[str]


def class_parts(metric: ir.Metric, printer: Printer) -> ClassParts:
    init_args = [p.name for p in metric.params if p.required]
    # a list default is written as a tuple: a mutable default argument would be shared by every instance
    init_args += [
        f"{p.name}={python_tuple([py_literal(v) for v in p.default]) if isinstance(p.default, list) else py_literal(p.default)}"
        for p in metric.params
        if not p.required
    ]
    init_checks: list[str] = []
    rules = [param_rule(p) for p in metric.params]
    needed_when = _shapes_needed_when(metric, printer) if metric.batch_shaped else None
    shape_given_when = None if needed_when is None else f"not ({needed_when})"
    none = ", ".join("None" for _ in _sizing_inputs(metric))
    for p, rule in zip(metric.params, rules):
        init_checks += rule.check(metric.class_name, p.name, printer.target.param_attribute(p.name))
    for c in metric.checks:  # the spec's checks over several params, once each is stored
        init_checks += [f"if not ({printer.code(c.require)}):", f"    raise ValueError({_message(metric, c, printer)})"]
    return ClassParts(
        spec_path=metric.spec_path,
        class_name=metric.class_name,
        metric_name=metric.name,
        package=metric.package,
        description=metric.description,
        param_docs=[(p.name, _param_doc(p)) for p in metric.params],
        input_docs=[(i.name, _input_doc(i, printer)) for i in metric.inputs],
        init_args=init_args,
        init_checks=init_checks,
        at_construction=_at_construction(metric, printer),
        extra_imports=["import numbers"] if any(r.needs_numbers_module for r in rules) else [],
        shapes={s.name: python_tuple([printer.code(d) for d in s.shape]) for s in metric.states},
        build_args=[f"{name}_shape" for name in _sizing_inputs(metric)],
        shape_given_when=shape_given_when,
        build_now=(
            [] if shape_given_when is None else [f"if {shape_given_when}:", f"    {printer.target.build_state(none)}"]
        ),
        update_args=[i.name for i in metric.inputs],
        update_body=_update_body(metric, printer),
        result_body=_unbuilt_refusal(metric, printer.target) + _result_lines(metric, printer),
    )


def _result_lines(metric: ir.Metric, printer: Printer) -> list[str]:
    """The result's definitions and return; on a target whose shapes need not be fixed (reads_held_rows), a
    buffer with `unfilled: ignored` first read as the rows it holds, into a local `_<name>`."""
    lines: list[str] = []
    if printer.target.reads_held_rows:
        for group in held_row_groups(metric):
            capacity, held = printer.code(group[0].shape[0]), f"_{group[0].name}_held"
            counts = [
                f"_rows_read({printer.target.state_variable(s.rows_variable)}, {capacity}, type(self).__name__, "
                f"{s.name!r})"
                for s in group
            ]
            # the buffers of a group have the same rows (analysis.buffers), and are read as long as the one that
            # holds the most, the others padded with rows of 0 (which the result ignores)
            lines.append(f"{held} = " + (counts[0] if len(group) == 1 else "max(" + ", ".join(counts) + ")"))
            for s in group:
                # a local of a name no spec takes (a buffer may be named `max`, which the line above calls)
                printer.held[s.name] = f"_{s.name}"
                lines.append(f"_{s.name} = _at_capacity({printer.target.state_variable(s.name)}[:{held}], {held})")
    try:
        lines += [f"{name} = {printer.code(expr)}" for name, expr in metric.result_locals]
        return lines + [f"return {_result_code(metric, printer)}"]
    finally:
        printer.held = {}


def held_row_groups(metric: ir.Metric) -> list[list[ir.State]]:
    """The sample buffers whose unfilled rows the result ignores, grouped by their rows: the analysis makes the
    buffers sized by one param alike (analysis.buffers), so each group is read as one length."""
    groups: dict[ir.Expr, list[ir.State]] = {}
    for s in metric.states:
        if s.is_buffer and s.unfilled_ignored:
            groups.setdefault(s.shape[0], []).append(s)
    return list(groups.values())


def _message(metric: ir.Metric, check: ir.Check, printer: Printer) -> str:
    """A check's error: a str literal, or one formatted with the params' values where the message names them."""
    names = [name for _, name in check.message if name]
    if not names:
        return py_literal(f"{metric.class_name}: " + "".join(text for text, _ in check.message))
    escaped = "".join(
        text.replace("{", "{{").replace("}", "}}") + ("{!r}" if name else "") for text, name in check.message
    )
    return f"{py_literal(f'{metric.class_name}: {escaped}')}.format({', '.join(printer.param(n) for n in names)})"


def _at_construction(metric: ir.Metric, printer: Printer) -> list[str]:
    """The constructor's statements computing each param's test a pass moved there, once: False where its
    guards fail (the update reads it only where they hold, and `len(thresholds)` needs thresholds)."""
    lines, made = [], set()
    for e in (e for expr in metric.expressions() for e in ir.walk(expr)):
        if isinstance(e, ir.AtConstruction) and e.name not in made:
            made.add(e.name)
            guards = [printer.wrap(printer.emit(g), _PREC["and"] + 1) for g in e.guards]
            lines.append(f"self._{e.name} = " + " and ".join(guards + [f"bool({printer.code(e.expr)})"]))
    return lines


def _shapes_needed_when(metric: ir.Metric, printer: Printer) -> str | None:
    """Python code for when the state's shape reads an input's size (Keras' AUC needs y_pred's only with
    multi_label and no num_labels): a param's test chooses a branch of a dimension, and only that branch is
    evaluated. None when always (called only for a metric with a state shaped by a batch)."""

    def test(cond: ir.Expr, holds: bool) -> str:
        return _param_test(printer, cond, holds)

    def needed(e: ir.Expr) -> bool | list[list[str]]:
        """True, False, or the alternatives (each a list of tests that must all hold) under which it is."""
        if isinstance(e, ir.InputDim):
            return True
        if isinstance(e, ir.Select):
            ways: list[list[str]] = []
            for branch, holds in ((e.then, True), (e.orelse, False)):
                need = needed(branch)
                if need is True:
                    ways.append([test(e.cond, holds)])
                elif need is not False:
                    ways += [[test(e.cond, holds)] + way for way in need]
            return False if not ways else ways
        inner = [needed(child) for child in ir.children(e)]
        if any(n is True for n in inner):
            return True
        ways = [way for n in inner if n is not False for way in n]
        return ways or False

    ways: list[list[str]] = []
    for s in metric.states:
        for d in s.shape:
            need = needed(d)
            if need is True:
                return None
            if need is not False:
                ways += [way for way in need if way not in ways]
    return " or ".join(" and ".join(way) for way in ways) if ways else None


def _param_test(printer: Printer, cond: ir.Expr, holds: bool) -> str:
    """Python code for a param's test holding (or, ``holds`` False, not holding)."""
    if not holds and isinstance(cond, ir.Operator) and cond.op in ("is", "is not"):
        cond = ir.Operator(cond.type, "is" if cond.op == "is not" else "is not", cond.operands)
        holds = True
    code = printer.wrap(printer.emit(cond), _PREC["not"] + 1)
    return code if holds else f"not {code}"


def _sized_by(dim: ir.Expr, printer: Printer) -> list[tuple[list[str], ir.InputDim]]:
    """The input sizes a state's dimension is, each with the params' tests under which it is that size (a
    dimension is an input's size, a param's value, or a param's test choosing between them)."""
    if isinstance(dim, ir.InputDim):
        return [([], dim)]
    if isinstance(dim, ir.Select):
        return [
            ([_param_test(printer, dim.cond, holds)] + tests, size)
            for branch, holds in ((dim.then, True), (dim.orelse, False))
            for tests, size in _sized_by(branch, printer)
        ]
    return []


def size_checks(metric: ir.Metric, printer: Printer, check: str) -> list[str]:
    """Statements that refuse a size differing from the one that shaped the state (F1Score fed 3 classes, then
    1, would broadcast the 1 into every class). ``check`` is one call, formatted with the fields metric,
    input, axis (the input's), state and axis_of_state (the state variable's axis of that size); each input's
    axis is checked once, on the first state it sizes."""
    lines, seen = [], set()
    for s in metric.batch_shaped:
        for axis_of_state, dim in enumerate(s.shape):
            for tests, size in _sized_by(dim, printer):
                if (size.input, size.axis, tuple(tests)) in seen:
                    continue
                seen.add((size.input, size.axis, tuple(tests)))
                call = check.format(
                    metric=repr(metric.class_name),
                    input=size.input,
                    axis=size.axis,
                    state=s.name,
                    axis_of_state=axis_of_state,
                )
                lines += [f"if {' and '.join(tests)}:", f"    {call}"] if tests else [call]
    return lines


def merge_refusal(metric: ir.Metric) -> str | None:
    """Why states of parts of the data cannot be combined into the whole's (by merge_state, or a sum over
    replicas or processes), or None: a state assigned rather than folded, or an update that reads state, whose
    batch values then depend on the part of the data each state has seen."""
    cls = metric.class_name
    assigned = next((s for s in metric.states if not s.mergeable), None)
    if assigned is not None:
        return f"{cls}: state variable {assigned.name!r} is folded with {assigned.fold!r}, so partial states cannot be merged"
    read = state_read_by_update(metric)
    return None if read is None else unsplittable(metric, read)


def state_read_by_update(metric: ir.Metric) -> ir.State | None:
    """The first state variable the update reads (its definitions included), if any."""
    read = ir.states_read(x for _, x in metric.update_locals + metric.updates)
    return next((s for s in metric.states if s.name in read), None)


def unsplittable(metric: ir.Metric, read: ir.State) -> str:
    """The error of a metric whose update reads state, where its data would be split (merge, replicas)."""
    return (
        f"{metric.class_name}: its update reads state variable {read.name!r}, so states of parts of the data "
        "cannot be combined (merged, or summed over replicas or processes)"
    )


def same_params_check(metric: ir.Metric, target: "Target", other: str) -> list[str]:
    """merge_state's refusal of a metric ``other`` made with different params (a function param aside)."""
    names = [p.name for p in metric.params if p.type != "callable"]
    names += [p.kwargs_attribute for p in metric.params if p.forward_kwargs]
    if not names:
        return []
    mine = python_tuple([f"self.{target.param_attribute(n)}" for n in names])
    theirs = python_tuple([f"{other}.{target.param_attribute(n)}" for n in names])
    return [f"_check_same_params({metric.class_name!r}, {python_tuple([repr(n) for n in names])}, {mine}, {theirs})"]


def _sizing_inputs(metric: ir.Metric) -> list[str]:
    """The inputs whose sizes shape a state, in update_state's order."""
    named = {e.input for s in metric.states for d in s.shape for e in ir.walk(d) if isinstance(e, ir.InputDim)}
    return [i.name for i in metric.inputs if i.name in named]


def _unbuilt_refusal(metric: ir.Metric, target: "Target") -> list[str]:
    if not metric.batch_shaped:
        return []
    message = f"{metric.class_name} has seen no batch yet: its state is shaped by the first one"
    return [
        f"if {target.unbuilt(target.state_variable(metric.batch_shaped[0].name))}:",
        f"    raise ValueError({message!r})",
    ]


def _result_code(metric: ir.Metric, printer: Printer) -> str:
    """The result's code: a state variable read as a tensor of its current value, never the variable itself
    (which a later update would change under the caller's feet, and which float() cannot read under
    tf.distribute)."""
    code, result, definitions = printer.code(metric.result), metric.result, dict(metric.result_locals)
    while isinstance(result, ir.Ref) and result.kind == "local":  # `value: x` with `x: total`
        result = definitions[result.name]
    if isinstance(result, ir.Ref) and result.kind == "state":
        code = printer.target.snapshot(code)
    for s in metric.states:  # a buffer given more rows than it keeps holds only some: never a number from them
        if s.is_buffer:
            rows = printer.target.read_state(printer.target.state_variable(s.rows_variable))
            code = printer.target.unless_overflowed(code, rows, printer.code(s.shape[0]), metric.class_name, s.name)
    return code


def _update_body(metric: ir.Metric, printer: Printer) -> list[str]:
    target, cls = printer.target, metric.class_name
    expressions = [e for _, e in metric.update_locals] + [e for _, e in metric.updates]
    used = {e.name for expr in expressions for e in ir.walk(expr) if isinstance(e, ir.Ref)}
    used |= set(_sizing_inputs(metric))  # read for its shape: made a tensor first
    rank_references = {i.same_rank_as for i in metric.inputs if i.name in used}
    body = []
    for i in metric.inputs:
        if i.name in used or i.name in rank_references:
            body.append(f"{i.name} = {target.cast(i.name, i.dtype)}")
        if i.shape is not None:
            dims = python_tuple(["None" if d is None else printer.code(d) for d in i.shape])
            body.append(f"_check_shape({cls!r}, {i.name!r}, {i.name}, {dims}, {i.leading_ellipsis})")
    for i in metric.inputs:
        if i.same_rank_as is not None and i.name in used:
            offset = f", {i.rank_offset}" if i.rank_offset else ""
            body.append(f"{i.name} = _match_rank({i.name}, {i.same_rank_as}{offset})")
    body += _list_size_checks(metric, printer)
    if metric.batch_shaped:  # Keras' `_build`: the state is made from the first batch's shapes
        shapes = ", ".join(f"{name}.shape" for name in _sizing_inputs(metric))
        first = target.state_variable(metric.batch_shaped[0].name)
        body += [f"if {target.unbuilt(first)}:", f"    {target.build_state(shapes)}"]
        # a later batch must have the sizes the first gave: checked at trace time where they are static
        check = (
            "{input} = _check_batch_size({metric}, {input!r}, {input}, {axis}, {state!r}, "
            + target.state_variable("{state}")  # a field the format below fills in
            + ".shape[{axis_of_state}])"
        )
        checks = size_checks(metric, printer, check)
        body += ["else:"] * bool(checks) + ["    " + line for line in checks]
    # a definition or batch value that is a state variable itself holds its value, not the variable, which a
    # fold below would change before it is read
    body += [f"{name} = {_value_code(expr, printer)}" for name, expr in metric.update_locals]
    # imported here: the targets import this module, and an up-to-date build loads them but not the analysis
    from .passes.ir_shapes import Shapes, keeps_shape

    reads_state = ir.reads_state(x for _, x in metric.updates)
    shapes = Shapes(dict(metric.update_locals))
    folds: list[tuple[Optional[str], list[str]]] = []  # (the params' condition, the folds made under it)
    for state, update in metric.updates:
        condition, expr = ir.update_condition(update)
        value = _value_code(expr, printer)
        test = None if condition is None else printer.code(condition)
        if reads_state:  # every batch value from the state as it was before this batch ('_' names are ours)
            body.append(f"_{state.name}_batch = {value if test is None else f'({value}) if ({test}) else None'}")
            value = f"_{state.name}_batch"
        folds.append((test, target.fold(state, value, may_reshape=not keeps_shape(state, expr, shapes))))
    # `value if c else None`: the state stays as it is where c fails
    return body + under_tests(folds)


def under_tests(blocks: Iterable[tuple[Optional[str], list[str]]]) -> list[str]:
    """Statements, each block under its test's `if` (None: always), consecutive blocks of one test under one."""
    lines: list[str] = []
    for test, group in itertools.groupby(blocks, key=lambda block: block[0]):
        statements = [line for _, block in group for line in block]
        lines += statements if test is None else [f"if {test}:", *("    " + line for line in statements)]
    return lines


def _list_size_checks(metric: ir.Metric, printer: Printer) -> list[str]:
    """Statements that refuse a list param whose entries are not as many as the input they line up with has
    along that axis (statically, at trace time, where the size is known then; else by an assertion the input then
    depends on)."""
    params = {p.name: p for p in metric.params}
    lines = []
    for size in metric.list_sizes:
        p = params[size.param]
        value = printer.param(p.name)
        # the input comes back from the check: where the check is a run-time assertion, what follows waits for it
        call = (
            f"{size.input} = _check_list_size({metric.class_name!r}, {p.name!r}, len({value}), "
            f"{size.input!r}, {size.input}, {size.axis})"
        )
        if p.type == NUMBER_OR_LIST:  # one number broadcasts against anything
            lines += [f"if isinstance({value}, list):", f"    {call}"]
        elif p.optional:
            lines += [f"if {value} is not None:", f"    {call}"]
        else:
            lines.append(call)
    return lines


def _value_code(expr: ir.Expr, printer: Printer) -> str:
    # imported here: the targets import this module, and an up-to-date build loads them but not the passes
    from .passes.branch_on_scalar import may_be_a_state

    code = printer.code(expr)
    # a state, or a view of one (torch's reshape and slices share its memory, and so may Keras' ops on the torch
    # backend): its value as it is now, which the in-place folds below would change before it is read
    return printer.target.snapshot(code) if may_be_a_state(expr) else code


def _param_doc(p: ir.Param) -> str:
    text = p.type
    if not p.required:
        text += f", default {py_literal(p.default)}"
    return f"({text}) {p.doc}".rstrip()


def _input_doc(i: ir.Input, printer: Printer) -> str:
    text = f"cast to {'the metric dtype' if i.dtype == FLOAT else printer.target.dtype_doc(i.dtype)}"
    if i.shape is not None:
        dims = ["None" if d is None else printer.code(d).replace("self.", "") for d in i.shape]
        text += ", shape (" + ("..., " if i.leading_ellipsis else "") + ", ".join(dims) + ")"
    return f"({text}) {i.doc}".rstrip()
