"""Runs every expression case on the keras target under the backend named by KERAS_BACKEND; prints JSON.

Used by test_semantics.py, one subprocess per backend (Keras picks its backend at import). Each case is
compiled by metricgen here, fed the same inputs as the in-process tests, and its `out` compared with the numpy
value of expression_cases.py: the report says, per case, whether it matched and what it gave.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import types

sys.path.insert(0, os.path.dirname(__file__))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from expression_cases import B, CASES, SAMPLE_WEIGHTS, WEIGHTED_CASES, I, X, broadcast_weights, probe_spec  # noqa: E402
from metricgen.compiler import generate_from_text  # noqa: E402


def run(expression: str, expected: np.ndarray, sample_weight=None) -> dict:
    try:
        source = generate_from_text(
            probe_spec(expression).replace("{shape}", str(expected.size)), "probe.yaml", "keras"
        )
        module = types.ModuleType("probe")
        exec(compile(source, "probe.py", "exec"), module.__dict__)
        metric = module.Probe()
        metric.update_state(X, I, B, sample_weight=sample_weight)
        got = np.asarray(keras.ops.convert_to_numpy(metric.out), dtype=np.float64)
        ok = bool(np.allclose(got, expected.reshape(-1), rtol=1e-6, atol=1e-6, equal_nan=True))
        return {"ok": ok, "got": got.tolist() if not ok else None}
    except Exception:  # reported per case, so that one failure does not hide the others
        return {"ok": False, "error": traceback.format_exc()[-2000:]}


def main() -> None:
    report = {}
    for expression, value in CASES.items():
        report[expression] = run(expression, np.asarray(value, dtype=np.float64))
    for expression, value in WEIGHTED_CASES.items():
        for name, weights in SAMPLE_WEIGHTS.items():
            expected = np.asarray(value(broadcast_weights(weights, X.shape), weights), dtype=np.float64)
            report[f"{expression} with {name}"] = run(expression, expected, weights)
    json.dump({"backend": keras.backend.backend(), "results": report}, sys.stdout)


if __name__ == "__main__":
    main()
