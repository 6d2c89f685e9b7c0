"""What a loader gets (:class:`LoadRequest`) and gives back (:class:`LoadResult`).

A loader is a plain function ``LoadRequest -> LoadResult``. :func:`run` calls it,
fills the ``source`` column, checks the frame against its contract and checks the
rule that nothing is lost: input units (lines or records) = units that went into
parsed rows + rejected units.

A loader may also have a lazy form (:class:`LoadPlan`): :func:`sink` then streams the
source into a parquet file in one pass, the frame never held whole (``pmkit load
SOURCE -o out.parquet``), with the same checks.
"""

from __future__ import annotations

import datetime as dt
import glob as globmod
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from pmkit import schema
from pmkit.errors import SchemaError, SourceError
from pmkit.sources import registry, textio


@dataclass(frozen=True)
class LoadRequest:
    """One source to load, with its options (the same in incident.yaml and on the command line)."""

    kind: str
    format: str
    path: str
    name: str = ""
    service: str | None = None
    timezone: str | None = None
    ts_format: str | None = None
    year: int | None = None
    pattern: str | None = None
    patterns: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    window: tuple[dt.datetime, dt.datetime] | None = None

    @property
    def source(self) -> str:
        return self.name or Path(self.path.rstrip("/")).name.split(".")[0] or self.kind

    def files(self) -> list[Path]:
        """The files this source names: one file, every file a glob matches, or every file in a folder.

        Hidden files are skipped; the order is sorted so loads are deterministic.
        """
        p = Path(self.path)
        if p.is_file():
            return [p]
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and not any(x.startswith(".") for x in f.relative_to(p).parts)
            )
        elif any(ch in self.path for ch in "*?["):
            found = sorted(Path(f) for f in globmod.glob(self.path, recursive=True) if Path(f).is_file())
        else:
            raise SourceError(f"{self.path}: no such file or folder (source {self.source!r})")
        if not found:
            raise SourceError(f"{self.path}: matches no files (source {self.source!r})")
        return found


@dataclass(frozen=True)
class LoadResult:
    """A loader's output.

    ``frame`` follows the events or series contract (``source`` may be left null:
    :func:`run` fills it). ``inputs`` counts the input units (``unit``: lines or
    records); ``parsed_inputs`` counts those that went into ``frame`` (several lines
    can make one event, one record several events). ``notes`` are said in the load
    report (format sniffed, timezone assumed, fallback used...).
    """

    frame: pl.DataFrame
    rejects: pl.DataFrame
    inputs: int
    parsed_inputs: int
    unit: str = "lines"
    notes: tuple[str, ...] = ()
    table: str = "events"
    format: str = ""

    @property
    def parsed(self) -> int:
        return self.parsed_inputs

    @property
    def rejected(self) -> int:
        return self.rejects.height


@dataclass(frozen=True)
class LoadPlan:
    """A loader's lazy form: one query with a row per input unit (line).

    Columns: the table's columns, ``reason`` (null where the unit parsed) and ``raw`` (the
    input, kept where it did not). ``check`` names a column of text to look at after the pass
    (null on most rows); ``again(texts)`` returns the plan to run instead when that text shows
    the pass was incomplete (an access log's ``key=value`` keys first seen late), else None.
    ``fallback()`` is the same plan over lines read another way, for when the fast reader
    refuses the file (a 0x1F byte in it).
    """

    query: pl.LazyFrame
    notes: tuple[str, ...] = ()
    check: str | None = None
    again: Callable[[pl.Series], LoadPlan | None] | None = None
    fallback: Callable[[], LoadPlan] | None = None


@dataclass(frozen=True)
class SinkResult:
    """What :func:`sink` wrote: ``rows`` rows in ``path``, the rejects, and the counts of a :class:`LoadResult`."""

    path: Path
    rows: int
    rejects: pl.DataFrame
    inputs: int
    parsed_inputs: int
    unit: str = "lines"
    notes: tuple[str, ...] = ()
    table: str = "events"
    format: str = ""

    @property
    def parsed(self) -> int:
        return self.parsed_inputs

    @property
    def rejected(self) -> int:
        return self.rejects.height


# pyarrow's default: writes a load's long string columns (attrs, message, origin) ~1.7x faster than
# zstd, for files ~1.8x larger.
PARQUET_COMPRESSION = "snappy"


def rejects_frame(origins: Iterable[str], reasons: Iterable[str], raws: Iterable[str | None]) -> pl.DataFrame:
    """Build a rejects frame from parallel lists (``source`` is filled by :func:`run`)."""
    return schema.conform(
        pl.DataFrame(
            {"origin": list(origins), "reason": list(reasons), "raw": list(raws)},
            schema={"origin": pl.String, "reason": pl.String, "raw": pl.String},
        ),
        "rejects",
    )


def to_json(obj: Any) -> str:
    """JSON for ``attrs``/``labels``: sorted keys, no NaN surprises, non-JSON values as strings."""
    return json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)


_RAW_MAX = 2000


