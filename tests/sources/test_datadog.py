"""Datadog loaders: metrics/datadog (v1 query, v2 timeseries), logs/datadog (logs search pages) and
datadog-events (v1/v2 events API; monitor events as alerts). Fixtures: tests/fixtures/datadog (README there)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.errors import SourceError
from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, run

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "datadog"
UTC = dt.UTC


def load(kind: str, fmt: str, path: Path | str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind=kind, format=fmt, path=str(path), **kw))


def attrs(r: LoadResult) -> list[dict[str, Any]]:
    return [json.loads(a) for a in r.frame.get_column("attrs").to_list()]


def counts(r: LoadResult) -> tuple[int, int, int]:
    return r.inputs, r.parsed, r.rejected


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# ------------------------------------------------------------------ sniffing


@pytest.mark.parametrize(
    ("kind", "name", "fmt"),
    [
        ("metrics", "query_v1.json", "datadog"),
        ("metrics", "timeseries_v2.json", "datadog"),
        ("logs", "logs_page1.json", "datadog"),
        ("logs", "logs_page2.json", "datadog"),
        ("logs", "events_v1.json", "datadog-events"),
        ("logs", "events_v2.json", "datadog-events"),
        ("alerts", "events_v1.json", "datadog-events"),
        ("alerts", "events_v2.json", "datadog-events"),
    ],
)
def test_sniffed(kind: str, name: str, fmt: str) -> None:
    assert registry.sniff(kind, textio.head(FIX / name)) == fmt


def test_app_json_lines_are_not_taken_for_datadog() -> None:
    """Application JSON lines with the words Datadog responses use (data, attributes, status, type) stay jsonl."""
    lines = [
        '{"timestamp": "2025-06-15T14:27:03Z", "status": 500, "data": {"cart": 91}, "attributes": {"a": 1}}',
        '{"ts": "2025-06-15T14:27:04Z", "type": "event", "name": "checkout", "level": "info"}',
        '{"ts": "2025-06-15T14:27:05Z", "type": "log", "msg": "hello", "status": "ok"}',
    ]
    for line in lines:
        head = "\n".join([line] * 3)
        assert registry.sniff("logs", head) == "jsonl", line
        assert registry.sniff("alerts", head) != "datadog-events", line


@pytest.mark.real
def test_real_files_are_not_taken_for_datadog(real: Path) -> None:
    """No real third-party file of another format is sniffed as a Datadog one (there are no real Datadog exports
    in ../shared/data/real; the sniffers must leave Prometheus, Alertmanager, PagerDuty... alone)."""
    seen = 0
    for kind, folder in (("metrics", "metrics"), ("logs", "logs"), ("alerts", "alerts"), ("deploys", "deploys")):
        for f in sorted((real / folder).rglob("*")):
            if f.is_file() and f.suffix in (".json", ".jsonl", ".ndjson", ".log", ".csv", ".txt"):
                seen += 1
                assert registry.sniff(kind, textio.head(f)) not in ("datadog", "datadog-events"), f
    assert seen > 20


# ------------------------------------------------------------------ metrics


def test_metrics_v1_query() -> None:
    r = load("metrics", "datadog", FIX / "query_v1.json")
    assert counts(r) == (8, 7, 1)  # 9 points: 7 values, 1 null bucket (not a record), 1 unreadable
    errors = r.frame.filter(pl.col("metric") == "trace.http.request.errors")
    assert errors.get_column("value").to_list() == [2.0, 3.0, 187.0, 41.0]
    assert errors.get_column("ts").to_list()[2] == at("2025-06-15T14:27:00+00:00")
    assert json.loads(errors.get_column("labels")[0]) == {"env": "prod", "service": "checkout"}  # tag_set
    cpu = r.frame.filter(pl.col("metric") == "system.cpu.idle")
    assert json.loads(cpu.get_column("labels")[0]) == {"host": "vagrant-ubuntu-trusty-64"}  # from scope
    assert r.rejects.row(0, named=True)["origin"].endswith("query_v1.json#series[1].pointlist[2]")
    assert "'n/a' is not a number" in r.rejects.get_column("reason")[0]
    assert any("1 null points" in n for n in r.notes)
    assert any("unit error, every 60 s" in n for n in r.notes)


def test_metrics_v2_timeseries() -> None:
    r = load("metrics", "datadog", FIX / "timeseries_v2.json")
    assert counts(r) == (11, 10, 1)
    assert sorted(set(r.frame.get_column("metric"))) == ["timeseries_v2.q0", "timeseries_v2.q1"]
    named = load("metrics", "datadog", FIX / "timeseries_v2.json", options={"metric": ["checkout.p99_ms", "errors"]})
    by = named.frame.group_by("metric").len().sort("metric").rows()
    assert by == [("checkout.p99_ms", 7), ("errors", 3)]
    first = named.frame.row(0, named=True)
    assert (first["ts"], first["value"]) == (at("2025-06-15T14:25:00+00:00"), 120.5)
    assert json.loads(first["labels"]) == {"env": "prod", "service": "checkout"}
    assert "has no time" in r.rejects.get_column("reason")[0]
    with pytest.raises(SourceError, match=r"timeseries_v2\.json: options\.metric names 1 queries; .*query_index \[1\]"):
        load("metrics", "datadog", FIX / "timeseries_v2.json", options={"metric": ["only-one"]})
    with pytest.raises(SourceError, match=r"unknown option"):
        load("metrics", "datadog", FIX / "timeseries_v2.json", options={"metrics": "x"})


def test_metrics_window_count_rule() -> None:
    window = (at("2025-06-15T14:26:00+00:00"), at("2025-06-15T14:27:30+00:00"))
    r = load("metrics", "datadog", FIX / "query_v1.json", window=window)
    assert r.parsed + r.rejected + r.outside == r.inputs == 8
    assert r.parsed == 3 and r.outside == 4  # 14:26 and 14:27 errors, 14:26 cpu


def test_metrics_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "err.json"
    bad.write_text('{"errors": ["Forbidden"]}')
    with pytest.raises(
        SourceError, match=r"err\.json: a Datadog API error response, not metric points: errors: Forbidden"
    ):
        load("metrics", "datadog", bad)
    bad.write_text('{"status": "error", "error": "Error parsing query", "series": []}')
    with pytest.raises(SourceError, match=r"err\.json: the Datadog query failed \(status error\): Error parsing query"):
        load("metrics", "datadog", bad)
    bad.write_text('{"data": {"attributes": {"series": [], "times": {}, "values": []}}}')
    with pytest.raises(SourceError, match=r"err\.json: data\.attributes\.times is not a list"):
        load("metrics", "datadog", bad)
    bad.write_text('{"data": {"type": "scalar_response", "attributes": {"columns": [{"name": "a", "values": [1]}]}}}')
    with pytest.raises(SourceError, match=r"err\.json: a Datadog scalar query response"):
        load("metrics", "datadog", bad)
    bad.write_text('{"hello": 1}')
    with pytest.raises(SourceError, match=r"err\.json: a JSON object with keys \['hello'\]; expected a Datadog"):
        load("metrics", "datadog", bad)


POINT = st.one_of(
    st.tuples(st.integers(1_700_000_000_000, 1_800_000_000_000), st.floats(allow_nan=False) | st.integers(-5, 5)),
    st.tuples(st.integers(1_700_000_000_000, 1_800_000_000_000), st.none()),
    st.sampled_from([["x", 1.0], [1.7e12], "junk", [True, 1], [-5, 1.0], [1.7e12, "3"]]),
)


def _expected_v1(series: list[Any]) -> tuple[int, int]:
    """(parsed, rejected) the loader's documented rules give for generated v1 series."""
    ok = bad = 0
    for s in series:
        if not isinstance(s, dict) or not isinstance(s.get("pointlist"), list):
            bad += 1
            continue
        for p in s["pointlist"]:
            if not isinstance(p, list) or len(p) != 2:
                bad += 1
            elif p[1] is None:
                continue
            elif (
                isinstance(p[0], bool)
                or not isinstance(p[0], int | float)
                or p[0] < 0
                or isinstance(p[1], bool)
                or not isinstance(p[1], int | float)
            ):
                bad += 1
            else:
                ok += 1
    return ok, bad


