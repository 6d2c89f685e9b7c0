"""The sample generator and the committed samples' ground truth (data/samples/*/expected.yaml).

The data is read back here with plain Python and polars, independently of pmkit's loaders;
``test_incident_load_matches_expected`` then holds the loaders to the same counts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import subprocess
import sys
import time
import zoneinfo
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from samplegen import INCIDENTS, generate
from samplegen.__main__ import main
from samplegen.scenarios import SCENARIOS
from samplegen.writers import am_fingerprint

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
IDS = sorted(INCIDENTS)
PAY, MIG = "INC-2025-0142", "INC-20250120-103000"
SEEDS = [PAY, MIG]  # the two samples of the seeds; the tests of their particular shapes run on them
SMALL = [sc.id for sc in SCENARIOS]  # the scenario-engine samples (samplegen/scenarios.py)
MB = 1_000_000
ZERO = "0001-01-01T00:00:00Z"
COMBINED = re.compile(
    r'^(?P<ip>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<proto>[^"]+)" '
    r'(?P<status>\d{3}) (?P<size>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" '
    r"rt=(?P<rt>\d+\.\d{3}) uid=(?P<uid>\S+) urt=(?P<urt>\S+)$"
)


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected(incident_id: str) -> dict[str, Any]:
    return yaml.safe_load((SAMPLES / incident_id / "expected.yaml").read_text(encoding="utf-8"))


def sample_files(root: Path) -> list[Path]:
    """Every file under ``root`` except hidden ones (as the loaders skip them)."""
    return [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sample_files(root)}


def read_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")


def access_log() -> list[dict[str, Any]]:
    rows = []
    for line in read_text(SAMPLES / PAY / "logs" / "access.log.gz").splitlines():
        m = COMBINED.match(line)
        assert m, f"not a combined line with rt/uid/urt: {line}"
        row = m.groupdict()
        row["ts"] = dt.datetime.strptime(row["time"], "%d/%b/%Y:%H:%M:%S %z").astimezone(dt.UTC)
        row["status"] = int(row["status"])
        rows.append(row)
    return rows


def prom_points(path: Path) -> list[tuple[dict[str, str], float, float]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["status"] == "success" and doc["data"]["resultType"] == "matrix"
    return [(s["metric"], ts, float(v)) for s in doc["data"]["result"] for ts, v in s["values"]]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    """One generation in this process, one in a subprocess with another hash seed; the first one's duration."""
    a, b = tmp_path_factory.mktemp("gen-a"), tmp_path_factory.mktemp("gen-b")
    t0 = time.perf_counter()
    generate(a)
    duration = time.perf_counter() - t0
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-m", "samplegen", str(b)], check=True, env=env, capture_output=True, cwd=ROOT)
    return a, b, duration


# ----------------------------------------------------------------------------- determinism, size


def test_two_generations_write_the_same_bytes(two_runs: tuple[Path, Path, float]) -> None:
    a, b = (files_of(r) for r in two_runs[:2])
    assert sorted(a) == sorted(b)
    assert len(a) > 50
    different = [name for name in a if a[name] != b[name]]
    assert not different


def test_committed_samples_are_what_the_generator_writes(two_runs: tuple[Path, Path, float]) -> None:
    for incident_id in IDS:
        fresh, committed = files_of(two_runs[0] / incident_id), files_of(SAMPLES / incident_id)
        assert sorted(committed) == sorted(fresh), "data/samples is stale: run python -m samplegen data/samples"
        stale = [name for name in fresh if fresh[name] != committed[name]]
        assert not stale, f"stale files (regenerate data/samples): {stale}"


def test_gzip_members_have_no_name_and_no_mtime() -> None:
    for path in [p for p in sample_files(SAMPLES) if p.suffix == ".gz"]:
        head = path.read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08", path
        assert head[3] & 0x08 == 0, f"{path}: gzip header carries a file name"
        assert head[4:8] == b"\0\0\0\0", f"{path}: gzip header carries an mtime"


def test_samples_fit_the_size_budget() -> None:
    files = sample_files(SAMPLES)
    total = sum(p.stat().st_size for p in files)
    assert total < 20 * MB
    assert total < 8 * MB, f"samples are {total / MB:.1f} MB; the aim is < 8 MB"
    for path in files:
        if path.stat().st_size > 1 * MB:
            assert path.suffix == ".gz", f"{path} is over 1 MB and not gzipped"


# ----------------------------------------------------------------------------- incident.yaml


@pytest.mark.parametrize("incident_id", IDS)
def test_incident_yaml_validates(incident_id: str) -> None:
    """Full validation, including that every format is registered (needs the logs loaders)."""
    from pmkit.spec import load_spec

    spec = load_spec(SAMPLES / incident_id)
    assert spec.id == incident_id
    assert {s.label for s in spec.sources} == set(expected(incident_id)["sources"])


