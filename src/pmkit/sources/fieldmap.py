"""Decoded records (JSON lines, logfmt) to events: which field fills which column, the rest to ``attrs``.

Column fields are found by name (the first present wins per line; ``fields``
overrides, e.g. ``{ts: when, level: sev, message: text}``, dotted paths for nested
fields): ``ts`` from ts, time, timestamp, @timestamp, t, date; ``level`` from level,
severity, lvl, loglevel, log.level, levelname, log_level; ``message`` from msg,
message, log, text, event (strings only); ``service`` from service, service.name,
service_name, svc, app, application, dd.service (``logger`` names a code module, not a service, and stays in
attrs). ``actor`` is never guessed: user ids describe who was affected more often
than who acted, so they stay in attrs; map ``actor`` explicitly when a field names
the person or system that acted. Every other field goes to attrs, nested objects
kept nested; a field used for a column is dropped from attrs on the lines where it
was used. A multi-line message (stack trace) gives its first line as ``message`` and
stays whole in attrs. Null values are omitted (absent and null read the same).

Three attrs the analyses read by one name are also filled from the other usual names, on the lines where
the record has no top-level field of that name (the original stays in attrs too; ``fields: {status: ..., user: ...,
trace_id: ...}`` names the field instead): ``status`` (an HTTP code 100..599) from status_code,
http.status_code, http.status, http.response.status_code, response.status, statusCode, response_code;
``user`` from usr.id, user.id, userId, enduser.id (user_id, uid and customer_id are read by the analyses as
they are: :data:`pmkit.analysis.sli.USER_FIELDS`; where ``user`` is an object, as ECS writes it, the id goes
to ``user_id``); ``trace_id`` from
dd.trace_id, traceId, trace.id, traceID, otel.trace_id (:data:`ATTR_FIELDS`).

Levels are read by the one table of :mod:`pmkit.sources.levels` (case-insensitive words
of every common logger, and numbers 10..69 as pino/bunyan levels); any other value gives
a null level and stays in ``attrs``. ``attrs`` is a JSON object with sorted keys
(:func:`pmkit.sources.jsonattrs.members_json_object`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pmkit import timeutil
from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame
from pmkit.sources.jsonattrs import Member, members_json_object, typed_json_value
from pmkit.sources.levels import levels
from pmkit.sources.linescan import in_line_order
from pmkit.sources.multiline import Multiline, multiline_option

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "time", "timestamp", "@timestamp", "t", "date"),
    "level": ("level", "severity", "lvl", "loglevel", "log.level", "levelname", "log_level"),
    "message": ("msg", "message", "log", "text", "event"),
    "service": ("service", "service.name", "service_name", "svc", "app", "application", "dd.service"),
    "actor": (),
}
_COLUMNS = tuple(DEFAULT_FIELDS)
# Attrs the analyses read by one name (sli: status, user; the timeline: trace_id), filled from the usual other
# names when the record has no top-level field of that name; the original field stays in attrs too.
ATTR_FIELDS: dict[str, tuple[str, ...]] = {
    "status": (
        "status_code", "http.status_code", "http.status", "http.response.status_code", "response.status",
        "statusCode", "response_code",
    ),
    "user": ("usr.id", "user.id", "userId", "enduser.id"),  # user_id, uid, customer_id: read as they are
    "trace_id": ("dd.trace_id", "traceId", "trace.id", "traceID", "otel.trace_id"),
}  # fmt: skip


@dataclass
class _Field:
    """A candidate field found in the records: where it is and its values."""

    name: str
    top: str
    parts: tuple[str, ...]
    dtype: PolarsDataType
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
        series = rec.get_column(top)
        dtype: PolarsDataType = rec.schema[top]
        for p in parts[i:]:
            if not isinstance(dtype, pl.Struct) or p not in [f.name for f in dtype.fields]:
                break
            dtype = dict((f.name, f.dtype) for f in dtype.fields)[p]
            series = series.struct.field(p)
        else:
            return _Field(name, top, tuple(parts[i:]), dtype, series)
    return None


def _mask(expr: pl.Expr, dtype: PolarsDataType, keeps: dict[tuple[str, ...], pl.Expr]) -> pl.Expr:
    """``expr`` with the value at each path of ``keeps`` nulled where its ``keep`` is false, in one rebuild.

    Every struct on the way is rebuilt once for all the paths under it (its fields taken from ``expr``, a
    short chain of ``struct.field``), so the expression grows with the number of fields and paths. Masking
    one path at a time and feeding each result to the next mask made the tree multiply by the struct's
    width per mapped field: four fields mapped under one object did not plan in minutes.
    """
    deeper: dict[str, dict[tuple[str, ...], pl.Expr]] = {}
    for parts, keep in keeps.items():
        if parts:
            deeper.setdefault(parts[0], {})[parts[1:]] = keep
    out = expr
    if deeper and isinstance(dtype, pl.Struct):
        fields = [
            (
                _mask(expr.struct.field(f.name), f.dtype, deeper[f.name])
                if f.name in deeper
                else expr.struct.field(f.name)
            ).alias(f.name)
            for f in dtype.fields
        ]
        out = pl.when(expr.is_not_null()).then(pl.struct(fields))
    whole = keeps.get(())
    return out if whole is None else pl.when(whole).then(out)


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


def _canonical_attrs(rec: pl.DataFrame, req: LoadRequest) -> pl.DataFrame:
    """``rec`` with the :data:`ATTR_FIELDS` attrs filled on the lines where the top-level field of that name is
    absent or null: per line the first candidate present (``fields: {status: ..., user: ..., trace_id: ...}``
    names the one to use). A status must read as an HTTP code (100..599); a user or trace id is kept as text
    (never a float: an id past 2**53 read as a float has lost digits). ``user`` is not filled on lines that
    carry user_id, uid or customer_id (the analyses read those as they are); where ``user`` is an object (ECS
    ``user: {id, name}``) the id is written as ``user_id``."""
    added: dict[str, pl.Series] = {}
    for name, candidates in ATTR_FIELDS.items():
        names = (req.fields[name],) if name in req.fields else candidates
        vals: list[pl.Series] = []
        for cand in names:
            f = _resolve(rec, cand)
            if f is None or cand == name:
                continue
            v = f.values
            if not (v.dtype == pl.String or v.dtype.is_integer()):
                continue
            text = v.cast(pl.String).str.strip_chars()
            if name == "status":
                code = text.cast(pl.Int64, strict=False)
                vals.append(code.to_frame("c").select(pl.when(pl.col("c").is_between(100, 599)).then("c")).to_series())
            else:
                vals.append(text.to_frame("t").select(pl.when(pl.col("t") != "").then("t")).to_series())
        if not vals:
            continue
        found = pl.select(pl.coalesce(vals)).to_series()
        if name == "user" and name not in req.fields:
            known = [rec.get_column(c).is_not_null() for c in ("user_id", "uid", "customer_id") if c in rec.columns]
            if known:
                found = pl.select(pl.when(~pl.any_horizontal(known)).then(found)).to_series()
        target = name
        if name == "user" and "user" in rec.columns and isinstance(rec.schema["user"], pl.Struct):
            target = "user_id"  # ECS `user: {id, name}`: the id goes where the analyses also look
        if target in rec.columns:
            have = rec.get_column(target)
            if have.dtype.is_integer() and name == "status":
                found = pl.select(pl.coalesce(have.cast(pl.Int64), found.cast(pl.Int64, strict=False))).to_series()
            elif have.dtype == pl.String:
                found = pl.select(pl.coalesce(have, found.cast(pl.String))).to_series()
            else:
                continue  # an object or list under that name: left as it is
        added[target] = found.alias(target)
    return rec.with_columns(added.values()) if added else rec


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
    unknown = sorted(set(req.fields) - set(_COLUMNS) - set(ATTR_FIELDS))
    if unknown:
        raise SourceError(
            f"{req.path}: fields: cannot map {', '.join(map(repr, unknown))}; the columns a field can fill are "
            f"{', '.join(_COLUMNS)}, and the attrs {', '.join(ATTR_FIELDS)} (everything else goes to attrs by itself)"
        )
    rec = _canonical_attrs(rec, req)
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
    by_top: dict[str, dict[tuple[str, ...], pl.Expr]] = {}
    for (top, parts), kname in keep_name.items():
        by_top.setdefault(top, {})[parts] = pl.col(kname)
    # masked columns are computed first, so the JSON encoder below starts from a column, not from the mask
    masked = {name: _mask(pl.col(name), rec.schema[name], keeps).alias(name) for name, keeps in by_top.items()}
    members = []
    for name, dtype in rec.schema.items():
        value = typed_json_value(pl.col(name), dtype)
        if value is not None:
            members.append(Member(name, value))
    if members and height:
        # streamed, so both cores build the JSON text
        lazy_attrs = (
            rec.lazy()
            .with_columns(**keep_cols)
            .with_columns(*masked.values())
            .select(members_json_object(members).alias("attrs"))
        )
        attrs = lazy_attrs.collect(engine="streaming").to_series()
    else:
        attrs = pl.Series("attrs", ["{}"] * height, dtype=pl.String)

    found = values.get("message")
    message = attrs if found is None else pl.select(pl.coalesce(found, attrs)).to_series()
    null_str = pl.Series([None] * height, dtype=pl.String)
    ts = values.get("ts", pl.Series([None] * height, dtype=UTC_TS))
    ts_names = ", ".join(looked["ts"])
    reason = pl.select(
        pl.when(ts.is_null()).then(
            pl.when(ts_present)
            .then(pl.lit(f"unreadable timestamp (looked in {ts_names}; set ts_format)"))
            .otherwise(pl.lit(f"no timestamp field (looked for {ts_names}; set fields: {{ts: <name>}})"))
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


# ---------------------------------------------------------------------------- per file, per source


def line_origins(path: Path, line_nos: pl.Series) -> pl.Series:
    """``path:line`` for each line number."""
    return line_nos.alias("line_no").to_frame().select(origin_expr(path).alias("origin")).to_series()


def no_rejects() -> pl.DataFrame:
    """An empty rejects frame (``origin``, ``reason``, ``raw``)."""
    return pl.DataFrame(schema={"origin": pl.String, "reason": pl.String, "raw": pl.String})


def finish_records(
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
    frame = mapped.frame.with_columns(origin=line_origins(path, line_nos), kind=pl.lit("log"))
    bad = mapped.reason.is_not_null()
    if not bad.any():
        return frame, no_rejects()
    rejects = pl.DataFrame(
        {
            "origin": frame.get_column("origin").filter(bad),
            "reason": mapped.reason.filter(bad),
            "raw": raw_of(line_nos.filter(bad)),
        }
    )
    return frame.filter(~bad), rejects


def load_records(
    req: LoadRequest, per_file: Callable[[Path, LoadRequest, list[str]], tuple[pl.DataFrame, pl.DataFrame, int, int]]
) -> LoadResult:
    """Run ``per_file(path, req, notes) -> (events, rejects, inputs, parsed)`` over the source's files, as one result."""
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


