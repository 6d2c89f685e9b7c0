"""Status updates and their cadence: how long stakeholders went without news.

Definitions (also in docs/analyses.md):

- A **status update** is a chat message (``kind == "chat"``) whose text has one of the forms
  in ``UPDATE_FORMS`` (case-insensitive; ``^`` is the start of any line of the message), or a
  PagerDuty status update (``kind == "page"`` whose ``attrs.event_type`` or ``attrs.type``
  matches ``status_update_published`` or ``incident_status_update``). The forms follow the
  seeds' templates and the common phrasings:

  ===================  ========================================================================
  form                 matches, e.g.
  ===================  ========================================================================
  ``header``           ``**[SEV1] Payment Processing — Update #3 (15:00 UTC)**``
  ``incident update``  ``INCIDENT UPDATE - SEV1 - Checkout errors``
  ``declared``         ``**INCIDENT DECLARED**``
  ``resolved``         ``**INCIDENT RESOLVED**``, ``RESOLVED: API Service Degraded``
  ``mitigation``       ``**MITIGATION IN PROGRESS**``
  ``status``           ``Status: Investigating``, ``**Current status:** Mitigated`` (the status is
                       one of investigating, identified, monitoring, mitigated, resolved)
  ``next update``      ``Next update: 15:30 UTC``, ``We will provide an update within 30 minutes``,
                       ``We will provide updates every 30 minutes``
  ``status page``      ``Status page updated``, ``*Posted: 10:45 AM*``, ``We are currently
                       investigating an issue``, ``The issues with checkout have been resolved``
  ``update``           ``Update: rollback done``, ``Status update: ...``, ``Update #2``,
                       ``Update on checkout issues:``
  ===================  ========================================================================

  ``form`` names the first form that matched, in that order.
- ``update_no``: the number in ``Update #3`` / ``Update no. 3`` when present.
- ``next_update_at``: the promise in the message. ``Next update: 15:30 UTC``, ``Next Update:
  11:00 AM``, ``next update at 15:30``, ``an update by 16:00`` are clock times on the message's
  UTC date; a time without a zone is read as UTC (the templates ask for UTC), one with another
  zone (``EST``) is left null rather than guessed; a time more than 12 hours before the message
  is on the next day (``23:50`` promising ``00:20``). "update(s)" directly followed by ``in 30
  minutes``, ``within 1 hour`` or ``every 30 minutes`` is relative to the message ("rolled back
  within 5 minutes" is not a promise).
- **Cadence** over ``[start, end]`` (start = declared, else detected; end = resolved): the
  intervals from start to the first update, between consecutive updates, and from the last
  update to end. Updates outside the window are not counted. ``largest_gap`` is the longest
  interval; the cadence is **kept** when ``largest_gap <= required + grace`` (``GRACE`` = 2
  minutes: a SEV1 update posted at 15:16 for a 15:00 one is on time). A **silence** is an
  interval longer than ``required + grace``; ``kept`` is "no silences", except that nothing
  measured (no updates and no start/end) is not kept. With a required cadence of
  ``UPDATES_REQUIRED_WITHIN`` (30 minutes) or tighter (SEV1/SEV2), no status update at all
  between start and end is not kept either, however short the window: such an incident owes
  its stakeholders at least one update. With no required cadence (SEV4/P3) every cadence is
  kept.
- **Promises**: every update with a ``next_update_at`` is paired with the next update after
  it; the promise is **broken** when that came later than promised + grace, or never came
  while the incident was still open at promised + grace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from pmkit.schema import UTC_TS
from pmkit.timeutil import fmt_duration, fmt_utc
from pmkit.vocab import PAGERDUTY_STATUS_UPDATE, STATUS_UPDATE, UPDATE_FORMS

GRACE = dt.timedelta(minutes=2)
UPDATES_REQUIRED_WITHIN = dt.timedelta(minutes=30)


UPDATE_NO = r"(?i)\bupdate\s*(?:#|no\.?|number)\s*(\d+)"
NEXT_AT = (
    r"(?i)(?:\bnext\s+update\b|\b(?:an?|another)\s+update\s+(?:at|by|around)\b)[^0-9\n]{0,20}?"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?:\s*(?P<ampm>[ap])\.?m\b\.?)?(?-i:\s*(?P<tz>[A-Z]{1,5})\b)?"
)
NEXT_IN = r"(?i)\bupdates?\s+(?:in|within|every)\s+\[?(?P<n>\d+)\s*(?P<unit>min(?:ute)?s?|m|hours?|hrs?|h)\b"
_UTC_ZONES = ("UTC", "GMT", "Z")

UPDATES_SCHEMA: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "source": pl.String(),
    "kind": pl.String(),
    "actor": pl.String(),
    "message": pl.String(),
    "form": pl.String(),
    "update_no": pl.Int64(),
    "next_update_at": UTC_TS,
}


def _form_expr() -> pl.Expr:
    msg = pl.col("message")
    expr: Any = pl
    for name, pattern in UPDATE_FORMS:
        expr = expr.when(msg.str.contains(f"(?im){pattern}")).then(pl.lit(name))
    out: pl.Expr = expr.otherwise(pl.lit(None, dtype=pl.String))
    return out


def _next_update_expr() -> pl.Expr:
    at = pl.col("message").str.extract_groups(NEXT_AT)
    hour = at.struct.field("h").cast(pl.Int64, strict=False)
    minute = at.struct.field("m").cast(pl.Int64, strict=False)
    ampm = at.struct.field("ampm").str.to_lowercase()
    tz = at.struct.field("tz")
    hour24 = (
        pl.when((ampm == "p") & (hour < 12)).then(hour + 12).when((ampm == "a") & (hour == 12)).then(0).otherwise(hour)
    )
    clock = pl.col("ts").dt.truncate("1d") + pl.duration(hours=hour24, minutes=minute)
    clock = pl.when(clock < pl.col("ts") - pl.duration(hours=12)).then(clock + pl.duration(days=1)).otherwise(clock)
    valid = (
        hour.is_not_null()
        & (hour24 < 24)
        & (minute < 60)
        & (tz.is_null() | tz.str.to_uppercase().is_in(list(_UTC_ZONES)))
    )
    absolute = pl.when(valid).then(clock)

    rel = pl.col("message").str.extract_groups(NEXT_IN)
    n = rel.struct.field("n").cast(pl.Int64, strict=False)
    unit = rel.struct.field("unit").str.to_lowercase()
    minutes = pl.when(unit.str.starts_with("h")).then(n * 60).otherwise(n)
    relative = pl.col("ts") + pl.duration(minutes=minutes)
    return pl.coalesce(absolute, relative).cast(UTC_TS)


def status_updates(events: pl.DataFrame) -> pl.DataFrame:
    """The status updates among ``events`` (see module docstring), in time order.

    Columns: ts, source, kind, actor, message, form, update_no, next_update_at. Rows with the
    same time and message (one update seen twice) are kept once.
    """
    if events.height == 0:
        return pl.DataFrame(schema=UPDATES_SCHEMA)
    for col in ("ts", "kind", "message"):
        if col not in events.columns:
            raise ValueError(f"events frame has no {col!r} column; pass the events frame (see pmkit.schema)")
    frame = events
    for col in ("source", "actor", "attrs"):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    attrs = pl.when(pl.col("kind") == "page").then(pl.col("attrs"))  # JSON read on the few page rows only
    pd_type = pl.coalesce(attrs.str.json_path_match("$.event_type"), attrs.str.json_path_match("$.type"))
    is_pd = (pl.col("kind") == "page") & pd_type.str.contains(PAGERDUTY_STATUS_UPDATE).fill_null(False)
    is_chat = (pl.col("kind") == "chat") & pl.col("message").str.contains(STATUS_UPDATE).fill_null(False)
    return (
        frame.lazy()
        .filter(is_pd | is_chat)
        .with_columns(
            pl.when(pl.col("kind") == "page").then(pl.lit("pagerduty")).otherwise(_form_expr()).alias("form"),
            pl.col("message").str.extract(UPDATE_NO, 1).cast(pl.Int64, strict=False).alias("update_no"),
            _next_update_expr().alias("next_update_at"),
        )
        .select(list(UPDATES_SCHEMA))
        .unique(subset=["ts", "message"], keep="first", maintain_order=True)
        .sort("ts", maintain_order=True)
        .collect()
        .cast(UPDATES_SCHEMA)  # type: ignore[arg-type]
    )


INTERVALS_SCHEMA: dict[str, pl.DataType] = {
    "start": UTC_TS,
    "end": UTC_TS,
    "gap_minutes": pl.Float64(),
    "after": pl.String(),
    "before": pl.String(),
    "silence": pl.Boolean(),
}
PROMISES_SCHEMA: dict[str, pl.DataType] = {
    "posted_at": UTC_TS,
    "message": pl.String(),
    "promised": UTC_TS,
    "actual": UTC_TS,
    "late_minutes": pl.Float64(),
    "kept": pl.Boolean(),
}


def _hm(t: dt.datetime | None) -> str:
    return fmt_utc(t, "hm", missing="?")


def _min(td: dt.timedelta) -> str:
    """``14 min`` or ``14 min 55 s``: what a reader of a status-update gap wants, not ``14.9167 min``."""
    return fmt_duration(td, "min_s")


@dataclass(frozen=True)
class CadenceResult:
    """Gaps between status updates over ``[start, end]`` against the ``required`` interval."""

    updates: pl.DataFrame
    intervals: pl.DataFrame
    required: dt.timedelta | None
    grace: dt.timedelta
    start: dt.datetime | None
    end: dt.datetime | None
    largest_gap: dt.timedelta | None
    kept: bool
    silences: pl.DataFrame
    promises: pl.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def broken_promises(self) -> pl.DataFrame:
        """Promises of a next update that came late or never came."""
        return self.promises.filter(~pl.col("kept"))

    def summary(self) -> str:
        """One sentence: kept or not, the largest gap and where it was, broken promises."""
        n = self.updates.height
        if self.required is None:
            head = f"no cadence required; {n} status update{'s' * (n != 1)}"
        elif n == 0 and self.start is not None and self.end is not None and not self.kept:
            head = (
                f"not kept: no status updates between {_hm(self.start)} and {_hm(self.end)} UTC; "
                f"one is required every {_min(self.required)}"
            )
        elif self.largest_gap is None:
            head = "not measured: no status updates and no start/end to measure a silence between"
        else:
            worst = self.intervals.sort("gap_minutes", descending=True, maintain_order=True).row(0, named=True)
            where = f"{_hm(worst['start'])}-{_hm(worst['end'])} UTC, after {worst['after']}"
            limit = f"the required {_min(self.required)} + {_min(self.grace)} grace"
            if self.kept:
                head = f"kept: {n} status update{'s' * (n != 1)}, largest gap {_min(self.largest_gap)} within {limit}"
            else:
                s = self.silences.height
                head = (
                    f"not kept: largest gap {_min(self.largest_gap)} ({where}) exceeds {limit}; "
                    f"{s} silence{'s' * (s != 1)}, {n} status update{'s' * (n != 1)}"
                )
        broken = self.broken_promises
        if broken.height:
            parts = [
                f"promised {_hm(r['promised'])}, came {_hm(r['actual'])}"
                if r["actual"] is not None
                else f"promised {_hm(r['promised'])}, none came"
                for r in broken.iter_rows(named=True)
            ]
            head += f"; {broken.height} promised update{'s' * (broken.height != 1)} late ({'; '.join(parts)})"
        return head

    def to_dict(self) -> dict[str, Any]:
        def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: fmt_utc(v) if isinstance(v, dt.datetime) else v for k, v in r.items()} for r in frame.to_dicts()
            ]

        return {
            "required_minutes": None if self.required is None else self.required.total_seconds() / 60,
            "grace_minutes": self.grace.total_seconds() / 60,
            "start": fmt_utc(self.start),
            "end": fmt_utc(self.end),
            "updates": self.updates.height,
            "largest_gap_minutes": None if self.largest_gap is None else self.largest_gap.total_seconds() / 60,
            "kept": self.kept,
            "summary": self.summary(),
            "intervals": rows(self.intervals),
            "silences": rows(self.silences),
            "broken_promises": rows(self.broken_promises),
            "notes": list(self.notes),
        }


def cadence(
    events: pl.DataFrame,
    required: dt.timedelta | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    grace: dt.timedelta = GRACE,
) -> CadenceResult:
    """Measure the status-update cadence over ``[start, end]`` (see module docstring).

    ``events`` is the events frame (or a frame from :func:`status_updates`); ``required`` the
    interval the severity asks for (``pmkit.analysis.severity.cadence_for``), ``None`` for none.
    Without ``start`` (or ``end``) the first (or last) update bounds the window, and the notes say so.
    """
    updates = events if "next_update_at" in events.columns else status_updates(events)
    notes: list[str] = []
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} {value.isoformat()} has no time zone; pass UTC times (tzinfo=datetime.UTC)")
    if start is not None and end is not None and end < start:
        raise ValueError(
            f"end {end.isoformat()} is before start {start.isoformat()}; pass start=declared, end=resolved"
        )
    if start is None and updates.height:
        start = updates.get_column("ts").min()  # type: ignore[assignment]
        notes.append("no start (declared/detected) given: measured from the first update")
    if end is None and updates.height:
        end = updates.get_column("ts").max()  # type: ignore[assignment]
        notes.append("no end (resolved) given: measured to the last update")
    if start is not None and end is not None:
        updates = updates.filter(pl.col("ts").is_between(start, end))
    if updates.height == 0 and start is not None and end is not None:
        notes.append("no status updates between start and end")
    limit = None if required is None else required + grace

    if start is None or end is None:
        intervals = pl.DataFrame(schema=INTERVALS_SCHEMA)
    else:
        label = pl.concat_str(
            [
                pl.when(pl.col("update_no").is_not_null())
                .then(pl.format("update #{} ", pl.col("update_no")))
                .otherwise(pl.lit("update ")),
                pl.format("at {}", pl.col("ts").dt.strftime("%H:%M")),
            ]
        )
        points = pl.concat(
            [
                pl.DataFrame({"ts": [start], "label": ["start"]}, schema={"ts": UTC_TS, "label": pl.String}),
                updates.select("ts", label.alias("label")),
                pl.DataFrame({"ts": [end], "label": ["end"]}, schema={"ts": UTC_TS, "label": pl.String}),
            ]
        )
        gap = (pl.col("end") - pl.col("start")).dt.total_microseconds() / 60e6
        intervals = (
            points.select(
                pl.col("ts").alias("start"),
                pl.col("ts").shift(-1).alias("end"),
                pl.col("label").alias("after"),
                pl.col("label").shift(-1).alias("before"),
            )
            .head(points.height - 1)
            .with_columns(gap.alias("gap_minutes"))
            .with_columns(
                (pl.col("gap_minutes") > limit.total_seconds() / 60 if limit is not None else pl.lit(False)).alias(
                    "silence"
                )
            )
            .select(list(INTERVALS_SCHEMA))
        )
    largest = None
    if intervals.height:
        largest = dt.timedelta(minutes=float(intervals.get_column("gap_minutes").max()))  # type: ignore[arg-type]
    silences = intervals.filter(pl.col("silence"))
    kept = True if required is None else largest is not None and silences.height == 0
    if required is not None and required <= UPDATES_REQUIRED_WITHIN and updates.height == 0:
        kept = False  # a SEV1/SEV2 owes at least one update, however short
    return CadenceResult(
        updates=updates,
        intervals=intervals,
        required=required,
        grace=grace,
        start=start,
        end=end,
        largest_gap=largest,
        kept=kept,
        silences=silences,
        promises=_promises(updates, end, grace),
        notes=tuple(notes),
    )


def _promises(updates: pl.DataFrame, end: dt.datetime | None, grace: dt.timedelta) -> pl.DataFrame:
    """Each promised next update against the next update that actually came."""
    frame = updates.sort("ts").with_columns(pl.col("ts").shift(-1).alias("actual"))
    frame = frame.filter(pl.col("next_update_at").is_not_null())
    due = pl.col("next_update_at") + grace
    late = (pl.col("actual") - pl.col("next_update_at")).dt.total_microseconds() / 60e6
    open_at_due = pl.lit(True) if end is None else pl.lit(end, dtype=UTC_TS) >= due
    kept = pl.when(pl.col("actual").is_not_null()).then(pl.col("actual") <= due).otherwise(~open_at_due)
    return frame.select(
        pl.col("ts").alias("posted_at"),
        "message",
        pl.col("next_update_at").alias("promised"),
        "actual",
        pl.when(pl.col("actual").is_null()).then(None).when(late > 0).then(late).otherwise(0.0).alias("late_minutes"),
        kept.alias("kept"),
    ).cast(PROMISES_SCHEMA)  # type: ignore[arg-type]
