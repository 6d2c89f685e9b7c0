"""Alert loaders: Alertmanager, Grafana alerting, PagerDuty (synthetic payloads, the real files, properties)."""

from __future__ import annotations

import copy
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
from pmkit.sources.alertcore import alertmanager_fingerprint, severity_level
from pmkit.sources.alerts.pagerduty import normalise_event_type
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.rfc3339 import parse_time_us

UTC = dt.UTC


def load(path: Path | str, fmt: str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind="alerts", format=fmt, path=str(path), **kw))


def attrs(result: LoadResult) -> list[dict[str, Any]]:
    return [json.loads(a) for a in result.frame.get_column("attrs").to_list()]


def us(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# ---------------------------------------------------------------- times and helpers


def test_parse_time_exact_ns_offsets_and_zones() -> None:
    # ns fraction truncated to the microsecond (never rounded), offset applied
    assert parse_time_us("2018-03-07T06:33:21.873077559-05:00") == 1520422401873077
    assert parse_time_us("2019-09-27T16:27:56.612666101Z") == 1569601676612666
    # an offset without colon (Events API v2 docs) and a trailing 'UTC'-free form
    assert parse_time_us("2015-07-17T08:42:58.315+0000") == 1437122578315000
    assert parse_time_us("2017-09-26T15:18:09+00:00") == 1506439089000000
    # naive: UTC unless a zone is given (Berlin is +02:00 in June)
    assert parse_time_us("2025-06-15T14:00:00") == 1749996000000000
    assert parse_time_us("2025-06-15T14:00:00", "Europe/Berlin") == 1749996000000000 - 2 * 3600 * 1_000_000
    for bad in ("yesterday", "2025-13-01T00:00:00Z", "2025-06-15T24:00:00Z", "2025-06-15T10:00:00+25:00", 17, None):
        with pytest.raises(ValueError):
            parse_time_us(bad)


def test_fingerprint_matches_alertmanager() -> None:
    # Labels and fingerprint of a real Alertmanager notification, as posted in
    # liamkelly15-maker/pythonwebhook docker/alert-manager-webhook/testsuites/testcurl7.sh
    labels = {
        "alertname": "Deployment",
        "app_kubernetes_io_instance": "eric-oss-common-base",
        "app_kubernetes_io_managed_by": "Helm",
        "app_kubernetes_io_name": "eric-pm-kube-state-metrics",
        "app_kubernetes_io_version": "2.1.0_10",
        "chart": "eric-pm-kube-state-metrics-2.1.0_10",
        "deployment": "eric-log-transformer",
        "instance": "192.168.69.53:8080",
        "job": "eric-pm-kube-state-metrics",
        "kubernetes_name": "eric-pm-kube-state-metrics",
        "kubernetes_namespace": "eric-eo-cm-ci406",
        "namespace": "eric-eo-cm-ci406",
        "severity": "Warning",
    }
    assert alertmanager_fingerprint(labels) == "fbab788ec4c1018b"
    assert alertmanager_fingerprint({}) == "cbf29ce484222325"  # FNV-1a offset basis: the empty label set


@pytest.mark.parametrize(
    ("severity", "event", "level"),
    [
        ("critical", "firing", "critical"),
        ("PAGE", "firing", "critical"),
        ("major", "firing", "error"),
        ("warning", "firing", "warning"),
        ("info", "firing", "info"),
        (None, "firing", "error"),
        ("whatever", "firing", "error"),
        ("critical", "resolved", "info"),
    ],
)
def test_severity_levels(severity: str | None, event: str, level: str) -> None:
    assert severity_level(severity, event) == level


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("incident.triggered", "triggered"),
        ("incident.acknowledged", "acknowledged"),
        ("incident.responder.added", "responder_added"),
        ("incident.conference_bridge.updated", "conference_bridge_updated"),
        ("service.updated", "service_updated"),
        ("incident.trigger", "triggered"),
        ("incident.assign", "reassigned"),
        ("incident.unacknowledge", "unacknowledged"),
        ("acknowledge", "acknowledged"),
        ("resolve", "resolved"),
    ],
)
def test_event_type_normalisation(raw: str, norm: str) -> None:
    assert normalise_event_type(raw) == norm


