"""Specs come from pull requests and are data: nothing in one may reach the generated module as code.

Every attempt either fails the build with a spec error, or its text lands, escaped, inside the class
docstring (read back with ast.get_docstring); the module never holds anything but metricgen's own imports,
helper functions and the class. YAML is loaded safely and cheaply; huge or deeply nested input fails fast
with a spec error, never a RecursionError or MemoryError.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from growth import MAX_RATIO, growth

from metricgen import loader
from metricgen.compiler import analyse_loaded, generate_from_text
from metricgen.errors import SpecErrors
from metricgen.loader import MAX_DEPTH, MAX_NODES, load_spec_text

SPEC = """\
name: m
class_name: M
description: d
params:
  k: {type: float, default: 1.0, doc: k}
state:
  tp: {}
update:
  tp: EXPR
result: tp
"""

ALLOWED_IMPORTS = {"keras", "tensorflow", "keras.ops", "ops", "numbers"}
FORBIDDEN_NAMES = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "open",
    "getattr",
    "setattr",
    "globals",
    "locals",
    "vars",
    "os",
    "sys",
    "subprocess",
    "__builtins__",
    "breakpoint",
    "input",
    "print",
}
ALLOWED_DUNDERS = {"__init__", "__name__"}  # super().__init__(...) and type(other).__name__ in merge_state


def spec_with(expr: str) -> str:
    return SPEC.replace("EXPR", expr)


def compile_spec(text: str) -> str:
    return generate_from_text(text, "specs/m.yaml")


def assert_only_metricgen_code(source: str, class_name: str = "M") -> ast.ClassDef:
    """The module is imports of keras/tensorflow, __all__, helper functions and one class of methods."""
    tree = ast.parse(source)
    classes = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= ALLOWED_IMPORTS, ast.dump(node)
        elif isinstance(node, ast.ImportFrom):
            assert node.module in ALLOWED_IMPORTS, ast.dump(node)
        elif isinstance(node, ast.Assign):
            assert [t.id for t in node.targets] == ["__all__"], ast.dump(node)
            assert ast.literal_eval(node.value) == [class_name]
        elif isinstance(node, ast.FunctionDef):
            assert node.name.startswith("_"), node.name  # helpers from templates/helpers_*.py
        elif isinstance(node, ast.ClassDef):
            classes.append(node)
        else:
            raise AssertionError(f"unexpected top-level statement: {ast.dump(node)[:200]}")
    assert [c.name for c in classes] == [class_name]
    cls = classes[0]
    for i, node in enumerate(cls.body):
        if i == 0 and isinstance(node, ast.Expr):
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        else:
            assert isinstance(node, ast.FunctionDef), ast.dump(node)[:200]
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id not in FORBIDDEN_NAMES, node.id
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            assert node.attr in ALLOWED_DUNDERS, node.attr
        assert not isinstance(node, (ast.Lambda, ast.Global, ast.Nonlocal)), ast.dump(node)
    return cls


def test_the_template_spec_builds():
    assert_only_metricgen_code(compile_spec(spec_with("sum(y_true * y_pred) * k")))


# -- expressions ----------------------------------------------------------------------------------------------

ATTACKS = {
    "attribute_on_tuple": "'().__class__'",
    "attribute_chain": "'().__class__.__bases__[0].__subclasses__()'",
    "attribute_on_input": "'y_true.__class__'",
    "method_call": "'y_true.numpy()'",
    "dunder_name": "'__builtins__'",
    "dunder_import": '\'__import__("os").system("true")\'',
    "import_statement": "'import os'",
    "statement_after_expression": "'sum(y_true); import os'",
    "newline_statement": "|\n    sum(y_true)\n    import os",
    "eval_string": "'eval(\"1\")'",
    "exec_call": "'exec(y_true)'",
    "open_call": "'open(y_true)'",
    "getattr_call": "'getattr(y_true, y_pred)'",
    "globals_call": "'globals()'",
    "lambda": "'(lambda: 1)()'",
    "lambda_argument": "'sum(lambda x: x)'",
    "string_literal": "'sum(\"y_true\")'",
    "bytes_literal": "'sum(b\"x\")'",
    "f_string": "'f\"{y_true}\"'",
    "string_concat_trick": '\'sum("__im" + "port__")\'',
    "list_comprehension": "'sum([x for x in y_true])'",
    "generator": "'sum(x for x in y_true)'",
    "dict_literal": "'sum({1: 2})'",
    "set_literal": "'sum({y_true})'",
    "walrus": "'sum(x := y_true)'",
    "starred": "'sum(*y_true)'",
    "double_starred": "'sum(**y_true)'",
    "yield": "'(yield y_true)'",
    "await": "'await y_true'",
    "call_of_call": "'sum(y_true)(y_pred)'",
    "call_of_subscript": "'y_true[0](1)'",
    "self_access": "'self'",
    "keras_module": "'keras'",
    "tf_module": "'tf'",
    "sample_weight_name": "'sample_weight'",
    "type_builtin": "'type(y_true)'",
    "semicolon_in_quotes": "'sum(y_true)\\\";import os;\\\"'",
    "unicode_escape_name": "'sum(y_tru\\u0065)'",
    "null_byte": '"sum(y_true)\\0"',
    "backslash_continuation": '"sum(y_true) \\\\\\n + 1"',
}


# The attacks that are plain expressions once YAML has read them (a line continuation inside a double-quoted
# scalar is YAML's own folding): they build, and the module is still only metricgen's code.
HARMLESS_ATTACKS = {"backslash_continuation"}


@pytest.mark.parametrize("name", list(ATTACKS), ids=list(ATTACKS))
def test_expression_attacks_never_reach_the_module(name):
    text = spec_with(ATTACKS[name])
    if name not in HARMLESS_ATTACKS:
        with pytest.raises(SpecErrors) as caught:
            compile_spec(text)
        assert all(e.location.line >= 1 for e in caught.value.errors), caught.value
        return
    source = compile_spec(text)
    assert_only_metricgen_code(source)
    assert "import os" not in source and "__class__" not in source


def test_comments_in_an_expression_do_not_reach_the_module():
    source = compile_spec(spec_with("'sum(y_true) # ; import os  # evil'"))
    assert "evil" not in source and "import os" not in source
    assert_only_metricgen_code(source)


# -- text that lands in the docstring ------------------------------------------------------------------------

PAYLOADS = [
    '"""; import os; os.system("rm -rf /"); """',
    "'''\nimport os\n'''",
    'ends with a quote"',
    "ends with a backslash \\",
    '\\N{BULLET} \\x00 \\u2028 \\\\""" {{ jinja }} {% raw %} ${shell}',
    "line one\n\nclass X:\n    pass",
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("where", ["description", "param_doc", "input_doc", "state_doc"])
def test_text_lands_escaped_in_the_docstring(payload, where):
    quoted = yaml_quote(payload)
    text = spec_with("sum(y_true * y_pred) * k")
    if where == "description":
        text = text.replace("description: d", f"description: {quoted}")
    elif where == "param_doc":
        text = text.replace("doc: k}", f"doc: {quoted}}}")
    elif where == "input_doc":
        text += f"inputs:\n  - {{name: y_true, doc: {quoted}}}\n  - y_pred\n"
    else:
        text = text.replace("tp: {}", f"tp: {{doc: {quoted}}}")
    source = compile_spec(text)
    cls = assert_only_metricgen_code(source)
    if where != "state_doc":  # state docs are not rendered; the check above covers them
        assert words(payload) in words(ast.get_docstring(cls, clean=False))


