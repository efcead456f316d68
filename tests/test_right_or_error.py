"""Right or a clear error (issue 20, the targets' side): a later batch or a merged metric of another size than
the state's, merges of metrics with other params, an update that reads its own state, a state variable passed
to an op on JAX, TensorFlow's broadcast batch matmul, and one Keras registered name per target. Each number is
checked against numpy, keras.metrics or torchmetrics; each refusal names the metric and what differs.
(tf.distribute and merges in a strategy's scope: tests/test_distributed.py.)"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from conftest import ROOT, tf
from metricgen.compiler import generate_from_text
from drivers import driver, every_target, every_target_that
from test_semantics import compile_class

import keras
import torch

from conftest import EVERY_TARGET as TARGETS  # noqa: E402  (every registered target)

F1_SPEC = (ROOT / "catalogue" / "keras" / "specs" / "f1_score.yaml").read_text(encoding="utf-8")


def f1(target):
    return compile_class(F1_SPEC, "F1Score", target)


def make(cls, target, **kwargs):
    return driver(target).make(cls, **kwargs)


def update(metric, target, **inputs):
    """One batch, its inputs by the spec's names."""
    driver(target).update(metric, inputs)


def value(metric, target):
    return driver(target).result(metric)


def one_hot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


def run_backend(backend: str, script: str) -> dict:
    """``script`` run under KERAS_BACKEND=backend; it prints one JSON line last."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- item 2: state shaped by the first batch keeps its size -------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_a_later_batch_of_another_size_is_refused(target):
    metric = make(f1(target), target)
    three = one_hot([0, 1, 2, 0], 3)
    update(metric, target, y_true=three, y_pred=three)
    with pytest.raises(
        ValueError,
        match=r"F1Score: `(y_pred|preds)` has size 1 along axis -1 in the batch, but the state "
        r"\(true_positives\) was shaped by a first batch of size 3 there",
    ):
        update(metric, target, y_true=np.ones((2, 1), np.float32), y_pred=np.ones((2, 1), np.float32))
    # the refused batch changed nothing: the score is Keras' on the first batch alone
    reference = keras.metrics.F1Score()
    reference.update_state(three, three)
    np.testing.assert_allclose(value(metric, target), np.asarray(reference.result()), rtol=1e-6)


@pytest.mark.parametrize("target", TARGETS)
def test_merging_a_metric_of_another_size_is_refused(target):
    cls = f1(target)
    three, one = make(cls, target), make(cls, target)
    update(three, target, y_true=one_hot([0, 1, 2], 3), y_pred=one_hot([0, 1, 1], 3))
    update(one, target, y_true=np.ones((2, 1), np.float32), y_pred=np.ones((2, 1), np.float32))
    message = r"F1Score: `(y_pred|preds)` has size 1 along axis -1 in the merged (metric|state), but .* of size 3 there"
    with pytest.raises(ValueError, match=message):
        driver(target).merge(three, [one])
    reference = keras.metrics.F1Score()
    reference.update_state(one_hot([0, 1, 2], 3), one_hot([0, 1, 1], 3))
    np.testing.assert_allclose(value(three, target), np.asarray(reference.result()), rtol=1e-6)


def test_tf_checks_a_static_size_when_traced_and_a_dynamic_one_when_run():
    metric = f1("tf")()
    three = one_hot([0, 1, 2, 0], 3)
    metric.update_state(three, three)
    static = tf.function(metric.update_state).get_concrete_function(
        tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([None, 3], tf.float32)
    )
    assert not [op for op in static.graph.get_operations() if op.type == "Assert"]  # nothing left to run
    with pytest.raises(ValueError, match="has size 1 along axis -1"):
        tf.function(metric.update_state).get_concrete_function(
            tf.TensorSpec([None, 1], tf.float32), tf.TensorSpec([None, 1], tf.float32)
        )
    dynamic = tf.function(metric.update_state, input_signature=[tf.TensorSpec([None, None], tf.float32)] * 2)
    dynamic(three, three)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"F1Score: `y_pred` must have the size along axis -1"):
        dynamic(np.ones((2, 1), np.float32), np.ones((2, 1), np.float32))
    reference = keras.metrics.F1Score()
    reference.update_state(three, three)
    reference.update_state(three, three)
    np.testing.assert_allclose(np.asarray(metric.result()), np.asarray(reference.result()), rtol=1e-6)


JAX_F1 = textwrap.dedent("""
    import json, types
    import numpy as np, keras
    namespace = {{}}
    exec(compile({source!r}, "f1_score.py", "exec"), namespace)
    metric = namespace["F1Score"]()
    three = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    metric.update_state(three, three)
    try:
        metric.update_state(np.ones((2, 1), "float32"), np.ones((2, 1), "float32"))
        error = None
    except ValueError as e:
        error = str(e)
    print(json.dumps({{"error": error, "result": np.asarray(metric.result()).tolist()}}))
    """)


def test_keras_target_on_jax_refuses_a_later_batch_of_another_size():
    pytest.importorskip("jax")
    source = generate_from_text(F1_SPEC, "f1_score.yaml", "keras")
    out = run_backend("jax", JAX_F1.format(source=source))
    assert out["error"] is not None and "`y_pred` has size 1 along axis -1" in out["error"], out
    np.testing.assert_allclose(out["result"], [1.0, 1.0, 1.0], rtol=1e-6)


# -- item 4: torchmetrics merge_state refuses other params, and takes what Keras' and torchmetrics' take -----


@pytest.mark.parametrize(
    "target", every_target_that("merges_metrics", "its merge takes states, which hold no params to compare")
)
def test_merge_of_a_metric_with_other_params_names_the_param(target):
    cls = f1(target)
    low, high = make(cls, target, threshold=0.1), make(cls, target, threshold=0.9)
    with pytest.raises(ValueError, match=r"F1Score.merge_state: .*`threshold` is 0.1 here and 0.9 in the merged"):
        driver(target).merge(low, [high])


def test_torchmetrics_merge_state_takes_a_metric_a_list_or_a_dict():
    cls = f1("torchmetrics")
    rng = np.random.default_rng(0)
    parts = [(one_hot(rng.integers(0, 3, n), 3), rng.uniform(size=(n, 3)).astype(np.float32)) for n in (5, 4, 6)]
    shards = [cls() for _ in parts]
    for shard, (y_true, y_pred) in zip(shards, parts):
        shard.update(torch.as_tensor(y_pred), torch.as_tensor(y_true))
    whole = cls()
    whole.merge_state([shards[0], shards[1]])  # Keras' form
    whole.merge_state(dict(shards[2].metric_state))  # torchmetrics' dict form
    reference = keras.metrics.F1Score()
    for part in parts:
        reference.update_state(*part)
    np.testing.assert_allclose(whole.compute().numpy(), np.asarray(reference.result()), rtol=1e-6)
    with pytest.raises(ValueError, match="F1Score.merge_state: expected a F1Score, a list of them or a dict"):
        whole.merge_state(3)


# -- item 7: an update that reads its own state gets no merge and no distributed sum ----------------------

# a buffer indexed by its own count: each batch's values land after the ones seen before
RING = """
name: ring
class_name: Ring
description: the first four values seen, in order, in a buffer indexed by the count of values so far
inputs: [{name: x, shape: [null]}]
state:
  buffer: {shape: [4]}
  seen: {}
