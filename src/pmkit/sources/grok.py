"""Grok expressions as one polars regex, and the ``grok`` logs format.

**Expansion.** ``%{NAME}``, ``%{NAME:field}`` and ``%{NAME:field:int|float}`` are
expanded recursively from pygrok's pattern library (the files shipped inside the
installed ``pygrok`` package, read in sorted order, later definitions winning as in
pygrok) plus the source's custom patterns (``patterns:`` NAME -> regex, which may use
``%{OTHER}``; they override library names). The result is ONE regex whose named
groups are the captures. Field names may be any text without ``:`` or ``}``
(``client.ip`` works); raw ``(?P<name>...)`` / ``(?<name>...)`` groups are captures
too. The expression is anchored (``^(?:...)$``) unless it anchors itself with a
leading ``^`` or trailing ``$``, or ``options: {anchored: false}`` asks otherwise:
unanchored grok is slow on lines it cannot parse.

**Translation for polars.** Polars runs Rust's ``regex`` crate, which has no
look-arounds, atomic groups, possessive quantifiers or back-references, and pygrok's
library uses the first three (IPV4, NUMBER/BASE10NUM, QUOTEDSTRING/QS, YEAR, TIME...).
The expanded regex is parsed into a syntax tree (CPython's own regex parser) and
re-emitted in Rust syntax, where each construct is removed only when it provably
cannot change the match:

- a negative look-behind ``(?<!X)`` is dropped when the characters that can come
  just before it anywhere in the expression (or "start of text") are disjoint from
  the characters X can end with; a negative look-ahead ``(?!X)`` when what can come
  just after it (or "end of text", which the anchoring makes exact) is disjoint from
  what X can start with. Whenever the assertion would fail, the neighbouring element
  fails too, so the successful paths and their priority order are unchanged. This
  covers IPV4's digit boundaries and TIME's ``(?!<[0-9])`` typo in anchored contexts;
- an atomic group or possessive quantifier is dropped when its body can match only
  one way (fixed length, no alternation);
- three library patterns get hand-written equivalents whose remaining assertions are
  the conditions under which they equal the original (checked as above):
  ``BASE10NUM`` (atomic group: equal when what follows cannot be a digit or ``.``,
  since any shorter match would then be followed by one), ``QUOTEDSTRING`` (unrolled
  loops ``"(?:[^"\\\\]|\\\\.)*"``: the quoted string has one match at any position) and
  ``WINPATH``. Custom patterns of the same name replace them.

``\\w``, ``\\s``, ``\\d`` and ``\\b`` keep the Unicode meaning they have in the
``regex`` module pygrok runs on, which Rust's engine shares. Lines that are pure ASCII
go through a second translation with ASCII classes and word boundaries, equal there
and 2-3x faster in Rust's engine; the other lines through the Unicode one.

Anything else (a positive look-around, an assertion whose neighbours are not
disjoint, back-references) has no translation: the source is then parsed line by
line with Python's ``re`` (2x faster than the ``regex`` module; ``regex`` still takes
the lines outside plain ASCII, where the two differ, and every line when ``re`` cannot
compile the expression), and the load notes say so and why. Equivalence with pygrok is tested on the loghub
samples and on generated strings (``tests/sources/test_grok.py``).

**Events.** The capture ``ts`` (or ``timestamp``) is the event time, parsed with
:func:`pmkit.timeutil` rules (``ts_format``/``timezone``; year-less formats such as
``%b %d %H:%M:%S`` get the year rule of :mod:`pmkit.sources.syslog`). ``level``,
``message`` and ``service`` map to their columns; every other capture goes to
``attrs`` (JSON, sorted keys, null captures left out, ``:int``/``:float`` captures as
numbers). Without a ``message`` capture the message is the whole line. A line that
does not match is rejected ("does not match the grok pattern").

**Levels** are normalised to debug, info, warning, error, critical by the one table of
:mod:`pmkit.sources.levels` (trace/debug/fine*/verbose and Android ``V``/``D`` -> debug;
info/notice/config and ``I`` -> info; warn/warning/WRN and ``W`` -> warning; error/err/severe
and ``E`` -> error; critical/crit/fatal/emerg/alert/panic and ``F``/``A`` -> critical; pino
numbers). An unknown word leaves the level null and is kept in ``attrs.level_raw``.

**Multi-line** (``options: {multiline: ...}``): ``true`` joins lines that do not match
the pattern to the previous matching line; a regex string marks head lines (those it
matches at their start). The continuation lines go to ``attrs.continuation``.

**Presets** (``options: {preset: hdfs}``): :data:`PRESETS`, one per loghub system
(see ``docs/loghub-agreement.md`` for how well each agrees with loghub's ground truth).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from re import _constants as _C  # type: ignore[attr-defined]
from re import _parser as _P  # type: ignore[attr-defined]
from typing import Any

import polars as pl
import pygrok
import regex as regex_module

from pmkit import schema, timeutil
from pmkit.errors import PmkitError, SourceError
from pmkit.sources import multiline, textio
from pmkit.sources.base import LoadRequest, LoadResult, dedupe_notes, load_files, origin_expr
from pmkit.sources.levels import level_expr
from pmkit.sources.registry import register

PATTERNS_DIR = Path(pygrok.__file__).resolve().parent / "patterns"
MATCHED = "_m"  # the empty group that says a line matched
TYPES = ("int", "float")


class GrokError(PmkitError, ValueError):
    """A grok expression cannot be expanded or compiled."""


# --------------------------------------------------------------------------- library


@functools.cache
def library() -> dict[str, str]:
    """pygrok's pattern library, NAME -> regex text (files in sorted order; later wins)."""
    pats: dict[str, str] = {}
    for path in sorted(PATTERNS_DIR.iterdir()):
        if not path.is_file():
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, _, body = line.partition(" ")
            pats[name] = body.strip()
    return pats


# Hand-written Rust-compatible equivalents. Their assertions are the *conditions* under
# which they equal the original; the translator drops them only when the context proves
# them redundant, and otherwise the original pattern is run by the Python fallback.
RUST_OVERRIDES: dict[str, str] = {
    # (?>...) around a number: equal when what follows cannot be [0-9.]; any shorter
    # match of the group would be followed by one of those.
    "BASE10NUM": r"(?<![0-9.+-])[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?![0-9.])",
    # a quoted string has exactly one match at a position (backslash always pairs with
    # the next character), so the atomic groups change nothing; unrolled loops.
    "QUOTEDSTRING": r"(?<!\\)(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)",
    # letters must be followed by ':', so the atomic alternatives match one way only.
    "WINPATH": r"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+",
}

