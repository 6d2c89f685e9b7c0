"""The grok workbench: match an expression on lines, explain why lines fail, suggest one, list the library.

- :func:`grok_match` runs an expression on lines and returns one row per line: ``matched``
  plus one typed column per captured field (``%{NUMBER:x:int}`` gives Int64, ``:float``
  Float64, other captures String; null where the line did not match or the field was not
  captured). Its defaults are the grok loader's: the whole line must match (``anchored``)
  and ``.`` stops at a newline. ``logstash=True`` matches the way Logstash does: anywhere in
  the text, ``.`` across the lines of a multi-line record, and a field captured by several
  groups of one match holds the list of their values (Logstash's array); without it the
  first non-null capture is kept (docs/grok.md says why these are the defaults).
- :func:`debug` finds, for each line that does not match, the longest prefix of the
  expression's top-level elements that matches at the start of the line (as Kibana's Grok
  Debugger does), descends into a failing ``%{NAME}`` whose definition has several elements,
  and groups the failing lines by the element where they stop, with a hint read from one
  of them: where the element would match further on (what the pattern misses before it)
  and which library patterns match at that point.
- :func:`suggest` proposes an expression for a sample of lines from the library's known
  shapes: a whole-line pattern when one matches, else timestamp + separator + level +
  rest, and verifies it by matching the sample.
- :func:`catalog` lists every library pattern with its regex, where it is defined and an
  example (written next to the definition in pmkit's overlay, or generated from the regex
  and verified to match).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pmkit.sources import grokcore
from pmkit.sources.grokcore import MATCHED, CompiledGrok, GrokError, compile_grok

REPEATED = ("first", "list")


def _lines_series(lines: Iterable[str] | pl.Series | str) -> pl.Series:
    if isinstance(lines, pl.Series):
        return lines.cast(pl.String).rename("line")
    if isinstance(lines, str):
        lines = [lines]
    return pl.Series("line", list(lines), dtype=pl.String)


def _typed(expr: pl.Expr, typ: str | None) -> pl.Expr:
    if typ == "int":
        return expr.str.strip_chars().cast(pl.Int64, strict=False)
    if typ == "float":
        return expr.str.strip_chars().cast(pl.Float64, strict=False)
    return expr


def grok_match(
    expr: str,
    lines: Iterable[str] | pl.Series | str,
    *,
    patterns: Mapping[str, str] | None = None,
    anchored: bool | None = None,
    dotall: bool | None = None,
    repeated: str | None = None,
    logstash: bool = False,
) -> pl.DataFrame:
    """One row per line: ``matched`` and one typed column per captured field (see the module docstring).

    ``patterns``: custom NAME -> regex definitions (as a source's ``patterns:``);
    ``anchored`` (default True; False with ``logstash``), ``dotall`` (default False; True
    with ``logstash``), ``repeated`` ("first", or "list" with ``logstash``).
    """
    anchored = (not logstash) if anchored is None else anchored
    dotall = logstash if dotall is None else dotall
    repeated = repeated or ("list" if logstash else "first")
    if repeated not in REPEATED:
        raise GrokError(f"repeated={repeated!r}: expected one of {', '.join(REPEATED)}")
    cg = compile_grok(expr, patterns, anchored=anchored, dotall=dotall)
    frame = pl.DataFrame(_lines_series(lines))
    groups = frame.select(cg.groups_expr("line").alias("__g"))
    s = pl.col("__g").struct
    cols = [s.field(MATCHED).is_not_null().alias("matched")]
    for fld in cg.fields:
        mine = [(g, t) for g, f, t in cg.groups if f == fld]
        typ = cg.types[fld]
        if len(mine) > 1 and repeated == "list":
            values = pl.concat_list([_typed(s.field(g), typ) for g, _ in mine]).list.drop_nulls()
            cols.append(pl.when(values.list.len() > 0).then(values).alias(fld))
        else:
            cols.append(cg.field_exprs(pl.col("__g"))[fld])
    return groups.select(cols)


# ----------------------------------------------------------------------- elements


@dataclass(frozen=True)
class Element:
    """One top-level element of a grok expression: its text and, for ``%{NAME...}``, the name."""

    text: str
    name: str | None = None


_QUANT = re.compile(r"(?:[?*+]|\{\d+(?:,\d*)?\})[?+]?")
_REF_AT = re.compile(r"%\{(\w+)(?::[^:{}]+)?(?::\w+)?\}")


def _skip_group(s: str, i: int, open_: str, close: str) -> int:
    """Index after the bracket that closes the one at ``i`` (escapes and classes respected)."""
    depth, j = 0, i
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if open_ == "(" and c == "[":
            j = _skip_group(s, j, "[", "]")
            continue
        if c == open_ and (open_ == "(" or j == i):
            depth += 1
        elif c == close and (open_ == "(" or j > i + 1 + (s[i + 1 : i + 2] == "^")):
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise GrokError(f"unbalanced {open_!r} in {s!r}")


def split_alternatives(expr: str) -> list[str]:
    """The top-level alternatives of an expression (``a|b`` outside groups and classes)."""
    out, start, i = [], 0, 0
    while i < len(expr):
        c = expr[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            i = _skip_group(expr, i, "(", ")")
            continue
        if c == "[":
            i = _skip_group(expr, i, "[", "]")
            continue
        if c == "%" and _REF_AT.match(expr, i):
            i = _REF_AT.match(expr, i).end()  # type: ignore[union-attr]
            continue
        if c == "|":
            out.append(expr[start:i])
            start = i + 1
        i += 1
    out.append(expr[start:])
    return out


def split_elements(expr: str) -> list[Element]:
    """Top-level elements of one alternative: references, groups, classes, escapes and literal runs.

    A quantifier stays with its element; consecutive plain characters form one literal
    element; a leading ``^`` and a trailing ``$`` are dropped (the caller anchors).
    """
    s = expr
    if s.startswith("^"):
        s = s[1:]
    if s.endswith("$") and not s.endswith("\\$"):
        s = s[:-1]
    out: list[Element] = []
    literal = ""
    i = 0
    while i < len(s):
        m = _REF_AT.match(s, i)
        if m:
            j, name = m.end(), m.group(1)
        elif s[i] == "(":
            j, name = _skip_group(s, i, "(", ")"), None
        elif s[i] == "[":
            j, name = _skip_group(s, i, "[", "]"), None
        elif s[i] == "\\":
            j, name = min(i + 2, len(s)), None
            if s[i + 1 : i + 2] in ("x",) and re.match(r"x[0-9A-Fa-f]{2}", s[i + 1 :]):
                j = i + 4
        else:
            j, name = i + 1, None
        q = _QUANT.match(s, j)
        end = q.end() if q else j
        token = s[i:end]
        plain = not m and not q and s[i] not in "()[\\" and s[i] not in ".^$"
        if plain:
            literal += token
        else:
            if literal:
                out.append(Element(literal))
                literal = ""
            out.append(Element(token, name))
        i = end
    if literal:
        out.append(Element(literal))
    return out


# -------------------------------------------------------------------------- debug

_META = re.compile(r"([.^$*+?{}\[\]\\|()])")


def show_element(element: str) -> str:
    """An element as the reports name it: a reference as written, anything else quoted (a blank is visible)."""
    return element if _REF_AT.fullmatch(element) else repr(element)


def literal(text: str) -> str:
    """``text`` as a regex that matches it literally (only regex metacharacters escaped, as a person writes it)."""
    return _META.sub(r"\\\1", text)


@dataclass(frozen=True)
class FailureGroup:
    """Lines that stop at the same element: where, how many, one example and a hint."""

    element: str  # the element that does not match ("" when every element matched but text remains)
    position: int  # its index in ``elements``
    elements: tuple[str, ...]  # the element list this failure was found in (after descending)
    path: tuple[str, ...]  # the %{NAME}s descended into to get there
    count: int
    line_no: int  # 1-based number of the example line in the input
    line: str
    matched_text: str  # the part of the example line the longest prefix matched
    rest: str  # the part where matching stopped
    hint: str
    matching_here: tuple[tuple[str, str], ...]  # library patterns that match at that point: (name, text)


@dataclass(frozen=True)
class GrokDebug:
    """What :func:`debug` found: how many lines match and, for the others, where they stop."""

    expr: str
    anchored: bool
    total: int
    matched: int
    elements: tuple[str, ...]
    failures: tuple[FailureGroup, ...]
    engine: str
    notes: tuple[str, ...] = ()

    @property
    def failing(self) -> int:
        """Lines that do not match."""
        return self.total - self.matched


_PREFIX = "__pmkit_prefix"
# library patterns tried where matching stopped (the hint's "matches here"), most specific first
PROBES = (
    "TIMESTAMP_ISO8601", "HTTPDERROR_DATE", "SYSLOGTIMESTAMP", "HTTPDATE", "DATESTAMP", "TIME", "LOGLEVEL",
    "IPV4", "IPV6", "UUID", "URI", "UNIXPATH", "JAVACLASS", "QS", "NUMBER", "INT", "WORD", "NOTSPACE", "SPACE",
)  # fmt: skip


def _prefix_lengths(
    elements: Sequence[str], lines: pl.Series, custom: Mapping[str, str] | None, dotall: bool
) -> tuple[pl.DataFrame, list[str]]:
    """Per line: how many leading elements match at its start (``depth``) and the matched text's length."""
    frame = pl.DataFrame({"line": lines})
    depth = pl.lit(0, dtype=pl.Int32)
    length = pl.lit(0, dtype=pl.Int64)
    notes: list[str] = []
    cols: list[pl.Expr] = []
    for k in range(1, len(elements) + 1):
        rx = "^(?<" + _PREFIX + ">" + "".join(elements[:k]) + ")"
        try:
            cg = compile_grok(rx, custom, anchored=False, dotall=dotall)
        except GrokError as exc:
            notes.append(f"prefix of {k} elements does not compile ({exc}); stopped there")
            break
        cols.append(cg.groups_expr("line").struct.field(_prefix_group(cg)).alias(f"p{k}"))
    if not cols:
        return frame.with_columns(depth.alias("depth"), length.alias("length")), notes
    frame = frame.with_columns(cols)
    for k in range(1, len(cols) + 1):
        hit = pl.col(f"p{k}").is_not_null()
        depth = pl.when(hit).then(pl.lit(k, dtype=pl.Int32)).otherwise(depth)
        length = pl.when(hit).then(pl.col(f"p{k}").str.len_chars().cast(pl.Int64)).otherwise(length)
    return frame.select("line", depth.alias("depth"), length.alias("length")), notes


def _prefix_group(cg: CompiledGrok) -> str:
    return next(g for g, f, _ in cg.groups if f == _PREFIX)


@functools.lru_cache(maxsize=512)
def _python(name: str) -> Any:
    return re.compile(compile_grok("^(?:%{" + name + "})", anchored=False).python_regex)


def _matching_here(rest: str) -> tuple[tuple[str, str], ...]:
    out = []
    for name in PROBES:
        m = _python(name).match(rest)
        if m and m.end() > 0:
            out.append((name, rest[: m.end()]))
    return tuple(out)


def _hint(element: str, rest: str, custom: Mapping[str, str] | None, dotall: bool, whole: bool) -> str:
    """Why the element fails at ``rest`` and what would make it match (read from one line)."""
    show = rest[:60] + ("…" if len(rest) > 60 else "")
    shown = show_element(element)
    if whole:
        return (
            f"every element matched, but the line goes on with {show!r}: end the pattern with "
            "%{GREEDYDATA:rest} (or match anywhere: anchored false)"
        )
    if not rest:
        return f"the line ends where {shown} is expected: make it optional with (?:...)?"
    try:
        rx = re.compile(compile_grok("^(?:" + element + ")", custom, anchored=False, dotall=dotall).python_regex)
    except (GrokError, re.error):
        return f"{shown} does not match at {show!r}"
    for skip in range(1, min(len(rest), 40) + 1):
        if rx.match(rest[skip:]):
            missing = rest[:skip]
            how = r"\s+" if missing.isspace() else literal(missing)
            what = "more blanks" if missing.isspace() else f"{missing!r}"
            return (
                f"{shown} does not match at {show!r} but matches {skip} character(s) later: the pattern misses "
                f"{what} before it (add {how!r}, or a field such as %{{DATA:x}} there)"
            )
    return f"{shown} does not match at {show!r}, nor further on in the line"


def debug(
    expr: str,
    lines: Iterable[str] | pl.Series | str,
    *,
    patterns: Mapping[str, str] | None = None,
    anchored: bool = True,
    dotall: bool = False,
    max_depth: int = 4,
) -> GrokDebug:
    """Where each failing line stops matching (see the module docstring); groups ordered by count."""
    series = _lines_series(lines)
    cg = compile_grok(expr, patterns, anchored=anchored, dotall=dotall)
    lib = {**grokcore.library(), **(patterns or {})}
    frame = pl.DataFrame({"line": series}).with_row_index("line_no", offset=1)
    matched = frame.with_columns(ok=cg.groups_expr("line").struct.field(MATCHED).is_not_null())
    failing = matched.filter(~pl.col("ok"))
    alternatives = split_alternatives(expr)
    top = [e.text for e in split_elements(alternatives[0])] if len(alternatives) == 1 else [expr]
    groups: list[FailureGroup] = []
    notes: list[str] = []
    if failing.height:
        groups = _explain(failing, alternatives, (), patterns, lib, anchored, dotall, max_depth, notes)
    groups.sort(key=lambda g: (-g.count, g.line_no))
    return GrokDebug(
        expr, anchored, series.len(), int(matched["ok"].sum()), tuple(top), tuple(groups), cg.engine, tuple(notes)
    )


def _explain(
    failing: pl.DataFrame,
    alternatives: Sequence[str],
    path: tuple[str, ...],
    custom: Mapping[str, str] | None,
    lib: Mapping[str, str],
    anchored: bool,
    dotall: bool,
    max_depth: int,
    notes: list[str],
    prefix: Sequence[str] = (),
    suffix: Sequence[str] = (),
) -> list[FailureGroup]:
    """Failure groups for ``failing`` lines: the best alternative per line, then descent into references."""
    best: pl.DataFrame | None = None
    alt_elements: list[list[str]] = []
    for a, alt in enumerate(alternatives):
        elements = [*prefix, *(e.text for e in split_elements(alt)), *suffix]
        alt_elements.append(elements)
        res, more = _prefix_lengths(elements, failing["line"], custom, dotall)
        notes.extend(more)
        res = res.with_columns(pl.lit(a).alias("alt"), failing["line_no"])
        if best is None:
            best = res
        else:  # keep, per line, the alternative that matched more of it
            better = res["length"] > best["length"]
            best = pl.concat([best.filter(~better), res.filter(better)]).sort("line_no")
    assert best is not None
    out: list[FailureGroup] = []
    for (alt, depth), grp in best.group_by("alt", "depth", maintain_order=True):
        elements = alt_elements[int(alt)]
        pos = int(depth)
        whole = pos >= len(elements)
        element = "" if whole else elements[pos]
        ref = _REF_AT.fullmatch(element) if element else None
        if ref and len(path) < max_depth and ref.group(1) in lib:
            body = lib[ref.group(1)]
            body_alts = split_alternatives(body)
            if len(body_alts) > 1 or len(split_elements(body_alts[0])) > 1:
                sub = failing.filter(pl.col("line_no").is_in(grp["line_no"].implode()))
                out += _explain(
                    sub,
                    body_alts,
                    (*path, ref.group(1)),
                    custom,
                    lib,
                    anchored,
                    dotall,
                    max_depth,
                    notes,
                    elements[:pos],
                    elements[pos + 1 :],
                )
                continue
        first = grp.sort("line_no").row(0, named=True)
        line, length = first["line"], int(first["length"])
        rest = line[length:]
        out.append(
            FailureGroup(
                element=element,
                position=pos,
                elements=tuple(elements),
                path=path,
                count=grp.height,
                line_no=int(first["line_no"]),
                line=line,
                matched_text=line[:length],
                rest=rest,
                hint=_hint(element, rest, custom, dotall, whole),
                matching_here=_matching_here(rest),
            )
        )
    return out


MAX_HINT_CHARS = 4096


def load_hint(
    expr: str,
    rejected: pl.Series,
    *,
    patterns: Mapping[str, str] | None = None,
    anchored: bool = True,
    sample: int = 200,
) -> str | None:
    """One sentence for a grok load's notes: where most of the first ``sample`` rejected lines stop, and why.

    Lines are cut to their first ``MAX_HINT_CHARS`` characters (the hint is about where the
    pattern stops, not about the end of a 10 MB line).
    """
    d = debug(expr, rejected.head(sample).str.slice(0, MAX_HINT_CHARS), patterns=patterns, anchored=anchored)
    if not d.failures:
        return None
    g = d.failures[0]
    where = f"element {g.position + 1} ({show_element(g.element)})" if g.element else "the end of the pattern"
    inside = f" inside {' > '.join(g.path)}" if g.path else ""
    return (
        f"grok: {g.count:,} of the first {d.failing:,} lines that do not match stop at {where}{inside} after "
        f"matching {_clip(g.matched_text)!r}: {g.hint}; `pmkit grok PATTERN FILE` shows every failure point"
    )


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------ suggest


@dataclass(frozen=True)
class Suggestion:
    """A proposed expression, verified on the sample: how many lines it matches, and the shapes tried."""

    expr: str
    total: int
    matched: int
    tried: tuple[tuple[str, int], ...]  # (expression, lines matched) for each candidate examined
    note: str = ""

    @property
    def share(self) -> float:
        """Matched share of the sample."""
        return self.matched / self.total if self.total else 0.0


# whole-line library patterns tried first (the line's own format)
WHOLE_LINE = (
    "HTTPD_COMBINEDLOG", "HTTPD_COMMONLOG", "HTTPD_ERRORLOG", "SYSLOG5424LINE", "SYSLOGBASE", "ELB_ACCESS_LOG",
    "S3_ACCESS_LOG", "CLOUDFRONT_ACCESS_LOG", "HAPROXYHTTP", "HAPROXYTCP", "SQUID3", "NAGIOSLOGLINE", "REDISLOG",
    "REDISMONLOG", "MONGO3_LOG", "BIND9", "EXIM", "CATALINALOG", "TOMCATLOG", "BACULA_LOGLINE", "RAILS3",
)  # fmt: skip
# timestamps at the start of a line, written as they appear (bracketed ones with their brackets)
TIMESTAMPS = (
    "%{TIMESTAMP_ISO8601:ts}", r"\[%{TIMESTAMP_ISO8601:ts}\]", "%{SYSLOGTIMESTAMP:ts}", r"\[%{HTTPDATE:ts}\]",
    r"\[%{HTTPDERROR_DATE:ts}\]", "%{HTTPDERROR_DATE:ts}", "%{DATESTAMP:ts}", "%{CATALINA_DATESTAMP:ts}",
    "%{BIND9_TIMESTAMP:ts}", "(?<ts>%{MONTHNUM2}-%{MONTHDAY} %{TIME})", r"(?<ts>1[0-9]{9}(?:\.[0-9]+)?)",
)  # fmt: skip
LEVELS = (r"%{LOGLEVEL:level}", r"\[%{LOGLEVEL:level}\]", r"<%{LOGLEVEL:level}>")


def _share(expr: str, sample: pl.Series) -> int:
    try:
        cg = compile_grok(expr, anchored=False)
    except GrokError:
        return 0
    return int(
        pl.DataFrame({"line": sample}).select(cg.groups_expr("line").struct.field(MATCHED).is_not_null().sum()).item()
    )


def _separator(sample: pl.Series, expr: str) -> str | None:
    """The separator after ``expr`` at the start of the lines: the common run of punctuation and blanks."""
    cg = compile_grok("^(?<" + _PREFIX + ">" + expr + ")", anchored=False)
    ends = pl.DataFrame({"line": sample}).select(
        pl.col("line"), n=cg.groups_expr("line").struct.field(_prefix_group(cg)).str.len_chars()
    )
    seps = ends.drop_nulls().select(
        pl.col("line").str.slice(pl.col("n")).str.extract(r"^([\s,;:|/-]*)", 1).alias("sep")
    )["sep"]
    if seps.len() == 0:
        return None
    shapes = seps.str.replace_all(r"\s+", " ").value_counts(sort=True)
    top = shapes.row(0)[0]
    if not top:
        return None
    varies = seps.str.contains(r"\s{2,}").any() or seps.str.contains(r"\t").any()
    if top.strip() == "":
        return r"\s+" if varies else " "
    lead, core, trail = top[: len(top) - len(top.lstrip())], top.strip(), top[len(top.rstrip()) :]
    blank = r"\s+" if varies else " "
    return (blank if lead else "") + literal(core) + (blank if trail else "")


def suggest(lines: Iterable[str] | pl.Series | str, *, sample: int = 200) -> Suggestion:
    """An expression for the first ``sample`` non-empty lines, from the library's known shapes (verified)."""
    all_lines = _lines_series(lines)
    s = all_lines.filter(all_lines.str.strip_chars() != "").head(sample)
    total = s.len()
    tried: list[tuple[str, int]] = []
    if total == 0:
        return Suggestion("%{GREEDYDATA:message}", 0, 0, ())
    for name in WHOLE_LINE:
        expr = "%{" + name + "}" + (" %{GREEDYDATA:message}" if name == "SYSLOGBASE" else "")
        n = _share("^" + expr + "$", s)
        tried.append((expr, n))
        if n >= 0.9 * total:
            return Suggestion(expr, total, n, tuple(tried))
    expr = ""
    for ts in TIMESTAMPS:
        n = _share("^" + ts, s)
        tried.append((ts, n))
        if n >= 0.5 * total:
            expr = ts
            break
    if expr:
        sep = _separator(s, expr)
        for level in LEVELS:
            cand = expr + (sep or " ") + level
            n = _share("^" + cand, s)
            tried.append((cand, n))
            if n >= 0.5 * total:
                expr = cand
                break
        sep = _separator(s, expr)
        expr = expr + (sep if sep is not None else "") + "%{GREEDYDATA:message}"
        note = ""
    else:
        expr = "%{GREEDYDATA:message}"
        note = (
            "no known timestamp starts most lines: capture the time yourself as ts, e.g. (?<ts>[0-9]{6} [0-9]{6}), "
            "and set ts_format"
        )
    n = _share("^" + expr + "$", s)
    tried.append((expr, n))
    return Suggestion(expr, total, n, tuple(tried), note)


# ------------------------------------------------------------------------ catalog


@dataclass(frozen=True)
class CatalogEntry:
    """One library pattern for ``pmkit grok --list``: name, regex, origin, example and whether it was generated."""

    name: str
    regex: str
    origin: str
    example: str | None
    generated: bool


def _gen(tree: Any, c: Any, mode: int, groups: dict[int, str]) -> str:
    """A string the parsed regex matches: fewest repeats (``mode`` 1: at least one), first alternative."""
    out: list[str] = []
    for op, av in tree:
        if op is c.LITERAL:
            out.append(chr(av))
        elif op is c.NOT_LITERAL:
            out.append("a" if chr(av) != "a" else "b")
        elif op is c.ANY:
            out.append(".")
        elif op is c.IN:
            out.append(_class_char(av, c))
        elif op is c.BRANCH:
            alts = av[1]
            out.append(_gen(alts[-1 if mode == 2 else 0].data, c, mode, groups))
        elif op is c.SUBPATTERN:
            text = _gen(av[3].data, c, mode, groups)
            if av[0] is not None:
                groups[av[0]] = text
            out.append(text)
        elif op is c.ATOMIC_GROUP:
            out.append(_gen(av.data, c, mode, groups))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            lo, _hi, sub = av
            n = max(lo, 1) if mode >= 1 else lo
            out.append(_gen(sub.data, c, mode, groups) * n)
        elif op is c.GROUPREF:
            out.append(groups.get(av, ""))
    return "".join(out)


def _class_char(items: Any, c: Any) -> str:
    def inside(ch: str) -> bool:
        for op, av in items:
            if op is c.LITERAL and chr(av) == ch:
                return True
            if op is c.RANGE and av[0] <= ord(ch) <= av[1]:
                return True
            if op is c.CATEGORY:
                if av is c.CATEGORY_DIGIT and ch.isdigit():
                    return True
                if av is c.CATEGORY_WORD and (ch.isalnum() or ch == "_"):
                    return True
                if av is c.CATEGORY_SPACE and ch.isspace():
                    return True
                if av is c.CATEGORY_NOT_SPACE and not ch.isspace():
                    return True
                if av is c.CATEGORY_NOT_DIGIT and not ch.isdigit():
                    return True
                if av is c.CATEGORY_NOT_WORD and not (ch.isalnum() or ch == "_"):
                    return True
        return False

    neg = any(op is c.NEGATE for op, _ in items)
    if not neg:  # the class's own first member
        for op, av in items:
            if op is c.LITERAL:
                return chr(av)
            if op is c.RANGE:
                return chr(av[0])
    for ch in "a0A x-_./:1":
        if inside(ch) != neg:
            return ch
    return "a"


def _example(name: str) -> str | None:
    """A generated example of library pattern ``name`` that its anchored expression matches, or None."""
    from pmkit.sources import sre_compat

    try:
        sre = sre_compat.load()
        rx = grokcore.python_regex("%{" + name + "}")
        tree = sre.parse(rx)
        check = grokcore._compile_python(rx)[0]
    except (sre_compat.SreUnavailable, GrokError, re.error, RecursionError, OverflowError):
        return None
    for mode in (0, 1, 2):
        text = _gen(tree.data, sre.constants, mode, {})
        if text and check.search(text) is not None:
            return text
    return None


EXAMPLES = grokcore.OVERLAY_DIR / "examples.txt"


@functools.cache
def written_examples() -> dict[str, str]:
    """Examples written for library patterns no example can be generated for (``examples.txt``)."""
    out: dict[str, str] = {}
    for raw in EXAMPLES.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            name, _, text = raw.partition(" ")
            out[name] = text
    return out


@functools.cache
def _entry(name: str) -> CatalogEntry:
    d = grokcore.library_defs()[name]
    example = d.example or written_examples().get(name)
    generated = example is None
    if example is None:
        example = _example(name)
    return CatalogEntry(name, d.regex, d.origin, example, generated and example is not None)


def catalog(contains: str = "") -> tuple[CatalogEntry, ...]:
    """Library patterns (those whose name contains ``contains``), sorted by name, each with an example.

    The example is the one written next to the definition (overlay) or in ``examples.txt``,
    else one generated from the regex (fewest repetitions, first alternative) and kept only
    when the pattern matches it.
    """
    key = contains.upper()
    return tuple(_entry(name) for name in sorted(grokcore.library_defs()) if key in name)