update:
  buffer: sum(one_hot(cast(seen + cumsum(ones_like(x), exclusive=True), int32), 4) * x[:, None], axis=0)
  seen: cast(size(x), float)
result: buffer
"""


def ring_reference(batches):
    return np.concatenate(batches + [np.zeros(4)])[:4]


@pytest.mark.parametrize("target", TARGETS)
def test_an_update_that_reads_state_is_right_and_refuses_merge(target):
    cls = compile_class(RING, "Ring", target)
    metric, other = make(cls, target), make(cls, target)
    batches = [np.array([1.0, 2.0], np.float32), np.array([3.0], np.float32)]
    for batch in batches:
        update(metric, target, x=batch)
    np.testing.assert_allclose(value(metric, target), ring_reference(batches))
    update(other, target, x=np.array([5.0], np.float32))
    with pytest.raises(NotImplementedError, match="Ring: its update reads state variable 'seen'"):
        driver(target).merge(metric, [other])
    np.testing.assert_allclose(value(metric, target), ring_reference(batches))  # untouched


def test_torchmetrics_refuses_to_sync_an_update_that_reads_state(monkeypatch):
    metric = compile_class(RING, "Ring", "torchmetrics")()
    assert set(metric._reductions.values()) == {None}  # nothing torchmetrics could sum by itself
    metric.update(torch.tensor([1.0, 2.0]))
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda group=None: 2)
    with pytest.raises(RuntimeError, match="Ring: its update reads state variable 'seen'"):
        metric.sync(dist_sync_fn=lambda x, group=None: [x, x], distributed_available=lambda: True)


# GeometricMean (tfa catalogue), which read its total to freeze it, no longer reads state: it merges (below).


# -- item 8: a state variable passed to an op on JAX ----------------------------------------------------

WHERE_SPEC = """
name: clipped_total
class_name: ClippedTotal
description: the sum, or 0 while it is negative
inputs: [y_true, y_pred]
state:
  total: {}
