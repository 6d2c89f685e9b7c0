"""Access logs: the ``combined`` and ``common`` logs formats (nginx/Apache), and :func:`scan_access_log`.

Every physical line ends in an event (counted in ``parsed_inputs``) or in the rejects
with its ``path:line`` and a reason; blank lines are rejected as ``blank line``. A load
runs as one lazy, streamed query (curated anchored regexes, then ``strptime`` and casts).
The level comes from the status: 5xx ``error``, 4xx ``warning``, else ``info``.

``attrs`` (a JSON object with sorted keys, :func:`pmkit.sources.jsonattrs.members_json_object`)
always carries ``status`` (int), ``method``, ``path``, ``protocol`` (null for an empty or garbled
request), ``bytes`` (int, null for ``-``), ``client``, ``user``, ``referer`` and
``user_agent`` (null for ``-`` or, in ``common``, absent), ``duration_s`` (float from
a trailing ``rt=``, else ``request_time=``, else ``urt=``; null otherwise). Quoted
values are unescaped (``\\"`` -> ``"``, ``\\\\`` -> ``\\``, nginx ``\\x22``/``\\x5C``).
``client`` is the first public address of the forwarded chain (the X-Forwarded-For
order: originating client first) and else its first address, as Filebeat does;
``user`` is the remote user, or when that is ``-`` a trailing ``uid=``, ``user=``,
``user_id=`` or ``usr.id=`` value, else the first of those keys in the request's query string
(``/pay?uid=u_42``). ``trace_id`` (when found): a trailing ``trace_id=``, ``dd.trace_id=``, ``traceId=``,
``trace.id=`` or ``traceID=``, else one of those in the query string. ``options: {trailing_time: s}`` (or
``ms``, ``us``) reads an unnamed number after the fields (nginx ``... "$http_user_agent" $request_time``)
as the request time: ``duration_s`` when no ``rt=``/``request_time=``/``urt=`` says it, and not ``trailing``. When present: ``vhost`` (a leading virtual host), ``remote_addr``
and ``forwarded_for`` (the peer and the whole chain, when a chain was logged),
``ident`` (when not ``-``), every trailing ``key=value`` (values as strings, quotes
removed; a key that collides with one above is stored as ``trailing_<key>``) and
``trailing`` (any other trailing text except ``"-"``). ``message`` reads
``GET /api/v1/payments 502``; ``actor`` is the remote user when not ``-``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import polars as pl

from pmkit import timeutil
from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame
from pmkit.sources.jsonattrs import CTRL_CHARS, CTRL_ESCAPES, Member, json_str, members_json_object, unescape_log
from pmkit.sources.linescan import Outside, collect_lines, head_lines, share, stream_lines, windowed_chunks
from pmkit.sources.registry import register


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
_USER_KEYS = ("uid", "user", "user_id", "usr.id")
_TRACE_KEYS = ("trace_id", "dd.trace_id", "traceId", "trace.id", "traceID")
_TRAILING_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6}  # options.trailing_time: the unit of an unnamed trailing number
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


def _query_value(path: pl.Expr, key: str) -> pl.Expr:
    """The value of ``key`` in a request path's query string (``/pay?uid=u_42&x=1`` gives ``u_42``), or null;
    only on paths holding a ``?`` (the regex runs on those alone). ``path`` may be :func:`_query_paths`'s."""
    value = (
        pl.when(path.str.contains("?", literal=True))
        .then(path)
        .str.extract(r"\?(?:[^#\s]*&)?" + re.escape(key) + r"=([^&#\s]+)", 1)
    )
    return pl.when(value != "-").then(value)


