"""What every analysis step shares about one spec: the spec, its source, the errors found so far, and the
declarations once they are analysed."""

from __future__ import annotations

from typing import Any, Callable

from .. import ir
from .. import syntax as syn
from ..errors import Diagnostics, Location, SpecError, SpecErrors
from ..expressions import parse_expression
from ..loader import LoadedSpec
from ..schema import Spec
from .source_map import locator


class Context:
    def __init__(self, spec: Spec, loaded: LoadedSpec, generated_names: frozenset[str]):
        self.spec = spec
        self.loaded = loaded
        self.generated_names = generated_names  # what generated code uses itself: no declaration may take one
        self.diag = Diagnostics(loaded.path)
        self.params: dict[str, ir.Param] = {}
        self.states: dict[str, ir.State] = {}
        self.inputs: dict[str, ir.Input] = {}
        self.uses_sample_weight = False
        self.state_elements = 0  # with params at their defaults: the cost model's total

    def fail(self, message: str, location: Location, hint: str = "") -> SpecError:
        return SpecError(message, location, self.loaded.path, hint)

    def guard(self, fn: Callable[[], Any]) -> Any:
        """``fn()``, its errors recorded rather than raised (then None)."""
        try:
            return fn()
        except SpecError as exc:
            self.diag.errors.append(exc)
        except SpecErrors as exc:
            self.diag.extend(exc.errors)
        return None

    def parse(self, text: str, path: tuple) -> syn.Node:
        return parse_expression(text, locator(self.loaded, path), self.loaded.path)
