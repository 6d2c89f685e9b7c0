"""Timestamps to UTC: offsets, naive + zone, epochs, comma millis, Go time.String()."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pmkit.timeutil import DurationStyle, as_utc, fmt_duration, fmt_utc, guess_format, parse_ts

UTC = dt.UTC


def one(value: object, fmt: str | None = None, tz: str | None = None) -> dt.datetime | None:
    out, _ = parse_ts(pl.Series([value]), fmt, tz)
    return out[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-15T14:18:00Z", dt.datetime(2025, 6, 15, 14, 18, tzinfo=UTC)),
        ("2025-06-15T16:18:00+02:00", dt.datetime(2025, 6, 15, 14, 18, tzinfo=UTC)),
        ("2025-06-15T18:18:00.250+0400", dt.datetime(2025, 6, 15, 14, 18, 0, 250000, tzinfo=UTC)),
        ("15/Jun/2025:16:18:00 +0200", dt.datetime(2025, 6, 15, 14, 18, tzinfo=UTC)),
        ("2018-03-07T06:33:21.873077559-05:00", dt.datetime(2018, 3, 7, 11, 33, 21, 873077, tzinfo=UTC)),
        ("2016-12-19 16:31:46,143", dt.datetime(2016, 12, 19, 16, 31, 46, 143000, tzinfo=UTC)),
        (
            "2022-08-22 03:51:19.573905004 +0000 UTC m=+0.079858984",
            dt.datetime(2022, 8, 22, 3, 51, 19, 573905, tzinfo=UTC),
        ),
        ("2023-06-15 04:00:40.443000064", dt.datetime(2023, 6, 15, 4, 0, 40, 443000, tzinfo=UTC)),
    ],
)
def test_formats_are_recognised(text: str, expected: dt.datetime) -> None:
    assert one(text) == expected


def test_naive_times_use_the_source_zone() -> None:
    assert one("2025-06-15 16:19:03.123", tz="Europe/Berlin") == dt.datetime(2025, 6, 15, 14, 19, 3, 123000, tzinfo=UTC)
    assert one("2025-01-20 05:00:00", tz="America/New_York") == dt.datetime(2025, 1, 20, 10, 0, tzinfo=UTC)
    # an explicit offset wins over the zone
    assert one("2025-06-15T14:18:00Z", tz="Europe/Berlin") == dt.datetime(2025, 6, 15, 14, 18, tzinfo=UTC)


def test_epochs_by_unit_and_magnitude() -> None:
    expected = dt.datetime(2025, 6, 15, 14, 18, tzinfo=UTC)
    assert one("1750000680") == dt.datetime(2025, 6, 15, 15, 18, tzinfo=UTC)
    secs = int(expected.timestamp())
    assert one(str(secs * 1000)) == expected
    assert one(str(secs * 1_000_000)) == expected
    assert one(str(secs * 1_000_000_000 + 123456789)) == expected + dt.timedelta(microseconds=123456)
    assert one(str(secs), "epoch") == expected
    assert one(str(secs * 1000), "epoch_ms") == expected
    assert one(secs * 1000, "epoch_ms") == expected
    assert one("1435781430.781") == dt.datetime(2015, 7, 1, 20, 10, 30, 781000, tzinfo=UTC)


def test_explicit_strftime_format() -> None:
    assert one("20/01/2025 10h15", "%d/%m/%Y %Hh%M") == dt.datetime(2025, 1, 20, 10, 15, tzinfo=UTC)


def test_unreadable_values_are_null_not_errors() -> None:
    out, _ = parse_ts(pl.Series(["2025-06-15T14:18:00Z", "yesterday", None]))
    assert out.to_list()[1:] == [None, None]
    assert out[0] is not None


def test_guess_reports_the_choice() -> None:
    guess = guess_format(pl.Series(["2025-06-15 14:18:00", "2025-06-15 14:19:00"]))
    assert guess is not None and guess.naive and guess.matched == 2
    assert guess_format(pl.Series(["nope"])) is None


def test_a_format_first_seen_after_the_sample_is_still_read() -> None:
    """The format is guessed from the first 200 values; later values in another format are read too."""
    from pmkit.timeutil import parse_ts

    values = pl.Series(["2025-06-15T14:18:00Z"] * 250 + ["15/Jun/2025:14:18:00 +0000", "2025-06-15 14:18:00,123", "x"])
    out, guess = parse_ts(values)
    assert guess is not None and guess.matched == guess.sampled
    assert out.tail(3).to_list() == [
        dt.datetime(2025, 6, 15, 14, 18, tzinfo=dt.UTC),
        dt.datetime(2025, 6, 15, 14, 18, 0, 123000, tzinfo=dt.UTC),
        None,
    ]


# --- formatting: one formatter per kind, every style an output uses ---------------------------------


@pytest.mark.parametrize(
    ("style", "seconds", "text"),
    [
        ("short", 45, "45 s"),
        ("short", 59.4, "59 s"),
        ("short", 2460, "41 min"),
        ("short", 3600, "1 h 0 min"),
        ("short", 5220, "1 h 27 min"),
        ("compact", 2460, "41 min"),
        ("compact", 5280, "1 h 28 min"),
        ("compact", 7200, "2 h"),
        ("compact", -300, "0 min"),
        ("words", 5280, "1 hour 28 minutes"),
        ("words", 3600, "1 hour"),
        ("words", 60, "1 minute"),
        ("words", 0, "0 minutes"),
        ("min_s", 840, "14 min"),
        ("min_s", 895, "14 min 55 s"),
        ("min_s", 7200, "120 min"),
        ("decimal", 900, "15 min"),
        ("decimal", 450, "7.5 min"),
        ("decimal", 7200, "2 h"),
        ("decimal", 5400, "90 min"),
        ("human", 42, "42 s"),
        ("human", -90, "1 min 30 s"),
        ("human", 900, "15 min"),
        ("human", 10800, "3 h"),
        ("human", 72300, "20 h 5 min"),
        ("precise", 218.6, "3 min 39 s"),
        ("precise", -42, "-42 s"),
        ("precise", 5262, "1 h 28 min"),
        ("precise", 2434, "40 min 34 s"),
        ("terse", 2460, "41m"),
    ],
)
def test_fmt_duration_styles(style: DurationStyle, seconds: float, text: str) -> None:
    assert fmt_duration(seconds, style) == text
    assert fmt_duration(dt.timedelta(seconds=seconds), style) == text


def test_fmt_duration_missing_and_unknown_style() -> None:
    assert fmt_duration(None) == "unknown"
    assert fmt_duration(None, "terse", missing="?") == "?"
    with pytest.raises(ValueError, match="duration style 'hours' is not known"):
        fmt_duration(60, "hours")  # type: ignore[arg-type]


def test_fmt_utc_styles_convert_to_utc() -> None:
    t = dt.datetime(2025, 6, 15, 16, 18, 4, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert fmt_utc(t) == "2025-06-15T14:18:04Z"
    assert fmt_utc(t.replace(microsecond=250)) == "2025-06-15T14:18:04.000250Z"
    assert [fmt_utc(t, s) for s in ("date", "minute", "second", "hm", "hms")] == [
        "2025-06-15",
        "2025-06-15 14:18",
        "2025-06-15 14:18:04",
        "14:18",
        "14:18:04",
    ]
    assert fmt_utc(dt.datetime(2025, 6, 15, 14, 18)) == "2025-06-15T14:18:00Z"  # naive reads as UTC
    assert fmt_utc(None) is None
    assert fmt_utc(None, "hm", missing="?") == "?"


def test_as_utc() -> None:
    naive = dt.datetime(2025, 6, 15, 14, 18)
    assert as_utc(naive) == naive.replace(tzinfo=UTC)
    assert as_utc(dt.datetime(2025, 6, 15, 16, 18, tzinfo=dt.timezone(dt.timedelta(hours=2)))).hour == 14
    assert as_utc(naive).tzinfo is UTC