def words(text: str) -> str:
    return " ".join(text.split())


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar holding ``text`` exactly."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def test_docstring_survives_every_character():
    payload = "".join(chr(c) for c in range(32, 127)) + " \u00e9 \u2603 \U0001f600 \u2028 \u2029 \u0085 \t"
    source = compile_spec(spec_with("sum(y_true)").replace("description: d", f"description: {yaml_quote(payload)}"))
    cls = assert_only_metricgen_code(source)
    docstring = ast.get_docstring(cls, clean=False)
    for ch in "\"'\\{}%$#`\u00e9\u2603\U0001f600":
        assert ch in docstring


NAME_ATTACKS = {
    "class_name": ("class_name: M", 'class_name: "M(object): pass\\nimport os\\nclass X"'),
    "class_name_keyword": ("class_name: M", "class_name: None"),
    "class_name_builtin_call": ("class_name: M", "class_name: 'M(exec(1))'"),
    "metric_name": ("name: m", 'name: "m\\", exec(1), \\""'),
    "package": ("class_name: M", "class_name: M\npackage: 'x\"); import os; (\"'"),
    "param_name_code": ("  k: {type", "  \"k=__import__('os')\": {type"),
    "param_name_dunder": ("  k: {type", "  __class__: {type"),
    "param_name_self": ("  k: {type", "  self: {type"),
    "state_name_code": ("  tp: {}", '  "tp; import os": {}'),
    "state_name_method": ("  tp: {}", "  update_state: {}"),
    "input_name_code": ("result: tp", "result: tp\ninputs: ['y_true=os.system(1)', y_pred]"),
    "let_name_code": ("update:\n", "update:\n  let:\n    'a) or (b': y_true\n"),
    "param_type_code": ("type: float, default: 1.0", "type: 'float); import os; (', default: 1.0"),
    "dtype_code": ("  tp: {}", "  tp: {dtype: 'tf.float32); import os; ('}"),
}


