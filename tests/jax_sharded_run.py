"""Runs every shipped spec's jax-target class across 4 CPU devices; prints one JSON line.

Used by test_jax_target.py in a subprocess started with XLA_FLAGS=--xla_force_host_platform_device_count=4
(JAX fixes its devices at start-up). Each device updates a state on its own shard of the batch, then
``reduce(state, axis_name)`` combines them inside ``jax.shard_map`` (and ``jax.pmap``); every device's
compute() must be the reference on the whole batch.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, PartitionSpec  # noqa: E402

from metric_cases import CASES, args, emphasise_positives_jax  # noqa: E402
from support import GENERATED, load_module  # noqa: E402

DEVICES = 4


def run(case, way: str) -> dict:
    try:
        rng = np.random.default_rng(7)
        whole = case.make(rng, 4 * DEVICES)
        weights = rng.uniform(0, 2, size=4 * DEVICES).astype(np.float32)
        kwargs = dict(case.kwargs)
        if case.stem == "weighted_metric":
            kwargs["weight_function"] = emphasise_positives_jax
        module = load_module(GENERATED / "jax" / f"{case.stem}.py", f"jax_{case.stem}")
        metric = getattr(module, case.class_name)(**kwargs)
        inputs = args(case, whole)

        def step(*batch_and_weights):
            *batch, w = batch_and_weights
            state = metric.update(metric.init(), *batch, sample_weight=w)
            return metric.compute(metric.reduce(state, "devices"))[None]

        if way == "shard_map":
            mesh = Mesh(np.array(jax.devices()[:DEVICES]), ("devices",))
            sharded = jax.jit(
                jax.shard_map(step, mesh=mesh, in_specs=PartitionSpec("devices"), out_specs=PartitionSpec("devices"))
            )
            got = sharded(*inputs, weights)
        else:
            split = [x.reshape((DEVICES, -1) + x.shape[1:]) for x in (*inputs, weights)]
            got = jax.pmap(step, axis_name="devices")(*split)
        expected = float(case.reference(whole, weights, case.kwargs))
        return {"devices": np.asarray(got, dtype=np.float64).reshape(-1).tolist(), "expected": expected}
    except Exception:  # reported per case, so that one failure does not hide the others
        return {"error": traceback.format_exc()[-3000:]}


def main() -> None:
    assert len(jax.devices()) >= DEVICES, jax.devices()
    report = {f"{case.id}-{way}": run(case, way) for case in CASES for way in ("shard_map", "pmap")}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
