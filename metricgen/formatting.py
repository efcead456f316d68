"""Stage 6, format: black, with its defaults, so generated files read like the rest of a Keras codebase.

Black is most of the generator's time (tens of milliseconds a module, against a few for everything else), so
:func:`format_source` gives black's output for less:

- laid out without black: layout.py computes black's layout of the code metricgen renders (a few
  milliseconds a module); a piece that is one of the helper functions (``verbatim``, already in black's
  layout in templates/) is kept as it is. Where layout.py cannot vouch for a piece, the module goes to black,
  as below. tests/test_layout.py checks that black leaves every laid-out shipped module unchanged.

- piecewise: a module is cut at its top-level ``def``/``class`` statements and each piece is formatted on its
  own, once per process (the helper functions recur in every module). Black lays out top-level definitions
  independently and puts exactly two blank lines between them, so the pieces joined that way are black's
  output for the whole module; the cut is only made where that holds (see :func:`_pieces`: no ``with``, no
  ``*args`` in calls or signatures, no ``# fmt:`` comments, nothing but blank lines between two pieces), and
  otherwise the module is formatted whole. tests/test_formatting.py compares the two on every shipped spec.
- cached: with ``cache=True`` (what ``metricgen build``/``check`` use) results are kept on disk, keyed by the
  unformatted text and black's installation, so an unchanged spec costs no black at all, not even its import.
  The folder is ``$METRICGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/metricgen``, else ``~/.cache/metricgen``;
  ``METRICGEN_CACHE_DIR=`` (empty) turns the cache off. Unreadable or unwritable folders are ignored.
- together: :func:`format_sources` (what ``build`` and ``check`` use) formats many modules at once, each
  distinct piece once however many modules carry it, and when enough pieces miss the cache it spreads them
  over the machine's cores (worker processes cost ~0.1 s to start, so a handful of misses stay in-process).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import os
import random
import re
import sys
import tempfile
from pathlib import Path
from typing import Optional

from . import layout

# Whether format_sources lays modules out itself (layout.py) before it turns to black; tests switch it off
# to exercise the black path alone.
LAY_OUT = True

# Bump when the way a module is cut or joined, or black's mode, changes: it is part of every cache key.
_CACHE_FORMAT = "metricgen-format-1"
_CACHE_MAX_ENTRIES = 2000


@functools.lru_cache(maxsize=None)
def _black():
    import black  # imported on first use: a build whose every module is cached never needs it

    return black, black.Mode()


def _format_whole(source: str) -> str:
    black, mode = _black()
    return black.format_str(source, mode=mode)


def _format_each(sources: list[str]) -> list[str]:
    """black over each text: the work a worker process does (a plain module-level function of plain strings,
    so that any start method can run it)."""
    return [_format_whole(source) for source in sources]


# black's output for each piece formatted in this process (the helpers recur in every module); cleared when
# it grows past the bound (tests and fuzzers format thousands of modules in one process)
_formatted_pieces: dict[str, str] = {}
_PIECES_KEPT = 2000


def _format_piece(piece: str) -> str:
    if piece not in _formatted_pieces:
        _remember_pieces({piece: _format_whole(piece)})
    return _formatted_pieces[piece]


def _remember_pieces(formatted: dict[str, str]) -> None:
    if len(_formatted_pieces) + len(formatted) > _PIECES_KEPT:
        _formatted_pieces.clear()
    _formatted_pieces.update((piece, text.strip("\n")) for piece, text in formatted.items())


_FMT_COMMENT = re.compile(r"#\s*fmt\s*:")


def _pieces(source: str) -> Optional[list[str]]:
    """``source`` cut before each top-level def/class (decorators included) that black separates from what
    precedes it by exactly two blank lines whatever the context, or None where that cannot be relied on.

    Black formats a file for the Python versions its syntax allows, and a few of its choices depend on them
    (trailing commas after ``*args``, parentheses in ``with`` and ``except``), so a piece may only be formatted
    alone where those choices are the same for it as for the whole: no ``with``; ``*args``/``**kwargs`` only
    in a piece that itself has an f-string (then both target Python 3.6+, where black's choices for them
    agree); on Python 3.14+, no ``except (A, B)`` (black may drop the parentheses for 3.14-only files)."""
    cut = _cut(source)
    if cut is None:
        return None
    tree, groups, pieces = cut
    if any(not _version_neutral(group) for group in groups):
        return None
    return pieces


def _cut(source: str):
    """The tree, the top-level statements grouped by piece, and the pieces' text (see :func:`_pieces`), or
    None (a ``# fmt:`` comment, or not Python)."""
    if _FMT_COMMENT.search(source):
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # black reports it
    lines = source.splitlines(keepends=True)
    groups = _groups(tree, lines)
    if groups is None:
        return None
    cuts = [min([g[0].lineno] + [d.lineno for d in getattr(g[0], "decorator_list", [])]) - 1 for g in groups[1:]]
    bounds = [0] + cuts + [len(lines)]
    return tree, groups, ["".join(lines[a:b]) for a, b in zip(bounds, bounds[1:])]


def _groups(tree: ast.Module, lines: list[str]) -> Optional[list[list[ast.stmt]]]:
    """The module's top-level statements, grouped by piece (see :func:`_pieces`)."""
    groups: list[list[ast.stmt]] = []
    previous = None
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and previous is not None
            and start - 1 > previous.end_lineno  # at least one blank line, and nothing else, in between
            and all(not line.strip() for line in lines[previous.end_lineno : start - 1])
            and not _is_one_liner(previous)
        ):
            groups.append([])
        if not groups:
            groups.append([])
        groups[-1].append(node)
        previous = node
    return groups


