"""`extends:`: a spec built on another. What is inherited and what replaces it, chains, cycles and missing
parents, errors located in the file that holds the text, the built class against numpy, and `check` following
a parent's change."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from metricgen import bundled
from metricgen.cli import main
from metricgen.compiler import compile_file
from metricgen.errors import SpecErrors
from metricgen.inherit import MAX_DEPTH, load_spec
from metricgen.schema import json_schema, validate_spec

from support import load_module

CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue" / "keras" / "specs"

BASE = """\
name: weighted_mean
class_name: WeightedMean
description: The weighted mean of y_pred, times scale.
higher_is_better: false
params:
  scale: {type: float, default: 1.0, doc: "what every value is multiplied by"}
  offset: {type: float, default: 0.0}
inputs: [y_pred]
state:
  total: {doc: "the weighted sum"}
  count: {}
update:
  let:
    w: sample_weights(y_pred)
  total: sum(w * (y_pred * scale + offset))
  count: sum(w)
result: total / count
examples:
  - batches: [{y_pred: [1.0, 3.0]}]
    expected: 2.0
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def spec_of(path: Path):
    return validate_spec(load_spec(path))


def errors_of(path: Path) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        compiled = compile_file(path, path.parent / "generated")
        raise SpecErrors(compiled.errors or [])
    return [error.format() for error in caught.value.errors]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "base.yaml", BASE)


def test_every_part_but_name_class_name_and_examples_is_inherited(base):
    child = write(base.parent, "child.yaml", "extends: base.yaml\nname: child_mean\nclass_name: ChildMean\n")
    spec, parent = spec_of(child), spec_of(base)
    assert (spec.name, spec.class_name) == ("child_mean", "ChildMean")
    assert spec.examples == [] and parent.examples  # the parent's examples test the parent
    for part in ("description", "higher_is_better", "params", "inputs", "state", "update", "result"):
        assert getattr(spec, part) == getattr(parent, part), part


def test_params_state_update_and_result_merge_by_key_and_other_parts_are_replaced(base):
    child = write(
        base.parent,
        "child.yaml",
        """\
        extends: base.yaml
        name: child_mean
        class_name: ChildMean
        description: Its own.
        params:
          scale: {type: float, default: 2.0}
          power: {type: int, default: 1}
        state:
          count: {dtype: float64}
        update:
          total: sum(y_pred ** power * scale + offset)
          count: size(y_pred)
        result: total
        """,
    )
    spec = spec_of(child)
    assert spec.description == "Its own."
    # a new param first, a replaced one in its place and whole (its doc went with it), the rest inherited
    assert list(spec.params) == ["power", "scale", "offset"]
    assert spec.params["scale"].default == 2.0 and spec.params["scale"].doc == ""
    assert spec.state["count"].dtype == "float64" and spec.state["total"].doc == "the weighted sum"
    assert spec.update.let == {"w": "sample_weights(y_pred)"}  # the parent's, which the child does not read
    assert spec.update.assignments == {"total": "sum(y_pred ** power * scale + offset)", "count": "size(y_pred)"}
    assert spec.result.value == "total"


LIBRARY = """\
name: moments
class_name: Moments
description: A base whose result lets are a library.
inputs: [y_pred]
state:
  total: {}
  squares: {}
  count: {}
update:
  total: sum(y_pred)
  squares: sum(y_pred * y_pred)
  count: size(y_pred)
result:
  let:
    mean: total / count
    variance: squares / count - mean * mean
    spread: sqrt(variance)
  value: mean
"""