@pytest.mark.parametrize("incident_id", SEEDS)
def test_incident_yaml_matches_the_spec_model(incident_id: str) -> None:
    from pmkit.spec import IncidentSpec

    spec = IncidentSpec.model_validate(yaml.safe_load((SAMPLES / incident_id / "incident.yaml").read_text()))
    exp = expected(incident_id)
    assert spec.severity == exp["severity"]["declared"]
    assert spec.severity_policy == exp["severity"]["policy"]
    assert len(spec.five_whys) == 5
    assert len(spec.action_items) >= 2 and all(a.owner and a.due for a in spec.action_items)
    assert spec.window is not None and spec.window.start == t(exp["window"]["start"])
    formats = {s.label: (s.kind, s.format) for s in spec.sources}
    assert formats["slack"] == ("chat", "slack")
    assert formats["deploys"] == ("deploys", "github-deployments")
    assert formats["alertmanager"] == ("alerts", "alertmanager") and formats["pagerduty"] == ("alerts", "pagerduty")
    for src in spec.sources:
        assert list((SAMPLES / incident_id).glob(src.path.rstrip("/") or ".")), f"{src.path} matches nothing"
    root_cause = spec.narrative.root_cause or ""
    people = {"jane", "john", "priya", "marco", "alex", "raj", "mei", "luis", "tom", "sara"}
    assert not people & set(re.findall(r"[a-z]+", root_cause.lower())), "root cause must be blameless"
    slo = spec.slos[0]
    assert (slo.objective, slo.period, slo.type) == (99.9, "30d", "request")
    if incident_id == MIG:
        assert slo.declared_bad_minutes == 45
    else:
        assert next(s for s in spec.sources if s.label == "app").timezone == "Europe/Berlin"
        assert slo.good == "status < 500" and slo.source == "nginx"


# ----------------------------------------------------------------------------- expected.yaml


@pytest.mark.parametrize("incident_id", SEEDS)
def test_expected_is_internally_consistent(incident_id: str) -> None:
    exp = expected(incident_id)
    ms = {k: t(v) for k, v in exp["milestones"].items()}
    order = ["impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved"]
    assert [ms[k] for k in order] == sorted(ms[k] for k in order)
    w0, w1 = t(exp["window"]["start"]), t(exp["window"]["end"])
    assert all(w0 <= v <= w1 for v in ms.values())
    imp = exp["impact"]
    assert 0 < imp["failed_requests"] <= imp["total_requests"]
    assert imp["affected_users"] <= imp["failed_requests"]
    assert 0 < imp["peak_error_ratio"] <= 1
    assert t(imp["window"]["start"]) <= ms["impact_start"] < t(imp["window"]["end"]) == ms["mitigated"]
    assert sum(imp["failed_by_status" if incident_id == PAY else "failed_by_code"].values()) == imp["failed_requests"]
    assert imp["p95_latency_ms"]["during"] > 10 * imp["p95_latency_ms"]["before"]
    mt = exp["mttx_minutes"]
    assert mt["mttd"] == pytest.approx((ms["detected"] - ms["impact_start"]).total_seconds() / 60, abs=0.01)
    assert mt["mttr"] == pytest.approx((ms["resolved"] - ms["impact_start"]).total_seconds() / 60, abs=0.01)
    slo = exp["slo"]
    assert slo["budget_minutes"] == 43.2
    assert slo["consumed_fraction"] == pytest.approx(slo["failed_requests"] / slo["budget_requests"], abs=1e-3)
    assert slo["bad_minutes_in_impact"] <= slo["bad_minutes"]
    cad = exp["cadence"]
    assert cad["kept"] is True and cad["max_gap_minutes"] <= cad["required_minutes"] == 15
    stamps = [t(cad["declared"]), *map(t, cad["updates"]), t(cad["resolution_update"])]
    assert stamps == sorted(stamps)
    assert exp["rollback"]["rollback_of"] == exp["culprit"]["deployment_id"]
    assert exp["changes_before_impact"][0]["deployment_id"] == exp["culprit"]["deployment_id"]
    assert t(exp["mitigation_action"]["started"]) < t(exp["mitigation_action"]["completed"]) <= ms["mitigated"]
    assert ms["detected"] == t(exp["alerts"]["first_firing"]["starts_at"])


def test_payments_figures_reproduce_the_seed() -> None:
    exp = expected(PAY)
    imp, ms = exp["impact"], exp["milestones"]
    assert 2100 <= imp["failed_transactions"] <= 2700  # "~2,400 failed transactions"
    assert 1600 <= imp["affected_customers_transactions"] <= 2000  # "~1,800 unique customers"
    assert imp["peak_transaction_error_ratio"] == 1.0  # "100% of payment transactions failing"
    assert t("2025-06-15T14:19:00Z") <= t(ms["impact_start"]) < t("2025-06-15T14:21:00Z")
    assert t(ms["detected"]).strftime("%H:%M") == "14:23"
    assert t(ms["acknowledged"]).strftime("%H:%M") == "14:25"
    assert t(ms["declared"]).strftime("%H:%M") == "14:28"
    # the last failing request of the incident; every minute from 15:00 on is back at baseline
    assert t("2025-06-15T14:59:00Z") <= t(ms["mitigated"]) < t("2025-06-15T15:00:00Z")
    assert t(ms["resolved"]).strftime("%H:%M") == "15:47"
    assert exp["culprit"]["ref"] == "v2.14.3" and exp["culprit"]["deployed_at"].startswith("2025-06-15T14:18")
    assert exp["mitigation_action"]["started"].startswith("2025-06-15T14:38")
    assert exp["mitigation_action"]["completed"].startswith("2025-06-15T14:42")
    assert exp["mitigation_action"]["first_success_after"].startswith("2025-06-15T14:47")
    assert exp["severity"]["expected"] == "SEV1"


