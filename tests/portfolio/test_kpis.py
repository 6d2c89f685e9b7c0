"""The portfolio KPIs against the truth the generator planted, recomputed here with plain Python and numpy.

Nothing here calls the KPI code to get the expected figure: the truth file (data/portfolio/truth.yaml) holds
the milestones, severities, services, SLO minutes and action items as planted (for the two bundled samples,
their expected.yaml), and each test recomputes the figure from it by the definition in docs/analyses.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import polars as pl
import pytest

from pmkit.portfolio import Portfolio, kpis

MILESTONES = ("impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved")
SEV = {"P0": "SEV1", "P1": "SEV2", "P2": "SEV3", "P3": "SEV4"}


def _t(s: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


def _opened(inc: dict[str, Any]) -> dt.datetime:
    return min(t for t in (_t(inc["milestones"].get(m)) for m in MILESTONES) if t is not None)


def _severity(inc: dict[str, Any], corpus: Portfolio) -> str:
    """The planted declared severity in the SEV scale; an undeclared one is classified by pmkit from the
    document's impact facts (not planted), so it is taken from the row."""
    if inc["severity_declared"]:
        return SEV.get(inc["severity_declared"], inc["severity_declared"])
    return corpus.incidents.filter(pl.col("id") == inc["id"])["severity"].item()


