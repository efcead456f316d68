"""The type checker: an expression's syntax tree → typed IR, with every cast explicit.

Names are resolved through a :class:`Scope`; calls are checked in :mod:`.calls`. Types follow
:mod:`metricgen.types`: constants are weak, tensors of different dtypes meet in a promoted dtype, and what makes
no sense (a float index, `not` on a float) is refused with its location.
"""

from __future__ import annotations

from .. import ir
from .. import syntax as syn
from ..errors import Location, did_you_mean
from ..functions import DTYPE_NAMES, REGISTRY, STATIC_FUNCTIONS
from ..types import FLOAT_DTYPES, FLOAT, INT_DTYPES, promote, static, tensor, tensor_dtype_of
from . import calls, comparisons, constants
from .context import Context
from .scopes import Scope, local
from .shapes import shape_sources

_FOLD_VERB = {"add": "adds", "max": "folds in", "min": "folds in", "assign": "assigns", "append": "appends"}


class Checker:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def expression(self, text: str, path: tuple, scope: Scope) -> ir.Expr:
        return self.check(self.ctx.parse(text, path), scope)

    def check(self, node: syn.Node, scope: Scope, may_be_none: bool = False) -> ir.Expr:
        expr = getattr(self, "check_" + type(node).__name__)(node, scope)
        if expr.type.optional and not may_be_none:
            name = expr.name if isinstance(expr, ir.Ref) else "this value"
            raise self.ctx.fail(
                f"param '{name}' may be None here",
                node.loc,
                f"use it where it is known not to be, e.g. `... if {name} is not None else ...`",
            )
        return expr

    # -- requirements and coercions -------------------------------------------------------------------------
    def require_number(self, x: ir.Expr, loc: Location, what: str) -> None:
        if not (x.type.is_numeric or x.type.is_bool) or x.type.dtype in ("str", "none", "tuple"):
            raise self.ctx.fail(f"{what} needs a number, got {x.type}", loc)

    def require_bool(self, x: ir.Expr, loc: Location, what: str) -> None:
        if x.type.is_bool:
            return
        hint = "compare it, e.g. x > 0"
        if x.type.dtype == "str" and isinstance(x, ir.Ref) and x.kind == "param":
            choices = self.ctx.params[x.name].choices
            hint = f"compare it, e.g. {x.name} == {(choices or ['...'])[0]!r}"
        raise self.ctx.fail(f"{what} needs a boolean, got {x.type}", loc, hint)

    @staticmethod
    def to_tensor(x: ir.Expr, dtype: str) -> ir.Expr:
        """``x`` as a tensor of ``dtype``, with a cast only where one is needed."""
        if x.type.is_tensor and x.type.dtype == dtype:
            return x
        return ir.Cast(tensor(dtype), x)

    def weak(self, x: ir.Expr, dtype: str) -> ir.Expr:
        """An operand of a Python operator: numeric constants stay Python numbers (the array library converts
        them to the other operand's dtype); tensors and lists are cast to ``dtype``."""
        if (
            x.type.is_static
            and x.type.dtype in ("int", "float")
            and not (x.type.dtype == "float" and dtype in ("int32", "int64"))
        ):
            return x
        return self.to_tensor(x, dtype)

    def logical(self, op: str, values: list[ir.Expr]) -> ir.Expr:
        if all(v.type.is_static for v in values):
            return ir.Operator(static("bool"), op, tuple(values))
        return ir.Operator(tensor("bool"), op, tuple(self.to_tensor(v, "bool") for v in values))

    def broadcast(
        self, constant: ir.Expr, dtype: str, other: ir.Expr, scopes: tuple[Scope, Scope], other_loc: Location
    ) -> ir.Expr:
        """``constant``, chosen when the metric is traced in place of the tensor ``other``, as a tensor of
        ``other``'s shape: `p is None or y_true != p` is a mask of y_true's shape whether p is given or not.

        ``scopes`` are where the constant is chosen and where ``other`` is computed: ``other``'s shape is taken
        from the tensors it broadcasts, and must not need a param that is known not to be None only there."""
        chosen_in, computed_in = scopes
        sources = shape_sources(other, chosen_in)
        if sources is None:
            unknown = sorted(computed_in.known_not_none - chosen_in.known_not_none)
            if unknown:
                raise self.ctx.fail(
                    f"the shape of this value needs param '{unknown[0]}', so the constant chosen where "
                    f"'{unknown[0]}' is None cannot take it",
                    other_loc,
                    f"write it so that its shape does not need '{unknown[0]}' (`{unknown[0]} is None or y_true != "
                    f"{unknown[0]}`), or choose between two whole values: `A if {unknown[0]} is not None else B`",
                )
            raise self.ctx.fail(
                "the shape of this value is not known when the spec is built (it is not made element-wise from "
                "inputs, state and definitions), so the constant chosen in its place cannot take it",
                other_loc,
                "choose between two tensors, e.g. ones_like(y_true) > 0 for True",
            )
        ones = [ir.Apply(tensor(dtype), "ones_like", (("x", self.to_tensor(s, dtype)),), other_loc) for s in sources]
        if not ones:  # `other` is a number
            return self.to_tensor(constant, dtype)
        if not (isinstance(constant, ir.Literal) and constant.value == 1):  # True, 1, 1.0 are the ones already
            ones.append(self.to_tensor(constant, dtype) if dtype == "bool" else self.weak(constant, dtype))
        shaped = ones[0]
        for factor in ones[1:]:
            shaped = ir.Operator(tensor(dtype), "and" if dtype == "bool" else "*", (shaped, factor))
        return shaped

    # -- nodes ----------------------------------------------------------------------------------------------
    def check_Const(self, node: syn.Const, scope: Scope) -> ir.Expr:
        if node.value is None:
            raise self.ctx.fail(
                "None is only allowed as a function argument (axis=None), in a subscript, after 'is', or as a "
                "branch of a state's update (`value if p is not None else None`: left as it is there)",
                node.loc,
            )
        if isinstance(node.value, str):
            kind = "str"
        else:
            kind = "bool" if isinstance(node.value, bool) else ("int" if isinstance(node.value, int) else "float")
        return ir.Literal(static(kind), node.value)

    def check_Name(self, node: syn.Name, scope: Scope) -> ir.Expr:
        ctx, name = self.ctx, node.id
        if name in scope.local_sources:
            scope.referenced.add(name)
            expr = local(self, name, scope.base, node.loc, where=scope)
            return ir.Ref(expr.type, "local", name)
        binding = scope.bindings.get(name)
        if binding is not None:
            if binding.type.kind == "callable":
                raise ctx.fail(f"'{name}' is a callable param: call it, {name}(...)", node.loc)
            return ir.Ref(binding.type, binding.kind, name)
        if name in scope.out_of_reach:
            raise ctx.fail(
                f"input '{name}' is not available in result()",
                node.loc,
                "accumulate what you need from it in a state variable",
            )
        if scope.part == "shape" and name in ctx.params:
            raise ctx.fail(
                f"param '{name}' of type {ctx.params[name].type} cannot size a shape", node.loc, "use an int param"
            )
        if (name in REGISTRY and not REGISTRY[name].internal) or name in STATIC_FUNCTIONS:
            raise ctx.fail(f"'{name}' is a function: call it, {name}(...)", node.loc)
        if name in DTYPE_NAMES:
            raise ctx.fail(f"dtype '{name}' is only allowed as the second argument of cast()", node.loc)
        if name == "sample_weight":
            raise ctx.fail(
                "sample_weight is not a value in expressions",
                node.loc,
                "use weighted_sum(x), weighted_count(x), samplewise_sum(x), samplewise_count(x) or sample_weights(x)",
            )
        hint = did_you_mean(name, scope.bindings, scope.local_sources)
        if scope.part == "shape":
            inputs = {i.name for i in ctx.spec.inputs}
            what = "state variable" if name in ctx.spec.state else "input" if name in inputs else ""
            if what:
                raise ctx.fail(
                    f"{what} '{name}' cannot size a shape",
                    node.loc,
                    "shapes can only use int params, len(list_param), constants, and an input's size on the first "
                    "batch: shape(y_pred, -1)",
                )
            hint = hint or "a shape can only name params: declare it under params: with type: int"
        raise ctx.fail(f"unknown name '{name}'", node.loc, hint)

    def check_Tuple(self, node: syn.Tuple, scope: Scope) -> ir.Expr:
        raise self.ctx.fail("tuples and lists are only allowed as function arguments (axis=(0, 1))", node.loc)

    def check_UnaryOp(self, node: syn.UnaryOp, scope: Scope) -> ir.Expr:
        x = self.check(node.operand, scope)
        if node.op in ("not", "~"):
            self.require_bool(x, node.operand.loc, f"'{node.op}'")
            if x.type.is_static:
                return ir.Operator(x.type, "not", (x,))
            return ir.Operator(tensor("bool"), "not", (self.to_tensor(x, "bool"),))
        self.require_number(x, node.operand.loc, f"unary '{node.op}'")
        op = "neg" if node.op == "-" else "pos"
        if x.type.is_static:
            return self.constant(
                ir.Operator(static("int" if x.type.dtype == "bool" else x.type.dtype), op, (x,)), node, scope
            )
        dtype = promote([x.type])
        return ir.Operator(tensor(dtype), op, (self.to_tensor(x, dtype),))

    def check_BinOp(self, node: syn.BinOp, scope: Scope) -> ir.Expr:
        left, right = self.check(node.left, scope), self.check(node.right, scope)
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
            result = ir.Operator(static("int" if integral else "float"), node.op, (left, right))
            return self.constant(result, node, scope)
        if node.op == "/":
            return calls.typed_apply(self, REGISTRY["safe_div"], {"a": left, "b": right}, node.loc)
        dtype = promote([left.type, right.type])
        if node.op == "**" and dtype in ("int32", "int64") and not _non_negative(right):
            dtype = FLOAT  # an int to a negative power is a fraction (TensorFlow refuses it on int tensors)
        return ir.Operator(tensor(dtype), node.op, (self.weak(left, dtype), self.weak(right, dtype)))

    def constant(self, expr: ir.Expr, node: syn.Node, scope: Scope) -> ir.Expr:
        """A constant operation, computed now with params at their defaults: refused if it overflows, is
        complex, or would take unbounded work."""
        try:
            constants.bounds(expr, calls.known(self, scope))
        except constants.ConstantProblem as problem:
            raise self.ctx.fail(f"this constant {problem}", node.loc, "params are taken at their defaults") from None
        return expr

    def check_Compare(self, node: syn.Compare, scope: Scope) -> ir.Expr:
        if node.op in ("is", "is not"):
            return comparisons.none_test(self, node, scope)
        left, right = self.check(node.left, scope), self.check(node.right, scope)
        if "str" in (left.type.dtype, right.type.dtype) and not (left.type.is_tensor or right.type.is_tensor):
            return comparisons.string_comparison(self, node, left, right)
        both_bool = left.type.is_bool and right.type.is_bool
        if not both_bool:
            for x, sub in ((left, node.left), (right, node.right)):
                self.require_number(x, sub.loc, f"'{node.op}'")
        if left.type.is_static and right.type.is_static:
            return ir.Operator(static("bool"), node.op, (left, right))
        dtype = "bool" if both_bool else promote([left.type, right.type])
        return ir.Operator(tensor("bool"), node.op, (self.weak(left, dtype), self.weak(right, dtype)))

    def check_BoolOp(self, node: syn.BoolOp, scope: Scope) -> ir.Expr:
        """`and` / `or` as Python reads them: an operand is checked knowing the ones before it held (`and`) or
        failed (`or`), so `ignore_class is None or y != ignore_class` is allowed; an operand that is a constant
        decides at trace time, and what follows it is computed only when it must be."""
        return self._operands(node.op, node.values, scope)

    def _operands(self, op: str, operands: list[syn.Node], scope: Scope) -> ir.Expr:
        """``operands`` joined by ``op``, right-nested, so that what follows a constant is computed only
        where that constant says (and only there knows what it says)."""
        first = self.check(operands[0], scope)
        self.require_bool(first, operands[0].loc, f"'{op}'")
        if len(operands) == 1:
            return first
        when_true, when_false = comparisons.none_branches(operands[0], scope)
        rest_scope, decided_scope = (when_true, when_false) if op == "and" else (when_false, when_true)
        rest = self._operands(op, operands[1:], rest_scope)
        if first.type.is_static and rest.type.is_tensor:
            decided = ir.Literal(static("bool"), op == "or")  # `True or ...` is True, `False and ...` False
            decided = self.broadcast(decided, "bool", rest, (decided_scope, rest_scope), operands[1].loc)
            then, orelse = (decided, rest) if op == "or" else (rest, decided)
            return ir.Select(tensor("bool"), first, then, orelse)
        return self.logical(op, [first, rest])

    def condition(self, node: syn.IfElse, scope: Scope) -> tuple[ir.Expr, Scope, Scope]:
        """A conditional's test, and the scopes of its two branches (a param tested against None narrowed)."""
        cond = self.check(node.cond, scope)
        self.require_bool(cond, node.cond.loc, "a condition")
        return (cond, *comparisons.none_branches(node.cond, scope))

    def check_IfElse(self, node: syn.IfElse, scope: Scope) -> ir.Expr:
        cond, then_scope, orelse_scope = self.condition(node, scope)
        then, orelse = self.check(node.then, then_scope), self.check(node.orelse, orelse_scope)
        for x, sub in ((then, node.then), (orelse, node.orelse)):
            self.require_number(x, sub.loc, "a conditional expression")
        if cond.type.is_static and then.type.is_static and orelse.type.is_static:
            kinds = {then.type.dtype, orelse.type.dtype}
            dtype = "float" if "float" in kinds else ("int" if "int" in kinds else "bool")
            return ir.Select(static(dtype), cond, then, orelse)
        if cond.type.is_static:  # chosen when the metric is traced: no tensor select needed
            both_bool = then.type.is_bool and orelse.type.is_bool
            dtype = "bool" if both_bool else promote([then.type, orelse.type])
            if then.type.is_static:
                then = self.broadcast(then, dtype, orelse, (then_scope, orelse_scope), node.orelse.loc)
            elif orelse.type.is_static:
                orelse = self.broadcast(orelse, dtype, then, (orelse_scope, then_scope), node.then.loc)
            return ir.Select(tensor(dtype), cond, self.to_tensor(then, dtype), self.to_tensor(orelse, dtype))
        return calls.typed_apply(self, REGISTRY["where"], {"cond": cond, "a": then, "b": orelse}, node.loc)

    def check_Index(self, node: syn.Index, scope: Scope) -> ir.Expr:
        value = self.check(node.value, scope)
        if value.type.kind == "list":
            value = self.to_tensor(value, tensor_dtype_of(value.type))
        if not value.type.is_tensor:
            raise self.ctx.fail(f"only tensors can be indexed, not a {value.type}", node.value.loc)
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
                    None if p is None else calls.static_int(self, p, scope, "a slice bound")
                    for p in (item.lower, item.upper, item.step)
                ]
                if isinstance(parts[2], ir.Literal) and parts[2].value == 0:
                    raise self.ctx.fail("a slice step cannot be 0", item.loc)
                items.append(ir.Slice(*parts))
            else:
                items.append(
                    calls.static_int(self, item, scope, "an index", "to pick entries by a tensor, use gather(x, i)")
                )
        if ellipses > 1:
            raise self.ctx.fail("an index can have only one '...'", node.loc)
        return ir.Subscript(value.type, value, tuple(items))

    def check_Call(self, node: syn.Call, scope: Scope) -> ir.Expr:
        return calls.check_call(self, node, scope)

    # -- the parts of a spec that are expressions -----------------------------------------------------------
    def result_value(self, text: str, scope: Scope) -> ir.Expr:
        expr = self.expression(text, ("result", "value"), scope)
        if not expr.type.is_numeric:
            raise self.ctx.fail(
                f"result must be a number, got {expr.type}", self.ctx.loaded.location(("result", "value"))
            )
        if expr.type.kind != "tensor" or expr.type.dtype not in FLOAT_DTYPES:
            expr = ir.Cast(tensor(FLOAT), expr)
        return expr

    def update_value(self, text: str, state: ir.State, path: tuple, scope: Scope) -> ir.Expr:
        """A state's update: the batch value folded in, or `value if c else None` (None in either branch, c
        decided by the params): the state is updated only where the branch taken is a value. The second form
        comes out as ``ir.Select(c, value, None)`` (ir.update_condition)."""
        node = self.ctx.parse(text, path)
        if not (isinstance(node, syn.IfElse) and _is_none(node.then) != _is_none(node.orelse)):
            return self.fold_value(self.check(node, scope), state, path)
        cond, then_scope, orelse_scope = self.condition(node, scope)
        if not cond.type.is_static:
            raise self.ctx.fail(
                f"'{state.name}' can be left as it is (None) only on a test that is a Python value when the metric "
                "runs (a param's test, rank(x)); this one is a tensor",
                node.cond.loc,
                "test the params with Python operators (`p is not None and p > 0.5`), or choose per element: "
                "where(c, value, 0.0)",
            )
        if _is_none(node.orelse):
            value = self.fold_value(self.check(node.then, then_scope), state, path)
        else:
            value = self.fold_value(self.check(node.orelse, orelse_scope), state, path)
            cond = ir.negated(cond)
        return ir.Select(value.type, cond, value, ir.Literal(static("none"), None))

    def fold_value(self, expr: ir.Expr, state: ir.State, path: tuple) -> ir.Expr:
        if not expr.type.is_numeric:
            raise self.ctx.fail(
                f"update of '{state.name}' must be a number, got {expr.type}", self.ctx.loaded.location(path)
            )
        if state.dtype in INT_DTYPES and (expr.type.dtype in FLOAT_DTYPES or expr.type.dtype == "float"):
            # the cast would drop the fraction silently: 0.625 of sample weight would count as 0
            raise self.ctx.fail(
                f"state '{state.name}' is {state.dtype}, but this update {_FOLD_VERB[state.fold]} a float",
                self.ctx.loaded.location(path),
                f"make the state float32 (or leave its dtype out), or cast(..., {state.dtype}) explicitly",
            )
        return self.to_tensor(expr, state.dtype)


def _is_none(node: syn.Node) -> bool:
    return isinstance(node, syn.Const) and node.value is None


def _non_negative(x: ir.Expr) -> bool:
    """Whether a power's exponent is known to be at least 0 (a literal, or a param whose min is)."""
    if isinstance(x, ir.Literal):
        return x.value >= 0
    return False
