"""Queries over a log lake, built with ibis so one query runs on DuckDB, Spark, Trino, ClickHouse or BigQuery.

The ``sql`` logs loader (:mod:`pmkit.sources.logs.sql`) and the scale benchmark use it. What it does:

* **where**: ``path`` names parquet or ndjson files (a file, a folder, a glob; ``s3://`` globs through
  DuckDB's ``httpfs``), read by an embedded DuckDB; or it is a connection URL of another engine
  (``trino://user@host:8080/catalog/schema``, ``clickhouse://host/db``, ``bigquery://project/dataset``,
  ``pyspark://``...; :func:`ibis.connect`) and ``options.table`` names the table, or ``options.files`` names
  files that engine reads itself (Spark reading the same parquet lake).
* **what**: rows whose time column lies in the incident window ``[start, end]`` (both ends included, as the
  load window) and, with ``options.services``, whose service column is one of them. Both are ``WHERE``
  predicates of the query the engine runs: the engine prunes by them (DuckDB skips parquet row groups and
  files whose time statistics fall outside the window) and pmkit receives only the matching rows.
* **order**: by time, then file and row in the file where the engine says them (DuckDB), so a load is
  deterministic and each row has an origin ``file#row``.

The time column: ``fields.ts`` when set, else the first of the JSON-lines names (``ts``, ``time``,
``timestamp``, ``@timestamp``, ``t``, ``date``) that is a column. A timestamp column is compared as it is (a
naive one is read in ``timezone``, default UTC); a string column is cast to a timestamp by the engine; a
numeric one needs ``ts_format`` (``epoch``, ``epoch_ms``, ``epoch_us``, ``epoch_ns``) and is compared as a
number. The service column: ``fields.service``, else the first of ``service``, ``service.name``, ``app``,
``application`` that is a column.

ibis (and DuckDB) are the ``lake`` extra: ``pip install 'pmkit[lake]'``; without them
:class:`~pmkit.errors.MissingExtraError` says so, and the rest of pmkit does not import them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

import polars as pl

from pmkit.errors import MissingExtraError, SourceError
from pmkit.sources.fieldmap import DEFAULT_FIELDS
from pmkit.timeutil import EPOCH_UNITS

__all__ = ["LakeQuery", "is_engine_url", "lake_extra", "query_lake"]

_FILE_SCHEMES = ("s3://", "s3a://", "gs://", "gcs://", "http://", "https://", "az://", "abfss://")
_EPOCH_PER_S = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_ORIGIN_COLS = ("__pmkit_file", "__pmkit_row")


def lake_extra() -> None:
    """Raise :class:`MissingExtraError` when ibis or DuckDB is not installed."""
    absent = [pkg for mod, pkg in (("ibis", "ibis-framework"), ("duckdb", "duckdb")) if _absent(mod)]
    if absent:
        raise MissingExtraError(
            f"format sql (a lake query) needs the 'lake' extra: pip install 'pmkit[lake]' (missing: {', '.join(absent)})"
        )


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def is_engine_url(path: str) -> bool:
    """``trino://...``, ``duckdb://...``: a connection URL, not files (``s3://`` and ``https://`` are files)."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path)) and not path.lower().startswith(_FILE_SCHEMES)


@dataclass(frozen=True)
class LakeQuery:
    """A lake query, engine-neutral. ``files`` is the DuckDB source (a glob, a list of files) when ``url``
    is None; ``table`` is the table on ``url``'s engine otherwise."""

    files: str | list[str] | None = None
    file_format: str = "parquet"  # parquet or ndjson
    url: str | None = None
    table: str | None = None
    window: tuple[dt.datetime, dt.datetime] | None = None
    services: tuple[str, ...] = ()
    ts_field: str | None = None
    service_field: str | None = None
    ts_format: str | None = None
    timezone: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class LakeResult:
    """What came back: the rows (origin columns ``__pmkit_file``/``__pmkit_row`` when the engine gives them),
    the SQL the engine ran, the engine's name, the time column used."""

    frame: pl.DataFrame
    sql: str
    engine: str
    ts_column: str


def _sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _duckdb_source(q: LakeQuery) -> str:
    files = q.files if isinstance(q.files, list) else [str(q.files)]
    listed = _sql_string(files[0]) if len(files) == 1 else "[" + ", ".join(map(_sql_string, files)) + "]"
    if q.file_format == "parquet":
        return (
            "SELECT * RENAME (filename AS __pmkit_file, file_row_number AS __pmkit_row) "
            f"FROM read_parquet({listed}, hive_partitioning = true, union_by_name = true, filename = true, "
            "file_row_number = true)"
        )
    if q.file_format == "ndjson":
        return (
            "SELECT * RENAME (filename AS __pmkit_file) "
            f"FROM read_json_auto({listed}, format = 'newline_delimited', hive_partitioning = true, "
            "union_by_name = true, filename = true)"
        )
    raise SourceError(f"options.file_format: found {q.file_format!r}, expected parquet or ndjson")


def _duckdb_httpfs(con: Any) -> None:
    """``s3://`` files: DuckDB's httpfs, with credentials from the usual AWS environment variables."""
    con.raw_sql("INSTALL httpfs; LOAD httpfs;")
    parts = [
        f"{key} {_sql_string(os.environ[env])}"
        for key, env in (
            ("KEY_ID", "AWS_ACCESS_KEY_ID"),
            ("SECRET", "AWS_SECRET_ACCESS_KEY"),
            ("SESSION_TOKEN", "AWS_SESSION_TOKEN"),
            ("REGION", "AWS_REGION"),
            ("ENDPOINT", "AWS_ENDPOINT_URL"),
        )
        if os.environ.get(env)
    ]
    if parts:
        con.raw_sql(f"CREATE OR REPLACE SECRET pmkit_s3 (TYPE s3, {', '.join(parts)})")


