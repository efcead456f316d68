"""The targets, registered in one place: the CLI's choices, output paths and `list` come from here."""

from __future__ import annotations

import functools
from typing import Iterable

from ..functions import REGISTRY
from .base import Target
from .jax import JaxTarget
from .keras import KerasTarget
from .tf import TensorFlowTarget
from .torchmetrics import TorchMetricsTarget

TARGETS: dict[str, Target] = {t.name: t for t in (TensorFlowTarget(), KerasTarget(), TorchMetricsTarget(), JaxTarget())}
DEFAULT_TARGET = "tf"


def check_columns(targets: Iterable[Target]) -> None:
    """Refuses a column entry for a function the table lacks: nothing would ever call it, so a typo in a
    column's name (or a function renamed in the table only) would leave that target silently without it."""
    for target in targets:
        unknown = [name for name in target.column if name not in REGISTRY]
        if unknown:
            raise LookupError(
                f"the {target.name} target's column names functions that metricgen/functions.py does not define: "
                f"{', '.join(unknown)}"
            )


check_columns(TARGETS.values())  # when metricgen loads, so that no build, test or CLI call runs without it


@functools.lru_cache(maxsize=None)
def helper_pieces() -> frozenset:
    """Every target's helper functions as written in templates/: already black's layout (tests/test_layout.py
    checks it), so formatting keeps a module's piece that is one of them as it is."""
    return frozenset(source for target in TARGETS.values() for source in target.helper_sources.values())


def get_target(name: str) -> Target:
    return TARGETS[name]


__all__ = ["TARGETS", "DEFAULT_TARGET", "Target", "get_target", "helper_pieces"]
