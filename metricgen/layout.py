"""Stage 6, format, without black: black's layout of the code metricgen renders, computed directly.

Black takes ~50 ms a module, most of a build's time (issue 24). What it does to our code is narrow: one
logical line at a time, split at brackets and delimiters by its right-hand-split rules. This module lays out a
piece of a module (see formatting._pieces) from its syntax tree the way black does, for the syntax the
templates and the lowering produce, and returns None for anything else, which black then formats. The
result is checked, not trusted: tests/test_layout.py runs black over every shipped module and random specs'
modules laid out here and requires black to leave them unchanged.

Two parts:
- :class:`_Emitter` walks the tree and writes each logical line as tokens ("leaves"), with black's spacing
  (`x**2`, `f(a=1)`, `x[a + 1 :]`), its invisible parentheses (around an assignment's value, a return value,
  a condition, a conditional expression) and its string and number normalisation; parentheses are the fewest
  the grammar needs (black keeps redundant ones, so the layout is black's for this token sequence).
- the splitting, ported from black 26 (linegen.py, lines.py, brackets.py: ``transform_line``,
  ``right_hand_split_with_omits``, ``delimiter_split``, ``left_hand_split`` and the predicates they use), with
  the preview features, comments inside expressions, strings split over lines and backslashes left out: a
  piece that would need them is handed to black.

black's style is pinned by major version (pyproject.toml); a new major may change its rules, and the tests
then fail here before any generated module changes.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import unicodedata
from typing import Iterator, Optional

LINE_LENGTH = 88


class Unsupported(Exception):
    """Syntax or a layout this module does not reproduce: black formats the piece."""


class CannotTransform(Exception):
    pass


# -- tokens ------------------------------------------------------------------------------------------------

NAME, NUMBER, STRING = "NAME", "NUMBER", "STRING"
OPENING = {"(": ")", "[": "]", "{": "}"}
CLOSING = {")", "]", "}"}

COMPREHENSION_PRIORITY = 20
COMMA_PRIORITY = 18
TERNARY_PRIORITY = 16
LOGIC_PRIORITY = 14
STRING_PRIORITY = 12
COMPARATOR_PRIORITY = 10
MATH_PRIORITIES = {
    "|": 9,
    "^": 8,
    "&": 7,
    "<<": 6,
    ">>": 6,
    "+": 5,
    "-": 5,
    "*": 4,
    "/": 4,
    "//": 4,
    "%": 4,
    "@": 4,
    "~": 3,
    "**": 2,
}
DOT_PRIORITY = 1


class Leaf:
    """A token of a logical line. ``kind`` is its type: NAME, NUMBER, STRING, or the operator itself (an
    invisible parenthesis is "(" or ")" with an empty value). ``before`` is the delimiter priority black gives
    a split before it (operators, keywords), ``after`` a split after it (commas); ``atom`` marks the brackets
    of a parenthesised expression, tuple, list, set or dict (black's `atom`), as against a call's, a
    subscript's or a signature's; ``subscript`` marks a subscript's brackets; ``one_tuple`` a comma that makes
    a one-tuple; ``vararg`` a `*`/`**` of unpacking."""

    __slots__ = (
        "kind",
        "value",
        "prefix",
        "before",
        "after",
        "atom",
        "subscript",
        "vararg",
        "bracket_depth",
        "opening_bracket",
        "arglist",
        "space",
        "wraps_one",
        "optional",
        "statement",
        "added",
    )

    def __init__(self, kind: str, value: Optional[str] = None, prefix: str = ""):
        self.kind = kind
        self.value = kind if value is None else value
        self.prefix = prefix
        self.before = 0
        self.after = 0
        self.atom = False
        self.subscript = False
        self.vararg = False
        self.bracket_depth = 0
        self.opening_bracket: Optional[Leaf] = None
        self.arglist = False  # a comma between a call's arguments or a signature's parameters
        self.space = prefix  # black's whitespace before it (a split may empty its prefix)
        self.wraps_one = False  # an invisible ")" around a single leaf: a comment after it goes to that leaf
        self.optional = False  # a parenthesis black added invisible (visible once a split used it)
        self.statement = False  # ... around a statement's part (an assignment's value, a condition)
        self.added = False  # a comma a split added

    def copy(self, prefix: str) -> "Leaf":
        """A fresh leaf of this one's kind, value and flags (not its place on a line: marking sets that)."""
        leaf = Leaf(self.kind, self.value, prefix)
        for slot in _FLAGS:
            setattr(leaf, slot, getattr(self, slot))
        leaf.space = self.space
        return leaf

    def __str__(self) -> str:
        return self.prefix + self.value

    def __repr__(self) -> str:
        return f"Leaf({self.kind!r}, {self.value!r})"


_FLAGS = (
    "before",
    "after",
    "atom",
    "subscript",
    "vararg",
    "arglist",
    "wraps_one",
    "optional",
    "statement",
)


class BracketTracker:
    __slots__ = ("depth", "bracket_match", "delimiters", "previous", "for_depths", "lambda_depths", "invisible")

    def __init__(self):
        self.depth = 0
        self.bracket_match: dict = {}
        self.delimiters: dict[int, int] = {}
        self.previous: Optional[Leaf] = None
        self.for_depths: list[int] = []
        self.lambda_depths: list[int] = []
        self.invisible: list[Leaf] = []

    def mark(self, leaf: Leaf) -> None:
        kind = leaf.kind
        depth = self.depth
        if kind in CLOSING:
            if depth == 0 and (0, kind) not in self.bracket_match:
                return
            depth -= 1
            opening = self.bracket_match.pop((depth, kind), None)
            if opening is None:
                raise Unsupported("unmatched bracket")
            leaf.opening_bracket = opening
            if not leaf.value:
                self.invisible.append(leaf)
        elif kind == NAME:
            if self.for_depths and self.for_depths[-1] == depth and leaf.value == "in":
                depth -= 1
                self.for_depths.pop()
        elif kind == ":" and self.lambda_depths and self.lambda_depths[-1] == depth:
            depth -= 1
            self.lambda_depths.pop()
        leaf.bracket_depth = depth
        if depth == 0:
            previous = self.previous
            delim = leaf.before
            if kind == "." and (previous is None or previous.kind in CLOSING):
                delim = DOT_PRIORITY
            elif kind == STRING and previous is not None and previous.kind == STRING:
                delim = STRING_PRIORITY
            if delim and previous is not None:
                self.delimiters[id(previous)] = delim
            elif leaf.after:
                self.delimiters[id(leaf)] = leaf.after
        if kind in OPENING:
            self.bracket_match[depth, OPENING[kind]] = leaf
            depth += 1
            if not leaf.value:
                self.invisible.append(leaf)
        elif kind == NAME:
            if leaf.value == "lambda":
                depth += 1
                self.lambda_depths.append(depth)
            elif leaf.value == "for":
                depth += 1
                self.for_depths.append(depth)
        self.depth = depth
        self.previous = leaf

    def max_delimiter_priority(self, exclude=()) -> int:
        return max(v for k, v in self.delimiters.items() if k not in exclude)

    def delimiter_count_with_priority(self, priority: int = 0) -> int:
        if not self.delimiters:
            return 0
        priority = priority or self.max_delimiter_priority()
        return sum(1 for p in self.delimiters.values() if p == priority)


class Line:
    __slots__ = (
        "depth",
        "leaves",
        "comments",
        "tracker",
        "inside_brackets",
        "should_split_rhs",
        "magic_trailing_comma",
    )

    def __init__(self, depth: int = 0, inside_brackets: bool = False):
        self.depth = depth
        self.leaves: list[Leaf] = []
        self.comments: dict[int, list[str]] = {}
        self.tracker = BracketTracker()
        self.inside_brackets = inside_brackets
        self.should_split_rhs = False
        self.magic_trailing_comma: Optional[Leaf] = None

    def append(self, leaf: Leaf, preformatted: bool = True, track_bracket: bool = False) -> None:
        # (black skips leaves without a value: ours all have one but invisible parentheses, which it keeps)
        if self.inside_brackets or not preformatted or track_bracket:
            self.tracker.mark(leaf)
            if (
                leaf.kind in CLOSING
                and self.leaves
                and self.leaves[-1].kind == ","
                and self.has_magic_trailing_comma(leaf)
            ):
                self.magic_trailing_comma = leaf
        self.leaves.append(leaf)

    def append_comment(self, comment: str) -> None:
        """black's append_comment for an inline comment: it follows the last leaf (the one an invisible
        parenthesis wraps, when it wraps one)."""
        if not self.leaves:
            raise Unsupported("a comment on a line of its own inside brackets")
        last = self.leaves[-1]
        if last.kind == ")" and not last.value and last.wraps_one and len(self.leaves) >= 2:
            last = self.leaves[-2]
        self.comments.setdefault(id(last), []).append(comment)

    def has_magic_trailing_comma(self, closing: Leaf) -> bool:
        if not (closing.kind in CLOSING and self.leaves and self.leaves[-1].kind == ","):
            return False
        if closing.kind == "}":
            return True
        if closing.kind == "]":
            if closing.subscript and _one_sequence_between(closing.opening_bracket, closing, self.leaves, "[", "]"):
                return False
            return True
        if self.is_import:
            return True
        return closing.opening_bracket is not None and not _one_sequence_between(
            closing.opening_bracket, closing, self.leaves
        )

    @property
    def is_def(self) -> bool:
        return bool(self.leaves) and self.leaves[0].kind == NAME and self.leaves[0].value == "def"

    @property
    def is_import(self) -> bool:
        return bool(self.leaves) and self.leaves[0].kind == NAME and self.leaves[0].value in ("import", "from")

    @property
    def is_chained_assignment(self) -> bool:
        return sum(1 for leaf in self.leaves if leaf.kind == "=") > 1

    def __str__(self) -> str:
        if not self.leaves:
            return "\n"
        first = self.leaves[0]
        parts = [first.prefix, "    " * self.depth, first.value]
        parts += [leaf.prefix + leaf.value for leaf in self.leaves[1:]]
        for comments in self.comments.values():
            parts += comments
        parts.append("\n")
        return "".join(parts)

    def __bool__(self) -> bool:
        return bool(self.leaves or self.comments)

    def enumerate_with_length(self, reverse: bool = False):
        indices = range(len(self.leaves) - 1, -1, -1) if reverse else range(len(self.leaves))
        for index in indices:
            leaf = self.leaves[index]
            length = len(leaf.prefix) + len(leaf.value)
            if "\n" in leaf.value:
                return
            for comment in self.comments.get(id(leaf), ()):
                length += len(comment)
            yield index, leaf, length

    def clone(self) -> "Line":
        line = Line(self.depth, self.inside_brackets)
        line.should_split_rhs = self.should_split_rhs
        line.magic_trailing_comma = self.magic_trailing_comma
        return line


def _one_sequence_between(opening: Optional[Leaf], closing: Leaf, leaves: list[Leaf], o="(", c=")") -> bool:
    """Whether at most one comma lies between the brackets, and it is not an argument list's."""
    if opening is None or (opening.kind, closing.kind) != (o, c):
        return False
    depth = closing.bracket_depth + 1
    start = next((i for i, leaf in enumerate(leaves) if leaf is opening), -1)
    if start == -1:
        return False
    commas = 0
    for leaf in leaves[start + 1 :]:
        if leaf is closing:
            break
        if leaf.bracket_depth == depth and leaf.kind == ",":
            commas += 1
            if leaf.arglist:
                commas += 1
                break
    return commas < 2


def _line_str(line: Line) -> str:
    return str(line).strip("\n")


def _short_enough(line: Line, line_str: str = "") -> bool:
    line_str = line_str or _line_str(line)
    if "\n" in line_str:
        raise Unsupported("a multi-line string in a line to lay out")
    return _width(line_str) <= LINE_LENGTH


def _width(text: str) -> int:
    """black's str_width: wide characters count two columns, combining ones none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.east_asian_width(ch) in ("W", "F") or not ch.isprintable():
        raise Unsupported("a character black's width table may count other than one column")
    return 1


# -- splitting (black's linegen.py) -------------------------------------------------------------------------


def transform_line(line: Line, features: frozenset = frozenset()) -> Iterator[Line]:
    line_str = _line_str(line)
    hugged = _hug_power(line)
    if not line.should_split_rhs and not line.magic_trailing_comma and _short_enough(line, _line_str(hugged)):
        transformers = []
    elif line.is_def:
        transformers = [_left_hand_split]
    elif line.inside_brackets:
        transformers = [_delimiter_split, _rhs]
    else:
        transformers = [_rhs]
    transformers.append(_hug_power_transform)
    for transform in transformers:
        try:
            result = _run_transformer(line, transform, features, line_str)
        except CannotTransform:
            continue
        yield from result
        return
    yield line


def _hug_power(line: Line) -> Line:
    """black's hug_power_op: `x**2` where both operands are simple (a name or number, a dotted name, after a
    unary operator on the right), judged on this line's tokens; the line itself where nothing changes."""
    leaves = line.leaves
    if not any(leaf.kind == "**" for leaf in leaves):
        return line
    new_line = line.clone()
    should_hug = False
    changed = False
    for index, leaf in enumerate(leaves):
        hug_this_leaf = should_hug
        should_hug = (
            0 < index < len(leaves) - 1
            and leaf.kind == "**"
            and _simple_operand(leaves, index - 1, -1)
            and leaves[index - 1].value != "lambda"
            and _simple_operand(leaves, index + 1, 1)
        )
        if (hug_this_leaf or should_hug) and leaf.prefix:
            clone = leaf.copy("")
            clone.space = ""
            clone.bracket_depth = leaf.bracket_depth
            leaf, changed = clone, True
        new_line.append(leaf, preformatted=True)
        for comment in line.comments.get(id(leaves[index]), ()):
            new_line.append_comment(comment)
    return new_line if changed else line


