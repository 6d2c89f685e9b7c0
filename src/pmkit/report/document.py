"""The postmortem as Markdown sections, in the seeds' order, built from an :class:`~pmkit.pipeline.Analysis`.

Facts come from the analysis; prose comes from ``narrative:`` in incident.yaml. What the author
has not written yet shows as a marked TODO (``> **TODO** ...``), never as invented text.
Evidence (chat, logs, alerts, deploy fields, names) is data, never markup: it goes through
:func:`~pmkit.report.present.esc` (or :func:`~pmkit.report.present.code`), so it cannot make a
link, an image, HTML or a table cell. What the author wrote in incident.yaml (title, narrative,
action items, 5 Whys) is Markdown and goes through :func:`~pmkit.report.present.author_md`, which
keeps its emphasis, code and http/https/mailto links and drops the rest. Secrets and personal data
are redacted where evidence enters (:mod:`pmkit.redaction`); the document redacts again (idempotent).

The same sections feed the notebook (``notebooks/postmortem.ipynb``), the Markdown export and
the seed 000 file set (``incident.md``, ``timeline.md``, ``postmortem.md``, ``action-items.md``).
The tables are Jinja templates (``report/tables/*.md.j2``, rendered by :func:`pmkit.report.present.table`);
this module chooses what goes in them. It also writes the 5 Whys (:func:`whys_markdown`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from pmkit.analysis import claims
from pmkit.analysis.curate import WIDTH, clean_one
from pmkit.analysis.gates import MIN_WHYS
from pmkit.analysis.milestones import evidence_label
from pmkit.analysis.whys import CHECK_QUESTION, TODO, FiveWhys
from pmkit.redaction import redact, redact_frame
from pmkit.report import sections
from pmkit.report.phase_section import phases_markdown
from pmkit.report.present import author_md, code, esc, table
from pmkit.timeutil import fmt_duration, fmt_utc
from pmkit.vocab import is_done

if TYPE_CHECKING:
    from pmkit.analysis.claims import FigureCheck
    from pmkit.analysis.milestones import Milestone
    from pmkit.analysis.slo import SloResult
    from pmkit.pipeline import Analysis

SECTION_ORDER = (
    "title",
    "byline",
    "summary",
    "metadata",
    "leadup",
    "impact",
    "detection",
    "response",
    "recovery",
    "timeline",
    "root_cause",
    "contributing",
    "reflection",
    "action_items",
    "lessons",
    "supporting",
    "chat",
)


def todo(what: str) -> str:
    """A visible marker for text only the author can write."""
    return f"> **TODO** {what}"


def hm(t: dt.datetime | None, *, date: bool = False) -> str:
    """``14:19`` (``date``: ``2025-06-15 14:19``), ``unknown`` for no time."""
    return fmt_utc(t, "minute" if date else "hm", missing="unknown")


def _num(v: float | int | None) -> str:
    return "unknown" if v is None else f"{v:,.0f}"


def _pct(v: float | None, digits: int = 1) -> str:
    return "unknown" if v is None else f"{v:.{digits}%}"


def _bullets(items: list[str], missing: str) -> str:
    if not items:
        return todo(missing)
    return "\n".join(f"- {author_md(i, 2000)}" for i in items)


@dataclass(frozen=True)
class Section:
    """One section of the document: a key, a title and its Markdown body."""

    key: str
    title: str
    markdown: str


@dataclass(frozen=True)
class Document:
    """The postmortem's sections in order; ``to_markdown()`` joins them, ``files()`` gives the seed file set."""

    incident_id: str
    sections: tuple[Section, ...]
    extra: dict[str, str]

    def __getitem__(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"{key!r} is not a section; expected one of {', '.join(SECTION_ORDER)}")

    def to_markdown(self) -> str:
        return "\n\n".join(s.markdown for s in self.sections).rstrip() + "\n"

    def files(self) -> dict[str, str]:
        """The seed 000 file set: incident.md, timeline.md, postmortem.md, action-items.md."""
        return {
            "incident.md": self.extra["incident.md"],
            "timeline.md": self.extra["timeline.md"],
            "postmortem.md": self.to_markdown(),
            "action-items.md": self.extra["action-items.md"],
        }

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


# --- sections ---------------------------------------------------------------------


def _title(a: Analysis) -> str:
    spec = a.incident.spec
    return f"# Postmortem: {esc(spec.id)} — {author_md(spec.title, 300) or 'untitled incident'}"