def test_migration_figures_reproduce_the_seed() -> None:
    exp = expected(MIG)
    imp, ms, slo = exp["impact"], exp["milestones"], exp["slo"]
    assert 450_000 <= imp["failed_requests"] <= 550_000  # "~500,000 failed requests"
    assert 9_000 <= imp["affected_users"] <= 11_000  # "~10,000 users"
    assert imp["phases"]["errors_80pct"]["error_ratio"] == pytest.approx(0.80, abs=0.005)
    assert imp["phases"]["errors_2pct"]["error_ratio"] == pytest.approx(0.02, abs=0.002)
    assert imp["baseline_error_ratio"] == pytest.approx(0.0005, abs=0.0002)
    assert imp["p95_latency_ms"]["before"] == pytest.approx(150, abs=10)
    assert imp["p95_latency_ms"]["during"] == pytest.approx(15000, abs=100)
    assert t("2025-01-20T10:16:00Z") <= t(ms["detected"]) <= t("2025-01-20T10:17:00Z")
    assert t(ms["mitigated"]) == t("2025-01-20T10:45:00Z")
    assert slo["bad_minutes"] == 30 and slo["declared_bad_minutes"] == 45
    assert slo["declared_over_budget_minutes"] == 1.8
    assert slo["declared_consumed_fraction"] == pytest.approx(45 / 43.2, abs=1e-4)
    assert slo["consumed_fraction_time_slice"] == pytest.approx(30 / 43.2, abs=1e-4)
    assert exp["severity"]["expected"] == "P0"


# ----------------------------------------------------------------------------- the data, read back


@pytest.mark.parametrize("incident_id", SEEDS)
def test_source_counts_match_the_files(incident_id: str) -> None:
    """Each source's count, recomputed from the files with plain Python."""
    root, exp = SAMPLES / incident_id, expected(incident_id)["sources"]
    for name, want in exp.items():
        if want["unit"] == "lines":
            path = next(
                root.glob(
                    "logs/access.log*"
                    if name == "nginx"
                    else f"logs/{'payments-api' if incident_id == PAY else 'api'}.jsonl.gz"
                )
            )
            got = len(read_text(path).splitlines())
        elif want["unit"] == "samples":
            spec = yaml.safe_load((root / "incident.yaml").read_text())
            path = root / next(s["path"] for s in spec["sources"] if s["name"] == name)
            got = len(prom_points(path))
        elif name == "deploys":
            deps = [d for p in sorted((root / "deploys").glob("*.json")) for d in json.loads(p.read_text())]
            assert len(deps) == want["deployments"]
            got = len(deps) + sum(len(d["statuses"]) for d in deps)
        elif name == "slack":
            got = sum(len(json.loads(p.read_text())) for p in (root / "chat").glob("*/*.json"))
        elif name == "alertmanager":
            got = sum(len(json.loads(p.read_text())["alerts"]) for p in (root / "alerts/alertmanager").glob("*.json"))
        else:
            docs = [json.loads(p.read_text()) for p in sorted((root / "alerts/pagerduty").glob("*.json"))]
            got = sum(len(d["messages"]) if "messages" in d else 1 for d in docs)
        assert got == want["count"], name


def test_access_log_matches_ground_truth() -> None:
    exp = expected(PAY)
    rows = access_log()
    imp = exp["impact"]
    lo, hi = t(imp["window"]["start"]), t(imp["window"]["end"])
    win = [r for r in rows if lo <= r["ts"] <= hi]  # [impact_start, mitigated], both ends included
    failed = [r for r in win if r["status"] >= 500]
    assert len(win) == imp["total_requests"]
    assert len(failed) == imp["failed_requests"]
    assert len({r["uid"] for r in failed if r["uid"] != "-"}) == imp["affected_users"]
    posts = [r for r in failed if r["method"] == "POST" and r["path"] == "/api/v1/payments"]
    assert len(posts) == imp["failed_transactions"]
    assert len({r["uid"] for r in posts}) == imp["affected_customers_transactions"]
    assert dict(sorted(Counter(str(r["status"]) for r in failed).items())) == imp["failed_by_status"]
    deployed = t(exp["culprit"]["deployed_at"])
    first = min(r["ts"] for r in rows if r["status"] >= 500 and r["ts"] >= deployed)
    assert first == t(exp["milestones"]["impact_start"])
    assert all(r["time"].endswith(" +0200") for r in rows)
    # mitigated is the last failing request of the incident (the window's end); back to baseline and staying
    # there from the next whole minute on
    per_minute: dict[dt.datetime, list[int]] = {}
    for r in rows:
        per_minute.setdefault(r["ts"].replace(second=0), []).append(r["status"])
    mitigated = t(exp["milestones"]["mitigated"])
    assert mitigated == hi and any(r["ts"] == mitigated and r["status"] >= 500 for r in rows)
    recovered = mitigated.replace(second=0) + dt.timedelta(minutes=1)
    after = [sum(s >= 500 for s in v) / len(v) for m, v in per_minute.items() if m >= recovered]
    assert max(after) <= 0.01
    before = per_minute[recovered - dt.timedelta(minutes=1)]
    assert sum(s >= 500 for s in before) / len(before) > 0.01
    posts_all = [r for r in rows if r["method"] == "POST" and lo <= r["ts"] < hi]
    ok_after = min(r["ts"] for r in posts_all if r["status"] == 201 and r["ts"] >= t(exp["rollback"]["completed_at"]))
    assert ok_after == t(exp["mitigation_action"]["first_success_after"])


