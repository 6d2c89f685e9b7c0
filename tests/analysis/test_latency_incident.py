"""A latency-only incident end to end: every request is 200, durations jump 100x for 20 minutes.

The folder is written here (incident.yaml, a JSON-lines request log, a Prometheus query_range
export with a p90 series); the impact start/end, the SLI's basis and the budget must follow
from it with and without an SLO.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from pmkit.errors import SpecError
from pmkit.incident import Incident
from pmkit.pipeline import Analysis, analyze, good_says_latency
from pmkit.report.document import build

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
SLOW_FROM = T0 + dt.timedelta(minutes=60)  # 11:00
SLOW_TO = T0 + dt.timedelta(minutes=80)  # 11:20 (exclusive)
MINUTES = 120


def _write(folder: Path, *, slos: list[dict[str, Any]] | None, logs: bool, metrics: bool) -> Path:
    rng = random.Random(7)
    sources: list[dict[str, Any]] = []
    if logs:
        lines = []
        for i in range(MINUTES * 30):  # a request every 2 s
            ts = T0 + dt.timedelta(seconds=2 * i)
            ms = rng.lognormvariate(3.0, 0.3)  # about 20 ms
            if SLOW_FROM <= ts < SLOW_TO:
                ms *= 100
            rec = {
                "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "level": "info",
                "msg": "request served",
                "service": "shop",
                "method": "GET",
                "path": f"/api/items/{i}",
                "status": 200,
                "duration_ms": round(ms, 2),
                "user_id": f"u{i % 97}",
            }
            lines.append(json.dumps(rec))
        (folder / "requests.jsonl").write_text("\n".join(lines) + "\n")
        sources.append(
            {
                "name": "web",
                "kind": "logs",
                "format": "jsonl",
                "path": "requests.jsonl",
                "service": "shop",
                "fields": {"ts": "ts", "level": "level", "message": "msg", "service": "service"},
            }
        )
    if metrics:
        values = []
        for i in range(MINUTES):
            ts = T0 + dt.timedelta(minutes=i)
            v = 0.03 * (1 + 0.1 * rng.random())
            if SLOW_FROM <= ts < SLOW_TO:
                v *= 100
            values.append([ts.timestamp(), f"{v:.5f}"])
        doc = {
            "status": "success",
            "data": {"resultType": "matrix", "result": [{"metric": {"job": "shop"}, "values": values}]},
        }
        (folder / "p90.json").write_text(json.dumps(doc))
        sources.append(
            {
                "name": "prom",
                "kind": "metrics",
                "format": "prometheus",
                "path": "p90.json",
                "service": "shop",
                "options": {"metric": "http_p90_seconds"},
            }
        )
    spec: dict[str, Any] = {"id": "INC-LAT-1", "title": "Slow item pages", "services": ["shop"], "sources": sources}
    if slos:
        spec["slos"] = slos
    (folder / "incident.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def _impact_md(a: Analysis) -> str:
    return next(s.markdown for s in build(a).sections if s.key == "impact")


def test_request_log_without_slo_finds_impact_from_latency(tmp_path: Path) -> None:
    a = analyze(Incident.load(_write(tmp_path, slos=None, logs=True, metrics=False)))
    assert a.sli.kind == "latency-requests"
    assert a.window.start == SLOW_FROM and a.window.end == SLOW_TO
    assert a.milestones.impact_start == SLOW_FROM  # the first slow request, 11:00:00
    # mitigated is the last slow request of the incident's run (requests every 2 s): 11:19:58
    assert a.milestones.mitigated == SLOW_TO - dt.timedelta(seconds=2)
    assert a.impact.failed_requests == 600 and a.impact.error_ratio == 1.0  # 20 min x 30 requests, all slow
    assert any("never left their baseline" in r for r in a.sli.reasons)
    assert any("2 x the baseline p99" in r for r in a.sli.reasons)
    # the requests are 200 everywhere: the error SLI alone finds nothing
    assert a.impact.phases.filter(phase="before")["bad"].item() <= 2  # baseline outliers above 2 x p99, if any
    text = _impact_md(a)
    assert (
        "Requests failed or slower than" in text
        and "Endpoints slow or failing (" in text
        and "`GET /api/items/{id}` 600 of 600" in text
    )
    assert "chosen because errors in the request log 'web' never left their baseline" in text


def test_good_condition_on_duration_gives_the_budget(tmp_path: Path) -> None:
    slo = {"name": "fast", "objective": 99, "source": "web", "good": "status < 500 and duration_s < 0.3"}
    a = analyze(Incident.load(_write(tmp_path, slos=[slo], logs=True, metrics=False)))
    assert a.sli.basis == "request log 'web' (3,600 requests)"
    assert a.window.start == SLOW_FROM and a.window.end == SLOW_TO
    r = a.slos[0]
    assert r.request_based["bad_events"] == 600
    assert r.request_based["equivalent_bad_minutes"] == pytest.approx(20.0)  # 600 bad / 30 requests a minute
    assert r.consumed == pytest.approx(20.0 / 432.0)  # 1% of 30 days = 432 minutes
    assert r.time_slice["bad_minutes"] == 20


@pytest.mark.parametrize("good", ["duration_ms < 300", "latency_ms < 300"])
def test_good_condition_in_milliseconds(tmp_path: Path, good: str) -> None:
    slo = {"name": "fast", "objective": 99, "source": "web", "good": good}
    a = analyze(Incident.load(_write(tmp_path, slos=[slo], logs=True, metrics=False)))
    assert a.slos[0].request_based["bad_events"] == 600
    # a condition on the duration is a latency SLO: no request failed, 600 were slower than 300 ms
    assert a.sli.kind == "latency-requests" and a.sli.bad_words == "slower than 300 ms"
    md = build(a).to_markdown()
    assert "- Requests slower than 300 ms: 600 of " in md and "Requests failed" not in md
    assert "distinct ids with at least one request slower than 300 ms" in md
    assert a.milestones["mitigated"].method.startswith("last slow request of the incident")
    assert "first slow request logged by web at 11:00:00" in md and "failure logged by" not in md
    from pmkit.report.figures import incident_figures

    fig = incident_figures(a)["error_ratio"]  # the ratio drawn is the share of slow requests, not errors
    assert fig.layout.title.text == "Share of requests slower than 300 ms per minute (UTC)"
    assert fig.data[0].name == fig.layout.yaxis.title.text == "share of requests slower than 300 ms"


@pytest.mark.parametrize(
    ("good", "words"),
    [
        ("status < 500", None),
        ("duration_s < 0.3", "slower than 300 ms"),
        ("status < 500 and duration_ms <= 250", "failed or slower than 250 ms"),
        ("duration_s < 1 or path = '/export'", "slower than 1 s"),
        ("duration_s between 0 and 1", "not good by the SLO (duration_s between 0 and 1)"),
    ],
)
def test_good_says_latency(good: str, words: str | None) -> None:
    assert good_says_latency(good) == words


def test_latency_key_on_a_request_log(tmp_path: Path) -> None:
    slo = {"name": "fast", "objective": 99, "source": "web", "latency": {"threshold": "300ms"}}
    a = analyze(Incident.load(_write(tmp_path, slos=[slo], logs=True, metrics=False)))
    assert a.sli.kind == "latency-requests" and a.sli.bad_words == "failed or slower than 300 ms"
    assert a.slos[0].request_based["bad_events"] == 600
    assert a.milestones.impact_start == SLOW_FROM


def test_p90_series_alone_without_slo(tmp_path: Path) -> None:
    a = analyze(Incident.load(_write(tmp_path, slos=None, logs=False, metrics=True)))
    assert a.sli.kind == "series"
    assert a.sli.basis.startswith("time slices of metric 'http_p90_seconds' above ")
    assert a.window.start == SLOW_FROM and a.window.end == SLOW_TO
    assert a.impact.failed_requests == 20 and a.impact.total_requests == 20
    assert "there are no request logs or request-count metrics" in a.sli.why
    assert "baseline p99" in a.sli.why
    text = _impact_md(a)
    assert "Minutes bad by the SLI: 20 of 20 minutes" in text
    assert "SLI: time slices of metric" in text


def test_p90_series_with_a_latency_slo(tmp_path: Path) -> None:
    slo = {"name": "p90", "objective": 99.9, "type": "time-slice", "source": "prom", "latency": {"threshold": "0.3s"}}
    a = analyze(Incident.load(_write(tmp_path, slos=[slo], logs=False, metrics=True)))
    assert a.sli.basis == "time slices of metric 'http_p90_seconds' above 300 ms"
    assert a.window.start == SLOW_FROM and a.window.end == SLOW_TO
    r = a.slos[0]
    assert r.time_slice["bad_minutes"] == 20
    assert r.consumed == pytest.approx(20 / 43.2)
    assert r.burn.height == MINUTES  # the burn-rate replay runs on the same minutes
    text = _impact_md(a)
    assert "- Bad minutes (bad share above 0.10%): 20 = 46.3% of the budget" in text
    assert (
        "2% in 1h (14.4x over 1 h and 5 min): would have fired at 11:00 UTC, in the minute of the impact start" in text
    )


def test_errors_flat_latency_moved_with_both(tmp_path: Path) -> None:
    """Request log and p90 series, no SLO: the request log's durations carry the impact."""
    a = analyze(Incident.load(_write(tmp_path, slos=None, logs=True, metrics=True)))
    assert a.sli.kind == "latency-requests" and a.sli.source == "web"
    assert a.window.start == SLOW_FROM and a.window.end == SLOW_TO


