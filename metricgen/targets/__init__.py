"""The targets, registered in one place: the CLI's choices, output paths and `list` come from here."""

from __future__ import annotations

from .base import Target
from .keras import KerasTarget
from .tf import TensorFlowTarget
from .torchmetrics import TorchMetricsTarget

TARGETS: dict[str, Target] = {t.name: t for t in (TensorFlowTarget(), KerasTarget(), TorchMetricsTarget())}
DEFAULT_TARGET = "tf"


def get_target(name: str) -> Target:
    return TARGETS[name]


__all__ = ["TARGETS", "DEFAULT_TARGET", "Target", "get_target"]
