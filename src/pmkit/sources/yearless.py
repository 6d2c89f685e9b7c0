"""The year rule: times without a year (RFC 3164 syslog, grok presets such as ``%b %d %H:%M:%S``) read to UTC.

Each file's first line gets ``year`` when the source sets it; otherwise, with an incident
window, the year that puts the file's span inside the window (or nearest it); otherwise
the fixed year 2000 — a leap year, so Feb 29 parses — and the load notes say the dates
are right to the day but not the year. The current year is never used: a load must not
depend on when it runs. Within a file the year rolls over when the month jumps back by
more than six months between consecutive lines (Dec -> Jan) and back when it jumps
forward that much.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

from pmkit import timeutil

DEFAULT_YEAR = 2000  # a leap year: Feb 29 parses


def complete_year(
    values: pl.Series,
    fmt: str,
    *,
    year: int | None = None,
    window: tuple[dt.datetime, dt.datetime] | None = None,
    tz: str | None = None,
    label: str = "",
) -> tuple[pl.Series, str]:
    """Read year-less times (``fmt`` has no year, e.g. ``%b %d %H:%M:%S``) to UTC by the year rule.

    ``values`` are in file order. Returns the ``Datetime(us, UTC)`` series (null where
    unreadable, e.g. Feb 29 in a non-leap year) and a note saying which year was used.
    """
    zone = tz or "UTC"
    frame = values.cast(pl.String).str.replace_all(r"\s+", " ").str.strip_chars().to_frame("v")

    def read(year_expr: pl.Expr) -> pl.Expr:
        text = pl.concat_str([year_expr.cast(pl.String), pl.lit(" "), pl.col("v")])
        return text.str.strptime(pl.Datetime("us"), "%Y " + fmt, strict=False)

    frame = frame.with_columns(read(pl.lit(DEFAULT_YEAR)).alias("d0"))
    month = pl.col("d0").dt.month().cast(pl.Int32)
    prev = month.shift(1).forward_fill()
    step = pl.when(prev - month > 6).then(1).when(month - prev > 6).then(-1).otherwise(0)
    frame = frame.with_columns(step.fill_null(0).cum_sum().alias("off"), step.fill_null(0).alias("step"))
    rollovers = int((frame.get_column("step") > 0).sum())
    valid = frame.filter(pl.col("d0").is_not_null())
    if year is not None:
        base, why = year, f"year {year} for the first line (from `year`)"
    elif window is not None and valid.height:
        base = _year_nearest(valid, window, zone)
        why = f"year {base} for the first line: the year that puts the file nearest the incident window"
    else:
        base = DEFAULT_YEAR
        why = (
            f"no `year` and no incident window: read in year {DEFAULT_YEAR} (a leap year), so dates are right to "
            "the day but not the year; set `year` or the incident window"
        )
    if rollovers:
        why += f"; the year rolls over {rollovers} time(s) where the month goes back (Dec -> Jan)"
    out = frame.select(
        read(pl.col("off") + base)
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .pipe(timeutil.bounded)
        .alias(values.name)
    ).to_series()
    return out, f"{label}times have no year: {why}"


def _year_nearest(valid: pl.DataFrame, window: tuple[dt.datetime, dt.datetime], zone: str) -> int:
    """The base year whose reading puts the file's first..last span inside or nearest the window."""
    ws, we = (_aware(t) for t in window)
    first, last = valid.row(0, named=True), valid.row(valid.height - 1, named=True)
    best: tuple[float, int] | None = None
    for cand in range(ws.year - 1, we.year + 2):
        try:
            lo = first["d0"].replace(year=cand + first["off"], tzinfo=ZoneInfo(zone))
            hi = last["d0"].replace(year=cand + last["off"], tzinfo=ZoneInfo(zone))
        except ValueError:  # Feb 29 in a non-leap year
            continue
        gap = (ws - hi).total_seconds() if hi < ws else (lo - we).total_seconds() if lo > we else 0.0
        if best is None or gap < best[0]:
            best = (gap, cand)
    return best[1] if best else ws.year


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
