"""Times as people write them: Python strftime spellings in ``ts_format``, ``timezone`` for naive times (DST)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit import timeutil
from pmkit.sources.base import LoadRequest, LoadResult, run

# BGL lines as loghub's BGL_2k.log prints them (label, epoch, date, node, time with microseconds, ...)
BGL = [
    "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO "
    "instruction cache parity error corrected",
    "- 1117838573 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.53.276129 R02-M1-N0-C:J12-U11 RAS KERNEL INFO "
    "instruction cache parity error corrected",
    "- 1117838976 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.49.36.156884 R02-M1-N0-C:J12-U11 RAS KERNEL INFO "
    "63543 double-hummer alignment exceptions",
    "APPREAD 1117869872 2005.06.04 R04-M1-N4-I:J18-U11 2005-06-04-00.24.32.432192 R04-M1-N4-I:J18-U11 RAS APP FATAL "
    "ciod: failed to read message prefix on control stream (CioStream socket to 172.16.96.116:33569",
    "- 1118536327 2005.06.11 R30-M0-N9-C:J16-U01 2005-06-11-17.32.07.581048 R30-M0-N9-C:J16-U01 RAS KERNEL INFO "
    "instruction cache parity error corrected",
    "- 1118536327 2005.06.11 R30-M0-N9-C:J16-U01 2005-06-11-17.32.07.000005 R30-M0-N9-C:J16-U01 RAS KERNEL INFO x",
]
BGL_PATTERN = (
    r"%{NOTSPACE:label} %{INT:epoch} %{NOTSPACE:date} %{NOTSPACE:node} %{NOTSPACE:ts} %{NOTSPACE:node2} "
    r"%{WORD:type} %{WORD:component} %{WORD:level} %{GREEDYDATA:message}"
)
PY_BGL = "%Y-%m-%d-%H.%M.%S.%f"


def load(path: Path, kind: str, fmt: str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind, fmt, str(path), **kw))


def test_bgl_microseconds_are_exact(tmp_path: Path) -> None:
    f = tmp_path / "BGL.log"
    f.write_text("\r\n".join(BGL) + "\r\n")
    res = load(f, "logs", "grok", pattern=BGL_PATTERN, ts_format=PY_BGL)
    assert (res.inputs, res.parsed, res.rejected) == (6, 6, 0)
    expected = [dt.datetime.strptime(line.split()[4], PY_BGL).replace(tzinfo=dt.UTC) for line in BGL]
    assert res.frame["ts"].to_list() == expected  # to the microsecond (polars' own %f read nanoseconds)
    assert any("read as '%Y-%m-%d-%H.%M.%S%.f' (%f: microseconds" in n for n in res.notes)


@pytest.mark.parametrize(
    ("python", "value"),
    [
        ("%Y-%m-%d %H:%M:%S,%f", "2025-06-15 14:19:23,118"),  # Python logging's asctime
        ("%Y-%m-%d %H:%M:%S.%f", "2025-06-15 14:19:23.5"),
        ("%Y-%m-%dT%H:%M:%S.%f%z", "2025-06-15T14:19:23.000118+02:00"),
        ("%Y-%m-%dT%H:%M:%S%z", "2025-06-15T14:19:23Z"),
        ("%Y-%m-%dT%H:%M:%S%z", "2025-06-15T14:19:23-0700"),
        ("%d/%b/%Y:%H:%M:%S %z", "15/Jun/2025:14:19:23 +0000"),
        ("%Y%m%d %H%M%S%f", "20250615 141923000118"),
    ],
)
def test_python_spellings_agree_with_python(tmp_path: Path, python: str, value: str) -> None:
    want = dt.datetime.strptime(value, python)
    want = want.replace(tzinfo=dt.UTC) if want.tzinfo is None else want.astimezone(dt.UTC)
    f = tmp_path / "a.log"
    f.write_text(f'ts="{value}" msg=hello\n')
    res = load(f, "logs", "logfmt", ts_format=python)
    assert res.frame["ts"].to_list() == [want]


def test_polars_spellings_pass_unchanged() -> None:
    for fmt in ("%Y-%m-%dT%H:%M:%S%.f%#z", "%H:%M:%S%.3f", "epoch_ms", "%d%%f"):
        assert timeutil.polars_format(fmt) == fmt


@settings(max_examples=scaled(60), deadline=None)
@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1)))
def test_any_time_written_with_python_f_reads_back_exactly(when: dt.datetime) -> None:
    for python in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d-%H.%M.%S.%f", "%Y%m%d%H%M%S%f", "%d/%m/%Y %H:%M:%S,%f"):
        text = when.strftime(python)
        got = timeutil.parse_ts(pl.Series([text]), timeutil.polars_format(python))[0].item()
        assert got == when.replace(tzinfo=dt.UTC), (python, text)


# ------------------------------------------------------------------------------------ timezone: US/Pacific

PACIFIC = zoneinfo.ZoneInfo("US/Pacific")
# naive Pacific wall times around both 2025 changes: 2025-03-09 02:00 PST -> 03:00 PDT, 2025-11-02 02:00 PDT -> 01:00 PST
WALL = [
    "2025-03-09 01:59:59",  # PST (UTC-8) -> 09:59:59Z
    "2025-03-09 03:00:00",  # PDT (UTC-7) -> 10:00:00Z
    "2025-07-01 12:00:00",  # PDT -> 19:00:00Z
    "2025-11-02 00:59:59",  # PDT -> 07:59:59Z
    "2025-11-02 01:30:00",  # repeated hour: first occurrence (PDT) -> 08:30:00Z
    "2025-11-02 02:00:00",  # PST -> 10:00:00Z
    "2025-12-01 09:00:00",  # PST -> 17:00:00Z
]
UTC_WANT = [
    dt.datetime(2025, 3, 9, 9, 59, 59, tzinfo=dt.UTC),
    dt.datetime(2025, 3, 9, 10, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 7, 1, 19, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 11, 2, 7, 59, 59, tzinfo=dt.UTC),
    dt.datetime(2025, 11, 2, 8, 30, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 11, 2, 10, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 12, 1, 17, 0, 0, tzinfo=dt.UTC),
]


def _python_utc(wall: str) -> dt.datetime:
    return dt.datetime.fromisoformat(wall).replace(tzinfo=PACIFIC, fold=0).astimezone(dt.UTC)


def test_the_expected_utc_times_are_pythons() -> None:
    assert [_python_utc(w) for w in WALL] == UTC_WANT


@pytest.mark.parametrize(
    ("fmt", "line", "extra"),
    [
        ("logfmt", 'ts="{w}" level=info msg=x', {}),
        ("jsonl", '{{"time": "{w}", "msg": "x"}}', {}),
        ("log4j", "{w},000 INFO x", {}),
        ("syslog", "{t} host app[1]: x", {}),
        ("grok", "{w} INFO x", {"pattern": "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}"}),
        ("nginx-error", "{s} [error] 1#1: x", {}),
    ],
)
def test_pacific_times_to_utc_across_dst(tmp_path: Path, fmt: str, line: str, extra: dict[str, Any]) -> None:
    f = tmp_path / "a.log"
    rows = [line.format(w=w, t=w.replace(" ", "T"), s=w.replace("-", "/")) for w in WALL]
    f.write_text("\n".join(rows) + "\n")
    res = load(f, "logs", fmt, timezone="US/Pacific", **extra)
    assert res.rejected == 0, res.rejects.to_dicts()
    assert res.frame["ts"].to_list() == UTC_WANT
    assert any("read in US/Pacific (timezone)" in n for n in res.notes)
    plain = load(f, "logs", fmt, **extra)
    assert any("UTC" in n and "offset" in n for n in plain.notes)  # without timezone: says it read them as UTC


def test_a_skipped_hour_is_unreadable_not_shifted(tmp_path: Path) -> None:
    f = tmp_path / "a.log"
    f.write_text('ts="2025-03-09 02:30:00" msg=x\nts="2025-03-09 03:30:00" msg=y\n')
    res = load(f, "logs", "logfmt", timezone="US/Pacific")
    assert res.frame["ts"].to_list() == [dt.datetime(2025, 3, 9, 10, 30, tzinfo=dt.UTC)]
    assert res.rejected == 1
