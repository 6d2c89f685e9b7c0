"""Log loaders: access logs (``combined``, ``common``), ``nginx-error``, ``jsonl`` and ``logfmt``.

Every physical line ends in an event (counted in ``parsed_inputs``) or in the rejects
with its ``path:line`` and a reason; blank lines are rejected as ``blank line``. Parsing
is vectorised polars (JSON lines are decoded by pyarrow's reader first): access logs run
as one lazy, streamed query (curated anchored regexes, then ``strptime`` and casts);
Python only touches single lines in rare fallbacks (the reasons for invalid JSON, JSON
lines whose types conflict).

Levels
    access logs: from the status, 5xx ``error``, 4xx ``warning``, else ``info``.
    nginx error log, JSON lines and logfmt: the one table of :mod:`pmkit.sources.levels`
    (case-insensitive words of every common logger, and numbers 10..69 as pino/bunyan
    levels). Any other value gives a null level and stays in ``attrs``.

``attrs`` is a JSON object with sorted keys (as :func:`pmkit.sources.base.to_json`).

Access logs (``combined``, ``common``) always carry
    ``status`` (int), ``method``, ``path``, ``protocol`` (null for an empty or garbled
    request), ``bytes`` (int, null for ``-``), ``client``, ``user``, ``referer`` and
    ``user_agent`` (null for ``-`` or, in ``common``, absent), ``duration_s`` (float from
    a trailing ``rt=``, else ``request_time=``, else ``urt=``; null otherwise). Quoted
    values are unescaped (``\\"`` -> ``"``, ``\\\\`` -> ``\\``, nginx ``\\x22``/``\\x5C``).
    ``client`` is the first public address of the forwarded chain (the X-Forwarded-For
    order: originating client first) and else its first address, as Filebeat does;
    ``user`` is the remote user, or when that is ``-`` a trailing ``uid=``, ``user=`` or
    ``user_id=`` value. When present: ``vhost`` (a leading virtual host), ``remote_addr``
    and ``forwarded_for`` (the peer and the whole chain, when a chain was logged),
    ``ident`` (when not ``-``), every trailing ``key=value`` (values as strings, quotes
    removed; a key that collides with one above is stored as ``trailing_<key>``) and
    ``trailing`` (any other trailing text except ``"-"``). ``message`` reads
    ``GET /api/v1/payments 502``; ``actor`` is the remote user when not ``-``.

nginx error log
    ``pid``, ``tid``, ``cid`` (the ``*N`` connection id) and, when logged, ``client``,
    ``server``, ``request``, ``subrequest``, ``upstream``, ``host``, ``referrer``.
    Continuation lines (lines that do not start with a timestamp, such as FastCGI's
    ``PHP message:`` lines) join the entry above; ``message`` is the entry's first line
    without the ``, client: ...`` context and ``full_message`` keeps the whole entry
    when it spans lines. Times carry no offset: they are read in the source's
    ``timezone`` (UTC when none is given, and the load notes say so).

JSON lines and logfmt
    Column fields are found by name (the first present wins per line; ``fields``
    overrides, e.g. ``{ts: when, level: sev, message: text}``, dotted paths for nested
    fields): ``ts`` from ts, time, timestamp, @timestamp, t, date; ``level`` from level,
    severity, lvl, loglevel, log.level, levelname, log_level; ``message`` from msg,
    message, log, text, event (strings only); ``service`` from service, service.name,
    app, application (``logger`` names a code module, not a service, and stays in
    attrs). ``actor`` is never guessed: user ids describe who was affected more often
    than who acted, so they stay in attrs; map ``actor`` explicitly when a field names
    the person or system that acted. Every other field goes to attrs, nested objects
    kept nested; a field used for a column is dropped from attrs on the lines where it
    was used. A multi-line message (stack trace) gives its first line as ``message`` and
    stays whole in attrs. Null values are omitted (absent and null read the same).
    Docker json-file lines (``{"log": ..., "stream": ..., "time": ...}``) are unwrapped:
    an inner JSON object is decoded too, ``stream`` goes to attrs and the wrapper time is
    the event time when the inner record has none (else it is kept as ``docker_time``).
    logfmt values are strings; a bare key reads as ``"true"``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from pmkit import timeutil
from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame
from pmkit.sources.levels import LEVEL_NAMES, levels
from pmkit.sources.registry import register

# ---------------------------------------------------------------------------- JSON text, vectorised

_CTRL = [chr(i) for i in range(32)]
_CTRL_ESC = [
    {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}.get(c, f"\\u{ord(c):04x}") for c in _CTRL
]
# plain text -> JSON string body
_JSON_PATS = ["\\", '"', *_CTRL]
_JSON_REPS = ["\\\\", '\\"', *_CTRL_ESC]
# text as access logs write it (Apache \" and \\, nginx \x22 and \x5C) -> JSON string body, in one pass.
# Access-log fields never hold raw control characters (the regexes exclude them), so every pattern
# starts with a backslash or a quote and the Aho-Corasick scan skips ahead with memchr.
_LOGQ_PATS = ["\\\\", '\\"', "\\x22", "\\x5c", "\\x5C", "\\", '"']
_LOGQ_REPS = ["\\\\", '\\"', '\\"', "\\\\", "\\\\", "\\\\", '\\"']
# text as access logs write it -> plain text
_UNESC_PATS = ["\\\\", '\\"', "\\x22", "\\x5c", "\\x5C"]
_UNESC_REPS = ["\\", '"', '"', "\\", "\\"]


def _json_str(expr: pl.Expr, *, log_escaped: bool = False) -> pl.Expr:
    """A string column as JSON string literals (null stays null); ``log_escaped`` undoes access-log escapes."""
    pats, reps = (_LOGQ_PATS, _LOGQ_REPS) if log_escaped else (_JSON_PATS, _JSON_REPS)
    return pl.concat_str(pl.lit('"'), expr.str.replace_many(pats, reps, leftmost=True), pl.lit('"'))


def _unescape_log(expr: pl.Expr) -> pl.Expr:
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


def _sorted_nested(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Rebuild structs (at any depth) with their fields in sorted order, so encoded keys are sorted."""
    if isinstance(dtype, pl.Struct):
        fields = sorted(dtype.fields, key=lambda f: f.name)
        if [f.name for f in fields] == [f.name for f in dtype.fields] and not any(_has_struct(f.dtype) for f in fields):
            return expr
        inner = pl.struct([_sorted_nested(expr.struct.field(f.name), f.dtype).alias(f.name) for f in fields])
        return pl.when(expr.is_not_null()).then(inner)
    if isinstance(dtype, pl.List) and _has_struct(dtype.inner):
        return expr.list.eval(_sorted_nested(pl.element(), dtype.inner))
    return expr


def _has_struct(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Struct):
        return True
    if isinstance(dtype, (pl.List, pl.Array)):
        return _has_struct(dtype.inner)
    return False


