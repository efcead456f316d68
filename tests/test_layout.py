"""layout.py, black's layout without black: what it lays out, black leaves as it is.

Every shipped spec's module on every target is laid out (so a build runs no black), is the program the
renderer wrote, and is black-stable; the helper functions kept verbatim are black's layout already; hand-written
snippets, one per rule ported from black (right-hand splits and the optional parentheses they may omit, the
second opinion, delimiter splits, magic trailing commas, comments, docstrings, `**` hugging, slices), come out
exactly as black formats them. Random specs: tests/test_fuzz.py checks their modules with black.
"""

from __future__ import annotations

import ast

import black
import pytest

from conftest import ROOT
from metricgen import formatting, layout
from metricgen.compiler import analyse_loaded, lower
from metricgen.loader import load_spec_file
from metricgen.targets import TARGETS, helper_pieces

MODE = black.Mode()
SHIPPED = [ROOT / "specs"] + [ROOT / "catalogue" / name / "specs" for name in ("keras", "tfa", "torchmetrics")]
SPEC_FILES = [spec for folder in SHIPPED for spec in sorted(folder.glob("*.yaml"))]


def rendered(spec, target):
    _, metric = analyse_loaded(load_spec_file(spec))
    return lower(metric, TARGETS[target])


def test_the_helpers_kept_verbatim_are_blacks_layout():
    for source in helper_pieces():
        assert black.format_str(source, mode=MODE) == source + "\n", source.splitlines()[0]


@pytest.mark.parametrize("target", list(TARGETS))
def test_every_shipped_module_is_laid_out_and_black_leaves_it(target):
    checked = 0
    for spec in SPEC_FILES:
        try:
            source = rendered(spec, target)
        except Exception:  # noqa: BLE001 - a spec this target refuses (tests/test_catalogue*.py say which)
            continue
        module = formatting._laid_out(source, helper_pieces())
        assert module is not None, f"{spec.name}: layout.py declined it, so a build would run black"
        assert formatting._same_program(module, source), spec.name
        assert black.format_str(module, mode=MODE) == module, spec.name
        checked += 1
    assert checked >= 100


