"""The compiler's structure, as behaviour: passes keep the numbers, user names may shadow function names, a
target refuses what its column lacks with a location, and the constructor checks are the build-time rules."""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, SPECS, tf  # noqa: F401  (TensorFlow configured first)
from metricgen import functions
from metricgen.compiler import generate_from_text
from metricgen.errors import SpecErrors
from metricgen.params import ParamRule
from metricgen.targets import TARGETS, check_columns
from metric_cases import CASES, args, batches, check_close


def load_class(source: str, class_name: str):
    module = types.ModuleType(f"architecture_probe_{abs(hash(source))}")
    exec(compile(source, "probe.py", "exec"), module.__dict__)
    return getattr(module, class_name)


DICE_LIKE = """
name: pair
class_name: Pair
description: sums of pairs, the split_weighted_sum pass's pattern
inputs: [{name: a}, {name: b}, {name: row}]
state:
  plus: {}
  minus: {}
  broadcast: {}
update:
  plus: weighted_sum(a + b)
  minus: weighted_sum(a - b)
  broadcast: weighted_sum(a + row)
result: plus * 1000000 + minus * 1000 + broadcast
"""


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_split_weighted_sum_pass_keeps_the_numbers(mode, weighted):
    optimised = generate_from_text(DICE_LIKE, "pair.yaml", "tf")
    plain = generate_from_text(DICE_LIKE, "pair.yaml", "tf", optimise=False)
    assert "_weighted_sum_of_pair" in optimised and "_weighted_sum_of_pair" not in plain
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 9, (2, 5, 3)).astype(np.float32)
    row = rng.integers(0, 9, (3,)).astype(np.float32)  # broadcast against a: Σ(a + row) is not Σa + Σrow
    w = rng.integers(0, 3, (5,)).astype(np.float32) if weighted else None
    ww = np.ones(5, np.float32) if w is None else w
    expected = (
        ((a + b) * ww[:, None]).sum() * 1e6 + ((a - b) * ww[:, None]).sum() * 1e3 + ((a + row) * ww[:, None]).sum()
    )
    for source in (optimised, plain):
        metric = load_class(source, "Pair")()
        update = {"eager": metric.update_state, "graph": tf.function(metric.update_state)}.get(
            mode, tf.function(metric.update_state, jit_compile=True)
        )
        update(tf.constant(a), tf.constant(b), tf.constant(row), sample_weight=None if w is None else tf.constant(w))
        np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_shipped_metric_is_right_unoptimised_too(case):
    """Each shipped spec lowered without passes computes its independent reference, as the optimised (and
    committed) modules do in tests/test_metrics.py: a pass can only change how, never what."""
    from metricgen.compiler import generate
    from metricgen.loader import load_spec_file

    source = generate(load_spec_file(SPECS / f"{case.stem}.yaml"), "tf", optimise=False)
    metric = load_class(source, case.class_name)(**case.kwargs)
    parts, weights, whole, all_weights = batches(case, np.random.default_rng(4), (7, 5), weighted=True)
    for batch, w in zip(parts, weights):
        metric.update_state(*args(case, batch), sample_weight=w)
    check_close(case, metric.result(), case.reference(whole, all_weights, case.kwargs), "unoptimised")


SHADOWING = """
name: shadow
class_name: Shadow
description: state and definitions named like expression functions
inputs: [{name: x}]
state:
  sum: {}
  count: {}
  max: {init: -1000000.0, fold: max}
update:
  let:
    mean: x * 2
  sum: sum(mean)
  count: size(x)
  max: max(x)
result: sum / count + max
"""


def test_user_names_may_shadow_function_names(monkeypatch):
    """A state called `count` keeps working after a function `count` is added to the table."""
    size = functions.REGISTRY["size"]
    monkeypatch.setitem(functions.REGISTRY, "count", dataclasses.replace(size, name="count"))
    x = np.array([[1.0, 4.0], [2.5, -3.0]], np.float32)
    for target in ("tf", "keras"):
        metric = load_class(generate_from_text(SHADOWING, "shadow.yaml", target), "Shadow")()
        metric.update_state(x)
        metric.update_state(x[:1])
        expected = (x.sum() * 2 + x[:1].sum() * 2) / 6 + x.max()
        np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)
        metric.reset_state()
        assert float(metric.max) == -1000000.0  # reset to the declared initial value, not to zeros


def test_a_target_refuses_a_function_its_column_lacks_where_it_is_called(monkeypatch):
    monkeypatch.setitem(functions.REGISTRY, "tf_only", dataclasses.replace(functions.REGISTRY["abs"], name="tf_only"))
    monkeypatch.setitem(TARGETS["tf"].column, "tf_only", functions.call("tf.abs", "x"))
    spec = "name: m\nclass_name: M\ndescription: d\ninputs: [{name: x}]\nstate:\n  s: {}\nupdate:\n  s: sum(tf_only(x))\nresult: s\n"
    assert "tf.abs(" in generate_from_text(spec, "specs/m.yaml", "tf")
    with pytest.raises(SpecErrors) as caught:
        generate_from_text(spec, "specs/m.yaml", "keras")
    [error] = caught.value.errors
    assert error.format() == (
        "specs/m.yaml:8:10: error: function 'tf_only' has no form for the keras target (it exists for: tf)"
    )


