"""The Keras catalogue (catalogue/keras/specs/): specs that reproduce classes of `keras.metrics` with the same class
name, constructor parameters and defaults, default metric name and `update_state` signature. Every class is run
against `keras.metrics.<Class>` itself, with the same arguments, on every target (each driven by tests/drivers.py),
over several batches (one of them a single sample), without weights, with per-sample weights ([batch]), with one
weight a batch (a scalar) and, where Keras' metric takes them, with per-element weights (the values' shape); then
reset and fed one batch."""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, tf
from drivers import driver
from keras_catalogue_cases import CASES, Case, first_of_each_class, weight_modes, weights_for
from metricgen.compiler import compile_file

import keras

CATALOGUE = ROOT / "catalogue" / "keras"
SPECS = sorted((CATALOGUE / "specs").glob("*.yaml"))
from conftest import EVERY_TARGET as TARGETS  # noqa: E402  (every registered target)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_generated_modules_are_up_to_date(spec, target):
    compiled = compile_file(spec, CATALOGUE / "generated", target)
    assert compiled.ok, compiled.errors
    assert (
        compiled.output.read_text(encoding="utf-8") == compiled.source
    ), f"run `cd catalogue/keras && metricgen build --target {target} specs/`"


def metric_class(stem: str, class_name: str, target: str):
    return driver(target).metric_class(CATALOGUE / "generated", stem, class_name)


def update(metric, target: str, batch: dict, w):
    """One batch, the target's way (tests/drivers.py: the tf target's in graph mode, the keras target's eagerly)."""
    driver(target).update(metric, batch, sample_weight=w)


def value(metric, target: str) -> np.ndarray:
    return driver(target).result(metric)


def keras_value(case: Case, parts: list, weights: list) -> np.ndarray:
    reference = getattr(keras.metrics, case.class_name)(**case.kwargs)
    for batch, w in zip(parts, weights):
        reference.update_state(*batch.values(), sample_weight=w)
    return np.asarray(reference.result())


def runs(cases) -> list:
    return [(case, mode) for case in cases for mode in weight_modes(case)]


RUNS = runs(CASES)
# On a target whose runs are slow (tests/drivers.py: slow), the first configuration of each class, each
# way it takes weights: every class and every weighting, at a quarter of the runs (every configuration passed there
# when this was written; drop the `if` to run them all)
# A target whose update is traced (tf.function) runs every configuration unweighted, and the weighted ways on the
# first configuration of each class (the keras target runs them all eagerly on the same backend).
REPRESENTATIVE = {(case.id, mode) for case, mode in runs(first_of_each_class())}


def _runs_on(target: str, case, mode: str) -> bool:
    drive = driver(target)
    if drive.slow or (getattr(drive, "traced", False) and mode != "unweighted"):
        return (case.id, mode) in REPRESENTATIVE
    return True


TARGET_RUNS = [(target, case, mode) for target in TARGETS for case, mode in RUNS if _runs_on(target, case, mode)]


@pytest.mark.parametrize("target, case, mode", TARGET_RUNS, ids=[f"{c.id}-{m}-{t}" for t, c, m in TARGET_RUNS])
def test_against_keras(case, mode, target):
    rng = np.random.default_rng(len(case.id) * 7 + len(mode))
    parts = [case.make(rng, n) for n in case.sizes]
    weights = [weights_for(rng, p, mode, case) for p in parts]
    expected = keras_value(case, parts, weights)

    metric = driver(target).make(metric_class(case.stem, case.class_name, target), **case.kwargs)
    for batch, w in zip(parts, weights):
        update(metric, target, batch, w)
    np.testing.assert_allclose(value(metric, target), expected, atol=1e-5, rtol=1e-5)

    # reset, then one batch: the reference on that batch alone
    driver(target).reset(metric)
    update(metric, target, parts[0], weights[0])
    np.testing.assert_allclose(value(metric, target), keras_value(case, parts[:1], weights[:1]), atol=1e-5, rtol=1e-5)


CLASSES = sorted({(c.stem, c.class_name) for c in CASES})


@pytest.mark.parametrize("stem, class_name", CLASSES, ids=[c for _, c in CLASSES])
def test_constructor_matches_keras(stem, class_name):
    """Same parameters with the same defaults (name and dtype, which metricgen puts after the spec's own params,
    are compared by keyword), and the same default metric name."""
    ours = inspect.signature(metric_class(stem, class_name, "keras")).parameters
    theirs = inspect.signature(getattr(keras.metrics, class_name)).parameters
    positional = [k for k, p in ours.items() if p.kind != inspect.Parameter.VAR_KEYWORD]  # **kwargs: last in both
    assert set(ours) == set(theirs)
    # the confusion counts' name defaults to None in Keras (then named after the class); ours names it outright
    assert {k: p.default for k, p in ours.items() if k != "name"} == {
        k: p.default for k, p in theirs.items() if k != "name"
    }
    example = next(c.kwargs for c in CASES if c.class_name == class_name)
    required = {k: example[k] for k, p in theirs.items() if p.default is inspect.Parameter.empty and k in positional}
    keras_name = getattr(keras.metrics, class_name)(**required).name
    if theirs["name"].default is None:  # Keras makes the class's snake_case name unique: true_positives_3
        keras_name = re.sub(r"_\d+$", "", keras_name)
    # Keras snake-cases the IoU classes' names letter by letter (binary_io_u); ours are named iou
    keras_name = keras_name.replace("io_u", "iou")
    assert metric_class(stem, class_name, "keras")(**required).name == keras_name
    assert positional[-2:] == ["name", "dtype"]
    update_params = list(inspect.signature(getattr(keras.metrics, class_name).update_state).parameters)
    for target in ("tf", "keras"):
        generated = metric_class(stem, class_name, target).update_state
        assert list(inspect.signature(generated).parameters) == update_params