def _query_paths(path: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    """``path`` where it holds ``key=`` for one of ``keys`` (taken literally), else null: every query-string
    regex for those keys needs that text, so the paths without it (most of them) skip the regexes, one
    Aho-Corasick scan instead of a regex per key (about 1 CPU-s less per million lines)."""
    return pl.when(path.str.contains_any([f"{k}=" for k in keys])).then(path)


def access_plan(
    lines: pl.LazyFrame,
    path: Path | str,
    fmt: str,
    keys: Sequence[str] = (),
    *,
    ts_format: str | None = None,
    timezone: str | None = None,
    check_keys: bool = False,
    trailing_time: str | None = None,
    typed: bool = False,
) -> pl.LazyFrame:
    """The lazy query turning ``line_no``/``line`` into event columns plus ``reason`` and ``raw``.

    ``reason`` is null for parsed lines; ``raw`` keeps the line only where it is not.
    ``keys`` are the trailing ``key=value`` keys to expect (see :func:`access_keys`);
    ``check_keys`` adds ``unknown_tail``, the trailing text of lines that may hold others.
    ``trailing_time`` (``s``, ``ms``, ``us``) reads an unnamed number in the trailing text as the request time.
    ``typed`` adds the request fields as typed columns (:func:`_typed_request_columns`).
    Every step is a column expression; per-row work that only a few lines need (control
    characters, forwarded chains, odd requests, escapes) runs on those lines only.
    """
    combined = fmt == "combined"
    col = pl.col
    names = _ACCESS_GROUPS[fmt]
    rx = ACCESS_REGEX[fmt]
    first = col("line").str.extract_groups(rx).struct.rename_fields(names)
    # a line with raw control characters fails `rx`; it is matched again with them written as \u00XX
    fixed = pl.when(first.struct.field("_p1").is_null()).then(col("line")).str.replace_many(CTRL_CHARS, CTRL_ESCAPES)
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
        _qpath=_query_paths(col("_path"), (*_USER_KEYS, *_TRACE_KEYS)),
    )

    # trailing key=value pairs
    tval = {k: col(f"_t{i}") for i, k in enumerate(keys)}
    if keys:
        lf = lf.with_columns([_trailing_value(col("_tail"), k).alias(f"_t{i}") for i, k in enumerate(keys)])
    durations: list[pl.Expr] = []
    for k in _DURATION_KEYS:
        if k in tval:
            v = tval[k]
            num = v.cast(pl.Float64, strict=False)
            # "0.050, 0.020" (one time per upstream tried): the first number, parsed only where the cast failed
            first = pl.when(num.is_null()).then(v).str.extract(r"^([0-9]+(?:\.[0-9]*)?)", 1).cast(pl.Float64)
            num = pl.coalesce(num, first)
            durations.append(pl.when(num.is_finite()).then(num))
    all_pairs = col("_tail").str.contains(r"^(?: +(?:" + _PAIR + r'|"-"))* *$')
    rest = pl.when(~all_pairs).then(col("_tail")).str.replace_all(r" +(?:" + _PAIR + r'|"-")', "").str.strip_chars()
    if trailing_time is not None:  # nginx `... "$http_user_agent" $request_time`: an unnamed number
        unnamed = pl.when(rest.str.contains(r"^[0-9]+(?:\.[0-9]+)?$")).then(rest).cast(pl.Float64, strict=False)
        durations.append(unnamed * _TRAILING_TIME[trailing_time])
        rest = pl.when(unnamed.is_null()).then(rest)
    duration = pl.coalesce(durations) if durations else pl.lit(None, dtype=pl.Float64)
    ruser = pl.when(col("_ruser") != "-").then(col("_ruser"))
    user = pl.coalesce(
        [
            ruser,
            *(pl.when(tval[k] != "").then(tval[k]) for k in _USER_KEYS if k in tval),
            *(_query_value(col("_qpath"), k) for k in _USER_KEYS),
        ]
    )
    trace = pl.coalesce(
        [
            *(pl.when(tval[k] != "").then(tval[k]) for k in _TRACE_KEYS if k in tval),
            *(_query_value(col("_qpath"), k) for k in _TRACE_KEYS),
        ]
    )
    # columns, not expressions: attrs, the typed user and the id checks read them, and an expression repeated in
    # a when/then is evaluated again (the typed user alone cost 1.2 CPU-s per million varied lines)
    lf = lf.with_columns(_user=user, _trace=trace)
    user, trace = col("_user"), col("_trace")

    logq = partial(json_str, log_escaped=True)
    plain = unescape_log

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
    if "trace_id" not in tval:  # else the trailing trace_id= is written under its own name above
        members.append(Member("trace_id", logq(trace)))

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
    if typed:
        lf = lf.with_columns(_rq_query=_typed_query())  # a column: six regexes read it
        extra.update(_typed_request_columns(user, duration, tval))
    if check_keys:
        known = pl.sum_horizontal([v.is_not_null().cast(pl.UInt32) for v in tval.values()]) if tval else pl.lit(0)
        extra["unknown_tail"] = pl.when(col("_tail").str.count_matches("=", literal=True) > known).then(col("_tail"))
    return lf.select(
        ts=col("_ts_parsed"),
        kind=pl.lit("log"),
        level=level,
        actor=plain(ruser),
        message=message,
        attrs=members_json_object(members),
        origin=origin_expr(path),
        reason=reason,
        raw=pl.when(reason.is_not_null()).then(col("line")),
        **extra,
    )


