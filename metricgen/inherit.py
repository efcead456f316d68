"""Stage 1b, inherit: a spec that `extends:` another, merged with it into one LoadedSpec.

    extends: fbeta_score.yaml        # a file, relative to the spec that names it
    extends: keras:FBetaScore        # a catalogue spec (`metricgen list --catalogue`), by class or snake_case name
    extends: torchmetrics:base/binary_stat_scores.yaml   # a file of a catalogue's specs folder (its bases)

A catalogue spec's own relative `extends:` (``base/binary_stat_scores.yaml``) names a file of its collection's
specs folder, so that it resolves alike from a source checkout, an installed wheel and a copy made by
`metricgen new --from` (which writes it qualified).

The merge rule, the parent's data first and the child's written over it:
- `name`, `class_name`, `examples` and `extends` are never inherited: a child is a metric of its own, and the
  parent's examples test the parent.
- `params` and `state` merge by key: a child's entry replaces the parent's entry of that name whole, in its
  place; `null` deletes an inherited entry (`beta: null`); the child's new entries come first (the order of
  params is the constructor's: a subclass's own argument leads, as in Keras' SpecificityAtSensitivity).
- `update` and `result` merge by key too, one level deeper: a child's state assignment or `value` replaces the
  parent's, and their `let` merges by key, so a child can override one local definition or add one, and write
  only its own `value` over a base's lets (an inherited let the child's expressions never read is not
  computed, and not reported unused: a base's lets are a library). `result: EXPR` is `result: {value: EXPR}`.
- every other part (`description`, `inputs`, ...) is replaced whole by the child's; a top-level `null`
  deletes it.

Every position keeps the file it is in (Location.file), so an error in inherited text points at the parent's
line and column; the parent's LoadedSpec travels along (LoadedSpec.files) for the expression source map.
Chains are allowed up to MAX_DEPTH; a cycle and a missing parent are refused at the child's `extends:` value.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .errors import Location, SpecError, SpecErrors
from .loader import LoadedSpec, Path_, load_spec_file, load_spec_text

if TYPE_CHECKING:  # importlib.resources.abc from Python 3.11 on
    from importlib.abc import Traversable

MAX_DEPTH = 8  # parents in one chain: a deeper one is a mistake, or a cycle through symlinks
NOT_INHERITED = frozenset({"name", "class_name", "examples", "extends"})
MERGED_BY_KEY = frozenset({"params", "state"})
MERGED_WITH_LETS = frozenset({"update", "result"})  # merged by key, and their `let` merged by key
CATALOGUE_NAME = re.compile(r"([a-z][a-z0-9_]*):([A-Za-z][A-Za-z0-9_]*)")
# a file of a collection's specs folder: no '..', no absolute path, only .yaml (what a catalogue spec is known by)
CATALOGUE_FILE = re.compile(r"([a-z][a-z0-9_]*):((?:[a-z0-9_]+/)*[a-z0-9_]+\.ya?ml)")


def catalogue_root() -> Traversable:
    """The shipped catalogue: inside the installed package (wheels carry it), else the source checkout's."""
    packaged = resources.files("metricgen") / "catalogue"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "catalogue"


def load_spec(file: Path, display_path: Optional[str] = None) -> LoadedSpec:
    """A spec file loaded with the specs it extends merged in: what the later stages read."""
    return resolve(load_spec_file(file, display_path or str(file)), file.parent)


