"""Communication drafts from the evidence: an internal update, a status page update, a resolution note.

The templates are the seeds': the internal update follows the stakeholder update of seeds/004
(``**[SEV1] Payment Processing — Update #3 (15:00 UTC)**``, current status, next update, what
happened, what we did, what we're doing now, impact) with the incident, severity and ETA lines of
seeds/000's internal status update; the status page update and the resolution announcement follow
seeds/000's external templates in seeds/003's customer wording. Every draft is Markdown, a draft
for a person to check and post, and passes through :func:`pmkit.redaction.redact`.

This module writes the three drafts; what they state at a moment and how figures are written is
:mod:`pmkit.report.comms_facts`, the customer-facing rule (no internal names) is
:mod:`pmkit.report.comms_public`.

**Where facts come from.** Times are the milestones (overrides included), status and next update
are derived from them and the severity (``analysis.severity.final``, cadence per
``pmkit.analysis.severity.cadence_for``); figures are ``analysis.impact`` (failed and total
requests, error ratio, peak, affected users, endpoints, duration), the SLO results, the rollback
and the top change suspect. The spec's narrative (summary, root cause, resolution, customer
impact) and ``facts.revenue_impact`` are the author's words; where the author wrote something it
wins over the generated sentence, as overrides do. Anything neither gives is a ``[TODO: ...]``
marker (``comms_facts.TODO_PREFIX``), never a guess: an ETA, what responders are doing at an unresolved
moment, a cause in customer terms.

**The moment (``at``)** each update speaks for, its status and the impact so far are
:func:`pmkit.report.comms_facts.moment_at`'s: only what happened by ``at`` is told, and the
narrative, written after the incident, is used only from the resolved moment on.

**Customer-facing rule** (status page and resolution): no internal names, by
:func:`pmkit.report.comms_public.internal_names`; the customer "Issue" is the root cause's first
sentence or a TODO. Customer texts state shares in words (``most requests were failing``) and
counts to two significant digits (``about 2,100 users``); exact figures stay internal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from pmkit.redaction import redact
from pmkit.report.comms_facts import (
    Moment,
    default_at,
    fmt_about,
    fmt_day,
    fmt_hm,
    fmt_pct,
    fmt_span,
    moment_at,
    next_update,
    reached,
    share_words,
    todo,
    update_number,
)
from pmkit.report.comms_public import checker, public_sentences, public_title, sentences

if TYPE_CHECKING:
    from pmkit.pipeline import Analysis

FILES = ("internal-update.md", "status-page.md", "resolution.md")


# --- internal update ---------------------------------------------------------------------------


def _symptom(analysis: Analysis, m: Moment) -> str:
    """What the evidence says happened by ``m.at``, in one or two sentences."""
    imp = m.impact
    services = analysis.incident.spec.services
    what = f"{services[0]} requests" if services else "requests"
    start = m.times["impact_start"]
    if start is None or imp.error_ratio is None:
        return todo("what happened")
    peak = (
        f" (peak {fmt_pct(imp.peak_error_ratio)} at {fmt_hm(imp.peak_at)})" if imp.peak_error_ratio is not None else ""
    )
    mitigated = m.times["mitigated"]
    if reached(mitigated, m.at):
        text = (
            f"From {fmt_hm(start)} to {fmt_hm(mitigated)}, {fmt_pct(imp.error_ratio)} of {what} failed{peak}; "
            f"the error rate has been back at baseline since {fmt_hm(mitigated)}."
        )
    else:
        text = f"Since {fmt_hm(start)}, {fmt_pct(imp.error_ratio)} of {what} have failed{peak}."
    detected = m.times["detected"]
    if reached(detected, m.at):
        text += f" Detected at {fmt_hm(detected)}."
    return text


def _suspect(analysis: Analysis) -> str | None:
    if analysis.suspects.height == 0:
        return None
    r = analysis.suspects.row(0, named=True)
    version = r.get("version") or r.get("ref") or (r.get("sha") or "")[:12]
    lead = r["lead_time"]
    before = f", {fmt_span(lead)} before impact start" if lead is not None and lead.total_seconds() >= 0 else ""
    verb = {"commit": "committed", "config": "changed", "migration": "migrated"}.get(
        r.get("change_type") or "", "deployed"
    )
    return f"{r.get('service') or 'a service'} {version} {verb} at {fmt_hm(r['ts'])}{before}".replace("  ", " ")


def _did(analysis: Analysis, m: Moment) -> list[str]:
    t = m.times
    rows: list[tuple[dt.datetime, str]] = []
    for name, what in (
        ("detected", "alert fired (detection)"),
        ("acknowledged", "page acknowledged"),
        ("declared", f"incident declared ({analysis.severity.final})"),
    ):
        if reached(t[name], m.at):
            rows.append((t[name], what))  # type: ignore[arg-type]
    rb = m.rollback
    if rb is not None and reached(rb.get("start"), m.at):
        undo = rb.get("rolls_back") or {}
        undoing = f", undoing {undo.get('version')} deployed at {fmt_hm(undo.get('ts'))}" if undo.get("version") else ""
        target = f" to {rb['version']}" if rb.get("version") else ""
        rows.append((rb["start"], f"rollback of {rb.get('service') or 'the service'}{target} started{undoing}"))
        if reached(rb.get("completed"), m.at):
            rows.append((rb["completed"], "rollback completed"))
    if reached(t["mitigated"], m.at):
        rows.append((t["mitigated"], "error rate back at baseline (mitigated)"))  # type: ignore[arg-type]
    if reached(t["resolved"], m.at):
        rows.append((t["resolved"], "incident resolved"))  # type: ignore[arg-type]
    rows.sort(key=lambda r: r[0])
    lines = [f"- {fmt_hm(ts)}: {what}" for ts, what in rows]
    resolution = analysis.incident.spec.narrative.resolution
    if m.final and resolution:
        lines.append(f"- Resolution: {' '.join(resolution.split())}")
    return lines or [f"- {todo('what responders did')}"]


def _doing(analysis: Analysis, m: Moment) -> str:
    rb = m.rollback or {}
    if m.status == "Resolved":
        return f"Incident closed at {fmt_hm(m.times['resolved'])}; the postmortem follows."
    if m.status == "Monitoring":
        return (
            f"Monitoring error rates to confirm full recovery (at baseline since {fmt_hm(m.times['mitigated'])}). "
            f"{todo('anything else in progress')}"
        )
    if m.status == "Identified":
        if reached(rb.get("completed"), m.at):
            return (
                f"Rollback completed at {fmt_hm(rb['completed'])}; waiting for the error rate to return to baseline. "
                f"{todo('anything else in progress')}"
            )
        return f"Rolling back (started {fmt_hm(rb.get('start'))}). {todo('anything else in progress')}"
    suspect = _suspect(analysis)
    lead = f"Investigating; top change suspect from the evidence: {suspect}. " if suspect else "Investigating. "
    return lead + todo("what responders are doing now")


def _impact_lines(analysis: Analysis, m: Moment) -> list[str]:
    imp = m.impact
    lines = []
    if imp.failed_requests is not None and imp.total_requests:
        until = m.times["mitigated"] if reached(m.times["mitigated"], m.at) else m.at
        span = f" ({fmt_span(until - imp.start)})" if until is not None and imp.start is not None else ""
        lines.append(
            f"- {imp.failed_requests:,.0f} of {imp.total_requests:,.0f} requests failed ({fmt_pct(imp.error_ratio or 0)}) "
            f"between {fmt_hm(imp.start)} and {fmt_hm(until)}{span}"
            + (
                f"; peak {fmt_pct(imp.peak_error_ratio)} at {fmt_hm(imp.peak_at)}"
                if imp.peak_error_ratio is not None
                else ""
            )
        )
    else:
        lines.append(f"- {todo('failed requests')}")
    users = f"{imp.affected_users:,}" if imp.affected_users is not None else todo("affected users")
    lines.append(f"- Affected users: {users}")
    if imp.affected_tenants is not None:
        lines.append(f"- Affected tenants: {imp.affected_tenants:,}")
    failing = imp.failing_endpoints  # above their own baseline; background failures are not the incident's
    if failing:
        shown = ", ".join(failing[:5])
        more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        lines.append(f"- Affected endpoints: {shown}{more}")
    if reached(m.times["mitigated"], m.at):
        for slo in analysis.slos:
            if slo.consumed is not None:
                objective = f"{slo.objective:g}% over {slo.period}"
                lines.append(f"- Error budget: {fmt_pct(slo.consumed)} of {slo.name} ({objective}) consumed")
    revenue = analysis.incident.spec.facts.revenue_impact
    lines.append(f"- Revenue impact: {revenue or todo('revenue impact')}")
    customer = analysis.incident.spec.narrative.customer_impact
    if m.final and customer:
        lines.append(f"- Customer impact: {' '.join(customer.split())}")
    return lines


def internal_update(analysis: Analysis, at: dt.datetime | str | None = None) -> str:
    """The internal stakeholder update for the moment ``at`` (seeds/004 format), as Markdown."""
    m = moment_at(analysis, at)
    spec = analysis.incident.spec
    sev = analysis.severity.final
    title = spec.title.strip() or todo("title")
    n = update_number(analysis, m.at)
    summary = spec.narrative.summary
    happened = " ".join(summary.split()) if m.final and summary else _symptom(analysis, m)
    lines = [
        f"**[{sev}] {title} — Update #{n} ({fmt_hm(m.at)})**",
        "",
        f"**Incident:** {spec.id}",
        f"**Severity:** {sev}",
        f"**Current status:** {m.status}",
        f"**Updated:** {fmt_day(m.at)}",
        f"**Next update:** {next_update(analysis, m)}",
        "",
        f"**What happened:** {happened}",
        "",
        "**What we did:**",
        *_did(analysis, m),
        "",
        f"**What we're doing now:** {_doing(analysis, m)}",
        "",
        "**Impact:**",
        *_impact_lines(analysis, m),
    ]
    if not m.final:
        lines += ["", f"**ETA to resolution:** {todo('ETA')}"]
    return redact("\n".join(lines)) + "\n"


# --- customer-facing drafts ----------------------------------------------------------------------


def _customer_impact(analysis: Analysis, m: Moment, check: Callable[[str], list[str]]) -> str:
    """The impact in customer words: the author's (public sentences) once resolved, else measured."""
    authored = public_sentences(analysis.incident.spec.narrative.customer_impact, check) if m.final else None
    imp = m.impact
    start = m.times["impact_start"]
    if authored:
        end = m.times["mitigated"] or imp.end
        window = f" Customers were affected from {fmt_hm(start)} to {fmt_hm(end)}." if start and end else ""
        return authored + window
    if imp.error_ratio is None or start is None:
        return todo("impact in customer terms")
    if m.status in ("Monitoring", "Resolved"):
        end = m.times["mitigated"] or imp.end
        users = f" {fmt_about(imp.affected_users).capitalize()} users were affected." if imp.affected_users else ""
        return f"Between {fmt_hm(start)} and {fmt_hm(end)}, {share_words(imp.error_ratio, past=True)}.{users}"
    return f"Since {fmt_hm(start)}, {share_words(imp.error_ratio, past=False)}."


