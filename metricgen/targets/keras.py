"""The keras target: a ``keras.metrics.Metric`` written with ``keras.ops`` only, so one module runs on the
TensorFlow, JAX and PyTorch backends (stateless API and ``jax.jit`` included)."""

from __future__ import annotations

from .. import ir
from ..types import FLOAT
from .keras_metric import KerasMetricTarget


class KerasTarget(KerasMetricTarget):
    name = "keras"
    summary = "a keras.metrics.Metric using keras.ops only (TensorFlow, JAX and PyTorch backends), under OUT/keras/"
    folder = "keras"
    helper_files = ("helpers_common.py", "helpers_keras.py")
    imports = ("import keras", "from keras import ops")
    base_class = "keras.metrics.Metric"
    ops = "ops"
    constants = {"epsilon": "keras.config.epsilon()", "pi": "3.141592653589793", "inf": 'float("inf")'}
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

    def snapshot(self, code: str) -> str:
        return f"ops.copy({code})"

    def fold(self, state: ir.State, value: str) -> list[str]:
        if state.fold in ("max", "min"):  # on the TensorFlow backend, under tf.distribute: see the helper
            value = f"_replica_reduce({value}, {state.fold == 'max'})"
        return super().fold(state, value)
