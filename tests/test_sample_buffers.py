"""Sample buffers (a state with `rows:`): a metric over every sample it was given, up to a bound, on every
target. An exact AUROC (ties count half, with weights) written as a spec is checked against scikit-learn's
roc_auc_score: over several batches, compiled, merged from uneven shards and an empty one, under
tf.distribute's MirroredStrategy, over two torch.distributed (gloo) processes and across JAX devices with
shard_map; past its bound it is an error (or NaN where a compiled step cannot raise), never a number from
some of the samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from conftest import EVERY_TARGET, ROOT, tf
from drivers import driver
from support import largest_tensor_made
from metricgen.compiler import generate_from_text

EXACT_AUROC = """
name: exact_auroc
class_name: ExactAUROC
description: >-
  The exact area under the ROC curve of every sample kept (tied scores count half), as scikit-learn's
  roc_auc_score, sample weights included.
params:
  max_samples: {type: int, default: 1000, min: 1, doc: "how many samples it keeps"}
inputs: [y_true, y_pred]
state:
  samples: {rows: max_samples, shape: [3], doc: "each sample's score, label and weight"}
update:
  samples: concat(concat(reshape(y_pred, [-1, 1]), reshape(cast(y_true, float), [-1, 1])), reshape(sample_weights(y_pred), [-1, 1]))
result:
  let:
    kept: filled(samples)
    score: where(kept, samples[:, 0], -inf)
    weight: where(kept, samples[:, 2], 0.0)
    order: argsort(score, descending=True)
    s: gather(score, order)
    positive: gather(weight * samples[:, 1], order)
    negative: gather(weight * (1.0 - samples[:, 1]), order)
    # the sorted scores' groups of equal values, and each group's positive and negative weight
    starts: concat(ones_like(s[:1]) > 0, s[1:] != s[:-1])
    group: cumsum(cast(starts, int32)) - 1
    positives: segment_sum(positive, group, max_samples)
    negatives: segment_sum(negative, group, max_samples)
  # each negative outranked by the positives above its group, and by half of those tied with it
  value: sum(negatives * (cumsum(positives, exclusive=True) + 0.5 * positives)) / (sum(positive) * sum(negative))