def _customer_next(analysis: Analysis, m: Moment) -> str:
    if m.final:
        return ""
    every = analysis.severity.cadence
    if every is None:
        return "We will provide updates as the situation changes."
    return f"We will provide an update within {fmt_span(every, words=True)}."


def status_page_update(analysis: Analysis, at: dt.datetime | str | None = None) -> str:
    """The external status page update for the moment ``at`` (seeds/000 and 003 wording), as Markdown."""
    m = moment_at(analysis, at)
    check = checker(analysis)
    title = public_title(analysis, check)
    body = {
        "Investigating": "We are currently investigating an issue. Our team is actively working on a resolution.",
        # Identified is reached by a rollback starting (see moment_at)
        "Identified": "We have identified the cause of the issue and are reverting a recent change.",
        "Monitoring": "A fix has been implemented and we are monitoring the results.",
        "Resolved": "This incident has been resolved.",
    }[m.status]
    lines = [
        f"**{title}**",
        f"*Posted: {fmt_day(m.at)} | Status: {m.status}*",
        "",
        f"{body} {_customer_impact(analysis, m, check)}",
    ]
    nxt = _customer_next(analysis, m)
    if nxt:
        lines += ["", nxt]
    return redact("\n".join(lines)) + "\n"


def resolution_announcement(analysis: Analysis) -> str:
    """The customer resolution announcement (seeds/000 and 003), as Markdown; TODO markers while unresolved."""
    t = analysis.milestones.times()
    resolved, start, mitigated = t["resolved"], t["impact_start"], t["mitigated"]
    at = resolved or default_at(analysis)
    m = moment_at(analysis, at)
    if resolved is None:
        m = Moment(m.at, m.times, "Resolved", True, analysis.impact, m.rollback)
    narrative = analysis.incident.spec.narrative
    check = checker(analysis)
    duration = fmt_span(resolved - start, words=True) if resolved and start else todo("duration")
    window = f" ({fmt_hm(start)} to {fmt_hm(resolved)})" if resolved and start else ""
    # the cause is the root cause's first sentence, when that names nothing internal
    first = sentences(narrative.root_cause or "")[:1]
    issue = public_sentences(first[0], check) if first else None
    issue = issue or todo("cause in customer terms")
    resolution = public_sentences(narrative.resolution, check)
    reverted = "We reverted a recent change."
    if resolution is None:
        resolution = reverted if analysis.rollback else todo("resolution in customer terms")
    elif analysis.rollback and not re.search(r"(?i)\broll(?:ed|ing)?[ -]?back|\brevert", resolution):
        resolution = f"{reverted} {resolution}"
    if mitigated is not None:
        resolution += f" Service returned to normal at {fmt_hm(mitigated)}."
    lines = [
        f"**RESOLVED: {public_title(analysis, check)}**",
        f"*Resolved: {fmt_day(resolved, 'resolution time')} | Duration: {duration}{window}*",
        "",
        f"**Issue:** {issue}",
        "",
        f"**Resolution:** {resolution}",
        "",
        f"**Impact:** {_customer_impact(analysis, m, check)}",
        "",
        "**Next Steps:** We are conducting a full postmortem and will implement additional safeguards to prevent "
        "recurrence.",
        "",
        "We apologize for the inconvenience.",
    ]
    return redact("\n".join(lines)) + "\n"


def drafts(analysis: Analysis, at: dt.datetime | str | None = None) -> dict[str, str]:
    """All three drafts, keyed by file name (``FILES``); the two updates speak for ``at`` (default moment)."""
    return {
        "internal-update.md": internal_update(analysis, at),
        "status-page.md": status_page_update(analysis, at),
        "resolution.md": resolution_announcement(analysis),
    }