SNIPPETS = [
    # fits: one line, black's spacing
    "x = a + b * c**2 - (d - e) / -f\n",
    "y = x[1:] + x[:-1] + x[:, 0] + x[..., None] + x[a + 1 :] + x[: n - 1] + x[self.n :]\n",
    "z = -(x**2) + a.b**-c + f(x) ** 2 + 2**n\n",
    "ok = (a is not None and b not in c) or not (d == e)\n",
    "f(a, *args, key=value, **kwargs)\n",
    "t = (1,)\nu = ()\nv = (a, b)\nw = [1, 2]\nd = {'a': 1, **other}\ns = {a, b}\n",
    # a call split at its brackets; the body on one line, or one argument per line with a trailing comma
    "self.total = self.add_variable(shape=(), initializer='zeros', dtype=self.dtype, aggregation='sum')\n",
    "self.total = self.add_variable(shape=(), initializer='zeros', dtype=self.dtype, aggregation='sum', name='tp')\n",
    # optional parentheses: kept around an operator, omitted for a call; the second opinion
    "value = some_function_name(argument_one, argument_two) + other_function(argument_three, x)\n",
    "result = tf.math.divide_no_nan(self.true_positives + self.true_negatives, self.total_count_of_all)\n",
    "counts = _segment_sum(tf.reshape(_weights_like(y_true, sample_weight, self.dtype), (-1,)), cell, 4)\n",
    "x = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa[bbbbbbbbbbbbbbbbbbbbbbbbbbbbb](cccccccccccccccccccccccccc)\n",
    # the second opinion: the call's own brackets leave its first line too long, the optional ones do not
    "a_rather_long_variable_name_for_the_result_of_it = a_function_with_a_very_long_name_too_indeed(x)\n",
    # conditional expressions: invisible parentheses everywhere but a call's only argument
    "kept = tf.logical_and(tf.logical_or(tf.equal(y_true, 0.0), tf.equal(y_true, 1.0)), "
    "tf.ones_like(y_true) if self.ignore_index is None else tf.not_equal(y_true, self.ignore_index))\n",
    "value = first_value_of_a_long_name if some_condition_that_is_long else other if c else third_value_long\n",
    "f(first_value_of_a_long_name if some_condition_that_is_long_enough else other_value_that_is_long)\n",
    "return_value = [a_long_name if a_condition_here else another_long_name for a_long_name in some_iterable]\n",
    # boolean and comparison chains, split before the operators
    "if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value <= 1 and value < 2):\n"
    "    pass\n",
    "if thresholds is None or (isinstance(thresholds, (list, tuple)) and all(isinstance(v, numbers.Real) "
    "and not isinstance(v, bool) and 0 <= v <= 1 for v in thresholds)):\n    pass\n",
    # a long signature: split after its opening parenthesis, one parameter per line when it does not fit
    "def __init__(self, thresholds=None, top_k=None, class_id=None, name='precision', dtype=None, more=1):\n"
    "    pass\n",
    "def __init__(self, thresholds=None, top_k=None, class_id=None, name='precision', dtype=None, x=1, y=2, z=3):\n"
    "    pass\n",
    "def f(self, first_argument_of_the_call=None, second_argument_of_it=None, *args, **kwargs_of_the_call):\n"
    "    pass\n",
    # magic trailing commas explode; a one-tuple's comma does not
    "config.update({'from_logits': self.from_logits, 'label_smoothing': self.label_smoothing,})\n",
    "x = f(a,)\ny = (1,)\nz = [a, b,]\n",
    # inline comments go with their line
    "if isinstance(incoming_state, (list, tuple)):  # Keras' merge_state([a, b]) too, and a longer note\n" "    pass\n",
    "ids = ops.where(ops.logical_and(ids >= 0, ids < num_segments), ids, num_segments)  # the extra segment\n",
    "x = 1  # a short note\n",
    # strings: quotes normalised, implicit joins split between the literals
    "raise ValueError(f'{metric}: the argument `{name}` must be positive and finite, got {value!r} instead')\n",
    "raise ValueError('first part of a long message, ' 'and the second part of it, ' f'with {value!r} at last')\n",
    "s = 'it\\'s' + \"plain\" + '\"quoted\"'\n",
    # docstrings re-indented, the closing quotes on their own line where the last line is full
    'class A(Base):\n    """One line."""\n\n    def f(self):\n        """Two\n           lines."""\n        return 1\n',
    'def g():\n    """' + "word " * 17 + "\n    " + "x" * 84 + '"""\n    return 2\n',
    # blank lines: one between methods, two around top-level definitions; comments above a statement
    "class A:\n    x = 1\n    def f(self):\n        # why\n        return 1\n\n\n\n    def g(self):\n        return 2\n",
    "for name, value in zip(names, values):\n    if value:\n        continue\n    elif other:\n        break\n"
    "    else:\n        x = 1\n",
    "@keras.saving.register_keras_serializable(package='metricgen.torchmetrics.catalogue.long.package.name.here')\n"
    "class A:\n    pass\n",
    "import numbers\n\nimport keras\nimport tensorflow as tf\n\n__all__ = ['A']\n",
]


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_a_snippet_is_laid_out_as_black_formats_it(snippet):
    tree = ast.parse(snippet)
    module = layout.Module(snippet, tree)
    laid_out = module.lay_out(tree.body, len(snippet.split("\n")))
    # laid out as a whole: blank lines between top-level statements are black's concern here
    expected = black.format_str(snippet, mode=MODE).rstrip("\n")
    if "\n\n\n" in expected:  # two top-level definitions: the piece boundary, see formatting._cut
        pytest.skip("several pieces")
    assert laid_out == expected


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    x = 1\nexcept ValueError:\n    pass\n",  # a statement layout.py does not write
        "with open('f') as h:\n    pass\n",
        "x = lambda a: a\n",
        "x = [*a, b]\n",
        "y = x[::2]\n",
        "def f(a: int) -> int:\n    return a\n",
        "x = 1\n# a comment at the end\n",
    ],
)
def test_what_layout_declines_goes_to_black(source):
    tree = ast.parse(source)
    with pytest.raises(layout.Unsupported):
        layout.Module(source, tree).lay_out(tree.body, len(source.split("\n")))
    assert formatting.format_source(source) == black.format_str(source, mode=MODE)
