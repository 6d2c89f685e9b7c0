"""Status updates found in chat and PagerDuty, and the cadence kept between them."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from pmkit.analysis import comms
from pmkit.report.notebook import to_html
from pmkit.schema import EVENTS_SCHEMA

UTC = dt.UTC
DAY = dt.date(2025, 6, 15)


def t(h: int, m: int, s: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, h, m, s, tzinfo=UTC)


def events(
    rows: list[tuple[dt.datetime, str]], kind: str = "chat", attrs: list[str | None] | None = None
) -> pl.DataFrame:
    n = len(rows)
    return pl.DataFrame(
        {
            "ts": [r[0] for r in rows],
            "source": ["slack"] * n,
            "kind": [kind] * n,
            "service": [None] * n,
            "level": [None] * n,
            "actor": ["jane-doe"] * n,
            "message": [r[1] for r in rows],
            "attrs": attrs or [None] * n,
            "origin": [f"chat.json:{i}" for i in range(n)],
        },
        schema=EVENTS_SCHEMA,
    )


# The seeds' templates, as they would be posted.
SEED_UPDATES = [
    (
        "header",
        "**[SEV1] Payment Processing — Update #3 (15:00 UTC)**\n\n**Current status:** Mitigated — monitoring for "
        "stability\n**Next update:** 15:30 UTC or sooner if status changes",
    ),
    (
        "incident update",
        "INCIDENT UPDATE - SEV1 - Checkout errors\nTime: 10:45\nStatus: Investigating\nImpact: checkout fails\n"
        "Current Action: scaling the pool\nNext Update: 11:00",
    ),
    (
        "declared",
        "**INCIDENT DECLARED**\n\n**Severity:** SEV1\n**Title:** Payments down\n**Incident Commander:** @jane-doe",
    ),
    ("resolved", "**INCIDENT RESOLVED**\n\n**Duration:** 1 hour 24 minutes\n**Resolution Time:** 15:47 UTC"),
    ("mitigation", "**MITIGATION IN PROGRESS**\n\n**Action:** rollback to v2.14.2\n**Owner:** @sre"),
    (
        "status",
        "**Incident**: INC-20250120-103000\n**Severity**: P0\n**Status**: INVESTIGATING\n**Updated**: 10:45 AM",
    ),
    ("next update", "Still digging into the pool settings. Next update at 11:30."),
    ("next update", "We will provide an update within 30 minutes."),
    ("status page", "**API Service Degraded**\n*Posted: 10:45 AM*\n\nSome users may experience errors."),
    ("status page", "We are currently experiencing issues with checkout.\nOur team is actively investigating."),
    ("status page", "The issues with checkout have been resolved.\n- Duration: 10:00 to 11:15"),
    ("status page", "Status page updated: degraded performance on API"),
    ("resolved", "**RESOLVED: API Service Degraded**\n*Resolved: 11:15 AM | Duration: 1 hour 15 minutes*"),
    ("update", "Update on checkout issues:\n- Impact: errors at checkout"),
    ("update", "Update: rollback complete, error rate dropping"),
    ("update", "status update: order lookups failing since 13:38 UTC, rollback about to start"),
    ("update", "Status update - back to normal since 14:08 UTC, watching"),
    ("update", ":rotating_light: Update #2 - pods healthy again"),
]


@pytest.mark.parametrize(("form", "text"), SEED_UPDATES)
def test_seed_templates_are_status_updates(form: str, text: str) -> None:
    found = comms.status_updates(events([(t(15, 0), text)]))
    assert found.height == 1
    assert found.item(0, "form") == form


@pytest.mark.parametrize(
    "text",
    [
        "looking at the logs now",
        "kubectl rollout status: deployment payments-api successfully rolled out",
        "DNS resolved to 10.0.0.1",
        "I'll update the runbook later",
        "status code 500 everywhere",
        "can someone post an update?",
        "can we get a status update?",
        "who posts the status update to the status page",
        "we should declare this",
    ],
)
def test_ordinary_chat_is_not_a_status_update(text: str) -> None:
    assert comms.status_updates(events([(t(15, 0), text)])).height == 0


def test_only_chat_and_pagerduty_status_updates_count() -> None:
    log = events([(t(15, 0), "Status: resolved")], kind="log")
    pd = events(
        [(t(15, 1), "A fix for this incident is being developed"), (t(15, 2), "Payments API down")],
        kind="page",
        attrs=['{"event_type":"incident.status_update_published"}', '{"event_type":"incident.triggered"}'],
    )
    legacy = events(
        [(t(15, 3), "Rolling back now")], kind="page", attrs=['{"type":"incident_status_update","id":"P2LA89X"}']
    )
    found = comms.status_updates(pl.concat([log, pd, legacy]))
    assert found.get_column("message").to_list() == ["A fix for this incident is being developed", "Rolling back now"]
    assert found.get_column("form").to_list() == ["pagerduty", "pagerduty"]


def test_columns_and_update_numbers() -> None:
    found = comms.status_updates(events([(t(15, 0), SEED_UPDATES[0][1]), (t(15, 5), "Update: still fine")]))
    assert found.columns == ["ts", "source", "kind", "actor", "message", "form", "update_no", "next_update_at"]
    assert found.get_column("update_no").to_list() == [3, None]
    assert found.get_column("actor").to_list() == ["jane-doe", "jane-doe"]


def test_same_update_twice_is_kept_once_and_ordered() -> None:
    found = comms.status_updates(events([(t(15, 30), "Update: b"), (t(15, 0), "Update: a"), (t(15, 0), "Update: a")]))
    assert found.get_column("message").to_list() == ["Update: a", "Update: b"]


@pytest.mark.parametrize(
    ("posted", "text", "promised"),
    [
        (t(15, 0), "**Next update:** 15:30 UTC or sooner if status changes", t(15, 30)),
        (t(10, 45), "**Next Update**: 11:00 AM", t(11, 0)),
        (t(15, 0), "Next update: 3:30 PM", t(15, 30)),
        (t(23, 50), "Next update: 12:05 AM", t(0, 5, day=dt.date(2025, 6, 16))),
        (t(23, 50), "Next update: 00:20 UTC", t(0, 20, day=dt.date(2025, 6, 16))),
        (t(10, 45), "We will provide an update within 30 minutes.", t(11, 15)),
        (t(10, 45), "Update: pool scaled. Next update in 1 hour", t(11, 45)),
        (t(10, 45), "Status: Monitoring. Next update at 11:00Z", t(11, 0)),
        (t(10, 45), "We will provide updates every [30 minutes].", t(11, 15)),
        (t(10, 45), "Update: rolled back within 5 minutes", None),
        (t(10, 45), "Next update at 11:00 EST", None),
        (t(10, 45), "Next Update: [timestamp]", None),
        (t(10, 45), "Update #4 (10:45 UTC): monitoring", None),
    ],
)
def test_next_update_is_parsed_relative_to_the_message(
    posted: dt.datetime, text: str, promised: dt.datetime | None
) -> None:
    found = comms.status_updates(events([(posted, text)]))
    assert found.height == 1
    assert found.item(0, "next_update_at") == promised


def test_empty_events_give_an_empty_frame_with_the_columns() -> None:
    found = comms.status_updates(pl.DataFrame(schema=EVENTS_SCHEMA))
    assert found.height == 0
    assert found.schema == comms.UPDATES_SCHEMA


def test_missing_columns_teach() -> None:
    with pytest.raises(ValueError, match="events frame has no 'message' column"):
        comms.status_updates(pl.DataFrame({"ts": [t(1, 0)], "kind": ["chat"]}))


# --- cadence ---------------------------------------------------------------------------

# declared 14:28, resolved 15:47; a 41-minute silence after the 15:00 update that promised 15:30
TIMELINE = [
    (t(14, 28), "**INCIDENT DECLARED**\n**Severity:** SEV1\n**Next Update:** 14:45 UTC"),
    (t(14, 30), "looking at the logs now"),
    (t(14, 44), "INCIDENT UPDATE - SEV1 - Payments\nStatus: Identified\nNext Update: 15:00"),
    (t(15, 0), SEED_UPDATES[0][1]),
    (t(15, 41), "Update: error rate at baseline"),
    (t(15, 47), "**INCIDENT RESOLVED**\n**Duration:** 84 minutes"),
]


def test_one_long_silence_breaks_the_cadence() -> None:
    r = comms.cadence(events(TIMELINE), dt.timedelta(minutes=30), t(14, 28), t(15, 47))
    assert r.updates.height == 5
    assert r.intervals.get_column("gap_minutes").to_list() == [0.0, 16.0, 16.0, 41.0, 6.0, 0.0]
    assert r.largest_gap == dt.timedelta(minutes=41)
    assert r.kept is False
    assert r.silences.select("start", "end", "gap_minutes", "after", "before").rows() == [
        (t(15, 0), t(15, 41), 41.0, "update #3 at 15:00", "update at 15:41")
    ]
    assert r.broken_promises.select("posted_at", "promised", "actual", "late_minutes").rows() == [
        (t(15, 0), t(15, 30), t(15, 41), 11.0)
    ]
    assert r.promises.get_column("kept").to_list() == [True, True, False]
    assert r.summary() == (
        "not kept: largest gap 41 min (15:00-15:41 UTC, after update #3 at 15:00) exceeds the required 30 min + "
        "2 min grace; 1 silence, 5 status updates; 1 promised update late (promised 15:30, came 15:41)"
    )


def test_the_same_updates_keep_an_hourly_cadence() -> None:
    r = comms.cadence(events(TIMELINE), dt.timedelta(hours=1), t(14, 28), t(15, 47))
    assert r.kept is True
    assert r.silences.height == 0
    assert r.summary().startswith("kept: 5 status updates, largest gap 41 min within the required 60 min + 2 min grace")


def test_grace_is_two_minutes() -> None:
    on_time = comms.cadence(events([(t(14, 17), "Update: a")]), dt.timedelta(minutes=15), t(14, 0), t(14, 17))
    assert on_time.kept is True
    late = comms.cadence(events([(t(14, 17, 30), "Update: a")]), dt.timedelta(minutes=15), t(14, 0), t(14, 17, 30))
    assert late.kept is False
    assert late.largest_gap == dt.timedelta(minutes=17.5)
    strict = comms.cadence(
        events([(t(14, 17), "Update: a")]), dt.timedelta(minutes=15), t(14, 0), t(14, 17), grace=dt.timedelta(0)
    )
    assert strict.kept is False


def test_silence_before_the_first_and_after_the_last_update() -> None:
    rows = [(t(14, 40), "Update: a"), (t(14, 50), "Update: b")]
    r = comms.cadence(events(rows), dt.timedelta(minutes=15), t(14, 0), t(15, 30))
    assert r.silences.select("after", "before", "gap_minutes").rows() == [
        ("start", "update at 14:40", 40.0),
        ("update at 14:50", "end", 40.0),
    ]


def test_no_updates_is_one_silence_from_start_to_end() -> None:
    r = comms.cadence(events([(t(14, 30), "looking")]), dt.timedelta(minutes=30), t(14, 0), t(15, 0))
    assert r.updates.height == 0
    assert r.intervals.select("after", "before", "gap_minutes").rows() == [("start", "end", 60.0)]
    assert r.kept is False
    assert "no status updates between start and end" in r.notes
    # a SEV1/SEV2 cadence (30 min or tighter) owes one update however short the window (issue 11: the gate
    # passed a SEV1 with 0 updates); a 2 h cadence over 20 minutes owes none yet
    short = comms.cadence(events([]), dt.timedelta(minutes=30), t(14, 0), t(14, 20))
    assert short.kept is False
    assert short.summary() == "not kept: no status updates between 14:00 and 14:20 UTC; one is required every 30 min"
    assert comms.cadence(events([]), dt.timedelta(hours=2), t(14, 0), t(14, 20)).kept is True


def test_no_required_cadence_is_always_kept() -> None:
    r = comms.cadence(events(TIMELINE), None, t(14, 28), t(15, 47))
    assert r.kept is True
    assert r.silences.height == 0
    assert r.largest_gap == dt.timedelta(minutes=41)
    assert r.summary() == ("no cadence required; 5 status updates; 1 promised update late (promised 15:30, came 15:41)")


def test_updates_outside_the_window_do_not_count() -> None:
    rows = [(t(13, 0), "Update: before"), (t(14, 10), "Update: in"), (t(16, 0), "Update: after")]
    r = comms.cadence(events(rows), dt.timedelta(minutes=30), t(14, 0), t(14, 20))
    assert r.updates.get_column("message").to_list() == ["Update: in"]
    assert r.kept is True


def test_missing_start_and_end_fall_back_to_the_updates() -> None:
    r = comms.cadence(events(TIMELINE), dt.timedelta(minutes=30), None, None)
    assert (r.start, r.end) == (t(14, 28), t(15, 47))
    assert r.notes == (
        "no start (declared/detected) given: measured from the first update",
        "no end (resolved) given: measured to the last update",
    )
    nothing = comms.cadence(events([]), dt.timedelta(minutes=30), None, None)
    assert (nothing.kept, nothing.largest_gap) == (False, None)
    assert nothing.summary() == "not measured: no status updates and no start/end to measure a silence between"


def test_bad_windows_teach() -> None:
    with pytest.raises(ValueError, match="is before start"):
        comms.cadence(events([]), dt.timedelta(minutes=30), t(15, 0), t(14, 0))
    with pytest.raises(ValueError, match="start 2025-06-15T14:00:00 has no time zone; pass UTC times"):
        comms.cadence(events([]), dt.timedelta(minutes=30), dt.datetime(2025, 6, 15, 14, 0), t(15, 0))


def test_promises_resolved_before_due_are_moot_and_unmet_ones_broken() -> None:
    moot = comms.cadence(events([(t(14, 0), "Update: a. Next update: 14:30")]), None, t(14, 0), t(14, 20))
    assert moot.broken_promises.height == 0
    unmet = comms.cadence(events([(t(14, 0), "Update: a. Next update: 14:30")]), None, t(14, 0), t(15, 0))
    assert unmet.broken_promises.select("promised", "actual", "late_minutes").rows() == [(t(14, 30), None, None)]
    assert unmet.summary().endswith("1 promised update late (promised 14:30, none came)")


def test_cadence_accepts_a_status_updates_frame() -> None:
    updates = comms.status_updates(events(TIMELINE))
    r = comms.cadence(updates, dt.timedelta(minutes=30), t(14, 28), t(15, 47))
    assert r.largest_gap == dt.timedelta(minutes=41)


def test_to_dict_is_json_ready_and_html_escapes() -> None:
    rows = [(t(14, 0), "Update: <b>bold</b>"), (t(14, 50), "Update: again")]
    r = comms.cadence(events(rows), dt.timedelta(minutes=30), t(14, 0), t(15, 0))
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["largest_gap_minutes"] == 50.0
    assert d["silences"][0]["start"] == "2025-06-15T14:00:00Z"
    html = to_html(r)
    assert "not kept" in html
    assert "<b>" not in html
