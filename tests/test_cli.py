"""The authoring workflow, driven the way people drive it: through click's CliRunner and a real subprocess,
on the shipped specs and on a throwaway model repository in a temporary directory."""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from metricgen.cli import main
from metricgen.schema import Spec, json_schema
from metricgen.writer import is_generated

ROOT = Path(__file__).resolve().parent.parent
DICE_SPEC = ROOT / "specs" / "dice.yaml"
DICE_MODULE = ROOT / "generated" / "dice.py"
COMMANDS = ["build", "check", "validate", "new", "list", "schema", "test"]

ACCURACY = """\
name: hit_rate
class_name: HitRate
description: Fraction of predictions above 0.5 whose label is 1. A second sentence.
inputs: [labels, scores]
state:
  hits: {}
  count: {}
update:
  hits: weighted_sum(cast(scores > 0.5, float) * labels)
  count: weighted_sum(cast(scores > 0.5, float))
result: hits / count
examples:
  # scores above 0.5 at positions 0, 1, 3; labels there 1, 0, 1 -> 2 / 3
  - batches:
      - {labels: [1, 0, 1, 1], scores: [0.9, 0.6, 0.2, 0.7]}
    expected: 0.6666667
"""


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "metricgen", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A model repository: specs/ with the shipped dice spec and one of its own, no generated/ yet."""
    (tmp_path / "specs").mkdir()
    shutil.copy(DICE_SPEC, tmp_path / "specs" / "dice.yaml")
    (tmp_path / "specs" / "hit_rate.yaml").write_text(ACCURACY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- help --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert f"metricgen {command}" in result.output


def test_top_level_help_lists_the_commands_and_exit_codes():
    result = cli("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.output, re.M), command
    assert "Exit codes" in result.output


# -- build -------------------------------------------------------------------------------------------------------


def test_build_writes_the_same_module_as_the_shipped_one(repo):
    result = cli("build", "specs/dice.yaml")
    assert result.exit_code == 0, result.output
    assert "wrote generated/dice.py" in result.stderr
    assert (repo / "generated" / "dice.py").read_text(encoding="utf-8") == DICE_MODULE.read_text(encoding="utf-8")
    again = cli("build", "specs/dice.yaml")
    assert again.exit_code == 0 and "unchanged generated/dice.py" in again.stderr


def test_build_a_directory(repo):
    result = cli("build", "specs", "--out", "src/metrics")
    assert result.exit_code == 0, result.output
    assert sorted(files_under(repo / "src" / "metrics")) == ["dice.py", "hit_rate.py"]
    tree = ast.parse((repo / "src" / "metrics" / "hit_rate.py").read_text(encoding="utf-8"))
    assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == ["HitRate"]


def test_build_stdout_prints_and_writes_nothing(repo):
    result = cli("build", "specs/dice.yaml", "--stdout")
    assert result.exit_code == 0
    assert result.stdout == DICE_MODULE.read_text(encoding="utf-8")
    assert not (repo / "generated").exists()


def test_build_never_overwrites_a_hand_written_file(repo):
    mine = repo / "generated" / "dice.py"
    mine.parent.mkdir()
    mine.write_text("# my own dice metric\nclass DiceCoefficient: ...\n")
    result = cli("build", "specs")
    assert result.exit_code == 2
    assert "not overwriting generated/dice.py" in result.stderr and "--force" in result.stderr
    assert mine.read_text() == "# my own dice metric\nclass DiceCoefficient: ...\n"
    assert is_generated(repo / "generated" / "hit_rate.py")  # the other spec still built
    assert cli("build", "specs/dice.yaml", "--stdout").exit_code == 0  # printing touches nothing
    assert mine.read_text().startswith("# my own")
    forced = cli("build", "specs/dice.yaml", "--force")
    assert forced.exit_code == 0, forced.output
    assert mine.read_text(encoding="utf-8") == DICE_MODULE.read_text(encoding="utf-8")


def test_build_rewrites_its_own_stale_module(repo):
    assert cli("build", "specs/dice.yaml").exit_code == 0
    module = repo / "generated" / "dice.py"
    module.write_text(module.read_text(encoding="utf-8") + "# stale\n", encoding="utf-8")
    result = cli("build", "specs/dice.yaml")
    assert result.exit_code == 0 and "wrote generated/dice.py" in result.stderr
    assert "# stale" not in module.read_text(encoding="utf-8")


def test_build_keras_target_writes_under_keras(repo):
    result = cli("build", "specs/dice.yaml", "--target", "keras")
    assert result.exit_code == 0, result.output
    source = (repo / "generated" / "keras" / "dice.py").read_text(encoding="utf-8")
    assert "from keras import ops" in source and "tensorflow" not in source
    assert cli("check", "specs/dice.yaml", "--target", "keras").exit_code == 0
    assert cli("check", "specs/dice.yaml").exit_code == 1  # the tf module was never built


# -- check -------------------------------------------------------------------------------------------------------


def test_check_up_to_date(repo):
    assert cli("build", "specs").exit_code == 0
    before = files_under(repo)
    result = cli("check", "specs")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "2 generated module(s) up to date" in result.stderr
    assert files_under(repo) == before


def test_check_finds_a_hand_edit_and_shows_the_diff(repo):
    assert cli("build", "specs").exit_code == 0
    module = repo / "generated" / "dice.py"
    edited = module.read_text(encoding="utf-8").replace("return config", "return {**config, 'hacked': 1}")
    module.write_text(edited, encoding="utf-8")
    before = files_under(repo)
    result = cli("check", "specs")
    assert result.exit_code == 1
    assert "generated/dice.py: is out of date" in result.stderr
    assert "run 'metricgen build specs'" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "--- generated/dice.py (on disk)"
    assert lines[1] == "+++ generated/dice.py (generated from specs/dice.yaml)"
    assert "-        return {**config, 'hacked': 1}" in lines
    assert "+        return config" in lines
    assert "hit_rate" not in result.stdout  # only the stale module is shown
    assert files_under(repo) == before  # nothing written


def test_check_finds_a_changed_spec(repo):
    assert cli("build", "specs").exit_code == 0
    spec = repo / "specs" / "dice.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("default: 1.0e-7", "default: 0.001"), encoding="utf-8")
    result = cli("check", "specs/dice.yaml")
    assert result.exit_code == 1
    assert any(line.startswith("-") and "smooth=1e-07" in line for line in result.stdout.splitlines())
    assert any(line.startswith("+") and "smooth=0.001" in line for line in result.stdout.splitlines())


def test_check_finds_a_missing_module(repo):
    result = cli("check", "specs/hit_rate.yaml")
    assert result.exit_code == 1
    assert "generated/hit_rate.py: is missing" in result.stderr
    assert result.stdout.startswith("--- /dev/null\n+++ generated/hit_rate.py (generated from specs/hit_rate.yaml)")
    assert "+class HitRate(tf.keras.metrics.Metric):" in result.stdout.splitlines()
    assert not (repo / "generated").exists()


def test_check_finds_a_hand_written_module(repo):
    (repo / "generated").mkdir()
    (repo / "generated" / "hit_rate.py").write_text("class HitRate: ...\n")
    result = cli("check", "specs/hit_rate.yaml")
    assert result.exit_code == 1
    assert "does not carry metricgen's header" in result.stderr


def test_check_with_an_invalid_spec_exits_2(repo):
    assert cli("build", "specs").exit_code == 0
    (repo / "specs" / "broken.yaml").write_text(ACCURACY.replace("hits / count", "hits / cnt"))
    result = cli("check", "specs")
    assert result.exit_code == 2
    assert "specs/broken.yaml:11:16: error: unknown name 'cnt' (did you mean 'count'?)" in result.stderr


def test_shipped_generated_modules_are_up_to_date(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("check", "specs", "--out", "generated")
    assert result.exit_code == 0, result.output


# -- validate ----------------------------------------------------------------------------------------------------


def test_validate_valid_specs(repo):
    result = cli("validate", "specs")
    assert result.exit_code == 0
    assert result.stderr == "2 specs valid\n"
    assert not (repo / "generated").exists()


def test_shipped_specs_are_valid(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("validate", "specs")
    assert result.exit_code == 0, result.output


# -- new ---------------------------------------------------------------------------------------------------------


def test_new_writes_a_starter_that_builds_checks_and_lists(repo):
    result = cli("new", "mean_iou")
    assert result.exit_code == 0, result.output
    spec = repo / "specs" / "mean_iou.yaml"
    text = spec.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["name"] == "mean_iou" and data["class_name"] == "MeanIou"
    assert text.count("\n#") >= 5  # commented
    assert cli("validate", "specs/mean_iou.yaml").exit_code == 0
    assert cli("build", "specs/mean_iou.yaml").exit_code == 0
    tree = ast.parse((repo / "generated" / "mean_iou.py").read_text(encoding="utf-8"))
    assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == ["MeanIou"]
    assert cli("check", "specs").exit_code == 1  # dice and hit_rate were never built
    assert cli("check", "specs/mean_iou.yaml").exit_code == 0
    assert "mean_iou  " in cli("list").stdout


def test_new_starter_examples_are_worked_out(repo):
    """The starter's expected values, recomputed here from its batches (threshold 0.5, weighted accuracy)."""
    assert cli("new", "acc").exit_code == 0
    data = yaml.safe_load((repo / "specs" / "acc.yaml").read_text(encoding="utf-8"))
    threshold = data["params"]["threshold"]["default"]
    for example in data["examples"]:
        matches = total = 0.0
        for batch in example["batches"]:
            weights = batch.get("sample_weight", [1] * len(batch["y_true"]))
            for t, p, w in zip(batch["y_true"], batch["y_pred"], weights):
                matches += w * (float(p > threshold) == t)
                total += w
        assert math.isclose(matches / total, example["expected"])


