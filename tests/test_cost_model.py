"""The cost model is sound: every count and every state dimension has a bound when the spec is built, or the
spec is refused where the count or dimension is written (README "Limits").

Each bad spec below hid a 10¹²-element count or a 10¹⁰-element state from the old model, which let an unknown
size pass every limit: behind a `let`, a branch a default selects, `len()` of a number, a state's size, a test
made when the metric is traced. Each good neighbour, the same shape at a size within the limit, still builds.
The expected location is found by searching the spec's text (see test_bad_specs.py).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growth import MAX_RATIO, growth
from metricgen.analysis import constants
from metricgen.compiler import analyse_loaded, compile_file
from metricgen.errors import SpecErrors
from metricgen.loader import load_spec_text
from test_bad_specs import Case, check_messages, replace, write

LIMIT = "more than 100,000,000"


def with_params(params: str, old: str, new: str) -> str:
    return replace(old, new, replace("state:", f"params:\n{params}\nstate:"))


def with_let(let: str, value: str) -> str:
    return replace("  tp: sum(y_true * y_pred)", f"  let:\n{let}\n  tp: {value}")


def counted(count: str) -> str:
    """The good spec, its update a sum over `arange(0, count)`."""
    return f"sum(cast(arange(0, {count}), float))"


def shaped(shape: str, params: str = "") -> str:
    """The good spec with a state of ``shape`` (and ``params``)."""
    text = replace("  tp: {}", f"  tp: {{shape: {shape}}}").replace("result: tp", "result: sum(tp)")
    return replace("state:", f"params:\n{params}\nstate:", text) if params else text


OPTIONAL_K = "  k: {type: int, default: null}"
MODE = "  mode: {{type: str, default: {}}}"
THRESHOLDS = "  thresholds: {type: 'float|list[float]', default: 0.5}"
REQUIRED_N = "  n: {type: int, min: 1}"
CHAIN_OF_40 = "\n".join(["    a0: 1"] + [f"    a{i}: a{i - 1} + a{i - 1}" for i in range(1, 41)])

BAD = [
    Case(
        "let_hides_a_count",
        with_let("    big: 10 ** 12", counted("big")),
        ("big)", 0),
        ["argument 'stop' of arange() is 1,000,000,000,000", LIMIT],
        only=True,
    ),
    Case(
        "branch_an_optional_default_selects_sizes_a_state",
        shaped("['k if k is not None else 100000', 'k if k is not None else 100000']", OPTIONAL_K),
        ("['k if", 0),
        ["state variable 'tp' would hold 10,000,000,000 elements", "METRICGEN_MAX_STATE_ELEMENTS"],
        only=True,
    ),
    Case(
        "branch_a_str_default_selects_hides_a_count",
        with_params(MODE.format("big"), "sum(y_true * y_pred)", counted("10 ** 12 if mode == 'big' else 1")),
        ("10 ** 12 if", 0),
        ["argument 'stop' of arange() is 1,000,000,000,000", LIMIT],
        only=True,
    ),
    Case(
        "len_of_one_number_sizes_a_state",
        shaped("['len(thresholds) * 100000', 100000]", THRESHOLDS),
        ("['len", 0),
        ["would hold 10,000,000,000 elements"],
        only=True,
    ),
    Case(
        "state_size_in_a_count",
        shaped("[1000]").replace("sum(y_true * y_pred)", counted("shape(tp, 0) * 100000000")),
        ("shape(tp, 0) *", 0),
        ["argument 'stop' of arange() is 100,000,000,000", LIMIT],
        only=True,
    ),
    Case(
        "count_behind_a_rank_test",
        replace("sum(y_true * y_pred)", counted("10 ** 12 if rank(y_pred) >= 0 else 1")),
        ("10 ** 12 if", 0),
        ["argument 'stop' of arange() is 1,000,000,000,000", LIMIT],  # a rank is never negative: decided
        only=True,
    ),
    Case(
        "count_behind_a_rank_test_either_way",
        replace("sum(y_true * y_pred)", counted("10 ** 12 if rank(y_pred) >= 2 else 1")),
        ("10 ** 12 if", 0),
        ["argument 'stop' of arange() can be 1,000,000,000,000", LIMIT],
        only=True,
    ),
    Case(
        "count_behind_has_sample_weight",
        replace("sum(y_true * y_pred)", counted("1 if has_sample_weight() else 10 ** 12")),
        ("1 if has", 0),
        ["argument 'stop' of arange() can be 1,000,000,000,000", LIMIT],
        only=True,
    ),
    Case(
        "count_from_a_rank",
        replace("sum(y_true * y_pred)", counted("rank(y_pred) * 1000")),
        ("rank(y_pred) *", 0),
        ["cannot bound this count when the spec is built", "rank(), known only when the metric is traced"],
        only=True,
    ),
    Case(
        "count_inside_a_branch_an_optional_param_guards",
        with_params(OPTIONAL_K, "sum(y_true * y_pred)", counted("k * 10 ** 12") + " if k is not None else sum(y_pred)"),
        ("k * 10", 0),
        ["argument 'stop' of arange() can be 1,000,000,000,000", LIMIT],
        only=True,
    ),
    Case(
        "count_behind_a_test_of_a_required_param",
        with_params(REQUIRED_N, "sum(y_true * y_pred)", counted("10 ** 12 if n > 5 else 1")),
        ("10 ** 12 if", 0),
        ["argument 'stop' of arange() can be 1,000,000,000,000", LIMIT],
        only=True,
    ),
    Case(
        "required_param_as_a_divisor",
        with_params(REQUIRED_N, "sum(y_true * y_pred)", counted("10 ** 12 // n")),
        ("10 ** 12 //", 0),
        ["cannot bound this count", "param 'n' (the caller gives it), used where its least value is not the least"],
        only=True,
    ),
    Case(
        "negative_base_to_a_huge_power",
        replace("sum(y_true * y_pred)", "sum(y_pred) * (-3) ** 1000000000"),
        ("(-3) **", 0),
        ["this constant raises to the power 1000000000, more than 64"],
        only=True,
    ),
    Case(
        "negative_base_to_a_huge_power_through_a_let",
        with_let("    big: 1000000000", "sum(y_pred) * (-3) ** big"),
        ("(-3) **", 0),
        ["this constant raises to the power 1000000000, more than 64"],
        only=True,
    ),
    Case(
        "negated_power_of_a_let",
        with_let("    big: 1000000000", "sum(y_pred) * -3 ** big"),
        ("3 ** big", 0),
        ["this constant raises to the power 1000000000, more than 64"],
        only=True,
    ),
    Case(
        "int64_overflow_through_a_let",
        with_let("    big: 10 ** 12", "sum(y_pred) * (big * big)"),
        ("big * big", 0),
        ["this constant is too large for an int64"],
        only=True,
    ),
    Case(  # each definition bounded once: the old walk followed 2⁴⁰ paths and never returned
        "chain_of_40_doubling_lets",
        with_let(CHAIN_OF_40, counted("a40")),
        ("a40)", 0),
        ["argument 'stop' of arange() is 1,099,511,627,776", LIMIT],
        only=True,
    ),
]

GOOD = {
    "let_within_the_limit": with_let("    n: 10 ** 6", counted("n")),
    "branch_an_optional_default_selects": shaped("['k if k is not None else 1000', 1000]", OPTIONAL_K),
    "branch_a_str_default_does_not_select": with_params(
        MODE.format("small"), "sum(y_true * y_pred)", counted("10 ** 12 if mode == 'big' else 1")
    ),
    "len_of_one_number": shaped("['len(thresholds) * 1000', 1000]", THRESHOLDS),
    "state_size_in_a_count": shaped("[1000]").replace("sum(y_true * y_pred)", counted("shape(tp, 0) * 1000")),
    "count_behind_a_rank_test": replace("sum(y_true * y_pred)", counted("5 if rank(y_pred) >= 0 else 3")),
    "count_from_a_required_param_squared": with_params(REQUIRED_N, "sum(y_true * y_pred)", counted("n * n")),
    "optional_param_in_a_branch_that_knows_it": with_params(
        OPTIONAL_K, "sum(y_true * y_pred)", counted("k * 1000") + " if k is not None else sum(y_pred)"
    ),
    "first_batch_state_size_in_a_count": replace("  tp: {}", "  tp: {shape: ['shape(y_pred, -1)']}\n  total: {}")
    .replace("  tp: sum(y_true * y_pred)", "  tp: sum(y_pred, axis=0)\n  total: " + counted("shape(tp, 0) * 1000"))
    .replace("result: tp", "result: sum(tp) + total"),
    "chain_of_40_doubling_lets_not_a_count": with_let(CHAIN_OF_40, counted("a40 * 0 + 3")),
}


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_hidden_cost_is_refused_where_it_is_written(case, tmp_path):
    path = write(tmp_path, case)
    result = compile_file(path, tmp_path / "generated")
    assert not result.ok, f"{case.id} was accepted"
    check_messages([e.format() for e in result.errors], path, case)


@pytest.mark.parametrize("name", GOOD)
def test_the_good_neighbour_builds(name, tmp_path):
    result = compile_file(write(tmp_path, Case(name, GOOD[name], (1, 1), [])), tmp_path / "generated")
    assert result.ok, [e.format() for e in result.errors]


def chain(lets: int) -> str:
    """`a{i}: a{i-1} * a{i-1}`, the last a count: every definition read twice by the next, 2^lets paths to a0."""
    definitions = "\n".join(["    a0: 1"] + [f"    a{i}: a{i - 1} * a{i - 1}" for i in range(1, lets + 1)])
    return with_let(definitions, counted(f"a{lets} + 2"))


def diamond(lets: int) -> str:
    """`a{i}: a{i-1} + b{i-1} + c{i-1}` (and b, c alike) over the inputs, the last summed over an axis (whose
    rank the analysis finds, to check the axis): 3^lets paths lead to the inputs."""
    steps = [
        f"    {x}{i}: a{i - 1} {op} b{i - 1} {op} c{i - 1}" for i in range(1, lets + 1) for x, op in zip("abc", "+*-")
    ]
    definitions = "\n".join(["    a0: y_pred", "    b0: y_true", "    c0: y_pred"] + steps)
    return with_let(definitions, f"sum(sum(a{lets} + b{lets} + c{lets}, axis=0))")


def analyse(text: str) -> None:
    analyse_loaded(load_spec_text(text, "lets.yaml"))


@pytest.mark.parametrize("shape, small, big", [(chain, 2, 20), (diamond, 1, 10)], ids=["chain", "diamond"])
def test_definitions_are_analysed_in_linear_time(shape, small, big):
    """A walk once per path takes 2^18 (chain) or 3^9 (diamond) times as long at the larger size: seconds."""
    ratio = growth(lambda: analyse(shape(small)), lambda: analyse(shape(big)))
    assert ratio < MAX_RATIO, f"{small} to {big} lets: {ratio:.1f}x the time"
    analyse(shape(90 if shape is chain else 30))  # within the 100 definitions a chain may be deep


# -- soundness: the bound holds every value the expression takes, with params anywhere they may be -------------

PARAMS = {"p": 3, "q": -2, "flag": True}
DECIDED_AT_TRACE = ["rank(y_pred) >= 1", "has_sample_weight()"]


@st.composite
def expressions(draw, depth: int = 0):
    """A small int expression over literals, params, a definition, branches (decided by a param's default or
    when the metric is traced) and + - * // % **, with its value for every way a trace-time test goes."""
    leaves = ["int", "param", "let"] if depth < 3 else ["int", "param"]
    kind = draw(st.sampled_from(leaves + (["op", "op", "branch"] if depth < 3 else [])))
    if kind == "int":
        n = draw(st.integers(-9, 9))
        return f"({n})", lambda env: n
    if kind == "param":
        name = draw(st.sampled_from(["p", "q"]))
        return name, lambda env: env[name]
    if kind == "let":
        return "d", lambda env: env["d"]
    if kind == "branch":
        cond = draw(st.sampled_from(DECIDED_AT_TRACE + ["flag", "p > q"]))
        (a, fa), (b, fb) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
        return f"({a} if {cond} else {b})", lambda env: fa(env) if env[cond] else fb(env)
    op = draw(st.sampled_from(["+", "-", "*", "//", "%", "**"]))
    a, fa = draw(expressions(depth + 1))
    if op == "**":
        k = draw(st.integers(0, 3))
        return f"({a} ** {k})", lambda env: fa(env) ** k
    b, fb = draw(expressions(depth + 1))
    python = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__, "//": int.__floordiv__, "%": int.__mod__}[op]
    return f"({a} {op} {b})", lambda env: (0 if op in ("//", "%") and fb(env) == 0 else python(fa(env), fb(env)))


