"""Timestamps to UTC, vectorised.

Every loader turns its time column into ``Datetime(us, UTC)`` here, so all formats
agree on the rules:

- explicit offsets (``+0400``, ``+04:00``, ``Z``) are honoured;
- naive times are read in the source's ``timezone`` (UTC when none is given, and
  the load report says so);
- ``ts_format`` is a strftime format or ``epoch``, ``epoch_ms``, ``epoch_us``,
  ``epoch_ns``; when absent it is recognised from the values themselves. It is written as in
  Python (``%f`` = microseconds; :func:`polars_format` translates it once, in
  :func:`pmkit.sources.base.run`);
- comma milliseconds (``16:31:46,143``) and Go's ``time.String()`` form
  (``2022-08-22 03:51:19.573905004 +0000 UTC m=+0.079858984``) are normalised first.

A value that cannot be read becomes null; loaders send those rows to the rejects. So does a
time outside :data:`TS_MIN`..:data:`TS_MAX` (year 0, year 10000, an epoch in the wrong unit):
no evidence of an incident is dated there, and Python's ``datetime`` cannot even hold some of
them (``ValueError: year 0 is out of range`` the moment a frame is turned into Python objects).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args, overload

import polars as pl

from pmkit.schema import UTC_TS

# The times pmkit reads: anything outside is a per-record reject (see the module docstring).
TS_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
TS_MAX = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
TS_RANGE_TEXT = "1900-01-01..2199-12-31 UTC"


def in_range(expr: pl.Expr) -> pl.Expr:
    """Whether a ``Datetime`` expression lies in :data:`TS_MIN`..:data:`TS_MAX` (null stays null)."""
    tz = "UTC"
    lo = pl.lit(TS_MIN).dt.convert_time_zone(tz)
    hi = pl.lit(TS_MAX).dt.convert_time_zone(tz)
    return expr.dt.convert_time_zone(tz).is_between(lo, hi, closed="left")


def bounded(expr: pl.Expr) -> pl.Expr:
    """``expr`` (a UTC ``Datetime``) with times outside :data:`TS_MIN`..:data:`TS_MAX` made null."""
    return pl.when(in_range(expr)).then(expr)


EPOCH_UNITS = {"epoch": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}

# Tried in this order when no ts_format is given (after normalisation below).
CANDIDATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
    "%d/%b/%Y:%H:%M:%S %z",
    "%d/%b/%Y:%H:%M:%S",
    "%a, %d %b %Y %H:%M:%S %z",
    "%a %b %d %H:%M:%S %Y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y %H:%M:%S",
)


def polars_format(fmt: str) -> str:
    """A ``ts_format`` as people write it (Python's ``strftime``/``strptime``) in the spelling polars reads.

    Python and polars (chrono) agree on most directives; where they differ the Python meaning wins:

    - ``%f`` is microseconds in Python (1 to 6 digits, a fraction of the second) but whole nanoseconds in
      polars: ``.%f`` and ``,%f`` become ``%.f`` (any number of digits after the point; a comma before
      the fraction is read as a point, as :func:`normalise` does), any other ``%f`` becomes ``%6f``
      (the six digits Python writes);
    - ``%z`` in Python accepts ``Z``, ``+05:30``, ``+0530`` and ``+05``: it becomes ``%#z``, which reads
      them all (``%:z`` too).

    Formats already in polars' spelling (``%.f``, ``%3f``, ``%#z``) and the epoch names pass unchanged.
    """
    if fmt in EPOCH_UNITS:
        return fmt
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%" or i + 1 >= len(fmt):
            out.append(ch)
            i += 1
            continue
        directive = fmt[i + 1]
        if directive == "f":
            if out and out[-1] in (".", ","):
                out[-1] = "%.f"
            else:
                out.append("%6f")
        elif directive == "z":
            out.append("%#z")
        elif directive == ":" and fmt[i + 2 : i + 3] == "z":
            out.append("%#z")
            i += 1
        else:
            out.append(ch + directive)
        i += 2
    return "".join(out)


def is_aware(fmt: str) -> bool:
    """Whether a strftime format carries its own UTC offset."""
    return any(tok in fmt for tok in ("%z", "%#z", "%:z", "%::z"))


def normalise(expr: pl.Expr) -> pl.Expr:
    """Rewrite common variants into forms strptime reads (vectorised, no Python loop)."""
    return (
        expr.str.strip_chars()
        # Go time.String(): drop the monotonic clock reading and the zone name
        .str.replace(r" m=[+-][0-9.]+$", "")
        .str.replace(r"(\s[+-]\d{4}) [A-Z]{2,5}$", "$1")
        # comma milliseconds (log4j, Python logging)
        .str.replace(r"(\d{2}:\d{2}:\d{2}),(\d+)", "$1.$2")
    )


def _epoch_expr(expr: pl.Expr, unit: str | None) -> pl.Expr:
    num = expr.cast(pl.Float64, strict=False)
    if unit is None:  # guess by magnitude, per value
        mag = num.abs()
        scale = pl.when(mag < 1e11).then(1e6).when(mag < 1e14).then(1e3).when(mag < 1e17).then(1.0).otherwise(1e-3)
    else:
        scale = pl.lit({"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}[unit])
    # integers keep full precision for ns input; floats are fine to the microsecond
    as_int = expr.cast(pl.Int64, strict=False)
    exact = (
        pl.when(as_int.is_not_null() & (scale == 1e-3))
        .then(as_int // 1000)
        .otherwise((num * scale).round(0).cast(pl.Int64, strict=False))
    )
    return bounded(exact.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def ts_expr(expr: pl.Expr, fmt: str, tz: str | None = None, *, normalised: bool = True) -> pl.Expr:
    """An expression turning ``expr`` (strings) into ``Datetime(us, UTC)`` with a known format.

    ``normalised=False`` skips :func:`normalise` (three regexes, ~1 s per million values) for
    columns known not to need it; :func:`parse_ts` decides that from a sample.
    """
    if fmt in EPOCH_UNITS:
        return _epoch_expr(expr, EPOCH_UNITS[fmt])
    text = normalise(expr) if normalised else expr
    parsed = text.str.strptime(pl.Datetime("us"), fmt, strict=False)
    if is_aware(fmt):
        return bounded(parsed.dt.convert_time_zone("UTC"))
    return bounded(
        parsed.dt.replace_time_zone(tz or "UTC", ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
    )


@dataclass(frozen=True)
class TsGuess:
    """What :func:`guess_format` chose, so the load report can say it."""

    fmt: str
    naive: bool
    matched: int
    sampled: int


def guess_format(values: pl.Series, sample: int = 200) -> TsGuess | None:
    """Pick the format that reads most of a sample of non-null values (None if none does)."""
    vals = values.drop_nulls().cast(pl.String)
    if vals.len() == 0:
        return None
    head = vals.head(sample)
    frame = head.to_frame("v")
    n = head.len()
    numeric = frame.select(pl.col("v").str.contains(r"^\s*-?\d+(\.\d+)?\s*$").sum()).item()
    if numeric == n:
        return TsGuess("epoch_auto", False, n, n)
    best: TsGuess | None = None
    for fmt in CANDIDATE_FORMATS:
        ok = frame.select(
            normalise(pl.col("v")).str.strptime(pl.Datetime("us"), fmt, strict=False).is_not_null().sum()
        ).item()
        if ok and (best is None or ok > best.matched):
            best = TsGuess(fmt, not is_aware(fmt), ok, n)
            if ok == n:
                break
    return best


def parse_ts(values: pl.Series, fmt: str | None = None, tz: str | None = None) -> tuple[pl.Series, TsGuess | None]:
    """Parse a string (or numeric) Series to ``Datetime(us, UTC)``; nulls where unreadable.

    Returns the parsed series and, when the format was guessed, the guess.
    """
    if values.dtype.is_numeric():
        unit = EPOCH_UNITS.get(fmt or "")
        parsed = values.to_frame("v").lazy().select(_epoch_expr(pl.col("v"), unit)).collect()
        return parsed.to_series().alias(values.name), None
    if isinstance(values.dtype, pl.Datetime):
        out = values.cast(pl.Datetime("us", values.dtype.time_zone))
        if values.dtype.time_zone is None:
            out = out.dt.replace_time_zone(tz or "UTC")
        out = out.dt.convert_time_zone("UTC")
        return out.to_frame("v").select(bounded(pl.col("v"))).to_series().alias(values.name), None
    guess = None
    if fmt is None:
        guess = guess_format(values)
        if guess is None:
            return pl.Series(values.name, [None] * values.len(), dtype=UTC_TS), None
        fmt = guess.fmt
    # lazy selects: polars evaluates a subexpression used twice (``bounded``'s range check and value) once
    # only in a lazy query, so each parse runs once (an eager select parsed every value twice)
    frame = values.to_frame("v").lazy()
    if fmt == "epoch_auto":
        expr = _epoch_expr(pl.col("v"), None)
    else:
        # strptime straight away; only the values that fail it go through normalise()
        expr = ts_expr(pl.col("v"), fmt, tz, normalised=False)
        first = frame.select(expr).collect().to_series()
        failed = first.is_null() & values.is_not_null()
        if not failed.any():
            return first.alias(values.name), guess
        redo = values.filter(failed).to_frame("v").lazy().select(ts_expr(pl.col("v"), fmt, tz)).collect().to_series()
        first = first.scatter(failed.arg_true(), redo)
        still = first.is_null() & values.is_not_null()
        if guess is None or not still.any():
            return first.alias(values.name), guess
        # mixed formats in one column (in the sample, or first seen after it): the values the guess could
        # not read are tried with the other candidates
        others = [ts_expr(pl.col("v"), f, tz) for f in CANDIDATE_FORMATS if f != fmt]
        rest = values.filter(still).to_frame("v").lazy().select(pl.coalesce(others)).collect().to_series()
        return first.scatter(still.arg_true(), rest).alias(values.name), guess
    return frame.select(expr).collect().to_series().alias(values.name), guess


# --- formatting ---------------------------------------------------------------------------------
# One place for how pmkit writes a time or a duration as text. Each style is one that an output
# already uses (the JSON, the document, the comms drafts, the terminal), kept byte for byte: they
# differ on purpose in small ways (``1 h 0 min`` in the document, ``1 h`` in a customer update).

UtcStyle = Literal["iso", "date", "minute", "second", "hm", "hms"]
_UTC_FORMATS: dict[str, str] = {
    "date": "%Y-%m-%d",
    "minute": "%Y-%m-%d %H:%M",
    "second": "%Y-%m-%d %H:%M:%S",
    "hm": "%H:%M",
    "hms": "%H:%M:%S",
}

DurationStyle = Literal["short", "compact", "words", "min_s", "decimal", "human", "precise", "terse"]


def as_utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime: aware values converted, naive ones read as UTC (as everywhere in pmkit)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@overload
def fmt_utc(ts: dt.datetime, style: UtcStyle = ..., *, missing: str | None = ...) -> str: ...
@overload
def fmt_utc(ts: dt.datetime | None, style: UtcStyle = ..., *, missing: str) -> str: ...
@overload
def fmt_utc(ts: dt.datetime | None, style: UtcStyle = ..., *, missing: None = ...) -> str | None: ...
def fmt_utc(ts: dt.datetime | None, style: UtcStyle = "iso", *, missing: str | None = None) -> str | None:
    """A time as UTC text (naive times are read as UTC); ``missing`` (default None) stands for no time.

    ``iso``: ``2025-06-15T14:18:04Z`` (the JSON; microseconds when there are any); ``date``:
    ``2025-06-15``; ``minute``: ``2025-06-15 14:18``; ``second``: ``2025-06-15 14:18:04``;
    ``hm``: ``14:18``; ``hms``: ``14:18:04``.
    """
    if ts is None:
        return missing
    t = as_utc(ts)
    if style == "iso":
        return t.isoformat().replace("+00:00", "Z")
    return t.strftime(_UTC_FORMATS[style])


def fmt_duration(
    value: dt.timedelta | float | None, style: DurationStyle = "short", *, missing: str = "unknown"
) -> str:
    """A duration (a timedelta, or seconds) as text; ``missing`` stands for an unknown one.

    - ``short`` (the document): ``45 s`` under a minute, else whole minutes: ``41 min``, ``1 h 27 min``,
      ``1 h 0 min``.
    - ``compact`` (status updates): whole minutes, never negative: ``41 min``, ``1 h 28 min``, ``2 h``.
    - ``words`` (customer texts): ``1 hour 28 minutes``, ``2 hours``, ``0 minutes``.
    - ``min_s`` (status-update gaps): ``14 min``, ``14 min 55 s``; minutes are not folded into hours.
    - ``decimal`` (a severity's update interval): ``15 min``, ``7.5 min``, ``2 h`` (whole hours only).
    - ``human`` (change-suspect reasons; the sign is dropped, seconds truncated): ``42 s``,
      ``1 min 30 s``, ``15 min``, ``3 h``, ``20 h 5 min``.
    - ``precise`` (the document's tables of measured durations): rounded to the second below an hour and
      to the minute above, the sign kept: ``3 min 39 s``, ``-42 s``, ``1 h 28 min`` (the same figures the
      Detection/Response/Recovery sentences state).
    - ``terse`` (the terminal): ``41m``.
    """
    if value is None:
        return missing
    secs = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if style == "short":
        if secs < 60:
            return f"{secs:.0f} s"
        m = round(secs / 60)
        return f"{m // 60} h {m % 60} min" if m >= 60 else f"{m} min"
    if style in ("compact", "words"):
        h, m = divmod(max(0, round(secs / 60)), 60)
        if style == "words":
            hours = f"{h} hour{'s' * (h != 1)}" if h else ""
            mins = f"{m} minute{'s' * (m != 1)}" if m or not h else ""
            return " ".join(p for p in (hours, mins) if p)
        return f"{h} h {m} min" if h and m else f"{h} h" if h else f"{m} min"
    if style == "min_s":
        m, s = divmod(round(secs), 60)
        return f"{m} min" if s == 0 else f"{m} min {s} s"
    if style == "decimal":
        minutes = secs / 60
        return f"{minutes / 60:g} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g} min"
    if style == "precise":
        sign, s = "-" if secs < 0 else "", round(abs(secs))
        if s < 3600:
            return sign + fmt_duration(s, "human")
        return sign + fmt_duration(round(s / 60) * 60, "human")
    if style == "human":
        s = int(abs(secs))
        if s < 60:
            return f"{s} s"
        if s < 3600:
            return f"{s // 60} min" if s % 60 == 0 else f"{s // 60} min {s % 60} s"
        h, hmin = s // 3600, (s % 3600) // 60
        return f"{h} h" if hmin == 0 else f"{h} h {hmin} min"
    if style == "terse":
        return f"{secs / 60:.0f}m"
    raise ValueError(f"duration style {style!r} is not known; expected one of {', '.join(get_args(DurationStyle))}")
