"""Specs and situations from strangers (part of issue 11): a poisoned format cache cannot change what is written,
a build that refuses a spec writes nothing for it, written files get the usual mode, `check` compares bytes,
and spec text echoed to a terminal cannot forge lines or send escape sequences."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from metricgen import formatting
from metricgen.cli import main

ROOT = Path(__file__).resolve().parent.parent
DICE = ROOT / "specs" / "dice.yaml"


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    (tmp_path / "specs").mkdir()
    shutil.copy(DICE, tmp_path / "specs" / "dice.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METRICGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_a_poisoned_format_cache_changes_nothing(repo, monkeypatch):
    monkeypatch.setattr(formatting, "LAY_OUT", False)  # the cache keeps black's output, for modules it formats
    assert cli("build", "specs/dice.yaml").exit_code == 0
    good = (repo / "generated" / "dice.py").read_text(encoding="utf-8")
    entries = list((repo / "cache").glob("*.fmt"))
    assert entries
    evil = 'import os\nos.system("echo pwned")\n'
    for entry in entries:  # what an attacker with write access to a shared CI cache can do
        body = entry.read_text(encoding="utf-8").split("\n", 1)[1]
        poisoned = evil + body
        entry.write_text(hashlib.sha256(poisoned.encode("utf-8")).hexdigest() + "\n" + poisoned, encoding="utf-8")
    (repo / "generated" / "dice.py").unlink()
    assert cli("build", "specs/dice.yaml").exit_code == 0
    assert (repo / "generated" / "dice.py").read_text(encoding="utf-8") == good
    (repo / "generated" / "dice.py").write_text(evil + good, encoding="utf-8")  # a poisoned module on disk
    assert cli("check", "specs/dice.yaml").exit_code == 1


def test_a_module_name_clash_writes_neither(repo):
    for name in ("a-b.yaml", "a_b.yaml"):
        (repo / "specs" / name).write_text(DICE.read_text(encoding="utf-8").replace("DiceCoefficient", "AB" + name[1]))
    result = cli("build", "specs/")
    assert result.exit_code == 2
    assert "would both write a_b.py: neither is built" in result.output
    assert not (repo / "generated" / "a_b.py").exists()
    assert (repo / "generated" / "dice.py").exists()  # the other specs are built


@pytest.mark.parametrize("name", ["class.yaml", "my spec.yaml", "keras.yaml", "tensorflow.yaml", "torchmetrics.yaml"])
def test_a_refused_module_name_writes_nothing(repo, name):
    (repo / "specs" / name).write_text(DICE.read_text(encoding="utf-8"), encoding="utf-8")
    (repo / "specs" / "dice.yaml").unlink()
    result = cli("build", f"specs/{name}")
    assert result.exit_code == 2, result.output
    assert not (repo / "generated").exists() or not any((repo / "generated").rglob("*.py"))


def test_two_specs_of_one_keras_class_are_refused(repo):
    (repo / "specs" / "dice_copy.yaml").write_text(
        DICE.read_text(encoding="utf-8").replace("name: dice_coefficient", "name: dice_copy"), encoding="utf-8"
    )
    result = cli("build", "specs/")
    assert result.exit_code == 2
    assert "both define the Keras class 'metricgen>DiceCoefficient'" in result.output
    assert not (repo / "generated").exists() or not any((repo / "generated").rglob("*.py"))


def test_written_modules_get_the_umask_s_mode_and_keep_their_own(repo):
    old = os.umask(0o022)
    try:
        assert cli("build", "specs/dice.yaml").exit_code == 0
        module = repo / "generated" / "dice.py"
        assert stat.S_IMODE(module.stat().st_mode) == 0o644
        module.chmod(0o664)
        module.write_text(module.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # stale: rebuilt
        assert cli("build", "specs/dice.yaml").exit_code == 0
        assert stat.S_IMODE(module.stat().st_mode) == 0o664
    finally:
        os.umask(old)


def test_check_compares_bytes(repo):
    assert cli("build", "specs/dice.yaml").exit_code == 0
    module = repo / "generated" / "dice.py"
    module.write_bytes(module.read_bytes().replace(b"\n", b"\r\n"))  # CRLF: the same text once decoded
    assert cli("check", "specs/dice.yaml").exit_code == 1
    assert cli("build", "specs/dice.yaml").exit_code == 0
    assert b"\r\n" not in module.read_bytes()


def test_spec_text_cannot_forge_lines_or_send_escape_sequences(repo):
    spec = DICE.read_text(encoding="utf-8").replace("state:", 'state:\n  "tp\\nspecs/x.yaml:1:1: error: forged": {}', 1)
    (repo / "specs" / "dice.yaml").write_text(spec, encoding="utf-8")
    result = cli("validate", "specs/dice.yaml")
    assert result.exit_code == 2
    assert not any(line.startswith("specs/x.yaml") for line in result.output.splitlines())
    assert "\\n" in result.output
    (repo / "specs" / "dice.yaml").write_text(
        'name: hostile\nclass_name: Hostile\ndescription: "\\e]8;;http://evil\\e\\\\click\\u202e me"\n'
        "state:\n  tp: {}\nupdate:\n  tp: sum(y_pred)\nresult: tp\n",
        encoding="utf-8",
    )
    listed = cli("list", "specs/")
    assert listed.exit_code == 0, listed.output
    assert "\x1b" not in listed.output and "\u202e" not in listed.output
    assert "\\x1b" in listed.output and "\\u202e" in listed.output


@pytest.mark.parametrize(
    "name", ["foo\n", "yes", "none", "true", "on", "off", "null", "exception", "keras", "torch"], ids=repr
)
def test_new_refuses_names_whose_starter_would_not_build(repo, name):
    result = cli("new", name, "--dir", "fresh")
    assert result.exit_code == 2, result.output
    assert "cannot name a metric" in result.output
    assert not (repo / "fresh").exists() or not any((repo / "fresh").iterdir())


def test_new_starter_builds(repo):
    assert cli("new", "mean_iou", "--dir", "fresh").exit_code == 0
    assert cli("build", "fresh/mean_iou.yaml").exit_code == 0


def test_no_traceback_for_odd_paths(repo):
    os.mkfifo(repo / "specs" / "fifo.yaml")
    result = cli("validate", "specs/fifo.yaml")
    assert result.exit_code == 2 and "not a regular file" in result.output
    assert "in the paths given; 0 specs valid" in result.output  # not "0 of 1 spec invalid"
    (repo / "loop").symlink_to(repo / "loop")
    for command in ("build", "check"):
        result = cli(command, "specs/dice.yaml", "--out", "loop/x")
        assert result.exit_code in (1, 2) and result.exception is None or isinstance(result.exception, SystemExit)
    long_name = "a" * 300
    result = cli("build", "specs/dice.yaml", "--out", long_name)
    assert result.exit_code == 2 and "cannot write" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_long_chain_of_definitions_is_one_located_error(repo):
    lets = "\n".join(f"    a{i}: a{i - 1} + 1" if i else "    a0: y_true" for i in range(400))
    (repo / "specs" / "lets.yaml").write_text(
        f"name: lets\nclass_name: Lets\ndescription: d\nstate:\n  tp: {{}}\nupdate:\n  let:\n{lets}\n"
        "  tp: sum(a399)\nresult: tp\n",
        encoding="utf-8",
    )
    result = cli("validate", "specs/lets.yaml")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "more than 100 deep" in errors[0], errors


def test_amplification_is_refused_early(repo):
    with open(repo / "specs" / "huge.yaml", "wb") as handle:  # 3 GB, sparse: refused without being read
        handle.seek(3 * 10**9)
        handle.write(b"\n")
    result = cli("validate", "specs/huge.yaml")
    assert result.exit_code == 2 and "larger than 1,000,000 bytes" in result.output
    aliases = ", ".join(["*s"] * 250)
    (repo / "specs" / "amp.yaml").write_text(
        "name: amp\nclass_name: Amp\ndescription: d\nparams:\n"
        f'  mode: {{type: str, default: a, choices: [&s "{"x" * 10000}", {aliases}]}}\n'
        "state:\n  tp: {}\nupdate:\n  tp: sum(y_pred)\nresult: tp\n",
        encoding="utf-8",
    )
    result = cli("validate", "specs/amp.yaml")
    assert result.exit_code == 2 and "expands to more than 2,000,000 characters" in result.output
    flat = ", ".join(["1"] * 300000)
    (repo / "specs" / "flat.yaml").write_text(
        f"name: flat\nclass_name: Flat\ndescription: d\nstate:\n  tp: {{shape: [{flat}]}}\n"
        "update:\n  tp: sum(y_pred)\nresult: tp\n",
        encoding="utf-8",
    )
    result = cli("validate", "specs/flat.yaml")
    assert result.exit_code == 2 and "holds more than 20,000 values (a spec has a few hundred)" in result.output


def test_errors_are_capped_and_short(repo):
    states = "\n".join(f"  s{i}: {{}}" for i in range(1000))
    updates = "\n".join(f"  u{i}_{'x' * 900}: sum(y_pred)" for i in range(300))
    (repo / "specs" / "many.yaml").write_text(
        f"name: many\nclass_name: Many\ndescription: d\nstate:\n{states}\nupdate:\n{updates}\nresult: s0\n",
        encoding="utf-8",
    )
    result = cli("validate", "specs/many.yaml")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if ": error: " in line]
    assert len(lines) == 101 and lines[-1].endswith("more errors")
    assert max(len(line) for line in lines) < 1400


def test_control_bytes_state_named_let_and_a_spec_that_is_its_own_output(repo):
    (repo / "specs" / "nul.yaml").write_text(
        'name: n\nclass_name: N\ndescription: "a\x00b"\nstate:\n  tp: {}\nupdate:\n  tp: sum(y_pred)\nresult: tp\n',
        encoding="utf-8",
    )
    result = cli("validate", "specs/nul.yaml")
    assert "specs/nul.yaml:3:16: error: control character U+0000 is not allowed in a spec" in result.output
    (repo / "specs" / "nul.yaml").unlink()
    (repo / "specs" / "letstate.yaml").write_text(
        "name: n\nclass_name: N\ndescription: d\nstate:\n  let: {}\nupdate:\n  let: {}\nresult: 1.0\n", encoding="utf-8"
    )
    result = cli("validate", "specs/letstate.yaml")
    assert "specs/letstate.yaml:5:3: error: invalid state variable name 'let'" in result.output
    assert "never updated" not in result.output
    assert cli("build", "specs/dice.yaml").exit_code == 0
    module = repo / "generated" / "dice.py"
    before = module.read_bytes()
    result = cli("build", "generated/dice.py")  # a module named as if it were the spec
    assert result.exit_code == 2 and "overwritten by the module generated from it" in result.output
    assert module.read_bytes() == before


def test_the_header_does_not_depend_on_where_the_command_runs(repo, monkeypatch):
    (repo / "proj").mkdir()
    assert cli("build", "specs/dice.yaml", "--out", "proj/generated").exit_code == 0
    header = (repo / "proj" / "generated" / "dice.py").read_text(encoding="utf-8").splitlines()[0]
    assert header == "# Code generated by metricgen from ../specs/dice.yaml. DO NOT EDIT."
    monkeypatch.chdir(repo / "proj")
    assert cli("check", "../specs/dice.yaml", "--out", "generated").exit_code == 0


# 40 products of 8000 x 8000 matrices, 4e13 multiply-adds: a minute on a large server, hours on two cores; the
# limit below is a few seconds, so this spec's FAIL is the limit's doing on any machine
SLOW = """name: slow
class_name: Slow
description: forty products of 8000 x 8000 matrices
state:
  tp: {}
