"""Stage 3, analyse: a validated spec → a typed, ordered :class:`metricgen.ir.Metric`.

Here the spec is checked as a whole: names (no keywords, no clashes with Keras' own attributes, no two
things with one name), every expression (parsed with the whitelist, names resolved, types checked, casts made
explicit), the order of local definitions (cycles refused), and that every state variable is updated and
every definition used. All errors of a spec are collected and reported together.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import ir
from . import syntax as syn
from .errors import Diagnostics, Location, SpecError, SpecErrors, did_you_mean
from .expressions import parse_expression
from .functions import CONSTANTS, DTYPE_NAMES, REGISTRY, STATIC_FUNCTIONS, TENSOR_KINDS, Function
from .loader import LoadedSpec
from .schema import Spec
from .types import FLOAT, Type, float_of, promote, static, tensor, tensor_dtype_of

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

# Attributes of keras.metrics.Metric (and what every generated class defines): params and state variables
# become `self.<name>`, so these names would break the class.
METRIC_ATTRIBUTES = frozenset(
    """add_variable add_weight dtype from_config get_config name reset_state result stateless_reset_state
    stateless_result stateless_update_state update_state variables merge_state built trainable weights
    trainable_weights non_trainable_weights""".split()
)
# Names the generated module itself uses in method bodies.
GENERATED_NAMES = frozenset({"tf", "keras", "ops", "self", "sample_weight", "config", "metrics", "other", "cls"})
TARGETS = ("tf", "keras")


@dataclass
class _Binding:
    kind: str  # input | param | state | local | constant
    type: Optional[Type]  # None for a local not analysed yet
    location: Location


class _Scope:
    """What names mean in one part of the spec (update or result), with lazily analysed locals."""

    def __init__(
        self,
        part: str,
        bindings: dict[str, _Binding],
        local_sources: dict[str, tuple],
        out_of_reach: frozenset[str] = frozenset(),
    ):
        self.part = part
        self.bindings = dict(bindings)
        self.out_of_reach = out_of_reach  # inputs, in result(): named in a clearer error than 'unknown'
        self.local_sources = local_sources  # name -> (text, data path)
        self.local_exprs: dict[str, ir.Expr] = {}
        self.order: list[str] = []
        self.visiting: list[str] = []
        self.referenced: set[str] = set()  # locals some expression reads (analysed, or failed with an error)


class Analyser:
    def __init__(self, spec: Spec, loaded: LoadedSpec, target: str = "tf"):
        assert target in TARGETS
        self.spec = spec
        self.loaded = loaded
        self.target = target
        self.diag = Diagnostics(loaded.path)
        self.uses_sample_weight = False

    # -- helpers --------------------------------------------------------------------------------------------
    def fail(self, message: str, location: Location, hint: str = "") -> SpecError:
        return SpecError(message, location, self.loaded.path, hint)

    def locator(self, path: tuple) -> Callable[[int, int], Location]:
        src = self.loaded.source(path)
        if src is None and tuple(path) == ("result", "value"):
            src = self.loaded.source(("result",))  # `result: <expr>`, the short form of `result: {value: <expr>}`
        if src is None:
            fixed = self.loaded.location(path)
            return lambda line, col: fixed
        base = src.location
        if src.style in ("|", ">"):
            lines = self.loaded.text.splitlines()
            first = lines[base.line] if base.line < len(lines) else ""  # the block's first content line
            indent = len(first) - len(first.lstrip())  # YAML strips this much from every line of the block

            def block(line: int, col: int) -> Location:
                return Location(base.line + line, indent + col + 1)

            return block
        quote = 1 if src.style in ("'", '"') else 0
        return lambda line, col: (
            Location(base.line, base.column + quote + col) if line <= 1 else Location(base.line + line - 1, col + 1)
        )

    def parse(self, text: str, path: tuple) -> syn.Node:
        return parse_expression(text, self.locator(path), self.loaded.path)

    # -- entry point ----------------------------------------------------------------------------------------
    def run(self) -> ir.Metric:
        spec = self.spec
        self.check_names()
        params = [self.param(name, p) for name, p in spec.params.items()]
        self.params = {p.name: p for p in params}
        states = [self.state(name, s) for name, s in spec.state.items()]
        self.states = {s.name: s for s in states}
        inputs = [self.input(i, inp) for i, inp in enumerate(spec.inputs)]
        self.inputs = {i.name: i for i in inputs}
        self.diag.raise_if_any()

        common = {
            p.name: _Binding("param", self.param_type(p), self.loaded.key_location(("params", p.name))) for p in params
        }
        common.update({name: _Binding("constant", static(c[0]), Location()) for name, c in CONSTANTS.items()})
        state_bindings = {
            s.name: _Binding("state", tensor(s.dtype), self.loaded.key_location(("state", s.name))) for s in states
        }

        update_scope = _Scope(
            "update",
            {
                **common,
                **state_bindings,
                **{
                    i.name: _Binding("input", tensor(i.dtype), self.loaded.location(("inputs", n)))
                    for n, i in enumerate(inputs)
                },
            },
            {k: (v, ("update", "let", k)) for k, v in spec.update.let.items()},
        )
        updates = []
        assignments = spec.update.assignments
        for name, text in assignments.items():
            if name not in self.states:
                hint = did_you_mean(name, self.states) or "list it under state: first"
                self.diag.error(
                    f"update for unknown state variable '{name}'", self.loaded.key_location(("update", name)), hint
                )
                continue
            expr = self.guard(lambda: self.expression(text, ("update", name), update_scope))
            if expr is not None:
                state = self.states[name]
                updates.append((state, self.fold_value(expr, state, ("update", name))))
        for state in states:
            if state.name not in assignments:
                self.diag.error(
                    f"state variable '{state.name}' is never updated",
                    self.loaded.key_location(("state", state.name)),
                    f"add 'update: {{{state.name}: <expression>}}'",
                )
        self.report_unused(update_scope, ("update", "let"))

        result_scope = _Scope(
            "result",
            {**common, **state_bindings},
            {k: (v, ("result", "let", k)) for k, v in spec.result.let.items()},
            frozenset(i.name for i in inputs),
        )
        result = self.guard(lambda: self.result_value(result_scope))
        self.report_unused(result_scope, ("result", "let"))
        self.check_examples()
        self.diag.raise_if_any()
        return ir.Metric(
            spec_path=self.loaded.path,
            name=spec.name,
            class_name=spec.class_name,
            description=spec.description,
            package=spec.package,
            params=params,
            inputs=inputs,
            states=states,
            update_locals=[(n, update_scope.local_exprs[n]) for n in update_scope.order],
            updates=updates,
            result_locals=[(n, result_scope.local_exprs[n]) for n in result_scope.order],
            result=result,
            examples=list(spec.examples),
            uses_sample_weight=self.uses_sample_weight,
        )

    def guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SpecError as exc:
            self.diag.errors.append(exc)
        except SpecErrors as exc:
            self.diag.extend(exc.errors)
        return None

    # -- declarations ---------------------------------------------------------------------------------------
    def check_names(self) -> None:
        spec = self.spec
        if keyword.iskeyword(spec.class_name) or hasattr(builtins, spec.class_name):
            what = "a Python keyword" if keyword.iskeyword(spec.class_name) else "a Python built-in the class uses"
            self.diag.error(
                f"invalid class_name '{spec.class_name}': it is {what}",
                self.loaded.location(("class_name",)),
                "CamelCase, like DiceCoefficient",
            )
        declared: dict[str, tuple[str, tuple]] = {}
        groups = [
            ("param", ("params",), list(spec.params), True),
            ("state variable", ("state",), list(spec.state), True),
            ("input", ("inputs",), [i.name for i in spec.inputs], False),
            ("definition", ("update", "let"), list(spec.update.let), False),
            ("definition", ("result", "let"), list(spec.result.let), False),
        ]
        for what, base, names, is_attribute in groups:
            for index, name in enumerate(names):
                path = base + ((index, "name") if base == ("inputs",) else (name,))
                where = self.loaded.location(path) if base == ("inputs",) else self.loaded.key_location(path)
                problem = self.name_problem(name, is_attribute)
                if problem:
                    self.diag.error(f"invalid {what} name '{name}': {problem}", where)
                    continue
                previous = declared.get(name)
                same_let_scope = previous and {previous[1][:1], base[:1]} == {("update",), ("result",)}
                if previous and not same_let_scope:
                    self.diag.error(
                        f"'{name}' is already defined as a {previous[0]}",
                        where,
                        "every param, state variable, input and definition needs its own name",
                    )
                    continue
                declared.setdefault(name, (what, base))

    @staticmethod
    def name_problem(name: str, is_attribute: bool) -> str:
        if not IDENTIFIER.fullmatch(name):
            return "names are letters, digits and '_', starting with a letter"
        if keyword.iskeyword(name) or keyword.issoftkeyword(name):
            return "it is a Python keyword"
        if name in REGISTRY or name in STATIC_FUNCTIONS:
            return "it is the name of an expression function"
        if name in CONSTANTS or name in DTYPE_NAMES or name in ("True", "False", "None"):
            return "it is a built-in constant of the expression language"
        if name in GENERATED_NAMES or hasattr(builtins, name):
            return "the generated code uses this name itself"
        if is_attribute and name in METRIC_ATTRIBUTES:
            return "keras.metrics.Metric already has an attribute of this name"
        return ""

    def param(self, name: str, p: Any) -> ir.Param:
        where = self.loaded.location(("params", name, "default"))
        default = p.default
        if not p.required:
            problem = _value_problem(p.type, default, p.min, p.max, p.choices)
            if problem:
                self.diag.error(f"default of param '{name}' {problem}", where)
        if p.type == "callable" and not p.required and default is not None:
            self.diag.error(f"a callable param's default can only be null, got {default!r}", where)
        if (p.min is not None or p.max is not None) and p.type not in ("int", "float", "list[int]", "list[float]"):
            self.diag.error(f"min/max apply to numeric params, not {p.type}", self.loaded.location(("params", name)))
        for bound in ("min", "max"):
            value = getattr(p, bound)
            if value is not None and not math.isfinite(value):
                self.diag.error(
                    f"{bound} of param '{name}' must be a finite number", self.loaded.location(("params", name, bound))
                )
        if p.min is not None and p.max is not None and p.min > p.max:
            self.diag.error(f"min of param '{name}' is larger than its max", self.loaded.location(("params", name)))
        if p.choices is not None and p.type != "str":
            self.diag.error(f"choices apply to str params, not {p.type}", self.loaded.location(("params", name)))
        return ir.Param(name, p.type, p.required, default, p.doc, p.min, p.max, p.choices)

    @staticmethod
    def param_type(p: ir.Param) -> Type:
        if p.type == "callable":
            return Type("callable")
        if p.type.startswith("list["):
            return Type("list", p.type[5:-1])
        return static(p.type)

    def static_dim(self, dim: Any, path: tuple, scope_params: dict) -> Optional[ir.Expr]:
        if isinstance(dim, bool):
            raise self.fail("a dimension must be an int or an int expression over params", self.loaded.location(path))
        if isinstance(dim, int):
            if dim < 0:
                raise self.fail(f"dimension {dim} is negative", self.loaded.location(path))
            return ir.Literal(static("int"), dim)
        scope = _Scope("shape", scope_params, {})
        expr = self.expression(dim, path, scope)
        if not (expr.type.is_static and expr.type.dtype == "int"):
            raise self.fail(
                f"a dimension must be a constant int, got {expr.type}",
                self.loaded.location(path),
                "use int params, len(list_param) and + - * //",
            )
        return expr

    def shape_scope(self) -> dict:
        return {
            p.name: _Binding("param", self.param_type(p), Location())
            for p in self.params.values()
            if p.type in ("int", "list[int]", "list[float]")
        }

    def state(self, name: str, s: Any) -> ir.State:
        shape = []
        for i, dim in enumerate(s.shape):
            expr = self.guard(lambda: self.static_dim(dim, ("state", name, "shape", i), self.shape_scope()))
            if expr is not None:
                shape.append(expr)
        if s.dtype == "bool" and s.fold != "assign":
            self.diag.error(
                f"a bool state variable can only be folded with 'assign', not '{s.fold}'",
                self.loaded.location(("state", name, "fold")),
            )
        problem = _init_problem(s.dtype, s.init)
        if problem:
            self.diag.error(
                f"initial value {s.init!r} of state variable '{name}' {problem}",
                self.loaded.location(("state", name, "init")),
            )
        return ir.State(name, tuple(shape), s.dtype, s.init, s.fold, s.doc)

    def input(self, index: int, inp: Any) -> ir.Input:
        shape = None
        leading = False
        if inp.shape is not None:
            dims: list = []
            for i, dim in enumerate(inp.shape):
                path = ("inputs", index, "shape", i)
                if dim == "...":
                    if i != 0:
                        self.diag.error("'...' can only be the first entry of a shape", self.loaded.location(path))
                    leading = True
                    continue
                if dim is None:
                    dims.append(None)
                    continue
                expr = self.guard(lambda: self.static_dim(dim, path, self.shape_scope()))
                dims.append(expr)
            shape = tuple(dims)
        names = [i.name for i in self.spec.inputs]
        if inp.same_rank_as is not None and (inp.same_rank_as not in names or inp.same_rank_as == inp.name):
            self.diag.error(
                f"same_rank_as names '{inp.same_rank_as}', which is not another input",
                self.loaded.location(("inputs", index, "same_rank_as")),
                did_you_mean(inp.same_rank_as, [n for n in names if n != inp.name]),
            )
        return ir.Input(inp.name, inp.dtype, shape, leading, inp.doc, inp.same_rank_as)

    # -- expressions ----------------------------------------------------------------------------------------
    def expression(self, text: str, path: tuple, scope: _Scope) -> ir.Expr:
        node = self.parse(text, path)
        return self.check(node, scope)

    def result_value(self, scope: _Scope) -> ir.Expr:
        expr = self.expression(self.spec.result.value, ("result", "value"), scope)
        if not expr.type.is_numeric:
            raise self.fail(f"result must be a number, got {expr.type}", self.loaded.location(("result", "value")))
        if expr.type.kind != "tensor" or expr.type.dtype not in ("float", "float16", "bfloat16", "float32", "float64"):
            expr = ir.Cast(tensor(FLOAT), expr)
        return expr

    def fold_value(self, expr: ir.Expr, state: ir.State, path: tuple) -> ir.Expr:
        if not expr.type.is_numeric:
            raise self.fail(f"update of '{state.name}' must be a number, got {expr.type}", self.loaded.location(path))
        if expr.type.kind == "tensor" and expr.type.dtype == state.dtype:
            return expr
        return ir.Cast(tensor(state.dtype), expr)

    def report_unused(self, scope: _Scope, base: tuple) -> None:
        for name in scope.local_sources:
            if name not in scope.local_exprs and name not in scope.visiting and name not in scope.referenced:
                self.guard(lambda: self.local(name, scope, None))  # still check it, to report its errors
                self.diag.error(
                    f"'{name}' is defined but never used",
                    self.loaded.key_location(base + (name,)),
                    "remove it, or use it in an update or the result",
                )

    def local(self, name: str, scope: _Scope, used_at: Optional[Location]) -> ir.Expr:
        if name in scope.local_exprs:
            return scope.local_exprs[name]
        text, path = scope.local_sources[name]
        if name in scope.visiting:
            cycle = scope.visiting[scope.visiting.index(name) :] + [name]
            raise self.fail(f"circular definition: {' -> '.join(cycle)}", used_at or self.loaded.location(path))
        scope.visiting.append(name)
        try:
            expr = self.expression(text, path, scope)
        finally:
            scope.visiting.pop()
        scope.local_exprs[name] = expr
        scope.order.append(name)
        return expr

    def check(self, node: syn.Node, scope: _Scope) -> ir.Expr:
        method = getattr(self, "check_" + type(node).__name__)
        return method(node, scope)

    def check_Const(self, node: syn.Const, scope: _Scope) -> ir.Expr:
        if node.value is None:
            raise self.fail("None is only allowed as a function argument (axis=None) or in a subscript", node.loc)
        kind = "bool" if isinstance(node.value, bool) else ("int" if isinstance(node.value, int) else "float")
        return ir.Literal(static(kind), node.value)

    def check_Name(self, node: syn.Name, scope: _Scope) -> ir.Expr:
        name = node.id
        if name in scope.local_sources:
            scope.referenced.add(name)
            expr = self.local(name, scope, node.loc)
            return ir.Ref(expr.type, "local", name)
        binding = scope.bindings.get(name)
        if binding is not None:
            if binding.type.kind == "callable":
                raise self.fail(f"'{name}' is a callable param: call it, {name}(...)", node.loc)
            return ir.Ref(binding.type, binding.kind, name)
        if name in scope.out_of_reach:
            raise self.fail(
                f"input '{name}' is not available in result()",
                node.loc,
                "accumulate what you need from it in a state variable",
            )
        if scope.part == "shape" and name in self.params:
            raise self.fail(
                f"param '{name}' of type {self.params[name].type} cannot size a shape", node.loc, "use an int param"
            )
        if name in REGISTRY or name in STATIC_FUNCTIONS:
            raise self.fail(f"'{name}' is a function: call it, {name}(...)", node.loc)
        if name in DTYPE_NAMES:
            raise self.fail(f"dtype '{name}' is only allowed as the second argument of cast()", node.loc)
        if name == "sample_weight":
            raise self.fail(
                "sample_weight is not a value in expressions",
                node.loc,
                "use weighted_sum(x), weighted_count(x) or sample_weights(x)",
            )
        hint = did_you_mean(name, list(scope.bindings) + list(scope.local_sources))
        if scope.part == "shape":
            what = (
                "state variable"
                if name in self.spec.state
                else "input" if name in {i.name for i in self.spec.inputs} else ""
            )
            if what:
                raise self.fail(
                    f"{what} '{name}' cannot size a shape",
                    node.loc,
                    "shapes can only use int params, len(list_param) and constants",
                )
            hint = hint or "a shape can only name params: declare it under params: with type: int"
        raise self.fail(f"unknown name '{name}'", node.loc, hint)

    def check_Tuple(self, node: syn.Tuple, scope: _Scope) -> ir.Expr:
        raise self.fail("tuples and lists are only allowed as function arguments (axis=(0, 1))", node.loc)

    def check_UnaryOp(self, node: syn.UnaryOp, scope: _Scope) -> ir.Expr:
        x = self.value(node.operand, scope)
        if node.op in ("not", "~"):
            self.require_bool(x, node.operand.loc, f"'{node.op}'")
            if x.type.is_static:
                return ir.Operator(x.type, "not", (x,))
            return ir.Operator(tensor("bool"), "not", (self.to_tensor(x, "bool"),))
        self.require_number(x, node.operand.loc, f"unary '{node.op}'")
        op = "neg" if node.op == "-" else "pos"
        if x.type.is_static:
            return ir.Operator(static("int" if x.type.dtype == "bool" else x.type.dtype), op, (x,))
        dtype = promote([x.type])
        return ir.Operator(tensor(dtype), op, (self.to_tensor(x, dtype),))

    def check_BinOp(self, node: syn.BinOp, scope: _Scope) -> ir.Expr:
        left, right = self.value(node.left, scope), self.value(node.right, scope)
        if node.op in ("&", "|"):
            for x, sub in ((left, node.left), (right, node.right)):
                self.require_bool(x, sub.loc, f"'{node.op}'")
            return self.logical("and" if node.op == "&" else "or", [left, right])
        for x, sub in ((left, node.left), (right, node.right)):
            self.require_number(x, sub.loc, f"'{node.op}'")
        if left.type.is_static and right.type.is_static:
            kinds = {left.type.dtype, right.type.dtype}
            integral = "float" not in kinds and node.op != "/"
            if node.op == "**" and not (isinstance(right, ir.Literal) and right.value >= 0):
                integral = False  # n ** -1 is a float
            return ir.Operator(static("int" if integral else "float"), node.op, (left, right))
        if node.op == "/":
            return self.typed_apply(REGISTRY["safe_div"], {"a": left, "b": right})
        dtype = promote([left.type, right.type])
        return ir.Operator(tensor(dtype), node.op, (self.weak(left, dtype), self.weak(right, dtype)))

    def check_Compare(self, node: syn.Compare, scope: _Scope) -> ir.Expr:
        left, right = self.value(node.left, scope), self.value(node.right, scope)
        both_bool = left.type.is_bool and right.type.is_bool
        if not both_bool:
            for x, sub in ((left, node.left), (right, node.right)):
                self.require_number(x, sub.loc, f"'{node.op}'")
        if left.type.is_static and right.type.is_static:
            return ir.Operator(static("bool"), node.op, (left, right))
        dtype = "bool" if both_bool else promote([left.type, right.type])
        return ir.Operator(tensor("bool"), node.op, (self.weak(left, dtype), self.weak(right, dtype)))

    def check_BoolOp(self, node: syn.BoolOp, scope: _Scope) -> ir.Expr:
        values = [self.value(v, scope) for v in node.values]
        for x, sub in zip(values, node.values):
            self.require_bool(x, sub.loc, f"'{node.op}'")
        return self.logical(node.op, values)

    def logical(self, op: str, values: list[ir.Expr]) -> ir.Expr:
        if all(v.type.is_static for v in values):
            return ir.Operator(static("bool"), op, tuple(values))
        return ir.Operator(tensor("bool"), op, tuple(self.to_tensor(v, "bool") for v in values))

    def check_IfElse(self, node: syn.IfElse, scope: _Scope) -> ir.Expr:
        cond = self.value(node.cond, scope)
        self.require_bool(cond, node.cond.loc, "a condition")
        then, orelse = self.value(node.then, scope), self.value(node.orelse, scope)
        for x, sub in ((then, node.then), (orelse, node.orelse)):
            self.require_number(x, sub.loc, "a conditional expression")
        if cond.type.is_static and then.type.is_static and orelse.type.is_static:
            kinds = {then.type.dtype, orelse.type.dtype}
            dtype = "float" if "float" in kinds else ("int" if "int" in kinds else "bool")
            return ir.Select(static(dtype), cond, then, orelse)
        if cond.type.is_static:  # chosen when the metric is traced: no tensor select needed
            both_bool = then.type.is_bool and orelse.type.is_bool
            dtype = "bool" if both_bool else promote([then.type, orelse.type])
            return ir.Select(tensor(dtype), cond, self.to_tensor(then, dtype), self.to_tensor(orelse, dtype))
        return self.typed_apply(REGISTRY["where"], {"cond": cond, "a": then, "b": orelse})

    def check_Index(self, node: syn.Index, scope: _Scope) -> ir.Expr:
        value = self.value(node.value, scope)
        if value.type.kind == "list":
            value = self.to_tensor(value, tensor_dtype_of(value.type))
        if not value.type.is_tensor:
            raise self.fail(f"only tensors can be indexed, not a {value.type}", node.value.loc)
        items: list = []
        ellipses = 0
        for item in node.items:
            if isinstance(item, syn.NewAxis):
                items.append("None")
            elif isinstance(item, syn.EllipsisItem):
                ellipses += 1
                items.append("...")
            elif isinstance(item, syn.SliceItem):
                parts = [
                    None if p is None else self.static_int(p, scope, "a slice bound")
                    for p in (item.lower, item.upper, item.step)
                ]
                if isinstance(parts[2], ir.Literal) and parts[2].value == 0:
                    raise self.fail("a slice step cannot be 0", item.loc)
                items.append(ir.Slice(*parts))
            else:
                items.append(self.static_int(item, scope, "an index", "to pick entries by a tensor, use gather(x, i)"))
        if ellipses > 1:
            raise self.fail("an index can have only one '...'", node.loc)
        return ir.Subscript(value.type, value, tuple(items))

    def check_Call(self, node: syn.Call, scope: _Scope) -> ir.Expr:
        name = node.func
        param = self.params.get(name)
        if param is not None and param.type == "callable":
            if not param.required:
                raise self.fail(
                    f"callable param '{name}' may be None (its default is null), so it cannot be called",
                    node.loc,
                    "remove its default to make it required",
                )
            if node.kwargs:
                raise self.fail(f"callable param '{name}' takes positional arguments only", node.loc)
            args = []
            for arg in node.args:
                value = self.value(arg, scope)
                self.require_number(value, arg.loc, f"an argument of '{name}'")
                args.append(value if value.type.is_tensor else self.to_tensor(value, promote([value.type])))
            return ir.CallParam(tensor(FLOAT), name, tuple(args))
        if name == "len":
            if len(node.args) != 1 or node.kwargs:
                raise self.fail("len() takes exactly one argument, a list param", node.loc)
            arg = node.args[0]
            if not (
                isinstance(arg, syn.Name) and arg.id in self.params and self.params[arg.id].type.startswith("list")
            ):
                raise self.fail("len() only applies to list params", arg.loc)
            return ir.Length(static("int"), arg.id)
        function = REGISTRY.get(name)
        if function is None:
            if name in scope.bindings or name in scope.local_sources:
                raise self.fail(f"'{name}' is not a function", node.loc)
            hint = did_you_mean(
                name,
                list(REGISTRY)
                + list(STATIC_FUNCTIONS)
                + [p.name for p in self.params.values() if p.type == "callable"],
            )
            raise self.fail(f"unknown function '{name}'", node.loc, hint or "see 'Expression functions' in the README")
        if function.lowerings.get(self.target) is None:
            raise self.fail(
                f"function '{name}' has no form for the {self.target} target",
                node.loc,
                "it exists for: " + ", ".join(t for t, v in function.lowerings.items() if v is not None),
            )
        if function.uses_sample_weight:
            if scope.part != "update":
                raise self.fail(
                    f"{name}() reads the batch's sample weights, so it can only be used under update:", node.loc
                )
            self.uses_sample_weight = True
        return self.apply(function, self.bind(function, node), scope, node.loc)

    def bind(self, function: Function, node: syn.Call) -> dict[str, syn.Node]:
        names = [a.name for a in function.args]
        bound: dict[str, syn.Node] = {}
        if len(node.args) > len(names):
            raise self.fail(
                f"{function.name}() takes at most {len(names)} arguments, got {len(node.args)}",
                node.loc,
                function.signature,
            )
        for arg, value in zip(function.args, node.args):
            bound[arg.name] = value
        for keyword in node.kwargs:
            key = keyword.name
            if key not in names:
                hint = did_you_mean(key, names) or function.signature
                raise self.fail(f"{function.name}() has no argument '{key}'", keyword.loc, hint)
            if key in bound:
                raise self.fail(f"{function.name}() got argument '{key}' twice", keyword.loc)
            bound[key] = keyword.value
        missing = [a.name for a in function.args if a.required and a.name not in bound]
        if missing:
            raise self.fail(f"{function.name}() is missing argument '{missing[0]}'", node.loc, function.signature)
        return bound

    def apply(self, function: Function, bound: dict[str, syn.Node], scope: _Scope, loc: Location) -> ir.Expr:
        values: dict[str, ir.Expr] = {}
        for arg in function.args:
            node = bound.get(arg.name)
            if node is None:
                continue
            what = f"argument '{arg.name}' of {function.name}()"
            if arg.kind in TENSOR_KINDS:
                value = self.value(node, scope)
                if arg.kind == "bool":
                    self.require_bool(value, node.loc, what)
                elif arg.kind in ("any", "same"):
                    if not (value.type.is_numeric or value.type.is_bool):
                        raise self.fail(f"{what} must be a tensor, got {value.type}", node.loc)
                else:
                    self.require_number(value, node.loc, what)
                if arg.kind == "int" and not value.type.is_int:
                    raise self.fail(
                        f"{what} must be integers, got {value.type}",
                        node.loc,
                        "use cast(x, int32) or declare the input with dtype: int32",
                    )
                values[arg.name] = value
            else:
                values[arg.name] = self.static_arg(arg.kind, node, scope, what, allow_none=arg.default == "None")
        return self.typed_apply(function, values)

    def typed_apply(self, function: Function, values: dict[str, ir.Expr]) -> ir.Expr:
        """``function`` applied to checked arguments: tensor arguments cast to what it needs, result typed."""

        def common_dtype(kinds: tuple[str, ...]) -> str:
            given = [values[a.name] for a in function.args if a.kind in kinds and a.name in values]
            if given and all(v.type.is_bool for v in given):
                return "bool" if kinds == ("same",) else FLOAT
            return promote([v.type for v in given]) if given else FLOAT

        numeric = common_dtype(("num", "float"))
        if function.result == "float" or any(a.kind == "float" for a in function.args):
            numeric = float_of(numeric)
        same = common_dtype(("same",))
        args: list[tuple[str, Optional[ir.Expr]]] = []
        for arg in function.args:
            value = values.get(arg.name)
            if value is not None and arg.kind in ("num", "float"):
                value = self.to_tensor(value, numeric)
            elif value is not None and arg.kind == "same":
                value = self.to_tensor(value, same)
            elif value is not None and arg.kind in ("int", "bool", "any"):
                value = self.to_tensor(value, tensor_dtype_of(value.type))
            args.append((arg.name, value))
        given = dict(args)
        rule = function.result
        if rule in ("num", "float"):
            dtype = numeric
        elif rule == "same":
            dtype = same
        elif rule == "x":
            dtype = given["x"].type.dtype
        elif rule == "dtype":
            dtype = given["dtype"].name
        elif rule == "weights":
            dtype = given["weights"].type.dtype if given.get("weights") is not None else FLOAT
        else:
            dtype = {"bool": "bool", "int32": "int32", "compute": FLOAT}[rule]
        if function.name == "cast" and given["x"].type == tensor(dtype):
            return given["x"]  # already of that dtype (inputs are cast on entry): no op to emit
        return ir.Apply(tensor(dtype), function.name, tuple(args))

    def static_arg(self, kind: str, node: syn.Node, scope: _Scope, what: str, allow_none: bool) -> ir.Expr:
        if kind == "dtype":
            if isinstance(node, syn.Name) and node.id in DTYPE_NAMES:
                return ir.DTypeName(Type("dtype"), node.id)
            raise self.fail(f"{what} must be a dtype name", node.loc, "one of " + ", ".join(DTYPE_NAMES))
        if isinstance(node, syn.Const) and node.value is None:
            if allow_none:  # only where None is the documented default (all axes, reversed axes, ...)
                return ir.Literal(static("none"), None)  # type: ignore[arg-type]
            raise self.fail(f"{what} cannot be None", node.loc)
        if kind in ("axes", "shape") and isinstance(node, syn.Tuple):
            items = tuple(self.static_int(i, scope, what) for i in node.items)
            if kind == "shape" and sum(isinstance(i, ir.Operator) and i.op == "neg" for i in items) > 1:
                raise self.fail(f"{what} can have -1 only once", node.loc)
            return ir.TupleOf(static("tuple"), items)
        if kind == "shape":
            raise self.fail(f"{what} must be a list of ints, like [-1] or [2, n]", node.loc)
        if kind == "flag":
            value = self.value(node, scope)
            if not (value.type.is_static and value.type.dtype == "bool"):
                raise self.fail(f"{what} must be a constant True or False, got {value.type}", node.loc)
            return value
        if kind == "number":
            value = self.value(node, scope)
            if not (value.type.is_static and value.type.dtype in ("int", "float")):
                raise self.fail(f"{what} must be a constant number, got {value.type}", node.loc)
            return value
        value = self.static_int(node, scope, what)
        if kind == "count" and isinstance(value, ir.Literal) and value.value < 0:
            raise self.fail(f"{what} cannot be negative", node.loc)
        return value

    def static_int(self, node: syn.Node, scope: _Scope, what: str, hint: str = "") -> ir.Expr:
        value = self.value(node, scope)
        if not (value.type.is_static and value.type.dtype == "int"):
            raise self.fail(
                f"{what} must be a constant int, got {value.type}",
                node.loc,
                hint or "use int literals, int params and len(list_param)",
            )
        return value

    # -- value helpers --------------------------------------------------------------------------------------
    def value(self, node: syn.Node, scope: _Scope) -> ir.Expr:
        return self.check(node, scope)

    def require_number(self, x: ir.Expr, loc: Location, what: str) -> None:
        if not (x.type.is_numeric or x.type.is_bool) or x.type.dtype in ("str", "none", "tuple"):
            raise self.fail(f"{what} needs a number, got {x.type}", loc)

    def require_bool(self, x: ir.Expr, loc: Location, what: str) -> None:
        if not x.type.is_bool:
            raise self.fail(f"{what} needs a boolean, got {x.type}", loc, "compare it, e.g. x > 0")

    @staticmethod
    def to_tensor(x: ir.Expr, dtype: str) -> ir.Expr:
        """``x`` as a tensor of ``dtype``, with a cast only where one is needed."""
        if x.type.is_tensor and x.type.dtype == dtype:
            return x
        return ir.Cast(tensor(dtype), x)

    def weak(self, x: ir.Expr, dtype: str) -> ir.Expr:
        """An operand of a Python operator: numeric constants stay Python numbers (TF converts them to the
        other operand's dtype); tensors and lists are cast to ``dtype``."""
        if (
            x.type.is_static
            and x.type.dtype in ("int", "float")
            and not (x.type.dtype == "float" and dtype in ("int32", "int64"))
        ):
            return x
        return self.to_tensor(x, dtype)

    # -- examples -------------------------------------------------------------------------------------------
    def check_examples(self) -> None:
        input_names = [i.name for i in self.spec.inputs]
        for n, example in enumerate(self.spec.examples):
            for key in example.params:
                if key not in self.params:
                    self.diag.error(
                        f"example sets unknown param '{key}'",
                        self.loaded.key_location(("examples", n, "params", key)),
                        did_you_mean(key, self.params),
                    )
            for p in self.params.values():
                if p.required and p.name not in example.params:
                    self.diag.error(
                        f"example needs a value for required param '{p.name}'", self.loaded.location(("examples", n))
                    )
                elif p.name in example.params and p.type != "callable":
                    problem = _value_problem(p.type, example.params[p.name], p.min, p.max, p.choices)
                    if problem:
                        self.diag.error(
                            f"example value of param '{p.name}' {problem}",
                            self.loaded.location(("examples", n, "params", p.name)),
                        )
            for b, batch in enumerate(example.batches):
                for key in batch:
                    if key not in input_names and key != "sample_weight":
                        self.diag.error(
                            f"example batch has unknown input '{key}'",
                            self.loaded.key_location(("examples", n, "batches", b, key)),
                            did_you_mean(key, input_names + ["sample_weight"]),
                        )
                for name in input_names:
                    if name not in batch:
                        self.diag.error(
                            f"example batch is missing input '{name}'",
                            self.loaded.location(("examples", n, "batches", b)),
                        )


_INT_RANGE = {"int32": 2**31, "int64": 2**63}


def _init_problem(dtype: str, init: Any) -> str:
    """Why ``init`` cannot start a state variable of ``dtype``, or '' when it can."""
    if dtype == "bool":
        return "" if isinstance(init, bool) else "must be true or false for a bool state"
    if isinstance(init, bool):
        return f"must be a number for a {dtype} state"
    if dtype in _INT_RANGE:
        if isinstance(init, float) and (not math.isfinite(init) or init != int(init)):
            return f"does not fit an {dtype} state"
        if not -_INT_RANGE[dtype] <= int(init) < _INT_RANGE[dtype]:
            return f"is out of the {dtype} range"
    return ""


def _value_problem(ptype: str, value: Any, lo: Any, hi: Any, choices: Optional[list]) -> str:
    """Why ``value`` is not a valid value of a param, or '' when it is."""

    def number(v: Any, integral: bool) -> bool:
        if isinstance(v, bool):
            return False
        return isinstance(v, int) if integral else isinstance(v, (int, float))

    if ptype == "callable":
        return "" if value is None else "must be null (a callable cannot be written in a spec)"
    if ptype in ("int", "float"):
        if not number(value, ptype == "int"):
            return f"must be {'an' if ptype == 'int' else 'a'} {ptype}, got {value!r}"
        items = [value]
    elif ptype.startswith("list["):
        item_type = ptype[5:-1]
        if not isinstance(value, list) or not all(number(v, item_type == "int") for v in value):
            return f"must be a list of {item_type}s, got {value!r}"
        items = value
    elif ptype == "bool":
        return "" if isinstance(value, bool) else f"must be true or false, got {value!r}"
    else:
        if not isinstance(value, str):
            return f"must be a string, got {value!r}"
        if choices is not None and value not in choices:
            return f"must be one of {', '.join(map(repr, choices))}, got {value!r}"
        return ""
    for v in items:
        if lo is not None and v < lo:
            return f"must be at least {lo}, got {v!r}"
        if hi is not None and v > hi:
            return f"must be at most {hi}, got {v!r}"
    return ""


def analyse(spec: Spec, loaded: LoadedSpec, target: str = "tf") -> ir.Metric:
    return Analyser(spec, loaded, target).run()