def analysed_count(text: str, definition: str):
    """The bound metricgen gives ``text`` as a count, in a spec with params p, q, flag and `d: definition`."""
    spec = with_params(
        "  p: {type: int, default: 3}\n  q: {type: int, default: -2}\n  flag: {type: bool, default: true}",
        "  tp: sum(y_true * y_pred)",
        f"  let:\n    d: {definition}\n    n: {text}\n  tp: sum(y_pred) * 0.0 + cast(n + d * 0, float)",
    )
    metric = analyse_loaded(load_spec_text(spec, "prop.yaml"))[1]
    local = dict(metric.update_locals)
    known = constants.Known({p.name: p for p in metric.params}, local, {s.name: s for s in metric.states})
    return constants.bounds(local["n"], known)


@settings(max_examples=150, deadline=None)
@given(expressions(), expressions(depth=2))
def test_the_bound_holds_every_value_the_expression_takes(expression, definition):
    text, value = expression
    definition_text, definition_value = definition
    try:
        bound = analysed_count(text, definition_text)
    except SpecErrors:
        return  # refused (a constant too large, an exponent too high): nothing to hold
    for traced in [(r, w) for r in (False, True) for w in (False, True)]:
        env = {**PARAMS, "rank(y_pred) >= 1": traced[0], "has_sample_weight()": traced[1], "p > q": True}
        env["d"] = definition_value(env)
        actual = value(env)
        assert bound.lo <= actual <= bound.hi, (text, definition_text, traced, actual, bound)


