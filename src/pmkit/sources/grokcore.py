"""Grok expressions compiled to one regex: the pattern library, expansion, and the two engines.

**Library.** pygrok's pattern files (shipped inside the installed ``pygrok`` package, read
in sorted order, later definitions winning as in pygrok) with pmkit's overlay on top: the
``grok_patterns/*.grok`` files of this package add the patterns pygrok lacks (URN,
MAVEN_VERSION, EXIM, SQUID3, HTTPD_COMBINEDLOG, CLOUDFRONT_ACCESS_LOG, BIND9, REDISMONLOG,
SFW2...) and replace the definitions Logstash has updated since (httpd 2.4 error log, ELB
with -1 timings, HAProxy's truncated requests, RFC 5424 with an IPv6 host, Java frames with
``$``), written from each format's documentation with Logstash's names (docs/grok.md).

**Expansion.** ``%{NAME}``, ``%{NAME:field}`` and ``%{NAME:field:int|float}`` are
expanded recursively from the library plus the source's custom patterns (``patterns:``
NAME -> regex, which may use ``%{OTHER}``; they override library names). The result is ONE regex whose named
groups are the captures. Field names may be any text without ``:`` or ``}``
(``client.ip`` works); raw ``(?P<name>...)`` / ``(?<name>...)`` groups are captures
too. The expression is anchored (``^(?:...)$``) unless it anchors itself with a
leading ``^`` or trailing ``$``, or ``options: {anchored: false}`` asks otherwise:
unanchored grok is slow on lines it cannot parse. ``.`` does not match a newline unless
``dotall`` is asked (Logstash compiles with Ruby's multiline flag, where it does).

**Engines.** The expansion is translated for polars (:mod:`pmkit.sources.rustregex`),
where three library patterns use hand-written equivalents (:data:`RUST_OVERRIDES`):
``BASE10NUM`` (atomic group: equal when what follows cannot be a digit or ``.``,
since any shorter match would then be followed by one), ``QUOTEDSTRING`` (unrolled
loops ``"(?:[^"\\\\]|\\\\.)*"``: the quoted string has one match at any position) and
``WINPATH``. Custom patterns of the same name replace them.

When there is no translation (a positive look-around, an assertion whose neighbours are
not disjoint, back-references, or a Python whose private regex parser
:mod:`pmkit.sources.sre_compat` does not know) the source is parsed line by line with
Python's ``re`` (2x faster than the ``regex`` module; ``regex`` still takes the lines
outside plain ASCII, where the two differ, and every line when ``re`` cannot compile the
expression), and the load notes say so and why. Equivalence with pygrok is tested on the
loghub samples and on generated strings (``tests/sources/test_grok.py``).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pygrok  # pygrok ships no type hints; only its pattern files are read
import regex as regex_module  # no stubs installed (types-regex is not a dependency)

from pmkit.errors import PmkitError
from pmkit.sources import sre_compat

PATTERNS_DIR = Path(pygrok.__file__).resolve().parent / "patterns"
OVERLAY_DIR = Path(__file__).resolve().parent / "grok_patterns"
MATCHED = "_m"  # the empty group that says a line matched
TYPES = ("int", "float")


class GrokError(PmkitError, ValueError):
    """A grok expression cannot be expanded or compiled."""


# --------------------------------------------------------------------------- library


@dataclass(frozen=True)
class PatternDef:
    """One library pattern: its regex text, the file that defines it and the example written next to it."""

    name: str
    regex: str
    origin: str  # "pygrok/<file>" or "pmkit/<file>.grok"
    example: str | None = None


def _read_pattern_file(path: Path, origin: str) -> list[PatternDef]:
    """``NAME regex`` lines; ``# example: TEXT`` on the comment line(s) just above a definition."""
    out: list[PatternDef] = []
    example: str | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("# example:"):
            example = raw.split("# example:", 1)[1].lstrip(" ")
            continue
        if not line or line.startswith("#"):
            continue
        name, _, body = line.partition(" ")
        out.append(PatternDef(name, body.strip(), origin, example))
        example = None
    return out