update:
  total: weighted_sum(y_pred)
result: where(total > 0.0, total, 0.0)
"""

JAX_WHERE = textwrap.dedent("""
    import json
    import jax, numpy as np, keras
    namespace = {{}}
    exec(compile({source!r}, "clipped_total.py", "exec"), namespace)
    Metric = namespace["ClippedTotal"]
    values = np.array([[1.5], [-0.25], [2.0]], "float32")
    out = {{}}
    metric = Metric()
    metric.update_state(values, values)
    out["eager"] = float(metric.result())
    for jit in (False, True):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
        model.compile(loss="mse", metrics=[Metric(name="m")], jit_compile=jit)
        out[f"evaluate jit_compile={{jit}}"] = model.evaluate(values, values, return_dict=True, verbose=0)["m"]
        out[f"negative jit_compile={{jit}}"] = model.evaluate(-values, -values, return_dict=True, verbose=0)["m"]
    metric = Metric()
    state = jax.jit(metric.stateless_update_state)([v.value for v in metric.variables], values, values)
    out["stateless in jax.jit"] = float(jax.jit(metric.stateless_result)(state))
    print(json.dumps(out))
    """)


def test_keras_target_on_jax_passes_a_state_variable_s_value_to_ops():
    pytest.importorskip("jax")
    source = generate_from_text(WHERE_SPEC, "clipped_total.yaml", "keras")
    out = run_backend("jax", JAX_WHERE.format(source=source))
    total = 1.5 - 0.25 + 2.0
    for key, got in out.items():
        np.testing.assert_allclose(got, 0.0 if key.startswith("negative") else total, rtol=1e-6, err_msg=key)


# -- item 9: matmul of a batch of matrices by a matrix on the tf target ----------------------------------

MATMUL_RUN = textwrap.dedent("""
    import json, types
    import numpy as np, tensorflow as tf
    from metricgen.compiler import generate_from_text
    spec = '''
    name: product
    class_name: Product
    description: x @ m, summed over batches
    inputs: [{{name: x}}, {{name: m}}]
    state:
      out: {{shape: {shape}}}
    update:
      out: matmul(x, m)
    result: out
    '''
    namespace = {{}}
    exec(compile(generate_from_text(spec, "product.yaml", "tf"), "product.py", "exec"), namespace)
    rng = np.random.default_rng(0)
    x = rng.normal(size={x_shape}).astype("float32")
    m = rng.normal(size={m_shape}).astype("float32")
    errors = []
    for step in (lambda f: f, tf.function, lambda f: tf.function(f, jit_compile=True)):
        metric = namespace["Product"]()
        step(metric.update_state)(x, m)
        errors.append(float(np.abs(metric.out.numpy() - x @ m).max()))
    print(json.dumps(errors))
    """)


@pytest.mark.parametrize(
    "x_shape, m_shape",
    [((6, 34), (34, 20)), ((5, 6, 34), (34, 20)), ((6, 1, 6, 34), (34, 20)), ((4, 1, 9, 29), (1, 3, 29, 13))],
    ids=["rank 2", "rank 3", "rank 4", "rank 4 by a broadcast batch"],
)
def test_tf_matmul_of_a_batch_of_matrices_matches_numpy(x_shape, m_shape):
    """In a child process: TensorFlow 2.21's oneDNN broadcast batch matmul corrupted the heap, and a crash
    must fail this test, not end the test run."""
    shape = list(np.broadcast_shapes(x_shape[:-2], m_shape[:-2])) + [x_shape[-2], m_shape[-1]]
    script = textwrap.dedent(MATMUL_RUN.format(shape=shape, x_shape=x_shape, m_shape=m_shape))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert max(json.loads(done.stdout.strip().splitlines()[-1])) < 1e-4


# -- item 10: one Keras registered name per target ------------------------------------------------------


def module_of(target: str, name: str):
    module = types.ModuleType(name)
    sys.modules[name] = module  # Keras records the class's module, as a user's import would leave it
    exec(compile(generate_from_text(WHERE_SPEC, "clipped_total.yaml", target), f"{name}.py", "exec"), module.__dict__)
    return module.ClippedTotal


@pytest.mark.parametrize("order", [("tf", "keras"), ("keras", "tf")])
def test_each_target_registers_its_own_name(order):
    registry = keras.saving.get_custom_objects()
    saved = dict(registry)
    try:
        classes = {target: module_of(target, f"clipped_total_{target}_{order[0]}") for target in order}
        assert keras.saving.get_registered_object("metricgen>ClippedTotal") is classes["tf"]
        assert keras.saving.get_registered_object("metricgen.keras>ClippedTotal") is classes["keras"]
        for target, cls in classes.items():  # as load_model finds a saved metric's class
            config = keras.saving.serialize_keras_object(cls(name="m"))
            assert type(keras.saving.deserialize_keras_object(config)) is cls, target
        # the README's way to load what one target saved with the other target's class
        saved_by_tf = keras.saving.serialize_keras_object(classes["tf"](name="m"))
        with keras.saving.CustomObjectScope({"metricgen>ClippedTotal": classes["keras"]}):
            as_keras = keras.saving.deserialize_keras_object(saved_by_tf)
        assert type(as_keras) is classes["keras"]
    finally:
        registry.clear()
        registry.update(saved)
        for name in [n for n in sys.modules if n.startswith("clipped_total_")]:
            del sys.modules[name]


# -- issue 25: what each target got wrong with a few more functions and states --------------------------

PROD_SPEC = """
name: probe
class_name: Probe
description: the product over the first and last axes, summed over batches
inputs: [{name: x}]
state:
  out: {shape: [3]}
