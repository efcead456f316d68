"""What generated classes do, checked on small specs compiled here against numpy: every expression
function, dtype promotion, folds, initial values, reset and merge."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import EVERY_TARGET, tf
from drivers import driver, every_target_that
from expression_cases import (
    B,
    CASES,
    SAMPLE_WEIGHTS,
    WEIGHTED_CASES,
    I,
    X,
    broadcast_weights,
    keras_mean,
    probe_spec,
)
from metricgen.compiler import generate_from_text
from support import target_helpers
from metricgen.functions import REGISTRY

import keras


def compile_class(spec_text: str, class_name: str = "Probe", target: str = "tf"):
    source = generate_from_text(spec_text, "probe.yaml", target)
    module = types.ModuleType(f"probe_{target}_{abs(hash(spec_text))}")
    exec(compile(source, "probe.py", "exec"), module.__dict__)
    return getattr(module, class_name)


def test_every_registry_function_is_covered():
    used = {name for expression in CASES for name in REGISTRY if f"{name}(" in expression}
    # internal functions are written by passes, and checked against the unoptimised lowering (test_architecture)
    assert {name for name, f in REGISTRY.items() if not f.internal} - used == set()


def run_probe(target: str, expression: str, size: int, sample_weight=None) -> list:
    """The probe's `out` after one update, each way the target runs (tests/drivers.py: plainly, and compiled:
    tf.function with XLA, jax.jit, torchmetrics' forward)."""
    spec = probe_spec(expression).replace("{shape}", str(size))
    cls = compile_class(spec, target=target)
    outs = []
    for compiled in (False, True):
        metric = driver(target).make(cls)
        driver(target).update(metric, {"x": X, "i": I, "b": B}, sample_weight=sample_weight, compiled=compiled)
        outs.append(driver(target).state(metric, "out"))
    return outs


@pytest.mark.parametrize("expression", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_expression_matches_numpy(target, expression):
    expected = np.asarray(CASES[expression], dtype=np.float64)
    for out in run_probe(target, expression, expected.size):
        np.testing.assert_allclose(out, expected.reshape(-1), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("weights", list(SAMPLE_WEIGHTS), ids=list(SAMPLE_WEIGHTS))
@pytest.mark.parametrize("expression", list(WEIGHTED_CASES), ids=list(WEIGHTED_CASES))
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_sample_weights_of_every_rank(target, expression, weights):
    w = broadcast_weights(SAMPLE_WEIGHTS[weights], X.shape)
    expected = np.asarray(WEIGHTED_CASES[expression](w, SAMPLE_WEIGHTS[weights]), dtype=np.float64)
    for out in run_probe(target, expression, expected.size, SAMPLE_WEIGHTS[weights]):
        np.testing.assert_allclose(out, expected.reshape(-1), rtol=1e-6, atol=1e-6)


@functools.lru_cache(maxsize=None)
def expressions_under(backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = Path(__file__).resolve().parent / "expression_run.py"
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-5000:]
    report = json.loads(done.stdout)
    assert report["backend"] == backend
    return report["results"]


SUBPROCESS_CASES = list(CASES) + [f"{e} with {w}" for e in WEIGHTED_CASES for w in SAMPLE_WEIGHTS]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=SUBPROCESS_CASES)
@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(b, marks=[] if importlib.util.find_spec(b) else [pytest.mark.skip(reason=f"{b} is not installed")])
        for b in ("jax", "torch")
    ],
)
def test_expression_matches_numpy_on_the_keras_target_under(backend, case):
    result = expressions_under(backend)[case]
    assert result["ok"], result.get("error") or f"got {result['got']}"


def test_keras_reference_broadcasts_weights_as_our_reference_does():
    """The numpy weight rule above is Keras' own: keras.metrics.Sum with each weight shape agrees."""
    for w in SAMPLE_WEIGHTS.values():
        total = keras.metrics.Sum()
        total.update_state(X, sample_weight=w)
        np.testing.assert_allclose(float(total.result()), (X * broadcast_weights(w, X.shape)).sum(), rtol=1e-6)


