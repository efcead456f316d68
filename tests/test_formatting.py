"""formatting.format_source's black path (what it does where layout.py declines a module; the layout itself
is tests/test_layout.py's): piecewise formatting and its disk cache give exactly black's output for the whole
module, and the cache never serves a damaged entry."""

from __future__ import annotations

import black
import pytest

from conftest import ROOT, SPECS
from metricgen import formatting
from metricgen.compiler import generate_from_text
from metricgen.targets import TARGETS
from support import rendered

SPEC_FILES = sorted(SPECS.glob("*.yaml"))


@pytest.fixture(autouse=True)
def black_path_only(monkeypatch):
    monkeypatch.setattr(formatting, "LAY_OUT", False)


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("spec", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_piecewise_formatting_is_black_on_the_whole_module(spec, target):
    source = rendered(spec, target)
    pieces = formatting._pieces(source)
    if target != "torchmetrics":  # a torchmetrics class's **kwargs may keep it whole (see _version_neutral)
        assert pieces is not None and len(pieces) >= 3, "the module should be cut (imports, helpers, class)"
    if pieces is not None:
        assert "".join(pieces) == source
    assert formatting.format_source(source) == black.format_str(source, mode=black.Mode())


@pytest.mark.parametrize(
    "source",
    [
        "import os\n\n\ndef f(*args):\n    return g(*args)\n\n\nclass A:\n    pass\n",  # varargs: whole
        "def f(): ...\ndef g(): ...\n",  # stubs kept together
        "x = 1\n# a comment about f\ndef f():\n    with open('x') as h:\n        return h\n",
        "# fmt: off\nx = [1,2,\n  3]\n# fmt: on\n\ndef f():\n  return  1\n",
        "def f(a, /, b, *, c):\n    pass\n\n\n\n\nclass B(object):\n  x=1\n",
        '"""Doc."""\nimport os\ndef f():\n    return os\n\n\n\n@decorator\nclass C:\n    """Doc."""\n',
        "try:\n    pass\nexcept (ValueError, TypeError):\n    pass\n\ndef f():\n  pass\n",
    ],
)
def test_piecewise_formatting_matches_black_on_tricky_layouts(source):
    assert formatting.format_source(source) == black.format_str(source, mode=black.Mode())


def test_cache_round_trip_and_damaged_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICGEN_CACHE_DIR", str(tmp_path))
    source = rendered(SPECS / "dice.yaml", "tf")
    expected = black.format_str(source, mode=black.Mode())
    assert formatting.format_source(source, cache=True) == expected
    (entry,) = tmp_path.glob("*.fmt")
    assert formatting.format_source(source, cache=True) == expected  # served from the entry
    entry.write_text(entry.read_text(encoding="utf-8").replace("DiceCoefficient", "Oops"), encoding="utf-8")
    assert formatting.format_source(source, cache=True) == expected  # damaged: formatted again
    assert formatting._cache_read(entry) == expected  # and rewritten


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICGEN_CACHE_DIR", "")
    assert formatting.cache_dir() is None
    spec = "name: probe\nclass_name: Probe\ndescription: d\nstate: {total: {}}\nupdate: {total: sum(y_pred)}\nresult: total\n"
    assert "class Probe" in generate_from_text(spec)


SHIPPED = [ROOT / "specs", ROOT / "catalogue" / "keras" / "specs", ROOT / "catalogue" / "tfa" / "specs"]


def test_every_shipped_module_formatted_together_in_workers_is_black_and_black_stable(monkeypatch):
    """What build and check do (format_sources, the pieces spread over worker processes): for every shipped
    spec, on the targets in turn (one a spec: the modules of one spec share most pieces, and every shipped
    module's bytes are checked against a build by the catalogues' up-to-date tests), black's output for the
    whole module, and a module black leaves as it is."""
    monkeypatch.setattr(formatting, "_PARALLEL_MIN_TEXTS", 2)  # the pool even on a one-core machine
    monkeypatch.setattr(formatting, "usable_cpus", lambda: 2)
    monkeypatch.setattr(formatting, "_formatted_pieces", {})
    specs = [spec for folder in SHIPPED for spec in sorted(folder.glob("*.yaml"))]
    names = list(TARGETS)
    sources = [rendered(spec, names[k % len(names)]) for k, spec in enumerate(specs)]
    assert len(sources) >= 60
    mode = black.Mode()
    for source, module in zip(sources, formatting.format_sources(sources)):
        assert module == black.format_str(source, mode=mode)
        assert black.format_str(module, mode=mode) == module


def copies_of_specs(tmp_path, n):
    """specs/ copied n times into folders of one build, each copy under its own file names and Keras
    package: modules with the same helpers, and a header and class of their own."""
    paths = []
    for i in range(n):
        folder = tmp_path / f"copy{i}"
        folder.mkdir(parents=True)
        for spec in SPEC_FILES:
            text = spec.read_text(encoding="utf-8") + f"\npackage: copy{i}\n"
            (folder / f"{spec.stem}_{i}.yaml").write_text(text, encoding="utf-8")
        paths.append(folder)
    return paths


def black_calls_of_build(monkeypatch, paths, out, cache):
    """How many times black runs for `metricgen build` of ``paths`` (in this process, counted)."""
    from metricgen import cli

    calls = []
    monkeypatch.setenv("METRICGEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(formatting, "_PARALLEL_MIN_TEXTS", 10**9)  # every call in this process, where it is counted
    monkeypatch.setattr(formatting, "_formatted_pieces", {})  # as a fresh process starts
    real = formatting._format_whole
    monkeypatch.setattr(formatting, "_format_whole", lambda source: calls.append(source) or real(source))
    results, errors = cli.compile_all(paths, out, "tf")
    assert not errors and all(result.ok for result in results)
    return len(calls)


def test_black_runs_once_per_distinct_piece_and_never_on_a_warm_build(tmp_path, monkeypatch):
    n = len(SPEC_FILES)
    one = black_calls_of_build(monkeypatch, copies_of_specs(tmp_path / "a", 1), tmp_path / "a" / "out", tmp_path / "c1")
    paths = copies_of_specs(tmp_path / "b", 4)
    four = black_calls_of_build(monkeypatch, paths, tmp_path / "b" / "out", tmp_path / "c4")
    # a module is its header and imports, the helpers it calls and its class: the helpers, shared by every
    # module, are formatted once in a build; each further module costs black its own two pieces at most
    assert one <= 2 * n + len({name for t in TARGETS.values() for name in t.helper_sources})
    assert four - one <= 2 * 3 * n
    assert black_calls_of_build(monkeypatch, paths, tmp_path / "b" / "out", tmp_path / "c4") == 0