def _hug_power_transform(line: Line, features: frozenset) -> Iterator[Line]:
    if not any(leaf.kind == "**" for leaf in line.leaves):
        raise CannotTransform("no **")
    yield _hug_power(line)


def _simple_operand(leaves: list[Leaf], index: int, kind: int) -> bool:
    start = leaves[index]
    if start.kind in (NAME, NUMBER):
        return _simple_lookup(leaves, index, kind)
    if start.kind in ("+", "-", "~") and leaves[index + 1].kind in (NAME, NUMBER):
        return _simple_lookup(leaves, index + 1, 1)
    return False


def _simple_lookup(leaves: list[Leaf], index: int, kind: int) -> bool:
    if kind == -1:  # black's handle_is_simple_look_up_prev
        contains_disallowed = False
        chain: list[Leaf] = []
        while 0 <= index < len(leaves):
            current = leaves[index]
            chain.append(current)
            if not contains_disallowed and current.kind in (")", "]"):
                contains_disallowed = True
            if not _expression_chained(chain):
                return not contains_disallowed
            index -= 1
        return True
    while 0 <= index < len(leaves):  # handle_is_simple_lookup_forward
        current = leaves[index]
        if current.kind in ("(", "["):
            return False
        if current.kind not in (NAME, ".") or (current.kind == NAME and current.value == "for"):
            return True
        index += 1
    return True


def _expression_chained(chain: list[Leaf]) -> bool:
    if len(chain) < 2:
        return True
    current, past = chain[-1], chain[-2]
    if past.kind == NAME:
        return current.kind == "."
    if past.kind in (")", "]"):
        return current.kind in ("]", ")")
    if past.kind in ("(", "["):
        return current.kind in (NAME, "(", "[")
    return False


def _run_transformer(line: Line, transform, features: frozenset, line_str: str) -> list[Line]:
    optional_parens = [b for b in line.tracker.invisible if b.bracket_depth == 0]
    result: list[Line] = []
    for transformed in transform(line, features):
        if _line_str(transformed) == line_str:
            raise CannotTransform("unchanged")
        result.extend(transform_line(transformed, features))
    if (
        "force_optional_parentheses" in features
        or transform is not _rhs
        or not line.tracker.invisible
        or any(bracket.value for bracket in optional_parens)
        or _short_enough(result[0])
    ):
        return result
    line_copy = line.clone()
    _append_leaves(line_copy, line, line.leaves)
    second_opinion = _run_transformer(line_copy, transform, features | {"force_optional_parentheses"}, line_str)
    if all(_short_enough(ln) for ln in second_opinion):
        result = second_opinion
    return result


def _append_leaves(new_line: Line, old_line: Line, leaves: list[Leaf]) -> None:
    """black's append_leaves(preformatted=False): fresh copies of the leaves, their brackets tracked again."""
    for old in leaves:
        leaf = old.copy(old.space if new_line.leaves else "")
        new_line.append(leaf, preformatted=False)
        for comment in old_line.comments.get(id(old), ()):
            new_line.append_comment(comment)


class _RHS:
    __slots__ = ("head", "body", "tail", "opening_bracket", "closing_bracket")

    def __init__(self, head, body, tail, opening_bracket, closing_bracket):
        self.head, self.body, self.tail = head, body, tail
        self.opening_bracket, self.closing_bracket = opening_bracket, closing_bracket


def _rhs(line: Line, features: frozenset) -> Iterator[Line]:
    """black's right_hand_split_with_omits."""
    prefix_lengths: dict[int, int] = {}
    length = 4 * line.depth
    for leaf in line.leaves:
        prefix_lengths[id(leaf)] = length
        length += len(leaf.prefix) + len(leaf.value)
    first_lines = None
    for omit in _trailers_to_omit(line):
        if omit:
            target = next(
                (
                    leaf.opening_bracket
                    for leaf in reversed(line.leaves)
                    if leaf.kind in CLOSING and id(leaf) not in omit
                ),
                None,
            )
            if target is not None and target.value and prefix_lengths.get(id(target), 0) > LINE_LENGTH:
                continue
        lines = list(_right_hand_split(line, features, omit))
        if first_lines is None and not omit:
            first_lines = lines
        if _short_enough(lines[0]):
            yield from lines
            return
    if first_lines is not None:
        yield from first_lines
    else:
        yield from _right_hand_split(line, features)


def _right_hand_split(line: Line, features: frozenset, omit=()) -> Iterator[Line]:
    rhs = _first_right_hand_split(line, omit)
    yield from _maybe_split_omitting_optional_parens(rhs, line, features, omit)


def _first_right_hand_split(line: Line, omit=()) -> _RHS:
    tail: list[Leaf] = []
    body: list[Leaf] = []
    head: list[Leaf] = []
    current = tail
    opening = closing = None
    for leaf in reversed(line.leaves):
        if current is body and leaf is opening:
            current = head if body else tail
        current.append(leaf)
        if current is tail and leaf.kind in CLOSING and id(leaf) not in omit:
            opening, closing = leaf.opening_bracket, leaf
            current = body
    if not (opening and closing and head):
        raise CannotTransform("no brackets found")
    tail.reverse()
    body.reverse()
    head.reverse()
    head_line = _bracket_split_build_line(head, line, opening, "head")
    body_line = _bracket_split_build_line(body, line, opening, "body")
    tail_line = _bracket_split_build_line(tail, line, opening, "tail")
    _bracket_split_succeeded_or_raise(head_line, body_line, tail_line)
    return _RHS(head_line, body_line, tail_line, opening, closing)