def test_keras_mean_of_the_cases_is_keras_own():
    """The numpy rule samplewise_sum/samplewise_count are held to (keras_mean) is keras.metrics.Mean's: its total
    and count for each weight shape."""
    for w in SAMPLE_WEIGHTS.values():
        mean = keras.metrics.Mean(dtype="float64")
        mean.update_state(X.astype(np.float64), sample_weight=w)
        expected = keras_mean(X.astype(np.float64), w)
        np.testing.assert_allclose([float(mean.total.numpy()), float(mean.count.numpy())], expected, rtol=1e-12)


FOLDS = """
name: folds
class_name: Folds
description: every fold, with non-zero initial values
inputs: [x]
params:
  start: {type: float, default: 5.0}
state:
  total: {init: 5}
  count: {dtype: int64, init: 2}
  largest: {init: -.inf, fold: max}
  smallest: {init: .inf, fold: min}
  latest: {shape: [2], fold: assign}
update:
  total: sum(x)
  count: size(x)
  largest: max(x)
  smallest: min(x)
  latest: x[-2:]
result: total + count + latest[0] * 0 + largest - smallest
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_folds_initial_values_reset_and_merge(target):
    d = driver(target)
    with d.with_64_bit_types():  # count is int64
        Folds = compile_class(FOLDS, "Folds", target)
        metric = d.make(Folds)
        state = functools.partial(d.state, metric)
        assert state("total") == 5 and state("count") == 2
        assert state("largest") == -np.inf and state("smallest") == np.inf
        d.update(metric, {"x": np.array([1.0, 4.0, -2.0])})
        d.update(metric, {"x": np.array([3.0, 0.5])})
        assert state("total") == pytest.approx(5 + 6.5)
        assert state("count") == 2 + 5 and state("count").dtype == np.int64
        assert state("largest") == 4.0 and state("smallest") == -2.0
        np.testing.assert_array_equal(state("latest"), [3.0, 0.5])
        assert float(d.result(metric)) == pytest.approx(11.5 + 7 + 6.0)

        d.reset(metric)  # the declared initial values, not zeros (Keras' default reset)
        assert state("total") == 5 and state("count") == 2
        assert state("largest") == -np.inf and state("smallest") == np.inf

        with pytest.raises(NotImplementedError, match="'latest' is folded with 'assign'"):
            d.merge(metric, [d.make(Folds)])


# FOLDS without its assign state: every state merges
MERGING_FOLDS = (
    FOLDS.replace("  latest: {shape: [2], fold: assign}\n", "")
    .replace("  latest: x[-2:]\n", "")
    .replace(" + latest[0] * 0", "")
)


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_merge_of_max_and_min_states(target):
    d = driver(target)
    with d.with_64_bit_types():  # count is int64
        Folds = compile_class(MERGING_FOLDS, "Folds", target)
        a, b = d.make(Folds), d.make(Folds)
        d.update(a, {"x": np.array([1.0, 4.0])})
        d.update(b, {"x": np.array([-3.0, 2.0])})
        d.merge(a, [b])
        assert d.state(a, "largest") == 4.0 and d.state(a, "smallest") == -3.0
        assert d.state(a, "total") == pytest.approx(5 + 5 - 1)  # the initial value counts once, as on one instance
        assert d.state(a, "count") == 2 + 4


@pytest.mark.parametrize(
    "target", every_target_that("merges_metrics", "its merge takes states, which hold no params to compare")
)
def test_merge_of_a_metric_with_other_params_is_refused(target):
    d = driver(target)
    Folds = compile_class(MERGING_FOLDS, "Folds", target)
    with pytest.raises(ValueError, match="different parameters"):
        d.merge(d.make(Folds), [d.make(Folds, start=1.0)])


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("order", ["reader first", "writer first"])
def test_update_reads_state_as_it_was_before_the_batch(order, target):
    """Every update sees the state as it was before the batch, whichever state is folded first (torchmetrics:
    an in-place `+=` must not alias the two states)."""
    updates = ["  previous_total: total", "  total: sum(x)"]
    if order == "writer first":
        updates.reverse()
    spec = """
name: running
class_name: Running
description: two states reading each other
inputs: [x]
state:
  previous_total: {fold: assign}
  total: {}
