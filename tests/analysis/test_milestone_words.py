"""Milestones from the words people use in incident channels: a table of real-looking phrasings, said and not said.

Each row is (milestone, message, counts). A message counts when it says the milestone and takes none of it
back (a negation, a question or a hedge): pmkit.vocab.MILESTONE_CHAT through analysis.milestones.chat_says.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from pmkit import schema
from pmkit.analysis.milestones import Milestone, chat_says, evidence_label, find_milestones
from pmkit.analysis.sli import ImpactWindow

UTC = dt.UTC

PHRASES: list[tuple[str, str, bool]] = [
    # --- resolved: said
    ("resolved", "resolved. postmortem owner: carol", True),
    ("resolved", "Resolved — thanks all, great work", True),
    ("resolved", "**RESOLVED: API Service Degraded**", True),
    ("resolved", "all clear, payments are healthy", True),
    ("resolved", "All-clear from the payments side", True),
    ("resolved", "Closing the incident. Postmortem owner @jane, action items in the doc.", True),
    ("resolved", "closing out the incident, thanks everyone", True),
    ("resolved", "Monitoring window complete, incident resolved. Thanks all.", True),
    ("resolved", "INC-2025-0142 resolved at 15:47 UTC. Postmortem within 48h", True),
    ("resolved", "INC-20250120-103000 closed at 11:00 UTC. Postmortem to follow.", True),
    ("resolved", "We're resolved, standing down the bridge", True),
    ("resolved", "this is now fully resolved", True),
    ("resolved", "**Current status:** Resolved", True),
    ("resolved", "marking the incident as resolved in statuspage", True),
    ("resolved", "incident is over, thanks folks", True),
    # --- resolved: not said
    ("resolved", "not resolved yet, still seeing 502s on checkout", False),
    ("resolved", "is it resolved?", False),
    ("resolved", "is the incident resolved yet?", False),
    ("resolved", "it isn't resolved, errors are back", False),
    ("resolved", "hasn't been resolved, reopening", False),
    ("resolved", "should be resolved once the cache warms up", False),
    ("resolved", "let's wait 30 min before closing the incident", False),
    ("resolved", "don't close the incident until the backlog drains", False),
    ("resolved", "can we close the incident?", False),
    ("resolved", "not all clear: EU still failing", False),
    ("resolved", "keep the incident open until billing confirms", False),
    ("resolved", "the DNS name resolved to the old load balancer", False),
    # --- mitigated: said
    ("mitigated", "we're back to normal", True),
    ("mitigated", "error rate back to baseline since 15:00 (<0.5% 5xx). watching.", True),
    ("mitigated", "error rate back at the 0.05% baseline", True),
    ("mitigated", "rolled back and recovered", True),
    ("mitigated", "mitigated by failing over to the secondary region", True),
    ("mitigated", "Mitigation in place: feature flag off", True),
    ("mitigated", "**Current status:** Mitigated — monitoring for stability", True),
    ("mitigated", "service restored after the rollback", True),
    ("mitigated", "5xx have stopped since 14:47", True),
    ("mitigated", "checkout is healthy again", True),
    # --- mitigated: not said
    ("mitigated", "not mitigated yet, rollback still in progress", False),
    ("mitigated", "we're not back to normal, p95 still 4s", False),
    ("mitigated", "are we back to normal?", False),
    ("mitigated", "is it mitigated?", False),
    ("mitigated", "should be back to normal in ~10 min once the pods restart", False),
    ("mitigated", "hopefully recovered after the restart, checking", False),
    ("mitigated", "not fully recovered, EU still at 20% errors", False),
    ("mitigated", "partially mitigated: reads work, writes still fail", False),
    ("mitigated", "recovered the lost messages from the DLQ", False),
    ("mitigated", "rolling back to v2.14.2 now", False),
    # --- declared: said
    ("declared", "declaring a SEV2 for checkout latency", True),
    ("declared", "Declaring *SEV1* for payment processing. I'm IC.", True),
    ("declared", "I'm IC for this one", True),
    ("declared", "I am incident commander, @raj ops lead", True),
    ("declared", "starting an incident for the login failures", True),
    ("declared", "P0 declared for api", True),
    ("declared", "this is a SEV1, paging leadership", True),
    ("declared", "escalating to SEV1: all regions affected", True),
    ("declared", "severity: SEV2", True),
    # --- declared: not said
    ("declared", "should we declare a SEV2?", False),
    ("declared", "is this a SEV1?", False),
    ("declared", "not declaring yet, looks like a blip", False),
    ("declared", "this isn't a P0, only the admin UI is slow", False),
    ("declared", "no need to declare, it's staging", False),
    ("declared", "if it keeps going we'll declare a SEV3", False),
    ("declared", "who is IC?", False),
    ("declared", "opening the incident review doc for Thursday", False),
    # --- acknowledged: said
    ("acknowledged", "ack — looking into it", True),
    ("acknowledged", "on it", True),
    ("acknowledged", "I've got this, checking the dashboards", True),
    ("acknowledged", "taking a look now", True),
    ("acknowledged", "Acknowledged by Raj Patel: #4821 [FIRING:1] PaymentsAvailabilityBudgetBurn", True),
    # --- acknowledged: not said
    ("acknowledged", "can someone ack?", False),
    ("acknowledged", "please ack the page", False),
    ("acknowledged", "nobody has acked the page yet", False),
    ("acknowledged", "who's looking into this?", False),
    ("acknowledged", "SYN-ACK timeouts from the LB to the pods", False),
]


def says(milestone: str, message: str) -> bool:
    frame = pl.DataFrame({"message": [message]})
    return bool(frame.select(chat_says(milestone)).item())


@pytest.mark.parametrize(("milestone", "message", "counts"), PHRASES)
def test_phrase(milestone: str, message: str, counts: bool) -> None:
    assert says(milestone, message) is counts, (milestone, message)


def test_the_table_is_big_and_balanced() -> None:
    assert len(PHRASES) >= 40
    assert sum(c for _, _, c in PHRASES) >= 20 and sum(not c for _, _, c in PHRASES) >= 20
    assert {m for m, _, _ in PHRASES} == {"acknowledged", "declared", "mitigated", "resolved"}


def at(hm: str, s: int = 0) -> dt.datetime:
    h, m = map(int, hm.split(":"))
    return dt.datetime(2025, 6, 15, h, m, s, tzinfo=UTC)


def chat(ts: dt.datetime, actor: str, message: str, channel: str = "inc-payments") -> dict[str, object]:
    return {
        "ts": ts,
        "source": "slack",
        "kind": "chat",
        "service": None,
        "level": None,
        "actor": actor,
        "message": message,
        "attrs": json.dumps({"channel": channel}),
        "origin": f"chat/{channel}.json#{ts:%H%M%S}",
    }


def alert(ts: dt.datetime, name: str, status: str = "firing") -> dict[str, object]:
    return {
        "ts": ts,
        "source": "alertmanager",
        "kind": "alert",
        "service": "payments-api",
        "level": None,
        "actor": None,
        "message": f"[{status.upper()}] {name}",
        "attrs": json.dumps({"alertname": name, "status": status}),
        "origin": f"alerts/{name}.json",
    }


def test_an_incident_told_in_chat_only() -> None:
    """No pages: acknowledgement, declaration, mitigation and resolution come from what people wrote."""
    events = pl.DataFrame(
        [
            alert(at("14:20", 5), "PaymentsAvailabilityBudgetBurn"),
            chat(at("14:21"), "bob", "can someone ack?"),
            chat(at("14:22", 10), "alice", "on it"),
            chat(at("14:24"), "bob", "should we declare a SEV2?"),
            chat(at("14:25", 30), "alice", "declaring a SEV2, I'm IC"),
            chat(at("14:40"), "bob", "is it resolved?"),
            chat(at("14:41"), "alice", "not resolved yet, rolling back"),
            chat(at("14:52"), "alice", "rolled back and recovered"),
            chat(at("14:58", 3), "alice", "resolved. postmortem owner: carol"),
        ],
        schema=schema.EVENTS_SCHEMA,
    )
    ms = find_milestones(events, impact=None, services=["payments-api"])
    assert ms.times() == {
        "impact_start": at("14:20", 5),
        "detected": at("14:20", 5),
        "acknowledged": at("14:22", 10),
        "declared": at("14:25", 30),
        "mitigated": at("14:52"),
        "resolved": at("14:58", 3),
    }
    assert evidence_label(ms["resolved"]) == "chat #inc-payments, alice, 14:58:03"
    assert evidence_label(ms["detected"]) == "alert PaymentsAvailabilityBudgetBurn (alertmanager), 14:20:05"


def test_every_label_names_its_source() -> None:
    impact = ImpactWindow(at("14:19"), at("15:00"), 0.03, 0.005, None, 41, 1.0, at("14:30"), "error ratio above 3%")
    first = {"ts": at("14:19", 23), "source": "nginx", "kind": "log", "message": "GET /healthz 503", "origin": "a:1"}
    page = {
        "ts": at("14:25", 2),
        "source": "pagerduty",
        "kind": "page",
        "service": "payments-api",
        "level": None,
        "actor": "Raj Patel",
        "message": "PagerDuty incident #4821 acknowledged by Raj Patel",
        "attrs": json.dumps({"event_type": "acknowledged", "incident_number": 4821}),
        "origin": "pd/02.json",
    }
    events = pl.DataFrame([alert(at("14:23", 1), "PaymentsAvailabilityBudgetBurn"), page], schema=schema.EVENTS_SCHEMA)
    ms = find_milestones(
        events,
        impact=impact,
        first_failure=first,
        sli="request log 'nginx'",
        overrides={"resolved": at("16:00")},
    )
    labels = {m.name: evidence_label(m) for m in ms.items}
    assert labels == {
        "impact_start": "the SLI (request log 'nginx'), first failure logged by nginx at 14:19:23",
        "detected": "alert PaymentsAvailabilityBudgetBurn (alertmanager), 14:23:01",
        "acknowledged": "page #4821 acknowledged (pagerduty), Raj Patel, 14:25:02",
        "declared": "not found in the evidence",
        "mitigated": "the SLI (request log 'nginx')",
        "resolved": "nothing inferred from the evidence",
    }
    assert ms["resolved"].method == "set by the author in incident.yaml"


def test_an_override_says_so_once_and_keeps_what_the_evidence_gives() -> None:
    m = Milestone("declared", at("14:30"), "set by the author in incident.yaml", {}, True, None)
    inferred = Milestone(
        "declared",
        at("14:30"),
        "set by the author in incident.yaml",
        {"source": "slack", "kind": "chat", "actor": "alice", "channel": "inc-payments", "origin": "c#3"},
        True,
        at("14:28", 5),
    )
    assert evidence_label(m) == "nothing inferred from the evidence"
    assert evidence_label(inferred) == "inferred 14:28:05 from chat #inc-payments, alice, 14:28:05"
    assert "incident.yaml" not in evidence_label(inferred)


@pytest.mark.parametrize(
    ("source", "label"),
    [("chat", "chat, erin, 13:51:40"), ("bridge-notes", "chat bridge-notes, erin, 13:51:40")],
)
def test_a_transcript_without_channel_is_labelled_once(source: str, label: str) -> None:
    """A plain transcript names no channel: "chat, erin", never "chat chat, erin"."""
    ev = {"source": source, "kind": "chat", "actor": "erin", "origin": "chat/t.txt:2"}
    assert evidence_label(Milestone("declared", at("13:51", 40), "chat declaration", ev, False, None)) == label
