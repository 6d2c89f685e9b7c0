"""Generic metric CSV (format ``csv``) into the ``series`` frame, long or wide layout.

Counting unit: data rows (see :mod:`pmkit.sources.metrics`). Value cells and series names follow
:mod:`pmkit.sources.series`: a series name of the Prometheus display form ``name{k="v", ...}`` or
``{__name__="name", k="v"}`` is split into the metric name and labels; other names are used as is.
A wide value column named ``value`` (``val``, ``y``) takes ``options.metric``, else the file stem.

Layout detection, overridable with ``options``
----------------------------------------------
- ``separator``: the ``sep=X`` first line (Excel), else ``options.separator``, else whichever of
  ``,`` ``;`` tab ``|`` occurs most in the header line.
- ``time``: ``options.time``, else the first column, in the file's order, named timestamp, time, ts,
  datetime, date, _time, @timestamp, time_stamp, date_time, timestamp_ms, epoch, unix_time (any case:
  ``Time``, ``TimeStamp``), else the first column whose values read as date-times. Another time-named
  column is ignored (neither a metric nor a label; a note says how far it reads from the time column).
  Times go through :func:`pmkit.sources.tabular.parse_time_column` (:func:`pmkit.timeutil.parse_ts`
  rules: ``ts_format``, ``timezone`` for naive times, epoch seconds/ms/us/ns told apart by magnitude,
  nanosecond fractions truncated to microseconds, Go ``time.String()`` accepted; a mostly numeric
  column is read as epochs even when a few cells are not, so those cells reject only their rows).
- an index column (an empty header name, ``Unnamed: 0`` or ``index``, as pandas writes) is ignored.
- long layout (``timestamp,metric,value[,labels...]``) when ``options.metric`` names a column or a
  column is named metric, metric_name, __name__ or series. ``value`` is ``options.value``, else the
  column named value/val/y, else the only other numeric column. Every other column is a label
  unless ``options.labels`` lists them (then exactly those; the others are ignored, said in a note).
- wide layout (``timestamp,col1,col2,...``) otherwise: each numeric column is one metric (or only
  ``options.value``, a name or a list). Columns whose values are mostly not numbers (for example a
  ``rollouts_pod_template_hash``) become labels of every sample in their row; ``options.labels``
  names label columns explicitly (needed when a label looks numeric).
"""

from __future__ import annotations

import re

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.registry import register
from pmkit.sources.series import (
    GENERIC_VALUE_NAMES,
    TIME_COLUMN_NAMES,
    Plan,
    grafana_header,
    load_csv_blocks,
    need_columns,
    numeric_share,
    option_list,
    wide_name,
)
from pmkit.sources.tabular import CsvBlock, first_content_line, looks_like_log_csv, parse_time_column
from pmkit.timeutil import parse_ts

__all__ = ["load_csv"]

_TIME_NAMES = TIME_COLUMN_NAMES
_METRIC_NAMES = ("metric", "metric_name", "__name__", "series")
_INDEX_NAMES = ("", "unnamed: 0", "index")