def _maybe_split_omitting_optional_parens(rhs: _RHS, line: Line, features: frozenset, omit=()) -> Iterator[Line]:
    if (
        "force_optional_parentheses" not in features
        and rhs.opening_bracket.kind == "("
        and not rhs.opening_bracket.value
        and rhs.closing_bracket.kind == ")"
        and not rhs.closing_bracket.value
        and not line.is_import
        and _can_omit_invisible_parens(rhs)
    ):
        omit = {id(rhs.closing_bracket), *omit}
        try:
            rhs_oop = _first_right_hand_split(line, omit)
            if _prefer_split_rhs_oop_over_rhs(rhs_oop, rhs):
                yield from _maybe_split_omitting_optional_parens(rhs_oop, line, features, omit)
                return
        except CannotTransform as e:
            if line.is_chained_assignment:
                pass
            elif not _can_be_split(rhs.body) and not _short_enough(rhs.body):
                raise CannotTransform("body still too long") from e
    _ensure_visible(rhs.opening_bracket)
    _ensure_visible(rhs.closing_bracket)
    for result in (rhs.head, rhs.body, rhs.tail):
        if result:
            yield result


def _ensure_visible(leaf: Leaf) -> None:
    if leaf.kind == "(":
        leaf.value = "("
    elif leaf.kind == ")":
        leaf.value = ")"


def _prefer_split_rhs_oop_over_rhs(rhs_oop: _RHS, rhs: _RHS) -> bool:
    if not (len(rhs.head.leaves) >= 2 and rhs.head.leaves[-2].kind == "="):
        return True
    if not any(leaf.kind in OPENING or leaf.kind in CLOSING for leaf in rhs.head.leaves[:-1]):
        return True
    if not _width(_line_str(rhs.head)) <= LINE_LENGTH - 1:
        return True
    if rhs.head.magic_trailing_comma is not None:
        return True
    head_equals = sum(1 for leaf in rhs.head.leaves if leaf.kind == "=")
    oop_head_equals = sum(1 for leaf in rhs_oop.head.leaves if leaf.kind == "=")
    if head_equals > 1 and head_equals > oop_head_equals:
        return False
    closing_after_assign = False
    for leaf in reversed(rhs_oop.head.leaves):
        if leaf.kind == "=":
            break
        if leaf.kind in CLOSING:
            closing_after_assign = True
            break
    return closing_after_assign or (
        any(leaf.kind == "=" for leaf in rhs_oop.head.leaves) and _short_enough(rhs_oop.head)
    )


def _bracket_split_succeeded_or_raise(head: Line, body: Line, tail: Line) -> None:
    tail_len = len(str(tail).strip())
    if not body:
        if tail_len == 0:
            raise CannotTransform("same line")
        if tail_len < 3:
            raise CannotTransform("not worth it")


def _ensure_trailing_comma(leaves: list[Leaf], original: Line, opening: Leaf) -> bool:
    if not leaves:
        return False
    if original.is_import:
        return True
    if not original.is_def or opening.value != "(":
        return False
    if any(leaf.kind == "," for leaf in leaves):  # (black skips an annotation's commas: ours have none)
        return False
    return True


def _bracket_split_build_line(leaves: list[Leaf], original: Line, opening: Leaf, component: str) -> Line:
    result = Line(original.depth)
    if component == "body":
        result.inside_brackets = True
        result.depth += 1
        if _ensure_trailing_comma(leaves, original, opening):
            if leaves[-1].kind != ",":
                comma = Leaf(",")
                comma.after = COMMA_PRIORITY
                comma.added = True
                leaves.append(comma)
    track = _leaves_inside_matching_brackets(leaves) if component == "head" else set()
    for leaf in leaves:
        result.append(leaf, preformatted=True, track_bracket=id(leaf) in track)
        for comment in original.comments.get(id(leaf), ()):
            result.append_comment(comment)
    if component == "body" and _should_split_line(result, opening):
        result.should_split_rhs = True
    return result


def _leaves_inside_matching_brackets(leaves: list[Leaf]) -> set[int]:
    try:
        start = next(i for i, leaf in enumerate(leaves) if leaf.kind in OPENING)
    except StopIteration:
        return set()
    ids: set[int] = set()
    stack: list[tuple[str, list[int]]] = []
    for leaf in leaves[start:]:
        if leaf.kind in OPENING:
            stack.append((OPENING[leaf.kind], [id(leaf)]))
        elif leaf.kind in CLOSING:
            if stack and leaf.kind == stack[-1][0]:
                _, level = stack.pop()
                level.append(id(leaf))
                ids.update(level)
            else:
                break
        elif stack:
            stack[-1][1].append(id(leaf))
    return ids


def _should_split_line(line: Line, opening: Leaf) -> bool:
    if not (opening.value in "[{("):  # black: `opening_bracket.parent and ...`; every bracket of ours has one
        return False
    exclude = set()
    trailing_comma = False
    if not line.leaves:
        return False
    last = line.leaves[-1]
    if last.kind == ",":
        trailing_comma = True
        exclude.add(id(last))
    try:
        max_priority = line.tracker.max_delimiter_priority(exclude)
    except ValueError:
        return False
    return max_priority == COMMA_PRIORITY and (trailing_comma or opening.atom)


def _trailers_to_omit(line: Line) -> Iterator[set]:
    omit: set[int] = set()
    if not line.magic_trailing_comma:
        yield omit
    length = 4 * line.depth
    opening = closing = None
    inner: set[int] = set()
    for index, leaf, leaf_length in line.enumerate_with_length(reverse=True):
        length += leaf_length
        if length > LINE_LENGTH:
            break
        if leaf_length > len(leaf.value) + len(leaf.prefix):  # an inline comment
            break
        if opening:
            if leaf is opening:
                opening = None
            elif leaf.kind in CLOSING:
                if _ends_in_trailing_comma(line, index, leaf):
                    break
                inner.add(id(leaf))
        elif leaf.kind in CLOSING:
            prev = line.leaves[index - 1] if index > 0 else None
            if prev and prev.kind in OPENING:
                inner.add(id(leaf))
                continue
            if closing:
                omit.add(id(closing))
                omit.update(inner)
                inner.clear()
                yield omit
            if _ends_in_trailing_comma(line, index, leaf):
                break
            if leaf.value:
                opening = leaf.opening_bracket
                closing = leaf


def _ends_in_trailing_comma(line: Line, index: int, closing: Leaf) -> bool:
    """Whether the bracket pair that ``closing`` (line.leaves[index]) ends has a trailing comma to explode on
    (black never omits such a pair)."""
    return (
        index > 0
        and line.leaves[index - 1].kind == ","
        and closing.opening_bracket is not None
        and not _one_sequence_between(closing.opening_bracket, closing, line.leaves)
    )


def _can_be_split(line: Line) -> bool:
    leaves = line.leaves
    if len(leaves) < 2:
        return False
    if leaves[0].kind == STRING and leaves[1].kind == ".":
        calls = dots = 0
        following = leaves[-1]
        for leaf in leaves[-2::-1]:
            if leaf.kind in OPENING:
                if following.kind not in CLOSING:
                    return False
                calls += 1
            elif leaf.kind == ".":
                dots += 1
            elif leaf.kind == NAME:
                if not (following.kind == "." or following.kind in OPENING):
                    return False
            elif leaf.kind not in CLOSING:
                return False
            if dots > 1 and calls > 1:
                return False
            following = leaf
    return True


def _can_omit_invisible_parens(rhs: _RHS) -> bool:
    line = rhs.body
    tracker = line.tracker
    if not tracker.delimiters:
        return True
    max_priority = tracker.max_delimiter_priority()
    count = tracker.delimiter_count_with_priority(max_priority)
    if count > 1:
        return False
    if max_priority == DOT_PRIORITY:
        return True
    first, second = line.leaves[0], line.leaves[1]
    if first.kind in OPENING and second.kind not in CLOSING:
        if _can_omit_opening_paren(line, first):
            return True
    penultimate, last = line.leaves[-2], line.leaves[-1]
    if last.kind == ")" or last.kind == "}" or (last.kind == "]" and not last.subscript):
        if penultimate.kind in OPENING:
            return False
        if _can_omit_closing_paren(line, last):
            return True
    return False


def _can_omit_opening_paren(line: Line, first: Leaf) -> bool:
    remainder = False
    length = 4 * line.depth
    index = -1
    for index, leaf, leaf_length in line.enumerate_with_length():
        if leaf.kind in CLOSING and leaf.opening_bracket is first:
            remainder = True
        if remainder:
            length += leaf_length
            if length > LINE_LENGTH:
                break
            if leaf.kind in OPENING:
                remainder = False
    else:
        if len(line.leaves) == index + 1:
            return True
    return False


def _can_omit_closing_paren(line: Line, last: Leaf) -> bool:
    length = 4 * line.depth
    seen_other_brackets = False
    for _, leaf, leaf_length in line.enumerate_with_length():
        length += leaf_length
        if leaf is last.opening_bracket:
            if seen_other_brackets or length <= LINE_LENGTH:
                return True
        elif leaf.kind in OPENING:
            seen_other_brackets = True
    return False


def _left_hand_split(line: Line, features: frozenset) -> Iterator[Line]:
    tail: list[Leaf] = []
    body: list[Leaf] = []
    head: list[Leaf] = []
    current = head
    matching = None
    for leaf in line.leaves:
        if current is body and leaf.kind in CLOSING and leaf.opening_bracket is matching and matching is not None:
            _ensure_visible(leaf)
            _ensure_visible(matching)
            current = tail if body else head
        current.append(leaf)
        if current is head and leaf.kind == "(":
            matching = leaf
            current = body
    if not matching or not tail:
        raise CannotTransform("no brackets found")
    head_line = _bracket_split_build_line(head, line, matching, "head")
    body_line = _bracket_split_build_line(body, line, matching, "body")
    tail_line = _bracket_split_build_line(tail, line, matching, "tail")
    _bracket_split_succeeded_or_raise(head_line, body_line, tail_line)
    for result in (head_line, body_line, tail_line):
        if result:
            yield result


