"""The ``log4j`` logs format: Java logging layouts, multi-line records joined.

A record starts at a line that begins with a timestamp, bracketed or not
(``2016-12-19 16:31:46,143``, ``2016-12-19T16:31:46.143+01:00``, Spark's
``17/06/09 20:10:40``); every other line (config dumps, stack traces, blank lines
inside them) continues the record above it. Lines before the first record are
rejected. ``options: {multiline: ...}`` (:class:`pmkit.sources.multiline.Multiline`) replaces that
rule: ``traceback``, a start regex, or ``true`` (a line starting with a timestamp starts a record). ``parsed_inputs`` counts every physical line of the records kept.

Head lines are read with the first of these layouts that fits (each one anchored
regex, run by polars):

==========  =============================================================================
kafka       ``[2016-12-19 16:31:46,143] INFO msg (logger)``
zookeeper   ``2015-07-29 17:41:44,747 - INFO  [thread:Class@774] - msg``
hadoop      ``2015-10-18 18:01:47,978 INFO [thread] logger: msg`` (or ``logger - msg``)
classic     ``2016-12-19 16:31:46,143 [thread] INFO logger - msg`` (``%d [%t] %-5p %c - %m``)
spark       ``17/06/09 20:10:40 INFO logger: msg``
level       ``<ts> LEVEL msg`` (any other layout with a level after the time)
plain       ``<ts> msg`` (no level: level null)
==========  =============================================================================

The message is the head line's text; the lines after it go to
``attrs.continuation`` (joined with ``\\n``). ``attrs`` also holds ``logger``,
``thread`` and the source ``line`` when the layout has them; Kafka's logger may
close a multi-line record on its last line (`` (kafka.server.KafkaConfig)``).
Levels are normalised by :mod:`pmkit.sources.levels` (WARN -> warning,
FATAL -> critical...). Times without an offset are read in the source's
``timezone`` (UTC when none is given, and the load notes say so).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pmkit import schema, timeutil
from pmkit.sources import multiline, textio, window
from pmkit.sources.base import LoadRequest, LoadResult, load_files, origin_expr
from pmkit.sources.jsonattrs import polars_json_object
from pmkit.sources.levels import level_expr
from pmkit.sources.registry import register

_TS = (
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?"
)
_LEVEL = r"TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL|FINEST|FINER|FINE|CONFIG"
_MSG = r"(?:\s+(?P<msg>.*?))?\s*$"
LAYOUTS: dict[str, str] = {
    "kafka": rf"^\[(?P<ts>{_TS})\] (?P<level>{_LEVEL})\s+(?P<msg>.*?)(?: \((?P<logger>[\w.$-]+)\))?\s*$",
    "zookeeper": (
        rf"^(?P<ts>{_TS}) - (?P<level>{_LEVEL})\s+\[(?P<thread>.*):(?P<logger>[\w$.]+)@(?P<srcline>\d+)\] -" + _MSG
    ),
    "hadoop": rf"^(?P<ts>{_TS}) (?P<level>{_LEVEL})\s+\[(?P<thread>[^\]]*)\] (?P<logger>[^\s:]+)(?::| -)" + _MSG,
    "classic": rf"^(?P<ts>{_TS}) \[(?P<thread>[^\]]*)\] (?P<level>{_LEVEL})\s+(?P<logger>[^\s:]+)(?::| -)" + _MSG,
    "spark": rf"^(?P<ts>{_TS}) (?P<level>{_LEVEL})\s+(?P<logger>[^\s:\[\]]+):" + _MSG,
    "level": rf"^\[?(?P<ts>{_TS})\]?(?: -)? (?P<level>{_LEVEL})\b:?" + _MSG,
    "plain": rf"^\[?(?P<ts>{_TS})\]?" + _MSG,
}
HEAD = rf"^\[?(?:{_TS})\]?(?:\s|$)"
_FIELDS = ("ts", "level", "thread", "logger", "srcline", "msg")
_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%y/%m/%d %H:%M:%S%.f",
)
_PY_LAYOUTS = {name: re.compile(rx) for name, rx in LAYOUTS.items()}
_PY_HEAD = re.compile(HEAD)


def _layout_frame(heads: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """``heads`` with the fields of one layout (all of ``_FIELDS``, null when absent) and ``layout``."""
    rx = LAYOUTS[name]
    names = [n for n in re.compile(rx).groupindex if n in _FIELDS]
    x = pl.col("_x").struct
    return (
        heads.with_columns(pl.col("line").str.extract_groups("(?P<_ok>)" + rx).alias("_x"))
        .with_columns(
            *[x.field(f).alias(f) for f in names],
            *[pl.lit(None, dtype=pl.String).alias(f) for f in _FIELDS if f not in names],
            pl.when(x.field("_ok").is_not_null()).then(pl.lit(name)).alias("layout"),
        )
        .drop("_x")
    )


def _read_heads(heads: pl.DataFrame) -> pl.DataFrame:
    """Fields of every head line: the file's main layout first, the others only on what it left."""
    sample = heads.get_column("line").head(200).to_list()
    specific = [n for n in LAYOUTS if n not in ("level", "plain")]  # the generic two always come last
    order = [*sorted(specific, key=lambda n: -sum(bool(_PY_LAYOUTS[n].match(s)) for s in sample)), "level", "plain"]
    main = _layout_frame(heads.lazy(), order[0]).collect()
    done, rest = main.filter(pl.col("layout").is_not_null()), main.filter(pl.col("layout").is_null())
    parts = [done]
    for name in order[1:]:
        if rest.height == 0:
            break
        got = _layout_frame(rest.drop(*_FIELDS, "layout").lazy(), name).collect()
        parts.append(got.filter(pl.col("layout").is_not_null()))
        rest = got.filter(pl.col("layout").is_null())
    parts.append(rest)
    return pl.concat(parts, how="diagonal").sort(multiline.RECORD)


