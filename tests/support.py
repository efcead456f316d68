"""Paths and module loading shared by the tests and the backend subprocesses (no TensorFlow import here:
the keras-target checks run this under the JAX and PyTorch backends)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
SPECS = ROOT / "specs"


def generated_path(stem: str, target: str = "tf") -> Path:
    return GENERATED / f"{stem}.py" if target == "tf" else GENERATED / target / f"{stem}.py"


def load_module(path: Path, name: str | None = None):
    """Import a generated module from its file, as a user who copied it into their repo would."""
    name = name or f"generated_{path.parent.name}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
