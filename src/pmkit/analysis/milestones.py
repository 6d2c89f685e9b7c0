"""The incident's milestones, each with its evidence and how it was found.

Definitions (also in docs/analyses.md), all times UTC:

- **impact_start**: the first failing request of the incident: the SLI's first bad minute
  (:func:`pmkit.analysis.sli.detect_impact`), refined to the first failing request in it
  when request logs exist (with a metrics SLI: the first error logged by the incident's
  services in that minute). Without an SLI: the first alert or page.
- **detected**: the first alert firing or page triggered at or after impact start minus 10
  minutes (alerts on the incident's services preferred).
- **acknowledged**: the first page acknowledgement after detection; else the first chat
  message acknowledging it ("ack", "on it", "looking into it", "I've got this").
- **declared**: the first declaration after detection: a chat message declaring the
  incident or its severity ("declaring a SEV2", "this is a P0", "I'm IC", "starting an
  incident"), or a page priority/severity update, whichever is first.
- **mitigated**: the last failing request of the incident's run (a failing request of an
  endpoint whose error rate rose above its baseline, :func:`pmkit.analysis.baseline.incident_run`,
  in the SLI's impact window; background failures after recovery do not extend it); with a
  metrics SLI, the time of the last failing sample (the end of the impact window: the SLI back to
  baseline and staying there); without an SLI, the completion of the rollback, else a chat message saying so
  ("mitigated by ...", "we're back to normal", "error rate back to baseline", "recovered").
- **resolved**: the page resolved; else a chat message resolving or closing the incident
  ("resolved. postmortem owner: carol", "all clear", "closing the incident"); else the last
  alert resolving.

Chat words are :data:`pmkit.vocab.MILESTONE_CHAT`: a message counts when it says the
milestone and takes none of it back ("not resolved yet", "is it resolved?", "should be back
to normal soon"); :func:`chat_says` applies them.

Every value from ``milestones:`` in incident.yaml wins and is marked ``overridden`` (its
method is :data:`BY_AUTHOR`); the inferred value is still reported beside it. An impossible
order (resolved before impact start, acknowledged before detection...) is an error, never a
negative duration. :func:`evidence_label` names where each milestone comes from, in the
words the document and the explorer both print.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pmkit.analysis.sli import ImpactWindow
from pmkit.errors import MilestoneOrderError
from pmkit.timeutil import fmt_utc
from pmkit.vocab import MILESTONE_CHAT

NAMES = ("impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved")
BY_AUTHOR = "set by the author in incident.yaml"
# how long before the SLI's impact start an alert may fire and still be "the" detection
DETECT_SLACK = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Milestone:
    """One milestone: its time, how it was found, the evidence row, and whether an override set it."""

    name: str
    ts: dt.datetime | None
    method: str
    evidence: dict[str, Any] = field(default_factory=dict)
    overridden: bool = False
    inferred: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": fmt_utc(self.ts),
            "method": self.method,
            "evidence": self.evidence,
            "overridden": self.overridden,
            "inferred": fmt_utc(self.inferred),
        }


@dataclass(frozen=True)
class Milestones:
    """The six milestones in order; ``m["detected"]`` or ``m.detected`` gives one."""

    items: tuple[Milestone, ...]

    def __getitem__(self, name: str) -> Milestone:
        for m in self.items:
            if m.name == name:
                return m
        raise KeyError(f"{name!r} is not a milestone; expected one of {', '.join(NAMES)}")

    def __getattr__(self, name: str) -> dt.datetime | None:
        if name in NAMES:
            return self[name].ts
        raise AttributeError(name)

    def times(self) -> dict[str, dt.datetime | None]:
        return {m.name: m.ts for m in self.items}

    def to_dict(self) -> dict[str, Any]:
        return {m.name: m.to_dict() for m in self.items}

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "milestone": m.name,
                    "ts": m.ts,
                    "method": m.method,
                    "overridden": m.overridden,
                    "source": m.evidence.get("source"),
                    "origin": m.evidence.get("origin"),
                    "evidence": m.evidence.get("message"),
                }
                for m in self.items
            ],
            schema={
                "milestone": pl.String,
                "ts": pl.Datetime("us", "UTC"),
                "method": pl.String,
                "overridden": pl.Boolean,
                "source": pl.String,
                "origin": pl.String,
                "evidence": pl.String,
            },
        )


def _evidence(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {}
    ev = {k: row.get(k) for k in ("source", "kind", "message", "origin", "actor") if row.get(k) is not None}
    attrs = _attrs(row.get("attrs"))
    for key in ("channel", "alertname", "event_type", "incident_number"):
        if attrs.get(key) not in (None, ""):
            ev[key] = attrs[key]
    return ev


def _attrs(raw: object) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def chat_says(milestone: str, message: pl.Expr | None = None) -> pl.Expr:
    """True where a chat message says ``milestone`` happened (acknowledged, declared, mitigated, resolved).

    The words are :data:`pmkit.vocab.MILESTONE_CHAT`: a message counts when it says it and takes
    none of it back (a negation, a question or a hedge on the word). Null messages are false.
    """
    says, taken_back = MILESTONE_CHAT[milestone]
    text = pl.col("message") if message is None else message
    return (text.str.contains(says) & ~text.str.contains(taken_back)).fill_null(False)


def _first(frame: pl.DataFrame) -> dict[str, Any] | None:
    return frame.sort("ts").row(0, named=True) if frame.height else None


def _event_type() -> pl.Expr:
    return pl.col("attrs").str.json_path_match("$.event_type")


def _status() -> pl.Expr:
    """firing/resolved for alerts: the event's own type first (a resolved alert has a firing event too)."""
    return pl.coalesce(
        _event_type(), pl.col("attrs").str.json_path_match("$.status"), pl.col("attrs").str.json_path_match("$.state")
    )


