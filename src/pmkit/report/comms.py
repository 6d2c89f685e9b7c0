"""Communication drafts from the evidence: an internal update, a status page update, a resolution note.

The templates are the seeds': the internal update follows the stakeholder update of seeds/004
(``**[SEV1] Payment Processing — Update #3 (15:00 UTC)**``, current status, next update, what
happened, what we did, what we're doing now, impact) with the incident, severity and ETA lines of
seeds/000's internal status update; the status page update and the resolution announcement follow
seeds/000's external templates in seeds/003's customer wording. Every draft is Markdown, a draft
for a person to check and post, and passes through :func:`pmkit.report.redact.redact`.

**Where facts come from.** Times are the milestones (overrides included), status and next update
are derived from them and the severity (``analysis.severity.final``, cadence per
``pmkit.analysis.severity.cadence_for``); figures are ``analysis.impact`` (failed and total
requests, error ratio, peak, affected users, endpoints, duration), the SLO results, the rollback
and the top change suspect. The spec's narrative (summary, root cause, resolution, customer
impact) and ``facts.revenue_impact`` are the author's words; where the author wrote something it
wins over the generated sentence, as overrides do. Anything neither gives is a ``[TODO: ...]``
marker (``TODO_PREFIX``), never a guess: an ETA, what responders are doing at an unresolved
moment, a cause in customer terms.

**The moment (``at``).** An update speaks for one moment: ``at`` is an aware datetime, ISO 8601
text with a zone (``2025-06-15T14:45:00Z``) or a milestone name (``"mitigated"``); anything else is
a :class:`MomentError`. By default the latest one known (resolved, else mitigated, else the
rollback, declared, acknowledged, detected, impact start). The status at ``at``: Resolved once
resolved, Monitoring once mitigated, Identified once a rollback started (the evidence has no
other sign that the cause is known), else Investigating. Only
what happened by ``at`` is told: impact figures are measured from impact start to ``at`` (to
mitigation once mitigated), and the narrative, written after the incident, is used only from the
resolved moment on. "Next update" is ``at`` (to the minute) plus the cadence the severity requires
(15 min for SEV1/P0, 30 for SEV2/P1, 2 h for SEV3/P2; "as needed" below that). The update number
follows the numbered chat updates before ``at`` (``Update #N``), else counts them. Nothing reads
the wall clock: the same analysis gives the same text.

**Customer-facing rule** (status page and resolution): no internal names. Generated sentences use
no names at all (no service ids, versions, hosts, people; the headline is the spec's title).
Author text is taken sentence by sentence, parenthetical asides removed, and a sentence is dropped
when it names anything internal: a person (roles, chat/page/deploy actors and chat profile names,
full names case-insensitively, first names when capitalised), an ``@handle``, an email, a URL, a
host or dotted identifier (``db-01.internal``, ``users.preferences``), an IP address, a version
(``v2.14.3``, ``2.3.0``) unless the spec's title names it, code (backticks, ``snake_case``,
``SCREAMING_SNAKE``), a service id with a ``-``, ``_``, ``.`` or digit (``payments-api``; plain
words such as ``api`` stay), the incident id, or money (``$``, ``€``, ``£``, revenue). Team
handles and bots count only in full (``payments-team``, not ``payments``), and common words that
are also names (blameless.COMMON_WORDS) only as ``@handles``. A sentence that refers back (``This ...``)
goes with a dropped predecessor; the customer "Issue" is the root cause's first sentence or a TODO.
A title that names something internal becomes a TODO marker. The same check is
:func:`internal_names`. Customer texts state shares in words (``most requests were failing``) and
counts to two significant digits (``about 2,100 users``); exact figures stay internal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis import blameless, gates
from pmkit.analysis import impact as impact_mod
from pmkit.analysis.milestones import NAMES as MILESTONES
from pmkit.errors import PmkitError
from pmkit.report.redact import redact
from pmkit.timeutil import fmt_duration, fmt_utc

if TYPE_CHECKING:
    from pmkit.analysis.impact import Impact
    from pmkit.pipeline import Analysis

TODO_PREFIX = "[TODO: "
FILES = ("internal-update.md", "status-page.md", "resolution.md")


def todo(what: str) -> str:
    """The marker for a fact the evidence and the spec do not give: ``[TODO: what]``."""
    return f"{TODO_PREFIX}{what}]"


# --- formatting ------------------------------------------------------------------------------


def _hm(t: dt.datetime | None, what: str = "time") -> str:
    return todo(what) if t is None else f"{fmt_utc(t, 'hm')} UTC"


def _day(t: dt.datetime | None, what: str = "time") -> str:
    return todo(what) if t is None else f"{fmt_utc(t, 'minute')} UTC"


def _minute(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(second=0, microsecond=0)


def _span(td: dt.timedelta, *, words: bool = False) -> str:
    """``41 min`` / ``1 h 28 min`` (``words``: ``1 hour 28 minutes``, as the seeds' customer texts)."""
    return fmt_duration(td, "words" if words else "compact")


def _pct(x: float) -> str:
    if x >= 0.9995 or x == 0:
        return f"{x:.0%}"
    return f"{x:.1%}" if x >= 0.001 else f"{x:.2%}"


def _about(n: float) -> str:
    """A count rounded to two significant digits for customers: 2,143 -> ``about 2,100``."""
    n = round(n)
    if n < 100:
        return f"{n:,}"
    digits = len(str(n)) - 2
    return f"about {round(n, -digits):,}"


def _share_words(ratio: float, *, past: bool) -> str:
    """How many requests fail, in words (customer texts give no internal percentages)."""
    were = "were" if past else "are"
    if ratio >= 0.95:
        return f"requests {were} failing"
    if ratio >= 0.5:
        return f"most requests {were} failing"
    if ratio >= 0.05:
        return f"some requests {were} failing"
    return f"a small share of requests {were} failing"


# --- the moment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moment:
    """What is known at ``at``: the milestones reached, the status, the impact so far."""

    at: dt.datetime | None
    times: dict[str, dt.datetime | None]
    status: str
    final: bool
    impact: Impact
    rollback: dict[str, Any] | None


def _reached(t: dt.datetime | None, at: dt.datetime | None) -> bool:
    return t is not None and (at is None or t <= at)


def _default_at(analysis: Analysis) -> dt.datetime | None:
    """The latest status moment known: resolved, mitigated, the rollback, declared, acked, detected, impact."""
    t = analysis.milestones.times()
    rb = analysis.rollback or {}
    order = (
        t["resolved"],
        t["mitigated"],
        rb.get("completed"),
        rb.get("start"),
        t["declared"],
        t["acknowledged"],
        t["detected"],
        t["impact_start"],
    )
    return next((c for c in order if c is not None), None)


class MomentError(PmkitError, ValueError):
    """``at`` names no moment of the incident (unknown milestone, no time zone, before impact start)."""


def _resolve_at(analysis: Analysis, at: dt.datetime | str | None) -> dt.datetime | None:
    """``at`` as a UTC datetime: None -> the default moment; a milestone name or ISO 8601 text -> its time."""
    times = analysis.milestones.times()
    if at is None:
        return _default_at(analysis)
    if isinstance(at, str):
        if at in MILESTONES:
            if times[at] is None:
                raise MomentError(
                    f"milestone {at!r} is not in the evidence (set it under milestones: in incident.yaml) "
                    "or pass a UTC time"
                )
            return times[at]
        try:
            at = dt.datetime.fromisoformat(at.strip())
        except ValueError:
            raise MomentError(
                f"at={at!r} is neither a milestone ({', '.join(MILESTONES)}) nor an ISO time such as "
                "2025-06-15T14:45:00Z"
            ) from None
    if not isinstance(at, dt.datetime):
        raise TypeError(f"at={at!r} is neither a datetime nor a milestone name")
    if at.utcoffset() is None:
        raise MomentError(f"at={at.isoformat()} has no time zone; pass a UTC time (2025-06-15T14:45:00Z)")
    start = times["impact_start"]
    if start is not None and at < start:
        raise MomentError(
            f"at={at.isoformat()} is before impact start {start.isoformat()}: an update speaks for a moment "
            "of the incident"
        )
    return at.astimezone(dt.UTC)


def _moment(analysis: Analysis, at: dt.datetime | str | None) -> _Moment:
    when = _resolve_at(analysis, at)
    times = analysis.milestones.times()
    rb = analysis.rollback
    if when is None:  # no milestone at all: nothing is known to have happened
        status = "Investigating"
    elif _reached(times["resolved"], when):
        status = "Resolved"
    elif _reached(times["mitigated"], when):
        status = "Monitoring"
    elif rb is not None and _reached(rb.get("start"), when):
        status = "Identified"
    else:
        status = "Investigating"
    imp = analysis.impact
    start, mitigated = times["impact_start"], times["mitigated"]
    if when is not None and start is not None and (mitigated is None or when < mitigated) and status != "Resolved":
        sli = analysis.sli
        imp = impact_mod.assess(
            sli.minutes, analysis.window, start=start, end=when, requests=sli.requests, events=analysis.incident.events
        )
    return _Moment(when, times, status, status == "Resolved", imp, rb)


def _update_number(analysis: Analysis, at: dt.datetime | None) -> int:
    updates = analysis.cadence.updates.filter(pl.col("kind") == "chat")
    if at is not None:
        updates = updates.filter(pl.col("ts") < at)
    numbered = updates.get_column("update_no").drop_nulls()
    return int(numbered.max()) + 1 if numbered.len() else updates.height + 1  # type: ignore[arg-type]


def _next_update(analysis: Analysis, m: _Moment) -> str:
    if m.final:
        return "none: this is the final update; the postmortem follows"
    every = analysis.severity.cadence
    if every is None:
        return f"as needed ({analysis.severity.final} requires no fixed cadence)"
    if m.at is None:
        return todo(f"next update, within {_span(every)}")
    return f"{_hm(_minute(m.at) + every)} or sooner if status changes"


# --- customer-facing text ----------------------------------------------------------------------

_ALWAYS_INTERNAL = (
    r"@[A-Za-z0-9][\w.-]*[A-Za-z0-9_]|@[A-Za-z0-9]",
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.",
    r"\b[a-z][a-z0-9+.-]*://",
    r"\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z0-9-]+\b",  # hosts and dotted identifiers
    r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b",
    # IPv6: eight groups, or groups around "::" (a time such as 14:23:01 is neither)
    r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    r"|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?)(?![\w:])",
    r"`",
    r"\b[a-z0-9]+_[a-z0-9_]+\b",
    r"\b[A-Z0-9]+_[A-Z0-9_]+\b",
    r"[$€£]\s?[0-9][0-9.,]*[KkMmBb]?",
    r"(?i)\brevenue\b",
)
_VERSION = re.compile(r"\b[vV][0-9]+(?:\.[0-9]+)*\b|\b[0-9]+\.[0-9]+\.[0-9]+(?:[-+.][0-9A-Za-z.]+)?\b")
_HOSTS_NOT = re.compile(r"^(?:e\.g|i\.e|a\.m|p\.m)$", re.IGNORECASE)


def _people(analysis: Analysis) -> list[str]:
    """Names of people and handles from the spec's roles and the events' actors."""
    spec = analysis.incident.spec
    names: list[str] = []
    for value in spec.roles.values():
        names += [p.strip().lstrip("@") for p in re.split(r"[,;/]|\band\b", str(value)) if p.strip()]
    events = analysis.incident.events
    if events.height and "actor" in events.columns:
        names += gates.participants(events)
        actors = events.filter(pl.col("kind").is_in(["chat", "page", "deploy"])).get_column("actor").drop_nulls()
        names += actors.unique().to_list()
    for item in spec.action_items:
        if item.owner:
            names.append(item.owner.lstrip("@"))
    return sorted({" ".join(n.split()) for n in names if n and len(n.strip()) >= 2})


def _services(analysis: Analysis) -> list[str]:
    """Internal service ids: spec services, changed and event services that are identifiers."""
    found = set(analysis.incident.spec.services)
    events = analysis.incident.events
    if events.height and "service" in events.columns:
        found |= set(events.get_column("service").drop_nulls().unique().to_list())
    found |= set(analysis.suspects.get_column("service").drop_nulls().to_list()) if analysis.suspects.height else set()
    if analysis.rollback and analysis.rollback.get("service"):
        found.add(analysis.rollback["service"])
    return sorted(s for s in found if re.search(r"[-_.0-9]", s))


def _name_patterns(people: Iterable[str], services: Iterable[str], incident_id: str) -> list[re.Pattern[str]]:
    """Patterns for everything internal; see the module docstring for which forms of a name count."""
    pats = [re.compile(p) for p in _ALWAYS_INTERNAL]
    for raw in people:
        base = re.sub(r"\[bot\]$", "", raw).strip()
        words = [w for w in re.split(r"[\s._-]+", base) if w]
        if not words:
            continue
        team = any(w.lower() in blameless.TEAM_WORDS for w in words)
        bot = raw.endswith("[bot]") or any(w.lower().endswith("bot") for w in words)
        if len(words) == 1:
            word = words[0].lower()
            if not team and word not in blameless.COMMON_WORDS and len(word) >= 3:
                pats.append(re.compile(rf"(?<![\w@]){re.escape(words[0])}(?![\w])", re.IGNORECASE))
            continue
        full = r"[\s._-]+".join(re.escape(w) for w in words)
        pats.append(re.compile(rf"(?<![\w@]){full}(?![\w])", re.IGNORECASE))
        first = words[0]
        if not (team or bot) and len(first) >= 3 and first.isalpha() and first.lower() not in blameless.COMMON_WORDS:
            pats.append(re.compile(rf"(?<![\w@]){re.escape(first.capitalize())}(?![\w])"))
    for svc in services:
        pats.append(re.compile(rf"(?<![\w-]){re.escape(svc)}(?![\w-])", re.IGNORECASE))
    if incident_id:
        pats.append(re.compile(re.escape(incident_id), re.IGNORECASE))
    return list({(p.pattern, p.flags): p for p in pats}.values())


def _checker(analysis: Analysis) -> Callable[[str], list[str]]:
    """:func:`internal_names` for one analysis, with its names gathered once."""
    spec = analysis.incident.spec
    public_versions = set(_VERSION.findall(spec.title or ""))
    patterns = _name_patterns(_people(analysis), _services(analysis), spec.id)

    def check(text: str) -> list[str]:
        spans = [
            (m.start(), m.end()) for pat in patterns for m in pat.finditer(text) if not _HOSTS_NOT.match(m.group(0))
        ]
        spans += [(m.start(), m.end()) for m in _VERSION.finditer(text) if m.group(0) not in public_versions]
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return [text[a:b] for a, b in merged]

    return check


def internal_names(text: str, analysis: Analysis) -> list[str]:
    """The internal names in ``text`` by the customer-facing rule (module docstring), in order; empty when none.

    Overlapping hits (``Jane Doe`` and ``Jane``) count once.
    """
    return _checker(analysis)(text)


def _sentences(text: str) -> list[str]:
    prev = None
    while prev != text:  # nested asides
        prev, text = text, re.sub(r"\s*\([^()]*\)", "", text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])", " ".join(text.split()))
    return [p.strip() for p in parts if p.strip()]