def test_new_refuses_to_overwrite(repo):
    spec = repo / "specs" / "dice.yaml"
    before = spec.read_bytes()
    result = cli("new", "dice")
    assert result.exit_code == 2
    assert "specs/dice.yaml: error: specs/dice.yaml already exists" in result.stderr
    assert spec.read_bytes() == before
    (repo / "specs" / "other.yml").write_text("x: 1\n")
    assert cli("new", "other").exit_code == 2


@pytest.mark.parametrize("name", ["MeanIoU", "2nd", "mean-iou", "class", "", "a b", "x" * 101])
def test_new_refuses_bad_names(repo, name):
    result = cli("new", name)
    assert result.exit_code == 2
    assert "cannot name a metric" in result.stderr and "snake_case" in result.stderr
    assert sorted(p.name for p in (repo / "specs").iterdir()) == ["dice.yaml", "hit_rate.yaml"]


def test_new_dir_option_and_schema_line(repo):
    assert cli("new", "alpha", "--dir", "metrics/specs").exit_code == 0
    text = (repo / "metrics" / "specs" / "alpha.yaml").read_text(encoding="utf-8")
    assert "# yaml-language-server: $schema=" not in text.replace("first line: # yaml-language-server", "")
    assert "metricgen schema > spec.schema.json" in text
    (repo / "docs").mkdir()
    (repo / "docs" / "spec.schema.json").write_text("{}")
    assert cli("new", "beta").exit_code == 0
    first = (repo / "specs" / "beta.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../docs/spec.schema.json"


# -- list --------------------------------------------------------------------------------------------------------


def test_list_defaults_to_specs(repo):
    result = cli("list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    dice, hit = lines
    assert re.match(r"^dice_coefficient +DiceCoefficient +\(y_true, y_pred\) +generated/dice\.py +Sørensen–Dice", dice)
    assert re.match(
        r"^hit_rate +HitRate +\(labels, scores\) +generated/hit_rate\.py +Fraction of predictions above "
        r"0\.5 whose label is 1\.$",
        hit,
    )
    single = cli("list", "specs/hit_rate.yaml")
    assert single.exit_code == 0
    assert single.stdout == (
        "hit_rate  HitRate  (labels, scores)  generated/hit_rate.py  "
        "Fraction of predictions above 0.5 whose label is 1.\n"
    )
    keras = cli("list", "specs/hit_rate.yaml", "--target", "keras", "--out", "src/metrics")
    assert "  src/metrics/keras/hit_rate.py  " in keras.stdout


def test_list_without_a_specs_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("list")
    assert result.exit_code == 2
    assert "no specs/ directory here" in result.stderr


def test_list_reports_invalid_specs_and_lists_the_rest(repo):
    (repo / "specs" / "broken.yaml").write_text(ACCURACY.replace("name: hit_rate", "nmae: hit_rate"))
    result = cli("list", "specs")
    assert result.exit_code == 2
    assert "specs/broken.yaml:1:1: error: unknown key 'nmae' (did you mean 'name'?)" in result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_list_the_shipped_specs(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("list")
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines()]
    expected = sorted(yaml.safe_load(p.read_text(encoding="utf-8"))["name"] for p in (ROOT / "specs").glob("*.yaml"))
    assert sorted(names) == expected
    assert "dice_coefficient" in names


# -- schema ------------------------------------------------------------------------------------------------------


def test_schema_is_the_committed_one():
    result = cli("schema")
    assert result.exit_code == 0
    committed = (ROOT / "docs" / "spec.schema.json").read_text(encoding="utf-8")
    assert result.stdout == committed, "docs/spec.schema.json is stale: run `metricgen schema > docs/spec.schema.json`"


def test_schema_describes_the_spec_format():
    document = json.loads(cli("schema").stdout)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(document["properties"]) == set(Spec.model_fields)
    assert set(document["required"]) == {"name", "class_name"}  # a spec that extends another writes what differs
    assert set(document["else"]["required"]) == {"description", "state", "update", "result"}  # one that does not
    assert document["additionalProperties"] is False
    # what specs may write in short form is allowed by the schema too (editors must not flag shipped specs)
    assert {"type": "string"} in document["properties"]["result"]["anyOf"]
    assert {"type": "string"} in document["properties"]["inputs"]["items"]["anyOf"]
    assert {"type": "null"} in document["properties"]["state"]["additionalProperties"]["anyOf"]


def test_shipped_specs_reference_the_schema():
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        first = spec.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../docs/spec.schema.json", spec.name


def test_shipped_specs_pass_the_schema():
    """What an editor checks with the schema agrees with metricgen on the shipped specs (needs jsonschema)."""
    jsonschema = pytest.importorskip("jsonschema")
    specs = sorted((ROOT / "specs").glob("*.yaml"))
    validator = jsonschema.Draft202012Validator(json_schema())
    for spec in specs:
        errors = list(validator.iter_errors(yaml.safe_load(spec.read_text(encoding="utf-8"))))
        assert not errors, (spec.name, [e.message for e in errors])


# -- test (runs TensorFlow) --------------------------------------------------------------------------------------


def test_test_runs_the_dice_examples():
    from metricgen.examples import run_spec_examples

    outcomes = run_spec_examples(DICE_SPEC, display_path="specs/dice.yaml")
    assert len(outcomes) >= 1 and all(o.passed for o in outcomes), [o.format() for o in outcomes]
    result = cli("test", str(DICE_SPEC))
    assert result.exit_code == 0, result.output
    passes = [line for line in result.stdout.splitlines() if line.startswith("PASS ")]
    assert len(passes) == len(outcomes)
    assert result.stderr.endswith(f"{len(outcomes)} passed, 0 failed\n")


def test_build_check_list_and_test_the_torchmetrics_target(repo):
    result = cli("build", "specs/dice.yaml", "--target", "torchmetrics")
    assert result.exit_code == 0, result.output
    source = (repo / "generated" / "torchmetrics" / "dice.py").read_text(encoding="utf-8")
    assert "from torchmetrics import Metric" in source and "keras" not in source and "tensorflow" not in source
    assert "metricgen build --target torchmetrics specs/dice.yaml" in source
    assert cli("check", "specs/dice.yaml", "--target", "torchmetrics").exit_code == 0
    assert "generated/torchmetrics/dice.py" in cli("list", "specs/dice.yaml", "--target", "torchmetrics").stdout
    assert cli("validate", "specs/dice.yaml", "--target", "torchmetrics").exit_code == 0
    tested = cli("test", "specs/dice.yaml", "--target", "torchmetrics")
    assert tested.exit_code == 0 and "PASS" in tested.output, tested.output


def test_a_name_torchmetrics_reserves_is_refused_for_that_target_only(repo):
    (repo / "specs" / "upd.yaml").write_text(
        "name: upd\nclass_name: Upd\ndescription: d\nstate:\n  update: {}\nupdate:\n  update: sum(y_pred)\n"
        "result: update\n",
        encoding="utf-8",
    )
    assert cli("validate", "specs/upd.yaml").exit_code == 0
    refused = cli("validate", "specs/upd.yaml", "--target", "torchmetrics")
    assert refused.exit_code == 2
    assert (
        "specs/upd.yaml:5:3: error: invalid state variable name 'update': torchmetrics.Metric already has"
        in refused.output
    )


def test_test_keras_target():
    result = cli("test", str(DICE_SPEC), "--target", "keras")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"PASS {DICE_SPEC} example 1")


def test_test_reports_a_wrong_expected_value(repo):
    spec = repo / "specs" / "hit_rate.yaml"
    spec.write_text(ACCURACY.replace("expected: 0.6666667", "expected: 0.7"), encoding="utf-8")
    result = cli("test", "specs/hit_rate.yaml")
    assert result.exit_code == 1
    assert result.stdout.startswith("FAIL specs/hit_rate.yaml example 1: result 0.666666")
    assert "expected 0.7" in result.stdout and "off by 0.0333" in result.stdout


def test_test_tolerance_is_absolute(repo):
    spec = repo / "specs" / "hit_rate.yaml"
    spec.write_text(ACCURACY.replace("expected: 0.6666667", "expected: 0.7\n    tolerance: 0.034"), encoding="utf-8")
    assert cli("test", "specs/hit_rate.yaml").exit_code == 0
    spec.write_text(ACCURACY.replace("expected: 0.6666667", "expected: 0.7\n    tolerance: 0.033"), encoding="utf-8")
    assert cli("test", "specs/hit_rate.yaml").exit_code == 1


def test_test_passes_params_and_sample_weights(repo):
    spec = repo / "specs" / "hit_rate.yaml"
    text = (
        ACCURACY.replace("inputs:", "params:\n  cut: {type: float, default: 0.5}\ninputs:")
        .replace("> 0.5", "> cut")
        .replace("  - batches:", "  - params: {cut: 0.65}\n    batches:")
        .replace("scores: [0.9, 0.6, 0.2, 0.7]}", "scores: [0.9, 0.6, 0.2, 0.7], sample_weight: [1, 1, 1, 3]}")
    )
    # above 0.65: positions 0 and 3, both labelled 1, weights 1 and 3 -> 4 / 4
    spec.write_text(text.replace("expected: 0.6666667", "expected: 1.0"), encoding="utf-8")
    result = cli("test", "specs/hit_rate.yaml")
    assert result.exit_code == 0, result.output


def test_test_refuses_callable_params_in_examples(repo):
    spec = repo / "specs" / "weights.yaml"
    spec.write_text(
        textwrap.dedent("""\
        name: weights
        class_name: Weights
        description: d
        params:
          fn: {type: callable, default: null}
        state:
          total: {}
        update:
          total: sum(y_true)
        result: total
        examples:
          - params: {fn: abs}
            batches: [{y_true: [1], y_pred: [1]}]
            expected: 1
        """),
        encoding="utf-8",
    )
    result = cli("test", "specs/weights.yaml")
    assert result.exit_code == 2
    assert (
        "specs/weights.yaml:12:18: error: example sets callable param 'fn': callable params are not supported"
        in result.stderr
    )


def test_test_invalid_spec_and_no_examples(repo):
    (repo / "specs" / "hit_rate.yaml").write_text(ACCURACY.split("examples:")[0], encoding="utf-8")
    result = cli("test", "specs/hit_rate.yaml")
    assert result.exit_code == 0
    assert result.stdout.startswith("SKIP specs/hit_rate.yaml: no examples")
    (repo / "specs" / "hit_rate.yaml").write_text(ACCURACY.replace("hits / count", "hits / cnt"), encoding="utf-8")
    result = cli("test", "specs/hit_rate.yaml")
    assert result.exit_code == 2
    assert "unknown name 'cnt'" in result.stderr


def test_test_leaves_the_keras_registry_as_it_was():
    import keras

    before = dict(keras.saving.get_custom_objects())
    assert cli("test", str(DICE_SPEC)).exit_code == 0
    assert keras.saving.get_custom_objects() == before


def test_close_enough():
    from metricgen.examples import close_enough

    assert close_enough(0.75, 0.75, 0.0)
    assert close_enough(0.7500009, 0.75, 1e-6)
    assert not close_enough(0.7500011, 0.75, 1e-6)
    assert close_enough(1000.0000009, 1000.0, 1e-6)  # absolute, not relative
    assert not close_enough(1000.01, 1000.0, 1e-6)
    assert close_enough(float("nan"), float("nan"), 0.0)
    assert not close_enough(float("nan"), 0.0, 1e9)
    assert close_enough(float("inf"), float("inf"), 0.0)
    assert not close_enough(float("inf"), 1e308, 1e308)


# -- pre-commit ----------------------------------------------------------------------------------------------------


def test_pre_commit_hook_definition():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "metricgen-check")
    assert hook["language"] == "python"
    assert hook["entry"] == "metricgen check"
    assert hook["pass_filenames"] is False
    assert "args" not in hook  # `metricgen check`: [tool.metricgen], else specs/ (tests/test_project.py)
    for path in ("specs/dice.yaml", "specs/x.yml", "generated/dice.py", "src/metrics/dice.py"):
        assert re.search(hook["files"], path), path
    assert not re.search(hook["files"], "README.md")