@pytest.mark.parametrize(
    "let",
    [
        # (x - x) of an unbounded x is NaN in interval arithmetic, which compares false with every number
        "    huge: ((0 - rank(y_pred)) - (0 - rank(y_pred))) + rank(y_pred) * 1000000000000\n"
        "    n: 1 if has_sample_weight() else huge",
        "    huge: (rank(y_pred) - rank(y_pred)) * 1000000000000 + rank(y_pred) * 1000000000000\n"
        "    n: 1 if has_sample_weight() else huge",
    ],
)
def test_an_unbounded_difference_is_never_taken_for_small(let):
    with pytest.raises(SpecErrors, match="cannot bound this count"):
        analyse(with_let(let, counted("n")))


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("min", ".inf", "min of param 'k' must be a finite number"),
        ("max", ".nan", "max of param 'k' must be a finite number"),
        ("default", "0x7fffffffffffffffff", "default of param 'k' must be within int64's range"),
    ],
)
def test_a_params_numbers_are_int64_and_finite(field, value, words):
    params = f"  k: {{type: int, {field}: {value}}}" if field != "default" else f"  k: {{type: int, default: {value}}}"
    text = with_params(params, "  tp: sum(y_true * y_pred)", "  tp: sum(y_true * y_pred) * k")
    with pytest.raises(SpecErrors, match=words) as caught:
        analyse(text)
    assert caught.value.errors[0].location.line > 1
