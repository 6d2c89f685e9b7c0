"""SLI minutes from requests and from metrics; impact window detection."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from pmkit import schema
from pmkit.analysis.sli import detect_impact, minutes_from_requests, minutes_from_series, request_frame
from pmkit.analysis.sli_series import (
    auto_series_sli,
    histogram_minutes,
    latency_minutes,
    ratio_minutes,
    series_kind,
    series_sli,
    unit_seconds,
)

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


# --- latency in request logs, and SLIs from series alone -------------------------------------------


def _series(metric: str, values: list[float], *, source: str = "prom", labels: str = "{}") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [T0 + dt.timedelta(minutes=i) for i in range(len(values))],
            "source": source,
            "metric": metric,
            "labels": labels,
            "value": values,
            "origin": "x",
        },
        schema=schema.SERIES_SCHEMA,
    )


def _slow(base: float, n_before: int = 60, n_slow: int = 20, n_after: int = 40, jump: float = 100.0) -> list[float]:
    wobble = [1.0, 1.05, 0.97, 1.1, 0.93]
    vals = [base * wobble[i % 5] for i in range(n_before + n_slow + n_after)]
    return [v * jump if n_before <= i < n_before + n_slow else v for i, v in enumerate(vals)]


def test_request_frame_reads_durations_in_any_unit() -> None:
    rows = [
        {"status": 200, "duration_ms": 250},
        {"status": 200, "request_time": "0.5"},
        {"status": 200, "latency_ms": 1},
    ]
    ev = request_events([(i, 200, "u") for i in range(3)]).with_columns(
        pl.Series("attrs", [json.dumps(r) for r in rows])
    )
    req = request_frame(ev, good="status < 500 and duration_ms < 300")
    assert req["duration_s"].to_list() == pytest.approx([0.25, 0.5, 0.001])
    assert req["latency_ms"].to_list() == pytest.approx([250.0, 500.0, 1.0])
    assert req["ok"].to_list() == [True, False, True]
    none = request_frame(request_events([(0, 200, "u")]).with_columns(pl.lit('{"status": 200}').alias("attrs")))
    assert none["duration_s"].to_list() == [None]


def test_a_request_without_duration_is_not_good_under_a_latency_condition() -> None:
    ev = request_events([(0, 200, "u")]).with_columns(pl.lit('{"status": 200}').alias("attrs"))
    assert request_frame(ev, good="duration_s < 0.3")["ok"].to_list() == [False]


@pytest.mark.parametrize(
    ("metric", "kind"),
    [
        ("http_p90_seconds", "latency"),
        ("http_request_duration_seconds", "latency"),
        ("api_latency_ms", "latency"),
        ("checkout_response_time", "latency"),
        ("payments_post_latency_p95_seconds", "latency"),
        ("api_success_rate", "success-rate"),
        ("availability_percent", "success-rate"),
        ("http_error_ratio", "error-rate"),
        ("errors_5xx_rate", "error-rate"),
        ("http_requests_total", None),
        ("http_request_duration_seconds_bucket", None),
        ("db_pool_connections_in_use", None),
    ],
)
def test_series_kind_from_the_name(metric: str, kind: str | None) -> None:
    assert series_kind(metric)[0] == kind


def test_duration_alone_is_a_weak_latency_taken_only_without_a_stronger_one() -> None:
    assert series_kind("pg_stat_activity_max_tx_duration") == ("latency", "its name says duration")
    weak = _series("pg_stat_activity_max_tx_duration", [1.0] * 30, source="pg")
    strong = _series("http_p99_seconds", _slow(0.05))
    both = auto_series_sli(pl.concat([weak, strong]))
    assert both is not None and both.metrics == ("http_p99_seconds",)
    alone = auto_series_sli(weak)
    assert alone is not None and alone.metrics == ("pg_stat_activity_max_tx_duration",)


def test_latency_time_slices_against_the_baseline() -> None:
    got = latency_minutes(_series("http_p90_seconds", _slow(0.03)), metric="http_p90_seconds")
    assert got is not None
    m, thr, how = got
    assert m["total"].to_list() == [1.0] * 120
    assert m["bad"].sum() == 20 and m["bad"][60:80].to_list() == [1.0] * 20
    assert thr == pytest.approx(2 * 0.033, rel=0.01)  # 2 x p99 of the baseline (its highest wobble is 1.1)
    assert how.startswith("2 x its baseline p99 of 33")
    w = detect_impact(m, alone=1.01)
    assert w.start == T0 + dt.timedelta(minutes=60) and w.end == T0 + dt.timedelta(minutes=80)


def test_latency_in_milliseconds_and_a_given_threshold() -> None:
    got = latency_minutes(_series("api_latency_ms", _slow(30.0)), metric="api_latency_ms", threshold_s=0.3)
    assert got is not None
    m, thr, how = got
    assert thr == 0.3 and how == "the SLO's threshold" and m["bad"].sum() == 20  # 30 ms x 100 = 3 s > 300 ms


def test_one_slow_minute_of_a_time_slice_sli_is_no_incident() -> None:
    vals = _slow(0.03, n_slow=0)
    vals[50] = 5.0
    m, _, _ = latency_minutes(_series("http_p90_seconds", vals), metric="http_p90_seconds") or (None, 0, "")
    assert m is not None and m["bad"].sum() == 1
    assert detect_impact(m, alone=1.01).start is None
    assert detect_impact(m).start is not None  # the request rule: one minute at 100% starts an impact


def test_rate_series_give_the_bad_fraction() -> None:
    pct = [99.9] * 60 + [50.0] * 20 + [99.9] * 40
    got = ratio_minutes(_series("api_success_rate", pct), metric="api_success_rate", kind="success-rate")
    assert got is not None
    m, scale = got
    assert scale == "a percentage"
    assert m["bad"][0] == pytest.approx(0.001) and m["bad"][60] == pytest.approx(0.5)
    err = ratio_minutes(_series("http_error_ratio", [0.0, 0.2, 1.5]), metric="http_error_ratio", kind="error-rate")
    assert err is not None and err[1] == "a percentage"  # a value above 1 says percent
    frac = ratio_minutes(_series("http_error_ratio", [0.0, 0.2, 1.0]), metric="http_error_ratio", kind="error-rate")
    assert frac is not None and frac[0]["bad"].to_list() == pytest.approx([0.0, 0.2, 1.0])
    w = detect_impact(m)
    assert w.start == T0 + dt.timedelta(minutes=60) and w.end == T0 + dt.timedelta(minutes=80)


def test_several_label_sets_read_as_the_worst() -> None:
    a = _series("http_p90_seconds", [0.03] * 5, labels='{"pod": "a"}')
    b = _series("http_p90_seconds", [0.03, 0.03, 9.0, 9.0, 0.03], labels='{"pod": "b"}')
    got = latency_minutes(pl.concat([a, b]), metric="http_p90_seconds", threshold_s=0.3)
    assert got is not None and got[0]["bad"].to_list() == [0.0, 0.0, 1.0, 1.0, 0.0]


def test_auto_series_sli_combines_and_says_why() -> None:
    s = pl.concat(
        [
            _series("http_p90_seconds", _slow(0.03)),
            _series("http_error_ratio", [0.001] * 120),
            _series("http_requests_total", [100.0] * 120),
        ]
    )
    got = auto_series_sli(s)
    assert got is not None
    assert got.metrics == ("http_error_ratio", "http_p90_seconds")  # the counter is never taken
    assert got.kind == "mixed"
    assert got.basis.startswith("minutes bad in any of: per-minute error fraction of error-rate metric")
    assert any("its name says latency ('p90')" in r and "2 x its baseline p99" in r for r in got.reasons)
    assert got.minutes["bad"][60] == 1.0 and got.minutes["bad"][0] == pytest.approx(0.001)
    assert auto_series_sli(_series("http_requests_total", [1.0])) is None


def test_series_sli_picks_the_percentile() -> None:
    s = pl.concat([_series("http_p50_seconds", [0.01] * 10), _series("http_p99_seconds", [0.5] * 10)])
    got = series_sli(s, source="prom", threshold_s=0.3, percentile=99)
    assert got is not None and got.metrics == ("http_p99_seconds",) and got.minutes["bad"].sum() == 10
    q = pl.concat(
        [
            _series("rpc_latency", [0.01] * 10, labels='{"quantile": "0.5"}'),
            _series("rpc_latency", [0.5] * 10, labels='{"quantile": "0.99"}'),
        ]
    )
    got = series_sli(q, source="prom", threshold_s=0.3, percentile=99)
    assert got is not None and got.minutes["bad"].sum() == 10
    got = series_sli(q, source="prom", threshold_s=0.3, percentile=50)
    assert got is not None and got.minutes["bad"].sum() == 0
    assert got.basis == "time slices of metric 'rpc_latency' above 300 ms"


def test_histogram_minutes_sums_labels_and_reads_rates() -> None:
    rows = []
    for pod in ("a", "b"):
        for le, v in (("0.25", 0.9), ("0.5", 1.0), ("+Inf", 1.0)):  # per second: 90% under 250 ms
            rows.append(_series("rpc_seconds_bucket", [v] * 3, labels=json.dumps({"le": le, "pod": pod})))
    s = pl.concat(rows)
    got = histogram_minutes(s, threshold_s=0.3, value="rate")
    assert got is not None
    m, name, bound = got
    assert name == "rpc_seconds_bucket" and bound == 0.25  # 300 ms lies between 250 and 500: the lower bound
    assert m["ts"][0] == T0 - dt.timedelta(minutes=1)  # the sample at 14:00 counts 13:59-14:00
    assert m["total"].to_list() == pytest.approx([120.0] * 3)  # 2 pods x 1/s x 60 s
    assert m["bad"].to_list() == pytest.approx([12.0] * 3)
    assert histogram_minutes(s, threshold_s=0.1) is None  # no bound at or below 100 ms
    assert histogram_minutes(_series("http_p90_seconds", [1.0]), threshold_s=0.3) is None


def test_a_latency_series_of_zeros_sets_no_threshold() -> None:
    assert latency_minutes(_series("http_p90_seconds", [0.0] * 10), metric="http_p90_seconds") is None
    nan = _series("http_p90_seconds", [float("nan")] * 3 + [0.03] * 7)
    got = latency_minutes(nan, metric="http_p90_seconds", threshold_s=0.3)
    assert got is not None  # NaN (no traffic) is no sample: the evidence starts at the first number
    assert got[0]["ts"][0] == T0 + dt.timedelta(minutes=3) and got[0]["total"].to_list() == [1.0] * 7


@pytest.mark.parametrize(
    ("metric", "unit"),
    [
        ("api_latency_ms", 1e-3),
        ("p99 latency (ms)", 1e-3),
        ("rpc_latency_milliseconds", 1e-3),
        ("http_p90_seconds", 1.0),
    ],
)
def test_latency_unit_from_the_name(metric: str, unit: float) -> None:
    assert unit_seconds(metric) == unit
    assert series_kind(metric)[0] == "latency"
