"""Detection, response and recovery: the facts behind the postmortem sections of the same names.

Definitions (also in docs/analyses.md, "Detection, response and recovery"), all times UTC:

- **Time to detect**: ``detected - impact_start`` (the milestones of :mod:`pmkit.analysis.milestones`).
  The **first page** is the first page triggered at or after impact start minus the detection slack
  (:func:`pmkit.analysis.milestones.first_notice` with ``kinds=("page",)``); ``time_to_page`` is
  ``first page - impact_start``.
- **Time to acknowledge / declare**: ``acknowledged - detected`` and ``declared - detected``.
- **Responders**: the people who acted between detection (else impact start) and resolution (else
  the last event): a human chat message in any channel, or a page event a person made (acknowledged,
  escalated, reassigned, a status update, resolved); Slack's join/leave/topic notices are not actions.
  Bots are left out: a chat message carrying a
  ``bot_id`` or a ``bot_message`` subtype, an actor whose name ends in "bot", and a page's trigger
  (the integration that raised it). One row per person, names folded case-, ``@``-, ``-``/``_``/``.``-
  insensitively, on the chat's real name when it gives one ("raj-patel" in Slack is "Raj Patel" in
  PagerDuty), with their first action.
- **Escalations**: in the same window, a page event whose type says escalate/reassign/assign, or a
  human chat message saying escalate, page (someone), pull/loop/bring in (someone); being paged
  ("paged for checkout 5xx, looking", "got paged") is not paging someone.
- **Rollback decision**: the first human chat message after detection and at or before the
  rollback's start that says roll back / revert (only when a rollback was found).
- **Time to mitigate / resolve**: ``mitigated - impact_start`` and ``resolved - impact_start``; the
  rollback took ``completed - start``.
- **Incident chat** (:func:`incident_chat`): the messages of the incident channel from impact start
  (else detection) to resolution plus :data:`CHAT_AFTER`. The incident channel is the channel of the
  chat declaration, else of a chat acknowledgement, else every channel; Slack's join and
  channel-purpose notices are left out.

Every function returns data (dataclasses, frames); :mod:`pmkit.report.sections` writes the sentences.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis.milestones import Milestone, Milestones, first_notice

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

CHAT_AFTER = dt.timedelta(minutes=5)  # the incident chat runs this long past resolution (the closing words)
ESCALATE_WORDS = (
    r"(?i)\bescalat\w*|\bpag(?:e|ed|ing)\s+(?:in\s+)?@?\w|\b(?:pull|pulling|loop|looping|bring|bringing)\s+in\b"
)
# being paged is not paging someone: "paged for checkout 5xx, looking", "got paged at 3am", "I was paged by PD"
PAGED_PASSIVE = (
    r"(?i)\b(?:got|was|were|been|get|getting)\s+paged\b|\bpaged\s+(?:for|about|by|at|on|again|twice|overnight)\b"
)
OTHER_ESCALATION = r"(?i)\bescalat\w*|\b(?:pull|pulling|loop|looping|bring|bringing)\s+in\b"
ROLLBACK_WORDS = r"(?i)\broll(?:ing|ed)?[\s-]?back\b|\brevert(?:ing|ed)?\b"
PAGE_ESCALATION = r"(?i)escalat|reassign|assign"
PAGE_BY_PERSON = r"(?i)acknowledg|escalat|reassign|assign|status_update|annotat|resolve|priority|responder"
_SLACK_NOTICES = ["channel_join", "channel_leave", "channel_purpose", "channel_topic", "channel_name"]
_PEOPLE_SCHEMA: dict[str, PolarsDataType] = {
    "person": pl.String,
    "first_ts": pl.Datetime("us", "UTC"),
    "source": pl.String,
    "first": pl.String,
}
_MESSAGES_SCHEMA: dict[str, PolarsDataType] = {
    "ts": pl.Datetime("us", "UTC"),
    "source": pl.String,
    "kind": pl.String,
    "actor": pl.String,
    "message": pl.String,
    "origin": pl.String,
}


def _attr(path: str) -> pl.Expr:
    return pl.col("attrs").str.json_path_match(f"$.{path}")


def _is_bot() -> pl.Expr:
    """A chat message or event written by a bot (see the module docstring)."""
    return (
        _attr("bot_id").is_not_null()
        | (_attr("subtype").fill_null("") == "bot_message")
        | pl.col("actor").fill_null("").str.contains(r"(?i)bot$")
    )


def _slack_notice() -> pl.Expr:
    """Slack's join/leave/purpose/topic notices (by subtype, else by their fixed wording)."""
    sub = _attr("subtype").fill_null("")
    text = pl.col("message").fill_null("")
    return sub.is_in(_SLACK_NOTICES) | text.str.contains(r"^@\S+ has (?:joined|left) the channel$|set the channel")