@settings(max_examples=scaled(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    series=st.lists(
        st.one_of(
            st.builds(
                lambda pts, tags: {
                    "metric": "m",
                    "tag_set": tags,
                    "pointlist": [list(p) if isinstance(p, tuple) else p for p in pts],
                },
                st.lists(POINT, max_size=6),
                st.lists(st.sampled_from(["env:prod", "host", "service:a:b", ""]), max_size=3),
            ),
            st.sampled_from([{"metric": "m"}, "x", {"pointlist": "no"}]),
        ),
        max_size=4,
    )
)
def test_property_metrics_v1_counts(series: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "q.json"
        p.write_text(json.dumps({"series": series}))
        r = load("metrics", "datadog", p)
        assert (r.parsed, r.rejected) == _expected_v1(series)
        assert r.parsed + r.rejected == r.inputs == r.frame.height + r.rejected


@settings(max_examples=scaled(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_times=st.integers(0, 5),
    rows=st.lists(st.lists(st.none() | st.floats(allow_nan=False, allow_infinity=False), max_size=7), max_size=4),
    n_series=st.integers(0, 5),
)
def test_property_metrics_v2_counts(n_times: int, rows: list[list[float | None]], n_series: int) -> None:
    times = [1_750_000_000_000 + 60_000 * i for i in range(n_times)]
    series = [{"group_tags": [f"k:{i}"], "query_index": i % 2} for i in range(n_series)]
    doc = {"data": {"type": "timeseries_response", "attributes": {"series": series, "times": times, "values": rows}}}
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "ts.json"
        p.write_text(json.dumps(doc))
        r = load("metrics", "datadog", p)
    ok = sum(
        1 for i, row in enumerate(rows) if i < n_series for j, v in enumerate(row) if v is not None and j < n_times
    )
    no_time = sum(1 for i, row in enumerate(rows) if i < n_series for j, _ in enumerate(row) if j >= n_times)
    unmatched = abs(len(rows) - n_series)  # a values list without a series, or a series without values
    assert (r.parsed, r.rejected) == (ok, no_time + unmatched)
    assert r.parsed + r.rejected == r.inputs


# ------------------------------------------------------------------ logs


def test_logs_search_pages() -> None:
    r = load("logs", "datadog", str(FIX / "logs_page*.json"))
    assert counts(r) == (7, 5, 2)
    reasons = dict(r.rejects.select("origin", "reason").iter_rows())
    assert reasons[str(FIX / "logs_page1.json") + "#data[3]"] == "log has no attributes.timestamp"
    assert reasons[str(FIX / "logs_page2.json") + "#data[1]"].startswith(
        "duplicate log id AQAAAZdTc0VgAAAAAAAAAAAAAAAAAAAAYWEx (first loaded from"
    )
    rows = {a["id"]: (row, a) for row, a in zip(r.frame.iter_rows(named=True), attrs(r), strict=True)}
    row, a = rows["AQAAAZdTc0VgAAAAAAAAAAAAAAAAAAAAYWEx"]
    assert (row["ts"], row["service"], row["level"], row["actor"]) == (
        at("2025-06-15T14:27:03.120+00:00"),
        "checkout",
        "error",
        "u-1042",
    )
    # Datadog's standard attributes in the names the request analyses read
    assert (a["status"], a["method"], a["path"], a["duration_s"], a["user"]) == (
        500,
        "POST",
        "/api/checkout",
        2.345,
        "u-1042",
    )
    assert (a["env"], a["dd_status"], a["host"], a["ddsource"]) == ("prod", "error", "i-0a1b2c3d", "python")
    assert a["error"]["kind"] == "TimeoutError"  # custom attributes kept
    row, a = rows["AQAAAZdTc0VgAAAAAAAAAAAAAAAAAAAAYWEy"]
    assert (row["level"], row["message"]) == ("warning", "payments client: retrying ⏎ attempt 3 of 3")
    row, a = rows["AQAAAZdTc0VgAAAAAAAAAAAAAAAAAAAAYWEz"]
    assert (row["service"], a["env"]) == ("payments", "staging")  # service from the tag when the field is missing
    row, a = rows["AQAAAZdTc0VgAAAAAAAAAAAAAAAAAAAAYWE1"]
    assert (row["ts"], row["level"], a["status"]) == (at("2025-06-15T14:27:05+00:00"), "critical", 502)  # epoch ms
    row, a = rows["AQAAAZdTc0VgAAAAAAAAAAAAAAAAAAAAYWE2"]
    assert (row["ts"], row["level"], row["message"]) == (at("2025-06-15T12:20:00+00:00"), "info", "deploy hook ran")
    assert any("indexes: foo, bar do not exist" in n for n in r.notes)
    assert not any("next-page cursor" in n for n in r.notes)  # the last page has none
    only_first = load("logs", "datadog", FIX / "logs_page1.json")
    assert any("every page file (1) has a next-page cursor" in n for n in only_first.notes)


def test_logs_window_and_request_rows() -> None:
    window = (at("2025-06-15T14:27:00+00:00"), at("2025-06-15T14:28:00+00:00"))
    r = load("logs", "datadog", str(FIX / "logs_page*.json"), window=window)
    assert r.parsed + r.rejected + r.outside == r.inputs == 7
    assert (r.parsed, r.outside) == (3, 2)


def test_logs_other_shapes(tmp_path: Path) -> None:
    page = json.loads((FIX / "logs_page1.json").read_text())
    (tmp_path / "list.json").write_text(json.dumps(page["data"]))
    r = load("logs", "datadog", tmp_path / "list.json")
    assert counts(r) == (4, 3, 1)
    (tmp_path / "list.json").unlink()
    (tmp_path / "logs.jsonl").write_text("\n".join(json.dumps(x) for x in page["data"]) + "\n{broken\n")
    r = load("logs", "datadog", tmp_path / "logs.jsonl")
    assert counts(r) == (5, 3, 2)
    assert r.rejects.filter(pl.col("origin").str.ends_with("logs.jsonl:5")).height == 1
    v1 = {"logs": [{"id": x["id"], "content": x["attributes"]} for x in page["data"]], "nextLogId": "AQAAAZdT"}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    r = load("logs", "datadog", tmp_path / "v1.json")  # /api/v1/logs-queries/list: content for attributes
    assert counts(r) == (4, 3, 1) and r.rejects.get_column("origin")[0].endswith("v1.json#logs[3]")
    assert any("next-page cursor" in n for n in r.notes)
    (tmp_path / "v1.json").unlink()
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"errors": [{"status": "403", "title": "Forbidden", "detail": "Failed permission authorization checks"}]}'
    )
    with pytest.raises(SourceError, match=r"bad\.json: a Datadog API error response, not logs: .*Failed permission"):
        load("logs", "datadog", bad)
    bad.write_text('{"hits": []}')
    with pytest.raises(SourceError, match=r"bad\.json: an object with keys \['hits'\]; expected a Datadog logs search"):
        load("logs", "datadog", bad)


LOG = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["a", "b", "c"]) | st.integers(0, 2),
        "type": st.just("log"),
        "attributes": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "timestamp": st.sampled_from(
                        ["2025-06-15T14:27:03Z", "2025-06-15T14:27:03.120+02:00", "nope", "", 1749997625000, -1, True]
                    ),
                    "status": st.sampled_from(["error", "warn", "info", "ok", "emerg", "weird", ""]) | st.integers(),
                    "service": st.sampled_from(["checkout", ""]) | st.none(),
                    "message": st.text(max_size=8) | st.none(),
                    "tags": st.lists(st.sampled_from(["env:prod", "service:x", "flag", "", ":"]), max_size=3)
                    | st.text(max_size=3),
                    "attributes": st.dictionaries(
                        st.sampled_from(["http", "duration", "usr", "env", "status"]),
                        st.integers()
                        | st.text(max_size=3)
                        | st.fixed_dictionaries({"status_code": st.integers(100, 599) | st.text(max_size=3)}),
                        max_size=3,
                    ),
                },
            ),
            st.text(max_size=3),
        ),
    },
)


