"""What the IR shows of a value's shape: exactly its sizes, or None where it cannot tell (types carry no shapes).

Shared by the passes that replace `where(test, a, b)` with a Python choice (`a if test else b`): where broadcasts
a against b, and a choice does not, so a where is rewritten only when the IR shows that the test is one value and
that a and b have one shape (:func:`one_shape`).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Union

from .. import ir
from ..analysis.shapes import BY_FIRST_ARGUMENT, ELEMENT_WISE, ONE_NUMBER, REDUCTIONS


def keeps_shape(state: ir.State, value: ir.Expr, shapes: "Shapes") -> bool:
    """Whether the IR shows that folding ``value`` into ``state`` leaves the state's declared shape: one number
    folds into any state by add, max or min (into each element) and is assigned to a scalar one; a value made
    element-wise from the state alone has its shape. Elsewhere a target whose fold would let the shape change
    checks it when traced."""
    shape = shapes.of(value)
    if shape == ():
        return state.fold != "assign" or state.shape == ()
    return shape == (_AxesOf(state.name),)


def where_parts(e: ir.Expr) -> Optional[tuple[ir.Expr, ir.Expr, ir.Expr]]:
    """The test and branches of where(test, a, b), if ``e`` is one."""
    if not (isinstance(e, ir.Apply) and e.function == "where"):
        return None
    args = dict(e.args)
    return args["cond"], args["a"], args["b"]  # type: ignore[return-value]  (none is optional)


def one_shape(e: ir.Expr, where: tuple[ir.Expr, ir.Expr, ir.Expr], shapes: "Shapes") -> bool:
    """Whether choosing a or b gives what where(test, a, b) gives: the test is one value, a and b have the
    where's type and a shape the IR shows to be the same."""
    test, a, b = where
    shape = shapes.of(a)
    return a.type == b.type == e.type and shapes.of(test) == () and shape is not None and shapes.of(b) == shape


@dataclasses.dataclass(frozen=True)
class _AxesOf:
    """Every axis of an input or a state variable, however many it has: a shape's first entry."""

    name: str


# A shape: its sizes, each an int, ("len", param) or the expression it is; it may begin with an _AxesOf.
Shape = tuple
Size = Union[int, tuple, ir.Expr]


class Shapes:
    """What the IR shows of each value's shape: exactly its sizes, or None where it cannot tell."""

    def __init__(self, definitions: dict[str, ir.Expr], states: Optional[dict[str, ir.State]] = None):
        self.definitions = definitions
        # state variables whose declared sizes stand for their shape (a state keeps the shape it is declared with;
        # one shaped by the first batch is left an _AxesOf); None: every state variable is an _AxesOf
        self.states = states or {}
        self.of_definition: dict[str, Optional[Shape]] = {}

    def of(self, e: ir.Expr) -> Optional[Shape]:
        if e.type.is_static:
            return ()
        if isinstance(e, ir.Ref) and e.kind == "state" and e.name in self.states:
            state = self.states[e.name]
            if not state.shaped_by_batch:
                return tuple(_size(d) for d in state.shape)
        if isinstance(e, ir.Ref) and e.kind in ("input", "state"):
            return (_AxesOf(e.name),)
        if isinstance(e, ir.Ref) and e.kind == "local":
            if e.name not in self.of_definition:
                self.of_definition[e.name] = self.of(self.definitions[e.name])
            return self.of_definition[e.name]
        if isinstance(e, ir.Cast) and e.x.type.kind == "list" and isinstance(e.x, ir.Ref):
            return (("len", e.x.name),)  # a list param (one number: a list of one, as its Length says)
        if isinstance(e, ir.Cast):
            return self.of(e.x)
        if isinstance(e, ir.Operator):  # element-wise
            return _broadcast([self.of(x) for x in e.operands])
        if isinstance(e, ir.Select):  # chosen when traced: known only where both branches agree
            then = self.of(e.then)
            return then if then == self.of(e.orelse) else None
        if isinstance(e, ir.Subscript):
            return self.indexed(e)
        if isinstance(e, ir.Apply):
            return self.applied(e)
        return None

    def applied(self, e: ir.Apply) -> Optional[Shape]:
        if e.function in ONE_NUMBER:
            return ()
        if e.function in ELEMENT_WISE:
            return _broadcast([self.of(x) for _, x in e.args if x is not None and x.type.is_tensor])
        if e.function in REDUCTIONS:
            return self.reduced(e)
        if e.function in BY_FIRST_ARGUMENT:
            return self.of(e.args[0][1])  # type: ignore[arg-type]
        args = dict(e.args)
        if e.function == "reshape" and isinstance(args["shape"], ir.TupleOf):  # -1: a size of its own
            return tuple((e, axis) if _integer(n) == -1 else _size(n) for axis, n in enumerate(args["shape"].items))
        if e.function == "arange" and args["stop"] is not None and _integer(args["start"]) == 0:
            return (_size(args["stop"]),) if args["step"] is None or _integer(args["step"]) == 1 else None
        if e.function == "gather":  # x's axes, the one taken along replaced by the indices' (x's sizes all known)
            x, indices = self.of(args["x"]), self.of(args["indices"])  # type: ignore[arg-type]
            axis = 0 if args["axis"] is None else _integer(args["axis"])
            if x is None or indices is None or _known_sizes(x) != x or axis is None or isinstance(axis, bool):
                return None
            if not -len(x) <= axis < len(x):
                return None
            axis %= len(x)
            return x[:axis] + indices + x[axis + 1 :]
        return None

    def reduced(self, e: ir.Apply) -> Optional[Shape]:
        args = dict(e.args)
        shape, axis, keepdims = self.of(args["x"]), args.get("axis"), args.get("keepdims")  # type: ignore[arg-type]
        keep = False if keepdims is None else _integer(keepdims)
        if keep not in (True, False):
            return None
        if axis is None:
            return None if keep else ()
        index, known = _integer(axis), _known_sizes(shape)
        if shape is None or known is None or index is None or isinstance(index, bool):
            return None
        head = shape[: len(shape) - len(known)]
        if not (-len(known) <= index < (0 if head else len(known))):
            return None  # an axis among those of unknown number
        sizes = list(known)
        sizes[index : index + 1 if index != -1 else None] = [1] if keep else []
        return head + tuple(sizes)

    def indexed(self, e: ir.Subscript) -> Optional[Shape]:
        """x[...]: a full slice keeps an axis, None adds one of size 1, an index drops one; "..." (at the end
        where not written) stands for the axes the others leave."""
        shape = self.of(e.value)
        known = _known_sizes(shape)
        if shape is None or known is None:
            return None
        head = shape[: len(shape) - len(known)]
        items = list(e.items) if "..." in e.items else [*e.items, "..."]
        split = items.index("...")
        front, back = items[:split], items[split + 1 :]
        taken_front = sum(item != "None" for item in front)
        taken_back = sum(item != "None" for item in back)
        if (head and taken_front) or taken_front + taken_back > len(known):
            return None
        rest = head + tuple(known[taken_front : len(known) - taken_back])
        return _sizes_of(e, front, known[:taken_front]) + rest + _sizes_of(e, back, known[len(known) - taken_back :])


