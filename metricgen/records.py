"""What build and check found up to date, remembered so that a spec nothing has changed since is not compiled again.

When build writes a module (or finds it unchanged), or check finds one up to date, it keeps a record in the cache
folder (``formatting.cache_dir()/builds``): the SHA-256 of each text that went into the module (the spec's and
those of the spec files it extends) and the SHA-256 of the module's bytes. The record's name is the hash of what
else decides the module: the generator (every file of the installed metricgen package and of the catalogue it
reads, and the black, Jinja2, pydantic and PyYAML installed beside it), the target, the spec's path, the name the
header gives the spec, the folder an `extends:` may not leave and the environment variables compiling reads (not
the output folder: the module is the same bytes wherever it goes). A later build or check that finds the same
texts, and the same bytes in the module, takes the module as it is: compiling would give those bytes again. A
change to any input, to the module, or to metricgen itself misses, and the spec is compiled.

A module that is not on disk (an empty output folder, another one, a `git clean`) is taken from the module store
(``builds/modules``), where each module remembered is kept by the digest of its bytes: the record names the one
its spec compiles to.

The store holds code, and a record can let a module on disk stand, so neither is taken on the cache's word: a
record is used only when it carries an HMAC (of its name, its inputs, the module's digest and class) under a key
of this user's, kept outside the cache (``~/.config/metricgen/cache-key``, 32 random bytes made on first use,
readable by the user alone; ``METRICGEN_CACHE_KEY`` names another file, an absolute path, and set empty turns
records and the store off), and a stored module only when its bytes have the digest a signed record names. A
record moved to another spec's name, pointed at another module, or planted to vouch for a module edited by hand
no longer matches its HMAC. A cache folder that came from elsewhere (a CI cache restored from another branch, a
shared or synced folder) holds records this key never signed, and its specs are compiled; whoever can write the
key's folder can already run code as the user. A fresh CI machine has a fresh key and no records: its `check`
compiles every spec.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import random
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .formatting import cache_dir, installation, prune
from .inherit import catalogue_root, project_root
from .loader import MAX_BYTES
from .spec_files import resolved
from .targets.base import templates_dir
from .writer import write_atomic

# Bump when what a record holds, or what its name covers, changes.
_RECORD_FORMAT = "metricgen-record-2"
_MAX_RECORDS = 4000
_MAX_MODULES = 2000
_KEY_BYTES = 32
_MAX_RECORD_BYTES = 1_000_000  # a record is a few hundred bytes: anything larger is damaged
_MAX_MODULE_BYTES = 50_000_000  # what a module on disk may be and still be read (a device or a huge file is not)
# The libraries whose installed files can change a module: black (modules layout.py declines), Jinja2 (rendering),
# pydantic (validation), PyYAML (parsing)
_LIBRARIES = ("black", "jinja2", "pydantic", "yaml")
# The environment variables compiling reads: the cost model's limit (analysis/constants.py), under which a spec
# that built may be refused
_ENVIRONMENT = ("METRICGEN_MAX_STATE_ELEMENTS",)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Record:
    """What a build found up to date: the module's text, the class it registers (`package>ClassName`), and for a
    module taken from the store, the inputs to record where it is written (none for one already on disk)."""

    source: str
    registered_as: str
    inputs: dict = field(default_factory=dict)


def inputs_of(spec_file: Path, text: str, parents: dict[str, str]) -> dict[str, list[str]]:
    """The files a module was compiled from, each by its absolute path as reached (symlinks not followed) with
    its resolved path and the digest of its text: the spec (``text``) and the spec files it extends
    (``parents``: their paths as loaded, relative to this folder, and their texts). A parent that is no file
    here is a catalogue spec, which the generator's fingerprint covers."""
    found = {str(spec_file.absolute()): [str(resolved(spec_file)), digest(text)]}
    for path, parent_text in parents.items():
        reached = Path(path).absolute()
        if reached.is_file():
            found[str(reached)] = [str(resolved(reached)), digest(parent_text)]
    return found