update:
  out: prod(x, axis=[0, 2])
result: out
"""


@pytest.mark.parametrize("target", TARGETS)
def test_prod_over_two_axes_of_a_3d_tensor(target):
    x = np.linspace(0.5, 1.5, 24, dtype=np.float32).reshape(2, 3, 4)
    metric = make(compile_class(PROD_SPEC, "Probe", target), target)
    update(metric, target, x=x)
    np.testing.assert_allclose(value(metric, target), x.prod(axis=(0, 2)), rtol=1e-5)


INIT_SPEC = """
name: probe
class_name: Probe
description: a sum from a whole-number initial value
inputs: [{name: x}]
state:
  total: {init: 5}
update:
  total: sum(x)
result: total
"""


@pytest.mark.parametrize("target", TARGETS)
def test_a_whole_number_init_of_a_float_state_and_its_merge(target):
    """`init: 5` makes a float state (torchmetrics made it int64, and the first float batch failed); a merge
    counts the initial value once, however many shards (an empty one included)."""
    cls = compile_class(INIT_SPEC, "Probe", target)
    a, b, empty = (make(cls, target) for _ in range(3))
    update(a, target, x=np.array([1.5, 2.25], np.float32))
    update(b, target, x=np.array([3.0], np.float32))
    driver(target).merge(a, [b, empty])
    np.testing.assert_allclose(value(a, target), 5 + 1.5 + 2.25 + 3.0, rtol=1e-6)
    assert "float" in str(value(a, target).dtype)


def test_torchmetrics_state_shaped_by_the_first_batch_after_set_dtype():
    cls = f1("torchmetrics")
    metric = cls()
    metric.set_dtype(torch.float64)
    three = one_hot([0, 1, 2, 0], 3).astype(np.float64)
    metric.update(torch.as_tensor(three * 0.75), torch.as_tensor(three))
    assert metric.true_positives.dtype == torch.float64
    merged = cls()
    merged.set_dtype(torch.float64)
    merged.merge_state(metric)
    assert merged.true_positives.dtype == torch.float64
    reference = keras.metrics.F1Score()
    reference.update_state(three, three * 0.75)
    np.testing.assert_allclose(merged.compute().numpy(), np.asarray(reference.result()), rtol=1e-6)


SQUEEZE_SPEC = """
name: probe
class_name: Probe
description: the sum of a [batch, 1] input squeezed to [batch]
inputs: [{name: x}]
state:
  total: {}
