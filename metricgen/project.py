"""The project's configuration: the ``[tool.metricgen]`` table of the nearest pyproject.toml that has one (looked
for from the current folder up, as ruff does), validated, and what it makes `build` and `check` cover when
they are given no paths.

    [tool.metricgen]
    specs = ["specs"]                           # spec folders or files (default: specs)
    targets = ["tf", "keras", "torchmetrics"]   # default: tf
    out = "generated"                           # the --out of every target (keras/ and torchmetrics/ go under it)

    [tool.metricgen.out]                        # or the --out of each target (generated/ for one not named)
    tf = "src/metrics"
    torchmetrics = "src/tm_metrics"

Paths are relative to the pyproject.toml's folder. Without the table, `build` and `check` with no paths cover
specs/ for the tf target into generated/: what the pre-commit hook's `metricgen check specs` always did.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import Location, SpecError, SpecErrors, did_you_mean
from .spec_files import Run
from .targets import DEFAULT_TARGET, TARGETS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the tomli backport is a dependency on 3.10 only
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
TABLE = "tool.metricgen"
DEFAULT_SPECS = "specs"
DEFAULT_OUT = "generated"
TargetName = Literal[tuple(TARGETS)]  # type: ignore[valid-type]


class Settings(BaseModel):
    """The [tool.metricgen] table; a key it does not name is refused (a misspelt one would silently do nothing)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    specs: list[str] = Field(default=[DEFAULT_SPECS], min_length=1)
    targets: list[TargetName] = Field(default=[DEFAULT_TARGET], min_length=1)
    out: dict[TargetName, str] = Field(default_factory=lambda: {t: DEFAULT_OUT for t in TARGETS})

    @field_validator("specs", "targets", mode="before")
    @classmethod
    def _one_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("specs", "out")
    @classmethod
    def _no_empty_path(cls, value: Any) -> Any:
        paths = value.values() if isinstance(value, dict) else value
        if any(not path.strip() for path in paths):
            raise ValueError("a path may not be empty")
        return value

    @field_validator("out", mode="before")
    @classmethod
    def _out_per_target(cls, value: Any) -> Any:
        """One folder for every target, or a table of folders by target (generated/ for those not named)."""
        if isinstance(value, str):
            return {t: value for t in TARGETS}
        if isinstance(value, dict):
            return {**{t: DEFAULT_OUT for t in TARGETS}, **value}
        raise ValueError('expected a folder (out = "generated") or a table of folders by target')


@dataclass(frozen=True)
class Project:
    """Settings and the folder their paths are relative to; ``pyproject`` is None where no table was found."""

    root: Path
    settings: Settings
    pyproject: Optional[Path] = None

    def runs(self, target: Optional[str] = None, out: Optional[Path] = None) -> list[Run]:
        """Every configured spec path for every configured target (only ``target`` when one is given), each
        into its configured folder (``out`` when given), as paths relative to the current folder."""
        spec_paths = tuple(_shown(self.root / p) for p in self.settings.specs)
        targets = [target] if target else list(dict.fromkeys(self.settings.targets))
        return [Run(spec_paths, t, out or _shown(self.root / self.settings.out[t])) for t in targets]

    def spec_folder(self) -> Path:
        """Where `metricgen new` writes: the first configured spec path that is not a spec file."""
        folders = [p for p in self.settings.specs if not p.endswith((".yaml", ".yml"))]
        return _shown(self.root / (folders[0] if folders else DEFAULT_SPECS))


