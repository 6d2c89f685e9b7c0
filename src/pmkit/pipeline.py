"""Every analysis of an incident in one pass: ``analyze(incident) -> Analysis``.

The order follows the data: SLI -> impact window -> change suspects and rollback ->
milestones (overrides applied) -> MTTx -> impact -> SLOs -> severity -> comms cadence ->
signatures -> 5 Whys. Each step is a pure function of ``pmkit.analysis``; this module only
wires them and chooses the SLI. ``Analysis.to_dict()`` is the JSON contract of
``pmkit analyze --json`` (documented in docs/analyze-json.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis import changes, comms, gates, impact, severity, signatures, slo
from pmkit.analysis.curate import CuratedTimeline, curate, curation_gate
from pmkit.analysis.milestones import Milestones, find_milestones, first_firing, first_notice
from pmkit.analysis.mttx import mttx, mttx_seconds
from pmkit.analysis.sli import (
    MINUTES_SCHEMA,
    ImpactWindow,
    detect_impact,
    minutes_from_requests,
    minutes_from_series,
    request_frame,
)
from pmkit.analysis.whys import FiveWhys
from pmkit.timeline import Timeline, build_timeline
from pmkit.timeutil import fmt_utc

if TYPE_CHECKING:
    from pmkit.incident import Incident
    from pmkit.spec import SloSpec


@dataclass(frozen=True)
class Sli:
    """The SLI chosen for an incident: per-minute counts, the request rows if any, and where it came from."""

    minutes: pl.DataFrame
    requests: pl.DataFrame | None
    source: str | None
    basis: str

    @property
    def name(self) -> str | None:
        """The SLI in a few words, for evidence labels: ``request log 'nginx'``, ``request-count metrics 'requests'``."""
        if self.source is None:
            return None
        return f"{'request log' if self.requests is not None else 'request-count metrics'} {self.source!r}"


def choose_sli(inc: Incident, slo_spec: SloSpec | None = None) -> Sli:
    """The SLI of an SLO (its ``source``), else the request log with the most requests, else request-count metrics."""
    good = slo_spec.good if slo_spec else None
    wanted = slo_spec.source if slo_spec else None
    series_sources = set(inc.series.get_column("source").unique().to_list()) if inc.series.height else set()
    if wanted is not None and wanted in series_sources:
        m = minutes_from_series(
            inc.series,
            source=wanted,
            metric=slo_spec.metric if slo_spec else None,
            good=good,
            value=slo_spec.value if slo_spec else "count",
        )
        return Sli(m, None, wanted, f"request-count metrics from source {wanted!r}")
    logs = inc.events.filter(pl.col("kind") == "log")
    if wanted is not None:
        logs = logs.filter(pl.col("source") == wanted)
    req = request_frame(logs, good=good)
    if req.height:
        req = req.join(logs.select("origin", "source"), on="origin", how="left")
        src = wanted or req.get_column("source").mode()[0]
        req = req.filter(pl.col("source") == src)
        return Sli(minutes_from_requests(req), req, src, f"request log {src!r} ({req.height:,} requests)")
    for src in sorted(series_sources):
        m = minutes_from_series(inc.series, source=src, good=good)
        if m.height:
            return Sli(m, None, src, f"request-count metrics from source {src!r}")
    return Sli(pl.DataFrame(schema=MINUTES_SCHEMA), None, None, "no request logs or request-count metrics")


@dataclass(frozen=True)
class Analysis:
    """Everything pmkit infers about one incident. Each field is an analysis result object or frame.

    Data only: :mod:`pmkit.report` presents it (the document; :mod:`pmkit.report.notebook` in a notebook).
    """

    incident: Incident
    sli: Sli
    window: ImpactWindow
    milestones: Milestones
    mttx: pl.DataFrame
    impact: impact.Impact
    slos: tuple[slo.SloResult, ...]
    suspects: pl.DataFrame
    rollback: dict[str, Any] | None
    signatures: pl.DataFrame
    severity: severity.SeverityResult
    cadence: comms.CadenceResult
    whys: FiveWhys
    convention: str = "impact"

    @functools.cached_property
    def timeline(self) -> Timeline:
        """The incident's timeline, built on first use (the documents need it; ``pmkit analyze``/``check`` do not)."""
        return build_timeline(self.incident.events)

    @functools.cached_property
    def curated(self) -> CuratedTimeline:
        """The curated timeline (:mod:`pmkit.analysis.curate`): every event kept or dropped with why, and the
        author's ``timeline:`` applied; the document, the notebook, the explorer and ``pmkit timeline`` list it."""
        ms = self.milestones
        return curate(
            self.timeline.frame,
            impact_start=ms.impact_start,
            mitigated=ms.mitigated,
            resolved=ms.resolved,
            suspects=self.suspects,
            services=self.incident.spec.services,
            curation=self.incident.spec.timeline,
            root=self.incident.root,
        )

    def gates(self) -> gates.GateReport:
        """The quality gates (``pmkit check``) on this incident's spec and evidence; with ``timeline:`` ids in
        incident.yaml, also whether each names an event (``timeline_ids``)."""
        report = gates.check(
            self.incident.spec,
            people=[],  # check() adds the participants of the events
            cadence=self.cadence,
            milestones=self.milestones.times(),
            events=self.incident.events,
        )
        extra = curation_gate(self.incident.spec.timeline, self.curated)
        return dataclasses.replace(report, gates=(*report.gates, extra)) if extra is not None else report

    def to_dict(self) -> dict[str, Any]:
        """The ``pmkit analyze --json`` document (see docs/analyze-json.md)."""
        spec = self.incident.spec
        doc = {
            "incident": {"id": spec.id, "title": spec.title, "services": list(spec.services), "sli": self.sli.basis},
            "milestones": self.milestones.to_dict(),
            "mttx": mttx_seconds(self.milestones, self.convention),
            "impact": self.impact.to_dict(),
            "slo": [r.to_dict() for r in self.slos],
            "severity": self.severity.to_dict(),
            "suspects": _jsonable(self.suspects.to_dicts()),
            "rollback": _jsonable(self.rollback),
            "signatures": _jsonable(self.signatures.drop("origins", strict=False).to_dicts()),
            "cadence": self.cadence.to_dict(),
        }
        return _jsonable(doc)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dt.datetime):
        return fmt_utc(obj)
    if isinstance(obj, dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, float) and obj != obj:  # NaN
        return None
    if isinstance(obj, float) and obj in (float("inf"), float("-inf")):
        return None
    return obj


