"""formatting.format_source: piecewise formatting and its disk cache give exactly black's output for the whole
module, and the cache never serves a damaged entry."""

from __future__ import annotations

import black
import pytest

from conftest import SPECS
from metricgen import formatting
from metricgen.compiler import analyse_loaded, generate_from_text, lower
from metricgen.loader import load_spec_file
from metricgen.targets import TARGETS

SPEC_FILES = sorted(SPECS.glob("*.yaml"))


def rendered(spec, target):
    _, metric = analyse_loaded(load_spec_file(spec))
    return lower(metric, TARGETS[target])


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
    assert formatting._cache_dir() is None
    spec = "name: probe\nclass_name: Probe\ndescription: d\nstate: {total: {}}\nupdate: {total: sum(y_pred)}\nresult: total\n"
    assert "class Probe" in generate_from_text(spec)
