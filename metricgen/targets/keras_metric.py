"""The shape of a ``keras.metrics.Metric`` subclass, which the tf and keras targets share.

Both write one class: ``__init__`` (argument checks, ``add_variable`` per state variable), ``update_state``,
``result``, ``merge_state``, ``get_config`` (and ``from_config`` where a param is a function), and
``reset_state`` only where the base class's (every variable to zeros) would be wrong. What differs between the
two (the ops module, dtype spellings, folds under tf.distribute) is in their own modules.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator

from .. import ir
from ..lowering import (
    Printer,
    class_parts,
    merge_refusal,
    py_literal,
    same_params_check,
    size_checks,
    state_read_by_update,
    unsplittable,
)
from .base import Target

# How each fold is aggregated across replicas (TensorFlow's on-read variables): sums add up; max, min and
# assign state is made equal on every replica by the update itself, so any replica's value is the value.
# A sample buffer (and its row count) holds every replica's rows on each replica: see _append_rows.
AGGREGATION = {
    "add": "sum",
    "max": "only_first_replica",
    "min": "only_first_replica",
    "assign": "only_first_replica",
    "append": "only_first_replica",
}

KERAS_METRIC_ATTRIBUTES = frozenset(
    """add_variable add_weight dtype from_config get_config name reset_state result stateless_reset_state
    stateless_result stateless_update_state update_state variables merge_state built trainable weights
    trainable_weights non_trainable_weights""".split()
)


class KerasMetricTarget(Target):
    template = "keras_metric.py.j2"
    reserved_attributes = KERAS_METRIC_ATTRIBUTES
    generated_names = Target.generated_names | {"keras", "config", "metrics", "other", "cls", "kwargs"}
    reserved_by = "keras.metrics.Metric"
    constructor_arguments = frozenset({"name", "dtype"})
    update_method = "update_state"
    constructor_docs = (("name", "name of the metric instance."), ("dtype", "dtype of the state and result."))
    base_class: str
    # `tf.cond(binary, lambda: 2.0 * y_true - 1.0, lambda: y_true)` (`ops.cond` on the keras target), as Keras'
    # own Hinge chooses: graph mode and PyTorch run only the branch taken (a select computed both: Hinge at
    # 65,536 × 3 took 1.7× Keras' time)
    branches_on_scalars = "traced"

    def conditional(self, cond: str, then: str, orelse: str) -> str:
        return f"{self.ops}.cond({cond}, lambda: {then}, lambda: {orelse})"

    def fold(self, state: ir.State, value: str, may_reshape: bool = False) -> list[str]:
        var = f"self.{state.name}"
        if state.is_buffer:
            return [self.append_rows(state, value)]
        if state.fold == "add" and state.dtype in ("int32", "int64"):
            return [f"_add_to_int_sum({var}, {value})"]  # see the helper: ints summed over replicas
        if state.fold == "add":
            return [f"{var}.assign_add({value})"]
        if state.fold == "assign":
            return [f"{var}.assign({value})"]
        extreme = "maximum" if state.fold == "max" else "minimum"
        return [f"{var}.assign({self.ops}.{extreme}({var}, {value}))"]

    @staticmethod
    def append_rows(state: ir.State, rows: str, count: str = "") -> str:
        """The call appending ``rows`` (with ``count``: its first ``count``) to a sample buffer: the helper
        writes the rows and counts them."""
        extra = f", {count}" if count else ""
        return (
            f"_append_rows(self.{state.name}, self.{state.rows_variable}, {rows}, type(self).__name__, "
            f"{state.name!r}{extra})"
        )

    def unbuilt(self, variable: str) -> str:
        return f"{variable} is None"

    @staticmethod
    def add_variable(s: ir.State, shape: str) -> list[str]:
        initializer = '"zeros"' if s.init == 0 else f"keras.initializers.Constant({py_literal(s.init)})"
        dtype = "self.dtype" if s.dtype == "float" else f'"{s.dtype}"'
        made = [
            f"self.{s.name} = self.add_variable(",
            f"    shape={shape},",
            f"    initializer={initializer},",
            f"    dtype={dtype},",
            f'    aggregation="{AGGREGATION[s.fold]}",',
            f'    name="{s.name}",',
            ")",
        ]
        if s.is_buffer:  # how many rows it was given (more than it keeps is an error)
            made += [
                f"self.{s.rows_variable} = self.add_variable(",
                '    shape=(), initializer="zeros", dtype="int32", aggregation="only_first_replica",',
                f'    name="{s.rows_variable}",',
                ")",
            ]
        return made

    def module(self, metric: ir.Metric, printer: Printer) -> dict[str, Any]:
        parts = class_parts(metric, printer)
        read = state_read_by_update(metric)
        if read is not None:  # a replica would read its own part of the state only
            parts.update_body.insert(0, f"_refuse_replicas({unsplittable(metric, read)!r})")
        forwarded = next((p for p in metric.params if p.forward_kwargs), None)
        init_state: list[str] = self.backend_checks(metric)
        if forwarded is not None:
            init_state.append(f"self.{forwarded.kwargs_attribute} = kwargs  # passed to {forwarded.name} on every call")
        build_state: list[str] = []
        if metric.batch_shaped:
            init_state.append("# shaped by the first batch: made by _build_state")
        for s in metric.states:
            if s.shaped_by_batch:
                init_state.append(f"self.{s.name} = None")
                build_state += self.add_variable(s, parts.shapes[s.name])
            else:
                init_state += self.add_variable(s, parts.shapes[s.name])
        init_state += parts.build_now
        # Keras' own reset_state sets every variable to zeros: right unless a variable starts elsewhere
        resets: list[str] = []
        if any(s.init != 0 for s in metric.states):
            for s in metric.states:
                if s.init != 0:
                    resets.append(f"self.{s.name}.assign({self.full(f'self.{s.name}', py_literal(s.init))})")
                    continue
                zeros = f"self.{s.name}.assign({self.ops}.zeros(self.{s.name}.shape, dtype=self.{s.name}.dtype))"
                # a state shaped by the first batch (always from 0) may not exist yet: nothing to reset then
                resets += (
                    [f"if not {self.unbuilt(f'self.{s.name}')}:", f"    {zeros}"] if s.shaped_by_batch else [zeros]
                )
        return {
            "parts": parts,
            "base_class": self.base_class,
            "package": self.registered_package(metric.package),
            "imports": self.module_imports(parts.extra_imports),
            "init_state": init_state,
            "build_state": build_state,
            "init_args": parts.init_args + [f"name={metric.name!r}", "dtype=None"] + ["**kwargs"] * bool(forwarded),
            "resets": resets,
            "merge_body": self.merge_body(metric, printer),
            "config_items": [(p.name, self.config_value(p, printer.param(p.name))) for p in metric.params],
            "callable_params": [p.name for p in metric.params if p.type == "callable"],
            # saved beside the params, as Keras' MeanMetricWrapper saves them, so that cls(**config) passes them on
            "forwarded_kwargs": forwarded.kwargs_attribute if forwarded else None,
        }

    def backend_checks(self, metric: ir.Metric) -> list[str]:
        """Constructor statements that refuse a backend on which the metric would compute a wrong number."""
        return []

    def registered_package(self, package: str) -> str:
        """The package the class registers under with Keras (``package>ClassName``, which a saved model
        records): one name per target, so that importing both targets' modules never lets the one imported
        last take the other's saved models silently."""
        return package

    def full(self, like: str, value: str) -> str:
        """A tensor shaped and typed like the variable ``like``, every entry ``value``."""
        return f"{self.ops}.full({like}.shape, {value}, dtype={like}.dtype)"

    @staticmethod
    def config_value(p: ir.Param, value: str) -> str:
        """A param (code: ``value``) as get_config saves it: a copy of a list (None stays None), a function
        serialized."""
        if p.type.startswith("list["):
            return f"None if {value} is None else list({value})" if p.optional else f"list({value})"
        if p.type == "float|list[float]":
            return f"list({value}) if isinstance({value}, list) else {value}"
        if p.type == "callable":
            return f"keras.saving.serialize_keras_object({value})"
        return value

    def merge_body(self, metric: ir.Metric, printer: Printer) -> list[str]:
        cls = metric.class_name
        refusal = merge_refusal(metric)
        if refusal is not None:
            return [f"raise NotImplementedError({refusal!r})"]
        body = [
            "for other in metrics:",
            f"    if not isinstance(other, {cls}):",
            f'        raise TypeError(f"{cls}.merge_state: cannot merge a {{type(other).__name__}}")',
        ]
        body += ["    " + line for line in same_params_check(metric, self, "other")]
        if metric.batch_shaped:
            first = metric.batch_shaped[0].name
            body += [f"    if {self.unbuilt(f'other.{first}')}:  # it has seen no batch", "        continue"]
            body.append(f"    if {self.unbuilt(f'self.{first}')}:")
            for s in metric.batch_shaped:
                body += ["        " + line for line in self.add_variable(s, f"other.{s.name}.shape")]
            check = (
                "_check_size({metric}, {input!r}, {axis}, other.{state}.shape[{axis_of_state}], {state!r}, "
                'self.{state}.shape[{axis_of_state}], "the merged metric")'
            )
            body += ["    " + line for line in size_checks(metric, printer, check)]
        for s in metric.states:
            value = f"other.{s.name}"
            if s.fold == "add" and s.init != 0:  # the initial value is counted once, not once per shard
                value = f"{value} - {py_literal(s.init)}"
            if s.is_buffer:  # the rows the other holds, after this one's
                body.append(
                    "    " + self.append_rows(s, self.read_state(value), self.read_state(f"other.{s.rows_variable}"))
                )
                continue
            body += ["    " + line for line in self.fold(s, value)]
        return body

    @contextlib.contextmanager
    def example_runtime(self) -> Iterator[Any]:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras  # noqa: F401 - imported here, lazily: the generator itself never needs it

        # The generated class registers itself with Keras' serialization registry: put the registry back as it
        # was, so that running examples never replaces a class the caller imported from the real module.
        registry = keras.saving.get_custom_objects()
        saved = dict(registry)
        try:
            yield keras
        finally:
            registry.clear()
            registry.update(saved)

    def example_update(self, metric: Any, inputs: dict[str, Any], sample_weight: Any) -> None:
        metric.update_state(*inputs.values(), sample_weight=sample_weight)

    def example_result(self, metric: Any) -> Any:
        import numpy as np

        return np.asarray(metric.result())

    def example_backend(self) -> str:
        keras = sys.modules.get("keras")  # imported by example_runtime where the examples could run at all
        try:
            return str(keras.backend.backend()) if keras else ""  # KERAS_BACKEND chooses
        except Exception:  # noqa: BLE001 - a Keras without backend() (Keras 2): the name is only informative
            return ""
