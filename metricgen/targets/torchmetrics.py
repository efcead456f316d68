"""The torchmetrics target: a ``torchmetrics.Metric`` written with torch ops, for PyTorch (and Lightning) users.

State is declared with ``add_state(name, default, dist_reduce_fx)``, so torchmetrics syncs it over
torch.distributed itself: add state by "sum", max and min state by "max" and "min", assign state by the first
process's value (as Keras' "only_first_replica"). ``forward`` (the batch value and accumulation) uses
torchmetrics' cheap path (``full_state_update = False``) unless the update reads state, assigns it, starts
an add state away from zero, or shapes it by the first batch, where merging a batch's state into the total
would be wrong.

``update`` takes its inputs torchmetrics' way, ``update(preds, target, ...)``: the spec's prediction input
(``y_pred``) first as ``preds``, its truth input (``y_true``) as ``target``, then its other inputs under their
own names in the spec's order (:func:`update_arguments`), so that a generated metric sits in a
``MetricCollection`` beside torchmetrics' own.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import replace
from typing import Any, Iterator

from .. import ir
from ..errors import SpecError, SpecErrors
from ..lowering import (
    Printer,
    class_parts,
    merge_refusal,
    py_literal,
    python_tuple,
    same_params_check,
    size_checks,
    state_read_by_update,
    under_tests,
    unsplittable,
)
from ..types import FLOAT
from .base import Target
from .torchmetrics_functions import FUNCTIONS

# Attributes of torchmetrics.Metric (its torch.nn.Module base included) that a param or state would overwrite.
TORCHMETRICS_ATTRIBUTES = frozenset(
    """T_destination add_module add_state apply bfloat16 buffers call_super_init children clone compile compute
    cpu cuda device double dtype dump_patches eval extra_repr float forward full_state_update get_buffer
    get_extra_state get_parameter get_submodule half higher_is_better ipu is_differentiable load_state_dict
    merge_state metric_state modules mtia named_buffers named_children named_modules named_parameters parameters
    persistent plot plot_legend_name plot_lower_bound plot_upper_bound register_backward_hook register_buffer
    register_forward_hook register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module register_parameter
    register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ reset set_dtype set_extra_state
    set_submodule share_memory state_dict sync sync_context to to_empty train type unsync update update_called
    update_count xpu zero_grad training compute_on_cpu dist_sync_on_step process_group dist_sync_fn
    distributed_available_fn sync_on_compute compute_with_cache""".split()
)
# A sample buffer and its row count are gathered as they are (None: stacked per process), and their rows
# appended in process order by compute() (_gathered_rows).
REDUCTION = {"add": '"sum"', "max": '"max"', "min": '"min"', "assign": "_first_process", "append": "None"}
# The arguments torchmetrics' update takes first, each with the spec input names that fill it (Keras' name, or
# torchmetrics' own): update(preds, target).
TORCHMETRICS_INPUTS = (("preds", ("y_pred", "preds")), ("target", ("y_true", "target")))
# Functions whose result carries no gradient back to their tensor arguments.
_NOT_DIFFERENTIABLE = frozenset(
    """argmax argmin argsort one_hot size shape arange bincount round floor ceil sign any all""".split()
)


class TorchMetricsTarget(Target):
    name = "torchmetrics"
    summary = "a torchmetrics.Metric using torch ops (syncs over torch.distributed), under OUT/torchmetrics/"
    folder = "torchmetrics"
    template = "torchmetrics_metric.py.j2"
    helper_files = ("helpers_common.py", "helpers_torch.py")
    imports = ("import torch", "from torchmetrics import Metric")
    generated_names = Target.generated_names | {"torch", "kwargs"}
    ops = "torch"
    column = FUNCTIONS
    constants = {"epsilon": "1e-07", "pi": "3.141592653589793", "inf": 'float("inf")', "nan": 'float("nan")'}
    logical = {
        "and": "torch.logical_and",
        "or": "torch.logical_or",
        "not": "torch.logical_not",
        "==": "torch.eq",
        "!=": "torch.ne",
    }
    reserved_attributes = TORCHMETRICS_ATTRIBUTES
    reserved_by = "torchmetrics.Metric"
    update_method = "update"
    # torch.where(c, x, 0.0): one op; torch.tensor(0.0, ...) for the 0.0 was three more on every call (and
    # maximum(x, 1) is torch.clamp(x, min=1))
    scalar_operands = frozenset({"where", "maximum", "minimum", "clip"})
    number_operands = frozenset({"linspace"})
    # `sigmoid(x) if logits else x`, as torchmetrics' own `if not torch.all((preds >= 0) * (preds <= 1))`: the
    # test is read back (a sync on CUDA, as torchmetrics'), and the sigmoid runs only for logits
    branches_on_scalars = "read back"
    folds_broadcast = True  # `self.total.add_(value)` broadcasts a value without axes
    # compute sorts and sums the samples a buffer holds, not its capacity (100,000 rows by default in the
    # catalogue, where a batch may be 1,024)
    reads_held_rows = True
    constructor_docs = (("kwargs", "passed to torchmetrics.Metric (dist_sync_on_step, sync_on_compute, ...)."),)
    example_result_name = "compute()"

    def dtype(self, dtype: str) -> str:
        """The torch dtype of a value the update or compute makes (a state keeps its declared one)."""
        if dtype == FLOAT:
            return "self.dtype"
        # torch indexes with int64 (index_select, bincount, argsort's result): the language's int32 ids kept as
        # int32 here cost a copy at every cast to int32 and every use as an index, several per call
        return "torch.int64" if dtype == "int32" else f"torch.{dtype}"

    def dtype_doc(self, dtype: str) -> str:
        return self.dtype(dtype).removeprefix("torch.")

    def state_dtype(self, dtype: str) -> str:
        return "self.dtype" if dtype == FLOAT else f"torch.{dtype}"

    def cast(self, code: str, dtype: str) -> str:
        # as_tensor: numpy arrays and lists too (update's inputs), and no copy where nothing changes
        return f"torch.as_tensor({code}, dtype={self.dtype(dtype)}, device=self.device)"

    def constant(self, code: str, dtype: str) -> str:
        return f"torch.tensor({code}, dtype={self.dtype(dtype)}, device=self.device)"

    def snapshot(self, code: str) -> str:
        return f"{code}.clone()"

    def fold(self, state: ir.State, value: str, may_reshape: bool = False) -> list[str]:
        var = f"self.{state.name}"
        if state.is_buffer:
            rows = f"self.{state.rows_variable}"
            grows = f", {Printer(self).code(state.shape[0])}" if state.unfilled_ignored else ""
            return [f"{var}, {rows} = _append_rows({var}, {rows}, {value}, type(self).__name__, {state.name!r}{grows})"]
        if state.fold == "add":
            # in place: the state keeps its dtype, and torch refuses a larger shape; add_ rather than `+=`, which
            # assigns the attribute again (through torch.nn.Module.__setattr__, 1.7 µs a state a batch)
            return [f"{var}.add_({value})"]
        if state.dtype in ("int32", "int64"):
            # the language's int32 values are int64 here (see dtype): a state given one keeps its declared dtype
            value = f"({value}).to({self.state_dtype(state.dtype)})"
        if state.fold != "assign":
            value = f"torch.{'maximum' if state.fold == 'max' else 'minimum'}({var}, {value})"
        if may_reshape:  # a new attribute takes any shape, where merge_state and sync need the declared one
            value = f"_kept_shape(type(self).__name__, {state.name!r}, {value}, {var})"
        return [f"{var} = {value}"]

    def unbuilt(self, variable: str) -> str:
        return f"{variable}.numel() == 0"

    def filled(self, rows: str, capacity: str) -> str:
        return f"torch.arange({capacity}, device=self.device) < {rows}"

    def unless_overflowed(self, code: str, rows: str, capacity: str, metric: str, buffer: str) -> str:
        return code  # torch's sizes are known: update refused the rows past the buffer (_append_rows)

    def module(self, metric: ir.Metric, printer: Printer) -> dict[str, Any]:
        metric = _with_torchmetrics_inputs(metric)
        parts = class_parts(metric, printer)
        states, build_state = [], []
        # torchmetrics.Metric takes **kwargs itself: a callable's keyword arguments come as one dict
        forwarded = [p for p in metric.params if p.forward_kwargs]
        registered_when = _registered_when(metric, printer)
        for s in metric.states:
            dtype = "" if s.dtype == FLOAT else f", dtype=torch.{s.dtype}"
            shape = parts.shapes[s.name]
            if s.shaped_by_batch:  # empty until the first batch gives its shape; reset() empties it again
                default = f"torch.zeros({(0,) * len(s.shape)}{dtype})"
                if parts.shape_given_when is not None:  # unless the params give it: made first, and kept
                    default = f"self.{s.name} if {parts.shape_given_when} else {default}"
                build_state.append(
                    f"self.{s.name} = torch.zeros({shape}, dtype={self.state_dtype(s.dtype)}, device=self.device)"
                )
            elif s.unfilled_ignored:  # no rows until it is given some: it grows to its capacity (_append_rows)
                default = f"torch.zeros({python_tuple(['0'] + [printer.code(d) for d in s.shape[1:]])}{dtype})"
            else:
                # a float state's init written as a float: torch.full(shape, 1) would make an int64 state
                init = py_literal(float(s.init) if s.dtype == FLOAT else s.init)
                default = f"torch.zeros({shape}{dtype})" if s.init == 0 else f"torch.full({shape}, {init}{dtype})"
            when = registered_when.get(s.name)
            states.append((s.name, default, REDUCTION[s.fold], when))
            if s.is_buffer:
                states.append((s.rows_variable, "torch.tensor(0, dtype=torch.int32)", REDUCTION[s.fold], when))
        read = state_read_by_update(metric)
        if read is not None:  # no reduction can combine the processes' states: sync is refused (_sync_dist)
            states = [(name, default, None, when) for name, default, _, when in states]
        reads_state = read is not None
        offset = [s for s in metric.states if s.fold == "add" and s.init != 0]
        # the cheap path adds a batch's state to the total, which cannot be done to an empty (unshaped) total
        # (and a buffer's rows cannot be appended by the sum torchmetrics merges a batch's state with)
        full_state_update = (
            reads_state
            or bool(offset)
            or bool(metric.batch_shaped)
            or any(s.fold in ("assign", "append") for s in metric.states)
        )
        # after a sync each buffer arrives stacked per process: appended into one first (the test spares
        # torch.nn.Module.__setattr__ where there was no sync)
        gathered = [
            line
            for s in metric.states
            if s.is_buffer
            for line in (
                f"if self.{s.rows_variable}.dim():  # synced: a row count per process",
                f"    self.{s.name}, self.{s.rows_variable} = _gathered_rows(self.{s.name}, self.{s.rows_variable}, "
                f"type(self).__name__, {s.name!r})",
            )
        ]
        parts.result_body[:0] = gathered
        return {
            "parts": parts,
            "imports": self.module_imports(parts.extra_imports),
            "init_args": parts.init_args + [f"{p.kwargs_attribute}=None" for p in forwarded] + ["**kwargs"],
            "init_forwarded": [f"self.{p.kwargs_attribute} = dict({p.kwargs_attribute} or {{}})" for p in forwarded],
            "state_lines": _state_lines(states),
            "constants": bool(registered_when),
            "higher_is_better": repr(metric.higher_is_better),
            "is_differentiable": repr(_differentiable(metric)),
            "full_state_update": repr(full_state_update),
            "merge_body": self.merge_body(metric, printer),
            "build_state": build_state,
            "build_now": parts.build_now,
            "unsyncable": None if read is None else unsplittable(metric, read),
            # torchmetrics stacks the processes' states, which must have one shape: a buffer that grows is
            # brought to its capacity first
            "grown_buffers": under_tests(
                (
                    registered_when.get(s.name),
                    [
                        f"held = _rows_read(self.{s.rows_variable}, {printer.code(s.shape[0])}, "
                        f"type(self).__name__, {s.name!r})",
                        f"self.{s.name} = _at_capacity(self.{s.name}[:held], {printer.code(s.shape[0])})",
                    ],
                )
                for s in metric.states
                if s.unfilled_ignored
            ),
        }

    def merge_body(self, metric: ir.Metric, printer: Printer) -> list[str]:
        """torchmetrics' merge_state (a metric of this class, or a dict of its states; ValueError for anything
        else), with each state folded as update folds it (torchmetrics' own refuses a full_state_update metric):
        an add state's initial value counted once, a state shaped by the first batch made if need be. A list of
        them (Keras' merge_state([a, b])) is taken too."""
        cls = metric.class_name
        refusal = merge_refusal(metric)
        if refusal is not None:
            return [f"raise NotImplementedError({refusal!r})"]
        registered_when = _registered_when(metric, printer)
        body = [
            "if isinstance(incoming_state, (list, tuple)):  # Keras' merge_state([a, b]) too",
            "    for incoming in incoming_state:",
            "        self.merge_state(incoming)",
            "    return",
            "if isinstance(incoming_state, Metric):",
            f"    if not isinstance(incoming_state, {cls}):",
            f'        raise ValueError(f"{cls}.merge_state: expected a {cls}, got a {{type(incoming_state).__name__}}")',
            *["    " + line for line in same_params_check(metric, self, "incoming_state")],
            "    incoming_state = incoming_state.metric_state",
            "elif not isinstance(incoming_state, dict):",
            f'    raise ValueError(f"{cls}.merge_state: expected a {cls}, a list of them or a dict of states, '
            'got a {type(incoming_state).__name__}")',
            # the states registered with these arguments (metric_state: add_state's, in their order)
            "missing = [name for name in self.metric_state if name not in incoming_state]",
            "if missing:",
            f'    raise ValueError(f"{cls}.merge_state: the incoming state has no {{missing[0]!r}}")',
        ]
        if metric.batch_shaped:
            first = metric.batch_shaped[0].name
            body += [f'if {self.unbuilt(f"incoming_state[{first!r}]")}:  # it has seen no batch', "    return"]
            for s in metric.batch_shaped:
                incoming = f'incoming_state["{s.name}"]'
                made = f"torch.zeros(tuple({incoming}.shape), dtype={self.state_dtype(s.dtype)}, device=self.device)"
                body += [f"if {self.unbuilt(f'self.{s.name}')}:", f"    self.{s.name} = {made}"]
            check = (
                '_check_size({metric}, {input!r}, {axis}, incoming_state["{state}"].shape[{axis_of_state}], '
                '{state!r}, self.{state}.shape[{axis_of_state}], "the merged metric")'
            )
            body += size_checks(metric, printer, check)
        folds = []
        for s in metric.states:
            value = f'incoming_state["{s.name}"]'
            if s.fold == "add" and s.init != 0:
                value = f"({value} - {py_literal(s.init)})"
            if s.is_buffer:  # the rows it holds
                value = f'{value}[: int(incoming_state["{s.rows_variable}"])]'
            # a dict of states may hold any shapes
            folds.append((registered_when.get(s.name), self.fold(s, value, may_reshape=True)))
        return body + under_tests(folds) + ["self._computed = None"]

    @contextlib.contextmanager
    def example_runtime(self) -> Iterator[Any]:
        import torch

        yield torch

    def example_update(self, metric: Any, inputs: dict[str, Any], sample_weight: Any) -> None:
        metric.update(*(inputs[name] for name, _ in update_arguments(list(inputs))), sample_weight=sample_weight)

    def example_result(self, metric: Any) -> Any:
        import numpy as np

        return np.asarray(metric.compute().detach().cpu().numpy())


def _registered_when(metric: ir.Metric, printer: Printer) -> dict[str, str]:
    """The states updated only under a test of the params (a spec's `value if thresholds is None else None`),
    each with that test's code: torchmetrics registers them only where it holds. Elsewhere the state is its
    initial value on every call, and add_state's cost (a clone on every reset(), a sync, a merge) buys nothing:
    a binary curve with thresholds None reset six states, where torchmetrics' own resets two. A state shaped
    by the first batch is always registered (its default may be made before add_state)."""
    # imported here: an up-to-date build loads the targets, but not the passes and the analysis they import
    from ..passes.choose_at_construction import of_params_alone

    shaped_by_batch = {s.name for s in metric.states if s.shaped_by_batch}
    tests = {}
    for state, update in metric.updates:
        condition, _ = ir.update_condition(update)
        # a test the constructor can make: of the params alone (not of an input's rank, say)
        if condition is not None and of_params_alone(condition) and state.name not in shaped_by_batch:
            tests[state.name] = printer.code(condition)
    return tests


def _state_lines(states: list[tuple[str, str, str, str | None]]) -> list[str]:
    """__init__'s add_state calls (name, default, reduction, the params' test under which it is registered). A
    state not registered is kept as its initial value, a non-persistent buffer, so that .to(device) and
    set_dtype move it as they move the states, and compute reads it as before."""
    lines: list[str] = []
    explained = False
    for when, group in itertools.groupby(states, key=lambda state: state[3]):
        made = list(group)
        added = [f'self.add_state("{name}", default={default}, dist_reduce_fx={fx})' for name, default, fx, _ in made]
        if when is None:
            lines += added
            continue
        if not explained:
            lines.append(
                "# a state updated only with some arguments: with the others a constant (not reset, synced, merged)"
            )
            explained = True
        lines += [f"if {when}:", *("    " + line for line in added), "else:"]
        lines += [f'    self.register_buffer("{name}", {default}, persistent=False)' for name, default, _, _ in made]
    return lines


def update_arguments(inputs: list[str]) -> list[tuple[str, str]]:
    """The spec's inputs (their names, in the spec's order) in the order update takes them, each with the name
    of its argument: y_pred (or preds) as `preds`, y_true (or target) as `target`, then the others as named."""
    leading = [(name, argument) for argument, names in TORCHMETRICS_INPUTS for name in inputs if name in names]
    taken = {name for name, _ in leading}
    return leading + [(name, name) for name in inputs if name not in taken]


def _with_torchmetrics_inputs(metric: ir.Metric) -> ir.Metric:
    """``metric`` with its inputs named and ordered as :func:`update_arguments` says. A definition of the update
    that takes an argument's name is renamed out of its way (`_target`: no spec name starts with `_`)."""
    arguments = update_arguments([i.name for i in metric.inputs])
    _refuse_two_for_one(metric, arguments)
    inputs = {i.name: i for i in metric.inputs}
    renamed = {name: argument for name, argument in arguments if name != argument}
    if not renamed and [name for name, _ in arguments] == list(inputs):
        return metric
    clashing = {name: f"_{name}" for name, _ in metric.update_locals + metric.result_locals if name in renamed.values()}

    def rename(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Ref) and e.kind == "input" and e.name in renamed:
            return replace(e, name=renamed[e.name])
        if isinstance(e, ir.Ref) and e.kind == "local" and e.name in clashing:
            return replace(e, name=clashing[e.name])
        if isinstance(e, ir.InputDim) and e.input in renamed:
            return replace(e, input=renamed[e.input])
        return e

    def dims(shape: Any) -> Any:
        return shape if shape is None else tuple(d if d is None else ir.rewrite(d, rename) for d in shape)

    def local(pairs: list[tuple[str, ir.Expr]]) -> list[tuple[str, ir.Expr]]:
        return [(clashing.get(name, name), expr) for name, expr in pairs]

    states = {s.name: replace(s, shape=dims(s.shape)) for s in metric.states}
    metric = ir.map_expressions(metric, rename)
    return replace(
        metric,
        inputs=[
            replace(
                inputs[name],
                name=argument,
                shape=dims(inputs[name].shape),
                same_rank_as=renamed.get(inputs[name].same_rank_as, inputs[name].same_rank_as),
            )
            for name, argument in arguments
        ],
        states=list(states.values()),
        updates=[(states[state.name], expr) for state, expr in metric.updates],
        update_locals=local(metric.update_locals),
        result_locals=local(metric.result_locals),
        list_sizes=[replace(s, input=renamed.get(s.input, s.input)) for s in metric.list_sizes],
    )


def _refuse_two_for_one(metric: ir.Metric, arguments: list[tuple[str, str]]) -> None:
    """Refuses a spec with two inputs for one of torchmetrics' arguments (y_true and target both)."""
    errors = []
    for argument, names in TORCHMETRICS_INPUTS:
        given = [i for i in metric.inputs if i.name in names]
        errors += [
            SpecError(
                f"inputs '{given[0].name}' and '{i.name}' would both be torchmetrics' `{argument}`",
                i.loc,
                metric.spec_path,
                f"the torchmetrics target's update takes {' or '.join(names)} as `{argument}`: rename one",
            )
            for i in given[1:]
        ]
    if errors:
        raise SpecErrors(errors)


def _differentiable(metric: ir.Metric) -> bool:
    """Whether the result can carry gradients back to float inputs: no comparison, rounding, index or cast to
    an int or bool on the way (a conservative answer: False where unsure)."""
    if any(i.dtype in ("int32", "int64", "bool") for i in metric.inputs):
        return False
    for expr in metric.expressions():
        for e in ir.walk(expr):
            if isinstance(e, ir.Operator) and e.op in ("==", "!=", "<", "<=", ">", ">=", "and", "or", "not", "//", "%"):
                return False
            if isinstance(e, ir.Cast) and e.type.dtype in ("int32", "int64", "bool"):
                return False
            if isinstance(e, ir.Apply) and e.function in _NOT_DIFFERENTIABLE:
                return False
            if isinstance(e, ir.CallParam):
                return False
    return True
