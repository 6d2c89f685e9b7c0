"""The ``grok`` logs format: any grok expression (pygrok's library + custom patterns) or a loghub preset.

How an expression is expanded, translated for polars and, when it has no translation,
run line by line: :mod:`pmkit.sources.grokcore` (the load notes say when the slower
path is taken, and why).

**Events.** The capture ``ts`` (or ``timestamp``) is the event time, parsed with
:func:`pmkit.timeutil` rules (``ts_format``/``timezone``; year-less formats such as
``%b %d %H:%M:%S`` get the year rule of :mod:`pmkit.sources.yearless`). ``level``,
``message`` and ``service`` map to their columns; every other capture goes to
``attrs`` (JSON, sorted keys, null captures left out, ``:int``/``:float`` captures as
numbers). Without a ``message`` capture the message is the whole line. A line that
does not match is rejected ("does not match the grok pattern").

**Levels** are normalised to debug, info, warning, error, critical by the one table of
:mod:`pmkit.sources.levels` (trace/debug/fine*/verbose and Android ``V``/``D`` -> debug;
info/notice/config and ``I`` -> info; warn/warning/WRN and ``W`` -> warning; error/err/severe
and ``E`` -> error; critical/crit/fatal/emerg/alert/panic and ``F``/``A`` -> critical; pino
numbers). An unknown word leaves the level null and is kept in ``attrs.level_raw``.

**Multi-line** (``options: {multiline: ...}``, the rule of :class:`pmkit.sources.multiline.Multiline`):
``traceback`` (or ``indented``) joins indented lines and Python/Java stack-trace lines to the line above;
``{start: REGEX}`` (or the regex as a string) marks head lines (those it matches at their start);
``true`` joins lines that do not match the pattern to the previous matching line. The continuation
lines go to ``attrs.continuation`` and count as parsed lines of their record.

**Presets** (``options: {preset: hdfs}``): :data:`PRESETS`, one per loghub system
(see ``docs/loghub-agreement.md`` for how well each agrees with loghub's ground truth).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pmkit import schema, timeutil
from pmkit.errors import SourceError
from pmkit.sources import multiline, textio
from pmkit.sources.base import LoadRequest, LoadResult, dedupe_notes, load_files, origin_expr
from pmkit.sources.grokcore import CompiledGrok, GrokError, compile_grok
from pmkit.sources.jsonattrs import polars_json_object
from pmkit.sources.levels import level_expr
from pmkit.sources.registry import register
from pmkit.sources.yearless import complete_year

# --------------------------------------------------------------------------- times

_YEAR_TOKENS = ("%Y", "%y", "%G", "%C", "%s", "%+", "%c", "%D", "%F", "%x")
YEARLESS_CANDIDATES = ("%b %d %H:%M:%S%.f", "%m-%d %H:%M:%S%.f", "%m/%d %H:%M:%S%.f", "%m.%d %H:%M:%S%.f")


def is_yearless(fmt: str) -> bool:
    """Whether a strftime format has no year (``%b %d %H:%M:%S``); epoch formats have one."""
    return fmt not in timeutil.EPOCH_UNITS and not any(tok in fmt for tok in _YEAR_TOKENS)


def parse_times(
    values: pl.Series,
    req: LoadRequest,
    *,
    fmt: str | None = None,
    label: str = "",
    rewrites: Sequence[tuple[str, str]] = (),
) -> tuple[pl.Series, list[str]]:
    """Parse a capture to ``Datetime(us, UTC)`` the pmkit way; returns the series and notes.

    ``fmt`` (or ``req.ts_format``) may be year-less: the year then comes from
    :func:`pmkit.sources.yearless.complete_year`. Unreadable values become null.
    """
    notes: list[str] = []
    for pattern, repl in rewrites:
        values = values.str.replace(pattern, repl)
    fmt = req.ts_format or fmt
    if fmt is None and values.dtype == pl.String:
        guess = timeutil.guess_format(values)
        if guess is None:
            fmt = _guess_yearless(values)
            if fmt is None:
                return pl.Series(values.name, [None] * values.len(), dtype=schema.UTC_TS), notes
        else:
            notes.append(f"{label}timestamp format not given; read as {guess.fmt!r} (set ts_format to be sure)")
    if fmt is not None and values.dtype == pl.String and is_yearless(fmt):
        out, note = complete_year(values, fmt, year=req.year, window=req.window, tz=req.timezone, label=label)
        notes.append(note)
        if req.timezone is None:
            notes.append(f"{label}times carry no UTC offset; read as UTC (set timezone)")
        return out, notes
    out, guess = timeutil.parse_ts(values, fmt, req.timezone)
    used = fmt or (guess.fmt if guess else "")
    naive = used and used not in timeutil.EPOCH_UNITS and used != "epoch_auto" and not timeutil.is_aware(used)
    if req.timezone is None and naive:
        notes.append(f"{label}times carry no UTC offset; read as UTC (set timezone)")
    return out, notes


def _guess_yearless(values: pl.Series) -> str | None:
    sample = values.drop_nulls().head(200).to_frame("v")
    best, hits = None, 0
    for fmt in YEARLESS_CANDIDATES:
        expr = pl.concat_str([pl.lit("2000 "), pl.col("v").str.replace_all(r"\s+", " ")])
        n = sample.select(expr.str.strptime(pl.Datetime("us"), "%Y " + fmt, strict=False).is_not_null().sum()).item()
        if n > hits:
            best, hits = fmt, n
    return best


# ------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class GrokPreset:
    """A named grok setup: the expression, its custom patterns and how to read its time."""

    pattern: str
    description: str
    example: str
    patterns: Mapping[str, str] = field(default_factory=dict)
    ts_format: str | None = None
    ts_rewrite: tuple[tuple[str, str], ...] = ()


PRESETS: dict[str, GrokPreset] = {
    "android": GrokPreset(
        r"%{ANDROID_TS:ts}\s+%{INT:pid:int}\s+%{INT:tid:int} %{ANDROID_LEVEL:level} %{ANDROID_TAG:component}: ?"
        r"%{GREEDYDATA:message}",
        "Android logcat (threadtime): `MM-dd HH:mm:ss.SSS pid tid L tag: msg` (year-less)",
        "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs",
        {"ANDROID_TS": r"\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", "ANDROID_LEVEL": "[VDIWEFA]", "ANDROID_TAG": r"[^:]*?"},
        "%m-%d %H:%M:%S%.f",
    ),
    "apache-error": GrokPreset(
        r"\[%{HTTPDERROR_DATE:ts}\] \[%{LOGLEVEL:level}\] %{APACHE_MESSAGE:message}",
        "Apache 2.0/2.2 error log: `[Sun Dec 04 04:47:44 2005] [notice] msg`",
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
        {"APACHE_MESSAGE": r"(?:\[client %{IPORHOST:client}\] )?%{GREEDYDATA}"},
        "%a %b %d %H:%M:%S %Y",
    ),
    "hdfs": GrokPreset(
        r"%{HDFS_TS:ts} %{INT:pid:int} %{LOGLEVEL:level} %{HDFS_COMPONENT:component}: %{GREEDYDATA:message}",
        "Hadoop HDFS 0.x: `yyMMdd HHmmss pid LEVEL component: msg`",
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660",
        {"HDFS_TS": r"\d{6} \d{6}", "HDFS_COMPONENT": r"[^\s:]+"},
        "%y%m%d %H%M%S",
    ),
    "hadoop": GrokPreset(
        r"%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} \[%{HADOOP_THREAD:thread}\] %{JAVACLASS:component}: "
        r"%{GREEDYDATA:message}",
        "Hadoop/YARN log4j: `yyyy-MM-dd HH:mm:ss,SSS LEVEL [thread] class: msg`",
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
        {"HADOOP_THREAD": r"[^\]]*"},
        "%Y-%m-%d %H:%M:%S%.f",
    ),
    "healthapp": GrokPreset(
        r"%{HEALTH_TS:ts}\|%{HEALTH_COMPONENT:component}\|%{INT:pid:int}\|%{GREEDYDATA:message}",
        "Huawei HealthApp: `yyyyMMdd-H:m:s:S|component|pid|msg` (milliseconds unpadded)",
        "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
        {"HEALTH_TS": r"\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3}", "HEALTH_COMPONENT": r"[^|]*"},
        "%Y%m%d-%H:%M:%S:%3f",
        ((r":(\d)$", ":00${1}"), (r":(\d\d)$", ":0${1}")),
    ),
    "linux": GrokPreset(
        r"%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:host} %{LINUX_PROG:component}(?:\[%{POSINT:pid:int}\])?: "
        r"%{GREEDYDATA:message}",
        "Linux syslog (RFC 3164 without PRI): `Mmm dd HH:MM:SS host prog[pid]: msg` (year-less)",
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0",
        {"LINUX_PROG": r"[^\[:]+?"},
        "%b %d %H:%M:%S",
    ),
    "openssh": GrokPreset(
        r"%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:host} %{PROG:component}\[%{POSINT:pid:int}\]: %{GREEDYDATA:message}",
        "OpenSSH via syslog: `Mmm dd HH:MM:SS host sshd[pid]: msg` (year-less)",
        "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
        {},
        "%b %d %H:%M:%S",
    ),
    "proxifier": GrokPreset(
        r"\[%{PROXIFIER_TS:ts}\] %{PROXIFIER_PROGRAM:program} - %{GREEDYDATA:message}",
        "Proxifier: `[MM.dd HH:mm:ss] program - msg` (year-less)",
        "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
        {"PROXIFIER_TS": r"\d{2}\.\d{2} \d{2}:\d{2}:\d{2}", "PROXIFIER_PROGRAM": r".*?"},
        "%m.%d %H:%M:%S",
    ),
    "spark": GrokPreset(
        r"%{SPARK_TS:ts} %{LOGLEVEL:level} %{SPARK_CLASS:component}: %{GREEDYDATA:message}",
        "Spark log4j default: `yy/MM/dd HH:mm:ss LEVEL class: msg`",
        "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
        {"SPARK_TS": r"\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", "SPARK_CLASS": r"[\w$.]+"},
        "%y/%m/%d %H:%M:%S",
    ),
    "zookeeper": GrokPreset(
        r"%{TIMESTAMP_ISO8601:ts} - %{LOGLEVEL:level}\s+\[%{ZK_THREAD:thread}:%{ZK_CLASS:component}@%{INT:line:int}\]"
        r" - %{GREEDYDATA:message}",
        "ZooKeeper log4j: `yyyy-MM-dd HH:mm:ss,SSS - LEVEL [thread:Class@line] - msg`",
        "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - msg",
        {"ZK_THREAD": r".*", "ZK_CLASS": r"[\w$.]+"},
        "%Y-%m-%d %H:%M:%S%.f",
    ),
}


# -------------------------------------------------------------------------- loader


def _where(req: LoadRequest) -> str:
    """How an error about the source's options names it: its path and name (the files are not read yet)."""
    return f"{req.path} (source {req.source!r})"


