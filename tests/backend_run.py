"""Runs the keras-target metrics under the backend named by KERAS_BACKEND and prints a JSON report.

Used by test_keras_target.py, one subprocess per backend (Keras picks its backend at import). For every
shipped metric and every device the backend sees: streamed batches with and without sample weights,
reset_state, an empty batch, and model.evaluate with the metric compiled in; under JAX also Keras' stateless
API inside jax.jit; under TensorFlow also the tf-target class on the same data. Each entry is
(value, reference) with the reference computed independently (numpy, scikit-learn, Keras built-ins).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(__file__))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from metric_cases import CASES, args, batches  # noqa: E402

BACKEND = keras.backend.backend()


def visible_devices() -> list[str]:
    if BACKEND == "jax":
        import jax

        return [f"{d.platform}:{d.id}" for d in jax.devices()]
    if BACKEND == "torch":
        import torch

        return ["cpu:0"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    import tensorflow as tf

    return ["cpu:0"] + [f"gpu:{i}" for i in range(len(tf.config.list_physical_devices("GPU")))]


def feed(metric, case, parts, weights):
    for part, w in zip(parts, weights):
        metric.update_state(*args(case, part), sample_weight=w)


def stream_checks(case, device, report):
    cls = case.metric_class("keras")
    for weighted in (False, True):
        rng = np.random.default_rng(21)
        parts, weights, whole, w = batches(case, rng, [7, 1, 16, 9], weighted)
        with keras.device(device):
            metric = cls(**case.kwargs)
            feed(metric, case, parts, weights)
            expected = case.reference(whole, w, case.kwargs)
            report[f"{device}/stream/{'weighted' if weighted else 'plain'}"] = (float(metric.result()), expected)
            before = float(metric.result())
            metric.update_state(*args(case, case.make(rng, 0)))
            report[f"{device}/empty batch/{weighted}"] = (float(metric.result()), before)
            metric.reset_state()
            fresh = cls(**case.kwargs)
            report[f"{device}/after reset/{weighted}"] = (float(metric.result()), float(fresh.result()))
            for variable, initial in zip(metric.variables, fresh.variables):
                assert np.array_equal(keras.ops.convert_to_numpy(variable), keras.ops.convert_to_numpy(initial))
            parts, weights, whole, w = batches(case, rng, [5, 11], weighted)
            feed(metric, case, parts, weights)
            report[f"{device}/stream after reset/{weighted}"] = (
                float(metric.result()),
                case.reference(whole, w, case.kwargs),
            )


def stateless_jit_check(case, report):
    import jax

    metric = case.metric_class("keras")(**case.kwargs)
    rng = np.random.default_rng(22)
    parts, weights, whole, w = batches(case, rng, [8, 8, 8], True)
    update = jax.jit(lambda state, inputs, sw: metric.stateless_update_state(state, *inputs, sample_weight=sw))
    state = [v.value for v in metric.variables]
    for part, weight in zip(parts, weights):
        state = update(state, args(case, part), weight)
    value = float(jax.jit(metric.stateless_result)(state))
    report["stateless_update_state + stateless_result in jax.jit"] = (value, case.reference(whole, w, case.kwargs))
    # the metric's own variables were not touched
    report["variables untouched by the stateless API"] = (float(metric.result()), 0.0)


def zero_loss(y_true, y_pred):
    return keras.ops.zeros_like(keras.ops.reshape(y_pred, (keras.ops.shape(y_pred)[0], -1))[:, 0])


def model_check(case, report):
    rng = np.random.default_rng(23)
    _, _, data, w = batches(case, rng, [40], True)
    model = keras.Sequential([keras.Input(data["y_pred"].shape[1:]), keras.layers.Identity()])
    model.compile(loss=zero_loss, weighted_metrics=[case.metric_class("keras")(name="m", **case.kwargs)])
    logs = model.evaluate(data["y_pred"], data["y_true"], sample_weight=w, batch_size=16, return_dict=True, verbose=0)
    report["model.evaluate (compiled weighted metric)"] = (float(logs["m"]), case.reference(data, w, case.kwargs))


def tf_target_check(case, report):
    rng = np.random.default_rng(24)
    parts, weights, whole, w = batches(case, rng, [9, 12], True)
    theirs = case.metric_class("tf")(**case.kwargs)
    feed(theirs, case, parts, weights)
    report["the tf target on the same data"] = (float(theirs.result()), case.reference(whole, w, case.kwargs))


def main() -> None:
    devices = visible_devices()
    results = {}
    for case in CASES:
        report: dict = {}
        try:
            for device in devices:
                stream_checks(case, device, report)
            if BACKEND == "jax":
                stateless_jit_check(case, report)
            if case.is_labelled:
                model_check(case, report)
            if BACKEND == "tensorflow":
                tf_target_check(case, report)
        except Exception:  # reported, so that one failure does not hide the other metrics' results
            report["error"] = traceback.format_exc()
        results[case.class_name] = report
    json.dump({"backend": BACKEND, "devices": devices, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
