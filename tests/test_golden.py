"""Golden checks: the analyses recover each sample's ground truth (expected.yaml beside it)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml

import pmkit as pm
from pmkit.cli import main
from pmkit.pipeline import Analysis, analyze

ROOT = Path(__file__).resolve().parents[1] / "data" / "samples"
SAMPLES = [
    "INC-2025-0142",
    "INC-20250120-103000",
    "INC-2025-0311-checkout",
    "INC-2025-0311-orders",
    "INC-2025-0311-search",
]

# Goldens the analysis does not meet today on the newer samples, with the issue item that fixes each
# (strict: when a fix makes one pass, the test fails until its entry here is removed).
KNOWN_FALSE: dict[tuple[str, str], str] = {}


@pytest.fixture(autouse=True)
def _known_false(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    sample = callspec.params.get("case") if callspec else None
    reason = KNOWN_FALSE.get((request.node.originalname, sample)) if sample else None
    if reason:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module", params=SAMPLES)
def case(request: pytest.FixtureRequest) -> tuple[Analysis, dict]:
    root = ROOT / request.param
    expected = yaml.safe_load((root / "expected.yaml").read_text())
    return analyze(pm.Incident.load(root, cache=False)), expected


def test_every_source_loads_with_the_generated_counts(case: tuple[Analysis, dict]) -> None:
    result, expected = case
    report = {r["source"]: r for r in result.incident.report.iter_rows(named=True)}
    assert set(report) == set(expected["sources"])
    for name, want in expected["sources"].items():
        assert report[name]["parsed"] == want["count"], name
        assert report[name]["rejected"] == 0, name
    assert result.incident.rejects.height == 0


def test_milestones_within_a_minute(case: tuple[Analysis, dict]) -> None:
    result, expected = case
    got = result.milestones.times()
    for name, want in expected["milestones"].items():
        assert got[name] is not None, name
        assert abs((got[name] - ts(want)).total_seconds()) <= 60, (name, got[name], want)


def test_impact_within_two_percent(case: tuple[Analysis, dict]) -> None:
    result, expected = case
    imp = expected["impact"]
    # the impact counts the SLI's bad requests: failed ones, or with a latency SLI slow (or failed) ones
    errors = result.sli.indicator == "errors"
    bad, peak = ("failed_requests", "peak_error_ratio") if errors else ("bad_requests", "peak_bad_ratio")
    assert result.impact.failed_requests == pytest.approx(imp[bad], rel=0.02)
    assert result.impact.affected_users == pytest.approx(imp["affected_users"], rel=0.02)
    assert result.impact.peak_error_ratio == pytest.approx(imp[peak], abs=0.02)


def test_impact_counted_in_the_stated_window(case: tuple[Analysis, dict]) -> None:
    """Counts use exactly expected.yaml's impact window (no drift from minute flooring); with a request log the
    impact ends at the last failing request of the incident (mitigated, to the second)."""
    result, expected = case
    imp = expected["impact"]
    assert result.impact.total_requests == imp["total_requests"]
    assert (
        result.impact.failed_requests == imp["failed_requests" if result.sli.indicator == "errors" else "bad_requests"]
    )
    assert result.impact.counted_from == ts(imp["window"]["start"])
    assert result.impact.counted_to == ts(imp["window"]["end"])
    mitigated = result.milestones["mitigated"]
    assert mitigated.ts == ts(expected["milestones"]["mitigated"])
    if result.sli.requests is not None:
        assert mitigated.evidence.get("origin")  # the last failing request names its line
        assert result.impact.failing_endpoints
        # failures of the endpoints the incident did not break (none in the first two samples)
        elsewhere = imp.get("background_elsewhere", {"endpoints": 0, "failures": 0})
        assert result.impact.background["failures"] == elsewhere["failures"]
        assert result.impact.background["endpoints"] == elsewhere["endpoints"]


def test_culprit_first_and_rollback_found(case: tuple[Analysis, dict]) -> None:
    result, expected = case
    top = result.suspects.row(0, named=True)
    assert top["version"] == expected["culprit"]["ref"]
    assert top["service"] == expected["culprit"]["service"]
    assert result.rollback is not None
    assert result.rollback["version"] == expected["rollback"]["ref"]
    assert abs((result.rollback["start"] - ts(expected["mitigation_action"]["started"])).total_seconds()) <= 60


def test_slo_budget_and_consumption(case: tuple[Analysis, dict]) -> None:
    result, expected = case
    want = expected["slo"]
    if want is None:
        pytest.skip("no SLO stated in incident.yaml")
    (slo,) = result.slos
    assert slo.budget_minutes == pytest.approx(want["budget_minutes"])
    assert slo.request_based["consumed"] == pytest.approx(want["consumed_fraction"], rel=0.02)
    assert slo.time_slice["bad_minutes"] == want["bad_minutes_in_impact"]


def test_burn_rate_replay_judges_only_covered_windows(case: tuple[Analysis, dict]) -> None:
    """The evidence spans expected.yaml's window: the 1 h alert can first be judged 59 minutes in (and fires then,
    the impact having started), the 6 h and 3 d alerts never; the first page is the PagerDuty trigger right after
    the first alert."""
    result, expected = case
    if expected["slo"] is None:
        pytest.skip("no SLO stated in incident.yaml")
    (slo,) = result.slos
    start, end = ts(expected["window"]["start"]), ts(expected["window"]["end"])
    assert slo.evidence_start == start
    rows = {r["alert"]: r for r in slo.alerts.iter_rows(named=True)}
    fast = rows["2% in 1h"]
    if "burn_alert_1h" in expected["slo"]:  # the generator replayed the alert on its records
        assert fast["fired_at"] == ts(expected["slo"]["burn_alert_1h"]["fires_at"])
    else:
        assert fast["covered_from"] == fast["fired_at"] == start + dt.timedelta(minutes=59) and fast["at_the_latest"]
        assert fast["uncovered_at"] is not None and fast["uncovered_at"] < fast["covered_from"]
    for name in ("5% in 6h", "10% in 3d"):
        assert rows[name]["fired_at"] is None and rows[name]["covered_from"] is None
        assert rows[name]["history"] == end - start
    detected = ts(expected["milestones"]["detected"])
    assert slo.first_page is not None and dt.timedelta(0) <= slo.first_page - detected <= dt.timedelta(seconds=15)
    assert slo.first_alert == result.milestones.detected


def test_severity_as_expected(case: tuple[Analysis, dict]) -> None:
    result, expected = case
    assert result.severity.final == expected["severity"]["declared"]
    assert result.severity.level == expected["severity"]["expected"]
    assert not result.severity.mismatch


def test_seed_000_declared_versus_measured() -> None:
    """The seed reports 45 minutes of downtime; its own table gives 30 bad minutes. Both are shown, named."""
    result = analyze(pm.Incident.load(ROOT / "INC-20250120-103000"))
    (slo,) = result.slos
    assert slo.declared == pytest.approx({"bad_minutes": 45, "consumed": 45 / 43.2, "over_budget_minutes": 1.8})
    assert slo.time_slice["bad_minutes"] == 30
    doc = result.to_dict()["slo"][0]
    assert doc["declared"]["over_budget_minutes"] == pytest.approx(1.8)
    assert doc["time_slice"]["bad_minutes"] == 30


def test_analyze_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(ROOT / "INC-2025-0142"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("milestones", "mttx", "impact", "slo", "severity", "suspects", "signatures", "cadence"):
        assert key in doc, key
    assert set(doc["milestones"]) == {"impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved"}
    assert doc["milestones"]["detected"]["ts"].endswith("Z")
    assert set(doc["mttx"]) >= {"mttd", "mtta", "mttm", "mttr", "duration"}
    assert doc["suspects"][0]["version"] == "v2.14.3"
    assert doc["slo"][0]["budget_minutes"] == 43.2


def _copy(tmp_path: Path, name: str = "INC-2025-0142") -> Path:
    dst = tmp_path / name
    shutil.copytree(ROOT / name, dst, ignore=shutil.ignore_patterns(".pmkit-cache"))
    return dst


def _edit(root: Path, change: callable) -> None:  # type: ignore[valid-type]
    path = root / "incident.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_overrides_drive_every_duration(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(
        root,
        lambda d: d.update(milestones={"impact_start": "2025-06-15T14:18:00Z", "resolved": "2025-06-15T16:00:00Z"}),
    )
    result = analyze(pm.Incident.load(root))
    assert result.milestones["impact_start"].overridden
    s = result.to_dict()["mttx"]
    detected = result.milestones.detected
    assert s["mttd"] == (detected - ts("2025-06-15T14:18:00Z")).total_seconds()
    assert s["mttr"] == 102 * 60
    assert s["mttm"] == (result.milestones.mitigated - ts("2025-06-15T14:18:00Z")).total_seconds()
    assert result.impact.start == ts("2025-06-15T14:18:00Z")


def _drop_update_3(root: Path) -> None:
    day = root / "chat" / "inc-2025-0142-payments" / "2025-06-15.json"
    msgs = [m for m in json.loads(day.read_text()) if "Update #3" not in m.get("text", "")]
    day.write_text(json.dumps(msgs))


BROKEN = {
    "severity": (lambda d: d.pop("severity"), "no severity declared"),
    "action_items": (lambda d: d.update(action_items=d["action_items"][:1]), "1 action item"),
    "blameless": (
        lambda d: d["narrative"].update(root_cause="Raj Patel pushed a typo; human error."),
        "human error",
    ),
    "root_cause": (lambda d: d["narrative"].pop("root_cause"), "root_cause is empty"),
    "five_whys": (lambda d: d.update(five_whys=[]), "5 Whys"),
    "runbook": (lambda d: d.pop("runbook"), "runbook"),
    "utc_timeline": (lambda d: d.update(sources=[s for s in d["sources"] if s["kind"] != "alerts"]), "detected"),
}


@pytest.mark.parametrize("gate", [*BROKEN, "cadence"])
def test_each_gate_fails_on_a_broken_copy(tmp_path: Path, gate: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy(tmp_path)
    if gate == "cadence":
        _drop_update_3(root)
        needle = "gap"
    else:
        change, needle = BROKEN[gate]
        _edit(root, change)
    assert main(["check", str(root)]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.split(":")[0].endswith(f" {gate}"))
    assert line.startswith("FAIL "), out
    assert needle.lower() in line.lower(), line
    failed = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    assert len(failed) == 1, out


def test_samples_pass_every_gate_but_their_wrong_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """INC-2025-0142's stated figures are true of its transactions; INC-20250120-103000's summary claims a
    "complete outage for 45 minutes" where the ground truth has a peak of 80.28% and 29.78 impact minutes."""
    assert main(["check", str(ROOT / "INC-2025-0142")]) == 0
    assert "FAIL" not in capsys.readouterr().out
    assert main(["check", str(ROOT / "INC-20250120-103000")]) == 1
    failed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("FAIL")]
    assert len(failed) == 1, failed
    assert failed[0].startswith("FAIL figures_agree: 2 stated figures disagree with the evidence: ")
    assert "narrative.summary says 'complete outage'; measured peak 80% (10:33 UTC), mean 54%" in failed[0]
    assert (
        "narrative.summary says '45 minutes'; measured 29 min 47 s (impact start 10:15:13 to mitigated 10:45:00 UTC)"
        in failed[0]
    )


@pytest.mark.parametrize("name", [n for n in SAMPLES if n not in ("INC-2025-0142", "INC-20250120-103000")])
def test_new_samples_pass_every_gate(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / name)]) == 0


def test_stated_figures_beside_the_ground_truth(case: tuple[Analysis, dict]) -> None:
    """Each stated figure measured over the whole impact is the ground truth's figure, and agrees or not by the
    documented tolerances applied to the ground truth (docs/analyses.md, "Stated figures")."""
    result, expected = case
    imp = expected["impact"]
    rows = [r for r in result.figures.rows if r.agrees is not None and "(up to the update)" not in r.basis]
    assert rows
    for r in rows:
        if r.quantity == "severity":
            continue
        if r.quantity == "failed_requests":
            transactions = r.measured_text.endswith("failed write requests")
            truth = imp["failed_transactions"] if transactions else imp["failed_requests"]
            assert r.measured == truth, r
            assert r.agrees == (abs(r.value - truth) <= 0.2 * truth), r
        elif r.quantity == "affected_users":
            writers = r.measured_text.endswith("users with a failed write request")
            truth = imp["affected_customers_transactions"] if writers else imp["affected_users"]
            assert r.measured == truth, r
            assert r.agrees == (abs(r.value - truth) <= 0.2 * truth), r
        elif r.quantity == "error_ratio":
            assert r.measured == pytest.approx(imp["peak_error_ratio"] * 100, abs=0.05), r
            close = min(abs(r.value - imp["peak_error_ratio"] * 100), abs(r.value - imp["error_ratio"] * 100))
            assert r.agrees == (close <= 10), r
        elif r.quantity == "duration":
            assert r.measured == pytest.approx(imp["impact_minutes"], abs=0.01), r
            assert r.agrees == (abs(r.value - imp["impact_minutes"]) <= max(5, 0.2 * imp["impact_minutes"])), r


def test_phase_boundaries_are_the_milestones(case: tuple[Analysis, dict]) -> None:
    """The response phases defined by milestones start and end at them (docs/analyses.md, "Response phases"):
    detection from impact start to detected, repair ends at resolution, monitoring from mitigated; repair starts
    after detection and no later than the rollback's start or mitigation."""
    result, expected = case
    ms, want = result.milestones, expected["milestones"]
    ph = result.phases
    det, diag, rep = ph.span("detection"), ph.span("diagnosis"), ph.span("repair")
    assert (det["start"], det["end"]) == (ms.impact_start, ms.detected)
    assert diag["start"] == ms.detected and rep["end"] == ms.resolved and diag["end"] == rep["start"]
    assert ph.monitoring == (ms.mitigated, ms.resolved)
    for got, name in ((det["start"], "impact_start"), (det["end"], "detected"), (rep["end"], "resolved")):
        assert abs((got - ts(want[name])).total_seconds()) <= 60, name
    assert abs((ph.monitoring[0] - ts(want["mitigated"])).total_seconds()) <= 60
    started = ts(expected["mitigation_action"]["started"])
    assert ms.detected <= rep["start"] <= min(started + dt.timedelta(seconds=60), ms.mitigated)
    # the sequential phases add up to impact start -> resolution
    total = det["duration"] + diag["duration"] + rep["duration"]
    assert total == ms.resolved - ms.impact_start