def test_a_childs_lets_merge_with_the_parents_by_name_and_its_value_replaces(tmp_path):
    """A child overrides one let and reads the others; an inherited let it never reads is neither computed nor
    reported unused; its own unused let is still reported, at its own line."""
    write(tmp_path, "moments.yaml", LIBRARY)
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: moments.yaml
        name: spread
        class_name: Spread
        result:
          let:
            variance: squares / count - mean ** 2 + 1.0
          value: spread
        """,
    )
    spec = spec_of(child)
    assert spec.result.let == {
        "mean": "total / count",
        "variance": "squares / count - mean ** 2 + 1.0",
        "spread": "sqrt(variance)",
    }
    compiled = compile_file(child, tmp_path / "generated")
    assert compiled.ok, compiled.errors
    compiled.output.parent.mkdir(parents=True, exist_ok=True)
    compiled.output.write_text(compiled.source, encoding="utf-8")
    metric = load_module(compiled.output, "extends_spread").Spread()
    values = np.array([1.0, 2.0, 4.0, 7.0])
    metric.update_state(values)
    np.testing.assert_allclose(float(metric.result()), np.sqrt(values.var() + 1.0), rtol=1e-6)
    bare = write(tmp_path, "bare.yaml", "extends: moments.yaml\nname: b\nclass_name: B\nresult: spread * 2\n")
    assert compile_file(bare, tmp_path / "generated").ok  # `result: EXPR` keeps the parent's lets too
    unused = write(
        tmp_path,
        "unused.yaml",
        "extends: moments.yaml\nname: u\nclass_name: U\nresult:\n  let:\n    extra: total * 2\n  value: mean\n",
    )
    assert errors_of(unused) == [
        f"{unused}:6:5: error: 'extra' is defined but never used (remove it, or use it in an update or the result)"
    ]


def test_an_error_in_an_inherited_let_is_located_in_the_parent_and_an_unread_one_is_not_checked(tmp_path):
    parent = write(tmp_path, "moments.yaml", LIBRARY.replace("sqrt(variance)", "sqrt(varance)"))
    reads = write(tmp_path, "reads.yaml", "extends: moments.yaml\nname: r\nclass_name: R\nresult: spread\n")
    [error] = errors_of(reads)
    line = LIBRARY.splitlines().index("    spread: sqrt(variance)") + 1
    assert error.startswith(f"{parent.as_posix()}:{line}:18: error: unknown name 'varance'")
    skips = write(tmp_path, "skips.yaml", "extends: moments.yaml\nname: s\nclass_name: S\nresult: mean\n")
    compiled = compile_file(skips, tmp_path / "generated")
    assert compiled.ok and "sqrt" not in compiled.source  # the lets it never reads are not computed


def test_null_deletes_an_inherited_entry_or_part(base):
    child = write(
        base.parent,
        "child.yaml",
        """\
        extends: base.yaml
        name: child_mean
        class_name: ChildMean
        params: {offset: null}
        higher_is_better: null
        update:
          total: sum(sample_weights(y_pred) * y_pred * scale)
          count: sum(sample_weights(y_pred))
        """,
    )
    spec = spec_of(child)
    assert list(spec.params) == ["scale"]
    assert spec.higher_is_better is None


def test_a_deleted_part_that_is_required_is_refused_in_the_child(base):
    child = write(base.parent, "child.yaml", "extends: base.yaml\nname: c\nclass_name: C\ndescription: null\n")
    assert errors_of(child) == [f"{child}:1:1: error: missing required key 'description' in the spec"]


def test_a_chain_inherits_through_every_link(base):
    write(
        base.parent,
        "middle.yaml",
        "extends: base.yaml\nname: m\nclass_name: M\nparams: {offset: null}\n"
        "update: {total: sum(y_pred * scale), count: size(y_pred)}\n",
    )
    child = write(base.parent, "child.yaml", "extends: middle.yaml\nname: c\nclass_name: C\nresult: count\n")
    spec = spec_of(child)
    assert list(spec.params) == ["scale"] and spec.description == "The weighted mean of y_pred, times scale."
    assert spec.update.assignments["total"] == "sum(y_pred * scale)" and spec.result.value == "count"


def test_a_parent_in_another_folder_reads_its_own_parent_from_there(base):
    (base.parent / "lib").mkdir()
    write(base.parent / "lib", "middle.yaml", "extends: ../base.yaml\nname: m\nclass_name: M\n")
    child = write(base.parent, "child.yaml", "extends: lib/middle.yaml\nname: c\nclass_name: C\n")
    assert spec_of(child).result.value == "total / count"


def test_a_cycle_is_refused_at_the_extends_that_closes_it(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\nclass_name: A\n")
    b = write(tmp_path, "b.yaml", "name: b\nclass_name: B\nextends: a.yaml\n")
    [error] = errors_of(tmp_path / "a.yaml")
    assert error.startswith(f"{b.as_posix()}:3:10: error: extends 'a.yaml' makes a cycle")
    itself = write(tmp_path, "itself.yaml", "extends: itself.yaml\nname: i\nclass_name: I\n")
    assert errors_of(itself)[0].startswith(f"{itself}:1:10: error: extends 'itself.yaml' makes a cycle")


def test_a_file_name_with_a_colon_is_a_file_unless_a_catalogue_is_named(base):
    """Only the shipped catalogues' names (keras:, tfa:, torchmetrics:) name a catalogue before a colon:
    `base:v1.yaml` is a file beside the spec, and a name that is neither says what it looked for."""
    base.rename(base.parent / "base:v1.yaml")
    child = write(base.parent, "child.yaml", "extends: base:v1.yaml\nname: child_mean\nclass_name: ChildMean\n")
    assert spec_of(child).result == spec_of(base.parent / "base:v1.yaml").result
    missing = write(base.parent, "missing.yaml", "extends: base:v2.yaml\nname: m\nclass_name: M\n")
    [error] = errors_of(missing)
    assert error.startswith(f"{missing.as_posix()}:1:10: error: extends 'base:v2.yaml': no such spec file")
    assert "a catalogue spec is named after keras:, tfa:, torchmetrics:" in error
    not_shipped = write(base.parent, "not_shipped.yaml", "extends: keras:no_such.yaml\nname: n\nclass_name: N\n")
    assert "no catalogue spec file 'keras:no_such.yaml'" in errors_of(not_shipped)[0]


def test_a_chain_deeper_than_the_limit_is_refused(base):
    previous = "base.yaml"
    for depth in range(MAX_DEPTH + 1):
        write(base.parent, f"d{depth}.yaml", f"extends: {previous}\nname: d{depth}\nclass_name: D{depth}\n")
        previous = f"d{depth}.yaml"
    assert spec_of(base.parent / f"d{MAX_DEPTH - 2}.yaml").name == f"d{MAX_DEPTH - 2}"
    [error] = errors_of(base.parent / f"d{MAX_DEPTH}.yaml")
    assert f"more than {MAX_DEPTH} specs extend one another" in error


def test_a_missing_parent_is_refused_at_the_childs_extends_value(tmp_path):
    child = write(tmp_path, "child.yaml", "name: c\nclass_name: C\nextends:   nowhere.yaml\n")
    assert errors_of(child) == [
        f"{child}:3:12: error: extends 'nowhere.yaml': no such spec file (looked for {tmp_path.as_posix()}/nowhere.yaml)"
    ]
    catalogue = write(tmp_path, "cat.yaml", "extends: keras:NoSuchScore\nname: c\nclass_name: C\n")
    assert errors_of(catalogue) == [
        f"{catalogue}:1:10: error: no catalogue spec named 'keras:NoSuchScore' ('metricgen list --catalogue' lists them)"
    ]
    wrong_type = write(tmp_path, "list.yaml", "extends: [a.yaml]\nname: c\nclass_name: C\n")
    assert errors_of(wrong_type)[0].startswith(f"{wrong_type}:1:10: error: extends must name a spec")


def test_an_error_in_an_inherited_expression_is_located_in_the_parent(tmp_path):
    # the expression sits at different lines and columns in the two files, and quoted in the parent
    parent = write(
        tmp_path,
        "parent.yaml",
        BASE.replace("  total: sum(w * (y_pred * scale + offset))", '  total: "sum(w * (y_pred * scael + offset))"'),
    )
    child = write(tmp_path, "child.yaml", "# a comment\n\nextends: parent.yaml\nname: c\nclass_name: C\n")
    [error] = errors_of(child)
    line = BASE.splitlines().index("  total: sum(w * (y_pred * scale + offset))") + 1
    column = '  total: "sum(w * (y_pred * '.index("(y_pred * ") + len("(y_pred * ") + 1
    assert error.startswith(f"{parent.as_posix()}:{line}:{column}: error: unknown name 'scael'")


def test_an_error_in_an_inherited_block_expression_is_located_in_the_parent(tmp_path):
    parent = write(tmp_path, "parent.yaml", BASE.replace("result: total / count", "result: |\n      total / cout\n"))
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: c\nclass_name: C\n")
    [error] = errors_of(child)
    line = BASE.splitlines().index("result: total / count") + 2
    assert error.startswith(f"{parent.as_posix()}:{line}:15: error: unknown name 'cout'")


def test_a_schema_error_in_the_parent_is_located_in_the_parent(tmp_path):
    parent = write(tmp_path, "parent.yaml", BASE.replace("  count: {}", "  count: {dtype: flot}"))
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: c\nclass_name: C\n")
    [error] = errors_of(child)
    line = BASE.splitlines().index("  count: {}") + 1
    assert error.startswith(f"{parent.as_posix()}:{line}:18: error: invalid value 'flot' for state.count.dtype")


def test_an_error_in_the_child_is_located_in_the_child(base):
    child = write(base.parent, "child.yaml", "extends: base.yaml\nname: c\nclass_name: C\nresult: total / countt\n")
    [error] = errors_of(child)
    assert error.startswith(f"{child}:4:17: error: unknown name 'countt'")
    # an inherited expression that reads a param the child deleted: the parent's text, the child's doing
    child.write_text("extends: base.yaml\nname: c\nclass_name: C\nparams: {offset: null}\n", encoding="utf-8")
    [error] = errors_of(child)
    text = "  total: sum(w * (y_pred * scale + offset))"
    line, column = BASE.splitlines().index(text) + 1, text.index("offset") + 1
    assert error.startswith(f"{base.as_posix()}:{line}:{column}: error: unknown name 'offset'")


def test_the_built_child_matches_numpy(base, monkeypatch):
    write(
        base.parent,
        "scaled_mean.yaml",
        """\
        extends: base.yaml
        name: scaled_mean
        class_name: ScaledMean
        params:
          scale: {type: float, default: 3.0}
        examples:
          - batches: [{y_pred: [1.0, 3.0], sample_weight: [1.0, 3.0]}]
            expected: 7.5  # (1·3 + 3·9) / (1 + 3)
        """,
    )
    monkeypatch.chdir(base.parent)
    result = CliRunner().invoke(main, ["build", "scaled_mean.yaml"])
    assert result.exit_code == 0, result.output
    module = load_module(base.parent / "generated" / "scaled_mean.py", "extends_scaled_mean")
    assert "import" not in "".join(
        line for line in (base.parent / "generated" / "scaled_mean.py").read_text().splitlines() if "base" in line
    )  # self-contained: nothing of the parent's is imported
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=7), rng.uniform(0.1, 2.0, size=7)) for _ in range(3)]
    metric = module.ScaledMean(offset=0.5)
    for values, weights in batches:
        metric.update_state(values, sample_weight=weights)
    values, weights = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    expected = np.sum(weights * (values * 3.0 + 0.5)) / np.sum(weights)
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    assert CliRunner().invoke(main, ["test", "scaled_mean.yaml"]).exit_code == 0  # the child's own example


def test_a_changed_parent_makes_check_of_the_child_report_stale(base, monkeypatch):
    write(base.parent, "child.yaml", "extends: base.yaml\nname: child_mean\nclass_name: ChildMean\n")
    monkeypatch.chdir(base.parent)
    assert CliRunner().invoke(main, ["build", "child.yaml"]).exit_code == 0
    assert CliRunner().invoke(main, ["check", "child.yaml"]).exit_code == 0
    base.write_text(BASE.replace("default: 1.0,", "default: 4.0,"), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "child.yaml"])
    assert result.exit_code == 1
    assert any(line.startswith("+") and "scale=4.0" in line for line in result.output.splitlines())


def test_a_catalogue_parent_by_name(tmp_path):
    child = write(
        tmp_path,
        "f2.yaml",
        "extends: keras:FBetaScore\nname: f2_score\nclass_name: F2Score\nparams:\n"
        "  beta: {type: float, default: 2.0}\n",
    )
    spec = spec_of(child)
    assert list(spec.params) == ["average", "beta", "threshold"] and spec.params["beta"].default == 2.0
    assert spec.update == bundled.find("keras:FBetaScore").spec.update


def test_the_catalogue_specs_that_extend_load_as_their_keras_classes():
    f1, fbeta = bundled.find("keras:F1Score").spec, bundled.find("keras:FBetaScore").spec
    assert "extends: keras:FBetaScore" in bundled.find("keras:F1Score").text
    assert list(f1.params) == ["average", "threshold"] and f1.update == fbeta.update
    at_recall = bundled.find("keras:PrecisionAtRecall").spec
    assert list(at_recall.params) == ["recall", "num_thresholds", "class_id"]  # Keras' constructor order


def test_the_json_schema_asks_a_spec_that_extends_only_for_its_identity():
    schema = json_schema()
    child = yaml.safe_load((CATALOGUE / "f1_score.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(child, schema)  # no state, update...; `beta: null` deletes a param
    del child["extends"]
    with pytest.raises(jsonschema.ValidationError, match="'state' is a required property"):
        jsonschema.validate(child, schema)


@pytest.mark.parametrize(
    "reference, words",
    [
        ("/etc/passwd", "must be a relative path to a .yaml spec"),
        ("../../outside.yaml", "leads outside the project"),
        ("link.yaml", "leads outside the project"),  # a symlink out of the project
        ("token.json", "must be a relative path to a .yaml spec"),
        ("a" * 5000 + ".yaml", "cannot read it"),  # a name longer than the OS allows
    ],
)
def test_extends_reads_no_file_outside_the_project(tmp_path, reference, words):
    """A spec from a pull request must not make metricgen read (and quote in errors) other files."""
    project = tmp_path / "repo"
    (project / "specs").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    secret = "name: s\nclass_name: S\nroot:x:0:0: secret line\n"
    write(tmp_path, "outside.yaml", secret)
    write(project / "specs", "token.json", '{"token": "secret line"}')
    (project / "specs" / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    child = write(project / "specs", "child.yaml", f"extends: '{reference}'\nname: c\nclass_name: C\n")
    errors = errors_of(child)
    assert len(errors) == 1 and words in errors[0] and "child.yaml:1:10" in errors[0], errors
    assert "secret line" not in errors[0] and len(errors[0]) < 400


def test_a_parent_elsewhere_in_the_project_is_read(tmp_path):
    project = tmp_path / "repo"
    (project / "specs").mkdir(parents=True)
    (project / "common").mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    write(project / "common", "base.yaml", BASE)
    child = write(project / "specs", "child.yaml", "extends: ../common/base.yaml\nname: c\nclass_name: C\n")
    assert spec_of(child).result.value == "total / count"


def test_a_catalogue_base_is_found_from_a_catalogue_spec_and_from_a_copy(tmp_path, monkeypatch):
    """torchmetrics' BinaryAccuracy extends base/binary_stat_scores.yaml of its own folder: `list --catalogue`
    reads it (a bundled spec has no folder of its own), and a copy made by `new --from` names the base as
    torchmetrics:base/binary_stat_scores.yaml, which builds from the user's folder."""
    entry = bundled.find("torchmetrics:BinaryAccuracy")
    assert entry.spec.class_name == "BinaryAccuracy" and "threshold" in entry.spec.params
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(main, ["new", "my_accuracy", "--from", "torchmetrics:BinaryAccuracy"])
    assert made.exit_code == 0, made.output
    text = (tmp_path / "specs" / "my_accuracy.yaml").read_text(encoding="utf-8")
    assert "extends: torchmetrics:base/binary_stat_scores.yaml" in text
    built = runner.invoke(main, ["build", "--target", "jax", "specs/my_accuracy.yaml"])
    assert built.exit_code == 0, built.output
    y_true, y_pred = np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.9, 0.2, 0.3, 0.6])
    module = load_module(tmp_path / "generated" / "jax" / "my_accuracy.py", "copied_binary_accuracy")
    metric = module.MyAccuracy()
    np.testing.assert_allclose(float(metric.compute(metric.update(metric.init(), y_true, y_pred))), 0.5)


def test_a_catalogue_specs_relative_extends_cannot_leave_its_collection():
    from metricgen.inherit import resolve
    from metricgen.loader import load_spec_text

    spec = "extends: ../../keras/specs/f1_score.yaml\nname: x\nclass_name: X\n"
    with pytest.raises(SpecErrors) as caught:
        resolve(load_spec_text(spec, "torchmetrics:sneaky.yaml"))
    assert "leaves the catalogue" in caught.value.errors[0].format()
