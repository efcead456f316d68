"""The jax target: a functional metric in pure JAX, in the style of clu.metrics and Flax.

The class holds the params (constants when a step is traced); the state is an immutable pytree, a
``NamedTuple`` of arrays, passed in and returned: ``init()``, ``update(state, y_true, y_pred,
sample_weight=None)``, ``merge(state, other)``, ``compute(state)``, and ``reduce(state, axis_name)``, the
collective merge inside ``jax.shard_map`` or ``pmap``. Every method is a pure function of its arguments, so it
runs under ``jax.jit`` and ``vmap``. A state shaped by the first batch is ``None`` until then (the pytree's
structure changes once, so a jitted update is traced once more).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from .. import ir
from ..lowering import Printer, class_parts, merge_refusal, py_literal, size_checks
from ..types import FLOAT
from .base import Target, first_64_bit
from .jax_functions import FUNCTIONS

# How partial states combine: by merge (two states) and by reduce (a collective over a mapped axis).
_MERGE = {"add": "{a} + {b}", "max": "jnp.maximum({a}, {b})", "min": "jnp.minimum({a}, {b})"}
_FOLD = {**_MERGE, "add": "jnp.add({a}, {b})"}
_COLLECTIVE = {"add": "jax.lax.psum", "max": "jax.lax.pmax", "min": "jax.lax.pmin"}
_DTYPES = {"bool": "jnp.bool_"}


class JaxTarget(Target):
    name = "jax"
    summary = "a functional metric in pure JAX (init/update/merge/compute over a pytree state), under OUT/jax/"
    folder = "jax"
    template = "jax_metric.py.j2"
    helper_files = ("helpers_common.py", "helpers_jax.py")
    imports = ("import jax", "import jax.numpy as jnp")
    column = FUNCTIONS
    generated_names = Target.generated_names | {"jax", "jnp", "state", "other", "axis_name", "NamedTuple"}
    ops = "jnp"
    constants = {"epsilon": "1e-07", "pi": "3.141592653589793", "inf": 'float("inf")', "nan": 'float("nan")'}
    logical = {
        "and": "jnp.logical_and",
        "or": "jnp.logical_or",
        "not": "jnp.logical_not",
        "==": "jnp.equal",
        "!=": "jnp.not_equal",
    }
    # the class is a plain object: only the methods it defines are taken
    reserved_attributes = frozenset({"init", "update", "merge", "reduce", "compute", "dtype", "get_config"})
    reserved_by = "the jax target's metric class"
    constructor_arguments = frozenset({"dtype"})
    update_method = "update"
    constructor_docs = (("dtype", "float dtype of the state and result (float64 needs jax_enable_x64)."),)
    example_result_name = "compute(state)"

    def dtype(self, dtype: str) -> str:
        return "self.dtype" if dtype == FLOAT else _DTYPES.get(dtype, f"jnp.{dtype}")

    def cast(self, code: str, dtype: str) -> str:
        return f"jnp.asarray({code}, dtype={self.dtype(dtype)})"

    def constant(self, code: str, dtype: str) -> str:
        return f"jnp.asarray({code}, dtype={self.dtype(dtype)})"

    def state_variable(self, name: str) -> str:
        return f"state.{name}"

    def build_state(self, shapes: str) -> str:
        return f"state = self._build_state(state, {shapes})" if shapes else "state = self._build_state(state)"

    def snapshot(self, code: str) -> str:
        return code  # JAX arrays are immutable: the state's array is its value

    def fold(self, state: ir.State, value: str, may_reshape: bool = False) -> list[str]:
        """A new state with the batch value folded in (the others' fields unchanged)."""
        if state.fold == "assign":
            return [self._replaced(state, value, may_reshape)]
        if state.is_buffer:
            written = (
                f"state = state._replace({state.name}=_{state.name}, {state.rows_variable}=_{state.rows_variable})"
            )
            return self._append(state, value) + [written]
        # jnp.add, not `+`: the value may be a conditional expression, which `+` would bind into
        folded = _FOLD[state.fold].format(a=f"state.{state.name}", b=value)
        return [self._replaced(state, folded, may_reshape)]

    @staticmethod
    def _replaced(state: ir.State, value: str, may_reshape: bool) -> str:
        """The statement giving the state its new field: where the value might change the field's shape (jnp.add
        and jnp.maximum broadcast; a new field takes any shape), the helper refuses it when traced, as a Keras
        variable's assign does."""
        if may_reshape:
            return f"state = _replaced(state, {state.name!r}, {value})"
        return f"state = state._replace({state.name}={value})"

    def unbuilt(self, variable: str) -> str:
        return f"{variable} is None"

    def module(self, metric: ir.Metric, printer: Printer) -> dict[str, Any]:
        parts = class_parts(metric, printer)
        fields, build_state = [], []
        for s in metric.states:
            dtype = self.dtype(s.dtype)
            shape = parts.shapes[s.name]
            made = (
                f"jnp.zeros({shape}, dtype={dtype})"
                if s.init == 0
                else f"jnp.full({shape}, {py_literal(s.init)}, dtype={dtype})"
            )
            if s.shaped_by_batch:
                fields.append((s.name, "None"))
                build_state.append(f"{s.name}={made},")
            else:
                fields.append((s.name, made))
            if s.is_buffer:  # how many rows it was given
                fields.append((s.rows_variable, "jnp.zeros((), dtype=jnp.int32)"))
        refusal = merge_refusal(metric)
        # a function param's keyword arguments come in the constructor's **kwargs, as Keras' MeanMetricWrapper's
        forwarded = next((p for p in metric.params if p.forward_kwargs), None)
        kwargs_checks = [f"self.{forwarded.kwargs_attribute} = kwargs"] if forwarded else []
        return {
            "parts": parts,
            "imports": self.module_imports(sorted(parts.extra_imports + ["from typing import NamedTuple"])),
            "state_class": f"{metric.class_name}State",
            "init_args": parts.init_args + ['dtype="float32"'] + ["**kwargs"] * bool(forwarded),
            "init_checks": self.backend_checks(metric) + kwargs_checks,
            "fields": fields,
            "build_state": build_state,
            "first_shaped": metric.batch_shaped[0].name if metric.batch_shaped else None,
            "refusal": refusal,
            "merge_body": [] if refusal else self.merge_body(metric, printer),
            "reduce_body": [] if refusal else self.reduce_body(metric),
            "config_items": [(p.name, printer.param(p.name)) for p in metric.params],
            "forwarded_kwargs": forwarded.kwargs_attribute if forwarded else None,
        }

    def backend_checks(self, metric: ir.Metric) -> list[str]:
        """Constructor statements refusing an int64 or float64 the metric needs where JAX holds it as 32 bits."""
        first = first_64_bit(metric)
        return [] if first is None else [f"_refuse_32_bit({metric.class_name!r}, {first!r})"]

    def merge_body(self, metric: ir.Metric, printer: Printer) -> list[str]:
        """merge's statements: a state that has seen no batch is the other's; sizes the first batches gave must
        agree; each field combined as update folds it (an add state's initial value counted once)."""
        body = []
        if metric.batch_shaped:
            first = metric.batch_shaped[0].name
            body += [f"if other.{first} is None:  # it has seen no batch", "    return state"]
            body += [f"if state.{first} is None:", "    return other"]
            check = (
                "_check_size({metric}, {input!r}, {axis}, other.{state}.shape[{axis_of_state}], {state!r}, "
                'state.{state}.shape[{axis_of_state}], "the merged state")'
            )
            body += size_checks(metric, printer, check)
        kept = tuple(s.name for s in metric.states if not s.is_buffer)  # a buffer's rows are appended, any number
        body += [f"_same_shapes(type(self).__name__, state, other, {kept!r})"] * bool(kept)
        combined = []
        for s in metric.states:
            if s.is_buffer:  # the other's rows after this one's
                body += self._append(s, f"other.{s.name}", f"other.{s.rows_variable}")
                combined += [f"{s.name}=_{s.name},", f"{s.rows_variable}=_{s.rows_variable},"]
                continue
            value = _MERGE.get(s.fold, "{a} + {b}").format(a=f"state.{s.name}", b=f"other.{s.name}")
            if s.fold == "add" and s.init != 0:
                value = f"{value} - {py_literal(s.init)}"
            combined.append(f"{s.name}={value},")
        return body + [f"return {metric.class_name}State(", *["    " + c for c in combined], ")"]

    def reduce_body(self, metric: ir.Metric) -> list[str]:
        """reduce's statements: each state combined over the devices of a mapped axis, the same on every one."""
        body, fields = [], []
        for s in metric.states:
            if s.is_buffer:  # every device's rows, appended in device order
                name, counted = s.name, s.rows_variable
                body.append(
                    f"_{name}, _{counted} = _gathered_rows(jax.lax.all_gather(state.{name}, axis_name), "
                    f"jax.lax.all_gather(state.{counted}, axis_name), type(self).__name__, {name!r})"
                )
                fields += [f"{name}=_{name},", f"{counted}=_{counted},"]
                continue
            value = f"{_COLLECTIVE[s.fold]}(state.{s.name}, axis_name)"
            if s.fold == "add" and s.init != 0:  # the initial value counted once, not once per device
                value = (
                    f"{_COLLECTIVE[s.fold]}(state.{s.name} - {py_literal(s.init)}, axis_name) + {py_literal(s.init)}"
                )
            fields.append(f"{s.name}={value},")
        return body + [f"return {metric.class_name}State(", *["    " + f for f in fields], ")"]

    @staticmethod
    def _append(state: ir.State, rows: str, count: str = "") -> list[str]:
        """Statements appending ``rows`` (with ``count``: its first ``count`` rows) to a sample buffer, into
        ``_<name>`` and ``_<name>_rows`` (no spec name starts with '_')."""
        name, counted = state.name, state.rows_variable
        extra = f", {count}" if count else ""
        return [
            f"_{name}, _{counted} = _append_rows(state.{name}, state.{counted}, {rows}, type(self).__name__, "
            f"{name!r}{extra})"
        ]

    @contextlib.contextmanager
    def example_runtime(self) -> Iterator[Any]:
        import jax

        yield jax

    def example_make(self, cls: Any, params: dict[str, Any]) -> Any:
        return _Running(cls(**params))

    def example_update(self, metric: Any, inputs: dict[str, Any], sample_weight: Any) -> None:
        metric.state = metric.metric.update(metric.state, *inputs.values(), sample_weight=sample_weight)

    def example_result(self, metric: Any) -> Any:
        import numpy as np

        return np.asarray(metric.metric.compute(metric.state))


class _Running:
    """A functional metric and the state it has reached: what `metricgen test` feeds batch by batch."""

    def __init__(self, metric: Any):
        self.metric = metric
        self.state = metric.init()