def _summary(a: Analysis) -> str:
    text = a.incident.spec.narrative.summary
    body = (
        author_md(text, 5000)
        if text
        else todo(
            "write the executive summary (2-3 sentences: what happened, impact, resolution) under `narrative.summary`."
        )
    )
    return f"## Executive summary\n\n{body}"


def _metadata(a: Analysis) -> str:
    spec = a.incident.spec
    ms = a.milestones
    sev = a.severity
    sev_text = sev.final or "unknown"
    if sev.declared and sev.level and sev.mismatch:
        sev_text += f" (declared; the evidence classifies it {sev.level} by policy `{sev.policy}`)"
    elif not sev.declared:
        sev_text += f" (classified by policy `{sev.policy}`; not declared)"
    fields = table(
        "metadata", spec=spec, severity=sev_text, start=ms.impact_start, mitigated=ms.mitigated, resolved=ms.resolved
    )
    zone = spec.display_timezone
    if zone and zone != "UTC":  # the local reading of the impact and resolution times (display_timezone)
        impact = f"{sections.clock(ms.impact_start, zone)} → {sections.clock(ms.mitigated, zone)}"
        fields += f"\n| Local time ({esc(zone)}) | impact {impact}; resolved {sections.clock(ms.resolved, zone)} |"
    return f"## Metadata\n\n{fields}"


def _impact(a: Analysis) -> str:
    imp = a.impact
    spec = a.incident.spec
    parts = ["## Impact", "### Quantitative"]
    if imp.start is None:
        parts.append(todo("no impact was found in the SLI; describe the impact, or set `milestones.impact_start`."))
    else:
        lines = impact_lines(a)
        if spec.facts.revenue_impact:
            lines.append(f"- Revenue: {author_md(spec.facts.revenue_impact, 300)}")
        lines.append(f"- Evidence: {esc(a.sli.basis)}; {esc(imp.basis)}")
        if a.sli.why:
            lines.append(f"- {esc(a.sli.why)}")
        parts.append("\n".join(lines))
    parts.append("### Customer impact")
    parts.append(
        author_md(spec.narrative.customer_impact, 5000)
        if spec.narrative.customer_impact
        else todo("describe what customers experienced under `narrative.customer_impact`.")
    )
    parts.append(figures_markdown(a))
    parts.append("### SLO status")
    if not a.slos:
        parts.append(todo("no SLO is defined; add one under `slos:` to see the error budget consumed."))
    for r in a.slos:
        lines = [
            f"- **{esc(r.name)}**: {r.objective}% over {r.period} ({r.type}-based): budget {r.budget_minutes:.1f} minutes",
            f"- Consumed by this incident: {_pct(r.consumed)} of the budget"
            + (
                f" ({r.request_based['equivalent_bad_minutes']:.1f} minutes of full outage equivalent)"
                if r.type == "request" and r.request_based.get("equivalent_bad_minutes") is not None
                else ""
            ),
            f"- Bad minutes ({'error ratio' if a.sli.kind == 'requests' else 'bad share'} above "
            f"{r.time_slice['threshold']:.2%}): {r.time_slice['bad_minutes']:.0f} "
            f"= {_pct(r.time_slice['consumed'])} of the budget",
        ]
        if r.remaining is not None:
            lines.append(f"- Remaining this period: {_pct(r.remaining)}")
        if r.declared:
            d = r.declared
            verdict = (
                f"over budget by {d['over_budget_minutes']:.1f} minutes"
                if d["over_budget_minutes"] > 0
                else "within budget"
            )
            lines.append(
                f"- Declared in the incident report: {d['bad_minutes']:g} minutes of downtime = {_pct(d['consumed'])} "
                f"of the budget ({verdict}). Measured from the evidence: {r.time_slice['bad_minutes']:.0f} bad minutes."
            )
        lines += replay_lines(r)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _hms(t: dt.datetime | None) -> str:
    return fmt_utc(t, "hms", missing="unknown")


def _groups_line(frame: pl.DataFrame, column: str, limit: int = 5) -> str:
    """``POST /x` 2,362 of 3,074 (baseline 3 of 2,886)`` for the failing rows of a baseline test frame."""
    rows = frame.filter(pl.col("failing")).head(limit).iter_rows(named=True)
    return "; ".join(
        f"{code(r[column], 80)} {r['failed']:,} of {r['total']:,} (baseline {r['baseline_failed']:,} of "
        f"{r['baseline_total']:,})"
        for r in rows
    )