def find_milestones(
    events: pl.DataFrame,
    *,
    impact: ImpactWindow | None = None,
    first_failure: dict[str, Any] | None = None,
    last_failure: dict[str, Any] | None = None,
    rollback: dict[str, Any] | None = None,
    services: list[str] | None = None,
    overrides: dict[str, dt.datetime | None] | None = None,
    sli: str | None = None,
    bad: str = "failing",
) -> Milestones:
    """Infer the milestones from events and the SLI's impact window, then apply overrides.

    ``first_failure``: the first failing request row of the impact start minute (from the
    request logs), used as impact start evidence. ``last_failure``: the last failing request of
    the incident's run, which sets mitigated (else the impact window's end). ``rollback``: the rollback found by
    :func:`pmkit.analysis.changes.find_rollback` (mitigation fallback). ``sli`` names the SLI
    for the evidence ("request log 'nginx'"); ``bad`` what its bad requests are (``failing``, or with a
    latency SLI ``slow`` / ``slow or failing``) for the methods and labels.
    """
    sli_name = sli or "per-minute error ratio"
    found: dict[str, Milestone] = {}
    alerts = events.filter(pl.col("kind").is_in(["alert", "page"]))
    chat = events.filter(pl.col("kind") == "chat")
    pages = events.filter(pl.col("kind") == "page")

    # impact start
    if impact is not None and impact.start is not None:
        ts = impact.start
        ev: dict[str, Any] = {"method_detail": impact.method}
        if first_failure is not None and first_failure["ts"] >= impact.start - dt.timedelta(minutes=1):
            ts = first_failure["ts"]
            ev = _evidence(first_failure)
            ev["failure"] = "first"
            ev["bad"] = bad
        ev["sli"] = sli_name
        found["impact_start"] = Milestone("impact_start", ts, f"SLI: {impact.method}", ev)
    else:
        row = first_firing(alerts)
        found["impact_start"] = Milestone(
            "impact_start",
            row["ts"] if row else None,
            "no SLI; first alert or page" if row else "not found",
            _evidence(row),
        )
    start = found["impact_start"].ts

    # detected
    row = first_notice(events, start=start, services=services)
    found["detected"] = _from_row("detected", row, "first alert firing or page triggered")
    detected = found["detected"].ts or start

    def after(frame: pl.DataFrame, t: dt.datetime | None) -> pl.DataFrame:
        return frame if t is None else frame.filter(pl.col("ts") >= t)

    # acknowledged
    row = _first(after(pages.filter(_event_type().str.contains("(?i)acknowledge")), detected))
    method = "first page acknowledgement"
    if row is None:
        row = _first(after(chat.filter(chat_says("acknowledged")), detected))
        method = "first chat message acknowledging the page"
    found["acknowledged"] = _from_row("acknowledged", row, method)

    # declared
    chat_decl = _first(after(chat.filter(chat_says("declared")), detected))
    page_decl = _first(after(pages.filter(_event_type().str.contains("(?i)priority|severity")), detected))
    options = [(r, m) for r, m in ((chat_decl, "chat declaration"), (page_decl, "page priority update")) if r]
    if options:
        row, method = min(options, key=lambda o: o[0]["ts"])
    else:
        row, method = None, "not found"
    found["declared"] = _from_row("declared", row, method)

    # mitigated
    if impact is not None and impact.end is not None and last_failure is not None and last_failure["ts"] <= impact.end:
        sample = "value" in last_failure  # a metrics sample: its time is the end of the last bad step
        found["mitigated"] = Milestone(
            "mitigated",
            last_failure["ts"],
            f"last {bad} {'sample' if sample else 'request'} of the incident (SLI back to baseline and staying "
            "there after it)",
            {
                **_evidence(last_failure),
                "failure": "last sample" if sample else "last",
                "bad": bad,
                "method_detail": impact.method,
                "sli": sli_name,
            },
        )
    elif impact is not None and impact.end is not None:
        found["mitigated"] = Milestone(
            "mitigated",
            impact.end,
            "SLI back to baseline and staying there",
            {"method_detail": impact.method, "sli": sli_name},
        )
    elif rollback is not None and rollback.get("completed") is not None:
        found["mitigated"] = Milestone(
            "mitigated",
            rollback["completed"],
            "rollback completed",
            {"kind": "rollback", **{k: v for k, v in rollback.items() if k != "completed"}},
        )
    else:
        row = _first(after(chat.filter(chat_says("mitigated")), start))
        found["mitigated"] = _from_row("mitigated", row, "chat message saying mitigated")

    # resolved
    row = _first(after(pages.filter(_event_type().str.contains("(?i)resolve")), detected))
    method = "page resolved"
    if row is None:
        row = _first(after(chat.filter(chat_says("resolved")), detected))
        method = "chat message resolving the incident"
    if row is None:
        resolved_alerts = after(alerts.filter(_status().str.to_lowercase() == "resolved"), detected)
        row = resolved_alerts.sort("ts").row(-1, named=True) if resolved_alerts.height else None
        method = "last alert resolved"
    found["resolved"] = _from_row("resolved", row, method)

    items = []
    for name in NAMES:
        m = found[name]
        override = (overrides or {}).get(name)
        if override is not None:
            m = Milestone(name, override, BY_AUTHOR, m.evidence, True, m.ts)
        items.append(m)
    result = Milestones(tuple(items))
    check_order(result)
    return result