def lay_out_source(source: str, verbatim: frozenset = frozenset()) -> Optional[str]:
    """black's layout of ``source`` by layout.py alone, or None where it cannot vouch for it."""
    try:
        return _laid_out(source, verbatim) if LAY_OUT else None
    except RecursionError:
        return None


def _laid_out(source: str, verbatim: frozenset) -> Optional[str]:
    """black's output for ``source`` without running black (layout.py), or None where layout.py cannot vouch
    for a piece. A piece in ``verbatim`` (a helper function, formatted in its template) is kept as it is."""
    cut = _cut(source)
    if cut is None:
        return None
    tree, groups, pieces = cut
    module = layout.Module(source, tree)
    texts = []
    end = 0
    for group, piece in zip(groups, pieces):
        end += piece.count("\n")
        text = piece.strip("\n")
        if text not in verbatim:
            try:
                text = module.lay_out(group, end)
            except layout.Unsupported:
                return None
        texts.append(text)
    return "\n\n\n".join(texts) + "\n"


def _version_neutral(group: list[ast.stmt]) -> bool:
    """Whether black formats these statements alike alone and within any file (see :func:`_pieces`)."""
    varargs = fstring = False
    for node in (n for statement in group for n in ast.walk(statement)):
        if isinstance(node, (ast.With, ast.AsyncWith)) or type(node).__name__ == "TemplateStr":
            return False
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Tuple) and sys.version_info >= (3, 14):
            return False
        if isinstance(node, ast.JoinedStr):
            fstring = True
        elif isinstance(node, ast.Call):
            varargs |= any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords)
        elif isinstance(node, ast.arguments):
            varargs |= bool(node.vararg or node.kwarg or node.posonlyargs or node.kwonlyargs)
    return fstring or not varargs


def _is_one_liner(node: ast.stmt) -> bool:
    """A definition on one line (``def f(): ...``): black may keep stubs like it together with what follows."""
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.end_lineno == node.lineno


def _joined(pieces: list[str]) -> str:
    return "\n\n\n".join(_format_piece(piece) for piece in pieces) + "\n"


# -- many modules at once ------------------------------------------------------------------------------------

# Fewer texts to format than this stay in this process: a worker's start and its import of black (~0.1 s)
# cost about what black takes for a couple of modules.
_PARALLEL_MIN_TEXTS = 12


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _format_texts(texts: list[str]) -> list[str]:
    """black's output for each text, in worker processes when there are enough of them; this process takes
    a share too. Shares are balanced by length (black's time grows with it), longest first."""
    workers = min(usable_cpus(), len(texts) // (_PARALLEL_MIN_TEXTS // 2))
    if workers < 2 or len(texts) < _PARALLEL_MIN_TEXTS:
        return _format_each(texts)
    shares: list[list[int]] = [[] for _ in range(workers)]
    sizes = [0] * workers
    for i in sorted(range(len(texts)), key=lambda i: -len(texts[i])):
        lightest = sizes.index(min(sizes))
        shares[lightest].append(i)
        sizes[lightest] += len(texts[i])
    import concurrent.futures  # here: a build that black formats nothing of never needs it

    _black()  # imported before the workers start: a forked worker then has it too
    out: list[str] = [""] * len(texts)
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers - 1) as pool:
        futures = {pool.submit(_format_each, [texts[i] for i in share]): share for share in shares[1:]}
        for i, text in zip(shares[0], _format_each([texts[i] for i in shares[0]])):
            out[i] = text
        for future, share in futures.items():
            for i, text in zip(share, future.result()):
                out[i] = text
    return out


