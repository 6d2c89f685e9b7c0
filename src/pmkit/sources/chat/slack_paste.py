"""Slack desktop copy-paste (``slack-paste``) -> one ``chat`` event per message.

The transcript variant Slack's desktop and web clients put on the clipboard when messages are
selected and copied::

    Monday, June 16th
    Alice Example  2:25 PM
    checkout 5xx climbing, paging
    2:26 PM
    anyone else seeing this?
    Bob  2:31 PM
    rolling back release 42

- A **header** line is a name, two or more spaces (or a tab), and a time (``2:25 PM``,
  ``14:25``, seconds allowed): a new message by that person (an app's ``APP`` badge after the
  name is dropped). A line that is only a time
  (``2:26 PM``, ``[14:26]``) is a new message by the person of the header above it (Slack
  shows the time alone for a sender's follow-up messages). Any other line continues the
  message above (joined with `` ⏎ ``); one before any header is rejected. Slack's `` (edited)``
  mark at the end of a message is removed from the text and kept as ``attrs.edited``.
- A **date line** is ``Today``, ``Yesterday``, or a date as Slack writes it:
  ``Monday, June 16th``, ``June 16th``, ``Monday, June 16th, 2025``, ``June 16, 2025``
  (``(edited)`` and other text never look like this). Date lines and blank lines are layout,
  not inputs.
- Unit: lines (the header, time and text lines). A message is rejected with all of its lines
  when its date cannot be known.

Which day a message is on -- the copy carries times without a date:

- ``options: {date: YYYY-MM-DD}`` is the day of the messages above the first date line (as
  for ``transcript``); without it, the incident window's start date (in the source's
  ``timezone``) -- the usual case of a copied incident channel. Slack puts a date line where a
  new day starts, so those messages must be on an earlier day than the first date line below
  them: when they are not, they are rejected with that reason (set ``date``).
- ``Today`` and ``Yesterday`` are relative to the day the text was copied, which the copy
  does not say: ``options: {today: YYYY-MM-DD}`` gives it; without it the messages under
  them are rejected with that reason.
- A date line without a year takes the year of ``date`` (else ``today``, else the window
  start), the year before when that would put it more than 31 days after it. A weekday
  that does not fit the date is noted (a wrong year).
- With no ``date`` and no window, messages above the first date line are rejected with the
  reason; so are those under a date line without a year when nothing gives a year.
- A time more than 12 hours earlier than the previous message's in the same section is the
  next day (midnight rollover; noted). Times are the copier's clock: they are read in the
  source's ``timezone`` (UTC when none -- said in the notes, because the clipboard does not say).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame, to_json
from pmkit.sources.chatcore import check_options, events_frame
from pmkit.sources.registry import register

_US = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1)
_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\s?(?P<ampm>[AaPp]\.?[Mm]\.?))?"
_HEADER = re.compile(rf"^(?P<name>\S(?:.*?\S)?)(?:\s{{2,}}|\t)\[?{_TIME}\]?\s*$")
_EDITED = re.compile(r"\s*\(edited\)\s*$")  # Slack's mark after an edited message's text
_APP_BADGE = re.compile(r"\s+APP$")  # Slack marks an app's messages: "Datadog  APP  2:25 PM"
_TIME_ONLY = re.compile(rf"^\s*\[?{_TIME}\]?\s*$")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DATE_LINE = re.compile(
    r"^\s*(?:(?P<wd>" + "|".join(_WEEKDAYS) + r"),\s+)?(?P<mon>" + "|".join(_MONTHS) + r")\s+(?P<day>\d{1,2})"
    r"(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{4}))?\s*$",
    re.IGNORECASE,
)
_RELATIVE = re.compile(r"^\s*(?P<rel>today|yesterday)\s*$", re.IGNORECASE)


def _time_of_day(m: re.Match[str]) -> dt.time:
    hour, minute, second = int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0)
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{hour} is not an hour of a 12-hour clock")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    return dt.time(hour, minute, second)  # ValueError when out of range


@dataclass
class _Day:
    """The day of the current section, or why it is unknown."""

    date: dt.date | None
    why_unknown: str = ""
    source: str = ""


@dataclass
class _Msg:
    origin: str
    actor: str
    stamp: str
    day: _Day
    tod: dt.time | None
    bad_time: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)  # (origin, text) of the continuation lines


def _option_date(req: LoadRequest, key: str) -> dt.date | None:
    raw = req.options.get(key)
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise SourceError(f"{req.path}: options.{key} {raw!r} is not a date; expected YYYY-MM-DD") from None


def _window_date(req: LoadRequest) -> dt.date | None:
    if req.window is None:
        return None
    w = req.window[0]
    if w.tzinfo is not None and req.timezone:
        w = w.astimezone(zoneinfo.ZoneInfo(req.timezone))
    return w.date()


def _date_line_day(m: re.Match[str], ref: dt.date | None, line: str) -> _Day:
    month, day = _MONTHS[m.group("mon").lower()], int(m.group("day"))
    if m.group("year"):
        year = int(m.group("year"))
        source = "its date line"
    elif ref is not None:
        year = ref.year
        try:
            if dt.date(year, month, day) > ref + dt.timedelta(days=31):
                year -= 1
        except ValueError:
            pass
        source = "its date line (year from options.date, options.today or the incident window)"
    else:
        return _Day(
            None,
            f"the date line {line.strip()!r} has no year, and no options.date, options.today or incident window gives one",
        )
    try:
        got = _Day(dt.date(year, month, day), source=source)
    except ValueError:
        return _Day(None, f"the date line {line.strip()!r} is not a real date")
    assert got.date is not None
    if m.group("wd") and _WEEKDAYS[got.date.weekday()] != m.group("wd").lower():
        got.why_unknown = f"{line.strip()!r}: {got.date.isoformat()} is a {_WEEKDAYS[got.date.weekday()].title()}"
    return got


def _sniff_slack_paste(head: str) -> bool:
    lines = [ln for ln in head.splitlines() if ln.strip()]
    for ln in lines[:3]:
        if _DATE_LINE.match(ln) or _RELATIVE.match(ln):
            continue
        return _HEADER.match(ln) is not None
    return False


@register(
    "chat",
    "slack-paste",
    description=(
        "Slack desktop copy-paste: 'Name  2:25 PM' header lines, text lines, date lines (Today, Monday, June 16th); "
        "the day from options.date or the incident window, Today/Yesterday from options.today"
    ),
    example=(
        "Alice Example  2:25 PM\n"
        "checkout 5xx climbing, paging\n"
        "2:26 PM\n"
        "anyone else seeing this?\n"
        "Bob  2:31 PM\n"
        "rolling back release 42\n"
        "Monday, June 16th\n"
        "Bob  12:03 AM\n"
        "error rate back to baseline"
    ),
    sniff=_sniff_slack_paste,
    sniff_order=40,
    options=("date", "today"),
)
def load_slack_paste(req: LoadRequest) -> LoadResult:
    """Copied Slack messages -> ``chat`` events; the day of each comes as the module docstring says."""
    check_options(req, ("date", "today"))
    try:
        zone = zoneinfo.ZoneInfo(req.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"{req.path}: timezone {req.timezone!r} is not an IANA time zone") from None
    given, today, start = _option_date(req, "date"), _option_date(req, "today"), _window_date(req)
    ref = given or today or start
    msgs: list[_Msg] = []
    orphans: list[tuple[str, str]] = []
    weekday_notes: list[str] = []
    for path in req.files():
        if given is not None:
            first = _Day(given, source="options.date")
        elif start is not None:
            first = _Day(start, source="the incident window start")
        else:
            first = _Day(
                None, "above the first date line, and neither options.date nor the incident window gives its day"
            )
        day, first_dated = first, None
        sender: str | None = None
        lines = textio.read_lines(path)
        for line_no, line in zip(
            lines.get_column("line_no").to_list(), lines.get_column("line").to_list(), strict=True
        ):
            if not line.strip():
                continue
            origin = f"{path}:{line_no}"
            rel = _RELATIVE.match(line)
            dm = None if rel else _DATE_LINE.match(line)
            if rel:
                word = rel.group("rel").title()
                if today is None:
                    day = _Day(None, f"under {word!r}: the day the text was copied is unknown; set options.today")
                else:
                    back = 1 if word == "Yesterday" else 0
                    day = _Day(today - dt.timedelta(days=back), source=f"{word} of options.today")
            elif dm:
                day = _date_line_day(dm, ref, line)
                if day.date is not None and day.why_unknown:
                    weekday_notes.append(day.why_unknown)
                    day.why_unknown = ""
            if rel or dm:
                if first_dated is None:
                    first_dated = (day.date, line.strip())
                    if first.date is not None and day.date is not None and first.date >= day.date:
                        first.why_unknown = (
                            f"above the date line {line.strip()!r} ({day.date.isoformat()}) but placed on "
                            f"{first.date.isoformat()} (from {first.source}): Slack starts a day with a date line, "
                            "so these are on an earlier day; set options.date to it"
                        )
                        first.date = None
                continue
            hm = _HEADER.match(line)
            tm = None if hm else _TIME_ONLY.match(line)
            if hm or (tm and sender is not None):
                m = hm or tm
                assert m is not None
                if hm:
                    sender = _APP_BADGE.sub("", hm.group("name")).strip()
                assert sender is not None
                try:
                    tod: dt.time | None = _time_of_day(m)
                    bad = ""
                except ValueError as exc:
                    tod, bad = None, f"invalid time: {exc}"
                msgs.append(_Msg(origin, sender, line.strip(), day, tod, bad))
            elif msgs and not tm and msgs[-1].origin.rsplit(":", 1)[0] == str(path):
                msgs[-1].lines.append((origin, line.strip()))
            else:  # text before any header, or a time with no sender above it
                orphans.append((origin, line))
    rows: list[dict[str, Any]] = []
    rej_origin: list[str] = []
    rej_reason: list[str] = []
    rej_raw: list[str | None] = []
    parsed = rollovers = 0
    prev: tuple[int, dt.datetime] | None = None  # (id of the section's _Day, previous local time)
    sources: set[str] = set()
    for msg in msgs:
        reason = msg.bad_time or ("" if msg.day.date is not None else msg.day.why_unknown)
        if reason:
            for origin, raw in [(msg.origin, msg.stamp), *msg.lines]:
                rej_origin.append(origin)
                rej_reason.append(reason if origin == msg.origin else f"part of the message at {msg.origin}: {reason}")
                rej_raw.append(raw)
            continue
        assert msg.day.date is not None and msg.tod is not None
        local = dt.datetime.combine(msg.day.date, msg.tod)
        if prev is not None and prev[0] == id(msg.day) and local < prev[1] - dt.timedelta(hours=12):
            local += dt.timedelta(days=1)
            rollovers += 1
        prev = (id(msg.day), local)
        offset = local.replace(tzinfo=zone).utcoffset()
        us = (local - _EPOCH) // dt.timedelta(microseconds=1) - (
            int(offset.total_seconds() * _US) if offset is not None else 0
        )
        sources.add(msg.day.source)
        text = [t for _, t in msg.lines]
        attrs: dict[str, Any] = {"stamp": msg.stamp, "date_from": msg.day.source}
        if text and _EDITED.search(text[-1]):
            text[-1] = _EDITED.sub("", text[-1])
            attrs["edited"] = True
        if text:
            attrs["lines"] = len(text) + 1
        rows.append(
            {
                "ts": us,
                "actor": msg.actor,
                "message": " ⏎ ".join(text),
                "attrs": to_json(attrs),
                "origin": msg.origin,
            }
        )
        parsed += 1 + len(text)
    for origin, raw in orphans:
        rej_origin.append(origin)
        rej_reason.append("no 'Name  time' header above it (a copied Slack message starts with one)")
        rej_raw.append(raw)
    notes = [f"day of the messages from: {', '.join(sorted(sources))}"] if sources else []
    notes += [f"weekday does not fit the date (a wrong year?): {w}" for w in weekday_notes]
    if rollovers:
        notes.append(f"{rollovers} midnight rollover(s): a time more than 12h before the previous one is the next day")
    if rows:
        notes.append(
            f"times read in {req.timezone} (the copier's clock)"
            if req.timezone
            else "times read as UTC: a copy carries the copier's local clock; set timezone if it was not UTC"
        )
    return LoadResult(
        frame=events_frame(rows),
        rejects=rejects_frame(rej_origin, rej_reason, rej_raw),
        inputs=parsed + len(rej_origin),
        parsed_inputs=parsed,
        unit="lines",
        notes=tuple(notes),
    )
