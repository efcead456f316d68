"""Using metricgen in one's own repository: pyproject.toml's [tool.metricgen] table (build and check with no
paths cover every configured target), the catalogue shipped in the package (`new --from`, `list
--catalogue`), and the wheel itself, installed in a fresh environment and run from a folder outside this
checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from metricgen import bundled
from metricgen.cli import main
from metricgen.inherit import resolve
from metricgen.loader import load_spec_text
from metricgen.schema import validate_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_SPECS = sorted(ROOT.glob("catalogue/*/specs/*.yaml"))
COMMITTED_SCHEMA = ROOT / "docs" / "spec.schema.json"
THREE_TARGETS = """\
[project]
name = "model"

[tool.metricgen]
specs = ["specs"]
targets = ["tf", "keras", "torchmetrics"]

[tool.metricgen.out]
tf = "src/metrics"
torchmetrics = "src/tm"
"""
# Where each target's module lands under THREE_TARGETS (keras keeps the default out, generated/).
MODULES = {
    "tf": "src/metrics/dice.py",
    "keras": "generated/keras/dice.py",
    "torchmetrics": "src/tm/torchmetrics/dice.py",
}


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def catalogue_class(spec_file: Path) -> str:
    """The class a catalogue spec declares, read with PyYAML rather than metricgen's loader."""
    return yaml.safe_load(spec_file.read_text(encoding="utf-8"))["class_name"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A model repository with the shipped dice spec and the three-target configuration; nothing built."""
    (tmp_path / "specs").mkdir()
    shutil.copy(ROOT / "specs" / "dice.yaml", tmp_path / "specs" / "dice.yaml")
    (tmp_path / "pyproject.toml").write_text(THREE_TARGETS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """An empty folder with no pyproject.toml, as cwd."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- [tool.metricgen]: build and check with no paths ----------------------------------------------------------


def test_build_with_no_paths_writes_every_configured_target(project):
    result = cli("build")
    assert result.exit_code == 0, result.output
    for module in MODULES.values():
        assert (project / module).is_file(), module
    assert not (project / "generated" / "dice.py").exists()  # tf goes to its own folder, not the default


def test_no_paths_build_equals_one_explicit_build_per_target(project):
    assert cli("build").exit_code == 0
    configured = {t: (project / m).read_bytes() for t, m in MODULES.items()}
    for module in MODULES.values():
        (project / module).unlink()
    for target, out in (("tf", "src/metrics"), ("keras", "generated"), ("torchmetrics", "src/tm")):
        assert cli("build", "specs", "--target", target, "--out", out).exit_code == 0
    assert {t: (project / m).read_bytes() for t, m in MODULES.items()} == configured


def test_check_with_no_paths_finds_a_stale_module_of_any_target(project):
    """The issue: `metricgen check` (and the hook) looked at the tf modules only."""
    assert cli("build").exit_code == 0
    result = cli("check")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == "3 generated module(s) up to date"
    stale = project / MODULES["torchmetrics"]
    stale.write_text(stale.read_text(encoding="utf-8").replace("DO NOT EDIT", "edit freely"), encoding="utf-8")
    result = cli("check")
    assert result.exit_code == 1
    assert "src/tm/torchmetrics/dice.py: does not carry metricgen's header" in result.stderr
    assert result.stderr.splitlines()[-1] == "1 of 3 generated module(s) out of date: run 'metricgen build'"


def test_target_and_out_options_narrow_the_configuration(project):
    assert cli("build", "--target", "keras").exit_code == 0
    assert [p.relative_to(project).as_posix() for p in project.rglob("*.py")] == [MODULES["keras"]]
    result = cli("check", "--target", "keras")
    assert result.exit_code == 0 and result.stderr.splitlines()[-1] == "1 generated module(s) up to date"
    assert cli("build", "--out", "elsewhere").exit_code == 0
    assert (project / "elsewhere" / "dice.py").is_file() and (project / "elsewhere" / "keras" / "dice.py").is_file()


def test_the_configuration_is_found_from_a_subfolder(project, monkeypatch):
    (project / "notebooks" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project / "notebooks" / "deep")
    result = cli("build")
    assert result.exit_code == 0, result.output
    assert "wrote ../../src/metrics/dice.py" in result.stderr
    assert (project / MODULES["tf"]).is_file()
    assert cli("check").exit_code == 0


def test_a_nearer_pyproject_without_the_table_is_passed_over(project, monkeypatch):
    (project / "sub").mkdir()
    (project / "sub" / "pyproject.toml").write_text('[project]\nname = "sub"\n', encoding="utf-8")
    monkeypatch.chdir(project / "sub")
    assert cli("build").exit_code == 0
    assert (project / MODULES["keras"]).is_file()


def test_explicit_paths_work_as_before_and_ignore_the_configuration(project):
    (project / "pyproject.toml").write_text("[tool.metricgen]\nspecs = 3\n", encoding="utf-8")
    assert cli("build", "specs").exit_code == 0
    assert [p.relative_to(project).as_posix() for p in project.rglob("*.py")] == ["generated/dice.py"]
    assert cli("check", "specs").exit_code == 0


def test_no_configuration_means_specs_for_the_tf_target(bare):
    """What the pre-commit hook's former `args: [specs]` did: an existing user's hook keeps working."""
    (bare / "specs").mkdir()
    shutil.copy(ROOT / "specs" / "dice.yaml", bare / "specs" / "dice.yaml")
    assert cli("build").exit_code == 0
    assert [p.relative_to(bare).as_posix() for p in bare.rglob("*.py")] == ["generated/dice.py"]
    assert cli("check").exit_code == 0


def test_no_paths_no_configuration_and_no_specs_folder(bare):
    for command in ("build", "check"):
        result = cli(command)
        assert result.exit_code == 2
        assert result.stderr.startswith("metricgen: error: no paths given, no specs/ directory here")
        assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "table, expected",
    [
        (
            '[tool.metricgen]\nspecs = ["specs"]\ntarget = ["keras"]\n',
            "pyproject.toml:3:1: error: [tool.metricgen] unknown key 'target' (did you mean 'targets'?)",
        ),
        (
            '[tool.metricgen]\ntargets = ["tf", "pytorch"]\n',
            "pyproject.toml:2:1: error: [tool.metricgen] targets[1]: unknown target 'pytorch' "
            "(targets: tf, keras, torchmetrics, jax)",
        ),
        (
            '[tool.metricgen]\n  targets = ["kerass"]\n',
            "pyproject.toml:2:3: error: [tool.metricgen] targets[0]: unknown target 'kerass' (did you mean 'keras'?)",
        ),
        (
            "[tool.metricgen]\nspecs = []\n",
            "pyproject.toml:2:1: error: [tool.metricgen] specs: may not be empty",
        ),
        (
            "[tool.metricgen]\nspecs = [1]\n",
            "pyproject.toml:2:1: error: [tool.metricgen] specs[0]: expected a string, got 1",
        ),
        (
            '[tool.metricgen]\nout = ""\n',
            "pyproject.toml:2:1: error: [tool.metricgen] out: a path may not be empty",
        ),
        (
            "[tool.metricgen]\nout = 5\n",
            """pyproject.toml:2:1: error: [tool.metricgen] out: expected a folder (out = "generated") or a table """
            "of folders by target",
        ),
        (
            '[tool.metricgen]\n\n[tool.metricgen.out]\nkeras = "k"\nflax = "j"\n',
            "pyproject.toml:5:1: error: [tool.metricgen] out.flax: unknown target 'flax' (targets: tf, keras, "
            "torchmetrics, jax)",
        ),
        (
            "[tool]\nmetricgen = 1\n",
            "pyproject.toml: error: [tool.metricgen] must be a table",
        ),
        (
            '[tool.metricgen]\nspecs = ["specs"\n',
            "pyproject.toml:3:1: error: invalid TOML: Unclosed array",
        ),
    ],
)
def test_a_bad_configuration_is_one_located_line(project, table, expected):
    (project / "pyproject.toml").write_text(table, encoding="utf-8")
    for command in ("build", "check"):
        result = cli(command)
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines() == [expected]
    assert not (project / "generated").exists()