# ---------------------------------------------------------------- Alertmanager, synthetic


def am_payload(status: str = "firing", alerts: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="PaymentsAvailabilityBudgetBurn"}',
        "status": status,
        "receiver": "payments-pager",
        "groupLabels": {"alertname": "PaymentsAvailabilityBudgetBurn"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts if alerts is not None else [],
        **extra,
    }


def am_alert(status: str | None = "firing", ends: str = "0001-01-01T00:00:00Z", **labels: str) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {"alertname": "PaymentsAvailabilityBudgetBurn", "severity": "critical", **labels},
        "annotations": {"summary": "Error budget burning 14.4x over 1h"},
        "startsAt": "2025-06-15T14:23:05.123456789+02:00",
        "endsAt": ends,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "0123456789abcdef",
    }
    if status is not None:
        alert["status"] = status
    return alert


def write(path: Path, obj: Any, indent: Any = 2) -> Path:
    path.write_text(json.dumps(obj, indent=indent), encoding="utf-8")
    return path


def test_alertmanager_firing_then_resolved(tmp_path: Path) -> None:
    firing = write(tmp_path / "1.json", am_payload(alerts=[am_alert(service="payments")]))
    resolved = write(
        tmp_path / "2.json",
        am_payload("resolved", alerts=[am_alert("resolved", ends="2025-06-15T12:41:00.5Z", service="payments")]),
    )
    r = load(tmp_path, "alertmanager")
    assert (r.inputs, r.parsed, r.rejected, r.unit) == (2, 2, 0, "alerts")
    f = r.frame
    assert f.get_column("ts").to_list() == [
        us("2025-06-15T12:23:05.123456+00:00"),
        us("2025-06-15T12:23:05.123456+00:00"),
        us("2025-06-15T12:41:00.500000+00:00"),
    ]
    assert f.get_column("kind").unique().to_list() == ["alert"]
    assert f.get_column("service").to_list() == ["payments"] * 3
    assert f.get_column("level").to_list() == ["critical", "critical", "info"]
    assert f.get_column("message").to_list() == [
        "[FIRING] PaymentsAvailabilityBudgetBurn (critical): Error budget burning 14.4x over 1h",
        "[FIRING] PaymentsAvailabilityBudgetBurn (critical): Error budget burning 14.4x over 1h",
        "[RESOLVED] PaymentsAvailabilityBudgetBurn (critical): Error budget burning 14.4x over 1h",
    ]
    a = attrs(r)
    assert [x["event_type"] for x in a] == ["firing", "firing", "resolved"]
    # the firing event repeated by the resolved notification folds with the first one
    assert a[0]["dedup_key"] == a[1]["dedup_key"] == "0123456789abcdef|2025-06-15T12:23:05.123456Z|firing"
    assert a[2]["dedup_key"] == "0123456789abcdef|2025-06-15T12:23:05.123456Z|resolved"
    assert a[0]["endsAt"] == "0001-01-01T00:00:00Z" and a[2]["endsAt"] == "2025-06-15T12:41:00.5Z"
    assert a[0]["receiver"] == "payments-pager" and a[0]["groupKey"].startswith("{}:")
    assert f.get_column("origin").to_list() == [f"{firing}#alerts[0]", f"{resolved}#alerts[0]", f"{resolved}#alerts[0]"]


def test_per_alert_status_wins_over_group(tmp_path: Path) -> None:
    payload = am_payload(
        "firing",
        alerts=[am_alert("firing"), am_alert("resolved", ends="2025-06-15T12:30:00Z", instance="b"), am_alert(None)],
    )
    r = load(write(tmp_path / "p.json", payload), "alertmanager")
    a = attrs(r)
    assert [(x["event_type"], x["status"], x["group_status"]) for x in a] == [
        ("firing", "firing", "firing"),
        ("firing", "resolved", "firing"),
        ("resolved", "resolved", "firing"),
        ("firing", "firing", "firing"),  # no per-alert status: the group's
    ]


def test_resolved_with_zero_ends_has_no_invented_time(tmp_path: Path) -> None:
    r = load(write(tmp_path / "p.json", am_payload("resolved", alerts=[am_alert("resolved")])), "alertmanager")
    assert r.frame.height == 1 and r.parsed == 1
    (a,) = attrs(r)
    assert a["event_type"] == "firing" and a["resolved_at_unknown"] is True
    assert any("resolve time is unknown" in n for n in r.notes)