def _delimiter_split(line: Line, features: frozenset) -> Iterator[Line]:
    if not line.leaves:
        raise CannotTransform("empty")
    last_leaf = line.leaves[-1]
    tracker = line.tracker
    try:
        priority = tracker.max_delimiter_priority(exclude={id(last_leaf)})
    except ValueError:
        raise CannotTransform("no delimiters") from None
    if priority == DOT_PRIORITY and tracker.delimiter_count_with_priority(priority) == 1:
        raise CannotTransform("a single attribute")
    current = Line(line.depth, line.inside_brackets)
    lowest_depth = sys.maxsize
    trailing_comma_safe = True

    def append_comments(leaf: Leaf) -> None:
        for comment in line.comments.get(id(leaf), ()):
            current.append_comment(comment)

    for index, leaf in enumerate(line.leaves):
        current.append(leaf, preformatted=True)
        previous_priority = index > 0 and tracker.delimiters.get(id(line.leaves[index - 1]))
        if previous_priority != priority or priority in (STRING_PRIORITY, COMMA_PRIORITY):
            append_comments(leaf)
        lowest_depth = min(lowest_depth, leaf.bracket_depth)
        if trailing_comma_safe and leaf.bracket_depth == lowest_depth and leaf.vararg:
            if "trailing_comma_after_varargs" not in features:
                raise Unsupported("a trailing comma after *args: black's choice depends on its target versions")
            trailing_comma_safe = True
        if tracker.delimiters.get(id(leaf)) == priority:
            if index + 1 < len(line.leaves) and priority not in (STRING_PRIORITY, COMMA_PRIORITY):
                append_comments(line.leaves[index + 1])
            yield _first_leaf_unindented(current)
            current = Line(line.depth, line.inside_brackets)
    if current:
        if trailing_comma_safe and priority == COMMA_PRIORITY and current.leaves[-1].kind != ",":
            comma = Leaf(",")
            comma.after = COMMA_PRIORITY
            comma.added = True
            current.append(comma)
        yield _first_leaf_unindented(current)


def _first_leaf_unindented(line: Line) -> Line:
    line.leaves[0].prefix = ""
    return line


# -- tokens from the syntax tree ----------------------------------------------------------------------------

# Precedence, as ast.unparse's: an operand binding looser than its place needs parentheses.
_TUPLE, _TEST, _OR, _AND, _NOT, _CMP, _BOR, _BXOR, _BAND, _SHIFT, _ARITH, _TERM, _FACTOR, _POWER, _ATOM = range(15)
_BINOPS = {
    ast.Add: ("+", _ARITH),
    ast.Sub: ("-", _ARITH),
    ast.Mult: ("*", _TERM),
    ast.Div: ("/", _TERM),
    ast.FloorDiv: ("//", _TERM),
    ast.Mod: ("%", _TERM),
    ast.MatMult: ("@", _TERM),
    ast.Pow: ("**", _POWER),
    ast.LShift: ("<<", _SHIFT),
    ast.RShift: (">>", _SHIFT),
    ast.BitOr: ("|", _BOR),
    ast.BitXor: ("^", _BXOR),
    ast.BitAnd: ("&", _BAND),
}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}
_COMPARE = {
    ast.Eq: ["=="],
    ast.NotEq: ["!="],
    ast.Lt: ["<"],
    ast.LtE: ["<="],
    ast.Gt: [">"],
    ast.GtE: [">="],
    ast.Is: ["is"],
    ast.IsNot: ["is", "not"],
    ast.In: ["in"],
    ast.NotIn: ["not", "in"],
}
_AUGMENTED = {op: text + "=" for op, (text, _) in _BINOPS.items()}
_STRING_PREFIX = re.compile(r"^([a-zA-Z]*)(.*)$", re.DOTALL)


def _precedence(node: ast.expr) -> int:
    if isinstance(node, ast.Tuple):
        return _TUPLE if node.elts else _ATOM
    if isinstance(node, (ast.IfExp, ast.Lambda)):
        return _TEST
    if isinstance(node, ast.BoolOp):
        return _OR if isinstance(node.op, ast.Or) else _AND
    if isinstance(node, ast.UnaryOp):
        return _NOT if isinstance(node.op, ast.Not) else _FACTOR
    if isinstance(node, ast.Compare):
        return _CMP
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)][1]
    return _ATOM


def _is_number(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float, complex))
        and not isinstance(node.value, bool)
    )


def _complex_subscript(node: ast.expr) -> bool:
    """Whether black spaces a slice's colons here: the part holds an operator, a call, an attribute, ..."""
    for sub in ast.walk(node):
        if isinstance(
            sub,
            (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.Starred, ast.NamedExpr)
            + (ast.Attribute, ast.Call, ast.Subscript),
        ) or (isinstance(sub, ast.UnaryOp) and isinstance(sub.op, ast.Not)):
            return True
    return False


def normalize_string(text: str) -> str:
    """black's string prefix and quote normalisation of one string token."""
    match = _STRING_PREFIX.match(text)
    prefix, rest = match.group(1), match.group(2)
    if "u" in prefix.lower():
        raise Unsupported("a u prefix (black drops it: the syntax tree's `kind` then differs)")
    prefix = prefix.replace("F", "f").replace("B", "b").replace("U", "").replace("u", "")
    if len(prefix) == 2 and prefix[0].lower() != "r":
        prefix = prefix[::-1]
    return _normalize_quotes(prefix + rest)


def _normalize_quotes(s: str) -> str:
    value = s.lstrip("furbFURB")
    if value[:3] == '"""':
        return s
    if value[:3] == "'''":
        orig, new = "'''", '"""'
    elif value[0] == '"':
        orig, new = '"', "'"
    else:
        orig, new = "'", '"'
    first = s.find(orig)
    prefix = s[:first]
    unescaped_new = re.compile(rf"(([^\\]|^)(\\\\)*){new}")
    escaped_new = re.compile(rf"([^\\]|^)\\((?:\\\\)*){new}")
    escaped_orig = re.compile(rf"([^\\]|^)\\((?:\\\\)*){orig}")
    body = s[first + len(orig) : -len(orig)]
    if "r" in prefix.casefold():
        if unescaped_new.search(body):
            return s
        new_body = body
    else:
        new_body = _sub_twice(escaped_new, rf"\1\2{new}", body)
        if body != new_body:
            body = new_body
            s = f"{prefix}{orig}{body}{orig}"
        new_body = _sub_twice(escaped_orig, rf"\1\2{orig}", new_body)
        new_body = _sub_twice(unescaped_new, rf"\1\\{new}", new_body)
    if "f" in prefix.casefold():
        matches = re.findall(r"(?:(?<!\{)|^)\{([^{].*?)\}(?:(?!\})|$)", new_body)
        for m in matches:
            if "\\" in str(m):
                return s
    if new == '"""' and new_body[-1:] == '"':
        preceding = new_body[:-1]
        if (len(preceding) - len(preceding.rstrip("\\"))) % 2 == 0:
            new_body = new_body[:-1] + '\\"'
    if new_body.count("\\") > body.count("\\"):
        return s
    if new_body.count("\\") == body.count("\\") and orig == '"':
        return s
    return f"{prefix}{new}{new_body}{new}"


def _sub_twice(regex, replacement: str, original: str) -> str:
    return regex.sub(replacement, regex.sub(replacement, original))


def normalize_number(text: str) -> str:
    text = text.lower()
    if text.startswith(("0o", "0b")):
        return text
    if text.startswith("0x"):
        return text[:2] + text[2:].upper()
    if "e" in text:
        before, after = text.split("e")
        sign = ""
        if after.startswith("-"):
            after, sign = after[1:], "-"
        elif after.startswith("+"):
            after = after[1:]
        return f"{_float_text(before)}e{sign}{after}"
    if text.endswith("j"):
        return _float_text(text[:-1]) + text[-1]
    return _float_text(text)


def _float_text(text: str) -> str:
    if "." not in text:
        return text
    before, after = text.split(".")
    return f"{before or 0}.{after or 0}"