def test_a_bad_configuration_in_a_subprocess_has_no_traceback(project):
    (project / "pyproject.toml").write_text('[tool.metricgen]\ntargets = "tff"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "metricgen", "check"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr == (
        "pyproject.toml:2:1: error: [tool.metricgen] targets[0]: unknown target 'tff' (did you mean 'tf'?)\n"
    )


def test_the_pre_commit_hook_passes_no_paths():
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    assert hook["entry"] == "metricgen check" and "args" not in hook
    assert re.search(hook["files"], "pyproject.toml") and re.search(hook["files"], "sub/pyproject.toml")


# -- the catalogue: new --from, list --catalogue -------------------------------------------------------------


def test_new_from_an_unqualified_name_writes_the_renamed_spec_and_its_schema(bare):
    result = cli("new", "my_f1", "--from", "F1Score")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "wrote specs/spec.schema.json, the JSON Schema of specs for editors (metricgen schema)",
        "wrote specs/my_f1.yaml; build it with: metricgen build specs/my_f1.yaml",
    ]
    written = (bare / "specs" / "my_f1.yaml").read_text(encoding="utf-8")
    shipped = (ROOT / "catalogue" / "keras" / "specs" / "f1_score.yaml").read_text(encoding="utf-8")
    # the line-based edit: every shipped line but the schema hint, name and class_name is kept as it was
    kept = [line for line in shipped.splitlines() if not line.startswith(("# yaml-language-server", "name:", "class_"))]
    assert [line for line in written.splitlines()[2:] if not line.startswith(("name:", "class_"))] == kept
    data = yaml.safe_load(written)
    assert (data["name"], data["class_name"]) == ("my_f1", "MyF1")
    assert_schema_line_resolves(bare / "specs" / "my_f1.yaml", data)
    assert (bare / "specs" / "spec.schema.json").read_bytes() == COMMITTED_SCHEMA.read_bytes()


