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
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis import changes, claims, comms, gates, impact, severity, signatures, slo
from pmkit.analysis.baseline import Rule, incident_run
from pmkit.analysis.curate import CuratedTimeline, curate, curation_gate
from pmkit.analysis.milestones import Milestones, find_milestones, first_firing, first_notice
from pmkit.analysis.mttx import mttx, mttx_seconds
from pmkit.analysis.sli import (
    DEFAULT_GOOD,
    MINUTES_SCHEMA,
    ImpactWindow,
    detect_impact,
    failing_sample,
    minutes_from_requests,
    minutes_from_series,
    request_frame,
)
from pmkit.analysis.sli_series import (
    SeriesSli,
    auto_series_sli,
    fmt_seconds,
    histogram_minutes,
    latency_threshold,
    series_sli,
)
from pmkit.analysis.whys import FiveWhys
from pmkit.errors import SpecError
from pmkit.spec import parse_duration
from pmkit.timeline import Timeline, build_timeline
from pmkit.timeutil import fmt_utc

if TYPE_CHECKING:
    from pmkit.incident import Incident
    from pmkit.spec import IncidentSpec, SloSpec


@dataclass(frozen=True)
class Sli:
    """The SLI chosen for an incident: per-minute counts, the request rows if any, and where it came from."""

    minutes: pl.DataFrame
    requests: pl.DataFrame | None
    source: str | None
    basis: str
    reasons: tuple[str, ...] = ()  # why this SLI was chosen, one short sentence each
    kind: str = "requests"  # requests (failures), latency-requests (slow or failed), series (minutes weigh 1)
    bad_words: str = "failed"  # what a bad request is, for "Requests failed: ..."
    indicator: str = "errors"  # what a bad event says: errors, latency, or mixed (series of both kinds)

    @property
    def name(self) -> str | None:
        """The SLI in a few words, for evidence labels: ``request log 'nginx'``, ``request-count metrics 'requests'``."""
        if self.source is None:
            return None
        if self.kind == "series":
            return f"metric series {self.source!r}"
        return f"{'request log' if self.requests is not None else 'request-count metrics'} {self.source!r}"

    @property
    def why(self) -> str:
        """Which SLI was chosen and why, in one sentence (the document's Evidence line)."""
        if not self.reasons:
            return ""
        return f"SLI: {self.basis}, chosen because " + "; ".join(self.reasons) + "."


def _series(ss: SeriesSli, *reasons: str) -> Sli:
    indicator = ss.kind if ss.kind in ("latency", "mixed") else "errors"
    return Sli(ss.minutes, None, ss.source, ss.basis, (*reasons, *ss.reasons), "series", "bad", indicator)


def slo_good(slo_spec: SloSpec | None) -> str | None:
    """The SLO's ``good`` condition with its ``latency`` threshold added (``duration_s < t``)."""
    if slo_spec is None:
        return None
    if slo_spec.latency is None:
        return slo_spec.good
    fast = f"duration_s < {slo_spec.latency.seconds!r}"
    return f"({slo_spec.good}) and {fast}" if slo_spec.good else fast


_DURATION_BOUND = re.compile(r"\b(duration_s|duration_ms|latency_ms)\s*<=?\s*(\d+(?:\.\d+)?)")


def good_says_latency(good: str | None) -> str | None:
    """What a bad request is when an SLO's ``good`` condition asks for speed (names ``duration_s``,
    ``duration_ms`` or ``latency_ms``): ``slower than 300 ms``, ``failed or slower than 300 ms`` when it also
    names ``status``, ``not good by the SLO (<condition>)`` when no single bound can be read; None when it
    does not ask for speed (the SLI then counts failures)."""
    if not good or not re.search(r"\b(duration_s|duration_ms|latency_ms)\b", good):
        return None
    m = _DURATION_BOUND.search(good)
    if m is None:
        return f"not good by the SLO ({good})"
    seconds = float(m[2]) / (1 if m[1] == "duration_s" else 1000)
    return ("failed or " if re.search(r"\bstatus\b", good) else "") + f"slower than {fmt_seconds(seconds)}"


GOOD_COLUMNS = "status, method, path, user, tenant, service, level, duration_s, duration_ms, latency_ms"