_REFERS_BACK = re.compile(r"^(?:This|That|These|Those|It|They|He|She|Then)\b")


def _public(text: str | None, check: Callable[[str], list[str]]) -> str | None:
    """``text``'s sentences that name nothing internal, joined; ``None`` when none is left.

    A sentence that refers back (``This prevented ...``) goes with the dropped sentence before it.
    """
    if not text:
        return None
    kept: list[str] = []
    dropped = False
    for sentence in _sentences(text):
        dropped = bool(check(sentence)) or (dropped and bool(_REFERS_BACK.match(sentence)))
        if not dropped:
            kept.append(sentence)
    if not kept:
        return None
    out = " ".join(kept)
    return out if out.endswith((".", "!", "?")) else out + "."


def _public_title(analysis: Analysis, check: Callable[[str], list[str]]) -> str:
    title = (analysis.incident.spec.title or "").strip()
    if not title or check(title):
        return todo("public title")
    return title


# --- internal update ---------------------------------------------------------------------------


def _symptom(analysis: Analysis, m: _Moment) -> str:
    """What the evidence says happened by ``m.at``, in one or two sentences."""
    imp = m.impact
    services = analysis.incident.spec.services
    what = f"{services[0]} requests" if services else "requests"
    start = m.times["impact_start"]
    if start is None or imp.error_ratio is None:
        return todo("what happened")
    peak = f" (peak {_pct(imp.peak_error_ratio)} at {_hm(imp.peak_at)})" if imp.peak_error_ratio is not None else ""
    mitigated = m.times["mitigated"]
    if _reached(mitigated, m.at):
        text = (
            f"From {_hm(start)} to {_hm(mitigated)}, {_pct(imp.error_ratio)} of {what} failed{peak}; "
            f"the error rate has been back at baseline since {_hm(mitigated)}."
        )
    else:
        text = f"Since {_hm(start)}, {_pct(imp.error_ratio)} of {what} have failed{peak}."
    detected = m.times["detected"]
    if _reached(detected, m.at):
        text += f" Detected at {_hm(detected)}."
    return text