_REF_RX = re.compile(r"%\{(?P<name>\w+)(?::(?P<field>[^:{}]+))?(?::(?P<type>\w+))?\}")
_NAMED_RX = re.compile(r"(?<!\\)\(\?P?<(?P<name>[A-Za-z_]\w*)>")
_BACKREF_RX = re.compile(r"\(\?P=(?P<name>[A-Za-z_]\w*)\)")


class _Expander:
    """Expands grok references; numbers captures ``_g0``, ``_g1``... in order of appearance."""

    def __init__(self, pats: Mapping[str, str], overrides: Mapping[str, str]) -> None:
        self.pats = pats
        self.overrides = overrides
        self.groups: list[tuple[str, str, str | None]] = []  # (group, field, type)
        self.used: set[str] = set()
        self._last: dict[str, str] = {}

    def _group(self, name: str, typ: str | None) -> str:
        group = f"_g{len(self.groups)}"
        self.groups.append((group, name, typ))
        self._last[name] = group
        return group

    def _raw(self, text: str) -> str:
        text = _NAMED_RX.sub(lambda m: f"(?P<{self._group(m['name'], None)}>", text)
        return _BACKREF_RX.sub(lambda m: f"(?P={self._last.get(m['name'], m['name'])})", text)

    def expand(self, text: str, stack: tuple[str, ...] = ()) -> str:
        out: list[str] = []
        pos = 0
        for m in _REF_RX.finditer(text):
            out.append(self._raw(text[pos : m.start()]))
            name, fld, typ = m["name"], m["field"], m["type"]
            if name in stack:
                raise GrokError(f"grok pattern {name} refers to itself: {' -> '.join((*stack, name))}")
            body = self.overrides.get(name, self.pats.get(name))
            if body is None:
                close = difflib.get_close_matches(name, list(self.pats), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise GrokError(
                    f"unknown grok pattern %{{{name}}}{hint} (define it under `patterns:` or pick one of "
                    f"pygrok's {len(self.pats)} patterns in {PATTERNS_DIR})"
                )
            if typ is not None and typ not in TYPES:
                raise GrokError(f"%{{{m.group(0)[2:-1]}}}: unknown type {typ!r}; expected int or float")
            self.used.add(name)
            if fld is not None:
                group = self._group(fld, typ)
                out.append(f"(?P<{group}>{self.expand(body, (*stack, name))})")
            else:
                out.append(f"(?:{self.expand(body, (*stack, name))})")
            pos = m.end()
        out.append(self._raw(text[pos:]))
        return "".join(out)


def _anchor(expr: str, anchored: bool) -> str:
    """Wrap in ``^(?:...)$`` unless the expression anchors itself (or anchoring is off)."""
    s = expr.strip()
    if not anchored or s.startswith(("^", r"\A")) or (s.endswith("$") and not s.endswith(r"\$")):
        return expr
    return f"^(?:{expr})$"


# ------------------------------------------------------------------- translation


class _Untranslatable(Exception):
    """A construct with no Rust equivalent in its context: ``kind`` and ``detail``."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind, detail or kind)
        self.kind = kind
        self.detail = detail or kind

    def __str__(self) -> str:
        return self.detail


_ASCII_ALL = (1 << 128) - 1


@dataclass(frozen=True)
class _CS:
    """A conservative character set: ASCII bits, "maybe non-ASCII", start/end of text."""

    mask: int = 0
    other: bool = False
    start: bool = False
    end: bool = False

    def __or__(self, o: _CS) -> _CS:
        return _CS(self.mask | o.mask, self.other or o.other, self.start or o.start, self.end or o.end)

    def meets(self, o: _CS) -> bool:
        return bool(self.mask & o.mask) or (self.other and o.other) or (self.start and o.start) or (self.end and o.end)


_EMPTY = _CS()
_ANYCHAR = _CS(_ASCII_ALL, True)
_NEWLINE = 1 << 10


def _bits(lo: int, hi: int) -> int:
    hi = min(hi, 127)
    return 0 if lo > hi else ((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1)


_DIGITS = _bits(48, 57)
_WORD = _DIGITS | _bits(65, 90) | _bits(97, 122) | (1 << 95)
_SPACE = _bits(9, 13) | _bits(28, 31) | (1 << 32)
_CATEGORIES = {
    _C.CATEGORY_DIGIT: _CS(_DIGITS, True),
    _C.CATEGORY_NOT_DIGIT: _CS(_ASCII_ALL & ~_DIGITS, True),
    _C.CATEGORY_SPACE: _CS(_SPACE, True),
    _C.CATEGORY_NOT_SPACE: _CS(_ASCII_ALL & ~_SPACE, True),
    _C.CATEGORY_WORD: _CS(_WORD, True),
    _C.CATEGORY_NOT_WORD: _CS(_ASCII_ALL & ~_WORD, True),
}
# Category texts (top level, inside a class). Rust's \w, \s, \d and \b have the Unicode
# meaning of the ``regex`` module that pygrok runs on (stdlib ``re`` differs: its \w takes
# superscript digits and leaves out combining marks, its \s takes \x1c-\x1f). The ASCII
# set is used on pure-ASCII lines, where it means the same and keeps the regex engine on
# its fast byte-based paths.
_CATEGORY_TEXT = {
    _C.CATEGORY_DIGIT: (r"\d", r"\d"),
    _C.CATEGORY_NOT_DIGIT: (r"\D", r"\D"),
    _C.CATEGORY_SPACE: (r"\s", r"\s"),
    _C.CATEGORY_NOT_SPACE: (r"\S", r"\S"),
    _C.CATEGORY_WORD: (r"\w", r"\w"),
    _C.CATEGORY_NOT_WORD: (r"\W", r"\W"),
}
_CATEGORY_ASCII = {
    _C.CATEGORY_DIGIT: ("[0-9]", "0-9"),
    _C.CATEGORY_NOT_DIGIT: ("[^0-9]", "[^0-9]"),
    _C.CATEGORY_SPACE: (r"[\t-\r ]", r"\t-\r "),
    _C.CATEGORY_NOT_SPACE: (r"[^\t-\r ]", r"[^\t-\r ]"),
    _C.CATEGORY_WORD: ("[0-9A-Za-z_]", "0-9A-Za-z_"),
    _C.CATEGORY_NOT_WORD: ("[^0-9A-Za-z_]", "[^0-9A-Za-z_]"),
}
_AT_TEXT = {
    _C.AT_BEGINNING: "^",
    _C.AT_BEGINNING_STRING: r"\A",
    _C.AT_END: "$",
    _C.AT_END_STRING: r"\z",
    _C.AT_BOUNDARY: r"\b",
    _C.AT_NON_BOUNDARY: r"\B",
}
_AT_ASCII = {**_AT_TEXT, _C.AT_BOUNDARY: r"(?-u:\b)", _C.AT_NON_BOUNDARY: r"(?-u:\B)"}
_REPEATS = (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT)
_RUST_META = set("\\.+*?()|[]{}^$#&-~")
_RUST_CLASS_META = set("\\[]^-&~")
_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


def _char_text(c: int, meta: set[str]) -> str:
    ch = chr(c)
    if ch in meta:
        return "\\" + ch
    if ch == "\n":
        return r"\n"
    if ch == "\t":
        return r"\t"
    if ch == "\r":
        return r"\r"
    if not ch.isprintable() or (ch.isspace() and ch != " "):
        return f"\\x{{{c:x}}}"
    return ch


class _Translator:
    """Rust-syntax re-emission of a parsed Python regex, dropping provably redundant constructs."""

    def __init__(self, tree: Any, names: dict[int, str]) -> None:
        self.tree = tree
        self.names = names
        self.categories = _CATEGORY_TEXT
        self.anchors = _AT_TEXT
        flags = tree.state.flags
        if flags & (re.ASCII | re.LOCALE):
            raise _Untranslatable("the ASCII flag")
        self.icase = bool(flags & re.IGNORECASE) or self._any_icase(tree.data)
        self.follow: dict[int, _CS] = {}
        self.precede: dict[int, _CS] = {}
        self._memo: dict[tuple[int, bool], tuple[_CS, bool]] = {}
        self._walked = False

    def _contexts(self) -> None:
        """Compute what can follow/precede every node (once, and only when an assertion needs it)."""
        if not self._walked:
            self._walked = True
            self._walk(self.tree.data, _ANYCHAR | _CS(end=True), True, self.follow)
            self._walk(self.tree.data, _ANYCHAR | _CS(start=True), False, self.precede)

    # -- character sets
    def _any_icase(self, items: Any) -> bool:
        for op, av in items:
            if op is _C.SUBPATTERN:
                if av[1] & re.IGNORECASE or self._any_icase(av[3].data):
                    return True
            elif op is _C.BRANCH:
                if any(self._any_icase(a.data) for a in av[1]):
                    return True
            elif op in _REPEATS:
                if self._any_icase(av[2].data):
                    return True
            elif op is _C.ATOMIC_GROUP and self._any_icase(av.data):
                return True
        return False

    def _char(self, c: int) -> _CS:
        if c > 127:
            return _CS(0, True)
        mask = 1 << c
        if self.icase and chr(c).isalpha():
            return _CS(mask | (1 << ord(chr(c).swapcase())), True)
        return _CS(mask, False)

    def _class(self, items: Any) -> _CS:
        neg, acc = False, _EMPTY
        for op, av in items:
            if op is _C.NEGATE:
                neg = True
            elif op is _C.LITERAL:
                acc |= self._char(av)
            elif op is _C.RANGE:
                acc |= _CS(_bits(av[0], av[1]), av[1] > 127)
            elif op is _C.CATEGORY and av in _CATEGORIES:
                acc |= _CATEGORIES[av]
            else:
                return _ANYCHAR
        mask = acc.mask
        if self.icase:  # ASCII case closure is exact; non-ASCII folds are covered by "other"
            mask |= sum(1 << ord(chr(c).swapcase()) for c in range(128) if mask >> c & 1 and chr(c).isalpha())
        if neg:
            return _CS(_ASCII_ALL & ~mask, True)
        return _CS(mask, acc.other or self.icase)

    def _node(self, op: Any, av: Any, forward: bool) -> tuple[_CS, bool]:
        """(characters the node can start with (forward) or end with, whether it can match empty)."""
        if op is _C.LITERAL:
            return self._char(av), False
        if op is _C.NOT_LITERAL:
            return _CS(_ASCII_ALL & ~(1 << av) if av < 128 else _ASCII_ALL, True), False
        if op is _C.ANY:
            return _ANYCHAR, False
        if op is _C.IN:
            return self._class(av), False
        if op is _C.SUBPATTERN:
            return self._seq(av[3].data, forward)
        if op is _C.ATOMIC_GROUP:
            return self._seq(av.data, forward)
        if op is _C.BRANCH:
            acc, nullable = _EMPTY, False
            for alt in av[1]:
                s, n = self._seq(alt.data, forward)
                acc, nullable = acc | s, nullable or n
            return acc, nullable
        if op in _REPEATS:
            s, n = self._seq(av[2].data, forward)
            return s, av[0] == 0 or n
        if op is _C.AT:
            if forward and av in (_C.AT_END, _C.AT_END_STRING):
                return _CS(_NEWLINE, False, end=True), False
            if not forward and av in (_C.AT_BEGINNING, _C.AT_BEGINNING_STRING):
                return _CS(_NEWLINE, False, start=True), False
            return _EMPTY, True
        if op in (_C.ASSERT, _C.ASSERT_NOT):
            return _EMPTY, True
        return _ANYCHAR | _CS(start=True, end=True), True

    def _seq(self, items: Any, forward: bool) -> tuple[_CS, bool]:
        key = (id(items), forward)
        if key not in self._memo:
            self._memo[key] = self._seq_uncached(items, forward)
        return self._memo[key]

    def _seq_uncached(self, items: Any, forward: bool) -> tuple[_CS, bool]:
        acc = _EMPTY
        for op, av in items if forward else reversed(items):
            s, nullable = self._node(op, av, forward)
            acc |= s
            if not nullable:
                return acc, False
        return acc, True

    def _walk(self, items: Any, ctx: _CS, forward: bool, out: dict[int, _CS]) -> None:
        """Record, for every node, what can follow it (forward) or precede it."""
        cur = ctx
        for node in reversed(items) if forward else items:
            op, av = node
            out[id(node)] = cur
            if op is _C.SUBPATTERN:
                self._walk(av[3].data, cur, forward, out)
            elif op is _C.ATOMIC_GROUP:
                self._walk(av.data, cur, forward, out)
            elif op is _C.BRANCH:
                for alt in av[1]:
                    self._walk(alt.data, cur, forward, out)
            elif op in _REPEATS:
                # inside a loop the body can also be followed (preceded) by another iteration
                edge = self._seq(av[2].data, forward)[0] if av[1] > 1 else _EMPTY
                self._walk(av[2].data, cur | edge, forward, out)
            s, nullable = self._node(op, av, forward)
            cur = s | cur if nullable else s

    # -- emission
    def emit(self, *, ascii_only: bool = False) -> str:
        """The Rust regex; ``ascii_only``: its equivalent on pure-ASCII text (ASCII classes)."""
        self.categories = _CATEGORY_ASCII if ascii_only else _CATEGORY_TEXT
        self.anchors = _AT_ASCII if ascii_only else _AT_TEXT
        flags = "".join(letter for flag, letter in _FLAG_LETTERS if self.tree.state.flags & flag)
        return (f"(?{flags})" if flags else "") + self._emit_seq(self.tree.data)

    def _emit_seq(self, items: Any) -> str:
        return "".join(self._emit(node) for node in items)

    @staticmethod
    def _fixed(items: Any) -> bool:
        for op, av in items:
            if op in (_C.LITERAL, _C.NOT_LITERAL, _C.ANY, _C.IN):
                continue
            if op is _C.AT and av in (_C.AT_BOUNDARY, _C.AT_NON_BOUNDARY):
                continue
            if op is _C.SUBPATTERN and _Translator._fixed(av[3].data):
                continue
            if op is _C.ATOMIC_GROUP and _Translator._fixed(av.data):
                continue
            if op in _REPEATS and av[0] == av[1] and _Translator._fixed(av[2].data):
                continue
            return False
        return True

    def _emit(self, node: Any) -> str:
        op, av = node
        if op is _C.LITERAL:
            return _char_text(av, _RUST_META)
        if op is _C.NOT_LITERAL:
            return "[^" + _char_text(av, _RUST_CLASS_META) + "]"
        if op is _C.ANY:
            return "."
        if op is _C.IN:
            return self._emit_class(av)
        if op is _C.BRANCH:
            return "(?:" + "|".join(self._emit_seq(alt.data) for alt in av[1]) + ")"
        if op is _C.SUBPATTERN:
            group, add, dele, sub = av
            inner = self._emit_seq(sub.data)
            if group is not None and group in self.names:
                return f"(?P<{self.names[group]}>{inner})"
            on = "".join(letter for flag, letter in _FLAG_LETTERS if add & flag)
            off = "".join(letter for flag, letter in _FLAG_LETTERS if dele & flag)
            if (add | dele) & (re.ASCII | re.LOCALE):
                raise _Untranslatable("the ASCII flag")
            return f"(?{on}{'-' + off if off else ''}:{inner})"
        if op in _REPEATS:
            lo, hi, sub = av
            if op is _C.POSSESSIVE_REPEAT and not (lo == hi and self._fixed(sub.data)):
                raise _Untranslatable("possessive quantifier", "a possessive quantifier")
            body = self._emit_seq(sub.data)
            single = len(sub.data) == 1 and sub.data[0][0] in (
                _C.LITERAL,
                _C.NOT_LITERAL,
                _C.ANY,
                _C.IN,
                _C.SUBPATTERN,
                _C.BRANCH,
            )
            if not (single and body):
                body = f"(?:{body})"
            if (lo, hi) == (0, _C.MAXREPEAT):
                q = "*"
            elif (lo, hi) == (1, _C.MAXREPEAT):
                q = "+"
            elif (lo, hi) == (0, 1):
                q = "?"
            elif hi == _C.MAXREPEAT:
                q = f"{{{lo},}}"
            elif lo == hi:
                q = f"{{{lo}}}"
            else:
                q = f"{{{lo},{hi}}}"
            lazy = "?" if op is _C.MIN_REPEAT and lo != hi else ""
            return body + q + lazy
        if op is _C.AT:
            if av not in self.anchors:
                raise _Untranslatable(f"the anchor {av}")
            return self.anchors[av]
        if op is _C.ASSERT_NOT:
            direction, sub = av
            self._contexts()
            if direction == 1:
                first, nullable = self._seq(sub.data, True)
                if not nullable and not first.meets(self.follow[id(node)]):
                    return ""
                raise _Untranslatable(
                    "look-ahead", "a negative look-ahead whose neighbour may start with what it excludes"
                )
            last, nullable = self._seq(sub.data, False)
            if not nullable and not last.meets(self.precede[id(node)]):
                return ""
            raise _Untranslatable("look-behind", "a negative look-behind whose neighbour may end with what it excludes")
        if op is _C.ASSERT:
            kind = "look-ahead" if av[0] == 1 else "look-behind"
            raise _Untranslatable(kind, f"a positive {kind}")
        if op is _C.ATOMIC_GROUP:
            if self._fixed(av.data):
                return "(?:" + self._emit_seq(av.data) + ")"
            raise _Untranslatable("atomic group", "an atomic group that can match more than one way")
        if op in (_C.GROUPREF, _C.GROUPREF_EXISTS):
            raise _Untranslatable("back-reference", "a back-reference")
        raise _Untranslatable(f"the construct {op}")

    def _emit_class(self, items: Any) -> str:
        parts: list[str] = []
        neg = False
        for op, av in items:
            if op is _C.NEGATE:
                neg = True
            elif op is _C.LITERAL:
                parts.append(_char_text(av, _RUST_CLASS_META))
            elif op is _C.RANGE:
                parts.append(_char_text(av[0], _RUST_CLASS_META) + "-" + _char_text(av[1], _RUST_CLASS_META))
            elif op is _C.CATEGORY and av in self.categories:
                if not neg and len(items) == 1:
                    return self.categories[av][0]
                parts.append(self.categories[av][1])
            else:
                raise _Untranslatable(f"the class item {op}")
        return "[" + ("^" if neg else "") + "".join(parts) + "]"


def translate_both(py_regex: str) -> tuple[str, str]:
    """The Rust-syntax equivalents of a Python regex: for any text, and for pure-ASCII text.

    Raises ``_Untranslatable`` (or ``re.error`` when Python's parser refuses the regex).
    """
    tree = _P.parse(py_regex)
    tr = _Translator(tree, {num: name for name, num in tree.state.groupdict.items()})
    return tr.emit(), tr.emit(ascii_only=True)


def translate(py_regex: str, *, ascii_only: bool = False) -> str:
    """The Rust-syntax equivalent of a Python regex (``ascii_only``: on pure-ASCII text)."""
    return translate_both(py_regex)[1 if ascii_only else 0]


def _polars_accepts(rx: str) -> str | None:
    """None when polars compiles ``rx``, else its error text."""
    try:
        pl.Series("x", [""], dtype=pl.String).str.extract_groups(rx)
    except pl.exceptions.PolarsError as exc:
        return str(exc).splitlines()[0]
    return None


# ------------------------------------------------------------------ compiled grok


@dataclass(frozen=True)
class CompiledGrok:
    """A grok expression compiled once, for polars (``regex``) or line by line (``fallback``).

    ``groups`` lists ``(group, field, type)``: the regex names its captures ``_g0``,
    ``_g1``... (so any field name works and a field may appear in several alternatives);
    ``python_regex`` is the pygrok-faithful expansion, ``regex`` its Rust translation
    (None when there is none), ``regex_ascii`` the same for lines that are pure ASCII
    (ASCII classes: equal there, and 2-3x faster) and ``fallback`` the compiled Python
    pattern used when there is no translation.
    """

    expr: str
    python_regex: str
    regex: str | None
    fallback: Any
    groups: tuple[tuple[str, str, str | None], ...]
    notes: tuple[str, ...] = ()
    regex_ascii: str | None = None
    fallback_unicode: Any = None

    @property
    def fields(self) -> tuple[str, ...]:
        """Capture names in order of first appearance."""
        return tuple(dict.fromkeys(f for _, f, _ in self.groups))

    @property
    def types(self) -> dict[str, str]:
        """Field -> ``str``, ``int`` or ``float``."""
        out: dict[str, str] = {}
        for _, fld, typ in self.groups:
            out[fld] = typ or out.get(fld, "str")
        return out

    @property
    def engine(self) -> str:
        """``polars`` (vectorised), ``re`` or ``regex`` (line by line)."""
        if self.regex is not None:
            return "polars"
        return "re" if isinstance(self.fallback, re.Pattern) else "regex"

    def _struct_dtype(self) -> pl.Struct:
        return pl.Struct({MATCHED: pl.String, **{g: pl.String for g, _, _ in self.groups}})

    def groups_expr(self, column: str | pl.Expr = "line") -> pl.Expr:
        """Struct of the raw captures (``_gN``) plus ``_m`` ("" on lines that matched, else null)."""
        col = pl.col(column) if isinstance(column, str) else column
        if self.regex is not None:
            return col.str.extract_groups(self.regex)
        return col.map_batches(self._extract_batch, return_dtype=self._struct_dtype())

    def _extract_batch(self, s: pl.Series) -> pl.Series:
        names = [MATCHED, *(g for g, _, _ in self.groups)]
        search = self.fallback.search
        usearch = self.fallback_unicode.search if self.fallback_unicode is not None else search
        none = (None,) * len(names)
        rows = []
        for text in s.to_list():
            m = None if text is None else search(text) if _plain(text) else usearch(text)
            rows.append(m.group(*names) if m is not None and len(names) > 1 else (("",) if m else none))
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        frame = pl.DataFrame({n: pl.Series(n, list(c), dtype=pl.String) for n, c in zip(names, cols, strict=True)})
        return frame.to_struct(s.name)

    def field_exprs(self, struct: pl.Expr) -> dict[str, pl.Expr]:
        """Field -> typed expression (several groups of one field are coalesced in order)."""
        out: dict[str, pl.Expr] = {}
        for fld in self.fields:
            groups = [(g, t) for g, f, t in self.groups if f == fld]
            exprs = [struct.struct.field(g) for g, _ in groups]
            expr = exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)
            typ = self.types[fld]
            if typ == "int":
                expr = expr.str.strip_chars().cast(pl.Int64, strict=False)
            elif typ == "float":
                expr = expr.str.strip_chars().cast(pl.Float64, strict=False)
            out[fld] = expr.alias(fld)
        return out

    def extract(self, frame: pl.DataFrame | pl.LazyFrame, column: str = "line") -> pl.DataFrame:
        """``frame`` plus ``matched`` (bool) and one typed column per field (``grok.<field>``).

        Capture extraction is the costly part (the regex's match alone runs ~10x faster),
        and polars runs one expression on one chunk in one thread: a big frame is cut
        into chunks so that every core extracts (measured 1.7x on 2 cores).
        """
        if isinstance(frame, pl.DataFrame):
            frame = split_chunks(frame)
        lf = frame.lazy()
        if self.regex is not None and self.regex_ascii not in (None, self.regex):
            lf = self._extract_by_charset(lf, column)
        else:
            lf = lf.with_columns(self.groups_expr(column).alias("__g"))
        s = pl.col("__g")
        cols = [s.struct.field(MATCHED).is_not_null().alias("matched")]
        cols += [e.alias(f"grok.{f}") for f, e in self.field_exprs(s).items()]
        return lf.with_columns(cols).drop("__g").collect()

    def _extract_by_charset(self, lf: pl.LazyFrame, column: str) -> pl.LazyFrame:
        """Pure-ASCII lines through ``regex_ascii``, the others through ``regex`` (null rows skip a regex)."""
        col = pl.col(column)
        non_ascii = col.str.contains(r"[^\x00-\x7F]")
        names = [MATCHED, *(g for g, _, _ in self.groups)]
        a, u = pl.col("__a").struct, pl.col("__u").struct
        return (
            lf.with_columns(
                pl.when(~non_ascii).then(col).str.extract_groups(self.regex_ascii or "").alias("__a"),
                pl.when(non_ascii).then(col).str.extract_groups(self.regex or "").alias("__u"),
            )
            .with_columns(pl.struct([pl.coalesce(a.field(n), u.field(n)).alias(n) for n in names]).alias("__g"))
            .drop("__a", "__u")
        )

    def match(self, text: str) -> dict[str, Any] | None:
        """pygrok-style match of one string (Python engine): field -> value, or None."""
        if self.fallback is not None:
            rx = self.fallback if _plain(text) or self.fallback_unicode is None else self.fallback_unicode
        else:
            rx = _compile_python(self.python_regex)[0 if _plain(text) else 1]
        m = rx.search(text)
        if m is None:
            return None
        out: dict[str, Any] = {}
        for group, fld, typ in self.groups:
            val = m.group(group)
            if val is None and fld in out:
                continue
            if val is not None and typ == "int":
                val = int(val)
            elif val is not None and typ == "float":
                val = float(val)
            out[fld] = val
        return out


def split_chunks(frame: pl.DataFrame, min_rows: int = 20_000) -> pl.DataFrame:
    """The same rows in about two chunks per thread (no copy), so row-wise work runs on every core."""
    n = max(1, min(2 * pl.thread_pool_size(), frame.height // min_rows))
    if n == 1 or frame.n_chunks() >= n:
        return frame
    size = -(-frame.height // n)
    return pl.concat([frame.slice(i, size) for i in range(0, frame.height, size)], rechunk=False)


_NOT_PLAIN = re.compile(r"[^\x00-\x1b\x20-\x7f]")


def _plain(text: str) -> bool:
    """ASCII without \\x1c-\\x1f: where stdlib ``re`` and the ``regex`` module agree on classes."""
    return _NOT_PLAIN.search(text) is None


@functools.lru_cache(maxsize=256)
def _compile_python(rx: str) -> tuple[Any, Any, str]:
    """(pattern for plain lines, pattern for the others, engine name).

    Stdlib ``re`` (2x faster) for plain ASCII lines and the ``regex`` module, pygrok's
    engine, for the rest; ``regex`` for every line when ``re`` refuses the expression.
    """
    try:
        uni = regex_module.compile(rx)
    except regex_module.error as exc:
        uni = None
        err = exc
    try:
        std = re.compile(rx)
        return std, uni or std, "re"
    except re.error:
        if uni is None:
            raise GrokError(f"grok expression does not compile: {err}") from None
        return uni, uni, "regex"


_CONSTRUCTS = {
    "look-behind": re.compile(r"\(\?<[!=]"),
    "look-ahead": re.compile(r"\(\?[!=]"),
    "atomic group": re.compile(r"\(\?>"),
    "back-reference": re.compile(r"\\[1-9]|\(\?P="),
    "possessive quantifier": re.compile(r"[*+?}]\+"),
}


def compile_grok(expr: str, custom: Mapping[str, str] | None = None, *, anchored: bool = True) -> CompiledGrok:
    """Expand and compile a grok expression (cached). See the module docstring for the rules."""
    return _compile_cached(expr, tuple(sorted((custom or {}).items())), anchored)


@functools.lru_cache(maxsize=256)
def _compile_cached(expr: str, custom: tuple[tuple[str, str], ...], anchored: bool) -> CompiledGrok:
    pats = {**library(), **dict(custom)}
    plain = _Expander(pats, {})
    python_regex = f"(?P<{MATCHED}>)" + _anchor(plain.expand(expr), anchored)
    overrides = {k: v for k, v in RUST_OVERRIDES.items() if k not in dict(custom)}
    tr = _Expander(pats, overrides)
    translated_src = f"(?P<{MATCHED}>)" + _anchor(tr.expand(expr), anchored)
    if tr.groups != plain.groups:  # pragma: no cover - overrides never add captures
        raise GrokError("internal error: override changed the captures")
    groups = tuple(plain.groups)
    reason, kind = "", ""
    rust: str | None = None
    rust_ascii: str | None = None
    try:
        rust, rust_ascii = translate_both(translated_src)
    except _Untranslatable as exc:
        reason, kind = exc.detail, exc.kind
    except (re.error, RecursionError, OverflowError) as exc:
        reason = f"Python's parser refused it ({exc})"
    if rust is not None:
        err = _polars_accepts(rust)
        if err is not None:
            reason, rust = f"polars refused the translation ({err})", None
        elif rust_ascii is not None and _polars_accepts(rust_ascii) is not None:
            rust_ascii = None  # pragma: no cover - the ASCII classes are plain sets
    if rust is not None:
        return CompiledGrok(expr, python_regex, rust, None, groups, (), rust_ascii)
    fallback, fallback_unicode, engine = _compile_python(python_regex)
    construct = _CONSTRUCTS.get(kind)
    culprits = sorted(n for n in plain.used if construct is not None and construct.search(pats[n]))
    where = f"pattern {', '.join(culprits)} uses" if culprits else "the expression uses"
    what = f"{where} a {kind} with no polars equivalent here ({reason})" if kind else f"no polars equivalent: {reason}"
    module = (
        "Python's re module (the regex module for lines outside plain ASCII)" if engine == "re" else "the regex module"
    )
    note = f"grok {expr!r}: {what}; parsed line by line with {module}, several times slower"
    unicode = fallback_unicode if fallback_unicode is not fallback else None
    return CompiledGrok(expr, python_regex, None, fallback, groups, (note,), fallback_unicode=unicode)


# --------------------------------------------------------- shared vectorised helpers


def json_value(expr: pl.Expr) -> pl.Expr:
    """Each value as JSON text (strings quoted and escaped, numbers bare, lists as arrays); null stays null."""
    enc = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
    return pl.when(expr.is_not_null()).then(enc)


def json_object(items: Mapping[str, pl.Expr], *, raw: Iterable[str] = ()) -> pl.Expr:
    """A JSON object per row, keys sorted, null values left out; keys in ``raw`` already hold JSON text."""
    raw = set(raw)
    parts = []
    for key in sorted(items):
        val = items[key] if key in raw else json_value(items[key])
        parts.append(pl.concat_str([pl.lit("," + json.dumps(key, ensure_ascii=False) + ":"), val]))
    if not parts:
        return pl.lit("{}")
    body = pl.concat_str(parts, ignore_nulls=True).str.strip_prefix(",")
    return pl.concat_str([pl.lit("{"), body, pl.lit("}")])


_YEAR_TOKENS = ("%Y", "%y", "%G", "%C", "%s", "%+", "%c", "%D", "%F", "%x")
YEARLESS_CANDIDATES = ("%b %d %H:%M:%S%.f", "%m-%d %H:%M:%S%.f", "%m/%d %H:%M:%S%.f", "%m.%d %H:%M:%S%.f")


def is_yearless(fmt: str) -> bool:
    """Whether a strftime format has no year (``%b %d %H:%M:%S``); epoch formats have one."""
    return fmt not in timeutil.EPOCH_UNITS and not any(tok in fmt for tok in _YEAR_TOKENS)


def parse_times(
    values: pl.Series,
    req: LoadRequest,
    *,
    fmt: str | None = None,
    label: str = "",
    rewrites: Sequence[tuple[str, str]] = (),
) -> tuple[pl.Series, list[str]]:
    """Parse a capture to ``Datetime(us, UTC)`` the pmkit way; returns the series and notes.

    ``fmt`` (or ``req.ts_format``) may be year-less: the year then comes from
    :func:`pmkit.sources.syslog.complete_year`. Unreadable values become null.
    """
    from pmkit.sources.syslog import complete_year  # syslog imports this module

    notes: list[str] = []
    for pattern, repl in rewrites:
        values = values.str.replace(pattern, repl)
    fmt = req.ts_format or fmt
    if fmt is None and values.dtype == pl.String:
        guess = timeutil.guess_format(values)
        if guess is None:
            fmt = _guess_yearless(values)
            if fmt is None:
                return pl.Series(values.name, [None] * values.len(), dtype=schema.UTC_TS), notes
        else:
            notes.append(f"{label}timestamp format not given; read as {guess.fmt!r} (set ts_format to be sure)")
    if fmt is not None and values.dtype == pl.String and is_yearless(fmt):
        out, note = complete_year(values, fmt, year=req.year, window=req.window, tz=req.timezone, label=label)
        notes.append(note)
        if req.timezone is None:
            notes.append(f"{label}times carry no UTC offset; read as UTC (set timezone)")
        return out, notes
    out, guess = timeutil.parse_ts(values, fmt, req.timezone)
    used = fmt or (guess.fmt if guess else "")
    naive = used and used not in timeutil.EPOCH_UNITS and used != "epoch_auto" and not timeutil.is_aware(used)
    if req.timezone is None and naive:
        notes.append(f"{label}times carry no UTC offset; read as UTC (set timezone)")
    return out, notes


def _guess_yearless(values: pl.Series) -> str | None:
    sample = values.drop_nulls().head(200).to_frame("v")
    best, hits = None, 0
    for fmt in YEARLESS_CANDIDATES:
        expr = pl.concat_str([pl.lit("2000 "), pl.col("v").str.replace_all(r"\s+", " ")])
        n = sample.select(expr.str.strptime(pl.Datetime("us"), "%Y " + fmt, strict=False).is_not_null().sum()).item()
        if n > hits:
            best, hits = fmt, n
    return best


# ------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class GrokPreset:
    """A named grok setup: the expression, its custom patterns and how to read its time."""

    pattern: str
    description: str
    example: str
    patterns: Mapping[str, str] = field(default_factory=dict)
    ts_format: str | None = None
    ts_rewrite: tuple[tuple[str, str], ...] = ()


PRESETS: dict[str, GrokPreset] = {
    "android": GrokPreset(
        r"%{ANDROID_TS:ts}\s+%{INT:pid:int}\s+%{INT:tid:int} %{ANDROID_LEVEL:level} %{ANDROID_TAG:component}: ?"
        r"%{GREEDYDATA:message}",
        "Android logcat (threadtime): `MM-dd HH:mm:ss.SSS pid tid L tag: msg` (year-less)",
        "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs",
        {"ANDROID_TS": r"\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", "ANDROID_LEVEL": "[VDIWEFA]", "ANDROID_TAG": r"[^:]*?"},
        "%m-%d %H:%M:%S%.f",
    ),
    "apache-error": GrokPreset(
        r"\[%{HTTPDERROR_DATE:ts}\] \[%{LOGLEVEL:level}\] %{APACHE_MESSAGE:message}",
        "Apache 2.0/2.2 error log: `[Sun Dec 04 04:47:44 2005] [notice] msg`",
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
        {"APACHE_MESSAGE": r"(?:\[client %{IPORHOST:client}\] )?%{GREEDYDATA}"},
        "%a %b %d %H:%M:%S %Y",
    ),
    "hdfs": GrokPreset(
        r"%{HDFS_TS:ts} %{INT:pid:int} %{LOGLEVEL:level} %{HDFS_COMPONENT:component}: %{GREEDYDATA:message}",
        "Hadoop HDFS 0.x: `yyMMdd HHmmss pid LEVEL component: msg`",
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660",
        {"HDFS_TS": r"\d{6} \d{6}", "HDFS_COMPONENT": r"[^\s:]+"},
        "%y%m%d %H%M%S",
    ),
    "hadoop": GrokPreset(
        r"%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} \[%{HADOOP_THREAD:thread}\] %{JAVACLASS:component}: "
        r"%{GREEDYDATA:message}",
        "Hadoop/YARN log4j: `yyyy-MM-dd HH:mm:ss,SSS LEVEL [thread] class: msg`",
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
        {"HADOOP_THREAD": r"[^\]]*"},
        "%Y-%m-%d %H:%M:%S%.f",
    ),
    "healthapp": GrokPreset(
        r"%{HEALTH_TS:ts}\|%{HEALTH_COMPONENT:component}\|%{INT:pid:int}\|%{GREEDYDATA:message}",
        "Huawei HealthApp: `yyyyMMdd-H:m:s:S|component|pid|msg` (milliseconds unpadded)",
        "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
        {"HEALTH_TS": r"\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3}", "HEALTH_COMPONENT": r"[^|]*"},
        "%Y%m%d-%H:%M:%S:%3f",
        ((r":(\d)$", ":00${1}"), (r":(\d\d)$", ":0${1}")),
    ),
    "linux": GrokPreset(
        r"%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:host} %{LINUX_PROG:component}(?:\[%{POSINT:pid:int}\])?: "
        r"%{GREEDYDATA:message}",
        "Linux syslog (RFC 3164 without PRI): `Mmm dd HH:MM:SS host prog[pid]: msg` (year-less)",
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0",
        {"LINUX_PROG": r"[^\[:]+?"},
        "%b %d %H:%M:%S",
    ),
    "openssh": GrokPreset(
        r"%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:host} %{PROG:component}\[%{POSINT:pid:int}\]: %{GREEDYDATA:message}",
        "OpenSSH via syslog: `Mmm dd HH:MM:SS host sshd[pid]: msg` (year-less)",
        "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
        {},
        "%b %d %H:%M:%S",
    ),
    "proxifier": GrokPreset(
        r"\[%{PROXIFIER_TS:ts}\] %{PROXIFIER_PROGRAM:program} - %{GREEDYDATA:message}",
        "Proxifier: `[MM.dd HH:mm:ss] program - msg` (year-less)",
        "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
        {"PROXIFIER_TS": r"\d{2}\.\d{2} \d{2}:\d{2}:\d{2}", "PROXIFIER_PROGRAM": r".*?"},
        "%m.%d %H:%M:%S",
    ),
    "spark": GrokPreset(
        r"%{SPARK_TS:ts} %{LOGLEVEL:level} %{SPARK_CLASS:component}: %{GREEDYDATA:message}",
        "Spark log4j default: `yy/MM/dd HH:mm:ss LEVEL class: msg`",
        "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
        {"SPARK_TS": r"\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", "SPARK_CLASS": r"[\w$.]+"},
        "%y/%m/%d %H:%M:%S",
    ),
    "zookeeper": GrokPreset(
        r"%{TIMESTAMP_ISO8601:ts} - %{LOGLEVEL:level}\s+\[%{ZK_THREAD:thread}:%{ZK_CLASS:component}@%{INT:line:int}\]"
        r" - %{GREEDYDATA:message}",
        "ZooKeeper log4j: `yyyy-MM-dd HH:mm:ss,SSS - LEVEL [thread:Class@line] - msg`",
        "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - msg",
        {"ZK_THREAD": r".*", "ZK_CLASS": r"[\w$.]+"},
        "%Y-%m-%d %H:%M:%S%.f",
    ),
}


# -------------------------------------------------------------------------- loader


def _resolve(req: LoadRequest) -> tuple[str, dict[str, str], GrokPreset | None]:
    preset_name = req.options.get("preset")
    preset = None
    if preset_name is not None:
        preset = PRESETS.get(str(preset_name).lower())
        if preset is None:
            close = difflib.get_close_matches(str(preset_name).lower(), list(PRESETS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SourceError(f"unknown grok preset {preset_name!r}{hint} (presets: {', '.join(sorted(PRESETS))})")
    expr = req.pattern or (preset.pattern if preset else None)
    if not expr:
        raise SourceError(
            f"source {req.source!r}: the grok format needs `pattern` (a grok expression such as "
            "'%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}') or `options: {preset: NAME}` "
            f"(one of {', '.join(sorted(PRESETS))})"
        )
    custom = {**(preset.patterns if preset and not req.pattern else {}), **req.patterns}
    return expr, custom, preset if not req.pattern else None


_RESERVED = {"level", "message", "service"}


def load_grok_file(
    path: Path,
    cg: CompiledGrok,
    req: LoadRequest,
    *,
    ts_field: str,
    ts_format: str | None = None,
    ts_rewrite: Sequence[tuple[str, str]] = (),
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, list[str]]:
    """Parse one file: (events, rejects, inputs, parsed_inputs, notes)."""
    lines = textio.read_lines(path)
    origin = str(path)
    ext = cg.extract(lines, "line")
    mode = req.options.get("multiline")
    rejects: list[pl.DataFrame] = []
    if mode in (None, False):
        labelled = multiline.label_records(ext, pl.lit(True))
        bad_lines = ext.filter(~pl.col("matched"))
        rejects.append(multiline.line_rejects(bad_lines, "does not match the grok pattern", origin))
        records = multiline.join_records(labelled.filter(pl.col("matched")))
    else:
        if mode is not True:
            err = _polars_accepts("^(?:" + str(mode) + ")")
            if err is not None:
                raise SourceError(f"source {req.source!r}: options.multiline {mode!r} is not a valid regex: {err}")
        head = pl.col("matched") if mode is True else pl.col("line").str.contains("^(?:" + str(mode) + ")")
        labelled = multiline.label_records(ext, head)
        rejects.append(
            multiline.line_rejects(
                multiline.orphans(labelled), "continuation line before the first record of the file", origin
            )
        )
        records = multiline.join_records(labelled)
        unmatched = records.filter(~pl.col("matched")).select(
            multiline.RECORD, pl.lit("does not match the grok pattern").alias("reason")
        )
        rejects.append(multiline.record_rejects(labelled, unmatched, origin))
        records = records.filter(pl.col("matched"))
    ts, notes = parse_times(
        records.get_column(f"grok.{ts_field}").cast(pl.String),
        req,
        fmt=ts_format,
        label=f"{path.name}: ",
        rewrites=ts_rewrite,
    )
    records = records.with_columns(ts.alias("ts"))
    bad_ts = records.filter(pl.col("ts").is_null()).select(
        multiline.RECORD,
        pl.format("timestamp {} not readable", pl.col(f"grok.{ts_field}").fill_null("(empty)")).alias("reason"),
    )
    rejects.append(multiline.record_rejects(labelled, bad_ts, origin))
    records = records.filter(pl.col("ts").is_not_null())
    types = cg.types
    other = [f for f in cg.fields if f not in _RESERVED and f not in ("ts", "timestamp")]
    # "timestamp" stays in attrs when "ts" is the time, and the other way round
    other += [f for f in ("ts", "timestamp") if f in types and f != ts_field]
    attrs: dict[str, pl.Expr] = {f: pl.col(f"grok.{f}") for f in other}
    if "level" in types:
        raw_level = pl.col("grok.level").cast(pl.String)
        level = level_expr(raw_level)
        attrs["level_raw"] = pl.when(level.is_null()).then(raw_level)
    else:
        level = pl.lit(None, dtype=pl.String)
    attrs["continuation"] = pl.col("continuation")
    message = pl.col("grok.message").cast(pl.String) if "message" in types else pl.col("line")
    service = pl.col("grok.service").cast(pl.String) if "service" in types else pl.lit(None, dtype=pl.String)
    events = records.select(
        pl.col("ts"),
        pl.lit("log").alias("kind"),
        service.alias("service"),
        level.alias("level"),
        message.fill_null("").alias("message"),
        json_object(attrs).alias("attrs"),
        origin_expr(origin).alias("origin"),
    )
    parsed = int(records.get_column("n_lines").sum() or 0)
    return schema.conform(events, "events"), pl.concat(rejects), lines.height, parsed, notes


@register(
    "logs",
    "grok",
    description="any grok expression (option pattern, pygrok's library + custom patterns) or a preset",
    example="pattern: '%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}'",
)
def load_grok(req: LoadRequest) -> LoadResult:
    """The ``grok`` logs format."""
    expr, custom, preset = _resolve(req)
    try:
        cg = compile_grok(expr, custom, anchored=bool(req.options.get("anchored", True)))
    except GrokError as exc:
        raise SourceError(f"source {req.source!r}: {exc}") from None
    types = cg.types
    ts_field = "ts" if "ts" in types else "timestamp" if "timestamp" in types else None
    if ts_field is None:
        raise SourceError(
            f"source {req.source!r}: the grok pattern has no time capture; name it ts, e.g. "
            f"%{{TIMESTAMP_ISO8601:ts}} (captures: {', '.join(cg.fields) or 'none'})"
        )
    result = load_files(
        req,
        lambda p: load_grok_file(
            p,
            cg,
            req,
            ts_field=ts_field,
            ts_format=preset.ts_format if preset else None,
            ts_rewrite=preset.ts_rewrite if preset else (),
        ),
    )
    return LoadResult(
        frame=result.frame,
        rejects=result.rejects,
        inputs=result.inputs,
        parsed_inputs=result.parsed_inputs,
        notes=dedupe_notes([*cg.notes, *result.notes]),
    )
