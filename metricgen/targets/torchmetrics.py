"""The torchmetrics target: a ``torchmetrics.Metric`` written with torch ops, for PyTorch (and Lightning) users.

State is declared with ``add_state(name, default, dist_reduce_fx)``, so torchmetrics syncs it over
torch.distributed itself: add state by "sum", max and min state by "max" and "min", assign state by the first
process's value (as Keras' "only_first_replica"). ``forward`` (the batch value and accumulation) uses
torchmetrics' cheap path (``full_state_update = False``) unless the update reads state, assigns it, starts
an add state away from zero, or shapes it by the first batch, where merging a batch's state into the total
would be wrong.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from .. import ir
from ..lowering import Printer, class_parts, py_literal
from ..types import FLOAT
from .base import Target

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
REDUCTION = {"add": '"sum"', "max": '"max"', "min": '"min"', "assign": "_first_process"}
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
    ops = "torch"
    constants = {"epsilon": "1e-07", "pi": "3.141592653589793", "inf": 'float("inf")'}
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
    constructor_docs = (("kwargs", "passed to torchmetrics.Metric (dist_sync_on_step, sync_on_compute, ...)."),)
    example_result_name = "compute()"

    def dtype(self, dtype: str) -> str:
        return "self.dtype" if dtype == FLOAT else f"torch.{dtype}"

    def cast(self, code: str, dtype: str) -> str:
        # as_tensor: numpy arrays and lists too (update's inputs), and no copy where nothing changes
        return f"torch.as_tensor({code}, dtype={self.dtype(dtype)}, device=self.device)"

    def constant(self, code: str, dtype: str) -> str:
        return f"torch.tensor({code}, dtype={self.dtype(dtype)}, device=self.device)"

    def snapshot(self, code: str) -> str:
        return f"{code}.clone()"

    def fold(self, state: ir.State, value: str) -> list[str]:
        var = f"self.{state.name}"
        if state.fold == "add":
            return [f"{var} += {value}"]
        if state.fold == "assign":
            return [f"{var} = {value}"]
        extreme = "maximum" if state.fold == "max" else "minimum"
        return [f"{var} = torch.{extreme}({var}, {value})"]

    def unbuilt(self, variable: str) -> str:
        return f"{variable}.numel() == 0"

    def module(self, metric: ir.Metric, printer: Printer) -> dict[str, Any]:
        parts = class_parts(metric, printer)
        states, build_state = [], []
        # torchmetrics.Metric takes **kwargs itself: a callable's keyword arguments come as one dict
        forwarded = [p for p in metric.params if p.forward_kwargs]
        for s in metric.states:
            dtype = "" if s.dtype == FLOAT else f", dtype=torch.{s.dtype}"
            shape = parts.shapes[s.name]
            if s.shaped_by_batch:  # empty until the first batch gives its shape; reset() empties it again
                default = f"torch.zeros({(0,) * len(s.shape)}{dtype})"
                if parts.shape_given_when is not None:  # unless the params give it: made first, and kept
                    default = f"self.{s.name} if {parts.shape_given_when} else {default}"
                build_state.append(f"self.{s.name} = torch.zeros({shape}, dtype={self.dtype(s.dtype)}, device=self.device)")
            else:
                default = (
                    f"torch.zeros({shape}{dtype})" if s.init == 0 else f"torch.full({shape}, {py_literal(s.init)}{dtype})"
                )
            states.append((s.name, default, REDUCTION[s.fold]))
        reads_state = ir.reads_state(x for _, x in metric.updates + metric.update_locals)
        offset = [s for s in metric.states if s.fold == "add" and s.init != 0]
        # the cheap path adds a batch's state to the total, which cannot be done to an empty (unshaped) total
        full_state_update = (
            reads_state
            or bool(offset)
            or bool(metric.batch_shaped)
            or any(s.fold == "assign" for s in metric.states)
        )
        return {
            "parts": parts,
            "imports": self.module_imports(parts.extra_imports),
            "init_args": parts.init_args + [f"{p.kwargs_attribute}=None" for p in forwarded] + ["**kwargs"],
            "init_forwarded": [f"self.{p.kwargs_attribute} = dict({p.kwargs_attribute} or {{}})" for p in forwarded],
            "states": states,
            "higher_is_better": repr(metric.higher_is_better),
            "is_differentiable": repr(_differentiable(metric)),
            "full_state_update": repr(full_state_update),
            "merge_body": self.merge_body(metric),
            "build_state": build_state,
            "build_now": parts.build_now,
        }

    def merge_body(self, metric: ir.Metric) -> list[str]:
        """Each state folded as update folds it (torchmetrics' own merge_state refuses a full_state_update
        metric): an add state's initial value counted once, a state shaped by the first batch made if need be."""
        cls = metric.class_name
        unmergeable = next((s for s in metric.states if not s.mergeable), None)
        if unmergeable is not None:
            message = f"{cls}: state {unmergeable.name} is assigned, not accumulated, so partial states cannot be merged"
            return [f"raise NotImplementedError({message!r})"]
        body = [
            "if isinstance(incoming_state, Metric):",
            f"    if not isinstance(incoming_state, {cls}):",
            f'        raise TypeError(f"{cls}.merge_state: cannot merge a {{type(incoming_state).__name__}}")',
            "    incoming_state = incoming_state.metric_state",
        ]
        if metric.batch_shaped:
            first = metric.batch_shaped[0].name
            body += [f'if {self.unbuilt(f"incoming_state[{first!r}]")}:  # it has seen no batch', "    return"]
            for s in metric.batch_shaped:
                incoming = f'incoming_state["{s.name}"]'
                made = f"torch.zeros(tuple({incoming}.shape), dtype={self.dtype(s.dtype)}, device=self.device)"
                body += [f"if {self.unbuilt(f'self.{s.name}')}:", f"    self.{s.name} = {made}"]
        for s in metric.states:
            value = f'incoming_state["{s.name}"]'
            if s.fold == "add" and s.init != 0:
                value = f"({value} - {py_literal(s.init)})"
            body += self.fold(s, value)
        return body + ["self._computed = None"]

    @contextlib.contextmanager
    def example_runtime(self) -> Iterator[Any]:
        import torch

        yield torch

    def example_update(self, metric: Any, inputs: list[Any], sample_weight: Any) -> None:
        metric.update(*inputs, sample_weight=sample_weight)

    def example_result(self, metric: Any) -> Any:
        import numpy as np

        return np.asarray(metric.compute().detach().cpu().numpy())


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
