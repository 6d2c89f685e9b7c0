"""Severity policies against the seeds' matrices and worked examples."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.analysis import severity, severity_policies
from pmkit.analysis.severity import ImpactFacts, classify
from pmkit.report.notebook import to_html
from pmkit.spec import parse_spec

# seeds/004: INC-2025-0142, 100% of payments failing for 84 minutes, ~1,800 customers, $340K
INC_0142 = ImpactFacts(
    peak_error_ratio=1.0,
    error_ratio_during=1.0,
    affected_users=1800,
    duration_minutes=84,
    failed_requests=2400,
    service="payments-api",
    revenue_impact="$340K",
)
# seeds/000: INC-20250120-103000, 80% errors, ~10,000 users = 100% of active users, $50,000
INC_20250120 = ImpactFacts(
    peak_error_ratio=0.8,
    error_ratio_during=0.8,
    affected_users=10_000,
    total_users=10_000,
    duration_minutes=45,
    failed_requests=500_000,
    revenue_impact="$50,000",
    slo_violated=True,
    service="api-server",
)


def users(affected: int, total: int = 1000, **kw: object) -> ImpactFacts:
    return ImpactFacts(affected_users=affected, total_users=total, peak_error_ratio=0.5, **kw)  # type: ignore[arg-type]


# --- levels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("SEV1", "SEV1"), ("sev-2", "SEV2"), ("Sev 3", "SEV3"), ("p0", "P0"), ("P-3", "P3"), (" SEV4 ", "SEV4")],
)
def test_levels_are_read_in_their_written_forms(text: str, expected: str) -> None:
    assert severity.normalise_level(text) == expected


@pytest.mark.parametrize("text", ["SEV0", "SEV5", "P4", "critical", "", None, "SEV12"])
def test_non_levels_are_none(text: str | None) -> None:
    assert severity.normalise_level(text) is None


def test_scales_map_by_rank() -> None:
    assert [severity.rank(x) for x in ("SEV1", "P0", "SEV4", "P3")] == [1, 1, 4, 4]
    assert severity.in_scale("P0", "SEV") == "SEV1"
    assert severity.in_scale("SEV3", "P") == "P2"
    with pytest.raises(ValueError, match=re.escape("'SEV0' is not a severity level; expected SEV1..SEV4 or P0..P3")):
        severity.rank("SEV0")


def test_cadence_follows_the_seeds() -> None:
    assert severity.cadence_for("SEV1") == dt.timedelta(minutes=15)
    assert severity.cadence_for("P0") == dt.timedelta(minutes=15)
    assert severity.cadence_for("SEV2") == dt.timedelta(minutes=30)
    assert severity.cadence_for("P2") == dt.timedelta(hours=2)
    assert severity.cadence_for("SEV4") is None
    assert severity.cadence_for("P3") is None


# --- facts -----------------------------------------------------------------------------


def test_facts_derive_share_and_outage() -> None:
    f = ImpactFacts(affected_users=250, total_users=1000, peak_error_ratio=0.96)
    assert f.affected_fraction == 0.25
    assert f.services_down is True
    assert ImpactFacts(peak_error_ratio=0.94).services_down is False
    assert ImpactFacts(peak_error_ratio=1.0, user_facing=False).services_down is False
    assert ImpactFacts().services_down is None
    assert ImpactFacts(affected_users=5).affected_fraction is None


def test_facts_reject_percentages_written_as_numbers() -> None:
    with pytest.raises(ValueError, match="peak_error_ratio is 80; expected a fraction between 0 and 1"):
        ImpactFacts(peak_error_ratio=80)


def test_facts_from_impact_and_spec() -> None:
    impact = SimpleNamespace(
        peak_error_ratio=0.3, error_ratio=0.2, affected_users=120, duration_minutes=30.0, failed_requests=900.0
    )
    spec = parse_spec({"id": "X", "facts": {"total_users": 1000, "workaround": True, "revenue_impact": "none"}})
    f = ImpactFacts.from_impact(impact, spec, service="checkout", slo_violated=False)
    assert (f.peak_error_ratio, f.error_ratio_during, f.affected_users) == (0.3, 0.2, 120)
    assert f.affected_fraction == pytest.approx(0.12)
    assert (f.workaround, f.revenue_impact, f.service, f.slo_violated) == (True, "none", "checkout", False)
    assert f.user_facing is True


# --- the seeds' examples ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "level"), [("sev", "SEV1"), ("responder", "SEV1"), ("workflow", "SEV1"), ("p", "P0")]
)
def test_inc_2025_0142_is_the_top_level_under_every_policy(policy: str, level: str) -> None:
    r = classify(INC_0142, policy, declared="SEV1")
    assert r.level == level
    assert r.final == "SEV1"
    assert r.mismatch is False
    assert r.confidence == "high"
    outage = "widespread user-facing outage" if policy == "responder" else "complete outage"
    assert r.reasons[0] == f"peak error ratio 100% on payments-api: {outage}"
    assert "impact lasted 84 min" in r.reasons
    assert "2,400 failed requests" in r.reasons


def test_inc_20250120_is_p0_by_all_users_and_revenue() -> None:
    r = classify(INC_20250120, "p", declared="P0")
    assert (r.level, r.final, r.mismatch) == ("P0", "P0", False)
    assert r.facts.services_down is False  # 80% is not a complete outage by itself
    assert r.reasons[:3] == (
        "10,000 of 10,000 users affected (100%): all users",
        "mean error ratio 80% on api-server with revenue impact $50,000: revenue-generating features down",
        "SLO violated",
    )
    assert r.cadence == dt.timedelta(minutes=15)
    assert r.response.startswith("Page immediately")
    assert classify(INC_20250120, "sev").level == "SEV1"


# --- each policy on partial and cosmetic cases -----------------------------------------


@pytest.mark.parametrize(
    ("affected", "sev", "responder", "p", "workflow"),
    [
        (600, "SEV2", "SEV2", "P1", "SEV2"),  # 60%
        (300, "SEV2", "SEV2", "P1", "SEV3"),  # 30%
        (250, "SEV3", "SEV2", "P1", "SEV3"),  # exactly 25% is in the 5-25% band
        (150, "SEV3", "SEV2", "P1", "SEV3"),  # 15%
        (100, "SEV3", "SEV3", "P2", "SEV3"),  # exactly 10% is not "more than 10%"
        (50, "SEV3", "SEV3", "P2", "SEV3"),  # exactly 5%
        (30, "SEV4", "SEV3", "P2", "SEV3"),  # 3%
        (5, "SEV4", "SEV4", "P3", "SEV4"),  # 0.5%: cosmetic
    ],
)
def test_share_bands(affected: int, sev: str, responder: str, p: str, workflow: str) -> None:
    f = users(affected)
    got = {pol: classify(f, pol).level for pol in ("sev", "responder", "p", "workflow")}
    assert got == {"sev": sev, "responder": responder, "p": p, "workflow": workflow}
    assert classify(f).confidence == "high"


def test_reasons_cite_the_share() -> None:
    r = classify(users(300), "sev")
    assert r.reasons[0] == "300 of 1,000 users affected (30%): more than 25%"
    assert classify(users(30), "responder").reasons[0] == (
        "30 of 1,000 users affected (3%): a minor feature broken (workaround unknown)"
    )


def test_workaround_lowers_a_share_only_sev2_under_the_matrices() -> None:
    f = users(300, workaround=True)
    r = classify(f, "sev")
    assert r.level == "SEV3"
    assert r.reasons[0] == "300 of 1,000 users affected (30%): more than 25%; a workaround is available, so SEV3"
    assert classify(users(600, workaround=True), "workflow").level == "SEV3"
    # the decision rules and the P scale do not lower on a workaround
    assert classify(f, "responder").level == "SEV2"
    assert classify(f, "p").level == "P1"
    # and a workaround never lowers an outage
    assert classify(ImpactFacts(peak_error_ratio=1.0, workaround=True), "sev").level == "SEV1"


def test_not_user_facing_is_the_lowest_level() -> None:
    f = ImpactFacts(peak_error_ratio=1.0, error_ratio_during=0.9, user_facing=False, service="ci-runner")
    for policy, level in (("sev", "SEV4"), ("responder", "SEV4"), ("p", "P3"), ("workflow", "SEV4")):
        r = classify(f, policy)
        assert r.level == level, policy
        assert r.reasons[0] == "not user-facing (internal): no users affected"


@pytest.mark.parametrize(
    ("fact", "reason"),
    [("data_loss", "data loss stated in facts"), ("security_breach", "security breach stated in facts")],
)
def test_data_loss_and_security_are_top_level(fact: str, reason: str) -> None:
    f = ImpactFacts(affected_users=1, total_users=1000, **{fact: True})  # type: ignore[arg-type]
    for policy, level in (("sev", "SEV1"), ("responder", "SEV1"), ("p", "P0"), ("workflow", "SEV1")):
        r = classify(f, policy)
        assert (r.level, r.confidence, r.reasons[0]) == (level, "high", reason)


def test_p_major_feature_unavailable_and_revenue() -> None:
    f = ImpactFacts(peak_error_ratio=0.7, error_ratio_during=0.6, service="search")
    r = classify(f, "p")
    assert r.level == "P1"
    assert r.reasons[0] == "mean error ratio 60% on search: major feature unavailable"
    assert classify(ImpactFacts(peak_error_ratio=0.7, error_ratio_during=0.6, revenue_impact="none"), "p").level == "P1"
    assert classify(ImpactFacts(peak_error_ratio=0.7, error_ratio_during=0.6, revenue_impact="$0"), "p").level == "P1"
    assert classify(ImpactFacts(peak_error_ratio=0.7, error_ratio_during=0.6, revenue_impact="$12K"), "p").level == "P0"


def test_p_slo_violation_is_p1() -> None:
    r = classify(users(20, slo_violated=True), "p")
    assert r.level == "P1"
    assert "SLO violated" in r.reasons


# --- missing facts ---------------------------------------------------------------------


def test_nothing_known_is_lowest_level_with_low_confidence() -> None:
    r = classify(ImpactFacts())
    assert (r.level, r.confidence, r.cadence) == ("SEV4", "low", None)
    assert r.reasons[0] == (
        "affected users unknown; no error ratio measured either: the affected share is unknown: "
        "no rule above SEV4 applies (measure impact or set facts)"
    )
    assert "peak error ratio unknown: whether the service was fully down is unknown" in r.reasons
    assert classify(ImpactFacts(), "p").level == "P3"


def test_error_ratio_stands_in_for_the_share_with_medium_confidence() -> None:
    r = classify(ImpactFacts(error_ratio_during=0.3, peak_error_ratio=0.5, affected_users=42), "sev")
    assert (r.level, r.confidence) == ("SEV2", "medium")
    assert r.reasons[0] == (
        "~42 users affected but total users unknown (set facts.total_users for the share); "
        "mean error ratio during impact 30% stands in for the affected share: more than 25%"
    )


def test_peak_alone_is_an_upper_bound() -> None:
    r = classify(ImpactFacts(peak_error_ratio=0.2), "sev")
    assert r.level == "SEV3"
    assert "peak error ratio 20% stands in for the affected share (an upper bound)" in r.reasons[0]


# --- declared --------------------------------------------------------------------------


def test_declared_wins_and_mismatch_is_reported() -> None:
    r = classify(users(300), "sev", declared="SEV1")
    assert (r.level, r.final, r.mismatch) == ("SEV2", "SEV1", True)
    assert r.cadence == dt.timedelta(minutes=15)
    assert r.reasons[-1] == "declared SEV1 differs from the classified SEV2; the declared level wins"


def test_declared_in_the_other_scale_maps_across() -> None:
    r = classify(users(300), "sev", declared="P1")
    assert (r.final, r.mismatch) == ("P1", False)
    assert r.response.startswith("Notify on-call")
    r = classify(users(300), "sev", declared="p0")
    assert (r.final, r.mismatch) == ("P0", True)
    assert r.reasons[-1] == "declared P0 (= SEV1) differs from the classified SEV2; the declared level wins"
    assert classify(INC_20250120, "p", declared="SEV1").mismatch is False


def test_declared_that_is_not_a_level_is_named_and_ignored() -> None:
    r = classify(users(300), "sev", declared="critical")
    assert (r.final, r.mismatch, r.declared) == ("SEV2", False, "critical")
    assert r.reasons[-1] == "declared severity 'critical' is not a level (SEV1..SEV4 or P0..P3): ignored"


def test_unknown_policy_teaches() -> None:
    with pytest.raises(
        ValueError,
        match=r"severity policy 'sevv' is unknown; expected one of sev, responder, p, workflow; did you mean 'sev'\?",
    ):
        classify(ImpactFacts(), "sevv")
    assert classify(ImpactFacts(), "SEV").policy == "sev"


# --- output ----------------------------------------------------------------------------


def test_to_dict_is_json_ready() -> None:
    d = classify(INC_0142, declared="SEV1").to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["cadence_minutes"] == 15.0
    assert d["final"] == "SEV1"
    assert d["facts"]["affected_users"] == 1800


def test_html_escapes_text() -> None:
    f = ImpactFacts(peak_error_ratio=1.0, service="<script>x</script>")
    out = to_html(classify(f, declared="SEV2"))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "mismatch" in out


def test_to_text_mentions_mismatch() -> None:
    text = classify(users(300), declared="SEV1").to_text()
    assert text.splitlines()[0] == "SEV1 (declared); classified SEV2 by policy sev: MISMATCH"
    assert "status updates: every 15 min" in text


@settings(max_examples=scaled(60), deadline=None)
@given(a=st.floats(0, 1), b=st.floats(0, 1), policy=st.sampled_from(sorted(severity_policies.POLICIES)))
def test_more_users_affected_is_never_less_severe(a: float, b: float, policy: str) -> None:
    lo, hi = sorted((a, b))
    r_lo = classify(ImpactFacts(affected_fraction=lo), policy)
    r_hi = classify(ImpactFacts(affected_fraction=hi), policy)
    assert severity.rank(r_hi.level) <= severity.rank(r_lo.level)
