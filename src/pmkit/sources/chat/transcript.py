"""Plain chat transcripts (``transcript``) -> one ``chat`` event per message.

Plain text, one message per line, in any of these forms (the time may carry
seconds, a fraction, ``AM``/``PM``, and a date ``YYYY-MM-DD`` with ``T`` or a space;
a bracketed or dated stamp may end with ``Z`` or an offset)::

    [14:25] alice: the checkout error rate is climbing
    [2025-06-15 14:25:03] alice: rolling back
    14:25 <alice> rollback done

- Unit: lines. Blank lines are skipped (not counted). A line without a stamp
  continues the message before it (joined with `` ⏎ ``); one before any message is
  rejected. A line whose stamp is not a real time (``25:61``) is rejected.
- After the stamp, ``name: text``, ``<name> text`` (IRC mode prefixes ``@+%~&``
  dropped) and ``* name text`` (an action) give the actor; any other text (a
  ``-!- alice has joined`` line) is a message without an actor. A bare
  (unbracketed) time-only stamp counts only before ``<name>``, ``* name`` or
  ``-!-``, so that prose such as ``10:30 we restarted`` stays a continuation.
- Text copied from the Slack desktop app (``Alice Example  2:25 PM`` headers) is the variant
  read by ``slack-paste`` (:mod:`pmkit.sources.chat.slack_paste`): a file in that layout given
  as ``transcript`` is handed to it, and the notes say so.
- Times without a date take ``options: {date: YYYY-MM-DD}``, else the date of the
  incident window's start (in the source's timezone), else the last dated line
  above them; with none of these the load fails and says to set ``date``. A time
  more than 12 hours earlier than the previous line's is the next day (midnight
  rollover). Naive times are read in the source's ``timezone`` (UTC when none).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame, to_json
from pmkit.sources.chatcore import check_options, events_frame
from pmkit.sources.registry import register

_US = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1)

_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?(?:\s?(?P<ampm>[AaPp]\.?[Mm]\.?))?"
_DATE = r"(?P<date>\d{4}-\d{2}-\d{2})[T ]"
_ZONE = r"(?P<tz>\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?"
_BRACKETED = re.compile(rf"^\s*\[(?:{_DATE})?{_TIME}{_ZONE}\]\s*(?P<rest>.*)$")
_BARE_DATED = re.compile(rf"^\s*{_DATE}{_TIME}{_ZONE}\s+(?P<rest>.*)$")
_BARE_TIME = re.compile(rf"^\s*{_TIME}\s+(?P<rest>(?:<[^>\s]+>|\*\s+\S+|-!-).*)$")
_IRC_NICK = re.compile(r"^<[@+%~&]?(?P<name>[^>\s]+)>\s?(?P<text>.*)$")
_IRC_ACTION = re.compile(r"^\*\s+(?P<name>\S+)\s+(?P<text>.*)$")
_NAMED = re.compile(r"^(?P<name>[\w.@'-]+(?: [\w.@'-]+){0,2}):(?:\s+(?P<text>.*)|$)")


def _stamp(line: str) -> re.Match[str] | None:
    return _BRACKETED.match(line) or _BARE_DATED.match(line) or _BARE_TIME.match(line)


def _speaker(rest: str) -> tuple[str | None, str]:
    """(actor, message) of the text after a stamp."""
    for pattern in (_IRC_NICK, _IRC_ACTION):
        m = pattern.match(rest)
        if m:
            text = m.group("text")
            return m.group("name"), (f"* {m.group('name')} {text}" if pattern is _IRC_ACTION else text)
    m = _NAMED.match(rest)
    if m:
        return m.group("name"), m.group("text") or ""
    return None, rest


def _time_of_day(m: re.Match[str]) -> dt.time:
    hour, minute, second = int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0)
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{hour} is not an hour of a 12-hour clock")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    micro = int((m.group("f") or "")[:6].ljust(6, "0"))
    return dt.time(hour, minute, second, micro)  # ValueError when out of range


def _offset_us(tz_text: str | None, local: dt.datetime, zone: zoneinfo.ZoneInfo) -> int:
    """The UTC offset (microseconds) for a stamp: its own, else the zone's at that local time."""
    if tz_text:
        tz_text = tz_text.strip()
        if tz_text in ("Z", "UTC"):
            return 0
        sign = -1 if tz_text[0] == "-" else 1
        digits = tz_text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{tz_text} is not a UTC offset")
        return sign * (hours * 3600 + minutes * 60) * _US
    offset = local.replace(tzinfo=zone).utcoffset()
    return int(offset.total_seconds() * _US) if offset is not None else 0


def _anchor_date(req: LoadRequest) -> tuple[dt.date | None, str]:
    """The date for time-only lines and where it came from."""
    raw = req.options.get("date")
    if raw is not None:
        if isinstance(raw, dt.datetime):
            return raw.date(), "options.date"
        if isinstance(raw, dt.date):
            return raw, "options.date"
        try:
            return dt.date.fromisoformat(str(raw).strip()), "options.date"
        except ValueError:
            raise SourceError(f"{req.path}: options.date {raw!r} is not a date; expected YYYY-MM-DD") from None
    if req.window is not None:
        start = req.window[0]
        if start.tzinfo is not None and req.timezone:
            start = start.astimezone(zoneinfo.ZoneInfo(req.timezone))
        return start.date(), "the incident window start"
    return None, ""


@dataclass
class _Pending:
    """A message being assembled from its stamp line and continuation lines."""

    origin: str
    us: int
    actor: str | None
    lines: list[str]
    stamp: str
    line_count: int = 1


