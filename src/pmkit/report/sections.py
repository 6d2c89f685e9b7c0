"""The sections real postmortems have beyond the seeds' core: byline, Leadup, Detection, Response, Recovery and the
incident chat appendix (PagerDuty's and Google's templates; seeds/000 "Authors", "Date").

Each builder reads an :class:`~pmkit.pipeline.Analysis` and the facts of :mod:`pmkit.analysis.response`, and
writes only sentences that follow from them: a time, who or what, and the basis (the milestone's evidence label,
the source); what the evidence lacks reads "not found in the evidence". The author's words
(``narrative.leadup/detection/response/recovery``) come first, through :func:`~pmkit.report.present.author_md`;
evidence goes through :func:`~pmkit.report.present.esc`. Times are UTC, followed by the local time when
incident.yaml sets ``display_timezone`` (:func:`clock`: ``14:19 UTC (16:19 CEST)``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any, Literal

from pmkit.analysis import response as resp
from pmkit.analysis.curate import clean_one
from pmkit.analysis.milestones import Milestone, evidence_label
from pmkit.redaction import redact
from pmkit.report.present import author_md, esc, table
from pmkit.timeutil import as_utc, fmt_duration, fmt_utc

if TYPE_CHECKING:
    from pmkit.pipeline import Analysis

NOT_FOUND = "not found in the evidence"
MAX_RESPONDERS = 20
MAX_CHAT_LINES = 200
CHAT_LINE = 240  # characters of one chat line, cut at a word


def clock(
    t: dt.datetime | None,
    zone: str | None = None,
    *,
    style: Literal["hm", "hms", "minute", "second"] = "hm",
    missing: str = "unknown",
) -> str:
    """``14:19 UTC``, and with ``zone`` ``14:19 UTC (16:19 CEST)``; the local day is added when it differs
    (``23:30 UTC (01:30 CEST, 2025-06-16)``). ``style``: ``hm``, ``hms``, ``minute`` (the UTC date too:
    ``2025-06-15 14:19 UTC (16:19 CEST)``) or ``second`` (``2025-06-15 14:19:23 UTC (16:19:23 CEST)``)."""
    if t is None:
        return missing
    utc = as_utc(t)
    text = f"{fmt_utc(utc, style)} UTC"
    if not zone or zone == "UTC":
        return text
    local = utc.astimezone(zoneinfo.ZoneInfo(zone))
    fmt = "%H:%M:%S" if style in ("hms", "second") else "%H:%M"
    day = f", {local:%Y-%m-%d}" if local.date() != utc.date() else ""
    return f"{text} ({local.strftime(fmt)} {local.tzname()}{day})"


def zone_note(day: dt.datetime, zone: str | None) -> str:
    """`` (Europe/Berlin: UTC+02:00, CEST)``: the local offset on ``day``; empty without a zone or for UTC."""
    if not zone or zone == "UTC":
        return ""
    local = as_utc(day).astimezone(zoneinfo.ZoneInfo(zone))
    off = local.strftime("%z")
    return f" ({zone}: UTC{off[:3]}:{off[3:]}, {local.tzname()})"


def _zone(a: Analysis) -> str | None:
    return a.incident.spec.display_timezone


def _took(d: dt.timedelta | None) -> str:
    """A lag to the second: ``3 min 38 s``, ``45 s``, ``1 h 27 min`` (from an hour on)."""
    if d is None:
        return "unknown"
    if d >= dt.timedelta(hours=1) or d < dt.timedelta(minutes=1):
        return fmt_duration(d)
    return fmt_duration(d, "min_s")


def _lag(d: dt.timedelta | None, what: str) -> str:
    if d is None:
        return ""
    if d < dt.timedelta(0):
        return f"{_took(-d)} before {what}"
    return f"{_took(d)} after {what}"


def _basis(m: Milestone) -> str:
    """How a milestone is known, for a sentence: its evidence label, or the author's setting."""
    if m.overridden:
        return f"set by the author in incident.yaml; {redact(evidence_label(m))}"
    label = evidence_label(m)
    if m.ts is not None:  # the sentence states the time already
        label = label.removesuffix(f", {fmt_utc(m.ts, 'hms')}")
    if "sli" in m.evidence:
        label = f"{m.method}; {label}"
    return redact(label)


