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
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .compiler import generate
from .errors import Location, SpecError, SpecErrors, printable
from .inherit import load_spec, resolve
from .loader import LoadedSpec
from .schema import ExampleSpec, Spec, validate_spec
from .targets import DEFAULT_TARGET, TARGETS, Target


@dataclass
class ExampleOutcome:
    """What one example gave."""

    spec_path: str
    index: int  # 1-based, as people count
    doc: str
    expected: Any  # a number, or nested lists of numbers (a vector or matrix result)
    tolerance: float
    result: Any = None  # as expected: a number or nested lists
    error: str = ""  # why the example could not run (an exception from the metric), else ''

    @property
    def passed(self) -> bool:
        if self.error or self.result is None or shape_of(self.result) != shape_of(self.expected):
            return False
        return all(close_enough(r, e, self.tolerance) for r, e in zip(flat(self.result), flat(self.expected)))

    def format(self) -> str:
        what = printable(f"{self.spec_path} example {self.index}" + (f" ({self.doc})" if self.doc else ""))
        if self.error:
            return f"FAIL {what}: {printable(self.error)}"
        verdict = "PASS" if self.passed else "FAIL"
        text = (
            f"{verdict} {what}: result {as_text(self.result)}, expected {as_text(self.expected)} ± {self.tolerance:g}"
        )
        if self.passed or self.result is None:
            return text
        if shape_of(self.result) != shape_of(self.expected):
            return text + f" (shape {shape_of(self.result)}, expected {shape_of(self.expected)})"
        gaps = [abs(r - e) for r, e in zip(flat(self.result), flat(self.expected)) if not math.isnan(r - e)]
        return text + (f" (off by {max(gaps):.3g})" if gaps else "")


def flat(value: Any) -> list[float]:
    """The numbers of a number or nested lists, in order."""
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in flat(item)]
    return [float(value)]


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of nested lists (() for a number); None where they are not rectangular."""
    if not isinstance(value, (list, tuple)):
        return ()
    shapes = {shape_of(item) for item in value}
    if len(shapes) > 1 or None in shapes:
        return None  # type: ignore[return-value]
    return (len(value),) + (shapes.pop() if shapes else ())


def as_text(value: Any) -> str:
    """A number, or nested lists of them, as `metricgen test` prints it."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(as_text(v) for v in value) + "]"
    return f"{value:.9g}"


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
    return run_loaded_examples(load_spec(spec_file, shown), target)


def run_loaded_examples(loaded: LoadedSpec, target: str = DEFAULT_TARGET) -> list[ExampleOutcome]:
    """Every example of a loaded spec, run against a freshly generated class (see run_spec_examples)."""
    shown = loaded.path
    loaded = resolve(loaded)  # with the specs it extends merged in
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
    expected = example.expected if isinstance(example.expected, list) else float(example.expected)
    outcome = ExampleOutcome(shown, index, " ".join(example.doc.split()), expected, example.tolerance)
    step = "constructing the metric"
    try:
        metric = runtime.example_make(cls, example.params)
        for b, batch in enumerate(example.batches, 1):
            step = f"batch {b}"
            args = {i.name: _array(batch[i.name], np, f"input '{i.name}'") for i in spec.inputs}
            weights = batch.get("sample_weight")
            runtime.example_update(metric, args, None if weights is None else _array(weights, np, "sample_weight"))
        step = runtime.example_result_name
        value = runtime.example_result(metric)
        outcome.result = value.astype(float).tolist() if value.ndim else float(value)
    except Exception as exc:  # the metric's own error, reported as the example's failure
        message = str(exc).strip().splitlines()
        outcome.error = f"{step}: {type(exc).__name__}: {message[0] if message else ''}".rstrip(": ")
    return outcome


def _array(value: Any, np: Any, what: str) -> Any:
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise ValueError(f"{what} is not a rectangular array of numbers ({exc})") from None


# -- in a child process, with limits ------------------------------------------------------------------------


@dataclass
class SpecRun:
    """What running one spec's examples in the child gave: outcomes, or errors, or why it stopped."""

    file: str
    outcomes: list[ExampleOutcome]
    errors: list[SpecError]
    problem: str = ""  # the child ran past its limits or crashed while running this spec
    missing: str = ""  # an import the target's runtime needs
    keras_backend: str = ""  # the Keras backend the examples ran on, where they ran on Keras


@dataclass(frozen=True)
class LimitVariable:
    """An environment variable that sets one of the child's limits."""

    name: str
    default: float
    what: str  # what the number counts

    def value(self) -> float:
        """The variable's number (its default when unset); a SpecError naming it when it is set to anything
        but a positive finite number: a limit of nan, inf or -1 would be no limit at all."""
        text = os.environ.get(self.name)
        if text is None:
            return self.default
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number > 0):
            raise SpecError(
                f"{self.name}={text!r} is not a positive finite number",
                path="metricgen",
                hint=f"it is {self.what}, {self.default:g} when unset",
            )
        return number


TIMEOUT = LimitVariable("METRICGEN_TEST_TIMEOUT", 120, "the seconds each spec's examples may run")
MEMORY_MB = LimitVariable("METRICGEN_TEST_MEMORY_MB", 8192, "the megabytes of memory the examples may use")
STARTUP = LimitVariable("METRICGEN_TEST_STARTUP", 60, "the seconds the child may take to start")


