"""analysis/response.py on hand-made events: responders (bots out, names folded), escalations, the rollback
decision, the incident channel and its window; and a folder-free incident with nothing but milestones."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pmkit.analysis import response as resp
from pmkit.analysis.milestones import Milestone, Milestones
from tests.frames import at as _t
from tests.frames import events


def milestones(**kw: tuple[float, dict] | None) -> Milestones:
    items = []
    for name in ("impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved"):
        v = kw.get(name)
        items.append(Milestone(name, _t(v[0]), "test", v[1]) if v else Milestone(name, None, "not found"))
    return Milestones(tuple(items))


EV = events(
    [
        {"ts": 1, "actor": "sam", "message": "unrelated chatter before detection", "attrs": {"channel": "ops"}},
        {"ts": 5, "kind": "page", "source": "pd", "actor": "Opsgenie", "attrs": {"event_type": "triggered"}},
        {"ts": 6, "kind": "page", "source": "pd", "actor": "Ana Lima", "attrs": {"event_type": "acknowledged"}},
        {"ts": 6.5, "actor": "alertbot", "message": "Alert firing", "attrs": {"channel": "inc-1"}},
        {"ts": 7, "actor": "PagerDuty", "message": "Acked", "attrs": {"channel": "inc-1", "bot_id": "B1"}},
        {"ts": 7.5, "actor": "ana.lima", "message": "*on it*, _looking_", "attrs": {"channel": "inc-1"}},
        {"ts": 8, "actor": "ana.lima", "message": "@ana.lima has joined the channel", "attrs": {"channel": "inc-1"}},
        {
            "ts": 9,
            "actor": "ana.lima",
            "message": "declaring SEV2, escalating to the db team",
            "attrs": {"channel": "inc-1"},
        },
        {"ts": 10, "kind": "page", "source": "pd", "actor": "Ana Lima", "attrs": {"event_type": "reassigned"}},
        {"ts": 11, "actor": "bo", "message": "let's roll back the 2.1 deploy", "attrs": {"channel": "inc-1"}},
        {"ts": 30, "actor": "bo", "message": "back to normal", "attrs": {"channel": "inc-1"}},
        {"ts": 50, "actor": "sam", "message": "after the window", "attrs": {"channel": "inc-1"}},
    ]
)
MS = milestones(
    impact_start=(3, {}),
    detected=(5, {"kind": "page"}),
    acknowledged=(6, {"kind": "page", "actor": "Ana Lima"}),
    declared=(9, {"kind": "chat", "channel": "inc-1", "actor": "ana.lima"}),
    mitigated=(30, {}),
    resolved=(40, {}),
)


def test_detection_lags() -> None:
    d = resp.detection(EV, MS)
    assert d.time_to_detect == dt.timedelta(minutes=2)
    assert d.first_page is not None and d.first_page["ts"] == _t(5) and d.time_to_page == dt.timedelta(minutes=2)


def test_responders_leave_bots_and_triggers_out_and_fold_names() -> None:
    r = resp.response(EV, MS)
    assert r.responders.get_column("person").to_list() == ["Ana Lima", "bo"]
    assert r.responders.row(0, named=True)["first_ts"] == _t(6)
    assert r.time_to_acknowledge == dt.timedelta(minutes=1) and r.time_to_declare == dt.timedelta(minutes=4)
    assert r.window == (_t(5), _t(40))


def test_joining_the_channel_is_not_an_action() -> None:
    joined = {"ts": 5.5, "actor": "cy", "message": "@cy has joined the channel", "attrs": {"channel": "inc-1"}}
    notice = {
        **joined,
        "actor": "di",
        "message": "<@U1> has joined",
        "attrs": {"channel": "inc-1", "subtype": "channel_join"},
    }
    ev = pl.concat([EV, events([joined, notice])], how="diagonal_relaxed").sort("ts")
    assert resp.response(ev, MS).responders.get_column("person").to_list() == ["Ana Lima", "bo"]


def test_escalations_from_chat_and_page() -> None:
    r = resp.response(EV, MS)
    assert r.escalations.get_column("ts").to_list() == [_t(9), _t(10)]


def test_rollback_decision_is_the_chat_before_the_rollback() -> None:
    rb = {"start": _t(12), "completed": _t(15), "service": "api", "version": "2.0"}
    rec = resp.recovery(EV, MS, rb)
    assert rec.decision is not None and rec.decision["ts"] == _t(11)
    assert rec.rollback_took == dt.timedelta(minutes=3)
    assert rec.time_to_mitigate == dt.timedelta(minutes=27) and rec.time_to_resolve == dt.timedelta(minutes=37)
    early = resp.recovery(EV, MS, {**rb, "start": _t(10.5)})
    assert early.decision is None  # the words came after the rollback started
    assert resp.recovery(EV, MS, None).decision is None


def test_incident_chat_channel_and_window() -> None:
    chat, channels = resp.incident_chat(EV, MS)
    assert channels == ["inc-1"]
    # from impact start to resolution + 5 min, join notices out; bots' messages are part of the record
    assert chat.get_column("ts").to_list() == [_t(6.5), _t(7), _t(7.5), _t(9), _t(11), _t(30)]


def test_no_declaration_channel_means_every_channel() -> None:
    ms = milestones(impact_start=(0, {}), detected=(5, {"kind": "page"}))
    chat, channels = resp.incident_chat(EV, ms)
    assert channels == [] and chat.height == EV.filter(pl.col("kind") == "chat").height - 1  # one join notice


def test_nothing_found() -> None:
    empty = EV.clear()
    ms = milestones()
    d, r, rec = resp.detection(empty, ms), resp.response(empty, ms), resp.recovery(empty, ms, None)
    assert d.time_to_detect is None and d.first_page is None
    assert r.responders.height == 0 and r.escalations.height == 0
    assert rec.rollback is None and rec.time_to_mitigate is None
    assert resp.incident_chat(empty, ms)[0].height == 0


@pytest.mark.parametrize(
    ("message", "escalation"),
    [
        ("paged for checkout 5xx, looking", False),
        ("got paged at 3am for this", False),
        ("I was paged by PagerDuty, on it", False),
        ("paging @db-oncall now", True),
        ("paged alice, she owns the pool config", True),
        ("got paged; pulling in the db team", True),
        ("escalating to the payments team", True),
    ],
)
def test_being_paged_is_not_an_escalation(message: str, escalation: bool) -> None:
    ev = events([{"ts": 6, "actor": "ana", "message": message, "attrs": {"channel": "inc-1"}}])
    assert (resp.response(ev, MS).escalations.height == 1) is escalation
