"""One bad spec per user mistake: each must end in ``path:LINE:COL: error: WHAT (hint)``, exit 2, no traceback.

The expected location is where the mistake is in the text, found here by searching the spec for it (not by
asking metricgen), and the expected words are what a person needs to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pytest
from click.testing import CliRunner

from metricgen.cli import main
from conftest import EVERY_TARGET
from metricgen.compiler import compile_file, generate_from_text

# A valid spec; each case below is a copy with one mistake.
GOOD = """\
name: m
class_name: M
description: d
state:
  tp: {}
update:
  tp: sum(y_true * y_pred)
result: tp
"""


@dataclass
class Case:
    id: str
    text: Union[str, bytes]
    # where the error must point: (substring, offset into it) searched in the text, or an explicit (line, col)
    where: Union[tuple[str, int], tuple[int, int]]
    words: list[str]
    only: bool = False  # the one and only error of the spec
    extra: list[str] = field(default_factory=list)  # words that must NOT appear in any message


def replace(old: str, new: str, base: str = GOOD) -> str:
    assert base.count(old) == 1, old
    return base.replace(old, new)


CASES = [
    # -- YAML ------------------------------------------------------------------------------------------------
    Case(
        "yaml_mapping_in_plain_value",
        replace("description: d", "description: ratio: a / b"),
        (": a / b", 0),
        ["invalid YAML", "mapping values are not allowed here"],
        only=True,
    ),
    Case(
        "yaml_unclosed_flow_mapping",
        replace("state:\n  tp: {}", "state: {tp: {}"),
        ("update:", 0),
        ["invalid YAML", "while parsing a flow mapping that starts at line 4, column 8"],
        only=True,
    ),
    Case(
        "yaml_tab_indentation",
        replace("  tp: {}", "\ttp: {}"),
        ("\ttp", 0),
        ["invalid YAML", "'\\t'", "indent with spaces"],
        only=True,
    ),
    Case(  # libyaml, where PyYAML has it, takes this; a spec must not build by how PyYAML was installed
        "yaml_tab_after_a_colon",
        replace("description: d", "description:\td"),
        ("\td", 0),
        ["invalid YAML", "'\\t'"],
        only=True,
    ),
    Case(
        "yaml_python_tag",
        replace("description: d", "description: !!python/object/apply:os.getcwd []"),
        ("!!python", 0),
        ["YAML tag", "python/object/apply:os.getcwd", "is not allowed", "plain data"],
    ),
    Case(
        "duplicate_key",
        replace("class_name: M\n", "class_name: M\nname: other\n"),
        ("name: other", 0),
        ["duplicate key 'name'", "first defined at line 1"],
        only=True,
    ),
    Case(
        "duplicate_nested_key",
        replace("  tp: {}\n", "  tp: {}\n  tp: {dtype: int32}\n"),
        ("  tp: {dtype", 2),
        ["duplicate key 'tp'", "first defined at line 5"],
        only=True,
    ),
    Case("empty_file", "", (1, 1), ["the spec is empty", "metricgen new"], only=True),
    Case("comments_only", "# a spec, one day\n\n", (1, 1), ["the spec is empty"], only=True),
    Case("not_a_mapping", "- name\n- class_name\n", (1, 1), ["a spec must be a mapping"], only=True),
    Case(
        "non_utf8",
        GOOD.replace("description: d", "description: caf\xe9").encode("latin-1"),
        (3, 17),
        ["not valid UTF-8", "0xe9", "save it as UTF-8"],
        only=True,
    ),
    # -- keys and types --------------------------------------------------------------------------------------
    Case(
        "unknown_key_did_you_mean",
        replace("description: d", "descripton: d"),
        ("descripton", 0),
        ["unknown key 'descripton'", "did you mean 'description'?"],
        only=True,
        extra=["missing required key"],
    ),
    Case(
        "unknown_key_allowed_list",
        GOOD + "colour: red\n",
        ("colour", 0),
        ["unknown key 'colour'", "allowed:", "class_name", "examples"],
        only=True,
    ),
    Case(
        "unknown_key_with_brackets",
        GOOD + "'list[int]': 1\n",
        ("'list[int]'", 0),
        ["unknown key 'list[int]'"],
        only=True,
    ),
    Case(
        "unknown_nested_key",
        GOOD + "params:\n  k: {type: float, defualt: 1.0}\n",
        ("defualt", 0),
        ["unknown key 'defualt'", "did you mean 'default'?"],
        only=True,
    ),
    Case("missing_key", replace("result: tp\n", ""), (1, 1), ["missing required key 'result' in the spec"], only=True),
    Case(
        "missing_nested_key",
        GOOD + "params:\n  k: {default: 1}\n",
        ("{default", 0),
        ["missing required key 'type' in params.k"],
        only=True,
    ),
    Case(
        "wrong_type_string",
        replace("name: m", "name: 42"),
        ("42", 0),
        ["name must be a string", "got the number 42"],
        only=True,
    ),
    Case(
        "wrong_type_mapping",
        replace("state:\n  tp: {}", "state: [tp]"),
        ("[tp]", 0),
        ["state must be a mapping", "got a list"],
        only=True,
    ),
    Case(
        "wrong_type_number_union",
        GOOD + "params:\n  k: {type: float, default: 1.0, min: low}\n",
        ("low", 0),
        ["params.k.min must be a number", "got the string 'low'"],
        only=True,
    ),
    Case(
        "wrong_type_expression",
        replace("tp: sum(y_true * y_pred)", "tp: [1, 2]"),
        ("[1, 2]", 0),
        ["update.tp must be a string", "got a list"],
        only=True,
    ),
    Case(
        "wrong_type_result",
        replace("result: tp", "result: [tp]"),
        ("[tp]", 0),
        ["result must be an expression, or a mapping with 'value'", "got a list"],
        only=True,
    ),
    Case(
        "wrong_literal_value",
        replace("tp: {}", "tp: {dtype: float128}"),
        ("float128", 0),
        ["invalid value 'float128' for state.tp.dtype", "'float32'", "'int64'"],
        only=True,
    ),
    Case(
        "wrong_param_type_name",
        GOOD + "params:\n  k: {type: integer, default: 1}\n",
        ("integer", 0),
        ["invalid value 'integer' for params.k.type", "'int'", "'list[float]'"],
        only=True,
    ),
    Case(
        "wrong_default_type",
        GOOD + "params:\n  k: {type: int, default: 0.5}\n",
        ("0.5", 0),
        ["default of param 'k' must be an int", "0.5"],
    ),
    Case(
        "default_out_of_range",
        GOOD + "params:\n  k: {type: float, default: 2.0, max: 1}\n",
        ("2.0", 0),
        ["default of param 'k' must be a number <= 1, got 2.0"],
    ),
    Case("empty_state", replace("state:\n  tp: {}", "state: {}"), ("{}", 0), ["state must not be empty"]),
    Case(
        "expression_too_long",
        replace("sum(y_true * y_pred)", "sum(" + " + ".join(["y_true"] * 500) + ")"),
        ("sum(", 0),
        ["update.tp is too long", "at most 4000"],
        only=True,
    ),
    # -- names -----------------------------------------------------------------------------------------------
    Case(
        "keyword_state_name",
        replace("  tp: {}", "  class: {}"),
        ("  class:", 2),
        ["invalid state variable name 'class'", "Python keyword"],
    ),
    Case(
        "keyword_param_name",
        GOOD + "params:\n  lambda: {type: float, default: 1.0}\n",
        ("lambda", 0),
        ["invalid param name 'lambda'", "Python keyword"],
        only=True,
    ),
    Case(
        "keyword_input_name",
        GOOD + "inputs: [y_true, for]\n",
        ("for]", 0),
        ["invalid input name 'for'", "Python keyword"],
    ),
    Case(
        "clash_name",
        GOOD.replace("tp", "name"),
        ("  name: {}", 2),
        ["invalid state variable name 'name'", "keras.metrics.Metric already has an attribute"],
    ),
    Case(
        "clash_dtype",
        GOOD + "params:\n  dtype: {type: float, default: 1.0}\n",
        ("  dtype:", 2),
        ["invalid param name 'dtype'", "constructor takes an argument of this name"],
    ),
    Case(
        "clash_variables",
        GOOD.replace("tp", "variables"),
        ("  variables: {}", 2),
        ["invalid state variable name 'variables'", "already has an attribute"],
    ),
    Case(
        "clash_generated_name",
        GOOD + "params:\n  self: {type: float, default: 1.0}\n",
        ("  self:", 2),
        ["invalid param name 'self'", "the generated code uses this name"],
    ),
    Case(
        "bad_identifier_chars",
        GOOD + "params:\n  2fast: {type: float, default: 1.0}\n",
        ("2fast", 0),
        ["invalid param name '2fast'", "letters, digits and '_'"],
        only=True,
    ),
    Case(
        "name_defined_twice",
        GOOD + "params:\n  tp: {type: float, default: 1.0}\n",
        ("  tp: {}", 2),
        ["'tp' is already defined as a param"],
    ),
    Case(
        "class_name_not_camel_case",
        replace("class_name: M", "class_name: dice"),
        ("dice", 0),
        ["invalid class_name 'dice'", "CamelCase"],
        only=True,
    ),
    Case(
        "class_name_keyword",
        replace("class_name: M", "class_name: None"),
        ("None", 0),
        ["invalid class_name 'None'", "Python keyword"],
        only=True,
    ),
    # -- expressions -----------------------------------------------------------------------------------------
    Case(
        "unknown_name",
        replace("y_true * y_pred", "y_true * y_prd"),
        ("y_prd", 0),
        ["unknown name 'y_prd'", "did you mean 'y_pred'?"],
        only=True,
    ),
    Case(
        "unknown_name_in_quoted_scalar",
        replace("tp: sum(y_true * y_pred)", 'tp: "sum(y_true * y_prd)"'),
        ("y_prd", 0),
        ["unknown name 'y_prd'", "did you mean 'y_pred'?"],
        only=True,
    ),
    Case(
        "unknown_name_in_block_scalar",
        replace("result: tp", "result: |\n  tp\n  + tpp * 2"),
        ("tpp", 0),
        ["unknown name 'tpp'", "did you mean 'tp'?"],
        only=True,
    ),
    Case(
        "unknown_function",
        replace("sum(", "summ("),
        ("summ", 0),
        ["unknown function 'summ'", "did you mean 'sum'?"],
        only=True,
    ),
    Case(
        "unknown_function_no_close_name",
        replace("sum(", "frobnicate("),
        ("frobnicate", 0),
        ["unknown function 'frobnicate'"],
        only=True,
    ),
    Case(
        "too_few_arguments",
        replace("sum(y_true * y_pred)", "sum(maximum(y_true))"),
        ("maximum", 0),
        ["maximum() is missing argument 'b'", "maximum(a, b)"],
        only=True,
    ),
    Case(
        "too_many_arguments",
        replace("sum(y_true * y_pred)", "sum(clip(y_true, 0, 1, 2))"),
        ("clip", 0),
        ["clip() takes at most 3 arguments, got 4", "clip(x, lo, hi)"],
        only=True,
    ),
    Case(
        "unknown_keyword_argument",
        replace("sum(y_true * y_pred)", "sum(y_true, axes=0)"),
        ("axes=0", 0),
        ["sum() has no argument 'axes'", "did you mean 'axis'?"],
        only=True,
    ),
    Case(
        "expression_syntax",
        replace("sum(y_true * y_pred)", "sum(y_true * )"),
        ("* )", 2),
        ["invalid expression"],
        only=True,
    ),
    Case(
        "attribute_access",
        replace("sum(y_true * y_pred)", "sum(y_true.T)"),
        ("y_true.T", 0),
        ["attribute access ('.') is not allowed"],
        only=True,
    ),
    Case(
        "dtype_name_as_value",
        replace("result: tp", "result: tp * float"),
        ("float", 0),
        ["dtype 'float' is only allowed as the second argument of cast()"],
        only=True,
    ),
    Case(
        "sample_weights_in_result",
        replace("result: tp", "result: tp + weighted_sum(tp)"),
        ("weighted_sum(tp)", 0),
        ["weighted_sum() reads the batch's sample weights", "only be used under update"],
        only=True,
    ),
    # -- the spec as a whole ---------------------------------------------------------------------------------
    Case(
        "state_variable_in_shape",
        "name: m\nclass_name: M\ndescription: d\nstate:\n  tp: {shape: [fp]}\n  fp: {}\n"
        "update:\n  tp: y_true * y_pred\n  fp: sum(y_pred)\nresult: fp\n",
        ("fp]", 0),
        ["state variable 'fp' cannot size a shape", "int params"],
        only=True,
    ),
    Case(
        "input_in_result",
        replace("result: tp", "result: tp + sum(y_pred)"),
        ("sum(y_pred)", 4),
        ["input 'y_pred' is not available in result()", "state variable"],
        only=True,
    ),
    Case(
        "state_never_updated",
        replace("  tp: {}\n", "  tp: {}\n  fp: {}\n"),
        ("  fp: {}", 2),
        ["state variable 'fp' is never updated", "update: {fp: <expression>}"],
        only=True,
    ),
    Case(
        "update_of_unknown_state",
        replace("  tp: sum(y_true * y_pred)\n", "  tp: sum(y_true * y_pred)\n  tpp: sum(y_pred)\n"),
        ("tpp:", 0),
        ["update for unknown state variable 'tpp'", "did you mean 'tp'?"],
        only=True,
    ),
    Case(
        "shape_names_unknown_param",
        replace("  tp: {}", "  tp: {shape: [n_classes]}"),
        ("n_classes", 0),
        ["unknown name 'n_classes'", "declare it under params"],
        only=True,
    ),
    Case(
        "shape_names_misspelt_param",
        GOOD.replace("  tp: {}", "  tp: {shape: [num_clases]}") + "params:\n  num_classes: {type: int, default: 3}\n",
        ("num_clases", 0),
        ["unknown name 'num_clases'", "did you mean 'num_classes'?"],
        only=True,
    ),
    Case(
        "shape_names_float_param",
        GOOD.replace("  tp: {}", "  tp: {shape: [k]}") + "params:\n  k: {type: float, default: 3.0}\n",
        ("k]", 0),
        ["param 'k' of type float cannot size a shape", "int param"],
        only=True,
    ),
    Case(
        "check_is_not_a_condition",
        GOOD + "params:\n  k: {type: int, default: 2}\nchecks:\n  - {require: k + 1, message: nope}\n",
        ("k + 1", 0),
        ["a check must be a condition over params, got constant int", "top_k <= num_classes"],
        only=True,
    ),
    Case(
        "check_reads_an_input",
        GOOD + "checks:\n  - {require: y_pred > 0, message: nope}\n",
        ("y_pred > 0", 0),
        ["unknown name 'y_pred'"],
        only=True,
    ),
    Case(
        "check_fails_at_the_defaults",
        GOOD + "params:\n  lo: {type: int, default: 3}\n  hi: {type: int, default: 2}\n"
        "checks:\n  - {require: lo < hi, message: lo must be below hi}\n",
        ("lo < hi", 0),
        ["the params' defaults fail this check", "change a default"],
        only=True,
    ),
    Case(
        "check_message_names_no_param",
        GOOD + "params:\n  k: {type: int, default: 2}\nchecks:\n  - {require: k > 1, message: 'got {kk}'}\n",
        ("'got {kk}'", 0),
        ["'{kk}' in a message must name a param", "did you mean 'k'"],
        only=True,
    ),
    Case(
        "check_message_formats_more_than_a_value",
        GOOD + "params:\n  k: {type: int, default: 2}\nchecks:\n  - {require: k > 1, message: 'got {k.__class__}'}\n",
        ("'got {k.", 0),
        ["'{k.__class__}' in a message must name a param"],
        only=True,
    ),
    Case(
        # a str param chooses a shape only compared (`4 if mode == "a" else 10`): alone it is no size
        "shape_is_a_str_param",
        GOOD.replace("  tp: {}", "  tp: {shape: [mode]}")
        + "params:\n  mode: {type: str, default: a, choices: [a, b]}\n",
        ("mode]", 0),
        ["a dimension must be a constant int, got constant str", "int params"],
        only=True,
    ),
    Case(
        "circular_definitions",
        replace(
            "update:\n",
            "update:\n  let:\n    a: b + 1\n    b: a * 2\n",
            replace("sum(y_true * y_pred)", "sum(y_true * a)"),
        ),
        ("b: a * 2", 3),
        ["circular definition: a -> b -> a"],
        only=True,
        extra=["never used"],
    ),
    Case(
        "self_reference",
        replace("update:\n", "update:\n  let:\n    a: a + y_true\n", replace("sum(y_true * y_pred)", "sum(a)")),
        ("a: a + y_true", 3),
        ["circular definition: a -> a"],
        only=True,
    ),
    Case(
        "definition_never_used",
        replace("update:\n", "update:\n  let:\n    unused: y_true * 2\n"),
        ("unused", 0),
        ["'unused' is defined but never used"],
        only=True,
    ),
    Case(
        "bool_state_added",
        replace("tp: {}", "tp: {dtype: bool}"),
        ("{dtype", 0),
        ["a bool state variable can only be folded with 'assign'"],
    ),
    # -- examples --------------------------------------------------------------------------------------------
    Case(
        "example_unknown_input",
        GOOD + "examples:\n  - batches: [{y_true: [1], y_prd: [1]}]\n    expected: 1\n",
        ("y_prd", 0),
        ["example batch has unknown input 'y_prd'", "did you mean 'y_pred'?"],
    ),
    Case(
        "example_unknown_param",
        GOOD + "params:\n  k: {type: float, default: 1.0}\n"
        "examples:\n  - params: {kk: 2.0}\n    batches: [{y_true: [1], y_pred: [1]}]\n    expected: 1\n",
        ("kk", 0),
        ["example sets unknown param 'kk'", "did you mean 'k'?"],
        only=True,
    ),
    Case(
        "example_without_batches",
        GOOD + "examples:\n  - expected: 1\n",
        ("expected: 1", 0),
        ["missing required key 'batches' in examples.0"],
        only=True,
    ),
    # -- found in review: each once slipped through to a traceback or to code that fails at run time -------
    Case(
        "axis_none_for_a_single_axis",
        replace("sum(y_true * y_pred)", "sum(argmax(y_pred, axis=None))"),
        ("None", 0),
        ["argument 'axis' of argmax() cannot be None"],
        only=True,
    ),
    # numpy sums over no axis, torch over every one: an empty tuple meant one or the other (found by a review)
    Case(
        "axis_an_empty_tuple",
        replace("sum(y_true * y_pred)", "sum(y_true * y_pred, axis=())"),
        ("()", 0),
        ["argument 'axis' of sum() cannot be empty", "axis=None: every axis"],
        only=True,
    ),
    Case(
        "axis_named_twice",
        replace("sum(y_true * y_pred)", "sum(y_true * y_pred, axis=(0, 0))"),
        ("(0, 0)", 0),
        ["argument 'axis' of sum() names an axis twice"],
        only=True,
    ),
    Case(
        "name_with_trailing_newline",
        replace("  tp: {}", '  "tp\\n": {}\n  tp: {}'),
        ('"tp', 0),
        ["invalid state variable name"],
        only=True,
    ),
    Case(
        "class_name_shadows_a_builtin",
        replace("class_name: M", "class_name: ValueError"),
        ("ValueError", 0),
        ["invalid class_name 'ValueError'", "built-in"],
        only=True,
    ),
    Case(
        "infinite_init_of_an_int_state",
        replace(
            "  tp: {}\nupdate:\n  tp: sum(y_true * y_pred)",
            "  tp: {dtype: int32, init: .inf}\nupdate:\n  tp: size(y_true)",
        ),
        (".inf", 0),
        ["initial value inf of state variable 'tp' does not fit an int32 state"],
        only=True,
    ),
    Case(
        "bool_init_of_a_bool_state",
        replace("  tp: {}", "  tp: {dtype: bool, fold: assign, init: 7}"),
        ("7}", 0),
        ["must be true or false for a bool state"],
        only=True,
    ),
    Case(
        "nan_bound_of_a_param",
        replace("state:", "params:\n  k: {type: float, default: 1.0, min: .nan}\nstate:"),
        (".nan", 0),
        ["min of param 'k' must be a finite number"],
        only=True,
    ),
    Case(
        "min_above_max",
        replace("state:", "params:\n  k: {type: int, default: 2, min: 3, max: 1}\nstate:"),
        ("{type: int, default: 2", 0),
        ["min of param 'k' is larger than its max"],
    ),
    Case(
        "gather_of_per_row_indices",
        replace("sum(y_true * y_pred)", "sum(gather(y_true, argsort(y_pred)[..., :2], axis=-1))"),
        ("argsort(y_pred)[..., :2]", 0),
        ["gather() along an axis other than 0, with indices computed from the batch", "use take_along_axis"],
        only=True,
    ),
    # -- constant arithmetic that would fail or never end when the metric runs (the cost model) --------------
    Case(
        "negative_dimension",
        replace("  tp: {}", "  tp: {shape: ['0 - 5']}").replace("result: tp", "result: sum(tp)"),
        ("'0 - 5'", 0),
        ["dimension '0 - 5' is negative (-5"],
        only=True,
    ),
    Case(
        "unbounded_exponent_in_a_shape",
        replace("state:", "params:\n  n: {type: int, default: 2}\nstate:")
        .replace("  tp: {}", "  tp: {shape: ['n ** 999999999 % 7 + 1']}")
        .replace("result: tp", "result: sum(tp)"),
        ("n ** 999999999", 0),
        ["this constant raises to the power 999999999, more than 64", "params are taken at their defaults"],
        only=True,
    ),
    Case(
        "state_too_large",
        replace("  tp: {}", "  tp: {shape: [40000, 40000]}").replace("result: tp", "result: sum(tp)"),
        ("[40000, 40000]", 0),
        ["would hold 1,600,000,000 elements", "METRICGEN_MAX_STATE_ELEMENTS"],
        only=True,
    ),
    Case(
        "states_too_large_in_all",
        replace("  tp: {}", "  tp: {shape: [10000, 9000]}\n  fp: {shape: [10000, 9000]}\n  fn: {shape: [10000, 9000]}")
        .replace("  tp: sum(y_true * y_pred)", "  tp: sum(y_pred)\n  fp: sum(y_pred)\n  fn: sum(y_pred)")
        .replace("result: tp", "result: sum(tp)"),
        (7, 15),  # fn's shape, the state that crosses the limit
        ["the state variables up to 'fn' would hold 270,000,000 elements", "more than 200,000,000 in all"],
        only=True,
    ),
    Case(
        "complex_constant",
        replace("sum(y_true * y_pred)", "sum(y_true) * (-1) ** 0.5"),
        ("(-1) ** 0.5", 0),
        ["this constant is a complex number"],
        only=True,
    ),
    Case(
        "overflowing_constant",
        replace("sum(y_true * y_pred)", "sum(y_true) * 10.0 ** 400"),
        ("10.0 ** 400", 0),
        ["this constant is too large"],
        only=True,
    ),
    Case(
        "negative_count",
        replace("sum(y_true * y_pred)", "sum(one_hot(cast(y_true, int32), 0 - 1))"),
        ("0 - 1)", 0),
        ["argument 'depth' of one_hot() cannot be negative (it is -1"],
        only=True,
    ),
    Case(
        "huge_count",
        replace("sum(y_true * y_pred)", "sum(cast(arange(0, 1000000000000), float))"),
        ("1000000000000)", 0),
        ["argument 'stop' of arange() is 1,000,000,000,000, more than 100,000,000"],
        only=True,
    ),
    Case(
        "init_beyond_float16",
        replace("  tp: {}", "  tp: {dtype: float16, init: 1.0e+300}"),
        ("1.0e+300", 0),
        ["initial value 1e+300 of state variable 'tp' is beyond the largest float16, 65504"],
        only=True,
    ),
    # -- str params with choices, optional params ------------------------------------------------------------
    Case(
        "string_not_among_the_choices",
        replace("state:", "params:\n  average: {type: str, default: micro, choices: [micro, macro]}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) * (2 if average == 'macor' else 1)"
        ),
        ("'macor'", 0),
        ["'macor' is not one of the choices of 'average'", "did you mean 'macro'?"],
        only=True,
    ),
    Case(
        "string_compared_with_a_number",
        replace("state:", "params:\n  average: {type: str, default: micro}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) * (2 if average == 3 else 1)"
        ),
        ("average == 3", 0),
        ["'==' cannot compare a constant str with a constant int", 'average == "macro"'],
        only=True,
    ),
    Case(
        "str_param_as_a_condition",
        replace("state:", "params:\n  average: {type: str, default: micro, choices: [micro, macro]}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) * (2 if average else 1)"
        ),
        ("average else", 0),
        ["a condition needs a boolean, got constant str", "compare it, e.g. average == 'micro'"],
        only=True,
    ),
    Case(
        "is_list_of_a_plain_param",
        replace("state:", "params:\n  k: {type: float, default: 0.5}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) if is_list(k) else sum(y_pred)"
        ),
        ("k) else", 0),
        ["is_list() applies to float|list[float] params"],
        only=True,
    ),
    Case(
        "optional_param_used_without_a_test",
        replace("state:", "params:\n  class_id: {type: int, default: null}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true[..., class_id])"
        ),
        ("class_id])", 0),
        ["param 'class_id' may be None here", "if class_id is not None else"],
        only=True,
    ),
    Case(
        "optional_param_used_on_the_wrong_branch",
        replace("state:", "params:\n  class_id: {type: int, default: null}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true[..., class_id] if class_id is None else y_true)"
        ),
        ("class_id] if", 0),
        ["param 'class_id' may be None here"],
        only=True,
    ),
    Case(
        "len_of_an_optional_list_param",  # len(None) would fail when the metric runs
        replace("state:", 'params:\n  ths: {type: "list[float]", default: null}\nstate:').replace(
            "sum(y_true * y_pred)", "sum(y_true * y_pred) * len(ths)"
        ),
        ("ths)", 0),
        ["param 'ths' may be None here", "if ths is not None else"],
        only=True,
    ),
    Case(
        "optional_param_after_or_is_not_none",  # `or` goes on where the test failed: class_id IS None there
        replace("state:", "params:\n  class_id: {type: int, default: null}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) if (class_id is not None or class_id > 2) else 0.0"
        ),
        ("class_id > 2", 0),
        ["param 'class_id' may be None here"],
        only=True,
    ),
    Case(
        "optional_param_after_and_is_none",  # `and` goes on where the test held: class_id IS None there
        replace("state:", "params:\n  class_id: {type: int, default: null}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) if (class_id is None and class_id > 2) else 0.0"
        ),
        ("class_id > 2", 0),
        ["param 'class_id' may be None here"],
        only=True,
    ),
    Case(
        "first_batch_shape_of_an_unknown_input",
        replace("tp: {}", 'tp: {shape: ["shape(y_prd, -1)"]}').replace("sum(y_true * y_pred)", "sum(y_pred, axis=0)"),
        ("y_prd", 0),
        ["shape() in a state's shape applies to an input of update_state", "did you mean 'y_pred'?"],
        only=True,
    ),
    Case(
        "first_batch_size_computed_with",
        replace("tp: {}", 'tp: {shape: ["shape(y_pred, -1) * 2"]}').replace(
            "sum(y_true * y_pred)", "concat(sum(y_pred, axis=0), sum(y_true, axis=0))"
        ),
        ('"shape(y_pred', 0),
        ["an input's size is a dimension as it is: it cannot be computed with"],
        only=True,
    ),
    Case(
        "first_batch_shape_on_a_max_state",
        replace("tp: {}", 'tp: {shape: ["shape(y_pred, -1)"], fold: max}').replace(
            "sum(y_true * y_pred)", "max(y_pred, axis=0)"
        ),
        ('["shape(y_pred', 0),
        ["state variable 'tp' is shaped by the first batch, so it must be a sum from 0 (fold: add, init: 0)"],
        only=True,
    ),
    Case(
        "first_batch_shape_with_an_axis_that_is_not_constant",
        replace("tp: {}", 'tp: {shape: ["shape(y_pred, y_true)"]}').replace("sum(y_true * y_pred)", "y_pred[0]"),
        ("y_true)", 0),
        ["input 'y_true' cannot size a shape", "shape(y_pred, -1)"],
    ),
    Case(
        "nullable_param_used_without_a_test",
        replace("state:", "params:\n  mode: {type: int, default: 2, nullable: true}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) * mode"
        ),
        ("mode\n", 0),
        ["param 'mode' may be None here"],
        only=True,
    ),
    Case(
        "guarded_definition_used_outside_its_branch",
        replace("state:", "params:\n  class_id: {type: int, default: null}\nstate:").replace(
            "  tp: sum(y_true * y_pred)",
            "  let:\n    column: y_pred[..., class_id]\n"
            "  tp: (sum(column) if class_id is not None else sum(y_pred)) + sum(column)",
        ),
        ("column)\nresult", 0),
        ["'column' uses param 'class_id', which may be None here", "if class_id is not None else"],
        only=True,
    ),
    Case(
        "rank_offset_without_same_rank_as",
        replace("state:", "inputs:\n  - {name: y_true, rank_offset: -1}\n  - {name: y_pred}\nstate:"),
        ("-1}", 0),
        ["rank_offset applies with same_rank_as"],
        only=True,
    ),
    Case(
        "rank_offset_of_two",
        replace(
            "state:", "inputs:\n  - {name: y_true, same_rank_as: y_pred, rank_offset: -2}\n  - {name: y_pred}\nstate:"
        ),
        ("-2}", 0),
        ["rank_offset must be 0 or -1, got -2"],
        only=True,
    ),
    Case(
        "count_from_two_state_sizes",
        replace("tp: {}", "tp: {shape: [3]}").replace(
            "sum(y_true * y_pred)",
            "segment_sum(reshape(y_pred, [-1]), cast(reshape(y_true, [-1]), int32), shape(tp, 0) * shape(tp, 0))[:3]",
        ),
        ("shape(tp, 0) *", 0),
        ["may use one state variable's size, not several"],
        only=True,
    ),
    Case(
        "state_size_on_an_axis_it_lacks",
        replace("tp: {}", "tp: {shape: [3]}").replace("sum(y_true * y_pred)", "y_pred[0, :3] * shape(tp, 1)"),
        ("1)", 0),
        ["state variable 'tp' has 1 axis, so axis 1 is out of range"],
        only=True,
    ),
    Case(
        "forward_kwargs_on_a_number",
        replace("state:", "params:\n  k: {type: float, default: 1.0, forward_kwargs: true}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true * y_pred) * k"
        ),
        ("{type: float", 0),
        ["forward_kwargs applies to callable params, not float"],
        only=True,
    ),
    Case(
        "forward_kwargs_attribute_taken",
        replace(
            "state:",
            "params:\n  fn: {type: callable, forward_kwargs: true}\n  fn_kwargs: {type: int, default: 1}\nstate:",
        ).replace("sum(y_true * y_pred)", "sum(fn(y_true, y_pred)) * fn_kwargs"),
        ("fn_kwargs:", 0),
        ["param 'fn_kwargs' takes the name where 'fn''s keyword arguments are kept", "rename it"],
        only=True,
    ),
    Case(
        "first_batch_axis_from_a_param",
        replace("state:", "params:\n  axis: {type: int, default: -1}\nstate:")
        .replace("tp: {}", 'tp: {shape: ["shape(y_pred, axis)"]}')
        .replace("sum(y_true * y_pred)", "sum(y_pred, axis=0)"),
        ("axis)", 0),
        ["the axis must be an int literal"],
        only=True,
    ),
    Case(
        "first_batch_size_computed_with_inside_a_branch",
        replace("state:", "params:\n  per_column: {type: bool, default: true}\nstate:")
        .replace("tp: {}", 'tp: {shape: ["(shape(y_pred, -1) if per_column else 1) - 1"]}')
        .replace("sum(y_true * y_pred)", "sum(y_pred, axis=0)[1:]"),
        ('"(shape', 0),
        ["an input's size is a dimension as it is"],
        only=True,
    ),
    Case(
        "count_from_two_state_sizes_through_a_definition",
        replace("tp: {}", "tp: {shape: [3]}").replace(
            "  tp: sum(y_true * y_pred)",
            "  let:\n    both: shape(tp, 0) * shape(tp, 0)\n"
            "  tp: segment_sum(reshape(y_pred, [-1]), cast(reshape(y_true, [-1]), int32), both)[:3]",
        ),
        ("both)", 0),
        ["may use one state variable's size, not several"],
        only=True,
    ),
    Case(
        "forward_kwargs_attribute_taken_by_a_state",
        replace("state:", "params:\n  fn: {type: callable, forward_kwargs: true}\nstate:\n  fn_kwargs: {}").replace(
            "  tp: sum(y_true * y_pred)", "  tp: sum(fn(y_true, y_pred))\n  fn_kwargs: sum(y_pred)"
        ),
        ("fn_kwargs: {}", 0),
        ["state variable 'fn_kwargs' takes the name where 'fn''s keyword arguments are kept"],
        only=True,
    ),
    Case(
        "is_none_on_a_required_param",
        replace("state:", "params:\n  k: {type: int}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(y_true) if k is None else sum(y_pred)"
        ),
        ("k is None", 0),
        ["param 'k' is never None", "default: null"],
        only=True,
    ),
    Case(
        "is_none_on_a_tensor",
        replace("sum(y_true * y_pred)", "sum(y_true) if y_pred is None else sum(y_pred)"),
        ("y_pred is None", 0),
        ["only a param can be None, not a float tensor"],
        only=True,
    ),
    Case(
        "is_with_something_else_than_none",
        replace("sum(y_true * y_pred)", "sum(y_true) if y_pred is 3 else 1"),
        ("y_pred is 3", 0),
        ["'is' and 'is not' compare with None only"],
        only=True,
    ),
    Case(
        "optional_default_out_of_range",
        replace("state:", "params:\n  k: {type: int, default: -1, min: 0}\nstate:"),
        ("-1, min", 0),
        ["default of param 'k' must be an int >= 0, got -1"],
        only=True,
    ),
    Case(
        "calling_an_optional_callable",
        replace("state:", "params:\n  fn: {type: callable, default: null}\nstate:").replace(
            "sum(y_true * y_pred)", "sum(fn(y_true, y_pred))"
        ),
        ("fn(y_true", 0),
        ["callable param 'fn' may be None", "make it required"],
        only=True,
    ),
    Case(
        "reshape_with_two_free_dimensions",
        replace("sum(y_true * y_pred)", "sum(reshape(y_pred, [-1, -1]))"),
        ("[-1, -1]", 0),
        ["can have -1 only once"],
        only=True,
    ),
    Case(
        "reshape_with_a_bare_int",
        replace("sum(y_true * y_pred)", "sum(transpose(y_pred, perm=5))"),
        ("5))", 0),
        ["must be a list of ints"],
        only=True,
    ),
    Case(
        "slice_step_zero",
        replace("sum(y_true * y_pred)", "sum(y_pred[1:2:0])"),
        ("1:2:0", 0),
        ["a slice step cannot be 0"],
        only=True,
    ),
    Case(
        "unknown_name_in_a_block_scalar",
        replace("  tp: sum(y_true * y_pred)", "  tp: |\n    sum(y_true\n        * y_prd)"),
        ("y_prd", 0),
        ["unknown name 'y_prd'", "did you mean 'y_pred'?"],
        only=True,
    ),
    Case(
        "integer_literal_too_large",
        replace("sum(y_true * y_pred)", f"sum(y_pred) * {2**63}"),
        (str(2**63), 0),
        ["integer literal is too large"],
        only=True,
    ),
]


def location(case: Case) -> tuple[int, int]:
    """The expected line and column, from the case's text (1-based)."""
    if isinstance(case.where[0], int):
        return case.where  # type: ignore[return-value]
    needle, offset = case.where
    text = case.text.decode("utf-8", errors="replace") if isinstance(case.text, bytes) else case.text
    assert text.count(needle) == 1, f"{needle!r} must occur once in the spec of {case.id}"
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def write(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / "specs" / "bad.yaml"
    path.parent.mkdir(exist_ok=True)
    if isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text, encoding="utf-8")
    return path