# -- a real subprocess ---------------------------------------------------------------------------------------------


def test_workflow_in_a_subprocess(tmp_path):
    """new → validate → build → check → edit → check → list → schema, as `python -m metricgen`, in a fresh repo."""
    assert run("new", "precision_at_half", cwd=tmp_path).returncode == 0
    shutil.copy(DICE_SPEC, tmp_path / "specs" / "dice.yaml")
    validate = run("validate", "specs", cwd=tmp_path)
    assert validate.returncode == 0 and validate.stderr == "2 specs valid\n", validate.stderr
    build = run("build", "specs", cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "generated" / "dice.py").read_text(encoding="utf-8") == DICE_MODULE.read_text(encoding="utf-8")
    assert run("check", "specs", cwd=tmp_path).returncode == 0
    module = tmp_path / "generated" / "precision_at_half.py"
    module.write_text(module.read_text(encoding="utf-8").replace("DO NOT EDIT", "edit freely"), encoding="utf-8")
    check = run("check", "specs", cwd=tmp_path)
    assert check.returncode == 1
    assert "-# Code generated by metricgen from specs/precision_at_half.yaml. edit freely." in check.stdout
    assert "does not carry metricgen's header" in check.stderr
    listing = run("list", cwd=tmp_path)
    assert listing.returncode == 0
    assert [line.split()[:2] for line in listing.stdout.splitlines()] == [
        ["dice_coefficient", "DiceCoefficient"],
        ["precision_at_half", "PrecisionAtHalf"],
    ]
    schema = run("schema", cwd=tmp_path)
    assert schema.returncode == 0
    assert schema.stdout == (ROOT / "docs" / "spec.schema.json").read_text(encoding="utf-8")


