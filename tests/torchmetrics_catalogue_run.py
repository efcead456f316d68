"""Runs the torchmetrics catalogue's keras target under the backend named by KERAS_BACKEND; prints JSON.

Used by test_torchmetrics_catalogue.py, one subprocess per backend (Keras picks its backend at import): the
first case of each class (catalogue/torchmetrics/generated/keras/) is fed the test's batches, then reset and fed
the first one; the report gives both values per case (or the error), and the test compares them with
torchmetrics'. Also the home of `batches`, so that both sides draw the same data.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from torchmetrics_catalogue_cases import Case, under_other_backends  # noqa: E402

GENERATED = Path(__file__).resolve().parent.parent / "catalogue" / "torchmetrics" / "generated"


def batches(case: Case) -> list[dict]:
    """The case's batches, the same in every process: the seed is the case's id."""
    rng = np.random.default_rng(sum(map(ord, case.id)))
    return [case.make(rng, n) for n in case.sizes]


def load(case: Case, folder: Path):
    spec = importlib.util.spec_from_file_location(f"torchmetrics_catalogue_{case.stem}", folder / f"{case.stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, case.class_name)


def torchmetrics_class(case: Case):
    """torchmetrics' class of the case's name: the task-specific ones (BinaryConfusionMatrix, ...) live in
    torchmetrics.classification only, and Perplexity and PeakSignalNoiseRatio are deprecated at the top level."""
    import torchmetrics

    for home in (
        torchmetrics.classification,
        torchmetrics.text,
        torchmetrics.image,
        torchmetrics.retrieval,
        torchmetrics,
    ):
        if hasattr(home, case.class_name):
            return getattr(home, case.class_name)
    raise AttributeError(f"torchmetrics has no {case.class_name}")


def run(case: Case) -> dict:
    import keras

    def feed(metric, parts) -> list:
        for batch in parts:
            metric.update_state(*batch.values())  # the spec's order: y_true, y_pred, then any other
        return np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype=np.float64).tolist()

    try:
        parts = batches(case)
        metric = load(case, GENERATED / "keras")(**case.ours)
        every = feed(metric, parts)
        metric.reset_state()
        return {"all": every, "first": feed(metric, parts[:1])}
    except Exception:  # reported per case, so that one failure does not hide the others
        return {"error": traceback.format_exc()[-3000:]}


def main() -> None:
    import keras

    report = {case.id: run(case) for case in under_other_backends()}
    json.dump({"backend": keras.backend.backend(), "results": report}, sys.stdout)


if __name__ == "__main__":
    main()