def first_notice(
    events: pl.DataFrame,
    *,
    start: dt.datetime | None,
    services: list[str] | None = None,
    kinds: tuple[str, ...] = ("alert", "page"),
) -> dict[str, Any] | None:
    """The first alert firing or page triggered (``kinds``) at or after ``start`` minus :data:`DETECT_SLACK`,
    the incident's ``services`` preferred: the detection, or with ``kinds=("page",)`` the first page."""
    cand = events.filter(pl.col("kind").is_in(list(kinds))).filter(_firing())  # attrs read on those rows only
    if start is not None:
        cand = cand.filter(pl.col("ts") >= start - DETECT_SLACK)
    preferred = cand.filter(pl.col("service").is_in(services)) if services else cand
    return _first(preferred) or _first(cand)


def first_firing(events: pl.DataFrame) -> dict[str, Any] | None:
    """The first alert firing or page triggered: the impact start when there is no SLI (also for change suspects)."""
    return _first(events.filter(pl.col("kind").is_in(["alert", "page"])).filter(_firing()))


def _firing() -> pl.Expr:
    et = _event_type().fill_null("")
    st = _status().fill_null("").str.to_lowercase()
    is_alert = (pl.col("kind") == "alert") & (st != "resolved")
    is_page = (pl.col("kind") == "page") & et.str.contains("(?i)trigger")
    return is_alert | is_page