def check_messages(messages: list[str], path: Path, case: Case) -> None:
    line, column = location(case)
    prefix = f"{path}:{line}:{column}: error: "
    assert any(
        m.startswith(prefix) and all(w in m for w in case.words) for m in messages
    ), f"expected an error starting {prefix!r} with {case.words}, got:\n" + "\n".join(messages)
    if case.only:
        assert len(messages) == 1, "\n".join(messages)
    for word in case.extra:
        assert not any(word in m for m in messages), "\n".join(messages)


def test_cases_are_distinct():
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.text for c in CASES}) == len(CASES)


def test_the_good_spec_is_good(tmp_path):
    result = compile_file(write(tmp_path, Case("good", GOOD, (1, 1), [])), tmp_path / "generated")
    assert result.ok, result.errors


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_spec(case, tmp_path):
    path = write(tmp_path, case)
    result = compile_file(path, tmp_path / "generated")
    assert not result.ok, f"{case.id} was accepted"
    check_messages([e.format() for e in result.errors], path, case)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_spec_through_the_cli(case, tmp_path, monkeypatch):
    path = write(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    relative = path.relative_to(tmp_path)
    for command in (["validate", str(relative)], ["build", str(relative)], ["check", str(relative)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, (command, result.output)
        assert isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        errors = [line for line in result.stderr.splitlines() if ": error: " in line]
        check_messages(errors, relative, case)
    assert not (tmp_path / "generated").exists()


def test_directory_without_specs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "notes.txt").write_text("not a spec")
    for command in ("validate", "build", "check", "test"):
        result = CliRunner().invoke(main, [command, "specs"])
        assert result.exit_code == 2, result.output
        assert "specs: error: no spec files (*.yaml, *.yml) in this directory" in result.stderr


def test_path_that_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "specs/nope.yaml"])
    assert result.exit_code == 2
    assert "specs/nope.yaml: error: no such file or directory" in result.stderr