@functools.cache
def library_defs() -> dict[str, PatternDef]:
    """Every library pattern: pygrok's files (sorted order, later wins as in pygrok), then pmkit's overlay.

    The overlay (:data:`OVERLAY_DIR`, ``*.grok`` shipped in the package) holds the patterns
    pygrok lacks and the definitions Logstash has updated since (docs/grok.md); a name it
    defines replaces pygrok's.
    """
    pats: dict[str, PatternDef] = {}
    for path in sorted(PATTERNS_DIR.iterdir()):
        if path.is_file():
            pats.update((d.name, d) for d in _read_pattern_file(path, f"pygrok/{path.name}"))
    for path in sorted(OVERLAY_DIR.glob("*.grok")):
        pats.update((d.name, d) for d in _read_pattern_file(path, f"pmkit/{path.name}"))
    return pats


@functools.cache
def library() -> dict[str, str]:
    """The pattern library, NAME -> regex text: pygrok's files with pmkit's overlay on top."""
    return {name: d.regex for name, d in library_defs().items()}


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
                    f"the {len(self.pats)} library patterns listed by `pmkit grok --list`)"
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


def python_regex(expr: str, custom: Mapping[str, str] | None = None, *, anchored: bool = True) -> str:
    """The pygrok-faithful Python regex of an expression (no translation, no compilation): for tools that only read it."""
    return _anchor(_Expander({**library(), **(custom or {})}, {}).expand(expr), anchored)


def _anchor(expr: str, anchored: bool) -> str:
    """Wrap in ``^(?:...)$`` unless the expression anchors itself (or anchoring is off)."""
    s = expr.strip()
    if not anchored or s.startswith(("^", r"\A")) or (s.endswith("$") and not s.endswith(r"\$")):
        return expr
    return f"^(?:{expr})$"


def polars_accepts(rx: str) -> str | None:
    """None when polars compiles ``rx``, else its error text."""
    try:
        pl.Series("x", [""], dtype=pl.String).str.extract_groups(rx)
    except pl.exceptions.PolarsError as exc:
        return str(exc).splitlines()[0]
    return None


def _translate(src: str) -> tuple[str | None, str | None, str, str]:
    """``(rust, rust_ascii, reason, kind)``: the Rust translations of ``src``, or why there is none.

    ``kind`` names the construct that has no translation ("" when the reason is something else).
    """
    try:
        sre_compat.load()
    except sre_compat.SreUnavailable as exc:
        return None, None, str(exc), ""
    from pmkit.sources import rustregex  # imports the private parser: only once sre_compat says it is usable

    try:
        rust, rust_ascii = rustregex.translate_both(src)
    except rustregex.Untranslatable as exc:
        return None, None, exc.detail, exc.kind
    except (re.error, RecursionError, OverflowError) as exc:
        return None, None, f"Python's parser refused it ({exc})", ""
    return rust, rust_ascii, "", ""


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


def compile_grok(
    expr: str, custom: Mapping[str, str] | None = None, *, anchored: bool = True, dotall: bool = False
) -> CompiledGrok:
    """Expand and compile a grok expression (cached). See the module docstring for the rules.

    ``anchored``: the whole text must match (else anywhere in it, as Logstash matches);
    ``dotall``: ``.`` also matches a newline (as in Logstash, for multi-line records).
    """
    return _compile_cached(expr, tuple(sorted((custom or {}).items())), anchored, dotall)


@functools.lru_cache(maxsize=256)
def _compile_cached(
    expr: str, custom: tuple[tuple[str, str], ...], anchored: bool, dotall: bool = False
) -> CompiledGrok:
    pats = {**library(), **dict(custom)}
    flags = "(?s)" if dotall else ""
    plain = _Expander(pats, {})
    python_regex = f"{flags}(?P<{MATCHED}>)" + _anchor(plain.expand(expr), anchored)
    overrides = {k: v for k, v in RUST_OVERRIDES.items() if k not in dict(custom)}
    tr = _Expander(pats, overrides)
    translated_src = f"{flags}(?P<{MATCHED}>)" + _anchor(tr.expand(expr), anchored)
    if tr.groups != plain.groups:  # pragma: no cover - overrides never add captures
        raise GrokError("internal error: override changed the captures")
    groups = tuple(plain.groups)
    rust, rust_ascii, reason, kind = _translate(translated_src)
    if rust is not None:
        err = polars_accepts(rust)
        if err is not None:
            reason, rust = f"polars refused the translation ({err})", None
        elif rust_ascii is not None and polars_accepts(rust_ascii) is not None:
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
