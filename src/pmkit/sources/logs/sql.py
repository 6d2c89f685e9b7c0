"""The ``sql`` logs format: the incident window of a log lake, queried on its engine (ibis; the ``lake`` extra).

``path`` is parquet or ndjson files (a file, folder or glob inside the incident folder; ``s3://...`` globs
through DuckDB's httpfs) read by an embedded DuckDB, or a connection URL of another engine (Trino,
ClickHouse, BigQuery, Spark, ... as :func:`ibis.connect` takes it) with ``options.table``. A URL or ``s3://``
path reads outside the incident folder: it needs ``allow_outside: true`` on the source.

The incident window (``[start, end]``) and ``options.services`` (a list of service names) are ``WHERE``
predicates of the query: the engine applies them (DuckDB prunes parquet row groups and files by their time
statistics) and pmkit only receives the rows inside the window. Other options: ``table`` (with a URL),
``files`` (with a URL instead of ``table``: a parquet/ndjson folder or glob that engine reads, e.g. Spark in
local mode, ``path: pyspark://``),
``file_format`` (``parquet`` or ``ndjson``; default from the file suffix). The columns are mapped onto the
events frame by the JSON-lines rules of :mod:`pmkit.sources.fieldmap` (``fields`` overrides, everything else
goes to attrs); :mod:`pmkit.sources.lake` says which time and service columns are used.

Counting unit: rows (the rows the engine returned). A row is parsed when its time reads, else it is a
reject with the reason. Its origin is ``file#row`` (the file and 1-based row in it, where DuckDB reads
parquet; for ndjson the row is its rank among the file's returned rows) or ``url/table#n`` (the n-th row
returned). The load report's notes state the SQL the engine ran (file lists of more than three files
abbreviated) and how many rows it returned.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pmkit import schema
from pmkit.errors import OutsideFolderError, SourceError
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame
from pmkit.sources.fieldmap import map_records, no_rejects
from pmkit.sources.lake import LakeQuery, is_engine_url, query_lake
from pmkit.sources.registry import register

_ND_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


def _services(req: LoadRequest) -> tuple[str, ...]:
    got = req.options.get("services")
    if got is None:
        return ()
    if isinstance(got, str):
        got = [s for s in (x.strip() for x in got.split(",")) if s]
    if not isinstance(got, list) or not all(isinstance(s, str) and s for s in got):
        raise SourceError(f"{req.path}: options.services: found {got!r}, expected a list of service names")
    return tuple(got)


def _file_format(req: LoadRequest, files: list[str]) -> str:
    given = req.options.get("file_format")
    if given is not None:
        if given not in ("parquet", "ndjson"):
            raise SourceError(f"{req.path}: options.file_format: found {given!r}, expected parquet or ndjson")
        return str(given)
    names = [f.lower() for f in files] or [req.path.lower()]
    return "ndjson" if all(n.endswith(_ND_SUFFIXES) for n in names) else "parquet"


def _query(req: LoadRequest) -> tuple[LakeQuery, str]:
    """The engine-neutral query of this source, and how its origin is named when rows carry no file."""
    remote = is_engine_url(req.path) or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", req.path))
    if remote and req.root is not None and not req.allow_outside:
        key = req.key or f"source {req.source!r}"
        raise OutsideFolderError(
            f"{key}: {req.path} is read outside the incident folder (a remote lake); set allow_outside: true on "
            "this source to query it"
        )
    common = {
        "window": req.window,
        "services": _services(req),
        "ts_field": req.fields.get("ts"),
        "service_field": req.fields.get("service"),
        "ts_format": req.ts_format,
        "timezone": req.timezone,
    }
    if is_engine_url(req.path):
        table, files = req.options.get("table"), req.options.get("files")
        shown = re.sub(r"://[^@/]*@", "://", req.path)
        if isinstance(files, str) and files and not table:
            local = files if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", files) or req.root is None else None
            if local is None:
                p = Path(files) if Path(files).is_absolute() else Path(str(req.root)) / files
                local = str(req.check_inside(p))
            fmt = _file_format(req, [local])
            return LakeQuery(url=req.path, files=local, file_format=fmt, **common), f"{shown}/{files}"  # type: ignore[arg-type]
        if not isinstance(table, str) or not table:
            raise SourceError(
                f"{req.path}: options.table: required with a connection URL (the table to query), or options.files"
            )
        return LakeQuery(url=req.path, table=table, **common), f"{shown}/{table}"  # type: ignore[arg-type]
    files = [req.path] if remote else [str(f) for f in req.files()]
    return LakeQuery(files=files, file_format=_file_format(req, files), **common), req.path  # type: ignore[arg-type]


_SQL_LIST = re.compile(r"\[\s*('(?:[^']|'')*'(?:\s*,\s*'(?:[^']|'')*')*)\s*\]")


def _shown_sql(sql: str) -> str:
    """The SQL on one line; a list of more than three files shown as its first file and a count."""

    def short(m: re.Match[str]) -> str:
        items = re.findall(r"'(?:[^']|'')*'", m.group(1))
        return m.group(0) if len(items) <= 3 else f"[{len(items):,} files: {items[0]}, ...]"

    one = re.sub(r"\s+\)", ")", re.sub(r"\(\s+", "(", " ".join(sql.split())))
    return _SQL_LIST.sub(short, one)


def _origins(frame: pl.DataFrame, fallback: str) -> pl.Series:
    """``file#row`` per returned row (module docstring)."""
    if "__pmkit_file" in frame.columns and "__pmkit_row" in frame.columns:
        expr = pl.format("{}#{}", pl.col("__pmkit_file"), pl.col("__pmkit_row") + 1)
    elif "__pmkit_file" in frame.columns:
        expr = pl.format("{}#{}", pl.col("__pmkit_file"), pl.int_range(1, pl.len() + 1).over("__pmkit_file"))
    else:
        expr = pl.format("{}#{}", pl.lit(fallback), pl.int_range(1, pl.len() + 1))
    return frame.select(expr.alias("origin")).to_series()