def test_success_rate_series_alone(tmp_path: Path) -> None:
    """A success-rate percentage at 99.9 that falls to 40 for 20 minutes: the bad fraction per minute."""
    values = [[(T0 + dt.timedelta(minutes=i)).timestamp(), "40" if 60 <= i < 80 else "99.9"] for i in range(MINUTES)]
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}}
    (tmp_path / "sr.json").write_text(json.dumps(doc))
    src = {"name": "prom", "kind": "metrics", "format": "prometheus", "path": "sr.json"}
    src["options"] = {"metric": "checkout_success_rate_percent"}
    slo = {"name": "availability", "objective": 99.9, "source": "prom"}
    spec = {"id": "INC-SR", "services": ["shop"], "sources": [src], "slos": [slo]}
    (tmp_path / "incident.yaml").write_text(yaml.safe_dump(spec))
    a = analyze(Incident.load(tmp_path))
    assert a.sli.basis == "per-minute error fraction of success-rate metric 'checkout_success_rate_percent'"
    assert a.sli.indicator == "errors"
    assert a.window.start == SLOW_FROM and a.window.end == SLOW_TO
    r = a.slos[0]
    assert r.time_slice["bad_minutes"] == 20  # the baseline's 0.1% is not above a 99.9% SLO's slice threshold
    assert r.request_based["bad_events"] == pytest.approx(12.0)  # 20 minutes at 60% errors
    assert r.consumed == pytest.approx(12.0 / 43.2)


