"""A Python regex re-emitted in the syntax of Rust's ``regex`` crate (polars' engine), for grok.

Polars runs Rust's ``regex`` crate, which has no look-arounds, atomic groups, possessive
quantifiers or back-references, and pygrok's library uses the first three (IPV4,
NUMBER/BASE10NUM, QUOTEDSTRING/QS, YEAR, TIME...). The expanded grok regex is parsed into a
syntax tree (CPython's own regex parser, through :mod:`pmkit.sources.sre_compat`) and
re-emitted in Rust syntax, where each construct is removed only when it provably cannot
change the match:

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
  the conditions under which they equal the original, checked as above
  (:data:`pmkit.sources.grokcore.RUST_OVERRIDES`).

``\\w``, ``\\s``, ``\\d`` and ``\\b`` keep the Unicode meaning they have in the
``regex`` module pygrok runs on, which Rust's engine shares. Lines that are pure ASCII
go through a second translation with ASCII classes and word boundaries, equal there
and 2-3x faster in Rust's engine; the other lines through the Unicode one.

Anything else (a positive look-around, an assertion whose neighbours are not disjoint,
back-references) raises :class:`Untranslatable`. Importing this module raises
:class:`pmkit.sources.sre_compat.SreUnavailable` where the private parser is not one
``sre_compat`` knows: :mod:`pmkit.sources.grokcore` imports it only after checking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pmkit.sources import sre_compat

_SRE = sre_compat.load()
_C: Any = _SRE.constants


class Untranslatable(Exception):
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
            raise Untranslatable("the ASCII flag")
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
                raise Untranslatable("the ASCII flag")
            return f"(?{on}{'-' + off if off else ''}:{inner})"
        if op in _REPEATS:
            lo, hi, sub = av
            if op is _C.POSSESSIVE_REPEAT and not (lo == hi and self._fixed(sub.data)):
                raise Untranslatable("possessive quantifier", "a possessive quantifier")
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
                raise Untranslatable(f"the anchor {av}")
            return self.anchors[av]
        if op is _C.ASSERT_NOT:
            direction, sub = av
            self._contexts()
            if direction == 1:
                first, nullable = self._seq(sub.data, True)
                if not nullable and not first.meets(self.follow[id(node)]):
                    return ""
                raise Untranslatable(
                    "look-ahead", "a negative look-ahead whose neighbour may start with what it excludes"
                )
            last, nullable = self._seq(sub.data, False)
            if not nullable and not last.meets(self.precede[id(node)]):
                return ""
            raise Untranslatable("look-behind", "a negative look-behind whose neighbour may end with what it excludes")
        if op is _C.ASSERT:
            kind = "look-ahead" if av[0] == 1 else "look-behind"
            raise Untranslatable(kind, f"a positive {kind}")
        if op is _C.ATOMIC_GROUP:
            if self._fixed(av.data):
                return "(?:" + self._emit_seq(av.data) + ")"
            raise Untranslatable("atomic group", "an atomic group that can match more than one way")
        if op in (_C.GROUPREF, _C.GROUPREF_EXISTS):
            raise Untranslatable("back-reference", "a back-reference")
        raise Untranslatable(f"the construct {op}")

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
                raise Untranslatable(f"the class item {op}")
        return "[" + ("^" if neg else "") + "".join(parts) + "]"


def translate_both(py_regex: str) -> tuple[str, str]:
    """The Rust-syntax equivalents of a Python regex: for any text, and for pure-ASCII text.

    Raises ``Untranslatable`` (or ``re.error`` when Python's parser refuses the regex).
    """
    tree = _SRE.parse(py_regex)
    tr = _Translator(tree, {num: name for name, num in tree.state.groupdict.items()})
    return tr.emit(), tr.emit(ascii_only=True)


def translate(py_regex: str, *, ascii_only: bool = False) -> str:
    """The Rust-syntax equivalent of a Python regex (``ascii_only``: on pure-ASCII text)."""
    return translate_both(py_regex)[1 if ascii_only else 0]