def _author(text: str | None) -> list[str]:
    return [author_md(text, 5000)] if text else []


# --- byline -------------------------------------------------------------------------


def byline(a: Analysis) -> str:
    """Authors, dates and tags from incident.yaml (seeds/000: ``**Authors**``, ``**Date**``)."""
    spec = a.incident.spec
    ms = a.milestones
    fields = [
        ("Authors", esc(", ".join(spec.authors)) if spec.authors else "not set (`authors:` in incident.yaml)"),
        ("Date", spec.date.isoformat() if spec.date else "not set (`date:` in incident.yaml)"),
    ]
    if spec.published:
        fields.append(("Published", spec.published.isoformat()))
    day = ms.impact_start or ms.detected
    fields.append(("Incident date", fmt_utc(day, "date") + " (UTC)" if day else NOT_FOUND))
    fields.append(("Tags", " ".join(f"`{esc(t, 60)}`" for t in spec.tags) if spec.tags else "none"))
    zone = spec.display_timezone
    fields.append(("Times", f"UTC, with local time in {esc(zone)}" if zone and zone != "UTC" else "UTC"))
    return " · ".join(f"**{k}:** {v}" for k, v in fields)


# --- leadup -------------------------------------------------------------------------


def leadup(a: Analysis) -> str:
    """The author's account of what led up to the incident, then the top change suspect from the evidence."""
    n = a.incident.spec.narrative
    zone = _zone(a)
    parts = ["## Leadup"]
    parts += _author(n.leadup) or [
        "> **TODO** describe the circumstances that led to the incident under `narrative.leadup`."
    ]
    if a.suspects.height:
        s = a.suspects.row(0, named=True)
        what = " ".join(x for x in (s.get("service"), s.get("version") or s.get("ref")) if x) or "a change"
        text = f"Top change suspect (ranked by `pmkit` from the deploy evidence): {esc(what)}"
        if s.get("environment"):
            text += f" to {esc(s['environment'])}"
        text += f", live at {clock(s['ts'], zone)}"
        if s.get("actor"):
            text += f" by {esc(s['actor'])}"
        lead = s.get("lead_time")
        if isinstance(lead, dt.timedelta):  # in the words of the suspects table ("deployed 5 s before"), truncated
            side = "before" if lead >= dt.timedelta(0) else "after"
            text += f", {fmt_duration(lead, 'human')} {side} the impact start"
        if s.get("description"):
            text += f": {esc(redact(s['description']), 200)}"
        parts.append(text + ".")
    else:
        parts.append(f"Change before the impact start: {NOT_FOUND}.")
    return "\n\n".join(parts)


# --- detection ----------------------------------------------------------------------


def detection(a: Analysis) -> str:
    """How and when the incident was detected, by what, and the time to detect."""
    d = resp.detection(a.incident.events, a.milestones, list(a.incident.spec.services))
    zone = _zone(a)
    parts = ["## Detection", *_author(a.incident.spec.narrative.detection)]
    lines = []
    if d.detected.ts is None:
        lines.append(
            f"- Detection: {NOT_FOUND} (no alert firing or page triggered from 10 min before the impact start on)."
        )
    else:
        text = f"- Detected at {clock(d.detected.ts, zone, style='hms')} by {esc(_basis(d.detected))}"
        if d.time_to_detect is not None:
            text += f", {_lag(d.time_to_detect, 'the impact start')} at {clock(d.impact_start.ts, zone, style='hms')}"
        else:
            text += f"; impact start {NOT_FOUND}, so no time to detect"
        lines.append(text + ".")
    if d.time_to_detect is not None:
        lines.append(f"- Time to detect (detected − impact start): {_took(d.time_to_detect)}.")
    page = d.first_page
    if page is None:
        lines.append(f"- First page: {NOT_FOUND}.")
    else:
        attrs = resp_attrs(page)
        number = f" #{attrs['incident_number']}" if attrs.get("incident_number") else ""
        text = f"- First page: {esc(page.get('source') or 'page')}{number} triggered at {clock(page['ts'], zone, style='hms')}"
        if d.time_to_page is not None:
            text += f", {_lag(d.time_to_page, 'the impact start')}"
        who = attrs.get("assignees")
        if isinstance(who, list) and who:
            text += f", assigned to {esc(', '.join(str(w) for w in who))}"
        if attrs.get("escalation_policy"):
            text += f" (escalation policy {esc(attrs['escalation_policy'])})"
        lines.append(text + ".")
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