def person_key(name: pl.Expr) -> pl.Expr:
    """A person's name folded for matching: ``@Raj-Patel`` and ``raj patel`` are one key."""
    return name.str.strip_chars().str.strip_chars_start("@").str.to_lowercase().str.replace_all(r"[-_.\s]+", " ")


def _delta(later: dt.datetime | None, earlier: dt.datetime | None) -> dt.timedelta | None:
    return later - earlier if later is not None and earlier is not None else None


def _window(ms: Milestones, events: pl.DataFrame) -> tuple[dt.datetime | None, dt.datetime | None]:
    start = ms.detected or ms.impact_start
    end = ms.resolved
    if end is None and events.height:
        end = events.select(pl.col("ts").max()).item()
    return start, end


def _in(frame: pl.DataFrame, start: dt.datetime | None, end: dt.datetime | None) -> pl.DataFrame:
    if start is not None:
        frame = frame.filter(pl.col("ts") >= start)
    if end is not None:
        frame = frame.filter(pl.col("ts") <= end)
    return frame


@dataclass(frozen=True)
class Detection:
    """How the incident was detected: the detected milestone, its lag behind impact, and the first page."""

    impact_start: Milestone
    detected: Milestone
    time_to_detect: dt.timedelta | None
    first_page: dict[str, Any] | None
    time_to_page: dt.timedelta | None


@dataclass(frozen=True)
class Response:
    """Who engaged, acknowledged, declared and escalated, and when (see the module docstring)."""

    acknowledged: Milestone
    declared: Milestone
    time_to_acknowledge: dt.timedelta | None
    time_to_declare: dt.timedelta | None
    responders: pl.DataFrame  # person, first_ts, source, first (their first message or page event)
    escalations: pl.DataFrame  # ts, source, kind, actor, message, origin
    window: tuple[dt.datetime | None, dt.datetime | None]


@dataclass(frozen=True)
class Recovery:
    """How the impact ended: the mitigation (a rollback when one was found), and the times to mitigate/resolve."""

    mitigated: Milestone
    resolved: Milestone
    rollback: dict[str, Any] | None
    rollback_took: dt.timedelta | None
    decision: dict[str, Any] | None  # the chat message deciding to roll back
    time_to_mitigate: dt.timedelta | None
    time_to_resolve: dt.timedelta | None


def detection(events: pl.DataFrame, ms: Milestones, services: list[str] | None = None) -> Detection:
    """The Detection facts: time to detect and the first page (None when no page is in the evidence)."""
    page = first_notice(events, start=ms.impact_start, services=services, kinds=("page",))
    return Detection(
        ms["impact_start"],
        ms["detected"],
        _delta(ms.detected, ms.impact_start),
        page,
        _delta(page["ts"] if page else None, ms.impact_start),
    )


def _human_actions(events: pl.DataFrame) -> pl.DataFrame:
    """Chat messages by people and page events a person made (not a page's trigger).

    Slack's join/leave/topic notices are not actions: joining a channel is not responding.
    """
    chat = events.filter((pl.col("kind") == "chat") & ~_is_bot() & ~_slack_notice())
    et = pl.coalesce(_attr("event_type"), pl.lit(""))
    pages = events.filter((pl.col("kind") == "page") & et.str.contains(PAGE_BY_PERSON) & ~_is_bot())
    return pl.concat([chat, pages]).filter(pl.col("actor").fill_null("").str.strip_chars() != "").sort("ts")