class _Tokens:
    """The leaves of one logical line, written from the syntax tree."""

    def __init__(self, source: "_Source"):
        self.source = source
        self.leaves: list[Leaf] = []
        self.magic_comma = False  # a trailing comma black keeps (one-tuples' are not)

    def _one_tuple_comma(self) -> bool:
        """Whether the comma just written ends a one-tuple: one element since its opening parenthesis."""
        depth = 0
        commas = 0
        for leaf in reversed(self.leaves):
            if leaf.kind in CLOSING:
                depth += 1
            elif leaf.kind in OPENING:
                if depth == 0:
                    return leaf.kind == "(" and leaf.atom and commas == 1
                depth -= 1
            elif leaf.kind == "," and depth == 0:
                commas += 1
        return False

    def leaf(self, kind: str, value: Optional[str] = None, space: bool = True) -> Leaf:
        leaf = Leaf(kind, value, " " if space and self.leaves else "")
        self.leaves.append(leaf)
        return leaf

    def open(self, kind: str, space: bool, atom: bool = False, visible: bool = True) -> Leaf:
        leaf = self.leaf(kind, kind if visible else "", space)
        leaf.atom = atom
        leaf.optional = not visible
        return leaf

    def close(self, kind: str, visible: bool = True, subscript: bool = False) -> Leaf:
        if self.leaves and self.leaves[-1].kind == "," and not (kind == ")" and self._one_tuple_comma()):
            self.magic_comma = True
        leaf = self.leaf(kind, kind if visible else "", space=False)
        leaf.subscript = subscript
        leaf.optional = not visible
        return leaf

    def comma(self, arglist: bool = False, for_target: bool = False) -> Leaf:
        if self.leaves and self.leaves[-1].kind == ",":
            raise Unsupported("two commas")
        leaf = self.leaf(",", space=False)
        leaf.after = 0 if for_target else COMMA_PRIORITY
        leaf.arglist = arglist
        return leaf

    def keyword(self, word: str, priority: int = 0, space: bool = True) -> Leaf:
        leaf = self.leaf(NAME, word, space)
        leaf.before = priority
        return leaf

    # expressions ------------------------------------------------------------------------------------------

    def expr(self, node: ast.expr, space: bool = True, level: int = _TEST, ternary_wrapped: bool = False) -> None:
        """``node`` as leaves; ``level``: the precedence its place requires (parentheses if it binds looser);
        ``ternary_wrapped``: a conditional expression here is already in parentheses (black adds invisible
        ones around every other)."""
        if isinstance(node, ast.Tuple) and node.elts:
            self._Tuple(node, space)
            return
        if _precedence(node) < level:
            self.open("(", space, atom=True)
            self.expr(node, space=False, level=_TUPLE, ternary_wrapped=True)
            self.close(")")
            return
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"expression {type(node).__name__}")
        if isinstance(node, ast.IfExp):
            method(node, space, ternary_wrapped)
        else:
            method(node, space)

    def wrapped(self, node: ast.expr, space: bool = True) -> None:
        """``node`` in black's invisible parentheses (an assignment's value, a return value, a condition)."""
        if isinstance(node, ast.Tuple) and node.elts and node.col_offset < node.elts[0].col_offset:
            self._Tuple(node, space)  # written in parentheses: black keeps them
            return
        self.open("(", space, atom=True, visible=False).statement = True
        before = len(self.leaves)
        self.expr(node, space=False, level=_TUPLE, ternary_wrapped=True)
        one_leaf = len(self.leaves) - before == 1
        closing = self.close(")", visible=False)
        closing.wraps_one, closing.statement = one_leaf, True

    def _Name(self, node: ast.Name, space: bool) -> None:
        self.leaf(NAME, node.id, space)

    def _Constant(self, node: ast.Constant, space: bool) -> None:
        value = node.value
        if value is None or value is True or value is False:
            self.leaf(NAME, repr(value), space)
        elif value is Ellipsis:
            self.leaf("...", space=space)
        elif isinstance(value, (int, float, complex)):
            text = self.source.segment(node)
            if not re.fullmatch(r"[0-9a-zA-Z_.+\-]+", text) or text.startswith(("-", "+")):
                raise Unsupported("a number written as an expression")
            self.leaf(NUMBER, normalize_number(text), space)
        else:
            self._strings(node, space)

    def _JoinedStr(self, node: ast.JoinedStr, space: bool) -> None:
        self._strings(node, space)

    def _strings(self, node: ast.expr, space: bool) -> None:
        for i, text in enumerate(self.source.string_tokens(node)):
            self.leaf(STRING, normalize_string(text), space if i == 0 else True)

    def _Attribute(self, node: ast.Attribute, space: bool) -> None:
        if _is_number(node.value):
            raise Unsupported("an attribute of a number")
        self.expr(node.value, space, level=_ATOM)
        self.leaf(".", space=False)
        self.leaf(NAME, node.attr, space=False)

    def _Call(self, node: ast.Call, space: bool) -> None:
        self.expr(node.func, space, level=_ATOM)
        self.open("(", space=False)
        items = list(node.args) + list(node.keywords)
        items.sort(key=lambda n: (n.lineno, n.col_offset))
        trailing_comma = bool(items) and self.source.has_trailing_comma(node, items[-1])
        # one argument, no comma after it: sits in the call's own parentheses (a generator, a conditional)
        alone = len(items) == 1 and not trailing_comma
        if alone and isinstance(items[0], ast.GeneratorExp):
            self._comprehension_body(items[0])
        for i, item in enumerate(items):
            if alone and isinstance(item, ast.GeneratorExp):
                break
            if i:
                self.comma(arglist=True)
            if isinstance(item, ast.keyword):
                if item.arg is None:
                    self.leaf("**", space=i > 0).vararg = True
                    self.expr(item.value, space=False, level=_ATOM)
                else:
                    self.leaf(NAME, item.arg, space=i > 0)
                    self.leaf("=", space=False)
                    self.expr(item.value, space=False)
            elif isinstance(item, ast.Starred):
                self.leaf("*", space=i > 0).vararg = True
                self.expr(item.value, space=False, level=_ATOM)
            else:
                self.expr(item, space=i > 0, ternary_wrapped=alone)
        if trailing_comma:
            self.comma(arglist=True)
        self.close(")")

    def _Subscript(self, node: ast.Subscript, space: bool) -> None:
        self.expr(node.value, space, level=_ATOM)
        self.open("[", space=False)
        index = node.slice
        parts = index.elts if isinstance(index, ast.Tuple) and index.elts else [index]
        for i, part in enumerate(parts):
            if i:
                self.comma()
            if isinstance(part, ast.Slice):
                self._slice(part, first=i == 0)
            elif isinstance(part, ast.Starred):
                raise Unsupported("a starred subscript")
            else:
                self.expr(part, space=i > 0)
        if isinstance(index, ast.Tuple) and (
            len(index.elts) == 1 or (index.elts and self.source.has_trailing_comma(node, index.elts[-1]))
        ):
            self.comma()  # x[a,]: a one-tuple index; x[a, b,]: black's magic trailing comma
        self.close("]", subscript=True)

    def _slice(self, node: ast.Slice, first: bool) -> None:
        if node.step is not None:
            raise Unsupported("a slice with a step")
        complex_ = any(_complex_subscript(part) for part in (node.lower, node.upper) if part is not None)
        if node.lower is not None:
            self.expr(node.lower, space=not first)
            self.leaf(":", space=complex_)
        else:
            self.leaf(":", space=not first)
        if node.upper is not None:
            self.expr(node.upper, space=complex_)

    def _BinOp(self, node: ast.BinOp, space: bool) -> None:
        text, level = _BINOPS[type(node.op)]
        if text == "**":  # spaced here; hugged line by line where black hugs it (_hug_power)
            self.expr(node.left, space, level=level + 1)
            self.leaf("**").before = MATH_PRIORITIES["**"]
            self.expr(node.right, level=_FACTOR)
            return
        self.expr(node.left, space, level=level)
        self.leaf(text).before = MATH_PRIORITIES[text]
        self.expr(node.right, level=level + 1)

    def _UnaryOp(self, node: ast.UnaryOp, space: bool) -> None:
        if isinstance(node.op, ast.Not):
            self.keyword("not", space=space)
            # `not (a is None)`, not `not a is None`: a reader takes `not` to bind tighter than it does
            self.expr(node.operand, level=_CMP + 1 if isinstance(node.operand, ast.Compare) else _NOT)
            return
        self.leaf(_UNARY[type(node.op)], space=space)
        operand = node.operand
        if isinstance(operand, ast.BinOp) and isinstance(operand.op, ast.Pow):
            # black's visit_factor: -(x**2), not -x**2
            self.open("(", space=False, atom=True)
            self.expr(operand, space=False, level=_TUPLE)
            self.close(")")
        else:
            self.expr(operand, space=False, level=_FACTOR)

    def _BoolOp(self, node: ast.BoolOp, space: bool) -> None:
        word = "or" if isinstance(node.op, ast.Or) else "and"
        level = _precedence(node)
        for i, value in enumerate(node.values):
            if i:
                self.keyword(word, LOGIC_PRIORITY)
            # `a or (b and c)`: the parentheses Python does not need, but a reader does
            self.expr(value, space if i == 0 else True, level=_NOT if isinstance(value, ast.BoolOp) else level + 1)

    def _Compare(self, node: ast.Compare, space: bool) -> None:
        self.expr(node.left, space, level=_CMP + 1)
        for op, right in zip(node.ops, node.comparators):
            words = _COMPARE[type(op)]
            for i, word in enumerate(words):
                kind = NAME if word.isalpha() else word
                leaf = self.leaf(kind, word)
                leaf.before = COMPARATOR_PRIORITY if i == 0 else 0
            self.expr(right, level=_CMP + 1)

    def _Lambda(self, node: ast.Lambda, space: bool) -> None:
        # `tf.cond(c, lambda: a, lambda: b)`: the lambdas metricgen writes take no parameters
        params = node.args
        if params.posonlyargs or params.args or params.vararg or params.kwonlyargs or params.kwarg:
            raise Unsupported("a lambda with parameters")
        if isinstance(node.body, ast.IfExp):
            raise Unsupported("a conditional expression as a lambda's body")
        self.keyword("lambda", space=space)
        self.leaf(":", space=False)
        self.expr(node.body, level=_TEST)

    def _IfExp(self, node: ast.IfExp, space: bool, wrapped: bool = False) -> None:
        if not wrapped:
            self.open("(", space, atom=True, visible=False)
            space = False
        self.expr(node.body, space, level=_TEST + 1)
        self.keyword("if", TERNARY_PRIORITY)
        self.expr(node.test, level=_TEST + 1)
        self.keyword("else", TERNARY_PRIORITY)
        self.expr(node.orelse, level=_TEST)
        if not wrapped:
            self.close(")", visible=False)

    def _Tuple(self, node: ast.Tuple, space: bool) -> None:
        self.open("(", space, atom=True)
        for i, elt in enumerate(node.elts):
            if i:
                self.comma()
            self.expr(elt, space=i > 0)
        if len(node.elts) == 1 or (node.elts and self.source.has_trailing_comma(node, node.elts[-1])):
            self.comma()
        self.close(")")

    def _List(self, node: ast.List, space: bool) -> None:
        self._sequence(node, node.elts, "[", "]", space)

    def _Set(self, node: ast.Set, space: bool) -> None:
        self._sequence(node, node.elts, "{", "}", space)

    def _sequence(self, node, elts, opening: str, closing: str, space: bool) -> None:
        self.open(opening, space, atom=True)
        for i, elt in enumerate(elts):
            if i:
                self.comma()
            if isinstance(elt, ast.Starred):
                raise Unsupported("unpacking in a literal")
            self.expr(elt, space=i > 0)
        if elts and self.source.has_trailing_comma(node, elts[-1]):
            self.comma()
        self.close(closing)

    def _Dict(self, node: ast.Dict, space: bool) -> None:
        self.open("{", space, atom=True)
        for i, (key, value) in enumerate(zip(node.keys, node.values)):
            if i:
                self.comma()
            if key is None:  # {**other}: not a delimiter, and a trailing comma may follow it
                self.leaf("**", space=i > 0)
                self.expr(value, space=False, level=_BOR)
                continue
            self.expr(key, space=i > 0)
            self.leaf(":", space=False)
            self.expr(value)
        if node.values and self.source.has_trailing_comma(node, node.values[-1]):
            self.comma()
        self.close("}")

    def _ListComp(self, node: ast.ListComp, space: bool) -> None:
        self.open("[", space, atom=True)
        self._comprehension_body(node)
        self.close("]")

    def _GeneratorExp(self, node: ast.GeneratorExp, space: bool) -> None:
        self.open("(", space, atom=True)
        self._comprehension_body(node)
        self.close(")")

    def _comprehension_body(self, node) -> None:
        self.expr(node.elt, space=False)
        for generator in node.generators:
            if generator.is_async:
                raise Unsupported("async comprehension")
            self.keyword("for", COMPREHENSION_PRIORITY)
            self._target(generator.target)
            self.keyword("in")
            self.expr(generator.iter, level=_TEST + 1)
            for condition in generator.ifs:
                self.keyword("if", COMPREHENSION_PRIORITY)
                self.expr(condition, level=_TEST + 1)

    def _target(self, node: ast.expr, space: bool = True, wrapped: bool = False) -> None:
        """A for loop's or comprehension's target: a tuple without parentheses; its commas are no delimiters
        in a comprehension, but are in a for statement (``wrapped``: black puts its target in invisible
        parentheses)."""
        if isinstance(node, ast.Tuple) and node.elts:
            for i, elt in enumerate(node.elts):
                if i:
                    self.comma(for_target=not wrapped)
                self.expr(elt, space=space or i > 0, level=_ATOM)
            if len(node.elts) == 1:
                self.comma(for_target=not wrapped)
        else:
            self.expr(node, space, level=_ATOM)