update:
UPDATES
result: total - previous_total
""".replace("UPDATES", "\n".join(updates))
    d = driver(target)
    metric = d.make(compile_class(spec, "Running", target))
    d.update(metric, {"x": np.array([1.0, 2.0])})
    d.update(metric, {"x": np.array([4.0])})
    assert float(d.state(metric, "previous_total")) == 3.0 and float(d.state(metric, "total")) == 7.0


def test_int_inputs_into_float_state_and_param_validation():
    spec = """
name: counts
class_name: Counts
description: ints into float state
params:
  scale: {type: float, default: 1.0, min: 0}
  labels: {type: "list[int]", default: [1, 2]}
  mode: {type: str, default: a, choices: [a, b]}
  flag: {type: bool, default: false}
inputs: [y_true, y_pred]
state:
  total: {}
update:
  total: weighted_sum(cast(y_true, int32) * scale if flag else cast(y_true, int32) + len(labels))
result: total
"""
    Counts = compile_class(spec, "Counts")
    metric = Counts()
    metric.update_state(np.array([1, 2, 3], np.int32), np.zeros(3), sample_weight=np.array([1.0, 0.0, 2.0]))
    assert float(metric.result()) == pytest.approx((1 + 2) * 1 + (3 + 2) * 2)
    metric = Counts(scale=2, flag=True)
    metric.update_state(np.array([1, 2, 3], np.int32), np.zeros(3))
    assert float(metric.result()) == pytest.approx(12.0)
    for bad, message in [
        ({"scale": -1}, "scale"),
        ({"mode": "c"}, "one of"),
        ({"labels": [1.5]}, "labels"),
        ({"flag": 1}, "True or False"),
        ({"scale": "x"}, "number"),
    ]:
        with pytest.raises(ValueError, match=message):
            Counts(**bad)
    import inspect

    assert inspect.signature(Counts).parameters["labels"].default == (1, 2)  # not a shared mutable list
    assert Counts().get_config()["labels"] == [1, 2]
    config = Counts(labels=[3], mode="b").get_config()
    assert config["labels"] == [3] and config["mode"] == "b" and isinstance(config["labels"], list)
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(Counts(scale=3.0))).scale == 3.0


def test_sample_weight_broadcasting_is_keras_style():
    spec = """
name: weighted_mean
class_name: WeightedMean
description: weighted mean of x
inputs: [x]
state:
  total: {}
  count: {}
update:
  total: weighted_sum(x)
  count: weighted_count(x)
result: total / count
"""
    ours = compile_class(spec, "WeightedMean")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3, 2)).astype(np.float32)
    for w in (rng.uniform(size=6), rng.uniform(size=(6, 1)), rng.uniform(size=(6, 3)), rng.uniform(size=(6, 3, 2))):
        metric, reference = ours(), keras.metrics.Mean()
        metric.update_state(x, sample_weight=w)
        reference.update_state(x, sample_weight=w)
        np.testing.assert_allclose(float(metric.result()), float(reference.result()), rtol=1e-5)


def test_constant_arithmetic_follows_tensor_rules():
    spec = """
name: constants
class_name: Constants
description: constant arithmetic
params:
  n: {type: int, default: 0}
inputs: [x, {name: k, dtype: int32}]
state:
  scaled: {}
  whole: {dtype: int32}
  inverse: {}
  weighted: {}
  count: {}
update:
  scaled: sum(x) * (1 / n) + n // n + n % n
  whole: cast(2.7, int32)
  inverse: sum(x) * 2 ** -n
  weighted: weighted_sum(k)
  count: weighted_count(k)
result: weighted / count
"""
    Constants = compile_class(spec, "Constants")
    metric = Constants()  # n = 0: a constant divided by 0 gives 0, as `/` does on tensors
    metric.update_state(np.array([1.0, 2.0]), np.array([1, 1]), sample_weight=np.array([0.5, 0.25]))
    assert metric.scaled.numpy() == 0.0
    assert metric.whole.numpy() == 2  # a float cast to int explicitly truncates (a bare 2.7 is refused)
    assert metric.inverse.numpy() == 3.0
    # int values with fractional weights: the weights are not truncated
    assert float(metric.result()) == pytest.approx(1.0)
    metric = Constants(n=2)
    metric.update_state(np.array([1.0, 2.0]), np.array([1, 1]))
    assert metric.scaled.numpy() == pytest.approx(1.5 + 1 + 0)
    assert metric.inverse.numpy() == pytest.approx(0.75)


def keras_helpers():
    """The keras target's helper files are real Python: their helpers can be checked on their own."""
    return target_helpers("keras")