def impact_lines(a: Analysis) -> list[str]:
    """The Quantitative bullets of the Impact section: every count with its population and window
    (docs/analyses.md, "Impact")."""
    imp = a.impact
    spec = a.incident.spec
    assert imp.start is not None
    phases = {r["phase"]: r for r in imp.phases.iter_rows(named=True)}
    exact = a.sli.requests is not None
    span = f"{_hms(imp.start)}–{_hms(imp.end)} UTC"
    how = (
        f"from the first to the last {'failing' if a.sli.indicator == 'errors' else 'slow or failing'} request"
        if exact
        else "from the impact start to the end of the SLI's last bad minute"
    )
    lines = [
        f"- Duration: {fmt_duration(imp.end - imp.start, 'human') if imp.end else 'ongoing'} ({span}, {how}), "
        f"{imp.impact_minutes} clock minutes (UTC) with the per-minute "
        + ("error ratio" if a.sli.indicator == "errors" else "bad ratio")
        + " above the impact threshold",
        _bad_line(a)
        if a.sli.kind == "series"
        else f"- Requests {a.sli.bad_words}: {_num(imp.failed_requests)} of {_num(imp.total_requests)} "
        f"({_pct(imp.error_ratio)}) ({esc(imp.counted)}); peak {_pct(imp.peak_error_ratio, 0)} at {hm(imp.peak_at)} "
        f"UTC (per-minute {'error' if a.sli.indicator == 'errors' else 'bad'} ratio)",
        f"- Users affected: {_num(imp.affected_users)}"
        + (f" of {spec.facts.total_users:,} active" if spec.facts.total_users else "")
        + (f" ({esc(imp.basis)}, {span})" if imp.affected_users is not None else ""),
    ]
    if imp.affected_tenants:
        lines.append(f"- Tenants affected: {imp.affected_tenants:,} ({span})")
    lookback = fmt_duration(imp.rule.lookback, "compact")
    if imp.failing_endpoints:
        lines.append(
            f"- Endpoints {_failing(a)} ({'error' if a.sli.indicator == 'errors' else 'bad'} rate significantly above their own baseline of the {lookback} before "
            f"{_hms(imp.start)}; {'failed' if a.sli.indicator == 'errors' else 'bad'} of requests, {span}): {_groups_line(imp.endpoints, 'endpoint')}"
            + (f"; and {len(imp.failing_endpoints) - 5} more" if len(imp.failing_endpoints) > 5 else "")
        )
    bg = imp.background
    if bg["endpoints"]:
        lines.append(
            f"- Background: {bg['endpoints']} endpoint{'s' if bg['endpoints'] != 1 else ''}, "
            f"{bg['failures']:,} failure{'s' if bg['failures'] != 1 else ''}, at their baseline rate or too few to "
            f"count ({', '.join(code(e, 60) for e in bg['which'][:5])})"
        )
    if imp.services.height > 1 and imp.services.get_column("failing").any():
        lines.append(f"- Services failing: {_groups_line(imp.services, 'group')}")
    if imp.tenants.height and imp.tenants.get_column("failing").any():
        n = int(imp.tenants.get_column("failing").sum())
        lines.append(f"- Tenants failing above their baseline: {n:,} ({_groups_line(imp.tenants, 'group', 3)})")
    before, during = phases.get("before", {}), phases.get("during", {})
    if before.get("p95_ms") is not None and during.get("p95_ms") is not None:
        lines.append(
            f"- Latency p95 (every request of the {esc(a.sli.name or 'SLI')}, all endpoints): "
            f"{before['p95_ms']:,.0f} ms before ({_hms(before['start'])}–{_hms(before['end'])} UTC), "
            f"{during['p95_ms']:,.0f} ms during ({span})"
        )
    return lines


def _failing(a: Analysis) -> str:
    """What the SLI's bad requests are: ``failing``, or ``slow or failing`` with a latency SLI."""
    return "slow or failing" if a.sli.indicator == "latency" else "failing"


