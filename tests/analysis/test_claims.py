"""Stated figures (pmkit.analysis.claims): what people wrote, read as numbers with units, beside the measure."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pmkit.analysis import claims
from pmkit.analysis.impact import Impact
from pmkit.analysis.sli import MINUTES_SCHEMA, detect_impact
from pmkit.spec import parse_spec

UTC = dt.UTC

# (text, [(quantity, value, qualifier)]) - an empty list: no figure may be read from the text
PHRASINGS: list[tuple[str, list[tuple[str, float, str]]]] = [
    (
        "About 2,400 transactions from about 1,800 unique customers failed.",
        [("failed_requests", 2400, "about"), ("affected_users", 1800, "about")],
    ),
    (
        "About 2,400 failed transactions from about 1,800 customers.",
        [("failed_requests", 2400, "about"), ("affected_users", 1800, "about")],
    ),
    (
        "About 500,000 failed requests from about 10,000 users",
        [("failed_requests", 500000, "about"), ("affected_users", 10000, "about")],
    ),
    ("roughly 1.8k customers could not pay", [("affected_users", 1800, "about")]),
    ("~3,000 users affected so far", [("affected_users", 3000, "about")]),
    ("more than 1.2 million requests failed", [("failed_requests", 1.2e6, "at least")]),
    ("fewer than 50 tenants saw errors", [("affected_tenants", 50, "at most")]),
    ("3,023 of 4,614 requests failed", [("total_requests", 4614, "exact")]),
    ("9,653 of 11,238 active users", []),  # the population is the author's fact
    (
        "the service experienced a complete outage for 45 minutes",
        [("error_ratio", 100, "exact"), ("duration", 45, "exact")],
    ),
    ("~45 min of downtime", [("duration", 45, "about")]),
    ("a 45-minute outage", [("duration", 45, "exact")]),
    ("payments were unavailable for an hour", [("duration", 60, "exact")]),
    ("the outage lasted half an hour", [("duration", 30, "exact")]),
    ("errors for 1 h 30 min", [("duration", 90, "exact")]),
    ("Duration: 45 minutes", [("incident_duration", 45, "exact")]),
    ("the incident lasted 2 hours", [("incident_duration", 120, "exact")]),
    ("80% of requests failed from 10:15 to 10:35 UTC and 2% until 10:45 UTC", [("error_ratio", 80, "exact")]),
    ("transactions failed (100% of them at the worst)", [("error_ratio", 100, "exact")]),
    ("API service experiencing high error rate (80%).", [("error_ratio", 80, "exact")]),
    ("the error rate peaked at 62.5%", [("error_ratio", 62.5, "exact")]),
    ("40% errors on checkout", [("error_ratio", 40, "exact")]),
    ("API error rate dropped from 80% to ~2% after rollback", [("error_ratio", 80, "exact")]),
    ("All payment attempts are failing since about 14:20 UTC.", [("error_ratio", 100, "exact")]),
    ("about 85% of users were affected", [("affected_share", 85, "about")]),
    ("Declared SEV1 at 14:28 UTC", [("severity", 1, "exact")]),
    ("**Severity**: P0", [("severity", 1, "exact")]),
    ("escalated to Sev-2", [("severity", 2, "exact")]),
    # not claims
    ("Deploy v2.14.3 rolled out at 14:18 UTC", []),
    ("API error rate back to normal (0.05%).", []),
    ("support ticket volume increased 500%", []),
    ("Rolled back to v2.14.2; 45 minutes at baseline.", []),
    ("Postmortem within 48 hours; affected customers will be contacted.", []),
    ("Alert fired within 5 minutes of deploy", []),
    ("The 5 Whys below; p99 latency 2.3 s; page #4821; INC-2025-0142", []),
    ("returned HTTP 500 errors", []),
    ("Estimated $340K in delayed/lost transactions; revenue impact $2K/minute", []),
    ("reduced the database connection pool from 50 to 5 connections", []),
    ("Update #3 (15:00 UTC)", []),
    ("P99 went to 4 s", []),
]


@pytest.mark.parametrize(("text", "expected"), PHRASINGS, ids=[p[0][:40] for p in PHRASINGS])
def test_phrasings(text: str, expected: list[tuple[str, float, str]]) -> None:
    got = [(c.quantity, c.value, c.qualifier) for c in claims.extract(text)]
    assert got == [(q, pytest.approx(v), qual) for q, v, qual in expected]


def test_the_table_is_big_enough() -> None:
    assert len(PHRASINGS) >= 25
    assert sum(1 for _, e in PHRASINGS if not e) >= 10


def test_markup_and_chat_line_marks_are_read_through() -> None:
    text = "**Impact:** About 2,400 failed transactions ⏎ **Status**: resolved; *Duration: 45 minutes*"
    got = [(c.quantity, c.value, c.text) for c in claims.extract(text)]
    assert got == [
        ("failed_requests", 2400, "About 2,400 failed transactions"),
        ("incident_duration", 45, "45 minutes"),
    ]


def test_stated_reads_severity_narrative_and_updates_in_order() -> None:
    spec = parse_spec(
        {
            "id": "X",
            "severity": "SEV2",
            "narrative": {"summary": "About 2,400 transactions failed.", "customer_impact": "30% of users"},
        }
    )
    updates = pl.DataFrame(
        {"ts": [dt.datetime(2025, 6, 15, 14, 30, tzinfo=UTC)], "source": ["slack"], "message": ["~900 requests failed"]}
    )
    got = [(c.quantity, c.where) for c in claims.stated(spec, updates)]
    assert got == [
        ("severity", "incident.yaml severity"),
        ("failed_requests", "narrative.summary"),
        ("affected_share", "narrative.customer_impact"),
        ("failed_requests", "status update 14:30 UTC (slack)"),
    ]


# --- reconcile -----------------------------------------------------------------------------------------


def t(h: int, m: int, s: int = 0) -> dt.datetime:
    return dt.datetime(2025, 6, 15, h, m, s, tzinfo=UTC)


def _minutes() -> pl.DataFrame:
    """14:00-14:59: 100 requests a minute; 14:20-14:49 half of them fail (impact 14:20-14:50)."""
    ts = [t(14, 0) + dt.timedelta(minutes=i) for i in range(60)]
    bad = [50 if 20 <= i < 50 else 0 for i in range(60)]
    return pl.DataFrame({"ts": ts, "total": [100] * 60, "bad": bad}, schema=MINUTES_SCHEMA)


IMPACT = Impact(
    start=t(14, 20),
    end=t(14, 50),
    failed_requests=1500.0,
    total_requests=3000.0,
    error_ratio=0.5,
    peak_error_ratio=0.5,
    peak_at=t(14, 20),
    impact_minutes=30,
    duration_minutes=30.0,
    affected_users=1000,
    affected_tenants=None,
    basis="error-level log events: distinct ids (the SLI reads no request log)",
)


def _evidence(**kw: object) -> claims.Evidence:
    args: dict[str, object] = {
        "impact": IMPACT,
        "minutes": _minutes(),
        "window": detect_impact(_minutes()),
        "sli_name": "request-count metrics 'requests'",
        "resolved": t(15, 5),
        "total_users": 4000,
    }
    args.update(kw)
    return claims.Evidence(**args)  # type: ignore[arg-type]


def test_a_count_beyond_the_tolerance_disagrees_and_names_both() -> None:
    rec = claims.reconcile(claims.extract("About 2,400 transactions failed", "narrative.summary"), _evidence())
    (row,) = rec.rows
    assert (row.measured, row.agrees) == (1500.0, False)
    assert row.finding() == (
        "narrative.summary says 'About 2,400 transactions'; measured 1,500 failed requests "
        "(request-count metrics 'requests', 14:20:00-14:50:00 UTC)"
    )


@pytest.mark.parametrize(
    ("text", "agrees"),
    [
        ("about 1,700 requests failed", True),  # 13% off
        ("about 1,850 requests failed", False),  # 23% off
        ("more than 1,000 requests failed", True),
        ("fewer than 1,000 requests failed", False),
        ("about 1,100 users", True),
        ("an outage for 35 minutes", True),  # 5 min off
        ("an outage for 40 minutes", False),  # 10 min off, 20% of 30 is 6
        ("Duration: 45 minutes", True),  # impact start to resolved: 45 min
        ("50% of requests failed", True),
        ("a complete outage", False),
        ("25% of users", True),
        ("70% of users", False),
    ],
)
def test_tolerances(text: str, agrees: bool) -> None:
    rows = claims.reconcile(claims.extract(text, "narrative.summary"), _evidence()).rows
    assert [r.agrees for r in rows] == [agrees], rows


def test_an_update_during_the_impact_is_measured_up_to_its_time() -> None:
    said = claims.extract("About 500 failed requests so far", "status update 14:30 UTC (slack)", at=t(14, 30))
    (row,) = claims.reconcile(said, _evidence()).rows
    assert (row.measured, row.agrees) == (500.0, True)  # 10 minutes of 50 failures, not the whole impact's 1,500
    assert row.basis == "request-count metrics 'requests', 14:20:00-14:30:00 UTC (up to the update)"
    before = claims.extract("About 500 failed requests", "status update 14:10 UTC (slack)", at=t(14, 10))
    (early,) = claims.reconcile(before, _evidence()).rows
    assert early.agrees is None and early.measured_text == "not measured"


def test_the_same_figure_in_several_places_is_one_row() -> None:
    said = [
        *claims.extract("About 2,400 transactions failed", "narrative.summary"),
        *claims.extract("About 2,400 transactions failed", "status update 15:00 UTC (slack)", at=t(15, 0)),
    ]
    rec = claims.reconcile(said, _evidence())
    assert [r.where for r in rec.rows] == [("narrative.summary", "status update 15:00 UTC (slack)")]
    assert rec.to_dict()["disagreements"] == 1


def test_nothing_measured_neither_agrees_nor_disagrees() -> None:
    none = Impact(None, None, None, None, None, None, None, None, None, None, None, basis="no impact found in the SLI")
    ev = _evidence(impact=none, minutes=pl.DataFrame(schema=MINUTES_SCHEMA))
    rec = claims.reconcile(claims.extract("About 2,400 transactions failed for 45 minutes of downtime"), ev)
    assert [r.agrees for r in rec.rows] == [None, None]
    assert rec.disagreements == [] and rec.measured == []


def test_transactions_are_failed_writes_when_the_request_log_has_them() -> None:
    """'2,400 transactions' is set beside failed POSTs, not beside every failed read and health check."""
    n = 40
    requests = pl.DataFrame(
        {
            "ts": [t(14, 20) + dt.timedelta(seconds=30 * i) for i in range(n)],
            "method": ["POST" if i % 4 == 0 else "GET" for i in range(n)],
            "path": ["/api/v1/payments" if i % 4 == 0 else "/healthz" for i in range(n)],
            "ok": [False] * n,
        }
    )
    said = claims.extract("about 10 payments failed", "narrative.summary")
    (row,) = claims.reconcile(said, _evidence(requests=requests)).rows
    assert (row.measured, row.agrees) == (10.0, True)
    assert row.measured_text == "10 failed write requests"
    assert row.basis == "request-count metrics 'requests', POST /api/v1/payments, 14:20:00-14:50:00 UTC"
    (plain,) = claims.reconcile(claims.extract("about 10 requests failed"), _evidence(requests=requests)).rows
    assert plain.measured == 1500.0  # requests are every request: the impact's count


def test_customers_of_transactions_are_the_users_of_failed_writes() -> None:
    n = 40
    requests = pl.DataFrame(
        {
            "ts": [t(14, 20) + dt.timedelta(seconds=30 * i) for i in range(n)],
            "method": ["POST" if i % 4 == 0 else "GET" for i in range(n)],
            "path": ["/pay"] * n,
            "user": [f"u{i % 8}" for i in range(n)],  # POSTs come from u0 and u4 only
            "ok": [False] * n,
        }
    )
    said = claims.extract("about 10 payments from 2 customers failed", "narrative.summary")
    rows = claims.reconcile(said, _evidence(requests=requests)).rows
    assert [(r.label, r.measured, r.agrees) for r in rows] == [
        ("failed transactions", 10.0, True),
        ("users affected", 2.0, True),
    ]
    assert rows[1].measured_text == "2 users with a failed write request"
    alone = claims.reconcile(claims.extract("2 customers could not log in"), _evidence(requests=requests)).rows
    assert alone[0].measured == 1000.0  # without transactions in the clause: the impact's affected users


def test_the_document_table_says_what_could_not_be_measured() -> None:
    from types import SimpleNamespace

    from pmkit.report.document import figures_markdown

    none = Impact(None, None, None, None, None, None, None, None, None, None, None, basis="no impact found in the SLI")
    ev = _evidence(impact=none, minutes=pl.DataFrame(schema=MINUTES_SCHEMA))
    rec = claims.reconcile(claims.extract("a complete outage hit <b>1.2k</b> customers", "narrative.summary"), ev)
    md = figures_markdown(SimpleNamespace(figures=rec))  # type: ignore[arg-type]
    assert "None of them can be measured from the evidence." in md
    assert "| error ratio | complete outage | narrative.summary | not measured | no impact was found in the SLI |" in md
    assert "<b>" not in md
    empty = figures_markdown(SimpleNamespace(figures=claims.Reconciliation(())))  # type: ignore[arg-type]
    assert empty.endswith("No figures are stated in the narrative, the status updates or the declared severity.")
