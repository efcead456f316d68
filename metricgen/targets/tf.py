"""The tf target: a ``tf.keras.metrics.Metric`` written with TensorFlow ops (``tf.*``), for TensorFlow users.

It runs eagerly, in ``tf.function`` and under XLA, and under tf.distribute: max/min state folds a batch value
reduced over every replica (see ``_replica_reduce`` in templates/helpers_tf.py).
"""

from __future__ import annotations

from .. import ir
from ..types import FLOAT
from .keras_metric import KerasMetricTarget
from .tf_functions import FUNCTIONS


class TensorFlowTarget(KerasMetricTarget):
    name = "tf"
    summary = "a tf.keras.metrics.Metric using tf.* ops, written under OUT/"
    folder = ""
    helper_files = ("helpers_common.py", "helpers_tensorflow.py", "helpers_tf.py")
    imports = ("import keras", "import tensorflow as tf")
    generated_names = KerasMetricTarget.generated_names | {"tf"}
    base_class = "tf.keras.metrics.Metric"
    ops = "tf"
    column = FUNCTIONS
    constants = {
        "epsilon": "keras.config.epsilon()",
        "pi": "3.141592653589793",
        "inf": 'float("inf")',
        "nan": 'float("nan")',
    }
    logical = {
        "and": "tf.logical_and",
        "or": "tf.logical_or",
        "not": "tf.logical_not",
        "==": "tf.equal",
        "!=": "tf.not_equal",
    }

    def dtype(self, dtype: str) -> str:
        return "self.dtype" if dtype == FLOAT else f"tf.{dtype}"

    def constant(self, code: str, dtype: str) -> str:
        return f"tf.constant({code}, dtype={self.dtype(dtype)})"

    def snapshot(self, code: str) -> str:
        return f"tf.identity({code})"

    def full(self, like: str, value: str) -> str:
        return f"tf.fill({like}.shape, tf.constant({value}, dtype={like}.dtype))"

    def filled(self, rows: str, capacity: str) -> str:
        return f"tf.range({capacity}) < {rows}"

    def fold(self, state: ir.State, value: str, may_reshape: bool = False) -> list[str]:
        if state.fold in ("max", "min"):  # on-read variables cannot aggregate by max: reduce before folding
            value = f"_replica_reduce({value}, tf.reduce_{state.fold})"
        return super().fold(state, value, may_reshape)