@dataclass(frozen=True)
class Limits:
    """What the child running examples may use."""

    seconds: float  # each spec's examples, from when the spec before them finished
    megabytes: float  # the child's address space
    startup: float  # added to a spec's seconds for the child's start: Python, the target's runtime, a warm-up

    @classmethod
    def from_environment(cls) -> "Limits":
        """The limits the environment sets; raises SpecError for a variable set to something not a limit."""
        return cls(TIMEOUT.value(), MEMORY_MB.value(), STARTUP.value())


def run_isolated(files: list[Path], target: str, limits: Optional[Limits] = None) -> list[SpecRun]:
    """Every spec's examples, run in a child process with a time limit for each spec and a memory limit, so
    that no spec (from a pull request, say) can hang or exhaust the machine running `metricgen test`. A spec
    whose examples pass a limit is reported with the problem; the child is restarted for the specs after it."""
    limits = limits or Limits.from_environment()
    runs: list[SpecRun] = []
    pending = [str(f) for f in files]
    while pending:
        done, stopped, started = _run_child(pending, target, limits)
        runs += done
        finished = {run.file for run in done}
        rest = [f for f in pending if f not in finished]
        if not started:  # no spec's fault, and a new child would not start either
            return runs + [SpecRun(f, [], [], problem=stopped) for f in rest]
        if not rest:
            break
        runs.append(SpecRun(rest[0], [], [], problem=stopped))  # the spec running when the child stopped
        pending = rest[1:]
    return runs


def _run_child(files: list[str], target: str, limits: Limits) -> tuple[list[SpecRun], str, bool]:
    """``files`` run in one child until it finishes or stops: the SpecRuns it reported, why it stopped, and
    whether it started. The child has ``limits.startup`` (and a spec's seconds) to start: to import the
    target's runtime and run a warm-up spec. Then it writes a line as each spec finishes: each spec has
    ``limits.seconds`` from the line before it, so that a slow spec never takes time from the specs after it."""
    import queue
    import subprocess
    import sys
    import threading
    import time

    def limit_memory() -> None:  # pragma: no cover - runs in the child
        try:
            import resource

            size = int(limits.megabytes * 2**20)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        except (ImportError, ValueError, OverflowError, OSError):  # no such limit here, or larger than any
            pass

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
    child = subprocess.Popen(
        [sys.executable, "-m", "metricgen.example_child", target, *files],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        preexec_fn=limit_memory if os.name == "posix" else None,
    )
    lines: queue.Queue = queue.Queue()
    errors: list[str] = []
    readers = [  # threads: a pipe left unread would block the child once it is full
        threading.Thread(target=_read_lines, args=(child.stdout, lines), daemon=True),
        threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    runs: list[SpecRun] = []
    started = False
    stopped = ""
    deadline = time.monotonic() + limits.startup + limits.seconds  # a run of one spec: the time it always had
    while len(runs) < len(files):
        try:
            line = lines.get(timeout=min(max(deadline - time.monotonic(), 0.0), threading.TIMEOUT_MAX))
        except queue.Empty:
            child.kill()
            timeout = f"METRICGEN_TEST_TIMEOUT={limits.seconds:g} s"
            stopped = (
                f"the examples ran past their time (the limit: {timeout} a spec)"
                if started
                else f"the example runner did not start in time (the limit: METRICGEN_TEST_STARTUP={limits.startup:g} s"
                f" + {timeout})"
            )
            break
        if line is None:  # the child's output ended: it exited or crashed
            break
        data = _json_object(line)
        if "file" in data:
            runs.append(_spec_run(data))
        elif not data.get("started"):
            continue  # a line some library printed: no spec finished
        started = True
        deadline = time.monotonic() + limits.seconds
    child.wait()
    for reader in readers:
        reader.join(timeout=5)
    if not stopped and child.returncode != 0:
        err = "".join(errors)
        last = [line for line in err.strip().splitlines() if line.strip()][-1:] or [f"exit {child.returncode}"]
        memory = "MemoryError" in err or "bad_alloc" in err or child.returncode in (-9, 137)
        stopped = (
            f"the examples ran out of memory (the limit: METRICGEN_TEST_MEMORY_MB={limits.megabytes:g})"
            if memory
            else f"the example runner stopped: {last[0].strip()[:300]}"
        )
    return runs, stopped or "the example runner stopped before this spec", started


def _read_lines(stream: Any, lines: Any) -> None:
    """Each line of ``stream`` put on the queue ``lines``, then None at its end."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def _json_object(line: str) -> dict:
    """The JSON object on a line of the child's output; {} for a line that holds none."""
    import json

    try:
        data = json.loads(line)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _spec_run(data: dict) -> SpecRun:
    """The SpecRun a line of the child's output reports (see example_child)."""
    outcomes = [ExampleOutcome(**o) for o in data.get("outcomes", [])]
    errors = [
        SpecError(e["message"], Location(e["line"], e["column"]), e["path"], e["hint"]) for e in data.get("errors", [])
    ]
    return SpecRun(
        data["file"], outcomes, errors, data.get("crash", ""), data.get("missing", ""), data.get("keras_backend", "")
    )