update:
  let:
    ones: reshape(cast(arange(0, 64000000), float) * 0.0 + 1.0, [8000, 8000])
  tp: sum(PRODUCTS)
result: tp
examples:
  - batches: [{y_true: [1], y_pred: [1]}]
    expected: 1
""".replace("PRODUCTS", "matmul(ones, " * 40 + "ones" + ")" * 40)
BIG = """name: big
class_name: Big
description: two states of 800 MB each, within the cost model's element limit
state:
  a: {shape: [10000, 10000], dtype: float64}
  b: {shape: [10000, 10000], dtype: float64}
update:
  a: sum(y_pred)
  b: sum(y_pred)
result: sum(a) + sum(b)
examples:
  - batches: [{y_true: [1], y_pred: [1]}]
    expected: 1
"""


def test_metricgen_test_runs_examples_in_a_child_with_limits(repo, monkeypatch):
    """A spec whose examples run too long or need too much memory FAILs with the limit named, and the specs
    after it still run (in a new child). The limits leave a busy machine room: minutes for the child to start,
    seconds for dice.yaml's examples, which a slow spec cannot be mistaken for (see SLOW). The torchmetrics
    target starts fastest, so it is the one used here."""
    (repo / "specs" / "slow.yaml").write_text(SLOW, encoding="utf-8")
    (repo / "specs" / "big.yaml").write_text(BIG, encoding="utf-8")
    monkeypatch.setenv("METRICGEN_TEST_TIMEOUT", "10")
    monkeypatch.setenv("METRICGEN_TEST_STARTUP", "300")
    result = cli("test", "specs/slow.yaml", "specs/dice.yaml", "--target", "torchmetrics")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert (
        "FAIL specs/slow.yaml: the examples ran past their time (the limit: METRICGEN_TEST_TIMEOUT=10 s a spec)"
        in lines
    )
    assert sum(line.startswith("PASS specs/dice.yaml") for line in lines) == 3
    monkeypatch.setenv("METRICGEN_TEST_TIMEOUT", "120")
    monkeypatch.setenv("METRICGEN_TEST_MEMORY_MB", "1200")
    result = cli("test", "specs/big.yaml", "specs/dice.yaml", "--target", "torchmetrics")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("FAIL specs/big.yaml example 1") and "allocate" in line for line in lines), lines
    assert sum(line.startswith("PASS specs/dice.yaml") for line in lines) == 3


def test_positions_through_escapes_and_folded_lines(repo):
    (repo / "specs" / "esc.yaml").write_text(
        "name: esc\nclass_name: Esc\ndescription: d\nstate:\n  tp: {}\n  fp: {}\nupdate:\n"
        '  tp: "sum(y_true)\\t+ \\u0073um(unknown_a)"\n'
        "  fp: sum(y_pred) +\n    sum(y_true) +\n      sum(unknown_b)\n"
        "result: >-\n  tp +\n  fp + unknown_c\n",
        encoding="utf-8",
    )
    errors = [line for line in cli("validate", "specs/esc.yaml").output.splitlines() if ": error: " in line]
    assert errors == [
        "specs/esc.yaml:8:32: error: unknown name 'unknown_a'",
        "specs/esc.yaml:11:11: error: unknown name 'unknown_b'",
        "specs/esc.yaml:14:8: error: unknown name 'unknown_c'",
    ]


def test_a_warm_format_cache_is_used_and_black_not_imported(repo):
    """The cache check must accept black's own output (which re-indents docstrings): a rebuild with a warm
    cache never imports black. (The benchmark caught a version that rejected every entry.)"""
    import subprocess
    import sys

    probe = (
        "import sys; from click.testing import CliRunner; from metricgen.cli import main; "
        "from metricgen import formatting; formatting.LAY_OUT = False; "  # the black path, which the cache serves
        "r = CliRunner().invoke(main, ['build', '--force', 'specs/dice.yaml']); "
        "print(r.exit_code, 'black' in sys.modules)"
    )
    env = {**os.environ, "METRICGEN_CACHE_DIR": str(repo / "cache")}
    first = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=env, capture_output=True, text=True)
    assert first.stdout.split() == ["0", "True"], first.stderr[-2000:]
    shutil.rmtree(repo / "cache" / "builds")  # the build records would spare the compile and the cache with it
    second = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=env, capture_output=True, text=True)
    assert second.stdout.split() == ["0", "False"], second.stderr[-2000:]


def test_a_cold_build_lays_modules_out_without_black(repo):
    """layout.py gives black's layout of a shipped spec's module: a build with no cache never imports black."""
    import subprocess
    import sys

    probe = (
        "import sys; from click.testing import CliRunner; from metricgen.cli import main; "
        "r = CliRunner().invoke(main, ['build', '--force', '--target', sys.argv[1], 'specs/dice.yaml']); "
        "print(r.exit_code, 'black' in sys.modules)"
    )
    env = {**os.environ, "METRICGEN_CACHE_DIR": ""}
    for target in ("tf", "keras", "torchmetrics", "jax"):
        run = subprocess.run([sys.executable, "-c", probe, target], cwd=repo, env=env, capture_output=True, text=True)
        assert run.stdout.split() == ["0", "False"], (target, run.stderr[-2000:])


@pytest.mark.parametrize(
    "cached, source, same",
    [
        # a utf-7 cookie turns a comment into a statement when Python reads the written file
        ('# -*- coding: utf-7 -*-\nx = 1\n#+AAo-print("INJECTED")\nprint("hello")\n', 'x = 1\nprint("hello")\n', False),
        # whitespace inside a string that is not a docstring is part of the program
        ('print("a b".split(" "))\n', 'print("a b".split("\\t"))\n', False),
        ('print(f"{5: d}")\n', 'print(f"{5:d}")\n', False),
        # a docstring black re-indented is the same program
        ('def f():\n    """a\n    b"""\n    return 1\n', 'def f():\n  """a\n      b"""\n  return 1\n', True),
    ],
)
def test_the_format_cache_takes_only_the_same_program(cached, source, same):
    from metricgen.formatting import _same_program

    assert _same_program(cached, source) is same