def _suspect(analysis: Analysis) -> str | None:
    if analysis.suspects.height == 0:
        return None
    r = analysis.suspects.row(0, named=True)
    version = r.get("version") or r.get("ref") or (r.get("sha") or "")[:12]
    lead = r["lead_time"]
    before = f", {_span(lead)} before impact start" if lead is not None and lead.total_seconds() >= 0 else ""
    verb = {"commit": "committed", "config": "changed", "migration": "migrated"}.get(
        r.get("change_type") or "", "deployed"
    )
    return f"{r.get('service') or 'a service'} {version} {verb} at {_hm(r['ts'])}{before}".replace("  ", " ")


def _did(analysis: Analysis, m: _Moment) -> list[str]:
    t = m.times
    rows: list[tuple[dt.datetime, str]] = []
    for name, what in (
        ("detected", "alert fired (detection)"),
        ("acknowledged", "page acknowledged"),
        ("declared", f"incident declared ({analysis.severity.final})"),
    ):
        if _reached(t[name], m.at):
            rows.append((t[name], what))  # type: ignore[arg-type]
    rb = m.rollback
    if rb is not None and _reached(rb.get("start"), m.at):
        undo = rb.get("rolls_back") or {}
        undoing = f", undoing {undo.get('version')} deployed at {_hm(undo.get('ts'))}" if undo.get("version") else ""
        target = f" to {rb['version']}" if rb.get("version") else ""
        rows.append((rb["start"], f"rollback of {rb.get('service') or 'the service'}{target} started{undoing}"))
        if _reached(rb.get("completed"), m.at):
            rows.append((rb["completed"], "rollback completed"))
    if _reached(t["mitigated"], m.at):
        rows.append((t["mitigated"], "error rate back at baseline (mitigated)"))  # type: ignore[arg-type]
    if _reached(t["resolved"], m.at):
        rows.append((t["resolved"], "incident resolved"))  # type: ignore[arg-type]
    rows.sort(key=lambda r: r[0])
    lines = [f"- {_hm(ts)}: {what}" for ts, what in rows]
    resolution = analysis.incident.spec.narrative.resolution
    if m.final and resolution:
        lines.append(f"- Resolution: {' '.join(resolution.split())}")
    return lines or [f"- {todo('what responders did')}"]