# -- statements ---------------------------------------------------------------------------------------------

_ONE_STRING = re.compile(r"""[a-zA-Z]{0,2}(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")


class _Source:
    """The piece's text, for what the tree does not keep: how strings and numbers are written, comments,
    blank lines."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")
        self.comments = {i + 1: line for i, line in enumerate(self.lines) if "#" in line}

    def _column(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return col if line.isascii() else len(line.encode("utf-8")[:col].decode("utf-8"))

    def segment(self, node: ast.AST) -> str:
        start, end = self._column(node.lineno, node.col_offset), self._column(node.end_lineno, node.end_col_offset)
        if node.lineno == node.end_lineno:
            return self.lines[node.lineno - 1][start:end]
        parts = [self.lines[node.lineno - 1][start:]] + self.lines[node.lineno : node.end_lineno - 1]
        return "\n".join(parts + [self.lines[node.end_lineno - 1][:end]])

    def string_tokens(self, node: ast.expr) -> list[str]:
        """The string literals a string constant or f-string is written as (several: implicitly joined)."""
        text = self.segment(node)
        if _ONE_STRING.fullmatch(text):
            return [text]
        # several literals (or one with quotes inside): Python's tokenizer, in parentheses so that the
        # literals may sit on several lines
        lines = ("(" + text + ")").split("\n")

        def at(position) -> tuple[int, int]:
            return position[0] - 1, position[1]

        def cut(start, end) -> str:
            (r0, c0), (r1, c1) = at(start), at(end)
            if r0 == r1:
                return lines[r0][c0:c1]
            raise Unsupported("a string literal over several lines")

        tokens, depth, start = [], 0, (0, 0)
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline):
            kind = tokenize.tok_name[token.type]
            if kind == "FSTRING_START":
                if depth == 0:
                    start = token.start
                depth += 1
            elif kind == "FSTRING_END":
                depth -= 1
                if depth == 0:
                    tokens.append(cut(start, token.end))
            elif kind == "STRING" and depth == 0:
                tokens.append(cut(token.start, token.end))
            elif kind == "COMMENT":
                raise Unsupported("a comment between strings")
        return tokens

    def has_trailing_comma(self, node: ast.AST, last: ast.AST) -> bool:
        """Whether the source puts a comma after ``last``, the last element of ``node`` (black's magic
        trailing comma: the brackets then hold one element per line)."""
        text = self.segment(node)
        start = self._column(last.end_lineno, last.end_col_offset) - (
            self._column(node.lineno, node.col_offset) if last.end_lineno == node.lineno else 0
        )
        lines = text.split("\n")
        tail = lines[last.end_lineno - node.lineno][start:] + "\n".join(lines[last.end_lineno - node.lineno + 1 :])
        return "," in tail.split("#")[0] if "#" in tail else "," in tail

    def trailing_comment(self, lineno: int, strings: list[ast.AST]) -> Optional[str]:
        """A comment after the code on line ``lineno`` (the strings on it are skipped), or None."""
        line = self.comments.get(lineno)
        if line is None:
            return None
        spans = [
            (
                self._column(n.lineno, n.col_offset) if n.lineno == lineno else 0,
                self._column(n.end_lineno, n.end_col_offset) if n.end_lineno == lineno else len(line),
            )
            for n in strings
            if n.lineno <= lineno <= n.end_lineno
        ]
        for i, ch in enumerate(line):
            if ch == "#" and not any(a <= i < b for a, b in spans):
                comment = line[i:].rstrip()
                if not comment.startswith("# ") and comment != "#":
                    raise Unsupported("a comment black would respace")
                return comment
        return None

    def blank_lines_before(self, lineno: int) -> int:
        count = 0
        while lineno - 2 - count >= 0 and not self.lines[lineno - 2 - count].strip():
            count += 1
        return count


