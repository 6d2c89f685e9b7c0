"""Communication drafts (pmkit.report.comms) on the sample incidents: seeds' formats, facts, TODOs, no names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import pmkit
from pmkit.analysis.impact import Impact
from pmkit.analysis.milestones import Milestone, Milestones
from pmkit.errors import PmkitError
from pmkit.pipeline import Analysis, analyze
from pmkit.report import comms
from pmkit.report.comms import drafts, internal_update, resolution_announcement, status_page_update
from pmkit.report.comms_facts import TODO_PREFIX, MomentError
from pmkit.report.comms_public import internal_names
from pmkit.spec import Facts, Narrative

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
UTC = dt.UTC


@pytest.fixture(scope="module")
def payments() -> Analysis:
    return analyze(pmkit.Incident.load(SAMPLES / "INC-2025-0142", cache=False))


@pytest.fixture(scope="module")
def migration() -> Analysis:
    return analyze(pmkit.Incident.load(SAMPLES / "INC-20250120-103000", cache=False))


def with_spec(a: Analysis, **update: Any) -> Analysis:
    spec = a.incident.spec.model_copy(update=update)
    return dataclasses.replace(a, incident=dataclasses.replace(a.incident, spec=spec))


def without_milestones(a: Analysis, *names: str) -> Analysis:
    items = tuple(Milestone(m.name, None, "not found") if m.name in names else m for m in a.milestones.items)
    return dataclasses.replace(a, milestones=Milestones(items))


def failed_between(a: Analysis, start: dt.datetime, end: dt.datetime) -> int:
    req = a.sli.requests
    assert req is not None
    return req.filter((pl.col("ts") >= start) & (pl.col("ts") < end) & ~pl.col("ok")).height


# --- the internal update (seeds/004) -------------------------------------------------------------


def test_internal_update_follows_the_stakeholder_format(payments: Analysis) -> None:
    text = internal_update(payments)
    # header as in seeds/004; the sample's chat already holds updates #1..#6
    assert text.startswith("**[SEV1] Payment processing failures — Update #7 (15:47 UTC)**\n")
    labels = ["Incident", "Severity", "Current status", "Updated", "Next update", "What happened", "What we did"]
    labels += ["What we're doing now", "Impact"]
    positions = [text.index(f"**{label}:**") for label in labels]
    assert positions == sorted(positions)
    assert "**Current status:** Resolved" in text
    assert "**Next update:** none: this is the final update" in text
    assert TODO_PREFIX not in text  # everything a resolved update needs is in the evidence and the spec


def test_internal_update_carries_the_evidence(payments: Analysis) -> None:
    text = internal_update(payments)
    imp = payments.impact
    assert f"{imp.failed_requests:,.0f} of {imp.total_requests:,.0f} requests failed (65.5%)" in text
    assert "between 14:19 UTC and 14:59 UTC (41 min); peak 100% at 14:25 UTC" in text
    assert f"Affected users: {imp.affected_users:,}" in text
    assert "POST /api/v1/payments" in text
    assert "- 14:38 UTC: rollback of payments-api to v2.14.2 started, undoing v2.14.3 deployed at 14:18 UTC" in text
    assert "- 14:42 UTC: rollback completed" in text
    assert "- 14:59 UTC: error rate back at baseline (mitigated)" in text
    assert "Error budget: 51.5% of availability (99.9% over 30d) consumed" in text
    assert "Revenue impact: Estimated $340K in delayed/lost transactions" in text
    # resolved: the author's narrative is told
    assert "reduced the database connection pool from 50 to 5" in text
    assert "Resolution: Rolled back to v2.14.2." in text


def test_internal_update_numbers_unnumbered_updates(migration: Analysis) -> None:
    # three status updates in the sample's chat, none numbered
    assert internal_update(migration).startswith(
        "**[P0] API outage: database migration locked the users table — Update #4 (11:00 UTC)**"
    )


def test_update_at_declaration_tells_only_what_was_known(payments: Analysis) -> None:
    t = payments.milestones.times()
    text = internal_update(payments, at="declared")
    assert "**Current status:** Investigating" in text
    assert "Update #1 (14:28 UTC)" in text
    assert "**Next update:** 14:43 UTC or sooner if status changes" in text  # SEV1: every 15 minutes
    failed = failed_between(payments, t["impact_start"], t["declared"])
    assert f"{failed:,} of " in text
    assert "between 14:19 UTC and 14:28 UTC (9 min)" in text
    assert "top change suspect from the evidence: payments-api v2.14.3 deployed at 14:18 UTC" in text
    for later in ("rollback", "14:59 UTC", "15:47 UTC", "Error budget", "reduced the database connection pool"):
        assert later not in text
    assert "[TODO: what responders are doing now]" in text
    assert "**ETA to resolution:** [TODO: ETA]" in text


def test_status_follows_the_milestones(payments: Analysis) -> None:
    rb = payments.rollback
    assert rb is not None
    during_rollback = rb["start"] + dt.timedelta(minutes=1)
    cases = [
        (during_rollback, "Identified", "Rolling back (started 14:38 UTC)"),
        (rb["completed"], "Identified", "Rollback completed at 14:42 UTC"),
        ("mitigated", "Monitoring", "Monitoring error rates to confirm full recovery"),
        ("resolved", "Resolved", "Incident closed at 15:47 UTC"),
    ]
    for at, status, doing in cases:
        text = internal_update(payments, at=at)
        assert f"**Current status:** {status}" in text, at
        assert doing in text, at


def test_next_update_uses_the_required_cadence(payments: Analysis) -> None:
    sev2 = dataclasses.replace(
        payments, severity=dataclasses.replace(payments.severity, final="SEV2", cadence=dt.timedelta(minutes=30))
    )
    assert "**Next update:** 15:29 UTC or sooner" in internal_update(sev2, at="mitigated")
    assert "We will provide an update within 30 minutes." in status_page_update(sev2, at="mitigated")
    sev4 = dataclasses.replace(payments, severity=dataclasses.replace(payments.severity, final="SEV4", cadence=None))
    assert "**Next update:** as needed (SEV4 requires no fixed cadence)" in internal_update(sev4, at="mitigated")
    assert "We will provide updates as the situation changes." in status_page_update(sev4, at="mitigated")


def test_at_is_checked(payments: Analysis) -> None:
    with pytest.raises(MomentError, match="no time zone"):
        internal_update(payments, at=dt.datetime(2025, 6, 15, 14, 30))
    with pytest.raises(MomentError, match="no time zone"):
        internal_update(payments, at="2025-06-15T14:30:00")
    with pytest.raises(PmkitError, match="neither a milestone"):
        internal_update(payments, at="soon")
    with pytest.raises(ValueError, match="before impact start"):
        internal_update(payments, at=dt.datetime(2025, 6, 15, 13, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="not in the evidence"):
        internal_update(without_milestones(payments, "resolved"), at="resolved")
    with pytest.raises(TypeError):
        internal_update(payments, at=3)  # type: ignore[arg-type]


# --- TODO markers for what the evidence lacks ---------------------------------------------------------


def test_missing_facts_are_todo_markers_never_invented(payments: Analysis) -> None:
    bare = with_spec(payments, narrative=Narrative(), facts=Facts())
    bare = without_milestones(dataclasses.replace(bare, rollback=None), "resolved")
    internal = internal_update(bare)  # default moment: mitigated
    assert "**Current status:** Monitoring" in internal
    assert "[TODO: revenue impact]" in internal
    assert "**ETA to resolution:** [TODO: ETA]" in internal
    assert "rollback" not in internal
    resolution = resolution_announcement(bare)
    for marker in ("resolution time", "duration", "cause in customer terms", "resolution in customer terms"):
        assert f"[TODO: {marker}]" in resolution
    # measured impact stands in for the author's customer impact
    assert "Between 14:19 UTC and 14:59 UTC, most requests were failing." in resolution


def test_no_measured_impact_is_a_todo(payments: Analysis) -> None:
    unmeasured = dataclasses.replace(
        with_spec(payments, narrative=Narrative()),
        impact=Impact(None, None, None, None, None, None, None, None, None, None, None, basis="no SLI"),
    )
    internal = internal_update(unmeasured)
    assert "**What happened:** [TODO: what happened]" in internal
    assert "- [TODO: failed requests]" in internal
    assert "- Affected users: [TODO: affected users]" in internal
    assert "[TODO: impact in customer terms]" in status_page_update(unmeasured)


def test_resolution_announcement_follows_the_seed(payments: Analysis, migration: Analysis) -> None:
    text = resolution_announcement(payments)
    assert text.startswith("**RESOLVED: Payment processing failures**\n")
    assert "*Resolved: 2025-06-15 15:47 UTC | Duration: 1 hour 28 minutes (14:19 UTC to 15:47 UTC)*" in text
    for label in ("Issue", "Resolution", "Impact", "Next Steps"):
        assert f"**{label}:**" in text
    assert "We reverted a recent change. Connection pool restored to previous configuration." in text
    assert "Service returned to normal at 14:59 UTC." in text
    assert "about 2,400 failed transactions from about 1,800 unique customers" in text  # the author's words win
    assert "at the worst. Customers were affected from 14:19 UTC to 14:59 UTC." in text
    assert text.rstrip().endswith("We apologize for the inconvenience.")
    # the root cause's first sentence names a version: the cause is left to the author
    assert "**Issue:** [TODO: cause in customer terms]" in text
    assert text.count(TODO_PREFIX) == 1
    assert "Duration: 45 minutes (10:15 UTC to 11:00 UTC)" in resolution_announcement(migration)


def test_status_page_wording_per_status(payments: Analysis) -> None:
    rb = payments.rollback
    assert rb is not None
    expected = [
        ("declared", "We are currently investigating an issue.", "We will provide an update within 15 minutes."),
        (rb["start"], "are reverting a recent change", "We will provide an update within 15 minutes."),
        ("mitigated", "A fix has been implemented and we are monitoring the results.", "within 15 minutes"),
        ("resolved", "This incident has been resolved.", None),
    ]
    for at, body, nxt in expected:
        text = status_page_update(payments, at=at)
        assert text.startswith("**Payment processing failures**\n*Posted: 2025-06-15 "), at
        assert body in text, at
        if nxt:
            assert nxt in text
        else:
            assert "We will provide" not in text
    assert "Since 14:19 UTC, most requests are failing." in status_page_update(payments, at="declared")


# --- customer-facing texts name nothing internal -------------------------------------------------------

INTERNAL = {
    "INC-2025-0142": [
        "@",
        "payments-api",
        "v2.14",
        "2.14.",
        "jane",
        "Jane",
        "Raj",
        "raj-patel",
        "Tom",
        "tom-becker",
        "mei-chen",
        "Mei",
        "$",
        "revenue",
        "INC-2025-0142",
        "DB_MAX_CONNS",
        "POST /",
        "/api/",
        "healthz",
        "PagerDuty",
    ],
    "INC-20250120-103000": [
        "@",
        "v2.3.0",
        "v2.2.4",
        "priya",
        "john",
        "marco",
        "kubectl",
        "$",
        "revenue",
        "INC-20250120-103000",
        "users.preferences",
        "lock_timeout",
        "ALTER TABLE",
        "`",
    ],
}


@pytest.mark.parametrize("sample", ["INC-2025-0142", "INC-20250120-103000"])
def test_customer_texts_name_nothing_internal(sample: str, payments: Analysis, migration: Analysis) -> None:
    a = payments if sample == "INC-2025-0142" else migration
    moments = [None, "detected", "declared", "mitigated", "resolved", a.rollback["start"] if a.rollback else None]
    texts = [resolution_announcement(a)] + [status_page_update(a, at=m) for m in moments]
    for text in texts:
        for name in INTERNAL[sample]:
            assert name not in text, (name, text)
        assert internal_names(text, a) == []


def test_internal_names_rule(payments: Analysis) -> None:
    hits = {
        "Rolled back to v2.14.2.": ["v2.14.2"],
        "Raj rolled it back.": ["Raj"],
        "Approved by Jane Doe.": ["Jane Doe"],
        "Ping @mei-chen now.": ["@mei-chen"],
        "The db-01.corp.internal host.": ["db-01.corp.internal"],
        "DB_MAX_CONNS was 5.": ["DB_MAX_CONNS"],
        "Cost $340K.": ["$340K"],
        "See 10.2.3.4 for details.": ["10.2.3.4"],
        "Reach it on fe80::1ff:fe23 only.": ["fe80::1ff:fe23"],
        "Run `kubectl rollout undo`.": ["`", "`"],
        "payments-api crashed.": ["payments-api"],
    }
    for sentence, expected in hits.items():
        assert internal_names(sentence, payments) == expected, sentence
    clean_sentences = (
        "Payments failed at checkout.",
        "Our platform team restored the service.",
        "Errors: 65.5% from 14:23:01 to 15:00:00 UTC.",
    )
    for clean in clean_sentences:
        assert internal_names(clean, payments) == [], clean


def test_versions_named_in_the_title_are_public(payments: Analysis) -> None:
    app = with_spec(payments, title="Checkout fails in the mobile app 5.2.1")
    assert internal_names("Update the app to 5.2.1 or later.", app) == []
    assert internal_names("Fixed in 5.2.2.", app) == ["5.2.2"]
    assert status_page_update(app).startswith("**Checkout fails in the mobile app 5.2.1**")


def test_internal_title_becomes_a_todo(payments: Analysis) -> None:
    leaky = with_spec(payments, title="payments-api v2.14.3 crash loop")
    assert status_page_update(leaky).startswith("**[TODO: public title]**")
    assert resolution_announcement(leaky).startswith("**RESOLVED: [TODO: public title]**")
    assert internal_update(leaky).startswith("**[SEV1] payments-api v2.14.3 crash loop — Update #7")


def test_dropped_sentence_takes_its_back_reference_along(migration: Analysis) -> None:
    text = "The migration in v2.3.0 locked the table. This stopped logins. Logins failed for 30 minutes."
    a = with_spec(migration, narrative=Narrative(customer_impact=text))
    page = status_page_update(a)
    assert "This stopped logins" not in page
    assert "Logins failed for 30 minutes." in page


# --- everything ---------------------------------------------------------------------------------------------


def test_drafts_are_the_three_files_and_deterministic(payments: Analysis) -> None:
    first = drafts(payments)
    assert tuple(first) == comms.FILES == ("internal-update.md", "status-page.md", "resolution.md")
    assert first == drafts(payments)
    assert all(text.endswith("\n") and not text.endswith("\n\n") for text in first.values())
    assert first["status-page.md"] == status_page_update(payments)


def test_secrets_in_the_narrative_are_redacted(payments: Analysis) -> None:
    leak = "Payments failed; the DSN postgres://app:hunter2@db/payments leaked and ops@acme.example was paged."
    a = with_spec(payments, narrative=payments.incident.spec.narrative.model_copy(update={"summary": leak}))
    text = internal_update(a)
    assert "hunter2" not in text and "ops@acme.example" not in text
    assert "postgres://app:[redacted]@db/payments" in text and "[email]" in text


def test_drafts_for_a_moment(payments: Analysis) -> None:
    at_mitigation = drafts(payments, at="2025-06-15T14:59:57Z")
    assert at_mitigation == drafts(payments, at="mitigated")
    assert "**Current status:** Monitoring" in at_mitigation["internal-update.md"]
    assert at_mitigation["resolution.md"] == resolution_announcement(payments)


def test_moment_times_are_utc_minutes(payments: Analysis) -> None:
    at = dt.datetime(2025, 6, 15, 16, 40, 59, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 14:40:59 UTC
    text = internal_update(payments, at=at)
    assert "Update #2 (14:40 UTC)" in text
    assert "**Next update:** 14:55 UTC" in text
    assert re.search(r"\*\*Updated:\*\* 2025-06-15 14:40 UTC", text)
