"""Naming rules: what a param, state variable, input or definition may be called, and no two things alike.

User names may shadow function names (a state called `count` keeps working after a function `count` is
added): a call always means the function, a bare name always the user's. The names generated code uses come
from the targets (``Target.generated_names``, handed in by the compiler), so this stage names no target. Names a
target's base class already has (``update_state``, ``update``) are refused by that target's lowering, not here.
"""

from __future__ import annotations

import builtins
import keyword
import re

from ..functions import CONSTANTS, DTYPE_NAMES
from .context import Context

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def name_problem(name: str, generated_names: frozenset[str], attribute_only: bool = False) -> str:
    """Why ``name`` cannot name something a spec declares, or '' when it can. ``generated_names``: the names
    generated code uses itself; ``attribute_only``: a state variable, only ever read as ``self.<name>``, so
    Python's built-in names do not get in its way."""
    if not IDENTIFIER.fullmatch(name):
        return "names are letters, digits and '_', starting with a letter"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "it is a Python keyword"
    if name in CONSTANTS or name in DTYPE_NAMES or name in ("True", "False", "None"):
        return "it is a built-in constant of the expression language"
    if name in generated_names or (hasattr(builtins, name) and not attribute_only):
        return "the generated code uses this name itself"
    return ""


def check_names(ctx: Context) -> set[str]:
    """Reports bad and clashing names; returns the invalid ones, whose follow-up errors are not reported."""
    spec, loaded = ctx.spec, ctx.loaded
    if keyword.iskeyword(spec.class_name) or hasattr(builtins, spec.class_name):
        what = "a Python keyword" if keyword.iskeyword(spec.class_name) else "a Python built-in the class uses"
        ctx.diag.error(
            f"invalid class_name '{spec.class_name}': it is {what}",
            loaded.location(("class_name",)),
            "CamelCase, like DiceCoefficient",
        )
    declared: dict[str, tuple[str, tuple]] = {}
    invalid: set[str] = set()
    groups = [
        ("param", ("params",), list(spec.params)),
        ("state variable", ("state",), list(spec.state)),
        ("input", ("inputs",), [i.name for i in spec.inputs]),
        ("definition", ("update", "let"), list(spec.update.let)),
        ("definition", ("result", "let"), list(spec.result.let)),
    ]
    for what, base, names in groups:
        for index, name in enumerate(names):
            path = base + ((index, "name") if base == ("inputs",) else (name,))
            where = loaded.location(path) if base == ("inputs",) else loaded.key_location(path)
            problem = name_problem(name, ctx.generated_names, attribute_only=base == ("state",))
            if not problem and base == ("state",) and name == "let":
                problem = "'let' under update: holds the definitions, so no update could name this state"
            if problem:
                ctx.diag.error(f"invalid {what} name '{name}': {problem}", where)
                invalid.add(name)
                continue
            previous = declared.get(name)
            same_let_scope = previous and {previous[1][:1], base[:1]} == {("update",), ("result",)}
            if previous and not same_let_scope:
                ctx.diag.error(
                    f"'{name}' is already defined as a {previous[0]}",
                    where,
                    "every param, state variable, input and definition needs its own name",
                )
                continue
            declared.setdefault(name, (what, base))
    return invalid