class _Writer:
    """Black's lines for a piece's statements."""

    def __init__(self, module: "Module"):
        self.module = module
        self.source = module.source
        self.features = module.features
        self.records: list[_Record] = []

    # a logical line ---------------------------------------------------------------------------------------

    def record(self, depth: int, lines: list[str], lineno: int, kind: str = "", opens_block: bool = False) -> None:
        """One logical line as black prints it; ``lineno``: where it starts in the source (the blank lines the
        user left above it count)."""
        self.records.append(_Record(depth, lines, self.source.blank_lines_before(lineno), kind, opens_block))

    def emit(
        self,
        tokens: _Tokens,
        depth: int,
        lineno: int,
        comment: Optional[str] = None,
        kind: str = "",
        opens_block: bool = False,
    ) -> None:
        indent = "    " * depth
        text = indent + "".join([leaf.prefix + leaf.value for leaf in tokens.leaves])
        if comment is None and _width(text) <= LINE_LENGTH and not tokens.magic_comma and " ** " not in text:
            # what transform_line gives a line that fits: the line (ours have no magic trailing comma)
            self.record(depth, [text], lineno, kind, opens_block)
            return
        line = Line(depth)
        for leaf in tokens.leaves:
            line.append(leaf, preformatted=False)
        if comment:
            line.append_comment("  " + comment)
        results = list(transform_line(line, self.features))
        if len(results) > 1 and any(
            leaf.added or (leaf.optional and leaf.value and not leaf.statement)
            for result in results
            for leaf in result.leaves
        ):
            results = self._second_pass(results, depth)
        lines = [str(result).rstrip("\n") for result in results]
        self.record(depth, lines, lineno, kind, opens_block)

    def _second_pass(self, results: list[Line], depth: int) -> list[Line]:
        """black formats its own output once more when the first pass changed anything (format_str): the
        commas a split added are then in the source (a magic trailing comma), and the invisible parentheses a
        split showed are real ones, but around a statement's part, which black makes invisible again. The
        same line, read so, split again."""
        line = Line(depth)
        brackets: list[Leaf] = []
        for result in results:
            for old in result.leaves:
                leaf = old.copy(old.space if line.leaves else "")
                if old.optional and old.statement:
                    leaf.value = ""
                elif old.optional and old.value:
                    leaf.optional = False
                if old.added and brackets and brackets[-1].kind == "(" and not brackets[-1].atom:
                    leaf.arglist = True  # a comma in a call's or signature's parentheses
                if leaf.kind in OPENING:
                    brackets.append(leaf)
                elif leaf.kind in CLOSING and brackets:
                    brackets.pop()
                line.append(leaf, preformatted=False)
                for comment in result.comments.get(id(old), ()):
                    line.append_comment(comment)
        return list(transform_line(line, self.features))

    def tokens(self) -> _Tokens:
        return _Tokens(self.source)

    def comment_of(self, node: ast.stmt, lineno: Optional[int] = None) -> Optional[str]:
        lineno = node.lineno if lineno is None else lineno
        if lineno not in self.source.comments:
            return None
        return self.source.trailing_comment(lineno, self.module.strings())

    # blocks -----------------------------------------------------------------------------------------------

    def block(self, body: list[ast.stmt], depth: int, docstring_allowed: bool, header: int = 0) -> None:
        """The statements of a block whose header is on line ``header`` (0: the piece's top level)."""
        previous = None
        for i, node in enumerate(body):
            self._indent = node.col_offset
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            comments = self._comments_above(first, previous.end_lineno if previous else header)
            for k, comment in enumerate(comments):
                self.record(depth, ["    " * depth + comment], first - len(comments) + k, "comment")
            if i == 0 and docstring_allowed and _is_docstring(node):
                self.docstring(node, depth)
            else:
                self.statement(node, depth)
            previous = node

    def _comments_above(self, first: int, previous_end: int) -> list[str]:
        comments: list[str] = []
        lineno = first - 1
        while lineno >= 1 and lineno > previous_end:
            raw = self.source.lines[lineno - 1]
            text = raw.strip()
            if text.startswith("#") and len(raw) - len(raw.lstrip()) != self._indent:
                raise Unsupported("a comment indented otherwise than its statement")
            if text.startswith("#"):
                if not text.startswith("# "):
                    raise Unsupported("a comment black would respace")
                comments.insert(0, text)
            elif text:
                raise Unsupported("text between statements")
            else:
                break
            lineno -= 1
        if lineno >= 1 and lineno > previous_end:
            # a blank line above the comments: further comments there are not ours to place
            above = lineno - 1
            while above >= 1 and above > previous_end:
                if self.source.lines[above - 1].strip():
                    raise Unsupported("comments apart from their statement")
                above -= 1
        return comments

    def docstring(self, node: ast.Expr, depth: int) -> None:
        text = self.source.segment(node.value)
        if not text.startswith('"""') or not text.endswith('"""') or len(text) < 6:
            raise Unsupported("a docstring not in triple double quotes")
        indent = "    " * depth
        body = text[3:-3]
        if "\\\n" in body or re.search(r"\\\s*\n", body):
            raise Unsupported("a backslash at the end of a docstring line")
        if "\n" in body:
            body = _fix_docstring(body, indent)
        else:
            body = body.strip()
        if body:
            if body[0] == '"':
                body = " " + body
            if body[-1] == '"':
                body += " "
            if body[-1] == "\\":
                raise Unsupported("a docstring ending in a backslash")
        elif text[3:-3]:
            body = " "
        lines = body.splitlines()
        last_length = len(lines[-1]) if body and not body.endswith("\n") else 0
        if len(lines) > 1 and last_length + 3 > LINE_LENGTH:
            value = '"""' + body + "\n" + indent + '"""'
        else:
            value = '"""' + body + '"""'
        self.record(depth, (indent + value).split("\n"), node.lineno, "docstring")
        if self.comment_of(node, node.end_lineno):
            raise Unsupported("a comment after a docstring")

    def statement(self, node: ast.stmt, depth: int) -> None:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"statement {type(node).__name__}")
        method(node, depth)

    def simple(self, node: ast.AST, depth: int, tokens: _Tokens, kind: str = "") -> None:
        comments = [self.comment_of(node, n) for n in range(node.lineno, node.end_lineno + 1)]
        if node.end_lineno != node.lineno and any(comments):
            raise Unsupported("a comment inside a statement over several lines")
        self.emit(tokens, depth, node.lineno, comments[0], kind)

    def _Expr(self, node: ast.Expr, depth: int) -> None:
        t = self.tokens()
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str) or isinstance(value, ast.JoinedStr):
            raise Unsupported("a string statement (black may take it for a docstring)")
        if isinstance(value, ast.BinOp) and isinstance(
            value.op, (ast.Add, ast.Sub, ast.LShift, ast.RShift, ast.BitXor, ast.BitAnd)
        ):
            t.wrapped(value)  # black's visit_simple_stmt: `is_arith_like`
        else:
            t.expr(value, space=False, level=_TUPLE)
        self.simple(node, depth, t)

    def _Assign(self, node: ast.Assign, depth: int) -> None:
        t = self.tokens()
        for i, target in enumerate(node.targets):
            if i == 0:
                self._assignment_target(t, target)
            else:  # black's normalize_invisible_parens: whatever follows an `=`
                t.wrapped(target)
            t.leaf("=")
        t.wrapped(node.value)
        self.simple(node, depth, t)

    def _assignment_target(self, t: _Tokens, target: ast.expr) -> None:
        if isinstance(target, ast.Tuple):
            t.open("(", bool(t.leaves), atom=True, visible=False)
            for i, elt in enumerate(target.elts):
                if i:
                    t.comma()
                t.expr(elt, space=i > 0, level=_ATOM)
            if len(target.elts) == 1:
                raise Unsupported("a one-tuple target")
            t.close(")", visible=False)
        else:
            t.expr(target, space=bool(t.leaves), level=_ATOM)

    def _AugAssign(self, node: ast.AugAssign, depth: int) -> None:
        t = self.tokens()
        t.expr(node.target, space=False, level=_ATOM)
        t.leaf(_AUGMENTED[type(node.op)])
        t.wrapped(node.value)
        self.simple(node, depth, t)

    def _AnnAssign(self, node: ast.AnnAssign, depth: int) -> None:
        if not node.simple:
            raise Unsupported("a parenthesised annotated target")
        t = self.tokens()
        t.expr(node.target, space=False, level=_ATOM)
        t.leaf(":", space=False)
        t.wrapped(node.annotation)
        if node.value is not None:
            t.leaf("=")
            t.wrapped(node.value)
        self.simple(node, depth, t)

    def _Return(self, node: ast.Return, depth: int) -> None:
        t = self.tokens()
        t.keyword("return", space=False)
        if node.value is not None:
            t.wrapped(node.value)
        self.simple(node, depth, t)

    def _Raise(self, node: ast.Raise, depth: int) -> None:
        if node.cause is not None:
            raise Unsupported("raise ... from")
        t = self.tokens()
        t.keyword("raise", space=False)
        if node.exc is not None:
            t.expr(node.exc, level=_TUPLE)
        self.simple(node, depth, t)

    def _Pass(self, node: ast.stmt, depth: int) -> None:
        t = self.tokens()
        t.keyword(type(node).__name__.lower(), space=False)
        self.simple(node, depth, t)

    _Break = _Continue = _Pass

    def _Import(self, node: ast.Import, depth: int) -> None:
        t = self.tokens()
        t.keyword("import", space=False)
        for i, alias in enumerate(node.names):
            if i:
                t.comma()
            self._alias(t, alias)
        self._short_or_unsupported(node, depth, t)

    def _ImportFrom(self, node: ast.ImportFrom, depth: int) -> None:
        t = self.tokens()
        t.keyword("from", space=False)
        t.leaf(NAME, "." * node.level + (node.module or ""))
        t.keyword("import")
        for i, alias in enumerate(node.names):
            if i:
                t.comma()
            self._alias(t, alias)
        self._short_or_unsupported(node, depth, t)

    def _alias(self, t: _Tokens, alias: ast.alias) -> None:
        t.leaf(NAME, alias.name)
        if alias.asname:
            t.keyword("as")
            t.leaf(NAME, alias.asname)

    def _short_or_unsupported(self, node: ast.stmt, depth: int, t: _Tokens) -> None:
        line = Line(depth)
        for leaf in t.leaves:
            line.append(leaf, preformatted=False)
        if not _short_enough(line) or self.comment_of(node):
            raise Unsupported("a long import")
        self.record(depth, [_line_str(line)], node.lineno, "import")

    def _If(self, node: ast.If, depth: int, keyword: str = "if") -> None:
        t = self.tokens()
        t.keyword(keyword, space=False)
        t.wrapped(node.test)
        t.leaf(":", space=False)
        self.emit(t, depth, node.lineno, self.comment_of(node), keyword, opens_block=True)
        self.block(node.body, depth + 1, False, node.lineno)
        orelse = node.orelse
        if not orelse:
            return
        first = orelse[0]
        if len(orelse) == 1 and isinstance(first, ast.If) and self._is_elif(first):
            self._If(first, depth, "elif")
            return
        self._else(orelse, depth)

    def _is_elif(self, node: ast.If) -> bool:
        line = self.source.lines[node.lineno - 1]
        return line[self.source._column(node.lineno, node.col_offset) :].startswith("elif")

    def _else(self, body: list[ast.stmt], depth: int) -> None:
        lineno = min(n.lineno for n in body) - 1
        while lineno >= 1 and self.source.lines[lineno - 1].strip() != "else:":
            if self.source.lines[lineno - 1].strip():
                raise Unsupported("an else clause written otherwise")
            lineno -= 1
        if lineno < 1:
            raise Unsupported("an else clause written otherwise")
        self.record(depth, ["    " * depth + "else:"], lineno, "else", opens_block=True)
        self.block(body, depth + 1, False, lineno)

    def _For(self, node: ast.For, depth: int) -> None:
        if node.orelse:
            raise Unsupported("for ... else")
        t = self.tokens()
        t.keyword("for", space=False)
        if isinstance(node.target, ast.Tuple) and len(node.target.elts) == 1:
            t._Tuple(node.target, True)  # black writes a one-tuple target `(a,)`
        else:
            t.open("(", True, atom=True, visible=False)
            t._target(node.target, space=False, wrapped=True)
            t.close(")", visible=False)
        t.keyword("in")
        t.wrapped(node.iter)
        t.leaf(":", space=False)
        self.emit(t, depth, node.lineno, self.comment_of(node), "for", opens_block=True)
        self.block(node.body, depth + 1, False, node.lineno)

    def _While(self, node: ast.While, depth: int) -> None:
        if node.orelse:
            raise Unsupported("while ... else")
        t = self.tokens()
        t.keyword("while", space=False)
        t.wrapped(node.test)
        t.leaf(":", space=False)
        self.emit(t, depth, node.lineno, self.comment_of(node), "while", opens_block=True)
        self.block(node.body, depth + 1, False, node.lineno)

    def _decorators(self, node, depth: int) -> None:
        for decorator in node.decorator_list:
            t = self.tokens()
            t.leaf("@", space=False)
            t.expr(decorator, space=False, level=_ATOM)
            self.simple(decorator, depth, t, "decorator")

    def _FunctionDef(self, node: ast.FunctionDef, depth: int) -> None:
        _refuse_stub(node)
        if node.returns is not None or getattr(node, "type_params", None):
            raise Unsupported("a return annotation or type parameters")
        self._decorators(node, depth)
        t = self.tokens()
        t.keyword("def", space=False)
        t.leaf(NAME, node.name)
        t.open("(", space=False)
        self._parameters(t, node.args)
        t.close(")")
        t.leaf(":", space=False)
        self.emit(t, depth, node.lineno, self.comment_of(node), "def", opens_block=True)
        self.block(node.body, depth + 1, True, node.lineno)

    def _parameters(self, t: _Tokens, args: ast.arguments) -> None:
        if args.posonlyargs or args.kwonlyargs:
            raise Unsupported("positional-only or keyword-only parameters")
        defaults = [None] * (len(args.args) - len(args.defaults)) + list(args.defaults)
        items = 0
        for arg, default in zip(args.args, defaults):
            if arg.annotation is not None:
                raise Unsupported("an annotated parameter")
            if items:
                t.comma(arglist=True)
            t.leaf(NAME, arg.arg, space=items > 0)
            if default is not None:
                t.leaf("=", space=False)
                t.expr(default, space=False)
            items += 1
        for star, arg in (("*", args.vararg), ("**", args.kwarg)):
            if arg is None:
                continue
            if arg.annotation is not None:
                raise Unsupported("an annotated parameter")
            if items:
                t.comma(arglist=True)
            t.leaf(star, space=items > 0).vararg = True
            t.leaf(NAME, arg.arg, space=False)
            items += 1

    def _ClassDef(self, node: ast.ClassDef, depth: int) -> None:
        _refuse_stub(node)
        if node.keywords or getattr(node, "type_params", None):
            raise Unsupported("class keywords or type parameters")
        self._decorators(node, depth)
        t = self.tokens()
        t.keyword("class", space=False)
        t.leaf(NAME, node.name)
        if node.bases:
            t.open("(", space=False)
            for i, base in enumerate(node.bases):
                if i:
                    t.comma(arglist=True)
                t.expr(base, space=i > 0)
            t.close(")")
        t.leaf(":", space=False)
        self.emit(t, depth, node.lineno, self.comment_of(node), "class", opens_block=True)
        self.block(node.body, depth + 1, True, node.lineno)