def choose_sli(inc: Incident, slo_spec: SloSpec | None = None) -> Sli:
    """:func:`_choose_sli`, with a ``good`` condition polars cannot evaluate reported as a spec error (key, columns)."""
    try:
        return _choose_sli(inc, slo_spec)
    except pl.exceptions.PolarsError as exc:
        if slo_spec is None or not (slo_spec.good or slo_spec.latency):
            raise
        i = inc.spec.slos.index(slo_spec) if slo_spec in inc.spec.slos else 0
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(
            str(inc.root / "incident.yaml"),
            [
                f"slos[{i}].good: found {slo_spec.good!r}, which cannot be evaluated ({first}); expected a SQL "
                f"condition over {GOOD_COLUMNS} (request logs) or status (request-count metrics), "
                "e.g. 'status < 500 and duration_s < 0.3'"
            ],
        ) from None


def _choose_sli(inc: Incident, slo_spec: SloSpec | None = None) -> Sli:
    """The SLI of an SLO (its ``source``), else the request log with the most requests, else request-count metrics,
    else latency and success/error-rate series read against their own baseline (:func:`auto_series_sli`)."""
    good = slo_good(slo_spec)
    wanted = slo_spec.source if slo_spec else None
    lat = slo_spec.latency if slo_spec else None
    series_sources = set(inc.series.get_column("source").unique().to_list()) if inc.series.height else set()
    if wanted is not None and wanted in series_sources:
        assert slo_spec is not None
        named = f"the SLO {slo_spec.name!r} names source {wanted!r}"
        m = pl.DataFrame(schema=MINUTES_SCHEMA)
        if lat is None:  # request counts by status code (a latency SLO cannot be read from them)
            m = minutes_from_series(inc.series, source=wanted, metric=slo_spec.metric, good=good, value=slo_spec.value)
            if m.height:
                return Sli(m, None, wanted, f"request-count metrics from source {wanted!r}", (named,))
        else:
            hist = histogram_minutes(
                inc.series.filter(pl.col("source") == wanted),
                threshold_s=lat.seconds,
                metric=slo_spec.metric,
                value=slo_spec.value,
            )
            if hist is not None:
                hm, name, bound = hist
                basis = f"histogram {name!r} of source {wanted!r}: requests slower than {fmt_seconds(bound)} are bad"
                why = f"the SLO {slo_spec.name!r} asks for latency under {fmt_seconds(lat.seconds)} from source {wanted!r}"
                if bound < lat.seconds:
                    why += f" (the largest bucket bound at or below it is {fmt_seconds(bound)})"
                words = f"slower than {fmt_seconds(bound)}"
                return Sli(hm, None, wanted, basis, (why,), "latency-requests", words, "latency")
        ss = series_sli(
            inc.series,
            source=wanted,
            metric=slo_spec.metric,
            threshold_s=lat.seconds if lat else None,
            percentile=lat.percentile if lat else None,
        )
        if ss is not None:
            return _series(ss, named)
        return Sli(m, None, wanted, f"request-count metrics from source {wanted!r}")
    logs = inc.events.filter(pl.col("kind") == "log")
    if wanted is not None:
        logs = logs.filter(pl.col("source") == wanted)
    req = request_frame(logs, good=good, source=wanted, requests=inc.requests)  # typed columns, no attrs decode
    skipped: tuple[str, ...] = ()
    if req.height:
        req = req.join(logs.select("origin", "source"), on="origin", how="left")
        if wanted is None:
            req, skipped = _drop_failure_only_logs(req)
    if req.height:
        src = wanted or req.get_column("source").mode()[0]
        n_logs = req.get_column("source").n_unique()
        req = req.filter(pl.col("source") == src)
        basis = f"request log {src!r} ({req.height:,} requests)"
        if wanted is not None and slo_spec is not None:
            why = f"the SLO {slo_spec.name!r} names source {wanted!r} and counts a request good when {good or DEFAULT_GOOD}"
        else:
            which = "the only request log" if n_logs == 1 else "the request log with the most requests"
            why = f"it is {which} (a request is good when {good or DEFAULT_GOOD})"
        if lat is None:
            said = good_says_latency(good)
            if said is not None:  # ``good: duration_s < 0.3`` is a latency SLO written as a condition
                return Sli(minutes_from_requests(req), req, src, basis, (why,), "latency-requests", said, "latency")
            return Sli(minutes_from_requests(req), req, src, basis, (why,))
        words = f"failed or slower than {fmt_seconds(lat.seconds)}"
        return Sli(minutes_from_requests(req), req, src, basis, (why,), "latency-requests", words, "latency")
    for src in sorted(series_sources):
        if lat is not None:  # request counts cannot say how fast a request was
            break
        m = minutes_from_series(inc.series, source=src, good=good)
        if m.height:
            why = f"there are no request logs and source {src!r} holds request counts by status code"
            if skipped:
                why = f"source {src!r} holds request counts by status code; {'; '.join(skipped)}"
            return Sli(m, None, src, f"request-count metrics from source {src!r}", (why,))
    if lat is not None:  # a latency SLO without a source: the first series source with a latency series
        assert slo_spec is not None
        for src in sorted(series_sources):
            ss = series_sli(inc.series, source=src, threshold_s=lat.seconds, percentile=lat.percentile)
            if ss is not None:
                return _series(ss, f"the SLO {slo_spec.name!r} asks for latency and names no source")
    auto = auto_series_sli(inc.series)
    if auto is not None:
        return _series(auto, "there are no request logs or request-count metrics", *skipped)
    none = "no request logs or request-count metrics"
    return Sli(pl.DataFrame(schema=MINUTES_SCHEMA), None, None, f"{none} ({'; '.join(skipped)})" if skipped else none)