def find(start: Path) -> Project:
    """The project around ``start``: the nearest pyproject.toml with a [tool.metricgen] table, else the
    defaults at ``start``. A pyproject.toml that cannot be read, or a table that is not valid, raises
    SpecErrors: one located error per problem."""
    for folder in (start, *start.parents):
        pyproject = folder / PYPROJECT
        if not pyproject.is_file():
            continue
        shown = str(_shown(pyproject))
        text = _read(pyproject, shown)
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecErrors([_toml_error(exc, text, shown)]) from None
        tool = document.get("tool", {})
        # `tool = 5` is another program's business (or a mistake): no [tool.metricgen] table there
        table = tool.get("metricgen") if isinstance(tool, dict) else None
        if table is None:
            continue
        if not isinstance(table, dict):
            raise SpecErrors([SpecError(f"[{TABLE}] must be a table", _locate(text, ()), shown)])
        try:
            return Project(folder, Settings.model_validate(table), pyproject)
        except ValidationError as exc:
            raise SpecErrors([_setting_error(e, text, shown) for e in exc.errors()]) from None
    return Project(start, Settings())


def _read(pyproject: Path, shown: str) -> str:
    try:
        return pyproject.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecErrors([SpecError("file is not valid UTF-8", path=shown)]) from None
    except OSError as exc:
        raise SpecErrors([SpecError(f"cannot read: {exc.strerror or exc}", path=shown)]) from None


def _shown(path: Path) -> Path:
    """``path`` as a person at the current folder would type it."""
    try:
        return Path(os.path.relpath(path))
    except ValueError:  # another drive
        return path


def _toml_error(exc: tomllib.TOMLDecodeError, text: str, shown: str) -> SpecError:
    """tomllib's message, its "(at line 3, column 5)" or "(at end of document)" made the error's location."""
    message, _, where = str(exc).partition(" (at ")
    position = re.match(r"line (\d+), column (\d+)\)", where)
    if position:
        location = Location(int(position[1]), int(position[2]))
    else:
        location = Location(text.count("\n") + 1, len(text.rpartition("\n")[2]) + 1) if where else Location()
    return SpecError(f"invalid TOML: {message}", location, shown)


_EXPECTED = {"string_type": "a string", "list_type": "a list", "dict_type": "a table"}


def _setting_error(error: dict, text: str, shown: str) -> SpecError:
    """One of pydantic's errors as ``pyproject.toml:LINE:COL: error: [tool.metricgen] KEY: WHAT (hint)``."""
    loc = tuple(error["loc"])
    if loc and loc[-1] == "[key]":  # a table's key (out's target name) was refused, not its value
        loc = loc[:-1]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    hint = ""
    if error["type"] == "extra_forbidden":
        what = f"unknown key '{loc[-1]}'"
        hint = did_you_mean(str(loc[-1]), Settings.model_fields) or "keys: " + ", ".join(Settings.model_fields)
    elif error["type"] == "literal_error":
        what = f"{where}: unknown target {error['input']!r}"
        hint = did_you_mean(str(error["input"]), TARGETS) or "targets: " + ", ".join(TARGETS)
    elif error["type"] == "value_error":
        what = f"{where}: {error['ctx']['error']}"
    elif error["type"] in _EXPECTED:
        what = f"{where}: expected {_EXPECTED[error['type']]}, got {error['input']!r}"
    elif error["type"] == "too_short":
        what = f"{where}: may not be empty"
    else:
        what = f"{where}: {error['msg']}"
    return SpecError(f"[{TABLE}] {what}", _locate(text, loc), shown, hint)


_HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)\s*=")


def _locate(text: str, loc: tuple) -> Location:
    """Where the setting at ``loc`` is written: its key's line in [tool.metricgen] (or, for a table's entry,
    in [tool.metricgen.KEY]), else the table's header; unknown (0) when the table is written another way."""
    keys = [str(part) for part in loc if not isinstance(part, int)]
    section, found = "", Location()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            section = re.sub(r"[\s\"']", "", header[1])
            if (section == TABLE and not found.line) or (keys and section == f"{TABLE}.{keys[0]}"):
                found = Location(number, line.index("[") + 1)
            continue
        key = _KEY.match(line)
        if not key or not keys:
            continue
        name = key[1].strip("\"'")
        in_table = section == TABLE and name == keys[0]
        in_subtable = len(keys) > 1 and section == f"{TABLE}.{keys[0]}" and name == keys[1]
        if in_table or in_subtable:
            return Location(number, key.start(1) + 1)
    return found
