"""What a communication draft states, and how: the moment it speaks for and the shared formatting.

The drafts of :mod:`pmkit.report.comms` are built from these. Times are the milestones (overrides
included), status and next update are derived from them and the severity (``analysis.severity.final``,
cadence per :func:`pmkit.analysis.severity.cadence_for`). Anything the evidence and the spec do not
give is a ``[TODO: ...]`` marker (:func:`todo`, ``TODO_PREFIX``), never a guess.

**The moment (``at``).** An update speaks for one moment: ``at`` is an aware datetime, ISO 8601
text with a zone (``2025-06-15T14:45:00Z``) or a milestone name (``"mitigated"``); anything else is
a :class:`MomentError`. By default the latest one known (resolved, else mitigated, else the
rollback, declared, acknowledged, detected, impact start). The status at ``at``: Resolved once
resolved, Monitoring once mitigated, Identified once a rollback started (the evidence has no
other sign that the cause is known), else Investigating. Only
what happened by ``at`` is told: impact figures are measured from impact start to ``at`` (to
mitigation once mitigated). "Next update" is ``at`` (to the minute) plus the cadence the severity
requires (15 min for SEV1/P0, 30 for SEV2/P1, 2 h for SEV3/P2; "as needed" below that). The update
number follows the numbered chat updates before ``at`` (``Update #N``), else counts them. Nothing
reads the wall clock: the same analysis gives the same text.

**Formatting.** Clock times in UTC (``14:23 UTC``, with the date for "Updated"/"Posted"), spans as
``1 h 28 min`` (in words for customers), percentages with the precision a small share needs, and for
customers counts to two significant digits (``about 2,100``) and shares in words (``most requests
were failing``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis import impact as impact_mod
from pmkit.analysis.milestones import NAMES as MILESTONES
from pmkit.errors import PmkitError
from pmkit.timeutil import fmt_duration, fmt_utc

if TYPE_CHECKING:
    from pmkit.analysis.impact import Impact
    from pmkit.pipeline import Analysis

TODO_PREFIX = "[TODO: "


def todo(what: str) -> str:
    """The marker for a fact the evidence and the spec do not give: ``[TODO: what]``."""
    return f"{TODO_PREFIX}{what}]"


# --- formatting ------------------------------------------------------------------------------


def fmt_hm(t: dt.datetime | None, what: str = "time") -> str:
    """``14:23 UTC``; a TODO marker naming ``what`` when the time is unknown."""
    return todo(what) if t is None else f"{fmt_utc(t, 'hm')} UTC"


def fmt_day(t: dt.datetime | None, what: str = "time") -> str:
    """``2025-06-15 14:23 UTC``; a TODO marker naming ``what`` when the time is unknown."""
    return todo(what) if t is None else f"{fmt_utc(t, 'minute')} UTC"


def to_minute(t: dt.datetime) -> dt.datetime:
    """``t`` in UTC, cut to the minute."""
    return t.astimezone(dt.UTC).replace(second=0, microsecond=0)


def fmt_span(td: dt.timedelta, *, words: bool = False) -> str:
    """``41 min`` / ``1 h 28 min`` (``words``: ``1 hour 28 minutes``, as the seeds' customer texts)."""
    return fmt_duration(td, "words" if words else "compact")


def fmt_pct(x: float) -> str:
    """A percentage with the precision a small share needs: ``100%``, ``41.3%``, ``0.05%``."""
    if x >= 0.9995 or x == 0:
        return f"{x:.0%}"
    return f"{x:.1%}" if x >= 0.001 else f"{x:.2%}"


def fmt_about(n: float) -> str:
    """A count rounded to two significant digits for customers: 2,143 -> ``about 2,100``."""
    n = round(n)
    if n < 100:
        return f"{n:,}"
    digits = len(str(n)) - 2
    return f"about {round(n, -digits):,}"


def share_words(ratio: float, *, past: bool) -> str:
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
class Moment:
    """What is known at ``at``: the milestones reached, the status, the impact so far."""

    at: dt.datetime | None
    times: dict[str, dt.datetime | None]
    status: str
    final: bool
    impact: Impact
    rollback: dict[str, Any] | None


def reached(t: dt.datetime | None, at: dt.datetime | None) -> bool:
    """``t`` is known and not after ``at`` (``at`` None: any known time counts)."""
    return t is not None and (at is None or t <= at)


def default_at(analysis: Analysis) -> dt.datetime | None:
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


def resolve_at(analysis: Analysis, at: dt.datetime | str | None) -> dt.datetime | None:
    """``at`` as a UTC datetime: None -> the default moment; a milestone name or ISO 8601 text -> its time."""
    times = analysis.milestones.times()
    if at is None:
        return default_at(analysis)
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


def moment_at(analysis: Analysis, at: dt.datetime | str | None) -> Moment:
    """What is known at ``at`` (see the module docstring): the status and the impact measured up to it."""
    when = resolve_at(analysis, at)
    times = analysis.milestones.times()
    rb = analysis.rollback
    if when is None:  # no milestone at all: nothing is known to have happened
        status = "Investigating"
    elif reached(times["resolved"], when):
        status = "Resolved"
    elif reached(times["mitigated"], when):
        status = "Monitoring"
    elif rb is not None and reached(rb.get("start"), when):
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
    return Moment(when, times, status, status == "Resolved", imp, rb)


def update_number(analysis: Analysis, at: dt.datetime | None) -> int:
    """The number of the update at ``at``: after the last ``Update #N`` in the chat before it, else counted."""
    updates = analysis.cadence.updates.filter(pl.col("kind") == "chat")
    if at is not None:
        updates = updates.filter(pl.col("ts") < at)
    numbered = updates.get_column("update_no").drop_nulls()
    return int(numbered.max()) + 1 if numbered.len() else updates.height + 1  # type: ignore[arg-type]


def next_update(analysis: Analysis, m: Moment) -> str:
    """The "Next update" line: ``at`` plus the cadence the severity requires, or why there is none."""
    if m.final:
        return "none: this is the final update; the postmortem follows"
    every = analysis.severity.cadence
    if every is None:
        return f"as needed ({analysis.severity.final} requires no fixed cadence)"
    if m.at is None:
        return todo(f"next update, within {fmt_span(every)}")
    return f"{fmt_hm(to_minute(m.at) + every)} or sooner if status changes"
