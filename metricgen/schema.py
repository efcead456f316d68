"""Stage 2, validate: the spec format as pydantic models.

These models say what keys a spec may have and what types their values take; unknown keys are refused.
What needs the whole spec to check (names, expressions, shapes) is the analyser's job, not this module's.
`metricgen schema` prints the JSON Schema generated from these models for editors.
"""

from __future__ import annotations

import difflib
import typing
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from .errors import SpecError, SpecErrors, bounded_suggestions, did_you_mean
from .loader import LoadedSpec

ParamType = Literal["int", "float", "bool", "str", "list[int]", "list[float]", "float|list[float]", "callable"]
# "float" is the metric's own dtype (`dtype=` of the constructor, float32 unless set): the usual choice.
StateDType = Literal["float", "float16", "bfloat16", "float32", "float64", "int32", "int64", "bool"]
Fold = Literal["add", "assign", "max", "min", "append"]
Unfilled = Literal["zeros", "ignored"]


def _number_to_text(value: Any) -> Any:
    # `result: 1` is a number in YAML but an expression to us.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return value


Expr = Annotated[
    str,
    BeforeValidator(_number_to_text, json_schema_input_type=Union[str, float]),
    Field(min_length=1, max_length=4000),
]
Doc = Annotated[str, Field(max_length=20_000)]
Dim = Union[int, str]


# A metric's name: the spec's `name`, and the NAME of `metricgen new NAME`.
METRIC_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
METRIC_NAME_MAX = 100


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class ParamSpec(_Model):
    """A constructor parameter, stored on the instance and saved in `get_config()`."""

    type: ParamType
    default: Any = Field(None, description="Omit for a required parameter.")
    doc: Doc = ""
    min: Union[int, float, None] = Field(None, description="Smallest allowed value (numbers, and list items).")
    max: Union[int, float, None] = Field(None, description="Largest allowed value (numbers, and list items).")
    choices: Union[list[str], None] = Field(None, description="Allowed values of a str parameter.")

    @field_validator("default", "min", "max")
    @classmethod
    def _int64_and_finite(cls, value: Any) -> Any:
        """Numbers a metric holds: ints within int64 and finite floats (in lists too), as literals must be."""
        for number in value if isinstance(value, list) else [value]:
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                continue
            if isinstance(number, int) and not -(2**63) <= number < 2**63:
                raise ValueError(f"must be within int64's range, got {number}")
            if isinstance(number, float) and number != number or number in (float("inf"), float("-inf")):
                raise ValueError("must be a finite number")
        return value

    nullable: bool = Field(
        False, description="None is allowed too, whatever the default (a default of null implies it)."
    )
    forward_kwargs: bool = Field(
        False,
        description="A callable param only: the constructor's other keyword arguments are passed to it on every "
        "call and saved by get_config (Keras' MeanMetricWrapper).",
    )

    @property
    def required(self) -> bool:
        return "default" not in self.model_fields_set

    @property
    def optional(self) -> bool:
        """Whether the param may be None."""
        return self.nullable or (not self.required and self.default is None)


class InputSpec(_Model):
    """An argument of `update_state`, cast to `dtype` on entry."""

    name: str
    dtype: StateDType = "float"
    shape: Union[list[Union[int, str, None]], None] = Field(
        None,
        description="Expected shape, checked when the metric is traced: null for any size, '...' for any "
        "leading dimensions, a param name or an integer expression over params.",
    )
    same_rank_as: Union[str, None] = Field(
        None,
        description="Another input whose rank this one is brought to, as Keras does for labels: a trailing "
        "axis of size 1 is dropped or added ([batch] and [batch, 1] labels both work).",
    )
    rank_offset: int = Field(
        0,
        description="With same_rank_as: this input's rank relative to the other's, 0 or -1. -1 for class ids "
        "beside scores: [batch, 1] labels are squeezed to [batch] beside [batch, classes] predictions.",
    )
    doc: Doc = ""


