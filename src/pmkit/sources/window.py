"""The incident window pushed into the loaders: a cheap prefilter on the raw timestamp text, and the exact filter.

A source loaded with a window (``LoadRequest.window``, ``(start, end)`` in UTC, both ends included) reads
only what falls in it:

* **Prefilter** (line formats, before parsing): :func:`prefilter` takes the ``line_no``/``line`` frame and a
  per-format cheap time expression (the timestamp substring cut out with one small regex and parsed
  vectorised, e.g. the ``[15/Jun/2025:14:19:23 +0000]`` bracket of an access log). Lines whose cheap time
  lies outside ``[start - MARGIN, end + MARGIN]`` are dropped and counted as *outside*, never parsed
  (a malformed line outside the window is outside, not rejected). Lines whose timestamp text cannot be
  read cheaply are kept for the full parser: nothing is lost. The margin (:data:`MARGIN`, one hour)
  covers what the cheap reading may get wrong, such as a daylight-saving hour read in the source's
  zone or a time cut to the second; a format whose cheap time is the loader's own time parse (access
  logs: the bracket read with the loader's expression) uses no margin. The prefilter looks at each
  line on its own, so unsorted lines need no margin. Continuation
  lines (a stack trace under its head line) follow their head's decision.
* **Exact filter** (after parsing, in :func:`pmkit.sources.base.run`): rows of logs and metrics whose
  ``ts`` is outside ``[start, end]`` are dropped and counted as outside too, where one row is one input
  (other loaders keep their rows and the note says so).

The count rule becomes ``parsed + rejected + outside = input``; the load notes state the window and the
number of inputs outside it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

MARGIN = dt.timedelta(hours=1)

Window = tuple[dt.datetime, dt.datetime]


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC (a naive value is read as UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def normalise(window: Window | None) -> Window | None:
    """The window in UTC, or None."""
    return None if window is None else (as_utc(window[0]), as_utc(window[1]))


def describe(window: Window) -> str:
    """``2025-06-15T13:30:00Z..2025-06-15T16:30:00Z`` (for notes)."""
    start, end = normalise(window) or window
    return f"{start:%Y-%m-%dT%H:%M:%SZ}..{end:%Y-%m-%dT%H:%M:%SZ}"


def inside(ts: pl.Expr, window: Window, margin: dt.timedelta = dt.timedelta(0)) -> pl.Expr:
    """True where ``ts`` (UTC datetimes) lies in ``[start - margin, end + margin]``; null where ``ts`` is null."""
    start, end = normalise(window) or window
    return ts.is_between(pl.lit(start - margin), pl.lit(end + margin), closed="both")


def drop_outside_records(records: pl.DataFrame, window: Window | None) -> tuple[pl.DataFrame, int]:
    """Multi-line records (``t``, ``n_lines``) inside the window, and how many input lines the dropped ones held:
    the exact filter, where a record's line count is known (log4j, syslog, nginx error)."""
    if window is None:
        return records, 0
    out = ~inside(pl.col("t"), window)
    return records.filter(~out), int(records.filter(out).get_column("n_lines").sum() or 0)


def prefilter(
    lines: pl.DataFrame,
    cheap_ts: pl.Expr,
    window: Window | None,
    *,
    head: pl.Expr | None = None,
    margin: dt.timedelta = MARGIN,
) -> tuple[pl.DataFrame, int]:
    """``lines`` without the lines whose cheap time is outside the window (with :data:`MARGIN`), and how many.

    ``cheap_ts`` reads a UTC datetime (null where it cannot) from the ``line`` column. With ``head``
    (true on lines that start an entry), lines that do not start one follow the last head's decision,
    so a stack trace goes with its entry; lines before the first head are kept.
    """
    if window is None or lines.height == 0:
        return lines, 0
    keep = inside(cheap_ts, window, margin).fill_null(True)
    if head is not None:
        keep = pl.when(head).then(keep).forward_fill().fill_null(True)
    mask = lines.select(keep.alias("_keep")).to_series()
    kept = lines.filter(mask)
    return kept, lines.height - kept.height


def lazy_prefilter(
    lines: pl.LazyFrame, cheap_ts: pl.Expr, window: Window | None, margin: dt.timedelta = MARGIN
) -> pl.LazyFrame:
    """:func:`prefilter` as a lazy step for one-line-one-entry formats: adds the boolean ``_outside`` column
    (the line is dropped and counted by the caller)."""
    if window is None:
        return lines.with_columns(_outside=pl.lit(False))
    return lines.with_columns(_outside=~inside(cheap_ts, window, margin).fill_null(True))


_ISO = r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:[.,]\d+)?\s*(Z|z|[+-]\d\d:?\d\d)?"


def iso_cheap(text: pl.Expr, tz: str | None) -> pl.Expr:
    """A UTC datetime from ISO-8601-like text (``2025-06-15T14:19:23.118+02:00``, ``... 14:19:23Z``, naive
    times read in ``tz``, else UTC), to the second; null where the text is not of that shape."""
    g = text.str.extract_groups("^" + _ISO + "$")
    naive = pl.concat_str(g.struct.field("1"), pl.lit(" "), g.struct.field("2")).str.strptime(
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False
    )
    off = g.struct.field("3").str.replace(":", "", literal=True)
    minutes = (
        pl.when(off.str.to_lowercase() == "z")
        .then(pl.lit(0))
        .otherwise(
            (off.str.slice(1, 2).cast(pl.Int32, strict=False) * 60 + off.str.slice(3, 2).cast(pl.Int32, strict=False))
            * pl.when(off.str.starts_with("-")).then(-1).otherwise(1)
        )
    )
    zoned = naive.dt.replace_time_zone(tz or "UTC", ambiguous="earliest", non_existent="null").dt.convert_time_zone(
        "UTC"
    )
    with_offset = (naive - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC")
    return pl.when(off.is_null()).then(zoned).otherwise(with_offset)


def exact_mask(frame: pl.DataFrame, window: Window) -> pl.Series:
    """True on rows whose ``ts`` lies outside ``[start, end]`` (a null ``ts`` is kept)."""
    return frame.select(~inside(pl.col("ts"), window).fill_null(True)).to_series()
