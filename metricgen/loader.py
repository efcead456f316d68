"""Stage 1, load: spec file → plain Python data plus the source position of every key and value.

PyYAML's composer gives a node tree with marks; we build the data ourselves from it so that we can
- remember where each value came from (pydantic errors and expression errors point into the file),
- refuse duplicate keys (YAML silently keeps the last one),
- refuse every tag but the plain JSON-like ones (no Python object tags: specs are data),
- cap the number of nodes an alias may expand to (a "billion laughs" file fails fast, not out of memory),
- refuse nesting and values past the limits as the parser reads them, never reading further (linear time with
  libyaml and with PyYAML's own parser alike).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import Location, SpecError, SpecErrors

# libyaml's parser where PyYAML was built with it (its wheels are): ten times faster, the same nodes and marks
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A spec has a few hundred nodes; anything past this is a mistake or an attack.
MAX_NODES = 20_000
MAX_BYTES = 1_000_000
MAX_DEPTH = 64  # nesting of mappings and lists; a spec needs about 6
MAX_EXPANDED_BYTES = 2 * MAX_BYTES  # characters of all scalars once aliases are expanded

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

Path_ = tuple  # a path into the data: ("state", "tp", "shape", 0)

_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # YAML's line breaks, as PyYAML's marks count lines


@dataclass(frozen=True)
class ScalarSource:
    """Where a scalar's text starts, and how its characters map back to the file."""

    location: Location
    style: str | None  # None (plain), "'" , '"', "|" or ">"


@dataclass
class LoadedSpec:
    path: str
    data: Any
    text: str
    # value positions (for a mapping: its first key); key positions for mapping entries
    value_locations: dict[Path_, ScalarSource] = field(default_factory=dict)
    key_locations: dict[Path_, Location] = field(default_factory=dict)
    # the specs this one extends, by the path their locations name (Location.file): what holds inherited text
    files: dict[str, "LoadedSpec"] = field(default_factory=dict)

    def origin(self, location: Location) -> "LoadedSpec":
        """The loaded file whose text ``location`` points into: this one, or one it extends."""
        return self.files.get(location.file, self) if location.file else self

    def location(self, path: Path_) -> Location:
        """The best known position for ``path``: the value, else its key, else the nearest parent."""
        path = tuple(path)
        while True:
            if path in self.value_locations:
                return self.value_locations[path].location
            if path in self.key_locations:
                return self.key_locations[path]
            if not path:
                return Location(1, 1)
            path = path[:-1]

    def key_location(self, path: Path_) -> Location:
        path = tuple(path)
        return self.key_locations.get(path) or self.location(path)

    def source(self, path: Path_) -> ScalarSource | None:
        return self.value_locations.get(tuple(path))

    @cached_property
    def line_starts(self) -> list[int]:
        """The index in ``text`` where each line starts, lines broken as YAML breaks them (the marks' lines):
        found once, so that each position is a lookup rather than a scan of the text."""
        return [0] + [match.end() for match in _LINE_BREAK.finditer(self.text)]

    def offset(self, location: Location) -> int:
        """The index in ``text`` of a 1-based line and column (past a last line: the end of the text)."""
        if location.line > len(self.line_starts):
            return len(self.text)
        return self.line_starts[location.line - 1] + location.column - 1

    def location_at(self, offset: int) -> Location:
        """The 1-based line and column of an index in ``text``."""
        line = bisect.bisect_right(self.line_starts, offset)
        return Location(line, offset - self.line_starts[line - 1] + 1)

    def line(self, number: int) -> str:
        """The text of a 1-based line, without its line break ('' past the last line)."""
        if not 1 <= number <= len(self.line_starts):
            return ""
        start = self.line_starts[number - 1]
        end = self.line_starts[number] if number < len(self.line_starts) else len(self.text)
        return _LINE_BREAK.sub("", self.text[start:end])


def _loc(mark: yaml.Mark) -> Location:
    return Location(mark.line + 1, mark.column + 1)


