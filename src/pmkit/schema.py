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


def conform(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """Select the contract's columns in order, adding missing optional ones as nulls."""
    schema = _SCHEMAS[name]
    cols = []
    for col, dtype in schema.items():
        if col in df.columns:
            cols.append(pl.col(col).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(col))
    return df.select(cols)


def validate(df: pl.DataFrame, name: str, *, where: str = "frame") -> pl.DataFrame:
    """Check ``df`` against the ``events``, ``series`` or ``rejects`` contract.

    Raises :class:`SchemaError` naming the column and what was expected; returns
    ``df`` unchanged so a loader can end with ``return validate(df, "events")``.
    """
    schema = _SCHEMAS[name]
    problems: list[str] = []
    if list(df.columns) != list(schema):
        problems.append(f"columns are {list(df.columns)}, expected {list(schema)}")
    else:
        for col, dtype in schema.items():
            if df.schema[col] != dtype:
                problems.append(f"column {col!r} is {df.schema[col]}, expected {dtype}")
        if not problems:
            for col in _REQUIRED[name]:
                n = df.get_column(col).null_count()
                if n:
                    problems.append(f"column {col!r} has {n} null values; it is required")
            if name == "events" and df.height:
                bad_kind = set(df.get_column("kind").unique().to_list()) - set(EVENT_KINDS)
                if bad_kind:
                    problems.append(f"column 'kind' has {sorted(bad_kind)}, expected one of {EVENT_KINDS}")
                levels = set(df.get_column("level").drop_nulls().unique().to_list())
                if levels - set(LEVELS):
                    problems.append(
                        f"column 'level' has {sorted(levels - set(LEVELS))}, expected one of {LEVELS} or null"
                    )
    if problems:
        raise SchemaError(f"{where} breaks the {name} contract: " + "; ".join(problems))
    return df