def _bad_line(a: Analysis) -> str:
    """The bad-events bullet: failed requests, slow-or-failed requests, or bad minutes of a series SLI."""
    imp = a.impact
    if a.sli.kind == "series":  # every minute weighs 1: bad is minutes (latency) or summed error fractions
        return (
            f"- Minutes bad by the SLI: {_num(imp.failed_requests)} of {_num(imp.total_requests)} minutes with samples "
            f"({_pct(imp.error_ratio)}); worst minute {_pct(imp.peak_error_ratio, 0)} bad at {hm(imp.peak_at)} UTC"
        )
    return (
        f"- Requests {a.sli.bad_words}: {_num(imp.failed_requests)} of {_num(imp.total_requests)} ({_pct(imp.error_ratio)}); "
        f"peak {_pct(imp.peak_error_ratio, 0)} at {hm(imp.peak_at)} UTC"
    )


def _places(where: tuple[str, ...], shown: int = 3) -> str:
    more = len(where) - shown
    return "; ".join(where[:shown]) + (f"; and {more} more" if more > 0 else "")


def _verdict(r: FigureCheck) -> str:
    if r.agrees is None:
        return "not measured"
    return f"yes ({r.tolerance})" if r.agrees else f"**no** (not {r.tolerance})"


def figures_markdown(a: Analysis) -> str:
    """The figures people stated (narrative, status updates, declared severity) beside the measured ones,
    each with its basis; what disagrees is named (``pmkit check``'s ``figures_agree``)."""
    rec = a.figures
    head = "### Stated figures and the evidence"
    if not rec.rows:
        return f"{head}\n\nNo figures are stated in the narrative, the status updates or the declared severity."
    wrong = len(rec.disagreements)
    lead = (
        "Figures written in the narrative, the status updates and the declared severity, beside what the evidence "
        "measures (an update posted during the impact is measured up to its time). Tolerances: counts within "
        f"{claims.COUNT_TOLERANCE:.0%}, durations within {claims.DURATION_TOLERANCE_MIN:g} min or "
        f"{claims.DURATION_TOLERANCE:.0%}, error ratios within {claims.RATIO_TOLERANCE * 100:g} points of the peak or "
        "the mean (docs/analyses.md)."
    )
    verdict = (
        f"**{wrong} stated figure{'s' * (wrong != 1)} disagree{'s' * (wrong == 1)} with the evidence.**"
        if wrong
        else "Every measured figure agrees with the evidence."
        if rec.measured
        else "None of them can be measured from the evidence."
    )
    return "\n\n".join([head, f"{lead} {verdict}", table("figures", rows=rec.rows, places=_places, verdict=_verdict)])


def _span(td: dt.timedelta) -> str:
    """A window or a length of history: ``8 min``, ``1 h``, ``2 h 10 min``, ``3 days``."""
    if td >= dt.timedelta(days=2) and td % dt.timedelta(days=1) == dt.timedelta(0):
        return f"{td.days} days"
    return fmt_duration(td, "compact")


def _versus(d: dt.timedelta | None, what: str) -> str:
    if d is None:
        return ""
    if abs(d) < dt.timedelta(minutes=1):  # the replay works in whole minutes
        return f"in the minute of {what}"
    side = "before" if d < dt.timedelta(0) else "after"
    return f"{fmt_duration(abs(d))} {side} {what}"


def replay_lines(r: SloResult) -> list[str]:
    """The burn-rate alert replay as bullets: what would have fired, when, against the impact start and the
    real first page, and what the evidence could not judge (docs/analyses.md, "Multiwindow burn-rate alerts")."""
    start = r.evidence_start
    if not r.alerts.height or start is None:
        return []
    if r.first_page is not None:
        real, versus_real, column = f"the first page came at {hm(r.first_page)} UTC", "the first page", "vs_page"
    elif r.first_alert is not None:
        real = f"no page was found in the evidence; the first alert fired at {hm(r.first_alert)} UTC"
        versus_real, column = "the first alert", "vs_alert"
    else:
        real, versus_real, column = "no page or alert was found in the evidence", "", ""
    lines = [
        "- Burn-rate alert replay (SRE workbook multiwindow alerts, judged only where the evidence covers the long "
        f"window; the evidence starts at {hm(start)} UTC): {real}"
    ]
    for a in r.alerts.iter_rows(named=True):
        window = _span(a["window"])
        text = f"  - {a['alert']} ({a['factor']:g}x over {window} and {_span(a['short'])}): "
        if a["covered_from"] is None:
            lines.append(
                text + f"not enough history: {_span(a['history'])} of evidence of the {window} its window needs."
            )
            continue
        if a["fired_at"] is None:
            text += (
                f"would not have fired: its windows never both burned faster than {a['factor']:g}x once its "
                f"{window} window was covered (from {hm(a['covered_from'])} UTC)"
            )
        else:
            text += f"would have fired {'by' if a['at_the_latest'] else 'at'} {hm(a['fired_at'])} UTC"
            if a["at_the_latest"]:
                text += f" at the latest (the first minute its {window} window is covered)"
            before = a["vs_impact"] is not None and a["vs_impact"] < dt.timedelta(0)
            relations = [_versus(a["vs_impact"], "the impact start")]
            if column:
                relations.append(_versus(a[column], versus_real))
            relations = [x for x in relations if x]
            if relations:
                text += ", " + " and ".join(relations)
            if before:
                text += f": the background error rate already burns budget faster than {a['factor']:g}x"
        if a["uncovered_at"] is not None and a["missing_at"] is not None:
            text += (
                f". At {hm(a['uncovered_at'])} both its windows burned faster than {a['factor']:g}x on the evidence "
                f"there was, but its window needs {window} of evidence, from {hm(start - a['missing_at'])} on, and the "
                f"evidence starts at {hm(start)} ({_span(a['missing_at'])} missing)"
            )
        lines.append(text + ".")
    return lines