def assert_schema_line_resolves(spec_file: Path, data: dict) -> None:
    """The spec's first line names a schema file that exists, relative to the spec, and the spec passes it."""
    first = spec_file.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    schema = spec_file.parent / match[1]
    assert schema.is_file(), schema
    jsonschema.validate(data, json.loads(schema.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "origin, shipped",
    [
        ("keras:F1Score", "keras/specs/f1_score.yaml"),
        ("tfa:CohenKappa", "tfa/specs/cohen_kappa.yaml"),
        ("tfa:cohen_kappa", "tfa/specs/cohen_kappa.yaml"),
        ("HammingLoss", "tfa/specs/hamming_loss.yaml"),
    ],
)
def test_new_from_qualified_and_snake_case_names(bare, origin, shipped):
    result = cli("new", "ours", "--from", origin)
    assert result.exit_code == 0, result.output
    written = (bare / "specs" / "ours.yaml").read_text(encoding="utf-8")
    spec = validate_spec(resolve(load_spec_text(written, "ours.yaml")))  # keras:F1Score extends FBetaScore
    assert (spec.name, spec.class_name) == ("ours", "Ours")
    original = yaml.safe_load((ROOT / "catalogue" / shipped).read_text(encoding="utf-8"))
    assert {**yaml.safe_load(written), "name": original["name"], "class_name": original["class_name"]} == original


def test_new_from_uses_the_projects_schema_and_folder(project):
    (project / "pyproject.toml").write_text('[tool.metricgen]\nspecs = ["metrics/specs"]\n', encoding="utf-8")
    (project / "metrics").mkdir()
    (project / "metrics" / "docs").mkdir()
    (project / "metrics" / "docs" / "spec.schema.json").write_bytes(COMMITTED_SCHEMA.read_bytes())
    assert cli("new", "kappa", "--from", "tfa:CohenKappa").exit_code == 0
    spec_file = project / "metrics" / "specs" / "kappa.yaml"
    assert spec_file.read_text(encoding="utf-8").splitlines()[0] == (
        "# yaml-language-server: $schema=../docs/spec.schema.json"
    )
    assert not (project / "metrics" / "specs" / "spec.schema.json").exists()
    assert_schema_line_resolves(spec_file, yaml.safe_load(spec_file.read_text(encoding="utf-8")))


def test_new_from_builds_and_the_class_computes_keras_f1(bare):
    """The copied spec builds with no paths given, and the class computes what keras.metrics.F1Score does."""
    tf = pytest.importorskip("tensorflow")
    assert cli("new", "my_f1", "--from", "keras:F1Score").exit_code == 0
    assert cli("build").exit_code == 0
    from support import load_module

    MyF1 = load_module(bare / "generated" / "my_f1.py", "project_test_my_f1").MyF1
    y_true, y_pred = [[1, 0, 1], [0, 1, 0], [1, 1, 0]], [[0.9, 0.2, 0.6], [0.3, 0.4, 0.8], [0.7, 0.6, 0.1]]
    ours, keras = MyF1(average="macro", threshold=0.5), tf.keras.metrics.F1Score(average="macro", threshold=0.5)
    for metric in (ours, keras):
        metric.update_state(tf.constant(y_true, tf.float32), tf.constant(y_pred, tf.float32))
    assert float(ours.result()) == pytest.approx(float(keras.result()), abs=1e-6)


def test_new_from_never_overwrites(bare):
    (bare / "specs").mkdir()
    (bare / "specs" / "spec.schema.json").write_text('{"mine": true}', encoding="utf-8")
    (bare / "specs" / "taken.yml").write_text("mine\n", encoding="utf-8")
    result = cli("new", "taken", "--from", "F1Score")
    assert result.exit_code == 2
    assert (
        result.stderr
        == "specs/taken.yml: error: specs/taken.yml already exists (pick another name, or edit that spec)\n"
    )
    assert cli("new", "free", "--from", "F1Score").exit_code == 0
    assert (bare / "specs" / "spec.schema.json").read_text(encoding="utf-8") == '{"mine": true}'
    before = (bare / "specs" / "free.yaml").read_bytes()
    assert cli("new", "free", "--from", "tfa:CohenKappa").exit_code == 2
    assert (bare / "specs" / "free.yaml").read_bytes() == before
    assert sorted(p.name for p in (bare / "specs").iterdir()) == ["free.yaml", "spec.schema.json", "taken.yml"]


@pytest.mark.parametrize(
    "origin, expected",
    [
        ("F1Scor", "--from: error: no metric 'F1Scor' in metricgen's catalogue (did you mean 'F1Score'?)"),
        (
            "keras:CohenKappa",
            "--from: error: no metric 'keras:CohenKappa' in metricgen's catalogue (it is tfa:CohenKappa)",
        ),
        ("kears:F1Score", "--from: error: no catalogue named 'kears' (did you mean 'keras'?)"),
        (
            "Zzzzzz",
            "--from: error: no metric 'Zzzzzz' in metricgen's catalogue (metricgen list --catalogue lists them)",
        ),
    ],
)
def test_new_from_an_unknown_name(bare, origin, expected):
    result = cli("new", "mine", "--from", origin)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [expected]
    assert not (bare / "specs").exists()


@pytest.fixture
def two_catalogues(tmp_path, monkeypatch):
    """A catalogue where two collections hold an F1Score, as keras and torchmetrics will."""
    for collection in ("keras", "torchmetrics"):
        (tmp_path / "cat" / collection / "specs").mkdir(parents=True)
        shutil.copy(ROOT / "catalogue" / "keras" / "specs" / "f1_score.yaml", tmp_path / "cat" / collection / "specs")
    monkeypatch.setattr(bundled, "catalogue_root", lambda: tmp_path / "cat")
    bundled.entries.cache_clear()
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    bundled.entries.cache_clear()


def test_new_from_an_ambiguous_name_lists_the_qualified_choices(two_catalogues):
    result = cli("new", "mine", "--from", "F1Score")
    assert result.exit_code == 2
    assert result.stderr == (
        "--from: error: 'F1Score' is in several catalogues: keras:F1Score, torchmetrics:F1Score (name one of them)\n"
    )
    assert cli("new", "mine", "--from", "torchmetrics:F1Score").exit_code == 0
    assert "torchmetrics:F1Score" in (two_catalogues / "specs" / "mine.yaml").read_text(encoding="utf-8")


def test_every_catalogue_spec_renames_to_a_valid_spec():
    entries = bundled.entries()
    assert len(entries) == len(CATALOGUE_SPECS)
    for entry in entries:
        text = bundled.renamed(entry, "renamed_metric", "RenamedMetric", "# yaml-language-server: $schema=x.json")
        spec = validate_spec(resolve(load_spec_text(text, entry.qualified)))
        assert (spec.name, spec.class_name, spec.description) == (
            "renamed_metric",
            "RenamedMetric",
            entry.spec.description,
        )


def test_list_catalogue_has_one_line_per_shipped_spec(bare):
    result = cli("list", "--catalogue")
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == [f"{f.parent.parent.name}:{catalogue_class(f)}" for f in CATALOGUE_SPECS]
    f1 = next(line for line in result.stdout.splitlines() if line.startswith("keras:F1Score "))
    assert f1.split(None, 1)[1].startswith("The F-1 score (the weighted harmonic mean of precision and recall")
    assert all(len(line) <= 140 for line in result.stdout.splitlines())


def test_list_catalogue_takes_no_path(bare):
    result = cli("list", "specs", "--catalogue")
    assert result.exit_code == 2
    assert "--catalogue lists metricgen's own specs: give no PATH with it" in result.stderr


# -- the wheel ---------------------------------------------------------------------------------------------------


def test_every_catalogue_ships_in_the_wheel_and_the_sdist():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]["targets"]
    folders = sorted({f.parent.relative_to(ROOT).as_posix() for f in CATALOGUE_SPECS})
    assert folders == ["catalogue/keras/specs", "catalogue/tfa/specs"] or len(folders) > 2
    force_include = config["wheel"]["force-include"]
    for folder in folders:
        assert force_include.get(folder) == f"metricgen/{folder}", folder
    assert "catalogue/*/specs" in config["sdist"]["include"]