def test_levels_service_and_summary_fallbacks(tmp_path: Path) -> None:
    alerts = [
        {"status": "firing", "labels": {"alertname": "A", "job": "node", "app": "web"}, "startsAt": "2025-01-01T00:00:00Z"},
        {"status": "firing", "labels": {"alertname": "B", "severity": "warning", "job": "node"},
         "annotations": {"description": "line one\nline two"}, "startsAt": "2025-01-01T00:00:00Z"},
    ]  # fmt: skip
    r = load(write(tmp_path / "p.json", am_payload(alerts=alerts)), "alertmanager")
    assert r.frame.get_column("service").to_list() == ["web", "node"]
    assert r.frame.get_column("level").to_list() == ["error", "warning"]
    assert r.frame.get_column("message").to_list() == ["[FIRING] A", "[FIRING] B (warning): line one ⏎ line two"]
    a = attrs(r)
    assert a[0]["fingerprint_computed"] is True
    assert a[0]["fingerprint"] == alertmanager_fingerprint({"alertname": "A", "job": "node", "app": "web"})


def test_alert_rejects_have_origins_and_reasons(tmp_path: Path) -> None:
    bad_start = am_alert()
    bad_start["startsAt"] = "not a time"
    no_start = am_alert()
    del no_start["startsAt"]
    weird = am_alert("pending")
    p = write(tmp_path / "p.json", am_payload(alerts=[am_alert(), "oops", bad_start, no_start, weird]))
    r = load(p, "alertmanager")
    assert (r.inputs, r.parsed, r.rejected) == (5, 1, 4)
    assert r.rejects.get_column("origin").to_list() == [f"{p}#alerts[{i}]" for i in (1, 2, 3, 4)]
    reasons = r.rejects.get_column("reason").to_list()
    assert reasons[0] == "alert is a JSON str, not an object"
    assert reasons[1] == "startsAt: 'not a time' is not an RFC 3339 time"
    assert reasons[2] == "alert has no startsAt"
    assert reasons[3] == "alert status 'pending' is neither firing nor resolved"
    assert r.rejects.get_column("source").to_list() == ["p"] * 4


def test_tabs_lists_ndjson_and_skipped_files(tmp_path: Path) -> None:
    write(tmp_path / "tabs.json", am_payload(alerts=[am_alert()]), indent="\t")
    write(tmp_path / "list.json", [am_payload(alerts=[am_alert()]), {"no": "alerts"}])
    lines = [json.dumps(am_payload(alerts=[am_alert(), am_alert()])), "{broken", json.dumps(am_payload(alerts=[]))]
    (tmp_path / "log.ndjson").write_text("\n".join(lines) + "\n")
    (tmp_path / "README.md").write_text("# not json")
    r = load(tmp_path, "alertmanager")
    assert (r.inputs, r.parsed, r.rejected) == (6, 4, 2)
    assert sorted(r.rejects.get_column("origin").to_list()) == sorted(
        [f"{tmp_path / 'list.json'}#[1]", f"{tmp_path / 'log.ndjson'}:2"]
    )
    assert "not valid JSON" in r.rejects.filter(pl.col("origin").str.ends_with(":2")).get_column("reason").item()
    assert any("README.md" in n for n in r.notes)


