"""`metricgen test`'s limits (a time limit for each spec, limit variables checked), the Keras backend it names,
and spec file names that Python would import under another name (NFKC)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from metricgen.cli import main

ROOT = Path(__file__).resolve().parent.parent

# Stands in for `python -m metricgen.example_child TARGET SPEC...`: each "spec" holds the seconds it takes;
# a line once started, then one JSON line per spec when it is done, as the real child writes.
FAKE_CHILD = """
import json, sys, time
files = sys.argv[4:]  # -m metricgen.example_child TARGET
print(json.dumps({"started": True}), flush=True)
for file in files:
    time.sleep(float(open(file).read()))
    outcome = dict(spec_path=file, index=1, doc="", expected=1.0, tolerance=1e-6, result=1.0)
    print(json.dumps({"file": file, "outcomes": [outcome]}), flush=True)
"""


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    (tmp_path / "specs").mkdir()
    shutil.copy(ROOT / "specs" / "dice.yaml", tmp_path / "specs" / "dice.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METRICGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_each_spec_has_its_own_time_limit(repo, monkeypatch):
    """A spec that takes four times the limit FAILs, whether it runs first (the child's start-up allowance is
    not its time) or after ten quick specs (the time they left unused is not its time either); the specs after
    it still run. A limit pooled over the run let both pass."""
    fake = repo / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_CHILD}", encoding="utf-8")
    fake.chmod(0o755)
    shutil.rmtree(repo / "specs")
    (repo / "specs").mkdir()
    seconds = {"a_first": 8, **{f"b{n}": 0 for n in range(10)}, "m_slow": 8, "z_last": 0}
    for name, taken in seconds.items():
        (repo / "specs" / f"{name}.yaml").write_text(str(taken), encoding="utf-8")
    monkeypatch.setattr(sys, "executable", str(fake))
    monkeypatch.setenv("METRICGEN_TEST_TIMEOUT", "2")
    monkeypatch.setenv("METRICGEN_TEST_STARTUP", "30")
    result = cli("test", "specs/", "--target", "torchmetrics")
    lines = result.stdout.splitlines()
    for slow in ("a_first", "m_slow"):
        timed_out = (
            f"FAIL specs/{slow}.yaml: the examples ran past their time (the limit: METRICGEN_TEST_TIMEOUT=2 s a spec)"
        )
        assert timed_out in lines, result.output
    assert sum(line.startswith("PASS specs/b") for line in lines) == 10
    assert any(line.startswith("PASS specs/z_last.yaml example 1") for line in lines), lines
    assert result.exit_code == 1


@pytest.mark.parametrize(
    "variable, value",
    [
        ("METRICGEN_TEST_MEMORY_MB", "inf"),
        ("METRICGEN_TEST_MEMORY_MB", "nan"),
        ("METRICGEN_TEST_MEMORY_MB", "-1"),
        ("METRICGEN_TEST_TIMEOUT", "nan"),
        ("METRICGEN_TEST_TIMEOUT", "0"),
        ("METRICGEN_TEST_TIMEOUT", "two"),
        ("METRICGEN_TEST_STARTUP", "-inf"),
        ("METRICGEN_TEST_STARTUP", ""),
    ],
)
def test_a_limit_that_is_not_a_positive_finite_number_is_one_line(repo, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    result = cli("test", "specs/dice.yaml", "--target", "torchmetrics")
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"metricgen: error: {variable}={value!r} is not a positive finite number (it is ")


def test_test_names_the_keras_backend_that_ran(repo, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    result = cli("test", "specs/dice.yaml", "--target", "keras")
    assert result.exit_code == 0, result.output
    assert "keras backend: jax" in result.stderr.splitlines()
    assert result.stdout.startswith("PASS specs/dice.yaml example 1")


@pytest.mark.parametrize(
    "stem, hint",
    [
        ("\ufb01le", "rename it to file.yaml"),  # 'ﬁle': the ligature fi, which Python reads as 'fi'
        (
            "\uff4b\uff45\uff52\uff41\uff53",  # fullwidth 'ｋｅｒａｓ': Python reads 'keras', a module it imports
            "rename it: a module named keras.py would shadow the 'keras' the generated code imports, or a target's "
            "output folder",
        ),
    ],
)
def test_a_spec_name_python_would_import_as_another_is_refused(repo, stem, hint):
    shutil.copy(repo / "specs" / "dice.yaml", repo / "specs" / f"{stem}.yaml")
    for command in (["build", "specs/"], ["validate", "specs/"]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        normal = "file" if stem == "\ufb01le" else "keras"
        assert (
            f"specs/{stem}.yaml:1:1: error: '{stem}' is not in the form Python reads names in (NFKC): an import of "
            f"it looks for '{normal}' ({hint})"
        ) in result.stderr.splitlines(), result.stderr
    generated = sorted(p.relative_to(repo / "generated").as_posix() for p in (repo / "generated").rglob("*.py"))
    assert generated == ["dice.py"]  # the other spec still built, nothing for the refused one