def _find(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    low = {c.lower(): c for c in reversed(columns)}
    for w in wanted:
        if w in low:
            return low[w]
    return None


def _looks_like_time(values: pl.Series) -> bool:
    vals = values.drop_nulls().head(200)
    if vals.len() == 0 or numeric_share(vals) > 0.5:
        return False
    parsed, _ = parse_ts(vals)
    return parsed.null_count() == 0


def _second_time_note(block: CsvBlock, req: LoadRequest, time: str, other: str) -> str:
    """Say that ``other`` (a second time-named column) is ignored, and how far it is from ``time`` when both read
    as times: a constant offset (the Nezha dataset's ``TimeStamp`` is 200,000,000 s off its ``Time``) is worth
    knowing before anyone reaches for the other column."""
    head = block.rows.head(500)
    a, _ = parse_time_column(head.get_column(time), req.ts_format, req.timezone)
    b, _ = parse_time_column(head.get_column(other), None, req.timezone)
    diff = pl.select((b - a).dt.total_seconds().median()).item() if a.len() else None
    said = f"{block.path.name}: column {other!r} is a second time column; ignored (time is {time!r}, the first)"
    if diff is not None and abs(diff) >= 1:
        said += f"; it reads {diff:+,.0f} s from {time!r} (median of the first rows)"
    return said


def _plan_csv(block: CsvBlock, req: LoadRequest) -> tuple[Plan, list[str]]:
    """Choose time, metric, value and label columns for a generic CSV block (see the module docstring)."""
    path, columns, opts = block.path, block.columns, req.options
    notes: list[str] = []
    ignored: list[str] = []
    time_opt = opts.get("time")
    if time_opt is not None:
        if time_opt not in columns:
            raise SourceError(f"{path}: options.time {time_opt!r} is not a column; the columns are {columns}")
        time = str(time_opt)
    else:
        named = [c for c in columns if c.lower() in _TIME_NAMES]
        found = named[0] if named else None
        if found is None:
            found = next((c for c in columns if _looks_like_time(block.rows.get_column(c))), None)
        if found is None:
            raise SourceError(
                f"{path}: cannot tell which column holds the time (none is named {', '.join(_TIME_NAMES)} and none "
                f"reads as date-times); set options.time to one of {columns}"
            )
        time = found
        for other in named[1:]:  # a second time column is neither a metric nor a label
            ignored.append(other)
            notes.append(_second_time_note(block, req, time, other))
    first = block.header_names[0].lower() if block.header_names else None
    if columns and columns[0] != time and first in _INDEX_NAMES:
        ignored.append(columns[0])
        notes.append(f"{path.name}: first column {block.header_names[0]!r} is an index column; ignored")
    labels_opt = option_list(opts.get("labels"), "labels", path)
    need_columns(labels_opt, columns, "labels", path)
    values_opt = option_list(opts.get("value"), "value", path)
    need_columns(values_opt, columns, "value", path)
    metric_opt = opts.get("metric")
    if metric_opt is not None and not isinstance(metric_opt, str):
        raise SourceError(f"{path}: options.metric must be a column name or a metric name, not {metric_opt!r}")
    metric_col = metric_opt if metric_opt in columns else None
    if metric_opt is None:
        metric_col = _find([c for c in columns if c not in (time, *ignored)], _METRIC_NAMES)
    rest = [c for c in columns if c not in (time, *ignored, *labels_opt) and c != metric_col]
    if metric_col is not None:  # long layout
        if values_opt:
            if len(values_opt) != 1:
                raise SourceError(f"{path}: the long layout has one value column; options.value lists {values_opt}")
            value = values_opt[0]
        else:
            value = _find(rest, GENERIC_VALUE_NAMES) or ""
            if not value:
                numeric = [c for c in rest if numeric_share(block.rows.get_column(c)) > 0.5]
                if len(numeric) != 1:
                    raise SourceError(
                        f"{path}: long layout (metric column {metric_col!r}) but cannot tell the value column "
                        f"among {rest}; set options.value"
                    )
                value = numeric[0]
        labels = labels_opt or [c for c in rest if c != value]
        unused = [c for c in rest if c != value and c not in labels]
        if unused:
            notes.append(f"{path.name}: columns {unused} are not options.labels; ignored")
        notes.append(
            f"{path.name}: long layout: time={time!r}, metric={metric_col!r}, value={value!r}, labels={labels}"
        )
        return Plan(time, [value], labels, metric_col=metric_col), notes
    if values_opt:
        value_cols = values_opt
        labels = labels_opt or [c for c in rest if c not in value_cols]
    else:
        auto_labels: list[str] = []
        value_cols = []
        for c in rest:
            (value_cols if numeric_share(block.rows.get_column(c)) > 0.5 else auto_labels).append(c)
        labels = labels_opt or auto_labels
    unused = [c for c in rest if c not in value_cols and c not in labels]
    if unused:
        notes.append(f"{path.name}: columns {unused} are not options.labels; ignored")
    if not value_cols:
        raise SourceError(f"{path}: no numeric value column besides the time column {time!r}; columns are {columns}")
    names = {c: wide_name(c, metric_opt, len(value_cols) == 1, path) for c in value_cols}
    shown = ", ".join(f"{c!r}->{names[c][0]}" for c in value_cols[:8]) + (" ..." if len(value_cols) > 8 else "")
    notes.append(f"{path.name}: wide layout: time={time!r}, metrics {shown}" + (f", labels={labels}" if labels else ""))
    return Plan(time, value_cols, labels, names=names), notes


_TIMEISH = re.compile(
    r"(?i)(^|[,;\t|\"])\s*\"?(timestamp|time|ts|datetime|date|_time|@timestamp|time_stamp)\"?\s*([,;\t|]|$)"
)


def _sniff_csv(head: str) -> bool:
    line = first_content_line(head)
    if not line or line.lstrip().startswith(("{", "[")) or grafana_header(head) or looks_like_log_csv(head):
        return False  # a log export (time + message columns) is logs/csv
    return bool(_TIMEISH.search(line)) or line.startswith(",timestamp,")


@register(
    "metrics",
    "csv",
    table="series",
    description=(
        "generic metric CSV, long (timestamp,metric,value[,labels]) or wide (timestamp,col1,col2,...), "
        "options time/metric/value/labels/separator; pandas index columns, ns and Go times, epochs"
    ),
    example=",timestamp,namespace_app_http_request_error_rate\n0,2023-06-15 04:00:40.443000064,0.0",
    sniff=_sniff_csv,
    options=("time", "metric", "value", "labels", "separator"),
)
def load_csv(req: LoadRequest) -> LoadResult:
    """Load generic metric CSVs; unit = data rows (see the module docstring for the layout rules)."""
    return load_csv_blocks(req, _plan_csv, None)