def test_whole_file_problems_raise_source_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"alerts": [')
    with pytest.raises(SourceError, match=r"bad\.json.*not valid JSON.*Alertmanager webhook payload"):
        load(tmp_path / "bad.json", "alertmanager")
    write(tmp_path / "other.json", {"hello": "world"})
    with pytest.raises(SourceError, match=r"other\.json: not an Alertmanager webhook payload: no 'alerts' list"):
        load(tmp_path / "other.json", "alertmanager")
    write(tmp_path / "legacy.json", {"ruleName": "x", "state": "alerting", "evalMatches": []})
    with pytest.raises(SourceError, match="legacy"):
        load(tmp_path / "legacy.json", "grafana-alert")
    with pytest.raises(SourceError, match="unknown option"):
        load(tmp_path / "other.json", "alertmanager", options={"dat": 1})


# Grafana's documented webhook shape (docs: alerting "Configure webhook notifications").
GRAFANA = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
        {
            "status": "resolved",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1", "severity": "warning"},
            "annotations": {"summary": "This alert was triggered for zone eu-1"},
            "startsAt": "2021-10-12T09:56:03.157076+02:00",
            "endsAt": "2021-10-12T10:01:03.157076+02:00",
            "fingerprint": "bc97ff14869b13e3",
            "values": {"B": 44.23943737541908, "C": 1},
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2",
}


def test_grafana_alert(tmp_path: Path) -> None:
    p = write(tmp_path / "grafana.json", GRAFANA)
    r = load(p, "grafana-alert")
    assert (r.inputs, r.parsed, r.rejected) == (2, 2, 0)
    assert r.frame.get_column("ts").to_list() == [
        us("2021-10-12T07:51:03.157076+00:00"),
        us("2021-10-12T07:56:03.157076+00:00"),
        us("2021-10-12T08:01:03.157076+00:00"),
    ]
    assert r.frame.get_column("level").to_list() == ["error", "warning", "info"]
    a = attrs(r)
    assert a[0]["alert_source"] == "grafana" and a[0]["orgId"] == 1 and a[0]["state"] == "alerting"
    assert a[0]["values"] == {"B": 44.23943737541908, "C": 1} and a[0]["silenceURL"].startswith("https://")
    assert a[0]["title"] == "[FIRING:2]  (blue)" and a[0]["fingerprint"] == "c6eadffa33fcdf37"
    assert "fingerprint_computed" not in a[0]
    assert a[2]["dedup_key"] == "bc97ff14869b13e3|2021-10-12T07:56:03.157076Z|resolved"
    # the same payload read as plain Alertmanager gives the same rows
    same = load(p, "alertmanager")
    assert same.frame.drop("attrs").equals(r.frame.drop("attrs"))


def test_sniffing_tells_grafana_from_alertmanager(tmp_path: Path) -> None:
    g = write(tmp_path / "g.json", GRAFANA)
    a = write(tmp_path / "a.json", am_payload(alerts=[am_alert()]))
    assert registry.sniff("alerts", textio.head(g)) == "grafana-alert"
    assert registry.sniff("alerts", textio.head(a)) == "alertmanager"
    r = run(LoadRequest(kind="alerts", format="", path=str(g)))
    assert r.format == "grafana-alert" and any("sniffed" in n for n in r.notes)


# ---------------------------------------------------------------- Alertmanager, real files


@pytest.mark.real
def test_real_alertmanager_files(real: Path) -> None:
    base = real / "alerts" / "alertmanager_webhook"
    expected = {
        "prometheus-msteams/large_prom_post_request.json": 19,
        "prometheus-msteams/prom_post_request.json": 1,
        "prometheus-msteams/prom_post_request_12_alerts.json": 12,
        "prometheus-msteams/prom_post_request_2_alerts.json": 2,
        "prometheus-msteams/prom_post_request_too_many_sections.json": 12,
        "prometheus-msteams/prom_post_request_without_common_summary.json": 1,
        "alertmonitor/firing_icmp_ping_failed.json": 3,
        "alertmonitor/clear_icmp_ping_failed_handedited.json": 3,
    }
    for rel, n in expected.items():
        r = load(base / rel, "alertmanager")
        assert (r.inputs, r.parsed, r.rejected) == (n, n, 0), rel
        assert registry.sniff("alerts", textio.head(base / rel)) == "alertmanager", rel
    everything = load(base, "alertmanager")
    assert (everything.inputs, everything.parsed, everything.rejected) == (53, 53, 0)
    assert any("Testing.md" in n for n in everything.notes)


@pytest.mark.real
def test_real_alertmonitor_firing_and_hand_edited_clear(real: Path) -> None:
    base = real / "alerts" / "alertmanager_webhook" / "alertmonitor"
    firing = load(base / "firing_icmp_ping_failed.json", "alertmanager")
    assert firing.frame.get_column("ts").to_list() == [us("2019-09-27T16:27:56.612666+00:00")] * 3
    assert firing.frame.get_column("message").to_list()[0] == (
        "[FIRING] ICMP ping failed (major): 172.29.254.30 does not reply to ICMP pings"
    )
    assert firing.frame.get_column("service").to_list() == ["blackbox-icmp"] * 3
    assert firing.frame.get_column("level").to_list() == ["error"] * 3
    clear = load(base / "clear_icmp_ping_failed_handedited.json", "alertmanager")
    ca = attrs(clear)
    assert clear.frame.height == 3 and all(x["resolved_at_unknown"] and x["status"] == "resolved" for x in ca)
    assert [x["dedup_key"] for x in ca] == [x["dedup_key"] for x in attrs(firing)]
    assert any("3 resolved alert(s)" in n for n in clear.notes)


@pytest.mark.real
def test_real_msteams_offsets_and_tabs(real: Path) -> None:
    base = real / "alerts" / "alertmanager_webhook" / "prometheus-msteams"
    r = load(base / "prom_post_request.json", "alertmanager")
    assert r.frame.get_column("ts").item() == us("2018-03-07T11:33:21.873077+00:00")
    assert r.frame.get_column("message").item() == "[FIRING] high_memory_load (warning): Server High Memory usage"
    big = load(base / "large_prom_post_request.json", "alertmanager")
    assert big.frame.get_column("level").unique().to_list() == ["critical"]  # severity "page"
    assert big.frame.get_column("origin").to_list()[18].endswith("large_prom_post_request.json#alerts[18]")


# ---------------------------------------------------------------- PagerDuty, synthetic


def v3(event_type: str, data: dict[str, Any], agent: str | None = "Jane Doe", at: str = "2025-06-15T14:31:07.412Z"):
    return {
        "event": {
            "id": "01" + event_type,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": at,
            "agent": {"type": "user_reference", "summary": agent, "id": "PUSER1"} if agent else None,
            "client": None,
            "data": data,
        }
    }


INCIDENT = {
    "id": "PGR0VU2",
    "type": "incident",
    "number": 1234,
    "title": "Checkout 5xx",
    "status": "triggered",
    "urgency": "high",
    "service": {"id": "PSVC", "summary": "checkout"},
    "assignees": [{"summary": "Jane Doe"}],
    "escalation_policy": {"summary": "Payments"},
    "priority": {"summary": "P1"},
}
INCIDENT_REF = {"id": "PGR0VU2", "type": "incident_reference", "summary": "Checkout 5xx"}


def test_pagerduty_v3_events(tmp_path: Path) -> None:
    events = [
        v3("incident.triggered", INCIDENT, agent=None, at="2025-06-15T14:25:00.000Z"),
        v3("incident.acknowledged", {**INCIDENT, "status": "acknowledged"}),
        v3("incident.annotated", {"type": "incident_note", "incident": INCIDENT_REF, "content": "db failover"}),
        v3("incident.responder.added", {"type": "incident_responder", "incident": INCIDENT_REF,
                                        "user": {"summary": "Maeve"}, "message": "help", "state": "pending"}),
        v3("incident.status_update_published", {"type": "incident_status_update", "incident": INCIDENT_REF,
                                                 "message": "Mitigated"}),
        v3("incident.resolved", {**INCIDENT, "status": "resolved", "urgency": "low"}),
    ]  # fmt: skip
    p = write(tmp_path / "events.json", events)
    r = load(p, "pagerduty")
    assert (r.inputs, r.parsed, r.rejected) == (6, 6, 0)
    f = r.frame
    assert f.get_column("kind").unique().to_list() == ["page"]
    assert f.get_column("message").to_list() == [
        "PagerDuty incident #1234 triggered: Checkout 5xx",
        "PagerDuty incident #1234 acknowledged by Jane Doe: Checkout 5xx",
        "PagerDuty incident PGR0VU2 annotated by Jane Doe: Checkout 5xx -- db failover",
        "PagerDuty incident PGR0VU2 responder added by Jane Doe: Checkout 5xx -- Maeve help",
        "PagerDuty incident PGR0VU2 status update published by Jane Doe: Checkout 5xx -- Mitigated",
        "PagerDuty incident #1234 resolved by Jane Doe: Checkout 5xx",
    ]
    assert f.get_column("actor").to_list() == [None] + ["Jane Doe"] * 5
    assert f.get_column("level").to_list() == ["critical", "info", "info", "info", "info", "info"]
    assert f.get_column("service").to_list() == ["checkout", "checkout", None, None, None, "checkout"]
    assert f.get_column("ts").to_list()[:2] == [us("2025-06-15T14:25:00+00:00"), us("2025-06-15T14:31:07.412+00:00")]
    a = attrs(r)
    assert [x["event_type"] for x in a] == [
        "triggered", "acknowledged", "annotated", "responder_added", "status_update_published", "resolved",
    ]  # fmt: skip
    assert a[0]["incident_number"] == 1234 and a[0]["priority"] == "P1" and a[0]["assignees"] == ["Jane Doe"]
    assert a[0]["escalation_policy"] == "Payments" and a[0]["pd_event_type"] == "incident.triggered"
    assert a[2]["note"] == "db failover" and a[4]["status_update"] == "Mitigated"
    assert f.get_column("origin").to_list() == [f"{p}#[{i}]" for i in range(6)]


def test_pagerduty_events_api_change_and_legacy(tmp_path: Path) -> None:
    trigger = {
        "routing_key": "R0UTINGKEYSECRET",
        "event_action": "trigger",
        "dedup_key": "checkout-5xx",
        "payload": {"summary": "5xx > 5%", "source": "prom", "severity": "warning",
                    "timestamp": "2025-06-15T14:24:58.315+0000", "component": "api", "custom_details": {"ratio": 0.07}},
        "client": "Prometheus",
    }  # fmt: skip
    ack = {"routing_key": "R0UTINGKEYSECRET", "event_action": "acknowledge", "dedup_key": "checkout-5xx"}
    change = {
        "routing_key": "R0UTINGKEYSECRET",
        "payload": {"summary": "Deploy v42", "timestamp": "2025-06-15T14:10:00Z", "source": "argo"},
        "links": [{"href": "https://ci/42"}],
    }
    legacy = {
        "messages": [
            {"event": "incident.trigger", "created_on": "2017-09-26T15:14:36Z", "id": "m1",
             "incident": {"incident_number": 33, "title": "My new incident", "urgency": "low",
                          "service": {"name": "Production XDB Cluster"}},
             "log_entries": [{"created_at": "2017-09-26T15:14:36Z", "agent": {"summary": "Laura Haley"}}]},
            {"event": "incident.assign", "id": "m2",
             "incident": {"incident_number": 33, "title": "My new incident",
                          "assignments": [{"assignee": {"summary": "Wiley Jacobson"}}]},
             "log_entries": [{"created_at": "2017-09-26T15:16:05Z", "agent": {"summary": "Laura Haley"}}]},
        ]
    }  # fmt: skip
    (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(x) for x in (trigger, ack, change)) + "\n")
    write(tmp_path / "legacy.json", legacy)
    r = load(tmp_path, "pagerduty")
    assert (r.inputs, r.parsed, r.rejected) == (5, 4, 1)
    assert r.rejects.get_column("origin").item() == f"{tmp_path / 'events.ndjson'}:2"
    assert "no payload.timestamp" in r.rejects.get_column("reason").item()
    f = r.frame
    assert f.get_column("kind").to_list() == ["page", "deploy", "page", "page"]
    assert f.get_column("ts").to_list() == [
        us("2025-06-15T14:24:58.315+00:00"),
        us("2025-06-15T14:10:00+00:00"),
        us("2017-09-26T15:14:36+00:00"),
        us("2017-09-26T15:16:05+00:00"),
    ]
    assert f.get_column("message").to_list() == [
        "PagerDuty alert triggered (warning): 5xx > 5%",
        "Change: Deploy v42 (argo)",
        "PagerDuty incident #33 triggered by Laura Haley: My new incident",
        "PagerDuty incident #33 reassigned by Laura Haley: My new incident -- to Wiley Jacobson",
    ]
    assert f.get_column("level").to_list() == ["warning", "info", "warning", "info"]
    assert f.get_column("service").to_list() == [None, None, "Production XDB Cluster", None]
    assert f.get_column("origin").to_list()[2:] == [f"{tmp_path / 'legacy.json'}#messages[{i}]" for i in (0, 1)]
    a = attrs(r)
    assert a[1]["change_event"] is True and a[1]["event_type"] == "change"
    assert a[0]["dedup_key"] == "checkout-5xx" and a[0]["custom_details"] == {"ratio": 0.07}
    assert all("R0UTINGKEYSECRET" not in x for x in f.get_column("attrs").to_list())  # integration secret dropped