def _times(values: pl.Series, req: LoadRequest, label: str) -> tuple[pl.Series, list[str]]:
    fmts = (req.ts_format,) if req.ts_format else _TS_FORMATS
    exprs = [
        timeutil.ts_expr(pl.col("v"), f, req.timezone)
        if f in timeutil.EPOCH_UNITS
        else timeutil.ts_expr(pl.col("n"), f, req.timezone, normalised=False)  # "n" is normalised below, once
        for f in fmts
    ]
    frame = values.to_frame("v").with_columns(timeutil.normalise(pl.col("v")).alias("n"))  # normalised once
    out = frame.select(pl.coalesce(exprs).alias(values.name)).to_series()
    notes = []
    naive = values.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$").not_()
    if req.timezone is None and naive.any():
        notes.append(f"{label}times carry no UTC offset; read as UTC (set timezone)")
    return out, notes


_CHEAP_TS = r"^\[?(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)"


def load_log4j_file(
    path: Path, req: LoadRequest, outside: dict[Path, tuple[int, int]] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, list[str]]:
    """Parse one file: (events, rejects, inputs, parsed_inputs, notes); with the request's window, the lines of
    records outside it are counted into ``outside[path]`` (a head's cheap ISO time decides before parsing,
    its continuation lines follow it; the exact time after) and are not in ``parsed_inputs``."""
    origin = str(path)
    lines = textio.read_lines(path)
    n_lines, n_out, n_pre = lines.height, 0, 0
    rule = multiline.multiline_option(req.options.get("multiline"), f"{path} (source {req.source!r})")
    starts = pl.col("line").str.contains(HEAD)
    lines = lines.with_columns((starts if rule is None else rule.head(starts)).alias("_starts"))
    if req.window is not None and not req.ts_format:
        cheap = window.iso_cheap(pl.col("line").str.extract(_CHEAP_TS, 1), req.timezone)
        lines, n_pre = window.prefilter(lines, cheap, req.window, head=pl.col("_starts"))
    labelled = multiline.label_records(lines, pl.col("_starts"))
    rejects = [
        multiline.line_rejects(
            multiline.orphans(labelled), "continuation line before the first log4j record of the file", origin
        )
    ]
    records = _read_heads(multiline.join_records(labelled))
    ts, notes = _times(records.get_column("ts"), req, f"{path.name}: ")
    if rule is not None:
        notes.append(rule.describe())
    records = records.with_columns(ts.alias("t"))
    bad = records.filter(pl.col("t").is_null()).select(
        multiline.RECORD,
        pl.when(pl.col("ts").is_null())
        .then(pl.lit("not a log4j line (no timestamp at its start)"))
        .otherwise(pl.format("timestamp {} not readable", pl.col("ts")))
        .alias("reason"),
    )
    rejects.append(multiline.record_rejects(labelled, bad, origin))
    records = records.filter(pl.col("t").is_not_null())
    records, dropped = window.drop_outside_records(records, req.window)
    n_out += dropped
    if outside is not None:
        outside[path] = (n_pre, n_out)
    tail_logger = pl.col("last_line").str.extract(r"^\s*\(([\w.$-]+)\)\s*$")
    logger = pl.coalesce(pl.col("logger"), pl.when(pl.col("n_lines") > 1).then(tail_logger))
    level = level_expr(pl.col("level"))
    attrs = {
        "logger": logger,
        "thread": pl.col("thread"),
        "line": pl.col("srcline").cast(pl.Int64, strict=False),
        "continuation": pl.col("continuation"),
        "level_raw": pl.when(level.is_null()).then(pl.col("level")),
    }
    events = records.select(
        pl.col("t").alias("ts"),
        pl.lit("log").alias("kind"),
        level.alias("level"),
        pl.col("msg").fill_null("").str.strip_chars_end().alias("message"),
        polars_json_object(attrs).alias("attrs"),
        origin_expr(origin).alias("origin"),
    )
    n_ok = int(records.get_column("n_lines").sum() or 0)
    return schema.conform(events, "events"), pl.concat(rejects), n_lines, n_ok, notes


def sniff(head: str) -> bool:
    """The first non-blank line is a log4j head with a level, and heads make up most unindented lines."""
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if not lines or not any(_PY_LAYOUTS[n].match(lines[0]) for n in LAYOUTS if n != "plain"):
        return False
    unindented = [ln for ln in lines if not ln[:1].isspace()]
    return sum(bool(_PY_HEAD.match(ln)) for ln in unindented) * 2 >= len(unindented)


@register(
    "logs",
    "log4j",
    description="log4j/logback layouts (Kafka, ZooKeeper, Hadoop, Spark...), multi-line records joined",
    example="[2016-12-19 16:31:46,143] INFO starting (kafka.server.KafkaServer)",
    sniff=sniff,
    options=("multiline",),
)
def load_log4j(req: LoadRequest) -> LoadResult:
    """The ``log4j`` logs format."""
    outside: dict[Path, tuple[int, int]] = {}
    return load_files(req, lambda p: load_log4j_file(p, req, outside), outside=lambda p: outside.get(p, (0, 0)))
