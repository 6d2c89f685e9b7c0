"""The column contracts every loader ends with.

``events``: one row per event, every source alike (DESIGN.md, "The events frame").
``series``: metric samples in long form.
``rejects``: every input line or record that could not be parsed, with where it came
from and why; ``parsed + rejected == input`` holds for every source.

``attrs`` and ``labels`` are JSON strings (keys sorted) rather than structs: sources
carry different fields, and a string column concatenates across sources, survives
CSV export and round-trips through pandas unchanged. ``pmkit.attrs_field`` reads one.
"""

from __future__ import annotations

from typing import overload

import polars as pl

from pmkit.errors import SchemaError

UTC_TS = pl.Datetime("us", "UTC")

EVENTS_SCHEMA: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "source": pl.String(),
    "kind": pl.String(),
    "service": pl.String(),
    "level": pl.String(),
    "actor": pl.String(),
    "message": pl.String(),
    "attrs": pl.String(),
    "origin": pl.String(),
}

SERIES_SCHEMA: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "source": pl.String(),
    "metric": pl.String(),
    "labels": pl.String(),
    "value": pl.Float64(),
    "origin": pl.String(),
}

REJECTS_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "origin": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
}

EVENT_KINDS = ("log", "metric", "deploy", "chat", "alert", "page", "note")
LEVELS = ("debug", "info", "warning", "error", "critical")

# columns that may never be null
_REQUIRED = {
    "events": ("ts", "source", "kind", "message", "origin"),
    "series": ("ts", "source", "metric", "labels", "origin"),
    "rejects": ("source", "origin", "reason"),
}
_SCHEMAS = {"events": EVENTS_SCHEMA, "series": SERIES_SCHEMA, "rejects": REJECTS_SCHEMA}


def empty(name: str) -> pl.DataFrame:
    """An empty frame of the named contract (``events``, ``series`` or ``rejects``)."""
    return pl.DataFrame(schema=_SCHEMAS[name])


@overload
def conform(df: pl.DataFrame, name: str) -> pl.DataFrame: ...
@overload
def conform(df: pl.LazyFrame, name: str) -> pl.LazyFrame: ...
def conform(df: pl.DataFrame | pl.LazyFrame, name: str) -> pl.DataFrame | pl.LazyFrame:
    """Select the contract's columns in order, adding missing optional ones as nulls (eager or lazy alike)."""
    schema = _SCHEMAS[name]
    have = set(df.collect_schema().names())
    cols = []
    for col, dtype in schema.items():
        if col in have:
            cols.append(pl.col(col).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(col))
    return df.select(cols)


def summary_exprs(name: str) -> list[pl.Expr]:
    """Aggregations that :func:`check_summary` judges: null counts of required columns, kinds and levels.

    They run inside a streamed load (one pass, nothing held) as well as over a frame in memory.
    """
    exprs = [pl.col(c).null_count().alias(f"nulls_{c}") for c in _REQUIRED[name]]
    if name == "events":
        exprs += [
            pl.col("kind").drop_nulls().unique().sort().implode().alias("kinds"),
            pl.col("level").drop_nulls().unique().sort().implode().alias("levels"),
        ]
    return exprs


def check_summary(schema: pl.Schema, summary: dict[str, object], name: str, *, where: str = "frame") -> None:
    """Raise :class:`SchemaError` when a frame's schema and :func:`summary_exprs` values break the contract."""
    contract = _SCHEMAS[name]
    problems: list[str] = []
    if list(schema.names()) != list(contract):
        problems.append(f"columns are {list(schema.names())}, expected {list(contract)}")
    else:
        for col, dtype in contract.items():
            if schema[col] != dtype:
                problems.append(f"column {col!r} is {schema[col]}, expected {dtype}")
        if not problems:
            for col in _REQUIRED[name]:
                n = summary[f"nulls_{col}"]
                if n:
                    problems.append(f"column {col!r} has {n} null values; it is required")
            if name == "events":
                bad_kind = set(summary["kinds"] or []) - set(EVENT_KINDS)  # type: ignore[call-overload]
                if bad_kind:
                    problems.append(f"column 'kind' has {sorted(bad_kind)}, expected one of {EVENT_KINDS}")
                bad_level = set(summary["levels"] or []) - set(LEVELS)  # type: ignore[call-overload]
                if bad_level:
                    problems.append(f"column 'level' has {sorted(bad_level)}, expected one of {LEVELS} or null")
    if problems:
        raise SchemaError(f"{where} breaks the {name} contract: " + "; ".join(problems))


def validate(df: pl.DataFrame, name: str, *, where: str = "frame") -> pl.DataFrame:
    """Check ``df`` against the ``events``, ``series`` or ``rejects`` contract.

    Raises :class:`SchemaError` naming the column and what was expected; returns
    ``df`` unchanged so a loader can end with ``return validate(df, "events")``.
    """
    contract = _SCHEMAS[name]
    summary: dict[str, object] = {}
    if list(df.columns) == list(contract) and all(df.schema[c] == t for c, t in contract.items()):
        summary = df.select(summary_exprs(name)).row(0, named=True)
    check_summary(df.schema, summary, name, where=where)
    return df
