"""The Keras targets under every distributed engine Keras runs on, each against the single-process value and an
independent numpy reference: MirroredStrategy over two logical CPUs (this process), MultiWorkerMirroredStrategy
with two worker processes on 127.0.0.1 in a custom loop, and JAX's DataParallel over two forced host devices.

The spec holds every kind of state that distribution can get wrong: a float sum (not a ratio, where a wrong scale
would cancel), an int count, and max and min state. Batches are uneven: one replica or worker gets an empty last
batch. (torchmetrics over torch.distributed: tests/test_torchmetrics_target.py.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from conftest import ROOT, tf
from metricgen.compiler import generate_from_text

import keras

SPEC = """
name: stream_summary
class_name: StreamSummary
description: a sum, an int count, the largest and the smallest value seen
inputs: [y_true, y_pred]
state:
  total: {}
  count: {dtype: int32}
  largest: {init: -.inf, fold: max}
  smallest: {init: .inf, fold: min}
update:
  total: weighted_sum(y_pred)
  count: size(y_pred)
  largest: max(y_pred)
  smallest: min(y_pred)
result: total
"""
TARGETS = ["tf", "keras"]
N = 49  # batches of 16: the last has one sample, so one of two replicas gets an empty batch


def summary_class(target: str):
    source = generate_from_text(SPEC, "stream_summary.yaml", target)
    module = types.ModuleType(f"stream_summary_{target}")
    exec(compile(source, "stream_summary.py", "exec"), module.__dict__)
    return module.StreamSummary


def data(n: int = N):
    values = np.linspace(-2.0, 5.0, n, dtype=np.float32)
    np.random.default_rng(0).shuffle(values)
    return values[:, None]


def reference(values: np.ndarray, weights=None) -> dict:
    w = np.ones(len(values)) if weights is None else weights
    return {
        "total": float((values[:, 0] * w).sum()),
        "count": int(values.size),
        "largest": float(values.max()),
        "smallest": float(values.min()),
    }


def state_of(metric) -> dict:
    return {
        "total": float(metric.total.numpy()),
        "count": int(metric.count.numpy()),
        "largest": float(metric.largest.numpy()),
        "smallest": float(metric.smallest.numpy()),
    }


def assert_state(got: dict, expected: dict, what: str) -> None:
    assert got["count"] == expected["count"], (what, got, expected)
    for key in ("total", "largest", "smallest"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, err_msg=f"{what}: {key}")


def mirrored():
    cpus = tf.config.list_logical_devices("CPU")
    if len(cpus) < 2:
        pytest.skip("TensorFlow was initialised before conftest could split the CPU in two")
    return tf.distribute.MirroredStrategy([d.name for d in cpus[:2]])


@pytest.mark.parametrize("target", TARGETS)
def test_mirrored_strategy_evaluate_and_custom_loop(target):
    StreamSummary = summary_class(target)
    strategy, values = mirrored(), data()
    single = StreamSummary()
    single.update_state(values, values)
    expected = reference(values)
    assert_state(state_of(single), expected, "single process")
    with strategy.scope():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
        metric = StreamSummary()
        model.compile(loss="mse", metrics=[metric])
    logs = model.evaluate(values, values, batch_size=16, return_dict=True, verbose=0)
    np.testing.assert_allclose(logs["stream_summary"], expected["total"], rtol=1e-5)  # evaluate's return value
    assert_state(state_of(metric), expected, "after evaluate")

    with strategy.scope():
        looped = StreamSummary()

    @tf.function
    def step(x):
        strategy.run(lambda v: looped.update_state(v, v), args=(x,))

    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(values).batch(16))
    for batch in dataset:
        step(batch)
    assert_state(state_of(looped), expected, "custom loop")
    np.testing.assert_allclose(float(looped.result()), expected["total"], rtol=1e-5)  # result() outside run


@pytest.mark.parametrize("target", TARGETS)
def test_merge_state_in_and_out_of_a_strategy_scope(target):
    """Odd int counts: TensorFlow writes a summed variable from outside a replica by giving each replica an
    equal share, which truncated 3 + 2 to 4 before; merges and updates in the scope are exact now."""
    StreamSummary = summary_class(target)
    strategy, values = mirrored(), data(11)
    parts = [values[:3], values[3:5], values[5:]]
    expected = reference(values)
    with strategy.scope():
        shards = [StreamSummary() for _ in parts]
        for shard, part in zip(shards, parts):
            shard.update_state(part, part)  # in the scope, outside strategy.run: cross-replica writes
        assert [int(s.count.numpy()) for s in shards] == [3, 2, 6]
        shards[0].merge_state(shards[1:])
    assert_state(state_of(shards[0]), expected, "merged in the scope")
    outside = [StreamSummary() for _ in parts]
    for shard, part in zip(outside, parts):
        shard.update_state(part, part)
    outside[0].merge_state(outside[1:])
    assert_state(state_of(outside[0]), expected, "merged outside any scope")
    with strategy.scope():
        shards[0].reset_state()
    assert state_of(shards[0]) == {"total": 0.0, "count": 0, "largest": -np.inf, "smallest": np.inf}


WORKER = textwrap.dedent("""
    import json, os, sys, types
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TF_CONFIG"] = json.dumps(
        {{"cluster": {{"worker": {workers!r}}}, "task": {{"type": "worker", "index": int(sys.argv[1])}}}}
    )
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    namespace = {{}}
    exec(compile(open({module!r}).read(), "stream_summary.py", "exec"), namespace)
    values = np.load({data!r})
    index = int(sys.argv[1])
    # by hand: worker 0 takes the first 33 values, worker 1 the other 16; both take three steps of 16, so that
    # every collective has both workers in it, worker 1's last batch being empty
    share = values[:33] if index == 0 else values[33:]
    batches = [share[i * 16 : (i + 1) * 16] for i in range(3)]
    with strategy.scope():
        metric = namespace["StreamSummary"]()

    @tf.function
    def step(x):
        strategy.run(lambda v: metric.update_state(v, v), args=(x,))

    for batch in batches:
        step(tf.constant(batch.reshape(-1, 1)))
    result = {{
        "result": float(metric.result()),
        "total": float(metric.total.numpy()),
        "count": int(metric.count.numpy()),
        "largest": float(metric.largest.numpy()),
        "smallest": float(metric.smallest.numpy()),
    }}
    with open({out!r} + str(index), "w") as handle:
        json.dump(result, handle)
    """)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.parametrize("target", TARGETS)
def test_multi_worker_mirrored_strategy_custom_loop(target, tmp_path):
    """Two worker processes on 127.0.0.1: each worker's result() and state is the all-data value."""
    module = tmp_path / "stream_summary.py"
    module.write_text(generate_from_text(SPEC, "stream_summary.yaml", target), encoding="utf-8")
    values = data()
    np.save(tmp_path / "values.npy", values)
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    script = tmp_path / "worker.py"
    script.write_text(
        WORKER.format(workers=workers, module=str(module), data=str(tmp_path / "values.npy"), out=str(tmp_path / "w")),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["KERAS_BACKEND"] = "tensorflow"
    processes = [
        subprocess.Popen([sys.executable, str(script), str(i)], env=env, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    try:
        errors = [p.communicate(timeout=300)[1] for p in processes]
    finally:
        for p in processes:
            p.kill()
    assert all(p.returncode == 0 for p in processes), "\n".join(e[-3000:] for e in errors)
    expected = reference(values)
    for index in range(2):
        got = json.loads((tmp_path / f"w{index}").read_text())
        np.testing.assert_allclose(got.pop("result"), expected["total"], rtol=1e-5)
        assert_state(got, expected, f"worker {index}")


JAX_RUN = textwrap.dedent("""
    import json, os, sys, types
    import numpy as np
    import keras

    devices = keras.distribution.list_devices("cpu")
    assert len(devices) == 2, devices
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    namespace = {{}}
    exec(compile(open({module!r}).read(), "stream_summary.py", "exec"), namespace)
    StreamSummary = namespace["StreamSummary"]
    values = np.load({data!r})
    out = {{}}
    model = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
    metric = StreamSummary()
    model.compile(loss="mse", metrics=[metric])
    logs = model.evaluate(values[:48], values[:48], batch_size=16, return_dict=True, verbose=0)
    out["divisible"] = [logs["stream_summary"], int(metric.count), float(metric.largest), float(metric.smallest)]
    # 49 values do not split over 2 devices: pad to 50 by repeating a real value, with sample weight 0
    padded = np.concatenate([values, values[-1:]])
    weights = np.concatenate([np.ones(len(values)), [0.0]]).astype("float32")
    metric = StreamSummary()
    model.compile(loss="mse", weighted_metrics=[metric])
    logs = model.evaluate(padded, padded, sample_weight=weights, batch_size=10, return_dict=True, verbose=0)
    out["padded"] = [logs["stream_summary"], int(metric.count), float(metric.largest), float(metric.smallest)]
    print(json.dumps(out))
    """)


def test_jax_data_parallel_over_two_host_devices(tmp_path):
    pytest.importorskip("jax", reason="JAX is not installed: pip install -e '.[test-backends]'")
    module = tmp_path / "stream_summary.py"
    module.write_text(generate_from_text(SPEC, "stream_summary.yaml", "keras"), encoding="utf-8")
    values = data()
    np.save(tmp_path / "values.npy", values)
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    done = subprocess.run(
        [sys.executable, "-c", JAX_RUN.format(module=str(module), data=str(tmp_path / "values.npy"))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    first = reference(values[:48])
    np.testing.assert_allclose(out["divisible"][0], first["total"], rtol=1e-5)
    assert out["divisible"][1:] == [48, first["largest"], first["smallest"]]
    whole = reference(values)
    total, count, largest, smallest = out["padded"]
    np.testing.assert_allclose(total, whole["total"], rtol=1e-5)  # the padding's weight is 0
    assert (largest, smallest) == (whole["largest"], whole["smallest"])  # a repeated value moves neither
    assert count == 50  # but an unweighted count sees the padding: see the README


def run_in_replicas(strategy, metric, part):
    """update_state in strategy.run over ``part`` batched so that each replica holds a share of the state."""

    @tf.function
    def step(x):
        strategy.run(lambda v: metric.update_state(v, v), args=(x,))

    batches = tf.data.Dataset.from_tensor_slices(part).batch(len(part))
    for batch in strategy.experimental_distribute_dataset(batches):
        step(batch)


@pytest.mark.parametrize("where", ["outside any scope", "in the scope"])
@pytest.mark.parametrize("target", TARGETS)
def test_metrics_made_in_the_scope_and_updated_in_replicas_merge_exactly(target, where):
    """Made in the strategy's scope, updated in strategy.run (each replica holding its part: 2 + 1 of an int
    count of 3), merged after: int and float sums, max and min are the all-data values. Merged outside any
    scope, an int count of 3 + 2 read back 4 (TensorFlow enters the variable's scope and splits the sum
    between replicas); merged in the scope, the other replicas' parts must not count twice."""
    StreamSummary = summary_class(target)
    strategy, values = mirrored(), data(11)
    parts = [values[:3], values[3:5], values[5:]]
    with strategy.scope():
        shards = [StreamSummary() for _ in parts]
    for shard, part in zip(shards, parts):
        run_in_replicas(strategy, shard, part)
    for shard, part in zip(shards, parts):
        assert_state(state_of(shard), reference(part), "a shard")
    if where == "in the scope":
        with strategy.scope():
            shards[0].merge_state(shards[1:])
    else:
        shards[0].merge_state(shards[1:])
    assert_state(state_of(shards[0]), reference(values), f"merged {where}")
    run_in_replicas(strategy, shards[0], values[:4])  # and updates go on from the merged state
    assert_state(state_of(shards[0]), reference(np.concatenate([values, values[:4]])), "updated after the merge")


READS_STATE = """
name: running_peak_gap
class_name: RunningPeakGap
description: the sum of each batch's largest value above the total so far
inputs: [y_true, y_pred]
state:
  total: {}
update:
  total: max(y_pred) - total * 0.5
result: total
"""


@pytest.mark.parametrize("target", TARGETS)
def test_an_update_that_reads_its_state_is_refused_in_replicas(target):
    """Each replica would read its own part of the state only: refused, naming the metric and the state; the
    same metric outside a strategy is right."""
    source = generate_from_text(READS_STATE, "running_peak_gap.yaml", target)
    module = types.ModuleType(f"running_peak_gap_{target}")
    exec(compile(source, "running_peak_gap.py", "exec"), module.__dict__)
    strategy, values = mirrored(), data(8)
    with strategy.scope():
        metric = module.RunningPeakGap()
    with pytest.raises(NotImplementedError, match="RunningPeakGap: its update reads state variable 'total'"):
        run_in_replicas(strategy, metric, values)
    single, total = module.RunningPeakGap(), 0.0
    for part in (values[:3], values[3:]):
        single.update_state(part, part)
        total += part.max() - total * 0.5
    np.testing.assert_allclose(float(single.result()), total, rtol=1e-6)
