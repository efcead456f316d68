"""The jax target: every shipped spec as a functional metric (init/update/merge/reduce/compute over a pytree
state), against the same independent references as the other targets (numpy, scikit-learn), eagerly, under
jax.jit, batched with vmap, merged from shards, and combined across devices with shard_map and pmap (in a
subprocess with several CPU devices)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="the jax target needs JAX: pip install -e '.[test-backends]'")
import jax.numpy as jnp  # noqa: E402

from metric_cases import CASES, Case, args, batches, emphasise_positives_jax  # noqa: E402
from support import GENERATED, ROOT, load_module  # noqa: E402

from metricgen.compiler import generate_from_text  # noqa: E402


def new(case: Case, **overrides):
    module = load_module(GENERATED / "jax" / f"{case.stem}.py", f"jax_{case.stem}")
    kwargs = {**case.kwargs, **overrides}
    if case.stem == "weighted_metric":
        kwargs["weight_function"] = emphasise_positives_jax
    return getattr(module, case.class_name)(**kwargs)


def reference(case: Case, whole: dict, weights) -> float:
    return float(case.reference(whole, weights, case.kwargs))


def close(case: Case, actual, expected, what: str = "") -> None:
    np.testing.assert_allclose(float(actual), expected, rtol=case.rtol, atol=case.atol, err_msg=what)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matches_the_reference_over_several_batches(case, weighted, compiled):
    parts, weights, whole, all_weights = batches(case, np.random.default_rng(5), (7, 1, 5), weighted)
    metric = new(case)
    update = jax.jit(metric.update) if compiled else metric.update
    compute = jax.jit(metric.compute) if compiled else metric.compute
    state = metric.init()
    before = state
    for batch, w in zip(parts, weights):
        state = update(state, *args(case, batch), sample_weight=w)
    close(case, compute(state), reference(case, whole, all_weights))
    # the state passed in is never changed (a new one comes back): the first is still a fresh one
    for leaf, fresh in zip(jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(metric.init())):
        np.testing.assert_array_equal(leaf, fresh)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_merge_of_uneven_shards_and_an_empty_one(case):
    parts, weights, whole, all_weights = batches(case, np.random.default_rng(5), (7, 1, 5), True)
    metric = new(case)
    shards = []
    for batch, w in zip(parts, weights):
        shards.append(metric.update(metric.init(), *args(case, batch), sample_weight=w))
    shards.append(metric.init())  # a shard that saw no batch
    merged = shards[0]
    for other in shards[1:]:
        merged = metric.merge(merged, other)
    close(case, metric.compute(merged), reference(case, whole, all_weights))
    close(case, metric.compute(metric.merge(metric.init(), merged)), reference(case, whole, all_weights))


@pytest.mark.parametrize("case", [c for c in CASES if c.stem != "weighted_metric"], ids=lambda c: c.id)
def test_vmap_runs_independent_streams(case):
    """vmap over a leading axis of states and batches: each stream's result is its own data's reference."""
    rng = np.random.default_rng(2)
    streams = [case.make(rng, 6) for _ in range(3)]
    stacked = {k: np.stack([s[k] for s in streams]) for k in streams[0]}
    metric = new(case)
    states = jax.tree_util.tree_map(lambda x: jnp.stack([x] * 3), metric.init())
    states = jax.vmap(metric.update)(states, *args(case, stacked))
    results = jax.vmap(metric.compute)(states)
    for i, stream in enumerate(streams):
        close(case, results[i], reference(case, stream, None), f"stream {i}")


def test_the_generated_module_imports_jax_only():
    """No Keras, TensorFlow, torch or metricgen: a module users commit into a Flax project."""
    code = (
        "import sys, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('dice', {str(GENERATED / 'jax' / 'dice.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "m = module.DiceCoefficient(); s = m.update(m.init(), [[1.0, 0.0]], [[0.8, 0.1]])\n"
        "print(float(m.compute(s)))\n"
        "print(sorted(n for n in ('keras', 'tensorflow', 'torch', 'metricgen') if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    np.testing.assert_allclose(float(out[0]), 2 * 0.8 / (1.0 + 0.9 + 1e-7), rtol=1e-6)
    assert out[1] == "[]"


SHARDED = os.path.join(os.path.dirname(__file__), "jax_sharded_run.py")


@pytest.fixture(scope="module")
def sharded_report():
    """tests/jax_sharded_run.py on 4 CPU devices: every case through shard_map and pmap, with reduce()."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, SHARDED], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("way", ["shard_map", "pmap"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reduce_across_devices_gives_the_whole_data_value(sharded_report, case, way):
    got = sharded_report[f"{case.id}-{way}"]
    assert "error" not in got, got.get("error")
    expected = got["expected"]
    np.testing.assert_allclose(got["devices"], [expected] * 4, rtol=case.rtol, atol=case.atol)