def load_multiline_file(
    path: Path,
    lines: pl.DataFrame,
    rule: Multiline,
    req: LoadRequest,
    notes: list[str],
    decode: Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.Series]],
    cheap_ts: pl.Expr | None = None,
    *,
    by_message: bool = False,
    unwrap: Callable[[pl.DataFrame], tuple[pl.DataFrame, dict[str, tuple[str, ...]] | None]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, tuple[int, int]]:
    """One file of decoded-record lines (logfmt, JSON lines) whose records span lines (``options.multiline``).

    ``lines`` are all the file's lines in order; ``decode`` reads lines (``line_no``, ``line``) into records
    (one row per line it reads) and a reason per line (null where it read one), as for one-line records;
    ``unwrap`` turns the decoded records into the ones to map (Docker json-file lines) with extra candidate
    fields. ``rule`` decides which lines start a record, looking at each line's text: the line itself, or
    with ``by_message`` the message of a line that decoded (a JSON line's message field: Docker splits a
    traceback into one JSON line per physical line); for ``multiline: true`` a line that decodes starts
    a record. The texts after a head go to ``attrs.continuation`` (``continuation_lines`` when the record
    has a ``continuation`` field of its own); the event is the head's record. A record whose head is
    rejected is rejected line by line (:func:`pmkit.sources.multiline.record_rejects`, raw lines); lines
    before the first head are rejected. With a window, ``cheap_ts`` prefilters heads (continuations follow
    their head) and records outside it are dropped after parsing. Returns (events, rejects, inputs, parsed
    lines, (lines outside counted before parsing, lines outside dropped after)), inputs excluding those
    outside.
    """
    from pmkit.sources import multiline, window

    origin = str(path)
    decoded, reason_all = decode(lines.select("line_no", "line"))
    ok_all = reason_all.is_null()
    extra = None
    if unwrap is not None and decoded.width:
        decoded, extra = unwrap(decoded)
    framed = lines.with_columns(
        _ok=ok_all,
        _reason=reason_all,
        _idx=(ok_all.cast(pl.Int64).cum_sum() - 1),
        _text=pl.col("line"),
    )
    if by_message and decoded.height:
        messages = map_records(decoded, req, [], extra=extra).frame.get_column("message")
        framed = framed.with_columns(
            _text=pl.when(pl.col("_ok")).then(messages.gather(framed.get_column("_idx").clip(0))).otherwise("line")
        )
    starts = framed.with_columns(pl.col("_text").alias("line")).select(rule.head(pl.col("_ok"))).to_series()
    framed = framed.with_columns(starts.alias("_starts"))
    n_pre = 0
    if req.window is not None and cheap_ts is not None:
        framed, n_pre = window.prefilter(framed, cheap_ts, req.window, head=pl.col("_starts"))
    labelled = multiline.label_records(framed, pl.col("_starts"))
    rejects = [
        multiline.line_rejects(
            multiline.orphans(labelled), "continuation line before the first record of the file", origin
        )
    ]
    heads = multiline.join_records(labelled.with_columns(pl.col("_text").alias("line")))
    bad_heads = heads.filter(~pl.col("_ok")).select(multiline.RECORD, pl.col("_reason").alias("reason"))
    rejects.append(multiline.record_rejects(labelled, bad_heads, origin))
    good = heads.filter(pl.col("_ok"))
    if good.height == 0:
        notes.append(rule.joined(path.name, good.get_column("n_lines")))
        return _multiline_result(schema_events(), rejects, framed.height, 0, (n_pre, 0))
    records = decoded.select(pl.all().gather(good.get_column("_idx")))
    cont_name = "continuation_lines" if "continuation" in records.columns else "continuation"
    records = records.with_columns(good.get_column("continuation").alias(cont_name))
    mapped = map_records(records, req, notes, extra=extra)
    frame = mapped.frame.with_columns(origin=line_origins(path, good.get_column("line_no")), kind=pl.lit("log"))
    bad = mapped.reason.is_not_null()
    rejects.append(
        multiline.record_rejects(
            labelled, good.filter(bad).select(multiline.RECORD, mapped.reason.filter(bad).alias("reason")), origin
        )
    )
    good, frame = good.filter(~bad), frame.filter(~bad)
    n_post = 0
    if req.window is not None:
        out = frame.select(~window.inside(pl.col("ts"), req.window).fill_null(True)).to_series()
        n_post = int(good.filter(out).get_column("n_lines").sum() or 0)
        good, frame = good.filter(~out), frame.filter(~out)
    parsed = int(good.get_column("n_lines").sum() or 0)
    notes.append(rule.joined(path.name, good.get_column("n_lines")))
    return _multiline_result(frame, rejects, framed.height - n_post, parsed, (n_pre, n_post))