def load_spec_text(text: str, path: str) -> LoadedSpec:
    if len(text) > MAX_BYTES:
        raise SpecErrors([SpecError(f"file is larger than {MAX_BYTES} bytes", Location(1, 1), path)])
    control = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    if control:  # PyYAML's message for these is two lines at 1:1
        line = text.count("\n", 0, control.start()) + 1
        column = control.start() - (text.rfind("\n", 0, control.start()) + 1) + 1
        raise SpecErrors(
            [
                SpecError(
                    f"control character U+{ord(control.group()):04X} is not allowed in a spec",
                    Location(line, column),
                    path,
                    "remove it; write escapes like \\t inside double quotes",
                )
            ]
        )
    try:
        root = _compose(text, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _loc(mark) if mark else Location(1, 1)
        problem = _yaml_problem(exc)
        hint = ""
        if "expected ',' or '}'" in problem or "expected ',' or ']'" in problem:
            hint = "inside {...} or [...], quote values that contain [ ] { } or ', ' (type: \"list[float]\")"
        raise SpecErrors([SpecError(f"invalid YAML: {problem}", where, path, hint)]) from None
    except yaml.YAMLError as exc:
        raise SpecErrors([SpecError(f"invalid YAML: {exc}", Location(1, 1), path)]) from None
    except RecursionError:
        raise SpecErrors(
            [
                SpecError(
                    "the YAML is nested too deeply",
                    Location(1, 1),
                    path,
                    f"a spec needs a few levels, at most {MAX_DEPTH}",
                )
            ]
        ) from None
    if root is None:
        raise SpecErrors(
            [SpecError("the spec is empty", Location(1, 1), path, "run 'metricgen new NAME' for a starter spec")]
        )
    spec = LoadedSpec(path=path, data=None, text=text)
    builder = _Builder(spec)
    spec.data = builder.build(root, ())
    if builder.errors:
        raise SpecErrors(builder.errors)
    return spec


def _compose(text: str, path: str) -> yaml.Node:
    """The YAML node tree, its events checked against the limits as they are read.

    libyaml's tree is composed in C, out of our reach: its event stream is checked first, a second reading
    (both are fast). A text libyaml refuses is read by PyYAML's parser, whose errors say more ("found character
    '\\t' that cannot start any token") and are the ones we explain; libyaml also refuses nesting past its own
    limit (1,000 levels in PyYAML 6.0.4) before it yields a single event. A text with a tab goes to PyYAML's
    parser first: libyaml takes tabs PyYAML refuses (`a:\\tb`), and a spec must not build or fail by how PyYAML
    was installed."""
    if "\t" in text or _FAST_LOADER is yaml.SafeLoader:
        return _compose_checking(text, path)
    try:
        _check_events(yaml.parse(text, Loader=_FAST_LOADER), path)
        return yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return _compose_checking(text, path)


def _compose_checking(text: str, path: str) -> yaml.Node:
    """PyYAML's tree, each event checked as the composer takes it: one reading, that stops at the first limit
    crossed. The stop keeps PyYAML's parser linear: its simple-key scan is quadratic in the flow nesting."""
    loader = _CheckingLoader(text)
    loader.limits = _Limits(path)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class _Limits:
    """The nesting and the number of values of the events read so far: the first one too many or too deep is
    refused, located, before the (recursive) composer meets it."""

    def __init__(self, path: str):
        self.path = path
        self.depth = 0
        self.values = 0

    def check(self, event: yaml.Event) -> None:
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.values += 1
            if self.values > MAX_NODES:
                raise SpecErrors(
                    [
                        SpecError(
                            f"the spec holds more than {MAX_NODES:,} values",
                            _loc(event.start_mark),
                            self.path,
                            "a spec has a few hundred",
                        )
                    ]
                )
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                message = f"the spec is nested more than {MAX_DEPTH} levels deep"
                raise SpecErrors([SpecError(message, _loc(event.start_mark), self.path)])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.depth -= 1


def _check_events(events: Iterator[yaml.Event], path: str) -> None:
    """Read ``events`` up to the first limit crossed, never listed whole."""
    limits = _Limits(path)
    for event in events:
        limits.check(event)


class _CheckingLoader(yaml.SafeLoader):
    """PyYAML's safe loader, its composer taking only events that pass the limits."""

    limits: _Limits

    def get_event(self) -> yaml.Event:
        event = super().get_event()
        self.limits.check(event)
        return event


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """The parser's complaint, with where the construct it was reading began, and a word on tabs."""
    problem = exc.problem or exc.context or "invalid YAML"
    if "'\\t'" in problem:
        problem += " (indent with spaces: YAML does not allow tabs)"
    start, mark = exc.context_mark, exc.problem_mark
    if exc.problem and exc.context and start is not None and (mark is None or start.line != mark.line):
        problem += f"; {exc.context} that starts at line {start.line + 1}, column {start.column + 1}"
    return problem


def load_spec_file(file: Path, display_path: str | None = None) -> LoadedSpec:
    shown = display_path or str(file)
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # never more: a 3 GB file is refused without reading it
    except OSError as exc:
        raise SpecErrors([SpecError(f"cannot read file: {exc.strerror}", Location(), shown)]) from None
    if len(raw) > MAX_BYTES:
        raise SpecErrors(
            [SpecError(f"the file is larger than {MAX_BYTES:,} bytes: a spec is a few kilobytes", Location(), shown)]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise SpecErrors(
            [
                SpecError(
                    f"file is not valid UTF-8 (byte {raw[exc.start]:#04x})",
                    Location(line, column),
                    shown,
                    "save it as UTF-8",
                )
            ]
        ) from None
    return load_spec_text(text.removeprefix("\ufeff"), shown)


class _Builder:
    def __init__(self, spec: LoadedSpec):
        self.spec = spec
        self.errors: list[SpecError] = []
        self.nodes = 0
        self.scalar_bytes = 0  # characters of scalars built, aliases expanded: bounded like the file itself
        self.too_deep = False
        self._constructor = yaml.SafeLoader("")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """One scalar, by the safe loader's rules for its resolved tag (int, float, bool, null, str)."""
        return self._constructor.construct_object(node, deep=True)

    def error(self, message: str, node: yaml.Node, hint: str = "") -> None:
        self.errors.append(SpecError(message, _loc(node.start_mark), self.spec.path, hint))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.error(
                    f"the spec expands to more than {MAX_NODES} YAML nodes", node, "are aliases nested too deeply?"
                )
            return None
        if len(path) > MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.error(f"the spec is nested more than {MAX_DEPTH} levels deep", node)
            return None
        if node.tag not in _PLAIN_TAGS:
            self.error(f"YAML tag {node.tag!r} is not allowed", node, "specs are plain data")
            return None
        self.spec.value_locations[path] = ScalarSource(
            _loc(node.start_mark), getattr(node, "style", None) if isinstance(node, yaml.ScalarNode) else None
        )
        if isinstance(node, yaml.ScalarNode):
            self.scalar_bytes += len(node.value)
            if self.scalar_bytes > MAX_EXPANDED_BYTES:
                if self.scalar_bytes - len(node.value) <= MAX_EXPANDED_BYTES:
                    self.error(
                        f"the spec's text expands to more than {MAX_EXPANDED_BYTES:,} characters",
                        node,
                        "an alias (*name) repeats a long text: write it once",
                    )
                return None
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.error("YAML merge keys ('<<') are not supported", key_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error("mapping keys must be plain names", key_node)
                continue
            self.scalar_bytes += len(key_node.value)
            key = self.scalar(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                first = self.spec.key_locations[path + (key,)]
                self.error(f"duplicate key '{key}' (first defined at line {first.line})", key_node)
                continue
            self.spec.key_locations[path + (key,)] = _loc(key_node.start_mark)
            result[key] = self.build(value_node, path + (key,))
        return result