X64 = """
name: counted
class_name: Counted
description: counts elements in int64
state:
  n: {dtype: int64}
update:
  n: cast(size(y_pred), int64)
result: cast(n, float)
"""


def test_int64_and_float64_are_refused_without_x64():
    namespace: dict = {}
    exec(compile(generate_from_text(X64, "counted.yaml", "jax"), "counted.py", "exec"), namespace)
    with pytest.raises(ValueError, match=r"state variable 'n' \(int64\) is 64-bit, which JAX holds as 32 bits"):
        namespace["Counted"]()
    with pytest.raises(ValueError, match="float64 needs 64-bit types"):
        new(CASES[0], dtype="float64")


FIRST_BATCH = """
name: per_class
class_name: PerClassTotal
description: per-class sums, shaped by the first batch's last axis
inputs: [y_true, y_pred]
state:
  totals: {shape: ["shape(y_pred, -1)"]}
update:
  totals: sum(y_pred * y_true, axis=0)
result: totals
"""


def test_a_state_shaped_by_the_first_batch_under_jit_and_merge():
    namespace: dict = {}
    exec(compile(generate_from_text(FIRST_BATCH, "per_class.yaml", "jax"), "per_class.py", "exec"), namespace)
    metric = namespace["PerClassTotal"]()
    rng = np.random.default_rng(0)
    t, p = rng.uniform(size=(2, 5, 3)).astype(np.float32)
    empty = metric.init()
    assert empty.totals is None
    with pytest.raises(ValueError, match="has seen no batch"):
        metric.compute(empty)
    state = jax.jit(metric.update)(empty, t, p)
    state = jax.jit(metric.update)(state, t[:2], p[:2])
    np.testing.assert_allclose(metric.compute(state), (p * t).sum(0) + (p[:2] * t[:2]).sum(0), rtol=1e-6)
    np.testing.assert_allclose(metric.compute(metric.merge(empty, state)), metric.compute(state))
    np.testing.assert_allclose(metric.compute(metric.merge(state, empty)), metric.compute(state))
    with pytest.raises(ValueError, match="size 3 along axis -1|shaped by a first batch of size 3"):
        metric.update(state, t[:, :2], p[:, :2])
    other = metric.update(metric.init(), t[:, :2], p[:, :2])
    with pytest.raises(ValueError, match="the merged state"):
        metric.merge(state, other)


def test_the_flax_optax_example_in_the_docs_runs():
    """docs/targets.md's training loop (Flax NNX + optax, the metric updated inside the jitted step) runs, and
    checks its own accuracy against numpy."""
    pytest.importorskip("flax", reason="pip install -e '.[test-backends]' installs flax")
    pytest.importorskip("optax", reason="pip install -e '.[test-backends]' installs optax")
    text = (ROOT / "docs" / "targets.md").read_text(encoding="utf-8")
    start = text.index("<!-- flax-example -->")
    code = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accuracy agrees with numpy" in done.stdout
