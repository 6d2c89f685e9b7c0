"""A portfolio corpus: many postmortems over twelve months, with the truth that was planted.

``python -m samplegen.portfolio OUT_DIR [--n 60] [--folders K] [--include PATH ...]`` writes

- ``OUT_DIR/postmortems/<id>.md``: one postmortem per incident, Markdown with YAML front matter (the format
  ``pmkit.portfolio`` reads, docs/analyses.md "Portfolio"): id, title, date, severity, services, milestones,
  root-cause category, log signatures, SLO budget consumed per SLO, impact facts and action items with
  owner, due date and status;
- ``OUT_DIR/incidents/<id>/`` (``--folders K``): K evidence folders, copies of the bundled samples under new ids
  (the evidence is the sample's, only ``id:`` changes) for benchmarks that need many folders;
- ``OUT_DIR/portfolio.yaml``: the date the statuses are true on (``as_of``) and the incident folders kept
  elsewhere (``include``, e.g. the bundled samples);
- ``OUT_DIR/truth.yaml``: what was planted, one entry per incident (milestones, severity, services, category,
  SLO minutes consumed, action items, which document gates were left to fail) plus the year's MTTR trend
  factor. For the included sample folders the truth is their ``expected.yaml``.

What varies: severity (SEV1..SEV4), one or two of six services, the month (the whole of 2025), milestones left
out (about one in eight incidents lacks one), a few incidents measured from detection, done and overdue action
items, recurring root-cause categories and log signatures, and MTTR that shortens through the year (the trend
the portfolio should find). Deterministic: same arguments, same bytes (:class:`samplegen.common.Rng`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from samplegen.common import Rng

YEAR = 2025
AS_OF = dt.date(2026, 1, 15)  # statuses are true on this day (action items due before it and not done are overdue)
SERVICES = ("payments-api", "checkout", "search", "auth", "notifications", "inventory")
SERVICE_WEIGHTS = (0.26, 0.48, 0.63, 0.78, 0.9, 1.0)  # cumulative
OBJECTIVE = {
    "payments-api": 99.9,
    "checkout": 99.9,
    "search": 99.5,
    "auth": 99.95,
    "notifications": 99.0,
    "inventory": 99.5,
}
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
SEVERITY_WEIGHTS = (0.1, 0.35, 0.75, 1.0)
# minutes: mean time to detect, to acknowledge, to mitigate (from impact start), extra to resolve
SEVERITY_TIMES = {
    "SEV1": (4.0, 3.0, 45.0, 60.0),
    "SEV2": (8.0, 5.0, 70.0, 120.0),
    "SEV3": (15.0, 10.0, 110.0, 240.0),
    "SEV4": (30.0, 20.0, 180.0, 600.0),
}
BAD_SHARE = {"SEV1": 0.9, "SEV2": 0.5, "SEV3": 0.2, "SEV4": 0.05}  # share of requests failing during the impact
CATEGORIES = (
    "config-change",
    "deploy-regression",
    "capacity",
    "dependency-failure",
    "database",
    "certificate-expiry",
    "network",
)
CATEGORY_WEIGHTS = (0.28, 0.52, 0.66, 0.8, 0.9, 0.95, 1.0)
SIGNATURES = {
    "config-change": ("config reload failed: invalid value for <STR>", "feature flag <STR> evaluated to default"),
    "deploy-regression": ("unhandled exception in <STR> handler", "readiness probe failed: HTTP status <NUM>"),
    "capacity": ("request shed: concurrency limit reached", "worker queue full, dropping task"),
    "dependency-failure": ("upstream <STR> returned <NUM> after <NUM>ms", "circuit breaker open for <STR>"),
    "database": ("could not acquire a database connection", "deadlock detected on table <STR>"),
    "certificate-expiry": ("x509: certificate has expired or is not yet valid",),
    "network": ("dial tcp <IP>: i/o timeout", "connection reset by peer"),
}
OWNERS = ("@backend", "@sre", "@platform", "@payments-team", "@search-team", "@identity", "@data")
ACTIONS = (
    "Add an alert on {svc} error ratio",
    "Write a runbook for {cat} on {svc}",
    "Add a canary stage for {svc} deploys",
    "Load-test {svc} at twice the peak",
    "Add integration test for the {cat} path",
    "Review the {cat} change process",
)
DONE_STATUSES = ("done", "closed")
OPEN_STATUSES = ("open", "in-progress")
MILESTONES = ("impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved")
TREND = (1.4, 0.7)  # MTTM and MTTR are scaled from TREND[0] in January to TREND[1] in December
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _expo(rng: Rng, mean: float) -> float:
    """An exponential draw bounded to [mean/4, mean*3] (no zero and no absurd tail)."""
    return min(max(rng.expo(mean), mean / 4), mean * 3)


def _incident(i: int, n: int) -> tuple[dict[str, Any], dict[str, Any], str]:
    """One incident: (front matter, truth entry, Markdown body)."""
    ident = f"PM-{YEAR}-{i + 1:03d}"
    rng = Rng("portfolio", ident)
    # spread over the year, jittered within each slot so every month has incidents
    day = (i + rng.random()) * 365.0 / n
    start = dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day)
    start = start.replace(microsecond=0, second=rng.randint(0, 59))
    sev = rng.weighted(SEVERITIES, SEVERITY_WEIGHTS)
    service = rng.weighted(SERVICES, SERVICE_WEIGHTS)
    services = [service]
    if rng.chance(0.25):
        other = rng.weighted(SERVICES, SERVICE_WEIGHTS)
        if other != service:
            services.append(other)
    category = rng.weighted(CATEGORIES, CATEGORY_WEIGHTS)
    trend = TREND[0] + (TREND[1] - TREND[0]) * (start.timetuple().tm_yday - 1) / 364.0
    d_mean, a_mean, m_mean, r_mean = SEVERITY_TIMES[sev]
    mttd = round(_expo(rng, d_mean) * 60)
    mtta = round(_expo(rng, a_mean) * 60)
    mttm = round(_expo(rng, m_mean) * 60 * trend)
    mttm = max(mttm, mttd + mtta + 60)
    mttr = mttm + round(_expo(rng, r_mean) * 60 * trend)
    times = {
        "impact_start": start,
        "detected": start + dt.timedelta(seconds=mttd),
        "acknowledged": start + dt.timedelta(seconds=mttd + mtta),
        "declared": start + dt.timedelta(seconds=mttd + mtta + rng.randint(30, 300)),
        "mitigated": start + dt.timedelta(seconds=mttm),
        "resolved": start + dt.timedelta(seconds=mttr),
    }
    missing: list[str] = []
    if rng.chance(0.13):  # one milestone the author did not record
        missing.append(rng.choice(("detected", "acknowledged", "mitigated", "resolved", "impact_start")))
    convention = "detection" if rng.chance(0.07) else "impact"
    recorded = {k: (None if k in missing else v) for k, v in times.items()}

    # SLO budget: each service's availability SLO, minutes of total outage equivalent during the impact
    impact_minutes = mttm / 60.0
    slos = []
    for svc in services:
        objective = OBJECTIVE[svc]
        budget = (1 - objective / 100) * 30 * 24 * 60
        share = BAD_SHARE[sev] * (1.0 if svc == service else 0.4)
        consumed = round(impact_minutes * share / budget, 4)
        slos.append(
            {"name": "availability", "service": svc, "objective": objective, "period": "30d", "consumed": consumed}
        )

    signatures = list(SIGNATURES[category][: 1 + rng.randint(0, len(SIGNATURES[category]) - 1)])
    resolved_day = (times["resolved"]).date()
    items = []
    for k in range(rng.randint(0, 4)):
        due = resolved_day + dt.timedelta(days=rng.randint(7, 60))
        p_done = 0.9 if due < AS_OF - dt.timedelta(days=90) else 0.55
        status = rng.choice(DONE_STATUSES) if rng.chance(p_done) else rng.choice(OPEN_STATUSES)
        owner = rng.choice(OWNERS)
        item: dict[str, Any] = {
            "action": rng.choice(ACTIONS).format(svc=service, cat=category),
            "owner": owner,
            "due": due.isoformat(),
            "status": status,
        }
        if k == 0 and rng.chance(0.08):  # an item nobody owns (a failing gate)
            del item["owner"]
        items.append(item)
    draft_no_category = rng.chance(0.08)
    draft_no_severity = rng.chance(0.04)
    users_total = 200_000
    facts = {
        "peak_error_ratio": round(min(1.0, BAD_SHARE[sev] * rng.uniform(1.0, 1.3)), 3),
        "duration_minutes": round(impact_minutes, 1),
        "affected_users": round(users_total * BAD_SHARE[sev] * rng.uniform(0.05, 0.3)),
        "total_users": users_total,
    }

    fm: dict[str, Any] = {"id": ident, "title": f"{service}: {category.replace('-', ' ')}", "date": str(start.date())}
    if not draft_no_severity:
        fm["severity"] = sev
    fm["services"] = services
    fm["milestones"] = {k: _iso(v) for k, v in recorded.items() if v is not None}
    if convention != "impact":
        fm["convention"] = convention
    if not draft_no_category:
        fm["root_cause_category"] = category
    fm["signatures"] = signatures
    fm["impact"] = facts
    fm["slos"] = slos
    fm["action_items"] = items

    failing = []
    if draft_no_severity:
        failing.append("severity")
    if any(m in missing for m in ("impact_start", "detected", "mitigated", "resolved")):
        failing.append("milestones")
    if draft_no_category:
        failing.append("root_cause")
    if not items or any("owner" not in it or "due" not in it for it in items):
        failing.append("action_items")
    truth = {
        "id": ident,
        "kind": "document",
        "severity": sev,
        "severity_declared": None if draft_no_severity else sev,
        "services": services,
        "category": None if draft_no_category else category,
        "convention": convention,
        "milestones": {k: (_iso(v) if v is not None else None) for k, v in recorded.items()},
        "missing": missing,
        "slos": [
            {
                "service": s["service"],
                "name": s["name"],
                "objective": s["objective"],
                "period": s["period"],
                "consumed_minutes": s["consumed"] * (1 - s["objective"] / 100) * 30 * 24 * 60,
            }
            for s in slos
        ],
        "signatures": signatures,
        "action_items": items,
        "gates_failing": failing,
    }
    body = (
        f"# {fm['title']}\n\n"
        f"## Summary\n\n{service} was degraded for {impact_minutes:.0f} minutes ({category}).\n\n"
        "## Root cause\n\nSee the root-cause category in the front matter; written up by the incident team.\n"
    )
    return fm, truth, body


def _sample_truth(folder: Path) -> dict[str, Any]:
    """The truth of a bundled sample, from its incident.yaml and expected.yaml."""
    spec = yaml.safe_load((folder / "incident.yaml").read_text(encoding="utf-8"))
    exp = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    slo = exp.get("slo") or {}
    consumed = slo.get("consumed_fraction")
    return {
        "id": spec["id"],
        "kind": "folder",
        "severity": exp["severity"]["declared"],
        "severity_declared": exp["severity"]["declared"],
        "services": list(spec.get("services") or []),
        "category": (spec.get("narrative") or {}).get("root_cause_category"),
        "convention": "impact",
        "milestones": dict(exp["milestones"]),
        "missing": [k for k in MILESTONES if not exp["milestones"].get(k)],
        "slos": [
            {
                "service": (spec.get("services") or [None])[0],
                "name": slo.get("name"),
                "objective": slo.get("objective"),
                "period": slo.get("period"),
                "consumed_minutes": None if consumed is None else consumed * slo["budget_minutes"],
            }
        ]
        if slo
        else [],
        "action_items": [
            {k: str(v) for k, v in it.items() if k in ("action", "owner", "due", "status")}
            for it in spec.get("action_items") or []
        ],
    }


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def generate(out_dir: str | Path, *, n: int = 60, folders: int = 0, include: list[str] | None = None) -> dict[str, Any]:
    """Write the corpus (see the module docstring) and return the truth."""
    out = Path(out_dir)
    pm_dir = out / "postmortems"
    if pm_dir.exists():
        shutil.rmtree(pm_dir)
    pm_dir.mkdir(parents=True)
    truth: dict[str, Any] = {
        "as_of": AS_OF.isoformat(),
        "generator": {"module": "samplegen.portfolio", "n": n, "folders": folders, "year": YEAR},
        "trend": {"mttm_mttr_factor_january": TREND[0], "mttm_mttr_factor_december": TREND[1]},
        "incidents": [],
    }
    for i in range(n):
        fm, t, body = _incident(i, n)
        (pm_dir / f"{fm['id']}.md").write_text(f"---\n{_dump(fm)}---\n\n{body}", encoding="utf-8")
        truth["incidents"].append(t)
    inc_dir = out / "incidents"
    if inc_dir.exists():
        shutil.rmtree(inc_dir)
    samples = sorted(p for p in SAMPLES.iterdir() if (p / "incident.yaml").is_file())
    for k in range(folders):
        src = samples[k % len(samples)]
        dst = inc_dir / f"{src.name}-copy{k:03d}"
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("expected.yaml"))
        text = (dst / "incident.yaml").read_text(encoding="utf-8")
        t = _sample_truth(src)
        new_id = f"{t['id']}-C{k:03d}"
        (dst / "incident.yaml").write_text(text.replace(f"id: {t['id']}\n", f"id: {new_id}\n", 1), encoding="utf-8")
        truth["incidents"].append({**t, "id": new_id})
    config: dict[str, Any] = {"as_of": AS_OF.isoformat()}
    if include:
        config["include"] = list(include)
        for rel in include:
            truth["incidents"].append(_sample_truth((out / rel).resolve()))
    header = "# Generated by samplegen.portfolio (python -m samplegen.portfolio); edit the generator, not this file.\n"
    (out / "portfolio.yaml").write_text(header + _dump(config), encoding="utf-8")
    (out / "truth.yaml").write_text(
        header + "# What the generator planted: the tests recompute the KPIs from it.\n" + _dump(truth),
        encoding="utf-8",
    )
    return truth


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m samplegen.portfolio", description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--n", type=int, default=60, help="postmortem documents to write (default 60)")
    p.add_argument("--folders", type=int, default=0, help="evidence folders to copy from the bundled samples")
    p.add_argument(
        "--include",
        action="append",
        metavar="PATH",
        help="an incident folder to list in portfolio.yaml, relative to OUT_DIR (repeatable)",
    )
    args = p.parse_args(argv)
    if args.n < 1:
        p.error("--n must be at least 1")
    truth = generate(args.out_dir, n=args.n, folders=args.folders, include=args.include)
    print(f"wrote {len(truth['incidents'])} incidents under {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["AS_OF", "MILESTONES", "generate"]