def _typed_request_columns(user: pl.Expr, duration: pl.Expr, tval: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """The requests frame's fields (:mod:`pmkit.sources.requests`) straight from the parsed fields, as
    :func:`pmkit.sources.requests.typed_requests` would decode them from the ``attrs`` written here (no JSON
    written and read again): a string member decodes to its log-unescaped text, a number to itself, and the
    requests frame's first-found rules run over the members this loader writes (``user``, then trailing
    ``user_id``/``customer_id``/``uid``..., then the path's query string). ``tests/sources/test_requests_frame.py``
    checks them against the decoded ``attrs``."""
    from pmkit.sources import requests as rq

    col = pl.col
    members: dict[str, pl.Expr] = {"user": unescape_log(user)}
    for key, value in tval.items():  # the trailing keys, under the member names written to attrs
        members.setdefault(f"trailing_{key}" if key in _ACCESS_STD_KEYS else key, unescape_log(value))
    path = unescape_log(col("_path"))
    query = col("_rq_query")

    def first(fields: Sequence[str]) -> pl.Expr:
        found = [rq.id_value(members[k]) for k in fields if k in members]
        return pl.coalesce(*found, *(rq.query_value(query, k) for k in fields))

    durations = [duration] + [
        members[k].cast(pl.Float64, strict=False) * factor for k, factor in rq.DURATION_FIELDS[1:] if k in members
    ]
    return {
        "_rq_status": col("_status_i").cast(pl.Int64),
        "_rq_method": unescape_log(col("_method")),
        "_rq_path": path,
        "_rq_user": first(rq.USER_FIELDS),
        "_rq_tenant": first(rq.TENANT_FIELDS),
        "_rq_bytes": col("_bytes_i").cast(pl.Int64),
        "_rq_duration_s": pl.coalesce(durations),
    }


def _typed_query() -> pl.Expr:
    """The unescaped request paths the requests frame's query-string regexes run on: those with a query
    that holds one of the user or tenant keys (a literal scan when the keys hold no regex syntax), else null."""
    from pmkit.sources import requests as rq

    path = unescape_log(pl.col("_path"))
    query = pl.when(path.str.contains("?", literal=True)).then(path)
    keys = (*rq.USER_FIELDS, *rq.TENANT_FIELDS)
    return _query_paths(query, keys) if all(re.escape(k) == k for k in keys) else query


def _split_result(df: pl.DataFrame, cols: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events (rows without a reason) and rejects (the others) of a parsed frame."""
    bad = df.get_column("reason").is_not_null()
    if not bad.any():
        return df.select(cols), rejects_frame([], [], [])
    rejects = df.filter(bad).select("origin", "reason", "raw")
    return df.filter(~bad).select(cols), rejects_frame(
        rejects.get_column("origin"), rejects.get_column("reason"), rejects.get_column("raw")
    )


_EVENT_COLS = ("ts", "kind", "level", "actor", "message", "attrs", "origin")
_TYPED_COLS = ("_rq_status", "_rq_method", "_rq_path", "_rq_user", "_rq_tenant", "_rq_bytes", "_rq_duration_s")


def _keys_in_tails(tails: pl.Series) -> set[str]:
    pairs = tails.str.extract_all(" " + _PAIR).explode().drop_nulls()
    return {k for k in pairs.str.extract(r"^ (" + _KEY + ")=", 1).drop_nulls().unique().to_list() if k}


def _sample_keys(files: Sequence[Path], fmt: str, n: int = 10_000) -> list[str]:
    """Trailing keys in the first ``n`` lines of each file (the load checks the rest and reruns if needed)."""
    keys: set[str] = set()
    tail = pl.col("line").str.extract(ACCESS_REGEX[fmt], len(_ACCESS_GROUPS[fmt])).alias("tail")
    for f in files:
        try:
            head = head_lines(f, n).select(tail)
        except pl.exceptions.PolarsError:
            head = textio.read_lines(f).head(n).select(tail)
        keys |= _keys_in_tails(head.get_column("tail").drop_nulls())
    return sorted(keys)


def access_cheap_ts(ts_format: str | None = None, timezone: str | None = None, *, naive: bool = False) -> pl.Expr:
    """The window prefilter's time of an access-log line: its first ``[...]`` bracket (the time's, as the
    line's grammar allows no ``[`` before it) read with the loader's own time expression; null where there
    is none or it does not read, so the line goes to the full parser.

    Without ``ts_format`` the bracket is cut by position (found with a literal search, checked to close
    where expected) and read in one format: ``15/Jun/2025:14:19:23 +0000``, or with ``naive``
    ``15/Jun/2025:14:19:23`` in ``timezone``. Five times cheaper than a regex and the loader's two formats.
    """
    line = pl.col("line")
    if ts_format:
        return _access_ts(line.str.extract(r"\[([^\]]*)\]", 1), ts_format, timezone)
    start = line.str.find("[", literal=True) + 1
    width, fmt = (20, "%d/%b/%Y:%H:%M:%S") if naive else (26, _ACCESS_TS_FORMAT)
    text = pl.when(line.str.slice(start + width, 1) == "]").then(line.str.slice(start, width))
    return timeutil.ts_expr(text, fmt, timezone, normalised=False)


_NAIVE_BRACKET = re.compile(r"\[[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9:]{8}\]")


def _naive_brackets(path: Path) -> bool:
    """Whether the file's first lines write times without an offset (``[15/Jun/2025:14:19:23]``)."""
    return bool(_NAIVE_BRACKET.search(textio.head(path, 5)))


def _given(lines: pl.DataFrame) -> Callable[[Path], pl.LazyFrame]:
    """``collect_lines``' ``lines_of`` for lines read already."""
    return lambda _path: lines.lazy()


def _load_access(req: LoadRequest, fmt: str) -> LoadResult:
    trailing_time = req.options.get("trailing_time")
    if trailing_time is not None and trailing_time not in _TRAILING_TIME:
        raise SourceError(
            f"{req.key or req.path}: options.trailing_time must be one of {', '.join(_TRAILING_TIME)} (the unit of "
            f"the unnamed number after the {fmt} fields), not {trailing_time!r}"
        )
    files = req.files()
    keys = _sample_keys(files, fmt)
    outside = Outside()

    def plan(keys: Sequence[str]) -> Callable[[pl.LazyFrame, Path], pl.LazyFrame]:
        return lambda lines, path: access_plan(
            lines,
            path,
            fmt,
            keys,
            ts_format=req.ts_format,
            timezone=req.timezone,
            check_keys=True,
            trailing_time=trailing_time,
            typed=True,
        )

    def run_with(keys: Sequence[str]) -> pl.DataFrame:
        if req.window is None:
            return collect_lines(files, plan(keys))
        # the window's lines parsed chunk by chunk as they are read: memory holds the parsed rows and one
        # chunk, not every kept raw line until the end
        outside.lines = 0
        parts = [
            collect_lines([f], plan(keys), lines_of=_given(kept))
            for f in files
            for kept in windowed_chunks(
                f,
                access_cheap_ts(req.ts_format, req.timezone, naive=_naive_brackets(f)),
                req.window,
                outside,
                margin=dt.timedelta(0),  # the loader's own time
            )
        ]
        if not parts:
            return collect_lines(files[:1], plan(keys), lines_of=_given(textio.lines_frame(b"")))
        return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]

    df = run_with(keys)
    tails = df.get_column("unknown_tail").drop_nulls()
    if tails.len() and _keys_in_tails(tails) - set(keys):  # keys first seen after the sample: parse again
        # (a windowed load reads the window again: its raw lines were not kept)
        df = run_with(sorted(set(keys) | _keys_in_tails(tails)))
    events, rejects = _split_result(df, (*_EVENT_COLS, *_TYPED_COLS))
    typed = events.select("origin", *(pl.col(c).alias(c.removeprefix("_rq_")) for c in _TYPED_COLS))
    events = events.select(_EVENT_COLS)
    notes: list[str] = []
    if req.ts_format and not timeutil.is_aware(req.ts_format) and req.timezone is None:
        notes.append(f"ts_format {req.ts_format!r} has no UTC offset; times read as UTC (set timezone)")
    return LoadResult(
        events,
        rejects,
        inputs=df.height + outside.lines,
        parsed_inputs=events.height,
        notes=tuple(notes),
        outside=outside.lines,
        requests=typed,
    )


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


def _sniff_combined(head: str) -> bool:
    return share(head, lambda ln: bool(_COMBINED_PY.match(ln))) >= 0.5


def _sniff_common(head: str) -> bool:
    return share(head, lambda ln: bool(_COMMON_PY.match(ln))) >= 0.5 and not _sniff_combined(head)


@register(
    "logs",
    "combined",
    description="nginx/Apache combined access log (vhost, X-Forwarded-For chains, trailing key=value such as rt=)",
    example='203.0.113.9 - alice [14/Mar/2025:13:05:02 +0000] "GET /api/v1/payments HTTP/1.1" 502 173 "-" '
    '"curl/8.5.0" rt=0.085 uid=cus_123',
    sniff=_sniff_combined,
    options=("trailing_time",),
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
    options=("trailing_time",),
)
def load_common(req: LoadRequest) -> LoadResult:
    """Common Log Format access logs."""
    return _load_access(req, "common")