def _from_row(name: str, row: dict[str, Any] | None, method: str) -> Milestone:
    if row is None:
        return Milestone(name, None, "not found")
    return Milestone(name, row["ts"], method, _evidence(row))


# (earlier, later): later must not come before earlier
ORDER_RULES = (
    ("impact_start", "mitigated"),
    ("impact_start", "resolved"),
    ("detected", "acknowledged"),
    ("mitigated", "resolved"),
    ("detected", "resolved"),
)


def _how(m: Milestone) -> str:
    return BY_AUTHOR if m.overridden else m.method


def _hms(t: object) -> str:
    return fmt_utc(t, "hms") if isinstance(t, dt.datetime) else ""


def evidence_label(m: Milestone) -> str:
    """Where a milestone comes from, in plain words (the document and the explorer print this same text).

    ``chat #inc-payments, alice, 14:58:03``; ``alert PaymentsAvailabilityBudgetBurn (alertmanager),
    14:23:01``; ``page #4821 acknowledged (pagerduty), Raj Patel, 14:25:02``; ``the SLI (request log
    'nginx')``; ``rollback of payments-api to v2.14.2 (deploys), completed 14:42:05``. A milestone
    the author set (its method says :data:`BY_AUTHOR`) is labelled by what the evidence gives
    instead: ``inferred 14:19:23 from the SLI (...)`` or ``nothing inferred from the evidence``.
    """
    if m.overridden:
        if m.inferred is None:
            return "nothing inferred from the evidence"
        found = dataclasses.replace(m, ts=m.inferred, overridden=False, inferred=None)
        return f"inferred {_hms(m.inferred)} from {evidence_label(found)}"
    if m.ts is None:
        return "not found in the evidence"
    ev = m.evidence
    when = _hms(m.ts)
    actor = f", {ev['actor']}" if ev.get("actor") else ""
    kind = ev.get("kind")
    if "sli" in ev:
        text = f"the SLI ({ev['sli']})"
        if ev.get("origin"):
            if ev.get("failure") == "last sample":
                text += f", last failing sample of {ev.get('source') or 'the evidence'}, the minute ending {when}"
            else:
                which = "last" if ev.get("failure") == "last" else "first"
                what = "failure" if ev.get("bad", "failing") == "failing" else f"{ev['bad']} request"
                text += f", {which} {what} logged by {ev.get('source') or 'the evidence'} at {when}"
        return text
    if kind == "rollback":
        what = f"rollback of {ev.get('service') or 'the service'}"
        if ev.get("version"):
            what += f" to {ev['version']}"
        return f"{what} ({ev.get('source') or 'deploys'}), completed {_hms(m.ts)}"
    source = ev.get("source") or "the evidence"
    if kind == "chat":
        # a transcript names no channel: the source's name, unless it is just "chat" ("chat chat, erin")
        where = (
            f" #{ev['channel']}" if ev.get("channel") else "" if source in ("chat", "the evidence") else f" {source}"
        )
        return f"chat{where}{actor}, {when}"
    if kind == "alert":
        name = ev.get("alertname") or ev.get("message") or "alert"
        return f"alert {name} ({source}), {when}"
    if kind == "page":
        number = f" #{ev['incident_number']}" if ev.get("incident_number") else ""
        what = str(ev.get("event_type") or "event").removeprefix("incident.")
        return f"page{number} {what} ({source}){actor}, {when}"
    return f"{kind or 'event'} {source}{actor}, {when}"


def check_order(ms: Milestones) -> None:
    """Raise :class:`MilestoneOrderError` when two known milestones are in an impossible order."""
    problems = []
    for earlier, later in ORDER_RULES:
        a, b = ms[earlier], ms[later]
        if a.ts is not None and b.ts is not None and b.ts < a.ts:
            problems.append(f"{later} {fmt_utc(b.ts)} ({_how(b)}) is before {earlier} {fmt_utc(a.ts)} ({_how(a)})")
    if problems:
        raise MilestoneOrderError(
            "milestones are in an impossible order: "
            + "; ".join(problems)
            + ". Fix or set them under milestones: in incident.yaml"
        )
