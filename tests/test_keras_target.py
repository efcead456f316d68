"""The keras target (`metricgen build --target keras`): every shipped metric, generated for keras.ops,
gives the reference value under the TensorFlow, JAX and PyTorch backends, on every device each backend
sees; Keras' stateless API works inside jax.jit. Each backend runs in its own subprocess."""

from __future__ import annotations

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
    assert "tensorflow" not in compiled.source and " tf." not in compiled.source
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
    import dataclasses

    from metricgen import functions
    from metricgen.compiler import generate_from_text
    from metricgen.errors import SpecErrors

    tf_only = dataclasses.replace(functions.REGISTRY["size"], lowerings={"tf": "tf.size({x})", "keras": None})
    monkeypatch.setitem(functions.REGISTRY, "size", tf_only)
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