def _drop_failure_only_logs(req: pl.DataFrame) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The request rows without those of logs that hold no good request at all, and why each was left out.

    A log whose every request failed, from its first line to its last, is an error log (the application
    logs its failures only) or an outage longer than the evidence: either way its error ratio is 100% in
    every minute, so it cannot say when the impact started or ended, and the SLI is read elsewhere
    (request-count metrics, series). An SLO that names the source keeps it: the author chose it."""
    per = req.group_by("source").agg(pl.len().alias("n"), pl.col("ok").sum().alias("good")).sort("source")
    bad = per.filter(pl.col("good") == 0)
    if bad.height == 0:
        return req, ()
    why = tuple(
        f"log {r['source']!r} was not used: none of its {r['n']:,} requests succeeded (a log of failures only "
        "gives no error ratio)"
        for r in bad.iter_rows(named=True)
    )
    return req.filter(~pl.col("source").is_in(bad.get_column("source").to_list())), why


def impact_window(sli: Sli) -> ImpactWindow:
    """:func:`detect_impact` on the SLI's minutes, its method worded for what the SLI counts.

    Latency time slices (every bad minute is 100% bad) need two bad minutes in a row to start an
    impact, so one slow minute of a noisy series is not an incident."""
    slices = sli.kind == "series" and sli.indicator != "errors"
    window = detect_impact(sli.minutes, alone=1.01 if slices else 0.5)
    if sli.kind == "requests" or window.start is None:
        return window
    if sli.kind == "latency-requests":
        method = window.method.replace("error ratio", "share of slow or failed requests", 1)
    elif slices:
        method = f"{sli.basis}, two minutes running"
    else:
        method = window.method.replace("error ratio", "error fraction of the series", 1)
    return dataclasses.replace(window, method=method)


def latency_sli(inc: Incident, errors: Sli) -> Sli | None:
    """The latency SLI tried when no SLO is stated and the error SLI never left its baseline.

    With request logs that log durations: a request is good when ``status < 500`` and it is
    faster than 2 x the baseline p99 of the durations (:func:`pmkit.analysis.sli_series.latency_threshold`).
    Else the latency and rate series read against their own baseline (:func:`auto_series_sli`).
    None when neither exists.
    """
    why = f"errors in the {errors.name or 'evidence'} never left their baseline"
    req = errors.requests
    if req is not None and req.get_column("duration_s").drop_nulls().len():
        got = latency_threshold(req.get_column("duration_s"))
        if got is not None and got[0] > 0:
            thr, p99 = got
            good = f"status < 500 and duration_s < {thr!r}"
            req = req.with_columns(pl.sql_expr(good).fill_null(False).alias("ok"))
            words = f"failed or slower than {fmt_seconds(thr)}"
            rule = f"a request is good when status < 500 and faster than {fmt_seconds(thr)} (2 x the baseline p99 of {fmt_seconds(p99)})"
            basis = f"{errors.basis}, failed or slower than {fmt_seconds(thr)}"
            return Sli(
                minutes_from_requests(req), req, errors.source, basis, (why, rule), "latency-requests", words, "latency"
            )
    auto = auto_series_sli(inc.series)
    if auto is None or auto.kind in ("error-rate", "success-rate"):
        return None
    return _series(auto, why)


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
    def figures(self) -> claims.Reconciliation:
        """The figures stated in the narrative, the status updates and the declared severity, beside the
        measured ones (:mod:`pmkit.analysis.claims`)."""
        evidence = claims.Evidence(
            impact=self.impact,
            minutes=self.sli.minutes,
            window=self.window,
            requests=self.sli.requests,
            events=self.incident.events,
            sli_name=self.sli.name,
            severity=self.severity,
            resolved=self.milestones.times()["resolved"],
            total_users=self.incident.spec.facts.total_users,
        )
        updates = comms.status_updates(self.incident.events)
        return claims.reconcile_incident(self.incident.spec, updates, evidence)

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
            load_report=self.incident.report,
            series=self.incident.series,
            folder=str(self.incident.root),
            figures=self.figures,
        )
        extra = curation_gate(self.incident.spec.timeline, self.curated)
        return dataclasses.replace(report, gates=(*report.gates, extra)) if extra is not None else report

    def to_dict(self) -> dict[str, Any]:
        """The ``pmkit analyze --json`` document (see docs/analyze-json.md)."""
        spec = self.incident.spec
        doc = {
            "incident": {
                "id": spec.id,
                "title": spec.title,
                "services": list(spec.services),
                "sli": self.sli.basis,
                "sli_reasons": list(self.sli.reasons),
            },
            "milestones": self.milestones.to_dict(),
            "mttx": mttx_seconds(self.milestones, self.convention),
            "impact": self.impact.to_dict(),
            "slo": [r.to_dict() for r in self.slos],
            "severity": self.severity.to_dict(),
            "suspects": _jsonable(self.suspects.to_dicts()),
            "rollback": _jsonable(self.rollback),
            "signatures": _jsonable(self.signatures.drop("origins", strict=False).to_dicts()),
            "cadence": self.cadence.to_dict(),
            "figures": self.figures.to_dict(),
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
    window = impact_window(sli)
    if window.start is None and main_slo is None:  # errors did not move: did latency?
        slow = latency_sli(inc, sli)
        slow_window = impact_window(slow) if slow is not None else None
        if slow is not None and slow_window is not None and slow_window.start is not None:
            sli, window = slow, slow_window

    rule = impact_rule(spec)
    first_failure = last_failure = None
    if sli.requests is not None and window.start is not None:
        # the incident's run: first and last failing request of an endpoint failing above its own baseline
        run = incident_run(
            sli.requests,
            impact.endpoint_expr(),
            start=window.start,
            end=window.end or window.start + dt.timedelta(days=366),
            rule=rule,
        )
        first_failure, last_failure = run.first, run.last
    # a metrics SLI of errors: the first error logged in the onset minute, if any (a latency series is not refined)
    elif window.start is not None and sli.indicator == "errors":
        if window.end is not None and sli.source is not None:  # and the last failing sample
            last_failure = failing_sample(
                inc.series,
                window.end,
                source=sli.source,
                metric=main_slo.metric if main_slo else None,
                good=main_slo.good if main_slo else None,
            )
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
        last_failure=last_failure,
        rollback=rollback,
        services=services,
        overrides=overrides,
        sli=sli.name,
        bad=("slow or failing" if "failed" in sli.bad_words else "slow") if sli.indicator == "latency" else "failing",
    )
    times = ms.times()
    # the replay of the burn-rate alerts is set against the real first page and alert, never an override
    page = first_notice(events, start=times["impact_start"], services=services, kinds=("page",))
    alert = first_notice(events, start=times["impact_start"], services=services, kinds=("alert",))
    imp = impact.assess(
        sli.minutes,
        window,
        start=times["impact_start"],
        end=times["mitigated"],
        requests=sli.requests,
        events=events,
        rule=rule,
        sli=sli.name,
        bad_words=sli.bad_words,
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
    not_counts: dict[str, Any] = {}
    if sli.indicator == "latency":  # slow is not down, and slow requests are not failed ones
        not_counts = {"services_down": False, "failed_requests": None}
    elif sli.kind == "series":  # a rate series' bad minutes are fractions of minutes, not requests
        not_counts = {"failed_requests": None}
    facts = severity.ImpactFacts.from_impact(imp, spec, service=peak_service, slo_violated=violated, **not_counts)
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


def impact_rule(spec: IncidentSpec) -> Rule:
    """The baseline test's settings from ``impact:`` in incident.yaml (docs/incident-yaml.md)."""
    return Rule(lookback=parse_duration(spec.impact.baseline), min_share=spec.impact.min_share, alpha=spec.impact.alpha)


def _symptom(imp: impact.Impact, services: list[str]) -> str:
    what = services[0] if services else "the service"
    if imp.error_ratio is None:
        return f"{what} fail"
    return f"{imp.error_ratio:.0%} of {what} requests fail"


def _suspect_line(r: dict[str, Any]) -> str:
    version = r.get("version") or r.get("ref") or r.get("sha") or ""
    return f"{r.get('service') or ''} {version} at {fmt_utc(r['ts'], 'hm')} UTC ({r.get('description') or r.get('state') or ''})".strip()
