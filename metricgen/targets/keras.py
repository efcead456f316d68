"""The keras target: a ``keras.metrics.Metric`` written with ``keras.ops`` only, so one module runs on the
TensorFlow, JAX and PyTorch backends (stateless API and ``jax.jit`` included)."""

from __future__ import annotations

from .. import ir
from ..types import FLOAT
from .base import first_64_bit
from .keras_functions import FUNCTIONS
from .keras_metric import KerasMetricTarget


class KerasTarget(KerasMetricTarget):
    name = "keras"
    summary = "a keras.metrics.Metric using keras.ops only (TensorFlow, JAX and PyTorch backends), under OUT/keras/"
    folder = "keras"
    helper_files = ("helpers_common.py", "helpers_tensorflow.py", "helpers_keras.py")
    imports = ("import keras", "from keras import ops")
    generated_names = KerasMetricTarget.generated_names | {"ops"}
    base_class = "keras.metrics.Metric"
    ops = "ops"
    column = FUNCTIONS
    constants = {
        "epsilon": "keras.config.epsilon()",
        "pi": "3.141592653589793",
        "inf": 'float("inf")',
        "nan": 'float("nan")',
    }
    logical = {
        "and": "ops.logical_and",
        "or": "ops.logical_or",
        "not": "ops.logical_not",
        "==": "ops.equal",
        "!=": "ops.not_equal",
    }

    def dtype(self, dtype: str) -> str:
        return "self.dtype" if dtype == FLOAT else f'"{dtype}"'

    def constant(self, code: str, dtype: str) -> str:
        return f"ops.convert_to_tensor({code}, dtype={self.dtype(dtype)})"

    def backend_checks(self, metric: ir.Metric) -> list[str]:
        # JAX without x64 holds int64 as int32 and wraps past 2**31 - 1: a wrong number, silently
        first = first_64_bit(metric)
        return [] if first is None else [f"_refuse_jax_32_bit({metric.class_name!r}, {first!r})"]

    def registered_package(self, package: str) -> str:
        return f"{package}.keras"  # the tf target's modules keep the spec's own, as they had first

    def read_state(self, variable: str) -> str:
        # its value as a tensor, never the variable: JAX refuses a Keras variable passed to an op ("Triggering
        # __jax_array__() during abstractification"); in the stateless API the value is the given state's
        # (`.value` would not do: on TensorFlow it is a tf.Variable, which some keras.ops cannot take)
        return f"ops.convert_to_tensor({variable})"

    def snapshot(self, code: str) -> str:
        return f"ops.copy({code})"

    def fold(self, state: ir.State, value: str, may_reshape: bool = False) -> list[str]:
        if state.fold in ("max", "min"):  # on the TensorFlow backend, under tf.distribute: see the helper
            value = f"_replica_reduce({value}, {state.fold == 'max'})"
        return super().fold(state, value, may_reshape)