def _resolve(req: LoadRequest) -> tuple[str, dict[str, str], GrokPreset | None]:
    preset_name = req.options.get("preset")
    preset = None
    if preset_name is not None:
        preset = PRESETS.get(str(preset_name).lower())
        if preset is None:
            close = difflib.get_close_matches(str(preset_name).lower(), list(PRESETS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SourceError(
                f"{_where(req)}: unknown grok preset {preset_name!r}{hint} (presets: {', '.join(sorted(PRESETS))})"
            )
    expr = req.pattern or (preset.pattern if preset else None)
    if not expr:
        raise SourceError(
            f"{_where(req)}: the grok format needs `pattern` (a grok expression such as "
            "'%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}') or `options: {preset: NAME}` "
            f"(one of {', '.join(sorted(PRESETS))})"
        )
    custom = {**(preset.patterns if preset and not req.pattern else {}), **req.patterns}
    return expr, custom, preset if not req.pattern else None


_RESERVED = {"level", "message", "service"}


def load_grok_file(
    path: Path,
    cg: CompiledGrok,
    req: LoadRequest,
    *,
    ts_field: str,
    ts_format: str | None = None,
    ts_rewrite: Sequence[tuple[str, str]] = (),
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, list[str]]:
    """Parse one file: (events, rejects, inputs, parsed_inputs, notes)."""
    lines = textio.read_lines(path)
    origin = str(path)
    ext = cg.extract(lines, "line")
    rule = multiline.multiline_option(req.options.get("multiline"), _where(req))
    rejects: list[pl.DataFrame] = []
    if rule is None:
        labelled = multiline.label_records(ext, pl.lit(True))
        bad_lines = ext.filter(~pl.col("matched"))
        rejects.append(multiline.line_rejects(bad_lines, "does not match the grok pattern", origin))
        records = multiline.join_records(labelled.filter(pl.col("matched")))
    else:
        labelled = multiline.label_records(ext, rule.head(pl.col("matched")))
        rejects.append(
            multiline.line_rejects(
                multiline.orphans(labelled), "continuation line before the first record of the file", origin
            )
        )
        records = multiline.join_records(labelled)
        unmatched = records.filter(~pl.col("matched")).select(
            multiline.RECORD, pl.lit("does not match the grok pattern").alias("reason")
        )
        rejects.append(multiline.record_rejects(labelled, unmatched, origin))
        records = records.filter(pl.col("matched"))
    ts, notes = parse_times(
        records.get_column(f"grok.{ts_field}").cast(pl.String),
        req,
        fmt=ts_format,
        label=f"{path.name}: ",
        rewrites=ts_rewrite,
    )
    records = records.with_columns(ts.alias("ts"))
    bad_ts = records.filter(pl.col("ts").is_null()).select(
        multiline.RECORD,
        pl.format("timestamp {} not readable", pl.col(f"grok.{ts_field}").fill_null("(empty)")).alias("reason"),
    )
    rejects.append(multiline.record_rejects(labelled, bad_ts, origin))
    records = records.filter(pl.col("ts").is_not_null())
    types = cg.types
    other = [f for f in cg.fields if f not in _RESERVED and f not in ("ts", "timestamp")]
    # "timestamp" stays in attrs when "ts" is the time, and the other way round
    other += [f for f in ("ts", "timestamp") if f in types and f != ts_field]
    attrs: dict[str, pl.Expr] = {f: pl.col(f"grok.{f}") for f in other}
    if "level" in types:
        raw_level = pl.col("grok.level").cast(pl.String)
        level = level_expr(raw_level)
        attrs["level_raw"] = pl.when(level.is_null()).then(raw_level)
    else:
        level = pl.lit(None, dtype=pl.String)
    attrs["continuation"] = pl.col("continuation")
    message = pl.col("grok.message").cast(pl.String) if "message" in types else pl.col("line")
    service = pl.col("grok.service").cast(pl.String) if "service" in types else pl.lit(None, dtype=pl.String)
    events = records.select(
        pl.col("ts"),
        pl.lit("log").alias("kind"),
        service.alias("service"),
        level.alias("level"),
        message.fill_null("").alias("message"),
        polars_json_object(attrs).alias("attrs"),
        origin_expr(origin).alias("origin"),
    )
    parsed = int(records.get_column("n_lines").sum() or 0)
    return schema.conform(events, "events"), pl.concat(rejects), lines.height, parsed, notes


@register(
    "logs",
    "grok",
    description="any grok expression (option pattern, pygrok's library + custom patterns) or a preset",
    example="pattern: '%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}'",
    options=("preset", "multiline", "anchored"),
)
def load_grok(req: LoadRequest) -> LoadResult:
    """The ``grok`` logs format."""
    expr, custom, preset = _resolve(req)
    try:
        cg = compile_grok(expr, custom, anchored=bool(req.options.get("anchored", True)))
    except GrokError as exc:
        raise SourceError(f"{_where(req)}: {exc}") from None
    types = cg.types
    ts_field = "ts" if "ts" in types else "timestamp" if "timestamp" in types else None
    if ts_field is None:
        raise SourceError(
            f"{_where(req)}: the grok pattern has no time capture; name it ts, e.g. "
            f"%{{TIMESTAMP_ISO8601:ts}} (captures: {', '.join(cg.fields) or 'none'})"
        )
    result = load_files(
        req,
        lambda p: load_grok_file(
            p,
            cg,
            req,
            ts_field=ts_field,
            ts_format=preset.ts_format if preset else None,
            ts_rewrite=preset.ts_rewrite if preset else (),
        ),
    )
    return LoadResult(
        frame=result.frame,
        rejects=result.rejects,
        inputs=result.inputs,
        parsed_inputs=result.parsed_inputs,
        notes=dedupe_notes([*cg.notes, *result.notes]),
    )