def _pick(columns: list[str], given: str | None, defaults: tuple[str, ...]) -> str | None:
    if given is not None:
        return given if given in columns else None
    return next((c for c in defaults if c in columns), None)


def _window_predicates(t: Any, col: str, q: LakeQuery) -> list[Any]:
    """``start <= time <= end`` on the engine, in the column's own type (module docstring)."""
    import ibis
    import ibis.expr.datatypes as idt

    assert q.window is not None
    start, end = q.window
    dtype = t.schema()[col]
    c = t[col]
    if dtype.is_timestamp():
        if dtype.timezone is None:  # naive: wall-clock times in `timezone`
            zone = zoneinfo.ZoneInfo(q.timezone or "UTC")
            start, end = (x.astimezone(zone).replace(tzinfo=None) for x in (start, end))
        return [c >= ibis.literal(start), c <= ibis.literal(end)]
    if dtype.is_date():
        return [c >= start.date(), c <= end.date()]
    if dtype.is_numeric():
        unit = EPOCH_UNITS.get(q.ts_format or "")
        if unit is None:
            raise SourceError(
                f"time column {col!r} is numeric ({dtype}); set ts_format to epoch, epoch_ms, epoch_us or epoch_ns "
                "so the window can be compared on the engine"
            )
        per = _EPOCH_PER_S[unit]
        lo, hi = (round(x.timestamp() * per) for x in (start, end))
        return [c >= lo, c <= hi]
    if dtype.is_string():
        ts = c.cast(idt.Timestamp(timezone="UTC"))
        return [ts >= ibis.literal(start), ts <= ibis.literal(end)]
    raise SourceError(f"time column {col!r} is {dtype}; expected a timestamp, a date, epoch numbers or ISO text")


def _connect(q: LakeQuery) -> tuple[Any, Any, str]:
    """(connection, table expression, engine name)."""
    import ibis

    if q.url is not None:
        if not q.table and not q.files:
            raise SourceError(f"{q.url}: a connection URL needs options.table (the table to query) or options.files")
        try:
            con = ibis.connect(q.url)
            if q.table:
                return con, con.table(q.table), con.name
            read = con.read_parquet if q.file_format == "parquet" else con.read_json
            return con, read(q.files), con.name
        except Exception as exc:
            what = f"table {q.table!r}" if q.table else f"files {q.files!r}"
            raise SourceError(f"{_public(q.url)}: cannot query {what}: {_first_line(exc)}") from None
    con = ibis.duckdb.connect()
    files = q.files if isinstance(q.files, list) else [str(q.files)]
    if any(str(f).lower().startswith(("s3://", "s3a://", "gs://", "gcs://", "http://", "https://")) for f in files):
        _duckdb_httpfs(con)
    try:
        return con, con.sql(_duckdb_source(q)), "duckdb"
    except SourceError:
        raise
    except Exception as exc:
        shown = files[0] if len(files) == 1 else f"{files[0]} and {len(files) - 1:,} more files"
        raise SourceError(f"{shown}: DuckDB cannot read it as {q.file_format}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def _public(url: str) -> str:
    """A connection URL without its password (for messages)."""
    return re.sub(r"(://[^/:@]+):[^/@]*@", r"\1:***@", url)


def build(q: LakeQuery, t: Any) -> tuple[Any, str]:
    """The ibis expression of ``q`` over table ``t``, and the time column."""
    columns = list(t.columns)
    ts_col = _pick(columns, q.ts_field, DEFAULT_FIELDS["ts"])
    if ts_col is None:
        looked = q.ts_field or ", ".join(DEFAULT_FIELDS["ts"])
        raise SourceError(
            f"no time column: looked for {looked} among {', '.join(columns)}; set fields: {{ts: <column>}}"
        )
    preds = _window_predicates(t, ts_col, q) if q.window is not None else []
    if q.services:
        svc = _pick(columns, q.service_field, DEFAULT_FIELDS["service"])
        if svc is None:
            looked = q.service_field or ", ".join(DEFAULT_FIELDS["service"])
            raise SourceError(
                f"options.services is set but there is no service column: looked for {looked} among "
                f"{', '.join(columns)}; set fields: {{service: <column>}}"
            )
        preds.append(t[svc].isin(list(q.services)))
    expr = t.filter(*preds) if preds else t
    order = [ts_col, *(c for c in _ORIGIN_COLS if c in columns)]
    expr = expr.order_by(order)
    if q.limit is not None:
        expr = expr.limit(q.limit)
    return expr, ts_col


def query_lake(q: LakeQuery) -> LakeResult:
    """Run ``q`` on its engine; return the rows as polars and the SQL text the engine ran."""
    lake_extra()
    import ibis

    con, t, engine = _connect(q)
    try:
        expr, ts_col = build(q, t)
        sql = str(ibis.to_sql(expr))  # in the dialect of the backend the table is bound to
        table = expr.to_pyarrow()
    except SourceError:
        raise
    except Exception as exc:
        where = _public(q.url) if q.url else (q.files if isinstance(q.files, str) else f"{len(q.files or [])} files")
        raise SourceError(f"{where}: the {engine} query failed: {_first_line(exc)}") from None
    finally:
        if q.url is None:
            con.disconnect()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return LakeResult(frame, sql, engine, ts_col)