def resp_attrs(row: dict[str, Any]) -> dict[str, Any]:
    """An event row's ``attrs`` as a dict (they are JSON text in the events frame)."""
    import json

    raw = row.get("attrs")
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# --- response -----------------------------------------------------------------------


def _milestone_line(name: str, m: Milestone, lag: dt.timedelta | None, zone: str | None) -> str:
    if m.ts is None:
        return f"- {name}: {NOT_FOUND}."
    who = m.evidence.get("actor")
    text = f"- {name} at {clock(m.ts, zone, style='hms')}"
    basis = _basis(m)
    if who and not m.overridden:
        text += f" by {esc(redact(str(who)))}"
        basis = basis.removesuffix(f", {redact(str(who))}")  # the sentence names them already
    text += f" ({esc(basis)})"
    if lag is not None:
        text += f", {_lag(lag, 'detection')}"
    return text + "."


def response(a: Analysis) -> str:
    """Who engaged, acknowledged, declared and escalated, with times from the milestones and the chat."""
    r = resp.response(a.incident.events, a.milestones)
    zone = _zone(a)
    parts = ["## Response", *_author(a.incident.spec.narrative.response)]
    lines = [
        _milestone_line("Acknowledged", r.acknowledged, r.time_to_acknowledge, zone),
        _milestone_line("Declared", r.declared, r.time_to_declare, zone),
    ]
    start, end = r.window
    span = f"from {clock(start, zone)} to {clock(end, zone)} (detection to resolution)"
    if r.escalations.height:
        lines.append(f"- Escalations {span}:")
        lines += [
            f"  - {clock(e['ts'], zone, style='hms')}, {esc(redact(e['actor'] or ''))} ({esc(e['source'])}): "
            f"{esc(clean_line(redact(e['message'] or '')), 200)}"
            for e in r.escalations.iter_rows(named=True)
        ]
    else:
        lines.append(f"- Escalations {span}: {NOT_FOUND}.")
    parts.append("\n".join(lines))
    if r.responders.height:
        shown = r.responders.head(MAX_RESPONDERS)
        more = r.responders.height - shown.height
        parts.append(
            f"People who acted {span}, by their first message or page action "
            f"({r.responders.height}{f', the first {MAX_RESPONDERS} shown' if more else ''}; bots left out):"
        )
        parts.append(
            table(
                "responders",
                rows=[
                    {
                        **row,
                        "when": clock(row["first_ts"], zone, style="hms"),
                        "first": clean_line(redact(row["first"] or "")),
                    }
                    for row in shown.iter_rows(named=True)
                ],
            )
        )
    else:
        parts.append(f"People who acted {span}: {NOT_FOUND}.")
    return "\n\n".join(parts)


# --- recovery -----------------------------------------------------------------------


