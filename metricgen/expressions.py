"""Stage 3a, parse: expression text → a small syntax tree, through `ast` and an explicit whitelist.

Python's own parser reads the text (so precedence and syntax errors are Python's, which users know), then
only the constructs listed here are turned into :mod:`metricgen.syntax` nodes; everything else (attribute
access, lambdas, comprehensions, strings, starred arguments, walrus, ...) is a spec error at its location.
Nothing is ever evaluated.
"""

from __future__ import annotations

import ast
from typing import Callable

from .errors import Location, SpecError
from .syntax import (
    BinOp,
    BoolOp,
    Call,
    Compare,
    Const,
    EllipsisItem,
    IfElse,
    Index,
    Keyword,
    Name,
    NewAxis,
    Node,
    SliceItem,
    Tuple,
    UnaryOp,
)

MAX_LENGTH = 4000
MAX_DEPTH = 100  # operands of one operator chain count as levels: a + b + ... nests left

_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not", ast.Invert: "~"}
MAX_STRING = 200
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_WHAT = {  # what the user wrote, with its verb
    ast.Attribute: "attribute access ('.') is",
    ast.Lambda: "lambdas are",
    ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "generator expressions are",
    ast.NamedExpr: "assignment expressions (':=') are",
    ast.Starred: "starred arguments are",
    ast.JoinedStr: "f-strings are",
    ast.Dict: "dict literals are",
    ast.Set: "set literals are",
    ast.Await: "await is",
    ast.Yield: "yield is",
    ast.YieldFrom: "yield is",
}


class ExpressionParser:
    """Parses one expression; ``locate`` maps (line, column) inside the text to the spec file."""

    def __init__(self, text: str, locate: Callable[[int, int], Location], path: str):
        self.text = text
        self.locate = locate
        self.path = path

    def error(self, message: str, node: ast.AST | None = None, hint: str = "") -> SpecError:
        if node is not None and hasattr(node, "lineno"):
            where = self.locate(node.lineno, node.col_offset)
        else:
            where = self.locate(1, 0)
        return SpecError(message, where, self.path, hint)

    def parse(self) -> Node:
        text = self.text
        if len(text) > MAX_LENGTH:
            raise self.error(f"expression is longer than {MAX_LENGTH} characters")
        source, line_shift = text.strip(), 0
        if "\n" in source:  # block scalars: let the expression span lines, as inside parentheses
            source, line_shift = "(\n" + text + "\n)", 1
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            line = max((exc.lineno or 1) - line_shift, 1)
            raise SpecError(
                f"invalid expression: {exc.msg}", self.locate(line, max((exc.offset or 1) - 1, 0)), self.path
            ) from None
        except (RecursionError, MemoryError, ValueError):
            raise self.error("expression is nested too deeply") from None
        self.line_shift = line_shift
        return self.convert(tree.body, 0)

    def at(self, node: ast.AST) -> Location:
        return self.locate(node.lineno - self.line_shift, node.col_offset)

    def convert(self, node: ast.AST, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(f"expression is nested more than {MAX_DEPTH} levels deep", node)
        d = depth + 1
        loc = self.at(node) if hasattr(node, "lineno") else self.locate(1, 0)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or isinstance(value, (int, float)):
                if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
                    raise self.error("integer literal is too large", node)
                if isinstance(value, float) and value in (float("inf"), -float("inf")):
                    raise self.error("float literal is too large (for infinity, write inf)", node)
                return Const(loc, value)
            if value is None:
                return Const(loc, None)  # only valid as a function argument: the analyser checks
            if value is Ellipsis:
                raise self.error("'...' is only allowed in subscripts (x[..., 0])", node)
            if isinstance(value, str):  # compared with a str param only: the analyser checks
                if len(value) > MAX_STRING:
                    raise self.error(f"a string in an expression has at most {MAX_STRING} characters", node)
                return Const(loc, value)
            raise self.error(f"{type(value).__name__} literals are not allowed in expressions", node)
        if isinstance(node, ast.Name):
            return Name(loc, node.id)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.error(f"operator {type(node.op).__name__} is not allowed", node)
            return BinOp(loc, op, self.convert(node.left, d), self.convert(node.right, d))
        if isinstance(node, ast.UnaryOp):
            return UnaryOp(loc, _UNARY[type(node.op)], self.convert(node.operand, d))
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp(loc, op, tuple(self.convert(v, d) for v in node.values))
        if isinstance(node, ast.Compare):
            parts = []
            left = self.convert(node.left, d)
            for op, right_node in zip(node.ops, node.comparators):
                if isinstance(op, (ast.Is, ast.IsNot)):
                    if not (isinstance(right_node, ast.Constant) and right_node.value is None):
                        raise self.error("'is' and 'is not' compare with None only (class_id is None)", node)
                    parts.append(Compare(loc, "is" if isinstance(op, ast.Is) else "is not", left, Const(loc, None)))
                    left = Const(loc, None)
                    continue
                if type(op) not in _COMPARE:
                    raise self.error(f"comparison '{type(op).__name__}' is not allowed", node)
                right = self.convert(right_node, d)
                parts.append(Compare(loc, _COMPARE[type(op)], left, right))
                left = right
            return parts[0] if len(parts) == 1 else BoolOp(loc, "and", tuple(parts))
        if isinstance(node, ast.IfExp):
            return IfElse(loc, self.convert(node.test, d), self.convert(node.body, d), self.convert(node.orelse, d))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.error("only named functions can be called", node.func)
            args = []
            for a in node.args:
                if isinstance(a, ast.Starred):
                    raise self.error("starred arguments are not allowed", a)
                args.append(self.convert(a, d))
            kwargs = []
            for kw in node.keywords:
                if kw.arg is None:
                    raise self.error("'**' arguments are not allowed", kw.value)
                kwargs.append(Keyword(self.at(kw), kw.arg, self.convert(kw.value, d)))
            return Call(loc, node.func.id, tuple(args), tuple(kwargs))
        if isinstance(node, (ast.Tuple, ast.List)):
            return Tuple(loc, tuple(self.convert(e, d) for e in node.elts))
        if isinstance(node, ast.Subscript):
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return Index(loc, self.convert(node.value, d), tuple(self.index_item(i, d) for i in items))
        what = _WHAT.get(type(node), f"{type(node).__name__} is")
        raise self.error(f"{what} not allowed in expressions", node)

    def index_item(self, node: ast.AST, depth: int):
        if isinstance(node, ast.Constant) and node.value is None:
            return NewAxis(self.at(node))
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return EllipsisItem(self.at(node))
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.convert(p, depth) for p in (node.lower, node.upper, node.step)]
            loc = self.at(node) if hasattr(node, "lineno") else self.locate(1, 0)
            return SliceItem(loc, *parts)
        return self.convert(node, depth)


def parse_expression(text: str, locate: Callable[[int, int], Location], path: str) -> Node:
    return ExpressionParser(text, locate, path).parse()
