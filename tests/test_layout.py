"""layout.py, black's layout without black: what it lays out, black leaves as it is.

Every shipped spec's module on every target is laid out (so a build runs no black), is the program the
renderer wrote, and is black-stable; the helper functions kept verbatim are black's layout already; hand-written
snippets, one per rule ported from black (right-hand splits and the optional parentheses they may omit, the
second opinion, delimiter splits, magic trailing commas, comments, docstrings, `**` hugging, slices), come out
exactly as black formats them. Random specs: tests/test_fuzz.py checks their modules with black.
"""

from __future__ import annotations

import ast
import random
import warnings

import black
import pytest

from conftest import ROOT
from metricgen import formatting, layout
from metricgen.targets import TARGETS, helper_pieces
from support import rendered

MODE = black.Mode()
SHIPPED = [ROOT / "specs"] + [ROOT / "catalogue" / name / "specs" for name in ("keras", "tfa", "torchmetrics")]
SPEC_FILES = [spec for folder in SHIPPED for spec in sorted(folder.glob("*.yaml"))]


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
    # (an f-string in the module: black then targets Python 3.6+, which allows a comma after **kwargs)
    "def f(self, first_argument_of_the_call=None, second_argument_of_it=None, *args, **kwargs_of_the_call):\n"
    "    return f'{args}'\n",
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
    # found by the random statements below: None is a name to black's ** hugging; a one-tuple index keeps its
    # comma; a for statement's target splits at its commas; a name run ending in ( unhugs **
    "x = None**y_pred + y[1,] + z[a,]\n",
    "for a_rather_long_name_for_a_value___xxxxxxx, a_rather_long_name_for_a_value in true_values.items_x:\n"
    "    pass\n",
    "value = {1e-07 ** t if (y_true_value if y_true else None) else {}: tf(y_true=True, y_pred=tf.x(y_pred, None))}\n",
    # blank lines: one after a class docstring, one before a def first in a for block, kept at a block's start
    'class A(B):\n    """Doc."""\n    x = 1\n',
    "for x in y:\n    def f():\n        pass\n    z = 1\n",
    "if x:\n\n    a = 1\nelse:\n\n    b = 2\n",
    "def f():\n    x = 1\n    # about g\n    def g():\n        pass\n",
    # found by a second reader's red-team run (black's own output is what these are compared with)
    "f((x for x in y),)\n",  # a generator with a comma after it keeps its parentheses
    "result = function_name(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa if bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb else ccccccccccccc,)\n",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb) + 1\n",
    "aaaa = bbbb = " + "c" * 98 + "(d)\n",  # every target after an `=` in invisible parentheses
    "for (a,) in b:\n    pass\n",
    "x = a[b, c,]\n",
    "btwxtvyxywddfjwhckgxisrfr_cpln, bneb_tykzepk = xg  # cccccccccccccccccccccccccccccccccccccccc\n",
    # black's second pass: the commas and parentheses its first pass wrote are then the source's
    "z = z({z: z, [z, z]: z if z else z, **aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa})\n",
    "xxxx(" + "a" * 44 + ", " + "b" * 48 + ").y = c + d\n",
    "xxxx[" + "a" * 44 + ", " + "b" * 48 + "] = c + d\n",
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
        "x = u'hi'\n",  # black drops the u: the syntax tree's `kind` changes
        "if x:\n    'not a docstring, but black may strip it'\n",
        "def f(): ...\n",  # black's stub rules
        # a trailing comma after *args: black decides by the Python versions it infers (no f-string here)
        "foo(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, *args)\n",
    ],
)
def test_what_layout_declines_goes_to_black(source):
    tree = ast.parse(source)
    with pytest.raises(layout.Unsupported):
        layout.Module(source, tree).lay_out(tree.body, len(source.split("\n")))
    assert formatting.format_source(source) == black.format_str(source, mode=MODE)


# -- random statements --------------------------------------------------------------------------------------

NAMES = ["x", "y_true", "y_pred", "self", "tf", "value", "a_rather_long_name_for_a_value", "t"]


def random_name(r):
    return r.choice(NAMES) + ("" if r.random() < 0.7 else "_" * r.randint(1, 3) + "x" * r.randint(1, 20))