def test_access_log_read_with_polars() -> None:
    exp = expected(PAY)
    text = read_text(SAMPLES / PAY / "logs" / "access.log.gz")
    df = (
        pl.DataFrame({"line": text.splitlines()})
        .with_columns(pl.col("line").str.extract_groups(COMBINED.pattern.replace("?P<", "?<")).alias("g"))
        .unnest("g")
        .with_columns(
            pl.col("time").str.strptime(pl.Datetime("us", "UTC"), "%d/%b/%Y:%H:%M:%S %z").alias("ts"),
            pl.col("status").cast(pl.Int32),
        )
    )
    assert df.get_column("status").null_count() == 0
    imp = exp["impact"]
    win = df.filter(pl.col("ts").is_between(t(imp["window"]["start"]), t(imp["window"]["end"]), closed="both"))
    bad = win.filter(pl.col("status") >= 500)
    assert bad.height == imp["failed_requests"]
    assert bad.filter(pl.col("uid") != "-").get_column("uid").n_unique() == imp["affected_users"]
    slo = exp["slo"]
    assert df.height / 180 == pytest.approx(slo["mean_requests_per_minute"], abs=1e-3)
    per_min = df.group_by(pl.col("ts").dt.truncate("1m")).agg(((pl.col("status") >= 500).mean()).alias("r"))
    assert per_min.filter(pl.col("r") > 0.001).height == slo["bad_minutes"]


