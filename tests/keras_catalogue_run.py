"""Runs the Keras catalogue's cases on the keras target under the backend named by KERAS_BACKEND; prints JSON.

Used by test_keras_catalogue.py, one subprocess per backend (Keras picks its backend at import). Each case's
generated class (catalogue/keras/generated/keras/) and `keras.metrics.<Class>` itself, both on this backend, are
fed the same batches, without weights, with per-sample weights and with one weight a batch, then reset and fed one batch; the report says, per
case, whether they agreed and what each gave. CASES_SUBSET limits it to the first case of each class.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_catalogue_cases import CASES, first_of_each_class, weight_modes, weights_for  # noqa: E402

GENERATED = Path(__file__).resolve().parent.parent / "catalogue" / "keras" / "generated" / "keras"


def load(stem: str, class_name: str):
    spec = importlib.util.spec_from_file_location(f"keras_catalogue_{stem}", GENERATED / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)


def feed(metric, parts, weights) -> np.ndarray:
    for batch, w in zip(parts, weights):
        metric.update_state(*batch.values(), sample_weight=w)
    return np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype=np.float64)


def run(case, mode: str) -> dict:
    try:
        rng = np.random.default_rng(len(case.id) * 7 + len(mode))
        parts = [case.make(rng, n) for n in case.sizes]
        weights = [weights_for(rng, p, mode, case) for p in parts]
        ours = load(case.stem, case.class_name)(**case.kwargs)
        got = [feed(ours, parts, weights)]
        ours.reset_state()
        got.append(feed(ours, parts[:1], weights[:1]))
        expected = [
            feed(getattr(keras.metrics, case.class_name)(**case.kwargs), parts, weights),
            feed(getattr(keras.metrics, case.class_name)(**case.kwargs), parts[:1], weights[:1]),
        ]
        ok = all(np.allclose(g, e, rtol=1e-5, atol=1e-5, equal_nan=True) for g, e in zip(got, expected))
        return {"ok": ok, "got": None if ok else [g.tolist() for g in got], "expected": [e.tolist() for e in expected]}
    except Exception:  # reported per case, so that one failure does not hide the others
        return {"ok": False, "error": traceback.format_exc()[-3000:]}


def main() -> None:
    cases = first_of_each_class() if os.environ.get("CASES_SUBSET") else CASES
    report = {}
    for case in cases:
        for mode in weight_modes(case, elementwise=False):
            report[f"{case.id}-{mode}"] = run(case, mode)
    json.dump({"backend": keras.backend.backend(), "results": report}, sys.stdout)


if __name__ == "__main__":
    main()