def analyze(inc: Incident, *, convention: str = "impact") -> Analysis:
    """Run every analysis on a loaded incident (see the module docstring for the order)."""
    spec = inc.spec
    events = inc.events
    services = list(spec.services)
    main_slo = spec.slos[0] if spec.slos else None
    sli = choose_sli(inc, main_slo)
    window = detect_impact(sli.minutes)

    first_failure = None
    if sli.requests is not None and window.start is not None:
        failing = sli.requests.filter(
            (pl.col("ts") >= window.start) & (pl.col("ts") < window.start + dt.timedelta(minutes=1)) & ~pl.col("ok")
        ).sort("ts")
        if failing.height:
            first_failure = failing.row(0, named=True)
    elif window.start is not None:  # metrics SLI: the first error logged in the onset minute, if any
        errors = events.filter(
            (pl.col("kind") == "log")
            & pl.col("level").is_in(["error", "critical"])
            & (pl.col("ts") >= window.start)
            & (pl.col("ts") < window.start + dt.timedelta(minutes=1))
        )
        if services:
            errors = errors.filter(pl.col("service").is_in(services))
        if errors.height:
            first_failure = errors.sort("ts").row(0, named=True)

    overrides = spec.milestones.model_dump()
    start_guess = overrides.get("impact_start") or (first_failure or {}).get("ts") or window.start
    if start_guess is None:  # no SLI: the milestones' own rule (a resolved alert or an ack is no start)
        row = first_firing(events)
        start_guess = row["ts"] if row else None
    suspects = (
        changes.change_suspects(events, impact_start=start_guess, services=services)
        if start_guess is not None
        else pl.DataFrame(schema=changes.SUSPECTS_SCHEMA)
    )
    rollback = (
        changes.find_rollback(events, impact_start=start_guess, mitigated=window.end, suspects=suspects)
        if start_guess is not None
        else None
    )
    ms = find_milestones(
        events,
        impact=window,
        first_failure=first_failure,
        rollback=rollback,
        services=services,
        overrides=overrides,
        sli=sli.name,
    )
    times = ms.times()
    # the replay of the burn-rate alerts is set against the real first page and alert, never an override
    page = first_notice(events, start=times["impact_start"], services=services, kinds=("page",))
    alert = first_notice(events, start=times["impact_start"], services=services, kinds=("alert",))
    imp = impact.assess(
        sli.minutes, window, start=times["impact_start"], end=times["mitigated"], requests=sli.requests, events=events
    )
    # impact start to mitigated (else resolved): the SLO's and the signatures' window
    slo_end = times["mitigated"] or times["resolved"]
    slo_window = (times["impact_start"], slo_end) if times["impact_start"] and slo_end else None
    slo_results = []
    for s in spec.slos:
        s_sli = sli if s is main_slo else choose_sli(inc, s)
        slo_results.append(
            slo.evaluate(
                s_sli.minutes,
                name=s.name,
                objective=s.objective,
                period=s.period,
                type=s.type,
                window=slo_window,
                slice_threshold=s.slice_threshold,
                prior_consumed=s.prior_consumed,
                declared_bad_minutes=s.declared_bad_minutes,
                first_page=page["ts"] if page else None,
                first_alert=alert["ts"] if alert else None,
                impact_start=times["impact_start"],
            )
        )
    violated = any((r.consumed or 0) > 1 for r in slo_results) if slo_results else None
    peak_service = services[0] if services else None
    facts = severity.ImpactFacts.from_impact(imp, spec, service=peak_service, slo_violated=violated)
    sev = severity.classify(facts, spec.severity_policy, spec.severity)
    cad = comms.cadence(
        events,
        sev.cadence,
        times["declared"] or times["detected"],
        times["resolved"],
    )
    sigs = (
        signatures.signatures(events, impact=slo_window)
        if slo_window
        else pl.DataFrame(schema=signatures.SIGNATURES_SCHEMA)
    )
    symptom = _symptom(imp, services)
    whys = FiveWhys.scaffold(
        symptom,
        signatures=sigs.get_column("template").head(3).to_list() if sigs.height else [],
        suspects=[_suspect_line(r) for r in suspects.head(3).iter_rows(named=True)],
        authored=spec.five_whys,
    )
    return Analysis(
        incident=inc,
        sli=sli,
        window=window,
        milestones=ms,
        mttx=mttx(ms, convention),
        impact=imp,
        slos=tuple(slo_results),
        suspects=suspects,
        rollback=rollback,
        signatures=sigs,
        severity=sev,
        cadence=cad,
        whys=whys,
        convention=convention,
    )


def _symptom(imp: impact.Impact, services: list[str]) -> str:
    what = services[0] if services else "the service"
    if imp.error_ratio is None:
        return f"{what} fail"
    return f"{imp.error_ratio:.0%} of {what} requests fail"


def _suspect_line(r: dict[str, Any]) -> str:
    version = r.get("version") or r.get("ref") or r.get("sha") or ""
    return f"{r.get('service') or ''} {version} at {fmt_utc(r['ts'], 'hm')} UTC ({r.get('description') or r.get('state') or ''})".strip()
