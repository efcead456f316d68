"""The front end takes time in proportion to the spec, whatever the spec: up to the 1 MB file limit, a hostile
spec is validated (or refused) in seconds. Each shape below is validated at 1x and at 10x its size in one process
and the two times compared (see growth.py): linear work grows about tenfold, a walk that is quadratic in the
spec's names, errors or nesting a hundredfold. The 1x sizes are small enough that the 10x spec takes well under
two seconds when the work is linear.

The shapes are the ones that once were not linear: errors formatted before they were capped, a did-you-mean search
among every name for every unknown one, each position found by scanning the text from its start.
"""

from __future__ import annotations

from typing import Callable

import pytest
from growth import MAX_RATIO, growth

from metricgen.compiler import analyse_loaded
from metricgen.errors import MAX_ERRORS, SpecErrors
from metricgen.loader import load_spec_text


def spec(params: str = "", state: str = "  tp: {}\n", update: str = "  tp: sum(y_true)\n", result: str = "tp") -> str:
    params = f"params:\n{params}" if params else ""
    return f"name: m\nclass_name: M\ndescription: d\n{params}state:\n{state}update:\n{update}result: {result}\n"


def states(n: int, update: Callable[[int], str], declaration: str = "{}", name: str = "s{i}") -> str:
    """``n`` state variables, each updated by its own expression."""
    names = [name.format(i=i) for i in range(n)]
    return spec(
        state="".join(f"  {s}: {declaration}\n" for s in names),
        update="".join(f"  {s}: {update(i)}\n" for i, s in enumerate(names)),
        result=names[0],
    )


def lets(n: int, definition: Callable[[int], str], used: str = "a0") -> str:
    """``n`` let definitions in update."""
    return spec(update="  let:\n" + "".join(f"    a{i}: {definition(i)}\n" for i in range(n)) + f"  tp: {used}\n")


def long_key_aliases(n: int) -> str:
    """``n`` duplicate keys, each an alias of one long key: one error each, the key in every message."""
    return "k: &k " + "k" * 120 + "\n" + spec() + "extra: {" + ", ".join(["*k: 1"] * n) + "}\n"


def let_chains(n: int) -> str:
    """``n`` definitions in chains 90 deep (the limit is 100), each link used once."""
    chain = 90
    definitions = {}
    for i in range(n):
        j, k = divmod(i, chain)
        definitions[f"c{j}_{k}"] = "sum(y_true)" if k == 0 else f"c{j}_{k - 1} + 1"
    ends = [f"c{j}_{chain - 1}" for j in range(n // chain)]
    return spec(
        update="  let:\n"
        + "".join(f"    {name}: {d}\n" for name, d in definitions.items())
        + f"  tp: {' + '.join(ends)}\n"
    )


def lets_each_used(n: int) -> str:
    """``n`` definitions, added up a hundred at a time into a hundred state variables."""
    sums = {f"s{j}": " + ".join(f"a{i}" for i in range(j, n, 100)) for j in range(min(n, 100))}
    return spec(
        state="".join(f"  {name}: {{}}\n" for name in sums),
        update="  let:\n"
        + "".join(f"    a{i}: sum(y_true) * {i}\n" for i in range(n))
        + "".join(f"  {name}: {total}\n" for name, total in sums.items()),
        result="s0",
    )


def doubling_lets(n: int) -> str:
    """``n`` definitions, each the one before it twice over, the last a count: 2 ** (n - 1), a walk that follows
    each definition once per path to it takes as long."""
    definitions = "    a0: 1\n" + "".join(f"    a{i}: a{i - 1} + a{i - 1}\n" for i in range(1, n))
    return spec(update=f"  let:\n{definitions}  tp: sum(cast(arange(0, a{n - 1}), float))\n")


def balanced_sum(terms: list[str]) -> str:
    """``terms`` added pairwise, in parentheses: a long expression only log2(len(terms)) levels deep."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({balanced_sum(terms[:half])} + {balanced_sum(terms[half:])})"


def example_keys(n: int) -> str:
    """One example giving ``n`` params the spec does not have."""
    given = ", ".join(f"q{i}: 1" for i in range(n))
    return (
        spec() + f"examples:\n  - params: {{{given}}}\n    batches: [{{y_true: [1], y_pred: [1]}}]\n    expected: 1\n"
    )


# name: (the spec at a size n, the 1x size, whether the 10x spec is refused)
SHAPES: dict[str, tuple[Callable[[int], str], int, bool]] = {
    # errors: more than MAX_ERRORS of them at 10x (the rest are counted, not formatted)
    "duplicate_keys_through_an_alias": (long_key_aliases, 200, True),
    "unknown_names_in_lets": (lambda n: lets(n, lambda i: f"sum(u{i})"), 150, True),
    "unknown_names_in_states": (lambda n: states(n, lambda i: f"sum(zz{i})"), 150, True),
    "misspelt_long_names": (
        lambda n: states(n, lambda i: f"sum(state_numbr_{i})", name="state_number_{i}"),
        40,
        True,
    ),
    "unknown_functions": (lambda n: states(n, lambda i: f"sum(funk{i}(y_true))"), 150, True),
    "type_errors": (lambda n: states(n, lambda i: "sum(y_true) + 'a'"), 150, True),
    "unknown_keys": (lambda n: states(n, lambda i: "sum(y_true)", declaration="{shap: [1]}"), 150, True),
    "bad_param_types": (
        lambda n: spec(params="".join(f"  p{i}: {{type: flot, default: x}}\n" for i in range(n))),
        150,
        True,
    ),
    "unknown_example_params": (example_keys, 150, True),
    # specs that build: their size alone
    "many_states": (lambda n: states(n, lambda i: f"sum(y_true) * {i}"), 150, False),
    "many_params": (
        lambda n: spec(params="".join(f"  p{i}: {{type: float, default: {i}.0, doc: p}}\n" for i in range(n))),
        150,
        False,
    ),
    "many_lets_each_used": (lets_each_used, 100, False),
    "let_chains": (let_chains, 90, False),
    "doubling_lets": (doubling_lets, 4, True),  # 2 ** 39 elements: more than a count may have
    "long_expressions": (lambda n: states(n, lambda i: f"sum({balanced_sum(['y_true * y_pred'] * 160)})"), 5, False),
    "deep_expressions": (lambda n: states(n, lambda i: "sum(" + "abs(" * 90 + "y_true" + ")" * 90 + ")"), 10, False),
}


def validate(text: str) -> int:
    """The number of errors of loading, validating and analysing ``text`` (what `metricgen validate` does)."""
    try:
        analyse_loaded(load_spec_text(text, "specs/m.yaml"))
    except SpecErrors as errors:
        assert all(e.format().startswith("specs/m.yaml") for e in errors.errors)
        return len(errors.errors)
    return 0


@pytest.mark.parametrize("shape", SHAPES)
def test_validation_time_grows_linearly(shape):
    make, size, refused = SHAPES[shape]
    small, big = make(size), make(10 * size)
    assert len(big) < 1_000_000
    errors = validate(big)
    assert (errors > 0) == refused
    assert errors <= MAX_ERRORS + 1  # the rest counted in one line
    assert growth(lambda: validate(small), lambda: validate(big)) <= MAX_RATIO