def _spans(inc: dict[str, Any]) -> dict[str, float | None]:
    t = {m: _t(inc["milestones"].get(m)) for m in MILESTONES}
    origin = t["impact_start"] if inc["convention"] == "impact" else t["detected"]

    def span(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
        return None if a is None or b is None else (b - a).total_seconds()

    return {
        "mttd": span(t["impact_start"], t["detected"]),
        "mtta": span(t["detected"], t["acknowledged"]),
        "mttm": span(origin, t["mitigated"]),
        "mttr": span(origin, t["resolved"]),
    }


def test_every_incident_is_a_row(corpus: Portfolio, truth: dict[str, Any]) -> None:
    assert corpus.problems == ()
    assert sorted(corpus.incidents["id"].to_list()) == sorted(i["id"] for i in truth["incidents"])
    assert len(truth["incidents"]) >= 50
    assert (corpus.sources["folders"], corpus.sources["documents"]) == (2, 60)
    assert corpus.as_of == dt.date.fromisoformat(truth["as_of"])


def test_incidents_per_month_by_severity(corpus: Portfolio, truth: dict[str, Any]) -> None:
    expected = Counter((_opened(i).strftime("%Y-%m"), _severity(i, corpus)) for i in truth["incidents"])
    got = kpis.incidents_per_period(corpus.incidents, "month", "severity")
    assert {(r["period"], r["severity"]): r["incidents"] for r in got.iter_rows(named=True) if r["incidents"]} == dict(
        expected
    )
    months = got["period"].unique().sort().to_list()
    assert months == [f"2025-{m:02d}" for m in range(1, 13)]  # twelve months, zero-filled where none happened
    assert got["incidents"].sum() == len(truth["incidents"])


def test_incidents_per_week_by_service_count_each_service(corpus: Portfolio, truth: dict[str, Any]) -> None:
    expected: Counter[tuple[str, str]] = Counter()
    for i in truth["incidents"]:
        for s in set(i["services"]):
            expected[(_opened(i).strftime("%G-W%V"), s)] += 1
    got = kpis.incidents_per_period(corpus.incidents, "week", "services")
    assert {(r["period"], r["service"]): r["incidents"] for r in got.iter_rows(named=True) if r["incidents"]} == dict(
        expected
    )


@pytest.mark.parametrize("by", ["severity", "services"])
def test_mttx_median_p90_and_counts(corpus: Portfolio, truth: dict[str, Any], by: str) -> None:
    groups: dict[tuple[str, str, str], list[float | None]] = defaultdict(list)
    for i in truth["incidents"]:
        keys = sorted(set(i["services"])) if by == "services" else [_severity(i, corpus)]
        for metric, value in _spans(i).items():
            conv = "any" if metric in ("mttd", "mtta") else i["convention"]
            for k in keys:
                groups[(metric, conv, k)].append(value)
    got = kpis.mttx_summary(corpus.incidents, by=(by,))
    col = "service" if by == "services" else by
    rows = {(r["metric"], r["convention"], r[col]): r for r in got.iter_rows(named=True)}
    assert set(rows) == set(groups)
    for key, values in groups.items():
        r = rows[key]
        measured = [v for v in values if v is not None]
        assert (r["incidents"], r["measured"], r["missing"]) == (
            len(values),
            len(measured),
            len(values) - len(measured),
        )
        if measured:
            # the bundled samples' inferred milestones agree with their ground truth to the millisecond
            assert r["median"] == pytest.approx(float(np.median(measured)), abs=0.01), key
            assert r["p90"] == pytest.approx(float(np.percentile(measured, 90)), abs=0.01), key
        else:
            assert r["median"] is None and r["p90"] is None


def test_missing_milestones_are_counted_never_dropped_never_zero(corpus: Portfolio, truth: dict[str, Any]) -> None:
    planted = Counter(m for i in truth["incidents"] for m in i["missing"])
    assert sum(planted.values()) >= 3  # the corpus has incidents that lack a milestone
    got = kpis.missing_milestones(corpus.incidents)
    assert {r["milestone"]: r["incidents"] for r in got.iter_rows(named=True)} == {m: planted[m] for m in MILESTONES}
    lacking = [i for i in truth["incidents"] if i["missing"]]
    rows = corpus.incidents.filter(pl.col("id").is_in([i["id"] for i in lacking]))
    assert rows.height == len(lacking)  # still rows
    for i in lacking:
        row = rows.filter(pl.col("id") == i["id"]).row(0, named=True)
        for metric, value in _spans(i).items():
            if value is None:
                assert row[metric] is None  # not a zero
    overall = kpis.mttx_summary(corpus.incidents, by=())
    for r in overall.iter_rows(named=True):
        assert r["incidents"] == r["measured"] + r["missing"]
    assert overall["missing"].sum() > 0
    assert overall.filter(pl.col("convention") != "detection")["incidents"].unique().to_list() != [0]


def test_trend_finds_the_planted_improvement(corpus: Portfolio, truth: dict[str, Any]) -> None:
    assert truth["trend"]["mttm_mttr_factor_december"] < truth["trend"]["mttm_mttr_factor_january"]
    by_quarter: dict[str, list[float]] = defaultdict(list)
    for i in truth["incidents"]:
        v = _spans(i)["mttr"]
        if i["convention"] == "impact" and v is not None:
            by_quarter[f"{_opened(i).year}-Q{(_opened(i).month - 1) // 3 + 1}"].append(v)
    trend = kpis.mttx_trend(corpus.incidents, "quarter", metrics=("mttr",))
    change = kpis.trend_change(trend).filter(pl.col("convention") == "impact").row(0, named=True)
    first, last = min(by_quarter), max(by_quarter)
    assert (change["from_period"], change["to_period"]) == (first, last)
    expected = float(np.median(by_quarter[last])) / float(np.median(by_quarter[first])) - 1
    assert change["change"] == pytest.approx(expected, abs=1e-6)
    assert change["verdict"] == "shorter"


def test_budget_per_service_per_month(corpus: Portfolio, truth: dict[str, Any]) -> None:
    minutes: dict[tuple[str, str], float] = defaultdict(float)
    budget: dict[tuple[str, str], float] = {}
    for i in truth["incidents"]:
        opened = _opened(i)
        month = opened.strftime("%Y-%m")
        days = calendar.monthrange(opened.year, opened.month)[1]
        for s in i["slos"]:
            minutes[(month, s["service"])] += s["consumed_minutes"]
            slo_days = int(s["period"].removesuffix("d"))
            budget[(month, s["service"])] = (1 - s["objective"] / 100) * slo_days * 1440 * days / slo_days
    got = kpis.budget_per_period(corpus.slos, "month")
    rows = {(r["period"], r["service"]): r for r in got.iter_rows(named=True)}
    assert set(rows) == set(minutes)
    for key, m in minutes.items():
        assert rows[key]["consumed_minutes"] == pytest.approx(m, rel=1e-3), key
        assert rows[key]["share"] == pytest.approx(m / budget[key], rel=1e-3), key
    totals = kpis.budget_per_service(corpus.slos)
    top = max({s for _, s in minutes}, key=lambda s: sum(v for (_, s2), v in minutes.items() if s2 == s) / 1)
    assert totals["consumed_minutes"].max() == pytest.approx(
        sum(v for (_, s), v in minutes.items() if s == top), rel=1e-3
    )


def test_postmortem_completion_of_the_documents(corpus: Portfolio, truth: dict[str, Any]) -> None:
    docs = [i for i in truth["incidents"] if i["kind"] == "document"]
    complete = sum(1 for i in docs if not i["gates_failing"])
    assert 0 < complete < len(docs)
    got = kpis.postmortem_completion(corpus.incidents.filter(pl.col("kind") == "document")).row(0, named=True)
    assert (got["incidents"], got["complete"]) == (len(docs), complete)
    assert got["rate"] == pytest.approx(complete / len(docs))
    failures = Counter(g for i in docs for g in i["gates_failing"])
    got_gates = kpis.gate_failures(corpus.incidents.filter(pl.col("kind") == "document"))
    assert dict(zip(got_gates["gate"], got_gates["incidents"], strict=True)) == dict(failures)


def test_action_items_completion_and_overdue_by_owner(corpus: Portfolio, truth: dict[str, Any]) -> None:
    as_of = dt.date.fromisoformat(truth["as_of"])
    items = [a for i in truth["incidents"] for a in i["action_items"]]
    done = [a for a in items if a["status"].lower() in ("done", "closed")]
    overdue = [a for a in items if a not in done and a.get("due") and dt.date.fromisoformat(str(a["due"])) < as_of]
    got = kpis.action_items(corpus.actions, as_of).row(0, named=True)
    assert (got["items"], got["done"], got["overdue"]) == (len(items), len(done), len(overdue))
    assert got["completion"] == pytest.approx(len(done) / len(items))
    assert 0 < len(overdue) < len(items) - len(done) + 1
    by_owner = Counter(a.get("owner") or "(no owner)" for a in overdue)
    got_owner = kpis.overdue_by_owner(corpus.actions, as_of).filter(pl.col("overdue") > 0)
    assert dict(zip(got_owner["owner"], got_owner["overdue"], strict=True)) == dict(by_owner)


def test_repeat_offenders(corpus: Portfolio, truth: dict[str, Any]) -> None:
    cats = Counter(i["category"] for i in truth["incidents"] if i["category"])
    got = kpis.repeat_offenders(corpus.incidents, "root_cause_category")
    assert dict(zip(got["root_cause_category"], got["incidents"], strict=True)) == {
        c: n for c, n in cats.items() if n >= 2
    }
    assert kpis.uncategorised(corpus.incidents) == sum(1 for i in truth["incidents"] if not i["category"])
    sigs = Counter(s for i in truth["incidents"] if i["kind"] == "document" for s in set(i["signatures"]))
    got_sigs = kpis.repeat_offenders(corpus.incidents.filter(pl.col("kind") == "document"), "signatures")
    assert dict(zip(got_sigs["signature"], got_sigs["incidents"], strict=True)) == {
        s: n for s, n in sigs.items() if n >= 2
    }


def test_unknown_period_is_a_clear_error(corpus: Portfolio) -> None:
    with pytest.raises(ValueError, match="expected one of week, month, quarter"):
        kpis.incidents_per_period(corpus.incidents, "fortnight")