update:
  total: sum(squeeze(x, axis=-1) * 2.0)
result: total
"""


@pytest.mark.parametrize("target", TARGETS)
def test_squeeze_of_the_last_axis_on_a_batch_of_one(target):
    metric = make(compile_class(SQUEEZE_SPEC, "Probe", target), target)
    update(metric, target, x=np.array([[2.0]], np.float32))
    update(metric, target, x=np.array([[1.0], [0.5]], np.float32))
    np.testing.assert_allclose(value(metric, target), 7.0, rtol=1e-6)


# -- issue 20 item 11(c): a list param of the wrong length for the input it meets ------------------------------

CLASS_WEIGHTED = """
name: class_weighted_error
class_name: ClassWeightedError
description: mean absolute error with a weight per class (the last axis)
params:
  class_weights: {type: "list[float]", default: [1.0, 1.0]}
state:
  total: {}
  count: {}
update:
  total: sum(abs(y_true - y_pred) * class_weights)
  count: cast(size(y_true), float)
result: total / count
"""
WRONG_LENGTH = (
    r"ClassWeightedError: `class_weights` has 2 entries, but (y_true|y_pred|target|preds) has 3 along axis -1"
)


def class_weighted_batches():
    rng = np.random.default_rng(7)
    return [(rng.uniform(size=(n, 3)).astype(np.float32), rng.uniform(size=(n, 3)).astype(np.float32)) for n in (4, 2)]


@pytest.mark.parametrize("target", TARGETS)
def test_a_list_param_of_the_wrong_length_is_refused_naming_it_and_the_input(target):
    cls = compile_class(CLASS_WEIGHTED, "ClassWeightedError", target)
    batches = class_weighted_batches()
    right = make(cls, target, class_weights=[1.0, 2.0, 3.0])
    for y_true, y_pred in batches:
        update(right, target, y_true=y_true, y_pred=y_pred)
    y_true, y_pred = (np.concatenate(parts) for parts in zip(*batches))
    expected = np.mean(np.abs(y_true - y_pred) * np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(value(right, target), expected, rtol=1e-5)
    wrong = make(cls, target, class_weights=[1.0, 2.0])
    y_true, y_pred = batches[0]
    with pytest.raises(ValueError, match=WRONG_LENGTH):
        update(wrong, target, y_true=y_true, y_pred=y_pred)


def test_a_list_param_of_the_wrong_length_in_a_graph_of_unknown_sizes():
    """The tf target traced with the last axis unknown: the check is a run-time assertion there."""
    metric = compile_class(CLASS_WEIGHTED, "ClassWeightedError", "tf")(class_weights=[1.0, 2.0])
    spec = tf.TensorSpec([None, None], tf.float32)
    step = tf.function(metric.update_state, input_signature=[spec, spec])
    step(np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32))  # the right size passes
    with pytest.raises(tf.errors.InvalidArgumentError, match="`class_weights` has 2 entries, but y_true has another"):
        step(*class_weighted_batches()[0])


# -- issue 20 (differential report): keras on JAX holds int64 as int32 unless x64 is enabled --------------------

BIG_SUM = """
name: big_sum
class_name: BigSum
description: a sum past int32's range, in an int64 state
inputs: [{name: i, dtype: int64}]
state:
  big: {dtype: int64}