"""


# The same metric, its buffer read as the rows it holds where a target can (`unfilled: ignored`): the unfilled
# rows are masked with filled(), and the segments are as many as the rows read
EXACT_AUROC_HELD = EXACT_AUROC.replace(
    "samples: {rows: max_samples,", "samples: {rows: max_samples, unfilled: ignored,"
)
EXACT_AUROC_HELD = EXACT_AUROC_HELD.replace("group, max_samples)", "group, shape(samples, 0))")
UNFILLED = ["zeros", "ignored"]


def exact_auroc(target: str, unfilled: str = "zeros"):
    module = types.ModuleType(f"exact_auroc_{target}")
    text = EXACT_AUROC if unfilled == "zeros" else EXACT_AUROC_HELD
    exec(compile(generate_from_text(text, "exact_auroc.yaml", target), "exact_auroc.py", "exec"), module.__dict__)
    return module.ExactAUROC


def batches(sizes=(7, 1, 5, 12), seed=0):
    """Batches with tied scores (rounded to tenths) and weights."""
    rng = np.random.default_rng(seed)
    parts = []
    for n in sizes:
        y_true = (rng.uniform(size=n) > 0.5).astype(np.float32)
        y_pred = np.round(rng.uniform(size=n), 1).astype(np.float32)
        parts.append(({"y_true": y_true, "y_pred": y_pred}, rng.uniform(0.5, 2.0, n).astype(np.float32)))
    return parts


def everything(parts):
    return {k: np.concatenate([p[k] for p, _ in parts]) for k in ("y_true", "y_pred")}, np.concatenate(
        [w for _, w in parts]
    )


@pytest.mark.parametrize("unfilled", UNFILLED)
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_exact_auroc_is_scikit_learns(target, weighted, compiled, unfilled):
    drive, parts = driver(target), batches()
    metric = drive.make(exact_auroc(target, unfilled), max_samples=40)
    for batch, w in parts:
        drive.update(metric, batch, sample_weight=w if weighted else None, compiled=compiled)
    whole, weights = everything(parts)
    expected = roc_auc_score(whole["y_true"], whole["y_pred"], sample_weight=weights if weighted else None)
    np.testing.assert_allclose(drive.result(metric), expected, rtol=1e-6)
    drive.reset(metric)  # an empty buffer again: one batch is that batch's value
    drive.update(metric, parts[3][0])
    np.testing.assert_allclose(
        drive.result(metric), roc_auc_score(parts[3][0]["y_true"], parts[3][0]["y_pred"]), rtol=1e-6
    )


@pytest.mark.parametrize("unfilled", UNFILLED)
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_merge_appends_the_other_shards_rows(target, unfilled):
    drive, parts = driver(target), batches()
    cls = exact_auroc(target, unfilled)
    shards = [drive.make(cls, max_samples=40) for _ in range(3)]  # the third never sees a batch
    for i, (batch, _) in enumerate(parts):
        drive.update(shards[i % 2], batch)
    drive.merge(shards[0], shards[1:])
    whole, _ = everything(parts)
    np.testing.assert_allclose(drive.result(shards[0]), roc_auc_score(whole["y_true"], whole["y_pred"]), rtol=1e-6)
    empty = drive.make(cls, max_samples=40)
    drive.merge(empty, [shards[0]])
    np.testing.assert_allclose(drive.result(empty), roc_auc_score(whole["y_true"], whole["y_pred"]), rtol=1e-6)
    full = drive.make(cls, max_samples=40)  # 19 rows, then 25 merged in: past the 40 it keeps
    drive.update(full, parts[3][0])
    drive.update(full, parts[0][0])
    with pytest.raises(Exception, match="keeps 40 rows"):
        drive.merge(full, [shards[0]])
        drive.result(full)


@pytest.mark.parametrize("unfilled", UNFILLED)
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_more_rows_than_it_keeps_is_an_error(target, unfilled):
    drive, parts = driver(target), batches()
    metric = drive.make(exact_auroc(target, unfilled), max_samples=10)
    with pytest.raises(Exception, match="keeps 10 rows"):
        for batch, _ in parts:
            drive.update(metric, batch)
        drive.result(metric)


@pytest.mark.parametrize("unfilled", UNFILLED)
def test_the_torchmetrics_target_reads_the_rows_held_where_the_unfilled_ones_are_ignored(unfilled):
    """With `unfilled: ignored` reset, update and compute make the same tensors at a capacity of 100 and of
    1,000,000 (none larger than twice the 25 rows' 75 numbers: the buffer grows twofold as rows come), so a
    default max_samples of 100,000 costs nothing until the rows come. Read whole (`zeros`), the buffer is as large as its capacity, and so is the work.
    """
    torch = pytest.importorskip("torch")
    parts = batches()
    whole, _ = everything(parts)
    largest = {}
    for capacity in (100, 1_000_000):
        metric = exact_auroc("torchmetrics", unfilled)(max_samples=capacity)

        def run():
            metric.reset()
            for batch, _ in parts:
                metric.update(torch.as_tensor(batch["y_pred"]), torch.as_tensor(batch["y_true"]))
            value = metric.compute().item()
            np.testing.assert_allclose(value, roc_auc_score(whole["y_true"], whole["y_pred"]), rtol=1e-6)

        largest[capacity] = largest_tensor_made(run)
    if unfilled == "ignored":
        assert largest[100] == largest[1_000_000] <= 2 * 3 * len(whole["y_true"]), largest
    else:
        assert largest[1_000_000] >= 1_000_000, largest


def test_the_torchmetrics_target_writes_a_batch_into_its_buffer_in_place():
    """An update writes the batch's rows into the buffer it has: no copy of the whole capacity a batch (a
    100,000-row buffer fed batches of 32 copied 1.2 MB per batch). forward, sync and reset work on copies
    torchmetrics makes of its states; the other tests here check the numbers after each."""
    torch = pytest.importorskip("torch")
    metric = exact_auroc("torchmetrics")(max_samples=100_000)
    buffer = metric.samples.data_ptr()
    for batch, w in batches():
        metric.update(torch.as_tensor(batch["y_pred"]), torch.as_tensor(batch["y_true"]), torch.as_tensor(w))
    assert metric.samples.data_ptr() == buffer
    whole, weights = everything(batches())
    expected = roc_auc_score(whole["y_true"], whole["y_pred"], sample_weight=weights)
    np.testing.assert_allclose(metric.compute().item(), expected, rtol=1e-6)
    batch, _ = batches()[0]
    forward = metric(torch.as_tensor(batch["y_pred"]), torch.as_tensor(batch["y_true"]))  # one batch's value
    np.testing.assert_allclose(forward.item(), roc_auc_score(batch["y_true"], batch["y_pred"]), rtol=1e-6)


@pytest.mark.parametrize("target", [t for t in EVERY_TARGET if t != "torchmetrics"])
def test_past_its_bound_a_compiled_step_gives_nan_not_a_number_from_some_rows(target):
    """Under XLA and jax.jit an assertion cannot stop the step: the result is NaN. (torchmetrics' sizes are
    always known: it refuses the batch, tested above.)"""
    drive, parts = driver(target), batches()
    metric = drive.make(exact_auroc(target), max_samples=10)
    for batch, _ in parts:
        drive.update(metric, batch, compiled=True)
    if target == "jax":  # compute() jitted too: outside jit it raises, as the test above shows
        import jax

        assert np.isnan(np.asarray(jax.jit(metric.metric.compute)(metric.state)))
    else:
        compute = tf.function(metric.result, jit_compile=True)
        assert np.isnan(np.asarray(compute()))


MIRRORED = """
import json, sys, types
import numpy as np
import tensorflow as tf

cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")[:2]])
module = types.ModuleType("exact_auroc")
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), module.__dict__)
data = np.load(sys.argv[2])
with strategy.scope():
    metric = module.ExactAUROC(max_samples=40)

@tf.function
def step(y_true, y_pred):
    strategy.run(lambda t, p: metric.update_state(t, p), args=(y_true, y_pred))

batches = tf.data.Dataset.from_tensor_slices((data["y_true"], data["y_pred"])).batch(8)
for y_true, y_pred in strategy.experimental_distribute_dataset(batches):
    step(y_true, y_pred)
print(json.dumps(float(metric.result())))
"""


@pytest.mark.parametrize("target", ["tf", "keras"])
def test_mirrored_strategy_holds_every_replicas_rows(target, tmp_path):
    """Two replicas on two logical CPUs, batches of 8 and a last of 7 (4 and 3 rows a replica): every replica
    gathers every replica's rows. In a process of its own: TensorFlow's collectives keep instance keys per
    process, and another test's strategy could have taken them with other shapes."""
    source = tmp_path / "exact_auroc.py"
    source.write_text(generate_from_text(EXACT_AUROC, "exact_auroc.yaml", target), encoding="utf-8")
    whole, _ = everything(batches((9, 8, 6)))
    np.savez(tmp_path / "data.npz", **whole)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    done = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(source), str(tmp_path / "data.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(got, roc_auc_score(whole["y_true"], whole["y_pred"]), rtol=1e-6)


WORKER = """
import json, os, sys, types
import numpy as np
import torch
import torch.distributed as dist

def main(rank, world, port, out, source, data):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    module = types.ModuleType("exact_auroc")
    exec(compile(open(source).read(), source, "exec"), module.__dict__)
    metric = module.ExactAUROC(max_samples=40)
    arrays = np.load(data)
    for key in sorted(k for k in arrays.files if k.startswith(f"{rank}_")):
        y_pred, y_true = arrays[key]
        metric.update(torch.as_tensor(y_pred), torch.as_tensor(y_true))
    with open(out + str(rank), "w") as handle:
        json.dump(float(metric.compute()), handle)
    dist.destroy_process_group()

if __name__ == "__main__":
    torch.multiprocessing.spawn(main, args=(2, int(sys.argv[1]), *sys.argv[2:]), nprocs=2)
"""


@pytest.mark.parametrize("unfilled", UNFILLED)
def test_torch_distributed_gathers_every_processs_rows(tmp_path, unfilled):
    """Two gloo processes, one with three batches and one with none: compute() on each is the AUROC of all. With
    `unfilled: ignored` the buffers differ in length (one grew, one holds no rows), which torchmetrics' stacking
    of the processes' states refuses unless each is first brought to its capacity."""
    from test_torchmetrics_target import free_port

    source = tmp_path / "exact_auroc.py"
    text = EXACT_AUROC if unfilled == "zeros" else EXACT_AUROC_HELD
    source.write_text(generate_from_text(text, "exact_auroc.yaml", "torchmetrics"), encoding="utf-8")
    parts = batches((7, 9, 5))
    np.savez(
        tmp_path / "data.npz", **{f"0_{i}": np.stack([p["y_pred"], p["y_true"]]) for i, (p, _) in enumerate(parts)}
    )
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTER_", "WORLD_", "RANK", "LOCAL_RANK"))}
    done = subprocess.run(
        [sys.executable, str(script), str(free_port()), str(tmp_path / "out"), str(source), str(tmp_path / "data.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    whole, _ = everything(parts)
    for rank in (0, 1):
        np.testing.assert_allclose(
            json.loads((tmp_path / f"out{rank}").read_text()),
            roc_auc_score(whole["y_true"], whole["y_pred"]),
            rtol=1e-6,
        )


SHARDED = """
import json, sys, types
import jax, numpy as np
from jax.sharding import Mesh, PartitionSpec as P
module = types.ModuleType("exact_auroc")
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), module.__dict__)
metric = module.ExactAUROC(max_samples=64)
data = np.load(sys.argv[2])
mesh = Mesh(np.array(jax.devices()[:4]), ("devices",))

def evaluate(y_true, y_pred):
    state = metric.update(metric.init(), y_true, y_pred)
    return metric.compute(metric.reduce(state, "devices"))[None]

out = jax.jit(jax.shard_map(evaluate, mesh=mesh, in_specs=P("devices"), out_specs=P("devices")))(data["y_true"], data["y_pred"])
print(json.dumps(np.asarray(out, dtype=float).tolist()))
"""


def test_jax_reduce_gathers_every_devices_rows(tmp_path):
    pytest.importorskip("jax", reason="the jax target needs JAX")
    source = tmp_path / "exact_auroc.py"
    source.write_text(generate_from_text(EXACT_AUROC, "exact_auroc.yaml", "jax"), encoding="utf-8")
    whole, _ = everything(batches((12, 8, 4)))
    np.savez(tmp_path / "data.npz", **whole)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    done = subprocess.run(
        [sys.executable, "-c", SHARDED, str(source), str(tmp_path / "data.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = roc_auc_score(whole["y_true"], whole["y_pred"])
    np.testing.assert_allclose(json.loads(done.stdout.strip().splitlines()[-1]), [expected] * 4, rtol=1e-6)


BASE = """name: b
class_name: B
description: a buffer
state:
{state}
update:
{update}
result: {result}
"""


@pytest.mark.parametrize(
    "state, update, result, expected",
    [
        (
            "  s: {rows: 10, fold: add}",
            "  s: y_pred",
            "sum(s)",
            "has rows:, so it is a sample buffer, folded with 'append', not 'add'",
        ),
        ("  s: {fold: append}", "  s: y_pred", "sum(s)", "is appended to, so it needs rows:"),
        ("  s: {}", "  s: sum(y_pred)", "sum(cast(filled(s), float))", "filled() takes one argument, a sample buffer"),
        (
            "  s: {rows: 10}\n  s_rows: {}",
            "  s: y_pred\n  s_rows: sum(y_pred)",
            "sum(s) + s_rows",
            "takes the name of sample buffer 's''s row count",
        ),
        ("  s: {rows: 'shape(y_pred, 0)'}", "  s: y_pred", "sum(s)", "a sample buffer's rows cannot depend on a batch"),
        ("  s: {rows: 100000000, shape: [3]}", "  s: y_pred", "sum(s)", "would hold 300,000,000 elements"),
        ("  s: {rows: 10, init: 1}", "  s: y_pred", "sum(s)", "a sample buffer holds numbers, its unfilled rows 0"),
    ],
    ids=[
        "rows_with_add",
        "append_without_rows",
        "filled_of_a_sum",
        "rows_name_taken",
        "rows_from_a_batch",
        "too_big",
        "init",
    ],
)
def test_a_bad_buffer_is_a_located_error(state, update, result, expected):
    from metricgen.errors import SpecErrors

    with pytest.raises(SpecErrors) as caught:
        generate_from_text(BASE.format(state=state, update=update, result=result), "specs/b.yaml", "tf")
    messages = [e.format() for e in caught.value.errors]
    assert any(m.startswith("specs/b.yaml:") and expected in m for m in messages), messages


IGNORED = """name: b
class_name: B
description: a buffer whose unfilled rows the result ignores
params:
  n: {type: int, default: 10}
  m: {type: int, default: 4}
  fn: {type: callable, doc: "a function of the user's"}
state:
  s: {rows: n, unfilled: ignored}
%s
update:
  s: y_pred
%s
result: %s
"""


@pytest.mark.parametrize(
    "state, update, result, where, expected",
    [
        ("", "", "sum(arange(n))", "result: ", "the result names 'n', which sizes sample buffer 's'"),
        ("", "", "sum(s * cast(arange(shape(s, 0)), float))", None, None),  # the length as read: fine
        ("", "", "sum(where(filled(s), s, 0.0))", None, None),  # filled() reads the buffer's own rows
        ("  c: {shape: [n]}", "  c: y_pred[:1]", "sum(s) + sum(c)", "  c: {shape: [n]}", "'c''s shape names 'n'"),
        (
            "  t: {rows: n}",
            "  t: y_pred",
            "sum(s) + sum(t)",
            "  t: {rows: n}",
            "'s' and 't' are both sized by 'n', so their unfilled rows are read alike",
        ),
        ("  t: {rows: n, unfilled: ignored}", "  t: y_pred", "sum(s) + sum(t)", None, None),
        ("  c: {}", "  c: sum(s)", "c", "  s: {rows", "only the result may read it, not the update"),
        ("  c: {unfilled: ignored}", "  c: sum(y_pred)", "sum(s) + c", "  c: {unfilled", "no rows:"),
        ("  c: {fold: assign}", "  c: cast(shape(s, 0), float)", "c", "  s: {rows", "only the result may read it"),
        ("", "", "sum(fn(s))", "result: ", "callable param 'fn' is given 's'"),
        ("", "", "\n  let:\n    t: s * 2.0\n  value: sum(fn(t))", "  value: ", "callable param 'fn' is given 't'"),
    ],
    ids=[
        "result_names_rows_param",
        "shape_of_the_buffer",
        "filled",
        "state_shape_names_rows_param",
        "one_param_two_readings",
        "one_param_one_reading",
        "read_by_update",
        "not_a_buffer",
        "its_length_read_by_update",
        "given_to_a_callable",
        "made_into_a_value_given_to_a_callable",
    ],
)
def test_unfilled_ignored_is_checked_where_it_can_be(state, update, result, where, expected):
    """What the analysis checks of `unfilled: ignored` (analysis/buffers.py): the buffer's length reaches the
    result only from the buffer itself. Each refusal is located at its line; the specs that keep to it build."""
    from metricgen.errors import SpecErrors

    text = IGNORED % (state, update, result)
    if expected is None:
        for target in EVERY_TARGET:
            generate_from_text(text, "specs/b.yaml", target)
        return
    with pytest.raises(SpecErrors) as caught:
        generate_from_text(text, "specs/b.yaml", "tf")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(where))
    messages = [e.format() for e in caught.value.errors]
    assert any(m.startswith(f"specs/b.yaml:{line}:") and expected in m for m in messages), messages


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_the_length_read_is_the_rows_read(target):
    """`shape(s, 0)` is as long as the buffer the result reads: its capacity, or on the torchmetrics target the
    rows it holds (5, where its storage grew to 6): Σ i·s_i over the rows, the unfilled ones adding 0."""
    drive = driver(target)
    module = types.ModuleType(f"positions_{target}")
    text = IGNORED % ("", "", "sum(s * cast(arange(shape(s, 0)), float))")
    exec(compile(generate_from_text(text, "specs/b.yaml", target), "b.py", "exec"), module.__dict__)
    metric = drive.make(module.B, n=10, fn=np.sum)
    values = np.array([0.5, 2.0, 3.0, 1.5, 4.0], dtype=np.float32)
    for part in (values[:3], values[3:]):
        drive.update(metric, {"y_true": np.zeros_like(part), "y_pred": part})
    np.testing.assert_allclose(drive.result(metric), float(np.sum(values * np.arange(5))), rtol=1e-6)


def held_metric(spec: str, target: str, name: str):
    module = types.ModuleType(f"held_{target}")
    exec(compile(generate_from_text(spec, "specs/b.yaml", target), "b.py", "exec"), module.__dict__)
    return getattr(module, name)


TWO_BUFFERS = """name: b
class_name: B
description: two buffers of one param, given different numbers of rows
params: {n: {type: int, default: 10}}
state:
  s: {rows: n, unfilled: ignored}
  t: {rows: n, unfilled: ignored}
update:
  s: y_pred
  t: reshape(sum(y_pred), [1])
result: sum(where(filled(t), s, 0.0)) + 10.0 * sum(s * cast(arange(shape(t, 0)), float)) + 1000.0 * sum(t)
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_buffers_of_one_param_are_read_as_one_length(target):
    """Buffers sized by one param are read alike: where one holds fewer rows, it reads as long as the other,
    padded with rows of 0, as a buffer read whole is (a red-team find: torch broadcast a short one)."""
    drive = driver(target)
    metric = drive.make(held_metric(TWO_BUFFERS, target, "B"))
    for part in ([1.0, 2.0, 3.0, 4.0, 5.0], [0.5, 0.25]):
        y = np.array(part, np.float32)
        drive.update(metric, {"y_true": np.zeros_like(y), "y_pred": y})
    s = np.zeros(10)
    s[:7] = [1, 2, 3, 4, 5, 0.5, 0.25]
    t = np.zeros(10)
    t[:2] = [15, 0.75]
    expected = np.sum(np.where(np.arange(10) < 2, s, 0)) + 10 * np.sum(s * np.arange(10)) + 1000 * np.sum(t)
    np.testing.assert_allclose(drive.result(metric), expected, rtol=1e-6)


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_buffer_that_holds_nothing_reads_as_on_every_target(target):
    """No rows held: the exact AUROC (whose cumulative sums and sorts of no rows failed on torch) gives what a
    buffer of zero rows gives on the fixed-shape targets, 0; and a buffer named like a Python built-in (`max`,
    a function the read calls) reads as any other."""
    drive = driver(target)
    metric = drive.make(exact_auroc(target, "ignored"), max_samples=40)
    np.testing.assert_allclose(drive.result(metric), 0.0)
    named = IGNORED.replace("  s: {rows: n, unfilled: ignored}", "  max: {rows: n, unfilled: ignored}")
    named = named.replace("  s: y_pred", "  max: y_pred") % ("", "", "sum(max) + cast(shape(max, 0), float) * 0.0")
    metric = drive.make(held_metric(named, target, "B"), fn=np.sum)
    drive.update(metric, {"y_true": np.zeros(3, np.float32), "y_pred": np.array([1.0, 2.0, 3.0], np.float32)})
    np.testing.assert_allclose(drive.result(metric), 6.0)


def test_a_growing_buffer_keeps_a_copy_of_the_callers_rows():
    """`samples: y_pred` hands the update's own tensor to the buffer: its first rows are copied, so a caller that
    changes the tensor afterwards (an in-place op, a reused batch) does not change the metric."""
    torch = pytest.importorskip("torch")
    metric = held_metric(IGNORED % ("", "", "sum(s)"), "torchmetrics", "B")(fn=torch.sum)
    y_pred = torch.tensor([1.0, 2.0, 3.0])
    metric.update(y_pred, torch.zeros(3))
    y_pred.mul_(100.0)
    assert metric.compute().item() == 6.0


def test_a_compute_group_of_a_larger_bound_is_refused_not_read_past_the_bound():
    """torchmetrics' MetricCollection shares the states of metrics whose states are equal: a buffer that grows
    no longer shows its capacity, so BinaryAUROC(max_samples=10) joins the group of BinaryAveragePrecision(1000)
    and is handed 30 rows. compute() refuses them as its update would have, rather than read past its bound."""
    torch = pytest.importorskip("torch")
    torchmetrics = pytest.importorskip("torchmetrics")
    from support import load_module

    folder = ROOT / "catalogue" / "torchmetrics" / "generated" / "torchmetrics"
    auroc = load_module(folder / "binary_auroc.py").BinaryAUROC(max_samples=10)
    precision = load_module(folder / "binary_average_precision.py").BinaryAveragePrecision(max_samples=1000)
    both = torchmetrics.MetricCollection({"a": precision, "z": auroc})
    for _ in range(6):
        both.update(torch.rand(5), (torch.rand(5) > 0.5).long())
    with pytest.raises(ValueError, match="keeps 10 rows"):
        both.compute()


def test_the_torchmetrics_target_takes_a_batch_after_a_reset_under_inference_mode():
    """Lightning validates under torch.inference_mode: a reset there makes inference tensors, which a later
    update outside it cannot write in place. The buffer is copied once then, and the numbers are right."""
    torch = pytest.importorskip("torch")
    metric = exact_auroc("torchmetrics")(max_samples=40)
    with torch.inference_mode():
        metric.reset()
    parts = batches()
    for batch, _ in parts:
        metric.update(torch.as_tensor(batch["y_pred"]), torch.as_tensor(batch["y_true"]))
    whole, _ = everything(parts)
    np.testing.assert_allclose(metric.compute().item(), roc_auc_score(whole["y_true"], whole["y_pred"]), rtol=1e-6)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("target", EVERY_TARGET)
def test_rows_not_filled_are_zero(target, compiled):
    """What the language promises (docs/language.md, "Sample buffers"), and what the torchmetrics catalogue's
    exact curves and retrieval metrics rely on to read their buffers unmasked: the rows past the count are 0,
    after updates, a merge (uneven shards, one empty) and a reset."""
    drive, parts = driver(target), batches()
    cls = exact_auroc(target)

    def check(metric, expected_rows):
        held = int(drive.state(metric, "samples_rows"))
        assert held == expected_rows
        np.testing.assert_array_equal(drive.state(metric, "samples")[held:], 0.0)

    first, second, empty = (drive.make(cls, max_samples=40) for _ in range(3))
    drive.update(first, parts[0][0], sample_weight=parts[0][1], compiled=compiled)
    drive.update(first, parts[2][0], compiled=compiled)
    check(first, 12)
    drive.update(second, parts[1][0], compiled=compiled)
    drive.merge(first, [second, empty])
    check(first, 13)
    drive.reset(first)
    check(first, 0)
    drive.update(first, parts[1][0], compiled=compiled)
    check(first, 1)
