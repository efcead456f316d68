"""Runs a spec's own `examples:` against the class generated from it: what `metricgen test` does.

For each example, a fresh instance of the class is built with the example's ``params``, every batch is fed to
``update_state`` in order (each input by name, and ``sample_weight`` when the batch has one), and ``result()``
is compared with ``expected``: the example passes when ``|result - expected| <= tolerance``. The tolerance is
absolute (1e-6 unless the example sets one), and a NaN result matches a NaN expected value.

Callable params cannot be written in YAML, so an example cannot set one (and a spec whose callable param is
required cannot have examples).

TensorFlow (and Keras) are imported only when examples run, never when this module is imported: the rest of
metricgen must not need them.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .compiler import generate
from .errors import SpecError, SpecErrors, printable
from .loader import LoadedSpec, load_spec_file
from .schema import ExampleSpec, Spec, validate_spec
from .targets import DEFAULT_TARGET, TARGETS, Target


@dataclass
class ExampleOutcome:
    """What one example gave."""

    spec_path: str
    index: int  # 1-based, as people count
    doc: str
    expected: float
    tolerance: float
    result: Optional[float] = None
    error: str = ""  # why the example could not run (an exception from the metric), else ''

    @property
    def passed(self) -> bool:
        return not self.error and self.result is not None and close_enough(self.result, self.expected, self.tolerance)

    def format(self) -> str:
        what = printable(f"{self.spec_path} example {self.index}" + (f" ({self.doc})" if self.doc else ""))
        if self.error:
            return f"FAIL {what}: {printable(self.error)}"
        verdict = "PASS" if self.passed else "FAIL"
        text = f"{verdict} {what}: result {self.result:.9g}, expected {self.expected:.9g} ± {self.tolerance:g}"
        if not self.passed and self.result is not None and not math.isnan(self.result - self.expected):
            text += f" (off by {abs(self.result - self.expected):.3g})"
        return text


def close_enough(result: float, expected: float, tolerance: float) -> bool:
    """``|result - expected| <= tolerance`` (absolute), NaN matching NaN only."""
    if math.isnan(expected) or math.isnan(result):
        return math.isnan(expected) and math.isnan(result)
    if math.isinf(expected) or math.isinf(result):
        return result == expected
    return abs(result - expected) <= tolerance


def exec_module(source: str, module_name: str, filename: str) -> types.ModuleType:
    """Generated source executed as a fresh module of its own (not registered in sys.modules)."""
    module = types.ModuleType(module_name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - our own generated, checked code
    return module


def check_runnable(spec: Spec, loaded: LoadedSpec) -> None:
    """Refuse, with locations, what `metricgen test` cannot run: examples setting a callable param."""
    callables = {name for name, p in spec.params.items() if p.type == "callable"}
    errors = []
    for n, example in enumerate(spec.examples):
        for name in callables:
            if name in example.params and example.params[name] is not None:
                errors.append(
                    SpecError(
                        f"example sets callable param '{name}': callable params are not supported in examples",
                        loaded.location(("examples", n, "params", name)),
                        loaded.path,
                        "a function cannot be written in YAML; leave it out (or null) to use its default",
                    )
                )
    if errors:
        raise SpecErrors(errors)


def run_spec_examples(
    spec_file: Path, target: str = DEFAULT_TARGET, display_path: Optional[str] = None
) -> list[ExampleOutcome]:
    """Every example of one spec, run against a freshly generated class. Raises SpecErrors for an invalid spec."""
    shown = display_path or str(spec_file)
    loaded = load_spec_file(spec_file, shown)
    spec = validate_spec(loaded)
    source = generate(loaded, target)  # analyses the spec (examples included) and fails with its errors
    check_runnable(spec, loaded)
    if not spec.examples:
        return []
    runtime = TARGETS[target]
    with runtime.example_runtime():
        import numpy as np

        module = exec_module(source, f"metricgen_examples_{spec.name}", f"<metricgen {shown}>")
        cls = getattr(module, spec.class_name)
        return [_run_one(runtime, cls, spec, example, n, shown, np) for n, example in enumerate(spec.examples, 1)]


def _run_one(
    runtime: Target, cls: type, spec: Spec, example: ExampleSpec, index: int, shown: str, np: Any
) -> ExampleOutcome:
    outcome = ExampleOutcome(shown, index, " ".join(example.doc.split()), float(example.expected), example.tolerance)
    step = "constructing the metric"
    try:
        metric = cls(**example.params)
        for b, batch in enumerate(example.batches, 1):
            step = f"batch {b}"
            args = [_array(batch[i.name], np, f"input '{i.name}'") for i in spec.inputs]
            weights = batch.get("sample_weight")
            runtime.example_update(metric, args, None if weights is None else _array(weights, np, "sample_weight"))
        step = runtime.example_result_name
        value = runtime.example_result(metric)
        if value.size != 1:
            outcome.error = f"result() has shape {tuple(value.shape)}; examples compare a single number"
        else:
            outcome.result = float(value.reshape(()))
    except Exception as exc:  # the metric's own error, reported as the example's failure
        message = str(exc).strip().splitlines()
        outcome.error = f"{step}: {type(exc).__name__}: {message[0] if message else ''}".rstrip(": ")
    return outcome


def _array(value: Any, np: Any, what: str) -> Any:
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise ValueError(f"{what} is not a rectangular array of numbers ({exc})") from None
