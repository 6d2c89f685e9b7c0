"""``attrs`` JSON text built with polars expressions (no Python per row): two builders, kept apart.

Both write one JSON object per row with sorted keys and null values left out, but they
encode values differently, so the same data can give different text; each loader keeps
the one it always used (the goldens depend on it):

- :func:`polars_json_object` / :func:`polars_json_value` (grok, syslog, log4j): values
  are encoded by polars' own JSON encoder, whatever their type. A non-finite float is
  written ``null``; a struct keeps its fields in their order, null members included.
  ``raw`` keys hold JSON text already (syslog's structured data).
- :func:`members_json_object` / :func:`typed_json_value` (access logs, nginx error log,
  JSON lines, logfmt): values are encoded by dtype with pmkit's own escaping
  (:func:`json_str`; control characters as ``\\uXXXX``, access-log escapes undone by
  ``log_escaped``). A non-finite float is left out; structs are rebuilt with their keys
  sorted at every depth and their null members dropped; a column of dtype Null gives no
  member. A :class:`Member` may be ``required``: written as ``null`` rather than left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

# ---------------------------------------------------------------------------- polars' encoder


def polars_json_value(expr: pl.Expr) -> pl.Expr:
    """Each value as JSON text (strings quoted and escaped, numbers bare, lists as arrays); null stays null."""
    enc = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
    return pl.when(expr.is_not_null()).then(enc)


def polars_json_object(items: Mapping[str, pl.Expr], *, raw: Iterable[str] = ()) -> pl.Expr:
    """A JSON object per row, keys sorted, null values left out; keys in ``raw`` already hold JSON text."""
    raw = set(raw)
    parts = []
    for key in sorted(items):
        val = items[key] if key in raw else polars_json_value(items[key])
        parts.append(pl.concat_str([pl.lit("," + json.dumps(key, ensure_ascii=False) + ":"), val]))
    if not parts:
        return pl.lit("{}")
    body = pl.concat_str(parts, ignore_nulls=True).str.strip_prefix(",")
    return pl.concat_str([pl.lit("{"), body, pl.lit("}")])


# ---------------------------------------------------------------------------- typed, pmkit's escaping

CTRL_CHARS = [chr(i) for i in range(32)]
CTRL_ESCAPES = [
    {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}.get(c, f"\\u{ord(c):04x}") for c in CTRL_CHARS
]
# plain text -> JSON string body
_JSON_PATS = ["\\", '"', *CTRL_CHARS]
_JSON_REPS = ["\\\\", '\\"', *CTRL_ESCAPES]
# text as access logs write it (Apache \" and \\, nginx \x22 and \x5C) -> JSON string body, in one pass.
# Access-log fields never hold raw control characters (the regexes exclude them), so every pattern
# starts with a backslash or a quote and the Aho-Corasick scan skips ahead with memchr.
_LOGQ_PATS = ["\\\\", '\\"', "\\x22", "\\x5c", "\\x5C", "\\", '"']
_LOGQ_REPS = ["\\\\", '\\"', '\\"', "\\\\", "\\\\", "\\\\", '\\"']
# text as access logs write it -> plain text
_UNESC_PATS = ["\\\\", '\\"', "\\x22", "\\x5c", "\\x5C"]
_UNESC_REPS = ["\\", '"', '"', "\\", "\\"]


def json_str(expr: pl.Expr, *, log_escaped: bool = False) -> pl.Expr:
    """A string column as JSON string literals (null stays null); ``log_escaped`` undoes access-log escapes."""
    pats, reps = (_LOGQ_PATS, _LOGQ_REPS) if log_escaped else (_JSON_PATS, _JSON_REPS)
    return pl.concat_str(pl.lit('"'), expr.str.replace_many(pats, reps, leftmost=True), pl.lit('"'))


def unescape_log(expr: pl.Expr) -> pl.Expr:
    """Access-log quoted text to plain text (``\\"`` -> ``"``, ``\\\\`` -> ``\\``, ``\\x22`` -> ``"``)."""
    return expr.str.replace_many(_UNESC_PATS, _UNESC_REPS, leftmost=True)


_NULL_MEMBER = r'"(?:[^"\\]|\\.)*":null'


def _strip_null_members(expr: pl.Expr) -> pl.Expr:
    """Drop ``"key":null`` members from compact JSON text (``,"`` and ``{"`` never occur inside strings)."""
    stripped = (
        expr.str.replace_all("," + _NULL_MEMBER, "")
        .str.replace_all(r"\{" + _NULL_MEMBER + ",", "{")
        .str.replace_all(r"\{" + _NULL_MEMBER + r"\}", "{}")
    )
    return pl.when(expr.str.contains(":null", literal=True)).then(stripped).otherwise(expr)


def _sorted_nested(expr: pl.Expr, dtype: PolarsDataType) -> pl.Expr:
    """``expr`` with struct fields (at any depth, in lists too) in sorted order, so encoded keys are sorted.

    One cast to the same type with its fields sorted: polars casts a struct field by field name. (Rebuilding
    each struct from ``expr.struct.field(...)`` chains made the expression grow with the square of the
    nesting depth, and polars' planning far faster than that: 64 levels took 13 s, 128 over four minutes.)
    """
    target = _sorted_dtype(dtype)
    return expr if target == dtype else expr.cast(target)


def _sorted_dtype(dtype: PolarsDataType) -> PolarsDataType:
    if isinstance(dtype, pl.Struct):
        return pl.Struct([pl.Field(f.name, _sorted_dtype(f.dtype)) for f in sorted(dtype.fields, key=lambda f: f.name)])
    if isinstance(dtype, pl.List):
        return pl.List(_sorted_dtype(dtype.inner))
    if isinstance(dtype, pl.Array):
        return pl.Array(_sorted_dtype(dtype.inner), dtype.shape)
    return dtype


def typed_json_value(expr: pl.Expr, dtype: PolarsDataType) -> pl.Expr | None:
    """JSON text of a column's values (null where the value is null); None for an all-null column."""
    if dtype == pl.Null:
        return None
    if dtype == pl.String:
        return json_str(expr)
    if dtype == pl.Boolean:
        return pl.when(expr).then(pl.lit("true")).when(expr.not_()).then(pl.lit("false"))
    if dtype.is_integer():
        return expr.cast(pl.String)
    if dtype.is_float():
        return pl.when(expr.is_finite()).then(expr.cast(pl.String))
    if isinstance(dtype, pl.Struct):
        return pl.when(expr.is_not_null()).then(_strip_null_members(_sorted_nested(expr, dtype).struct.json_encode()))
    if isinstance(dtype, (pl.List, pl.Array)):
        wrapped = pl.struct(_sorted_nested(expr, dtype).alias("v")).struct.json_encode()  # {"v":[...]}
        return pl.when(expr.is_not_null()).then(_strip_null_members(wrapped.str.slice(5).str.head(-1)))
    return json_str(expr.cast(pl.String))


@dataclass(frozen=True)
class Member:
    """One attrs key: ``value`` is JSON text or null; ``required`` keys are written as ``null`` then."""

    key: str
    value: pl.Expr
    required: bool = False


def members_json_object(members: Iterable[Member]) -> pl.Expr:
    """A JSON object per row with sorted keys, built with one ``concat_str`` (no Python per row).

    Optional members whose value is null are left out. Members before the first required
    one carry a trailing comma and the rest a leading one, so no separator is ever dangling.
    """
    ms = sorted(members, key=lambda m: m.key)
    first = next((i for i, m in enumerate(ms) if m.required), None)
    if first is None:
        inner = pl.concat_str(
            [pl.concat_str(pl.lit(json.dumps(m.key, ensure_ascii=False) + ":"), m.value) for m in ms],
            separator=",",
            ignore_nulls=True,
        )
        return pl.concat_str(pl.lit("{"), inner, pl.lit("}"))
    pieces: list[pl.Expr] = [pl.lit("{")]
    for i, m in enumerate(ms):
        key = json.dumps(m.key, ensure_ascii=False) + ":"
        if i < first:
            pieces.append(pl.concat_str(pl.lit(key), m.value, pl.lit(",")))
        elif m.required:
            pieces += [pl.lit(key if i == first else "," + key), m.value.fill_null("null")]
        else:
            pieces.append(pl.concat_str(pl.lit("," + key), m.value))
    pieces.append(pl.lit("}"))
    return pl.concat_str(pieces, ignore_nulls=True)
