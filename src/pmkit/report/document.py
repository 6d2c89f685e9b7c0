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

from pmkit.analysis.milestones import evidence_label
from pmkit.analysis.whys import CHECK_QUESTION, TODO, FiveWhys
from pmkit.redaction import redact, redact_frame
from pmkit.report import sections
from pmkit.report.present import author_md, code, esc, table
from pmkit.timeutil import fmt_duration, fmt_utc

if TYPE_CHECKING:
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
MAX_TIMELINE_ROWS = 40


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
        before = a.impact.phases.filter(pl.col("phase") == "before").to_dicts()
        during = a.impact.phases.filter(pl.col("phase") == "during").to_dicts()
        lines = [
            f"- Duration: {fmt_duration(imp.end - imp.start) if imp.end else 'ongoing'} "
            f"({hm(imp.start)}–{hm(imp.end)} UTC), {imp.impact_minutes} minutes above the error threshold",
            f"- Requests failed: {_num(imp.failed_requests)} of {_num(imp.total_requests)} ({_pct(imp.error_ratio)}); "
            f"peak {_pct(imp.peak_error_ratio, 0)} at {hm(imp.peak_at)} UTC",
            f"- Users affected: {_num(imp.affected_users)}"
            + (f" of {spec.facts.total_users:,} active" if spec.facts.total_users else ""),
        ]
        if imp.affected_tenants:
            lines.append(f"- Tenants affected: {imp.affected_tenants:,}")
        if imp.affected_endpoints:
            lines.append("- Endpoints failing: " + ", ".join(code(e, 80) for e in imp.affected_endpoints[:5]))
        if before and during and during[0].get("p95_ms") is not None:
            lines.append(f"- Latency p95: {before[0]['p95_ms']:,.0f} ms before, {during[0]['p95_ms']:,.0f} ms during")
        if spec.facts.revenue_impact:
            lines.append(f"- Revenue: {author_md(spec.facts.revenue_impact, 300)}")
        lines.append(f"- Evidence: {esc(a.sli.basis)}; {esc(imp.basis)}")
        parts.append("\n".join(lines))
    parts.append("### Customer impact")
    parts.append(
        author_md(spec.narrative.customer_impact, 5000)
        if spec.narrative.customer_impact
        else todo("describe what customers experienced under `narrative.customer_impact`.")
    )
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
            f"- Bad minutes (error ratio above {r.time_slice['threshold']:.2%}): {r.time_slice['bad_minutes']:.0f} "
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
    """The key events to list in the document: milestones and key events from 1 h before impact to resolution."""
    ms = a.milestones
    start = ms.impact_start or ms.detected
    end = ms.resolved or ms.mitigated
    tl = a.timeline.key().frame
    if start is not None:
        tl = tl.filter(pl.col("ts") >= start - dt.timedelta(hours=1))
    if end is not None:
        tl = tl.filter(pl.col("ts") <= end + dt.timedelta(minutes=5))
    # one row per deployment state is noise: keep created/success/failure and rollbacks
    state = pl.col("attrs").str.json_path_match("$.state")
    tl = tl.filter(
        (pl.col("kind") != "deploy") | state.is_in(["created", "success", "failure", "error"]) | state.is_null()
    )
    rows = [
        {
            "ts": m.ts,
            "what": f"**{m.name.replace('_', ' ').capitalize()}**",
            "detail": esc(m.method if m.overridden else redact(m.evidence.get("message") or m.method)),
            "source": "incident.yaml" if m.overridden else m.evidence.get("source") or "",
        }
        for m in ms.items
        if m.ts is not None
    ]
    milestone_frame = pl.DataFrame(
        rows, schema={"ts": pl.Datetime("us", "UTC"), "what": pl.String, "detail": pl.String, "source": pl.String}
    )
    evidence = [m.evidence.get("origin") for m in ms.items if m.evidence.get("origin")]
    tl = redact_frame(tl.filter(~pl.col("origin").is_in(evidence)), ["message"])  # milestones are listed already
    events = tl.select(
        "ts",
        pl.col("kind").alias("what"),
        pl.col("message").map_elements(lambda s: esc(s, 160), return_dtype=pl.String).alias("detail"),
        "source",
    )
    out = pl.concat([milestone_frame, events]).sort("ts", maintain_order=True)
    if out.height > MAX_TIMELINE_ROWS:  # keep milestones, thin the rest evenly
        is_m = pl.col("what").str.starts_with("**")
        rest = out.filter(~is_m)
        step = max(1, rest.height // (MAX_TIMELINE_ROWS - milestone_frame.height))
        out = pl.concat([out.filter(is_m), rest.gather_every(step)]).sort("ts", maintain_order=True)
    return out


def _timeline(a: Analysis) -> str:
    rows = timeline_rows(a)
    day = rows.get_column("ts").min()
    when = f" on {fmt_utc(day, 'date')}" if isinstance(day, dt.datetime) else ""
    if isinstance(day, dt.datetime):  # the local offset that day (display_timezone)
        when += sections.zone_note(day, a.incident.spec.display_timezone)
    return (
        f"## Timeline\n\nAll times UTC{when}. Milestones in bold; the swimlane figure shows every source.\n\n"
        + table("timeline", rows=rows.iter_rows(named=True))
    )


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
        whys_markdown(a.whys, heading="### 5 Whys", text=lambda s: esc(s, 2000), prose=lambda s: author_md(s, 2000))
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
) -> str:
    """A 5 Whys chain as Markdown in the form of seeds/004's "5 Whys Analysis"; TODO marks what is left to write.

    Each level is a numbered bold question and an ``→`` answer; the check and the evidence
    hints follow as nested bullets (``checks=False``, ``hints=False`` leave them out).
    ``text`` is applied to every evidence hint and to a question pmkit wrote from the evidence
    (a document passes its escaping: hints quote log templates such as ``Get <STR>:``, which HTML
    would take for a tag); ``prose`` (default: ``text``) to what the author wrote, the questions
    and answers (a document passes its author-Markdown rewrite).
    :meth:`pmkit.analysis.whys.FiveWhys.to_markdown` is this function.
    """
    last = whys.last_answered
    prose = prose or text
    parts = [heading] if heading else []
    for lv in whys.levels:
        ask = text if lv.prefilled else prose
        q = ask(lv.question) if lv.question else f"{TODO}: ask why the answer above happened"
        lines = [f"{lv.number}. **{q}**", f"   → {_indent(prose(lv.answer)) if lv.answer else TODO}"]
        if checks:
            lines.append(f"   - _{CHECK_QUESTION}_ {lv.check_text(last is lv)}")
        if hints:
            lines += [f"   - _Evidence:_ {text(h)}" for h in lv.hints]
        parts.append("\n".join(lines))
    if whys.dig_deeper and last is not None:
        parts.append(
            f"> The last answer (level {last.number}) would still have let the incident happen: "
            "dig deeper before calling it the root cause."
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
    """A milestone table time: ``2025-06-15 14:19``, with ``display_timezone`` ``2025-06-15 14:19 (16:19 CEST)``."""
    return sections.clock(t, zone, style="minute").replace(" UTC", "", 1) if t else "unknown"


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
    if a.rollback:
        rb = a.rollback
        parts.append(
            f"Mitigating change: {esc(redact(rb.get('description') or 'rollback'))} of {esc(rb.get('service'))}, started "
            f"{hm(rb.get('start'))}, completed {hm(rb.get('completed'))} UTC."
        )
    if a.signatures.height:
        sigs = redact_frame(a.signatures.head(8), ["template"])
        parts.append("### Log signatures new or surging during the impact")
        parts.append(table("signatures", rows=sigs.iter_rows(named=True)))
    cad = a.cadence
    parts.append("### Communication cadence")
    parts.append(esc(cad.summary(), 1000))
    parts.append("### Evidence loaded")
    parts.append(table("evidence", rows=a.incident.report.iter_rows(named=True)))
    return "\n\n".join(parts)


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
    "response": sections.response,
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
            f"- Services Down: {esc(', '.join(spec.services)) or 'unknown'}",
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


def _action_items_md(a: Analysis) -> str:
    items = a.incident.spec.action_items
    checks = "\n".join(
        f"- [{'x' if x.status.lower() in ('done', 'closed', 'complete', 'completed') else ' '}] {author_md(x.action, 500)} "
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
