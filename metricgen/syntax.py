"""The syntax tree of an expression as written in a spec (before names and types are resolved)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Union

from .errors import Location


@dataclass(frozen=True)
class Node:
    loc: Location

    def children(self) -> Iterator["Node"]:
        return iter(())


@dataclass(frozen=True)
class Const(Node):
    value: Union[int, float, bool, None]


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node

    def children(self):
        yield from (self.left, self.right)


@dataclass(frozen=True)
class UnaryOp(Node):
    op: str
    operand: Node

    def children(self):
        yield self.operand


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # and | or
    values: tuple[Node, ...]

    def children(self):
        yield from self.values


@dataclass(frozen=True)
class Compare(Node):
    op: str
    left: Node
    right: Node

    def children(self):
        yield from (self.left, self.right)


@dataclass(frozen=True)
class IfElse(Node):
    cond: Node
    then: Node
    orelse: Node

    def children(self):
        yield from (self.cond, self.then, self.orelse)


@dataclass(frozen=True)
class Keyword(Node):
    """``name=value`` in a call; ``loc`` is where the name is written."""

    name: str
    value: Node

    def children(self):
        yield self.value


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]
    kwargs: tuple[Keyword, ...]

    def children(self):
        yield from self.args
        yield from self.kwargs


@dataclass(frozen=True)
class Tuple(Node):
    items: tuple[Node, ...]

    def children(self):
        yield from self.items


@dataclass(frozen=True)
class NewAxis(Node):
    pass


@dataclass(frozen=True)
class EllipsisItem(Node):
    pass


@dataclass(frozen=True)
class SliceItem(Node):
    lower: Optional[Node]
    upper: Optional[Node]
    step: Optional[Node]

    def children(self):
        yield from (p for p in (self.lower, self.upper, self.step) if p is not None)


@dataclass(frozen=True)
class Index(Node):
    value: Node
    items: tuple[Node, ...]

    def children(self):
        yield self.value
        yield from self.items