def resolve(req: LoadRequest) -> tuple[LoadRequest, tuple[str, ...]]:
    """The request with its format (sniffed from the first lines when not given), and the note saying so."""
    sniffed: tuple[str, ...] = ()
    if not req.format:
        files = req.files()
        fmt, first = None, files[0]
        for f in files[:50]:  # a folder may start with a README: try its files in order
            fmt = registry.sniff(req.kind, textio.head(f))
            if fmt is not None:
                first = f
                break
        if fmt is None:
            known = ", ".join(registry.format_names(req.kind))
            raise SourceError(
                f"{first}: cannot tell the {req.kind} format from its first lines; set format (one of {known})"
            )
        req = replace(req, format=fmt)
        sniffed = (f"format not given; sniffed {fmt!r} from the first lines of {first.name}",)
    return req, sniffed


def _conform_rejects(rejects: pl.DataFrame, source: str) -> pl.DataFrame:
    return schema.conform(
        rejects.with_columns(pl.lit(source, dtype=pl.String).alias("source"), pl.col("raw").str.slice(0, _RAW_MAX)),
        "rejects",
    )


def run(req: LoadRequest) -> LoadResult:
    """Load one source: look up its loader, call it, check the contract and the count rule."""
    req, sniffed = resolve(req)
    info = registry.get(req.kind, req.format)
    result = info.func(req)
    frame = result.frame.with_columns(pl.lit(req.source, dtype=pl.String).alias("source"))
    frame = schema.conform(frame, info.table)
    if req.service is not None and info.table == "events":
        frame = frame.with_columns(pl.col("service").fill_null(req.service))
    rejects = _conform_rejects(result.rejects, req.source)
    where = f"loader {req.kind}/{req.format} on {req.path}"
    schema.validate(frame, info.table, where=where)
    schema.validate(rejects, "rejects", where=where)
    if result.parsed_inputs + rejects.height != result.inputs:
        raise SchemaError(
            f"{where} lost input: {result.inputs} {result.unit} read, {result.parsed_inputs} parsed + "
            f"{rejects.height} rejected"
        )
    return replace(
        result, frame=frame, rejects=rejects, table=info.table, format=req.format, notes=sniffed + tuple(result.notes)
    )


def sink(req: LoadRequest, path: str | Path) -> SinkResult:
    """Load one source into a parquet file at ``path``, checked as :func:`run` checks a load.

    A loader with a lazy form (:class:`LoadPlan`: the access logs) is parsed and written in
    one streamed pass, so memory holds batches in flight, not the frame; the rejects and the
    contract's checks are gathered in the same pass. Other loaders go through :func:`run`.
    The file appears only once complete and checked (written beside it, then renamed).
    """
    req, sniffed = resolve(req)
    info = registry.get(req.kind, req.format)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if info.plan is None:
        res = run(req)
        res.frame.write_parquet(out, compression=PARQUET_COMPRESSION)
        return SinkResult(
            out,
            res.frame.height,
            res.rejects,
            res.inputs,
            res.parsed_inputs,
            res.unit,
            res.notes,
            res.table,
            res.format,
        )
    where = f"loader {req.kind}/{req.format} on {req.path}"
    tmp = out.with_name(f".{out.name}.partial")
    plan = info.plan(req)
    try:
        while True:
            try:
                rejects, summary, checks = _stream(plan, req, info.table, tmp)
            except pl.exceptions.PolarsError:
                if plan.fallback is None:
                    raise
                plan = plan.fallback()
                rejects, summary, checks = _stream(plan, req, info.table, tmp)
            again = plan.again(checks) if plan.again is not None and checks.len() else None
            if again is None:
                break
            plan = again
        schema.check_summary(pl.read_parquet_schema(tmp), summary, info.table, where=where)
        rejects = _conform_rejects(rejects, req.source)
        schema.validate(rejects, "rejects", where=where)
        parsed, inputs = int(summary["rows"]), int(summary["inputs"])  # type: ignore[call-overload]
        if parsed + rejects.height != inputs:
            raise SchemaError(f"{where} lost input: {inputs} lines read, {parsed} parsed + {rejects.height} rejected")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return SinkResult(
        out, parsed, rejects, inputs, parsed, notes=sniffed + plan.notes, table=info.table, format=req.format
    )


def _stream(
    plan: LoadPlan, req: LoadRequest, table: str, path: Path
) -> tuple[pl.DataFrame, dict[str, object], pl.Series]:
    """One streamed pass of ``plan``: parsed rows to ``path``; rejects, the summary and the check texts back."""
    q = plan.query
    ok = pl.col("reason").is_null()
    rows = schema.conform(q.filter(ok).with_columns(pl.lit(req.source, dtype=pl.String).alias("source")), table)
    if req.service is not None and table == "events":
        rows = rows.with_columns(pl.col("service").fill_null(req.service))
    outputs = [
        rows.sink_parquet(path, compression=PARQUET_COMPRESSION, lazy=True),
        q.filter(~ok).select("origin", "reason", "raw"),
        q.select(pl.len().alias("inputs"), ok.sum().alias("rows")),
        rows.select(schema.summary_exprs(table)),
    ]
    if plan.check is not None:
        outputs.append(q.filter(pl.col(plan.check).is_not_null()).select(plan.check))
    done = pl.collect_all(outputs, engine="streaming")
    summary = {**done[2].row(0, named=True), **done[3].row(0, named=True)}
    checks = done[4].to_series() if plan.check is not None else pl.Series(dtype=pl.String)
    return done[1], summary, checks
