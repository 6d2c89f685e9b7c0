"""Change suspects and rollbacks on hand-made deploy frames shaped like the seeds' worked incidents."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from typing import Any

import polars as pl
import pytest

from pmkit import schema
from pmkit.analysis import changes as ch
from pmkit.report.notebook import to_html

UTC = dt.UTC
DAY = dt.datetime(2025, 6, 15, tzinfo=UTC)


def at(hh: int, mm: int, ss: int = 0, *, day: dt.datetime = DAY) -> dt.datetime:
    return day.replace(hour=hh, minute=mm, second=ss)


def events(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """An events frame (pmkit.schema contract) from short dicts; ``attrs`` given as a dict."""
    full = [
        {
            "ts": r["ts"],
            "source": r.get("source", "deploys"),
            "kind": r.get("kind", "deploy"),
            "service": r.get("service"),
            "level": r.get("level"),
            "actor": r.get("actor"),
            "message": r.get("message", ""),
            "attrs": json.dumps(r["attrs"], sort_keys=True) if r.get("attrs") is not None else None,
            "origin": r.get("origin", f"deploys.json:{i + 1}"),
        }
        for i, r in enumerate(rows)
    ]
    frame = pl.DataFrame(full, schema=schema.EVENTS_SCHEMA) if full else schema.empty("events")
    return schema.validate(frame, "events")


def deployment(
    dep_id: int, service: str, version: str, states: list[tuple[str, dt.datetime]], **attrs: Any
) -> list[dict[str, Any]]:
    """A GitHub-style deployment: one event per status, all sharing attrs.id."""
    return [
        {
            "ts": when,
            "service": service,
            "actor": "deploy-bot",
            "message": f"deployment {dep_id} {version} {state}",
            "attrs": {"id": dep_id, "version": version, "state": state, "environment": "production", **attrs},
            "origin": f"deploys.json:{dep_id}:{state}",
        }
        for state, when in states
    ]


IMPACT_004 = at(14, 19, 30)


def seed_004() -> pl.DataFrame:
    """INC-2025-0142: v2.14.3 at 14:18, impact 14:19:30, rollback to v2.14.2 14:38 -> 14:42."""
    return events(
        deployment(
            101,
            "payments-api",
            "v2.14.3",
            [
                ("created", at(14, 18)),
                ("in_progress", at(14, 18, 5)),
                ("success", at(14, 18, 45)),
                ("inactive", at(14, 42)),
            ],
            description="Deploy v2.14.3: connection pool config refactor",
        )
        + deployment(
            102,
            "payments-api",
            "v2.14.2",
            [("created", at(14, 38)), ("in_progress", at(14, 38, 20)), ("success", at(14, 42))],
            description="Rollback to v2.14.2",
            rollback=True,
        )
        + deployment(90, "checkout-web", "v1.9.0", [("created", at(13, 49)), ("success", at(13, 49, 30))])
    )


def test_culprit_ranks_above_other_service_30_min_earlier_and_same_service_20_h_earlier() -> None:
    frame = events(
        deployment(
            101,
            "payments-api",
            "v2.14.3",
            [("created", at(14, 18)), ("in_progress", at(14, 18, 10)), ("success", at(14, 18, 40))],
        )
        + deployment(90, "checkout-web", "v1.9.0", [("created", at(13, 49)), ("success", at(13, 49, 30))])
        + deployment(80, "payments-api", "v2.14.2", [("created", at(18, 19, day=DAY - dt.timedelta(days=1)))])
    )
    out = ch.change_suspects(frame, impact_start=IMPACT_004, services=["payments-api"])
    assert out.get_column("version").to_list() == ["v2.14.3", "v1.9.0", "v2.14.2"]
    assert out.get_column("rank").to_list() == [1, 2, 3]
    top = out.row(0, named=True)
    # three status events fold into one change that took effect at its success status
    assert top["ts"] == at(14, 18, 40)
    assert top["lead_time"] == dt.timedelta(seconds=50)
    assert (top["first_state"], top["state"]) == ("created", "success")
    assert top["origin"] == "deploys.json:101:success"
    assert top["reasons"][:2] == ["deployed 50 s before impact start", "changes payments-api, the failing service"]
    assert top["score"] == pytest.approx(0.5 ** (50 / 60 / 30) * 3)
    other = out.row(1, named=True)
    assert other["lead_time"] == dt.timedelta(minutes=30)
    assert other["reasons"] == ["deployed 30 min before impact start", "changes checkout-web, not a failing service"]
    assert out.row(2, named=True)["reasons"][0] == "deployed 20 h before impact start"


def test_seed_004_shape_suspect_and_rollback_found() -> None:
    frame = seed_004()
    suspects = ch.change_suspects(frame, impact_start=IMPACT_004, services=["payments-api"])
    assert suspects.get_column("version").to_list() == ["v2.14.3", "v1.9.0"]  # the rollback is not a suspect
    top = suspects.row(0, named=True)
    assert top["state"] == "inactive"  # superseded by the rollback; the effective time is still the success
    assert top["ts"] == at(14, 18, 45)
    assert "mentions 'config'" in top["reasons"]

    rb = ch.find_rollback(frame, impact_start=IMPACT_004, mitigated=at(14, 47), suspects=suspects)
    assert rb is not None
    assert rb["start"] == at(14, 38)
    assert rb["completed"] == at(14, 42)
    assert rb["version"] == "v2.14.2"
    assert rb["service"] == "payments-api"
    assert rb["origin"] == "deploys.json:102:created"
    assert rb["found_by"] == "attrs.rollback is true"
    assert rb["rolls_back"]["rank"] == 1
    assert rb["rolls_back"]["version"] == "v2.14.3"


def test_seed_000_shape_migration_deploy_and_rollout_undo() -> None:
    impact = at(10, 15)
    frame = events(
        [
            {
                "ts": at(10, 0),
                "service": "api-server",
                "actor": "jane",
                "message": "Deployed v2.3.0 to production",
                "attrs": {
                    "version": "v2.3.0",
                    "description": "v2.3.0: add users.preferences (database migration 0042)",
                },
            },
            {
                "ts": at(9, 40),
                "service": "search",
                "message": "Deployed search v5.1.0",
                "attrs": {"version": "v5.1.0"},
            },
            {
                "ts": at(10, 30),
                "service": "api-server",
                "actor": "john",
                "message": "kubectl rollout undo deployment/api-server",
                "attrs": {"change_type": "rollout"},
            },
        ]
    )
    suspects = ch.change_suspects(frame, impact_start=impact, services=["api-server"])
    top = suspects.row(0, named=True)
    assert top["version"] == "v2.3.0"
    assert top["reasons"] == [
        "deployed 15 min before impact start",
        "changes api-server, the failing service",
        "mentions 'migration'",
    ]
    assert top["score"] == pytest.approx(0.5**0.5 * 3 * 1.25)
    assert suspects.height == 2

    rb = ch.find_rollback(frame, impact_start=impact, mitigated=at(10, 35), suspects=suspects)
    assert rb is not None
    assert rb["start"] == at(10, 30)
    assert rb["completed"] is None
    assert rb["found_by"] == "it says 'undo'"
    assert rb["rolls_back"]["version"] == "v2.3.0"


def test_changes_after_impact_start_and_rollbacks_are_not_suspects() -> None:
    frame = events(
        deployment(1, "payments-api", "v2", [("created", at(14, 0)), ("success", at(14, 1))])
        + deployment(2, "payments-api", "v3", [("created", at(14, 25)), ("success", at(14, 26))])
        + deployment(3, "payments-api", "v1", [("created", at(13, 0))], description="Roll back to v1")
    )
    out = ch.change_suspects(frame, impact_start=IMPACT_004, services=["payments-api"])
    assert out.get_column("version").to_list() == ["v2"]


def test_lookback_bounds_the_window() -> None:
    frame = events(deployment(1, "payments-api", "v1", [("created", at(13, 0, day=DAY - dt.timedelta(days=1)))]))
    assert ch.change_suspects(frame, impact_start=IMPACT_004, services=[]).height == 0
    wide = ch.change_suspects(frame, impact_start=IMPACT_004, services=[], lookback=dt.timedelta(days=2))
    assert wide.get_column("version").to_list() == ["v1"]


def test_rollout_in_flight_at_impact_start_counts_with_zero_lead() -> None:
    frame = events(deployment(7, "payments-api", "v9", [("created", at(14, 19)), ("success", at(14, 20))]))
    row = ch.change_suspects(frame, impact_start=IMPACT_004, services=["payments-api"]).row(0, named=True)
    assert row["lead_time"] == dt.timedelta(seconds=-30)
    assert row["score"] == pytest.approx(3.0)
    assert row["reasons"][0] == "rollout started 30 s before impact start and completed 30 s after it"


def test_failed_and_non_production_factors() -> None:
    frame = events(
        [
            *deployment(1, "payments-api", "v1", [("created", at(14, 9, 30)), ("failure", at(14, 10))]),
            {
                "ts": at(14, 18, 30),
                "service": "payments-api",
                "message": "deploy v2 to staging",
                "attrs": {"version": "v2", "environment": "staging", "state": "success"},
            },
        ]
    )
    out = ch.change_suspects(frame, impact_start=IMPACT_004, services=["payments-api"])
    assert out.get_column("version").to_list() == ["v1", "v2"]
    failed, staging = out.row(0, named=True), out.row(1, named=True)
    assert failed["score"] == pytest.approx(0.5 ** (10 / 30) * 3 * 1.25)  # no success: effective at created
    assert "its deployment reported 'failure'" in failed["reasons"]
    assert staging["score"] == pytest.approx(0.5 ** (1 / 30) * 3 * 0.2)
    assert "went to staging, not production" in staging["reasons"]


def test_folding_without_ids_uses_service_and_sha() -> None:
    rows = [
        {"ts": at(14, 0), "service": "a", "attrs": {"sha": "abc1234", "state": "created"}},
        {"ts": at(14, 2), "service": "a", "attrs": {"sha": "abc1234", "state": "success"}},
        {"ts": at(14, 1), "service": "b", "attrs": {"sha": "abc1234", "state": "success"}},
        {"ts": at(14, 3), "service": "c", "message": "bumped replicas", "attrs": None},
        {"ts": at(14, 4), "service": "c", "message": "bumped replicas", "attrs": None},
    ]
    out = ch.change_suspects(events(rows), impact_start=IMPACT_004, services=[])
    assert out.height == 4
    a = out.filter(pl.col("service") == "a").row(0, named=True)
    assert (a["ts"], a["first_state"], a["state"]) == (at(14, 2), "created", "success")


def test_find_rollback_prefers_the_top_suspects_service_and_respects_mitigation() -> None:
    frame = seed_004().vstack(
        events(
            deployment(
                95,
                "checkout-web",
                "v1.8.9",
                [("created", at(14, 30)), ("success", at(14, 31))],
                description="revert v1.9.0",
            )
        )
    )
    suspects = ch.change_suspects(frame, impact_start=IMPACT_004, services=["payments-api"])
    rb = ch.find_rollback(frame, impact_start=IMPACT_004, mitigated=at(14, 47), suspects=suspects)
    assert rb is not None and rb["service"] == "payments-api"
    # mitigated at 14:20: only rollbacks starting by 14:35 (15 min slack) count
    early = ch.find_rollback(frame, impact_start=IMPACT_004, mitigated=at(14, 20), suspects=suspects)
    assert early is not None and early["service"] == "checkout-web"
    assert early["found_by"] == "it says 'revert'"
    assert early["rolls_back"]["version"] == "v1.9.0"
    assert ch.find_rollback(frame, impact_start=IMPACT_004, mitigated=at(14, 0), suspects=suspects) is None


def test_rollback_of_names_the_suspect() -> None:
    frame = events(
        deployment(1, "payments-api", "v2", [("created", at(14, 10)), ("success", at(14, 11))])
        + deployment(2, "payments-api", "v3", [("created", at(14, 18)), ("success", at(14, 19))])
        + deployment(3, "payments-api", "v1", [("created", at(14, 40))], rollback=True, payload={"rollback_of": 1})
    )
    rb = ch.find_rollback(frame, impact_start=IMPACT_004, mitigated=None, suspects=None)
    assert rb is not None
    assert rb["rolls_back"]["version"] == "v2"
    assert rb["rolls_back"]["rank"] == 2


def test_no_deploys_give_an_empty_frame_with_the_schema() -> None:
    logs_only = events([{"ts": at(14, 0), "kind": "log", "level": "error", "message": "boom", "source": "app"}])
    for frame in (logs_only, schema.empty("events")):
        out = ch.change_suspects(frame, impact_start=IMPACT_004, services=["payments-api"])
        assert out.height == 0
        assert out.schema == pl.Schema(ch.SUSPECTS_SCHEMA)
        assert ch.find_rollback(frame, impact_start=IMPACT_004, mitigated=None, suspects=out) is None
    report = ch.change_report(schema.empty("events"), impact_start=IMPACT_004, services=["payments-api"])
    assert report.to_dict()["suspects"] == []
    assert "No deploys" in to_html(report)


def test_naive_impact_start_is_read_as_utc() -> None:
    naive = ch.change_suspects(seed_004(), impact_start=IMPACT_004.replace(tzinfo=None), services=["payments-api"])
    aware = ch.change_suspects(
        seed_004(), impact_start=IMPACT_004.astimezone(dt.timezone(dt.timedelta(hours=2))), services=["payments-api"]
    )
    assert naive.equals(aware)


def test_change_report_bundles_and_serialises() -> None:
    frame = seed_004().vstack(
        events(
            deployment(
                103, "payments-api", "v2.14.1", [("created", at(12, 0))], description="<script>alert(1)</script>"
            )
        )
    )
    report = ch.change_report(frame, impact_start=IMPACT_004, services=["payments-api"], mitigated=at(14, 47))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["suspects"][0]["version"] == "v2.14.3"
    assert data["suspects"][0]["lead_time"] == 45.0
    assert data["rollback"]["completed"] == "2025-06-15T14:42:00+00:00"
    page = to_html(report)
    assert "<script>" not in page and html.escape("<script>") in page
    assert "Rollback to v2.14.2" in page
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.suspects = pl.DataFrame()  # type: ignore[misc]
