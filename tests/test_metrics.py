"""The nine generated metrics against independent references, in every way Keras runs a metric.

Each test runs on every visible device (the CPU, and each GPU when TensorFlow sees one; a skipped GPU entry
says so when none is visible). Tolerances: 1e-5 relative for exact formulas; MeanAveragePrecision against
scikit-learn's exact curve is within 5e-3 at 200 thresholds (its discretisation bound, see test_map_*).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EVERY_TARGET, SPECS, devices, tf
from metric_cases import CASE_IDS, CASES, LABELLED, MULTI_INPUT, args, batches, check_close
from metricgen.loader import load_spec_file
from metricgen.schema import validate_spec

import keras

pytestmark = pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")

SIZES = [7, 1, 16, 9]


def feed(metric, case, parts, weights, update=None):
    update = update or metric.update_state
    for part, w in zip(parts, weights):
        update(*args(case, part), sample_weight=w)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_streaming_matches_reference(case, weighted, device):
    rng = np.random.default_rng(1)
    with tf.device(device):
        metric = case.new()
        parts, weights, whole, w = batches(case, rng, SIZES, weighted)
        feed(metric, case, parts, weights)
        check_close(case, metric.result(), case.reference(whole, w, case.kwargs), "streamed batches")

        before = float(metric.result())
        empty = case.make(rng, 0)
        metric.update_state(*args(case, empty), sample_weight=np.zeros(0, np.float32) if weighted else None)
        assert float(metric.result()) == before, "an empty batch changed the result"

        metric.reset_state()
        fresh = case.new()  # every variable back to its declared initial value, as on a new instance
        for variable, initial in zip(metric.variables, fresh.variables):
            np.testing.assert_array_equal(variable.numpy(), initial.numpy(), err_msg=variable.name)
        assert float(metric.result()) == float(fresh.result())
        parts, weights, whole, w = batches(case, rng, [5, 11], weighted)
        feed(metric, case, parts, weights)
        check_close(case, metric.result(), case.reference(whole, w, case.kwargs), "after reset_state")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_inside_tf_function(case, jit_compile, device):
    rng = np.random.default_rng(2)
    with tf.device(device):
        metric = case.new()
        update = tf.function(metric.update_state, jit_compile=jit_compile)
        result = tf.function(metric.result, jit_compile=jit_compile)
        parts, weights, whole, w = batches(case, rng, [8, 8, 8], True)
        feed(metric, case, parts, weights, update)
        check_close(case, result(), case.reference(whole, w, case.kwargs))


def passthrough_model(shape):
    """A model whose predictions are its inputs, so the metric sees known y_pred."""
    return keras.Sequential([keras.Input(shape), keras.layers.Identity()])


def zero_loss(y_true, y_pred):
    """A per-sample loss of 0 whatever the shapes: the tests are about the metrics."""
    return (
        keras.ops.zeros_like(y_pred[:, 0, ...])
        if len(y_pred.shape) == 2
        else keras.ops.zeros_like(keras.ops.reshape(y_pred, (keras.ops.shape(y_pred)[0], -1))[:, 0])
    )


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("case", LABELLED, ids=[c.id for c in LABELLED])
def test_compiled_model_fit_and_evaluate(case, jit_compile):
    rng = np.random.default_rng(3)
    _, _, data, w = batches(case, rng, [45], True)
    model = passthrough_model(data["y_pred"].shape[1:])
    # Keras passes sample weights to `weighted_metrics` only
    model.compile(
        loss=zero_loss,
        metrics=[case.new(name="plain")],
        weighted_metrics=[case.new(name="weighted")],
        jit_compile=jit_compile,
    )
    expected = {"plain": case.reference(data, None, case.kwargs), "weighted": case.reference(data, w, case.kwargs)}
    logs = model.evaluate(data["y_pred"], data["y_true"], sample_weight=w, batch_size=16, return_dict=True, verbose=0)
    history = model.fit(data["y_pred"], data["y_true"], sample_weight=w, batch_size=16, epochs=2, verbose=0)
    for name, value in expected.items():
        check_close(case, logs[name], value, f"evaluate, {name}")
        check_close(case, history.history[name][-1], value, f"fit, {name} (2nd epoch: state reset between epochs)")


class MultiOutputModel(keras.Model):
    """A Keras 3 training loop feeding structured outputs to a multi-input metric via compute_metrics.

    The model predicts some of its inputs (dict in, dict out); the targets come as a dict `y` (a plain
    array when the metric has none). The metric gets predictions and targets in its update_state's order.
    """

    def __init__(self, metric, prediction_keys, target_keys, **kwargs):
        super().__init__(**kwargs)
        self.identity = keras.layers.Identity()
        self.metric = metric
        self.prediction_keys = prediction_keys
        self.target_keys = target_keys

    def call(self, inputs):
        return {k: self.identity(inputs[k]) for k in self.prediction_keys}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return keras.ops.convert_to_tensor(0.0)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if isinstance(sample_weight, dict):  # Keras gives one weight array per target of a dict `y`
            sample_weight = next(iter(sample_weight.values()))
        arguments = [y_pred[k] for k in self.prediction_keys] + [y[k] for k in self.target_keys]
        self.metric.update_state(*arguments, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}


MULTI_INPUT_LAYOUT = {
    # class -> (inputs that come from the model's predictions, inputs that come from the targets)
    "RatioMetric": (["output_a"], ["output_b"]),
    "WeightedLossMetric": (["output_cls", "output_bbox"], ["target_cls", "target_bbox"]),
    "AverageChannelMetric": (["output_multi"], []),
}


def multi_input_model(case):
    predictions, targets = MULTI_INPUT_LAYOUT[case.class_name]
    assert list(case.inputs) == predictions + targets
    model = MultiOutputModel(case.new(), predictions, targets)
    model.compile(optimizer="sgd")
    return model, predictions, targets


def split_inputs(data, predictions, targets):
    x = {k: data[k] for k in predictions}
    y = {k: data[k] for k in targets} if targets else np.zeros(len(next(iter(x.values()))), np.float32)
    return x, y


@pytest.mark.parametrize("case", MULTI_INPUT, ids=[c.id for c in MULTI_INPUT])
def test_multi_input_metric_in_training_loop(case):
    rng = np.random.default_rng(4)
    _, _, data, w = batches(case, rng, [40], True)
    model, predictions, targets = multi_input_model(case)
    x, y = split_inputs(data, predictions, targets)
    expected = case.reference(data, w, case.kwargs)
    logs = model.evaluate(x, y, sample_weight=w, batch_size=16, return_dict=True, verbose=0)
    check_close(case, logs[model.metric.name], expected, "evaluate")
    history = model.fit(x, y, sample_weight=w, batch_size=16, epochs=2, verbose=0)
    check_close(case, history.history[model.metric.name][-1], expected, "fit")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_config_round_trip(case):
    """Every param of the spec, given or left at its default, is in get_config() with the instance's value,
    and comes back as itself."""
    rng = np.random.default_rng(5)
    metric = case.new(name="custom_name", dtype="float64")
    config = metric.get_config()
    params = validate_spec(load_spec_file(SPECS / f"{case.stem}.yaml")).params
    for key, param in params.items():
        assert key in config, f"get_config() misses {key}"
        if param.type != "callable":
            expected = case.kwargs.get(key, param.default)
            assert config[key] == expected and getattr(metric, key) == expected, key
    serialized = keras.saving.serialize_keras_object(metric)
    clone = keras.saving.deserialize_keras_object(serialized)
    assert type(clone) is type(metric)
    assert clone.name == "custom_name" and clone.dtype == "float64"
    for key in params:
        assert getattr(clone, key) == getattr(metric, key) or getattr(clone, key) is getattr(metric, key), key
    parts, weights, whole, w = batches(case, rng, [6, 6], True)
    feed(metric, case, parts, weights)
    feed(clone, case, parts, weights)
    assert float(clone.result()) == float(metric.result())
    assert clone.result().dtype == "float64"


@pytest.mark.parametrize("case", LABELLED, ids=[c.id for c in LABELLED])
def test_saved_model_reloads_with_metric(case, tmp_path):
    rng = np.random.default_rng(6)
    _, _, data, w = batches(case, rng, [30], True)
    model = passthrough_model(data["y_pred"].shape[1:])
    model.compile(loss=zero_loss, weighted_metrics=[case.new(name="tracked")])
    before = model.evaluate(data["y_pred"], data["y_true"], sample_weight=w, return_dict=True, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, custom_objects={"zero_loss": zero_loss})
    after = loaded.evaluate(data["y_pred"], data["y_true"], sample_weight=w, return_dict=True, verbose=0)
    assert after["tracked"] == pytest.approx(before["tracked"], rel=1e-6)
    check_close(case, after["tracked"], case.reference(data, w, case.kwargs))


def _two_cpus():
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) < 2:
        pytest.skip("TensorFlow was initialised before conftest could split the CPU in two")
    return tf.distribute.MirroredStrategy([d.name for d in cpus[:2]])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_mirrored_strategy_gives_single_device_value(case):
    strategy = _two_cpus()
    rng = np.random.default_rng(7)
    _, _, data, w = batches(case, rng, [50], True)
    expected = case.reference(data, w, case.kwargs)
    with strategy.scope():
        if case.is_labelled:
            model = passthrough_model(data["y_pred"].shape[1:])
            model.compile(loss=zero_loss, weighted_metrics=[case.new()])
            x, y, name = data["y_pred"], data["y_true"], case.new().name
        else:
            model, predictions, targets = multi_input_model(case)
            x, y = split_inputs(data, predictions, targets)
            name = model.metric.name
    logs = model.evaluate(x, y, sample_weight=w, batch_size=16, return_dict=True, verbose=0)
    check_close(case, logs[name], expected, "MirroredStrategy over 2 CPUs")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("low", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_low_precision_and_int_inputs_give_float32_answer(case, low, device):
    rng = np.random.default_rng(8)
    _, _, data, w = batches(case, rng, [24], True)
    tensors, rounded = {}, {}
    for key, value in data.items():
        if value.dtype.kind in "iu" or key == "y_true" and case.class_name != "WeightedMetric":
            tensors[key] = tf.constant(value.astype(np.int32))  # labels as ints
            rounded[key] = value
        else:
            tensors[key] = tf.cast(tf.constant(value), low)
            rounded[key] = tf.cast(tensors[key], tf.float32).numpy()
    with tf.device(device):
        metric = case.new()
        metric.update_state(*[tensors[k] for k in case.inputs], sample_weight=tf.cast(tf.constant(w), low))
        value = metric.result()
    assert value.dtype == tf.float32
    w_rounded = tf.cast(tf.cast(tf.constant(w), low), tf.float32).numpy()
    check_close(case, value, case.reference(rounded, w_rounded, case.kwargs))


def test_shape_mismatch_fails_at_trace_time_with_names():
    case = next(c for c in CASES if c.class_name == "WeightedPrecision")
    metric = case.new(class_weights=[1.0, 1.0, 1.0])
    update = tf.function(metric.update_state)
    with pytest.raises(ValueError) as info:
        update(np.array([0, 1]), np.zeros((2, 5), np.float32))
    message = str(info.value)
    assert "WeightedPrecision" in message and "y_pred" in message
    assert "(2, 5)" in message and "3" in message

    case = next(c for c in CASES if c.class_name == "MeanAveragePrecision")
    metric = case.new(num_classes=4)
    with pytest.raises(ValueError, match=r"MeanAveragePrecision: `y_true` has shape \(2, 3\)"):
        tf.function(metric.update_state)(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_merge_state_combines_shards(case):
    rng = np.random.default_rng(9)
    parts, weights, whole, w = batches(case, rng, [10, 13, 7], True)
    shards = []
    for part, weight in zip(parts, weights):
        shard = case.new()
        shard.update_state(*args(case, part), sample_weight=weight)
        shards.append(shard)
    merged = case.new()
    merged.merge_state(shards)
    single = case.new()
    feed(single, case, parts, weights)
    np.testing.assert_allclose(float(merged.result()), float(single.result()), rtol=1e-6, atol=1e-7)
    check_close(case, merged.result(), case.reference(whole, w, case.kwargs))
    with pytest.raises(TypeError):
        merged.merge_state([keras.metrics.Mean()])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("case", [c for c in CASES if c.keras_equivalent], ids=lambda c: c.id)
def test_agrees_with_keras_builtin(case, device):
    rng = np.random.default_rng(10)
    parts, weights, _, _ = batches(case, rng, [20, 3, 31], True)
    with tf.device(device):
        ours, theirs = case.new(), case.keras_equivalent()
        for part, w in zip(parts, weights):
            ours.update_state(part["y_true"], part["y_pred"], sample_weight=w)
            theirs.update_state(part["y_true"], part["y_pred"], sample_weight=w)
        np.testing.assert_allclose(float(ours.result()), float(np.squeeze(theirs.result())), rtol=1e-5, atol=1e-7)


EXAMPLE_SPECS = sorted(p for p in SPECS.glob("*.yaml") if "examples:" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("target", EVERY_TARGET)
@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[p.stem for p in EXAMPLE_SPECS])
def test_shipped_spec_examples_hold(spec, target):
    """The hand-worked examples in each shipped spec (their comments show the arithmetic)."""
    from metricgen.examples import run_spec_examples

    outcomes = run_spec_examples(spec, display_path=f"specs/{spec.name}", target=target)
    assert outcomes, "no examples ran"
    failed = [o.format() for o in outcomes if not o.passed]
    assert failed == []


def test_every_shipped_spec_but_the_callable_one_has_examples():
    assert {p.stem for p in SPECS.glob("*.yaml")} - {p.stem for p in EXAMPLE_SPECS} == {"weighted_metric"}