def timeline_rows(a: Analysis) -> pl.DataFrame:
    """The document's timeline: the milestones, and the events the curated timeline keeps
    (:mod:`pmkit.analysis.curate`: the window, the rules, the author's ``timeline:``), one clean line each.

    An event that is a milestone's evidence is listed once, as the milestone (in bold). A starred
    event is marked ★; the author's note follows its line in italics.
    """
    ms = a.milestones
    rows = [
        {
            "ts": m.ts,
            "what": f"**{m.name.replace('_', ' ').capitalize()}**",
            "detail": esc(
                m.method if m.overridden else clean_one(redact(m.evidence.get("message") or m.method), WIDTH)
            ),
            "source": "incident.yaml" if m.overridden else m.evidence.get("source") or "",
        }
        for m in ms.items
        if m.ts is not None
    ]
    milestone_frame = pl.DataFrame(
        rows, schema={"ts": pl.Datetime("us", "UTC"), "what": pl.String, "detail": pl.String, "source": pl.String}
    )
    evidence = [m.evidence.get("origin") for m in ms.items if m.evidence.get("origin") and not m.overridden]
    kept = a.curated.kept().filter(~pl.col("origin").is_in(evidence))  # milestones are listed already
    kept = redact_frame(kept, ["line", "note"])
    events = kept.select(
        "ts",
        pl.when(pl.col("star"))
        .then(pl.concat_str([pl.lit("★ "), pl.col("kind")]))
        .otherwise(pl.col("kind"))
        .alias("what"),
        pl.struct("line", "note", "also")
        .map_elements(lambda r: _event_detail(r["line"], r["note"], r["also"]), return_dtype=pl.String)
        .alias("detail"),
        "source",
    )
    return pl.concat([milestone_frame, events]).sort("ts", maintain_order=True)


def _event_detail(line: str, note: str | None, also: str | None) -> str:
    """One event's cell: its clean line (escaped), where else it was said, the author's note in italics."""
    text = esc(line, 400)
    if also:
        text += f" ({esc(also, 200)})"
    if note:
        text += f" — _{esc(note, 400)}_"
    return text


def _timeline(a: Analysis) -> str:
    rows = timeline_rows(a)
    cur = a.curated
    day = rows.get_column("ts").min()
    when = f" on {fmt_utc(day, 'date')}" if isinstance(day, dt.datetime) else ""
    if isinstance(day, dt.datetime):  # the local offset that day (display_timezone)
        when += sections.zone_note(day, a.incident.spec.display_timezone)
    other = [e for e, p in cur.environments.items() if not p]
    envs = f", deploys to production only ({esc(', '.join(other))} left out)" if other else ""
    listed, key = cur.kept().height, cur.candidates().height
    n_ms = rows.filter(pl.col("what").str.starts_with("**")).height
    rule = 'the others left out by the rules in docs/analyses.md ("Curated timeline")'
    intro = (
        f"All times UTC{when}. Key events from {esc(cur.window_text())}{envs}: {listed} of {key} listed, {rule}. "
        f"{rows.height} rows: the {n_ms} milestones in bold (a key event that is a milestone's evidence is listed "
        f"once, as the milestone) and {rows.height - n_ms} other key events. "
        "The swimlane figure shows every key event of each source, the explorer every event."
    )
    problems = "".join(f"\n\n{todo(esc(p, 400))}" for p in cur.problems)
    return f"## Timeline\n\n{intro}{problems}\n\n" + table("timeline", rows=rows.iter_rows(named=True))