@settings(max_examples=scaled(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(st.lists(st.one_of(LOG, st.integers()), max_size=5), min_size=1, max_size=3))
def test_property_logs_counts(pages: list[list[Any]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        for i, data in enumerate(pages):
            (Path(d) / f"page{i}.json").write_text(json.dumps({"data": data, "meta": {"page": {}}}))
        r = load("logs", "datadog", d)
    assert r.parsed + r.rejected == r.inputs == sum(len(p) for p in pages)
    assert all(
        "duplicate log id" in why or "timestamp" in why or "attributes" in why or "time" in why or "not a log" in why
        for why in r.rejects.get_column("reason")
    )
    loaded_ids = [a.get("id") for a in attrs(r) if "id" in a]
    assert len(loaded_ids) == len(set(loaded_ids))  # an id is loaded once


# ------------------------------------------------------------------ events


def test_events_v1_monitor_alerts_and_logs() -> None:
    r = load("alerts", "datadog-events", FIX / "events_v1.json")
    assert counts(r) == (4, 3, 1)
    assert r.rejects.row(0, named=True)["reason"] == "date_happened: time 'yesterday' is not a number of s"
    rows = list(zip(r.frame.iter_rows(named=True), attrs(r), strict=True))
    fire, a = rows[0]
    assert (fire["ts"], fire["kind"], fire["level"], fire["service"]) == (
        at("2025-06-15T14:27:00+00:00"),
        "alert",
        "critical",
        "checkout",
    )
    assert fire["message"] == "[FIRING] Checkout 5xx rate above 5%: 5xx ratio **0.18** > 0.05 on service:checkout"
    assert (a["event_type"], a["alertname"], a["monitor_state"]) == (
        "firing",
        "Checkout 5xx rate above 5%",
        "Triggered",
    )
    assert a["dedup_key"] == "Checkout 5xx rate above 5%|2025-06-15T14:27:00+00:00|firing"
    res, a = rows[1]
    assert (res["kind"], res["level"], a["event_type"]) == ("alert", "info", "resolved")
    deploy, a = rows[2]
    assert (deploy["kind"], deploy["level"], deploy["message"]) == (
        "log",
        "info",
        "Deployed checkout 4.2.0 (commit 9f3c2d1) to prod by release-bot",
    )
    assert "event_type" not in a and a["env"] == "prod"
    assert any("2 monitor event(s) as alerts, 1 other event(s) as logs" in n for n in r.notes)


def test_events_v2() -> None:
    r = load("logs", "datadog-events", FIX / "events_v2.json")
    assert counts(r) == (3, 3, 0)
    rows = list(zip(r.frame.iter_rows(named=True), attrs(r), strict=True))
    warn, a = rows[0]
    assert (warn["ts"], warn["kind"], warn["level"], warn["service"]) == (
        at("2025-06-15T14:28:00+00:00"),
        "alert",
        "warning",
        "payments",
    )
    assert (a["monitor_id"], a["event_type"], a["evt_type"]) == ("123456789", "firing", "monitor_alert")
    rec, a = rows[1]
    assert (rec["ts"], rec["level"], a["event_type"]) == (at("2025-06-15T14:50:00+00:00"), "info", "resolved")  # ms
    assert a["dedup_key"].startswith("123456789|")
    flag, a = rows[2]
    assert (flag["kind"], flag["service"], flag["message"]) == (
        "log",
        "checkout",
        "Feature flag checkout.new-pricing enabled for 50% of users: changed by bob via LaunchDarkly",
    )


def test_events_single_and_errors(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"event": json.loads((FIX / "events_v1.json").read_text())["events"][0]}))
    r = load("alerts", "datadog-events", one)
    assert counts(r) == (1, 1, 0) and r.frame.get_column("kind").to_list() == ["alert"]
    v2 = json.loads((FIX / "events_v2.json").read_text())
    v2["data"][0]["attributes"]["attributes"]["monitor"]["priority"] = 1
    one.write_text(json.dumps(v2))
    assert load("alerts", "datadog-events", one).frame.get_column("level").to_list()[0] == "critical"  # a P1 monitor
    one.write_text('{"status": "ok"}')
    with pytest.raises(SourceError, match=r"one\.json: an object with keys \['status'\]; expected a Datadog events"):
        load("alerts", "datadog-events", one)


EVENT = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(0, 3),
        "date_happened": st.integers(0, 2_000_000_000) | st.sampled_from(["x", None, -5, 1.5]),
        "title": st.sampled_from(["[Triggered] a", "[P1] [Recovered on {h:x}] a", "[Warn] b", "deploy", "", "[x"])
        | st.integers(),
        "text": st.sampled_from(["%%%\nbody\n%%%", "", "line1\nline2"]) | st.none(),
        "alert_type": st.sampled_from(["error", "warning", "success", "info", "user_update", "odd"]) | st.none(),
        "source_type_name": st.sampled_from(["Monitor Alert", "My Apps", ""]),
        "tags": st.lists(st.sampled_from(["env:prod", "service:a", "monitor"]), max_size=3) | st.none(),
    },
)