def _sniff_transcript(head: str) -> bool:
    lines = [ln for ln in head.splitlines() if ln.strip()][:5]
    return (
        bool(lines) and _stamp(lines[0]) is not None and sum(_stamp(ln) is not None for ln in lines) * 2 >= len(lines)
    )


@register(
    "chat",
    "transcript",
    description="Plain chat transcript lines: [14:25] alice: text, [2025-06-15 14:25:03] alice: text, 14:25 <alice> text",
    example=(
        "[2025-06-15 14:23:10] alice: checkout 5xx climbing, paging\n"
        "[14:25] bob: rolling back release 42\n"
        "  (continuation lines join the message above)\n"
        "14:31 <alice> error rate back to baseline"
    ),
    sniff=_sniff_transcript,
    options=("date",),
)
def load_transcript(req: LoadRequest) -> LoadResult:
    """Transcript lines -> ``chat`` events; time-only lines are anchored on a date (see module docs)."""
    paste = _as_slack_paste(req)
    if paste is not None:
        return paste
    check_options(req, ("date",))
    try:
        zone = zoneinfo.ZoneInfo(req.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"{req.path}: timezone {req.timezone!r} is not an IANA time zone") from None
    anchor, anchor_from = _anchor_date(req)
    rows: list[dict[str, Any]] = []
    rej_origin: list[str] = []
    rej_reason: list[str] = []
    rej_raw: list[str | None] = []
    inputs = parsed = rollovers = 0
    used_anchor = naive_seen = False
    for path in req.files():
        current, current_is_anchor = anchor, anchor is not None
        prev_local: dt.datetime | None = None
        pending: _Pending | None = None
        lines = textio.read_lines(path)
        for line_no, line in zip(
            lines.get_column("line_no").to_list(), lines.get_column("line").to_list(), strict=True
        ):
            if not line.strip():
                continue
            inputs += 1
            origin = f"{path}:{line_no}"
            m = _stamp(line)
            if m is None:
                if pending is None:
                    rej_origin.append(origin)
                    rej_reason.append("no timestamp, and no message above it to continue")
                    rej_raw.append(line)
                else:
                    pending.lines.append(line.strip())
                    pending.line_count += 1
                    parsed += 1
                continue
            date_text, tz_text = m.groupdict().get("date"), m.groupdict().get("tz")
            if date_text is None and current is None:
                raise SourceError(
                    f"{origin}: the time {m.group('h')}:{m.group('mi')} has no date, and the source gives none; "
                    "set options: {date: YYYY-MM-DD} (or the incident window) to anchor time-only lines"
                )
            try:
                tod = _time_of_day(m)
                if date_text:
                    current, current_is_anchor = dt.date.fromisoformat(date_text), False
                    local = dt.datetime.combine(current, tod)
                else:
                    assert current is not None
                    used_anchor = used_anchor or current_is_anchor
                    local = dt.datetime.combine(current, tod)
                    if prev_local is not None and local < prev_local - dt.timedelta(hours=12):
                        local += dt.timedelta(days=1)
                        current = local.date()
                        rollovers += 1
                us = (local - _EPOCH) // dt.timedelta(microseconds=1) - _offset_us(tz_text, local, zone)
            except (ValueError, OverflowError) as exc:
                rej_origin.append(origin)
                rej_reason.append(f"invalid timestamp: {exc}")
                rej_raw.append(line)
                continue
            naive_seen = naive_seen or not tz_text
            prev_local = local
            if pending is not None:
                rows.append(_transcript_row(pending))
            actor, text = _speaker(m.group("rest"))
            pending = _Pending(origin, us, actor, [text.strip()], line[: m.start("rest")].strip())
            parsed += 1
        if pending is not None:
            rows.append(_transcript_row(pending))
    notes = []
    if used_anchor and anchor is not None:
        notes.append(f"time-only lines anchored on {anchor.isoformat()} (from {anchor_from})")
    if rollovers:
        notes.append(
            f"{rollovers} midnight rollover(s): a time more than 12h before the previous line's is the next day"
        )
    if naive_seen and rows:
        notes.append(
            f"times without an offset read in {req.timezone}" if req.timezone else "times without an offset read as UTC"
        )
    return LoadResult(
        frame=events_frame(rows),
        rejects=rejects_frame(rej_origin, rej_reason, rej_raw),
        inputs=inputs,
        parsed_inputs=parsed,
        unit="lines",
        notes=tuple(notes),
    )


def _as_slack_paste(req: LoadRequest) -> LoadResult | None:
    """The Slack desktop copy-paste layout is a transcript variant with its own loader (``slack-paste``): a file
    whose first lines are not transcript lines but look like it is read by that loader, and the notes say so."""
    files = req.files()
    head = textio.head(files[0]) if files else ""
    paste = registry.get("chat", "slack-paste")
    if _sniff_transcript(head) or paste.sniff is None or not paste.sniff(head):
        return None
    result = paste.func(dataclasses.replace(req, format="slack-paste"))
    said = "the lines are Slack's desktop copy-paste layout ('Name  2:25 PM' headers): read as format slack-paste"
    return dataclasses.replace(result, notes=(said, *result.notes))


def _transcript_row(p: _Pending) -> dict[str, Any]:
    attrs: dict[str, Any] = {"stamp": p.stamp}
    if p.line_count > 1:
        attrs["lines"] = p.line_count
    return {
        "ts": p.us,
        "actor": p.actor,
        "message": " ⏎ ".join(x for x in p.lines if x) if len(p.lines) > 1 else p.lines[0],
        "attrs": to_json(attrs),
        "origin": p.origin,
    }