def recovery(a: Analysis) -> str:
    """The mitigating action (the rollback :func:`pmkit.analysis.changes.find_rollback` found) and the times to
    mitigate and resolve."""
    r = resp.recovery(a.incident.events, a.milestones, a.rollback)
    zone = _zone(a)
    parts = ["## Recovery", *_author(a.incident.spec.narrative.recovery)]
    lines = []
    rb = r.rollback
    if rb:
        what = f"rollback of {esc(rb.get('service') or 'the service')}"
        if rb.get("version"):
            what += f" to {esc(rb['version'])}"
        text = f"- Mitigating change: {what} ({esc(redact(rb.get('description') or 'rollback'), 120)})"
        if rb.get("start") is not None:
            text += f", started {clock(rb['start'], zone, style='hms')}"
        if rb.get("actor"):
            text += f" by {esc(redact(str(rb['actor'])))}"
        if rb.get("completed") is not None:
            text += f", completed {clock(rb['completed'], zone, style='hms')}"
        if r.rollback_took is not None:
            text += f" after {_took(r.rollback_took)}"
        undid = rb.get("rolls_back")
        if isinstance(undid, dict) and undid.get("version"):
            text += f"; it undid {esc(undid.get('service') or '')} {esc(undid['version'])}".rstrip()
            if undid.get("rank"):
                text += f" (change suspect #{undid['rank']})"
        lines.append(text + ".")
        if r.decision is not None:
            dec = r.decision
            lines.append(
                f"- Decision to roll back: {clock(dec['ts'], zone, style='hms')}, {esc(redact(dec.get('person') or ''))} "
                f"({esc(dec.get('source'))}): {esc(clean_line(redact(dec.get('message') or '')), 200)}"
            )
        else:
            lines.append(f"- Decision to roll back (a chat message before the rollback started): {NOT_FOUND}.")
    else:
        lines.append(f"- Mitigating change (a rollback or revert in the deploy evidence): {NOT_FOUND}.")
    for name, m, d, what in (
        ("Mitigated", r.mitigated, r.time_to_mitigate, "Time to mitigate"),
        ("Resolved", r.resolved, r.time_to_resolve, "Time to resolve"),
    ):
        if m.ts is None:
            lines.append(f"- {name}: {NOT_FOUND}.")
            continue
        text = f"- {name} at {clock(m.ts, zone, style='hms')}: {esc(_basis(m))}"
        if d is not None:
            text += f". {what} (from the impact start): {_took(d)}"
        lines.append(text + ".")
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


# --- chat appendix ------------------------------------------------------------------


def clean_line(text: str, limit: int = CHAT_LINE) -> str:
    """A chat message as one plain line, by the timeline's rule (:func:`pmkit.analysis.curate.clean_line`:
    markup stripped, line breaks joined, cut at a word with ``…``); plain text still to be escaped."""
    return clean_one(text, limit)


def chat_appendix(a: Analysis) -> str:
    """The incident channel's messages in the incident window, one clean line each (see
    :func:`pmkit.analysis.response.incident_chat`)."""
    chat, channels = resp.incident_chat(a.incident.events, a.milestones)
    zone = _zone(a)
    ms = a.milestones
    start, end = ms.impact_start or ms.detected, ms.resolved
    where = ", ".join(f"#{c}" for c in channels) if channels else "every chat channel (no incident channel found)"
    span = (
        f"from {clock(start, zone)} (impact start) to "
        + (f"{clock(end, zone)} (resolution) + {fmt_duration(resp.CHAT_AFTER)}" if end else "the end of the evidence")
        if start
        else "over the whole evidence (no impact start or detection found)"
    )
    head = f"## Appendix: incident chat\n\nMessages of {esc(where)} {span}"
    if chat.height == 0:
        return f"{head}: {NOT_FOUND}."
    shown = chat.head(MAX_CHAT_LINES)
    more = f", the first {MAX_CHAT_LINES} shown" if chat.height > MAX_CHAT_LINES else ""
    rows = [
        {
            "when": clock(r["ts"], zone, style="hms"),
            "actor": redact(r["actor"] or ""),
            "text": clean_line(redact(r["message"] or "")),
        }
        for r in shown.iter_rows(named=True)
    ]
    return (
        f"{head}: {chat.height} message(s){more}; join and channel-purpose notices left out, markup stripped.\n\n"
        + table("chat", rows=rows)
    )