@pytest.mark.parametrize("old,new", list(NAME_ATTACKS.values()), ids=list(NAME_ATTACKS))
def test_code_in_names_is_refused(old, new):
    text = spec_with("sum(y_true * y_pred) * k")
    assert text.count(old) == 1
    with pytest.raises(SpecErrors) as info:
        compile_spec(text.replace(old, new))
    assert all(e.location.line >= 1 for e in info.value.errors)


def test_string_values_are_python_literals():
    """A str param's default and choices reach the module only as string literals, read back exactly."""
    evil = '"); import os; ("'
    text = spec_with("sum(y_true) * k").replace(
        "  k: {type: float, default: 1.0, doc: k}",
        f"  k: {{type: float, default: 1.0, doc: k}}\n  mode: {{type: str, default: {yaml_quote(evil)}, "
        f"choices: [{yaml_quote(evil)}, b]}}",
    )
    source = compile_spec(text)
    cls = assert_only_metricgen_code(source)
    init = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
    defaults = dict(zip([a.arg for a in init.args.args][-len(init.args.defaults) :], init.args.defaults))
    assert ast.literal_eval(defaults["mode"]) == evil


def test_spec_path_with_quotes_lands_escaped(tmp_path):
    from metricgen.compiler import compile_file

    folder = tmp_path / 'we"""ird\\dir'
    (folder / "specs").mkdir(parents=True)
    spec = folder / "specs" / "m.yaml"
    spec.write_text(spec_with("sum(y_true)"))
    result = compile_file(spec, folder / "generated")
    assert result.ok, result.errors
    cls = assert_only_metricgen_code(result.source)
    assert "specs/m.yaml" in ast.get_docstring(cls)


# -- YAML --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.mkdir [MARKER]",
        "!!python/object/new:os.mkdir [MARKER]",
        "!!python/name:os.mkdir",
        "!!python/module:os",
        "!<tag:yaml.org,2002:python/object/apply:os.mkdir> [MARKER]",
        "!custom {a: 1}",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!timestamp 2001-12-14",
    ],
)
def test_yaml_tags_are_refused(tag, tmp_path):
    marker = tmp_path / "pwned"
    text = spec_with("sum(y_true)").replace("description: d", f"description: {tag.replace('MARKER', str(marker))}")
    with pytest.raises(SpecErrors) as info:
        compile_spec(text)
    assert "is not allowed" in str(info.value) or "invalid YAML" in str(info.value)
    assert not marker.exists()


def test_unquoted_dates_and_timestamps_are_not_objects():
    # a plain date resolves to the timestamp tag: refused rather than turned into a datetime
    with pytest.raises(SpecErrors, match="is not allowed"):
        compile_spec(spec_with("sum(y_true)").replace("description: d", "description: 2001-12-14"))


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def nested_aliases(levels: int) -> str:
    return "a: &a [1]\n" + "".join(f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}]\n" for i in range(levels))


def wide_aliases(lines: int) -> str:
    anchor = "description: d\nx: &x [" + ", ".join(["1"] * 100) + "]"
    return SPEC.replace("description: d", anchor) + "".join(
        f"y{i}: [" + ", ".join(["*x"] * 50) + "]\n" for i in range(lines)
    )


@pytest.fixture(
    params=[
        pytest.param(
            getattr(yaml, "CSafeLoader", None),
            id="libyaml",
            marks=pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="this PyYAML was built without libyaml"),
        ),
        pytest.param(yaml.SafeLoader, id="pyyaml"),
    ]
)
def parser(request, monkeypatch):
    """Specs are read with this YAML parser: libyaml's (PyYAML's wheels carry it; 6.0.4's refuses nesting past
    1,000 levels) or PyYAML's own, which the loader falls back to and which is quadratic in flow nesting."""
    monkeypatch.setattr(loader, "_FAST_LOADER", request.param)
    return request.param


def refused(text: str) -> str:
    with pytest.raises(SpecErrors) as info:
        compile_spec(text)
    return str(info.value)


