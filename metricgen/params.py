"""What value a constructor parameter takes, said once for build time and for the generated constructor.

A :class:`ParamRule` comes from a param's type, bounds and choices. The analyser asks it whether a spec's
default or an example's value is valid (:meth:`ParamRule.problem`); the lowering asks it for the generated
constructor's check (:meth:`ParamRule.check`), a condition over the argument that holds exactly when
``problem`` is empty, and the message both print (:meth:`ParamRule.describe`). A test runs the generated
check against ``problem`` on many values, so the two cannot drift apart.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from . import ir

NUMERIC_TYPES = ("int", "float", "list[int]", "list[float]", "float|list[float]")
NUMBER_OR_LIST = "float|list[float]"  # Keras' thresholds=0.5 or thresholds=[0.2, 0.5]


def _fmt(value: Any) -> str:
    return repr(value)


@dataclass(frozen=True)
class ParamRule:
    type: str  # int | float | bool | str | list[int] | list[float] | callable
    min: Optional[float] = None
    max: Optional[float] = None
    choices: Optional[tuple[str, ...]] = None
    optional: bool = False  # None is a valid value (the param's default is None)

    @property
    def item_type(self) -> str:
        if self.type == NUMBER_OR_LIST:
            return "float"
        return self.type[5:-1] if self.type.startswith("list[") else self.type

    # -- the rule in Python (build time) --------------------------------------------------------------------
    def _item_holds(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral if self.item_type == "int" else numbers.Real):
            return False
        return (self.min is None or v >= self.min) and (self.max is None or v <= self.max)

    def holds(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if self.type == "callable":
            return callable(value)
        if self.type == "bool":
            return isinstance(value, bool)
        if self.type == "str":
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        if self.type == NUMBER_OR_LIST and not isinstance(value, (list, tuple)):
            return self._item_holds(value)
        if self.type.startswith("list[") or self.type == NUMBER_OR_LIST:
            return isinstance(value, (list, tuple)) and all(self._item_holds(v) for v in value)
        return self._item_holds(value)

    def problem(self, value: Any) -> str:
        """Why ``value`` is not a valid value of the param, or '' when it is."""
        return "" if self.holds(value) else f"must be {self.describe()}, got {_fmt(value)}"

    def describe(self) -> str:
        return self._describe_value() + (" or None" if self.optional else "")

    def _describe_value(self) -> str:
        if self.type == "callable":
            return "a function"
        if self.type == "bool":
            return "True or False"
        if self.type == "str":
            return "a string" if self.choices is None else "one of " + ", ".join(map(repr, self.choices))
        if self.min is not None and self.max is not None:
            bounds = f" in [{self.min}, {self.max}]"
        elif self.min is not None:
            bounds = f" >= {self.min}"
        elif self.max is not None:
            bounds = f" <= {self.max}"
        else:
            bounds = ""
        if self.type == NUMBER_OR_LIST:
            return "a number or a list of numbers" + (f", each{bounds}" if bounds else "")
        if self.type.startswith("list["):
            return f"a list of {'ints' if self.item_type == 'int' else 'numbers'}" + (
                f", each{bounds}" if bounds else ""
            )
        return ("an int" if self.type == "int" else "a number") + bounds

    # -- the same rule as generated code --------------------------------------------------------------------
    def _item_condition(self, v: str) -> list[str]:
        kind = "numbers.Integral" if self.item_type == "int" else "numbers.Real"
        parts = [f"isinstance({v}, {kind})", f"not isinstance({v}, bool)"]
        if self.min is not None and self.max is not None:
            parts.append(f"{_fmt(self.min)} <= {v} <= {_fmt(self.max)}")
        elif self.min is not None:
            parts.append(f"{v} >= {_fmt(self.min)}")
        elif self.max is not None:
            parts.append(f"{v} <= {_fmt(self.max)}")
        return parts

    def condition(self, name: str) -> str:
        """A Python expression over the argument ``name`` that holds exactly when :meth:`holds` does."""
        value = self._value_condition(name)
        return f"{name} is None or {value}" if self.optional else value

    def _value_condition(self, name: str) -> str:
        if self.type == "callable":
            return f"callable({name})"
        if self.type == "bool":
            return f"isinstance({name}, bool)"
        if self.type == "str":
            if self.choices is None:
                return f"isinstance({name}, str)"
            return f"isinstance({name}, str) and {name} in {tuple(self.choices)!r}"
        if self.type.startswith("list[") or self.type == NUMBER_OR_LIST:
            items = " and ".join(self._item_condition("v"))
            listed = f"isinstance({name}, (list, tuple)) and all({items} for v in {name})"
            if self.type == NUMBER_OR_LIST:
                return f"({listed}) or ({' and '.join(self._item_condition(name))})"
            return listed
        return (
            "(" + " and ".join(self._item_condition(name)) + ")"
            if self.optional
            else " and ".join(self._item_condition(name))
        )

    def stored(self, name: str) -> str:
        """The argument as the instance keeps it: numbers normalised (numpy scalars become Python numbers)."""
        if self.type in ("int", "float"):
            value = f"{self.type}({name})"
        elif self.type == NUMBER_OR_LIST:
            value = f"[float(v) for v in {name}] if isinstance({name}, (list, tuple)) else float({name})"
        elif self.type.startswith("list["):
            value = f"[{self.item_type}(v) for v in {name}]"
        else:
            return name
        return f"None if {name} is None else {value}" if self.optional else value

    @property
    def needs_numbers_module(self) -> bool:
        return self.type in NUMERIC_TYPES

    def check(self, class_name: str, name: str, attribute: str | None = None) -> list[str]:
        """The constructor's lines for this argument: the check, then storing it on the instance (as
        ``attribute``, by default its own name)."""
        # the description may hold a str param's choices (spec text): braces doubled, so an f-string keeps them
        said = f"{class_name}: argument `{name}` must be {self.describe()}, got ".replace("{", "{{").replace("}", "}}")
        return [
            f"if not ({self.condition(name)}):",
            f"    raise ValueError(f{said + '{' + name + '!r}'!r})",
            f"self.{attribute or name} = {self.stored(name)}",
        ]


def param_rule(p: "ir.Param") -> ParamRule:
    """The rule of an analysed param: the analysis checks its default and example values with it, the lowering
    writes the constructor's check from it."""
    return ParamRule(p.type, p.min, p.max, None if p.choices is None else tuple(p.choices), optional=p.optional)