def test_keras_helpers_match_their_tensorflow_twins():
    helpers = keras_helpers()
    big = np.array([[1.0, 1e8, 3.0], [2.0, 5.0, 7.0]], np.float32)
    for axis in (0, 1):
        for reverse in (False, True):
            expected = tf.cumsum(big, axis=axis, exclusive=True, reverse=reverse).numpy()
            got = np.asarray(helpers._cumsum(big, axis, reverse, True))
            np.testing.assert_array_equal(got, expected)  # exact: a shift, not cumsum - x
            np.testing.assert_array_equal(
                np.asarray(helpers._cumsum(big, axis, reverse, False)),
                tf.cumsum(big, axis=axis, reverse=reverse).numpy(),
            )
    ids = np.array([0, 3, -1, 2], np.int32)
    data = np.array([1.0, 10.0, 100.0, 1000.0], np.float32)
    np.testing.assert_array_equal(np.asarray(helpers._segment_sum(data, ids, 3)), [1.0, 0.0, 1000.0])


def test_spec_path_cannot_leave_the_header_comment():
    from metricgen.compiler import generate_from_text

    spec = probe_spec("x").replace("{shape}", "12")
    source = generate_from_text(spec, '/tmp/evil\nprint("INJECTED")\n#/m.yaml')
    assert "\nprint(" not in source
    assert (
        source.splitlines()[0]
        == '# Code generated by metricgen from /tmp/evil?print("INJECTED")?#/m.yaml. DO NOT EDIT.'
    )
    assert "INJECTED" not in "".join(
        n.id for n in __import__("ast").walk(__import__("ast").parse(source)) if isinstance(n, __import__("ast").Name)
    )


def test_two_specs_for_one_module_are_refused(tmp_path):
    from metricgen.spec_files import discover

    for name in ("a-b.yaml", "a_b.yaml", "class.yaml"):
        (tmp_path / name).write_text("x")
    files, errors = discover([tmp_path])
    messages = [e.format() for e in errors]
    assert any("would both write a_b.py" in m for m in messages)
    assert any("'class' cannot name a Python module" in m for m in messages)


def test_max_and_min_state_under_mirrored_strategy():
    """Each replica sees part of every batch; TensorFlow cannot aggregate on-read variables by max, so the
    generated update takes the max (min) over replicas itself, and every replica holds the all-data value."""
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) < 2:
        pytest.skip("TensorFlow was initialised before conftest could split the CPU in two")
    spec = """
name: spread
class_name: Spread
description: largest minus smallest prediction
state:
  largest: {init: -.inf, fold: max}
  smallest: {init: .inf, fold: min}
update:
  largest: max(y_pred)
  smallest: min(y_pred)
result: largest - smallest
"""
    Spread = compile_class(spec, "Spread")
    # the smallest value goes to the first replica, the largest to the second
    predictions = np.linspace(-2, 5, 64, dtype=np.float32)[:, None]
    strategy = tf.distribute.MirroredStrategy([d.name for d in cpus[:2]])
    with strategy.scope():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
        model.compile(loss="mse", metrics=[Spread(name="spread")])
    logs = model.evaluate(predictions, np.zeros_like(predictions), batch_size=16, return_dict=True, verbose=0)
    assert logs["spread"] == pytest.approx(float(predictions.max() - predictions.min()), rel=1e-6)