def json_value(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """JSON text of a column's values (null where the value is null); None for an all-null column."""
    if dtype == pl.Null:
        return None
    if dtype == pl.String:
        return _json_str(expr)
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
    return _json_str(expr.cast(pl.String))


@dataclass(frozen=True)
class Member:
    """One attrs key: ``value`` is JSON text or null; ``required`` keys are written as ``null`` then."""

    key: str
    value: pl.Expr
    required: bool = False


def json_object(members: Iterable[Member]) -> pl.Expr:
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


# ---------------------------------------------------------------------------- reading lines


def _is_gzip(path: Path) -> bool:
    if path.suffix == ".gz":
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None


def scan_lines(path: Path) -> pl.LazyFrame:
    """``line_no``/``line`` of every physical line, as :func:`textio.read_lines` counts them, lazily.

    Plain files are scanned with polars' CSV reader on a separator byte (0x1F) that text
    never contains, the fastest reader for whole loads (it buffers the file, so use
    :func:`stream_lines` where memory matters); a line holding that byte makes the collect
    fail and :func:`collect_lines` falls back to :func:`textio.read_lines`. Gzip files
    and empty files are read with textio directly.
    """
    if _is_gzip(path) or path.stat().st_size == 0:
        return textio.read_lines(path).lazy()
    return pl.scan_csv(path, **textio.LINES_AS_CSV, row_index_name="line_no", row_index_offset=1).with_columns(
        pl.col("line").fill_null("")
    )


def stream_lines(path: Path, batch_bytes: int = 1 << 20) -> pl.LazyFrame:
    """``line_no``/``line`` of every physical line as a lazy source that reads the file in batches.

    Lines are cut exactly as :func:`textio.read_lines` cuts them (each batch goes through
    :func:`textio.lines_frame`), gzip is decompressed as it is read, and memory holds a
    few batches at a time: the source for files larger than memory. (Polars' CSV scanner,
    even streamed, buffers the whole file; the engine reads a few batches ahead, so keep
    them small: 1 MiB batches kept a 177 MiB log's windowed scan at a 131 MiB peak.)
    """
    import gzip

    from polars.io.plugins import register_io_source

    def batches(data: bytes, offset: int) -> pl.DataFrame:
        if offset and data.startswith(b"\xef\xbb\xbf"):  # a BOM inside the file is text: keep it
            return textio.lines_frame(b"\n" + data).slice(1).with_columns(pl.col("line_no") + offset - 1)
        return textio.lines_frame(data).with_columns(pl.col("line_no") + offset)

    def source(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        offset, rest, first = 0, b"", True
        opener = gzip.open if _is_gzip(path) else open
        with opener(path, "rb") as fh:
            while True:
                chunk = fh.read(batch_bytes)
                data = rest + chunk
                if chunk:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:  # one line longer than a batch: keep reading
                        rest = data
                        continue
                    data, rest = data[:cut], data[cut:]
                if first:
                    data, first = data.removeprefix(b"\xef\xbb\xbf"), False
                if data:
                    df = batches(data, offset)
                    offset += df.height
                    if predicate is not None:
                        df = df.filter(predicate)
                    if with_columns is not None:
                        df = df.select(with_columns)
                    if n_rows is not None:
                        df = df.head(n_rows)
                        n_rows -= df.height
                    yield df
                    if n_rows == 0:
                        return
                if not chunk:
                    return

    return register_io_source(source, schema={"line_no": pl.UInt32, "line": pl.String}, explain_name="pmkit lines")


def collect_lines(
    files: Sequence[Path], build: Callable[[pl.LazyFrame, Path], pl.LazyFrame], *, streaming: bool = True
) -> pl.DataFrame:
    """Run ``build(lines, path)`` over every file as one lazy query (regexes compiled once)."""
    engine = "streaming" if streaming else "auto"

    def plan(eager: bool) -> pl.LazyFrame:
        parts = [build(textio.read_lines(f).lazy() if eager else scan_lines(f), f) for f in files]
        return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")

    try:
        return plan(False).collect(engine=engine)
    except pl.exceptions.PolarsError:
        # a 0x1F byte (or anything else the CSV scanner refuses): read the lines as textio does
        return plan(True).collect(engine=engine)


_BLANK = ~pl.col("line").str.contains(r"\S")


def _split_result(df: pl.DataFrame, cols: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events (rows without a reason) and rejects (the others) of a parsed frame."""
    bad = df.get_column("reason").is_not_null()
    if not bad.any():
        return df.select(cols), rejects_frame([], [], [])
    rejects = df.filter(bad).select("origin", "reason", "raw")
    return df.filter(~bad).select(cols), rejects_frame(
        rejects.get_column("origin"), rejects.get_column("reason"), rejects.get_column("raw")
    )


# ---------------------------------------------------------------------------- access logs

_Q = r'"((?:[^"\\]|\\.)*)"'


def _rx(template: str) -> str:
    """Regex templates: ``@`` inside a character class stands for the control characters."""
    return template.replace("@", r"\x00-\x1f")


# Access-log regexes are one-pass (each byte decides the next state), which keeps polars' capture
# engine fast, and exclude raw control characters: the rare line holding one is escaped and
# matched again (see access_plan), so the JSON built from the fields never needs a control check.
_QOPEN = _rx(r'"((?:[^"\\@]|\\[^@])*)')  # an opening quote and the content
_QA = _QOPEN + '"'
_ACCESS_HEAD = (
    _rx(r'^([^ \[,"@]*)((?:[,"][^ \[@]*)?) ([^ \[@]*) ([^ \[@]*) ([^\[@]*)\[([^\]@]*)\] ')
    + _QA
    + r" ([0-9]{3}) ([0-9]+|-)"
)
ACCESS_REGEX = {
    "common": _ACCESS_HEAD + _rx(r"([^@]*)$"),
    # the user agent may lack its closing quote (a line cut short): then the tail group is null
    "combined": _ACCESS_HEAD + " " + _QA + " " + _QOPEN + _rx(r'(?:"([^@]*))?$'),
}
# The second pass (lines that failed the first, with control characters escaped) may backtrack:
# it also takes a cut-short user agent that ends in a lone backslash.
_ACCESS_RETRY = {
    "common": ACCESS_REGEX["common"],
    "combined": _ACCESS_HEAD + " " + _QA + " " + _QOPEN[:-1] + r"\\?)" + _rx(r'(?:"([^@]*))?$'),
}
_HEAD_GROUPS = ["_p1", "_p1x", "_p2", "_p3", "_p4", "_ts", "_request", "_status", "_bytes"]
_ACCESS_GROUPS = {
    "common": [*_HEAD_GROUPS, "_tail"],
    "combined": [*_HEAD_GROUPS, "_referer", "_ua", "_tail"],
}
ACCESS_LAYOUT = {
    "common": 'client ident user [time] "request" status bytes',
    "combined": 'client ident user [time] "request" status bytes "referer" "user-agent"',
}
# what precedes " [time]": [vhost] [forwarded chain (quoted or a, b)] remote ident user
_PREFIX_REGEX = r'^(?:([^ ,"]+) )?(?:("[^"]*"|[^ ,"]+(?:, [^ ,"]+)*) )?([^ ,"]+(?:, [^ ,"]+)*) ([^ ]+) ([^ ]+) $'
_PRIVATE_ADDR = (
    r"^(?:10\.|127\.|0\.|192\.168\.|172\.(?:1[6-9]|2[0-9]|3[01])\.|169\.254\.|100\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|"
    r"::1$|::$|[fF][cCdD][0-9a-fA-F]{0,2}:|[fF][eE]80:|unix:|localhost$|-$)"
)
_KEY = r"[A-Za-z_][\w.-]*"
_PAIR = _KEY + r'=(?:"(?:[^"\\]|\\.)*"|[^ ]*)'
_DURATION_KEYS = ("rt", "request_time", "urt")
_USER_KEYS = ("uid", "user", "user_id")
_ACCESS_STD_KEYS = {"bytes", "client", "duration_s", "forwarded_for", "ident", "method", "path", "protocol"} | {
    "referer", "remote_addr", "status", "trailing", "truncated", "user", "user_agent", "vhost"
}  # fmt: skip
_ACCESS_TS_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
_MAX_KEY_CANDIDATES = 64


def _trailing_key_candidates(lines: pl.LazyFrame) -> list[str]:
    """Every `` key=`` token in the lines: a superset of the trailing keys, found without parsing."""
    found = (
        lines.select(pl.col("line").str.extract_all(" " + _KEY + "=").alias("k"))
        .explode("k")
        .select(pl.col("k").drop_nulls().str.slice(1).str.strip_suffix("=").unique())
    )
    return sorted(found.collect(engine="streaming").get_column("k").to_list())


def _trailing_keys_exact(lines: pl.LazyFrame, fmt: str) -> list[str]:
    """The keys of trailing ``key=value`` pairs, from the parsed tails (used when the cheap scan finds too many)."""
    tail = pl.col("line").str.extract(ACCESS_REGEX[fmt], len(_ACCESS_GROUPS[fmt]))
    found = (
        lines.select(tail.str.extract_all(" " + _PAIR).alias("k"))
        .explode("k")
        .select(pl.col("k").drop_nulls().str.extract(r"^ (" + _KEY + ")=", 1).unique())
    )
    return sorted(k for k in found.collect(engine="streaming").get_column("k").to_list() if k)


def access_keys(files: Sequence[Path], fmt: str) -> list[str]:
    """The trailing ``key=value`` keys used in these files: one streamed pass (exact when the cheap one finds many)."""
    keys: set[str] = set()
    for f in files:
        keys.update(_trailing_key_candidates(stream_lines(f)))
    if len(keys) > _MAX_KEY_CANDIDATES:
        keys = set()
        for f in files:
            keys.update(_trailing_keys_exact(stream_lines(f), fmt))
    return sorted(keys)


def _access_ts(raw: pl.Expr, ts_format: str | None, tz: str | None) -> pl.Expr:
    if ts_format:
        return timeutil.ts_expr(raw, ts_format, tz)
    return pl.coalesce(
        timeutil.ts_expr(raw, _ACCESS_TS_FORMAT, tz, normalised=False),
        timeutil.ts_expr(raw, "%d/%b/%Y:%H:%M:%S", tz, normalised=False),
    )


def _trailing_value(tail: pl.Expr, key: str) -> pl.Expr:
    """The value of `` key=`` in the trailing text (quotes removed), by literal search rather than a regex."""
    rest = tail.str.slice(tail.str.find(" " + key + "=", literal=True) + len(key) + 2)
    bare = rest.str.split_exact(" ", 1).struct.field("field_0")
    quoted = pl.when(rest.str.starts_with('"')).then(rest).str.extract(r'^"((?:[^"\\]|\\.)*)"', 1)
    return pl.coalesce(quoted, bare)


def access_plan(
    lines: pl.LazyFrame,
    path: Path | str,
    fmt: str,
    keys: Sequence[str] = (),
    *,
    ts_format: str | None = None,
    timezone: str | None = None,
    check_keys: bool = False,
) -> pl.LazyFrame:
    """The lazy query turning ``line_no``/``line`` into event columns plus ``reason`` and ``raw``.

    ``reason`` is null for parsed lines; ``raw`` keeps the line only where it is not.
    ``keys`` are the trailing ``key=value`` keys to expect (see :func:`access_keys`);
    ``check_keys`` adds ``unknown_tail``, the trailing text of lines that may hold others.
    Every step is a column expression; per-row work that only a few lines need (control
    characters, forwarded chains, odd requests, escapes) runs on those lines only.
    """
    combined = fmt == "combined"
    col = pl.col
    names = _ACCESS_GROUPS[fmt]
    rx = ACCESS_REGEX[fmt]
    first = col("line").str.extract_groups(rx).struct.rename_fields(names)
    # a line with raw control characters fails `rx`; it is matched again with them written as \u00XX
    fixed = pl.when(first.struct.field("_p1").is_null()).then(col("line")).str.replace_many(_CTRL, _CTRL_ESC)
    lf = lines.with_columns(_g=first, _fixed=fixed)
    lf = lf.with_columns(
        _g=pl.when(col("_g").struct.field("_p1").is_null())
        .then(col("_fixed").str.extract_groups(_ACCESS_RETRY[fmt]).struct.rename_fields(names))
        .otherwise(col("_g")),
    ).unnest("_g")

    # fields before "[time]": "client ident user " straight from the regex; vhosts and chains by a second regex
    simple = (col("_p1x") == "") & (col("_p4") == "")
    p1 = pl.when(~simple).then(col("_p1"))  # null on the common lines, so the concat and regex skip them
    prefix = pl.concat_str(p1, col("_p1x"), pl.lit(" "), col("_p2"), pl.lit(" "), col("_p3"), pl.lit(" "), col("_p4"))
    request = col("_request").str.splitn(" ", 3)
    lf = lf.with_columns(
        _simple=simple,
        _cx=prefix.str.extract_groups(_PREFIX_REGEX).struct.rename_fields(["vhost", "xff", "remote", "ident", "user"]),
        _rq=request,
        _rq_odd=request.struct.field("field_2").str.contains(" ", literal=True),
        _status_i=col("_status").cast(pl.Int32, strict=False),
        _bytes_i=col("_bytes").cast(pl.Int64, strict=False),
        _ts_parsed=_access_ts(col("_ts"), ts_format, timezone),
    )
    cx = col("_cx").struct.field
    chain = pl.concat_str(cx("xff").str.strip_chars('"'), pl.lit(", "), cx("remote")).fill_null(cx("remote"))
    rq = col("_rq").struct.field
    rq_odd = pl.when(col("_rq_odd")).then(col("_request")).str.extract_groups(r"^([^ ]+) (.*) ([^ ]+)$")
    lf = lf.with_columns(
        _addrs=pl.when(~col("_simple")).then(chain).str.split(", "),
        _chain=chain,
        _ident=pl.when(col("_simple")).then(col("_p2")).otherwise(cx("ident")),
        _ruser=pl.when(col("_simple")).then(col("_p3")).otherwise(cx("user")),
        _method=pl.when(col("_rq_odd"))
        .then(rq_odd.struct.field("1"))
        .otherwise(pl.when(rq("field_1").is_not_null()).then(rq("field_0"))),
        _path=pl.when(col("_rq_odd")).then(rq_odd.struct.field("2")).otherwise(rq("field_1")),
        _protocol=pl.when(col("_rq_odd")).then(rq_odd.struct.field("3")).otherwise(rq("field_2")),
    )
    public = pl.element().filter(~pl.element().str.contains(_PRIVATE_ADDR))
    lf = lf.with_columns(
        _client=pl.when(col("_simple"))
        .then(col("_p1"))
        .otherwise(pl.coalesce(col("_addrs").list.eval(public).list.first(), col("_addrs").list.first())),
        _multi=col("_addrs").list.len() > 1,
    )

    # trailing key=value pairs
    tval = {k: col(f"_t{i}") for i, k in enumerate(keys)}
    if keys:
        lf = lf.with_columns([_trailing_value(col("_tail"), k).alias(f"_t{i}") for i, k in enumerate(keys)])
    durations = []
    for k in _DURATION_KEYS:
        if k in tval:
            v = tval[k]
            num = v.cast(pl.Float64, strict=False)
            # "0.050, 0.020" (one time per upstream tried): the first number, parsed only where the cast failed
            first = pl.when(num.is_null()).then(v).str.extract(r"^([0-9]+(?:\.[0-9]*)?)", 1).cast(pl.Float64)
            num = pl.coalesce(num, first)
            durations.append(pl.when(num.is_finite()).then(num))
    duration = pl.coalesce(durations) if durations else pl.lit(None, dtype=pl.Float64)
    ruser = pl.when(col("_ruser") != "-").then(col("_ruser"))
    user = pl.coalesce([ruser, *(pl.when(tval[k] != "").then(tval[k]) for k in _USER_KEYS if k in tval)])
    all_pairs = col("_tail").str.contains(r"^(?: +(?:" + _PAIR + r'|"-"))* *$')
    rest = pl.when(~all_pairs).then(col("_tail")).str.replace_all(r" +(?:" + _PAIR + r'|"-")', "").str.strip_chars()

    logq = partial(_json_str, log_escaped=True)
    plain = _unescape_log

    def dash_null(c: str) -> pl.Expr:
        return pl.when(col(c) != "-").then(col(c)) if combined else pl.lit(None, pl.String)

    members = [
        Member("status", col("_status_i").cast(pl.String), True),
        Member("method", logq(col("_method")), True),
        Member("path", logq(col("_path")), True),
        Member("protocol", logq(col("_protocol")), True),
        Member("bytes", col("_bytes_i").cast(pl.String), True),
        Member("client", logq(col("_client")), True),
        Member("user", logq(user), True),
        Member("referer", logq(dash_null("_referer")), True),
        Member("user_agent", logq(dash_null("_ua")), True),
        Member("duration_s", duration.cast(pl.String), True),
        Member("vhost", logq(cx("vhost"))),
        Member("remote_addr", logq(pl.when(col("_multi")).then(col("_addrs").list.last()))),
        Member("forwarded_for", logq(pl.when(col("_multi")).then(col("_chain")))),
        Member("ident", logq(pl.when(col("_ident") != "-").then(col("_ident")))),
        Member("trailing", logq(pl.when(rest != "").then(rest))),
    ]
    if combined:
        members.append(
            Member("truncated", pl.when(col("_tail").is_null() & col("_p1").is_not_null()).then(pl.lit("true")))
        )
    for key, value in tval.items():
        members.append(Member(f"trailing_{key}" if key in _ACCESS_STD_KEYS else key, logq(value)))

    status_s = col("_status")
    message = (
        pl.when(col("_method").is_not_null())
        .then(pl.concat_str(col("_method"), pl.lit(" "), plain(col("_path")), pl.lit(" "), status_s))
        .when(col("_request") == "")
        .then(pl.concat_str(pl.lit("(empty request) "), status_s))
        .otherwise(pl.concat_str(plain(col("_request")), pl.lit(" "), status_s))
    )
    level = (
        pl.when(col("_status_i") >= 500)
        .then(pl.lit("error"))
        .when(col("_status_i") >= 400)
        .then(pl.lit("warning"))
        .otherwise(pl.lit("info"))
    )
    expected = ts_format or _ACCESS_TS_FORMAT
    unmatched = col("_p1").is_null()
    reason = (
        pl.when(unmatched & ~pl.when(unmatched).then(col("line")).str.contains(r"\S"))
        .then(pl.lit("blank line"))
        .when(unmatched)
        .then(pl.lit(f"does not match the {fmt} log format (expected {ACCESS_LAYOUT[fmt]})"))
        .when(col("_client").is_null() | col("_ruser").is_null())
        .then(pl.lit("cannot read the client, ident and user fields before [time]"))
        .when(col("_ts_parsed").is_null())
        .then(pl.concat_str(pl.lit("unreadable timestamp '"), col("_ts"), pl.lit(f"' (expected {expected})")))
    )
    extra = {}
    if check_keys:
        known = pl.sum_horizontal([v.is_not_null().cast(pl.UInt32) for v in tval.values()]) if tval else pl.lit(0)
        extra["unknown_tail"] = pl.when(col("_tail").str.count_matches("=", literal=True) > known).then(col("_tail"))
    return lf.select(
        ts=col("_ts_parsed"),
        kind=pl.lit("log"),
        level=level,
        actor=plain(ruser),
        message=message,
        attrs=json_object(members),
        origin=origin_expr(path),
        reason=reason,
        raw=pl.when(reason.is_not_null()).then(col("line")),
        **extra,
    )


_EVENT_COLS = ("ts", "kind", "level", "actor", "message", "attrs", "origin")


def _keys_in_tails(tails: pl.Series) -> set[str]:
    pairs = tails.str.extract_all(" " + _PAIR).explode().drop_nulls()
    return {k for k in pairs.str.extract(r"^ (" + _KEY + ")=", 1).drop_nulls().unique().to_list() if k}


def _sample_keys(files: Sequence[Path], fmt: str, n: int = 10_000) -> list[str]:
    """Trailing keys in the first ``n`` lines of each file (the load checks the rest and reruns if needed)."""
    keys: set[str] = set()
    tail = pl.col("line").str.extract(ACCESS_REGEX[fmt], len(_ACCESS_GROUPS[fmt])).alias("tail")
    for f in files:
        try:
            head = scan_lines(f).head(n).select(tail).collect()
        except pl.exceptions.PolarsError:
            head = textio.read_lines(f).head(n).select(tail)
        keys |= _keys_in_tails(head.get_column("tail").drop_nulls())
    return sorted(keys)


def _load_access(req: LoadRequest, fmt: str) -> LoadResult:
    files = req.files()
    keys = _sample_keys(files, fmt)

    def run_with(keys: Sequence[str]) -> pl.DataFrame:
        return collect_lines(
            files,
            lambda lines, path: access_plan(
                lines, path, fmt, keys, ts_format=req.ts_format, timezone=req.timezone, check_keys=True
            ),
        )

    df = run_with(keys)
    tails = df.get_column("unknown_tail").drop_nulls()
    if tails.len() and _keys_in_tails(tails) - set(keys):  # keys first seen after the sample: parse again
        df = run_with(sorted(set(keys) | _keys_in_tails(tails)))
    events, rejects = _split_result(df, _EVENT_COLS)
    notes: list[str] = []
    if req.ts_format and not timeutil.is_aware(req.ts_format) and req.timezone is None:
        notes.append(f"ts_format {req.ts_format!r} has no UTC offset; times read as UTC (set timezone)")
    return LoadResult(events, rejects, inputs=df.height, parsed_inputs=events.height, notes=tuple(notes))


def scan_access_log(
    path: str | Path,
    window: tuple[dt.datetime, dt.datetime] | None = None,
    *,
    format: str = "combined",
    keys: Sequence[str] | None = None,
    ts_format: str | None = None,
    timezone: str | None = None,
) -> pl.LazyFrame:
    """A lazy events query over an access log too large for memory, filtered to ``window`` while scanning.

    Collect it with ``.collect(engine="streaming")``: lines are read (:func:`stream_lines`),
    parsed and dropped in batches, so memory follows the rows kept, not the file. ``window`` is
    ``(start, end)``, end exclusive; naive datetimes are read as UTC. Rejected lines are
    not returned here (use :func:`pmkit.load` for the full accounting). ``keys`` (the
    trailing ``key=value`` keys) are found by a first streamed pass when not given.
    """
    p = Path(path)
    if format not in ACCESS_REGEX:
        raise SourceError(f"{p}: format {format!r} is not an access log format; expected one of {sorted(ACCESS_REGEX)}")
    if keys is None:
        keys = access_keys([p], format)
    lf = access_plan(stream_lines(p), p, format, keys, ts_format=ts_format, timezone=timezone)
    lf = lf.filter(pl.col("reason").is_null())
    if window is not None:
        start, end = (_as_utc(w) for w in window)
        lf = lf.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
    return lf.select(_EVENT_COLS)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


_COMBINED_PY = re.compile(ACCESS_REGEX["combined"])
_COMMON_PY = re.compile(ACCESS_REGEX["common"])


def _share(head: str, pred: Callable[[str], bool]) -> float:
    lines = [ln for ln in head.splitlines() if ln.strip()]
    return sum(1 for ln in lines if pred(ln)) / len(lines) if lines else 0.0


def _sniff_combined(head: str) -> bool:
    return _share(head, lambda ln: bool(_COMBINED_PY.match(ln))) >= 0.5


def _sniff_common(head: str) -> bool:
    return _share(head, lambda ln: bool(_COMMON_PY.match(ln))) >= 0.5 and not _sniff_combined(head)


@register(
    "logs",
    "combined",
    description="nginx/Apache combined access log (vhost, X-Forwarded-For chains, trailing key=value such as rt=)",
    example='203.0.113.9 - alice [14/Mar/2025:13:05:02 +0000] "GET /api/v1/payments HTTP/1.1" 502 173 "-" '
    '"curl/8.5.0" rt=0.085 uid=cus_123',
    sniff=_sniff_combined,
)
def load_combined(req: LoadRequest) -> LoadResult:
    """nginx/Apache ``combined`` access logs."""
    return _load_access(req, "combined")


@register(
    "logs",
    "common",
    description="Common Log Format access log (no referer or user agent; trailing key=value kept)",
    example='203.0.113.9 - - [14/Mar/2025:13:05:02 +0000] "GET /api/v1/payments HTTP/1.1" 502 173',
    sniff=_sniff_common,
)
def load_common(req: LoadRequest) -> LoadResult:
    """Common Log Format access logs."""
    return _load_access(req, "common")


# ---------------------------------------------------------------------------- nginx error log

_NGINX_HEAD = r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} "
_NGINX_REGEX = (
    r"^([0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}) \[([a-z]+)\] ([0-9]+)#([0-9]+): (?:\*([0-9]+) )?(.*)$"
)
# the context nginx appends: ", client: ..., server: ..., request: "...", ..." (the message is what comes before)
_NGINX_CONTEXT = (
    r"(?s)^(.*?)(?:, client: ([^,]*)(?:, server: ([^,]*))?"
    + "".join(f"(?:, {key}: {_Q})?" for key in ("request", "subrequest", "upstream", "host", "referrer"))
    + r")?$"
)
_NGINX_PY = re.compile(_NGINX_HEAD + r"\[(?:emerg|alert|crit|error|warn|notice|info|debug)\] [0-9]+#[0-9]+: ")


def _nginx_file(lines: pl.DataFrame, path: Path, req: LoadRequest) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Events, rejects and the number of lines in events, for one nginx error log."""
    col = pl.col
    df = lines.with_columns(_blank=_BLANK, _head=col("line").str.contains(_NGINX_HEAD))
    df = df.with_columns(_gid=(col("_head") & ~col("_blank")).cast(pl.UInt32).cum_sum())
    orphan = df.filter(~col("_blank") & (col("_gid") == 0))
    blank = df.filter(col("_blank"))
    body = df.filter(~col("_blank") & (col("_gid") > 0))
    entries = body.group_by("_gid", maintain_order=True).agg(
        line_no=col("line_no").first(),
        head=col("line").first(),
        cont=col("line").slice(1).str.join("\n"),
        n=pl.len(),
        line_nos=col("line_no"),
        lines=col("line"),
    )
    g = col("head").str.extract_groups(_NGINX_REGEX).struct.rename_fields(["ts", "lvl", "pid", "tid", "cid", "text"])
    entries = entries.with_columns(_g=g).unnest("_g")
    full = pl.when(col("n") > 1).then(pl.concat_str(col("text"), pl.lit("\n"), col("cont"))).otherwise(col("text"))
    entries = entries.with_columns(_full=full)
    names = ["msg", "client", "server", "request", "subrequest", "upstream", "host", "referrer"]
    ctx = col("_full").str.extract_groups(_NGINX_CONTEXT).struct.rename_fields(names)
    fmt = req.ts_format or "%Y/%m/%d %H:%M:%S"
    entries = entries.with_columns(_c=ctx, _ts=timeutil.ts_expr(col("ts"), fmt, req.timezone))
    c = col("_c").struct.field
    msg = c("msg").str.extract(r"^([^\n]*)", 1).str.strip_suffix("\r")
    members = [
        Member("pid", col("pid").cast(pl.Int64, strict=False).cast(pl.String)),
        Member("tid", col("tid").cast(pl.Int64, strict=False).cast(pl.String)),
        Member("cid", col("cid").cast(pl.Int64, strict=False).cast(pl.String)),
        Member("full_message", pl.when(col("n") > 1).then(_json_str(col("_full")))),
        *(Member(k, _json_str(c(k))) for k in ("client", "server")),
        *(Member(k, _json_str(_unescape_log(c(k)))) for k in ("request", "subrequest", "upstream", "host", "referrer")),
    ]
    reason = (
        pl.when(col("ts").is_null())
        .then(pl.lit("does not match the nginx error log format (expected YYYY/MM/DD HH:MM:SS [level] pid#tid: ...)"))
        .when(col("_ts").is_null())
        .then(pl.concat_str(pl.lit("unreadable timestamp '"), col("ts"), pl.lit(f"' (expected {fmt})")))
    )
    entries = entries.with_columns(
        ts=col("_ts"),
        kind=pl.lit("log"),
        level=col("lvl").replace_strict(LEVEL_NAMES, default=None, return_dtype=pl.String),
        message=msg,
        attrs=json_object(members),
        origin=origin_expr(path),
        reason=reason,
    )
    good = entries.filter(col("reason").is_null())
    bad = entries.filter(col("reason").is_not_null())
    bad_lines = bad.select("line_nos", "lines", "reason", first=col("line_no")).explode("line_nos", "lines")
    bad_lines = bad_lines.with_columns(
        reason=pl.when(col("line_nos") == col("first"))
        .then(col("reason"))
        .otherwise(pl.concat_str(pl.lit("continuation of the rejected entry at line "), col("first").cast(pl.String)))
    )
    where = f"{path}:"
    rejects = pl.concat(
        [
            blank.select(
                origin=pl.lit(where) + col("line_no").cast(pl.String), reason=pl.lit("blank line"), raw=col("line")
            ),
            orphan.select(
                origin=pl.lit(where) + col("line_no").cast(pl.String),
                reason=pl.lit("continuation line with no entry before it (expected YYYY/MM/DD HH:MM:SS [level] ...)"),
                raw=col("line"),
            ),
            bad_lines.select(
                origin=pl.lit(where) + col("line_nos").cast(pl.String), reason=col("reason"), raw=col("lines")
            ),
        ]
    )
    events = good.select("ts", "kind", "level", "message", "attrs", "origin")
    return events, rejects, int(good.get_column("n").sum() or 0)


@register(
    "logs",
    "nginx-error",
    description="nginx error log; continuation lines (FastCGI 'PHP message:') joined to their entry",
    example="2025/03/14 13:05:02 [error] 31#31: *4521 upstream timed out (110: Connection timed out) while reading "
    'response header from upstream, client: 203.0.113.9, server: api.example.com, request: "GET /api/v1/payments '
    'HTTP/1.1", upstream: "http://10.0.3.7:8080/api/v1/payments", host: "api.example.com"',
    sniff=lambda head: _share(head, lambda ln: bool(_NGINX_PY.match(ln))) >= 0.5,
)
def load_nginx_error(req: LoadRequest) -> LoadResult:
    """nginx error logs: one event per entry, continuation lines joined."""
    events, rejects, inputs, parsed = [], [], 0, 0
    for path in req.files():
        lines = textio.read_lines(path)
        ev, rj, n = _nginx_file(lines, path, req)
        events.append(ev)
        rejects.append(rj)
        inputs += lines.height
        parsed += n
    frame = pl.concat(events)
    rej = pl.concat([_in_line_order(r) for r in rejects])
    notes = []
    if req.timezone is None and not (req.ts_format and timeutil.is_aware(req.ts_format)):
        notes.append("nginx error log times have no UTC offset; read as UTC (set timezone)")
    return LoadResult(
        frame,
        rejects_frame(rej.get_column("origin"), rej.get_column("reason"), rej.get_column("raw")),
        inputs=inputs,
        parsed_inputs=parsed,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------- JSON decoding

_PROBE_SCHEMA = {"__pmkit_probe__": pl.String}
_LEAF = 256


def _to_ndjson_bytes(texts: pl.Series) -> bytes:
    """Join strings into NDJSON bytes without going through Python strings."""
    buf = io.BytesIO()
    texts.rename("l").to_frame().write_csv(buf, include_header=False, quote_style="never")
    return buf.getvalue()


def _json_error(text: str) -> str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} at column {exc.colno}"
    except (RecursionError, ValueError) as exc:
        return f"not valid JSON: {exc}"
    if isinstance(value, dict):
        return ""
    return f"a JSON {type(value).__name__.replace('str', 'string').replace('dict', 'object')}, not an object"


def _syntax_check(texts: pl.Series) -> pl.Series:
    """Reason per text ('' when it is a JSON object), found by bisecting polars reads; Python only on small leaves."""
    reasons = [""] * texts.len()

    def visit(lo: int, hi: int) -> None:
        if lo >= hi:
            return
        chunk = texts.slice(lo, hi - lo)
        try:
            pl.read_ndjson(_to_ndjson_bytes(chunk), schema=_PROBE_SCHEMA)
            return
        except pl.exceptions.PolarsError:
            pass
        if hi - lo <= _LEAF:
            for i, text in enumerate(chunk.to_list(), start=lo):
                reasons[i] = _json_error(text)
            return
        mid = (lo + hi) // 2
        visit(lo, mid)
        visit(mid, hi)

    step = 1 << 16
    for start in range(0, texts.len(), step):
        visit(start, min(start + step, texts.len()))
    return pl.Series("reason", reasons, dtype=pl.String)


def _python_records(texts: pl.Series) -> tuple[pl.DataFrame, list[str]]:
    """Decode with Python's json, unifying conflicting types (they become JSON text) so polars can hold them."""
    objs = [json.loads(t) for t in texts.to_list()]
    conflicts: list[str] = []
    _unify(objs, "", conflicts)
    payload = "\n".join(json.dumps(o, ensure_ascii=False, allow_nan=False) for o in objs).encode("utf-8", "replace")
    return pl.read_ndjson(payload, infer_schema_length=None), conflicts


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int" if -(2**63) <= v < 2**63 else "bigint"
    if isinstance(v, float):
        return "float" if math.isfinite(v) else "nonfinite"
    if isinstance(v, str):
        return "str"
    return "dict" if isinstance(v, dict) else "list"


def _unify(objs: list[Any], where: str, conflicts: list[str]) -> None:
    """Make every key's values one JSON type across records (in place); conflicting keys become strings."""
    keys: dict[str, set[str]] = {}
    for o in objs:
        for k, v in o.items():
            keys.setdefault(k, set()).add(_kind(v))
    for k, kinds in keys.items():
        kinds.discard("null")
        path = f"{where}.{k}" if where else k
        if kinds <= {"int", "float"} or (len(kinds) == 1 and kinds <= {"str", "bool"}):
            continue
        if kinds == {"dict"}:
            _unify([o[k] for o in objs if isinstance(o.get(k), dict)], path, conflicts)
            continue
        if kinds == {"list"}:
            elems = [e for o in objs if isinstance(o.get(k), list) for e in o[k]]
            ekinds = {_kind(e) for e in elems} - {"null"}
            if ekinds == {"dict"}:
                _unify(elems, path + "[]", conflicts)
                continue
            if ekinds <= {"int", "float"} or (len(ekinds) <= 1 and ekinds <= {"str", "bool"}):
                continue
        conflicts.append(path)
        for o in objs:
            v = o.get(k)
            if v is not None and not isinstance(v, str):
                o[k] = json.dumps(v, ensure_ascii=False) if _kind(v) not in ("nonfinite",) else str(v)


def _float_paths(dtype: pl.DataType, expr: pl.Expr) -> list[pl.Expr]:
    """For every float field (nested ones too), whether a value is at least 2**63 in size."""
    if dtype == pl.Float64:
        return [(expr.abs() >= 2.0**63).any()]
    if isinstance(dtype, pl.Struct):
        return [e for f in dtype.fields for e in _float_paths(f.dtype, expr.struct.field(f.name))]
    if isinstance(dtype, pl.List) and _float_paths(dtype.inner, pl.element()):
        return [expr.list.eval(pl.any_horizontal(_float_paths(dtype.inner, pl.element()))).list.any().any()]
    return []


def _has_temporal(dtype: pl.DataType) -> bool:
    if dtype.is_temporal():
        return True
    if isinstance(dtype, pl.Struct):
        return any(_has_temporal(f.dtype) for f in dtype.fields)
    return isinstance(dtype, pl.List) and _has_temporal(dtype.inner)


def read_ndjson_lossless(source: Path | bytes) -> pl.DataFrame:
    """Every field of every JSON line, its type inferred over all rows (``pl.read_ndjson`` looks at 100 by default).

    pyarrow's JSON reader goes first: it adds fields first seen late and runs on every core,
    2.7x faster here than polars inferring over all rows. Where it would read differently from
    polars, polars reads instead: when it refuses the input (a type conflict, a repeated key),
    turns a time-like string into a timestamp, or may have turned an integer beyond 64 bits into
    a float (any float of that size). Raises ``polars.exceptions.PolarsError`` as polars does. The
    order of fields (top-level and nested) may differ from polars'; the loaders go by name and sort
    nested fields when they write attrs.
    """
    import pyarrow as pa
    import pyarrow.json as pa_json

    try:
        table = pa_json.read_json(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except (pa.ArrowException, OSError, ValueError):
        table = None
    if table is not None:
        df = pl.DataFrame(table)
        if not any(_has_temporal(d) for d in df.schema.values()):
            checks = [e for name, d in df.schema.items() for e in _float_paths(d, pl.col(name))]
            if not checks or not any(df.select(e.alias(f"big{i}") for i, e in enumerate(checks)).row(0)):
                return df
    return pl.read_ndjson(source, infer_schema_length=None)


def decode_objects(texts: pl.Series) -> tuple[pl.DataFrame, pl.Series, list[str]]:
    """Decode JSON object texts (:func:`read_ndjson_lossless`, then polars and Python for the faulty ones).

    Returns the records (one row per text that is a JSON object, in order), the reason
    per input text (null for decoded ones; blank texts read ``blank line``) and the paths
    of fields whose types conflicted (kept as JSON text). The schema is inferred from
    every line (``read_ndjson`` by default looks at 100 and silently drops later fields).
    """
    blank = ~texts.str.contains(r"\S").fill_null(False)
    reason = pl.Series("reason", [None] * texts.len(), dtype=pl.String)
    reason = pl.select(pl.when(blank).then(pl.lit("blank line")).otherwise(reason)).to_series()
    cand = texts.filter(~blank)
    conflicts: list[str] = []
    if cand.len() == 0:
        return pl.DataFrame(), reason, conflicts
    try:
        records = read_ndjson_lossless(_to_ndjson_bytes(cand))
        if records.height == cand.len():
            return records, reason, conflicts
    except pl.exceptions.PolarsError:
        pass
    syntax = _syntax_check(cand)
    ok = syntax == ""
    good = cand.filter(ok)
    if good.len() == 0:
        records = pl.DataFrame()
    else:
        try:
            records = read_ndjson_lossless(_to_ndjson_bytes(good))
            if records.height != good.len():
                raise pl.exceptions.ComputeError("row count mismatch")
        except pl.exceptions.PolarsError:
            records, conflicts = _python_records(good)
    full = pl.Series("reason", [None] * texts.len(), dtype=pl.String)
    idx = pl.arange(0, texts.len(), eager=True).filter(~blank)
    full = full.scatter(idx, syntax.replace("", None))
    reason = pl.select(pl.coalesce(reason, full)).to_series()
    return records, reason, conflicts


# ---------------------------------------------------------------------------- records -> events

DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "time", "timestamp", "@timestamp", "t", "date"),
    "level": ("level", "severity", "lvl", "loglevel", "log.level", "levelname", "log_level"),
    "message": ("msg", "message", "log", "text", "event"),
    "service": ("service", "service.name", "app", "application"),
    "actor": (),
}
_COLUMNS = tuple(DEFAULT_FIELDS)


@dataclass
class _Field:
    """A candidate field found in the records: where it is and its values."""

    name: str
    top: str
    parts: tuple[str, ...]
    dtype: pl.DataType
    values: pl.Series


def _resolve(rec: pl.DataFrame, name: str) -> _Field | None:
    """Find ``name`` as a top-level key, or as a dotted path into nested objects."""
    if name in rec.columns:
        return _Field(name, name, (), rec.schema[name], rec.get_column(name))
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        top = ".".join(parts[:i])
        if top not in rec.columns:
            continue
        series, dtype = rec.get_column(top), rec.schema[top]
        for p in parts[i:]:
            if not isinstance(dtype, pl.Struct) or p not in [f.name for f in dtype.fields]:
                break
            dtype = dict((f.name, f.dtype) for f in dtype.fields)[p]
            series = series.struct.field(p)
        else:
            return _Field(name, top, tuple(parts[i:]), dtype, series)
    return None


def _mask(expr: pl.Expr, dtype: pl.DataType, parts: tuple[str, ...], keep: pl.Expr) -> pl.Expr:
    """``expr`` with the value at ``parts`` nulled where ``keep`` is false."""
    if not parts:
        return pl.when(keep).then(expr)
    assert isinstance(dtype, pl.Struct)
    fields = [
        (
            _mask(expr.struct.field(f.name), f.dtype, parts[1:], keep)
            if f.name == parts[0]
            else expr.struct.field(f.name)
        ).alias(f.name)
        for f in dtype.fields
    ]
    return pl.when(expr.is_not_null()).then(pl.struct(fields))


def _ts_values(values: pl.Series, req: LoadRequest, notes: list[str], name: str) -> pl.Series:
    """Parse one candidate time field to UTC (:func:`pmkit.timeutil.parse_ts`), noting times read without an offset."""
    if values.dtype == pl.String and req.ts_format is None:
        parsed, guess = timeutil.parse_ts(values, None, req.timezone)
        if guess is not None and guess.naive and req.timezone is None:
            notes.append(f"times in field {name!r} have no UTC offset; read as UTC (set timezone)")
        return parsed.cast(UTC_TS)
    if values.dtype == pl.String or values.dtype.is_numeric() or isinstance(values.dtype, pl.Datetime):
        parsed, _ = timeutil.parse_ts(values, req.ts_format, req.timezone)
        if (
            values.dtype == pl.String
            and req.ts_format
            and not timeutil.is_aware(req.ts_format)
            and req.ts_format not in timeutil.EPOCH_UNITS
            and req.timezone is None
        ):
            notes.append(f"ts_format {req.ts_format!r} has no UTC offset; times read as UTC (set timezone)")
        return parsed.cast(UTC_TS)
    return pl.Series(values.name, [None] * values.len(), dtype=UTC_TS)


def _column_values(column: str, f: _Field, req: LoadRequest, notes: list[str]) -> tuple[pl.Series, pl.Series] | None:
    """(value, used) for one candidate: ``used`` marks lines where the field fully went into the column."""
    v = f.values
    if column == "ts":
        out = _ts_values(v, req, notes, f.name)
        return out, out.is_not_null()
    if column == "level":
        if not (v.dtype == pl.String or v.dtype.is_numeric()):
            return None
        out = levels(v)
        return out, out.is_not_null()
    if v.dtype != pl.String:
        if column == "message" or not v.dtype.is_integer():
            return None
        v = v.cast(pl.String)
    if column == "message":
        # a multi-line message (a stack trace) gives its first line; the whole text stays in attrs
        multi = v.str.contains("\n", literal=True) | v.str.contains("\r", literal=True)
        if not multi.any():
            return v, v.is_not_null()
        trimmed = v.str.strip_chars_end("\r\n")
        first = pl.select(pl.coalesce(pl.when(multi).then(trimmed).str.extract(r"^([^\r\n]*)", 1), v)).to_series()
        return first, v.is_not_null() & ~trimmed.str.contains("\n", literal=True)
    out = v.str.strip_chars()
    out = out.to_frame("v").select(pl.when(pl.col("v") != "").then(pl.col("v"))).to_series()
    return out, out.is_not_null()


@dataclass
class _Mapped:
    frame: pl.DataFrame  # ts, level, message, service, actor, attrs
    reason: pl.Series  # null where the record became an event


def map_records(
    rec: pl.DataFrame, req: LoadRequest, notes: list[str], *, extra: dict[str, tuple[str, ...]] | None = None
) -> _Mapped:
    """Turn decoded records (JSON lines, logfmt) into event columns; see the module docstring for the rules.

    ``extra`` appends last-resort candidate fields per column (the Docker wrapper's time and text).
    """
    unknown = sorted(set(req.fields) - set(_COLUMNS))
    if unknown:
        raise SourceError(
            f"{req.path}: fields: cannot map {', '.join(map(repr, unknown))}; the columns a field can fill are "
            f"{', '.join(_COLUMNS)} (everything else goes to attrs by itself)"
        )
    height = rec.height
    values: dict[str, pl.Series] = {}
    used: dict[tuple[str, tuple[str, ...]], pl.Series] = {}
    looked: dict[str, list[str]] = {}
    ts_present = pl.Series([False] * height)
    for column in _COLUMNS:
        names = (req.fields[column],) if column in req.fields else DEFAULT_FIELDS[column]
        names = (*names, *(extra or {}).get(column, ()))
        looked[column] = list(names)
        taken = pl.Series([False] * height)
        vals = []
        for name in names:
            f = _resolve(rec, name)
            if f is None or (f.top, f.parts) in used:
                continue
            got = _column_values(column, f, req, notes)
            if got is None:
                continue
            val, ok = got
            used[(f.top, f.parts)] = ok & ~taken
            taken = taken | ok
            vals.append(val)
            if column == "ts":
                ts_present = ts_present | f.values.is_not_null()
        if vals:
            values[column] = pl.select(pl.coalesce(vals)).to_series() if len(vals) > 1 else vals[0]

    # attrs: every field, minus what went into a column on that line
    keep_cols = {f"__keep_{i}": ~mask for i, mask in enumerate(used.values())}
    keep_name = dict(zip(used, keep_cols, strict=True))
    members = []
    for name, dtype in rec.schema.items():
        expr = pl.col(name)
        for (top, parts), kname in keep_name.items():
            if top == name:
                expr = _mask(expr, dtype, parts, pl.col(kname))
        value = json_value(expr, dtype)
        if value is not None:
            members.append(Member(name, value))
    if members and height:
        # streamed, so both cores build the JSON text
        attrs = rec.lazy().with_columns(**keep_cols).select(json_object(members).alias("attrs"))
        attrs = attrs.collect(engine="streaming").to_series()
    else:
        attrs = pl.Series("attrs", ["{}"] * height, dtype=pl.String)

    message = values.get("message")
    message = attrs if message is None else pl.select(pl.coalesce(message, attrs)).to_series()
    null_str = pl.Series([None] * height, dtype=pl.String)
    ts = values.get("ts", pl.Series([None] * height, dtype=UTC_TS))
    names = ", ".join(looked["ts"])
    reason = pl.select(
        pl.when(ts.is_null()).then(
            pl.when(ts_present)
            .then(pl.lit(f"unreadable timestamp (looked in {names}; set ts_format)"))
            .otherwise(pl.lit(f"no timestamp field (looked for {names}; set fields: {{ts: <name>}})"))
        )
    ).to_series()
    out = pl.DataFrame(
        {
            "ts": ts.cast(UTC_TS),
            "level": values.get("level", null_str),
            "message": message.cast(pl.String),
            "service": values.get("service", null_str),
            "actor": values.get("actor", null_str),
            "attrs": attrs,
        }
    )
    return _Mapped(out, reason.alias("reason"))


# ---------------------------------------------------------------------------- JSON lines

_DOCKER = {"log", "stream", "time"}


def _is_docker(rec: pl.DataFrame, req: LoadRequest) -> bool:
    """Docker json-file lines: ``log`` (string), ``stream``, ``time`` and nothing else but ``attrs``."""
    cols = set(rec.columns)
    return cols >= _DOCKER and cols <= _DOCKER | {"attrs"} and rec.schema["log"] == pl.String and not req.fields


def _unwrap_docker(rec: pl.DataFrame, notes: list[str], path: Path) -> tuple[pl.DataFrame, dict[str, tuple[str, ...]]]:
    """Docker json-file records -> inner records (JSON decoded when the inner line is an object).

    The wrapper's ``time`` and the inner plain text become last-resort ``ts`` and ``message``
    candidates, so they are used only where the inner record has none (and kept in attrs otherwise).
    """
    inner = rec.get_column("log").str.strip_chars_end("\r\n")
    is_obj = (inner.str.contains(r"^\s*\{") & inner.str.contains(r"\}\s*$")).fill_null(False)
    decoded = pl.DataFrame()
    decoded_rows = pl.Series("__row", [], dtype=pl.UInt32)
    if is_obj.any():
        recs, reason, conflicts = decode_objects(inner.filter(is_obj))
        decoded_rows = is_obj.arg_true().filter(reason.is_null()).cast(pl.UInt32).alias("__row")
        if recs.width:
            decoded = (
                pl.DataFrame({"__row": pl.arange(0, rec.height, eager=True, dtype=pl.UInt32)})
                .join(recs.with_columns(decoded_rows), on="__row", how="left", maintain_order="left")
                .drop("__row")
            )
        notes.extend(f"{path.name}: field {c!r} has conflicting types; kept as JSON text" for c in conflicts)
    notes.append(f"{path.name}: Docker json-file lines unwrapped; inner JSON decoded on {decoded_rows.len():,} lines")
    taken = set(decoded.columns)

    def name(c: str) -> str:
        return f"docker_{c}" if c in taken else c

    is_text = pl.Series([True] * rec.height).scatter(decoded_rows, False) if decoded_rows.len() else None
    text = inner if is_text is None else pl.select(pl.when(is_text).then(inner)).to_series()
    wrapper = {name(c): rec.get_column(c) for c in rec.columns if c not in ("log", "time")}
    out = (
        decoded.with_columns(**wrapper, **{name("docker_time"): rec.get_column("time"), name("log"): text})
        if decoded.width
        else pl.DataFrame({**wrapper, "docker_time": rec.get_column("time"), "log": text})
    )
    return out, {"ts": (name("docker_time"),), "message": (name("log"),)}


def _count_lines(path: Path) -> int:
    """Physical lines as :func:`textio.read_lines` counts them, read in chunks (flat memory)."""
    n, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _read_jsonl(path: Path, notes: list[str]) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame, int, pl.Series | None]:
    """Records, their line numbers, rejects, the line count, and the line texts when they were read."""
    if not _is_gzip(path):
        try:
            n_lines = _count_lines(path)
            records = read_ndjson_lossless(path) if n_lines else None
        except pl.exceptions.PolarsError:
            records = None
        # as many rows as lines: every line was one JSON object (polars skips blank lines, fails on bad ones)
        if records is not None and records.height == n_lines:
            line_nos = pl.arange(1, n_lines + 1, eager=True, dtype=pl.UInt32)
            return records, line_nos, _no_rejects(), n_lines, None
    lines = textio.read_lines(path)
    texts = lines.get_column("line")
    records, reason, conflicts = decode_objects(texts)
    notes.extend(f"{path.name}: field {c!r} has conflicting types; kept as JSON text" for c in conflicts)
    ok = reason.is_null()
    origins = _origins(path, lines.get_column("line_no").filter(~ok))
    rejects = pl.DataFrame({"origin": origins, "reason": reason.filter(~ok), "raw": texts.filter(~ok)})
    return records, lines.get_column("line_no").filter(ok), rejects, lines.height, texts


def _origins(path: Path, line_nos: pl.Series) -> pl.Series:
    return line_nos.alias("line_no").to_frame().select(origin_expr(path).alias("origin")).to_series()


def _no_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema={"origin": pl.String, "reason": pl.String, "raw": pl.String})


