"""The customer-facing postmortem: ``pmkit render --audience public``.

Status-page tone, built from the same :class:`~pmkit.pipeline.Analysis` the internal document uses
(the figures are ``analysis.impact``'s, the times the milestones' and the rollback's; the wording and
formatting helpers are the status-page drafts' :mod:`pmkit.report.comms_facts` and
:mod:`pmkit.report.comms_public`). Sections: Summary, What happened, When (UTC, to the minute), Impact
(which features/endpoints, the share of requests that failed or were slow with its basis and window,
the worst minute, users affected, duration), What we did, What we are doing.

**What the author controls** (``public:`` in incident.yaml, docs/incident-yaml.md): ``title``,
``summary``, ``cause``, ``what_we_did``, ``what_we_are_doing`` replace the generated text;
``services`` maps an internal service to its customer-facing name (unmapped: "the affected service");
action items with ``public: true`` (their text) or ``public: "customer wording"`` are listed under What we
are doing. The spec's title is used when it names nothing internal; the narrative's root cause lends its
sentences that name nothing internal (both the status-page rule and :mod:`pmkit.report.public_guard`).

**Endpoints**: the failing endpoints of the impact analysis, less load-balancer health checks (a path
ending in ``healthz``, ``health``, ``livez``, ``readyz``, ``ready`` or ``ping``): those are not a
customer feature, though the request counts include them (the basis says so).

**Enforced**: every part and the final Markdown and HTML pass :func:`pmkit.report.public_guard.enforce`;
an internal identifier anywhere raises :class:`~pmkit.report.public_guard.PublicLeakError` and nothing is
written.

Files (``OUTDIR/<incident id>/``, beside the internal ``postmortem.*``): ``postmortem.public.md``,
``postmortem.public.html`` (self-contained, no script, passed through
:func:`pmkit.report.sanitize.clean_document`), ``postmortem.public.pdf`` with ``--to pdf``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pmkit.report.comms_facts import fmt_pct, fmt_span, moment_at, to_minute, todo
from pmkit.report.comms_public import checker, public_sentences, sentences
from pmkit.report.public_guard import Guard, enforce, guard_for
from pmkit.timeutil import fmt_utc
from pmkit.vocab import is_done

if TYPE_CHECKING:
    from pmkit.pipeline import Analysis

FILES = {"md": "postmortem.public.md", "html": "postmortem.public.html", "pdf": "postmortem.public.pdf"}
HEALTH_CHECK = re.compile(r"/(?:healthz?|health[-_]?check|livez|readyz?|ping)/?$", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    """One section: a heading, its paragraphs and its bullets (plain text, escaped where written)."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PublicDoc:
    """The customer-facing postmortem as plain text parts, before Markdown or HTML."""

    incident_id: str
    title: str
    status: str
    sections: list[Section]

    def parts(self) -> dict[str, str]:
        """Every text by where it is shown (what :func:`pmkit.report.public_guard.enforce` checks)."""
        out = {"title": self.title, "status line": self.status}
        for s in self.sections:
            out[s.heading] = "\n".join([*s.paragraphs, *s.bullets])
        return out


def _target(a: Analysis) -> str:
    """The affected service in customer terms: the mapped names of the spec's services, or a generic phrase."""
    mapping = a.incident.spec.public.services
    names = list(dict.fromkeys(mapping[s] for s in a.incident.spec.services if s in mapping))
    if not names:
        return "the affected service"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _latency(a: Analysis) -> bool:
    return a.sli.indicator == "latency"


def _bad(a: Analysis) -> str:
    """What a bad request did, as a verb phrase: ``failed`` / ``were slower than 300 ms``."""
    if _latency(a):
        return f"were {a.sli.bad_words}" if a.sli.bad_words.startswith("slower") else "were slow or failed"
    return "failed"


def _window(a: Analysis) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The window every impact figure counts: the impact's counted window, else its start and end."""
    imp = a.impact
    return imp.counted_from or imp.start, imp.counted_to or imp.end


def _hm(t: dt.datetime | None) -> str:
    """``14:19`` (the minute, cut); the caller writes "UTC" once."""
    return fmt_utc(to_minute(t), "hm") if t is not None else todo("time")


