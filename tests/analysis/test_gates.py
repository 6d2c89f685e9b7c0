"""seeds/004's Quality Gate: a spec that passes every gate, and one broken copy per gate."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from pmkit.analysis import claims, comms, gates
from pmkit.report.notebook import to_html
from pmkit.schema import EVENTS_SCHEMA
from pmkit.spec import IncidentSpec, parse_spec

UTC = dt.UTC


def t(h: int, m: int) -> dt.datetime:
    return dt.datetime(2025, 6, 15, h, m, tzinfo=UTC)


GOOD: dict[str, Any] = {
    "id": "INC-2025-0142",
    "title": "Payment processing failures",
    "severity": "SEV1",
    "runbook": "runbooks/payments-api.md",
    "roles": {"incident_commander": "@jane-doe", "comms": "@sam-lee"},
    "narrative": {
        "root_cause": "Deploy v2.14.3 changed DB_MAX_CONNS from 50 to 5 (a typo during a config refactor); "
        "under load the pool was exhausted and payments-api pods crashed.",
        "contributing_factors": [
            "Env var naming (DB_MAX_CONNS vs DB_MAX_IDLE_CONNS) is error-prone",
            "Canary checks owned by @payments-team only look at HTTP 200 rate",
            "The pods failed to start once the pool was exhausted",
        ],
    },
    "five_whys": [
        {"why": "Why did payments fail?", "answer": "Connection pool exhausted.", "would_still_happen": True},
        {"why": "Why was the pool exhausted?", "answer": "Max connections set to 5.", "would_still_happen": True},
        {"why": "Why was it set to 5?", "answer": "A typo in an env var refactor.", "would_still_happen": True},
        {"why": "Why wasn't the typo caught?", "answer": "No test checks pool size.", "would_still_happen": False},
    ],
    "action_items": [
        {"action": "Add integration test validating connection pool size", "owner": "@backend", "due": "2025-06-22"},
        {"action": "Add canary checking transaction success rate", "owner": "@sre", "due": "2025-06-20"},
    ],
}
MILESTONES = {"detected": t(14, 23), "declared": t(14, 28), "mitigated": t(14, 42), "resolved": t(15, 47)}
PEOPLE = ["jane-doe", "Jane Doe", "sam-lee", "Sam", "bob", "Will"]


def chat(rows: list[tuple[dt.datetime, str]], actor: str = "jane-doe") -> pl.DataFrame:
    n = len(rows)
    return pl.DataFrame(
        {
            "ts": [r[0] for r in rows],
            "source": ["slack"] * n,
            "kind": ["chat"] * n,
            "service": [None] * n,
            "level": [None] * n,
            "actor": [actor] * n,
            "message": [r[1] for r in rows],
            "attrs": [None] * n,
            "origin": [f"c:{i}" for i in range(n)],
        },
        schema=EVENTS_SCHEMA,
    )


# updates every 15 minutes from declared to resolved
EVERY_15 = chat(
    [(t(14, 28) + dt.timedelta(minutes=15 * i), f"Update #{i + 1}: status: investigating") for i in range(6)]
)


def spec_with(changes: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> IncidentSpec:
    """A copy of GOOD with top-level or ``a.b`` keys replaced or dropped."""
    data = copy.deepcopy(GOOD)
    for key, value in (changes or {}).items():
        target = data
        *path, last = key.split(".")
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    for key in drop:
        data.pop(key, None)
    return parse_spec(data)


LOADED = pl.DataFrame(
    {"source": ["slack"], "kind": ["chat"], "inputs": [6], "unit": ["messages"], "rejected": [0], "rows": [6]}
)
AGREED = claims.Reconciliation(())  # no figures stated


def run(spec: IncidentSpec | None = None, **kw: Any) -> gates.GateReport:
    args: dict[str, Any] = {
        "people": PEOPLE,
        "cadence": None,
        "milestones": MILESTONES,
        "events": EVERY_15,
        "load_report": LOADED,
        "figures": AGREED,
    }
    args.update(kw)
    return gates.check(spec or spec_with(), **args)


def test_a_good_postmortem_passes_every_gate() -> None:
    report = run()
    assert report.ok, report.to_text()
    assert report.failed == []
    assert report.to_text() == "\n".join(
        [
            "PASS evidence: 6 events and 0 metric samples loaded from 1 of 1 sources",
            "PASS severity: SEV1 declared",
            "PASS utc_timeline: detected 14:23, declared 14:28, mitigated 14:42, resolved 15:47 UTC",
            "PASS action_items: 2 action items, each with an owner and a due date",
            "PASS blameless: root cause, contributing factors and 5 Whys name no person and use no blame phrasing",
            "PASS root_cause: written: 'Deploy v2.14.3 changed DB_MAX_CONNS from 50 to 5 (a typo du…'",
            "PASS five_whys: 4 levels answered; root cause at level 4",
            "PASS cadence: kept: 6 status updates, largest gap 15 min within the required 15 min + 2 min grace",
            "PASS runbook: runbook noted: runbooks/payments-api.md",
            "PASS figures_agree: no figures stated in the narrative, status updates or severity",
        ]
    )


def the_one_failure(report: gates.GateReport) -> gates.Gate:
    """The single failed gate of a report where exactly one gate must fail."""
    assert len(report.failed) == 1, report.to_text()
    return report.failed[0]


# --- severity --------------------------------------------------------------------------


def test_severity_missing() -> None:
    gate = the_one_failure(
        run(spec_with(drop=("severity",)), events=None, cadence=comms.cadence(EVERY_15, None, t(14, 28), t(15, 47)))
    )
    assert (
        gate.to_text() == "FAIL severity: no severity declared; set severity: to SEV1..SEV4 or P0..P3 in incident.yaml"
    )


def test_severity_not_a_level() -> None:
    report = run(spec_with({"severity": "critical"}))
    assert report["severity"].why == "severity 'critical' is not a level; expected SEV1..SEV4 or P0..P3 (e.g. SEV1)"
    # without a valid level the cadence cannot be measured either
    assert report["cadence"].why == "cannot measure the cadence: no valid severity declared to set the interval"
    assert [g.id for g in report.failed] == ["severity", "cadence"]


def test_p_levels_are_accepted() -> None:
    assert run(spec_with({"severity": "p0"}))["severity"].why == "P0 declared"


# --- utc_timeline ----------------------------------------------------------------------


def test_timeline_missing_milestones() -> None:
    ms = {"detected": t(14, 23), "declared": None, "mitigated": None, "resolved": t(15, 47)}
    report = run(milestones=ms, cadence=comms.cadence(EVERY_15, dt.timedelta(minutes=15), t(14, 28), t(15, 47)))
    gate = the_one_failure(report)
    assert gate.to_text() == (
        "FAIL utc_timeline: missing declared, mitigated: set them under milestones: in incident.yaml as UTC times "
        "(2025-06-15T14:23:00Z) or add the evidence"
    )


def test_timeline_spec_overrides_fill_and_win() -> None:
    spec = spec_with({"milestones": {"declared": "2025-06-15T14:28:00Z", "mitigated": "2025-06-15T14:45:00+00:00"}})
    ms = {"detected": t(14, 23), "declared": None, "mitigated": t(14, 40), "resolved": t(15, 47)}
    assert run(spec, milestones=ms)["utc_timeline"].why == (
        "detected 14:23, declared 14:28, mitigated 14:45, resolved 15:47 UTC"
    )
    assert run(spec, milestones=None, cadence=comms.cadence(EVERY_15, None, None, None))["utc_timeline"].why == (
        "missing detected, resolved: set them under milestones: in incident.yaml as UTC times (2025-06-15T14:23:00Z) "
        "or add the evidence"
    )


def test_timeline_naive_and_out_of_order() -> None:
    naive = {**MILESTONES, "declared": dt.datetime(2025, 6, 15, 14, 28)}
    report = run(milestones=naive)
    assert report["utc_timeline"].why == "declared has no time zone; write UTC times"
    assert report["cadence"].why == "cannot measure the cadence: the milestones have no time zone"
    backwards = {**MILESTONES, "mitigated": t(14, 20)}
    gate = the_one_failure(run(milestones=backwards))
    assert gate.why == "detected 2025-06-15 14:23 is after mitigated 2025-06-15 14:20 UTC; check the milestones"


# --- action_items ----------------------------------------------------------------------


def test_action_item_without_due_date() -> None:
    items = copy.deepcopy(GOOD["action_items"])
    items[1]["action"] = "Add canary"
    del items[1]["due"]
    gate = the_one_failure(run(spec_with({"action_items": items})))
    assert gate.to_text() == "FAIL action_items: action item 2 ('Add canary') has no due date"


def test_action_item_without_owner_and_due_date() -> None:
    items = [*copy.deepcopy(GOOD["action_items"]), {"action": "Review env var change process", "owner": " "}]
    gate = the_one_failure(run(spec_with({"action_items": items})))
    assert gate.why == "action item 3 ('Review env var change process') has no owner and no due date"


def test_fewer_than_two_action_items() -> None:
    one = run(spec_with({"action_items": GOOD["action_items"][:1]}))
    assert one["action_items"].why == "only 1 action item; write at least 2, each with an owner and a due date"
    none = run(spec_with({"action_items": []}))
    assert none["action_items"].why == "no action items; write at least 2, each with an owner and a due date"
    long = [{"action": "Add an integration test that validates the connection pool size under production load"}]
    assert run(spec_with({"action_items": long}))["action_items"].why == (
        "only 1 action item; write at least 2, each with an owner and a due date; "
        "action item 1 ('Add an integration test that validates …') has no owner and no due date"
    )


# --- blameless -------------------------------------------------------------------------


BLAME_PREFIX = "FAIL blameless: "
BLAME_SUFFIX = (
    ". Describe the gap in the process or system, not the person "
    "(person handles belong in action-item owners and roles only)"
)


@pytest.mark.parametrize(
    ("key", "text", "finding"),
    [
        ("narrative.root_cause", "Jane Doe changed DB_MAX_CONNS to 5.", "root cause names 'Jane Doe'"),
        ("narrative.root_cause", "A change by @jane-doe set the pool to 5.", "root cause names 'jane-doe'"),
        ("narrative.root_cause", "Human error in the env var refactor.", "root cause says 'Human error'"),
        ("narrative.root_cause", "The deploy was bob's fault.", "root cause names 'bob', says \"bob's fault\""),
        ("narrative.root_cause", "The engineer failed to check the diff.", "root cause says 'engineer failed to'"),
        ("narrative.root_cause", "Review should have caught the typo.", "root cause says 'should have caught'"),
        ("narrative.root_cause", "A careless edit of the env var.", "root cause says 'careless'"),
        ("narrative.root_cause", "Someone forgot to run the load test.", "root cause says 'forgot'"),
        ("narrative.root_cause", "@alex.k edited the env var.", "root cause mentions @alex.k"),
        ("narrative.root_cause", "@will pushed the change.", "root cause names 'Will'"),
        ("narrative.contributing_factors", ["ok", "Sam approved the PR"], "contributing factor 2 names 'Sam'"),
        ("narrative.trigger", "The IC @sam-lee paged late.", "trigger names 'sam-lee'"),
    ],
)
def test_blameless_failures(key: str, text: Any, finding: str) -> None:
    gate = the_one_failure(run(spec_with({key: text})))
    assert gate.to_text() == BLAME_PREFIX + finding + BLAME_SUFFIX


def test_blameless_checks_the_five_whys() -> None:
    whys = copy.deepcopy(GOOD["five_whys"])
    whys[3]["answer"] = "Because @bob did not run the tests; negligence."
    gate = the_one_failure(run(spec_with({"five_whys": whys})))
    assert gate.why == "5 Whys answer 4 names 'bob', says 'negligence'" + BLAME_SUFFIX


def test_blameless_allows_teams_systems_and_common_words() -> None:
    text = (
        "The @backend-team review and @sre-on-call runbook missed it; pods failed to start. "
        "Will this recur? Max connections dropped to 5. The deploy was blameless in process terms."
    )
    report = run(spec_with({"narrative.root_cause": text}))
    assert report["blameless"].passed, report["blameless"].why


def test_chat_participants_count_as_people_and_team_roles_do_not() -> None:
    spec = spec_with({"narrative.root_cause": "Alex changed the pool size.", "roles": {"comms": "@payments-team"}})
    events = pl.concat([EVERY_15, chat([(t(14, 30), "looking")], actor="Alex")])
    assert run(spec, people=[], events=events)["blameless"].why.startswith("root cause names 'Alex'")
    team_ok = spec_with({"narrative.root_cause": "The @payments-team runbook lacked a pool check."})
    assert run(team_ok, people=[])["blameless"].passed


def test_blameless_findings_are_listed_together() -> None:
    spec = spec_with(
        {"narrative.root_cause": "Jane Doe forgot the limit.", "narrative.contributing_factors": ["Blame the tooling"]}
    )
    assert run(spec)["blameless"].why == (
        "root cause names 'Jane Doe', says 'forgot'; contributing factor 1 says 'Blame'" + BLAME_SUFFIX
    )


# --- root_cause and five_whys ----------------------------------------------------------


def test_root_cause_missing_points_at_the_last_why() -> None:
    gate = the_one_failure(run(spec_with({"narrative.root_cause": "TODO"})))
    assert gate.to_text() == (
        "FAIL root_cause: narrative.root_cause is empty; write the root cause in incident.yaml "
        "(the last 5 Whys answer says: 'No test checks pool size.')"
    )


def test_root_cause_missing_without_whys() -> None:
    report = run(spec_with({"narrative.root_cause": None, "five_whys": []}))
    assert report["root_cause"].why == "narrative.root_cause is empty; write the root cause in incident.yaml"
    assert report["five_whys"].why == (
        "no 5 Whys written; the policy asks for 3 answered levels under five_whys: in incident.yaml"
    )


def test_too_few_whys() -> None:
    gate = the_one_failure(run(spec_with({"five_whys": GOOD["five_whys"][:2]})))
    assert gate.to_text() == (
        "FAIL five_whys: 2 of the 3 levels the policy asks for answered (1 missing; the first answers are symptoms); "
        "the last answered why (level 2) is marked would_still_happen: true; dig deeper"
    )


def test_todo_answers_fail_the_gate() -> None:
    """Five TODO answers are no answers: the gate once said 'PASS five_whys: 5 levels answered'."""
    todo = [{"why": f"Why {i}?", "answer": "TODO", "would_still_happen": False} for i in range(1, 6)]
    gate = the_one_failure(run(spec_with({"five_whys": todo})))
    assert gate.to_text() == (
        "FAIL five_whys: 0 of the 3 levels the policy asks for answered (3 missing; the first answers are "
        "symptoms); levels 1, 2, 3, 4, 5 have no answer (empty or TODO)"
    )


@pytest.mark.parametrize("placeholder", ["TODO", "todo: ask the DBA", "TBD", "  ", "?", "N/A", "[fill in]", "..."])
def test_a_placeholder_answer_in_the_middle_fails(placeholder: str) -> None:
    whys = copy.deepcopy(GOOD["five_whys"])
    whys[1]["answer"] = placeholder
    gate = the_one_failure(run(spec_with({"five_whys": whys})))
    assert gate.why == "level 2 has no answer (empty or TODO)"


def test_the_policy_is_a_parameter() -> None:
    report = run(min_whys=5)
    assert report["five_whys"].why == (
        "4 of the 5 levels the policy asks for answered (1 missing; the first answers are symptoms)"
    )
    assert run()["five_whys"].passed  # the same chain under the default policy of 3


def test_placeholders_fail_the_other_written_gates() -> None:
    assert not run(spec_with({"runbook": "TBD"}))["runbook"].passed
    assert not run(spec_with({"narrative.root_cause": "TODO: write once the DBA replies"}))["root_cause"].passed
    items = copy.deepcopy(GOOD["action_items"])
    items[0]["action"] = "TODO"
    items[1]["owner"] = "TBD"
    assert run(spec_with({"action_items": items}))["action_items"].why == (
        "action item 1 ('TODO') has no action written; action item 2 ('Add canary checking transaction success…') "
        "has no owner"
    )


def test_whys_that_stop_at_a_symptom() -> None:
    gate = the_one_failure(run(spec_with({"five_whys": GOOD["five_whys"][:3]})))
    assert gate.to_text() == (
        "FAIL five_whys: the last answered why (level 3) is marked would_still_happen: true; dig deeper"
    )


# --- cadence ---------------------------------------------------------------------------


def test_cadence_with_a_silence_fails_with_the_summary() -> None:
    rows = [
        (t(14, 28), "INCIDENT DECLARED"),
        (t(14, 40), "Update: a"),
        (t(15, 30), "Update: b"),
        (t(15, 47), "INCIDENT RESOLVED"),
    ]
    gate = the_one_failure(run(events=chat(rows)))
    assert gate.to_text() == (
        "FAIL cadence: not kept: largest gap 50 min (14:40-15:30 UTC, after update at 14:40) exceeds the required "
        "15 min + 2 min grace; 1 silence, 4 status updates"
    )


def test_sev1_with_no_status_updates_fails_however_short() -> None:
    """A 10-minute SEV1 with no update has no gap over 15 min, but it owes its stakeholders an update."""
    short = {"detected": t(14, 23), "declared": t(14, 28), "mitigated": t(14, 35), "resolved": t(14, 38)}
    gate = the_one_failure(run(milestones=short, events=chat([(t(14, 30), "looking at the db")])))
    assert gate.to_text() == (
        "FAIL cadence: not kept: no status updates between 14:28 and 14:38 UTC; one is required every 15 min"
    )
    sev2 = run(spec_with({"severity": "SEV2"}), milestones=short, events=chat([(t(14, 30), "on it")]))
    assert sev2["cadence"].passed is False
    sev3 = run(spec_with({"severity": "SEV3"}), milestones=short, events=chat([(t(14, 30), "on it")]))
    assert sev3["cadence"].passed is True  # a 2 h cadence: a 10-minute SEV3 owes no update yet


def test_cadence_result_passed_in_wins_over_events() -> None:
    hourly = comms.cadence(
        chat([(t(14, 28), "Update: a"), (t(15, 20), "Update: b")]), dt.timedelta(hours=1), t(14, 28), t(15, 47)
    )
    assert run(cadence=hourly, events=None)["cadence"].passed is True


def test_cadence_not_measured() -> None:
    gate = the_one_failure(run(events=None))
    assert gate.to_text() == (
        "FAIL cadence: status-update cadence not measured; load the chat (or PagerDuty) evidence so updates can be found"
    )


def test_cadence_needs_the_window() -> None:
    ms = {"detected": None, "declared": None, "mitigated": t(14, 42), "resolved": t(15, 47)}
    report = run(milestones=ms)
    assert report["cadence"].why == "cannot measure the cadence: declared (or detected) and resolved times are needed"


def test_sev4_needs_no_cadence() -> None:
    report = run(spec_with({"severity": "SEV4"}), events=None)
    assert report["cadence"].to_text() == "PASS cadence: no status-update cadence required for SEV4"


# --- runbook ---------------------------------------------------------------------------


def test_runbook_missing() -> None:
    gate = the_one_failure(run(spec_with(drop=("runbook",))))
    assert gate.to_text() == (
        "FAIL runbook: no runbook noted; set runbook: to the runbook used or updated during the incident "
        "(or write an action item to create one and name it here)"
    )


# --- report ----------------------------------------------------------------------------


def test_report_outputs() -> None:
    report = run(spec_with(drop=("runbook",)))
    assert report.ok is False
    d = report.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert (d["incident"], d["ok"], d["failed"]) == ("INC-2025-0142", False, ["runbook"])
    assert [g["id"] for g in d["gates"]] == list(gates.GATE_TITLES)
    out = to_html(report)
    assert "1 of 10 gates fail" in out
    with pytest.raises(KeyError, match="no gate 'nope'"):
        report["nope"]


def test_html_escapes_author_text() -> None:
    out = to_html(run(spec_with({"runbook": "<script>alert(1)</script>"})))
    assert "<script>" not in out


def test_participants_from_chat_events() -> None:
    frame = chat([(t(14, 0), "hi"), (t(14, 1), "yo")]).with_columns(
        pl.Series("actor", ["jane-doe", "U123"]),
        pl.Series("attrs", ['{"real_name":"Jane Doe","display_name":"Jane"}', '{"real_name":"Bob Smith"}']),
    )
    assert gates.participants(frame) == ["Bob Smith", "Jane", "Jane Doe", "U123", "jane-doe"]
    assert gates.participants(pl.DataFrame(schema=EVENTS_SCHEMA)) == []


# --- evidence --------------------------------------------------------------------------


def test_no_sources_listed_fails_evidence_and_names_the_folder() -> None:
    empty = pl.DataFrame(schema=EVENTS_SCHEMA)
    report = run(spec_with(), events=empty, load_report=LOADED.clear(), folder="incidents/INC-9")
    assert report["evidence"].to_text() == (
        "FAIL evidence: no evidence loaded from incidents/INC-9: incident.yaml lists no sources; copy the evidence "
        "into the folder and list it under sources: in incident.yaml"
    )


def test_sources_that_give_no_rows_fail_evidence() -> None:
    spec = spec_with({"sources": [{"name": "app", "kind": "logs", "format": "logfmt", "path": "logs/app.log"}]})
    rejected = pl.DataFrame(
        {"source": ["app"], "kind": ["logs"], "inputs": [12], "unit": ["lines"], "rejected": [12], "rows": [0]}
    )
    gate = run(spec, events=pl.DataFrame(schema=EVENTS_SCHEMA), load_report=rejected, folder="x")["evidence"]
    assert gate.to_text() == (
        "FAIL evidence: no evidence loaded from x: app (12 lines, 12 rejected) gave no rows; check the paths and "
        "formats under sources: (pmkit load)"
    )


def test_evidence_not_given_fails() -> None:
    gate = run(events=None, load_report=None, cadence=comms.cadence(EVERY_15, None, None, None))["evidence"]
    assert gate.passed is False


# --- figures_agree ---------------------------------------------------------------------


def _check(quantity: str, stated: str, agrees: bool | None, where: tuple[str, ...] = ("narrative.summary",)) -> Any:
    return claims.FigureCheck(
        quantity,
        stated,
        0.0,
        "about",
        where,
        1.0,
        "3,023 failed requests",
        "request log 'nginx', 14:19:23-15:00:00 UTC",
        agrees,
        "within 20%",
    )


def test_a_disagreeing_figure_fails_and_names_both() -> None:
    rec = claims.Reconciliation(
        (
            _check(
                "failed_requests", "about 2,400 transactions", False, ("narrative.summary", "status update 15:14 UTC")
            ),
            _check("affected_users", "about 1,800 customers", True),
        )
    )
    gate = the_one_failure(run(figures=rec))
    assert gate.to_text() == (
        "FAIL figures_agree: 1 stated figure disagrees with the evidence: narrative.summary (and 1 more) says "
        "'about 2,400 transactions'; measured 3,023 failed requests (request log 'nginx', 14:19:23-15:00:00 UTC). "
        "Correct the text or say why it differs (tolerances: docs/analyses.md)"
    )


def test_figures_agree_passes_and_counts() -> None:
    rec = claims.Reconciliation((_check("affected_users", "1,800 users", True), _check("severity", "SEV1", None)))
    assert run(figures=rec)["figures_agree"].why == (
        "1 stated figure agrees with the evidence; 1 not measurable from the evidence"
    )
    unmeasured = claims.Reconciliation((_check("severity", "SEV1", None),))
    assert run(figures=unmeasured)["figures_agree"].why == (
        "nothing to compare: 1 stated figure, none measurable from the evidence"
    )
    assert run(figures=None)["figures_agree"].passed is False


def test_five_whys_pass_says_when_the_root_cause_check_is_unanswered() -> None:
    """The document shows that check as TODO on the last level: the pass must not read as if it were answered."""
    whys = copy.deepcopy(GOOD["five_whys"])
    del whys[-1]["would_still_happen"]
    report = run(spec_with({"five_whys": whys}))
    assert report.ok
    assert report["five_whys"].why == (
        "4 levels answered; root cause at level 4; its check, 'would the incident still have happened?', "
        "is not answered yet"
    )
