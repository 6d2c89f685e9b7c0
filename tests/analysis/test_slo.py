"""SLO arithmetic against the SRE workbook and Sloth oracles."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pmkit.analysis import slo

UTC = dt.UTC


def test_budget_minutes_oracle() -> None:
    assert slo.budget_minutes(99.9, "30d") == pytest.approx(43.2)
    assert slo.budget_minutes(99.9, "28d") == pytest.approx(40.32)
    assert slo.budget_minutes(99.0, "7d") == pytest.approx(100.8)


def test_one_hour_total_outage_uses_about_140_percent() -> None:
    consumed = slo.consumed_by_outage(60, 99.9, "30d")
    assert consumed == pytest.approx(60 / 43.2)
    assert round(consumed, 1) == 1.4


def test_burn_rate_definition() -> None:
    assert slo.burn_rate(0.0144, 99.9) == pytest.approx(14.4)
    assert slo.burn_rate(0.001, 99.9) == pytest.approx(1.0)
    assert slo.burn_rate(0.8, 99.9) == pytest.approx(800.0)


@pytest.mark.parametrize(
    ("period", "factors"),
    [("30d", [14.4, 6.0, 1.0]), ("28d", [13.44, 5.6, 0.9333])],
)
def test_workbook_factors_follow_the_period(period: str, factors: list[float]) -> None:
    got = [a.factor for a in slo.burn_rate_alerts(period)]
    assert got == pytest.approx(factors, abs=1e-4)
    windows = [(a.long_window, a.short_window) for a in slo.burn_rate_alerts(period)]
    assert windows == [
        (dt.timedelta(hours=1), dt.timedelta(minutes=5)),
        (dt.timedelta(hours=6), dt.timedelta(minutes=30)),
        (dt.timedelta(days=3), dt.timedelta(hours=6)),
    ]


def _minutes(error_by_minute: list[float], start: dt.datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [start + dt.timedelta(minutes=i) for i in range(len(error_by_minute))],
            "total": [1000.0] * len(error_by_minute),
            "bad": [1000.0 * e for e in error_by_minute],
        },
        schema={"ts": pl.Datetime("us", "UTC"), "total": pl.Float64, "bad": pl.Float64},
    )


def test_replay_fires_the_fast_alert_at_the_right_minute() -> None:
    start = dt.datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
    # 75 minutes of 0.05% errors, then 80% errors
    errors = [0.0005] * 75 + [0.8] * 20
    fired = slo.replay_alerts(_minutes(errors, start), 99.9, "30d")
    row = fired.filter(pl.col("alert") == "2% in 1h").row(0, named=True)
    # 1h window: 60 minutes holding k bad minutes -> burn = (k*0.8 + (60-k)*0.0005)/60/0.001 > 14.4 once k >= 2
    assert row["fired_at"] == start + dt.timedelta(minutes=76)
    assert row["covered_from"] == start + dt.timedelta(minutes=59) and not row["at_the_latest"]
    assert row["uncovered_at"] is None and row["missing_at"] is None
    # 95 minutes of evidence cannot judge a 3-day window: not fired, and how much history there was
    ticket = fired.filter(pl.col("alert") == "10% in 3d").row(0, named=True)
    assert ticket["fired_at"] is None and ticket["covered_from"] is None
    assert ticket["history"] == dt.timedelta(minutes=95) and ticket["window"] == dt.timedelta(days=3)


def test_a_long_window_the_evidence_does_not_cover_never_fires() -> None:
    """The issue's case: errors from the first minute of evidence. Padding once made the 1 h alert fire at 08:30."""
    start = dt.datetime(2025, 1, 20, 8, 30, tzinfo=UTC)
    errors = [0.05] * 45 + [0.0] * 15  # 5% errors for 45 minutes, 60 minutes of evidence
    fast = slo.replay_alerts(_minutes(errors, start), 99.9).row(0, named=True)
    assert fast["alert"] == "2% in 1h"
    assert fast["covered_from"] == start + dt.timedelta(minutes=59)  # the window [08:30, 09:30) is whole
    assert fast["fired_at"] is None  # by then the 5 min window is quiet
    assert fast["uncovered_at"] == start  # it burned at 50x on the one minute of evidence there was
    assert fast["missing_at"] == dt.timedelta(minutes=59)
    six = slo.replay_alerts(_minutes(errors, start), 99.9).row(1, named=True)
    assert six["covered_from"] is None and six["history"] == dt.timedelta(hours=1)