def _root_cause(a: Analysis) -> str:
    n = a.incident.spec.narrative
    parts = ["## Root cause"]
    parts.append(
        author_md(n.root_cause, 5000)
        if n.root_cause
        else todo("write the root cause under `narrative.root_cause` (systems and processes, no person named).")
    )
    if n.trigger:
        parts.append(f"**Trigger:** {author_md(n.trigger, 2000)}")
    if n.resolution:
        parts.append(f"**Resolution:** {author_md(n.resolution, 2000)}")
    parts.append(
        whys_markdown(
            a.whys,
            heading="### 5 Whys",
            text=lambda s: esc(s, 2000),
            prose=lambda s: author_md(s, 2000),
            min_levels=MIN_WHYS,
        )
    )
    return "\n\n".join(parts)


def _indent(text: str) -> str:
    return "\n   ".join(line.rstrip() for line in text.strip().splitlines())


def whys_markdown(
    whys: FiveWhys,
    *,
    heading: str = "## 5 Whys Analysis",
    hints: bool = True,
    checks: bool = True,
    category: bool = True,
    text: Callable[[str], str] = str,
    prose: Callable[[str], str] | None = None,
    min_levels: int | None = None,
) -> str:
    """A 5 Whys chain as Markdown in the form of seeds/004's "5 Whys Analysis"; TODO marks what is left to write.

    Each level is a numbered bold question and an ``→`` answer; the check and the evidence
    hints follow as nested bullets (``checks=False``, ``hints=False`` leave them out).
    ``text`` is applied to every evidence hint and to a question pmkit wrote from the evidence
    (a document passes its escaping: hints quote log templates such as ``Get <STR>:``, which HTML
    would take for a tag); ``prose`` (default: ``text``) to what the author wrote, the questions
    and answers (a document passes its author-Markdown rewrite). ``min_levels``: the levels the policy asks
    for (the ``five_whys`` gate's); fewer answered is said under the chain, with how many are missing.
    :meth:`pmkit.analysis.whys.FiveWhys.to_markdown` is this function.
    """
    last = whys.last_answered
    prose = prose or text
    parts = [heading] if heading else []
    for lv in whys.levels:
        ask = text if lv.prefilled else prose
        q = ask(lv.question) if lv.question else f"{TODO}: ask why the answer above happened"
        lines = [f"{lv.number}. **{q}**", f"   → {_indent(prose(lv.answer)) if lv.answer else TODO}"]
        if checks and whys.asks_check(lv):
            lines.append(f"   - _{CHECK_QUESTION}_ {lv.check_text(last is lv)}")
        if hints:
            lines += [f"   - _Evidence:_ {text(h)}" for h in lv.hints]
        parts.append("\n".join(lines))
    if whys.dig_deeper and last is not None:
        parts.append(
            f"> The last answer (level {last.number}) would still have let the incident happen: "
            "dig deeper before calling it the root cause."
        )
    if min_levels is not None and whys.answered < min_levels:
        missing = min_levels - whys.answered
        parts.append(
            f"> {whys.answered} of the {min_levels} levels the policy asks for {'is' if whys.answered == 1 else 'are'} "
            f"answered ({missing} missing): `pmkit check` fails `five_whys` until they are written."
        )
    if category and whys.answered:
        parts.append(f"**Root cause category (suggested):** {whys.category or TODO}")
    return "\n\n".join(parts) + "\n"


def _contributing(a: Analysis) -> str:
    n = a.incident.spec.narrative
    return "## Contributing factors\n\n" + _bullets(
        n.contributing_factors, "list contributing factors under `narrative.contributing_factors`."
    )


def _reflection(a: Analysis) -> str:
    n = a.incident.spec.narrative
    return (
        "## What went well\n\n"
        + _bullets(n.went_well, "list what went well under `narrative.went_well`.")
        + "\n\n## What went wrong\n\n"
        + _bullets(n.went_wrong, "list what went wrong under `narrative.went_wrong`.")
        + "\n\n## Where we got lucky\n\n"
        + _bullets(n.lucky, "list where you got lucky under `narrative.lucky`.")
    )