def test_pagerduty_non_events(tmp_path: Path) -> None:
    write(tmp_path / "sub.json", {"webhook_subscription": {"type": "webhook_subscription", "events": []}})
    write(tmp_path / "note.json", {"type": "incident_note", "incident": INCIDENT_REF, "content": "x"})
    write(tmp_path / "ok.json", v3("incident.triggered", INCIDENT))
    r = load(tmp_path, "pagerduty")
    assert (r.inputs, r.parsed, r.rejected) == (3, 1, 2)
    reasons = dict(zip(r.rejects["origin"].to_list(), r.rejects["reason"].to_list(), strict=True))
    assert reasons[str(tmp_path / "sub.json")] == "a webhook subscription object, not an event"
    assert reasons[str(tmp_path / "note.json")].startswith("a PagerDuty incident_note object")
    write(tmp_path / "x.json", {"hello": "world"})
    with pytest.raises(SourceError, match=r"x\.json: not a PagerDuty event"):
        load(tmp_path / "x.json", "pagerduty")
    bad_time = v3("incident.triggered", INCIDENT, at="soon")
    r2 = load(write(tmp_path / "t.json", bad_time), "pagerduty")
    assert r2.rejects.get_column("reason").item() == "occurred_at: 'soon' is not an RFC 3339 time"