@register(
    "logs",
    "sql",
    description=(
        "a query over a log lake (parquet/ndjson files via embedded DuckDB, or Trino/ClickHouse/BigQuery/Spark by "
        "URL) with the incident window and services pushed down to the engine; needs pip install 'pmkit[lake]'"
    ),
    example="path: lake/logs/**/*.parquet   # columns ts, level, service, msg, ...; options: {services: [checkout]}",
    independent_files=False,
    text_files=False,
    options=("services", "file_format", "table", "files"),
)
def load_sql(req: LoadRequest) -> LoadResult:
    """Run the lake query; map the returned rows onto events (module docstring)."""
    q, fallback = _query(req)
    got = query_lake(q)
    frame = got.frame
    origin = _origins(frame, fallback) if frame.height else pl.Series("origin", [], dtype=pl.String)
    records = frame.drop([c for c in ("__pmkit_file", "__pmkit_row") if c in frame.columns])
    query = f"{got.engine}: {_shown_sql(got.sql)}"
    notes = [
        f"query ran on {query}",
        f"the engine returned {frame.height:,} rows (window and services applied by the engine)",
    ]
    if not frame.height:
        return LoadResult(
            schema.empty("events"),
            no_rejects(),
            inputs=0,
            parsed_inputs=0,
            unit="rows",
            notes=tuple(notes),
            query=query,
        )
    mapped = map_records(records, req, notes)
    events = mapped.frame.with_columns(origin=origin, kind=pl.lit("log"))
    bad = mapped.reason.is_not_null()
    rejects = rejects_frame(
        events.get_column("origin").filter(bad), mapped.reason.filter(bad), events.get_column("attrs").filter(bad)
    )
    events = events.filter(~bad)
    return LoadResult(
        events.select("ts", "kind", "service", "level", "actor", "message", "attrs", "origin"),
        rejects,
        inputs=frame.height,
        parsed_inputs=events.height,
        unit="rows",
        notes=tuple(dict.fromkeys(notes)),
        query=query,
    )