def _multiline_result(
    frame: pl.DataFrame, rejects: list[pl.DataFrame], inputs: int, parsed: int, outside: tuple[int, int]
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, tuple[int, int]]:
    rej = pl.concat([r.select("origin", "reason", "raw") for r in rejects])
    return frame, in_line_order(rej), inputs, parsed, outside


def schema_events() -> pl.DataFrame:
    """An empty frame of the columns :func:`load_records` selects from each file's events."""
    return pl.DataFrame(
        schema={
            "ts": UTC_TS,
            "kind": pl.String,
            "service": pl.String,
            "level": pl.String,
            "actor": pl.String,
            "message": pl.String,
            "attrs": pl.String,
            "origin": pl.String,
        }
    )


def multiline_rule(req: LoadRequest) -> Multiline | None:
    """The source's ``options.multiline`` (None when not set); errors name the source."""
    return multiline_option(req.options.get("multiline"), f"{req.path} (source {req.source!r})")


def record_times(rec: pl.DataFrame, req: LoadRequest, notes: list[str]) -> tuple[pl.Series, pl.Series]:
    """Each record's time by the ``ts`` rules of :func:`map_records` (``fields: {ts: ...}`` or the default names,
    first present wins per line) and a reject reason (null where the time reads): for loaders that need the
    time without the event columns (JSON lines read as series)."""
    names = (req.fields["ts"],) if "ts" in req.fields else DEFAULT_FIELDS["ts"]
    out = pl.Series("ts", [None] * rec.height, dtype=UTC_TS)
    present = pl.Series([False] * rec.height)
    for name in names:
        f = _resolve(rec, name)
        if f is None:
            continue
        got = _column_values("ts", f, req, notes)
        if got is None:
            continue
        out = pl.select(pl.coalesce(out, got[0])).to_series()
        present = present | f.values.is_not_null()
    listed = ", ".join(names)
    reason = pl.select(
        pl.when(out.is_null()).then(
            pl.when(present)
            .then(pl.lit(f"unreadable timestamp (looked in {listed}; set ts_format)"))
            .otherwise(pl.lit(f"no timestamp field (looked for {listed}; set fields: {{ts: <name>}})"))
        )
    ).to_series()
    return out.alias("ts"), reason.alias("reason")