def random_expr(r, depth):
    """A random expression of the syntax layout.py writes (names long enough to make black split lines)."""
    e = lambda: random_expr(r, depth - 1)  # noqa: E731
    if depth <= 0 or r.random() < 0.2:
        return r.choice(
            [
                lambda: ast.Name(random_name(r)),
                lambda: ast.Constant(r.choice([0, 1, 2.5, 1e-7, 100000, None, True, False])),
                lambda: ast.Constant(r.choice(["s", "it's", 'say "hi"', "x" * r.randint(10, 60)])),
            ]
        )()
    kind = r.randint(0, 13)
    if kind == 0:
        return ast.Attribute(e() if r.random() < 0.3 else ast.Name(random_name(r)), random_name(r))
    if kind in (1, 2):
        func = ast.Attribute(ast.Name(random_name(r)), random_name(r)) if r.random() < 0.6 else ast.Name(random_name(r))
        keywords = [ast.keyword(arg=random_name(r), value=e()) for _ in range(r.randint(0, 3))]
        return ast.Call(func, [e() for _ in range(r.randint(0, 4))], keywords)
    if kind == 3:
        index = r.choice(
            [
                e(),
                ast.Slice(e() if r.random() < 0.5 else None, e() if r.random() < 0.5 else None),
                ast.Tuple([ast.Slice(None, None), e()]),
                ast.Tuple([ast.Constant(...), ast.Constant(None)]),
                ast.Tuple([e()]),
            ]
        )
        return ast.Subscript(e(), index)
    if kind in (4, 5):
        ops = [ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.Pow(), ast.FloorDiv(), ast.Mod(), ast.BitOr()]
        return ast.BinOp(e(), r.choice(ops), e())
    if kind == 6:
        return ast.BoolOp(r.choice([ast.And(), ast.Or()]), [e() for _ in range(r.randint(2, 4))])
    if kind == 7:
        n = r.randint(1, 2)
        ops = [ast.Lt(), ast.Eq(), ast.Is(), ast.IsNot(), ast.In(), ast.NotIn(), ast.GtE()]
        return ast.Compare(e(), [r.choice(ops) for _ in range(n)], [e() for _ in range(n)])
    if kind == 8:
        return ast.UnaryOp(r.choice([ast.USub(), ast.Not(), ast.Invert()]), e())
    if kind == 9:
        return ast.IfExp(e(), e(), e())
    if kind == 10:
        return ast.Tuple([e() for _ in range(r.randint(1, 4))])
    if kind == 11:
        return ast.List([e() for _ in range(r.randint(0, 4))])
    if kind == 12:
        n = r.randint(0, 3)
        return ast.Dict([e() for _ in range(n)], [e() for _ in range(n)])
    generator = ast.comprehension(ast.Name(random_name(r)), e(), [e()] if r.random() < 0.3 else [], 0)
    return ast.ListComp(e(), [generator])


def random_statement(r, depth):
    e = lambda: random_expr(r, depth)  # noqa: E731
    kind = r.randint(0, 9)
    if kind == 0:
        target = ast.Attribute(ast.Name("self"), random_name(r)) if r.random() < 0.5 else ast.Name(random_name(r))
        return ast.Assign([target], e(), lineno=0)
    if kind == 1:
        return ast.Return(e())
    if kind == 2:
        call = ast.Call(
            ast.Attribute(ast.Name(random_name(r)), random_name(r)), [e() for _ in range(r.randint(1, 3))], []
        )
        return ast.Expr(call)
    if kind == 3:
        return ast.AugAssign(ast.Name(random_name(r)), ast.Add(), e())
    if kind == 4:
        return ast.Raise(ast.Call(ast.Name("ValueError"), [random_expr(r, 1)], []), None)
    if kind == 5:
        target = ast.Tuple([ast.Name(random_name(r)), ast.Name(random_name(r))]) if r.random() < 0.5 else ast.Name("i")
        return ast.For(target, e(), [random_statement(r, depth - 1)], [])
    if kind == 6:
        orelse = [ast.If(e(), [ast.Pass()], [random_statement(r, 1)] if r.random() < 0.5 else [])]
        return ast.If(e(), [random_statement(r, depth - 1)], orelse if r.random() < 0.6 else [])
    if kind == 7:
        params = [ast.arg(random_name(r) + str(i)) for i in range(r.randint(1, 8))]
        defaults = [random_expr(r, 1) for _ in range(r.randint(0, len(params)))]
        body = [ast.Expr(ast.Constant("Doc " * r.randint(1, 30)))] if r.random() < 0.5 else []
        arguments = ast.arguments([], params, None, [], [], None, defaults)
        return ast.FunctionDef(random_name(r), arguments, body + [random_statement(r, depth - 1)], [], None, None)
    if kind == 8:
        body = [ast.Expr(ast.Constant("A class.")), random_statement(r, depth - 1)]
        return ast.ClassDef(random_name(r), [ast.Attribute(ast.Name("tf"), random_name(r))], [], body, [])
    return ast.If(e(), [ast.Pass()], [])


def random_module(r) -> str:
    tree = ast.Module([random_statement(r, r.randint(1, 4)) for _ in range(r.randint(1, 3))], [])
    for _ in range(r.randint(0, 3)):
        arguments = ast.arguments([], [ast.arg("self")], None, [], [], None, [])
        tree = ast.Module([ast.FunctionDef(random_name(r), arguments, tree.body, [], None, None)], [])
    lines = ast.unparse(ast.fix_missing_locations(tree)).split("\n")
    if r.random() < 0.3:  # inline comments at the ends of some lines
        for j, line in enumerate(lines):
            if line.strip() and not line.strip().startswith(("'", '"', "def ", "class ", "else")) and r.random() < 0.3:
                lines[j] += "  # a note" + " about it" * r.randint(0, 6)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(4))
def test_random_statements_are_laid_out_as_black_leaves_them(seed):
    """Random modules of the syntax layout.py writes (nested definitions, long lines, comments): what it lays
    out is the same program and black leaves it unchanged; what it declines, black formats."""
    r = random.Random(seed)
    laid_out = 0
    warnings.simplefilter("ignore", SyntaxWarning)  # `1[0]` and the like: nonsense that is still syntax
    for _ in range(60):
        source = random_module(r)
        try:
            compile(source, "<random>", "exec")
        except SyntaxError:
            continue
        module = formatting.lay_out_source(source)
        if module is None:
            continue
        assert formatting._same_program(module, source), source
        assert black.format_str(module, mode=MODE) == module, source
        laid_out += 1
    assert laid_out >= 40