def test_errors_in_a_subprocess_are_one_line_each_and_never_a_traceback(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "bad.yaml").write_bytes(b"name: m\nclass_name: M\ndescription: caf\xe9\n")
    (tmp_path / "specs" / "worse.yaml").write_text("name: [\n")
    for command in ("validate", "build", "check", "list", "test"):
        result = run(command, "specs", cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout
        assert "specs/bad.yaml:3:17: error: file is not valid UTF-8" in result.stderr
        assert re.search(r"^specs/worse\.yaml:\d+:\d+: error: invalid YAML", result.stderr, re.M)


def test_examples_in_a_subprocess(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "hit_rate.yaml").write_text(ACCURACY, encoding="utf-8")
    shutil.copy(DICE_SPEC, tmp_path / "specs" / "dice.yaml")
    result = run("test", "specs", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS specs/hit_rate.yaml example 1: result 0.666666" in result.stdout
    assert "PASS specs/dice.yaml example 1" in result.stdout


NO_TENSORFLOW = """
import sys
from metricgen.cli import main

for args in (["new", "probe"], ["build", "specs"], ["build", "specs", "--stdout"], ["check", "specs"],
             ["validate", "specs"], ["list"], ["schema"], ["build", "specs", "--target", "keras"]):
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "jax", "torch")))
"""


def test_only_the_test_command_imports_tensorflow(tmp_path):
    (tmp_path / "specs").mkdir()
    shutil.copy(DICE_SPEC, tmp_path / "specs" / "dice.yaml")
    result = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "generated" / "probe.py").exists()


def test_docs_catalogue_is_current(monkeypatch):
    """docs/metrics.md is what `metricgen docs` writes for the shipped specs and the catalogues."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(
        main, ["docs", "specs/", "catalogue/keras/specs/", "catalogue/tfa/specs/", "catalogue/torchmetrics/specs/"]
    )
    assert result.exit_code == 0, result.output
    current = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert (
        result.stdout == current
    ), "run `metricgen docs specs/ catalogue/keras/specs/ catalogue/tfa/specs/ catalogue/torchmetrics/specs/ --out docs/metrics.md`"
    assert "### CohenKappa" in current and "| `weightage` | str | `None` |" in current


def test_docs_refuses_an_invalid_spec(repo):
    (repo / "specs" / "bad.yaml").write_text("name: Bad\n", encoding="utf-8")
    result = cli("docs", "specs/")
    assert result.exit_code == 2 and "specs/bad.yaml" in result.output


VECTOR = """\
name: per_class
class_name: PerClass
description: column sums of y_pred
state:
  total: {shape: [3]}
update:
  total: sum(y_pred, axis=0)
result: total
examples:
  - batches: [{y_true: [[0, 0, 0]], y_pred: [[1, 2, 3]]}, {y_true: [[0, 0, 0]], y_pred: [[0.5, 0, 1]]}]
    expected: [1.5, 2, 4]
  - batches: [{y_true: [[0, 0, 0]], y_pred: [[1, 2, 3]]}]
    expected: [1, 2, 4]
  - batches: [{y_true: [[0, 0, 0]], y_pred: [[1, 2, 3]]}]
    expected: [[1, 2, 3]]
"""


def test_examples_compare_vectors_and_matrices(repo):
    (repo / "specs" / "per_class.yaml").write_text(VECTOR, encoding="utf-8")
    result = cli("test", "specs/per_class.yaml", "--target", "torchmetrics")
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith("PASS specs/per_class.yaml example 1: result [1.5, 2, 4], expected [1.5, 2, 4]")
    assert lines[1].endswith("(off by 1)")
    assert lines[2].endswith("(shape (3,), expected (1, 3))")
    (repo / "specs" / "per_class.yaml").write_text(
        VECTOR.replace("expected: [1.5, 2, 4]", "expected: [[1], 2]"), "utf-8"
    )
    refused = cli("validate", "specs/per_class.yaml")
    assert refused.exit_code == 2 and "nested lists of numbers of one shape" in refused.output


def test_a_build_of_many_specs_in_worker_processes_writes_what_one_process_writes(tmp_path):
    """`metricgen build` of 45 specs compiles and lays them out in forked workers: the same bytes as the
    catalogue's committed modules (and as a build in one process), and a bad spec among them is reported as
    one located error line (its error travels back from a worker), not a traceback."""
    import shutil
    import subprocess
    import sys

    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "catalogue" / "keras" / "specs", specs)
    (specs / "zz_broken.yaml").write_text(
        "name: zz_broken\nclass_name: ZZBroken\ndescription: d\nstate: {t: {}}\nupdate: {t: sum(y_prd)}\nresult: t\n",
        encoding="utf-8",
    )
    env = {**os.environ, "METRICGEN_CACHE_DIR": ""}
    serial = "import sys, metricgen.cli as c; c._SPECS_PER_WORKER = 10**6; sys.argv[0] = 'metricgen'; c.main()"
    outputs = {}
    for name, argv in (
        ("workers", [sys.executable, "-m", "metricgen"]),
        ("one process", [sys.executable, "-c", serial]),
    ):
        out = tmp_path / ("generated_" + name.replace(" ", "_"))
        run = subprocess.run(
            argv + ["build", "specs", "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert run.returncode == 2, run.stderr[-2000:]
        assert "Traceback" not in run.stdout + run.stderr
        assert "specs/zz_broken.yaml:5:17: error: unknown name 'y_prd' (did you mean 'y_pred'?)" in run.stderr
        outputs[name] = {p.name: p.read_bytes() for p in out.glob("*.py")}
    assert outputs["workers"] == outputs["one process"]
    # the header names the spec relative to the output folder's parent: the committed modules' own path
    committed = {p.name: p.read_bytes() for p in (ROOT / "catalogue" / "keras" / "generated").glob("*.py")}
    assert len(outputs["workers"]) == 45
    assert outputs["workers"] == {name: committed[name] for name in outputs["workers"]}


def test_a_spec_error_survives_pickling():
    """Build's worker processes send their errors back pickled: a frozen dataclass exception needs its own
    __reduce__ for that (without it the pool broke: `BrokenProcessPool`)."""
    import pickle

    from metricgen.errors import Location, SpecError

    error = SpecError("unknown name 'y_prd'", Location(5, 17, "base/x.yaml"), "specs/x.yaml", "did you mean 'y_pred'?")
    again = pickle.loads(pickle.dumps(error))
    assert again == error and again.format() == error.format() == (
        "base/x.yaml:5:17: error: unknown name 'y_prd' (did you mean 'y_pred'?)"
    )