def test_payments_metrics_agree_with_the_access_log() -> None:
    exp = expected(PAY)
    rows = access_log()
    counts = Counter(((int(r["ts"].timestamp()) // 60 + 1) * 60, r["status"]) for r in rows)
    points = prom_points(SAMPLES / PAY / "metrics" / "ingress_requests_by_status.json")
    got = Counter()
    for labels, ts, v in points:
        got[(int(ts), int(labels["status"]))] += int(v)
    assert +got == +counts
    assert sum(v for (_, s), v in got.items() if s >= 500) == exp["cross_checks"]["metrics_5xx_total"]
    pool = prom_points(SAMPLES / PAY / "metrics" / "db_pool_connections.json")
    maxima = {v for labels, _, v in pool if labels["__name__"] == "db_pool_connections_max"}
    assert maxima == {5.0, 50.0}
    restarts = prom_points(SAMPLES / PAY / "metrics" / "pod_restarts.json")
    assert max(v for _, _, v in restarts) >= 3


def test_payments_app_log_naive_berlin_times_and_stack_traces() -> None:
    exp = expected(PAY)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    recs = [json.loads(line) for line in read_text(SAMPLES / PAY / "logs" / "payments-api.jsonl.gz").splitlines()]
    assert len(recs) == exp["sources"]["app"]["count"]
    assert all(re.fullmatch(r"2025-06-15 \d\d:\d\d:\d\d\.\d{3}", r["ts"]) for r in recs)
    first = next(r for r in recs if r["level"] == "ERROR" and "database connection" in r["msg"])
    local = dt.datetime.strptime(first["ts"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=berlin)
    assert local.astimezone(dt.UTC) == t(exp["cross_checks"]["app_first_pool_error"])
    assert (
        first["exc"].startswith("Traceback (most recent call last):\n") and "QueuePool limit of size 5" in first["exc"]
    )
    pool = [r for r in recs if r["msg"].endswith("could not acquire a database connection") and "user_id" in r]
    assert len(pool) == exp["cross_checks"]["app_pool_timeout_errors"]
    assert {r["max_conns"] for r in recs if r["msg"] == "db pool configured"} == {5, 50}
    assert any(r.get("reason") == "BackOff" for r in recs)


def test_migration_log_repeats_equal_the_metrics_failures() -> None:
    exp = expected(MIG)
    df = pl.read_ndjson(gzip.decompress((SAMPLES / MIG / "logs" / "api.jsonl.gz").read_bytes()))
    assert df.height == exp["sources"]["app"]["count"]
    df = df.with_columns(pl.col("ts").str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%S%.3fZ"))
    errors = df.filter(pl.col("repeats").is_not_null())
    imp = exp["impact"]
    lo, hi = t(imp["window"]["start"]), t(imp["window"]["end"])
    inwin = errors.filter(pl.col("ts").is_between(lo, hi, closed="left"))
    points = prom_points(SAMPLES / MIG / "metrics" / "http_requests_by_code.json")
    metric_failed = sum(
        v for labels, ts, v in points if int(labels["code"]) >= 500 and lo.timestamp() < ts <= hi.timestamp()
    )
    assert inwin.get_column("repeats").sum() == metric_failed == imp["failed_requests"]
    assert errors.get_column("repeats").sum() == exp["log_cross_check"]["metrics_failed_total"]
    assert (
        sum(v for labels, _, v in points if int(labels["code"]) >= 500)
        == exp["log_cross_check"]["metrics_failed_total"]
    )
    assert inwin.get_column("user_id").n_unique() == imp["affected_users"]
    # at most one error line per user per minute
    per = inwin.group_by("user_id", pl.col("ts").dt.truncate("1m")).len()
    assert per.get_column("len").max() == 1
    assert inwin.get_column("ts").min() == t(exp["milestones"]["impact_start"])
    assert errors.filter(pl.col("exc").is_not_null()).height > 0


def test_migration_metrics_follow_the_seed_table() -> None:
    points = prom_points(SAMPLES / MIG / "metrics" / "http_requests_by_code.json")
    tot: Counter[float] = Counter()
    bad: Counter[float] = Counter()
    for labels, ts, v in points:
        tot[ts] += v
        if int(labels["code"]) >= 500:
            bad[ts] += v
    for ts in tot:
        minute = dt.datetime.fromtimestamp(ts - 60, dt.UTC).strftime("%H:%M")
        ratio = bad[ts] / tot[ts]
        assert 500 * 60 * 0.95 < tot[ts] < 540 * 60 * 1.05
        if "10:15" <= minute < "10:35":
            assert ratio == pytest.approx(0.80, abs=0.006), minute
        elif "10:35" <= minute < "10:45":
            assert ratio == pytest.approx(0.02, abs=0.0015), minute
        else:
            assert ratio <= 0.001, minute
    lat = prom_points(SAMPLES / MIG / "metrics" / "http_latency_p95.json")
    assert max(v for _, _, v in lat) == pytest.approx(15.0, abs=0.05)


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize("incident_id", SEEDS)
def test_alertmanager_payloads(incident_id: str) -> None:
    exp = expected(incident_id)
    docs = [json.loads(p.read_text()) for p in sorted((SAMPLES / incident_id / "alerts/alertmanager").glob("*.json"))]
    keys = {
        "version",
        "groupKey",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    seen: Counter[tuple[str, str, str]] = Counter()
    for d in docs:
        assert keys <= set(d) and d["version"] == "4"
        for a in d["alerts"]:
            assert {"alertname", "severity", "service"} <= set(a["labels"])
            assert {"summary", "description"} <= set(a["annotations"])
            assert a["fingerprint"] == am_fingerprint(a["labels"])
            assert (a["endsAt"] == ZERO) == (a["status"] == "firing")
            seen[(a["fingerprint"], a["startsAt"], a["status"])] += 1
    assert max(seen.values()) >= 2, "a repeat notification"
    first = exp["alerts"]["first_firing"]
    fired = [a for d in docs for a in d["alerts"] if a["labels"]["alertname"] == first["alertname"]]
    assert {a["status"] for a in fired} == {"firing", "resolved"}
    assert fired[0]["startsAt"][:26] == first["starts_at"][:26]


def test_pagerduty_v3_events() -> None:
    exp = expected(PAY)
    docs = [json.loads(p.read_text()) for p in sorted((SAMPLES / PAY / "alerts/pagerduty").glob("*.json"))]
    events = [d["event"] for d in docs]
    types = [e["event_type"] for e in events]
    assert types[0] == "incident.triggered" and types[-1] == "incident.resolved"
    assert {
        "incident.acknowledged",
        "incident.priority_updated",
        "incident.annotated",
        "incident.status_update_published",
    } <= set(types)
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)
    ack = next(e for e in events if e["event_type"] == "incident.acknowledged")
    assert t(ack["occurred_at"]) == t(exp["milestones"]["acknowledged"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ack["occurred_at"])
    prio = next(e for e in events if e["event_type"] == "incident.priority_updated")
    assert prio["data"]["priority"]["summary"] == "P1"


def test_pagerduty_legacy_v2_webhooks() -> None:
    exp = expected(MIG)
    docs = [json.loads(p.read_text()) for p in sorted((SAMPLES / MIG / "alerts/pagerduty").glob("*.json"))]
    msgs = [m for d in docs for m in d["messages"]]
    assert msgs[0]["event"] == "incident.trigger" and msgs[-1]["event"] == "incident.resolve"
    assert any(len(d["messages"]) > 1 for d in docs)
    for m in msgs:
        assert {"event", "created_on", "incident", "log_entries", "id"} <= set(m)
    ack = next(m for m in msgs if m["event"] == "incident.acknowledge")
    assert t(ack["created_on"]) == t(exp["milestones"]["acknowledged"])


@pytest.mark.parametrize("incident_id", SEEDS)
def test_slack_export(incident_id: str) -> None:
    exp = expected(incident_id)
    chat = SAMPLES / incident_id / "chat"
    channels = json.loads((chat / "channels.json").read_text())
    users = {u["id"] for u in json.loads((chat / "users.json").read_text())}
    msgs = [m for p in sorted(chat.glob("*/*.json")) for m in json.loads(p.read_text())]
    assert {c["name"] for c in channels} == {p.name for p in chat.iterdir() if p.is_dir()}
    assert all(re.fullmatch(r"\d{10}\.\d{6}", m["ts"]) for m in msgs)
    assert len({m["ts"] for m in msgs}) == len(msgs)
    assert {"channel_join", "bot_message", "channel_topic"} <= {m.get("subtype") for m in msgs}
    assert all(m["user"] in users for m in msgs if "user" in m)
    parents = [m for m in msgs if m.get("reply_count")]
    assert parents and all(len(p["replies"]) == p["reply_count"] for p in parents)
    assert all(m["parent_user_id"] for m in msgs if "thread_ts" in m and m["thread_ts"] != m["ts"])
    cad = exp["cadence"]
    stamps = {
        f"{dt.datetime.fromtimestamp(int(m['ts'].split('.')[0]), dt.UTC):%Y-%m-%dT%H:%M:%S}.{m['ts'][-6:]}Z"
        for m in msgs
    }
    assert set(cad["updates"]) | {cad["declared"], cad["resolution_update"]} <= stamps
    marker = "Payment Processing — Update #" if incident_id == PAY else "**Severity**: P0"
    assert sum(marker in m.get("text", "") for m in msgs) == len(cad["updates"])


@pytest.mark.parametrize("incident_id", SEEDS)
def test_github_deployments(incident_id: str) -> None:
    exp = expected(incident_id)
    deps = [d for p in sorted((SAMPLES / incident_id / "deploys").glob("*.json")) for d in json.loads(p.read_text())]
    by_id = {d["id"]: d for d in deps}
    culprit, rollback = by_id[exp["culprit"]["deployment_id"]], by_id[exp["rollback"]["deployment_id"]]
    assert culprit["ref"] == exp["culprit"]["ref"] and culprit["sha"] == exp["culprit"]["sha"]
    assert rollback["task"] == "deploy:rollback" and rollback["description"].startswith("Rollback to ")
    assert rollback["payload"]["rollback_of"] == culprit["id"]
    for d in deps:
        assert d["payload"]["service"]
        assert {
            "url",
            "id",
            "node_id",
            "sha",
            "ref",
            "task",
            "environment",
            "creator",
            "created_at",
            "statuses",
        } <= set(d)
        assert all(s["state"] in {"in_progress", "success", "failure", "inactive"} for s in d["statuses"])
        assert [s["created_at"] for s in d["statuses"]] == sorted(
            (s["created_at"] for s in d["statuses"]), reverse=True
        )
    done = next(s for s in rollback["statuses"] if s["state"] == "success")
    assert t(done["created_at"]) == t(exp["rollback"]["completed_at"])


# ----------------------------------------------------------------------------- large variant, CLI


def test_large_variant_has_exactly_n_lines(tmp_path: Path) -> None:
    n = 40_000
    generate(tmp_path, large_lines=n)
    root = tmp_path / PAY
    log = root / "logs" / "access.log"
    assert log.is_file() and not (root / "logs" / "access.log.gz").exists()
    lines = log.read_text().splitlines()
    assert len(lines) == n and all(COMBINED.match(x) for x in lines[:2000])
    exp = yaml.safe_load((root / "expected.yaml").read_text())
    assert exp["sources"]["nginx"]["count"] == n
    assert exp["impact"]["failed_requests"] > expected(PAY)["impact"]["failed_requests"]
    stamps = [dt.datetime.strptime(x.split("[", 1)[1][:26], "%d/%b/%Y:%H:%M:%S %z") for x in lines]
    assert stamps == sorted(stamps)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--only", MIG]) == 0
    assert (tmp_path / MIG / "expected.yaml").is_file() and not (tmp_path / PAY).exists()
    assert "wrote" in capsys.readouterr().out


# ----------------------------------------------------------------------------- with pmkit's loaders


@pytest.mark.parametrize(
    "incident_id",
    IDS,
)
def test_incident_load_matches_expected(incident_id: str) -> None:
    """Every source parses to the expected count with no rejects (needs every loader)."""
    from pmkit import Incident

    inc = Incident.load(SAMPLES / incident_id)
    exp = expected(incident_id)["sources"]
    report = {r["source"]: r for r in inc.report.iter_rows(named=True)}
    assert sorted(report) == sorted(exp)
    problems = [
        f"{name}: parsed {report[name]['parsed']} {report[name]['unit']}, rejected {report[name]['rejected']}; "
        f"expected {want['count']} {want['unit']}"
        for name, want in exp.items()
        if report[name]["parsed"] != want["count"] or report[name]["rejected"] != 0
    ]
    assert not problems
    assert inc.rejects.height == 0


def test_readme_figures_are_the_generated_ones() -> None:
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    pay, mig = expected(PAY), expected(MIG)
    for value in (
        pay["sources"]["nginx"]["count"],
        pay["impact"]["failed_requests"],
        pay["impact"]["total_requests"],
        pay["impact"]["failed_transactions"],
        pay["impact"]["affected_customers_transactions"],
        pay["impact"]["affected_users"],
        mig["impact"]["failed_requests"],
        mig["impact"]["total_requests"],
        mig["impact"]["affected_users"],
        mig["impact"]["active_users"],
    ):
        assert f"{value:,}" in readme, f"data/samples/README.md does not say {value:,}; update its figures"
    for key in pay | mig:
        assert f"`{key}" in readme or key == "id", f"README does not document {key!r}"


# ----------------------------------------------------------------------------- the scenario-engine samples

ACCESS = re.compile(
    r'^(?P<ip>\S+) - - \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3}) \d+ '
    r'"[^"]*" "(?P<agent>[^"]*)" rt=(?P<rt>\d+\.\d{3})(?: uid=(?P<uid>\S+))?$'
)


def small_requests(incident_id: str) -> list[dict[str, Any]]:
    """The request log read back with a regex: time, method, path (no query), status, rt (ms), uid."""
    rows = []
    for line in read_text(SAMPLES / incident_id / "logs" / "access.log.gz").splitlines():
        m = ACCESS.match(line)
        assert m, line
        path, _, query = m["path"].partition("?")
        uid = dict(kv.split("=", 1) for kv in query.split("&") if kv).get("uid") if query else m["uid"]
        rows.append(
            {
                "ts": dt.datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z"),
                "method": m["method"],
                "path": path,
                "status": int(m["status"]),
                "rt": round(float(m["rt"]) * 1000),
                "uid": None if uid in (None, "-") else uid,
                "agent": m["agent"],
            }
        )
    return rows


@pytest.mark.parametrize("incident_id", SMALL)
def test_small_samples_are_small(incident_id: str) -> None:
    assert sum(p.stat().st_size for p in sample_files(SAMPLES / incident_id)) < 3 * MB


@pytest.mark.parametrize("incident_id", SMALL)
def test_small_expected_is_internally_consistent(incident_id: str) -> None:
    exp = expected(incident_id)
    ms = {k: t(v) for k, v in exp["milestones"].items()}
    order = ["impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved"]
    assert [ms[k] for k in order] == sorted(ms[k] for k in order)
    w0, w1 = t(exp["window"]["start"]), t(exp["window"]["end"])
    assert w0 + dt.timedelta(minutes=30) <= ms["impact_start"] and ms["resolved"] <= w1 <= w0 + dt.timedelta(hours=3)
    imp = exp["impact"]
    assert t(imp["window"]["start"]) <= ms["impact_start"] < t(imp["window"]["end"]) == ms["mitigated"]
    assert 0 <= imp["failed_requests"] <= imp["bad_requests"] <= imp["total_requests"]
    assert imp["affected_users"] <= imp["active_users"]
    assert imp["incident_failed_requests"] + imp["background_failed_requests"] == imp["failed_requests"]
    mt = exp["mttx_minutes"]
    assert mt["mttd"] == pytest.approx((ms["detected"] - ms["impact_start"]).total_seconds() / 60, abs=0.01)
    assert mt["mttm"] == pytest.approx(imp["impact_minutes"], abs=0.01)
    assert (
        t(exp["culprit"]["deployed_at"]) <= ms["impact_start"] <= t(exp["rollback"]["completed_at"]) <= ms["mitigated"]
    )
    assert exp["rollback"]["rollback_of"] == exp["culprit"]["deployment"]
    assert exp["changes_before_impact"][0]["deployment"] == exp["culprit"]["deployment"]
    assert exp["alerts"]["first_firing"]["starts_at"] == exp["milestones"]["detected"]
    assert exp["severity"]["expected"] == exp["severity"]["declared"], "the author declares what the policy gives"


@pytest.mark.parametrize("incident_id", SMALL)
def test_small_source_counts_match_the_files(incident_id: str) -> None:
    root, exp = SAMPLES / incident_id, expected(incident_id)["sources"]
    spec = yaml.safe_load((root / "incident.yaml").read_text())
    paths = {s["name"]: root / s["path"] for s in spec["sources"]}
    assert set(paths) == set(exp)
    for name, want in exp.items():
        path = paths[name]
        if want["unit"] == "lines":
            got = len(read_text(path).splitlines())
        elif want["unit"] == "samples":
            got = len(prom_points(path))
        elif name == "deploys":
            docs = [json.loads(p.read_text()) for p in sorted(path.glob("*.json"))]
            got = sum(
                len(d["status"]["history"]) if "status" in d else 1 + len(d["statuses"])
                for doc in docs
                for d in (doc if isinstance(doc, list) else [doc])
            )
        elif name == "chat":
            if path.is_file():
                got = len(path.read_text().splitlines())
            else:
                got = sum(len(json.loads(p.read_text())) for p in path.glob("*/*.json"))
        elif name == "alertmanager":
            got = sum(len(json.loads(p.read_text())["alerts"]) for p in path.glob("*.json"))
        else:
            got = len(list(path.glob("*.json")))
        assert got == want["count"], name


@pytest.mark.parametrize("incident_id", [i for i in SMALL if (SAMPLES / i / "logs" / "access.log.gz").exists()])
def test_small_request_log_recomputes_the_impact(incident_id: str) -> None:
    """Totals, failures, users and the peak minute of expected.yaml, from the request log read back: every line in
    the window [start, end] (both included: the request log's seconds), health checks included."""
    exp = expected(incident_id)
    imp = exp["impact"]
    lo, hi = t(imp["window"]["start"]), t(imp["window"]["end"])
    rows = small_requests(incident_id)
    win = [r for r in rows if lo <= r["ts"] <= hi]
    health = [r for r in win if r["path"] == "/healthz"]
    failed = [r for r in win if r["status"] >= 500]
    assert len(win) == imp["total_requests"] and len(win) - len(health) == imp["user_requests_in_window"]
    assert len(health) == imp["health_checks_in_window"]
    assert len(failed) == imp["failed_requests"]
    slow = [r for r in win if imp.get("latency_threshold_ms") and r["rt"] >= imp["latency_threshold_ms"]]
    bad_users = {r["uid"] for r in failed} | {r["uid"] for r in slow}
    assert len(bad_users - {None}) == imp["affected_users"]
    assert len({r["uid"] for r in win} - {None}) == imp["active_users"]
    per_min: dict[dt.datetime, list[int]] = {}
    for r in rows:  # whole minutes, from the start's minute to the one holding mitigated
        if lo.replace(second=0) <= r["ts"].replace(second=0) <= hi.replace(second=0):
            per_min.setdefault(r["ts"].replace(second=0), []).append(r["status"] >= 500)
    peak = max(sorted(per_min), key=lambda m: sum(per_min[m]) / len(per_min[m]))
    assert sum(per_min[peak]) / len(per_min[peak]) == pytest.approx(imp["peak_error_ratio"], abs=1e-4)
    assert t(exp["milestones"]["mitigated"]) == hi and max(r["ts"] for r in failed + slow) >= hi


def test_checkout_shape() -> None:
    """Health checks and background 5xx before the impact in the request log, ?uid=, a staging deploy beside."""
    exp, rows = expected(SMALL[0]), small_requests(SMALL[0])
    start = t(exp["milestones"]["impact_start"])
    assert sum(r["agent"] == "ELB-HealthChecker/2.0" for r in rows) > 1000
    assert (
        sum(r["status"] >= 500 for r in rows if r["ts"] < start)
        == exp["impact"]["background_failed_before_impact"]
        > 20
    )
    text = read_text(SAMPLES / SMALL[0] / "logs" / "access.log.gz")
    assert "?uid=u_" in text and " uid=" not in text
    staging = [c for c in exp["changes_before_impact"] if c["environment"] == "staging"]
    assert staging and abs(t(staging[0]["deployed_at"]) - t(exp["culprit"]["deployed_at"])) < dt.timedelta(minutes=1)


def test_orders_shape() -> None:
    """logfmt with raw traceback lines, no SLO, per-minute request counts whose sum is the truth."""
    root, exp = SAMPLES / SMALL[1], expected(SMALL[1])
    assert "slos" not in yaml.safe_load((root / "incident.yaml").read_text()) and exp["slo"] is None
    lines = read_text(root / "logs" / "orders-api.log.gz").splitlines()
    assert lines[0].startswith("ts=") and "Traceback (most recent call last):" in lines
    assert sum(x == "KeyError: 'currency'" for x in lines) == exp["impact"]["incident_failed_requests"]
    points = prom_points(root / "metrics" / "http_requests_by_code.json")
    lo, hi = t(exp["impact"]["window"]["start"]).timestamp(), t(exp["impact"]["window"]["end"]).timestamp()
    inside = [(labels, v) for labels, at, v in points if lo < at <= hi]  # a sample at t counts [t-60s, t)
    assert sum(v for _, v in inside) == exp["impact"]["total_requests"]
    assert sum(v for labels, v in inside if labels["code"].startswith("5")) == exp["impact"]["failed_requests"]


def test_search_shape() -> None:
    """No request fails; p90 of the metrics jumps about 100x during the impact."""
    exp, rows = expected(SMALL[2]), small_requests(SMALL[2])
    assert not any(r["status"] >= 500 for r in rows)
    points = prom_points(SAMPLES / SMALL[2] / "metrics" / "http_latency_p90.json")
    lo, hi = t(exp["impact"]["window"]["start"]).timestamp(), t(exp["impact"]["window"]["end"]).timestamp()
    before = max(v for _, at, v in points if at <= lo)
    during = min(v for _, at, v in points if lo + 120 <= at <= hi)
    assert during > 50 * before
    assert 20 <= exp["impact"]["impact_minutes"] <= 30
