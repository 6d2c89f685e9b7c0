"""What the chat loaders (Slack, transcript) and the Slack export reader share.

The events frame builder (every row is a ``chat`` event), the options check, and the
two value helpers the Slack reader and loader use on parsed JSON.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pmkit import schema
from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest

_EVENT_COLUMNS = ("ts", "kind", "service", "level", "actor", "message", "attrs", "origin")


def events_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows (``ts`` as integer microseconds since the epoch, UTC) to an events frame."""
    types: dict[str, pl.DataType] = {c: pl.String() for c in _EVENT_COLUMNS}
    types["ts"] = pl.Int64()
    df = pl.DataFrame({c: [r.get(c) for r in rows] for c in _EVENT_COLUMNS}, schema=types)
    df = df.with_columns(pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), pl.lit("chat").alias("kind"))
    return schema.conform(df, "events")


def check_options(req: LoadRequest, allowed: tuple[str, ...] = ()) -> None:
    """SourceError when the source sets an option the loader does not take."""
    unknown = sorted(set(req.options) - set(allowed))
    if unknown:
        expect = f"expected {', '.join(allowed)}" if allowed else "it takes none"
        raise SourceError(f"{req.path}: unknown option(s) {unknown} for {req.kind}/{req.format}; {expect}")


def nonblank_str(value: Any) -> str | None:
    """The value when it is a string with more than whitespace, else None."""
    return value if isinstance(value, str) and value.strip() else None


def as_dict(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}