class _Record:
    """A logical line for the blank-line rules: its depth, printed lines, the blank lines the user left above
    it, and what it is ("def", "class", "decorator", "comment", "docstring", "import", its keyword, or "")."""

    __slots__ = ("depth", "lines", "user_before", "kind", "opens_block", "before", "after", "previous")

    def __init__(self, depth: int, lines: list[str], user_before: int, kind: str, opens_block: bool):
        self.depth, self.lines, self.user_before = depth, lines, user_before
        self.kind, self.opens_block = kind, opens_block
        self.before = self.after = 0
        self.previous: Optional[_Record] = None


class _EmptyLines:
    """black's EmptyLineTracker (lines.py), for .py files: the blank lines before and after each logical line."""

    def __init__(self):
        self.previous_line: Optional[_Record] = None
        self.previous_block: Optional[_Record] = None
        self.previous_defs: list[_Record] = []
        self.semantic_leading_comment: Optional[_Record] = None

    def place(self, current: _Record) -> None:
        before, after = self._maybe_empty_lines(current)
        previous_after = self.previous_block.after if self.previous_block else 0
        current.before, current.after = max(0, before - previous_after), after
        current.previous = self.previous_block
        if current.kind == "comment":
            previous = self.previous_line
            if previous is None or (
                previous.kind != "decorator"
                and (previous.kind != "comment" or current.before)
                and (self.semantic_leading_comment is None or current.before)
            ):
                self.semantic_leading_comment = current
        elif current.kind != "decorator" or current.before:
            self.semantic_leading_comment = None
        self.previous_line = current
        self.previous_block = current

    def _maybe_empty_lines(self, current: _Record) -> tuple[int, int]:
        depth = current.depth
        before = min(current.user_before, 1 if depth else 2)
        user_had_newline = bool(before)
        previous_def = None
        while self.previous_defs and self.previous_defs[-1].depth >= depth:
            previous_def = self.previous_defs.pop()
        if current.kind in ("def", "class"):
            self.previous_defs.append(current)
        previous = self.previous_line
        if previous is None:
            return 0, 0
        if current.kind == "docstring":
            if previous.kind == "class":
                return 0, 1
            if previous.opens_block and previous.kind == "def":
                return 0, 0
        if previous_def is not None:
            if depth:
                before = 1
            elif (
                previous_def.depth
                and current.opens_block
                and current.kind not in ("with", "try", "for", "while", "if", "match")
            ):
                before = 1
            else:
                before = 2
        if current.kind in ("decorator", "def", "class"):
            return self._for_class_or_def(current, before, user_had_newline)
        if previous.kind == "import" and previous.depth == 0 and depth == 0 and current.kind != "import":
            return 1, 0
        if previous.kind == "import" and current.kind != "import" and depth == previous.depth:
            return (before or 1), 0
        return before, 0

    def _for_class_or_def(self, current: _Record, before: int, user_had_newline: bool) -> tuple[int, int]:
        previous = self.previous_line
        if previous.kind == "decorator":
            return 0, 0
        if previous.depth < current.depth and previous.kind in ("class", "def"):
            return (1 if user_had_newline else 0), 0
        comment_to_add_newlines = None
        if previous.kind == "comment" and previous.depth == current.depth and before == 0:
            slc = self.semantic_leading_comment
            if (
                slc is not None
                and slc.previous is not None
                and slc.previous.kind != "class"
                and not slc.previous.opens_block
                and slc.before <= 1
            ):
                comment_to_add_newlines = slc
            else:
                return 0, 0
        newlines = 1 if current.depth else 2
        if comment_to_add_newlines is not None and comment_to_add_newlines.previous is not None:
            comment_to_add_newlines.before = (
                max(comment_to_add_newlines.before, newlines) - comment_to_add_newlines.previous.after
            )
            newlines = 0
        return newlines, 0


def _refuse_stub(node: ast.stmt) -> None:
    """`def f(): ...`: black's stub rules (one line, its blank lines) are not ported."""
    if any(
        isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and n.value.value is Ellipsis for n in node.body
    ):
        raise Unsupported("a body of `...`")


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _fix_docstring(docstring: str, indent: str) -> str:
    """black's fix_multiline_docstring: the lines after the first re-indented to ``indent``, trailing
    whitespace dropped."""
    lines = [_expand_leading_tabs(line) for line in re.split(r"\r\n|\r|\n", docstring)]
    common = sys.maxsize
    for line in lines[1:]:
        stripped = line.lstrip()
        if stripped:
            common = min(common, len(line) - len(stripped))
    trimmed = [lines[0].strip()]
    if common < sys.maxsize:
        last = len(lines) - 2
        for i, line in enumerate(lines[1:]):
            stripped = line[common:].rstrip()
            trimmed.append(indent + stripped if stripped or i == last else "")
    return "\n".join(trimmed)


def _expand_leading_tabs(line: str) -> str:
    stripped = line.lstrip()
    if not stripped or stripped == line:
        return line
    return line[: len(line) - len(stripped)].expandtabs(4) + stripped


# -- pieces -------------------------------------------------------------------------------------------------


def features_of(tree: ast.Module) -> frozenset:
    """What black lets itself write for this module: a trailing comma after *args/**kwargs needs Python 3.6+,
    which black infers from an f-string. Without one, black may still infer it from other syntax; where the
    choice arises then, _delimiter_split declines."""
    has_fstring = any(isinstance(node, ast.JoinedStr) for node in ast.walk(tree))
    return frozenset({"trailing_comma_after_varargs"}) if has_fstring else frozenset()


class Module:
    """A module's text and tree, laid out piece by piece (see formatting._cut)."""

    def __init__(self, text: str, tree: ast.Module):
        self.source = _Source(text)
        self.tree = tree
        self.features = features_of(tree)
        self._strings: Optional[list[ast.AST]] = None

    def strings(self) -> list[ast.AST]:
        if self._strings is None:
            self._strings = [
                n
                for n in ast.walk(self.tree)
                if isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
            ]
        return self._strings

    def lay_out(self, statements: list[ast.stmt], end: int) -> str:
        """Black's output for the piece of these top-level statements (its text ends before line ``end`` + 1),
        without its final newline; raises Unsupported."""
        writer = _Writer(self)
        first = min([statements[0].lineno] + [d.lineno for d in getattr(statements[0], "decorator_list", [])])
        writer.block(statements, 0, False, first - 1 - self._comment_lines_above(first))
        if any(line.strip() for line in self.source.lines[statements[-1].end_lineno : end]):
            raise Unsupported("comments after the last statement")
        tracker = _EmptyLines()
        for record in writer.records:
            tracker.place(record)
        out: list[str] = []
        for record in writer.records:
            out += [""] * record.before + record.lines + [""] * record.after
        return "\n".join(out).strip("\n")

    def _comment_lines_above(self, first: int) -> int:
        count = 0
        while first - 2 - count >= 0 and self.source.lines[first - 2 - count].strip().startswith("#"):
            count += 1
        return count