@settings(max_examples=scaled(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(st.one_of(EVENT, st.integers()), max_size=6))
def test_property_events_counts(events: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "ev.json"
        p.write_text(json.dumps({"events": events}))
        r = load("alerts", "datadog-events", p)
    assert r.parsed + r.rejected == r.inputs == len(events)
    for row, a in zip(r.frame.iter_rows(named=True), attrs(r), strict=True):
        assert row["kind"] in ("alert", "log")
        if row["kind"] == "alert":
            assert a["event_type"] in ("firing", "resolved") and row["message"].startswith(
                f"[{a['event_type'].upper()}]"
            )
            assert (row["level"] == "info") == (a["event_type"] == "resolved")


def test_logs_reject_reasons_name_the_key(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"data": [{"id": "1", "attributes": {"timestamp": "nope"}}, {"id": "2"}, 3]}))
    r = load("logs", "datadog", f)
    assert (r.inputs, r.parsed, r.rejected) == (3, 0, 3)
    assert r.rejects.select("origin", "reason").rows() == [
        (f"{f}#data[0]", "attributes.timestamp: 'nope' is not an RFC 3339 time"),
        (f"{f}#data[1]", "log has no 'attributes' object (v1: 'content')"),
        (f"{f}#data[2]", "a JSON int, not a log object"),
    ]