def human_action() -> pl.Expr:
    """True on a person's action, by the rule of the responders (see the module docstring): a human chat message
    that is no Slack notice, or a page event a person made; with an actor. Evaluate it on chat and page rows only
    (it reads their ``attrs``); :mod:`pmkit.analysis.phases` tags these rows."""
    et = pl.coalesce(_attr("event_type"), pl.lit(""))
    chat = (pl.col("kind") == "chat") & ~_is_bot() & ~_slack_notice()
    page = (pl.col("kind") == "page") & et.str.contains(PAGE_BY_PERSON) & ~_is_bot()
    return (chat | page).fill_null(False) & (pl.col("actor").fill_null("").str.strip_chars() != "")


def person_name() -> pl.Expr:
    """The name a person is shown and matched by: the chat's real name when it gives one, else the actor."""
    return pl.coalesce(_attr("real_name"), pl.col("actor"))


def response(events: pl.DataFrame, ms: Milestones) -> Response:
    """The Response facts: responders in [detection, resolution] and the escalations among their actions."""
    start, end = _window(ms, events)
    acts = _in(_human_actions(events), start, end)
    real = pl.coalesce(_attr("real_name"), pl.col("actor"))
    responders = (
        acts.with_columns(person_key(real).alias("_key"), real.alias("_name"))
        .group_by("_key", maintain_order=True)
        .agg(
            pl.col("_name").first().alias("person"),
            pl.col("ts").first().alias("first_ts"),
            pl.col("source").first(),
            pl.col("message").first().alias("first"),
        )
        .drop("_key")
        .sort("first_ts")
        if acts.height
        else pl.DataFrame(schema=_PEOPLE_SCHEMA)
    )
    et = pl.coalesce(_attr("event_type"), pl.lit(""))
    text = pl.col("message").fill_null("")
    says = text.str.contains(OTHER_ESCALATION) | (text.str.contains(ESCALATE_WORDS) & ~text.str.contains(PAGED_PASSIVE))
    escalations = acts.filter(
        ((pl.col("kind") == "page") & et.str.contains(PAGE_ESCALATION)) | ((pl.col("kind") == "chat") & says)
    ).select(list(_MESSAGES_SCHEMA))
    return Response(
        ms["acknowledged"],
        ms["declared"],
        _delta(ms.acknowledged, ms.detected),
        _delta(ms.declared, ms.detected),
        responders,
        escalations,
        (start, end),
    )


def recovery(events: pl.DataFrame, ms: Milestones, rollback: dict[str, Any] | None) -> Recovery:
    """The Recovery facts: the rollback (from :func:`pmkit.analysis.changes.find_rollback`) and its decision."""
    took = _delta(rollback.get("completed"), rollback.get("start")) if rollback else None
    decision = None
    if rollback and rollback.get("start") is not None:
        start = ms.detected or ms.impact_start
        said = _in(_human_actions(events), start, rollback["start"]).filter(
            (pl.col("kind") == "chat") & pl.col("message").fill_null("").str.contains(ROLLBACK_WORDS)
        )
        # ``person``: the name the responders list shows (the chat's real name when it gives one)
        decision = said.with_columns(person_name().alias("person")).row(0, named=True) if said.height else None
    return Recovery(
        ms["mitigated"],
        ms["resolved"],
        rollback,
        took,
        decision,
        _delta(ms.mitigated, ms.impact_start),
        _delta(ms.resolved, ms.impact_start),
    )


def incident_channels(ms: Milestones) -> list[str]:
    """The incident channel: that of the chat declaration, else of a chat acknowledgement; [] means every channel."""
    for name in ("declared", "acknowledged"):
        ev = ms[name].evidence
        if ev.get("kind") == "chat" and ev.get("channel"):
            return [str(ev["channel"])]
    return []


def incident_chat(events: pl.DataFrame, ms: Milestones) -> tuple[pl.DataFrame, list[str]]:
    """The incident channel's messages from impact start to resolution (see the module docstring), and the
    channels they were taken from ([]: every channel)."""
    channels = incident_channels(ms)
    chat = events.filter(pl.col("kind") == "chat")
    if channels:
        chat = chat.filter(_attr("channel").is_in(channels))
    start = ms.impact_start or ms.detected
    end = ms.resolved + CHAT_AFTER if ms.resolved is not None else None
    chat = _in(chat, start, end).filter(~_slack_notice())
    return chat.select(list(_MESSAGES_SCHEMA)).sort("ts", maintain_order=True), channels