def resolve(
    loaded: LoadedSpec, directory: Optional[Path] = None, _chain: tuple[tuple[str, str], ...] = ()
) -> LoadedSpec:
    """``loaded`` merged with its parents (itself when it extends nothing); a relative `extends:` is read
    from ``directory`` (default: the folder of ``loaded.path``). ``_chain``: the specs below this one, each as
    (identity, path as shown)."""
    if not isinstance(loaded.data, dict) or "extends" not in loaded.data:
        return loaded
    reference = loaded.data["extends"]
    where = loaded.location(("extends",))

    def refuse(message: str, hint: str = "") -> SpecErrors:
        return SpecErrors([SpecError(message, where, loaded.path, hint)])

    if not isinstance(reference, str) or not reference.strip():
        raise refuse("extends must name a spec", "a file like base.yaml, or a catalogue spec like keras:FBetaScore")
    reference = in_catalogue(loaded.path, reference)
    if is_catalogue(loaded.path) and not is_catalogue(reference):  # a '..' out of the collection's folder
        raise refuse(f"extends '{reference}' leaves the catalogue", "a catalogue spec extends its collection's files")
    chain = _chain or ((_identity_of(loaded.path), loaded.path),)
    root = project_root(Path(chain[0][0]))
    identity, parent = _load_parent(reference, directory or Path(loaded.path).parent, root, refuse)
    if identity in dict(chain):
        raise refuse(f"extends '{reference}' makes a cycle", " → ".join([*(shown for _, shown in chain), parent.path]))
    if len(chain) >= MAX_DEPTH:
        raise refuse(f"more than {MAX_DEPTH} specs extend one another", "flatten the chain")
    if not isinstance(parent.data, dict):
        raise SpecErrors(
            [
                SpecError(
                    "a spec must be a mapping of keys (name, class_name, state, ...)", parent.location(()), parent.path
                )
            ]
        )
    parent_directory = None if is_catalogue(identity) else Path(parent.path).parent
    parent = resolve(parent, parent_directory, (*chain, (identity, parent.path)))
    return merge(parent, loaded)


def _identity_of(path: str) -> str:
    """How a spec is known in a chain: a catalogue name, else its resolved absolute path."""
    return path if is_catalogue(path) else str(Path(path).resolve())


@functools.lru_cache(maxsize=None)
def catalogue_names() -> frozenset[str]:
    """The shipped catalogues' names (keras, tfa, torchmetrics): only these name a catalogue before a colon, so
    that `extends: base:v1.yaml` is a file beside the spec."""
    return frozenset(folder.name for folder in catalogue_root().iterdir() if (folder / "specs").is_dir())


def _catalogue_match(pattern: re.Pattern[str], path: str) -> Optional[re.Match[str]]:
    """``pattern`` (CATALOGUE_NAME or CATALOGUE_FILE) matched by all of ``path``, with a shipped catalogue's name."""
    found = pattern.fullmatch(path)
    return found if found is not None and found.group(1) in catalogue_names() else None


def is_catalogue(path: str) -> bool:
    return bool(_catalogue_match(CATALOGUE_NAME, path) or _catalogue_match(CATALOGUE_FILE, path))


def in_catalogue(path: str, reference: str) -> str:
    """``reference`` as written in the spec known as ``path``: a relative file named by a catalogue spec
    (``torchmetrics:binary_accuracy.yaml`` naming ``base/binary_stat_scores.yaml``) is a file of the same
    collection (``torchmetrics:base/binary_stat_scores.yaml``); anything else as it is."""
    own = _catalogue_match(CATALOGUE_FILE, path)
    if own is None or not isinstance(reference, str) or is_catalogue(reference):
        return reference
    collection, file = own.groups()
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(file), reference))
    return f"{collection}:{joined}"


def project_root(spec_file: Path) -> Path:
    """The folder a chain of files may not leave: the nearest above the first spec holding pyproject.toml or .git
    (the user's repository), else the spec's own folder."""
    folder = spec_file.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file() or (candidate / ".git").exists():
            return candidate
    return folder


