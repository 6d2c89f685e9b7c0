"""SLI minutes from requests and from metrics; impact window detection."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from pmkit import schema
from pmkit.analysis.sli import detect_impact, minutes_from_requests, minutes_from_series, request_frame

UTC = dt.UTC
T0 = dt.datetime(2025, 6, 15, 14, 0, tzinfo=UTC)


def request_events(spec: list[tuple[int, int, str]]) -> pl.DataFrame:
    """(second offset, status, user) -> access-log-like events."""
    rows = [
        {
            "ts": T0 + dt.timedelta(seconds=s),
            "source": "nginx",
            "kind": "log",
            "service": "payments-api",
            "level": "error" if st >= 500 else "info",
            "actor": None,
            "message": f"POST /pay {st}",
            "attrs": json.dumps({"status": st, "path": "/pay", "user": u, "duration_s": 0.1}),
            "origin": f"a.log:{i + 1}",
        }
        for i, (s, st, u) in enumerate(spec)
    ]
    return pl.DataFrame(rows, schema=schema.EVENTS_SCHEMA)


def minutes(ratios: list[float], total: float = 100.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [T0 + dt.timedelta(minutes=i) for i in range(len(ratios))],
            "total": [total] * len(ratios),
            "bad": [total * r for r in ratios],
        },
        schema={"ts": pl.Datetime("us", "UTC"), "total": pl.Float64, "bad": pl.Float64},
    )


def test_request_frame_reads_attrs_and_good_condition() -> None:
    ev = request_events([(0, 200, "a"), (1, 503, "b"), (2, 404, "c")])
    req = request_frame(ev)
    assert req["ok"].to_list() == [True, False, True]
    assert req["user"].to_list() == ["a", "b", "c"]
    strict = request_frame(ev, good="status < 400")
    assert strict["ok"].to_list() == [True, False, False]


def test_minutes_from_requests_counts_and_fills() -> None:
    ev = request_events([(0, 200, "a"), (10, 500, "b"), (130, 200, "c")])
    m = minutes_from_requests(request_frame(ev))
    assert m["total"].to_list() == [2.0, 0.0, 1.0]
    assert m["bad"].to_list() == [1.0, 0.0, 0.0]


def test_minutes_from_series_shifts_the_step_and_reads_codes() -> None:
    rows = []
    for i in range(1, 4):
        for code, v in (("200", 90.0), ("503", 10.0)):
            rows.append(
                {
                    "ts": T0 + dt.timedelta(minutes=i),
                    "source": "prom",
                    "metric": "http_requests",
                    "labels": json.dumps({"code": code}),
                    "value": v,
                    "origin": "x",
                }
            )
    s = pl.DataFrame(rows, schema=schema.SERIES_SCHEMA)
    m = minutes_from_series(s)
    assert m["ts"].to_list()[0] == T0  # the sample at 14:01 counts 14:00-14:01
    assert m["total"].to_list() == [100.0, 100.0, 100.0]
    assert m["bad"].to_list() == [10.0, 10.0, 10.0]
    rate = minutes_from_series(s, value="rate")
    assert rate["total"].to_list()[0] == 6000.0


def test_detect_impact_finds_start_and_end() -> None:
    ratios = [0.0, 0.01, 0.0] * 10 + [0.3] + [1.0] * 20 + [0.2] * 5 + [0.0] * 30
    w = detect_impact(minutes(ratios))
    assert w.start == T0 + dt.timedelta(minutes=30)
    assert w.end == T0 + dt.timedelta(minutes=56)
    assert w.peak_ratio == 1.0
    assert w.bad_minutes == 26


def test_detect_impact_ignores_a_single_blip_and_quiet_data() -> None:
    ratios = [0.0] * 20 + [0.2] + [0.0] * 40
    w = detect_impact(minutes(ratios))
    assert w.start is None and "never left" in w.method
    assert detect_impact(minutes([])).start is None


def test_small_traffic_noise_is_not_an_incident() -> None:
    # 10 requests a minute: one failure is 10%, which must not count as bad
    ratios = [0.1 if i % 7 == 0 else 0.0 for i in range(60)]
    assert detect_impact(minutes(ratios, total=10.0)).start is None