def test_covered_window_fires_at_the_latest_when_coverage_begins() -> None:
    start = dt.datetime(2025, 1, 20, 9, 30, tzinfo=UTC)
    errors = [0.0] * 45 + [0.8] * 30  # impact from 10:15, the 1 h window is covered from 10:29
    row = slo.replay_alerts(_minutes(errors, start), 99.9).row(0, named=True)
    assert row["fired_at"] == row["covered_from"] == dt.datetime(2025, 1, 20, 10, 29, tzinfo=UTC)
    assert row["at_the_latest"]
    assert row["uncovered_at"] == dt.datetime(2025, 1, 20, 10, 15, tzinfo=UTC)
    assert row["missing_at"] == dt.timedelta(minutes=14)  # its window [09:16, 10:16) lacks 09:16-09:30


def test_firing_before_impact_start_is_reported_as_such() -> None:
    """A background error rate above the factor fires before the impact: vs_impact is negative."""
    start = dt.datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    errors = [0.02] * 180  # 2% errors all along: 20x a 99.9% budget
    impact = dt.datetime(2025, 6, 15, 14, 0, 30, tzinfo=UTC)
    row = slo.replay_alerts(_minutes(errors, start), 99.9, impact_start=impact).row(0, named=True)
    assert row["fired_at"] == start + dt.timedelta(minutes=59)
    assert row["vs_impact"] == -dt.timedelta(minutes=61)  # against the impact start's minute, 14:00
    assert row["vs_page"] is None and row["vs_alert"] is None  # no page, no alert: nothing to compare


def test_page_after_and_no_page() -> None:
    start = dt.datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
    m = _minutes([0.0005] * 75 + [0.8] * 20, start)
    fired = start + dt.timedelta(minutes=76)
    page = fired + dt.timedelta(minutes=3, seconds=30)
    res = slo.evaluate(m, name="a", objective=99.9, first_page=page, impact_start=start + dt.timedelta(minutes=75))
    row = res.alerts.row(0, named=True)
    assert row["vs_page"] == -dt.timedelta(minutes=3, seconds=30)  # the replay beats the real page
    assert row["vs_impact"] == dt.timedelta(minutes=1)
    d = res.to_dict()
    assert d["first_page"] == "2025-01-20T10:19:30Z" and d["burn_rate_alerts"][0]["vs_page"] == -210.0
    alert = start + dt.timedelta(minutes=80)
    res = slo.evaluate(m, name="a", objective=99.9, first_alert=alert)
    assert res.first_page is None and res.to_dict()["first_page"] is None
    assert res.alerts.row(0, named=True)["vs_alert"] == -dt.timedelta(minutes=4)


def test_burn_is_null_until_the_window_is_covered() -> None:
    start = dt.datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
    burn = slo.burn_rate_series(_minutes([0.01] * 90, start), 99.9, [dt.timedelta(hours=1)])
    assert burn["burn_1h"].null_count() == 59 and burn["burn_1h"][59] == pytest.approx(10.0)
    assert burn["seen_1h"][0] == pytest.approx(10.0)  # what the partial evidence showed


def test_no_errors_fire_nothing() -> None:
    start = dt.datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
    fired = slo.replay_alerts(_minutes([0.0] * 120, start), 99.9)
    assert fired["fired_at"].null_count() == 3


def test_minute_counts_fill_gaps() -> None:
    df = pl.DataFrame(
        {
            "ts": [dt.datetime(2025, 1, 1, 0, 0, 10, tzinfo=UTC), dt.datetime(2025, 1, 1, 0, 2, 30, tzinfo=UTC)],
            "total": [1, 1],
            "bad": [1, 0],
        }
    )
    out = slo.minute_counts(df)
    assert out["total"].to_list() == [1.0, 0.0, 1.0]
    assert out["bad"].to_list() == [1.0, 0.0, 0.0]


