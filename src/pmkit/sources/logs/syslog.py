"""The ``syslog`` logs format: RFC 3164, RFC 5424 and ISO 8601-stamped lines, told apart per line.

Forms recognised (one anchored regex each, run vectorised by polars on the lines
that can be of that form, then coalesced):

- **RFC 5424** ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG``: ``-`` (NIL) fields
  become null; structured data goes to ``attrs.sd`` as ``{sd-id: {name: value}}``
  (escapes ``\\"``, ``\\\\``, ``\\]`` undone; a repeated name gives a list); the UTF-8
  BOM before MSG is dropped; a record without MSG uses its structured data text as
  message. A NIL timestamp cannot be placed in time: the line is rejected.
- **RFC 3164** ``<PRI>Mmm dd HH:MM:SS HOST TAG[PID]: MSG``: PRI optional, day
  space-padded (``Feb  5``), an optional zone name and year after the time
  (``Aug 24 05:34:00 CST 1987``, RFC 3164 example 3) or a year before it
  (``<0>1990 Oct 22 10:52:01 TZ-6 host ...``, example 4). Zone *names* are ambiguous
  (CST is also China Standard Time): they are kept in ``attrs.tzname`` and the time
  is read in the source's ``timezone``. The tag is only recognised when followed by
  ``:``, ``[pid]:`` or (darwin) ``[123]``; otherwise everything after the host is the
  message.
- **ISO 8601-stamped** (rsyslog's high-precision template)
  ``2025-01-20T10:00:00.123+04:00 HOST TAG[PID]: MSG``; the offset may be
  ``+04:00``, ``+0400``, ``Z`` or absent (then the source's ``timezone`` applies).
- ``--- last message repeated N times ---`` (with or without a host) is an event of
  its own (``attrs.repeated`` = N); lines indented with a tab or space continue the
  previous line (darwin) and go to ``attrs.continuation``.
- ``options: {multiline: ...}`` (:class:`pmkit.sources.multiline.Multiline`: ``traceback``, a start
  regex, or ``true`` = a line that starts like a syslog line starts a record) cuts records by that
  rule instead: a record whose first line is not syslog is rejected line by line, its continuation
  lines (stack traces, unindented too) count as parsed lines of its event.

PRI gives ``attrs.facility`` and ``attrs.severity`` (RFC 5424 keywords) and the
**level**: severity 0-2 (emerg, alert, crit) -> critical, 3 (err) -> error,
4 (warning) -> warning, 5-6 (notice, info) -> info, 7 (debug) -> debug; without PRI
the level is null. ``attrs`` also holds ``host``, ``app`` (the tag), ``pid`` and
``msgid``; ``service`` is the app name.

RFC 3164 times have no year: they get it by the year rule of :mod:`pmkit.sources.yearless`
(``year``, else the incident window, else 2000 with a note; rollovers Dec -> Jan within a file).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pmkit import schema, timeutil
from pmkit.sources import multiline, textio, window
from pmkit.sources.base import LoadRequest, LoadResult, load_files, origin_expr
from pmkit.sources.jsonattrs import polars_json_object, polars_json_value
from pmkit.sources.registry import register
from pmkit.sources.yearless import complete_year

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
SEVERITY_LEVEL = ("critical", "critical", "critical", "error", "warning", "info", "info", "debug")

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TS3164 = _MON + r" {1,2}\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?"
_PRI = r"(?:<(?P<pri>\d{1,3})>)?"
_TZNAME = (
    r"(?:[A-Z]{1,5}[+-]\d{1,2}(?::?\d{2})?|UTC|GMT|[ECMPAH][SD]T|AK[SD]T|HST|CES?T|EES?T|WES?T|BST|IST|JST|KST"
    r"|MSK|AE[SD]T|AC[SD]T|AWST|NZ[SD]T|SGT|HKT)"
)
_TAG = (  # "tag:", "tag[pid]:" or (darwin) "tag[123]" with no colon
    r"(?: (?P<tag>[^\s:\[\]]{1,64})(?:(?:\[(?P<pid>[^\]\s]{0,32})\])?:|\[(?P<pid2>\d{1,10})\]))?(?: (?P<msg>.*))?$"
)
_HOST = r" (?P<host>[^\s\[\]]+)"

RX_5424 = (
    r"^<(?P<pri>\d{1,3})>(?P<version>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\"]|\"(?:[^\"\\]|\\.)*\")*\])+)(?: (?P<msg>.*))?$"
)
RX_REPEAT = (
    "^" + _PRI + r"(?:(?P<year1>\d{4}) )?(?P<ts>" + _TS3164 + r")(?: (?P<host>[^\s\[\]-][^\s\[\]]*))? "
    r"(?P<msg>(?:--- )?last message repeated (?P<repeated>\d+) times?(?: ---)?)$"
)
RX_3164 = (
    "^" + _PRI + r"(?:(?P<year1>\d{4}) )?(?P<ts>" + _TS3164 + r")(?: (?P<tzname>" + _TZNAME + r")"
    r"(?: (?P<year2>\d{4}))?)?" + _HOST + _TAG
)
RX_ISO = (
    "^"
    + _PRI
    + r"(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?)"
    + _HOST
    + _TAG
)
_IS_5424 = r"^<\d{1,3}>\d{1,2} "
_IS_ISO = r"^(?:<\d{1,3}>)?\d{4}-\d{2}-\d{2}T"
_SD_ELEMENT = r"\[(?:[^\]\"]|\"(?:[^\"\\]|\\.)*\")*\]"
_SD_PARAM = r"[^\s=\]\"]+=\"(?:[^\"\\]|\\.)*\""

_COLUMNS: tuple[str, ...] = (
    "pri",
    "version",
    "ts",
    "host",
    "app",
    "procid",
    "msgid",
    "sd",
    "msg",
    "year1",
    "year2",
    "tzname",
)
_COLUMNS += ("tag", "pid", "pid2", "offset", "repeated")


# --------------------------------------------------------------------------- parsing


def _extract(lf: pl.LazyFrame, rx: str, form: str) -> pl.LazyFrame:
    """Lines of ``lf`` with the named groups of ``rx`` (every ``_COLUMNS`` name present) and ``form``."""
    names = [n for n in re.compile(rx).groupindex if n in _COLUMNS]
    x = pl.col("_x").struct
    return (
        lf.with_columns(pl.col("line").str.extract_groups("(?P<_ok>)" + rx).alias("_x"))
        .with_columns(
            *[x.field(c).alias(c) for c in names],
            *[pl.lit(None, dtype=pl.String).alias(c) for c in _COLUMNS if c not in names],
            pl.when(x.field("_ok").is_not_null()).then(pl.lit(form)).alias("form"),
        )
        .drop("_x")
    )


def parse_lines(lines: pl.DataFrame) -> pl.DataFrame:
    """Every line with its syslog fields (null when it is not a syslog line) and ``form``."""
    base = lines.lazy().with_row_index("_i")
    is5424 = pl.col("line").str.contains(_IS_5424)
    isiso = pl.col("line").str.contains(_IS_ISO)
    parts = [
        _extract(base.filter(is5424), RX_5424, "rfc5424"),
        _extract(base.filter(~is5424 & isiso), RX_ISO, "iso8601"),
        _extract(
            base.filter(~is5424 & ~isiso & pl.col("line").str.contains("last message repeated", literal=True)),
            RX_REPEAT,
            "repeat",
        ),
        _extract(base.filter(~is5424 & ~isiso), RX_3164, "rfc3164"),
    ]
    cols = ["_i", "line_no", "line", "form", *_COLUMNS]
    five, iso, rep, old = (p.select(cols) for p in parts)
    # a "last message repeated" line wins over the generic RFC 3164 reading of it
    old = old.join(rep, on="_i", how="left", suffix="_r", maintain_order="left").select(
        "_i",
        "line_no",
        "line",
        pl.coalesce("form_r", "form").alias("form"),
        *[
            pl.when(pl.col("form_r").is_not_null()).then(pl.col(f"{c}_r")).otherwise(pl.col(c)).alias(c)
            for c in _COLUMNS
        ],
    )
    return pl.concat([five, iso, old], how="vertical").sort("_i").drop("_i").collect()


def _sd_json(frame: pl.DataFrame) -> pl.DataFrame:
    """``_i`` -> ``sd_json`` (``{id: {name: value}}``, keys sorted) for rows whose ``sd`` is not NIL."""
    rows = frame.select("_i", "sd").filter(pl.col("sd").is_not_null() & (pl.col("sd") != "-"))
    if rows.height == 0:
        return pl.DataFrame(schema={"_i": pl.UInt32, "sd_json": pl.String})
    elems = (
        rows.select("_i", pl.col("sd").str.extract_all(_SD_ELEMENT).alias("el"))
        .explode("el")
        .drop_nulls("el")
        .with_columns(
            pl.col("el").str.extract(r"^\[([^\s\]]+)").alias("id"),
            pl.col("el").str.extract_all(_SD_PARAM).alias("p"),
        )
    )
    params = (
        elems.select("_i", "id", pl.col("p"))
        .explode("p")
        .drop_nulls("p")
        .select(
            "_i",
            "id",
            pl.col("p").str.extract(r"^([^=]+)=").alias("k"),
            pl.col("p").str.extract(r"^[^=]+=\"(.*)\"$").str.replace_all(r"\\([\"\\\]])", "${1}").alias("v"),
        )
        .group_by("_i", "id", "k", maintain_order=True)
        .agg(pl.col("v"))
        .with_columns(
            pl.when(pl.col("v").list.len() == 1)
            .then(polars_json_value(pl.col("v").list.first()))
            .otherwise(polars_json_value(pl.col("v")))
        )
        .sort("_i", "id", "k")
        .group_by("_i", "id", maintain_order=True)
        .agg(pl.concat_str([polars_json_value(pl.col("k")), pl.lit(":"), pl.col("v")]).str.join(",").alias("obj"))
    )
    ids = (
        elems.select("_i", "id")
        .unique(maintain_order=True)
        .join(params, on=["_i", "id"], how="left", maintain_order="left")
        .sort("_i", "id")
        .group_by("_i", maintain_order=True)
        .agg(
            pl.concat_str([polars_json_value(pl.col("id")), pl.lit(":{"), pl.col("obj").fill_null(""), pl.lit("}")])
            .str.join(",")
            .alias("sd_json")
        )
        .with_columns(pl.concat_str([pl.lit("{"), pl.col("sd_json"), pl.lit("}")]).alias("sd_json"))
    )
    return ids


def _nil(col: str) -> pl.Expr:
    return pl.when(pl.col(col) != "-").then(pl.col(col))


def _times(records: pl.DataFrame, req: LoadRequest, label: str) -> tuple[pl.Series, list[str]]:
    """UTC times for every record, by form (see the module docstring)."""
    zone = req.timezone or "UTC"
    notes: list[str] = []
    iso_text = (
        pl.col("ts").str.replace(r"Z$", "+00:00").str.replace(r"([+-]\d{2})$", "${1}:00")
    )  # offsets +04 -> +04:00
    aware = iso_text.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%S%.f%#z", strict=False)
    naive = (
        pl.col("ts")
        .str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f", strict=False)
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    has_offset = pl.col("ts").str.contains(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")
    iso = pl.when(has_offset).then(aware).otherwise(naive)
    explicit_year = pl.coalesce("year1", "year2")
    with_year = (
        pl.concat_str([explicit_year, pl.lit(" "), pl.col("ts").str.replace_all(r"\s+", " ")])
        .str.strptime(pl.Datetime("us"), "%Y %b %d %H:%M:%S%.f", strict=False)
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    is_iso = pl.col("form").is_in(["rfc5424", "iso8601"])
    frame = records.select(
        pl.when(is_iso).then(iso).when(explicit_year.is_not_null()).then(with_year).alias("t"),
        (~is_iso & explicit_year.is_null()).alias("yearless"),
        is_iso.alias("is_iso"),
        has_offset.alias("has_offset"),
    )
    t = frame.select(timeutil.bounded(pl.col("t"))).to_series()
    yearless = frame.get_column("yearless")
    if yearless.any():
        done, note = complete_year(
            records.filter(yearless).get_column("ts"),
            "%b %d %H:%M:%S%.f",
            year=req.year,
            window=req.window,
            tz=req.timezone,
            label=label,
        )
        notes.append(note)
        t = t.scatter(yearless.arg_true(), done)
    naive_used = (~frame.get_column("is_iso") | ~frame.get_column("has_offset")).any()
    if req.timezone is None and naive_used:
        notes.append(f"{label}some times carry no UTC offset; read as UTC (set timezone)")
    if records.get_column("tzname").drop_nulls().len():
        names = ", ".join(sorted(set(records.get_column("tzname").drop_nulls().to_list())))
        notes.append(
            f"{label}zone names after the time ({names}) are ambiguous and kept in attrs.tzname; times read in {zone}"
        )
    return t, notes


# a line that starts like a syslog line (what ``multiline: true`` takes for a record's first line)
_LOOKS_SYSLOG = r"^(?:<\d{1,3}>)?(?:\d{1,2} )?(?:\d{4} )?(?:\d{4}-\d{2}-\d{2}T|" + _MON + r" )"

# the ISO time of an RFC 5424 or ISO 8601-stamped line, for the window's prefilter (RFC 3164 times are year-less:
# those lines are kept for the full parser, which reads their year from the file's span)
_CHEAP_TS = r"^(?:<\d{1,3}>\d{1,2} )?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s"


def load_syslog_file(
    path: Path, req: LoadRequest, outside: dict[Path, tuple[int, int]] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, list[str]]:
    """Parse one file: (events, rejects, inputs, parsed_inputs, notes); with the request's window, the lines of
    records outside it are counted into ``outside[path]`` (ISO-stamped heads decide before parsing, their
    continuation lines follow; the exact time after parsing) and are not in ``parsed_inputs``."""
    origin = str(path)
    lines = textio.read_lines(path)
    n_lines, n_out, n_pre = lines.height, 0, 0
    is_cont = pl.col("line").str.contains(r"^[ \t]+\S")
    not_syslog = (
        pl.when(pl.col("line").str.strip_chars() == "")
        .then(pl.lit("blank line"))
        .otherwise(pl.lit("not a syslog line (RFC 3164, RFC 5424 or ISO 8601-stamped)"))
    )
    rule = multiline.multiline_option(req.options.get("multiline"), f"{path} (source {req.source!r})")
    starts = ~is_cont if rule is None else rule.head(pl.col("line").str.contains(_LOOKS_SYSLOG))
    lines = lines.with_columns(starts.alias("_starts"))
    if req.window is not None:
        cheap = window.iso_cheap(pl.col("line").str.extract(_CHEAP_TS, 1), req.timezone)
        lines, n_pre = window.prefilter(lines, cheap, req.window, head=pl.col("_starts"))
    parsed = parse_lines(lines).with_columns(lines.get_column("_starts"))
    rejects: list[pl.DataFrame] = []
    if rule is None:
        labelled = multiline.label_records(parsed, pl.col("form").is_not_null())
        rejects += [
            multiline.line_rejects(labelled.filter(~pl.col(multiline.HEAD) & ~is_cont), not_syslog, origin),
            multiline.line_rejects(
                multiline.orphans(labelled.filter(is_cont)), "continuation line before the first syslog line", origin
            ),
        ]
        labelled = labelled.filter(pl.col(multiline.HEAD) | is_cont)
        records = multiline.join_records(labelled).with_row_index("_i")
    else:  # options.multiline: the rule cuts records; a record whose head is not syslog is rejected whole
        labelled = multiline.label_records(parsed, pl.col("_starts"))
        rejects.append(
            multiline.line_rejects(
                multiline.orphans(labelled), "continuation line before the first syslog line", origin
            )
        )
        records = multiline.join_records(labelled)
        heads_bad = records.filter(pl.col("form").is_null()).select(multiline.RECORD, not_syslog.alias("reason"))
        rejects.append(multiline.record_rejects(labelled, heads_bad, origin))
        records = records.filter(pl.col("form").is_not_null()).with_row_index("_i")
    ts, notes = _times(records, req, f"{path.name}: ")
    if rule is not None:
        notes.append(rule.describe())
    records = records.with_columns(ts.alias("t"))
    no_ts = records.filter(pl.col("t").is_null()).select(
        multiline.RECORD,
        pl.when(pl.col("ts") == "-")
        .then(pl.lit("RFC 5424 record without a timestamp (NIL): it cannot be placed in time"))
        .otherwise(pl.format("timestamp {} not readable", pl.col("ts")))
        .alias("reason"),
    )
    rejects.append(multiline.record_rejects(labelled, no_ts, origin))
    records = records.filter(pl.col("t").is_not_null())
    records, dropped = window.drop_outside_records(records, req.window)
    n_out += dropped
    if outside is not None:
        outside[path] = (n_pre, n_out)
    records = records.join(_sd_json(records), on="_i", how="left", maintain_order="left")
    pri = pl.col("pri").cast(pl.Int32, strict=False)
    valid_pri = pl.when(pri <= 191).then(pri)
    severity = valid_pri % 8
    msg = pl.col("msg").str.strip_prefix("\ufeff")
    sd_text = pl.when(pl.col("sd") != "-").then(pl.col("sd"))
    is5424 = pl.col("form") == "rfc5424"
    app = pl.when(is5424).then(_nil("app")).otherwise(pl.col("tag"))
    attrs = {
        "host": pl.when(is5424).then(_nil("host")).otherwise(pl.col("host")),
        "app": app,
        "pid": pl.when(is5424).then(_nil("procid")).otherwise(pl.coalesce("pid", "pid2")),
        "msgid": _nil("msgid"),
        "facility": (valid_pri // 8).replace_strict(dict(enumerate(FACILITIES)), default=None, return_dtype=pl.String),
        "severity": severity.replace_strict(dict(enumerate(SEVERITIES)), default=None, return_dtype=pl.String),
        "sd": pl.col("sd_json"),
        "tzname": pl.col("tzname"),
        "repeated": pl.col("repeated").cast(pl.Int64, strict=False),
        "continuation": pl.col("continuation"),
    }
    events = records.select(
        pl.col("t").alias("ts"),
        pl.lit("log").alias("kind"),
        app.alias("service"),
        severity.replace_strict(dict(enumerate(SEVERITY_LEVEL)), default=None, return_dtype=pl.String).alias("level"),
        pl.when(msg.is_not_null() & (msg != "")).then(msg).otherwise(sd_text).fill_null("").alias("message"),
        polars_json_object(attrs, raw=("sd",)).alias("attrs"),
        origin_expr(origin).alias("origin"),
    )
    n_ok = int(records.get_column("n_lines").sum() or 0)
    return schema.conform(events, "events"), pl.concat(rejects), n_lines, n_ok, notes


_SNIFF = [re.compile(rx) for rx in (RX_5424, RX_REPEAT, RX_3164, RX_ISO)]


def sniff(head: str) -> bool:
    """Most non-blank, non-indented lines (and the first) are syslog lines of some form."""
    lines = [ln for ln in head.splitlines() if ln.strip() and not ln[:1].isspace()]
    if not lines:
        return False
    hits = [any(rx.match(ln) for rx in _SNIFF) for ln in lines]
    return hits[0] and sum(hits) * 2 >= len(hits)


@register(
    "logs",
    "syslog",
    description="syslog: RFC 3164, RFC 5424 and ISO 8601-stamped lines, told apart per line",
    example="<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    sniff=sniff,
    options=("multiline",),
)
def load_syslog(req: LoadRequest) -> LoadResult:
    """The ``syslog`` logs format."""
    outside: dict[Path, tuple[int, int]] = {}
    return load_files(req, lambda p: load_syslog_file(p, req, outside), outside=lambda p: outside.get(p, (0, 0)))
