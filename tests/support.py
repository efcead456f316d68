"""Paths and module loading shared by the tests and the backend subprocesses (no TensorFlow import here:
the keras-target checks run this under the JAX and PyTorch backends)."""

from __future__ import annotations

import importlib.util
import sys
import types
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


def module_of(source: str, name: str) -> types.ModuleType:
    """Generated source executed in memory as module ``name`` (nothing written to disk)."""
    module = types.ModuleType(name)
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    return module


def target_helpers(target: str, edits: dict[str, str] | None = None) -> types.ModuleType:
    """A target's helper files (its `helper_files`, in order: helpers_common.py, ...) executed as one module, so
    that its helpers can be checked on their own (the files are plain Python). ``edits`` replaces text first
    (each must be found in some file): a test takes a path the machine would not (a smaller bound, another
    device)."""
    from metricgen.targets import get_target
    from metricgen.targets.base import templates_dir

    edits = dict(edits or {})
    module = types.ModuleType(f"helpers_of_{target}")
    unused = set(edits)
    for name in get_target(target).helper_files:
        path = templates_dir() / name
        text = path.read_text(encoding="utf-8")
        for old, new in edits.items():
            if old in text:
                unused.discard(old)
                text = text.replace(old, new)
        exec(compile(text, str(path), "exec"), module.__dict__)
    assert not unused, f"not in {target}'s helpers: {sorted(unused)}"
    return module


def update_code(source: str) -> str:
    """The text of a generated module's update method (update(...) or update_state(...)), from its signature on."""
    return source.split("def update", 1)[1].split("def ", 1)[0]


def in_torchmetrics_order(named: dict) -> list:
    """A batch's inputs (by spec name, in the spec's order) as the torchmetrics target's update takes them,
    torchmetrics' way: update(preds, target, *others), that is y_pred, y_true, then the others in the spec's
    order (written here independently of the generator, so that a change of order fails the tests)."""
    first = [named[name] for name in ("y_pred", "y_true") if name in named]
    return first + [value for name, value in named.items() if name not in ("y_pred", "y_true")]


def spec_order_to_torchmetrics(metric, inputs: list) -> list:
    """Inputs given in the spec's order, where the spec writes y_true before y_pred (as the tests' specs do),
    reordered for a torchmetrics-target metric whose update takes (preds, target, ...)."""
    import inspect

    arguments = list(inspect.signature(metric.update).parameters)
    if arguments[:2] == ["preds", "target"] and len(inputs) >= 2:
        return [inputs[1], inputs[0], *inputs[2:]]
    return list(inputs)


def rendered(spec: Path, target: str) -> str:
    """The module a spec file renders for a target, before formatting."""
    from metricgen.compiler import analyse_loaded, lower
    from metricgen.loader import load_spec_file
    from metricgen.targets import TARGETS

    _, metric = analyse_loaded(load_spec_file(spec))
    return lower(metric, TARGETS[target])


def largest_tensor_made(run) -> int:
    """The most elements of any tensor an aten op makes while ``run()`` runs: work counted, not timed."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class Largest(TorchDispatchMode):
        most = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor):
                    Largest.most = max(Largest.most, t.numel())
            return out

    with Largest():
        run()
    return Largest.most


def aten_ops_counted(run) -> "collections.Counter[str]":
    """How many times each aten op (by name: "clamp", "mul", ...) runs while ``run()`` runs: work counted, not
    timed."""
    import collections

    from torch.utils._python_dispatch import TorchDispatchMode

    counted: collections.Counter[str] = collections.Counter()

    class Counting(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            counted[func.overloadpacket.__name__] += 1
            return func(*args, **(kwargs or {}))

    with Counting():
        run()
    return counted