def _load_parent(reference: str, directory: Path, root: Path, refuse: Any) -> tuple[str, LoadedSpec]:
    catalogue = _catalogue_match(CATALOGUE_NAME, reference)
    if catalogue:
        collection, name = catalogue.groups()
        found = _catalogue_specs(collection).get(name)
        if found is None:
            raise refuse(f"no catalogue spec named '{reference}'", "'metricgen list --catalogue' lists them")
        known_as = f"{collection}:{found[0]}"  # by its file: its own relative extends resolve from there
        return known_as, load_spec_text(found[1], known_as)
    catalogue_file = _catalogue_match(CATALOGUE_FILE, reference)
    if catalogue_file:
        collection, file = catalogue_file.groups()
        spec = catalogue_root() / collection / "specs"
        for part in file.split("/"):
            spec = spec / part
        if not spec.is_file():
            raise refuse(f"no catalogue spec file '{reference}'", f"{collection}'s specs folder has no {file}")
        return reference, load_spec_text(spec.read_text(encoding="utf-8"), reference)
    shown = reference if len(reference) <= 80 else reference[:77] + "..."
    # a spec from a pull request must not read other files: only a spec file inside the repository, so no
    # absolute path, no way out by '..' or a symlink, and nothing but .yaml/.yml (whose text errors would quote)
    if Path(reference).is_absolute() or not reference.endswith((".yaml", ".yml")):
        raise refuse(
            f"extends '{shown}' must be a relative path to a .yaml spec, or a catalogue name",
            "like base.yaml, ../common/base.yaml or keras:FBetaScore",
        )
    file = directory / reference
    try:
        inside = file.resolve().is_relative_to(root.resolve())
        found = file.is_file()
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        raise refuse(f"extends '{shown}': cannot read it ({type(exc).__name__})") from None
    if not inside:
        raise refuse(
            f"extends '{shown}' leads outside the project ({root.as_posix()})",
            "a parent spec must live in the same repository (the folder holding pyproject.toml or .git)",
        )
    if not found:
        catalogues = ", ".join(f"{name}:" for name in sorted(catalogue_names()))
        named = f"; a catalogue spec is named after {catalogues}" if ":" in reference else ""
        raise refuse(f"extends '{shown}': no such spec file", f"looked for {file.as_posix()}{named}")
    return _identity_of(str(file)), load_spec_file(file, file.as_posix())


@functools.lru_cache(maxsize=None)
def catalogue_files(root: Traversable) -> tuple[tuple[str, str, str], ...]:
    """Every catalogue spec under ``root`` as (collection, file name, text), by collection then file name: read
    once, for `extends:` here and for `new --from` / `list --catalogue` (bundled.py)."""
    found = []
    for collection in sorted(root.iterdir(), key=lambda t: t.name):
        specs = collection / "specs"
        if not specs.is_dir():
            continue
        for file in sorted((f for f in specs.iterdir() if f.name.endswith((".yaml", ".yml"))), key=lambda t: t.name):
            found.append((collection.name, file.name, file.read_text(encoding="utf-8")))
    return tuple(found)


@functools.lru_cache(maxsize=None)
def _catalogue_specs(collection: str) -> dict[str, tuple[str, str]]:
    """A collection's specs as (file name, text), by class name and by snake_case name ({} for no such
    collection)."""
    found: dict[str, tuple[str, str]] = {}
    for owner, file_name, text in catalogue_files(catalogue_root()):
        if owner != collection:
            continue
        data = load_spec_text(text, f"{collection}:{file_name}").data
        if isinstance(data, dict):
            for key in ("class_name", "name"):
                if isinstance(data.get(key), str):
                    found[data[key]] = (file_name, text)
    return found


def merge(parent: LoadedSpec, child: LoadedSpec) -> LoadedSpec:
    """``child`` written over ``parent`` (both mappings) by the rule in this module's docstring; positions keep
    their file."""
    inherited = functools.partial(_inherited, parent.data, child.data)
    merged = LoadedSpec(path=child.path, data=_merged_data(parent.data, child.data), text=child.text)
    both_results = "result" in parent.data and "result" in child.data  # merged into the mapping form
    merged.value_locations = {
        **{
            p: dataclasses.replace(s, location=_in(parent, s.location))
            for p, s in _values(parent, both_results).items()
            if inherited(p)
        },
        **{p: s for p, s in _values(child, both_results).items() if not inherited(p)},
    }
    merged.key_locations = {
        **{p: _in(parent, loc) for p, loc in parent.key_locations.items() if inherited(p)},
        **{p: loc for p, loc in child.key_locations.items() if not inherited(p)},
    }
    merged.files = {**parent.files, parent.path: parent, **child.files}
    return merged


