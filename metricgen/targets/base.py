"""What a target is: everything about one kind of generated module that differs from another kind.

A target names itself (the CLI's ``--target``), owns its column of the function table, says where its modules
go, how dtypes, casts, constants and logical operators are spelled, how a batch value is folded into state,
which attribute names its base class already has, which helper files it copies functions from, which
template lays the module out, and how `metricgen test` runs a class of it. The compiler's other stages call
these hooks and never test a target's name.

To add a target, see "How to add a target" in docs/architecture.md.
"""

from __future__ import annotations

import abc
import ast
import contextlib
import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Optional

from .. import ir
from ..functions import Lowering
from ..types import FLOAT


class Target(abc.ABC):
    #: the CLI's --target value
    name: str
    #: one line for --help
    summary: str
    #: where its modules go, relative to the output folder ("" for the folder itself)
    folder: str
    #: the Jinja2 template of a module, in templates/
    template: str
    #: files in templates/ whose top-level functions a module may copy (only those it calls)
    helper_files: tuple[str, ...]
    #: imports at the top of every module
    imports: tuple[str, ...]
    #: the module prefix of array functions ("tf", "ops", "torch")
    ops: str
    #: spelling of each named constant of the language (functions.CONSTANTS)
    constants: dict[str, str]
    #: element-wise logical and equality operators on tensors: and, or, not, ==, !=
    logical: dict[str, str]
    #: names its modules use in method bodies (modules, arguments, loop variables): a spec declares none of them,
    #: on any target (the compiler hands the analysis every registered target's). These are what the shared
    #: lowering writes; a target adds its own.
    generated_names: frozenset[str] = frozenset({"self", "sample_weight", "numbers"})
    #: attributes the generated class already has: params and state variables cannot take these names
    reserved_attributes: frozenset[str]
    #: the class that reserves them, as an error names it
    reserved_by: str
    #: the method that takes a batch, and the constructor arguments every class of this target has, as the
    #: class docstring lists them
    update_method: str
    constructor_docs: tuple[tuple[str, str], ...] = ()
    #: functions whose two same-dtype operands may be written as a Python number beside a tensor (the library
    #: gives the tensor's dtype): a constant written so costs no tensor of its own on an eager target
    scalar_operands: frozenset[str] = frozenset()
    #: functions whose every float operand that is a number cast to a tensor is written as the number (the
    #: function takes numbers and a dtype of its own: torch.linspace(0.0, 1.0, n, dtype=...))
    number_operands: frozenset[str] = frozenset()
    #: how a choice on a one-element tensor runs only the branch taken (passes/branch_on_scalar.py): "read back"
    #: (an eager target: a Python `if` on the test), "traced" (the library's conditional, `conditional` below,
    #: for a branch computed over the batch), or None: where() stays (a target XLA always compiles, where a
    #: select fuses into what reads it and a conditional does not)
    branches_on_scalars: Optional[str] = None
    #: whether an `add` state's fold is an in-place add that broadcasts its value (passes/fold_scalars.py)
    folds_broadcast: bool = False

    #: its column of the function table: how each function it can express is written, by function name, in the
    #: table's order (``FUNCTIONS`` of targets/<name>_functions.py). A function it has no entry for is refused,
    #: located where a spec calls it; an entry the table lacks stops metricgen loading (targets/__init__.py).
    column: dict[str, Lowering]

    # -- spellings ------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def dtype(self, dtype: str) -> str:
        """Code naming ``dtype`` inside a method (the metric's float dtype is FLOAT)."""

    def cast(self, code: str, dtype: str) -> str:
        return f"{self.ops}.cast({code}, {self.dtype(dtype)})"

    def dtype_doc(self, dtype: str) -> str:
        """How a module's docstring names the language's ``dtype`` (not FLOAT) on this target."""
        return dtype

    @abc.abstractmethod
    def constant(self, code: str, dtype: str) -> str:
        """A Python number or list as a tensor of ``dtype``."""

    def state_variable(self, name: str) -> str:
        """Code naming the state variable ``name`` in a method: an attribute of the metric (``self.total``) for a
        stateful class, a field of the state passed in (``state.total``) for a functional one."""
        return f"self.{name}"

    #: the constructor's own arguments, which no param can take (Keras' name and dtype)
    constructor_arguments: frozenset[str] = frozenset()

    def param_attribute(self, name: str) -> str:
        """The attribute the metric keeps the param ``name`` in: its name, or ``_param_<name>`` where the base
        class has an attribute of that name (keras.metrics.Metric has ``weights``, which torchmetrics' Cohen's
        kappa takes as a param). No spec name starts with ``_``, and no base class has ``_param_`` attributes."""
        return f"_param_{name}" if name in self.reserved_attributes else name

    def build_state(self, shapes: str) -> str:
        """The statement that makes the state variables shaped by the first batch, from the sizing inputs'
        shapes (``shapes``: their code, comma-separated; None each where the params give every size)."""
        return f"self._build_state({shapes})"

    def read_state(self, variable: str) -> str:
        """A state variable (code: ``self.x``) as an expression passes it to an op."""
        return variable

    def conditional(self, cond: str, then: str, orelse: str) -> Optional[str]:
        """A choice on a one-element tensor that runs only the branch taken, where branches_on_scalars is
        "traced" (the library's conditional, each branch a lambda); None: a Python `if` on the test."""
        return None

    @abc.abstractmethod
    def snapshot(self, code: str) -> str:
        """A tensor holding a state variable's current value (what result() returns, not the variable)."""

    # -- state ----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def fold(self, state: ir.State, value: str, may_reshape: bool = False) -> list[str]:
        """Statements folding a batch value into a state variable, in update. ``may_reshape``: the analysis cannot
        show that the value leaves the state's shape as declared (passes.ir_shapes.keeps_shape); a fold that
        would let it grow or be replaced (rather than refuse, as a Keras variable's assign does) checks it."""

    #: whether the result reads a sample buffer with `unfilled: ignored` as the rows it holds (a target whose
    #: shapes need not be fixed; XLA and jax.jit need the whole buffer)
    reads_held_rows = False

    def filled(self, rows: str, capacity: str) -> str:
        """Which rows of a sample buffer hold data (``rows``: code reading its row count)."""
        return f"{self.ops}.arange({capacity}) < {rows}"

    def unless_overflowed(self, code: str, rows: str, capacity: str, metric: str, buffer: str) -> str:
        """The result (``code``), refused where the sample buffer ``buffer`` was given more rows than it keeps
        (an error where the count is known, NaN under jit or XLA): never a number from some of the rows."""
        return f"_unless_overflowed({code}, {rows}, {capacity}, {metric!r}, {buffer!r})"

    @abc.abstractmethod
    def unbuilt(self, variable: str) -> str:
        """A condition: the state variable ``variable`` (code: ``self.x``, ``other.x``), shaped by the first
        batch, has not been made yet."""

    # -- the module -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def module(self, metric: ir.Metric, printer: Any) -> dict[str, Any]:
        """The template's variables for one metric (``printer`` prints its expressions for this target)."""

    def module_imports(self, extra: list[str]) -> list[str]:
        """The module's imports: the standard library's the class needs (``extra``), a blank line, then ours."""
        return extra + [""] * bool(extra) + list(self.imports)

    def output_path(self, out_dir: Path, module: str) -> Path:
        folder = out_dir / self.folder if self.folder else out_dir
        return folder / f"{module}.py"

    def build_command(self, spec_path: str) -> str:
        """The command that rebuilds a module, as its header and `check` say it."""
        flag = "" if self.folder == "" else f"--target {self.name} "
        return f"metricgen build {flag}{spec_path}"

    # -- helpers --------------------------------------------------------------------------------------------
    @functools.cached_property
    def helper_sources(self) -> dict[str, str]:
        """Top-level functions of this target's helper files, by name."""
        sources = {}
        for file in self.helper_files:
            text = (templates_dir() / file).read_text(encoding="utf-8")
            lines = text.splitlines(keepends=True)  # (ast.get_source_segment splits the file on every call)
            for node in ast.parse(text).body:
                if isinstance(node, ast.FunctionDef):  # whole lines: a helper starts a line and ends one
                    sources[node.name] = "".join(lines[node.lineno - 1 : node.end_lineno]).rstrip("\n")
        return sources

    def helpers_called(self, code: str) -> list[str]:
        """The helpers ``code`` names (calls, or passes as a value), with the helpers they name in turn, in the
        helper files' order."""
        sources = self.helper_sources
        needed: set[str] = set()
        pending = [code]
        while pending:
            for name in re.findall(r"\b(_[a-z][a-z0-9_]*)\b", pending.pop()):
                if name in sources and name not in needed:
                    needed.add(name)
                    pending.append(sources[name])
        return [name for name in sources if name in needed]

    # -- `metricgen test` -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def example_runtime(self) -> Iterator[Any]:
        """Imports what running a generated class needs (only here: the generator itself never does), and
        undoes what defining one does to global state."""
        yield None

    #: what `metricgen test` calls the result step in a failure message
    example_result_name = "result()"

    def example_make(self, cls: Any, params: dict[str, Any]) -> Any:
        """A metric of the generated class ``cls`` made with ``params``, ready to be fed batches."""
        return cls(**params)

    @abc.abstractmethod
    def example_update(self, metric: Any, inputs: dict[str, Any], sample_weight: Any) -> None:
        """Feeds one batch of numpy arrays (each input by its spec name, in the spec's order; sample_weight: an
        array or None) to ``metric``."""

    @abc.abstractmethod
    def example_result(self, metric: Any) -> Any:
        """``metric``'s result as a numpy array."""

    def example_backend(self) -> str:
        """The backend the examples ran on, as `metricgen test` reports it ('' where the target has no choice)."""
        return ""


def templates_dir() -> Path:
    """The templates and helper files: inside the installed package (wheels carry them), else the source
    checkout's."""
    packaged = Path(str(resources.files("metricgen"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def is_float(dtype: str) -> bool:
    return dtype == FLOAT or dtype.startswith(("float", "bfloat"))


def first_64_bit(metric: ir.Metric) -> str | None:
    """What of ``metric`` is int64 or float64 first (a state variable, an input, a cast), as an error names it;
    or None. The targets that run on JAX refuse it there unless 64-bit types are enabled: JAX holds int64 as
    int32 (wrapping past 2**31 - 1) and float64 as float32, silently."""
    wide = ("int64", "float64")
    for s in metric.states:
        if s.dtype in wide:
            return f"state variable {s.name!r} ({s.dtype})"
    for i in metric.inputs:
        if i.dtype in wide:
            return f"input {i.name!r} ({i.dtype})"
    casts = (e for expr in metric.expressions() for e in ir.walk(expr) if isinstance(e, ir.Cast))
    return next((f"a cast to {e.type.dtype}" for e in casts if e.type.dtype in wide), None)