def lookup(spec_file: Path, output: Path, target: str, shown: str) -> Optional[Record]:
    """What ``spec_file`` compiles to, where a record this user's key signed (its name, its inputs, the module's
    digest) says so and the inputs are unchanged: the module at ``output`` when it has the recorded bytes, else
    the module store's (a new or emptied output folder) when its bytes do; else None."""
    folder, key = _folder(), _key()
    if folder is None or key is None:
        return None
    name = _name(spec_file, target, shown)
    path = folder / f"{name}.json"
    try:
        record = json.loads(_read_regular(path, _MAX_RECORD_BYTES) or b"null")
        inputs, expected, registered_as = record["inputs"], record["output"], record["registered_as"]
        signature = record["signature"]
        if not (isinstance(signature, str) and hmac.compare_digest(signature, _signature(key, name, record))):
            return None
        if not re.fullmatch("[0-9a-f]{64}", expected):
            return None
        if not all(map(_unchanged, inputs.items())):
            return None
        os.utime(path)  # used: the newest records are the ones pruning keeps
        module = _read_regular(output, _MAX_MODULE_BYTES)
        if module is not None and hashlib.sha256(module).hexdigest() == expected:
            return Record(module.decode("utf-8"), registered_as)
        store = _store(folder)
        module = None if store is None else _read_regular(store / expected, _MAX_MODULE_BYTES)
        if module is None or expected != hashlib.sha256(module).hexdigest():  # the bytes the record signed
            return None
        return Record(module.decode("utf-8"), registered_as, inputs)
    except Exception:  # noqa: BLE001 - none, damaged (even too deeply nested for json), unreadable: compile
        return None


def remember(spec_file: Path, output: Path, target: str, shown: str, inputs: dict, source: str, registered_as: str):
    """Records that ``output`` holds ``source``, compiled from ``inputs``, and keeps ``source`` in the module
    store, each under a record this user's key signs; a folder that cannot be written is ignored (the next
    build compiles again)."""
    folder, key = _folder(), _key()
    if folder is None or key is None or not inputs:
        return
    record = {"inputs": inputs, "output": digest(source), "registered_as": registered_as}
    try:
        name = _name(spec_file, target, shown)
        write_atomic(folder / f"{name}.json", json.dumps({**record, "signature": _signature(key, name, record)}))
        (folder / "modules").mkdir(mode=0o700, exist_ok=True)
        store = _store(folder)
        if store is not None:
            entry = store / record["output"]
            held = _read_regular(entry, _MAX_MODULE_BYTES)
            if held is None or hashlib.sha256(held).hexdigest() != record["output"]:  # none, or junk: (re)written
                write_atomic(entry, source)
            if random.random() < 1 / 32:
                prune(store, "[0-9a-f]" * 64, _MAX_MODULES)
        if random.random() < 1 / 32:
            prune(folder, "*.json", _MAX_RECORDS)
    except OSError:
        pass


def _store(folder: Path) -> Optional[Path]:
    """The module store's folder, where it is a folder of this user's, not a link (pruning one would delete the
    oldest files of wherever it leads)."""
    store = folder / "modules"
    try:
        info = os.lstat(store)
    except OSError:
        return None
    mine = os.name != "posix" or info.st_uid == os.getuid()
    return store if stat.S_ISDIR(info.st_mode) and mine else None