def events_read(text: str, monkeypatch) -> tuple[str, int]:
    """The loader's refusal of ``text``, and how many YAML events it read before it, from either parser."""
    read = 0
    parse, get_event = yaml.parse, yaml.parser.Parser.get_event

    def parse_counted(stream, Loader):
        nonlocal read
        for event in parse(stream, Loader):
            read += not issubclass(Loader, yaml.parser.Parser)  # PyYAML's own parser is counted below
            yield event

    def get_event_counted(self):
        nonlocal read
        read += 1
        return get_event(self)

    with monkeypatch.context() as patch:
        patch.setattr(yaml, "parse", parse_counted)
        patch.setattr(yaml.parser.Parser, "get_event", get_event_counted)
        message = refused(text)
    return message, read


# Each shape: the text at a size n, the size of its 1x text (the tests also read it at 10x) and its message.
ALIAS_BOMBS = {
    "nine_levels": (lambda n: billion_laughs(levels=n), 9, "YAML nodes"),
    "thirty_levels": (lambda n: billion_laughs(levels=n, width=2), 30, "YAML nodes"),
    "wide": (wide_aliases, 20, "YAML nodes"),
    "nested_aliases": (nested_aliases, 100, "nested more than 64 levels"),
}
# Each text is read only up to the limit it crosses: a key and a collection a level (or a value), and the stream's
# and document's start; after a first few events from libyaml where it refuses the nesting itself.
TO_DEPTH = 2 * MAX_DEPTH + 8
TO_VALUES = MAX_NODES + 8
# Flow nesting starts past 1,024 levels, the span PyYAML's parser looks ahead for a simple key, so that libyaml's
# own nesting limit (1,000 levels in PyYAML 6.0.4) is met at 1x too.
DEEP_YAML = {
    "open_brackets": (lambda n: "a: " + "[" * n, 20_000, "nested more than 64 levels", TO_DEPTH),
    "nested_lists": (lambda n: "a: " + "[" * n + "]" * n, 1_100, "nested more than 64 levels", TO_DEPTH),
    "nested_mappings": (lambda n: "a: " + "{b: " * n + "}" * n, 1_100, "nested more than 64 levels", TO_DEPTH),
    "nested_block_lists": (lambda n: "a:\n" + "- " * n + "b\n", 1_100, "nested more than 64 levels", TO_DEPTH),
    "invalid_yaml_inside": (
        lambda n: "a: " + "[" * n + "b: c: d" + "]" * n,
        1_100,
        "nested more than 64 levels",
        TO_DEPTH,
    ),
    "many_values": (lambda n: "a: [" + "1, " * n + "1]\n", 30_000, "more than 20,000 values", TO_VALUES),
}


@pytest.mark.parametrize("shape", ALIAS_BOMBS)
def test_alias_bomb_is_refused_fast(shape, parser):
    """Aliases are expanded only up to the node and depth limits: ten times the bomb is about as quick."""
    make, size, message = ALIAS_BOMBS[shape]
    small, big = make(size), make(10 * size)
    assert message in refused(small) and message in refused(big)
    assert growth(lambda: refused(small), lambda: refused(big)) <= MAX_RATIO


def test_recursive_alias_is_refused(parser):
    assert "nested more than 64 levels" in refused("a: &a [*a]\n")


@pytest.mark.parametrize("shape", DEEP_YAML)
def test_deep_yaml_fails_cleanly(shape, parser, monkeypatch):
    """Refused where the limit is crossed, with either parser, having read the text no further: a text ten
    times as deep costs the same."""
    make, size, message, most_events = DEEP_YAML[shape]
    for text in (make(size), make(10 * size)):
        refusal, events = events_read(text, monkeypatch)
        assert message in refusal
        assert events <= most_events


def test_invalid_yaml_after_nesting_within_the_limit_is_linear(parser):
    """The error at the end is found by PyYAML's parser after libyaml's: a read that stays linear."""

    def make(lines: int) -> str:
        return ("x: [" + "[" * 60 + "1" + "]" * 60 + "]\n") * lines + "b: c: d\n"

    small, big = make(10), make(100)
    assert "invalid YAML: mapping values are not allowed here" in refused(big)
    assert growth(lambda: refused(small), lambda: refused(big)) <= MAX_RATIO


def test_huge_file_is_refused():
    with pytest.raises(SpecErrors, match="larger than"):
        compile_spec("# padding\n" * 200_000)


# -- long and deep expressions ----------------------------------------------------------------------------


