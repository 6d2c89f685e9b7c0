"""The curated timeline (analysis/curate.py) on hand-made frames: every rule keeps or drops what it says, and says why.

Each test builds a small events frame, runs it through the timeline (order, folding, key flags) and
:func:`pmkit.analysis.curate.curate`, and reads the ``kept`` and ``why`` columns.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from pmkit import schema
from pmkit.analysis.curate import CuratedTimeline, clean_line, clean_one, curate, curation_gate
from pmkit.spec import TimelineCuration
from pmkit.timeline import build_timeline, decision_flags

UTC = dt.UTC
IMPACT = dt.datetime(2025, 6, 15, 14, 20, tzinfo=UTC)
RESOLVED = dt.datetime(2025, 6, 15, 15, 0, tzinfo=UTC)


def at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2025, 6, 15, hh, mm, ss, tzinfo=UTC)


_n = 0


def ev(ts: dt.datetime, kind: str, message: str, *, source: str | None = None, **kw: Any) -> dict[str, Any]:
    """One event row; ``attrs`` given as a dict; the origin is unique (``<source>.log:<n>``)."""
    global _n
    _n += 1
    source = source or {"log": "app", "chat": "slack", "alert": "am", "page": "pd", "deploy": "deploys"}[kind]
    attrs = kw.pop("attrs", None)
    return {
        "ts": ts,
        "source": source,
        "kind": kind,
        "message": message,
        "attrs": json.dumps(attrs) if attrs is not None else None,
        "origin": kw.pop("origin", f"/inc/{source}.log:{_n}"),
        **kw,
    }


def run(rows: list[dict[str, Any]], **kw: Any) -> CuratedTimeline:
    events = schema.conform(pl.DataFrame(rows), "events")
    args: dict[str, Any] = {"impact_start": IMPACT, "resolved": RESOLVED, "services": ["payments-api"], "root": "/inc"}
    args.update(kw)
    return curate(build_timeline(events).frame, **args)


def decision(c: CuratedTimeline, message: str) -> tuple[bool, str]:
    row = c.frame.filter(pl.col("message") == message)
    assert row.height == 1, f"{message!r} is {row.height} rows"
    return row["kept"][0], row["why"][0]


def deploy(ts: dt.datetime, env: str, state: str, *, id_: int = 1, service: str = "payments-api") -> dict[str, Any]:
    return ev(
        ts,
        "deploy",
        f"deploy {service} v2 to {env}: {state}",
        service=service,
        attrs={"environment": env, "state": state, "id": id_, "version": "v2"},
    )


def errors(ts: dt.datetime, message: str, n: int, *, every: int = 5, service: str = "payments-api") -> list[dict]:
    return [ev(ts + dt.timedelta(seconds=every * i), "log", message, level="error", service=service) for i in range(n)]


# --- the window -----------------------------------------------------------------------------------------


def test_window_is_impact_start_minus_the_margin_to_resolution_plus_a_tail() -> None:
    c = run(
        [
            ev(at(13, 0), "page", "an old page"),
            ev(at(14, 6), "page", "page inside the margin"),
            ev(at(14, 30), "page", "page during"),
            ev(at(15, 4), "page", "page in the tail"),
            ev(at(15, 10), "page", "page after the tail"),
            deploy(at(15, 2), "production", "created", id_=9, service="search-api"),
        ]
    )
    assert c.start == IMPACT - dt.timedelta(minutes=15) and c.end == RESOLVED + dt.timedelta(minutes=5)
    assert "impact start 14:20:00 minus the 15 min margin" in c.start_basis
    assert decision(c, "an old page") == (False, "outside the window 14:05:00–15:05:00")
    assert decision(c, "page inside the margin")[0]
    assert decision(c, "page during")[0]
    assert decision(c, "page in the tail")[0]
    assert not decision(c, "page after the tail")[0]
    kept, why = decision(c, "deploy search-api v2 to production: created")
    assert not kept and why.startswith("after the resolved milestone")


def test_the_margin_comes_from_incident_yaml() -> None:
    c = run([ev(at(13, 55), "page", "early page")], curation=TimelineCuration(margin="30m"))
    assert c.start == at(13, 50) and decision(c, "early page")[0]


def test_the_top_suspect_opens_the_window_when_it_started_earlier() -> None:
    rows = [
        deploy(at(13, 40), "production", "created", id_=7),
        deploy(at(13, 45), "production", "success", id_=7),
        ev(at(13, 50), "page", "a page between"),
    ]
    suspects = pl.DataFrame(
        {
            "rank": [1],
            "ts": [at(13, 45)],
            "service": ["payments-api"],
            "version": ["v2"],
            "environment": ["production"],
            "origin": [rows[1]["origin"]],
            "change_id": ["id:payments-api|7"],
        }
    )
    c = run(rows, suspects=suspects)
    assert c.start == at(13, 40)
    assert c.start_basis == "the top change suspect, payments-api v2, first seen 13:40:00"
    assert decision(c, "deploy payments-api v2 to production: created")[0]
    assert decision(c, "a page between")[0]


def test_no_impact_start_means_no_window() -> None:
    c = run([ev(at(9, 0), "page", "a page")], impact_start=None, resolved=None)
    assert c.start is None and decision(c, "a page")[0]
    assert c.window_text() == "every event (no impact start was found)"


# --- production only --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "kept"),
    [
        ("production", True),
        ("prod-eu-west-1", True),
        ("us-east-1", True),
        ("staging", False),
        ("staging-canary", False),
        ("dev", False),
        ("qa", False),
        ("preprod", False),
        ("pre-production", False),
        ("review-app-42", False),
    ],
)
def test_deploys_to_production_only(env: str, kept: bool) -> None:
    c = run([deploy(at(14, 10), env, "created")])
    got, why = decision(c, f"deploy payments-api v2 to {env}: created")
    assert got is kept
    if not kept:
        assert why == f"a deploy to {env}, not production"
    assert c.environments == {env: kept}


def test_intermediate_deploy_statuses_are_left_out() -> None:
    c = run(
        [
            deploy(at(14, 10), "production", "created"),
            deploy(at(14, 11), "production", "in_progress"),
            deploy(at(14, 12), "production", "success"),
            deploy(at(14, 12), "production", "inactive", id_=2),
        ]
    )
    assert decision(c, "deploy payments-api v2 to production: created")[0]
    assert decision(c, "deploy payments-api v2 to production: success")[0]
    assert decision(c, "deploy payments-api v2 to production: in_progress") == (
        False,
        "an intermediate deployment status (in_progress)",
    )
    assert not decision(c, "deploy payments-api v2 to production: inactive")[0]


# --- background noise and log lines ---------------------------------------------------------------------


def test_isolated_errors_before_impact_are_background() -> None:
    rows = [
        ev(at(14, 10), "log", "POST /pay 500", level="error", service="payments-api"),  # one line: isolated
        *errors(at(14, 12), "pool nearly exhausted", 5),  # a burst: a precursor, kept
        *errors(at(14, 14), "disk full on es-data-2", 5, service="logging"),  # another service's burst
        *errors(at(14, 25), "could not acquire a connection", 10),
    ]
    c = run(rows)
    kept, why = decision(c, "POST /pay 500")
    assert not kept and why.startswith("background before impact start: an isolated error (1 line(s)")
    first = c.frame.filter(pl.col("message") == "pool nearly exhausted").sort("ts")
    assert first["kept"].to_list() == [True, False, False, False, False]
    assert first["why"][0] == "the first error of its log template (5 line(s) of it within 5 min either side)"
    assert first["why"][-1] == "not a key event" or first["why"][-1] == "a later error of a log template already listed"
    other = c.frame.filter(pl.col("message") == "disk full on es-data-2").sort("ts")
    assert not other["kept"][0]
    assert other["why"][0] == "background before impact start: an error of a service that is not the incident's"
    during = c.frame.filter(pl.col("message") == "could not acquire a connection").sort("ts")
    assert during["kept"][0] and not during["kept"][-1]
    assert during["why"][-1] == "a later error of a log template already listed"


def test_an_isolated_error_during_impact_is_kept() -> None:
    c = run([ev(at(14, 30), "log", "migration 0042 failed", level="error", service="payments-api")])
    assert decision(c, "migration 0042 failed") == (
        True,
        "the first error of its log template (1 line(s) of it within 5 min either side)",
    )


def test_unrelated_alerts_before_impact_are_background_but_the_incidents_own_are_kept() -> None:
    c = run(
        [
            ev(at(14, 8), "alert", "[FIRING] DiskUsageHigh", service="logging", attrs={"alertname": "DiskUsageHigh"}),
            ev(at(14, 9), "alert", "[FIRING] PoolSaturation", service="payments-api", attrs={"alertname": "PoolSat"}),
            ev(at(14, 40), "alert", "[FIRING] CertExpiry", service="checkout", attrs={"alertname": "CertExpiry"}),
        ]
    )
    assert decision(c, "[FIRING] DiskUsageHigh") == (
        False,
        "background before impact start: an alert on logging, not the incident's",
    )
    assert decision(c, "[FIRING] PoolSaturation") == (True, "an alert on payments-api")
    assert decision(c, "[FIRING] CertExpiry")[0]  # during the impact: kept, the reader judges


# --- repeated alerts --------------------------------------------------------------------------------------


def _crashloop(ts: dt.datetime, pod: str, state: str = "firing") -> dict[str, Any]:
    return ev(
        ts,
        "alert",
        f"[{state.upper()}] KubePodCrashLooping (warning) pod={pod}: Pod is crash looping.",
        service="payments-api",
        attrs={
            "alertname": "KubePodCrashLooping",
            "event_type": state,
            "labels": {"alertname": "KubePodCrashLooping", "pod": pod, "namespace": "payments"},
            "dedup_key": f"{pod}|{ts.isoformat()}|{state}",
        },
    )


def test_repeated_alerts_collapse_into_the_first_with_a_count() -> None:
    pods = ["payments-api-7c9d-aaaa", "payments-api-7c9d-bbbb", "payments-api-7c9d-cccc", "payments-api-7c9d-dddd"]
    rows = [_crashloop(at(14, 39, 12), p) for p in pods]
    rows += [_crashloop(at(14, 41) + dt.timedelta(seconds=40 * i), p, "resolved") for i, p in enumerate(pods)]
    rows.append(_crashloop(at(14, 55), pods[0]))  # 16 min later: a new episode, not a repeat
    c = run(rows)
    kept = c.kept().sort("ts")
    assert kept.height == 3
    assert kept["line"][0] == (
        "[FIRING] KubePodCrashLooping x4 (warning): Pod is crash looping. "
        "(pods payments-api-7c9d-aaaa, …-bbbb, …-cccc, …-dddd)"
    )
    assert kept["repeats"].to_list() == [4, 4, 1]
    assert kept["line"][1].startswith("[RESOLVED] KubePodCrashLooping x4")
    dropped = c.frame.filter(~pl.col("kept") & (pl.col("kind") == "alert"))
    assert dropped.height == 6
    assert set(dropped["why"]) == {
        "a repeat of KubePodCrashLooping (firing) 14:39:12, collapsed into it",
        "a repeat of KubePodCrashLooping (resolved) 14:41:00, collapsed into it",
    }


# --- cross-source duplicates ----------------------------------------------------------------------------

SLACK_UPDATE = (
    "**[SEV1] Payments — Update #2 (14:45 UTC)** ⏎ ⏎ **Current status:** Identified ⏎ **What we did:** Identified the "
    "deployment of payments-api v2.14.3 as the cause; rollback complete at 14:42 UTC, recovering."
)


def test_a_pagerduty_note_quoting_a_slack_update_is_merged_into_the_first() -> None:
    c = run(
        [
            ev(at(14, 44, 55), "chat", SLACK_UPDATE),
            ev(
                at(14, 45, 26),
                "page",
                "PagerDuty incident Q2 status update published by Jane: [FIRING:1] Burn -- Cause identified (deploy "
                "v2.14.3); rollback complete at 14:42 UTC, recovery in progress.",
                attrs={
                    "event_type": "status_update_published",
                    "status_update": "Cause identified (deploy v2.14.3); rollback complete at 14:42 UTC, recovery "
                    "in progress.",
                },
            ),
            ev(at(14, 52), "page", "PagerDuty incident Q2 annotated by Raj: [FIRING:1] Burn -- unrelated words here"),
        ]
    )
    kept, why = decision(c, SLACK_UPDATE)
    assert kept and why == "a status update; also in pd 14:45:26"
    page = c.frame.filter(pl.col("kind") == "page").sort("ts")
    assert page["kept"].to_list() == [False, True]
    assert page["why"][0].startswith("a duplicate of the slack chat at 14:44:55 (")
    assert page["line"][1] == "PagerDuty incident Q2 annotated by Raj: unrelated words here"


def test_the_same_words_far_apart_or_from_the_same_source_are_not_duplicates() -> None:
    words = "Update: rollback complete at 14:42 UTC, payments recovering, next update 15:00"
    c = run(
        [
            ev(at(14, 30), "chat", words),
            ev(at(14, 31), "chat", words + " (repeat)"),  # same source: both kept
            ev(at(14, 50), "page", "PD note -- " + words, attrs={"note": words}),  # 20 min later: kept
        ]
    )
    assert c.kept().height == 3


# --- chat decisions -------------------------------------------------------------------------------------

DECISIONS: list[tuple[str, bool]] = [
    # said
    ("Decision: roll back to v2.14.2 now, investigate after. @raj go", True),
    ("decision - we revert PR #1490", True),
    ("We decided to roll back the deploy", True),
    ("let's roll back to v2.14.2", True),
    ("lets revert the config change", True),
    ("We'll fail over to us-west-2", True),
    ("we are going to failover the primary db", True),
    ("I'm paging the DBA on-call", True),
    ("paging @db-oncall", True),
    ("Page the database on-call now.", True),
    ("Escalating to SEV1, this is customer facing", True),
    ("escalate to the network team please", True),
    ("rolling back: `gh workflow run rollback.yml -f to=v2.14.2`", True),
    ("Roll back now.", True),
    ("ok, roll it back", True),
    ("Going ahead with the rollback to v2.14.2", True),
    ("time to revert", True),
    ("We're failing over to the secondary region", True),
    ("Declaring SEV2 for checkout", True),
    ("calling it: we revert the flag change", True),
    ("freezing all deploys until this is understood", True),
    # not said
    ("should we roll back?", False),
    ("do we need to revert?", False),
    ("not rolling back yet, the errors are from the LB", False),
    ("don't roll back, the migration is irreversible", False),
    ("no need to page anyone", False),
    ("if it isn't back by 14:48 we'll roll back", False),
    ("rollback complete: 6/6 pods Ready", False),
    ("+1, no migrations in 2.14.3, rollback is safe", False),
    ("the revert is done", False),
    ("let's check the status page", False),
    ("rollback progressing, 3/6 pods on v2.14.2", False),
    ("who is on call for the database?", False),
    ("the last rollback was in March", False),
]


@pytest.mark.parametrize(("message", "decides"), DECISIONS)
def test_chat_decisions(message: str, decides: bool) -> None:
    frame = schema.conform(pl.DataFrame([ev(at(14, 30), "chat", message)]), "events")
    assert frame.select(decision_flags()).item() is decides
    c = run([ev(at(14, 30), "chat", message)])
    kept, why = decision(c, message)
    if decides:
        assert kept and why in ("a decision", "a status update", "a command run")
    else:
        assert not kept


def test_a_bots_announcement_is_no_decision() -> None:
    msg = ":rewind: Rolling back payments-api to v2.14.2"
    c = run([ev(at(14, 38), "chat", msg, attrs={"bot_id": "B0DEPLOY", "subtype": "bot_message"})])
    assert decision(c, msg) == (False, "not a key event")
    assert len(DECISIONS) >= 20 and sum(d for _, d in DECISIONS) >= 20


# --- one clean line -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (
            "**[SEV1] Update #1** ⏎ ⏎ **Current status:** Investigating",
            "[SEV1] Update #1; Current status: Investigating",
        ),
        ("Rollback done. ⏎ Next update: 15:00 UTC", "Rollback done. Next update: 15:00 UTC"),
        ("line one\nline two", "line one; line two"),
        ("see <https://status.example.com/i/1|the status page> now", "see the status page now"),
        (
            "ping <@U04JD8Q2LMA> and <@U1|jane> in <#C07PAY|inc-payments>",
            "ping @U04JD8Q2LMA and @jane in @inc-payments",
        ),
        ("<!here> payments are failing :rotating_light: :fire:", "@here payments are failing"),
        (":rocket: Deploying v2 at 14:30:00", "Deploying v2 at 14:30:00"),
        ("pods are in *CrashLoopBackOff* and _restarting_", "pods are in CrashLoopBackOff and restarting"),
        ("`DB_MAX_CONNS` went from 50 to 5 in payments_api", "DB_MAX_CONNS went from 50 to 5 in payments_api"),
        ("~~wrong~~ right, see [the doc](https://x.example/d)", "wrong right, see the doc"),
        ("> quoted ⏎ # heading ⏎ - item", "quoted; heading; item"),
    ],
)
def test_clean_line_strips_markup(raw: str, line: str) -> None:
    assert clean_one(raw) == line


def test_clean_line_cuts_at_a_word_with_an_ellipsis() -> None:
    text = "payment transactions are failing for all customers since about 14:20 UTC, investigating now"
    frame = pl.DataFrame({"message": [text, "short"]})
    cut, short = frame.select(clean_line("message", width=40)).to_series().to_list()
    assert cut == "payment transactions are failing for…" and len(cut) <= 40
    assert short == "short"
    assert "⏎" not in clean_one("a ⏎ b") and "**" not in clean_one("**a**")


# --- the author's say -----------------------------------------------------------------------------------


def test_star_hide_and_annotate_by_origin_or_by_time_and_source() -> None:
    rows = [
        ev(at(14, 30), "chat", "an ordinary message worth keeping", origin="/inc/chat/inc.json#3"),
        ev(at(14, 31), "page", "a page the author hides", origin="/inc/pd/1.json"),
        ev(at(14, 32, 5), "alert", "an alert with a note", service="payments-api"),
        ev(at(12, 0), "chat", "an early message starred by time", source="slack"),
    ]
    cur = TimelineCuration(
        star=["chat/inc.json#3", "2025-06-15T12:00:00Z slack"],
        hide=["/inc/pd/1.json"],
        annotate=[{"id": "14:32:05 am", "note": "first sign of the pool"}],
    )
    c = run(rows, curation=cur)
    assert decision(c, "an ordinary message worth keeping") == (True, "starred by the author (timeline.star)")
    assert decision(c, "an early message starred by time") == (True, "starred by the author (timeline.star)")
    assert decision(c, "a page the author hides") == (False, "hidden by the author (timeline.hide)")
    row = c.frame.filter(pl.col("message") == "an alert with a note")
    assert row["kept"][0] and row["note"][0] == "first sign of the pool"
    assert c.frame.filter(pl.col("message") == "an ordinary message worth keeping")["id"][0] == "chat/inc.json#3"
    assert c.problems == ()
    gate = curation_gate(cur, c)
    assert gate is not None and gate.passed and gate.id == "timeline_ids"


def test_unknown_ids_are_findings_that_name_the_id() -> None:
    cur = TimelineCuration(star=["logs/app.log:999"], annotate=[{"id": "09:99:00 slack", "note": "x"}])
    c = run([ev(at(14, 30), "page", "a page")], curation=cur)
    assert len(c.problems) == 2
    assert c.problems[0].startswith("timeline.star[0]: 'logs/app.log:999' is no event's id; `pmkit timeline --ids")
    assert c.problems[1].startswith("timeline.annotate[0].id: '09:99:00 slack' is no event's id")
    gate = curation_gate(cur, c)
    assert gate is not None and not gate.passed and "logs/app.log:999" in gate.why
    assert curation_gate(TimelineCuration(), c) is None


def test_every_event_has_a_decision_and_a_reason() -> None:
    rows = [*errors(at(14, 25), "boom", 4), ev(at(14, 30), "chat", "just chatting"), deploy(at(14, 0), "qa", "created")]
    c = run(rows)
    assert c.frame.height == len(rows)
    assert c.frame["why"].null_count() == 0 and c.frame["kept"].null_count() == 0
    assert decision(c, "just chatting") == (False, "not a key event")


def test_a_long_timeline_gives_way_log_lines_first_then_alerts() -> None:
    rows = [*errors(at(14, 20), "template A", 3), *errors(at(14, 21), "template B 0x1", 3)]
    rows += [
        ev(at(14, 30) + dt.timedelta(minutes=i), "alert", f"[FIRING] Alert{chr(65 + i)}", service="payments-api")
        for i in range(4)
    ]
    rows.append(ev(at(14, 50), "chat", "Decision: roll back now"))
    c = run(rows, max_rows=3)
    kept = c.kept().sort("ts")
    assert kept.get_column("message").to_list() == ["[FIRING] AlertA", "[FIRING] AlertB", "Decision: roll back now"]
    cut = c.frame.filter(pl.col("why").str.contains("beyond the 3 rows"))
    assert cut.height == 4 and set(cut["kind"]) == {"log", "alert"}


def test_the_same_error_in_other_words_is_listed_once() -> None:
    rows = [
        *errors(at(14, 20), "payment failed: could not acquire a database connection", 4),
        *errors(at(14, 20, 11), "request failed: could not acquire a database connection", 4),
        *errors(at(14, 21), "cache miss storm on shard 0xbeef", 4),
    ]
    c = run(rows)
    kept = c.kept().get_column("message").to_list()
    assert kept == ["payment failed: could not acquire a database connection", "cache miss storm on shard 0xbeef"]
    first_request = c.frame.filter(pl.col("message").str.starts_with("request")).sort("ts")["why"][0]
    assert first_request == "the same error as the app log line at 14:20:00 (83% of its words)"