def test_a_column_entry_the_table_lacks_is_refused(monkeypatch):
    """A column entry nothing can call (a typo'd name) is an error, not a target silently without the function."""
    monkeypatch.setitem(TARGETS["keras"].column, "sqaure", functions.call("ops.square", "x"))
    with pytest.raises(LookupError, match="the keras target's column names functions .* does not define: sqaure$"):
        check_columns(TARGETS.values())


def test_metricgen_does_not_load_with_a_column_entry_the_table_lacks():
    """The check runs when the targets are imported, before any build: here 'abs' leaves the table only."""
    probe = "from metricgen import functions\ndel functions.REGISTRY['abs']\nimport metricgen.targets\n"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1].startswith("LookupError: the tf target's column names functions")
    assert run.stderr.splitlines()[-1].endswith("does not define: abs")


RULES = [
    ParamRule("float", min=0),
    ParamRule("float", min=0, max=1),
    ParamRule("int", min=1),
    ParamRule("int", max=-2),
    ParamRule("int"),
    ParamRule("bool"),
    ParamRule("str"),
    ParamRule("str", choices=("micro", "macro", "{x}")),
    ParamRule("list[float]", min=0, max=1),
    ParamRule("list[int]"),
    ParamRule("callable"),
    ParamRule("callable", optional=True),
    ParamRule("int", min=0, optional=True),
    ParamRule("str", choices=("micro", "macro"), optional=True),
    ParamRule("list[float]", min=0, max=1, optional=True),
    ParamRule("float|list[float]", min=0, max=1),
    ParamRule("float|list[float]", optional=True),
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["micro", "macro", "{x}", "", "other"]),
    st.lists(st.one_of(st.integers(-2, 3), st.floats(-1, 2), st.booleans()), max_size=3),
    st.sampled_from([np.float32(0.5), np.int64(3), np.float64(-1.0), np.bool_(True), abs, (0.5, 0.25)]),
)


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.type}-{r.min}-{r.max}-{r.choices}-{r.optional}" for r in RULES])
@settings(max_examples=150, deadline=None)
@given(value=VALUES)
def test_generated_constructor_check_is_the_build_time_rule(rule, value):
    """params.ParamRule writes the constructor's check: it refuses exactly what problem() refuses."""
    lines = ["def check(value):"] + ["    " + line for line in rule.check("M", "value")] + ["    return self"]
    namespace: dict = {}
    exec("import numbers\nclass _S: pass\nself = _S()\n" + "\n".join(lines), namespace)
    problem = rule.problem(value)
    try:
        namespace["check"](value)
    except ValueError as exc:
        assert problem, f"generated check refused {value!r}, which the rule allows"
        assert str(exc) == f"M: argument `value` {problem}"
    else:
        assert not problem, f"generated check allowed {value!r}: {problem}"


# -- the layers, read from the source (tools/layers.py measures them, and docs/architecture.md's table) -----------


def _layers():
    spec = importlib.util.spec_from_file_location("layers", ROOT / "tools" / "layers.py")
    module = sys.modules["layers"] = importlib.util.module_from_spec(spec)  # its dataclasses look it up there
    spec.loader.exec_module(module)
    return module


layers = _layers()
# every registered target, and the one issue 23 adds: names that belong to metricgen/targets/ alone
TARGET_NAMES = frozenset(TARGETS) | {"jax"}


@pytest.fixture(scope="module")
def findings():
    return layers.measure(ROOT, TARGET_NAMES)


def test_every_module_has_a_layer(findings):
    assert findings.unplaced == [], "place each new module in tools/layers.py's LAYERS"


def test_no_import_runs_back_up_the_pipeline(findings):
    """Analysis knows no target, lowering no renderer: each stage imports only the stages before it (type hints
    too: a Protocol in the lower module serves them)."""
    assert findings.upward == []


def test_no_import_cycles(findings):
    assert findings.cycles == []


def test_no_target_name_outside_the_targets(findings):
    """A target's identity lives in metricgen/targets/: other stages ask the registered targets' hooks."""
    assert layers.target_names(ROOT) == set(TARGETS)  # the scan finds every registered target's name
    assert findings.target_names == []


def test_the_layer_checks_see_what_they_look_for(tmp_path):
    """Each check finds its fault in a made-up package: upward imports (one inside a function), a cycle through
    a type-only import, a target name in analysis, a target's column outside targets/, a module no layer holds."""
    files = {
        "metricgen/__init__.py": "",
        "metricgen/ir.py": "",
        "metricgen/lowering.py": "from .render import x\n",
        "metricgen/render.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .lowering import y\n",
        "metricgen/analysis/__init__.py": "from .. import ir\n",
        "metricgen/analysis/names.py": "def f():\n    from ..lowering import z\n    return 'keras'\n",
        "metricgen/functions.py": "define('abs', keras=call('ops.abs', 'x'))\n",  # a column outside targets/
        "metricgen/targets/__init__.py": "",
        "metricgen/targets/keras.py": "class K:\n    name = 'keras'\n",
        "metricgen/made_up.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = layers.measure(tmp_path)
    assert found.unplaced == ["metricgen.made_up"]
    assert [u.split(" (")[0] for u in found.upward] == [
        "metricgen.analysis.names -> metricgen.lowering",
        "metricgen.lowering -> metricgen.render",
    ]
    assert found.cycles == [["metricgen.lowering", "metricgen.render"]]
    assert found.target_names == ["metricgen/analysis/names.py:3: 'keras'", "metricgen/functions.py:1: keras="]
