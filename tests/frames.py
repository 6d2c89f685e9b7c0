"""Small events frames for analysis unit tests: rows given as minutes after :data:`T0` and a few fields."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from pmkit import schema

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    """:data:`T0` plus ``minutes``."""
    return T0 + dt.timedelta(minutes=minutes)


def events(rows: list[dict]) -> pl.DataFrame:
    """An events frame from ``{"ts": minutes, "actor", "message", "kind" (chat), "source" (slack), "attrs"}``."""
    full = [
        {
            "ts": at(r["ts"]),
            "source": r.get("source", "slack"),
            "kind": r.get("kind", "chat"),
            "service": None,
            "level": None,
            "actor": r.get("actor"),
            "message": r.get("message", ""),
            "attrs": json.dumps(r["attrs"]) if "attrs" in r else None,
            "origin": f"x:{i}",
        }
        for i, r in enumerate(rows)
    ]
    return schema.validate(pl.DataFrame(full, schema=schema.EVENTS_SCHEMA), "events")
