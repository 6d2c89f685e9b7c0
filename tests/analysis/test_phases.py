"""analysis/phases.py on hand-made events: each rule of the module docstring (boundaries from the milestones, the
repair start, monitoring inside repair, tagging by words/time/author, people folded, communication alongside) and
the overrides of ``phases:`` in incident.yaml, with their errors."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmkit.analysis import phases as ph
from pmkit.analysis import response as resp
from pmkit.analysis.milestones import Milestone, Milestones
from pmkit.errors import MilestoneOrderError, SpecError
from pmkit.spec import Phases as PhaseSpec
from pmkit.spec import parse_spec
from tests.frames import at as _t
from tests.frames import events


def milestones(**kw: float | None) -> Milestones:
    names = ("impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved")
    return Milestones(
        tuple(
            Milestone(n, _t(kw[n]), "test") if kw.get(n) is not None else Milestone(n, None, "not found") for n in names
        )
    )


EV = events(
    [
        {"ts": 1, "actor": "sam", "message": "unrelated chatter before the impact"},
        {"ts": 4, "actor": "nina", "message": "Support: we're getting tickets about failed payments"},
        {"ts": 5, "kind": "page", "source": "pd", "actor": "Opsgenie", "attrs": {"event_type": "triggered"}},
        {"ts": 6, "kind": "page", "source": "pd", "actor": "Ana Lima", "attrs": {"event_type": "acknowledged"}},
        {"ts": 6.5, "actor": "alertbot", "message": "rolling back everything"},  # a bot: no action, no repair
        {"ts": 7, "actor": "ana.lima", "message": "ack, looking into it", "attrs": {"real_name": "Ana Lima"}},
        {"ts": 8, "actor": "bo", "message": "the pool is exhausted on every pod"},
        {"ts": 9, "actor": "bo", "message": "should we roll back?"},  # a question: not repair
        {"ts": 10, "actor": "cy", "message": "Status update: investigating failed payments. Next update 09:25"},
        {"ts": 12, "actor": "ana.lima", "message": "Decision: roll back to 2.1 now"},
        {"ts": 13, "actor": "bo", "message": "logs show the old pods draining"},
        {"ts": 20, "actor": "bo", "message": "error rate falling"},
        {"ts": 25, "kind": "page", "source": "pd", "actor": "Cy", "attrs": {"event_type": "status_update_published"}},
        {"ts": 30, "actor": "bo", "message": "watching"},
        {"ts": 40, "kind": "page", "source": "pd", "actor": "Ana Lima", "attrs": {"event_type": "resolved"}},
        {"ts": 42, "actor": "cy", "message": "Resolved: payments are back"},
        {"ts": 43, "actor": "bo", "message": "thanks all"},
        {"ts": 60, "actor": "sam", "message": "long after"},
    ]
)
MS = milestones(impact_start=3, detected=5, acknowledged=6, mitigated=20, resolved=40)


def _phase_of(result: ph.Phases, minute: float) -> tuple[str | None, str | None]:
    row = result.tagged.filter(pl.col("ts") == _t(minute)).row(0, named=True)
    return row["phase"], row["tagged_by"]


def test_sequential_boundaries_follow_the_milestones_and_the_first_repair_move() -> None:
    r = ph.find_phases(EV, MS)
    det, diag, rep = r.span("detection"), r.span("diagnosis"), r.span("repair")
    assert (det["start"], det["end"], det["duration"]) == (_t(3), _t(5), dt.timedelta(minutes=2))
    assert (diag["start"], diag["end"]) == (_t(5), _t(12))  # the decision, not the question at 9
    assert "says a repair move" in diag["end_basis"] and "ana.lima" in diag["end_basis"]
    assert (rep["start"], rep["end"]) == (_t(12), _t(40))
    assert r.monitoring == (_t(20), _t(40)) and r.monitoring_duration == dt.timedelta(minutes=20)
    assert r.span("detection")["start_basis"] == "impact start"


def test_rollback_start_wins_when_earlier_and_mitigation_caps_the_repair_start() -> None:
    r = ph.find_phases(EV, MS, rollback={"start": _t(11), "completed": _t(14)})
    assert r.span("repair")["start"] == _t(11)
    assert r.span("diagnosis")["end_basis"] == "rollback started (deploy evidence)"
    quiet = events([{"ts": 7, "actor": "bo", "message": "looking at the dashboards"}])
    r = ph.find_phases(quiet, MS)
    assert r.span("repair")["start"] == _t(20) and r.span("diagnosis")["end_basis"] == "mitigated"
    # no repair move and no mitigation: repair starts (and ends) at resolution
    r = ph.find_phases(quiet, milestones(impact_start=3, detected=5, resolved=40))
    assert r.span("repair")["start"] == _t(40) and r.span("repair")["duration"] == dt.timedelta(0)
    assert r.monitoring == (None, None)


def test_detection_before_the_impact_start_takes_no_time() -> None:
    r = ph.find_phases(EV, milestones(impact_start=6, detected=5, mitigated=20, resolved=40))
    assert r.span("detection")["duration"] == dt.timedelta(0)
    assert r.span("diagnosis")["start"] == _t(6)
    r = ph.find_phases(EV, milestones(detected=5, resolved=40))  # no impact start
    assert r.span("detection")["start"] == _t(5) and r.span("detection")["duration"] == dt.timedelta(0)


def test_messages_are_tagged_by_words_then_by_time() -> None:
    r = ph.find_phases(EV, MS)
    assert _phase_of(r, 4) == ("detection", "words")  # tickets reported, before detection
    assert _phase_of(r, 6) == ("diagnosis", "time")  # the page acknowledgement
    assert _phase_of(r, 7) == ("diagnosis", "words")
    assert _phase_of(r, 9) == ("diagnosis", "time")  # a question about rolling back is no repair
    assert _phase_of(r, 10) == ("communication", "words")
    assert _phase_of(r, 12) == ("repair", "words")
    assert _phase_of(r, 13) == ("diagnosis", "words")  # diagnosis words during repair
    assert _phase_of(r, 20) == ("repair", "time")
    assert _phase_of(r, 25) == ("communication", "words")  # a status update published on the page
    assert _phase_of(r, 30) == ("repair", "time")  # monitoring is repair
    assert _phase_of(r, 40) == ("repair", "time")  # resolution closes repair, inclusive
    assert _phase_of(r, 42) == ("communication", "words")  # closing words: only communication tags
    assert _phase_of(r, 43) == (None, None)
    assert r.outside == 1
    # outside the window: not tagged at all; bots are no actions
    assert r.tagged.filter(pl.col("ts").is_in([_t(1), _t(60), _t(6.5)])).height == 0


def test_counts_and_people_per_phase() -> None:
    r = ph.find_phases(EV, MS)
    diag = r.span("diagnosis")
    # 6 ack page (Ana Lima), 7 ana.lima (real name Ana Lima), 8 bo, 9 bo, 13 bo (words)
    assert (diag["messages"], diag["actions"]) == (4, 1)
    assert diag["people"] == ["Ana Lima", "bo"]  # ana.lima folded into Ana Lima, named as first seen
    comm = r.span("communication")
    assert (comm["start"], comm["end"]) == (_t(10), _t(42))
    assert (comm["messages"], comm["actions"], comm["people"]) == (2, 1, ["cy"])  # cy and Cy are one person
    assert r.span("detection")["people"] == ["nina"]
    total = sum(r.spans.get_column("messages")) + sum(r.spans.get_column("actions"))
    assert total + r.outside == r.tagged.height
    # the same persons as the responders' rule (people of any phase are responders or reporters)
    people = {p for ps in r.spans.get_column("people").to_list() for p in ps}
    responders = set(resp.response(EV, MS).responders.get_column("person").to_list())
    assert responders <= people


def test_author_overrides_messages_first_match_wins() -> None:
    spec = PhaseSpec.model_validate(
        {
            "messages": [
                {"pattern": "pool is exhausted", "phase": "detection"},
                {"pattern": "(?:EXHAUSTED|falling)", "phase": "repair"},
                {"pattern": "(?-i)WATCHING", "phase": "communication"},  # case-sensitive: "watching" stays
            ]
        }
    )
    r = ph.find_phases(EV, MS, spec=spec)
    assert _phase_of(r, 8) == ("detection", "incident.yaml")
    # "error rate falling" at 20 is put in repair by the author (the repair start stays at the decision)
    assert _phase_of(r, 20) == ("repair", "incident.yaml")
    assert _phase_of(r, 30) == ("repair", "time")
    spec = PhaseSpec.model_validate({"messages": [{"pattern": "the pool", "phase": "repair"}]})
    r = ph.find_phases(EV, MS, spec=spec)
    assert r.span("repair")["start"] == _t(8)
    assert "phases.messages" in r.span("diagnosis")["end_basis"]


def test_author_boundaries() -> None:
    spec = PhaseSpec.model_validate(
        {
            "diagnosis": {"start": _t(6).isoformat(), "end": _t(15).isoformat()},
            "repair": {"end": _t(35).isoformat()},
            "communication": {"start": _t(9).isoformat()},
        }
    )
    r = ph.find_phases(EV, MS, spec=spec)
    assert r.span("detection")["end"] == _t(6) and r.span("diagnosis")["start"] == _t(6)
    assert r.span("repair")["start"] == _t(15) and r.span("repair")["end"] == _t(35)
    assert r.span("repair")["end_basis"] == "set in incident.yaml (phases.repair.end)"
    assert r.span("communication")["start"] == _t(9)
    assert _phase_of(r, 12) == ("repair", "words")  # words still tag the decision


def test_author_boundaries_in_an_impossible_order_are_errors() -> None:
    with pytest.raises(ValueError, match="differ"):
        PhaseSpec.model_validate({"detection": {"end": _t(6).isoformat()}, "diagnosis": {"start": _t(7).isoformat()}})
    with pytest.raises(ValueError, match="is before"):
        PhaseSpec.model_validate({"diagnosis": {"start": _t(9).isoformat()}, "repair": {"start": _t(7).isoformat()}})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        PhaseSpec.model_validate({"messages": [{"pattern": "(unclosed", "phase": "repair"}]})
    with pytest.raises(ValueError, match="phase"):
        PhaseSpec.model_validate({"messages": [{"pattern": "x", "phase": "triage"}]})
    # consistent in itself, but before a milestone-derived boundary: a clear error, not a negative duration
    spec = PhaseSpec.model_validate({"repair": {"start": _t(2).isoformat()}})
    with pytest.raises(MilestoneOrderError, match="repair start"):
        ph.find_phases(EV, MS, spec=spec)


def test_phases_key_in_incident_yaml_names_the_path() -> None:
    with pytest.raises(SpecError, match=r"phases\.repair\.strat"):
        parse_spec({"id": "X", "phases": {"repair": {"strat": "2025-03-01T09:00:00Z"}}})
    with pytest.raises(SpecError, match=r"phases\.messages"):
        parse_spec({"id": "X", "phases": {"messages": [{"pattern": "(", "phase": "repair"}]}})


def test_human_action_expression_is_the_responders_rule() -> None:
    mine = ph.human_actions(EV).get_column("origin").sort().to_list()
    theirs = resp._human_actions(EV).get_column("origin").sort().to_list()
    assert mine == theirs


def test_tag_events_tags_every_event_by_time_and_people_by_their_words() -> None:
    r = ph.find_phases(EV, MS)
    tagged = ph.tag_events(EV, r)
    assert tagged.height == EV.height and tagged.get_column("origin").to_list() == EV.get_column("origin").to_list()
    by_origin = dict(zip(tagged["origin"], tagged["phase"], strict=True))
    assert by_origin["x:2"] == "diagnosis"  # the trigger page: no person's action, by time (at detection)
    assert by_origin["x:4"] == "diagnosis"  # the bot: by time
    assert by_origin["x:8"] == "communication" and by_origin["x:10"] == "diagnosis"  # words, as in result.tagged
    assert by_origin["x:0"] is None and by_origin["x:17"] is None
    mine = r.tagged.select("origin", "phase")
    assert (
        mine.join(tagged.select("origin", pl.col("phase").alias("p2")), on="origin")
        .filter(pl.col("phase").ne_missing(pl.col("p2")))
        .is_empty()
    )


def test_no_events_and_no_milestones() -> None:
    r = ph.find_phases(events([]), milestones())
    assert r.spans.get_column("phase").to_list() == list(ph.PHASES)
    assert r.spans.get_column("start").null_count() == 4 and r.tagged.is_empty()
    assert r.to_dict()["repair"]["seconds"] is None


def test_without_detection_its_end_is_unknown_not_zero() -> None:
    r = ph.find_phases(events([]), milestones(impact_start=3, mitigated=20))
    det = r.span("detection")
    assert det["start"] == _t(3) and det["end"] is None and det["duration"] is None
    assert r.span("diagnosis")["end"] == _t(20) and r.span("repair")["end"] is None
    r = ph.find_phases(events([]), milestones(impact_start=3, acknowledged=7, resolved=30))
    assert r.span("detection")["end"] == _t(7) and "acknowledged" in r.span("detection")["end_basis"]


def test_a_status_update_announcing_the_repair_starts_it_but_stays_communication() -> None:
    ev = events(
        [
            {"ts": 7, "actor": "bo", "message": "looking into it"},
            {"ts": 9, "actor": "cy", "message": "Status update: cause found, rolling back the 2.2 deploy"},
            {"ts": 12, "actor": "bo", "message": "let's roll back"},
        ]
    )
    r = ph.find_phases(ev, MS)
    assert r.span("repair")["start"] == _t(9) and _phase_of(r, 9) == ("communication", "words")
    # the author's tag decides: a message they put in another phase is no repair move
    spec = PhaseSpec.model_validate({"messages": [{"pattern": "cause found", "phase": "diagnosis"}]})
    r = ph.find_phases(ev, MS, spec=spec)
    assert r.span("repair")["start"] == _t(12) and _phase_of(r, 9) == ("diagnosis", "incident.yaml")


WORDS = [
    "looking into it",
    "should we roll back?",
    "rolling back now",
    "status update: investigating",
    "we're getting tickets from customers",
    "ok",
    "not rolling back yet",
    "restarted the pods",
]


@settings(deadline=None, max_examples=60)  # polars per example: no per-example deadline on a shared machine
@given(
    marks=st.lists(st.integers(0, 120), min_size=5, max_size=5),
    msgs=st.lists(
        st.tuples(st.integers(0, 150), st.sampled_from(WORDS), st.sampled_from(["al", "Bo", "bo"])), max_size=25
    ),
    rollback=st.one_of(st.none(), st.integers(0, 150)),
)
def test_properties_of_the_phases(marks: list[int], msgs: list[tuple[int, str, str]], rollback: int | None) -> None:
    """For any ordered milestones, messages and rollback: boundaries in order, the three spans add up to impact
    start -> resolution, every tagged action counted once (or outside), repair starting within its bounds."""
    impact, detected, mitigated, resolved = sorted(marks)[0], sorted(marks)[1], sorted(marks)[3], sorted(marks)[4]
    ms = milestones(impact_start=impact, detected=detected, mitigated=mitigated, resolved=resolved)
    ev = events([{"ts": t, "actor": who, "message": text} for t, text, who in msgs])
    rb = {"start": _t(rollback)} if rollback is not None else None
    r = ph.find_phases(ev, ms, rollback=rb)
    times = [b.ts for b in r.bounds]
    assert all(t is not None for t in times) and times == sorted(times)  # type: ignore[type-var]
    assert times[0] == _t(impact) and times[1] == _t(detected) and times[3] == _t(resolved)
    assert _t(detected) <= times[2] <= _t(mitigated)
    total = sum((d for d in r.spans.head(3).get_column("duration").to_list()), dt.timedelta(0))
    assert total == _t(resolved) - _t(impact)
    counted = int(r.spans.get_column("messages").sum() + r.spans.get_column("actions").sum())
    assert counted + r.outside == r.tagged.height
    inside = ev.filter((pl.col("ts") >= _t(impact)) & (pl.col("ts") <= _t(resolved)))
    assert r.tagged.filter(pl.col("ts") <= _t(resolved)).height == inside.height
    assert r.tagged.filter(pl.col("ts") <= _t(resolved)).get_column("phase").null_count() == 0
    for people in r.spans.get_column("people").to_list():
        assert len({p.lower() for p in people}) == len(people)  # "Bo" and "bo" are one person