def _doing(analysis: Analysis, m: _Moment) -> str:
    rb = m.rollback or {}
    if m.status == "Resolved":
        return f"Incident closed at {_hm(m.times['resolved'])}; the postmortem follows."
    if m.status == "Monitoring":
        return (
            f"Monitoring error rates to confirm full recovery (at baseline since {_hm(m.times['mitigated'])}). "
            f"{todo('anything else in progress')}"
        )
    if m.status == "Identified":
        if _reached(rb.get("completed"), m.at):
            return (
                f"Rollback completed at {_hm(rb['completed'])}; waiting for the error rate to return to baseline. "
                f"{todo('anything else in progress')}"
            )
        return f"Rolling back (started {_hm(rb.get('start'))}). {todo('anything else in progress')}"
    suspect = _suspect(analysis)
    lead = f"Investigating; top change suspect from the evidence: {suspect}. " if suspect else "Investigating. "
    return lead + todo("what responders are doing now")


def _impact_lines(analysis: Analysis, m: _Moment) -> list[str]:
    imp = m.impact
    lines = []
    if imp.failed_requests is not None and imp.total_requests:
        until = m.times["mitigated"] if _reached(m.times["mitigated"], m.at) else m.at
        span = f" ({_span(until - imp.start)})" if until is not None and imp.start is not None else ""
        lines.append(
            f"- {imp.failed_requests:,.0f} of {imp.total_requests:,.0f} requests failed ({_pct(imp.error_ratio or 0)}) "
            f"between {_hm(imp.start)} and {_hm(until)}{span}"
            + (f"; peak {_pct(imp.peak_error_ratio)} at {_hm(imp.peak_at)}" if imp.peak_error_ratio is not None else "")
        )
    else:
        lines.append(f"- {todo('failed requests')}")
    users = f"{imp.affected_users:,}" if imp.affected_users is not None else todo("affected users")
    lines.append(f"- Affected users: {users}")
    if imp.affected_tenants is not None:
        lines.append(f"- Affected tenants: {imp.affected_tenants:,}")
    if imp.affected_endpoints:
        shown = ", ".join(imp.affected_endpoints[:5])
        more = f" and {len(imp.affected_endpoints) - 5} more" if len(imp.affected_endpoints) > 5 else ""
        lines.append(f"- Affected endpoints: {shown}{more}")
    if _reached(m.times["mitigated"], m.at):
        for slo in analysis.slos:
            if slo.consumed is not None:
                objective = f"{slo.objective:g}% over {slo.period}"
                lines.append(f"- Error budget: {_pct(slo.consumed)} of {slo.name} ({objective}) consumed")
    revenue = analysis.incident.spec.facts.revenue_impact
    lines.append(f"- Revenue impact: {revenue or todo('revenue impact')}")
    customer = analysis.incident.spec.narrative.customer_impact
    if m.final and customer:
        lines.append(f"- Customer impact: {' '.join(customer.split())}")
    return lines