# ---------------------------------------------------------------- PagerDuty, real files


@pytest.mark.real
def test_real_pagerduty_docs(real: Path) -> None:
    base = real / "alerts" / "pagerduty_docs" / "extracted"
    r = load(base, "pagerduty")
    assert (r.inputs, r.parsed, r.rejected) == (23, 8, 15)
    by_file = {
        Path(o.split("#")[0]).name: (ts, json.loads(a)["event_type"], actor)
        for o, ts, a, actor in r.frame.select("origin", "ts", "attrs", "actor").iter_rows()
    }
    assert by_file == {
        "events-API-v2-02-Trigger-Events__00_Trigger_raw_with_comment.jsonc": (
            us("2015-07-17T08:42:58.315+00:00"), "triggered", "Sample Monitoring Service"),
        "events-API-v2-03-Change-Events__01_Example_Request_Payload.json": (
            us("2020-07-17T08:42:58.315+00:00"), "change", None),
        "webhooks-v2-09-V2-Overview__01_incident_trigger.json": (
            us("2017-09-26T15:14:36+00:00"), "triggered", "Laura Haley"),
        "webhooks-v2-09-V2-Overview__02_incident_acknowledge.json": (
            us("2017-09-26T15:15:17+00:00"), "acknowledged", "Laura Haley"),
        "webhooks-v2-09-V2-Overview__03_incident_resolve.json": (
            us("2017-09-26T15:18:09+00:00"), "resolved", "Laura Haley"),
        "webhooks-v2-09-V2-Overview__04_incident_assign.json": (
            us("2017-09-26T15:16:05+00:00"), "reassigned", "Laura Haley"),
        "webhooks-v3-01-Overview__02_Webhook_Payload_incident_priority_updated.json": (
            us("2020-10-02T18:45:22.169+00:00"), "priority_updated", "Tenex Engineer"),
        "webhooks-v3-01-Overview__03_Webhook_Payload_service_updated.json": (
            us("2021-03-02T13:35:11.682+00:00"), "service_updated", None),
    }  # fmt: skip
    msgs = dict(zip(r.frame["origin"].map_elements(lambda o: Path(o.split("#")[0]).name, return_dtype=pl.String),
                    r.frame["message"], strict=True))  # fmt: skip
    assert msgs["webhooks-v3-01-Overview__02_Webhook_Payload_incident_priority_updated.json"] == (
        "PagerDuty incident #2 priority updated by Tenex Engineer: A little bump in the road -- priority P1"
    )
    rejected = {Path(o).name: why for o, why in r.rejects.select("origin", "reason").iter_rows()}
    assert rejected["webhooks-v3-01-Overview__01_Webhook_Subscriptions.json"] == (
        "a webhook subscription object, not an event"
    )
    assert "no payload.timestamp" in rejected["events-API-v2-02-Trigger-Events__01_Example_Request_Payloads.json"]
    assert sum("without the event envelope" in why for why in rejected.values()) == 12
    for f in sorted(base.iterdir()):
        one = load(f, "pagerduty")  # every file on its own: parsed or rejected, never an error
        assert one.parsed + one.rejected == one.inputs == 1, f.name
        if f.name in by_file:  # every event file is recognised from its first lines (the .jsonc too)
            assert registry.sniff("alerts", textio.head(f)) == "pagerduty", f.name


