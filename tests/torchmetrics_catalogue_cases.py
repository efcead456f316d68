"""The torchmetrics catalogue's cases (catalogue/torchmetrics/specs/): what each class is built with and fed.

A case names a spec, torchmetrics' class of the same name (the reference: torchmetrics' own implementation, run
on the same data), its constructor arguments and how to draw a batch. The cases themselves live by family in
`torchmetrics_cases_<family>.py` (each a list ``CASES``) and are gathered here. No TensorFlow import: the keras
target's runs under JAX and PyTorch import this too.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

FAMILIES = ("regression", "classification", "confusion", "curves", "retrieval")


@dataclass(frozen=True)
class Case:
    id: str  # unique, for test ids: "BinaryAccuracy-threshold0.3"
    stem: str  # the spec's file stem in catalogue/torchmetrics/specs/
    class_name: str  # torchmetrics' class (and the spec's class_name)
    kwargs: dict  # constructor arguments, given alike to ours and to torchmetrics'
    # one batch of n samples: numpy arrays by the spec's input name, in the spec's order (y_true, y_pred, then any
    # other, as the retrieval classes' indexes)
    make: Callable[[np.random.Generator, int], dict]
    sizes: tuple[int, ...] = (7, 1, 5)  # the batches fed in turn: one of a single sample among them
    tolerance: float = 1e-5  # rtol and atol against torchmetrics
    keras: bool = True  # whether the Keras targets (tf, keras) are run on it
    # with sample weights on the Keras targets: the expected value, from an independent reference (scikit-learn,
    # numpy), given the batches and their weights; None where the class takes no weights
    weighted: Callable[[list[dict], list[np.ndarray]], Any] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ours(self) -> dict:
        """Our class's arguments: torchmetrics' own, and those of the params the spec adds (``extra["ours"]``: a
        sample buffer's bound, kept small so that each compute sorts few rows)."""
        return {**self.kwargs, **self.extra.get("ours", {})}


def _gather() -> list[Case]:
    cases = []
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"torchmetrics_cases_{family}")
        except ModuleNotFoundError as error:  # a family not written yet
            if error.name != f"torchmetrics_cases_{family}":
                raise
            continue
        cases += module.CASES
    ids = [c.id for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"duplicate case ids: {duplicated}"
    return cases


CASES = _gather()


def under_other_backends() -> list[Case]:
    """The cases the keras target runs under JAX and PyTorch (a subprocess each): every third class's first case,
    a representative spread of the families within the suite's time (TensorFlow runs them all)."""
    return [c for c in first_of_each_class() if c.keras][::3]


def first_of_each_class(cases: list[Case] = CASES) -> list[Case]:
    seen, first = set(), []
    for case in cases:
        if case.class_name not in seen:
            seen.add(case.class_name)
            first.append(case)
    return first
