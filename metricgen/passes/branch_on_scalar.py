"""where(c, a, b) with c one bool → `a if c else b`, where a and b have one shape: only the branch taken runs.

Every binary and multilabel classification spec takes the batch for logits when any score lies outside [0, 1]:
`where(any((y_pred < 0.0) | (y_pred > 1.0)), sigmoid(y_pred), y_pred)`, which computes the sigmoid of every
batch, probabilities too (the calibration errors: a softmax over the classes). torchmetrics tests the batch in
Python and applies it only to logits. On an eager target the choice can be made so too: `c` is one element (a
reduction over every axis, `any` or `all`), read back to choose, and only the chosen branch is computed.

Only where the choice and where() give the same tensor: c one value, and both branches of the where's type and of
a shape the IR shows to be the same (ir_shapes.one_shape, as choose_at_construction asks; that pass runs first and
takes the tests of the params alone, which it computes once, in the constructor). Between two single values (a
state's declared shape counts: `confmat[0, 0]` is one), the choice is made where a branch is computed, so that the
branch not taken is not (MatthewsCorrCoef's six cases of a 2 × 2 matrix, which torchmetrics also tests in Python);
a number branch is then a tensor of the where's dtype. Applies to the targets that say
`branches_on_scalars`: "read back" (torchmetrics: reading c back syncs with a CUDA device, as torchmetrics' own
test does), or "traced" (tf and keras: `tf.cond(c, lambda: a, lambda: b)`, as Keras' own Hinge writes it, where
a branch is computed over the batch: graph mode and an eager PyTorch backend run only the branch taken, and XLA
compiles a conditional. Keras' Hinge at 65,536 × 3 labels in graph mode: 1.8 ms with where(), 1.1 ms with
tf.cond, as Keras'. Under XLA a select fuses where a conditional does not (0.55 ms and 0.64 ms, Keras' 0.62), so
the jax target, always compiled, keeps where()).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .. import ir
from ..types import FLOAT_DTYPES
from .ir_shapes import Shapes, one_shape, where_parts

if TYPE_CHECKING:
    from ..targets.base import Target


def reads_back(target: "Target") -> bool:
    return target.branches_on_scalars == "read back"


def traces(target: "Target") -> bool:
    return target.branches_on_scalars == "traced"


def run_traced(metric: ir.Metric) -> ir.Metric:
    return run(metric, traced=True)


def run(metric: ir.Metric, traced: bool = False) -> ir.Metric:
    """``traced``: the choice is a conditional of the library's (`tf.cond`), which costs more than a select
    where no branch computes anything over the batch: only a where between arrays, one of them computed."""

    def in_scope(shapes: Shapes, definitions: dict[str, ir.Expr]):
        def change(e: ir.Expr) -> ir.Expr:
            where = where_parts(e)
            if where is None or not e.type.is_tensor:
                return e
            test, a, b = where
            if may_be_a_state(a, definitions) or may_be_a_state(b, definitions):
                return e
            if shapes.of(test) == () and shapes.of(a) == () == shapes.of(b):
                return e if traced else _between_single_values(e, test, a, b)
            if traced and _made(a) and _made(b):
                return e
            return ir.Select(e.type, *where) if one_shape(e, where, shapes) else e

        return change

    # each scope's references are to its own definitions; a state keeps its declared shape
    states = {s.name: s for s in metric.states}
    update = in_scope(Shapes(dict(metric.update_locals), states), dict(metric.update_locals))
    result = in_scope(Shapes(dict(metric.result_locals), states), dict(metric.result_locals))
    return ir.map_expressions(metric, update, result)


def _between_single_values(e: ir.Expr, test: ir.Expr, a: ir.Expr, b: ir.Expr) -> ir.Expr:
    """where(c, a, b) of single values as `a if c else b` where a branch is computed (MatthewsCorrCoef's cases of
    a 2 × 2 matrix, each some ops: torchmetrics tests them in Python too); between two values already made,
    where() is one op. A number branch is made a tensor of the where's dtype."""
    if _made(a) and _made(b) or e.type.dtype not in FLOAT_DTYPES:
        # an int's number would be made as the language's int32 (torch.int64 on this target) beside a state's int32
        return e
    branches = [x if x.type == e.type else ir.Cast(e.type, x) if x.type.is_static else None for x in (a, b)]
    if None in branches:
        return e  # a tensor of another dtype, which where() would promote
    return ir.Select(e.type, test, *branches)


# functions whose result may be a view of their argument's memory (torch's reshape, a slice; tf and Keras hand a
# variable back from convert_to_tensor and from a branch that returns it)
_VIEWS = frozenset({"reshape", "batch_flatten", "squeeze", "expand_dims", "transpose"})


def may_be_a_state(e: ir.Expr, definitions: Optional[dict[str, ir.Expr]] = None) -> bool:
    """Whether a branch may be a state variable itself or a view of it (through the scope's ``definitions``: a
    result's `held: acc` is `self.acc` itself). A chosen branch is the branch's own tensor, where where() makes a
    new one: a state's, handed back, would change with the next update's fold (`kept = self.vec if c else ...`,
    then `self.vec.add_(...)`). A branch that is a state stays in a where()."""
    seen = 0
    while True:
        if isinstance(e, ir.Ref) and e.kind == "local" and definitions and e.name in definitions and seen < 64:
            e, seen = definitions[e.name], seen + 1
            continue
        if isinstance(e, ir.Ref):
            return e.kind == "state"
        if isinstance(e, ir.Subscript):
            e = e.value
        elif isinstance(e, ir.Cast):  # a cast to the dtype the value has is the value itself (`x.to(dtype)`)
            e = e.x
        elif isinstance(e, ir.Apply) and e.function in _VIEWS:
            e = e.args[0][1]  # type: ignore[assignment]  (the first argument of each is the tensor)
        else:
            return False


def _made(e: ir.Expr) -> bool:
    """A value already made: a reference, a number, or a cast of one (where() costs what choosing would)."""
    if isinstance(e, ir.Cast):
        return _made(e.x)
    return e.type.is_static or isinstance(e, ir.Ref)