def test_file_name_that_cannot_name_a_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "1st.yaml").write_text(GOOD)
    result = CliRunner().invoke(main, ["validate", "specs"])
    assert result.exit_code == 2
    assert "specs/1st.yaml: error: '1st' cannot name a Python module" in result.stderr


def test_all_errors_of_all_files_then_a_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(replace("y_true * y_pred", "y_true * y_prd").replace("result: tp", "result: tpp"))
    (specs / "b.yaml").write_text(replace("sum(", "summ("))
    (specs / "c.yaml").write_text(GOOD)
    result = CliRunner().invoke(main, ["validate", "specs"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert [line.split(": error: ")[0] for line in lines[:-1]] == [
        "specs/a.yaml:7:20",
        "specs/a.yaml:8:9",
        "specs/b.yaml:7:7",
    ]
    assert lines[-1] == "3 errors; 2 of 3 specs invalid"


def test_every_error_in_one_round(tmp_path):
    """A bad default does not hide the expressions' errors, and an expression that fails does not make the
    definitions it names look unused."""
    spec = tmp_path / "rounds.yaml"
    spec.write_text(
        "name: rounds\nclass_name: Rounds\ndescription: d\nparams:\n  k: {type: int, default: 2.5}\nstate:\n"
        "  tp: {}\nupdate:\n  let:\n    expected: y_true * k\n  tp: sum(expected +)\nresult: tp / unknown_name\n",
        encoding="utf-8",
    )
    result = compile_file(spec, tmp_path / "generated")
    messages = [e.format().split(": error: ", 1)[1] for e in result.errors]
    assert messages == [
        "default of param 'k' must be an int, got 2.5",
        "invalid expression: invalid syntax",
        "unknown name 'unknown_name'",
    ]


# -- values decided at trace time, folds into int state, Python's two-argument max (issue 20) ----------------
TRACE_TIME_CASES = [
    Case(
        "float_folded_into_an_int_state",
        replace(
            "  tp: {}\nupdate:\n  tp: sum(y_true * y_pred)", "  tp: {dtype: int32}\nupdate:\n  tp: weighted_sum(y_true)"
        ),
        ("weighted_sum(y_true)", 0),
        ["state 'tp' is int32", "adds a float", "make the state float32", "cast(..., int32)"],
        only=True,
    ),
    Case(
        "pythons_two_argument_max_of_a_scalar",
        replace("result: tp", "result: tp / max(tp + 1.0, 1)"),
        ("1)", 0),
        ["max() over axis 1 of a value with 0 axes", "use maximum(a, b) for the element-wise larger value"],
        only=True,
    ),
    Case(
        "pythons_two_argument_min_of_two_tensors",
        replace("sum(y_true * y_pred)", "sum(min(y_true, y_pred))"),
        ("y_pred))", 0),
        ["second argument of min() is the axis", "float tensor", "use minimum(a, b)"],
        only=True,
    ),
    Case(
        "axis_of_a_state_it_does_not_have",
        replace("result: tp", "result: sum(tp, axis=0)"),
        ("0)", 0),
        ["sum() over axis 0 of a value with 0 axes", "a number has no axis"],
        only=True,
    ),
    Case(
        "ranks_of_a_number_along_the_default_axis",
        replace("result: tp", "result: sum(rankdata(tp))"),
        ("rankdata(", 0),
        ["rankdata() works along an axis (its default: -1), and its argument is a number", "a number has no axis"],
        only=True,
    ),
    Case(
        "choice_compared_with_the_string_on_the_left",
        replace(
            "state:",
            "params:\n  unit: {type: str, default: percent, choices: [percent, ratio]}\nstate:",
            replace("sum(y_true * y_pred)", 'sum(y_true) * (100.0 if "precent" == unit else 1.0)'),
        ),
        ('"precent"', 0),
        ["'precent' is not one of the choices of 'unit'", "did you mean 'percent'?"],
        only=True,
    ),
    Case(
        "rank_in_a_state_shape",
        replace("  tp: {}", '  tp: {shape: ["shape(y_pred, -1) if rank(y_pred) > 1 else 1"]}'),
        ("rank(", 0),
        ["rank() cannot size a state", "choose the shape by a bool param"],
        only=True,
        extra=["cannot size a shape"],
    ),
    Case(
        "decided_or_whose_other_side_needs_the_param_for_its_shape",
        replace(
            "state:",
            'params:\n  weights: {type: "list[float]", default: null}\nstate:',
            replace("sum(y_true * y_pred)", "sum(cast(weights is None or cast(weights, float) > 0.0, float))"),
        ),
        ("cast(weights, float) > 0.0", 0),
        ["shape of this value needs param 'weights'", "`A if weights is not None else B`"],
        only=True,
    ),
]


@pytest.mark.parametrize("case", TRACE_TIME_CASES, ids=[c.id for c in TRACE_TIME_CASES])
def test_trace_time_bad_spec(case, tmp_path):
    path = write(tmp_path, case)
    result = compile_file(path, tmp_path / "generated")
    assert not result.ok, f"{case.id} was accepted"
    check_messages([e.format() for e in result.errors], path, case)


def test_an_error_in_a_definition_does_not_make_what_it_uses_look_unused(tmp_path):
    """`score` fails on its condition before it reaches `both`, which uses `tp`: one error, not three."""
    spec = tmp_path / "follow_up.yaml"
    spec.write_text(
        "name: follow_up\nclass_name: FollowUp\ndescription: d\nparams:\n"
        "  average: {type: str, default: null, choices: [micro, macro]}\nstate:\n  total: {}\nupdate:\n  let:\n"
        "    tp: sum(y_true)\n    fp: sum(y_pred)\n    both: tp + fp\n"
        '    score: both if average == "micro" else fp\n  total: score\nresult: total\n',
        encoding="utf-8",
    )
    messages = [e.format().split(": error: ", 1)[1] for e in compile_file(spec, tmp_path / "generated").errors]
    assert len(messages) == 1 and messages[0].startswith("param 'average' may be None here"), messages


BASE_CLASS_NAMES = """
name: kappa_like
class_name: KappaLike
description: params named like attributes of the targets' base classes (torchmetrics' Cohen's kappa has `weights`)
params:
  weights: {type: str, default: null, choices: [linear, quadratic]}
  result: {type: float, default: 2.0}
  device: {type: float, default: 3.0}
state:
  total: {}
update:
  total: sum(y_pred) * (result if weights is None else device)
result: total
"""


@pytest.mark.parametrize("target", EVERY_TARGET)
def test_a_param_named_like_a_base_class_attribute_is_kept_apart_from_it(target):
    """keras.metrics.Metric has `weights` and `result`, torchmetrics.Metric `device`: a param of that name is
    kept under another attribute, so the class's own attribute still works, and the param reads right."""
    from drivers import driver

    namespace: dict = {}
    exec(compile(generate_from_text(BASE_CLASS_NAMES, "kappa_like.yaml", target), "kappa_like.py", "exec"), namespace)
    drive = driver(target)
    for kwargs, factor in (({}, 2.0), ({"weights": "linear", "device": 5.0}, 5.0)):
        metric = drive.make(namespace["KappaLike"], **kwargs)
        drive.update(metric, {"y_true": np.ones(3, np.float32), "y_pred": np.array([1.0, 2.0, 3.0], np.float32)})
        np.testing.assert_allclose(drive.result(metric), 6.0 * factor)