def format_sources(sources: list[str], cache: bool = False, verbatim: frozenset = frozenset()) -> list[str]:
    """:func:`format_source` of each module, done together: laid out as black would (layout.py) where it can
    be; else served from the cache, or black runs once for each distinct piece (or uncut module) the others
    need, across cores when they are many. A module that black refuses raises, as format_source does."""
    folder = cache_dir() if cache else None
    out: list[Optional[str]] = [lay_out_source(source, verbatim) for source in sources]
    out = [
        text if text is not None or folder is None else _cache_lookup(folder, source)
        for text, source in zip(out, sources)
    ]
    plans = {i: _pieces(source) for i, source in enumerate(sources) if out[i] is None}
    wholes = [i for i, pieces in plans.items() if pieces is None or len(pieces) == 1]
    needed = list(dict.fromkeys(p for pieces in plans.values() if pieces and len(pieces) > 1 for p in pieces))
    needed = [piece for piece in needed if piece not in _formatted_pieces]
    formatted = _format_texts(needed + [sources[i] for i in wholes])
    _remember_pieces(dict(zip(needed, formatted)))
    for i, text in zip(wholes, formatted[len(needed) :]):
        out[i] = text
    for i, pieces in plans.items():
        if out[i] is None:
            out[i] = _joined(pieces)  # type: ignore[arg-type]
        if folder is not None:
            _cache_write(folder, _cache_path(folder, sources[i]), out[i])  # type: ignore[arg-type]
    return out  # type: ignore[return-value]


# -- the disk cache ----------------------------------------------------------------------------------------


def cache_dir() -> Optional[Path]:
    """The folder of metricgen's caches (black's output here, build records in builds/; see records.py), None when
    ``METRICGEN_CACHE_DIR`` is set empty."""
    configured = os.environ.get("METRICGEN_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "metricgen"


@functools.lru_cache(maxsize=None)
def installation(module: str) -> str:
    """Which ``module`` is installed, without importing it: where it lives and when its file was written."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return f"no {module}"
    stat = os.stat(spec.origin)
    return f"{spec.origin}:{stat.st_size}:{stat.st_mtime_ns}"


def _cache_key(source: str) -> str:
    digest = hashlib.sha256()
    for part in (_CACHE_FORMAT, installation("black"), source):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _cache_read(path: Path) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    check, _, body = text.partition("\n")
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != check:
        return None  # damaged: format again (and overwrite)
    return body


def _cache_write(folder: Path, path: Path, formatted: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(hashlib.sha256(formatted.encode("utf-8")).hexdigest() + "\n" + formatted)
        os.replace(tmp, path)
        if random.random() < 1 / 32:
            prune(folder, "*.fmt", _CACHE_MAX_ENTRIES)
    except OSError:
        pass


def prune(folder: Path, pattern: str, keep: int) -> None:
    """Keeps the newest half when there are more than ``keep`` entries (tests and fuzzers make thousands)."""
    entries = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[keep // 2 :] if len(entries) > keep else ():
        stale.unlink(missing_ok=True)


def _same_program(formatted: str, source: str) -> bool:
    """Whether ``formatted`` is ``source`` reformatted: the same Python syntax tree, as black promises, up to
    the whitespace inside strings (black re-indents docstrings). Whitespace in a string cannot run code."""
    try:
        # as bytes, as Python reads the written file: a coding cookie in the cached text (utf-7 can hide a
        # statement in a comment) is honoured here too, and what it hides shows in the tree
        return _same_tree(ast.parse(formatted.encode("utf-8")), ast.parse(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


_WITH_DOCSTRING = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _docstring(node: ast.AST) -> Optional[str]:
    body = getattr(node, "body", None)
    if isinstance(node, _WITH_DOCSTRING) and body and isinstance(body[0], ast.Expr):
        value = body[0].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return None


def _same_tree(a: ast.AST, b: ast.AST) -> bool:
    """The two trees' nodes and values, field by field (positions are attributes, not fields: not compared),
    docstrings up to their whitespace (black re-indents them), every other string exactly. Iterative, and
    without building ast.dump's text: it runs on every cache hit."""
    pending: list = [(a, b)]
    while pending:
        x, y = pending.pop()
        kind = type(x)
        if kind is not type(y):
            return False
        if isinstance(x, ast.AST):
            doc_x, doc_y = _docstring(x), _docstring(y)
            if doc_x is not None and doc_y is not None:
                if doc_x.split() != doc_y.split():
                    return False
                pending.append((x.body[1:], y.body[1:]))  # type: ignore[attr-defined]
                pending.extend((getattr(x, f, None), getattr(y, f, None)) for f in x._fields if f != "body")
                continue
            pending.extend((getattr(x, f, None), getattr(y, f, None)) for f in x._fields)
        elif kind is list:
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y))
        elif x != y:
            return False
    return True


def _cache_path(folder: Path, source: str) -> Path:
    return folder / f"{_cache_key(source)}.fmt"


def _cache_lookup(folder: Path, source: str) -> Optional[str]:
    found = _cache_read(_cache_path(folder, source))
    if found is not None and _same_program(found, source):
        return found  # anyone who can write the cache could have put any code there: use it only if it is ours
    return None


def format_source(source: str, cache: bool = False, verbatim: frozenset = frozenset()) -> str:
    """``source`` formatted as black with its default settings formats it; ``cache=True`` reuses and keeps
    black's results on disk; ``verbatim``: pieces known to be black's output already."""
    return format_sources([source], cache, verbatim)[0]