# Arguments Keras' constructors refuse, which ours must refuse too (never a metric that computes something else)
REFUSED = [
    ("fbeta_score", "FBetaScore", {"threshold": 0.0}),
    ("f1_score", "F1Score", {"threshold": 0.0}),
    ("fbeta_score", "FBetaScore", {"threshold": 1.5}),
]


@pytest.mark.parametrize("stem, class_name, kwargs", REFUSED, ids=lambda x: str(x))
def test_arguments_keras_refuses_are_refused(stem, class_name, kwargs):
    with pytest.raises(ValueError):
        getattr(keras.metrics, class_name)(**kwargs)
    for target in ("tf", "keras"):
        with pytest.raises(ValueError, match="threshold"):
            metric_class(stem, class_name, target)(**kwargs)


def plain(value):
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return [plain(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    return value


@pytest.mark.parametrize(
    "case", [next(c for c in CASES if c.class_name == n) for _, n in CLASSES], ids=lambda c: c.class_name
)
def test_get_config_round_trip_and_keras_keys(case):
    """from_config(get_config()) makes the same metric, and every key of Keras' own config is in ours with the
    same value (so configs saved by either load in the other), name aside (Keras makes None unique)."""
    cls = metric_class(case.stem, case.class_name, "keras")
    metric = cls(**case.kwargs)
    config = metric.get_config()
    again = cls.from_config(config)
    assert again.get_config() == config
    theirs = getattr(keras.metrics, case.class_name)(**case.kwargs).get_config()
    for key, value in theirs.items():
        if key in ("name", "dtype"):
            continue
        assert key in config, key
        if key == "fn":
            continue  # both serialize the function; compared by what it computes (test_against_keras)
        assert plain(config[key]) == plain(value), key


@functools.lru_cache(maxsize=None)
def catalogue_under(backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "CASES_SUBSET": "1"}
    script = Path(__file__).resolve().parent / "keras_catalogue_run.py"
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-5000:]
    report = json.loads(done.stdout)
    assert report["backend"] == backend
    return report["results"]


FIRST_OF_EACH = first_of_each_class()
BACKEND_RUNS = [f"{c.id}-{mode}" for c in FIRST_OF_EACH for mode in weight_modes(c, elementwise=False)]


@pytest.mark.parametrize("run", BACKEND_RUNS)
@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(b, marks=[] if importlib.util.find_spec(b) else [pytest.mark.skip(reason=f"{b} is not installed")])
        for b in ("jax", "torch")
    ],
)
def test_keras_target_under(backend, run):
    """The keras target on JAX and PyTorch, against keras.metrics on the same backend: the first configuration of
    each class (the whole catalogue runs on TensorFlow above), in a subprocess per backend."""
    result = catalogue_under(backend)[run]
    assert result["ok"], result.get("error") or f"got {result['got']}, keras gives {result['expected']}"


def test_xla_compiles_every_class_and_matches_graph_mode():
    """The tf target under tf.function(jit_compile=True): every class's first configuration, one batch each."""
    rng = np.random.default_rng(11)
    for case in FIRST_OF_EACH:
        batch = [tf.constant(v) for v in case.make(rng, 9).values()]
        results = []
        for jit in (False, True):
            metric = metric_class(case.stem, case.class_name, "tf")(**case.kwargs)
            step = tf.function(metric.update_state, jit_compile=jit)
            step(*batch)
            results.append(np.asarray(metric.result()))
        np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6, err_msg=case.id)


@pytest.mark.parametrize("target", ["tf", "keras"])
def test_mean_metrics_traced_with_unknown_shapes(target):
    """Keras' mean rule where the trace knows neither the batch nor the other axes (tf.function with a signature
    of None sizes): each sample's mean and the count are computed in the graph, against keras.metrics, with
    scalar weights, [batch] weights and none, over batches of different sizes."""
    rng = np.random.default_rng(5)
    shapes = [(4, 3, 2), (1, 3, 2), (6, 3, 2)]
    parts = [
        {"y_true": f, "y_pred": f + rng.normal(size=f.shape).astype(np.float32)}
        for f in (rng.normal(size=s).astype(np.float32) for s in shapes)
    ]
    for weights in (
        [None] * 3,
        [np.float32(w) for w in (0.5, 2.0, 1.5)],
        [rng.uniform(0.1, 2, s[0]).astype(np.float32) for s in shapes],
    ):
        metric = metric_class("mean_squared_error", "MeanSquaredError", target)()
        spec = [tf.TensorSpec([None, None, None], tf.float32)] * 2
        if weights[0] is None:
            step = tf.function(lambda t, p: metric.update_state(t, p), input_signature=spec)
        else:
            weight_spec = tf.TensorSpec([] if np.ndim(weights[0]) == 0 else [None], tf.float32)
            step = tf.function(
                lambda t, p, w: metric.update_state(t, p, sample_weight=w), input_signature=spec + [weight_spec]
            )
        reference = keras.metrics.MeanSquaredError()
        for batch, w in zip(parts, weights):
            step(*batch.values(), *([] if w is None else [w]))
            reference.update_state(*batch.values(), sample_weight=w)
        np.testing.assert_allclose(np.asarray(metric.result()), np.asarray(reference.result()), rtol=1e-5)
