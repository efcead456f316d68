"""The keras target (`metricgen build --target keras`): every shipped metric, generated for keras.ops,
gives the reference value under the TensorFlow, JAX and PyTorch backends, on every device each backend
sees; Keras' stateless API works inside jax.jit. Each backend runs in its own subprocess."""

from __future__ import annotations

import ast

import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metric_cases import CASES
from support import GENERATED, SPECS

from metricgen.compiler import compile_file

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
HERE = Path(__file__).resolve().parent


def backend_installed(backend: str) -> bool:
    return importlib.util.find_spec(BACKENDS[backend]) is not None


@functools.lru_cache(maxsize=None)
def run_backend(backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, str(HERE / "backend_run.py")], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-5000:]
    return json.loads(out.stdout)


def backend_param(backend: str):
    marks = (
        []
        if backend_installed(backend)
        else [pytest.mark.skip(reason=f"{backend} is not installed (pip install -e '.[test,backends]')")]
    )
    return pytest.param(backend, id=backend, marks=marks)


SPEC_FILES = sorted(SPECS.glob("*.yaml"))


@pytest.mark.parametrize("spec", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_keras_target_files_are_up_to_date(spec):
    compiled = compile_file(spec, GENERATED, "keras")
    assert compiled.ok, compiled.errors
    assert compiled.output == GENERATED / "keras" / f"{spec.stem}.py"
    assert compiled.output.read_text(encoding="utf-8") == compiled.source, "run `metricgen build --target keras specs/`"
    # keras.ops only, so that it runs without TensorFlow: TensorFlow is imported by helpers that run on the
    # TensorFlow backend alone (a faster kernel there, a max over replicas), inside them, never at the top
    top_level = [n for n in ast.parse(compiled.source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not [n for n in top_level if "tensorflow" in ast.unparse(n)]
    assert "class " + compiled.source.split("class ", 1)[1].split("(")[0] + "(keras.metrics.Metric)" in compiled.source


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.parametrize("backend", [backend_param(b) for b in BACKENDS])
def test_matches_reference_under_backend(backend, case):
    report = run_backend(backend)
    entries = report["results"][case.class_name]
    assert "error" not in entries, entries.get("error")
    assert any(key.startswith(tuple(report["devices"])) for key in entries)
    for what, (value, expected) in entries.items():
        assert value == pytest.approx(
            expected, rel=case.rtol or 1e-5, abs=max(case.atol, 1e-6)
        ), f"{backend}: {case.class_name}: {what}"


@pytest.mark.parametrize("backend", [backend_param(b) for b in BACKENDS])
def test_backend_sees_a_gpu(backend):
    devices = run_backend(backend)["devices"]
    if not any(not d.startswith("cpu") for d in devices):
        pytest.skip(f"no GPU visible to {backend}: the keras-target checks ran on {', '.join(devices)} only")


def test_function_without_a_backend_neutral_form_is_refused_for_the_keras_target(monkeypatch):
    """Every registry function has both forms today; a future TF-only one must be refused by name."""
    from metricgen.compiler import generate_from_text
    from metricgen.errors import SpecErrors
    from metricgen.targets import TARGETS

    for target in TARGETS.values():  # `size` left in the tf target's column only
        if target.name != "tf":
            monkeypatch.delitem(target.column, "size", raising=False)
    spec = """
name: counted
class_name: Counted
description: counts elements
inputs: [x]
state:
  count: {}
update:
  count: size(x)
result: count
"""
    assert "tf.size(x)" in generate_from_text(spec, "counted.yaml", "tf")
    with pytest.raises(SpecErrors) as info:
        generate_from_text(spec, "counted.yaml", "keras")
    message = info.value.errors[0].format()
    assert message == "counted.yaml:9:10: error: function 'size' has no form for the keras target (it exists for: tf)"


EMPTY_SAFE_SPEC = """
name: spread
class_name: Spread
description: largest minus smallest prediction, and the largest label
state:
  largest: {init: -.inf, fold: max}
  smallest: {init: .inf, fold: min}
  top_label: {dtype: int32, init: -1, fold: max}
update:
  largest: max(y_pred)
  smallest: min(y_pred)
  top_label: max(cast(y_true, int32))
result: largest - smallest
"""

EMPTY_SAFE_RUN = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from spread import Spread
metric = Spread()
metric.update_state(np.zeros((0,)), np.zeros((0,)))  # an empty batch: max/min of nothing
before = [float(np.asarray(v)) for v in (metric.largest, metric.smallest, metric.top_label)]
metric.update_state(np.array([1, 3]), np.array([2.0, -1.0]))
print(json.dumps({"before": before, "result": float(metric.result()), "top": int(np.asarray(metric.top_label))}))
"""


@pytest.mark.parametrize("backend", [backend_param(b) for b in BACKENDS])
def test_max_and_min_of_an_empty_batch_match_the_tf_target(backend, tmp_path):
    """tf.reduce_max of nothing is -inf (the dtype's lowest int); keras.ops raise unless given `initial`."""
    spec = tmp_path / "spread.yaml"
    spec.write_text(EMPTY_SAFE_SPEC)
    compiled = compile_file(spec, tmp_path, "keras")
    assert compiled.ok, compiled.errors
    compiled.output.parent.mkdir(parents=True, exist_ok=True)
    compiled.output.write_text(compiled.source)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", EMPTY_SAFE_RUN, str(compiled.output.parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["before"] == [float("-inf"), float("inf"), -1.0]
    assert report["result"] == 3.0 and report["top"] == 3
