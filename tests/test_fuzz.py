"""Fuzzing the loader, the validator and the expression checker with hypothesis.

Whatever goes in, the only exception out of metricgen is a spec error (SpecErrors, holding located
SpecError items), and every spec that validates generates a module that compiles and is black-stable
(formatting it again changes nothing). Runs are bounded (max_examples, no deadline) to keep the file fast.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import random
import string
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

import black
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metricgen.compiler import generate_from_text
from metricgen.errors import SpecError, SpecErrors
from metricgen.formatting import format_source
from metricgen.functions import CONSTANTS, DTYPE_NAMES, REGISTRY, STATIC_FUNCTIONS
from metricgen.loader import load_spec_file, load_spec_text
from metricgen.schema import validate_spec

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)


def generate_checked(text: str) -> Optional[str]:
    """The module for ``text``, checked; None when the spec is refused (with a well-formed spec error)."""
    try:
        source = generate_from_text(text, "specs/fuzz.yaml")
    except SpecErrors as exc:
        assert exc.errors, "SpecErrors without errors"
        for error in exc.errors:
            assert isinstance(error, SpecError)
            assert error.format().startswith("specs/fuzz.yaml")
        return None
    compile(source, "generated/fuzz.py", "exec")
    assert black.format_str(source, mode=black.Mode()) == source, "generated module is not black-stable"
    assert format_source(source) == source
    return source


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


# -- random YAML-ish structures ------------------------------------------------------------------------------

SPEC_KEYS = [
    "name",
    "class_name",
    "description",
    "package",
    "params",
    "inputs",
    "state",
    "update",
    "result",
    "examples",
    "let",
    "value",
    "type",
    "default",
    "doc",
    "min",
    "max",
    "choices",
    "dtype",
    "shape",
    "init",
    "fold",
    "batches",
    "expected",
    "tolerance",
    "same_rank_as",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "y_true",
            "y_pred",
            "float",
            "int32",
            "add",
            "max",
            "sum(y_true)",
            "tp",
            "...",
            "m",
            "M",
            "list[int]",
            "callable",
            "",
            "x" * 5000,
        ]
    ),
)
keys = st.one_of(st.sampled_from(SPEC_KEYS), st.text(max_size=10), st.sampled_from(["tp", "fp", "y_true", "k"]))
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=25,
)
identifiers = st.one_of(
    st.sampled_from(["tp", "fp", "count", "k", "n", "class", "name", "result", "y_true"]),
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
)
expressions = st.one_of(
    st.sampled_from(
        [
            "sum(y_true * y_pred)",
            "tp / fp",
            "weighted_sum(y_true)",
            "mean(y_pred)",
            "tp",
            "k * tp",
            "weighted_count(y_pred)",
            "sum(y_true, axis=0)",
            "tp + 1",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ ()+-*/,.[]:=<>0123456789", min_size=1, max_size=30),
)
plausible_specs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.just("m"), identifiers, scalars),
        "class_name": st.one_of(st.just("M"), st.from_regex(r"[A-Z][A-Za-z0-9]{0,6}", fullmatch=True), scalars),
        "description": st.one_of(st.text(max_size=50), scalars),
        "params": st.dictionaries(
            identifiers,
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(
                            ["int", "float", "bool", "str", "list[int]", "list[float]", "callable", "double"]
                        )
                    },
                    optional={"default": scalars, "min": scalars, "max": scalars, "doc": scalars},
                ),
                values,
            ),
            max_size=3,
        ),
        "inputs": st.one_of(
            st.lists(
                st.one_of(
                    identifiers,
                    st.fixed_dictionaries(
                        {"name": identifiers},
                        optional={
                            "dtype": st.sampled_from(list(DTYPE_NAMES) + ["x"]),
                            "shape": st.lists(
                                st.one_of(st.none(), st.integers(-2, 4), identifiers, st.just("...")), max_size=3
                            ),
                        },
                    ),
                ),
                max_size=3,
            ),
            values,
        ),
        "state": st.dictionaries(
            identifiers,
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "shape": st.lists(st.one_of(st.integers(-1, 4), identifiers, st.just("n + 1")), max_size=2),
                        "dtype": st.sampled_from(list(DTYPE_NAMES)),
                        "fold": st.sampled_from(["add", "assign", "max", "min", "mul"]),
                        "init": scalars,
                    },
                ),
                values,
            ),
            max_size=3,
        ),
        "update": st.one_of(
            st.dictionaries(
                st.one_of(identifiers, st.just("let")),
                st.one_of(expressions, st.dictionaries(identifiers, expressions, max_size=2)),
                max_size=3,
            ),
            values,
        ),
        "result": st.one_of(
            expressions,
            st.fixed_dictionaries(
                {"value": expressions}, optional={"let": st.dictionaries(identifiers, expressions, max_size=2)}
            ),
            values,
        ),
        "examples": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "batches": st.lists(
                            st.dictionaries(
                                st.sampled_from(["y_true", "y_pred", "sample_weight", "x"]),
                                st.lists(st.integers(0, 1), max_size=3),
                            ),
                            max_size=2,
                        ),
                        "expected": scalars,
                    },
                    optional={"params": values, "tolerance": scalars},
                ),
                max_size=2,
            ),
            values,
        ),
    },
)


@FUZZ
@given(values)
def test_random_structures(data):
    generate_checked(dump(data))


@FUZZ
@given(plausible_specs)
def test_random_spec_shaped_structures(data):
    generate_checked(dump(data))


YAML_CHARS = string.ascii_letters[:12] + string.digits[:4] + " \t\n:-[]{},&*!|>'\"#%@`?\\_."


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(alphabet=YAML_CHARS, max_size=80), st.text(max_size=40)))
@example("0[:")  # a key holding '[' once lost its location (IndexError)
def test_random_text(text):
    try:
        validate_spec(load_spec_text(text, "specs/fuzz.yaml"))
    except SpecErrors as exc:
        assert all(e.format().startswith("specs/fuzz.yaml") for e in exc.errors)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60))
def test_random_bytes(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(raw)
        try:
            validate_spec(load_spec_file(path, "specs/fuzz.yaml"))
        except SpecErrors as exc:
            assert all(e.format().startswith("specs/fuzz.yaml") for e in exc.errors)


# -- mutations of the shipped specs ----------------------------------------------------------------------------

SHIPPED = sorted((ROOT / "specs").glob("*.yaml"))


def paths_in(data: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_in(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += paths_in(value, prefix + (i,))
    return found


def mutate(rnd: random.Random, data: Any) -> Any:
    data = copy.deepcopy(data)
    for _ in range(rnd.randint(1, 3)):
        leaves = [p for p in paths_in(data) if p]  # again each time: a mutation may have replaced a subtree
        if not leaves:
            break
        path = rnd.choice(leaves)
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        old = parent[key]
        choice = rnd.random()
        if choice < 0.2 and isinstance(parent, dict):
            del parent[key]
        elif choice < 0.3 and isinstance(parent, dict):
            parent[rnd.choice(["tp", "let", "name", "value", "dtype", "kk"])] = parent.pop(key)
        elif choice < 0.7 and isinstance(old, str):
            tokens = old.replace("(", " ( ").replace(")", " ) ").split()
            if tokens:
                tokens[rnd.randrange(len(tokens))] = rnd.choice(
                    [
                        "y_true",
                        "y_pred",
                        "1",
                        "0.5",
                        "-1",
                        "(",
                        ")",
                        ",",
                        "+",
                        "*",
                        "/",
                        "None",
                        "True",
                        "float",
                        "int32",
                        "epsilon",
                        "sum",
                        "axis=0",
                        "[0]",
                        "if",
                        "else",
                        "not",
                        "and",
                    ]
                    + list(REGISTRY)[:10]
                )
            parent[key] = " ".join(tokens)
        else:
            parent[key] = rnd.choice(
                [
                    None,
                    0,
                    -1,
                    1.5,
                    True,
                    "x",
                    [],
                    {},
                    [1, 2],
                    {"a": 1},
                    "sum(y_true)",
                    float("nan"),
                    10**30,
                    "float64",
                    "bool",
                ]
            )
    return data


@pytest.mark.skipif(not SHIPPED, reason="no shipped specs")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SHIPPED) if SHIPPED else st.nothing(), st.randoms(use_true_random=False))
def test_mutated_shipped_specs(spec_file, rnd):
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    generate_checked(dump(mutate(rnd, data)))


# -- random expression trees ------------------------------------------------------------------------------------

TEMPLATE = {
    "name": "fuzz",
    "class_name": "Fuzz",
    "description": "fuzzed",
    "params": {
        "n": {"type": "int", "default": 3, "min": 1},
        "k": {"type": "float", "default": 0.5},
        "w": {"type": "list[float]", "default": [1.0, 2.0, 3.0]},
        "flag": {"type": "bool", "default": True},
    },
    "inputs": ["y_true", "y_pred", {"name": "labels", "dtype": "int32"}],
    "state": {"tp": None, "vec": {"shape": ["n"]}},
}
UPDATE_LEAVES = ["y_true", "y_pred", "labels", "k", "n", "1", "2", "0.5", "epsilon", "a", "tp"]
RESULT_LEAVES = ["tp", "vec", "k", "n", "1", "0.5", "pi", "b"]
WILD_LEAVES = [
    "None",
    "True",
    "False",
    "...",
    "(0, 1)",
    "-1",
    "1e308",
    "inf",
    "nan",
    "float",
    "int32",
    "bool",
    "w",
    "flag",
    "len(w)",
    "sample_weight",
    "nope",
    "y_prd",
    "12345678901234567890",
    "0.0",
    "-0.5",
]
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "&", "|"]
COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]
FLOAT_FUNCTIONS = {
    "sum": 1,
    "mean": 1,
    "max": 1,
    "min": 1,
    "abs": 1,
    "square": 1,
    "sqrt": 1,
    "exp": 1,
    "log1p": 1,
    "sigmoid": 1,
    "maximum": 2,
    "minimum": 2,
    "safe_div": 2,
    "clip": 3,
}
INDEXES = ["0", "-1", ":", "1:", "..., 0", "None", "::2", "n - 1", "k", ":, None", "labels"]
CALLABLE = sorted(name for name, f in REGISTRY.items() if not f.internal) + sorted(STATIC_FUNCTIONS) + ["foo", "print"]


def gen_expr(rnd: random.Random, depth: int, leaves: list[str]) -> str:
    """A random expression, biased towards well-typed float arithmetic, with a share of anything at all."""
    if depth <= 0 or rnd.random() < 0.25:
        return rnd.choice(WILD_LEAVES if rnd.random() < 0.1 else leaves)
    sub = lambda: gen_expr(rnd, depth - 1, leaves)  # noqa: E731
    group = (lambda s: f"({s})") if rnd.random() < 0.5 else (lambda s: s)
    r = rnd.random()
    if r < 0.12:  # anything: a random registry function with random positional and keyword arguments
        name = rnd.choice(CALLABLE)
        function = REGISTRY.get(name)
        names = [a.name for a in function.args] if function else ["x"]
        args = [sub() for _ in range(rnd.randint(0, len(names) + 1))]
        kwargs = [
            f"{rnd.choice(names + ['axis', 'bogus'])}={rnd.choice([sub(), 'None', '0', '(0, 1)', 'True', 'float'])}"
            for _ in range(rnd.randint(0, 2))
        ]
        return f"{name}({', '.join(args + kwargs)})"
    if r < 0.18:
        return f"{group(sub())}[{rnd.choice(INDEXES)}]"
    if r < 0.45:
        return group(f"{sub()} {rnd.choice(BINOPS if rnd.random() < 0.3 else BINOPS[:4])} {sub()}")
    if r < 0.52:
        return group(f"{rnd.choice(['-', '+', 'not ', '~'])}{sub()}")
    if r < 0.62:
        cond = gen_cond(rnd, depth - 1, leaves)
        if rnd.random() < 0.5:
            return f"where({cond}, {sub()}, {sub()})"
        return group(f"{sub()} if {cond} else {sub()}")
    if r < 0.68:
        return f"cast({gen_cond(rnd, depth - 1, leaves)}, {rnd.choice(['float', 'float32', 'int32', 'bool'])})"
    if r < 0.72 and "y_true" in leaves:
        return f"{rnd.choice(['weighted_sum', 'weighted_count', 'sample_weights'])}({sub()})"
    name, arity = rnd.choice(sorted(FLOAT_FUNCTIONS.items()))
    extra = ""
    if name in ("sum", "mean", "max", "min") and rnd.random() < 0.3:
        extra = f", axis={rnd.choice(['0', '-1', '(0, 1)', 'None', 'n'])}" + (
            ", keepdims=True" if rnd.random() < 0.3 else ""
        )
    return f"{name}({', '.join(sub() for _ in range(arity))}{extra})"


def gen_cond(rnd: random.Random, depth: int, leaves: list[str]) -> str:
    r = rnd.random()
    if depth <= 0 or r < 0.15:
        return rnd.choice(["flag", "True", "y_true > 0" if "y_true" in leaves else "tp > 0"])
    if r < 0.3:
        return (
            f"({gen_cond(rnd, depth - 1, leaves)}) {rnd.choice(['and', 'or', '&', '|'])} "
            f"({gen_cond(rnd, depth - 1, leaves)})"
        )
    if r < 0.35:
        return f"not ({gen_cond(rnd, depth - 1, leaves)})"
    return f"{gen_expr(rnd, depth - 1, leaves)} {rnd.choice(COMPARISONS)} {gen_expr(rnd, depth - 1, leaves)}"


def random_spec(rnd: random.Random) -> str:
    spec = copy.deepcopy(TEMPLATE)
    depth = rnd.randint(1, 5)
    update: dict[str, Any] = {}
    if rnd.random() < 0.4:
        update["let"] = {"a": gen_expr(rnd, depth, [x for x in UPDATE_LEAVES if x != "a"])}
        leaves = UPDATE_LEAVES
    else:
        leaves = [x for x in UPDATE_LEAVES if x != "a"]
    update["tp"] = gen_expr(rnd, depth, leaves)
    update["vec"] = rnd.choice(
        ["sum(y_true, axis=0)", "segment_sum(y_true, labels, n)", "bincount(labels, n)", gen_expr(rnd, depth, leaves)]
    )
    if "let" in update:  # use the definition, or the spec is refused for an unused one
        update["tp"] = f"weighted_sum(a) + ({update['tp']})"
    spec["update"] = update
    if rnd.random() < 0.3:
        spec["result"] = {
            "let": {"b": gen_expr(rnd, depth, [x for x in RESULT_LEAVES if x != "b"])},
            "value": f"b + {gen_expr(rnd, depth, RESULT_LEAVES)}",
        }
    else:
        spec["result"] = gen_expr(rnd, depth, [x for x in RESULT_LEAVES if x != "b"])
    return dump(spec)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_random_expression_trees(rnd):
    generate_checked(random_spec(rnd))


def test_random_expression_trees_are_not_all_refused():
    """The generator above reaches code generation often enough for its checks to mean something."""
    built = sum(generate_checked(random_spec(random.Random(seed))) is not None for seed in range(60))
    assert built >= 6, f"only {built} of 60 random specs built"


def test_every_registry_function_appears_in_the_expression_fuzzer():
    assert {name for name, f in REGISTRY.items() if not f.internal} <= set(CALLABLE)
    assert set(CONSTANTS) <= set(UPDATE_LEAVES + RESULT_LEAVES + WILD_LEAVES)


RUNNER = """
import json, sys, traceback, importlib.util
import numpy as np
outcomes = {}
y_true = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]], np.float32)
y_pred = np.array([[0.9, 0.2, 0.6], [0.1, 0.4, 0.8], [0.7, 0.3, 0.2], [0.5, 0.5, 0.1]], np.float32)
labels = np.array([[0, 2, 1], [1, 1, 0], [2, 0, 2], [0, 1, 1]], np.int32)
for path in sys.argv[1:]:
    stage = "import"
    try:
        spec = importlib.util.spec_from_file_location("fuzz_module", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        stage = "construct"
        metric = module.Fuzz()
        stage = "update_state"
        metric.update_state(y_true, y_pred, labels, sample_weight=np.array([1.0, 0.5, 0.0, 2.0], np.float32))
        stage = "result"
        np.asarray(metric.result())
        outcomes[path] = ["ok", ""]
    except Exception as exc:
        outcomes[path] = [stage, type(exc).__name__ + ": " + str(exc)[:300]]
print(json.dumps(outcomes))
"""


def test_accepted_random_specs_import_construct_and_trace_a_batch(tmp_path):
    """Every spec the fuzzer's expression trees get accepted is built and run, in a child process with a time
    limit: it imports, constructs and takes a small batch. The analyser does not infer shapes, so the one
    failure allowed is a shape or rank error (an update of the wrong shape for its state, an index past an
    axis, a slice of a scalar), raised by TensorFlow."""
    paths = []
    for seed in range(80):
        source = generate_checked(random_spec(random.Random(1000 + seed)))
        if source is not None:
            path = tmp_path / f"fuzz_{seed}.py"
            path.write_text(source, encoding="utf-8")
            paths.append(str(path))
    assert len(paths) >= 8, f"only {len(paths)} of 80 random specs built"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", RUNNER, *paths], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    ran = [p for p, (stage, _) in outcomes.items() if stage == "ok"]
    for path, (stage, message) in outcomes.items():
        if stage == "ok":
            continue
        assert stage in ("update_state", "result"), f"{path}: failed at {stage}: {message}"
        shape_words = ("shape", "incompatible", "rank", "slice", "dimension", "out of bounds")
        assert any(word in message.lower() for word in shape_words), f"{path}: {stage}: {message}"
    assert len(ran) >= max(5, len(paths) // 4), outcomes  # enough run through for the property to mean something


# -- bytes, aliases, control characters (specs from strangers) -------------------------------------------------

CONTROL = ["\n", "\r", "\x1b[31m", "\x1b]8;;http://evil\x1b\\", "\u202e", "\x00", "\x7f", "\t", "\u2028"]


def check_message_lines(messages: list[str]) -> None:
    """Every error is one printable line: spec text cannot forge a line or send escape sequences."""
    for message in messages:
        assert "\n" not in message and "\r" not in message, message
        assert not any(ch in message for ch in "\x1b\x00\x7f\u202e\u2028"), message


def messages_of(text: Union[str, bytes]) -> Optional[list[str]]:
    """The formatted errors for a spec given as text or bytes (None when it builds, checked)."""
    try:
        if isinstance(text, bytes):
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "fuzz.yaml"
                path.write_bytes(text)
                loaded = load_spec_file(path, "specs/fuzz.yaml")
        else:
            loaded = load_spec_text(text, "specs/fuzz.yaml")
        source = generate_from_text(loaded.text, "specs/fuzz.yaml")
    except SpecErrors as exc:
        return [e.format() for e in exc.errors]
    compile(source, "generated/fuzz.py", "exec")
    return None


@pytest.mark.skipif(not SHIPPED, reason="no shipped specs")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SHIPPED) if SHIPPED else st.nothing(), st.randoms(use_true_random=False))
def test_byte_level_mutations(spec_file, rnd):
    raw = bytearray(spec_file.read_bytes())
    for _ in range(rnd.randint(1, 4)):
        position = rnd.randrange(len(raw))
        action = rnd.random()
        if action < 0.4:
            raw[position] = rnd.randrange(256)
        elif action < 0.7:
            raw[position:position] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 3)))
        else:
            del raw[position : position + rnd.randint(1, 8)]
    messages = messages_of(bytes(raw))
    if messages is not None:
        check_message_lines(messages)
        assert all(m.startswith("specs/fuzz.yaml") for m in messages)


@pytest.mark.skipif(not SHIPPED, reason="no shipped specs")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SHIPPED) if SHIPPED else st.nothing(), st.randoms(use_true_random=False))
def test_alias_level_mutations(spec_file, rnd):
    """Anchors on random values and aliases of them elsewhere (including in keys' places and nested lists):
    refused or built, never slow, never a traceback, and the text they expand to stays bounded."""
    lines = spec_file.read_text(encoding="utf-8").splitlines()
    candidates = [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("#")]
    if not candidates:
        return
    anchor_line = rnd.choice(candidates)
    key, _, value = lines[anchor_line].partition(": ")
    lines[anchor_line] = f"{key}: &a {value}" if value.strip() else lines[anchor_line]
    for _ in range(rnd.randint(1, 5)):
        target = rnd.choice(candidates)
        if target > anchor_line:
            key, _, _ = lines[target].partition(": ")
            lines[target] = f"{key}: " + rnd.choice(["*a", "[*a, *a, *a]", "{x: *a}", "[[*a, *a], [*a, *a]]"])
    messages = messages_of("\n".join(lines) + "\n")
    if messages is not None:
        check_message_lines(messages)


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(CONTROL), st.sampled_from(["key", "name", "description", "state", "let", "expression"]))
def test_control_characters_in_names_and_text(control, where):
    spec = {
        "name": "m",
        "class_name": "M",
        "description": "d",
        "state": {"tp": {}},
        "update": {"tp": "sum(y_pred)"},
        "result": "tp",
    }
    if where == "key":
        spec[f"ke{control}y"] = 1
    elif where == "name":
        spec["name"] = f"m{control}"
    elif where == "description":
        spec["description"] = f"d{control}e"
    elif where == "state":
        spec["state"] = {f"t{control}p": {}}
    elif where == "let":
        spec["update"] = {"let": {f"a{control}": "y_pred"}, "tp": "sum(y_pred)"}
    else:
        spec["update"] = {"tp": f"sum(y_pred){control}+ 1"}
    messages = messages_of(yaml.safe_dump(spec, allow_unicode=True))
    if messages is not None:
        check_message_lines(messages)


def test_accepted_mutated_shipped_specs_import_construct_and_trace_a_batch(tmp_path):
    """Mutated shipped specs that are accepted also run (see the expression-tree test for the rule)."""
    paths = []
    for seed in range(120):
        rnd = random.Random(seed)
        spec_file = SHIPPED[seed % len(SHIPPED)]
        data = mutate(rnd, yaml.safe_load(spec_file.read_text(encoding="utf-8")))
        if not isinstance(data, dict) or data.get("inputs") not in (None, ["y_true", "y_pred"]):
            continue  # the runner feeds (y_true, y_pred)
        if not all(
            not isinstance(p, dict) or p.get("type") != "callable" and "default" in p
            for p in (data.get("params") or {}).values()
        ):
            continue  # the runner builds the metric with no arguments
        try:
            source = generate_from_text(dump(data), "specs/fuzz.yaml")
        except SpecErrors:
            continue
        source = source.replace(f"class {data.get('class_name')}(", "class Fuzz(")
        path = tmp_path / f"mutated_{seed}.py"
        path.write_text(source, encoding="utf-8")
        paths.append(str(path))
    assert len(paths) >= 5, f"only {len(paths)} mutated specs were accepted"
    runner = RUNNER.replace("metric.update_state(y_true, y_pred, labels,", "metric.update_state(y_true, y_pred,")
    done = subprocess.run(
        [sys.executable, "-c", runner, *paths],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    shape_words = ("shape", "incompatible", "rank", "slice", "dimension", "out of bounds")
    for path, (stage, message) in outcomes.items():
        if stage != "ok":
            assert stage in ("update_state", "result"), f"{path}: failed at {stage}: {message}"
            assert any(word in message.lower() for word in shape_words), f"{path}: {stage}: {message}"
