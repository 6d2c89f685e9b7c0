"""The events/series/rejects contracts and their validator."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pmkit import schema
from pmkit.errors import SchemaError


def event_row(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "ts": dt.datetime(2025, 6, 15, 14, 23, tzinfo=dt.UTC),
        "source": "s",
        "kind": "log",
        "service": None,
        "level": "error",
        "actor": None,
        "message": "boom",
        "attrs": "{}",
        "origin": "a.log:1",
    }
    row.update(over)
    return row


def frame(**over: object) -> pl.DataFrame:
    return pl.DataFrame([event_row(**over)], schema=schema.EVENTS_SCHEMA)


def test_empty_frames_follow_their_contract() -> None:
    for name in ("events", "series", "rejects"):
        schema.validate(schema.empty(name), name)


def test_valid_events_pass_unchanged() -> None:
    df = frame()
    assert schema.validate(df, "events") is df


def test_conform_orders_and_fills_columns() -> None:
    df = pl.DataFrame({"message": ["m"], "ts": [dt.datetime(2025, 1, 1, tzinfo=dt.UTC)], "kind": ["chat"]})
    out = schema.conform(df, "events")
    assert out.columns == list(schema.EVENTS_SCHEMA)
    assert out["service"].to_list() == [None]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        (
            {"kind": "logs"},
            "column 'kind' has ['logs'], expected one of ('log', 'metric', 'deploy', 'chat', 'alert', 'page', 'note')",
        ),
        (
            {"level": "WARN"},
            "column 'level' has ['WARN'], expected one of ('debug', 'info', 'warning', 'error', 'critical') or null",
        ),
        ({"origin": None}, "column 'origin' has 1 null values; it is required"),
    ],
)
def test_violations_are_named(over: dict[str, object], message: str) -> None:
    with pytest.raises(SchemaError) as info:
        schema.validate(frame(**over), "events", where="loader x")
    assert str(info.value) == f"loader x breaks the events contract: {message}"


def test_wrong_types_and_columns() -> None:
    df = frame().with_columns(pl.col("ts").dt.replace_time_zone(None))
    with pytest.raises(SchemaError, match=r"column 'ts' is Datetime\(time_unit='us', time_zone=None\), expected"):
        schema.validate(df, "events")
    with pytest.raises(SchemaError, match="columns are"):
        schema.validate(frame().drop("attrs"), "events")