def test_evaluate_seed_000_shape() -> None:
    """80% errors 10:15-10:35, 2% until 10:45, 0.05% otherwise, 31,000 requests a minute."""
    start = dt.datetime(2025, 1, 20, 9, 45, tzinfo=UTC)
    errors = [0.0005] * 30 + [0.8] * 20 + [0.02] * 10 + [0.0005] * 45
    m = _minutes(errors, start).with_columns(pl.col("total") * 31, pl.col("bad") * 31)
    window = (dt.datetime(2025, 1, 20, 10, 15, tzinfo=UTC), dt.datetime(2025, 1, 20, 10, 45, tzinfo=UTC))
    res = slo.evaluate(
        m, name="availability", objective=99.9, window=window, declared_bad_minutes=45, type="time-slice"
    )
    assert res.budget_minutes == pytest.approx(43.2)
    assert res.time_slice["bad_minutes"] == 30
    assert res.consumed == pytest.approx(30 / 43.2)
    assert res.declared == pytest.approx({"bad_minutes": 45, "consumed": 45 / 43.2, "over_budget_minutes": 1.8})
    # request-based: 20 min x 80% + 10 min x 2% = 16.2 equivalent minutes at the mean rate
    mean_rate = float(m["total"].mean())
    assert res.request_based["equivalent_bad_minutes"] == pytest.approx(31000 * 16.2 / mean_rate)
    # the evidence starts at 09:45: the 1h window is covered from 10:44, when it fires (at the latest); at 10:15
    # it burned faster on the evidence there was (31 minutes), but its window [09:16, 10:16) lacked 29 minutes
    fast = res.alerts.filter(pl.col("alert") == "2% in 1h").row(0, named=True)
    assert fast["fired_at"] == dt.datetime(2025, 1, 20, 10, 44, tzinfo=UTC) and fast["at_the_latest"]
    assert fast["uncovered_at"] == dt.datetime(2025, 1, 20, 10, 15, tzinfo=UTC)
    assert fast["missing_at"] == dt.timedelta(minutes=29)
    d = res.to_dict()
    assert d["budget_minutes"] == 43.2 and d["burn_rate_alerts"][0]["fired_at"] == "2025-01-20T10:44:00Z"
    assert res.time_slice["threshold"] == 0.001


def test_a_short_evidence_window_does_not_fire_long_alerts_on_noise() -> None:
    start = dt.datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
    errors = [0.01] + [0.0] * 59  # one noisy minute right at the start of the evidence
    fired = slo.replay_alerts(_minutes(errors, start), 99.9)
    assert fired["fired_at"].null_count() == 3


def test_remaining_budget_uses_prior_burn() -> None:
    start = dt.datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
    m = _minutes([0.0] * 10 + [1.0] * 10 + [0.0] * 10, start)
    res = slo.evaluate(m, name="a", objective=99.9, type="time-slice", prior_consumed=0.5)
    assert res.consumed == pytest.approx(10 / 43.2)
    assert res.remaining == pytest.approx(1 - 0.5 - 10 / 43.2)


def test_a_latency_time_slice_sli_feeds_budget_and_replay() -> None:
    """A p90 series 100x slower for 20 minutes: 20 bad slices of weight 1, the same figure both ways."""
    from pmkit.analysis.sli_series import latency_minutes

    t0 = dt.datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    vals = [0.03] * 60 + [3.0] * 20 + [0.03] * 40
    s = pl.DataFrame(
        {
            "ts": [t0 + dt.timedelta(minutes=i) for i in range(120)],
            "source": "prom",
            "metric": "http_p90_seconds",
            "labels": "{}",
            "value": vals,
            "origin": "x",
        },
        schema={
            "ts": pl.Datetime("us", "UTC"),
            "source": pl.String,
            "metric": pl.String,
            "labels": pl.String,
            "value": pl.Float64,
            "origin": pl.String,
        },
    )
    got = latency_minutes(s, metric="http_p90_seconds", threshold_s=0.3)
    assert got is not None
    minutes = got[0]
    window = (t0 + dt.timedelta(minutes=60), t0 + dt.timedelta(minutes=80))
    r = slo.evaluate(minutes, name="p90", objective=99.9, type="time-slice", window=window, impact_start=window[0])
    assert r.time_slice["bad_minutes"] == 20
    assert r.consumed == pytest.approx(20 / 43.2)
    assert r.request_based["equivalent_bad_minutes"] == pytest.approx(20.0)  # one event per minute
    # 20 of the last 60 minutes bad burns 333x a 99.9% budget: the 1 h alert judges once an hour is covered
    first = r.alerts.filter(pl.col("alert") == "2% in 1h").row(0, named=True)
    assert first["covered_from"] == t0 + dt.timedelta(minutes=59)
    assert first["fired_at"] == window[0]