def action_items_table(a: Analysis) -> str:
    items = a.incident.spec.action_items
    if not items:
        return todo("add at least two action items, each with an owner and a due date, under `action_items:`.")
    return table("action_items", items=items)


def _action_items(a: Analysis) -> str:
    return "## Action items\n\n" + action_items_table(a)


def _lessons(a: Analysis) -> str:
    return "## Lessons learned\n\n" + _bullets(
        a.incident.spec.narrative.lessons, "write the lessons learned under `narrative.lessons`."
    )


def where(a: Analysis, origin: str | None) -> str:
    """An evidence origin as the reader can find it: relative to the incident folder (the document must
    not depend on where the folder sat when it was rendered)."""
    if not origin:
        return ""
    for root in (a.incident.root, a.incident.root.resolve()):
        prefix = str(root).rstrip("/") + "/"
        if origin.startswith(prefix):
            return origin.removeprefix(prefix)
    return origin


def _when(t: dt.datetime | None, zone: str | None) -> str:
    """A milestone table time to the second, as the evidence gives it: ``2025-06-15 14:19:23``, with
    ``display_timezone`` ``2025-06-15 14:19:23 (16:19:23 CEST)``."""
    return sections.clock(t, zone, style="second").replace(" UTC", "", 1) if t else "unknown"


def _label(m: Milestone) -> str:
    """A milestone's evidence label (the explorer's words), redacted like every text the document quotes."""
    return redact(evidence_label(m))


def _supporting(a: Analysis) -> str:
    mx = a.mttx.row(0, named=True)
    conv = "impact start" if a.convention == "impact" else "detection"
    parts = [
        "## Supporting data",
        "### Response times",
        table("response_times", mx=mx),
        f"MTTD = detected − impact start; MTTA = acknowledged − detected; MTTM and MTTR measured from {conv} "
        "to mitigated and resolved (docs/analyses.md).",
        "### Milestones and their evidence",
        table(
            "milestones",
            milestones=a.milestones.items,
            where=functools.partial(where, a),
            label=_label,
            when=functools.partial(_when, zone=a.incident.spec.display_timezone),
        ),
    ]
    if a.suspects.height:
        parts.append("### Change suspects")
        parts.append(table("suspects", rows=a.suspects.head(5).iter_rows(named=True)))
    if a.signatures.height:
        sigs = redact_frame(a.signatures.head(8), ["template"])
        parts.append("### Log signatures new or surging during the impact")
        parts.append(table("signatures", rows=sigs.iter_rows(named=True)))
    cad = a.cadence
    parts.append("### Communication cadence")
    parts.append(esc(cad.summary(), 1000))
    parts.append("### Evidence loaded")
    parts += _mostly_rejected(a.incident.report)
    parts.append(table("evidence", rows=a.incident.report.iter_rows(named=True)))
    parts += _queries(a)
    return "\n\n".join(parts)


def _queries(a: Analysis) -> list[str]:
    """A line per source pulled by a query (a lake's SQL, a Prometheus pull; ``LoadResult.query``): the query as
    it ran, with the incident folder's path cut from the files it names, and how many inputs it returned."""
    report = a.incident.report
    if "query" not in report.columns:
        return []
    prefixes = {str(root).rstrip("/") + "/" for root in (a.incident.root, a.incident.root.resolve())}

    def shown(query: str) -> str:
        for prefix in sorted(prefixes, key=len, reverse=True):
            query = query.replace(prefix, "")
        return redact(query)

    rows = [{**r, "query": shown(r["query"])} for r in report.iter_rows(named=True) if r["query"]]
    return [table("evidence_queries", rows=rows)] if rows else []


def _mostly_rejected(report: pl.DataFrame) -> list[str]:
    """A warning line per source whose inputs were mostly rejected (``warning`` of the load report,
    :mod:`pmkit.sources.verdict`): the figures below stand without most of that source."""
    if "warning" not in report.columns:
        return []
    return [
        f"> **Warning:** source {esc(r['source'])}: {esc(r['warning'], 600)}. The figures of this document "
        "are computed without the rejected inputs."
        for r in report.iter_rows(named=True)
        if r["warning"]
    ]