update:
  big: sum(i + 1000000000)
result: cast(big % 97, float) + cast(big // 1000000000, float) * 1000.0
"""

JAX_CHECKS = textwrap.dedent("""
    import json
    import jax, numpy as np, keras
    def load(source, name):
        namespace = {{}}
        exec(compile(source, name + ".py", "exec"), namespace)
        return namespace[name]
    out = {{}}
    BigSum = load({big!r}, "BigSum")
    try:
        BigSum()
        out["x64 off"] = None
    except ValueError as e:
        out["x64 off"] = str(e)
    jax.config.update("jax_enable_x64", True)
    metric = BigSum()
    metric.update_state(np.array([1, 2, 3], np.int64))
    out["x64 on"] = float(metric.result())
    jax.config.update("jax_enable_x64", False)
    weighted = load({weighted!r}, "ClassWeightedError")(class_weights=[1.0, 2.0])
    try:
        weighted.update_state(np.ones((4, 3), "float32"), np.zeros((4, 3), "float32"))
        out["wrong length"] = None
    except ValueError as e:
        out["wrong length"] = str(e)
    print(json.dumps(out))
    """)


@functools.lru_cache(maxsize=None)
def jax_checks() -> dict:
    pytest.importorskip("jax")
    big = generate_from_text(BIG_SUM, "big_sum.yaml", "keras")
    weighted = generate_from_text(CLASS_WEIGHTED, "class_weighted_error.yaml", "keras")
    return run_backend("jax", JAX_CHECKS.format(big=big, weighted=weighted))


def test_keras_target_on_jax_refuses_int64_without_x64_and_is_right_with_it():
    out = jax_checks()
    assert out["x64 off"] is not None, out
    for needed in ("BigSum", "'big'", 'jax.config.update("jax_enable_x64", True)'):
        assert needed in out["x64 off"], out
    total = np.sum(np.array([1, 2, 3], np.int64) + 1_000_000_000)  # 3000000006: past int32's 2**31 - 1
    np.testing.assert_allclose(out["x64 on"], total % 97 + (total // 1_000_000_000) * 1000.0)


def test_keras_target_on_jax_refuses_a_list_param_of_the_wrong_length():
    out = jax_checks()
    assert out["wrong length"] is not None and re.search(WRONG_LENGTH, out["wrong length"]), out


@pytest.mark.parametrize("target", TARGETS)
def test_an_int64_state_sums_past_int32_where_the_target_holds_int64(target):
    """Only the jax target's driver enables 64-bit types (as its refusal tells users to): the others need nothing."""
    with driver(target).with_64_bit_types():
        metric = make(compile_class(BIG_SUM, "BigSum", target), target)
        update(metric, target, i=np.array([1, 2, 3], np.int64))
        total = np.sum(np.array([1, 2, 3], np.int64) + 1_000_000_000)
        np.testing.assert_allclose(value(metric, target), total % 97 + (total // 1_000_000_000) * 1000.0)


# -- item 7: GeometricMean's update reads no state, so it merges (a sum of logs, a count, a flag) --------------

TFA_GENERATED = ROOT / "catalogue" / "tfa" / "generated"


@pytest.mark.parametrize("target", TARGETS)
def test_geometric_mean_merges_shards_into_the_whole(target):
    GeometricMean = driver(target).metric_class(TFA_GENERATED, "geometric_mean", "GeometricMean")
    rng = np.random.default_rng(11)
    parts = [rng.uniform(0.5, 4.0, n).astype(np.float32) for n in (6, 3, 5)]
    weights = [rng.uniform(0.1, 2.0, len(p)).astype(np.float32) for p in parts]

    def merged(parts):
        shards = [make(GeometricMean, target) for _ in parts]
        for shard, part, w in zip(shards, parts, weights):
            driver(target).update(shard, {"values": part}, sample_weight=w)
        driver(target).merge(shards[0], shards[1:])
        return value(shards[0], target)

    values, w = np.concatenate(parts), np.concatenate(weights)
    np.testing.assert_allclose(merged(parts), np.exp(np.sum(w * np.log(values)) / np.sum(w)), rtol=1e-5)
    parts[1][0] = 0.0  # a zero in the middle shard makes the whole's mean 0, as in TFA and scipy.stats.gmean
    assert float(merged(parts)) == 0.0


R_SQUARE_SPEC = (ROOT / "catalogue" / "tfa" / "specs" / "r_square.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("target", TARGETS)
def test_a_later_batch_without_the_shaping_axis_is_refused_naming_the_metric(target):
    # RSquare's outputs come from the first batch's axis 1; a rank-1 batch after it has no such axis
    metric = make(compile_class(R_SQUARE_SPEC, "RSquare", target), target, multioutput="raw_values")
    batch = np.arange(12, dtype=np.float32).reshape(4, 3)
    update(metric, target, y_true=batch, y_pred=batch * 0.5)
    with pytest.raises(
        ValueError, match=r"RSquare: `(y_true|y_pred|preds|target)` has 1 axes in the batch, so no axis"
    ):
        update(metric, target, y_true=np.ones((4,), np.float32), y_pred=np.ones((4,), np.float32))


IN_TOP_K_SPEC = """
name: top_k_hits
class_name: TopKHits
description: The fraction of rows whose label is among the k highest float64 scores.
params:
  k: {type: int, default: 2, min: 1}
inputs:
  - {name: y_true, dtype: int32}
  - {name: y_pred, dtype: float64}
state:
  hits: {}
  rows: {}
update:
  hits: weighted_sum(cast(in_top_k(y_true, y_pred, k), float))
  rows: weighted_sum(ones_like(cast(y_true, float)))
result: hits / rows
"""


def in_top_k_reference(labels, scores, k):
    """numpy's reading of tf.math.in_top_k: fewer than k scores strictly above the label's (ties count in); a
    label out of range or a row with a non-finite score is not in."""
    rows = np.arange(len(labels))
    in_range = (labels >= 0) & (labels < scores.shape[-1])
    label_score = scores[rows, np.where(in_range, labels, 0)]
    above = (scores > label_score[:, None]).sum(-1)
    return in_range & np.isfinite(scores).all(-1) & (above < k)


@pytest.mark.parametrize("target", TARGETS)
def test_in_top_k_of_float64_scores_ranks_them_as_float64(target):
    # 1 + 2**-40 and 1 round to the same float32: TensorFlow's float32-only kernel would tie them in
    scores = np.array([[1.0 + 2**-40, 1.0, 0.0], [0.5, np.inf, 0.0], [0.0, 0.25, 0.5], [0.5, 0.5, 0.5]])
    labels = np.array([1, 0, 5, 2], np.int32)
    expected = in_top_k_reference(labels, scores, 1).mean()
    assert expected == 0.25  # only the last row: a tie at the top counts in
    with driver(target).with_64_bit_types():  # JAX holds float64 as float32 unless enabled (and refuses then)
        metric = make(compile_class(IN_TOP_K_SPEC, "TopKHits", target), target, k=1)
        update(metric, target, y_true=labels, y_pred=scores)
        np.testing.assert_allclose(value(metric, target), expected, rtol=1e-12)


def test_a_float64_input_is_refused_where_jax_would_round_it():
    """Without 64-bit types JAX holds float64 as float32 (a UserWarning only): the jax target refuses the
    metric at construction, as it does int64, rather than rank rounded scores."""
    pytest.importorskip("jax")
    with pytest.raises(ValueError, match=r"input 'y_pred' \(float64\) is 64-bit, which JAX holds as 32 bits"):
        make(compile_class(IN_TOP_K_SPEC, "TopKHits", "jax"), "jax", k=1)