def _finish(
    path: Path,
    records: pl.DataFrame,
    line_nos: pl.Series,
    req: LoadRequest,
    notes: list[str],
    raw_of: Callable[[pl.Series], pl.Series],
    extra: dict[str, tuple[str, ...]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Map records to events; records without a usable time go to the rejects."""
    mapped = map_records(records, req, notes, extra=extra)
    frame = mapped.frame.with_columns(origin=_origins(path, line_nos), kind=pl.lit("log"))
    bad = mapped.reason.is_not_null()
    if not bad.any():
        return frame, _no_rejects()
    rejects = pl.DataFrame(
        {
            "origin": frame.get_column("origin").filter(bad),
            "reason": mapped.reason.filter(bad),
            "raw": raw_of(line_nos.filter(bad)),
        }
    )
    return frame.filter(~bad), rejects


def _load_jsonl_file(path: Path, req: LoadRequest, notes: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    records, line_nos, rejects, n_lines, texts = _read_jsonl(path, notes)
    extra = None
    if records.width and _is_docker(records, req):
        records, extra = _unwrap_docker(records, notes, path)

    def raw_of(nos: pl.Series) -> pl.Series:
        all_texts = texts if texts is not None else textio.read_lines(path).get_column("line")
        return all_texts.gather(nos.cast(pl.Int64) - 1)

    events, more = _finish(path, records, line_nos, req, notes, raw_of, extra)
    return events, _in_line_order(pl.concat([rejects, more])), n_lines, events.height


def _in_line_order(rejects: pl.DataFrame) -> pl.DataFrame:
    return rejects.sort(pl.col("origin").str.extract(r":([0-9]+)$", 1).cast(pl.Int64), maintain_order=True)


def _sniff_jsonl(head: str) -> bool:
    def obj(ln: str) -> bool:
        try:
            return isinstance(json.loads(ln), dict)
        except ValueError:
            return False

    return _share(head, obj) >= 0.5


@register(
    "logs",
    "jsonl",
    description="JSON lines, any field names (fields: option), nested JSON, Docker json-file wrapping",
    example='{"ts":"2025-03-14T13:05:02.118Z","level":"error","msg":"payment authorisation failed",'
    '"service":"payments","user_id":"cus_123","err":"upstream timeout"}',
    sniff=_sniff_jsonl,
)
def load_jsonl(req: LoadRequest) -> LoadResult:
    """JSON lines: one event per JSON object line."""
    return _load_records(req, _load_jsonl_file)


def _load_records(
    req: LoadRequest, per_file: Callable[[Path, LoadRequest, list[str]], tuple[pl.DataFrame, pl.DataFrame, int, int]]
) -> LoadResult:
    notes: list[str] = []
    events, rejects, inputs, parsed = [], [], 0, 0
    for path in req.files():
        ev, rj, n_in, n_ok = per_file(path, req, notes)
        events.append(ev)
        rejects.append(rj)
        inputs += n_in
        parsed += n_ok
    frame = pl.concat(
        [e.select("ts", "kind", "service", "level", "actor", "message", "attrs", "origin") for e in events]
    )
    rej = pl.concat(rejects)
    return LoadResult(
        frame,
        rejects_frame(rej.get_column("origin"), rej.get_column("reason"), rej.get_column("raw")),
        inputs=inputs,
        parsed_inputs=parsed,
        notes=tuple(dict.fromkeys(notes)),
    )


# ---------------------------------------------------------------------------- logfmt

_LF_TOKEN = r'[^\s="]+(?:=(?:"(?:[^"\\]|\\.)*"|[^\s"]*))?'
_LF_LINE = r"^\s*(?:" + _LF_TOKEN + r"\s+)*" + _LF_TOKEN + r"\s*$"
_LF_PY = re.compile(_LF_LINE)
_LF_PAIR_PY = re.compile(r'(?:^|\s)[^\s="]+=')


def _logfmt_records(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Records (one row per logfmt line, string values) and a reason per line (null when parsed)."""
    col = pl.col
    ok_expr = col("line").str.contains(_LF_LINE) & col("line").str.contains("=", literal=True)
    df = lines.with_columns(_ok=ok_expr.fill_null(False), _blank=_BLANK)
    reason = df.select(
        pl.when(col("_blank"))
        .then(pl.lit("blank line"))
        .when(~col("_ok"))
        .then(pl.lit('not logfmt (expected key=value pairs, values with spaces in "quotes")'))
    ).to_series()
    good = df.filter(col("_ok")).select("line_no", "line")
    if good.height == 0:
        return pl.DataFrame(), reason
    toks = good.select("line_no", tok=col("line").str.extract_all(_LF_TOKEN)).explode("tok")
    kv = toks.with_columns(
        key=col("tok").str.extract(r"^([^=]+)", 1),
        raw=col("tok").str.extract(r"^[^=]+=(.*)$", 1),
    ).with_columns(
        value=pl.when(col("raw").is_null())
        .then(pl.lit("true"))
        .when(col("raw").str.starts_with('"') & col("raw").str.ends_with('"') & (col("raw").str.len_chars() >= 2))
        .then(
            col("raw")
            .str.slice(1, col("raw").str.len_chars() - 2)
            .str.replace_many(["\\\\", '\\"', "\\n", "\\t", "\\r"], ["\\", '"', "\n", "\t", "\r"], leftmost=True)
        )
        .otherwise(col("raw"))
    )
    wide = kv.pivot(on="key", index="line_no", values="value", aggregate_function="first", maintain_order=True)
    wide = good.select("line_no").join(wide, on="line_no", how="left", maintain_order="left").drop("line_no")
    return wide, reason


def _load_logfmt_file(path: Path, req: LoadRequest, notes: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    lines = textio.read_lines(path)
    texts = lines.get_column("line")
    records, reason = _logfmt_records(lines)
    ok = reason.is_null()
    rejects = pl.DataFrame(
        {
            "origin": _origins(path, lines.get_column("line_no").filter(~ok)),
            "reason": reason.filter(~ok),
            "raw": texts.filter(~ok),
        }
    )
    events, more = _finish(
        path,
        records,
        lines.get_column("line_no").filter(ok),
        req,
        notes,
        lambda nos: texts.gather(nos.cast(pl.Int64) - 1),
    )
    return events, _in_line_order(pl.concat([rejects, more])), lines.height, events.height


def _sniff_logfmt(head: str) -> bool:
    def ok(ln: str) -> bool:
        s = ln.strip()
        return not s.startswith(("{", "[")) and bool(_LF_PY.match(s)) and len(_LF_PAIR_PY.findall(s)) >= 2

    return _share(head, ok) >= 0.5


@register(
    "logs",
    "logfmt",
    description="logfmt key=value lines (ts/level/msg recognised like jsonl)",
    example='ts=2025-03-14T13:05:02.118Z level=error msg="payment authorisation failed" service=payments '
    "user_id=cus_123 duration=5.002s",
    sniff=_sniff_logfmt,
)
def load_logfmt(req: LoadRequest) -> LoadResult:
    """logfmt lines: one event per line of ``key=value`` pairs."""
    return _load_records(req, _load_logfmt_file)