_BUILDERS: dict[str, Callable[[Analysis], str]] = {
    "title": _title,
    "summary": _summary,
    "metadata": _metadata,
    "impact": _impact,
    "timeline": _timeline,
    "root_cause": _root_cause,
    "contributing": _contributing,
    "reflection": _reflection,
    "action_items": _action_items,
    "lessons": _lessons,
    "supporting": _supporting,
    "byline": sections.byline,
    "leadup": sections.leadup,
    "detection": sections.detection,
    "response": lambda a: sections.response(a) + "\n\n" + phases_markdown(a),
    "recovery": sections.recovery,
    "chat": sections.chat_appendix,
}
_TITLES = {
    "title": "Title",
    "summary": "Executive summary",
    "metadata": "Metadata",
    "impact": "Impact",
    "timeline": "Timeline",
    "root_cause": "Root cause",
    "contributing": "Contributing factors",
    "reflection": "What went well / wrong / lucky",
    "action_items": "Action items",
    "lessons": "Lessons learned",
    "supporting": "Supporting data",
    "byline": "Authors, dates and tags",
    "leadup": "Leadup",
    "detection": "Detection",
    "response": "Response",
    "recovery": "Recovery",
    "chat": "Appendix: incident chat",
}


def _incident_md(a: Analysis) -> str:
    spec = a.incident.spec
    ms = a.milestones
    imp = a.impact
    return "\n".join(
        [
            f"# Incident Report: {esc(spec.id)}",
            "",
            "## Metadata",
            f"- **Incident ID**: {esc(spec.id)}",
            f"- **Severity**: {esc(a.severity.final)}",
            f"- **Status**: {esc(spec.status or 'unknown')}",
            f"- **Detected**: {hm(ms.detected, date=True)} UTC",
            f"- **Affected Service**: {esc(', '.join(spec.services)) or 'unknown'}",
            *(f"- **{esc(k.replace('_', ' ').title())}**: {esc(v)}" for k, v in spec.roles.items()),
            "",
            "## Description",
            author_md(spec.title, 300) or todo("title"),
            "",
            "## Impact",
            f"- Users Affected: {_num(imp.affected_users)}",
            f"- Requests Failed: {_num(imp.failed_requests)}",
            *_services_down(a),
            f"- Revenue Impact: {author_md(spec.facts.revenue_impact, 300) if spec.facts.revenue_impact else 'unknown'}",
            "",
            "## Timeline",
            "See timeline.md",
            "",
            "## Status Updates",
            *(f"- [{hm(r['ts'])}] {esc(r['message'], 200)}" for r in a.cadence.updates.iter_rows(named=True)),
            "",
        ]
    )


def _services_down(a: Analysis) -> list[str]:
    """The "Services Down" line, only when the analysis found a complete outage (severity's services down:
    peak per-minute error ratio >= 95% on a user-facing service); the failing services of the SLI if known."""
    facts = a.severity.facts
    if not facts.services_down:
        return []
    failing = a.impact.services.filter(pl.col("failing")).get_column("group").to_list()
    names = failing or list(a.incident.spec.services)
    return [
        f"- Services Down: {esc(', '.join(names)) or 'unknown'} (peak error ratio {_pct(a.impact.peak_error_ratio, 0)} "
        f"at {hm(a.impact.peak_at)} UTC, {esc(a.sli.name or 'the SLI')})"
    ]


def _action_items_md(a: Analysis) -> str:
    items = a.incident.spec.action_items
    checks = "\n".join(
        f"- [{'x' if is_done(x.status) else ' '}] {author_md(x.action, 500)} "
        f"({esc(x.owner) or 'owner TODO'}, due {x.due.isoformat() if x.due else 'TODO'})"
        for x in items
    )
    return f"# Action Items: {esc(a.incident.spec.id)}\n\n{action_items_table(a)}\n\n## Checklist\n\n{checks or todo('add action items')}\n"


def build(analysis: Analysis) -> Document:
    """Every section of the postmortem, plus the other files of the seed file set."""
    sections = tuple(Section(k, _TITLES[k], _BUILDERS[k](analysis)) for k in SECTION_ORDER)
    timeline = next(sec for sec in sections if sec.key == "timeline").markdown  # built once, used twice
    extra = {
        "incident.md": _incident_md(analysis),
        "timeline.md": f"# Incident Timeline: {esc(analysis.incident.spec.id)}\n\n"
        + timeline.removeprefix("## Timeline\n\n")
        + "\n",
        "action-items.md": _action_items_md(analysis),
    }
    return Document(analysis.incident.spec.id, sections, extra)
