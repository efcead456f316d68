"""The differential test's plan, run on one metric implementation, and its subprocess entry for Keras backends.

test_differential.py generates metrics from the language and runs each through `run_plan` on every target and on
the reference interpreter (tests/reference.py). Keras picks its backend at import, so keras on JAX and on PyTorch
run here, in a subprocess per backend (`python differential_run.py < cases.json`), many cases a call: each case
carries the module source the main process generated and its batches; the report gives each case's observations.
No TensorFlow import here: this module runs under the JAX and PyTorch backends.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
import types

import numpy as np


def run_plan(make, case: dict) -> dict:
    """What one implementation gives on the case's plan: name -> result (a nested list), or "error: ...".

    make(params) gives an adapter with update(inputs, weights), result(), reset(), merge(others), and, where the
    target saves configs, round_trip() (a new instance from get_config()). The plan: a stream of batches (the
    result after each), a reset then one batch, a merge of uneven shards (one that saw no batch, in the middle)
    where every state merges, and a get_config round trip.
    """
    batches, weights, params = case["batches"], case["weights"], case["params"]
    out: dict = {}

    def observe(name, step):
        try:
            out[name] = np.asarray(step(), np.float64).tolist()
        except Exception as exc:  # the first line of a failure: enough to say what broke, short enough to read
            out[name] = f"error: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc) else ''}"

    metric = make(params)
    for k, (batch, w) in enumerate(zip(batches, weights)):
        observe(f"stream {k}", lambda: (metric.update(batch, w), metric.result())[1])
    observe("after reset", lambda: (metric.reset(), metric.update(batches[0], weights[0]), metric.result())[2])
    if case["mergeable"]:

        def merged():
            first, empty, last = make(params), make(params), make(params)
            for batch, w in zip(batches[:-1], weights[:-1]):
                first.update(batch, w)
            last.update(batches[-1], weights[-1])
            first.merge([empty, last])
            return first.result()

        observe("merge of uneven shards", merged)
    if case.get("round_trip"):

        def round_trip():
            again = metric.round_trip()
            again.update(batches[1], weights[1])
            return again.result()

        observe("get_config round trip", round_trip)
    return out


def to_arrays(batch: list, dtypes: list) -> list:
    """A batch as numpy arrays: floats as float32 (the target casts them to the input's dtype), ints and bools
    as declared."""
    kinds = {"int32": np.int32, "int64": np.int64, "bool": np.bool_}
    return [np.asarray(values, kinds.get(dtype, np.float32)) for values, dtype in zip(batch, dtypes)]


def load_class(source: str, class_name: str, module_name: str):
    module = types.ModuleType(module_name)
    exec(compile(source, f"{module_name}.py", "exec"), module.__dict__)
    return getattr(module, class_name)


class KerasAdapter:
    """A keras.metrics.Metric (tf or keras target); `compile_update` wraps update_state (tf.function + XLA)."""

    def __init__(self, cls, params: dict, dtypes: list, compile_update=None):
        self.cls, self.dtypes, self.compile_update = cls, dtypes, compile_update
        self.metric = cls(**params)
        self.step = compile_update(self.metric.update_state) if compile_update else self.metric.update_state

    def update(self, batch, weights):
        w = None if weights is None else np.asarray(weights, np.float32)
        self.step(*to_arrays(batch, self.dtypes), sample_weight=w)

    def result(self):
        import keras

        value = self.metric.result()
        if "bfloat16" in str(value.dtype):  # exact in float32, which numpy takes from every backend (bfloat16: not
            value = keras.ops.cast(value, "float32")  # from torch, nor from TensorFlow 2.21 at 0-d under numpy 2)
        return keras.ops.convert_to_numpy(value)

    def reset(self):
        self.metric.reset_state()

    def merge(self, others):
        self.metric.merge_state([o.metric for o in others])

    def round_trip(self):
        again = KerasAdapter.__new__(KerasAdapter)
        again.cls, again.dtypes, again.compile_update = self.cls, self.dtypes, self.compile_update
        again.metric = self.cls.from_config(self.metric.get_config())
        again.step = (
            self.compile_update(again.metric.update_state) if self.compile_update else again.metric.update_state
        )
        return again


def keras_maker(cls, dtypes, compile_update=None):
    return lambda params: KerasAdapter(cls, params, dtypes, compile_update)


@contextlib.contextmanager
def wide_types_enabled(needed: bool):
    """JAX's 64-bit types, on while a metric that holds int64 or float64 runs, as its constructor's error asks
    (without them JAX holds them as 32 bits, and the keras target refuses such a metric on JAX)."""
    import keras

    if not needed or keras.backend.backend() != "jax":
        yield
        return
    import jax

    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", False)


def main() -> None:
    import keras

    jobs = json.load(sys.stdin)
    report = {}
    for job in jobs:
        try:
            with wide_types_enabled("int64" in job["case"]["spec"] or "float64" in job["case"]["spec"]):
                cls = load_class(job["source"], job["class_name"], f"differential_{job['id']}")
                report[job["id"]] = run_plan(keras_maker(cls, job["case"]["dtypes"]), job["case"])
        except Exception:  # reported per case, so that one failure does not hide the others
            report[job["id"]] = {"build": "error: " + traceback.format_exc()[-1500:]}
    json.dump({"backend": keras.backend.backend(), "results": report}, sys.stdout)


if __name__ == "__main__":
    main()