def _name_to_input(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class StateSpec(_Model):
    """A state variable of the metric."""

    shape: list[Dim] = Field(default_factory=list, description="Entries: ints, param names or int expressions.")
    dtype: StateDType = "float"
    init: Union[int, float, bool] = Field(0, description="Initial value, restored by reset_state().")
    fold: Fold = Field("add", description="How a batch value is folded in: add, assign, max, min or append.")
    rows: Optional[Dim] = Field(
        None,
        description="A sample buffer (fold: append): keeps up to this many rows of `shape` (an int, a param or an "
        "int expression); a batch's rows are appended, and more rows than this are an error.",
    )
    unfilled: Unfilled = Field(
        "zeros",
        description="A sample buffer's rows not yet filled, as the result reads them: `zeros` (the whole buffer, "
        "those rows 0, on every target) or `ignored` (the result is the same without them, so a target whose "
        "shapes need not be fixed reads only the rows held: the torchmetrics target's compute then costs what "
        "the samples cost, not the capacity). With `ignored` the result sizes by `shape(buffer, 0)`, never by "
        "the params of `rows:`.",
    )
    doc: Doc = ""


class UpdateSpec(_Model):
    """Per-batch update: local definitions, then one expression per state variable."""

    model_config = ConfigDict(extra="allow", strict=True)
    __pydantic_extra__: dict[str, Expr]

    let: dict[str, Expr] = Field(default_factory=dict)

    @property
    def assignments(self) -> dict[str, str]:
        return dict(self.model_extra or {})


class ResultSpec(_Model):
    let: dict[str, Expr] = Field(default_factory=dict)
    value: Expr


def _expr_to_result(value: Any) -> Any:
    value = _number_to_text(value)
    return {"value": value} if isinstance(value, str) else value


def _none_to_state(value: Any) -> Any:
    return {} if value is None else value  # `state: {tp: }`: a state with every default


class CheckSpec(_Model):
    """A condition the constructor's arguments must meet together (one param's own range is its min, max and
    choices): the constructor raises ValueError with `message` where it does not hold."""

    require: Expr = Field(
        description="A bool expression over params: `top_k <= num_classes`, `num_classes is not None or average "
        "== 'micro'`."
    )
    message: str = Field(min_length=1, max_length=500, description="What the ValueError says where it fails.")


class ExampleSpec(_Model):
    """A worked example: batches fed to a fresh metric and the value `result()` must give."""

    doc: Doc = ""
    params: dict[str, Any] = Field(default_factory=dict)
    batches: list[dict[str, Any]] = Field(min_length=1)
    expected: Union[float, int, list[Any]] = Field(
        description="What result() gives: a number, or nested lists of numbers for a vector or matrix result."
    )
    tolerance: float = Field(1e-6, ge=0)


class Spec(_Model):
    """A metricgen metric spec."""

    extends: Union[str, None] = Field(
        None,
        description="The spec this one builds on: a file relative to this one (base.yaml) or a catalogue spec "
        "(keras:FBetaScore). Everything but name, class_name and examples is inherited; params and state merge "
        "by key (null deletes an inherited entry), every other part given here replaces the parent's.",
    )
    name: str = Field(
        pattern=METRIC_NAME_PATTERN, max_length=METRIC_NAME_MAX, description="snake_case, the default metric name"
    )
    class_name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$", max_length=100, description="CamelCase class name")
    description: Doc
    package: str = Field("metricgen", pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$", description="Keras serialization package")
    higher_is_better: Union[bool, None] = Field(
        None, description="Whether a larger result is better (torchmetrics' higher_is_better); null: neither."
    )
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    checks: list[CheckSpec] = Field(
        default_factory=list, description="Conditions over several params, checked by the constructor."
    )
    inputs: list[
        Annotated[InputSpec, BeforeValidator(_name_to_input, json_schema_input_type=Union[str, InputSpec])]
    ] = Field(default_factory=lambda: [InputSpec(name="y_true"), InputSpec(name="y_pred")], min_length=1)
    state: dict[
        str, Annotated[StateSpec, BeforeValidator(_none_to_state, json_schema_input_type=Union[StateSpec, None])]
    ] = Field(min_length=1)
    update: UpdateSpec
    result: Annotated[
        ResultSpec, BeforeValidator(_expr_to_result, json_schema_input_type=Union[str, float, ResultSpec])
    ]
    examples: list[ExampleSpec] = Field(default_factory=list)


def validate_spec(loaded: LoadedSpec) -> Spec:
    """Validate loaded data against the models; every problem becomes a located SpecError."""
    if not isinstance(loaded.data, dict):
        raise SpecErrors(
            [
                SpecError(
                    "a spec must be a mapping of keys (name, class_name, state, ...)", loaded.location(()), loaded.path
                )
            ]
        )
    try:
        return Spec.model_validate(loaded.data)
    except ValidationError as exc:
        with bounded_suggestions():
            errors = _to_spec_errors(exc.errors(), loaded)
        raise SpecErrors(errors) from None


# pydantic's type errors, as what was expected
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
}
_MODEL_EXPECTED = {
    "ResultSpec": "an expression, or a mapping with 'value' (and 'let')",
    "InputSpec": "an input name, or a mapping with 'name'",
}


def _to_spec_errors(errors: list[Any], loaded: LoadedSpec) -> list[SpecError]:
    """pydantic's errors as located SpecErrors: the alternatives of a union merged into one error, and no
    'missing key' next to an unknown key whose 'did you mean' names it."""
    groups: dict[tuple, list[Any]] = {}
    for error in errors:
        path = _data_path(tuple(error["loc"]), loaded.data, error["type"])
        groups.setdefault(path, []).append({**error, "loc": path})
    merged: list[Any] = []
    for path, group in groups.items():
        if len(group) > 1 and all(e["type"] in _EXPECTED for e in group):
            expected = list(dict.fromkeys(_EXPECTED[e["type"]] for e in group))
            if "a number" in expected and "an integer" in expected:
                expected.remove("an integer")
            merged.append({**group[0], "type": "expected", "expected": " or ".join(expected)})
        else:
            merged.extend(group)
    misspelt = set()
    for e in merged:
        if e["type"] == "extra_forbidden":
            known = sorted(_known_keys(e["loc"][:-1]))
            close = difflib.get_close_matches(str(e["loc"][-1]), known, n=1, cutoff=0.6)
            misspelt.update((e["loc"][:-1], c) for c in close)
    return [
        _to_spec_error(e, loaded)
        for e in merged
        if not (e["type"] == "missing" and (e["loc"][:-1], e["loc"][-1]) in misspelt)
    ]


def _data_path(loc: tuple, data: Any, kind: str) -> tuple:
    """``loc`` without pydantic's union and validator tags: the steps that exist in the data, plus the key
    itself for a missing key."""
    path: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif not (i == len(loc) - 1 and kind == "missing"):
            continue
        path.append(part)
    return tuple(path)


def _describe(value: Any) -> str:
    """A YAML value in words, for 'got ...'."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}" + ("..." if len(value) > 40 else "")
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__


def _to_spec_error(error: Any, loaded: LoadedSpec) -> SpecError:
    loc = tuple(error["loc"])  # already the path in the data (see _data_path): keys may hold '[' too
    kind = error["type"]
    dotted = ".".join(str(p) for p in loc) or "spec"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        hint = did_you_mean(key, _known_keys(loc[:-1]))
        allowed = ", ".join(sorted(_known_keys(loc[:-1])))
        if not hint and (" " in key or not key.isidentifier()):
            hint = "in {...} a ',' or ': ' starts a new key: put text with them in quotes"
        return SpecError(f"unknown key '{key}'", loaded.key_location(loc), loaded.path, hint or f"allowed: {allowed}")
    if kind == "missing":
        parent = ".".join(str(p) for p in loc[:-1]) or "the spec"
        return SpecError(f"missing required key '{loc[-1]}' in {parent}", loaded.location(loc[:-1]), loaded.path)
    message = error["msg"]
    if kind == "value_error":  # our own validators' words, without pydantic's "Value error, "
        what = f"{loc[2]} of param '{loc[1]}'" if len(loc) == 3 and loc[0] == "params" else dotted
        return SpecError(f"{what} {error['ctx']['error']}", loaded.location(loc), loaded.path)
    if kind == "literal_error":
        message = f"invalid value {error['input']!r} for {dotted}: {message[0].lower()}{message[1:]}"
        return SpecError(message, loaded.location(loc), loaded.path)
    if kind == "string_pattern_mismatch":
        what = {"name": "snake_case, like dice_coefficient", "class_name": "CamelCase, like DiceCoefficient"}
        hint = what.get(str(loc[-1]), f"must match {error['ctx']['pattern']}")
        return SpecError(f"invalid {dotted} {error['input']!r}", loaded.location(loc), loaded.path, hint)
    if kind in _EXPECTED or kind == "expected":
        expected = error.get("expected") or _EXPECTED[kind]
        if kind == "model_type":
            expected = _MODEL_EXPECTED.get(error.get("ctx", {}).get("class_name"), expected)
        return SpecError(
            f"{dotted} must be {expected}, got {_describe(error['input'])}", loaded.location(loc), loaded.path
        )
    if kind in ("too_long", "string_too_long") and isinstance(error["input"], str):
        limit = error["ctx"]["max_length"]
        return SpecError(
            f"{dotted} is too long: {len(error['input'])} characters, at most {limit}",
            loaded.location(loc),
            loaded.path,
        )
    if kind == "too_short" and not error["input"]:
        return SpecError(f"{dotted} must not be empty", loaded.location(loc), loaded.path)
    return SpecError(f"{dotted}: {message[0].lower()}{message[1:]}", loaded.location(loc), loaded.path)


def _known_keys(loc: tuple) -> set[str]:
    """The keys a model accepts at ``loc`` (for 'did you mean' on unknown keys)."""
    annotation: Any = Spec
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return set()
            annotation = field.annotation
        else:
            origin = typing.get_origin(annotation)
            args = typing.get_args(annotation)
            if origin in (list, dict) and args:
                annotation = args[-1]
            else:
                return set()
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return set(annotation.model_fields)
    return set()


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) in (Annotated, Union):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) is Union and len(args) != 1:
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            return models[0] if models else annotation
        annotation = args[0]
    return annotation


def json_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema()
    # a spec that extends another writes only what differs: what it inherits is required of it only without one
    identity = ["name", "class_name"]
    schema["if"] = {"properties": {"extends": {"type": "string"}}, "required": ["extends"]}
    schema["else"] = {"required": [key for key in schema["required"] if key not in identity]}
    schema["required"] = identity
    params = schema["properties"]["params"]  # `NAME: null` deletes an inherited param
    params["additionalProperties"] = {"anyOf": [params["additionalProperties"], {"type": "null"}]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "metricgen spec"
    return schema
