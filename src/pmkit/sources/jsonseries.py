"""JSON records read as metric series (``options: {as: series}`` on JSON lines): chosen numeric fields, one
series per field and label set.

A toolkit for :mod:`pmkit.sources.logs.jsonl`; it imports no loader. The rules:

- time: as for events (``fields: {ts: ...}`` or ts, time, timestamp, @timestamp, t, date; epoch numbers by
  magnitude, so NGINX Plus's millisecond ``timestamp`` reads). A line without a readable time is rejected.
- ``options.values``: the fields that become series, by name or dotted path into nested objects, ``*``
  wildcards allowed (``server_zones.*.responses.5xx``); default: every numeric field (nested ones as dotted
  paths) except the time field and the labels. Booleans and text are never values; a value that is null on a
  line gives no sample there.
- ``options.labels``: fields whose values label every sample of the line (``host``, ``zone``).
- ``options.counters``: the fields (same patterns) that are cumulative counters (NGINX Plus ``requests.total``,
  ``connections.accepted``); default none. A gauge (any field not listed) is written as read. A counter is
  written as its increase since the previous line of the same series, named ``<field>:increase``, with
  Prometheus ``increase`` semantics: a drop is a restart (nginx reload), and the increase is then the new
  value (a restart shows only as a drop); the first line of each series gives no increase. ``counters: all`` treats every value as a counter.
- metric name: the field's (dotted) name.

Counting unit: lines, as in ``jsonl`` (a line parsed gives zero or more samples). With a load window, a line
whose time is outside it is counted as outside and its samples dropped (after the counters' increases are
taken, so the first line inside the window has its increase).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources.base import WINDOWED_KINDS, LoadRequest, origin_expr
from pmkit.sources.fieldmap import DEFAULT_FIELDS, record_times
from pmkit.sources.window import inside

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

__all__ = ["SERIES_OPTIONS", "records_to_series"]

SERIES_OPTIONS = ("as", "values", "labels", "counters")


def _leaves(name: str, dtype: PolarsDataType, expr: pl.Expr) -> Iterator[tuple[str, PolarsDataType, pl.Expr]]:
    if isinstance(dtype, pl.Struct):
        for f in dtype.fields:
            yield from _leaves(f"{name}.{f.name}", f.dtype, expr.struct.field(f.name))
    else:
        yield name, dtype, expr


def _patterns(value: Any, what: str, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise SourceError(f"{key}: options.{what} must be a field name or a list of them (dotted paths, * wildcards)")


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def records_to_series(
    path: Path, rec: pl.DataFrame, line_nos: pl.Series, req: LoadRequest, notes: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    """(series frame, rejects of the lines without a time as ``origin``, ``reason``, ``line_no``, lines parsed
    inside the request's window, lines parsed outside it: their samples are dropped, after counters' increases
    were taken, so the first line inside has its increase)."""
    key = req.key or str(path)
    opts = req.options
    values_p = _patterns(opts.get("values"), "values", key)
    labels_p = _patterns(opts.get("labels"), "labels", key)
    counters_opt = opts.get("counters")
    counters_p = ["*"] if counters_opt == "all" else _patterns(counters_opt, "counters", key)
    ts, reason = record_times(rec, req, notes)
    ok = reason.is_null()
    ts_names = {req.fields["ts"]} if "ts" in req.fields else set(DEFAULT_FIELDS["ts"])
    leaves = [leaf for c, d in rec.schema.items() for leaf in _leaves(c, d, pl.col(c))]
    labels = [(n, e) for n, d, e in leaves if _matches(n, labels_p)]
    chosen = [
        (n, e)
        for n, d, e in leaves
        if d.is_numeric()
        and n not in ts_names
        and not _matches(n, labels_p)
        and (_matches(n, values_p) if values_p else True)
    ]
    if values_p and not chosen:
        numeric = [n for n, d, _ in leaves if d.is_numeric()]
        raise SourceError(f"{key}: options.values {values_p} match no numeric field; the numeric fields are {numeric}")
    label_json = (
        pl.struct([e.cast(pl.String).alias(n) for n, e in sorted(labels, key=lambda x: x[0])]).struct.json_encode()
        if labels
        else pl.lit("{}")
    )
    counter_names = [n for n, _ in chosen if _matches(n, counters_p)]
    base = rec.with_columns(
        __ts=ts,
        __line=line_nos.cast(pl.UInt32),
        __labels=label_json,
        **{f"__v{i}": e.cast(pl.Float64) for i, (_, e) in enumerate(chosen)},
    ).filter(ok)
    long = (
        base.select("__ts", "__line", "__labels", *(pl.col(f"__v{i}").alias(n) for i, (n, _) in enumerate(chosen)))
        .unpivot(index=["__ts", "__line", "__labels"], variable_name="metric", value_name="value")
        .filter(pl.col("value").is_not_null())
    )
    cols = ["__ts", "__line", "__labels", "metric", "value"]
    counted = pl.col("metric").is_in(counter_names)
    increases = (
        long.filter(counted)
        .sort("__ts", "__line", maintain_order=True)
        .with_columns(pl.col("value").shift(1).over("metric", "__labels").alias("__prev"))
        .filter(pl.col("__prev").is_not_null())
        .with_columns(
            pl.when(pl.col("value") >= pl.col("__prev"))
            .then(pl.col("value") - pl.col("__prev"))
            .otherwise(pl.col("value"))  # a drop is a restart: counted from 0
            .alias("value"),
            (pl.col("metric") + ":increase").alias("metric"),
        )
        .select(cols)
    )
    out = pl.concat([long.filter(~counted).select(cols), increases]).select(
        pl.col("__ts").cast(UTC_TS).alias("ts"),
        pl.col("metric"),
        pl.col("__labels").alias("labels"),
        pl.col("value"),
        origin_expr(path, "__line").alias("origin"),
    )
    n_outside = 0
    if req.window is not None and req.kind in WINDOWED_KINDS:
        # counters' increases are taken first, so the first line in the window has its increase
        within = ts.to_frame("t").select(inside(pl.col("t"), req.window).fill_null(False)).to_series()
        n_outside = int((ok & ~within).sum())
        out = out.filter(inside(pl.col("ts"), req.window))
    out = out.sort("ts", "origin", maintain_order=True)
    n_counters = len(counter_names)
    shown = ", ".join(n for n, _ in chosen[:8]) + (" ..." if len(chosen) > 8 else "")
    notes.append(
        f"{path.name}: read as series: {len(chosen)} field(s) ({shown}); {n_counters} counter(s) as increases"
        + (f", labels {[n for n, _ in labels]}" if labels else "")
    )
    bad = ~ok
    nos = line_nos.filter(bad).alias("line_no")
    rejects = pl.DataFrame(
        {"origin": nos.to_frame().select(origin_expr(path)).to_series(), "reason": reason.filter(bad), "line_no": nos}
    )
    return out, rejects, int(ok.sum()) - n_outside, n_outside
