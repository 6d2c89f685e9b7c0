"""The ``nginx-error`` logs format: nginx's error log, continuation lines joined to their entry.

Every physical line ends in an event (counted in ``parsed_inputs``) or in the rejects
with its ``path:line`` and a reason; blank lines are rejected as ``blank line``.

``attrs`` (sorted keys, :func:`pmkit.sources.jsonattrs.members_json_object`) holds ``pid``,
``tid``, ``cid`` (the ``*N`` connection id) and, when logged, ``client``, ``server``,
``request``, ``subrequest``, ``upstream``, ``host``, ``referrer``. Continuation lines
(lines that do not start with a timestamp, such as FastCGI's ``PHP message:`` lines) join
the entry above; ``message`` is the entry's first line without the ``, client: ...``
context and ``full_message`` keeps the whole entry when it spans lines. The level is
nginx's, read by the one table of :mod:`pmkit.sources.levels`. Times carry no offset:
they are read in the source's ``timezone`` (UTC when none is given, and the load notes
say so).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pmkit import timeutil
from pmkit.sources import textio, window
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame
from pmkit.sources.jsonattrs import Member, json_str, members_json_object, unescape_log
from pmkit.sources.levels import LEVEL_NAMES
from pmkit.sources.linescan import BLANK, in_line_order, share
from pmkit.sources.registry import register

_TS_FORMAT = "%Y/%m/%d %H:%M:%S"
_Q = r'"((?:[^"\\]|\\.)*)"'
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


def _nginx_file(lines: pl.DataFrame, path: Path, req: LoadRequest) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    """Events, rejects, the number of lines in events and the number of lines of entries outside the
    request's window, for one nginx error log."""
    col = pl.col
    df = lines.with_columns(_blank=BLANK, _head=col("line").str.contains(_NGINX_HEAD))
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
    fmt = req.ts_format or _TS_FORMAT
    entries = entries.with_columns(_c=ctx, _ts=timeutil.ts_expr(col("ts"), fmt, req.timezone))
    c = col("_c").struct.field
    msg = c("msg").str.extract(r"^([^\n]*)", 1).str.strip_suffix("\r")
    members = [
        Member("pid", col("pid").cast(pl.Int64, strict=False).cast(pl.String)),
        Member("tid", col("tid").cast(pl.Int64, strict=False).cast(pl.String)),
        Member("cid", col("cid").cast(pl.Int64, strict=False).cast(pl.String)),
        Member("full_message", pl.when(col("n") > 1).then(json_str(col("_full")))),
        *(Member(k, json_str(c(k))) for k in ("client", "server")),
        *(Member(k, json_str(unescape_log(c(k)))) for k in ("request", "subrequest", "upstream", "host", "referrer")),
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
        attrs=members_json_object(members),
        origin=origin_expr(path),
        reason=reason,
    )
    good = entries.filter(col("reason").is_null())
    bad = entries.filter(col("reason").is_not_null())
    n_out = 0
    if req.window is not None:  # the exact window filter, here where an entry's line count is known
        out = ~window.inside(col("_ts"), req.window)
        n_out = int(good.filter(out).get_column("n").sum() or 0)
        good = good.filter(~out)
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
    return events, rejects, int(good.get_column("n").sum() or 0), n_out


@register(
    "logs",
    "nginx-error",
    description="nginx error log; continuation lines (FastCGI 'PHP message:') joined to their entry",
    example="2025/03/14 13:05:02 [error] 31#31: *4521 upstream timed out (110: Connection timed out) while reading "
    'response header from upstream, client: 203.0.113.9, server: api.example.com, request: "GET /api/v1/payments '
    'HTTP/1.1", upstream: "http://10.0.3.7:8080/api/v1/payments", host: "api.example.com"',
    sniff=lambda head: share(head, lambda ln: bool(_NGINX_PY.match(ln))) >= 0.5,
    options=(),
)
def load_nginx_error(req: LoadRequest) -> LoadResult:
    """nginx error logs: one event per entry, continuation lines joined."""
    events, rejects, inputs, parsed, outside, after = [], [], 0, 0, 0, 0
    cheap = timeutil.ts_expr(pl.col("line").str.slice(0, 19), req.ts_format or _TS_FORMAT, req.timezone)
    for path in req.files():
        lines = textio.read_lines(path)
        inputs += lines.height
        lines, n_pre = window.prefilter(lines, cheap, req.window, head=pl.col("line").str.contains(_NGINX_HEAD))
        ev, rj, n, n_out = _nginx_file(lines, path, req)
        events.append(ev)
        rejects.append(rj)
        parsed += n
        outside += n_pre + n_out
        after += n_out
    frame = pl.concat(events)
    rej = pl.concat([in_line_order(r) for r in rejects])
    notes = []
    if req.timezone is None and not (req.ts_format and timeutil.is_aware(req.ts_format)):
        notes.append("nginx error log times have no UTC offset; read as UTC (set timezone)")
    return LoadResult(
        frame,
        rejects_frame(rej.get_column("origin"), rej.get_column("reason"), rej.get_column("raw")),
        inputs=inputs,
        parsed_inputs=parsed,
        notes=tuple(notes),
        outside=outside,
        outside_parsed=after,
    )