def _span(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """``14:19 to 14:59 UTC on 2025-06-15`` (both dates when they differ)."""
    if start is None or end is None:
        return todo("impact window")
    s, e = to_minute(start), to_minute(end)
    if s.date() == e.date():
        return f"{fmt_utc(s, 'hm')} to {fmt_utc(e, 'hm')} UTC on {fmt_utc(s, 'date')}"
    return f"{fmt_utc(s, 'minute')} to {fmt_utc(e, 'minute')} UTC"


def _endpoints(a: Analysis) -> tuple[list[str], bool]:
    """The failing endpoints customers use (health checks left out), and whether the counts hold health checks."""
    imp = a.impact
    failing = [e for e in imp.failing_endpoints if not HEALTH_CHECK.search(e.split(" ")[-1])]
    counted = imp.endpoints.get_column("endpoint").to_list() if imp.endpoints.height else []
    return failing, any(HEALTH_CHECK.search(str(e).split(" ")[-1]) for e in counted)


def _cause(a: Analysis, sentence_check: Callable[[str], list[str]]) -> str:
    spec = a.incident.spec
    if spec.public.cause:
        return " ".join(spec.public.cause.split())
    first = sentences(spec.narrative.root_cause or "")[:1]  # as the status page draft: the first sentence
    authored = public_sentences(first[0], sentence_check) if first else None
    rb = a.rollback or {}
    undo = rb.get("rolls_back") or {}
    t = a.milestones.times()
    start, mitigated = t["impact_start"], t["mitigated"]
    text = authored or ""
    if undo.get("ts") is not None and start is not None and undo["ts"] <= start:
        gap = start - undo["ts"]
        lead = "less than a minute" if gap < dt.timedelta(minutes=1) else fmt_span(gap, words=True)
        text += f" The disruption began {lead} after we deployed a change at {_hm(undo['ts'])} UTC."
    if rb.get("start") is not None:
        back = f"; service was back to normal at {_hm(mitigated)} UTC" if mitigated is not None else ""
        text += f" We reverted {'that' if undo.get('ts') is not None else 'a recent'} change at {_hm(rb['start'])} UTC{back}."
    return text.strip() or todo("the cause in customer terms (public.cause)")


def _impact(a: Analysis) -> Section:
    imp = a.impact
    start, end = _window(a)
    target = _target(a)
    failing, health = _endpoints(a)
    bullets = []
    if failing:
        shown = ", ".join(failing[:8]) + (f" and {len(failing) - 8} more" if len(failing) > 8 else "")
        bullets.append(f"Affected endpoints: {shown}.")
    dur = fmt_span(end - start, words=True) if start and end else todo("duration")
    if imp.failed_requests is not None and imp.total_requests:
        bullets.append(
            f"{imp.failed_requests:,.0f} of {imp.total_requests:,.0f} requests to {target} "
            f"({fmt_pct(imp.error_ratio or 0)}) {_bad(a)} from {_span(start, end)} ({dur})."
        )
        if imp.peak_error_ratio is not None and imp.peak_at is not None:
            bullets.append(
                f"At the worst minute ({_hm(imp.peak_at)} UTC), {fmt_pct(imp.peak_error_ratio)} of requests {_bad(a)}."
            )
        basis = (
            "every request recorded by the service's request log"
            if a.sli.requests is not None
            else "the service's per-minute request counts, whole minutes"
        )
        health_note = ", automated health checks included" if health else ""
        bullets.append(f"Basis: {basis} from {_span(start, end)}{health_note}.")
    else:
        bullets.append(f"The disruption lasted {dur}, from {_span(start, end)}; we have no request counts for it.")
    if imp.affected_users:
        what = "a slow or failed request" if _latency(a) else "at least one failed request"
        if "log events" in imp.basis:
            what = "at least one error recorded"
        bullets.append(f"{imp.affected_users:,} users had {what} in that window.")
    return Section("Impact", [], bullets)


def _when(a: Analysis) -> Section:
    t = a.milestones.times()
    rb = a.rollback or {}
    bad = "slow request" if _latency(a) else "failed request"
    # with a request log the impact runs from the first to the last bad request; without one it ends with the
    # last minute of the per-minute counts that holds failures (docs/analyses.md, "Milestones")
    first, last = (
        (f"first {bad}", f"last {bad}")
        if a.sli.requests is not None
        else ("first error recorded", f"end of the last minute with a {bad}")
    )
    rows: list[tuple[dt.datetime, str]] = []
    for ts, what in (
        (t["impact_start"], f"the disruption began ({first})"),
        (t["detected"], "we detected the issue"),
        (t["acknowledged"], "an on-call engineer responded"),
        (rb.get("start"), "we began reverting the change"),
        (rb.get("completed"), "the revert was complete"),
        (t["mitigated"], f"service back to normal ({last})"),
        (t["resolved"], "incident closed after monitoring"),
    ):
        if ts is not None:
            rows.append((ts, what))
    rows.sort(key=lambda r: r[0])
    day = fmt_utc(rows[0][0], "date") if rows else ""
    bullets = [f"{_hm(ts)} UTC: {what}" for ts, what in rows]
    return Section(f"When (UTC, {day})" if day else "When (UTC)", [], bullets or [todo("times")])


def _did(a: Analysis) -> Section:
    spec = a.incident.spec
    if spec.public.what_we_did:
        return Section("What we did", [" ".join(spec.public.what_we_did.split())])
    t = a.milestones.times()
    rb = a.rollback or {}
    out = []
    if t["detected"] is not None:
        after = (
            f", {fmt_span(t['detected'] - t['impact_start'], words=True)} after it began"
            if t["impact_start"] is not None
            else ""
        )
        out.append(f"We detected the issue at {_hm(t['detected'])} UTC{after}.")
    if rb.get("start") is not None:
        done = f"; the revert was complete at {_hm(rb['completed'])} UTC" if rb.get("completed") else ""
        out.append(f"At {_hm(rb['start'])} UTC we began reverting the change{done}.")
    if t["mitigated"] is not None:
        works = "responded at normal speed" if _latency(a) else "succeeded normally"
        out.append(f"Requests {works} again after {_hm(t['mitigated'])} UTC.")
    if t["resolved"] is not None:
        out.append(f"We closed the incident at {_hm(t['resolved'])} UTC after monitoring.")
    return Section("What we did", [" ".join(out) or todo("what we did (public.what_we_did)")])


def _doing(a: Analysis) -> Section:
    spec = a.incident.spec
    paragraphs = [" ".join(spec.public.what_we_are_doing.split())] if spec.public.what_we_are_doing else []
    bullets = []
    for item in spec.action_items:
        if item.public is False:
            continue
        text = item.action if item.public is True else str(item.public)
        state = " (done)" if is_done(item.status) else ""
        bullets.append(" ".join(text.split()) + state)
    if not paragraphs and not bullets:
        n = len(spec.action_items)
        if n:
            done = sum(1 for i in spec.action_items if is_done(i.status))
            paragraphs.append(
                f"We have identified {n} follow-up action{'s' * (n != 1)} to prevent this from happening again "
                f"and are tracking {'it' if n == 1 else 'them'} to completion"
                + (f"; {done} {'is' if done == 1 else 'are'} done." if done else ".")
            )
        else:
            paragraphs.append(todo("what we are doing to prevent a recurrence (public.what_we_are_doing)"))
    return Section("What we are doing", paragraphs, bullets)


def build(a: Analysis, guard: Guard | None = None) -> PublicDoc:
    """The public postmortem of ``a``, checked: raises ``PublicLeakError`` naming any internal identifier."""
    spec = a.incident.spec
    guard = guard or guard_for(a.incident)
    status_check = checker(a)

    def clean(text: str) -> list[str]:
        return status_check(text) + [lk.identifier for lk in guard.check({"": text})]

    start, end = _window(a)
    if spec.public.title:
        title = spec.public.title.strip()
    elif spec.title.strip() and not clean(spec.title):
        title = spec.title.strip()
    else:
        kind = "Slow responses" if _latency(a) else "Service disruption"
        title = f"{kind} on {fmt_utc(start, 'date')}" if start else kind
    moment = moment_at(a, None)
    status = moment.status
    if spec.public.summary:
        summary = " ".join(spec.public.summary.split())
    else:
        imp = a.impact
        dur = f" ({fmt_span(end - start, words=True)})" if start and end else ""
        share = (
            f"{fmt_pct(imp.error_ratio)} of requests to {_target(a)} {_bad(a)}"
            if imp.error_ratio is not None
            else f"{_target(a)} was disrupted"
        )
        state = {
            "Resolved": "The issue is resolved.",
            "Monitoring": "Service is back to normal and we are monitoring.",
        }.get(status, "We are working on it.")
        summary = f"From {_span(start, end)}{dur}, {share}. {state}"
    resolved = a.milestones.times()["resolved"]
    status_line = f"Status: {status}" + (
        f" at {fmt_utc(resolved, 'minute')} UTC" if resolved and status == "Resolved" else ""
    )
    sections = [
        Section("Summary", [summary]),
        Section("What happened", [_cause(a, clean)]),
        _when(a),
        _impact(a),
        _did(a),
        _doing(a),
        Section("", ["We apologize for the disruption this caused."]),
    ]
    doc = PublicDoc(spec.id, title, status_line, sections)
    enforce(doc.parts(), a.incident, guard)
    return doc


def to_markdown(doc: PublicDoc) -> str:
    """The Markdown file (``report/tables/public.md.j2``; every text escaped as data)."""
    from pmkit.report.present import table

    return re.sub(r"\n{3,}", "\n\n", table("public", doc=doc)).strip() + "\n"


def to_html(doc: PublicDoc) -> str:
    """The self-contained HTML page (``report/views/public_page.html.j2``, autoescaped, sanitized)."""
    from pmkit.report.present import view
    from pmkit.report.sanitize import clean_document

    return clean_document(view("public_page", doc=doc))


def _visible_text(page: str) -> str:
    """The text a reader sees in an HTML page (what the final check reads)."""
    page = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def write(a: Analysis, out_dir: str | Path, to: tuple[str, ...] = ("html", "md")) -> dict[str, Path]:
    """Write the public files ``to`` asks for (``md``, ``html``, ``pdf``) into ``out_dir``; name -> path.

    The final Markdown and the HTML's visible text are checked again before anything is written.
    """
    guard = guard_for(a.incident)
    doc = build(a, guard)
    out = Path(out_dir)
    bodies = {"md": to_markdown(doc), "html": to_html(doc)}
    enforce({"the Markdown file": bodies["md"], "the HTML page": _visible_text(bodies["html"])}, a.incident, guard)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in ("md", "html"):
        if fmt in to:
            path = out / FILES[fmt]
            path.write_text(bodies[fmt], encoding="utf-8", newline="\n")
            written[fmt] = path
    if "pdf" in to:
        from pmkit.report.pdf import print_pdf

        written["pdf"] = print_pdf(bodies["html"], out / FILES["pdf"])
    return written