def test_histogram_buckets_with_a_latency_slo(tmp_path: Path) -> None:
    """increase(..._bucket[1m]) by le: requests slower than the bucket at 300 ms are bad."""
    result = []
    for le in ("0.1", "0.3", "1", "+Inf"):
        values = []
        for i in range(MINUTES):
            slow = 60 <= i < 80
            fast = 0 if slow else 30  # each minute 30 requests, all under 100 ms unless slow (then 2-3 s)
            n = 30 if le == "+Inf" else fast
            values.append([(T0 + dt.timedelta(minutes=i + 1)).timestamp(), str(n)])  # the step ending at ts
        result.append({"metric": {"__name__": "http_request_duration_seconds_bucket", "le": le}, "values": values})
    doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    (tmp_path / "hist.json").write_text(json.dumps(doc))
    src = {"name": "prom", "kind": "metrics", "format": "prometheus", "path": "hist.json"}
    slo = {"name": "fast", "objective": 99, "source": "prom", "latency": {"threshold": "400ms"}}
    spec = {"id": "INC-H", "services": ["shop"], "sources": [src], "slos": [slo]}
    (tmp_path / "incident.yaml").write_text(yaml.safe_dump(spec))
    a = analyze(Incident.load(tmp_path))
    assert a.sli.basis == (
        "histogram 'http_request_duration_seconds_bucket' of source 'prom': requests slower than 300 ms are bad"
    )
    assert "the largest bucket bound at or below it is 300 ms" in a.sli.why
    assert a.window.start == SLOW_FROM and a.window.end == SLOW_TO
    r = a.slos[0]
    assert r.request_based["bad_events"] == 600 and r.request_based["total_events"] == 600
    assert r.request_based["equivalent_bad_minutes"] == pytest.approx(20.0)
    assert "Requests slower than 300 ms: 600 of 600" in _impact_md(a)


@pytest.mark.parametrize("good", ["latency < 300", "status <<< 5"])
def test_a_good_condition_that_cannot_run_is_a_spec_error(tmp_path: Path, good: str) -> None:
    slo = {"name": "fast", "objective": 99, "source": "web", "good": good}
    inc = Incident.load(_write(tmp_path, slos=[slo], logs=True, metrics=False))
    with pytest.raises(SpecError) as info:
        analyze(inc)
    (msg,) = info.value.problems
    assert msg.startswith(f"slos[0].good: found {good!r}, which cannot be evaluated")
    assert msg.endswith("e.g. 'status < 500 and duration_s < 0.3'")


def test_slow_is_not_down(tmp_path: Path) -> None:
    """Severity reads a latency SLI as degradation: no complete outage, no 'failed requests'."""
    a = analyze(Incident.load(_write(tmp_path, slos=None, logs=False, metrics=True)))
    assert a.severity.facts.services_down is False
    assert a.severity.facts.failed_requests is None
    assert not any("outage" in r or "failed requests" in r for r in a.severity.reasons)
