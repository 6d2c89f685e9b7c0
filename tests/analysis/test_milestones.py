"""Milestones from events + SLI, overrides, impossible orders; MTTx conventions."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from pmkit import schema
from pmkit.analysis.milestones import find_milestones
from pmkit.analysis.mttx import mttx, mttx_seconds
from pmkit.analysis.sli import ImpactWindow
from pmkit.errors import MilestoneOrderError

UTC = dt.UTC


def at(hm: str, s: int = 0) -> dt.datetime:
    h, m = map(int, hm.split(":"))
    return dt.datetime(2025, 6, 15, h, m, s, tzinfo=UTC)


def ev(ts: dt.datetime, kind: str, message: str, **attrs: object) -> dict[str, object]:
    return {
        "ts": ts,
        "source": kind,
        "kind": kind,
        "service": attrs.pop("service", "payments-api"),
        "level": None,
        "actor": None,
        "message": message,
        "attrs": json.dumps(attrs),
        "origin": f"{kind}:{ts:%H%M}",
    }


EVENTS = pl.DataFrame(
    [
        ev(at("13:50"), "alert", "[FIRING] DiskFull", status="firing", service="batch"),
        ev(at("14:23"), "alert", "[FIRING] PaymentsAvailabilityBudgetBurn", status="firing"),
        ev(at("14:23", 5), "page", "incident triggered", event_type="triggered"),
        ev(at("14:24"), "chat", "looking into it"),
        ev(at("14:25"), "page", "incident acknowledged", event_type="acknowledged"),
        ev(at("14:28"), "chat", "Declaring SEV1 for payments, exec notified"),
        ev(at("14:29"), "page", "priority P1", event_type="priority_updated"),
        ev(at("15:01"), "alert", "[RESOLVED] PaymentsAvailabilityBudgetBurn", status="resolved"),
        ev(at("15:47"), "page", "incident resolved", event_type="resolved"),
    ],
    schema=schema.EVENTS_SCHEMA,
)
IMPACT = ImpactWindow(at("14:19"), at("15:00"), 0.03, 0.005, None, 41, 1.0, at("14:30"), "error ratio above 3.00%")


def test_milestones_from_evidence() -> None:
    first = {"ts": at("14:19", 31), "source": "nginx", "message": "POST /pay 503", "origin": "access.log:1203"}
    ms = find_milestones(EVENTS, impact=IMPACT, first_failure=first, services=["payments-api"])
    assert ms.times() == {
        "impact_start": at("14:19", 31),
        "detected": at("14:23"),
        "acknowledged": at("14:25"),
        "declared": at("14:28"),
        "mitigated": at("15:00"),
        "resolved": at("15:47"),
    }
    assert ms["impact_start"].evidence["origin"] == "access.log:1203"
    assert ms["acknowledged"].method == "first page acknowledgement"
    assert ms["declared"].method == "chat declaration"
    assert not any(m.overridden for m in ms.items)


def test_overrides_win_and_keep_the_inferred_value() -> None:
    ms = find_milestones(EVENTS, impact=IMPACT, overrides={"impact_start": at("14:18")})
    m = ms["impact_start"]
    assert m.ts == at("14:18") and m.overridden and m.inferred == at("14:19")
    assert mttx_seconds(ms)["mttd"] == 5 * 60


def test_impossible_order_is_an_error() -> None:
    with pytest.raises(
        MilestoneOrderError, match=r"resolved 2025-06-15T14:00:00Z \(set by the author in incident.yaml\) is before"
    ):
        find_milestones(EVENTS, impact=IMPACT, overrides={"resolved": at("14:00")})


def test_fallbacks_without_pages_or_sli() -> None:
    chat_only = EVENTS.filter(pl.col("kind") != "page")
    ms = find_milestones(chat_only, impact=None)
    assert ms.impact_start == at("13:50")  # no SLI: first alert, even an unrelated one, and the method says so
    assert ms["impact_start"].method == "no SLI; first alert or page"
    assert ms["acknowledged"].method == "first chat message acknowledging the page"
    assert ms.resolved == at("15:01") and ms["resolved"].method == "last alert resolved"


def test_mttx_conventions() -> None:
    ms = find_milestones(EVENTS, impact=IMPACT)
    s = mttx_seconds(ms)
    assert s == {
        "mttd": 240.0,
        "mtta": 120.0,
        "mttm": 2460.0,
        "mttr": 5280.0,
        "duration": 2460.0,
        "convention": "impact",
    }
    d = mttx_seconds(ms, "detection")
    assert d["mttm"] == 2220.0 and d["mttr"] == 5040.0 and d["mttd"] == 240.0
    assert mttx(ms).height == 1
    with pytest.raises(ValueError, match="expected one of impact, detection"):
        mttx(ms, "wall-clock")


def test_first_firing_skips_resolved_alerts_and_acknowledgements() -> None:
    """Without an SLI the impact starts at the first alert firing or page triggered, for milestones and suspects alike."""
    from pmkit.analysis.milestones import first_firing

    frame = pl.DataFrame(
        [
            ev(at("14:00"), "alert", "[RESOLVED] Old", status="resolved"),
            ev(at("14:05"), "page", "incident acknowledged", event_type="acknowledged"),
            ev(at("14:10"), "alert", "[FIRING] New", status="firing"),
        ],
        schema=schema.EVENTS_SCHEMA,
    )
    row = first_firing(frame)
    assert row is not None and row["ts"] == at("14:10")
    assert find_milestones(frame).items[0].ts == at("14:10")
