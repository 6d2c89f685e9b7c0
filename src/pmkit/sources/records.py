"""Events gathered one record at a time, then turned into a :class:`~pmkit.sources.base.LoadResult` at once.

A toolkit for loaders that walk JSON documents or text record by record (the deploy loaders today);
it imports no loader. A loader adds a :class:`Draft` per event (its time still as written) and a
reject per record it cannot read, appends notes, and ends with :meth:`Records.result`: every draft's
time is parsed in one vectorised pass, a draft whose time does not read becomes a reject, and the
events frame, rejects and counts (``parsed + rejected == inputs``) come back as a LoadResult.

The event ``kind`` is given when the accumulator is made (``Records("deploy")``), so any events
loader can use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pmkit.schema import UTC_TS
from pmkit.sources.base import LoadResult, rejects_frame, to_json
from pmkit.sources.tabular import parse_time_column
from pmkit.timeutil import TsGuess, parse_ts

__all__ = ["Draft", "Records", "empty_events"]


@dataclass
class Draft:
    """An event before its time is parsed (times are parsed together, vectorised)."""

    ts: Any
    origin: str
    record: Any
    message: str
    attrs: dict[str, Any]
    service: str | None = None
    level: str = "info"
    actor: str | None = None


def _parse_times(values: list[Any], ts_format: str | None, timezone: str | None) -> tuple[pl.Series, TsGuess | None]:
    """Times of JSON records: numbers are epochs (unit by magnitude, or ``ts_format``), strings go through
    :func:`pmkit.timeutil.parse_ts`; the two kinds are parsed apart so one file may mix them."""
    numeric = [isinstance(v, int | float) and not isinstance(v, bool) for v in values]
    texts = pl.Series(
        "ts", [None if v is None or numeric[i] else str(v).strip() for i, v in enumerate(values)], dtype=pl.String
    )
    ts, guess = parse_time_column(texts, ts_format, timezone)
    if any(numeric):
        nums = pl.Series("n", [float(v) if numeric[i] else None for i, v in enumerate(values)], dtype=pl.Float64)
        fmt = ts_format if ts_format in ("epoch", "epoch_ms", "epoch_us", "epoch_ns") else None
        finite = nums.is_finite().fill_null(False) & (nums.abs() < 1e19).fill_null(False)
        epochs, _ = parse_ts(pl.select(pl.when(finite).then(nums)).to_series(), fmt, None)
        ts = pl.select(pl.coalesce(epochs, ts)).to_series().alias("ts")
    return ts, guess


@dataclass
class Records:
    """Events (of one ``kind``) and rejects collected while walking one source."""

    kind: str
    drafts: list[Draft] = field(default_factory=list)
    rej_origin: list[str] = field(default_factory=list)
    rej_reason: list[str] = field(default_factory=list)
    rej_raw: list[str | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inputs: int = 0

    def add(self, draft: Draft) -> None:
        self.inputs += 1
        self.drafts.append(draft)

    def reject(self, origin: str, reason: str, raw: Any) -> None:
        self.inputs += 1
        self.rej_origin.append(origin)
        self.rej_reason.append(reason)
        self.rej_raw.append(raw if isinstance(raw, str) or raw is None else to_json(raw)[:2000])

    def result(self, unit: str, ts_format: str | None = None, timezone: str | None = None) -> LoadResult:
        """Parse every draft's time; drafts whose time cannot be read become rejects."""
        ts, guess = _parse_times([d.ts for d in self.drafts], ts_format, timezone)
        if guess is not None and guess.naive and timezone is None and ts.null_count() < ts.len():
            self.notes.append(f"times have no UTC offset ({guess.fmt}); read as UTC (set timezone if they are local)")
        keep: list[int] = []
        for i, (d, t) in enumerate(zip(self.drafts, ts.to_list(), strict=True)):
            if t is None:
                self.rej_origin.append(d.origin)
                self.rej_reason.append("no time" if d.ts in (None, "") else f"cannot read time {d.ts!r}")
                self.rej_raw.append(to_json(d.record)[:2000] if not isinstance(d.record, str) else d.record)
            else:
                keep.append(i)
        kept = [self.drafts[i] for i in keep]
        frame = pl.DataFrame(
            {
                "ts": ts.gather(keep) if keep else pl.Series("ts", [], dtype=UTC_TS),
                "kind": pl.Series([self.kind for _ in kept], dtype=pl.String),
                "service": pl.Series([d.service for d in kept], dtype=pl.String),
                "level": pl.Series([d.level for d in kept], dtype=pl.String),
                "actor": pl.Series([d.actor for d in kept], dtype=pl.String),
                "message": pl.Series([d.message for d in kept], dtype=pl.String),
                "attrs": pl.Series([to_json(d.attrs) for d in kept], dtype=pl.String),
                "origin": pl.Series([d.origin for d in kept], dtype=pl.String),
            }
        )
        return LoadResult(
            frame=frame.with_columns(pl.col("ts").cast(UTC_TS)),
            rejects=rejects_frame(self.rej_origin, self.rej_reason, self.rej_raw),
            inputs=self.inputs,
            parsed_inputs=len(kept),
            unit=unit,
            notes=tuple(dict.fromkeys(self.notes)),
        )


def empty_events() -> pl.DataFrame:
    """An events frame with no rows, typed as :meth:`Records.result` types its frames."""
    return Records("").result("records").frame