def _values(spec: LoadedSpec, as_mapping: bool) -> dict:
    """The value positions of ``spec``, a bare `result: EXPR` moved to where the merge puts it (result.value)."""
    if not (as_mapping and isinstance(spec.data.get("result"), str)):
        return spec.value_locations
    return {(("result", "value") if p == ("result",) else p): s for p, s in spec.value_locations.items()}


def _in(parent: LoadedSpec, location: Location) -> Location:
    """A position of the parent's, naming its file (one the parent inherited already names its own)."""
    return location if location.file else dataclasses.replace(location, file=parent.path)


def _merged_data(parent: dict, child: dict) -> dict:
    data = {key: value for key, value in parent.items() if key not in NOT_INHERITED}
    for key, value in child.items():
        if key in MERGED_BY_KEY and isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = _merged_entries(data[key], value)
        elif key in MERGED_WITH_LETS and isinstance(data.get(key), (dict, str)) and isinstance(value, (dict, str)):
            data[key] = _merged_with_lets(_as_mapping(data[key]), _as_mapping(value))
        elif value is None and key in data and key not in NOT_INHERITED:
            del data[key]
        else:
            data[key] = value
    data.pop("extends", None)  # resolved: a merged spec extends nothing, so resolving it again changes nothing
    return data


def _merged_entries(parent: dict, child: dict) -> dict:
    """`params` or `state` merged by key: the child's new entries first (a subclass's own argument comes first,
    as `sensitivity` in SpecificityAtSensitivity(sensitivity, num_thresholds, ...)), then the parent's in its
    order, each replaced where the child writes it; `null` deletes an inherited entry."""
    new = {name: entry for name, entry in child.items() if name not in parent}
    inherited = {name: child.get(name, entry) for name, entry in parent.items()}
    return {**new, **{name: entry for name, entry in inherited.items() if not (name in child and child[name] is None)}}


def _as_mapping(part: Any) -> Any:
    """`result: EXPR` read as `result: {value: EXPR}`, so that a child's bare expression keeps the parent's lets."""
    return {"value": part} if isinstance(part, str) else part


def _merged_with_lets(parent: dict, child: dict) -> dict:
    """`update` or `result` merged by key, their `let` too: what a child writes replaces the parent's entry of
    that name; what it does not write is the parent's."""
    merged = _merged_entries(parent, child)
    parent_lets, child_lets = parent.get("let"), child.get("let")
    if isinstance(parent_lets, dict) and isinstance(child_lets, dict):
        merged["let"] = _merged_entries(parent_lets, child_lets)
    return merged


def _inherited(parent: dict, child: dict, path: Path_) -> bool:
    """Whether the value at ``path`` of the merged data is the parent's."""
    if not path or path[0] in NOT_INHERITED or path[0] not in parent:
        return False
    part = path[0]
    if part not in child:
        return True
    if part in MERGED_BY_KEY and len(path) > 1 and isinstance(child[part], dict) and isinstance(parent[part], dict):
        return path[1] not in child[part]
    if part in MERGED_WITH_LETS and len(path) > 1:
        mine, theirs = _as_mapping(child[part]), _as_mapping(parent[part])
        if not (isinstance(mine, dict) and isinstance(theirs, dict)):
            return False
        if path[1] == "let" and len(path) > 2 and isinstance(mine.get("let"), dict):
            return path[2] not in mine["let"]
        return path[1] not in mine
    return False