def _signature(key: bytes, name: str, record: dict) -> str:
    """The HMAC of a record under ``key``: its name (the spec, target and generator it stands for), the inputs,
    the module's digest and its class; a record moved to another name, or edited, no longer matches it."""
    signed = json.dumps([name, record["inputs"], record["output"], record["registered_as"]], sort_keys=True)
    return hmac.new(key, signed.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def key_path() -> Optional[Path]:
    """Where this user's key for the module store is kept (``METRICGEN_CACHE_KEY``; None when set empty)."""
    configured = os.environ.get("METRICGEN_CACHE_KEY")
    if configured is not None:
        # an absolute path: a relative one would make the key in whatever folder metricgen runs in (a repository)
        return Path(configured) if configured.strip() and os.path.isabs(configured) else None
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "metricgen" / "cache-key"


def _key() -> Optional[bytes]:
    path = key_path()
    # a key in the cache would come and go with it: whoever writes the cache could sign
    return None if path is None or _inside(path, cache_dir()) else _key_at(path)


@functools.lru_cache(maxsize=None)
def _inside(path: Path, folder: Optional[Path]) -> bool:
    return folder is not None and resolved(path).is_relative_to(resolved(folder))


@functools.lru_cache(maxsize=None)
def _key_at(path: Path) -> Optional[bytes]:
    """This user's key: read, or made (readable by the user alone) where there is none; None where it cannot be
    had, or another user could read it (the store is then not used)."""
    try:
        if not os.path.lexists(path):
            # written whole beside it, then linked into place: a process stopped half way leaves no empty key, and
            # of two made at once the first linked is the one both use
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            made = path.with_name(f".{path.name}.{os.getpid()}.{random.getrandbits(32):08x}")
            handle = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(os.urandom(_KEY_BYTES))
                try:
                    os.link(made, path)
                except FileExistsError:
                    pass
            finally:
                os.unlink(made)
        with open(path, "rb") as kept:
            info = os.fstat(kept.fileno())
            secret = kept.read(_KEY_BYTES + 1)
    except OSError:
        return None
    shared = os.name == "posix" and (info.st_mode & 0o077 or info.st_uid != os.getuid())
    if not stat.S_ISREG(info.st_mode) or shared or len(secret) != _KEY_BYTES:
        return None
    return secret


def _unchanged(entry: tuple[str, object]) -> bool:
    """Whether a recorded input still leads to the same file, with the same text: a symlink retargeted, or a
    folder replaced by one, reaches another file, which compiling might read, or refuse."""
    reached, (resolved_then, expected) = entry
    path = Path(reached)
    if str(resolved(path)) != resolved_then:
        return False
    raw = _read_regular(path, MAX_BYTES)
    try:
        return raw is not None and digest(raw.decode("utf-8").removeprefix("\ufeff")) == expected
    except UnicodeDecodeError:
        return False


def _read_regular(path: Path, limit: int) -> Optional[bytes]:
    """A regular file's bytes, None for anything else (a device, a FIFO, a folder) or past ``limit`` bytes."""
    try:
        # without blocking: opening a FIFO (planted in the cache, or a spec path) to read would wait for a writer
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            raw = handle.read(limit + 1)
    except OSError:
        return None
    return raw if len(raw) <= limit else None


def _folder() -> Optional[Path]:
    base = cache_dir()
    return None if base is None else base / "builds"


def _name(spec_file: Path, target: str, shown: str) -> str:
    """A record's name: what decides the module but the texts it reads (the output folder does not: a module is
    the same bytes wherever it is written, for one ``shown``, the spec's path as its header gives it)."""
    # the spec as reached: its `extends:` are read from the folder it is reached through
    settings = tuple(str(os.environ.get(name)) for name in _ENVIRONMENT)
    return _name_of(generator_fingerprint(), spec_file.absolute(), target, shown, settings)


@functools.lru_cache(maxsize=None)  # asked twice a spec (lookup, remember)
def _name_of(generator: str, spec: Path, target: str, shown: str, settings: tuple[str, ...]) -> str:
    parts = (_RECORD_FORMAT, generator, target, str(spec), shown)
    hashed = hashlib.sha256()
    for part in (*parts, str(project_root(resolved(spec))), *settings):
        hashed.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return hashed.hexdigest()


@functools.lru_cache(maxsize=None)
def generator_fingerprint() -> str:
    """Every file of the metricgen package, of its templates and of the shipped catalogue, by content; the
    libraries it relies on by where they are installed and when their files were written (without importing
    them); and Python's version."""
    hashed = hashlib.sha256(sys.version.encode())
    package = Path(__file__).resolve().parent
    files = list(package.rglob("*"))
    templates, catalogue = templates_dir(), catalogue_root()
    if not templates.resolve().is_relative_to(package):  # a source checkout's, outside the package
        files += templates.rglob("*")
    if isinstance(catalogue, Path) and not catalogue.resolve().is_relative_to(package):  # the same
        files += catalogue.glob("*/specs/**/*.y*ml")
    for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
        hashed.update(str(path).encode("utf-8", "surrogatepass") + b"\0")
        hashed.update(hashlib.sha256(path.read_bytes()).digest())
    for library in _LIBRARIES:
        hashed.update(f"{library}: {installation(library)}\0".encode("utf-8", "surrogatepass"))
    return hashed.hexdigest()
