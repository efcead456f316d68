"""Build records (metricgen/records.py): a spec nothing has changed since is not compiled again, and anything that
changes a module (the spec, a spec it extends, the module on disk, metricgen itself) compiles it again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from metricgen import cli, compiler, records

PARENT = """\
name: base_rate
class_name: BaseRate
description: The fraction of predictions above 0.5 whose label is 1.
inputs: [y_true, y_pred]
state:
  hits: {}
  count: {}
update:
  hits: weighted_sum(cast(y_pred > 0.5, float) * y_true)
  count: weighted_sum(cast(y_pred > 0.5, float))
result: hits / count
"""
CHILD = """\
extends: base.yaml
name: hit_rate
class_name: HitRate
"""
OTHER = """\
name: other_rate
class_name: OtherRate
description: The weighted sum of the predictions.
inputs: [y_true, y_pred]
state:
  total: {}
update:
  total: weighted_sum(y_pred)
result: total
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A model repository with two specs (one extending a third file), a cache folder of its own, and a count
    of the specs compiled in this process."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'models'\n")
    specs = tmp_path / "specs"
    (specs / "common").mkdir(parents=True)
    (specs / "common" / "base.yaml").write_text(PARENT)
    (specs / "hit_rate.yaml").write_text(CHILD.replace("base.yaml", "common/base.yaml"))
    (specs / "other_rate.yaml").write_text(OTHER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METRICGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("METRICGEN_CACHE_KEY", str(tmp_path / "config" / "cache-key"))
    compiled: list[str] = []
    real = compiler.compile_file

    def counting(spec_file, *args, **kwargs):
        compiled.append(Path(spec_file).name)
        return real(spec_file, *args, **kwargs)

    monkeypatch.setattr(compiler, "compile_file", counting)
    return tmp_path, compiled


def run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_an_unchanged_build_compiles_nothing_and_writes_nothing(project):
    root, compiled = project
    first = run("build", "specs/")
    assert first.exit_code == 0, first.output
    assert sorted(compiled) == ["hit_rate.yaml", "other_rate.yaml"]
    written = {p: p.stat().st_mtime_ns for p in (root / "generated").glob("*.py")}
    compiled.clear()
    again = run("build", "specs/")
    assert again.exit_code == 0, again.output
    assert compiled == []
    assert again.output.count("unchanged") == 2
    assert {p: p.stat().st_mtime_ns for p in (root / "generated").glob("*.py")} == written
    checked = run("check", "specs/")
    assert checked.exit_code == 0 and compiled == [], checked.output


def test_a_changed_spec_or_parent_compiles_again(project):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    compiled.clear()
    (root / "specs" / "common" / "base.yaml").write_text(PARENT.replace("> 0.5", "> 0.25"))
    assert run("build", "specs/").exit_code == 0
    assert compiled == ["hit_rate.yaml"]  # the spec that extends it, and only that one
    assert "0.25" in (root / "generated" / "hit_rate.py").read_text()
    compiled.clear()
    (root / "specs" / "other_rate.yaml").write_text(OTHER.replace("weighted_sum(y_pred)", "weighted_sum(y_true)"))
    assert run("check", "specs/").exit_code == 1  # stale, found by compiling it
    assert compiled == ["other_rate.yaml"]


def test_a_module_edited_by_hand_is_compiled_and_rewritten(project):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    module = root / "generated" / "other_rate.py"
    original = module.read_text()
    module.write_text(original.replace("total", "totel"))
    compiled.clear()
    stale = run("check", "specs/")  # the module store gives the module the spec compiles to: no compile needed
    assert stale.exit_code == 1 and compiled == [], stale.output
    assert run("build", "specs/").exit_code == 0
    assert module.read_text() == original


def test_a_damaged_or_foreign_record_is_not_trusted(project):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    folder = root / "cache" / "builds"
    saved = sorted(folder.glob("*.json"))  # a record per spec
    assert len(saved) == 2
    saved[0].write_text("{not json")
    saved[1].write_text(json.dumps({**json.loads(saved[1].read_text()), "output": "0" * 64}))  # other bytes
    compiled.clear()
    assert run("build", "specs/").exit_code == 0
    assert sorted(compiled) == ["hit_rate.yaml", "other_rate.yaml"]


def test_a_planted_record_does_not_let_a_module_edited_by_hand_pass_check(project):
    """Whoever can write the cache (a CI cache restored from a pull request's run) could plant a record that
    vouches for a module edited by hand, with no inputs to check: records are signed with the user's key, so
    check compiles the spec and finds the module stale."""
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    module = root / "generated" / "other_rate.py"
    edited = module.read_text().replace("total", "totel")
    module.write_text(edited)
    import hashlib

    for path in (root / "cache" / "builds").glob("*.json"):
        record = json.loads(path.read_text())
        path.write_text(json.dumps({**record, "inputs": {}, "output": hashlib.sha256(edited.encode()).hexdigest()}))
    stale = run("check", "specs/")
    assert stale.exit_code == 1 and "other_rate" in stale.output, stale.output


def test_another_generator_compiles_again(project, monkeypatch):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    monkeypatch.setattr(records, "generator_fingerprint", lambda: "another metricgen")
    compiled.clear()
    assert run("build", "specs/").exit_code == 0
    assert sorted(compiled) == ["hit_rate.yaml", "other_rate.yaml"]


def test_another_cost_limit_compiles_again(project, monkeypatch):
    """METRICGEN_MAX_STATE_ELEMENTS decides whether a spec builds: a record made under one limit is not used
    under another."""
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    monkeypatch.setenv("METRICGEN_MAX_STATE_ELEMENTS", "0")
    compiled.clear()
    refused = run("build", "specs/")
    assert sorted(compiled) == ["hit_rate.yaml", "other_rate.yaml"]
    assert refused.exit_code == 2, refused.output


def test_another_target_compiles_again(project):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    compiled.clear()
    assert run("build", "specs/", "--target", "keras").exit_code == 0
    assert len(compiled) == 2


# -- the module store: modules not on disk (another output folder, an emptied one) ------------------------------


def test_another_output_folder_takes_the_stored_modules_without_compiling(project):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    compiled.clear()
    assert run("build", "specs/", "--out", "elsewhere").exit_code == 0
    assert compiled == []
    for module in (root / "generated").glob("*.py"):
        assert (root / "elsewhere" / module.name).read_bytes() == module.read_bytes()
    compiled.clear()
    assert run("build", "specs/", "--out", "elsewhere").exit_code == 0  # and recorded there: up to date
    assert run("check", "specs/", "--out", "elsewhere").exit_code == 0
    (root / "specs" / "other_rate.yaml").write_text(OTHER.replace("weighted sum", "sum"))  # a change compiles
    assert run("build", "specs/", "--out", "third").exit_code == 0
    assert compiled == ["other_rate.yaml"]


def _entries(root: Path) -> list[Path]:
    return sorted((root / "cache" / "builds" / "modules").iterdir())


def _records(root: Path) -> list[Path]:
    """The records, one a spec, each naming the module its spec compiles to."""
    return sorted((root / "cache" / "builds").glob("*.json"))


@pytest.mark.parametrize(
    "attack", ["edited", "swapped", "other_key", "forged", "damaged", "no_key", "key_readable_by_others"]
)
def test_a_stored_module_this_users_key_did_not_sign_is_compiled(project, monkeypatch, attack):
    """The store holds code, so an entry is used only with the digest its record names, the record signed
    (an HMAC of its name, inputs and digest) under this user's key: an entry edited in the cache, records
    swapped between two specs (each pointing at a genuine module, the other spec's), a cache signed under another
    key (another machine's, a CI cache), an entry forged with the right digest and a signature of the forger's
    own, are compiled again; so is every spec where there is no key, or one that others can read."""
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    genuine = {p.name: p.read_bytes() for p in (root / "generated").glob("*.py")}
    key = root / "config" / "cache-key"
    if attack == "edited":  # the code changed, the record kept
        for entry in _entries(root):
            entry.write_bytes(entry.read_bytes().replace(b"import ", b"import os; os.system('x'); import ", 1))
    elif attack == "swapped":  # each record given the other's (signed) content: genuine modules, the wrong specs'
        saved = [json.loads(p.read_text()) for p in _records(root)]
        for path, record in zip(_records(root), saved[::-1]):
            path.write_text(json.dumps(record))
    elif attack == "other_key":
        key.write_bytes(os.urandom(32))
        records._key_at.cache_clear()
    elif attack == "forged":  # the digest right, the signature under the forger's key
        import hashlib
        import hmac

        for path in (root / "cache" / "builds").glob("*.json"):
            record = json.loads(path.read_text())
            module = b"import os\nos.system('x')\n"
            record["output"] = hashlib.sha256(module).hexdigest()
            (root / "cache" / "builds" / "modules" / record["output"]).write_bytes(module)
            signed = json.dumps(
                [path.stem, record["inputs"], record["output"], record["registered_as"]], sort_keys=True
            )
            record["signature"] = hmac.new(b"f" * 32, signed.encode(), hashlib.sha256).hexdigest()
            path.write_text(json.dumps(record))
    elif attack == "damaged":  # records too deep for json, entries turned into folders: no traceback either
        for path in (root / "cache" / "builds").glob("*.json"):
            path.write_text("[" * 200_000 + "]" * 200_000)
        for entry in _entries(root):
            entry.unlink()
            entry.mkdir()
    elif attack == "no_key":
        monkeypatch.setenv("METRICGEN_CACHE_KEY", "")
    else:
        key.chmod(0o644)
        records._key_at.cache_clear()
    compiled.clear()
    assert run("build", "specs/", "--out", "elsewhere").exit_code == 0
    assert sorted(compiled) == ["hit_rate.yaml", "other_rate.yaml"]
    assert {p.name: p.read_bytes() for p in (root / "elsewhere").glob("*.py")} == genuine


def test_the_key_is_made_once_readable_by_the_user_alone(project):
    root, _ = project
    assert run("build", "specs/").exit_code == 0
    key = root / "config" / "cache-key"
    made = key.read_bytes()
    assert len(made) == 32 and key.stat().st_mode & 0o777 == 0o600
    records._key_at.cache_clear()
    assert run("build", "specs/", "--out", "elsewhere").exit_code == 0
    assert key.read_bytes() == made


def test_no_cache_folder_keeps_no_records(project, monkeypatch):
    root, compiled = project
    monkeypatch.setenv("METRICGEN_CACHE_DIR", "")
    assert run("build", "specs/").exit_code == 0
    compiled.clear()
    assert run("build", "specs/").exit_code == 0
    assert len(compiled) == 2
    assert not (root / "cache").exists()


def test_a_class_clash_is_found_among_recorded_modules(project):
    """Two specs built apart, then together: both come from records, and their class clash is still refused."""
    root, compiled = project
    (root / "specs" / "twin_rate.yaml").write_text(OTHER.replace("name: other_rate", "name: twin_rate"))
    assert run("build", "specs/other_rate.yaml").exit_code == 0
    assert run("build", "specs/twin_rate.yaml").exit_code == 0
    compiled.clear()
    both = run("build", "specs/other_rate.yaml", "specs/twin_rate.yaml")
    assert both.exit_code == 2 and compiled == []
    assert "both define the Keras class" in both.output


def test_stdout_prints_a_recorded_module(project):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    compiled.clear()
    printed = run("build", "specs/other_rate.yaml", "--stdout")
    assert printed.exit_code == 0 and compiled == []
    assert (root / "generated" / "other_rate.py").read_text() in printed.output


def test_an_up_to_date_build_loads_no_compiler(project):
    """What makes a no-op build fast: with every module recorded, neither the compiler nor pydantic, Jinja2 or
    black is imported (a fresh process, as a user runs it)."""
    root, _ = project
    probe = (
        "import sys; from click.testing import CliRunner; from metricgen.cli import main; "
        "r = CliRunner().invoke(main, sys.argv[1:]); "
        "print(r.exit_code, *sorted(m for m in ('metricgen.compiler', 'pydantic', 'jinja2', 'black') if m in sys.modules))"
    )
    env = {**os.environ, "METRICGEN_CACHE_DIR": str(root / "cache")}
    commands = (
        (["build", "specs/"], True),
        (["build", "specs/"], False),
        (["check", "specs/"], False),
        (["build", "specs/", "--out", "elsewhere"], False),  # from the module store
    )
    for command, loaded in commands:
        done = subprocess.run(
            [sys.executable, "-c", probe, *command], cwd=root, env=env, capture_output=True, text=True
        )
        exit_code, *imported = done.stdout.split()
        assert exit_code == "0", done.stderr[-2000:]
        assert set(imported) == ({"metricgen.compiler", "pydantic", "jinja2"} if loaded else set()), command


# -- what a second reader found (a red-team run against the first version) ------------------------------------


def test_a_template_edit_changes_the_fingerprint(tmp_path, monkeypatch):
    """The templates live outside the package in a source checkout: they are part of the generator too."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "tf_metric.py.j2").write_text("v1")
    monkeypatch.setattr(records, "templates_dir", lambda: templates)
    records.generator_fingerprint.cache_clear()
    before = records.generator_fingerprint()
    (templates / "tf_metric.py.j2").write_text("v2")
    records.generator_fingerprint.cache_clear()
    try:
        assert records.generator_fingerprint() != before
    finally:
        records.generator_fingerprint.cache_clear()


def test_a_parent_reached_through_a_retargeted_symlink_compiles_again(project):
    root, compiled = project
    common = root / "specs" / "common"
    (common / "v2.yaml").write_text(PARENT.replace("> 0.5", "> 0.75"))
    (common / "base.yaml").rename(common / "v1.yaml")
    (common / "base.yaml").symlink_to("v1.yaml")
    assert run("build", "specs/").exit_code == 0
    (common / "base.yaml").unlink()
    (common / "base.yaml").symlink_to("v2.yaml")
    compiled.clear()
    assert run("check", "specs/").exit_code == 1 and compiled == ["hit_rate.yaml"]


def test_one_spec_reached_through_two_folders_is_two_records(project):
    """`extends:` is read from the folder a spec is reached through: a/ and b/ link to one spec, each beside
    its own base.yaml."""
    root, compiled = project
    shared = root / "specs" / "shared"
    shared.mkdir()
    (shared / "rate.yaml").write_text(CHILD)
    for folder, threshold in (("a", "0.5"), ("b", "0.75")):
        (root / "specs" / folder).mkdir()
        (root / "specs" / folder / "base.yaml").write_text(PARENT.replace("0.5", threshold))
        (root / "specs" / folder / "rate.yaml").symlink_to(shared / "rate.yaml")
    assert run("build", "specs/a/rate.yaml").exit_code == 0
    compiled.clear()
    assert run("check", "specs/b/rate.yaml").exit_code == 1 and compiled == ["rate.yaml"]


def test_a_parent_moved_out_of_the_project_is_refused_again(project, tmp_path_factory):
    root, compiled = project
    outside = tmp_path_factory.mktemp("outside")
    assert run("build", "specs/").exit_code == 0
    (root / "specs" / "common").rename(outside / "common")
    (root / "specs" / "common").symlink_to(outside / "common")
    refused = run("check", "specs/")
    assert refused.exit_code == 2 and "leads outside the project" in refused.output


def test_a_parent_named_like_a_catalogue_spec_is_an_input(project):
    root, compiled = project
    (root / "specs" / "base:v1.yaml").write_text(PARENT)
    (root / "specs" / "hit_rate.yaml").write_text(CHILD.replace("base.yaml", "./base:v1.yaml"))
    assert run("build", "specs/hit_rate.yaml").exit_code == 0
    (root / "specs" / "base:v1.yaml").write_text(PARENT.replace("> 0.5", "> 0.75"))
    compiled.clear()
    assert run("check", "specs/hit_rate.yaml").exit_code == 1 and compiled == ["hit_rate.yaml"]


def test_a_parent_turned_into_a_device_is_not_read(project):
    """A pull request can carry a symlink to /dev/zero where a parent was: reading it whole would never end."""
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    base = root / "specs" / "common" / "base.yaml"
    base.unlink()
    base.symlink_to("/dev/zero")
    refused = run("check", "specs/")
    assert refused.exit_code == 2 and "Traceback" not in refused.output, refused.output


def test_a_record_too_deep_for_json_or_in_the_way_is_no_traceback(project):
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    folder = root / "cache" / "builds"
    saved = sorted(folder.glob("*.json"))
    for path in saved[::2]:
        path.write_text("[" * 200_000 + "]" * 200_000)
    for path in saved[1::2]:
        path.unlink()
        path.mkdir()  # where the record would be written: the write fails, and leaves nothing behind
    compiled.clear()
    again = run("build", "specs/")
    assert again.exit_code == 0 and "Traceback" not in again.output
    assert len(compiled) == 2
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_what_is_planted_in_the_cache_is_neither_read_blocking_nor_written_through(project, tmp_path_factory):
    """A FIFO where a module entry is (opening it to read would wait for ever), the store folder replaced by a
    link to the user's files (pruning would delete the oldest of them): the build compiles, in time, and leaves
    the link's files as they were (a red-team find)."""
    root, compiled = project
    assert run("build", "specs/").exit_code == 0
    entry = _entries(root)[0]
    entry.unlink()
    os.mkfifo(entry)
    done = subprocess.run(
        [sys.executable, "-m", "metricgen", "build", "specs/", "--out", "fifo"],
        cwd=root,
        env={
            **os.environ,
            "METRICGEN_CACHE_DIR": str(root / "cache"),
            "METRICGEN_CACHE_KEY": str(root / "config" / "cache-key"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    victim = tmp_path_factory.mktemp("victim")
    for i in range(5):
        (victim / f"doc{i}.txt").write_text("x")
    store = root / "cache" / "builds" / "modules"
    for path in store.iterdir():
        path.unlink()
    store.rmdir()
    store.symlink_to(victim, target_is_directory=True)
    compiled.clear()
    assert run("build", "specs/", "--out", "linked").exit_code == 0
    assert sorted(compiled) == ["hit_rate.yaml", "other_rate.yaml"]
    assert sorted(p.name for p in victim.iterdir()) == [f"doc{i}.txt" for i in range(5)]


def test_a_key_in_the_cache_or_given_relative_is_not_used(project, monkeypatch):
    """The key must not come and go with the cache (whoever writes the cache could then sign), nor be made in
    whatever folder metricgen runs in (a repository, where it could be committed)."""
    root, compiled = project
    monkeypatch.setenv("METRICGEN_CACHE_KEY", str(root / "cache" / "cache-key"))
    assert run("build", "specs/").exit_code == 0
    compiled.clear()
    assert run("build", "specs/", "--out", "elsewhere").exit_code == 0
    assert len(compiled) == 2 and not (root / "cache" / "cache-key").exists()
    monkeypatch.setenv("METRICGEN_CACHE_KEY", "cache-key")
    assert run("build", "specs/").exit_code == 0
    assert not (root / "cache-key").exists()
