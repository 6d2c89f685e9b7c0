"""The Response section's phases: time spent in detection, diagnosis, repair and communication, and who was in
each (Jeli-style), from :attr:`pmkit.pipeline.Analysis.phases` (:mod:`pmkit.analysis.phases` holds the rules).

Every figure is a field of the analysis: the spans' start, end and duration, the boundaries' bases, the counts
of the actions tagged with each phase and the people among them; the text names the population (the persons'
actions from the detection start to resolution + 5 min) and where the rules are written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmkit.analysis.response import CHAT_AFTER
from pmkit.redaction import redact
from pmkit.report.present import table
from pmkit.report.sections import NOT_FOUND, clock
from pmkit.timeutil import fmt_duration

if TYPE_CHECKING:
    from pmkit.pipeline import Analysis

MAX_PEOPLE = 8  # names listed per phase; the rest are counted


def _people(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(redact(n) for n in names[:MAX_PEOPLE])
    more = len(names) - MAX_PEOPLE
    return f"{shown} and {more} more ({len(names)})" if more > 0 else f"{shown} ({len(names)})"


def phases_markdown(a: Analysis) -> str:
    """``### Phases``: the phases' table, monitoring inside repair, the actions outside every phase."""
    ph = a.phases
    zone = a.incident.spec.display_timezone
    head = "### Phases"
    if ph.spans.get_column("start").is_null().all():
        return f"{head}\n\nResponse phases: {NOT_FOUND} (no impact start, detection or resolution to bound them)."
    start = ph.bounds[0].ts
    end = ph.bounds[3].ts
    window = (
        f"from {clock(start, zone)} to "
        + (f"{clock(end, zone)} (resolution) + {fmt_duration(CHAT_AFTER)}" if end else "the end of the evidence")
        if start
        else "over the whole evidence"
    )
    lead = (
        "Time spent per phase. Detection, diagnosis and repair follow one another from "
        f"{ph.bounds[0].basis} ({clock(start, zone)}) to {ph.bounds[3].basis} ({clock(end, zone)}); communication runs alongside them. Each boundary is a milestone, the first "
        "repair move or the author's setting (Boundaries). Messages and page actions are the persons' actions "
        f"(bots left out) {window}, each counted in one phase: by `phases:` in incident.yaml, else by its words, "
        "else by its time, so words can put an action in a phase outside that phase's time span; People: who made "
        'them, names folded. Rules: docs/analyses.md, "Response phases".'
    )
    rows = []
    for r in ph.spans.iter_rows(named=True):
        rows.append(
            {
                "phase": r["phase"].capitalize(),
                "start": clock(r["start"], zone, style="hms", missing=NOT_FOUND),
                "end": clock(r["end"], zone, style="hms", missing=NOT_FOUND),
                "duration": r["duration"],
                "note": " (alongside)" if r["phase"] == "communication" and r["duration"] is not None else "",
                "basis": redact(f"{r['start_basis']} → {r['end_basis']}"),
                "messages": r["messages"],
                "actions": r["actions"],
                "people": _people(list(r["people"])),
            }
        )
    lines = []
    mon_start, mon_end = ph.monitoring
    if mon_start is not None and mon_end is not None:
        lines.append(
            f"- Monitoring after mitigation, counted in repair: {clock(mon_start, zone, style='hms')} (mitigated) to "
            f"{clock(mon_end, zone, style='hms')} (resolved), {fmt_duration(mon_end - mon_start, 'precise')}."
        )
    first, last = ph.bounds[0], ph.bounds[3]
    if first.ts is not None and last.ts is not None:
        lines.append(
            f"- Detection, diagnosis and repair together: {fmt_duration(last.ts - first.ts, 'precise')} "
            f"({first.basis} to {last.basis})."
        )
    if ph.outside:
        lines.append(
            f"- {ph.outside} action{'s' * (ph.outside != 1)} after resolution in no phase "
            "(after resolution only communication words tag an action)."
        )
    parts = [head, lead, table("phases", rows=rows)]
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