def _sizes_of(e: ir.Subscript, items: list, sizes: tuple) -> Shape:
    """The sizes ``items`` of a subscript make of the axes they take."""
    out, taken = [], iter(sizes)
    for position, item in enumerate(items):
        if item == "None":
            out.append(1)
        elif isinstance(item, ir.Slice) and item == ir.Slice(None, None, None):
            out.append(next(taken))
        elif isinstance(item, ir.Slice):
            next(taken)
            out.append((e, position))  # some size of its own
        else:
            next(taken)  # an index drops the axis
    return tuple(out)


def _known_sizes(shape: Optional[Shape]) -> Optional[Shape]:
    """The sizes after an _AxesOf (all of them where there is none)."""
    if shape is None:
        return None
    return shape[1:] if shape and isinstance(shape[0], _AxesOf) else shape


def _broadcast(shapes: list[Optional[Shape]]) -> Optional[Shape]:
    """The shape element-wise operands broadcast to, where the IR shows it: sizes aligned from the right, each
    the one size its operands have there (or 1); an _AxesOf must lead the same number of sizes in each."""
    known: list[Shape] = [s for s in shapes if s is not None]
    if len(known) < len(shapes):
        return None
    heads = {s[0] for s in known if s and isinstance(s[0], _AxesOf)}
    tails = [s[1:] if s and isinstance(s[0], _AxesOf) else s for s in known]
    width = max((len(t) for t in tails), default=0)
    if len(heads) > 1 or any(len(t) != width for s, t in zip(known, tails) if len(t) < len(s)):
        return None  # an axis of unknown size meets one of a size the IR knows
    sizes = []
    for offset in range(width, 0, -1):
        here = {t[-offset] for t in tails if len(t) >= offset} - {1}
        if len(here) > 1:
            return None
        sizes.append(here.pop() if here else 1)
    return tuple(heads) + tuple(sizes)


def _integer(e: Optional[ir.Expr]) -> Union[int, bool, None]:
    """The value of a constant int (or bool) written in the spec, as `-1`; else None."""
    if isinstance(e, ir.Literal) and isinstance(e.value, int):
        return e.value
    if isinstance(e, ir.Operator) and e.op == "neg" and isinstance(e.operands[0], ir.Literal):
        value = e.operands[0].value
        return -value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def _size(e: ir.Expr) -> Size:
    """A size an expression of the params gives: an int, a list param's length, or the expression itself."""
    value = _integer(e)
    if value is not None and not isinstance(value, bool):
        return value
    return ("len", e.name) if isinstance(e, ir.Length) else e