# Each expression at a size n, and the size at which it is refused (the test also reads a tenth of it).
LONG_OR_DEEP_EXPRESSIONS = {
    "long_sum": (lambda n: "sum(" + " + ".join(["y_true"] * n) + ")", 1_000),
    "parentheses": (lambda n: "'" + "(" * n + "y_true" + ")" * n + "'", 500),
    "unary_minus": (lambda n: "'" + "-" * n + "sum(y_true)'", 3_000),
    "not": (lambda n: "'" + "not " * n + "True'", 900),
    "calls": (lambda n: "'" + "abs(" * n + "y_true" + ")" * n + "'", 300),
    "subscripts": (lambda n: "'" + "y_true[" * n + "0" + "]" * n + "'", 300),
    "conditionals": (lambda n: "'" + "1 if True else " * n + "1'", 250),
    "sum_of_ones": (lambda n: "'" + " + ".join(["1"] * n) + "'", 900),
    "powers": (lambda n: "'" + "2 ** " * n + "2'", 900),
    "comparisons": (lambda n: "'" + "y_true < " * n + "y_pred'", 600),
    "keyword_arguments": (lambda n: "'" + "sum(y_true, axis=" * n + "0" + ")" * n + "'", 200),
    "digits": (lambda n: "'" + "9" * n + "'", 3_000),
}


def refusal_or_none(text: str) -> SpecErrors | None:
    """The errors of loading, validating and analysing ``text`` (what `metricgen validate` does), if any."""
    try:
        analyse_loaded(load_spec_text(text, "specs/m.yaml"))
    except SpecErrors as errors:
        return errors
    return None


@pytest.mark.parametrize("shape", LONG_OR_DEEP_EXPRESSIONS)
def test_long_or_deep_expressions_fail_cleanly(shape):
    """Refused with located errors, at a cost that grows no faster than the expression (a tenth of it builds
    or is refused by another limit: either way, the same work per character)."""
    make, size = LONG_OR_DEEP_EXPRESSIONS[shape]
    small, big = spec_with(make(size // 10)), spec_with(make(size))
    caught = refusal_or_none(big)
    assert caught is not None and all(e.location.line >= 1 for e in caught.errors)
    assert growth(lambda: refusal_or_none(small), lambda: refusal_or_none(big)) <= MAX_RATIO


def test_an_out_of_range_float_literal_fails_cleanly():
    with pytest.raises(SpecErrors) as caught:
        compile_spec(spec_with("'1e999999'"))
    assert all(e.location.line >= 1 for e in caught.value.errors)


def test_deep_but_reasonable_expression_builds():
    expr = "abs(" * 40 + "y_true" + ")" * 40
    source = compile_spec(spec_with(f"sum({expr})"))
    assert_only_metricgen_code(source)
    assert source.count("tf.abs(") == 40


def test_a_spec_file_is_never_executed(tmp_path):
    """Loading a spec runs no code: a file whose text is Python stays text (a YAML error or spec error)."""
    marker = tmp_path / "ran"
    spec = tmp_path / "m.yaml"
    spec.write_text(f"import os\nos.mkdir({str(marker)!r})\n")
    from metricgen.compiler import compile_file

    result = compile_file(spec, tmp_path / "generated")
    assert not result.ok
    assert not marker.exists()
    assert not Path(tmp_path / "generated").exists()


def chained_definitions(count: int, levels: int) -> str:
    """``count`` lets, each nesting the one before ``levels`` conditionals deep (each within the per-expression
    limit, the sum past what a recursive checker can follow)."""
    lines, previous = [], "1"
    for i in range(count):
        expr = previous
        for _ in range(levels):
            expr = f"({expr} if has_sample_weight() else 1)"
        lines.append(f"    a{i}: '{expr}'")
        previous = f"a{i}"
    return (
        "name: deep_chain\nclass_name: DeepChain\ndescription: Deep.\ninputs:\n  - {name: y_true}\n"
        "  - {name: y_pred}\nstate:\n  total: {}\nupdate:\n  let:\n" + "\n".join(lines) + "\n"
        f"  total: weighted_sum(y_pred) * a{count - 1}\nresult: total\n"
    )


def test_definitions_nesting_too_deeply_together_are_a_located_error():
    # before: RecursionError, reported as "cannot generate code ... (this is a metricgen bug)" with no location
    with pytest.raises(SpecErrors) as caught:
        generate_from_text(chained_definitions(10, 90), "deep.yaml")
    error = caught.value.errors[0]
    # which limit speaks first depends on how deep the caller's own stack is (pytest's is deeper than the CLI's)
    assert "nests too deeply with the definitions it uses" in error.message or "nested too deeply" in error.message
    assert error.location.line > 10  # at one of the definitions, not at the top of the file
    generate_from_text(chained_definitions(4, 90), "deep.yaml")  # deep, but within reach: builds