OPTIONAL_AND_CHOICES = """
name: precision_of
class_name: PrecisionOf
description: precision of one class (class_id) or of all, at a threshold (0.5 when None), as a ratio or percent
params:
  thresholds: {type: float, default: null, min: 0, max: 1}
  class_id: {type: int, default: null, min: 0}
  unit: {type: str, default: ratio, choices: [ratio, percent]}
state:
  tp: {}
  fp: {}
update:
  let:
    cut: thresholds if thresholds is not None else 0.5
    predicted: (y_pred[..., class_id] if class_id is not None else y_pred) > cut
    actual: (y_true[..., class_id] if class_id is not None else y_true) > 0.5
  tp: weighted_sum(predicted & actual)
  fp: weighted_sum(predicted & ~actual)
result: tp / (tp + fp) * (100 if unit == "percent" else 1)
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"class_id": 2}, {"thresholds": 0.3, "class_id": 0, "unit": "percent"}, {"thresholds": 0.7, "unit": "ratio"}],
    ids=["defaults", "class_id", "all_set", "threshold"],
)
def test_optional_and_choice_params_against_keras_precision(target, kwargs):
    """None defaults narrowed with `is not None`, a str param compared with its choices: against
    keras.metrics.Precision(thresholds=..., class_id=...), with sample weights, on every target."""
    rng = np.random.default_rng(3)
    y_true = (rng.uniform(size=(40, 4)) > 0.5).astype(np.float32)
    y_pred = rng.uniform(size=(40, 4)).astype(np.float32)
    weights = rng.uniform(size=40).astype(np.float32)
    keras_kwargs = {k: v for k, v in kwargs.items() if k != "unit"}
    reference = keras.metrics.Precision(**keras_kwargs)
    reference.update_state(y_true, y_pred, sample_weight=weights)
    expected = float(reference.result()) * (100 if kwargs.get("unit") == "percent" else 1)
    d = driver(target)
    cls = compile_class(OPTIONAL_AND_CHOICES, "PrecisionOf", target)
    metric = d.make(cls, **kwargs)
    d.update(metric, {"y_true": y_true, "y_pred": y_pred}, sample_weight=weights)
    np.testing.assert_allclose(float(d.result(metric)), expected, rtol=1e-5)
    if d.saves_config:
        assert d.config(metric)["class_id"] == kwargs.get("class_id")  # None round-trips
    for bad in ({"class_id": -1}, {"unit": "percentage"}, {"thresholds": "0.5"}):
        with pytest.raises(ValueError, match="argument"):
            d.make(cls, **bad)


HAS_WEIGHTS = """
name: hsw
class_name: Hsw
description: counts negative labels only without weights (Keras' ignore_class rule), per-class sums
params:
  skip_first: {type: bool, default: false}
state:
  total: {shape: ["2 if skip_first else 3"]}
  ignored: {}
update:
  total: sum(y_pred, axis=0)[1:] if skip_first else sum(y_pred, axis=0)
  ignored: 0.0 if has_sample_weight() else sum(cast(y_true < 0, float))
result: sum(total) + ignored * 100
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_has_sample_weight_and_bool_params_in_shapes(target):
    y_true = np.array([[-1.0, 1, 0], [0, -1, -1]], np.float32)
    y_pred = np.array([[1.0, 2, 3], [4, 5, 6]], np.float32)
    for skip_first in (False, True):
        for weights in (None, np.array([1.0, 1.0], np.float32)):
            d = driver(target)
            metric = d.make(compile_class(HAS_WEIGHTS, "Hsw", target), skip_first=skip_first)
            sums = y_pred.sum(0)[1:] if skip_first else y_pred.sum(0)
            expected = sums.sum() + (0 if weights is not None else 3) * 100
            d.update(metric, {"y_true": y_true, "y_pred": y_pred}, sample_weight=weights)
            assert d.state(metric, "total").shape == ((2,) if skip_first else (3,))
            np.testing.assert_allclose(float(d.result(metric)), expected)


NUMBER_OR_LIST = """
name: precision_at
class_name: PrecisionAt
description: precision at one threshold (a number) or several (a vector), as keras.metrics.Precision(thresholds)
params:
  thresholds: {type: "float|list[float]", default: 0.5, min: 0, max: 1}
state:
  tp: {shape: [len(thresholds)]}
  fp: {shape: [len(thresholds)]}
update:
  let:
    predicted: reshape(y_pred, [-1])[:, None] > thresholds
    actual: reshape(y_true, [-1])[:, None] > 0.5
    w: sample_weights(reshape(y_pred, [-1]))[:, None]
  tp: sum(cast(predicted & actual, float) * w, axis=0)
  fp: sum(cast(predicted & ~actual, float) * w, axis=0)
result:
  let:
    precision: tp / (tp + fp)
  value: precision if is_list(thresholds) else precision[0]
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("thresholds", [0.5, 0.3, [0.2, 0.5, 0.8]], ids=["default", "number", "list"])
def test_number_or_list_param_against_keras_precision(target, thresholds):
    """thresholds=0.3 gives a number, thresholds=[...] a vector, as keras.metrics.Precision(thresholds=...)."""
    rng = np.random.default_rng(4)
    y_true = (rng.uniform(size=(30, 1)) > 0.5).astype(np.float32)
    y_pred = rng.uniform(size=(30, 1)).astype(np.float32)
    weights = rng.uniform(size=30).astype(np.float32)
    reference = keras.metrics.Precision(thresholds=thresholds)
    reference.update_state(y_true, y_pred, sample_weight=weights)
    kwargs = {} if thresholds == 0.5 else {"thresholds": thresholds}
    d = driver(target)
    metric = d.make(compile_class(NUMBER_OR_LIST, "PrecisionAt", target), **kwargs)
    d.update(metric, {"y_true": y_true, "y_pred": y_pred}, sample_weight=weights)
    got = d.result(metric)
    if d.saves_config:
        assert d.config(metric)["thresholds"] == thresholds
    assert got.shape == d.result_shape(np.asarray(reference.result()).shape)
    np.testing.assert_allclose(got, np.asarray(reference.result()), rtol=1e-5)


IGNORED_LABEL = """
name: kept
class_name: Kept
description: counts labels that are not the ignored one (all of them when ignore is None), and those above a floor
params:
  ignore: {type: int, default: null}
  floor: {type: float, default: null}
state:
  kept: {}
  above: {}
update:
  kept: sum(cast((y_true >= 0) & (ignore is None or y_true != ignore), float))
  above: sum(cast((y_pred >= 0) and floor is not None and y_pred > floor, float))
result: kept * 1000 + above
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("ignore, floor", [(None, None), (2, None), (None, 0.5), (0, 0.25)])
def test_and_or_narrow_optional_params_as_python_does(target, ignore, floor):
    """`ignore is None or y != ignore` reads `ignore` only where it is not None; a constant operand decides
    at trace time, its value (Python's `True or ...` is True) broadcast by the `&` around it."""
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, (9, 3)).astype(np.float32)
    y_pred = rng.uniform(size=(9, 3)).astype(np.float32)
    kept = np.sum((ignore is None) | (y_true != (ignore if ignore is not None else -1)))
    above = np.sum((floor is not None) & (y_pred > (floor if floor is not None else 0.0)))
    d = driver(target)
    metric = d.make(compile_class(IGNORED_LABEL, "Kept", target), ignore=ignore, floor=floor)
    d.update(metric, {"y_true": y_true, "y_pred": y_pred})
    assert float(d.result(metric)) == kept * 1000 + above


GUARDED = """
name: guarded
class_name: Guarded
description: a definition that needs class_id, used only in the branch that knows it is given
params:
  class_id: {type: int, default: null, min: 0}
state:
  total: {}
update:
  let:
    column: y_pred[..., class_id]
    doubled: column * 2.0
  total: sum(doubled) if class_id is not None else sum(y_pred)
result: total
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("class_id", [None, 0, 2])
def test_definition_is_computed_only_where_its_optional_param_is_given(target, class_id):
    y_true = np.zeros((4, 3), np.float32)
    y_pred = np.arange(12, dtype=np.float32).reshape(4, 3)
    expected = y_pred.sum() if class_id is None else 2.0 * y_pred[:, class_id].sum()
    d = driver(target)
    metric = d.make(compile_class(GUARDED, "Guarded", target), class_id=class_id)
    d.update(metric, {"y_true": y_true, "y_pred": y_pred})
    assert float(d.result(metric)) == expected