PROBE = """
import json, sys
from importlib import resources
import numpy as np
import tensorflow as tf
import metricgen
from metricgen import bundled
sys.path.insert(0, "generated")
from my_f1 import MyF1
y_true = np.eye(4)[[0, 1, 2, 3, 1, 2, 0, 3, 3]].astype("float32")
y_pred = np.random.default_rng(0).random((9, 4)).astype("float32")
ours, keras = MyF1(average="weighted"), tf.keras.metrics.F1Score(average="weighted")
for metric in (ours, keras):
    metric.update_state(y_true, y_pred)
print(json.dumps({
    "metricgen": metricgen.__file__,
    "catalogue": str(bundled.catalogue_root()),
    "packaged": (resources.files("metricgen") / "catalogue" / "tfa" / "specs" / "cohen_kappa.yaml").is_file(),
    "ours": float(ours.result()),
    "keras": float(keras.result()),
}))
"""


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        """The environment a user's shell would have with the venv activated: its bin/ first on PATH."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return env | {"PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory) -> InstalledWheel:
    """This checkout built into a wheel, once a session, and installed alone into a new venv.

    The venv gets its dependencies from the test environment through a .pth line: `--system-site-packages`
    would reach the base interpreter's, not this venv's, and an install from the index would not be offline.
    A folder a .pth line adds has its own .pth files ignored, so this checkout's editable hook stays out."""
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling (the test extra installs it)")
    pytest.importorskip("tensorflow")
    root = tmp_path_factory.mktemp("installed_wheel")
    wheels = root / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, ROOT],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("metricgen-*.whl")

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    installed = InstalledWheel(wheel, venv)
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", installed.python, "install", "--no-deps", "--no-index", "-q", wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    site = Path(
        subprocess.check_output(
            [installed.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    (site / "test_environment.pth").write_text("\n".join(p for p in sys.path if p.endswith("site-packages")) + "\n")
    return installed


def test_the_installed_wheel_in_a_fresh_environment(installed_wheel, tmp_path):
    """From a folder that is not this checkout, with the wheel installed alone, make a spec from the catalogue,
    build it with no paths, and use the class with TensorFlow."""
    names = zipfile.ZipFile(installed_wheel.wheel).namelist()
    for spec_file in CATALOGUE_SPECS:
        assert f"metricgen/{spec_file.relative_to(ROOT).as_posix()}" in names, spec_file
    assert not [n for n in names if n.startswith("catalogue/") or "/generated/" in n]

    venv, python = installed_wheel.venv, installed_wheel.python
    model = tmp_path / "model"
    model.mkdir()
    env = installed_wheel.env()
    for command in (["new", "my_f1", "--from", "F1Score"], ["build"]):
        step = subprocess.run(
            [venv / "bin" / "metricgen", *command], cwd=model, env=env, capture_output=True, text=True, timeout=300
        )
        assert step.returncode == 0, (command, step.stderr)
    assert (model / "specs" / "spec.schema.json").is_file()
    probe = subprocess.run([python, "-c", PROBE], cwd=model, env=env, capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.splitlines()[-1])
    assert Path(found["metricgen"]).is_relative_to(venv), found
    assert Path(found["catalogue"]).is_relative_to(venv) and found["packaged"], found
    assert found["ours"] == pytest.approx(found["keras"], abs=1e-6)
    assert 0 < found["keras"] < 1


# -- the README's quick start, as written ------------------------------------------------------------------------


def quick_start_blocks() -> list[tuple[str, str]]:
    """The fenced blocks of the README's quick start, in order, as (language, text)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```(\w+)\n(.*?)^```$", section, re.S | re.M)


def console_steps(block: str) -> list[tuple[str, list[str]]]:
    """A ```console block's commands (the lines after `$ `), each with the output lines shown under it."""
    steps = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


# After the quick start's Python, in the same process: what it printed, checked against Keras' own F1Score and
# numpy on the model's predictions (independent of metricgen), and the loaded model's classes.
QUICK_START_PROBE = """
import json
before = model.evaluate(x, y, return_dict=True, verbose=0)
after = restored.evaluate(x, y, return_dict=True, verbose=0)
scores = model.predict(x, verbose=0)
reference = keras.metrics.F1Score(average="macro", threshold=0.5)
reference.update_state(y, scores)
print(json.dumps({
    "before": before,
    "after": after,
    "keras_f1": float(reference.result()),
    "numpy_accuracy": float(((scores > 0.5) == (y > 0.5)).mean()),
    "loaded": restored is not model,
    "restored_metrics": sorted(type(m).__name__ for top in restored.metrics for m in [top, *getattr(top, "metrics", [])]),
    "metricgen": __import__("metricgen").__file__,
}))
"""


def test_the_readme_quick_start_runs_as_written(installed_wheel, tmp_path):
    """The README's quick start, block by block, in an empty folder with the wheel installed: each `$ ` command
    runs in a shell and shows (at least) the output the README shows under it; the TOML is the project's
    pyproject.toml; the Python trains, saves and loads a model with the generated metrics; the pre-commit
    configuration names metricgen's hook at this version's tag.

    The one `pip install` line is not run: the fixture has installed this checkout's wheel instead (its
    dependencies come from the test environment, offline), and the test checks that it names an extra that
    exists."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    model = tmp_path / "model"
    model.mkdir()
    env = installed_wheel.env()
    (model / "pyproject.toml").write_text('[project]\nname = "model"\n', encoding="utf-8")
    blocks = quick_start_blocks()
    # every block is run or checked: a block in another language would be one the test ignores
    assert {language for language, _ in blocks} == {"console", "python", "toml", "yaml"}, blocks
    skipped, printed = [], None
    for language, block in blocks:
        if language == "console":
            for command, shown in console_steps(block):
                if command.startswith("pip install "):
                    skipped.append(command)
                    continue
                ran = subprocess.run(
                    ["bash", "-c", command], cwd=model, env=env, capture_output=True, text=True, timeout=600
                )
                assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
                lines = (ran.stdout + ran.stderr).splitlines()
                assert [line for line in shown if line not in lines] == [], (command, lines)
        elif language == "toml":
            with open(model / "pyproject.toml", "a", encoding="utf-8") as pyproject:
                pyproject.write("\n" + block)
        elif language == "python":
            (model / "quickstart.py").write_text(block + QUICK_START_PROBE, encoding="utf-8")
            ran = subprocess.run(
                [installed_wheel.python, "quickstart.py"],
                cwd=model,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert ran.returncode == 0, ran.stderr
            printed = json.loads(ran.stdout.splitlines()[-1])
        elif language == "yaml":
            hook_ids = [h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))]
            version = subprocess.run(
                ["metricgen", "--version"], env=env, capture_output=True, text=True, timeout=120
            ).stdout
            (repo,) = yaml.safe_load(block)["repos"]
            assert repo["rev"] == "v" + version.split()[-1]
            assert [hook["id"] for hook in repo["hooks"]] == ["metricgen-check"] and "metricgen-check" in hook_ids
    (install,) = skipped
    assert re.fullmatch(r'pip install "metricgen\[(\w+)\]"', install)[1] in extras

    assert Path(printed["metricgen"]).is_relative_to(installed_wheel.venv)
    assert printed["loaded"] and {"MacroF1", "LabelAccuracy"} <= set(printed["restored_metrics"])
    before, after = printed["before"], printed["after"]
    assert set(before) == {"loss", "macro_f1", "label_accuracy"}
    assert after == pytest.approx(before, abs=1e-6)
    assert before["macro_f1"] == pytest.approx(printed["keras_f1"], abs=1e-6)
    assert before["label_accuracy"] == pytest.approx(printed["numpy_accuracy"], abs=1e-6)
    for module in ("macro_f1", "label_accuracy", "keras/macro_f1", "keras/label_accuracy"):
        assert (model / "generated" / f"{module}.py").is_file(), module


def test_a_pyproject_whose_tool_key_is_not_a_table_is_passed_over(bare):
    """`tool = 5` in some pyproject.toml above is another program's business: no traceback, the defaults."""
    (bare / "pyproject.toml").write_text("tool = 5\n", encoding="utf-8")
    (bare / "specs").mkdir()
    shutil.copy(ROOT / "specs" / "dice.yaml", bare / "specs" / "dice.yaml")
    result = cli("build")
    assert result.exit_code == 0, result.output
    assert [p.relative_to(bare).as_posix() for p in bare.rglob("*.py")] == ["generated/dice.py"]