# ---------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
TIMES = st.sampled_from(
    [
        "2025-06-15T14:23:05.123456789Z",
        "0001-01-01T00:00:00Z",
        "2015-07-17T08:42:58.315+0000",
        "x",
        "",
        "9999-12-31T23:59:59-23:59",
    ]
)


def slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a JSON document, depth first."""
    found: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        found.append((node, key))
        found.extend(slots(value))
    return found


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """``seed`` with a few values replaced by random JSON (or times) and a few keys dropped."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(0, 4))):
        paths = slots(doc)
        if not paths:
            break
        parent, key = draw(st.sampled_from(paths))
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(st.one_of(JSON, TIMES))
    return doc


SEEDS = {
    "alertmanager": am_payload("resolved", alerts=[am_alert(), am_alert("resolved", ends="2025-06-15T12:41:00Z")]),
    "grafana-alert": GRAFANA,
    "pagerduty": [v3("incident.acknowledged", INCIDENT), {"messages": [{"event": "incident.resolve",
                  "created_on": "2017-09-26T15:18:09Z", "incident": {}}]},
                  {"routing_key": "k", "event_action": "trigger", "payload": {"timestamp": "2025-01-01T00:00:00Z"}}],
}  # fmt: skip


def check_never_crashes(fmt: str, doc: Any, as_lines: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("doc.ndjson" if as_lines else "doc.json")
        if as_lines and isinstance(doc, list):
            path.write_text("\n".join(json.dumps(x) for x in doc) + "\n")
        else:
            path.write_text(json.dumps(doc))
        try:
            r = run(LoadRequest(kind="alerts", format=fmt, path=str(path)))
        except SourceError:
            return
        # run() has already checked the contract and parsed + rejected == inputs
        assert r.parsed + r.rejected == r.inputs


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@settings(max_examples=scaled(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), as_lines=st.booleans())
def test_property_mutated_documents(fmt: str, data: st.DataObject, as_lines: bool) -> None:
    check_never_crashes(fmt, data.draw(mutated(SEEDS[fmt])), as_lines)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@settings(max_examples=scaled(60), deadline=None)
@given(doc=JSON, as_lines=st.booleans())
def test_property_random_documents(fmt: str, doc: Any, as_lines: bool) -> None:
    check_never_crashes(fmt, doc, as_lines)


def test_alerts_that_read_alike_name_their_own_labels(tmp_path: Path) -> None:
    """Four pods crash-looping in one notification: each row says which pod; a lone alert stays short."""
    pods = ["api-1", "api-2"]
    alerts = [
        {"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "pay",
         "pod": pod}, "annotations": {"summary": "Pod is crash looping."}, "startsAt": "2025-01-01T00:00:00Z"}
        for pod in pods
    ] + [
        {"status": "firing", "labels": {"alertname": "Other", "namespace": "pay", "pod": "api-1"},
         "startsAt": "2025-01-01T00:00:00Z"},
    ]  # fmt: skip
    payload = am_payload(alerts=alerts)
    payload["commonLabels"] = {"namespace": "pay"}
    r = load(write(tmp_path / "p.json", payload), "alertmanager")
    assert r.frame.get_column("message").to_list() == [
        "[FIRING] KubePodCrashLooping (warning) pod=api-1: Pod is crash looping.",
        "[FIRING] KubePodCrashLooping (warning) pod=api-2: Pod is crash looping.",
        "[FIRING] Other",
    ]