def internal_update(analysis: Analysis, at: dt.datetime | str | None = None) -> str:
    """The internal stakeholder update for the moment ``at`` (seeds/004 format), as Markdown."""
    m = _moment(analysis, at)
    spec = analysis.incident.spec
    sev = analysis.severity.final
    title = spec.title.strip() or todo("title")
    n = _update_number(analysis, m.at)
    summary = spec.narrative.summary
    happened = " ".join(summary.split()) if m.final and summary else _symptom(analysis, m)
    lines = [
        f"**[{sev}] {title} — Update #{n} ({_hm(m.at)})**",
        "",
        f"**Incident:** {spec.id}",
        f"**Severity:** {sev}",
        f"**Current status:** {m.status}",
        f"**Updated:** {_day(m.at)}",
        f"**Next update:** {_next_update(analysis, m)}",
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


def _customer_impact(analysis: Analysis, m: _Moment, check: Callable[[str], list[str]]) -> str:
    """The impact in customer words: the author's (public sentences) once resolved, else measured."""
    authored = _public(analysis.incident.spec.narrative.customer_impact, check) if m.final else None
    imp = m.impact
    start = m.times["impact_start"]
    if authored:
        end = m.times["mitigated"] or imp.end
        window = f" Customers were affected from {_hm(start)} to {_hm(end)}." if start and end else ""
        return authored + window
    if imp.error_ratio is None or start is None:
        return todo("impact in customer terms")
    if m.status in ("Monitoring", "Resolved"):
        end = m.times["mitigated"] or imp.end
        users = f" {_about(imp.affected_users).capitalize()} users were affected." if imp.affected_users else ""
        return f"Between {_hm(start)} and {_hm(end)}, {_share_words(imp.error_ratio, past=True)}.{users}"
    return f"Since {_hm(start)}, {_share_words(imp.error_ratio, past=False)}."


def _customer_next(analysis: Analysis, m: _Moment) -> str:
    if m.final:
        return ""
    every = analysis.severity.cadence
    if every is None:
        return "We will provide updates as the situation changes."
    return f"We will provide an update within {_span(every, words=True)}."


def status_page_update(analysis: Analysis, at: dt.datetime | str | None = None) -> str:
    """The external status page update for the moment ``at`` (seeds/000 and 003 wording), as Markdown."""
    m = _moment(analysis, at)
    check = _checker(analysis)
    title = _public_title(analysis, check)
    body = {
        "Investigating": "We are currently investigating an issue. Our team is actively working on a resolution.",
        # Identified is reached by a rollback starting (see _moment)
        "Identified": "We have identified the cause of the issue and are reverting a recent change.",
        "Monitoring": "A fix has been implemented and we are monitoring the results.",
        "Resolved": "This incident has been resolved.",
    }[m.status]
    lines = [
        f"**{title}**",
        f"*Posted: {_day(m.at)} | Status: {m.status}*",
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
    at = resolved or _default_at(analysis)
    m = _moment(analysis, at)
    if resolved is None:
        m = _Moment(m.at, m.times, "Resolved", True, analysis.impact, m.rollback)
    narrative = analysis.incident.spec.narrative
    check = _checker(analysis)
    duration = _span(resolved - start, words=True) if resolved and start else todo("duration")
    window = f" ({_hm(start)} to {_hm(resolved)})" if resolved and start else ""
    # the cause is the root cause's first sentence, when that names nothing internal
    first = _sentences(narrative.root_cause or "")[:1]
    issue = _public(first[0], check) if first else None
    issue = issue or todo("cause in customer terms")
    resolution = _public(narrative.resolution, check)
    reverted = "We reverted a recent change."
    if resolution is None:
        resolution = reverted if analysis.rollback else todo("resolution in customer terms")
    elif analysis.rollback and not re.search(r"(?i)\broll(?:ed|ing)?[ -]?back|\brevert", resolution):
        resolution = f"{reverted} {resolution}"
    if mitigated is not None:
        resolution += f" Service returned to normal at {_hm(mitigated)}."
    lines = [
        f"**RESOLVED: {_public_title(analysis, check)}**",
        f"*Resolved: {_day(resolved, 'resolution time')} | Duration: {duration}{window}*",
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
