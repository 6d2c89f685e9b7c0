"""The ``csv`` logs format: log lines exported as CSV/TSV, one row per log line.

Loki (Grafana Explore "Download CSV": ``labels,Time,Line,tsNs,id``), CloudWatch Logs Insights
(``@timestamp,@message,@logStream,@log``), Cloud Logging/BigQuery (``timestamp,severity,textPayload,...``),
Splunk (``_time,_raw,...``) and spreadsheet exports all have this shape: a time column, a message column,
optional level and service columns, anything else.

Counting unit: rows (a quoted cell may span lines; the origin is the row's first line). A row is parsed
when its time reads; it is rejected (``path:line``) when its field count differs from the header or its
time is missing or unreadable. Blank lines are not rows.

Columns are found as in JSON lines (:mod:`pmkit.sources.fieldmap`, same ``fields:`` overrides), and also by
the names these exports use, any case: ``ts`` from time, timestamp, @timestamp, _time, date, datetime,
eventtime, tsns (epoch nanoseconds); ``message`` from message, @message, line, msg, log, text, textpayload,
_raw, body, content; ``level`` from level, severity, loglevel, log_level, detected_level, levelname;
``service`` from service, svc, service.name, service_name, app, application, container_name and, inside a
JSON ``labels`` cell (Loki), its service_name, service, app, job, container
(:data:`pmkit.sources.tabular.LOG_CSV_NAMES`). With no level column, the level is the one the message
states: a ``level=x`` / ``"level":"x"`` pair, else the first upper-case level word (ERROR, WARN, INFO...)
in its first 80 characters. Times ending in `` UTC`` (BigQuery) read as UTC. Cells holding JSON objects (a column whose every non-empty cell is one)
are decoded, so their keys are attrs and dotted ``fields:`` paths reach them. A ``date`` column and a ``time``
column (any case: loghub's structured CSVs, IIS) are read together as the time, ``<date> <time>``
(``ts_format`` describes that joined text). Every other column goes to
``attrs`` as text. Empty cells are absent.

Options: ``separator`` (default: ``,`` ``;`` tab or ``|``, whichever the header holds most; a ``sep=X``
first line wins). Times without an offset are read in ``timezone`` (default UTC, and the load report says
so): CloudWatch writes UTC, Grafana writes the browser's zone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.fieldmap import DEFAULT_FIELDS, finish_records, load_records
from pmkit.sources.levels import level_expr
from pmkit.sources.linescan import in_line_order
from pmkit.sources.registry import register
from pmkit.sources.tabular import LINE, LOG_CSV_NAMES, RAW, looks_like_log_csv, read_csv_blocks

__all__ = ["load_csv_logs"]

_OPTIONS = ("separator",)
_LABEL_KEYS = {"service": ("service_name", "service", "app", "job", "container"), "level": ("level", "detected_level")}
_JSON_OBJECT = r"^\s*\{.*\}\s*$"


def _extra(columns: list[str], rec: pl.DataFrame) -> dict[str, tuple[str, ...]]:
    """The columns that fill each event column, by the export names (any case)."""
    low: dict[str, list[str]] = {}
    for c in columns:
        low.setdefault(c.lower(), []).append(c)
    out: dict[str, tuple[str, ...]] = {}
    for column, names in LOG_CSV_NAMES.items():
        out[column] = tuple(c for n in names for c in low.get(n, []) if c not in DEFAULT_FIELDS[column])
    labels = next((c for c in columns if c.lower() == "labels" and isinstance(rec.schema[c], pl.Struct)), None)
    if labels is not None:
        for column, keys in _LABEL_KEYS.items():
            out[column] = (*out.get(column, ()), *(f"{labels}.{k}" for k in keys))
    return out


def _decode_json_cells(rec: pl.DataFrame, notes: list[str], path: Path) -> pl.DataFrame:
    """Columns whose every non-empty cell is a JSON object, decoded to structs (a Loki ``labels`` cell)."""
    out = rec
    for c in rec.columns:
        col = rec.get_column(c)
        vals = col.drop_nulls()
        if vals.len() == 0 or not vals.str.contains(_JSON_OBJECT).all():
            continue
        try:
            out = out.with_columns(col.str.json_decode(infer_schema_length=None).alias(c))
        except pl.exceptions.PolarsError:
            notes.append(f"{path.name}: column {c!r} looks like JSON objects but does not decode; kept as text")
            continue
    return out


def _load_file(path: Path, req: LoadRequest, notes: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    sep = req.options.get("separator")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1):
        raise SourceError(f"{req.key or req.path}: options.separator must be one character, not {sep!r}")
    blocks = read_csv_blocks(path, separator=sep)
    if not blocks:
        notes.append(f"{path.name}: empty file, nothing to load")
    events, rejects, inputs = [], [], 0
    for block in blocks:
        rows = block.rows
        rejects.append(block.bad.select("origin", "reason", "raw"))
        inputs += block.inputs
        if rows.height == 0:
            continue
        rec = rows.select(block.columns).with_columns(
            pl.col(c).str.strip_chars().replace("", None) for c in block.columns
        )
        rec = _decode_json_cells(rec, notes, path)
        extra = _extra(block.columns, rec)
        rec = rec.with_columns(  # BigQuery writes `2025-03-14 13:05:02.118000 UTC`
            pl.col(c).str.replace(r"\s+(?:UTC|GMT)$", "+00:00")
            for c in dict.fromkeys((req.fields.get("ts"), *DEFAULT_FIELDS["ts"], *extra["ts"]))
            if c in rec.columns and rec.schema[c] == pl.String
        )
        if not extra["ts"] and "ts" not in req.fields and not set(DEFAULT_FIELDS["ts"]) & set(block.columns):
            raise SourceError(
                f"{path}: no time column (looked for {', '.join(LOG_CSV_NAMES['ts'])}, any case); the columns are "
                f"{block.columns}: set fields: {{ts: <column>}}"
            )
        file_req = req
        low = {c.lower(): c for c in reversed(block.columns)}
        if "ts" not in req.fields and "date" in low and "time" in low:  # loghub, IIS: the date and time apart
            joined = f"{low['date']} {low['time']}"
            rec = rec.with_columns(pl.concat_str(pl.col(low["date"]), pl.lit(" "), pl.col(low["time"])).alias(joined))
            file_req = replace(req, fields={**req.fields, "ts": joined})
            extra["ts"] = ()  # a time-only or date-only cell read alone would be a wrong time (203615 as an epoch)
            notes.append(f"{path.name}: time read from columns {low['date']!r} and {low['time']!r} joined")
        raws = rows.select(LINE, RAW)

        def raw_of(nos: pl.Series, raws: pl.DataFrame = raws) -> pl.Series:
            return nos.cast(pl.UInt32).alias(LINE).to_frame().join(raws, on=LINE, how="left").get_column(RAW)

        ev, more = finish_records(path, rec, rows.get_column(LINE), file_req, notes, raw_of, extra)
        if not extra["level"] and "level" not in req.fields and ev.height:
            ev = ev.with_columns(pl.coalesce(pl.col("level"), level_expr(_level_in_text(pl.col("message")))))
        events.append(ev)
        rejects.append(more)
    frame = pl.concat(events) if events else _no_events()
    rej = (
        in_line_order(pl.concat(rejects))
        if rejects
        else pl.DataFrame(schema={"origin": pl.String, "reason": pl.String, "raw": pl.String})
    )
    return frame, rej, inputs, frame.height


_LEVEL_WORD = r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE|PANIC)\b"
_LEVEL_KEY = r"(?i)\blevel\\?\"?\s*[=:]\s*\\?\"?([A-Za-z]+)"


def _level_in_text(message: pl.Expr) -> pl.Expr:
    """The level a message states, for exports without a level column: a ``level=x`` / ``"level":"x"`` pair, else
    the first upper-case level word in its first 80 characters (``ERROR [main] ...``, ``... WARN retrying``)."""
    return pl.coalesce(message.str.extract(_LEVEL_KEY, 1), message.str.slice(0, 80).str.extract(_LEVEL_WORD, 1))


def _no_events() -> pl.DataFrame:
    from pmkit import schema

    return schema.empty("events").drop("source")


@register(
    "logs",
    "csv",
    description="log lines as CSV/TSV: a time and a message column, optional level/service (Loki, CloudWatch "
    "Logs Insights, BigQuery, Splunk exports); fields: like jsonl",
    example='@timestamp,@message,@logStream,@log\n2025-03-14 13:05:02.118,"ERROR payment authorisation failed",'
    "payments/payments/4f1c2e,123456789012:/ecs/payments",
    sniff=looks_like_log_csv,
    sniff_order=45,
    options=("separator",),
)
def load_csv_logs(req: LoadRequest) -> LoadResult:
    """CSV/TSV log exports: one event per row (see the module docstring)."""
    unknown = sorted(set(req.options) - set(_OPTIONS))
    if unknown:
        raise SourceError(f"{req.key or req.path}: unknown option(s) {unknown} for logs/csv; expected separator")
    return replace(load_records(req, _load_file), unit="rows")
